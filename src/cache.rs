//! The extraction cache that makes rebuilds incremental.
//!
//! In: the `cache/` directory of the previous build's store, the cellkg version and the ontology
//! fingerprint. Out: the previous [`Extraction`] of a document whose inputs have not changed,
//! and a new `cache/` directory written beside the new store.
//!
//! One entry per document, keyed by the SHA-256 of its [`DocumentInfo`] (which holds the SHA-256
//! of the file bytes, the document id, path, encoding and title: everything `extract` is given
//! besides the text, which the bytes determine), stored in postcard's compact binary encoding
//! (a third of the size of JSON, and several times faster to read back), one after the other in
//! corpus order, in one file `cache/entries.pack` (one file, not one per document: creating and
//! deleting thousands of small files each build cost more than writing the bytes).
//! `cache/manifest.json` names the cellkg version, the ontology fingerprint and, per entry, its
//! byte range in the pack and the SHA-256 of those bytes. A build trusts an entry only when the
//! version and the fingerprint match and its bytes hash to the manifest's checksum; anything else
//! is extracted again, so a
//! changed ontology or a new cellkg re-extracts everything and a corrupt entry costs one
//! extraction, never a wrong graph. The cache lives inside the store directory, which a build
//! replaces as a whole only when it succeeds (see `pipeline`): a failed build leaves the
//! previous cache as it was. Documents no longer in the corpus drop out of the new cache.
//! It does not decide what to extract or merge: see `pipeline`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::extract::Extraction;
use crate::model::DocumentInfo;

/// Name of the cache directory inside the store directory.
pub const DIR: &str = "cache";
/// Name of the manifest inside the cache directory.
pub const MANIFEST: &str = "manifest.json";
/// Name of the file of entries inside the cache directory.
pub const PACK: &str = "entries.pack";
/// Version of the cache layout; a different one is ignored.
const FORMAT: u32 = 3;

/// The manifest of a cache directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `CARGO_PKG_VERSION` of the cellkg that wrote the cache.
    pub cellkg: String,
    /// [`crate::ontology::Ontology::fingerprint`] of the ontology the entries were extracted with.
    pub ontology: String,
    /// Entry key → entry.
    pub entries: BTreeMap<String, Entry>,
}

/// One cached extraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Document path relative to its corpus root (for people reading the manifest).
    pub path: String,
    /// Hex SHA-256 of the entry's bytes.
    pub checksum: String,
    /// Where the entry's bytes start in the pack.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// The entry key of a document: hex SHA-256 of its [`DocumentInfo`].
pub fn key(info: &DocumentInfo) -> String {
    let mut h = Sha256::new();
    h.update(FORMAT.to_le_bytes());
    for part in [
        info.id.as_str(),
        info.path.as_str(),
        info.encoding.as_str(),
        info.sha256.as_str(),
        info.title.as_str(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update((info.chars as u64).to_le_bytes());
    h.update((info.replaced as u64).to_le_bytes());
    format!("{:x}", h.finalize())
}

/// The cache of the previous build, read-only.
#[derive(Debug, Default)]
pub struct Cache {
    /// The pack, shared by the workers that read it.
    pack: Option<Mutex<File>>,
    manifest: Manifest,
    /// Why the previous cache is not used, if it is not.
    pub unused_because: Option<String>,
}

impl Cache {
    /// An empty cache: every document is extracted.
    pub fn empty(reason: &str) -> Cache {
        Cache {
            unused_because: Some(reason.to_string()),
            ..Cache::default()
        }
    }

    /// Opens the cache directory `dir` written for this `version` and ontology `fingerprint`.
    /// A missing, unreadable or stale manifest gives an empty cache (with the reason).
    pub fn open(dir: &Path, version: &str, fingerprint: &str) -> Cache {
        let path = dir.join(MANIFEST);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Cache::empty("no cache from a previous build")
            }
            Err(e) => return Cache::empty(&format!("{}: {e}", path.display())),
        };
        let manifest: Manifest = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => return Cache::empty(&format!("{}: corrupt manifest: {e}", path.display())),
        };
        if manifest.format != FORMAT {
            return Cache::empty("the cache was written in another layout");
        }
        if manifest.cellkg != version {
            return Cache::empty(&format!(
                "the cache was written by cellkg {}, this is {version}",
                manifest.cellkg
            ));
        }
        if manifest.ontology != fingerprint {
            return Cache::empty("the ontology changed since the cache was written");
        }
        let pack = match File::open(dir.join(PACK)) {
            Ok(f) => f,
            Err(e) => return Cache::empty(&format!("{}: {e}", dir.join(PACK).display())),
        };
        Cache {
            pack: Some(Mutex::new(pack)),
            manifest,
            unused_because: None,
        }
    }

    /// Number of entries listed in the manifest.
    pub fn len(&self) -> usize {
        self.manifest.entries.len()
    }

    /// Whether the manifest lists no entry.
    pub fn is_empty(&self) -> bool {
        self.manifest.entries.is_empty()
    }

    /// The document paths the entries were extracted from (relative to their corpus roots).
    pub fn paths(&self) -> std::collections::BTreeSet<&str> {
        self.manifest
            .entries
            .values()
            .map(|e| e.path.as_str())
            .collect()
    }

    /// The cached extraction under `key` with its bytes, if present, intact and about `info`.
    pub fn get(&self, key: &str, info: &DocumentInfo) -> Option<(Extraction, Vec<u8>)> {
        let entry = self.manifest.entries.get(key)?;
        let mut bytes = vec![0; usize::try_from(entry.len).ok()?];
        {
            let mut pack = self.pack.as_ref()?.lock().ok()?;
            pack.seek(SeekFrom::Start(entry.offset)).ok()?;
            pack.read_exact(&mut bytes).ok()?;
        }
        if format!("{:x}", Sha256::digest(&bytes)) != entry.checksum {
            return None;
        }
        let ext: Extraction = postcard::from_bytes(&bytes).ok()?;
        if ext.doc.as_ref() != Some(info) {
            return None;
        }
        Some((ext, bytes))
    }
}

/// A new cache directory being written (inside the store directory being built).
#[derive(Debug)]
pub struct CacheWriter {
    dir: PathBuf,
}

/// An entry for the new cache: its key, the document's path and the serialized extraction.
pub type NewEntry = (String, String, Vec<u8>);

impl CacheWriter {
    /// Creates the directory `dir` (empty).
    pub fn create(dir: &Path) -> Result<CacheWriter> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(CacheWriter {
            dir: dir.to_path_buf(),
        })
    }

    /// The new entry for `ext` (its document must be set).
    pub fn entry(ext: &Extraction) -> Result<NewEntry> {
        let info = ext
            .doc
            .as_ref()
            .ok_or_else(|| Error::Other("caching an extraction without a document".into()))?;
        thread_local! {
            /// The serialization buffer of this thread: it grows once, and each entry is then
            /// copied out at its size (a vector grown from nothing was copied at every
            /// doubling, into fresh memory each time).
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let bytes = BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            postcard::to_io(ext, &mut *buffer)?;
            Ok::<_, postcard::Error>(buffer.to_vec())
        });
        let bytes = bytes.map_err(|e| {
            Error::Other(format!("serializing the cache entry of {}: {e}", info.path))
        })?;
        Ok((key(info), info.path.clone(), bytes))
    }

    /// Writes the pack of `entries`, in their order and as they come (the build sends them
    /// through a channel while it extracts), and the manifest listing them.
    pub fn finish(
        self,
        version: &str,
        fingerprint: &str,
        entries: impl IntoIterator<Item = NewEntry>,
    ) -> Result<()> {
        let pack_path = self.dir.join(PACK);
        let mut pack =
            crate::outfile::OutFile::create(&pack_path).map_err(|e| Error::io(&pack_path, e))?;
        let mut listed = BTreeMap::new();
        let mut offset = 0u64;
        for (key, path, bytes) in entries {
            if listed.contains_key(&key) {
                continue;
            }
            pack.write_all(&bytes)
                .map_err(|e| Error::io(&pack_path, e))?;
            let len = bytes.len() as u64;
            listed.insert(
                key,
                Entry {
                    path,
                    checksum: format!("{:x}", Sha256::digest(&bytes)),
                    offset,
                    len,
                },
            );
            offset += len;
        }
        pack.finish().map_err(|e| Error::io(&pack_path, e))?;
        let manifest = Manifest {
            format: FORMAT,
            cellkg: version.to_string(),
            ontology: fingerprint.to_string(),
            entries: listed,
        };
        let path = self.dir.join(MANIFEST);
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }
}
