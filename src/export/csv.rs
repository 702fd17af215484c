//! The CSV tables of the export contract: a [`KnowledgeGraph`] in, `nodes.csv`, `edges.csv`,
//! `evidence.csv`, `mentions.csv`, `prices.csv`, `clinical.csv` and `conflicts.csv` out.
//!
//! UTF-8, a header row, RFC 4180 quoting (the csv crate), rows in the graph's own sorted order,
//! multi-valued cells joined with `|`, decimals without trailing zeros, confidences with two
//! decimals, `\n` line ends. The same graph gives the same bytes. The Excel flavour adds a
//! byte-order mark and neutralises cells that a spreadsheet would run as formulas. This module
//! does not sort or filter the graph and does not replace the directory atomically: the caller
//! does that.

use std::io::{self, Write};
use std::path::Path;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{fmt_decimal, Evidence, KnowledgeGraph};

/// The header of each CSV file of the contract, by file name.
pub const CSV_HEADERS: &[(&str, &[&str])] = &[
    (
        "nodes.csv",
        &[
            "id",
            "type",
            "subtype",
            "label",
            "label_en",
            "label_zh",
            "aliases",
            "external_ids",
            "documents",
            "mentions",
            "discovered",
        ],
    ),
    (
        "edges.csv",
        &[
            "source",
            "target",
            "relation",
            "documents",
            "evidence_count",
            "confidence",
        ],
    ),
    (
        "evidence.csv",
        &[
            "source",
            "target",
            "relation",
            "document",
            "start",
            "end",
            "quote",
            "rule",
            "confidence",
        ],
    ),
    (
        "mentions.csv",
        &["entity", "document", "start", "end", "surface"],
    ),
    (
        "prices.csv",
        &[
            "subject",
            "amount",
            "amount_min",
            "amount_max",
            "currency",
            "unit",
            "qualifier",
            "document",
            "start",
            "end",
            "quote",
        ],
    ),
    (
        "clinical.csv",
        &[
            "product",
            "indication",
            "metric",
            "value",
            "value_min",
            "value_max",
            "document",
            "start",
            "end",
            "quote",
        ],
    ),
    (
        "conflicts.csv",
        &[
            "id",
            "subject",
            "relation",
            "values",
            "description",
            "documents",
        ],
    ),
];

fn header(file: &str) -> &'static [&'static str] {
    CSV_HEADERS
        .iter()
        .find(|(name, _)| *name == file)
        .map_or(&[], |(_, h)| *h)
}

fn join<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("|")
}

/// The cells of where a fact was read: document, start, end, quote.
pub(crate) fn evidence_cells(ev: &Evidence) -> [String; 4] {
    [
        ev.document.clone(),
        ev.start.to_string(),
        ev.end.to_string(),
        ev.quote.clone(),
    ]
}

/// An optional decimal as a cell (empty when absent).
pub(crate) fn opt_decimal(d: &Option<Decimal>) -> String {
    d.as_ref().map(fmt_decimal).unwrap_or_default()
}

/// A confidence with two decimals (`0.90`).
pub fn fmt_confidence(c: f64) -> String {
    format!("{c:.2}")
}

/// The rows of one contract file, header first.
pub fn rows(kg: &KnowledgeGraph, file: &str) -> Vec<Vec<String>> {
    row_iter(kg, file).collect()
}

/// The rows of one contract file, header first, made one at a time as they are written (the
/// largest tables are not held whole in memory).
fn row_iter<'a>(kg: &'a KnowledgeGraph, file: &str) -> impl Iterator<Item = Vec<String>> + 'a {
    let head: Vec<String> = header(file).iter().map(|s| s.to_string()).collect();
    let body: Box<dyn Iterator<Item = Vec<String>> + 'a> = match file {
        "nodes.csv" => Box::new(kg.entities.values().map(|e| {
            vec![
                e.id.clone(),
                e.class.clone(),
                e.subtype.clone().unwrap_or_default(),
                e.label.clone(),
                e.label_en.clone().unwrap_or_default(),
                e.label_zh.clone().unwrap_or_default(),
                join(&e.aliases),
                join(&e.external_ids),
                join(&e.documents),
                e.mentions.to_string(),
                e.discovered.to_string(),
            ]
        })),
        "edges.csv" => Box::new(kg.edges().into_iter().map(|e| {
            vec![
                e.source,
                e.target,
                e.relation,
                join(&e.documents),
                e.evidence_count.to_string(),
                fmt_confidence(e.confidence),
            ]
        })),
        "evidence.csv" => Box::new(kg.assertions.iter().map(|a| {
            let mut row = vec![a.subject.clone(), a.object.clone(), a.relation.clone()];
            row.extend(evidence_cells(&a.evidence));
            row.extend([
                a.evidence.rule.clone(),
                fmt_confidence(a.evidence.confidence),
            ]);
            row
        })),
        "mentions.csv" => Box::new(kg.mentions.iter().map(|m| {
            vec![
                m.entity.to_string(),
                m.document.to_string(),
                m.start.to_string(),
                m.end.to_string(),
                m.surface.to_string(),
            ]
        })),
        "prices.csv" => Box::new(kg.prices.iter().map(|p| {
            let mut row = vec![
                p.subject.clone(),
                opt_decimal(&p.amount),
                opt_decimal(&p.amount_min),
                opt_decimal(&p.amount_max),
                p.currency.clone(),
                p.unit.clone(),
                p.qualifier.clone(),
            ];
            row.extend(evidence_cells(&p.evidence));
            row
        })),
        "clinical.csv" => Box::new(kg.clinical.iter().map(|c| {
            let mut row = vec![
                c.product.clone(),
                c.indication.clone().unwrap_or_default(),
                c.metric.clone(),
                opt_decimal(&c.value),
                opt_decimal(&c.value_min),
                opt_decimal(&c.value_max),
            ];
            row.extend(evidence_cells(&c.evidence));
            row
        })),
        "conflicts.csv" => Box::new(kg.conflicts.iter().map(|c| {
            let docs: std::collections::BTreeSet<&String> =
                c.evidence.iter().map(|e| &e.document).collect();
            vec![
                c.id.clone(),
                c.subject.clone(),
                c.relation.clone(),
                join(&c.values),
                c.description.clone(),
                join(docs),
            ]
        })),
        _ => Box::new(std::iter::empty()),
    };
    std::iter::once(head).chain(body)
}

/// Which CSV dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvFlavour {
    /// The contract: UTF-8 without a byte-order mark, cells as they are.
    #[default]
    Plain,
    /// For Excel: a UTF-8 byte-order mark (so Excel reads Chinese as UTF-8) and every cell that
    /// starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not a plain number,
    /// prefixed with `'` so that Excel shows it as text instead of running it as a formula.
    Excel,
}

/// A cell made safe for a spreadsheet: see [`CsvFlavour::Excel`].
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes one contract file's rows as CSV to `w`.
pub fn write_csv(kg: &KnowledgeGraph, file: &str, w: impl Write) -> io::Result<()> {
    write_csv_flavour(kg, file, w, CsvFlavour::Plain)
}

/// Writes one contract file's rows as CSV of the given flavour to `w`.
pub fn write_csv_flavour(
    kg: &KnowledgeGraph,
    file: &str,
    w: impl Write,
    flavour: CsvFlavour,
) -> io::Result<()> {
    write_rows(row_iter(kg, file), w, flavour)
}

/// Writes rows (header first) as CSV of the given flavour: `\n` line ends, RFC 4180 quoting.
pub fn write_rows(
    rows: impl IntoIterator<Item = Vec<String>>,
    mut w: impl Write,
    flavour: CsvFlavour,
) -> io::Result<()> {
    if flavour == CsvFlavour::Excel {
        w.write_all(b"\xef\xbb\xbf")?;
    }
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(w);
    for row in rows {
        match flavour {
            CsvFlavour::Plain => writer.write_record(&row),
            CsvFlavour::Excel => {
                writer.write_record(row.iter().map(|c| neutralise(c).into_owned()))
            }
        }
        .map_err(io::Error::other)?;
    }
    writer.flush()
}

/// Writes one contract file into `dir`.
pub fn write_csv_file(kg: &KnowledgeGraph, file: &str, dir: &Path) -> Result<()> {
    write_csv_file_flavour(kg, file, dir, CsvFlavour::Plain)
}

fn write_csv_file_flavour(
    kg: &KnowledgeGraph,
    file: &str,
    dir: &Path,
    flavour: CsvFlavour,
) -> Result<()> {
    let path = dir.join(file);
    let mut w = super::create_file(&path)?;
    write_csv_flavour(kg, file, &mut w, flavour).map_err(|e| Error::io(&path, e))?;
    super::finish_file(&path, w)
}

/// Writes every CSV file of the contract into `dir` (created if missing).
pub fn write_csv_all(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    write_csv_all_flavour(kg, dir, CsvFlavour::Plain)
}

/// Writes every CSV file of the contract, in the given flavour, into `dir` (created if missing).
pub fn write_csv_all_flavour(kg: &KnowledgeGraph, dir: &Path, flavour: CsvFlavour) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    super::run_all(CSV_HEADERS, |(file, _)| {
        write_csv_file_flavour(kg, file, dir, flavour)
    })
}
