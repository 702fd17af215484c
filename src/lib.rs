//! cellkg: a knowledge-graph builder for the cell-therapy field.
//!
//! Articles go in (Chinese simplified or traditional, English; any common encoding); a graph of
//! products, targets, institutions, diseases, policies and technologies comes out, where every
//! fact carries its document, character offsets, quote, rule and confidence. The stages are
//! plain functions over plain data, in the order data flows:
//!
//! ```text
//! ingest ─▶ normalize ─▶ extract ─▶ resolve ─▶ assemble (KnowledgeGraph, petgraph) ─▶ rdf (oxigraph)
//!                                                        └──────────▶ export (csv, dot, turtle, …)
//! ```
//!
//! The domain lives in `ontology/` as data ([`ontology`] loads it); the code knows no product,
//! target or trigger word.

pub mod analysis;
pub mod assemble;
pub mod atomic;
pub mod cache;
pub mod cli;
pub mod error;
pub mod eval;
pub mod export;
pub mod extract;
pub mod ingest;
pub mod model;
pub mod normalize;
pub mod ontology;
pub mod outfile;
pub mod pipeline;
pub mod prefilter;
pub mod query;
pub mod rdf;
pub mod resolve;
pub mod serve;
pub mod turtle;
