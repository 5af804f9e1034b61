//! DPoP (RFC 9449) as the atproto OAuth profile asks for it: server nonces rotated every
//! [`NONCE_PERIOD_SECS`] (the previous and the next are still accepted, so clients with requests
//! in flight across a rotation do not fail), and each proof's `jti` accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::jose::{sha256_b64url, Jwk, Jws};

/// Nonces change this often (the spec's maximum lifetime is 5 minutes; one accepted nonce lives
/// at most three periods).
pub const NONCE_PERIOD_SECS: i64 = 60;
/// How far a proof's `iat` may be from now. A proof carries a nonce at most a few minutes old,
/// which bounds its age anyway; this bounds clock skew.
pub const MAX_IAT_SKEW_SECS: i64 = 5 * 60;
/// Bound on remembered `jti`s (each kept until it could no longer pass the `iat` check).
const MAX_REMEMBERED_JTIS: usize = 1_000_000;

/// Why a proof was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum DpopError {
    /// No nonce, or a stale one: the client retries with the nonce in the `DPoP-Nonce` header.
    UseNonce,
    /// Anything else: malformed, bad signature, wrong method or URL, replayed.
    Invalid(String),
}

/// A verified proof.
#[derive(Debug)]
pub struct Proof {
    /// Thumbprint of the proof's key: what tokens are bound to.
    pub jkt: String,
}

pub struct Dpop {
    secret: [u8; 32],
    seen: Mutex<HashMap<String, i64>>,
}

impl Dpop {
    pub fn new() -> Dpop {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random source is available");
        Dpop {
            secret,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn nonce_for(&self, counter: i64) -> String {
        let mut mac =
            <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("any key");
        mac.update(&counter.to_be_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }

    /// The nonce to hand out now.
    pub fn current_nonce(&self, now: i64) -> String {
        self.nonce_for(now.div_euclid(NONCE_PERIOD_SECS))
    }

    fn nonce_is_fresh(&self, nonce: &str, now: i64) -> bool {
        let counter = now.div_euclid(NONCE_PERIOD_SECS);
        (counter - 1..=counter + 1).any(|c| self.nonce_for(c) == nonce)
    }

    /// Verifies the `DPoP` header `proof` for a request of `method` to `url` (scheme, host and
    /// path; query and fragment are ignored on both sides). With `access_token`, the proof must
    /// carry its hash (`ath`).
    pub fn verify(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> Result<Proof, DpopError> {
        let invalid = |m: &str| DpopError::Invalid(m.to_owned());
        let jws = Jws::parse(proof).map_err(|e| DpopError::Invalid(format!("DPoP proof: {e}")))?;
        if jws.header_str("typ") != Some("dpop+jwt") {
            return Err(invalid("DPoP proof typ must be dpop+jwt"));
        }
        let jwk = match jws.header.get("jwk") {
            Some(serde_json::Value::Object(jwk)) => {
                Jwk::from_json(jwk).map_err(|e| DpopError::Invalid(format!("DPoP proof {e}")))?
            }
            _ => return Err(invalid("DPoP proof has no jwk header")),
        };
        jws.verify(&jwk.key)
            .map_err(|e| DpopError::Invalid(format!("DPoP proof: {e}")))?;
        let jti = jws
            .claim_str("jti")
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or_else(|| invalid("DPoP proof has no valid jti"))?;
        if jws.claim_str("htm") != Some(method) {
            return Err(invalid("DPoP proof htm does not match the request method"));
        }
        let htu = jws
            .claim_str("htu")
            .ok_or_else(|| invalid("DPoP proof has no htu"))?;
        if strip_query(htu) != strip_query(url) {
            return Err(invalid("DPoP proof htu does not match the request URL"));
        }
        let iat = jws
            .claim_i64("iat")
            .ok_or_else(|| invalid("DPoP proof has no iat"))?;
        if (iat - now).abs() > MAX_IAT_SKEW_SECS {
            return Err(invalid("DPoP proof iat is too far from now"));
        }
        match access_token {
            Some(token) => {
                if jws.claim_str("ath") != Some(sha256_b64url(token).as_str()) {
                    return Err(invalid("DPoP proof ath does not match the access token"));
                }
            }
            None => {
                if jws.claims.contains_key("ath") {
                    return Err(invalid(
                        "DPoP proof has an ath but no access token was sent",
                    ));
                }
            }
        }
        match jws.claim_str("nonce") {
            Some(nonce) if self.nonce_is_fresh(nonce, now) => {}
            _ => return Err(DpopError::UseNonce),
        }
        // Last, so a proof refused for another reason does not burn its jti.
        self.remember_jti(jti, iat + MAX_IAT_SKEW_SECS, now)?;
        Ok(Proof {
            jkt: jwk.thumbprint,
        })
    }

    fn remember_jti(&self, jti: &str, keep_until: i64, now: i64) -> Result<(), DpopError> {
        let mut seen = self.seen.lock().expect("not poisoned");
        if seen.len() >= MAX_REMEMBERED_JTIS {
            seen.retain(|_, until| *until >= now);
            if seen.len() >= MAX_REMEMBERED_JTIS {
                // Every remembered proof is still live: refuse rather than forget one.
                return Err(DpopError::Invalid("too many DPoP proofs in flight".into()));
            }
        }
        match seen.get(jti) {
            Some(until) if *until >= now => {
                Err(DpopError::Invalid("DPoP proof jti was already used".into()))
            }
            _ => {
                seen.insert(jti.to_owned(), keep_until);
                Ok(())
            }
        }
    }
}

impl Default for Dpop {
    fn default() -> Self {
        Dpop::new()
    }
}

fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::{Algorithm, Keypair};
    use serde_json::json;

    fn proof(kp: &Keypair, claims: serde_json::Value) -> String {
        let point = kp.public_key().to_uncompressed();
        let header = json!({
            "typ": "dpop+jwt", "alg": "ES256",
            "jwk": {"kty": "EC", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..])}
        });
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = kp.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    const URL: &str = "https://pds.example/oauth/token";

    #[test]
    fn nonce_dance_replay_and_binding() {
        let dpop = Dpop::new();
        let kp = Keypair::generate(Algorithm::P256);
        let now = 1_700_000_000;
        let no_nonce = proof(
            &kp,
            json!({"jti": "a", "htm": "POST", "htu": URL, "iat": now}),
        );
        assert_eq!(
            dpop.verify(&no_nonce, "POST", URL, None, now).unwrap_err(),
            DpopError::UseNonce
        );
        let nonce = dpop.current_nonce(now);
        let good = proof(
            &kp,
            json!({"jti": "a", "htm": "POST", "htu": URL, "iat": now, "nonce": nonce}),
        );
        let first = dpop.verify(&good, "POST", URL, None, now).unwrap();
        // The same proof again: a replay.
        assert!(matches!(
            dpop.verify(&good, "POST", URL, None, now),
            Err(DpopError::Invalid(m)) if m.contains("already used")
        ));
        // A nonce two periods old is stale.
        assert_eq!(
            dpop.verify(
                &proof(
                    &kp,
                    json!({"jti": "b", "htm": "POST", "htu": URL, "iat": now, "nonce": nonce})
                ),
                "POST",
                URL,
                None,
                now + 2 * NONCE_PERIOD_SECS + 1
            )
            .unwrap_err(),
            DpopError::UseNonce
        );
        // Wrong method, wrong URL, missing ath for a token.
        let n = dpop.current_nonce(now);
        for (claims, token) in [
            (
                json!({"jti": "c", "htm": "GET", "htu": URL, "iat": now, "nonce": n}),
                None,
            ),
            (
                json!({"jti": "d", "htm": "POST", "htu": "https://evil/oauth/token", "iat": now, "nonce": n}),
                None,
            ),
            (
                json!({"jti": "e", "htm": "POST", "htu": URL, "iat": now, "nonce": n}),
                Some("tok"),
            ),
            (
                json!({"jti": "f", "htm": "POST", "htu": URL, "iat": now - 3600, "nonce": n}),
                None,
            ),
        ] {
            assert!(matches!(
                dpop.verify(&proof(&kp, claims), "POST", URL, token, now),
                Err(DpopError::Invalid(_))
            ));
        }
        let with_ath = proof(
            &kp,
            json!({"jti": "g", "htm": "POST", "htu": format!("{URL}?x=1"), "iat": now, "nonce": n,
                   "ath": sha256_b64url("tok")}),
        );
        let second = dpop
            .verify(&with_ath, "POST", URL, Some("tok"), now)
            .unwrap();
        assert_eq!(first.jkt, second.jkt);
    }
}
