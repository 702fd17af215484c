//! Content negotiation: from an `Accept` header (and the `format`/`output` parameters that
//! SPARQLWrapper and many endpoints use) to the serialization of one kind of result.
//!
//! SELECT and ASK results go out as SPARQL JSON (the default), XML, CSV or TSV; CONSTRUCT and
//! DESCRIBE results as Turtle (the default), N-Triples, RDF/XML or JSON-LD. This module only
//! chooses; writing is left to oxigraph's serializers.

use oxigraph::io::{JsonLdProfileSet, RdfFormat};
use oxigraph::sparql::results::QueryResultsFormat;

/// The media types offered for SELECT and ASK results, in order of preference (the first one
/// is the default for `*/*` or no `Accept`).
const SOLUTION_OFFERS: &[(&str, QueryResultsFormat)] = &[
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("application/xml", QueryResultsFormat::Xml),
    ("text/xml", QueryResultsFormat::Xml),
    ("text/csv", QueryResultsFormat::Csv),
    ("text/tab-separated-values", QueryResultsFormat::Tsv),
];

/// The media types offered for CONSTRUCT and DESCRIBE results, in order of preference.
const GRAPH_OFFERS: &[(&str, GraphFormat)] = &[
    ("text/turtle", GraphFormat::Turtle),
    ("application/x-turtle", GraphFormat::Turtle),
    ("application/turtle", GraphFormat::Turtle),
    ("application/n-triples", GraphFormat::NTriples),
    ("text/plain", GraphFormat::NTriples),
    ("application/rdf+xml", GraphFormat::RdfXml),
    ("application/xml", GraphFormat::RdfXml),
    ("text/xml", GraphFormat::RdfXml),
    ("application/ld+json", GraphFormat::JsonLd),
    ("application/json", GraphFormat::JsonLd),
    ("application/x-json+ld", GraphFormat::JsonLd),
    // Turtle is N3 without N3's extensions: N3 readers (SPARQLWrapper's `N3`) read it.
    ("text/n3", GraphFormat::Turtle),
    ("text/rdf+n3", GraphFormat::Turtle),
    ("application/rdf+n3", GraphFormat::Turtle),
];

/// The serializations of CONSTRUCT and DESCRIBE results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Turtle,
    NTriples,
    RdfXml,
    JsonLd,
}

impl GraphFormat {
    /// The oxigraph format that writes it.
    pub fn rdf_format(self) -> RdfFormat {
        match self {
            GraphFormat::Turtle => RdfFormat::Turtle,
            GraphFormat::NTriples => RdfFormat::NTriples,
            GraphFormat::RdfXml => RdfFormat::RdfXml,
            GraphFormat::JsonLd => RdfFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        }
    }

    /// The `Content-Type` of the response.
    pub fn content_type(self) -> &'static str {
        match self {
            GraphFormat::Turtle => "text/turtle; charset=utf-8",
            GraphFormat::NTriples => "application/n-triples; charset=utf-8",
            GraphFormat::RdfXml => "application/rdf+xml; charset=utf-8",
            GraphFormat::JsonLd => "application/ld+json; charset=utf-8",
        }
    }
}

/// The `Content-Type` of SELECT/ASK results in `format`.
pub fn solutions_content_type(format: QueryResultsFormat) -> &'static str {
    match format {
        QueryResultsFormat::Json => "application/sparql-results+json; charset=utf-8",
        QueryResultsFormat::Xml => "application/sparql-results+xml; charset=utf-8",
        QueryResultsFormat::Csv => "text/csv; charset=utf-8",
        QueryResultsFormat::Tsv => "text/tab-separated-values; charset=utf-8",
        other => other.media_type(),
    }
}

/// The media types accepted for SELECT/ASK results, for a 406 message.
pub fn solution_media_types() -> String {
    SOLUTION_OFFERS
        .iter()
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The media types accepted for CONSTRUCT/DESCRIBE results, for a 406 message.
pub fn graph_media_types() -> String {
    GRAPH_OFFERS
        .iter()
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The format for SELECT/ASK results: the `format` parameter when it names one, else the best
/// match for `accept`; `None` when `accept` admits none of them (406).
pub fn solutions_format(accept: Option<&str>, param: Option<&str>) -> Option<QueryResultsFormat> {
    if let Some(f) = param.and_then(solutions_format_name) {
        return Some(f);
    }
    best(accept, SOLUTION_OFFERS)
}

/// The format for CONSTRUCT/DESCRIBE results, as [`solutions_format`] does for SELECT/ASK.
pub fn graph_format(accept: Option<&str>, param: Option<&str>) -> Option<GraphFormat> {
    if let Some(f) = param.and_then(graph_format_name) {
        return Some(f);
    }
    best(accept, GRAPH_OFFERS)
}

/// A `format=`/`output=` value for SELECT/ASK: a short name or a media type.
fn solutions_format_name(name: &str) -> Option<QueryResultsFormat> {
    match name.trim().to_ascii_lowercase().as_str() {
        "json" | "srj" => Some(QueryResultsFormat::Json),
        "xml" | "srx" => Some(QueryResultsFormat::Xml),
        "csv" => Some(QueryResultsFormat::Csv),
        "tsv" => Some(QueryResultsFormat::Tsv),
        other => SOLUTION_OFFERS
            .iter()
            .find(|(m, _)| *m == other)
            .map(|(_, f)| *f),
    }
}

/// A `format=`/`output=` value for CONSTRUCT/DESCRIBE: `json` means JSON-LD and `xml` RDF/XML,
/// as SPARQLWrapper means them.
fn graph_format_name(name: &str) -> Option<GraphFormat> {
    match name.trim().to_ascii_lowercase().as_str() {
        "turtle" | "ttl" | "n3" => Some(GraphFormat::Turtle),
        "ntriples" | "n-triples" | "nt" => Some(GraphFormat::NTriples),
        "xml" | "rdf" | "rdf+xml" | "rdfxml" => Some(GraphFormat::RdfXml),
        "json" | "json-ld" | "jsonld" => Some(GraphFormat::JsonLd),
        other => GRAPH_OFFERS
            .iter()
            .find(|(m, _)| *m == other)
            .map(|(_, f)| *f),
    }
}

/// One media range of an `Accept` header with its quality.
#[derive(Debug, PartialEq)]
struct Range<'a> {
    main: &'a str,
    sub: &'a str,
    q: f32,
}

fn parse_accept(accept: &str) -> Vec<Range<'_>> {
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let (main, sub) = parts.next()?.trim().split_once('/')?;
            let mut q = 1.0;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v.trim().parse().unwrap_or(0.0);
                    }
                }
            }
            Some(Range {
                main: main.trim(),
                sub: sub.trim(),
                q,
            })
        })
        .collect()
}

/// The offer with the highest quality under `accept` (each offer takes the quality of its most
/// specific matching range: `type/sub` over `type/*` over `*/*`); ties go to the earlier offer.
/// No header, or an empty one, takes the first offer.
fn best<F: Copy>(accept: Option<&str>, offers: &[(&str, F)]) -> Option<F> {
    let ranges = match accept.map(str::trim) {
        None | Some("") => return offers.first().map(|(_, f)| *f),
        Some(a) => parse_accept(a),
    };
    let mut chosen: Option<(f32, F)> = None;
    for (media, format) in offers {
        let (main, sub) = media.split_once('/').unwrap_or((media, ""));
        let mut found: Option<(u8, f32)> = None;
        for r in &ranges {
            let specificity =
                if r.main.eq_ignore_ascii_case(main) && r.sub.eq_ignore_ascii_case(sub) {
                    3
                } else if r.main.eq_ignore_ascii_case(main) && r.sub == "*" {
                    2
                } else if r.main == "*" && r.sub == "*" {
                    1
                } else {
                    continue;
                };
            if found.is_none_or(|(s, _)| specificity > s) {
                found = Some((specificity, r.q));
            }
        }
        if let Some((_, q)) = found {
            if q > 0.0 && chosen.is_none_or(|(best, _)| q > best) {
                chosen = Some((q, *format));
            }
        }
    }
    chosen.map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_accept_takes_the_default() {
        assert_eq!(solutions_format(None, None), Some(QueryResultsFormat::Json));
        assert_eq!(graph_format(Some(""), None), Some(GraphFormat::Turtle));
        assert_eq!(
            solutions_format(Some("*/*"), None),
            Some(QueryResultsFormat::Json)
        );
    }

    #[test]
    fn quality_and_specificity_decide() {
        let a = "text/csv;q=0.5, application/sparql-results+xml";
        assert_eq!(
            solutions_format(Some(a), None),
            Some(QueryResultsFormat::Xml)
        );
        let a = "text/*;q=0.9, text/csv;q=0.1";
        // text/csv is named with 0.1; text/xml gets 0.9 through text/*.
        assert_eq!(
            solutions_format(Some(a), None),
            Some(QueryResultsFormat::Xml)
        );
        let a = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(
            solutions_format(Some(a), None),
            Some(QueryResultsFormat::Xml)
        );
        assert_eq!(graph_format(Some(a), None), Some(GraphFormat::RdfXml));
        assert_eq!(
            graph_format(Some("application/n-triples, text/turtle;q=0.5"), None),
            Some(GraphFormat::NTriples)
        );
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(solutions_format(Some("image/png"), None), None);
        assert_eq!(graph_format(Some("text/csv"), None), None);
        assert_eq!(solutions_format(Some("text/csv;q=0"), None), None);
    }

    #[test]
    fn the_format_parameter_wins_when_it_applies() {
        assert_eq!(
            solutions_format(Some("application/json"), Some("csv")),
            Some(QueryResultsFormat::Csv)
        );
        assert_eq!(graph_format(None, Some("json")), Some(GraphFormat::JsonLd));
        // An unknown value is ignored, as SPARQLWrapper sends several.
        assert_eq!(
            solutions_format(Some("text/tab-separated-values"), Some("nonsense")),
            Some(QueryResultsFormat::Tsv)
        );
    }
}
