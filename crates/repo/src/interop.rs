//! Runners for the official interop vectors (`atproto-interop-tests`), one case at a time.
//!
//! Each function takes one parsed case and returns `Err` with a reason on a mismatch, so a
//! runner can count passes and failures per file:
//!
//! | file | function | case |
//! |---|---|---|
//! | `mst/key_heights.json` | [`key_height_case`] | an element `{key, height}` |
//! | `mst/common_prefix.json` | [`common_prefix_case`] | an element `{left, right, len}` |
//! | `mst/example_keys.txt` | [`example_key_case`] | one line, as a JSON string |
//! | `firehose/commit-proof-fixtures.json` | [`commit_proof_case`] | an element |

use std::collections::{HashMap, HashSet};

use data::Cid;
use serde_json::Value as Json;

use crate::blockstore::{run_ready, BlockMap, MemoryBlockStore};
use crate::diff::{Action, RecordOp};
use crate::inversion::invert_ops;
use crate::mst::{common_prefix_len, key_height, validate_key, Mst};

fn field<'a>(case: &'a Json, name: &str) -> Result<&'a Json, String> {
    case.get(name)
        .ok_or_else(|| format!("case has no {name:?}"))
}

fn string<'a>(case: &'a Json, name: &str) -> Result<&'a str, String> {
    field(case, name)?
        .as_str()
        .ok_or_else(|| format!("{name:?} is not a string"))
}

fn number(case: &Json, name: &str) -> Result<u64, String> {
    field(case, name)?
        .as_u64()
        .ok_or_else(|| format!("{name:?} is not a non-negative integer"))
}

fn cid(case: &Json, name: &str) -> Result<Cid, String> {
    string(case, name)?
        .parse()
        .map_err(|e| format!("{name:?}: {e}"))
}

fn strings<'a>(case: &'a Json, name: &str) -> Result<Vec<&'a str>, String> {
    field(case, name)?
        .as_array()
        .ok_or_else(|| format!("{name:?} is not an array"))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("{name:?} holds a non-string"))
        })
        .collect()
}

/// `mst/key_heights.json`: the key's depth.
pub fn key_height_case(case: &Json) -> Result<(), String> {
    let key = string(case, "key")?;
    let want = number(case, "height")?;
    let got = key_height(key.as_bytes());
    if u64::from(got) != want {
        return Err(format!("height of {key:?}: got {got}, want {want}"));
    }
    Ok(())
}

/// `mst/common_prefix.json`: the shared prefix length that node compression uses.
pub fn common_prefix_case(case: &Json) -> Result<(), String> {
    let left = string(case, "left")?;
    let right = string(case, "right")?;
    let want = number(case, "len")?;
    let got = common_prefix_len(left.as_bytes(), right.as_bytes());
    if got as u64 != want {
        return Err(format!(
            "common prefix of {left:?} and {right:?}: got {got}, want {want}"
        ));
    }
    Ok(())
}

/// `mst/example_keys.txt`: each key is a valid MST key, and its depth is the digit after the
/// first letter (the file's naming scheme: `D2/269196` has depth 2).
pub fn example_key_case(case: &Json) -> Result<(), String> {
    let key = case.as_str().ok_or("case is not a string")?;
    validate_key(key).map_err(|e| e.to_string())?;
    let want = key
        .chars()
        .nth(1)
        .and_then(|c| c.to_digit(10))
        .ok_or_else(|| format!("{key:?} does not name its depth"))?;
    let got = key_height(key.as_bytes());
    if u32::from(got) != want {
        return Err(format!("height of {key:?}: got {got}, want {want}"));
    }
    Ok(())
}

/// `firehose/commit-proof-fixtures.json`: build the tree of `keys` (each mapped to
/// `leafValue`) and check `rootBeforeCommit`, both by inserts and in bulk; apply `adds` and
/// `dels` to the stored tree and check `rootAfterCommit`; check that the diff this engine
/// would send (new nodes and covering nodes) includes every one of `blocksInProof`; then
/// invert the ops, both from that diff and from `blocksInProof` alone, back to
/// `rootBeforeCommit`.
pub fn commit_proof_case(case: &Json) -> Result<(), String> {
    let comment = case.get("comment").and_then(Json::as_str).unwrap_or("?");
    let ctx = |e: String| format!("{comment}: {e}");
    let leaf = cid(case, "leafValue").map_err(ctx)?;
    let keys = strings(case, "keys").map_err(ctx)?;
    let adds = strings(case, "adds").map_err(ctx)?;
    let dels = strings(case, "dels").map_err(ctx)?;
    let before = cid(case, "rootBeforeCommit").map_err(ctx)?;
    let after = cid(case, "rootAfterCommit").map_err(ctx)?;
    let in_proof: Vec<Cid> = strings(case, "blocksInProof")
        .map_err(ctx)?
        .iter()
        .map(|s| s.parse().map_err(|e| format!("blocksInProof: {e}")))
        .collect::<Result<_, _>>()
        .map_err(ctx)?;

    run_ready(async {
        let store = MemoryBlockStore::new();
        let mut tree = Mst::new();
        for key in &keys {
            tree.insert(&store, key, leaf)
                .await
                .map_err(|e| e.to_string())?;
        }
        let built = tree.take_changes();
        if built.root != before {
            return Err(format!("root before: got {}, want {before}", built.root));
        }
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        let bulk = Mst::from_sorted(sorted.iter().map(|k| (*k, leaf)))
            .map_err(|e| e.to_string())?
            .root();
        if bulk != before {
            return Err(format!("bulk-built root before: got {bulk}, want {before}"));
        }
        for (c, b) in built.new_nodes {
            crate::BlockStore::put(&store, c, b)
                .await
                .map_err(|e| e.to_string())?;
        }

        // The commit, on the stored tree.
        let mut tree = Mst::load(before);
        let mut ops = Vec::new();
        for key in &adds {
            if tree
                .insert(&store, key, leaf)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!("add {key}: already present"));
            }
            ops.push(RecordOp {
                action: Action::Create,
                path: key.to_string(),
                cid: Some(leaf),
                prev: None,
            });
        }
        for key in &dels {
            match tree.remove(&store, key).await.map_err(|e| e.to_string())? {
                Some(v) if v == leaf => {}
                other => return Err(format!("delete {key}: found {other:?}")),
            }
            ops.push(RecordOp {
                action: Action::Delete,
                path: key.to_string(),
                cid: None,
                prev: Some(leaf),
            });
        }
        let changes = tree.take_changes();
        if changes.root != after {
            return Err(format!("root after: got {}, want {after}", changes.root));
        }

        // What the diff carries: new nodes, plus the covering nodes of each changed key.
        let mut skip: HashSet<Cid> = changes.new_nodes.iter().map(|(c, _)| *c).collect();
        let mut proof = Vec::new();
        for op in &ops {
            tree.covering_nodes(&store, &op.path, &mut skip, &mut proof)
                .await
                .map_err(|e| e.to_string())?;
        }
        let diff: BlockMap = changes.new_nodes.into_iter().chain(proof).collect();
        let missing: Vec<String> = in_proof
            .iter()
            .filter(|c| !diff.contains_key(c))
            .map(Cid::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(format!("diff lacks blocksInProof {missing:?}"));
        }
        invert_ops(&diff, after, before, &ops).map_err(|e| format!("inverting our diff: {e}"))?;

        // The reference's proof alone must be enough for our inverter too.
        let only: BlockMap = in_proof
            .iter()
            .map(|c| {
                let bytes = diff
                    .get(c)
                    .cloned()
                    .or_else(|| store.get_sync(c))
                    .ok_or_else(|| format!("no block {c}"))?;
                Ok((*c, bytes))
            })
            .collect::<Result<HashMap<_, _>, String>>()?;
        invert_ops(&only, after, before, &ops)
            .map_err(|e| format!("inverting with blocksInProof only: {e}"))?;
        Ok(())
    })
    .ok_or_else(|| "internal error: in-memory run did not finish".to_string())?
    .map_err(ctx)
}
