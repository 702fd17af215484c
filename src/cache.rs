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
//!
//! `cache/files.json` remembers, for each entry, the file it was read from and that file's
//! status then (size, modification and change times, inode, device), and when the build that
//! read it started. A file whose status is unchanged is not read again: its entry is taken by
//! that record (its bytes still checked against the manifest). As in git's index, a file
//! modified less than [`RACY_NS`] before that build started may have been written again within
//! the same clock tick after it was read, so it is always read. The record is about this
//! machine's files and times, so it is a file apart from the manifest, which stays the same
//! for the same corpus. It does not decide what to extract or merge: see `pipeline`.

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
/// Name of the record of the files the entries were read from, inside the cache directory.
pub const FILES: &str = "files.json";
/// Version of the cache layout; a different one is ignored.
const FORMAT: u32 = 3;
/// A file modified this close before (or after) the start of the build that read it is read
/// again by the next build, whatever its status says: 2 s, the coarsest time stamps of common
/// file systems (FAT), and a margin for a file server's clock.
pub const RACY_NS: i64 = 2_000_000_000;

/// What a file's status says about its content: changed if any of it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub len: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
    /// Status change time (an edit that puts the modification time back still changes it).
    pub changed_ns: i64,
    pub inode: u64,
    pub device: u64,
}

impl FileStat {
    /// The status of a file from its metadata (`None` where the platform does not give the
    /// change time and inode: such files are always read).
    #[cfg(unix)]
    pub fn of(meta: &fs::Metadata) -> Option<FileStat> {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s.checked_mul(1_000_000_000)?.checked_add(n);
        Some(FileStat {
            len: meta.len(),
            modified_ns: ns(meta.mtime(), meta.mtime_nsec())?,
            changed_ns: ns(meta.ctime(), meta.ctime_nsec())?,
            inode: meta.ino(),
            device: meta.dev(),
        })
    }

    #[cfg(not(unix))]
    pub fn of(_: &fs::Metadata) -> Option<FileStat> {
        None
    }
}

/// The time now in nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// [`FILES`]: where each entry was read from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Files {
    /// When the build that read them started ([`now_ns`]).
    started_ns: i64,
    /// The file as the build named it (its corpus root joined with its path) → the entry key
    /// and the file's status when it was read.
    files: BTreeMap<String, (String, FileStat)>,
}

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
    /// Where the entries were read from ([`FILES`]; empty if missing or unreadable).
    files: Files,
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
        // Without a readable record every file is read: nothing worse.
        let files = fs::read(dir.join(FILES))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Cache {
            pack: Some(Mutex::new(pack)),
            manifest,
            files,
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
        let (ext, bytes) = self.read_entry(key)?;
        if ext.doc.as_ref() != Some(info) {
            return None;
        }
        Some((ext, bytes))
    }

    /// The cached extraction of the file `source` (as the build names it) at `path` in its
    /// corpus, with its key and bytes, if the file's status is what it was when the previous
    /// build read it and that was not too close to its start ([`RACY_NS`]): the file need not
    /// be read.
    pub fn get_unchanged(
        &self,
        source: &str,
        path: &str,
        stat: &FileStat,
    ) -> Option<(Extraction, Vec<u8>, String)> {
        let (key, was) = self.files.files.get(source)?;
        if was != stat || was.modified_ns.saturating_add(RACY_NS) > self.files.started_ns {
            return None;
        }
        let (ext, bytes) = self.read_entry(key)?;
        if ext.doc.as_ref().map(|d| d.path.as_str()) != Some(path) {
            return None;
        }
        Some((ext, bytes, key.clone()))
    }

    /// The entry under `key`, if present and intact.
    fn read_entry(&self, key: &str) -> Option<(Extraction, Vec<u8>)> {
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
        Some((ext, bytes))
    }
}

/// A new cache directory being written (inside the store directory being built).
#[derive(Debug)]
pub struct CacheWriter {
    dir: PathBuf,
}

/// An entry for the new cache.
#[derive(Debug)]
pub struct NewEntry {
    pub key: String,
    /// The document's path in its corpus.
    pub path: String,
    /// The serialized extraction.
    pub bytes: Vec<u8>,
    /// The file it was read from, as the build named it, and its status when read (see
    /// [`FILES`]).
    pub source: Option<(String, FileStat)>,
}

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
        Ok(NewEntry {
            key: key(info),
            path: info.path.clone(),
            bytes,
            source: None,
        })
    }

    /// Writes the pack of `entries`, in their order and as they come (the build sends them
    /// through a channel while it extracts), the manifest listing them, and the record of the
    /// files they were read from by the build that started at `started_ns`.
    pub fn finish(
        self,
        version: &str,
        fingerprint: &str,
        started_ns: i64,
        entries: impl IntoIterator<Item = NewEntry>,
    ) -> Result<()> {
        let pack_path = self.dir.join(PACK);
        let mut pack =
            crate::outfile::OutFile::create(&pack_path).map_err(|e| Error::io(&pack_path, e))?;
        let mut listed = BTreeMap::new();
        let mut files = Files {
            started_ns,
            files: BTreeMap::new(),
        };
        let mut offset = 0u64;
        for NewEntry {
            key,
            path,
            bytes,
            source,
        } in entries
        {
            if let Some((source, stat)) = source {
                files.files.insert(source, (key.clone(), stat));
            }
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
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        let path = self.dir.join(FILES);
        let bytes = serde_json::to_vec(&files)
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }
}
