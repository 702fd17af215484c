//! Checks the committed exports with the real tools users take them to: Graphviz renders
//! `graph.dot`, rdflib reads `graph.ttl` and `graph.nq` and finds the same default graph, pandas
//! reads every CSV with exactly the contract's columns, networkx reads the GraphML, and every
//! row of `mentions.csv` satisfies `text[start:end] == surface` against the files in `seeds/`.
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

#[test]
fn graphviz_renders_graph_dot_to_svg() {
    match try_run(Command::new("dot").arg("-V")) {
        Some(o) if o.status.success() => {}
        _ => return skip("Graphviz `dot` is not installed (Debian package graphviz)"),
    }
    let Some(exports) = exports_with(&["graph.dot"]) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let svg = tmp.path().join("graph.svg");
    run_ok(
        Command::new("dot")
            .arg("-Tsvg")
            .arg(exports.join("graph.dot"))
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
    assert!(text.contains("<g id=\"node"), "the SVG draws no node");
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
fn networkx_reads_the_graphml() {
    let Some(python) = python_with(&["networkx"]) else {
        return;
    };
    let Some(exports) = exports_with(&["nodes.csv"]) else {
        return;
    };
    let mut graphml: Vec<PathBuf> = std::fs::read_dir(&exports)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "graphml"))
                .collect()
        })
        .unwrap_or_default();
    graphml.sort();
    if graphml.is_empty() {
        // GraphML is an export format, but not a file the default build must write.
        eprintln!("skipped: no *.graphml in {}", exports.display());
        return;
    }
    for path in graphml {
        let code = "import sys, networkx as nx\n\
                    g = nx.read_graphml(sys.argv[1])\n\
                    print(f'{sys.argv[1]}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges')\n\
                    sys.exit(0 if g.number_of_nodes() > 0 else 1)\n";
        run_ok(Command::new(&python).args(["-c", code]).arg(&path));
    }
}
