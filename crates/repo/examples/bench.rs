//! Rough timings of the engine's hot paths, for a quick look (`cargo run --release -p repo
//! --example bench`). The project's benchmark tool compares these with @atproto/repo.

use std::time::Instant;

use data::{Cid, Value};
use repo::mst::Mst;
use repo::{export_car, MemoryBlockStore, Repo, UnsignedCommit, WriteOp};
use syntax::TidGenerator;

fn time<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{what}: {:.1} ms", start.elapsed().as_secs_f64() * 1000.0);
    out
}

fn main() {
    let leaf = Cid::for_dag_cbor(b"\xa0");
    let tids = TidGenerator::new();
    let keys: Vec<String> = (0..110_000)
        .map(|_| format!("app.bsky.feed.post/{}", tids.next().unwrap()))
        .collect();
    let (base, extra) = keys.split_at(100_000);

    let mut tree = time("MST build, 100k keys (bulk, with root)", || {
        let mut t = Mst::from_sorted(base.iter().map(|k| (k.as_str(), leaf))).unwrap();
        t.root();
        t
    });
    let store = MemoryBlockStore::new();
    time(
        "MST build, 100k keys (one insert at a time, with root)",
        || {
            let mut t = Mst::new();
            for k in base {
                pollster::block_on(t.insert(&store, k, leaf)).unwrap();
            }
            t.root()
        },
    );
    time(
        "10k single inserts into the 100k tree, root after each",
        || {
            for k in extra {
                pollster::block_on(tree.insert(&store, k, leaf)).unwrap();
                tree.root();
            }
        },
    );

    let key = crypto::Keypair::generate(crypto::Algorithm::P256);
    let public = key.public_key();
    let unsigned = UnsignedCommit::new(
        "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        tree.root(),
        tids.next().unwrap(),
    );
    time("1000 commit sign + verify (P-256)", || {
        for _ in 0..1000 {
            let signed = unsigned.clone().sign(&key);
            signed.verify(&public).unwrap();
        }
    });

    let mut repo =
        Repo::create(MemoryBlockStore::new(), "did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap();
    let mut m = data::Map::new();
    m.insert("$type".into(), Value::from("app.bsky.feed.post"));
    for chunk in 0..50 {
        let writes: Vec<WriteOp> = (0..200)
            .map(|i| {
                m.insert("text".into(), Value::from(format!("post {chunk} {i}")));
                WriteOp::create(
                    "app.bsky.feed.post",
                    tids.next().unwrap().to_string(),
                    &Value::Map(m.clone()),
                )
            })
            .collect();
        let rev = tids.next_above(repo.rev().as_ref()).unwrap();
        let r = pollster::block_on(repo.apply_writes(&writes, rev, &key)).unwrap();
        pollster::block_on(r.persist(repo.store())).unwrap();
    }
    let head = repo.head().unwrap();
    let car = time("full CAR export, 10k records", || {
        pollster::block_on(export_car(repo.store(), head)).unwrap()
    });
    println!("  ({} bytes)", car.len());
    time("full CAR import + verify, 10k records", || {
        repo::import_car(&car, &Default::default()).unwrap()
    });
    time(
        "100 single-record commits on the 10k repo (prepare+sign+diff CAR)",
        || {
            for i in 0..100 {
                m.insert("text".into(), Value::from(format!("more {i}")));
                let w = [WriteOp::create(
                    "app.bsky.feed.post",
                    tids.next().unwrap().to_string(),
                    &Value::Map(m.clone()),
                )];
                let rev = tids.next_above(repo.rev().as_ref()).unwrap();
                let r = pollster::block_on(repo.apply_writes(&w, rev, &key)).unwrap();
                r.diff_car();
                pollster::block_on(r.persist(repo.store())).unwrap();
            }
        },
    );
}
