//! Service proxying against a real XRPC service on loopback: the relay (dev mode) uses it as
//! its AppView and, through a did:web document it serves, as an `atproto-proxy` target. Checks
//! what reaches the service (method, path, query, body, headers, and the service token, whose
//! signature is verified with the key of the user's DID document on the PLC directory), what
//! comes back, and the refusals.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{TestAccount, TestRelay};
use serde_json::{json, Value as Json};

/// What the mock service received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A small XRPC service on loopback that records every call.
struct MockService {
    url: String,
    /// `did:web:localhost%3A<port>`; its document names the service `#test_svc`.
    did: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Bytes the `com.example.big*` methods answer with (more than the relay's test limit).
const BIG: usize = 8192;
/// Opaque bytes served as `content-encoding: gzip` (the proxy must not touch them).
const GZIPPED: &[u8] = b"\x1f\x8b\x08\x00not-really-gzip";
/// The relay's `--proxy-max-response-size` in these tests.
const MAX_RESPONSE: &str = "4096";

impl MockService {
    async fn start() -> MockService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let did = format!("did:web:localhost%3A{port}");
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = (received.clone(), did.clone(), url.clone());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::new(shared));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockService { url, did, received }
    }

    fn calls(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn last(&self) -> Received {
        self.calls()
            .last()
            .cloned()
            .expect("the service was called")
    }
}

type Shared = Arc<(Arc<Mutex<Vec<Received>>>, String, String)>;

async fn answer(State(shared): State<Shared>, request: Request) -> Response {
    let (received, did, url) = &*shared;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path == "/.well-known/did.json" {
        return axum::Json(json!({
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "service": [
                { "id": "#test_svc", "type": "TestService", "serviceEndpoint": url },
            ],
        }))
        .into_response();
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    received.lock().unwrap().push(Received {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    match path.as_str() {
        "/xrpc/com.example.big" => vec![b'x'; BIG].into_response(),
        "/xrpc/com.example.bigChunked" => {
            let chunks = (0..BIG / 1024).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1024]));
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        "/xrpc/com.example.slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late".into_response()
        }
        "/xrpc/com.example.stall" => {
            // The headers and a first chunk, then nothing for a long while.
            let chunks = futures_util::stream::unfold(0, |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                (n < 2).then(|| (Ok::<_, std::io::Error>(vec![b'z'; 16]), n + 1))
            });
            Body::from_stream(chunks).into_response()
        }
        "/xrpc/com.example.gzipped" => (
            [
                ("content-encoding", "gzip"),
                ("content-type", "application/json"),
            ],
            GZIPPED.to_vec(),
        )
            .into_response(),
        "/xrpc/com.example.fail" => (
            StatusCode::BAD_REQUEST,
            [("retry-after", "7"), ("content-type", "application/json")],
            r#"{"error":"SomethingWrong","message":"the service says no"}"#,
        )
            .into_response(),
        "/xrpc/com.example.crash" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/html")],
            "<html>oops</html>",
        )
            .into_response(),
        _ => {
            let echo = json!({
                "path": path,
                "body": String::from_utf8_lossy(&body),
            });
            (
                [
                    ("atproto-content-labelers", "did:plc:labeler1"),
                    ("content-language", "en"),
                    ("x-upstream-private", "not for clients"),
                ],
                axum::Json(echo),
            )
                .into_response()
        }
    }
}

/// A relay in dev mode whose AppView is `service` (addressed as `did:web:appview.test`).
async fn relay_for(service: &MockService, extra: &[&str]) -> Option<TestRelay> {
    let mut flags = vec![
        "--bsky-app-view-url",
        &service.url,
        "--bsky-app-view-did",
        "did:web:appview.test",
        "--proxy-max-response-size",
        MAX_RESPONSE,
    ];
    flags.extend_from_slice(extra);
    TestRelay::start_with(&flags).await
}

/// The claims of a JWT, and its signature checked against the account's DID document key.
async fn verified_claims(relay: &TestRelay, account: &TestAccount, jwt: &str) -> (Json, Json) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {jwt}");
    let decode =
        |p: &str| -> Json { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let key = relay.signing_key(&account.did).await;
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    key.verify(signed.as_bytes(), &signature)
        .expect("signed with the key of the account's DID document");
    (decode(parts[0]), decode(parts[1]))
}

fn bearer(headers: &HeaderMap) -> String {
    headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .expect("a Bearer token")
        .to_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_queries_and_procedures_with_a_service_token() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(&service, &[]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let target = format!("{}#test_svc", service.did);

    // A query: the path and query as sent, the allowed headers, a fresh service token.
    let before = now();
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.thing.getStuff") + "?a=1&tag=x&tag=y%20z&flag=true")
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", &target)
        .header("accept-language", "fr, en;q=0.5")
        .header("atproto-accept-labelers", "did:plc:labeler1;redact")
        .header("x-atproto-extra", "passed")
        .header("x-bsky-topics", "cats")
        .header("x-private-client", "kept back")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["atproto-content-labelers"], "did:plc:labeler1");
    assert_eq!(headers["content-language"], "en");
    assert!(headers.get("x-upstream-private").is_none());
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["path"], "/xrpc/com.example.thing.getStuff");

    let got = service.last();
    assert_eq!(got.method, "GET");
    assert_eq!(got.path, "/xrpc/com.example.thing.getStuff");
    assert_eq!(got.query.as_deref(), Some("a=1&tag=x&tag=y%20z&flag=true"));
    assert_eq!(got.headers["accept-language"], "fr, en;q=0.5");
    assert_eq!(
        got.headers["atproto-accept-labelers"],
        "did:plc:labeler1;redact"
    );
    assert_eq!(got.headers["x-atproto-extra"], "passed");
    assert_eq!(got.headers["x-bsky-topics"], "cats");
    assert!(got.headers.get("x-private-client").is_none());
    assert!(got.headers.get("atproto-proxy").is_none());
    let jwt = bearer(&got.headers);
    assert_ne!(jwt, alice.access_jwt, "the session token stays here");
    let (header, claims) = verified_claims(&relay, &alice, &jwt).await;
    assert_eq!(header["typ"], "JWT");
    assert!(
        header["alg"] == "ES256" || header["alg"] == "ES256K",
        "{header}"
    );
    assert_eq!(claims["iss"], alice.did);
    assert_eq!(claims["aud"], target.as_str());
    assert_eq!(claims["lxm"], "com.example.thing.getStuff");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(iat >= before - 1 && iat <= now() + 1, "{claims}");
    assert_eq!(exp - iat, 60, "a one-minute token: {claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));

    // A procedure: method, body and content type as sent; a new token (new jti).
    let body = br#"{"text":"hello","n":[1,2,3]}"#.to_vec();
    let response = relay
        .http
        .post(relay.xrpc_url("com.example.thing.doStuff"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", &target)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let got = service.last();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/xrpc/com.example.thing.doStuff");
    assert_eq!(got.body, body);
    assert_eq!(got.headers["content-type"], "application/json");
    let (_, second) = verified_claims(&relay, &alice, &bearer(&got.headers)).await;
    assert_eq!(second["lxm"], "com.example.thing.doStuff");
    assert_ne!(second["jti"], claims["jti"]);

    // Encoded bodies pass through untouched, with the client's accept-encoding upstream.
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.gzipped"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", &target)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.bytes().await.unwrap().as_ref(), GZIPPED);
    assert_eq!(service.last().headers["accept-encoding"], "gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bsky_methods_go_to_the_appview_and_served_ones_stay_here() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(&service, &[]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;

    let (status, body) = relay
        .get(
            "app.bsky.feed.getTimeline",
            "limit=5",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = service.last();
    assert_eq!(got.path, "/xrpc/app.bsky.feed.getTimeline");
    assert_eq!(got.query.as_deref(), Some("limit=5"));
    assert_eq!(got.headers["accept-encoding"], "identity");
    let (_, claims) = verified_claims(&relay, &alice, &bearer(&got.headers)).await;
    assert_eq!(claims["aud"], "did:web:appview.test#bsky_appview");
    assert_eq!(claims["lxm"], "app.bsky.feed.getTimeline");

    // The configured AppView named in the header is reached at its configured URL.
    let response = relay
        .http
        .get(relay.xrpc_url("app.bsky.actor.getProfile") + "?actor=bob.test")
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", "did:web:appview.test#bsky_appview")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(service.last().path, "/xrpc/app.bsky.actor.getProfile");

    // Age assurance always goes to the AppView.
    let (status, body) = relay
        .get(
            "app.bsky.ageassurance.getState",
            "",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(service.last().path, "/xrpc/app.bsky.ageassurance.getState");

    // Methods served here are answered here, even with the header (clients send it on every
    // call); account management is never proxied that way.
    let calls = service.calls().len();
    for nsid in [
        "app.bsky.actor.getPreferences",
        "com.atproto.server.getSession",
    ] {
        let response = relay
            .http
            .get(relay.xrpc_url(nsid))
            .bearer_auth(&alice.access_jwt)
            .header("atproto-proxy", "did:web:appview.test#bsky_appview")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{nsid}");
    }
    assert_eq!(service.calls().len(), calls, "nothing reached the service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(&service, &[]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let target = format!("{}#test_svc", service.did);
    let call = |nsid: &str, proxy: Option<&str>, token: Option<&str>| {
        let mut request = relay.http.get(relay.xrpc_url(nsid));
        if let Some(proxy) = proxy {
            request = request.header("atproto-proxy", proxy.to_owned());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token.to_owned());
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Json = response.json().await.unwrap_or(Json::Null);
            (status, body)
        }
    };
    let name = |body: &Json| body["error"].as_str().unwrap_or_default().to_owned();

    // No session: refused before anything is resolved or sent.
    let (status, body) = call("com.example.thing.getStuff", Some(&target), None).await;
    assert_eq!(
        (status, name(&body).as_str()),
        (401, "AuthMissing"),
        "{body}"
    );
    let (status, body) = call("app.bsky.feed.getTimeline", None, Some("garbage")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(name(&body), "InvalidToken");

    // Service ids the DID document does not have, DIDs that do not resolve, bad headers.
    let token = Some(alice.access_jwt.as_str());
    let unknown_service = format!("{}#no_such_service", service.did);
    let (status, body) = call("com.example.a.b", Some(&unknown_service), token).await;
    assert_eq!((status, name(&body).as_str()), (400, "InvalidRequest"));
    assert_eq!(body["message"], "could not resolve proxy did service url");
    let (status, body) = call(
        "com.example.a.b",
        Some("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#svc"),
        token,
    )
    .await;
    assert_eq!((status, name(&body).as_str()), (400, "InvalidRequest"));
    assert_eq!(body["message"], "could not resolve proxy did");
    let (status, body) = call("com.example.a.b", Some("did:web:x.test"), token).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "no service id specified in proxy header");
    assert!(service.calls().is_empty(), "nothing reached the service");

    // Unknown methods without a header and without a service for them keep their error.
    let (status, body) = call("com.example.a.b", None, token).await;
    assert_eq!(status, 200, "the AppView takes any other method: {body}");
    let bare = TestRelay::start_with(&[]).await.expect("a relay");
    let bob = bare.create_account("bob").await;
    let (status, body) = bare.get("com.example.a.b", "", Some(&bob.access_jwt)).await;
    assert_eq!((status, name(&body).as_str()), (404, "XRPCNotSupported"));
    let (status, body) = bare
        .get("app.bsky.feed.getTimeline", "", Some(&bob.access_jwt))
        .await;
    assert_eq!((status, name(&body).as_str()), (404, "XRPCNotSupported"));

    // Upstream errors come back with their name, message and Retry-After; 500 becomes 502.
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.fail"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", &target)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["error"], "SomethingWrong");
    assert_eq!(body["message"], "the service says no");
    let (status, body) = call("com.example.crash", Some(&target), token).await;
    assert_eq!((status, name(&body).as_str()), (502, "UpstreamFailure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_do_not_reach_chat_unless_privileged() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(&service, &[]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let mut sessions = Vec::new();
    for (name, privileged) in [("plain", false), ("dms", true)] {
        let (status, body) = relay
            .post(
                "com.atproto.server.createAppPassword",
                &json!({ "name": name, "privileged": privileged }),
                Some(&alice.access_jwt),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, login) = relay
            .login(&alice.handle, body["password"].as_str().unwrap())
            .await;
        assert_eq!(status, 200, "{login}");
        sessions.push(login["accessJwt"].as_str().unwrap().to_owned());
    }
    let chat = format!("{}#test_svc", service.did);
    let listen = |token: String, nsid: &'static str| {
        let request = relay
            .http
            .get(relay.xrpc_url(nsid))
            .bearer_auth(token)
            .header("atproto-proxy", chat.clone());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Json>().await.unwrap_or(Json::Null))
        }
    };
    for nsid in [
        "chat.bsky.convo.listConvos",
        "chat.bsky.convo.getConvoAvailability",
    ] {
        let (status, body) = listen(sessions[0].clone(), nsid).await;
        assert_eq!(status, 400, "{nsid}: {body}");
        assert_eq!(body["error"], "InvalidToken");
        assert_eq!(body["message"], "Bad token method");
    }
    assert!(service.calls().is_empty());
    // Not chat: fine with a plain app password.
    let (status, body) = listen(sessions[0].clone(), "app.bsky.feed.getFeed").await;
    assert_eq!(status, 200, "{body}");
    // Privileged app passwords and full sessions reach chat.
    for token in [sessions[1].clone(), alice.access_jwt.clone()] {
        let (status, body) = listen(token, "chat.bsky.convo.listConvos").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(service.last().path, "/xrpc/chat.bsky.convo.listConvos");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_size_limit() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(&service, &[]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let target = format!("{}#test_svc", service.did);
    let get = |nsid: &str| {
        relay
            .http
            .get(relay.xrpc_url(nsid))
            .bearer_auth(&alice.access_jwt)
            .header("atproto-proxy", &target)
            .send()
    };
    // A declared length over the limit: refused before anything is sent back.
    let response = get("com.example.big").await.unwrap();
    assert_eq!(response.status(), 502);
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["error"], "UpstreamFailure");
    assert_eq!(body["message"], "upstream response too large");
    // A streamed body is cut where it passes the limit: the client never gets it whole.
    let response = get("com.example.bigChunked").await.unwrap();
    assert_eq!(response.status(), 200);
    match response.bytes().await {
        Err(_) => {}
        Ok(bytes) => assert!(bytes.len() < BIG, "cut short, got {}", bytes.len()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_times_out() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(
        &service,
        &[
            "--proxy-headers-timeout",
            "300",
            "--proxy-body-timeout",
            "300",
        ],
    )
    .await
    else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.slow"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", format!("{}#test_svc", service.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["error"], "UpstreamFailure");
    assert_eq!(body["message"], "Upstream service did not answer in time");

    // A body that stops flowing is cut: the client never gets its end.
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.stall"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", format!("{}#test_svc", service.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the stalled body is cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_still_apply() {
    let service = MockService::start().await;
    let Some(relay) = relay_for(
        &service,
        &["--rate-limits-enabled", "true", "--rate-limit-global", "5"],
    )
    .await
    else {
        return;
    };
    // createAccount is the first of the five requests this address may make.
    let alice = relay.create_account("alice").await;
    for _ in 0..4 {
        let (status, body) = relay
            .get("app.bsky.feed.getTimeline", "", Some(&alice.access_jwt))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, headers, body) = relay
        .get_with_headers("app.bsky.feed.getTimeline", "", Some(&alice.access_jwt))
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "RateLimitExceeded");
    assert!(headers.get("retry-after").is_some());
    assert_eq!(
        service.calls().len(),
        4,
        "the refused call was not forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_are_refused_with_ssrf_protection() {
    let service = MockService::start().await;
    // Dev mode (for the local PLC directory) but SSRF protection on, as in production.
    let Some(relay) = relay_for(&service, &["--disable-ssrf-protection", "false"]).await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .get("app.bsky.feed.getTimeline", "", Some(&alice.access_jwt))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused")),
        "{body}"
    );
    let response = relay
        .http
        .get(relay.xrpc_url("com.example.thing.getStuff"))
        .bearer_auth(&alice.access_jwt)
        .header("atproto-proxy", format!("{}#test_svc", service.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(service.calls().is_empty(), "nothing reached the service");
}
