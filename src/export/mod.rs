//! Exports: the assembled [`KnowledgeGraph`] (and the RDF [`Store`] made from it) in, files out:
//! Graphviz DOT (and SVG/PNG through Graphviz), the CSV tables of the export contract (plain or
//! for Excel), a Neo4j import folder, GraphML, node-link JSON, Turtle, N-Triples, N-Quads,
//! JSON-LD and RDF/XML.
//!
//! Every writer is buffered and byte-for-byte deterministic: the same graph gives the same files.
//! [`write_all`] writes the flat files of the contract into one directory, [`write_build`] adds
//! the `neo4j/` folder; [`export_with`] writes one format, of the whole graph or of a cut
//! ([`GraphFilter`]), to a file, a writer or stdout (CSV and Neo4j always to a directory). A cut
//! is a smaller `KnowledgeGraph`, and its RDF a store made from it, so every format shows the same
//! subgraph. This module does not build the graph and does not replace a directory atomically:
//! the caller writes into a fresh directory and renames it.

pub mod csv;
pub mod dot;
pub mod filter;
pub mod graphml;
pub mod json;
pub mod neo4j;
pub mod render;

use std::fmt;
use std::io::{self, BufWriter, Write};

use crate::outfile::OutFile;
use std::path::Path;
use std::str::FromStr;

use oxigraph::io::{JsonLdProfileSet, RdfFormat};
use oxigraph::store::Store;

use crate::error::{Error, Result};
use crate::model::KnowledgeGraph;
use crate::rdf::{sorted_ntriples, write_graph_io};

pub use self::csv::{write_csv_all, write_csv_all_flavour, CsvFlavour, CSV_HEADERS};
pub use self::dot::{write_dot, write_dot_view, DotOptions, Lang, ViewOptions};
pub use self::filter::{cut, GraphFilter, Subgraph};
pub use self::graphml::write_graphml;
pub use self::json::write_json;
pub use self::neo4j::{write_neo4j, IMPORT_COMMAND, NEO4J_HEADERS};
pub use self::render::Picture;

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
    "graph.graphml",
    "graph.json",
    "report.md",
];

/// The folder [`write_build`] writes beside [`CONTRACT_FILES`]: the Neo4j import files.
pub const NEO4J_DIR: &str = "neo4j";

/// An export format of `cellkg export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Graphviz DOT.
    Dot,
    /// SVG drawn by Graphviz.
    Svg,
    /// PNG drawn by Graphviz.
    Png,
    /// The CSV tables of the contract (a directory).
    Csv,
    /// CSV for `neo4j-admin database import` (a directory).
    Neo4j,
    /// GraphML (Gephi, Cytoscape, yEd, networkx).
    GraphMl,
    /// Node-link JSON (d3, networkx `node_link_graph`).
    Json,
    /// Turtle.
    Turtle,
    /// N-Triples.
    NTriples,
    /// N-Quads (the store file format).
    NQuads,
    /// JSON-LD (oxigraph's streaming serializer).
    JsonLd,
    /// RDF/XML.
    RdfXml,
}

impl ExportFormat {
    /// The accepted names, as listed in error messages and help.
    pub const NAMES: &'static str =
        "dot, csv, turtle, ntriples, nquads, svg, png, neo4j, graphml, json, jsonld, rdfxml";

    /// Every format, in the order of [`Self::NAMES`].
    pub const ALL: &'static [ExportFormat] = &[
        ExportFormat::Dot,
        ExportFormat::Csv,
        ExportFormat::Turtle,
        ExportFormat::NTriples,
        ExportFormat::NQuads,
        ExportFormat::Svg,
        ExportFormat::Png,
        ExportFormat::Neo4j,
        ExportFormat::GraphMl,
        ExportFormat::Json,
        ExportFormat::JsonLd,
        ExportFormat::RdfXml,
    ];

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Dot => "dot",
            ExportFormat::Svg => "svg",
            ExportFormat::Png => "png",
            ExportFormat::Csv => "csv",
            ExportFormat::Neo4j => "neo4j",
            ExportFormat::GraphMl => "graphml",
            ExportFormat::Json => "json",
            ExportFormat::Turtle => "turtle",
            ExportFormat::NTriples => "ntriples",
            ExportFormat::NQuads => "nquads",
            ExportFormat::JsonLd => "jsonld",
            ExportFormat::RdfXml => "rdfxml",
        }
    }

    /// The usual file name extension (`None` for CSV and Neo4j, which write a directory).
    pub fn extension(self) -> Option<&'static str> {
        match self {
            ExportFormat::Dot => Some("dot"),
            ExportFormat::Svg => Some("svg"),
            ExportFormat::Png => Some("png"),
            ExportFormat::Csv | ExportFormat::Neo4j => None,
            ExportFormat::GraphMl => Some("graphml"),
            ExportFormat::Json => Some("json"),
            ExportFormat::Turtle => Some("ttl"),
            ExportFormat::NTriples => Some("nt"),
            ExportFormat::NQuads => Some("nq"),
            ExportFormat::JsonLd => Some("jsonld"),
            ExportFormat::RdfXml => Some("rdf"),
        }
    }

    /// True for the formats that write a directory of files.
    pub fn is_directory(self) -> bool {
        matches!(self, ExportFormat::Csv | ExportFormat::Neo4j)
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
            "svg" => Ok(ExportFormat::Svg),
            "png" => Ok(ExportFormat::Png),
            "csv" => Ok(ExportFormat::Csv),
            "neo4j" => Ok(ExportFormat::Neo4j),
            "graphml" => Ok(ExportFormat::GraphMl),
            "json" | "node-link" => Ok(ExportFormat::Json),
            "turtle" | "ttl" => Ok(ExportFormat::Turtle),
            "ntriples" | "n-triples" | "nt" => Ok(ExportFormat::NTriples),
            "nquads" | "n-quads" | "nq" => Ok(ExportFormat::NQuads),
            "jsonld" | "json-ld" => Ok(ExportFormat::JsonLd),
            "rdfxml" | "rdf/xml" | "rdf" | "xml" => Ok(ExportFormat::RdfXml),
            _ => Err(Error::Other(format!(
                "unknown export format `{s}`; expected one of {}",
                Self::NAMES
            ))),
        }
    }
}

/// Where [`export`] writes.
pub enum ExportTarget<'a> {
    /// Standard output (not for CSV or Neo4j).
    Stdout,
    /// A file, or for CSV and Neo4j a directory (created if missing).
    Path(&'a Path),
    /// Any writer (not for CSV or Neo4j).
    Writer(&'a mut dyn Write),
}

/// Everything `cellkg export` can ask for beyond the format.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Which part of the graph.
    pub filter: GraphFilter,
    /// Label language of drawings.
    pub dot: DotOptions,
    /// Layout of drawings; a cut's focus entities are added to `highlight`.
    pub view: ViewOptions,
    /// CSV for Excel (byte-order mark, formula cells neutralised).
    pub excel: bool,
}

/// Writes one format of the whole graph to `target`.
pub fn export(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    target: ExportTarget<'_>,
) -> Result<()> {
    export_with(kg, store, format, target, &ExportOptions::default())
}

/// Writes one format of the graph, or of the cut `opts.filter` asks for, to `target`.
pub fn export_with(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    target: ExportTarget<'_>,
    opts: &ExportOptions,
) -> Result<()> {
    if opts.filter.is_empty() {
        return export_graph(kg, store, format, target, opts);
    }
    let sub = cut(kg, &opts.filter)?;
    let mut opts = opts.clone();
    if opts.view.title.is_none() && !sub.focus.is_empty() {
        opts.view.title = Some(focus_title(&sub, &opts.filter, opts.dot.lang));
    }
    for f in sub.focus {
        if !opts.view.highlight.contains(&f) {
            opts.view.highlight.push(f);
        }
    }
    let needs_store = matches!(format, ExportFormat::JsonLd | ExportFormat::RdfXml);
    let sub_store = if needs_store {
        crate::rdf::to_store(&sub.graph)?
    } else {
        Store::new().map_err(|e| Error::Other(format!("creating the rdf store: {e}")))?
    };
    export_graph(&sub.graph, &sub_store, format, target, &opts)
}

/// "BCMA 周边 2 层：12 个实体，15 条关系" / "around BCMA, depth 2: 12 entities, 15 relations".
fn focus_title(sub: &Subgraph, filter: &GraphFilter, lang: Lang) -> String {
    let names: Vec<&str> = sub
        .focus
        .iter()
        .filter_map(|id| sub.graph.entities.get(id))
        .map(|e| match lang {
            Lang::Zh => e.label_zh.as_deref().unwrap_or(&e.label),
            Lang::En => e.label_en.as_deref().unwrap_or(&e.label),
        })
        .collect();
    let (n, m) = (sub.graph.entities.len(), sub.graph.edges().len());
    match lang {
        Lang::Zh => format!(
            "{} 周边 {} 层：{n} 个实体，{m} 条关系",
            names.join("、"),
            filter.depth
        ),
        Lang::En => format!(
            "around {}, depth {}: {n} entities, {m} relations",
            names.join(", "),
            filter.depth
        ),
    }
}

fn export_graph(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    target: ExportTarget<'_>,
    opts: &ExportOptions,
) -> Result<()> {
    if format.is_directory() {
        return match target {
            ExportTarget::Path(dir) if format == ExportFormat::Csv => {
                let flavour = if opts.excel {
                    CsvFlavour::Excel
                } else {
                    CsvFlavour::Plain
                };
                write_csv_all_flavour(kg, dir, flavour)
            }
            ExportTarget::Path(dir) => write_neo4j(kg, dir),
            _ => Err(Error::Other(format!(
                "{format} export writes a directory of files; give one with -o DIR"
            ))),
        };
    }
    if let ExportFormat::Svg | ExportFormat::Png = format {
        let mut dot = Vec::new();
        write_dot_view(kg, &mut dot, &opts.dot, &opts.view)?;
        let picture = if format == ExportFormat::Svg {
            Picture::Svg
        } else {
            Picture::Png
        };
        let bytes = render::render(&dot, picture)?;
        return match target {
            ExportTarget::Path(path) => write_file(path, |w| w.write_all(&bytes)),
            ExportTarget::Stdout => {
                let stdout = io::stdout();
                let mut lock = stdout.lock();
                lock.write_all(&bytes)
                    .and_then(|_| lock.flush())
                    .map_err(|e| Error::io("<stdout>", e))
            }
            ExportTarget::Writer(w) => w.write_all(&bytes).map_err(|e| Error::io("<output>", e)),
        };
    }
    if let Some(l) = &opts.view.layout {
        if !dot::LAYOUTS.contains(&l.as_str()) {
            return Err(Error::Other(format!(
                "unknown layout `{l}`; expected one of {}",
                dot::LAYOUTS.join(", ")
            )));
        }
    }
    match target {
        ExportTarget::Path(path) => write_file(path, |w| write_format(kg, store, format, opts, w)),
        ExportTarget::Stdout => {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            write_format(kg, store, format, opts, &mut lock).map_err(|e| Error::io("<stdout>", e))
        }
        ExportTarget::Writer(w) => {
            write_format(kg, store, format, opts, w).map_err(|e| Error::io("<output>", e))
        }
    }
}

fn write_format(
    kg: &KnowledgeGraph,
    store: &Store,
    format: ExportFormat,
    opts: &ExportOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    match format {
        ExportFormat::Dot => dot::write_dot_io(kg, &mut w, &opts.dot, &opts.view)?,
        ExportFormat::GraphMl => write_graphml(kg, &mut w)?,
        ExportFormat::Json => write_json(kg, &mut w)?,
        ExportFormat::Turtle => sorted_ntriples(kg)
            .map_err(io::Error::other)?
            .write_turtle(&mut w)?,
        ExportFormat::NTriples | ExportFormat::NQuads => sorted_ntriples(kg)
            .map_err(io::Error::other)?
            .write_ntriples(&mut w)?,
        ExportFormat::JsonLd => write_graph_io(
            store,
            RdfFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
            &mut w,
        )?,
        ExportFormat::RdfXml => write_graph_io(store, RdfFormat::RdfXml, &mut w)?,
        ExportFormat::Csv | ExportFormat::Neo4j | ExportFormat::Svg | ExportFormat::Png => {
            return Err(io::Error::other(format!("{format} is not written here")));
        }
    }
    w.flush()
}

pub(crate) fn write_file(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let mut w = create_file(path)?;
    f(&mut w).map_err(|e| Error::io(path, e))?;
    finish_file(path, w)
}

/// A new export file: buffered in 1 MB chunks and written past the page cache where the file
/// system allows it ([`OutFile`]); some files are hundreds of MB.
pub(crate) fn create_file(path: &Path) -> Result<OutFile> {
    OutFile::create(path).map_err(|e| Error::io(path, e))
}

/// Writes the rest of a file of [`create_file`] and syncs it to disk.
pub(crate) fn finish_file(path: &Path, w: OutFile) -> Result<()> {
    w.finish().map_err(|e| Error::io(path, e))
}

/// Writes every flat file of the export contract into `dir` (created if missing): `graph.dot`,
/// the CSV tables, `graph.ttl`, `graph.nq`, `graph.graphml`, `graph.json` and `report.md`.
///
/// The RDF files (mapped, sorted and serialized a window of the graph at a time,
/// [`crate::rdf::write_rdf_files`]) are written on one worker while the others are written on
/// another.
pub fn write_all(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (rdf, rest) = rayon::join(
        || write_rdf_files(kg, dir),
        || -> Result<()> {
            // Each file is a job of its own: a chain of them on one worker was the last thing
            // running at the end of the exports while the other worker waited.
            let dot = || {
                write_file(&dir.join("graph.dot"), |w| {
                    dot::write_dot_io(kg, w, &DotOptions::default(), &ViewOptions::default())
                })
            };
            let csv = || write_csv_all(kg, dir);
            let graphml = || write_file(&dir.join("graph.graphml"), |w| write_graphml(kg, w));
            let json = || write_file(&dir.join("graph.json"), |w| write_json(kg, w));
            let report = || {
                let report = crate::analysis::report(kg);
                write_file(&dir.join("report.md"), |w| w.write_all(report.as_bytes()))
            };
            let jobs: [&(dyn Fn() -> Result<()> + Sync); 5] =
                [&dot, &csv, &graphml, &json, &report];
            run_all(&jobs, |job| job())
        },
    );
    rdf.and(rest)
}

/// Runs `job` on every item on the worker pool and returns the first error in the items'
/// order (the same whatever the thread count).
pub(crate) fn run_all<T: Sync>(
    items: &[T],
    job: impl Fn(&T) -> Result<()> + Sync + Send,
) -> Result<()> {
    use rayon::prelude::*;
    items
        .par_iter()
        .map(job)
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// `graph.nq` (sorted N-Quads, all in the default graph) and `graph.ttl` (the same order),
/// written together a window of the graph at a time ([`crate::rdf::write_rdf_files`]).
fn write_rdf_files(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    crate::rdf::write_rdf_files(kg, &dir.join("graph.nq"), &dir.join("graph.ttl"))
}

/// What `cellkg build` writes into its output directory: [`write_all`], then the Neo4j import
/// folder [`NEO4J_DIR`].
pub fn write_build(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    let (all, neo4j) = rayon::join(
        || write_all(kg, dir),
        || {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            write_neo4j(kg, &dir.join(NEO4J_DIR))
        },
    );
    all.and(neo4j)
}
