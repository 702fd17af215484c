//! Views of the assembled [`KnowledgeGraph`] as a petgraph graph, for algorithms and drawing.
//!
//! In: the knowledge graph. Out: a `petgraph` directed graph whose nodes are entity ids
//! (inserted in id order, so node indices are stable) and whose edges are the distinct
//! relations. It does not change the graph.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::{Edge, KnowledgeGraph};

/// The graph as petgraph, with the index of each entity id.
pub struct GraphView {
    pub graph: DiGraph<String, Edge>,
    pub index: BTreeMap<String, NodeIndex>,
}

/// Builds the petgraph view: one node per entity (id order), one edge per distinct relation.
pub fn to_petgraph(kg: &KnowledgeGraph) -> GraphView {
    let mut graph = DiGraph::new();
    let mut index = BTreeMap::new();
    for id in kg.entities.keys() {
        index.insert(id.clone(), graph.add_node(id.clone()));
    }
    for e in kg.edges() {
        if let (Some(&a), Some(&b)) = (index.get(&e.source), index.get(&e.target)) {
            graph.add_edge(a, b, e);
        }
    }
    GraphView { graph, index }
}
