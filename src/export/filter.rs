//! Subgraphs: a [`KnowledgeGraph`] and a [`GraphFilter`] in, a smaller `KnowledgeGraph` out, so
//! that every writer (DOT, CSV, GraphML, JSON, RDF) can export a cut with no code of its own.
//!
//! The filters, in the order they apply: `types` keeps entities of those classes (top class,
//! class or subtype, any case); `documents` keeps entities mentioned in, and facts quoted from,
//! those documents (an id or the start of one); `relations` keeps facts of those properties (name
//! or label); `min_confidence` drops weaker facts; a fact is kept only when both its ends are.
//! Then `focus` keeps the entities within `depth` relations of the named ones (either direction).
//! Mentions, prices, clinical results and conflicts follow their entity. The order of everything
//! is the graph's own, so a cut is as deterministic as the whole. This module writes nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::error::{Error, Result};
use crate::model::KnowledgeGraph;

/// Which part of the graph to export. The default keeps everything.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphFilter {
    /// Entities (any label, alias or id) whose neighbourhood to keep; empty keeps all.
    pub focus: Vec<String>,
    /// How many relations away from a focus entity to go (default 1).
    pub depth: usize,
    /// Class names (`Product`, `target`, `InsuranceScheme`); empty keeps all.
    pub types: Vec<String>,
    /// Relation names or labels (`targets`, `靶向`); empty keeps all.
    pub relations: Vec<String>,
    /// Document ids or their first characters (`001`); empty keeps all.
    pub documents: Vec<String>,
    /// Facts below this confidence are dropped.
    pub min_confidence: Option<f64>,
}

impl Default for GraphFilter {
    fn default() -> Self {
        GraphFilter {
            focus: Vec::new(),
            depth: 1,
            types: Vec::new(),
            relations: Vec::new(),
            documents: Vec::new(),
            min_confidence: None,
        }
    }
}

impl GraphFilter {
    /// True when the filter keeps the whole graph.
    pub fn is_empty(&self) -> bool {
        self.focus.is_empty()
            && self.types.is_empty()
            && self.relations.is_empty()
            && self.documents.is_empty()
            && self.min_confidence.is_none()
    }
}

/// A cut of the graph and the ids of the focus entities it was cut around.
#[derive(Debug, Clone)]
pub struct Subgraph {
    pub graph: KnowledgeGraph,
    /// Entity ids of `focus`, in the order given.
    pub focus: Vec<String>,
}

fn eq_any_case(a: &str, b: &str) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

/// Cuts `kg` down to what `filter` keeps. Errors name an unknown focus entity, class, relation
/// or document, so that a typo does not give an empty picture.
pub fn cut(kg: &KnowledgeGraph, filter: &GraphFilter) -> Result<Subgraph> {
    let vocab = &kg.vocabulary;

    // Resolve every name first: a typo is an error, not an empty graph.
    let mut focus = Vec::new();
    for name in &filter.focus {
        let e = kg.find_entity(name).ok_or_else(|| {
            Error::NotFound(format!(
                "--focus: no entity named {name:?}; try a label, an alias or an id like target/cd19"
            ))
        })?;
        if !focus.contains(&e.id) {
            focus.push(e.id.clone());
        }
    }
    for t in &filter.types {
        if !vocab.classes.keys().any(|c| eq_any_case(c, t)) {
            return Err(Error::NotFound(format!(
                "--types: no class named {t:?}; classes are {}",
                vocab.classes.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut relations = BTreeSet::new();
    for r in &filter.relations {
        let found: Vec<&String> = vocab
            .properties
            .values()
            .filter(|p| eq_any_case(&p.name, r) || eq_any_case(&p.label_en, r) || p.label_zh == *r)
            .map(|p| &p.name)
            .collect();
        if found.is_empty() && !kg.assertions.iter().any(|a| a.relation == *r) {
            return Err(Error::NotFound(format!(
                "--relations: no relation named {r:?}; see the relation column of edges.csv"
            )));
        }
        relations.insert(r.clone());
        relations.extend(found.into_iter().cloned());
    }
    let mut documents = BTreeSet::new();
    for d in &filter.documents {
        let found: Vec<&String> = kg.documents.keys().filter(|id| id.starts_with(d)).collect();
        if found.is_empty() {
            return Err(Error::NotFound(format!(
                "--documents: no document id starts with {d:?}; documents are {}",
                kg.documents.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        documents.extend(found.into_iter().cloned());
    }

    let type_ok = |id: &str| -> bool {
        let Some(e) = kg.entities.get(id) else {
            return false;
        };
        filter.types.is_empty()
            || filter.types.iter().any(|t| {
                eq_any_case(&e.class, t)
                    || eq_any_case(vocab.top_class(&e.class), t)
                    || e.subtype.as_deref().is_some_and(|s| eq_any_case(s, t))
            })
    };
    let doc_ok = |d: &str| documents.is_empty() || documents.contains(d);

    let mut keep: BTreeSet<&str> = kg
        .entities
        .values()
        .filter(|e| {
            focus.contains(&e.id)
                || (type_ok(&e.id)
                    && (documents.is_empty() || e.documents.iter().any(|d| doc_ok(d))))
        })
        .map(|e| e.id.as_str())
        .collect();
    let fact_ok = |a: &crate::model::Assertion, keep: &BTreeSet<&str>| {
        keep.contains(a.subject.as_str())
            && keep.contains(a.object.as_str())
            && (relations.is_empty() || relations.contains(&a.relation))
            && doc_ok(&a.evidence.document)
            && filter
                .min_confidence
                .is_none_or(|m| a.evidence.confidence >= m)
    };

    if !focus.is_empty() {
        let mut neighbours: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for a in kg.assertions.iter().filter(|a| fact_ok(a, &keep)) {
            neighbours.entry(&a.subject).or_default().insert(&a.object);
            neighbours.entry(&a.object).or_default().insert(&a.subject);
        }
        let mut reached: BTreeSet<&str> = focus.iter().map(String::as_str).collect();
        let mut queue: VecDeque<(&str, usize)> = focus.iter().map(|f| (f.as_str(), 0)).collect();
        while let Some((id, d)) = queue.pop_front() {
            if d >= filter.depth {
                continue;
            }
            for &n in neighbours.get(id).into_iter().flatten() {
                if reached.insert(n) {
                    queue.push_back((n, d + 1));
                }
            }
        }
        keep = reached;
    }

    let mut g = KnowledgeGraph {
        vocabulary: kg.vocabulary.clone(),
        stats: kg.stats.clone(),
        ..KnowledgeGraph::default()
    };
    g.entities = kg
        .entities
        .iter()
        .filter(|(id, _)| keep.contains(id.as_str()))
        .map(|(id, e)| (id.clone(), e.clone()))
        .collect();
    g.assertions = kg
        .assertions
        .iter()
        .filter(|a| fact_ok(a, &keep))
        .cloned()
        .collect();
    g.mentions = kg
        .mentions
        .iter()
        .filter(|m| keep.contains(m.entity.as_str()) && doc_ok(&m.document))
        .cloned()
        .collect();
    g.prices = kg
        .prices
        .iter()
        .filter(|p| keep.contains(p.subject.as_str()) && doc_ok(&p.evidence.document))
        .cloned()
        .collect();
    g.clinical = kg
        .clinical
        .iter()
        .filter(|c| keep.contains(c.product.as_str()) && doc_ok(&c.evidence.document))
        .cloned()
        .collect();
    g.conflicts = kg
        .conflicts
        .iter()
        .filter(|c| keep.contains(c.subject.as_str()))
        .cloned()
        .collect();
    g.documents = kg
        .documents
        .iter()
        .filter(|(id, _)| doc_ok(id))
        .map(|(id, d)| (id.clone(), d.clone()))
        .collect();
    Ok(Subgraph { graph: g, focus })
}
