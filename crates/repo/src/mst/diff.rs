//! The difference between two trees, found by reading only the nodes that differ.
//!
//! Both trees are read top-down one depth at a time. A node's depth is a property of its keys,
//! so a subtree present in both trees shows up in both at the same depth, under the same CID,
//! and is skipped there without being read. What is left is the changed nodes of each side;
//! their entries give the record-level changes.

use std::collections::{BTreeMap, HashMap, HashSet};

use data::Cid;

use super::node::NodeData;
use super::tree::{check_node, root_height};
use super::MstError;
use crate::blockstore::BlockStore;

/// What changed from one tree to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MstDiff {
    /// Keys only in the new tree, with their values.
    pub created: Vec<(String, Cid)>,
    /// Keys in both with different values: (key, old, new).
    pub updated: Vec<(String, Cid, Cid)>,
    /// Keys only in the old tree, with their old values.
    pub deleted: Vec<(String, Cid)>,
    /// Nodes of the new tree that the old one does not have.
    pub new_nodes: Vec<Cid>,
    /// Nodes of the old tree that the new one does not have.
    pub removed_nodes: Vec<Cid>,
}

/// Compares the tree rooted at `old` (or the empty tree if `None`) with the one at `new`,
/// reading from `store` only the nodes that differ. All lists are sorted (keys, then CIDs).
pub async fn diff<S: BlockStore>(
    store: &S,
    old: Option<Cid>,
    new: Cid,
) -> Result<MstDiff, MstError> {
    let mut out = MstDiff::default();
    if old == Some(new) {
        return Ok(out);
    }
    let mut sides = [Side::default(), Side::default()];
    // A root's depth comes from its own keys, so roots are read first (and kept).
    let mut parsed: HashMap<Cid, NodeData> = HashMap::new();
    for (side, root) in sides.iter_mut().zip([old, Some(new)]) {
        let Some(root) = root else { continue };
        let data = fetch(store, root).await?;
        let height = root_height(&data);
        check_node(&data, root, height, None, None, true)?;
        side.pending.insert(root, height);
        parsed.insert(root, data);
    }

    while let Some(height) = sides.iter().flat_map(|s| s.pending.values()).copied().max() {
        let mut here: [Vec<Cid>; 2] = Default::default();
        for (s, side) in sides.iter_mut().enumerate() {
            side.pending.retain(|cid, h| {
                if *h == height {
                    here[s].push(*cid);
                    false
                } else {
                    true
                }
            });
        }
        // The same CID at the same depth on both sides is the same subtree: skip it unread.
        let old_here: HashSet<Cid> = here[0].iter().copied().collect();
        let new_here: HashSet<Cid> = here[1].iter().copied().collect();
        here[0].retain(|c| !new_here.contains(c));
        here[1].retain(|c| !old_here.contains(c));

        for (side, cids) in sides.iter_mut().zip(here) {
            let unread: Vec<Cid> = cids
                .iter()
                .filter(|c| !parsed.contains_key(c))
                .copied()
                .collect();
            let blocks = store.get_many(&unread).await?;
            for (cid, bytes) in unread.into_iter().zip(blocks) {
                let bytes = bytes.ok_or(MstError::MissingBlock(cid))?;
                if Cid::for_dag_cbor(&bytes) != cid {
                    return Err(MstError::HashMismatch(cid));
                }
                let data = NodeData::decode(&bytes).map_err(|e| e.at(cid))?;
                check_node(&data, cid, height, None, None, false)?;
                parsed.insert(cid, data);
            }
            for cid in cids {
                let data = parsed.remove(&cid).expect("read above");
                side.nodes.push(cid);
                let mut children = Vec::new();
                children.extend(data.left);
                for e in data.entries {
                    children.extend(e.right);
                    side.leaves.insert(e.key, e.value);
                }
                if !children.is_empty() {
                    let below = height.checked_sub(1).ok_or_else(|| MstError::Invalid {
                        cid,
                        reason: "a node at depth 0 has a subtree".into(),
                    })?;
                    for child in children {
                        side.pending.insert(child, below);
                    }
                }
            }
        }
    }

    let [old_side, new_side] = sides;
    let mut old_leaves = old_side.leaves;
    for (key, value) in new_side.leaves {
        match old_leaves.remove(&key) {
            Some(prev) if prev == value => {}
            Some(prev) => out.updated.push((key, prev, value)),
            None => out.created.push((key, value)),
        }
    }
    out.deleted = old_leaves.into_iter().collect();
    out.new_nodes = new_side.nodes;
    out.removed_nodes = old_side.nodes;
    out.new_nodes.sort_unstable();
    out.removed_nodes.sort_unstable();
    Ok(out)
}

#[derive(Default)]
struct Side {
    /// Nodes still to look at, with their depth.
    pending: HashMap<Cid, u8>,
    /// This side's nodes that the other side lacks.
    nodes: Vec<Cid>,
    /// Entries of those nodes.
    leaves: BTreeMap<String, Cid>,
}

async fn fetch<S: BlockStore>(store: &S, cid: Cid) -> Result<NodeData, MstError> {
    let bytes = store.get(&cid).await?.ok_or(MstError::MissingBlock(cid))?;
    if Cid::for_dag_cbor(&bytes) != cid {
        return Err(MstError::HashMismatch(cid));
    }
    NodeData::decode(&bytes).map_err(|e| e.at(cid))
}
