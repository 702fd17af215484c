//! The RDF view of the graph: a [`KnowledgeGraph`] in, an oxigraph in-memory [`Store`] out, and
//! the store back out as N-Quads, N-Triples or Turtle (and in again from N-Quads).
//!
//! Everything goes to the default graph. Entities become `{ID_NS}{id}` typed with their top class
//! and their subtype, labelled with language tags (`@en`, `@zh-hans`, `@zh-hant`: oxigraph keeps
//! tags in lower case, so compare them with `langMatches`); every assertion is asserted plainly
//! (negated ones are not) and described by a `ckg:Assertion` node carrying its evidence; prices,
//! clinical results and conflicts are nodes of their own. Serialization sorts the quads first, so
//! the same graph always gives the same bytes. This module does not read the ontology, does not
//! decide what is true, and does not write files: callers hand it a writer.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::Path;

use oxigraph::io::{RdfFormat, RdfParseError, RdfParser, RdfSerializer};
use oxigraph::model::vocab::{rdf, rdfs, xsd};
use oxigraph::model::{GraphName, Literal, NamedNode, Quad, Term, Triple};
use oxigraph::store::Store;
use rayon::prelude::*;
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{
    fmt_decimal, ClinicalResult, Conflict, Evidence, KnowledgeGraph, Price, DOC_NS, ID_NS,
    ONTOLOGY_NS,
};

/// The prefixes written at the head of Turtle output, in this order.
pub const TURTLE_PREFIXES: &[(&str, &str)] = &[
    ("ckg", ONTOLOGY_NS),
    ("id", ID_NS),
    ("doc", DOC_NS),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("prov", "http://www.w3.org/ns/prov#"),
    ("schema", "https://schema.org/"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const PROV: &str = "http://www.w3.org/ns/prov#";
const SCHEMA: &str = "https://schema.org/";

/// The IRI of an entity id (`target/cd19` → `https://w3id.org/cellkg/id/target/cd19`).
///
/// Characters that may not appear in an IRI (spaces, quotes, `<>{}|\^`, controls, `%`) are
/// percent-encoded; `/` is kept, and non-ASCII letters (Chinese ids) are kept as they are.
pub fn entity_iri(id: &str) -> String {
    format!("{ID_NS}{}", iri_path(id))
}

/// The IRI of a document id (file stem), encoded like [`entity_iri`].
pub fn doc_iri(id: &str) -> String {
    format!("{DOC_NS}{}", iri_path(id))
}

/// The IRI of a term of the ontology (`targets` → `https://w3id.org/cellkg/ontology#targets`).
pub fn ontology_iri(name: &str) -> String {
    format!("{ONTOLOGY_NS}{}", iri_path(name))
}

/// Percent-encodes what an IRI path may not hold; keeps `/`, ASCII unreserved and sub-delims,
/// and non-ASCII characters.
fn iri_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | ':'
                    | '@'
                    | '/'
            )
            || (!c.is_ascii() && !c.is_control() && !is_private_or_special(c));
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Characters outside `ucschar` of RFC 3987 (private use, specials, non-characters).
fn is_private_or_special(c: char) -> bool {
    let u = c as u32;
    (0xE000..=0xF8FF).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || (0xFFF0..=0xFFFF).contains(&u)
        || u >= 0xF0000
        || (u & 0xFFFE) == 0xFFFE
}

/// True when `s` holds a Han (CJK ideograph) character.
pub(crate) fn has_han(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        (0x3400..=0x4DBF).contains(&u)
            || (0x4E00..=0x9FFF).contains(&u)
            || (0xF900..=0xFAFF).contains(&u)
            || (0x20000..=0x3FFFF).contains(&u)
    })
}

/// Collects the triples of the default graph, either as oxrdf triples or straight away as
/// N-Triples lines (one allocation for the whole graph instead of several per triple).
enum Builder {
    Triples(Vec<Triple>),
    Lines(LineBuffer),
}

impl Builder {
    fn push(&mut self, t: Triple) {
        match self {
            Builder::Triples(v) => v.push(t),
            Builder::Lines(lines) => lines.push(&t),
        }
    }

    /// `p` is always a term of the vocabularies above (a constant), so it is not checked again.
    fn add(&mut self, s: &NamedNode, p: &str, o: impl Into<Term>) -> Result<()> {
        debug_assert!(NamedNode::new(p).is_ok(), "invalid predicate <{p}>");
        self.push(Triple::new(s.clone(), NamedNode::new_unchecked(p), o));
        Ok(())
    }

    fn add_lang(&mut self, s: &NamedNode, p: &str, value: &str, lang: &str) -> Result<()> {
        let lit = Literal::new_language_tagged_literal(value, lang)
            .map_err(|e| Error::Other(format!("invalid language tag {lang}: {e}")))?;
        self.add(s, p, lit)
    }

    fn add_typed(&mut self, s: &NamedNode, p: &str, value: String, dt: &str) -> Result<()> {
        let dt = named(dt)?;
        self.add(s, p, Literal::new_typed_literal(value, dt))
    }

    fn add_decimal(&mut self, s: &NamedNode, p: &str, d: &Decimal) -> Result<()> {
        self.add_typed(s, p, fmt_decimal(d), xsd::DECIMAL.as_str())
    }

    fn add_evidence(&mut self, s: &NamedNode, ev: &Evidence) -> Result<()> {
        self.add(
            s,
            &format!("{PROV}wasDerivedFrom"),
            named(&doc_iri(&ev.document))?,
        )?;
        self.add(s, &ckg("quote"), Literal::new_simple_literal(&ev.quote))?;
        self.add_typed(
            s,
            &ckg("start"),
            ev.start.to_string(),
            xsd::INTEGER.as_str(),
        )?;
        self.add_typed(s, &ckg("end"), ev.end.to_string(), xsd::INTEGER.as_str())?;
        self.add(s, &ckg("rule"), Literal::new_simple_literal(&ev.rule))?;
        let confidence = confidence_decimal(ev.confidence).ok_or_else(|| {
            Error::Other(format!(
                "{}:{}: confidence {} is not a finite number",
                ev.document, ev.start, ev.confidence
            ))
        })?;
        self.add_typed(s, &ckg("confidence"), confidence, xsd::DECIMAL.as_str())?;
        if let Some(year) = ev.year {
            self.add_typed(s, &ckg("year"), format!("{year:04}"), xsd::G_YEAR.as_str())?;
        }
        Ok(())
    }
}

fn ckg(local: &str) -> String {
    format!("{ONTOLOGY_NS}{local}")
}

fn named(iri: &str) -> Result<NamedNode> {
    NamedNode::new(iri).map_err(|e| Error::Other(format!("invalid iri <{iri}>: {e}")))
}

/// A confidence as an `xsd:decimal` lexical form (four decimals at most, no trailing zeros).
fn confidence_decimal(c: f64) -> Option<String> {
    if !c.is_finite() {
        return None;
    }
    let d = Decimal::try_from(c).ok()?.round_dp(4);
    Some(fmt_decimal(&d))
}

/// The node an id stands for: the entity IRI when the id is a known entity, else a plain literal.
fn entity_or_literal(kg: &KnowledgeGraph, value: &str) -> Result<Term> {
    if kg.entities.contains_key(value) {
        Ok(named(&entity_iri(value))?.into())
    } else {
        Ok(Literal::new_simple_literal(value).into())
    }
}

/// Maps the graph to RDF triples, in no particular order (see [`to_store`]).
pub fn to_triples(kg: &KnowledgeGraph) -> Result<Vec<Triple>> {
    let mut b = Builder::Triples(Vec::new());
    fill(&mut b, kg)?;
    match b {
        Builder::Triples(v) => Ok(v),
        Builder::Lines(_) => unreachable!("built as triples"),
    }
}

/// Maps the graph to RDF and serializes it as N-Triples lines, sorted and deduplicated: the
/// bytes of `graph.nq` and `store.nq`, and the order of `graph.ttl`.
pub fn sorted_ntriples(kg: &KnowledgeGraph) -> Result<SortedLines> {
    let mut b = Builder::Lines(LineBuffer::default());
    fill(&mut b, kg)?;
    match b {
        Builder::Lines(lines) => Ok(lines.sorted()),
        Builder::Triples(_) => unreachable!("built as lines"),
    }
}

fn fill(b: &mut Builder, kg: &KnowledgeGraph) -> Result<()> {
    let rdf_type = rdf::TYPE.as_str();
    let label = rdfs::LABEL.as_str();
    let alt_label = format!("{SKOS}altLabel");

    for doc in kg.documents.values() {
        let d = named(&doc_iri(&doc.id))?;
        b.add(&d, rdf_type, named(&ckg("Document"))?)?;
        b.add(
            &d,
            &format!("{SCHEMA}name"),
            Literal::new_simple_literal(&doc.title),
        )?;
        b.add(&d, &ckg("path"), Literal::new_simple_literal(&doc.path))?;
        b.add(
            &d,
            &ckg("encoding"),
            Literal::new_simple_literal(&doc.encoding),
        )?;
        b.add(&d, &ckg("sha256"), Literal::new_simple_literal(&doc.sha256))?;
    }

    for e in kg.entities.values() {
        let s = named(&entity_iri(&e.id))?;
        b.add(&s, rdf_type, named(&ontology_iri(&e.class))?)?;
        if let Some(sub) = e.subtype.as_deref().filter(|sub| *sub != e.class) {
            b.add(&s, rdf_type, named(&ontology_iri(sub))?)?;
        }
        if let Some(l) = &e.label_en {
            b.add_lang(&s, label, l, "en")?;
        }
        if let Some(l) = &e.label_zh {
            b.add_lang(&s, label, l, "zh-Hans")?;
        }
        if let Some(l) = &e.label_zh_hant {
            b.add_lang(&s, label, l, "zh-Hant")?;
        }
        if e.label_en.is_none() && e.label_zh.is_none() && e.label_zh_hant.is_none() {
            b.add(&s, label, Literal::new_simple_literal(&e.label))?;
        }
        for alias in &e.aliases {
            if has_han(alias) {
                b.add_lang(&s, &alt_label, alias, "zh-Hans")?;
            } else {
                b.add(&s, &alt_label, Literal::new_simple_literal(alias))?;
            }
        }
        for ext in &e.external_ids {
            let o = NamedNode::new(ext.as_str()).map_err(|err| {
                Error::Other(format!(
                    "entity {}: invalid external id <{ext}>: {err}",
                    e.id
                ))
            })?;
            b.add(&s, &format!("{SKOS}exactMatch"), o)?;
        }
        if e.discovered {
            b.add(&s, &ckg("discovered"), Literal::from(true))?;
        }
        for doc in &e.documents {
            b.add(&s, &ckg("mentionedIn"), named(&doc_iri(doc))?)?;
        }
    }

    let mut per_doc: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &kg.assertions {
        let n = next_index(&mut per_doc, &a.evidence.document);
        let s = named(&entity_iri(&a.subject))?;
        let p = named(&ontology_iri(&a.relation))?;
        let o = entity_or_literal(kg, &a.object)?;
        if !a.negated {
            b.push(Triple::new(s.clone(), p.clone(), o.clone()));
        }
        let node = named(&format!(
            "{ID_NS}assertion/{}/{n}",
            iri_path(&a.evidence.document)
        ))?;
        b.add(&node, rdf_type, named(&ckg("Assertion"))?)?;
        b.add(&node, rdf::SUBJECT.as_str(), s)?;
        b.add(&node, rdf::PREDICATE.as_str(), p)?;
        b.add(&node, rdf::OBJECT.as_str(), o)?;
        if a.negated {
            b.add(&node, &ckg("negated"), Literal::from(true))?;
        }
        b.add_evidence(&node, &a.evidence)?;
    }

    per_doc.clear();
    for p in &kg.prices {
        let n = next_index(&mut per_doc, &p.evidence.document);
        add_price(b, kg, p, n)?;
    }

    per_doc.clear();
    for c in &kg.clinical {
        let n = next_index(&mut per_doc, &c.evidence.document);
        add_clinical(b, kg, c, n)?;
    }

    for c in &kg.conflicts {
        add_conflict(b, kg, c)?;
    }
    Ok(())
}

fn next_index<'a>(per_doc: &mut BTreeMap<&'a str, usize>, doc: &'a str) -> usize {
    let slot = per_doc.entry(doc).or_insert(0);
    let n = *slot;
    *slot += 1;
    n
}

fn add_price(b: &mut Builder, kg: &KnowledgeGraph, p: &Price, n: usize) -> Result<()> {
    let node = named(&format!(
        "{ID_NS}price/{}/{n}",
        iri_path(&p.evidence.document)
    ))?;
    b.add(&node, rdf::TYPE.as_str(), named(&ckg("Price"))?)?;
    b.add(&node, &ckg("priceOf"), entity_or_literal(kg, &p.subject)?)?;
    if let Some(a) = &p.amount {
        b.add_decimal(&node, &format!("{SCHEMA}price"), a)?;
    }
    if let Some(a) = &p.amount_min {
        b.add_decimal(&node, &ckg("minPrice"), a)?;
    }
    if let Some(a) = &p.amount_max {
        b.add_decimal(&node, &ckg("maxPrice"), a)?;
    }
    if !p.currency.is_empty() {
        b.add(
            &node,
            &format!("{SCHEMA}priceCurrency"),
            Literal::new_simple_literal(&p.currency),
        )?;
    }
    if !p.unit.is_empty() {
        b.add(&node, &ckg("unit"), Literal::new_simple_literal(&p.unit))?;
    }
    if !p.qualifier.is_empty() {
        b.add(
            &node,
            &ckg("qualifier"),
            Literal::new_simple_literal(&p.qualifier),
        )?;
    }
    b.add_evidence(&node, &p.evidence)
}

fn add_clinical(b: &mut Builder, kg: &KnowledgeGraph, c: &ClinicalResult, n: usize) -> Result<()> {
    let node = named(&format!(
        "{ID_NS}clinical/{}/{n}",
        iri_path(&c.evidence.document)
    ))?;
    b.add(&node, rdf::TYPE.as_str(), named(&ckg("ClinicalResult"))?)?;
    b.add(&node, &ckg("resultOf"), entity_or_literal(kg, &c.product)?)?;
    if let Some(i) = &c.indication {
        b.add(&node, &ckg("indication"), entity_or_literal(kg, i)?)?;
    }
    b.add(
        &node,
        &ckg("metric"),
        Literal::new_simple_literal(&c.metric),
    )?;
    if let Some(v) = &c.value {
        b.add_decimal(&node, &ckg("value"), v)?;
    }
    if let Some(v) = &c.value_min {
        b.add_decimal(&node, &ckg("minValue"), v)?;
    }
    if let Some(v) = &c.value_max {
        b.add_decimal(&node, &ckg("maxValue"), v)?;
    }
    b.add_evidence(&node, &c.evidence)
}

fn add_conflict(b: &mut Builder, kg: &KnowledgeGraph, c: &Conflict) -> Result<()> {
    let node = named(&entity_iri(&c.id))?;
    let subject = named(&entity_iri(&c.subject))?;
    b.add(&node, rdf::TYPE.as_str(), named(&ckg("Conflict"))?)?;
    b.add(&node, &ckg("about"), subject.clone())?;
    // A conflict may be about a group of properties ("developedBy|marketedBy") or a price.
    for r in c.relation.split('|') {
        let iri = if r == "price" {
            "https://schema.org/price".to_string()
        } else {
            ontology_iri(r)
        };
        b.add(&node, &ckg("relation"), named(&iri)?)?;
    }
    for v in &c.values {
        b.add(&node, &ckg("value"), entity_or_literal(kg, v)?)?;
    }
    b.add(
        &node,
        rdfs::COMMENT.as_str(),
        Literal::new_simple_literal(&c.description),
    )?;
    for ev in &c.evidence {
        if kg.documents.contains_key(&ev.document) {
            b.add(
                &node,
                &format!("{PROV}wasDerivedFrom"),
                named(&doc_iri(&ev.document))?,
            )?;
        }
    }
    b.add(&subject, &ckg("hasConflict"), node)
}

/// Maps the graph to RDF in the default graph of a new in-memory store (filled by oxigraph's
/// bulk loader).
pub fn to_store(kg: &KnowledgeGraph) -> Result<Store> {
    let triples = to_triples(kg)?;
    let store = Store::new().map_err(|e| Error::Other(format!("creating the rdf store: {e}")))?;
    let mut loader = store
        .bulk_loader()
        .with_num_threads(rayon::current_num_threads());
    loader
        .load_quads(
            triples
                .into_iter()
                .map(|t| t.in_graph(GraphName::DefaultGraph)),
        )
        .and_then(|_| loader.commit())
        .map_err(|e| Error::Other(format!("filling the rdf store: {e}")))?;
    Ok(store)
}

/// Every quad of the store, sorted by subject, predicate, object, graph (as N-Quads terms).
pub fn sorted_quads(store: &Store) -> Result<Vec<Quad>> {
    let quads = store
        .iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Other(format!("reading the rdf store: {e}")))?;
    Ok(sort_quads(quads))
}

fn sort_quads(quads: Vec<Quad>) -> Vec<Quad> {
    let mut keyed: Vec<_> = quads
        .into_iter()
        .map(|q| {
            (
                (
                    q.subject.to_string(),
                    q.predicate.to_string(),
                    q.object.to_string(),
                    q.graph_name.to_string(),
                ),
                q,
            )
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, q)| q).collect()
}

/// Sorts and deduplicates triples by subject, predicate, object.
pub fn sort_triples(triples: Vec<Triple>) -> Vec<Triple> {
    let mut keyed: Vec<_> = triples
        .into_iter()
        .map(|t| {
            (
                (
                    t.subject.to_string(),
                    t.predicate.to_string(),
                    t.object.to_string(),
                ),
                t,
            )
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, t)| t).collect()
}

/// The triples of the store (graph names dropped), sorted and deduplicated.
fn store_triples(store: &Store) -> io::Result<Vec<Triple>> {
    let quads = store
        .iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)?;
    Ok(sort_triples(
        quads.into_iter().map(Triple::from).collect::<Vec<_>>(),
    ))
}

/// Writes the store as N-Quads, sorted. I/O errors are returned as they are.
pub(crate) fn write_nquads_io(store: &Store, w: impl Write) -> io::Result<()> {
    let quads = store
        .iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)?;
    let mut ser = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(w);
    for q in sort_quads(quads) {
        ser.serialize_quad(&q)?;
    }
    ser.finish()?.flush()
}

/// Writes the store's triples in `format` (N-Triples or Turtle), sorted.
pub(crate) fn write_graph_io(store: &Store, format: RdfFormat, w: impl Write) -> io::Result<()> {
    write_sorted_triples_io(store_triples(store)?, format, w)
}

/// Writes already sorted triples as N-Triples or Turtle (prefixes as in [`write_turtle`]).
pub(crate) fn write_sorted_triples_io(
    triples: Vec<Triple>,
    format: RdfFormat,
    w: impl Write,
) -> io::Result<()> {
    if format != RdfFormat::Turtle {
        let mut ser = RdfSerializer::from_format(format).for_writer(w);
        for t in &triples {
            ser.serialize_triple(t)?;
        }
        return ser.finish()?.flush();
    }
    let prefixes = turtle_prefixes(triples.iter().flat_map(|t| {
        let s = match &t.subject {
            oxigraph::model::NamedOrBlankNode::NamedNode(n) => Some(n.as_str()),
            _ => None,
        };
        let o = match &t.object {
            Term::NamedNode(n) => Some(n.as_str()),
            _ => None,
        };
        s.into_iter().chain(o)
    }));
    write_turtle_with(&prefixes, triples.into_iter().map(Ok), w)
}

/// Writes triples, in the order given, as Turtle with `prefixes` at the head.
fn write_turtle_with(
    prefixes: &[(String, String)],
    triples: impl Iterator<Item = io::Result<Triple>>,
    mut w: impl Write,
) -> io::Result<()> {
    for (name, iri) in prefixes {
        writeln!(w, "@prefix {name}: <{iri}> .")?;
    }
    write_turtle_body(prefixes, triples, &mut w)?;
    w.flush()
}

/// Writes triples as Turtle using `prefixes`, without the `@prefix` lines: oxttl writes its
/// prelude in an order that is not fixed when two IRIs have the same length (ckg and xsd do),
/// so callers write their own and the serializer's is dropped.
fn write_turtle_body(
    prefixes: &[(String, String)],
    triples: impl Iterator<Item = io::Result<Triple>>,
    w: impl Write,
) -> io::Result<()> {
    let mut ser = RdfSerializer::from_format(RdfFormat::Turtle);
    for (name, iri) in prefixes {
        ser = ser
            .with_prefix(name.as_str(), iri.as_str())
            .map_err(io::Error::other)?;
    }
    let mut ser = ser.for_writer(SkipPrelude::new(w));
    for t in triples {
        ser.serialize_triple(&t?)?;
    }
    ser.finish()?.finish()?;
    Ok(())
}

/// A writer that drops the `@prefix` lines at the head of what is written through it,
/// however the writes are cut.
struct SkipPrelude<W: Write> {
    inner: W,
    /// Bytes of the head not yet known to be a prefix line or the body; `None` once in the body.
    pending: Option<Vec<u8>>,
}

impl<W: Write> SkipPrelude<W> {
    fn new(inner: W) -> Self {
        SkipPrelude {
            inner,
            pending: Some(Vec::new()),
        }
    }

    /// Writes out what is still held (a body shorter than a prefix line) and returns the writer.
    fn finish(mut self) -> io::Result<W> {
        if let Some(rest) = self.pending.take() {
            self.inner.write_all(&rest)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for SkipPrelude<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(pending) = &mut self.pending else {
            return self.inner.write(buf);
        };
        pending.extend_from_slice(buf);
        const HEAD: &[u8] = b"@prefix ";
        loop {
            if pending.starts_with(HEAD) {
                match pending.iter().position(|&c| c == b'\n') {
                    Some(i) => drop(pending.drain(..=i)),
                    None => return Ok(buf.len()),
                }
            } else if pending.len() < HEAD.len() && HEAD.starts_with(pending) {
                return Ok(buf.len());
            } else {
                let body = std::mem::take(pending);
                self.pending = None;
                self.inner.write_all(&body)?;
                return Ok(buf.len());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// [`TURTLE_PREFIXES`], then one prefix per first path segment of the entity and node IRIs
/// used (`product: <…/id/product/>`, `assertion: <…/id/assertion/>`), sorted by name, so that
/// Turtle reads `product:yescarta` as the lexicon files do. Segments that are not plain names
/// or that clash with a standard prefix are left to `id:`.
fn turtle_prefixes<'a>(iris: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = TURTLE_PREFIXES
        .iter()
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect();
    let mut segments = std::collections::BTreeSet::new();
    for iri in iris {
        if let Some((segment, _)) = iri.strip_prefix(ID_NS).and_then(|r| r.split_once('/')) {
            if !segments.contains(segment) {
                segments.insert(segment.to_string());
            }
        }
    }
    for segment in segments {
        let plain = segment.starts_with(|c: char| c.is_ascii_alphabetic())
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if plain && !TURTLE_PREFIXES.iter().any(|(n, _)| *n == segment) {
            let iri = format!("{ID_NS}{segment}/");
            out.push((segment, iri));
        }
    }
    out
}

/// N-Triples lines, one after another in one buffer, as the graph is mapped.
#[derive(Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl LineBuffer {
    fn push(&mut self, t: &Triple) {
        let start = self.buf.len();
        // oxrdf's Display of a triple is its N-Triples form, the very form oxttl's N-Triples
        // serializer and its N-Quads one (for the default graph) write.
        let _ = writeln!(self.buf, "{t} .");
        self.spans.push((start, self.buf.len()));
    }

    /// Sorts the lines bytewise (in parallel) and drops repeats.
    fn sorted(mut self) -> SortedLines {
        let buf = &self.buf;
        self.spans
            .par_sort_unstable_by(|a, b| buf[a.0..a.1].cmp(&buf[b.0..b.1]));
        self.spans.dedup_by(|a, b| buf[a.0..a.1] == buf[b.0..b.1]);
        SortedLines {
            buf: self.buf,
            spans: self.spans,
        }
    }
}

/// The graph as sorted, distinct N-Triples lines ([`sorted_ntriples`]).
pub struct SortedLines {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl SortedLines {
    /// The number of distinct triples.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no triple at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The lines, each ending with a line feed.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|&(a, b)| &self.buf[a..b])
    }

    /// Writes the lines: N-Triples, and N-Quads too (everything is in the default graph).
    pub fn write_ntriples(&self, mut w: impl Write) -> io::Result<()> {
        for line in self.lines() {
            w.write_all(line)?;
        }
        w.flush()
    }

    /// Writes the triples as Turtle, in the lines' order, with the prefixes of [`write_turtle`].
    pub fn write_turtle(&self, w: impl Write) -> io::Result<()> {
        self.write_turtle_in_runs(w, TURTLE_RUN)
    }

    fn write_turtle_in_runs(&self, mut w: impl Write, run: usize) -> io::Result<()> {
        let prefixes = turtle_prefixes(self.lines().flat_map(line_iris));
        for (name, iri) in &prefixes {
            writeln!(w, "@prefix {name}: <{iri}> .")?;
        }
        // Runs of whole subjects are serialized apart, in parallel, and written in order: the
        // serializer keeps no state across subjects, so the bytes are those of one pass.
        let bounds = self.subject_runs(run.max(1));
        let window = 2 * rayon::current_num_threads().max(1);
        for group in bounds.windows(2).collect::<Vec<_>>().chunks(window) {
            let parts: Vec<io::Result<Vec<u8>>> = group
                .par_iter()
                .map(|b| {
                    let mut out = Vec::new();
                    // The lines were written from checked terms: read them back unchecked.
                    let triples = RdfParser::from_format(RdfFormat::NTriples)
                        .lenient()
                        .for_reader(LinesReader {
                            lines: self.spans[b[0]..b[1]].iter().map(|&(x, y)| &self.buf[x..y]),
                            current: &[],
                        })
                        .map(|q| q.map(Triple::from).map_err(io::Error::other));
                    write_turtle_body(&prefixes, triples, &mut out)?;
                    Ok(out)
                })
                .collect();
            for part in parts {
                w.write_all(&part?)?;
            }
        }
        w.flush()
    }

    /// Line indexes cutting the lines into runs of about `size` lines, each cut falling where
    /// the subject changes (first 0, last the number of lines).
    fn subject_runs(&self, size: usize) -> Vec<usize> {
        let subject = |i: usize| {
            let (a, b) = self.spans[i];
            let line = &self.buf[a..b];
            &line[..line.iter().position(|&c| c == b' ').unwrap_or(line.len())]
        };
        let n = self.spans.len();
        let mut bounds = vec![0];
        let mut i = size;
        while i < n {
            while i < n && subject(i) == subject(i - 1) {
                i += 1;
            }
            if i < n {
                bounds.push(i);
            }
            i += size;
        }
        bounds.push(n);
        bounds
    }
}

/// Lines per run of [`SortedLines::write_turtle`].
const TURTLE_RUN: usize = 20_000;

/// The subject IRI and the object IRI of an N-Triples line (as [`LineBuffer`] writes them).
fn line_iris(line: &[u8]) -> impl Iterator<Item = &str> {
    let text = std::str::from_utf8(line).unwrap_or("");
    let subject = text
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .map(|(iri, _)| iri);
    // An object IRI is the last `<…>` of the line when a space, not `^^`, comes before it.
    let object = text
        .strip_suffix("> .\n")
        .and_then(|r| r.rfind('<').map(|i| (r, i)))
        .filter(|(r, i)| *i > 0 && r.as_bytes()[i - 1] == b' ')
        .map(|(r, i)| &r[i + 1..]);
    subject.into_iter().chain(object)
}

/// Reads a sequence of byte slices as one stream.
struct LinesReader<'a, I: Iterator<Item = &'a [u8]>> {
    lines: I,
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a [u8]>> io::Read for LinesReader<'a, I> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            if self.current.is_empty() {
                match self.lines.next() {
                    Some(line) => self.current = line,
                    None => break,
                }
            }
            let k = self.current.len().min(out.len() - n);
            out[n..n + k].copy_from_slice(&self.current[..k]);
            self.current = &self.current[k..];
            n += k;
        }
        Ok(n)
    }
}

fn write_error(what: &str, e: io::Error) -> Error {
    Error::Other(format!("writing {what}: {e}"))
}

/// Writes every quad of the store as N-Quads, sorted.
pub fn write_nquads(store: &Store, w: impl Write) -> Result<()> {
    write_nquads_io(store, w).map_err(|e| write_error("n-quads", e))
}

/// Writes the store's triples as Turtle, sorted by subject, with the [`TURTLE_PREFIXES`] and
/// one prefix per kind of node (`product:`, `assertion:`…).
pub fn write_turtle(store: &Store, w: impl Write) -> Result<()> {
    write_graph_io(store, RdfFormat::Turtle, w).map_err(|e| write_error("turtle", e))
}

/// Writes the store's triples as N-Triples, sorted.
pub fn write_ntriples(store: &Store, w: impl Write) -> Result<()> {
    write_graph_io(store, RdfFormat::NTriples, w).map_err(|e| write_error("n-triples", e))
}

/// Writes every quad of the store as sorted N-Quads into the file `path` (created or truncated);
/// errors name the file.
pub fn write_nquads_file(store: &Store, path: &Path) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    write_nquads_io(store, io::BufWriter::new(file)).map_err(|e| Error::io(path, e))
}

/// Loads an N-Quads file (as written by [`write_nquads`]) into a new in-memory store.
///
/// Syntax errors name the file, line and column (1-based).
pub fn load_nquads(path: &Path) -> Result<Store> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let store = Store::new().map_err(|e| Error::Other(format!("creating the rdf store: {e}")))?;
    // The quads go to oxigraph's bulk loader as they are parsed; the first error stops the
    // stream and is reported with its position (the half-filled store is dropped).
    let mut failure: Option<Error> = None;
    let quads = RdfParser::from_format(RdfFormat::NQuads)
        .for_reader(BufReader::with_capacity(1 << 20, file))
        .map_while(|q| match q {
            Ok(q) => Some(q),
            Err(e) => {
                failure = Some(parse_error(path, e));
                None
            }
        });
    let mut loader = store
        .bulk_loader()
        .with_num_threads(rayon::current_num_threads());
    let loaded = loader.load_quads(quads);
    if let Some(e) = failure {
        return Err(e);
    }
    loaded
        .and_then(|_| loader.commit())
        .map_err(|e| Error::Other(format!("{}: filling the rdf store: {e}", path.display())))?;
    Ok(store)
}

fn parse_error(path: &Path, e: RdfParseError) -> Error {
    match e {
        RdfParseError::Io(e) => Error::io(path, e),
        RdfParseError::Syntax(e) => {
            let message = strip_position(&e.to_string());
            match e.location() {
                Some(loc) => Error::Syntax {
                    path: path.to_path_buf(),
                    line: loc.start.line + 1,
                    column: loc.start.column + 1,
                    message,
                },
                None => Error::Config {
                    path: path.to_path_buf(),
                    message,
                },
            }
        }
    }
}

/// Drops oxttl's "Parser error at line L column C: " head (the position is reported apart) and
/// lowercases the first letter of what remains.
fn strip_position(msg: &str) -> String {
    let rest = if msg.starts_with("Parser error ") {
        // The head ends at the first ": " after a column number.
        match msg.find("column") {
            Some(i) => msg[i..].find(": ").map_or(msg, |j| &msg[i + j + 2..]),
            None => msg,
        }
    } else {
        msg
    };
    let mut chars = rest.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turtle_written_in_runs_is_turtle_written_at_once() {
        let mut lines = LineBuffer::default();
        let p = NamedNode::new_unchecked(format!("{ONTOLOGY_NS}p"));
        for i in 0..7 {
            let s = NamedNode::new_unchecked(format!("{ID_NS}product/p{i}"));
            for j in 0..=i % 3 {
                lines.push(&Triple::new(
                    s.clone(),
                    p.clone(),
                    Literal::new_simple_literal(format!("v{j}")),
                ));
                lines.push(&Triple::new(
                    s.clone(),
                    rdf::TYPE.into_owned(),
                    NamedNode::new_unchecked(format!("{ONTOLOGY_NS}Product")),
                ));
            }
        }
        let sorted = lines.sorted();
        let mut whole = Vec::new();
        sorted.write_turtle_in_runs(&mut whole, 1_000).unwrap();
        for run in [1, 2, 3, 5] {
            let mut parts = Vec::new();
            sorted.write_turtle_in_runs(&mut parts, run).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&parts),
                String::from_utf8_lossy(&whole),
                "runs of {run}"
            );
        }
        let text = String::from_utf8(whole).unwrap();
        assert!(text.starts_with("@prefix ckg: "), "{text}");
        assert!(text.contains("product:p6 "), "{text}");
    }

    #[test]
    fn iri_paths_are_encoded() {
        assert_eq!(iri_path("target/cd19"), "target/cd19");
        assert_eq!(iri_path("新闻 2024"), "新闻%202024");
        assert_eq!(iri_path("a<b>\"%"), "a%3Cb%3E%22%25");
    }

    #[test]
    fn parser_heads_are_stripped() {
        assert_eq!(
            strip_position("Parser error at line 2 column 5: Unexpected end"),
            "unexpected end"
        );
        assert_eq!(
            strip_position("Parser error at line 2 between columns 5 and 9: Bad IRI: x"),
            "bad IRI: x"
        );
    }

    #[test]
    fn confidences_are_decimals() {
        assert_eq!(confidence_decimal(0.9).as_deref(), Some("0.9"));
        assert_eq!(confidence_decimal(1.0).as_deref(), Some("1"));
        assert_eq!(confidence_decimal(f64::NAN), None);
    }
}
