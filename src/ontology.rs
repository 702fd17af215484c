//! Loads the domain from `ontology/`: the schema (`schema.ttl`), the lexicon (`lexicon/*.ttl`)
//! and the extraction rules (`rules.toml`).
//!
//! In: a directory. Out: an [`Ontology`] — the vocabulary (classes, properties with domain and
//! range), the known entities with every label and alias, their background facts, and the
//! [`Rules`]. Syntax errors name `file:line:column`; content problems (unknown class, duplicate
//! id, an alias claimed by entities of two classes, a property without domain or range) are
//! collected as [`Issue`]s for `cellkg check`, fatal only under `--strict`.
//! It does not match text: see `extract`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{Term, Triple};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{ClassInfo, PropertyInfo, Vocabulary, ID_NS, ONTOLOGY_NS};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const RDFS_SUBCLASS: &str = "http://www.w3.org/2000/01/rdf-schema#subClassOf";
const RDFS_DOMAIN: &str = "http://www.w3.org/2000/01/rdf-schema#domain";
const RDFS_RANGE: &str = "http://www.w3.org/2000/01/rdf-schema#range";
const SKOS_ALT: &str = "http://www.w3.org/2004/02/skos/core#altLabel";
const SKOS_EXACT: &str = "http://www.w3.org/2004/02/skos/core#exactMatch";
const SKOS_BROADER: &str = "http://www.w3.org/2004/02/skos/core#broader";
const SCHEMA_DOMAIN: &str = "https://schema.org/domainIncludes";
const SCHEMA_RANGE: &str = "https://schema.org/rangeIncludes";
const OWL_CLASS: &str = "http://www.w3.org/2002/07/owl#Class";
const OWL_OBJECT_PROPERTY: &str = "http://www.w3.org/2002/07/owl#ObjectProperty";

/// A known entity of the lexicon.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LexEntity {
    /// `{class}/{slug}`.
    pub id: String,
    /// Most specific class (`Brand`, `Hospital`…).
    pub class: String,
    /// Top class (`Product`, `Institution`…).
    pub top_class: String,
    pub label_en: Option<String>,
    pub label_zh: Option<String>,
    pub label_zh_hant: Option<String>,
    /// Labels without a known language tag, then altLabels, in file order.
    pub aliases: Vec<String>,
    pub external_ids: BTreeSet<String>,
    pub match_case: bool,
    /// Background facts: (property local name, object entity id or literal).
    pub facts: Vec<(String, String)>,
    /// Lexicon file the entity comes from.
    pub source: PathBuf,
}

impl LexEntity {
    /// Every name of the entity: labels first, then aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [&self.label_en, &self.label_zh, &self.label_zh_hant]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(self.aliases.iter().map(String::as_str))
    }

    /// The canonical display label: Chinese (simplified) first for Chinese-first corpora,
    /// else English, else the first alias, else the id.
    pub fn display_label(&self) -> String {
        self.label_zh
            .clone()
            .or_else(|| self.label_en.clone())
            .or_else(|| self.label_zh_hant.clone())
            .or_else(|| self.aliases.first().cloned())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// A problem found in the ontology, reported by `cellkg check`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Issue {
    pub file: String,
    pub message: String,
}

/// Extraction cues, from `rules.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub matching: MatchingRules,
    #[serde(default)]
    pub segmentation: SegmentationRules,
    #[serde(default)]
    pub topic: TopicRules,
    #[serde(default)]
    pub macros: BTreeMap<String, String>,
    #[serde(default, rename = "discover")]
    pub discoveries: Vec<DiscoveryRule>,
    #[serde(default, rename = "compound")]
    pub compounds: Vec<CompoundRule>,
    #[serde(default, rename = "relation")]
    pub relations: Vec<RelationRule>,
    #[serde(default)]
    pub negation: NegationRules,
    #[serde(default)]
    pub table: TableRules,
    #[serde(default)]
    pub price: PriceRules,
    #[serde(default)]
    pub clinical: ClinicalRules,
    #[serde(default, rename = "conflict")]
    pub conflicts: Vec<ConflictRule>,
    #[serde(default, rename = "inner")]
    pub inners: Vec<InnerRule>,
    #[serde(default)]
    pub anaphora: AnaphoraRules,
    /// Background facts that a mention's own name states ("CD19 CAR-T" targets CD19): when the
    /// object's name occurs inside the mention, the fact is asserted with the mention as quote.
    #[serde(default)]
    pub name_facts: Vec<String>,
    /// Of those facts (and compound facts), the ones that a name right after the mention, or in
    /// brackets after it, takes over: "BCMA CAR-T 伊基奥仑赛", "CD19 CAR-T（KYV-101）".
    #[serde(default)]
    pub apposition_facts: Vec<String>,
}

/// A group of properties on which sources must agree (with each other or with the lexicon).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictRule {
    pub name: String,
    pub properties: Vec<String>,
    /// Classes of subjects checked.
    pub subject_classes: Vec<String>,
    /// Compare extracted facts with the lexicon's background facts.
    #[serde(default)]
    pub against_lexicon: bool,
    /// Two different extracted values are a conflict by themselves.
    #[serde(default)]
    pub functional: bool,
    /// Background facts are inherited along these properties (a brand inherits its product's).
    #[serde(default)]
    pub inherit_via: Vec<String>,
    /// Values related by these properties (either way) do not conflict (a subsidiary).
    #[serde(default)]
    pub compatible_via: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingRules {
    /// Labels shorter than this many characters (after normalisation) are not matched.
    pub min_chars: usize,
    /// All-capital Latin labels up to this length are matched case-sensitively.
    pub case_sensitive_caps_max: usize,
    /// Classes whose mentions yield to a longer discovered name that contains them.
    #[serde(default)]
    pub yielding_classes: Vec<String>,
}

impl Default for MatchingRules {
    fn default() -> Self {
        MatchingRules {
            min_chars: 2,
            case_sensitive_caps_max: 5,
            yielding_classes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationRules {
    /// Characters that end a sentence.
    pub sentence_end: String,
    /// Characters that end a line of prose (a line that ends otherwise may be a hard wrap).
    pub line_end: String,
    /// Share of lines without `line_end` above which a document counts as hard-wrapped.
    pub wrapped_ratio: f64,
    /// Lines matching any of these regexes (on the normalised line) are boilerplate, skipped.
    #[serde(default)]
    pub skip_lines: Vec<String>,
    /// Sentences matching any of these regexes cite a source (a reference list entry): their
    /// names are kept, but the cited title states no relation.
    #[serde(default)]
    pub citation_lines: Vec<String>,
}

impl Default for SegmentationRules {
    fn default() -> Self {
        SegmentationRules {
            sentence_end: "。！？!?；;".into(),
            line_end: "。！？!?；;：:”」』）)".into(),
            wrapped_ratio: 0.6,
            skip_lines: Vec::new(),
            citation_lines: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRules {
    /// Classes whose mentions make a sentence on-topic.
    pub anchor_classes: Vec<String>,
    /// Sentences within this distance of an on-topic sentence are on-topic too.
    pub window: usize,
}

impl Default for TopicRules {
    fn default() -> Self {
        TopicRules {
            anchor_classes: Vec::new(),
            window: 2,
        }
    }
}

/// A regex that finds an entity missing from the lexicon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryRule {
    pub name: String,
    pub class: String,
    /// Regex over the normalised text; the entity is group `name` if present, else the match.
    pub pattern: String,
    /// Characters that cannot be part of a name: the name starts after the last of them.
    #[serde(default)]
    pub stop_chars: String,
    /// Words that cannot be part of a name (verbs, connectives): the name starts after the
    /// last of them.
    #[serde(default)]
    pub stop_words: Vec<String>,
    /// Prefixes that cannot start a name (trimmed away, longest first).
    #[serde(default)]
    pub strip_prefixes: Vec<String>,
    /// Generic words at the end that the mention keeps but the entity's name drops
    /// ("“现货型”CAR-T细胞" names “现货型”CAR-T).
    #[serde(default)]
    pub name_drops_suffixes: Vec<String>,
    /// Whole names (normalised) that are too generic to be an entity.
    #[serde(default)]
    pub reject: Vec<String>,
    /// Regexes: a name matching any of them is rejected.
    #[serde(default)]
    pub reject_patterns: Vec<String>,
    /// Regexes tried on the text right after the name: a match rejects it (an institution
    /// name that is part of a score's name: "国际软骨修复学会评分").
    #[serde(default)]
    pub reject_after: Vec<String>,
    /// Minimum characters of the name.
    #[serde(default = "default_min_name")]
    pub min_chars: usize,
    /// Longer names keep only their last `max_chars` characters (the head of a Chinese name
    /// is at its end); patterns use `+` rather than large bounded repeats, which are slow.
    #[serde(default = "default_max_name")]
    pub max_chars: usize,
    /// Only on on-topic sentences.
    #[serde(default = "default_true")]
    pub on_topic_only: bool,
    /// The discovered name may contain a known mention of the same class and replace it
    /// (an edition "沪惠保2024版" of the scheme "沪惠保").
    #[serde(default)]
    pub extends_known: bool,
    /// The discovered name replaces any mention inside it (a title in 《》).
    #[serde(default)]
    pub swallow: bool,
    /// Mentions of these classes inside the name give way unless they end where it ends
    /// (北京大学 in 北京大学人民医院 gives way; 上海长征医院 in 到上海长征医院 does not).
    #[serde(default)]
    pub yields_prefix: Vec<String>,
    #[serde(default = "default_discovery_confidence")]
    pub confidence: f64,
}

fn default_min_name() -> usize {
    2
}
fn default_max_name() -> usize {
    24
}
fn default_true() -> bool {
    true
}
fn default_discovery_confidence() -> f64 {
    0.7
}

/// Two adjacent mentions that together name a new entity ("CD19 CAR-T").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompoundRule {
    pub name: String,
    /// Class of the first part (a modifier, e.g. `Target`).
    pub modifier: String,
    /// Class of the second part (the head, e.g. `Technology`).
    pub head: String,
    /// Only heads whose entity id is listed (empty: any).
    #[serde(default)]
    pub head_ids: Vec<String>,
    /// Text allowed between the parts (normalised), e.g. "", "-", "靶点".
    pub joiners: Vec<String>,
    /// Class of the compound.
    pub class: String,
    /// Relation from the compound to the modifier.
    pub relation: String,
}

/// A relation pattern: a regex over the sentence skeleton with entity macros.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationRule {
    pub name: String,
    pub property: String,
    pub pattern: String,
    #[serde(default = "default_relation_confidence")]
    pub confidence: f64,
    /// Whether negation cues around the match turn it into the negative property.
    #[serde(default = "default_true")]
    pub negatable: bool,
    /// Only subjects of these classes (top classes or subclasses); empty: the property's domain.
    #[serde(default)]
    pub subject_classes: Vec<String>,
    /// Only objects of these classes; empty: the property's range.
    #[serde(default)]
    pub object_classes: Vec<String>,
    /// Fires only when the sentence contains one of these cues (an investigational context).
    #[serde(default)]
    pub when_cues: Vec<String>,
    /// Does not fire when the sentence contains one of these cues.
    #[serde(default)]
    pub unless_cues: Vec<String>,
    /// Take only the first fitting subject and object of a hand-written group.
    #[serde(default)]
    pub first_only: bool,
}

/// Facts stated by the words inside a name: a guideline titled "UC-MSC 治疗膝骨关节炎指南" covers
/// UC-MSC and knee osteoarthritis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerRule {
    pub name: String,
    /// Classes of the containing mention.
    pub container: Vec<String>,
    pub property: String,
    /// Classes of the entities named inside it.
    pub classes: Vec<String>,
    /// Containers whose whole name is a lexicon entry are read inside too (by default only
    /// discovered names are).
    #[serde(default)]
    pub known_names: bool,
}

/// Phrases that refer back to the last product or technology ("这类产品", "该疗法").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnaphoraRules {
    pub phrases: Vec<String>,
    /// Classes an antecedent may have, by preference.
    pub classes: Vec<String>,
}

fn default_relation_confidence() -> f64 {
    0.8
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegationRules {
    /// Cues that negate a relation when they occur inside the match or just before it.
    pub cues: Vec<String>,
    /// How many characters before the match to look for a cue.
    pub window: usize,
    /// Words that contain a cue but do not negate (未来, 不仅).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Cues of a hypothetical or a question (能否, 是否, 有望): the relation is not asserted.
    #[serde(default)]
    pub hedges: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRules {
    /// Header words → property of the row subject to the entities of that column.
    #[serde(default)]
    pub columns: Vec<TableColumn>,
    /// Relation from a row's subject to an entity in brackets right after it ("Kymriah（诺华）").
    #[serde(default)]
    pub bracket_relation: Option<String>,
    /// Classes that can be the subject of a row.
    #[serde(default)]
    pub subject_classes: Vec<String>,
    /// First-column headers under which the first cell names the row subject.
    #[serde(default)]
    pub subject_headers: Vec<String>,
    /// Class of a row subject found that way when it is not in the lexicon.
    #[serde(default)]
    pub subject_class: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableColumn {
    pub headers: Vec<String>,
    pub property: Option<String>,
    /// A clinical metric for numeric cells of this column.
    pub metric: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRules {
    /// Classes a price can be attached to, in order of preference.
    pub subject_classes: Vec<String>,
    /// Currency words → ISO 4217 code.
    pub currencies: BTreeMap<String, String>,
    /// Currency used when only 元/万 is written.
    pub default_currency: String,
    /// Multiplier words → factor (万 → 10000).
    pub multipliers: BTreeMap<String, String>,
    /// Unit phrases → unit name (一剂 → dose).
    pub units: BTreeMap<String, String>,
    /// Qualifier phrases → qualifier (不足 → upper bound).
    pub qualifiers: BTreeMap<String, String>,
    /// Words near the amount that show it is not a price of the subject (cost, salary...).
    #[serde(default)]
    pub exclude_context: Vec<String>,
    /// Minimum amount in units to be taken as a price of a therapy.
    #[serde(default)]
    pub min_amount: f64,
    /// Units whose subject is preferably of other classes (a claim cap belongs to a policy).
    #[serde(default)]
    pub unit_subjects: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicalRules {
    /// Metric words → metric name (客观缓解率 → ORR).
    pub metrics: BTreeMap<String, String>,
    /// Classes a result can be attached to.
    pub subject_classes: Vec<String>,
}

/// The loaded domain.
#[derive(Debug, Clone, Default)]
pub struct Ontology {
    pub dir: PathBuf,
    pub vocabulary: Vocabulary,
    /// Known entities by id.
    pub entities: BTreeMap<String, LexEntity>,
    pub rules: Rules,
    /// Problems found while loading (see `cellkg check`).
    pub issues: Vec<Issue>,
    /// SHA-256 of every file read, to invalidate incremental builds.
    pub fingerprint: String,
    /// Each class of the vocabulary with its ancestors (itself first), for [`Ontology::is_a`],
    /// which extraction asks for every mention.
    ancestors: rustc_hash::FxHashMap<String, Vec<String>>,
}

impl Ontology {
    /// Loads `schema.ttl`, every `lexicon/*.ttl` and `rules.toml` under `dir`.
    pub fn load(dir: &Path) -> Result<Ontology> {
        let mut hasher = Sha256::new();
        let schema_path = dir.join("schema.ttl");
        let schema_bytes = read(&schema_path)?;
        hasher.update(&schema_bytes);
        let schema = parse_turtle(&schema_path, &schema_bytes)?;
        let mut issues = Vec::new();
        let vocabulary = build_vocabulary(&schema, &schema_path, &mut issues);

        let mut lexicon_files: Vec<PathBuf> = match fs::read_dir(dir.join("lexicon")) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ttl"))
                .collect(),
            Err(_) => Vec::new(),
        };
        lexicon_files.sort();
        let mut entities: BTreeMap<String, LexEntity> = BTreeMap::new();
        for path in &lexicon_files {
            let bytes = read(path)?;
            hasher.update(
                path.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or(b""),
            );
            hasher.update(&bytes);
            let triples = parse_turtle(path, &bytes)?;
            add_lexicon(&triples, path, &vocabulary, &mut entities, &mut issues);
        }
        check_aliases(&entities, &mut issues);

        let rules_path = dir.join("rules.toml");
        let rules_text = String::from_utf8(read(&rules_path)?).map_err(|_| Error::Config {
            path: rules_path.clone(),
            message: "not valid UTF-8".into(),
        })?;
        hasher.update(rules_text.as_bytes());
        let rules: Rules =
            toml::from_str(&rules_text).map_err(|e| toml_error(&rules_path, &rules_text, &e))?;
        check_rules(&rules, &vocabulary, &rules_path, &mut issues);
        issues.sort();
        issues.dedup();
        let mut ontology = Ontology {
            dir: dir.to_path_buf(),
            vocabulary,
            entities,
            rules,
            issues,
            fingerprint: format!("{:x}", hasher.finalize()),
            ancestors: Default::default(),
        };
        ontology.ancestors = ontology
            .vocabulary
            .classes
            .keys()
            .map(|class| (class.clone(), ontology.walk_up(class)))
            .collect();
        Ok(ontology)
    }

    /// The top class of a class name.
    pub fn top_class<'a>(&'a self, class: &'a str) -> &'a str {
        self.vocabulary.top_class(class)
    }

    /// Whether `class` is `ancestor` or one of its subclasses.
    pub fn is_a(&self, class: &str, ancestor: &str) -> bool {
        match self.ancestors.get(class) {
            Some(up) => up.iter().any(|c| c == ancestor),
            // Not a class of the vocabulary (or an ontology not made by `load`): walk up.
            None => self.walk_up(class).iter().any(|c| c == ancestor),
        }
    }

    /// `class` and its ancestors, nearest first (at most 16: a cycle in the schema stops there).
    fn walk_up(&self, class: &str) -> Vec<String> {
        let mut up = vec![class.to_string()];
        let mut current = class;
        while up.len() < 16 {
            match self
                .vocabulary
                .classes
                .get(current)
                .and_then(|c| c.parent.as_deref())
            {
                Some(p) => {
                    up.push(p.to_string());
                    current = p;
                }
                None => break,
            }
        }
        up
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(path, e))
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e
        .span()
        .map(|s| line_column(text, s.start))
        .unwrap_or((0, 0));
    Error::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().to_string(),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f)
            if !s.starts_with(|x: char| {
                x.is_uppercase() && s.chars().nth(1).is_some_and(char::is_uppercase)
            }) =>
        {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, column)
}

fn parse_turtle(path: &Path, bytes: &[u8]) -> Result<Vec<Triple>> {
    let mut out = Vec::new();
    for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(bytes) {
        match quad {
            Ok(q) => out.push(Triple::from(q)),
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.start.line + 1, l.start.column + 1))
                    .unwrap_or((0, 0));
                // oxttl prefixes its message with the position we already report.
                let text = e.to_string();
                let message = match text.split_once(": ") {
                    Some((head, rest)) if head.starts_with("Parser error at line") => {
                        rest.to_string()
                    }
                    _ => text,
                };
                return Err(Error::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: lowercase_first(&message),
                });
            }
        }
    }
    Ok(out)
}

fn local(iri: &str) -> Option<&str> {
    iri.strip_prefix(ONTOLOGY_NS)
}

fn object_iri(t: &Triple) -> Option<&str> {
    match &t.object {
        Term::NamedNode(n) => Some(n.as_str()),
        _ => None,
    }
}

fn object_literal(t: &Triple) -> Option<(&str, Option<&str>)> {
    match &t.object {
        Term::Literal(l) => Some((l.value(), l.language())),
        _ => None,
    }
}

fn subject_iri(t: &Triple) -> Option<&str> {
    match &t.subject {
        oxigraph::model::NamedOrBlankNode::NamedNode(n) => Some(n.as_str()),
        _ => None,
    }
}

fn build_vocabulary(triples: &[Triple], path: &Path, issues: &mut Vec<Issue>) -> Vocabulary {
    let mut classes: BTreeMap<String, ClassInfo> = BTreeMap::new();
    let mut properties: BTreeMap<String, PropertyInfo> = BTreeMap::new();
    for t in triples {
        let (Some(s), p) = (subject_iri(t).and_then(local), t.predicate.as_str()) else {
            continue;
        };
        if p == RDF_TYPE && object_iri(t) == Some(OWL_CLASS) {
            classes.entry(s.into()).or_default().name = s.into();
        }
        if p == RDF_TYPE && object_iri(t) == Some(OWL_OBJECT_PROPERTY) {
            properties.entry(s.into()).or_default().name = s.into();
        }
    }
    for t in triples {
        let Some(s) = subject_iri(t).and_then(local) else {
            continue;
        };
        let p = t.predicate.as_str();
        if let Some(c) = classes.get_mut(s) {
            match p {
                RDFS_SUBCLASS => {
                    if let Some(parent) = object_iri(t).and_then(local) {
                        c.parent = Some(parent.into());
                    }
                }
                RDFS_LABEL => set_label(&mut c.label_en, &mut c.label_zh, t),
                _ => match local(p) {
                    Some("color") => c.color = object_literal(t).map(|l| l.0.into()),
                    Some("shape") => c.shape = object_literal(t).map(|l| l.0.into()),
                    _ => {}
                },
            }
        }
        if let Some(prop) = properties.get_mut(s) {
            match p {
                RDFS_LABEL => set_label(&mut prop.label_en, &mut prop.label_zh, t),
                SCHEMA_DOMAIN | RDFS_DOMAIN => {
                    if let Some(c) = object_iri(t).and_then(local) {
                        prop.domain.push(c.into());
                    }
                }
                SCHEMA_RANGE | RDFS_RANGE => {
                    if let Some(c) = object_iri(t).and_then(local) {
                        prop.range.push(c.into());
                    }
                }
                _ => match local(p) {
                    Some("negationOf") => {
                        prop.negation_of = object_iri(t).and_then(local).map(Into::into)
                    }
                    Some("functional") => {
                        prop.functional = object_literal(t).is_some_and(|l| l.0 == "true")
                    }
                    _ => {}
                },
            }
        }
    }
    let file = path.display().to_string();
    for prop in properties.values_mut() {
        prop.domain.sort();
        prop.domain.dedup();
        prop.range.sort();
        prop.range.dedup();
        if prop.domain.is_empty() || prop.range.is_empty() {
            issues.push(Issue {
                file: file.clone(),
                message: format!("property ckg:{} has no domain or no range", prop.name),
            });
        }
        for c in prop.domain.iter().chain(&prop.range) {
            if !classes.contains_key(c) {
                issues.push(Issue {
                    file: file.clone(),
                    message: format!("property ckg:{} refers to unknown class ckg:{c}", prop.name),
                });
            }
        }
    }
    Vocabulary {
        classes,
        properties,
    }
}

fn set_label(en: &mut String, zh: &mut String, t: &Triple) {
    if let Some((v, lang)) = object_literal(t) {
        match lang {
            Some("en") => *en = v.into(),
            Some(l) if l.starts_with("zh") => *zh = v.into(),
            _ => {}
        }
    }
}

fn add_lexicon(
    triples: &[Triple],
    path: &Path,
    vocabulary: &Vocabulary,
    entities: &mut BTreeMap<String, LexEntity>,
    issues: &mut Vec<Issue>,
) {
    let file = path.display().to_string();
    // Entities declared in this file (by `a ckg:Class`).
    let mut declared: BTreeMap<String, LexEntity> = BTreeMap::new();
    for t in triples {
        let Some(s) = subject_iri(t).and_then(|s| s.strip_prefix(ID_NS)) else {
            continue;
        };
        if t.predicate.as_str() != RDF_TYPE {
            continue;
        }
        let Some(class) = object_iri(t).and_then(local) else {
            continue;
        };
        if !vocabulary.classes.contains_key(class) {
            issues.push(Issue {
                file: file.clone(),
                message: format!("{s}: unknown class ckg:{class}"),
            });
            continue;
        }
        let top = vocabulary.top_class(class).to_string();
        let expected_prefix = format!("{}/", top.to_lowercase());
        if !s.starts_with(&expected_prefix) {
            issues.push(Issue {
                file: file.clone(),
                message: format!(
                    "{s}: id should start with {expected_prefix} for class ckg:{class}"
                ),
            });
        }
        if entities.contains_key(s) || declared.contains_key(s) {
            issues.push(Issue {
                file: file.clone(),
                message: format!("duplicate entity id {s}"),
            });
            continue;
        }
        declared.insert(
            s.to_string(),
            LexEntity {
                id: s.to_string(),
                class: class.to_string(),
                top_class: top,
                source: path.to_path_buf(),
                ..LexEntity::default()
            },
        );
    }
    for t in triples {
        let Some(s) = subject_iri(t).and_then(|s| s.strip_prefix(ID_NS)) else {
            continue;
        };
        let Some(e) = declared.get_mut(s) else {
            continue;
        };
        let p = t.predicate.as_str();
        match p {
            RDF_TYPE => {}
            RDFS_LABEL => {
                if let Some((v, lang)) = object_literal(t) {
                    let slot = match lang {
                        Some("en") => &mut e.label_en,
                        Some("zh-Hant") | Some("zh-TW") | Some("zh-HK") => &mut e.label_zh_hant,
                        Some(l) if l.starts_with("zh") => &mut e.label_zh,
                        _ => {
                            e.aliases.push(v.to_string());
                            continue;
                        }
                    };
                    if slot.is_none() {
                        *slot = Some(v.to_string());
                    } else {
                        e.aliases.push(v.to_string());
                    }
                }
            }
            SKOS_ALT => {
                if let Some((v, _)) = object_literal(t) {
                    e.aliases.push(v.to_string());
                }
            }
            SKOS_EXACT => {
                if let Some(o) = object_iri(t) {
                    e.external_ids.insert(o.to_string());
                }
            }
            SKOS_BROADER => {
                if let Some(o) = object_iri(t).and_then(|o| o.strip_prefix(ID_NS)) {
                    e.facts.push(("broader".into(), o.to_string()));
                }
            }
            _ => {
                let Some(name) = local(p) else { continue };
                if name == "matchCase" {
                    e.match_case = object_literal(t).is_some_and(|l| l.0 == "true");
                    continue;
                }
                let value = match &t.object {
                    Term::NamedNode(n) => n
                        .as_str()
                        .strip_prefix(ID_NS)
                        .unwrap_or(n.as_str())
                        .to_string(),
                    Term::Literal(l) => l.value().to_string(),
                    _ => continue,
                };
                e.facts.push((name.to_string(), value));
            }
        }
    }
    entities.extend(declared);
}

fn check_aliases(entities: &BTreeMap<String, LexEntity>, issues: &mut Vec<Issue>) {
    let mut owners: BTreeMap<String, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for e in entities.values() {
        for n in e.names() {
            let key: String = n.split_whitespace().collect::<String>().to_lowercase();
            owners.entry(key).or_default().insert((&e.top_class, &e.id));
        }
    }
    for (alias, ids) in owners {
        let classes: BTreeSet<&str> = ids.iter().map(|(c, _)| *c).collect();
        if ids.len() > 1 {
            let list: Vec<String> = ids.iter().map(|(_, id)| id.to_string()).collect();
            let file = ids
                .iter()
                .next()
                .and_then(|(_, id)| entities.get(*id))
                .map(|e| e.source.display().to_string())
                .unwrap_or_default();
            let what = if classes.len() > 1 {
                "entities of different classes"
            } else {
                "several entities"
            };
            issues.push(Issue {
                file,
                message: format!("alias {alias:?} is claimed by {what}: {}", list.join(", ")),
            });
        }
    }
}

fn check_rules(rules: &Rules, vocabulary: &Vocabulary, path: &Path, issues: &mut Vec<Issue>) {
    let file = path.display().to_string();
    let mut issue = |m: String| {
        issues.push(Issue {
            file: file.clone(),
            message: m,
        })
    };
    for r in &rules.relations {
        if !vocabulary.properties.contains_key(&r.property) {
            issue(format!(
                "relation rule {}: unknown property {}",
                r.name, r.property
            ));
        }
    }
    for r in &rules.discoveries {
        if !vocabulary.classes.contains_key(&r.class) {
            issue(format!(
                "discovery rule {}: unknown class {}",
                r.name, r.class
            ));
        }
    }
    for c in &rules.compounds {
        for class in [&c.modifier, &c.head, &c.class] {
            if !vocabulary.classes.contains_key(class) {
                issue(format!("compound rule {}: unknown class {class}", c.name));
            }
        }
        if !vocabulary.properties.contains_key(&c.relation) {
            issue(format!(
                "compound rule {}: unknown property {}",
                c.name, c.relation
            ));
        }
    }
}
