//! Rate limits: 429 `RateLimitExceeded` with `Retry-After` and `RateLimit-*` headers, the bypass
//! key, per-account write points, and no limits when they are off.

mod common;

use common::TestRelay;
use serde_json::{json, Value as Json};

const BYPASS: &str = "trusted-tool-key";

fn assert_limited(status: u16, headers: &reqwest::header::HeaderMap, body: &Json, limit: u64) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "RateLimitExceeded", "{body}");
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {headers:?}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let retry_after: u64 = header("retry-after").parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(header("ratelimit-limit"), limit.to_string());
    assert_eq!(header("ratelimit-remaining"), "0");
    let reset: u64 = header("ratelimit-reset").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        reset >= now && reset <= now + 24 * 3600 + 1,
        "{reset} vs {now}"
    );
    assert!(
        header("ratelimit-policy").starts_with(&format!("{limit};w=")),
        "{headers:?}"
    );
}

#[tokio::test]
async fn global_limit_per_ip_answers_429_with_headers_and_the_bypass_key_skips_it() {
    // No account needed: any PLC URL will do.
    let relay = TestRelay::start_with_plc(
        "http://127.0.0.1:9",
        &[
            "--rate-limits-enabled",
            "true",
            "--rate-limit-global",
            "5",
            "--rate-limit-bypass-key",
            BYPASS,
        ],
    )
    .await;
    for i in 0..5u64 {
        let (status, headers, body) = relay
            .get_with_headers("com.atproto.server.describeServer", "", None)
            .await;
        assert_eq!(status, 200, "request {i}: {body}");
        // Allowed responses carry the standing too, as the reference's do.
        assert_eq!(headers["ratelimit-limit"], "5");
        assert_eq!(headers["ratelimit-remaining"], (4 - i).to_string().as_str());
        assert_eq!(headers["ratelimit-policy"], "5;w=300");
        assert!(headers.get("retry-after").is_none());
    }
    let (status, headers, body) = relay
        .get_with_headers("com.atproto.server.describeServer", "", None)
        .await;
    assert_limited(status, &headers, &body, 5);
    assert_eq!(headers["ratelimit-policy"], "5;w=300");

    // The bypass key skips the limit; a wrong one does not.
    let url = relay.xrpc_url("com.atproto.server.describeServer");
    let ok = relay
        .http
        .get(&url)
        .header("x-ratelimit-bypass", BYPASS)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = relay
        .http
        .get(&url)
        .header("x-ratelimit-bypass", "not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 429);

    // The health check is not an XRPC method and stays reachable.
    let health = relay
        .http
        .get(format!("{}/xrpc/_health", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn limits_off_never_answer_429() {
    let relay = TestRelay::start_with_plc(
        "http://127.0.0.1:9",
        &["--rate-limits-enabled", "false", "--rate-limit-global", "1"],
    )
    .await;
    for i in 0..10 {
        let (status, headers, body) = relay
            .get_with_headers("com.atproto.server.describeServer", "", None)
            .await;
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(headers.get("ratelimit-limit").is_none(), "{headers:?}");
    }
}

#[tokio::test]
async fn bypass_ips_skip_the_limits() {
    let relay = TestRelay::start_with_plc(
        "http://127.0.0.1:9",
        &[
            "--rate-limits-enabled",
            "true",
            "--rate-limit-global",
            "1",
            "--rate-limit-bypass-ips",
            "10.1.2.3,127.0.0.1",
        ],
    )
    .await;
    for i in 0..5 {
        let (status, body) = relay
            .get("com.atproto.server.describeServer", "", None)
            .await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_behind_a_proxy() {
    let relay = TestRelay::start_with_plc(
        "http://127.0.0.1:9",
        &["--rate-limits-enabled", "true", "--rate-limit-global", "2"],
    )
    .await;
    let url = relay.xrpc_url("com.atproto.server.describeServer");
    // Each request claims another address; without the proxy flag they all count for 127.0.0.1.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let response = relay
            .http
            .get(&url)
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);

    let proxied = TestRelay::start_with_plc(
        "http://127.0.0.1:9",
        &[
            "--rate-limits-enabled",
            "true",
            "--rate-limit-global",
            "2",
            "--behind-proxy",
            "true",
        ],
    )
    .await;
    let url = proxied.xrpc_url("com.atproto.server.describeServer");
    let mut statuses = Vec::new();
    for ip in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"] {
        let response = proxied
            .http
            .get(&url)
            .header("x-forwarded-for", format!("198.51.100.7, {ip}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 200]);
}

#[tokio::test]
async fn create_session_is_limited_per_identifier_and_create_account_per_ip() {
    let Some(relay) = TestRelay::start_with(&[
        "--rate-limits-enabled",
        "true",
        "--rate-limit-create-session",
        "3",
        "--rate-limit-create-account",
        "2",
        "--rate-limit-bypass-key",
        BYPASS,
    ])
    .await
    else {
        return;
    };
    let alice = relay.create_account("rlalice").await;
    let bob = relay.create_account("rlbob").await;
    // A third account from this IP is refused before any work.
    let handle = relay.new_handle("rlcarol");
    let (status, headers, body) = relay
        .post_with_headers(
            "com.atproto.server.createAccount",
            &json!({ "handle": handle, "email": "carol@example.com", "password": "x-password-1" }),
            None,
        )
        .await;
    assert_limited(status, &headers, &body, 2);

    for i in 0..3 {
        let (status, body) = relay.login(&alice.handle, "wrong password").await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let (status, headers, body) = relay
        .post_with_headers(
            "com.atproto.server.createSession",
            &json!({ "identifier": alice.handle, "password": alice.password }),
            None,
        )
        .await;
    assert_limited(status, &headers, &body, 3);
    // The identifier is case-insensitive for the count.
    let (status, _) = relay
        .login(&alice.handle.to_uppercase(), &alice.password)
        .await;
    assert_eq!(status, 429);
    // Another identifier has its own budget.
    let (status, body) = relay.login(&bob.handle, &bob.password).await;
    assert_eq!(status, 200, "{body}");
    // The bypass key lets a trusted tool in.
    let response = relay
        .http
        .post(relay.xrpc_url("com.atproto.server.createSession"))
        .header("x-ratelimit-bypass", BYPASS)
        .json(&json!({ "identifier": alice.handle, "password": alice.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn create_post(relay: &TestRelay, did: &str, token: &str, rkey: &str) -> (u16, Json) {
    relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({
                "repo": did,
                "collection": "com.example.note",
                "rkey": rkey,
                "record": {
                    "$type": "com.example.note",
                    "text": "hello",
                    "createdAt": "2024-01-01T00:00:00.000Z",
                },
            }),
            Some(token),
        )
        .await
}

#[tokio::test]
async fn repo_writes_spend_points_per_account() {
    let Some(relay) = TestRelay::start_with(&[
        "--rate-limits-enabled",
        "true",
        "--rate-limit-write-points-hour",
        "10",
        "--rate-limit-upload-blob-day",
        "1",
    ])
    .await
    else {
        return;
    };
    let alice = relay.create_account("rlwriter").await;
    let token = alice.access_jwt.as_str();
    // Three creates: 9 points of 10.
    for rkey in ["a1", "a2"] {
        let (status, body) = create_post(&relay, &alice.did, token, rkey).await;
        assert_eq!(status, 200, "{rkey}: {body}");
    }
    let (status, headers, body) = relay
        .post_with_headers(
            "com.atproto.repo.createRecord",
            &json!({
                "repo": alice.did,
                "collection": "com.example.note",
                "rkey": "a3",
                "record": { "$type": "com.example.note", "text": "third" },
            }),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The method's own standing (the hourly points) replaces the global one.
    assert_eq!(headers["ratelimit-limit"], "10");
    assert_eq!(headers["ratelimit-remaining"], "1");
    assert_eq!(headers["ratelimit-policy"], "10;w=3600");
    // A fourth create (3) would pass 10; an applyWrites create is refused the same way.
    let (status, body) = create_post(&relay, &alice.did, token, "a4").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "RateLimitExceeded");
    let (status, headers, body) = relay
        .post_with_headers(
            "com.atproto.repo.applyWrites",
            &json!({
                "repo": alice.did,
                "writes": [{
                    "$type": "com.atproto.repo.applyWrites#create",
                    "collection": "com.example.note",
                    "rkey": "a5",
                    "value": {
                        "$type": "com.example.note",
                        "text": "hi",
                        "createdAt": "2024-01-01T00:00:00.000Z",
                    },
                }],
            }),
            Some(token),
        )
        .await;
    assert_limited(status, &headers, &body, 10);
    assert_eq!(headers["ratelimit-policy"], "10;w=3600");
    // A delete costs 1: it still fits, then nothing does.
    let delete = |rkey: &'static str| {
        let relay = &relay;
        let did = alice.did.clone();
        async move {
            relay
                .post(
                    "com.atproto.repo.deleteRecord",
                    &json!({ "repo": did, "collection": "com.example.note", "rkey": rkey }),
                    Some(token),
                )
                .await
        }
    };
    let (status, body) = delete("a1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = delete("a2").await;
    assert_eq!(status, 429, "{body}");

    // Another account has its own points.
    let bob = relay.create_account("rlother").await;
    let (status, body) = create_post(&relay, &bob.did, &bob.access_jwt, "b1").await;
    assert_eq!(status, 200, "{body}");

    // uploadBlob: one a day here.
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("text/plain"),
            b"one".to_vec(),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("text/plain"),
            b"two".to_vec(),
            Some(token),
        )
        .await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn update_handle_is_limited_per_account() {
    let Some(relay) = TestRelay::start_with(&[
        "--rate-limits-enabled",
        "true",
        "--rate-limit-update-handle",
        "1",
    ])
    .await
    else {
        return;
    };
    let alice = relay.create_account("rlhandle").await;
    let first = relay.new_handle("rlnew");
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({ "handle": first }),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second = relay.new_handle("rlnewer");
    let (status, headers, body) = relay
        .post_with_headers(
            "com.atproto.identity.updateHandle",
            &json!({ "handle": second }),
            Some(&alice.access_jwt),
        )
        .await;
    assert_limited(status, &headers, &body, 1);
}
