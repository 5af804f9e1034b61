//! Strict DAG-CBOR (the DRISL profile atproto signs and hashes).
//!
//! Encoding always produces the one canonical form. Decoding treats input as hostile and
//! refuses anything that would not re-encode to the same bytes: non-minimal integer or length
//! headers, indefinite lengths, floats, `undefined` and other simple values, tags other than 42,
//! non-string or unsorted or duplicate map keys, invalid UTF-8, and trailing bytes. Nesting depth
//! is bounded so a hostile input cannot exhaust the stack, and no length in a header is trusted
//! for an allocation beyond the bytes actually present.

use crate::value::{Map, Value};
use crate::Cid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    #[error("unexpected end of input")]
    Eof,
    #[error("{0} trailing bytes after the top-level value")]
    Trailing(usize),
    #[error("integer or length not in its shortest form")]
    NonMinimal,
    #[error("indefinite-length items are not allowed")]
    Indefinite,
    #[error("floating-point numbers are not allowed in atproto data")]
    Float,
    #[error("simple value {0} is not allowed (only true, false, null)")]
    Simple(u8),
    #[error("CBOR tag {0} is not allowed (only 42, CID links)")]
    Tag(u64),
    #[error("integer out of the signed 64-bit range")]
    IntRange,
    #[error("map key is not a text string")]
    KeyNotString,
    #[error("map keys are not in canonical order, or repeat")]
    KeyOrder,
    #[error("text string is not valid UTF-8")]
    Utf8,
    #[error("bad CID link: {0}")]
    Link(String),
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    #[error("reserved additional information {0}")]
    Reserved(u8),
}

/// Bounds on what the decoder accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Deep enough for any real record; shallow enough that recursion cannot overflow.
        Limits { max_depth: 128 }
    }
}

/// Canonical encoding of a value.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_into(value, &mut out);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Int(i) => write_int(out, *i),
        Value::String(s) => write_text(out, s),
        Value::Bytes(b) => write_bytes(out, b),
        Value::Link(c) => write_link(out, c),
        Value::Array(items) => {
            write_header(out, 4, items.len() as u64);
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(map) => {
            write_header(out, 5, map.len() as u64);
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // BTreeMap is bytewise; DAG-CBOR wants shorter keys first. Stable sort keeps
            // the bytewise order among keys of equal length.
            entries.sort_by_key(|(k, _)| k.len());
            for (k, v) in entries {
                write_text(out, k);
                encode_into(v, out);
            }
        }
    }
}

/// Writes a major type and argument in its shortest form.
pub fn write_header(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.push(m | 24);
        out.push(arg as u8);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

pub fn write_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        write_header(out, 0, i as u64);
    } else {
        write_header(out, 1, (-1 - i) as u64);
    }
}

pub fn write_text(out: &mut Vec<u8>, s: &str) {
    write_header(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_header(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub fn write_link(out: &mut Vec<u8>, c: &Cid) {
    out.extend_from_slice(&[0xd8, 42]);
    let bytes = c.to_bytes();
    write_header(out, 2, bytes.len() as u64 + 1);
    out.push(0x00);
    out.extend_from_slice(&bytes);
}

pub fn write_null(out: &mut Vec<u8>) {
    out.push(0xf6);
}

/// Decodes exactly one value that fills `bytes`, with default limits.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    decode_with(bytes, Limits::default())
}

pub fn decode_with(bytes: &[u8], limits: Limits) -> Result<Value, CborError> {
    let (value, used) = decode_prefix_with(bytes, limits)?;
    if used != bytes.len() {
        return Err(CborError::Trailing(bytes.len() - used));
    }
    Ok(value)
}

/// Decodes one value at the start of `bytes`; returns it and the number of bytes it took.
/// Event-stream frames are two values back to back, which is what this is for.
pub fn decode_prefix(bytes: &[u8]) -> Result<(Value, usize), CborError> {
    decode_prefix_with(bytes, Limits::default())
}

pub fn decode_prefix_with(bytes: &[u8], limits: Limits) -> Result<(Value, usize), CborError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        limits,
    };
    let value = reader.value(0)?;
    Ok((value, reader.pos))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: Limits,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        if n > self.remaining() {
            return Err(CborError::Eof);
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        Ok(self.take(1)?[0])
    }

    /// Reads the argument of a header whose initial byte was `initial`, enforcing the shortest form.
    fn argument(&mut self, initial: u8) -> Result<u64, CborError> {
        let info = initial & 0x1f;
        let value = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => {
                let v = u64::from(self.byte()?);
                if v < 24 {
                    return Err(CborError::NonMinimal);
                }
                v
            }
            25 => {
                let v = u64::from(u16::from_be_bytes(self.take(2)?.try_into().unwrap()));
                if v <= 0xff {
                    return Err(CborError::NonMinimal);
                }
                v
            }
            26 => {
                let v = u64::from(u32::from_be_bytes(self.take(4)?.try_into().unwrap()));
                if v <= 0xffff {
                    return Err(CborError::NonMinimal);
                }
                v
            }
            27 => {
                let v = u64::from_be_bytes(self.take(8)?.try_into().unwrap());
                if v <= 0xffff_ffff {
                    return Err(CborError::NonMinimal);
                }
                v
            }
            31 => return Err(CborError::Indefinite),
            _ => return Err(CborError::Reserved(info)),
        };
        Ok(value)
    }

    /// A length that must fit in what is left of the input (each item needs at least one byte),
    /// so a forged header cannot make us allocate more than the input's size.
    fn length(&mut self, initial: u8) -> Result<usize, CborError> {
        let n = self.argument(initial)?;
        if n > self.remaining() as u64 {
            return Err(CborError::Eof);
        }
        Ok(n as usize)
    }

    fn text(&mut self, initial: u8) -> Result<&'a str, CborError> {
        let n = self.length(initial)?;
        std::str::from_utf8(self.take(n)?).map_err(|_| CborError::Utf8)
    }

    fn value(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > self.limits.max_depth {
            return Err(CborError::TooDeep(self.limits.max_depth));
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        match major {
            0 => {
                let n = self.argument(initial)?;
                i64::try_from(n)
                    .map(Value::Int)
                    .map_err(|_| CborError::IntRange)
            }
            1 => {
                let n = self.argument(initial)?;
                let n = i64::try_from(n).map_err(|_| CborError::IntRange)?;
                Ok(Value::Int(-1 - n))
            }
            2 => {
                let n = self.length(initial)?;
                Ok(Value::Bytes(self.take(n)?.to_vec()))
            }
            3 => Ok(Value::String(self.text(initial)?.to_owned())),
            4 => {
                let n = self.length(initial)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(initial)?;
                let mut map = Map::new();
                let mut previous: Option<&str> = None;
                for _ in 0..n {
                    let key_initial = self.byte()?;
                    if key_initial >> 5 != 3 {
                        return Err(CborError::KeyNotString);
                    }
                    let key = self.text(key_initial)?;
                    if let Some(prev) = previous {
                        if !key_follows(prev, key) {
                            return Err(CborError::KeyOrder);
                        }
                    }
                    previous = Some(key);
                    let value = self.value(depth + 1)?;
                    map.insert(key.to_owned(), value);
                }
                Ok(Value::Map(map))
            }
            6 => {
                let tag = self.argument(initial)?;
                if tag != 42 {
                    return Err(CborError::Tag(tag));
                }
                let inner = self.byte()?;
                if inner >> 5 != 2 {
                    return Err(CborError::Link("tag 42 must wrap a byte string".into()));
                }
                let n = self.length(inner)?;
                let body = self.take(n)?;
                match body.split_first() {
                    Some((0x00, cid)) => Cid::from_bytes(cid)
                        .map(Value::Link)
                        .map_err(|e| CborError::Link(e.to_string())),
                    _ => Err(CborError::Link("missing the 0x00 multibase prefix".into())),
                }
            }
            _ => match initial {
                0xf4 => Ok(Value::Bool(false)),
                0xf5 => Ok(Value::Bool(true)),
                0xf6 => Ok(Value::Null),
                0xf9..=0xfb => Err(CborError::Float),
                0xff => Err(CborError::Indefinite),
                0xf8 => Err(CborError::Simple(self.byte()?)),
                other => Err(CborError::Simple(other & 0x1f)),
            },
        }
    }
}

/// DAG-CBOR key order: shorter first, then bytewise; equal keys are not in order.
pub fn key_follows(prev: &str, next: &str) -> bool {
    (prev.len(), prev.as_bytes()) < (next.len(), next.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn canonical_map_order() {
        let mut m = Map::new();
        m.insert("bb".into(), Value::Int(1));
        m.insert("a".into(), Value::Int(2));
        m.insert("ab".into(), Value::Int(3));
        let bytes = encode(&Value::Map(m.clone()));
        // a, ab, bb: shorter keys first, then bytewise
        assert_eq!(bytes, hex("a36161026261620362626201"));
        assert_eq!(decode(&bytes).unwrap(), Value::Map(m));
    }

    #[test]
    fn rejects_non_canonical() {
        // key order bb before a
        assert_eq!(
            decode(&hex("a2626262016161 02".replace(' ', "").as_str())),
            Err(CborError::KeyOrder)
        );
        // duplicate key
        assert_eq!(decode(&hex("a2616101616102")), Err(CborError::KeyOrder));
        // non-minimal integer 1 as 0x18 0x01
        assert_eq!(decode(&hex("1801")), Err(CborError::NonMinimal));
        // non-minimal length
        assert_eq!(
            decode(&hex("7801 61".replace(' ', "").as_str())),
            Err(CborError::NonMinimal)
        );
        // indefinite array
        assert_eq!(decode(&hex("9f01ff")), Err(CborError::Indefinite));
        // half float
        assert_eq!(decode(&hex("f93c00")), Err(CborError::Float));
        // double
        assert_eq!(decode(&hex("fb3ff8000000000000")), Err(CborError::Float));
        // undefined
        assert_eq!(decode(&hex("f7")), Err(CborError::Simple(23)));
        // foreign tag (1 = epoch time)
        assert_eq!(decode(&hex("c101")), Err(CborError::Tag(1)));
        // trailing byte
        assert_eq!(decode(&hex("0101")), Err(CborError::Trailing(1)));
        // integer key
        assert_eq!(decode(&hex("a10101")), Err(CborError::KeyNotString));
        // u64 beyond i64
        assert_eq!(decode(&hex("1bffffffffffffffff")), Err(CborError::IntRange));
        // huge claimed length with no bytes behind it
        assert_eq!(decode(&hex("5bffffffffffffffff")), Err(CborError::Eof));
    }

    #[test]
    fn integer_edges() {
        for i in [
            0,
            23,
            24,
            255,
            256,
            65535,
            65536,
            i64::MAX,
            -1,
            -24,
            -25,
            -256,
            -257,
            i64::MIN,
        ] {
            let bytes = encode(&Value::Int(i));
            assert_eq!(decode(&bytes).unwrap(), Value::Int(i), "{i}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut bytes = vec![0x81; 10_000];
        bytes.push(0x01);
        assert_eq!(decode(&bytes), Err(CborError::TooDeep(128)));
    }
}
