//! Merges what the documents say into canonical entities, and finds where sources disagree.
//!
//! In: one [`Extraction`] per document and the ontology. Out: a [`KnowledgeGraph`] with one
//! entity per real-world thing — lexicon entities keep their ids; discovered names merge with a
//! lexicon entity whose normalised label or alias is the same (within the top class), else with
//! each other by normalised name, and get the id `{class}/{slug}` — and the [`Conflict`]s between
//! sources, or between a source and the lexicon's background facts, on the property groups of
//! `rules.toml` (`[[conflict]]`) and on prices for the same thing, currency and unit.
//! Every assertion is kept; conflicts are reported, never resolved by overwriting.

use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::extract::{mostly_han, EntityKey, Extraction, Extractor};
use crate::model::{
    Assertion, BuildStats, ClinicalResult, Conflict, Entity, Evidence, KnowledgeGraph, Mention,
    Price,
};
use crate::normalize::is_cjk;

/// A slug for an IRI path segment: lower-case ASCII letters and digits, Han kept, others `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() && !c.is_ascii() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let s = out.trim_matches('-').to_string();
    if s.is_empty() {
        "x".into()
    } else {
        s
    }
}

/// A surface with line breaks and spaces next to CJK removed (for aliases).
pub fn clean_surface(s: &str) -> String {
    if !s.chars().any(char::is_whitespace) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let prev = out.chars().next_back();
            let next = chars.get(j).copied();
            if let (Some(p), Some(n)) = (prev, next) {
                if !is_cjk(p) && !is_cjk(n) {
                    out.push(' ');
                }
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// What one document adds, before the corpus is put together (see [`resolve`]).
#[derive(Default)]
struct DocumentPart {
    assertions: Vec<Assertion>,
    prices: Vec<Price>,
    clinical: Vec<ClinicalResult>,
}

/// The entity keys of one document in the order [`resolve`] first meets them (mentions,
/// then assertions' subjects and objects, prices, clinical results), with what each key's
/// mentions contribute: how many mentions, and their cleaned surfaces.
struct DocumentKeys<'a> {
    keys: Vec<(&'a EntityKey, usize, BTreeSet<String>)>,
}

impl<'a> DocumentKeys<'a> {
    fn of(ext: &'a Extraction) -> DocumentKeys<'a> {
        let mut at: FxHashMap<&'a EntityKey, usize> = FxHashMap::default();
        let mut keys: Vec<(&'a EntityKey, usize, BTreeSet<String>)> = Vec::new();
        let mut slot = |key: &'a EntityKey| -> usize {
            *at.entry(key).or_insert_with(|| {
                keys.push((key, 0, BTreeSet::new()));
                keys.len() - 1
            })
        };
        let mut counted: Vec<(usize, &'a str)> = Vec::with_capacity(ext.mentions.len());
        for m in &ext.mentions {
            counted.push((slot(&m.entity), m.surface.as_str()));
        }
        for a in &ext.assertions {
            slot(&a.subject);
            slot(&a.object);
        }
        for p in &ext.prices {
            slot(&p.subject);
        }
        for c in &ext.clinical {
            slot(&c.product);
            if let Some(i) = &c.indication {
                slot(i);
            }
        }
        // Each distinct surface is cleaned once (a document names a thing the same way
        // again and again).
        let mut surfaces: Vec<BTreeSet<&'a str>> = vec![BTreeSet::new(); keys.len()];
        for (i, surface) in counted {
            keys[i].1 += 1;
            surfaces[i].insert(surface);
        }
        for (key, raw) in keys.iter_mut().zip(surfaces) {
            key.2 = raw.into_iter().map(clean_surface).collect();
        }
        DocumentKeys { keys }
    }
}

/// Resolves the extractions of a corpus into a knowledge graph.
///
/// Ids are given in corpus order (a discovered name's id depends on which names came first),
/// so that pass goes one document after the other, but only over each document's distinct
/// keys; everything else (cleaning surfaces, building the records, sorting) runs in parallel.
pub fn resolve(extractions: Vec<Extraction>, ex: &Extractor, stats: BuildStats) -> KnowledgeGraph {
    let ontology = ex.ontology;
    let mut ids: BTreeMap<EntityKey, String> = BTreeMap::new();
    let mut discovered_ids: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut taken: BTreeSet<String> = ontology.entities.keys().cloned().collect();
    let mut id_of = |key: &EntityKey| -> String {
        if let Some(id) = ids.get(key) {
            return id.clone();
        }
        let id = match key {
            EntityKey::Known(id) => id.to_string(),
            EntityKey::Discovered(d) => {
                let (class, name) = (&d.class, &d.name);
                let top = ontology.top_class(class).to_string();
                if let Some(id) = ex.known_by_name(&top, name) {
                    id.to_string()
                } else {
                    let k = (top.clone(), crate::extract::fold(name));
                    if let Some(id) = discovered_ids.get(&k) {
                        id.clone()
                    } else {
                        let base = format!("{}/{}", top.to_lowercase(), slug(name));
                        let mut id = base.clone();
                        let mut n = 2;
                        while taken.contains(&id) {
                            id = format!("{base}-{n}");
                            n += 1;
                        }
                        taken.insert(id.clone());
                        discovered_ids.insert(k, id.clone());
                        id
                    }
                }
            }
        };
        ids.insert(key.clone(), id.clone());
        id
    };

    let mut kg = KnowledgeGraph {
        vocabulary: ontology.vocabulary.clone(),
        stats,
        ..KnowledgeGraph::default()
    };
    // Discovered keys per id, to build their labels.
    let mut discovered: BTreeMap<String, (String, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut surfaces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let per_document: Vec<DocumentKeys> = extractions.par_iter().map(DocumentKeys::of).collect();
    for (ext, keys) in extractions.iter().zip(per_document) {
        if ext.doc.is_none() {
            continue;
        }
        for (key, mentions, cleaned) in keys.keys {
            let id = id_of(key);
            if mentions == 0 {
                continue;
            }
            if let EntityKey::Discovered(d) = key {
                let (class, name) = (&d.class, &d.name);
                if !ontology.entities.contains_key(&id) {
                    let e = discovered
                        .entry(id.clone())
                        .or_insert_with(|| (class.to_string(), BTreeMap::new()));
                    *e.1.entry(name.to_string()).or_default() += mentions;
                }
            }
            surfaces.entry(id).or_default().extend(cleaned);
        }
    }
    let ranks = Ranks::new(
        ids.values().map(String::as_str),
        extractions
            .iter()
            .filter_map(|e| e.doc.as_ref().map(|d| d.id.as_str())),
    );
    let ids = &ids;
    let ranks = &ranks;
    // The mentions of all documents, converted straight into one vector: rayon fills an
    // indexed iterator's output in place, so the corpus's mentions are written into fresh
    // memory once (gathering them per document first, then concatenating, wrote them twice;
    // at 200 MB that is 340 MB more of pages new to the process, which this VM backs at
    // 465-690 MB/s on first touch, against 1.5-1.9 GB/s for pages it has backed already).
    let mut starts = Vec::with_capacity(extractions.len() + 1);
    let mut total = 0usize;
    for ext in &extractions {
        starts.push(total);
        if ext.doc.is_some() {
            total += ext.mentions.len();
        }
    }
    starts.push(total);
    let doc_ids: Vec<Option<(u32, std::sync::Arc<str>)>> = extractions
        .iter()
        .map(|ext| {
            ext.doc
                .as_ref()
                .map(|d| (ranks.document(&d.id), std::sync::Arc::from(d.id.as_str())))
        })
        .collect();
    let mut mentions: Vec<(u32, u32, Mention)> = (0..total)
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| {
            // The document holding the i-th mention: the last one starting at or before it
            // (documents without mentions start where the next one does).
            let d = starts.partition_point(|&s| s <= i) - 1;
            let m = &extractions[d].mentions[i - starts[d]];
            let (d_rank, document) = doc_ids[d].as_ref().expect("only documents count");
            let entity = ids[&m.entity].as_str();
            (
                ranks.entity(entity),
                *d_rank,
                Mention {
                    entity: entity.into(),
                    document: std::sync::Arc::clone(document),
                    start: m.start,
                    end: m.end,
                    surface: m.surface.clone(),
                    rule: m.rule.clone(),
                },
            )
        })
        .collect();
    drop(doc_ids);
    let parts: Vec<(crate::model::DocumentInfo, DocumentPart)> = extractions
        .into_par_iter()
        .filter_map(|ext| {
            let doc = ext.doc?;
            drop(ext.mentions);
            let d = doc.id.clone();
            let id = |key: &EntityKey| ids[key].clone();
            let mut part = DocumentPart::default();
            for a in ext.assertions {
                let (s, o) = (id(&a.subject), id(&a.object));
                if s == o {
                    continue;
                }
                part.assertions.push(Assertion {
                    subject: s,
                    relation: a.relation,
                    object: o,
                    negated: a.negated,
                    evidence: Evidence {
                        document: d.clone(),
                        start: a.start,
                        end: a.end,
                        quote: a.quote,
                        rule: a.rule,
                        confidence: round2(a.confidence),
                        year: a.year,
                    },
                });
            }
            for p in ext.prices {
                part.prices.push(Price {
                    subject: id(&p.subject),
                    amount: p.amount,
                    amount_min: p.min,
                    amount_max: p.max,
                    currency: p.currency,
                    unit: p.unit,
                    qualifier: p.qualifier,
                    evidence: Evidence {
                        document: d.clone(),
                        start: p.start,
                        end: p.end,
                        quote: p.quote,
                        rule: "price".into(),
                        confidence: 0.8,
                        year: None,
                    },
                });
            }
            for c in ext.clinical {
                part.clinical.push(ClinicalResult {
                    product: id(&c.product),
                    indication: c.indication.as_ref().map(id),
                    metric: c.metric,
                    value: c.value,
                    value_min: c.min,
                    value_max: c.max,
                    evidence: Evidence {
                        document: d.clone(),
                        start: c.start,
                        end: c.end,
                        quote: c.quote,
                        rule: "clinical".into(),
                        confidence: 0.8,
                        year: None,
                    },
                });
            }
            Some((doc, part))
        })
        .collect();
    // The parts put together, each kind of record on a worker of its own.
    let n = parts.len();
    let mut assertion_parts = Vec::with_capacity(n);
    let (mut price_parts, mut clinical_parts) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (doc, part) in parts {
        kg.documents.insert(doc.id.clone(), doc);
        assertion_parts.push(part.assertions);
        price_parts.push(part.prices);
        clinical_parts.push(part.clinical);
    }
    let (assertions, (prices, clinical)) = rayon::join(
        || concat(assertion_parts),
        || rayon::join(|| concat(price_parts), || concat(clinical_parts)),
    );
    (kg.assertions, kg.prices, kg.clinical) = (assertions, prices, clinical);

    // Entities: everything referenced (marked by rank, so they come out in id order).
    let mut marked = vec![false; ranks.entity_ids.len()];
    for m in &mentions {
        marked[m.0 as usize] = true;
    }
    let ends = kg
        .assertions
        .iter()
        .flat_map(|a| [a.subject.as_str(), a.object.as_str()])
        .chain(kg.prices.iter().map(|p| p.subject.as_str()))
        .chain(
            kg.clinical
                .iter()
                .flat_map(|c| std::iter::once(c.product.as_str()).chain(c.indication.as_deref())),
        );
    for id in ends {
        marked[ranks.entity(id) as usize] = true;
    }
    let referenced: Vec<String> = ranks
        .entity_ids
        .iter()
        .zip(marked)
        .filter(|(_, m)| *m)
        .map(|(id, _)| id.clone())
        .collect();
    for id in referenced {
        let entity = if let Some(lex) = ontology.entities.get(&id) {
            Entity {
                id: id.clone(),
                class: lex.top_class.clone(),
                subtype: (lex.class != lex.top_class).then(|| lex.class.clone()),
                label: lex.display_label(),
                label_en: lex.label_en.clone(),
                label_zh: lex.label_zh.clone(),
                label_zh_hant: lex.label_zh_hant.clone(),
                aliases: lex.aliases.iter().cloned().collect(),
                external_ids: lex.external_ids.clone(),
                documents: BTreeSet::new(),
                mentions: 0,
                discovered: false,
            }
        } else if let Some((class, names)) = discovered.get(&id) {
            let top = ontology.top_class(class).to_string();
            // Most frequent normalised name, ties by order.
            let label = names
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            Entity {
                id: id.clone(),
                class: top.clone(),
                subtype: (*class != top).then(|| class.clone()),
                label_en: label.is_ascii().then(|| label.clone()),
                label_zh: mostly_han(&label).then(|| label.clone()),
                label_zh_hant: None,
                label,
                aliases: names.keys().cloned().collect(),
                external_ids: BTreeSet::new(),
                documents: BTreeSet::new(),
                mentions: 0,
                discovered: true,
            }
        } else {
            continue;
        };
        kg.entities.insert(id, entity);
    }
    for (id, s) in surfaces {
        if let Some(e) = kg.entities.get_mut(&id) {
            e.aliases.extend(s);
        }
    }
    for e in kg.entities.values_mut() {
        let label = e.label.clone();
        e.aliases.retain(|a| *a != label && !a.is_empty());
    }
    // Mentions in their order (entity, document, start, end, surface, rule): the ranks stand
    // for the two ids, so the sort compares numbers, and strings only on a tie of all four.
    // Wholly equal mentions are the same mention, so an unstable sort gives one order.
    mentions.par_sort_unstable_by(|a, b| {
        (a.0, a.1, a.2.start, a.2.end)
            .cmp(&(b.0, b.1, b.2.start, b.2.end))
            .then_with(|| (&a.2.surface, &a.2.rule).cmp(&(&b.2.surface, &b.2.rule)))
    });
    // Mentions (before duplicates go) and documents per entity: the sorted mentions come
    // entity by entity, document by document.
    for group in mentions.chunk_by(|a, b| a.0 == b.0) {
        if let Some(e) = kg.entities.get_mut(group[0].2.entity.as_str()) {
            e.mentions += group.len();
            for same_doc in group.chunk_by(|a, b| a.1 == b.1) {
                e.documents.insert(same_doc[0].2.document.to_string());
            }
        }
    }
    kg.mentions = mentions.into_iter().map(|(_, _, m)| m).collect();
    kg.mentions.dedup_by(|a, b| {
        a.entity == b.entity && a.document == b.document && a.start == b.start && a.end == b.end
    });
    kg.assertions.par_sort_by(|a, b| {
        (
            &a.subject,
            &a.relation,
            &a.object,
            &a.evidence.document,
            a.evidence.start,
            a.evidence.end,
            &a.evidence.rule,
        )
            .cmp(&(
                &b.subject,
                &b.relation,
                &b.object,
                &b.evidence.document,
                b.evidence.start,
                b.evidence.end,
                &b.evidence.rule,
            ))
    });
    kg.assertions.dedup_by(|b, a| {
        a.subject == b.subject
            && a.relation == b.relation
            && a.object == b.object
            && a.evidence.document == b.evidence.document
            && a.evidence.start == b.evidence.start
            && a.evidence.end == b.evidence.end
    });
    kg.prices.par_sort_by(|a, b| {
        (
            &a.subject,
            &a.evidence.document,
            a.evidence.start,
            a.evidence.end,
        )
            .cmp(&(
                &b.subject,
                &b.evidence.document,
                b.evidence.start,
                b.evidence.end,
            ))
    });
    kg.prices.dedup_by(|b, a| {
        a.subject == b.subject
            && a.evidence.document == b.evidence.document
            && a.evidence.start == b.evidence.start
            && a.amount == b.amount
            && a.amount_min == b.amount_min
    });
    kg.clinical.par_sort_by(|a, b| {
        (
            &a.product,
            &a.evidence.document,
            a.evidence.start,
            &a.metric,
        )
            .cmp(&(
                &b.product,
                &b.evidence.document,
                b.evidence.start,
                &b.metric,
            ))
    });
    kg.clinical.dedup_by(|b, a| {
        a.product == b.product
            && a.metric == b.metric
            && a.evidence.document == b.evidence.document
            && a.evidence.start == b.evidence.start
    });
    kg.conflicts = find_conflicts(&kg, ex);
    kg
}

/// The rank of each entity id and document id in the order of the strings: comparing ranks
/// is comparing the ids.
struct Ranks {
    entities: FxHashMap<String, u32>,
    /// The entity ids, sorted: `entity_ids[rank]`.
    entity_ids: Vec<String>,
    documents: FxHashMap<String, u32>,
}

impl Ranks {
    fn new<'a>(
        entities: impl Iterator<Item = &'a str>,
        documents: impl Iterator<Item = &'a str>,
    ) -> Ranks {
        let sorted: BTreeSet<&str> = entities.collect();
        let entity_ids: Vec<String> = sorted.into_iter().map(str::to_string).collect();
        Ranks {
            entities: rank(entity_ids.iter().map(String::as_str)),
            entity_ids,
            documents: rank(documents),
        }
    }

    fn entity(&self, id: &str) -> u32 {
        self.entities[id]
    }

    fn document(&self, id: &str) -> u32 {
        self.documents[id]
    }
}

/// Each distinct string with its rank in sorted order.
fn rank<'a>(ids: impl Iterator<Item = &'a str>) -> FxHashMap<String, u32> {
    let sorted: BTreeSet<&str> = ids.collect();
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), i as u32))
        .collect()
}

/// The records of all parts, in part order.
fn concat<T>(parts: Vec<Vec<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Conflicts on the property groups of the rules, and on prices.
fn find_conflicts(kg: &KnowledgeGraph, ex: &Extractor) -> Vec<Conflict> {
    let ontology = ex.ontology;
    let mut out: Vec<Conflict> = Vec::new();
    let facts = |id: &str, props: &[String]| -> BTreeSet<String> {
        ontology
            .entities
            .get(id)
            .map(|e| {
                e.facts
                    .iter()
                    .filter(|(p, _)| props.contains(p))
                    .map(|(_, o)| o.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let related = |a: &str, b: &str, via: &[String]| -> bool {
        a == b || facts(a, via).contains(b) || facts(b, via).contains(a)
    };
    for rule in &ontology.rules.conflicts {
        // subject → value → evidence
        let mut by_subject: BTreeMap<&str, BTreeMap<&str, Vec<&Evidence>>> = BTreeMap::new();
        for a in &kg.assertions {
            if a.negated || !rule.properties.contains(&a.relation) {
                continue;
            }
            let class = kg
                .entities
                .get(&a.subject)
                .map(|e| e.class.as_str())
                .unwrap_or("");
            if !rule.subject_classes.iter().any(|c| c == class) {
                continue;
            }
            by_subject
                .entry(&a.subject)
                .or_default()
                .entry(&a.object)
                .or_default()
                .push(&a.evidence);
        }
        for (subject, values) in by_subject {
            let mut known = facts(subject, &rule.properties);
            for via in facts(subject, &rule.inherit_via) {
                known.extend(facts(&via, &rule.properties));
            }
            let mut disagreeing: BTreeSet<String> = BTreeSet::new();
            let mut evidence: Vec<Evidence> = Vec::new();
            let mut description = Vec::new();
            if rule.against_lexicon && !known.is_empty() {
                for (value, ev) in &values {
                    if !known
                        .iter()
                        .any(|k| related(k, value, &rule.compatible_via))
                    {
                        disagreeing.insert(value.to_string());
                        disagreeing.extend(known.iter().cloned());
                        evidence.extend(ev.iter().map(|e| (*e).clone()));
                        description.push(format!(
                            "a source says {subject} {} {value}; the lexicon says {}",
                            rule.properties.join("/"),
                            known.iter().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
            if rule.functional && values.len() > 1 {
                let vs: Vec<&str> = values.keys().copied().collect();
                for (i, a) in vs.iter().enumerate() {
                    for b in &vs[i + 1..] {
                        if !related(a, b, &rule.compatible_via) {
                            disagreeing.insert(a.to_string());
                            disagreeing.insert(b.to_string());
                            for v in [a, b] {
                                evidence.extend(values[v].iter().map(|e| (*e).clone()));
                            }
                            description.push(format!(
                                "sources disagree on {subject} {}: {a} vs {b}",
                                rule.properties.join("/")
                            ));
                        }
                    }
                }
            }
            if !disagreeing.is_empty() {
                if rule.against_lexicon && !known.is_empty() {
                    evidence.push(Evidence {
                        document: "ontology".into(),
                        start: 0,
                        end: 0,
                        quote: format!(
                            "lexicon: {subject} {} {}",
                            rule.properties.join("/"),
                            known.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                        rule: "lexicon".into(),
                        confidence: 1.0,
                        year: None,
                    });
                }
                evidence.sort_by(|a, b| {
                    (&a.document, a.start, a.end).cmp(&(&b.document, b.start, b.end))
                });
                evidence.dedup_by(|a, b| {
                    a.document == b.document && a.start == b.start && a.end == b.end
                });
                description.sort();
                description.dedup();
                out.push(Conflict {
                    id: String::new(),
                    subject: subject.to_string(),
                    relation: rule.properties.join("|"),
                    values: disagreeing.into_iter().collect(),
                    description: description.join("; "),
                    evidence,
                });
            }
        }
    }
    // Prices: same subject, currency, unit and qualifier, different point amounts in two documents.
    let mut groups: BTreeMap<(&str, &str, &str, &str), Vec<&Price>> = BTreeMap::new();
    for p in &kg.prices {
        if p.amount.is_some() {
            groups
                .entry((&p.subject, &p.currency, &p.unit, &p.qualifier))
                .or_default()
                .push(p);
        }
    }
    for ((subject, currency, unit, qualifier), prices) in groups {
        let amounts: BTreeSet<String> = prices
            .iter()
            .filter_map(|p| p.amount.map(|a| crate::model::fmt_decimal(&a)))
            .collect();
        let docs: BTreeSet<&str> = prices
            .iter()
            .map(|p| p.evidence.document.as_str())
            .collect();
        if amounts.len() > 1 && docs.len() > 1 {
            out.push(Conflict {
                id: String::new(),
                subject: subject.to_string(),
                relation: "price".into(),
                values: amounts.iter().cloned().collect(),
                description: format!(
                    "sources give different prices for {subject} ({currency}{}{}): {}",
                    if unit.is_empty() {
                        String::new()
                    } else {
                        format!(" per {unit}")
                    },
                    if qualifier.is_empty() {
                        String::new()
                    } else {
                        format!(", {qualifier}")
                    },
                    amounts.iter().cloned().collect::<Vec<_>>().join(" vs ")
                ),
                evidence: prices.iter().map(|p| p.evidence.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.subject, &a.relation, &a.values).cmp(&(&b.subject, &b.relation, &b.values))
    });
    for (i, c) in out.iter_mut().enumerate() {
        c.id = format!("conflict/{}", i + 1);
    }
    out
}
