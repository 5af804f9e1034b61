//! `repo`: writes to records in the account's public repository (permission spec, `repo`).

use std::fmt;

use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::nsid_filter::NsidFilter;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "repo",
    params: &["collection", "action"],
    positional: "collection",
};

/// A record operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoAction {
    Create,
    Update,
    Delete,
}

impl RepoAction {
    /// All three, in the order the normalised form lists them.
    pub const ALL: [RepoAction; 3] = [RepoAction::Create, RepoAction::Update, RepoAction::Delete];

    /// The name used in scope strings.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoAction::Create => "create",
            RepoAction::Update => "update",
            RepoAction::Delete => "delete",
        }
    }

    /// Parses `create`, `update` or `delete` (case-sensitive).
    pub fn parse(s: &str) -> Option<RepoAction> {
        RepoAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for RepoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of [`RepoAction`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepoActions([bool; 3]);

impl RepoActions {
    /// Create, update and delete: the default when a scope gives no `action`.
    pub fn all() -> RepoActions {
        RepoActions([true; 3])
    }

    /// Exactly these actions, deduplicated; `None` if there are none.
    pub fn new(actions: impl IntoIterator<Item = RepoAction>) -> Option<RepoActions> {
        let mut set = [false; 3];
        for a in actions {
            set[a as usize] = true;
        }
        set.contains(&true).then_some(RepoActions(set))
    }

    /// True if `action` is in the set.
    pub fn contains(&self, action: RepoAction) -> bool {
        self.0[action as usize]
    }

    /// The actions, in create, update, delete order.
    pub fn iter(&self) -> impl Iterator<Item = RepoAction> + '_ {
        RepoAction::ALL.into_iter().filter(|&a| self.contains(a))
    }

    /// True if all three are in the set.
    pub fn is_all(&self) -> bool {
        self.0 == [true; 3]
    }
}

/// `repo:<collection>?action=...`: record operations on some collections (or `*`, all of them).
/// Without `action`, all three operations are granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPermission {
    pub collection: NsidFilter,
    pub action: RepoActions,
}

impl RepoPermission {
    /// True if this permission allows `action` on records of `collection`.
    pub fn matches(&self, collection: &str, action: RepoAction) -> bool {
        self.action.contains(action) && self.collection.matches(collection)
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<RepoPermission, ScopeError> {
        SCHEMA.check_names(g)?;
        let collection = NsidFilter::parse(
            SCHEMA.resource,
            "collection",
            &SCHEMA.required_multi(g, "collection")?,
        )?;
        let actions = SCHEMA.multi(g, "action")?;
        let action = if actions.is_empty() {
            RepoActions::all()
        } else {
            let parsed = actions
                .iter()
                .map(|&a| {
                    RepoAction::parse(a).ok_or_else(|| {
                        ScopeError::invalid("repo", "action", a, "must be create, update or delete")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Never empty here: `actions` was not.
            RepoActions::new(parsed).ok_or(ScopeError::MissingParam {
                resource: "repo",
                param: "action",
            })?
        };
        Ok(RepoPermission { collection, action })
    }

    pub(crate) fn to_generic(&self) -> GenericScope {
        let mut params = vec![("collection", self.collection.to_values())];
        if !self.action.is_all() {
            params.push((
                "action",
                self.action.iter().map(|a| a.as_str().to_owned()).collect(),
            ));
        }
        format(SCHEMA.resource, SCHEMA.positional, params)
    }
}

impl fmt::Display for RepoPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
