//! Tests of the RDF mapping (`cellkg::rdf`), SPARQL (`cellkg::query`) and the writers
//! (`cellkg::export`) on a small knowledge graph built by hand: a product, a target, two
//! institutions, a disease and a policy, two assertions (one negated), a price, a clinical result
//! and a conflict, with labels full of quotes, backslashes, line breaks, `<`, `&` and Chinese.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use cellkg::export::{self, DotOptions, ExportFormat, ExportTarget, Lang, CONTRACT_FILES};
use cellkg::model::*;
use cellkg::query::{run_query, ResultFormat, PREFIXES};
use cellkg::rdf;
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::store::Store;
use rust_decimal::Decimal;

const NASTY: &str = "Kite \"Gilead\" C:\\dir\nline2 <b> & 凯特";

fn ev(doc: &str, start: usize, end: usize, quote: &str, confidence: f64) -> Evidence {
    Evidence {
        document: doc.to_string(),
        start,
        end,
        quote: quote.to_string(),
        rule: "test-rule".into(),
        confidence,
        year: None,
    }
}

fn entity(id: &str, class: &str, label: &str) -> Entity {
    Entity {
        id: id.to_string(),
        class: class.to_string(),
        subtype: None,
        label: label.to_string(),
        label_en: None,
        label_zh: None,
        label_zh_hant: None,
        aliases: BTreeSet::new(),
        external_ids: BTreeSet::new(),
        documents: BTreeSet::from(["doc-a".to_string()]),
        mentions: 1,
        discovered: false,
    }
}

fn class(name: &str, en: &str, zh: &str, color: &str, shape: &str) -> (String, ClassInfo) {
    (
        name.to_string(),
        ClassInfo {
            name: name.to_string(),
            parent: None,
            label_en: en.to_string(),
            label_zh: zh.to_string(),
            color: Some(color.to_string()),
            shape: Some(shape.to_string()),
        },
    )
}

fn property(name: &str, en: &str, zh: &str, negation_of: Option<&str>) -> (String, PropertyInfo) {
    (
        name.to_string(),
        PropertyInfo {
            name: name.to_string(),
            label_en: en.to_string(),
            label_zh: zh.to_string(),
            negation_of: negation_of.map(String::from),
            ..Default::default()
        },
    )
}

fn sample() -> KnowledgeGraph {
    let mut classes: BTreeMap<String, ClassInfo> = [
        class("Product", "product", "产品", "#4e79a7", "box"),
        class("Target", "target", "靶点", "#f28e2b", "ellipse"),
        class("Institution", "institution", "机构", "#59a14f", "house"),
        class("Policy", "policy", "政策", "#b07aa1", "note"),
        class("Disease", "disease", "疾病", "#e15759", "octagon"),
    ]
    .into_iter()
    .collect();
    classes.insert(
        "Brand".to_string(),
        ClassInfo {
            name: "Brand".to_string(),
            parent: Some("Product".to_string()),
            label_en: "brand".to_string(),
            label_zh: "商品名".to_string(),
            ..Default::default()
        },
    );
    let properties = [
        property("targets", "targets", "靶向", None),
        property("developedBy", "developed by", "研发", None),
        property("doesNotCover", "does not cover", "未覆盖", Some("covers")),
        property("marketedBy", "marketed by", "上市许可持有/销售", None),
    ]
    .into_iter()
    .collect();

    let mut product = entity("product/yescarta", "Product", "奕凯达");
    product.subtype = Some("Brand".to_string());
    product.label_en = Some("Yescarta".to_string());
    product.label_zh = Some("奕凯达".to_string());
    product.label_zh_hant = Some("奕凱達".to_string());
    product.aliases = BTreeSet::from(["阿基仑赛注射液".to_string(), "axi-cel".to_string()]);
    product.external_ids = BTreeSet::from(["http://www.wikidata.org/entity/Q30302323".to_string()]);
    product.mentions = 3;

    let mut target = entity("target/cd19", "Target", "CD19");
    target.label_en = Some("CD19".to_string());

    let mut company = entity("institution/kite", "Institution", NASTY);
    company.subtype = Some("Company".to_string());
    company.label_en = Some(NASTY.to_string());

    let mut other = entity("institution/fosun-kite", "Institution", "复星凯特");
    other.label_zh = Some("复星凯特".to_string());
    other.discovered = true;

    let mut policy = entity("policy/huiminbao", "Policy", "惠民保");
    policy.label_zh = Some("惠民保".to_string());

    let mut disease = entity("disease/lbcl", "Disease", "大B细胞淋巴瘤");
    disease.label_zh = Some("大B细胞淋巴瘤".to_string());

    let entities = [product, target, company, other, policy, disease]
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();

    let documents = ["doc-a", "doc-b"]
        .into_iter()
        .map(|id| {
            (
                id.to_string(),
                DocumentInfo {
                    id: id.to_string(),
                    path: format!("seeds/{id}.txt"),
                    encoding: "UTF-8".to_string(),
                    chars: 100,
                    sha256: "00".repeat(32),
                    title: format!("标题 \"{id}\""),
                    replaced: 0,
                },
            )
        })
        .collect();

    let assertions = vec![
        Assertion {
            subject: "policy/huiminbao".to_string(),
            relation: "doesNotCover".to_string(),
            object: "product/yescarta".to_string(),
            negated: true,
            evidence: ev("doc-b", 5, 20, "惠民保不覆盖奕凯达", 0.7),
        },
        Assertion {
            subject: "product/yescarta".to_string(),
            relation: "developedBy".to_string(),
            object: "institution/kite".to_string(),
            negated: false,
            evidence: ev("doc-a", 30, 52, "Yescarta, developed by \"Kite\"", 0.85),
        },
        Assertion {
            subject: "product/yescarta".to_string(),
            relation: "targets".to_string(),
            object: "target/cd19".to_string(),
            negated: false,
            evidence: ev("doc-a", 0, 12, "奕凯达靶向CD19,\n第二行", 0.9),
        },
    ];

    let prices = vec![Price {
        subject: "product/yescarta".to_string(),
        amount: Some(Decimal::new(1_200_000, 0)),
        amount_min: None,
        amount_max: None,
        currency: "CNY".to_string(),
        unit: "dose".to_string(),
        qualifier: "list price".to_string(),
        evidence: ev("doc-a", 60, 70, "120万元/针", 0.8),
    }];

    let clinical = vec![ClinicalResult {
        product: "product/yescarta".to_string(),
        indication: Some("disease/lbcl".to_string()),
        metric: "ORR".to_string(),
        value: Some(Decimal::new(729, 1)),
        value_min: None,
        value_max: None,
        evidence: ev("doc-a", 80, 95, "ORR 72.9%", 0.75),
    }];

    let conflicts = vec![Conflict {
        id: "conflict/1".to_string(),
        subject: "product/yescarta".to_string(),
        relation: "marketedBy".to_string(),
        values: vec![
            "institution/fosun-kite".to_string(),
            "institution/kite".to_string(),
            "someone else".to_string(),
        ],
        description: "two sources disagree, \"really\"".to_string(),
        evidence: vec![
            ev("doc-b", 1, 4, "复星凯特", 0.6),
            ev("doc-a", 2, 6, "Kite", 0.6),
        ],
    }];

    let mentions = vec![
        Mention {
            entity: "product/yescarta".into(),
            document: "doc-a".into(),
            start: 0,
            end: 3,
            surface: "奕凯达".into(),
            rule: "lexicon".into(),
        },
        Mention {
            entity: "target/cd19".into(),
            document: "doc-a".into(),
            start: 5,
            end: 9,
            surface: "CD19".into(),
            rule: "lexicon".into(),
        },
    ];

    KnowledgeGraph {
        vocabulary: Vocabulary {
            classes,
            properties,
        },
        entities,
        documents,
        mentions,
        assertions,
        prices,
        clinical,
        conflicts,
        stats: BuildStats::default(),
    }
}

fn query(store: &Store, sparql: &str, format: ResultFormat) -> String {
    let mut out = Vec::new();
    run_query(store, &format!("{PREFIXES}{sparql}"), format, &mut out).expect("query runs");
    String::from_utf8(out).expect("utf-8 output")
}

fn ask(store: &Store, sparql: &str) -> bool {
    match query(store, sparql, ResultFormat::Csv).trim() {
        "true" => true,
        "false" => false,
        other => panic!("unexpected ASK output {other:?}"),
    }
}

#[test]
fn select_finds_products_targeting_the_target_with_their_developer() {
    let kg = sample();
    let store = rdf::to_store(&kg).unwrap();
    let out = query(
        &store,
        "SELECT ?product ?dev WHERE {
           ?product a ckg:Product ; ckg:targets id:target\\/cd19 ; ckg:developedBy ?dev .
         } ORDER BY ?product",
        ResultFormat::Csv,
    );
    assert_eq!(
        out,
        "product,dev\r\n\
         https://w3id.org/cellkg/id/product/yescarta,https://w3id.org/cellkg/id/institution/kite\r\n"
    );

    // The subtype is a type too, and the table format compacts IRIs.
    let table = query(
        &store,
        "SELECT ?p ?label WHERE { ?p a ckg:Brand ; rdfs:label ?label FILTER(langMatches(lang(?label), \"zh-Hant\")) }",
        ResultFormat::Table,
    );
    assert_eq!(
        table,
        "p                   | label\n--------------------+---------------\nid:product/yescarta | 奕凱達@zh-hant\n"
    );
}

#[test]
fn ask_and_json_results() {
    let store = rdf::to_store(&sample()).unwrap();
    assert!(ask(
        &store,
        "ASK { id:product\\/yescarta skos:exactMatch <http://www.wikidata.org/entity/Q30302323> }"
    ));
    assert!(!ask(&store, "ASK { id:target\\/cd19 ckg:developedBy ?x }"));
    let json = query(
        &store,
        "SELECT ?n WHERE { ?x ckg:discovered true ; rdfs:label ?n }",
        ResultFormat::Json,
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["results"]["bindings"][0]["n"]["value"], "复星凯特");
    assert_eq!(v["results"]["bindings"][0]["n"]["xml:lang"], "zh-hans");
}

#[test]
fn negated_assertions_are_described_not_asserted() {
    let store = rdf::to_store(&sample()).unwrap();
    assert!(!ask(
        &store,
        "ASK { id:policy\\/huiminbao ckg:doesNotCover id:product\\/yescarta }"
    ));
    assert!(ask(
        &store,
        "ASK { ?a a ckg:Assertion ; rdf:subject id:policy\\/huiminbao ;
                 rdf:predicate ckg:doesNotCover ; rdf:object id:product\\/yescarta ;
                 ckg:negated true ; prov:wasDerivedFrom doc:doc-b ; ckg:start 5 ; ckg:end 20 }"
    ));
    // Positive assertions are both plain facts and described, with numbered IRIs per document.
    assert!(ask(
        &store,
        "ASK { id:product\\/yescarta ckg:targets id:target\\/cd19 .
               <https://w3id.org/cellkg/id/assertion/doc-a/1> rdf:object id:target\\/cd19 ;
                 ckg:confidence 0.9 ; ckg:quote \"奕凯达靶向CD19,\\n第二行\" .
               FILTER NOT EXISTS { <https://w3id.org/cellkg/id/assertion/doc-a/1> ckg:negated ?n } }"
    ));
}

#[test]
fn prices_clinical_results_and_conflicts_are_nodes() {
    let store = rdf::to_store(&sample()).unwrap();
    let out = query(
        &store,
        "SELECT ?amount ?cur ?unit WHERE {
           <https://w3id.org/cellkg/id/price/doc-a/0> a ckg:Price ; ckg:priceOf id:product\\/yescarta ;
             schema:price ?amount ; schema:priceCurrency ?cur ; ckg:unit ?unit ;
             prov:wasDerivedFrom doc:doc-a .
           FILTER(datatype(?amount) = xsd:decimal)
         }",
        ResultFormat::Tsv,
    );
    assert_eq!(
        out,
        "?amount\t?cur\t?unit\n\"1200000\"^^<http://www.w3.org/2001/XMLSchema#decimal>\t\"CNY\"\t\"dose\"\n"
    );
    assert!(ask(
        &store,
        "ASK { <https://w3id.org/cellkg/id/clinical/doc-a/0> a ckg:ClinicalResult ;
                 ckg:resultOf id:product\\/yescarta ; ckg:indication id:disease\\/lbcl ;
                 ckg:metric \"ORR\" ; ckg:value 72.9 }"
    ));
    assert!(ask(
        &store,
        "ASK { id:product\\/yescarta ckg:hasConflict ?c .
               ?c a ckg:Conflict ; ckg:about id:product\\/yescarta ; ckg:relation ckg:marketedBy ;
                  ckg:value id:institution\\/kite , id:institution\\/fosun-kite , \"someone else\" ;
                  rdfs:comment ?d }"
    ));
    // Documents and labels.
    assert!(ask(
        &store,
        "ASK { doc:doc-a a ckg:Document ; schema:name \"标题 \\\"doc-a\\\"\" ;
                 ckg:path \"seeds/doc-a.txt\" ; ckg:encoding \"UTF-8\" ; ckg:sha256 ?h .
               id:product\\/yescarta ckg:mentionedIn doc:doc-a ;
                 skos:altLabel \"axi-cel\" , \"阿基仑赛注射液\"@zh-Hans ; rdfs:label \"Yescarta\"@en }"
    ));
}

#[test]
fn construct_gives_sorted_turtle() {
    let store = rdf::to_store(&sample()).unwrap();
    let sparql = "CONSTRUCT { ?s ckg:targets ?o } WHERE { ?s ckg:targets ?o }";
    let ttl = query(&store, sparql, ResultFormat::Turtle);
    assert!(ttl.starts_with("@prefix ckg: <https://w3id.org/cellkg/ontology#> .\n"));
    assert!(ttl.contains("ckg:targets"), "{ttl}");
    let nt = query(&store, sparql, ResultFormat::NTriples);
    assert_eq!(
        nt,
        "<https://w3id.org/cellkg/id/product/yescarta> <https://w3id.org/cellkg/ontology#targets> <https://w3id.org/cellkg/id/target/cd19> .\n"
    );
    // A SELECT format does not apply to a graph result.
    let mut out = Vec::new();
    let err = run_query(
        &store,
        &format!("{PREFIXES}{sparql}"),
        ResultFormat::Csv,
        &mut out,
    )
    .unwrap_err();
    assert!(err.to_string().contains("turtle"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn malformed_queries_report_line_and_column() {
    let store = rdf::to_store(&sample()).unwrap();
    let mut out = Vec::new();
    let err = run_query(
        &store,
        "SELECT ?s WHERE { ?s ?p }",
        ResultFormat::Table,
        &mut out,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("query:1:"), "{err}");
    let col: u32 = err
        .trim_start_matches("query:1:")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(col > 1, "{err}");

    let err = run_query(
        &store,
        "PREFIX ckg: <https://w3id.org/cellkg/ontology#>\nSELECT * WHERE {\n  ?s ckg:targets ex:o .\n}",
        ResultFormat::Json,
        &mut out,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("query:3:"), "{err}");
    assert!(err.contains("undeclared prefix `ex:`"), "{err}");
    let err = run_query(
        &store,
        "SELECT * { ?s skos:altLabel ?o }",
        ResultFormat::Table,
        &mut out,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "query:1:28: undeclared prefix `skos:`; add `PREFIX skos: <http://www.w3.org/2004/02/skos/core#>` above the query"
    );
    assert!(out.is_empty());

    let err = "sparkle".parse::<ResultFormat>().unwrap_err().to_string();
    assert!(
        err.contains("table, csv, tsv, json, xml, turtle, ntriples"),
        "{err}"
    );
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_headers_match_the_contract_and_rows_round_trip() {
    let kg = sample();
    let dir = tempfile::tempdir().unwrap();
    export::write_csv_all(&kg, dir.path()).unwrap();

    let expected: &[(&str, &str)] = &[
        ("nodes.csv", "id,type,subtype,label,label_en,label_zh,aliases,external_ids,documents,mentions,discovered"),
        ("edges.csv", "source,target,relation,documents,evidence_count,confidence"),
        ("evidence.csv", "source,target,relation,document,start,end,quote,rule,confidence"),
        ("mentions.csv", "entity,document,start,end,surface"),
        ("prices.csv", "subject,amount,amount_min,amount_max,currency,unit,qualifier,document,start,end,quote"),
        ("clinical.csv", "product,indication,metric,value,value_min,value_max,document,start,end,quote"),
        ("conflicts.csv", "id,subject,relation,values,description,documents"),
    ];
    for (file, header) in expected {
        let text = fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(text.lines().next(), Some(*header), "{file}");
    }

    let (_, nodes) = read_csv(&dir.path().join("nodes.csv"));
    assert_eq!(nodes.len(), 6);
    let kite = nodes.iter().find(|r| r[0] == "institution/kite").unwrap();
    assert_eq!(kite[3], NASTY);
    assert_eq!(kite[2], "Company");
    let yescarta = nodes.iter().find(|r| r[0] == "product/yescarta").unwrap();
    assert_eq!(yescarta[1], "Product");
    assert_eq!(yescarta[6], "axi-cel|阿基仑赛注射液");
    assert_eq!(yescarta[9], "3");
    assert_eq!(yescarta[10], "false");
    let ids: Vec<&str> = nodes.iter().map(|r| r[0].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "nodes are sorted by id");

    let (_, edges) = read_csv(&dir.path().join("edges.csv"));
    assert_eq!(
        edges,
        vec![
            vec![
                "policy/huiminbao",
                "product/yescarta",
                "doesNotCover",
                "doc-b",
                "1",
                "0.70"
            ],
            vec![
                "product/yescarta",
                "institution/kite",
                "developedBy",
                "doc-a",
                "1",
                "0.85"
            ],
            vec![
                "product/yescarta",
                "target/cd19",
                "targets",
                "doc-a",
                "1",
                "0.90"
            ],
        ]
    );

    let (_, evidence) = read_csv(&dir.path().join("evidence.csv"));
    assert_eq!(evidence.len(), 3);
    assert_eq!(evidence[2][6], "奕凯达靶向CD19,\n第二行");
    assert_eq!(evidence[1][6], "Yescarta, developed by \"Kite\"");
    assert_eq!(evidence[2][4..6], ["0".to_string(), "12".to_string()]);

    let (_, prices) = read_csv(&dir.path().join("prices.csv"));
    assert_eq!(
        prices,
        vec![vec![
            "product/yescarta",
            "1200000",
            "",
            "",
            "CNY",
            "dose",
            "list price",
            "doc-a",
            "60",
            "70",
            "120万元/针",
        ]]
    );
    let (_, clinical) = read_csv(&dir.path().join("clinical.csv"));
    assert_eq!(clinical[0][1..4], ["disease/lbcl", "ORR", "72.9"]);
    let (_, conflicts) = read_csv(&dir.path().join("conflicts.csv"));
    assert_eq!(
        conflicts,
        vec![vec![
            "conflict/1",
            "product/yescarta",
            "marketedBy",
            "institution/fosun-kite|institution/kite|someone else",
            "two sources disagree, \"really\"",
            "doc-a|doc-b",
        ]]
    );
    let (_, mentions) = read_csv(&dir.path().join("mentions.csv"));
    assert_eq!(
        mentions[0],
        ["product/yescarta", "doc-a", "0", "3", "奕凯达"]
    );
}

fn dot(kg: &KnowledgeGraph, lang: Lang) -> String {
    let mut out = Vec::new();
    export::write_dot(kg, &mut out, &DotOptions { lang }).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn dot_is_stable_styled_and_escaped() {
    let kg = sample();
    let first = dot(&kg, Lang::Zh);
    assert_eq!(first, dot(&kg, Lang::Zh));
    assert!(first.starts_with("digraph cellkg {\n"));
    assert!(first.ends_with("}\n"));
    assert!(first.contains("graph [fontname=\"Noto Sans CJK SC\""));
    assert!(first.contains("node [fontname=\"Noto Sans CJK SC\""));
    assert!(first.contains("edge [fontname=\"Noto Sans CJK SC\""));
    // The nasty label: quotes and backslashes escaped, the line break as \n, the rest verbatim.
    assert!(
        first.contains(
            "\"institution/kite\" [label=\"Kite \\\"Gilead\\\" C:\\\\dir\\nline2 <b> & 凯特\", fillcolor=\"#59a14f\", shape=\"house\""
        ),
        "{first}"
    );
    assert!(!first.contains("dir\nline2"));
    // Edge labels in Chinese, the negative relation dashed.
    assert!(first.contains("\"product/yescarta\" -> \"target/cd19\" [label=\"靶向\"];"));
    assert!(first
        .contains("\"policy/huiminbao\" -> \"product/yescarta\" [label=\"未覆盖\", style=dashed"));
    // Legend of the classes present, with the class colours.
    assert!(first.contains("subgraph cluster_legend {"));
    assert!(first
        .contains("\"legend:Target\" [label=\"靶点\", fillcolor=\"#f28e2b\", shape=\"ellipse\"];"));
    assert!(!first.contains("legend:Technology"));
    // Nodes in id order.
    let order: Vec<usize> = [
        "disease/lbcl",
        "institution/fosun-kite",
        "policy/huiminbao",
        "target/cd19",
    ]
    .iter()
    .map(|id| first.find(&format!("  \"{id}\" [label")).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));

    let en = dot(&kg, Lang::En);
    assert!(en.contains("[label=\"targets\"]"));
    assert!(en.contains("\"product/yescarta\" [label=\"Yescarta\""));
}

/// Parses `bytes` back and returns the quads as sorted N-Quads lines.
fn reparse(format: RdfFormat, bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = RdfParser::from_format(format)
        .for_slice(bytes)
        .map(|q| q.expect("re-parses").to_string())
        .collect();
    lines.sort();
    lines
}

fn store_lines(store: &Store) -> Vec<String> {
    let mut lines: Vec<String> = store.iter().map(|q| q.unwrap().to_string()).collect();
    lines.sort();
    lines
}

#[test]
fn rdf_outputs_reparse_to_the_same_size_and_reload() {
    let kg = sample();
    let store = rdf::to_store(&kg).unwrap();
    let len = store.len().unwrap();
    assert!(len > 50, "{len}");

    let mut ttl = Vec::new();
    rdf::write_turtle(&store, &mut ttl).unwrap();
    assert_eq!(reparse(RdfFormat::Turtle, &ttl), store_lines(&store));
    let ttl_text = String::from_utf8(ttl.clone()).unwrap();
    for prefix in ["ckg", "rdf", "rdfs", "skos", "prov", "schema", "xsd", "id"] {
        assert!(
            ttl_text.contains(&format!("@prefix {prefix}: <")),
            "{prefix}"
        );
    }

    let mut nq = Vec::new();
    rdf::write_nquads(&store, &mut nq).unwrap();
    assert_eq!(reparse(RdfFormat::NQuads, &nq), store_lines(&store));
    let lines: Vec<&str> = std::str::from_utf8(&nq).unwrap().lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "n-quads lines are sorted");
    assert_eq!(lines.len(), len);

    let mut nt = Vec::new();
    rdf::write_ntriples(&store, &mut nt).unwrap();
    assert_eq!(reparse(RdfFormat::NTriples, &nt), store_lines(&store));

    // N-Quads reload gives the same store, byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.nq");
    rdf::write_nquads_file(&store, &path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), nq);
    let reloaded = rdf::load_nquads(&path).unwrap();
    assert_eq!(reloaded.len().unwrap(), len);
    let mut again = Vec::new();
    rdf::write_nquads(&reloaded, &mut again).unwrap();
    assert_eq!(again, nq);

    // A broken file names the file, line and column.
    let bad = dir.path().join("bad.nq");
    fs::write(
        &bad,
        "<http://a> <http://b> <http://c> .\n<http://a> <http://b> \"x .\n",
    )
    .unwrap();
    let err = match rdf::load_nquads(&bad) {
        Ok(_) => panic!("a broken n-quads file loads"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("bad.nq:2:"), "{err}");
}

/// The build writes `graph.nq` and `graph.ttl` from N-Triples lines sorted once, without a
/// store: they must hold exactly what the store-based writers give.
#[test]
fn sorted_lines_match_the_store_serialization() {
    let kg = sample();
    let store = rdf::to_store(&kg).unwrap();
    let lines = rdf::sorted_ntriples(&kg).unwrap();
    assert_eq!(lines.len(), store.len().unwrap());
    let text = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        text(&|w| lines.write_ntriples(w).unwrap()),
        text(&|w| rdf::write_nquads(&store, w).unwrap())
    );
    assert_eq!(
        text(&|w| lines.write_turtle(w).unwrap()),
        text(&|w| rdf::write_turtle(&store, w).unwrap())
    );
}

#[test]
fn writing_twice_gives_identical_files() {
    let kg = sample();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    export::write_all(&kg, a.path()).unwrap();
    export::write_all(&kg, b.path()).unwrap();
    for file in CONTRACT_FILES {
        let x = fs::read(a.path().join(file)).unwrap();
        let y = fs::read(b.path().join(file)).unwrap();
        assert!(!x.is_empty(), "{file} is empty");
        assert_eq!(x, y, "{file} differs between two runs");
    }
    let mut names: Vec<String> = fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = CONTRACT_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn export_formats_parse_and_write() {
    assert_eq!(
        "NQuads".parse::<ExportFormat>().unwrap(),
        ExportFormat::NQuads
    );
    assert_eq!("ttl".parse::<ExportFormat>().unwrap(), ExportFormat::Turtle);
    let err = "pdf".parse::<ExportFormat>().unwrap_err().to_string();
    assert!(err.contains("dot, csv, turtle, ntriples, nquads"), "{err}");

    let kg = sample();
    let store = rdf::to_store(&kg).unwrap();
    let mut out = Vec::new();
    export::export(
        &kg,
        &store,
        ExportFormat::NTriples,
        ExportTarget::Writer(&mut out),
    )
    .unwrap();
    let mut direct = Vec::new();
    rdf::write_ntriples(&store, &mut direct).unwrap();
    assert_eq!(out, direct);

    let mut out = Vec::new();
    let err = export::export(
        &kg,
        &store,
        ExportFormat::Csv,
        ExportTarget::Writer(&mut out),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("directory"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.dot");
    export::export(&kg, &store, ExportFormat::Dot, ExportTarget::Path(&file)).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), dot(&kg, Lang::Zh));
}
