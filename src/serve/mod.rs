//! `cellkg serve`: a read-only SPARQL 1.1 Protocol endpoint over the built store, and a small
//! query page.
//!
//! The store is loaded once by the caller and shared by every request (an oxigraph in-memory
//! [`Store`] is cheap to clone). Routes: `/sparql` (the query operation, see [`protocol`];
//! results through oxigraph's serializers in the negotiated format, see [`negotiate`]), `/`
//! (the HTML page: a query box, the canned queries of `queries/`, results as a table),
//! `/queries` (the canned queries as JSON, read from disk on each request). Every query runs
//! under a time limit that cancels its evaluation (see [`deadline`]) and answers 503 when it
//! fires. SPARQL Update is refused with 403 and writing methods with 405: nothing in this module
//! writes to the store. SIGINT and SIGTERM stop the server after the requests in flight.
//!
//! HTTP is oxigraph's own `oxhttp` (a thread per connection, bounded by
//! [`ServeOptions::max_connections`]); it caps the request line and headers at 8 KiB, so long
//! queries go in a POST body, capped at [`ServeOptions::max_request_bytes`].

pub mod deadline;
pub mod negotiate;
pub mod protocol;

use std::fs;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use oxhttp::model::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW,
    CACHE_CONTROL, CONNECTION, CONTENT_TYPE, VARY,
};
use oxhttp::model::{Body, HeaderValue, Method, Request, Response, StatusCode};
use oxigraph::sparql::results::QueryResultsSerializer;
use oxigraph::sparql::{CancellationToken, QueryEvaluationError, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;

use crate::error::{Error, Result};
use deadline::Watchdog;
use negotiate::GraphFormat;
use protocol::QueryRequest;

/// The query page, served at `/`.
const PAGE: &str = include_str!("page.html");

/// How the endpoint is run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on: `HOST:PORT`, or a port alone for 127.0.0.1.
    pub bind: String,
    /// Time limit of one query, parsing to the last byte of its results.
    pub timeout: Duration,
    /// Largest accepted request body, in bytes.
    pub max_request_bytes: usize,
    /// Largest number of connections served at once (one thread each); more wait.
    pub max_connections: usize,
    /// Directory of the canned queries (`*.rq`) offered on the page; may be missing or empty.
    pub queries: PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: DEFAULT_BIND.to_string(),
            timeout: Duration::from_secs(10),
            max_request_bytes: 1 << 20,
            max_connections: 128,
            queries: PathBuf::from("queries"),
        }
    }
}

/// The `--timeout` value: seconds, more than zero.
pub fn timeout_from_secs(secs: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(Error::Other(format!(
            "--timeout {secs}: give a number of seconds above zero, such as 10 or 0.5"
        ))),
    }
}

/// The default address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:7878";

/// A refusal or failure, answered as `text/plain` with the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }

    /// 403 for SPARQL Update, whichever way it was sent.
    pub fn read_only() -> Self {
        HttpError::new(
            StatusCode::FORBIDDEN,
            "SPARQL Update is refused: this endpoint is read-only; rebuild the graph with \
             `cellkg build` to change it",
        )
    }

    /// 405 for a method other than GET or POST.
    pub fn method_not_allowed(method: &Method) -> Self {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{method} is not allowed: this endpoint is read-only; query it with GET or POST"
            ),
        )
    }
}

/// The request handler: routes, runs queries, counts requests in flight.
pub struct Endpoint {
    store: Store,
    options: ServeOptions,
    watchdog: Watchdog,
    in_flight: AtomicUsize,
    served: AtomicU64,
    draining: AtomicBool,
}

impl Endpoint {
    /// An endpoint over `store`; starts the watchdog thread of the time limit.
    pub fn new(store: Store, options: ServeOptions) -> Result<Self> {
        let watchdog = Watchdog::start()
            .map_err(|e| Error::Other(format!("starting the query watchdog: {e}")))?;
        Ok(Endpoint {
            store,
            options,
            watchdog,
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            draining: AtomicBool::new(false),
        })
    }

    /// Answers one request. Never panics on client input; every refusal carries a message.
    pub fn handle(&self, request: &mut Request<Body>) -> Response<Body> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut response = if self.draining.load(Ordering::SeqCst) {
            let mut r = error_response(&HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ));
            r.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            r
        } else {
            self.route(request)
        };
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // Do not read the rest of an oversized body: close the connection instead.
            *request.body_mut() = Body::empty();
            request
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        // Read-only and anonymous: any web page (e.g. a hosted YASGUI) may query it.
        response
            .headers_mut()
            .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        self.served.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }

    fn route(&self, request: &mut Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_string();
        let method = request.method().clone();
        match (path.as_str(), method) {
            ("/sparql", Method::OPTIONS) => Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header(ALLOW, "GET, POST, OPTIONS")
                .header(ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS")
                .header(ACCESS_CONTROL_ALLOW_HEADERS, "Accept, Content-Type")
                .body(Body::empty())
                .expect("static response"),
            ("/sparql", _) => match protocol::read_query(request, self.options.max_request_bytes)
                .and_then(|q| self.answer(&q))
            {
                Ok(r) => r,
                Err(e) => {
                    let mut r = error_response(&e);
                    if e.status == StatusCode::METHOD_NOT_ALLOWED {
                        r.headers_mut()
                            .insert(ALLOW, HeaderValue::from_static("GET, POST, OPTIONS"));
                    }
                    r
                }
            },
            ("/" | "/index.html", Method::GET) => {
                ok("text/html; charset=utf-8", PAGE.as_bytes().to_vec())
            }
            ("/queries", Method::GET) => match canned_queries_json(&self.options.queries) {
                Ok(json) => ok("application/json; charset=utf-8", json),
                Err(e) => error_response(&e),
            },
            ("/" | "/index.html" | "/queries", m) => {
                let mut r = error_response(&HttpError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("{m} is not allowed here; use GET"),
                ));
                r.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET"));
                r
            }
            _ => error_response(&HttpError::new(
                StatusCode::NOT_FOUND,
                format!("nothing at {path}; the endpoint is /sparql, the query page /"),
            )),
        }
    }

    /// Answers one query within the time limit.
    ///
    /// The query runs on a thread of its own with a cancellation token that the watchdog
    /// cancels at the deadline. oxigraph notices the token when it next reads the store, which
    /// some plans (cross products, large sorts) do only rarely: the client gets its 503 at the
    /// deadline all the same, and the thread ends when oxigraph gets there.
    fn answer(&self, q: &QueryRequest) -> Result<Response<Body>, HttpError> {
        let limit = self.options.timeout;
        let watch = self.watchdog.watch(limit);
        let (tx, rx) = mpsc::sync_channel(1);
        let (store, query, token) = (self.store.clone(), q.clone(), watch.token.clone());
        std::thread::Builder::new()
            .name("cellkg query".into())
            .spawn(move || {
                let _ = tx.send(evaluate(&store, &query, token, limit));
            })
            .map_err(|e| {
                HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot start a query thread: {e}"),
                )
            })?;
        let (content_type, body) = match rx.recv_timeout(limit + CANCEL_GRACE) {
            Ok(answer) => answer?,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                watch.token.cancel();
                return Err(over_time(limit));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(HttpError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "query evaluation failed: the query thread panicked",
                ))
            }
        };
        let mut response = ok(content_type, body);
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept"));
        Ok(response)
    }

    /// Refuses new requests from now on (503, connection closed).
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// How long past the deadline a query may take to notice its cancellation before the client
/// is answered without it.
const CANCEL_GRACE: Duration = Duration::from_millis(200);

/// Parses, evaluates and serializes one query: the content type and the body, or the refusal.
fn evaluate(
    store: &Store,
    q: &QueryRequest,
    token: CancellationToken,
    limit: Duration,
) -> Result<(&'static str, Vec<u8>), HttpError> {
    let prepared = SparqlEvaluator::new()
        .with_cancellation_token(token)
        .parse_query(&q.query)
        .map_err(|e| {
            if SparqlEvaluator::new().parse_update(&q.query).is_ok() {
                HttpError::read_only()
            } else {
                HttpError::new(
                    StatusCode::BAD_REQUEST,
                    crate::query::syntax_error(&e, &q.query).to_string(),
                )
            }
        })?;
    let eval = |e: QueryEvaluationError| match e {
        QueryEvaluationError::Cancelled => over_time(limit),
        e => HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("query evaluation failed: {e}"),
        ),
    };
    let accept = q.accept.as_deref();
    let param = q.format.as_deref();
    match prepared.on_store(store).execute().map_err(eval)? {
        QueryResults::Boolean(value) => {
            let format = negotiate::solutions_format(accept, param)
                .ok_or_else(|| not_acceptable("ASK", &negotiate::solution_media_types()))?;
            let body = QueryResultsSerializer::from_format(format)
                .serialize_boolean_to_writer(Vec::new(), value)
                .map_err(internal)?;
            Ok((negotiate::solutions_content_type(format), body))
        }
        QueryResults::Solutions(solutions) => {
            let format = negotiate::solutions_format(accept, param)
                .ok_or_else(|| not_acceptable("SELECT", &negotiate::solution_media_types()))?;
            let mut ser = QueryResultsSerializer::from_format(format)
                .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                .map_err(internal)?;
            for solution in solutions {
                let solution = solution.map_err(eval)?;
                ser.serialize(solution.iter()).map_err(internal)?;
            }
            Ok((
                negotiate::solutions_content_type(format),
                ser.finish().map_err(internal)?,
            ))
        }
        QueryResults::Graph(triples) => {
            let format = negotiate::graph_format(accept, param).ok_or_else(|| {
                not_acceptable("CONSTRUCT/DESCRIBE", &negotiate::graph_media_types())
            })?;
            let triples = triples.collect::<Result<Vec<_>, _>>().map_err(eval)?;
            Ok((format.content_type(), write_graph(triples, format)?))
        }
    }
}

fn over_time(limit: Duration) -> HttpError {
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "query cancelled: it ran over the time limit of {} (--timeout); narrow it with a \
             more selective pattern or a LIMIT",
            seconds(limit)
        ),
    )
}

/// CONSTRUCT/DESCRIBE results, sorted as `cellkg query` sorts them; Turtle with the graph's
/// prefixes.
fn write_graph(
    triples: Vec<oxigraph::model::Triple>,
    format: GraphFormat,
) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    crate::rdf::write_sorted_triples_io(
        crate::rdf::sort_triples(triples),
        format.rdf_format(),
        &mut body,
    )
    .map_err(internal)?;
    Ok(body)
}

fn internal(e: impl std::fmt::Display) -> HttpError {
    HttpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("writing the results: {e}"),
    )
}

fn not_acceptable(form: &str, offered: &str) -> HttpError {
    HttpError::new(
        StatusCode::NOT_ACCEPTABLE,
        format!("no acceptable format for {form} results; Accept one of {offered}"),
    )
}

fn ok(content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, content_type)
        .header(CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("static headers")
}

fn error_response(e: &HttpError) -> Response<Body> {
    Response::builder()
        .status(e.status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(CACHE_CONTROL, "no-store")
        .body(Body::from(format!("{}\n", e.message)))
        .expect("static headers")
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A canned query offered on the page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CannedQuery {
    /// File stem: `products_by_target` for `queries/products_by_target.rq`.
    pub name: String,
    /// The `# Title:` line, else the name.
    pub title: String,
    /// The file's text.
    pub query: String,
}

/// The `*.rq` files of `dir`, sorted by name; a missing directory has none.
pub fn canned_queries(dir: &Path) -> Result<Vec<CannedQuery>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_none_or(|x| x != "rq") || !path.is_file() {
            continue;
        }
        let query = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let title = query
            .lines()
            .find_map(|l| l.strip_prefix("# Title:"))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| name.clone());
        out.push(CannedQuery { name, title, query });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn canned_queries_json(dir: &Path) -> Result<Vec<u8>, HttpError> {
    let queries = canned_queries(dir)
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    serde_json::to_vec(&queries).map_err(internal)
}

/// The socket address of `--bind`: `HOST:PORT`, `[V6]:PORT`, or a port alone (loopback).
pub fn resolve_bind(bind: &str) -> Result<SocketAddr> {
    let bind = bind.trim();
    let text = if bind.parse::<u16>().is_ok() {
        format!("127.0.0.1:{bind}")
    } else {
        bind.to_string()
    };
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            Error::Other(format!(
                "--bind {bind}: not an address; use HOST:PORT such as {DEFAULT_BIND}"
            ))
        })
}

/// Serves `store` until SIGINT or SIGTERM, then lets the requests in flight finish (up to the
/// query time limit and a second more) and returns.
///
/// Prints the address on stderr once listening. Fails when the address cannot be bound or a
/// signal handler cannot be installed.
pub fn serve(store: Store, options: ServeOptions) -> Result<()> {
    let addr = resolve_bind(&options.bind)?;
    let triples = store.len().unwrap_or(0);
    let grace = options.timeout + Duration::from_secs(1);
    let endpoint = Arc::new(Endpoint::new(store, options.clone())?);

    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| Error::Other(format!("installing the SIGINT/SIGTERM handler: {e}")))?;

    let handler = Arc::clone(&endpoint);
    let server = oxhttp::Server::new(move |request| handler.handle(request))
        .bind(addr)
        .with_server_name(concat!("cellkg/", env!("CARGO_PKG_VERSION")))
        .map_err(|e| Error::Other(format!("server name: {e}")))?
        .with_global_timeout(Duration::from_secs(30).max(grace))
        .with_max_concurrent_connections(options.max_connections.max(1));
    let _listening = server.spawn().map_err(|e| {
        Error::Other(format!(
            "cannot listen on {addr}: {e}; is another server running there? choose another \
             port with --bind"
        ))
    })?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "cellkg: warning: listening on {addr}, reachable from other machines; the endpoint \
             is read-only but anyone who can reach it can query it"
        );
    }
    eprintln!(
        "cellkg: serving {triples} triples at http://{addr}/sparql (query page http://{addr}/); \
         time limit {} per query; ctrl-c stops",
        seconds(options.timeout)
    );

    // Wait for a signal; a closed channel (the handler gone) also stops.
    let _ = stop_rx.recv();
    endpoint.begin_drain();
    let start = Instant::now();
    while endpoint.in_flight() > 0 && start.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = endpoint.in_flight();
    eprintln!(
        "cellkg: stopped after {} requests{}",
        endpoint.served(),
        if left > 0 {
            format!("; {left} still running were abandoned")
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxhttp::model::header::ACCEPT;
    use oxigraph::model::{GraphName, NamedNode, Quad};

    fn endpoint(timeout: Duration) -> Endpoint {
        let store = Store::new().unwrap();
        let n = |s: &str| NamedNode::new(format!("http://example.com/{s}")).unwrap();
        for i in 0..40 {
            store
                .insert(&Quad::new(
                    n(&format!("s{i}")),
                    n("p"),
                    n(&format!("o{}", i % 7)),
                    GraphName::DefaultGraph,
                ))
                .unwrap();
        }
        Endpoint::new(
            store,
            ServeOptions {
                timeout,
                ..ServeOptions::default()
            },
        )
        .unwrap()
    }

    fn get(e: &Endpoint, query: &str, accept: &str) -> Response<Body> {
        let uri = format!(
            "/sparql?query={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        let mut r = Request::builder()
            .uri(uri)
            .header(ACCEPT, accept)
            .body(Body::empty())
            .unwrap();
        e.handle(&mut r)
    }

    fn text(r: Response<Body>) -> String {
        r.into_body().to_string().unwrap()
    }

    #[test]
    fn select_in_csv() {
        let e = endpoint(Duration::from_secs(5));
        let r = get(&e, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "text/csv");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(text(r), "n\r\n40\r\n");
    }

    #[test]
    fn a_syntax_error_is_400_with_its_position() {
        let e = endpoint(Duration::from_secs(5));
        let r = get(&e, "SELECT ?s\nWHERE { ?s ?p }", "*/*");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(text(r).starts_with("query:2:"));
    }

    #[test]
    fn an_update_sent_as_a_query_is_403() {
        let e = endpoint(Duration::from_secs(5));
        let r = get(&e, "INSERT DATA { <x:a> <x:b> <x:c> }", "*/*");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(e.store.len().unwrap(), 40);
    }

    #[test]
    fn a_slow_query_is_cancelled_with_503() {
        let e = endpoint(Duration::from_millis(200));
        let start = Instant::now();
        let r = get(
            &e,
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }",
            "*/*",
        );
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(text(r).contains("time limit"));
    }

    #[test]
    fn bind_addresses() {
        assert_eq!(
            resolve_bind("8080").unwrap(),
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert!(resolve_bind(DEFAULT_BIND).unwrap().ip().is_loopback());
        assert!(resolve_bind("[::1]:7878").unwrap().ip().is_loopback());
        assert!(resolve_bind("nonsense").is_err());
    }
}
