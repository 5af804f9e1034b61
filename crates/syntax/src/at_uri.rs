//! at-identifiers (a DID or a handle) and AT-URIs in the restricted form Lexicon uses (spec:
//! at-uri-scheme, "Restricted AT URI Syntax").

use std::fmt;
use std::str::FromStr;

use crate::did::{validate_did, Did};
use crate::error::{fail, Kind, SyntaxError};
use crate::handle::{validate_handle, Handle};
use crate::nsid::{validate_nsid, Nsid};
use crate::record_key::{validate_record_key, RecordKey};

/// The spec's limit on a whole AT-URI: 8 kilobytes.
pub const MAX_AT_URI_LEN: usize = 8 * 1024;

/// Checks an at-identifier: a DID if it starts with `did:`, otherwise a handle. The prefix
/// decides, which is unambiguous because handles cannot contain `:`.
pub fn validate_at_identifier(s: &str) -> Result<(), SyntaxError> {
    if s.starts_with("did:") {
        validate_did(s)
            .map_err(|e| SyntaxError::caused_by(Kind::AtIdentifier, "not a valid DID", e))
    } else {
        validate_handle(s)
            .map_err(|e| SyntaxError::caused_by(Kind::AtIdentifier, "not a valid handle", e))
    }
}

/// A DID or a handle, e.g. the `repo` parameter of many XRPC methods.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AtIdentifier {
    Did(Did),
    /// Normalised to lowercase, like every [`Handle`].
    Handle(Handle),
}

impl AtIdentifier {
    /// Validates (and, for a handle, lowercases) `s`.
    pub fn new(s: &str) -> Result<AtIdentifier, SyntaxError> {
        s.parse()
    }

    /// The DID or handle as a string.
    pub fn as_str(&self) -> &str {
        match self {
            AtIdentifier::Did(d) => d.as_str(),
            AtIdentifier::Handle(h) => h.as_str(),
        }
    }

    /// The DID, if this is one.
    pub fn as_did(&self) -> Option<&Did> {
        match self {
            AtIdentifier::Did(d) => Some(d),
            AtIdentifier::Handle(_) => None,
        }
    }

    /// The handle, if this is one.
    pub fn as_handle(&self) -> Option<&Handle> {
        match self {
            AtIdentifier::Handle(h) => Some(h),
            AtIdentifier::Did(_) => None,
        }
    }
}

impl FromStr for AtIdentifier {
    type Err = SyntaxError;

    fn from_str(s: &str) -> Result<AtIdentifier, SyntaxError> {
        // Same dispatch and same errors as validate_at_identifier.
        if s.starts_with("did:") {
            Did::new(s)
                .map(AtIdentifier::Did)
                .map_err(|e| SyntaxError::caused_by(Kind::AtIdentifier, "not a valid DID", e))
        } else {
            Handle::new(s)
                .map(AtIdentifier::Handle)
                .map_err(|e| SyntaxError::caused_by(Kind::AtIdentifier, "not a valid handle", e))
        }
    }
}

impl fmt::Display for AtIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for AtIdentifier {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<Did> for AtIdentifier {
    fn from(d: Did) -> Self {
        AtIdentifier::Did(d)
    }
}

impl From<Handle> for AtIdentifier {
    fn from(h: Handle) -> Self {
        AtIdentifier::Handle(h)
    }
}

/// The parts of an AT-URI, borrowed from the input.
struct Parts<'a> {
    authority: &'a str,
    collection: Option<&'a str>,
    rkey: Option<&'a str>,
}

/// Checks an AT-URI as Lexicon's `at-uri` format allows it:
/// `at://<DID or handle>[/<collection NSID>[/<record key>]]`, at most 8 KiB, with no query, no
/// fragment and no trailing or doubled slash.
pub fn validate_at_uri(s: &str) -> Result<(), SyntaxError> {
    split(s).map(|_| ())
}

fn split(s: &str) -> Result<Parts<'_>, SyntaxError> {
    if s.len() > MAX_AT_URI_LEN {
        return fail(Kind::AtUri, "longer than 8 KiB (8192 bytes)");
    }
    let Some(rest) = s.strip_prefix("at://") else {
        return fail(Kind::AtUri, "must start with lowercase \"at://\"");
    };
    // Checked before splitting so that e.g. "at://did:plc:x#/frag" is reported as a fragment,
    // not as a bad DID.
    if rest.contains('?') {
        return fail(
            Kind::AtUri,
            "query parts are not allowed in Lexicon AT-URIs",
        );
    }
    if rest.contains('#') {
        return fail(Kind::AtUri, "fragments are not allowed in Lexicon AT-URIs");
    }
    let mut segments = rest.split('/');
    let authority = segments.next().unwrap_or("");
    if authority.is_empty() {
        return fail(Kind::AtUri, "authority (DID or handle) is empty");
    }
    validate_at_identifier(authority).map_err(|e| {
        SyntaxError::caused_by(Kind::AtUri, "authority is not a valid DID or handle", e)
    })?;
    let collection = segments.next();
    if let Some(c) = collection {
        if c.is_empty() {
            return fail(Kind::AtUri, "trailing or repeated '/' is not allowed");
        }
        validate_nsid(c).map_err(|e| {
            SyntaxError::caused_by(Kind::AtUri, "collection is not a valid NSID", e)
        })?;
    }
    let rkey = segments.next();
    if let Some(r) = rkey {
        if r.is_empty() {
            return fail(Kind::AtUri, "trailing or repeated '/' is not allowed");
        }
        validate_record_key(r)
            .map_err(|e| SyntaxError::caused_by(Kind::AtUri, "record key is not valid", e))?;
    }
    if segments.next().is_some() {
        return fail(
            Kind::AtUri,
            "path may have at most two segments (collection and record key)",
        );
    }
    Ok(Parts {
        authority,
        collection,
        rkey,
    })
}

/// A valid AT-URI in the restricted Lexicon form, with its parts parsed.
///
/// A handle authority is lowercased (in [`as_str`](AtUri::as_str) too), as the spec's
/// normalisation rules ask; everything else is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtUri {
    uri: String,
    authority: AtIdentifier,
    collection: Option<Nsid>,
    rkey: Option<RecordKey>,
}

impl AtUri {
    /// Validates `s`.
    pub fn new(s: &str) -> Result<AtUri, SyntaxError> {
        s.parse()
    }

    /// The URI of a record, e.g. `at://did:plc:…/app.bsky.feed.post/3k…`. Cannot fail: the
    /// parts are valid and their maximum lengths add up to well under 8 KiB.
    pub fn for_record(
        authority: impl Into<AtIdentifier>,
        collection: Nsid,
        rkey: RecordKey,
    ) -> AtUri {
        let authority = authority.into();
        AtUri {
            uri: format!("at://{authority}/{collection}/{rkey}"),
            authority,
            collection: Some(collection),
            rkey: Some(rkey),
        }
    }

    /// The whole URI.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The authority: a DID or a (lowercased) handle.
    pub fn authority(&self) -> &AtIdentifier {
        &self.authority
    }

    /// The authority, if it is a DID.
    pub fn did(&self) -> Option<&Did> {
        self.authority.as_did()
    }

    /// The authority, if it is a handle.
    pub fn handle(&self) -> Option<&Handle> {
        self.authority.as_handle()
    }

    /// The collection NSID, if the path has one.
    pub fn collection(&self) -> Option<&Nsid> {
        self.collection.as_ref()
    }

    /// The record key, if the path has one.
    pub fn rkey(&self) -> Option<&RecordKey> {
        self.rkey.as_ref()
    }
}

impl FromStr for AtUri {
    type Err = SyntaxError;

    fn from_str(s: &str) -> Result<AtUri, SyntaxError> {
        let parts = split(s)?;
        // split() has validated every part, so these cannot fail; they re-check (cheap) and copy.
        let authority = AtIdentifier::new(parts.authority)?;
        let collection = parts.collection.map(Nsid::new).transpose()?;
        let rkey = parts.rkey.map(RecordKey::new).transpose()?;
        let uri = match &authority {
            // Rebuild only when lowercasing the handle changed something.
            AtIdentifier::Handle(h) if h.as_str() != parts.authority => {
                format!("at://{h}{}", &s[5 + parts.authority.len()..])
            }
            _ => s.to_owned(),
        };
        Ok(AtUri {
            uri,
            authority,
            collection,
            rkey,
        })
    }
}

impl TryFrom<&str> for AtUri {
    type Error = SyntaxError;

    fn try_from(s: &str) -> Result<AtUri, SyntaxError> {
        s.parse()
    }
}

impl fmt::Display for AtUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl AsRef<str> for AtUri {
    fn as_ref(&self) -> &str {
        &self.uri
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_identifier() {
        assert!(matches!(
            AtIdentifier::new("did:plc:abc"),
            Ok(AtIdentifier::Did(_))
        ));
        let h = AtIdentifier::new("Alice.Test").unwrap();
        assert_eq!(h.as_handle().unwrap().as_str(), "alice.test");
        let e = validate_at_identifier("did:thing").unwrap_err();
        assert_eq!(e.rule(), "not a valid DID");
        assert_eq!(e.cause().unwrap().kind(), Kind::Did);
        let e = validate_at_identifier("DID:plc:abc").unwrap_err();
        assert_eq!(e.rule(), "not a valid handle");
        assert!(validate_at_identifier("@handle.example.com").is_err());
    }

    #[test]
    fn parts_and_normalisation() {
        let u = AtUri::new("at://did:plc:abc/app.bsky.feed.post/3jui7kd54zh2y").unwrap();
        assert_eq!(u.did().unwrap().as_str(), "did:plc:abc");
        assert_eq!(u.collection().unwrap().as_str(), "app.bsky.feed.post");
        assert_eq!(u.rkey().unwrap().as_str(), "3jui7kd54zh2y");
        let u = AtUri::new("at://Alice.TEST/com.Example.fooBar").unwrap();
        assert_eq!(u.as_str(), "at://alice.test/com.Example.fooBar");
        assert_eq!(u.handle().unwrap().as_str(), "alice.test");
        assert!(u.rkey().is_none());
        let u = AtUri::new("at://did:web:example.com").unwrap();
        assert!(u.collection().is_none());
        let built = AtUri::for_record(
            Did::new("did:plc:abc").unwrap(),
            Nsid::new("app.bsky.feed.like").unwrap(),
            RecordKey::new("self").unwrap(),
        );
        assert_eq!(
            built,
            AtUri::new("at://did:plc:abc/app.bsky.feed.like/self").unwrap()
        );
    }

    #[test]
    fn rules() {
        for (bad, rule) in [
            ("AT://did:plc:abc", "must start with lowercase \"at://\""),
            ("at://", "authority (DID or handle) is empty"),
            (
                "at://did:plc:abc/",
                "trailing or repeated '/' is not allowed",
            ),
            (
                "at://did:plc:abc//x",
                "trailing or repeated '/' is not allowed",
            ),
            (
                "at://did:plc:abc/a.b.c/",
                "trailing or repeated '/' is not allowed",
            ),
            (
                "at://did:plc:abc#frag",
                "fragments are not allowed in Lexicon AT-URIs",
            ),
            (
                "at://did:plc:abc?q=1",
                "query parts are not allowed in Lexicon AT-URIs",
            ),
            ("at://name", "authority is not a valid DID or handle"),
            ("at://did:plc:abc/short", "collection is not a valid NSID"),
            ("at://did:plc:abc/a.b.c/..", "record key is not valid"),
            ("at://did:plc:abc/a.b.c/%23", "record key is not valid"),
            (
                "at://did:plc:abc/a.b.c/d/e",
                "path may have at most two segments (collection and record key)",
            ),
        ] {
            assert_eq!(validate_at_uri(bad).unwrap_err().rule(), rule, "{bad}");
        }
    }

    #[test]
    fn length_limit() {
        // The parts cap an AT-URI well below 8 KiB; the overall check still applies first.
        let long = format!("at://did:plc:{}", "a".repeat(MAX_AT_URI_LEN));
        assert_eq!(
            validate_at_uri(&long).unwrap_err().rule(),
            "longer than 8 KiB (8192 bytes)"
        );
    }
}
