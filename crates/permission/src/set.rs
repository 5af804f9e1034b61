//! A whole OAuth `scope` value, and what it allows.

use std::fmt;

use crate::account::{AccountAction, AccountAttr};
use crate::blob::MimePattern;
use crate::error::ScopeError;
use crate::grammar::check_alphabet;
use crate::identity::IdentityAttr;
use crate::include::IncludeScope;
use crate::repo::RepoAction;
use crate::scope::Scope;

/// A space-separated OAuth `scope` value, parsed token by token.
///
/// Tokens this crate understands become [`Scope`]s. Tokens it does not (an unknown resource, an
/// unknown parameter, a value out of range, a `transition:` scope it has never heard of) are
/// kept, verbatim, as *unrecognized*: they grant nothing, but they stay in the set and in its
/// [`Display`](fmt::Display) output so the authorization server can compare them against client
/// metadata and decide whether to drop them (RFC 6749 §3.3 lets it "fully or partially ignore
/// the scope requested"; the permission spec says unknown permissions "must" be ignored rather
/// than rejected "in whole", since "the permission system is expected to evolve over time").
///
/// Only a token outside the OAuth scope alphabet (RFC 6749 `NQCHAR`: printable ASCII without
/// space, `"` or `\`) makes the whole value an error. Runs of spaces are tolerated. Duplicates
/// (after normalisation) are dropped; otherwise the order of first appearance is kept.
///
/// Every `allows_*` method returns false unless the set holds `atproto` (OAuth spec: "No access
/// to any atproto-specific PDS resources will be granted without this scope included").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Entry {
    Known(Scope),
    Unrecognized(String),
}

impl ScopeSet {
    /// An empty set.
    pub fn new() -> ScopeSet {
        ScopeSet::default()
    }

    /// Parses a space-separated scope value.
    pub fn parse(s: &str) -> Result<ScopeSet, ScopeError> {
        let mut set = ScopeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            check_alphabet(token)?;
            let entry = match Scope::parse(token) {
                Ok(scope) => Entry::Known(scope),
                Err(_) => Entry::Unrecognized(token.to_owned()),
            };
            set.push(entry);
        }
        Ok(set)
    }

    /// Adds `scope`; false if an equal one was already there.
    pub fn insert(&mut self, scope: Scope) -> bool {
        self.push(Entry::Known(scope))
    }

    fn push(&mut self, entry: Entry) -> bool {
        if self.entries.contains(&entry) {
            return false;
        }
        self.entries.push(entry);
        true
    }

    /// The understood scopes, in order.
    pub fn scopes(&self) -> impl Iterator<Item = &Scope> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Entry::Known(s) => Some(s),
            Entry::Unrecognized(_) => None,
        })
    }

    /// The tokens kept but not understood, verbatim, in order.
    pub fn unrecognized(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Entry::Known(_) => None,
            Entry::Unrecognized(s) => Some(s.as_str()),
        })
    }

    /// The `include:` scopes, for the authorization server to resolve.
    pub fn includes(&self) -> impl Iterator<Item = &IncludeScope> + '_ {
        self.scopes().filter_map(|s| match s {
            Scope::Include(i) => Some(i),
            _ => None,
        })
    }

    /// Number of tokens, understood or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True if `scope` is in the set (compared in normalised form).
    pub fn contains(&self, scope: &Scope) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// True if every token of `self` is in `other`: understood scopes compared in normalised
    /// form, unrecognized tokens byte for byte. This is token membership (a requested scope
    /// against the client metadata's `scope`), not a comparison of what the two sets allow.
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.entries.iter().all(|e| other.entries.contains(e))
    }

    /// True if `atproto` is present.
    pub fn has_atproto(&self) -> bool {
        self.contains(&Scope::Atproto)
    }

    /// True if `transition:generic` is present.
    pub fn has_transition_generic(&self) -> bool {
        self.contains(&Scope::TransitionGeneric)
    }

    /// True if `transition:chat.bsky` is present (it does nothing without `transition:generic`).
    pub fn has_transition_chat_bsky(&self) -> bool {
        self.contains(&Scope::TransitionChatBsky)
    }

    /// True if `transition:email` is present.
    pub fn has_transition_email(&self) -> bool {
        self.contains(&Scope::TransitionEmail)
    }

    /// May the client `action` records in `collection`?
    ///
    /// `transition:generic` allows every action on every collection (OAuth spec: "write
    /// (create/update/delete) any repository record type"), for a valid NSID.
    pub fn allows_repo(&self, collection: &str, action: RepoAction) -> bool {
        if !self.has_atproto() {
            return false;
        }
        if self.has_transition_generic() && syntax::validate_nsid(collection).is_ok() {
            return true;
        }
        self.scopes()
            .any(|s| matches!(s, Scope::Repo(p) if p.matches(collection, action)))
    }

    /// May the client call method `lxm` at service `aud` (`did#service`), by proxy or with a
    /// service auth token? `lxm` `*` asks for a token good for every method.
    ///
    /// `transition:generic` allows any method at any service except `chat.bsky.*` (OAuth spec:
    /// "no access to DMs (the `chat.bsky.*` Lexicons), specifically"); those need
    /// `transition:chat.bsky` as well, which "does not function without the
    /// `transition:generic` scope". A `*` token covers chat too, so the transitional scopes
    /// grant it only when both are present. The `chat.bsky.` prefix is compared ignoring case,
    /// so a differently cased NSID cannot slip past.
    pub fn allows_rpc(&self, lxm: &str, aud: &str) -> bool {
        if !self.has_atproto() {
            return false;
        }
        if self.has_transition_generic() {
            let chat = self.has_transition_chat_bsky();
            if lxm == "*" {
                if chat {
                    return true;
                }
            } else if syntax::validate_nsid(lxm).is_ok() && (chat || !is_chat_bsky(lxm)) {
                return true;
            }
        }
        self.scopes()
            .any(|s| matches!(s, Scope::Rpc(p) if p.matches(lxm, aud)))
    }

    /// May the client upload a blob of MIME type `mime` (a concrete `type/subtype`; parameters
    /// after `;` are ignored)?
    ///
    /// `transition:generic` allows any type (OAuth spec: "upload blobs (media files)").
    pub fn allows_blob(&self, mime: &str) -> bool {
        if !self.has_atproto() {
            return false;
        }
        if self.has_transition_generic() && MimePattern::any().matches(mime) {
            return true;
        }
        self.scopes()
            .any(|s| matches!(s, Scope::Blob(p) if p.matches(mime)))
    }

    /// May the client `action` the account attribute `attr`?
    ///
    /// `transition:email` allows reading the email. `transition:generic` allows nothing here
    /// (OAuth spec: "no account management actions: [...] change email, delete or deactivate
    /// account, migrate account").
    pub fn allows_account(&self, attr: AccountAttr, action: AccountAction) -> bool {
        if !self.has_atproto() {
            return false;
        }
        if attr == AccountAttr::Email
            && action == AccountAction::Read
            && self.has_transition_email()
        {
            return true;
        }
        self.scopes()
            .any(|s| matches!(s, Scope::Account(p) if p.matches(attr, action)))
    }

    /// May the client change `attr` of the account's identity? No transitional scope allows
    /// this (OAuth spec: `transition:generic` has no "change handle").
    pub fn allows_identity(&self, attr: IdentityAttr) -> bool {
        if !self.has_atproto() {
            return false;
        }
        self.scopes()
            .any(|s| matches!(s, Scope::Identity(p) if p.matches(attr)))
    }
}

fn is_chat_bsky(lxm: &str) -> bool {
    lxm.get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("chat.bsky."))
}

impl std::str::FromStr for ScopeSet {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeSet::parse(s)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::new();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl Extend<Scope> for ScopeSet {
    fn extend<I: IntoIterator<Item = Scope>>(&mut self, iter: I) {
        for scope in iter {
            self.insert(scope);
        }
    }
}

/// The normalised scope value: understood scopes in normalised form, unrecognized tokens as
/// given, separated by single spaces.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match e {
                Entry::Known(s) => s.fmt(f)?,
                Entry::Unrecognized(s) => f.write_str(s)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "did:web:api.bsky.chat#bsky_chat";
    const APPVIEW: &str = "did:web:api.bsky.app#bsky_appview";

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn keeps_unknown_tokens_and_dedupes() {
        let s =
            set("  atproto Repo:a.b.c repo?collection=a.b.c repo:a.b.c  transition:foo atproto");
        assert_eq!(s.len(), 4);
        assert_eq!(
            s.unrecognized().collect::<Vec<_>>(),
            ["Repo:a.b.c", "transition:foo"]
        );
        assert_eq!(
            s.to_string(),
            "atproto Repo:a.b.c repo:a.b.c transition:foo"
        );
        assert_eq!(set(""), ScopeSet::new());
        assert!(set("").is_empty());
        assert_eq!(
            ScopeSet::parse("atproto repo:a.b.c\tblob:*/*"),
            Err(ScopeError::InvalidChar('\t'))
        );
        assert_eq!(
            ScopeSet::parse("atproto scope:é"),
            Err(ScopeError::InvalidChar('é'))
        );
    }

    #[test]
    fn subset_compares_normalised_tokens() {
        let metadata = set("atproto repo:a.b.c?action=create blob:image/* unknown");
        assert!(set("atproto repo?collection=a.b.c&action=create").is_subset_of(&metadata));
        assert!(set("unknown blob?accept=image/*").is_subset_of(&metadata));
        assert!(!set("atproto repo:a.b.c").is_subset_of(&metadata));
        assert!(!set("Unknown").is_subset_of(&metadata));
        let includes = set("include:a.b.c include:d.e.f?aud=did:web:x.com%23s");
        assert_eq!(includes.includes().count(), 2);
    }

    #[test]
    fn nothing_without_atproto() {
        let s = set(
            "transition:generic transition:chat.bsky transition:email repo:* blob:*/* \
                     rpc:*?aud=did:web:x.com%23s account:email?action=manage identity:*",
        );
        assert!(!s.allows_repo("a.b.c", RepoAction::Create));
        assert!(!s.allows_rpc("a.b.c", "did:web:x.com#s"));
        assert!(!s.allows_blob("image/png"));
        assert!(!s.allows_account(AccountAttr::Email, AccountAction::Read));
        assert!(!s.allows_identity(IdentityAttr::Handle));
        assert!(!set("").allows_repo("a.b.c", RepoAction::Create));
    }

    #[test]
    fn atproto_alone_allows_nothing() {
        let s = set("atproto");
        assert!(s.has_atproto());
        assert!(!s.allows_repo("a.b.c", RepoAction::Create));
        assert!(!s.allows_rpc("a.b.c", APPVIEW));
        assert!(!s.allows_blob("image/png"));
        assert!(!s.allows_account(AccountAttr::Email, AccountAction::Read));
        assert!(!s.allows_identity(IdentityAttr::Handle));
    }

    #[test]
    fn repo() {
        let s = set(
            "atproto repo:app.bsky.feed.post?action=create&action=delete \
                     repo?collection=app.bsky.feed.like&collection=app.bsky.graph.follow",
        );
        assert!(s.allows_repo("app.bsky.feed.post", RepoAction::Create));
        assert!(s.allows_repo("app.bsky.feed.post", RepoAction::Delete));
        assert!(!s.allows_repo("app.bsky.feed.post", RepoAction::Update));
        for a in RepoAction::ALL {
            assert!(s.allows_repo("app.bsky.feed.like", a));
            assert!(s.allows_repo("app.bsky.graph.follow", a));
            assert!(!s.allows_repo("app.bsky.feed.repost", a));
        }
        // NSIDs compare exactly.
        assert!(!s.allows_repo("App.bsky.feed.like", RepoAction::Create));

        let any = set("atproto repo:*?action=delete");
        assert!(any.allows_repo("com.example.x", RepoAction::Delete));
        assert!(!any.allows_repo("com.example.x", RepoAction::Create));
    }

    #[test]
    fn rpc() {
        let s = set(
            "atproto rpc:app.bsky.feed.getFeed?aud=did:web:api.bsky.app%23bsky_appview \
                     rpc:com.atproto.moderation.createReport?aud=* \
                     rpc?lxm=*&aud=did:web:labeler.example%23atproto_labeler",
        );
        assert!(s.allows_rpc("app.bsky.feed.getFeed", APPVIEW));
        assert!(!s.allows_rpc("app.bsky.feed.getFeed", "did:web:api.bsky.app#other"));
        assert!(!s.allows_rpc("app.bsky.feed.getFeed", "did:web:api.bsky.app"));
        assert!(!s.allows_rpc("app.bsky.feed.getTimeline", APPVIEW));
        assert!(s.allows_rpc("com.atproto.moderation.createReport", "did:web:a.b#c"));
        assert!(s.allows_rpc("x.y.z", "did:web:labeler.example#atproto_labeler"));
        // A token for every method needs lxm `*` for that service.
        assert!(s.allows_rpc("*", "did:web:labeler.example#atproto_labeler"));
        assert!(!s.allows_rpc("*", APPVIEW));
    }

    #[test]
    fn blob() {
        let s = set("atproto blob?accept=image/*&accept=video/mp4");
        assert!(s.allows_blob("image/png"));
        assert!(s.allows_blob("IMAGE/PNG"));
        assert!(s.allows_blob("image/jpeg; q=1"));
        assert!(s.allows_blob("video/mp4"));
        assert!(!s.allows_blob("video/webm"));
        assert!(!s.allows_blob("text/html"));
        assert!(!s.allows_blob("image"));
        assert!(!s.allows_blob("image/*"));
        assert!(!s.allows_blob("*/*"));
        assert!(!s.allows_blob(""));
        let all = set("atproto blob:*/*");
        assert!(all.allows_blob("application/octet-stream"));
        assert!(!all.allows_blob("application/"));
    }

    #[test]
    fn account() {
        let s = set("atproto account:email account:repo?action=manage");
        assert!(s.allows_account(AccountAttr::Email, AccountAction::Read));
        assert!(!s.allows_account(AccountAttr::Email, AccountAction::Manage));
        assert!(s.allows_account(AccountAttr::Repo, AccountAction::Manage));
        assert!(s.allows_account(AccountAttr::Repo, AccountAction::Read));
        let manage = set("atproto account:email?action=manage");
        assert!(manage.allows_account(AccountAttr::Email, AccountAction::Read));
        assert!(manage.allows_account(AccountAttr::Email, AccountAction::Manage));
        assert!(!manage.allows_account(AccountAttr::Repo, AccountAction::Read));
    }

    #[test]
    fn identity() {
        let handle = set("atproto identity:handle");
        assert!(handle.allows_identity(IdentityAttr::Handle));
        assert!(!handle.allows_identity(IdentityAttr::Any));
        let all = set("atproto identity:*");
        assert!(all.allows_identity(IdentityAttr::Handle));
        assert!(all.allows_identity(IdentityAttr::Any));
    }

    #[test]
    fn transition_generic_is_an_app_password() {
        let s = set("atproto transition:generic");
        for a in RepoAction::ALL {
            assert!(s.allows_repo("app.bsky.feed.post", a));
            assert!(s.allows_repo("com.example.anything", a));
        }
        assert!(!s.allows_repo("not-an-nsid", RepoAction::Create));
        assert!(s.allows_blob("image/png"));
        assert!(s.allows_blob("application/octet-stream"));
        assert!(!s.allows_blob("nonsense"));
        assert!(s.allows_rpc("app.bsky.actor.getPreferences", APPVIEW));
        assert!(s.allows_rpc(
            "com.atproto.moderation.createReport",
            "did:web:mod.example#x"
        ));
        // No DMs, however the NSID is cased.
        assert!(!s.allows_rpc("chat.bsky.convo.listConvos", CHAT));
        assert!(!s.allows_rpc("Chat.Bsky.convo.listConvos", CHAT));
        // A token for every method would cover chat.
        assert!(!s.allows_rpc("*", APPVIEW));
        assert!(!s.allows_rpc("", APPVIEW));
        // No account or identity management.
        for attr in [AccountAttr::Email, AccountAttr::Repo] {
            for action in [AccountAction::Read, AccountAction::Manage] {
                assert!(!s.allows_account(attr, action));
            }
        }
        assert!(!s.allows_identity(IdentityAttr::Handle));
        assert!(!s.allows_identity(IdentityAttr::Any));
    }

    #[test]
    fn transition_chat_bsky_needs_generic() {
        let alone = set("atproto transition:chat.bsky");
        assert!(!alone.allows_rpc("chat.bsky.convo.listConvos", CHAT));
        assert!(!alone.allows_rpc("app.bsky.feed.getFeed", APPVIEW));

        let both = set("atproto transition:generic transition:chat.bsky");
        assert!(both.allows_rpc("chat.bsky.convo.listConvos", CHAT));
        assert!(both.allows_rpc("app.bsky.feed.getFeed", APPVIEW));
        assert!(both.allows_rpc("*", APPVIEW));
        assert!(!both.allows_account(AccountAttr::Email, AccountAction::Read));
    }

    #[test]
    fn transition_email_reads_email() {
        let s = set("atproto transition:email");
        assert!(s.allows_account(AccountAttr::Email, AccountAction::Read));
        assert!(!s.allows_account(AccountAttr::Email, AccountAction::Manage));
        assert!(!s.allows_account(AccountAttr::Repo, AccountAction::Read));
        assert!(!s.allows_repo("app.bsky.feed.post", RepoAction::Create));
    }

    #[test]
    fn include_grants_nothing_by_itself() {
        let s = set("atproto include:app.bsky.authFull?aud=did:web:api.bsky.app%23bsky_appview");
        assert!(!s.allows_repo("app.bsky.feed.post", RepoAction::Create));
        assert!(!s.allows_rpc("app.bsky.feed.getFeed", APPVIEW));
        // The authorization server adds what the set resolves to.
        let mut s = s;
        s.extend([Scope::parse("repo:app.bsky.feed.post").unwrap()]);
        assert!(s.allows_repo("app.bsky.feed.post", RepoAction::Create));
    }
}
