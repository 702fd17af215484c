//! Typed errors with a location: the file, and the line and column or character offset where
//! there is one. The binary prints the chain once and exits non-zero.

use std::path::PathBuf;

/// A library error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax or content error at a place in a file.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    /// An invalid configuration (ontology, rules) without a precise position.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// A SPARQL query that does not parse or fails to evaluate.
    #[error("{0}")]
    Query(String),
    /// A name given on the command line that matches nothing.
    #[error("{0}")]
    NotFound(String),
    /// Anything else, with its message.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
