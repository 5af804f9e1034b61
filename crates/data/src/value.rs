//! The atproto data model as one Rust type.

use std::collections::BTreeMap;

use crate::Cid;

/// Map of a DAG-CBOR object. `BTreeMap` orders keys bytewise; the encoder re-sorts them
/// length-first as DAG-CBOR requires, so the map's own order never leaks into bytes.
pub type Map = BTreeMap<String, Value>;

/// One value of the atproto data model. There are no floats: the data model forbids them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Signed 64-bit, as the data model defines `integer`.
    Int(i64),
    String(String),
    Bytes(Vec<u8>),
    Link(Cid),
    Array(Vec<Value>),
    Map(Map),
}

impl Value {
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_link(&self) -> Option<&Cid> {
        match self {
            Value::Link(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Every CID link anywhere inside this value, in document order.
    pub fn links(&self) -> Vec<Cid> {
        let mut out = Vec::new();
        self.collect_links(&mut out);
        out
    }

    fn collect_links(&self, out: &mut Vec<Cid>) {
        match self {
            Value::Link(c) => out.push(*c),
            Value::Array(items) => items.iter().for_each(|v| v.collect_links(out)),
            Value::Map(map) => map.values().for_each(|v| v.collect_links(out)),
            _ => {}
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Cid> for Value {
    fn from(c: Cid) -> Value {
        Value::Link(c)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Map(m)
    }
}
