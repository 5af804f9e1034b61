//! The MST node codec: `{e: [{k, p, t, v}], l}` in DAG-CBOR, written and read directly.
//!
//! A node is on the hot path of every write (each one re-encodes the O(log n) nodes on its
//! path) so this codec skips the generic [`data::Value`] tree. It writes exactly the bytes
//! [`data::cbor::encode`] would for the same node (`l` and `t` always present, null when absent,
//! as the reference writes them; keys in DAG-CBOR order, which for these one-letter keys is
//! `e` < `l` and `k` < `p` < `t` < `v`). The reader is as strict as [`data::cbor::decode`] and
//! stricter: it accepts only that exact shape, shortest-form headers, canonical prefix
//! compression, strictly ascending valid keys, and dag-cbor links to child nodes.
//! Tree-level rules (key depths, ranges, empty nodes) are checked by the tree when it loads.

use data::cid::CID_LEN;
use data::{Cid, Codec};

use super::key::{common_prefix_len, validate_key};
use super::MstError;

/// Most entries one node may hold. A node's width is geometric with mean 3 for honestly made
/// keys, so the chance of an honest node reaching this is about (3/4)^1024; the cap stops
/// mined keys from making huge nodes that every write would re-encode (repository spec,
/// §Security Considerations).
pub const MAX_NODE_ENTRIES: usize = 1024;

/// One MST node as it is encoded, with the prefix-compressed keys expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeData {
    /// `l`: the subtree of keys before the first entry.
    pub left: Option<Cid>,
    /// `e`: the entries, in ascending key order.
    pub entries: Vec<EntryData>,
}

/// One entry of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryData {
    /// The full key (`p` bytes of the previous key followed by `k`).
    pub key: String,
    /// `v`: the record.
    pub value: Cid,
    /// `t`: the subtree of keys between this entry and the next.
    pub right: Option<Cid>,
}

impl NodeData {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.entries.len() * 96);
        encode_node(
            self.left.as_ref(),
            self.entries
                .iter()
                .map(|e| (e.key.as_bytes(), &e.value, e.right.as_ref())),
            &mut out,
        );
        out
    }

    /// Parses a node, refusing anything but its one canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<NodeData, MstError> {
        let mut r = Reader { bytes, pos: 0 };
        r.expect(0xa2, "a map of two keys (e, l)")?;
        r.expect_key(b'e')?;
        let count = r.header(4, "e must be an array")?;
        if count > MAX_NODE_ENTRIES as u64 {
            return Err(MstError::malformed(format!(
                "{count} entries, more than the {MAX_NODE_ENTRIES} allowed"
            )));
        }
        // each entry takes at least 50 bytes; don't trust the count for an allocation
        let mut entries: Vec<EntryData> =
            Vec::with_capacity((count as usize).min(bytes.len() / 50));
        for index in 0..count as usize {
            r.expect(0xa4, "an entry must be a map of four keys (k, p, t, v)")?;
            r.expect_key(b'k')?;
            let suffix_len = r.header(2, "k must be a byte string")?;
            let suffix = r.take(suffix_len as usize)?;
            r.expect_key(b'p')?;
            let prefix = r.header(0, "p must be a non-negative integer")?;
            r.expect_key(b't')?;
            let right = r.nullable_link("t")?;
            r.expect_key(b'v')?;
            let value = r.link("v")?;

            let prev = entries.last().map(|e| e.key.as_bytes()).unwrap_or(b"");
            if prefix > prev.len() as u64 {
                return Err(MstError::malformed(format!(
                    "entry {index}: prefix length {prefix} is longer than the previous key"
                )));
            }
            let prefix = prefix as usize;
            let mut key = Vec::with_capacity(prefix + suffix.len());
            key.extend_from_slice(&prev[..prefix]);
            key.extend_from_slice(suffix);
            if common_prefix_len(prev, &key) != prefix {
                return Err(MstError::malformed(format!(
                    "entry {index}: prefix length {prefix} is not the length shared with the previous key"
                )));
            }
            if index > 0 && key.as_slice() <= prev {
                return Err(MstError::malformed(format!(
                    "entry {index}: keys are not in strictly ascending order"
                )));
            }
            let key = String::from_utf8(key)
                .map_err(|_| MstError::malformed(format!("entry {index}: key is not UTF-8")))?;
            validate_key(&key)?;
            entries.push(EntryData { key, value, right });
        }
        r.expect_key(b'l')?;
        let left = r.nullable_link("l")?;
        if r.pos != bytes.len() {
            return Err(MstError::malformed(format!(
                "{} trailing bytes",
                bytes.len() - r.pos
            )));
        }
        Ok(NodeData { left, entries })
    }

    /// The CID of the canonical encoding.
    pub fn cid(&self) -> Cid {
        Cid::for_dag_cbor(&self.encode())
    }
}

/// Writes a node from its parts: the left link, then (key, value, right link) per entry.
///
/// Every node of every write is encoded here, so the fixed parts are written as the literal
/// bytes [`data::cbor`]'s writers produce for them (a map of 2 or 4 entries, the one-letter
/// keys, null, the 41 bytes of a CID link); the node tests check the result against
/// [`data::cbor::encode`].
pub(crate) fn encode_node<'a>(
    left: Option<&Cid>,
    entries: impl ExactSizeIterator<Item = (&'a [u8], &'a Cid, Option<&'a Cid>)>,
    out: &mut Vec<u8>,
) {
    // {"e": [
    out.extend_from_slice(&[0xa2, 0x61, b'e']);
    write_header(out, 4, entries.len() as u64);
    let mut prev: &[u8] = b"";
    for (key, value, right) in entries {
        let prefix = common_prefix_len(prev, key);
        // {"k": bytes, "p": uint, "t": link or null, "v": link}
        out.extend_from_slice(&[0xa4, 0x61, b'k']);
        write_header(out, 2, (key.len() - prefix) as u64);
        out.extend_from_slice(&key[prefix..]);
        out.extend_from_slice(&[0x61, b'p']);
        write_header(out, 0, prefix as u64);
        out.extend_from_slice(&[0x61, b't']);
        match right {
            Some(cid) => write_link(out, cid),
            None => out.push(NULL),
        }
        out.extend_from_slice(&[0x61, b'v']);
        write_link(out, value);
        prev = key;
    }
    // ], "l": link or null}
    out.extend_from_slice(&[0x61, b'l']);
    match left {
        Some(cid) => write_link(out, cid),
        None => out.push(NULL),
    }
}

/// CBOR null.
const NULL: u8 = 0xf6;

// `write_link` writes the byte string's length as one byte after 0x58.
const _: () = assert!(CID_LEN + 1 >= 24 && CID_LEN < 0xff);

/// A CBOR head: major type and argument, in shortest form.
#[inline]
fn write_header(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// A DAG-CBOR link: tag 42 around the byte string 0x00 followed by the binary CID, which is
/// [`Cid::to_bytes`]: version 1, codec, sha2-256 and its length, digest. Written from the
/// digest in place rather than through a copy on the stack (re-reading freshly written bytes
/// as wider words stalls the store forwarding, and links are most of a node's bytes).
#[inline]
fn write_link(out: &mut Vec<u8>, cid: &Cid) {
    let len = 1 + CID_LEN as u8;
    let code = cid.codec().code();
    out.extend_from_slice(&[0xd8, 42, 0x58, len, 0x00, 0x01, code, 0x12, 0x20]);
    out.extend_from_slice(cid.digest());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, MstError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| MstError::malformed("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MstError> {
        if n > self.bytes.len() - self.pos {
            return Err(MstError::malformed("truncated"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<(), MstError> {
        if self.byte()? != want {
            return Err(MstError::malformed(format!("expected {what}")));
        }
        Ok(())
    }

    /// A one-letter text key.
    fn expect_key(&mut self, key: u8) -> Result<(), MstError> {
        if self.take(2)? != [0x61, key] {
            return Err(MstError::malformed(format!(
                "expected the key {:?}",
                key as char
            )));
        }
        Ok(())
    }

    /// A header of major type `major` in its shortest form; returns its argument.
    fn header(&mut self, major: u8, what: &str) -> Result<u64, MstError> {
        let initial = self.byte()?;
        if initial >> 5 != major {
            return Err(MstError::malformed(what.to_string()));
        }
        let info = initial & 0x1f;
        let (value, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.byte()?), 24),
            25 => (
                u64::from(u16::from_be_bytes(
                    self.take(2)?.try_into().expect("2 bytes"),
                )),
                0x100,
            ),
            26 => (
                u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().expect("4 bytes"),
                )),
                0x1_0000,
            ),
            27 => (
                u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
                0x1_0000_0000,
            ),
            _ => {
                return Err(MstError::malformed(format!(
                    "{what}: indefinite or reserved length"
                )))
            }
        };
        if value < min {
            return Err(MstError::malformed(format!(
                "{what}: header not in shortest form"
            )));
        }
        Ok(value)
    }

    fn link(&mut self, field: &str) -> Result<Cid, MstError> {
        if self.take(2)? != [0xd8, 42] {
            return Err(MstError::malformed(format!("{field} must be a CID link")));
        }
        let len = self.header(2, "a CID link must wrap a byte string")?;
        let body = self.take(len as usize)?;
        match body.split_first() {
            Some((0x00, cid)) => Cid::from_bytes(cid)
                .map_err(|e| MstError::malformed(format!("{field}: bad CID: {e}"))),
            _ => Err(MstError::malformed(format!(
                "{field}: CID link without its 0x00 prefix"
            ))),
        }
    }

    /// A link to a child node (dag-cbor codec), or null.
    fn nullable_link(&mut self, field: &str) -> Result<Option<Cid>, MstError> {
        if self.bytes.get(self.pos) == Some(&0xf6) {
            self.pos += 1;
            return Ok(None);
        }
        let cid = self.link(field)?;
        if cid.codec() != Codec::DagCbor {
            return Err(MstError::malformed(format!(
                "{field}: a link to a tree node must use the dag-cbor codec"
            )));
        }
        Ok(Some(cid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data::{Map, Value};

    fn leaf() -> Cid {
        "bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454"
            .parse()
            .unwrap()
    }

    /// The same node through the generic data model, for byte comparison.
    fn as_value(node: &NodeData) -> Value {
        let mut prev = String::new();
        let entries = node
            .entries
            .iter()
            .map(|e| {
                let p = common_prefix_len(prev.as_bytes(), e.key.as_bytes());
                let mut m = Map::new();
                m.insert("k".into(), Value::Bytes(e.key.as_bytes()[p..].to_vec()));
                m.insert("p".into(), Value::Int(p as i64));
                m.insert("t".into(), e.right.map(Value::Link).unwrap_or(Value::Null));
                m.insert("v".into(), Value::Link(e.value));
                prev = e.key.clone();
                Value::Map(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("e".into(), Value::Array(entries));
        m.insert(
            "l".into(),
            node.left.map(Value::Link).unwrap_or(Value::Null),
        );
        Value::Map(m)
    }

    fn sample() -> NodeData {
        NodeData {
            left: Some(Cid::for_dag_cbor(b"left")),
            entries: vec![
                EntryData {
                    key: "com.example.record/3jqfcqzm3fo2j".into(),
                    value: leaf(),
                    right: None,
                },
                EntryData {
                    key: "com.example.record/3jqfcqzm3fp2j".into(),
                    value: leaf(),
                    right: Some(Cid::for_dag_cbor(b"right")),
                },
            ],
        }
    }

    #[test]
    fn empty_node_is_the_known_cid() {
        let empty = NodeData {
            left: None,
            entries: vec![],
        };
        assert_eq!(
            empty.cid().to_string(),
            "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
        );
        assert_eq!(NodeData::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn single_entry_node_matches_reference() {
        // the reference's "manual node" test
        let node = NodeData {
            left: None,
            entries: vec![EntryData {
                key: "com.example.record/3jqfcqzm3fo2j".into(),
                value: leaf(),
                right: None,
            }],
        };
        assert_eq!(
            node.cid().to_string(),
            "bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu"
        );
    }

    #[test]
    fn bytes_equal_generic_encoder() {
        let node = sample();
        let bytes = node.encode();
        assert_eq!(bytes, data::cbor::encode(&as_value(&node)));
        assert_eq!(NodeData::decode(&bytes).unwrap(), node);
    }

    #[test]
    fn links_match_the_generic_writer() {
        for cid in [Cid::for_dag_cbor(b"node"), Cid::for_raw(b"blob")] {
            let mut ours = Vec::new();
            write_link(&mut ours, &cid);
            let mut generic = Vec::new();
            data::cbor::write_link(&mut generic, &cid);
            assert_eq!(ours, generic);
        }
    }

    #[test]
    fn wide_nodes_and_long_keys_match_the_generic_encoder() {
        // More than 23 entries, suffixes and prefixes past 23 and 255 bytes: every header
        // width the node writer uses.
        let mut entries = Vec::new();
        for i in 0..40usize {
            let key = format!("com.example.record/{}{i:03}", "x".repeat(i * 15));
            let right = (i % 3 == 0).then(|| Cid::for_dag_cbor(key.as_bytes()));
            entries.push(EntryData {
                key,
                value: leaf(),
                right,
            });
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        for left in [None, Some(Cid::for_dag_cbor(b"left"))] {
            let node = NodeData {
                left,
                entries: entries.clone(),
            };
            let bytes = node.encode();
            assert_eq!(bytes, data::cbor::encode(&as_value(&node)));
            assert_eq!(NodeData::decode(&bytes).unwrap(), node);
        }
    }

    #[test]
    fn rejects_non_canonical() {
        let node = sample();
        let good = node.encode();
        // trailing byte
        let mut bad = good.clone();
        bad.push(0);
        assert!(NodeData::decode(&bad).is_err());
        // truncated
        assert!(NodeData::decode(&good[..good.len() - 1]).is_err());
        // keys out of order
        let mut swapped = node.clone();
        swapped.entries.swap(0, 1);
        assert!(NodeData::decode(&swapped.encode()).is_err());
        // non-canonical prefix: spell the second key with p=0 and its full suffix
        let mut v = as_value(&node);
        if let Value::Map(m) = &mut v {
            if let Some(Value::Array(es)) = m.get_mut("e") {
                if let Value::Map(e) = &mut es[1] {
                    e.insert("p".into(), Value::Int(0));
                    e.insert(
                        "k".into(),
                        Value::Bytes(b"com.example.record/3jqfcqzm3fp2j".to_vec()),
                    );
                }
            }
        }
        assert!(NodeData::decode(&data::cbor::encode(&v)).is_err());
        // missing `t` (an older, optional encoding): not the canonical shape
        let mut v = as_value(&node);
        if let Value::Map(m) = &mut v {
            if let Some(Value::Array(es)) = m.get_mut("e") {
                if let Value::Map(e) = &mut es[0] {
                    e.remove("t");
                }
            }
        }
        assert!(NodeData::decode(&data::cbor::encode(&v)).is_err());
        // a raw-codec link to a subtree
        let mut raw = node.clone();
        raw.left = Some(Cid::for_raw(b"blob"));
        assert!(NodeData::decode(&raw.encode()).is_err());
        // an invalid key
        let mut badkey = node;
        badkey.entries[0].key = "no-slash".into();
        assert!(NodeData::decode(&badkey.encode()).is_err());
    }
}
