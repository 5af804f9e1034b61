//! Python tools from PyPI (pinned in e2e/wallet-python/requirements.txt) against our work:
//! - schemathesis generates requests from the relay's `/v1/openapi.json` and checks the answers:
//!   no 5xx, and every answer's status, content type and body as the document says. It runs
//!   with an account session so the authenticated routes are exercised past their auth check.
//! - `mnemonic`, Trezor's BIP-39 reference implementation, accepts the words of share 3 and
//!   reads back the share's value.

#[path = "../../relay/tests/common/mod.rs"]
mod common;

use std::path::Path;

use common::TestRelay;
use crypto::recovery::{split, RecoverySeed, Share};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv with the tools, installed by e2e/wallet-python/setup.sh; `None` (loudly) outside CI
/// when it cannot be installed.
fn python_venv() -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e/wallet-python/setup.sh");
    let out = std::process::Command::new("bash").arg(&script).output();
    match out {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            if in_ci() {
                panic!("the Python tools could not be installed: {why}");
            }
            eprintln!("*** SKIPPED: the Python tools could not be installed: {why}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let Some(venv) = python_venv() else {
        return;
    };
    let account = relay.create_account("st").await;
    let url = format!("{}/v1/openapi.json", relay.url);
    let scratch = tempfile::tempdir().unwrap();
    let auth = format!("Authorization: Bearer {}", account.access_jwt);
    let out = tokio::process::Command::new(format!("{venv}/bin/st"))
        .args([
            "run",
            &url,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method",
            "--max-examples",
            "25",
            "--generation-deterministic",
            "--workers",
            "1",
            "--header",
            &auth,
            "--no-color",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        // It keeps a cache of findings in its working directory: not in the source tree.
        .current_dir(scratch.path())
        .output()
        .await
        .expect("st runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_bip39_reference_implementation_accepts_share_3() {
    let Some(venv) = python_venv() else { return };
    for _ in 0..8 {
        let [_, _, three] = split(&RecoverySeed::generate());
        let words = three.to_phrase().unwrap();
        let script = "import sys\nfrom mnemonic import Mnemonic\nm = Mnemonic('english')\n\
                      w = sys.stdin.read().strip()\nassert m.check(w), 'checksum'\n\
                      print(bytes(m.to_entropy(w)).hex())";
        let mut child = std::process::Command::new(format!("{venv}/bin/python"))
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(words.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mnemonic refused {}: {}",
            words.as_str(),
            String::from_utf8_lossy(&out.stderr)
        );
        // The entropy the reference reads is the share's value (bytes 19..51 of the binary
        // form: after version, split id, index and threshold).
        let entropy = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let value: String = three.to_bytes().unwrap()[19..51]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entropy, value);
        assert_eq!(Share::from_phrase(&words).unwrap().index(), 3);
    }
}
