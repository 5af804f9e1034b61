//! One scope token, typed.

use std::fmt;

use crate::account::AccountPermission;
use crate::blob::BlobPermission;
use crate::error::ScopeError;
use crate::grammar::GenericScope;
use crate::identity::IdentityPermission;
use crate::include::IncludeScope;
use crate::repo::RepoPermission;
use crate::rpc::RpcPermission;

/// One OAuth scope this crate understands: the `atproto` profile marker, the transitional
/// scopes of the OAuth spec, and the granular permissions of the permission spec.
///
/// `atproto` and the `transition:` scopes are plain tokens, compared exactly. The others are
/// parsed by [`GenericScope`] and then by their resource's rules; equal permissions compare
/// equal however they were written (`repo?collection=a.b.c` and `repo:a.b.c` are one value),
/// and [`Display`](fmt::Display) writes the normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `atproto`: the client follows the atproto OAuth profile. Required for any access.
    Atproto,
    /// `transition:generic`: what an app password may do.
    TransitionGeneric,
    /// `transition:chat.bsky`: with `transition:generic`, also the `chat.bsky.*` methods.
    TransitionChatBsky,
    /// `transition:email`: read the account email (as `account:email`).
    TransitionEmail,
    Repo(RepoPermission),
    Rpc(RpcPermission),
    Blob(BlobPermission),
    Account(AccountPermission),
    Identity(IdentityPermission),
    /// A permission set reference; grants nothing until the authorization server resolves it.
    Include(IncludeScope),
}

pub(crate) const ATPROTO: &str = "atproto";
pub(crate) const TRANSITION_GENERIC: &str = "transition:generic";
pub(crate) const TRANSITION_CHAT_BSKY: &str = "transition:chat.bsky";
pub(crate) const TRANSITION_EMAIL: &str = "transition:email";

impl Scope {
    /// Parses one scope token strictly: any error (unknown resource, unknown parameter, bad
    /// value) is returned. [`crate::ScopeSet`] keeps such tokens aside instead.
    pub fn parse(s: &str) -> Result<Scope, ScopeError> {
        match s {
            ATPROTO => return Ok(Scope::Atproto),
            TRANSITION_GENERIC => return Ok(Scope::TransitionGeneric),
            TRANSITION_CHAT_BSKY => return Ok(Scope::TransitionChatBsky),
            TRANSITION_EMAIL => return Ok(Scope::TransitionEmail),
            _ => {}
        }
        Scope::from_generic(&GenericScope::parse(s)?)
    }

    /// Gives a generically parsed scope its resource's meaning.
    pub fn from_generic(g: &GenericScope) -> Result<Scope, ScopeError> {
        match g.resource.as_str() {
            "repo" => RepoPermission::from_generic(g).map(Scope::Repo),
            "rpc" => RpcPermission::from_generic(g).map(Scope::Rpc),
            "blob" => BlobPermission::from_generic(g).map(Scope::Blob),
            "account" => AccountPermission::from_generic(g).map(Scope::Account),
            "identity" => IdentityPermission::from_generic(g).map(Scope::Identity),
            "include" => IncludeScope::from_generic(g).map(Scope::Include),
            other => Err(ScopeError::UnknownResource(other.to_owned())),
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Atproto => f.write_str(ATPROTO),
            Scope::TransitionGeneric => f.write_str(TRANSITION_GENERIC),
            Scope::TransitionChatBsky => f.write_str(TRANSITION_CHAT_BSKY),
            Scope::TransitionEmail => f.write_str(TRANSITION_EMAIL),
            Scope::Repo(p) => p.fmt(f),
            Scope::Rpc(p) => p.fmt(f),
            Scope::Blob(p) => p.fmt(f),
            Scope::Account(p) => p.fmt(f),
            Scope::Identity(p) => p.fmt(f),
            Scope::Include(p) => p.fmt(f),
        }
    }
}

macro_rules! from_permission {
    ($($ty:ident => $variant:ident),*) => {$(
        impl From<$ty> for Scope {
            fn from(p: $ty) -> Scope {
                Scope::$variant(p)
            }
        }
    )*};
}

from_permission!(
    RepoPermission => Repo,
    RpcPermission => Rpc,
    BlobPermission => Blob,
    AccountPermission => Account,
    IdentityPermission => Identity,
    IncludeScope => Include
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Audience;
    use crate::{AccountAction, AccountAttr, IdentityAttr, RepoAction};

    fn normal(s: &str) -> String {
        Scope::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .to_string()
    }

    #[test]
    fn normalises() {
        for (input, want) in [
            ("atproto", "atproto"),
            ("transition:generic", "transition:generic"),
            ("repo?collection=a.b.c", "repo:a.b.c"),
            (
                "repo:a.b.c?action=delete&action=create&action=update",
                "repo:a.b.c",
            ),
            (
                "repo?action=update&collection=b.b.c&collection=a.b.c&action=create&action=create",
                "repo?collection=a.b.c&collection=b.b.c&action=create&action=update",
            ),
            ("repo?collection=*&collection=a.b.c", "repo:*"),
            ("repo:%2A?action=delete", "repo:*?action=delete"),
            (
                "rpc?aud=did%3Aweb%3Aapi.example.com%23frag&lxm=com.example.query",
                "rpc:com.example.query?aud=did:web:api.example.com%23frag",
            ),
            (
                "rpc?lxm=b.b.c&lxm=a.b.c&aud=*",
                "rpc?lxm=a.b.c&lxm=b.b.c&aud=*",
            ),
            (
                "rpc?lxm=*&aud=did:web:x.com#svc",
                "rpc:*?aud=did:web:x.com%23svc",
            ),
            ("blob?accept=image/PNG", "blob:image/png"),
            (
                "blob?accept=video/*&accept=text/html",
                "blob?accept=text/html&accept=video/*",
            ),
            ("blob?accept=image/*&accept=*/*", "blob:*/*"),
            ("blob:image/svg+xml", "blob:image/svg+xml"),
            (
                "blob?accept=image/svg%2Bxml&accept=image/png",
                "blob?accept=image/png&accept=image/svg%2Bxml",
            ),
            ("account?attr=email&action=read", "account:email"),
            (
                "account?action=manage&attr=repo",
                "account:repo?action=manage",
            ),
            ("identity?attr=handle", "identity:handle"),
            ("identity:*?", "identity:*"),
            ("include?nsid=com.example.baz", "include:com.example.baz"),
            (
                "include:com.example.baz?aud=did:web:example.com#my_service",
                "include:com.example.baz?aud=did:web:example.com%23my_service",
            ),
        ] {
            assert_eq!(normal(input), want, "{input}");
            assert_eq!(normal(want), want, "{want}");
        }
    }

    #[test]
    fn typed_values() {
        let Ok(Scope::Repo(p)) = Scope::parse("repo:*?action=create") else {
            panic!()
        };
        assert!(p.collection.is_any());
        assert_eq!(p.action.iter().collect::<Vec<_>>(), [RepoAction::Create]);

        let Ok(Scope::Rpc(p)) = Scope::parse("rpc:a.b.c?aud=did:web:x.com%23svc") else {
            panic!()
        };
        assert!(p.lxm().matches("a.b.c"));
        assert!(matches!(p.aud(), Audience::Service(s) if s.service_id() == "svc"));

        assert_eq!(
            Scope::parse("account:email?action=manage"),
            Ok(Scope::Account(AccountPermission {
                attr: AccountAttr::Email,
                action: AccountAction::Manage
            }))
        );
        assert_eq!(
            Scope::parse("identity:*"),
            Ok(Scope::Identity(IdentityPermission {
                attr: IdentityAttr::Any
            }))
        );
        let Ok(Scope::Include(i)) = Scope::parse("include?aud=did:web:x.com%23s&nsid=a.b.c") else {
            panic!()
        };
        assert_eq!(i.nsid.as_str(), "a.b.c");
        assert_eq!(i.aud.unwrap().to_string(), "did:web:x.com#s");
    }

    #[test]
    fn errors_name_the_rule() {
        for (input, want) in [
            ("nope:x", ScopeError::UnknownResource("nope".into())),
            ("Repo:a.b.c", ScopeError::UnknownResource("Repo".into())),
            (
                "repo:a.b.c?collection=d.e.f",
                ScopeError::PositionalAndNamed {
                    resource: "repo",
                    param: "collection",
                },
            ),
            (
                "repo:*?Action=create",
                ScopeError::UnknownParam {
                    resource: "repo",
                    param: "Action".into(),
                },
            ),
            (
                "rpc:a.b.c",
                ScopeError::MissingParam {
                    resource: "rpc",
                    param: "aud",
                },
            ),
            ("rpc:*?aud=*", ScopeError::RpcBothWildcards),
            ("rpc?lxm=*&lxm=a.b.c&aud=*", ScopeError::RpcBothWildcards),
            (
                "rpc:a.b.c?aud=*&aud=*",
                ScopeError::RepeatedParam {
                    resource: "rpc",
                    param: "aud",
                },
            ),
            (
                "account:email?action=read&action=manage",
                ScopeError::RepeatedParam {
                    resource: "account",
                    param: "action",
                },
            ),
            (
                "identity:handle?attr=handle",
                ScopeError::PositionalAndNamed {
                    resource: "identity",
                    param: "attr",
                },
            ),
            (
                "transition:generic?",
                ScopeError::UnknownResource("transition".into()),
            ),
            ("atproto:", ScopeError::UnknownResource("atproto".into())),
        ] {
            assert_eq!(Scope::parse(input), Err(want), "{input}");
        }
        for input in [
            "repo:",
            "repo:com.example",
            "repo:a.b.c?action=",
            "repo:a.b.c?action=read",
            "rpc:a.b.c?aud=did:web:x.com",
            "rpc:a.b.c?aud=did:web:x.com%23",
            "rpc:a.b.c?aud=",
            "blob:image",
            "blob:*/png",
            "blob:image/*png",
            "blob:image/",
            "blob:/png",
            "blob:image/png/x",
            "account:*",
            "account:email?action=write",
            "identity:did",
            "include:a.b.c?aud=*",
            "include:*",
        ] {
            assert!(
                matches!(Scope::parse(input), Err(ScopeError::InvalidValue { .. })),
                "{input}: {:?}",
                Scope::parse(input)
            );
        }
    }
}
