//! GraphML for Gephi, Cytoscape, yEd and networkx: a [`KnowledgeGraph`] in, one `<graph>` out.
//!
//! Every attribute is declared with a `<key>` (name, type, node or edge) before the graph; nodes
//! are the entities in id order (`id` is the entity id), edges the distinct relations in
//! (source, relation, target) order with ids `e0`, `e1`…; the graph is directed and may hold
//! parallel edges (two relations between the same pair). Multi-valued attributes are joined with
//! `|` as in the CSV contract; absent values are left out. Text is XML-escaped and characters XML
//! 1.0 forbids are dropped. The same graph gives the same bytes. This module writes nothing else.

use std::io::{self, Write};

use crate::model::KnowledgeGraph;

/// The declared keys: (id, for, attr.name, attr.type).
pub const GRAPHML_KEYS: &[(&str, &str, &str, &str)] = &[
    ("n_type", "node", "type", "string"),
    ("n_subtype", "node", "subtype", "string"),
    ("n_label", "node", "label", "string"),
    ("n_label_en", "node", "label_en", "string"),
    ("n_label_zh", "node", "label_zh", "string"),
    ("n_aliases", "node", "aliases", "string"),
    ("n_external_ids", "node", "external_ids", "string"),
    ("n_documents", "node", "documents", "string"),
    ("n_mentions", "node", "mentions", "int"),
    ("n_discovered", "node", "discovered", "boolean"),
    ("n_color", "node", "color", "string"),
    ("e_relation", "edge", "relation", "string"),
    ("e_label", "edge", "label", "string"),
    ("e_label_zh", "edge", "label_zh", "string"),
    ("e_documents", "edge", "documents", "string"),
    ("e_evidence_count", "edge", "evidence_count", "int"),
    ("e_confidence", "edge", "confidence", "double"),
    ("e_negated", "edge", "negated", "boolean"),
];

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn data(w: &mut dyn Write, key: &str, value: &str) -> io::Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    writeln!(w, "      <data key=\"{key}\">{}</data>", xml_escape(value))
}

fn join<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("|")
}

/// Writes the graph as GraphML to `w`.
pub fn write_graphml(kg: &KnowledgeGraph, w: &mut dyn Write) -> io::Result<()> {
    let vocab = &kg.vocabulary;
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        w,
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns \
         http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">"
    )?;
    for (id, what, name, ty) in GRAPHML_KEYS {
        writeln!(
            w,
            "  <key id=\"{id}\" for=\"{what}\" attr.name=\"{name}\" attr.type=\"{ty}\"/>"
        )?;
    }
    writeln!(w, "  <graph id=\"cellkg\" edgedefault=\"directed\">")?;
    for e in kg.entities.values() {
        writeln!(w, "    <node id=\"{}\">", xml_escape(&e.id))?;
        let top = vocab.top_class(&e.class);
        data(w, "n_type", &e.class)?;
        data(w, "n_subtype", e.subtype.as_deref().unwrap_or(""))?;
        data(w, "n_label", &e.label)?;
        data(w, "n_label_en", e.label_en.as_deref().unwrap_or(""))?;
        data(w, "n_label_zh", e.label_zh.as_deref().unwrap_or(""))?;
        data(w, "n_aliases", &join(&e.aliases))?;
        data(w, "n_external_ids", &join(&e.external_ids))?;
        data(w, "n_documents", &join(&e.documents))?;
        data(w, "n_mentions", &e.mentions.to_string())?;
        data(w, "n_discovered", &e.discovered.to_string())?;
        let color = vocab.classes.get(top).and_then(|c| c.color.clone());
        data(w, "n_color", color.as_deref().unwrap_or(""))?;
        writeln!(w, "    </node>")?;
    }
    let edges = kg
        .edges()
        .into_iter()
        .filter(|e| kg.entities.contains_key(&e.source) && kg.entities.contains_key(&e.target));
    for (i, e) in edges.enumerate() {
        writeln!(
            w,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\">",
            xml_escape(&e.source),
            xml_escape(&e.target)
        )?;
        let prop = vocab.properties.get(&e.relation);
        data(w, "e_relation", &e.relation)?;
        let label_en = prop
            .map(|p| p.label_en.as_str())
            .filter(|l| !l.is_empty())
            .unwrap_or(&e.relation);
        data(w, "e_label", label_en)?;
        data(w, "e_label_zh", prop.map_or("", |p| p.label_zh.as_str()))?;
        data(w, "e_documents", &join(&e.documents))?;
        data(w, "e_evidence_count", &e.evidence_count.to_string())?;
        data(w, "e_confidence", &format!("{:.2}", e.confidence))?;
        let negated = prop.is_some_and(|p| p.negation_of.is_some());
        data(w, "e_negated", &negated.to_string())?;
        writeln!(w, "    </edge>")?;
    }
    writeln!(w, "  </graph>")?;
    writeln!(w, "</graphml>")?;
    w.flush()
}
