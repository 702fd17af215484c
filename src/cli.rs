//! The command line: clap types whose doc comments are the help, and one `run` per command.
//!
//! Data goes to stdout, diagnostics to stderr. Every command returns a library error that the
//! binary prints once as `cellkg: …` with a non-zero exit.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::export::{ExportFormat, ExportTarget};
use crate::model::KnowledgeGraph;
use crate::pipeline::{self, BuildOptions};
use crate::query::ResultFormat;

/// cellkg: a knowledge graph of cell therapies (CAR-T, stem cells) from articles.
///
/// Build the default graph with `cellkg build` (seeds/ → exports/), then query it with SPARQL,
/// look up an entity with `show`, or export it for Graphviz, pandas, Excel, Gephi or Neo4j.
#[derive(Debug, Parser)]
#[command(name = "cellkg", version, about, long_about)]
pub struct Cli {
    /// Directory of the saved graph and store (written by `build`, read by the other commands).
    #[arg(long, global = true, default_value = ".cellkg", value_name = "DIR")]
    pub store: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the graph from documents and write the store and every export.
    ///
    /// Reads .txt/.md/.html files (any common encoding) under PATH (default seeds/), writes
    /// graph.dot, nodes.csv, edges.csv, evidence.csv, mentions.csv, prices.csv, clinical.csv,
    /// conflicts.csv, graph.ttl, graph.nq, graph.graphml, graph.json, report.md and the Neo4j
    /// import folder neo4j/ into --out, atomically: the previous exports are replaced only when
    /// the build succeeds (other files there, such as views/, are kept). Memory grows with the
    /// graph, not the corpus.
    Build {
        /// Files or directories to read.
        #[arg(value_name = "PATH", default_values = ["seeds"])]
        paths: Vec<PathBuf>,
        /// Directory for the exports.
        #[arg(long, short, default_value = "exports", value_name = "DIR")]
        out: PathBuf,
        /// Directory of the ontology (schema.ttl, lexicon/, rules.toml).
        #[arg(long, default_value = "ontology", value_name = "DIR")]
        ontology: PathBuf,
        /// Treat ontology problems (see `cellkg check`) as errors.
        #[arg(long)]
        strict: bool,
        /// Worker threads for reading and extraction (default: one per core). The output is
        /// the same whatever the number.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Extract every document again instead of reusing the extractions of unchanged
        /// documents cached in the store by the previous build (the cache is rewritten).
        #[arg(long)]
        full: bool,
    },
    /// Run a SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) on the built graph.
    ///
    /// QUERY is query text, a file (e.g. queries/products_by_target.rq) or `-` for stdin.
    Query {
        #[arg(value_name = "QUERY")]
        query: String,
        /// table, csv, tsv, json, xml (SELECT/ASK); turtle, ntriples (CONSTRUCT/DESCRIBE).
        #[arg(long, short, default_value = "table")]
        format: String,
    },
    /// Export the graph, or a part of it, in one format.
    ///
    /// Pictures: dot, svg and png (svg and png run Graphviz `dot`; labels in --lang, colour and
    /// shape by class, a legend). Tables: csv (the contract files, --excel for Excel), neo4j (a
    /// folder for `neo4j-admin database import`). Graphs: graphml (Gephi, Cytoscape, yEd), json
    /// (node-link, for d3 and networkx). RDF: turtle, ntriples, nquads, jsonld, rdfxml. The
    /// filters cut the same subgraph out of every format, e.g.
    /// `cellkg export svg --focus BCMA --depth 2 -o bcma.svg`.
    Export {
        /// dot, svg, png, csv, neo4j, graphml, json, turtle, ntriples, nquads, jsonld, rdfxml.
        #[arg(value_name = "FORMAT")]
        format: String,
        /// Output file (a directory for csv and neo4j); stdout when absent.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: ExportArgs,
    },
    /// The shortest chain of relations between two entities, with the quote behind each step.
    ///
    /// FROM and TO are any label, alias or id. Relations are followed in either direction; each
    /// step shows its arrow, the relation, and the quote, document and offsets behind it. Exit
    /// status 2 when no chain links them.
    Path {
        #[arg(value_name = "FROM")]
        from: String,
        #[arg(value_name = "TO")]
        to: String,
    },
    /// Counts by class and relation, degree ranking, connected components, isolated entities.
    ///
    /// Nodes are entities and edges distinct relations, as in graph.graphml and graph.json.
    /// --format json prints every field: nodes, edges, assertions, documents, prices, clinical,
    /// conflicts, by_class, by_relation, degree, components, component_sizes, isolated.
    Stats {
        /// text or json.
        #[arg(long, short, default_value = "text")]
        format: String,
        /// How many entities of the degree ranking to print (text).
        #[arg(long, default_value_t = 15, value_name = "N")]
        top: usize,
    },
    /// Show one entity (by any label or alias): type, labels, relations and their quotes.
    Show {
        #[arg(value_name = "ENTITY")]
        entity: String,
    },
    /// Check the ontology and the built graph: ontology problems and conflicts between sources.
    Check {
        /// Directory of the ontology.
        #[arg(long, default_value = "ontology", value_name = "DIR")]
        ontology: PathBuf,
        /// Exit non-zero when there is any problem.
        #[arg(long)]
        strict: bool,
    },
    /// Serve the graph as a read-only SPARQL 1.1 Protocol endpoint at /sparql, with a query page
    /// at /.
    ///
    /// Loads the store once and answers GET ?query=, POST of a url-encoded form and POST of an
    /// application/sparql-query body; SELECT/ASK results as JSON, XML, CSV or TSV and
    /// CONSTRUCT/DESCRIBE results as Turtle, N-Triples, RDF/XML or JSON-LD, by the Accept header.
    /// SPARQL Update is refused (403). Listens on loopback unless --bind says otherwise; SIGINT
    /// or SIGTERM stops it after the requests in flight. Memory: the store, plus one result set
    /// per request in flight.
    Serve {
        /// Address to listen on: HOST:PORT, or a port alone for 127.0.0.1 (0.0.0.0:PORT opens it
        /// to the network).
        #[arg(long, default_value = crate::serve::DEFAULT_BIND, value_name = "ADDR")]
        bind: String,
        /// Time limit of one query, in seconds; a query over it is cancelled and answered 503.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
        /// Largest request body, in bytes; a larger one is answered 413.
        #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
        max_request_bytes: usize,
        /// Connections served at once (one thread each); more wait their turn.
        #[arg(long, default_value_t = 128, value_name = "N")]
        max_connections: usize,
        /// Directory of the canned queries (*.rq) offered on the page.
        #[arg(long, default_value = "queries", value_name = "DIR")]
        queries: PathBuf,
    },
    /// Score exports against a gold annotation (precision, recall, F1 by class and document).
    Eval {
        /// Gold annotation (JSON list of documents).
        #[arg(long, default_value = "tests/gold/seeds.json", value_name = "FILE")]
        gold: PathBuf,
        /// Exports directory to score.
        #[arg(long, default_value = "exports", value_name = "DIR")]
        exports: PathBuf,
        /// Write the markdown report to this file (e.g. EVALUATION.md).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
        /// Print missed and unmatched entities and relations.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Internal: removes the store and exports a build replaced (`.NAME.trash-*` only), in a
    /// process of its own that the build does not wait for.
    #[command(name = REMOVE_TRASH, hide = true)]
    RemoveTrash {
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
    },
}

/// The hidden subcommand a build starts to remove what it replaced.
pub const REMOVE_TRASH: &str = "remove-trash";

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::RemoveTrash { paths } => crate::atomic::remove_trash(&paths),
        Command::Build {
            paths,
            out,
            ontology,
            strict,
            threads,
            full,
        } => {
            let report = pipeline::build(&BuildOptions {
                inputs: paths,
                ontology,
                out: out.clone(),
                store: cli.store,
                strict,
                threads,
                incremental: !full,
                // The replaced store and exports are removed by a process of their own, which
                // the build does not wait for; if it cannot be started, they are removed now.
                remove_replaced_with: std::env::current_exe()
                    .ok()
                    .map(|exe| (exe, vec![REMOVE_TRASH.to_string()])),
            })?;
            for w in &report.warnings {
                eprintln!("cellkg: warning: {w}");
            }
            for (file, why) in &report.skipped {
                eprintln!("cellkg: skipped {file}: {why}");
            }
            if let Some(why) = &report.cache_unused {
                if report.extracted > 0 && !why.starts_with("no cache") {
                    eprintln!("cellkg: extracted every document again: {why}");
                }
            }
            eprintln!(
                "cellkg: built {} documents ({} extracted, {} unchanged from the cache) → {} entities, {} assertions, {} prices, {} clinical results, {} conflicts in {:.2}s; wrote {}",
                report.documents,
                report.extracted,
                report.reused,
                report.entities,
                report.assertions,
                report.prices,
                report.clinical,
                report.conflicts,
                report.seconds,
                out.display()
            );
            Ok(())
        }
        Command::Query { query, format } => {
            let format: ResultFormat = format.parse()?;
            let text = crate::query::load_query_text(&query)?;
            let store = pipeline::load_store(&cli.store)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match crate::query::run_query(&store, &text, format, &mut out) {
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    return Ok(())
                }
                r => r?,
            }
            match out.flush() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Error::io("<stdout>", e))
                }
                _ => Ok(()),
            }
        }
        Command::Export {
            format,
            output,
            args,
        } => {
            let format: ExportFormat = format.parse()?;
            let opts = args.options()?;
            let kg = pipeline::load_graph(&cli.store)?;
            let store = pipeline::load_store(&cli.store)?;
            let target = match &output {
                Some(p) => ExportTarget::Path(p),
                None => ExportTarget::Stdout,
            };
            crate::export::export_with(&kg, &store, format, target, &opts)
        }
        Command::Path { from, to } => {
            let kg = pipeline::load_graph(&cli.store)?;
            let steps = crate::analysis::shortest_path(&kg, &from, &to)?;
            emit(&crate::analysis::path_text(&kg, &steps))
        }
        Command::Stats { format, top } => {
            let kg = pipeline::load_graph(&cli.store)?;
            emit(&crate::analysis::stats_output(&kg, &format, top)?)
        }
        Command::Show { entity } => {
            let kg = pipeline::load_graph(&cli.store)?;
            emit(&show(&kg, &entity)?)
        }
        Command::Check { ontology, strict } => {
            let onto = crate::ontology::Ontology::load(&ontology)?;
            let mut problems = 0;
            let mut text = String::new();
            use std::fmt::Write as _;
            let _ = writeln!(
                text,
                "ontology {}: {} classes, {} properties, {} lexicon entities, {} issues",
                ontology.display(),
                onto.vocabulary.classes.len(),
                onto.vocabulary.properties.len(),
                onto.entities.len(),
                onto.issues.len()
            );
            for i in &onto.issues {
                let _ = writeln!(text, "  {}: {}", i.file, i.message);
                problems += 1;
            }
            if let Ok(kg) = pipeline::load_graph(&cli.store) {
                let _ = writeln!(
                    text,
                    "graph {}: {} conflicts between sources",
                    cli.store.display(),
                    kg.conflicts.len()
                );
                for c in &kg.conflicts {
                    let _ = writeln!(
                        text,
                        "  {} [{} {}]: {}",
                        c.id, c.subject, c.relation, c.description
                    );
                    for e in &c.evidence {
                        let _ = writeln!(
                            text,
                            "    {}:{}-{}: {}",
                            e.document,
                            e.start,
                            e.end,
                            one_line(&e.quote)
                        );
                    }
                }
            }
            emit(&text)?;
            if strict && problems > 0 {
                return Err(Error::Other(format!(
                    "{problems} problem(s) in the ontology"
                )));
            }
            Ok(())
        }
        Command::Serve {
            bind,
            timeout,
            max_request_bytes,
            max_connections,
            queries,
        } => {
            let timeout = crate::serve::timeout_from_secs(timeout)?;
            let store = pipeline::load_store(&cli.store)?;
            let options = crate::serve::ServeOptions {
                bind,
                timeout,
                max_request_bytes,
                max_connections,
                queries,
            };
            crate::serve::serve(store, options)
        }
        Command::Eval {
            gold,
            exports,
            write,
            verbose,
        } => {
            let report = crate::eval::evaluate(&exports, &gold)?;
            for w in &report.warnings {
                eprintln!("cellkg: warning: {w}");
            }
            let mut text = format!("{}\n", report.summary_line());
            if verbose {
                text.push_str(&report.details());
                text.push('\n');
            }
            emit(&text)?;
            if let Some(path) = write {
                std::fs::write(&path, report.to_markdown()).map_err(|e| Error::io(&path, e))?;
                eprintln!("cellkg: wrote {}", path.display());
            }
            Ok(())
        }
    }
}

/// Writes text to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("<stdout>", e)),
        _ => Ok(()),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of `cellkg show`.
pub fn show(kg: &KnowledgeGraph, name: &str) -> Result<String> {
    let e = kg.find_entity(name).ok_or_else(|| {
        Error::NotFound(format!(
            "no entity named {name:?}; try a label, an alias or an id like target/cd19"
        ))
    })?;
    let mut s = String::new();
    let label = |id: &str| {
        kg.entities
            .get(id)
            .map(|e| e.label.clone())
            .unwrap_or_else(|| id.to_string())
    };
    s.push_str(&format!("{} ({})\n", e.label, e.id));
    s.push_str(&format!(
        "  type: {}{}\n",
        e.class,
        e.subtype
            .as_ref()
            .map(|t| format!(" / {t}"))
            .unwrap_or_default()
    ));
    for (k, v) in [
        ("en", &e.label_en),
        ("zh-Hans", &e.label_zh),
        ("zh-Hant", &e.label_zh_hant),
    ] {
        if let Some(v) = v {
            s.push_str(&format!("  label@{k}: {v}\n"));
        }
    }
    if !e.aliases.is_empty() {
        s.push_str(&format!(
            "  aliases: {}\n",
            e.aliases.iter().cloned().collect::<Vec<_>>().join(" | ")
        ));
    }
    for x in &e.external_ids {
        s.push_str(&format!("  same as: {x}\n"));
    }
    s.push_str(&format!(
        "  mentioned {} times in: {}\n",
        e.mentions,
        e.documents.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    if e.discovered {
        s.push_str("  discovered: not in the lexicon\n");
    }
    let mut rel = String::new();
    for a in kg
        .assertions
        .iter()
        .filter(|a| a.subject == e.id || a.object == e.id)
    {
        let line = if a.subject == e.id {
            format!("  → {} {} ({})", a.relation, label(&a.object), a.object)
        } else {
            format!("  ← {} {} ({})", a.relation, label(&a.subject), a.subject)
        };
        rel.push_str(&format!(
            "{line}\n      “{}” — {}:{}-{} [{} {:.2}]\n",
            one_line(&a.evidence.quote),
            a.evidence.document,
            a.evidence.start,
            a.evidence.end,
            a.evidence.rule,
            a.evidence.confidence
        ));
    }
    if !rel.is_empty() {
        s.push_str("relations:\n");
        s.push_str(&rel);
    }
    for p in kg.prices.iter().filter(|p| p.subject == e.id) {
        let amount = match (&p.amount, &p.amount_min, &p.amount_max) {
            (Some(a), _, _) => crate::model::fmt_decimal(a),
            (None, Some(a), Some(b)) => format!(
                "{}–{}",
                crate::model::fmt_decimal(a),
                crate::model::fmt_decimal(b)
            ),
            _ => "?".into(),
        };
        s.push_str(&format!(
            "  price: {amount} {}{}{} — “{}” {}:{}-{}\n",
            p.currency,
            if p.unit.is_empty() {
                String::new()
            } else {
                format!(" per {}", p.unit)
            },
            if p.qualifier.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.qualifier)
            },
            one_line(&p.evidence.quote),
            p.evidence.document,
            p.evidence.start,
            p.evidence.end
        ));
    }
    for c in kg.clinical.iter().filter(|c| c.product == e.id) {
        let v = match (&c.value, &c.value_min, &c.value_max) {
            (Some(a), _, _) => format!("{}%", crate::model::fmt_decimal(a)),
            (None, Some(a), Some(b)) => format!(
                "{}–{}%",
                crate::model::fmt_decimal(a),
                crate::model::fmt_decimal(b)
            ),
            _ => "?".into(),
        };
        s.push_str(&format!(
            "  clinical: {} {v}{} — “{}” {}:{}-{}\n",
            c.metric,
            c.indication
                .as_deref()
                .map(|i| format!(" in {}", label(i)))
                .unwrap_or_default(),
            one_line(&c.evidence.quote),
            c.evidence.document,
            c.evidence.start,
            c.evidence.end
        ));
    }
    for c in kg.conflicts.iter().filter(|c| c.subject == e.id) {
        s.push_str(&format!("  conflict {}: {}\n", c.id, c.description));
    }
    Ok(s)
}

/// The filters and drawing options of `cellkg export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Keep only the neighbourhood of this entity (any label, alias or id); repeatable.
    #[arg(long, value_name = "ENTITY")]
    pub focus: Vec<String>,
    /// How many relations away from --focus to go.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub depth: usize,
    /// Keep only entities of these classes (Product, Target, InsuranceScheme…), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CLASS,...")]
    pub types: Vec<String>,
    /// Keep only these relations (name or label: targets, treats, 靶向…), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RELATION,...")]
    pub relations: Vec<String>,
    /// Keep only what these documents say (ids, or their first characters), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "DOC,...")]
    pub documents: Vec<String>,
    /// Drop facts whose confidence is below this (0 to 1).
    #[arg(long, value_name = "X")]
    pub min_confidence: Option<f64>,
    /// Label language of dot, svg and png: zh or en.
    #[arg(long, default_value = "zh", value_name = "LANG")]
    pub lang: String,
    /// dot/svg/png: group the entities of each class in a box.
    #[arg(long)]
    pub cluster: bool,
    /// dot/svg/png: leave out entities without any relation (the legend counts them).
    #[arg(long)]
    pub connected_only: bool,
    /// dot/svg/png: Graphviz layout engine (dot, neato, fdp, sfdp, circo, twopi, osage).
    #[arg(long, value_name = "ENGINE")]
    pub layout: Option<String>,
    /// dot/svg/png: a title above the picture (a --focus export gets one by default).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// csv: for Excel: UTF-8 with a byte-order mark, formula-like cells (= + - @) made text.
    #[arg(long)]
    pub excel: bool,
}

impl ExportArgs {
    /// The library's options for these flags.
    pub fn options(&self) -> Result<crate::export::ExportOptions> {
        if let Some(c) = self.min_confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(Error::Other(format!(
                    "--min-confidence {c}: expected a number from 0 to 1"
                )));
            }
        }
        Ok(crate::export::ExportOptions {
            filter: crate::export::GraphFilter {
                focus: self.focus.clone(),
                depth: self.depth,
                types: self.types.clone(),
                relations: self.relations.clone(),
                documents: self.documents.clone(),
                min_confidence: self.min_confidence,
            },
            dot: crate::export::DotOptions {
                lang: self.lang.parse()?,
            },
            view: crate::export::ViewOptions {
                cluster: self.cluster,
                connected_only: self.connected_only,
                highlight: Vec::new(),
                layout: self.layout.clone(),
                title: self.title.clone(),
            },
            excel: self.excel,
        })
    }
}
