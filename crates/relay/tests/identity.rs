//! `com.atproto.identity` over real HTTP, against the real PLC directory: resolveHandle (hosted
//! handles, and other domains through a DNS server the relay is pointed at), updateHandle
//! (service handles and a domain of the user's own; the PLC document, the store and the
//! `#identity` event follow), getRecommendedDidCredentials, resolveDid and resolveIdentity;
//! and the crawler notification at start.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{MockDns, TestRelay};
use serde_json::{json, Value as Json};

async fn plc_document(relay: &TestRelay, did: &str) -> Json {
    relay
        .http
        .get(format!("{}/{did}", relay.plc_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn start_with_dns() -> Option<(TestRelay, MockDns)> {
    let dns = MockDns::start().await;
    let server = dns.addr.to_string();
    let relay = TestRelay::start_with(&["--dns-servers", &server]).await?;
    Some((relay, dns))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_handle_hosted_and_external() {
    let Some((relay, dns)) = start_with_dns().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            &format!("handle={}", alice.handle),
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!({"did": alice.did})));
    // Handles are case-insensitive.
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            &format!("handle={}", alice.handle.to_uppercase()),
            None,
        )
        .await;
    assert_eq!(
        (status, body["did"].as_str()),
        (200, Some(alice.did.as_str()))
    );

    // A handle under this server's domain that nobody has.
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            "handle=nobody123.test",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"], "HandleNotFound",
        "the lexicon's name, as the reference"
    );
    assert_eq!(body["message"], "Unable to resolve handle");

    // Another domain: DNS says, `did=` values only.
    dns.set(
        "_atproto.alice.example.com",
        &["v=spf1 -all", &format!("did={}", alice.did)],
    );
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            "handle=alice.example.com",
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!({"did": alice.did})));
    // Two different DIDs: no answer.
    dns.set(
        "_atproto.twice.example.com",
        &[
            &format!("did={}", alice.did),
            "did=did:web:other.example.com",
        ],
    );
    let (status, _) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            "handle=twice.example.com",
            None,
        )
        .await;
    assert_eq!(status, 400);
    // Nothing anywhere (NXDOMAIN, and no HTTPS server for the name).
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            "handle=nothing.example.com",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest"))
    );
    // Not a handle.
    let (status, _) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            "handle=not_a_handle",
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_handle_changes_plc_store_and_announces_it() {
    let Some((relay, dns)) = start_with_dns().await else {
        return;
    };
    let bob = relay.create_account("bob").await;
    let carol = relay.create_account("carol").await;
    let new_handle = relay.new_handle("robert");
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": new_handle.to_uppercase()}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let doc = plc_document(&relay, &bob.did).await;
    assert_eq!(doc["alsoKnownAs"], json!([format!("at://{new_handle}")]));
    let (_, body) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            &format!("handle={new_handle}"),
            None,
        )
        .await;
    assert_eq!(body["did"], bob.did);
    let (status, _) = relay
        .get(
            "com.atproto.identity.resolveHandle",
            &format!("handle={}", bob.handle),
            None,
        )
        .await;
    assert_eq!(status, 400, "the old handle is free");
    let events = relay.events_for(&bob.did).await;
    let (_, kind, last) = events.last().unwrap();
    assert_eq!(kind, "#identity");
    assert_eq!(last["handle"], new_handle);

    // Someone else's handle; an invalid one; one under a domain that is not ours and does not
    // point at the account.
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": carol.handle}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "HandleNotAvailable", "as the reference");
    assert_eq!(
        body["message"],
        format!("Handle already taken: {}", carol.handle)
    );
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "ab.test"}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidHandle"))
    );
    dns.set("_atproto.bob.example.com", &[&format!("did={}", carol.did)]);
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "bob.example.com"}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "External handle did not resolve to DID");

    // Once the domain points at the account, it becomes the handle.
    dns.set("_atproto.bob.example.com", &[&format!("did={}", bob.did)]);
    let (status, body) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "bob.example.com"}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let doc = plc_document(&relay, &bob.did).await;
    assert_eq!(doc["alsoKnownAs"], json!(["at://bob.example.com"]));
    let (_, body) = relay
        .get(
            "com.atproto.identity.resolveIdentity",
            &format!("identifier={}", bob.did),
            None,
        )
        .await;
    assert_eq!(body["handle"], "bob.example.com");
    assert_eq!(body["didDoc"]["id"], bob.did);

    // Setting the handle it already has announces it again.
    let before = relay.events_for(&bob.did).await.len();
    let (status, _) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "bob.example.com"}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(relay.events_for(&bob.did).await.len(), before + 1);

    // Without a session: refused.
    let (status, _) = relay
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "x123.test"}),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommended_credentials_match_the_did_document() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let dora = relay.create_account("dora").await;
    let (status, body) = relay
        .get(
            "com.atproto.identity.getRecommendedDidCredentials",
            "",
            Some(&dora.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let doc = plc_document(&relay, &dora.did).await;
    let parsed = identity::DidDocument::parse(&dora.did, &doc).unwrap();
    assert_eq!(
        body["verificationMethods"]["atproto"],
        parsed.signing_key().unwrap()
    );
    assert_eq!(
        body["alsoKnownAs"],
        json!([format!("at://{}", dora.handle)])
    );
    assert_eq!(
        body["rotationKeys"],
        json!([relay.state.secrets.plc_rotation_key.did_key()])
    );
    assert_eq!(
        body["services"],
        json!({"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": relay.url}})
    );
    let (status, _) = relay
        .get(
            "com.atproto.identity.getRecommendedDidCredentials",
            "",
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_did_and_identity() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let eve = relay.create_account("eve").await;
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveDid",
            &format!("did={}", eve.did),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["didDoc"], plc_document(&relay, &eve.did).await);
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveDid",
            "did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
            None,
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("DidNotFound")));

    for identifier in [eve.did.as_str(), eve.handle.as_str()] {
        let (status, body) = relay
            .get(
                "com.atproto.identity.resolveIdentity",
                &format!("identifier={identifier}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["did"].as_str(), body["handle"].as_str()),
            (Some(eve.did.as_str()), Some(eve.handle.as_str()))
        );
    }
    let (status, body) = relay
        .post(
            "com.atproto.identity.refreshIdentity",
            &json!({"identifier": eve.handle}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["did"].as_str()),
        (200, Some(eve.did.as_str()))
    );
    let (status, body) = relay
        .get(
            "com.atproto.identity.resolveIdentity",
            "identifier=nobody123.test",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("HandleNotFound"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawlers_are_asked_to_crawl_at_start() {
    // A stand-in for a network relay that records what it is asked.
    let asked: Arc<Mutex<Vec<Json>>> = Arc::default();
    let record = asked.clone();
    let app = axum::Router::new().route(
        "/xrpc/com.atproto.sync.requestCrawl",
        axum::routing::post(move |axum::Json(body): axum::Json<Json>| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(body);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let crawler = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let relay = TestRelay::start_with_plc("http://localhost:9", &["--crawlers", &crawler]).await;
    let task = relay::crawlers::spawn(relay.state.clone())
        .unwrap()
        .expect("a crawler is configured");
    for _ in 0..100 {
        if !asked.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        *asked.lock().unwrap(),
        vec![json!({"hostname": "localhost"})]
    );
    task.abort();
}

/// A did:web naming a literal address must not make the relay connect there outside dev mode:
/// such a URL never goes through the guarded DNS resolver (SSRF through resolveDid, which
/// anyone may call). The listener counts connection attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_web_documents_are_not_fetched_from_private_addresses() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    // 2130706433 is 127.0.0.1 written as one number, which URL parsing accepts.
    let dids = [
        format!("did:web:127.0.0.1%3A{port}"),
        format!("did:web:2130706433%3A{port}"),
    ];

    let guarded = relay::resolver::HandleResolver::new(Vec::new(), false).unwrap();
    for did in &dids {
        assert!(guarded.did_web_document(did).await.is_err(), "{did}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection made");

    // The same lookups in dev mode do connect (so the count above means something).
    let open = relay::resolver::HandleResolver::new(Vec::new(), true).unwrap();
    for did in &dids {
        let _ = open.did_web_document(did).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(connections.load(Ordering::SeqCst) >= 2);
}
