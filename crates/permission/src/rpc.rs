//! `rpc`: authenticated calls to remote services, proxied by the PDS or through service auth
//! tokens (permission spec, `rpc`).

use std::fmt;

use crate::audience::Audience;
use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::nsid_filter::NsidFilter;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "rpc",
    params: &["lxm", "aud"],
    positional: "lxm",
};

/// `rpc:<lxm>?aud=<did#service>`: calls to some methods (or `*`) at one service (or `*`).
/// Both parameters are required in scope strings, and they cannot both be `*` ("the ability to
/// call any API endpoint on any service can not be declared with a single permission").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RpcPermission {
    lxm: NsidFilter,
    aud: Audience,
}

impl RpcPermission {
    /// Builds the permission; refuses `lxm` and `aud` both `*`.
    pub fn new(lxm: NsidFilter, aud: Audience) -> Result<RpcPermission, ScopeError> {
        if lxm.is_any() && aud == Audience::Any {
            return Err(ScopeError::RpcBothWildcards);
        }
        Ok(RpcPermission { lxm, aud })
    }

    /// The methods covered.
    pub fn lxm(&self) -> &NsidFilter {
        &self.lxm
    }

    /// The service covered.
    pub fn aud(&self) -> &Audience {
        &self.aud
    }

    /// True if a call to method `lxm` at service `aud` (`did#service`) is allowed. A request for
    /// `lxm` `*` (a service auth token good for every method) needs a permission with `lxm` `*`.
    pub fn matches(&self, lxm: &str, aud: &str) -> bool {
        self.lxm.matches(lxm) && self.aud.matches(aud)
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<RpcPermission, ScopeError> {
        SCHEMA.check_names(g)?;
        let lxm = NsidFilter::parse(SCHEMA.resource, "lxm", &SCHEMA.required_multi(g, "lxm")?)?;
        let aud = SCHEMA.required(g, "aud")?;
        let aud = Audience::parse(aud).map_err(|e| ScopeError::invalid("rpc", "aud", aud, e))?;
        RpcPermission::new(lxm, aud)
    }

    pub(crate) fn to_generic(&self) -> GenericScope {
        format(
            SCHEMA.resource,
            SCHEMA.positional,
            vec![
                ("lxm", self.lxm.to_values()),
                ("aud", vec![self.aud.to_string()]),
            ],
        )
    }
}

impl fmt::Display for RpcPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
