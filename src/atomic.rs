//! Replacing whole directories: the build lock, directories staged beside the ones they
//! replace, the swap, and the cleanup of what killed builds left behind.
//!
//! A build writes the new version of a directory `D` as `.D.tmp-PID` beside it and, once every
//! directory of the build is written, swaps them in ([`commit`]). On Linux the swap is one
//! `renameat2(RENAME_EXCHANGE)`, so `D` is never missing, not even for an instant; elsewhere, or
//! on a file system without it, it is two renames, `D` → `.D.old-PID` then `.D.tmp-PID` → `D`.
//! The old version is then renamed `.D.trash-PID-N` (a name no build stages under) and deleted
//! ([`Trash`]): at once, or by a process of its own that the build does not wait for (the
//! command line's choice: on a file system mounted with `discard`, freeing a gigabyte of old
//! store and exports took 0.9 s). So a `.D.old-PID` is always a complete previous version (it
//! exists only between the two renames), and a `.D.tmp-PID` or a `.D.trash-*` is always garbage.
//!
//! All of this happens under a [`BuildLock`]: an OS advisory lock (`flock`) on a file `.D.lock`
//! beside each directory. The kernel releases it when the process ends, however it ends, so a
//! lock is never stale. Every build stages and swaps only while it holds the lock of the
//! directory, so whoever holds it knows that any `.D.tmp-*` or `.D.old-*` was left by a build
//! that is gone, whatever its PID (PIDs are reused, and a container or another host sharing the
//! directory has PIDs of its own): [`BuildLock::acquire`] puts a `.D.old-*` back when `D` is
//! missing (a build killed between its two renames) and removes the rest.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The parent directory (created if missing, canonical) and the file name of `dir`.
fn split(dir: &Path) -> Result<(PathBuf, String)> {
    // Not `.`, `..` or `/`: the current directory is not one to replace.
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| {
            Error::Other(format!(
                "{}: give the directory by its name (e.g. exports), not `.`, `..` or `/`",
                dir.display()
            ))
        })?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Other(format!(
            "{}: exists and is not a directory",
            parent.display()
        )),
        _ => Error::io(parent, e),
    })?;
    let parent = parent.canonicalize().map_err(|e| Error::io(parent, e))?;
    Ok((parent, name))
}

/// The path of a directory as the build replaces it: its canonical parent and its name. Two
/// paths that resolve to the same one name the same directory.
pub fn resolve(dir: &Path) -> Result<PathBuf> {
    let (parent, name) = split(dir)?;
    Ok(parent.join(name))
}

/// Where a reader finds the last complete version of `dir`: `dir` itself, or, when it is missing
/// because a build was killed between its two renames, the previous version it moved aside
/// (until the next build puts it back).
pub fn live_dir(dir: &Path) -> PathBuf {
    if fs::symlink_metadata(dir).is_ok() {
        return dir.to_path_buf();
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return dir.to_path_buf();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    leftovers(parent, &name.to_string_lossy())
        .old
        .last()
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| dir.to_path_buf())
}

/// What builds left beside a directory.
#[derive(Default)]
struct Leftovers {
    /// `.NAME.old-PID`: complete previous versions, oldest first.
    old: Vec<(std::time::SystemTime, PathBuf)>,
    /// `.NAME.tmp-PID` and `.NAME.trash-*`: garbage.
    tmp: Vec<PathBuf>,
}

/// Whether `path` is named as a replaced version to delete (`.NAME.trash-*`).
fn is_trash(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n.starts_with('.') && n.contains(".trash-"))
}

fn leftovers(parent: &Path, name: &str) -> Leftovers {
    let mut found = Leftovers::default();
    let Ok(entries) = fs::read_dir(parent) else {
        return found;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = |kind: &str| {
            rest.strip_prefix(kind)
                .is_some_and(|pid| pid.parse::<u32>().is_ok())
        };
        if pid("old-") {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            found.old.push((modified, entry.path()));
        } else if pid("tmp-") || rest.starts_with("trash-") {
            found.tmp.push(entry.path());
        }
    }
    found.old.sort();
    found
}

/// Puts back the previous version of `parent/name` if a build was killed between its two
/// renames, and removes everything else builds left beside it. Only with the lock held.
/// Returns what it did or could not do, as warnings.
fn recover(parent: &Path, name: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let dir = parent.join(name);
    let mut found = leftovers(parent, name);
    if fs::symlink_metadata(&dir).is_err() {
        if let Some((_, old)) = found.old.pop() {
            match fs::rename(&old, &dir) {
                Ok(()) => notes.push(format!(
                    "{}: put back from {} (a build was killed while replacing it)",
                    dir.display(),
                    old.display()
                )),
                Err(e) => notes.push(format!("{}: could not put it back: {e}", old.display())),
            }
        }
    }
    for path in found.old.into_iter().map(|(_, p)| p).chain(found.tmp) {
        if let Err(e) = remove(&path) {
            notes.push(format!(
                "{}: could not remove what a killed build left: {e}",
                path.display()
            ));
        }
    }
    notes
}

/// Removes a file or a directory tree. A trash directory may be being removed by the process
/// a previous build left it to ([`Trash::remove_in_background`]) at the same time: what that one
/// removed first is not an error, so it is tried again until `path` is gone.
fn remove(path: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        let removed = match fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => Err(e),
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
        };
        match removed {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if tries < 3 && is_trash(path) => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The replaced versions of the directories a [`commit`] swapped, renamed `.NAME.trash-PID-N`.
/// Dropped, they are removed at once.
#[derive(Debug, Default)]
pub struct Trash {
    paths: Vec<PathBuf>,
}

impl Trash {
    /// The replaced versions, still to remove.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Removes them now (what cannot be removed, the next build removes), as dropping does.
    pub fn remove(self) {
        drop(self);
    }

    /// Leaves their removal to `program args… PATHS…` (cellkg's own hidden subcommand), a
    /// process of its own group that this one does not wait for: the build is done once the new
    /// versions are in place. Should it fail to start they are removed now; should it die, the
    /// next build removes what is left.
    pub fn remove_in_background<I>(mut self, program: &Path, args: I)
    where
        I: IntoIterator,
        I::Item: AsRef<std::ffi::OsStr>,
    {
        if self.paths.is_empty() {
            return;
        }
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .args(&self.paths)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Not in the terminal's process group: a Ctrl-C meant for the next command does not
            // reach it.
            command.process_group(0);
        }
        if command.spawn().is_ok() {
            self.paths.clear();
        }
    }
}

impl Drop for Trash {
    fn drop(&mut self) {
        for path in self.paths.drain(..) {
            let _ = remove(&path);
        }
    }
}

/// Removes the replaced versions `paths` that a build left (the hidden `remove-trash`
/// subcommand): only paths named `.NAME.trash-*`, so that a mistyped command line cannot delete
/// anything else.
pub fn remove_trash(paths: &[PathBuf]) -> Result<()> {
    if let Some(p) = paths.iter().find(|p| !is_trash(p)) {
        return Err(Error::Other(format!(
            "{}: not a replaced version left by a build (.NAME.trash-*); not removed",
            p.display()
        )));
    }
    for path in paths {
        remove(path).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// Exclusive right to replace some directories, for one build. Dropping it releases it.
#[derive(Debug)]
pub struct BuildLock {
    /// Each lock file with its open handle, in the order they were taken.
    held: Vec<(PathBuf, File)>,
    /// What the cleanup of leftovers did (a directory put back) or could not do.
    pub notes: Vec<String>,
}

impl BuildLock {
    /// Takes the lock of every directory of `dirs` (a file `.NAME.lock` beside each, taken in
    /// the order of their paths), or fails at once with `another build is running` and the
    /// holder's PID. Then cleans up what killed builds left beside them (see [`recover`]).
    pub fn acquire(dirs: &[&Path]) -> Result<BuildLock> {
        let mut targets = BTreeMap::new();
        for dir in dirs {
            let (parent, name) = split(dir)?;
            if let Ok(meta) = fs::metadata(parent.join(&name)) {
                if !meta.is_dir() {
                    return Err(Error::Other(format!(
                        "{}: exists and is not a directory",
                        dir.display()
                    )));
                }
            }
            targets.insert(parent.join(format!(".{name}.lock")), (parent, name));
        }
        let mut lock = BuildLock {
            held: Vec::new(),
            notes: Vec::new(),
        };
        for (path, (_, name)) in &targets {
            let file = lock_file(path, name)?;
            lock.held.push((path.clone(), file));
        }
        for (parent, name) in targets.values() {
            lock.notes.extend(recover(parent, name));
        }
        Ok(lock)
    }
}

/// Opens and locks `path` (the lock of directory `name`), and writes our PID into it.
fn lock_file(path: &Path, name: &str) -> Result<File> {
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .map(|pid| format!("process {pid}"))
                    .unwrap_or_else(|| "another process".into());
                return Err(Error::Other(format!(
                    "another build is running: {holder} is replacing {name} (lock {}); wait for it to end",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        // The previous holder removes the file as it lets go: if it did so between our open and
        // our lock, we hold a file nobody else can open. Try again with the one at `path` now.
        if !same_file(&file, path) {
            continue;
        }
        file.set_len(0).map_err(|e| Error::io(path, e))?;
        writeln!(file, "{}", std::process::id()).map_err(|e| Error::io(path, e))?;
        return Ok(file);
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        // Remove each file while still holding its lock, then let go (closing unlocks).
        while let Some((path, file)) = self.held.pop() {
            let _ = fs::remove_file(&path);
            drop(file);
        }
    }
}

/// How a staged directory was swapped in, to undo it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Swap {
    /// Not (yet) swapped in.
    No,
    /// There was no directory: the staged one was renamed into place.
    Fresh,
    /// Exchanged in one step: the staged path holds the old directory.
    Exchanged,
    /// Two renames: the old directory is at `old`.
    Renamed,
}

/// A directory being written beside the one it will replace, `.NAME.tmp-PID`. [`commit`] swaps
/// it in, keeping the files of the old directory that the build does not write (e.g. `views/`);
/// dropped, it is removed (and with it, after a commit, the old directory).
pub struct Staged {
    dir: PathBuf,
    tmp: PathBuf,
    old: PathBuf,
    swap: Swap,
    /// Whether to try the one-step exchange (off: the two-rename method, for tests).
    exchange: bool,
}

impl Staged {
    /// Stages a new version of `dir` (whose lock the caller holds).
    pub fn new(dir: &Path) -> Result<Staged> {
        let (parent, name) = split(dir)?;
        let pid = std::process::id();
        let tmp = parent.join(format!(".{name}.tmp-{pid}"));
        if fs::symlink_metadata(&tmp).is_ok() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Staged {
            dir: parent.join(&name),
            tmp,
            old: parent.join(format!(".{name}.old-{pid}")),
            swap: Swap::No,
            exchange: true,
        })
    }

    /// Where to write the new version.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Copies into the new version the files of the old one that it does not have.
    fn keep_old_files(&self) -> Result<()> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let target = self.tmp.join(entry.file_name());
            if fs::symlink_metadata(&target).is_err() {
                copy_recursively(&entry.path(), &target)?;
            }
        }
        Ok(())
    }

    fn swap_in(&mut self) -> Result<()> {
        let (dir, tmp, old) = (&self.dir, &self.tmp, &self.old);
        if fs::symlink_metadata(dir).is_err() {
            fs::rename(tmp, dir).map_err(|e| Error::io(dir, e))?;
            self.swap = Swap::Fresh;
        } else if self.exchange && exchange(tmp, dir).map_err(|e| Error::io(dir, e))? {
            self.swap = Swap::Exchanged;
        } else {
            fs::rename(dir, old).map_err(|e| Error::io(dir, e))?;
            if let Err(e) = fs::rename(tmp, dir) {
                let _ = fs::rename(old, dir);
                return Err(Error::io(dir, e));
            }
            // `.old-PID` means "a complete previous version" to the next build: once the new one
            // is in place, the old one is garbage, to delete under the `.tmp-PID` name.
            let _ = fs::rename(old, tmp);
            self.swap = Swap::Renamed;
        }
        Ok(())
    }

    /// Undoes [`Staged::swap_in`] (best effort: the next build recovers from the rest).
    fn swap_back(&mut self) {
        let (dir, tmp, old) = (&self.dir, &self.tmp, &self.old);
        let _ = match self.swap {
            Swap::No => Ok(()),
            Swap::Fresh => fs::rename(dir, tmp),
            Swap::Exchanged => exchange(tmp, dir).map(|_| ()),
            Swap::Renamed => fs::rename(tmp, old)
                .and_then(|()| fs::rename(dir, tmp))
                .and_then(|()| fs::rename(old, dir)),
        };
        self.swap = Swap::No;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Before the swap: the unfinished new version; after it: the old one.
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// Swaps the staged directories in, all or none: if one cannot be swapped in, those already
/// swapped are swapped back. Returns the old versions, to delete ([`Trash`]).
pub fn commit(mut staged: Vec<Staged>) -> Result<Trash> {
    for s in &staged {
        s.keep_old_files()?;
    }
    for i in 0..staged.len() {
        if let Err(e) = staged[i].swap_in() {
            for s in staged[..i].iter_mut().rev() {
                s.swap_back();
            }
            return Err(e);
        }
    }
    let mut trash = Trash::default();
    for (n, s) in staged.iter().enumerate() {
        if matches!(s.swap, Swap::Exchanged | Swap::Renamed) {
            let (parent, name) = (s.dir.parent(), s.dir.file_name());
            if let (Some(parent), Some(name)) = (parent, name) {
                let path = parent.join(format!(
                    ".{}.trash-{}-{}-{n}",
                    name.to_string_lossy(),
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos())
                ));
                // If it cannot be renamed, dropping `s` removes it under its staged name.
                if fs::rename(&s.tmp, &path).is_ok() {
                    trash.paths.push(path);
                }
            }
        }
    }
    Ok(trash)
}

/// Exchanges two paths in one step, `renameat2(RENAME_EXCHANGE)`. `Ok(false)` when the kernel or
/// the file system cannot (EINVAL, ENOSYS, EOPNOTSUPP): the caller renames twice instead.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

fn copy_recursively(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
        for entry in fs::read_dir(from)
            .map_err(|e| Error::io(from, e))?
            .flatten()
        {
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        fs::copy(from, to).map_err(|e| Error::io(from, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    fn write(dir: &Path, file: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(file), text).unwrap();
    }

    fn read(dir: &Path, file: &str) -> Option<String> {
        fs::read_to_string(dir.join(file)).ok()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_swaps_in_all_or_none_with_either_method() {
        for exchange in [true, false] {
            let t = tempfile::tempdir().unwrap();
            let (a, b) = (t.path().join("a"), t.path().join("b"));
            write(&a, "f", "old a");
            write(&a, "kept", "only in old a");
            write(&b, "f", "old b");

            // Both in: new contents, plus the files only the old versions had.
            let lock = BuildLock::acquire(&[&a, &b]).unwrap();
            let mut sa = Staged::new(&a).unwrap();
            let mut sb = Staged::new(&b).unwrap();
            (sa.exchange, sb.exchange) = (exchange, exchange);
            write(sa.path(), "f", "new a");
            write(sb.path(), "f", "new b");
            commit(vec![sa, sb]).unwrap();
            drop(lock);
            assert_eq!(read(&a, "f").as_deref(), Some("new a"), "{exchange}");
            assert_eq!(read(&a, "kept").as_deref(), Some("only in old a"));
            assert_eq!(read(&b, "f").as_deref(), Some("new b"));
            assert_eq!(names(t.path()), ["a", "b"], "exchange: {exchange}");

            // The second cannot be swapped in: the first is swapped back.
            let lock = BuildLock::acquire(&[&a, &b]).unwrap();
            let mut sa = Staged::new(&a).unwrap();
            let mut sb = Staged::new(&b).unwrap();
            (sa.exchange, sb.exchange) = (exchange, exchange);
            write(sa.path(), "f", "newer a");
            fs::remove_dir_all(sb.path()).unwrap();
            assert!(commit(vec![sa, sb]).is_err());
            drop(lock);
            assert_eq!(read(&a, "f").as_deref(), Some("new a"), "{exchange}");
            assert_eq!(read(&b, "f").as_deref(), Some("new b"));
            assert_eq!(names(t.path()), ["a", "b"], "exchange: {exchange}");

            // A directory that did not exist is removed again.
            let c = t.path().join("c");
            let lock = BuildLock::acquire(&[&c, &b]).unwrap();
            let sc = Staged::new(&c).unwrap();
            let sb = Staged::new(&b).unwrap();
            write(sc.path(), "f", "new c");
            fs::remove_dir_all(sb.path()).unwrap();
            assert!(commit(vec![sc, sb]).is_err());
            drop(lock);
            assert_eq!(names(t.path()), ["a", "b"], "exchange: {exchange}");
        }
    }

    #[test]
    fn the_replaced_versions_are_trash_until_removed_and_only_trash_is_removed() {
        for exchange in [true, false] {
            let t = tempfile::tempdir().unwrap();
            let (a, b) = (t.path().join("a"), t.path().join("b"));
            write(&a, "f", "old a");
            let lock = BuildLock::acquire(&[&a, &b]).unwrap();
            let mut sa = Staged::new(&a).unwrap();
            let sb = Staged::new(&b).unwrap();
            sa.exchange = exchange;
            write(sa.path(), "f", "new a");
            write(sb.path(), "f", "new b");
            let trash = commit(vec![sa, sb]).unwrap();
            drop(lock);
            // `b` had no previous version: only the old `a` is left to remove, complete.
            assert_eq!(trash.paths().len(), 1, "{exchange}");
            let old = trash.paths()[0].clone();
            assert!(is_trash(&old), "{}", old.display());
            assert_eq!(read(&old, "f").as_deref(), Some("old a"));
            assert_eq!(read(&a, "f").as_deref(), Some("new a"));
            // The hidden subcommand refuses what is not trash, and removes what is.
            assert!(remove_trash(&[a.clone(), old.clone()]).is_err());
            assert_eq!(read(&a, "f").as_deref(), Some("new a"));
            assert_eq!(read(&old, "f").as_deref(), Some("old a"));
            remove_trash(std::slice::from_ref(&old)).unwrap();
            assert_eq!(names(t.path()), ["a", "b"], "{exchange}");
            // Removing it again (a build and the background removal racing) is no error.
            remove_trash(&[old]).unwrap();
            drop(trash);
        }
    }

    #[test]
    fn trash_is_removed_when_dropped_and_by_the_next_build() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        write(&a, "f", "old");
        let lock = BuildLock::acquire(&[&a]).unwrap();
        let s = Staged::new(&a).unwrap();
        write(s.path(), "f", "new");
        drop(commit(vec![s]).unwrap());
        drop(lock);
        assert_eq!(names(t.path()), ["a"]);
        // Trash whose removal never ran (its process killed) goes with the next build.
        write(&t.path().join(".a.trash-12-34-0"), "f", "old");
        write(
            &t.path().join(".b.trash-12-34-1"),
            "f",
            "another directory's",
        );
        let lock = BuildLock::acquire(&[&a]).unwrap();
        assert!(lock.notes.is_empty(), "{:?}", lock.notes);
        drop(lock);
        assert_eq!(names(t.path()), [".b.trash-12-34-1", "a"]);
    }

    #[test]
    fn a_killed_swap_is_put_back_and_leftovers_are_removed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        write(&t.path().join(".d.old-123"), "f", "previous");
        write(&t.path().join(".d.tmp-123"), "f", "half new");
        write(&t.path().join(".d.tmp-77"), "f", "half deleted");
        write(&t.path().join(".d.old-x"), "f", "not ours");
        write(&t.path().join(".e.tmp-5"), "f", "another directory's");
        assert_eq!(read(&live_dir(&d), "f").as_deref(), Some("previous"));
        let lock = BuildLock::acquire(&[&d]).unwrap();
        assert_eq!(lock.notes.len(), 1, "{:?}", lock.notes);
        assert_eq!(read(&d, "f").as_deref(), Some("previous"));
        assert_eq!(names(t.path()), [".d.lock", ".d.old-x", ".e.tmp-5", "d"]);
        drop(lock);
        assert_eq!(names(t.path()), [".d.old-x", ".e.tmp-5", "d"]);
        assert_eq!(live_dir(&d), d);
    }

    #[test]
    fn the_lock_names_its_holder_and_a_dead_holder_does_not_block() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        // A lock file left by a dead build (nobody holds the OS lock).
        fs::write(t.path().join(".d.lock"), "999999\n").unwrap();
        let lock = BuildLock::acquire(&[&d]).unwrap();
        let pid = std::process::id();
        assert_eq!(read(t.path(), ".d.lock"), Some(format!("{pid}\n")));
        // Each acquisition opens the file anew: a second one is refused, even in this process.
        let err = BuildLock::acquire(&[&t.path().join("c"), &d])
            .unwrap_err()
            .to_string();
        assert!(err.contains("another build is running"), "{err}");
        assert!(err.contains(&format!("process {pid}")), "{err}");
        assert!(err.lines().count() == 1, "{err}");
        // The refused one let go of the lock it had taken first (`.c.lock`).
        assert_eq!(names(t.path()), [".d.lock"]);
        drop(lock);
        assert_eq!(names(t.path()), Vec::<String>::new());
        drop(BuildLock::acquire(&[&d]).unwrap());
    }

    #[test]
    fn one_holder_at_a_time_among_racing_builds() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        fs::write(t.path().join(".d.lock"), "999999\n").unwrap();
        let (holders, max, won) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        for _round in 0..20 {
            let barrier = Arc::new(Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let (d, barrier) = (d.clone(), barrier.clone());
                    let (holders, max, won) = (holders.clone(), max.clone(), won.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        if let Ok(lock) = BuildLock::acquire(&[&d]) {
                            won.fetch_add(1, Ordering::SeqCst);
                            let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                            max.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(2));
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(lock);
                        }
                    })
                })
                .collect();
            for th in threads {
                th.join().unwrap();
            }
        }
        assert_eq!(max.load(Ordering::SeqCst), 1, "two holders at once");
        assert!(won.load(Ordering::SeqCst) >= 20);
    }
}
