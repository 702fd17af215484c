//! Graph analysis over the petgraph view: the shortest chain of relations between two entities
//! (`cellkg path`), counts and structure (`cellkg stats`), and the build summary `report.md`.
//!
//! In: the assembled [`KnowledgeGraph`]. Out: plain records ([`PathStep`], [`Stats`]) and their
//! text. Paths and components ignore the direction of relations (a chain may go against an
//! arrow; each step says which way it goes); ties are broken by entity id and relation name, so
//! the answer is always the same. The report holds no time or date: a rebuild gives the same
//! bytes. This module reads no file and writes none.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;

use crate::assemble::to_petgraph;
use crate::error::{Error, Result};
use crate::model::{fmt_decimal, Evidence, KnowledgeGraph};

/// One step of a chain: `from` —relation→ `to`, or against the arrow when `forward` is false
/// (then the fact is `to relation from`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStep {
    pub from: String,
    pub to: String,
    pub relation: String,
    pub forward: bool,
    /// The most confident evidence of the fact (the first on ties).
    pub evidence: Option<Evidence>,
}

fn best_evidence(kg: &KnowledgeGraph, s: &str, r: &str, o: &str) -> Option<Evidence> {
    let mut best: Option<&Evidence> = None;
    for a in &kg.assertions {
        if a.subject == s
            && a.relation == r
            && a.object == o
            && best.is_none_or(|b| a.evidence.confidence > b.confidence)
        {
            best = Some(&a.evidence);
        }
    }
    best.cloned()
}

/// The shortest chain of relations from `from` to `to` (any label, alias or id), either
/// direction; among chains of the same length, the one through the smallest ids.
pub fn shortest_path(kg: &KnowledgeGraph, from: &str, to: &str) -> Result<Vec<PathStep>> {
    let find = |name: &str| {
        kg.find_entity(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no entity named {name:?}; try a label, an alias or an id like target/cd19"
            ))
        })
    };
    let (a, b) = (find(from)?, find(to)?);
    let view = to_petgraph(kg);
    let g = &view.graph;
    let start = view.index[&a.id];
    let goal = view.index[&b.id];
    // Breadth-first, neighbours in (id, relation, direction) order.
    let mut prev: BTreeMap<usize, (usize, String, bool)> = BTreeMap::new();
    let mut seen = BTreeSet::from([start.index()]);
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        if n == goal {
            break;
        }
        let mut next: Vec<(String, String, bool, petgraph::graph::NodeIndex)> = Vec::new();
        for e in g.edges_directed(n, Direction::Outgoing) {
            next.push((
                g[e.target()].clone(),
                e.weight().relation.clone(),
                true,
                e.target(),
            ));
        }
        for e in g.edges_directed(n, Direction::Incoming) {
            next.push((
                g[e.source()].clone(),
                e.weight().relation.clone(),
                false,
                e.source(),
            ));
        }
        next.sort_by(|x, y| (&x.0, &x.1, !x.2).cmp(&(&y.0, &y.1, !y.2)));
        for (_, relation, forward, m) in next {
            if seen.insert(m.index()) {
                prev.insert(m.index(), (n.index(), relation, forward));
                queue.push_back(m);
            }
        }
    }
    if start != goal && !prev.contains_key(&goal.index()) {
        return Err(Error::NotFound(format!(
            "no chain of relations links {} ({}) and {} ({}): they are in different components \
             (see `cellkg stats`)",
            a.label, a.id, b.label, b.id
        )));
    }
    let mut steps = Vec::new();
    let mut at = goal.index();
    while at != start.index() {
        let (p, relation, forward) = prev[&at].clone();
        let (here, there) = (
            g[petgraph::graph::NodeIndex::new(p)].clone(),
            g[petgraph::graph::NodeIndex::new(at)].clone(),
        );
        let evidence = if forward {
            best_evidence(kg, &here, &relation, &there)
        } else {
            best_evidence(kg, &there, &relation, &here)
        };
        steps.push(PathStep {
            from: here,
            to: there,
            relation,
            forward,
            evidence,
        });
        at = p;
    }
    steps.reverse();
    Ok(steps)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn label<'a>(kg: &'a KnowledgeGraph, id: &'a str) -> &'a str {
    kg.entities.get(id).map_or(id, |e| e.label.as_str())
}

/// The text of `cellkg path`: one line per step, the quote behind it indented below.
pub fn path_text(kg: &KnowledgeGraph, steps: &[PathStep]) -> String {
    let mut s = String::new();
    if steps.is_empty() {
        return "the two names are the same entity\n".to_string();
    }
    let (first, last) = (&steps[0].from, &steps[steps.len() - 1].to);
    let _ = writeln!(
        s,
        "{} ({first}) → {} ({last}): {} step{}",
        label(kg, first),
        label(kg, last),
        steps.len(),
        if steps.len() == 1 { "" } else { "s" }
    );
    for step in steps {
        let arrow = if step.forward {
            format!("─{}→", step.relation)
        } else {
            format!("←{}─", step.relation)
        };
        let _ = writeln!(
            s,
            "  {} ({}) {arrow} {} ({})",
            label(kg, &step.from),
            step.from,
            label(kg, &step.to),
            step.to
        );
        if let Some(e) = &step.evidence {
            let _ = writeln!(
                s,
                "      “{}” — {}:{}-{} [{} {:.2}]",
                one_line(&e.quote),
                e.document,
                e.start,
                e.end,
                e.rule,
                e.confidence
            );
        }
    }
    s
}

/// One row of the degree ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Degree {
    pub id: String,
    pub label: String,
    pub degree: usize,
    pub in_degree: usize,
    pub out_degree: usize,
}

/// Counts and structure of the graph, as `cellkg stats` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Entities (the nodes of GraphML, JSON and the petgraph view).
    pub nodes: usize,
    /// Distinct relations (the edges of GraphML, JSON and edges.csv).
    pub edges: usize,
    /// Facts with evidence (rows of evidence.csv).
    pub assertions: usize,
    pub documents: usize,
    pub prices: usize,
    pub clinical: usize,
    pub conflicts: usize,
    /// Entities by top class.
    pub by_class: BTreeMap<String, usize>,
    /// Distinct edges by relation.
    pub by_relation: BTreeMap<String, usize>,
    /// Every entity with at least one relation, by degree (highest first), then id.
    pub degree: Vec<Degree>,
    /// Weakly connected components, isolated entities included.
    pub components: usize,
    /// Sizes of the components with more than one entity, largest first.
    pub component_sizes: Vec<usize>,
    /// Entities without any relation, in id order.
    pub isolated: Vec<String>,
}

/// Computes [`Stats`] over the petgraph view.
pub fn stats(kg: &KnowledgeGraph) -> Stats {
    let view = to_petgraph(kg);
    let g = &view.graph;
    let mut by_class = BTreeMap::new();
    for e in kg.entities.values() {
        *by_class
            .entry(kg.vocabulary.top_class(&e.class).to_string())
            .or_default() += 1;
    }
    let mut by_relation = BTreeMap::new();
    for e in g.edge_weights() {
        *by_relation.entry(e.relation.clone()).or_default() += 1;
    }
    let mut uf = UnionFind::<usize>::new(g.node_count());
    for e in g.edge_references() {
        uf.union(e.source().index(), e.target().index());
    }
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for n in g.node_indices() {
        *sizes.entry(uf.find(n.index())).or_default() += 1;
    }
    let components = sizes.len();
    let mut component_sizes: Vec<usize> = sizes.into_values().filter(|&s| s > 1).collect();
    component_sizes.sort_by(|a, b| b.cmp(a));
    let mut degree = Vec::new();
    let mut isolated = Vec::new();
    for n in g.node_indices() {
        let out_degree = g.edges_directed(n, Direction::Outgoing).count();
        let in_degree = g.edges_directed(n, Direction::Incoming).count();
        let id = g[n].clone();
        if in_degree + out_degree == 0 {
            isolated.push(id);
        } else {
            degree.push(Degree {
                label: label(kg, &id).to_string(),
                id,
                degree: in_degree + out_degree,
                in_degree,
                out_degree,
            });
        }
    }
    degree.sort_by(|a, b| b.degree.cmp(&a.degree).then_with(|| a.id.cmp(&b.id)));
    Stats {
        nodes: g.node_count(),
        edges: g.edge_count(),
        assertions: kg.assertions.len(),
        documents: kg.documents.len(),
        prices: kg.prices.len(),
        clinical: kg.clinical.len(),
        conflicts: kg.conflicts.len(),
        by_class,
        by_relation,
        degree,
        components,
        component_sizes,
        isolated,
    }
}

/// The text of `cellkg stats`: counts, then the `top` best-connected entities.
pub fn stats_text(s: &Stats, top: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} entities, {} edges ({} assertions) from {} documents; {} prices, {} clinical results, {} conflicts",
        s.nodes, s.edges, s.assertions, s.documents, s.prices, s.clinical, s.conflicts
    );
    let _ = writeln!(t, "entities by class:");
    for (c, n) in &s.by_class {
        let _ = writeln!(t, "  {c:<14} {n:>5}");
    }
    let _ = writeln!(t, "edges by relation:");
    for (r, n) in &s.by_relation {
        let _ = writeln!(t, "  {r:<14} {n:>5}");
    }
    let _ = writeln!(
        t,
        "components: {} ({} with relations, sizes {}); isolated entities: {}",
        s.components,
        s.component_sizes.len(),
        joined_sizes(&s.component_sizes),
        s.isolated.len()
    );
    let _ = writeln!(t, "most connected (degree = in + out):");
    for d in s.degree.iter().take(top) {
        let _ = writeln!(
            t,
            "  {:>3} ({:>2} in, {:>2} out)  {} ({})",
            d.degree, d.in_degree, d.out_degree, d.label, d.id
        );
    }
    t
}

/// `cellkg stats` in `format`: `text` ([`stats_text`] with the `top` best-connected entities) or
/// `json` (every field of [`Stats`], pretty).
pub fn stats_output(kg: &KnowledgeGraph, format: &str, top: usize) -> Result<String> {
    let s = stats(kg);
    match format.trim().to_ascii_lowercase().as_str() {
        "text" | "table" => Ok(stats_text(&s, top)),
        "json" => serde_json::to_string_pretty(&s)
            .map(|j| j + "\n")
            .map_err(|e| Error::Other(format!("writing stats as json: {e}"))),
        _ => Err(Error::Other(format!(
            "unknown stats format `{format}`; expected text or json"
        ))),
    }
}

/// The first `max` characters of `s`, with `…` when cut.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).chain(['…']).collect()
    }
}

/// A markdown table cell: no line breaks, `|` escaped.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// The build summary written to `exports/report.md`: documents, entities by class, relations,
/// structure, prices, clinical results, conflicts and skipped input. Deterministic: no time or
/// date, every list sorted.
pub fn report(kg: &KnowledgeGraph) -> String {
    let s = stats(kg);
    let vocab = &kg.vocabulary;
    let mut t = String::new();
    let _ = writeln!(t, "# Build report\n");
    let _ = writeln!(
        t,
        "Written by `cellkg build`; the same input gives the same report. {} documents → {} \
         entities, {} distinct relations ({} assertions), {} prices, {} clinical results, {} \
         conflicts between sources.\n",
        s.documents, s.nodes, s.edges, s.assertions, s.prices, s.clinical, s.conflicts
    );

    let _ = writeln!(t, "## Documents\n");
    let _ = writeln!(
        t,
        "| document | path | encoding | characters | entities | assertions | prices | title |"
    );
    let _ = writeln!(t, "|---|---|---|---:|---:|---:|---:|---|");
    // Counts per document in one pass over each list (a scan per document is quadratic).
    let mut per_doc: std::collections::BTreeMap<&str, (usize, usize, usize)> = Default::default();
    for e in kg.entities.values() {
        for d in &e.documents {
            per_doc.entry(d).or_default().0 += 1;
        }
    }
    for a in &kg.assertions {
        per_doc.entry(&a.evidence.document).or_default().1 += 1;
    }
    for p in &kg.prices {
        per_doc.entry(&p.evidence.document).or_default().2 += 1;
    }
    for d in kg.documents.values() {
        let (entities, assertions, prices) =
            per_doc.get(d.id.as_str()).copied().unwrap_or_default();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {entities} | {assertions} | {prices} | {} |",
            cell(&d.id),
            cell(&d.path),
            cell(&d.encoding),
            d.chars,
            cell(&short(&d.title, 40))
        );
    }

    let _ = writeln!(t, "\n## Entities by class\n");
    let _ = writeln!(
        t,
        "| class | label | entities | discovered | with relations |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|");
    let connected: BTreeSet<&str> = s.degree.iter().map(|d| d.id.as_str()).collect();
    for (class, n) in &s.by_class {
        let of_class = || {
            kg.entities
                .values()
                .filter(move |e| vocab.top_class(&e.class) == class)
        };
        let discovered = of_class().filter(|e| e.discovered).count();
        let linked = of_class()
            .filter(|e| connected.contains(e.id.as_str()))
            .count();
        let zh = vocab.classes.get(class).map_or("", |c| c.label_zh.as_str());
        let _ = writeln!(t, "| {class} | {zh} | {n} | {discovered} | {linked} |");
    }

    let _ = writeln!(t, "\n## Relations\n");
    let _ = writeln!(t, "| relation | label | edges | assertions |");
    let _ = writeln!(t, "|---|---|---:|---:|");
    for (r, n) in &s.by_relation {
        let assertions = kg.assertions.iter().filter(|a| a.relation == *r).count();
        let zh = vocab.properties.get(r).map_or("", |p| p.label_zh.as_str());
        let _ = writeln!(t, "| {r} | {zh} | {n} | {assertions} |");
    }
    let _ = writeln!(
        t,
        "\n{} connected components; {} of them have relations (sizes {}); {} entities have no \
         relation.\n",
        s.components,
        s.component_sizes.len(),
        joined_sizes(&s.component_sizes),
        s.isolated.len()
    );
    let _ = writeln!(t, "Most connected:\n");
    let _ = writeln!(t, "| entity | id | degree |");
    let _ = writeln!(t, "|---|---|---:|");
    for d in s.degree.iter().take(10) {
        let _ = writeln!(t, "| {} | {} | {} |", cell(&d.label), d.id, d.degree);
    }

    let _ = writeln!(t, "\n## Prices\n");
    if kg.prices.is_empty() {
        let _ = writeln!(t, "None found.");
    } else {
        let _ = writeln!(
            t,
            "| subject | amount | currency | unit | qualifier | document | quote |"
        );
        let _ = writeln!(t, "|---|---:|---|---|---|---|---|");
        for p in &kg.prices {
            let amount = match (&p.amount, &p.amount_min, &p.amount_max) {
                (Some(a), _, _) => fmt_decimal(a),
                (None, Some(a), Some(b)) => format!("{}–{}", fmt_decimal(a), fmt_decimal(b)),
                (None, Some(a), None) => format!("≥ {}", fmt_decimal(a)),
                (None, None, Some(b)) => format!("≤ {}", fmt_decimal(b)),
                _ => "?".into(),
            };
            let _ = writeln!(
                t,
                "| {} | {amount} | {} | {} | {} | {} | {} |",
                cell(label(kg, &p.subject)),
                p.currency,
                cell(&p.unit),
                cell(&p.qualifier),
                p.evidence.document,
                cell(&p.evidence.quote)
            );
        }
    }

    let _ = writeln!(t, "\n## Clinical results\n");
    if kg.clinical.is_empty() {
        let _ = writeln!(t, "None found.");
    } else {
        let mut by_metric: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &kg.clinical {
            *by_metric.entry(&c.metric).or_default() += 1;
        }
        let _ = writeln!(
            t,
            "{} results: {}.",
            kg.clinical.len(),
            by_metric
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let _ = writeln!(t, "\n## Conflicts between sources\n");
    if kg.conflicts.is_empty() {
        let _ = writeln!(t, "None.");
    }
    for c in &kg.conflicts {
        let _ = writeln!(
            t,
            "- **{}** {} `{}`: {}",
            c.id,
            cell(label(kg, &c.subject)),
            c.relation,
            cell(&c.description)
        );
        for e in &c.evidence {
            let _ = writeln!(
                t,
                "  - {}:{}-{}: “{}”",
                e.document,
                e.start,
                e.end,
                one_line(&e.quote)
            );
        }
    }

    let _ = writeln!(t, "\n## Skipped input\n");
    let st = &kg.stats;
    let _ = writeln!(
        t,
        "{} files read; {} skipped; {} undecodable byte sequences replaced; {} relations dropped \
         for a missing end.",
        st.files_read,
        st.files_skipped.len(),
        st.replaced_sequences,
        st.relations_dropped
    );
    for (file, why) in &st.files_skipped {
        let _ = writeln!(t, "- `{}`: {}", file, one_line(why));
    }
    t
}

/// Component sizes as "5, 3, 2".
fn joined_sizes(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
