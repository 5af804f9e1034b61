//! A set of NSIDs or the wildcard: the `collection` of `repo` and the `lxm` of `rpc`.

use std::collections::BTreeSet;

use syntax::Nsid;

use crate::error::ScopeError;

/// Which NSIDs a permission covers: all of them (`*`), or a non-empty set. A list holding `*`
/// among other NSIDs is just `*`. Partial wildcards (`com.example.*`) do not exist (spec: "Partial
/// wildcards are not supported").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NsidFilter(Inner);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Inner {
    Any,
    Only(BTreeSet<Nsid>),
}

impl NsidFilter {
    /// The wildcard `*`.
    pub fn any() -> NsidFilter {
        NsidFilter(Inner::Any)
    }

    /// Exactly these NSIDs, deduplicated; `None` if there are none.
    pub fn only(nsids: impl IntoIterator<Item = Nsid>) -> Option<NsidFilter> {
        let set: BTreeSet<Nsid> = nsids.into_iter().collect();
        (!set.is_empty()).then_some(NsidFilter(Inner::Only(set)))
    }

    /// True for the wildcard.
    pub fn is_any(&self) -> bool {
        matches!(self.0, Inner::Any)
    }

    /// The NSIDs, or `None` for the wildcard.
    pub fn nsids(&self) -> Option<&BTreeSet<Nsid>> {
        match &self.0 {
            Inner::Any => None,
            Inner::Only(set) => Some(set),
        }
    }

    /// True if `nsid` is covered. Exact, case-sensitive comparison: NSIDs are not normalised.
    pub fn matches(&self, nsid: &str) -> bool {
        match &self.0 {
            Inner::Any => true,
            Inner::Only(set) => set.contains(nsid),
        }
    }

    /// Parses the values of one parameter (`*` or NSIDs), reporting errors against `resource`
    /// and `param`.
    pub(crate) fn parse(
        resource: &'static str,
        param: &'static str,
        values: &[&str],
    ) -> Result<NsidFilter, ScopeError> {
        let mut set = BTreeSet::new();
        let mut any = false;
        for &v in values {
            if v == "*" {
                any = true;
            } else {
                set.insert(Nsid::new(v).map_err(|e| ScopeError::invalid(resource, param, v, e))?);
            }
        }
        if any {
            return Ok(NsidFilter::any());
        }
        NsidFilter::only(set).ok_or(ScopeError::MissingParam { resource, param })
    }

    /// The values as written in a scope string, sorted.
    pub(crate) fn to_values(&self) -> Vec<String> {
        match &self.0 {
            Inner::Any => vec!["*".to_owned()],
            Inner::Only(set) => set.iter().map(|n| n.as_str().to_owned()).collect(),
        }
    }
}
