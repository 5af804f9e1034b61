//! `com.atproto.sync` over real HTTP: repo exports (whole and `since`), record proofs (present
//! and absent), blocks, the latest commit, repo status and listing, blobs with their safety
//! headers, and how inactive or unknown accounts are refused. Every CAR is checked with the
//! repo engine against the signing key the account's DID document names.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Auth, TestAccount, TestRelay};
use data::Cid;
use repo::car::{read_car, CarLimits, CarReader};
use repo::{import_car, verify_record_proof, ImportOptions, RecordProof};
use serde_json::{json, Value as Json};
use store::{AccountStatus, Store};

const POST: &str = "app.bsky.feed.post";
const CAR: &str = "application/vnd.ipld.car";

fn post(text: &str) -> Json {
    json!({"$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"})
}

/// Creates a post; returns (rkey, record CID).
async fn create_post(relay: &TestRelay, who: &TestAccount, text: &str) -> (String, Cid) {
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": who.did, "collection": POST, "record": post(text)}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rkey = body["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (rkey, body["cid"].as_str().unwrap().parse().unwrap())
}

async fn delete_post(relay: &TestRelay, who: &TestAccount, rkey: &str) {
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": who.did, "collection": POST, "rkey": rkey}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn latest_commit(relay: &TestRelay, did: &str) -> (Cid, String) {
    let (status, body) = relay
        .get(
            "com.atproto.sync.getLatestCommit",
            &format!("did={did}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["cid"].as_str().unwrap().parse().unwrap(),
        body["rev"].as_str().unwrap().to_owned(),
    )
}

fn error_of(body: &[u8]) -> (String, String) {
    let json: Json = serde_json::from_slice(body).expect("an XRPC error body");
    (
        json["error"].as_str().unwrap_or_default().to_owned(),
        json["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_repo_exports_the_whole_repo_and_since_exports_the_rest() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let key = relay.signing_key(&alice.did).await;
    let mut expected: HashMap<String, Cid> = HashMap::new();
    for i in 0..5 {
        let (rkey, cid) = create_post(&relay, &alice, &format!("post {i}")).await;
        expected.insert(format!("{POST}/{rkey}"), cid);
    }
    let (head, rev) = latest_commit(&relay, &alice.did).await;

    let (status, headers, car) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={}", alice.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], CAR);
    let verified = import_car(
        &car,
        &ImportOptions {
            did: Some(&alice.did),
            key: Some(&key),
            ..Default::default()
        },
    )
    .expect("the export verifies");
    assert_eq!(verified.commit_cid, head);
    assert_eq!(verified.commit.rev().to_string(), rev);
    assert!(verified.missing_records.is_empty());
    let records: HashMap<String, Cid> = verified.records.into_iter().collect();
    assert_eq!(records, expected);
    // The head commit is the first block, as a streaming reader wants it.
    let mut reader = CarReader::new(car.as_slice(), CarLimits::default()).unwrap();
    assert_eq!(reader.roots(), &[head]);
    assert_eq!(reader.next_block().unwrap().unwrap().0, head);

    // Later writes: two posts and a delete. `since` holds their blocks and none of the old
    // records', under the new head.
    let mut newer = Vec::new();
    for i in 0..2 {
        newer.push(create_post(&relay, &alice, &format!("later {i}")).await.1);
    }
    let (gone, _) = create_post(&relay, &alice, "short-lived").await;
    delete_post(&relay, &alice, &gone).await;
    let (new_head, _) = latest_commit(&relay, &alice.did).await;
    let (status, _, diff) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={}&since={rev}", alice.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    let diff = read_car(&diff, CarLimits::default()).expect("a CAR");
    assert_eq!(diff.roots, vec![new_head]);
    let cids: HashSet<Cid> = diff.blocks.iter().map(|(cid, _)| *cid).collect();
    assert!(cids.contains(&new_head));
    for cid in &newer {
        assert!(
            cids.contains(cid),
            "a record written after `since` is in the diff"
        );
    }
    for cid in expected.values() {
        assert!(
            !cids.contains(cid),
            "a record older than `since` is not in the diff"
        );
    }
    assert!(diff.blocks.len() < verified.blocks.len() + 10);

    // A `since` that is not a TID is a bad request, not a failure.
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={}&since=yesterday", alice.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, "InvalidRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_record_proves_presence_and_absence() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let bob = relay.create_account("bob").await;
    let key = relay.signing_key(&bob.did).await;
    let mut posts = Vec::new();
    for i in 0..20 {
        posts.push(create_post(&relay, &bob, &format!("post {i}")).await);
    }
    for (rkey, cid) in [&posts[0], &posts[7], &posts[19]] {
        let (status, headers, car) = relay
            .get_raw(
                "com.atproto.sync.getRecord",
                &format!("did={}&collection={POST}&rkey={rkey}", bob.did),
                Auth::None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], CAR);
        let shown =
            verify_record_proof(&car, &bob.did, &key, POST, rkey).expect("the proof verifies");
        assert_eq!(shown, RecordProof::Present(*cid));
    }
    // An rkey that was never written, and one that was deleted: proofs of absence.
    delete_post(&relay, &bob, &posts[3].0).await;
    for rkey in ["3zzzzzzzzzzzz", posts[3].0.as_str()] {
        let (status, _, car) = relay
            .get_raw(
                "com.atproto.sync.getRecord",
                &format!("did={}&collection={POST}&rkey={rkey}", bob.did),
                Auth::None,
            )
            .await;
        assert_eq!(status, 200);
        let shown =
            verify_record_proof(&car, &bob.did, &key, POST, rkey).expect("the proof verifies");
        assert_eq!(shown, RecordProof::Absent);
    }
    // A proof checked against another key fails.
    let other = crypto::Keypair::generate(crypto::Algorithm::P256).public_key();
    let (_, _, car) = relay
        .get_raw(
            "com.atproto.sync.getRecord",
            &format!("did={}&collection={POST}&rkey={}", bob.did, posts[0].0),
            Auth::None,
        )
        .await;
    assert!(verify_record_proof(&car, &bob.did, &other, POST, &posts[0].0).is_err());
    // A bad record key is a bad request.
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getRecord",
            &format!("did={}&collection={POST}&rkey=a/b", bob.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_blocks_returns_the_blocks_or_names_the_missing_ones() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let carol = relay.create_account("carol").await;
    let (_, first) = create_post(&relay, &carol, "one").await;
    let (_, second) = create_post(&relay, &carol, "two").await;
    let (head, _) = latest_commit(&relay, &carol.did).await;
    let (status, headers, car) = relay
        .get_raw(
            "com.atproto.sync.getBlocks",
            &format!("did={}&cids={first}&cids={second}&cids={head}", carol.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], CAR);
    let car = read_car(&car, CarLimits::default()).expect("a CAR whose blocks hash to their CIDs");
    assert!(car.roots.is_empty());
    let cids: Vec<Cid> = car.blocks.iter().map(|(cid, _)| *cid).collect();
    assert_eq!(cids, vec![first, second, head]);

    // One known and one unknown CID: BlockNotFound naming the unknown one.
    let bogus = Cid::for_dag_cbor(b"\xa1aa\x01");
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getBlocks",
            &format!("did={}&cids={first}&cids={bogus}", carol.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 400);
    let (error, message) = error_of(&body);
    assert_eq!(error, "BlockNotFound");
    assert!(
        message.contains(&bogus.to_string()) && !message.contains(&first.to_string()),
        "{message}"
    );
    // Another account's block is not this account's.
    let dave = relay.create_account("dave").await;
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getBlocks",
            &format!("did={}&cids={first}", dave.did),
            Auth::None,
        )
        .await;
    assert_eq!((status, error_of(&body).0.as_str()), (400, "BlockNotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_latest_commit_and_listing() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let mut accounts = Vec::new();
    for name in ["erin", "frank", "grace"] {
        accounts.push(relay.create_account(name).await);
    }
    create_post(&relay, &accounts[0], "hello").await;
    let (head, rev) = latest_commit(&relay, &accounts[0].did).await;
    let (status, body) = relay
        .get(
            "com.atproto.sync.getRepoStatus",
            &format!("did={}", accounts[0].did),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"did": accounts[0].did, "active": true, "rev": rev})
    );

    // Paging one at a time covers every account exactly once; the last page has no cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let query = match &cursor {
            Some(c) => format!("limit=1&cursor={c}"),
            None => "limit=1".to_owned(),
        };
        let (status, body) = relay.get("com.atproto.sync.listRepos", &query, None).await;
        assert_eq!(status, 200, "{body}");
        for repo in body["repos"].as_array().unwrap() {
            assert_eq!(repo["active"], true);
            let (h, r) = latest_commit(&relay, repo["did"].as_str().unwrap()).await;
            assert_eq!(repo["head"], h.to_string());
            assert_eq!(repo["rev"], r);
            seen.push(repo["did"].as_str().unwrap().to_owned());
        }
        match body["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected: Vec<String> = accounts.iter().map(|a| a.did.clone()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    let (_, body) = relay.get("com.atproto.sync.listRepos", "", None).await;
    assert_eq!(body["repos"].as_array().unwrap().len(), 3);
    assert!(body.get("cursor").is_none());
    assert!(body["repos"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["head"] == head.to_string()));
    let (status, _) = relay
        .get("com.atproto.sync.listRepos", "limit=0", None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_and_unknown_repos_are_refused() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let henry = relay.create_account("henry").await;
    let (rkey, _) = create_post(&relay, &henry, "hi").await;
    let did = henry.did.clone();
    let reads = [
        ("com.atproto.sync.getRepo", format!("did={did}")),
        ("com.atproto.sync.getLatestCommit", format!("did={did}")),
        (
            "com.atproto.sync.getRecord",
            format!("did={did}&collection={POST}&rkey={rkey}"),
        ),
        ("com.atproto.sync.listBlobs", format!("did={did}")),
    ];

    relay
        .state
        .store
        .set_account_status(&did, AccountStatus::Deactivated)
        .await
        .unwrap();
    for (nsid, query) in &reads {
        let (status, _, body) = relay.get_raw(nsid, query, Auth::None).await;
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (400, "RepoDeactivated"),
            "{nsid}"
        );
        // The account itself still reads its own repo.
        let (status, _, _) = relay
            .get_raw(nsid, query, Auth::Bearer(&henry.access_jwt))
            .await;
        assert_eq!(status, 200, "{nsid} as the owner");
    }
    let (status, body) = relay
        .get(
            "com.atproto.sync.getRepoStatus",
            &format!("did={did}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"did": did, "active": false, "status": "deactivated"})
    );

    relay
        .state
        .store
        .set_account_status(&did, AccountStatus::Takendown)
        .await
        .unwrap();
    for (nsid, query) in &reads {
        let (status, _, body) = relay.get_raw(nsid, query, Auth::None).await;
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (400, "RepoTakendown"),
            "{nsid}"
        );
        let (status, _, _) = relay.get_raw(nsid, query, Auth::Admin).await;
        assert_eq!(status, 200, "{nsid} as the admin");
    }
    let (_, body) = relay
        .get(
            "com.atproto.sync.getRepoStatus",
            &format!("did={did}"),
            None,
        )
        .await;
    assert_eq!(body["status"], "takendown");
    // listRepos still names it, inactive.
    let (_, body) = relay.get("com.atproto.sync.listRepos", "", None).await;
    let listed = &body["repos"].as_array().unwrap()[0];
    assert_eq!(
        (listed["active"].clone(), listed["status"].clone()),
        (json!(false), json!("takendown"))
    );

    let unknown = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    for nsid in [
        "com.atproto.sync.getRepo",
        "com.atproto.sync.getRepoStatus",
        "com.atproto.sync.getLatestCommit",
    ] {
        let (status, _, body) = relay
            .get_raw(nsid, &format!("did={unknown}"), Auth::None)
            .await;
        let (error, message) = error_of(&body);
        assert_eq!((status, error.as_str()), (400, "RepoNotFound"), "{nsid}");
        assert!(message.contains(unknown), "{message}");
    }
    // A bad token is refused rather than ignored.
    let (status, _, _) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={did}"),
            Auth::Bearer("not-a-token"),
        )
        .await;
    assert!(status == 400 || status == 401, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_listed_and_served_byte_exact_with_safe_headers() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let ivy = relay.create_account("ivy").await;
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i * 7 % 251) as u8));
    let (status, body) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            bytes.clone(),
            Some(&ivy.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let blob = body["blob"].clone();
    let cid = blob["ref"]["$link"].as_str().unwrap().to_owned();

    // Uploaded but not referenced: not listed, not served.
    let (_, listed) = relay
        .get(
            "com.atproto.sync.listBlobs",
            &format!("did={}", ivy.did),
            None,
        )
        .await;
    assert_eq!(listed["cids"], json!([]));
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={cid}", ivy.did),
            Auth::None,
        )
        .await;
    assert_eq!((status, error_of(&body).0.as_str()), (400, "BlobNotFound"));

    let record = json!({
        "$type": POST,
        "text": "look",
        "createdAt": "2026-11-25T12:00:00.000Z",
        "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "a picture"}]},
    });
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": ivy.did, "collection": POST, "record": record}),
            Some(&ivy.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (_, listed) = relay
        .get(
            "com.atproto.sync.listBlobs",
            &format!("did={}", ivy.did),
            None,
        )
        .await;
    assert_eq!(listed["cids"], json!([cid]));
    assert!(listed.get("cursor").is_none());

    let (status, headers, body) = relay
        .get_raw(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={cid}", ivy.did),
            Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["content-length"], bytes.len().to_string());
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );

    // Unknown blob; a blob of another account.
    let other = Cid::for_raw(b"nothing");
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={other}", ivy.did),
            Auth::None,
        )
        .await;
    assert_eq!((status, error_of(&body).0.as_str()), (400, "BlobNotFound"));
    let jack = relay.create_account("jack").await;
    let (status, _, body) = relay
        .get_raw(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={cid}", jack.did),
            Auth::None,
        )
        .await;
    assert_eq!((status, error_of(&body).0.as_str()), (400, "BlobNotFound"));
}
