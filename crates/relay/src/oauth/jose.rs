//! The little of JOSE the authorization server needs: compact JWS parsing, EC public JWKs
//! (P-256 and secp256k1), RFC 7638 thumbprints, and ES256 / ES256K verification. Input is
//! hostile: sizes are bounded and every field is checked before use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto::{Algorithm, PublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Longest compact JWS accepted (DPoP proofs and client assertions are a few hundred bytes).
pub const MAX_JWS_LEN: usize = 8 * 1024;

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    pub fn parse(token: &str) -> Result<Jws, String> {
        if token.len() > MAX_JWS_LEN {
            return Err("token too large".into());
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS".into());
        };
        let object = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("{what} is not base64url"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(format!("{what} is not a JSON object")),
            }
        };
        Ok(Jws {
            header: object(h, "header")?,
            claims: object(p, "payload")?,
            signing_input: format!("{h}.{p}"),
            signature: URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| "signature is not base64url".to_owned())?,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// Checks the signature with `key`, which must be of the algorithm the header names.
    pub fn verify(&self, key: &PublicKey) -> Result<(), String> {
        let alg = self.header_str("alg").unwrap_or("");
        let expected = match alg {
            "ES256" => Algorithm::P256,
            "ES256K" => Algorithm::K256,
            other => return Err(format!("unsupported alg {other:?}")),
        };
        if key.algorithm() != expected {
            return Err("key does not match alg".into());
        }
        key.verify_jose(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| "invalid signature".to_owned())
    }
}

/// A public EC JWK: its key and its thumbprint.
#[derive(Debug, Clone)]
pub struct Jwk {
    pub key: PublicKey,
    /// RFC 7638 SHA-256 thumbprint, base64url.
    pub thumbprint: String,
    pub kid: Option<String>,
}

impl Jwk {
    /// Reads a public EC JWK. Private members (`d`) are refused: a client that sends its private
    /// key has made a mistake we should not paper over.
    pub fn from_json(jwk: &Map<String, Value>) -> Result<Jwk, String> {
        let get = |name: &str| jwk.get(name).and_then(Value::as_str);
        if get("kty") != Some("EC") {
            return Err("jwk kty must be EC".into());
        }
        if jwk.contains_key("d") {
            return Err("jwk must not contain a private key".into());
        }
        let crv = get("crv").ok_or("jwk has no crv")?;
        let alg = match crv {
            "P-256" => Algorithm::P256,
            "secp256k1" => Algorithm::K256,
            other => return Err(format!("unsupported curve {other:?}")),
        };
        let coord = |name: &str| -> Result<Vec<u8>, String> {
            let text = get(name).ok_or_else(|| format!("jwk has no {name}"))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| format!("jwk {name} is not base64url"))
        };
        let (x, y) = (coord("x")?, coord("y")?);
        let key = PublicKey::from_jwk_coordinates(alg, &x, &y)
            .map_err(|_| "jwk is not a point on its curve".to_owned())?;
        // RFC 7638: the required members, lexicographic order, no whitespace. The coordinates are
        // re-encoded from the decoded bytes so two spellings of one key share a thumbprint.
        let canonical = format!(
            r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(&x),
            URL_SAFE_NO_PAD.encode(&y)
        );
        Ok(Jwk {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
            kid: get("kid").map(str::to_owned),
        })
    }
}

/// base64url(SHA-256(`text`)): PKCE S256 challenges and DPoP `ath`.
pub fn sha256_b64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Keypair;

    fn jwk_of(kp: &Keypair) -> Map<String, Value> {
        let point = kp.public_key().to_uncompressed();
        let crv = match kp.algorithm() {
            Algorithm::P256 => "P-256",
            Algorithm::K256 => "secp256k1",
        };
        serde_json::json!({
            "kty": "EC", "crv": crv,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn sign(kp: &Keypair, header: Value, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = kp.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn verifies_both_curves_and_refuses_mismatches() {
        for (alg, name) in [(Algorithm::P256, "ES256"), (Algorithm::K256, "ES256K")] {
            let kp = Keypair::generate(alg);
            let jwk = Jwk::from_json(&jwk_of(&kp)).unwrap();
            let token = sign(
                &kp,
                serde_json::json!({"alg": name}),
                serde_json::json!({"a": 1}),
            );
            let jws = Jws::parse(&token).unwrap();
            jws.verify(&jwk.key).unwrap();
            let other = Keypair::generate(alg);
            assert!(jws.verify(&other.public_key()).is_err());
            let wrong_alg = sign(
                &kp,
                serde_json::json!({"alg": "HS256"}),
                serde_json::json!({}),
            );
            assert!(Jws::parse(&wrong_alg).unwrap().verify(&jwk.key).is_err());
        }
    }

    #[test]
    fn thumbprint_matches_rfc7638_example_shape() {
        let kp = Keypair::generate(Algorithm::P256);
        let mut jwk = jwk_of(&kp);
        let a = Jwk::from_json(&jwk).unwrap().thumbprint;
        // Extra members do not change the thumbprint.
        jwk.insert("kid".into(), Value::String("k1".into()));
        jwk.insert("use".into(), Value::String("sig".into()));
        assert_eq!(Jwk::from_json(&jwk).unwrap().thumbprint, a);
        assert_eq!(a.len(), 43);
        jwk.insert("d".into(), Value::String("AAAA".into()));
        assert!(Jwk::from_json(&jwk).is_err());
    }

    #[test]
    fn hostile_tokens_are_refused() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            "e30.!!.AA",
            "W10.e30.AA",
        ] {
            assert!(Jws::parse(bad).is_err(), "{bad}");
        }
        assert!(Jws::parse(&"a".repeat(MAX_JWS_LEN + 1)).is_err());
    }
}
