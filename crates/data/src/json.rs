//! The JSON form of the data model: CID links as `{"$link": …}`, bytes as `{"$bytes": …}`.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value as Json;

use crate::value::{Map, Value};
use crate::Cid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("floating-point numbers are not allowed in atproto data")]
    Float,
    #[error("integer out of the signed 64-bit range")]
    IntRange,
    #[error("$link must be the only key and hold a CID string")]
    LinkShape,
    #[error("bad CID in $link: {0}")]
    Link(String),
    #[error("$bytes must be the only key and hold a base64 string")]
    BytesShape,
    #[error("$bytes is not valid base64")]
    Base64,
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
}

/// Base64 for `$bytes`: RFC 4648 §4 standard alphabet; padding optional on input. Non-zero
/// unused bits in the last character are tolerated, as the reference implementations do: the
/// official valid vectors write `{"$bytes": "123"}`. They carry no data, and output is canonical.
const BYTES_INPUT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

const MAX_DEPTH: usize = 128;

/// Converts JSON into the data model. A number is accepted only when it is an integer value
/// (`123` or `123.0`); any fractional number is a float and refused.
pub fn from_json(json: &Json) -> Result<Value, JsonError> {
    convert(json, 0)
}

fn convert(json: &Json, depth: usize) -> Result<Value, JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::TooDeep(MAX_DEPTH));
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if n.is_u64() {
                return Err(JsonError::IntRange);
            } else {
                let f = n.as_f64().ok_or(JsonError::Float)?;
                // JSON has one number type: 123.0 is the integer 123 written another way.
                // Beyond 2^53 a float no longer names one integer, so refuse it.
                if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9_007_199_254_740_991.0 {
                    return Err(JsonError::Float);
                }
                Value::Int(f as i64)
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| convert(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(obj) => {
            if let Some(link) = obj.get("$link") {
                let (Json::String(s), 1) = (link, obj.len()) else {
                    return Err(JsonError::LinkShape);
                };
                let cid: Cid = s
                    .parse()
                    .map_err(|e: crate::cid::CidError| JsonError::Link(e.to_string()))?;
                return Ok(Value::Link(cid));
            }
            if let Some(bytes) = obj.get("$bytes") {
                let (Json::String(s), 1) = (bytes, obj.len()) else {
                    return Err(JsonError::BytesShape);
                };
                return BYTES_INPUT
                    .decode(s)
                    .map(Value::Bytes)
                    .map_err(|_| JsonError::Base64);
            }
            let mut map = Map::new();
            for (k, v) in obj {
                map.insert(k.clone(), convert(v, depth + 1)?);
            }
            Value::Map(map)
        }
    })
}

/// Converts a data-model value to its JSON form.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => serde_json::json!({ "$bytes": STANDARD_NO_PAD.encode(b) }),
        Value::Link(c) => serde_json::json!({ "$link": c.to_string() }),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
