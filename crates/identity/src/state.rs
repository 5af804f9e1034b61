//! The current state of a did:plc identity, the genesis operation the relay builds, and the
//! update operations it derives from a state (DESIGN §4).

use std::collections::BTreeMap;

use crypto::PublicKey;
use data::Cid;
use serde_json::{json, Value as Json};

use crate::error::OpError;
use crate::names;
use crate::op::{
    check_rotation_keys, PlcOperation, PlcTombstone, Service, ATPROTO_PDS_SERVICE,
    ATPROTO_PDS_TYPE, ATPROTO_VERIFICATION_METHOD,
};

/// What a did:plc currently says, as the directory's `/:did/data` endpoint gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlcState {
    pub did: String,
    /// Highest priority first.
    pub rotation_keys: Vec<String>,
    pub verification_methods: BTreeMap<String, String>,
    pub also_known_as: Vec<String>,
    pub services: BTreeMap<String, Service>,
}

impl PlcState {
    /// The handle: the first `at://` entry of `alsoKnownAs` that holds a valid handle,
    /// lower-cased (handles are case-insensitive).
    pub fn handle(&self) -> Option<String> {
        first_handle(&self.also_known_as)
    }

    /// The repo signing key (`verificationMethods.atproto`), as a did:key.
    pub fn signing_key(&self) -> Option<&str> {
        self.verification_methods
            .get(ATPROTO_VERIFICATION_METHOD)
            .map(String::as_str)
    }

    /// The PDS endpoint (`services.atproto_pds`), if its type is `AtprotoPersonalDataServer`.
    pub fn pds_endpoint(&self) -> Option<&str> {
        self.services
            .get(ATPROTO_PDS_SERVICE)
            .filter(|s| s.service_type == ATPROTO_PDS_TYPE)
            .map(|s| s.endpoint.as_str())
    }

    /// An update operation restating this state, to follow the operation whose CID is `prev`.
    /// Change it with the `with_*` methods of [`PlcOperation`], then sign it with a rotation key
    /// of this state.
    pub fn update_op(&self, prev: &Cid) -> PlcOperation {
        PlcOperation {
            rotation_keys: self.rotation_keys.clone(),
            verification_methods: self.verification_methods.clone(),
            also_known_as: self.also_known_as.clone(),
            services: self.services.clone(),
            prev: Some(prev.to_string()),
        }
    }

    /// A tombstone following `prev`, deactivating the DID.
    pub fn tombstone_op(&self, prev: &Cid) -> PlcTombstone {
        PlcTombstone {
            prev: prev.to_string(),
        }
    }

    /// The `/:did/data` JSON form.
    pub fn to_json(&self) -> Json {
        let services: serde_json::Map<String, Json> = self
            .services
            .iter()
            .map(|(id, s)| {
                (
                    id.clone(),
                    json!({ "type": s.service_type, "endpoint": s.endpoint }),
                )
            })
            .collect();
        json!({
            "did": self.did,
            "rotationKeys": self.rotation_keys,
            "verificationMethods": self.verification_methods,
            "alsoKnownAs": self.also_known_as,
            "services": services,
        })
    }

    /// The DID document the PLC directory serves for this state: the DID and Multikey contexts
    /// (plus the suite context of each key's curve), `alsoKnownAs`, one `Multikey` verification
    /// method per entry with id `<did>#<name>`, and one service per entry with id `#<name>`.
    ///
    /// Entries come in key order; the directory keeps submission order, which only differs
    /// when an operation has several of them.
    pub fn did_document(&self) -> Json {
        let mut context = vec![
            "https://www.w3.org/ns/did/v1".to_owned(),
            "https://w3id.org/security/multikey/v1".to_owned(),
        ];
        let mut methods = Vec::new();
        for (name, key) in &self.verification_methods {
            let suite = match PublicKey::from_did_key(key).map(|k| k.algorithm()) {
                Ok(crypto::Algorithm::P256) => {
                    Some("https://w3id.org/security/suites/ecdsa-2019/v1")
                }
                Ok(crypto::Algorithm::K256) => {
                    Some("https://w3id.org/security/suites/secp256k1-2019/v1")
                }
                // Other did:key types are legal in verification methods since spec v0.2; they
                // get no curve-specific context.
                Err(_) => None,
            };
            if let Some(suite) = suite.filter(|s| !context.iter().any(|c| c == s)) {
                context.push(suite.to_owned());
            }
            methods.push(json!({
                "id": format!("{}#{name}", self.did),
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": key.strip_prefix("did:key:").unwrap_or(key),
            }));
        }
        let services: Vec<Json> = self
            .services
            .iter()
            .map(|(name, s)| json!({ "id": format!("#{name}"), "type": s.service_type, "serviceEndpoint": s.endpoint }))
            .collect();
        json!({
            "@context": context,
            "id": self.did,
            "alsoKnownAs": self.also_known_as,
            "verificationMethod": methods,
            "service": services,
        })
    }
}

/// Builds the genesis operation the relay submits for a new account (DESIGN §4): rotation keys
/// in priority order (device, recovery, relay), the repo signing key as
/// `verificationMethods.atproto`, `alsoKnownAs: ["at://<handle>"]`, the PDS as
/// `services.atproto_pds`, and `prev: null`.
///
/// Sign the result with one of `rotation_keys` ([`PlcOperation::sign`]); the signed operation's
/// [`crate::SignedOp::did`] is the new DID.
pub fn genesis_op(
    rotation_keys: Vec<String>,
    signing_key_did_key: &str,
    handle: &str,
    pds_endpoint: &str,
) -> Result<PlcOperation, OpError> {
    let op = PlcOperation {
        rotation_keys: Vec::new(),
        verification_methods: BTreeMap::new(),
        also_known_as: Vec::new(),
        services: BTreeMap::new(),
        prev: None,
    };
    let op = op
        .with_rotation_keys(rotation_keys)?
        .with_signing_key(signing_key_did_key)?
        .with_handle(handle)?
        .with_pds_endpoint(pds_endpoint)?;
    op.check()?;
    Ok(op)
}

impl PlcOperation {
    /// Sets the handle: replaces the first `at://` alias (or puts one first if there is none),
    /// keeping other aliases and dropping any other copy of the new one. The handle is
    /// lower-cased, its normal form.
    pub fn with_handle(mut self, handle: &str) -> Result<PlcOperation, OpError> {
        if !names::is_valid_handle(handle) {
            return Err(OpError::BadHandle(handle.to_owned()));
        }
        let uri = format!("at://{}", handle.to_ascii_lowercase());
        match self
            .also_known_as
            .iter()
            .position(|aka| aka.starts_with("at://"))
        {
            Some(i) => self.also_known_as[i] = uri.clone(),
            None => self.also_known_as.insert(0, uri.clone()),
        }
        let mut seen = false;
        self.also_known_as.retain(|aka| {
            let keep = *aka != uri || !seen;
            seen |= *aka == uri;
            keep
        });
        Ok(self)
    }

    /// Sets the repo signing key (`verificationMethods.atproto`); it must be a P-256 or K-256
    /// did:key, the only types atproto signs repos with.
    pub fn with_signing_key(mut self, did_key: &str) -> Result<PlcOperation, OpError> {
        PublicKey::from_did_key(did_key).map_err(|reason| OpError::BadSigningKey {
            key: did_key.to_owned(),
            reason,
        })?;
        self.verification_methods
            .insert(ATPROTO_VERIFICATION_METHOD.to_owned(), did_key.to_owned());
        Ok(self)
    }

    /// Sets the PDS (`services.atproto_pds`); the endpoint must be a bare `http(s)` origin.
    pub fn with_pds_endpoint(mut self, endpoint: &str) -> Result<PlcOperation, OpError> {
        if !names::is_bare_origin(endpoint) {
            return Err(OpError::BadEndpoint(endpoint.to_owned()));
        }
        self.services.insert(
            ATPROTO_PDS_SERVICE.to_owned(),
            Service::atproto_pds(endpoint),
        );
        Ok(self)
    }

    /// Replaces the rotation keys (1–5 distinct P-256/K-256 did:keys, highest priority first).
    pub fn with_rotation_keys(mut self, keys: Vec<String>) -> Result<PlcOperation, OpError> {
        check_rotation_keys(&keys)?;
        self.rotation_keys = keys;
        Ok(self)
    }
}

pub(crate) fn first_handle(also_known_as: &[String]) -> Option<String> {
    also_known_as
        .iter()
        .filter_map(|aka| aka.strip_prefix("at://"))
        .find(|handle| names::is_valid_handle(handle))
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::{Algorithm, Keypair};

    #[test]
    fn genesis_shape() {
        let device = Keypair::generate(Algorithm::P256);
        let recovery = Keypair::generate(Algorithm::K256);
        let signing = Keypair::generate(Algorithm::P256);
        let op = genesis_op(
            vec![device.did_key(), recovery.did_key()],
            &signing.did_key(),
            "Alice.Example.com",
            "https://pds.example.com",
        )
        .unwrap();
        assert_eq!(op.also_known_as, ["at://alice.example.com"]);
        assert_eq!(op.verification_methods["atproto"], signing.did_key());
        assert_eq!(
            op.services["atproto_pds"],
            Service::atproto_pds("https://pds.example.com")
        );
        assert_eq!(op.prev, None);
        let json = op.sign(&recovery).unwrap().to_json();
        assert_eq!(json["type"], "plc_operation");
        assert_eq!(
            json["services"]["atproto_pds"]["type"],
            "AtprotoPersonalDataServer"
        );
        assert!(json["prev"].is_null());
    }

    #[test]
    fn genesis_refuses_bad_input() {
        let k = Keypair::generate(Algorithm::P256).did_key();
        let endpoint = "https://pds.example.com";
        assert!(matches!(
            genesis_op(vec![], &k, "a.test", endpoint),
            Err(OpError::RotationKeyCount(0))
        ));
        assert!(matches!(
            genesis_op(vec![k.clone()], "did:key:zzz", "a.test", endpoint),
            Err(OpError::BadSigningKey { .. })
        ));
        assert!(matches!(
            genesis_op(vec![k.clone()], &k, "not a handle", endpoint),
            Err(OpError::BadHandle(_))
        ));
        for bad in [
            "https://pds.example.com/",
            "https://pds.example.com/xrpc",
            "https://u@pds.example.com",
            "pds.example.com",
        ] {
            assert!(
                matches!(
                    genesis_op(vec![k.clone()], &k, "a.test", bad),
                    Err(OpError::BadEndpoint(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn handle_change_keeps_other_aliases() {
        let k = Keypair::generate(Algorithm::P256).did_key();
        let mut op = genesis_op(vec![k.clone()], &k, "old.test", "https://pds.test").unwrap();
        op.also_known_as.push("https://alice.example".into());
        op.also_known_as.push("at://new.test".into());
        let op = op.with_handle("new.test").unwrap();
        assert_eq!(op.also_known_as, ["at://new.test", "https://alice.example"]);
        let mut op = op;
        op.also_known_as = vec!["https://alice.example".into()];
        let op = op.with_handle("third.test").unwrap();
        assert_eq!(
            op.also_known_as,
            ["at://third.test", "https://alice.example"]
        );
    }

    #[test]
    fn accessors_and_document() {
        let signing = Keypair::generate(Algorithm::K256);
        let state = PlcState {
            did: "did:plc:yk4dd2qkboz2yv6tpubpc6co".into(),
            rotation_keys: vec![signing.did_key()],
            verification_methods: BTreeMap::from([("atproto".into(), signing.did_key())]),
            also_known_as: vec![
                "https://x".into(),
                "at://not_valid".into(),
                "at://Dan.Test".into(),
            ],
            services: BTreeMap::from([(
                "atproto_pds".into(),
                Service::atproto_pds("https://pds.test"),
            )]),
        };
        assert_eq!(state.handle().as_deref(), Some("dan.test"));
        assert_eq!(state.signing_key(), Some(signing.did_key().as_str()));
        assert_eq!(state.pds_endpoint(), Some("https://pds.test"));
        let doc = state.did_document();
        assert_eq!(
            doc["@context"],
            json!([
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/suites/secp256k1-2019/v1"
            ])
        );
        assert_eq!(
            doc["verificationMethod"][0]["id"],
            "did:plc:yk4dd2qkboz2yv6tpubpc6co#atproto"
        );
        assert_eq!(
            doc["verificationMethod"][0]["publicKeyMultibase"],
            signing.public_key().multikey()
        );
        assert_eq!(doc["service"][0]["id"], "#atproto_pds");
        assert_eq!(doc["service"][0]["serviceEndpoint"], "https://pds.test");
        assert_eq!(
            state.to_json()["services"]["atproto_pds"]["endpoint"],
            "https://pds.test"
        );
    }
}
