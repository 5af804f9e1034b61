//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use data::{Cid, Map, Value};
use repo::CommitResult;
use store::sqlite::SqliteStore;
use store::{BlobMeta, CommitWrite, EventDraft, NewAccount, RecordIndexOp, RepoHead, Store};

pub async fn store() -> Arc<SqliteStore> {
    SqliteStore::open_temp()
        .await
        .expect("open a temporary store")
}

pub fn new_account(did: &str, handle: &str) -> NewAccount {
    NewAccount {
        did: did.into(),
        handle: handle.into(),
        email: Some(format!("{handle}@example.com")),
        password_hash: Some("hash".into()),
        signing_key_sealed: vec![1, 2, 3],
        invite_code: None,
        deactivated: false,
    }
}

pub async fn account(store: &SqliteStore, did: &str, handle: &str) {
    store
        .create_account(new_account(did, handle))
        .await
        .expect("create account");
}

/// A DAG-CBOR block with its CID.
pub fn block(text: &str) -> (Cid, Vec<u8>) {
    let mut map = Map::new();
    map.insert("text".into(), Value::String(text.into()));
    let bytes = data::cbor::encode(&Value::Map(map));
    (Cid::for_dag_cbor(&bytes), bytes)
}

/// A body for a `#commit`-like event (only what the store cares about: it is opaque to it).
pub fn event(kind: &'static str, did: &str) -> EventDraft {
    let mut body = Map::new();
    body.insert("repo".into(), Value::String(did.into()));
    body.insert(
        "time".into(),
        Value::String("2026-11-25T00:00:00.000Z".into()),
    );
    EventDraft {
        kind,
        did: did.into(),
        body,
    }
}

/// A hand-made commit: a "commit" block named after `rev`, plus `records` as
/// `(collection, rkey, text, blobs)` writes (text `None` deletes).
pub struct Hand {
    pub write: CommitWrite,
    pub head: Cid,
}

pub fn hand_commit(
    did: &str,
    prev: Option<Cid>,
    rev: &str,
    records: &[(&str, &str, Option<&str>, Vec<Cid>)],
    removed: Vec<Cid>,
) -> Hand {
    let (head, head_bytes) = block(&format!("commit {did} {rev}"));
    let mut new_blocks = vec![(head, head_bytes)];
    let mut record_ops = Vec::new();
    for (collection, rkey, text, blobs) in records {
        let cid = text.map(|t| {
            let (cid, bytes) = block(t);
            new_blocks.push((cid, bytes));
            cid
        });
        record_ops.push(RecordIndexOp {
            collection: collection.to_string(),
            rkey: rkey.to_string(),
            cid,
            blobs: blobs.clone(),
        });
    }
    let mut removed_blocks = removed;
    if let Some(prev) = prev {
        removed_blocks.push(prev);
    }
    Hand {
        head,
        write: CommitWrite {
            did: did.into(),
            prev_head: prev,
            new_head: RepoHead {
                cid: head,
                rev: rev.into(),
            },
            new_blocks,
            removed_blocks,
            record_ops,
            event: Some(event("#commit", did)),
        },
    }
}

/// The store write for a commit the repo engine made.
pub fn engine_write(did: &str, prev: Option<Cid>, commit: &CommitResult) -> CommitWrite {
    let record_ops = commit
        .ops
        .iter()
        .map(|op| {
            let (collection, rkey) = op.path.split_once('/').expect("repo path");
            RecordIndexOp {
                collection: collection.into(),
                rkey: rkey.into(),
                cid: op.cid,
                blobs: Vec::new(),
            }
        })
        .collect();
    let mut body = Map::new();
    body.insert("repo".into(), Value::String(did.into()));
    body.insert("rev".into(), Value::String(commit.rev().to_string()));
    body.insert("commit".into(), Value::Link(commit.cid));
    body.insert("blocks".into(), Value::Bytes(commit.diff_car()));
    CommitWrite {
        did: did.into(),
        prev_head: prev,
        new_head: RepoHead {
            cid: commit.cid,
            rev: commit.rev().to_string(),
        },
        new_blocks: commit.new_blocks.clone(),
        // MST nodes and the old commit, plus old record blocks: the store keeps a record block
        // that another path still indexes.
        removed_blocks: commit
            .removed
            .iter()
            .chain(&commit.removed_records)
            .copied()
            .collect(),
        record_ops,
        event: Some(EventDraft {
            kind: "#commit",
            did: did.into(),
            body,
        }),
    }
}

pub fn blob_meta(bytes: &[u8], created_at: &str) -> BlobMeta {
    BlobMeta {
        cid: Cid::for_raw(bytes),
        mime_type: "image/png".into(),
        size: bytes.len() as i64,
        temporary: true,
        created_at: created_at.into(),
    }
}

/// Splits a frame into its header and body.
pub fn decode_frame(frame: &[u8]) -> (Value, Value) {
    let (header, used) = data::cbor::decode_prefix(frame).expect("header");
    let body = data::cbor::decode(&frame[used..]).expect("body");
    (header, body)
}
