//! Repo commits, version 3 (repository spec, §Commit Objects).
//!
//! A commit names the account (`did`), the MST root (`data`), a revision (`rev`, a TID that
//! only ever increases) and `prev` (present, and null in practice). The signature covers the
//! DAG-CBOR encoding of those five fields; the commit's CID covers the encoding with `sig`.
//!
//! An [`UnsignedCommit`] can be signed here with a [`crypto::Keypair`], or its
//! [`bytes_to_sign`](UnsignedCommit::bytes_to_sign) handed to another party whose signature is
//! attached with [`UnsignedCommit::with_signature`] (the desktop builds, the relay signs).

use data::cbor::{self, write_bytes, write_header, write_int, write_link, write_null, write_text};
use data::{Cid, Codec, Value};
use syntax::Tid;

/// The repo format version written and accepted.
pub const VERSION: i64 = 3;

/// Why a commit could not be read or verified.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("commit is not valid DAG-CBOR: {0}")]
    Cbor(#[from] cbor::CborError),
    #[error("commit is malformed: {0}")]
    Shape(String),
    #[error("commit version {0} is not supported (only 3)")]
    Version(i64),
    #[error("commit signature does not verify: {0}")]
    Signature(#[from] crypto::CryptoError),
}

/// A commit before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedCommit {
    /// The account, in normalised form.
    pub did: String,
    /// Always [`VERSION`] (3).
    pub version: i64,
    /// The MST root.
    pub data: Cid,
    /// The revision.
    pub rev: Tid,
    /// The previous commit; kept for v2 compatibility and normally `None` (written as null).
    pub prev: Option<Cid>,
}

/// A signed commit, as stored and sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCommit {
    pub unsigned: UnsignedCommit,
    /// The raw signature (64 bytes `r‖s` for the blessed curves).
    pub sig: Vec<u8>,
}

impl UnsignedCommit {
    /// A version-3 commit with `prev` null.
    pub fn new(did: impl Into<String>, data: Cid, rev: Tid) -> UnsignedCommit {
        UnsignedCommit {
            did: did.into(),
            version: VERSION,
            data,
            rev,
            prev: None,
        }
    }

    /// The DAG-CBOR encoding without `sig` (with `prev` present, null if absent): the bytes the
    /// signature covers.
    pub fn bytes_to_sign(&self) -> Vec<u8> {
        self.encode(None)
    }

    /// Signs with the account's signing key.
    pub fn sign(self, key: &crypto::Keypair) -> SignedCommit {
        let sig = key.sign(&self.bytes_to_sign()).to_vec();
        SignedCommit {
            unsigned: self,
            sig,
        }
    }

    /// Attaches a signature made elsewhere over [`bytes_to_sign`](Self::bytes_to_sign).
    /// Nothing is checked; use [`SignedCommit::verify`].
    pub fn with_signature(self, sig: Vec<u8>) -> SignedCommit {
        SignedCommit {
            unsigned: self,
            sig,
        }
    }

    // Keys in DAG-CBOR order (length first, then bytewise): did, rev, [sig], data, prev, version.
    fn encode(&self, sig: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.did.len());
        write_header(&mut out, 5, if sig.is_some() { 6 } else { 5 });
        write_text(&mut out, "did");
        write_text(&mut out, &self.did);
        write_text(&mut out, "rev");
        write_text(&mut out, self.rev.as_str());
        if let Some(sig) = sig {
            write_text(&mut out, "sig");
            write_bytes(&mut out, sig);
        }
        write_text(&mut out, "data");
        write_link(&mut out, &self.data);
        write_text(&mut out, "prev");
        match &self.prev {
            Some(prev) => write_link(&mut out, prev),
            None => write_null(&mut out),
        }
        write_text(&mut out, "version");
        write_int(&mut out, self.version);
        out
    }
}

impl SignedCommit {
    pub fn did(&self) -> &str {
        &self.unsigned.did
    }

    pub fn data(&self) -> Cid {
        self.unsigned.data
    }

    pub fn rev(&self) -> Tid {
        self.unsigned.rev
    }

    pub fn prev(&self) -> Option<Cid> {
        self.unsigned.prev
    }

    /// The stored encoding (with `sig`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.unsigned.encode(Some(&self.sig))
    }

    /// The commit's CID (over the signed encoding).
    pub fn cid(&self) -> Cid {
        Cid::for_dag_cbor(&self.to_bytes())
    }

    /// Checks the signature against the account's signing key (its DID document's `#atproto`
    /// key).
    pub fn verify(&self, key: &crypto::PublicKey) -> Result<(), CommitError> {
        key.verify(&self.unsigned.bytes_to_sign(), &self.sig)?;
        Ok(())
    }

    /// Parses a signed commit strictly: canonical DAG-CBOR holding exactly `did`, `version`
    /// (3), `data` (a dag-cbor link), `rev` (a TID), `prev` (a link or null, but present) and
    /// `sig` (bytes), and nothing else.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedCommit, CommitError> {
        let value = cbor::decode(bytes)?;
        let map = value
            .as_map()
            .ok_or_else(|| CommitError::Shape("not a map".into()))?;
        const KEYS: [&str; 6] = ["data", "did", "prev", "rev", "sig", "version"];
        if map.len() != KEYS.len() || !KEYS.iter().all(|k| map.contains_key(*k)) {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(CommitError::Shape(format!(
                "keys must be exactly {KEYS:?}, found {keys:?}"
            )));
        }
        let version = map["version"]
            .as_int()
            .ok_or_else(|| CommitError::Shape("version must be an integer".into()))?;
        if version != VERSION {
            return Err(CommitError::Version(version));
        }
        let did = map["did"]
            .as_str()
            .ok_or_else(|| CommitError::Shape("did must be a string".into()))?;
        syntax::validate_did(did).map_err(|e| CommitError::Shape(format!("did: {e}")))?;
        let data = *map["data"]
            .as_link()
            .ok_or_else(|| CommitError::Shape("data must be a CID link".into()))?;
        if data.codec() != Codec::DagCbor {
            return Err(CommitError::Shape(
                "data must link to a dag-cbor node".into(),
            ));
        }
        let rev: Tid = map["rev"]
            .as_str()
            .ok_or_else(|| CommitError::Shape("rev must be a string".into()))?
            .parse()
            .map_err(|e| CommitError::Shape(format!("rev: {e}")))?;
        let prev = match &map["prev"] {
            Value::Null => None,
            Value::Link(cid) => Some(*cid),
            _ => return Err(CommitError::Shape("prev must be a CID link or null".into())),
        };
        let sig = map["sig"]
            .as_bytes()
            .ok_or_else(|| CommitError::Shape("sig must be bytes".into()))?
            .to_vec();
        Ok(SignedCommit {
            unsigned: UnsignedCommit {
                did: did.to_string(),
                version,
                data,
                rev,
                prev,
            },
            sig,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data::Map;

    fn sample() -> UnsignedCommit {
        UnsignedCommit::new(
            "did:plc:abcdefghijklmnopqrstuvwx",
            crate::mst::Mst::empty_root(),
            "3jqfcqzm3fo2j".parse().unwrap(),
        )
    }

    #[test]
    fn encoding_matches_generic_encoder() {
        let commit = sample();
        let mut m = Map::new();
        m.insert("did".into(), Value::String(commit.did.clone()));
        m.insert("version".into(), Value::Int(3));
        m.insert("data".into(), Value::Link(commit.data));
        m.insert("rev".into(), Value::String(commit.rev.to_string()));
        m.insert("prev".into(), Value::Null);
        assert_eq!(commit.bytes_to_sign(), cbor::encode(&Value::Map(m.clone())));
        let signed = commit.with_signature(vec![7; 64]);
        m.insert("sig".into(), Value::Bytes(vec![7; 64]));
        assert_eq!(signed.to_bytes(), cbor::encode(&Value::Map(m)));
    }

    #[test]
    fn sign_verify_round_trip() {
        let key = crypto::Keypair::generate(crypto::Algorithm::P256);
        let signed = sample().sign(&key);
        signed.verify(&key.public_key()).unwrap();
        let bytes = signed.to_bytes();
        let back = SignedCommit::from_bytes(&bytes).unwrap();
        assert_eq!(back, signed);
        assert_eq!(back.cid(), Cid::for_dag_cbor(&bytes));
        let other = crypto::Keypair::generate(crypto::Algorithm::K256);
        assert!(back.verify(&other.public_key()).is_err());
        let mut tampered = back;
        tampered.unsigned.rev = "3jqfcqzm3fp2j".parse().unwrap();
        assert!(tampered.verify(&key.public_key()).is_err());
    }

    #[test]
    fn from_bytes_is_strict() {
        let signed = sample().with_signature(vec![1; 64]);
        let good = cbor::decode(&signed.to_bytes()).unwrap();
        let edit = |f: &dyn Fn(&mut Map)| {
            let mut v = good.clone();
            if let Value::Map(m) = &mut v {
                f(m);
            }
            SignedCommit::from_bytes(&cbor::encode(&v))
        };
        assert!(edit(&|_| {}).is_ok());
        assert!(edit(&|m| {
            m.remove("prev");
        })
        .is_err());
        assert!(edit(&|m| {
            m.insert("extra".into(), Value::Null);
        })
        .is_err());
        assert!(matches!(
            edit(&|m| {
                m.insert("version".into(), Value::Int(2));
            }),
            Err(CommitError::Version(2))
        ));
        assert!(edit(&|m| {
            m.insert("rev".into(), Value::String("not-a-tid".into()));
        })
        .is_err());
        assert!(edit(&|m| {
            m.insert("data".into(), Value::Link(Cid::for_raw(b"x")));
        })
        .is_err());
        assert!(edit(&|m| {
            m.insert("sig".into(), Value::String("sig".into()));
        })
        .is_err());
        assert!(edit(&|m| {
            m.insert("did".into(), Value::String("not a did".into()));
        })
        .is_err());
        // trailing bytes
        let mut bytes = signed.to_bytes();
        bytes.push(0);
        assert!(SignedCommit::from_bytes(&bytes).is_err());
    }
}
