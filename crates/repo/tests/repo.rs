//! The repository write path end to end: commits, diffs and their inversion, proofs, export
//! and import, through the public API only.

use std::collections::{BTreeMap, HashSet};

use data::{Cid, Value};
use proptest::prelude::*;
use repo::{
    export_car, import_car, invert_ops, verify_commit_diff, verify_record_proof, Action,
    CommitLimits, ImportError, ImportOptions, InversionError, MemoryBlockStore, ProofError,
    RecordProof, Repo, RepoError, SignedCommit, UnsignedCommit, WriteOp,
};
use syntax::{Tid, TidGenerator};

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const POST: &str = "app.bsky.feed.post";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

fn post(text: &str) -> Value {
    let mut m = data::Map::new();
    m.insert("$type".into(), Value::from(POST));
    m.insert("text".into(), Value::from(text));
    Value::Map(m)
}

fn key() -> crypto::Keypair {
    crypto::Keypair::from_hex(
        crypto::Algorithm::P256,
        "a94f1c3d0b8e6f2a5c7d9e1f3b5a7c9e1d3f5b7a9c1e3d5f7b9a1c3e5d7f9b1a",
    )
    .unwrap()
}

struct Fixture {
    repo: Repo<MemoryBlockStore>,
    key: crypto::Keypair,
    tids: TidGenerator,
    /// Every record's bytes are unique, so dropped record blocks can go too.
    unique_records: bool,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            repo: Repo::create(MemoryBlockStore::new(), DID).unwrap(),
            key: key(),
            tids: TidGenerator::new(),
            unique_records: true,
        }
    }

    fn rev(&self) -> Tid {
        self.tids.next_above(self.repo.rev().as_ref()).unwrap()
    }

    fn commit(&mut self, writes: &[WriteOp]) -> Result<repo::CommitResult, RepoError> {
        let rev = self.rev();
        let result = block_on(self.repo.apply_writes(writes, rev, &self.key))?;
        block_on(result.persist(self.repo.store())).unwrap();
        if self.unique_records {
            block_on(repo::BlockStore::remove_many(
                self.repo.store(),
                &result.removed_records,
            ))
            .unwrap();
        }
        Ok(result)
    }
}

/// Every block reachable from the repo's head: commit, MST nodes, records.
fn reachable(store: &MemoryBlockStore, head: Cid) -> HashSet<Cid> {
    let car = block_on(export_car(store, head)).unwrap();
    let imported = import_car(&car, &ImportOptions::default()).unwrap();
    imported.blocks.iter().map(|(c, _)| *c).collect()
}

#[test]
fn first_commit_and_reads() {
    let mut f = Fixture::new();
    assert_eq!(f.repo.head(), None);
    let result = f
        .commit(&[
            WriteOp::create(POST, "3jqfcqzm3fo2j", &post("a")),
            WriteOp::create(POST, "3jqfcqzm3fp2j", &post("b")),
            WriteOp::create("app.bsky.feed.like", "3jqfcqzm3fq2j", &post("c")),
        ])
        .unwrap();
    assert_eq!(result.since, None);
    assert_eq!(result.prev_data, None);
    assert_eq!(result.ops.len(), 3);
    assert!(result
        .ops
        .iter()
        .all(|op| op.action == Action::Create && op.prev.is_none()));
    assert_eq!(f.repo.head(), Some(result.cid));
    assert_eq!(result.new_blocks[0].0, result.cid);
    result.commit.verify(&f.key.public_key()).unwrap();
    assert_eq!(
        SignedCommit::from_bytes(&result.commit_bytes).unwrap(),
        result.commit
    );
    // the first commit inverts to the empty tree
    verify_commit_diff(
        &result.diff_car(),
        &result.ops,
        repo::mst::Mst::empty_root(),
        Some(DID),
        Some(&f.key.public_key()),
    )
    .unwrap();

    // reopen from the store
    let store = f.repo.store();
    let mut again = block_on(Repo::open(store, result.cid)).unwrap();
    assert_eq!(again.did(), DID);
    assert_eq!(again.rev(), Some(result.rev()));
    let (cid, bytes) = block_on(again.get_record(POST, "3jqfcqzm3fp2j"))
        .unwrap()
        .unwrap();
    assert_eq!(cid, Cid::for_dag_cbor(&bytes));
    assert_eq!(data::cbor::decode(&bytes).unwrap(), post("b"));
    assert_eq!(
        block_on(again.get_record(POST, "3jqfcqzm3fz2j")).unwrap(),
        None
    );
    let listed = block_on(again.list_records(POST, None, 10, false)).unwrap();
    assert_eq!(
        listed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["3jqfcqzm3fo2j", "3jqfcqzm3fp2j"]
    );
    let listed = block_on(again.list_records(POST, Some("3jqfcqzm3fp2j"), 10, true)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "3jqfcqzm3fo2j");
    assert_eq!(reachable(store, result.cid).len(), store.len());
}

#[test]
fn update_and_delete_ops_carry_prev() {
    let mut f = Fixture::new();
    let c1 = f
        .commit(&[WriteOp::create(POST, "3jqfcqzm3fo2j", &post("v1"))])
        .unwrap();
    let c2 = f
        .commit(&[WriteOp::update(POST, "3jqfcqzm3fo2j", &post("v2"))])
        .unwrap();
    assert_eq!(c2.ops[0].action, Action::Update);
    assert_eq!(c2.ops[0].prev, c1.ops[0].cid);
    assert_eq!(c2.since, Some(c1.rev()));
    assert_eq!(c2.prev_data, Some(c1.data()));
    assert_eq!(
        c2.removed_records,
        vec![c1.ops[0].cid.unwrap()],
        "old record version is dropped"
    );
    assert!(c2.removed.contains(&c1.cid), "old commit is dropped");
    let c3 = f.commit(&[WriteOp::delete(POST, "3jqfcqzm3fo2j")]).unwrap();
    assert_eq!(c3.ops[0].action, Action::Delete);
    assert_eq!(c3.ops[0].cid, None);
    assert_eq!(c3.ops[0].prev, c2.ops[0].cid);
    assert_eq!(c3.data(), repo::mst::Mst::empty_root());
    for c in [&c2, &c3] {
        verify_commit_diff(
            &c.diff_car(),
            &c.ops,
            c.prev_data.unwrap(),
            Some(DID),
            Some(&f.key.public_key()),
        )
        .unwrap();
    }
    // the store holds exactly the live repo: an empty tree and the commit
    let head = f.repo.head().unwrap();
    assert_eq!(reachable(f.repo.store(), head).len(), 2);
    assert_eq!(f.repo.store().len(), 2);
}

#[test]
fn recreated_record_block_is_in_the_new_diff() {
    let mut f = Fixture::new();
    let record = post("same bytes every time");
    let c1 = f
        .commit(&[WriteOp::create(POST, "3jqfcqzm3fo2j", &record)])
        .unwrap();
    let record_cid = c1.ops[0].cid.unwrap();
    f.commit(&[WriteOp::delete(POST, "3jqfcqzm3fo2j")]).unwrap();
    let c3 = f
        .commit(&[WriteOp::create(POST, "3jqfcqzm3fo2j", &record)])
        .unwrap();
    assert_eq!(c3.ops[0].cid, Some(record_cid));
    assert!(c3.diff_blocks().any(|(c, _)| c == record_cid));
    let car = repo::car::read_car(&c3.diff_car(), Default::default()).unwrap();
    assert_eq!(car.roots, vec![c3.cid]);
    assert_eq!(car.blocks[0].0, c3.cid);
    assert!(car.blocks.iter().any(|(c, _)| *c == record_cid));
}

#[test]
fn write_errors_leave_the_repo_as_it_was() {
    let mut f = Fixture::new();
    let c1 = f
        .commit(&[WriteOp::create(POST, "a1", &post("x"))])
        .unwrap();
    let before = f.repo.data();
    let rev = f.rev();
    type Expect = fn(&RepoError) -> bool;
    let cases: Vec<(Vec<WriteOp>, Expect)> = vec![
        (
            vec![
                WriteOp::create(POST, "b1", &post("y")),
                WriteOp::create(POST, "a1", &post("z")),
            ],
            |e| matches!(e, RepoError::RecordExists(_)),
        ),
        (vec![WriteOp::update(POST, "zz", &post("y"))], |e| {
            matches!(e, RepoError::RecordNotFound(_))
        }),
        (vec![WriteOp::delete(POST, "zz")], |e| {
            matches!(e, RepoError::RecordNotFound(_))
        }),
        (
            vec![
                WriteOp::create(POST, "b1", &post("y")),
                WriteOp::delete(POST, "b1"),
            ],
            |e| matches!(e, RepoError::DuplicatePath(_)),
        ),
        (
            vec![WriteOp::create("not-an-nsid", "b1", &post("y"))],
            |e| matches!(e, RepoError::InvalidPath(..)),
        ),
        (vec![WriteOp::create(POST, "..", &post("y"))], |e| {
            matches!(e, RepoError::InvalidPath(..))
        }),
        (
            vec![WriteOp::Create {
                collection: POST.into(),
                rkey: "b2".into(),
                record: vec![0x01],
            }],
            |e| matches!(e, RepoError::InvalidRecord { .. }),
        ),
        (
            vec![WriteOp::Create {
                collection: POST.into(),
                rkey: "b3".into(),
                // a map with keys out of canonical order
                record: vec![0xa2, 0x62, b'b', b'b', 0x01, 0x61, b'a', 0x02],
            }],
            |e| matches!(e, RepoError::InvalidRecord { .. }),
        ),
    ];
    for (writes, want) in cases {
        let err = block_on(f.repo.apply_writes(&writes, rev, &f.key)).unwrap_err();
        assert!(want(&err), "{err}");
        assert_eq!(f.repo.data(), before);
        assert_eq!(f.repo.head(), Some(c1.cid));
    }
    // the tree itself was restored: a valid write still works from the old state
    let c2 = f
        .commit(&[WriteOp::create(POST, "b1", &post("y"))])
        .unwrap();
    verify_commit_diff(&c2.diff_car(), &c2.ops, before, None, None).unwrap();
    // rev must go up
    let stale = c2.rev();
    let err = block_on(
        f.repo
            .apply_writes(&[WriteOp::delete(POST, "b1")], stale, &f.key),
    )
    .unwrap_err();
    assert!(matches!(err, RepoError::RevNotIncreasing { .. }), "{err}");
}

#[test]
fn limits_are_enforced() {
    let mut f = Fixture::new();
    let many: Vec<WriteOp> = (0..201)
        .map(|i| WriteOp::create(POST, format!("k{i}"), &post("x")))
        .collect();
    let rev = f.rev();
    assert!(matches!(
        block_on(f.repo.apply_writes(&many, rev, &f.key)),
        Err(RepoError::TooManyOps(201, 200))
    ));
    let big = post(&"x".repeat(1_000_001));
    assert!(matches!(
        block_on(
            f.repo
                .apply_writes(&[WriteOp::create(POST, "big", &big)], rev, &f.key)
        ),
        Err(RepoError::RecordTooLarge { .. })
    ));
    let three: Vec<WriteOp> = (0..3)
        .map(|i| {
            WriteOp::create(
                POST,
                format!("m{i}"),
                &post(&format!("{i}{}", "y".repeat(900_000))),
            )
        })
        .collect();
    assert!(matches!(
        block_on(f.repo.apply_writes(&three, rev, &f.key)),
        Err(RepoError::DiffTooLarge { .. })
    ));
    f.repo = Repo::create(MemoryBlockStore::new(), DID)
        .unwrap()
        .with_limits(CommitLimits::UNLIMITED);
    f.commit(&many).unwrap();
}

#[test]
fn no_op_update_is_not_an_op() {
    let mut f = Fixture::new();
    f.commit(&[WriteOp::create(POST, "a1", &post("x"))])
        .unwrap();
    let c = f
        .commit(&[WriteOp::update(POST, "a1", &post("x"))])
        .unwrap();
    assert!(c.ops.is_empty());
    assert_eq!(c.prev_data, Some(c.data()));
    verify_commit_diff(&c.diff_car(), &c.ops, c.prev_data.unwrap(), None, None).unwrap();
}

#[test]
fn externally_signed_commit() {
    // The desktop prepares, the relay checks and signs, the desktop finishes.
    let mut f = Fixture::new();
    f.commit(&[WriteOp::create(POST, "a1", &post("x"))])
        .unwrap();
    let rev = f.rev();
    let prepared = block_on(
        f.repo
            .prepare_commit(&[WriteOp::create(POST, "a2", &post("y"))], rev),
    )
    .unwrap();
    // only one outstanding
    assert!(matches!(
        block_on(f.repo.prepare_commit(&[], f.rev())),
        Err(RepoError::PendingCommit)
    ));
    // the relay's side: inversion over the unsigned commit's blocks
    let blocks: repo::BlockMap = prepared
        .new_blocks
        .iter()
        .chain(&prepared.proof_blocks)
        .cloned()
        .collect();
    invert_ops(
        &blocks,
        prepared.commit.data,
        prepared.prev_data.unwrap(),
        &prepared.ops,
    )
    .unwrap();
    let relay_key = key();
    let sig = relay_key.sign(&prepared.commit.bytes_to_sign()).to_vec();
    // a wrong signature is refused when checked
    let other = crypto::Keypair::generate(crypto::Algorithm::K256);
    assert!(f
        .repo
        .finish_commit(prepared.clone(), sig.clone(), Some(&other.public_key()))
        .is_err());
    let result = f
        .repo
        .finish_commit(prepared.clone(), sig, Some(&relay_key.public_key()))
        .unwrap();
    assert_eq!(f.repo.head(), Some(result.cid));
    assert!(matches!(
        f.repo.finish_commit(prepared, vec![], None),
        Err(RepoError::NotPending)
    ));
    block_on(result.persist(f.repo.store())).unwrap();

    // discard restores the state
    let head = f.repo.head();
    let data = f.repo.data();
    let rev = f.rev();
    block_on(f.repo.prepare_commit(&[WriteOp::delete(POST, "a1")], rev)).unwrap();
    f.repo.discard_prepared();
    assert_eq!((f.repo.head(), f.repo.data()), (head, data));
    assert!(block_on(f.repo.get_record_cid(POST, "a1"))
        .unwrap()
        .is_some());
    f.commit(&[WriteOp::delete(POST, "a1")]).unwrap();
}

#[test]
fn unsigned_commit_bytes() {
    let data = repo::mst::Mst::empty_root();
    let rev: Tid = "3jqfcqzm3fo2j".parse().unwrap();
    let unsigned = UnsignedCommit::new(DID, data, rev);
    let mut m = data::Map::new();
    m.insert("did".into(), Value::from(DID));
    m.insert("version".into(), Value::Int(3));
    m.insert("data".into(), Value::Link(data));
    m.insert("rev".into(), Value::from("3jqfcqzm3fo2j"));
    m.insert("prev".into(), Value::Null);
    assert_eq!(unsigned.bytes_to_sign(), data::cbor::encode(&Value::Map(m)));
}

#[test]
fn record_proofs() {
    let mut f = Fixture::new();
    let writes: Vec<WriteOp> = (0..150)
        .map(|i| WriteOp::create(POST, format!("r{i:04}"), &post(&i.to_string())))
        .collect();
    f.commit(&writes).unwrap();
    let public = f.key.public_key();
    for i in [0, 7, 77, 149] {
        let rkey = format!("r{i:04}");
        let cid = block_on(f.repo.get_record_cid(POST, &rkey))
            .unwrap()
            .unwrap();
        let proof = block_on(f.repo.record_proof(POST, &rkey)).unwrap();
        assert_eq!(
            verify_record_proof(&proof, DID, &public, POST, &rkey).unwrap(),
            RecordProof::Present(cid)
        );
        // the same proof does not show a different record
        let other = verify_record_proof(&proof, DID, &public, POST, "r9999");
        assert!(
            matches!(
                other,
                Ok(RecordProof::Absent) | Err(ProofError::Incomplete(_))
            ),
            "{other:?}"
        );
    }
    let head = f.repo.head().unwrap();
    let absent = block_on(repo::record_proof(f.repo.store(), head, POST, "r0075x")).unwrap();
    assert_eq!(
        verify_record_proof(&absent, DID, &public, POST, "r0075x").unwrap(),
        RecordProof::Absent
    );
    // wrong key, wrong DID
    let proof = block_on(f.repo.record_proof(POST, "r0001")).unwrap();
    let other = crypto::Keypair::generate(crypto::Algorithm::P256).public_key();
    assert!(matches!(
        verify_record_proof(&proof, DID, &other, POST, "r0001"),
        Err(ProofError::Commit(_))
    ));
    assert!(matches!(
        verify_record_proof(&proof, "did:plc:someoneelse", &public, POST, "r0001"),
        Err(ProofError::WrongDid { .. })
    ));
    // a proof missing its record block proves nothing
    let car = repo::car::read_car(&proof, Default::default()).unwrap();
    let cid = block_on(f.repo.get_record_cid(POST, "r0001"))
        .unwrap()
        .unwrap();
    let stripped = repo::car::write_car(
        &car.roots,
        car.blocks
            .iter()
            .filter(|(c, _)| *c != cid)
            .map(|(c, b)| (*c, b)),
    );
    assert!(matches!(
        verify_record_proof(&stripped, DID, &public, POST, "r0001"),
        Err(ProofError::MissingRecord(_))
    ));
}

#[test]
fn export_and_import() {
    let mut f = Fixture::new();
    f.unique_records = false;
    let writes: Vec<WriteOp> = (0..180)
        .map(|i| WriteOp::create(POST, format!("r{i:04}"), &post(&(i % 50).to_string())))
        .collect();
    f.commit(&writes).unwrap();
    f.commit(&[
        WriteOp::delete(POST, "r0003"),
        WriteOp::update(POST, "r0004", &post("new")),
    ])
    .unwrap();
    let head = f.repo.head().unwrap();
    let car_bytes = block_on(f.repo.export_car()).unwrap();
    let car = repo::car::read_car(&car_bytes, Default::default()).unwrap();
    // streamable order: commit, root node, then pre-order
    assert_eq!(car.roots, vec![head]);
    assert_eq!(car.blocks[0].0, head);
    assert_eq!(car.blocks[1].0, f.repo.data());
    let public = f.key.public_key();
    let options = ImportOptions {
        did: Some(DID),
        key: Some(&public),
        ..Default::default()
    };
    let imported = import_car(&car_bytes, &options).unwrap();
    assert_eq!(imported.commit_cid, head);
    assert_eq!(imported.records.len(), 179);
    assert!(imported.missing_records.is_empty());
    // 50 distinct record contents + "new", each stored once; nothing else but nodes and commit
    let records: HashSet<Cid> = imported.records.iter().map(|(_, c)| *c).collect();
    assert_eq!(records.len(), 51);
    assert_eq!(imported.blocks.len(), car.blocks.len());
    let mut listed = Vec::new();
    let (tree, store) = f.repo.tree();
    block_on(tree.walk_range(
        store,
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
        false,
        |k, v| {
            listed.push((k.to_string(), v));
            true
        },
    ))
    .unwrap();
    assert_eq!(listed, imported.records);

    // any order, duplicates and extra blocks: same result
    let mut shuffled = car.blocks.clone();
    shuffled.reverse();
    shuffled.push(car.blocks[5].clone());
    let junk = data::cbor::encode(&post("unreferenced"));
    shuffled.insert(3, (Cid::for_dag_cbor(&junk), junk));
    let messy = repo::car::write_car(&car.roots, shuffled.iter().map(|(c, b)| (*c, b)));
    let again = import_car(&messy, &options).unwrap();
    assert_eq!(again.records, imported.records);
    let mut a: Vec<Cid> = again.blocks.iter().map(|(c, _)| *c).collect();
    let mut b: Vec<Cid> = imported.blocks.iter().map(|(c, _)| *c).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "no unreferenced block is kept");

    // missing record blocks are reported, missing nodes are an error
    let some_record = imported.records[10].1;
    let without = repo::car::write_car(
        &car.roots,
        car.blocks
            .iter()
            .filter(|(c, _)| *c != some_record)
            .map(|(c, b)| (*c, b)),
    );
    let partial = import_car(&without, &options).unwrap();
    assert!(partial
        .missing_records
        .iter()
        .any(|(_, c)| *c == some_record));
    let root = f.repo.data();
    let some_node = car
        .blocks
        .iter()
        .skip(2)
        .find(|(c, b)| *c != root && repo::mst::NodeData::decode(b).is_ok())
        .unwrap()
        .0;
    let without = repo::car::write_car(
        &car.roots,
        car.blocks
            .iter()
            .filter(|(c, _)| *c != some_node)
            .map(|(c, b)| (*c, b)),
    );
    assert!(matches!(
        import_car(&without, &options),
        Err(ImportError::MissingNode(_))
    ));
    // wrong DID and key
    assert!(matches!(
        import_car(
            &car_bytes,
            &ImportOptions {
                did: Some("did:plc:other"),
                ..Default::default()
            }
        ),
        Err(ImportError::WrongDid { .. })
    ));
    let other = crypto::Keypair::generate(crypto::Algorithm::P256).public_key();
    assert!(import_car(
        &car_bytes,
        &ImportOptions {
            key: Some(&other),
            ..Default::default()
        }
    )
    .is_err());
}

#[test]
fn import_rejects_a_tree_with_a_key_at_the_wrong_depth() {
    use repo::mst::{EntryData, NodeData};
    let leaf = Cid::for_dag_cbor(&data::cbor::encode(&post("x")));
    // B1 has depth 1; put it alone in a root, and A0 (depth 0) beside it in the same node
    let node = NodeData {
        left: None,
        entries: vec![
            EntryData {
                key: "A0/374913".into(),
                value: leaf,
                right: None,
            },
            EntryData {
                key: "B1/986427".into(),
                value: leaf,
                right: None,
            },
        ],
    };
    let node_bytes = node.encode();
    let root = Cid::for_dag_cbor(&node_bytes);
    let commit = UnsignedCommit::new(DID, root, "3jqfcqzm3fo2j".parse().unwrap()).sign(&key());
    let commit_bytes = commit.to_bytes();
    let car = repo::car::write_car(
        &[commit.cid()],
        [(commit.cid(), commit_bytes), (root, node_bytes)],
    );
    let err = import_car(&car, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("depth"), "{err}");
}

#[test]
fn inversion_failures_name_the_problem() {
    let mut f = Fixture::new();
    let writes: Vec<WriteOp> = (0..60)
        .map(|i| WriteOp::create(POST, format!("r{i:04}"), &post(&i.to_string())))
        .collect();
    f.commit(&writes).unwrap();
    let c = f
        .commit(&[
            WriteOp::create(POST, "r0030a", &post("n")),
            WriteOp::delete(POST, "r0010"),
            WriteOp::update(POST, "r0020", &post("u")),
        ])
        .unwrap();
    let prev = c.prev_data.unwrap();
    let car = c.diff_car();
    verify_commit_diff(&car, &c.ops, prev, Some(DID), Some(&f.key.public_key())).unwrap();
    // an op left out
    let err = verify_commit_diff(&car, &c.ops[1..], prev, None, None).unwrap_err();
    assert!(matches!(err, InversionError::RootMismatch { .. }), "{err}");
    // a wrong prev on the delete
    let mut ops = c.ops.clone();
    ops[1].prev = ops[2].cid;
    let err = verify_commit_diff(&car, &ops, prev, None, None).unwrap_err();
    assert!(
        matches!(
            err,
            InversionError::RootMismatch { .. } | InversionError::OpMismatch { .. }
        ),
        "{err}"
    );
    // a create that claims another CID
    let mut ops = c.ops.clone();
    ops[0].cid = ops[2].cid;
    let err = verify_commit_diff(&car, &ops, prev, None, None).unwrap_err();
    assert!(
        matches!(err, InversionError::OpMismatch { index: 0, .. }),
        "{err}"
    );
    // malformed ops
    let mut ops = c.ops.clone();
    ops[0].prev = ops[0].cid;
    assert!(matches!(
        verify_commit_diff(&car, &ops, prev, None, None),
        Err(InversionError::BadOp { .. })
    ));
    let mut ops = c.ops.clone();
    ops.push(ops[0].clone());
    assert!(verify_commit_diff(&car, &ops, prev, None, None).is_err());
    // a diff missing a node the inversion needs
    let parsed = repo::car::read_car(&car, Default::default()).unwrap();
    let root = c.data();
    let thin = repo::car::write_car(
        &parsed.roots,
        parsed
            .blocks
            .iter()
            .filter(|(cid, _)| *cid != root)
            .map(|(cid, b)| (*cid, b)),
    );
    let err = verify_commit_diff(&thin, &c.ops, prev, None, None).unwrap_err();
    assert!(matches!(err, InversionError::MissingBlock { .. }), "{err}");
    // a record block missing
    let rec = c.ops[0].cid.unwrap();
    let thin = repo::car::write_car(
        &parsed.roots,
        parsed
            .blocks
            .iter()
            .filter(|(cid, _)| *cid != rec)
            .map(|(cid, b)| (*cid, b)),
    );
    assert!(matches!(
        verify_commit_diff(&thin, &c.ops, prev, None, None),
        Err(InversionError::MissingRecord { .. })
    ));
    // wrong prevData
    assert!(matches!(
        verify_commit_diff(&car, &c.ops, root, None, None),
        Err(InversionError::RootMismatch { .. })
    ));
    // wrong key
    let other = crypto::Keypair::generate(crypto::Algorithm::P256).public_key();
    assert!(matches!(
        verify_commit_diff(&car, &c.ops, prev, None, Some(&other)),
        Err(InversionError::Commit(_))
    ));
}

#[test]
fn repo_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let mut f = Fixture::new();
    let rev = f.rev();
    let writes = vec![WriteOp::create(POST, "a", &post("x"))];
    let fut = f.repo.apply_writes(&writes, rev, &f.key);
    assert_send(&fut);
    drop(fut);
    let store = MemoryBlockStore::new();
    let head = Cid::for_dag_cbor(b"x");
    let fut = export_car(&store, head);
    assert_send(&fut);
}

// --- properties ------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Edit {
    Put(String, u16),
    Delete(String),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let rkey = "[a-z0-9]{1,5}";
    prop_oneof![
        (rkey, any::<u16>()).prop_map(|(k, v)| Edit::Put(k, v)),
        rkey.prop_map(Edit::Delete),
    ]
}

/// Turns edits into valid writes against the current contents.
fn to_writes(state: &mut BTreeMap<String, u16>, edits: &[Edit]) -> Vec<WriteOp> {
    let mut touched = HashSet::new();
    let mut writes = Vec::new();
    for edit in edits {
        match edit {
            Edit::Put(k, v) if touched.insert(k.clone()) => {
                let record = post(&format!("{k}:{v}"));
                writes.push(match state.insert(k.clone(), *v) {
                    None => WriteOp::create(POST, k, &record),
                    Some(_) => WriteOp::update(POST, k, &record),
                });
            }
            Edit::Delete(k) if state.contains_key(k) && touched.insert(k.clone()) => {
                state.remove(k);
                writes.push(WriteOp::delete(POST, k));
            }
            _ => {}
        }
    }
    writes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every commit's diff inverts back to its prevData, whatever order the ops are undone in;
    /// the store always holds exactly the live repo (new and removed blocks are exact); the
    /// repo matches a model map.
    #[test]
    fn diffs_invert_and_storage_stays_exact(
        batches in prop::collection::vec(prop::collection::vec(edit_strategy(), 1..25), 1..6),
        seed in any::<u64>(),
    ) {
        let mut f = Fixture::new();
        let public = f.key.public_key();
        let mut state = BTreeMap::new();
        // a base of records first
        let base: Vec<Edit> = (0..60u16).map(|i| Edit::Put(format!("b{i:03}"), i)).collect();
        let writes = to_writes(&mut state, &base);
        f.commit(&writes).unwrap();
        for batch in &batches {
            let writes = to_writes(&mut state, batch);
            let c = f.commit(&writes).unwrap();
            let prev = c.prev_data.unwrap();
            verify_commit_diff(&c.diff_car(), &c.ops, prev, Some(DID), Some(&public)).unwrap();
            // any order
            let mut ops = c.ops.clone();
            let mut s = seed;
            for i in (1..ops.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ops.swap(i, (s >> 33) as usize % (i + 1));
            }
            let blocks: repo::BlockMap = c.diff_blocks().map(|(c, b)| (c, b.to_vec())).collect();
            invert_ops(&blocks, c.data(), prev, &ops).unwrap();
            let head = f.repo.head().unwrap();
            let live = reachable(f.repo.store(), head);
            prop_assert_eq!(live.len(), f.repo.store().len());
        }
        let listed = block_on(f.repo.list_records(POST, None, usize::MAX, false)).unwrap();
        prop_assert_eq!(listed.len(), state.len());
        for ((k, cid), (mk, mv)) in listed.iter().zip(&state) {
            prop_assert_eq!(k, mk);
            let want = Cid::for_dag_cbor(&data::cbor::encode(&post(&format!("{mk}:{mv}"))));
            prop_assert_eq!(*cid, want);
        }
        // and the MST has the same root as one built from scratch
        let mut bulk = repo::mst::Mst::from_sorted(listed.iter().map(|(k, c)| (format!("{POST}/{k}"), *c))).unwrap();
        prop_assert_eq!(bulk.root(), f.repo.data());
    }

    #[test]
    fn commit_bytes_round_trip(
        data_seed in any::<[u8; 8]>(),
        prev in prop::option::of(any::<[u8; 4]>()),
        sig in prop::collection::vec(any::<u8>(), 0..100),
        micros in 0u64..(1 << 53),
        clock in 0u16..1024,
        did in "did:plc:[a-z2-7]{24}",
    ) {
        let rev = Tid::from_parts(micros, clock).unwrap();
        let mut unsigned = UnsignedCommit::new(did, Cid::for_dag_cbor(&data_seed), rev);
        unsigned.prev = prev.map(|p| Cid::for_dag_cbor(&p));
        let signed = unsigned.with_signature(sig);
        let bytes = signed.to_bytes();
        let back = SignedCommit::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &signed);
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(data::cbor::encode(&data::cbor::decode(&signed.unsigned.bytes_to_sign()).unwrap()), signed.unsigned.bytes_to_sign());
    }
}
