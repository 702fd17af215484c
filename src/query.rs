//! SPARQL over the store: query text in (from the command line, a `.rq` file or stdin), results
//! out in the format asked for.
//!
//! SELECT and ASK results go out as an aligned text table (East Asian wide characters count two
//! columns), or through oxigraph's result serializers as CSV, TSV, JSON or XML; CONSTRUCT and
//! DESCRIBE results go out as sorted Turtle or N-Triples (or a subject/predicate/object table).
//! Syntax errors carry the line and column (`query:2:14: expected …`). Queries are taken as
//! standard SPARQL: no prefix is added behind the user's back ([`PREFIXES`] is there to copy).
//! This module does not build or load the store, and does not decide where output goes.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use oxigraph::io::RdfFormat;
use oxigraph::model::{Term, Triple};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{QueryResults, QuerySolution, SparqlEvaluator, SparqlSyntaxError, Variable};
use oxigraph::store::Store;

use crate::error::{Error, Result};
use crate::rdf::{sort_triples, write_sorted_triples_io, TURTLE_PREFIXES};

/// The prefixes used throughout the docs and the shipped queries, ready to paste above a query.
pub const PREFIXES: &str = "\
PREFIX ckg: <https://w3id.org/cellkg/ontology#>
PREFIX id: <https://w3id.org/cellkg/id/>
PREFIX doc: <https://w3id.org/cellkg/doc/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
";

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFormat {
    /// An aligned plain-text table (any query form).
    #[default]
    Table,
    /// SPARQL 1.1 CSV results (SELECT/ASK).
    Csv,
    /// SPARQL 1.1 TSV results (SELECT/ASK).
    Tsv,
    /// SPARQL 1.1 JSON results (SELECT/ASK).
    Json,
    /// SPARQL XML results (SELECT/ASK).
    Xml,
    /// Turtle (CONSTRUCT/DESCRIBE).
    Turtle,
    /// N-Triples (CONSTRUCT/DESCRIBE).
    NTriples,
}

impl ResultFormat {
    /// The accepted names, as listed in error messages and help.
    pub const NAMES: &'static str = "table, csv, tsv, json, xml, turtle, ntriples";

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            ResultFormat::Table => "table",
            ResultFormat::Csv => "csv",
            ResultFormat::Tsv => "tsv",
            ResultFormat::Json => "json",
            ResultFormat::Xml => "xml",
            ResultFormat::Turtle => "turtle",
            ResultFormat::NTriples => "ntriples",
        }
    }

    fn results_format(self) -> Option<QueryResultsFormat> {
        match self {
            ResultFormat::Csv => Some(QueryResultsFormat::Csv),
            ResultFormat::Tsv => Some(QueryResultsFormat::Tsv),
            ResultFormat::Json => Some(QueryResultsFormat::Json),
            ResultFormat::Xml => Some(QueryResultsFormat::Xml),
            _ => None,
        }
    }
}

impl fmt::Display for ResultFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResultFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" | "text" => Ok(ResultFormat::Table),
            "csv" => Ok(ResultFormat::Csv),
            "tsv" => Ok(ResultFormat::Tsv),
            "json" | "srj" => Ok(ResultFormat::Json),
            "xml" | "srx" => Ok(ResultFormat::Xml),
            "turtle" | "ttl" => Ok(ResultFormat::Turtle),
            "ntriples" | "n-triples" | "nt" => Ok(ResultFormat::NTriples),
            _ => Err(Error::Other(format!(
                "unknown result format `{s}`; expected one of {}",
                Self::NAMES
            ))),
        }
    }
}

/// The query text named by `arg`: `-` reads stdin, an existing file is read, anything else is
/// taken as the query itself.
pub fn load_query_text(arg: &str) -> Result<String> {
    if arg == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::io("<stdin>", e))?;
        return Ok(text);
    }
    let path = Path::new(arg);
    if !arg.contains('\n') && path.is_file() {
        return std::fs::read_to_string(path).map_err(|e| Error::io(path, e));
    }
    let looks_like_file = !arg.contains(char::is_whitespace)
        && path.extension().is_some_and(|x| x == "rq" || x == "sparql");
    if looks_like_file {
        return Err(Error::NotFound(format!(
            "{arg}: no such query file (give a path to a .rq file, `-` for stdin, or the query text)"
        )));
    }
    Ok(arg.to_string())
}

/// Maps a SPARQL syntax error to `query:LINE:COLUMN: message` (1-based, columns in characters).
pub(crate) fn syntax_error(e: &SparqlSyntaxError, sparql: &str) -> Error {
    let msg = e.to_string();
    // The peg parser's message reads "error at LINE:COLUMN: expected …".
    if let Some(rest) = msg.strip_prefix("error at ") {
        if let Some((pos, detail)) = rest.split_once(": ") {
            if let Some((line, column)) = pos.split_once(':') {
                if line.parse::<u64>().is_ok() && column.parse::<u64>().is_ok() {
                    // spargebra reports an undeclared prefix as one more "expected" token.
                    if detail.contains("Prefix not found") {
                        return Error::Query(format!(
                            "query:{line}:{column}: {}",
                            undeclared_prefix(sparql, line, column)
                        ));
                    }
                    // One line: the parser lists expected tokens with line breaks in them.
                    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
                    return Error::Query(format!("query:{line}:{column}: {detail}"));
                }
            }
        }
    }
    let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    Error::Query(format!("query: {}", lowercase_first(&msg)))
}

/// Explains an undeclared prefix whose name ends just before `line:column`, with the
/// declaration to add when it is one of [`PREFIXES`].
fn undeclared_prefix(sparql: &str, line: &str, column: &str) -> String {
    let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) else {
        return "undeclared prefix".to_string();
    };
    let before: String = sparql
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .chars()
        .take(column.saturating_sub(1))
        .collect();
    let token = before
        .rsplit(|c: char| c.is_whitespace() || "(){}[],;/|^!=<>".contains(c))
        .next()
        .unwrap_or("");
    let Some((name, _)) = token.split_once(':') else {
        return "undeclared prefix; declare it with `PREFIX name: <iri>`".to_string();
    };
    match PREFIXES
        .lines()
        .find(|l| l.starts_with(&format!("PREFIX {name}: ")))
    {
        Some(decl) => format!("undeclared prefix `{name}:`; add `{decl}` above the query"),
        None => format!("undeclared prefix `{name}:`; declare it with `PREFIX {name}: <iri>`"),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn eval_error(e: impl fmt::Display) -> Error {
    Error::Query(format!(
        "query evaluation failed: {}",
        lowercase_first(&e.to_string())
    ))
}

fn out_error(e: io::Error) -> Error {
    Error::io("<output>", e)
}

/// Parses `sparql`, runs it on `store` and writes the results to `out` in `format`.
///
/// SELECT/ASK take `table`, `csv`, `tsv`, `json`, `xml`; CONSTRUCT/DESCRIBE take `turtle`,
/// `ntriples` or `table`. Nothing is written when the query fails to parse or evaluate.
pub fn run_query(
    store: &Store,
    sparql: &str,
    format: ResultFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let prepared = SparqlEvaluator::new()
        .parse_query(sparql)
        .map_err(|e| syntax_error(&e, sparql))?;
    let results = prepared.on_store(store).execute().map_err(eval_error)?;
    match results {
        QueryResults::Boolean(value) => write_boolean(value, format, out),
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            let rows = solutions
                .collect::<Result<Vec<_>, _>>()
                .map_err(eval_error)?;
            write_solutions(&variables, &rows, format, out)
        }
        QueryResults::Graph(triples) => {
            let triples = triples.collect::<Result<Vec<_>, _>>().map_err(eval_error)?;
            write_graph(triples, format, out)
        }
    }
}

fn wrong_form(format: ResultFormat, form: &str, hint: &str) -> Error {
    Error::Query(format!(
        "--format {format} does not apply to {form} results; use {hint}"
    ))
}

fn write_boolean(value: bool, format: ResultFormat, out: &mut dyn Write) -> Result<()> {
    if format == ResultFormat::Table {
        return writeln!(out, "{value}").map_err(out_error);
    }
    let rf = format
        .results_format()
        .ok_or_else(|| wrong_form(format, "ASK", "table, csv, tsv, json or xml"))?;
    QueryResultsSerializer::from_format(rf)
        .serialize_boolean_to_writer(&mut *out, value)
        .map_err(out_error)?;
    writeln!(out).map_err(out_error)?;
    out.flush().map_err(out_error)
}

fn write_solutions(
    variables: &[Variable],
    rows: &[QuerySolution],
    format: ResultFormat,
    out: &mut dyn Write,
) -> Result<()> {
    if format == ResultFormat::Table {
        let header: Vec<String> = variables.iter().map(|v| v.as_str().to_string()).collect();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                variables
                    .iter()
                    .map(|v| row.get(v).map(display_term).unwrap_or_default())
                    .collect()
            })
            .collect();
        return write_table(&header, &cells, out).map_err(out_error);
    }
    let rf = format
        .results_format()
        .ok_or_else(|| wrong_form(format, "SELECT", "table, csv, tsv, json or xml"))?;
    let mut ser = QueryResultsSerializer::from_format(rf)
        .serialize_solutions_to_writer(&mut *out, variables.to_vec())
        .map_err(out_error)?;
    for row in rows {
        ser.serialize(row.iter()).map_err(out_error)?;
    }
    ser.finish().map_err(out_error)?;
    if matches!(rf, QueryResultsFormat::Json | QueryResultsFormat::Xml) {
        writeln!(out).map_err(out_error)?;
    }
    out.flush().map_err(out_error)
}

fn write_graph(triples: Vec<Triple>, format: ResultFormat, out: &mut dyn Write) -> Result<()> {
    let triples = sort_triples(triples);
    match format {
        ResultFormat::Turtle => {
            write_sorted_triples_io(triples, RdfFormat::Turtle, out).map_err(out_error)
        }
        ResultFormat::NTriples => {
            write_sorted_triples_io(triples, RdfFormat::NTriples, out).map_err(out_error)
        }
        ResultFormat::Table => {
            let header = ["subject", "predicate", "object"].map(String::from);
            let cells: Vec<Vec<String>> = triples
                .iter()
                .map(|t| {
                    vec![
                        display_term(&Term::from(t.subject.clone())),
                        display_term(&Term::from(t.predicate.clone())),
                        display_term(&t.object),
                    ]
                })
                .collect();
            write_table(&header, &cells, out).map_err(out_error)
        }
        _ => Err(wrong_form(
            format,
            "CONSTRUCT/DESCRIBE",
            "turtle, ntriples or table",
        )),
    }
}

/// A term as shown in a table: IRIs shortened with the standard prefixes, literals by value
/// (with `@lang` or `^^type` where they carry one that is not plain), control characters escaped.
pub fn display_term(term: &Term) -> String {
    let raw = match term {
        Term::NamedNode(n) => compact_iri(n.as_str()),
        Term::BlankNode(b) => format!("_:{}", b.as_str()),
        Term::Literal(l) => {
            let value = l.value().to_string();
            if let Some(lang) = l.language() {
                format!("{value}@{lang}")
            } else {
                value
            }
        }
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    };
    escape_cell(&raw)
}

fn compact_iri(iri: &str) -> String {
    for (name, ns) in TURTLE_PREFIXES {
        if let Some(local) = iri.strip_prefix(ns) {
            if !local.is_empty() {
                return format!("{name}:{local}");
            }
        }
    }
    format!("<{iri}>")
}

fn escape_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Display width of a character in a terminal: 2 for East Asian wide and fullwidth characters,
/// 0 for combining marks and zero-width characters, 1 otherwise.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = (0x0300..=0x036F).contains(&u)
        || (0x200B..=0x200F).contains(&u)
        || (0xFE00..=0xFE0F).contains(&u)
        || u == 0x20E3
        || (0x20D0..=0x20FF).contains(&u);
    if zero {
        return 0;
    }
    let wide = (0x1100..=0x115F).contains(&u)
        || (0x2E80..=0x303E).contains(&u)
        || (0x3041..=0x33FF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x4E00..=0x9FFF).contains(&u)
        || (0xA000..=0xA4CF).contains(&u)
        || (0xAC00..=0xD7A3).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFF60).contains(&u)
        || (0xFFE0..=0xFFE6).contains(&u)
        || (0x1F300..=0x1F64F).contains(&u)
        || (0x1F900..=0x1F9FF).contains(&u)
        || (0x20000..=0x3FFFD).contains(&u);
    if wide {
        2
    } else {
        1
    }
}

/// Display width of a string (sum of [`char_width`]).
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Writes an aligned table: header, a rule, one line per row; columns separated by ` | `, no
/// trailing spaces.
fn write_table(header: &[String], rows: &[Vec<String>], out: &mut dyn Write) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| str_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(str_width(cell));
        }
    }
    let line = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str(" | ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w.saturating_sub(str_width(cell))));
        }
        out.write_all(text.trim_end_matches(' ').as_bytes())?;
        out.write_all(b"\n")
    };
    line(out, header)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.write_all(rule.join("-+-").as_bytes())?;
    out.write_all(b"\n")?;
    for row in rows {
        line(out, row)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_cjk_twice() {
        assert_eq!(str_width("CAR-T"), 5);
        assert_eq!(str_width("奕凯达"), 6);
        assert_eq!(str_width("ＣＤ19"), 6);
    }

    #[test]
    fn tables_align_wide_characters() {
        let mut out = Vec::new();
        let header = vec!["name".to_string(), "n".to_string()];
        let rows = vec![
            vec!["奕凯达".to_string(), "1".to_string()],
            vec!["CD19".to_string(), "22".to_string()],
        ];
        write_table(&header, &rows, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name   | n\n-------+---\n奕凯达 | 1\nCD19   | 22\n"
        );
    }

    #[test]
    fn format_names_parse() {
        assert_eq!("CSV".parse::<ResultFormat>().unwrap(), ResultFormat::Csv);
        let err = "yaml".parse::<ResultFormat>().unwrap_err().to_string();
        assert!(
            err.contains("table, csv, tsv, json, xml, turtle, ntriples"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let store = Store::new().unwrap();
        let err = run_query(
            &store,
            "SELECT ?s\nWHERE { ?s ?p }",
            ResultFormat::Table,
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("query:2:"), "{err}");
    }
}
