//! The build: corpus in, store and exports out, atomically.
//!
//! In: corpus paths, the ontology directory, the output directory and the store directory.
//! Out: the store (`store.nq` + `graph.json` under the store directory) and every export file,
//! each directory replaced only when the whole build succeeded (written beside, then renamed),
//! under a lock so that two builds cannot interleave. Documents are extracted in parallel
//! (rayon) and merged in path order, so the output is the same whatever the thread count.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::extract::{Extraction, Extractor};
use crate::model::{BuildStats, KnowledgeGraph};
use crate::ontology::Ontology;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub inputs: Vec<PathBuf>,
    pub ontology: PathBuf,
    pub out: PathBuf,
    pub store: PathBuf,
    /// Ontology issues are fatal.
    pub strict: bool,
}

/// What a build did, for the summary line.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    pub documents: usize,
    pub entities: usize,
    pub assertions: usize,
    pub prices: usize,
    pub clinical: usize,
    pub conflicts: usize,
    pub skipped: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// Reads and extracts every document of the corpus (in parallel), in path order.
pub fn extract_corpus(inputs: &[PathBuf], ex: &Extractor) -> Result<(Vec<Extraction>, BuildStats)> {
    let (files, mut skipped) = crate::ingest::collect_files(inputs)?;
    type Read = std::result::Result<(Extraction, u64, usize), (String, String)>;
    let results: Vec<Result<Read>> = files
        .par_iter()
        .map(|(root, path)| {
            let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            Ok(match crate::ingest::read_document(root, path)? {
                Ok(doc) => {
                    let replaced = doc.info.replaced;
                    Ok((ex.extract(doc.info, &doc.text), bytes, replaced))
                }
                Err(reason) => Err((path.display().to_string(), reason)),
            })
        })
        .collect();
    let mut stats = BuildStats::default();
    let mut extractions = Vec::new();
    let mut seen_ids = std::collections::BTreeSet::new();
    for r in results {
        match r? {
            Ok((ext, bytes, replaced)) => {
                let id = ext.doc.as_ref().map(|d| d.id.clone()).unwrap_or_default();
                if !seen_ids.insert(id.clone()) {
                    skipped.push((
                        id,
                        "another file has the same document id (same name, other extension)".into(),
                    ));
                    continue;
                }
                stats.files_read += 1;
                stats.bytes_read += bytes;
                stats.replaced_sequences += replaced;
                extractions.push(ext);
            }
            Err(skip) => skipped.push(skip),
        }
    }
    skipped.sort();
    stats.files_skipped = skipped;
    Ok((extractions, stats))
}

/// Builds the graph in memory (no files written).
pub fn build_graph(inputs: &[PathBuf], ontology: &Ontology) -> Result<KnowledgeGraph> {
    let ex = Extractor::new(ontology)?;
    let (extractions, stats) = extract_corpus(inputs, &ex)?;
    Ok(crate::resolve::resolve(extractions, &ex, stats))
}

/// A lock file held for the duration of a build.
struct Lock(PathBuf);

impl Lock {
    fn acquire(path: PathBuf) -> Result<Lock> {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Lock(path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A lock left by a killed build: take it over if its process is gone.
                let pid = fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok());
                let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                if alive {
                    Err(Error::Other(format!(
                        "another build is running (lock {} held by process {}); wait for it or remove the lock",
                        path.display(),
                        pid.unwrap_or(0)
                    )))
                } else {
                    fs::write(&path, format!("{}\n", std::process::id()))
                        .map_err(|e| Error::io(&path, e))?;
                    Ok(Lock(path))
                }
            }
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Writes into a fresh sibling directory, then swaps it in place of `dir`.
fn replace_dir(dir: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Keep files of the old directory that the build does not write (e.g. views/).
    if dir.exists() {
        if let Ok(rd) = fs::read_dir(dir) {
            for entry in rd.flatten() {
                let target = tmp.join(entry.file_name());
                if !target.exists() {
                    copy_recursively(&entry.path(), &target)?;
                }
            }
        }
        fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
    }
    if let Err(e) = fs::rename(&tmp, dir) {
        let _ = fs::rename(&old, dir);
        return Err(Error::io(dir, e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

fn copy_recursively(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
        for entry in fs::read_dir(from)
            .map_err(|e| Error::io(from, e))?
            .flatten()
        {
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        fs::copy(from, to).map_err(|e| Error::io(from, e))?;
    }
    Ok(())
}

/// Runs a whole build: ontology, corpus, graph, store, exports.
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let started = Instant::now();
    let ontology = Ontology::load(&opts.ontology)?;
    let mut report = BuildReport::default();
    for issue in &ontology.issues {
        report
            .warnings
            .push(format!("{}: {}", issue.file, issue.message));
    }
    if opts.strict && !ontology.issues.is_empty() {
        return Err(Error::Config {
            path: opts.ontology.clone(),
            message: format!(
                "{} problem(s) in the ontology (--strict); run `cellkg check`",
                ontology.issues.len()
            ),
        });
    }
    for input in &opts.inputs {
        if !input.exists() {
            return Err(Error::NotFound(format!(
                "{}: no such file or directory",
                input.display()
            )));
        }
    }
    let store_parent = opts
        .store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(store_parent).map_err(|e| Error::io(store_parent, e))?;
    let _lock = Lock::acquire(store_parent.join(".cellkg-build.lock"))?;

    let kg = build_graph(&opts.inputs, &ontology)?;
    let store = crate::rdf::to_store(&kg)?;
    replace_dir(&opts.out, |dir| crate::export::write_all(&kg, &store, dir))?;
    replace_dir(&opts.store, |dir| save_graph(&kg, &store, dir))?;

    report.documents = kg.documents.len();
    report.entities = kg.entities.len();
    report.assertions = kg.assertions.len();
    report.prices = kg.prices.len();
    report.clinical = kg.clinical.len();
    report.conflicts = kg.conflicts.len();
    report.skipped = kg.stats.files_skipped.clone();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Saves the graph (JSON) and the store (N-Quads) into a store directory.
pub fn save_graph(kg: &KnowledgeGraph, store: &oxigraph::store::Store, dir: &Path) -> Result<()> {
    let path = dir.join("graph.json");
    let f = fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
    let mut w = std::io::BufWriter::new(f);
    serde_json::to_writer(&mut w, kg)
        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    w.flush().map_err(|e| Error::io(&path, e))?;
    let nq = dir.join("store.nq");
    let f = fs::File::create(&nq).map_err(|e| Error::io(&nq, e))?;
    crate::rdf::write_nquads(store, std::io::BufWriter::new(f))
}

/// Loads the graph saved by the last build.
pub fn load_graph(store_dir: &Path) -> Result<KnowledgeGraph> {
    let path = store_dir.join("graph.json");
    let bytes = fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!(
                "{}: no graph yet; run `cellkg build` first",
                path.display()
            ))
        } else {
            Error::io(&path, e)
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Other(format!(
            "{}: corrupt graph file: {e}; rebuild with `cellkg build`",
            path.display()
        ))
    })
}

/// Loads the store saved by the last build.
pub fn load_store(store_dir: &Path) -> Result<oxigraph::store::Store> {
    let path = store_dir.join("store.nq");
    if !path.exists() {
        return Err(Error::NotFound(format!(
            "{}: no store yet; run `cellkg build` first",
            path.display()
        )));
    }
    crate::rdf::load_nquads(&path)
}
