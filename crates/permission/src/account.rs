//! `account`: control of hosting details such as the account email (permission spec,
//! `account`).

use std::fmt;

use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::params::{format, Schema};

const SCHEMA: Schema = Schema {
    resource: "account",
    params: &["attr", "action"],
    positional: "attr",
};

/// An account attribute. The spec defines `email` and `repo`; the wildcard is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountAttr {
    /// The account email address (`read`: see it and its verification status; `manage`: change
    /// it).
    Email,
    /// The whole repository as a CAR file (`manage`: import, e.g. during migration; `read` does
    /// nothing).
    Repo,
}

impl AccountAttr {
    /// The name used in scope strings.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAttr::Email => "email",
            AccountAttr::Repo => "repo",
        }
    }

    /// Parses `email` or `repo` (case-sensitive).
    pub fn parse(s: &str) -> Option<AccountAttr> {
        [AccountAttr::Email, AccountAttr::Repo]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// The degree of control over an account attribute. `manage` includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountAction {
    Read,
    Manage,
}

impl AccountAction {
    /// The name used in scope strings.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Read => "read",
            AccountAction::Manage => "manage",
        }
    }

    /// Parses `read` or `manage` (case-sensitive).
    pub fn parse(s: &str) -> Option<AccountAction> {
        [AccountAction::Read, AccountAction::Manage]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// `account:<attr>?action=read|manage`; the action defaults to `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountPermission {
    pub attr: AccountAttr,
    pub action: AccountAction,
}

impl AccountPermission {
    /// True if `action` on `attr` is allowed (`manage` includes `read`).
    pub fn matches(&self, attr: AccountAttr, action: AccountAction) -> bool {
        self.attr == attr && (self.action == AccountAction::Manage || self.action == action)
    }

    pub(crate) fn from_generic(g: &GenericScope) -> Result<AccountPermission, ScopeError> {
        SCHEMA.check_names(g)?;
        let attr = SCHEMA.required(g, "attr")?;
        let attr = AccountAttr::parse(attr)
            .ok_or_else(|| ScopeError::invalid("account", "attr", attr, "must be email or repo"))?;
        let action = match SCHEMA.single(g, "action")? {
            None => AccountAction::Read,
            Some(a) => AccountAction::parse(a).ok_or_else(|| {
                ScopeError::invalid("account", "action", a, "must be read or manage")
            })?,
        };
        Ok(AccountPermission { attr, action })
    }

    pub(crate) fn to_generic(self) -> GenericScope {
        let mut params = vec![("attr", vec![self.attr.as_str().to_owned()])];
        if self.action != AccountAction::Read {
            params.push(("action", vec![self.action.as_str().to_owned()]));
        }
        format(SCHEMA.resource, SCHEMA.positional, params)
    }
}

impl fmt::Display for AccountPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_generic().fmt(f)
    }
}
