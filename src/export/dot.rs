//! Graphviz DOT: a [`KnowledgeGraph`] in, a `digraph` out, for `dot -Tsvg`.
//!
//! The graph is laid into petgraph first (nodes in id order, edges in (source, relation, target)
//! order), then written as DOT text in that order, so the same graph always gives the same bytes.
//! Nodes are filled and shaped by their class (`color` and `shape` from the ontology), labelled
//! with the entity label; edges are labelled with the relation's label in the chosen language;
//! negative relations are dashed. A legend cluster lists the classes present and explains dashed
//! and thick lines. [`ViewOptions`] make a view readable: boxes per class (`cluster`), isolated
//! entities left out and counted in the legend (`connected_only`), the focus drawn thick, a title,
//! and the layout engine (with a force engine such as sfdp, which ignores clusters, the legend is
//! one table node). Every string is quoted and escaped (quotes, backslashes, line breaks; HTML
//! labels escaped as HTML). Fonts name Noto Sans CJK SC so Chinese renders. This module does not
//! run Graphviz and does not cut subgraphs.

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

/// How a drawing is laid out and what it leaves out, beyond the label language. The default
/// draws every entity, without clusters, title or layout engine (Graphviz's `dot`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewOptions {
    /// Group the nodes of each class in a box of their own (`cluster_{class}`).
    pub cluster: bool,
    /// Leave out entities without any relation; the legend says how many.
    pub connected_only: bool,
    /// Entity ids drawn with a thick border (the focus of a cut).
    pub highlight: Vec<String>,
    /// Graphviz layout engine written as the graph's `layout` attribute (`dot`, `fdp`, `sfdp`,
    /// `neato`…); `dot -Tsvg` then lays the graph out with it.
    pub layout: Option<String>,
    /// A title drawn above the graph.
    pub title: Option<String>,
}

/// The layout engines a view may name.
pub const LAYOUTS: &[&str] = &["dot", "neato", "fdp", "sfdp", "circo", "twopi", "osage"];

/// Writes the graph as DOT to `w`.
pub fn write_dot(kg: &KnowledgeGraph, w: &mut dyn Write, opts: &DotOptions) -> Result<()> {
    write_dot_io(kg, w, opts, &ViewOptions::default()).map_err(|e| Error::io("<output>", e))
}

/// Writes the graph as DOT to `w`, laid out as `view` says.
pub fn write_dot_view(
    kg: &KnowledgeGraph,
    w: &mut dyn Write,
    opts: &DotOptions,
    view: &ViewOptions,
) -> Result<()> {
    if let Some(l) = &view.layout {
        if !LAYOUTS.contains(&l.as_str()) {
            return Err(Error::Other(format!(
                "unknown layout `{l}`; expected one of {}",
                LAYOUTS.join(", ")
            )));
        }
    }
    write_dot_io(kg, w, opts, view).map_err(|e| Error::io("<output>", e))
}

/// Escapes text for a Graphviz HTML-like label.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<BR/>"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Black or white, whichever reads better on the fill colour `#rrggbb`.
fn font_color(fill: &str) -> Option<&'static str> {
    let hex = fill.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok().map(f64::from);
    let (r, g, b) = (c(0)?, c(2)?, c(4)?);
    let luminance = 0.299 * r + 0.587 * g + 0.114 * b;
    (luminance < 140.0).then_some("white")
}

/// [`write_dot`] with I/O errors as they are, for callers that know the path.
pub(crate) fn write_dot_io(
    kg: &KnowledgeGraph,
    w: &mut dyn Write,
    opts: &DotOptions,
    view: &ViewOptions,
) -> io::Result<()> {
    let vocab = &kg.vocabulary;
    let edges = kg.edges();
    let connected: BTreeSet<&str> = edges
        .iter()
        .filter(|e| kg.entities.contains_key(&e.source) && kg.entities.contains_key(&e.target))
        .flat_map(|e| [e.source.as_str(), e.target.as_str()])
        .collect();
    let drawn = |e: &Entity| {
        !view.connected_only || connected.contains(e.id.as_str()) || view.highlight.contains(&e.id)
    };
    let mut graph: DiGraph<&Entity, Edge> = DiGraph::new();
    let mut index: std::collections::BTreeMap<&str, NodeIndex> = Default::default();
    let mut left_out = 0;
    for (id, e) in &kg.entities {
        if drawn(e) {
            index.insert(id.as_str(), graph.add_node(e));
        } else {
            left_out += 1;
        }
    }
    for edge in edges {
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
    let zh = opts.lang == Lang::Zh;

    let mut out = io::BufWriter::new(w);
    writeln!(out, "digraph cellkg {{")?;
    write!(
        out,
        "  graph [fontname={}, rankdir=LR, overlap=false, splines=true",
        quote(FONT)
    )?;
    if let Some(layout) = &view.layout {
        write!(out, ", layout={}", quote(layout))?;
        if layout != "dot" {
            write!(out, ", sep=\"+12\", K=1.2")?;
        }
    }
    if let Some(title) = &view.title {
        write!(out, ", label={}, labelloc=t, fontsize=20", quote(title))?;
    }
    if view.cluster {
        write!(
            out,
            ", compound=true, newrank=true, nodesep=0.25, ranksep=0.9"
        )?;
    }
    writeln!(out, "];")?;
    writeln!(
        out,
        "  node [fontname={}, style=filled, fontsize=11];",
        quote(FONT)
    )?;
    writeln!(out, "  edge [fontname={}, fontsize=9];", quote(FONT))?;

    let classes: BTreeSet<String> = graph.node_weights().map(|e| class_of(e)).collect();
    let negative_drawn = graph.edge_weights().any(|e| {
        vocab
            .properties
            .get(&e.relation)
            .is_some_and(|p| p.negation_of.is_some())
    });
    let mut notes = Vec::new();
    if negative_drawn {
        notes.push(if zh {
            "红色虚线：否定关系（如“未覆盖”）".to_string()
        } else {
            "dashed red: negative relation (e.g. does not cover)".to_string()
        });
    }
    if graph.edge_weights().any(|e| e.evidence_count > 1) {
        notes.push(if zh {
            "线越粗，出处越多".to_string()
        } else {
            "thicker line: more quotes behind it".to_string()
        });
    }
    if !view.highlight.is_empty() {
        notes.push(if zh {
            "粗框：焦点实体".to_string()
        } else {
            "thick border: the focus".to_string()
        });
    }
    if left_out > 0 {
        notes.push(if zh {
            format!("未画出 {left_out} 个无关系的孤立实体")
        } else {
            format!("{left_out} isolated entities (no relation) not drawn")
        });
    }
    let legend = if zh { "图例" } else { "legend" };
    // Force-directed engines ignore clusters: there the legend is one node holding a table.
    let force = view
        .layout
        .as_deref()
        .is_some_and(|l| l != "dot" && l != "fdp" && l != "osage");
    if force && (!classes.is_empty() || !notes.is_empty()) {
        let mut html = format!(
            "<<TABLE BORDER=\"1\" CELLBORDER=\"0\" CELLSPACING=\"4\" COLOR=\"#999999\">\
             <TR><TD COLSPAN=\"2\"><B>{}</B></TD></TR>",
            html_escape(legend)
        );
        for class in &classes {
            let (color, _) = style_of(class);
            html.push_str(&format!(
                "<TR><TD BGCOLOR={} WIDTH=\"24\"> </TD><TD ALIGN=\"LEFT\">{}</TD></TR>",
                quote(&color),
                html_escape(&class_label(class))
            ));
        }
        for note in &notes {
            html.push_str(&format!(
                "<TR><TD COLSPAN=\"2\" ALIGN=\"LEFT\"><FONT POINT-SIZE=\"10\">{}</FONT></TD></TR>",
                html_escape(note)
            ));
        }
        html.push_str("</TABLE>>");
        writeln!(out, "  \"legend\" [label={html}, shape=plain, style=\"\"];")?;
    } else if !classes.is_empty() || !notes.is_empty() {
        writeln!(out, "  subgraph cluster_legend {{")?;
        writeln!(out, "    label={};", quote(legend))?;
        writeln!(out, "    style=dashed;")?;
        for class in &classes {
            let (color, shape) = style_of(class);
            write!(
                out,
                "    {} [label={}, fillcolor={}, shape={}",
                quote(&format!("legend:{class}")),
                quote(&class_label(class)),
                quote(&color),
                quote(&shape)
            )?;
            if let Some(fc) = font_color(&color) {
                write!(out, ", fontcolor={fc}")?;
            }
            writeln!(out, "];")?;
        }
        if !notes.is_empty() {
            writeln!(
                out,
                "    \"legend:notes\" [label={}, shape=plaintext, style=\"\", fontsize=10];",
                quote(&notes.join("\n"))
            )?;
        }
        writeln!(out, "  }}")?;
    }

    let write_node = |out: &mut dyn Write, indent: &str, e: &Entity| -> io::Result<()> {
        let (color, shape) = style_of(&class_of(e));
        write!(
            out,
            "{indent}{} [label={}, fillcolor={}, shape={}, tooltip={}",
            quote(&e.id),
            quote(entity_label(e, opts.lang)),
            quote(&color),
            quote(&shape),
            quote(&e.id)
        )?;
        if let Some(fc) = font_color(&color) {
            write!(out, ", fontcolor={fc}")?;
        }
        if view.highlight.contains(&e.id) {
            write!(out, ", penwidth=4, fontsize=14")?;
        }
        writeln!(out, "];")
    };
    if view.cluster {
        for class in &classes {
            let (color, _) = style_of(class);
            writeln!(
                out,
                "  subgraph {} {{",
                quote(&format!("cluster_class_{class}"))
            )?;
            writeln!(
                out,
                "    label={}; style=\"rounded,dashed\"; color={}; fontsize=14;",
                quote(&class_label(class)),
                quote(&color)
            )?;
            for n in graph.node_indices() {
                if class_of(graph[n]) == *class {
                    write_node(&mut out, "    ", graph[n])?;
                }
            }
            writeln!(out, "  }}")?;
        }
    } else {
        for n in graph.node_indices() {
            write_node(&mut out, "  ", graph[n])?;
        }
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
