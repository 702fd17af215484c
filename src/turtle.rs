//! Turtle written straight from sorted N-Triples lines, byte for byte as oxttl's serializer
//! writes the same triples with the same prefixes.
//!
//! In: lines `<s> <p> o .\n` as [`crate::rdf`] writes them (oxrdf's `Display`: IRIs whole,
//! literals escaped as `print_quoted_str` does), and the prefixes. Out: the Turtle body
//! (without the `@prefix` lines), one statement per subject, `;` between predicates and `,`
//! between objects of the same predicate, as oxttl's `LowLevelTriGSerializer` writes the default
//! graph. Going through oxttl meant reading each line back into terms and formatting them again
//! through `fmt`: a quarter of a rebuild's time. Here the object of a line is copied as it is
//! where Turtle writes it the same (a simple or language-tagged literal, whose N-Triples and
//! Turtle forms are one), and only IRIs are turned into prefixed names. The test module checks
//! the bytes against oxttl's on the seed articles' graph and on names and literals chosen to hit
//! every rule.

use std::fmt;

use rustc_hash::FxHashMap;

/// `rdf:type`, written `a` in the predicate position.
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// A line that is not `<s> <p> o .\n` with a valid object, or not UTF-8 (the line, lossily
/// decoded).
#[derive(Debug)]
pub struct BadLine(pub String);

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable n-triples line: {}", self.0.trim_end())
    }
}

impl std::error::Error for BadLine {}

fn bad(line: &str) -> BadLine {
    BadLine(line.to_string())
}

/// The prefixes, tried as oxttl tries them: longest IRI first (two IRIs of the same length
/// cannot both start the same IRI, so the order among them does not matter).
pub struct Prefixes<'p> {
    by_length: Vec<(&'p str, &'p str)>,
    /// When every prefix IRI ends with `/` or `#` (as namespaces do): the names by IRI, so that
    /// the prefixes of an IRI are found by looking up its heads up to each `/` or `#`, from the
    /// longest, instead of trying every prefix in turn.
    by_iri: Option<FxHashMap<&'p str, &'p str>>,
}

impl<'p> Prefixes<'p> {
    pub fn new(prefixes: &'p [(String, String)]) -> Self {
        let mut by_length: Vec<(&str, &str)> = prefixes
            .iter()
            .map(|(n, i)| (n.as_str(), i.as_str()))
            .collect();
        by_length.sort_by_key(|(_, iri)| std::cmp::Reverse(iri.len()));
        let by_iri = by_length
            .iter()
            .all(|(_, iri)| iri.ends_with(['/', '#']))
            .then(|| by_length.iter().map(|&(name, iri)| (iri, name)).collect());
        Prefixes { by_length, by_iri }
    }

    /// Writes `iri` as a prefixed name where a prefix and the local name allow, else `<iri>`.
    fn iri(&self, iri: &str, out: &mut Vec<u8>) {
        let written = match &self.by_iri {
            Some(by_iri) => iri
                .bytes()
                .enumerate()
                .rev()
                .filter(|&(_, c)| c == b'/' || c == b'#')
                .filter_map(|(i, _)| by_iri.get(&iri[..=i]).map(|name| (*name, &iri[i + 1..])))
                .any(|(name, local)| prefixed(name, local, out)),
            None => self.by_length.iter().any(|&(name, prefix)| {
                iri.strip_prefix(prefix)
                    .is_some_and(|local| prefixed(name, local, out))
            }),
        };
        if !written {
            out.push(b'<');
            out.extend_from_slice(iri.as_bytes());
            out.push(b'>');
        }
    }
}

/// Writes `name:local` when `local` can be a local name; else writes nothing and says so.
fn prefixed(name: &str, local: &str, out: &mut Vec<u8>) -> bool {
    let at = out.len();
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    if escape_local_name(local, out) {
        true
    } else {
        out.truncate(at);
        false
    }
}

/// Writes the Turtle of `lines` (sorted, so that the lines of a subject follow each other)
/// to `out`, without `@prefix` lines. The serializer keeps no state across subjects, so runs
/// of whole subjects written apart and put end to end are the bytes of one pass.
pub fn write_lines<'l>(
    prefixes: &Prefixes<'_>,
    lines: impl Iterator<Item = &'l str>,
    out: &mut Vec<u8>,
) -> Result<(), BadLine> {
    let mut current: Option<(&str, &str)> = None;
    for line in lines {
        let (s, p, o) = split(line).ok_or_else(|| bad(line))?;
        match current {
            Some((cs, cp)) if cs == s && cp == p => out.extend_from_slice(b" , "),
            Some((cs, _)) if cs == s => {
                out.extend_from_slice(b" ;\n\t");
                predicate(prefixes, p, out);
                out.push(b' ');
            }
            _ => {
                if current.is_some() {
                    out.extend_from_slice(b" .\n");
                }
                prefixes.iri(s, out);
                out.push(b' ');
                predicate(prefixes, p, out);
                out.push(b' ');
            }
        }
        object(prefixes, o, out).ok_or_else(|| bad(line))?;
        current = Some((s, p));
    }
    if current.is_some() {
        out.extend_from_slice(b" .\n");
    }
    Ok(())
}

/// The subject IRI, the predicate IRI and the object (as written) of `<s> <p> o .\n`. IRIs
/// hold no `>` (they are checked when the lines are made), so the first `>` ends each.
pub(crate) fn split(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix('<')?;
    let (s, rest) = rest.split_once('>')?;
    let (p, rest) = rest.strip_prefix(" <")?.split_once('>')?;
    Some((s, p, rest.strip_prefix(' ')?.strip_suffix(" .\n")?))
}

fn predicate(prefixes: &Prefixes<'_>, p: &str, out: &mut Vec<u8>) {
    if p == RDF_TYPE {
        out.push(b'a');
    } else {
        prefixes.iri(p, out);
    }
}

/// Writes the object `o` as written in the line; `None` when it is neither an IRI nor a
/// literal.
fn object(prefixes: &Prefixes<'_>, o: &str, out: &mut Vec<u8>) -> Option<()> {
    if let Some(iri) = o.strip_prefix('<').and_then(|o| o.strip_suffix('>')) {
        prefixes.iri(iri, out);
        return Some(());
    }
    let body = o.strip_prefix('"')?;
    // The closing quote is the first one not escaped.
    let bytes = body.as_bytes();
    let mut k = 0;
    while k < bytes.len() && bytes[k] != b'"' {
        k += if bytes[k] == b'\\' { 2 } else { 1 };
    }
    let (raw, rest) = (body.get(..k)?, body.get(k + 1..)?);
    if rest.is_empty() || rest.starts_with('@') {
        // A simple or language-tagged literal: Turtle writes it as N-Triples does.
        out.extend_from_slice(o.as_bytes());
        return Some(());
    }
    let datatype = rest.strip_prefix("^^<")?.strip_suffix('>')?;
    let quoted = &o[..k + 2];
    match datatype.strip_prefix(XSD) {
        // oxrdf writes no `^^xsd:string`; a line holding one is the simple literal.
        Some("string") => out.extend_from_slice(quoted.as_bytes()),
        // An escape is never part of these forms, so `raw` is the value when they match.
        Some("boolean") if matches!(raw, "true" | "false") => out.extend_from_slice(raw.as_bytes()),
        Some("integer") if is_integer(raw) => out.extend_from_slice(raw.as_bytes()),
        Some("decimal") if is_decimal(raw) => out.extend_from_slice(raw.as_bytes()),
        Some("double") if is_double(raw) => out.extend_from_slice(raw.as_bytes()),
        _ => {
            out.extend_from_slice(quoted.as_bytes());
            out.extend_from_slice(b"^^");
            prefixes.iri(datatype, out);
        }
    }
    Some(())
}

fn without_sign(value: &str) -> &[u8] {
    let b = value.as_bytes();
    b.strip_prefix(b"+")
        .or_else(|| b.strip_prefix(b"-"))
        .unwrap_or(b)
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Turtle's `INTEGER`: `[+-]? [0-9]+`.
fn is_integer(value: &str) -> bool {
    let b = without_sign(value);
    !b.is_empty() && digits(b) == b.len()
}

/// Turtle's `DECIMAL`: `[+-]? [0-9]* '.' [0-9]+`.
fn is_decimal(value: &str) -> bool {
    let b = without_sign(value);
    let b = &b[digits(b)..];
    match b.strip_prefix(b".") {
        Some(f) => !f.is_empty() && digits(f) == f.len(),
        None => false,
    }
}

/// Turtle's `DOUBLE`: `[+-]? ([0-9]+ '.' [0-9]* EXPONENT | '.' [0-9]+ EXPONENT | [0-9]+
/// EXPONENT)`, `EXPONENT ::= [eE] [+-]? [0-9]+`.
fn is_double(value: &str) -> bool {
    let b = without_sign(value);
    let before = digits(b);
    let mut b = &b[before..];
    let mut after = 0;
    if let Some(f) = b.strip_prefix(b".") {
        after = digits(f);
        b = &f[after..];
    }
    let Some(e) = b.strip_prefix(b"e").or_else(|| b.strip_prefix(b"E")) else {
        return false;
    };
    let e = e
        .strip_prefix(b"+")
        .or_else(|| e.strip_prefix(b"-"))
        .unwrap_or(e);
    (before > 0 || after > 0) && !e.is_empty() && digits(e) == e.len()
}

/// Writes `local` as the local part of a prefixed name, as oxttl does (`PN_LOCAL`, with `\`
/// before the characters that may be escaped, and no `PLX` percent forms); `false` (with some
/// of it written) when it cannot be one. The empty name is `prefix:`.
fn escape_local_name(local: &str, out: &mut Vec<u8>) -> bool {
    let mut buf = [0; 4];
    let mut chars = local.chars();
    let mut first = true;
    while let Some(c) = chars.next() {
        // Unescaped: first a `PN_CHARS_U`, `:` or digit; then a `PN_CHARS`, `:` or a `.`
        // that does not end the name.
        let plain = c == ':'
            || if first {
                is_pn_chars_u(c) || c.is_ascii_digit()
            } else {
                is_pn_chars(c) || (c == '.' && !chars.as_str().is_empty())
            };
        if plain {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else if can_be_escaped(c) {
            out.push(b'\\');
            out.push(c as u8);
        } else {
            return false;
        }
        first = false;
    }
    true
}

/// Turtle's `PN_CHARS_BASE`.
fn is_pn_chars_base(c: char) -> bool {
    matches!(c,
        'A'..='Z'
        | 'a'..='z'
        | '\u{00C0}'..='\u{00D6}'
        | '\u{00D8}'..='\u{00F6}'
        | '\u{00F8}'..='\u{02FF}'
        | '\u{0370}'..='\u{037D}'
        | '\u{037F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// Turtle's `PN_CHARS_U`.
fn is_pn_chars_u(c: char) -> bool {
    is_pn_chars_base(c) || c == '_'
}

/// Turtle's `PN_CHARS`.
fn is_pn_chars(c: char) -> bool {
    is_pn_chars_u(c)
        || matches!(c, '-' | '0'..='9' | '\u{00B7}' | '\u{0300}'..='\u{036F}' | '\u{203F}'..='\u{2040}')
}

/// Turtle's `PN_LOCAL_ESC` characters (all ASCII).
fn can_be_escaped(c: char) -> bool {
    matches!(
        c,
        '_' | '~'
            | '.'
            | '-'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | '/'
            | '?'
            | '#'
            | '@'
            | '%'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};

    /// What oxttl writes for the N-Triples `lines` with `prefixes`, its prelude cut off.
    fn oxttl(prefixes: &[(String, String)], lines: &[u8]) -> String {
        let mut ser = RdfSerializer::from_format(RdfFormat::Turtle);
        for (name, iri) in prefixes {
            ser = ser.with_prefix(name.as_str(), iri.as_str()).unwrap();
        }
        let mut ser = ser.for_writer(Vec::new());
        for quad in RdfParser::from_format(RdfFormat::NTriples).for_slice(lines) {
            ser.serialize_quad(&quad.unwrap()).unwrap();
        }
        let out = String::from_utf8(ser.finish().unwrap()).unwrap();
        out.lines()
            .skip_while(|l| l.starts_with("@prefix "))
            .flat_map(|l| [l, "\n"])
            .collect()
    }

    fn mine(prefixes: &[(String, String)], lines: &[u8]) -> String {
        let mut out = Vec::new();
        let split = std::str::from_utf8(lines).unwrap().split_inclusive('\n');
        write_lines(&Prefixes::new(prefixes), split, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn owned(prefixes: &[(&str, &str)]) -> Vec<(String, String)> {
        prefixes
            .iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    }

    #[test]
    fn the_seed_graph_is_written_as_oxttl_writes_it() {
        let ontology = crate::ontology::Ontology::load(std::path::Path::new("ontology")).unwrap();
        let kg =
            crate::pipeline::build_graph(&[std::path::PathBuf::from("seeds")], &ontology).unwrap();
        let sorted = crate::rdf::sorted_ntriples(&kg).unwrap();
        let mut nt = Vec::new();
        sorted.write_ntriples(&mut nt).unwrap();
        assert!(sorted.len() > 1000, "{} triples", sorted.len());
        let prefixes = crate::rdf::prefixes_of(&sorted).unwrap();
        assert_eq!(mine(&prefixes, &nt), oxttl(&prefixes, &nt));
    }

    #[test]
    fn names_and_literals_on_every_rule_are_written_as_oxttl_writes_them() {
        let prefixes = owned(&[
            ("ex", "http://ex.org/"),
            ("exa", "http://ex.org/a/"),
            ("xsd", XSD),
            ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ]);
        let locals = [
            "",
            "p",
            "a/b",
            "a/",
            "b.",
            "b.c",
            ".b",
            "-b",
            "_b",
            "~b",
            "9b",
            ":b",
            "b:c",
            "%41",
            "a%20b",
            "b-c_d",
            "CAR-T",
            "凯特",
            "细胞·治疗",
            "x\u{0301}",
            "b!$&'()*+,;=",
            "b?q=1",
            "b#f",
            "b@c",
            "\u{00B7}b",
            "\u{203F}b",
            "b\u{203F}",
            "{b}",
            "b|c",
            "b^c",
            "b`c",
            "b\\c",
            "\u{00D7}",
            "é",
            "\u{FFFD}",
            "\u{10000}",
            "a/b.c.",
            "x y",
        ];
        let mut nt = String::new();
        for (i, local) in locals.iter().enumerate() {
            for ns in ["http://ex.org/", "http://ex.org/a/", "http://other.org/"] {
                let iri = format!("{ns}{local}");
                if oxigraph::model::NamedNode::new(iri.clone()).is_err() {
                    continue;
                }
                nt.push_str(&format!("<{iri}> <http://ex.org/p> <{iri}> .\n"));
                nt.push_str(&format!("<{iri}> <{iri}> \"{i}\" .\n"));
            }
        }
        let literals = [
            "\"plain\"",
            "\"with \\\"quotes\\\" \\\\ and \\n\\t \\u0000 \\uFFFE\"",
            "\"tagged\"@en",
            "\"標記\"@zh-hant",
            "\"true\"^^<http://www.w3.org/2001/XMLSchema#boolean>",
            "\"TRUE\"^^<http://www.w3.org/2001/XMLSchema#boolean>",
            "\"1\"^^<http://www.w3.org/2001/XMLSchema#boolean>",
            "\"12\"^^<http://www.w3.org/2001/XMLSchema#integer>",
            "\"+12\"^^<http://www.w3.org/2001/XMLSchema#integer>",
            "\"-0\"^^<http://www.w3.org/2001/XMLSchema#integer>",
            "\"-\"^^<http://www.w3.org/2001/XMLSchema#integer>",
            "\"1.5\"^^<http://www.w3.org/2001/XMLSchema#integer>",
            "\"1.5\"^^<http://www.w3.org/2001/XMLSchema#decimal>",
            "\".5\"^^<http://www.w3.org/2001/XMLSchema#decimal>",
            "\"-3.25\"^^<http://www.w3.org/2001/XMLSchema#decimal>",
            "\"1.\"^^<http://www.w3.org/2001/XMLSchema#decimal>",
            "\"12\"^^<http://www.w3.org/2001/XMLSchema#decimal>",
            "\"1e5\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"1.5E-3\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\".5e+2\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"1.e2\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"e2\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"1.5\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"INF\"^^<http://www.w3.org/2001/XMLSchema#double>",
            "\"2024\"^^<http://www.w3.org/2001/XMLSchema#gYear>",
            "\"x\"^^<http://www.w3.org/2001/XMLSchema#string>",
            "\"5\"^^<http://ex.org/a/unit>",
            "\"5\"^^<http://other.org/t>",
            "\"a \\\"q\\\"\"^^<http://ex.org/t>",
        ];
        for (i, lit) in literals.iter().enumerate() {
            nt.push_str(&format!("<http://ex.org/s{i}> <http://ex.org/p> {lit} .\n"));
        }
        // One subject, several predicates and several objects of one predicate.
        for p in ["http://ex.org/p", "http://ex.org/q"] {
            for o in ["\"1\"", "\"2\"", "<http://ex.org/o>"] {
                nt.push_str(&format!("<http://ex.org/z> <{p}> {o} .\n"));
            }
        }
        nt.push_str(
            "<http://ex.org/z> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ex.org/C> .\n",
        );
        // A prefix shorter than the name's own, for a local name that only it can write.
        let nested = owned(&[("ex", "http://ex.org/"), ("exa", "http://ex.org/a/b")]);
        for p in [&prefixes, &nested, &Vec::new()] {
            assert_eq!(mine(p, nt.as_bytes()), oxttl(p, nt.as_bytes()));
        }
    }

    #[test]
    fn unreadable_lines_are_errors_naming_the_line() {
        let prefixes = Prefixes::new(&[]);
        for line in [
            "<a> <b> c .\n",
            "<a> <b> \"c\"^^x .\n",
            "<a> <b> \"c\n",
            "<a> <b>\n",
        ] {
            let err = write_lines(&prefixes, std::iter::once(line), &mut Vec::new()).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("unreadable n-triples line: <a>"),
                "{err}"
            );
        }
    }
}
