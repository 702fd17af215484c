//! The SPARQL 1.1 Protocol's query operation, read from an HTTP request: GET with `query=`,
//! POST of a url-encoded form, or POST of an `application/sparql-query` body.
//!
//! What comes out is the query text and the client's format wishes, or the refusal to answer:
//! 403 for SPARQL Update in any of its forms, 405 for methods that would write, 413 for a body
//! over the limit, 415 for an unknown body type, 400 for a missing or repeated `query` and for
//! dataset parameters. Parsing the query itself is left to the caller.

use std::io::Read;

use oxhttp::model::header::{ACCEPT, CONTENT_TYPE};
use oxhttp::model::{Body, Method, Request, StatusCode};

use super::HttpError;

/// A query operation as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The SPARQL text.
    pub query: String,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `format` (or `output`) parameter, as SPARQLWrapper and many endpoints send it.
    pub format: Option<String>,
}

/// The parameters that select a dataset, which this endpoint does not take.
const DATASET_PARAMS: &[&str] = &[
    "default-graph-uri",
    "named-graph-uri",
    "using-graph-uri",
    "using-named-graph-uri",
];

const HOW_TO_QUERY: &str = "send `query=` in the URL (GET) or in a url-encoded form (POST), or \
     the query itself as an application/sparql-query body (POST)";

/// Reads the query operation of a request to `/sparql`; bodies over `max_body` bytes are
/// refused unread.
pub fn read_query(request: &mut Request<Body>, max_body: usize) -> Result<QueryRequest, HttpError> {
    let mut params = url_params(request.uri().query().unwrap_or(""));
    let mut body_query = None;
    match *request.method() {
        Method::GET => {}
        Method::POST => {
            let media = media_type(request);
            match media.as_str() {
                "application/x-www-form-urlencoded" => {
                    let body = read_body(request, max_body)?;
                    params.extend(url_params_bytes(&body));
                }
                "application/sparql-query" => {
                    let body = read_body(request, max_body)?;
                    let text = String::from_utf8(body).map_err(|_| {
                        HttpError::new(
                            StatusCode::BAD_REQUEST,
                            "the application/sparql-query body is not valid UTF-8",
                        )
                    })?;
                    body_query = Some(text);
                }
                "application/sparql-update" => return Err(HttpError::read_only()),
                "" => {
                    return Err(HttpError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("a POST needs a Content-Type; {HOW_TO_QUERY}"),
                    ))
                }
                other => {
                    return Err(HttpError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!(
                            "unsupported Content-Type `{other}`; use \
                             application/x-www-form-urlencoded or application/sparql-query"
                        ),
                    ))
                }
            }
        }
        ref other => return Err(HttpError::method_not_allowed(other)),
    }
    if params.iter().any(|(k, _)| k == "update") {
        return Err(HttpError::read_only());
    }
    if let Some((name, _)) = params
        .iter()
        .find(|(k, _)| DATASET_PARAMS.contains(&k.as_str()))
    {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`{name}` is not supported: the whole graph is the default graph and there are \
                 no named graphs; drop the parameter"
            ),
        ));
    }
    let mut queries = params.iter().filter(|(k, _)| k == "query").map(|(_, v)| v);
    let query = match (body_query, queries.next(), queries.next()) {
        (Some(body), None, _) => body,
        (None, Some(q), None) => q.clone(),
        (Some(_), Some(_), _) => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                "a query in both the URL and the application/sparql-query body; send one",
            ))
        }
        (None, Some(_), Some(_)) => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                "more than one `query` parameter; send one",
            ))
        }
        (None, None, _) => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("no query; {HOW_TO_QUERY} (the query page is at /)"),
            ))
        }
    };
    let format = ["format", "output"].iter().find_map(|name| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    });
    let accept = request
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(QueryRequest {
        query,
        accept,
        format,
    })
}

/// The request's media type, lower case, without parameters (`""` when absent).
fn media_type(request: &Request<Body>) -> String {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn url_params(query: &str) -> Vec<(String, String)> {
    url_params_bytes(query.as_bytes())
}

fn url_params_bytes(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// Reads the whole body, refusing with 413 one that is longer than `max` bytes (by its
/// `Content-Length` before reading, or while reading a chunked one).
fn read_body(request: &mut Request<Body>, max: usize) -> Result<Vec<u8>, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over the limit of {max} bytes (--max-request-bytes)"),
        )
    };
    if request.body().len().is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .body_mut()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("reading the request body: {e}"),
            )
        })?;
    if body.len() > max {
        return Err(too_large());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            b = b.header(CONTENT_TYPE, ct);
        }
        b.body(Body::from(body.to_string())).unwrap()
    }

    #[test]
    fn the_three_ways_to_send_a_query() {
        let q = "SELECT * WHERE { ?s ?p ?o }";
        let get = format!(
            "/sparql?query={}&format=csv",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let r = read_query(&mut request(Method::GET, &get, None, ""), 100).unwrap();
        assert_eq!((r.query.as_str(), r.format.as_deref()), (q, Some("csv")));
        let form = format!(
            "query={}",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let mut post = request(
            Method::POST,
            "/sparql",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            &form,
        );
        assert_eq!(read_query(&mut post, 100).unwrap().query, q);
        let mut direct = request(Method::POST, "/sparql", Some("application/sparql-query"), q);
        assert_eq!(read_query(&mut direct, 100).unwrap().query, q);
    }

    #[test]
    fn refusals() {
        let status = |mut r: Request<Body>| read_query(&mut r, 10).unwrap_err().status;
        assert_eq!(
            status(request(Method::GET, "/sparql?update=CLEAR+ALL", None, "")),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(request(
                Method::POST,
                "/sparql",
                Some("application/sparql-update"),
                "CLEAR ALL"
            )),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(request(Method::PUT, "/sparql", Some("text/turtle"), "")),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(request(
                Method::POST,
                "/sparql",
                Some("application/sparql-query"),
                "SELECT * WHERE { ?s ?p ?o }"
            )),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            status(request(Method::POST, "/sparql", Some("text/plain"), "x")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(request(Method::GET, "/sparql", None, "")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(request(
                Method::GET,
                "/sparql?query=ASK{}&default-graph-uri=http://x",
                None,
                ""
            )),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(request(
                Method::GET,
                "/sparql?query=ASK{}&query=ASK{}",
                None,
                ""
            )),
            StatusCode::BAD_REQUEST
        );
    }
}
