//! The Neo4j flavour of CSV: a [`KnowledgeGraph`] in, a folder for `neo4j-admin database import`
//! out.
//!
//! Node files carry an `id:ID` column (one id space: entity ids such as `target/cd19`, documents
//! as `doc/{id}`, prices as `price/{n}`, clinical results as `clinical/{n}`) and a `:LABEL` column
//! (`Entity|Product|Brand`); relationship files carry `:START_ID`, `:END_ID` and `:TYPE`
//! (`TARGETS`, `DEVELOPED_BY`: the relation in upper snake case, the ontology name kept in the
//! `relation` property). Other columns are typed (`mentions:int`, `confidence:double`,
//! `aliases:string[]`); arrays and labels are joined with `|`, so the import needs
//! `--array-delimiter="|"` (the command is [`IMPORT_COMMAND`]). Empty cells are left unquoted so
//! that Neo4j stores no property rather than an empty string. Rows come in the graph's sorted
//! order. This module does not run Neo4j.

use std::path::Path;

use crate::error::{Error, Result};
use crate::export::csv::{
    evidence_cells, fmt_confidence, opt_decimal as opt, write_rows, CsvFlavour,
};
use crate::model::{group_by_key, Assertion, Edge, KnowledgeGraph, Mention};

/// The files of the folder and their headers: node files first, then relationship files.
pub const NEO4J_HEADERS: &[(&str, &[&str])] = &[
    (
        "entities.csv",
        &[
            "id:ID",
            ":LABEL",
            "type",
            "subtype",
            "label",
            "label_en",
            "label_zh",
            "aliases:string[]",
            "external_ids:string[]",
            "documents:string[]",
            "mentions:int",
            "discovered:boolean",
        ],
    ),
    (
        "documents.csv",
        &[
            "id:ID",
            ":LABEL",
            "document",
            "path",
            "title",
            "encoding",
            "chars:int",
            "sha256",
        ],
    ),
    (
        "prices.csv",
        &[
            "id:ID",
            ":LABEL",
            "amount:double",
            "amount_min:double",
            "amount_max:double",
            "currency",
            "unit",
            "qualifier",
            "document",
            "start:int",
            "end:int",
            "quote",
        ],
    ),
    (
        "clinical.csv",
        &[
            "id:ID",
            ":LABEL",
            "metric",
            "value:double",
            "value_min:double",
            "value_max:double",
            "document",
            "start:int",
            "end:int",
            "quote",
        ],
    ),
    (
        "relations.csv",
        &[
            ":START_ID",
            ":END_ID",
            ":TYPE",
            "relation",
            "documents:string[]",
            "evidence_count:int",
            "confidence:double",
            "quote",
        ],
    ),
    (
        "mentioned_in.csv",
        &[":START_ID", ":END_ID", ":TYPE", "mentions:int"],
    ),
    ("about.csv", &[":START_ID", ":END_ID", ":TYPE"]),
];

/// The command that imports the folder written into `exports/neo4j/` (Neo4j 5), from the
/// repository root, into the database `neo4j` (stop the database first).
pub const IMPORT_COMMAND: &str = "neo4j-admin database import full --overwrite-destination \
--array-delimiter=\"|\" \
--nodes=exports/neo4j/entities.csv --nodes=exports/neo4j/documents.csv \
--nodes=exports/neo4j/prices.csv --nodes=exports/neo4j/clinical.csv \
--relationships=exports/neo4j/relations.csv --relationships=exports/neo4j/mentioned_in.csv \
--relationships=exports/neo4j/about.csv neo4j";

/// A relation name as a Neo4j relationship type: `developedBy` → `DEVELOPED_BY`.
pub fn relationship_type(relation: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in relation.chars() {
        if c.is_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        if c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else {
            out.push('_');
        }
    }
    out
}

/// The rows of one file of the folder, header first.
pub fn rows<'a>(kg: &'a KnowledgeGraph, file: &str) -> Vec<Vec<String>> {
    let header = NEO4J_HEADERS
        .iter()
        .find(|(n, _)| *n == file)
        .map_or(&[][..], |(_, h)| *h);
    let mut out: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let join = |v: &mut dyn Iterator<Item = &String>| v.cloned().collect::<Vec<_>>().join("|");
    match file {
        "entities.csv" => out.extend(kg.entities.values().map(|e| {
            let top = kg.vocabulary.top_class(&e.class).to_string();
            let mut labels = vec!["Entity".to_string(), top.clone()];
            for extra in [Some(&e.class), e.subtype.as_ref()].into_iter().flatten() {
                if !labels.contains(extra) {
                    labels.push(extra.clone());
                }
            }
            vec![
                e.id.clone(),
                labels.join("|"),
                e.class.clone(),
                e.subtype.clone().unwrap_or_default(),
                e.label.clone(),
                e.label_en.clone().unwrap_or_default(),
                e.label_zh.clone().unwrap_or_default(),
                join(&mut e.aliases.iter()),
                join(&mut e.external_ids.iter()),
                join(&mut e.documents.iter()),
                e.mentions.to_string(),
                e.discovered.to_string(),
            ]
        })),
        "documents.csv" => out.extend(kg.documents.values().map(|d| {
            vec![
                format!("doc/{}", d.id),
                "Document".into(),
                d.id.clone(),
                d.path.clone(),
                d.title.clone(),
                d.encoding.clone(),
                d.chars.to_string(),
                d.sha256.clone(),
            ]
        })),
        "prices.csv" => out.extend(kg.prices.iter().enumerate().map(|(i, p)| {
            let mut row = vec![
                format!("price/{}", i + 1),
                "Price".into(),
                opt(&p.amount),
                opt(&p.amount_min),
                opt(&p.amount_max),
                p.currency.clone(),
                p.unit.clone(),
                p.qualifier.clone(),
            ];
            row.extend(evidence_cells(&p.evidence));
            row
        })),
        "clinical.csv" => out.extend(kg.clinical.iter().enumerate().map(|(i, c)| {
            let mut row = vec![
                format!("clinical/{}", i + 1),
                "ClinicalResult".into(),
                c.metric.clone(),
                opt(&c.value),
                opt(&c.value_min),
                opt(&c.value_max),
            ];
            row.extend(evidence_cells(&c.evidence));
            row
        })),
        "relations.csv" => {
            // The quote of each edge: its most confident assertion (the first one on ties).
            let quote = |group: &[&'a Assertion]| {
                let mut q = (f64::MIN, "");
                for a in group {
                    if a.evidence.confidence > q.0 {
                        q = (a.evidence.confidence, a.evidence.quote.as_str());
                    }
                }
                q.1
            };
            out.extend(
                kg.edge_groups()
                    .iter()
                    .map(|group| (Edge::of(group), quote(group)))
                    .filter(|(e, _)| {
                        kg.entities.contains_key(&e.source) && kg.entities.contains_key(&e.target)
                    })
                    .map(|(e, quote)| {
                        vec![
                            e.source.clone(),
                            e.target.clone(),
                            relationship_type(&e.relation),
                            e.relation.clone(),
                            join(&mut e.documents.iter()),
                            e.evidence_count.to_string(),
                            fmt_confidence(e.confidence),
                            quote.to_string(),
                        ]
                    }),
            )
        }
        "mentioned_in.csv" => {
            let known = |m: &&Mention| {
                kg.entities.contains_key(m.entity.as_str())
                    && kg.documents.contains_key(&*m.document)
            };
            // Grouped first, so that whether the entity and the document are known is looked
            // up once per group, not once per mention.
            let groups = group_by_key(&kg.mentions, |m| (m.entity.as_str(), &*m.document));
            out.extend(groups.into_iter().filter(|g| known(&g[0])).map(|group| {
                vec![
                    group[0].entity.to_string(),
                    format!("doc/{}", group[0].document),
                    "MENTIONED_IN".into(),
                    group.len().to_string(),
                ]
            }))
        }
        "about.csv" => {
            let mut rows = Vec::new();
            let doc = |d: &str| kg.documents.contains_key(d).then(|| format!("doc/{d}"));
            for (i, p) in kg.prices.iter().enumerate() {
                let id = format!("price/{}", i + 1);
                if kg.entities.contains_key(&p.subject) {
                    rows.push(vec![id.clone(), p.subject.clone(), "PRICE_OF".into()]);
                }
                if let Some(d) = doc(&p.evidence.document) {
                    rows.push(vec![id, d, "STATED_IN".into()]);
                }
            }
            for (i, c) in kg.clinical.iter().enumerate() {
                let id = format!("clinical/{}", i + 1);
                if kg.entities.contains_key(&c.product) {
                    rows.push(vec![id.clone(), c.product.clone(), "RESULT_OF".into()]);
                }
                if let Some(ind) = c
                    .indication
                    .as_ref()
                    .filter(|i| kg.entities.contains_key(*i))
                {
                    rows.push(vec![id.clone(), ind.clone(), "INDICATION".into()]);
                }
                if let Some(d) = doc(&c.evidence.document) {
                    rows.push(vec![id, d, "STATED_IN".into()]);
                }
            }
            out.extend(rows)
        }
        _ => {}
    }
    out
}

/// Writes the Neo4j import folder into `dir` (created if missing).
pub fn write_neo4j(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    super::run_all(NEO4J_HEADERS, |(file, _)| {
        let path = dir.join(file);
        let mut w = super::create_file(&path)?;
        write_rows(rows(kg, file), &mut w, CsvFlavour::Plain).map_err(|e| Error::io(&path, e))?;
        super::finish_file(&path, w)
    })
}
