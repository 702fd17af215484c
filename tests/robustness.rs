//! Robustness (issue 7): messy input, broken configuration, interrupted and concurrent builds,
//! bad command lines, fuzzing of ingest + extraction, and exports that stay valid whatever the
//! labels hold. Every test runs the real binary (or the library) in a fresh temporary directory.
//!
//! The fuzzing is proptest on stable Rust (cargo-fuzz needs a nightly toolchain): a bounded
//! number of cases per run (`CELLKG_FUZZ_CASES`, default 200), and the kept corpus of nasty
//! inputs in `tests/fixtures/fuzz/` replayed every time.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cellkg::extract::{Extraction, Extractor};
use cellkg::model::DocumentInfo;
use cellkg::ontology::Ontology;
use proptest::prelude::*;

mod common;
use common::{assert_ok, bin, cellkg, copy_dir, path_str as s, read_csv, root, snapshot, stderr};

/// A failure: non-zero exit, no panic, one line on stderr.
fn assert_fails_cleanly(o: &Output, what: &str) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "{what} succeeded: {err}");
    assert!(!err.contains("panicked"), "{what} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: not one line: {err:?}"
    );
    assert!(err.starts_with("cellkg: "), "{what}: {err:?}");
    err
}

/// `cellkg build INPUTS --out DIR/exports --ontology ONTO [EXTRA…]`, store in `DIR/store`.
fn build(dir: &Path, inputs: &[&Path], ontology: &Path, extra: &[&str]) -> Output {
    let out = dir.join("exports");
    let mut args = vec!["build"];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--out", s(&out), "--ontology", s(ontology)]);
    args.extend(extra);
    cellkg(dir, &dir.join("store"), &args)
}

/// Names of the files that differ between two snapshots.
fn differences(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let names: BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| n.display().to_string())
        .collect()
}

/// A failed build left `dir`'s exports and store as the snapshots taken before it.
fn assert_kept(
    dir: &Path,
    exports: &BTreeMap<PathBuf, Vec<u8>>,
    store: &BTreeMap<PathBuf, Vec<u8>>,
) {
    assert!(
        differences(exports, &snapshot(&dir.join("exports"))).is_empty(),
        "a failed build changed exports/"
    );
    assert!(
        differences(store, &snapshot(&dir.join("store"))).is_empty(),
        "a failed build changed the store"
    );
}

fn seed_names() -> Vec<String> {
    names_ending(&root().join("seeds"), ".txt")
}

/// The names in `dir` ending with `suffix`, sorted.
fn names_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

fn seed_text(name: &str) -> String {
    fs::read_to_string(root().join("seeds").join(name)).unwrap()
}

/// The characters `start..end` of `text`.
fn slice(text: &[char], start: usize, end: usize) -> Option<String> {
    (start <= end && end <= text.len()).then(|| text[start..end].iter().collect())
}

/// Whether a tool can be run; when it cannot, prints why the check is skipped, or fails under
/// `CELLKG_INTEROP=1`.
fn tool(program: &str, args: &[&str], what: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CELLKG_INTEROP").as_deref() != Ok("1"),
            "{program} is needed for {what} (CELLKG_INTEROP=1)"
        );
        eprintln!("skipping {what}: {program} is not available");
    }
    ok
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = (if bom { "\u{FEFF}" } else { "" })
        .encode_utf16()
        .chain(text.encode_utf16());
    for u in units {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

// ------------------------------------------------------------------------------ encodings

/// Every seed re-encoded (GB18030, UTF-16 LE/BE with a BOM, UTF-16LE without, UTF-8 with a
/// BOM; Big5 for the lines of the traditional seed that Big5 can hold) gives the same mentions,
/// at the same offsets, as the UTF-8 original.
#[test]
fn reencoded_seeds_give_the_same_entities_at_the_same_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    // (document id, id of the UTF-8 original, its text)
    let mut copies: Vec<(String, String, String)> = Vec::new();
    for name in seed_names() {
        let stem = name.trim_end_matches(".txt").to_string();
        let text = seed_text(&name);
        fs::write(corpus.join(&name), &text).unwrap();
        let (gb, _, unmappable) = encoding_rs::GB18030.encode(&text);
        assert!(!unmappable, "{name} is not representable in GB18030");
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("gb18030", gb.into_owned()),
            ("utf16le-bom", utf16(&text, false, true)),
            ("utf16be-bom", utf16(&text, true, true)),
            ("utf16le", utf16(&text, false, false)),
            (
                "utf8-bom",
                [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            ),
        ];
        for (kind, bytes) in variants {
            let id = format!("{stem}-{kind}");
            fs::write(corpus.join(format!("{id}.txt")), bytes).unwrap();
            copies.push((id, stem.clone(), text.clone()));
        }
    }
    // Big5: the lines of the traditional seed (003) that Big5 can encode, as a UTF-8 original
    // and a Big5 copy.
    let traditional = seed_text("003_962799e6d4e4cb40.txt");
    let big5_text: String = traditional
        .split_inclusive('\n')
        .filter(|l| !encoding_rs::BIG5.encode(l).2)
        .collect();
    assert!(
        big5_text.chars().count() * 2 > traditional.chars().count(),
        "most of the traditional seed should be representable in Big5"
    );
    fs::write(corpus.join("big5-original.txt"), &big5_text).unwrap();
    let (big5, _, _) = encoding_rs::BIG5.encode(&big5_text);
    assert!(std::str::from_utf8(&big5).is_err());
    fs::write(corpus.join("big5-copy.txt"), &big5).unwrap();
    copies.push(("big5-copy".into(), "big5-original".into(), big5_text));

    let out = build(
        dir.path(),
        &[&corpus],
        &root().join("ontology"),
        &["--full"],
    );
    assert_ok(&out, "the build of the re-encoded seeds");
    let err = stderr(&out);
    assert!(!err.contains("skipped"), "a copy was skipped: {err}");

    let mentions = read_csv(&dir.path().join("exports/mentions.csv"));
    let spans = |doc: &str| {
        mentions
            .iter()
            .filter(|r| r["document"] == doc)
            .map(|r| {
                (
                    r["entity"].clone(),
                    r["start"].parse::<usize>().unwrap(),
                    r["end"].parse::<usize>().unwrap(),
                    r["surface"].clone(),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    for (copy, original, text) in &copies {
        let want = spans(original);
        assert!(want.len() > 5, "only {} mentions in {original}", want.len());
        let got = spans(copy);
        let entities = |v: &BTreeSet<(String, usize, usize, String)>| {
            v.iter().map(|m| m.0.clone()).collect::<BTreeSet<_>>()
        };
        assert_eq!(
            entities(&got),
            entities(&want),
            "{copy} and {original} give different entities"
        );
        assert!(got == want, "{copy} and {original} give different spans");
        let chars: Vec<char> = text.chars().collect();
        for (entity, start, end, surface) in &got {
            assert_eq!(
                slice(&chars, *start, *end).as_deref(),
                Some(surface.as_str()),
                "{copy}: {entity} at {start}..{end}"
            );
        }
    }

    // The encodings were detected, not guessed as something else.
    let query = "PREFIX ckg: <https://w3id.org/cellkg/ontology#>\n\
                 SELECT ?d ?e WHERE { ?d ckg:encoding ?e } ORDER BY ?d";
    let q = cellkg(
        dir.path(),
        &dir.path().join("store"),
        &["query", query, "--format", "csv"],
    );
    assert_ok(&q, "the encoding query");
    let table = String::from_utf8(q.stdout).unwrap().to_ascii_uppercase();
    for (doc, enc) in [
        ("-UTF16LE-BOM", "UTF-16LE"),
        ("-UTF16BE-BOM", "UTF-16BE"),
        ("-UTF16LE,", "UTF-16LE"),
        ("-GB18030", "GB"),
        ("BIG5-COPY", "BIG5"),
    ] {
        let lines: Vec<&str> = table.lines().filter(|l| l.contains(doc)).collect();
        assert!(!lines.is_empty(), "no document {doc} in {table}");
        for l in lines {
            assert!(l.contains(enc), "{doc} read as: {l}");
        }
    }
}

/// Broken byte sequences are replaced and counted (in report.md); a mostly-UTF-8 file with a
/// few bad bytes is still read as UTF-8; a binary file, an image and an empty file are skipped
/// with a warning naming them; nothing panics.
#[test]
fn bad_bytes_are_replaced_and_counted_and_non_text_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    let text = seed_text("002_8a6ad540edda0fe5.txt");
    // Three broken sequences in the middle of a UTF-8 article: a lone continuation byte, a
    // truncated three-byte sequence, an invalid lead byte.
    let mut bytes = text.as_bytes().to_vec();
    let cut = text.char_indices().nth(200).unwrap().0;
    bytes.splice(cut..cut, b"\x80 \xE4\xB8 \xFF".iter().copied());
    fs::write(corpus.join("broken-utf8.txt"), &bytes).unwrap();
    // UTF-16 with a lone surrogate.
    let mut u16s = utf16("CAR-T 细胞疗法靶向 CD19。", false, true);
    u16s.extend(0xD800u16.to_le_bytes());
    u16s.extend(utf16("奕凯达是一款 CAR-T 产品。", false, false));
    fs::write(corpus.join("lone-surrogate.txt"), &u16s).unwrap();
    // Not text.
    let mut binary: Vec<u8> = b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    binary.extend((0u32..4096).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    fs::write(corpus.join("program.txt"), &binary).unwrap();
    let random: Vec<u8> = (0u32..3000)
        .map(|i| (i.wrapping_mul(40503).rotate_left(7) ^ 0x5A) as u8)
        .chain([0, 0, 1, 2])
        .collect();
    fs::write(corpus.join("random"), &random).unwrap();
    let jpeg: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xDB";
    fs::write(corpus.join("photo.txt"), jpeg).unwrap();
    fs::write(corpus.join("photo.jpg"), jpeg).unwrap();
    fs::write(corpus.join("empty.txt"), b"").unwrap();

    let out = build(dir.path(), &[&corpus], &root().join("ontology"), &[]);
    assert_ok(&out, "the build of the messy corpus");
    let err = stderr(&out);
    for name in [
        "program.txt",
        "random",
        "photo.txt",
        "photo.jpg",
        "empty.txt",
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains("skipped") && l.contains(&format!("/{name}:"))),
            "no warning naming {name}: {err}"
        );
    }
    assert!(
        err.lines()
            .any(|l| l.contains("empty.txt") && l.contains("empty")),
        "{err}"
    );
    let mentions = read_csv(&dir.path().join("exports/mentions.csv"));
    let docs: BTreeSet<String> = mentions.iter().map(|r| r["document"].clone()).collect();
    assert_eq!(
        docs,
        BTreeSet::from(["broken-utf8".to_string(), "lone-surrogate".to_string()]),
        "documents with mentions"
    );
    // The broken UTF-8 copy gives the entities of the clean seed (not mojibake of a legacy guess).
    let clean_dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(clean_dir.path().join("c")).unwrap();
    fs::write(clean_dir.path().join("c/clean.txt"), &text).unwrap();
    assert_ok(
        &build(
            clean_dir.path(),
            &[&clean_dir.path().join("c")],
            &root().join("ontology"),
            &[],
        ),
        "the clean build",
    );
    let entities = |rows: &[BTreeMap<String, String>], doc: &str| {
        rows.iter()
            .filter(|r| r["document"] == doc)
            .map(|r| r["entity"].clone())
            .collect::<BTreeSet<_>>()
    };
    let clean = read_csv(&clean_dir.path().join("exports/mentions.csv"));
    assert_eq!(
        entities(&mentions, "broken-utf8"),
        entities(&clean, "clean"),
        "a few bad bytes changed what is found"
    );
    let report = fs::read_to_string(dir.path().join("exports/report.md")).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains("undecodable byte sequences replaced"))
        .unwrap_or_else(|| panic!("no count of replaced sequences in report.md:\n{report}"));
    assert!(
        line.contains(" 4 undecodable byte sequences replaced"),
        "3 broken UTF-8 sequences and a lone surrogate: {line}"
    );
}

// ------------------------------------------------------------------------------ HTML, Markdown

/// Checks that every mention points into the original file text, and every quote into it with
/// markup blanked (same length), and returns the mentions of `doc`.
fn check_offsets_into_original(
    exports: &Path,
    doc: &str,
    original: &str,
    blanked: &str,
) -> BTreeSet<(String, String)> {
    let chars: Vec<char> = original.chars().collect();
    let blank: Vec<char> = blanked.chars().collect();
    assert_eq!(
        chars.len(),
        blank.len(),
        "{doc}: blanking changed the length"
    );
    let mut found = BTreeSet::new();
    for r in read_csv(&exports.join("mentions.csv")) {
        if r["document"] != doc {
            continue;
        }
        let (start, end) = (r["start"].parse().unwrap(), r["end"].parse().unwrap());
        let there = slice(&chars, start, end);
        // A mention across markup (`&#20013;国`, `靶向 <b>CD19</b>`) has the markup blanked in
        // its surface: the offsets still cover its source in the original.
        let decoded = there
            .as_deref()
            .is_some_and(|t| t.contains(['&', '<', '*', '_', '[', '`']))
            && slice(&blank, start, end).as_deref() == Some(r["surface"].as_str());
        assert!(
            there.as_deref() == Some(r["surface"].as_str()) || decoded,
            "{doc}: mention {} at {start}..{end} does not point into the original: {there:?} / {:?}",
            r["entity"],
            r["surface"]
        );
        found.insert((r["entity"].clone(), r["surface"].clone()));
    }
    for r in read_csv(&exports.join("evidence.csv")) {
        if r["document"] != doc {
            continue;
        }
        let (start, end) = (r["start"].parse().unwrap(), r["end"].parse().unwrap());
        assert_eq!(
            slice(&blank, start, end).as_deref(),
            Some(r["quote"].as_str()),
            "{doc}: quote at {start}..{end}"
        );
    }
    found
}

#[test]
fn html_and_markdown_offsets_point_into_the_original_file() {
    let html = "<!DOCTYPE html>\n<html><head><title>CAR-T &amp; 细胞治疗</title>\n\
        <style>body { color: red; } /* BCMA */</style>\n\
        <script>var x = \"Kymriah 靶向 CD22 <b>\"; if (a < b && c > d) {}</script>\n\
        </head><body>\n<h1>阿基仑赛注射液获批</h1>\n\
        <p>奕凯达&#xFF08;阿基仑赛注射液&#xFF09;是一款靶向 <b>CD19</b> 的 CAR-T 细胞疗法，由复星凯特开发，\
        用于治疗大B细胞淋巴瘤。</p>\n\
        <p>Kymriah &lt;tisagenlecleucel&gt; targets <i>CD19</i> &amp; is developed by Novartis. \
        &#x4E2D;文 &#20013;国</p>\n<!-- CD22 in a comment is no mention -->\n</body></html>\n";
    let md = "# 阿基仑赛注射液\n\n**奕凯达**是一款*靶向* CD19 的 CAR-T 疗法，\
        由[复星凯特](https://example.org/CD22_(page))开发。\n\n## 表格\n\n\
        | 产品 | 靶点 | 企业 |\n|---|---|---|\n| 奕凯达 | CD19 | 复星凯特 |\n| 卡维凯 | BCMA | 传奇生物 |\n\n\
        _Kymriah_ targets __CD19__, see ![图 Yescarta](img/CD22.png) and <https://example.org/CD22>.\n\
        > 引用：`CD19` 是靶点。\n";
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(corpus.join("page.html"), html).unwrap();
    fs::write(corpus.join("notes.md"), md).unwrap();
    let out = build(dir.path(), &[&corpus], &root().join("ontology"), &[]);
    assert_ok(&out, "the build of HTML and Markdown");
    let exports = dir.path().join("exports");

    let page =
        check_offsets_into_original(&exports, "page", html, &cellkg::ingest::strip_html(html));
    let entities = |found: &BTreeSet<(String, String)>| {
        found.iter().map(|f| f.0.clone()).collect::<BTreeSet<_>>()
    };
    let page_entities = entities(&page);
    for want in ["target/cd19", "product/yikaida", "product/kymriah"] {
        assert!(page_entities.contains(want), "page: no {want} in {page:?}");
    }
    // Script, style and comment bodies are not text.
    for never in ["target/cd22", "target/bcma"] {
        assert!(!page_entities.contains(never), "page: {never} from markup");
    }

    let notes =
        check_offsets_into_original(&exports, "notes", md, &cellkg::ingest::strip_markdown(md));
    let note_entities = entities(&notes);
    for want in [
        "target/cd19",
        "product/yikaida",
        "product/kymriah",
        "target/bcma",
        "product/yescarta",
    ] {
        assert!(
            note_entities.contains(want),
            "notes: no {want} in {notes:?}"
        );
    }
    assert!(
        !note_entities.contains("target/cd22"),
        "notes: a mention inside a URL: {notes:?}"
    );
    for (entity, surface) in &notes {
        assert!(
            !surface.contains(['*', '#', '[', ']', '`']) && !surface.starts_with('_'),
            "notes: markup in the surface of {entity}: {surface:?}"
        );
    }
}

#[test]
fn markdown_and_html_blanking_keep_every_character_position() {
    for text in [
        "# t\n**a** _b_ [c](d) ![e](f) <https://g> `h`\n| x | y |\n",
        "[unclosed](url\n[a][b] [[nested](x)](y) ***_ x_y_z __ _\n#not-a-heading\n",
        "<a href=\"x\">&amp;&#x10FFFF;&#xD800;&#99999999;&bogus;<script>never closed",
        "\r\n\r\n<!-- open comment",
    ] {
        for stripped in [
            cellkg::ingest::strip_markdown(text),
            cellkg::ingest::strip_html(text),
        ] {
            assert_eq!(stripped.chars().count(), text.chars().count(), "{text:?}");
            let lines = |t: &str| t.chars().filter(|c| *c == '\n').count();
            assert_eq!(lines(&stripped), lines(text), "{text:?}");
        }
    }
    let md = cellkg::ingest::strip_markdown(
        "## 标题\n见[链接文字](https://x.org/a_(b)) 和 snake_case\n",
    );
    assert_eq!(
        md,
        "   标题\n见 链接文字                       和 snake_case\n"
    );
}

// ------------------------------------------------------------------------------ configuration

/// A copy of the ontology to break.
fn ontology_copy(dir: &Path) -> PathBuf {
    let onto = dir.join("ontology");
    copy_dir(&root().join("ontology"), &onto);
    onto
}

/// A small corpus (one seed) and a first good build in `dir`.
fn first_build(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    let name = "002_8a6ad540edda0fe5.txt";
    fs::write(corpus.join(name), seed_text(name)).unwrap();
    assert_ok(
        &build(dir, &[&corpus], &root().join("ontology"), &[]),
        "the first build",
    );
    corpus
}

/// Position `file:LINE:COLUMN:` in an error, as (line, column).
fn position(err: &str, file: &str) -> Option<(usize, usize)> {
    let (_, rest) = err.split_once(&format!("{file}:"))?;
    let mut it = rest.split(':');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Workers take the batches of 32 files in path order and stop at a failed one; of two
/// unreadable files (dangling links, which the corpus walk lists and reading cannot open),
/// in the second and the fourth batch, the build reports the first, whatever the thread
/// count, and keeps the previous store and exports.
#[cfg(unix)]
#[test]
fn of_two_unreadable_files_the_first_in_path_order_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = first_build(dir.path());
    for i in 0..128 {
        fs::write(
            corpus.join(format!("b{i:03}.txt")),
            format!("第{i}篇：靶向CD19的CAR-T细胞疗法。\n"),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(dir.path().join("nowhere"), corpus.join("b040x.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), corpus.join("b100x.txt")).unwrap();
    let exports = snapshot(&dir.path().join("exports"));
    let store = snapshot(&dir.path().join("store"));
    for threads in ["1", "2", "3"] {
        let out = build(
            dir.path(),
            &[&corpus],
            &root().join("ontology"),
            &["--threads", threads],
        );
        let err = assert_fails_cleanly(&out, "a build with unreadable files");
        assert!(err.contains("b040x.txt"), "{threads} threads: {err}");
        assert!(!err.contains("b100x.txt"), "{threads} threads: {err}");
    }
    assert_kept(dir.path(), &exports, &store);
}

#[test]
fn syntax_errors_in_the_ontology_name_file_line_column_and_keep_the_exports() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = first_build(dir.path());
    let exports = snapshot(&dir.path().join("exports"));
    let store = snapshot(&dir.path().join("store"));

    // Turtle: an unterminated string on line 3 of a new lexicon file.
    let onto = ontology_copy(dir.path());
    fs::write(
        onto.join("lexicon/zz_broken.ttl"),
        "@prefix ckg: <https://w3id.org/cellkg/ontology#> .\n\n\
         <https://w3id.org/cellkg/id/product/x> a ckg:Product ; <http://www.w3.org/2000/01/rdf-schema#label> \"oops .\n",
    )
    .unwrap();
    let out = build(dir.path(), &[&corpus], &onto, &[]);
    let err = assert_fails_cleanly(&out, "a build with a broken lexicon");
    let (line, column) =
        position(&err, "zz_broken.ttl").unwrap_or_else(|| panic!("no file:line:column: {err}"));
    assert_eq!(line, 3, "{err}");
    assert!(column > 1, "{err}");
    let check = cellkg(
        dir.path(),
        &dir.path().join("store"),
        &["check", "--ontology", s(&onto)],
    );
    let err = assert_fails_cleanly(&check, "check of a broken lexicon");
    assert!(position(&err, "zz_broken.ttl").is_some(), "{err}");
    fs::remove_file(onto.join("lexicon/zz_broken.ttl")).unwrap();

    // TOML: a value without quotes on a known line of rules.toml.
    let rules = onto.join("rules.toml");
    let mut text = fs::read_to_string(&rules).unwrap();
    let line = text.lines().count() + 3;
    text.push_str("\n[broken]\nkey = not a value\n");
    fs::write(&rules, text).unwrap();
    let out = build(dir.path(), &[&corpus], &onto, &[]);
    let err = assert_fails_cleanly(&out, "a build with a broken rules.toml");
    let (l, c) =
        position(&err, "rules.toml").unwrap_or_else(|| panic!("no file:line:column: {err}"));
    assert_eq!((l, c), (line, 7), "{err}");

    assert_kept(dir.path(), &exports, &store);
}

#[test]
fn content_problems_are_reported_by_check_and_fatal_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = first_build(dir.path());
    let exports = snapshot(&dir.path().join("exports"));
    let onto = ontology_copy(dir.path());
    let schema = onto.join("schema.ttl");
    let mut text = fs::read_to_string(&schema).unwrap();
    text.push_str(
        "\nckg:dangling a <http://www.w3.org/2002/07/owl#ObjectProperty> ; \
         <http://www.w3.org/2000/01/rdf-schema#label> \"dangling\"@en .\n",
    );
    fs::write(&schema, text).unwrap();
    fs::write(
        onto.join("lexicon/zz_problems.ttl"),
        "@prefix ckg: <https://w3id.org/cellkg/ontology#> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\
         @prefix product: <https://w3id.org/cellkg/id/product/> .\n\
         @prefix target: <https://w3id.org/cellkg/id/target/> .\n\
         @prefix disease: <https://w3id.org/cellkg/id/disease/> .\n\
         product:strange-cel a ckg:Gizmo ; rdfs:label \"Strange-cel\"@en .\n\
         target:cd19 a ckg:Target ; rdfs:label \"CD19 again\"@en .\n\
         product:zorbicel a ckg:Product ; rdfs:label \"Zorbicel\"@en ; rdfs:label \"ZRB-77\" .\n\
         disease:zorbi-disease a ckg:Disease ; rdfs:label \"ZRB-77\" .\n",
    )
    .unwrap();

    let check = cellkg(
        dir.path(),
        &dir.path().join("store"),
        &["check", "--ontology", s(&onto)],
    );
    assert_ok(&check, "check of an ontology with problems");
    let report = String::from_utf8(check.stdout.clone()).unwrap();
    for (what, needles) in [
        (
            "unknown class",
            vec!["product/strange-cel", "unknown class", "Gizmo"],
        ),
        (
            "no domain or range",
            vec!["dangling", "no domain or no range"],
        ),
        ("duplicate id", vec!["duplicate", "target/cd19"]),
        (
            "alias of two classes",
            vec![
                "zrb-77",
                "different classes",
                "product/zorbicel",
                "disease/zorbi-disease",
            ],
        ),
    ] {
        assert!(
            report.lines().any(|l| needles
                .iter()
                .all(|n| l.to_lowercase().contains(&n.to_lowercase()))),
            "check does not report the {what} ({needles:?}):\n{report}"
        );
    }
    let strict = cellkg(
        dir.path(),
        &dir.path().join("store"),
        &["check", "--strict", "--ontology", s(&onto)],
    );
    assert!(!strict.status.success(), "check --strict passed");
    assert!(!stderr(&strict).contains("panicked"));

    let out = build(dir.path(), &[&corpus], &onto, &["--strict"]);
    let err = assert_fails_cleanly(&out, "build --strict");
    assert!(err.contains("--strict"), "{err}");
    assert!(
        differences(&exports, &snapshot(&dir.path().join("exports"))).is_empty(),
        "a failed strict build changed exports/"
    );
    // Without --strict the build goes on, with warnings.
    let out = build(dir.path(), &[&corpus], &onto, &[]);
    assert_ok(&out, "build with ontology problems, not strict");
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
}

// ------------------------------------------------------------------------------ atomic builds

/// A corpus of a few MB: copies of the seeds under other names.
fn big_corpus(dir: &Path, copies: usize) -> PathBuf {
    let corpus = dir.join("big");
    fs::create_dir_all(&corpus).unwrap();
    for name in seed_names() {
        let text = seed_text(&name);
        for i in 0..copies {
            fs::write(corpus.join(format!("c{i:03}_{name}")), &text).unwrap();
        }
    }
    corpus
}

/// Starts `cellkg build CORPUS --full` in `cwd` with its store, `--out` and ontology; stdout
/// is dropped, stderr goes where `stderr` says.
fn spawn_full_build(
    cwd: &Path,
    store: &Path,
    corpus: &Path,
    out: &Path,
    ontology: &Path,
    stderr: Stdio,
) -> std::process::Child {
    bin()
        .current_dir(cwd)
        .arg("--store")
        .arg(store)
        .args(["build", s(corpus), "--full", "--out"])
        .arg(out)
        .arg("--ontology")
        .arg(ontology)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Dot-directories left beside `exports/` and the store.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.') && (n.contains(".tmp-") || n.contains(".old-")))
        .collect();
    names.sort();
    names
}

/// A small xorshift generator: kill times differ from run to run; the seed is printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

#[test]
fn builds_killed_at_any_moment_leave_the_previous_graph_intact() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let reference = dir.path().join("reference");
    fs::create_dir_all(&work).unwrap();
    fs::create_dir_all(&reference).unwrap();
    let corpus = big_corpus(dir.path(), 24);
    let onto = root().join("ontology");

    // How long an uninterrupted full build of the big corpus takes, and what it writes.
    let t = Instant::now();
    assert_ok(
        &build(&reference, &[&corpus], &onto, &["--full"]),
        "the reference build",
    );
    let full = t.elapsed();
    let want = snapshot(&reference.join("exports"));
    let want_store = snapshot(&reference.join("store"));

    // The previous graph: the seeds.
    assert_ok(
        &build(&work, &[&root().join("seeds")], &onto, &[]),
        "the first build",
    );
    let mut exports = snapshot(&work.join("exports"));
    let mut store = snapshot(&work.join("store"));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("full build: {full:?}; kill times from seed {seed}");
    let mut rng = Rng(seed);
    let (mut killed, mut round) = (0u64, 0u64);
    let mut problems = Vec::new();
    // How long a build takes here and now (other tests and builds share the cores).
    let mut span = full.as_millis() as u64;
    while killed < 8 && round < 24 {
        round += 1;
        // Spread the kills over the whole build: start, extraction, exports, store.
        let at = Duration::from_millis(span * (killed % 8) / 8 + rng.next(span / 8 + 1));
        let mut child = spawn_full_build(
            &work,
            &work.join("store"),
            &corpus,
            &work.join("exports"),
            &onto,
            Stdio::null(),
        );
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap();
        if finished.is_none() {
            child.kill().unwrap(); // SIGKILL
        }
        let status = child.wait().unwrap();
        let now_exports = snapshot(&work.join("exports"));
        let now_store = snapshot(&work.join("store"));
        if status.success() {
            // It finished before the kill: then it must have written the whole new graph.
            span = span.min(at.as_millis() as u64 * 9 / 10);
            assert!(
                differences(&want, &now_exports).is_empty(),
                "round {round}: a finished build wrote other exports"
            );
            exports = now_exports;
            store = now_store;
            continue;
        }
        killed += 1;
        eprintln!(
            "round {round}: killed after {at:?}, staged: {:?}",
            leftovers(&work)
        );
        let exports_changed = differences(&exports, &now_exports);
        let store_changed = differences(&store, &now_store);
        // Killed after both directories were swapped in (while deleting the old ones): the
        // build had committed, the whole new graph is in place.
        let committed = differences(&want, &now_exports).is_empty()
            && differences(&want_store, &now_store).is_empty();
        if committed {
            eprintln!("round {round}: killed after its commit");
        }
        if !committed && (!exports_changed.is_empty() || !store_changed.is_empty()) {
            let whole_new_exports = differences(&want, &now_exports).is_empty();
            problems.push(format!(
                "round {round}: killed after {at:?}: exports changed: {exports_changed:?}{}; \
                 store changed: {store_changed:?}",
                if whole_new_exports {
                    " (the complete new exports: committed before the store was written)"
                } else {
                    ""
                }
            ));
            exports = now_exports;
            store = now_store;
        }
    }
    // The most delicate moment, on purpose: right after exports/ was swapped in, while the
    // store may still be written.
    let ino = |p: &Path| {
        fs::metadata(p)
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .ok()
    };
    let before = ino(&work.join("exports"));
    let mut child = spawn_full_build(
        &work,
        &work.join("store"),
        &corpus,
        &work.join("exports"),
        &onto,
        Stdio::null(),
    );
    while child.try_wait().unwrap().is_none() && ino(&work.join("exports")) == before {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    if !child.wait().unwrap().success() {
        let now_exports = snapshot(&work.join("exports"));
        let now_store = snapshot(&work.join("store"));
        let consistent = (differences(&exports, &now_exports).is_empty()
            && differences(&store, &now_store).is_empty())
            || differences(&want, &now_exports).is_empty()
                && differences(&store, &now_store).len() > 1;
        if !consistent {
            problems.push(format!(
                "killed right after exports/ was replaced: exports changed: {:?}, store changed: {:?} \
                 (exports/ and the store must be swapped in together, at the end)",
                differences(&exports, &now_exports).len(),
                differences(&store, &now_store)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "a killed build changed the previous graph:\n{}",
        problems.join("\n")
    );
    assert!(
        killed >= 6,
        "only {killed} of {round} builds were killed midway"
    );

    // A later build is not blocked by the dead builds' locks and does not trust their leftovers.
    let out = build(&work, &[&corpus], &onto, &[]);
    assert_ok(&out, "the build after the kills");
    let changed = differences(&want, &snapshot(&work.join("exports")));
    assert!(
        changed.is_empty(),
        "exports after the kills differ from a clean build: {changed:?}"
    );
    // It also removed what they left behind.
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
}

#[test]
fn two_builds_at_once_do_not_corrupt_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let reference = dir.path().join("reference");
    fs::create_dir_all(&work).unwrap();
    fs::create_dir_all(&reference).unwrap();
    let corpus = big_corpus(dir.path(), 12);
    let onto = root().join("ontology");
    assert_ok(
        &build(&reference, &[&corpus], &onto, &["--full"]),
        "the reference build",
    );
    let want = snapshot(&reference.join("exports"));

    let spawn = || {
        spawn_full_build(
            &work,
            &work.join("store"),
            &corpus,
            &work.join("exports"),
            &onto,
            Stdio::piped(),
        )
    };
    let first = spawn();
    std::thread::sleep(Duration::from_millis(300));
    let second = spawn();
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let failed: Vec<&Output> = outputs.iter().filter(|o| !o.status.success()).collect();
    for o in &outputs {
        assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
    }
    eprintln!(
        "two builds: {:?}",
        outputs.iter().map(|o| o.status.code()).collect::<Vec<_>>()
    );
    match failed.len() {
        0 => eprintln!("note: the two builds did not overlap"),
        1 => {
            let err = assert_fails_cleanly(failed[0], "the second build");
            assert!(err.contains("another build is running"), "{err}");
        }
        _ => panic!(
            "both builds failed: {} / {}",
            stderr(&outputs[0]),
            stderr(&outputs[1])
        ),
    }
    let changed = differences(&want, &snapshot(&work.join("exports")));
    assert!(
        changed.is_empty(),
        "exports differ from a clean build: {changed:?}"
    );
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
}

/// Lock files left beside `exports/` and the store.
fn lock_files(dir: &Path) -> Vec<String> {
    names_ending(dir, ".lock")
}

#[test]
fn leftovers_of_killed_builds_are_removed_and_a_half_swapped_directory_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = first_build(d);
    // A file only the previous exports/ has (a build keeps such files): it shows whether the
    // next build started from the previous exports/.
    fs::write(d.join("exports/kept-by-user.txt"), "mine\n").unwrap();
    let exports = snapshot(&d.join("exports"));
    let store = snapshot(&d.join("store"));
    let count = ["query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"];
    let before_query = cellkg(d, &d.join("store"), &count);
    assert_ok(&before_query, "a query");
    let before_stats = cellkg(d, &d.join("store"), &["stats"]);
    assert_ok(&before_stats, "stats");

    // Builds killed between "old moved aside" and "new moved in" (the two-rename method):
    // exports/ and the store are missing, their previous versions wait in `.NAME.old-PID`,
    // beside half-written or half-deleted copies of dead builds.
    fs::rename(d.join("exports"), d.join(".exports.old-999999")).unwrap();
    fs::rename(d.join("store"), d.join(".store.old-999998")).unwrap();
    for junk in [
        ".exports.tmp-999999",
        ".store.tmp-999998",
        ".exports.tmp-4000000",
        ".store.tmp-1",
    ] {
        fs::create_dir_all(d.join(junk).join("sub")).unwrap();
        fs::write(d.join(junk).join("sub/graph.nq"), "half written").unwrap();
    }
    // A dead build's lock file.
    fs::write(d.join(".exports.lock"), "999999\n").unwrap();
    // Not left by a build: left alone.
    fs::create_dir_all(d.join(".exports.old-backup")).unwrap();

    // Readers find the previous graph meanwhile.
    let out = cellkg(d, &d.join("store"), &count);
    assert_ok(&out, "a query while the store is moved aside");
    assert_eq!(
        out.stdout, before_query.stdout,
        "the query saw another graph"
    );
    let out = cellkg(d, &d.join("store"), &["stats"]);
    assert_ok(&out, "stats while the store is moved aside");
    assert_eq!(out.stdout, before_stats.stdout, "stats saw another graph");

    // The next build restores both, starts from them (the cache is used, the extra file kept)
    // and removes the rest.
    let out = build(d, &[&corpus], &root().join("ontology"), &[]);
    assert_ok(&out, "the build after the kills");
    assert!(
        stderr(&out).contains("(0 extracted, 1 unchanged"),
        "the build did not start from the previous store: {}",
        stderr(&out)
    );
    let changed = differences(&exports, &snapshot(&d.join("exports")));
    assert!(changed.is_empty(), "exports/ differs: {changed:?}");
    // All but the record of the files' status and of when the build started, which is of
    // this moment (see `cellkg::cache::FILES`).
    let mut changed = differences(&store, &snapshot(&d.join("store")));
    changed.retain(|f| f != "cache/files.json");
    assert!(changed.is_empty(), "the store differs: {changed:?}");
    assert_eq!(leftovers(d), vec![".exports.old-backup".to_string()]);
    assert!(lock_files(d).is_empty(), "{:?}", lock_files(d));
}

#[test]
fn builds_into_the_same_exports_with_other_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = big_corpus(d, 12);
    let onto = root().join("ontology");
    let reference = d.join("reference");
    fs::create_dir_all(&reference).unwrap();
    assert_ok(
        &build(&reference, &[&corpus], &onto, &["--full"]),
        "the reference build",
    );
    let want = snapshot(&reference.join("exports"));

    let exports = d.join("exports");
    let spawn = |store: &Path| spawn_full_build(d, store, &corpus, &exports, &onto, Stdio::piped());
    fs::create_dir_all(d.join("a")).unwrap();
    let mut first = spawn(&d.join("a/store"));
    let pid = first.id();
    // The first build holds its locks once it stages its store.
    let t = Instant::now();
    while leftovers(&d.join("a")).is_empty() && first.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the first build never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = spawn(&d.join("b/store")).wait_with_output().unwrap();
    let overlapped = first.try_wait().unwrap().is_none();
    let first = first.wait_with_output().unwrap();
    assert_ok(&first, "the first build");
    assert!(
        !second.status.success(),
        "a second build into the same exports/ ran while the first one was running"
    );
    assert!(
        overlapped,
        "the first build ended before the second one started: the corpus is too small here"
    );
    let err = assert_fails_cleanly(&second, "a second build into the same exports/");
    assert!(err.contains("another build is running"), "{err}");
    assert!(
        err.contains(&format!("process {pid}")),
        "no holder pid: {err}"
    );
    assert!(err.contains("exports"), "{err}");
    assert!(
        !d.join("b/store").exists(),
        "the refused build wrote a store"
    );
    let changed = differences(&want, &snapshot(&exports));
    assert!(
        changed.is_empty(),
        "exports/ differ from a clean build: {changed:?}"
    );
    for p in [d.to_path_buf(), d.join("a"), d.join("b")] {
        if p.exists() {
            assert!(leftovers(&p).is_empty(), "{:?}", leftovers(&p));
            assert!(lock_files(&p).is_empty(), "{:?}", lock_files(&p));
        }
    }
}

/// exports/ and the store are swapped with the new ones in one step: a reader never finds them
/// missing, not even for an instant.
#[test]
fn exports_and_store_never_go_missing_during_a_build() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let corpus = first_build(&d);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, d) = (stop.clone(), d.clone());
        std::thread::spawn(move || {
            let (mut polls, mut missing) = (0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                for p in ["exports", "store"] {
                    polls += 1;
                    if fs::symlink_metadata(d.join(p)).is_err() {
                        missing.push(p);
                    }
                }
            }
            (polls, missing)
        })
    };
    let builds = 12;
    for _ in 0..builds {
        assert_ok(
            &build(&d, &[&corpus], &root().join("ontology"), &[]),
            "a build",
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (polls, missing) = poller.join().unwrap();
    eprintln!("{polls} polls over {builds} builds");
    assert!(
        missing.is_empty(),
        "a directory was missing {} times: {missing:?}",
        missing.len()
    );
}

/// An --out that cannot be written (a file, under a file, in /proc, the current directory, the
/// store or around it): a one-line error naming it, a non-zero exit, the previous store and exports byte-identical, nothing left behind.
#[test]
fn a_build_into_an_unwritable_out_keeps_the_previous_graph() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = first_build(d);
    let exports = snapshot(&d.join("exports"));
    let store = snapshot(&d.join("store"));
    let file = d.join("not-a-dir.txt");
    fs::write(&file, "a file\n").unwrap();
    for (out, named) in [
        (file.clone(), s(&file).to_string()),
        (file.join("exports"), s(&file).to_string()),
        (
            PathBuf::from("/proc/cellkg-x/exports"),
            "/proc/cellkg-x".into(),
        ),
        // Not one to replace: the current directory, the store or a directory holding it.
        (PathBuf::from("."), "not `.`".into()),
        (d.join("store"), "nor inside it".into()),
        (d.to_path_buf(), "nor inside it".into()),
    ] {
        let o = cellkg(
            d,
            &d.join("store"),
            &[
                "build",
                s(&corpus),
                "--out",
                s(&out),
                "--ontology",
                s(&root().join("ontology")),
            ],
        );
        let err = assert_fails_cleanly(&o, &format!("a build into {}", out.display()));
        assert!(err.contains(&named), "{err}");
        assert_eq!(
            fs::read(&file).unwrap(),
            b"a file\n",
            "--out {}",
            out.display()
        );
        let changed = differences(&exports, &snapshot(&d.join("exports")));
        assert!(
            changed.is_empty(),
            "--out {}: exports/: {changed:?}",
            out.display()
        );
        let changed = differences(&store, &snapshot(&d.join("store")));
        assert!(
            changed.is_empty(),
            "--out {}: store: {changed:?}",
            out.display()
        );
        assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
        assert!(lock_files(d).is_empty(), "{:?}", lock_files(d));
    }
}

// ------------------------------------------------------------------------------ CLI input

#[test]
fn bad_command_lines_fail_with_one_line_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    first_build(dir.path());
    let store = dir.path().join("store");
    let run = |args: &[&str]| cellkg(dir.path(), &store, args);

    let err = assert_fails_cleanly(&run(&["show", "no-such-entity-zzz"]), "show unknown");
    assert!(err.contains("no-such-entity-zzz"), "{err}");
    let err = assert_fails_cleanly(&run(&["path", "CD19", "no-such-zzz"]), "path unknown");
    assert!(err.contains("no-such-zzz"), "{err}");

    let err = assert_fails_cleanly(
        &run(&["query", "SELECT ?s WHERE {\n  ?s ?p \n}"]),
        "malformed sparql",
    );
    assert!(
        position(&err, "query").is_some_and(|(l, c)| (2..=3).contains(&l) && c >= 1),
        "{err}"
    );
    let err = assert_fails_cleanly(&run(&["query", "SELECT ?s WHERE { ?s ?p ?o "]), "unclosed");
    assert!(position(&err, "query").is_some(), "{err}");
    assert_fails_cleanly(&run(&["query", "\u{1}\u{FFFF}"]), "garbage sparql");

    let err = assert_fails_cleanly(&run(&["export", "pdfx"]), "unknown export format");
    assert!(err.contains("pdfx"), "{err}");
    assert_fails_cleanly(
        &run(&["query", "ASK {}", "--format", "yaml"]),
        "unknown format",
    );
    assert_fails_cleanly(&run(&["stats", "--format", "yaml"]), "unknown stats format");
    assert_fails_cleanly(
        &run(&["export", "dot", "--min-confidence", "7"]),
        "confidence out of range",
    );

    // Unwritable outputs.
    for target in ["/proc/cellkg-x/graph.dot", "/proc/cellkg-x"] {
        let err = assert_fails_cleanly(&run(&["export", "dot", "-o", target]), "export to /proc");
        assert!(err.contains("/proc/cellkg-x"), "{err}");
    }
    let readonly = dir.path().join("readonly");
    fs::create_dir_all(&readonly).unwrap();
    let mut perms = fs::metadata(&readonly).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    fs::set_permissions(&readonly, perms).unwrap();
    let writable = fs::write(readonly.join("probe"), b"").is_ok(); // root ignores permissions
    if writable {
        eprintln!("skipping the read-only directory check: running as root");
    } else {
        let target = readonly.join("out.ttl");
        assert_fails_cleanly(
            &run(&["export", "turtle", "-o", s(&target)]),
            "read-only dir",
        );
        let err = assert_fails_cleanly(
            &run(&["export", "csv", "-o", s(&readonly.join("tables"))]),
            "csv into a read-only dir",
        );
        assert!(err.contains("readonly"), "{err}");
    }
    let err = assert_fails_cleanly(
        &cellkg(
            dir.path(),
            &store,
            &[
                "build",
                s(&dir.path().join("corpus")),
                "--out",
                "/proc/cellkg-x/exports",
                "--ontology",
                s(&root().join("ontology")),
            ],
        ),
        "build into /proc",
    );
    assert!(err.contains("/proc"), "{err}");

    // A store that does not exist.
    let nowhere = dir.path().join("no-store");
    for args in [
        vec!["query", "ASK {}"],
        vec!["show", "CD19"],
        vec!["export", "turtle"],
        vec!["stats"],
        vec!["path", "CD19", "BCMA"],
    ] {
        let err = assert_fails_cleanly(&cellkg(dir.path(), &nowhere, &args), &args.join(" "));
        assert!(err.contains("no-store"), "{args:?}: {err}");
        assert!(!nowhere.exists(), "{args:?} created the store directory");
    }
    // A corrupt store.
    let broken = dir.path().join("broken-store");
    copy_dir(&store, &broken);
    fs::write(
        broken.join(cellkg::pipeline::GRAPH_FILE),
        b"cellkg graph 0.1.0\n\x05\x01",
    )
    .unwrap();
    fs::write(broken.join("store.nq"), b"<a> <b> \"unterminated .\n").unwrap();
    for args in [vec!["query", "ASK {}"], vec!["show", "CD19"]] {
        assert_fails_cleanly(&cellkg(dir.path(), &broken, &args), &args.join(" "));
    }
}

// ------------------------------------------------------------------------------ fuzzing

fn ontology() -> &'static Ontology {
    static O: OnceLock<Ontology> = OnceLock::new();
    O.get_or_init(|| Ontology::load(&root().join("ontology")).expect("the ontology loads"))
}

fn extractor() -> &'static Extractor<'static> {
    static E: OnceLock<Extractor<'static>> = OnceLock::new();
    E.get_or_init(|| Extractor::new(ontology()).expect("the extractor compiles"))
}

fn info(text: &str) -> DocumentInfo {
    DocumentInfo {
        id: "fuzz".into(),
        path: "fuzz.txt".into(),
        encoding: "UTF-8".into(),
        chars: text.chars().count(),
        sha256: String::new(),
        title: String::new(),
        replaced: 0,
    }
}

/// Extracts from `text` and checks every offset: within the text, and the text there is the
/// surface or quote.
fn check_extraction(text: &str) -> Result<Extraction, String> {
    let ext = std::panic::catch_unwind(|| extractor().extract(info(text), text))
        .map_err(|e| format!("extract panicked: {:?}", e.downcast_ref::<String>()))?;
    let chars: Vec<char> = text.chars().collect();
    let check = |what: &str, start: usize, end: usize, surface: &str| {
        if slice(&chars, start, end).as_deref() != Some(surface) {
            Err(format!(
                "{what} {start}..{end} {surface:?} does not match the text ({} chars)",
                chars.len()
            ))
        } else {
            Ok(())
        }
    };
    for m in &ext.mentions {
        check("mention", m.start, m.end, &m.surface)?;
    }
    for a in &ext.assertions {
        check("assertion", a.start, a.end, &a.quote)?;
    }
    for p in &ext.prices {
        check("price", p.start, p.end, &p.quote)?;
    }
    for c in &ext.clinical {
        check("clinical", c.start, c.end, &c.quote)?;
    }
    Ok(ext)
}

/// Bytes through ingest (decode, HTML and Markdown blanking) and extraction.
fn check_bytes(bytes: &[u8]) -> Result<(), String> {
    let decoded = std::panic::catch_unwind(|| cellkg::ingest::decode(bytes))
        .map_err(|_| "decode panicked".to_string())?;
    let Ok((text, _, replaced)) = decoded else {
        return Ok(());
    };
    if replaced > text.chars().filter(|c| *c == '\u{FFFD}').count() {
        return Err(format!(
            "{replaced} replacements counted, fewer in the text"
        ));
    }
    check_extraction(&text)?;
    for stripped in [
        cellkg::ingest::strip_html(&text),
        cellkg::ingest::strip_markdown(&text),
    ] {
        if stripped.chars().count() != text.chars().count() {
            return Err("markup blanking changed the length".into());
        }
        check_extraction(&stripped)?;
    }
    Ok(())
}

/// Pieces of text that exercise the extractor: real names and cues, numbers with 万/亿, scripts,
/// combining marks, bidi controls, emoji, brackets, control characters.
const FRAGMENTS: &[&str] = &[
    "CD19",
    "BCMA",
    "CAR-T",
    "CAR-T 细胞 疗法",
    "阿基仑赛注射液",
    "奕凯达",
    "奕凱達",
    "Kymriah",
    "tisagenlecleucel",
    "复星凯特",
    "由",
    "开发",
    "靶向",
    "治疗",
    "获批",
    "未",
    "纳入",
    "医保",
    "沪惠保",
    "2024版",
    "《",
    "》",
    "（",
    "）",
    "(",
    ")",
    "【",
    "】",
    "「",
    "」",
    "120万元",
    "1.2亿",
    "万",
    "亿",
    "万万",
    "3.6万元/次",
    "99.9%",
    "ORR",
    "CR率",
    "72~100",
    "%",
    "元",
    "美元",
    "NT$",
    "一剂",
    "第\n一医院",
    "医院",
    "大学",
    "公司",
    "指南",
    "保",
    "仑赛",
    "-leucel",
    "\t",
    "\t\t\t",
    "\n",
    "\r\n",
    "\n\n",
    " ",
    "\u{3000}",
    "。",
    "；",
    "！",
    "？",
    "|",
    "| a | b |\n",
    "|---|---|\n",
    "\u{0301}",
    "\u{0308}\u{0323}",
    "e\u{0301}",
    "\u{05D0}\u{05D1}",
    "\u{0627}\u{0644}",
    "\u{202E}",
    "\u{200F}",
    "\u{200B}",
    "\u{FEFF}",
    "👩‍🔬",
    "🧬",
    "\u{FE0F}",
    "\u{0}",
    "\u{7}",
    "\u{FFFD}",
    "\u{10FFFF}",
    "Ⅻ",
    "㍿",
    "ﬁ",
    "Ａ",
    "１２０",
    "ｷﾛ",
    "𠀀",
    "〇",
    "零",
    "民國113年",
    "2025年",
    "ß",
    "İ",
    "ǅ",
    "&amp;",
    "<b>",
    "</p>",
    "**",
    "_",
    "[x](y)",
    "#",
    "\\",
    "\"",
    "'",
    "]]>",
    "\"\"\"",
    "${x}",
    "%s",
];

fn fragment_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        2 => any::<char>().prop_map(|c| c.to_string()),
        1 => "[\\p{Han}]{1,12}",
        1 => "[a-zA-Z0-9 \\-]{1,12}",
        1 => (0usize..60_000, 1usize..200).prop_map(|(at, len)| {
            let seed = seed_chars();
            let at = at % seed.len();
            seed[at..(at + len).min(seed.len())].iter().collect()
        }),
    ];
    proptest::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

fn seed_chars() -> &'static [char] {
    static C: OnceLock<Vec<char>> = OnceLock::new();
    C.get_or_init(|| {
        seed_names()
            .iter()
            .flat_map(|n| seed_text(n).chars().collect::<Vec<_>>())
            .collect()
    })
}

/// Text, then bytes: UTF-8 (with a BOM or not), UTF-16 with lone surrogates, GB18030, Big5,
/// with bytes flipped.
fn byte_stream() -> impl Strategy<Value = Vec<u8>> {
    let text_bytes = (
        fragment_text(),
        0u8..7,
        proptest::collection::vec(any::<u16>(), 0..4),
    )
        .prop_map(|(text, how, noise)| match how {
            0 => text.into_bytes(),
            1 => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            2 | 3 => {
                let mut units: Vec<u16> = text.encode_utf16().collect();
                for (i, n) in noise.iter().enumerate() {
                    // Lone surrogates (high and low) at places of the stream.
                    let at = (*n as usize * (i + 7)) % (units.len() + 1);
                    units.insert(at, 0xD800 | (n & 0x7FF));
                }
                let bom: &[u16] = if how == 2 { &[0xFEFF] } else { &[] };
                bom.iter()
                    .chain(&units)
                    .flat_map(|u| {
                        if how == 2 {
                            u.to_le_bytes()
                        } else {
                            u.to_be_bytes()
                        }
                    })
                    .collect()
            }
            4 => encoding_rs::GB18030.encode(&text).0.into_owned(),
            5 => encoding_rs::BIG5.encode(&text).0.into_owned(),
            _ => {
                let mut b = text.into_bytes();
                for n in noise {
                    if !b.is_empty() {
                        let at = n as usize % b.len();
                        b[at] ^= (n >> 8) as u8 | 0x80;
                    }
                }
                b
            }
        });
    prop_oneof![
        3 => text_bytes,
        1 => proptest::collection::vec(any::<u8>(), 0..4000),
    ]
}

fn fuzz_config() -> ProptestConfig {
    let cases = std::env::var("CELLKG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 24 } else { 200 });
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Arbitrary Unicode, built from pieces that reach the rules.
    #[test]
    fn fuzz_extraction_of_unicode_text(text in fragment_text()) {
        check_extraction(&text).map_err(TestCaseError::fail)?;
    }

    /// Arbitrary bytes through decoding, markup blanking and extraction.
    #[test]
    fn fuzz_ingest_and_extraction_of_bytes(bytes in byte_stream()) {
        check_bytes(&bytes).map_err(TestCaseError::fail)?;
    }
}

/// The kept corpus: files that once failed or are nasty, replayed through ingest and extraction.
#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = root().join("tests/fixtures/fuzz");
    let mut n = 0;
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    names.sort();
    for path in names {
        let bytes = fs::read(&path).unwrap();
        check_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 10, "only {n} files in the fuzz corpus");
}

/// Inputs too big to keep as files: very long lines, deep brackets, many tabs and numbers.
#[test]
fn fuzz_huge_inputs() {
    let han: String = seed_chars()
        .iter()
        .filter(|c| !c.is_whitespace())
        .take(5000)
        .collect();
    let mut long_line = String::new();
    while long_line.chars().count() < 200_000 {
        long_line.push_str(&han);
        long_line.push_str("CAR-T靶向CD19，120万元");
    }
    let inputs = [
        long_line,
        "a".repeat(200_000),
        "\t".repeat(100_000) + "CD19" + &"\t".repeat(100_000),
        "（".repeat(20_000) + "奕凯达" + &"）".repeat(20_000),
        "(【《「".repeat(10_000),
        "1".repeat(50_000) + "万亿元",
        "1万".repeat(30_000),
        "120万元，".repeat(20_000),
        "| a |".repeat(20_000) + "\n|---|\n" + &"| 奕凯达 | CD19 |\n".repeat(2_000),
        "\u{0301}".repeat(100_000),
        "👩‍🔬".repeat(30_000),
        "\n".repeat(100_000),
    ];
    for text in &inputs {
        let t = Instant::now();
        check_extraction(text)
            .unwrap_or_else(|e| panic!("{}…: {e}", text.chars().take(20).collect::<String>()));
        check_bytes(&utf16(text, false, false)).unwrap();
        assert!(
            // A guard against quadratic blow-ups (minutes to hours on these inputs), not a speed
            // test: generous enough for a loaded 2-core machine.
            t.elapsed() < Duration::from_secs(if cfg!(debug_assertions) { 600 } else { 120 }),
            "{}…: {:?}",
            text.chars().take(20).collect::<String>(),
            t.elapsed()
        );
    }
}

// ------------------------------------------------------------------------------ output safety

/// Labels that break writers that do not escape: quotes, backslashes, newlines, `<`, `&`, CDATA
/// ends, triple quotes, RDF and CSV specials.
const NASTY: &[(&str, &str, &str)] = &[
    // (slug, Turtle-escaped label, the label)
    ("quote-cel", "Quo\\\"te-cel", "Quo\"te-cel"),
    ("backslash-cel", "Back\\\\slash-cel", "Back\\slash-cel"),
    ("angle-cel", "<Angle&Amp>-cel", "<Angle&Amp>-cel"),
    ("cdata-cel", "]]>Cdata-cel", "]]>Cdata-cel"),
    ("triple-cel", "\\\"\\\"\\\"Triple-cel", "\"\"\"Triple-cel"),
    (
        "hash-cel",
        "Hash#comma,percent%20{x}-cel",
        "Hash#comma,percent%20{x}-cel",
    ),
    ("pipe-cel", "Pipe|cel'apos", "Pipe|cel'apos"),
    ("dollar-cel", "$Dollar@at=plus+cel", "$Dollar@at=plus+cel"),
];

#[test]
fn exports_stay_valid_for_labels_full_of_special_characters() {
    let dir = tempfile::tempdir().unwrap();
    let onto = ontology_copy(dir.path());
    let mut ttl = String::from(
        "@prefix ckg: <https://w3id.org/cellkg/ontology#> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\
         @prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
         @prefix product: <https://w3id.org/cellkg/id/product/> .\n\
         @prefix target: <https://w3id.org/cellkg/id/target/> .\n\n",
    );
    for (slug, escaped, _) in NASTY {
        ttl.push_str(&format!(
            "product:{slug} a ckg:Product ; rdfs:label \"{escaped}\"@en ;\n    \
             skos:altLabel \"{escaped} alt\\nline\\ttab\" ; ckg:targets target:cd19 .\n"
        ));
    }
    fs::write(onto.join("lexicon/zz_nasty.ttl"), ttl).unwrap();

    let corpus = dir.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    let mut doc = String::from("CAR-T 细胞疗法新闻\n");
    for (_, _, label) in NASTY {
        doc.push_str(&format!(
            "{label} 是一款靶向 CD19 的 CAR-T 产品，由复星凯特开发，每剂售价 120 万元。\n"
        ));
    }
    doc.push_str(
        "国家卫健委发布《\"引号\"与\\反斜杠<尖括号>&]]>细胞治疗指南》，\
         新的 \"\"\"Z<&>\"\"\"医院 开展 CAR-T 治疗。\n",
    );
    // A document name that needs escaping in IRIs, CSV, DOT and XML.
    fs::write(corpus.join("doc \"quoted\" & <angle> #1 100%.txt"), &doc).unwrap();
    fs::write(
        corpus.join("plain.txt"),
        seed_text("002_8a6ad540edda0fe5.txt"),
    )
    .unwrap();

    let out = build(dir.path(), &[&corpus], &onto, &[]);
    assert_ok(&out, "the build with nasty labels");
    let exports = dir.path().join("exports");
    let nodes = read_csv(&exports.join("nodes.csv"));
    for (slug, _, label) in NASTY {
        let id = format!("product/{slug}");
        let row = nodes
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in nodes.csv (not mentioned?)"));
        assert!(
            row["label"] == *label || row["label_en"] == *label,
            "{id}: label {:?} / {:?} does not round-trip {label:?}",
            row["label"],
            row["label_en"]
        );
    }

    // CSV: every file parses with the same number of fields per row.
    let mut csvs = Vec::new();
    for (name, _) in snapshot(&exports) {
        if name.extension().is_some_and(|e| e == "csv") {
            let path = exports.join(&name);
            let mut reader = csv::ReaderBuilder::new().from_path(&path).unwrap();
            for r in reader.records() {
                r.unwrap_or_else(|e| panic!("{}: {e}", name.display()));
            }
            csvs.push(path);
        }
    }
    assert!(csvs.len() >= 7, "{csvs:?}");
    let mentions = read_csv(&exports.join("mentions.csv"));
    let text: Vec<char> = doc.chars().collect();
    for m in mentions
        .iter()
        .filter(|m| m["document"].starts_with("doc "))
    {
        let (a, b) = (m["start"].parse().unwrap(), m["end"].parse().unwrap());
        assert_eq!(slice(&text, a, b).as_deref(), Some(m["surface"].as_str()));
    }

    // RDF: Turtle and N-Quads parse, and the labels come back exactly.
    let mut labels = BTreeSet::new();
    for (name, format) in [
        ("graph.ttl", oxigraph::io::RdfFormat::Turtle),
        ("graph.nq", oxigraph::io::RdfFormat::NQuads),
    ] {
        let bytes = fs::read(exports.join(name)).unwrap();
        for q in oxigraph::io::RdfParser::from_format(format).for_slice(&bytes) {
            let q = q.unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
            if let oxigraph::model::Term::Literal(l) = &q.object {
                labels.insert(l.value().to_string());
            }
        }
    }
    for (_, _, label) in NASTY {
        assert!(
            labels.contains(*label),
            "{label:?} is not a literal of the RDF"
        );
    }

    // JSON.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(exports.join("graph.json")).unwrap())
            .expect("graph.json parses");
    let json_text = json.to_string();
    for (_, _, label) in NASTY {
        let encoded = serde_json::to_string(label).unwrap();
        assert!(json_text.contains(&encoded), "{label:?} not in graph.json");
    }

    // GraphML: well-formed XML (our own check, and Python's parser when there is one).
    let graphml = fs::read_to_string(exports.join("graph.graphml")).unwrap();
    check_xml(&graphml).unwrap_or_else(|e| panic!("graph.graphml: {e}"));
    let unescaped = xml_unescape(&graphml);
    for (_, _, label) in NASTY {
        assert!(unescaped.contains(label), "{label:?} not in graph.graphml");
    }
    let python = std::env::var("CELLKG_PYTHON").unwrap_or_else(|_| "python3".into());
    if tool(
        &python,
        &["-c", "import xml.etree.ElementTree"],
        "the GraphML parse",
    ) {
        let o = Command::new(&python)
            .args([
                "-c",
                "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])",
            ])
            .arg(exports.join("graph.graphml"))
            .output()
            .unwrap();
        assert!(o.status.success(), "python: {}", stderr(&o));
    }
    if std::env::var("CELLKG_PYTHON").is_ok()
        && tool(&python, &["-c", "import pandas"], "the pandas CSV check")
    {
        let o = Command::new(&python)
            .args([
                "-c",
                "import sys, pandas\nfor p in sys.argv[1:]: pandas.read_csv(p, dtype=str, keep_default_na=False)",
            ])
            .args(&csvs)
            .output()
            .unwrap();
        assert!(o.status.success(), "pandas: {}", stderr(&o));
    }

    // DOT: Graphviz reads it.
    if tool("dot", &["-V"], "the DOT parse") {
        let o = Command::new("dot")
            .args(["-Tsvg", "-o", "/dev/null"])
            .arg(exports.join("graph.dot"))
            .output()
            .unwrap();
        assert!(o.status.success(), "dot: {}", stderr(&o));
        assert!(
            !stderr(&o).to_lowercase().contains("syntax error"),
            "{}",
            stderr(&o)
        );
    }
}

/// Resolves the predefined entities and character references of (well-formed) XML text.
fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map(|e| i + e).unwrap_or(rest.len() - 1);
        let name = &rest[i + 1..end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&rest[i..=end]),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A small well-formedness check: balanced tags, quoted attributes, no raw `<` or `&` in text
/// or attribute values, only known entity references.
fn check_xml(xml: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let check_text = |t: &str| -> Result<(), String> {
        let mut t = t;
        while let Some(i) = t.find('&') {
            let end = t[i..].find(';').ok_or_else(|| format!("bare & in {t:?}"))?;
            let name = &t[i + 1..i + end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix("#x")
                    .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                || name
                    .strip_prefix('#')
                    .is_some_and(|d| d.parse::<u32>().is_ok());
            if !ok {
                return Err(format!("bad entity &{name};"));
            }
            t = &t[i + end + 1..];
        }
        if t.contains(|c: char| c == '\u{0}' || (c < ' ' && !matches!(c, '\n' | '\r' | '\t'))) {
            return Err(format!("control character in {t:?}"));
        }
        Ok(())
    };
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open])?;
        rest = &rest[open..];
        if rest.starts_with("<?") {
            rest = &rest[rest.find("?>").ok_or("unclosed <?")? + 2..];
            continue;
        }
        if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->").ok_or("unclosed comment")? + 3..];
            continue;
        }
        // Find the end of the tag, skipping quoted attribute values.
        let mut quote = None;
        let mut end = None;
        for (i, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some(_), '<') => return Err(format!("raw < in an attribute: {}", &rest[..i])),
                (None, '<') => return Err(format!("< inside a tag: {}", &rest[..i])),
                (None, '>') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("unclosed tag")?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        for value in tag.split('"').skip(1).step_by(2) {
            check_text(value)?;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        if tag.starts_with('/') {
            let top = stack
                .pop()
                .ok_or(format!("</{name}> without an opening tag"))?;
            if top != name {
                return Err(format!("</{name}> closes <{top}>"));
            }
        } else if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed elements {stack:?}"))
    }
}
