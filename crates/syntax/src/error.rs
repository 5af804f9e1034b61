//! The one error type of this crate: which format was expected, and which rule the input broke.

use std::fmt;

/// The identifier or string format a [`SyntaxError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    Did,
    Handle,
    Nsid,
    RecordKey,
    RepoPath,
    Tid,
    AtUri,
    AtIdentifier,
    Datetime,
    Language,
    Cid,
    Uri,
}

impl Kind {
    /// The name used in error messages, in the specs' own words.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Did => "DID",
            Kind::Handle => "handle",
            Kind::Nsid => "NSID",
            Kind::RecordKey => "record key",
            Kind::RepoPath => "repo path",
            Kind::Tid => "TID",
            Kind::AtUri => "AT-URI",
            Kind::AtIdentifier => "at-identifier",
            Kind::Datetime => "datetime",
            Kind::Language => "language tag",
            Kind::Cid => "CID string",
            Kind::Uri => "URI",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Input that does not follow the syntax of its format.
///
/// The message names the format and the rule that was broken, e.g.
/// `invalid handle: label must not start or end with '-'`. The offending input is not
/// embedded: it may be up to several kilobytes of hostile text, and the caller has it anyway.
/// For composite formats (AT-URI, repo path, at-identifier) the error of the failing part is
/// kept as [`cause`](SyntaxError::cause) and shown in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    kind: Kind,
    rule: &'static str,
    cause: Option<Box<SyntaxError>>,
}

impl SyntaxError {
    pub(crate) fn new(kind: Kind, rule: &'static str) -> Self {
        SyntaxError {
            kind,
            rule,
            cause: None,
        }
    }

    pub(crate) fn caused_by(kind: Kind, rule: &'static str, cause: SyntaxError) -> Self {
        SyntaxError {
            kind,
            rule,
            cause: Some(Box::new(cause)),
        }
    }

    /// The format that was expected.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The rule that was broken, as a short sentence.
    pub fn rule(&self) -> &'static str {
        self.rule
    }

    /// For composite formats: the error of the part that failed.
    pub fn cause(&self) -> Option<&SyntaxError> {
        self.cause.as_deref()
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.kind, self.rule)?;
        if let Some(cause) = &self.cause {
            // Inline rather than via `source()`: most log lines print only the top error, and
            // "collection is not a valid NSID" alone does not say what to fix.
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SyntaxError {}

/// Shorthand used by the validators: an `Err` with a rule and no cause.
pub(crate) fn fail<T>(kind: Kind, rule: &'static str) -> Result<T, SyntaxError> {
    Err(SyntaxError::new(kind, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_format_rule_and_cause() {
        let inner = SyntaxError::new(Kind::Nsid, "must have at least 3 segments");
        let outer = SyntaxError::caused_by(Kind::AtUri, "collection is not a valid NSID", inner);
        assert_eq!(
            outer.to_string(),
            "invalid AT-URI: collection is not a valid NSID \
             (invalid NSID: must have at least 3 segments)"
        );
        assert_eq!(outer.cause().unwrap().kind(), Kind::Nsid);
    }
}
