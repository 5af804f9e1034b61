//! parse(display(x)) == x, for generic scopes, typed scopes and whole scope sets.

use permission::{
    AccountAction, AccountAttr, AccountPermission, Audience, BlobPermission, GenericScope,
    IdentityAttr, IdentityPermission, IncludeScope, MimePattern, NsidFilter, RepoAction,
    RepoActions, RepoPermission, RpcPermission, Scope, ScopeSet, ServiceRef,
};
use proptest::prelude::*;
use syntax::Nsid;

fn nsid() -> impl Strategy<Value = Nsid> {
    "[a-z][a-z0-9-]{0,5}[a-z0-9]\\.[a-z][a-z0-9]{0,5}(\\.[a-z]{1,4}){0,2}\\.[a-zA-Z][a-zA-Z0-9]{0,8}"
        .prop_map(|s| Nsid::new(&s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn nsid_filter() -> impl Strategy<Value = NsidFilter> {
    prop_oneof![
        1 => Just(NsidFilter::any()),
        4 => prop::collection::vec(nsid(), 1..4).prop_map(|v| NsidFilter::only(v).unwrap()),
    ]
}

fn service_ref() -> impl Strategy<Value = ServiceRef> {
    (
        "did:(plc:[a-z2-7]{24}|web:[a-z0-9]{1,8}\\.[a-z]{2,4}(%3A[0-9]{2,4})?)",
        "[a-zA-Z0-9_.~!$&'()*+,;=:@/?-]{1,12}",
    )
        .prop_map(|(did, id)| {
            ServiceRef::new(&format!("{did}#{id}")).unwrap_or_else(|e| panic!("{did}#{id}: {e}"))
        })
}

fn audience() -> impl Strategy<Value = Audience> {
    prop_oneof![
        1 => Just(Audience::Any),
        3 => service_ref().prop_map(Audience::Service),
    ]
}

fn mime_pattern() -> impl Strategy<Value = MimePattern> {
    prop_oneof![
        Just("*/*".to_owned()),
        "[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,8}/\\*",
        "[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,8}/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,8}",
    ]
    .prop_map(|s| MimePattern::new(&s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn scope() -> impl Strategy<Value = Scope> {
    let action = prop::sample::select(RepoAction::ALL.to_vec());
    prop_oneof![
        Just(Scope::Atproto),
        Just(Scope::TransitionGeneric),
        Just(Scope::TransitionChatBsky),
        Just(Scope::TransitionEmail),
        (nsid_filter(), prop::collection::vec(action, 1..4)).prop_map(|(collection, a)| {
            Scope::Repo(RepoPermission {
                collection,
                action: RepoActions::new(a).unwrap(),
            })
        }),
        (nsid_filter(), audience())
            .prop_filter_map("both wildcards", |(l, a)| RpcPermission::new(l, a).ok())
            .prop_map(Scope::Rpc),
        prop::collection::vec(mime_pattern(), 1..4)
            .prop_map(|v| Scope::Blob(BlobPermission::new(v).unwrap())),
        (
            prop::sample::select(vec![AccountAttr::Email, AccountAttr::Repo]),
            prop::sample::select(vec![AccountAction::Read, AccountAction::Manage])
        )
            .prop_map(|(attr, action)| Scope::Account(AccountPermission { attr, action })),
        prop::sample::select(vec![IdentityAttr::Handle, IdentityAttr::Any])
            .prop_map(|attr| Scope::Identity(IdentityPermission { attr })),
        (nsid(), prop::option::of(service_ref()))
            .prop_map(|(nsid, aud)| Scope::Include(IncludeScope { nsid, aud })),
    ]
}

fn generic() -> impl Strategy<Value = GenericScope> {
    (
        "[a-zA-Z0-9._-]{1,10}",
        prop::option::of(any::<String>()),
        prop::collection::vec((".{1,6}", any::<String>()), 0..4),
    )
        .prop_map(|(resource, positional, params)| GenericScope {
            resource,
            positional,
            params,
        })
}

proptest! {
    #[test]
    fn generic_round_trips(g in generic()) {
        let shown = g.to_string();
        prop_assert_eq!(GenericScope::parse(&shown), Ok(g), "{}", shown);
    }

    #[test]
    fn scope_round_trips(s in scope()) {
        let shown = s.to_string();
        prop_assert_eq!(Scope::parse(&shown), Ok(s.clone()), "{}", shown);
        // Through the generic form too.
        let g = GenericScope::parse(&shown).unwrap();
        if !matches!(s, Scope::Atproto | Scope::TransitionGeneric | Scope::TransitionChatBsky | Scope::TransitionEmail) {
            prop_assert_eq!(Scope::from_generic(&g), Ok(s));
        }
    }

    #[test]
    fn scope_set_round_trips(
        scopes in prop::collection::vec(scope(), 0..6),
        unknown in prop::collection::vec("[a-z]{1,6}:[a-zA-Z0-9:?=&%*]{0,8}", 0..3),
    ) {
        let mut text: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        text.extend(unknown);
        let set = ScopeSet::parse(&text.join("  ")).unwrap();
        let shown = set.to_string();
        prop_assert_eq!(ScopeSet::parse(&shown), Ok(set.clone()), "{}", shown);
        for s in &scopes {
            prop_assert!(set.contains(s));
        }
    }

    /// The parser never panics, whatever it is given.
    #[test]
    fn parsers_do_not_panic(s in "[ -~]{0,40}") {
        let _ = ScopeSet::parse(&s);
        let _ = Scope::parse(&s);
        let _ = GenericScope::parse(&s);
    }
}
