//! `relay repo mst-root | inspect | ls`, run as a user would: the real binary, real files.

use std::io::Write;
use std::process::{Command, Stdio};

use data::{Cid, Value};
use repo::{MemoryBlockStore, Repo, WriteOp};

fn relay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relay"))
}

fn record(text: &str) -> Value {
    data::json::from_json(&serde_json::json!({
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-11-25T00:00:00.000Z",
    }))
    .unwrap()
}

/// A signed repo with `n` posts, exported as a CAR, and its signing key.
fn sample_car(n: usize) -> (Vec<u8>, crypto::Keypair, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
        let key = crypto::Keypair::generate(crypto::Algorithm::P256);
        let mut repo = Repo::create(MemoryBlockStore::new(), did).unwrap();
        let tids = syntax::TidGenerator::new();
        let writes: Vec<WriteOp> = (0..n)
            .map(|i| {
                WriteOp::create(
                    "app.bsky.feed.post",
                    format!("3k{i:011}"),
                    &record(&i.to_string()),
                )
            })
            .collect();
        let result = repo
            .apply_writes(&writes, tids.next().unwrap(), &key)
            .await
            .unwrap();
        result.persist(repo.store()).await.unwrap();
        let car = repo.export_car().await.unwrap();
        (car, key, did.to_owned())
    })
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f
}

#[test]
fn inspect_reports_a_valid_repo() {
    let (car, key, did) = sample_car(25);
    let file = write_temp(&car);
    let out = relay()
        .args(["repo", "inspect"])
        .arg(file.path())
        .args(["--did", &did, "--key", &key.did_key()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["did"], did);
    assert_eq!(json["version"], 3);
    assert_eq!(json["records"], 25);
    assert_eq!(json["signature"], "valid");
    let root: Cid = json["root"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        repo::car::read_car(&car, Default::default()).unwrap().roots[0],
        root
    );
    assert!(json["blocks"].as_u64().unwrap() > 25);

    // without a key: unchecked
    let out = relay()
        .args(["repo", "inspect"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["signature"], "unchecked");
}

#[test]
fn inspect_fails_on_a_bad_signature_or_a_broken_car() {
    let (car, _key, did) = sample_car(3);
    let file = write_temp(&car);
    let other = crypto::Keypair::generate(crypto::Algorithm::K256);
    let out = relay()
        .args(["repo", "inspect"])
        .arg(file.path())
        .args(["--key", &other.did_key()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["signature"], "invalid");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    // wrong DID
    let out = relay()
        .args(["repo", "inspect"])
        .arg(file.path())
        .args(["--did", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&did));

    // truncated: malformed
    let cut = write_temp(&car[..car.len() - 10]);
    let out = relay()
        .args(["repo", "inspect"])
        .arg(cut.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // a record block left out: incomplete
    let parsed = repo::car::read_car(&car, Default::default()).unwrap();
    let record_cid = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = MemoryBlockStore::from_blocks(parsed.blocks.clone());
        rt.block_on(async {
            let mut r = Repo::open(store, parsed.roots[0]).await.unwrap();
            r.get_record_cid("app.bsky.feed.post", "3k00000000001")
                .await
                .unwrap()
                .unwrap()
        })
    };
    let partial = repo::car::write_car(
        &parsed.roots,
        parsed
            .blocks
            .iter()
            .filter(|(c, _)| *c != record_cid)
            .map(|(c, b)| (*c, b.as_slice())),
    );
    let partial = write_temp(&partial);
    let out = relay()
        .args(["repo", "inspect"])
        .arg(partial.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("incomplete"));
}

#[test]
fn ls_lists_records_sorted() {
    let (car, _, _) = sample_car(12);
    let file = write_temp(&car);
    let out = relay()
        .args(["repo", "ls"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12);
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    for line in lines {
        let (path, cid) = line.split_once(' ').unwrap();
        assert!(path.starts_with("app.bsky.feed.post/3k"));
        cid.parse::<Cid>().unwrap();
    }
}

#[test]
fn mst_root_matches_the_engine_and_the_official_fixtures() {
    let run = |input: &str| {
        let mut child = relay()
            .args(["repo", "mst-root"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // the empty tree
    let out = run("");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        repo::mst::Mst::empty_root().to_string()
    );

    // the official commit-proof fixtures' "before" roots, when the vectors are here
    if let Some(dir) = testdata::vectors("atproto-interop-tests/firehose") {
        let text = std::fs::read_to_string(dir.join("commit-proof-fixtures.json")).unwrap();
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for case in cases {
            let leaf = case["leafValue"].as_str().unwrap();
            let input: String = case["keys"]
                .as_array()
                .unwrap()
                .iter()
                .rev() // order must not matter
                .map(|k| format!("{{\"key\":{k},\"cid\":\"{leaf}\"}}\n"))
                .collect();
            let out = run(&input);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap().trim(),
                case["rootBeforeCommit"].as_str().unwrap(),
                "{}",
                case["comment"]
            );
        }
    }

    // bad input: a clear one-line error and a non-zero exit
    for bad in [
        "not json\n",
        "{\"key\":\"app.bsky.feed.post/a\"}\n",
        "{\"key\":\"no-slash\",\"cid\":\"bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454\"}\n",
        "{\"key\":\"a.b.c/x\",\"cid\":\"bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454\"}\n{\"key\":\"a.b.c/x\",\"cid\":\"bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454\"}\n",
    ] {
        let out = run(bad);
        assert!(!out.status.success(), "accepted {bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    }
}
