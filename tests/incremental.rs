//! Incremental builds and thread counts: whatever the cache and the number of threads, a build
//! writes the same bytes as a full build from scratch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cellkg::pipeline::{self, BuildOptions, BuildReport};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A corpus of the seed articles plus `copies` copies of each, every copy with a unique line.
fn corpus(dir: &Path, copies: usize) {
    fs::create_dir_all(dir).unwrap();
    let seeds = Path::new(ROOT).join("seeds");
    let mut names: Vec<_> = fs::read_dir(&seeds)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    for name in &names {
        let text = fs::read_to_string(seeds.join(name)).unwrap();
        fs::write(dir.join(name), &text).unwrap();
        for c in 0..copies {
            fs::write(
                dir.join(format!("copy{c}_{name}")),
                format!("{text}\n\n(copy {c} of {name})\n"),
            )
            .unwrap();
        }
    }
}

fn opts(corpus: &Path, ontology: &Path, work: &Path, threads: Option<usize>) -> BuildOptions {
    BuildOptions {
        inputs: vec![corpus.to_path_buf()],
        ontology: ontology.to_path_buf(),
        out: work.join("exports"),
        store: work.join("store"),
        strict: false,
        threads,
        incremental: true,
        remove_replaced_with: None,
    }
}

fn build(corpus: &Path, work: &Path) -> BuildReport {
    pipeline::build(&opts(corpus, &ontology(), work, None)).unwrap()
}

/// A temporary directory (removed when dropped) and in it the paths of a corpus, the work
/// directory of incremental builds and that of a full build to compare with.
fn work_dirs() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let dirs = (p.join("docs"), p.join("inc"), p.join("full"));
    (tmp, dirs.0, dirs.1, dirs.2)
}

fn ontology() -> PathBuf {
    Path::new(ROOT).join("ontology")
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Asserts that two export directories hold the same files with the same bytes.
fn assert_same_exports(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "export file lists differ"
    );
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn manifest(work: &Path) -> serde_json::Value {
    let path = work.join("store/cache/manifest.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The (offset, length) in the cache pack of each entry of the manifest, in pack order.
fn pack_ranges(work: &Path) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = manifest(work)["entries"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| (e["offset"].as_u64().unwrap(), e["len"].as_u64().unwrap()))
        .collect();
    ranges.sort();
    ranges
}

#[test]
fn adding_one_article_extracts_only_that_article() {
    let (_tmp, docs, inc, full) = work_dirs();
    corpus(&docs, 2);
    let first = build(&docs, &inc);
    assert_eq!((first.extracted, first.reused), (15, 0));
    let extra = fs::read_to_string(Path::new(ROOT).join("seeds/000_623db6f989ca1197.txt")).unwrap();
    fs::write(
        docs.join("zz_new.txt"),
        format!("{extra}\n(a new article)\n"),
    )
    .unwrap();
    let second = build(&docs, &inc);
    assert_eq!((second.extracted, second.reused), (1, 15));
    assert_eq!(second.documents, 16);
    let fresh = build(&docs, &full);
    assert_eq!((fresh.extracted, fresh.reused), (16, 0));
    assert_same_exports(&inc.join("exports"), &full.join("exports"));
    assert_eq!(
        fs::read(inc.join("store/store.nq")).unwrap(),
        fs::read(full.join("store/store.nq")).unwrap()
    );
    assert_eq!(
        fs::read(inc.join("store").join(cellkg::pipeline::GRAPH_FILE)).unwrap(),
        fs::read(full.join("store").join(cellkg::pipeline::GRAPH_FILE)).unwrap()
    );
    // The cache too: reused entries are carried over in corpus order.
    for name in ["entries.pack", "manifest.json"] {
        assert_eq!(
            fs::read(inc.join("store/cache").join(name)).unwrap(),
            fs::read(full.join("store/cache").join(name)).unwrap(),
            "{name}"
        );
    }
    // Nothing changed: nothing extracted, same bytes again.
    let third = build(&docs, &inc);
    assert_eq!((third.extracted, third.reused), (0, 16));
    assert_same_exports(&inc.join("exports"), &full.join("exports"));
}

#[test]
fn removed_and_edited_articles() {
    let (_tmp, docs, inc, full) = work_dirs();
    corpus(&docs, 1);
    build(&docs, &inc);
    assert_eq!(manifest(&inc)["entries"].as_object().unwrap().len(), 10);
    fs::remove_file(docs.join("copy0_001_a648619e848b95cb.txt")).unwrap();
    let name = docs.join("copy0_002_8a6ad540edda0fe5.txt");
    let text = fs::read_to_string(&name).unwrap();
    fs::write(&name, text.replace("CAR-T", "CAR-NK")).unwrap();
    let second = build(&docs, &inc);
    assert_eq!((second.extracted, second.reused), (1, 8));
    assert_eq!(manifest(&inc)["entries"].as_object().unwrap().len(), 9);
    // Nothing stale: the pack holds exactly the 9 entries, back to back.
    let mut end = 0;
    for (offset, len) in pack_ranges(&inc) {
        assert_eq!(offset, end, "a gap in the pack");
        end += len;
    }
    let pack = fs::metadata(inc.join("store/cache/entries.pack"))
        .unwrap()
        .len();
    assert_eq!(pack, end);
    // The pack, the manifest and the record of the files: no file per entry.
    assert_eq!(fs::read_dir(inc.join("store/cache")).unwrap().count(), 3);
    build(&docs, &full);
    assert_same_exports(&inc.join("exports"), &full.join("exports"));
}

#[test]
fn changed_ontology_or_version_extracts_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let (docs, work, onto) = (
        tmp.path().join("docs"),
        tmp.path().join("work"),
        tmp.path().join("ontology"),
    );
    corpus(&docs, 0);
    copy_dir(&ontology(), &onto);
    let run = |o: &Path| pipeline::build(&opts(&docs, o, &work, None)).unwrap();
    assert_eq!(run(&onto).extracted, 5);
    assert_eq!(run(&onto).reused, 5);
    let schema = onto.join("schema.ttl");
    let mut text = fs::read_to_string(&schema).unwrap();
    text.push_str("\n# an edit: the fingerprint changes\n");
    fs::write(&schema, text).unwrap();
    let after = run(&onto);
    assert_eq!((after.extracted, after.reused), (5, 0));
    assert!(after.cache_unused.unwrap().contains("ontology changed"));
    assert_eq!(run(&onto).reused, 5);
    // A cache written by another cellkg version is not trusted.
    let path = work.join("store/cache/manifest.json");
    let mut m = manifest(&work);
    m["cellkg"] = "0.0.0-other".into();
    fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let after = run(&onto);
    assert_eq!((after.extracted, after.reused), (5, 0));
    // --full extracts everything and still writes the cache.
    let mut full = opts(&docs, &onto, &work, None);
    full.incremental = false;
    let r = pipeline::build(&full).unwrap();
    assert_eq!((r.extracted, r.reused), (5, 0));
    assert_eq!(run(&onto).reused, 5);
}

#[test]
fn corrupt_cache_entries_are_extracted_again() {
    let (_tmp, docs, inc, full) = work_dirs();
    corpus(&docs, 0);
    build(&docs, &inc);
    let cache = inc.join("store/cache");
    let entries = pack_ranges(&inc);
    let mut pack = fs::read(cache.join("entries.pack")).unwrap();
    // One entry with a byte flipped, one with a plausible but altered payload (same length),
    // one cut off by a truncated pack.
    let (o, l) = (entries[0].0 as usize, entries[0].1 as usize);
    pack[o + l / 2] ^= 0x20;
    let (o, l) = (entries[1].0 as usize, entries[1].1 as usize);
    let mut ext: cellkg::extract::Extraction = postcard::from_bytes(&pack[o..o + l]).unwrap();
    let m = ext.mentions.iter_mut().find(|m| m.start < 100).unwrap();
    m.start ^= 1;
    let altered = postcard::to_allocvec(&ext).unwrap();
    assert_eq!(altered.len(), l);
    assert_ne!(&pack[o..o + l], &altered[..]);
    pack[o..o + l].copy_from_slice(&altered);
    let last = *entries.last().unwrap();
    pack.truncate((last.0 + last.1 / 2) as usize);
    fs::write(cache.join("entries.pack"), &pack).unwrap();
    let r = build(&docs, &inc);
    assert_eq!((r.extracted, r.reused), (3, 2));
    build(&docs, &full);
    assert_same_exports(&inc.join("exports"), &full.join("exports"));
    // The rebuilt cache is whole again.
    assert_eq!(build(&docs, &inc).reused, 5);
    // A corrupt manifest: everything is extracted, nothing fails.
    fs::write(cache.join("manifest.json"), "{ not json").unwrap();
    let r = build(&docs, &inc);
    assert_eq!((r.extracted, r.reused), (5, 0));
    assert!(r.cache_unused.unwrap().contains("corrupt manifest"));
}

#[test]
fn a_failed_build_leaves_the_previous_store_and_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (docs, work) = (tmp.path().join("docs"), tmp.path().join("work"));
    corpus(&docs, 1);
    build(&docs, &work);
    let before = files(&work.join("store"));
    // Add articles, and a file that cannot be read: the build fails after extracting some.
    fs::write(docs.join("aa_new.txt"), "CAR-T 细胞疗法 新文章\n").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("missing"), docs.join("zz_broken.txt")).unwrap();
    let err = pipeline::build(&opts(&docs, &ontology(), &work, None));
    assert!(err.is_err());
    assert_eq!(files(&work.join("store")), before, "the store changed");
    let leftovers: Vec<_> = fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    fs::remove_file(docs.join("zz_broken.txt")).unwrap();
    let r = build(&docs, &work);
    assert_eq!((r.extracted, r.reused), (1, 10));
}

#[test]
fn one_or_two_threads_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    corpus(&docs, 3);
    let mut dirs = Vec::new();
    for threads in [1, 2, 3] {
        let work = tmp.path().join(format!("t{threads}"));
        let mut o = opts(&docs, &ontology(), &work, Some(threads));
        o.incremental = false;
        let r = pipeline::build(&o).unwrap();
        assert_eq!(r.documents, 20);
        dirs.push(work);
    }
    // The record of the files' status and the build's start time is of this machine and
    // this moment (see `cellkg::cache::FILES`); everything else in the store is the same.
    let store = |w: &Path| {
        let mut f = files(&w.join("store"));
        assert!(
            f.remove("cache/files.json").is_some(),
            "no record of the files"
        );
        f
    };
    for w in &dirs[1..] {
        assert_same_exports(&dirs[0].join("exports"), &w.join("exports"));
        assert_eq!(
            store(&dirs[0]),
            store(w),
            "store of {} differs",
            w.display()
        );
    }
}

/// Sets the modification time of every file of `dir` to `ago` before now.
fn age_files(dir: &Path, ago: std::time::Duration) {
    let when = std::time::SystemTime::now() - ago;
    for e in fs::read_dir(dir).unwrap().flatten() {
        fs::File::options()
            .write(true)
            .open(e.path())
            .unwrap()
            .set_modified(when)
            .unwrap()
    }
}

#[test]
fn files_whose_status_is_unchanged_are_not_read_again() {
    let (_tmp, docs, inc, full) = work_dirs();
    corpus(&docs, 1);
    let hour = std::time::Duration::from_secs(3600);
    age_files(&docs, hour);
    let first = build(&docs, &inc);
    assert_eq!((first.extracted, first.unread), (10, 0));
    // Nothing changed: no file is read.
    let second = build(&docs, &inc);
    assert_eq!(
        (second.extracted, second.reused, second.unread),
        (0, 10, 10)
    );

    // An edit of the same length with the old modification time put back is seen (its change
    // time moved): that file is read and extracted again.
    let edited = docs.join("copy0_002_8a6ad540edda0fe5.txt");
    let text = fs::read_to_string(&edited).unwrap();
    let same_length = text.replacen("CAR-T", "CAR-K", 1);
    assert_eq!(same_length.len(), text.len());
    assert_ne!(same_length, text);
    let old_time = fs::metadata(&edited).unwrap().modified().unwrap();
    fs::write(&edited, &same_length).unwrap();
    fs::File::options()
        .write(true)
        .open(&edited)
        .unwrap()
        .set_modified(old_time)
        .unwrap();
    let third = build(&docs, &inc);
    assert_eq!((third.extracted, third.reused, third.unread), (1, 9, 9));
    build(&docs, &full);
    assert_same_exports(&inc.join("exports"), &full.join("exports"));

    // A file modified just now may change again within the same clock tick after it is read:
    // it is read (and, being the same bytes, taken from the cache) until it is older.
    let touched = docs.join("copy0_001_a648619e848b95cb.txt");
    fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let fourth = build(&docs, &inc);
    assert_eq!((fourth.extracted, fourth.reused, fourth.unread), (0, 10, 9));
    let fifth = build(&docs, &inc);
    assert_eq!((fifth.extracted, fifth.unread), (0, 9), "still too recent");

    // Without the record (deleted, or corrupt), every file is read; nothing fails.
    let record = inc.join("store/cache").join(cellkg::cache::FILES);
    fs::write(&record, "{ not json").unwrap();
    let sixth = build(&docs, &inc);
    assert_eq!((sixth.extracted, sixth.reused, sixth.unread), (0, 10, 0));
    assert_same_exports(&inc.join("exports"), &full.join("exports"));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}
