//! Group commit under concurrency, and a bounded throughput measurement (printed, not
//! asserted: run with `--nocapture` to see it).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{account, engine_write, event, hand_commit};
use data::{Cid, Map, Value};
use repo::{MemoryBlockStore, Repo, WriteOp};
use store::sqlite::SqliteStore;
use store::{CommitWrite, Store, StoreError};
use syntax::TidGenerator;

const POST: &str = "app.bsky.feed.post";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_accounts_write_in_parallel() {
    let s = SqliteStore::open_temp().await.unwrap();
    const ACCOUNTS: usize = 24;
    const COMMITS: usize = 12;
    for a in 0..ACCOUNTS {
        account(
            &s,
            &format!("did:plc:acct{a:02}"),
            &format!("acct{a:02}.test"),
        )
        .await;
    }
    let before = s.write_stats();

    let mut tasks = Vec::new();
    for a in 0..ACCOUNTS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let did = format!("did:plc:acct{a:02}");
            let mut prev: Option<Cid> = None;
            let mut seqs = Vec::new();
            for c in 0..COMMITS {
                let rev = format!("3kaaaaaaaa{c:03}");
                let rkey = format!("r{c:03}");
                let text = format!("{did} post {c}");
                let hand = hand_commit(
                    &did,
                    prev,
                    &rev,
                    &[(POST, &rkey, Some(&text), vec![])],
                    vec![],
                );
                seqs.push(s.apply_commit(hand.write).await.unwrap().unwrap());
                // Interleave a non-commit event now and then.
                if c % 4 == 0 {
                    seqs.push(s.sequence_event(event("#identity", &did)).await.unwrap());
                }
                prev = Some(hand.head);
            }
            (did, prev.unwrap(), seqs)
        }));
    }
    let mut all_seqs = Vec::new();
    for t in tasks {
        let (did, head, seqs) = t.await.unwrap();
        // One account's events are in its own order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{did}: {seqs:?}");
        assert_eq!(s.repo_head(&did).await.unwrap().unwrap().cid, head);
        assert_eq!(s.record_count(&did).await.unwrap(), COMMITS as i64);
        all_seqs.extend(seqs);
    }

    // The log is gap-free and strictly increasing, and holds exactly what was acknowledged.
    let total = ACCOUNTS * (COMMITS + COMMITS.div_ceil(4));
    all_seqs.sort_unstable();
    assert_eq!(all_seqs, (1..=total as i64).collect::<Vec<_>>());
    let log = s.events_after(0, 100_000).await.unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), all_seqs);
    assert_eq!(s.last_seq().await.unwrap(), total as i64);

    let stats = s.write_stats();
    let jobs = stats.jobs - before.jobs;
    let transactions = stats.transactions - before.transactions;
    assert_eq!(jobs, total as u64);
    assert!(transactions <= jobs);
    println!("group commit: {jobs} jobs in {transactions} transactions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_does_not_disturb_the_rest_of_the_batch() {
    let s = SqliteStore::open_temp().await.unwrap();
    for a in 0..8 {
        account(&s, &format!("did:plc:acct{a}"), &format!("acct{a}.test")).await;
    }
    // Every account gets one good first commit and one that conflicts (a second "first"
    // commit), all sent at once so that they share transactions.
    let mut tasks = Vec::new();
    for a in 0..8 {
        for attempt in 0..2 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let did = format!("did:plc:acct{a}");
                let rev = format!("3kaaaaaaaaa2{attempt}");
                let text = format!("attempt {attempt}");
                let hand = hand_commit(
                    &did,
                    None,
                    &rev,
                    &[(POST, "x", Some(&text), vec![])],
                    vec![],
                );
                (did, hand.head, s.apply_commit(hand.write).await)
            }));
        }
    }
    let mut winners = std::collections::HashMap::new();
    let mut conflicts = 0;
    for t in tasks {
        let (did, head, result) = t.await.unwrap();
        match result {
            Ok(_) => assert!(winners.insert(did, head).is_none()),
            Err(StoreError::HeadConflict) => conflicts += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (8, 8));
    for (did, head) in winners {
        assert_eq!(s.repo_head(&did).await.unwrap().unwrap().cid, head);
        // Only the winner's blocks are stored.
        assert_eq!(s.all_blocks(&did).await.unwrap().len(), 2);
    }
    let log = s.events_after(0, 100).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
}

/// Builds `n` consecutive one-record commits of one account with the repo engine (in
/// memory), as the relay would send them to the store.
async fn engine_commits(
    did: &str,
    n: usize,
    key: &crypto::Keypair,
    tids: &TidGenerator,
) -> Vec<CommitWrite> {
    let blocks = MemoryBlockStore::new();
    let mut repo = Repo::create(&blocks, did).unwrap();
    let mut out = Vec::with_capacity(n);
    let mut prev = None;
    for i in 0..n {
        let mut m = Map::new();
        m.insert("$type".into(), Value::String(POST.into()));
        m.insert(
            "text".into(),
            Value::String(format!("post number {i} of {did}, with a little text")),
        );
        m.insert(
            "createdAt".into(),
            Value::String("2026-11-25T00:00:00.000Z".into()),
        );
        let rkey = tids.next().unwrap().to_string();
        let rev = tids.next_above(repo.rev().as_ref()).unwrap();
        let commit = repo
            .apply_writes(&[WriteOp::create(POST, rkey, &Value::Map(m))], rev, key)
            .await
            .unwrap();
        commit.persist(&blocks).await.unwrap();
        out.push(engine_write(did, prev, &commit));
        prev = Some(commit.cid);
    }
    out
}

/// apply_commit throughput with 1 writer and with 16 concurrent writers (each its own
/// account, commits built beforehand so only the store is timed). Bounded: 400 commits each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_apply_commit_throughput() {
    const TOTAL: usize = 400;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("store-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = crypto::Keypair::generate(crypto::Algorithm::P256);
    let tids = TidGenerator::new();

    for writers in [1usize, 16] {
        let path = dir.join(format!("w{writers}.sqlite"));
        let s = SqliteStore::open(&path).await.unwrap();
        let per = TOTAL / writers;
        let mut chains = Vec::new();
        for w in 0..writers {
            let did = format!("did:plc:writer{w:02}");
            account(&s, &did, &format!("writer{w:02}.test")).await;
            chains.push(engine_commits(&did, per, &key, &tids).await);
        }
        let before = s.write_stats();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for chain in chains {
            let s: Arc<SqliteStore> = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(chain.len());
                for write in chain {
                    let t = Instant::now();
                    s.apply_commit(write).await.unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed();
        latencies.sort();
        let stats = s.write_stats();
        let transactions = stats.transactions - before.transactions;
        println!(
            "apply_commit, {writers:>2} writer(s): {TOTAL} commits in {:.0} ms = {:.0} commits/s; \
             latency p50 {:.2} ms, p99 {:.2} ms; {transactions} transactions ({:.1} commits per fsync)",
            elapsed.as_secs_f64() * 1000.0,
            TOTAL as f64 / elapsed.as_secs_f64(),
            latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
            latencies[latencies.len() * 99 / 100].as_secs_f64() * 1000.0,
            TOTAL as f64 / transactions as f64,
        );
        s.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Jobs of every kind share transactions; the refused ones (taken handles, conflicts,
/// missing blobs) are rolled back alone and the others are all applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_jobs_fail_alone() {
    let s = SqliteStore::open_temp().await.unwrap();
    account(&s, "did:plc:base", "taken.test").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let did = format!("did:plc:mixed{i:02}");
            // Every fourth account asks for a handle that is taken.
            let handle = if i % 4 == 0 {
                "TAKEN.test".to_string()
            } else {
                format!("mixed{i:02}.test")
            };
            match s.create_account(common::new_account(&did, &handle)).await {
                Err(StoreError::HandleTaken) => return (i, false),
                Err(e) => panic!("{e:?}"),
                Ok(()) => {}
            }
            // Every third commit references a blob that was never uploaded.
            let blobs = if i % 3 == 0 {
                vec![Cid::for_raw(b"nope")]
            } else {
                vec![]
            };
            let hand = hand_commit(
                &did,
                None,
                "3kaaaaaaaaa22",
                &[(POST, "r", Some(&did), blobs)],
                vec![],
            );
            match s.apply_commit(hand.write).await {
                Ok(seq) => assert!(seq.is_some()),
                Err(StoreError::BlobNotFound(_)) => assert_eq!(i % 3, 0),
                Err(e) => panic!("{e:?}"),
            }
            s.sequence_event(event("#identity", &did)).await.unwrap();
            (i, true)
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (i, ok) = t.await.unwrap();
        assert_eq!(ok, i % 4 != 0);
        let did = format!("did:plc:mixed{i:02}");
        let head = s.repo_head(&did).await.unwrap();
        if ok {
            created += 1;
            assert_eq!(head.is_some(), i % 3 != 0, "{did}");
            assert_eq!(s.record_count(&did).await.unwrap(), i64::from(i % 3 != 0));
        } else {
            assert!(s.account_by_did(&did).await.unwrap().is_none());
        }
    }
    assert_eq!(created, 30);
    // 30 #identity events and one #commit per account without a bad blob (20 of 30), gap-free.
    let log = s.events_after(0, 1000).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
}
