//! The OAuth authorization server and resource server, driven over real HTTP the way a client
//! and a browser would: PAR with the DPoP nonce dance, the sign-in and consent pages (cookies,
//! CSRF tokens, 303s), the code exchange, DPoP-bound XRPC calls, refresh, revocation, and one
//! test per MUST of the spec that a server enforces.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{TestAccount, TestRelay};
use crypto::{Algorithm, Keypair};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1/cb";

fn client_id(scope: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("redirect_uri", REDIRECT);
    q.append_pair("scope", scope);
    format!("http://localhost?{}", q.finish())
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A client's DPoP key, with the nonce it last saw.
struct DpopKey {
    key: Keypair,
    nonce: Option<String>,
}

impl DpopKey {
    fn new() -> DpopKey {
        DpopKey {
            key: Keypair::generate(Algorithm::P256),
            nonce: None,
        }
    }

    fn proof(&self, htm: &str, htu: &str, access_token: Option<&str>) -> String {
        let point = self.key.public_key().to_uncompressed();
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {
            "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])}});
        let mut claims = json!({"jti": common::unique_suffix() + &b64(rand16()), "htm": htm, "htu": htu,
            "iat": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()});
        if let Some(n) = &self.nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = access_token {
            claims["ath"] = json!(b64(Sha256::digest(t.as_bytes())));
        }
        let signing = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = self.key.sign(signing.as_bytes());
        format!("{signing}.{}", b64(sig))
    }
}

fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a form to an authorization-server endpoint with a DPoP proof, doing the nonce dance.
async fn as_post(
    relay: &TestRelay,
    key: &mut DpopKey,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Json) {
    let url = format!("{}{path}", relay.url);
    for _ in 0..2 {
        let response = relay
            .http
            .post(&url)
            .header("dpop", key.proof("POST", &url, None))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let nonce = response
            .headers()
            .get("dpop-nonce")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(nonce.is_some(), "{path} answered without a DPoP-Nonce");
        let body: Json = response.json().await.unwrap();
        if status == 400 && body["error"] == "use_dpop_nonce" && key.nonce != nonce {
            key.nonce = nonce;
            continue;
        }
        return (status, body);
    }
    panic!("the nonce dance did not settle");
}

/// A state unique to each request (the server refuses a reused one), known to the test.
fn state_for(pkce: &Pkce) -> String {
    format!("st-{}", &pkce.challenge[..12])
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = b64([rand16(), rand16()].concat());
    let challenge = b64(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

async fn par(
    relay: &TestRelay,
    key: &mut DpopKey,
    client: &str,
    scope: &str,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> (u16, Json) {
    let state = state_for(pkce);
    let mut form = vec![
        ("client_id", client),
        ("response_type", "code"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", state.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
    ];
    for (k, v) in extra {
        form.retain(|(fk, _)| fk != k);
        form.push((k, v));
    }
    as_post(relay, key, "/oauth/par", &form).await
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

/// A browser: remembers the device cookie.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: no_redirects(),
            cookie: None,
        }
    }

    fn remember(&mut self, response: &reqwest::Response) {
        if let Some(set) = response.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
    }

    async fn get(&mut self, url: &str) -> (u16, String, Option<String>) {
        let mut req = self.http.get(url);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let response = req.send().await.unwrap();
        self.remember(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let mut req = self.http.post(url).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let response = req.send().await.unwrap();
        self.remember(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }
}

/// Runs the authorization pages for a pushed request; answers the redirect back to the client.
async fn approve(
    relay: &TestRelay,
    browser: &mut Browser,
    client: &str,
    request_uri: &str,
    account: &TestAccount,
    decision: &str,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client);
    q.append_pair("request_uri", request_uri);
    let query = q.finish();
    let (status, mut html, _) = browser
        .get(&format!("{}/oauth/authorize?{query}", relay.url))
        .await;
    assert_eq!(status, 200, "{html}");
    if html.contains("Choose an account") {
        // The account button of the choose-account page (a GET form).
        let (status, page, _) = browser
            .get(&format!(
                "{}/oauth/authorize?{query}&account={}",
                relay.url, account.did
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        html = page;
    }
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
        .unwrap_or_else(|| panic!("no csrf in {html}"))
        .to_owned();
    let html = if html.contains("action=\"/oauth/authorize/sign-in\"") {
        let (status, body, location) = browser
            .post(
                &format!("{}/oauth/authorize/sign-in", relay.url),
                &[
                    ("client_id", client),
                    ("request_uri", request_uri),
                    ("csrf", &csrf),
                    ("username", &account.handle),
                    ("password", &account.password),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        let (status, html, _) = browser
            .get(&format!("{}{}", relay.url, location.unwrap()))
            .await;
        assert_eq!(status, 200);
        html
    } else {
        html
    };
    assert!(html.contains("Allow access?"), "{html}");
    assert!(
        html.contains("http://localhost?"),
        "the consent page names the client_id"
    );
    let (status, body, location) = browser
        .post(
            &format!("{}/oauth/authorize/consent", relay.url),
            &[
                ("client_id", client),
                ("request_uri", request_uri),
                ("csrf", &csrf),
                ("account", &account.did),
                ("decision", decision),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    location.unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

struct Grant {
    key: DpopKey,
    client: String,
    code: String,
    pkce: Pkce,
}

async fn authorize(relay: &TestRelay, account: &TestAccount, scope: &str) -> Grant {
    let client = client_id(scope);
    let mut key = DpopKey::new();
    let pkce = pkce();
    let (status, body) = par(relay, &mut key, &client, scope, &pkce, &[]).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let mut browser = Browser::new();
    let back = approve(relay, &mut browser, &client, &request_uri, account, "allow").await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state"), Some(state_for(&pkce)));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(relay.url.as_str())
    );
    Grant {
        key,
        client,
        code: query_param(&back, "code").unwrap(),
        pkce,
    }
}

async fn exchange(relay: &TestRelay, grant: &mut Grant) -> (u16, Json) {
    let (client, code, verifier) = (
        grant.client.clone(),
        grant.code.clone(),
        grant.pkce.verifier.clone(),
    );
    as_post(
        relay,
        &mut grant.key,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await
}

/// An XRPC call with a DPoP-bound token (retrying once for the resource server's nonce).
async fn xrpc_dpop(
    relay: &TestRelay,
    key: &mut DpopKey,
    token: &str,
    nsid: &str,
    body: Option<&Json>,
) -> (u16, Json) {
    let url = relay.xrpc_url(nsid);
    let method = if body.is_some() { "POST" } else { "GET" };
    for _ in 0..2 {
        let req = match body {
            Some(b) => relay.http.post(&url).json(b),
            None => relay.http.get(&url),
        };
        let response = req
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", key.proof(method, &url, Some(token)))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let nonce = response
            .headers()
            .get("dpop-nonce")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(nonce.is_some(), "a DPoP request's response carries a nonce");
        let www = response.headers().get("www-authenticate").cloned();
        let json: Json = response.json().await.unwrap_or(Json::Null);
        if status == 401 && json["error"] == "use_dpop_nonce" {
            assert!(www.unwrap().to_str().unwrap().contains("use_dpop_nonce"));
            key.nonce = nonce;
            continue;
        }
        return (status, json);
    }
    panic!("the resource server nonce dance did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_documents() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let pr: Json = relay
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource",
            relay.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pr["authorization_servers"], json!([relay.url]));
    let asm: Json = relay
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            relay.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asm["issuer"], json!(relay.url));
    assert_eq!(asm["require_pushed_authorization_requests"], json!(true));
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["client_id_metadata_document_supported"], json!(true));
    assert_eq!(
        asm["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    for m in ["none", "private_key_jwt"] {
        assert!(asm["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(m)));
    }
    // A 401 names the schemes (RFC 9110), and CORS lets browser apps read the DPoP headers.
    let response = relay
        .http
        .get(relay.xrpc_url("com.atproto.server.getSession"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let www = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.contains("DPoP") && www.contains("Bearer"), "{www}");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("DPoP-Nonce") && exposed.contains("WWW-Authenticate"));
    let preflight = relay
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth/token", relay.url),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "dpop,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    for s in [
        "atproto",
        "transition:generic",
        "transition:chat.bsky",
        "transition:email",
    ] {
        assert!(asm["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(s)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_refresh_and_revoke() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauth").await;
    let mut grant = authorize(&relay, &alice, "atproto transition:generic").await;
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(tokens["sub"], json!(alice.did));
    assert_eq!(tokens["scope"], "atproto transition:generic");
    assert!(tokens["expires_in"].as_i64().unwrap() <= 30 * 60);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The code is single use; presenting it again revokes what it produced.
    let (status, body) = exchange(&relay, &mut grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.server.getSession",
        None,
    )
    .await;
    assert_eq!(status, 401, "a reused code revokes its session: {body}");

    // A fresh grant for the rest.
    let mut grant = authorize(&relay, &alice, "atproto transition:generic").await;
    let (_, tokens) = exchange(&relay, &mut grant).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let _ = refresh;

    let (status, session) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.server.getSession",
        None,
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["did"], json!(alice.did));
    assert!(
        session.get("email").is_none(),
        "no transition:email, no email: {session}"
    );
    let record = json!({"repo": alice.did, "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "via oauth", "createdAt": "2026-11-25T00:00:00.000Z"}});
    let (status, created) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.repo.createRecord",
        Some(&record),
    )
    .await;
    assert_eq!(status, 200, "{created}");

    // Bearer use of a DPoP-bound token is refused.
    let (status, body) = relay
        .get("com.atproto.server.getSession", "", Some(&access))
        .await;
    assert_eq!(status, 401, "{body}");

    // A replayed proof is refused.
    let url = relay.xrpc_url("com.atproto.server.getSession");
    let proof = grant.key.proof("GET", &url, Some(&access));
    let send = || {
        relay
            .http
            .get(&url)
            .header("authorization", format!("DPoP {access}"))
            .header("dpop", proof.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status().as_u16(), 200);
    let replay = send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 401);
    let body: Json = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");

    // Refresh with another key is refused; with the right key it rotates.
    let mut thief = DpopKey::new();
    let client = grant.client.clone();
    let (status, body) = as_post(
        &relay,
        &mut thief,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, rotated) = as_post(
        &relay,
        &mut grant.key,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh_token);
    assert_eq!(rotated["sub"], json!(alice.did));

    // Revocation ends the session: the access token and the refresh token stop working.
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    let response = relay
        .http
        .post(format!("{}/oauth/revoke", relay.url))
        .form(&[
            ("token", new_refresh.as_str()),
            ("client_id", client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, _) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &new_access,
        "com.atproto.server.getSession",
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = as_post(
        &relay,
        &mut grant.key,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", &new_refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_refresh_token_revokes_the_session() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauthr").await;
    let mut grant = authorize(&relay, &alice, "atproto transition:generic").await;
    let (_, tokens) = exchange(&relay, &mut grant).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let client = grant.client.clone();
    let refresh = |token: String| {
        [
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", client.clone()),
            ("refresh_token", token),
        ]
    };
    let form = refresh(first.clone());
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, rotated) = as_post(&relay, &mut grant.key, "/oauth/token", &form).await;
    assert_eq!(status, 200);
    // The old token again: a replay. It fails, and so does the newest token afterwards.
    let (status, body) = as_post(&relay, &mut grant.key, "/oauth/token", &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let newest = refresh(rotated["refresh_token"].as_str().unwrap().to_owned());
    let newest: Vec<(&str, &str)> = newest.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = as_post(&relay, &mut grant.key, "/oauth/token", &newest).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_refuses_what_the_profile_forbids() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let scope = "atproto transition:generic";
    let client = client_id(scope);
    let mut key = DpopKey::new();
    let p = pkce();
    // Plain PKCE.
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &p,
        &[("code_challenge_method", "plain")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // No atproto scope.
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &p,
        &[("scope", "transition:generic")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // A scope the client did not declare.
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &p,
        &[("scope", "atproto transition:chat.bsky")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // An unregistered redirect URI.
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &p,
        &[("redirect_uri", "http://127.0.0.1/elsewhere")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // Without DPoP at all.
    let response = relay
        .http
        .post(format!("{}/oauth/par", relay.url))
        .form(&[("client_id", client.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Json = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    // A valid one passes, and its challenge cannot be used twice.
    let (status, body) = par(&relay, &mut key, &client, scope, &p, &[]).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = par(&relay, &mut key, &client, scope, &p, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // A fresh challenge with the same state: the state is refused.
    let again = state_for(&p);
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &pkce(),
        &[("state", again.as_str())],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("state"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_bound_what_a_token_can_do() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauths").await;
    let scope = "atproto repo:app.bsky.feed.like?action=create";
    let mut grant = authorize(&relay, &alice, scope).await;
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let post = json!({"repo": alice.did, "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "no", "createdAt": "2026-11-25T00:00:00.000Z"}});
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.repo.createRecord",
        Some(&post),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].is_string());
    let like = json!({"repo": alice.did, "collection": "app.bsky.feed.like",
        "record": {"$type": "app.bsky.feed.like", "createdAt": "2026-11-25T00:00:00.000Z",
                   "subject": {"uri": format!("at://{}/app.bsky.feed.post/3jzfcijpj2z2a", alice.did),
                               "cid": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}}});
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.repo.createRecord",
        Some(&like),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Account management is never for apps.
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.server.createAppPassword",
        Some(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.identity.updateHandle",
        Some(&json!({"handle": relay.new_handle("renamed")})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_deny_login_hint_and_session_list() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauthp").await;
    let scope = "atproto";
    let client = client_id(scope);
    let mut key = DpopKey::new();
    let p = pkce();
    let (status, body) = par(
        &relay,
        &mut key,
        &client,
        scope,
        &p,
        &[("login_hint", alice.handle.as_str())],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let mut browser = Browser::new();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client);
    q.append_pair("request_uri", &request_uri);
    let (status, html, _) = browser
        .get(&format!("{}/oauth/authorize?{}", relay.url, q.finish()))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("value=\"{}\"", alice.handle)),
        "login_hint pre-fills the username"
    );
    // A wrong password re-renders the form with an alert.
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let (status, html, _) = browser
        .post(
            &format!("{}/oauth/authorize/sign-in", relay.url),
            &[
                ("client_id", &client),
                ("request_uri", &request_uri),
                ("csrf", &csrf),
                ("username", &alice.handle),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert!(html.contains("role=\"alert\""));
    // A forged CSRF token is refused.
    let (status, _, _) = browser
        .post(
            &format!("{}/oauth/authorize/sign-in", relay.url),
            &[
                ("client_id", &client),
                ("request_uri", &request_uri),
                ("csrf", "forged"),
                ("username", &alice.handle),
                ("password", &alice.password),
            ],
        )
        .await;
    assert_eq!(status, 403);
    // Deny sends access_denied back.
    let back = approve(&relay, &mut browser, &client, &request_uri, &alice, "deny").await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&back, "state"), Some(state_for(&p)));

    // A second authorization in the same browser offers the signed-in account.
    let p2 = pkce();
    let (_, body) = par(&relay, &mut key, &client, scope, &p2, &[]).await;
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client);
    q.append_pair("request_uri", &request_uri);
    let (status, html, _) = browser
        .get(&format!("{}/oauth/authorize?{}", relay.url, q.finish()))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("name=\"account\" value=\"{}\"", alice.did)),
        "{html}"
    );
    let back = approve(&relay, &mut browser, &client, &request_uri, &alice, "allow").await;
    let mut grant = Grant {
        key,
        client: client.clone(),
        code: query_param(&back, "code").unwrap(),
        pkce: p2,
    };
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");

    // The session list shows the app; revoking it ends the session.
    let (status, html, _) = browser.get(&format!("{}/account", relay.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("http://localhost?"), "{html}");
    let id = between(&html, "name=\"revoke\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let (status, _, location) = browser
        .post(
            &format!("{}/account/revoke", relay.url),
            &[("csrf", &csrf), ("revoke", &id)],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/account")));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = as_post(
        &relay,
        &mut grant.key,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // "Sign in to another account" shows the sign-in form even with an account signed in.
    let (status, html, _) = browser.get(&format!("{}/account?add=1", relay.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/account/sign-in\""), "{html}");
    // A stranger's browser sees a sign-in form, not alice's apps.
    let (status, html, _) = Browser::new().get(&format!("{}/account", relay.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/account/sign-in\"") && !html.contains(&alice.handle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_scopes_resolve_authenticated_permission_sets() {
    let dns = common::MockDns::start().await;
    let server = dns.addr.to_string();
    let Some(relay) = TestRelay::start_with(&["--dns-servers", &server]).await else {
        return;
    };
    // The lexicon publisher is an account on this relay; DNS points the authority at it.
    let publisher = relay.create_account("lexpub").await;
    let nsid = "app.example.authPosting";
    let lexicon = json!({"$type": "com.atproto.lexicon.schema", "lexicon": 1, "id": nsid,
    "defs": {"main": {"type": "permission-set", "title": "Posting", "detail": "Write posts",
        "permissions": [
            {"type": "permission", "resource": "repo", "collection": ["app.example.post"]},
            {"type": "permission", "resource": "rpc", "inheritAud": true, "lxm": ["app.example.getFeed"]},
            {"type": "permission", "resource": "repo", "collection": ["app.other.post"]}
        ]}}});
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": publisher.did, "collection": "com.atproto.lexicon.schema", "rkey": nsid, "record": lexicon}),
            Some(&publisher.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    dns.set("_lexicon.example.app", &[&format!("did={}", publisher.did)]);

    let alice = relay.create_account("incl").await;
    let scope = "atproto include:app.example.authPosting?aud=did:web:api.example.com%23svc";
    let client = client_id(scope);
    let mut key = DpopKey::new();
    let p = pkce();
    let (status, body) = par(&relay, &mut key, &client, scope, &p, &[]).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    // The consent page shows the set's title and what it grants.
    let mut browser = Browser::new();
    let back = approve(&relay, &mut browser, &client, &request_uri, &alice, "allow").await;
    let mut grant = Grant {
        key,
        client,
        code: query_param(&back, "code").unwrap(),
        pkce: p,
    };
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");
    let granted = tokens["scope"].as_str().unwrap();
    assert!(granted.contains("repo:app.example.post"), "{granted}");
    assert!(
        granted.contains("rpc:app.example.getFeed?aud=did:web:api.example.com%23svc"),
        "{granted}"
    );
    assert!(
        !granted.contains("app.other.post"),
        "outside the set's authority: {granted}"
    );
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let record = json!({"repo": alice.did, "collection": "app.example.post", "record": {"$type": "app.example.post", "text": "hi"}});
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.repo.createRecord",
        Some(&record),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let other = json!({"repo": alice.did, "collection": "app.other.post", "record": {"$type": "app.other.post", "text": "no"}});
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "com.atproto.repo.createRecord",
        Some(&other),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // A set nobody publishes fails the request, naming the set.
    let scope = "atproto include:app.nowhere.authAll";
    let client = client_id(scope);
    let mut key = DpopKey::new();
    let (status, body) = par(&relay, &mut key, &client, scope, &pkce(), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("app.nowhere.authAll"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_permissions_bound_service_tokens() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauthrpc").await;
    let scope = "atproto rpc:app.bsky.feed.getTimeline?aud=did:web:api.bsky.app%23bsky_appview";
    let mut grant = authorize(&relay, &alice, scope).await;
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let ask = |lxm: &str, aud: &str| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("aud", aud);
        q.append_pair("lxm", lxm);
        format!("com.atproto.server.getServiceAuth?{}", q.finish())
    };
    let appview = "did:web:api.bsky.app#bsky_appview";
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        &ask("app.bsky.feed.getTimeline", appview),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Another method, or the same method at another service: not granted.
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        &ask("app.bsky.feed.getAuthorFeed", appview),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        &ask(
            "app.bsky.feed.getTimeline",
            "did:web:other.example#bsky_appview",
        ),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Preferences are AppView methods too.
    let (status, body) = xrpc_dpop(
        &relay,
        &mut grant.key,
        &access,
        "app.bsky.actor.getPreferences",
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

/// The mailed-code flows take over an account through its mailbox: never for apps, however
/// broad their grant (email flows: tests/email.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_cannot_use_the_email_flows() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauthmail").await;
    let mut grant = authorize(
        &relay,
        &alice,
        "atproto transition:generic transition:email",
    )
    .await;
    let (status, tokens) = exchange(&relay, &mut grant).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    for nsid in [
        "com.atproto.server.requestEmailConfirmation",
        "com.atproto.server.requestEmailUpdate",
        "com.atproto.server.requestAccountDelete",
        "com.atproto.identity.requestPlcOperationSignature",
    ] {
        // Procedures without input: a POST without a body (xrpc_dpop sends one).
        let url = relay.xrpc_url(nsid);
        let mut status = 0;
        for _ in 0..2 {
            let response = relay
                .http
                .post(&url)
                .header("authorization", format!("DPoP {access}"))
                .header("dpop", grant.key.proof("POST", &url, Some(&access)))
                .send()
                .await
                .unwrap();
            grant.key.nonce = response
                .headers()
                .get("dpop-nonce")
                .map(|v| v.to_str().unwrap().to_owned());
            status = response.status().as_u16();
            let body: Json = response.json().await.unwrap_or(Json::Null);
            if body["error"] != "use_dpop_nonce" {
                assert_eq!(status, 403, "{nsid}: {body}");
                break;
            }
        }
        assert_eq!(status, 403, "{nsid}");
    }
    for (nsid, body) in [
        (
            "com.atproto.server.updateEmail",
            json!({"email": "thief@example.com"}),
        ),
        (
            "com.atproto.server.confirmEmail",
            json!({"email": alice.email, "token": "AAAAA-22222"}),
        ),
    ] {
        let (status, body) = xrpc_dpop(&relay, &mut grant.key, &access, nsid, Some(&body)).await;
        assert_eq!(status, 403, "{nsid}: {body}");
    }
}

/// With mailed sign-in codes on (updateEmail `emailAuthFactor`), the sign-in pages ask for
/// the code too: the password alone does not sign in. (No SMTP here: the code is read from
/// the outbox folder.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_pages_ask_for_the_mailed_code() {
    use store::email::EmailTokenStore;
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("oauthcode").await;
    relay
        .state
        .store
        .set_email_auth_factor(&alice.did, true)
        .await
        .unwrap();
    let mut browser = Browser::new();
    let (status, html, _) = browser.get(&format!("{}/account", relay.url)).await;
    assert_eq!(status, 200);
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let sign_in = |code: Option<&str>| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("username", alice.handle.clone()),
            ("password", alice.password.clone()),
        ];
        if let Some(code) = code {
            form.push(("code", code.to_owned()));
        }
        form
    };
    let url = format!("{}/account/sign-in", relay.url);
    let (status, html, _) = post_owned(&mut browser, &url, sign_in(None)).await;
    assert_eq!(status, 401, "{html}");
    assert!(html.contains("A sign-in code has been sent"), "{html}");
    assert!(html.contains("name=\"code\""), "{html}");
    let outbox = relay.data_dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains(&format!("To: {}", alice.email)))
        .expect("the code was mailed");
    let code = mail
        .split_whitespace()
        .find(|w| w.len() == 11 && w.as_bytes()[5] == b'-')
        .unwrap()
        .to_owned();
    let (status, html, _) = post_owned(&mut browser, &url, sign_in(Some("AAAAA-22222"))).await;
    assert_eq!(status, 401);
    assert!(html.contains("wrong or has expired"), "{html}");
    let (status, html, location) = post_owned(&mut browser, &url, sign_in(Some(&code))).await;
    assert_eq!(status, 303, "{html}");
    assert_eq!(location.as_deref(), Some("/account"));
    assert!(relay
        .state
        .store
        .email_token(&alice.did, "2fa")
        .await
        .unwrap()
        .is_none());
}

/// [`Browser::post`] with owned values.
async fn post_owned(
    browser: &mut Browser,
    url: &str,
    form: Vec<(&str, String)>,
) -> (u16, String, Option<String>) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(url, &pairs).await
}
