//! The Merkle Search Tree that maps repo paths to record CIDs (repository spec, §MST Structure).
//!
//! - A key's depth is half the leading zero bits of its SHA-256 ([`key_height`]); a node holds
//!   the keys of one depth, in order, with links to subtrees of the next depth down between
//!   them. The shape, and so the root CID, depends only on the key→CID map, never on history.
//! - The empty tree is one node with no entries. Empty nodes are pruned at the bottom and the
//!   top, but kept in between so no depth is skipped.
//! - Nodes are encoded as `{e: [{k, p, t, v}], l}` with prefix-compressed keys ([`NodeData`]).
//!
//! [`Mst`] loads nodes lazily from a [`BlockStore`](crate::BlockStore): an edit reads and
//! rewrites only the nodes on its key's path, and [`Mst::take_changes`] hands back exactly the
//! new nodes and the ones that dropped out. Every node read is checked: its bytes against its
//! CID, its encoding for canonical form, its keys for depth and order, its place for the tree
//! rules.
//!
//! ```
//! use data::Cid;
//! use repo::mst::Mst;
//! use repo::MemoryBlockStore;
//!
//! # pollster::block_on(async {
//! let store = MemoryBlockStore::new();
//! let record = Cid::for_dag_cbor(b"\xa0");
//!
//! let mut tree = Mst::new();
//! tree.insert(&store, "app.bsky.feed.post/3jqfcqzm3fo2j", record).await?;
//! tree.insert(&store, "app.bsky.feed.like/3jqfcqzm3fp2j", record).await?;
//! let changes = tree.take_changes();
//! assert!(!changes.new_nodes.is_empty());
//!
//! // The same map built in one go has the same root.
//! let bulk = Mst::from_sorted([
//!     ("app.bsky.feed.like/3jqfcqzm3fp2j", record),
//!     ("app.bsky.feed.post/3jqfcqzm3fo2j", record),
//! ])?
//! .root();
//! assert_eq!(changes.root, bulk);
//!
//! // Deleting everything gives back the empty tree.
//! tree.remove(&store, "app.bsky.feed.post/3jqfcqzm3fo2j").await?;
//! tree.remove(&store, "app.bsky.feed.like/3jqfcqzm3fp2j").await?;
//! assert_eq!(tree.root(), Mst::empty_root());
//! # Ok::<(), repo::mst::MstError>(())
//! # }).unwrap();
//! ```

mod build;
mod diff;
mod key;
mod node;
#[cfg(test)]
mod tests;
mod tree;
mod walk;

pub use diff::{diff, MstDiff};
pub use key::{common_prefix_len, key_height, validate_key, MAX_KEY_LEN};
pub use node::{EntryData, NodeData, MAX_NODE_ENTRIES};
pub use tree::{Mst, TreeChanges};

pub(crate) use tree::{check_node, root_height, Reach};

use data::Cid;

use crate::blockstore::StoreError;

/// What can go wrong reading or editing a tree.
#[derive(Debug, thiserror::Error)]
pub enum MstError {
    #[error("invalid MST key {0}")]
    InvalidKey(String),
    #[error("MST node{} is not in canonical form: {reason}", .cid.map(|c| format!(" {c}")).unwrap_or_default())]
    Malformed { cid: Option<Cid>, reason: String },
    #[error("MST node {cid} breaks the tree rules: {reason}")]
    Invalid { cid: Cid, reason: String },
    #[error("block {0} is missing")]
    MissingBlock(Cid),
    #[error("block {0} does not hash to its CID")]
    HashMismatch(Cid),
    #[error("keys are not in strictly ascending order: {0:?}")]
    Unsorted(String),
    #[error("inserting {0:?} would put more than {MAX_NODE_ENTRIES} entries in one node")]
    NodeTooWide(String),
    #[error("MST node {0} was needed before it was loaded (internal error)")]
    NotLoaded(Cid),
    #[error("MST is inconsistent: {0} (internal error)")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MstError {
    pub(crate) fn malformed(reason: impl Into<String>) -> MstError {
        MstError::Malformed {
            cid: None,
            reason: reason.into(),
        }
    }

    /// Names the node a decoding error is about.
    pub(crate) fn at(self, at: Cid) -> MstError {
        match self {
            MstError::Malformed { cid: None, reason } => MstError::Malformed {
                cid: Some(at),
                reason,
            },
            other => other,
        }
    }
}
