//! Content identifiers as atproto blesses them: CIDv1, SHA-256, codec dag-cbor or raw.
//!
//! Anything else (CIDv0, other hashes, other codecs) is refused when parsed, so a `Cid`
//! value is always one this project could have produced itself.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Multicodec of the data a CID points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// 0x71: records, commits, MST nodes.
    DagCbor,
    /// 0x55: blobs.
    Raw,
}

impl Codec {
    pub const fn code(self) -> u8 {
        match self {
            Codec::DagCbor => 0x71,
            Codec::Raw => 0x55,
        }
    }
}

/// Length of a binary CID: version, codec, hash code, digest length, 32 digest bytes.
pub const CID_LEN: usize = 36;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cid {
    codec: Codec,
    digest: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
    #[error("CID is not in base32 multibase form (must start with 'b')")]
    NotBase32,
    #[error("CID string is not valid base32")]
    BadBase32,
    #[error("CID is truncated")]
    Truncated,
    #[error("only CIDv1 is allowed, found version {0}")]
    Version(u8),
    #[error("unsupported CID codec 0x{0:x} (dag-cbor 0x71 or raw 0x55 only)")]
    Codec(u8),
    #[error("unsupported CID hash (sha2-256 with a 32-byte digest only)")]
    Hash,
    #[error("CID has {0} trailing bytes")]
    Trailing(usize),
}

impl Cid {
    pub const fn new(codec: Codec, digest: [u8; 32]) -> Cid {
        Cid { codec, digest }
    }

    /// The CID of DAG-CBOR bytes (records, commits, MST nodes).
    pub fn for_dag_cbor(bytes: &[u8]) -> Cid {
        Cid::new(Codec::DagCbor, Sha256::digest(bytes).into())
    }

    /// The CID of raw bytes (blobs).
    pub fn for_raw(bytes: &[u8]) -> Cid {
        Cid::new(Codec::Raw, Sha256::digest(bytes).into())
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The binary form (as inside CBOR tag 42 after its 0x00 prefix, and in CAR sections).
    pub fn to_bytes(&self) -> [u8; CID_LEN] {
        let mut out = [0u8; CID_LEN];
        out[0] = 0x01;
        out[1] = self.codec.code();
        out[2] = 0x12;
        out[3] = 0x20;
        out[4..].copy_from_slice(&self.digest);
        out
    }

    /// Parses a binary CID that must fill `bytes` exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cid, CidError> {
        let (cid, used) = Cid::read_prefix(bytes)?;
        if used != bytes.len() {
            return Err(CidError::Trailing(bytes.len() - used));
        }
        Ok(cid)
    }

    /// Parses a binary CID at the start of `bytes`, returning it and how many bytes it took.
    pub fn read_prefix(bytes: &[u8]) -> Result<(Cid, usize), CidError> {
        if bytes.len() < 4 {
            return Err(CidError::Truncated);
        }
        if bytes[0] != 0x01 {
            return Err(CidError::Version(bytes[0]));
        }
        let codec = match bytes[1] {
            0x71 => Codec::DagCbor,
            0x55 => Codec::Raw,
            other => return Err(CidError::Codec(other)),
        };
        if bytes[2] != 0x12 || bytes[3] != 0x20 {
            return Err(CidError::Hash);
        }
        if bytes.len() < CID_LEN {
            return Err(CidError::Truncated);
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[4..CID_LEN]);
        Ok((Cid { codec, digest }, CID_LEN))
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b")?;
        f.write_str(&crate::base32::encode(&self.to_bytes()))
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(s: &str) -> Result<Cid, CidError> {
        let rest = s.strip_prefix('b').ok_or(CidError::NotBase32)?;
        let bytes = crate::base32::decode(rest).ok_or(CidError::BadBase32)?;
        Cid::from_bytes(&bytes)
    }
}

/// Orders CIDs as their binary forms compare, which is what CAR and block lists sort by.
impl Ord for Cid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_bytes().cmp(&other.to_bytes())
    }
}

impl PartialOrd for Cid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip() {
        let s = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
        let cid: Cid = s.parse().unwrap();
        assert_eq!(cid.codec(), Codec::DagCbor);
        assert_eq!(cid.to_string(), s);
        let raw: Cid = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"
            .parse()
            .unwrap();
        assert_eq!(raw.codec(), Codec::Raw);
    }

    #[test]
    fn refuses_other_forms() {
        assert_eq!(
            "QmQg1v4o9xdT3Q1R8tNK3z9ZkRmg7FbQfZ1J2Z3kQ9ZkR".parse::<Cid>(),
            Err(CidError::NotBase32)
        );
        assert!(".".parse::<Cid>().is_err());
        assert!("b".parse::<Cid>().is_err());
    }
}
