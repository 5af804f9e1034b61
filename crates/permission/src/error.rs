//! What can be wrong with a scope string, in the permission spec's own terms.

use thiserror::Error;

/// Why a scope string was refused. One variant per rule, so callers (the authorization server's
/// `invalid_scope` responses, the resource server's logs) can say which rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    /// The scope (or one token of a scope string) is empty.
    #[error("empty scope")]
    Empty,
    /// A character outside the scope alphabet: printable ASCII without space, `"` or `\`
    /// (permission spec "Scope String Syntax"; RFC 6749 §3.3 `NQCHAR`).
    #[error(
        "character {0:?} is not allowed in a scope (printable ASCII only, no space, '\"' or '\\')"
    )]
    InvalidChar(char),
    /// The resource name (before `:` or `?`) is empty or has characters other than ASCII letters,
    /// digits, `.`, `-` and `_`.
    #[error("invalid resource name {0:?}")]
    InvalidResource(String),
    /// A `%` not followed by two hex digits, or percent-encoded bytes that are not UTF-8.
    #[error("bad percent-encoding: {0}")]
    BadPercentEncoding(&'static str),
    /// A query parameter with an empty name (`?=value`).
    #[error("query parameter with an empty name")]
    EmptyParamName,
    /// The resource is not one this crate knows (`repo`, `rpc`, `blob`, `account`, `identity`,
    /// `include`), and the token is not `atproto` or a `transition:` scope either.
    #[error("unknown scope resource {0:?}")]
    UnknownResource(String),
    /// A parameter the resource does not define. The spec says such permissions must be ignored,
    /// not partially granted.
    #[error("{resource}: unknown parameter {param:?}")]
    UnknownParam {
        resource: &'static str,
        param: String,
    },
    /// A required parameter is absent.
    #[error("{resource}: missing required parameter {param:?}")]
    MissingParam {
        resource: &'static str,
        param: &'static str,
    },
    /// The positional parameter is also given by name, e.g.
    /// `repo:com.example.record?collection=com.example.other` (spec: "not allowed").
    #[error("{resource}: {param:?} given both positionally and as a named parameter")]
    PositionalAndNamed {
        resource: &'static str,
        param: &'static str,
    },
    /// A single-valued parameter was repeated.
    #[error("{resource}: parameter {param:?} takes a single value")]
    RepeatedParam {
        resource: &'static str,
        param: &'static str,
    },
    /// A parameter value that is not allowed.
    #[error("{resource}: invalid {param} {value:?}: {reason}")]
    InvalidValue {
        resource: &'static str,
        param: &'static str,
        value: String,
        reason: String,
    },
    /// `rpc` with both `lxm` and `aud` wildcards: "`aud` and `lxm` can not both be wildcard".
    #[error("rpc: lxm and aud cannot both be '*'")]
    RpcBothWildcards,
}

impl ScopeError {
    pub(crate) fn invalid(
        resource: &'static str,
        param: &'static str,
        value: &str,
        reason: impl ToString,
    ) -> ScopeError {
        ScopeError::InvalidValue {
            resource,
            param,
            value: value.to_owned(),
            reason: reason.to_string(),
        }
    }
}
