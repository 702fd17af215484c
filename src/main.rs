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
        no_transparent_huge_pages();
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

/// mimalloc asks the kernel for transparent huge pages, and every first touch of one then
/// zeroes 2 MB, however little of it the allocator goes on to use. A build allocates hundreds of
/// MB of small objects, and on the bench VM, where fresh memory is costly, it was faster with
/// 4 KB pages. Measured on the 50 MB bench corpus, three runs each, alternately: peak memory fell
/// from 640-652 MB to 556-573 MB, kernel time from 0.9-1.6 s to 0.5 s, and the whole build from
/// 5.2-5.8 s to 4.9-5.1 s; at 200 MB, kernel time fell from 4.0-4.8 s to 2.5-2.6 s. The setting
/// is the process's own (prctl), and a build only.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn no_transparent_huge_pages() {
    // Not a failure of the build if the kernel refuses: the pages are then only larger.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn no_transparent_huge_pages() {}

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
