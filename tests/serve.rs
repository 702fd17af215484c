//! `cellkg serve` from the outside: the real binary on a free loopback port, over the graph of
//! the seeds, queried with raw HTTP requests (as curl sends them), with Python's SPARQLWrapper
//! (`tests/serve/sparqlwrapper_check.py`) and with headless Chromium on the query page.
//!
//! Every test starts its own server and kills it on drop; every wait is bounded. Python is
//! `$CELLKG_PYTHON`, else `python3`; Chromium is `chromium`. When one of them (or SPARQLWrapper)
//! is missing the test prints why it is skipped and passes, unless `CELLKG_INTEROP=1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const CKG: &str = "PREFIX ckg: <https://w3id.org/cellkg/ontology#>\n";
const SELECT_TARGETS: &str = "SELECT ?t WHERE { ?t a ckg:Target } ORDER BY ?t";
const ASK_TARGETS: &str = "ASK { ?t a ckg:Target }";
const CONSTRUCT_TARGETS: &str = "CONSTRUCT { ?t a ckg:Target } WHERE { ?t a ckg:Target }";
const COUNT_ALL: &str = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cellkg")
}

fn required() -> bool {
    std::env::var("CELLKG_INTEROP").as_deref() == Ok("1")
}

/// Prints why a test is skipped, or fails it when `CELLKG_INTEROP=1`.
fn skip(reason: &str) {
    if required() {
        panic!("{reason} (CELLKG_INTEROP=1 makes a missing tool a failure)");
    }
    eprintln!("skipped: {reason}");
}

/// The store built from the seeds, once per run of this test binary.
fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-store");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(bin())
            .current_dir(repo())
            .arg("--store")
            .arg(&dir)
            .args(["build", "seeds", "--out"])
            .arg(dir.join("exports"))
            .output()
            .expect("run cellkg build");
        assert!(
            out.status.success(),
            "cellkg build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A running `cellkg serve`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let store = store();
        for attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("serve-{}-{port}.log", std::process::id()));
            let child = Command::new(bin())
                .current_dir(repo())
                .arg("--store")
                .arg(store)
                .args(["serve", "--bind", &addr.to_string()])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("start cellkg serve");
            let mut server = Server { child, addr, log };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return server;
                }
                thread::sleep(Duration::from_millis(50));
            }
            eprintln!(
                "attempt {attempt}: server on {addr} did not come up: {}",
                server.stderr()
            );
        }
        panic!("cellkg serve did not start");
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        http(self.addr, method, path, headers, body)
    }

    fn get(&self, query: &str, accept: &str) -> Reply {
        self.request(
            "GET",
            &format!("/sparql?query={}", encode(query)),
            &[("Accept", accept)],
            b"",
        )
    }

    fn post_form(&self, query: &str, accept: &str) -> Reply {
        self.request(
            "POST",
            "/sparql",
            &[
                ("Accept", accept),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            format!("query={}", encode(query)).as_bytes(),
        )
    }

    fn post_direct(&self, query: &str, accept: &str) -> Reply {
        self.request(
            "POST",
            "/sparql",
            &[
                ("Accept", accept),
                ("Content-Type", "application/sparql-query"),
            ],
            query.as_bytes(),
        )
    }

    /// The number of triples, asked through the endpoint.
    fn count(&self) -> u64 {
        let r = self.get(COUNT_ALL, "text/csv");
        assert_eq!(r.status, 200, "{}", r.text());
        r.text().lines().nth(1).unwrap().trim().parse().unwrap()
    }

    /// Sends `signal` and waits (bounded) for a clean exit.
    fn stop_with(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop on SIG{signal}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTTP response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), as curl sends it.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading the whole body and close: that is fine.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16)
            .expect("chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
    out
}

/// The rows of a SELECT result, by format, as the values of its first column.
fn rows(reply: &Reply, format: &str) -> Vec<String> {
    let text = reply.text();
    match format {
        "json" => {
            let v: serde_json::Value = serde_json::from_str(&text).expect("json results");
            let var = v["head"]["vars"][0].as_str().unwrap().to_string();
            v["results"]["bindings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b[&var]["value"].as_str().unwrap().to_string())
                .collect()
        }
        "xml" => text
            .split("<uri>")
            .skip(1)
            .map(|s| s.split("</uri>").next().unwrap().to_string())
            .collect(),
        "csv" => text.lines().skip(1).map(str::to_string).collect(),
        "tsv" => text
            .lines()
            .skip(1)
            .map(|l| l.trim_matches(|c| c == '<' || c == '>').to_string())
            .collect(),
        _ => unreachable!(),
    }
}

const SOLUTION_FORMATS: &[(&str, &str)] = &[
    ("json", "application/sparql-results+json"),
    ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
];

#[test]
fn select_and_ask_answer_every_method_in_every_format() {
    let server = Server::start(&[]);
    let select = format!("{CKG}{SELECT_TARGETS}");
    let expected = rows(&server.get(&select, "application/json"), "json");
    assert!(expected.len() > 5, "too few targets: {expected:?}");
    assert!(expected.contains(&"https://w3id.org/cellkg/id/target/bcma".to_string()));
    for method in ["GET", "POST form", "POST direct"] {
        let send = |q: &str, accept: &str| match method {
            "GET" => server.get(q, accept),
            "POST form" => server.post_form(q, accept),
            _ => server.post_direct(q, accept),
        };
        for (format, media) in SOLUTION_FORMATS {
            let r = send(&select, media);
            assert_eq!(r.status, 200, "{method} {format}: {}", r.text());
            assert!(r.content_type().starts_with(media), "{method} {format}");
            assert_eq!(r.header("vary"), Some("Accept"));
            assert_eq!(rows(&r, format), expected, "{method} SELECT {format}");

            let r = send(&format!("{CKG}{ASK_TARGETS}"), media);
            assert_eq!(r.status, 200, "{method} ASK {format}: {}", r.text());
            assert!(r.content_type().starts_with(media));
            assert!(
                r.text().contains("true"),
                "{method} ASK {format}: {}",
                r.text()
            );
        }
    }
}

#[test]
fn csv_and_tsv_are_what_cellkg_query_writes() {
    let server = Server::start(&[]);
    for format in ["csv", "tsv"] {
        let path = repo().join("queries/products_by_target.rq");
        let query =
            std::fs::read_to_string(&path).unwrap_or_else(|_| format!("{CKG}{SELECT_TARGETS}"));
        let cli = Command::new(bin())
            .arg("--store")
            .arg(store())
            .args(["query", "-", "--format", format])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(query.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(cli.status.success());
        let media = if format == "csv" {
            "text/csv"
        } else {
            "text/tab-separated-values"
        };
        let r = server.post_direct(&query, media);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), String::from_utf8_lossy(&cli.stdout), "{format}");
    }
}

#[test]
fn construct_answers_in_every_rdf_format() {
    let server = Server::start(&[]);
    let construct = format!("{CKG}{CONSTRUCT_TARGETS}");
    let n = rows(
        &server.get(&format!("{CKG}{SELECT_TARGETS}"), "application/json"),
        "json",
    )
    .len();
    for send in ["GET", "POST form", "POST direct"] {
        let go = |accept: &str| match send {
            "GET" => server.get(&construct, accept),
            "POST form" => server.post_form(&construct, accept),
            _ => server.post_direct(&construct, accept),
        };
        let r = go("application/n-triples");
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.content_type().starts_with("application/n-triples"));
        assert_eq!(r.text().lines().count(), n, "{send} n-triples");

        let r = go("text/turtle");
        assert!(r.content_type().starts_with("text/turtle"));
        assert!(r.text().contains("@prefix ckg:"), "{}", r.text());
        assert_eq!(r.text().matches("ckg:Target").count(), n, "{send} turtle");

        let r = go("*/*");
        assert!(
            r.content_type().starts_with("text/turtle"),
            "default is Turtle"
        );

        let r = go("application/rdf+xml");
        assert!(r.content_type().starts_with("application/rdf+xml"));
        assert!(r.text().contains("<rdf:RDF"), "{}", r.text());
        assert_eq!(r.text().matches("rdf:about=").count(), n, "{send} rdf/xml");

        let r = go("application/ld+json");
        assert!(r.content_type().starts_with("application/ld+json"));
        let v: serde_json::Value = serde_json::from_str(&r.text()).expect("json-ld");
        assert_eq!(v.as_array().map(Vec::len), Some(n), "{send} json-ld");
    }
}

#[test]
fn negotiation_parameter_and_406() {
    let server = Server::start(&[]);
    let select = format!("{CKG}{SELECT_TARGETS}");
    // No Accept: JSON. A `format` parameter (SPARQLWrapper's) wins over Accept.
    let r = server.request(
        "GET",
        &format!("/sparql?query={}", encode(&select)),
        &[],
        b"",
    );
    assert!(r
        .content_type()
        .starts_with("application/sparql-results+json"));
    let r = server.request(
        "GET",
        &format!("/sparql?query={}&format=csv", encode(&select)),
        &[("Accept", "application/json")],
        b"",
    );
    assert!(r.content_type().starts_with("text/csv"), "{:?}", r.headers);
    // A browser's Accept takes XML.
    let r = server.get(
        &select,
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    );
    assert!(r
        .content_type()
        .starts_with("application/sparql-results+xml"));
    let r = server.get(&select, "image/png");
    assert_eq!(r.status, 406);
    assert!(r.text().contains("text/csv"), "{}", r.text());
    let r = server.get(&format!("{CKG}{CONSTRUCT_TARGETS}"), "text/csv");
    assert_eq!(r.status, 406);
    assert!(r.text().contains("text/turtle"), "{}", r.text());
}

#[test]
fn updates_are_refused_and_change_nothing() {
    let server = Server::start(&[]);
    let store_file = store().join("store.nq");
    let file_before = std::fs::read(&store_file).unwrap();
    let before = server.count();
    let insert = "INSERT DATA { <urn:x:s> <urn:x:p> <urn:x:o> }";
    let clear = "CLEAR ALL";
    let attempts = [
        server.request(
            "POST",
            "/sparql",
            &[("Content-Type", "application/sparql-update")],
            insert.as_bytes(),
        ),
        server.request(
            "POST",
            "/sparql",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("update={}", encode(clear)).as_bytes(),
        ),
        server.request(
            "GET",
            &format!("/sparql?update={}", encode(clear)),
            &[],
            b"",
        ),
        // An update sent as a query is an update all the same.
        server.get(insert, "*/*"),
        server.post_direct(clear, "*/*"),
    ];
    for r in &attempts {
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.text().contains("read-only"), "{}", r.text());
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let r = server.request(
            method,
            "/sparql",
            &[("Content-Type", "text/turtle")],
            b"<urn:x:s> <urn:x:p> <urn:x:o> .",
        );
        assert_eq!(r.status, 405, "{method}: {}", r.text());
        assert_eq!(r.header("allow"), Some("GET, POST, OPTIONS"));
    }
    assert_eq!(server.count(), before, "the number of triples changed");
    let ask = server.get("ASK { <urn:x:s> <urn:x:p> <urn:x:o> }", "text/csv");
    assert_eq!(ask.text().trim_end().lines().last(), Some("false"));
    assert_eq!(
        std::fs::read(&store_file).unwrap(),
        file_before,
        "store.nq changed"
    );
}

#[test]
fn a_malformed_query_is_400_with_the_parser_message_and_position() {
    let server = Server::start(&[]);
    let r = server.post_direct("SELECT ?s\nWHERE { ?s ?p }", "application/json");
    assert_eq!(r.status, 400);
    assert!(r.content_type().starts_with("text/plain"));
    let text = r.text();
    assert!(text.starts_with("query:2:"), "{text}");
    assert!(text.contains("expected"), "{text}");
    // The missing-prefix hint of `cellkg query` comes along.
    let r = server.get("SELECT ?t WHERE { ?t a ckg:Target }", "*/*");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("PREFIX ckg:"), "{}", r.text());
    // No query at all.
    let r = server.request("GET", "/sparql", &[], b"");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("query="), "{}", r.text());
    // Dataset parameters are refused clearly.
    let r = server.request(
        "GET",
        &format!(
            "/sparql?query={}&default-graph-uri={}",
            encode(ASK_TARGETS),
            encode("http://example.com/g")
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("default-graph-uri"), "{}", r.text());
}

#[test]
fn a_query_over_the_time_limit_is_cancelled_with_503() {
    let server = Server::start(&["--timeout", "0.5"]);
    let slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }";
    let start = Instant::now();
    let r = server.get(slow, "application/json");
    let took = start.elapsed();
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("time limit of 0.5s"), "{}", r.text());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // The cancelled evaluation stopped: the next query is answered at once.
    let start = Instant::now();
    assert!(server.count() > 0);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn oversized_requests_are_refused() {
    let server = Server::start(&["--max-request-bytes", "2048"]);
    let big = format!("{CKG}{SELECT_TARGETS}\n#{}", "x".repeat(4096));
    let r = server.post_direct(&big, "*/*");
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("2048 bytes"), "{}", r.text());
    let r = server.post_form(&big, "*/*");
    assert_eq!(r.status, 413, "{}", r.text());
    // The request line and headers are capped (8 KiB) by the HTTP layer.
    let r = server.get(
        &format!("{CKG}{SELECT_TARGETS}\n#{}", "x".repeat(16384)),
        "*/*",
    );
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.text());
    // Under the limit is fine, and the server is still there.
    let r = server.post_direct(&format!("{CKG}{SELECT_TARGETS}"), "text/csv");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn the_page_the_canned_queries_and_unknown_paths() {
    let server = Server::start(&[]);
    let r = server.request("GET", "/", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.text().contains("<textarea id=\"query\""));

    let r = server.request("GET", "/queries", &[], b"");
    assert_eq!(r.status, 200);
    let list: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rq"))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    assert_eq!(names, on_disk);

    assert_eq!(server.request("GET", "/nothing", &[], b"").status, 404);
    assert_eq!(server.request("POST", "/", &[], b"").status, 405);
    let r = server.request("OPTIONS", "/sparql", &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn a_missing_queries_directory_offers_none() {
    let server = Server::start(&["--queries", "no/such/dir"]);
    let r = server.request("GET", "/queries", &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "[]"));
}

#[test]
fn many_clients_at_once_all_get_answers() {
    let server = Server::start(&[]);
    let addr = server.addr;
    let query = format!(
        "/sparql?query={}",
        encode(&format!("{CKG}{SELECT_TARGETS}"))
    );
    let expected = server
        .request("GET", &query, &[("Accept", "text/csv")], b"")
        .body;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let query = query.clone();
            thread::spawn(move || {
                (0..10)
                    .map(|_| http(addr, "GET", &query, &[("Accept", "text/csv")], b""))
                    .map(|r| (r.status, r.body))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for (status, body) in t.join().unwrap() {
            assert_eq!(status, 200);
            assert_eq!(body, expected);
        }
    }
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in ["TERM", "INT"] {
        let server = Server::start(&[]);
        assert!(server.count() > 0);
        assert!(server.stderr().contains("serving"), "{}", server.stderr());
        let (status, stderr) = server.stop_with(signal);
        assert!(status.success(), "SIG{signal}: {status}: {stderr}");
        assert!(stderr.contains("stopped after"), "{stderr}");
    }
}

#[test]
fn loopback_is_the_default() {
    let out = Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: 127.0.0.1:7878]"), "{help}");
}

fn python() -> String {
    std::env::var("CELLKG_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

#[test]
fn sparqlwrapper_every_method_and_format() {
    let python = python();
    let has = Command::new(&python)
        .args(["-c", "import SPARQLWrapper, rdflib"])
        .output();
    match has {
        Ok(o) if o.status.success() => {}
        _ => return skip(&format!("{python} cannot import SPARQLWrapper and rdflib")),
    }
    let server = Server::start(&[]);
    let out = Command::new(&python)
        .arg(repo().join("tests/serve/sparqlwrapper_check.py"))
        .arg(server.url("/sparql"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sparqlwrapper_check.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    eprint!("{stdout}");
}

#[test]
fn chromium_shows_the_results_as_a_table() {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-chromium-{}", std::process::id()));
    let chromium = |url: &str| {
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--virtual-time-budget=15000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--dump-dom", url])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
    };
    if Command::new("chromium").arg("--version").output().is_err() {
        return skip("chromium is not installed (Debian package `chromium`)");
    }
    let server = Server::start(&[]);
    let select = format!("{CKG}{SELECT_TARGETS}");
    let expected = rows(&server.get(&select, "application/json"), "json");
    let dom = chromium(&server.url(&format!("/?query={}", encode(&select)))).unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("data-state=\"done\""),
        "the page did not finish:\n{dom}"
    );
    let body = dom
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    assert_eq!(body.matches("<tr>").count(), expected.len(), "{body}");
    assert!(body.contains("id:target/bcma"), "{body}");
    assert!(dom.contains(&format!("{} rows", expected.len())), "{dom}");

    // A malformed query shows the parser's message and position.
    let dom =
        chromium(&server.url(&format!("/?query={}", encode("SELECT ?s WHERE { ?s ?p }")))).unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(dom.contains("data-state=\"error\""), "{dom}");
    assert!(dom.contains("400 Bad Request: query:1:"), "{dom}");
    let _ = std::fs::remove_dir_all(&profile);
}
