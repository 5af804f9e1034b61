//! Checks for the official data-model vectors (`atproto-interop-tests/data-model/`), one case at a
//! time, so the L1 runner can count them per file and this crate's own tests can reuse them.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde_json::Value as Json;

use crate::{cbor, json, model, Cid};

/// `data-model-fixtures.json`: JSON → CBOR gives exactly `cbor_base64`, its CID is `cid`, and
/// the CBOR decodes back to the same JSON.
pub fn check_fixture(case: &Json) -> Result<(), String> {
    let input = case.get("json").ok_or("case has no json")?;
    let want_b64 = case["cbor_base64"]
        .as_str()
        .ok_or("case has no cbor_base64")?;
    let want_cid = case["cid"].as_str().ok_or("case has no cid")?;
    let value = json::from_json(input).map_err(|e| format!("JSON refused: {e}"))?;
    let bytes = cbor::encode(&value);
    let got_b64 = STANDARD_NO_PAD.encode(&bytes);
    if got_b64 != want_b64.trim_end_matches('=') {
        return Err(format!("CBOR differs: got {got_b64}, want {want_b64}"));
    }
    let cid = Cid::for_dag_cbor(&bytes).to_string();
    if cid != want_cid {
        return Err(format!("CID differs: got {cid}, want {want_cid}"));
    }
    let decoded = cbor::decode(&bytes).map_err(|e| format!("own CBOR refused: {e}"))?;
    if json::to_json(&decoded) != json::to_json(&value) {
        return Err("CBOR does not decode back to the same value".into());
    }
    Ok(())
}

/// `data-model-valid.json`: the JSON is valid atproto data.
pub fn check_valid(case: &Json) -> Result<(), String> {
    let value = json::from_json(&case["json"]).map_err(|e| e.to_string())?;
    model::validate(&value).map_err(|e| e.to_string())?;
    // and it survives the CBOR round trip unchanged
    let bytes = cbor::encode(&value);
    match cbor::decode(&bytes) {
        Ok(v) if v == value => Ok(()),
        Ok(_) => Err("CBOR round trip changed the value".into()),
        Err(e) => Err(format!("own CBOR refused: {e}")),
    }
}

/// `data-model-invalid.json`: the JSON must be refused.
pub fn check_invalid(case: &Json) -> Result<(), String> {
    match json::from_json(&case["json"]) {
        Err(_) => Ok(()),
        Ok(value) => match model::validate(&value) {
            Err(_) => Ok(()),
            Ok(()) => Err("accepted invalid data".into()),
        },
    }
}
