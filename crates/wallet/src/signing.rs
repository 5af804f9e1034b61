//! Signed /v1 requests and device registration proofs.
//!
//! A request signed by a registered device carries four headers:
//! `x-wallet-device` (the device id), `x-wallet-timestamp` (Unix seconds),
//! `x-wallet-nonce` (16–64 characters of `[A-Za-z0-9_-]`, used once) and `x-wallet-signature`
//! (base64url, unpadded, of the 64-byte low-S signature over [`canonical_request`]). The relay
//! accepts a timestamp within [`MAX_SKEW_SECS`] of its clock and each nonce once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto::Keypair;
use sha2::{Digest, Sha256};

pub const HEADER_DEVICE: &str = "x-wallet-device";
pub const HEADER_TIMESTAMP: &str = "x-wallet-timestamp";
pub const HEADER_NONCE: &str = "x-wallet-nonce";
pub const HEADER_SIGNATURE: &str = "x-wallet-signature";

/// How far a request's timestamp may be from the relay's clock.
pub const MAX_SKEW_SECS: i64 = 60;

const REQUEST_TAG: &str = "atproto-wallet-request-v1";
const CHALLENGE_TAG: &str = "atproto-wallet-challenge-v1";

/// The bytes a device signs for a request: a tag, the method, the path with its query, the
/// timestamp, the nonce and the SHA-256 of the body in hex, one per line.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let body_hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{REQUEST_TAG}\n{}\n{path_and_query}\n{timestamp}\n{nonce}\n{body_hash}",
        method.to_ascii_uppercase()
    )
    .into_bytes()
}

/// The bytes a device signs to prove it holds its key: the relay's challenge and the key.
pub fn challenge_message(challenge: &str, device_did_key: &str) -> Vec<u8> {
    format!("{CHALLENGE_TAG}\n{challenge}\n{device_did_key}").into_bytes()
}

/// Signs a registration challenge; the answer is base64url of the signature.
pub fn sign_challenge(key: &Keypair, challenge: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.sign(&challenge_message(challenge, &key.did_key())))
}

/// Checks a registration proof.
pub fn verify_challenge(device_did_key: &str, challenge: &str, signature: &str) -> bool {
    let Ok(sig) = URL_SAFE_NO_PAD.decode(signature.trim()) else {
        return false;
    };
    crypto::verify_did_key_signature(
        device_did_key,
        &challenge_message(challenge, device_did_key),
        &sig,
    )
    .is_ok()
}

/// The four headers of a signed request.
pub fn sign_request(
    key: &Keypair,
    device_id: &str,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let sig = key.sign(&canonical_request(
        method,
        path_and_query,
        timestamp,
        nonce,
        body,
    ));
    vec![
        (HEADER_DEVICE, device_id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_NONCE, nonce.to_owned()),
        (HEADER_SIGNATURE, URL_SAFE_NO_PAD.encode(sig)),
    ]
}

/// Whether `nonce` has the accepted shape.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh random nonce (22 base64url characters).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Verifies a signed request's signature against the device's did:key.
pub fn verify_request(
    device_did_key: &str,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let Ok(sig) = URL_SAFE_NO_PAD.decode(signature.trim()) else {
        return false;
    };
    crypto::verify_did_key_signature(
        device_did_key,
        &canonical_request(method, path_and_query, timestamp, nonce, body),
        &sig,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Algorithm;

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let key = Keypair::generate(Algorithm::P256);
        let headers = sign_request(
            &key,
            "dev1",
            "post",
            "/v1/dids",
            1000,
            "n".repeat(16).as_str(),
            b"{}",
        );
        let sig = &headers[3].1;
        let nonce = "n".repeat(16);
        assert!(verify_request(
            &key.did_key(),
            "POST",
            "/v1/dids",
            1000,
            &nonce,
            b"{}",
            sig
        ));
        assert!(!verify_request(
            &key.did_key(),
            "PUT",
            "/v1/dids",
            1000,
            &nonce,
            b"{}",
            sig
        ));
        assert!(!verify_request(
            &key.did_key(),
            "POST",
            "/v1/didz",
            1000,
            &nonce,
            b"{}",
            sig
        ));
        assert!(!verify_request(
            &key.did_key(),
            "POST",
            "/v1/dids",
            1001,
            &nonce,
            b"{}",
            sig
        ));
        assert!(!verify_request(
            &key.did_key(),
            "POST",
            "/v1/dids",
            1000,
            "m",
            b"{}",
            sig
        ));
        assert!(!verify_request(
            &key.did_key(),
            "POST",
            "/v1/dids",
            1000,
            &nonce,
            b"{ }",
            sig
        ));
        let other = Keypair::generate(Algorithm::K256);
        assert!(!verify_request(
            &other.did_key(),
            "POST",
            "/v1/dids",
            1000,
            &nonce,
            b"{}",
            sig
        ));
    }

    #[test]
    fn a_challenge_proof_binds_the_key() {
        let key = Keypair::generate(Algorithm::K256);
        let proof = sign_challenge(&key, "abc");
        assert!(verify_challenge(&key.did_key(), "abc", &proof));
        assert!(!verify_challenge(&key.did_key(), "abd", &proof));
        let other = Keypair::generate(Algorithm::K256);
        assert!(!verify_challenge(&other.did_key(), "abc", &proof));
    }

    #[test]
    fn nonces_are_fresh_and_well_formed() {
        let (a, b) = (new_nonce(), new_nonce());
        assert!(is_valid_nonce(&a) && is_valid_nonce(&b));
        assert_ne!(a, b);
        assert!(!is_valid_nonce("short"));
        assert!(!is_valid_nonce("has spaces in it, too many"));
    }
}
