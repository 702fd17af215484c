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
    /// conflicts.csv, graph.ttl and graph.nq into --out, atomically: the previous exports are
    /// replaced only when the build succeeds. Memory grows with the graph, not the corpus.
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
    /// Export the graph in one format.
    Export {
        /// dot, csv (a directory), turtle, ntriples, nquads.
        #[arg(value_name = "FORMAT")]
        format: String,
        /// Output file (directory for csv); stdout when absent.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
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
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build {
            paths,
            out,
            ontology,
            strict,
        } => {
            let report = pipeline::build(&BuildOptions {
                inputs: paths,
                ontology,
                out: out.clone(),
                store: cli.store,
                strict,
            })?;
            for w in &report.warnings {
                eprintln!("cellkg: warning: {w}");
            }
            for (file, why) in &report.skipped {
                eprintln!("cellkg: skipped {file}: {why}");
            }
            eprintln!(
                "cellkg: built {} documents → {} entities, {} assertions, {} prices, {} clinical results, {} conflicts in {:.2}s; wrote {}",
                report.documents,
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
        Command::Export { format, output } => {
            let format: ExportFormat = format.parse()?;
            let kg = pipeline::load_graph(&cli.store)?;
            let store = pipeline::load_store(&cli.store)?;
            match output {
                Some(p) => crate::export::export(&kg, &store, format, ExportTarget::Path(&p)),
                None => crate::export::export(&kg, &store, format, ExportTarget::Stdout),
            }
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
