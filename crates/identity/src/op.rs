//! did:plc operations: the three shapes, their JSON and DAG-CBOR forms, CIDs, DID derivation,
//! signing and verification (did:plc spec v0.2.1, "Operation Serialization, Signing, and
//! Validation").
//!
//! Unsigned ([`UnsignedOp`]) and signed ([`SignedOp`]) operations are distinct types, as the
//! spec recommends: only an unsigned operation can be signed, and only a signed one has a CID
//! or derives a DID.

use std::collections::BTreeMap;
use std::str::FromStr;

use crypto::{Keypair, PublicKey};
use data::{cbor, Cid, Codec, Map, Value};
use serde_json::{Map as JsonMap, Value as Json};

use crate::error::OpError;
use crate::names;
use crate::sig;
use crate::state::PlcState;

/// Largest operation the directory accepts, in bytes of signed DAG-CBOR (spec: anti-abuse).
pub const MAX_OP_BYTES: usize = 7500;
/// Most rotation keys an operation may list.
pub const MAX_ROTATION_KEYS: usize = 5;
/// The `services` entry naming the account's PDS.
pub const ATPROTO_PDS_SERVICE: &str = "atproto_pds";
/// The `type` of the PDS service entry.
pub const ATPROTO_PDS_TYPE: &str = "AtprotoPersonalDataServer";
/// The `verificationMethods` entry holding the repo signing key.
pub const ATPROTO_VERIFICATION_METHOD: &str = "atproto";

// Per-field limits the reference directory enforces on submissions (packages/server
// constraints). Logs are not held to them: older operations predate some of them.
const MAX_ALSO_KNOWN_AS: usize = 10;
const MAX_ALSO_KNOWN_AS_LEN: usize = 256;
const MAX_SERVICES: usize = 10;
const MAX_VERIFICATION_METHODS: usize = 10;
const MAX_ENTRY_ID_LEN: usize = 32;
const MAX_SERVICE_TYPE_LEN: usize = 256;
const MAX_SERVICE_ENDPOINT_LEN: usize = 512;

/// A `services` entry: `{ "type": …, "endpoint": … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The JSON `type` field, e.g. `AtprotoPersonalDataServer`.
    pub service_type: String,
    pub endpoint: String,
}

impl Service {
    /// The PDS entry atproto expects under `services.atproto_pds`.
    pub fn atproto_pds(endpoint: &str) -> Service {
        Service {
            service_type: ATPROTO_PDS_TYPE.to_owned(),
            endpoint: endpoint.to_owned(),
        }
    }
}

/// A `plc_operation`, unsigned: a full statement of the identity's state plus `prev`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlcOperation {
    /// did:key strings, highest priority first.
    pub rotation_keys: Vec<String>,
    /// Id (without `#`) to did:key.
    pub verification_methods: BTreeMap<String, String>,
    pub also_known_as: Vec<String>,
    /// Id (without `#`) to service.
    pub services: BTreeMap<String, Service>,
    /// CID string of the operation this one follows; `None` for a genesis operation.
    pub prev: Option<String>,
}

/// A `plc_tombstone`, unsigned: deactivates the DID (still overridable within 72 h).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlcTombstone {
    pub prev: String,
}

/// The deprecated `create` genesis format, still found at the start of old logs. `prev` is
/// always null. Only ever parsed and verified here, except in tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyCreate {
    pub signing_key: String,
    pub recovery_key: String,
    /// A bare handle, without `at://`.
    pub handle: String,
    /// The PDS URL.
    pub service: String,
}

/// Any operation without its signature: what gets signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnsignedOp {
    Operation(PlcOperation),
    Tombstone(PlcTombstone),
    LegacyCreate(LegacyCreate),
}

impl From<PlcOperation> for UnsignedOp {
    fn from(op: PlcOperation) -> UnsignedOp {
        UnsignedOp::Operation(op)
    }
}

impl From<PlcTombstone> for UnsignedOp {
    fn from(op: PlcTombstone) -> UnsignedOp {
        UnsignedOp::Tombstone(op)
    }
}

impl From<LegacyCreate> for UnsignedOp {
    fn from(op: LegacyCreate) -> UnsignedOp {
        UnsignedOp::LegacyCreate(op)
    }
}

impl UnsignedOp {
    /// The JSON/CBOR `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            UnsignedOp::Operation(_) => "plc_operation",
            UnsignedOp::Tombstone(_) => "plc_tombstone",
            UnsignedOp::LegacyCreate(_) => "create",
        }
    }

    /// The CID string this operation follows, `None` for genesis operations.
    pub fn prev(&self) -> Option<&str> {
        match self {
            UnsignedOp::Operation(op) => op.prev.as_deref(),
            UnsignedOp::Tombstone(op) => Some(&op.prev),
            UnsignedOp::LegacyCreate(_) => None,
        }
    }

    /// The DAG-CBOR bytes that are signed: the operation with no `sig` key at all (the spec is
    /// explicit that an absent field, not a null one, is meant).
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value(None))
    }

    /// The keys allowed to sign the *next* operation, highest priority first; `None` after a
    /// tombstone. A legacy `create` counts as `[recoveryKey, signingKey]`, as the directory does.
    pub fn rotation_keys(&self) -> Option<Vec<String>> {
        match self {
            UnsignedOp::Operation(op) => Some(op.rotation_keys.clone()),
            UnsignedOp::Tombstone(_) => None,
            UnsignedOp::LegacyCreate(op) => {
                Some(vec![op.recovery_key.clone(), op.signing_key.clone()])
            }
        }
    }

    /// Signs with `key` and returns the signed operation.
    ///
    /// A `plc_operation` must pass [`PlcOperation::check`] first, so nothing the directory would
    /// refuse leaves here; a genesis operation must be signed by one of its own rotation keys.
    /// The signed result must fit in [`MAX_OP_BYTES`].
    pub fn sign(self, key: &Keypair) -> Result<SignedOp, OpError> {
        match &self {
            UnsignedOp::Operation(op) => op.check()?,
            UnsignedOp::Tombstone(op) => {
                parse_prev(&op.prev)?;
            }
            UnsignedOp::LegacyCreate(op) => check_legacy_keys(op)?,
        }
        if self.prev().is_none() {
            let signer = key.did_key();
            let allowed = self.rotation_keys().unwrap_or_default();
            if !allowed.contains(&signer) {
                return Err(OpError::SignerNotRotationKey(signer));
            }
        }
        let sig = sig::encode(&key.sign(&self.unsigned_bytes()));
        let signed = SignedOp { op: self, sig };
        check_size(&signed)?;
        Ok(signed)
    }

    fn to_value(&self, sig: Option<&str>) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), self.type_name().into());
        match self {
            UnsignedOp::Operation(op) => {
                map.insert("rotationKeys".into(), string_array(&op.rotation_keys));
                let methods = op
                    .verification_methods
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().into()));
                map.insert("verificationMethods".into(), Value::Map(methods.collect()));
                map.insert("alsoKnownAs".into(), string_array(&op.also_known_as));
                let services = op.services.iter().map(|(id, s)| {
                    let mut entry = Map::new();
                    entry.insert("type".into(), s.service_type.as_str().into());
                    entry.insert("endpoint".into(), s.endpoint.as_str().into());
                    (id.clone(), Value::Map(entry))
                });
                map.insert("services".into(), Value::Map(services.collect()));
                map.insert(
                    "prev".into(),
                    op.prev.as_deref().map_or(Value::Null, Value::from),
                );
            }
            UnsignedOp::Tombstone(op) => {
                map.insert("prev".into(), op.prev.as_str().into());
            }
            UnsignedOp::LegacyCreate(op) => {
                map.insert("signingKey".into(), op.signing_key.as_str().into());
                map.insert("recoveryKey".into(), op.recovery_key.as_str().into());
                map.insert("handle".into(), op.handle.as_str().into());
                map.insert("service".into(), op.service.as_str().into());
                map.insert("prev".into(), Value::Null);
            }
        }
        if let Some(sig) = sig {
            map.insert("sig".into(), sig.into());
        }
        Value::Map(map)
    }
}

impl PlcOperation {
    /// Checks everything the directory checks on a submitted `plc_operation` except the size
    /// (which needs the signature): 1–5 distinct P-256/K-256 rotation keys, did:key
    /// verification methods, a canonical `prev`, and the directory's per-field limits.
    pub fn check(&self) -> Result<(), OpError> {
        check_rotation_keys(&self.rotation_keys)?;
        if self.verification_methods.len() > MAX_VERIFICATION_METHODS {
            return Err(OpError::Limit(format!(
                "more than {MAX_VERIFICATION_METHODS} verificationMethods"
            )));
        }
        for (id, key) in &self.verification_methods {
            check_entry_id("verificationMethods", id)?;
            check_verification_method(id, key)?;
        }
        if self.also_known_as.len() > MAX_ALSO_KNOWN_AS {
            return Err(OpError::Limit(format!(
                "more than {MAX_ALSO_KNOWN_AS} alsoKnownAs entries"
            )));
        }
        for (i, aka) in self.also_known_as.iter().enumerate() {
            if aka.len() > MAX_ALSO_KNOWN_AS_LEN {
                return Err(OpError::Limit(format!(
                    "alsoKnownAs entry longer than {MAX_ALSO_KNOWN_AS_LEN}"
                )));
            }
            if self.also_known_as[..i].contains(aka) {
                return Err(OpError::Limit(format!(
                    "duplicate alsoKnownAs entry {aka:?}"
                )));
            }
        }
        if self.services.len() > MAX_SERVICES {
            return Err(OpError::Limit(format!("more than {MAX_SERVICES} services")));
        }
        for (id, service) in &self.services {
            check_entry_id("services", id)?;
            if service.service_type.len() > MAX_SERVICE_TYPE_LEN {
                return Err(OpError::Limit(format!(
                    "service type longer than {MAX_SERVICE_TYPE_LEN}"
                )));
            }
            if service.endpoint.len() > MAX_SERVICE_ENDPOINT_LEN {
                return Err(OpError::Limit(format!(
                    "service endpoint longer than {MAX_SERVICE_ENDPOINT_LEN}"
                )));
            }
        }
        if let Some(prev) = &self.prev {
            parse_prev(prev)?;
        }
        Ok(())
    }

    /// Signs this operation; see [`UnsignedOp::sign`].
    pub fn sign(self, key: &Keypair) -> Result<SignedOp, OpError> {
        UnsignedOp::Operation(self).sign(key)
    }
}

impl PlcTombstone {
    /// Signs this tombstone; see [`UnsignedOp::sign`].
    pub fn sign(self, key: &Keypair) -> Result<SignedOp, OpError> {
        UnsignedOp::Tombstone(self).sign(key)
    }
}

/// An operation with its `sig`, as the directory stores and serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedOp {
    op: UnsignedOp,
    sig: String,
}

impl SignedOp {
    /// Parses the JSON form, refusing unknown fields and mistyped values: the CID and the
    /// signature cover every field, so one this code dropped or coerced would silently change
    /// both. Structural rules (keys, `prev`, signature encoding, size) are
    /// [`SignedOp::check_structure`]'s job.
    pub fn from_json(json: &Json) -> Result<SignedOp, OpError> {
        let obj = json.as_object().ok_or(OpError::NotAnObject)?;
        let type_name = obj
            .get("type")
            .and_then(Json::as_str)
            .ok_or(OpError::MissingType)?;
        let allowed: &[&str] = match type_name {
            "plc_operation" => &[
                "type",
                "rotationKeys",
                "verificationMethods",
                "alsoKnownAs",
                "services",
                "prev",
                "sig",
            ],
            "plc_tombstone" => &["type", "prev", "sig"],
            "create" => &[
                "type",
                "signingKey",
                "recoveryKey",
                "handle",
                "service",
                "prev",
                "sig",
            ],
            other => return Err(OpError::UnknownType(other.to_owned())),
        };
        if let Some(extra) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(OpError::UnexpectedField(extra.clone()));
        }
        let op = match type_name {
            "plc_operation" => UnsignedOp::Operation(PlcOperation {
                rotation_keys: string_list(obj, "rotationKeys")?,
                verification_methods: string_map(obj, "verificationMethods")?,
                also_known_as: string_list(obj, "alsoKnownAs")?,
                services: services(obj)?,
                prev: match required(obj, "prev")? {
                    Json::Null => None,
                    Json::String(s) => Some(s.clone()),
                    _ => return Err(wrong_type("prev", "a string or null")),
                },
            }),
            "plc_tombstone" => UnsignedOp::Tombstone(PlcTombstone {
                prev: string(obj, "prev")?,
            }),
            _ => {
                if !required(obj, "prev")?.is_null() {
                    return Err(wrong_type("prev", "null in a create operation"));
                }
                UnsignedOp::LegacyCreate(LegacyCreate {
                    signing_key: string(obj, "signingKey")?,
                    recovery_key: string(obj, "recoveryKey")?,
                    handle: string(obj, "handle")?,
                    service: string(obj, "service")?,
                })
            }
        };
        Ok(SignedOp {
            op,
            sig: string(obj, "sig")?,
        })
    }

    /// The JSON form, as submitted to and served by the directory.
    pub fn to_json(&self) -> Json {
        data::json::to_json(&self.op.to_value(Some(&self.sig)))
    }

    /// The operation without its signature.
    pub fn op(&self) -> &UnsignedOp {
        &self.op
    }

    /// The `sig` string exactly as given.
    pub fn sig(&self) -> &str {
        &self.sig
    }

    /// The signed DAG-CBOR bytes, which the CID and the DID hash.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::encode(&self.op.to_value(Some(&self.sig)))
    }

    /// The operation's CID (v1, dag-cbor, sha-256), whose string form later operations put in
    /// `prev`.
    pub fn cid(&self) -> Cid {
        Cid::for_dag_cbor(&self.to_cbor())
    }

    /// The DID a genesis operation creates: `did:plc:` + the first 24 characters of the base32
    /// SHA-256 of the signed DAG-CBOR.
    pub fn did(&self) -> Result<String, OpError> {
        if self.op.prev().is_some() {
            return Err(OpError::NotGenesis);
        }
        let digest = *Cid::for_dag_cbor(&self.to_cbor()).digest();
        let mut did = String::from("did:plc:");
        did.push_str(&data::base32::encode(&digest)[..24]);
        Ok(did)
    }

    /// The 64-byte compact signature, if `sig` is strictly encoded.
    pub fn signature(&self) -> Result<[u8; 64], OpError> {
        sig::decode(&self.sig).map_err(OpError::SigEncoding)
    }

    /// Verifies the signature against `keys` (highest priority first) and returns the index of
    /// the first key that made it.
    pub fn verify(&self, keys: &[String]) -> Result<usize, OpError> {
        let signature = self.signature()?;
        sig::verify_any(keys, &self.op.unsigned_bytes(), &signature)
    }

    /// The keys allowed to sign the next operation; see [`UnsignedOp::rotation_keys`].
    pub fn rotation_keys(&self) -> Option<Vec<String>> {
        self.op.rotation_keys()
    }

    /// Checks what any operation in a log must satisfy, however old: the signature's strict
    /// encoding, the size limit, a canonical `prev`, at most five P-256/K-256 rotation keys,
    /// and syntactically valid did:key verification methods.
    ///
    /// Looser than [`PlcOperation::check`] on purpose: the directory has accepted operations
    /// with duplicate or no rotation keys (interop vectors `log_duplicate_rotation_keys`,
    /// `log_empty_rotation_keys`), and a log is checked against what was accepted.
    pub fn check_structure(&self) -> Result<(), OpError> {
        self.signature()?;
        match &self.op {
            UnsignedOp::Operation(op) => {
                if op.rotation_keys.len() > MAX_ROTATION_KEYS {
                    return Err(OpError::RotationKeyCount(op.rotation_keys.len()));
                }
                for key in &op.rotation_keys {
                    parse_rotation_key(key)?;
                }
                for (id, key) in &op.verification_methods {
                    check_verification_method(id, key)?;
                }
                if let Some(prev) = &op.prev {
                    parse_prev(prev)?;
                }
            }
            UnsignedOp::Tombstone(op) => {
                parse_prev(&op.prev)?;
            }
            UnsignedOp::LegacyCreate(op) => check_legacy_keys(op)?,
        }
        check_size(self)
    }

    /// The identity state this operation sets, for `did`; `None` for a tombstone.
    ///
    /// A legacy `create` is normalised as the directory does: `at://` is put before the handle
    /// and `https://` before a service without a scheme.
    pub fn to_state(&self, did: &str) -> Option<PlcState> {
        match &self.op {
            UnsignedOp::Operation(op) => Some(PlcState {
                did: did.to_owned(),
                rotation_keys: op.rotation_keys.clone(),
                verification_methods: op.verification_methods.clone(),
                also_known_as: op.also_known_as.clone(),
                services: op.services.clone(),
            }),
            UnsignedOp::Tombstone(_) => None,
            UnsignedOp::LegacyCreate(op) => {
                let handle = op
                    .handle
                    .strip_prefix("https://")
                    .or_else(|| op.handle.strip_prefix("http://"));
                let aka = if op.handle.starts_with("at://") {
                    op.handle.clone()
                } else {
                    format!("at://{}", handle.unwrap_or(&op.handle))
                };
                let endpoint =
                    if op.service.starts_with("https://") || op.service.starts_with("http://") {
                        op.service.clone()
                    } else {
                        format!("https://{}", op.service)
                    };
                Some(PlcState {
                    did: did.to_owned(),
                    rotation_keys: vec![op.recovery_key.clone(), op.signing_key.clone()],
                    verification_methods: BTreeMap::from([(
                        ATPROTO_VERIFICATION_METHOD.to_owned(),
                        op.signing_key.clone(),
                    )]),
                    also_known_as: vec![aka],
                    services: BTreeMap::from([(
                        ATPROTO_PDS_SERVICE.to_owned(),
                        Service::atproto_pds(&endpoint),
                    )]),
                })
            }
        }
    }
}

/// 1–5 distinct P-256/K-256 did:keys: the rule for rotation keys of operations we submit.
pub(crate) fn check_rotation_keys(keys: &[String]) -> Result<(), OpError> {
    if keys.is_empty() || keys.len() > MAX_ROTATION_KEYS {
        return Err(OpError::RotationKeyCount(keys.len()));
    }
    for (i, key) in keys.iter().enumerate() {
        parse_rotation_key(key)?;
        if keys[..i].contains(key) {
            return Err(OpError::DuplicateRotationKey(key.clone()));
        }
    }
    Ok(())
}

fn parse_rotation_key(key: &str) -> Result<PublicKey, OpError> {
    PublicKey::from_did_key(key).map_err(|reason| OpError::BadRotationKey {
        key: key.to_owned(),
        reason,
    })
}

fn check_legacy_keys(op: &LegacyCreate) -> Result<(), OpError> {
    // Both keys of a legacy create act as rotation keys, so both must be usable as such.
    parse_rotation_key(&op.recovery_key)?;
    parse_rotation_key(&op.signing_key)?;
    Ok(())
}

/// Since spec v0.2 a verification method may be any syntactically valid did:key (not only
/// P-256/K-256): `did:key:` then multibase base58btc.
fn check_verification_method(id: &str, key: &str) -> Result<(), OpError> {
    if names::is_did_key_syntax(key) {
        Ok(())
    } else {
        Err(OpError::BadVerificationMethod {
            id: id.to_owned(),
            key: key.to_owned(),
        })
    }
}

fn check_entry_id(field: &str, id: &str) -> Result<(), OpError> {
    if id.len() > MAX_ENTRY_ID_LEN {
        return Err(OpError::Limit(format!(
            "{field} id {id:?} longer than {MAX_ENTRY_ID_LEN}"
        )));
    }
    Ok(())
}

/// `prev` must be a dag-cbor CID spelled exactly as this code would spell it. Two spellings of
/// one CID would give the same chain two different operation hashes.
pub(crate) fn parse_prev(prev: &str) -> Result<Cid, OpError> {
    match Cid::from_str(prev) {
        Ok(cid) if cid.codec() == Codec::DagCbor && cid.to_string() == prev => Ok(cid),
        _ => Err(OpError::BadPrev(prev.to_owned())),
    }
}

fn check_size(op: &SignedOp) -> Result<(), OpError> {
    let len = op.to_cbor().len();
    if len > MAX_OP_BYTES {
        return Err(OpError::TooLarge(len));
    }
    Ok(())
}

fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| s.as_str().into()).collect())
}

fn wrong_type(field: &str, expected: &'static str) -> OpError {
    OpError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

fn required<'a>(obj: &'a JsonMap<String, Json>, field: &str) -> Result<&'a Json, OpError> {
    obj.get(field)
        .ok_or_else(|| OpError::MissingField(field.to_owned()))
}

fn string(obj: &JsonMap<String, Json>, field: &str) -> Result<String, OpError> {
    required(obj, field)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| wrong_type(field, "a string"))
}

fn string_list(obj: &JsonMap<String, Json>, field: &str) -> Result<Vec<String>, OpError> {
    let items = required(obj, field)?
        .as_array()
        .ok_or_else(|| wrong_type(field, "an array of strings"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong_type(field, "an array of strings"))
        })
        .collect()
}

fn string_map(
    obj: &JsonMap<String, Json>,
    field: &str,
) -> Result<BTreeMap<String, String>, OpError> {
    let map = required(obj, field)?
        .as_object()
        .ok_or_else(|| wrong_type(field, "an object of strings"))?;
    map.iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .ok_or_else(|| wrong_type(field, "an object of strings"))?;
            Ok((k.clone(), v.to_owned()))
        })
        .collect()
}

fn services(obj: &JsonMap<String, Json>) -> Result<BTreeMap<String, Service>, OpError> {
    const EXPECTED: &str = "an object of {type, endpoint} objects";
    let map = required(obj, "services")?
        .as_object()
        .ok_or_else(|| wrong_type("services", EXPECTED))?;
    map.iter()
        .map(|(id, entry)| {
            let entry = entry
                .as_object()
                .ok_or_else(|| wrong_type("services", EXPECTED))?;
            if let Some(extra) = entry.keys().find(|k| *k != "type" && *k != "endpoint") {
                return Err(OpError::UnexpectedField(format!("services.{id}.{extra}")));
            }
            let field = |name: &str| {
                entry
                    .get(name)
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| wrong_type("services", EXPECTED))
            };
            Ok((
                id.clone(),
                Service {
                    service_type: field("type")?,
                    endpoint: field("endpoint")?,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Algorithm;
    use serde_json::json;

    fn sample(key: &Keypair) -> PlcOperation {
        PlcOperation {
            rotation_keys: vec![key.did_key()],
            verification_methods: BTreeMap::from([("atproto".to_owned(), key.did_key())]),
            also_known_as: vec!["at://alice.test".to_owned()],
            services: BTreeMap::from([(
                "atproto_pds".to_owned(),
                Service::atproto_pds("https://pds.test"),
            )]),
            prev: None,
        }
    }

    #[test]
    fn json_round_trip_keeps_cid() {
        let key = Keypair::generate(Algorithm::K256);
        let signed = sample(&key).sign(&key).unwrap();
        let parsed = SignedOp::from_json(&signed.to_json()).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.cid(), signed.cid());
        assert!(signed.cid().to_string().starts_with("bafyrei"));
        assert_eq!(signed.verify(&[key.did_key()]), Ok(0));
        parsed.check_structure().unwrap();
    }

    #[test]
    fn unsigned_bytes_omit_sig_and_keep_null_prev() {
        let key = Keypair::generate(Algorithm::P256);
        let op = UnsignedOp::from(sample(&key));
        let value = cbor::decode(&op.unsigned_bytes()).unwrap();
        let map = value.as_map().unwrap();
        assert!(!map.contains_key("sig"));
        assert_eq!(map.get("prev"), Some(&Value::Null));
    }

    #[test]
    fn parse_is_strict() {
        let key = Keypair::generate(Algorithm::P256);
        let mut json = sample(&key).sign(&key).unwrap().to_json();
        json["extra"] = json!(1);
        assert_eq!(
            SignedOp::from_json(&json),
            Err(OpError::UnexpectedField("extra".into()))
        );
        json.as_object_mut().unwrap().remove("extra");
        json.as_object_mut().unwrap().remove("prev");
        assert_eq!(
            SignedOp::from_json(&json),
            Err(OpError::MissingField("prev".into()))
        );
        json["prev"] = json!(5);
        assert!(matches!(
            SignedOp::from_json(&json),
            Err(OpError::WrongType { .. })
        ));
        json["prev"] = Json::Null;
        json["type"] = json!("plc_whatever");
        assert_eq!(
            SignedOp::from_json(&json),
            Err(OpError::UnknownType("plc_whatever".into()))
        );
        json["type"] = json!("plc_operation");
        json["services"]["atproto_pds"]["extra"] = json!("x");
        assert!(matches!(
            SignedOp::from_json(&json),
            Err(OpError::UnexpectedField(_))
        ));
    }

    #[test]
    fn strict_check_on_sign() {
        let key = Keypair::generate(Algorithm::P256);
        let other = Keypair::generate(Algorithm::K256);

        let mut op = sample(&key);
        op.rotation_keys.clear();
        assert_eq!(op.clone().sign(&key), Err(OpError::RotationKeyCount(0)));
        op.rotation_keys = vec![key.did_key(); 2];
        assert!(matches!(
            op.clone().sign(&key),
            Err(OpError::DuplicateRotationKey(_))
        ));
        op.rotation_keys = (0..6)
            .map(|_| Keypair::generate(Algorithm::P256).did_key())
            .collect();
        assert_eq!(op.clone().sign(&key), Err(OpError::RotationKeyCount(6)));
        op.rotation_keys = vec!["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into()];
        assert!(matches!(
            op.clone().sign(&key),
            Err(OpError::BadRotationKey { .. })
        ));

        let genesis = sample(&key);
        assert_eq!(
            genesis.sign(&other),
            Err(OpError::SignerNotRotationKey(other.did_key()))
        );

        let mut big = sample(&key);
        big.services = (0..10)
            .map(|i| {
                (
                    format!("svc{i}"),
                    Service {
                        service_type: "x".repeat(256),
                        endpoint: "y".repeat(512),
                    },
                )
            })
            .collect();
        assert!(matches!(big.sign(&key), Err(OpError::TooLarge(_))));

        let mut bad_prev = sample(&key);
        bad_prev.prev = Some("bafkreib".into());
        assert!(matches!(bad_prev.sign(&key), Err(OpError::BadPrev(_))));
    }

    #[test]
    fn ed25519_verification_method_is_allowed() {
        let key = Keypair::generate(Algorithm::P256);
        let mut op = sample(&key);
        op.verification_methods.insert(
            "other".into(),
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into(),
        );
        let signed = op.sign(&key).unwrap();
        signed.check_structure().unwrap();
        let mut json = signed.to_json();
        json["verificationMethods"]["other"] = json!("did:key:not-base58!");
        let bad = SignedOp::from_json(&json).unwrap();
        assert!(matches!(
            bad.check_structure(),
            Err(OpError::BadVerificationMethod { .. })
        ));
    }

    #[test]
    fn legacy_create_normalises() {
        let recovery = Keypair::generate(Algorithm::K256);
        let signing = Keypair::generate(Algorithm::K256);
        let create = LegacyCreate {
            signing_key: signing.did_key(),
            recovery_key: recovery.did_key(),
            handle: "alice.test".into(),
            service: "pds.test".into(),
        };
        let signed = UnsignedOp::from(create).sign(&signing).unwrap();
        assert_eq!(signed.verify(&signed.rotation_keys().unwrap()), Ok(1));
        let state = signed.to_state(&signed.did().unwrap()).unwrap();
        assert_eq!(state.also_known_as, ["at://alice.test"]);
        assert_eq!(state.pds_endpoint(), Some("https://pds.test"));
        assert_eq!(state.rotation_keys, [recovery.did_key(), signing.did_key()]);
    }
}
