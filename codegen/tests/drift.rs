//! Fails when `crates/xrpc/src/generated/` is not what the generator writes
//! from `lexicons/` today. Fix with `cargo run -p codegen` and commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn files(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files(base, &path, out);
        } else {
            let rel = path.strip_prefix(base).expect("below base");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.insert(rel.join("/"), std::fs::read(&path).expect("read"));
        }
    }
}

#[test]
fn committed_output_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let committed_dir = root.join("crates/xrpc/src/generated");
    let fresh_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("codegen-drift-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh_dir);

    let status = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .arg("--out")
        .arg(&fresh_dir)
        .status()
        .expect("run codegen");
    assert!(status.success(), "codegen failed");

    let mut fresh = BTreeMap::new();
    files(&fresh_dir, &fresh_dir, &mut fresh);
    let mut committed = BTreeMap::new();
    files(&committed_dir, &committed_dir, &mut committed);
    let _ = std::fs::remove_dir_all(&fresh_dir);

    assert!(!fresh.is_empty(), "codegen wrote nothing");
    let mut problems = Vec::new();
    for (rel, bytes) in &fresh {
        match committed.get(rel) {
            None => problems.push(format!("missing: {rel}")),
            Some(c) if c != bytes => problems.push(format!("differs: {rel}")),
            Some(_) => {}
        }
    }
    for rel in committed.keys().filter(|k| !fresh.contains_key(*k)) {
        problems.push(format!("stale: {rel}"));
    }
    assert!(
        problems.is_empty(),
        "crates/xrpc/src/generated is out of date; run `cargo run -p codegen`:\n{}",
        problems.join("\n")
    );
}
