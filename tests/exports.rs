//! Tests of the export flavours and the graph analysis (issue 5): cuts (`--focus`, `--types`,
//! `--relations`, `--documents`, `--min-confidence`), DOT views (clusters, connected-only,
//! force-layout legend, escaping), Excel CSV, the Neo4j folder, GraphML, node-link JSON, JSON-LD
//! and RDF/XML, `path`, `stats` and `report.md`, on a small graph built by hand, and through the
//! real binary on the default corpus (every build file twice the same bytes; stats agree with
//! GraphML and JSON; a missing Graphviz names its package).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cellkg::analysis;
use cellkg::export::{
    self, cut, CsvFlavour, DotOptions, ExportFormat, ExportOptions, ExportTarget, GraphFilter,
    Lang, ViewOptions, NEO4J_HEADERS,
};
use cellkg::model::*;
use cellkg::rdf;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfParser};

fn ev(doc: &str, start: usize, quote: &str, confidence: f64) -> Evidence {
    Evidence {
        document: doc.into(),
        start,
        end: start + quote.chars().count(),
        quote: quote.into(),
        rule: "test".into(),
        confidence,
        year: None,
    }
}

fn entity(id: &str, class: &str, label: &str, docs: &[&str]) -> Entity {
    Entity {
        id: id.into(),
        class: class.into(),
        subtype: None,
        label: label.into(),
        label_en: None,
        label_zh: None,
        label_zh_hant: None,
        aliases: BTreeSet::new(),
        external_ids: BTreeSet::new(),
        documents: docs.iter().map(|d| d.to_string()).collect(),
        mentions: 1,
        discovered: false,
    }
}

fn fact(s: &str, r: &str, o: &str, doc: &str, quote: &str, c: f64) -> Assertion {
    Assertion {
        subject: s.into(),
        relation: r.into(),
        object: o.into(),
        negated: r == "doesNotCover",
        evidence: ev(doc, 0, quote, c),
    }
}

/// A chain product → target, product → company, policy ⇢ product (negative), a second product
/// in another document, and an isolated disease; labels with quotes, formulas and Chinese.
fn sample() -> KnowledgeGraph {
    let class = |name: &str, zh: &str, color: &str, shape: &str| {
        (
            name.to_string(),
            ClassInfo {
                name: name.into(),
                parent: None,
                label_en: name.to_lowercase(),
                label_zh: zh.into(),
                color: Some(color.into()),
                shape: Some(shape.into()),
            },
        )
    };
    let prop = |name: &str, en: &str, zh: &str, neg: Option<&str>| {
        (
            name.to_string(),
            PropertyInfo {
                name: name.into(),
                label_en: en.into(),
                label_zh: zh.into(),
                negation_of: neg.map(String::from),
                ..Default::default()
            },
        )
    };
    let vocabulary = Vocabulary {
        classes: [
            class("Product", "产品", "#4e79a7", "box"),
            class("Target", "靶点", "#f28e2b", "ellipse"),
            class("Institution", "机构", "#59a14f", "house"),
            class("Policy", "政策", "#b07aa1", "note"),
            class("Disease", "疾病", "#e15759", "octagon"),
        ]
        .into_iter()
        .collect(),
        properties: [
            prop("targets", "targets", "靶向", None),
            prop("developedBy", "developed by", "研发", None),
            prop("doesNotCover", "does not cover", "未覆盖", Some("covers")),
        ]
        .into_iter()
        .collect(),
    };
    let mut entities = BTreeMap::new();
    let mut yk = entity("product/yikaida", "Product", "奕凯达", &["doc-a"]);
    yk.label_en = Some("Yikaida \"relma-cel\"".into());
    for e in [
        yk,
        entity("target/cd19", "Target", "CD19", &["doc-a"]),
        entity("target/bcma", "Target", "BCMA", &["doc-b"]),
        entity("product/cilta", "Product", "=HYPERLINK(\"x\")", &["doc-b"]),
        entity("institution/jw", "Institution", "@药明巨诺", &["doc-a"]),
        entity("policy/hhb", "Policy", "沪惠保", &["doc-a"]),
        entity("disease/lonely", "Disease", "-孤立疾病", &["doc-b"]),
    ] {
        entities.insert(e.id.clone(), e);
    }
    let mut assertions = vec![
        fact(
            "product/yikaida",
            "targets",
            "target/cd19",
            "doc-a",
            "奕凯达靶向CD19",
            0.9,
        ),
        fact(
            "product/yikaida",
            "developedBy",
            "institution/jw",
            "doc-a",
            "药明巨诺研发",
            0.6,
        ),
        fact(
            "policy/hhb",
            "doesNotCover",
            "product/yikaida",
            "doc-a",
            "沪惠保未覆盖",
            0.8,
        ),
        fact(
            "product/cilta",
            "targets",
            "target/bcma",
            "doc-b",
            "cilta targets BCMA",
            0.9,
        ),
    ];
    assertions.sort_by(|a, b| {
        (&a.subject, &a.relation, &a.object).cmp(&(&b.subject, &b.relation, &b.object))
    });
    let documents = ["doc-a", "doc-b"]
        .iter()
        .map(|d| {
            (
                d.to_string(),
                DocumentInfo {
                    id: d.to_string(),
                    path: format!("{d}.txt"),
                    encoding: "UTF-8".into(),
                    chars: 100,
                    sha256: "00".into(),
                    title: format!("title of {d}"),
                    replaced: 0,
                },
            )
        })
        .collect();
    KnowledgeGraph {
        vocabulary,
        entities,
        documents,
        mentions: vec![Mention {
            entity: "product/yikaida".into(),
            document: "doc-a".into(),
            start: 0,
            end: 3,
            surface: "奕凯达".into(),
            rule: "lexicon".into(),
        }],
        assertions,
        prices: vec![Price {
            subject: "product/yikaida".into(),
            amount: Some("1290000".parse().unwrap()),
            amount_min: None,
            amount_max: None,
            currency: "CNY".into(),
            unit: "dose".into(),
            qualifier: String::new(),
            evidence: ev("doc-a", 10, "129万元", 0.9),
        }],
        clinical: Vec::new(),
        conflicts: Vec::new(),
        stats: BuildStats {
            files_read: 2,
            files_skipped: vec![("junk.bin".into(), "not text".into())],
            ..Default::default()
        },
    }
}

fn dot(kg: &KnowledgeGraph, view: &ViewOptions) -> String {
    let mut out = Vec::new();
    export::write_dot_view(kg, &mut out, &DotOptions { lang: Lang::Zh }, view).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn focus_keeps_the_neighbourhood_at_the_given_depth() {
    let kg = sample();
    let filter = |focus: &str, depth| GraphFilter {
        focus: vec![focus.into()],
        depth,
        ..Default::default()
    };
    let one = cut(&kg, &filter("CD19", 1)).unwrap();
    assert_eq!(one.focus, ["target/cd19"]);
    let ids: Vec<&String> = one.graph.entities.keys().collect();
    assert_eq!(ids, ["product/yikaida", "target/cd19"]);
    assert_eq!(one.graph.assertions.len(), 1);
    assert_eq!(one.graph.prices.len(), 1, "prices follow their entity");
    let two = cut(&kg, &filter("target/cd19", 2)).unwrap();
    let ids: Vec<&String> = two.graph.entities.keys().collect();
    assert_eq!(
        ids,
        [
            "institution/jw",
            "policy/hhb",
            "product/yikaida",
            "target/cd19"
        ]
    );
    let err = cut(&kg, &filter("nothing", 1)).unwrap_err().to_string();
    assert!(err.contains("no entity named \"nothing\""), "{err}");
}

#[test]
fn type_relation_document_and_confidence_filters_cut() {
    let kg = sample();
    let types = cut(
        &kg,
        &GraphFilter {
            types: vec!["product".into(), "Target".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(types.graph.entities.len(), 4);
    assert_eq!(types.graph.assertions.len(), 2);
    let rel = cut(
        &kg,
        &GraphFilter {
            relations: vec!["靶向".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(rel.graph.assertions.iter().all(|a| a.relation == "targets"));
    assert_eq!(rel.graph.assertions.len(), 2);
    let doc = cut(
        &kg,
        &GraphFilter {
            documents: vec!["doc-b".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(doc.graph.assertions.len(), 1);
    assert!(!doc.graph.entities.contains_key("target/cd19"));
    assert_eq!(doc.graph.documents.len(), 1);
    let conf = cut(
        &kg,
        &GraphFilter {
            min_confidence: Some(0.7),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(conf
        .graph
        .assertions
        .iter()
        .all(|a| a.evidence.confidence >= 0.7));
    assert_eq!(conf.graph.assertions.len(), 3);
    for bad in [
        GraphFilter {
            types: vec!["Gene".into()],
            ..Default::default()
        },
        GraphFilter {
            relations: vec!["cures".into()],
            ..Default::default()
        },
        GraphFilter {
            documents: vec!["zzz".into()],
            ..Default::default()
        },
    ] {
        assert!(cut(&kg, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn dot_views_cluster_leave_isolated_out_and_keep_a_legend() {
    let kg = sample();
    let plain = dot(&kg, &ViewOptions::default());
    assert!(plain.contains("\"disease/lonely\" [label="));
    let connected = dot(
        &kg,
        &ViewOptions {
            connected_only: true,
            cluster: true,
            highlight: vec!["target/cd19".into()],
            title: Some("a \"title\"".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        connected,
        dot(
            &kg,
            &ViewOptions {
                connected_only: true,
                cluster: true,
                highlight: vec!["target/cd19".into()],
                title: Some("a \"title\"".into()),
                ..Default::default()
            }
        )
    );
    assert!(!connected.contains("\"disease/lonely\" [label="));
    assert!(connected.contains("未画出 1 个无关系的孤立实体"));
    assert!(connected.contains("subgraph \"cluster_class_Product\" {"));
    assert!(connected.contains("label=\"a \\\"title\\\"\""));
    assert!(connected.contains("penwidth=4"), "the focus is drawn thick");
    assert!(
        connected.contains("红色虚线"),
        "the legend explains dashed edges"
    );
    // Force layouts get a one-node table legend, HTML-escaped.
    let sfdp = dot(
        &kg,
        &ViewOptions {
            layout: Some("sfdp".into()),
            ..Default::default()
        },
    );
    assert!(sfdp.contains("layout=\"sfdp\""));
    assert!(sfdp.contains("\"legend\" [label=<<TABLE"));
    assert!(!sfdp.contains("cluster_legend"));
    // Every attribute string is escaped.
    assert!(plain.contains("[label=\"=HYPERLINK(\\\"x\\\")\""));
    let mut out = Vec::new();
    let err = export::write_dot_view(
        &kg,
        &mut out,
        &DotOptions::default(),
        &ViewOptions {
            layout: Some("magic".into()),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown layout `magic`"), "{err}");
}

#[test]
fn excel_csv_has_a_bom_and_no_live_formulas() {
    let kg = sample();
    let dir = tempfile::tempdir().unwrap();
    export::write_csv_all_flavour(&kg, dir.path(), CsvFlavour::Excel).unwrap();
    let bytes = fs::read(dir.path().join("nodes.csv")).unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
    assert!(text.contains(",'@药明巨诺,"), "{text}");
    assert!(text.contains(",'-孤立疾病,"), "{text}");
    assert_eq!(
        export::csv::neutralise("-12.5"),
        "-12.5",
        "numbers stay numbers"
    );
    assert_eq!(export::csv::neutralise("+x"), "'+x");
    let plain = tempfile::tempdir().unwrap();
    export::write_csv_all(&kg, plain.path()).unwrap();
    let bytes = fs::read(plain.path().join("nodes.csv")).unwrap();
    assert!(
        bytes.starts_with(b"id,type,"),
        "the contract flavour has no BOM"
    );
}

#[test]
fn neo4j_folder_follows_the_admin_import_format() {
    let kg = sample();
    let dir = tempfile::tempdir().unwrap();
    export::write_neo4j(&kg, dir.path()).unwrap();
    let mut ids = BTreeSet::new();
    for (file, header) in NEO4J_HEADERS {
        let mut r = csv::Reader::from_path(dir.path().join(file)).unwrap();
        let got: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(got, *header, "{file}");
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        if header[0] == "id:ID" {
            assert_eq!(header[1], ":LABEL");
            ids.extend(rows.iter().map(|row| row[0].to_string()));
        } else {
            assert_eq!(header[..3], [":START_ID", ":END_ID", ":TYPE"]);
            for row in &rows {
                assert!(
                    ids.contains(&row[0]) && ids.contains(&row[1]),
                    "{file}: {row:?}"
                );
                assert!(row[2].chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            }
        }
        for h in header.iter().skip(1) {
            if let Some((_, ty)) = h.split_once(':') {
                assert!(
                    [
                        "ID", "LABEL", "START_ID", "END_ID", "TYPE", "int", "double", "boolean",
                        "string[]"
                    ]
                    .contains(&ty),
                    "{file}: {h}"
                );
            }
        }
    }
    let rels = fs::read_to_string(dir.path().join("relations.csv")).unwrap();
    assert!(
        rels.contains(
            "product/yikaida,institution/jw,DEVELOPED_BY,developedBy,doc-a,1,0.60,药明巨诺研发"
        ),
        "{rels}"
    );
    let entities = fs::read_to_string(dir.path().join("entities.csv")).unwrap();
    assert!(
        entities.contains("product/yikaida,Entity|Product,Product,"),
        "{entities}"
    );
    assert_eq!(
        export::neo4j::relationship_type("usesTechnology"),
        "USES_TECHNOLOGY"
    );
    assert!(export::IMPORT_COMMAND.contains("--array-delimiter=\"|\""));
    // The README gives the exact command.
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let flat = readme.replace("\\\n", " ");
    let flat: String = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(export::IMPORT_COMMAND),
        "README lacks {}",
        export::IMPORT_COMMAND
    );
}

#[test]
fn graphml_and_json_hold_the_same_graph_as_stats() {
    let kg = sample();
    let stats = analysis::stats(&kg);
    assert_eq!((stats.nodes, stats.edges), (7, 4));
    assert_eq!(stats.isolated, ["disease/lonely"]);
    assert_eq!(stats.components, 3);
    assert_eq!(stats.component_sizes, [4, 2]);
    assert_eq!(stats.degree[0].id, "product/yikaida");
    let mut g = Vec::new();
    export::write_graphml(&kg, &mut g).unwrap();
    let g = String::from_utf8(g).unwrap();
    assert_eq!(g.matches("<node id=").count(), stats.nodes);
    assert_eq!(g.matches("<edge id=").count(), stats.edges);
    assert!(g.contains(
        "<key id=\"n_mentions\" for=\"node\" attr.name=\"mentions\" attr.type=\"int\"/>"
    ));
    assert!(g.contains("Yikaida &quot;relma-cel&quot;"));
    let mut j = Vec::new();
    export::write_json(&kg, &mut j).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!(j["nodes"].as_array().unwrap().len(), stats.nodes);
    assert_eq!(j["edges"].as_array().unwrap().len(), stats.edges);
    assert_eq!(j["multigraph"], true);
    assert_eq!(j["edges"][0]["key"], j["edges"][0]["relation"]);
}

#[test]
fn path_follows_relations_either_way_with_their_quotes() {
    let kg = sample();
    let steps = analysis::shortest_path(&kg, "CD19", "沪惠保").unwrap();
    assert_eq!(steps.len(), 2);
    assert!(!steps[0].forward && steps[0].relation == "targets");
    assert!(!steps[1].forward && steps[1].relation == "doesNotCover");
    let text = analysis::path_text(&kg, &steps);
    assert!(text.contains("2 steps"), "{text}");
    assert!(text.contains("“奕凯达靶向CD19” — doc-a:0-"), "{text}");
    let err = analysis::shortest_path(&kg, "CD19", "BCMA")
        .unwrap_err()
        .to_string();
    assert!(err.contains("different components"), "{err}");
}

#[test]
fn report_summarises_without_times() {
    let kg = sample();
    let report = analysis::report(&kg);
    assert_eq!(report, analysis::report(&kg));
    for section in [
        "## Documents",
        "## Entities by class",
        "## Relations",
        "## Prices",
        "## Conflicts between sources",
        "## Skipped input",
    ] {
        assert!(report.contains(section), "{section}");
    }
    assert!(
        report.contains("| 奕凯达 | 1290000 | CNY | dose |"),
        "{report}"
    );
    assert!(report.contains("- `junk.bin`: not text"));
    assert!(!report.contains("seconds") && !report.contains("UTC"));
}

#[test]
fn rdf_formats_of_a_cut_parse_back_to_the_cut_store() {
    let kg = sample();
    let store = rdf::to_store(&kg).unwrap();
    let opts = ExportOptions {
        filter: GraphFilter {
            focus: vec!["BCMA".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let sub = cut(&kg, &opts.filter).unwrap();
    let expected = rdf::to_store(&sub.graph).unwrap().len().unwrap();
    assert!(expected < store.len().unwrap());
    for (format, rdf_format) in [
        (ExportFormat::Turtle, RdfFormat::Turtle),
        (ExportFormat::NTriples, RdfFormat::NTriples),
        (
            ExportFormat::JsonLd,
            RdfFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        ),
        (ExportFormat::RdfXml, RdfFormat::RdfXml),
    ] {
        let mut out = Vec::new();
        export::export_with(&kg, &store, format, ExportTarget::Writer(&mut out), &opts).unwrap();
        let n = RdfParser::from_format(rdf_format)
            .for_slice(&out)
            .filter(|q| q.as_ref().map_err(|e| panic!("{format}: {e}")).is_ok())
            .count();
        assert_eq!(n, expected, "{format}");
    }
    for name in ["graphml", "json", "jsonld", "rdfxml", "neo4j", "svg", "png"] {
        assert_eq!(name.parse::<ExportFormat>().unwrap().name(), name);
    }
}

// ---- the real binary on the default corpus ----

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cellkg(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cellkg"));
    c.current_dir(repo()).arg("--store").arg(store);
    c
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn the_default_build_writes_every_export_twice_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, store) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("s"),
    );
    for out in [&a, &b] {
        run(cellkg(&store).arg("build").arg("--out").arg(out));
    }
    let names: Vec<String> = files(&a)
        .iter()
        .map(|p| p.strip_prefix(&a).unwrap().to_string_lossy().into_owned())
        .collect();
    for f in export::CONTRACT_FILES {
        assert!(names.contains(&f.to_string()), "{f} missing from {names:?}");
    }
    for (f, _) in NEO4J_HEADERS {
        assert!(names.contains(&format!("neo4j/{f}")), "neo4j/{f}");
    }
    for name in &names {
        assert_eq!(
            fs::read(a.join(name)).unwrap(),
            fs::read(b.join(name)).unwrap(),
            "{name} differs between two builds"
        );
    }

    // stats agrees with GraphML and JSON.
    let stats: serde_json::Value =
        serde_json::from_str(&run(cellkg(&store).args(["stats", "--format", "json"]))).unwrap();
    let graphml = fs::read_to_string(a.join("graph.graphml")).unwrap();
    assert_eq!(graphml.matches("<node id=").count() as u64, stats["nodes"]);
    assert_eq!(graphml.matches("<edge id=").count() as u64, stats["edges"]);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(a.join("graph.json")).unwrap()).unwrap();
    assert_eq!(
        json["nodes"].as_array().unwrap().len() as u64,
        stats["nodes"]
    );
    assert_eq!(
        json["edges"].as_array().unwrap().len() as u64,
        stats["edges"]
    );
    let text = run(cellkg(&store).arg("stats"));
    assert!(
        text.contains("entities by class:") && text.contains("most connected"),
        "{text}"
    );

    // A focused export is a subgraph that names its focus.
    let dot = run(cellkg(&store).args(["export", "dot", "--focus", "BCMA", "--depth", "2"]));
    assert!(dot.contains("\"target/bcma\" [label=") && dot.contains("penwidth=4"));
    assert!(dot.len() < fs::read(a.join("graph.dot")).unwrap().len());

    // path prints a quote under every step.
    let path = run(cellkg(&store).args(["path", "BCMA", "CD19"]));
    let steps = path
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .count();
    let quotes = path
        .lines()
        .filter(|l| l.trim_start().starts_with('“'))
        .count();
    assert!(steps >= 1 && steps == quotes, "{path}");
    let out = cellkg(&store)
        .args(["path", "BCMA", "no-such-thing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // No Graphviz: the message names the package.
    let out = cellkg(&store)
        .env("CELLKG_DOT", "/nonexistent/dot")
        .args(["export", "svg"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("install the graphviz package"), "{err}");
}
