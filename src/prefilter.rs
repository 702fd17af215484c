//! A literal gate for many regexes run over many short texts.
//!
//! Every match of a regex must contain certain literals: `靶向…⟨Target/` needs `靶向` and
//! `⟨Target/`; `(?:纳入|进入)` needs one of `纳入`, `进入`. [`LiteralGate`] reads those required
//! literals off each pattern's syntax tree (as groups: every group must be present, any one
//! literal of a group will do; a pattern that is an alternation at the top has groups per
//! branch, and one branch's groups will do), scans a text once with one Aho-Corasick
//! automaton for all of them, and names the patterns whose groups are all present. Only those need to run: the gate
//! never drops a pattern that could match (a pattern it cannot read a literal from always runs;
//! literals are matched ASCII-case-insensitively, which only lets more through),
//! and it is far cheaper than a multi-pattern overlapping regex search, whose lazy DFA for
//! dozens of patterns with bounded gaps spends its time building states.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Classes with at most this many characters count as literals (`[Aa]` of case-insensitive
/// text, `[、,]` of list separators).
const MAX_CLASS: usize = 8;
/// A group with more literals than this is dropped (it would filter nothing).
const MAX_GROUP: usize = 256;

/// Required-literal groups of a pattern: each group must have one of its literals in the text.
type Groups = Vec<Vec<Vec<u8>>>;

/// The required literals of one branch of a pattern.
struct Branch {
    /// The index of its first group among all branches' groups (see [`LiteralGate::holders`]).
    first: usize,
    /// Its groups, as lists of literal ids.
    groups: Vec<Vec<u32>>,
}

/// The gate of a list of patterns, in order.
pub struct LiteralGate {
    ac: Option<AhoCorasick>,
    /// Per pattern, its branches (one unless it is an alternation at the top).
    patterns: Vec<Vec<Branch>>,
    /// The literals, by id.
    literals: Vec<Vec<u8>>,
    /// Per literal id, its length in bytes.
    lengths: Vec<usize>,
    /// Per literal id, the groups holding it, as a sparse bit set over all branches' groups
    /// (numbered pattern by pattern, branch by branch): (word index, bits of that word).
    holders: Vec<Vec<(u32, u64)>>,
    /// The number of groups of all branches.
    group_count: usize,
    /// Per literal id, the branches whose first group holds it, as (pattern, branch): a
    /// branch can pass only if one of these literals is in the text, so only the branches
    /// listed under the literals found are checked.
    first_of: Vec<Vec<(u32, u32)>>,
    /// The patterns with a branch without groups: they pass whatever the text.
    always: Vec<u32>,
}

impl LiteralGate {
    /// Reads the required literals of each pattern (regex syntax as the `regex` crate takes it).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> std::result::Result<LiteralGate, String> {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut ids = std::collections::HashMap::<Vec<u8>, u32>::new();
        let mut gated = Vec::with_capacity(patterns.len());
        for p in patterns {
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(p.as_ref())
                .map_err(|e| e.to_string())?;
            let mut branches = Vec::new();
            for groups in branches_of(&hir) {
                let mut as_ids = Vec::with_capacity(groups.len());
                for group in groups {
                    let mut g: Vec<u32> = group
                        .into_iter()
                        .map(|lit| {
                            *ids.entry(lit.clone()).or_insert_with(|| {
                                literals.push(lit);
                                (literals.len() - 1) as u32
                            })
                        })
                        .collect();
                    g.sort_unstable();
                    g.dedup();
                    as_ids.push(g);
                }
                branches.push(as_ids);
            }
            gated.push(branches);
        }
        let ac = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&literals)
                    .map_err(|e| e.to_string())?,
            )
        };
        let mut holders: Vec<Vec<(u32, u64)>> = vec![Vec::new(); literals.len()];
        let mut first_of: Vec<Vec<(u32, u32)>> = vec![Vec::new(); literals.len()];
        let mut always = Vec::new();
        let mut group_count = 0;
        let mut patterns = Vec::with_capacity(gated.len());
        for (pi, branches) in gated.into_iter().enumerate() {
            let mut compiled = Vec::with_capacity(branches.len());
            for (bi, groups) in branches.into_iter().enumerate() {
                match groups.first() {
                    Some(group) => {
                        for &id in group {
                            first_of[id as usize].push((pi as u32, bi as u32));
                        }
                    }
                    None => {
                        if always.last() != Some(&(pi as u32)) {
                            always.push(pi as u32);
                        }
                    }
                }
                let first = group_count;
                for group in &groups {
                    let (word, bit) = ((group_count / 64) as u32, 1u64 << (group_count % 64));
                    for &id in group {
                        let words = &mut holders[id as usize];
                        match words.last_mut() {
                            Some((w, bits)) if *w == word => *bits |= bit,
                            _ => words.push((word, bit)),
                        }
                    }
                    group_count += 1;
                }
                compiled.push(Branch { first, groups });
            }
            patterns.push(compiled);
        }
        Ok(LiteralGate {
            ac,
            lengths: literals.iter().map(Vec::len).collect(),
            literals,
            patterns,
            holders,
            group_count,
            first_of,
            always,
        })
    }

    /// `out[i]` is set to whether pattern `i` may match somewhere in `text`: its groups'
    /// literals occur in the text one after the other, in the order of the pattern.
    ///
    /// Two steps: an inverted index (literal → the groups holding it, as bit sets) first finds
    /// the patterns whose every group has one of its literals somewhere in the text, and only
    /// those have the order of their literals checked, by binary search in the occurrences
    /// sorted by literal and start.
    pub fn candidates(&self, text: &str, out: &mut Vec<bool>) {
        let mut hits = self.occurrences(text);
        self.candidates_from(&mut hits, out);
    }

    /// The number of patterns (the length of the rows [`LiteralGate::candidates_into`] fills).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether the gate has no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// (literal id, start) of every occurrence of the gate's literals in `text`, in the order
    /// the automaton finds them.
    pub fn occurrences(&self, text: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        self.occurrences_into(text, &mut out);
        out
    }

    /// [`LiteralGate::occurrences`] into `out` (cleared first), so that a caller going
    /// through many texts reuses one vector.
    pub fn occurrences_into(&self, text: &str, out: &mut Vec<(u32, usize)>) {
        out.clear();
        if let Some(ac) = &self.ac {
            out.extend(
                ac.find_overlapping_iter(text)
                    .map(|m| (m.pattern().as_u32(), m.start())),
            );
        }
    }

    /// The literals the gate looks for, by id: a caller that scans a text for them together
    /// with patterns of its own passes the occurrences to [`LiteralGate::candidates_from`].
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// [`LiteralGate::candidates`] from the occurrences of the literals in a text, found by an
    /// overlapping, ASCII-case-insensitive search: `hits` holds (literal id, start) of every
    /// occurrence, in any order (it is sorted here).
    pub fn candidates_from(&self, hits: &mut [(u32, usize)], out: &mut Vec<bool>) {
        out.clear();
        out.resize(self.patterns.len(), false);
        self.candidates_into(hits, out);
    }

    /// [`LiteralGate::candidates_from`] into a row of [`LiteralGate::len`] flags (all of them
    /// are set), so that the rows of many texts can share one allocation.
    pub fn candidates_into(&self, hits: &mut [(u32, usize)], out: &mut [bool]) {
        assert_eq!(out.len(), self.patterns.len(), "a row per pattern");
        out.fill(false);
        // Only a pattern with a branch without literals passes whatever the text.
        for &p in &self.always {
            out[p as usize] = true;
        }
        if hits.is_empty() {
            return;
        }
        hits.sort_unstable();
        let hits = &*hits;
        // The groups with a literal in the text, then the literals in the text, as bit sets
        // (on the stack for the gates of the rules, which need a few dozen words).
        let group_words = self.group_count.div_ceil(64);
        let words = group_words + self.literals.len().div_ceil(64);
        let mut on_stack = [0u64; 64];
        let mut on_heap = Vec::new();
        let bits: &mut [u64] = if words <= on_stack.len() {
            &mut on_stack[..words]
        } else {
            on_heap.resize(words, 0);
            &mut on_heap
        };
        let (seen, present) = bits.split_at_mut(group_words);
        let mut previous = None;
        for &(id, _) in hits {
            if previous == Some(id) {
                continue;
            }
            previous = Some(id);
            present[id as usize / 64] |= 1 << (id % 64);
            for &(word, b) in &self.holders[id as usize] {
                seen[word as usize] |= b;
            }
        }
        let (seen, present) = (&*seen, &*present);
        // Only the branches whose first group has a literal in the text can pass.
        let mut previous = None;
        for &(id, _) in hits {
            if previous == Some(id) {
                continue;
            }
            previous = Some(id);
            for &(p, bi) in &self.first_of[id as usize] {
                if out[p as usize] {
                    continue;
                }
                let b = &self.patterns[p as usize][bi as usize];
                if all_set(seen, b.first, b.first + b.groups.len())
                    && in_order(&b.groups, hits, &self.lengths, present)
                {
                    out[p as usize] = true;
                }
            }
        }
    }
}

/// Whether bits `from..to` are all set.
fn all_set(words: &[u64], from: usize, to: usize) -> bool {
    let mut i = from;
    while i < to {
        let (w, b) = (i / 64, i % 64);
        let n = (to - i).min(64 - b);
        let mask = if n == 64 {
            u64::MAX
        } else {
            ((1u64 << n) - 1) << b
        };
        if words[w] & mask != mask {
            return false;
        }
        i += n;
    }
    true
}

/// Whether each group has an occurrence that starts at or after the end of the previous
/// group's (the earliest-ending one that does: that leaves the most room for the next).
/// `hits` are (literal, start), sorted; all occurrences of a literal have its length, so a
/// literal's earliest end after `from` is at its first start after `from`. `present` is the
/// bit set of the literals with occurrences: the others are not looked up.
fn in_order(
    groups: &[Vec<u32>],
    hits: &[(u32, usize)],
    lengths: &[usize],
    present: &[u64],
) -> bool {
    let mut from = 0;
    for group in groups {
        let mut next: Option<usize> = None;
        for &id in group {
            if present[id as usize / 64] & (1 << (id % 64)) == 0 {
                continue;
            }
            let at = hits.partition_point(|&h| h < (id, from));
            if let Some(&(hid, start)) = hits.get(at) {
                if hid == id {
                    let end = start + lengths[id as usize];
                    next = Some(next.map_or(end, |n: usize| n.min(end)));
                }
            }
        }
        match next {
            Some(end) => from = end,
            None => return false,
        }
    }
    true
}

/// The branches of a syntax tree that is an alternation at the top (under capture groups), each
/// with its required-literal groups: every match is a match of one branch. Any other tree is
/// one branch. A branch without groups makes the whole pattern run on every text.
fn branches_of(hir: &Hir) -> Vec<Groups> {
    match hir.kind() {
        HirKind::Capture(cap) => branches_of(&cap.sub),
        HirKind::Alternation(subs) => {
            let mut out = Vec::with_capacity(subs.len());
            for sub in subs {
                let groups: Groups = required(sub)
                    .into_iter()
                    .filter(|g| g.len() <= MAX_GROUP && !g.iter().any(Vec::is_empty))
                    .collect();
                if groups.is_empty() {
                    return vec![Groups::new()];
                }
                out.push(groups);
            }
            out
        }
        _ => vec![required(hir)],
    }
}

/// The required-literal groups of a syntax tree: every match contains, for each group, one of
/// its literals.
fn required(hir: &Hir) -> Groups {
    match hir.kind() {
        HirKind::Literal(lit) => vec![vec![lit.0.to_vec()]],
        HirKind::Class(class) => class_literals(class).map_or_else(Vec::new, |g| vec![g]),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Concat(subs) => {
            // Adjacent literals and one-letter case classes (`[Aa]` of `(?i)`) join into one
            // literal, matched ASCII-case-insensitively.
            let mut groups = Groups::new();
            let mut run: Vec<u8> = Vec::new();
            for sub in subs {
                match sub.kind() {
                    HirKind::Literal(lit) => run.extend_from_slice(&lit.0),
                    HirKind::Class(class) if case_letter(class).is_some() => {
                        run.extend(case_letter(class));
                    }
                    _ => {
                        if !run.is_empty() {
                            groups.push(vec![std::mem::take(&mut run)]);
                        }
                        groups.extend(required(sub));
                    }
                }
            }
            if !run.is_empty() {
                groups.push(vec![run]);
            }
            groups
        }
        HirKind::Alternation(subs) => {
            // A match goes through one branch: the union of each branch's best group is required.
            let mut union: Vec<Vec<u8>> = Vec::new();
            for sub in subs {
                match best(required(sub)) {
                    Some(group) => union.extend(group),
                    None => return Vec::new(),
                }
            }
            union.sort();
            union.dedup();
            if union.len() > MAX_GROUP || union.iter().any(|l| l.is_empty()) {
                Vec::new()
            } else {
                vec![union]
            }
        }
        _ => Vec::new(),
    }
}

/// The most selective group: the one whose shortest literal is longest, then the smallest.
fn best(groups: Groups) -> Option<Vec<Vec<u8>>> {
    groups
        .into_iter()
        .filter(|g| !g.is_empty() && g.len() <= MAX_GROUP)
        .max_by_key(|g| {
            let shortest = g.iter().map(Vec::len).min().unwrap_or(0);
            (shortest, std::cmp::Reverse(g.len()))
        })
}

/// The letter of a class that holds exactly the two ASCII cases of one letter.
fn case_letter(class: &Class) -> Option<u8> {
    let mut chars = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    if chars.len() > 2 || !ch.is_ascii() {
                        return None;
                    }
                    chars.push(ch as u8);
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    if chars.len() > 2 {
                        return None;
                    }
                    chars.push(b);
                }
            }
        }
    }
    match chars[..] {
        [a, b] if a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(&b) => {
            Some(a.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The characters of a small class, each as a literal.
fn class_literals(class: &Class) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    if out.len() >= MAX_CLASS {
                        return None;
                    }
                    out.push(ch.to_string().into_bytes());
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    if out.len() >= MAX_CLASS {
                        return None;
                    }
                    out.push(vec![b]);
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that every pattern matching `text` passes the gate; returns which matched.
    fn assert_never_drops(patterns: &[&str], regexes: &[regex::Regex], text: &str) -> Vec<bool> {
        let gated = gate(patterns, text);
        let matched: Vec<bool> = regexes.iter().map(|re| re.is_match(text)).collect();
        for (i, &m) in matched.iter().enumerate() {
            assert!(
                !m || gated[i],
                "pattern {i} matches {text:?} but was gated out"
            );
        }
        matched
    }

    fn gate(patterns: &[&str], text: &str) -> Vec<bool> {
        let g = LiteralGate::new(patterns).unwrap();
        let mut out = Vec::new();
        g.candidates(text, &mut out);
        out
    }

    #[test]
    fn a_pattern_runs_only_when_its_literals_are_there() {
        let patterns = [
            r"⟨Product/[A-Za-z]+:\d+⟩.{0,10}?(?:靶向|针对)⟨Target/[A-Za-z]+:\d+⟩",
            r"(?i)approved by",
            r"\d+",
        ];
        assert_eq!(
            gate(&patterns, "⟨Product/CarT:1⟩ 针对⟨Target/Antigen:2⟩"),
            [true, false, true]
        );
        // A cue without the tokens, a token without the cue.
        assert_eq!(
            gate(&patterns, "针对⟨Target/Antigen:2⟩"),
            [false, false, true]
        );
        assert_eq!(
            gate(&patterns, "⟨Product/CarT:1⟩ ⟨Target/X:2⟩"),
            [false, false, true]
        );
        // Case-insensitive literals.
        assert_eq!(gate(&patterns, "APPROVED BY"), [false, true, true]);
    }

    #[test]
    fn the_gate_never_drops_a_match() {
        let patterns = [
            r"(?:纳入|进入)(?:了)?(?P<o>[^。]{2,8})",
            r"x?y+(?:ab|cd)*e",
            r"(?:foo|\w+)bar",
        ];
        let texts = [
            "已纳入医保",
            "进入了目录",
            "yyye",
            "ycdcde",
            "zbar",
            "bar",
            "ye",
            "",
        ];
        let regexes: Vec<regex::Regex> = patterns
            .iter()
            .map(|p| regex::Regex::new(p).unwrap())
            .collect();
        for t in texts {
            assert_never_drops(&patterns, &regexes, t);
        }
    }

    #[test]
    fn each_branch_of_a_top_level_alternation_needs_all_its_literals() {
        // Either branch will do, but a branch needs every one of its literals, in order: a
        // union of one group per branch (`ab` or `x`) let texts with `x` alone through.
        let patterns = [r"(?P<a>ab\d)|x[^。]*?y(?P<b>z)", r"ab|\d+"];
        assert_eq!(gate(&patterns, "ab1"), [true, true]);
        assert_eq!(gate(&patterns, "x and y and z"), [true, true]);
        assert_eq!(gate(&patterns, "x alone"), [false, true]);
        assert_eq!(gate(&patterns, "z then y then x"), [false, true]);
    }

    #[test]
    fn literals_must_come_in_the_order_of_the_pattern() {
        let patterns = [r"⟨Product/[A-Za-z]+:\d+⟩.{0,10}?(?:靶向|针对)⟨Target/[A-Za-z]+:\d+⟩"];
        assert_eq!(
            gate(&patterns, "⟨Product/CarT:1⟩ 靶向⟨Target/Antigen:2⟩"),
            [true]
        );
        // Every literal is there, but not in order.
        assert_eq!(
            gate(&patterns, "⟨Target/Antigen:2⟩ 靶向 ⟨Product/CarT:1⟩"),
            [false]
        );
        assert_eq!(
            gate(&patterns, "靶向⟨Target/Antigen:2⟩ ⟨Product/CarT:1⟩"),
            [false]
        );
        // Occurrences that are out of order do not hide ones that are in order.
        assert_eq!(
            gate(&patterns, "靶向 ⟨Product/CarT:1⟩ 针对⟨Target/Antigen:2⟩"),
            [true]
        );
    }

    #[test]
    fn the_ordered_gate_never_drops_a_match_of_generated_texts() {
        let patterns = [
            r"ab.{0,3}?cd(?:ef|gh)",
            r"(?:ab|cd)+x.*?ab",
            r"a(?:b|c)d?ab",
            r"(?i)AB.*cd",
            r"(?:abc|bcd)(?:cd|da)",
            r"ab.{0,3}?cd|x.*?(?:ef|gh)|da",
        ];
        let regexes: Vec<regex::Regex> = patterns
            .iter()
            .map(|p| regex::Regex::new(p).unwrap())
            .collect();
        let pieces = [
            "a", "b", "c", "d", "ab", "cd", "x", "ef", "gh", "AB", "bcd", "da",
        ];
        // Every text of up to five pieces (12^5 texts would be too many: a fixed stride).
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut matched = [0usize; 6];
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            for _ in 0..(r % 6) {
                r /= 6;
                text.push_str(pieces[(r % pieces.len() as u64) as usize]);
                r /= pieces.len() as u64;
            }
            for (i, m) in assert_never_drops(&patterns, &regexes, &text)
                .into_iter()
                .enumerate()
            {
                matched[i] += usize::from(m);
            }
        }
        // Each pattern was tried on texts it matches.
        assert!(matched.iter().all(|&n| n > 0), "{matched:?}");
    }

    /// Looking only at the branches whose first group has a literal in the text gives what
    /// checking every branch of every pattern gives.
    #[test]
    fn the_branches_looked_at_give_what_every_branch_gives() {
        let patterns = [
            r"ab.{0,3}?cd(?:ef|gh)",
            r"(?:ab|cd)+x.*?ab",
            r"x|ab.*cd|.*",
            r"ab.{0,3}?cd|x.*?(?:ef|gh)|da",
            r"(?:ef|gh)d",
            r"\d+",
        ];
        let g = LiteralGate::new(&patterns).unwrap();
        assert_eq!(g.always, vec![2, 5]);
        let pieces = ["a", "b", "ab", "cd", "x", "ef", "gh", "da", "d", "1"];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut passed = 0;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let mut text = String::new();
            for _ in 0..(r % 7) {
                r /= 7;
                text.push_str(pieces[(r % pieces.len() as u64) as usize]);
                r /= pieces.len() as u64;
            }
            let mut hits = g.occurrences(&text);
            let mut fast = Vec::new();
            g.candidates_from(&mut hits, &mut fast);
            // Every branch of every pattern, as the gate checked them before the index.
            hits.sort_unstable();
            let mut present = vec![0u64; g.literals.len().div_ceil(64)];
            let mut seen = vec![0u64; g.group_count.div_ceil(64)];
            for &(id, _) in &hits {
                present[id as usize / 64] |= 1 << (id % 64);
                for &(w, b) in &g.holders[id as usize] {
                    seen[w as usize] |= b;
                }
            }
            let all: Vec<bool> = g
                .patterns
                .iter()
                .map(|branches| {
                    branches.iter().any(|b| {
                        all_set(&seen, b.first, b.first + b.groups.len())
                            && in_order(&b.groups, &hits, &g.lengths, &present)
                    })
                })
                .collect();
            assert_eq!(fast, all, "{text:?}");
            passed += fast.iter().filter(|&&p| p).count();
        }
        assert!(passed > 10_000, "{passed}");
    }
}
