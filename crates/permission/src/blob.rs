//! `blob`: uploading media files to the PDS (permission spec, `blob`).

use std::collections::BTreeSet;
use std::fmt;

use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "blob",
    params: &["accept"],
    positional: "accept",
};

/// A MIME type pattern as in a lexicon `blob`'s `accept`: `*/*`, `type/*` or `type/subtype`.
///
/// Type and subtype are RFC 6838 restricted names (a letter or digit, then letters, digits and
/// `!#$&-^_.+`, at most 127 characters). MIME types are case-insensitive (RFC 2045), so patterns
/// are kept lowercased and matching ignores case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MimePattern(String);

impl MimePattern {
    /// `*/*`.
    pub fn any() -> MimePattern {
        MimePattern("*/*".to_owned())
    }

    /// Parses a pattern.
    pub fn new(s: &str) -> Result<MimePattern, String> {
        let (ty, sub) = s
            .split_once('/')
            .ok_or_else(|| "must be type/subtype".to_owned())?;
        match (ty, sub) {
            ("*", "*") => {}
            ("*", _) => return Err("a wildcard type needs a wildcard subtype (*/*)".to_owned()),
            (ty, "*") => check_name(ty)?,
            (ty, sub) => {
                check_name(ty)?;
                check_name(sub)?;
            }
        }
        Ok(MimePattern(s.to_ascii_lowercase()))
    }

    /// The pattern, lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if the MIME type `mime` fits this pattern. `mime` must be a concrete `type/subtype`
    /// (no wildcards); parameters after `;` are ignored.
    pub fn matches(&self, mime: &str) -> bool {
        let Some((ty, sub)) = concrete_mime(mime) else {
            return false;
        };
        match self.0.split_once('/') {
            Some(("*", "*")) => true,
            Some((pty, "*")) => pty.eq_ignore_ascii_case(ty),
            Some((pty, psub)) => pty.eq_ignore_ascii_case(ty) && psub.eq_ignore_ascii_case(sub),
            None => false,
        }
    }
}

impl fmt::Display for MimePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for MimePattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MimePattern::new(s)
    }
}

/// RFC 6838 §4.2 `restricted-name`.
fn check_name(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 127 {
        return Err(format!("{s:?} must be 1 to 127 characters"));
    }
    if !b[0].is_ascii_alphanumeric() {
        return Err(format!("{s:?} must start with a letter or digit"));
    }
    if !b.iter().all(|&c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
            )
    }) {
        return Err(format!("{s:?} may only hold letters, digits and !#$&-^_.+"));
    }
    Ok(())
}

/// Splits a concrete MIME type (parameters dropped) into type and subtype.
fn concrete_mime(mime: &str) -> Option<(&str, &str)> {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let (ty, sub) = essence.split_once('/')?;
    (check_name(ty).is_ok() && check_name(sub).is_ok()).then_some((ty, sub))
}

/// `blob:<pattern>` or `blob?accept=<pattern>&accept=...`: uploads of blobs whose MIME type fits
/// one of the patterns. A list holding `*/*` is just `*/*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobPermission {
    accept: BTreeSet<MimePattern>,
}

impl BlobPermission {
    /// The permission for these patterns; `None` if there are none.
    pub fn new(accept: impl IntoIterator<Item = MimePattern>) -> Option<BlobPermission> {
        let mut accept: BTreeSet<MimePattern> = accept.into_iter().collect();
        if accept.contains(&MimePattern::any()) {
            accept = BTreeSet::from([MimePattern::any()]);
        }
        (!accept.is_empty()).then_some(BlobPermission { accept })
    }

    /// The patterns, sorted.
    pub fn accept(&self) -> &BTreeSet<MimePattern> {
        &self.accept
    }

    /// True if a blob of type `mime` may be uploaded.
    pub fn matches(&self, mime: &str) -> bool {
        self.accept.iter().any(|p| p.matches(mime))
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<BlobPermission, ScopeError> {
        SCHEMA.check_names(g)?;
        let patterns = SCHEMA
            .required_multi(g, "accept")?
            .into_iter()
            .map(|v| MimePattern::new(v).map_err(|e| ScopeError::invalid("blob", "accept", v, e)))
            .collect::<Result<Vec<_>, _>>()?;
        BlobPermission::new(patterns).ok_or(ScopeError::MissingParam {
            resource: "blob",
            param: "accept",
        })
    }

    pub(crate) fn to_generic(&self) -> GenericScope {
        format(
            SCHEMA.resource,
            SCHEMA.positional,
            vec![("accept", self.accept.iter().map(|p| p.0.clone()).collect())],
        )
    }
}

impl fmt::Display for BlobPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
