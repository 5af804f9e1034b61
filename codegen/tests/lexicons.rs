//! The pinned lexicons in `lexicons/` against the lock file and against the
//! byte-exact upstream tree in `shared/lexicons` (bluesky-social/atproto
//! d6296a1).
//!
//! The npm package writes refs as `lex:<nsid>#def`; upstream writes local refs
//! as `#def` and others as `<nsid>#def`. Both sides are normalised to
//! `<nsid>#def` (and `<nsid>` for a main def) before comparing; key order and
//! whitespace never matter because documents are compared as parsed JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn lexicon_dir() -> PathBuf {
    workspace_root().join("lexicons")
}

/// Every `*.json` file below `dir`, keyed by its path relative to `base`
/// with `/` separators.
fn json_files(base: &Path, dir: &Path, out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(base, &path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let rel = path.strip_prefix(base).expect("below base");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.insert(rel.join("/"), path);
        }
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_pinned_file_matches_the_lock() {
    let dir = lexicon_dir();
    let lock = read_json(&dir.join("lexicons.lock.json"));
    assert_eq!(lock["package"], "@atproto/api");
    assert!(lock["version"].is_string(), "lock names the version");
    assert!(
        lock["integrity"]
            .as_str()
            .is_some_and(|s| s.starts_with("sha512-")),
        "lock has the registry integrity"
    );
    let locked = lock["files"].as_object().expect("lock lists files");

    let mut on_disk = BTreeMap::new();
    for ns in ["app", "chat", "com", "tools"] {
        json_files(&dir, &dir.join(ns), &mut on_disk);
    }
    let locked_names: Vec<&String> = locked.keys().collect();
    let disk_names: Vec<&String> = on_disk.keys().collect();
    assert_eq!(
        locked_names, disk_names,
        "files on disk and in the lock differ"
    );

    let mut mismatched = Vec::new();
    for (rel, path) in &on_disk {
        let bytes = std::fs::read(path).expect("read lexicon");
        let digest = hex(&Sha256::digest(&bytes));
        if locked[rel].as_str() != Some(digest.as_str()) {
            mismatched.push(rel.as_str());
        }
        let doc: Value = serde_json::from_slice(&bytes).expect("lexicon is JSON");
        let id = rel.trim_end_matches(".json").replace('/', ".");
        assert_eq!(
            doc["id"].as_str(),
            Some(id.as_str()),
            "{rel}: id matches path"
        );
    }
    assert!(
        mismatched.is_empty(),
        "sha256 differs from the lock: {mismatched:?}"
    );

    let com_atproto = on_disk
        .keys()
        .filter(|k| k.starts_with("com/atproto/"))
        .count();
    assert_eq!(
        lock["namespaces"]["com.atproto"].as_u64(),
        Some(com_atproto as u64)
    );
}

/// `lex:a.b.c#d` / `#d` / `a.b.c#d` → `a.b.c#d`; `lex:a.b.c` → `a.b.c`.
fn normalise_ref(nsid: &str, r: &str) -> String {
    let r = r.strip_prefix("lex:").unwrap_or(r);
    match r.strip_prefix('#') {
        Some(def) => format!("{nsid}#{def}"),
        None => r.to_owned(),
    }
}

fn normalise(nsid: &str, v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|x| normalise(nsid, x)).collect()),
        Value::Object(map) => {
            let ty = map.get("type").and_then(Value::as_str);
            let mut out = serde_json::Map::new();
            for (k, x) in map {
                let x = match (ty, k.as_str(), x) {
                    (Some("ref"), "ref", Value::String(r)) => Value::String(normalise_ref(nsid, r)),
                    (Some("union"), "refs", Value::Array(refs)) => Value::Array(
                        refs.iter()
                            .map(|r| match r {
                                Value::String(r) => Value::String(normalise_ref(nsid, r)),
                                other => other.clone(),
                            })
                            .collect(),
                    ),
                    _ => normalise(nsid, x),
                };
                out.insert(k.clone(), x);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The shared folder, when its upstream lexicons are there (`testdata` says what happens if not).
fn shared_dir() -> Option<PathBuf> {
    testdata::vectors("lexicons/com/atproto").map(|_| testdata::shared_dir())
}

#[test]
fn com_atproto_equals_upstream() {
    let Some(shared) = shared_dir() else { return };
    let upstream_root = shared.join("lexicons");
    let ours_root = lexicon_dir();

    let mut upstream = BTreeMap::new();
    json_files(
        &upstream_root,
        &upstream_root.join("com/atproto"),
        &mut upstream,
    );
    let mut ours = BTreeMap::new();
    json_files(&ours_root, &ours_root.join("com/atproto"), &mut ours);

    let upstream_ids: Vec<&String> = upstream.keys().collect();
    let our_ids: Vec<&String> = ours.keys().collect();
    assert_eq!(
        our_ids, upstream_ids,
        "the set of com.atproto lexicons differs"
    );
    assert_eq!(ours.len(), 95, "com.atproto has 95 lexicons at d6296a1");

    let mut differing = Vec::new();
    for (rel, path) in &ours {
        let nsid = rel.trim_end_matches(".json").replace('/', ".");
        let a = normalise(&nsid, &read_json(path));
        let b = normalise(&nsid, &read_json(&upstream[rel]));
        if a != b {
            differing.push(nsid);
        }
    }
    assert!(differing.is_empty(), "differs from upstream: {differing:?}");
}

#[test]
fn ref_normalisation() {
    assert_eq!(normalise_ref("a.b.c", "#x"), "a.b.c#x");
    assert_eq!(normalise_ref("a.b.c", "lex:a.b.c#x"), "a.b.c#x");
    assert_eq!(normalise_ref("a.b.c", "lex:d.e.f"), "d.e.f");
    assert_eq!(normalise_ref("a.b.c", "d.e.f#y"), "d.e.f#y");
    // A property that happens to be called "ref" is not a ref.
    let v = serde_json::json!({"type": "object", "properties": {"ref": {"type": "string"}}});
    assert_eq!(normalise("a.b.c", &v), v);
}
