//! Graphviz DOT: a [`KnowledgeGraph`] in, a `digraph` out, for `dot -Tsvg`.
//!
//! The graph is laid into petgraph first (nodes in id order, edges in (source, relation, target)
//! order), then written as DOT text in that order, so the same graph always gives the same bytes.
//! Nodes are filled and shaped by their class (`color` and `shape` from the ontology), labelled
//! with the entity label; edges are labelled with the relation's label in the chosen language;
//! negative relations are dashed. A legend cluster lists the classes present. Every string is
//! quoted and escaped (quotes, backslashes, line breaks). Fonts name Noto Sans CJK SC so Chinese
//! renders. This module does not run Graphviz and does not cut subgraphs.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::str::FromStr;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, Result};
use crate::model::{Edge, Entity, KnowledgeGraph};

/// Language of the labels in drawings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Chinese labels where the ontology or the entity has one.
    #[default]
    Zh,
    /// English labels where the ontology or the entity has one.
    En,
}

impl FromStr for Lang {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-hans" | "cn" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            _ => Err(Error::Other(format!(
                "unknown label language `{s}`; expected zh or en"
            ))),
        }
    }
}

/// Options of the DOT writer.
#[derive(Debug, Clone, Default)]
pub struct DotOptions {
    /// Language of node, edge and legend labels (default Chinese).
    pub lang: Lang,
}

const FONT: &str = "Noto Sans CJK SC";
const DEFAULT_COLOR: &str = "#bab0ac";
const DEFAULT_SHAPE: &str = "box";

/// Quotes a string for DOT: `"` and `\` are escaped, line breaks become `\n` (a centred break in
/// labels), other control characters are dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn entity_label(e: &Entity, lang: Lang) -> &str {
    match lang {
        Lang::Zh => e.label_zh.as_deref().unwrap_or(&e.label),
        Lang::En => e.label_en.as_deref().unwrap_or(&e.label),
    }
}

/// Writes the graph as DOT to `w`.
pub fn write_dot(kg: &KnowledgeGraph, w: &mut dyn Write, opts: &DotOptions) -> Result<()> {
    write_dot_io(kg, w, opts).map_err(|e| Error::io("<output>", e))
}

/// [`write_dot`] with I/O errors as they are, for callers that know the path.
pub(crate) fn write_dot_io(
    kg: &KnowledgeGraph,
    w: &mut dyn Write,
    opts: &DotOptions,
) -> io::Result<()> {
    let vocab = &kg.vocabulary;
    let mut graph: DiGraph<&Entity, Edge> = DiGraph::new();
    let mut index: std::collections::BTreeMap<&str, NodeIndex> = Default::default();
    for (id, e) in &kg.entities {
        index.insert(id.as_str(), graph.add_node(e));
    }
    for edge in kg.edges() {
        if let (Some(&a), Some(&b)) = (
            index.get(edge.source.as_str()),
            index.get(edge.target.as_str()),
        ) {
            graph.add_edge(a, b, edge);
        }
    }

    let class_of = |e: &Entity| -> String { vocab.top_class(&e.class).to_string() };
    let style_of = |class: &str| -> (String, String) {
        let info = vocab.classes.get(class);
        (
            info.and_then(|c| c.color.clone())
                .unwrap_or_else(|| DEFAULT_COLOR.to_string()),
            info.and_then(|c| c.shape.clone())
                .unwrap_or_else(|| DEFAULT_SHAPE.to_string()),
        )
    };
    let class_label = |class: &str| -> String {
        let info = vocab.classes.get(class);
        let label = match opts.lang {
            Lang::Zh => info.map(|c| c.label_zh.as_str()),
            Lang::En => info.map(|c| c.label_en.as_str()),
        };
        match label {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => class.to_string(),
        }
    };

    let mut out = io::BufWriter::new(w);
    writeln!(out, "digraph cellkg {{")?;
    writeln!(
        out,
        "  graph [fontname={}, rankdir=LR, overlap=false, splines=true];",
        quote(FONT)
    )?;
    writeln!(
        out,
        "  node [fontname={}, style=filled, fontsize=11];",
        quote(FONT)
    )?;
    writeln!(out, "  edge [fontname={}, fontsize=9];", quote(FONT))?;

    let classes: BTreeSet<String> = graph.node_weights().map(|e| class_of(e)).collect();
    if !classes.is_empty() {
        let legend = match opts.lang {
            Lang::Zh => "图例",
            Lang::En => "legend",
        };
        writeln!(out, "  subgraph cluster_legend {{")?;
        writeln!(out, "    label={};", quote(legend))?;
        writeln!(out, "    style=dashed;")?;
        for class in &classes {
            let (color, shape) = style_of(class);
            writeln!(
                out,
                "    {} [label={}, fillcolor={}, shape={}];",
                quote(&format!("legend:{class}")),
                quote(&class_label(class)),
                quote(&color),
                quote(&shape)
            )?;
        }
        writeln!(out, "  }}")?;
    }

    for n in graph.node_indices() {
        let e = graph[n];
        let (color, shape) = style_of(&class_of(e));
        writeln!(
            out,
            "  {} [label={}, fillcolor={}, shape={}, tooltip={}];",
            quote(&e.id),
            quote(entity_label(e, opts.lang)),
            quote(&color),
            quote(&shape),
            quote(&e.id)
        )?;
    }

    for ei in graph.edge_indices() {
        let Some((a, b)) = graph.edge_endpoints(ei) else {
            continue;
        };
        let edge = &graph[ei];
        let prop = vocab.properties.get(&edge.relation);
        let label = match (opts.lang, prop) {
            (Lang::Zh, Some(p)) if !p.label_zh.is_empty() => p.label_zh.as_str(),
            (Lang::En, Some(p)) if !p.label_en.is_empty() => p.label_en.as_str(),
            _ => edge.relation.as_str(),
        };
        let negative = prop.is_some_and(|p| p.negation_of.is_some());
        write!(
            out,
            "  {} -> {} [label={}",
            quote(&graph[a].id),
            quote(&graph[b].id),
            quote(label)
        )?;
        if negative {
            write!(out, ", style=dashed, color=\"#e15759\"")?;
        }
        if edge.evidence_count > 1 {
            write!(out, ", penwidth={}", 1 + edge.evidence_count.min(4))?;
        }
        writeln!(out, "];")?;
    }
    writeln!(out, "}}")?;
    out.flush()
}
