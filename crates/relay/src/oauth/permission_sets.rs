//! Resolving `include:` permission sets (permission spec, "Resolution and Caching"): the NSID's
//! authority → DNS TXT `_lexicon.<authority, reversed>` (`did=…`) → the DID document → that
//! account's PDS → `com.atproto.sync.getRecord` of the `com.atproto.lexicon.schema` record named
//! by the NSID, a proof CAR checked against the DID's signing key (so the set is authenticated,
//! not merely fetched) → the lexicon document.
//!
//! Answers are cached: found sets for an hour, failures for a minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::AppState;

const FOUND_TTL: Duration = Duration::from_secs(60 * 60);
const FAILED_TTL: Duration = Duration::from_secs(60);
const CACHE_MAX: usize = 1_000;
/// Largest proof CAR read (a lexicon record with its MST path and commit).
const MAX_PROOF_BYTES: usize = 1024 * 1024;
const SCHEMA_COLLECTION: &str = "com.atproto.lexicon.schema";

/// When an answer was fetched, and the answer.
type Cached = (Instant, Result<Value, String>);

#[derive(Default)]
pub struct PermissionSets {
    cache: Mutex<HashMap<String, Cached>>,
}

impl PermissionSets {
    /// The lexicon document of `nsid`, authenticated.
    pub async fn resolve(&self, state: &AppState, nsid: &syntax::Nsid) -> Result<Value, String> {
        let key = nsid.as_str().to_owned();
        if let Some((at, answer)) = self.cache.lock().expect("not poisoned").get(&key) {
            let ttl = if answer.is_ok() {
                FOUND_TTL
            } else {
                FAILED_TTL
            };
            if at.elapsed() < ttl {
                return answer.clone();
            }
        }
        let answer = fetch(state, nsid).await;
        let mut cache = self.cache.lock().expect("not poisoned");
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < FAILED_TTL);
        }
        cache.insert(key, (Instant::now(), answer.clone()));
        answer
    }
}

/// `_lexicon.` + the authority as a hostname (`app.example.feed` → `_lexicon.feed.example.app`).
fn dns_name(nsid: &syntax::Nsid) -> String {
    format!("_lexicon.{}", nsid.authority_domain())
}

async fn fetch(state: &AppState, nsid: &syntax::Nsid) -> Result<Value, String> {
    let name = dns_name(nsid);
    let records = state.handle_resolver.txt_records(&name).await?;
    let dids: Vec<&str> = records
        .iter()
        .filter_map(|r| r.strip_prefix("did="))
        .map(str::trim)
        .collect();
    let did = match dids.as_slice() {
        [did] if syntax::validate_did(did).is_ok() => (*did).to_owned(),
        [] => return Err(format!("no did= TXT record at {name}")),
        _ => return Err(format!("{name} does not name exactly one DID")),
    };
    let doc = state
        .resolve_did_document(&did, false)
        .await
        .map_err(|e| format!("the DID document of {did}: {e}"))?;
    let pds = doc
        .pds_endpoint()
        .ok_or_else(|| format!("{did} names no PDS"))?
        .trim_end_matches('/')
        .to_owned();
    let key = doc
        .signing_key()
        .ok_or_else(|| format!("{did} has no signing key"))?;
    let key = crypto::PublicKey::from_did_key(&key).map_err(|e| format!("{did}'s key: {e}"))?;
    let mut url = url::Url::parse(&format!("{pds}/xrpc/com.atproto.sync.getRecord"))
        .map_err(|e| format!("{pds}: {e}"))?;
    url.query_pairs_mut()
        .append_pair("did", &did)
        .append_pair("collection", SCHEMA_COLLECTION)
        .append_pair("rkey", nsid.as_str());
    let car = state
        .oauth
        .clients
        .fetch(&url, "application/vnd.ipld.car", MAX_PROOF_BYTES)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let proof = repo::verify_record_proof(&car, &did, &key, SCHEMA_COLLECTION, nsid.as_str())
        .map_err(|e| format!("the lexicon record's proof does not verify: {e}"))?;
    let repo::RecordProof::Present(cid) = proof else {
        return Err(format!("{did} publishes no lexicon {}", nsid.as_str()));
    };
    // The proof checked the record's block; read it from the same CAR.
    let blocks = repo::car::read_car(&car, repo::car::CarLimits::default())
        .map_err(|e| format!("proof CAR: {e}"))?
        .blocks;
    let bytes = blocks
        .iter()
        .find(|(c, _)| *c == cid)
        .map(|(_, b)| b)
        .ok_or("the proof CAR lost its record")?;
    let value = data::cbor::decode(bytes).map_err(|e| format!("lexicon record: {e}"))?;
    Ok(data::json::to_json(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_reverse_the_authority() {
        let nsid = syntax::Nsid::new("app.example.feed.authPosting").unwrap();
        assert_eq!(dns_name(&nsid), "_lexicon.feed.example.app");
    }
}
