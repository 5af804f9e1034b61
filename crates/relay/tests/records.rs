//! Record writes and reads over real HTTP: createRecord, putRecord, deleteRecord, applyWrites,
//! getRecord, listRecords, describeRepo, the validate modes, swaps, limits, account checks, the
//! `Atproto-Repo-Rev` header, and preferences.

mod common;

use common::{TestAccount, TestRelay};
use serde_json::{json, Value as Json};

const POST: &str = "app.bsky.feed.post";

fn post(text: &str) -> Json {
    json!({"$type": POST, "text": text, "createdAt": "2026-11-25T12:00:00.000Z"})
}

async fn create(relay: &TestRelay, who: &TestAccount, body: Json) -> (u16, Json) {
    relay
        .post(
            "com.atproto.repo.createRecord",
            &body,
            Some(&who.access_jwt),
        )
        .await
}

async fn create_post(relay: &TestRelay, who: &TestAccount, text: &str) -> Json {
    let (status, body) = create(
        relay,
        who,
        json!({"repo": who.did, "collection": POST, "record": post(text)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A TID record key (posts take only TIDs), distinct per `n`.
fn tid(n: u64) -> String {
    syntax::Tid::from_parts(1_700_000_000_000_000 + n, 0)
        .unwrap()
        .to_string()
}

fn rkey_of(uri: &str) -> String {
    uri.rsplit('/').next().expect("a uri").to_owned()
}

fn assert_error(status: u16, body: &Json, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
}

async fn get_record(relay: &TestRelay, did: &str, collection: &str, rkey: &str) -> (u16, Json) {
    relay
        .get(
            "com.atproto.repo.getRecord",
            &format!("repo={did}&collection={collection}&rkey={rkey}"),
            None,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_list_delete() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;

    // createRecord without rkey: a TID key, the commit, validationStatus, and the rev header.
    let (status, headers, created) = relay
        .post_with_headers(
            "com.atproto.repo.createRecord",
            &json!({"repo": alice.did, "collection": POST, "record": post("hello")}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let uri = created["uri"].as_str().unwrap();
    let rkey = rkey_of(uri);
    assert_eq!(uri, format!("at://{}/{POST}/{rkey}", alice.did));
    syntax::validate_tid(&rkey).expect("a TID rkey");
    assert!(created["cid"].as_str().unwrap().starts_with("bafyrei"));
    assert_eq!(created["validationStatus"], "valid");
    let rev = created["commit"]["rev"].as_str().unwrap();
    assert!(created["commit"]["cid"]
        .as_str()
        .unwrap()
        .starts_with("bafyrei"));
    assert_eq!(headers["atproto-repo-rev"].to_str().unwrap(), rev);
    // The CID is that of the record's DAG-CBOR.
    let value = data::json::from_json(&post("hello")).unwrap();
    assert_eq!(
        created["cid"],
        data::Cid::for_dag_cbor(&data::cbor::encode(&value)).to_string()
    );

    // getRecord: by DID and by handle; with the right and a wrong cid.
    let (status, got) = get_record(&relay, &alice.did, POST, &rkey).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["uri"], uri);
    assert_eq!(got["cid"], created["cid"]);
    assert_eq!(got["value"], post("hello"));
    let (status, by_handle) = get_record(&relay, &alice.handle, POST, &rkey).await;
    assert_eq!(status, 200, "{by_handle}");
    assert_eq!(by_handle["uri"], uri, "the uri names the DID");
    let q = format!(
        "repo={}&collection={POST}&rkey={rkey}&cid={}",
        alice.did,
        created["cid"].as_str().unwrap()
    );
    assert_eq!(
        relay.get("com.atproto.repo.getRecord", &q, None).await.0,
        200
    );
    let other_cid = data::Cid::for_dag_cbor(b"\xa0").to_string();
    let q = format!(
        "repo={}&collection={POST}&rkey={rkey}&cid={other_cid}",
        alice.did
    );
    let (status, body) = relay.get("com.atproto.repo.getRecord", &q, None).await;
    assert_error(status, &body, 400, "RecordNotFound");
    let (status, body) = get_record(&relay, &alice.did, POST, "3zzzzzzzzzzzz").await;
    assert_error(status, &body, 400, "RecordNotFound");
    assert_eq!(
        body["message"],
        format!(
            "Could not locate record: at://{}/{POST}/3zzzzzzzzzzzz",
            alice.did
        )
    );

    // listRecords: newest first by default, pages by cursor, reverse ascends.
    let mut rkeys = vec![rkey.clone()];
    for i in 0..4 {
        rkeys.push(rkey_of(
            create_post(&relay, &alice, &format!("post {i}")).await["uri"]
                .as_str()
                .unwrap(),
        ));
    }
    let q = format!("repo={}&collection={POST}&limit=3", alice.did);
    let (status, page1) = relay.get("com.atproto.repo.listRecords", &q, None).await;
    assert_eq!(status, 200, "{page1}");
    let keys = |page: &Json| -> Vec<String> {
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| rkey_of(r["uri"].as_str().unwrap()))
            .collect()
    };
    let mut descending = rkeys.clone();
    descending.sort();
    descending.reverse();
    assert_eq!(keys(&page1), descending[..3]);
    assert_eq!(page1["cursor"], descending[2]);
    assert!(page1["records"][0]["cid"]
        .as_str()
        .unwrap()
        .starts_with("bafyrei"));
    assert_eq!(page1["records"][0]["value"]["$type"], POST);
    let q = format!(
        "repo={}&collection={POST}&limit=3&cursor={}",
        alice.did,
        page1["cursor"].as_str().unwrap()
    );
    let (_, page2) = relay.get("com.atproto.repo.listRecords", &q, None).await;
    assert_eq!(keys(&page2), descending[3..]);
    let q = format!("repo={}&collection={POST}&reverse=true", alice.did);
    let (_, ascending) = relay.get("com.atproto.repo.listRecords", &q, None).await;
    let mut sorted = rkeys.clone();
    sorted.sort();
    assert_eq!(keys(&ascending), sorted);
    let q = format!("repo={}&collection=app.bsky.feed.like", alice.did);
    let (status, empty) = relay.get("com.atproto.repo.listRecords", &q, None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["records"], json!([]));
    assert!(empty.get("cursor").is_none());
    for bad in ["limit=0", "limit=101"] {
        let q = format!("repo={}&collection={POST}&{bad}", alice.did);
        let (status, body) = relay.get("com.atproto.repo.listRecords", &q, None).await;
        assert_error(status, &body, 400, "InvalidRequest");
    }
    let (status, body) = relay
        .get(
            "com.atproto.repo.listRecords",
            &format!("repo=nobody.test&collection={POST}"),
            None,
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");

    // describeRepo.
    let (status, described) = relay
        .get(
            "com.atproto.repo.describeRepo",
            &format!("repo={}", alice.handle),
            None,
        )
        .await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["did"], alice.did);
    assert_eq!(described["handle"], alice.handle);
    assert_eq!(described["collections"], json!([POST]));
    assert_eq!(described["handleIsCorrect"], true);
    assert_eq!(described["didDoc"]["id"], alice.did);
    let (status, body) = relay
        .get(
            "com.atproto.repo.describeRepo",
            "repo=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
            None,
        )
        .await;
    assert_error(status, &body, 400, "RepoNotFound");

    // deleteRecord, then it is gone; deleting again is a no-op without a commit.
    let (status, headers, deleted) = relay
        .post_with_headers(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": alice.did, "collection": POST, "rkey": rkey}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    let rev = deleted["commit"]["rev"].as_str().unwrap();
    assert_eq!(headers["atproto-repo-rev"].to_str().unwrap(), rev);
    let (status, body) = get_record(&relay, &alice.did, POST, &rkey).await;
    assert_error(status, &body, 400, "RecordNotFound");
    let (status, again) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": alice.did, "collection": POST, "rkey": rkey}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert!(again.get("commit").is_none(), "{again}");

    // Every write reached the firehose as a #commit.
    let commits = relay
        .events_for(&alice.did)
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == "#commit")
        .count();
    assert!(commits >= 6, "{commits} commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_modes_and_bad_records() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let unknown = json!({"$type": "com.example.thing", "anything": {"goes": [1, "x"]}});
    let make = |record: &Json, validate: Option<bool>| {
        let mut body =
            json!({"repo": alice.did, "collection": "com.example.thing", "record": record});
        if let Some(v) = validate {
            body["validate"] = json!(v);
        }
        body
    };

    // Unknown collection: unset → unknown, false → no status, true → refused.
    let (status, body) = create(&relay, &alice, make(&unknown, None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["validationStatus"], "unknown");
    let (status, body) = create(&relay, &alice, make(&unknown, Some(false))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("validationStatus").is_none(), "{body}");
    let (status, body) = create(&relay, &alice, make(&unknown, Some(true))).await;
    assert_error(status, &body, 400, "InvalidRequest");
    assert_eq!(body["message"], "Unknown lexicon type: com.example.thing");

    // A known collection breaking its schema, in each mode.
    let bad_post = json!({"$type": POST, "text": 42, "createdAt": "2026-11-25T12:00:00.000Z"});
    let body = |validate: Option<bool>| {
        let mut b = json!({"repo": alice.did, "collection": POST, "record": bad_post});
        if let Some(v) = validate {
            b["validate"] = json!(v);
        }
        b
    };
    for validate in [None, Some(true)] {
        let (status, resp) = create(&relay, &alice, body(validate)).await;
        assert_error(status, &resp, 400, "InvalidRequest");
        assert!(
            resp["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid app.bsky.feed.post record:"),
            "{resp}"
        );
    }
    let (status, resp) = create(&relay, &alice, body(Some(false))).await;
    assert_eq!(status, 200, "validate=false skips the lexicon: {resp}");

    // $type: missing, or not the collection (even with validate=false).
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": POST, "record": {"text": "x", "createdAt": "2026-11-25T12:00:00.000Z"}}),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
    assert_eq!(resp["message"], "No $type provided");
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": POST, "validate": false, "record": {"$type": "app.bsky.feed.like"}}),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
    assert_eq!(
        resp["message"],
        "Invalid $type: expected app.bsky.feed.post, got app.bsky.feed.like"
    );

    // Floats anywhere, at any validate mode.
    for record in [
        json!({"$type": "com.example.thing", "x": 1.5}),
        json!({"$type": "com.example.thing", "x": {"y": [{"z": 0.25}]}}),
    ] {
        for validate in [None, Some(false)] {
            let (status, resp) = create(&relay, &alice, make(&record, validate)).await;
            assert_error(status, &resp, 400, "InvalidRequest");
        }
    }
    // A bad $link, a non-object record.
    let (status, resp) = create(
        &relay,
        &alice,
        make(
            &json!({"$type": "com.example.thing", "l": {"$link": "nope"}}),
            None,
        ),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": POST, "record": "text"}),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");

    // Malformed JSON, wrong JSON types, a missing field, the wrong content type.
    for raw in [
        &b"{not json"[..],
        br#"{"repo": 5, "collection": "app.bsky.feed.post", "record": {}}"#,
        br#"{"repo": "x.test", "record": {"$type": "app.bsky.feed.post"}}"#,
    ] {
        let (status, resp) = relay
            .post_bytes(
                "com.atproto.repo.createRecord",
                Some("application/json"),
                raw.to_vec(),
                Some(&alice.access_jwt),
            )
            .await;
        assert_error(status, &resp, 400, "InvalidRequest");
    }
    let (status, resp) = relay
        .post_bytes(
            "com.atproto.repo.createRecord",
            Some("text/plain"),
            serde_json::to_vec(&make(&unknown, None)).unwrap(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_error(status, &resp, 400, "InvalidRequest");

    // Bad record keys: syntax, and the schema's key type (a profile's key is `self`).
    for rkey in ["..", "a/b", "has space", ""] {
        let mut b = make(&unknown, None);
        b["rkey"] = json!(rkey);
        let (status, resp) = create(&relay, &alice, b).await;
        assert_error(status, &resp, 400, "InvalidRequest");
    }
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": "app.bsky.actor.profile", "rkey": "notself",
               "record": {"$type": "app.bsky.actor.profile", "displayName": "A"}}),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
    assert_eq!(
        resp["message"],
        "Invalid record key for app.bsky.actor.profile: Expected \"self\" (got \"notself\") at $"
    );
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": "app.bsky.actor.profile", "rkey": "self",
               "record": {"$type": "app.bsky.actor.profile", "displayName": "A"}}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");

    // A record over 1 MB as CBOR, and a create over an existing key.
    let big = "x".repeat(1_100_000);
    let (status, resp) = create(
        &relay,
        &alice,
        make(&json!({"$type": "com.example.thing", "big": big}), None),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
    let (status, resp) = create(
        &relay,
        &alice,
        json!({"repo": alice.did, "collection": "app.bsky.actor.profile", "rkey": "self",
               "record": {"$type": "app.bsky.actor.profile"}}),
    )
    .await;
    assert_error(status, &resp, 400, "InvalidRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_record_and_swaps() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let token = Some(alice.access_jwt.as_str());
    let (p1, p2, p3) = (tid(1), tid(2), tid(3));
    let put = |rkey: &str, record: Json| json!({"repo": alice.did, "collection": POST, "rkey": rkey, "record": record});

    // putRecord creates, then updates; the same record again is a no-op without a commit.
    let (status, first) = relay
        .post("com.atproto.repo.putRecord", &put(&p1, post("one")), token)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["validationStatus"], "valid");
    assert_eq!(first["uri"], format!("at://{}/{POST}/{p1}", alice.did));
    let (status, second) = relay
        .post("com.atproto.repo.putRecord", &put(&p1, post("two")), token)
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(first["cid"], second["cid"]);
    assert_eq!(
        get_record(&relay, &alice.did, POST, &p1).await.1["value"]["text"],
        "two"
    );
    let (status, headers, same) = relay
        .post_with_headers("com.atproto.repo.putRecord", &put(&p1, post("two")), token)
        .await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["cid"], second["cid"]);
    assert!(same.get("commit").is_none(), "{same}");
    assert_eq!(
        headers["atproto-repo-rev"].to_str().unwrap(),
        second["commit"]["rev"].as_str().unwrap()
    );

    // swapRecord: a stale CID, null for a record that exists, then the right CID.
    let mut stale = put(&p1, post("three"));
    stale["swapRecord"] = first["cid"].clone();
    let (status, body) = relay
        .post("com.atproto.repo.putRecord", &stale, token)
        .await;
    assert_error(status, &body, 400, "InvalidSwap");
    let mut must_not_exist = put(&p1, post("three"));
    must_not_exist["swapRecord"] = Json::Null;
    let (status, body) = relay
        .post("com.atproto.repo.putRecord", &must_not_exist, token)
        .await;
    assert_error(status, &body, 400, "InvalidSwap");
    let mut fresh = put(&p2, post("new"));
    fresh["swapRecord"] = Json::Null;
    let (status, body) = relay
        .post("com.atproto.repo.putRecord", &fresh, token)
        .await;
    assert_eq!(status, 200, "swapRecord null on a free key: {body}");
    let mut right = put(&p1, post("three"));
    right["swapRecord"] = second["cid"].clone();
    let (status, third) = relay
        .post("com.atproto.repo.putRecord", &right, token)
        .await;
    assert_eq!(status, 200, "{third}");

    // swapCommit: stale refused on every write method, current accepted.
    let stale_commit = first["commit"]["cid"].clone();
    let mut c = json!({"repo": alice.did, "collection": POST, "record": post("x"), "swapCommit": stale_commit});
    let (status, body) = create(&relay, &alice, c.clone()).await;
    assert_error(status, &body, 400, "InvalidSwap");
    let mut p = put(&p3, post("x"));
    p["swapCommit"] = stale_commit.clone();
    let (status, body) = relay.post("com.atproto.repo.putRecord", &p, token).await;
    assert_error(status, &body, 400, "InvalidSwap");
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": alice.did, "collection": POST, "rkey": p1, "swapCommit": stale_commit}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidSwap");
    let (status, body) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "swapCommit": stale_commit, "writes": [
                {"$type": "com.atproto.repo.applyWrites#delete", "collection": POST, "rkey": p1}]}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidSwap");
    let (_, head) = relay
        .get(
            "com.atproto.sync.getLatestCommit",
            &format!("did={}", alice.did),
            None,
        )
        .await;
    c["swapCommit"] = head["cid"].clone();
    let (status, body) = create(&relay, &alice, c).await;
    assert_eq!(status, 200, "current swapCommit: {body}");

    // deleteRecord's swapRecord.
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": alice.did, "collection": POST, "rkey": p1, "swapRecord": first["cid"]}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidSwap");
    let (status, body) = relay
        .post(
            "com.atproto.repo.deleteRecord",
            &json!({"repo": alice.did, "collection": POST, "rkey": p1, "swapRecord": third["cid"]}),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_record(&relay, &alice.did, POST, &p1).await;
    assert_error(status, &body, 400, "RecordNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_writes_batches() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let token = Some(alice.access_jwt.as_str());
    let (ka, kc, ke, kf, kg, kz) = (tid(1), tid(3), tid(5), tid(6), tid(7), tid(26));
    let create_op = |rkey: Option<&str>, record: Json| {
        let mut op = json!({"$type": "com.atproto.repo.applyWrites#create", "collection": POST, "value": record});
        if let Some(rkey) = rkey {
            op["rkey"] = json!(rkey);
        }
        op
    };

    let (status, headers, out) = relay
        .post_with_headers(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": [
                create_op(Some(&ka), post("a")),
                create_op(None, post("b")),
                create_op(Some(&kc), json!({"$type": POST, "text": "c", "createdAt": "2026-11-25T12:00:00.000Z"})),
            ]}),
            token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]["$type"],
        "com.atproto.repo.applyWrites#createResult"
    );
    assert_eq!(results[0]["uri"], format!("at://{}/{POST}/{ka}", alice.did));
    assert_eq!(results[0]["validationStatus"], "valid");
    syntax::validate_tid(&rkey_of(results[1]["uri"].as_str().unwrap())).unwrap();
    assert_eq!(
        headers["atproto-repo-rev"].to_str().unwrap(),
        out["commit"]["rev"].as_str().unwrap()
    );

    let (status, out) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": [
                {"$type": "com.atproto.repo.applyWrites#update", "collection": POST, "rkey": ka, "value": post("a2")},
                {"$type": "com.atproto.repo.applyWrites#delete", "collection": POST, "rkey": kc},
                {"$type": "com.atproto.repo.applyWrites#create", "collection": "com.example.other", "rkey": "d",
                 "value": {"$type": "com.example.other"}},
            ]}),
            token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let results = out["results"].as_array().unwrap();
    assert_eq!(
        results[0]["$type"],
        "com.atproto.repo.applyWrites#updateResult"
    );
    assert_eq!(
        results[1],
        json!({"$type": "com.atproto.repo.applyWrites#deleteResult"})
    );
    assert_eq!(results[2]["validationStatus"], "unknown");
    assert_eq!(
        get_record(&relay, &alice.did, POST, &ka).await.1["value"]["text"],
        "a2"
    );
    assert_eq!(get_record(&relay, &alice.did, POST, &kc).await.0, 400);

    // One invalid write fails the batch: nothing is written.
    let (status, body) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": [
                create_op(Some(&ke), post("e")),
                create_op(Some(&kf), json!({"$type": POST, "text": 1})),
            ]}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");
    assert_eq!(get_record(&relay, &alice.did, POST, &ke).await.0, 400);

    // Updating or creating against the tree's state, duplicate paths, unknown actions.
    for writes in [
        json!([{"$type": "com.atproto.repo.applyWrites#update", "collection": POST, "rkey": kz, "value": post("x")}]),
        json!([create_op(Some(&ka), post("again"))]),
        json!([
            create_op(Some(&kg), post("1")),
            create_op(Some(&kg), post("2"))
        ]),
        json!([{"$type": "com.atproto.repo.applyWrites#upsert", "collection": POST, "rkey": "h"}]),
    ] {
        let (status, body) = relay
            .post(
                "com.atproto.repo.applyWrites",
                &json!({"repo": alice.did, "writes": writes}),
                token,
            )
            .await;
        assert_error(status, &body, 400, "InvalidRequest");
    }

    // At most 200 writes per call.
    let writes: Vec<Json> = (0..201)
        .map(|i| create_op(Some(&tid(100 + i)), post("x")))
        .collect();
    let (status, body) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": writes}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");
    assert_eq!(body["message"], "Too many writes. Max: 200");
    let writes: Vec<Json> = (0..200)
        .map(|i| create_op(Some(&tid(100 + i)), post("x")))
        .collect();
    let (status, body) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": writes}),
            token,
        )
        .await;
    assert_eq!(status, 200, "200 writes are allowed: {}", body["message"]);

    // A commit whose blocks pass 2 MB: three records of ~0.9 MB.
    let big = "y".repeat(900_000);
    let writes: Vec<Json> = (0..3)
        .map(|i| {
            create_op(
                Some(&format!("big{i}")),
                json!({"$type": "com.example.big", "b": big}),
            )
        })
        .collect();
    let (status, body) = relay
        .post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": alice.did, "writes": writes}),
            token,
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_owner_and_an_active_account() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    let record = json!({"repo": alice.did, "collection": POST, "record": post("mine")});

    let (status, body) = relay
        .post("com.atproto.repo.createRecord", &record, None)
        .await;
    assert_error(status, &body, 401, "AuthMissing");
    let (status, body) = create(&relay, &bob, record.clone()).await;
    assert_error(status, &body, 401, "AuthenticationRequired");
    let (status, body) = relay
        .post(
            "com.atproto.repo.putRecord",
            &json!({"repo": alice.handle, "collection": POST, "rkey": "x", "record": post("x")}),
            Some(&bob.access_jwt),
        )
        .await;
    assert_error(status, &body, 401, "AuthenticationRequired");
    let (status, body) = create(
        &relay,
        &bob,
        json!({"repo": "nobody.test", "collection": POST, "record": post("x")}),
    )
    .await;
    assert_error(status, &body, 403, "AccountNotFound");
    // By handle works for the owner.
    let (status, body) = create(
        &relay,
        &alice,
        json!({"repo": alice.handle, "collection": POST, "rkey": tid(1), "record": post("x")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Deactivated: no writes, and no public reads of its records.
    use store::Store;
    relay
        .state
        .store
        .set_account_status(&alice.did, store::AccountStatus::Deactivated)
        .await
        .unwrap();
    let (status, body) = create(&relay, &alice, record.clone()).await;
    assert_error(status, &body, 401, "AccountDeactivated");
    let (status, body) = get_record(&relay, &alice.did, POST, &tid(1)).await;
    assert_error(status, &body, 400, "InvalidRequest");
    let (status, body) = relay
        .get(
            "com.atproto.repo.listRecords",
            &format!("repo={}&collection={POST}", alice.did),
            None,
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");
    let (status, body) = relay
        .get(
            "com.atproto.repo.describeRepo",
            &format!("repo={}", alice.did),
            None,
        )
        .await;
    assert_error(status, &body, 400, "RepoDeactivated");

    // Taken down: no writes either.
    relay
        .state
        .store
        .set_account_status(&alice.did, store::AccountStatus::Takendown)
        .await
        .unwrap();
    let (status, body) = create(&relay, &alice, record).await;
    assert_eq!(body["error"], "AccountTakedown", "{status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_carry_the_callers_rev() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let created = create_post(&relay, &alice, "x").await;
    let rev = created["commit"]["rev"].as_str().unwrap();
    let rkey = rkey_of(created["uri"].as_str().unwrap());
    let q = format!("repo={}&collection={POST}&rkey={rkey}", alice.did);
    let (status, headers, _) = relay
        .get_with_headers("com.atproto.repo.getRecord", &q, Some(&alice.access_jwt))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["atproto-repo-rev"].to_str().unwrap(), rev);
    let (_, headers, _) = relay
        .get_with_headers("com.atproto.repo.getRecord", &q, None)
        .await;
    assert!(
        headers.get("atproto-repo-rev").is_none(),
        "no session, no rev"
    );
    let (_, headers, _) = relay
        .get_with_headers("app.bsky.actor.getPreferences", "", Some(&alice.access_jwt))
        .await;
    assert_eq!(headers["atproto-repo-rev"].to_str().unwrap(), rev);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_round_trip() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let token = Some(alice.access_jwt.as_str());

    let (status, body) = relay.get("app.bsky.actor.getPreferences", "", token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"preferences": []}));
    let (status, body) = relay.get("app.bsky.actor.getPreferences", "", None).await;
    assert_error(status, &body, 401, "AuthMissing");

    let prefs = json!([
        {"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true},
        {"$type": "app.bsky.actor.defs#savedFeedsPrefV2", "items": [
            {"id": "3l6ovcmm3yp2a", "type": "timeline", "value": "following", "pinned": true}]},
        {"$type": "app.bsky.actor.defs#personalDetailsPref", "birthDate": "1990-05-17T00:00:00.000Z"},
    ]);
    let (status, body) = relay
        .post(
            "app.bsky.actor.putPreferences",
            &json!({"preferences": prefs}),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = relay.get("app.bsky.actor.getPreferences", "", token).await;
    let got = got["preferences"].as_array().unwrap().clone();
    assert_eq!(got[..3], prefs.as_array().unwrap()[..]);
    assert_eq!(
        got[3],
        json!({"$type": "app.bsky.actor.defs#declaredAgePref",
               "isOverAge13": true, "isOverAge16": true, "isOverAge18": true})
    );

    // Refused: another namespace, no $type, a schema violation, a float.
    for bad in [
        json!([{"$type": "com.atproto.server.defs#somePref"}]),
        json!([{"enabled": true}]),
        json!([{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": "yes"}]),
        json!([{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true, "x": 1.5}]),
    ] {
        let (status, body) = relay
            .post(
                "app.bsky.actor.putPreferences",
                &json!({"preferences": bad}),
                token,
            )
            .await;
        assert_error(status, &body, 400, "InvalidRequest");
    }
    let (_, still) = relay.get("app.bsky.actor.getPreferences", "", token).await;
    assert_eq!(
        still["preferences"].as_array().unwrap().len(),
        4,
        "unchanged"
    );

    // An app-password session neither sees nor replaces the personal details.
    let (status, app) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({"name": "prefs-test"}),
            token,
        )
        .await;
    assert_eq!(status, 200, "{app}");
    let (status, session) = relay
        .login(&alice.handle, app["password"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{session}");
    let app_token = session["accessJwt"].as_str().unwrap().to_owned();
    let (_, seen) = relay
        .get("app.bsky.actor.getPreferences", "", Some(&app_token))
        .await;
    let types: Vec<&str> = seen["preferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["$type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"app.bsky.actor.defs#personalDetailsPref"),
        "{types:?}"
    );
    let (status, body) = relay
        .post(
            "app.bsky.actor.putPreferences",
            &json!({"preferences": [{"$type": "app.bsky.actor.defs#personalDetailsPref", "birthDate": "2000-01-01T00:00:00.000Z"}]}),
            Some(&app_token),
        )
        .await;
    assert_error(status, &body, 400, "InvalidRequest");
    let (status, body) = relay
        .post(
            "app.bsky.actor.putPreferences",
            &json!({"preferences": [{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": false}]}),
            Some(&app_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, full) = relay.get("app.bsky.actor.getPreferences", "", token).await;
    let full = full["preferences"].as_array().unwrap();
    assert!(
        full.contains(&json!({"$type": "app.bsky.actor.defs#adultContentPref", "enabled": false}))
    );
    assert!(full
        .iter()
        .any(|p| p["$type"] == "app.bsky.actor.defs#personalDetailsPref"));
    assert!(!full
        .iter()
        .any(|p| p["$type"] == "app.bsky.actor.defs#savedFeedsPrefV2"));
}

/// putRecord creates or updates, whichever the repo holds when its commit is built: calls that
/// race on the same key all succeed (none fails with "Record already exists" because another
/// created the key after it looked), and the firehose names one create, then updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_put_records_on_one_key_all_succeed() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let rkey = tid(42);
    let bodies: Vec<Json> = (0..8)
        .map(|i| json!({"repo": alice.did, "collection": POST, "rkey": rkey, "record": post(&format!("v{i}"))}))
        .collect();
    let puts = bodies
        .iter()
        .map(|body| relay.post("com.atproto.repo.putRecord", body, Some(&alice.access_jwt)));
    let answers = futures_util::future::join_all(puts).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let (status, body) = get_record(&relay, &alice.did, POST, &rkey).await;
    assert_eq!(status, 200, "{body}");
    assert!(answers.iter().any(|(_, a)| a["cid"] == body["cid"]));

    let path = format!("{POST}/{rkey}");
    let actions: Vec<String> = relay
        .events_for(&alice.did)
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == "#commit")
        .flat_map(|(_, _, body)| body["ops"].as_array().cloned().unwrap_or_default())
        .filter(|op| op["path"] == path.as_str())
        .map(|op| op["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(actions.first().map(String::as_str), Some("create"));
    assert!(actions[1..].iter().all(|a| a == "update"), "{actions:?}");
}

/// Deleting a record that is already gone is a no-op, also when the other delete won a race:
/// concurrent deleteRecords of one record all succeed, and exactly one of them commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deletes_of_one_record_all_succeed() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let created = create_post(&relay, &alice, "short-lived").await;
    let rkey = rkey_of(created["uri"].as_str().unwrap());
    let body = json!({"repo": alice.did, "collection": POST, "rkey": rkey});
    let deletes = (0..6).map(|_| {
        relay.post(
            "com.atproto.repo.deleteRecord",
            &body,
            Some(&alice.access_jwt),
        )
    });
    let answers = futures_util::future::join_all(deletes).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let commits = answers
        .iter()
        .filter(|(_, body)| body.get("commit").is_some())
        .count();
    assert_eq!(commits, 1, "{answers:?}");
    let (status, body) = get_record(&relay, &alice.did, POST, &rkey).await;
    assert_error(status, &body, 400, "RecordNotFound");
}
