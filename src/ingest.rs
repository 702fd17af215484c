//! Reads the corpus: walks the given paths, decodes each file and keeps its original text.
//!
//! In: files and directories. Out: [`SourceDoc`]s in path order, each with its decoded text and a
//! [`DocumentInfo`]. Encodings are detected per file — BOM first (UTF-8, UTF-16 LE/BE), then
//! strict UTF-8, then chardetng (GB18030/GBK, Big5, …) with encoding_rs decoding; invalid
//! sequences are replaced and counted. Binary files are skipped with a reason. HTML is reduced to
//! its text with offsets kept (tags and entities replaced by spaces of the same length would
//! break `text[start:end]`, so the decoded *original* is the text with markup blanked out).
//! Markdown likewise: heading marks, emphasis, code backticks and link syntax (`[text](url)`,
//! `<url>`) are blanked, the link text kept; table pipes stay for `normalize`.
//! It does not normalise or segment: see `normalize`.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::DocumentInfo;

/// A decoded document.
#[derive(Debug, Clone)]
pub struct SourceDoc {
    pub info: DocumentInfo,
    /// The decoded text, BOM removed. All offsets point into this text.
    pub text: String,
}

/// Files to read (corpus root, file) and files skipped (path, reason).
pub type FileList = (Vec<(PathBuf, PathBuf)>, Vec<(String, String)>);

/// Extensions read as documents.
const TEXT_EXTENSIONS: &[&str] = &["txt", "md", "markdown", "html", "htm", "text"];

/// Lists the document files under `paths` (recursively), sorted, with the root each belongs to.
/// Files named README (any extension) and hidden files are not documents.
pub fn collect_files(paths: &[PathBuf]) -> Result<FileList> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for root in paths {
        let meta = fs::metadata(root).map_err(|e| Error::io(root, e))?;
        if meta.is_file() {
            let base = root.parent().map(Path::to_path_buf).unwrap_or_default();
            files.push((base, root.clone()));
            continue;
        }
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let rd = fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| Error::io(&dir, e))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with('.') {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else if name.to_ascii_lowercase().starts_with("readme") {
                    continue;
                } else if is_text_name(&path) {
                    files.push((root.clone(), path));
                } else {
                    skipped.push((
                        path.display().to_string(),
                        "not a text document (extension)".to_string(),
                    ));
                }
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    files.dedup_by(|a, b| a.1 == b.1);
    Ok((files, skipped))
}

fn is_text_name(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => TEXT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()),
    }
}

/// Document id: the path relative to its root without extension, `/`-separated.
pub fn document_id(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let stem = rel.with_extension("");
    stem.components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a file could not be read as a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Binary,
    Empty,
}

/// Decodes bytes: returns (text, encoding name, replaced sequences) or why it is not text.
pub fn decode(bytes: &[u8]) -> std::result::Result<(String, &'static str, usize), Skip> {
    if bytes.is_empty() {
        return Err(Skip::Empty);
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let replaced = if had_errors {
            count_replacements(&text)
        } else {
            0
        };
        return Ok((text.into_owned(), enc.name(), replaced));
    }
    if let Some(enc) = sniff_utf16(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        let replaced = if had_errors {
            count_replacements(&text)
        } else {
            0
        };
        return Ok((text.into_owned(), enc.name(), replaced));
    }
    if looks_binary(bytes) {
        return Err(Skip::Binary);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8", 0));
    }
    if mostly_utf8(bytes) {
        // UTF-8 with a few broken sequences (a truncated copy, a stray byte): a legacy-encoding
        // guess would garble the whole text, so replace the broken sequences only.
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(bytes);
        let replaced = bytes
            .utf8_chunks()
            .filter(|c| !c.invalid().is_empty())
            .count();
        return Ok((text.into_owned(), "UTF-8", replaced));
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let enc = detector.guess(None, chardetng::Utf8Detection::Allow);
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    let replaced = if had_errors {
        count_replacements(&text)
    } else {
        0
    };
    Ok((text.into_owned(), enc.name(), replaced))
}

fn count_replacements(text: &str) -> usize {
    text.chars().filter(|&c| c == '\u{FFFD}').count()
}

/// UTF-16 without BOM: many NUL bytes at one parity.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sample = &bytes[..bytes.len().min(4096)];
    let (mut even, mut odd) = (0usize, 0usize);
    for (i, b) in sample.iter().enumerate() {
        if *b == 0 {
            if i % 2 == 0 {
                even += 1
            } else {
                odd += 1
            }
        }
    }
    let half = sample.len() / 2;
    if odd * 10 > half * 3 && even * 10 < half {
        return Some(encoding_rs::UTF_16LE);
    } else if even * 10 > half * 3 && odd * 10 < half {
        return Some(encoding_rs::UTF_16BE);
    }
    // Text with little ASCII (Chinese): few NULs, but nearly all at one parity (the high byte of
    // ASCII characters), and the sample decodes to characters that text is made of.
    let candidate = if odd > 0 && even * 10 < odd {
        encoding_rs::UTF_16LE
    } else if even > 0 && odd * 10 < even {
        encoding_rs::UTF_16BE
    } else {
        return None;
    };
    let (text, _) = candidate.decode_without_bom_handling(sample);
    let (mut total, mut texty) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if matches!(c, '\n' | '\r' | '\t' | ' '..='~' | '\u{A0}'..='\u{24F}' | '\u{2000}'..='\u{206F}'
            | '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
        {
            texty += 1;
        }
    }
    (total > 0 && texty * 100 >= total * 95).then_some(candidate)
}

/// Not valid UTF-8, but nearly: many multi-byte characters and few broken sequences.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
        }
    }
    multibyte >= 8 && invalid * 20 <= multibyte
}

/// Binary: NUL bytes or many control bytes in the first 8 KiB, or a known image/archive magic.
fn looks_binary(bytes: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"\x89PNG",
        b"GIF8",
        b"\xFF\xD8\xFF",
        b"PK\x03\x04",
        b"%PDF",
        b"\x1F\x8B",
        b"\x7FELF",
    ];
    if MAGIC.iter().any(|m| bytes.starts_with(m)) {
        return true;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    let controls = sample
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C | 0x1B)))
        .count();
    controls > 0 && (sample.contains(&0) || controls * 100 > sample.len())
}

/// Blanks out HTML markup (tags, comments, script/style bodies) and decodes the common
/// character entities in place, padding with spaces so that every offset stays valid.
pub fn strip_html(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let rest = &lower[i..];
        if rest.starts_with("<script") || rest.starts_with("<style") {
            let close = if rest.starts_with("<script") {
                "</script>"
            } else {
                "</style>"
            };
            let end = rest
                .find(close)
                .map(|p| i + p + close.len())
                .unwrap_or(bytes.len());
            blank(&text[i..end], &mut out);
            i = end;
        } else if rest.starts_with("<!--") {
            let end = rest.find("-->").map(|p| i + p + 3).unwrap_or(bytes.len());
            blank(&text[i..end], &mut out);
            i = end;
        } else if bytes[i] == b'<'
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
        {
            let end = rest.find('>').map(|p| i + p + 1).unwrap_or(bytes.len());
            // Block-level tags end a line: keep one newline so that segmentation sees it.
            let tag = &rest[1..(end - i).min(rest.len())];
            let block = [
                "p", "/p", "br", "div", "/div", "li", "h1", "h2", "h3", "h4", "tr", "/tr", "td",
                "th", "table",
            ]
            .iter()
            .any(|t| {
                tag.starts_with(t)
                    && tag[t.len()..].starts_with(|c: char| !c.is_ascii_alphanumeric())
            });
            let piece = &text[i..end];
            let n = piece.chars().count();
            if block && n > 0 {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', n - 1));
            } else {
                blank(piece, &mut out);
            }
            i = end;
        } else if bytes[i] == b'&' {
            let semi = rest.find(';').filter(|&p| p <= 10);
            let decoded = semi.and_then(|p| decode_entity(&text[i + 1..i + p]));
            match (semi, decoded) {
                (Some(p), Some(c)) => {
                    let n = text[i..i + p + 1].chars().count();
                    out.push(c);
                    out.extend(std::iter::repeat_n(' ', n - 1));
                    i += p + 1;
                }
                _ => {
                    out.push('&');
                    i += 1;
                }
            }
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Blanks out Markdown syntax, one space per character so that every offset stays valid:
/// heading marks (`#`), emphasis (`*`, `_` at word edges), code backticks and fences, link and
/// image syntax (`[text](url)`, `![alt](url)`: the brackets and the url; the text stays) and
/// autolinks (`<https://…>`). Table pipes are kept: `normalize` reads Markdown tables.
pub fn strip_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        strip_markdown_line(line, &mut out);
    }
    out
}

fn strip_markdown_line(line: &str, out: &mut String) {
    let chars: Vec<char> = line.chars().collect();
    let mut keep = vec![true; chars.len()];
    let n = chars.len();
    // Leading heading marks and blockquote marks.
    let mut i = chars.iter().take_while(|c| **c == ' ').count();
    let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
    if (1..=6).contains(&hashes) && chars.get(i + hashes).is_none_or(|c| c.is_whitespace()) {
        keep[i..i + hashes].fill(false);
    }
    while chars.get(i) == Some(&'>') {
        keep[i] = false;
        i += 1;
        while chars.get(i) == Some(&' ') {
            i += 1;
        }
    }
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut i = 0;
    while i < n {
        let c = chars[i];
        match c {
            '`' => keep[i] = false,
            '*' => keep[i] = false,
            '_' => {
                let run = chars[i..].iter().take_while(|c| **c == '_').count();
                let (before, after) = (i.checked_sub(1).map(|j| &chars[j]), chars.get(i + run));
                if !(word(before) && word(after)) {
                    keep[i..i + run].fill(false);
                }
                i += run;
                continue;
            }
            '<' => {
                let rest: String = chars[i + 1..].iter().take(8).collect();
                if rest.starts_with("http://") || rest.starts_with("https://") {
                    if let Some(len) = chars[i..].iter().position(|c| *c == '>') {
                        keep[i..=i + len].fill(false);
                        i += len + 1;
                        continue;
                    }
                }
            }
            '[' => {
                if let Some((close, end)) = markdown_link(&chars, i) {
                    let start = if i > 0 && chars[i - 1] == '!' {
                        i - 1
                    } else {
                        i
                    };
                    keep[start..=i].fill(false);
                    keep[close..end].fill(false);
                    // The link text is scanned like the rest of the line.
                    i += 1;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    for (c, k) in chars.iter().zip(keep) {
        out.push(if k || *c == '\n' { *c } else { ' ' });
    }
}

/// A link `[text](url)` opening at `open`: the index of `]` and the index after `)`.
fn markdown_link(chars: &[char], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    for (j, c) in chars.iter().enumerate().skip(open) {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let mut depth = 0usize;
    for (j, c) in chars.iter().enumerate().skip(close + 1) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((close, j + 1));
                }
            }
            c if c.is_whitespace() && *c != ' ' => return None,
            _ => {}
        }
    }
    None
}

fn blank(piece: &str, out: &mut String) {
    for c in piece.chars() {
        out.push(if c == '\n' { '\n' } else { ' ' });
    }
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                num.parse().ok()?
            };
            char::from_u32(code)
        }
    }
}

/// A document's path relative to its corpus root, with `/` between its parts (as the
/// document's [`DocumentInfo::path`] and the cache name it).
pub fn relative_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Reads and decodes one file. `Ok(None)` with a reason when the file is not a text document.
pub fn read_document(root: &Path, path: &Path) -> Result<std::result::Result<SourceDoc, String>> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let sha = format!("{:x}", Sha256::digest(&bytes));
    let (mut text, encoding, replaced) = match decode(&bytes) {
        Ok(t) => t,
        Err(Skip::Binary) => return Ok(Err("binary file, not text".into())),
        Err(Skip::Empty) => return Ok(Err("empty file".into())),
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "html" || ext == "htm" {
        text = strip_html(&text);
    } else if ext == "md" || ext == "markdown" {
        text = strip_markdown(&text);
    }
    let title = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(120)
        .collect();
    let info = DocumentInfo {
        id: document_id(root, path),
        path: relative_path(root, path),
        encoding: encoding.to_string(),
        chars: text.chars().count(),
        sha256: sha,
        title,
        replaced,
    };
    Ok(Ok(SourceDoc { info, text }))
}
