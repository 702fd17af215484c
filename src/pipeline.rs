//! The build: corpus in, store and exports out, atomically.
//!
//! In: corpus paths, the ontology directory, the output directory and the store directory.
//! Out: the store (`store.nq`, the graph for the commands that read it back in [`GRAPH_FILE`],
//! and the extraction cache `cache/` under the store directory) and every export file, both
//! directories replaced only when the whole build succeeded (written beside, then swapped in),
//! under a lock on each so that two builds cannot interleave (see [`crate::atomic`]).
//!
//! Documents are read and extracted in parallel (rayon, `--threads`), in batches of `BATCH` (32)
//! per worker, each worker taking the next batch in path order: a batch's texts are dropped as
//! soon as it is extracted, and its new cache entries are written to the cache's pack as soon as
//! the batches before it are done, so memory grows with the graph, not with the corpus. Results
//! are merged in path order, so the output is the same whatever the thread count. A document
//! whose bytes, name and the ontology are unchanged since the last build is not extracted again:
//! its extraction comes from the cache (see [`crate::cache`]). The build fills no RDF store:
//! `store.nq` is the exports' `graph.nq`, which the commands that query load with oxigraph's
//! bulk loader. With `CELLKG_TIMINGS=1` in the environment a build prints the time of each stage
//! and the resident memory after it to stderr (`CELLKG_TIMINGS=2` also times normalisation
//! apart, which costs one more normalisation pass per document).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::atomic::{self, BuildLock, Staged};
use crate::cache::{Cache, CacheWriter, FileStat, NewEntry};
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
    /// Worker threads for reading and extraction (`None` or 0: one per core). The output does
    /// not depend on it.
    pub threads: Option<usize>,
    /// Reuse the cached extractions of unchanged documents (`false`: extract everything again;
    /// the cache is rewritten either way).
    pub incremental: bool,
    /// What to do with the replaced store and exports once the new ones are in place: `None`
    /// removes them before the build returns; `Some((program, args))` leaves it to `program
    /// args… PATHS…`, started and not waited for (the command line runs its own hidden
    /// `remove-trash`; see [`atomic::Trash::remove_in_background`]).
    pub remove_replaced_with: Option<(PathBuf, Vec<String>)>,
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
    /// Documents extracted by this build.
    pub extracted: usize,
    /// Documents whose extraction came from the cache.
    pub reused: usize,
    /// Of those, the files not read at all: their status was unchanged (see [`crate::cache`]).
    pub unread: usize,
    /// Why the cache of the previous build was not used, when it was not.
    pub cache_unused: Option<String>,
    pub skipped: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// Time spent per stage, summed over the worker threads (nanoseconds).
#[derive(Debug, Default)]
struct WorkerClock {
    read: AtomicU64,
    normalize: AtomicU64,
    extract: AtomicU64,
    cache: AtomicU64,
}

impl WorkerClock {
    fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Stage timings of one build, printed to stderr when `CELLKG_TIMINGS` is set.
struct Timings {
    on: bool,
    /// Also time normalisation apart (one more pass per document).
    detail: bool,
    last: Instant,
    /// (stage, seconds, note, resident memory at its end in MB).
    rows: Vec<(String, f64, String, Option<u64>)>,
}

/// The resident memory of the process in MB, where `/proc/self/status` tells it (Linux).
fn resident_mb() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

impl Timings {
    fn from_env() -> Timings {
        let v = std::env::var("CELLKG_TIMINGS").unwrap_or_default();
        Timings {
            on: !v.is_empty() && v != "0",
            detail: v == "2",
            last: Instant::now(),
            rows: Vec::new(),
        }
    }

    /// Ends a stage that started where the previous one ended.
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let secs = (now - self.last).as_secs_f64();
        self.last = now;
        let rss = self.on.then(resident_mb).flatten();
        self.rows
            .push((stage.to_string(), secs, String::new(), rss));
    }

    /// Ends the parallel stage: its wall time shared out by the time the workers spent in each
    /// part of it.
    fn lap_parallel(&mut self, clock: &WorkerClock) {
        let now = Instant::now();
        let wall = (now - self.last).as_secs_f64();
        self.last = now;
        let ns = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
        let (read, normalize, extract, cache) = (
            ns(&clock.read),
            ns(&clock.normalize),
            ns(&clock.extract),
            ns(&clock.cache),
        );
        let busy = read + extract + cache + normalize;
        let share = if busy > 0.0 { wall / busy } else { 0.0 };
        let mut parts = vec![("read", read)];
        if self.detail {
            parts.push(("normalize", normalize));
        }
        parts.push(("extract", extract));
        parts.push(("cache", cache));
        let rss = self.on.then(resident_mb).flatten();
        for (stage, cpu) in parts {
            self.rows.push((
                stage.to_string(),
                cpu * share,
                format!("{cpu:.3} s summed over threads"),
                rss,
            ));
        }
    }

    fn print(&self, bytes: u64, total: f64) {
        if !self.on {
            return;
        }
        let mb = bytes as f64 / 1e6;
        let mut err = std::io::stderr().lock();
        for (stage, secs, note, rss) in &self.rows {
            let rate = if *secs > 0.0 {
                mb / secs
            } else {
                f64::INFINITY
            };
            let rss = rss.map_or(String::from("      –"), |r| format!("{r:>7}"));
            let _ = writeln!(
                err,
                "cellkg: timing {stage:<9} {secs:>9.3} s {rate:>10.1} MB/s  {rss} MB resident  {note}"
            );
        }
        let rate = if total > 0.0 { mb / total } else { 0.0 };
        let _ = writeln!(
            err,
            "cellkg: timing {:<9} {total:>9.3} s {rate:>10.1} MB/s  {mb:.1} MB of documents",
            "total"
        );
    }
}

/// One document read and extracted (or taken from the cache).
struct Done {
    ext: Extraction,
    bytes: u64,
    replaced: usize,
    entry: Option<NewEntry>,
    reused: bool,
    /// Taken from the cache by the file's status, without reading it.
    unread: bool,
}

impl Done {
    /// A document taken from the cache, carried over into the new one as `entry`.
    fn reused(ext: Extraction, bytes: u64, replaced: usize, entry: NewEntry, unread: bool) -> Done {
        Done {
            ext,
            bytes,
            replaced,
            entry: Some(entry),
            reused: true,
            unread,
        }
    }
}

/// A file read and extracted (or taken from the cache), or skipped: (path, reason).
type Processed = std::result::Result<Done, (String, String)>;

/// Documents extracted together by one worker ([`Extractor::extract_batch`]).
const BATCH: usize = 32;

/// Reads, looks up in the cache and extracts a batch of files, in their order.
fn process_files(
    files: &[(PathBuf, PathBuf)],
    ex: &Extractor,
    cache: Option<&Cache>,
    clock: &WorkerClock,
    detail: bool,
) -> Result<Vec<Processed>> {
    let mut out: Vec<Processed> = Vec::with_capacity(files.len());
    // The documents to extract: (index in `out`, document, bytes).
    let mut todo = Vec::new();
    for (root, path) in files {
        let t = Instant::now();
        let meta = fs::metadata(path).ok();
        let bytes = meta.as_ref().map_or(0, fs::Metadata::len);
        let stat = meta.as_ref().and_then(FileStat::of);
        let source = stat.map(|stat| (path.to_string_lossy().into_owned(), stat));
        // A file whose status is what it was when the previous build read it is not read.
        if let (Some(old), Some((name, stat))) = (cache, &source) {
            let rel = crate::ingest::relative_path(root, path);
            if let Some((ext, cached, key)) = old.get_unchanged(name, &rel, stat) {
                WorkerClock::add(&clock.cache, t);
                let replaced = ext.doc.as_ref().map_or(0, |d| d.replaced);
                let entry = NewEntry {
                    key,
                    path: rel,
                    bytes: cached,
                    source,
                };
                out.push(Ok(Done::reused(ext, bytes, replaced, entry, true)));
                continue;
            }
        }
        let doc = match crate::ingest::read_document(root, path)? {
            Ok(doc) => doc,
            Err(reason) => {
                out.push(Err((path.display().to_string(), reason)));
                continue;
            }
        };
        WorkerClock::add(&clock.read, t);
        let replaced = doc.info.replaced;
        if let Some(old) = cache {
            let t = Instant::now();
            let key = crate::cache::key(&doc.info);
            if let Some((ext, cached)) = old.get(&key, &doc.info) {
                WorkerClock::add(&clock.cache, t);
                let entry = NewEntry {
                    key,
                    path: doc.info.path.clone(),
                    bytes: cached,
                    source,
                };
                out.push(Ok(Done::reused(ext, bytes, replaced, entry, false)));
                continue;
            }
            WorkerClock::add(&clock.cache, t);
        }
        if detail {
            let t = Instant::now();
            drop(ex.segment(&doc.text));
            WorkerClock::add(&clock.normalize, t);
        }
        // A placeholder, replaced once the batch is extracted.
        out.push(Err((String::new(), String::new())));
        todo.push((out.len() - 1, doc, bytes, source));
    }
    if todo.is_empty() {
        return Ok(out);
    }
    let t = Instant::now();
    let extractions = ex.extract_batch(
        todo.iter()
            .map(|(_, doc, _, _)| (doc.info.clone(), doc.text.as_str()))
            .collect(),
    );
    WorkerClock::add(&clock.extract, t);
    for ((i, doc, bytes, source), ext) in todo.into_iter().zip(extractions) {
        let entry = match cache {
            Some(_) => {
                let t = Instant::now();
                let mut entry = CacheWriter::entry(&ext)?;
                entry.source = source;
                WorkerClock::add(&clock.cache, t);
                Some(entry)
            }
            None => None,
        };
        out[i] = Ok(Done {
            ext,
            bytes,
            replaced: doc.info.replaced,
            entry,
            reused: false,
            unread: false,
        });
    }
    Ok(out)
}

/// The extractions of a corpus, in path order, with what the cache did.
struct Corpus {
    extractions: Vec<Extraction>,
    stats: BuildStats,
    extracted: usize,
    reused: usize,
    unread: usize,
}

/// The batches' results put together in corpus order, as they come in: a batch waits only
/// for the ones before it. New cache entries go on to the pack writer at once (see
/// [`extract_files`]).
struct Merge {
    corpus: Corpus,
    skipped: Vec<(String, String)>,
    seen_ids: std::collections::BTreeSet<String>,
    /// The next batch to merge, and the batches done ahead of it.
    next: usize,
    waiting: std::collections::BTreeMap<usize, Vec<Processed>>,
    pack: Option<std::sync::mpsc::Sender<NewEntry>>,
}

impl Merge {
    fn add(&mut self, batch: usize, done: Vec<Processed>) {
        self.waiting.insert(batch, done);
        while let Some(done) = self.waiting.remove(&self.next) {
            self.next += 1;
            for r in done {
                self.merge(r);
            }
        }
    }

    fn merge(&mut self, r: Processed) {
        let done = match r {
            Ok(done) => done,
            Err(skip) => return self.skipped.push(skip),
        };
        let id = done
            .ext
            .doc
            .as_ref()
            .map(|d| d.id.clone())
            .unwrap_or_default();
        if !self.seen_ids.insert(id.clone()) {
            self.skipped.push((
                id,
                "another file has the same document id (same name, other extension)".into(),
            ));
            return;
        }
        let corpus = &mut self.corpus;
        corpus.stats.files_read += 1;
        corpus.stats.bytes_read += done.bytes;
        corpus.stats.replaced_sequences += done.replaced;
        if done.reused {
            corpus.reused += 1;
            corpus.unread += usize::from(done.unread);
        } else {
            corpus.extracted += 1;
        }
        if let (Some(entry), Some(pack)) = (done.entry, &self.pack) {
            // The writer stops only on an error of its own, which the build reports after.
            if pack.send(entry).is_err() {
                self.pack = None;
            }
        }
        corpus.extractions.push(done.ext);
    }
}

/// Reads and extracts the files in batches of [`BATCH`], one worker per thread of the pool,
/// each taking the next batch in corpus order, so that the results are merged (and the new
/// cache entries sent to `pack`, whose writer puts them in the pack file) while the later
/// batches are extracted: the entries are not all held in memory (300 MB from a 200 MB
/// corpus), and the memory they take is reused from batch to batch. The error of a batch is
/// that of its first failing file; of the failing batches, the first in corpus order is
/// reported (a failure stops only the batches after it).
fn extract_files(
    (files, skipped): crate::ingest::FileList,
    ex: &Extractor,
    cache: Option<&Cache>,
    clock: &WorkerClock,
    detail: bool,
    pack: Option<std::sync::mpsc::Sender<NewEntry>>,
) -> Result<Corpus> {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    let batches: Vec<&[(PathBuf, PathBuf)]> = files.chunks(BATCH).collect();
    let merge = Mutex::new(Merge {
        corpus: Corpus {
            extractions: Vec::with_capacity(files.len()),
            stats: BuildStats::default(),
            extracted: 0,
            reused: 0,
            unread: 0,
        },
        skipped,
        seen_ids: std::collections::BTreeSet::new(),
        next: 0,
        waiting: std::collections::BTreeMap::new(),
        pack,
    });
    let next = AtomicUsize::new(0);
    // The first failed batch so far (usize::MAX: none), with its error.
    let failed = AtomicUsize::new(usize::MAX);
    let error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= batches.len() || i > failed.load(Ordering::Relaxed) {
            break;
        }
        match process_files(batches[i], ex, cache, clock, detail) {
            Ok(done) => merge.lock().expect("no merge panicked").add(i, done),
            Err(e) => {
                failed.fetch_min(i, Ordering::Relaxed);
                let mut error = error.lock().expect("no worker panicked holding it");
                if error.as_ref().is_none_or(|(j, _)| i < *j) {
                    *error = Some((i, e));
                }
            }
        }
    };
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads() {
            s.spawn(|_| work());
        }
    });
    if let Some((_, e)) = error.into_inner().expect("no worker panicked holding it") {
        return Err(e);
    }
    let merge = merge.into_inner().expect("no merge panicked");
    debug_assert!(merge.waiting.is_empty() && merge.next == batches.len());
    let mut corpus = merge.corpus;
    let mut skipped = merge.skipped;
    skipped.sort();
    corpus.stats.files_skipped = skipped;
    Ok(corpus)
}

/// Reads and extracts every document of the corpus (in parallel), in path order.
pub fn extract_corpus(inputs: &[PathBuf], ex: &Extractor) -> Result<(Vec<Extraction>, BuildStats)> {
    let files = crate::ingest::collect_files(inputs)?;
    let corpus = extract_files(files, ex, None, &WorkerClock::default(), false, None)?;
    Ok((corpus.extractions, corpus.stats))
}

/// Builds the graph in memory (no files written).
pub fn build_graph(inputs: &[PathBuf], ontology: &Ontology) -> Result<KnowledgeGraph> {
    let ex = Extractor::new(ontology)?;
    let (extractions, stats) = extract_corpus(inputs, &ex)?;
    Ok(crate::resolve::resolve(extractions, &ex, stats))
}

/// Runs a whole build: ontology, corpus, graph, store, exports (on a pool of
/// [`BuildOptions::threads`] threads when set).
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    match opts.threads {
        Some(n) if n > 0 => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::Other(format!("starting {n} worker threads: {e}")))?
            .install(|| build_in_pool(opts)),
        _ => build_in_pool(opts),
    }
}

fn build_in_pool(opts: &BuildOptions) -> Result<BuildReport> {
    let started = Instant::now();
    // Before any file is read: what the cache's record of the files is relative to.
    let started_ns = crate::cache::now_ns();
    let mut timings = Timings::from_env();
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
    // The exports may be inside the store (the store swap carries the staged exports over),
    // not the other way round.
    let (store, out) = (atomic::resolve(&opts.store)?, atomic::resolve(&opts.out)?);
    if store.starts_with(&out) {
        return Err(Error::Other(format!(
            "{}: the store must be neither the exports directory ({}) nor inside it",
            opts.store.display(),
            opts.out.display()
        )));
    }
    // Both directories are locked for the whole build (another build with the same store or
    // the same exports stops at once); what killed builds left beside them is cleaned up.
    let lock = BuildLock::acquire(&[&opts.store, &opts.out])?;
    report.warnings.extend(lock.notes.iter().cloned());
    // The new store directory is staged from the start: new cache entries go straight into it.
    let version = env!("CARGO_PKG_VERSION");
    let staged_store = Staged::new(&opts.store)?;
    let old_cache = if opts.incremental {
        Cache::open(
            &opts.store.join(crate::cache::DIR),
            version,
            &ontology.fingerprint,
        )
    } else {
        Cache::empty("a full build was asked for")
    };
    let new_cache = CacheWriter::create(&staged_store.path().join(crate::cache::DIR))?;
    // The scan's automaton by the bytes there are to extract: those of the files the cache
    // has no entry for (a file changed in place is not seen here: it is extracted either way).
    let files = crate::ingest::collect_files(&opts.inputs)?;
    let to_extract: u64 = {
        let cached = old_cache.paths();
        files
            .0
            .iter()
            .filter(|(root, path)| {
                !cached.contains(crate::ingest::relative_path(root, path).as_str())
            })
            .map(|(_, path)| fs::metadata(path).map_or(0, |m| m.len()))
            .sum()
    };
    let ex = Extractor::with_scan(&ontology, crate::extract::Scan::for_bytes(to_extract))?;
    timings.lap("ontology");
    let clock = WorkerClock::default();
    // The new cache's pack is written on a thread of its own, in corpus order, as the batches
    // are extracted (it is mostly waiting on the disk).
    let fingerprint = ontology.fingerprint.clone();
    let mut bytes = 0;
    let (kg, staged_out) = std::thread::scope(|scope| -> Result<_> {
        let (to_pack, entries) = std::sync::mpsc::channel();
        let packing =
            scope.spawn(move || new_cache.finish(version, &fingerprint, started_ns, entries));
        let corpus = extract_files(
            files,
            &ex,
            Some(&old_cache),
            &clock,
            timings.detail,
            Some(to_pack),
        )?;
        timings.lap_parallel(&clock);
        bytes = corpus.stats.bytes_read;
        report.extracted = corpus.extracted;
        report.reused = corpus.reused;
        report.unread = corpus.unread;
        report.cache_unused = old_cache.unused_because.clone();
        let kg = crate::resolve::resolve(corpus.extractions, &ex, corpus.stats);
        timings.lap("resolve");
        // Both directories are written beside the old ones and swapped in only at the very
        // end, together (see [`crate::atomic`]), so a build killed at any moment leaves the
        // previous graph and exports. The RDF files are written with the others (in
        // parallel): the build needs no in-memory store, and the store is `graph.nq` itself,
        // loaded in bulk by the commands that query it.
        let staged_out = Staged::new(&opts.out)?;
        let (exported, saved) = rayon::join(
            || crate::export::write_build(&kg, staged_out.path()),
            || save_graph(&kg, staged_store.path()),
        );
        exported?;
        saved?;
        timings.lap("exports");
        packing
            .join()
            .map_err(|_| Error::Other("writing the extraction cache failed (panic)".into()))??;
        Ok((kg, staged_out))
    })?;
    let exported_nq = staged_out.path().join("graph.nq");
    let nq = staged_store.path().join("store.nq");
    // The same bytes: a hard link where the file system allows one, else a copy.
    if fs::hard_link(&exported_nq, &nq).is_err() {
        fs::copy(&exported_nq, &nq).map_err(|e| Error::io(&exported_nq, e))?;
    }
    let trash = atomic::commit(vec![staged_store, staged_out])?;
    match &opts.remove_replaced_with {
        Some((program, args)) => trash.remove_in_background(program, args),
        None => trash.remove(),
    }
    drop(lock);
    timings.lap("store");

    report.documents = kg.documents.len();
    report.entities = kg.entities.len();
    report.assertions = kg.assertions.len();
    report.prices = kg.prices.len();
    report.clinical = kg.clinical.len();
    report.conflicts = kg.conflicts.len();
    report.skipped = kg.stats.files_skipped.clone();
    // Freeing the graph's millions of strings took 0.22 s on the 50 MB bench corpus, after
    // the build was done: it is left to a thread of its own, which the command line does not
    // wait for (the process ends and the memory goes with it).
    std::thread::spawn(move || drop(kg));
    report.seconds = started.elapsed().as_secs_f64();
    timings.print(bytes, report.seconds);
    Ok(report)
}

/// The store's copy of the graph, read back by [`load_graph`] (`show`, `path`, `check`,
/// `export`…): internal to the store, so a compact binary form (postcard) that is written and
/// read several times faster than JSON and about 60 % of its size.
pub const GRAPH_FILE: &str = "graph.postcard";

/// What [`GRAPH_FILE`] starts with: postcard does not describe its data, so a file written by
/// another version of cellkg (whose model may differ) is told apart and not misread.
fn graph_header() -> String {
    format!("cellkg graph {}\n", env!("CARGO_PKG_VERSION"))
}

/// Saves the graph ([`GRAPH_FILE`]) into a store directory.
pub fn save_graph(kg: &KnowledgeGraph, dir: &Path) -> Result<()> {
    let path = dir.join(GRAPH_FILE);
    let mut w = crate::outfile::OutFile::create(&path).map_err(|e| Error::io(&path, e))?;
    w.write_all(graph_header().as_bytes())
        .map_err(|e| Error::io(&path, e))?;
    let w = postcard::to_io(kg, w).map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    w.finish().map_err(|e| Error::io(&path, e))
}

/// Loads the graph saved by the last build (see [`atomic::live_dir`]).
pub fn load_graph(store_dir: &Path) -> Result<KnowledgeGraph> {
    let live = atomic::live_dir(store_dir);
    let path = live.join(GRAPH_FILE);
    let bytes = fs::read(&path).map_err(|e| {
        if e.kind() != std::io::ErrorKind::NotFound {
            Error::io(&path, e)
        } else if live.join("graph.json").exists() {
            Error::NotFound(format!(
                "{}: no graph in this store's format (it was built by an older cellkg); rebuild \
                 with `cellkg build`",
                path.display()
            ))
        } else {
            Error::NotFound(format!(
                "{}: no graph yet; run `cellkg build` first",
                path.display()
            ))
        }
    })?;
    let corrupt = |why: &str| {
        Error::Other(format!(
            "{}: corrupt graph file: {why}; rebuild with `cellkg build`",
            path.display()
        ))
    };
    let header = graph_header();
    let body = bytes
        .strip_prefix(header.as_bytes())
        .ok_or_else(|| corrupt(&format!("it does not start with `{}`", header.trim_end())))?;
    match postcard::take_from_bytes::<KnowledgeGraph>(body) {
        Ok((kg, [])) => Ok(kg),
        Ok((_, rest)) => Err(corrupt(&format!("{} bytes after the graph", rest.len()))),
        Err(e) => Err(corrupt(&e.to_string())),
    }
}

/// Loads the store saved by the last build (see [`atomic::live_dir`]).
pub fn load_store(store_dir: &Path) -> Result<oxigraph::store::Store> {
    let path = atomic::live_dir(store_dir).join("store.nq");
    if !path.exists() {
        return Err(Error::NotFound(format!(
            "{}: no store yet; run `cellkg build` first",
            path.display()
        )));
    }
    crate::rdf::load_nquads(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_graph_reads_back_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut kg = KnowledgeGraph::default();
        kg.stats.files_read = 3;
        kg.stats
            .files_skipped
            .push(("a.pdf".into(), "not text".into()));
        kg.prices.push(crate::model::Price {
            subject: "product/p".into(),
            amount: Some(rust_decimal::Decimal::new(12345, 2)),
            amount_min: None,
            amount_max: None,
            currency: "CNY".into(),
            unit: String::new(),
            qualifier: String::new(),
            evidence: crate::model::Evidence {
                document: "d".into(),
                start: 1,
                end: 2,
                quote: "q".into(),
                rule: "r".into(),
                confidence: 0.1 + 0.2,
                year: Some(2023),
            },
        });
        save_graph(&kg, dir.path()).unwrap();
        assert_eq!(load_graph(dir.path()).unwrap(), kg);
        let path = dir.path().join(GRAPH_FILE);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = load_graph(dir.path()).unwrap_err().to_string();
        assert!(err.contains("corrupt graph file"), "{err}");
        fs::write(&path, b"{}").unwrap();
        let err = load_graph(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not start with"), "{err}");
        fs::remove_file(&path).unwrap();
        let err = load_graph(dir.path()).unwrap_err().to_string();
        assert!(err.contains("run `cellkg build` first"), "{err}");
        fs::write(dir.path().join("graph.json"), b"{}").unwrap();
        let err = load_graph(dir.path()).unwrap_err().to_string();
        assert!(err.contains("older cellkg"), "{err}");
    }
}
