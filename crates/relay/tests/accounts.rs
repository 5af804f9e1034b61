//! Accounts, sessions, app passwords, invite codes and account status, over real HTTP against a
//! real relay and a real PLC directory (see tests/common).

mod common;

use base64::Engine;
use common::{TestRelay, PASSWORD};
use serde_json::{json, Value as Json};

/// The claims of a JWT (not verified: the relay did that).
fn jwt_claims(token: &str) -> Json {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn error_of(body: &Json) -> (&str, &str) {
    (
        body["error"].as_str().unwrap_or(""),
        body["message"].as_str().unwrap_or(""),
    )
}

async fn plc_get(relay: &TestRelay, path: &str) -> Json {
    let response = relay
        .http
        .get(format!("{}/{path}", relay.plc_url))
        .send()
        .await
        .expect("the PLC directory answers");
    assert!(
        response.status().is_success(),
        "PLC {path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_server_advertises_domains_and_policy() {
    let relay = TestRelay::start_with_plc(
        "http://localhost:1",
        &[
            "--privacy-policy-url",
            "https://example.com/privacy",
            "--contact-email-address",
            "ops@example.com",
            "--blob-upload-limit",
            "1234567",
        ],
    )
    .await;
    let (status, body) = relay
        .get("com.atproto.server.describeServer", "", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["did"], "did:web:localhost");
    assert_eq!(body["availableUserDomains"], json!([".test"]));
    assert_eq!(body["inviteCodeRequired"], false);
    assert_eq!(
        body["links"],
        json!({ "privacyPolicy": "https://example.com/privacy" })
    );
    assert_eq!(body["contact"], json!({ "email": "ops@example.com" }));
    // The upload limit is advertised, as the reference does (found by the oracle).
    assert_eq!(body["blobUploadLimit"], 1234567);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_registers_the_did_at_the_directory() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    assert!(alice.did.starts_with("did:plc:"), "{}", alice.did);

    // The directory holds the genesis operation the relay built: our rotation key, the handle,
    // this server, and the account's own signing key.
    let data = plc_get(&relay, &format!("{}/data", alice.did)).await;
    let relay_key = relay.state.secrets.plc_rotation_key.did_key();
    let signing_key = relay
        .state
        .repos
        .signing_key(&alice.did)
        .await
        .unwrap()
        .did_key();
    assert_eq!(data["rotationKeys"], json!([relay_key]));
    assert_eq!(
        data["alsoKnownAs"],
        json!([format!("at://{}", alice.handle)])
    );
    assert_eq!(
        data["services"]["atproto_pds"],
        json!({ "type": "AtprotoPersonalDataServer", "endpoint": relay.url })
    );
    assert_eq!(data["verificationMethods"]["atproto"], json!(signing_key));
    assert!(
        signing_key.starts_with("did:key:zDn"),
        "P-256 key: {signing_key}"
    );

    // The audit log replays to the same state, through our own client and validator.
    let audited = relay.state.plc.audited(&alice.did).await.unwrap();
    let state = audited.state().expect("active");
    assert_eq!(state.handle().as_deref(), Some(alice.handle.as_str()));
    assert_eq!(state.pds_endpoint(), Some(relay.url.as_str()));

    // Session responses carry the document the directory serves.
    let doc = plc_get(&relay, &alice.did).await;
    let (status, login) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["didDoc"], doc);
    assert_eq!(doc["id"], json!(alice.did));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_key_comes_first_among_rotation_keys() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let recovery = crypto::Keypair::generate(crypto::Algorithm::K256).did_key();
    let handle = relay.new_handle("rec");
    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({
                "handle": handle,
                "email": format!("{}@example.com", handle.trim_end_matches(".test")),
                "password": PASSWORD,
                "recoveryKey": recovery,
            }),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let did = body["did"].as_str().unwrap();
    assert_eq!(body["didDoc"]["id"], json!(did));
    let data = plc_get(&relay, &format!("{did}/data")).await;
    assert_eq!(
        data["rotationKeys"],
        json!([recovery, relay.state.secrets.plc_rotation_key.did_key()])
    );

    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({
                "handle": relay.new_handle("rec"),
                "email": "rec-bad@example.com",
                "password": PASSWORD,
                "recoveryKey": "did:key:not-a-key",
            }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "InvalidRequest"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_and_email_rules() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let create = |handle: String, email: String| {
        let relay = &relay;
        async move {
            relay
                .post(
                    "com.atproto.server.createAccount",
                    &json!({ "handle": handle, "email": email, "password": PASSWORD }),
                    None,
                )
                .await
        }
    };
    let fresh_email = || format!("{}@example.com", common::unique_suffix());

    // Taken, whatever the case.
    let (status, body) = create(alice.handle.clone(), fresh_email()).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            400,
            (
                "HandleNotAvailable",
                &*format!("Handle already taken: {}", alice.handle)
            )
        )
    );
    let (status, body) = create(alice.handle.to_uppercase(), fresh_email()).await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "HandleNotAvailable"),
        "{body}"
    );

    // The service-domain rules.
    for (handle, error, message) in [
        ("ab.test", "InvalidHandle", "Handle too short"),
        (
            "abcdefghijklmnopqrs.test",
            "InvalidHandle",
            "Handle too long",
        ),
        (
            "a.bcd.test",
            "InvalidHandle",
            "Invalid characters in handle",
        ),
        ("admin.test", "HandleNotAvailable", "Reserved handle"),
        (
            "alice.local",
            "InvalidHandle",
            "Handle TLD is invalid or disallowed",
        ),
        (
            "alice.example.com",
            "UnsupportedDomain",
            "Not a supported handle domain",
        ),
    ] {
        let (status, body) = create(handle.to_owned(), fresh_email()).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, (error, message)),
            "{handle}: {body}"
        );
    }
    // Not a handle at all: refused by input validation.
    let (status, body) = create("not a handle".to_owned(), fresh_email()).await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "InvalidRequest"),
        "{body}"
    );

    // Email: required, plausible, unique (case-insensitively).
    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({ "handle": relay.new_handle("bob"), "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("InvalidRequest", "Email is required"))
    );
    let (status, body) = create(relay.new_handle("bob"), "not-an-email".to_owned()).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            400,
            (
                "InvalidRequest",
                "This email address is not supported, please use a different email."
            )
        )
    );
    let (status, body) = create(relay.new_handle("bob"), alice.email.to_uppercase()).await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "InvalidRequest"),
        "{body}"
    );
    assert!(
        error_of(&body).1.starts_with("Email already taken"),
        "{body}"
    );

    // Password length.
    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({ "handle": relay.new_handle("bob"), "email": fresh_email(), "password": "x".repeat(257) }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "InvalidRequest"),
        "{body}"
    );

    // Handles are stored lower-cased.
    let handle = relay.new_handle("Carol");
    let (status, body) = create(handle.to_uppercase(), fresh_email()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["handle"], json!(handle.to_lowercase()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_codes_when_required() {
    let Some(relay) = TestRelay::start_with(&["--invite-required", "true"]).await else {
        return;
    };
    let (_, describe) = relay
        .get("com.atproto.server.describeServer", "", None)
        .await;
    assert_eq!(describe["inviteCodeRequired"], true);

    let handle = relay.new_handle("inv");
    let body = |code: Option<&str>| {
        let mut b = json!({
            "handle": handle,
            "email": format!("{}@example.com", handle.trim_end_matches(".test")),
            "password": PASSWORD,
        });
        if let Some(code) = code {
            b["inviteCode"] = json!(code);
        }
        b
    };
    let (status, resp) = relay
        .post("com.atproto.server.createAccount", &body(None), None)
        .await;
    assert_eq!(
        (status, error_of(&resp)),
        (400, ("InvalidInviteCode", "No invite code provided"))
    );
    let (status, resp) = relay
        .post(
            "com.atproto.server.createAccount",
            &body(Some("localhost-nope-nope")),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&resp)),
        (
            400,
            ("InvalidInviteCode", "Provided invite code not available")
        )
    );

    // Only the admin makes codes.
    let (status, resp) = relay
        .post(
            "com.atproto.server.createInviteCode",
            &json!({ "useCount": 1 }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&resp).0),
        (401, "AuthenticationRequired"),
        "{resp}"
    );
    let wrong = relay
        .http
        .post(relay.xrpc_url("com.atproto.server.createInviteCode"))
        .basic_auth("admin", Some("wrong"))
        .json(&json!({ "useCount": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let (status, resp) = relay
        .post_admin(
            "com.atproto.server.createInviteCode",
            &json!({ "useCount": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let code = resp["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("localhost-"), "{code}");

    let (status, resp) = relay
        .post("com.atproto.server.createAccount", &body(Some(&code)), None)
        .await;
    assert_eq!(status, 200, "{resp}");
    let did = resp["did"].as_str().unwrap().to_owned();
    let access = resp["accessJwt"].as_str().unwrap().to_owned();

    // A one-use code is spent.
    let other = relay.new_handle("inv");
    let (status, resp) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({
                "handle": other,
                "email": format!("{}@example.com", other.trim_end_matches(".test")),
                "password": PASSWORD,
                "inviteCode": code,
            }),
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&resp).0),
        (400, "InvalidInviteCode"),
        "{resp}"
    );

    // Codes for an account, listed by that account.
    let (status, resp) = relay
        .post_admin(
            "com.atproto.server.createInviteCodes",
            &json!({ "codeCount": 2, "useCount": 3, "forAccounts": [did] }),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["codes"][0]["account"], json!(did));
    assert_eq!(resp["codes"][0]["codes"].as_array().unwrap().len(), 2);
    let (status, resp) = relay
        .get(
            "com.atproto.server.getAccountInviteCodes",
            "",
            Some(&access),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let codes = resp["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 2, "{resp}");
    assert!(codes
        .iter()
        .all(|c| c["available"] == 3 && c["forAccount"] == json!(did) && c["uses"] == json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_by_handle_email_or_did() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    for identifier in [
        alice.handle.clone(),
        alice.handle.to_uppercase(),
        alice.email.clone(),
        alice.email.to_uppercase(),
        alice.did.clone(),
    ] {
        let (status, body) = relay.login(&identifier, PASSWORD).await;
        assert_eq!(status, 200, "{identifier}: {body}");
        assert_eq!(body["did"], json!(alice.did));
        assert_eq!(body["handle"], json!(alice.handle));
        assert_eq!(body["email"], json!(alice.email));
        assert_eq!(body["emailConfirmed"], false);
        assert_eq!(body["active"], true);
        assert!(body.get("status").is_none(), "{body}");
        let claims = jwt_claims(body["accessJwt"].as_str().unwrap());
        assert_eq!(claims["scope"], "com.atproto.access");
        assert_eq!(claims["sub"], json!(alice.did));
        assert_eq!(claims["aud"], "did:web:localhost");
    }

    // A wrong password and an unknown identifier look the same.
    for (identifier, password) in [
        (alice.handle.as_str(), "wrong password"),
        ("nobody.test", PASSWORD),
        ("nobody@example.com", PASSWORD),
        ("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", PASSWORD),
    ] {
        let (status, body) = relay.login(identifier, password).await;
        assert_eq!(
            (status, error_of(&body)),
            (
                401,
                ("AuthenticationRequired", "Invalid identifier or password")
            ),
            "{identifier}"
        );
    }

    // getSession with the access token.
    let (status, body) = relay
        .get("com.atproto.server.getSession", "", Some(&alice.access_jwt))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["did"], json!(alice.did));
    assert_eq!(body["handle"], json!(alice.handle));
    assert_eq!(body["email"], json!(alice.email));
    assert_eq!(body["emailConfirmed"], false);
    assert_eq!(body["active"], true);
    assert_eq!(body["didDoc"]["id"], json!(alice.did));

    // Without a token, or with the wrong kind.
    let (status, body) = relay.get("com.atproto.server.getSession", "", None).await;
    assert_eq!((status, error_of(&body).0), (401, "AuthMissing"));
    let (status, body) = relay
        .get(
            "com.atproto.server.getSession",
            "",
            Some(&alice.refresh_jwt),
        )
        .await;
    assert_eq!((status, error_of(&body).0), (400, "InvalidToken"), "{body}");
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&alice.access_jwt))
        .await;
    assert_eq!((status, error_of(&body).0), (400, "InvalidToken"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_with_a_grace_period_and_can_be_revoked() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let first = alice.refresh_jwt.clone();

    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&first))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["did"], json!(alice.did));
    assert_eq!(body["handle"], json!(alice.handle));
    assert_eq!(body["active"], true);
    let second = body["refreshJwt"].as_str().unwrap().to_owned();
    let access = body["accessJwt"].as_str().unwrap().to_owned();
    let second_id = jwt_claims(&second)["jti"].clone();
    assert_ne!(second_id, jwt_claims(&first)["jti"]);

    // The new access token works.
    let (status, _) = relay
        .get("com.atproto.server.getSession", "", Some(&access))
        .await;
    assert_eq!(status, 200);

    // Within the grace period the old token still works, and leads to the same successor.
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&first))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["refreshJwt"].as_str().unwrap())["jti"],
        second_id
    );

    // The successor rotates on.
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&second))
        .await;
    assert_eq!(status, 200, "{body}");
    let third = body["refreshJwt"].as_str().unwrap().to_owned();

    // deleteSession revokes it; using it again fails as the reference fails.
    let (status, body) = relay
        .post_empty("com.atproto.server.deleteSession", Some(&third))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&third))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("ExpiredToken", "Token has been revoked"))
    );
    // And a predecessor cannot resurrect the revoked session.
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&second))
        .await;
    assert_eq!((status, error_of(&body).0), (400, "ExpiredToken"), "{body}");

    // A token from another server's secret is not accepted at all.
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some("a.b.c"))
        .await;
    assert_eq!((status, error_of(&body).0), (400, "InvalidToken"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_log_in_but_cannot_manage_the_account() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let full = alice.access_jwt.clone();

    let (status, body) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({ "name": "phone" }),
            Some(&full),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "phone");
    assert_eq!(body["privileged"], false);
    let app_password = body["password"].as_str().unwrap().to_owned();
    assert_eq!(app_password.len(), 19, "{app_password}");
    assert!(body["createdAt"].as_str().is_some());

    // Same name twice is refused.
    let (status, body) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({ "name": "phone" }),
            Some(&full),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "InvalidRequest"),
        "{body}"
    );

    let (status, body) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({ "name": "chat", "privileged": true }),
            Some(&full),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let privileged_password = body["password"].as_str().unwrap().to_owned();

    let (status, body) = relay
        .get("com.atproto.server.listAppPasswords", "", Some(&full))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut names: Vec<(String, bool)> = body["passwords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(
                p.get("password").is_none(),
                "listing never shows the password"
            );
            (
                p["name"].as_str().unwrap().to_owned(),
                p["privileged"].as_bool().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("chat".to_owned(), true), ("phone".to_owned(), false)]
    );

    // Logging in with them gives app-password sessions.
    let (status, body) = relay.login(&alice.handle, &app_password).await;
    assert_eq!(status, 200, "{body}");
    let app_access = body["accessJwt"].as_str().unwrap().to_owned();
    let app_refresh = body["refreshJwt"].as_str().unwrap().to_owned();
    assert_eq!(jwt_claims(&app_access)["scope"], "com.atproto.appPass");
    let (status, body) = relay.login(&alice.email, &privileged_password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["accessJwt"].as_str().unwrap())["scope"],
        "com.atproto.appPassPrivileged"
    );

    // Refreshing keeps the app-password scope.
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&app_refresh))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["accessJwt"].as_str().unwrap())["scope"],
        "com.atproto.appPass"
    );
    let app_refresh = body["refreshJwt"].as_str().unwrap().to_owned();

    // An app-password session works for ordinary calls…
    let (status, _) = relay
        .get("com.atproto.server.getSession", "", Some(&app_access))
        .await;
    assert_eq!(status, 200);
    // …but cannot manage app passwords or deactivate the account.
    for (nsid, body) in [
        (
            "com.atproto.server.createAppPassword",
            Some(json!({ "name": "x" })),
        ),
        (
            "com.atproto.server.revokeAppPassword",
            Some(json!({ "name": "phone" })),
        ),
        ("com.atproto.server.deactivateAccount", Some(json!({}))),
        ("com.atproto.server.listAppPasswords", None),
    ] {
        let (status, resp) = match body {
            Some(body) => relay.post(nsid, &body, Some(&app_access)).await,
            None => relay.get(nsid, "", Some(&app_access)).await,
        };
        assert_eq!(
            (status, error_of(&resp)),
            (400, ("InvalidToken", "Bad token scope")),
            "{nsid}"
        );
    }

    // Revoking the app password ends its logins and its sessions.
    let (status, body) = relay
        .post(
            "com.atproto.server.revokeAppPassword",
            &json!({ "name": "phone" }),
            Some(&full),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay.login(&alice.handle, &app_password).await;
    assert_eq!(
        (status, error_of(&body).0),
        (401, "AuthenticationRequired"),
        "{body}"
    );
    let (status, body) = relay
        .post_empty("com.atproto.server.refreshSession", Some(&app_refresh))
        .await;
    assert_eq!((status, error_of(&body).0), (400, "ExpiredToken"), "{body}");
    // The account password is unaffected.
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_accounts_log_in_but_cannot_write() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let token = alice.access_jwt.clone();
    let post = json!({
        "repo": alice.did,
        "collection": "app.bsky.feed.post",
        "record": { "$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2026-11-25T12:00:00.000Z" },
    });

    let (status, body) = relay
        .post(
            "com.atproto.server.deactivateAccount",
            &json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(body["status"], "deactivated");
    let (status, body) = relay
        .get("com.atproto.server.getSession", "", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["active"].clone(), body["status"].clone()),
        (json!(false), json!("deactivated"))
    );

    let (status, body) = relay
        .post("com.atproto.repo.createRecord", &post, Some(&token))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (401, ("AccountDeactivated", "Account is deactivated")),
        "{body}"
    );

    let (status, body) = relay
        .get("com.atproto.server.checkAccountStatus", "", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activated"], false);

    // Reactivation: the directory still names this server, so it is accepted.
    let (status, body) = relay
        .post_empty("com.atproto.server.activateAccount", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = relay
        .get("com.atproto.server.getSession", "", Some(&token))
        .await;
    assert_eq!(body["active"], true);
    assert!(body.get("status").is_none(), "{body}");
    let (status, body) = relay
        .post("com.atproto.repo.createRecord", &post, Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    // Activating an active account announces it again, as the reference does.
    let (status, body) = relay
        .post_empty("com.atproto.server.activateAccount", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");

    // The firehose saw it all, in order.
    let kinds: Vec<(String, Json)> = relay
        .events_for(&alice.did)
        .await
        .into_iter()
        .map(|(_, kind, body)| (kind, body))
        .collect();
    let names: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "#identity",
            "#account",
            "#commit", // creation
            "#sync",
            "#account", // deactivation
            "#account", // reactivation, in the reference's order: no new commit, a #sync
            "#identity",
            "#sync",
            "#commit",  // the post
            "#account", // activation again: the same announcement, no new commit
            "#identity",
            "#sync",
        ]
    );
    assert_eq!(
        kinds[11].1["rev"], kinds[8].1["rev"],
        "the #sync names the post's commit"
    );
    assert_eq!(kinds[4].1["active"], false);
    assert_eq!(kinds[4].1["status"], "deactivated");
    assert_eq!(kinds[5].1["active"], true);
    assert!(kinds[5].1.get("status").is_none());
    // The reactivation's #sync names the commit made before the deactivation.
    assert_eq!(kinds[7].1["rev"], kinds[2].1["rev"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_account_status_reports_the_repo() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let response = relay
        .http
        .get(relay.xrpc_url("com.atproto.server.checkAccountStatus"))
        .bearer_auth(&alice.access_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let rev_header = response
        .headers()
        .get("atproto-repo-rev")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Json = response.json().await.unwrap();

    use store::Store;
    let head = relay
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["activated"], true);
    assert_eq!(body["validDid"], true);
    assert_eq!(body["repoCommit"], json!(head.cid.to_string()));
    assert_eq!(body["repoRev"], json!(head.rev));
    assert_eq!(rev_header.as_deref(), Some(head.rev.as_str()));
    // An empty repo: the commit and the empty MST root.
    assert_eq!(body["repoBlocks"], 2, "{body}");
    assert_eq!(body["indexedRecords"], 0);
    assert_eq!(body["privateStateValues"], 0);
    assert_eq!(body["expectedBlobs"], 0);
    assert_eq!(body["importedBlobs"], 0);

    let (status, _) = relay
        .get("com.atproto.server.checkAccountStatus", "", None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_emits_identity_account_commit_in_order() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    let all = relay.events().await;
    let seqs: Vec<i64> = all.iter().map(|(seq, _, _)| *seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seqs:?}"
    );

    use store::Store;
    for account in [&alice, &bob] {
        let events = relay.events_for(&account.did).await;
        let kinds: Vec<&str> = events.iter().map(|(_, k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["#identity", "#account", "#commit", "#sync"],
            "{}",
            account.did
        );
        let identity = &events[0].2;
        assert_eq!(identity["did"], json!(account.did));
        assert_eq!(identity["handle"], json!(account.handle));
        assert!(identity["time"].as_str().is_some());
        let acct = &events[1].2;
        assert_eq!(acct["did"], json!(account.did));
        assert_eq!(acct["active"], true);
        assert!(acct.get("status").is_none());
        let commit = &events[2].2;
        let head = relay
            .state
            .store
            .repo_head(&account.did)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(commit["repo"], json!(account.did));
        assert_eq!(commit["rev"], json!(head.rev));
        assert_eq!(commit["commit"], json!({ "$link": head.cid.to_string() }));
        assert_eq!(commit["ops"], json!([]));
        assert_eq!(commit["since"], Json::Null);
        // The #sync names the same commit, as the reference's account creation does.
        assert_sync_names_head(&events[3].2, &account.did, &head);
    }
}

/// A `#sync` body: the account, its head rev, and a CAR rooted at the head commit holding it.
fn assert_sync_names_head(sync: &Json, did: &str, head: &store::RepoHead) {
    assert_eq!(sync["did"], json!(did));
    assert_eq!(sync["rev"], json!(head.rev));
    assert!(sync["time"].as_str().is_some());
    let car = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(sync["blocks"]["$bytes"].as_str().expect("blocks are bytes"))
        .expect("base64");
    let car = repo::car::read_car(&car, repo::car::CarLimits::default()).expect("a CAR");
    assert_eq!(car.roots, vec![head.cid]);
    assert_eq!(car.blocks.len(), 1);
    assert_eq!(car.blocks[0].0, head.cid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_directory_fails_cleanly_and_keeps_the_handle_free() {
    // Nothing listens on port 1: the directory cannot be reached.
    let relay = TestRelay::start_with_plc("http://localhost:1", &[]).await;
    let handle = relay.new_handle("down");
    let request = json!({
        "handle": handle,
        "email": format!("{}@example.com", handle.trim_end_matches(".test")),
        "password": PASSWORD,
    });
    let (status, body) = relay
        .post("com.atproto.server.createAccount", &request, None)
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (502, "UpstreamFailure"),
        "{body}"
    );
    assert!(
        error_of(&body).1.contains("http://localhost:1"),
        "the message names the directory: {body}"
    );
    use store::Store;
    assert!(relay
        .state
        .store
        .account_by_handle(&handle)
        .await
        .unwrap()
        .is_none());
    assert!(relay.events().await.is_empty());
}

/// A failed login costs the same password-hashing work for an unknown identifier as for a real
/// account, whether that account has app passwords or no password at all: otherwise the time of
/// a wrong guess tells which emails are registered here. Counted, not timed (argon2 dominates a
/// login's cost, and the relay counts its argon2 runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_cost_the_same_for_unknown_and_known_identifiers() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({ "name": "phone" }),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // An account without a password (createAccount allows it).
    let handle = relay.new_handle("nopw");
    let nopw_email = format!("{}@example.com", handle.trim_end_matches(".test"));
    let (status, body) = relay
        .post(
            "com.atproto.server.createAccount",
            &json!({ "handle": handle, "email": nopw_email }),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let identifiers = [
        alice.email.as_str(),
        nopw_email.as_str(),
        "nobody-here@example.com",
    ];
    // The first check of a missing password makes the stand-in hash it compares with, once per
    // process: do it before counting.
    let (status, _) = relay.login("warm-up@example.com", "x").await;
    assert_eq!(status, 401);
    let mut work = Vec::new();
    for identifier in identifiers {
        let before = relay::auth::argon2_runs();
        let (status, body) = relay.login(identifier, "not the password").await;
        assert_eq!(status, 401, "{identifier}: {body}");
        work.push(relay::auth::argon2_runs() - before);
    }
    assert!(work[2] > 0, "a failed login hashes the password");
    assert_eq!(
        work,
        vec![work[2]; 3],
        "argon2 runs per failed login, for {identifiers:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// com.atproto.server.getServiceAuth
// ---------------------------------------------------------------------------------------------

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks a service-auth token's header and signature against the account's key as published
/// on the PLC directory, and returns its claims.
async fn verified_service_claims(relay: &TestRelay, did: &str, token: &str) -> Json {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("unpadded base64url")
    };
    let header: Json = serde_json::from_slice(&decode(parts[0])).expect("JSON header");
    let key = relay.signing_key(did).await;
    assert_eq!(
        header,
        json!({ "typ": "JWT", "alg": key.algorithm().jwt_alg() })
    );
    let signature = decode(parts[2]);
    assert_eq!(signature.len(), 64, "a compact r||s signature");
    let signed = format!("{}.{}", parts[0], parts[1]);
    key.verify(signed.as_bytes(), &signature)
        .expect("the token is signed with the account's repo key");
    jwt_claims(token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_auth_tokens_are_signed_with_the_repo_key() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let token = Some(alice.access_jwt.as_str());

    // Bound to a method and a service of a did:web, default expiry.
    let before = now_secs();
    let (status, body) = relay
        .get(
            "com.atproto.server.getServiceAuth",
            "aud=did:web:api.bsky.app%23bsky_appview&lxm=app.bsky.feed.getTimeline",
            token,
        )
        .await;
    let after = now_secs();
    assert_eq!(status, 200, "{body}");
    let claims = verified_service_claims(&relay, &alice.did, body["token"].as_str().unwrap()).await;
    let keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{claims}");
    assert_eq!(claims["iss"], alice.did.as_str());
    assert_eq!(claims["aud"], "did:web:api.bsky.app#bsky_appview");
    assert_eq!(claims["lxm"], "app.bsky.feed.getTimeline");
    let iat = claims["iat"].as_i64().unwrap();
    assert!((before..=after).contains(&iat), "{claims}");
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 60, "{claims}");
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32, "{jti}");
    assert!(jti
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    // Method-less, to a did:plc, with an explicit expiry within the minute.
    let exp = now_secs() + 30;
    let (status, body) = relay
        .get(
            "com.atproto.server.getServiceAuth",
            &format!("aud={}&exp={exp}", alice.did),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_service_claims(&relay, &alice.did, body["token"].as_str().unwrap()).await;
    assert!(claims.get("lxm").is_none(), "{claims}");
    assert_eq!(claims["aud"], alice.did.as_str());
    assert_eq!(claims["exp"], exp);

    // With a method, up to an hour ahead; tokens differ by their jti.
    let exp = now_secs() + 30 * 60;
    let query = format!("aud=did:web:api.bsky.app&lxm=com.atproto.repo.uploadBlob&exp={exp}");
    let (status, first) = relay
        .get("com.atproto.server.getServiceAuth", &query, token)
        .await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = relay
        .get("com.atproto.server.getServiceAuth", &query, token)
        .await;
    let first = verified_service_claims(&relay, &alice.did, first["token"].as_str().unwrap()).await;
    let second = jwt_claims(second["token"].as_str().unwrap());
    assert_eq!(first["exp"], exp);
    assert_ne!(first["jti"], second["jti"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_auth_refuses_bad_requests() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let full = alice.access_jwt.clone();
    let get = |query: String, token: Option<String>| {
        let relay = &relay;
        async move {
            relay
                .get(
                    "com.atproto.server.getServiceAuth",
                    &query,
                    token.as_deref(),
                )
                .await
        }
    };
    let aud = "aud=did:web:api.bsky.app";

    // No session.
    let (status, body) = get(aud.to_owned(), None).await;
    assert_eq!((status, error_of(&body).0), (401, "AuthMissing"), "{body}");

    // Expiries.
    let cases = [
        (
            format!("{aud}&exp={}", now_secs() - 10),
            "expiration is in past",
        ),
        (
            format!("{aud}&lxm=app.bsky.feed.getTimeline&exp={}", now_secs() + 2 * 3600),
            "cannot request a token with an expiration more than an hour in the future",
        ),
        (
            format!("{aud}&exp={}", now_secs() + 300),
            "cannot request a method-less token with an expiration more than a minute in the future",
        ),
    ];
    for (query, message) in cases {
        let (status, body) = get(query.clone(), Some(full.clone())).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, ("BadExpiration", message)),
            "{query}: {body}"
        );
    }
    let (status, body) = get(
        format!(
            "{aud}&lxm=app.bsky.feed.getTimeline&exp={}",
            now_secs() + 300
        ),
        Some(full.clone()),
    )
    .await;
    assert_eq!(status, 200, "a method-bound token may live longer: {body}");

    // The audience must be an atproto DID, or a DID and a service id.
    for bad in [
        "aud=not-a-did",
        "aud=did:example:123",
        "aud=did:web:example.com:path",
        "aud=did:web:example.com%253A8080",
        "aud=did:plc:short",
        "aud=did:web:api.bsky.app%23",
    ] {
        let (status, body) = get(bad.to_owned(), Some(full.clone())).await;
        assert_eq!(
            (status, error_of(&body)),
            (
                400,
                (
                    "InvalidRequest",
                    "aud must be a valid atproto DID or did#serviceId reference"
                )
            ),
            "{bad}: {body}"
        );
    }
    let (status, body) = get(
        "aud=did:web:localhost%253A2583".to_owned(),
        Some(full.clone()),
    )
    .await;
    assert_eq!(status, 200, "localhost may have a port: {body}");

    // Protected methods, for any session.
    let (status, body) = get(
        format!("{aud}&lxm=com.atproto.server.createAppPassword"),
        Some(full.clone()),
    )
    .await;
    assert_eq!(
        (status, error_of(&body)),
        (
            400,
            (
                "InvalidRequest",
                "cannot request a service auth token for the following protected method: \
                 com.atproto.server.createAppPassword"
            )
        ),
        "{body}"
    );

    // App passwords: privileged methods need a privileged one; protected ones stay refused.
    let mut sessions = Vec::new();
    for (name, privileged) in [("plain", false), ("chat", true)] {
        let (status, body) = relay
            .post(
                "com.atproto.server.createAppPassword",
                &json!({ "name": name, "privileged": privileged }),
                Some(&full),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = relay
            .login(&alice.handle, body["password"].as_str().unwrap())
            .await;
        assert_eq!(status, 200, "{body}");
        sessions.push(body["accessJwt"].as_str().unwrap().to_owned());
    }
    let (plain, privileged) = (sessions[0].clone(), sessions[1].clone());
    let chat = "aud=did:web:api.bsky.chat%23bsky_chat&lxm=chat.bsky.convo.getConvo".to_owned();
    let (status, body) = get(chat.clone(), Some(plain.clone())).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            400,
            (
                "InvalidRequest",
                "insufficient access to request a service auth token for the following method: \
                 chat.bsky.convo.getConvo"
            )
        ),
        "{body}"
    );
    let (status, body) = get(chat.clone(), Some(privileged.clone())).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(chat, Some(full.clone())).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(
        format!("{aud}&lxm=app.bsky.feed.getTimeline"),
        Some(plain.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for token in [plain, privileged] {
        let (status, body) = get(
            format!("{aud}&lxm=com.atproto.identity.updateHandle"),
            Some(token),
        )
        .await;
        assert_eq!(
            (status, error_of(&body).0),
            (400, "InvalidRequest"),
            "{body}"
        );
        assert!(error_of(&body).1.contains("protected method"), "{body}");
    }
}
