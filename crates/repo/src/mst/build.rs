//! Building a whole tree at once from sorted keys (import, benchmarks, tests).

use data::Cid;

use super::key::{key_height, validate_key};
use super::node::MAX_NODE_ENTRIES;
use super::tree::{Entry, Key, Link, Mst, Node};
use super::MstError;

struct Item {
    key: Key,
    value: Cid,
    height: u8,
}

impl Mst {
    /// Builds the tree for `items`, which must be in strictly ascending key order.
    ///
    /// This hashes each key once and lays the tree out level by level, without the splits
    /// and merges of one-at-a-time inserts. Nothing is hashed or stored: the whole tree counts
    /// as new, so [`Mst::take_changes`] returns every node.
    pub fn from_sorted<K: AsRef<str>>(
        items: impl IntoIterator<Item = (K, Cid)>,
    ) -> Result<Mst, MstError> {
        let mut list: Vec<Item> = Vec::new();
        for (key, value) in items {
            let key = key.as_ref();
            validate_key(key)?;
            if let Some(prev) = list.last() {
                if prev.key.as_bytes() >= key.as_bytes() {
                    return Err(MstError::Unsorted(key.to_string()));
                }
            }
            list.push(Item {
                key: key.into(),
                value,
                height: key_height(key.as_bytes()),
            });
        }
        let Some(top) = list.iter().map(|i| i.height).max() else {
            return Ok(Mst::new());
        };
        Ok(Mst::from_root_node(*build(&mut list, top)?))
    }
}

/// The node at `height` holding `items` (all of depth `height` or less, at least one).
fn build(items: &mut [Item], height: u8) -> Result<Box<Node>, MstError> {
    let mut node = Node::empty(height);
    let mut start = 0;
    for i in 0..items.len() {
        if items[i].height == height {
            if start < i {
                let child = build(&mut items[start..i], height - 1)?;
                set_last_slot(&mut node, child);
            }
            if node.entries.len() >= MAX_NODE_ENTRIES {
                return Err(MstError::NodeTooWide(items[i].key.as_str().to_string()));
            }
            node.entries.push(Entry {
                key: std::mem::take(&mut items[i].key),
                value: items[i].value,
                right: None,
            });
            start = i + 1;
        }
    }
    if start < items.len() {
        let child = build(&mut items[start..], height - 1)?;
        set_last_slot(&mut node, child);
    }
    Ok(Box::new(node))
}

fn set_last_slot(node: &mut Node, child: Box<Node>) {
    match node.entries.last_mut() {
        Some(entry) => entry.right = Some(Link::Node(child)),
        None => node.left = Some(Link::Node(child)),
    }
}
