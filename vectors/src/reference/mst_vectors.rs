//! (i) Replays the reference's MST histories (`mst-vectors.json`, written by
//! `vectors/reference/gen-mst.mjs`) on our tree and compares every root.
//!
//! Per vector, phase by phase, on one [`MemoryBlockStore`]:
//! - the operations go through [`Mst::insert`] / [`Mst::remove`], checking what each returns
//!   (an `add` finds no previous value, an `update` finds the old one, a `delete` the current one);
//! - our root after the phase must be the reference's root (group `mst roots <kind>`). Where the
//!   reference's edited tree reached a root other than its own fresh build of the same map (a
//!   history-dependent, non-canonical tree: the vector says `canonicalRoot`), ours must equal
//!   the fresh build, and the case is counted in the group `mst reference history quirk`;
//! - the phase's change set ([`Mst::take_changes`]) is applied to the store, which must then hold
//!   exactly the nodes of the tree and nothing else: the new nodes and the removed ones are right
//!   (group `mst change sets`);
//! - [`Mst::from_sorted`] over the same map must give the same root (group `mst bulk build`).
//!
//! Every other vector continues from a tree reloaded from its root CID, so the next phase's edits
//! load their nodes lazily from the store; the others keep the tree in memory.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use data::Cid;
use repo::mst::Mst;
use repo::{BlockStore, MemoryBlockStore};
use serde::Deserialize;

use super::Tally;
use crate::reference::block_on;

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    kind: String,
    phases: Vec<Phase>,
}

#[derive(Deserialize)]
struct Phase {
    add: Option<Vec<(String, String)>>,
    update: Option<Vec<(String, String)>>,
    delete: Option<Vec<String>>,
    root: String,
    /// The reference's fresh build of the same map, where its edited tree reached another root.
    #[serde(rename = "canonicalRoot")]
    canonical_root: Option<String>,
    count: usize,
}

impl Phase {
    fn describe(&self) -> String {
        match (&self.add, &self.update, &self.delete) {
            (Some(a), _, _) => format!("add {}", a.len()),
            (_, Some(u), _) => format!("update {}", u.len()),
            (_, _, Some(d)) => format!("delete {}", d.len()),
            _ => "empty".into(),
        }
    }
}

pub fn check(path: &Path, tally: &mut Tally) {
    let file: VectorFile = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(f) => f,
        Err(e) => {
            tally.record("mst vectors", Err(format!("{}: {e}", path.display())));
            return;
        }
    };
    let mut roots = 0usize;
    let mut ops = 0usize;
    for (i, v) in file.vectors.iter().enumerate() {
        roots += v.phases.len();
        ops += v
            .phases
            .iter()
            .map(|p| {
                p.add.as_ref().map_or(0, Vec::len)
                    + p.update.as_ref().map_or(0, Vec::len)
                    + p.delete.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>();
        let outcome = replay(v, i % 2 == 0);
        for quirk in outcome.quirks {
            tally.record("mst reference history quirk", quirk);
        }
        tally.record(&format!("mst roots {}", v.kind), outcome.roots);
        tally.record("mst change sets", outcome.changes);
        tally.record("mst bulk build", outcome.bulk);
    }
    tally.note(
        "mst change sets",
        format!(
            "{} vectors, {roots} roots, {ops} operations replayed",
            file.vectors.len()
        ),
    );
}

struct Outcome {
    roots: Result<(), String>,
    /// One per phase where the reference's root is not canonical: did ours match the canonical?
    quirks: Vec<Result<(), String>>,
    changes: Result<(), String>,
    bulk: Result<(), String>,
}

fn replay(v: &Vector, reload: bool) -> Outcome {
    let mut out = Outcome {
        roots: Ok(()),
        quirks: Vec::new(),
        changes: Ok(()),
        bulk: Ok(()),
    };
    let store = MemoryBlockStore::new();
    let mut tree = Mst::new();
    let mut model: BTreeMap<String, Cid> = BTreeMap::new();
    for (n, phase) in v.phases.iter().enumerate() {
        let at = format!("{} phase {n} ({})", v.name, phase.describe());
        let parsed = phase.root.parse::<Cid>().and_then(|r| {
            phase
                .canonical_root
                .as_deref()
                .map(str::parse)
                .transpose()
                .map(|c| (r, c))
        });
        let (reference_root, canonical) = match parsed {
            Ok(p) => p,
            Err(e) => {
                out.roots = Err(format!("{at}: bad root in vector: {e}"));
                return out;
            }
        };
        let want = canonical.unwrap_or(reference_root);
        if let Err(e) = apply(&store, &mut tree, &mut model, phase) {
            out.roots = Err(format!("{at}: {e}"));
            return out;
        }
        if model.len() != phase.count {
            out.roots = Err(format!(
                "{at}: {} keys, the reference had {}",
                model.len(),
                phase.count
            ));
            return out;
        }
        let ours = tree.root();
        if ours != want && out.roots.is_ok() {
            out.roots = Err(format!(
                "{at}: our root {ours}, reference {want} ({} keys)",
                model.len()
            ));
        }
        if canonical.is_some() {
            out.quirks.push(if ours == want {
                Ok(())
            } else {
                Err(format!(
                    "{at}: our root {ours}; the reference's edited tree {reference_root}, its fresh build {want}"
                ))
            });
        }

        // the change set keeps the store equal to the tree's nodes
        let changes = tree.take_changes();
        if changes.root != ours && out.changes.is_ok() {
            out.changes = Err(format!(
                "{at}: take_changes root {} != root() {ours}",
                changes.root
            ));
        }
        let removed = changes.removed.clone();
        if let Err(e) = block_on(async {
            store.put_many(changes.new_nodes).await?;
            store.remove_many(&removed).await
        }) {
            out.changes = Err(format!("{at}: store: {e}"));
            return out;
        }

        // the same map built in one go
        let mut bulk = match Mst::from_sorted(model.iter().map(|(k, c)| (k.as_str(), *c))) {
            Ok(t) => t,
            Err(e) => {
                out.bulk = Err(format!("{at}: from_sorted: {e}"));
                return out;
            }
        };
        let all = bulk.take_changes();
        if all.root != want && out.bulk.is_ok() {
            out.bulk = Err(format!(
                "{at}: from_sorted root {}, reference {want}",
                all.root
            ));
        }
        if out.changes.is_ok() {
            let expected: HashSet<Cid> = all.new_nodes.iter().map(|(c, _)| *c).collect();
            let held: HashSet<Cid> = store.cids().into_iter().collect();
            if expected != held {
                let missing = expected.difference(&held).count();
                let stale = held.difference(&expected).count();
                out.changes = Err(format!(
                    "{at}: after applying new/removed nodes the store misses {missing} nodes of the tree and keeps {stale} that left it"
                ));
            }
        }
        if reload {
            tree = Mst::load(ours);
        }
    }
    out
}

fn apply(
    store: &MemoryBlockStore,
    tree: &mut Mst,
    model: &mut BTreeMap<String, Cid>,
    phase: &Phase,
) -> Result<(), String> {
    block_on(async {
        if let Some(adds) = &phase.add {
            for (key, cid) in adds {
                let cid: Cid = cid.parse().map_err(|e| format!("bad CID {cid}: {e}"))?;
                let prev = tree
                    .insert(store, key, cid)
                    .await
                    .map_err(|e| format!("insert {key}: {e}"))?;
                if prev.is_some() || model.insert(key.clone(), cid).is_some() {
                    return Err(format!("insert {key}: found a value for a key never added"));
                }
            }
        }
        if let Some(updates) = &phase.update {
            for (key, cid) in updates {
                let cid: Cid = cid.parse().map_err(|e| format!("bad CID {cid}: {e}"))?;
                let prev = tree
                    .insert(store, key, cid)
                    .await
                    .map_err(|e| format!("update {key}: {e}"))?;
                let had = model.insert(key.clone(), cid);
                if prev != had {
                    return Err(format!(
                        "update {key}: previous value {prev:?}, expected {had:?}"
                    ));
                }
            }
        }
        if let Some(deletes) = &phase.delete {
            for key in deletes {
                let prev = tree
                    .remove(store, key)
                    .await
                    .map_err(|e| format!("delete {key}: {e}"))?;
                let had = model.remove(key);
                if prev != had {
                    return Err(format!("delete {key}: removed {prev:?}, expected {had:?}"));
                }
            }
        }
        Ok(())
    })
}
