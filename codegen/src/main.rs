//! `cargo run -p codegen [-- --lexicons DIR --out DIR]`
//!
//! Reads the pinned lexicons (default `<workspace>/lexicons`) and writes the
//! XRPC route table, handler traits, params and dispatcher into
//! `<workspace>/crates/xrpc/src/generated` (or `--out`). Output is
//! deterministic and formatted with rustfmt, so it can be committed and
//! drift-checked (`codegen/tests/drift.rs`).

mod emit;
mod lexicon;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use lexicon::{Error, Lexicons, Method};

/// Namespaces served: every method under these prefixes is generated.
const NAMESPACES: &[&str] = &["com.atproto."];

/// Methods outside those namespaces that the relay serves itself (a PDS keeps
/// the account's private preferences).
const EXTRA_METHODS: &[&str] = &[
    "app.bsky.actor.getPreferences",
    "app.bsky.actor.putPreferences",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let root = workspace_root();
    let mut lexicon_dir = root.join("lexicons");
    let mut out_dir = root.join("crates/xrpc/src/generated");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lexicons" => lexicon_dir = args.next().map(PathBuf::from).ok_or_else(usage)?,
            "--out" => out_dir = args.next().map(PathBuf::from).ok_or_else(usage)?,
            _ => return Err(usage()),
        }
    }

    let lexicons = Lexicons::load(&lexicon_dir)?;
    let methods = select(&lexicons)?;
    let files = emit::emit(&lexicons, &methods)?;
    let mut formatted = BTreeMap::new();
    for (path, source) in &files {
        formatted.insert(path.clone(), rustfmt(&root, path, source)?);
    }
    write_tree(&out_dir, &formatted)?;
    eprintln!(
        "codegen: {} methods, {} files -> {}",
        methods.len(),
        formatted.len(),
        out_dir.display()
    );
    Ok(())
}

fn usage() -> Error {
    Error("usage: codegen [--lexicons DIR] [--out DIR]".to_owned())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen sits inside the workspace")
        .to_path_buf()
}

/// The methods to generate, sorted by NSID.
fn select(lexicons: &Lexicons) -> Result<Vec<Method>, Error> {
    let mut out = Vec::new();
    for id in lexicons.ids() {
        let wanted = NAMESPACES.iter().any(|p| id.starts_with(p)) || EXTRA_METHODS.contains(&id);
        if !wanted {
            continue;
        }
        let doc = lexicons.doc(id).expect("listed id");
        if let Some(m) = lexicon::method(doc).map_err(|e| Error(format!("{id}: {e}")))? {
            out.push(m);
        }
    }
    for extra in EXTRA_METHODS {
        if !out.iter().any(|m| m.nsid == *extra) {
            return Err(Error(format!(
                "{extra} is not an XRPC method in the lexicons"
            )));
        }
    }
    Ok(out)
}

/// Formats one file with the toolchain's rustfmt, reading configuration the
/// way `cargo fmt` would from the workspace root.
fn rustfmt(root: &Path, name: &str, source: &str) -> Result<String, Error> {
    let mut child = Command::new(std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into()))
        .args(["--edition", "2021", "--emit", "stdout"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error(format!("cannot run rustfmt: {e}")))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(source.as_bytes())
        .map_err(|e| Error(format!("rustfmt stdin: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error(format!("rustfmt: {e}")))?;
    if !out.status.success() {
        return Err(Error(format!(
            "rustfmt failed on {name}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| Error(format!("rustfmt output for {name} is not UTF-8")))
}

/// Writes the files and removes any other `.rs` file left in `out` from an
/// earlier run, so a dropped method does not linger.
fn write_tree(out: &Path, files: &BTreeMap<String, String>) -> Result<(), Error> {
    let io = |p: &Path, e: std::io::Error| Error(format!("{}: {e}", p.display()));
    for (rel, text) in files {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }
    }
    remove_stale(out, out, files)
}

fn remove_stale(root: &Path, dir: &Path, keep: &BTreeMap<String, String>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            remove_stale(root, &path, keep)?;
            if std::fs::read_dir(&path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
            {
                let _ = std::fs::remove_dir(&path);
            }
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if !keep.contains_key(&rel) {
                std::fs::remove_file(&path)
                    .map_err(|e| Error(format!("{}: {e}", path.display())))?;
            }
        }
    }
    Ok(())
}
