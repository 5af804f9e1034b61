//! Checks for the official syntax vectors (`atproto-interop-tests/syntax/*.txt`, and the older
//! copy in `from-atproto-monorepo/syntax/`), one line at a time, so the L1 runner can count them
//! per file and this crate's tests can reuse them.
//!
//! A vector file is named `<format>_syntax_valid.txt` (each line must pass the validator),
//! `<format>_syntax_invalid.txt` (each must fail it) or `<format>_parse_invalid.txt` (each must
//! pass the validator but fail the stricter parser). Lines starting with `#` and empty lines are
//! comments; every other line is a vector *exactly*, leading and trailing spaces included, since
//! some vectors test exactly that.

use std::fmt;

use crate::error::SyntaxError;

/// Vector lines the project deliberately does not follow: `(file name, line, reason)`. Their
/// outcome is [`Verdict::Diverged`] rather than [`Verdict::Fail`]. The two copies of the vectors
/// disagree on these lines; the crate README ("Vector conflicts") explains each choice.
pub const DELIBERATE_DIVERGENCES: &[(&str, &str, &str)] = &[
    (
        "language_parse_invalid.txt",
        "jaja",
        "only the monorepo copy lists it here (syntax valid, parse invalid); the canonical main \
         set lists it in language_syntax_invalid.txt, which the project follows: \
         validate_language already refuses a 4-letter primary language subtag.",
    ),
    (
        "language_parse_invalid.txt",
        "JA",
        "only the monorepo copy lists it here (syntax valid, parse invalid); the canonical main \
         set lists it in language_syntax_invalid.txt, which the project follows: \
         validate_language already refuses an uppercase primary language subtag.",
    ),
    (
        "datetime_syntax_invalid.txt",
        "0000-01-01T00:00:00+01:00",
        "only in the monorepo copy. The spec lists 0000-01-01T00:00:00+23:59 as valid syntax \
         that does not normalise, and the main set puts this line in datetime_parse_invalid.txt: \
         the syntax passes, parse_datetime fails (before year 0000).",
    ),
];

/// How one vector line came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The line behaved as its file says.
    Pass,
    /// It did not, by decision: the line is in [`DELIBERATE_DIVERGENCES`], with this reason.
    Diverged(&'static str),
    /// It did not, and that is a bug; says what happened.
    Fail(String),
}

impl Verdict {
    /// True unless [`Verdict::Fail`].
    pub fn is_ok(&self) -> bool {
        !matches!(self, Verdict::Fail(_))
    }
}

/// One vector line and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOutcome {
    pub line: String,
    pub verdict: Verdict,
}

/// Tallies of a file's verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub diverged: usize,
    pub fail: usize,
}

impl Counts {
    /// Counts the verdicts in `outcomes`.
    pub fn of(outcomes: &[LineOutcome]) -> Counts {
        let mut c = Counts::default();
        for o in outcomes {
            match o.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::Diverged(_) => c.diverged += 1,
                Verdict::Fail(_) => c.fail += 1,
            }
        }
        c
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pass, {} deliberate divergence(s), {} fail",
            self.pass, self.diverged, self.fail
        )
    }
}

/// A file name this module has no checker for (e.g. a format added upstream later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVectorFile(pub String);

impl fmt::Display for UnknownVectorFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no syntax checker for vector file {:?}", self.0)
    }
}

impl std::error::Error for UnknownVectorFile {}

type Check = fn(&str) -> Result<(), SyntaxError>;

fn parse_datetime_unit(s: &str) -> Result<(), SyntaxError> {
    crate::parse_datetime(s).map(|_| ())
}

fn parse_language_unit(s: &str) -> Result<(), SyntaxError> {
    crate::parse_language(s).map(|_| ())
}

/// The validator, and the stricter parser if the format has one, for a file-name prefix.
fn checks_for(format: &str) -> Option<(Check, Option<Check>)> {
    Some(match format {
        "atidentifier" => (crate::validate_at_identifier, None),
        "aturi" => (crate::validate_at_uri, None),
        "cid" => (crate::validate_cid_string, None),
        "datetime" => (crate::validate_datetime, Some(parse_datetime_unit as Check)),
        "did" => (crate::validate_did, None),
        "handle" => (crate::validate_handle, None),
        "language" => (crate::validate_language, Some(parse_language_unit as Check)),
        "nsid" => (crate::validate_nsid, None),
        "recordkey" => (crate::validate_record_key, None),
        "tid" => (crate::validate_tid, None),
        "uri" => (crate::validate_uri, None),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Expect {
    Valid,
    Invalid,
    ParseInvalid,
}

/// True for a line that is a vector (not a `#` comment, not empty).
pub fn is_vector_line(line: &str) -> bool {
    !line.is_empty() && !line.starts_with('#')
}

/// Checks every vector line of the file `file_name` (a bare name like
/// `handle_syntax_valid.txt`; a path is fine too, only the last component counts). `lines` may
/// include comments and blank lines; only vector lines get an outcome, in order.
pub fn check_syntax_file(
    file_name: &str,
    lines: &[&str],
) -> Result<Vec<LineOutcome>, UnknownVectorFile> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let unknown = || UnknownVectorFile(base.to_owned());
    let (format, expect) = [
        ("_syntax_valid.txt", Expect::Valid),
        ("_syntax_invalid.txt", Expect::Invalid),
        ("_parse_invalid.txt", Expect::ParseInvalid),
    ]
    .into_iter()
    .find_map(|(suffix, expect)| base.strip_suffix(suffix).map(|f| (f, expect)))
    .ok_or_else(unknown)?;
    let (validate, parse) = checks_for(format).ok_or_else(unknown)?;
    if matches!(expect, Expect::ParseInvalid) && parse.is_none() {
        return Err(unknown());
    }
    Ok(lines
        .iter()
        .copied()
        .filter(|l| is_vector_line(l))
        .map(|line| {
            let problem = match expect {
                Expect::Valid => validate(line)
                    .err()
                    .map(|e| format!("rejected, but the file says valid: {e}")),
                Expect::Invalid => validate(line)
                    .is_ok()
                    .then(|| "accepted, but the file says invalid".to_owned()),
                Expect::ParseInvalid => match (validate(line), parse.map(|p| p(line))) {
                    (Err(e), _) => Some(format!(
                        "syntax rejected, but the file says only the parse fails: {e}"
                    )),
                    (Ok(()), Some(Ok(()))) => {
                        Some("parsed, but the file says the parse fails".to_owned())
                    }
                    (Ok(()), _) => None,
                },
            };
            let verdict = match problem {
                None => Verdict::Pass,
                Some(problem) => match DELIBERATE_DIVERGENCES
                    .iter()
                    .find(|(f, l, _)| *f == base && *l == line)
                {
                    Some((_, _, reason)) => Verdict::Diverged(reason),
                    None => Verdict::Fail(problem),
                },
            };
            LineOutcome {
                line: line.to_owned(),
                verdict,
            }
        })
        .collect())
}

/// [`check_syntax_file`] on a whole file's text. Splits on `\n` only and drops one `\r` before
/// it (a CRLF checkout); no other whitespace is touched.
pub fn check_syntax_text(
    file_name: &str,
    text: &str,
) -> Result<Vec<LineOutcome>, UnknownVectorFile> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    check_syntax_file(file_name, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_and_comments() {
        let out = check_syntax_file(
            "handle_syntax_invalid.txt",
            &["# comment", "", " john.test", "john.test "],
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| o.verdict == Verdict::Pass), "{out:?}");
        let out =
            check_syntax_file("path/to/handle_syntax_valid.txt", &["john.test", "john"]).unwrap();
        assert_eq!(out[0].verdict, Verdict::Pass);
        assert!(matches!(out[1].verdict, Verdict::Fail(_)));
        let out =
            check_syntax_file("datetime_parse_invalid.txt", &["1985-00-12T23:20:50.123Z"]).unwrap();
        assert_eq!(out[0].verdict, Verdict::Pass);
    }

    #[test]
    fn divergences_are_marked() {
        let out =
            check_syntax_file("language_parse_invalid.txt", &["jaja", "de-DE-1901-1901"]).unwrap();
        assert!(matches!(out[0].verdict, Verdict::Diverged(_)));
        assert_eq!(out[1].verdict, Verdict::Pass);
        assert_eq!(
            Counts::of(&out),
            Counts {
                pass: 1,
                diverged: 1,
                fail: 0
            }
        );
    }

    #[test]
    fn unknown_files() {
        assert!(check_syntax_file("did_parse_invalid.txt", &[]).is_err());
        assert!(check_syntax_file("bogus_syntax_valid.txt", &[]).is_err());
        assert!(check_syntax_file("handle.txt", &[]).is_err());
    }

    #[test]
    fn text_keeps_meaningful_whitespace() {
        let out = check_syntax_text("handle_syntax_invalid.txt", "# c\n john.test\r\n\n").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, " john.test");
        assert_eq!(out[0].verdict, Verdict::Pass);
    }
}
