//! `identity`: control of the account's DID document and handle (permission spec, `identity`).

use std::fmt;

use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "identity",
    params: &["attr"],
    positional: "attr",
};

/// An aspect of the account's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityAttr {
    /// The handle: updating it, in the DID document and in any domain the PDS controls.
    Handle,
    /// `*`: full control of the DID document and handle.
    Any,
}

impl IdentityAttr {
    /// The name used in scope strings.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityAttr::Handle => "handle",
            IdentityAttr::Any => "*",
        }
    }

    /// Parses `handle` or `*` (case-sensitive).
    pub fn parse(s: &str) -> Option<IdentityAttr> {
        [IdentityAttr::Handle, IdentityAttr::Any]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// `identity:<attr>`: `identity:*` covers every attribute, `identity:handle` only the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPermission {
    pub attr: IdentityAttr,
}

impl IdentityPermission {
    /// True if control over `attr` is allowed. Asking for [`IdentityAttr::Any`] (full control of
    /// the DID document) needs `identity:*`.
    pub fn matches(&self, attr: IdentityAttr) -> bool {
        self.attr == IdentityAttr::Any || self.attr == attr
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<IdentityPermission, ScopeError> {
        SCHEMA.check_names(g)?;
        let attr = SCHEMA.required(g, "attr")?;
        let attr = IdentityAttr::parse(attr)
            .ok_or_else(|| ScopeError::invalid("identity", "attr", attr, "must be handle or *"))?;
        Ok(IdentityPermission { attr })
    }

    pub(crate) fn to_generic(self) -> GenericScope {
        format(
            SCHEMA.resource,
            SCHEMA.positional,
            vec![("attr", vec![self.attr.as_str().to_owned()])],
        )
    }
}

impl fmt::Display for IdentityPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
