//! Scores a build's CSV exports against a hand annotation (the gold file, e.g.
//! `tests/gold/seeds.json`): entity, relation, price and clinical-result precision and recall,
//! per document and in total (micro-averaged), plus the negation check (no `covers` edge where
//! the gold says `doesNotCover`).
//!
//! In: an exports directory written to the CSV contract (`nodes.csv`, `mentions.csv`,
//! `evidence.csv`, `prices.csv`, `clinical.csv`) and the gold JSON. Out: an [`EvalReport`] with
//! public figures for tests, a Markdown rendering that documents the scoring rules, a one-line
//! summary and the per-document lists of misses (`details`) that make the figures actionable.
//! It reads files and nothing else: it does not build, and it knows no product or trigger word;
//! the names it compares come from the exports and the gold.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// The entity classes that the gold annotates and that are scored.
pub const SCORED_CLASSES: [&str; 6] = [
    "Product",
    "Target",
    "Institution",
    "Disease",
    "Policy",
    "Technology",
];

/// The "core" relations whose precision and recall are reported as one figure.
pub const CORE_PREDICATES: [&str; 7] = [
    "targets",
    "treats",
    "developedBy",
    "approvedBy",
    "covers",
    "issuedBy",
    "studiedBy",
];

/// The negative relation, scored in its own row; a positive `covers` edge where the gold says
/// this is a negated fact asserted as positive.
pub const NEGATIVE_PREDICATE: &str = "doesNotCover";

/// Tolerance when comparing clinical values (percentage points or the stated unit).
pub const CLINICAL_TOLERANCE: f64 = 0.5;

/// Tolerance when comparing amounts of money (units of the currency).
pub const PRICE_TOLERANCE: f64 = 0.005;

/// Matched and total counts on both sides of a comparison.
///
/// Precision is `predicted_matched / predicted`, recall is `gold_matched / gold`; the two
/// numerators differ because one predicted item may match several gold items and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Score {
    pub predicted: usize,
    pub predicted_matched: usize,
    pub gold: usize,
    pub gold_matched: usize,
}

impl Score {
    /// Matched predicted / predicted; 1.0 when both sides are empty, 0.0 when only the
    /// prediction is.
    pub fn precision(&self) -> f64 {
        ratio(self.predicted_matched, self.predicted, self.gold == 0)
    }

    /// Matched gold / gold; 1.0 when both sides are empty, 0.0 when only the gold is.
    pub fn recall(&self) -> f64 {
        ratio(self.gold_matched, self.gold, self.predicted == 0)
    }

    /// Harmonic mean of precision and recall (0.0 when both are 0).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Adds the counts of `other` (micro-averaging).
    pub fn add(&mut self, other: &Score) {
        self.predicted += other.predicted;
        self.predicted_matched += other.predicted_matched;
        self.gold += other.gold;
        self.gold_matched += other.gold_matched;
    }
}

fn ratio(num: usize, den: usize, other_side_empty: bool) -> f64 {
    if den == 0 {
        if other_side_empty {
            1.0
        } else {
            0.0
        }
    } else {
        num as f64 / den as f64
    }
}

/// The minimum figures a build must reach on the development set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub entity_precision_untyped: f64,
    pub entity_recall_typed: f64,
    pub relation_precision: f64,
    pub relation_recall: f64,
    /// Negated facts asserted as positive that are tolerated (0).
    pub negated_as_positive: usize,
}

/// The thresholds of the issue: entity precision (untyped) ≥ 0.85, typed recall ≥ 0.75, core
/// relation precision ≥ 0.70 and recall ≥ 0.40, no negated fact asserted as positive.
pub const ISSUE_THRESHOLDS: Thresholds = Thresholds {
    entity_precision_untyped: 0.85,
    entity_recall_typed: 0.75,
    relation_precision: 0.70,
    relation_recall: 0.40,
    negated_as_positive: 0,
};

/// A gold entity, as shown in lists of misses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoldEntityRef {
    pub class: String,
    pub name: String,
}

/// A predicted entity, as shown in lists of misses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PredictedEntityRef {
    pub id: String,
    pub class: String,
    pub label: String,
}

/// A predicted entity that matches a gold entity by name but not by class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mistyped {
    pub predicted: PredictedEntityRef,
    pub gold: GoldEntityRef,
}

/// A positive `covers` edge whose ends match a gold `doesNotCover` relation of the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NegationViolation {
    pub document: String,
    pub source: String,
    pub source_label: String,
    pub target: String,
    pub target_label: String,
    /// The gold negative relation it contradicts, `subject doesNotCover object`.
    pub gold: String,
    /// The first quote of the predicted edge.
    pub quote: String,
}

/// The figures and the lists of misses of one document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentReport {
    /// File stem (gold `doc` without `.txt`).
    pub document: String,
    pub entities_untyped: Score,
    pub entities_typed: Score,
    /// Typed scores by gold class.
    pub classes: BTreeMap<String, Score>,
    /// Core predicates together.
    pub relations: Score,
    /// Every core predicate and `doesNotCover`, each alone.
    pub predicates: BTreeMap<String, Score>,
    pub negative: Score,
    pub prices: Score,
    pub clinical: Score,
    /// Gold clinical results without a number (qualitative), not scored.
    pub clinical_unscored: usize,
    /// Predicted entities of a class the gold does not annotate (Location…), by class; not
    /// counted against precision.
    pub unscored_entities: BTreeMap<String, Vec<PredictedEntityRef>>,
    pub negated_as_positive: Vec<NegationViolation>,
    pub missed_entities: Vec<GoldEntityRef>,
    pub unmatched_entities: Vec<PredictedEntityRef>,
    pub mistyped_entities: Vec<Mistyped>,
    /// `subject predicate object — "evidence"` of gold relations nobody predicted.
    pub missed_relations: Vec<String>,
    /// `subject predicate object — "quote"` of predicted edges that match no gold relation.
    pub unmatched_relations: Vec<String>,
    pub missed_prices: Vec<String>,
    pub unmatched_prices: Vec<String>,
    pub missed_clinical: Vec<String>,
    pub unmatched_clinical: Vec<String>,
}

/// The result of [`evaluate`]: totals (micro-averaged over documents) and one report per
/// gold document, in gold order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalReport {
    pub exports: PathBuf,
    pub gold: PathBuf,
    pub documents: Vec<DocumentReport>,
    pub entities_untyped: Score,
    pub entities_typed: Score,
    pub classes: BTreeMap<String, Score>,
    pub relations: Score,
    pub predicates: BTreeMap<String, Score>,
    pub negative: Score,
    pub prices: Score,
    pub clinical: Score,
    pub clinical_unscored: usize,
    /// Predicted entities of unscored classes, counted by class over all documents.
    pub unscored_entities: BTreeMap<String, usize>,
    pub negated_as_positive: Vec<NegationViolation>,
    /// Things that did not stop the evaluation but make it less complete (a missing CSV, a gold
    /// document absent from the exports).
    pub warnings: Vec<String>,
}

/// Evaluates the exports in `exports` against the gold annotation `gold`.
///
/// Fails when `nodes.csv` or the gold file cannot be read or parsed, or a CSV row is malformed;
/// a missing `mentions.csv`, `evidence.csv`, `prices.csv` or `clinical.csv` counts as empty and
/// is reported in [`EvalReport::warnings`].
pub fn evaluate(exports: &Path, gold: &Path) -> Result<EvalReport> {
    let norm = Normalizer::new()?;
    let gold_docs = read_gold(gold, &norm)?;
    let mut warnings = Vec::new();
    let predicted = Predicted::read(exports, &norm, &mut warnings)?;

    let mut report = EvalReport {
        exports: exports.to_path_buf(),
        gold: gold.to_path_buf(),
        ..EvalReport::default()
    };
    for doc in &gold_docs {
        if !predicted.documents.contains(&doc.id) {
            warnings.push(format!(
                "document {} of the gold has no node in {}",
                doc.id,
                exports.join("nodes.csv").display()
            ));
        }
        let d = score_document(doc, &predicted, &norm);
        report.entities_untyped.add(&d.entities_untyped);
        report.entities_typed.add(&d.entities_typed);
        for (c, s) in &d.classes {
            report.classes.entry(c.clone()).or_default().add(s);
        }
        report.relations.add(&d.relations);
        for (p, s) in &d.predicates {
            report.predicates.entry(p.clone()).or_default().add(s);
        }
        report.negative.add(&d.negative);
        report.prices.add(&d.prices);
        report.clinical.add(&d.clinical);
        report.clinical_unscored += d.clinical_unscored;
        for (c, v) in &d.unscored_entities {
            *report.unscored_entities.entry(c.clone()).or_default() += v.len();
        }
        report
            .negated_as_positive
            .extend(d.negated_as_positive.iter().cloned());
        report.documents.push(d);
    }
    report.warnings = warnings;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Normalization

/// Name normalization shared by both sides: NFKC, traditional → simplified, no whitespace,
/// ASCII lower case, surrounding quotes and title marks removed.
struct Normalizer {
    t2s: OpenCC,
}

const QUOTES: &[char] = &[
    '"', '\'', '“', '”', '‘', '’', '「', '」', '『', '』', '《', '》', '〈', '〉', '<', '>', '«',
    '»',
];

impl Normalizer {
    fn new() -> Result<Self> {
        let t2s = OpenCC::from_config(BuiltinConfig::T2s).map_err(|e| {
            Error::Other(format!(
                "eval: loading the traditional-to-simplified converter: {e}"
            ))
        })?;
        Ok(Normalizer { t2s })
    }

    /// The normalized form of a name (may be empty).
    fn name(&self, s: &str) -> String {
        let nfkc: String = s.nfkc().collect();
        let simplified = self.t2s.convert(&nfkc);
        let mut out: String = simplified.chars().filter(|c| !c.is_whitespace()).collect();
        out.make_ascii_lowercase();
        out.trim_matches(QUOTES).to_string()
    }

    /// Normalized forms of a gold name: itself and, when it ends in a parenthetical
    /// (`CAR-T (1st generation)`), the part before it.
    fn gold_variants(&self, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let full = self.name(s);
        if !full.is_empty() {
            out.push(full);
        }
        if let Some(stripped) = strip_parenthetical(s) {
            let n = self.name(&stripped);
            if !n.is_empty() && !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Normalized metric name: a name without its trailing parenthetical, hyphens and
    /// underscores removed (`ORR (within 3 months)` → `orr`, `MRD-negative` → `mrdnegative`).
    fn metric(&self, s: &str) -> String {
        let base = strip_parenthetical(s).unwrap_or_else(|| s.to_string());
        self.name(&base).replace(['-', '_'], "")
    }
}

/// The text before a trailing `(…)` / `（…）`, if there is one and it is not empty.
fn strip_parenthetical(s: &str) -> Option<String> {
    let nfkc: String = s.nfkc().collect();
    let t = nfkc.trim_end();
    if !t.ends_with(')') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in t.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let head = t[..i].trim_end();
                    return (!head.is_empty()).then(|| head.to_string());
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Gold

struct GoldEntity {
    class: String,
    name: String,
    names: HashSet<String>,
}

struct GoldRelation {
    subject: String,
    predicate: String,
    object: String,
    evidence: String,
}

struct GoldPrice {
    of: String,
    values: Vec<f64>,
    currency: String,
    evidence: String,
}

struct GoldClinical {
    product: String,
    metric: String,
    metric_norm: String,
    /// A point or the two ends of a range; empty when qualitative.
    values: Vec<f64>,
    evidence: String,
}

struct GoldDocument {
    id: String,
    entities: Vec<GoldEntity>,
    relations: Vec<GoldRelation>,
    prices: Vec<GoldPrice>,
    clinical: Vec<GoldClinical>,
}

fn read_gold(path: &Path, norm: &Normalizer) -> Result<Vec<GoldDocument>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::Syntax {
        path: path.to_path_buf(),
        line: e.line() as u64,
        column: e.column() as u64,
        message: format!("invalid gold JSON: {e}"),
    })?;
    let bad = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let docs = value
        .as_array()
        .ok_or_else(|| bad("the gold must be a JSON list of documents".into()))?;
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let doc = str_field(d, "doc");
        if doc.is_empty() {
            return Err(bad(format!("document #{i} has no \"doc\" name")));
        }
        let id = doc.strip_suffix(".txt").unwrap_or(doc).to_string();
        let mut entities = Vec::new();
        for e in list(d, "entities") {
            let class = str_field(e, "type").to_string();
            let name = str_field(e, "name").to_string();
            let mut names: HashSet<String> = norm.gold_variants(&name).into_iter().collect();
            for s in list(e, "surface") {
                if let Some(s) = s.as_str() {
                    names.extend(norm.gold_variants(s));
                }
            }
            if names.is_empty() {
                return Err(bad(format!(
                    "{doc}: entity #{} has neither a name nor a surface",
                    entities.len()
                )));
            }
            entities.push(GoldEntity { class, name, names });
        }
        let relations = list(d, "relations")
            .iter()
            .map(|r| GoldRelation {
                subject: scalar_text(r.get("subject")),
                predicate: str_field(r, "predicate").to_string(),
                object: scalar_text(r.get("object")),
                evidence: str_field(r, "evidence").to_string(),
            })
            .collect();
        let prices = list(d, "prices")
            .iter()
            .map(|p| {
                let mut values = numbers(p.get("amount"));
                values.extend(numbers(p.get("amount_min")));
                values.extend(numbers(p.get("amount_max")));
                GoldPrice {
                    of: str_field(p, "of").to_string(),
                    values,
                    currency: str_field(p, "currency").to_ascii_uppercase(),
                    evidence: str_field(p, "evidence").to_string(),
                }
            })
            .collect();
        let clinical = list(d, "clinical")
            .iter()
            .map(|c| {
                let mut values = numbers(c.get("value_percent"));
                if values.is_empty() {
                    values = numbers(c.get("value"));
                }
                let metric = str_field(c, "metric").to_string();
                GoldClinical {
                    product: str_field(c, "product").to_string(),
                    metric_norm: norm.metric(&metric),
                    metric,
                    values,
                    evidence: str_field(c, "evidence").to_string(),
                }
            })
            .collect();
        out.push(GoldDocument {
            id,
            entities,
            relations,
            prices,
            clinical,
        });
    }
    Ok(out)
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn scalar_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A number, or the numbers of a list (`[81, 83]`), or nothing.
fn numbers(v: Option<&Value>) -> Vec<f64> {
    match v {
        Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().into_iter().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_f64).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Predicted (the exports)

struct Node {
    class: String,
    label: String,
    /// Normalized label, label_en, label_zh and aliases.
    names: HashSet<String>,
    documents: BTreeSet<String>,
}

struct PredictedEdge {
    source: String,
    relation: String,
    target: String,
    quote: String,
}

struct PredictedPrice {
    subject: String,
    values: Vec<f64>,
    currency: String,
    quote: String,
}

struct PredictedClinical {
    product: String,
    metric: String,
    metric_norm: String,
    values: Vec<f64>,
    quote: String,
}

#[derive(Default)]
struct Predicted {
    nodes: BTreeMap<String, Node>,
    /// Normalized mention surfaces by (entity, document).
    surfaces: HashMap<(String, String), HashSet<String>>,
    /// Every document named by a node or a mention.
    documents: BTreeSet<String>,
    /// Edges by document, one per (source, relation, target), sorted.
    edges: BTreeMap<String, Vec<PredictedEdge>>,
    prices: BTreeMap<String, Vec<PredictedPrice>>,
    clinical: BTreeMap<String, Vec<PredictedClinical>>,
}

/// One CSV file read whole, with its header.
struct Table {
    path: PathBuf,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    /// Reads `dir/name`; `Ok(None)` when the file does not exist.
    fn read(dir: &Path, name: &str, required: &[&str]) -> Result<Option<Table>> {
        let path = dir.join(name);
        if !path.exists() {
            return Ok(None);
        }
        let csv_err = |e: csv::Error, path: &Path| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            match e.into_kind() {
                csv::ErrorKind::Io(io) => Error::io(path, io),
                kind => Error::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column: 1,
                    message: format!("invalid CSV: {kind:?}"),
                },
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&path)
            .map_err(|e| csv_err(e, &path))?;
        let header = reader.headers().map_err(|e| csv_err(e, &path))?.clone();
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim_start_matches('\u{feff}').to_string(), i))
            .collect();
        for col in required {
            if !columns.contains_key(*col) {
                return Err(Error::Config {
                    path: path.clone(),
                    message: format!(
                        "missing column `{col}` (header is `{}`)",
                        header.iter().collect::<Vec<_>>().join(",")
                    ),
                });
            }
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_err(e, &path))?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            rows.push((line, record));
        }
        Ok(Some(Table {
            path,
            columns,
            rows,
        }))
    }

    fn get<'r>(&self, row: &'r csv::StringRecord, col: &str) -> &'r str {
        self.columns
            .get(col)
            .and_then(|&i| row.get(i))
            .unwrap_or("")
    }

    /// The numbers in the given columns of a row; empty cells are skipped.
    fn numbers(&self, line: u64, row: &csv::StringRecord, cols: &[&str]) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for col in cols {
            let cell = self.get(row, col).trim();
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => out.push(v),
                _ => {
                    return Err(Error::Syntax {
                        path: self.path.clone(),
                        line,
                        column: self.columns.get(*col).map_or(1, |i| *i as u64 + 1),
                        message: format!("column `{col}`: `{cell}` is not a number"),
                    })
                }
            }
        }
        Ok(out)
    }
}

fn split_multi(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('|').map(str::trim).filter(|s| !s.is_empty())
}

impl Predicted {
    fn read(dir: &Path, norm: &Normalizer, warnings: &mut Vec<String>) -> Result<Predicted> {
        let mut p = Predicted::default();
        let nodes = Table::read(dir, "nodes.csv", &["id", "type", "label", "documents"])?
            .ok_or_else(|| {
                Error::io(
                    dir.join("nodes.csv"),
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such file (run `cellkg build` first)",
                    ),
                )
            })?;
        for (_, row) in &nodes.rows {
            let id = nodes.get(row, "id").to_string();
            let mut names = HashSet::new();
            for col in ["label", "label_en", "label_zh"] {
                names.insert(norm.name(nodes.get(row, col)));
            }
            for alias in split_multi(nodes.get(row, "aliases")) {
                names.insert(norm.name(alias));
            }
            names.remove("");
            let documents: BTreeSet<String> = split_multi(nodes.get(row, "documents"))
                .map(str::to_string)
                .collect();
            p.documents.extend(documents.iter().cloned());
            p.nodes.insert(
                id,
                Node {
                    class: nodes.get(row, "type").to_string(),
                    label: nodes.get(row, "label").to_string(),
                    names,
                    documents,
                },
            );
        }

        let missing = |name: &str, warnings: &mut Vec<String>| {
            warnings.push(format!(
                "{}: no such file, counted as empty",
                dir.join(name).display()
            ))
        };

        match Table::read(dir, "mentions.csv", &["entity", "document", "surface"])? {
            None => missing("mentions.csv", warnings),
            Some(t) => {
                for (_, row) in &t.rows {
                    let entity = t.get(row, "entity").to_string();
                    let document = t.get(row, "document").to_string();
                    p.documents.insert(document.clone());
                    let n = norm.name(t.get(row, "surface"));
                    if let Some(node) = p.nodes.get_mut(&entity) {
                        node.documents.insert(document.clone());
                    }
                    if !n.is_empty() {
                        p.surfaces.entry((entity, document)).or_default().insert(n);
                    }
                }
            }
        }

        match Table::read(
            dir,
            "evidence.csv",
            &["source", "target", "relation", "document"],
        )? {
            None => missing("evidence.csv", warnings),
            Some(t) => {
                let mut grouped: BTreeMap<(String, String, String, String), String> =
                    BTreeMap::new();
                for (_, row) in &t.rows {
                    let key = (
                        t.get(row, "document").to_string(),
                        t.get(row, "source").to_string(),
                        t.get(row, "relation").to_string(),
                        t.get(row, "target").to_string(),
                    );
                    grouped
                        .entry(key)
                        .or_insert_with(|| t.get(row, "quote").to_string());
                }
                for ((document, source, relation, target), quote) in grouped {
                    p.edges.entry(document).or_default().push(PredictedEdge {
                        source,
                        relation,
                        target,
                        quote,
                    });
                }
            }
        }

        match Table::read(dir, "prices.csv", &["subject", "currency", "document"])? {
            None => missing("prices.csv", warnings),
            Some(t) => {
                for (line, row) in &t.rows {
                    let values = t.numbers(*line, row, &["amount", "amount_min", "amount_max"])?;
                    p.prices
                        .entry(t.get(row, "document").to_string())
                        .or_default()
                        .push(PredictedPrice {
                            subject: t.get(row, "subject").to_string(),
                            values,
                            currency: t.get(row, "currency").trim().to_ascii_uppercase(),
                            quote: t.get(row, "quote").to_string(),
                        });
                }
            }
        }

        match Table::read(dir, "clinical.csv", &["product", "metric", "document"])? {
            None => missing("clinical.csv", warnings),
            Some(t) => {
                for (line, row) in &t.rows {
                    let values = t.numbers(*line, row, &["value", "value_min", "value_max"])?;
                    let metric = t.get(row, "metric").to_string();
                    p.clinical
                        .entry(t.get(row, "document").to_string())
                        .or_default()
                        .push(PredictedClinical {
                            product: t.get(row, "product").to_string(),
                            metric_norm: norm.metric(&metric),
                            metric,
                            values,
                            quote: t.get(row, "quote").to_string(),
                        });
                }
            }
        }
        Ok(p)
    }

    /// The names of an entity in a document: its labels and aliases plus the surfaces of its
    /// mentions there. An id absent from nodes.csv is known by its slug.
    fn names_in(&self, id: &str, document: &str, norm: &Normalizer) -> HashSet<String> {
        let mut names = match self.nodes.get(id) {
            Some(n) => n.names.clone(),
            None => {
                let slug = id.rsplit('/').next().unwrap_or(id);
                [norm.name(slug)].into_iter().collect()
            }
        };
        if let Some(s) = self.surfaces.get(&(id.to_string(), document.to_string())) {
            names.extend(s.iter().cloned());
        }
        names.remove("");
        names
    }

    fn label(&self, id: &str) -> String {
        self.nodes
            .get(id)
            .map_or_else(|| id.to_string(), |n| n.label.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring

fn intersects(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().any(|n| large.contains(n))
}

fn values_match(a: &[f64], b: &[f64], tolerance: f64) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| (x - y).abs() <= tolerance + f64::EPSILON))
}

/// How one end of a gold relation is matched: through the gold entities its string names,
/// else the normalized string itself.
enum GoldEnd<'a> {
    Entities(Vec<&'a GoldEntity>),
    Names(HashSet<String>),
}

impl GoldEnd<'_> {
    fn matches(&self, names: &HashSet<String>) -> bool {
        match self {
            GoldEnd::Entities(es) => es.iter().any(|g| intersects(&g.names, names)),
            GoldEnd::Names(n) => intersects(n, names),
        }
    }
}

fn resolve_end<'a>(doc: &'a GoldDocument, s: &str, norm: &Normalizer) -> GoldEnd<'a> {
    let variants: HashSet<String> = norm.gold_variants(s).into_iter().collect();
    let es: Vec<&GoldEntity> = doc
        .entities
        .iter()
        .filter(|g| intersects(&g.names, &variants))
        .collect();
    if es.is_empty() {
        GoldEnd::Names(variants)
    } else {
        GoldEnd::Entities(es)
    }
}

fn fmt_values(v: &[f64]) -> String {
    v.iter().map(|x| fmt_num(*x)).collect::<Vec<_>>().join("–")
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn score_document(doc: &GoldDocument, pred: &Predicted, norm: &Normalizer) -> DocumentReport {
    let mut r = DocumentReport {
        document: doc.id.clone(),
        ..DocumentReport::default()
    };

    // Entities.
    struct P<'a> {
        id: &'a str,
        node: &'a Node,
        names: HashSet<String>,
    }
    let mut scored: Vec<P> = Vec::new();
    for (id, node) in &pred.nodes {
        if !node.documents.contains(&doc.id) {
            continue;
        }
        let reference = PredictedEntityRef {
            id: id.clone(),
            class: node.class.clone(),
            label: node.label.clone(),
        };
        if SCORED_CLASSES.contains(&node.class.as_str()) {
            scored.push(P {
                id,
                node,
                names: pred.names_in(id, &doc.id, norm),
            });
        } else {
            r.unscored_entities
                .entry(if node.class.is_empty() {
                    "(none)".to_string()
                } else {
                    node.class.clone()
                })
                .or_default()
                .push(reference);
        }
    }
    for class in SCORED_CLASSES {
        r.classes.insert(class.to_string(), Score::default());
    }
    let mut gold_untyped = vec![false; doc.entities.len()];
    let mut gold_typed = vec![false; doc.entities.len()];
    for p in &scored {
        let mut untyped = false;
        let mut typed = false;
        let mut other_class: Option<&GoldEntity> = None;
        for (i, g) in doc.entities.iter().enumerate() {
            if intersects(&g.names, &p.names) {
                untyped = true;
                gold_untyped[i] = true;
                if g.class == p.node.class {
                    typed = true;
                    gold_typed[i] = true;
                } else if other_class.is_none() {
                    other_class = Some(g);
                }
            }
        }
        let class = r.classes.entry(p.node.class.clone()).or_default();
        class.predicted += 1;
        r.entities_untyped.predicted += 1;
        r.entities_typed.predicted += 1;
        if untyped {
            r.entities_untyped.predicted_matched += 1;
        }
        if typed {
            r.entities_typed.predicted_matched += 1;
            class.predicted_matched += 1;
        }
        let reference = PredictedEntityRef {
            id: p.id.to_string(),
            class: p.node.class.clone(),
            label: p.node.label.clone(),
        };
        if !untyped {
            r.unmatched_entities.push(reference);
        } else if let (false, Some(g)) = (typed, other_class) {
            r.mistyped_entities.push(Mistyped {
                predicted: reference,
                gold: GoldEntityRef {
                    class: g.class.clone(),
                    name: g.name.clone(),
                },
            });
        }
    }
    for (i, g) in doc.entities.iter().enumerate() {
        let class = r.classes.entry(g.class.clone()).or_default();
        class.gold += 1;
        r.entities_untyped.gold += 1;
        r.entities_typed.gold += 1;
        if gold_untyped[i] {
            r.entities_untyped.gold_matched += 1;
        }
        if gold_typed[i] {
            r.entities_typed.gold_matched += 1;
            class.gold_matched += 1;
        } else {
            r.missed_entities.push(GoldEntityRef {
                class: g.class.clone(),
                name: g.name.clone(),
            });
        }
    }

    // Relations.
    let is_scored = |p: &str| CORE_PREDICATES.contains(&p) || p == NEGATIVE_PREDICATE;
    for p in CORE_PREDICATES.iter().chain([NEGATIVE_PREDICATE].iter()) {
        r.predicates.insert(p.to_string(), Score::default());
    }
    let gold_rels: Vec<(&GoldRelation, GoldEnd, GoldEnd)> = doc
        .relations
        .iter()
        .filter(|g| is_scored(&g.predicate))
        .map(|g| {
            (
                g,
                resolve_end(doc, &g.subject, norm),
                resolve_end(doc, &g.object, norm),
            )
        })
        .collect();
    let negatives: Vec<&(&GoldRelation, GoldEnd, GoldEnd)> = gold_rels
        .iter()
        .filter(|(g, _, _)| g.predicate == NEGATIVE_PREDICATE)
        .collect();
    let mut gold_hit = vec![false; gold_rels.len()];
    let empty = Vec::new();
    for e in pred.edges.get(&doc.id).unwrap_or(&empty) {
        if !is_scored(&e.relation) {
            continue;
        }
        let s_names = pred.names_in(&e.source, &doc.id, norm);
        let o_names = pred.names_in(&e.target, &doc.id, norm);
        let mut hit = false;
        for (i, (g, s, o)) in gold_rels.iter().enumerate() {
            if g.predicate == e.relation && s.matches(&s_names) && o.matches(&o_names) {
                hit = true;
                gold_hit[i] = true;
            }
        }
        let row = r.predicates.entry(e.relation.clone()).or_default();
        row.predicted += 1;
        if hit {
            row.predicted_matched += 1;
        }
        let total = if e.relation == NEGATIVE_PREDICATE {
            &mut r.negative
        } else {
            &mut r.relations
        };
        total.predicted += 1;
        if hit {
            total.predicted_matched += 1;
        } else {
            r.unmatched_relations.push(format!(
                "{} {} {} — “{}”",
                pred.label(&e.source),
                e.relation,
                pred.label(&e.target),
                e.quote
            ));
        }
        if e.relation == "covers" {
            for (g, s, o) in &negatives {
                if s.matches(&s_names) && o.matches(&o_names) {
                    r.negated_as_positive.push(NegationViolation {
                        document: doc.id.clone(),
                        source: e.source.clone(),
                        source_label: pred.label(&e.source),
                        target: e.target.clone(),
                        target_label: pred.label(&e.target),
                        gold: format!("{} {} {}", g.subject, g.predicate, g.object),
                        quote: e.quote.clone(),
                    });
                    break;
                }
            }
        }
    }
    for (i, (g, _, _)) in gold_rels.iter().enumerate() {
        let row = r.predicates.entry(g.predicate.clone()).or_default();
        row.gold += 1;
        let total = if g.predicate == NEGATIVE_PREDICATE {
            &mut r.negative
        } else {
            &mut r.relations
        };
        total.gold += 1;
        if gold_hit[i] {
            row.gold_matched += 1;
            total.gold_matched += 1;
        } else {
            r.missed_relations.push(format!(
                "{} {} {} — “{}”",
                g.subject, g.predicate, g.object, g.evidence
            ));
        }
    }

    // Prices.
    let no_prices = Vec::new();
    let prices = pred.prices.get(&doc.id).unwrap_or(&no_prices);
    let price_match = |p: &PredictedPrice, g: &GoldPrice| {
        p.currency == g.currency && values_match(&p.values, &g.values, PRICE_TOLERANCE)
    };
    r.prices.predicted = prices.len();
    for p in prices {
        if doc.prices.iter().any(|g| price_match(p, g)) {
            r.prices.predicted_matched += 1;
        } else {
            r.unmatched_prices.push(format!(
                "{}: {} {} — “{}”",
                pred.label(&p.subject),
                fmt_values(&p.values),
                p.currency,
                p.quote
            ));
        }
    }
    r.prices.gold = doc.prices.len();
    for g in &doc.prices {
        if prices.iter().any(|p| price_match(p, g)) {
            r.prices.gold_matched += 1;
        } else {
            r.missed_prices.push(format!(
                "{}: {} {} — “{}”",
                g.of,
                fmt_values(&g.values),
                g.currency,
                g.evidence
            ));
        }
    }

    // Clinical results.
    let no_clinical = Vec::new();
    let clinical = pred.clinical.get(&doc.id).unwrap_or(&no_clinical);
    let gold_clinical: Vec<&GoldClinical> = doc
        .clinical
        .iter()
        .filter(|g| !g.values.is_empty())
        .collect();
    r.clinical_unscored = doc.clinical.len() - gold_clinical.len();
    let clinical_match = |p: &PredictedClinical, g: &GoldClinical| {
        !p.metric_norm.is_empty()
            && p.metric_norm == g.metric_norm
            && values_match(&p.values, &g.values, CLINICAL_TOLERANCE)
    };
    r.clinical.predicted = clinical.len();
    for p in clinical {
        if gold_clinical.iter().any(|g| clinical_match(p, g)) {
            r.clinical.predicted_matched += 1;
        } else {
            r.unmatched_clinical.push(format!(
                "{}: {} {} — “{}”",
                pred.label(&p.product),
                p.metric,
                fmt_values(&p.values),
                p.quote
            ));
        }
    }
    r.clinical.gold = gold_clinical.len();
    for g in &gold_clinical {
        if clinical.iter().any(|p| clinical_match(p, g)) {
            r.clinical.gold_matched += 1;
        } else {
            r.missed_clinical.push(format!(
                "{}: {} {} — “{}”",
                g.product,
                g.metric,
                fmt_values(&g.values),
                g.evidence
            ));
        }
    }

    r.missed_entities.sort();
    r.unmatched_entities.sort();
    r.mistyped_entities.sort();
    r
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn cell(x: f64, defined: bool) -> String {
    if defined {
        format!("{x:.3}")
    } else {
        "–".to_string()
    }
}

fn score_cells(s: &Score) -> String {
    format!(
        "{} | {} | {} | {} | {}",
        s.predicted,
        s.gold,
        cell(s.precision(), s.predicted > 0),
        cell(s.recall(), s.gold > 0),
        cell(s.f1(), s.predicted > 0 && s.gold > 0)
    )
}

/// One-line text for a quote or a list item: no line breaks or pipes that break Markdown.
fn inline(s: &str) -> String {
    s.replace(['\r', '\n', '\t'], " ").replace('|', "\\|")
}

const SCORING_RULES: &str = "\
- **Names** are compared after normalization: NFKC (full-width → half-width), traditional → \
simplified Chinese (OpenCC t2s), all whitespace removed, ASCII lower case, surrounding quotes and \
title marks (“”「」《》…) removed. A gold name or surface ending in a parenthetical \
(`CAR-T (1st generation)`) also counts without it.
- **Predicted entities of a document** are the nodes whose `documents` cell names it (or that have \
a mention in it). Their names are `label`, `label_en`, `label_zh`, `aliases` and the surfaces of \
their mentions in that document.
- **Scored classes** are those the gold annotates: Product, Target, Institution, Disease, Policy, \
Technology. Predicted Location nodes (and any other class) are reported separately and are not \
counted against precision.
- **Entity match**: a predicted and a gold entity match when any name of one equals any name or \
surface of the other. *Untyped* ignores the class; *typed* also requires the same class. \
Precision = matched predicted / predicted; recall = matched gold / gold; F1 their harmonic mean.
- **Relations**: predicted edges are the rows of `evidence.csv` grouped by (source, relation, \
target, document). An edge matches a gold relation of the same document with the same predicate \
when its source and target each match the gold subject and object. A gold subject or object is \
resolved to the gold entities it names (by name or surface); when it names none, its normalized \
string is compared with the predicted entity's names. *Core* relations are `targets`, `treats`, \
`developedBy`, `approvedBy`, `covers`, `issuedBy`, `studiedBy`; `doesNotCover` is scored alone in \
the *negative* row. Other predicates are not scored.
- **Negation check**: a predicted `covers` edge whose ends match a gold `doesNotCover` relation of \
the same document is a negated fact asserted as positive. There must be none.
- **Prices**: a gold price is recalled when a predicted price of the same document has the same \
currency and an `amount`, `amount_min` or `amount_max` equal to the gold amount (or its range \
ends). Precision counts predicted prices that match some gold price.
- **Clinical results**: the metrics must be equal ignoring case, spacing, hyphens and a trailing \
parenthetical, and a predicted value, minimum or maximum must be within 0.5 of the gold value or \
one of its range ends. Gold results without a number (qualitative) are not scored.
- **Totals** are micro-averaged: counts are summed over documents, then divided. An entity \
mentioned in two documents counts once in each.";

impl EvalReport {
    /// Whether the report meets `t`; the list of failed conditions, empty when it does.
    pub fn failures(&self, t: &Thresholds) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, value: f64, min: f64| {
            if value < min {
                out.push(format!("{name} {value:.3} < {min:.2}"));
            }
        };
        check(
            "entity precision (untyped)",
            self.entities_untyped.precision(),
            t.entity_precision_untyped,
        );
        check(
            "entity recall (typed)",
            self.entities_typed.recall(),
            t.entity_recall_typed,
        );
        check(
            "core relation precision",
            self.relations.precision(),
            t.relation_precision,
        );
        check(
            "core relation recall",
            self.relations.recall(),
            t.relation_recall,
        );
        if self.negated_as_positive.len() > t.negated_as_positive {
            out.push(format!(
                "{} negated facts asserted as positive: {}",
                self.negated_as_positive.len(),
                self.negated_as_positive
                    .iter()
                    .map(|v| format!(
                        "{} covers {} in {}",
                        v.source_label, v.target_label, v.document
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        out
    }

    /// One line for a terminal: the headline figures.
    pub fn summary_line(&self) -> String {
        format!(
            "entities P {:.3} (typed {:.3}) R {:.3} (typed {:.3}) · core relations P {:.3} R {:.3} F1 {:.3} · prices R {:.3} · clinical R {:.3} · negated as positive {} · {} documents",
            self.entities_untyped.precision(),
            self.entities_typed.precision(),
            self.entities_untyped.recall(),
            self.entities_typed.recall(),
            self.relations.precision(),
            self.relations.recall(),
            self.relations.f1(),
            self.prices.recall(),
            self.clinical.recall(),
            self.negated_as_positive.len(),
            self.documents.len()
        )
    }

    /// The whole report in Markdown: figures, the scoring rules, the per-class, per-predicate
    /// and per-document tables, and the per-document lists of misses as an appendix.
    /// Deterministic (no timestamps), so it can be committed.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Evaluation against the gold annotation\n");
        let _ = writeln!(
            s,
            "Exports `{}` scored against `{}` ({} documents).\n",
            self.exports.display(),
            self.gold.display(),
            self.documents.len()
        );
        let _ = writeln!(s, "{}\n", self.summary_line());
        if !self.warnings.is_empty() {
            let _ = writeln!(s, "Warnings:\n");
            for w in &self.warnings {
                let _ = writeln!(s, "- {}", inline(w));
            }
            s.push('\n');
        }

        let _ = writeln!(s, "## Summary\n");
        let _ = writeln!(s, "| measure | predicted | gold | P | R | F1 |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for (name, score) in [
            ("entities (untyped)", &self.entities_untyped),
            ("entities (typed)", &self.entities_typed),
            ("core relations", &self.relations),
            ("negative relations (doesNotCover)", &self.negative),
            ("prices", &self.prices),
            ("clinical results", &self.clinical),
        ] {
            let _ = writeln!(s, "| {name} | {} |", score_cells(score));
        }
        let _ = writeln!(
            s,
            "\nNegated facts asserted as positive: **{}**.",
            self.negated_as_positive.len()
        );
        let _ = writeln!(
            s,
            "Gold clinical results without a number (not scored): {}.\n",
            self.clinical_unscored
        );

        let _ = writeln!(s, "## How it is scored\n\n{SCORING_RULES}\n");

        let _ = writeln!(s, "## Entities by class (typed)\n");
        let _ = writeln!(s, "| class | predicted | gold | P | R | F1 |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for (class, score) in &self.classes {
            let _ = writeln!(s, "| {class} | {} |", score_cells(score));
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Not scored (classes the gold does not annotate): {}.\n",
            if self.unscored_entities.is_empty() {
                "none".to_string()
            } else {
                self.unscored_entities
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );

        let _ = writeln!(s, "## Relations by predicate\n");
        let _ = writeln!(s, "| predicate | predicted | gold | P | R | F1 |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for p in CORE_PREDICATES.iter().chain([NEGATIVE_PREDICATE].iter()) {
            let score = self.predicates.get(*p).copied().unwrap_or_default();
            let name = if *p == NEGATIVE_PREDICATE {
                format!("{p} (negative)")
            } else {
                p.to_string()
            };
            let _ = writeln!(s, "| {name} | {} |", score_cells(&score));
        }
        let _ = writeln!(s);

        let _ = writeln!(s, "## By document\n");
        let _ = writeln!(
            s,
            "| document | entities gold | predicted | P (untyped) | R (typed) | relations gold | predicted | P | R | prices R | clinical R | negated as positive |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for d in &self.documents {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                d.document,
                d.entities_untyped.gold,
                d.entities_untyped.predicted,
                cell(
                    d.entities_untyped.precision(),
                    d.entities_untyped.predicted > 0
                ),
                cell(d.entities_typed.recall(), d.entities_typed.gold > 0),
                d.relations.gold,
                d.relations.predicted,
                cell(d.relations.precision(), d.relations.predicted > 0),
                cell(d.relations.recall(), d.relations.gold > 0),
                cell(d.prices.recall(), d.prices.gold > 0),
                cell(d.clinical.recall(), d.clinical.gold > 0),
                d.negated_as_positive.len()
            );
        }
        let _ = writeln!(s);

        let _ = writeln!(s, "## Negated facts asserted as positive\n");
        if self.negated_as_positive.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            for v in &self.negated_as_positive {
                let _ = writeln!(
                    s,
                    "- {}: {} (`{}`) covers {} (`{}`), but the gold says “{}” — “{}”",
                    v.document,
                    inline(&v.source_label),
                    v.source,
                    inline(&v.target_label),
                    v.target,
                    inline(&v.gold),
                    inline(&v.quote)
                );
            }
            s.push('\n');
        }

        let _ = writeln!(s, "## Appendix: misses by document\n");
        s.push_str(&self.details());
        s
    }

    /// The per-document lists of misses (missed gold entities, unmatched predicted entities,
    /// wrong classes, relations, prices, clinical results), in Markdown: what a `--verbose`
    /// run prints.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for d in &self.documents {
            let _ = writeln!(s, "### {}\n", d.document);
            section(
                &mut s,
                "Missed gold entities",
                d.missed_entities
                    .iter()
                    .map(|g| format!("{} — {}", g.class, g.name)),
            );
            section(
                &mut s,
                "Unmatched predicted entities",
                d.unmatched_entities
                    .iter()
                    .map(|p| format!("{} — {} (`{}`)", p.class, p.label, p.id)),
            );
            section(
                &mut s,
                "Predicted with another class than the gold",
                d.mistyped_entities.iter().map(|m| {
                    format!(
                        "{} (`{}`) is {}, gold {} is {}",
                        m.predicted.label,
                        m.predicted.id,
                        m.predicted.class,
                        m.gold.name,
                        m.gold.class
                    )
                }),
            );
            section(
                &mut s,
                "Not scored (Location and other classes)",
                d.unscored_entities.iter().flat_map(|(c, v)| {
                    v.iter()
                        .map(move |p| format!("{c} — {} (`{}`)", p.label, p.id))
                }),
            );
            section(
                &mut s,
                "Missed gold relations",
                d.missed_relations.iter().cloned(),
            );
            section(
                &mut s,
                "Unmatched predicted relations",
                d.unmatched_relations.iter().cloned(),
            );
            section(
                &mut s,
                "Missed gold prices",
                d.missed_prices.iter().cloned(),
            );
            section(
                &mut s,
                "Unmatched predicted prices",
                d.unmatched_prices.iter().cloned(),
            );
            section(
                &mut s,
                "Missed gold clinical results",
                d.missed_clinical.iter().cloned(),
            );
            section(
                &mut s,
                "Unmatched predicted clinical results",
                d.unmatched_clinical.iter().cloned(),
            );
        }
        s
    }
}

fn section(s: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        let _ = writeln!(s, "{title}: none.\n");
        return;
    }
    let _ = writeln!(s, "{title} ({}):\n", items.len());
    for item in items {
        let _ = writeln!(s, "- {}", inline(&item));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parenthetical_is_stripped() {
        assert_eq!(
            strip_parenthetical("CAR-T (1st generation)").as_deref(),
            Some("CAR-T")
        );
        assert_eq!(
            strip_parenthetical("奕凯达（药明巨诺）").as_deref(),
            Some("奕凯达")
        );
        assert_eq!(strip_parenthetical("(only)"), None);
        assert_eq!(strip_parenthetical("plain"), None);
    }

    #[test]
    fn names_normalize_across_scripts_width_space_and_quotes() {
        let n = Normalizer::new().unwrap();
        assert_eq!(n.name("臍帶間充質干細胞"), n.name("脐带间充质干细胞"));
        assert_eq!(n.name("ＣＡＲ－Ｔ 细胞 疗法"), "car-t细胞疗法");
        assert_eq!(n.name("《人民日报》"), "人民日报");
        assert_eq!(n.name("“现货型”"), "现货型");
        assert_eq!(n.metric("ORR (within 3 months)"), "orr");
        assert_eq!(n.metric("MRD negative"), n.metric("mrd-negative"));
    }

    #[test]
    fn score_ratios_handle_empty_sides() {
        let empty = Score::default();
        assert_eq!(empty.precision(), 1.0);
        assert_eq!(empty.recall(), 1.0);
        let none_predicted = Score {
            gold: 3,
            ..Score::default()
        };
        assert_eq!(none_predicted.precision(), 0.0);
        assert_eq!(none_predicted.recall(), 0.0);
        assert_eq!(none_predicted.f1(), 0.0);
    }
}
