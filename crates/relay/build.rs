//! Embeds the pinned lexicons (`lexicons/` at the workspace root) into the binary, so record
//! validation works whatever directory the relay runs from.
//!
//! Writes `$OUT_DIR/lexicons.txt`: the JSON text of every document of the `com.atproto`,
//! `app.bsky` and `chat.bsky` namespaces, in path order, separated by NUL bytes (JSON text
//! never contains one). `src/lexicons.rs` `include_str!`s it and parses it once.

use std::path::{Path, PathBuf};

/// The namespaces whose records a PDS validates (tools.ozone is a moderation service's).
const NAMESPACES: &[&str] = &["com/atproto", "app/bsky", "chat/bsky"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../../lexicons");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for ns in NAMESPACES {
        let dir = root.join(ns);
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, &mut files);
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no lexicons under {}: the workspace's lexicons/ folder is missing",
        root.display()
    );
    let mut out = String::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert!(
            !text.contains('\0'),
            "{} contains a NUL byte",
            path.display()
        );
        if !out.is_empty() {
            out.push('\0');
        }
        out.push_str(&text);
    }
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("lexicons.txt");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
