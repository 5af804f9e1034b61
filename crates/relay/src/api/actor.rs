//! `app.bsky.actor` handlers: the account's private preferences (getPreferences,
//! putPreferences), kept by the PDS whatever AppView the client uses.
//!
//! As the reference PDS: only `app.bsky.*` preferences are stored; a put replaces them all;
//! `personalDetailsPref` is for full sessions only (app-password sessions neither see nor
//! replace it); `declaredAgePref` is never stored but derived on read from
//! `personalDetailsPref.birthDate` (age in whole years, UTC).

use serde_json::Value as Json;
use store::Store;
use xrpc::app::bsky::actor::{get_preferences, put_preferences};
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::{Access, Scope};
use crate::error::store_error;

/// The namespace of preferences a PDS keeps.
const NAMESPACE: &str = "app.bsky";
const PERSONAL_DETAILS: &str = "app.bsky.actor.defs#personalDetailsPref";
const DECLARED_AGE: &str = "app.bsky.actor.defs#declaredAgePref";

impl xrpc::app::bsky::actor::AppBskyActorHandler<Ctx> for AppState {
    async fn get_preferences(&self, ctx: Ctx) -> Result<get_preferences::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        self.require_preferences_scope(&caller, "app.bsky.actor.getPreferences")?;
        let full = caller.scope == Scope::Access;
        let mut preferences: Vec<Json> = self
            .store
            .preferences(&caller.did)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|p| pref_type(p).is_some_and(in_namespace))
            .collect();
        let birth_date = preferences
            .iter()
            .find(|p| pref_type(p) == Some(PERSONAL_DETAILS))
            .and_then(|p| p.get("birthDate")?.as_str().map(str::to_owned));
        if let Some(age) = birth_date.as_deref().and_then(age_from_birth_date) {
            preferences.push(serde_json::json!({
                "$type": DECLARED_AGE,
                "isOverAge13": age >= 13,
                "isOverAge16": age >= 16,
                "isOverAge18": age >= 18,
            }));
        }
        preferences.retain(|p| allowed(pref_type(p), full));
        self.set_current_rev(&ctx, &caller.did).await?;
        Ok(get_preferences::Output { preferences })
    }

    async fn put_preferences(
        &self,
        ctx: Ctx,
        input: put_preferences::Input,
    ) -> Result<(), XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        self.require_preferences_scope(&caller, "app.bsky.actor.putPreferences")?;
        let full = caller.scope == Scope::Access;
        let body = serde_json::json!({ "preferences": input.preferences });
        let value = data::json::from_json(&body)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid preferences: {e}")))?;
        lexicon::validate_input(&self.lexicons, put_preferences::NSID, &value)
            .map_err(|e| XrpcError::invalid_request(e.to_string()))?;
        let mut types = Vec::with_capacity(input.preferences.len());
        for pref in &input.preferences {
            types.push(
                pref_type(pref)
                    .ok_or_else(|| XrpcError::invalid_request("Preference is missing a $type"))?,
            );
        }
        if !types.iter().all(|t| in_namespace(t)) {
            return Err(XrpcError::invalid_request(format!(
                "Some preferences are not in the {NAMESPACE} namespace"
            )));
        }
        let forbidden: Vec<&str> = types
            .iter()
            .copied()
            .filter(|t| !allowed(Some(t), full))
            .collect();
        if !forbidden.is_empty() {
            return Err(XrpcError::invalid_request(format!(
                "Do not have authorization to set preferences: {}",
                forbidden.join(", ")
            )));
        }
        // Read, merge and write under the account's lock, so two sessions putting at once
        // cannot drop what the other one kept.
        let _lock = self.repos.lock_account(&caller.did).await;
        // What this session may not see it may not replace either: keep it.
        let mut kept: Vec<Json> = self
            .store
            .preferences(&caller.did)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|p| !allowed(pref_type(p), full))
            .collect();
        kept.extend(
            input
                .preferences
                .into_iter()
                .filter(|p| pref_type(p) != Some(DECLARED_AGE)),
        );
        self.store
            .put_preferences(&caller.did, kept)
            .await
            .map_err(store_error)?;
        self.set_current_rev(&ctx, &caller.did).await?;
        Ok(())
    }
}

fn pref_type(pref: &Json) -> Option<&str> {
    pref.get("$type")?.as_str()
}

fn in_namespace(t: &str) -> bool {
    t == NAMESPACE
        || t.strip_prefix(NAMESPACE)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Whether a session (full or not) may read and write a preference of this type.
fn allowed(t: Option<&str>, full: bool) -> bool {
    full || t != Some(PERSONAL_DETAILS)
}

/// Age in whole years today (UTC) of someone born on `birth_date` (`YYYY-MM-DD…`).
fn age_from_birth_date(birth_date: &str) -> Option<i64> {
    let (y, m, d) = parse_ymd(birth_date)?;
    let (ty, tm, td) = civil_from_days(syntax::Datetime::now().unix_seconds().div_euclid(86_400));
    let mut age = ty - y;
    if (tm, td) < (m, d) {
        age -= 1;
    }
    Some(age)
}

fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((i64::from(y), m, d))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl AppState {
    /// Preferences are the AppView's business served here, so an OAuth app needs the `rpc`
    /// permission for the method at the AppView (as the reference asks), which
    /// `transition:generic` includes.
    fn require_preferences_scope(
        &self,
        caller: &crate::auth::Caller,
        lxm: &str,
    ) -> Result<(), XrpcError> {
        if caller.oauth.is_none() {
            return Ok(());
        }
        let aud = format!(
            "{}#bsky_appview",
            self.config
                .proxy
                .appview
                .as_ref()
                .map_or("did:web:api.bsky.app", |a| a.did.as_str())
        );
        if caller.allows_rpc(lxm, &aud) {
            Ok(())
        } else {
            Err(crate::auth::scope_missing(&format!("rpc:{lxm}?aud={aud}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_507), (2026, 2, 23));
    }

    #[test]
    fn ages_and_namespaces() {
        assert_eq!(parse_ymd("1990-05-17T00:00:00.000Z"), Some((1990, 5, 17)));
        assert_eq!(parse_ymd("nope"), None);
        assert!(age_from_birth_date("1900-01-01").unwrap() > 100);
        assert!(in_namespace("app.bsky.actor.defs#adultContentPref"));
        assert!(!in_namespace("app.bskyx.foo"));
        assert!(!in_namespace("com.atproto.foo"));
        assert!(!allowed(Some(PERSONAL_DETAILS), false));
        assert!(allowed(Some(PERSONAL_DETAILS), true));
    }
}
