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

use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::Path;

use oxigraph::io::{RdfFormat, RdfParseError, RdfParser, RdfSerializer, WriterQuadSerializer};
use oxigraph::model::vocab::{rdf, rdfs, xsd};
use oxigraph::model::{GraphName, NamedNode, NamedNodeRef, Quad, Term, Triple};
use oxigraph::store::Store;
use rayon::prelude::*;
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{
    fmt_decimal, Assertion, ClinicalResult, Conflict, DocumentInfo, Entity, Evidence,
    KnowledgeGraph, Price, DOC_NS, ID_NS, ONTOLOGY_NS,
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

// The mapping. It writes N-Triples lines straight away, without building oxrdf terms: on a large
// graph the owned terms (several strings per triple) and their `Display` cost more than the rest
// of the exports. The bytes are those of oxrdf's `Display` of each triple followed by ` .\n`,
// which is what oxttl's N-Triples and N-Quads serializers write too (the tests compare).

const RDF_TYPE: &str = rdf::TYPE.as_str();
const RDF_SUBJECT: &str = rdf::SUBJECT.as_str();
const RDF_PREDICATE: &str = rdf::PREDICATE.as_str();
const RDF_OBJECT: &str = rdf::OBJECT.as_str();
const RDFS_LABEL: &str = rdfs::LABEL.as_str();
const RDFS_COMMENT: &str = rdfs::COMMENT.as_str();
const XSD_BOOLEAN: &str = xsd::BOOLEAN.as_str();
const XSD_DECIMAL: &str = xsd::DECIMAL.as_str();
const XSD_INTEGER: &str = xsd::INTEGER.as_str();
const XSD_G_YEAR: &str = xsd::G_YEAR.as_str();

/// An IRI in two pieces written one after the other (a namespace and a local name, or a whole
/// IRI and `""`), so that the constant terms of the mapping are never built. The pieces are
/// known to make a valid IRI: constants, or IRIs checked once when made from data ([`checked`]).
#[derive(Clone, Copy)]
struct Iri<'a>(&'a str, &'a str);

impl<'a> Iri<'a> {
    const fn whole(iri: &'a str) -> Self {
        Iri(iri, "")
    }
}

/// A term of the ontology namespace.
const fn ckg(local: &'static str) -> Iri<'static> {
    Iri(ONTOLOGY_NS, local)
}

/// The object of a line: an IRI or a literal (its value as it is, escaped when written).
#[derive(Clone, Copy)]
enum Object<'a> {
    Iri(Iri<'a>),
    /// A simple (`xsd:string`) literal.
    Str(&'a str),
    /// A language-tagged literal; the tag in lower case, as oxrdf keeps and writes it.
    Lang(&'a str, &'static str),
    /// A typed literal: its lexical form and its datatype IRI.
    Typed(&'a str, &'static str),
}

const TRUE: Object<'static> = Object::Typed("true", XSD_BOOLEAN);

/// `iri` when it is a valid IRI (what `NamedNode::new` accepts), else the error the mapping
/// reports.
fn checked(iri: String) -> Result<String> {
    match NamedNode::new(iri) {
        Ok(n) => Ok(n.into_string()),
        Err(e) => Err(Error::Other(format!("invalid iri: {e}"))),
    }
}

/// A confidence as an `xsd:decimal` lexical form (four decimals at most, no trailing zeros).
fn confidence_decimal(c: f64) -> Option<String> {
    if !c.is_finite() {
        return None;
    }
    let d = Decimal::try_from(c).ok()?.round_dp(4);
    Some(fmt_decimal(&d))
}

/// The decimal digits of `n` in `buf`.
fn uint(n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Running numbers per document, in the order of `docs`: the `n` of the nodes
/// `{kind}/{document}/{n}` (0 for a document's first fact of a kind, 1 for its second…).
fn running_numbers<'a>(docs: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let mut per_doc: FxHashMap<&str, usize> = FxHashMap::default();
    docs.map(|doc| {
        let slot = per_doc.entry(doc).or_insert(0);
        *slot += 1;
        *slot - 1
    })
    .collect()
}

/// Facts per part of the mapping: the parts are mapped in parallel, each into a buffer of its
/// own (a few MB, so that no buffer is copied as it grows: fresh memory is costly to touch).
const FACTS_PER_PART: usize = 2048;
/// Lines per part for the entities and documents (an entity has a line per document).
const LINES_PER_PART: usize = 32_768;

/// A slice of the graph mapped as one unit; assertions, prices and clinical results are given
/// by their indexes in the graph.
enum Part<'a> {
    Documents(&'a [&'a DocumentInfo]),
    Entities(&'a [&'a Entity]),
    /// The triples the assertions assert (not their nodes).
    Asserted(&'a [Assertion]),
    /// The nodes of the assertions.
    Assertions(&'a [usize]),
    Prices(&'a [usize]),
    Clinical(&'a [usize]),
    /// The nodes of the conflicts.
    Conflicts(&'a [Conflict]),
    /// The `hasConflict` links from the conflicts' subjects to their nodes.
    ConflictLinks(&'a [&'a Conflict]),
}

/// What every part looks up, made once per graph: the IRIs of the entities and documents.
struct Mapping<'a> {
    kg: &'a KnowledgeGraph,
    /// Entity id → its IRI.
    entities: FxHashMap<&'a str, String>,
    /// Document id → its IRI and its encoded IRI path.
    documents: FxHashMap<&'a str, (String, String)>,
}

impl<'a> Mapping<'a> {
    fn new(kg: &'a KnowledgeGraph) -> Result<Self> {
        let entities = kg
            .entities
            .keys()
            .map(|id| Ok((id.as_str(), checked(entity_iri(id))?)))
            .collect::<Result<_>>()?;
        let documents = kg
            .documents
            .keys()
            .map(|id| {
                let path = iri_path(id);
                Ok((id.as_str(), (checked(format!("{DOC_NS}{path}"))?, path)))
            })
            .collect::<Result<_>>()?;
        Ok(Mapping {
            kg,
            entities,
            documents,
        })
    }

    /// The parts of the graph, each a bounded amount of work. The parts are cut so that each
    /// covers a range of the sorted lines that hardly overlaps the others' (nodes in the order
    /// of their document, entities by first path segment, the asserted triples apart), which
    /// makes the final sort of [`SortedLines::new`] little more than a concatenation.
    fn parts<'p>(&self, plan: &'p Plan<'a>) -> Vec<Part<'p>>
    where
        'a: 'p,
    {
        let kg = self.kg;
        let mut parts = Vec::new();
        for docs in plan.documents.chunks(LINES_PER_PART / 5) {
            parts.push(Part::Documents(docs));
        }
        let mut start = 0;
        let mut lines = 0;
        for (i, e) in plan.entities.iter().enumerate() {
            lines += 4 + e.aliases.len() + e.external_ids.len() + e.documents.len();
            let last = i + 1 == plan.entities.len()
                || lines >= LINES_PER_PART
                || segment_of(&e.id) != segment_of(&plan.entities[i + 1].id);
            if last {
                parts.push(Part::Entities(&plan.entities[start..=i]));
                start = i + 1;
                lines = 0;
            }
        }
        let n = FACTS_PER_PART;
        // The asserted triples' subjects are entities: cut where their first path segment
        // changes too, so that a part stays within the range of one kind of entity.
        for a in cut_where(&kg.assertions, 4 * n, |a, b| {
            segment_of(&a.subject) != segment_of(&b.subject)
        }) {
            parts.push(Part::Asserted(a));
        }
        let (assertions, prices, clinical) = &plan.facts;
        for a in cut_at_documents(&assertions.0, &assertions.1, n) {
            parts.push(Part::Assertions(a));
        }
        for p in cut_at_documents(&prices.0, &prices.1, n) {
            parts.push(Part::Prices(p));
        }
        for c in cut_at_documents(&clinical.0, &clinical.1, n) {
            parts.push(Part::Clinical(c));
        }
        for c in kg.conflicts.chunks(n) {
            parts.push(Part::Conflicts(c));
        }
        for c in cut_where(&plan.conflict_links, n, |a, b| {
            segment_of(&a.subject) != segment_of(&b.subject)
        }) {
            parts.push(Part::ConflictLinks(c));
        }
        parts
    }

    /// Maps every part, in parallel.
    fn map_all(&self) -> Result<Vec<LineBuffer>> {
        let plan = self.plan();
        let parts = self.parts(&plan);
        parts
            .par_iter()
            .map(|part| self.map_part(&plan.numbers, part))
            .collect()
    }

    /// What the graph is cut into parts from ([`Plan`]).
    fn plan(&self) -> Plan<'a> {
        let kg = self.kg;
        let docs = |evidence: &mut dyn Iterator<Item = &'a Evidence>| -> Vec<&'a str> {
            evidence.map(|e| e.document.as_str()).collect()
        };
        let assertions = docs(&mut kg.assertions.iter().map(|a| &a.evidence));
        let prices = docs(&mut kg.prices.iter().map(|p| &p.evidence));
        let clinical = docs(&mut kg.clinical.iter().map(|c| &c.evidence));
        Plan {
            numbers: Numbers {
                assertions: running_numbers(assertions.iter().copied()),
                prices: running_numbers(prices.iter().copied()),
                clinical: running_numbers(clinical.iter().copied()),
            },
            facts: (
                (self.by_document(&assertions), assertions),
                (self.by_document(&prices), prices),
                (self.by_document(&clinical), clinical),
            ),
            documents: kg.documents.values().collect(),
            entities: kg.entities.values().collect(),
            conflict_links: {
                let mut links: Vec<&Conflict> = kg.conflicts.iter().collect();
                links.sort_by(|a, b| a.subject.cmp(&b.subject));
                links
            },
        }
    }

    /// The indexes of facts whose documents are `docs`, ordered (stably) as their nodes'
    /// IRIs `{kind}/{document path}/{n}` sort: by document path followed by `/`.
    fn by_document(&self, docs: &[&str]) -> Vec<usize> {
        let mut distinct: Vec<&str> = docs.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        distinct.sort_by_cached_key(|d| {
            let mut key = match self.documents.get(d) {
                Some((_, path)) => path.clone(),
                None => iri_path(d),
            };
            key.push('/');
            key
        });
        let rank: FxHashMap<&str, usize> =
            distinct.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        let ranks: Vec<usize> = docs.iter().map(|d| rank[d]).collect();
        let mut order: Vec<usize> = (0..docs.len()).collect();
        order.sort_by_key(|&i| ranks[i]);
        order
    }

    fn entity(&self, id: &str) -> Result<Cow<'_, str>> {
        match self.entities.get(id) {
            Some(iri) => Ok(Cow::Borrowed(iri)),
            None => checked(entity_iri(id)).map(Cow::Owned),
        }
    }

    fn document(&self, id: &str) -> Result<Cow<'_, str>> {
        match self.documents.get(id) {
            Some((iri, _)) => Ok(Cow::Borrowed(iri)),
            None => checked(doc_iri(id)).map(Cow::Owned),
        }
    }

    /// `{ID_NS}{kind}/{document path}/{n}` into `node`.
    fn node(&self, node: &mut String, kind: &str, doc: &str, n: usize) {
        node.clear();
        node.push_str(ID_NS);
        node.push_str(kind);
        node.push('/');
        match self.documents.get(doc) {
            Some((_, path)) => node.push_str(path),
            None => node.push_str(&iri_path(doc)),
        }
        node.push('/');
        node.push_str(uint(n, &mut [0; 20]));
    }

    /// The node an id stands for: the entity IRI when the id is a known entity, else a plain
    /// literal.
    fn entity_or_literal<'s>(&'s self, value: &'s str) -> Object<'s> {
        match self.entities.get(value) {
            Some(iri) => Object::Iri(Iri::whole(iri)),
            None => Object::Str(value),
        }
    }

    fn map_part(&self, numbers: &Numbers, part: &Part<'_>) -> Result<LineBuffer> {
        let kg = self.kg;
        let mut out = LineBuffer::with_capacity(self.estimate(part));
        let mut memo = Memo::default();
        let mut node = String::new();
        match *part {
            Part::Documents(docs) => {
                for doc in docs {
                    let d = self.document(&doc.id)?;
                    let d = Iri::whole(&d);
                    out.line(d, Iri::whole(RDF_TYPE), Object::Iri(ckg("Document")));
                    out.line(d, Iri(SCHEMA, "name"), Object::Str(&doc.title));
                    out.line(d, ckg("path"), Object::Str(&doc.path));
                    out.line(d, ckg("encoding"), Object::Str(&doc.encoding));
                    out.line(d, ckg("sha256"), Object::Str(&doc.sha256));
                }
            }
            Part::Entities(entities) => {
                for e in entities {
                    self.map_entity(&mut out, e)?;
                }
            }
            Part::Asserted(assertions) => {
                for a in assertions.iter().filter(|a| !a.negated) {
                    let s = self.entity(&a.subject)?;
                    let p = memo.relation(&a.relation)?;
                    let o = self.entity_or_literal(&a.object);
                    out.line(Iri::whole(&s), Iri::whole(p), o);
                }
            }
            Part::Assertions(indexes) => {
                for &i in indexes {
                    let a = &kg.assertions[i];
                    let s = self.entity(&a.subject)?;
                    let s = Iri::whole(&s);
                    let p = Iri::whole(memo.relation(&a.relation)?);
                    let o = self.entity_or_literal(&a.object);
                    self.node(
                        &mut node,
                        "assertion",
                        &a.evidence.document,
                        numbers.assertions[i],
                    );
                    let node = Iri::whole(&node);
                    out.line(node, Iri::whole(RDF_TYPE), Object::Iri(ckg("Assertion")));
                    out.line(node, Iri::whole(RDF_SUBJECT), Object::Iri(s));
                    out.line(node, Iri::whole(RDF_PREDICATE), Object::Iri(p));
                    out.line(node, Iri::whole(RDF_OBJECT), o);
                    if a.negated {
                        out.line(node, ckg("negated"), TRUE);
                    }
                    self.map_evidence(&mut out, &mut memo, node, &a.evidence)?;
                }
            }
            Part::Prices(indexes) => {
                for &i in indexes {
                    let p = &kg.prices[i];
                    self.node(&mut node, "price", &p.evidence.document, numbers.prices[i]);
                    self.map_price(&mut out, &mut memo, Iri::whole(&node), p)?;
                }
            }
            Part::Clinical(indexes) => {
                for &i in indexes {
                    let c = &kg.clinical[i];
                    self.node(
                        &mut node,
                        "clinical",
                        &c.evidence.document,
                        numbers.clinical[i],
                    );
                    self.map_clinical(&mut out, &mut memo, Iri::whole(&node), c)?;
                }
            }
            Part::Conflicts(conflicts) => {
                for c in conflicts {
                    self.map_conflict(&mut out, c)?;
                }
            }
            Part::ConflictLinks(conflicts) => {
                for c in conflicts {
                    let node = self.entity(&c.id)?;
                    let subject = self.entity(&c.subject)?;
                    out.line(
                        Iri::whole(&subject),
                        ckg("hasConflict"),
                        Object::Iri(Iri::whole(&node)),
                    );
                }
            }
        }
        Ok(out)
    }

    /// About how many bytes a part's lines take (a little more, so that its buffer does not
    /// grow: reserving more than is written costs nothing, the pages are not touched).
    fn estimate(&self, part: &Part<'_>) -> usize {
        const LINE: usize = 200;
        match *part {
            Part::Documents(docs) => docs
                .iter()
                .map(|d| 5 * LINE + 2 * (d.title.len() + d.path.len()))
                .sum(),
            Part::Entities(entities) => entities
                .iter()
                .map(|e| {
                    let lines = 4 + e.aliases.len() + e.external_ids.len() + e.documents.len();
                    let text: usize = e
                        .aliases
                        .iter()
                        .chain(&e.external_ids)
                        .map(String::len)
                        .sum();
                    lines * LINE + 2 * (text + e.label.len()) + 4 * e.id.len()
                })
                .sum(),
            Part::Asserted(items) => items
                .iter()
                .map(|a| LINE + a.subject.len() + 2 * a.object.len())
                .sum(),
            Part::Assertions(items) => items
                .iter()
                .map(|&i| {
                    let a = &self.kg.assertions[i];
                    14 * LINE + 2 * a.evidence.quote.len() + 3 * a.object.len()
                })
                .sum(),
            Part::Prices(items) => items
                .iter()
                .map(|&i| 16 * LINE + 2 * self.kg.prices[i].evidence.quote.len())
                .sum(),
            Part::Clinical(items) => items
                .iter()
                .map(|&i| 16 * LINE + 2 * self.kg.clinical[i].evidence.quote.len())
                .sum(),
            Part::Conflicts(items) => items
                .iter()
                .map(|c| {
                    let lines = 6 + c.values.len() + c.evidence.len() + c.relation.len();
                    lines * LINE + 2 * c.description.len()
                })
                .sum(),
            Part::ConflictLinks(items) => items.len() * LINE,
        }
    }

    fn map_entity(&self, out: &mut LineBuffer, e: &Entity) -> Result<()> {
        let s = self.entity(&e.id)?;
        let s = Iri::whole(&s);
        let class = checked(ontology_iri(&e.class))?;
        out.line(s, Iri::whole(RDF_TYPE), Object::Iri(Iri::whole(&class)));
        if let Some(sub) = e.subtype.as_deref().filter(|sub| *sub != e.class) {
            let sub = checked(ontology_iri(sub))?;
            out.line(s, Iri::whole(RDF_TYPE), Object::Iri(Iri::whole(&sub)));
        }
        let label = Iri::whole(RDFS_LABEL);
        if let Some(l) = &e.label_en {
            out.line(s, label, Object::Lang(l, "en"));
        }
        if let Some(l) = &e.label_zh {
            out.line(s, label, Object::Lang(l, "zh-hans"));
        }
        if let Some(l) = &e.label_zh_hant {
            out.line(s, label, Object::Lang(l, "zh-hant"));
        }
        if e.label_en.is_none() && e.label_zh.is_none() && e.label_zh_hant.is_none() {
            out.line(s, label, Object::Str(&e.label));
        }
        for alias in &e.aliases {
            let o = if has_han(alias) {
                Object::Lang(alias, "zh-hans")
            } else {
                Object::Str(alias)
            };
            out.line(s, Iri(SKOS, "altLabel"), o);
        }
        for ext in &e.external_ids {
            if let Err(err) = NamedNodeRef::new(ext) {
                return Err(Error::Other(format!(
                    "entity {}: invalid external id <{ext}>: {err}",
                    e.id
                )));
            }
            out.line(s, Iri(SKOS, "exactMatch"), Object::Iri(Iri::whole(ext)));
        }
        if e.discovered {
            out.line(s, ckg("discovered"), TRUE);
        }
        for doc in &e.documents {
            let d = self.document(doc)?;
            out.line(s, ckg("mentionedIn"), Object::Iri(Iri::whole(&d)));
        }
        Ok(())
    }

    fn map_evidence(
        &self,
        out: &mut LineBuffer,
        memo: &mut Memo<'_>,
        node: Iri<'_>,
        ev: &Evidence,
    ) -> Result<()> {
        let doc = self.document(&ev.document)?;
        out.line(
            node,
            Iri(PROV, "wasDerivedFrom"),
            Object::Iri(Iri::whole(&doc)),
        );
        out.line(node, ckg("quote"), Object::Str(&ev.quote));
        let mut digits = [0; 20];
        let start = uint(ev.start, &mut digits);
        out.line(node, ckg("start"), Object::Typed(start, XSD_INTEGER));
        let end = uint(ev.end, &mut digits);
        out.line(node, ckg("end"), Object::Typed(end, XSD_INTEGER));
        out.line(node, ckg("rule"), Object::Str(&ev.rule));
        let confidence = memo.confidence(ev)?;
        out.line(
            node,
            ckg("confidence"),
            Object::Typed(confidence, XSD_DECIMAL),
        );
        if let Some(year) = ev.year {
            let year = format!("{year:04}");
            out.line(node, ckg("year"), Object::Typed(&year, XSD_G_YEAR));
        }
        Ok(())
    }

    fn map_price(
        &self,
        out: &mut LineBuffer,
        memo: &mut Memo<'_>,
        node: Iri<'_>,
        p: &Price,
    ) -> Result<()> {
        out.line(node, Iri::whole(RDF_TYPE), Object::Iri(ckg("Price")));
        out.line(node, ckg("priceOf"), self.entity_or_literal(&p.subject));
        for (amount, predicate) in [
            (&p.amount, Iri(SCHEMA, "price")),
            (&p.amount_min, ckg("minPrice")),
            (&p.amount_max, ckg("maxPrice")),
        ] {
            if let Some(a) = amount {
                out.line(node, predicate, Object::Typed(&fmt_decimal(a), XSD_DECIMAL));
            }
        }
        for (text, predicate) in [
            (&p.currency, Iri(SCHEMA, "priceCurrency")),
            (&p.unit, ckg("unit")),
            (&p.qualifier, ckg("qualifier")),
        ] {
            if !text.is_empty() {
                out.line(node, predicate, Object::Str(text));
            }
        }
        self.map_evidence(out, memo, node, &p.evidence)
    }

    fn map_clinical(
        &self,
        out: &mut LineBuffer,
        memo: &mut Memo<'_>,
        node: Iri<'_>,
        c: &ClinicalResult,
    ) -> Result<()> {
        out.line(
            node,
            Iri::whole(RDF_TYPE),
            Object::Iri(ckg("ClinicalResult")),
        );
        out.line(node, ckg("resultOf"), self.entity_or_literal(&c.product));
        if let Some(i) = &c.indication {
            out.line(node, ckg("indication"), self.entity_or_literal(i));
        }
        out.line(node, ckg("metric"), Object::Str(&c.metric));
        for (value, predicate) in [
            (&c.value, ckg("value")),
            (&c.value_min, ckg("minValue")),
            (&c.value_max, ckg("maxValue")),
        ] {
            if let Some(v) = value {
                out.line(node, predicate, Object::Typed(&fmt_decimal(v), XSD_DECIMAL));
            }
        }
        self.map_evidence(out, memo, node, &c.evidence)
    }

    fn map_conflict(&self, out: &mut LineBuffer, c: &Conflict) -> Result<()> {
        let node = self.entity(&c.id)?;
        let node = Iri::whole(&node);
        let subject = self.entity(&c.subject)?;
        let subject = Iri::whole(&subject);
        out.line(node, Iri::whole(RDF_TYPE), Object::Iri(ckg("Conflict")));
        out.line(node, ckg("about"), Object::Iri(subject));
        // A conflict may be about a group of properties ("developedBy|marketedBy") or a price.
        for r in c.relation.split('|') {
            let iri = if r == "price" {
                format!("{SCHEMA}price")
            } else {
                checked(ontology_iri(r))?
            };
            out.line(node, ckg("relation"), Object::Iri(Iri::whole(&iri)));
        }
        for v in &c.values {
            out.line(node, ckg("value"), self.entity_or_literal(v));
        }
        out.line(node, Iri::whole(RDFS_COMMENT), Object::Str(&c.description));
        for ev in &c.evidence {
            if self.kg.documents.contains_key(&ev.document) {
                let doc = self.document(&ev.document)?;
                out.line(
                    node,
                    Iri(PROV, "wasDerivedFrom"),
                    Object::Iri(Iri::whole(&doc)),
                );
            }
        }
        Ok(())
    }
}

/// Indexes of facts in the order of their documents, and the document of each fact.
type Facts<'a> = (Vec<usize>, Vec<&'a str>);

/// The first path segment of an entity id (`product` of `product/kymriah`).
fn segment_of(id: &str) -> &str {
    id.split('/').next().unwrap_or("")
}

/// `items` cut into slices of at most `n`, and also between two neighbours where `boundary`
/// says so.
fn cut_where<T>(items: &[T], n: usize, boundary: impl Fn(&T, &T) -> bool) -> Vec<&[T]> {
    let mut cuts = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || i - start >= n || boundary(&items[i - 1], &items[i]) {
            cuts.push(&items[start..i]);
            start = i;
        }
    }
    cuts
}

/// `order` cut into slices of `n` facts or a little more: a document's facts are not cut apart,
/// so that the nodes of two parts never sort between each other.
fn cut_at_documents<'p>(order: &'p [usize], docs: &[&str], n: usize) -> Vec<&'p [usize]> {
    let mut cuts = Vec::new();
    let mut start = 0;
    let mut i = n.min(order.len());
    while start < order.len() {
        while i < order.len() && docs[order[i]] == docs[order[i - 1]] {
            i += 1;
        }
        cuts.push(&order[start..i]);
        start = i;
        i = (i + n).min(order.len());
    }
    cuts
}

/// The running numbers of the facts ([`running_numbers`]).
struct Numbers {
    assertions: Vec<usize>,
    prices: Vec<usize>,
    clinical: Vec<usize>,
}

/// What the graph is cut into parts from: the documents and entities in order, the facts in
/// the order of their documents ([`Mapping::by_document`]), and their running numbers.
struct Plan<'a> {
    numbers: Numbers,
    /// Of the assertions, prices and clinical results: their indexes in the order of their
    /// documents, and the document of each fact (by index).
    facts: (Facts<'a>, Facts<'a>, Facts<'a>),
    documents: Vec<&'a DocumentInfo>,
    entities: Vec<&'a Entity>,
    /// The conflicts by subject.
    conflict_links: Vec<&'a Conflict>,
}

/// What a part computes once and uses again: relation IRIs and confidences (a graph has few
/// distinct ones of each).
#[derive(Default)]
struct Memo<'a> {
    relations: FxHashMap<&'a str, String>,
    confidences: FxHashMap<u64, String>,
}

impl<'a> Memo<'a> {
    fn relation(&mut self, name: &'a str) -> Result<&str> {
        if !self.relations.contains_key(name) {
            let iri = checked(ontology_iri(name))?;
            self.relations.insert(name, iri);
        }
        Ok(&self.relations[name])
    }

    fn confidence(&mut self, ev: &Evidence) -> Result<&str> {
        let key = ev.confidence.to_bits();
        if let std::collections::hash_map::Entry::Vacant(slot) = self.confidences.entry(key) {
            let text = confidence_decimal(ev.confidence).ok_or_else(|| {
                Error::Other(format!(
                    "{}:{}: confidence {} is not a finite number",
                    ev.document, ev.start, ev.confidence
                ))
            })?;
            slot.insert(text);
        }
        Ok(&self.confidences[&key])
    }
}

/// Maps the graph to RDF triples, in no particular order (see [`to_store`]): the lines of
/// [`sorted_ntriples`] read back by oxttl's N-Triples parser (which checks them).
pub fn to_triples(kg: &KnowledgeGraph) -> Result<Vec<Triple>> {
    let parts = Mapping::new(kg)?.map_all()?;
    let mut triples = Vec::with_capacity(parts.iter().map(|p| p.starts.len()).sum());
    for part in &parts {
        for t in RdfParser::from_format(RdfFormat::NTriples).for_slice(part.buf.as_bytes()) {
            let t = t.map_err(|e| Error::Other(format!("mapping the graph to rdf: {e}")))?;
            triples.push(Triple::from(t));
        }
    }
    Ok(triples)
}

/// Maps the graph to RDF and serializes it as N-Triples lines, sorted and deduplicated: the
/// bytes of `graph.nq` and `store.nq`, and the order of `graph.ttl`.
pub fn sorted_ntriples(kg: &KnowledgeGraph) -> Result<SortedLines> {
    let parts = Mapping::new(kg)?.map_all()?;
    SortedLines::new(parts)
}

/// The subject of an N-Triples line: its first term, `<iri>` (brackets included).
///
/// Lines sort by their subjects first: a subject ends with `>`, which no IRI holds, so no
/// subject is the beginning of another, and two lines of different subjects compare as their
/// subjects do.
fn subject_of(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(s, _)| s)
}

/// Bytes of lines mapped at a time by [`write_rdf_files`] (the parts of a window are mapped in
/// parallel).
const WINDOW_BYTES: usize = 48 << 20;

/// A part of the graph with the first and last subjects of its lines (`<iri>`).
struct Bounded<'p> {
    part: Part<'p>,
    first: Vec<u8>,
    last: Vec<u8>,
    bytes: usize,
}

impl<'a> Mapping<'a> {
    /// The first and last subjects of the lines a part maps to (`None` if it has none),
    /// read off the part without mapping it. [`Mapping::map_window`] checks every line
    /// against them.
    fn bounds(&self, numbers: &Numbers, part: &Part<'_>) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let kg = self.kg;
        let mut first: Option<Vec<u8>> = None;
        let mut last: Option<Vec<u8>> = None;
        let mut token = Vec::new();
        let mut see = |iri: &str| {
            token.clear();
            token.push(b'<');
            token.extend_from_slice(iri.as_bytes());
            token.push(b'>');
            if first.as_ref().is_none_or(|f| token < *f) {
                first = Some(token.clone());
            }
            if last.as_ref().is_none_or(|l| token > *l) {
                last = Some(token.clone());
            }
        };
        // Fact nodes by (kind, document, running number).
        let nodes = |kind: &'static str,
                     evidence: &dyn Fn(usize) -> &'a Evidence,
                     numbers: &[usize],
                     indexes: &[usize]| {
            indexes
                .iter()
                .map(|&i| (kind, evidence(i).document.as_str(), numbers[i]))
                .collect::<Vec<_>>()
        };
        // Entity subjects by id; fact nodes.
        let (entities, facts): (Vec<&str>, Vec<(&str, &str, usize)>) = match *part {
            Part::Documents(docs) => {
                for doc in docs {
                    see(&self.document(&doc.id)?);
                }
                (Vec::new(), Vec::new())
            }
            Part::Entities(entities) => {
                (entities.iter().map(|e| e.id.as_str()).collect(), Vec::new())
            }
            Part::Asserted(assertions) => (
                assertions
                    .iter()
                    .filter(|a| !a.negated)
                    .map(|a| a.subject.as_str())
                    .collect(),
                Vec::new(),
            ),
            Part::Conflicts(conflicts) => (
                conflicts.iter().map(|c| c.id.as_str()).collect(),
                Vec::new(),
            ),
            Part::ConflictLinks(conflicts) => (
                conflicts.iter().map(|c| c.subject.as_str()).collect(),
                Vec::new(),
            ),
            Part::Assertions(indexes) => (
                Vec::new(),
                nodes(
                    "assertion",
                    &|i| &kg.assertions[i].evidence,
                    &numbers.assertions,
                    indexes,
                ),
            ),
            Part::Prices(indexes) => (
                Vec::new(),
                nodes(
                    "price",
                    &|i| &kg.prices[i].evidence,
                    &numbers.prices,
                    indexes,
                ),
            ),
            Part::Clinical(indexes) => (
                Vec::new(),
                nodes(
                    "clinical",
                    &|i| &kg.clinical[i].evidence,
                    &numbers.clinical,
                    indexes,
                ),
            ),
        };
        for id in entities {
            see(&self.entity(id)?);
        }
        let mut node = String::new();
        for (kind, doc, n) in facts {
            self.node(&mut node, kind, doc, n);
            see(&node);
        }
        Ok(first.zip(last))
    }

    /// The first path segments of the entity and node IRIs the graph's lines hold, subjects
    /// and objects, read off the graph: every entity, the subjects of the assertions (which
    /// may be no entity of the graph), the conflicts and their subjects, the external ids, and
    /// the kinds of nodes there are. [`write_rdf_files`] checks them against the lines.
    fn expected_segments(&self) -> Result<BTreeSet<String>> {
        let kg = self.kg;
        let mut segments = BTreeSet::new();
        for iri in self.entities.values() {
            add_segment(&mut segments, iri);
        }
        for e in kg.entities.values() {
            for ext in &e.external_ids {
                add_segment(&mut segments, ext);
            }
        }
        for a in &kg.assertions {
            add_segment(&mut segments, &self.entity(&a.subject)?);
        }
        for c in &kg.conflicts {
            add_segment(&mut segments, &self.entity(&c.id)?);
            add_segment(&mut segments, &self.entity(&c.subject)?);
        }
        for (kind, any) in [
            ("assertion", !kg.assertions.is_empty()),
            ("price", !kg.prices.is_empty()),
            ("clinical", !kg.clinical.is_empty()),
        ] {
            if any {
                segments.insert(kind.to_string());
            }
        }
        Ok(segments)
    }

    /// The parts, cut into clusters whose subjects do not overlap, in the order of their
    /// lines (every line of a cluster sorts before every line of the next), and the clusters
    /// gathered into windows of about [`WINDOW_BYTES`].
    #[allow(clippy::type_complexity)]
    fn windows<'p>(
        &self,
        plan: &'p Plan<'a>,
        window_bytes: usize,
    ) -> Result<Vec<Vec<Vec<Bounded<'p>>>>>
    where
        'a: 'p,
    {
        let mut bounded = self
            .parts(plan)
            .into_par_iter()
            .map(|part| match self.bounds(&plan.numbers, &part)? {
                Some((first, last)) => Ok(Some(Bounded {
                    bytes: self.estimate(&part),
                    part,
                    first,
                    last,
                })),
                // A part without subjects (negated assertions only) has no lines: checked, as
                // it is left out.
                None if self.map_part(&plan.numbers, &part)?.starts.is_empty() => Ok(None),
                None => Err(Error::Other(
                    "internal error: a part of the graph without subjects has rdf lines".into(),
                )),
            })
            .collect::<Result<Vec<Option<Bounded<'p>>>>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        bounded.sort_by(|a, b| a.first.cmp(&b.first));
        let mut windows: Vec<Vec<Vec<Bounded<'p>>>> = Vec::new();
        let mut window: Vec<Vec<Bounded<'p>>> = Vec::new();
        let mut filled = 0;
        let mut cluster: Vec<Bounded<'p>> = Vec::new();
        let mut cluster_last: Vec<u8> = Vec::new();
        for b in bounded {
            if !cluster.is_empty() && b.first > cluster_last {
                window.push(std::mem::take(&mut cluster));
                if filled >= window_bytes {
                    windows.push(std::mem::take(&mut window));
                    filled = 0;
                }
            }
            if cluster.is_empty() || b.last > cluster_last {
                cluster_last.clone_from(&b.last);
            }
            filled += b.bytes;
            cluster.push(b);
        }
        if !cluster.is_empty() {
            window.push(cluster);
        }
        if !window.is_empty() {
            windows.push(window);
        }
        Ok(windows)
    }

    /// Maps the parts of a window in parallel, checking that every line's subject is within
    /// its part's bounds, and sorts each cluster's lines.
    fn map_window(
        &self,
        numbers: &Numbers,
        window: &[Vec<Bounded<'_>>],
    ) -> Result<Vec<SortedLines>> {
        let jobs: Vec<(usize, &Bounded<'_>)> = window
            .iter()
            .enumerate()
            .flat_map(|(c, parts)| parts.iter().map(move |b| (c, b)))
            .collect();
        let mapped = jobs
            .par_iter()
            .map(|&(c, b)| {
                let lines = self.map_part(numbers, &b.part)?;
                for i in 0..lines.starts.len() {
                    let line = lines.get(i);
                    let s = subject_of(line);
                    if s.as_bytes() < b.first.as_slice() || s.as_bytes() > b.last.as_slice() {
                        return Err(Error::Other(format!(
                            "internal error: the rdf line {} falls outside its part of the graph",
                            line.trim_end()
                        )));
                    }
                }
                Ok((c, lines))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut clusters: Vec<Vec<LineBuffer>> = window.iter().map(|_| Vec::new()).collect();
        for (c, lines) in mapped {
            clusters[c].push(lines);
        }
        clusters.into_iter().map(SortedLines::new).collect()
    }
}

/// Writes the graph's N-Triples lines, sorted and without repeats (the bytes of
/// [`sorted_ntriples`]), to `nquads`, and the same triples as Turtle, in the same order (the
/// bytes of [`SortedLines::write_turtle`]), to `turtle`.
///
/// The lines are not all held at once: the parts of the graph are cut into clusters whose
/// subjects do not overlap, and one window of clusters after the other is mapped, sorted and
/// written to both files, so the memory taken is that of a window, not of the whole graph.
/// Turtle's prefixes come first, so they are read off the graph beforehand
/// ([`Mapping::expected_segments`]); should the lines show other ones, `graph.ttl` is written
/// again from `graph.nq` ([`write_turtle_file`]).
pub(crate) fn write_rdf_files(kg: &KnowledgeGraph, nquads: &Path, turtle: &Path) -> Result<()> {
    write_rdf_files_in(kg, nquads, turtle, WINDOW_BYTES)
}

/// [`write_rdf_files`] in windows of about `window_bytes`.
fn write_rdf_files_in(
    kg: &KnowledgeGraph,
    nquads: &Path,
    turtle: &Path,
    window_bytes: usize,
) -> Result<()> {
    use crate::export::{create_file, finish_file};
    let mapping = Mapping::new(kg)?;
    let plan = mapping.plan();
    let windows = mapping.windows(&plan, window_bytes)?;
    let expected = mapping.expected_segments()?;
    let prefixes = prefixes_for(expected.clone());
    let mut nq = create_file(nquads)?;
    let mut ttl = create_file(turtle)?;
    for (name, iri) in &prefixes {
        writeln!(ttl, "@prefix {name}: <{iri}> .").map_err(|e| Error::io(turtle, e))?;
    }
    let mut segments = BTreeSet::new();
    for window in &windows {
        let sorted = mapping.map_window(&plan.numbers, window)?;
        // Two clusters never hold the same line: the subjects of a line are in one.
        let lines: Vec<&str> = sorted.iter().flat_map(SortedLines::lines).collect();
        let (written, serialized) = rayon::join(
            || -> Result<BTreeSet<String>> {
                for line in &lines {
                    nq.write_all(line.as_bytes())
                        .map_err(|e| Error::io(nquads, e))?;
                }
                let mut segments = BTreeSet::new();
                for cluster in &sorted {
                    segments.extend(cluster.id_segments().map_err(|e| Error::io(nquads, e))?);
                }
                Ok(segments)
            },
            || -> Result<()> {
                // A window ends where a cluster does, so where a subject does.
                let bounds = subject_runs(lines.len(), |i| lines[i], TURTLE_RUN);
                let runs: Vec<io::Result<Vec<u8>>> = bounds
                    .par_windows(2)
                    .map(|b| turtle_run(&prefixes, lines[b[0]..b[1]].iter().copied()))
                    .collect();
                for run in runs {
                    ttl.write_all(&run.map_err(|e| Error::io(turtle, e))?)
                        .map_err(|e| Error::io(turtle, e))?;
                }
                Ok(())
            },
        );
        segments.extend(written?);
        serialized?;
    }
    finish_file(nquads, nq)?;
    if segments == expected {
        finish_file(turtle, ttl)
    } else {
        drop(ttl);
        write_turtle_file(nquads, segments, turtle)
    }
}

/// Writes `graph.ttl` from the sorted N-Triples lines of `nquads`, in their order, with the
/// prefixes of the first path segments `segments`: the bytes of [`SortedLines::write_turtle`].
pub(crate) fn write_turtle_file(
    nquads: &Path,
    segments: BTreeSet<String>,
    path: &Path,
) -> Result<()> {
    let input = File::open(nquads).map_err(|e| Error::io(nquads, e))?;
    let runs = 2 * rayon::current_num_threads().max(1);
    crate::export::write_file(path, |w| {
        turtle_from_lines(
            input,
            &prefixes_for(segments),
            w,
            TURTLE_RUN,
            runs * TURTLE_RUN * 200,
        )
    })
}

/// Turtle from sorted N-Triples lines read from `input` about `window` bytes at a time, in
/// runs of about `run` lines serialized in parallel (see [`turtle_run`]).
fn turtle_from_lines(
    mut input: impl io::Read,
    prefixes: &[(String, String)],
    mut w: impl Write,
    run: usize,
    window: usize,
) -> io::Result<()> {
    for (name, iri) in prefixes {
        writeln!(w, "@prefix {name}: <{iri}> .")?;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    loop {
        let want = buf.len() + window.max(1);
        while !eof && buf.len() < want {
            let at = buf.len();
            buf.resize(want, 0);
            let n = input.read(&mut buf[at..])?;
            buf.truncate(at + n);
            eof = n == 0;
        }
        // Whole lines only; a line cut by the read waits for the next one.
        let whole = if eof {
            buf.len()
        } else {
            buf.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)
        };
        let text = std::str::from_utf8(&buf[..whole]).map_err(|e| {
            let at = e.valid_up_to();
            let start = buf[..at]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1);
            let end = buf[at..whole]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(whole, |i| at + i + 1);
            unreadable(&String::from_utf8_lossy(&buf[start..end]))
        })?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut bounds = subject_runs(lines.len(), |i| lines[i], run.max(1));
        // Unless the input is at its end, the last run waits too (its subject may go on);
        // with a single run, nothing is written and more is read.
        if !eof {
            bounds.pop();
        }
        let done = bounds.last().copied().unwrap_or(0);
        let serialized: Vec<io::Result<Vec<u8>>> = bounds
            .par_windows(2)
            .map(|b| turtle_run(prefixes, lines[b[0]..b[1]].iter().copied()))
            .collect();
        for part in serialized {
            w.write_all(&part?)?;
        }
        if eof {
            break;
        }
        let used: usize = lines[..done].iter().map(|l| l.len()).sum();
        buf.drain(..used);
    }
    w.flush()
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
    let mut ser = turtle_serializer(prefixes, SkipPrelude::new(w))?;
    for t in triples {
        ser.serialize_triple(&t?)?;
    }
    ser.finish()?.finish()?;
    Ok(())
}

/// A Turtle serializer with `prefixes` (whose own prelude the caller drops, see
/// [`write_turtle_body`]).
fn turtle_serializer<W: Write>(
    prefixes: &[(String, String)],
    w: W,
) -> io::Result<WriterQuadSerializer<W>> {
    let mut ser = RdfSerializer::from_format(RdfFormat::Turtle);
    for (name, iri) in prefixes {
        ser = ser
            .with_prefix(name.as_str(), iri.as_str())
            .map_err(io::Error::other)?;
    }
    Ok(ser.for_writer(w))
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
    let mut segments = BTreeSet::new();
    for iri in iris {
        add_segment(&mut segments, iri);
    }
    prefixes_for(segments)
}

/// Adds the first path segment of `iri` to `segments` when `iri` is an entity or node IRI.
fn add_segment(segments: &mut BTreeSet<String>, iri: &str) {
    if let Some((segment, _)) = iri.strip_prefix(ID_NS).and_then(|r| r.split_once('/')) {
        if !segments.contains(segment) {
            segments.insert(segment.to_string());
        }
    }
}

/// The prefixes of [`turtle_prefixes`] for the first path segments `segments`.
fn prefixes_for(segments: BTreeSet<String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = TURTLE_PREFIXES
        .iter()
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect();
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

/// N-Triples lines, one after another in one buffer, as a part of the graph is mapped.
#[derive(Default)]
pub struct LineBuffer {
    buf: String,
    /// Where each line starts in `buf`.
    starts: Vec<usize>,
}

impl LineBuffer {
    /// A buffer for about `bytes` bytes of lines.
    fn with_capacity(bytes: usize) -> Self {
        LineBuffer {
            buf: String::with_capacity(bytes),
            starts: Vec::with_capacity(bytes / 128),
        }
    }

    /// Writes the line of the triple `s p o`, as oxrdf's `Display` of the triple does.
    fn line(&mut self, s: Iri<'_>, p: Iri<'_>, o: Object<'_>) {
        self.starts.push(self.buf.len());
        self.iri(s);
        self.buf.push(' ');
        self.iri(p);
        self.buf.push(' ');
        match o {
            Object::Iri(iri) => self.iri(iri),
            Object::Str(value) => self.quoted(value),
            Object::Lang(value, tag) => {
                self.quoted(value);
                self.buf.push('@');
                self.buf.push_str(tag);
            }
            Object::Typed(value, datatype) => {
                self.quoted(value);
                self.buf.push_str("^^<");
                self.buf.push_str(datatype);
                self.buf.push('>');
            }
        }
        self.buf.push_str(" .\n");
    }

    #[cfg(test)]
    fn push(&mut self, t: &Triple) {
        self.starts.push(self.buf.len());
        self.buf.push_str(&format!("{t} .\n"));
    }

    fn iri(&mut self, iri: Iri<'_>) {
        debug_assert!(
            NamedNode::new(format!("{}{}", iri.0, iri.1)).is_ok(),
            "invalid iri <{}{}>",
            iri.0,
            iri.1
        );
        self.buf.push('<');
        self.buf.push_str(iri.0);
        self.buf.push_str(iri.1);
        self.buf.push('>');
    }

    /// A string between double quotes, escaped as oxrdf's `print_quoted_str` does: `\b \t \n
    /// \f \r \" \\`, `\uXXXX` for the other controls, DEL, U+FFFE and U+FFFF.
    fn quoted(&mut self, value: &str) {
        let buf = &mut self.buf;
        buf.push('"');
        let bytes = value.as_bytes();
        let mut done = 0;
        for (i, &c) in bytes.iter().enumerate() {
            let escape: &str = match c {
                0x08 => "\\b",
                b'\t' => "\\t",
                b'\n' => "\\n",
                0x0C => "\\f",
                b'\r' => "\\r",
                b'"' => "\\\"",
                b'\\' => "\\\\",
                0x00..=0x1F | 0x7F => "",
                // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
                0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => "",
                _ => continue,
            };
            // `i` is at an ASCII byte or at the first byte of U+FFFE or U+FFFF: a character
            // boundary.
            buf.push_str(&value[done..i]);
            if escape.is_empty() {
                let (code, len) = if c == 0xEF {
                    (0xFFF0 | u32::from(bytes[i + 2] & 0x0F), 3)
                } else {
                    (u32::from(c), 1)
                };
                let _ = std::fmt::Write::write_fmt(buf, format_args!("\\u{code:04X}"));
                done = i + len;
            } else {
                buf.push_str(escape);
                done = i + 1;
            }
        }
        buf.push_str(&value[done..]);
        buf.push('"');
    }

    /// The line `i`, line feed included.
    fn get(&self, i: usize) -> &str {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.buf.len());
        &self.buf[self.starts[i]..end]
    }
}

/// A line of [`SortedLines`]: which part's buffer, where in it, how long.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    part: u32,
    len: u32,
}

/// The graph as sorted, distinct N-Triples lines ([`sorted_ntriples`]).
pub struct SortedLines {
    parts: Vec<String>,
    spans: Vec<Span>,
}

impl SortedLines {
    /// Sorts the lines of all the parts bytewise and drops repeats: each part first on its own
    /// (in parallel), then all of them together.
    fn new(parts: Vec<LineBuffer>) -> Result<SortedLines> {
        let too_long = || Error::Other("an rdf line or a part of the graph is too long".into());
        let part_spans = parts
            .par_iter()
            .enumerate()
            .map(|(p, lines)| {
                let part = u32::try_from(p).map_err(|_| too_long())?;
                let mut spans = Vec::with_capacity(lines.starts.len());
                for (i, &start) in lines.starts.iter().enumerate() {
                    let len = u32::try_from(lines.get(i).len()).map_err(|_| too_long())?;
                    spans.push(Span { start, part, len });
                }
                let line = |s: &Span| &lines.buf[s.start..s.start + s.len as usize];
                spans.sort_unstable_by(|a, b| line(a).cmp(line(b)));
                spans.dedup_by(|a, b| line(a) == line(b));
                Ok(spans)
            })
            .collect::<Result<Vec<_>>>()?;
        let parts: Vec<String> = parts.into_iter().map(|p| p.buf).collect();
        let line = |s: &Span| &parts[s.part as usize][s.start..s.start + s.len as usize];
        // The parts are sorted runs covering ranges that hardly overlap (see
        // [`Mapping::parts`]): put in the order of their first lines, they are nearly sorted
        // already, and the standard stable sort, which merges the runs it finds, does the rest
        // in little more than one comparison per line.
        let mut runs: Vec<Vec<Span>> = part_spans.into_iter().filter(|r| !r.is_empty()).collect();
        runs.sort_by(|a, b| line(&a[0]).cmp(line(&b[0])));
        let mut spans = Vec::with_capacity(runs.iter().map(Vec::len).sum());
        for run in runs {
            spans.extend(run);
        }
        spans.sort_by(|a, b| line(a).cmp(line(b)));
        spans.dedup_by(|a, b| line(a) == line(b));
        Ok(SortedLines { parts, spans })
    }

    fn line(&self, s: &Span) -> &str {
        &self.parts[s.part as usize][s.start..s.start + s.len as usize]
    }

    /// The number of distinct triples.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no triple at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The lines, each ending with a line feed.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|s| self.line(s))
    }

    /// Writes the lines: N-Triples, and N-Quads too (everything is in the default graph).
    pub fn write_ntriples(&self, mut w: impl Write) -> io::Result<()> {
        for line in self.lines() {
            w.write_all(line.as_bytes())?;
        }
        w.flush()
    }

    /// Writes the triples as Turtle, in the lines' order, with the prefixes of [`write_turtle`].
    pub fn write_turtle(&self, w: impl Write) -> io::Result<()> {
        self.write_turtle_in_runs(w, TURTLE_RUN)
    }

    fn write_turtle_in_runs(&self, mut w: impl Write, run: usize) -> io::Result<()> {
        let prefixes = prefixes_of(self)?;
        for (name, iri) in &prefixes {
            writeln!(w, "@prefix {name}: <{iri}> .")?;
        }
        // Runs of whole subjects are serialized apart, in parallel, and written in order: the
        // serializer keeps no state across subjects, so the bytes are those of one pass.
        let line = |i: usize| self.line(&self.spans[i]);
        let bounds = subject_runs(self.spans.len(), line, run.max(1));
        let window = 2 * rayon::current_num_threads().max(1);
        for group in bounds.windows(2).collect::<Vec<_>>().chunks(window) {
            let parts: Vec<io::Result<Vec<u8>>> = group
                .par_iter()
                .map(|b| turtle_run(&prefixes, (b[0]..b[1]).map(line)))
                .collect();
            for part in parts {
                w.write_all(&part?)?;
            }
        }
        w.flush()
    }

    /// The first path segments of the entity and node IRIs of the lines, subjects and objects
    /// (see [`turtle_prefixes`]), gathered in parallel.
    fn id_segments(&self) -> io::Result<BTreeSet<String>> {
        self.spans
            .par_chunks(1 << 16)
            .map(|spans| {
                let mut segments = BTreeSet::new();
                let mut previous = "";
                for span in spans {
                    let line = self.line(span);
                    let (s, _, o) = crate::turtle::split(line).ok_or_else(|| unreadable(line))?;
                    // Lines come sorted: a subject is looked at once.
                    if s != previous {
                        add_segment(&mut segments, s);
                        previous = s;
                    }
                    if let Some(iri) = o.strip_prefix('<').and_then(|o| o.strip_suffix('>')) {
                        add_segment(&mut segments, iri);
                    }
                }
                Ok(segments)
            })
            .try_reduce(BTreeSet::new, |mut a, b| {
                a.extend(b);
                Ok(a)
            })
    }
}

/// The Turtle prefixes of the lines of `sorted` (see [`prefixes_for`]), as
/// [`SortedLines::write_turtle`] writes them.
pub fn prefixes_of(sorted: &SortedLines) -> io::Result<Vec<(String, String)>> {
    Ok(prefixes_for(sorted.id_segments()?))
}

/// Line indexes cutting the `n` lines (`line(i)` the line `i`) into runs of about `size`
/// lines, each cut falling where the subject changes (first 0, last `n`).
fn subject_runs<'l>(n: usize, line: impl Fn(usize) -> &'l str, size: usize) -> Vec<usize> {
    let mut bounds = vec![0];
    let mut i = size;
    while i < n {
        while i < n && subject_of(line(i)) == subject_of(line(i - 1)) {
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

/// A run of whole subjects' lines as Turtle, without the prefixes (see
/// [`crate::turtle::write_lines`]): runs written apart and put end to end are the bytes of one
/// pass.
fn turtle_run<'l>(
    prefixes: &[(String, String)],
    lines: impl Iterator<Item = &'l str>,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    crate::turtle::write_lines(&crate::turtle::Prefixes::new(prefixes), lines, &mut out)
        .map_err(io::Error::other)?;
    Ok(out)
}

/// Lines per run of [`SortedLines::write_turtle`].
const TURTLE_RUN: usize = 20_000;

fn unreadable(line: &str) -> io::Error {
    io::Error::other(crate::turtle::BadLine(line.to_string()))
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
        use oxigraph::model::Literal;
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
        let sorted = SortedLines::new(vec![lines]).unwrap();
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

    /// The RDF files written a window at a time are those of all the lines sorted at once,
    /// whatever the size of the windows, on the seed articles' graph.
    #[test]
    fn rdf_files_written_in_windows_are_the_sorted_lines() {
        let ontology = crate::ontology::Ontology::load(Path::new("ontology")).unwrap();
        let kg =
            crate::pipeline::build_graph(&[std::path::PathBuf::from("seeds")], &ontology).unwrap();
        let sorted = sorted_ntriples(&kg).unwrap();
        let (mut nq, mut ttl) = (Vec::new(), Vec::new());
        sorted.write_ntriples(&mut nq).unwrap();
        sorted.write_turtle(&mut ttl).unwrap();
        let mapping = Mapping::new(&kg).unwrap();
        let plan = mapping.plan();
        let clusters: usize = mapping
            .windows(&plan, 0)
            .unwrap()
            .iter()
            .map(Vec::len)
            .sum();
        // Documents, entities of several classes, assertions, prices, clinical results.
        assert!(clusters >= 8, "{clusters} clusters");
        assert_eq!(
            mapping.expected_segments().unwrap(),
            sorted.id_segments().unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        for window in [0, 1 << 14, WINDOW_BYTES] {
            let (n, t) = (dir.path().join("graph.nq"), dir.path().join("graph.ttl"));
            write_rdf_files_in(&kg, &n, &t, window).unwrap();
            assert!(
                std::fs::read(&n).unwrap() == nq,
                "graph.nq, windows of {window}"
            );
            assert!(
                std::fs::read(&t).unwrap() == ttl,
                "graph.ttl, windows of {window}"
            );
        }
    }

    /// `graph.ttl` written again from `graph.nq` (when the prefixes read off the graph were
    /// not those of the lines) is the Turtle of the lines, however the reads cut them.
    #[test]
    fn turtle_read_back_is_turtle_written_at_once() {
        use oxigraph::model::Literal;
        let mut lines = LineBuffer::default();
        for i in 0..9 {
            let s = NamedNode::new_unchecked(format!("{ID_NS}target/t{i}"));
            for j in 0..=i % 4 {
                lines.push(&Triple::new(
                    s.clone(),
                    NamedNode::new_unchecked(format!("{ONTOLOGY_NS}p{j}")),
                    Literal::new_simple_literal(format!("value {i} {j}")),
                ));
            }
        }
        let sorted = SortedLines::new(vec![lines]).unwrap();
        let mut whole = Vec::new();
        sorted.write_turtle(&mut whole).unwrap();
        let mut nq = Vec::new();
        sorted.write_ntriples(&mut nq).unwrap();
        let prefixes = prefixes_for(sorted.id_segments().unwrap());
        for (run, window) in [(1, 1), (2, 7), (3, 60), (1000, 1 << 20)] {
            let mut out = Vec::new();
            turtle_from_lines(nq.as_slice(), &prefixes, &mut out, run, window).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&whole),
                "runs of {run}, reads of {window}"
            );
        }
    }

    /// `graph.nq` read back for Turtle must be UTF-8: a line that is not is an error naming
    /// it, wherever the reads cut the file.
    #[test]
    fn lines_read_back_that_are_not_utf8_are_named() {
        let nq = b"<https://a/s> <https://a/p> \"ok\" .\n<https://a/t> <https://a/p> \"\xff\" .\n<https://a/u> <https://a/p> \"ok\" .\n";
        for window in [1, 40, 1 << 10] {
            let err = turtle_from_lines(&nq[..], &[], &mut Vec::new(), 1, window).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("unreadable n-triples line: <https://a/t> <https://a/p> \""),
                "reads of {window}: {msg}"
            );
            assert!(
                !msg.contains("<https://a/s>") && !msg.contains("<https://a/u>"),
                "{msg}"
            );
        }
    }

    /// The lines are written by hand: they must be what oxrdf's `Display` writes, whatever the
    /// characters of the literals.
    #[test]
    fn lines_are_oxrdf_display() {
        use oxigraph::model::Literal;
        let nasty = "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{0}i\u{1f}j\u{7f}k\u{fffe}l\u{ffff}m\u{fffd}n凯特\u{10ffff}";
        let s = format!("{ID_NS}product/p");
        let mut mine = LineBuffer::default();
        let mut theirs = LineBuffer::default();
        let cases: Vec<(Object<'_>, Term)> = vec![
            (
                Object::Iri(ckg("Product")),
                NamedNode::new_unchecked(format!("{ONTOLOGY_NS}Product")).into(),
            ),
            (
                Object::Str(nasty),
                Literal::new_simple_literal(nasty).into(),
            ),
            (Object::Str(""), Literal::new_simple_literal("").into()),
            (
                Object::Lang(nasty, "zh-hans"),
                Literal::new_language_tagged_literal(nasty, "zh-Hans")
                    .unwrap()
                    .into(),
            ),
            (
                Object::Typed("0.25", XSD_DECIMAL),
                Literal::new_typed_literal("0.25", xsd::DECIMAL).into(),
            ),
            (TRUE, Literal::from(true).into()),
        ];
        for (mine_o, theirs_o) in cases {
            mine.line(Iri::whole(&s), ckg("p"), mine_o);
            theirs.push(&Triple::new(
                NamedNode::new_unchecked(s.clone()),
                NamedNode::new_unchecked(format!("{ONTOLOGY_NS}p")),
                theirs_o,
            ));
        }
        assert_eq!(mine.buf, theirs.buf);
        // Parsed back as N-Triples, the lines are the triples again, and Turtle written
        // from them is what oxttl writes (the nasty value's escapes included).
        let parsed: Vec<Triple> = RdfParser::from_format(RdfFormat::NTriples)
            .for_slice(&mine.buf)
            .map(|q| Triple::from(q.unwrap()))
            .collect();
        let mut again = LineBuffer::default();
        for t in &parsed {
            again.push(t);
        }
        assert_eq!(again.buf, mine.buf);
        let prefixes = prefixes_for(BTreeSet::new());
        let lines: Vec<&str> = (0..mine.starts.len()).map(|i| mine.get(i)).collect();
        let mut reference = Vec::new();
        write_turtle_body(&prefixes, parsed.into_iter().map(Ok), &mut reference).unwrap();
        let run = turtle_run(&prefixes, lines.into_iter()).unwrap();
        assert_eq!(
            String::from_utf8(run).unwrap(),
            String::from_utf8(reference).unwrap()
        );
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
