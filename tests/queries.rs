//! The canned SPARQL queries of `queries/`, run by the real binary against the graph of the
//! seeds (built once per test process).
//!
//! Every `queries/*.rq` is checked for its documentation header (`Title:`, `Answers:`,
//! `Columns:`, `Example:`), an `ORDER BY`, a CSV header equal to its `Columns:` line, a label
//! next to every entity IRI (the simplified-Chinese one when the entity has one), quotes that
//! are the exact characters of the seed at the given offsets, and identical output when run
//! twice. The key queries are then checked for facts the seeds state (Kymriah by Novartis
//! targets CD19, 阿基仑丙赛 by 恒润达生 targets BCMA, the national reimbursement list does not
//! cover CAR-T…), never for whole outputs, which change whenever the extraction improves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const ID_NS: &str = "https://w3id.org/cellkg/id/";
const DOC_NS: &str = "https://w3id.org/cellkg/doc/";
const ONTOLOGY_NS: &str = "https://w3id.org/cellkg/ontology#";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cellkg")
}

/// The directory holding `store/` and `exports/` of the seeds, built on first use.
///
/// It lives under Cargo's temporary directory for integration tests and is rebuilt from
/// scratch by every test process (and left behind for inspection when a test fails).
fn graph() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("queries-graph");
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("removing the previous test graph");
        }
        fs::create_dir_all(&dir).expect("creating the test graph directory");
        let out = Command::new(bin())
            .current_dir(root())
            .arg("--store")
            .arg(dir.join("store"))
            .arg("build")
            .arg("seeds")
            .arg("--out")
            .arg(dir.join("exports"))
            .arg("--ontology")
            .arg("ontology")
            .output()
            .expect("running cellkg build");
        assert!(
            out.status.success(),
            "cellkg build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Runs `cellkg query QUERY --format FORMAT` on the seeds' store, with `stdin` when given.
fn run_query(query: &str, format: &str, stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(bin())
        .current_dir(root())
        .arg("--store")
        .arg(graph().join("store"))
        .args(["query", query, "--format", format])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running cellkg query");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).expect("writing the query");
    }
    child.wait_with_output().expect("waiting for cellkg query")
}

/// A CSV result: the header and the rows, every row as long as the header.
#[derive(Debug)]
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(bytes: &[u8]) -> Table {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let header = reader
            .headers()
            .expect("a CSV header")
            .iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        let rows = reader
            .records()
            .map(|r| {
                r.expect("a well-formed CSV row")
                    .iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        for row in &rows {
            assert_eq!(row.len(), header.len(), "row {row:?} under {header:?}");
        }
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    /// The rows as maps from column name to value.
    fn records(&self) -> Vec<BTreeMap<&str, &str>> {
        self.rows
            .iter()
            .map(|row| {
                self.header
                    .iter()
                    .map(String::as_str)
                    .zip(row.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }
}

/// Runs a query file of `queries/` as CSV, asserting success and a clean stderr.
fn run_file(name: &str) -> (Vec<u8>, Table) {
    let path = root().join("queries").join(name);
    let out = run_query(path.to_str().expect("utf-8 path"), "csv", None);
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{name} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = Table::parse(&out.stdout);
    (out.stdout, table)
}

/// Every `queries/*.rq`, sorted by name.
fn query_files() -> Vec<String> {
    let mut names = fs::read_dir(root().join("queries"))
        .expect("queries/ exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .to_string()
        })
        .filter(|n| n.ends_with(".rq"))
        .collect::<Vec<_>>();
    names.sort();
    names
}

/// The `# Key: value` lines of a query's header comment, continuation lines (`#   …`) appended.
fn header_fields(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        let body = comment.trim();
        match body.split_once(": ") {
            Some((key, value))
                if !comment.starts_with("   ") && key.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                fields.insert(key.to_string(), value.trim().to_string());
                last = Some(key.to_string());
            }
            _ => {
                if let Some(key) = &last {
                    let v: &mut String = fields.get_mut(key).expect("field");
                    v.push(' ');
                    v.push_str(body);
                }
            }
        }
    }
    fields
}

/// The documented output columns: the first sentence of the `Columns:` line.
fn documented_columns(text: &str) -> Vec<String> {
    let first = text
        .lines()
        .find_map(|l| l.strip_prefix("# Columns:"))
        .expect("a `# Columns:` line");
    first.split(',').map(|c| c.trim().to_string()).collect()
}

/// The query text without `#` comments (none of the shipped queries has `#` inside an IRI or a
/// string outside the header, so a line-based cut is enough here).
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// nodes.csv of the build: id → (label_zh, every name: label, label_en, label_zh, aliases).
fn nodes() -> &'static BTreeMap<String, (String, Vec<String>)> {
    static NODES: OnceLock<BTreeMap<String, (String, Vec<String>)>> = OnceLock::new();
    NODES.get_or_init(|| {
        let bytes = fs::read(graph().join("exports/nodes.csv")).expect("nodes.csv");
        let t = Table::parse(&bytes);
        let (id, label, en, zh, aliases) = (
            t.col("id"),
            t.col("label"),
            t.col("label_en"),
            t.col("label_zh"),
            t.col("aliases"),
        );
        t.rows
            .iter()
            .map(|r| {
                let mut names = vec![r[label].clone(), r[en].clone(), r[zh].clone()];
                names.extend(r[aliases].split('|').map(str::to_string));
                names.retain(|n| !n.is_empty());
                (r[id].clone(), (r[zh].clone(), names))
            })
            .collect()
    })
}

/// The IRIs of the entities having `name` as a label or alias (case-insensitively).
fn iris_named(name: &str) -> BTreeSet<String> {
    let iris = nodes()
        .iter()
        .filter(|(_, (_, names))| {
            names
                .iter()
                .any(|n| n.to_lowercase() == name.to_lowercase())
        })
        .map(|(id, _)| format!("{ID_NS}{id}"))
        .collect::<BTreeSet<_>>();
    assert!(!iris.is_empty(), "no entity named {name:?} in nodes.csv");
    iris
}

/// The IRIs of the entities with a label or alias containing `part`.
fn iris_containing(part: &str) -> BTreeSet<String> {
    let iris = nodes()
        .iter()
        .filter(|(_, (_, names))| names.iter().any(|n| n.contains(part)))
        .map(|(id, _)| format!("{ID_NS}{id}"))
        .collect::<BTreeSet<_>>();
    assert!(
        !iris.is_empty(),
        "no entity named like {part:?} in nodes.csv"
    );
    iris
}

/// The text of a seed document, by its IRI.
fn seed_text(doc_iri: &str) -> String {
    let stem = doc_iri
        .strip_prefix(DOC_NS)
        .unwrap_or_else(|| panic!("{doc_iri} is not a document IRI"));
    fs::read_to_string(root().join("seeds").join(format!("{stem}.txt")))
        .unwrap_or_else(|e| panic!("reading the seed of {doc_iri}: {e}"))
}

/// Characters `start..end` of `text` (offsets count Unicode scalar values).
fn char_slice(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

#[test]
fn every_query_file_is_documented() {
    let names = query_files();
    for required in [
        "products_by_target.rq",
        "bcma_products.rq",
        "developers.rq",
        "policy_coverage.rq",
        "quotes_for_fact.rq",
        "prices.rq",
        "clinical_results.rq",
        "conflicts.rq",
        "entity_counts.rq",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "queries/{required} is missing"
        );
    }
    let readme = fs::read_to_string(root().join("queries/README.md")).expect("queries/README.md");
    for name in &names {
        let text = fs::read_to_string(root().join("queries").join(name)).unwrap();
        assert!(
            text.starts_with("# Title: "),
            "{name} must open with `# Title:`"
        );
        let fields = header_fields(&text);
        for key in ["Title", "Answers", "Columns", "Example"] {
            assert!(
                fields.get(key).is_some_and(|v| !v.is_empty()),
                "{name}: no `# {key}:` line in the header ({fields:?})"
            );
        }
        assert!(
            fields["Example"].contains(&format!("cellkg query queries/{name}")),
            "{name}: the example does not run the file: {}",
            fields["Example"]
        );
        let body = without_comments(&text).to_uppercase();
        assert!(body.contains("SELECT"), "{name} is not a SELECT query");
        assert!(body.contains("ORDER BY"), "{name} has no ORDER BY");
        assert!(
            readme.contains(&format!("`{name}`")),
            "queries/README.md does not list {name}"
        );
        let columns = documented_columns(&text);
        for c in &columns {
            assert!(
                c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{name}: odd column name {c:?} in the Columns line"
            );
        }
        for c in columns.iter().filter_map(|c| c.strip_suffix("_label")) {
            assert!(
                columns.iter().any(|x| x == c),
                "{name}: {c}_label without a {c} column"
            );
        }
    }
}

#[test]
fn every_query_runs_with_its_documented_header_and_labels() {
    for name in query_files() {
        let text = fs::read_to_string(root().join("queries").join(&name)).unwrap();
        let (_, table) = run_file(&name);
        assert_eq!(
            table.header,
            documented_columns(&text),
            "{name}: the CSV header differs from the documented columns"
        );
        assert!(!table.rows.is_empty(), "{name} returns no row on the seeds");
        // A label next to every entity IRI, and the simplified-Chinese one when there is one.
        for (i, column) in table.header.iter().enumerate() {
            let Some(label_col) = table
                .header
                .iter()
                .position(|h| *h == format!("{column}_label"))
            else {
                continue;
            };
            for row in &table.rows {
                let (value, label) = (&row[i], &row[label_col]);
                if value.is_empty() {
                    assert!(
                        label.is_empty(),
                        "{name}: a {column}_label without a {column}"
                    );
                    continue;
                }
                assert!(!label.is_empty(), "{name}: {column} {value} has no label");
                if let Some((zh, _)) = value.strip_prefix(ID_NS).and_then(|id| nodes().get(id)) {
                    if !zh.is_empty() {
                        assert_eq!(label, zh, "{name}: {value} is not labelled in Chinese");
                    }
                }
            }
        }
    }
}

#[test]
fn every_query_gives_the_same_output_twice() {
    for name in query_files() {
        let (first, _) = run_file(&name);
        let (second, _) = run_file(&name);
        assert!(
            first == second,
            "{name} gives different output on a second run"
        );
    }
}

#[test]
fn every_quote_is_the_text_of_its_seed_at_its_offsets() {
    let mut checked = 0;
    for name in query_files() {
        let (_, table) = run_file(&name);
        if !["document", "start", "end", "quote"]
            .iter()
            .all(|c| table.header.iter().any(|h| h == c))
        {
            continue;
        }
        let mut texts = BTreeMap::new();
        for r in table.records() {
            if r["document"].is_empty() {
                continue;
            }
            let text = texts
                .entry(r["document"].to_string())
                .or_insert_with(|| seed_text(r["document"]));
            let start: usize = r["start"].parse().expect("start is an integer");
            let end: usize = r["end"].parse().expect("end is an integer");
            assert!(start < end, "{name}: empty span {start}..{end} in {r:?}");
            assert!(!r["quote"].is_empty(), "{name}: empty quote in {r:?}");
            assert_eq!(
                char_slice(text, start, end),
                r["quote"],
                "{name}: the quote is not the text of {} at {start}..{end}",
                r["document"]
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} quotes checked");
}

#[test]
fn products_by_target_lists_the_seed_facts() {
    let (_, t) = run_file("products_by_target.rq");
    let rows = t.records();
    let bcma = iris_named("BCMA");
    let cd19 = iris_named("CD19");
    assert!(
        rows.iter()
            .any(|r| bcma.contains(r["target"]) && !r["product"].is_empty()),
        "no product targets BCMA: {rows:#?}"
    );
    // 001: "诺华的 Kymriah", and 表2 "Kymriah（诺华） CD19".
    let kymriah = iris_named("Kymriah");
    let novartis = iris_named("Novartis");
    assert!(
        rows.iter().any(|r| cd19.contains(r["target"])
            && kymriah.contains(r["product"])
            && r["kind"] == "Product"
            && novartis.contains(r["developer"])),
        "Kymriah (Novartis) → CD19 is missing"
    );
    for r in &rows {
        assert!(
            ["Product", "Technology"].contains(&r["kind"]),
            "odd kind in {r:?}"
        );
    }
}

#[test]
fn bcma_products_match_the_target_by_name_and_carry_developers() {
    let (_, t) = run_file("bcma_products.rq");
    let rows = t.records();
    let bcma = iris_named("BCMA");
    assert!(
        rows.iter().all(|r| bcma.contains(r["target"])),
        "a row not about BCMA: {rows:#?}"
    );
    // 001, 表2: "阿基仑丙赛（恒润达生）	BCMA	复发难治性多发性骨髓瘤".
    let product = iris_named("阿基仑丙赛");
    let developer = iris_named("恒润达生");
    assert!(
        rows.iter().any(|r| product.contains(r["product"])
            && r["kind"] == "Product"
            && developer.contains(r["developer"])
            && r["developer_label"] == "恒润达生"),
        "阿基仑丙赛 by 恒润达生 is missing: {rows:#?}"
    );

    // The VALUES line makes it a template: any label or alias, any case.
    let text = fs::read_to_string(root().join("queries/bcma_products.rq")).unwrap();
    assert!(text.contains("VALUES ?wanted { \"BCMA\" }"));
    let cd19_text = text.replace("VALUES ?wanted { \"BCMA\" }", "VALUES ?wanted { \"cd19\" }");
    let out = run_query("-", "csv", Some(&cd19_text));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cd19 = Table::parse(&out.stdout);
    let cd19_rows = cd19.records();
    let cd19_iris = iris_named("CD19");
    assert!(cd19_rows.iter().all(|r| cd19_iris.contains(r["target"])));
    let kymriah = iris_named("Kymriah");
    assert!(cd19_rows.iter().any(|r| kymriah.contains(r["product"])));
    assert!(!cd19_rows.iter().any(|r| product.contains(r["product"])));
}

#[test]
fn developers_include_approvals() {
    let (_, t) = run_file("developers.rq");
    let rows = t.records();
    let (novartis, kymriah, fda) = (iris_named("诺华"), iris_named("Kymriah"), iris_named("FDA"));
    // 001: "美国 FDA 于 2017 年率先批准了诺华的 Kymriah".
    assert!(
        rows.iter().any(|r| novartis.contains(r["developer"])
            && kymriah.contains(r["product"])
            && fda.contains(r["regulator"])
            && r["approval_quote"].contains("Kymriah")),
        "Novartis / Kymriah / FDA is missing: {rows:#?}"
    );
    // Products without a recorded approval are listed too, with empty approval columns.
    let medipost = iris_named("MEDIPOST");
    assert!(rows
        .iter()
        .any(|r| medipost.contains(r["developer"]) && r["regulator"].is_empty()));
    for r in &rows {
        assert!(!r["developer"].is_empty() && !r["product"].is_empty());
        if r["regulator"].is_empty() {
            assert!(r["approval_quote"].is_empty() && r["approval_year"].is_empty());
        }
        if !r["approval_year"].is_empty() {
            let year: u32 = r["approval_year"].parse().expect("a year");
            assert!((1990..=2100).contains(&year));
        }
    }
}

#[test]
fn policy_coverage_has_positive_and_negative_rows() {
    let (_, t) = run_file("policy_coverage.rq");
    let rows = t.records();
    for r in &rows {
        assert!(
            ["covers", "does not cover"].contains(&r["coverage"]),
            "odd coverage in {r:?}"
        );
        assert!(
            !r["document"].is_empty(),
            "coverage without evidence: {r:?}"
        );
    }
    assert!(rows.iter().any(|r| r["coverage"] == "covers"));
    assert!(rows.iter().any(|r| r["coverage"] == "does not cover"));
    let (nrdl, car_t, huhuibao) = (
        iris_named("国家医保目录"),
        iris_named("CAR-T"),
        iris_containing("沪惠保"),
    );
    // 001: "中国大陆尚无任何 CAR-T 细胞产品被正式纳入《国家医保目录》".
    assert!(rows.iter().any(|r| nrdl.contains(r["policy"])
        && r["coverage"] == "does not cover"
        && car_t.contains(r["object"])));
    // 000: "CAR-T 细胞 疗法 被 “沪惠保 2024 版”纳入特药保障".
    assert!(rows.iter().any(|r| huhuibao.contains(r["policy"])
        && r["coverage"] == "covers"
        && car_t.contains(r["object"])));
    // A policy never both covers and does not cover the same thing on the same evidence.
    let mut seen = BTreeMap::new();
    for r in &rows {
        let key = (r["policy"], r["object"], r["document"], r["start"]);
        if let Some(prev) = seen.insert(key, r["coverage"]) {
            assert_eq!(prev, r["coverage"], "contradictory rows for {key:?}");
        }
    }
}

#[test]
fn quotes_for_fact_matches_evidence_csv() {
    let (_, t) = run_file("quotes_for_fact.rq");
    let strip = |s: &str, ns: &str| s.strip_prefix(ns).unwrap_or(s).to_string();
    let from_query = t
        .records()
        .iter()
        .map(|r| {
            assert!(["true", "false"].contains(&r["negated"]), "{r:?}");
            let c: f64 = r["confidence"].parse().expect("a decimal confidence");
            assert!(c > 0.0 && c <= 1.0, "confidence {c} out of range");
            assert!(!r["rule"].is_empty());
            (
                strip(r["subject"], ID_NS),
                strip(r["relation"], ONTOLOGY_NS),
                strip(r["object"], ID_NS),
                strip(r["document"], DOC_NS),
                r["start"].to_string(),
                r["end"].to_string(),
            )
        })
        .collect::<BTreeSet<_>>();
    let bytes = fs::read(graph().join("exports/evidence.csv")).expect("evidence.csv");
    let evidence = Table::parse(&bytes);
    let from_csv = evidence
        .records()
        .iter()
        .map(|r| {
            (
                r["source"].to_string(),
                r["relation"].to_string(),
                r["target"].to_string(),
                r["document"].to_string(),
                r["start"].to_string(),
                r["end"].to_string(),
            )
        })
        .collect::<BTreeSet<_>>();
    assert_eq!(
        from_query, from_csv,
        "quotes_for_fact.rq and evidence.csv disagree"
    );
    assert_eq!(t.rows.len(), evidence.rows.len());
}

#[test]
fn prices_are_amounts_or_ranges_with_currencies() {
    let (_, t) = run_file("prices.rq");
    let rows = t.records();
    for r in &rows {
        assert!(
            r["currency"].len() == 3 && r["currency"].chars().all(|c| c.is_ascii_uppercase()),
            "not an ISO 4217 code: {r:?}"
        );
        let num = |c: &str| (!r[c].is_empty()).then(|| r[c].parse::<f64>().expect("a decimal"));
        match (num("amount"), num("min_amount"), num("max_amount")) {
            (Some(a), _, _) => assert!(a > 0.0),
            (None, Some(lo), Some(hi)) => assert!(0.0 < lo && lo <= hi, "bad range in {r:?}"),
            _ => panic!("a price with neither amount nor range: {r:?}"),
        }
    }
    // 000 and 001: CAR-T at about 120万元 (1 200 000 CNY).
    let car_t = iris_named("CAR-T");
    assert!(rows.iter().any(|r| car_t.contains(r["subject"])
        && r["amount"] == "1200000"
        && r["currency"] == "CNY"));
    // 003: Boao Lecheng's official price of 3.6万元 per session.
    assert!(rows.iter().any(|r| r["amount"] == "36000"
        && r["currency"] == "CNY"
        && r["document"].ends_with("/003_962799e6d4e4cb40")));
}

#[test]
fn clinical_results_are_percentages() {
    let (_, t) = run_file("clinical_results.rq");
    let rows = t.records();
    for r in &rows {
        assert!(!r["metric"].is_empty(), "{r:?}");
        let num = |c: &str| (!r[c].is_empty()).then(|| r[c].parse::<f64>().expect("a decimal"));
        match (num("value"), num("min_value"), num("max_value")) {
            (Some(v), _, _) => assert!((0.0..=100.0).contains(&v), "{r:?}"),
            (None, Some(lo), Some(hi)) => assert!(0.0 <= lo && lo <= hi && hi <= 100.0, "{r:?}"),
            _ => panic!("a result with neither value nor range: {r:?}"),
        }
    }
    // 001: "以复星凯特阿基仑赛注射液为例, … 中国 R/R DLBCL 患者的 ORR 为 83%".
    let (axi_cel, dlbcl) = (iris_named("阿基仑赛注射液"), iris_named("DLBCL"));
    assert!(rows.iter().any(|r| axi_cel.contains(r["product"])
        && dlbcl.contains(r["indication"])
        && r["metric"] == "ORR"
        && r["value"] == "83"));
}

#[test]
fn conflicts_name_the_values_in_dispute() {
    let (_, t) = run_file("conflicts.rq");
    let rows = t.records();
    for r in &rows {
        assert!(
            !r["conflict"].is_empty() && !r["description"].is_empty(),
            "{r:?}"
        );
        assert!(!r["value"].is_empty(), "a conflict without values: {r:?}");
    }
    // seeds/README.md: 001's 表2 gives 奕凯达 to 药明巨诺; it is 复星凯特's brand.
    let yikaida = iris_named("奕凯达");
    let values = rows
        .iter()
        .filter(|r| yikaida.contains(r["subject"]))
        .map(|r| r["value"])
        .collect::<BTreeSet<_>>();
    assert!(
        iris_named("药明巨诺")
            .iter()
            .any(|v| values.contains(v.as_str()))
            && iris_named("复星凯特")
                .iter()
                .any(|v| values.contains(v.as_str())),
        "the 奕凯达 developer conflict is missing: {values:?}"
    );
    // The 药明巨诺 side is read from a document, with its quote.
    assert!(rows.iter().any(|r| yikaida.contains(r["subject"])
        && iris_named("药明巨诺").contains(r["value"])
        && r["quote"].contains("药明巨诺")));
}

#[test]
fn entity_counts_agree_with_nodes_csv() {
    let (_, t) = run_file("entity_counts.rq");
    let rows = t.records();
    let bytes = fs::read(graph().join("exports/nodes.csv")).expect("nodes.csv");
    let nodes = Table::parse(&bytes);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for r in nodes.records() {
        *expected.entry(r["type"].to_string()).or_default() += 1;
        if !r["subtype"].is_empty() && r["subtype"] != r["type"] {
            *expected.entry(r["subtype"].to_string()).or_default() += 1;
        }
    }
    let got = rows
        .iter()
        .map(|r| {
            assert_eq!(r["class"], format!("{ONTOLOGY_NS}{}", r["class_name"]));
            let n: usize = r["entities"].parse().unwrap();
            let d: usize = r["discovered"].parse().unwrap();
            assert!(d <= n, "{r:?}");
            (r["class_name"].to_string(), n)
        })
        .collect::<BTreeMap<_, _>>();
    assert_eq!(got, expected, "entity_counts.rq and nodes.csv disagree");
    for class in [
        "Product",
        "Target",
        "Institution",
        "Disease",
        "Policy",
        "Technology",
        "Location",
    ] {
        assert!(got.get(class).is_some_and(|&n| n > 0), "no {class}");
    }
    // Sorted by count, largest first.
    let counts = rows
        .iter()
        .map(|r| r["entities"].parse::<usize>().unwrap())
        .collect::<Vec<_>>();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]));
}
