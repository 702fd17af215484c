//! Anchor for the benchmarks: oxigraph's own bulk load of an N-Quads file into a new in-memory
//! store, the limit for cellkg's RDF stage.
//!
//! usage: cargo run --release --example bulk_load -- FILE.nq
//! Prints `bulk_load quads=N seconds=S` to stdout.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use oxigraph::io::RdfFormat;
use oxigraph::store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: bulk_load FILE.nq")?;
    let started = Instant::now();
    let store = Store::new()?;
    let mut loader = store.bulk_loader();
    loader.load_from_reader(RdfFormat::NQuads, BufReader::new(File::open(&path)?))?;
    loader.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    println!("bulk_load quads={} seconds={seconds:.3}", store.len()?);
    Ok(())
}
