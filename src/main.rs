//! The `cellkg` binary: parse the command line, run it, print the error chain once.

use clap::Parser;

/// mimalloc: extraction and resolution allocate millions of small strings; on the 50 MB bench
/// corpus the build takes 20 % less time than with the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cellkg::cli::Cli::parse();
    if matches!(cli.command, cellkg::cli::Command::Build { .. }) {
        keep_freed_memory();
    }
    if let Err(e) = cellkg::cli::run(cli) {
        eprintln!("cellkg: {e}");
        std::process::exit(match e {
            cellkg::error::Error::NotFound(_) => 2,
            cellkg::error::Error::Query(_) => 3,
            _ => 1,
        });
    }
}

/// mimalloc gives memory freed for a second (its purge delay) back to the OS. A build frees the
/// memory of its extraction and then fills as much again with the exports, and every page
/// given back costs a page fault and the kernel's zeroing when it comes back: on the 50 MB bench
/// corpus that was up to a sixth of the exports' profile. A build keeps what it frees instead
/// (peak memory +176 MB on 50 MB, +0.9 GB on 200 MB; the process ends soon after); `serve`
/// keeps the default, and a build run with `MIMALLOC_PURGE_DELAY` set to another value keeps
/// that value.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};
    // `mi_option_purge_delay` in the `mi_option_t` enum of mimalloc.h (v3), which the Rust
    // bindings do not name. Its default is 1000 ms: any other value means the enum moved, and
    // then nothing is set.
    const MI_OPTION_PURGE_DELAY: mi_option_t = 15;
    // SAFETY: reads and sets an integer option of the allocator, which it reads again on each
    // decision to purge; no memory is touched.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}
