//! Times extraction alone, on one thread, over documents already read into memory: the part of
//! the text stages that is CPU work, without the disk, the other stages or a second worker
//! sharing the caches. Steadier than a whole build for comparing two versions of the extractor.
//!
//! usage: cargo run --release --example extract_bench -- CORPUS [ONTOLOGY] [RUNS] [THREADS]
//! Prints per run `extract seconds=S MB/s=R mentions=M assertions=A` and the fastest run last.
//! With THREADS > 1 the batches are shared out by rayon, as in a build. With `KEEP` set in the
//! environment the extractions are kept until the end, as a build keeps them for resolution
//! (each run then fills new memory instead of reusing the last batch's).

use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// The allocator of the `cellkg` binary, so that the times are the build's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Documents per batch, as the build takes them.
const BATCH: usize = 32;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: extract_bench CORPUS [ONTOLOGY] [RUNS] [THREADS]";
    let corpus = PathBuf::from(args.next().ok_or(usage)?);
    let ontology = PathBuf::from(args.next().unwrap_or_else(|| "ontology".into()));
    let runs: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let threads: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let ontology = cellkg::ontology::Ontology::load(&ontology)?;
    let (files, _) = cellkg::ingest::collect_files(&[corpus])?;
    let mut docs = Vec::with_capacity(files.len());
    for (root, path) in &files {
        if let Ok(doc) = cellkg::ingest::read_document(root, path)? {
            docs.push(doc);
        }
    }
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    // The scan's automaton a build of these documents would take (see `Scan::for_bytes`).
    let scan = cellkg::extract::Scan::for_bytes(bytes as u64);
    let ex = cellkg::extract::Extractor::with_scan(&ontology, scan)?;
    println!("scan {scan:?}");
    let keep = std::env::var_os("KEEP").is_some();
    let mut kept = Vec::new();
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let started = Instant::now();
        let results: Vec<_> = docs
            .par_chunks(BATCH)
            .map(|batch| {
                let out = ex.extract_batch(
                    batch
                        .iter()
                        .map(|d| (d.info.clone(), d.text.as_str()))
                        .collect(),
                );
                let counts = out.iter().fold((0, 0), |(m, a), e| {
                    (m + e.mentions.len(), a + e.assertions.len())
                });
                (counts, if keep { out } else { Vec::new() })
            })
            .collect();
        let counts: Vec<(usize, usize)> = results.iter().map(|r| r.0).collect();
        let seconds = started.elapsed().as_secs_f64();
        if keep {
            kept.push(results);
        }
        let mentions: usize = counts.iter().map(|c| c.0).sum();
        let assertions: usize = counts.iter().map(|c| c.1).sum();
        best = best.min(seconds);
        println!(
            "extract seconds={seconds:.3} MB/s={:.1} mentions={mentions} assertions={assertions}",
            bytes as f64 / 1e6 / seconds
        );
    }
    println!(
        "best seconds={best:.3} MB/s={:.1}",
        bytes as f64 / 1e6 / best
    );
    Ok(())
}
