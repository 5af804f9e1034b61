//! `include`: a reference to a permission set, a lexicon schema resolved by the authorization
//! server (permission spec, "Permission Sets"). Resolution happens elsewhere; this is the scope
//! string and the namespace rule.

use std::fmt;

use syntax::Nsid;

use crate::audience::ServiceRef;
use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "include",
    params: &["nsid", "aud"],
    positional: "nsid",
};

/// `include:<nsid>?aud=<did#service>`: the permission set `nsid`, with an optional audience that
/// the set's `rpc` permissions marked `inheritAud` take on. The audience must be a service
/// reference; `*` is not accepted here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IncludeScope {
    pub nsid: Nsid,
    pub aud: Option<ServiceRef>,
}

impl IncludeScope {
    /// True if this set may grant permissions on `nsid` (a collection or method): its group (the
    /// NSID without its name segment) is the set's own group or under it (spec: "Namespace
    /// Authority"). `*` never is. Exact, case-sensitive comparison.
    ///
    /// ```
    /// use permission::Scope;
    ///
    /// let Ok(Scope::Include(set)) = "include:app.example.authFull".parse::<Scope>() else {
    ///     panic!("not an include scope");
    /// };
    /// assert!(set.is_under_authority("app.example.feed.post"));
    /// assert!(set.is_under_authority("app.example.profile"));
    /// assert!(!set.is_under_authority("app.other.profile"));
    /// assert!(!set.is_under_authority("app.examplex.profile"));
    /// assert!(!set.is_under_authority("*"));
    /// ```
    pub fn is_under_authority(&self, nsid: &str) -> bool {
        if syntax::validate_nsid(nsid).is_err() {
            return false;
        }
        let group = self.nsid.authority();
        let item_group = nsid.rsplit_once('.').map_or("", |(g, _)| g);
        item_group == group
            || item_group
                .strip_prefix(group)
                .is_some_and(|rest| rest.starts_with('.'))
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<IncludeScope, ScopeError> {
        SCHEMA.check_names(g)?;
        let nsid = SCHEMA.required(g, "nsid")?;
        let nsid = Nsid::new(nsid).map_err(|e| ScopeError::invalid("include", "nsid", nsid, e))?;
        let aud = SCHEMA
            .single(g, "aud")?
            .map(|a| ServiceRef::new(a).map_err(|e| ScopeError::invalid("include", "aud", a, e)))
            .transpose()?;
        Ok(IncludeScope { nsid, aud })
    }

    pub(crate) fn to_generic(&self) -> GenericScope {
        let mut params = vec![("nsid", vec![self.nsid.as_str().to_owned()])];
        if let Some(aud) = &self.aud {
            params.push(("aud", vec![aud.to_string()]));
        }
        format(SCHEMA.resource, SCHEMA.positional, params)
    }
}

impl fmt::Display for IncludeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
