//! Language tags (spec: lexicon, "language": BCP 47 / RFC 5646).
//!
//! Two levels, as the spec has them. [`validate_language`] accepts every *well-formed* tag
//! (RFC 5646 §2.1 grammar, case-insensitive), which is what the Lexicon format requires.
//! [`parse_language`] is stricter, for code that acts on a tag, since the spec says clients
//! should ignore tags that are well-formed but not *valid*: it refuses repeated variants and
//! extension singletons (RFC 5646 §2.2.5, §2.2.6) and wants the primary language subtag as the
//! spec describes it, a lowercase 2–3 letter ISO 639 code.

use std::fmt;
use std::str::FromStr;

use crate::error::{fail, Kind, SyntaxError};

/// Tags that do not fit the langtag grammar but are well-formed by RFC 5646 §2.2.8
/// ("irregular" grandfathered tags). The "regular" ones (`zh-hakka`, `art-lojban`, …) fit the
/// grammar, so they need no list.
const IRREGULAR_GRANDFATHERED: &[&str] = &[
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
];

/// What one subtag turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Language,
    Extlang,
    Script,
    Region,
    Variant,
    Singleton,
    Extension,
    PrivateUseX,
    PrivateUse,
}

/// Where in the langtag grammar the walk is; later stages never go back to earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Language,
    Extlang,
    Script,
    Region,
    Variant,
    Extension,
    PrivateUse,
}

fn is_alpha(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_alphabetic)
}

fn is_digit(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_digit)
}

/// Walks `s` by the RFC 5646 langtag / privateuse grammar, reporting each subtag and its byte
/// offset to `visit`. Allocation-free, so plain validation costs one pass.
fn walk<'a>(s: &'a str, mut visit: impl FnMut(Part, usize, &'a str)) -> Result<(), SyntaxError> {
    let mut stage = Stage::Language;
    let mut language_len = 0;
    let mut extlangs = 0;
    // Subtags since the last singleton or 'x'; each of those needs at least one.
    let mut after_marker = 0;
    let mut next_at = 0;
    for (i, subtag) in s.split('-').enumerate() {
        let at = next_at;
        next_at += subtag.len() + 1;
        let t = subtag.as_bytes();
        if t.is_empty() {
            return fail(
                Kind::Language,
                "empty subtag (leading, trailing or repeated '-')",
            );
        }
        if t.len() > 8 || !t.iter().all(u8::is_ascii_alphanumeric) {
            return fail(
                Kind::Language,
                "each subtag must be 1-8 ASCII letters or digits",
            );
        }
        let is_x = t.eq_ignore_ascii_case(b"x");
        if i == 0 {
            if is_x {
                stage = Stage::PrivateUse;
                visit(Part::PrivateUseX, at, subtag);
            } else if t.len() >= 2 && is_alpha(t) {
                language_len = t.len();
                visit(Part::Language, at, subtag);
            } else {
                return fail(
                    Kind::Language,
                    "must start with a 2-8 letter language subtag or 'x-'",
                );
            }
            continue;
        }
        if stage == Stage::PrivateUse {
            after_marker += 1;
            visit(Part::PrivateUse, at, subtag);
            continue;
        }
        if t.len() == 1 {
            if stage == Stage::Extension && after_marker == 0 {
                return fail(
                    Kind::Language,
                    "an extension singleton must be followed by a subtag of 2-8 characters",
                );
            }
            after_marker = 0;
            if is_x {
                stage = Stage::PrivateUse;
                visit(Part::PrivateUseX, at, subtag);
            } else {
                stage = Stage::Extension;
                visit(Part::Singleton, at, subtag);
            }
            continue;
        }
        if stage == Stage::Extension {
            after_marker += 1;
            visit(Part::Extension, at, subtag);
            continue;
        }
        // Before any extension: the subtag's shape says what it is, and it must come in order.
        let part = match t.len() {
            3 if is_alpha(t) && language_len <= 3 && stage <= Stage::Extlang && extlangs < 3 => {
                extlangs += 1;
                stage = Stage::Extlang;
                Part::Extlang
            }
            4 if is_alpha(t) && stage < Stage::Script => {
                stage = Stage::Script;
                Part::Script
            }
            2 if is_alpha(t) && stage < Stage::Region => {
                stage = Stage::Region;
                Part::Region
            }
            3 if is_digit(t) && stage < Stage::Region => {
                stage = Stage::Region;
                Part::Region
            }
            5..=8 => {
                stage = Stage::Variant;
                Part::Variant
            }
            4 if t[0].is_ascii_digit() => {
                stage = Stage::Variant;
                Part::Variant
            }
            _ => {
                return fail(
                    Kind::Language,
                    "subtag is not an extlang, script, region or variant that fits at its position",
                )
            }
        };
        visit(part, at, subtag);
    }
    if matches!(stage, Stage::Extension | Stage::PrivateUse) && after_marker == 0 {
        return fail(
            Kind::Language,
            "an extension singleton or 'x' must be followed by at least one subtag",
        );
    }
    Ok(())
}

fn is_irregular_grandfathered(s: &str) -> bool {
    IRREGULAR_GRANDFATHERED
        .iter()
        .any(|g| g.eq_ignore_ascii_case(s))
}

/// Checks that `s` is a well-formed BCP 47 language tag (RFC 5646 §2.1, §2.2.9): the langtag
/// grammar, a private-use tag (`x-…`), or an irregular grandfathered tag. Case-insensitive, as
/// the RFC's grammar is.
///
/// The primary language subtag must also be a lowercase 2–3 letter code: the official vectors
/// (interop-tests main set, 2026-07) refuse `JA` and `jaja` at the syntax level, and the spec
/// names lowercase ISO 639 codes. See the crate README, "Vector conflicts".
pub fn validate_language(s: &str) -> Result<(), SyntaxError> {
    let mut primary: Option<&str> = None;
    match walk(s, |part, _, sub| {
        if matches!(part, Part::Language) {
            primary = Some(sub);
        }
    }) {
        Err(_) if is_irregular_grandfathered(s) => return Ok(()),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    match primary {
        Some(p) if !(2..=3).contains(&p.len()) => fail(
            Kind::Language,
            "primary language subtag must be a 2-3 letter ISO 639 code",
        ),
        Some(p) if !p.bytes().all(|c| c.is_ascii_lowercase()) => {
            fail(Kind::Language, "primary language subtag must be lowercase")
        }
        _ => Ok(()),
    }
}

/// A language tag that passed [`parse_language`], with its main subtags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag {
    tag: String,
    language: Option<(usize, usize)>,
    script: Option<(usize, usize)>,
    region: Option<(usize, usize)>,
    variants: Vec<(usize, usize)>,
}

/// Parses a language tag strictly: well-formed ([`validate_language`]), plus no variant and no
/// extension singleton repeated (compared case-insensitively), plus a primary language subtag
/// that is a lowercase 2–3 letter code (4-letter subtags are reserved by RFC 5646 and 5–8
/// letter ones are for registrations that do not exist; the spec names lowercase ISO 639
/// codes). Private-use and irregular grandfathered tags are accepted.
pub fn parse_language(s: &str) -> Result<LanguageTag, SyntaxError> {
    if is_irregular_grandfathered(s) {
        if !s
            .split('-')
            .next()
            .unwrap_or("")
            .bytes()
            .all(|c| c.is_ascii_lowercase())
        {
            return fail(Kind::Language, "primary language subtag must be lowercase");
        }
        return Ok(LanguageTag::whole(s));
    }
    let range = |at: usize, sub: &str| (at, at + sub.len());
    let mut tag = LanguageTag::whole(s);
    let mut variants_lower: Vec<String> = Vec::new();
    let mut singletons = [false; 36];
    let mut repeated_singleton = false;
    let mut primary: Option<&str> = None;
    walk(s, |part, at, sub| match part {
        Part::Language => {
            primary = Some(sub);
            tag.language = Some(range(at, sub));
        }
        Part::Script => tag.script = Some(range(at, sub)),
        Part::Region => tag.region = Some(range(at, sub)),
        Part::Variant => {
            tag.variants.push(range(at, sub));
            variants_lower.push(sub.to_ascii_lowercase());
        }
        Part::Singleton => {
            let c = sub.as_bytes()[0].to_ascii_lowercase();
            let slot = if c.is_ascii_digit() {
                usize::from(c - b'0')
            } else {
                usize::from(c - b'a') + 10
            };
            repeated_singleton |= std::mem::replace(&mut singletons[slot], true);
        }
        Part::Extlang | Part::Extension | Part::PrivateUseX | Part::PrivateUse => {}
    })?;
    if let Some(p) = primary {
        if !(2..=3).contains(&p.len()) {
            return fail(
                Kind::Language,
                "primary language subtag must be a 2-3 letter ISO 639 code",
            );
        }
        if !p.bytes().all(|c| c.is_ascii_lowercase()) {
            return fail(Kind::Language, "primary language subtag must be lowercase");
        }
    }
    // Sorting makes the duplicate check O(n log n) even for hostile tags with many variants.
    variants_lower.sort_unstable();
    if variants_lower.windows(2).any(|w| w[0] == w[1]) {
        return fail(Kind::Language, "a variant subtag is repeated");
    }
    if repeated_singleton {
        return fail(Kind::Language, "an extension singleton is repeated");
    }
    Ok(tag)
}

impl LanguageTag {
    fn whole(s: &str) -> LanguageTag {
        LanguageTag {
            tag: s.to_owned(),
            language: None,
            script: None,
            region: None,
            variants: Vec::new(),
        }
    }

    fn slice(&self, r: (usize, usize)) -> &str {
        &self.tag[r.0..r.1]
    }

    /// The whole tag, as given.
    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// The primary language subtag, e.g. `pt` in `pt-BR`; `None` for private-use (`x-…`) and
    /// irregular grandfathered tags (`i-default`).
    pub fn language(&self) -> Option<&str> {
        self.language.map(|r| self.slice(r))
    }

    /// The script subtag, e.g. `Latn` in `hy-Latn-IT-arevela`.
    pub fn script(&self) -> Option<&str> {
        self.script.map(|r| self.slice(r))
    }

    /// The region subtag, e.g. `BR` in `pt-BR` or `419` in `es-419`.
    pub fn region(&self) -> Option<&str> {
        self.region.map(|r| self.slice(r))
    }

    /// The variant subtags, e.g. `["1901"]` in `de-CH-1901`.
    pub fn variants(&self) -> impl Iterator<Item = &str> {
        self.variants.iter().map(|&r| self.slice(r))
    }
}

impl FromStr for LanguageTag {
    type Err = SyntaxError;

    fn from_str(s: &str) -> Result<LanguageTag, SyntaxError> {
        parse_language(s)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl AsRef<str> for LanguageTag {
    fn as_ref(&self) -> &str {
        &self.tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed() {
        for ok in [
            "ja",
            "zh-yue",
            "zh-min-nan",
            "zh-Hant-TW",
            "es-419",
            "de-CH-1901",
            "en-US-x-twain",
            "x-whatever",
            "X-fr-CH",
            "en-a-bbb-x-a-ccc",
            "i-default",
            "EN-gb-OED",
            "sgn-BE-NL",
        ] {
            assert_eq!(validate_language(ok), Ok(()), "{ok}");
        }
        for (bad, rule) in [
            ("", "empty subtag (leading, trailing or repeated '-')"),
            ("ja-", "empty subtag (leading, trailing or repeated '-')"),
            ("ja--JP", "empty subtag (leading, trailing or repeated '-')"),
            ("j", "must start with a 2-8 letter language subtag or 'x-'"),
            (
                "123",
                "must start with a 2-8 letter language subtag or 'x-'",
            ),
            (
                "a-DE",
                "must start with a 2-8 letter language subtag or 'x-'",
            ),
            (
                "toolongtag",
                "each subtag must be 1-8 ASCII letters or digits",
            ),
            ("ja_JP", "each subtag must be 1-8 ASCII letters or digits"),
            (
                "de-419-DE",
                "subtag is not an extlang, script, region or variant that fits at its position",
            ),
            (
                "en-Latn-Latn",
                "subtag is not an extlang, script, region or variant that fits at its position",
            ),
            (
                "zh-a-b-c",
                "an extension singleton must be followed by a subtag of 2-8 characters",
            ),
            (
                "en-x",
                "an extension singleton or 'x' must be followed by at least one subtag",
            ),
            (
                "en-u",
                "an extension singleton or 'x' must be followed by at least one subtag",
            ),
        ] {
            assert_eq!(validate_language(bad).unwrap_err().rule(), rule, "{bad:?}");
        }
    }

    #[test]
    fn strict_parse() {
        let t = parse_language("hy-Latn-IT-arevela").unwrap();
        assert_eq!(t.language(), Some("hy"));
        assert_eq!(t.script(), Some("Latn"));
        assert_eq!(t.region(), Some("IT"));
        assert_eq!(t.variants().collect::<Vec<_>>(), ["arevela"]);
        let t = parse_language("x-private").unwrap();
        assert_eq!(t.language(), None);
        assert_eq!(parse_language("i-navajo").unwrap().language(), None);
        // the official main set refuses these at the syntax level already
        for (bad, rule) in [
            ("JA", "primary language subtag must be lowercase"),
            (
                "jaja",
                "primary language subtag must be a 2-3 letter ISO 639 code",
            ),
        ] {
            assert_eq!(validate_language(bad).unwrap_err().rule(), rule, "{bad}");
            assert_eq!(parse_language(bad).unwrap_err().rule(), rule, "{bad}");
        }
        for (bad, rule) in [
            ("I-DEFAULT", "primary language subtag must be lowercase"),
            ("de-DE-1901-1901", "a variant subtag is repeated"),
            ("en-rozaj-ROZAJ", "a variant subtag is repeated"),
            ("en-a-foo-A-bar", "an extension singleton is repeated"),
        ] {
            assert_eq!(validate_language(bad), Ok(()), "{bad}");
            assert_eq!(parse_language(bad).unwrap_err().rule(), rule, "{bad}");
        }
        // a repeated singleton inside the private-use part is not an extension
        assert!(parse_language("en-a-foo-x-a-b").is_ok());
    }
}
