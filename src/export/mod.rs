//! Exports: the assembled [`KnowledgeGraph`] (and the RDF [`Store`] made from it) in, files out:
//! Graphviz DOT, the CSV tables of the export contract, Turtle, N-Triples and N-Quads.
//!
//! Every writer is buffered and byte-for-byte deterministic: the same graph gives the same files.
//! [`write_all`] writes the whole contract set into one directory; [`export`] writes one format to
//! a file, a writer or stdout (CSV always to a directory). This module does not build the graph
//! or the store, does not cut subgraphs, and does not replace a directory atomically: the caller
//! writes into a fresh directory and renames it.

pub mod csv;
pub mod dot;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use oxigraph::io::RdfFormat;
use oxigraph::store::Store;

use crate::error::{Error, Result};
use crate::model::KnowledgeGraph;
use crate::rdf::{write_graph_io, write_nquads_io};

pub use self::csv::{write_csv_all, CSV_HEADERS};
pub use self::dot::{write_dot, DotOptions, Lang};

/// The files [`write_all`] writes, in the order it writes them.
pub const CONTRACT_FILES: &[&str] = &[
    "graph.dot",
    "nodes.csv",
    "edges.csv",
    "evidence.csv",
    "mentions.csv",
    "prices.csv",
    "clinical.csv",
    "conflicts.csv",
    "graph.ttl",
    "graph.nq",
];

/// An export format of `cellkg export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Graphviz DOT.
    Dot,
    /// The CSV tables of the contract (a directory).
    Csv,
    /// Turtle.
    Turtle,
    /// N-Triples.
    NTriples,
    /// N-Quads (the store file format).
    NQuads,
}

impl ExportFormat {
    /// The accepted names, as listed in error messages and help.
    pub const NAMES: &'static str = "dot, csv, turtle, ntriples, nquads";

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Dot => "dot",
            ExportFormat::Csv => "csv",
            ExportFormat::Turtle => "turtle",
            ExportFormat::NTriples => "ntriples",
            ExportFormat::NQuads => "nquads",
        }
    }

    /// The usual file name extension (`None` for CSV, which writes a directory).
    pub fn extension(self) -> Option<&'static str> {
        match self {
            ExportFormat::Dot => Some("dot"),
            ExportFormat::Csv => None,
            ExportFormat::Turtle => Some("ttl"),
            ExportFormat::NTriples => Some("nt"),
            ExportFormat::NQuads => Some("nq"),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dot" | "gv" | "graphviz" => Ok(ExportFormat::Dot),
            "csv" => Ok(ExportFormat::Csv),
            "turtle" | "ttl" => Ok(ExportFormat::Turtle),
            "ntriples" | "n-triples" | "nt" => Ok(ExportFormat::NTriples),
            "nquads" | "n-quads" | "nq" => Ok(ExportFormat::NQuads),
            _ => Err(Error::Other(format!(
                "unknown export format `{s}`; expected one of {}",
                Self::NAMES
            ))),
        }
    }
}

/// Where [`export`] writes.
pub enum ExportTarget<'a> {
    /// Standard output (not for CSV).
    Stdout,
    /// A file, or for CSV a directory (created if missing).
    Path(&'a Path),
    /// Any writer (not for CSV).
    Writer(&'a mut dyn Write),
}

/// Writes one format of the graph to `target`.
pub fn export(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    target: ExportTarget<'_>,
) -> Result<()> {
    if format == ExportFormat::Csv {
        return match target {
            ExportTarget::Path(dir) => write_csv_all(kg, dir),
            _ => Err(Error::Other(
                "csv export writes a directory of files; give one with -o DIR".to_string(),
            )),
        };
    }
    match target {
        ExportTarget::Path(path) => write_file(path, |w| write_format(kg, store, format, w)),
        ExportTarget::Stdout => {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            write_format(kg, store, format, &mut lock).map_err(|e| Error::io("<stdout>", e))
        }
        ExportTarget::Writer(w) => {
            write_format(kg, store, format, w).map_err(|e| Error::io("<output>", e))
        }
    }
}

fn write_format(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    match format {
        ExportFormat::Dot => dot::write_dot_io(kg, &mut w, &DotOptions::default())?,
        ExportFormat::Turtle => write_graph_io(store, RdfFormat::Turtle, &mut w)?,
        ExportFormat::NTriples => write_graph_io(store, RdfFormat::NTriples, &mut w)?,
        ExportFormat::NQuads => write_nquads_io(store, &mut w)?,
        ExportFormat::Csv => {
            return Err(io::Error::other("csv export writes a directory of files"));
        }
    }
    w.flush()
}

fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(file);
    f(&mut w).map_err(|e| Error::io(path, e))?;
    w.flush().map_err(|e| Error::io(path, e))?;
    w.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io(path, e))
}

/// Writes every file of the export contract into `dir` (created if missing): `graph.dot`, the
/// CSV tables, `graph.ttl` and `graph.nq`.
pub fn write_all(kg: &KnowledgeGraph, store: &Store, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_file(&dir.join("graph.dot"), |w| {
        dot::write_dot_io(kg, w, &DotOptions::default())
    })?;
    write_csv_all(kg, dir)?;
    write_file(&dir.join("graph.ttl"), |w| {
        write_graph_io(store, RdfFormat::Turtle, w)
    })?;
    write_file(&dir.join("graph.nq"), |w| write_nquads_io(store, w))
}
