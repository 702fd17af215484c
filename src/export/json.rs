//! Node-link JSON for d3 and networkx: a [`KnowledgeGraph`] in, one JSON object out.
//!
//! The shape is networkx's `node_link_data` (networkx 3.4+ names): `{"directed": true,
//! "multigraph": true, "graph": {…}, "nodes": [{"id": …}], "edges": [{"source", "target", "key",
//! …}]}`, so `networkx.node_link_graph(json.load(f))` gives a `MultiDiGraph` with the same nodes
//! and edges as `cellkg stats` counts (the edge key is the relation; older networkx needs
//! `edges="edges"`). Nodes come in id order and edges in (source, relation, target) order; object
//! keys are sorted; lists stay lists. The same graph gives the same bytes.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::model::KnowledgeGraph;

/// The graph as a node-link JSON value.
pub fn node_link(kg: &KnowledgeGraph) -> Value {
    let vocab = &kg.vocabulary;
    let nodes: Vec<Value> = kg
        .entities
        .values()
        .map(|e| {
            let color = vocab
                .classes
                .get(vocab.top_class(&e.class))
                .and_then(|c| c.color.clone());
            json!({
                "id": e.id,
                "type": e.class,
                "subtype": e.subtype,
                "label": e.label,
                "label_en": e.label_en,
                "label_zh": e.label_zh,
                "label_zh_hant": e.label_zh_hant,
                "aliases": e.aliases,
                "external_ids": e.external_ids,
                "documents": e.documents,
                "mentions": e.mentions,
                "discovered": e.discovered,
                "color": color,
            })
        })
        .collect();
    let edges: Vec<Value> = kg
        .edges()
        .into_iter()
        .filter(|e| kg.entities.contains_key(&e.source) && kg.entities.contains_key(&e.target))
        .map(|e| {
            let prop = vocab.properties.get(&e.relation);
            json!({
                "source": e.source,
                "target": e.target,
                "key": e.relation,
                "relation": e.relation,
                "label_en": prop.map(|p| p.label_en.clone()).filter(|l| !l.is_empty()),
                "label_zh": prop.map(|p| p.label_zh.clone()).filter(|l| !l.is_empty()),
                "negated": prop.is_some_and(|p| p.negation_of.is_some()),
                "documents": e.documents,
                "evidence_count": e.evidence_count,
                "confidence": (e.confidence * 100.0).round() / 100.0,
            })
        })
        .collect();
    json!({
        "directed": true,
        "multigraph": true,
        "graph": {
            "name": "cellkg",
            "documents": kg.documents.keys().collect::<Vec<_>>(),
        },
        "nodes": nodes,
        "edges": edges,
    })
}

/// Writes the graph as node-link JSON (pretty, two-space indent, final newline) to `w`.
pub fn write_json(kg: &KnowledgeGraph, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &node_link(kg))?;
    writeln!(w)?;
    w.flush()
}
