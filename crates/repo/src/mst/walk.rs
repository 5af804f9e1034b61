//! Walking keys in order: ranges, cursors, reverse.

use std::ops::Bound;

use data::Cid;

use super::tree::{Link, Missing, Mst, Node};
use super::MstError;
use crate::blockstore::BlockStore;

enum Step {
    /// Went through the whole node.
    Continue,
    /// Reached the end of the range or the caller asked to stop.
    Stop,
    /// Needs this stub loaded first.
    Need(Missing),
}

impl Mst {
    /// Calls `f(key, cid)` for each key in the range, in ascending order (descending if
    /// `reverse`), until it returns `false`. Loads only the nodes the range reaches.
    pub async fn walk_range<S: BlockStore>(
        &mut self,
        store: &S,
        lo: Bound<&str>,
        hi: Bound<&str>,
        reverse: bool,
        mut f: impl FnMut(&str, Cid) -> bool,
    ) -> Result<(), MstError> {
        let mut lo = owned(lo);
        let mut hi = owned(hi);
        loop {
            let mut last: Option<String> = None;
            let step = match &self.root {
                Link::Stub(cid) => Step::Need(Missing {
                    cid: *cid,
                    path: Vec::new(),
                }),
                Link::Node(root) => {
                    let range = (borrowed(&lo), borrowed(&hi));
                    walk_node(root, range, reverse, &mut f, &mut last, &mut Vec::new())
                }
            };
            match step {
                Step::Continue | Step::Stop => return Ok(()),
                Step::Need(missing) => {
                    // Resume after the last key handed out, once the stub is loaded.
                    if let Some(last) = last {
                        if reverse {
                            hi = Bound::Excluded(last);
                        } else {
                            lo = Bound::Excluded(last);
                        }
                    }
                    let bytes = store
                        .get(&missing.cid)
                        .await?
                        .ok_or(MstError::MissingBlock(missing.cid))?;
                    self.install(&missing.path, missing.cid, &bytes)?;
                }
            }
        }
    }

    /// Up to `limit` entries in the range, in ascending order (descending if `reverse`).
    pub async fn list<S: BlockStore>(
        &mut self,
        store: &S,
        lo: Bound<&str>,
        hi: Bound<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, Cid)>, MstError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.walk_range(store, lo, hi, reverse, |k, v| {
            out.push((k.to_string(), v));
            out.len() < limit
        })
        .await?;
        Ok(out)
    }

    /// Every entry, in key order.
    pub async fn entries<S: BlockStore>(
        &mut self,
        store: &S,
    ) -> Result<Vec<(String, Cid)>, MstError> {
        self.list(store, Bound::Unbounded, Bound::Unbounded, usize::MAX, false)
            .await
    }
}

fn owned(b: Bound<&str>) -> Bound<String> {
    match b {
        Bound::Included(s) => Bound::Included(s.to_string()),
        Bound::Excluded(s) => Bound::Excluded(s.to_string()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn borrowed(b: &Bound<String>) -> Bound<&[u8]> {
    match b {
        Bound::Included(s) => Bound::Included(s.as_bytes()),
        Bound::Excluded(s) => Bound::Excluded(s.as_bytes()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn above(key: &[u8], hi: Bound<&[u8]>) -> bool {
    match hi {
        Bound::Included(h) => key > h,
        Bound::Excluded(h) => key >= h,
        Bound::Unbounded => false,
    }
}

fn below(key: &[u8], lo: Bound<&[u8]>) -> bool {
    match lo {
        Bound::Included(l) => key < l,
        Bound::Excluded(l) => key <= l,
        Bound::Unbounded => false,
    }
}

/// Items of a node are numbered 0..=2n: even `2s` is child slot `s`, odd `2i + 1` is entry `i`.
fn walk_node(
    node: &Node,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    reverse: bool,
    f: &mut impl FnMut(&str, Cid) -> bool,
    last: &mut Option<String>,
    path: &mut Vec<u16>,
) -> Step {
    let (lo, hi) = range;
    let n = node.entries.len();
    let items: Box<dyn Iterator<Item = usize>> = if reverse {
        let start = match hi {
            Bound::Unbounded => 2 * n,
            Bound::Included(k) => match node.find(k) {
                Ok(i) => 2 * i + 1,
                Err(i) => 2 * i,
            },
            Bound::Excluded(k) => match node.find(k) {
                Ok(i) | Err(i) => 2 * i,
            },
        };
        Box::new((0..=start).rev())
    } else {
        let start = match lo {
            Bound::Unbounded => 0,
            Bound::Included(k) => match node.find(k) {
                Ok(i) => 2 * i + 1,
                Err(i) => 2 * i,
            },
            Bound::Excluded(k) => match node.find(k) {
                Ok(i) => 2 * i + 2,
                Err(i) => 2 * i,
            },
        };
        Box::new(start..=2 * n)
    };
    for item in items {
        if item % 2 == 1 {
            let entry = &node.entries[item / 2];
            let key = entry.key.as_bytes();
            let outside = if reverse {
                below(key, lo)
            } else {
                above(key, hi)
            };
            if outside {
                return Step::Stop;
            }
            if !f(entry.key.as_str(), entry.value) {
                return Step::Stop;
            }
            *last = Some(entry.key.as_str().to_string());
        } else {
            let slot = item / 2;
            match node.slot(slot) {
                None => {}
                Some(Link::Stub(cid)) => {
                    let mut p = path.clone();
                    p.push(slot as u16);
                    return Step::Need(Missing { cid: *cid, path: p });
                }
                Some(Link::Node(child)) => {
                    path.push(slot as u16);
                    let step = walk_node(child, range, reverse, f, last, path);
                    path.pop();
                    if !matches!(step, Step::Continue) {
                        return step;
                    }
                }
            }
        }
    }
    Step::Continue
}
