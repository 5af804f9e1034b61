//! Tree tests: known roots from the reference's shared test suite, the empty-tree rules, lazy
//! loading cost, walks, strict reading of hostile trees, and properties.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};

use data::Cid;
use proptest::prelude::*;

use super::*;
use crate::blockstore::{run_ready, BlockStore, MemoryBlockStore, StoreError};

fn leaf() -> Cid {
    "bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454"
        .parse()
        .unwrap()
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    run_ready(f).expect("in-memory futures complete")
}

fn build(keys: &[&str]) -> (Mst, MemoryBlockStore) {
    let store = MemoryBlockStore::new();
    let mut tree = Mst::new();
    for k in keys {
        run(tree.insert(&store, k, leaf())).unwrap();
    }
    (tree, store)
}

/// Stores the tree's new nodes and returns its root.
fn persist(tree: &mut Mst, store: &MemoryBlockStore) -> Cid {
    let changes = tree.take_changes();
    run(store.put_many(changes.new_nodes)).unwrap();
    run(store.remove_many(&changes.removed)).unwrap();
    changes.root
}

const R: &str = "com.example.record/";

fn rk(s: &str) -> String {
    format!("{R}{s}")
}

#[test]
fn empty_tree() {
    let mut tree = Mst::new();
    assert_eq!(
        tree.root().to_string(),
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
    );
    assert_eq!(tree.root(), Mst::empty_root());
    let store = MemoryBlockStore::new();
    assert_eq!(
        run(tree.remove(&store, &rk("3jqfcqzm3fo2j"))).unwrap(),
        None
    );
    assert_eq!(run(tree.get(&store, &rk("3jqfcqzm3fo2j"))).unwrap(), None);
    // the empty tree is stored as its one node
    let changes = tree.take_changes();
    assert_eq!(changes.new_nodes.len(), 1);
    assert_eq!(changes.new_nodes[0].0, Mst::empty_root());
}

#[test]
fn known_maps_from_the_reference_suite() {
    let (mut t, _) = build(&[&rk("3jqfcqzm3fo2j")]);
    assert_eq!(
        t.root().to_string(),
        "bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu"
    );
    let (mut t, _) = build(&[&rk("3jqfcqzm3fx2j")]);
    assert_eq!(
        t.root().to_string(),
        "bafyreih7wfei65pxzhauoibu3ls7jgmkju4bspy4t2ha2qdjnzqvoy33ai"
    );
    let keys: Vec<String> = [
        "3jqfcqzm3fp2j",
        "3jqfcqzm3fr2j",
        "3jqfcqzm3fs2j",
        "3jqfcqzm3ft2j",
        "3jqfcqzm4fc2j",
    ]
    .iter()
    .map(|s| rk(s))
    .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (mut t, _) = build(&refs);
    assert_eq!(
        t.root().to_string(),
        "bafyreicmahysq4n6wfuxo522m6dpiy7z7qzym3dzs756t5n7nfdgccwq7m"
    );
}

#[test]
fn trims_top_on_delete() {
    let keys: Vec<String> = [
        "3jqfcqzm3fn2j",
        "3jqfcqzm3fo2j",
        "3jqfcqzm3fp2j",
        "3jqfcqzm3fs2j",
        "3jqfcqzm3ft2j",
        "3jqfcqzm3fu2j",
    ]
    .iter()
    .map(|s| rk(s))
    .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (mut t, store) = build(&refs);
    assert_eq!(
        t.root().to_string(),
        "bafyreifnqrwbk6ffmyaz5qtujqrzf5qmxf7cbxvgzktl4e3gabuxbtatv4"
    );
    // through a stored, lazily loaded tree
    let root = persist(&mut t, &store);
    let mut t = Mst::load(root);
    run(t.remove(&store, &rk("3jqfcqzm3fs2j")))
        .unwrap()
        .unwrap();
    assert_eq!(
        t.root().to_string(),
        "bafyreie4kjuxbwkhzg2i5dljaswcroeih4dgiqq6pazcmunwt2byd725vi"
    );
}

#[test]
fn insertion_that_splits_two_layers_down() {
    let l1 = "bafyreiettyludka6fpgp33stwxfuwhkzlur6chs4d2v4nkmq2j3ogpdjem";
    let l2 = "bafyreid2x5eqs4w4qxvc5jiwda4cien3gw2q6cshofxwnvv7iucrmfohpm";
    let keys: Vec<String> = [
        "3jqfcqzm3fo2j",
        "3jqfcqzm3fp2j",
        "3jqfcqzm3fr2j",
        "3jqfcqzm3fs2j",
        "3jqfcqzm3ft2j",
        "3jqfcqzm3fz2j",
        "3jqfcqzm4fc2j",
        "3jqfcqzm4fd2j",
        "3jqfcqzm4ff2j",
        "3jqfcqzm4fg2j",
        "3jqfcqzm4fh2j",
    ]
    .iter()
    .map(|s| rk(s))
    .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (mut t, store) = build(&refs);
    assert_eq!(t.root().to_string(), l1);
    let root = persist(&mut t, &store);
    let mut t = Mst::load(root);
    run(t.insert(&store, &rk("3jqfcqzm3fx2j"), leaf())).unwrap();
    assert_eq!(t.root().to_string(), l2);
    run(t.remove(&store, &rk("3jqfcqzm3fx2j")))
        .unwrap()
        .unwrap();
    assert_eq!(t.root().to_string(), l1);
}

#[test]
fn new_layers_two_higher() {
    let l0 = "bafyreidfcktqnfmykz2ps3dbul35pepleq7kvv526g47xahuz3rqtptmky";
    let l2 = "bafyreiavxaxdz7o7rbvr3zg2liox2yww46t7g6hkehx4i4h3lwudly7dhy";
    let l2b = "bafyreig4jv3vuajbsybhyvb7gggvpwh2zszwfyttjrj6qwvcsp24h6popu";
    let (mut t, store) = build(&[&rk("3jqfcqzm3ft2j"), &rk("3jqfcqzm3fz2j")]);
    assert_eq!(t.root().to_string(), l0);
    run(t.insert(&store, &rk("3jqfcqzm3fx2j"), leaf())).unwrap();
    assert_eq!(t.root().to_string(), l2);
    run(t.remove(&store, &rk("3jqfcqzm3fx2j"))).unwrap();
    assert_eq!(t.root().to_string(), l0);
    run(t.insert(&store, &rk("3jqfcqzm3fx2j"), leaf())).unwrap();
    run(t.insert(&store, &rk("3jqfcqzm4fd2j"), leaf())).unwrap();
    assert_eq!(t.root().to_string(), l2b);
    run(t.remove(&store, &rk("3jqfcqzm4fd2j"))).unwrap();
    assert_eq!(t.root().to_string(), l2);
}

#[test]
fn deleting_everything_gives_the_empty_tree() {
    let keys = sample_keys(300);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (mut t, store) = build(&refs);
    let root = persist(&mut t, &store);
    let mut t = Mst::load(root);
    for k in keys.iter().rev() {
        assert_eq!(run(t.remove(&store, k)).unwrap(), Some(leaf()));
    }
    assert_eq!(t.root(), Mst::empty_root());
    // everything that was stored is now reported removed
    let changes = t.take_changes();
    assert_eq!(changes.new_nodes.len(), 1);
    run(store.remove_many(&changes.removed)).unwrap();
    assert!(store.is_empty(), "{} blocks left", store.len());
}

fn sample_keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("com.example.record/{i:08x}"))
        .collect()
}

/// A store that counts the blocks read.
#[derive(Default)]
struct Counting {
    inner: MemoryBlockStore,
    reads: AtomicUsize,
}

impl BlockStore for Counting {
    async fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.get(cid).await
    }
    async fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        self.inner.has(cid).await
    }
    async fn put(&self, cid: Cid, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(cid, bytes).await
    }
    async fn remove_many(&self, cids: &[Cid]) -> Result<(), StoreError> {
        self.inner.remove_many(cids).await
    }
}

#[test]
fn a_write_touches_only_its_path() {
    let keys = sample_keys(20_000);
    let mut bulk = Mst::from_sorted(keys.iter().map(|k| (k.as_str(), leaf()))).unwrap();
    let store = Counting::default();
    let changes = bulk.take_changes();
    let total = changes.new_nodes.len();
    run(store.put_many(changes.new_nodes)).unwrap();

    let mut t = Mst::load(changes.root);
    run(t.insert(&store, "com.example.record/zzz-new", leaf())).unwrap();
    run(t.remove(&store, &keys[12_345])).unwrap().unwrap();
    let c = t.take_changes();
    let reads = store.reads.load(Ordering::Relaxed);
    // a 20k-key tree is about 8 levels deep
    assert!(reads <= 40, "read {reads} of {total} nodes");
    assert!(c.new_nodes.len() <= 24, "{} new nodes", c.new_nodes.len());
    assert!(c.removed.len() <= 24, "{} removed", c.removed.len());
}

#[test]
fn listing_ranges() {
    let keys = sample_keys(500);
    let mut bulk = Mst::from_sorted(keys.iter().map(|k| (k.as_str(), leaf()))).unwrap();
    let store = MemoryBlockStore::new();
    let root = persist(&mut bulk, &store);
    let mut t = Mst::load(root);
    let all = run(t.entries(&store)).unwrap();
    assert_eq!(all.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), keys);

    let mut t = Mst::load(root);
    let page = run(t.list(
        &store,
        Bound::Excluded(&keys[10]),
        Bound::Unbounded,
        5,
        false,
    ))
    .unwrap();
    assert_eq!(
        page.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        &keys[11..16]
    );
    let mut t = Mst::load(root);
    let page = run(t.list(
        &store,
        Bound::Unbounded,
        Bound::Excluded(&keys[300]),
        7,
        true,
    ))
    .unwrap();
    let want: Vec<&str> = keys[293..300].iter().rev().map(String::as_str).collect();
    assert_eq!(
        page.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        want
    );
    let page = run(t.list(
        &store,
        Bound::Included(&keys[40]),
        Bound::Included(&keys[44]),
        100,
        false,
    ))
    .unwrap();
    assert_eq!(page.len(), 5);
    let page = run(t.list(
        &store,
        Bound::Included(&keys[40]),
        Bound::Included(&keys[44]),
        100,
        true,
    ))
    .unwrap();
    assert_eq!(page.first().unwrap().0, keys[44]);
    assert_eq!(page.last().unwrap().0, keys[40]);
    let none = run(t.list(
        &store,
        Bound::Excluded("com.example.s/"),
        Bound::Unbounded,
        10,
        false,
    ))
    .unwrap();
    assert!(none.is_empty());
}

// --- hostile trees ---------------------------------------------------------------------------

/// Stores a hand-made node and returns its CID.
fn put_node(store: &MemoryBlockStore, node: &NodeData) -> Cid {
    let bytes = node.encode();
    let cid = Cid::for_dag_cbor(&bytes);
    run(store.put(cid, bytes)).unwrap();
    cid
}

fn entry(key: &str, right: Option<Cid>) -> EntryData {
    EntryData {
        key: key.to_string(),
        value: leaf(),
        right,
    }
}

/// Keys of depth 0 and 1 from the example key set.
const D0: [&str; 3] = ["A0/374913", "C0/451630", "E0/670489"];
const D1: [&str; 2] = ["B1/986427", "F1/085263"];

#[test]
fn rejects_key_at_wrong_depth() {
    let store = MemoryBlockStore::new();
    // a depth-1 key in a leaf under a depth-1 root
    let child = put_node(
        &store,
        &NodeData {
            left: None,
            entries: vec![entry(D1[0], None)],
        },
    );
    let root = put_node(
        &store,
        &NodeData {
            left: Some(child),
            entries: vec![entry(D1[1], None)],
        },
    );
    let mut t = Mst::load(root);
    let err = run(t.get(&store, D1[0])).unwrap_err();
    assert!(matches!(err, MstError::Invalid { .. }), "{err}");
    // mixed depths in one node
    let root = put_node(
        &store,
        &NodeData {
            left: None,
            entries: vec![entry(D0[0], None), entry(D1[0], None)],
        },
    );
    assert!(run(Mst::load(root).get(&store, D0[0])).is_err());
}

#[test]
fn rejects_out_of_range_subtree() {
    let store = MemoryBlockStore::new();
    // E0 placed left of B1: keys out of order across nodes, found when a lookup that goes
    // left (for A0) loads the subtree
    let child = put_node(
        &store,
        &NodeData {
            left: None,
            entries: vec![entry(D0[2], None)],
        },
    );
    let root = put_node(
        &store,
        &NodeData {
            left: Some(child),
            entries: vec![entry(D1[0], None)],
        },
    );
    let err = run(Mst::load(root).get(&store, D0[0])).unwrap_err();
    assert!(err.to_string().contains("not before"), "{err}");
}

#[test]
fn rejects_empty_leaf_and_untrimmed_root() {
    let store = MemoryBlockStore::new();
    let empty = put_node(
        &store,
        &NodeData {
            left: None,
            entries: vec![],
        },
    );
    let root = put_node(
        &store,
        &NodeData {
            left: Some(empty),
            entries: vec![entry(D1[0], None)],
        },
    );
    assert!(run(Mst::load(root).get(&store, D0[0])).is_err());

    let leafnode = put_node(
        &store,
        &NodeData {
            left: None,
            entries: vec![entry(D0[0], None)],
        },
    );
    let untrimmed = put_node(
        &store,
        &NodeData {
            left: Some(leafnode),
            entries: vec![],
        },
    );
    let err = run(Mst::load(untrimmed).get(&store, D0[0])).unwrap_err();
    assert!(err.to_string().contains("trimmed"), "{err}");
}

#[test]
fn rejects_a_block_that_does_not_match_its_cid() {
    let store = MemoryBlockStore::new();
    let good = NodeData {
        left: None,
        entries: vec![entry(D0[0], None)],
    };
    let cid = good.cid();
    let bad = NodeData {
        left: None,
        entries: vec![entry(D0[1], None)],
    };
    run(store.put(cid, bad.encode())).unwrap();
    assert!(matches!(
        run(Mst::load(cid).get(&store, D0[0])),
        Err(MstError::HashMismatch(_))
    ));
    let missing = Cid::for_dag_cbor(b"nothing");
    assert!(matches!(
        run(Mst::load(missing).get(&store, D0[0])),
        Err(MstError::MissingBlock(_))
    ));
}

#[test]
fn rejects_bad_keys_and_unsorted_bulk_input() {
    let store = MemoryBlockStore::new();
    let mut t = Mst::new();
    assert!(matches!(
        run(t.insert(&store, "no-slash", leaf())),
        Err(MstError::InvalidKey(_))
    ));
    assert!(matches!(
        Mst::from_sorted([("b/1", leaf()), ("a/1", leaf())]),
        Err(MstError::Unsorted(_))
    ));
    assert!(Mst::from_sorted([("a/1", leaf()), ("a/1", leaf())]).is_err());
}

// --- properties ------------------------------------------------------------------------------

fn key_strategy() -> impl Strategy<Value = String> {
    // short record keys in two collections, so prefixes are shared and depths vary
    (prop::bool::ANY, "[a-z0-9]{1,6}").prop_map(|(c, r)| {
        format!(
            "{}/{r}",
            if c {
                "app.bsky.feed.post"
            } else {
                "app.bsky.feed.like"
            }
        )
    })
}

fn value_strategy() -> impl Strategy<Value = Cid> {
    any::<u8>().prop_map(|b| Cid::for_dag_cbor(&[0xa1, 0x61, b'x', b % 24]))
}

fn map_strategy(max: usize) -> impl Strategy<Value = BTreeMap<String, Cid>> {
    prop::collection::btree_map(key_strategy(), value_strategy(), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn root_is_independent_of_insertion_order(
        map in map_strategy(120),
        seed in any::<u64>(),
    ) {
        let bulk = Mst::from_sorted(map.iter().map(|(k, v)| (k.as_str(), *v))).unwrap().root();
        let mut items: Vec<(&String, &Cid)> = map.iter().collect();
        shuffle(&mut items, seed);
        let store = MemoryBlockStore::new();
        let mut t = Mst::new();
        for (k, v) in &items {
            run(t.insert(&store, k, **v)).unwrap();
        }
        prop_assert_eq!(t.root(), bulk);
        // and through a stored tree, inserting the second half lazily
        let mut t = Mst::new();
        let half = items.len() / 2;
        for (k, v) in &items[..half] {
            run(t.insert(&store, k, **v)).unwrap();
        }
        let root = persist(&mut t, &store);
        let mut t = Mst::load(root);
        for (k, v) in &items[half..] {
            run(t.insert(&store, k, **v)).unwrap();
        }
        prop_assert_eq!(t.root(), bulk);
    }

    #[test]
    fn insert_then_delete_is_the_identity(
        base in map_strategy(100),
        extra in map_strategy(40),
        seed in any::<u64>(),
    ) {
        let store = MemoryBlockStore::new();
        let mut t = Mst::from_sorted(base.iter().map(|(k, v)| (k.as_str(), *v))).unwrap();
        let root = persist(&mut t, &store);
        let mut t = Mst::load(root);
        let mut added: Vec<&String> = extra.keys().filter(|k| !base.contains_key(*k)).collect();
        for k in &added {
            prop_assert_eq!(run(t.insert(&store, k, extra[*k])).unwrap(), None);
        }
        shuffle(&mut added, seed);
        for k in &added {
            prop_assert_eq!(run(t.remove(&store, k)).unwrap(), Some(extra[*k]));
        }
        prop_assert_eq!(t.root(), root);
        // nothing changed, so nothing is new and nothing removed
        let changes = t.take_changes();
        prop_assert!(changes.new_nodes.is_empty());
        prop_assert!(changes.removed.is_empty());
    }

    #[test]
    fn changes_match_a_full_diff(
        base in map_strategy(100),
        edits in prop::collection::vec((key_strategy(), prop::option::of(value_strategy())), 0..30),
    ) {
        let store = MemoryBlockStore::new();
        let mut t = Mst::from_sorted(base.iter().map(|(k, v)| (k.as_str(), *v))).unwrap();
        let before = persist(&mut t, &store);
        let mut t = Mst::load(before);
        let mut want = base.clone();
        for (k, v) in &edits {
            match v {
                Some(v) => { run(t.insert(&store, k, *v)).unwrap(); want.insert(k.clone(), *v); }
                None => { run(t.remove(&store, k)).unwrap(); want.remove(k); }
            }
        }
        let changes = t.take_changes();
        let expected = Mst::from_sorted(want.iter().map(|(k, v)| (k.as_str(), *v))).unwrap().root();
        prop_assert_eq!(changes.root, expected);
        let new_cids: Vec<Cid> = changes.new_nodes.iter().map(|(c, _)| *c).collect();
        for (cid, bytes) in &changes.new_nodes {
            prop_assert_eq!(Cid::for_dag_cbor(bytes), *cid);
        }
        run(store.put_many(changes.new_nodes.clone())).unwrap();
        let d = run(diff(&store, Some(before), changes.root)).unwrap();
        let mut sorted_new = new_cids.clone();
        sorted_new.sort_unstable();
        prop_assert_eq!(&sorted_new, &d.new_nodes);
        let mut removed = changes.removed.clone();
        removed.sort_unstable();
        prop_assert_eq!(&removed, &d.removed_nodes);
        // record-level diff agrees with the maps
        for (k, v) in &d.created { prop_assert!(!base.contains_key(k)); prop_assert_eq!(want.get(k), Some(v)); }
        for (k, old, new) in &d.updated { prop_assert_eq!(base.get(k), Some(old)); prop_assert_eq!(want.get(k), Some(new)); }
        for (k, old) in &d.deleted { prop_assert_eq!(base.get(k), Some(old)); prop_assert!(!want.contains_key(k)); }
        let changed = base.iter().filter(|(k, v)| want.get(*k) != Some(v)).count()
            + want.keys().filter(|k| !base.contains_key(*k)).count();
        prop_assert_eq!(d.created.len() + d.updated.len() + d.deleted.len(), changed);
    }

    #[test]
    fn the_unloaded_count_follows_every_operation(
        base in map_strategy(100),
        edits in prop::collection::vec((key_strategy(), prop::option::of(value_strategy()), 0u8..4), 0..40),
    ) {
        // The count lets `ensure` skip its walk when it is zero, so it must never fall below
        // the true number of stubs, through loads, edits, walks and proof gathering.
        let store = MemoryBlockStore::new();
        let mut t = Mst::from_sorted(base.iter().map(|(k, v)| (k.as_str(), *v))).unwrap();
        let (kept, counted) = t.counted_stubs();
        prop_assert_eq!(kept, counted);
        let before = persist(&mut t, &store);
        let mut t = Mst::load(before);
        let mut want = base.clone();
        for (k, v, other) in &edits {
            match v {
                Some(v) => {
                    prop_assert_eq!(run(t.insert(&store, k, *v)).unwrap(), want.insert(k.clone(), *v));
                }
                None => {
                    prop_assert_eq!(run(t.remove(&store, k)).unwrap(), want.remove(k));
                }
            }
            let (kept, counted) = t.counted_stubs();
            prop_assert_eq!(kept, counted);
            match other {
                0 => {
                    prop_assert_eq!(run(t.get(&store, k)).unwrap(), want.get(k).copied());
                }
                1 => {
                    let mut skip = HashSet::new();
                    let mut out = Vec::new();
                    run(t.covering_nodes(&store, k, &mut skip, &mut out)).unwrap();
                }
                2 => {
                    // Load everything: from here on `ensure` has nothing to look for.
                    let all = run(t.entries(&store)).unwrap();
                    prop_assert_eq!(all.len(), want.len());
                    prop_assert_eq!(t.counted_stubs().0, 0);
                }
                _ => {
                    let root = persist(&mut t, &store);
                    t = Mst::load(root);
                }
            }
            let (kept, counted) = t.counted_stubs();
            prop_assert_eq!(kept, counted);
        }
        let expected = Mst::from_sorted(want.iter().map(|(k, v)| (k.as_str(), *v))).unwrap().root();
        prop_assert_eq!(t.root(), expected);
    }

    #[test]
    fn walks_match_the_map(
        map in map_strategy(150),
        a in key_strategy(),
        b in key_strategy(),
        limit in 1usize..40,
    ) {
        let store = MemoryBlockStore::new();
        let mut t = Mst::from_sorted(map.iter().map(|(k, v)| (k.as_str(), *v))).unwrap();
        let root = persist(&mut t, &store);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let want: Vec<(String, Cid)> = map
            .range::<str, _>((Bound::Excluded(lo.as_str()), Bound::Included(hi.as_str())))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut t = Mst::load(root);
        let got = run(t.list(&store, Bound::Excluded(&lo), Bound::Included(&hi), limit, false)).unwrap();
        prop_assert_eq!(&got[..], &want[..want.len().min(limit)]);
        let mut t = Mst::load(root);
        let got = run(t.list(&store, Bound::Excluded(&lo), Bound::Included(&hi), limit, true)).unwrap();
        let rev: Vec<(String, Cid)> = want.iter().rev().take(limit).cloned().collect();
        prop_assert_eq!(got, rev);
        for k in map.keys().take(10) {
            let mut t = Mst::load(root);
            prop_assert_eq!(run(t.get(&store, k)).unwrap(), Some(map[k]));
        }
        let mut t = Mst::load(root);
        prop_assert_eq!(run(t.get(&store, "app.bsky.feed.zzz/none")).unwrap(), None);
    }

    #[test]
    fn node_codec_round_trips(
        map in prop::collection::btree_map(key_strategy(), (value_strategy(), prop::option::of(value_strategy())), 0..12),
        left in prop::option::of(value_strategy()),
    ) {
        let node = NodeData {
            left,
            entries: map.into_iter().map(|(key, (value, right))| EntryData { key, value, right }).collect(),
        };
        let bytes = node.encode();
        prop_assert_eq!(NodeData::decode(&bytes).unwrap(), node);
        // identical to the generic canonical encoder's bytes
        let generic = data::cbor::decode(&bytes).unwrap();
        prop_assert_eq!(data::cbor::encode(&generic), bytes);
    }

    #[test]
    fn node_decoder_is_no_looser_than_the_generic_one(
        map in prop::collection::btree_map(key_strategy(), value_strategy(), 1..6),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let node = NodeData {
            left: None,
            entries: map.into_iter().map(|(key, value)| EntryData { key, value, right: None }).collect(),
        };
        let mut bytes = node.encode();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(decoded) = NodeData::decode(&bytes) {
            // whatever the fast decoder accepts is canonical DAG-CBOR of the same node
            let generic = data::cbor::decode(&bytes);
            prop_assert!(generic.is_ok());
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }
}

fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

#[test]
fn covering_nodes_skip_what_is_given() {
    let keys = sample_keys(200);
    let mut t = Mst::from_sorted(keys.iter().map(|k| (k.as_str(), leaf()))).unwrap();
    let store = MemoryBlockStore::new();
    let root = persist(&mut t, &store);
    let mut t = Mst::load(root);
    let mut skip = HashSet::new();
    let mut out = Vec::new();
    run(t.covering_nodes(&store, &keys[100], &mut skip, &mut out)).unwrap();
    assert!(!out.is_empty());
    assert_eq!(out[0].0, root);
    let n = out.len();
    run(t.covering_nodes(&store, &keys[100], &mut skip, &mut out)).unwrap();
    assert_eq!(out.len(), n, "second call adds nothing");
}

#[test]
fn keys_inline_and_on_the_heap() {
    use super::tree::{Entry, Key};
    // Inline keys must not make entries much bigger than a heap pointer would.
    assert!(
        std::mem::size_of::<Key>() <= 48,
        "{}",
        std::mem::size_of::<Key>()
    );
    assert!(
        std::mem::size_of::<Entry>() <= 128,
        "{}",
        std::mem::size_of::<Entry>()
    );
    for len in [0, 1, 45, 46, 47, 200, 1024] {
        let key = "k".repeat(len);
        for k in [Key::from(key.as_str()), Key::from(key.clone())] {
            assert_eq!(k.as_str(), key);
            assert_eq!(k.as_bytes(), key.as_bytes());
            assert_eq!(matches!(k, Key::Inline { .. }), len <= 46);
        }
    }
    assert_eq!(Key::default().as_str(), "");
}
