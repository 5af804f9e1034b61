//! Verification of incoming inter-service tokens (`relay::service_auth`): tokens minted by the
//! relay's own `getServiceAuth` for accounts whose DID documents live on the real PLC
//! directory, hand-made tokens for the failure cases, and a did:web issuer served on loopback
//! (labeler keys, key rotation).

mod common;

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{TestAccount, TestRelay};
use crypto::{Algorithm, Keypair};
use relay::service_auth::{verify_service_jwt, ServiceCaller};
use serde_json::{json, Value as Json};

const LXM: &str = "com.atproto.server.createAccount";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A compact JWS of `claims` signed with `key`.
fn mint(key: &Keypair, claims: &Json) -> String {
    let header = json!({ "typ": "JWT", "alg": key.algorithm().jwt_alg() });
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

fn claims(iss: &str, aud: &str, lxm: Option<&str>, exp: i64) -> Json {
    let mut c = json!({
        "iat": now(),
        "iss": iss,
        "aud": aud,
        "exp": exp,
        "jti": format!("{:x}", rand_u64()),
    });
    if let Some(lxm) = lxm {
        c["lxm"] = lxm.into();
    }
    c
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

/// The error name and status of a refusal.
async fn refusal(relay: &TestRelay, token: &str, lxm: Option<&str>) -> (u16, String) {
    let e = verify_service_jwt(&relay.state, token, &relay.state.config.service_did, lxm)
        .await
        .expect_err("refused");
    (e.status, e.error.to_string())
}

async fn accepted(relay: &TestRelay, token: &str, lxm: Option<&str>) -> ServiceCaller {
    verify_service_jwt(&relay.state, token, &relay.state.config.service_did, lxm)
        .await
        .unwrap_or_else(|e| panic!("accepted: {e:?}"))
}

/// A token from the relay's own `getServiceAuth`.
async fn service_auth(relay: &TestRelay, account: &TestAccount, query: &str) -> String {
    let (status, body) = relay
        .get(
            "com.atproto.server.getServiceAuth",
            query,
            Some(&account.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_plc_accounts() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let ours = relay.state.config.service_did.clone();
    let key = relay.state.repos.signing_key(&alice.did).await.unwrap();

    // A valid token, bound to the method: accepted once.
    let token = service_auth(&relay, &alice, &format!("aud={ours}&lxm={LXM}")).await;
    let caller = accepted(&relay, &token, Some(LXM)).await;
    assert_eq!(caller.did, alice.did);
    assert_eq!(caller.iss, alice.did);
    assert_eq!(caller.service_id, None);
    assert_eq!(caller.lxm.as_deref(), Some(LXM));
    assert!(caller.exp > now() && caller.exp <= now() + 61);
    // ...and never twice.
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwt".into())
    );

    // Addressed to this PDS's service id: accepted. To another service of ours or to another
    // DID: refused.
    let own_service = format!("{ours}%23atproto_pds");
    let token = service_auth(&relay, &alice, &format!("aud={own_service}&lxm={LXM}")).await;
    accepted(&relay, &token, Some(LXM)).await;
    for aud in [
        format!("{ours}%23bsky_appview"),
        "did:web:other.example.com".to_owned(),
    ] {
        let token = service_auth(&relay, &alice, &format!("aud={aud}&lxm={LXM}")).await;
        assert_eq!(
            refusal(&relay, &token, Some(LXM)).await,
            (401, "BadJwtAudience".into()),
            "{aud}"
        );
    }

    // Bound to another method, or to none when one is required.
    let token = service_auth(
        &relay,
        &alice,
        &format!("aud={ours}&lxm=com.atproto.repo.uploadBlob"),
    )
    .await;
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwtLexiconMethod".into())
    );
    let token = service_auth(&relay, &alice, &format!("aud={ours}")).await;
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwtLexiconMethod".into())
    );
    // A caller that binds no method accepts it.
    accepted(&relay, &token, None).await;

    // Expired; or living longer than any token this side may be given.
    let expired = mint(&key, &claims(&alice.did, &ours, Some(LXM), now() - 5));
    assert_eq!(
        refusal(&relay, &expired, Some(LXM)).await,
        (401, "JwtExpired".into())
    );
    let long = mint(
        &key,
        &claims(&alice.did, &ours, Some(LXM), now() + 3 * 3600),
    );
    assert_eq!(
        refusal(&relay, &long, Some(LXM)).await,
        (401, "BadJwt".into())
    );

    // Signed by another key, or altered after signing.
    let stranger = Keypair::generate(key.algorithm());
    let forged = mint(&stranger, &claims(&alice.did, &ours, Some(LXM), now() + 60));
    assert_eq!(
        refusal(&relay, &forged, Some(LXM)).await,
        (401, "BadJwtSignature".into())
    );
    let genuine = mint(&key, &claims(&alice.did, &ours, Some(LXM), now() + 60));
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut payload: Json =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["exp"] = (now() + 120).into();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    assert_eq!(
        refusal(&relay, &parts.join("."), Some(LXM)).await,
        (401, "BadJwtSignature".into())
    );
    accepted(&relay, &genuine, Some(LXM)).await;

    // An issuer that does not resolve, one that is not a DID, no jti.
    let nobody = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    let token = mint(&key, &claims(nobody, &ours, Some(LXM), now() + 60));
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "AuthenticationRequired".into())
    );
    let token = mint(&key, &claims("alice", &ours, Some(LXM), now() + 60));
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwtIss".into())
    );
    let mut no_jti = claims(&alice.did, &ours, Some(LXM), now() + 60);
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        refusal(&relay, &mint(&key, &no_jti), Some(LXM)).await,
        (401, "BadJwt".into())
    );

    // From a request, as a handler sees it.
    let token = service_auth(&relay, &alice, &format!("aud={ours}&lxm={LXM}")).await;
    assert!(relay::service_auth::is_definitely_service_auth(&token));
    assert!(!relay::service_auth::is_definitely_service_auth(
        &alice.access_jwt
    ));
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let ctx = relay::app::Ctx::new(headers, None);
    let caller = relay.state.service_caller(&ctx, LXM).await.unwrap();
    assert_eq!(caller.did, alice.did);
    let anonymous = relay::app::Ctx::new(axum::http::HeaderMap::new(), None);
    let e = relay
        .state
        .service_caller(&anonymous, LXM)
        .await
        .unwrap_err();
    assert_eq!((e.status, e.error.as_ref()), (401, "MissingJwt"));

    // Session tokens are not service tokens.
    assert_eq!(
        refusal(&relay, &alice.access_jwt, Some(LXM)).await,
        (401, "BadJwtType".into())
    );
    assert_eq!(
        refusal(&relay, "not.a-jwt", Some(LXM)).await,
        (401, "BadJwt".into())
    );
}

/// A did:web identity on loopback whose document the test can change.
struct WebIdentity {
    did: String,
    /// (`#atproto` key, `#atproto_label` key) as multikeys.
    keys: Arc<Mutex<(String, String)>>,
}

impl WebIdentity {
    async fn start(atproto: &Keypair, label: &Keypair) -> WebIdentity {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let did = format!("did:web:localhost%3A{port}");
        let keys = Arc::new(Mutex::new((
            atproto.public_key().multikey(),
            label.public_key().multikey(),
        )));
        let (served_did, served_keys) = (did.clone(), keys.clone());
        let app = axum::Router::new().route(
            "/.well-known/did.json",
            axum::routing::get(move || {
                let (atproto, label) = served_keys.lock().unwrap().clone();
                let did = served_did.clone();
                async move {
                    axum::Json(json!({
                        "id": did,
                        "verificationMethod": [
                            { "id": "#atproto", "type": "Multikey", "controller": did,
                              "publicKeyMultibase": atproto },
                            { "id": format!("{did}#atproto_label"), "type": "Multikey",
                              "controller": did, "publicKeyMultibase": label },
                        ],
                    }))
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebIdentity { did, keys }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_web_issuers_labeler_keys_and_rotation() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let ours = relay.state.config.service_did.clone();
    let atproto = Keypair::generate(Algorithm::K256);
    let label = Keypair::generate(Algorithm::P256);
    let web = WebIdentity::start(&atproto, &label).await;

    let token = mint(&atproto, &claims(&web.did, &ours, Some(LXM), now() + 60));
    let caller = accepted(&relay, &token, Some(LXM)).await;
    assert_eq!(caller.did, web.did);

    // `did#atproto_labeler` speaks with the label key, and only with it.
    let as_labeler = format!("{}#atproto_labeler", web.did);
    let token = mint(&label, &claims(&as_labeler, &ours, Some(LXM), now() + 60));
    let caller = accepted(&relay, &token, Some(LXM)).await;
    assert_eq!(caller.did, web.did);
    assert_eq!(caller.service_id.as_deref(), Some("atproto_labeler"));
    let token = mint(&atproto, &claims(&as_labeler, &ours, Some(LXM), now() + 60));
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwtSignature".into())
    );

    // The key is rotated after the document was cached: the failed check looks once more.
    let rotated = Keypair::generate(Algorithm::P256);
    web.keys.lock().unwrap().0 = rotated.public_key().multikey();
    let token = mint(&rotated, &claims(&web.did, &ours, Some(LXM), now() + 60));
    accepted(&relay, &token, Some(LXM)).await;
    // The old key no longer counts.
    let token = mint(&atproto, &claims(&web.did, &ours, Some(LXM), now() + 60));
    assert_eq!(
        refusal(&relay, &token, Some(LXM)).await,
        (401, "BadJwtSignature".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_blob_takes_a_service_token() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let ours = relay.state.config.service_did.clone();
    let upload = "com.atproto.repo.uploadBlob";
    let bytes = b"a processed video, say".to_vec();

    // The way the video service uploads for a user: a token from getServiceAuth.
    let token = service_auth(&relay, &alice, &format!("aud={ours}&lxm={upload}")).await;
    let (status, body) = relay
        .post_bytes(upload, Some("video/mp4"), bytes.clone(), Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["blob"]["size"], bytes.len());
    // Once only.
    let (status, body) = relay
        .post_bytes(upload, Some("video/mp4"), bytes.clone(), Some(&token))
        .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("BadJwt")));
    // Bound to another method: refused before the body is read.
    let token = service_auth(
        &relay,
        &alice,
        &format!("aud={ours}&lxm=com.atproto.repo.createRecord"),
    )
    .await;
    let (status, body) = relay
        .post_bytes(upload, Some("video/mp4"), bytes.clone(), Some(&token))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("BadJwtLexiconMethod"))
    );
    // Sessions still work.
    let (status, body) = relay
        .post_bytes(upload, Some("video/mp4"), bytes, Some(&alice.access_jwt))
        .await;
    assert_eq!(status, 200, "{body}");
}
