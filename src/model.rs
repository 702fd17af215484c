//! The plain data that flows between stages: the assembled knowledge graph and its parts.
//!
//! Everything here is immutable records with public fields, sorted where order reaches output.
//! Entity ids are the IRI path after `/id/` (`target/cd19`); documents are named by file stem.
//! Offsets are Unicode scalar (character) offsets into the *original* decoded text, end exclusive.
//! Nothing here knows about cell therapy: classes and relations are names from the ontology.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Namespace of the ontology (classes and properties).
pub const ONTOLOGY_NS: &str = "https://w3id.org/cellkg/ontology#";
/// Namespace of entities: `{ID_NS}{class}/{slug}`.
pub const ID_NS: &str = "https://w3id.org/cellkg/id/";
/// Namespace of documents: `{DOC_NS}{file-stem}`.
pub const DOC_NS: &str = "https://w3id.org/cellkg/doc/";

/// Where a fact comes from: a span of one document, the quote, the rule that fired.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Evidence {
    pub document: String,
    pub start: usize,
    pub end: usize,
    pub quote: String,
    pub rule: String,
    pub confidence: f64,
    /// The year the evidence states for the fact (an approval year), when it states one;
    /// Taiwan (民國) years are converted (112年 → 2023).
    #[serde(default)]
    pub year: Option<i32>,
}

/// A canonical entity of the graph (one per real-world thing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// `{class}/{slug}`, e.g. `product/kymriah`.
    pub id: String,
    /// Top class name from the ontology (`Product`, `Target`, …).
    pub class: String,
    /// Most specific class when it differs from the top class (`Brand`, `Hospital`, …).
    pub subtype: Option<String>,
    /// Display label: the label in the language of most mentions, else English, else any.
    pub label: String,
    pub label_en: Option<String>,
    pub label_zh: Option<String>,
    pub label_zh_hant: Option<String>,
    /// Every other known name: lexicon aliases and surfaces seen in documents.
    pub aliases: BTreeSet<String>,
    /// External identifiers as full IRIs (Wikidata, HGNC, MONDO…).
    pub external_ids: BTreeSet<String>,
    /// Document ids that mention the entity.
    pub documents: BTreeSet<String>,
    /// Number of mentions in all documents.
    pub mentions: usize,
    /// True when found by a discovery pattern and absent from the lexicon.
    pub discovered: bool,
}

/// One occurrence of an entity in a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mention {
    pub entity: CompactString,
    /// Shared by the mentions of a document.
    pub document: Arc<str>,
    pub start: usize,
    pub end: usize,
    /// `original_text[start..end]`.
    pub surface: CompactString,
    pub rule: CompactString,
}

/// One extracted fact `subject relation object` with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    pub subject: String,
    /// Property local name in the ontology (`targets`, `doesNotCover`…).
    pub relation: String,
    pub object: String,
    /// True for a negative assertion ("not covered"); `relation` is then the negative property.
    pub negated: bool,
    pub evidence: Evidence,
}

/// A price stated for a product, technology or policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub subject: String,
    /// Point amount in units of the currency (120万 → 1200000); `None` for a pure range.
    pub amount: Option<Decimal>,
    pub amount_min: Option<Decimal>,
    pub amount_max: Option<Decimal>,
    /// ISO 4217 code.
    pub currency: String,
    /// What the amount is for: `dose`, `course`, `session`, `year`, `claim`…; empty when unstated.
    pub unit: String,
    /// `list price`, `cost`, `cap`, `upper bound`, `lower bound`…; empty when plain.
    pub qualifier: String,
    pub evidence: Evidence,
}

/// A clinical result (response rate, survival…) for a product or technology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalResult {
    pub product: String,
    pub indication: Option<String>,
    /// `ORR`, `CR`, `sCR`, `MRD-negative`, `OS`…
    pub metric: String,
    /// Percent.
    pub value: Option<Decimal>,
    pub value_min: Option<Decimal>,
    pub value_max: Option<Decimal>,
    pub evidence: Evidence,
}

/// Two or more assertions that disagree on a functional fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Stable id within the graph (`conflict/{n}`).
    pub id: String,
    pub subject: String,
    pub relation: String,
    /// The values in disagreement (entity ids or literal values), sorted.
    pub values: Vec<String>,
    /// Human-readable explanation.
    pub description: String,
    /// Evidence of each side; an entry with document `ontology` stands for the lexicon.
    pub evidence: Vec<Evidence>,
}

/// A document of the corpus as it went through ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// File stem, used in IRIs and CSV.
    pub id: String,
    /// Path relative to the corpus root, `/`-separated.
    pub path: String,
    /// Detected encoding (`UTF-8`, `GB18030`, `Big5`, `UTF-16LE`…).
    pub encoding: String,
    /// Number of characters of the decoded text.
    pub chars: usize,
    /// Hex SHA-256 of the file bytes.
    pub sha256: String,
    /// First non-empty line, trimmed.
    pub title: String,
    /// Invalid byte sequences replaced while decoding.
    pub replaced: usize,
}

/// Labels and drawing hints of a class, from the ontology.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassInfo {
    pub name: String,
    pub parent: Option<String>,
    pub label_en: String,
    pub label_zh: String,
    pub color: Option<String>,
    pub shape: Option<String>,
}

/// Labels, domain and range of a property, from the ontology.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PropertyInfo {
    pub name: String,
    pub label_en: String,
    pub label_zh: String,
    pub domain: Vec<String>,
    pub range: Vec<String>,
    pub negation_of: Option<String>,
    pub functional: bool,
}

/// The vocabulary the graph was built with, carried along for exports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Vocabulary {
    pub classes: BTreeMap<String, ClassInfo>,
    pub properties: BTreeMap<String, PropertyInfo>,
}

impl Vocabulary {
    /// The top class of `class` (follows `parent` links).
    pub fn top_class<'a>(&'a self, class: &'a str) -> &'a str {
        let mut current = class;
        for _ in 0..16 {
            match self.classes.get(current).and_then(|c| c.parent.as_deref()) {
                Some(p) if p != "Entity" => current = p,
                _ => break,
            }
        }
        current
    }
}

/// What a build skipped or repaired, reported at the end and in `report.md`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BuildStats {
    pub files_read: usize,
    pub files_skipped: Vec<(String, String)>,
    pub bytes_read: u64,
    pub replaced_sequences: usize,
    pub relations_dropped: usize,
}

/// One distinct edge of the graph: all assertions of the same (source, relation, target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub relation: String,
    pub documents: BTreeSet<String>,
    pub evidence_count: usize,
    /// Highest confidence of its assertions.
    pub confidence: f64,
}

impl Edge {
    /// The edge of a group of assertions of the same (subject, relation, object), as
    /// [`KnowledgeGraph::edge_groups`] gives them.
    pub fn of(group: &[&Assertion]) -> Edge {
        let first = group[0];
        let mut e = Edge {
            source: first.subject.clone(),
            target: first.object.clone(),
            relation: first.relation.clone(),
            documents: BTreeSet::new(),
            evidence_count: 0,
            confidence: 0.0,
        };
        for a in group {
            e.documents.insert(a.evidence.document.clone());
            e.evidence_count += 1;
            if a.evidence.confidence > e.confidence {
                e.confidence = a.evidence.confidence;
            }
        }
        e
    }
}

/// `items` grouped by `key`, groups in key order, each in the order of `items`. The graph's
/// records are kept sorted (assertions by subject, relation, object; mentions by entity and
/// document), so the groups are runs found in one pass; a map sorts them when they are not.
pub fn group_by_key<'a, T, K: Ord>(
    items: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&'a T) -> K,
) -> Vec<Vec<&'a T>> {
    let items: Vec<&'a T> = items.into_iter().collect();
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..items.len() {
        match key(items[i - 1]).cmp(&key(items[i])) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Less => {
                groups.push(items[start..i].to_vec());
                start = i;
            }
            std::cmp::Ordering::Greater => {
                let mut map: BTreeMap<K, Vec<&'a T>> = BTreeMap::new();
                for item in items {
                    map.entry(key(item)).or_default().push(item);
                }
                return map.into_values().collect();
            }
        }
    }
    if !items.is_empty() {
        groups.push(items[start..].to_vec());
    }
    groups
}

/// The assembled knowledge graph: what every export is written from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KnowledgeGraph {
    pub vocabulary: Vocabulary,
    /// By id, sorted.
    pub entities: BTreeMap<String, Entity>,
    /// By document id, sorted.
    pub documents: BTreeMap<String, DocumentInfo>,
    /// Sorted by (entity, document, start, end).
    pub mentions: Vec<Mention>,
    /// Sorted by (subject, relation, object, document, start, end).
    pub assertions: Vec<Assertion>,
    /// Sorted by (subject, document, start).
    pub prices: Vec<Price>,
    /// Sorted by (product, document, start).
    pub clinical: Vec<ClinicalResult>,
    pub conflicts: Vec<Conflict>,
    pub stats: BuildStats,
}

impl KnowledgeGraph {
    /// Distinct edges, one per (source, relation, target), sorted; negative assertions included
    /// under their negative relation name.
    pub fn edges(&self) -> Vec<Edge> {
        self.edge_groups()
            .iter()
            .map(|group| Edge::of(group))
            .collect()
    }

    /// The assertions grouped by (subject, relation, object), groups in that order, each in
    /// the order of [`Self::assertions`] (see [`group_by_key`]).
    pub fn edge_groups(&self) -> Vec<Vec<&Assertion>> {
        group_by_key(&self.assertions, |a| {
            (a.subject.as_str(), a.relation.as_str(), a.object.as_str())
        })
    }

    /// Finds an entity by id, label or alias (case-insensitive on ASCII, exact otherwise).
    pub fn find_entity(&self, name: &str) -> Option<&Entity> {
        if let Some(e) = self.entities.get(name) {
            return Some(e);
        }
        let wanted = name.trim();
        let matches = |s: &str| s == wanted || s.eq_ignore_ascii_case(wanted);
        self.entities
            .values()
            .find(|e| matches(&e.label))
            .or_else(|| {
                self.entities.values().find(|e| {
                    [&e.label_en, &e.label_zh, &e.label_zh_hant]
                        .iter()
                        .any(|l| l.as_deref().is_some_and(matches))
                        || e.aliases.iter().any(|a| matches(a))
                })
            })
    }
}

/// Formats a decimal without trailing zeros (`1200000`, `72.9`).
pub fn fmt_decimal(d: &Decimal) -> String {
    d.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::group_by_key;

    fn groups(items: &[(&'static str, u32)]) -> Vec<Vec<(&'static str, u32)>> {
        group_by_key(items, |x| x.0)
            .into_iter()
            .map(|g| g.into_iter().copied().collect())
            .collect()
    }

    #[test]
    fn groups_come_in_key_order_whether_or_not_the_items_are_sorted() {
        assert!(groups(&[]).is_empty());
        assert_eq!(groups(&[("a", 1)]), vec![vec![("a", 1)]]);
        // Sorted: the runs, in order.
        assert_eq!(
            groups(&[("a", 1), ("a", 2), ("b", 3), ("c", 4), ("c", 5)]),
            vec![
                vec![("a", 1), ("a", 2)],
                vec![("b", 3)],
                vec![("c", 4), ("c", 5)]
            ]
        );
        // Unsorted, with a key coming back after others: gathered, each group in item order.
        assert_eq!(
            groups(&[("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)]),
            vec![
                vec![("a", 2), ("a", 5)],
                vec![("b", 1), ("b", 3)],
                vec![("c", 4)]
            ]
        );
        // Out of order only at the end.
        assert_eq!(
            groups(&[("a", 1), ("b", 2), ("b", 3), ("a", 4)]),
            vec![vec![("a", 1), ("a", 4)], vec![("b", 2), ("b", 3)]]
        );
    }
}
