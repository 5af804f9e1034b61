//! Pipelined commits of one account: many concurrent writes, each acknowledged only once
//! durable, chained in order in the repo and on the firehose.

mod common;

use std::collections::HashSet;

use common::TestRelay;
use data::{Cid, Value};
use repo::car::{read_car, CarLimits};
use repo::{import_car, ImportOptions};
use serde_json::{json, Value as Json};
use store::Store;

const POST: &str = "app.bsky.feed.post";

fn field<'a>(body: &'a Value, key: &str) -> &'a Value {
    match body {
        Value::Map(m) => m.get(key).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

fn link(value: &Value) -> Option<Cid> {
    match value {
        Value::Link(cid) => Some(*cid),
        _ => None,
    }
}

/// (seq, commit CID, rev, since, prevData, the commit's data CID) of each `#commit` of `did`.
type CommitEvent = (i64, Cid, String, Option<String>, Option<Cid>, Cid);

async fn commit_events(relay: &TestRelay, did: &str) -> Vec<CommitEvent> {
    let events = relay.state.store.events_after(0, 100_000).await.unwrap();
    let mut out = Vec::new();
    for event in events {
        let (header, used) = data::cbor::decode_prefix(&event.frame).unwrap();
        if field(&header, "t").as_str() != Some("#commit") {
            continue;
        }
        let body = data::cbor::decode(&event.frame[used..]).unwrap();
        if field(&body, "repo").as_str() != Some(did) {
            continue;
        }
        let commit = link(field(&body, "commit")).expect("a commit CID");
        let Value::Bytes(blocks) = field(&body, "blocks") else {
            panic!("blocks are bytes");
        };
        let car = read_car(blocks, CarLimits::default()).expect("the blocks are a CAR");
        let (_, commit_bytes) = car
            .blocks
            .iter()
            .find(|(cid, _)| *cid == commit)
            .expect("the commit block is in the event");
        let commit_block = data::cbor::decode(commit_bytes).unwrap();
        out.push((
            event.seq,
            commit,
            field(&body, "rev").as_str().unwrap().to_owned(),
            field(&body, "since").as_str().map(str::to_owned),
            link(field(&body, "prevData")),
            link(field(&commit_block, "data")).expect("the commit's data"),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_one_account_are_pipelined_in_order() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    const N: usize = 64;

    let mut tasks = Vec::new();
    for i in 0..N {
        let http = relay.http.clone();
        let url = relay.xrpc_url("com.atproto.repo.createRecord");
        let token = alice.access_jwt.clone();
        let body = json!({
            "repo": alice.did,
            "collection": POST,
            "record": {"$type": POST, "text": format!("post {i}"), "createdAt": "2026-11-25T12:00:00.000Z"},
        });
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Json>().await.unwrap())
        }));
    }
    let mut revs = HashSet::new();
    let mut uris = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(revs.insert(body["commit"]["rev"].as_str().unwrap().to_owned()));
        assert!(uris.insert(body["uri"].as_str().unwrap().to_owned()));
    }
    assert_eq!(revs.len(), N);

    // Every record is listed.
    let (status, listed) = relay
        .get(
            "com.atproto.repo.listRecords",
            &format!("repo={}&collection={POST}&limit=100", alice.did),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let listed: HashSet<String> = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, uris);

    // The firehose has the account's first commit and then the 64, in seq order, each built
    // on the one before (since = the previous rev, prevData = the previous data root).
    let commits = commit_events(&relay, &alice.did).await;
    assert_eq!(commits.len(), N + 1);
    for pair in commits.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        assert!(prev.0 < next.0, "seq order");
        assert!(prev.2 < next.2, "revs increase with seq");
        assert_eq!(next.3.as_deref(), Some(prev.2.as_str()), "since");
        assert_eq!(next.4, Some(prev.5), "prevData");
    }
    let acked: HashSet<String> = commits[1..].iter().map(|c| c.2.clone()).collect();
    assert_eq!(acked, revs);

    // The exported repo verifies, at the last commit, with all 64 records.
    let head = relay
        .state
        .store
        .repo_head(&alice.did)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.cid, commits[N].1);
    let key = relay.signing_key(&alice.did).await;
    let (status, _, car) = relay
        .get_raw(
            "com.atproto.sync.getRepo",
            &format!("did={}", alice.did),
            common::Auth::None,
        )
        .await;
    assert_eq!(status, 200);
    let verified = import_car(
        &car,
        &ImportOptions {
            did: Some(&alice.did),
            key: Some(&key),
            ..Default::default()
        },
    )
    .expect("the export verifies");
    assert_eq!(verified.commit_cid, head.cid);
    assert_eq!(verified.records.len(), N);
    assert!(verified.missing_records.is_empty());
}
