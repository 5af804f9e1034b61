//! Runners for the lexicon interop vectors (`atproto-interop-tests/lexicon/`), one case at a
//! time, so that this crate's tests and a separate vector runner share them.
//!
//! Each function takes one case as parsed JSON and returns `Ok(())` when this crate agrees
//! with the vector, or `Err` with a sentence saying how it does not.

use std::path::Path;

use serde_json::Value as Json;

use crate::catalog::Catalog;
use crate::schema::LexiconDoc;
use crate::validate::validate_record;

/// The collection the record-data vectors are validated as (all are of this type).
pub const RECORD_NSID: &str = "example.lexicon.record";

fn name(case: &Json) -> &str {
    case.get("name")
        .and_then(Json::as_str)
        .unwrap_or("(unnamed)")
}

fn field<'a>(case: &'a Json, key: &str) -> Result<&'a Json, String> {
    case.get(key)
        .ok_or_else(|| format!("{}: case has no {key:?} field", name(case)))
}

/// A `lexicon-valid.json` case (`{name, lexicon}`): the document must parse and check.
pub fn check_lexicon_valid(case: &Json) -> Result<(), String> {
    LexiconDoc::from_json(field(case, "lexicon")?)
        .map(drop)
        .map_err(|e| format!("{}: valid lexicon rejected: {e}", name(case)))
}

/// A `lexicon-invalid.json` case (`{name, lexicon}`): the document must be refused.
pub fn check_lexicon_invalid(case: &Json) -> Result<(), String> {
    match LexiconDoc::from_json(field(case, "lexicon")?) {
        Ok(_) => Err(format!("{}: invalid lexicon accepted", name(case))),
        Err(_) => Ok(()),
    }
}

/// The catalog the record vectors use: every document under `lexicon/catalog/`.
pub fn load_catalog(catalog_dir: &Path) -> Result<Catalog, String> {
    Catalog::load_dir(catalog_dir).map_err(|e| format!("loading the vector catalog: {e}"))
}

/// Converts a case's JSON data to the data model.
pub fn case_value(json: &Json) -> Result<data::Value, data::json::JsonError> {
    data::json::from_json(json)
}

/// The NSID a record case is validated as: its `$type` when that is a string.
fn record_nsid(data: &Json) -> &str {
    data.get("$type")
        .and_then(Json::as_str)
        .unwrap_or(RECORD_NSID)
}

/// A `record-data-valid.json` case (`{name, rkey, data}`): the data must convert to the data
/// model, validate against its record schema, and `rkey` must fit the schema's key type.
pub fn check_record_valid(catalog: &Catalog, case: &Json) -> Result<(), String> {
    let json = field(case, "data")?;
    let nsid = record_nsid(json);
    let value = case_value(json)
        .map_err(|e| format!("{}: valid record is not atproto data: {e}", name(case)))?;
    validate_record(catalog, nsid, &value)
        .map_err(|e| format!("{}: valid record rejected: {e}", name(case)))?;
    if let Some(rkey) = case.get("rkey").and_then(Json::as_str) {
        let record = catalog
            .record_def(nsid)
            .ok_or_else(|| format!("{}: {nsid} is not a record type", name(case)))?;
        record
            .key
            .check(rkey)
            .map_err(|e| format!("{}: {e}", name(case)))?;
    }
    Ok(())
}

/// A `record-data-invalid.json` case: the data must be refused, either as atproto data (it
/// does not convert) or by its record schema.
pub fn check_record_invalid(catalog: &Catalog, case: &Json) -> Result<(), String> {
    match record_rejection(catalog, case)? {
        Some(_) => Ok(()),
        None => Err(format!("{}: invalid record accepted", name(case))),
    }
}

/// Why a record case's data is refused (`None` if it is accepted), so a runner can show
/// which rule caught each invalid case.
pub fn record_rejection(catalog: &Catalog, case: &Json) -> Result<Option<String>, String> {
    let json = field(case, "data")?;
    let value = match case_value(json) {
        Ok(v) => v,
        Err(e) => return Ok(Some(format!("not atproto data: {e}"))),
    };
    Ok(validate_record(catalog, record_nsid(json), &value)
        .err()
        .map(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64_trailing_bits() {
        // the vectors write {"$bytes": "123"}: unused bits set in the last character
        let v = case_value(&serde_json::json!({"a": [{"$bytes": "123"}]})).unwrap();
        let bytes = &v.as_map().unwrap()["a"].as_array().unwrap()[0];
        assert_eq!(bytes.as_bytes(), Some(&[0xd7, 0x6d][..]));
        assert!(case_value(&serde_json::json!({"$bytes": "1"})).is_err());
    }
}
