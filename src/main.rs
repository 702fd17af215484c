//! The `cellkg` binary: parse the command line, run it, print the error chain once.

use clap::Parser;

fn main() {
    let cli = cellkg::cli::Cli::parse();
    if let Err(e) = cellkg::cli::run(cli) {
        eprintln!("cellkg: {e}");
        std::process::exit(match e {
            cellkg::error::Error::NotFound(_) => 2,
            cellkg::error::Error::Query(_) => 3,
            _ => 1,
        });
    }
}
