//! `relay repo …`: goat-style tools over the repo engine, for people and scripts.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use data::Cid;
use repo::car::CarLimits;
use repo::import::{import_car, ImportOptions};

#[derive(clap::Subcommand)]
pub enum RepoCommand {
    /// Read `{"key":"<collection>/<rkey>","cid":"<cid>"}` lines on stdin, print the MST root CID.
    MstRoot,
    /// Verify a repo CAR and describe it as one JSON object.
    Inspect {
        /// The CAR file.
        file: PathBuf,
        /// The DID the repo must belong to.
        #[arg(long)]
        did: Option<String>,
        /// The did:key the commit must be signed with.
        #[arg(long)]
        key: Option<String>,
    },
    /// List a repo CAR's records as `<collection>/<rkey> <cid>`, sorted by key.
    Ls {
        /// The CAR file.
        file: PathBuf,
    },
}

pub fn run(cmd: RepoCommand) -> ExitCode {
    let outcome = match cmd {
        RepoCommand::MstRoot => mst_root(),
        RepoCommand::Inspect { file, did, key } => inspect(&file, did.as_deref(), key.as_deref()),
        RepoCommand::Ls { file } => ls(&file),
    };
    match outcome {
        Ok(code) => code,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn mst_root() -> Result<ExitCode, String> {
    let mut entries: Vec<(String, Cid)> = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let json: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("{}: not JSON: {e}", at()))?;
        let key = json["key"]
            .as_str()
            .ok_or_else(|| format!("{}: \"key\" must be a string", at()))?;
        let cid: Cid = json["cid"]
            .as_str()
            .ok_or_else(|| format!("{}: \"cid\" must be a string", at()))?
            .parse()
            .map_err(|e| format!("{}: bad cid: {e}", at()))?;
        entries.push((key.to_owned(), cid));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("key {:?} appears twice", w[0].0));
    }
    let mut tree = repo::mst::Mst::from_sorted(entries.iter().map(|(k, c)| (k.as_str(), *c)))
        .map_err(|e| format!("invalid key set: {e}"))?;
    println!("{}", tree.root());
    Ok(ExitCode::SUCCESS)
}

fn read_repo(file: &PathBuf, did: Option<&str>) -> Result<repo::import::VerifiedRepo, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let limits = CarLimits {
        max_total_bytes: bytes.len() as u64,
        ..CarLimits::default()
    };
    let repo = import_car(
        &bytes,
        &ImportOptions {
            did,
            key: None,
            limits,
        },
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some((path, cid)) = repo.missing_records.first() {
        return Err(format!(
            "{}: incomplete CAR: {} record block(s) missing, first {path} ({cid})",
            file.display(),
            repo.missing_records.len()
        ));
    }
    Ok(repo)
}

fn inspect(file: &PathBuf, did: Option<&str>, key: Option<&str>) -> Result<ExitCode, String> {
    let repo = read_repo(file, did)?;
    let signature = match key {
        None => "unchecked",
        Some(k) => {
            let key = crypto::PublicKey::from_did_key(k).map_err(|e| format!("--key: {e}"))?;
            match repo.commit.verify(&key) {
                Ok(()) => "valid",
                Err(_) => "invalid",
            }
        }
    };
    let out = serde_json::json!({
        "root": repo.commit_cid.to_string(),
        "did": repo.commit.did(),
        "rev": repo.commit.rev().to_string(),
        "version": repo.commit.unsigned.version,
        "records": repo.records.len(),
        "blocks": repo.blocks.len(),
        "signature": signature,
    });
    println!("{out}");
    if signature == "invalid" {
        eprintln!(
            "error: the commit signature does not verify with {}",
            key.unwrap_or("")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn ls(file: &PathBuf) -> Result<ExitCode, String> {
    let repo = read_repo(file, None)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (path, cid) in &repo.records {
        // records come in key order from the tree walk
        if writeln!(out, "{path} {cid}").is_err() {
            break; // closed pipe (e.g. `| head`)
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}
