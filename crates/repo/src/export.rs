//! Full repository export as a CAR (`com.atproto.sync.getRepo`).
//!
//! Blocks go out in the streamable order of Sync v1.1: the commit, the root node, then depth
//! first, each node's items in order: a subtree's node block followed by its contents, a
//! record's block where its entry stands. A reader can then walk the tree holding only the
//! current path. Each record block is written once, however many keys point at it. Blocks are
//! copied from the store as stored, not re-encoded.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use data::Cid;

use crate::blockstore::BlockStore;
use crate::car::CarWriter;
use crate::commit::SignedCommit;
use crate::mst::{check_node, root_height, NodeData};
use crate::repo::RepoError;

/// The whole repository at `head` as CAR bytes.
pub async fn export_car<S: BlockStore>(store: &S, head: Cid) -> Result<Vec<u8>, RepoError> {
    write_car(store, head, Vec::new()).await
}

/// Streams the whole repository at `head` as a CAR into `out`, returning it.
///
/// Reads one node at a time, fetching each node's subtrees and records in one call. Every
/// node is checked (encoding, key depths and order) on the way.
pub async fn write_car<S: BlockStore, W: Write>(
    store: &S,
    head: Cid,
    out: W,
) -> Result<W, RepoError> {
    let commit_bytes = store
        .get(&head)
        .await?
        .ok_or(RepoError::MissingBlock(head))?;
    let commit = SignedCommit::from_bytes(&commit_bytes)?;
    let mut car = CarWriter::new(out, &[head]).map_err(io)?;
    car.write_block(&head, &commit_bytes).map_err(io)?;

    let root = commit.data();
    let root_bytes = store
        .get(&root)
        .await?
        .ok_or(RepoError::MissingBlock(root))?;
    car.write_block(&root, &root_bytes).map_err(io)?;
    let data = NodeData::decode(&root_bytes).map_err(|e| e.at(root))?;
    let height = root_height(&data);
    check_node(&data, root, height, None, None, true)?;

    let mut written_records: HashSet<Cid> = HashSet::new();
    let mut stack = vec![Frame::new(store, data, height, &mut written_records).await?];
    while let Some(frame) = stack.last_mut() {
        let Some(item) = frame.next() else {
            stack.pop();
            continue;
        };
        match item {
            Item::Record(cid) => {
                if let Some(bytes) = frame.blocks.remove(&cid) {
                    car.write_block(&cid, &bytes).map_err(io)?;
                }
            }
            Item::Node(cid) => {
                let bytes = frame
                    .blocks
                    .remove(&cid)
                    .ok_or(RepoError::MissingBlock(cid))?;
                car.write_block(&cid, &bytes).map_err(io)?;
                let data = NodeData::decode(&bytes).map_err(|e| e.at(cid))?;
                let height =
                    frame
                        .height
                        .checked_sub(1)
                        .ok_or_else(|| crate::mst::MstError::Invalid {
                            cid,
                            reason: "a node at depth 0 has a subtree".into(),
                        })?;
                check_node(&data, cid, height, None, None, false)?;
                let child = Frame::new(store, data, height, &mut written_records).await?;
                stack.push(child);
            }
        }
    }
    Ok(car.finish())
}

fn io(e: std::io::Error) -> RepoError {
    RepoError::Store(crate::StoreError::new(e))
}

enum Item {
    Node(Cid),
    Record(Cid),
}

/// A node being written: its items in order, and the blocks they need, fetched together.
struct Frame {
    items: std::vec::IntoIter<Item>,
    blocks: HashMap<Cid, Vec<u8>>,
    height: u8,
}

impl Frame {
    async fn new<S: BlockStore>(
        store: &S,
        data: NodeData,
        height: u8,
        written_records: &mut HashSet<Cid>,
    ) -> Result<Frame, RepoError> {
        let mut items = Vec::with_capacity(data.entries.len() * 2 + 1);
        let mut wanted = Vec::with_capacity(items.capacity());
        if let Some(left) = data.left {
            items.push(Item::Node(left));
            wanted.push(left);
        }
        for entry in data.entries {
            if written_records.insert(entry.value) {
                items.push(Item::Record(entry.value));
                wanted.push(entry.value);
            }
            if let Some(right) = entry.right {
                items.push(Item::Node(right));
                wanted.push(right);
            }
        }
        let fetched = store.get_many(&wanted).await?;
        let mut blocks = HashMap::with_capacity(wanted.len());
        for (cid, bytes) in wanted.into_iter().zip(fetched) {
            blocks.insert(cid, bytes.ok_or(RepoError::MissingBlock(cid))?);
        }
        Ok(Frame {
            items: items.into_iter(),
            blocks,
            height,
        })
    }

    fn next(&mut self) -> Option<Item> {
        self.items.next()
    }
}
