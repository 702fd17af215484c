//! Times the exports stage of a build on the graph a build saved: loads it from a store, then
//! writes what `cellkg build` writes after resolving (the exports and the store's graph file).
//!
//! usage: cargo run --release --example exports_bench -- STORE OUT [PART]
//! PART: all (default), rdf (the sorted N-Triples only), build (exports without the store's
//! graph file), graph (the store's graph file only). Prints `exports part=P seconds=S`.

use std::path::PathBuf;
use std::time::Instant;

/// The allocator of the `cellkg` binary, so that the times are the build's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: exports_bench STORE OUT [all|rdf|build|graph]";
    let store = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let part = args.next().unwrap_or_else(|| "all".into());
    let kg = cellkg::pipeline::load_graph(&store)?;
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    match part.as_str() {
        "rdf" => {
            let lines = cellkg::rdf::sorted_ntriples(&kg)?;
            eprintln!("{} lines", lines.len());
        }
        "build" => cellkg::export::write_build(&kg, &out)?,
        "graph" => cellkg::pipeline::save_graph(&kg, &out)?,
        _ => {
            let (a, b) = rayon::join(
                || cellkg::export::write_build(&kg, &out),
                || cellkg::pipeline::save_graph(&kg, &out),
            );
            a?;
            b?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("exports part={part} seconds={seconds:.3}");
    Ok(())
}
