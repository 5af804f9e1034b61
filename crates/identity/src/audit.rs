//! Audit-log validation: replay a DID's full log (`/:did/log/audit`, nullified entries
//! included) the way the directory accepted it, one operation at a time, and check that every
//! step was allowed and that the recorded CIDs and `nullified` flags are what the replay gives.
//!
//! The rules (did:plc spec v0.2.1, "Key Rotation & Account Recovery" and "Audit Logs"; the
//! reference directory's `assureValidNextOp`):
//! - the first entry is a genesis operation that derives the DID and is signed by one of its
//!   own rotation keys;
//! - every later operation names in `prev` an operation still on the active history (not
//!   nullified, not a tombstone) and is signed by one of that operation's rotation keys;
//! - an operation whose `prev` is not the head forks history: the operations after `prev` are
//!   nullified. That is allowed only if its signer comes strictly before (has higher priority
//!   than) the key that signed the first of them, in `prev`'s rotation keys, and only within
//!   72 h of that first one's `createdAt` (exactly 72 h is still in time);
//! - timestamps increase along the log.

use std::collections::HashMap;

use data::Cid;
use serde_json::Value as Json;

use crate::error::{AuditError, AuditErrorKind};
use crate::op::{parse_prev, SignedOp};
use crate::state::PlcState;

/// Nanoseconds in the 72-hour window within which a higher-priority rotation key may override
/// operations (did:plc spec, "Key Rotation & Account Recovery"). Exactly 72 h is still inside.
const RECOVERY_WINDOW_NANOS: i128 = 72 * 3600 * 1_000_000_000;

/// `createdAt` as nanoseconds since the Unix epoch, so window arithmetic cannot round.
fn parse_created_at(text: &str) -> Option<i128> {
    let t = syntax::parse_datetime(text).ok()?;
    Some(i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.subsec_nanos()))
}

/// One entry of an audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub did: String,
    pub operation: SignedOp,
    /// The CID the directory recorded for the operation.
    pub cid: String,
    pub nullified: bool,
    /// RFC 3339, as the directory wrote it.
    pub created_at: String,
}

impl LogEntry {
    /// Parses one entry (`{did, operation, cid, nullified, createdAt}`); `index` is only used
    /// to name the entry in errors.
    pub fn from_json(index: usize, json: &Json) -> Result<LogEntry, AuditError> {
        let malformed = |what: &str| {
            AuditError::at(index, None, AuditErrorKind::MalformedEntry(what.to_owned()))
        };
        let obj = json.as_object().ok_or_else(|| malformed("not an object"))?;
        let text = |field: &str| {
            obj.get(field)
                .and_then(Json::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(&format!("`{field}` is not a string")))
        };
        let cid = text("cid")?;
        let did = text("did")?;
        let created_at = text("createdAt")?;
        let nullified = obj
            .get("nullified")
            .and_then(Json::as_bool)
            .ok_or_else(|| malformed("`nullified` is not a boolean"))?;
        let operation = obj
            .get("operation")
            .ok_or_else(|| malformed("no `operation`"))?;
        let operation =
            SignedOp::from_json(operation).map_err(|e| AuditError::at(index, Some(&cid), e))?;
        Ok(LogEntry {
            did,
            operation,
            cid,
            nullified,
            created_at,
        })
    }
}

/// Parses an audit log: the JSON array `/:did/log/audit` returns.
pub fn parse_audit_log(json: &Json) -> Result<Vec<LogEntry>, AuditError> {
    let items = json
        .as_array()
        .ok_or_else(|| AuditError::log(AuditErrorKind::NotAnArray))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| LogEntry::from_json(i, item))
        .collect()
}

/// Parses an audit log from its JSON text.
pub fn parse_audit_log_str(text: &str) -> Result<Vec<LogEntry>, AuditError> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| AuditError::log(AuditErrorKind::MalformedEntry(format!("not JSON: {e}"))))?;
    parse_audit_log(&json)
}

/// Where a valid log leaves the DID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlcStatus {
    Active(PlcState),
    /// The active history ends in a tombstone: the DID is deactivated.
    Tombstoned,
}

/// The outcome of a valid audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditedLog {
    pub did: String,
    pub status: PlcStatus,
    /// CID of the last operation on the active history: the `prev` of the next update.
    pub head: Cid,
    /// `createdAt` of that operation. Until 72 h after it, a higher-priority rotation key may
    /// still override it, so the state is not final before then.
    pub head_created_at: String,
    /// Positions of the nullified entries, in log order.
    pub nullified: Vec<usize>,
}

impl AuditedLog {
    /// The current state, unless the DID is tombstoned.
    pub fn state(&self) -> Option<&PlcState> {
        match &self.status {
            PlcStatus::Active(state) => Some(state),
            PlcStatus::Tombstoned => None,
        }
    }
}

/// An operation accepted during replay.
struct Accepted {
    created_at: i128,
    /// Keys allowed to sign operations that follow this one; `None` for a tombstone.
    rotation_keys: Option<Vec<String>>,
    /// Index, in the previous operation's rotation keys, of the key that signed this one.
    /// Genesis operations have no previous operation and are never disputed.
    signer: usize,
    nullified: bool,
}

/// Validates `entries`, the full audit log of `did`, and returns where it leaves the DID.
///
/// Every failure names the entry (by position and recorded CID) where replay stopped.
pub fn validate_audit_log(did: &str, entries: &[LogEntry]) -> Result<AuditedLog, AuditError> {
    if entries.is_empty() {
        return Err(AuditError::log(AuditErrorKind::Empty));
    }
    let mut accepted: Vec<Accepted> = Vec::with_capacity(entries.len());
    let mut by_cid: HashMap<Cid, usize> = HashMap::with_capacity(entries.len());
    // Positions (in `entries`) of the operations on the active history, genesis first.
    let mut active: Vec<usize> = Vec::with_capacity(entries.len());

    for (index, entry) in entries.iter().enumerate() {
        let fail = |kind: AuditErrorKind| AuditError::at(index, Some(&entry.cid), kind);
        let op = &entry.operation;
        if entry.did != did {
            return Err(fail(AuditErrorKind::WrongDid {
                found: entry.did.clone(),
            }));
        }
        op.check_structure().map_err(|e| fail(e.into()))?;
        let cid = op.cid();
        if cid.to_string() != entry.cid {
            return Err(fail(AuditErrorKind::CidMismatch {
                recorded: entry.cid.clone(),
                computed: cid.to_string(),
            }));
        }
        let created_at = parse_created_at(&entry.created_at)
            .ok_or_else(|| fail(AuditErrorKind::BadTimestamp(entry.created_at.clone())))?;
        if by_cid.contains_key(&cid) {
            return Err(fail(AuditErrorKind::DuplicateOperation));
        }

        let signer = if index == 0 {
            if op.op().prev().is_some() {
                return Err(fail(AuditErrorKind::FirstNotGenesis));
            }
            let derived = op.did().map_err(|e| fail(e.into()))?;
            if derived != did {
                return Err(fail(AuditErrorKind::GenesisDidMismatch { derived }));
            }
            let own_keys = op.rotation_keys().unwrap_or_default();
            op.verify(&own_keys).map_err(|e| fail(e.into()))?
        } else {
            let prev_str = op
                .op()
                .prev()
                .ok_or_else(|| fail(AuditErrorKind::UnexpectedGenesis))?;
            // check_structure has already refused a non-canonical prev.
            let prev_cid = parse_prev(prev_str).map_err(|e| fail(e.into()))?;
            let &prev_index = by_cid
                .get(&prev_cid)
                .ok_or_else(|| fail(AuditErrorKind::UnknownPrev(prev_str.to_owned())))?;
            let prev = &accepted[prev_index];
            if prev.nullified {
                return Err(fail(AuditErrorKind::PrevNullified(prev_str.to_owned())));
            }
            let prev_keys = prev
                .rotation_keys
                .as_deref()
                .ok_or_else(|| fail(AuditErrorKind::PrevTombstoned(prev_str.to_owned())))?;
            let signer = op.verify(prev_keys).map_err(|e| fail(e.into()))?;

            let head = *active
                .last()
                .expect("the genesis operation is always active");
            if created_at <= accepted[head].created_at {
                return Err(fail(AuditErrorKind::TimestampOrder));
            }
            if head != prev_index {
                // A fork: everything after `prev` on the active history is overridden.
                let fork = active
                    .iter()
                    .position(|&i| i == prev_index)
                    .expect("a non-nullified operation is active");
                let disputed = &accepted[active[fork + 1]];
                if signer >= disputed.signer {
                    return Err(fail(AuditErrorKind::NullificationPriority {
                        signer,
                        disputed: disputed.signer,
                    }));
                }
                let elapsed = created_at - disputed.created_at;
                if elapsed > RECOVERY_WINDOW_NANOS {
                    let elapsed_ms = i64::try_from(elapsed / 1_000_000).unwrap_or(i64::MAX);
                    return Err(fail(AuditErrorKind::LateRecovery { elapsed_ms }));
                }
                for &overridden in &active[fork + 1..] {
                    accepted[overridden].nullified = true;
                }
                active.truncate(fork + 1);
            }
            signer
        };

        accepted.push(Accepted {
            created_at,
            rotation_keys: op.rotation_keys(),
            signer,
            nullified: false,
        });
        by_cid.insert(cid, index);
        active.push(index);
    }

    // The flags must say exactly what the replay says: a directory that hid an override, or
    // claimed one that did not happen, is serving a different history.
    for (index, (entry, replayed)) in entries.iter().zip(&accepted).enumerate() {
        if entry.nullified != replayed.nullified {
            return Err(AuditError::at(
                index,
                Some(&entry.cid),
                AuditErrorKind::NullifiedFlagMismatch {
                    recorded: entry.nullified,
                    computed: replayed.nullified,
                },
            ));
        }
    }

    let head = *active
        .last()
        .expect("the genesis operation is always active");
    let head_entry = &entries[head];
    let status = match head_entry.operation.to_state(did) {
        Some(state) => PlcStatus::Active(state),
        None => PlcStatus::Tombstoned,
    };
    Ok(AuditedLog {
        did: did.to_owned(),
        status,
        head: head_entry.operation.cid(),
        head_created_at: head_entry.created_at.clone(),
        nullified: (0..entries.len())
            .filter(|&i| accepted[i].nullified)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{OpError, SigFailure};
    use crate::op::PlcOperation;
    use crate::state::genesis_op;
    use crypto::{Algorithm, Keypair};
    use serde_json::json;

    /// The three rotation keys of DESIGN §4, highest priority first.
    struct Keys {
        device: Keypair,
        recovery: Keypair,
        relay: Keypair,
        signing: Keypair,
    }

    impl Keys {
        fn new() -> Keys {
            Keys {
                device: Keypair::generate(Algorithm::P256),
                recovery: Keypair::generate(Algorithm::K256),
                relay: Keypair::generate(Algorithm::K256),
                signing: Keypair::generate(Algorithm::P256),
            }
        }

        fn rotation(&self) -> Vec<String> {
            vec![
                self.device.did_key(),
                self.recovery.did_key(),
                self.relay.did_key(),
            ]
        }
    }

    fn entry(did: &str, op: &SignedOp, created_at: &str, nullified: bool) -> Json {
        json!({
            "did": did,
            "operation": op.to_json(),
            "cid": op.cid().to_string(),
            "nullified": nullified,
            "createdAt": created_at,
        })
    }

    fn validate(did: &str, log: &[Json]) -> Result<AuditedLog, AuditError> {
        validate_audit_log(did, &parse_audit_log(&Json::Array(log.to_vec()))?)
    }

    fn genesis(keys: &Keys) -> (String, SignedOp) {
        let op = genesis_op(
            keys.rotation(),
            &keys.signing.did_key(),
            "alice.test",
            "https://pds.test",
        )
        .unwrap();
        let signed = op.sign(&keys.relay).unwrap();
        (signed.did().unwrap(), signed)
    }

    fn update(prev: &SignedOp, signer: &Keypair, endpoint: &str) -> SignedOp {
        let state = prev.to_state("did:plc:unused").unwrap();
        state
            .update_op(&prev.cid())
            .with_pds_endpoint(endpoint)
            .unwrap()
            .sign(signer)
            .unwrap()
    }

    const T0: &str = "2026-01-01T00:00:00.000Z";
    const T1: &str = "2026-01-01T01:00:00.000Z";

    #[test]
    fn genesis_round_trip_on_both_curves() {
        for alg in Algorithm::ALL {
            let rotation = Keypair::generate(alg);
            let signing = Keypair::generate(alg);
            let op = genesis_op(
                vec![rotation.did_key()],
                &signing.did_key(),
                "bob.test",
                "https://pds.test",
            )
            .unwrap();
            let signed = op.sign(&rotation).unwrap();
            let did = signed.did().unwrap();
            assert_eq!(did.len(), 32);
            let audited = validate(&did, &[entry(&did, &signed, T0, false)]).unwrap();
            let state = audited.state().unwrap();
            assert_eq!(audited.head, signed.cid());
            assert_eq!(state.did, did);
            assert_eq!(state.signing_key(), Some(signing.did_key().as_str()));
            assert_eq!(state.handle().as_deref(), Some("bob.test"));
            assert_eq!(state.pds_endpoint(), Some("https://pds.test"));

            // Any other DID, or a tampered recorded CID, is refused at entry 0.
            let other = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
            let mut wrong = entry(other, &signed, T0, false);
            let e = validate(other, std::slice::from_ref(&wrong)).unwrap_err();
            assert!(
                matches!(e.kind, AuditErrorKind::GenesisDidMismatch { .. }),
                "{e}"
            );
            wrong["did"] = json!(did);
            wrong["cid"] = json!("bafyreihygpghgzty7kgo5gpidscdd3p7krovysfy76uqfyildy5qy6xyqi");
            let e = validate(&did, &[wrong]).unwrap_err();
            assert!(matches!(e.kind, AuditErrorKind::CidMismatch { .. }), "{e}");
        }
    }

    #[test]
    fn recovery_within_72h_nullifies() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        // The relay (lowest priority) moves the account; the recovery key undoes it in time.
        let op1 = update(&op0, &keys.relay, "https://evil.test");
        let op2 = update(&op0, &keys.recovery, "https://rescued.test");
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &op1, T1, true),
            entry(&did, &op2, "2026-01-04T01:00:00.000Z", false), // exactly 72 h later
        ];
        let audited = validate(&did, &log).unwrap();
        assert_eq!(audited.nullified, [1]);
        assert_eq!(audited.head, op2.cid());
        assert_eq!(
            audited.state().unwrap().pds_endpoint(),
            Some("https://rescued.test")
        );

        // The flags must match the replay, both ways.
        let mut unmarked = log.clone();
        unmarked[1]["nullified"] = json!(false);
        let e = validate(&did, &unmarked).unwrap_err();
        assert_eq!(
            (e.index, &e.kind),
            (
                Some(1),
                &AuditErrorKind::NullifiedFlagMismatch {
                    recorded: false,
                    computed: true
                }
            )
        );
        let mut overmarked = log.clone();
        overmarked[2]["nullified"] = json!(true);
        assert_eq!(validate(&did, &overmarked).unwrap_err().index, Some(2));
    }

    #[test]
    fn recovery_after_72h_fails() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        let op1 = update(&op0, &keys.relay, "https://evil.test");
        let op2 = update(&op0, &keys.device, "https://rescued.test");
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &op1, T1, true),
            entry(&did, &op2, "2026-01-04T01:00:00.001Z", false),
        ];
        let e = validate(&did, &log).unwrap_err();
        assert_eq!(e.index, Some(2));
        assert_eq!(
            e.kind,
            AuditErrorKind::LateRecovery {
                elapsed_ms: 72 * 3600 * 1000 + 1
            }
        );
    }

    #[test]
    fn lower_or_equal_priority_key_cannot_nullify() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        let op1 = update(&op0, &keys.recovery, "https://recovery.test");
        for (signer, index) in [(&keys.relay, 2), (&keys.recovery, 1)] {
            let op2 = update(&op0, signer, "https://other.test");
            let log = [
                entry(&did, &op0, T0, false),
                entry(&did, &op1, T1, true),
                entry(&did, &op2, "2026-01-01T02:00:00Z", false),
            ];
            let e = validate(&did, &log).unwrap_err();
            assert_eq!(e.index, Some(2));
            assert_eq!(
                e.kind,
                AuditErrorKind::NullificationPriority {
                    signer: index,
                    disputed: 1
                }
            );
        }
    }

    #[test]
    fn chained_recoveries_narrow_the_allowed_keys() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        let op1 = update(&op0, &keys.relay, "https://a.test");
        let op2 = update(&op0, &keys.recovery, "https://b.test"); // overrides op1
        let op3 = update(&op0, &keys.device, "https://c.test"); // overrides op2
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &op1, T1, true),
            entry(&did, &op2, "2026-01-01T02:00:00Z", true),
            entry(&did, &op3, "2026-01-01T03:00:00Z", false),
        ];
        let audited = validate(&did, &log).unwrap();
        assert_eq!(audited.nullified, [1, 2]);
        assert_eq!(
            audited.state().unwrap().pds_endpoint(),
            Some("https://c.test")
        );
    }

    #[test]
    fn tombstone_ends_the_log_unless_overridden() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        let state = op0.to_state(&did).unwrap();
        let tomb = state.tombstone_op(&op0.cid()).sign(&keys.relay).unwrap();
        let audited = validate(
            &did,
            &[entry(&did, &op0, T0, false), entry(&did, &tomb, T1, false)],
        )
        .unwrap();
        assert_eq!(audited.status, PlcStatus::Tombstoned);
        assert_eq!(audited.head, tomb.cid());

        let after = PlcOperation {
            prev: Some(tomb.cid().to_string()),
            ..state.update_op(&op0.cid())
        }
        .sign(&keys.relay)
        .unwrap();
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &tomb, T1, false),
            entry(&did, &after, "2026-01-01T02:00:00Z", false),
        ];
        assert!(matches!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::PrevTombstoned(_)
        ));

        let revive = update(&op0, &keys.device, "https://back.test");
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &tomb, T1, true),
            entry(&did, &revive, "2026-01-01T02:00:00Z", false),
        ];
        assert_eq!(
            validate(&did, &log)
                .unwrap()
                .state()
                .unwrap()
                .pds_endpoint(),
            Some("https://back.test")
        );
    }

    #[test]
    fn other_log_faults_name_their_entry() {
        let keys = Keys::new();
        let (did, op0) = genesis(&keys);
        let outsider = Keypair::generate(Algorithm::P256);
        let forged = update(&op0, &outsider, "https://evil.test");
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &forged, T1, false),
        ];
        let e = validate(&did, &log).unwrap_err();
        assert_eq!(
            (e.index, e.kind),
            (
                Some(1),
                AuditErrorKind::Op(OpError::Signature(SigFailure::NoMatchingKey))
            )
        );

        let op1 = update(&op0, &keys.relay, "https://b.test");
        let log = [entry(&did, &op0, T1, false), entry(&did, &op1, T0, false)];
        assert_eq!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::TimestampOrder
        );

        let log = [entry(&did, &op1, T0, false)];
        assert_eq!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::FirstNotGenesis
        );

        let log = [entry(&did, &op0, T0, false), entry(&did, &op0, T1, false)];
        assert_eq!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::DuplicateOperation
        );

        let second = genesis_op(
            keys.rotation(),
            &keys.signing.did_key(),
            "other.test",
            "https://pds.test",
        )
        .unwrap();
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &second.sign(&keys.relay).unwrap(), T1, false),
        ];
        assert_eq!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::UnexpectedGenesis
        );

        let dangling = update(&op1, &keys.relay, "https://c.test");
        let log = [
            entry(&did, &op0, T0, false),
            entry(&did, &dangling, T1, false),
        ];
        assert!(matches!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::UnknownPrev(_)
        ));

        let log = [entry(&did, &op0, "yesterday", false)];
        assert!(matches!(
            validate(&did, &log).unwrap_err().kind,
            AuditErrorKind::BadTimestamp(_)
        ));

        assert_eq!(validate(&did, &[]).unwrap_err().kind, AuditErrorKind::Empty);
        let e = parse_audit_log(&json!([{ "did": did }])).unwrap_err();
        assert!(matches!(e.kind, AuditErrorKind::MalformedEntry(_)));
        assert_eq!(e.index, Some(0));
    }
}
