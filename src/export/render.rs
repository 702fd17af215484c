//! Pictures: DOT text in, SVG or PNG bytes out, through the Graphviz `dot` program.
//!
//! The DOT text names its own layout engine (the graph's `layout` attribute), so one program,
//! `dot`, renders every view. When Graphviz is not installed the error says which package to
//! install. This module does not write DOT and does not choose file names. Its output depends on
//! the installed Graphviz version, which is why `cellkg build` never renders: pictures are made on
//! demand (`cellkg export svg`) and the committed views are rendered once and checked in.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A picture format Graphviz writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Svg,
    Png,
}

impl Picture {
    fn flag(self) -> &'static str {
        match self {
            Picture::Svg => "-Tsvg",
            Picture::Png => "-Tpng",
        }
    }
}

/// The Graphviz program, `$CELLKG_DOT` when set (tests point it elsewhere), else `dot`.
fn program() -> std::ffi::OsString {
    std::env::var_os("CELLKG_DOT").unwrap_or_else(|| "dot".into())
}

/// The message for a missing Graphviz: what to install, and what works without it.
pub fn missing_graphviz(program: &str) -> String {
    format!(
        "cannot run Graphviz `{program}`: install the graphviz package (Debian/Ubuntu: \
         apt-get install graphviz; macOS: brew install graphviz; Windows: winget install graphviz) \
         and, for Chinese labels, a CJK font (Debian: fonts-noto-cjk); or export dot and render it elsewhere"
    )
}

/// Renders DOT text with Graphviz.
pub fn render(dot: &[u8], picture: Picture) -> Result<Vec<u8>> {
    let program = program();
    let shown = program.to_string_lossy().into_owned();
    let mut child = Command::new(&program)
        .arg(picture.flag())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                Error::NotFound(missing_graphviz(&shown))
            }
            _ => Error::Other(format!("running Graphviz `{shown}`: {e}")),
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = dot.to_vec();
    // Feed stdin from a thread: a big graph would otherwise fill both pipes and deadlock.
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Other(format!("running Graphviz `{shown}`: {e}")))?;
    let fed = feeder
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("writer thread panicked")));
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::Other(format!(
            "Graphviz `{shown}` failed ({}): {why}",
            out.status
        )));
    }
    fed.map_err(|e| Error::Other(format!("feeding Graphviz `{shown}`: {e}")))?;
    Ok(out.stdout)
}
