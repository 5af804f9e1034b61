//! The manifest that travels with each full-repo CAR, in both directions (format in
//! `vectors/reference/manifest.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordEntry {
    pub collection: String,
    pub rkey: String,
    pub cid: String,
}

impl RecordEntry {
    pub fn key(&self) -> String {
        format!("{}/{}", self.collection, self.rkey)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    pub producer: String,
    pub did: String,
    /// `p256` or `k256`.
    pub algorithm: String,
    /// The repo signing key as `did:key:z…`.
    pub signing_key: String,
    /// The test-only private key (generated from a seed), so the other side can check that both
    /// produce the same deterministic signature.
    pub private_key_hex: Option<String>,
    pub commit: String,
    pub rev: String,
    /// The MST root the commit names.
    pub data: String,
    pub commits: usize,
    pub ops: usize,
    /// Every record in the repo, sorted by key.
    pub records: Vec<RecordEntry>,
}

/// `(manifest, CAR path)` for every `<name>.json` in `dir` that has a `<name>.car` beside it,
/// sorted by name.
pub fn list(dir: &Path) -> Result<Vec<(Manifest, PathBuf)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let car = path.with_extension("car");
        if !car.is_file() {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((manifest, car));
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(out)
}
