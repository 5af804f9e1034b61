//! atproto OAuth scopes: parsing scope strings and deciding what they allow.
//!
//! This crate is pure: no I/O, no clock, no lexicon resolution. The authorization server uses it
//! to read and normalise the `scope` of client metadata and authorization requests; the resource
//! server uses it to decide, per request, whether an access token's scope allows the write,
//! upload, proxied call or account change being asked for.
//!
//! It follows the permission spec (atproto.com/specs/permission) and the scope section of the
//! OAuth spec (atproto.com/specs/oauth):
//!
//! | scope | type |
//! |---|---|
//! | `atproto`, `transition:generic`, `transition:chat.bsky`, `transition:email` | [`Scope`] variants |
//! | `repo:<collection \| *>?action=create\|update\|delete` | [`RepoPermission`] |
//! | `rpc:<lxm \| *>?aud=<did#service \| *>` (not both `*`) | [`RpcPermission`] |
//! | `blob:<*/* \| type/* \| type/subtype>` | [`BlobPermission`] |
//! | `account:<email \| repo>?action=read\|manage` | [`AccountPermission`] |
//! | `identity:<handle \| *>` | [`IdentityPermission`] |
//! | `include:<nsid>?aud=<did#service>` (a permission set, resolved elsewhere) | [`IncludeScope`] |
//!
//! Every scope first goes through the general syntax ([`GenericScope`]: resource, positional
//! part, repeated and percent-encoded query parameters), then through its resource's rules.
//! A whole scope value parses into a [`ScopeSet`], which keeps tokens it does not understand
//! (granting nothing) and answers `allows_repo`, `allows_rpc`, `allows_blob`, `allows_account`
//! and `allows_identity`, including what the transitional scopes grant. Every type displays in
//! a normalised form that parses back to an equal value.
//!
//! ```
//! use permission::{AccountAction, AccountAttr, IdentityAttr, RepoAction, Scope, ScopeSet};
//!
//! let scopes: ScopeSet = "atproto repo?collection=app.bsky.feed.post&action=create \
//!     rpc:app.bsky.feed.getTimeline?aud=did:web:api.bsky.app%23bsky_appview \
//!     blob:image/* account:email future:thing"
//!     .parse()?;
//!
//! assert!(scopes.allows_repo("app.bsky.feed.post", RepoAction::Create));
//! assert!(!scopes.allows_repo("app.bsky.feed.post", RepoAction::Delete));
//! assert!(scopes.allows_rpc("app.bsky.feed.getTimeline", "did:web:api.bsky.app#bsky_appview"));
//! assert!(!scopes.allows_rpc("app.bsky.feed.getTimeline", "did:web:other.example#svc"));
//! assert!(scopes.allows_blob("image/png"));
//! assert!(!scopes.allows_blob("video/mp4"));
//! assert!(scopes.allows_account(AccountAttr::Email, AccountAction::Read));
//! assert!(!scopes.allows_account(AccountAttr::Email, AccountAction::Manage));
//! assert!(!scopes.allows_identity(IdentityAttr::Handle));
//!
//! // Unknown tokens are kept but grant nothing; the output is normalised.
//! assert_eq!(scopes.unrecognized().collect::<Vec<_>>(), ["future:thing"]);
//! assert_eq!(
//!     scopes.to_string(),
//!     "atproto repo:app.bsky.feed.post?action=create \
//!      rpc:app.bsky.feed.getTimeline?aud=did:web:api.bsky.app%23bsky_appview \
//!      blob:image/* account:email future:thing"
//! );
//!
//! // `transition:generic` is what an app password could do: no chat, no account management.
//! let legacy: ScopeSet = "atproto transition:generic".parse()?;
//! assert!(legacy.allows_repo("com.example.anything", RepoAction::Delete));
//! assert!(legacy.allows_rpc("app.bsky.actor.getProfile", "did:web:api.bsky.app#bsky_appview"));
//! assert!(!legacy.allows_rpc("chat.bsky.convo.listConvos", "did:web:api.bsky.chat#bsky_chat"));
//! assert!(!legacy.allows_account(AccountAttr::Email, AccountAction::Read));
//!
//! // Single scopes parse strictly.
//! assert!("rpc:*?aud=*".parse::<Scope>().is_err());
//! # Ok::<(), permission::ScopeError>(())
//! ```
//!
//! [`interop`] runs the draft permission vector files for the L1 runner.

mod account;
mod audience;
mod blob;
mod error;
mod grammar;
mod identity;
mod include;
pub mod interop;
mod nsid_filter;
mod params;
mod permission_set;
mod repo;
mod rpc;
mod scope;
mod set;

pub use account::{AccountAction, AccountAttr, AccountPermission};
pub use audience::{Audience, ServiceRef};
pub use blob::{BlobPermission, MimePattern};
pub use error::ScopeError;
pub use grammar::GenericScope;
pub use identity::{IdentityAttr, IdentityPermission};
pub use include::IncludeScope;
pub use nsid_filter::NsidFilter;
pub use permission_set::{expand_permission_set, PermissionSet};
pub use repo::{RepoAction, RepoActions, RepoPermission};
pub use rpc::RpcPermission;
pub use scope::Scope;
pub use set::ScopeSet;
