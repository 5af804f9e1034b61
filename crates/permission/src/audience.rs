//! The `aud` parameter of `rpc` and `include`: a DID service reference, or (for `rpc`) `*`.

use std::fmt;

use syntax::Did;

/// A DID service reference, `<did>#<service id>`, e.g. `did:web:api.bsky.app#bsky_appview`
/// (permission spec, `rpc`: "DID followed by required service type fragment").
///
/// The DID must pass [`syntax::validate_did`] (any method). The service id is non-empty and made
/// of RFC 3986 fragment characters other than `%` and `#`: letters, digits and
/// `-._~!$&'()*+,;=:@/?`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceRef {
    did: Did,
    service_id: String,
}

impl ServiceRef {
    /// Parses `did#service`.
    pub fn new(s: &str) -> Result<ServiceRef, String> {
        let Some((did, service_id)) = s.split_once('#') else {
            return Err("must be a DID followed by '#' and a service id".to_owned());
        };
        let did = Did::new(did).map_err(|e| e.to_string())?;
        if service_id.is_empty() {
            return Err("empty service id after '#'".to_owned());
        }
        if !service_id.bytes().all(is_fragment_char) {
            return Err(
                "service id may only hold letters, digits and -._~!$&'()*+,;=:@/?".to_owned(),
            );
        }
        Ok(ServiceRef {
            did,
            service_id: service_id.to_owned(),
        })
    }

    /// The DID part.
    pub fn did(&self) -> &Did {
        &self.did
    }

    /// The service id, without the `#`.
    pub fn service_id(&self) -> &str {
        &self.service_id
    }

    /// True if `s` is this reference written out (`did#service`).
    pub fn is(&self, s: &str) -> bool {
        s.split_once('#')
            .is_some_and(|(did, id)| did == self.did.as_str() && id == self.service_id)
    }
}

impl std::str::FromStr for ServiceRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceRef::new(s)
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.did, self.service_id)
    }
}

fn is_fragment_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
        )
}

/// The audience of an `rpc` permission: any service (`*`) or one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    Any,
    Service(ServiceRef),
}

impl Audience {
    /// True if a request to `aud` (a `did#service` string) is covered. Exact comparison.
    pub fn matches(&self, aud: &str) -> bool {
        match self {
            Audience::Any => true,
            Audience::Service(s) => s.is(aud),
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Audience, String> {
        if s == "*" {
            Ok(Audience::Any)
        } else {
            ServiceRef::new(s).map(Audience::Service)
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::Any => f.write_str("*"),
            Audience::Service(s) => s.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_refs() {
        let s = ServiceRef::new("did:web:api.bsky.app#bsky_appview").unwrap();
        assert_eq!(s.did().as_str(), "did:web:api.bsky.app");
        assert_eq!(s.service_id(), "bsky_appview");
        assert_eq!(s.to_string(), "did:web:api.bsky.app#bsky_appview");
        assert!(s.is("did:web:api.bsky.app#bsky_appview"));
        assert!(!s.is("did:web:api.bsky.app#bsky_appview#x"));
        assert!(!s.is("did:web:api.bsky.app"));
        for bad in [
            "did:web:example.com",
            "did:web:example.com#",
            "did:web#svc",
            "did:web:example.com#a#b",
            "did:web:example.com#a%20b",
            "api.example.com#svc",
            "*",
            "",
        ] {
            assert!(ServiceRef::new(bad).is_err(), "{bad:?}");
        }
    }
}
