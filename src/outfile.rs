//! Large output files written past the page cache.
//!
//! A build writes hundreds of MB of exports (2.3 GB from a 200 MB corpus), read back later, if
//! at all, by another program. Written through the page cache, every byte is first copied into
//! a page the kernel has to find, zero and later write back; on the 2-core bench VM that copy
//! ran at 0.5–0.8 GB/s for pages new to the VM and was the largest kernel cost of the 200 MB
//! build. [`OutFile`] writes whole aligned blocks with `O_DIRECT` instead (the disk reads them
//! from the writer's own buffer, 2–2.4 GB/s there), and the last partial block, which `O_DIRECT`
//! cannot write, through the page cache. Where the file system refuses `O_DIRECT` (tmpfs, some
//! network file systems) or the platform has none, the same blocks are written plainly.
//!
//! The bytes of a file are the same either way; only the route differs.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Alignment of direct writes: file offsets, lengths and buffer addresses (the logical block
/// size of common disks is 512 B or 4 KB).
const ALIGN: usize = 4096;
/// Bytes gathered before one write (a multiple of [`ALIGN`]); 1 MB writes reached the disk's
/// direct-write speed on the bench VM, where 256 KB ones were a quarter slower.
const CHUNK: usize = 1 << 20;

/// An aligned buffer of [`CHUNK`] bytes.
struct Chunk {
    /// Backing memory; the buffer proper starts at `start`, aligned.
    memory: Vec<u8>,
    start: usize,
}

impl Chunk {
    fn new() -> Chunk {
        let memory = vec![0u8; CHUNK + ALIGN];
        let start = memory.as_ptr().align_offset(ALIGN);
        Chunk { memory, start }
    }

    fn bytes(&self) -> &[u8] {
        &self.memory[self.start..self.start + CHUNK]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.memory[self.start..self.start + CHUNK]
    }
}

/// What the writer thread of a file is asked to do.
enum Job {
    /// Write the chunk's first bytes (all of it), then hand it back.
    Write(Chunk, usize),
    /// Write the chunk's first bytes, the end of the file, and sync the file.
    Finish(Chunk, usize),
}

/// A file being written: buffered, in [`CHUNK`]s, directly to the disk where possible. Call
/// [`OutFile::finish`] at the end: it writes the last bytes and syncs the file.
///
/// The writes are made by a thread of the file's own, one chunk at a time, while the next
/// chunk is filled: a direct write waits for the disk, and the caller does not.
pub struct OutFile {
    /// The chunk being filled.
    chunk: Chunk,
    /// Bytes in it.
    len: usize,
    /// Jobs for the writer thread (`None` once finished).
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    /// Chunks written and handed back, or the error that stopped the writer.
    spare: std::sync::mpsc::Receiver<io::Result<Chunk>>,
    writer: Option<std::thread::JoinHandle<io::Result<()>>>,
    direct: bool,
}

impl OutFile {
    /// Creates (or truncates) the file at `path`. `CELLKG_NO_DIRECT_IO` set in the
    /// environment writes it through the page cache.
    pub fn create(path: &Path) -> io::Result<OutFile> {
        OutFile::create_with(path, std::env::var_os("CELLKG_NO_DIRECT_IO").is_none())
    }

    /// [`OutFile::create`], trying `O_DIRECT` only if `direct`.
    fn create_with(path: &Path, direct: bool) -> io::Result<OutFile> {
        let (file, direct) = match direct.then(|| open_direct(path)).flatten() {
            Some(file) => (file, true),
            None => (File::create(path)?, false),
        };
        let (jobs, todo) = std::sync::mpsc::sync_channel::<Job>(1);
        let (give_back, spare) = std::sync::mpsc::channel();
        // The second chunk, filled while the first is written.
        give_back
            .send(Ok(Chunk::new()))
            .map_err(|_| io::Error::other("the writer's channel closed"))?;
        let mut sink = Sink {
            path: path.to_path_buf(),
            file,
            written: 0,
            direct,
        };
        let writer = std::thread::Builder::new()
            .name("cellkg-write".into())
            .spawn(move || -> io::Result<()> {
                for job in todo {
                    match job {
                        Job::Write(chunk, n) => {
                            if let Err(e) = sink.write(&chunk.bytes()[..n]) {
                                // The error to the next write, and to `finish`.
                                let _ =
                                    give_back.send(Err(io::Error::new(e.kind(), e.to_string())));
                                return Err(e);
                            }
                            if give_back.send(Ok(chunk)).is_err() {
                                return Ok(());
                            }
                        }
                        Job::Finish(chunk, n) => return sink.finish(&chunk.bytes()[..n]),
                    }
                }
                // The file was dropped unfinished: nothing more to write.
                Ok(())
            })?;
        Ok(OutFile {
            chunk: Chunk::new(),
            len: 0,
            jobs: Some(jobs),
            spare,
            writer: Some(writer),
            direct,
        })
    }

    /// Whether the file is being written with `O_DIRECT` (at its opening).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Hands the full chunk to the writer and takes the spare one.
    fn spill(&mut self) -> io::Result<()> {
        let jobs = self.jobs.as_ref().ok_or_else(finished)?;
        let next = match self.spare.recv() {
            Ok(next) => next?,
            Err(_) => return Err(self.writer_error()),
        };
        let full = std::mem::replace(&mut self.chunk, next);
        if jobs.send(Job::Write(full, self.len)).is_err() {
            return Err(self.writer_error());
        }
        self.len = 0;
        Ok(())
    }

    /// The error the writer thread stopped with.
    fn writer_error(&mut self) -> io::Error {
        self.jobs = None;
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the writer thread panicked"),
            _ => io::Error::other("the writer thread stopped"),
        }
    }

    /// Writes what is left, syncs the file to disk and waits for both.
    pub fn finish(mut self) -> io::Result<()> {
        let jobs = self.jobs.take().ok_or_else(finished)?;
        let chunk = std::mem::replace(
            &mut self.chunk,
            Chunk {
                memory: Vec::new(),
                start: 0,
            },
        );
        let sent = jobs.send(Job::Finish(chunk, self.len));
        drop(jobs);
        let joined = self.writer.take().map(std::thread::JoinHandle::join);
        match joined {
            Some(Ok(result)) => {
                // A write that failed before Finish was sent left its error in `spare` too.
                result?;
                sent.map_err(|_| io::Error::other("the writer thread stopped"))
            }
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Err(finished()),
        }
    }
}

/// An unfinished file is left as its writer thread leaves it, but only once that thread is
/// done: a file written again at the same path right after must not get a late chunk.
impl Drop for OutFile {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn finished() -> io::Error {
    io::Error::other("the file was already finished")
}

impl Write for OutFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.len == CHUNK {
            self.spill()?;
        }
        let n = data.len().min(CHUNK - self.len);
        self.chunk.bytes_mut()[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Hands a full chunk to the writer; the bytes of a partial chunk wait for more, or for
    /// [`OutFile::finish`] (a direct write cannot end mid-block).
    fn flush(&mut self) -> io::Result<()> {
        if self.len == CHUNK {
            self.spill()?;
        }
        Ok(())
    }
}

/// The file as the writer thread holds it.
struct Sink {
    path: PathBuf,
    file: File,
    /// Bytes written so far (a multiple of [`ALIGN`] while `direct`).
    written: u64,
    /// Whether `file` was opened with `O_DIRECT`.
    direct: bool,
}

impl Sink {
    /// Writes `bytes` (a multiple of [`ALIGN`] while direct).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {}
            // The file system took the flag at opening but refuses the write: the rest of the
            // file is written plainly, from where the refused write was to begin.
            Err(e) if self.direct && e.raw_os_error() == Some(EINVAL) => {
                self.file = reopen_plain(&self.path, self.written)?;
                self.direct = false;
                self.file.write_all(bytes)?;
            }
            Err(e) => return Err(e),
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the last bytes (the aligned part directly, the partial block plainly) and syncs.
    fn finish(mut self, bytes: &[u8]) -> io::Result<()> {
        let aligned = if self.direct {
            bytes.len() / ALIGN * ALIGN
        } else {
            bytes.len()
        };
        if aligned > 0 {
            self.write(&bytes[..aligned])?;
        }
        if aligned < bytes.len() {
            if self.direct {
                self.file = reopen_plain(&self.path, self.written)?;
                self.direct = false;
            }
            self.write(&bytes[aligned..])?;
        }
        self.file.sync_all()
    }
}

/// `EINVAL`, the error of a direct write the file system does not support.
const EINVAL: i32 = 22;

/// The file at `path`, created or truncated, opened for direct writes; `None` where that is
/// not possible (the caller then opens it plainly).
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

/// The file at `path` opened again, plainly, positioned at `offset`.
fn reopen_plain(path: &Path, offset: u64) -> io::Result<File> {
    use std::io::{Seek, SeekFrom};
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of every length around the block and chunk sizes, written in pieces of several
    /// sizes, directly and plainly, read back as written.
    #[test]
    fn written_files_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 3 * ALIGN)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        for len in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK + ALIGN + 17,
            data.len(),
        ] {
            for (piece, direct) in [
                (1usize, true),
                (1000, true),
                (ALIGN, true),
                (CHUNK + 5, true),
                (1000, false),
                (CHUNK + 5, false),
            ] {
                let path = dir.path().join(format!("f-{len}-{piece}-{direct}"));
                let mut f = OutFile::create_with(&path, direct).unwrap();
                assert!(!f.is_direct() || direct);
                for part in data[..len].chunks(piece.max(1)) {
                    f.write_all(part).unwrap();
                    if part.len() % 3 == 0 {
                        f.flush().unwrap();
                    }
                }
                f.finish().unwrap();
                let back = std::fs::read(&path).unwrap();
                assert_eq!(back.len(), len, "length of {}", path.display());
                assert!(back == data[..len], "bytes of {}", path.display());
            }
        }
    }

    /// A file dropped unfinished is done with when the drop returns: a file created again at
    /// its path gets none of its bytes.
    #[test]
    fn a_dropped_file_writes_nothing_after_the_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for _ in 0..20 {
            let mut f = OutFile::create(&path).unwrap();
            f.write_all(&vec![b'a'; 3 * CHUNK]).unwrap();
            drop(f);
            let mut f = OutFile::create(&path).unwrap();
            f.write_all(b"new").unwrap();
            f.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"new");
        }
    }

    /// A file written again is truncated to its new length.
    #[test]
    fn a_file_written_again_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = OutFile::create(&path).unwrap();
        f.write_all(&vec![b'a'; CHUNK + 10]).unwrap();
        f.finish().unwrap();
        let mut f = OutFile::create(&path).unwrap();
        f.write_all(b"short").unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
