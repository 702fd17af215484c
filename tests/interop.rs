//! Checks the exports with the real tools users take them to: Graphviz renders `graph.dot` and
//! every kind of DOT view; rdflib reads `graph.ttl` and `graph.nq` and finds the same default
//! graph, and reads the Turtle, N-Triples, JSON-LD and RDF/XML exports with the store's triple
//! count; pandas reads every CSV with exactly the contract's columns (and the Excel flavour);
//! the Neo4j folder follows the admin-import header format; networkx reads the GraphML and the
//! node-link JSON with the node and edge counts of `cellkg stats`; and every row of
//! `mentions.csv` satisfies `text[start:end] == surface` against the files in `seeds/`. The
//! committed exports are checked where they exist; the checks that compare with `cellkg stats` or
//! the store run on a fresh build of the default corpus in a temporary directory.
//!
//! The Python side lives in `tests/interop/*.py` (one script per check, run here with
//! `std::process::Command`). Python is `$CELLKG_PYTHON`, else `python3`; the exports are
//! `$CELLKG_EXPORTS`, else `exports/`. When a tool, a Python module or the exports are missing
//! a test prints why it is skipped and passes — unless `CELLKG_INTEROP=1` (set by `.ci/run`),
//! where that is a failure.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn required() -> bool {
    std::env::var("CELLKG_INTEROP").as_deref() == Ok("1")
}

/// Prints why a test is skipped, or fails it when `CELLKG_INTEROP=1`.
fn skip(reason: &str) {
    if required() {
        panic!("{reason} (CELLKG_INTEROP=1 makes a missing tool or export a failure)");
    }
    eprintln!("skipped: {reason}");
}

/// The exports directory when it holds all of `files`.
fn exports_with(files: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os("CELLKG_EXPORTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("exports"));
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Some(dir)
    } else {
        skip(&format!(
            "{} lacks {}: run `cargo run --release -- build` first",
            dir.display(),
            missing.join(", ")
        ));
        None
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` and returns its output, or `None` when the program cannot be started.
fn try_run(cmd: &mut Command) -> Option<Output> {
    cmd.output().ok()
}

/// Runs `cmd` and fails the test, with everything it printed, unless it exits with 0.
fn run_ok(cmd: &mut Command) -> Output {
    let what = describe(cmd);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`{what}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    eprintln!("`{what}`:\n{stdout}{stderr}");
    out
}

/// The Python interpreter, when it runs and has every module of `modules`.
fn python_with(modules: &[&str]) -> Option<OsString> {
    let python = std::env::var_os("CELLKG_PYTHON").unwrap_or_else(|| "python3".into());
    let shown = python.to_string_lossy().into_owned();
    match try_run(Command::new(&python).args(["-c", "import sys; print(sys.version)"])) {
        Some(o) if o.status.success() => {}
        _ => {
            skip(&format!(
                "no Python: `{shown}` does not run (set CELLKG_PYTHON)"
            ));
            return None;
        }
    }
    for m in modules {
        match try_run(Command::new(&python).args(["-c", &format!("import {m}")])) {
            Some(o) if o.status.success() => {}
            _ => {
                skip(&format!(
                    "Python module `{m}` is not installed for `{shown}` (`.ci/run` installs it)"
                ));
                return None;
            }
        }
    }
    Some(python)
}

fn script(name: &str) -> PathBuf {
    repo().join("tests/interop").join(name)
}

/// A fresh build of the default corpus: (temp dir, exports dir, store dir).
fn fresh_build() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (out, store) = (tmp.path().join("exports"), tmp.path().join("store"));
    run_ok(cellkg(&store).arg("build").arg("--out").arg(&out));
    (tmp, out, store)
}

fn cellkg(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cellkg"));
    c.current_dir(repo()).arg("--store").arg(store);
    c
}

fn has_dot() -> bool {
    match try_run(Command::new("dot").arg("-V")) {
        Some(o) if o.status.success() => true,
        _ => {
            skip("Graphviz `dot` is not installed (Debian package graphviz)");
            false
        }
    }
}

/// Renders `dot_file` to SVG and checks that the result is a whole SVG that draws nodes.
fn renders(dot_file: &Path, dir: &Path) {
    let svg = dir.join(format!(
        "{}.svg",
        dot_file.file_stem().unwrap().to_string_lossy()
    ));
    run_ok(
        Command::new("dot")
            .arg("-Tsvg")
            .arg(dot_file)
            .arg("-o")
            .arg(&svg),
    );
    let text = std::fs::read_to_string(&svg)
        .unwrap_or_else(|e| panic!("dot wrote no readable {}: {e}", svg.display()));
    assert!(
        text.contains("<svg") && text.trim_end().ends_with("</svg>"),
        "dot's output is not a whole SVG document:\n{}",
        &text[..text.len().min(500)]
    );
    assert!(
        text.contains("<g id=\"node"),
        "the SVG of {} draws no node",
        dot_file.display()
    );
}

#[test]
fn graphviz_renders_graph_dot_to_svg() {
    if !has_dot() {
        return;
    }
    let Some(exports) = exports_with(&["graph.dot"]) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    renders(&exports.join("graph.dot"), tmp.path());
}

#[test]
fn graphviz_renders_every_kind_of_dot_view() {
    if !has_dot() {
        return;
    }
    let (tmp, _, store) = fresh_build();
    let views: &[(&str, &[&str])] = &[
        ("plain", &[]),
        ("en", &["--lang", "en"]),
        (
            "sfdp",
            &[
                "--connected-only",
                "--layout",
                "sfdp",
                "--title",
                "a \"title\"",
            ],
        ),
        ("cluster", &["--connected-only", "--cluster"]),
        ("focus", &["--focus", "BCMA", "--depth", "2"]),
        (
            "types",
            &["--types", "Product,Target", "--min-confidence", "0.7"],
        ),
        (
            "relations",
            &["--relations", "targets,treats", "--layout", "neato"],
        ),
    ];
    for (name, args) in views {
        let file = tmp.path().join(format!("{name}.dot"));
        run_ok(
            cellkg(&store)
                .args(["export", "dot"])
                .args(*args)
                .arg("-o")
                .arg(&file),
        );
        renders(&file, tmp.path());
    }
    // And the binary's own svg export, through Graphviz.
    let svg = tmp.path().join("own.svg");
    run_ok(
        cellkg(&store)
            .args(["export", "svg", "--focus", "CD19", "-o"])
            .arg(&svg),
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn rdflib_reads_turtle_and_nquads_with_the_same_default_graph() {
    let Some(python) = python_with(&["rdflib"]) else {
        return;
    };
    let Some(exports) = exports_with(&["graph.ttl", "graph.nq"]) else {
        return;
    };
    run_ok(
        Command::new(python)
            .arg(script("check_rdf.py"))
            .arg(&exports),
    );
}

#[test]
fn pandas_reads_every_csv_with_the_contract_header() {
    let Some(python) = python_with(&["pandas"]) else {
        return;
    };
    let Some(exports) = exports_with(&["nodes.csv"]) else {
        return;
    };
    let out = run_ok(
        Command::new(python)
            .arg(script("check_csv.py"))
            .arg(&exports),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nodes.csv:"));
}

#[test]
fn mention_offsets_point_at_their_surface_in_the_seeds() {
    let Some(python) = python_with(&[]) else {
        return;
    };
    let Some(exports) = exports_with(&["mentions.csv"]) else {
        return;
    };
    run_ok(
        Command::new(python)
            .arg(script("check_mentions.py"))
            .arg(&exports)
            .arg(repo().join("seeds")),
    );
}

#[test]
fn networkx_reads_graphml_and_json_with_the_counts_of_stats() {
    let Some(python) = python_with(&["networkx"]) else {
        return;
    };
    let (tmp, exports, store) = fresh_build();
    let stats = run_ok(cellkg(&store).args(["stats", "--format", "json"]));
    let stats_file = tmp.path().join("stats.json");
    std::fs::write(&stats_file, &stats.stdout).expect("writes stats.json");
    run_ok(
        Command::new(&python)
            .arg(script("check_graph.py"))
            .arg(exports.join("graph.graphml"))
            .arg(exports.join("graph.json"))
            .arg(&stats_file),
    );
    // The committed ones too, against the committed exports' own counts.
    if let Some(committed) = exports_with(&["graph.graphml", "graph.json"]) {
        let code = "import sys, json, networkx as nx\n\
                    g = nx.read_graphml(sys.argv[1])\n\
                    j = nx.node_link_graph(json.load(open(sys.argv[2], encoding='utf-8')), edges='edges')\n\
                    print(g.number_of_nodes(), g.number_of_edges(), j.number_of_nodes(), j.number_of_edges())\n\
                    sys.exit(0 if (g.number_of_nodes(), g.number_of_edges()) == (j.number_of_nodes(), j.number_of_edges()) else 1)\n";
        run_ok(
            Command::new(&python)
                .args(["-c", code])
                .arg(committed.join("graph.graphml"))
                .arg(committed.join("graph.json")),
        );
    }
}

#[test]
fn rdflib_parses_every_rdf_export_with_the_store_triple_count() {
    let Some(python) = python_with(&["rdflib"]) else {
        return;
    };
    let (tmp, _, store) = fresh_build();
    let mut args = Vec::new();
    for (format, ext, rdflib) in [
        ("turtle", "ttl", "turtle"),
        ("ntriples", "nt", "nt"),
        ("jsonld", "jsonld", "json-ld"),
        ("rdfxml", "rdf", "xml"),
    ] {
        let file = tmp.path().join(format!("graph.{ext}"));
        run_ok(cellkg(&store).args(["export", format, "-o"]).arg(&file));
        args.push(format!("{}:{rdflib}", file.display()));
    }
    run_ok(
        Command::new(python)
            .arg(script("check_rdf_formats.py"))
            .arg(store.join("store.nq"))
            .args(args),
    );
}

#[test]
fn pandas_reads_the_excel_flavour_without_live_formulas() {
    let Some(python) = python_with(&["pandas"]) else {
        return;
    };
    let (tmp, _, store) = fresh_build();
    let dir = tmp.path().join("excel");
    run_ok(
        cellkg(&store)
            .args(["export", "csv", "--excel", "-o"])
            .arg(&dir),
    );
    run_ok(
        Command::new(python)
            .arg(script("check_csv.py"))
            .arg("--excel")
            .arg(&dir),
    );
}

#[test]
fn neo4j_folder_follows_the_admin_import_headers() {
    let Some(python) = python_with(&["pandas"]) else {
        return;
    };
    let Some(exports) = exports_with(&["neo4j/entities.csv", "neo4j/relations.csv"]) else {
        return;
    };
    run_ok(
        Command::new(python)
            .arg(script("check_neo4j.py"))
            .arg(exports.join("neo4j")),
    );
}
