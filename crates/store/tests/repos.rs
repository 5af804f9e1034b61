//! Blocks, heads, the record index, and the repo engine over `AccountBlocks`.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{account, block, engine_write, hand_commit, store};
use data::{Cid, Map, Value};
use repo::{Repo, WriteOp};
use store::{AccountBlocks, RepoHead, Store, StoreError};
use syntax::TidGenerator;

const POST: &str = "app.bsky.feed.post";
const LIKE: &str = "app.bsky.feed.like";

#[tokio::test]
async fn apply_commit_moves_the_head_with_compare_and_swap() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;

    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![])],
        vec![],
    );
    let seq1 = s.apply_commit(c1.write.clone()).await.unwrap();
    assert!(seq1.is_some());
    assert_eq!(
        s.repo_head("did:plc:alice").await.unwrap(),
        Some(RepoHead {
            cid: c1.head,
            rev: "3kaaaaaaaaa22".into()
        })
    );

    // Replaying the first commit (prev None) conflicts: the head is no longer None.
    let err = s.apply_commit(c1.write.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::HeadConflict), "{err:?}");

    // A commit built on a stale head conflicts and changes nothing.
    let stale = hand_commit(
        "did:plc:alice",
        Some(block("something else").0),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), vec![])],
        vec![],
    );
    let err = s.apply_commit(stale.write).await.unwrap_err();
    assert!(matches!(err, StoreError::HeadConflict), "{err:?}");
    assert!(s
        .get_record("did:plc:alice", POST, "b")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .get_block("did:plc:alice", &stale.head)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.repo_head("did:plc:alice").await.unwrap().unwrap().cid,
        c1.head
    );

    let c2 = hand_commit(
        "did:plc:alice",
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), vec![])],
        vec![],
    );
    let seq2 = s.apply_commit(c2.write).await.unwrap();
    assert!(seq2 > seq1);
    assert_eq!(
        s.repo_head("did:plc:alice").await.unwrap().unwrap().cid,
        c2.head
    );
    // The previous commit block was dropped, the new one stored.
    assert!(s
        .get_block("did:plc:alice", &c1.head)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .get_block("did:plc:alice", &c2.head)
        .await
        .unwrap()
        .is_some());

    // Unknown account.
    let nobody = hand_commit("did:plc:nobody", None, "3kaaaaaaaaa22", &[], vec![]);
    let err = s.apply_commit(nobody.write).await.unwrap_err();
    assert!(matches!(err, StoreError::AccountNotFound), "{err:?}");

    // A write without an event is applied and not sequenced.
    let mut c3 = hand_commit("did:plc:alice", Some(c2.head), "3kaaaaaaaaa44", &[], vec![]);
    c3.write.event = None;
    assert_eq!(s.apply_commit(c3.write).await.unwrap(), None);
    assert_eq!(s.last_seq().await.unwrap(), seq2.unwrap());
}

#[tokio::test]
async fn blocks_get_many_all_and_since() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    account(&s, "did:plc:bob", "bob.test").await;

    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![])],
        vec![],
    );
    s.apply_commit(c1.write.clone()).await.unwrap();
    let c2 = hand_commit(
        "did:plc:alice",
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), vec![])],
        vec![],
    );
    s.apply_commit(c2.write.clone()).await.unwrap();
    let c3 = hand_commit(
        "did:plc:alice",
        Some(c2.head),
        "3kaaaaaaaaa44",
        &[
            (POST, "c", Some("three"), vec![]),
            (LIKE, "x", Some("like"), vec![]),
        ],
        vec![],
    );
    s.apply_commit(c3.write.clone()).await.unwrap();

    let (one, one_bytes) = block("one");
    let (two, _) = block("two");
    let (three, _) = block("three");
    let (like, _) = block("like");
    let missing = block("never stored").0;

    assert_eq!(
        s.get_block("did:plc:alice", &one).await.unwrap(),
        Some(one_bytes.clone())
    );
    // Blocks are per account.
    assert_eq!(s.get_block("did:plc:bob", &one).await.unwrap(), None);

    let many = s
        .get_blocks("did:plc:alice", &[missing, one, three, one])
        .await
        .unwrap();
    assert_eq!(many.len(), 4);
    assert_eq!(many[0], None);
    assert_eq!(many[1], Some(one_bytes.clone()));
    assert_eq!(many[2], Some(block("three").1));
    assert_eq!(many[3], Some(one_bytes));
    assert!(s.get_blocks("did:plc:alice", &[]).await.unwrap().is_empty());

    let all: HashSet<Cid> = s
        .all_blocks("did:plc:alice")
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(all, HashSet::from([c3.head, one, two, three, like]));

    let since: HashSet<Cid> = s
        .blocks_since("did:plc:alice", "3kaaaaaaaaa22")
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(since, HashSet::from([c3.head, two, three, like]));
    let since: HashSet<Cid> = s
        .blocks_since("did:plc:alice", "3kaaaaaaaaa33")
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(since, HashSet::from([c3.head, three, like]));
    assert!(s
        .blocks_since("did:plc:alice", "3kaaaaaaaaa44")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn removed_record_block_survives_while_indexed_elsewhere() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    // Two paths hold the same record (same bytes, same CID).
    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[
            (POST, "a", Some("same"), vec![]),
            (POST, "b", Some("same"), vec![]),
        ],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    let (same, same_bytes) = block("same");

    // Deleting one path lists the block as removed; the other path still needs it.
    let c2 = hand_commit(
        "did:plc:alice",
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "a", None, vec![])],
        vec![same],
    );
    s.apply_commit(c2.write).await.unwrap();
    assert_eq!(
        s.get_block("did:plc:alice", &same).await.unwrap(),
        Some(same_bytes.clone())
    );
    let b = s
        .get_record("did:plc:alice", POST, "b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.cid, b.bytes), (same, same_bytes));
    assert!(s
        .get_record("did:plc:alice", POST, "a")
        .await
        .unwrap()
        .is_none());

    // Deleting the last path drops it.
    let c3 = hand_commit(
        "did:plc:alice",
        Some(c2.head),
        "3kaaaaaaaaa44",
        &[(POST, "b", None, vec![])],
        vec![same],
    );
    s.apply_commit(c3.write).await.unwrap();
    assert_eq!(s.get_block("did:plc:alice", &same).await.unwrap(), None);
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
}

#[tokio::test]
async fn update_replaces_the_index_entry() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("v1"), vec![])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    let c2 = hand_commit(
        "did:plc:alice",
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "a", Some("v2"), vec![])],
        vec![block("v1").0],
    );
    s.apply_commit(c2.write).await.unwrap();
    let rec = s
        .get_record("did:plc:alice", POST, "a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.cid, block("v2").0);
    assert_eq!(rec.bytes, block("v2").1);
    assert_eq!(
        s.get_block("did:plc:alice", &block("v1").0).await.unwrap(),
        None
    );
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 1);
}

#[tokio::test]
async fn list_records_cursor_and_reverse() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let rkeys = [
        "3k2aaaaaaaa22",
        "3k2aaaaaaaa33",
        "3k2aaaaaaaa44",
        "3k2aaaaaaaa55",
        "3k2aaaaaaaa66",
    ];
    let records: Vec<(&str, &str, Option<&str>, Vec<Cid>)> =
        rkeys.iter().map(|r| (POST, *r, Some(*r), vec![])).collect();
    let mut all = records.clone();
    all.push((LIKE, "3k2aaaaaaaa22", Some("like"), vec![]));
    all.push(("app.bsky.actor.profile", "self", Some("profile"), vec![]));
    let c1 = hand_commit("did:plc:alice", None, "3kaaaaaaaaa22", &all, vec![]);
    s.apply_commit(c1.write).await.unwrap();

    let keys = |v: Vec<store::StoredRecord>| v.into_iter().map(|r| r.rkey).collect::<Vec<_>>();

    // Default: newest (highest rkey) first.
    let page = s
        .list_records("did:plc:alice", POST, None, 2, false)
        .await
        .unwrap();
    assert_eq!(keys(page), vec!["3k2aaaaaaaa66", "3k2aaaaaaaa55"]);
    let page = s
        .list_records("did:plc:alice", POST, Some("3k2aaaaaaaa55"), 2, false)
        .await
        .unwrap();
    assert_eq!(keys(page), vec!["3k2aaaaaaaa44", "3k2aaaaaaaa33"]);
    let page = s
        .list_records("did:plc:alice", POST, Some("3k2aaaaaaaa33"), 2, false)
        .await
        .unwrap();
    assert_eq!(keys(page), vec!["3k2aaaaaaaa22"]);

    // Reverse: oldest first.
    let page = s
        .list_records("did:plc:alice", POST, None, 3, true)
        .await
        .unwrap();
    assert_eq!(
        keys(page),
        vec!["3k2aaaaaaaa22", "3k2aaaaaaaa33", "3k2aaaaaaaa44"]
    );
    let page = s
        .list_records("did:plc:alice", POST, Some("3k2aaaaaaaa44"), 3, true)
        .await
        .unwrap();
    assert_eq!(keys(page), vec!["3k2aaaaaaaa55", "3k2aaaaaaaa66"]);

    let page = s
        .list_records("did:plc:alice", POST, None, 100, true)
        .await
        .unwrap();
    assert_eq!(page.len(), 5);
    for r in &page {
        assert_eq!(r.collection, POST);
        assert_eq!(r.bytes, block(&r.rkey).1);
        assert_eq!(r.cid, block(&r.rkey).0);
    }
    assert!(s
        .list_records("did:plc:alice", "app.none", None, 10, false)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(
        s.list_collections("did:plc:alice").await.unwrap(),
        vec!["app.bsky.actor.profile", LIKE, POST]
    );
    assert!(s
        .list_collections("did:plc:nobody")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 7);
    let head = s.list_accounts(None, 10).await.unwrap()[0].1.clone();
    assert_eq!(head.unwrap().rev, "3kaaaaaaaaa22");
}

#[tokio::test]
async fn a_failing_commit_leaves_nothing() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let blob = Cid::for_raw(b"never uploaded");
    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![blob])],
        vec![],
    );
    let err = s.apply_commit(c1.write).await.unwrap_err();
    assert!(
        matches!(err, StoreError::BlobNotFound(c) if c == blob),
        "{err:?}"
    );
    assert_eq!(s.repo_head("did:plc:alice").await.unwrap(), None);
    assert!(s.all_blocks("did:plc:alice").await.unwrap().is_empty());
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
    assert_eq!(s.last_seq().await.unwrap(), 0);
}

fn post(text: &str) -> Value {
    let mut m = Map::new();
    m.insert("$type".into(), Value::String(POST.into()));
    m.insert("text".into(), Value::String(text.into()));
    m.insert(
        "createdAt".into(),
        Value::String("2026-11-25T00:00:00.000Z".into()),
    );
    Value::Map(m)
}

/// The repo engine writes through `apply_commit` and reads back through `AccountBlocks`.
#[tokio::test]
async fn repo_engine_round_trip() {
    let s = store().await;
    let did = "did:plc:engine";
    account(&s, did, "engine.test").await;
    let key = crypto::Keypair::generate(crypto::Algorithm::P256);
    let tids = TidGenerator::new();

    let mut repo = Repo::create(AccountBlocks::new(s.clone(), did), did).unwrap();
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut prev = None;
    for round in 0..6 {
        let mut writes = Vec::new();
        for i in 0..20 {
            let rkey = tids.next().unwrap().to_string();
            let record = post(&format!("round {round} post {i}"));
            expected.insert(rkey.clone(), data::cbor::encode(&record));
            writes.push(WriteOp::create(POST, rkey, &record));
        }
        if round > 0 {
            // Update one and delete one of the earlier records.
            let victims: Vec<String> = expected.keys().take(2).cloned().collect();
            let updated = post(&format!("updated in round {round}"));
            writes.push(WriteOp::update(POST, &victims[0], &updated));
            expected.insert(victims[0].clone(), data::cbor::encode(&updated));
            writes.push(WriteOp::delete(POST, &victims[1]));
            expected.remove(&victims[1]);
        }
        let rev = tids.next_above(repo.rev().as_ref()).unwrap();
        let commit = repo.apply_writes(&writes, rev, &key).await.unwrap();
        s.apply_commit(engine_write(did, prev, &commit))
            .await
            .unwrap();
        prev = Some(commit.cid);
    }

    // The record index agrees with the tree.
    assert_eq!(s.record_count(did).await.unwrap(), expected.len() as i64);
    let listed = s.list_records(did, POST, None, 1000, true).await.unwrap();
    let listed: BTreeMap<String, Vec<u8>> = listed.into_iter().map(|r| (r.rkey, r.bytes)).collect();
    assert_eq!(listed, expected);

    // Reopen from the stored head and read every record through the tree.
    let head = s.repo_head(did).await.unwrap().unwrap();
    assert_eq!(Some(head.cid), prev);
    let mut reopened = Repo::open(AccountBlocks::new(s.clone(), did), head.cid)
        .await
        .unwrap();
    assert_eq!(reopened.rev().unwrap().to_string(), head.rev);
    for (rkey, bytes) in &expected {
        let (_, got) = reopened.get_record(POST, rkey).await.unwrap().unwrap();
        assert_eq!(&got, bytes);
    }
    let tree_list = reopened
        .list_records(POST, None, 1000, false)
        .await
        .unwrap();
    assert_eq!(tree_list.len(), expected.len());

    // The stored blocks are exactly the current repo: a full export re-imports, and nothing
    // unreachable was left behind.
    let car = reopened.export_car().await.unwrap();
    let car = repo::car::read_car(&car, Default::default()).unwrap();
    assert_eq!(car.roots, vec![head.cid]);
    let exported: HashSet<Cid> = car.blocks.iter().map(|(c, _)| *c).collect();
    let stored: HashSet<Cid> = s
        .all_blocks(did)
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(exported, stored);

    // A further write on the reopened repo persists as well.
    let rev = tids.next_above(reopened.rev().as_ref()).unwrap();
    let commit = reopened
        .apply_writes(
            &[WriteOp::create(POST, "3zzzzzzzzzz22", &post("late"))],
            rev,
            &key,
        )
        .await
        .unwrap();
    s.apply_commit(engine_write(did, Some(head.cid), &commit))
        .await
        .unwrap();
    let rec = s
        .get_record(did, POST, "3zzzzzzzzzz22")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.bytes, data::cbor::encode(&post("late")));
    // The engine's store is read-only.
    use repo::BlockStore;
    assert!(AccountBlocks::new(s.clone(), did)
        .put(rec.cid, vec![])
        .await
        .is_err());
}

/// A commit far larger than one script (an import): it is split over several round trips
/// and stays atomic.
#[tokio::test]
async fn a_huge_commit_is_applied_whole() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    const N: usize = 9_000;
    let texts: Vec<String> = (0..N).map(|i| format!("record {i}")).collect();
    let rkeys: Vec<String> = (0..N).map(|i| format!("r{i:05}")).collect();
    let ops: Vec<(&str, &str, Option<&str>, Vec<Cid>)> = (0..N)
        .map(|i| (POST, rkeys[i].as_str(), Some(texts[i].as_str()), vec![]))
        .collect();
    let c1 = hand_commit("did:plc:alice", None, "3kaaaaaaaaa22", &ops, vec![]);
    s.apply_commit(c1.write).await.unwrap();
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), N as i64);
    assert_eq!(s.all_blocks("did:plc:alice").await.unwrap().len(), N + 1);

    // Delete them all in one commit.
    let ops: Vec<(&str, &str, Option<&str>, Vec<Cid>)> = (0..N)
        .map(|i| (POST, rkeys[i].as_str(), None, vec![]))
        .collect();
    let removed: Vec<Cid> = texts.iter().map(|t| block(t).0).collect();
    let c2 = hand_commit(
        "did:plc:alice",
        Some(c1.head),
        "3kaaaaaaaaa33",
        &ops,
        removed,
    );
    s.apply_commit(c2.write).await.unwrap();
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
    assert_eq!(s.all_blocks("did:plc:alice").await.unwrap().len(), 1);

    // A huge commit that fails at its end (an unknown blob on the last record) leaves nothing.
    let mut ops: Vec<(&str, &str, Option<&str>, Vec<Cid>)> = (0..N)
        .map(|i| (POST, rkeys[i].as_str(), Some(texts[i].as_str()), vec![]))
        .collect();
    ops[N - 1].3 = vec![Cid::for_raw(b"missing")];
    let c3 = hand_commit(
        "did:plc:alice",
        Some(c2.head),
        "3kaaaaaaaaa44",
        &ops,
        vec![],
    );
    assert!(matches!(
        s.apply_commit(c3.write).await,
        Err(StoreError::BlobNotFound(_))
    ));
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
    assert_eq!(s.all_blocks("did:plc:alice").await.unwrap().len(), 1);

    // One that fails in its last script, after earlier scripts ran (the last record's block
    // is missing, which the record index's foreign key refuses): nothing of it stays, and
    // the head did not move.
    ops[N - 1].3 = vec![];
    let mut c4 = hand_commit(
        "did:plc:alice",
        Some(c2.head),
        "3kaaaaaaaaa55",
        &ops,
        vec![],
    );
    let last = block(&texts[N - 1]).0;
    c4.write.new_blocks.retain(|(cid, _)| *cid != last);
    let err = s.apply_commit(c4.write).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("FOREIGN KEY")),
        "{err:?}"
    );
    assert_eq!(s.record_count("did:plc:alice").await.unwrap(), 0);
    assert_eq!(s.all_blocks("did:plc:alice").await.unwrap().len(), 1);
    assert_eq!(
        s.repo_head("did:plc:alice").await.unwrap().unwrap().cid,
        c2.head
    );
    assert_eq!(s.last_seq().await.unwrap(), 2);
}

#[tokio::test]
async fn submitted_commits_chain_without_waiting() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let did = "did:plc:alice";

    // Two commits queued back to back, the second built on the first's head: both applied,
    // in order.
    let c1 = hand_commit(
        did,
        None,
        "3kaaaaaaaaa22",
        &[(POST, "a", Some("one"), vec![])],
        vec![],
    );
    let c2 = hand_commit(
        did,
        Some(c1.head),
        "3kaaaaaaaaa33",
        &[(POST, "b", Some("two"), vec![])],
        vec![],
    );
    let p1 = s.submit_commit(c1.write).await.unwrap();
    let p2 = s.submit_commit(c2.write).await.unwrap();
    let (seq2, seq1) = (p2.await.unwrap(), p1.await.unwrap());
    assert!(seq1.unwrap() < seq2.unwrap());
    assert_eq!(s.repo_head(did).await.unwrap().unwrap().cid, c2.head);
    assert_eq!(s.record_count(did).await.unwrap(), 2);

    // The first fails its compare-and-swap: the second, built on it, fails too, and nothing
    // of either is stored.
    let last_seq = s.last_seq().await.unwrap();
    let bad = hand_commit(
        did,
        Some(c1.head),
        "3kaaaaaaaaa44",
        &[(POST, "c", Some("three"), vec![])],
        vec![],
    );
    let next = hand_commit(
        did,
        Some(bad.head),
        "3kaaaaaaaaa55",
        &[(POST, "d", Some("four"), vec![])],
        vec![],
    );
    let p1 = s.submit_commit(bad.write).await.unwrap();
    let p2 = s.submit_commit(next.write).await.unwrap();
    let (e2, e1) = (p2.await.unwrap_err(), p1.await.unwrap_err());
    assert!(matches!(e1, StoreError::HeadConflict), "{e1:?}");
    assert!(matches!(e2, StoreError::HeadConflict), "{e2:?}");
    assert_eq!(s.repo_head(did).await.unwrap().unwrap().cid, c2.head);
    assert_eq!(s.record_count(did).await.unwrap(), 2);
    for h in [bad.head, next.head] {
        assert!(s.get_block(did, &h).await.unwrap().is_none());
    }
    assert!(s.get_record(did, POST, "c").await.unwrap().is_none());
    assert!(s.get_record(did, POST, "d").await.unwrap().is_none());
    assert_eq!(s.last_seq().await.unwrap(), last_seq);

    // A first commit refused for another reason (a blob never uploaded) takes the second
    // down the same way.
    let blob = Cid::for_raw(b"never uploaded");
    let bad = hand_commit(
        did,
        Some(c2.head),
        "3kaaaaaaaaa44",
        &[(POST, "c", Some("three"), vec![blob])],
        vec![],
    );
    let next = hand_commit(
        did,
        Some(bad.head),
        "3kaaaaaaaaa55",
        &[(POST, "d", Some("four"), vec![])],
        vec![],
    );
    let p1 = s.submit_commit(bad.write).await.unwrap();
    let p2 = s.submit_commit(next.write).await.unwrap();
    assert!(matches!(p1.await, Err(StoreError::BlobNotFound(c)) if c == blob));
    assert!(matches!(p2.await, Err(StoreError::HeadConflict)));
    assert_eq!(s.repo_head(did).await.unwrap().unwrap().cid, c2.head);
    assert_eq!(s.record_count(did).await.unwrap(), 2);
    assert_eq!(s.last_seq().await.unwrap(), last_seq);
}
