//! Data-model rules above the encoding: `$type` and blob shapes.

use crate::cid::Codec;
use crate::value::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("top-level value must be an object")]
    NotObject,
    #[error("$type must be a non-empty string")]
    BadType,
    #[error("blob is malformed: {0}")]
    Blob(&'static str),
}

/// Checks the rules every atproto object must meet, whatever its schema: the top level is an
/// object; any `$type` present is a non-empty string; `$type: "blob"` objects carry a raw-codec
/// `ref` link, a non-empty `mimeType` and a non-negative integer `size`.
pub fn validate(value: &Value) -> Result<(), ModelError> {
    if !matches!(value, Value::Map(_)) {
        return Err(ModelError::NotObject);
    }
    walk(value)
}

fn walk(value: &Value) -> Result<(), ModelError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(walk),
        Value::Map(map) => {
            if let Some(t) = map.get("$type") {
                match t.as_str() {
                    Some("") | None => return Err(ModelError::BadType),
                    Some("blob") => check_blob(value)?,
                    Some(_) => {}
                }
            }
            map.values().try_for_each(walk)
        }
        _ => Ok(()),
    }
}

fn check_blob(value: &Value) -> Result<(), ModelError> {
    let map = value.as_map().expect("checked by caller");
    match map.get("ref") {
        Some(Value::Link(c)) if c.codec() == Codec::Raw => {}
        Some(Value::Link(_)) => return Err(ModelError::Blob("ref must be a raw-codec CID")),
        _ => return Err(ModelError::Blob("ref must be a CID link")),
    }
    match map.get("mimeType") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(ModelError::Blob("mimeType must be a non-empty string")),
    }
    match map.get("size") {
        Some(Value::Int(n)) if *n >= 0 => Ok(()),
        _ => Err(ModelError::Blob("size must be a non-negative integer")),
    }
}
