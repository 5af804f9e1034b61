//! Reading the atproto parts of any DID document (did:plc or did:web), per the atproto DID spec,
//! "DID Documents" (PDS checklist §12).
//!
//! The document is taken as found: entries may come in any order, repeat, use relative
//! (`#atproto`) or absolute (`did:…#atproto`) ids, and carry things atproto ignores. For each
//! atproto field the first *valid* matching entry wins and the rest are ignored; a document
//! with none is still a document, its accessor just returns `None`.

use crypto::{Algorithm, PublicKey};
use serde_json::{Map as JsonMap, Value as Json};

use crate::error::DidDocError;
use crate::names;
use crate::op::ATPROTO_PDS_TYPE;
use crate::state::first_handle;

/// A `verificationMethod` entry, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationMethod {
    pub id: String,
    /// The JSON `type`, e.g. `Multikey`.
    pub method_type: String,
    pub controller: String,
    pub public_key_multibase: Option<String>,
}

/// A `service` entry, as found. `endpoint` is `None` when `serviceEndpoint` is not a string
/// (DID Core also allows maps and sets, which atproto does not use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocService {
    pub id: String,
    /// The JSON `type`.
    pub service_type: String,
    pub endpoint: Option<String>,
}

/// A parsed DID document whose `id` is known to be the DID it was resolved for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DidDocument {
    did: String,
    also_known_as: Vec<String>,
    verification_methods: Vec<VerificationMethod>,
    services: Vec<DocService>,
}

impl DidDocument {
    /// Parses `json` as the DID document of `did`. The document's `id` must equal `did`
    /// exactly (DIDs are case-sensitive); otherwise whoever served it could speak for
    /// another identity.
    ///
    /// `alsoKnownAs`, `verificationMethod` and `service` may be absent (read as empty), but
    /// if present must be arrays. Array elements that are not well-formed objects are skipped,
    /// as an entry that cannot be read cannot be the first valid one.
    pub fn parse(did: &str, json: &Json) -> Result<DidDocument, DidDocError> {
        if !names::is_valid_did(did) {
            return Err(DidDocError::InvalidDid(did.to_owned()));
        }
        let obj = json.as_object().ok_or(DidDocError::NotAnObject)?;
        let id = obj
            .get("id")
            .and_then(Json::as_str)
            .ok_or(DidDocError::MissingId)?;
        if id != did {
            return Err(DidDocError::IdMismatch {
                expected: did.to_owned(),
                found: id.to_owned(),
            });
        }
        let also_known_as = array(obj, "alsoKnownAs")?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let verification_methods = array(obj, "verificationMethod")?
            .iter()
            .filter_map(|v| {
                let m = v.as_object()?;
                Some(VerificationMethod {
                    id: text(m, "id")?,
                    method_type: text(m, "type")?,
                    controller: text(m, "controller")?,
                    public_key_multibase: text(m, "publicKeyMultibase"),
                })
            })
            .collect();
        let services = array(obj, "service")?
            .iter()
            .filter_map(|v| {
                let s = v.as_object()?;
                Some(DocService {
                    id: text(s, "id")?,
                    service_type: text(s, "type")?,
                    endpoint: text(s, "serviceEndpoint"),
                })
            })
            .collect();
        Ok(DidDocument {
            did: did.to_owned(),
            also_known_as,
            verification_methods,
            services,
        })
    }

    /// Parses a DID document from JSON text; see [`DidDocument::parse`].
    pub fn parse_str(did: &str, text: &str) -> Result<DidDocument, DidDocError> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| DidDocError::Json(e.to_string()))?;
        DidDocument::parse(did, &json)
    }

    /// The DID (equal to the document's `id`).
    pub fn did(&self) -> &str {
        &self.did
    }

    pub fn also_known_as(&self) -> &[String] {
        &self.also_known_as
    }

    pub fn verification_methods(&self) -> &[VerificationMethod] {
        &self.verification_methods
    }

    pub fn services(&self) -> &[DocService] {
        &self.services
    }

    /// The claimed handle: the first `at://` alias holding a syntactically valid handle,
    /// lower-cased. It still has to be confirmed by resolving the handle back to this DID.
    pub fn handle(&self) -> Option<String> {
        first_handle(&self.also_known_as)
    }

    /// The atproto repo signing key, as a did:key: from the first verification method with id
    /// `#atproto` (relative or absolute), controller equal to the DID, and a key that parses,
    /// either `Multikey` or one of the legacy `EcdsaSecp256{r,k}1VerificationKey2019` types
    /// (atproto DID spec, "Legacy Representation").
    pub fn signing_key(&self) -> Option<String> {
        self.verification_key("atproto")
    }

    /// The key of the first verification method with id `#<fragment>` (relative or absolute),
    /// controller equal to the DID and a key that parses, as a did:key; the rules of
    /// [`DidDocument::signing_key`] for any key id (e.g. `atproto_label` for labelers).
    pub fn verification_key(&self, fragment: &str) -> Option<String> {
        self.verification_methods
            .iter()
            .filter(|m| self.is_own_id(&m.id, fragment) && m.controller == self.did)
            .find_map(|m| {
                let multibase = m.public_key_multibase.as_deref()?;
                let key = if m.method_type == "Multikey" {
                    PublicKey::from_multikey(multibase).ok()?
                } else {
                    let alg = Algorithm::from_legacy_verification_suite(&m.method_type).ok()?;
                    PublicKey::from_legacy_multibase(alg, multibase).ok()?
                };
                Some(key.did_key())
            })
    }

    /// The PDS endpoint: the first service with id `#atproto_pds` (relative or absolute), type
    /// `AtprotoPersonalDataServer` and an `http(s)` URL with a host and no userinfo.
    pub fn pds_endpoint(&self) -> Option<&str> {
        self.service_endpoint("atproto_pds", ATPROTO_PDS_TYPE)
    }

    /// The endpoint of the first service with id `#<fragment>` (relative or absolute), type
    /// `service_type`, and a usable `http(s)` URL; e.g. `("atproto_labeler",
    /// "AtprotoLabeler")`.
    pub fn service_endpoint(&self, fragment: &str, service_type: &str) -> Option<&str> {
        self.services
            .iter()
            .filter(|s| self.is_own_id(&s.id, fragment) && s.service_type == service_type)
            .find_map(|s| s.endpoint.as_deref().filter(|e| names::is_http_url(e)))
    }

    /// The endpoint of the first service with id `#<fragment>` (relative or absolute) and a
    /// usable `http(s)` URL, whatever its type: how a PDS finds the target of an
    /// `atproto-proxy: <did>#<fragment>` header (XRPC spec, "Service Proxying").
    pub fn service_endpoint_by_id(&self, fragment: &str) -> Option<&str> {
        self.services
            .iter()
            .filter(|s| self.is_own_id(&s.id, fragment))
            .find_map(|s| s.endpoint.as_deref().filter(|e| names::is_http_url(e)))
    }

    /// Whether `id` is `#<fragment>` or `<this did>#<fragment>`.
    fn is_own_id(&self, id: &str, fragment: &str) -> bool {
        let Some((base, frag)) = id.split_once('#') else {
            return false;
        };
        frag == fragment && (base.is_empty() || base == self.did)
    }
}

fn array<'a>(
    obj: &'a JsonMap<String, Json>,
    field: &'static str,
) -> Result<&'a [Json], DidDocError> {
    match obj.get(field) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => Err(DidDocError::WrongType(field)),
    }
}

fn text(obj: &JsonMap<String, Json>, field: &str) -> Option<String> {
    obj.get(field).and_then(Json::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Keypair;
    use serde_json::json;

    const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    fn method(id: &str, controller: &str, key: &Keypair) -> Json {
        json!({ "id": id, "type": "Multikey", "controller": controller, "publicKeyMultibase": key.public_key().multikey() })
    }

    fn pds(id: &str, endpoint: &str) -> Json {
        json!({ "id": id, "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint })
    }

    #[test]
    fn plain_document() {
        let key = Keypair::generate(Algorithm::K256);
        let doc = json!({
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": DID,
            "alsoKnownAs": ["at://atproto.com"],
            "verificationMethod": [method(&format!("{DID}#atproto"), DID, &key)],
            "service": [pds("#atproto_pds", "https://bsky.social")],
        });
        let doc = DidDocument::parse(DID, &doc).unwrap();
        assert_eq!(doc.handle().as_deref(), Some("atproto.com"));
        assert_eq!(doc.signing_key(), Some(key.did_key()));
        assert_eq!(doc.pds_endpoint(), Some("https://bsky.social"));
    }

    #[test]
    fn reordered_duplicate_and_absolute_entries() {
        let first = Keypair::generate(Algorithm::P256);
        let second = Keypair::generate(Algorithm::K256);
        let other = Keypair::generate(Algorithm::P256);
        let doc = json!({
            "service": [
                { "id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": "https://labeler.test" },
                pds("#atproto_pds", "not a url"),
                pds(&format!("{DID}#atproto_pds"), "https://first.test"),
                pds("#atproto_pds", "https://second.test"),
            ],
            "verificationMethod": [
                method("#other", DID, &other),
                method("did:plc:someoneelse#atproto", DID, &other),
                method(&format!("{DID}#atproto"), DID, &first),
                method("#atproto", DID, &second),
            ],
            "alsoKnownAs": ["https://example.com", "at://First.test", "at://second.test"],
            "id": DID,
        });
        let doc = DidDocument::parse(DID, &doc).unwrap();
        assert_eq!(doc.handle().as_deref(), Some("first.test"));
        assert_eq!(doc.signing_key(), Some(first.did_key()));
        assert_eq!(doc.pds_endpoint(), Some("https://first.test"));
        assert_eq!(
            doc.service_endpoint("atproto_labeler", "AtprotoLabeler"),
            Some("https://labeler.test")
        );
    }

    #[test]
    fn keys_and_services_by_id() {
        let atproto = Keypair::generate(Algorithm::K256);
        let label = Keypair::generate(Algorithm::P256);
        let doc = json!({
            "id": DID,
            "verificationMethod": [
                method("#atproto", DID, &atproto),
                method(&format!("{DID}#atproto_label"), DID, &label),
            ],
            "service": [
                { "id": "#bsky_chat", "type": "BskyChatService", "serviceEndpoint": "not a url" },
                { "id": "did:plc:other#bsky_chat", "type": "BskyChatService", "serviceEndpoint": "https://other.test" },
                { "id": format!("{DID}#bsky_chat"), "type": "Anything", "serviceEndpoint": "https://chat.test" },
            ],
        });
        let doc = DidDocument::parse(DID, &doc).unwrap();
        assert_eq!(doc.verification_key("atproto"), Some(atproto.did_key()));
        assert_eq!(doc.verification_key("atproto_label"), Some(label.did_key()));
        assert_eq!(doc.verification_key("missing"), None);
        // Any type; the first usable endpoint of this DID's entries.
        assert_eq!(
            doc.service_endpoint_by_id("bsky_chat"),
            Some("https://chat.test")
        );
        assert_eq!(doc.service_endpoint_by_id("bsky_appview"), None);
    }

    #[test]
    fn wrong_controller_is_skipped() {
        let wrong = Keypair::generate(Algorithm::P256);
        let right = Keypair::generate(Algorithm::P256);
        let only_wrong = json!({ "id": DID, "verificationMethod": [method("#atproto", "did:plc:attacker", &wrong)] });
        assert_eq!(
            DidDocument::parse(DID, &only_wrong).unwrap().signing_key(),
            None
        );
        let both = json!({ "id": DID, "verificationMethod": [
            method("#atproto", "did:plc:attacker", &wrong),
            method("#atproto", DID, &right),
        ]});
        assert_eq!(
            DidDocument::parse(DID, &both).unwrap().signing_key(),
            Some(right.did_key())
        );
    }

    #[test]
    fn missing_or_mistyped_service() {
        let no_service = json!({ "id": DID });
        let doc = DidDocument::parse(DID, &no_service).unwrap();
        assert_eq!(doc.pds_endpoint(), None);
        assert_eq!(doc.handle(), None);
        assert_eq!(doc.signing_key(), None);
        let wrong_type = json!({ "id": DID, "service": [
            { "id": "#atproto_pds", "type": "SomethingElse", "serviceEndpoint": "https://x.test" },
            { "id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": { "origins": ["https://x.test"] } },
            { "id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://user@x.test" },
        ]});
        assert_eq!(
            DidDocument::parse(DID, &wrong_type).unwrap().pds_endpoint(),
            None
        );
    }

    #[test]
    fn legacy_key_types() {
        let doc_for = |key: &Keypair| {
            let suite = key.algorithm().legacy_verification_suite();
            let raw = key.public_key().to_uncompressed();
            let multibase = format!("z{}", base58(&raw));
            json!({ "id": "did:web:example.com", "verificationMethod": [
                { "id": "#atproto", "type": suite, "controller": "did:web:example.com", "publicKeyMultibase": multibase },
            ]})
        };
        for alg in Algorithm::ALL {
            let key = Keypair::generate(alg);
            let doc = DidDocument::parse("did:web:example.com", &doc_for(&key)).unwrap();
            assert_eq!(doc.signing_key(), Some(key.did_key()));
        }
    }

    #[test]
    fn legacy_key_from_the_spec_example() {
        // atproto DID spec, "Legacy Representation": one K-256 key in both encodings.
        let doc = json!({ "id": DID, "verificationMethod": [{
            "id": "#atproto",
            "type": "EcdsaSecp256k1VerificationKey2019",
            "controller": DID,
            "publicKeyMultibase": "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR",
        }]});
        assert_eq!(
            DidDocument::parse(DID, &doc)
                .unwrap()
                .signing_key()
                .as_deref(),
            Some("did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF")
        );
    }

    #[test]
    fn id_must_match() {
        assert!(matches!(
            DidDocument::parse("did:plc:", &json!({ "id": "did:plc:" })),
            Err(DidDocError::InvalidDid(_))
        ));
        let doc = json!({ "id": "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ" });
        assert!(matches!(
            DidDocument::parse(DID, &doc),
            Err(DidDocError::IdMismatch { .. })
        ));
        assert_eq!(
            DidDocument::parse(DID, &json!({})),
            Err(DidDocError::MissingId)
        );
        assert_eq!(
            DidDocument::parse(DID, &json!([])),
            Err(DidDocError::NotAnObject)
        );
        assert_eq!(
            DidDocument::parse(DID, &json!({ "id": DID, "service": {} })),
            Err(DidDocError::WrongType("service"))
        );
        assert!(matches!(
            DidDocument::parse_str(DID, "{"),
            Err(DidDocError::Json(_))
        ));
    }

    /// Minimal base58btc encoder for building legacy test documents (the crypto crate keeps its
    /// own private).
    fn base58(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut digits: Vec<u8> = Vec::new();
        for &byte in bytes {
            let mut carry = u32::from(byte);
            for d in digits.iter_mut() {
                carry += u32::from(*d) << 8;
                *d = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = bytes.iter().take_while(|&&b| b == 0).count();
        std::iter::repeat_n('1', zeros)
            .chain(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char))
            .collect()
    }
}
