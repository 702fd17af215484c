//! Segments a document and builds the normalised view used for matching, with an offset map.
//!
//! In: the original decoded text. Out: [`Segment`]s (sentences, table headers and rows), each
//! with a [`NormText`]: the text after NFKC (full-width → half-width), traditional → simplified
//! (OpenCC tables, character by character so that offsets stay one-to-one), whitespace and line
//! breaks next to CJK removed ("CAR-T 细胞 疗法" → "CAR-T细胞疗法", "第\n一医院" → "第一医院"),
//! other whitespace runs collapsed to one space. Every normalised character maps back to the
//! range of original characters it came from, so any match converts to original offsets.
//! Hard-wrapped documents (lines cut mid-sentence) are detected and their lines joined.
//! It does not find entities: see `extract`.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::ontology::SegmentationRules;

/// Per-character normaliser: NFKC then traditional → simplified, precomputed for the BMP.
pub struct Normalizer {
    /// For each BMP code point: the single normalised char, or `MULTI` when NFKC expands it;
    /// with `SPACE` set when the char or its normalised form is white space (or a zero-width
    /// space or byte-order mark), which [`NormBuilder::push_range`] does not take in one step.
    table: Vec<u32>,
    /// Expansions of the `MULTI` entries (and of astral chars on demand).
    multi: HashMap<u32, String>,
    /// Traditional → simplified for Han characters.
    t2s: HashMap<char, char>,
}

const MULTI: u32 = u32::MAX;
/// The flag of table entries for white space (see [`Normalizer::table`]); above any char.
const SPACE: u32 = 1 << 31;

impl Normalizer {
    /// Builds the tables (a few milliseconds).
    pub fn new() -> Result<Normalizer> {
        let opencc =
            ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
                .map_err(|e| Error::Other(format!("loading OpenCC t2s tables: {e}")))?;
        // Convert every Han char on its own line so that phrase rules cannot join neighbours.
        let han: Vec<char> = (0x3400u32..=0x4DBF)
            .chain(0x4E00..=0x9FFF)
            .chain(0xF900..=0xFAFF)
            .filter_map(char::from_u32)
            .collect();
        let joined: String = han.iter().flat_map(|&c| [c, '\n']).collect();
        let converted = opencc.convert(&joined);
        let mut t2s = HashMap::new();
        let lines: Vec<&str> = converted.split('\n').collect();
        if lines.len() >= han.len() {
            for (c, line) in han.iter().zip(lines) {
                let mut it = line.chars();
                if let (Some(s), None) = (it.next(), it.next()) {
                    if s != *c {
                        t2s.insert(*c, s);
                    }
                }
            }
        }
        let mut table = vec![0u32; 0x10000];
        let mut multi = HashMap::new();
        for cp in 0u32..0x10000 {
            let Some(c) = char::from_u32(cp) else {
                table[cp as usize] = cp;
                continue;
            };
            if cp < 0x80 {
                table[cp as usize] = cp;
                continue;
            }
            let n: String = std::iter::once(c).nfkc().collect();
            let mut it = n.chars();
            match (it.next(), it.next()) {
                (Some(s), None) => {
                    let s = t2s.get(&s).copied().unwrap_or(s);
                    table[cp as usize] = s as u32;
                }
                (None, _) => table[cp as usize] = cp,
                _ => {
                    table[cp as usize] = MULTI;
                    let s: String = n
                        .chars()
                        .map(|x| t2s.get(&x).copied().unwrap_or(x))
                        .collect();
                    multi.insert(cp, s);
                }
            }
        }
        for (cp, m) in table.iter_mut().enumerate() {
            let spacey = |c: Option<char>| {
                c.is_some_and(|c| c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}')
            };
            if *m != MULTI && (spacey(char::from_u32(cp as u32)) || spacey(char::from_u32(*m))) {
                *m |= SPACE;
            }
        }
        Ok(Normalizer { table, multi, t2s })
    }

    /// The normalised form of `c` when it is one char from the table (nearly always), without
    /// building a string; `None` when [`Normalizer::push_char`] must be asked.
    #[inline]
    fn map_one(&self, c: char) -> Option<char> {
        let cp = c as u32;
        if cp < 0x10000 {
            let m = self.table[cp as usize];
            if m != MULTI {
                return Some(char::from_u32(m & !SPACE).unwrap_or(c));
            }
        }
        None
    }

    /// Normalises one character into `out` (usually one char; NFKC may give several).
    #[inline]
    pub fn push_char(&self, c: char, out: &mut String) -> usize {
        let cp = c as u32;
        if cp < 0x10000 {
            let m = self.table[cp as usize];
            if m != MULTI {
                out.push(char::from_u32(m & !SPACE).unwrap_or(c));
                return 1;
            }
            if let Some(s) = self.multi.get(&cp) {
                out.push_str(s);
                return s.chars().count();
            }
            out.push(c);
            1
        } else {
            let n: String = std::iter::once(c).nfkc().collect();
            let mut k = 0;
            for x in n.chars() {
                out.push(self.t2s.get(&x).copied().unwrap_or(x));
                k += 1;
            }
            k
        }
    }

    /// Normalises a label the way text is normalised (for building the dictionary).
    pub fn normalize_label(&self, label: &str) -> String {
        let chars: Vec<char> = label.chars().collect();
        let mut nt = NormBuilder::new(self);
        nt.push_range(&chars, 0, chars.len());
        nt.finish().text
    }
}

/// True for characters of CJK scripts and CJK punctuation, next to which spaces are dropped.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3000..=0x303F | 0x3040..=0x30FF | 0x3100..=0x312F | 0x31A0..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFEF | 0x20000..=0x2FFFF | 0x2018..=0x201F | 0x2026 | 0x2014 | 0x00B7)
}

/// True for Han ideographs.
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Normalised text with its map back to the original.
#[derive(Debug, Clone, Default)]
pub struct NormText {
    pub text: String,
    /// Byte offset in `text` of each normalised char, plus `text.len()` at the end.
    byte_of: Vec<u32>,
    /// Original char range of each normalised char.
    orig: Vec<(u32, u32)>,
    /// Byte ranges of table cells in `text` (table rows only).
    pub cells: Vec<(usize, usize)>,
}

impl NormText {
    /// Index of the normalised char at byte offset `b` (or the next one).
    fn char_index(&self, b: usize) -> usize {
        match self.byte_of.binary_search(&(b as u32)) {
            Ok(i) => i,
            Err(i) => i,
        }
    }

    /// Original char range covered by the normalised byte range `[start, end)`.
    pub fn orig_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.orig.is_empty() {
            return (0, 0);
        }
        let a = self.char_index(start).min(self.orig.len() - 1);
        let b = self.char_index(end).max(a + 1).min(self.orig.len());
        (self.orig[a].0 as usize, self.orig[b - 1].1 as usize)
    }

    /// Original char offset where the normalised byte offset `b` starts.
    pub fn orig_start(&self, b: usize) -> usize {
        self.orig_range(b, b + 1).0
    }
}

/// Builds a [`NormText`] from pieces of the original text.
pub struct NormBuilder<'a> {
    n: &'a Normalizer,
    out: NormText,
    /// A whitespace run waiting for the next char to decide whether it stays.
    pending_space: Option<u32>,
}

impl<'a> NormBuilder<'a> {
    pub fn new(n: &'a Normalizer) -> Self {
        NormBuilder {
            n,
            out: NormText::default(),
            pending_space: None,
        }
    }

    /// Appends original chars `chars[start..end]` (indices are original char offsets).
    pub fn push_range(&mut self, chars: &[char], start: usize, end: usize) {
        let end = end.min(chars.len());
        let n = end.saturating_sub(start);
        self.out.text.reserve(n * 3);
        self.out.byte_of.reserve(n);
        self.out.orig.reserve(n);
        // The normalised form of a char: one char, from the table, for nearly all of them
        // (encoded on the stack); a string otherwise.
        let mut one = [0u8; 4];
        let mut several = String::new();
        for (i, &c) in chars.iter().enumerate().take(end).skip(start) {
            // Nearly every char: one char from the table, not white space, no space pending.
            if let Some(&m) = self.n.table.get(c as usize) {
                if m & SPACE == 0 && self.pending_space.is_none() {
                    if let Some(m) = char::from_u32(m) {
                        self.out.byte_of.push(self.out.text.len() as u32);
                        self.out.text.push(m);
                        self.out.orig.push((i as u32, i as u32 + 1));
                        continue;
                    }
                }
            }
            if c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}' {
                if self.pending_space.is_none() {
                    self.pending_space = Some(i as u32);
                }
                continue;
            }
            let norm: &str = match self.n.map_one(c) {
                Some(m) => m.encode_utf8(&mut one),
                None => {
                    several.clear();
                    self.n.push_char(c, &mut several);
                    &several
                }
            };
            self.push_normalised(i, c, norm);
        }
    }

    /// Appends `norm`, the normalised form of the original char `c` at `i`.
    fn push_normalised(&mut self, i: usize, c: char, norm: &str) {
        let before = self.out.text.len();
        let first = norm.chars().next().unwrap_or(c);
        if first.is_whitespace() {
            if self.pending_space.is_none() {
                self.pending_space = Some(i as u32);
            }
            return;
        }
        if let Some(sp) = self.pending_space.take() {
            let prev = self.out.text.chars().next_back();
            if let Some(p) = prev {
                if !is_cjk(p) && !is_cjk(first) {
                    self.out.byte_of.push(before as u32);
                    self.out.text.push(' ');
                    self.out.orig.push((sp, sp + 1));
                }
            }
        }
        let base = self.out.text.len();
        self.out.text.push_str(norm);
        let mut off = base;
        for ch in norm.chars() {
            self.out.byte_of.push(off as u32);
            self.out.orig.push((i as u32, i as u32 + 1));
            off += ch.len_utf8();
        }
    }

    /// Appends a separator char that stands for no original text (between table cells).
    pub fn push_separator(&mut self, sep: char, at: usize) {
        self.pending_space = None;
        self.out.byte_of.push(self.out.text.len() as u32);
        self.out.text.push(sep);
        self.out.orig.push((at as u32, at as u32));
    }

    /// Current byte length (to record cell ranges).
    pub fn len(&self) -> usize {
        self.out.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.text.is_empty()
    }

    pub fn add_cell(&mut self, start: usize, end: usize) {
        self.out.cells.push((start, end));
    }

    pub fn finish(mut self) -> NormText {
        self.out.byte_of.push(self.out.text.len() as u32);
        self.out
    }
}

/// What a segment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentKind {
    /// A sentence of prose.
    Text,
    /// The header row of table `table`.
    TableHeader { table: usize },
    /// A body row of table `table`.
    TableRow { table: usize },
}

/// A sentence or a table row, with its original range and its normalised text.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Original char range.
    pub start: usize,
    pub end: usize,
    pub kind: SegmentKind,
    /// Index of the paragraph (prose) or table the segment belongs to.
    pub paragraph: usize,
    pub norm: NormText,
}

/// Splits `text` into segments and normalises each.
pub fn segment(
    text: &str,
    rules: &SegmentationRules,
    n: &Normalizer,
    skip: &[regex::Regex],
) -> (Vec<char>, Vec<Segment>) {
    let chars: Vec<char> = text.chars().collect();
    // Lines as original char ranges (without the newline), and the same as byte ranges of
    // `text` (`line_bytes`), to read a line without copying it.
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut line_bytes: Vec<(usize, usize)> = Vec::new();
    let (mut s, mut sb) = (0, 0);
    for (i, (b, c)) in text.char_indices().enumerate() {
        if c == '\n' {
            let (e, eb) = if i > s && chars[i - 1] == '\r' {
                (i - 1, b - 1)
            } else {
                (i, b)
            };
            lines.push((s, e));
            line_bytes.push((sb, eb));
            s = i + 1;
            sb = b + 1;
        }
    }
    lines.push((s, chars.len()));
    line_bytes.push((sb, text.len()));

    #[derive(PartialEq)]
    enum L {
        Blank,
        Skip,
        Row(Vec<(usize, usize)>),
        MdSep,
        Prose,
    }
    let kinds: Vec<L> = lines
        .iter()
        .zip(&line_bytes)
        .map(|(l, &(from, to))| {
            let s = &text[from..to];
            let t = s.trim();
            if t.is_empty() {
                return L::Blank;
            }
            if skip.iter().any(|r| r.is_match(t)) {
                return L::Skip;
            }
            if t.starts_with('|') && t.ends_with('|') && t.len() > 2 {
                if t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                    return L::MdSep;
                }
                let cells = split_cells(&chars, l.0, l.1, '|');
                if cells.len() >= 2 {
                    return L::Row(cells);
                }
            }
            if s.contains('\t') {
                let cells = split_cells(&chars, l.0, l.1, '\t');
                if cells.len() >= 2 {
                    return L::Row(cells);
                }
            }
            L::Prose
        })
        .collect();

    let line_ends: Vec<char> = rules.line_end.chars().collect();
    let (mut prose, mut unended) = (0usize, 0usize);
    for (l, k) in lines.iter().zip(&kinds) {
        if *k == L::Prose {
            prose += 1;
            let last = chars[l.0..l.1].iter().rev().find(|c| !c.is_whitespace());
            if last.is_some_and(|c| !line_ends.contains(c)) {
                unended += 1;
            }
        }
    }
    let wrapped = prose >= 5 && unended as f64 > rules.wrapped_ratio * prose as f64;

    let mut segments = Vec::new();
    let mut paragraph = 0usize;
    let mut table = 0usize;
    let mut i = 0;
    let mut in_table = false;
    while i < lines.len() {
        match &kinds[i] {
            L::Blank | L::Skip => {
                in_table = false;
                i += 1;
            }
            L::MdSep => i += 1,
            L::Row(cells) => {
                let kind = if in_table {
                    SegmentKind::TableRow { table }
                } else {
                    table += 1;
                    paragraph += 1;
                    in_table = true;
                    // A header only when another row follows.
                    let next_row = kinds[i + 1..]
                        .iter()
                        .find(|k| **k != L::MdSep)
                        .is_some_and(|k| matches!(k, L::Row(_)));
                    if next_row {
                        SegmentKind::TableHeader { table }
                    } else {
                        SegmentKind::TableRow { table }
                    }
                };
                let mut b = NormBuilder::new(n);
                for (ci, (cs, ce)) in cells.iter().enumerate() {
                    if ci > 0 {
                        b.push_separator('\t', *cs);
                    }
                    let start = b.len();
                    b.push_range(&chars, *cs, *ce);
                    let end = b.len();
                    b.add_cell(start, end);
                }
                segments.push(Segment {
                    start: lines[i].0,
                    end: lines[i].1,
                    kind,
                    paragraph,
                    norm: b.finish(),
                });
                i += 1;
            }
            L::Prose => {
                in_table = false;
                paragraph += 1;
                // A paragraph: one line, or in wrapped documents all lines up to a blank one
                // (or a line that ends a sentence followed by a short heading-like line).
                let start = lines[i].0;
                let mut end = lines[i].1;
                let mut j = i + 1;
                if wrapped {
                    while j < lines.len() && kinds[j] == L::Prose {
                        end = lines[j].1;
                        j += 1;
                    }
                } else {
                    // A stray break inside a sentence: a long line that ends mid-sentence
                    // continues on the next line when that starts with a CJK character.
                    while j < lines.len() && kinds[j] == L::Prose {
                        let (ps, pe) = (lines[j - 1].0, lines[j - 1].1);
                        let last = chars[ps..pe].iter().rev().find(|c| !c.is_whitespace());
                        let first = chars[lines[j].0..lines[j].1]
                            .iter()
                            .find(|c| !c.is_whitespace());
                        let long = pe - ps >= 20;
                        let joins = long
                            && last.is_some_and(|c| !line_ends.contains(c))
                            && first.is_some_and(|&c| is_han(c));
                        if !joins {
                            break;
                        }
                        end = lines[j].1;
                        j += 1;
                    }
                }
                split_sentences(&chars, start, end, rules, n, paragraph, &mut segments);
                i = j;
            }
        }
    }
    (chars, segments)
}

fn split_cells(chars: &[char], start: usize, end: usize, sep: char) -> Vec<(usize, usize)> {
    let mut cells = Vec::new();
    let mut s = start;
    for i in start..=end {
        if i == end || chars[i] == sep {
            let (mut a, mut b) = (s, i);
            while a < b && chars[a].is_whitespace() {
                a += 1;
            }
            while b > a && chars[b - 1].is_whitespace() {
                b -= 1;
            }
            if a < b {
                cells.push((a, b));
            }
            s = i + 1;
        }
    }
    cells
}

fn split_sentences(
    chars: &[char],
    start: usize,
    end: usize,
    rules: &SegmentationRules,
    n: &Normalizer,
    paragraph: usize,
    out: &mut Vec<Segment>,
) {
    let enders: Vec<char> = rules.sentence_end.chars().collect();
    let closers = ['”', '’', '」', '』', ')', '）', '"', '\''];
    let mut s = start;
    let mut i = start;
    let mut depth = 0i32;
    while i < end {
        let c = chars[i];
        match c {
            '(' | '（' | '“' | '「' | '《' => depth += 1,
            ')' | '）' | '”' | '」' | '》' => depth = (depth - 1).max(0),
            _ => {}
        }
        let english_stop = c == '.'
            && i + 1 < end
            && chars[i + 1].is_whitespace()
            && i > start
            && chars[i - 1].is_ascii_lowercase()
            && chars[i + 1..end]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(|c| c.is_uppercase() || is_han(*c));
        let long_clause = depth > 0 && i - s > 400;
        if (enders.contains(&c) && (depth == 0 || long_clause)) || english_stop {
            let mut e = i + 1;
            while e < end && closers.contains(&chars[e]) {
                e += 1;
            }
            push_sentence(chars, s, e, n, paragraph, out);
            s = e;
            i = e;
            depth = 0;
            continue;
        }
        i += 1;
    }
    push_sentence(chars, s, end, n, paragraph, out);
}

fn push_sentence(
    chars: &[char],
    mut s: usize,
    mut e: usize,
    n: &Normalizer,
    paragraph: usize,
    out: &mut Vec<Segment>,
) {
    while s < e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e - 1].is_whitespace() {
        e -= 1;
    }
    if s >= e {
        return;
    }
    let mut b = NormBuilder::new(n);
    b.push_range(chars, s, e);
    out.push(Segment {
        start: s,
        end: e,
        kind: SegmentKind::Text,
        paragraph,
        norm: b.finish(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(n: &Normalizer, s: &str) -> (String, NormText) {
        let chars: Vec<char> = s.chars().collect();
        let mut b = NormBuilder::new(n);
        b.push_range(&chars, 0, chars.len());
        let t = b.finish();
        (t.text.clone(), t)
    }

    #[test]
    fn spaces_and_breaks_inside_cjk_words_are_removed() {
        let n = Normalizer::new().unwrap();
        assert_eq!(norm(&n, "CAR-T 细胞 疗法").0, "CAR-T细胞疗法");
        assert_eq!(norm(&n, "暨南大学附属第\n一医院").0, "暨南大学附属第一医院");
        assert_eq!(norm(&n, "120 万").0, "120万");
        assert_eq!(norm(&n, "Kite  Pharma").0, "Kite Pharma");
    }

    #[test]
    fn traditional_and_fullwidth_are_normalised_with_offsets() {
        let n = Normalizer::new().unwrap();
        let (t, nt) = norm(&n, "臍帶間充質幹細胞（ＭＳＣ）");
        assert_eq!(t, "脐带间充质干细胞(MSC)");
        let b = t.find("MSC").unwrap();
        assert_eq!(nt.orig_range(b, b + 3), (9, 12));
    }
}
