//! `com.atproto.admin.*` over real HTTP against a real relay and PLC directory: the admin
//! password, account views and search, invite codes, takedowns of accounts, records and blobs
//! (and what they hide), the admin's account changes, deletion, sendEmail; and `relay admin …`
//! run as the built binary against a running relay.

mod common;

use std::process::Command;

use common::{TestAccount, TestRelay, ADMIN_PASSWORD, PASSWORD};
use serde_json::{json, Value as Json};

const POST: &str = "app.bsky.feed.post";

fn error_name(body: &Json) -> &str {
    body["error"].as_str().unwrap_or("")
}

/// An admin GET query.
async fn get_admin(relay: &TestRelay, nsid: &str, query: &str) -> (u16, Json) {
    let response = relay
        .http
        .get(format!("{}?{query}", relay.xrpc_url(nsid)))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("the relay answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Json::Null);
    (status, body)
}

async fn post_record(relay: &TestRelay, who: &TestAccount, rkey: &str, record: Json) -> Json {
    let (status, body) = relay
        .post(
            "com.atproto.repo.putRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey, "record": record}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn post(text: &str) -> Json {
    json!({"$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"})
}

fn tid(n: u64) -> String {
    syntax::Tid::from_parts(1_700_000_000_000_000 + n, 0)
        .unwrap()
        .to_string()
}

fn repo_ref(did: &str) -> Json {
    json!({"$type": "com.atproto.admin.defs#repoRef", "did": did})
}

async fn set_status(relay: &TestRelay, subject: Json, takedown: Json) -> (u16, Json) {
    relay
        .post_admin(
            "com.atproto.admin.updateSubjectStatus",
            &json!({"subject": subject, "takedown": takedown}),
        )
        .await
}

/// The last `#account` event of `did`.
async fn last_account_event(relay: &TestRelay, did: &str) -> Json {
    relay
        .events_for(did)
        .await
        .into_iter()
        .rev()
        .find(|(_, kind, _)| kind == "#account")
        .map(|(_, _, body)| body)
        .expect("an #account event")
}

async fn list_repos_entry(relay: &TestRelay, did: &str) -> Json {
    let (status, body) = relay
        .get("com.atproto.sync.listRepos", "limit=1000", None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["did"] == did)
        .cloned()
        .expect("the repo is listed")
}

/// Gives the account an OAuth session (as the authorization server stores one), to see it
/// revoked.
async fn add_oauth_session(relay: &TestRelay, did: &str) {
    use store::oauth::{OAuthSession, OAuthStore};
    relay
        .state
        .store
        .create_oauth_session(OAuthSession {
            id: format!("session-{did}"),
            did: did.to_owned(),
            client_id: "https://app.example.com/client-metadata.json".into(),
            client_auth: "none".into(),
            dpop_jkt: "jkt".into(),
            scope: "atproto".into(),
            device_id: None,
            code: None,
            refresh_token: format!("refresh-{did}"),
            refresh_expires_at: i64::MAX,
            created_at: 0,
            updated_at: 0,
            expires_at: None,
        })
        .await
        .expect("an OAuth session");
    assert_eq!(oauth_sessions(relay, did).await, 1);
}

async fn oauth_sessions(relay: &TestRelay, did: &str) -> usize {
    use store::oauth::OAuthStore;
    relay
        .state
        .store
        .list_oauth_sessions(did)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_method_needs_the_admin_password() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let did = &alice.did;
    let queries = [
        ("com.atproto.admin.getAccountInfo", format!("did={did}")),
        ("com.atproto.admin.getAccountInfos", format!("dids={did}")),
        ("com.atproto.admin.searchAccounts", String::new()),
        ("com.atproto.admin.getInviteCodes", String::new()),
        ("com.atproto.admin.getSubjectStatus", format!("did={did}")),
    ];
    let procedures = [
        (
            "com.atproto.admin.disableAccountInvites",
            json!({"account": did}),
        ),
        (
            "com.atproto.admin.enableAccountInvites",
            json!({"account": did}),
        ),
        (
            "com.atproto.admin.disableInviteCodes",
            json!({"codes": ["x"]}),
        ),
        (
            "com.atproto.admin.updateSubjectStatus",
            json!({"subject": repo_ref(did), "takedown": {"applied": true}}),
        ),
        (
            "com.atproto.admin.updateAccountEmail",
            json!({"account": did, "email": "x@example.com"}),
        ),
        (
            "com.atproto.admin.updateAccountHandle",
            json!({"did": did, "handle": relay.new_handle("x")}),
        ),
        (
            "com.atproto.admin.updateAccountPassword",
            json!({"did": did, "password": "new-password-1"}),
        ),
        ("com.atproto.admin.deleteAccount", json!({"did": did})),
        (
            "com.atproto.admin.sendEmail",
            json!({"recipientDid": did, "senderDid": did, "content": "hi"}),
        ),
    ];
    for (nsid, query) in &queries {
        for password in [None, Some("wrong-password")] {
            let mut request = relay.http.get(format!("{}?{query}", relay.xrpc_url(nsid)));
            if let Some(p) = password {
                request = request.basic_auth("admin", Some(p));
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 401, "{nsid} with {password:?}");
        }
        // A user's own session is not the admin either.
        let (status, _) = relay.get(nsid, query, Some(&alice.access_jwt)).await;
        assert_eq!(status, 401, "{nsid} with a user token");
    }
    for (nsid, body) in &procedures {
        for password in [None, Some("wrong-password")] {
            let mut request = relay.http.post(relay.xrpc_url(nsid)).json(body);
            if let Some(p) = password {
                request = request.basic_auth("admin", Some(p));
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 401, "{nsid} with {password:?}");
        }
    }
    // Nothing happened: alice is still active, with her password and handle.
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_views_and_search() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;

    let (status, info) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfo",
        &format!("did={}", alice.did),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["did"], alice.did);
    assert_eq!(info["handle"], alice.handle);
    assert_eq!(info["email"], alice.email);
    assert_eq!(info["invitesDisabled"], false);
    assert!(info["indexedAt"].is_string());
    assert_eq!(info["invites"], json!([]));

    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfo",
        "did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
    )
    .await;
    assert_eq!((status, error_name(&body)), (400, "NotFound"), "{body}");

    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfos",
        &format!(
            "dids={}&dids={}&dids=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
            alice.did, bob.did
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let dids: Vec<&str> = body["infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["did"].as_str().unwrap())
        .collect();
    assert_eq!(dids, [alice.did.as_str(), bob.did.as_str()]);

    // By email prefix, by handle prefix (case-insensitive), and none.
    let email_prefix = &alice.email[..alice.email.find('@').unwrap()];
    for (query, expected) in [
        (email_prefix.to_owned(), vec![alice.did.clone()]),
        (bob.handle[..8].to_uppercase(), vec![bob.did.clone()]),
        ("nobody-has-this".to_owned(), vec![]),
    ] {
        let (status, body) = get_admin(
            &relay,
            "com.atproto.admin.searchAccounts",
            &format!("email={query}"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let found: Vec<String> = body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["did"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(found, expected, "search {query}");
    }
    // Paging one by one visits every account once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = if cursor.is_empty() {
            "limit=1".to_owned()
        } else {
            format!("limit=1&cursor={cursor}")
        };
        let (status, body) = get_admin(&relay, "com.atproto.admin.searchAccounts", &query).await;
        assert_eq!(status, 200, "{body}");
        for a in body["accounts"].as_array().unwrap() {
            seen.push(a["did"].as_str().unwrap().to_owned());
        }
        match body["cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_owned(),
            _ => break,
        }
    }
    let mut expected = vec![alice.did.clone(), bob.did.clone()];
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_codes_listed_disabled_and_account_invites_toggled() {
    let Some(relay) = TestRelay::start_with(&["--invite-required", "true"]).await else {
        return;
    };
    let (status, made) = relay
        .post_admin(
            "com.atproto.server.createInviteCodes",
            &json!({"useCount": 2, "codeCount": 3}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let codes: Vec<String> = made["codes"][0]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // One code used once: first by usage.
    let handle = relay.new_handle("carol");
    let (status, carol) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({"handle": handle, "email": format!("{}@example.com", handle.trim_end_matches(".test")),
                    "password": PASSWORD, "inviteCode": codes[1]}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{carol}");
    let carol_did = carol["did"].as_str().unwrap().to_owned();

    let (status, body) = get_admin(&relay, "com.atproto.admin.getInviteCodes", "sort=usage").await;
    assert_eq!(status, 200, "{body}");
    let listed = body["codes"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["code"], codes[1]);
    assert_eq!(listed[0]["uses"][0]["usedBy"], carol_did);
    assert_eq!(listed[0]["available"], 2);
    assert_eq!(listed[0]["forAccount"], "admin");

    // Recent order, paged by two.
    let (_, first) = get_admin(&relay, "com.atproto.admin.getInviteCodes", "limit=2").await;
    assert_eq!(first["codes"].as_array().unwrap().len(), 2);
    let cursor = first["cursor"].as_str().expect("a cursor").to_owned();
    let (_, second) = get_admin(
        &relay,
        "com.atproto.admin.getInviteCodes",
        &format!("limit=2&cursor={}", urlencode(&cursor)),
    )
    .await;
    let mut all: Vec<String> = first["codes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["codes"].as_array().unwrap())
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    let mut expected = codes.clone();
    expected.sort();
    assert_eq!(all, expected);
    let (status, body) = get_admin(&relay, "com.atproto.admin.getInviteCodes", "sort=x").await;
    assert_eq!(status, 400, "{body}");

    // The invite info of carol's account.
    let (_, info) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfo",
        &format!("did={carol_did}"),
    )
    .await;
    assert_eq!(info["invitedBy"]["code"], codes[1]);

    // A disabled code no longer signs anyone up.
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.disableInviteCodes",
            &json!({"codes": [codes[0]]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let handle = relay.new_handle("dave");
    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({"handle": handle, "email": format!("{}@example.com", handle.trim_end_matches(".test")),
                    "password": PASSWORD, "inviteCode": codes[0]}),
            None,
        )
        .await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidInviteCode"),
        "{body}"
    );
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.disableInviteCodes",
            &json!({"accounts": ["admin"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    for (nsid, disabled) in [
        ("com.atproto.admin.disableAccountInvites", true),
        ("com.atproto.admin.enableAccountInvites", false),
    ] {
        let (status, body) = relay
            .post_admin(nsid, &json!({"account": carol_did, "note": "test"}))
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, info) = get_admin(
            &relay,
            "com.atproto.admin.getAccountInfo",
            &format!("did={carol_did}"),
        )
        .await;
        assert_eq!(info["invitesDisabled"], disabled, "{nsid}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_takedown_hides_it_everywhere_until_lifted() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    post_record(&relay, &alice, &tid(1), post("before")).await;
    add_oauth_session(&relay, &alice.did).await;
    let repo_query = format!("did={}", alice.did);
    let record_query = format!("repo={}&collection={POST}&rkey={}", alice.did, tid(1));

    let (status, body) = set_status(
        &relay,
        repo_ref(&alice.did),
        json!({"applied": true, "ref": "case-17"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"]["did"], alice.did);
    assert_eq!(body["takedown"], json!({"applied": true, "ref": "case-17"}));

    let (status, body) = get_admin(&relay, "com.atproto.admin.getSubjectStatus", &repo_query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["takedown"], json!({"applied": true, "ref": "case-17"}));
    assert_eq!(body["deactivated"], json!({"applied": false}));
    assert_eq!(body["subject"]["$type"], "com.atproto.admin.defs#repoRef");

    // Sessions: no new ones, the old ones end (OAuth ones too).
    assert_eq!(oauth_sessions(&relay, &alice.did).await, 0);
    let (status, body) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(
        (status, error_name(&body)),
        (401, "AccountTakedown"),
        "{body}"
    );
    let (status, _) = relay
        .post_empty(
            "com.atproto.server.refreshSession",
            Some(&alice.refresh_jwt),
        )
        .await;
    assert_ne!(status, 200);
    let (status, _) = relay
        .get("com.atproto.server.getSession", "", Some(&alice.access_jwt))
        .await;
    assert_ne!(status, 200);
    // Reads: the repo and its records are not served.
    let (status, body) = relay
        .get("com.atproto.sync.getRepo", &repo_query, None)
        .await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "RepoTakendown"),
        "{body}"
    );
    let (status, _) = relay
        .get("com.atproto.repo.getRecord", &record_query, None)
        .await;
    assert_eq!(status, 400);
    let (status, body) = relay
        .get("com.atproto.sync.getRepoStatus", &repo_query, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["active"].clone(), body["status"].clone()),
        (json!(false), json!("takendown"))
    );
    let listed = list_repos_entry(&relay, &alice.did).await;
    assert_eq!(listed["active"], false);
    assert_eq!(listed["status"], "takendown");
    let event = last_account_event(&relay, &alice.did).await;
    assert_eq!(event["active"], false);
    assert_eq!(event["status"], "takendown");

    // Lifted: everything is back.
    let (status, body) = set_status(&relay, repo_ref(&alice.did), json!({"applied": false})).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = get_admin(&relay, "com.atproto.admin.getSubjectStatus", &repo_query).await;
    assert_eq!(body["takedown"], json!({"applied": false}));
    let (status, body) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = relay
        .get("com.atproto.sync.getRepo", &repo_query, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = relay
        .get("com.atproto.repo.getRecord", &record_query, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list_repos_entry(&relay, &alice.did).await["active"], true);
    let event = last_account_event(&relay, &alice.did).await;
    assert_eq!(event["active"], true);
    assert!(event.get("status").is_none(), "{event}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_through_subject_status() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let query = format!("did={}", alice.did);
    for (applied, status_name) in [(true, Some("deactivated")), (false, None)] {
        let (status, body) = relay
            .post_admin(
                "com.atproto.admin.updateSubjectStatus",
                &json!({"subject": repo_ref(&alice.did), "deactivated": {"applied": applied}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = get_admin(&relay, "com.atproto.admin.getSubjectStatus", &query).await;
        assert_eq!(body["deactivated"]["applied"], applied, "{body}");
        let event = last_account_event(&relay, &alice.did).await;
        assert_eq!(event["active"], !applied);
        assert_eq!(event["status"].as_str(), status_name);
    }
    // Deactivated while taken down: still taken down, deactivated once the takedown is lifted.
    set_status(&relay, repo_ref(&alice.did), json!({"applied": true})).await;
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateSubjectStatus",
            &json!({"subject": repo_ref(&alice.did), "deactivated": {"applied": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        last_account_event(&relay, &alice.did).await["status"],
        "takendown"
    );
    let (status, _) = set_status(&relay, repo_ref(&alice.did), json!({"applied": false})).await;
    assert_eq!(status, 200);
    assert_eq!(
        last_account_event(&relay, &alice.did).await["status"],
        "deactivated"
    );
    let (status, body) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200, "a deactivated account still logs in: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_takedown_hides_that_record() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let hidden = post_record(&relay, &alice, &tid(1), post("hidden")).await;
    post_record(&relay, &alice, &tid(2), post("kept")).await;
    let uri = hidden["uri"].as_str().unwrap().to_owned();
    let strong_ref =
        json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": hidden["cid"]});
    let get_query = format!("repo={}&collection={POST}&rkey={}", alice.did, tid(1));
    let list_query = format!("repo={}&collection={POST}", alice.did);
    let listed_rkeys = |body: &Json| -> Vec<String> {
        body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["uri"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };

    let (status, body) = set_status(
        &relay,
        strong_ref.clone(),
        json!({"applied": true, "ref": "r1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getSubjectStatus",
        &format!("uri={}", urlencode(&uri)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"]["cid"], hidden["cid"]);
    assert_eq!(body["takedown"], json!({"applied": true, "ref": "r1"}));

    let (status, body) = relay
        .get("com.atproto.repo.getRecord", &get_query, None)
        .await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "RecordNotFound"),
        "{body}"
    );
    let (status, body) = relay
        .get("com.atproto.repo.listRecords", &list_query, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed_rkeys(&body), [tid(2)]);
    // The account itself is untouched.
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200);

    let (status, _) = set_status(&relay, strong_ref, json!({"applied": false})).await;
    assert_eq!(status, 200);
    let (status, _) = relay
        .get("com.atproto.repo.getRecord", &get_query, None)
        .await;
    assert_eq!(status, 200);
    let (_, body) = relay
        .get("com.atproto.repo.listRecords", &list_query, None)
        .await;
    assert_eq!(listed_rkeys(&body), [tid(2), tid(1)]);

    // A record that is not there has no status.
    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getSubjectStatus",
        &format!(
            "uri={}",
            urlencode(&format!("at://{}/{POST}/{}", alice.did, tid(9)))
        ),
    )
    .await;
    assert_eq!((status, error_name(&body)), (400, "NotFound"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_takedown_stops_serving_it() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bytes = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    let (status, uploaded) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            bytes.clone(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let blob = uploaded["blob"].clone();
    let cid = blob["ref"]["$link"].as_str().unwrap().to_owned();
    let mut record = post("look");
    record["embed"] =
        json!({"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "a"}]});
    post_record(&relay, &alice, &tid(1), record).await;
    let blob_query = format!("did={}&cid={cid}", alice.did);
    let blob_ref =
        json!({"$type": "com.atproto.admin.defs#repoBlobRef", "did": alice.did, "cid": cid});

    let (status, _) = relay
        .get("com.atproto.sync.getBlob", &blob_query, None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = set_status(&relay, blob_ref.clone(), json!({"applied": true})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .get("com.atproto.sync.getBlob", &blob_query, None)
        .await;
    assert_eq!((status, error_name(&body)), (400, "BlobNotFound"), "{body}");
    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getSubjectStatus",
        &format!("did={}&blob={cid}", alice.did),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["takedown"]["applied"], true);
    // Applied without a reference, it gets one (the time).
    assert!(body["takedown"]["ref"].is_string(), "{body}");
    assert_eq!(body["subject"]["cid"], cid);
    let (status, _) = get_admin(
        &relay,
        "com.atproto.admin.getSubjectStatus",
        &format!("blob={cid}"),
    )
    .await;
    assert_eq!(status, 400, "a blob needs its did");

    let (status, _) = set_status(&relay, blob_ref, json!({"applied": false})).await;
    assert_eq!(status, 200);
    let (status, _) = relay
        .get("com.atproto.sync.getBlob", &blob_query, None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_email_handle_and_password() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;

    // Email: by handle, unconfirmed afterwards; a taken email is refused.
    let new_email = format!("new-{}", alice.email);
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountEmail",
            &json!({"account": alice.handle, "email": new_email}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, info) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfo",
        &format!("did={}", alice.did),
    )
    .await;
    assert_eq!(info["email"], new_email);
    assert!(info.get("emailConfirmedAt").is_none());
    let (status, _) = relay
        .post_admin(
            "com.atproto.admin.updateAccountEmail",
            &json!({"account": alice.did, "email": bob.email}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = relay
        .post_admin(
            "com.atproto.admin.updateAccountEmail",
            &json!({"account": "nobody.test", "email": "x@example.com"}),
        )
        .await;
    assert_eq!(status, 400);

    // Handle: through the PLC directory, announced with #identity; a taken one is refused.
    let new_handle = relay.new_handle("alicia");
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountHandle",
            &json!({"did": alice.did, "handle": new_handle}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            &format!("handle={new_handle}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["did"].as_str()),
        (200, Some(alice.did.as_str()))
    );
    let doc: Json = relay
        .http
        .get(format!("{}/{}", relay.plc_url, alice.did))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["alsoKnownAs"][0], format!("at://{new_handle}"));
    let identity = relay
        .events_for(&alice.did)
        .await
        .into_iter()
        .rev()
        .find(|(_, kind, _)| kind == "#identity")
        .unwrap()
        .2;
    assert_eq!(identity["handle"], new_handle);
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountHandle",
            &json!({"did": alice.did, "handle": bob.handle}),
        )
        .await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "HandleNotAvailable"),
        "{body}"
    );
    // A reserved name is the admin's to give (users cannot take it).
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "www.test"}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountHandle",
            &json!({"did": bob.did, "handle": "www.test"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Syntax still applies.
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountHandle",
            &json!({"did": bob.did, "handle": "not a handle"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // Password: the old one and the old sessions (OAuth ones too) stop working.
    add_oauth_session(&relay, &alice.did).await;
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.updateAccountPassword",
            &json!({"did": alice.did, "password": "a-brand-new-password"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = relay.login(&alice.did, PASSWORD).await;
    assert_eq!(status, 401);
    let (status, _) = relay.login(&alice.did, "a-brand-new-password").await;
    assert_eq!(status, 200);
    assert_eq!(oauth_sessions(&relay, &alice.did).await, 0);
    let (status, _) = relay
        .post_empty(
            "com.atproto.server.refreshSession",
            Some(&alice.refresh_jwt),
        )
        .await;
    assert_ne!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_deletes_an_account_with_its_blobs() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bytes = b"some bytes to keep".to_vec();
    let (status, uploaded) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("text/plain"),
            bytes,
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let account_dir = relay.state.blobs.root().join(&alice.did);
    let before = std::fs::read_dir(relay.state.blobs.root()).unwrap().count();
    assert!(before > 0);

    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.deleteAccount",
            &json!({"did": alice.did}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_admin(
        &relay,
        "com.atproto.admin.getAccountInfo",
        &format!("did={}", alice.did),
    )
    .await;
    assert_eq!((status, error_name(&body)), (400, "NotFound"));
    let (status, body) = relay
        .get(
            "com.atproto.sync.getRepo",
            &format!("did={}", alice.did),
            None,
        )
        .await;
    assert_eq!((status, error_name(&body)), (400, "RepoNotFound"), "{body}");
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_ne!(status, 200);
    assert!(!account_dir.exists());
    let after = std::fs::read_dir(relay.state.blobs.root()).unwrap().count();
    assert!(after < before, "the account's blob directory is gone");
    let event = last_account_event(&relay, &alice.did).await;
    assert_eq!(event["active"], false);
    assert_eq!(event["status"], "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sends_an_email() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .post_admin(
            "com.atproto.admin.sendEmail",
            &json!({"recipientDid": alice.did, "senderDid": alice.did,
                    "subject": "About your account", "content": "Please read the rules."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"sent": true}));
    let outbox = relay.data_dir.path().join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .expect("an outbox")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        mails.iter().any(|m| m.contains("About your account")
            && m.contains("Please read the rules.")
            && m.contains(&alice.email)),
        "{mails:?}"
    );
    let (status, _) = relay
        .post_admin(
            "com.atproto.admin.sendEmail",
            &json!({"recipientDid": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
                    "senderDid": alice.did, "content": "x"}),
        )
        .await;
    assert_eq!(status, 400);
}

/// Runs `relay admin <args>` against `url` (off the runtime: the relay answers meanwhile).
async fn admin_cli(url: &str, password: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command.arg("admin").arg("--url").arg(url);
    if let Some(p) = password {
        command.arg("--password").arg(p);
    }
    command.args(args);
    for var in [
        "PDS_ADMIN_PASSWORD",
        "PDS_DATA_DIRECTORY",
        "PDS_HOSTNAME",
        "PDS_PORT",
        "RELAY_URL",
        "RELAY_CONFIG",
    ] {
        command.env_remove(var);
    }
    // No relay.toml from the working directory.
    let empty = tempfile::tempdir().unwrap();
    command.current_dir(empty.path());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the relay binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_manages_a_running_relay() {
    let Some(relay) = TestRelay::start_with(&["--invite-required", "true"]).await else {
        return;
    };
    let url = relay.url.as_str();
    let pw = Some(ADMIN_PASSWORD);

    // Invites: create, list, disable.
    let (ok, out, err) = admin_cli(
        url,
        pw,
        &["invites", "create", "--count", "2", "--uses", "3"],
    )
    .await;
    assert!(ok, "{err}");
    let codes: Vec<&str> = out.lines().collect();
    assert_eq!(codes.len(), 2, "{out}");
    let (ok, out, err) = admin_cli(url, pw, &["invites", "disable", codes[0]]).await;
    assert!(ok, "{err}{out}");
    let (ok, out, err) = admin_cli(url, pw, &["invites", "list"]).await;
    assert!(ok, "{err}");
    let line_of = |code: &str| {
        out.lines()
            .find(|l| l.starts_with(code))
            .unwrap()
            .to_owned()
    };
    assert!(line_of(codes[0]).contains("disabled"), "{out}");
    assert!(line_of(codes[1]).contains("0/3\tenabled"), "{out}");

    // Accounts: create (invites are required: the CLI makes one), list, info.
    let handle = relay.new_handle("cli");
    let email = format!("{}@example.com", handle.trim_end_matches(".test"));
    let (ok, out, err) = admin_cli(
        url,
        pw,
        &[
            "accounts",
            "create",
            "--handle",
            &handle,
            "--email",
            &email,
            "--account-password",
            PASSWORD,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let did = out.split('\t').next().unwrap().trim().to_owned();
    assert!(did.starts_with("did:plc:"), "{out}");
    // Without a password, one is generated and printed (once).
    let other = relay.new_handle("cli2");
    let other_email = format!("{}@example.com", other.trim_end_matches(".test"));
    let (ok, out, err) = admin_cli(
        url,
        pw,
        &[
            "accounts",
            "create",
            "--handle",
            &other,
            "--email",
            &other_email,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let fields: Vec<&str> = out.trim().split('\t').collect();
    assert_eq!(fields.len(), 3, "{out}");
    assert_eq!(fields[1], other);
    let (status, body) = relay.login(&other, fields[2]).await;
    assert_eq!(status, 200, "{body}");
    // Global options may also follow the subcommand.
    let (ok, out, err) = admin_cli(
        url,
        None,
        &["accounts", "list", "--password", ADMIN_PASSWORD],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains(&other), "{out}");
    let (ok, out, err) = admin_cli(url, pw, &["accounts", "list"]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{did}\t{handle}\t{email}")), "{out}");
    let (ok, out, err) = admin_cli(url, pw, &["accounts", "info", &handle]).await;
    assert!(ok, "{err}");
    let info: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(info["did"], did);
    assert_eq!(info["takedown"]["applied"], false);

    // Takedown and restore.
    let (ok, _, err) = admin_cli(url, pw, &["accounts", "takedown", &did, "--ref", "cli-1"]).await;
    assert!(ok, "{err}");
    let (status, body) = relay.login(&handle, PASSWORD).await;
    assert_eq!((status, error_name(&body)), (401, "AccountTakedown"));
    let (ok, _, err) = admin_cli(url, pw, &["accounts", "restore", &handle]).await;
    assert!(ok, "{err}");
    let (status, _) = relay.login(&handle, PASSWORD).await;
    assert_eq!(status, 200);

    // A wrong password, no password, no relay: each says what to do.
    let (ok, _, err) = admin_cli(url, Some("wrong"), &["accounts", "list"]).await;
    assert!(!ok);
    assert!(
        err.contains("refused the admin password") && err.contains("--password"),
        "{err}"
    );
    let (ok, _, err) = admin_cli(url, None, &["accounts", "list"]).await;
    assert!(!ok);
    assert!(err.contains("PDS_ADMIN_PASSWORD"), "{err}");
    let (ok, _, err) = admin_cli("http://127.0.0.1:9", pw, &["accounts", "list"]).await;
    assert!(!ok);
    assert!(
        err.contains("cannot reach the relay") && err.contains("--url"),
        "{err}"
    );

    // The password the server generated, read from its data directory.
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("secrets")).unwrap();
    std::fs::write(
        data.path().join("secrets/admin_password"),
        format!("{ADMIN_PASSWORD}\n"),
    )
    .unwrap();
    let data_arg = data.path().display().to_string();
    let (ok, out, err) = admin_cli(
        url,
        None,
        &[
            "--data-directory",
            &data_arg,
            "accounts",
            "list",
            "--search",
            &handle[..6],
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains(&did), "{out}");

    // Deletion wants --yes.
    let (ok, _, err) = admin_cli(url, pw, &["accounts", "delete", &did]).await;
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, _, err) = admin_cli(url, pw, &["accounts", "delete", &did, "--yes"]).await;
    assert!(ok, "{err}");
    let (status, _) = relay.login(&handle, PASSWORD).await;
    assert_ne!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_asks_a_network_relay_to_crawl() {
    use std::sync::{Arc, Mutex};
    // A stand-in network relay that records what it is asked.
    let asked: Arc<Mutex<Vec<Json>>> = Arc::default();
    let seen = asked.clone();
    let app = axum::Router::new().route(
        "/xrpc/com.atproto.sync.requestCrawl",
        axum::routing::post(move |axum::Json(body): axum::Json<Json>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body);
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let network = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let (ok, out, err) = admin_cli(
        "http://pds.example.com",
        Some("unused"),
        &["request-crawl", &network],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("pds.example.com"), "{out}");
    assert_eq!(
        *asked.lock().unwrap(),
        [json!({"hostname": "pds.example.com"})]
    );
    // A relay that refuses is reported.
    let (ok, _, err) = admin_cli(
        "http://pds.example.com",
        Some("unused"),
        &["request-crawl", &format!("{network}/elsewhere")],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("refused the crawl request"), "{err}");
}
