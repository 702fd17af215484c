//! Finds mentions, relations and quantities in one document.
//!
//! In: the segments of a document (see `normalize`) and the compiled [`Extractor`] (built once
//! from the ontology). Out: an [`Extraction`] — mentions of known entities (Aho-Corasick over
//! every normalised label and alias, leftmost-longest, word boundaries on Latin text) and of
//! discovered ones (regex cues from `rules.toml`), assertions from relation patterns written as
//! regexes over a *skeleton* of the sentence where every mention is a typed token
//! (`⟨Product/Brand:3⟩`), negative assertions where a negation cue governs the match, facts from
//! table rows by column header, prices and clinical results. Every result carries original
//! character offsets and the quote. It does not merge entities across documents: see `resolve`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use std::fmt::Write as _;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use compact_str::CompactString;
use rayon::prelude::*;
use regex::{Captures, Regex};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::DocumentInfo;
use crate::normalize::{is_han, NormText, Normalizer, Segment, SegmentKind};
use crate::ontology::{Ontology, RelationRule};

/// `v` in a vector of its exact length. `shrink_to_fit` would not do: mimalloc keeps a block
/// shrunk by less than half where it is, and an extraction's vectors, grown by doubling, are
/// kept until the end of the build (a third of the mentions' memory was spare capacity).
fn exact<T>(v: Vec<T>) -> Vec<T> {
    if v.capacity() == v.len() {
        return v;
    }
    let mut fitted = Vec::with_capacity(v.len());
    fitted.extend(v);
    fitted
}

/// An entity as extraction sees it, before resolution.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum EntityKey {
    /// A lexicon entity, by id.
    Known(CompactString),
    /// Found by a discovery cue. Boxed, as it is the rarer kind: the key then takes 24 bytes
    /// instead of 48, in every mention and fact of the corpus. It serializes and orders as the
    /// struct variant `Discovered { class, name }` did.
    Discovered(Box<DiscoveredKey>),
}

/// A discovered entity before resolution: (most specific class, normalised name).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct DiscoveredKey {
    pub class: CompactString,
    pub name: CompactString,
}

impl EntityKey {
    /// The key of an entity discovered with this class and name.
    pub fn discovered(class: &str, name: &str) -> EntityKey {
        EntityKey::Discovered(Box::new(DiscoveredKey {
            class: class.into(),
            name: name.into(),
        }))
    }
}

/// A mention in one document.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawMention {
    pub entity: EntityKey,
    pub start: usize,
    pub end: usize,
    pub surface: CompactString,
    pub rule: CompactString,
    pub confidence: f64,
}

/// A fact before resolution.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawAssertion {
    pub subject: EntityKey,
    pub relation: String,
    pub object: EntityKey,
    pub negated: bool,
    pub start: usize,
    pub end: usize,
    pub quote: String,
    pub rule: String,
    pub confidence: f64,
    pub year: Option<i32>,
}

/// A price before resolution.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawPrice {
    pub subject: EntityKey,
    pub amount: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub currency: String,
    pub unit: String,
    pub qualifier: String,
    pub start: usize,
    pub end: usize,
    pub quote: String,
}

/// A clinical result before resolution.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawClinical {
    pub product: EntityKey,
    pub indication: Option<EntityKey>,
    pub metric: String,
    pub value: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub start: usize,
    pub end: usize,
    pub quote: String,
}

/// Everything found in one document.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Extraction {
    pub doc: Option<DocumentInfo>,
    pub mentions: Vec<RawMention>,
    pub assertions: Vec<RawAssertion>,
    pub prices: Vec<RawPrice>,
    pub clinical: Vec<RawClinical>,
}

struct DictEntry {
    entity: CompactString,
    top: String,
    class: String,
    label: String,
    case_sensitive: bool,
}

struct Discovery {
    /// `discover:{name}`, the rule of its mentions.
    rule: String,
    class: String,
    top: String,
    regex: Regex,
    stop: Vec<char>,
    /// The stop words (normalised), found in a name by one scan.
    stop_words: Option<AhoCorasick>,
    strip: Vec<String>,
    drop_suffixes: Vec<String>,
    reject: BTreeSet<String>,
    reject_patterns: Vec<Regex>,
    reject_after: Vec<Regex>,
    min_chars: usize,
    max_chars: usize,
    on_topic_only: bool,
    extends_known: bool,
    swallow: bool,
    yields_prefix: Vec<String>,
    confidence: f64,
}

struct CompiledRelation {
    rule: RelationRule,
    regex: Regex,
    when: Vec<String>,
    unless: Vec<String>,
}

/// Index of the price pattern in [`Extractor::quantity_gate`].
const QUANTITY_PRICE: usize = 0;
/// Index of the clinical pattern in [`Extractor::quantity_gate`].
const QUANTITY_CLINICAL: usize = 1;

/// The compiled extraction machinery: build once, use for every document (thread-safe).
pub struct Extractor<'o> {
    pub ontology: &'o Ontology,
    pub normalizer: Normalizer,
    /// One automaton over the dictionary's labels, then the discovery gate's literals,
    /// then the quantity gate's: a segment's text is scanned once for all three.
    scan: AhoCorasick,
    /// Where the discovery gate's literals start among `scan`'s patterns (after the labels).
    discovery_from: usize,
    /// Where the quantity gate's literals start among `scan`'s patterns.
    quantity_from: usize,
    dict: Vec<DictEntry>,
    discoveries: Vec<Discovery>,
    /// All discovery patterns at once: which can match a segment at all.
    discovery_gate: crate::prefilter::LiteralGate,
    relations: Vec<CompiledRelation>,
    /// All relation patterns at once: which can match a skeleton at all.
    relation_gate: crate::prefilter::LiteralGate,
    /// The price and clinical patterns ([`QUANTITY_PRICE`], [`QUANTITY_CLINICAL`]): which can
    /// match a segment.
    quantity_gate: crate::prefilter::LiteralGate,
    /// The index in `scan` of the first anaphora phrase; `anaphora[i]` is the index among the
    /// rules' phrases of scan pattern `anaphora_from + i` (the phrases that are not empty).
    anaphora_from: usize,
    anaphora: Vec<usize>,
    skip_lines: Vec<Regex>,
    citation_lines: Vec<Regex>,
    token: Regex,
    negation_cues: Cues,
    negation_exclude: Vec<String>,
    /// Known entity names (normalised, lower-case) → id, per top class, to merge discoveries.
    names: FxHashMap<String, FxHashMap<String, String>>,
    /// Normalised, lower-cased names of each known entity.
    names_of: BTreeMap<String, Vec<String>>,
    /// The facts of known entities that their names may state (`rules.name_facts`), by
    /// entity id: (property, object), for the entities that have any.
    name_facts_of: FxHashMap<&'o str, Vec<(&'o str, &'o str)>>,
    hedges: Cues,
    price_re: Regex,
    year_re: Regex,
    clinical_re: Regex,
    /// A number of months right before a metric ("12 个月").
    month_re: Regex,
    number_re: Regex,
}

/// The automaton that scans each segment for the lexicon's labels and the gates' literals.
/// Both find the same occurrences; they differ in what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A contiguous NFA: 2 MB, built in a few milliseconds.
    Compact,
    /// A DFA: about 50 MB and 0.08 s more to build, and extraction about 10 % faster (two
    /// workers on the 50 MB bench corpus: 2.26-2.43 s -> 2.03-2.15 s). It pays for itself
    /// from some 16 MB of text to extract ([`Scan::for_bytes`]).
    Fast,
}

impl Scan {
    /// Text to extract from which [`Scan::Fast`] pays for its build.
    pub const FAST_FROM_BYTES: u64 = 16 << 20;

    /// The automaton for a build that extracts `bytes` of documents.
    pub fn for_bytes(bytes: u64) -> Scan {
        if bytes >= Scan::FAST_FROM_BYTES {
            Scan::Fast
        } else {
            Scan::Compact
        }
    }
}

/// Lower-cases ASCII only (keeps char count).
pub fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn compile(path: &str, what: &str, pattern: &str) -> Result<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .dfa_size_limit(32 << 20)
        .build()
        .map_err(|e| Error::Config {
            path: path.into(),
            message: format!("{what}: invalid regex: {e}"),
        })
}

impl<'o> Extractor<'o> {
    /// Compiles the dictionary, discovery cues and relation patterns of `ontology`.
    pub fn new(ontology: &'o Ontology) -> Result<Extractor<'o>> {
        Extractor::with_scan(ontology, Scan::Compact)
    }

    /// [`Extractor::new`] with the given automaton for the scan of each segment (the matches
    /// are the same; see [`Scan`]).
    pub fn with_scan(ontology: &'o Ontology, kind: Scan) -> Result<Extractor<'o>> {
        let normalizer = Normalizer::new()?;
        let rules = &ontology.rules;
        let rules_path = ontology.dir.join("rules.toml").display().to_string();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut dict = Vec::new();
        let mut names: FxHashMap<String, FxHashMap<String, String>> = FxHashMap::default();
        let mut names_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in ontology.entities.values() {
            for name in e.names() {
                let label = normalizer.normalize_label(name);
                if label.chars().count() < rules.matching.min_chars {
                    continue;
                }
                let letters: Vec<char> =
                    label.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                let all_caps_short = label.is_ascii()
                    && !letters.is_empty()
                    && letters.iter().all(|c| c.is_ascii_uppercase())
                    && letters.len() <= rules.matching.case_sensitive_caps_max;
                let case_sensitive = (e.match_case && label.is_ascii()) || all_caps_short;
                names
                    .entry(e.top_class.clone())
                    .or_default()
                    .entry(fold(&label))
                    .or_insert_with(|| e.id.clone());
                names_of.entry(e.id.clone()).or_default().push(fold(&label));
                let key = if case_sensitive {
                    label.clone()
                } else {
                    fold(&label)
                };
                if seen.contains_key(&key) {
                    continue;
                }
                seen.insert(key, dict.len());
                dict.push(DictEntry {
                    entity: e.id.as_str().into(),
                    top: e.top_class.clone(),
                    class: e.class.clone(),
                    label,
                    case_sensitive,
                });
            }
        }

        let mut discoveries = Vec::new();
        for d in &rules.discoveries {
            let regex = compile(
                &rules_path,
                &format!("discovery rule {}", d.name),
                &d.pattern,
            )?;
            let mut strip = d.strip_prefixes.clone();
            strip.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
            discoveries.push(Discovery {
                rule: format!("discover:{}", d.name),
                class: d.class.clone(),
                top: ontology.top_class(&d.class).to_string(),
                regex,
                stop: d.stop_chars.chars().collect(),
                stop_words: {
                    let words: Vec<String> = d
                        .stop_words
                        .iter()
                        .map(|w| normalizer.normalize_label(w))
                        .filter(|w| !w.is_empty())
                        .collect();
                    if words.is_empty() {
                        None
                    } else {
                        Some(AhoCorasick::new(&words).map_err(|e| {
                            Error::Other(format!("stop words of discovery rule {}: {e}", d.name))
                        })?)
                    }
                },
                strip,
                drop_suffixes: d
                    .name_drops_suffixes
                    .iter()
                    .map(|w| normalizer.normalize_label(w))
                    .collect(),
                reject: d
                    .reject
                    .iter()
                    .map(|r| fold(&normalizer.normalize_label(r)))
                    .collect(),
                reject_patterns: d
                    .reject_patterns
                    .iter()
                    .map(|p| compile(&rules_path, &format!("discovery rule {}", d.name), p))
                    .collect::<Result<_>>()?,
                reject_after: d
                    .reject_after
                    .iter()
                    .map(|p| compile(&rules_path, &format!("discovery rule {}", d.name), p))
                    .collect::<Result<_>>()?,
                min_chars: d.min_chars,
                max_chars: d.max_chars,
                on_topic_only: d.on_topic_only,
                extends_known: d.extends_known,
                swallow: d.swallow,
                yields_prefix: d.yields_prefix.clone(),
                confidence: d.confidence,
            });
        }
        // The relation patterns are the biggest regexes: compiled in parallel (errors are
        // still reported in the order of the rules).
        let relations = rules
            .relations
            .par_iter()
            .map(|r| -> Result<CompiledRelation> {
                let expanded = expand_macros(&r.pattern, &rules.macros, ontology).map_err(|m| {
                    Error::Config {
                        path: rules_path.clone().into(),
                        message: format!("relation rule {}: {m}", r.name),
                    }
                })?;
                let regex = compile(&rules_path, &format!("relation rule {}", r.name), &expanded)?;
                let norm_all = |v: &[String]| {
                    v.iter()
                        .map(|c| fold(&normalizer.normalize_label(c)))
                        .collect::<Vec<_>>()
                };
                Ok(CompiledRelation {
                    rule: r.clone(),
                    regex,
                    when: norm_all(&r.when_cues),
                    unless: norm_all(&r.unless_cues),
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        let gate = |patterns: Vec<&str>, what: &str| {
            crate::prefilter::LiteralGate::new(&patterns).map_err(|e| Error::Config {
                path: rules_path.clone().into(),
                message: format!("{what}: {e}"),
            })
        };
        let discovery_gate = gate(
            discoveries.iter().map(|d| d.regex.as_str()).collect(),
            "discovery patterns",
        )?;
        let relation_gate = gate(
            relations.iter().map(|r| r.regex.as_str()).collect(),
            "relation patterns",
        )?;
        let compile_all = |what: &str, patterns: &[String]| -> Result<Vec<Regex>> {
            patterns
                .iter()
                .map(|p| compile(&rules_path, what, p))
                .collect()
        };
        let skip_lines = compile_all("segmentation.skip_lines", &rules.segmentation.skip_lines)?;
        let citation_lines = compile_all(
            "segmentation.citation_lines",
            &rules.segmentation.citation_lines,
        )?;
        let mut cues: Vec<String> = rules
            .negation
            .cues
            .iter()
            .map(|c| normalizer.normalize_label(c))
            .collect();
        cues.sort_by_key(|c| std::cmp::Reverse(c.len()));
        let negation_exclude = rules
            .negation
            .exclude
            .iter()
            .map(|c| normalizer.normalize_label(c))
            .collect();
        let hedges: Vec<String> = rules
            .negation
            .hedges
            .iter()
            .map(|c| normalizer.normalize_label(c))
            .collect();

        // Prices: number, optional range, optional multiplier, currency word.
        let mut mult: Vec<&String> = rules.price.multipliers.keys().collect();
        mult.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let mut cur: Vec<&String> = rules.price.currencies.keys().collect();
        cur.sort_by_key(|m| std::cmp::Reverse(m.len()));
        let alt = |v: &[&String]| {
            v.iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|")
        };
        let num = r"\d+(?:,\d{3})*(?:\.\d+)?";
        let (m_alt, c_alt) = (alt(&mult), alt(&cur));
        let price_pattern = format!(
            r"(?i)(?P<pre>{c_alt})?\s?(?P<a>{num})\s?(?P<am>{m_alt})?(?:\s?(?:-|~|—|–|至|到)\s?(?P<b>{num})\s?(?P<bm>{m_alt})?)?\s?(?P<cur>{c_alt})?"
        );
        let price_re = compile(&rules_path, "price pattern", &price_pattern)?;
        let mut metrics: Vec<&String> = rules.clinical.metrics.keys().collect();
        metrics.sort_by_key(|m| std::cmp::Reverse(m.chars().count()));
        // Metrics named "median …" are durations (a number and a time unit), the rest rates.
        let is_duration = |m: &&&String| rules.clinical.metrics[**m].starts_with("median");
        let alt_of = |v: Vec<&&String>| {
            v.iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|")
        };
        let metric_alt = alt_of(metrics.iter().filter(|m| !is_duration(m)).collect());
        let duration_alt = alt_of(metrics.iter().filter(is_duration).collect());
        let pct = r"\s?(?:%|percent|per cent)";
        // Rate after its metric ("ORR 为 96%"), rate before its metric ("95% 的患者达到 MRD
        // 阴性", "78.4 percent achieved a stringent complete response"), or a duration
        // ("中位无进展生存期为 3.25 个月").
        let clinical_pattern = format!(
            r"(?P<metric>{metric_alt})(?:\s?\([^)]{{0,40}}\))?[^\d%。;,]{{0,8}}?(?P<a>\d+(?:\.\d+)?)\s?%?(?:\s?(?:-|~|—|–|至|到)\s?(?P<b>\d+(?:\.\d+)?))?{pct}|(?P<a2>\d+(?:\.\d+)?){pct}\s?(?:的)?(?:患者|病人|受试者|患儿|of (?:the )?(?:evaluable )?patients)?[^\d%。;,.]{{0,30}}?(?:达到了?|实现了?|获得了?|取得了?|达|achieved|had|reached|attained|的)\s?(?:an?\s)?(?P<metric2>{metric_alt})|(?P<metric3>{duration_alt})(?:\s?\([^)]{{0,40}}\))?[^\d%。;,]{{0,8}}?(?P<a3>\d+(?:\.\d+)?)(?:\s?(?:-|~|—|–|至|到)\s?(?P<b3>\d+(?:\.\d+)?))?\s?(?:个月|months?|天|days?|周|weeks?|年|years?)"
        );
        let clinical_re = compile(&rules_path, "clinical pattern", &clinical_pattern)?;
        // A price needs a currency word (the code drops matches without one); a clinical
        // result needs what its pattern requires.
        let currency_pattern = format!("(?i)(?:{c_alt})");
        let quantity_gate = gate(
            vec![currency_pattern.as_str(), clinical_pattern.as_str()],
            "price and clinical patterns",
        )?;
        // The labels and the literals in one automaton, of the kind asked for (see [`Scan`]).
        let discovery_from = dict.len();
        let quantity_from = discovery_from + discovery_gate.literals().len();
        // The anaphora phrases, in the same scan (matched case-sensitively: a match of
        // another case is dropped).
        let anaphora_from = quantity_from + quantity_gate.literals().len();
        let phrases = &ontology.rules.anaphora.phrases;
        let anaphora: Vec<usize> = (0..phrases.len())
            .filter(|&i| !phrases[i].is_empty())
            .collect();
        let scan = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(match kind {
                Scan::Compact => AhoCorasickKind::ContiguousNFA,
                Scan::Fast => AhoCorasickKind::DFA,
            }))
            .build(
                dict.iter()
                    .map(|d| d.label.as_bytes())
                    .chain(discovery_gate.literals().iter().map(Vec::as_slice))
                    .chain(quantity_gate.literals().iter().map(Vec::as_slice))
                    .chain(anaphora.iter().map(|&i| phrases[i].as_bytes())),
            )
            .map_err(|e| Error::Other(format!("building dictionary automaton: {e}")))?;
        let number_re = Regex::new(r"^\s*(?P<a>\d+(?:\.\d+)?)\s*%?\s*(?:(?:-|~|—|–|至|到)\s*(?P<b>\d+(?:\.\d+)?)\s*%?)?\s*(?:\([^()]*\))?\s*$").map_err(|e| Error::Other(e.to_string()))?;
        Ok(Extractor {
            ontology,
            normalizer,
            scan,
            discovery_from,
            quantity_from,
            anaphora_from,
            dict,
            discoveries,
            discovery_gate,
            relations,
            relation_gate,
            quantity_gate,
            anaphora,
            skip_lines,
            citation_lines,
            token: Regex::new(r"⟨[A-Za-z]+/[A-Za-z]+:(\d+)⟩")
                .map_err(|e| Error::Other(e.to_string()))?,
            negation_cues: Cues::new(cues)?,
            negation_exclude,
            names,
            names_of,
            name_facts_of: ontology
                .entities
                .iter()
                .filter_map(|(id, lex)| {
                    let facts: Vec<(&str, &str)> = lex
                        .facts
                        .iter()
                        .filter(|(p, _)| rules.name_facts.contains(p))
                        .map(|(p, o)| (p.as_str(), o.as_str()))
                        .collect();
                    (!facts.is_empty()).then_some((id.as_str(), facts))
                })
                .collect(),
            hedges: Cues::new(hedges)?,
            price_re,
            year_re: Regex::new(r"(?-u:\b)(?P<y>(?:19|20)\d{2})(?-u:\b)|民国\s?(?P<roc>\d{2,3})\s?年|(?-u:\b)(?P<roc2>1[01]\d)\s?年").map_err(|e| Error::Other(e.to_string()))?,
            clinical_re,
            month_re: Regex::new(r"(\d+)\s?(?:个月|-month|months?)\s?$")
                .map_err(|e| Error::Other(e.to_string()))?,
            number_re,
        })
    }

    /// Number of distinct normalised labels in the dictionary.
    pub fn dictionary_size(&self) -> usize {
        self.dict.len()
    }

    /// Looks up a known entity by a name (normalised) within a top class.
    pub fn known_by_name(&self, top: &str, name: &str) -> Option<&str> {
        let by_name = self.names.get(top)?;
        let id = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            by_name.get(fold(name).as_str())
        } else {
            by_name.get(name)
        };
        id.map(String::as_str)
    }

    /// Segments and normalises a document's text.
    pub fn segment(&self, text: &str) -> (Vec<char>, Vec<Segment>) {
        crate::normalize::segment(
            text,
            &self.ontology.rules.segmentation,
            &self.normalizer,
            &self.skip_lines,
        )
    }

    /// Extracts everything from one document.
    pub fn extract(&self, doc: DocumentInfo, text: &str) -> Extraction {
        self.extract_batch(vec![(doc, text)])
            .pop()
            .unwrap_or_default()
    }

    /// Extracts everything from several documents (each on its own: the result for a
    /// document does not depend on the others of the batch).
    ///
    /// The regexes of each kind of rule run rule by rule over the sentences of the whole
    /// batch (see `captures_by_rule`), not document by document: most rules pass the
    /// literal gate of only a sentence or two of a document, so document by document each
    /// search starts with a lazy DFA that other rules pushed out of the CPU caches. Over a
    /// batch, the same relation searches measured 20× faster. The rest goes document by
    /// document, segment by segment, in text order.
    pub fn extract_batch(&self, docs: Vec<(DocumentInfo, &str)>) -> Vec<Extraction> {
        let prepared: Vec<(DocumentInfo, Vec<char>, Vec<Segment>)> = docs
            .into_iter()
            .map(|(doc, text)| {
                let (chars, segments) = self.segment(text);
                (doc, chars, segments)
            })
            .collect();
        // Every segment of the batch, as (document, segment) and as text; `ranges[d]` are the
        // indices of document d's segments among them.
        let at: Vec<(usize, usize)> = prepared
            .iter()
            .enumerate()
            .flat_map(|(di, (_, _, segments))| (0..segments.len()).map(move |si| (di, si)))
            .collect();
        let ranges: Vec<std::ops::Range<usize>> = prepared
            .iter()
            .scan(0, |from, (_, _, segments)| {
                let range = *from..*from + segments.len();
                *from = range.end;
                Some(range)
            })
            .collect();
        let segment = |i: usize| &prepared[at[i].0].2[at[i].1];
        let texts: Vec<&str> = (0..at.len())
            .map(|i| segment(i).norm.text.as_str())
            .collect();
        // Which discovery, quantity and relation patterns may match each segment: one row of
        // flags per segment, all rows in one vector (see `captures_by_rule`).
        let (nd, nq) = (self.discovery_gate.len(), self.quantity_gate.len());
        let mut discovery_possible = vec![false; at.len() * nd];
        let mut quantity_possible = vec![false; at.len() * nq];
        let mut per_segment: Vec<Vec<Found>> = Vec::with_capacity(at.len());
        let mut anaphora: Vec<Vec<(usize, usize)>> = Vec::with_capacity(at.len());
        // The scan's occurrences, one set of vectors reused from segment to segment.
        let mut hits = ScanHits::default();
        for i in 0..at.len() {
            let (found, phrases) = self.scan_segment(
                segment(i),
                &mut hits,
                &mut discovery_possible[i * nd..(i + 1) * nd],
                &mut quantity_possible[i * nq..(i + 1) * nq],
            );
            per_segment.push(found);
            anaphora.push(phrases);
        }
        let mut on_topic: Vec<bool> = Vec::with_capacity(at.len());
        for ((_, _, segments), range) in prepared.iter().zip(&ranges) {
            on_topic.extend(self.on_topic(&per_segment[range.clone()], segments));
        }
        let discovered = captures_by_rule(
            &self
                .discoveries
                .iter()
                .map(|d| &d.regex)
                .collect::<Vec<_>>(),
            &texts,
            &discovery_possible,
            |si, di| on_topic[si] || !self.discoveries[di].on_topic_only,
        );
        // First pass: the mentions of each segment and what its relation patterns read.
        let mut passes: Vec<SegmentPass> = Vec::with_capacity(at.len());
        let mut per_segment = per_segment.into_iter();
        for ((_, _, segments), range) in prepared.iter().zip(&ranges) {
            let found: Vec<Vec<Found>> = per_segment.by_ref().take(segments.len()).collect();
            passes.extend(self.first_pass(
                segments,
                found,
                &discovered[range.clone()],
                &anaphora[range.clone()],
            ));
        }
        let skeletons: Vec<&str> = passes
            .iter()
            .map(|p| p.skeleton.as_ref().map_or("", |(sk, _)| sk.as_str()))
            .collect();
        let nr = self.relation_gate.len();
        let mut relation_possible = vec![false; passes.len() * nr];
        let mut occurrences = Vec::new();
        for (i, (pass, skeleton)) in passes.iter().zip(&skeletons).enumerate() {
            if pass.skeleton.is_some() {
                self.relation_gate
                    .occurrences_into(skeleton, &mut occurrences);
                self.relation_gate.candidates_into(
                    &mut occurrences,
                    &mut relation_possible[i * nr..(i + 1) * nr],
                );
            }
        }
        let related = captures_by_rule(
            &self.relations.iter().map(|r| &r.regex).collect::<Vec<_>>(),
            &skeletons,
            &relation_possible,
            |si, _| passes[si].skeleton.is_some(),
        );
        let quantities = captures_by_rule(
            &[&self.price_re, &self.clinical_re],
            &texts,
            &quantity_possible,
            |si, _| matches!(segment(si).kind, SegmentKind::Text),
        );
        // Second pass, document by document.
        prepared
            .iter()
            .zip(ranges)
            .map(|((doc, chars, segments), range)| {
                self.second_pass(
                    doc.clone(),
                    chars,
                    segments,
                    &passes[range.clone()],
                    &related[range.clone()],
                    &quantities[range],
                )
            })
            .collect()
    }

    /// The first pass over a document's segments: the mentions of each segment (from the
    /// dictionary, `found`, and the discovery cues' matches, `discovered`) and what its
    /// relation patterns will read.
    fn first_pass<'e>(
        &'e self,
        segments: &[Segment],
        per_segment: Vec<Vec<Found<'e>>>,
        discovered: &[RuleHits],
        anaphora: &[Vec<(usize, usize)>],
    ) -> Vec<SegmentPass<'e>> {
        let mut table_headers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut antecedent: Option<Found> = None;
        let mut passes: Vec<SegmentPass> = Vec::with_capacity(segments.len());
        for (((seg, mut found), discovered), phrases) in segments
            .iter()
            .zip(per_segment)
            .zip(discovered)
            .zip(anaphora)
        {
            self.discover(seg, &mut found, discovered);
            let headers = match seg.kind {
                SegmentKind::TableRow { table } => table_headers.get(&table).cloned(),
                _ => None,
            };
            if let Some(headers) = &headers {
                self.table_subject(seg, headers, &mut found);
            }
            let compounds = self.compound(seg, &mut found);
            let related = match seg.kind {
                SegmentKind::TableHeader { table } => {
                    table_headers.insert(
                        table,
                        seg.norm
                            .cells
                            .iter()
                            .map(|&(a, b)| seg.norm.text[a..b].to_string())
                            .collect(),
                    );
                    None
                }
                SegmentKind::TableRow { .. } => Some(None),
                SegmentKind::Text => {
                    let with_anaphora = self.resolve_anaphora(&found, phrases, antecedent.as_ref());
                    let classes = &self.ontology.rules.anaphora.classes;
                    if let Some(f) = found
                        .iter()
                        .rev()
                        .find(|f| classes.iter().any(|c| c == f.top))
                    {
                        antecedent = Some(f.clone());
                    }
                    // A reference list entry keeps its mentions but states no relation.
                    let citation = self
                        .citation_lines
                        .iter()
                        .any(|r| r.is_match(&seg.norm.text));
                    (!citation).then_some(with_anaphora)
                }
            };
            let skeleton = match &related {
                Some(with_anaphora) => {
                    let rel_found = with_anaphora.as_ref().unwrap_or(&found);
                    (rel_found.len() >= 2).then(|| self.skeleton(&seg.norm.text, rel_found))
                }
                None => None,
            };
            passes.push(SegmentPass {
                found,
                compounds,
                headers,
                with_anaphora: related.flatten(),
                skeleton,
            });
        }
        passes
    }

    /// The second pass over a document's segments: its facts, in text order.
    fn second_pass(
        &self,
        doc: DocumentInfo,
        chars: &[char],
        segments: &[Segment],
        passes: &[SegmentPass],
        related: &[RuleHits],
        quantities: &[RuleHits],
    ) -> Extraction {
        let mut out = Extraction::default();
        // The mentions to come, reserved at once: the vector grown step by step was copied
        // into fresh memory at each step.
        out.mentions.reserve(
            passes
                .iter()
                .map(|p| p.found.len() + p.compounds.iter().map(|c| c.parts.len()).sum::<usize>())
                .sum(),
        );
        // Second pass: facts, in text order.
        let mut last_subject: Option<EntityKey> = None;
        for (si, seg) in segments.iter().enumerate() {
            let SegmentPass {
                found,
                compounds,
                headers,
                with_anaphora,
                skeleton,
            } = &passes[si];
            let facts_from = out.assertions.len();
            for f in found
                .iter()
                .chain(compounds.iter().flat_map(|c| c.parts.iter()))
            {
                let (s, e) = seg.norm.orig_range(f.start, f.end);
                out.mentions.push(RawMention {
                    entity: f.key.clone(),
                    start: s,
                    end: e,
                    surface: compact_of(&chars[s..e]),
                    rule: CompactString::from(&*f.rule),
                    confidence: f.confidence,
                });
            }
            for c in compounds {
                let (s, e) = seg.norm.orig_range(c.found.start, c.found.end);
                for p in &c.parts {
                    if let Some(rel) = &c.relation {
                        out.assertions.push(RawAssertion {
                            subject: c.found.key.clone(),
                            relation: rel.clone(),
                            object: p.key.clone(),
                            negated: false,
                            start: s,
                            end: e,
                            quote: string_of(&chars[s..e]),
                            rule: c.found.rule.to_string(),
                            confidence: 0.9,
                            year: None,
                        });
                    }
                }
            }
            self.name_facts(seg, chars, found, &mut out);
            self.apposition_facts(seg, chars, found, facts_from, &mut out);
            let rel_found = with_anaphora.as_ref().unwrap_or(found);
            match seg.kind {
                SegmentKind::TableHeader { .. } => {}
                SegmentKind::TableRow { .. } => {
                    let headers = headers.clone().unwrap_or_default();
                    self.table_row(seg, chars, found, &headers, &mut out);
                    if let Some((sk, map)) = skeleton {
                        self.relations_in(seg, chars, rel_found, sk, map, &related[si], &mut out);
                    }
                }
                SegmentKind::Text => {
                    if let Some((sk, map)) = skeleton {
                        self.relations_in(seg, chars, rel_found, sk, map, &related[si], &mut out);
                    }
                    self.quantities_in(
                        seg,
                        chars,
                        found,
                        &quantities[si],
                        &mut last_subject,
                        &mut out,
                    );
                }
            }
            self.inner_facts(seg, chars, found, &mut out);
            if let Some(f) = found.iter().rev().find(|f| {
                self.ontology
                    .rules
                    .price
                    .subject_classes
                    .iter()
                    .any(|c| c == f.top)
            }) {
                last_subject = Some(f.key.clone());
            }
        }
        out.doc = Some(doc);
        dedup_assertions(&mut out.assertions);
        // Kept until the graph is resolved: at their exact sizes.
        out.mentions = exact(out.mentions);
        out.assertions = exact(out.assertions);
        out.prices = exact(out.prices);
        out.clinical = exact(out.clinical);
        out
    }

    /// One scan of a segment's text: its dictionary mentions and its anaphora phrases; which
    /// discovery and which quantity patterns its literals let through go into the two rows.
    /// `hits` is scratch space, reused from segment to segment.
    fn scan_segment(
        &self,
        seg: &Segment,
        hits: &mut ScanHits,
        discovery: &mut [bool],
        quantity: &mut [bool],
    ) -> (Vec<Found<'_>>, Vec<(usize, usize)>) {
        let text = seg.norm.text.as_str();
        self.scan_hits(text, hits);
        let found = self.dictionary_from(text, &hits.labels, &mut hits.candidates);
        self.discovery_gate
            .candidates_into(&mut hits.discovery, discovery);
        self.quantity_gate
            .candidates_into(&mut hits.quantity, quantity);
        (found, hits.anaphora.clone())
    }

    /// The occurrences in a text of the dictionary's labels, of the gates' literals and of the
    /// anaphora phrases, from one overlapping scan, into `hits` (cleared first).
    fn scan_hits(&self, text: &str, hits: &mut ScanHits) {
        hits.labels.clear();
        hits.discovery.clear();
        hits.quantity.clear();
        hits.anaphora.clear();
        let phrases = &self.ontology.rules.anaphora.phrases;
        for m in self.scan.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            if p < self.discovery_from {
                hits.labels.push((p, m.start(), m.end()));
            } else if p < self.quantity_from {
                hits.discovery
                    .push(((p - self.discovery_from) as u32, m.start()));
            } else if p < self.anaphora_from {
                hits.quantity
                    .push(((p - self.quantity_from) as u32, m.start()));
            } else {
                // The scan ignores ASCII case; a phrase does not.
                let phrase = self.anaphora[p - self.anaphora_from];
                if &text.as_bytes()[m.start()..m.end()] == phrases[phrase].as_bytes() {
                    hits.anaphora.push((phrase, m.start()));
                }
            }
        }
    }

    /// Dictionary matches in a normalised text, leftmost-longest with word boundaries.
    fn dictionary_matches(&self, text: &str) -> Vec<Found<'_>> {
        let labels: Vec<(usize, usize, usize)> = self
            .scan
            .find_overlapping_iter(text)
            .filter(|m| m.pattern().as_usize() < self.discovery_from)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        self.dictionary_from(text, &labels, &mut Vec::new())
    }

    /// The dictionary matches of a text from the occurrences of labels in it (label, start,
    /// end; overlapping, in any order): leftmost-longest, with word boundaries. `cands` is
    /// scratch space.
    fn dictionary_from(
        &self,
        text: &str,
        labels: &[(usize, usize, usize)],
        cands: &mut Vec<(usize, usize, usize)>,
    ) -> Vec<Found<'_>> {
        let bytes = text.as_bytes();
        cands.clear();
        for &(p, s, e) in labels {
            let d = &self.dict[p];
            if d.case_sensitive && &text[s..e] != d.label.as_str() {
                continue;
            }
            let first = d.label.as_bytes()[0];
            let last = d.label.as_bytes()[d.label.len() - 1];
            if first.is_ascii_alphanumeric() && s > 0 && bytes[s - 1].is_ascii_alphanumeric() {
                continue;
            }
            let mut e = e;
            if last.is_ascii_alphanumeric() && e < bytes.len() && bytes[e].is_ascii_alphanumeric() {
                // An English plural of a lower-case word label: "cartilage defects".
                let plural = !d.case_sensitive
                    && last.is_ascii_lowercase()
                    && d.label.len() >= 4
                    && bytes[e] == b's'
                    && !bytes.get(e + 1).is_some_and(|b| b.is_ascii_alphanumeric());
                if !plural {
                    continue;
                }
                e += 1;
            }
            // A Latin label ending in a digit must not continue with "." + digit (CD3 in CD3.5).
            cands.push((s, e, p));
        }
        cands.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut out: Vec<Found> = Vec::new();
        let mut end = 0;
        for &(s, e, p) in cands.iter() {
            if s < end {
                continue;
            }
            let d = &self.dict[p];
            out.push(Found {
                start: s,
                end: e,
                key: EntityKey::Known(d.entity.clone()),
                top: &d.top,
                class: &d.class,
                rule: Cow::Borrowed("dictionary"),
                confidence: 1.0,
            });
            end = e;
        }
        out
    }

    /// Marks segments near an anchor mention as on-topic.
    fn on_topic(&self, found: &[Vec<Found>], segments: &[Segment]) -> Vec<bool> {
        let anchors = &self.ontology.rules.topic.anchor_classes;
        let window = self.ontology.rules.topic.window;
        let hit: Vec<bool> = found
            .iter()
            .map(|f| f.iter().any(|m| anchors.iter().any(|c| c == m.top)))
            .collect();
        (0..segments.len())
            .map(|i| {
                let lo = i.saturating_sub(window);
                let hi = (i + window + 1).min(segments.len());
                (lo..hi).any(|j| {
                    hit[j] && segments[j].paragraph.abs_diff(segments[i].paragraph) <= window
                })
            })
            .collect()
    }

    /// Adds mentions found by discovery cues (not overlapping known mentions of the same class).
    fn discover<'e>(&'e self, seg: &Segment, found: &mut Vec<Found<'e>>, discovered: &RuleHits) {
        let text = &seg.norm.text;
        let yielding = &self.ontology.rules.matching.yielding_classes;
        for (di, hits) in discovered.iter() {
            let d = &self.discoveries[di];
            for caps in hits {
                let m = caps
                    .name("name")
                    .or_else(|| caps.name("name2"))
                    .or_else(|| caps.get(0));
                let Some(m) = m else { continue };
                let (mut s, e) = (m.start(), m.end());
                // Keep at most the last `max_chars` characters.
                let n = text[s..e].chars().count();
                if n > d.max_chars {
                    s += text[s..e]
                        .char_indices()
                        .nth(n - d.max_chars)
                        .map_or(0, |(i, _)| i);
                }
                // Cut at the last stop char (not the final one: 所 in 研究所) or stop word.
                let last = text[s..e].char_indices().last().map_or(0, |(i, _)| i);
                if let Some((i, c)) = text[s..s + last]
                    .char_indices()
                    .rfind(|(_, c)| d.stop.contains(c))
                {
                    s += i + c.len_utf8();
                }
                if let Some(cut) = d
                    .stop_words
                    .as_ref()
                    .and_then(|ac| last_stop(ac, &text[s..e]))
                {
                    s += cut;
                }
                let mut name = &text[s..e];
                for p in &d.strip {
                    while let Some(rest) = name.strip_prefix(p.as_str()) {
                        if rest.chars().count() < d.min_chars {
                            break;
                        }
                        s += p.len();
                        name = rest;
                    }
                }
                let trimmed = name.trim_start();
                s += name.len() - trimmed.len();
                let name = trimmed.trim_end();
                if name.chars().count() < d.min_chars
                    || d.reject.contains(&fold(name))
                    || d.reject_patterns.iter().any(|r| r.is_match(name))
                {
                    continue;
                }
                let e = s + name.len();
                if d.reject_after.iter().any(|r| r.is_match(&text[e..])) {
                    continue;
                }
                // Known entity with this name: use it.
                // A gloss in brackets or quotes do not change the name: 装甲型(armored)CAR-T.
                let named = d
                    .drop_suffixes
                    .iter()
                    .find_map(|x| name.strip_suffix(x.as_str()))
                    .filter(|n| n.chars().count() >= d.min_chars)
                    .unwrap_or(name)
                    .trim_end();
                let unglossed = without_gloss(named);
                let key = match self
                    .known_by_name(&d.top, named)
                    .or_else(|| self.known_by_name(&d.top, &unglossed))
                {
                    Some(id) => EntityKey::Known(id.into()),
                    None => EntityKey::discovered(&d.class, named),
                };
                // Overlaps: a known mention of the same top class inside or over it wins;
                // mentions of yielding classes (places) inside it give way.
                let overlapping: Vec<usize> = found
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.start < e && s < f.end)
                    .map(|(i, _)| i)
                    .collect();
                let blocked = overlapping.iter().any(|&i| {
                    let f = &found[i];
                    let inside = f.start >= s && f.end <= e;
                    let gives_way = inside
                        && ((yielding.iter().any(|c| c == f.top) && f.top != d.top)
                            || f.key == key
                            || d.swallow
                            || (d.yields_prefix.iter().any(|c| c == f.top) && f.end < e)
                            || (d.extends_known && f.top == d.top && e - s > f.end - f.start));
                    !gives_way
                });
                if blocked {
                    continue;
                }
                for &i in overlapping.iter().rev() {
                    found.remove(i);
                }
                found.push(Found {
                    start: s,
                    end: e,
                    key,
                    top: &d.top,
                    class: &d.class,
                    rule: Cow::Borrowed(&d.rule),
                    confidence: d.confidence,
                });
                found.sort_by_key(|f| (f.start, f.end));
            }
        }
    }

    /// The first cell of a row under a product-type header names the row's subject even when
    /// the name is unknown ("C-CAR031", "GD2-CART01").
    fn table_subject<'e>(&'e self, seg: &Segment, headers: &[String], found: &mut Vec<Found<'e>>) {
        let rules = &self.ontology.rules.table;
        let Some(class) = &rules.subject_class else {
            return;
        };
        let Some(h0) = headers.first() else { return };
        let h0 = fold(h0);
        if !rules.subject_headers.iter().any(|h| h0.contains(&fold(h))) {
            return;
        }
        let Some(&(cs, ce)) = seg.norm.cells.first() else {
            return;
        };
        if found.iter().any(|f| {
            f.start >= cs && f.end <= ce && rules.subject_classes.iter().any(|c| c == f.top)
        }) {
            return;
        }
        let cell = &seg.norm.text[cs..ce];
        let name_end = cell.find('(').unwrap_or(cell.len());
        let name = cell[..name_end].trim();
        let n = name.chars().count();
        if !(2..=30).contains(&n)
            || name
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_whitespace())
        {
            return;
        }
        let start = cs + cell[..name_end].find(name).unwrap_or(0);
        let end = start + name.len();
        let top = self.ontology.top_class(class);
        let key = match self.known_by_name(top, name) {
            Some(id) => EntityKey::Known(id.into()),
            None => EntityKey::discovered(class, name),
        };
        found.retain(|f| f.end <= start || f.start >= end);
        found.push(Found {
            start,
            end,
            key,
            top,
            class,
            rule: Cow::Borrowed("table:first-cell"),
            confidence: 0.7,
        });
        found.sort_by_key(|f| (f.start, f.end));
    }

    /// Joins adjacent modifier + head mentions into compound entities ("CD19 CAR-T").
    fn compound<'e>(&'e self, seg: &Segment, found: &mut Vec<Found<'e>>) -> Vec<Compound<'e>> {
        let mut out = Vec::new();
        let text = &seg.norm.text;
        for rule in &self.ontology.rules.compounds {
            let mut i = 0;
            while i + 1 < found.len() {
                let (a, b) = (&found[i], &found[i + 1]);
                let head_ok = rule.head_ids.is_empty()
                    || matches!(&b.key, EntityKey::Known(id) if rule.head_ids.iter().any(|h| h == id));
                let joiner = &text[a.end..b.start];
                if a.top == rule.modifier
                    && b.top == rule.head
                    && head_ok
                    && rule.joiners.iter().any(|j| j == joiner)
                {
                    // The head by its short label when its surface only adds a word to it
                    // ("CAR-T治疗" → "CAR-T").
                    let head = &text[b.start..b.end];
                    let head = match &b.key {
                        EntityKey::Known(id) => self
                            .ontology
                            .entities
                            .get(id.as_str())
                            .and_then(|l| l.label_en.as_deref())
                            .filter(|l| fold(head).starts_with(&fold(l)))
                            .map_or(head, |l| &head[..l.len()]),
                        EntityKey::Discovered(_) => head,
                    };
                    let name = format!("{} {}", &text[a.start..a.end], head);
                    let key = match self.known_by_name(self.ontology.top_class(&rule.class), &name)
                    {
                        Some(id) => EntityKey::Known(id.into()),
                        None => EntityKey::discovered(&rule.class, &name),
                    };
                    let compound = Found {
                        start: a.start,
                        end: b.end,
                        key,
                        top: self.ontology.top_class(&rule.class),
                        class: &rule.class,
                        rule: Cow::Owned(format!("compound:{}", rule.name)),
                        confidence: 0.9,
                    };
                    let parts = vec![a.clone()];
                    out.push(Compound {
                        found: compound.clone(),
                        parts,
                        relation: Some(rule.relation.clone()),
                    });
                    found.splice(i..i + 2, [compound]);
                }
                i += 1;
            }
        }
        out
    }

    /// Facts a known mention's own name states: "CD19 CAR-T" names its target CD19.
    fn name_facts(&self, seg: &Segment, chars: &[char], found: &[Found], out: &mut Extraction) {
        if self.name_facts_of.is_empty() {
            return;
        }
        for f in found {
            let EntityKey::Known(id) = &f.key else {
                continue;
            };
            let Some(facts) = self.name_facts_of.get(id.as_str()) else {
                continue;
            };
            let surface = fold(&seg.norm.text[f.start..f.end]);
            for &(p, o) in facts {
                let stated = self.names_of.get(o).and_then(|ns| {
                    ns.iter()
                        .filter(|n| n.chars().count() >= 2)
                        .find_map(|n| surface.find(n.as_str()).map(|i| (i, n.len())))
                });
                if let Some((at, len)) = stated {
                    // The object is mentioned too: BCMA in "BCMA CAR-T".
                    let (s, e) = seg.norm.orig_range(f.start + at, f.start + at + len);
                    out.mentions.push(RawMention {
                        entity: EntityKey::Known(o.into()),
                        start: s,
                        end: e,
                        surface: compact_of(&chars[s..e]),
                        rule: "name".into(),
                        confidence: 0.9,
                    });
                    let (s, e) = seg.norm.orig_range(f.start, f.end);
                    out.assertions.push(RawAssertion {
                        subject: f.key.clone(),
                        relation: p.to_string(),
                        object: EntityKey::Known(o.into()),
                        negated: false,
                        start: s,
                        end: e,
                        quote: string_of(&chars[s..e]),
                        rule: "name".into(),
                        confidence: 0.9,
                        year: None,
                    });
                }
            }
        }
    }

    /// A name right after a mention (or in brackets after it) takes over the facts that the
    /// mention's own name states (`apposition_facts`): "BCMA CAR-T（伊基奥仑赛）" targets BCMA.
    fn apposition_facts(
        &self,
        seg: &Segment,
        chars: &[char],
        found: &[Found],
        from: usize,
        out: &mut Extraction,
    ) {
        let props = &self.ontology.rules.apposition_facts;
        let text = &seg.norm.text;
        for w in found.windows(2) {
            let (t, p) = (&w[0], &w[1]);
            if t.top == p.top || !matches!(text[t.end..p.start].trim(), "" | "(" | "(“" | "(「")
            {
                continue;
            }
            let (s, e) = seg.norm.orig_range(t.start, p.end);
            let taken: Vec<RawAssertion> = out.assertions[from..]
                .iter()
                .filter(|a| a.subject == t.key && props.contains(&a.relation))
                .filter(|a| {
                    self.ontology
                        .vocabulary
                        .properties
                        .get(&a.relation)
                        .is_some_and(|prop| self.fits(p.top, &prop.domain))
                })
                .map(|a| RawAssertion {
                    subject: p.key.clone(),
                    start: s,
                    end: e,
                    quote: string_of(&chars[s..e]),
                    rule: "apposition".into(),
                    confidence: 0.8 * a.confidence,
                    ..a.clone()
                })
                .collect();
            out.assertions.extend(taken);
        }
    }

    /// Adds pseudo-mentions for phrases that refer back to the antecedent ("这类产品"); they
    /// take part in relations but are not reported as mentions.
    fn resolve_anaphora<'e>(
        &'e self,
        found: &[Found<'e>],
        phrases: &[(usize, usize)],
        antecedent: Option<&Found<'e>>,
    ) -> Option<Vec<Found<'e>>> {
        let antecedent = antecedent?;
        // Every occurrence of every phrase, from the segment's scan; then, phrase by phrase,
        // its occurrences that do not overlap each other (what `str::match_indices` gives).
        if phrases.is_empty() {
            return None;
        }
        let mut hits = phrases.to_vec();
        hits.sort_unstable();
        let phrases = &self.ontology.rules.anaphora.phrases;
        let mut extra = Vec::new();
        let mut last: Option<(usize, usize)> = None;
        for (p, at) in hits {
            let end = at + phrases[p].len();
            if last.is_some_and(|(lp, lend)| lp == p && at < lend) {
                continue;
            }
            last = Some((p, end));
            if found.iter().any(|f| f.start < end && at < f.end) {
                continue;
            }
            extra.push(Found {
                start: at,
                end,
                key: antecedent.key.clone(),
                top: antecedent.top,
                class: antecedent.class,
                rule: Cow::Borrowed("anaphora"),
                confidence: 0.7,
            });
        }
        if extra.is_empty() {
            return None;
        }
        let mut all: Vec<Found> = found.iter().cloned().chain(extra).collect();
        all.sort_by_key(|f| (f.start, f.end));
        Some(all)
    }

    /// Facts stated by the words inside a name ([[inner]] rules).
    fn inner_facts(&self, seg: &Segment, chars: &[char], found: &[Found], out: &mut Extraction) {
        let vocab = &self.ontology.vocabulary;
        for rule in &self.ontology.rules.inners {
            let Some(prop) = vocab.properties.get(&rule.property) else {
                continue;
            };
            for f in found.iter().filter(|f| {
                rule.container
                    .iter()
                    .any(|c| self.ontology.is_a(f.class, c))
            }) {
                let name = &seg.norm.text[f.start..f.end];
                let mut inner = self.dictionary_matches(name);
                if rule.known_names && inner.iter().any(|m| m.start == 0 && m.end == name.len()) {
                    // The whole name is in the dictionary: look inside it without its first,
                    // then without its last character.
                    let first = name.chars().next().map_or(0, char::len_utf8);
                    let last = name.chars().next_back().map_or(0, char::len_utf8);
                    inner = self.dictionary_matches(&name[..name.len() - last]);
                    inner.extend(self.dictionary_matches(&name[first..]));
                }
                for m in inner {
                    if m.key == f.key
                        || !rule.classes.iter().any(|c| c == m.top)
                        || !self.fits(m.top, &prop.range)
                    {
                        continue;
                    }
                    let (s, e) = seg.norm.orig_range(f.start, f.end);
                    out.assertions.push(RawAssertion {
                        subject: f.key.clone(),
                        relation: rule.property.clone(),
                        object: m.key.clone(),
                        negated: false,
                        start: s,
                        end: e,
                        quote: string_of(&chars[s..e]),
                        rule: format!("inner:{}", rule.name),
                        confidence: 0.8 * f.confidence,
                        year: None,
                    });
                }
            }
        }
    }

    /// Builds the skeleton of a segment: mentions replaced by typed tokens.
    fn skeleton(&self, text: &str, found: &[Found]) -> (String, Vec<u32>) {
        let mut sk = String::with_capacity(text.len() + found.len() * 16);
        // For each skeleton byte: normalised byte offset (a segment's text is far below 4 GB;
        // NormText counts its bytes in u32 too).
        let mut map = Vec::with_capacity(text.len() + found.len() * 16);
        let mut pos = 0;
        for (i, f) in found.iter().enumerate() {
            if f.start < pos {
                continue;
            }
            for (b, c) in text[pos..f.start].char_indices() {
                sk.push(if c == '\t' { '。' } else { c });
                map.extend(std::iter::repeat_n((pos + b) as u32, c.len_utf8()));
            }
            let before = sk.len();
            // Writing into a String cannot fail.
            let _ = write!(sk, "⟨{}/{}:{}⟩", f.top, f.class, i);
            map.extend(std::iter::repeat_n(f.start as u32, sk.len() - before));
            pos = f.end;
            // "国家药品监督管理局(NMPA)": a parenthetical holding only another name of the same
            // entity belongs to the token.
            if let Some(next) = found.get(i + 1) {
                let between = &text[pos..next.start];
                if next.key == f.key && matches!(between.trim(), "(" | "(“" | "(「") {
                    if let Some(close) = text[next.end..].find(')') {
                        let tail = &text[next.end..next.end + close];
                        if tail.chars().count() <= 12 && !tail.contains('⟨') {
                            let end = next.end + close + 1;
                            pos = end;
                        }
                    }
                }
            }
        }
        for (b, c) in text[pos..].char_indices() {
            sk.push(if c == '\t' { '。' } else { c });
            map.extend(std::iter::repeat_n((pos + b) as u32, c.len_utf8()));
        }
        map.push(text.len() as u32);
        (sk, map)
    }

    /// The one year a text states (2017年, 2021, 民國112年 / 112年 → 2023), if exactly one.
    fn year_in(&self, text: &str) -> Option<i32> {
        let mut years = BTreeSet::new();
        for c in self.year_re.captures_iter(text) {
            if let Some(y) = c.name("y").and_then(|m| m.as_str().parse::<i32>().ok()) {
                years.insert(y);
            } else if let Some(r) = c
                .name("roc")
                .or_else(|| c.name("roc2"))
                .and_then(|m| m.as_str().parse::<i32>().ok())
            {
                years.insert(r + 1911);
            }
        }
        if years.len() == 1 {
            years.into_iter().next()
        } else {
            None
        }
    }

    fn tokens_in(&self, s: &str) -> Vec<usize> {
        self.token
            .captures_iter(s)
            .filter_map(|c| c.get(1).and_then(|m| m.as_str().parse().ok()))
            .collect()
    }

    /// Relation patterns over a prose segment: `hits` are the matches of each rule in its
    /// skeleton `sk` (`map`: skeleton byte → normalised byte).
    #[allow(clippy::too_many_arguments)]
    fn relations_in(
        &self,
        seg: &Segment,
        chars: &[char],
        found: &[Found],
        sk: &str,
        map: &[u32],
        hits: &RuleHits,
        out: &mut Extraction,
    ) {
        let vocab = &self.ontology.vocabulary;
        let mut folded: Option<String> = None;
        for (ri, hits) in hits.iter() {
            let rel = &self.relations[ri];
            if !rel.when.is_empty() || !rel.unless.is_empty() {
                let folded = folded.get_or_insert_with(|| fold(sk));
                if (!rel.when.is_empty() && !rel.when.iter().any(|c| folded.contains(c.as_str())))
                    || rel.unless.iter().any(|c| folded.contains(c.as_str()))
                {
                    continue;
                }
            }
            for caps in hits {
                let (Some(sg), Some(og)) = (caps.name("s"), caps.name("o")) else {
                    continue;
                };
                let whole = caps.get(0).map_or(0..0, |m| m.range());
                let Some(prop) = vocab.properties.get(&rel.rule.property) else {
                    continue;
                };
                if self.hedged(sk, whole.start, whole.end) {
                    continue;
                }
                let negated = rel.rule.negatable && self.negated(sk, whole.start, whole.end);
                let relation = if negated {
                    match vocab
                        .properties
                        .values()
                        .find(|p| p.negation_of.as_deref() == Some(prop.name.as_str()))
                    {
                        Some(neg) => neg.name.clone(),
                        None => continue,
                    }
                } else {
                    prop.name.clone()
                };
                let norm = &seg.norm.text;
                let (ms, me) = (
                    (map[whole.start] as usize).min(norm.len()),
                    (map[whole.end.min(map.len() - 1)] as usize).min(norm.len()),
                );
                // The year inside the match, else in its clause, else the sentence's only year.
                let clause_start = norm[..floor_char(norm, ms)]
                    .rfind([',', ';', ':'])
                    .map_or(0, |p| p + 1);
                let year = self
                    .year_in(&norm[floor_char(norm, ms)..ceil_char(norm, me.max(ms))])
                    .or_else(|| self.year_in(&norm[clause_start..ceil_char(norm, me.max(ms))]))
                    .or_else(|| self.year_in(norm));
                let fits_role = |i: &usize, classes: &[String], allowed: &[String]| {
                    let f = &found[*i];
                    self.fits(f.top, allowed)
                        && (classes.is_empty()
                            || classes.iter().any(|c| self.ontology.is_a(f.class, c)))
                };
                let mut subjects = self.tokens_in(sg.as_str());
                let mut objects = self.tokens_in(og.as_str());
                if rel.rule.first_only {
                    subjects.retain(|i| fits_role(i, &rel.rule.subject_classes, &prop.domain));
                    subjects.truncate(1);
                    objects.retain(|i| fits_role(i, &rel.rule.object_classes, &prop.range));
                    objects.truncate(1);
                }
                for &si in &subjects {
                    for &oi in &objects {
                        let (s, o) = (&found[si], &found[oi]);
                        if s.key == o.key
                            || !self.fits(s.top, &prop.domain)
                            || !self.fits(o.top, &prop.range)
                        {
                            continue;
                        }
                        let narrow = |classes: &[String], f: &Found| {
                            classes.is_empty()
                                || classes.iter().any(|c| self.ontology.is_a(f.class, c))
                        };
                        if !narrow(&rel.rule.subject_classes, s)
                            || !narrow(&rel.rule.object_classes, o)
                        {
                            continue;
                        }
                        let (a, b) = quote_span(
                            seg,
                            chars,
                            map[whole.start] as usize,
                            map[whole.end.min(map.len() - 1)] as usize,
                        );
                        out.assertions.push(RawAssertion {
                            subject: s.key.clone(),
                            relation: relation.clone(),
                            object: o.key.clone(),
                            negated,
                            start: a,
                            end: b,
                            quote: string_of(&chars[a..b]),
                            rule: rel.rule.name.clone(),
                            confidence: rel.rule.confidence * s.confidence.min(o.confidence),
                            year,
                        });
                    }
                }
            }
        }
    }

    fn fits(&self, top: &str, classes: &[String]) -> bool {
        classes
            .iter()
            .any(|c| self.ontology.is_a(top, c) || c == top)
    }

    /// A hedge (question, hypothesis, plan) inside the match or just before it; a word of the
    /// exclude list that holds it (用药计划: a programme, not a plan) does not count.
    fn hedged(&self, sk: &str, start: usize, end: usize) -> bool {
        let from = floor_char(sk, start.saturating_sub(18));
        self.hedges
            .occurrences(&sk[from..end])
            .into_iter()
            .any(|(i, h)| !self.excluded(sk, from + i, h))
    }

    /// Whether the cue at byte `at` of `sk` is part of a word of the exclude list (未来, 不仅).
    fn excluded(&self, sk: &str, at: usize, cue: &str) -> bool {
        self.negation_exclude.iter().any(|x| {
            x.contains(cue)
                && sk[floor_char(sk, at.saturating_sub(x.len()))
                    ..ceil_char(sk, (at + x.len()).min(sk.len()))]
                    .contains(x.as_str())
        })
    }

    /// A negation cue inside the match or within the window before it (in the skeleton).
    fn negated(&self, sk: &str, start: usize, end: usize) -> bool {
        let window = self.ontology.rules.negation.window;
        let mut from = start;
        for _ in 0..window {
            if from == 0 {
                break;
            }
            let prev = sk[..from].chars().next_back().map_or(1, char::len_utf8);
            let c = sk[..from].chars().next_back().unwrap_or(' ');
            if matches!(c, '。' | ';' | '!' | '?' | '⟩') {
                break;
            }
            from -= prev;
        }
        self.negation_cues
            .occurrences(&sk[from..end])
            .into_iter()
            .any(|(i, cue)| !self.excluded(sk, from + i, cue))
    }

    /// Facts and clinical results from a table row, by column header.
    fn table_row(
        &self,
        seg: &Segment,
        chars: &[char],
        found: &[Found],
        headers: &[String],
        out: &mut Extraction,
    ) {
        let rules = &self.ontology.rules.table;
        let cells = &seg.norm.cells;
        if cells.is_empty() {
            return;
        }
        let in_cell = |f: &Found, c: usize| f.start >= cells[c].0 && f.end <= cells[c].1;
        // The row subject: the first mention of a subject class in the first cell.
        let Some(subject) = found
            .iter()
            .find(|f| in_cell(f, 0) && rules.subject_classes.iter().any(|c| c == f.top))
        else {
            return;
        };
        let (rs, re) = (seg.start, seg.end);
        let quote: String = string_of(&chars[rs..re]);
        let vocab = &self.ontology.vocabulary;
        let push = |rel: &str, object: &Found, rule: &str, out: &mut Extraction| {
            let Some(prop) = vocab.properties.get(rel) else {
                return;
            };
            if !self.fits(subject.top, &prop.domain)
                || !self.fits(object.top, &prop.range)
                || subject.key == object.key
            {
                return;
            }
            out.assertions.push(RawAssertion {
                subject: subject.key.clone(),
                relation: rel.to_string(),
                object: object.key.clone(),
                negated: false,
                start: rs,
                end: re,
                quote: quote.clone(),
                rule: rule.to_string(),
                confidence: 0.85 * subject.confidence.min(object.confidence),
                year: None,
            });
        };
        // Bracketed entity right after the subject in the first cell: "Kymriah（诺华）".
        if let Some(rel) = &rules.bracket_relation {
            let text = &seg.norm.text;
            for f in found
                .iter()
                .filter(|f| in_cell(f, 0) && f.start > subject.end)
            {
                let between = &text[subject.end..f.start];
                if between.trim() == "(" {
                    push(rel, f, "table:bracket", out);
                }
            }
        }
        let indication = found
            .iter()
            .find(|f| f.top == "Disease" && !in_cell(f, 0))
            .map(|f| f.key.clone());
        for (ci, header) in headers.iter().enumerate().skip(1) {
            if ci >= cells.len() {
                break;
            }
            let h: String = fold(header)
                .replace("(%)", "")
                .replace('%', "")
                .split_whitespace()
                .collect();
            let matches_header = |x: &String| {
                let x = fold(x);
                if h == x {
                    return true;
                }
                if !x.is_ascii() {
                    return h.contains(&x);
                }
                h.starts_with(&x) && !h[x.len()..].starts_with(|c: char| c.is_ascii_alphabetic())
            };
            let Some(col) = rules
                .columns
                .iter()
                .find(|c| c.headers.iter().any(matches_header))
            else {
                continue;
            };
            if let Some(rel) = &col.property {
                for f in found.iter().filter(|f| in_cell(f, ci)) {
                    push(rel, f, "table:column", out);
                }
            }
            if let Some(metric) = &col.metric {
                let cell = &seg.norm.text[cells[ci].0..cells[ci].1];
                if let Some(c) = self.number_re.captures(cell) {
                    let a = c.name("a").and_then(|m| m.as_str().parse::<Decimal>().ok());
                    let b = c.name("b").and_then(|m| m.as_str().parse::<Decimal>().ok());
                    let (cs, ce) = seg.norm.orig_range(cells[ci].0, cells[ci].1);
                    let _ = (cs, ce);
                    out.clinical.push(RawClinical {
                        product: subject.key.clone(),
                        indication: indication.clone(),
                        metric: metric.clone(),
                        value: if b.is_none() { a } else { None },
                        min: if b.is_some() { a } else { None },
                        max: b,
                        start: rs,
                        end: re,
                        quote: quote.clone(),
                    });
                }
            }
        }
    }

    /// Prices and clinical rates in a prose segment.
    fn quantities_in(
        &self,
        seg: &Segment,
        chars: &[char],
        found: &[Found],
        hits: &RuleHits,
        last_subject: &mut Option<EntityKey>,
        out: &mut Extraction,
    ) {
        let text = &seg.norm.text;
        let pr = &self.ontology.rules.price;
        let subject_for = |at: usize, classes: &[String]| -> Option<EntityKey> {
            // Nearest preceding mention of a subject class (by preference order), else following.
            for class in classes {
                if let Some(f) = found.iter().rev().find(|f| f.end <= at && f.top == class) {
                    return Some(f.key.clone());
                }
            }
            for class in classes {
                if let Some(f) = found.iter().find(|f| f.start >= at && f.top == class) {
                    return Some(f.key.clone());
                }
            }
            None
        };
        for caps in hits.of(QUANTITY_PRICE) {
            let whole = caps.get(0).map_or(0..0, |m| m.range());
            let pre = caps.name("pre").map(|m| m.as_str());
            let cur = caps.name("cur").map(|m| m.as_str());
            let am = caps.name("am").map(|m| m.as_str());
            // Needs a currency word, or a multiplier with a currency word right after.
            let Some(cur_word) = pre.or(cur) else {
                continue;
            };
            let Some(code) = lookup_ci(&pr.currencies, cur_word) else {
                continue;
            };
            let factor = |m: Option<&str>| {
                m.and_then(|m| lookup_ci(&pr.multipliers, m))
                    .and_then(|f| f.parse::<Decimal>().ok())
                    .unwrap_or(Decimal::ONE)
            };
            let parse = |s: &str| s.replace(',', "").parse::<Decimal>().ok();
            let Some(a) = caps.name("a").and_then(|m| parse(m.as_str())) else {
                continue;
            };
            let b = caps.name("b").and_then(|m| parse(m.as_str()));
            let bm = caps.name("bm").map(|m| m.as_str()).or(am);
            let a_factor = if am.is_some() {
                factor(am)
            } else if b.is_some() {
                factor(bm)
            } else {
                Decimal::ONE
            };
            let a_val = a * a_factor;
            let b_val = b.map(|b| b * factor(bm));
            let amount_probe = b_val.unwrap_or(a_val);
            if amount_probe < Decimal::from_f64_retain(pr.min_amount).unwrap_or(Decimal::ZERO) {
                continue;
            }
            // Context: 24 chars before and 12 after.
            let ctx_start = floor_char(text, whole.start.saturating_sub(30));
            let ctx_end = ceil_char(text, (whole.end + 16).min(text.len()));
            let before = &text[ctx_start..whole.start];
            let after = &text[whole.end..ctx_end];
            if pr.exclude_context.iter().any(|w| {
                before.ends_with(w.as_str())
                    || before.contains(w.as_str())
                        && before
                            .rfind(w.as_str())
                            .is_some_and(|p| whole.start - (ctx_start + p) <= 9)
            }) {
                continue;
            }
            let unit = pr
                .units
                .iter()
                .filter(|(k, _)| after.starts_with(k.as_str()) || before.contains(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let qualifier = pr
                .qualifiers
                .iter()
                .filter(|(k, _)| {
                    before.ends_with(k.as_str())
                        || before.trim_end().ends_with(k.as_str())
                        || before.contains(k.as_str())
                            && before
                                .rfind(k.as_str())
                                .is_some_and(|p| whole.start - (ctx_start + p) <= k.len() + 4)
                })
                .max_by_key(|(k, _)| k.len())
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let classes = pr.unit_subjects.get(&unit).unwrap_or(&pr.subject_classes);
            let subject = subject_for(whole.start, classes).or_else(|| last_subject.clone());
            let Some(subject) = subject else { continue };
            let (s, e) = quote_span(seg, chars, whole.start, whole.end);
            out.prices.push(RawPrice {
                subject,
                amount: if b_val.is_none() { Some(a_val) } else { None },
                min: if b_val.is_some() { Some(a_val) } else { None },
                max: b_val,
                currency: code.to_string(),
                unit,
                qualifier,
                start: s,
                end: e,
                quote: string_of(&chars[s..e]),
            });
        }
        let cr = &self.ontology.rules.clinical;
        for caps in hits.of(QUANTITY_CLINICAL) {
            let whole = caps.get(0).map_or(0..0, |m| m.range());
            let group = |names: [&str; 3]| names.iter().find_map(|n| caps.name(n));
            let Some(metric) = group(["metric", "metric2", "metric3"])
                .and_then(|m| lookup_ci(&cr.metrics, m.as_str()))
            else {
                continue;
            };
            // "12 个月无进展生存率" → "12-month PFS".
            let metric = match self.month_re.captures(&text[..whole.start]) {
                Some(c) if caps.name("metric").is_some() => format!("{}-month {metric}", &c[1]),
                _ => metric.to_string(),
            };
            let a = group(["a", "a2", "a3"]).and_then(|m| m.as_str().parse::<Decimal>().ok());
            let b = group(["b", "b3", "b3"]).and_then(|m| m.as_str().parse::<Decimal>().ok());
            let Some(product) =
                subject_for(whole.start, &cr.subject_classes).or_else(|| last_subject.clone())
            else {
                continue;
            };
            let indication = found
                .iter()
                .find(|f| f.top == "Disease")
                .map(|f| f.key.clone());
            let (s, e) = quote_span(seg, chars, whole.start, whole.end);
            out.clinical.push(RawClinical {
                product,
                indication,
                metric,
                value: if b.is_none() { a } else { None },
                min: if b.is_some() { a } else { None },
                max: b,
                start: s,
                end: e,
                quote: string_of(&chars[s..e]),
            });
        }
    }
}

fn lookup_ci<'a>(map: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .map(String::as_str)
}

/// Where a name is cut after its stop words: the end of the last occurrence of each stop word
/// in `name`, at most, leaving out a word whose last occurrence ends the name (that is, the
/// largest `name.rfind(w) + w.len()` below `name.len()`), from one scan for all of them.
fn last_stop(words: &AhoCorasick, name: &str) -> Option<usize> {
    let hits: Vec<(usize, usize)> = words
        .find_overlapping_iter(name)
        .map(|m| (m.pattern().as_usize(), m.end()))
        .collect();
    let ends_the_name = |w: usize| hits.iter().any(|&(q, end)| q == w && end == name.len());
    hits.iter()
        .filter(|&&(w, end)| end < name.len() && !ends_the_name(w))
        .map(|&(_, end)| end)
        .max()
}

/// Cue words (negations, hedges) found in one scan of a text.
struct Cues {
    words: Vec<String>,
    ac: AhoCorasick,
}

impl Cues {
    /// Empty words are left out: a cue must say something.
    fn new(mut words: Vec<String>) -> Result<Cues> {
        words.retain(|w| !w.is_empty());
        let ac = AhoCorasick::new(&words)
            .map_err(|e| Error::Other(format!("building the cue matcher: {e}")))?;
        Ok(Cues { words, ac })
    }

    /// (byte offset, cue) of the occurrences of each cue in `text`, as `str::match_indices`
    /// gives them cue by cue (an occurrence overlapping an earlier one of the same cue is
    /// left out), in the order of the cues and then of the offsets.
    fn occurrences(&self, text: &str) -> Vec<(usize, &str)> {
        let mut hits: Vec<(usize, usize)> = self
            .ac
            .find_overlapping_iter(text)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        hits.sort_unstable();
        let mut out = Vec::with_capacity(hits.len());
        let mut previous: Option<(usize, usize)> = None;
        for (p, at) in hits {
            if previous.is_some_and(|(q, end)| q == p && at < end) {
                continue;
            }
            let word = self.words[p].as_str();
            previous = Some((p, at + word.len()));
            out.push((at, word));
        }
        out
    }
}

/// The text of `chars`, allocated once at its size (collecting the chars grows a string step by
/// step, three bytes per Chinese character).
fn string_of(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.iter().map(|c| c.len_utf8()).sum());
    out.extend(chars);
    out
}

/// [`string_of`] for short strings (surfaces): kept inline up to 24 bytes, with no allocation.
fn compact_of(chars: &[char]) -> CompactString {
    let mut out = CompactString::with_capacity(chars.iter().map(|c| c.len_utf8()).sum());
    out.extend(chars);
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The quote for a match: the clause(s) around normalised bytes `[a, b)`, as original offsets.
fn quote_span(seg: &Segment, chars: &[char], a: usize, b: usize) -> (usize, usize) {
    let (ms, me) = seg.norm.orig_range(a, b.max(a + 1));
    let (ss, se) = (seg.start, seg.end);
    if se - ss <= 120 {
        return (ss, se);
    }
    let clause = |c: char| matches!(c, '，' | ',' | '；' | ';' | '。' | '：' | ':' | '\n');
    let mut s = ms;
    while s > ss && !clause(chars[s - 1]) {
        s -= 1;
    }
    let mut e = me;
    while e < se && !clause(chars[e]) {
        e += 1;
    }
    if e < se {
        e += 1;
    }
    while s < e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e - 1].is_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// What the first pass over a document keeps of a segment for the second.
struct SegmentPass<'e> {
    found: Vec<Found<'e>>,
    compounds: Vec<Compound<'e>>,
    /// The headers of the table a row belongs to.
    headers: Option<Vec<String>>,
    /// `found` with pseudo-mentions for anaphora, when there are any.
    with_anaphora: Option<Vec<Found<'e>>>,
    /// The skeleton relation patterns read (when there are two mentions to relate) and its
    /// byte map.
    skeleton: Option<(String, Vec<u32>)>,
}

/// The matches of the regexes in one text: (regex index, its matches), in the regexes' order,
/// for the regexes that matched at all. Most texts let few of the patterns through the literal
/// gate and fewer still match, so this is kept sparse: a dense row per text (one empty vector
/// per pattern) was the largest allocation of extraction.
#[derive(Default)]
struct RuleHits<'h>(Vec<(usize, Vec<Captures<'h>>)>);

impl<'h> RuleHits<'h> {
    /// The matches of regex `ri` (none if it did not match or did not run).
    fn of(&self, ri: usize) -> &[Captures<'h>] {
        self.0
            .binary_search_by_key(&ri, |(i, _)| *i)
            .map_or(&[], |at| self.0[at].1.as_slice())
    }

    /// (regex index, matches) for each regex that matched, in the regexes' order.
    fn iter(&self) -> impl Iterator<Item = (usize, &[Captures<'h>])> {
        self.0.iter().map(|(i, caps)| (*i, caps.as_slice()))
    }
}

/// The matches of each regex in each text (`[text]`, see [`RuleHits`]), where the literal gate
/// lets the regex through (`possible[text * regexes.len() + regex]`: a row of flags per text)
/// and `wanted` accepts.
///
/// The loop runs regex by regex, each over every text, not text by text: a regex's lazy DFA
/// and caches then stay in the CPU cache while it goes through the texts. Text by text, every
/// search starts cold, which measured 20× slower per search on the relation patterns.
fn captures_by_rule<'h>(
    regexes: &[&Regex],
    texts: &[&'h str],
    possible: &[bool],
    wanted: impl Fn(usize, usize) -> bool,
) -> Vec<RuleHits<'h>> {
    let n = regexes.len();
    debug_assert_eq!(possible.len(), texts.len() * n);
    let mut out: Vec<RuleHits<'h>> = texts.iter().map(|_| RuleHits::default()).collect();
    for (ri, re) in regexes.iter().enumerate() {
        for (ti, text) in texts.iter().enumerate() {
            if possible[ti * n + ri] && wanted(ti, ri) {
                let caps: Vec<Captures<'h>> = re.captures_iter(text).collect();
                if !caps.is_empty() {
                    out[ti].0.push((ri, caps));
                }
            }
        }
    }
    out
}

/// What the scan of a text finds, by kind of pattern (see [`Extractor::scan_hits`]).
#[derive(Default)]
struct ScanHits {
    /// (label, start, end) of each occurrence of a dictionary label.
    labels: Vec<(usize, usize, usize)>,
    /// (literal, start) of each occurrence of a literal of the discovery gate, as it numbers
    /// them.
    discovery: Vec<(u32, usize)>,
    /// The same for the quantity gate.
    quantity: Vec<(u32, usize)>,
    /// (phrase, start) of each occurrence of an anaphora phrase, in its case.
    anaphora: Vec<(usize, usize)>,
    /// The dictionary's candidate matches (see [`Extractor::dictionary_from`]).
    candidates: Vec<(usize, usize, usize)>,
}

/// A mention while a document is extracted. Its class names and rule are borrowed from the
/// extractor and the ontology (a dictionary mention used to allocate four strings).
#[derive(Debug, Clone)]
struct Found<'e> {
    start: usize,
    end: usize,
    key: EntityKey,
    top: &'e str,
    class: &'e str,
    rule: Cow<'e, str>,
    confidence: f64,
}

struct Compound<'e> {
    found: Found<'e>,
    parts: Vec<Found<'e>>,
    relation: Option<String>,
}

fn dedup_assertions(v: &mut Vec<RawAssertion>) {
    v.sort_by(|a, b| {
        (&a.subject, &a.relation, &a.object, a.start, a.end)
            .cmp(&(&b.subject, &b.relation, &b.object, b.start, b.end))
            .then(b.confidence.total_cmp(&a.confidence))
    });
    v.dedup_by(|b, a| {
        a.subject == b.subject
            && a.relation == b.relation
            && a.object == b.object
            && a.start == b.start
            && a.end == b.end
    });
}

/// Expands `{S:Class|Class}`, `{O+:Class}` and `{NAME}` macros of a relation pattern.
pub fn expand_macros(
    pattern: &str,
    macros: &BTreeMap<String, String>,
    ontology: &Ontology,
) -> std::result::Result<String, String> {
    let re =
        Regex::new(r"\{([SO])(\+?):([A-Za-z|]+)\}|\{([A-Z_]+)\}").map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut last = 0;
    let sep = macros
        .get("LIST_SEP")
        .cloned()
        .unwrap_or_else(|| "(?:、|,|和|及|与|以及|或|/|and|or)".into());
    for caps in re.captures_iter(pattern) {
        let m = caps.get(0).ok_or("bad macro")?;
        out.push_str(&pattern[last..m.start()]);
        if let Some(role) = caps.get(1) {
            let list = caps.get(2).is_some_and(|x| x.as_str() == "+");
            let classes = caps.get(3).map_or("", |x| x.as_str());
            let mut alts = Vec::new();
            for c in classes.split('|') {
                if !ontology.vocabulary.classes.contains_key(c) {
                    return Err(format!("unknown class {c} in macro {}", m.as_str()));
                }
                if ontology.top_class(c) == c {
                    alts.push(format!(r"{c}/[A-Za-z]+"));
                } else {
                    alts.push(format!(r"[A-Za-z]+/{c}"));
                }
            }
            // A trademark sign belongs to the name ("CARVYKTI®").
            let tok = format!(r"⟨(?:{}):\d+⟩®?", alts.join("|"));
            let name = role.as_str().to_lowercase();
            if list {
                // Each item may carry a parenthetical: "弥漫大B细胞淋巴瘤(DLBCL)、滤泡性淋巴瘤(FL)".
                // Items may be quoted: "《A》与《B》".
                let item = format!(r"[《“「]?{tok}[》”」]?(?:\s?\([^()。;]{{0,40}}\))?");
                out.push_str(&format!(r"(?P<{name}>{item}(?:\s?{sep}\s?{item})*)"));
            } else {
                out.push_str(&format!("(?P<{name}>{tok})"));
            }
        } else {
            let name = caps.get(4).map_or("", |x| x.as_str());
            let body = macros
                .get(name)
                .ok_or_else(|| format!("unknown macro {{{name}}}"))?;
            out.push_str(body);
        }
        last = m.end();
    }
    out.push_str(&pattern[last..]);
    Ok(out)
}

/// True when a normalised string is mostly Han (used by resolve for label choice).
/// A name without its bracketed glosses and quotes ("装甲型(armored)CAR-T" → "装甲型CAR-T").
fn without_gloss(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '“' | '”' | '"' | '「' | '」' => {}
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

pub fn mostly_han(s: &str) -> bool {
    let han = s.chars().filter(|&c| is_han(c)).count();
    han * 2 >= s.chars().count()
}

#[allow(dead_code)]
fn _assert_norm_used(_: &NormText) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One scan for all the cues gives the occurrences `str::match_indices` gives cue by cue:
    /// overlapping cues each count, an occurrence overlapping an earlier one of the same cue
    /// does not.
    #[test]
    fn cue_occurrences_are_those_of_match_indices() {
        let words = ["尚未", "未", "aa", "不", "没有", "有"];
        let cues = Cues::new(
            words
                .iter()
                .map(|w| w.to_string())
                .chain([String::new()])
                .collect(),
        )
        .unwrap();
        for text in [
            "尚未纳入医保",
            "aaaaa 没有 aa",
            "未未尚未",
            "",
            "没有有不不",
            "a",
        ] {
            let mut expected: Vec<(usize, &str)> = Vec::new();
            for w in words {
                expected.extend(text.match_indices(w).map(|(i, _)| (i, w)));
            }
            assert_eq!(cues.occurrences(text), expected, "{text}");
        }
        assert_eq!(cues.occurrences("aaaaa").len(), 2);
    }

    /// Both scan automata give the same extraction of every seed and of the blind set.
    #[test]
    fn both_scans_extract_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ontology = Ontology::load(&root.join("ontology")).unwrap();
        let compact = Extractor::with_scan(&ontology, Scan::Compact).unwrap();
        let fast = Extractor::with_scan(&ontology, Scan::Fast).unwrap();
        let (files, _) =
            crate::ingest::collect_files(&[root.join("seeds"), root.join("tests/fixtures/unseen")])
                .unwrap();
        let docs: Vec<_> = files
            .iter()
            .filter_map(|(r, p)| crate::ingest::read_document(r, p).unwrap().ok())
            .collect();
        assert!(docs.len() >= 10, "{}", docs.len());
        let batch = || {
            docs.iter()
                .map(|d| (d.info.clone(), d.text.as_str()))
                .collect()
        };
        let (a, b) = (compact.extract_batch(batch()), fast.extract_batch(batch()));
        let bytes = |v: &[Extraction]| postcard::to_allocvec(v).unwrap();
        assert_eq!(bytes(&a), bytes(&b));
        assert!(a.iter().map(|e| e.mentions.len()).sum::<usize>() > 1000);
        assert_eq!(Scan::for_bytes(Scan::FAST_FROM_BYTES - 1), Scan::Compact);
        assert_eq!(Scan::for_bytes(Scan::FAST_FROM_BYTES), Scan::Fast);
    }

    #[test]
    fn the_stop_word_cut_is_that_of_rfind_word_by_word() {
        let words = ["包括", "括", "以及", "aa", "有", "没有"];
        let ac = AhoCorasick::new(words).unwrap();
        let rfind = |name: &str| {
            words
                .iter()
                .filter_map(|w| name.rfind(w).map(|i| i + w.len()))
                .filter(|&i| i < name.len())
                .max()
        };
        let pieces = ["包括", "以及", "a", "有", "没", "医院", "括"];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut cut = 0;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let mut name = String::new();
            for _ in 0..(r % 7) {
                r /= 7;
                name.push_str(pieces[(r % pieces.len() as u64) as usize]);
                r /= pieces.len() as u64;
            }
            assert_eq!(last_stop(&ac, &name), rfind(&name), "{name}");
            cut += usize::from(rfind(&name).is_some());
        }
        // Names with a cut and names without one were both tried.
        assert!(cut > 100 && cut < 4_900, "{cut}");
    }

    /// The one scan of a segment gives what the dictionary search and the two gates give on
    /// their own, on every segment of the seed articles.
    #[test]
    fn one_scan_finds_what_the_separate_searches_find() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ontology = Ontology::load(&root.join("ontology")).unwrap();
        let ex = Extractor::new(&ontology).unwrap();
        let (mut segments, mut discoveries, mut quantities, mut hits) = (0, 0, 0, 0);
        // The anaphora phrases found alone, case-sensitively.
        let phrases = AhoCorasick::new(&ontology.rules.anaphora.phrases).unwrap();
        let mut phrase_hits = 0;
        // One scratch for every segment, as a batch uses it: nothing of one segment's scan may
        // show in the next one's.
        let mut scratch = ScanHits::default();
        for entry in std::fs::read_dir(root.join("seeds")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let (_, segs) = ex.segment(&text);
            for seg in &segs {
                let text = seg.norm.text.as_str();
                let mut discovery = vec![true; ex.discovery_gate.len()];
                let mut quantity = vec![true; ex.quantity_gate.len()];
                let (found, anaphora) =
                    ex.scan_segment(seg, &mut scratch, &mut discovery, &mut quantity);
                let alone = ex.dictionary_matches(text);
                let spans = |f: &[Found]| -> Vec<(usize, usize, EntityKey)> {
                    f.iter().map(|f| (f.start, f.end, f.key.clone())).collect()
                };
                assert_eq!(spans(&found), spans(&alone), "{text}");
                let sorted = |mut v: Vec<(u32, usize)>| {
                    v.sort_unstable();
                    v
                };
                let mut fresh = ScanHits::default();
                ex.scan_hits(text, &mut fresh);
                let ScanHits {
                    discovery: discovery_hits,
                    quantity: quantity_hits,
                    anaphora: mut anaphora_hits,
                    ..
                } = fresh;
                let (discovery_hits, quantity_hits) =
                    (sorted(discovery_hits), sorted(quantity_hits));
                anaphora_hits.sort_unstable();
                let mut alone: Vec<(usize, usize)> = phrases
                    .find_overlapping_iter(text)
                    .map(|m| (m.pattern().as_usize(), m.start()))
                    .collect();
                alone.sort_unstable();
                assert_eq!(anaphora_hits, alone, "{text}");
                assert_eq!(anaphora.len(), alone.len());
                phrase_hits += alone.len();
                assert_eq!(discovery_hits, sorted(ex.discovery_gate.occurrences(text)));
                assert_eq!(quantity_hits, sorted(ex.quantity_gate.occurrences(text)));
                let mut d = Vec::new();
                ex.discovery_gate.candidates(text, &mut d);
                assert_eq!(discovery, d, "{text}");
                let mut q = Vec::new();
                ex.quantity_gate.candidates(text, &mut q);
                assert_eq!(quantity, q, "{text}");
                segments += 1;
                hits += discovery_hits.len() + quantity_hits.len();
                discoveries += d.iter().filter(|&&b| b).count();
                quantities += q.iter().filter(|&&b| b).count();
            }
        }
        // The seeds exercise both gates, so the comparison is not between empty lists.
        assert!(segments > 100 && hits > 1000 && discoveries > 50 && quantities > 20);
        assert!(phrase_hits > 0);
    }
}
