//! Taking the relay out of the DID: a did:plc update that drops the relay's rotation key,
//! signed with a key ranked above it (the recovery or the device key). The relay cannot undo
//! it: its key is no longer in the list, and within 72 hours a higher key could even nullify
//! any operation it made before.

use crypto::Keypair;
use identity::{AuditedLog, SignedOp};

/// Why the operation cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OverrideError {
    #[error("the DID is tombstoned")]
    Tombstoned,
    #[error("{0} is not one of the DID's rotation keys")]
    NotARotationKey(String),
    #[error("the signing key {0} ranks below the key it would remove")]
    RanksBelow(String),
    #[error("removing the key would leave no rotation key")]
    NoKeysLeft,
    #[error("cannot build the operation: {0}")]
    Op(String),
}

/// An update following the log's head with `remove` dropped from the rotation keys, signed by
/// `signer`, which must be a rotation key ranked above `remove`.
pub fn remove_rotation_key(
    log: &AuditedLog,
    remove: &str,
    signer: &Keypair,
) -> Result<SignedOp, OverrideError> {
    let state = log.state().ok_or(OverrideError::Tombstoned)?;
    let keys = &state.rotation_keys;
    let removed_at = keys
        .iter()
        .position(|k| k == remove)
        .ok_or_else(|| OverrideError::NotARotationKey(remove.to_owned()))?;
    let signer_did_key = signer.did_key();
    let signer_at = keys
        .iter()
        .position(|k| *k == signer_did_key)
        .ok_or_else(|| OverrideError::NotARotationKey(signer_did_key.clone()))?;
    if signer_at > removed_at {
        return Err(OverrideError::RanksBelow(signer_did_key));
    }
    let remaining: Vec<String> = keys.iter().filter(|k| *k != remove).cloned().collect();
    if remaining.is_empty() {
        return Err(OverrideError::NoKeysLeft);
    }
    state
        .update_op(&log.head)
        .with_rotation_keys(remaining)
        .and_then(|op| op.sign(signer))
        .map_err(|e| OverrideError::Op(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Algorithm;
    use identity::{genesis_op, parse_audit_log, validate_audit_log};

    fn log_of(ops: &[&SignedOp], did: &str) -> AuditedLog {
        let entries: Vec<serde_json::Value> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                serde_json::json!({
                    "did": did, "operation": op.to_json(), "cid": op.cid().to_string(),
                    "nullified": false, "createdAt": format!("2026-11-25T12:00:0{i}.000Z"),
                })
            })
            .collect();
        validate_audit_log(did, &parse_audit_log(&serde_json::json!(entries)).unwrap()).unwrap()
    }

    #[test]
    fn the_recovery_key_removes_the_relay_key_and_the_relay_key_cannot_remove_it() {
        let device = Keypair::generate(Algorithm::P256);
        let recovery = Keypair::generate(Algorithm::K256);
        let relay = Keypair::generate(Algorithm::K256);
        let signing = Keypair::generate(Algorithm::P256);
        let genesis = genesis_op(
            vec![device.did_key(), recovery.did_key(), relay.did_key()],
            &signing.did_key(),
            "alice.test",
            "https://pds.test",
        )
        .unwrap()
        .sign(&relay)
        .unwrap();
        let did = genesis.did().unwrap();
        let log = log_of(&[&genesis], &did);

        let op = remove_rotation_key(&log, &relay.did_key(), &recovery).unwrap();
        assert_eq!(
            op.rotation_keys().unwrap(),
            vec![device.did_key(), recovery.did_key()]
        );
        let after = log_of(&[&genesis, &op], &did);
        assert_eq!(after.state().unwrap().rotation_keys.len(), 2);

        assert_eq!(
            remove_rotation_key(&log, &device.did_key(), &relay).unwrap_err(),
            OverrideError::RanksBelow(relay.did_key())
        );
        assert_eq!(
            remove_rotation_key(&after, &device.did_key(), &relay).unwrap_err(),
            OverrideError::NotARotationKey(relay.did_key())
        );
    }
}
