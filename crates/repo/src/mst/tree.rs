//! The tree in memory: lazily loaded nodes, in-place edits, and re-hashing of what changed.
//!
//! A tree is a root [`Link`]; each link is either a `Stub` (just a CID, not read yet) or a
//! loaded `Node`. Every public operation first loads, through the block store, the nodes it
//! may touch, which are the nodes around the key's position (see [`Reach`]); then it edits the
//! tree synchronously. So an edit reads and rewrites only the O(log n) nodes on its path, and
//! a failed load leaves the tree as it was.
//!
//! An edited node forgets its CID; the CIDs it had, if it had been stored, are kept in a list of
//! removed nodes. [`Mst::take_changes`] re-encodes and re-hashes exactly the edited nodes,
//! bottom-up, and hands back the new blocks and the removed CIDs: a commit's new and
//! unreachable MST nodes, found without walking the rest of the tree.

use std::collections::HashSet;

use data::Cid;

use super::key::{key_height, validate_key};
use super::node::{encode_node, NodeData, MAX_NODE_ENTRIES};
use super::MstError;
use crate::blockstore::BlockStore;

/// A child pointer: not loaded yet, or loaded.
pub(crate) enum Link {
    Stub(Cid),
    Node(Box<Node>),
}

pub(crate) struct Node {
    /// The depth of this node's keys; for a node without entries, one less than its parent's.
    pub(crate) height: u8,
    pub(crate) left: Option<Link>,
    pub(crate) entries: Vec<Entry>,
    /// The node's CID, or `None` after an edit until it is hashed again.
    pub(crate) cid: Option<Cid>,
    /// Hashed since the last [`Mst::take_changes`], so not yet handed out as a new block.
    pub(crate) fresh: bool,
}

pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) value: Cid,
    pub(crate) right: Option<Link>,
}

/// Longest key kept inside its [`Entry`]; longer ones go to the heap.
const INLINE_KEY: usize = 46;

/// An entry's key. Every search compares the key sought with keys at each node on its path,
/// so keys are kept inline in the entry when they fit (nearly all real ones do: collection NSID,
/// `/`, a 13-character TID), sparing a pointer chase and a likely cache miss per comparison.
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

impl Key {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Heap(key) => key.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Inline { .. } => {
                std::str::from_utf8(self.as_bytes()).expect("made from a whole str")
            }
            Key::Heap(key) => key,
        }
    }
}

impl From<&str> for Key {
    fn from(key: &str) -> Key {
        if key.len() <= INLINE_KEY {
            let mut bytes = [0; INLINE_KEY];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(key.into())
        }
    }
}

impl From<String> for Key {
    fn from(key: String) -> Key {
        if key.len() <= INLINE_KEY {
            Key::from(key.as_str())
        } else {
            Key::Heap(key.into_boxed_str())
        }
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::from("")
    }
}

impl Link {
    /// The CID, if known (a stub's, or a loaded node's that has been hashed).
    pub(crate) fn cid(&self) -> Option<Cid> {
        match self {
            Link::Stub(cid) => Some(*cid),
            Link::Node(node) => node.cid,
        }
    }

    fn sealed_cid(&self) -> &Cid {
        match self {
            Link::Stub(cid) => Some(cid),
            Link::Node(node) => node.cid.as_ref(),
        }
        .expect("children are hashed before their parent is encoded")
    }
}

impl Node {
    pub(crate) fn empty(height: u8) -> Node {
        Node {
            height,
            left: None,
            entries: Vec::new(),
            cid: None,
            fresh: false,
        }
    }

    fn from_data(data: NodeData, height: u8, cid: Cid) -> Node {
        Node {
            height,
            left: data.left.map(Link::Stub),
            entries: data
                .entries
                .into_iter()
                .map(|e| Entry {
                    key: Key::from(e.key),
                    value: e.value,
                    right: e.right.map(Link::Stub),
                })
                .collect(),
            cid: Some(cid),
            fresh: false,
        }
    }

    /// Child slot `i`: slot 0 is `l`, slot `i > 0` is the `t` of entry `i - 1`.
    pub(crate) fn slot(&self, i: usize) -> Option<&Link> {
        if i == 0 {
            self.left.as_ref()
        } else {
            self.entries[i - 1].right.as_ref()
        }
    }

    fn slot_mut(&mut self, i: usize) -> &mut Option<Link> {
        if i == 0 {
            &mut self.left
        } else {
            &mut self.entries[i - 1].right
        }
    }

    /// Where `key` is: `Ok(i)` if entry `i` holds it, `Err(i)` if it falls in child slot `i`.
    pub(crate) fn find(&self, key: &[u8]) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| compare_keys(e.key.as_bytes(), key))
    }

    /// No entries and no subtree.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.left.is_none()
    }

    /// The canonical bytes; every loaded child must have been hashed.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical bytes to `out`; every loaded child must have been hashed.
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(8 + self.entries.len() * 96);
        encode_node(
            self.left.as_ref().map(Link::sealed_cid),
            self.entries.iter().map(|e| {
                (
                    e.key.as_bytes(),
                    &e.value,
                    e.right.as_ref().map(Link::sealed_cid),
                )
            }),
            out,
        );
    }
}

/// `a.cmp(b)` for keys, inline: eight bytes at a time as big-endian words, which orders them
/// as bytes do. Keys are short and share long prefixes (`app.bsky.feed.post/3l...`), so this
/// beats a call to `memcmp` on every step of every search.
#[inline]
fn compare_keys(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let (mut a8, mut b8) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        let x = u64::from_be_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_be_bytes(y.try_into().expect("8 bytes"));
        if x != y {
            return x.cmp(&y);
        }
    }
    for (x, y) in a8.remainder().iter().zip(b8.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Which nodes an operation on a key may need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reach {
    /// The nodes a lookup visits: from the root down to the node holding the key, or through
    /// the key's gaps to the bottom. A lookup, a proof, and an insert (whose splits follow the
    /// key's path) read nothing else.
    Path,
    /// What a removal reads: the path to the key, then the two subtrees either side of it
    /// along their facing edges for as long as both sides have a node (they are merged), and,
    /// when the key is the root's only entry, the chain of entry-less nodes below it (the top
    /// is trimmed). A receiver inverting a diff needs exactly this much.
    Remove,
    /// Every node whose range touches the key's position: the path, and where the key is
    /// present, the whole right edge of the subtree before it and left edge of the subtree
    /// after it, down to the bottom. A superset of the other two; it is what a commit diff
    /// carries per changed key, so that any receiver can invert the operation.
    Covering,
}

/// A stub that an operation needs loaded, and where it hangs.
pub(crate) struct Missing {
    pub(crate) cid: Cid,
    /// Child slot indices from the root; empty for the root itself.
    pub(crate) path: Vec<u16>,
}

/// What changed in a tree since the last [`Mst::take_changes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeChanges {
    /// The root CID now.
    pub root: Cid,
    /// Nodes that did not exist before, children before parents (so a store can insert them in
    /// order), each once.
    pub new_nodes: Vec<(Cid, Vec<u8>)>,
    /// Stored nodes that are no longer part of the tree.
    pub removed: Vec<Cid>,
}

/// A Merkle Search Tree, as atproto repositories use it.
///
/// See the [module documentation](crate::mst) for the rules it keeps and an example.
pub struct Mst {
    pub(crate) root: Link,
    /// CIDs of stored nodes edited or dropped since the last `take_changes`.
    removed: Vec<Cid>,
    /// How many stubs (unloaded nodes) the tree holds. Loading a node is the only way a stub
    /// goes or new ones come (its links); edits move stubs around but never make or drop one,
    /// except on the internal-error paths, where the count can only end up too high. At zero
    /// the whole tree is in memory and [`Mst::ensure`] has nothing to look for.
    stubs: usize,
}

impl Default for Mst {
    fn default() -> Self {
        Mst::new()
    }
}

impl std::fmt::Debug for Mst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mst")
            .field("root", &self.root.cid())
            .field("pending_removed", &self.removed.len())
            .finish_non_exhaustive()
    }
}

impl Mst {
    /// The empty tree: one node with no entries.
    pub fn new() -> Mst {
        Mst {
            root: Link::Node(Box::new(Node::empty(0))),
            removed: Vec::new(),
            stubs: 0,
        }
    }

    /// The tree whose root node is `root`. Nothing is read until an operation needs it.
    pub fn load(root: Cid) -> Mst {
        Mst {
            root: Link::Stub(root),
            removed: Vec::new(),
            stubs: 1,
        }
    }

    /// The tree under `root`, which must be wholly in memory (no stubs).
    pub(crate) fn from_root_node(root: Node) -> Mst {
        debug_assert_eq!(count_stubs(&root), 0, "from_root_node takes a loaded tree");
        Mst {
            root: Link::Node(Box::new(root)),
            removed: Vec::new(),
            stubs: 0,
        }
    }

    /// The CID of the empty tree (`{e: [], l: null}`).
    pub fn empty_root() -> Cid {
        NodeData {
            left: None,
            entries: Vec::new(),
        }
        .cid()
    }

    /// The root CID, hashing whatever was edited since it was last computed.
    pub fn root(&mut self) -> Cid {
        match &mut self.root {
            Link::Stub(cid) => *cid,
            Link::Node(node) => seal(node, &mut Vec::new()),
        }
    }

    /// The record CID stored under `key`, if any.
    pub async fn get<S: BlockStore>(
        &mut self,
        store: &S,
        key: &str,
    ) -> Result<Option<Cid>, MstError> {
        validate_key(key)?;
        self.ensure(store, key, Reach::Path).await?;
        Ok(self.get_loaded(key.as_bytes()))
    }

    /// Sets `key` to `value`, creating or replacing it; returns the previous value.
    pub async fn insert<S: BlockStore>(
        &mut self,
        store: &S,
        key: &str,
        value: Cid,
    ) -> Result<Option<Cid>, MstError> {
        validate_key(key)?;
        self.ensure(store, key, Reach::Path).await?;
        // `ensure` just checked that the path is loaded: no second walk.
        self.insert_loaded(key, value)
    }

    /// Removes `key`; returns the value it had, or `None` if it was not there.
    pub async fn remove<S: BlockStore>(
        &mut self,
        store: &S,
        key: &str,
    ) -> Result<Option<Cid>, MstError> {
        validate_key(key)?;
        self.ensure(store, key, Reach::Remove).await?;
        // `ensure` just checked that the reach is loaded: no second walk.
        self.remove_loaded(key.as_bytes())
    }

    /// Re-hashes the edited nodes and returns the new root, the new node blocks and the CIDs of
    /// stored nodes no longer in the tree, then starts a new change set.
    pub fn take_changes(&mut self) -> TreeChanges {
        let mut new_nodes = Vec::new();
        let root = match &mut self.root {
            Link::Stub(cid) => *cid,
            Link::Node(node) => seal_and_collect(node, &mut new_nodes),
        };
        let mut removed = std::mem::take(&mut self.removed);
        if !removed.is_empty() {
            removed.sort_unstable();
            removed.dedup();
            // A node edited back to what it was is neither new nor removed.
            let new_set: HashSet<Cid> = new_nodes.iter().map(|(c, _)| *c).collect();
            let removed_set: HashSet<Cid> = removed.iter().copied().collect();
            removed.retain(|c| !new_set.contains(c));
            new_nodes.retain(|(c, _)| !removed_set.contains(c));
        }
        TreeChanges {
            root,
            new_nodes,
            removed,
        }
    }

    /// Loads, from `store`, every node an operation on `key` with this reach may visit. When it
    /// returns `Ok`, nothing in the reach is a stub, which is what [`Mst::check_loaded`] checks.
    pub(crate) async fn ensure<S: BlockStore>(
        &mut self,
        store: &S,
        key: &str,
        reach: Reach,
    ) -> Result<(), MstError> {
        if self.stubs == 0 {
            // The whole tree is in memory.
            return Ok(());
        }
        if reach == Reach::Path {
            return self.ensure_path(store, key.as_bytes()).await;
        }
        let mut missing = Vec::new();
        loop {
            missing.clear();
            self.collect_missing(key.as_bytes(), reach, &mut missing);
            if missing.is_empty() {
                return Ok(());
            }
            let cids: Vec<Cid> = missing.iter().map(|m| m.cid).collect();
            let blocks = store.get_many(&cids).await?;
            for (m, bytes) in missing.iter().zip(blocks) {
                let bytes = bytes.ok_or(MstError::MissingBlock(m.cid))?;
                self.install(&m.path, m.cid, &bytes)?;
            }
        }
    }

    /// `ensure` for [`Reach::Path`]: the path holds at most one stub at a time, so load it and
    /// go on down from there, rather than walk again from the root after each load. Loads the
    /// same nodes, in the same order, with the same checks.
    async fn ensure_path<S: BlockStore>(&mut self, store: &S, key: &[u8]) -> Result<(), MstError> {
        let mut path: Vec<u16> = Vec::new();
        while let Some(cid) = self.next_stub_on_path(key, &mut path) {
            let bytes = store.get_many(&[cid]).await?.into_iter().next().flatten();
            let bytes = bytes.ok_or(MstError::MissingBlock(cid))?;
            self.install(&path, cid, &bytes)?;
        }
        Ok(())
    }

    /// The first stub on the key's path, if any, at or below the loaded node at `path` (child
    /// slot indices from the root); on return `path` leads to that stub.
    fn next_stub_on_path(&self, key: &[u8], path: &mut Vec<u16>) -> Option<Cid> {
        let mut node: &Node = match &self.root {
            Link::Stub(cid) => return Some(*cid),
            Link::Node(node) => node,
        };
        for &slot in path.iter() {
            node = match node.slot(slot as usize) {
                Some(Link::Node(child)) => child,
                // `path` was the stub just installed, so this does not happen; look again
                // from the root.
                _ => {
                    path.clear();
                    return self.next_stub_on_path(key, path);
                }
            };
        }
        loop {
            let Err(i) = node.find(key) else {
                return None;
            };
            match node.slot(i) {
                None => return None,
                Some(Link::Stub(cid)) => {
                    path.push(i as u16);
                    return Some(*cid);
                }
                Some(Link::Node(child)) => {
                    path.push(i as u16);
                    node = child;
                }
            }
        }
    }

    /// The stubs in the key's reach that are not loaded yet (those reachable through loaded
    /// nodes; loading them may reveal more).
    pub(crate) fn collect_missing(&self, key: &[u8], reach: Reach, out: &mut Vec<Missing>) {
        if self.stubs == 0 {
            return;
        }
        let node = match &self.root {
            Link::Stub(cid) => {
                out.push(Missing {
                    cid: *cid,
                    path: Vec::new(),
                });
                return;
            }
            Link::Node(node) => node,
        };
        let mut path = Vec::new();
        let mut node: &Node = node;
        let mut is_root = true;
        loop {
            let i = match node.find(key) {
                Err(i) => i,
                Ok(i) => {
                    match reach {
                        Reach::Path => {}
                        Reach::Covering => {
                            edge(node.slot(i), &mut path, i, Edge::Right, out);
                            edge(node.slot(i + 1), &mut path, i + 1, Edge::Left, out);
                        }
                        Reach::Remove => {
                            let single = is_root && node.entries.len() == 1;
                            seam(node, i, &path, single, out);
                        }
                    }
                    return;
                }
            };
            match node.slot(i) {
                None => return,
                Some(Link::Stub(cid)) => {
                    path.push(i as u16);
                    out.push(Missing { cid: *cid, path });
                    return;
                }
                Some(Link::Node(child)) => {
                    path.push(i as u16);
                    node = child;
                    is_root = false;
                }
            }
        }
    }

    /// Every loaded node in the key's reach, parents first (call [`Mst::root`] before, so that
    /// each has its CID). Only `Path` and `Covering` are meaningful here.
    pub(crate) fn reach_nodes<'a>(&'a self, key: &[u8], reach: Reach, out: &mut Vec<&'a Node>) {
        fn edge_nodes<'a>(mut link: Option<&'a Link>, side: Edge, out: &mut Vec<&'a Node>) {
            while let Some(Link::Node(node)) = link {
                out.push(node);
                link = match side {
                    Edge::Left => node.slot(0),
                    Edge::Right => node.slot(node.entries.len()),
                };
            }
        }
        let Link::Node(node) = &self.root else {
            return;
        };
        let mut node: &Node = node;
        loop {
            out.push(node);
            match node.find(key) {
                Ok(i) => {
                    if reach == Reach::Covering {
                        edge_nodes(node.slot(i), Edge::Right, out);
                        edge_nodes(node.slot(i + 1), Edge::Left, out);
                    }
                    return;
                }
                Err(i) => match node.slot(i) {
                    Some(Link::Node(child)) => node = child,
                    _ => return,
                },
            }
        }
    }

    /// Loads every node of the key's covering reach and appends those not in `skip` to `out`
    /// as blocks, adding them to `skip`: the unchanged nodes a commit diff carries for a
    /// changed key so that receivers can invert it.
    pub async fn covering_nodes<S: BlockStore>(
        &mut self,
        store: &S,
        key: &str,
        skip: &mut HashSet<Cid>,
        out: &mut Vec<(Cid, Vec<u8>)>,
    ) -> Result<(), MstError> {
        self.ensure(store, key, Reach::Covering).await?;
        self.root();
        let mut nodes = Vec::new();
        self.reach_nodes(key.as_bytes(), Reach::Covering, &mut nodes);
        for node in nodes {
            let cid = node.cid.expect("hashed above");
            if skip.insert(cid) {
                out.push((cid, node.encode()));
            }
        }
        Ok(())
    }

    /// Replaces the stub at `path` with the node in `bytes`, after checking the bytes hash to
    /// `cid` and the node keeps every tree rule at that place: its keys have its depth and fall
    /// inside the range its parent gives it, it is not an empty leaf, and a root is not an empty
    /// node pointing to a subtree.
    pub(crate) fn install(&mut self, path: &[u16], cid: Cid, bytes: &[u8]) -> Result<(), MstError> {
        if Cid::for_dag_cbor(bytes) != cid {
            return Err(MstError::HashMismatch(cid));
        }
        let data = NodeData::decode(bytes).map_err(|e| e.at(cid))?;
        let links =
            data.left.iter().count() + data.entries.iter().filter(|e| e.right.is_some()).count();
        let Some((&last, parents)) = path.split_last() else {
            let height = root_height(&data);
            check_node(&data, cid, height, None, None, true)?;
            let old = std::mem::replace(
                &mut self.root,
                Link::Node(Box::new(Node::from_data(data, height, cid))),
            );
            let gone = match &old {
                Link::Stub(_) => 1,
                Link::Node(node) => count_stubs(node),
            };
            self.stubs = self.stubs + links - gone;
            return Ok(());
        };

        // Find the range and depth the parent gives this slot.
        let Link::Node(parent) = &self.root else {
            return Err(MstError::Corrupt("stub below an unloaded root".into()));
        };
        let mut parent: &Node = parent;
        let mut lo: Option<&str> = None;
        let mut hi: Option<&str> = None;
        for &slot in parents {
            narrow(parent, slot as usize, &mut lo, &mut hi);
            match parent.slot(slot as usize) {
                Some(Link::Node(child)) => parent = child,
                _ => {
                    return Err(MstError::Corrupt(
                        "stub path crosses an unloaded node".into(),
                    ))
                }
            }
        }
        narrow(parent, last as usize, &mut lo, &mut hi);
        match parent.slot(last as usize) {
            Some(Link::Stub(c)) if *c == cid => {}
            _ => {
                return Err(MstError::Corrupt(
                    "stub path does not end at the stub".into(),
                ))
            }
        }
        let height = parent
            .height
            .checked_sub(1)
            .ok_or_else(|| MstError::Invalid {
                cid,
                reason: "a node at depth 0 has a subtree".into(),
            })?;
        check_node(&data, cid, height, lo, hi, false)?;

        let node = Node::from_data(data, height, cid);
        let mut parent = match &mut self.root {
            Link::Node(n) => n,
            Link::Stub(_) => unreachable!("checked above"),
        };
        for &slot in parents {
            parent = match parent.slot_mut(slot as usize) {
                Some(Link::Node(child)) => child,
                _ => unreachable!("checked above"),
            };
        }
        *parent.slot_mut(last as usize) = Some(Link::Node(Box::new(node)));
        // One stub replaced by a node whose links are all stubs.
        self.stubs = self.stubs + links - 1;
        Ok(())
    }

    /// Lookup over loaded nodes (after `ensure(.., Reach::Path)`).
    pub(crate) fn get_loaded(&self, key: &[u8]) -> Option<Cid> {
        let Link::Node(node) = &self.root else {
            return None;
        };
        let mut node: &Node = node;
        loop {
            match node.find(key) {
                Ok(i) => return Some(node.entries[i].value),
                Err(i) => match node.slot(i) {
                    Some(Link::Node(child)) => node = child,
                    _ => return None,
                },
            }
        }
    }

    /// The stub count kept in `stubs`, counted again (for tests).
    #[cfg(test)]
    pub(crate) fn counted_stubs(&self) -> (usize, usize) {
        let counted = match &self.root {
            Link::Stub(_) => 1,
            Link::Node(node) => count_stubs(node),
        };
        (self.stubs, counted)
    }

    /// Fails, without changing anything, if a node the operation on `key` may touch is not
    /// loaded. `ensure` returns only once this passes, so the edits that follow it do not walk
    /// the reach a second time; debug builds check it again before each edit.
    fn check_loaded(&self, key: &[u8], reach: Reach) -> Result<(), MstError> {
        if self.stubs == 0 {
            return Ok(());
        }
        let mut missing = Vec::new();
        self.collect_missing(key, reach, &mut missing);
        match missing.first() {
            None => Ok(()),
            Some(m) => Err(MstError::NotLoaded(m.cid)),
        }
    }

    /// The insert, once the key's path is loaded (`ensure(.., Reach::Path)` or
    /// [`Mst::check_loaded`] passed, and nothing changed since).
    fn insert_loaded(&mut self, key: &str, value: Cid) -> Result<Option<Cid>, MstError> {
        debug_assert!(self.check_loaded(key.as_bytes(), Reach::Path).is_ok());
        let height = key_height(key.as_bytes());
        let removed = &mut self.removed;
        let root = match &mut self.root {
            Link::Node(root) => root,
            Link::Stub(cid) => return Err(MstError::NotLoaded(*cid)),
        };
        if root.is_empty() {
            touch(root, removed);
            root.height = height;
            root.entries.push(Entry {
                key: key.into(),
                value,
                right: None,
            });
            return Ok(None);
        }
        if height <= root.height {
            return insert_at(root, key, height, value, removed);
        }
        // The key goes above the current root: split the whole tree around it and put it in a
        // new root, with empty nodes between so that no depth is skipped.
        let old = std::mem::replace(root, Box::new(Node::empty(0)));
        let (left, right) = split(old, key.as_bytes(), removed)?;
        let raise = |mut n: Box<Node>| {
            while n.height + 1 < height {
                let mut parent = Node::empty(n.height + 1);
                parent.left = Some(Link::Node(n));
                n = Box::new(parent);
            }
            Link::Node(n)
        };
        let mut new_root = Node::empty(height);
        new_root.left = left.map(raise);
        new_root.entries.push(Entry {
            key: key.into(),
            value,
            right: right.map(raise),
        });
        **root = new_root;
        Ok(None)
    }

    /// The removal, once its reach is loaded (`ensure(.., Reach::Remove)` or
    /// [`Mst::check_loaded`] passed, and nothing changed since).
    fn remove_loaded(&mut self, key: &[u8]) -> Result<Option<Cid>, MstError> {
        debug_assert!(self.check_loaded(key, Reach::Remove).is_ok());
        let height = key_height(key);
        let removed = &mut self.removed;
        let root = match &mut self.root {
            Link::Node(root) => root,
            Link::Stub(cid) => return Err(MstError::NotLoaded(*cid)),
        };
        if root.is_empty() || height > root.height {
            return Ok(None);
        }
        let old = remove_at(root, key, height, removed)?;
        if old.is_some() {
            // Trim the top: the root must not be an empty node pointing to a subtree.
            while root.entries.is_empty() {
                match root.left.take() {
                    Some(Link::Node(child)) => {
                        touch(root, removed);
                        *root = child;
                    }
                    Some(Link::Stub(cid)) => {
                        // Unreachable after ensure; restore and report.
                        root.left = Some(Link::Stub(cid));
                        return Err(MstError::NotLoaded(cid));
                    }
                    None => {
                        // The tree is now empty.
                        root.height = 0;
                        break;
                    }
                }
            }
        }
        Ok(old)
    }
}

#[derive(Clone, Copy)]
enum Edge {
    /// Follow each node's first slot.
    Left,
    /// Follow each node's last slot.
    Right,
}

/// Reports the first stub down one edge of the subtree in `link` (at `slot` below `path`).
fn edge(link: Option<&Link>, path: &mut Vec<u16>, slot: usize, side: Edge, out: &mut Vec<Missing>) {
    let depth = path.len();
    path.push(slot as u16);
    let mut link = link;
    while let Some(l) = link {
        match l {
            Link::Stub(cid) => {
                out.push(Missing {
                    cid: *cid,
                    path: path.clone(),
                });
                break;
            }
            Link::Node(node) => {
                let next = match side {
                    Edge::Left => 0,
                    Edge::Right => node.entries.len(),
                };
                path.push(next as u16);
                link = node.slot(next);
            }
        }
    }
    path.truncate(depth);
}

/// Reports the stubs a removal of entry `i` of `node` must load: the facing edges of the
/// subtrees either side while both go on (they get merged), and, if the entry is the root's
/// only one (`single`), the entry-less chain the top is trimmed through.
fn seam(node: &Node, i: usize, path: &[u16], single: bool, out: &mut Vec<Missing>) {
    let mut a = node.slot(i).map(|l| (l, path_with(path, i)));
    let mut b = node.slot(i + 1).map(|l| (l, path_with(path, i + 1)));
    if single && (a.is_none() || b.is_none()) {
        // The only subtree left becomes the root; trim down while it has no entries.
        let mut link = a.or(b);
        while let Some((l, p)) = link {
            match l {
                Link::Stub(cid) => {
                    out.push(Missing { cid: *cid, path: p });
                    return;
                }
                Link::Node(n) if n.entries.is_empty() => {
                    link = n.left.as_ref().map(|l| (l, path_with(&p, 0)));
                }
                Link::Node(_) => return,
            }
        }
        return;
    }
    while let (Some((la, pa)), Some((lb, pb))) = (a, b) {
        let (na, nb) = match (la, lb) {
            (Link::Node(na), Link::Node(nb)) => (na, nb),
            _ => {
                for (l, p) in [(la, pa), (lb, pb)] {
                    if let Link::Stub(cid) = l {
                        out.push(Missing { cid: *cid, path: p });
                    }
                }
                return;
            }
        };
        let last = na.entries.len();
        a = na.slot(last).map(|l| (l, path_with(&pa, last)));
        b = nb.slot(0).map(|l| (l, path_with(&pb, 0)));
    }
}

fn path_with(path: &[u16], slot: usize) -> Vec<u16> {
    let mut p = Vec::with_capacity(path.len() + 1);
    p.extend_from_slice(path);
    p.push(slot as u16);
    p
}

/// Narrows a range (`lo`, `hi`) to child slot `slot` of `node`.
fn narrow<'a>(node: &'a Node, slot: usize, lo: &mut Option<&'a str>, hi: &mut Option<&'a str>) {
    if slot > 0 {
        *lo = Some(node.entries[slot - 1].key.as_str());
    }
    if slot < node.entries.len() {
        *hi = Some(node.entries[slot].key.as_str());
    }
}

/// The depth of a root node: its keys' depth, or 0 for the empty tree.
pub(crate) fn root_height(data: &NodeData) -> u8 {
    data.entries
        .first()
        .map(|e| key_height(e.key.as_bytes()))
        .unwrap_or(0)
}

/// The tree rules for one node read from outside, given the depth and key range its place in
/// the tree assigns it.
pub(crate) fn check_node(
    data: &NodeData,
    cid: Cid,
    height: u8,
    lo: Option<&str>,
    hi: Option<&str>,
    is_root: bool,
) -> Result<(), MstError> {
    let invalid = |reason: String| Err(MstError::Invalid { cid, reason });
    if is_root && data.entries.is_empty() && data.left.is_some() {
        return invalid(
            "the root is an empty node pointing to a subtree (the top was not trimmed)".into(),
        );
    }
    if !is_root && data.entries.is_empty() && data.left.is_none() {
        return invalid("an empty node below the root (empty leaves must be pruned)".into());
    }
    if height == 0 && (data.left.is_some() || data.entries.iter().any(|e| e.right.is_some())) {
        return invalid("a node at depth 0 has a subtree".into());
    }
    for entry in &data.entries {
        let h = key_height(entry.key.as_bytes());
        if h != height {
            return invalid(format!(
                "key {:?} has depth {h} but sits in a node at depth {height}",
                entry.key
            ));
        }
    }
    if let (Some(lo), Some(first)) = (lo, data.entries.first()) {
        if first.key.as_str() <= lo {
            return invalid(format!(
                "key {:?} is not after {lo:?}, the key before this subtree",
                first.key
            ));
        }
    }
    if let (Some(hi), Some(last)) = (hi, data.entries.last()) {
        if last.key.as_str() >= hi {
            return invalid(format!(
                "key {:?} is not before {hi:?}, the key after this subtree",
                last.key
            ));
        }
    }
    Ok(())
}

/// The stubs in the subtree of a loaded node.
pub(crate) fn count_stubs(node: &Node) -> usize {
    std::iter::once(&node.left)
        .chain(node.entries.iter().map(|e| &e.right))
        .map(|link| match link {
            None => 0,
            Some(Link::Stub(_)) => 1,
            Some(Link::Node(child)) => count_stubs(child),
        })
        .sum()
}

/// Marks a node edited: forgets its CID, and remembers it as removed if it had been stored.
fn touch(node: &mut Node, removed: &mut Vec<Cid>) {
    if let Some(cid) = node.cid.take() {
        if !node.fresh {
            removed.push(cid);
        }
    }
}

// An edit only meets stubs if `Reach` missed a node it needs, which `ensure` rules out;
// these report that as an error rather than panic, and the caller drops the half-edited tree.
fn loaded(link: Link) -> Result<Box<Node>, MstError> {
    match link {
        Link::Node(node) => Ok(node),
        Link::Stub(cid) => Err(MstError::NotLoaded(cid)),
    }
}

fn loaded_mut(link: &mut Link) -> Result<&mut Node, MstError> {
    match link {
        Link::Node(node) => Ok(node),
        Link::Stub(cid) => Err(MstError::NotLoaded(*cid)),
    }
}

fn insert_at(
    node: &mut Node,
    key: &str,
    height: u8,
    value: Cid,
    removed: &mut Vec<Cid>,
) -> Result<Option<Cid>, MstError> {
    let pos = node.find(key.as_bytes());
    if node.height == height {
        match pos {
            Ok(i) => {
                let old = node.entries[i].value;
                if old != value {
                    touch(node, removed);
                    node.entries[i].value = value;
                }
                Ok(Some(old))
            }
            Err(i) => {
                if node.entries.len() >= MAX_NODE_ENTRIES {
                    return Err(MstError::NodeTooWide(key.to_string()));
                }
                touch(node, removed);
                let (left, right) = match node.slot_mut(i).take() {
                    Some(child) => split(loaded(child)?, key.as_bytes(), removed)?,
                    None => (None, None),
                };
                *node.slot_mut(i) = left.map(Link::Node);
                node.entries.insert(
                    i,
                    Entry {
                        key: key.into(),
                        value,
                        right: right.map(Link::Node),
                    },
                );
                Ok(None)
            }
        }
    } else {
        let i = match pos {
            Err(i) => i,
            Ok(_) => {
                return Err(MstError::Corrupt(format!(
                    "key {key:?} found in a node of the wrong depth"
                )))
            }
        };
        match node.slot_mut(i) {
            Some(child) => {
                let old = insert_at(loaded_mut(child)?, key, height, value, removed)?;
                if old != Some(value) {
                    touch(node, removed);
                }
                Ok(old)
            }
            None => {
                // A new subtree: the key's own node, under empty nodes down from this one.
                touch(node, removed);
                let mut sub = Node::empty(height);
                sub.entries.push(Entry {
                    key: key.into(),
                    value,
                    right: None,
                });
                let mut sub = Box::new(sub);
                while sub.height + 1 < node.height {
                    let mut parent = Node::empty(sub.height + 1);
                    parent.left = Some(Link::Node(sub));
                    sub = Box::new(parent);
                }
                *node.slot_mut(i) = Some(Link::Node(sub));
                Ok(None)
            }
        }
    }
}

/// The parts of a split subtree before and after a key, each `None` if empty.
type Halves = (Option<Box<Node>>, Option<Box<Node>>);

/// Splits a subtree around `key` (which is not in it and belongs above it) into the parts
/// before and after the key, each `None` if empty. Only the nodes on the key's path change.
fn split(mut node: Box<Node>, key: &[u8], removed: &mut Vec<Cid>) -> Result<Halves, MstError> {
    let i = match node.find(key) {
        Err(i) => i,
        Ok(_) => {
            return Err(MstError::Corrupt(format!(
                "key {} found in a node of the wrong depth",
                String::from_utf8_lossy(key)
            )))
        }
    };
    if node.slot(i).is_none() {
        // The key falls between entries with nothing below: one side may be the whole node,
        // unchanged.
        if i == node.entries.len() {
            return Ok((Some(node), None));
        }
        if i == 0 {
            return Ok((None, Some(node)));
        }
    }
    touch(&mut node, removed);
    let (sub_left, sub_right) = match node.slot_mut(i).take() {
        Some(child) => split(loaded(child)?, key, removed)?,
        None => (None, None),
    };
    let right_entries = node.entries.split_off(i);
    let right = if right_entries.is_empty() && sub_right.is_none() {
        None
    } else {
        let mut r = Node::empty(node.height);
        r.left = sub_right.map(Link::Node);
        r.entries = right_entries;
        Some(Box::new(r))
    };
    // Slot i is now this node's last slot.
    *node.slot_mut(i) = sub_left.map(Link::Node);
    let left = if node.is_empty() { None } else { Some(node) };
    Ok((left, right))
}

fn remove_at(
    node: &mut Node,
    key: &[u8],
    height: u8,
    removed: &mut Vec<Cid>,
) -> Result<Option<Cid>, MstError> {
    let pos = node.find(key);
    if node.height == height {
        let Ok(i) = pos else { return Ok(None) };
        touch(node, removed);
        let entry = node.entries.remove(i);
        // The subtrees either side of the removed key become neighbours: merge them.
        let before = node.slot_mut(i).take();
        *node.slot_mut(i) = merge(before, entry.right, removed)?;
        return Ok(Some(entry.value));
    }
    let Err(i) = pos else {
        return Err(MstError::Corrupt(format!(
            "key found in a node of the wrong depth ({} at {})",
            String::from_utf8_lossy(key),
            node.height
        )));
    };
    let Some(child) = node.slot_mut(i) else {
        return Ok(None);
    };
    let child = loaded_mut(child)?;
    let old = remove_at(child, key, height, removed)?;
    if old.is_some() {
        let now_empty = child.is_empty();
        touch(node, removed);
        if now_empty {
            *node.slot_mut(i) = None;
        }
    }
    Ok(old)
}

/// Joins two adjacent subtrees of the same depth (all of `a`'s keys before `b`'s).
fn merge(
    a: Option<Link>,
    b: Option<Link>,
    removed: &mut Vec<Cid>,
) -> Result<Option<Link>, MstError> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x),
        (Some(a), Some(b)) => {
            let mut a = loaded(a)?;
            let mut b = loaded(b)?;
            touch(&mut a, removed);
            touch(&mut b, removed);
            let last = a.entries.len();
            let a_edge = a.slot_mut(last).take();
            let b_edge = b.left.take();
            *a.slot_mut(last) = merge(a_edge, b_edge, removed)?;
            a.entries.append(&mut b.entries);
            Ok(Some(Link::Node(a)))
        }
    }
}

/// Hashes every edited node under and including `node`, encoding each into `buf`; returns its
/// CID.
fn seal(node: &mut Node, buf: &mut Vec<u8>) -> Cid {
    if let Some(cid) = node.cid {
        return cid;
    }
    if let Some(Link::Node(child)) = &mut node.left {
        seal(child, buf);
    }
    for entry in &mut node.entries {
        if let Some(Link::Node(child)) = &mut entry.right {
            seal(child, buf);
        }
    }
    buf.clear();
    node.encode_into(buf);
    let cid = Cid::for_dag_cbor(buf);
    node.cid = Some(cid);
    node.fresh = true;
    cid
}

/// Hashes every edited node and collects the bytes of every node hashed since the last
/// collection (children first); returns the node's CID.
fn seal_and_collect(node: &mut Node, out: &mut Vec<(Cid, Vec<u8>)>) -> Cid {
    if let Some(cid) = node.cid {
        if !node.fresh {
            return cid;
        }
    }
    let pending =
        |link: &Option<Link>| matches!(link, Some(Link::Node(c)) if c.cid.is_none() || c.fresh);
    if pending(&node.left) {
        if let Some(Link::Node(child)) = &mut node.left {
            seal_and_collect(child, out);
        }
    }
    for entry in &mut node.entries {
        if pending(&entry.right) {
            if let Some(Link::Node(child)) = &mut entry.right {
                seal_and_collect(child, out);
            }
        }
    }
    let bytes = node.encode();
    let cid = match node.cid {
        Some(cid) => cid,
        None => Cid::for_dag_cbor(&bytes),
    };
    node.cid = Some(cid);
    node.fresh = false;
    out.push((cid, bytes));
    cid
}
