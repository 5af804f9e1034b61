//! The firehose log: sequencing, frames, backfill queries, live broadcast, and seqs that
//! survive a restart.

mod common;

use common::{account, decode_frame, event, hand_commit, store};
use data::Value;
use store::sqlite::{SqliteStore, TempDir};
use store::Store;

#[tokio::test]
async fn sequence_event_writes_a_ready_frame() {
    let s = store().await;
    assert_eq!(s.last_seq().await.unwrap(), 0);
    assert!(s.events_after(0, 10).await.unwrap().is_empty());

    let seq = s
        .sequence_event(event("#identity", "did:plc:alice"))
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let events = s.events_after(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.seq, e.did.as_str()), (1, "did:plc:alice"));
    let (header, body) = decode_frame(&e.frame);
    let header = header.as_map().unwrap();
    assert_eq!(header.len(), 2);
    assert_eq!(header["op"], Value::Int(1));
    assert_eq!(header["t"], Value::String("#identity".into()));
    let body = body.as_map().unwrap();
    assert_eq!(body["seq"], Value::Int(1));
    assert_eq!(body["repo"], Value::String("did:plc:alice".into()));
    assert!(body.contains_key("time"));
    assert_eq!(s.last_seq().await.unwrap(), 1);
}

#[tokio::test]
async fn events_after_and_first_seq_since() {
    let s = store().await;
    let before = store_now_ms();
    let mut seqs = Vec::new();
    for i in 0..10 {
        seqs.push(
            s.sequence_event(event("#account", &format!("did:plc:u{i}")))
                .await
                .unwrap(),
        );
    }
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());

    let page = s.events_after(3, 4).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 5, 6, 7]
    );
    assert_eq!(page[0].did, "did:plc:u3");
    assert!(s.events_after(10, 5).await.unwrap().is_empty());

    // Times never go down as seqs go up.
    let all = s.events_after(0, 100).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    assert!(all[0].time_ms >= before);

    assert_eq!(s.first_seq_since(0).await.unwrap(), Some(1));
    assert_eq!(
        s.first_seq_since(all[6].time_ms)
            .await
            .unwrap()
            .map(|s| s <= 7),
        Some(true)
    );
    assert_eq!(s.first_seq_since(all[9].time_ms + 1).await.unwrap(), None);
}

#[tokio::test]
async fn prune_keeps_seqs_unique() {
    let s = store().await;
    for _ in 0..5 {
        s.sequence_event(event("#identity", "did:plc:alice"))
            .await
            .unwrap();
    }
    let pruned = s.prune_events(i64::MAX).await.unwrap();
    assert_eq!(pruned, 5);
    assert!(s.events_after(0, 10).await.unwrap().is_empty());
    assert_eq!(s.last_seq().await.unwrap(), 5);
    assert_eq!(s.first_seq_since(0).await.unwrap(), None);
    assert_eq!(
        s.sequence_event(event("#identity", "did:plc:alice"))
            .await
            .unwrap(),
        6
    );
    assert_eq!(s.prune_events(0).await.unwrap(), 0);
}

#[tokio::test]
async fn subscribers_get_durable_events_in_order() {
    let s = store().await;
    account(&s, "did:plc:alice", "alice.test").await;
    let mut live = s.subscribe();

    let c1 = hand_commit("did:plc:alice", None, "3kaaaaaaaaa22", &[], vec![]);
    let seq1 = s.apply_commit(c1.write).await.unwrap().unwrap();
    let seq2 = s
        .sequence_event(event("#identity", "did:plc:alice"))
        .await
        .unwrap();
    // A refused commit is not broadcast.
    let stale = hand_commit("did:plc:alice", None, "3kaaaaaaaaa33", &[], vec![]);
    assert!(s.apply_commit(stale.write).await.is_err());
    let seq3 = s
        .sequence_event(event("#account", "did:plc:alice"))
        .await
        .unwrap();
    assert_eq!((seq1, seq2, seq3), (1, 2, 3));

    for want in [seq1, seq2, seq3] {
        let e = live.recv().await.unwrap();
        assert_eq!(e.seq, want);
        // What is broadcast is what is stored.
        let stored = s.events_after(want - 1, 1).await.unwrap();
        assert_eq!(stored[0].frame, e.frame);
    }
    assert!(live.try_recv().is_err());
}

#[tokio::test]
async fn seq_survives_reopen() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("relay.sqlite");

    let s = SqliteStore::open(&path).await.unwrap();
    account(&s, "did:plc:alice", "alice.test").await;
    let c1 = hand_commit(
        "did:plc:alice",
        None,
        "3kaaaaaaaaa22",
        &[("app.bsky.feed.post", "a", Some("one"), vec![])],
        vec![],
    );
    s.apply_commit(c1.write).await.unwrap();
    let mut last = 0;
    for _ in 0..3 {
        last = s
            .sequence_event(event("#identity", "did:plc:alice"))
            .await
            .unwrap();
    }
    assert_eq!(last, 4);
    s.close().await;
    drop(s);

    // Everything acknowledged is there after a restart, and seqs continue above.
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.last_seq().await.unwrap(), 4);
    assert_eq!(
        s.repo_head("did:plc:alice").await.unwrap().unwrap().cid,
        c1.head
    );
    assert!(s
        .get_record("did:plc:alice", "app.bsky.feed.post", "a")
        .await
        .unwrap()
        .is_some());
    let next = s
        .sequence_event(event("#identity", "did:plc:alice"))
        .await
        .unwrap();
    assert_eq!(next, 5);

    // Even with the whole log pruned (and without a clean close), a restart never reuses a seq.
    s.prune_events(i64::MAX).await.unwrap();
    drop(s);
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.last_seq().await.unwrap(), 5);
    assert_eq!(
        s.sequence_event(event("#identity", "did:plc:alice"))
            .await
            .unwrap(),
        6
    );
    s.close().await;

    // After close, calls fail instead of hanging.
    assert!(s
        .sequence_event(event("#identity", "did:plc:alice"))
        .await
        .is_err());
}

fn store_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 5
}
