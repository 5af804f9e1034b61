//! The generated route table.

use xrpc::{route, AuthHint, HttpMethod, Kind, ROUTES};

#[test]
fn covers_com_atproto_and_preferences() {
    let com_atproto = ROUTES
        .iter()
        .filter(|r| r.nsid.starts_with("com.atproto."))
        .count();
    assert_eq!(com_atproto, 86, "86 com.atproto endpoints at d6296a1");
    assert_eq!(ROUTES.len(), 88);
    assert!(route("app.bsky.actor.getPreferences").is_some());
    assert!(route("app.bsky.actor.putPreferences").is_some());
    assert!(route("app.bsky.feed.getTimeline").is_none());
    assert!(route("com.atproto.repo.nope").is_none());
}

#[test]
fn sorted_unique_and_consistent() {
    for pair in ROUTES.windows(2) {
        assert!(
            pair[0].nsid < pair[1].nsid,
            "{} before {}",
            pair[0].nsid,
            pair[1].nsid
        );
    }
    for r in ROUTES {
        assert_eq!(r.path, format!("/xrpc/{}", r.nsid));
        let expected = match r.kind {
            Kind::Procedure => HttpMethod::Post,
            Kind::Query | Kind::Subscription => HttpMethod::Get,
        };
        assert_eq!(r.method, expected, "{}", r.nsid);
        assert_eq!(route(r.nsid), Some(r));
        if r.kind != Kind::Procedure {
            assert_eq!(r.input, None, "{}", r.nsid);
        }
    }
}

#[test]
fn encodings() {
    let upload = route("com.atproto.repo.uploadBlob").unwrap();
    assert_eq!(
        (upload.input, upload.output),
        (Some("*/*"), Some("application/json"))
    );
    let import = route("com.atproto.repo.importRepo").unwrap();
    assert_eq!(
        (import.input, import.output),
        (Some("application/vnd.ipld.car"), None)
    );
    let get_repo = route("com.atproto.sync.getRepo").unwrap();
    assert_eq!(get_repo.output, Some("application/vnd.ipld.car"));
    assert_eq!(
        route("com.atproto.sync.getBlob").unwrap().output,
        Some("*/*")
    );
    let create = route("com.atproto.repo.createRecord").unwrap();
    assert_eq!(
        (create.input, create.output),
        (Some("application/json"), Some("application/json"))
    );
    let activate = route("com.atproto.server.activateAccount").unwrap();
    assert_eq!((activate.input, activate.output), (None, None));
}

#[test]
fn subscriptions() {
    let subs: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.kind == Kind::Subscription)
        .map(|r| r.nsid)
        .collect();
    assert_eq!(
        subs,
        [
            "com.atproto.label.subscribeLabels",
            "com.atproto.sync.subscribeRepos"
        ]
    );
    let repos = route("com.atproto.sync.subscribeRepos").unwrap();
    assert!(repos.has_params);
    assert_eq!(repos.errors, ["FutureCursor", "ConsumerTooSlow"]);
}

#[test]
fn declared_errors_and_auth_hints() {
    assert_eq!(
        route("com.atproto.repo.createRecord").unwrap().errors,
        ["InvalidSwap"]
    );
    assert!(route("com.atproto.server.createSession")
        .unwrap()
        .errors
        .contains(&"AuthFactorTokenRequired"));
    assert_eq!(
        route("com.atproto.repo.createRecord").unwrap().auth,
        AuthHint::Required
    );
    assert_eq!(
        route("com.atproto.repo.getRecord").unwrap().auth,
        AuthHint::NotRequired
    );
    assert_eq!(
        route("com.atproto.server.refreshSession").unwrap().auth,
        AuthHint::RequiredRefresh
    );
    assert_eq!(
        route("com.atproto.admin.getAccountInfo").unwrap().auth,
        AuthHint::Unmentioned
    );
}
