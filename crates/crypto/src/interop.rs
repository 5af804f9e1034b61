//! Checks for the official interop vectors in `atproto-interop-tests/crypto/`, shared by this
//! crate's integration test and the L1 vectors runner so both judge the files the same way.
//!
//! Each `check_*` function takes one case (one element of the file's JSON array) and returns
//! `Err` with a readable reason when our implementation disagrees with the vector. [`run_file`]
//! and [`run_all`] read the files from a folder and count the results per file.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let dir = Path::new("../shared/atproto-interop-tests/crypto");
//! for report in crypto::interop::run_all(dir).unwrap() {
//!     println!("{}: {}/{} cases pass", report.file, report.passed(), report.total);
//! }
//! ```

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::multikey::encode_base58btc;
use crate::{verify_did_key_signature, Algorithm, CryptoError, Keypair, PublicKey};

/// The fixtures write base64 without padding; accept it either way so a regenerated file with
/// padding still loads.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One of the vector files of `atproto-interop-tests/crypto/`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FixtureFile {
    /// `signature-fixtures.json`: keys, messages and signatures, valid and invalid.
    Signatures,
    /// `w3c_didkey_P256.json` or `w3c_didkey_K256.json`: private key → did:key.
    DidKey(Algorithm),
}

impl FixtureFile {
    /// Every file, in the order the runner reports them.
    pub const ALL: [FixtureFile; 3] = [
        FixtureFile::Signatures,
        FixtureFile::DidKey(Algorithm::P256),
        FixtureFile::DidKey(Algorithm::K256),
    ];

    /// The file's name inside the `crypto/` folder.
    pub const fn file_name(self) -> &'static str {
        match self {
            FixtureFile::Signatures => "signature-fixtures.json",
            FixtureFile::DidKey(Algorithm::P256) => "w3c_didkey_P256.json",
            FixtureFile::DidKey(Algorithm::K256) => "w3c_didkey_K256.json",
        }
    }

    /// Checks one case of this file.
    pub fn check(self, case: &Value) -> Result<(), String> {
        match self {
            FixtureFile::Signatures => check_signature_fixture(case),
            FixtureFile::DidKey(alg) => check_didkey_fixture(alg, case),
        }
    }
}

/// The outcome of one fixture file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file's name.
    pub file: &'static str,
    /// How many cases it holds (all of them were run).
    pub total: usize,
    /// One line per failing case: its index, its comment if any, and the reason.
    pub failures: Vec<String>,
}

impl FileReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.total - self.failures.len()
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not "N passed, N failed": CI reads that shape as a test runner's closing line.
        write!(
            f,
            "{}: {}/{} cases pass",
            self.file,
            self.passed(),
            self.total
        )?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

/// Reads `file` from `crypto_dir` (the `atproto-interop-tests/crypto` folder) and runs every
/// case. `Err` means the file could not be used at all: missing, not JSON, not a non-empty array.
pub fn run_file(crypto_dir: &Path, file: FixtureFile) -> Result<FileReport, String> {
    let path = crypto_dir.join(file.file_name());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let cases: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let cases = cases
        .as_array()
        .filter(|cases| !cases.is_empty())
        .ok_or_else(|| format!("{}: expected a non-empty JSON array", path.display()))?;
    let failures = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| {
            file.check(case)
                .err()
                .map(|reason| match case.get("comment").and_then(Value::as_str) {
                    Some(comment) => format!("case {i} ({comment}): {reason}"),
                    None => format!("case {i}: {reason}"),
                })
        })
        .collect();
    Ok(FileReport {
        file: file.file_name(),
        total: cases.len(),
        failures,
    })
}

/// Runs [`run_file`] on every file of [`FixtureFile::ALL`].
pub fn run_all(crypto_dir: &Path) -> Result<Vec<FileReport>, String> {
    FixtureFile::ALL
        .iter()
        .map(|&file| run_file(crypto_dir, file))
        .collect()
}

/// Checks one case of `signature-fixtures.json`.
///
/// The did:key and the legacy `publicKeyMultibase` must parse to the same key of the stated
/// algorithm, and the did:key must re-encode to itself. Valid cases must verify; invalid ones
/// must be refused, with [`CryptoError::HighSSignature`] for cases tagged `high-s` and
/// [`CryptoError::DerSignature`] for cases tagged `der-encoded`.
pub fn check_signature_fixture(case: &Value) -> Result<(), String> {
    let alg = Algorithm::from_jwt_alg(field(case, "algorithm")?).map_err(describe)?;
    let suite_alg =
        Algorithm::from_legacy_verification_suite(field(case, "didDocSuite")?).map_err(describe)?;
    if suite_alg != alg {
        return Err(format!(
            "didDocSuite is {suite_alg:?} but algorithm is {alg:?}"
        ));
    }

    let did = field(case, "publicKeyDid")?;
    let key = PublicKey::from_did_key(did).map_err(|e| format!("publicKeyDid: {e}"))?;
    if key.algorithm() != alg {
        return Err(format!(
            "publicKeyDid is {:?}, expected {alg:?}",
            key.algorithm()
        ));
    }
    if key.did_key() != did {
        return Err(format!("publicKeyDid re-encodes as {}", key.did_key()));
    }
    let legacy = PublicKey::from_legacy_multibase(alg, field(case, "publicKeyMultibase")?)
        .map_err(|e| format!("publicKeyMultibase: {e}"))?;
    if legacy != key {
        return Err("publicKeyMultibase is a different key from publicKeyDid".into());
    }

    let msg = base64_field(case, "messageBase64")?;
    let sig = base64_field(case, "signatureBase64")?;
    let outcome = key.verify(&msg, &sig);
    // Every route to verification must agree, or a caller could pick a lenient one.
    if legacy.verify(&msg, &sig) != outcome || verify_did_key_signature(did, &msg, &sig) != outcome
    {
        return Err("verification through the legacy key or the did:key disagrees".into());
    }

    let valid = case
        .get("validSignature")
        .and_then(Value::as_bool)
        .ok_or("missing boolean validSignature")?;
    let tags: Vec<&str> = match case.get("tags") {
        None => Vec::new(),
        Some(tags) => tags
            .as_array()
            .and_then(|tags| tags.iter().map(Value::as_str).collect())
            .ok_or("tags is not an array of strings")?,
    };
    let expected_error = if tags.contains(&"high-s") {
        Some(CryptoError::HighSSignature)
    } else if tags.contains(&"der-encoded") {
        Some(CryptoError::DerSignature)
    } else {
        None
    };

    match (valid, outcome) {
        (true, Ok(())) => Ok(()),
        (true, Err(e)) => Err(format!("valid signature refused: {e}")),
        (false, Ok(())) => Err(format!("invalid signature (tags {tags:?}) accepted")),
        (false, Err(e)) => match expected_error {
            Some(expected) if e != expected => Err(format!(
                "refused for the wrong reason: got {e:?}, expected {expected:?}"
            )),
            _ => Ok(()),
        },
    }
}

/// Checks one case of `w3c_didkey_P256.json` / `w3c_didkey_K256.json`.
///
/// The private key (`privateKeyBytesHex` or `privateKeyBytesBase58`) must give exactly
/// `publicDidKey`; that did:key must parse to the same key and re-encode to itself; and a
/// signature by the private key must verify against the parsed key.
pub fn check_didkey_fixture(alg: Algorithm, case: &Value) -> Result<(), String> {
    let keypair = if let Some(hex) = case.get("privateKeyBytesHex").and_then(Value::as_str) {
        Keypair::from_hex(alg, hex).map_err(|e| format!("privateKeyBytesHex: {e}"))?
    } else if let Some(b58) = case.get("privateKeyBytesBase58").and_then(Value::as_str) {
        // Plain base58btc here, without the multibase `z`.
        let bytes = Zeroizing::new(
            bs58::decode(b58)
                .into_vec()
                .map_err(|e| format!("privateKeyBytesBase58: {e}"))?,
        );
        Keypair::from_bytes(alg, &bytes).map_err(|e| format!("privateKeyBytesBase58: {e}"))?
    } else {
        return Err("missing privateKeyBytesHex / privateKeyBytesBase58".into());
    };

    let expected = field(case, "publicDidKey")?;
    let ours = keypair.did_key();
    if ours != expected {
        return Err(format!("private key gives {ours}, expected {expected}"));
    }

    let parsed = PublicKey::from_did_key(expected).map_err(|e| format!("publicDidKey: {e}"))?;
    if parsed.algorithm() != alg {
        return Err(format!("publicDidKey parses as {:?}", parsed.algorithm()));
    }
    if parsed != keypair.public_key() {
        return Err("publicDidKey parses to a different key".into());
    }
    if parsed.did_key() != expected {
        return Err(format!("publicDidKey re-encodes as {}", parsed.did_key()));
    }
    let legacy = encode_base58btc(&parsed.to_uncompressed());
    if PublicKey::from_legacy_multibase(alg, &legacy).as_ref() != Ok(&parsed) {
        return Err("legacy uncompressed multibase does not round-trip".into());
    }

    let msg = expected.as_bytes();
    parsed
        .verify(msg, &keypair.sign(msg))
        .map_err(|e| format!("own signature does not verify: {e}"))
}

fn field<'a>(case: &'a Value, name: &str) -> Result<&'a str, String> {
    case.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field {name}"))
}

fn base64_field(case: &Value, name: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(field(case, name)?)
        .map_err(|e| format!("{name}: {e}"))
}

fn describe(e: CryptoError) -> String {
    e.to_string()
}
