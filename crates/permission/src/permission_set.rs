//! Expanding an `include:` scope with its permission set (permission spec, "Permission Sets").
//!
//! The set is a lexicon document whose `main` definition has type `permission-set`. Each entry
//! of its `permissions` becomes ordinary scopes. Entries the spec says to ignore are dropped, not
//! refused, so a newer set still works with this server: unknown resources, unknown or
//! unexpected parameters, wildcards, resources outside the set's namespace authority, `rpc`
//! entries whose audience cannot be settled. Resolving and authenticating the document is the
//! caller's job (this crate does no I/O).

use serde_json::{Map, Value};

use crate::include::IncludeScope;
use crate::scope::Scope;

/// A permission set, read from its lexicon document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSet {
    pub title: Option<String>,
    pub detail: Option<String>,
    /// What the set grants for the `include:` that named it.
    pub scopes: Vec<Scope>,
}

/// Reads `doc` (the lexicon document of `include.nsid`) and expands it for `include`. Errors
/// only when the document is not a permission set for that NSID at all.
pub fn expand_permission_set(include: &IncludeScope, doc: &Value) -> Result<PermissionSet, String> {
    if doc.get("id").and_then(Value::as_str) != Some(include.nsid.as_str()) {
        return Err(format!(
            "the lexicon document is not {} (its id differs)",
            include.nsid.as_str()
        ));
    }
    let main = doc
        .get("defs")
        .and_then(|d| d.get("main"))
        .and_then(Value::as_object)
        .ok_or("the lexicon document has no main definition")?;
    if main.get("type").and_then(Value::as_str) != Some("permission-set") {
        return Err(format!("{} is not a permission set", include.nsid.as_str()));
    }
    let permissions = main
        .get("permissions")
        .and_then(Value::as_array)
        .ok_or("the permission set has no permissions array")?;
    let mut scopes = Vec::new();
    for entry in permissions.iter().filter_map(Value::as_object) {
        for scope in expand_entry(include, entry).unwrap_or_default() {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    let text = |name: &str| main.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(PermissionSet {
        title: text("title"),
        detail: text("detail"),
        scopes,
    })
}

/// The scopes of one entry, or `None` when the entry must be ignored.
fn expand_entry(include: &IncludeScope, entry: &Map<String, Value>) -> Option<Vec<Scope>> {
    if entry.get("type").and_then(Value::as_str) != Some("permission") {
        return None;
    }
    let strings = |name: &str| -> Option<Vec<&str>> {
        let list = entry.get(name)?.as_array()?;
        let items: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
        items.filter(|v| !v.is_empty())
    };
    // Every NSID must be concrete and under the set's authority.
    let governed = |nsids: &[&str]| {
        nsids
            .iter()
            .all(|n| *n != "*" && include.is_under_authority(n))
    };
    let known = |allowed: &[&str]| entry.keys().all(|k| allowed.contains(&k.as_str()));
    let parsed = |text: String| text.parse::<Scope>().ok();
    match entry.get("resource").and_then(Value::as_str)? {
        "repo" => {
            if !known(&["type", "resource", "collection", "action"]) {
                return None;
            }
            let collections = strings("collection")?;
            if !governed(&collections) {
                return None;
            }
            let actions = match entry.get("action") {
                None => Vec::new(),
                Some(_) => {
                    let actions = strings("action")?;
                    if !actions
                        .iter()
                        .all(|a| matches!(*a, "create" | "update" | "delete"))
                    {
                        return None;
                    }
                    actions
                }
            };
            collections
                .iter()
                .map(|c| {
                    let query: Vec<String> =
                        actions.iter().map(|a| format!("action={a}")).collect();
                    let text = if query.is_empty() {
                        format!("repo:{c}")
                    } else {
                        format!("repo:{c}?{}", query.join("&"))
                    };
                    parsed(text)
                })
                .collect()
        }
        "rpc" => {
            if !known(&["type", "resource", "lxm", "aud", "inheritAud"]) {
                return None;
            }
            let lxms = strings("lxm")?;
            if !governed(&lxms) {
                return None;
            }
            let inherit = match entry.get("inheritAud") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return None,
            };
            let aud = match (inherit, entry.get("aud")) {
                (true, Some(_)) => return None,
                (true, None) => include.aud.as_ref()?.to_string(),
                // Inside a set an audience is either inherited or `*` (DID references are not
                // allowed there).
                (false, Some(Value::String(a))) if a == "*" => "*".to_owned(),
                (false, _) => return None,
            };
            lxms.iter()
                .map(|l| {
                    let aud = aud.replace('#', "%23");
                    parsed(format!("rpc:{l}?aud={aud}"))
                })
                .collect()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn include(text: &str) -> IncludeScope {
        match text.parse::<Scope>().unwrap() {
            Scope::Include(i) => i,
            other => panic!("not an include: {other:?}"),
        }
    }

    fn strings(set: &PermissionSet) -> Vec<String> {
        set.scopes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn expands_and_ignores_what_the_spec_says_to_ignore() {
        let doc = json!({"lexicon": 1, "id": "app.example.authBasic", "defs": {"main": {
        "type": "permission-set", "title": "Basic", "detail": "Posts",
        "permissions": [
            {"type": "permission", "resource": "repo", "collection": ["app.example.post"]},
            {"type": "permission", "resource": "repo", "collection": ["app.example.like"], "action": ["delete"]},
            {"type": "permission", "resource": "rpc", "inheritAud": true, "lxm": ["app.example.getFeed"]},
            {"type": "permission", "resource": "rpc", "aud": "*", "lxm": ["app.example.feed.getSkeleton"]},
            // Ignored: outside the authority, wildcards, unknown parameters and resources,
            // an explicit DID audience, inheritAud with aud, resources sets may not carry.
            {"type": "permission", "resource": "repo", "collection": ["app.other.post"]},
            {"type": "permission", "resource": "repo", "collection": ["*"]},
            {"type": "permission", "resource": "repo", "collection": ["app.example.x"], "future": 1},
            {"type": "permission", "resource": "teleport", "collection": ["app.example.x"]},
            {"type": "permission", "resource": "rpc", "aud": "did:web:x.example#svc", "lxm": ["app.example.a"]},
            {"type": "permission", "resource": "rpc", "aud": "*", "inheritAud": true, "lxm": ["app.example.b"]},
            {"type": "permission", "resource": "blob", "accept": ["*/*"]},
            {"type": "permission", "resource": "repo", "collection": ["app.example.y"], "action": ["burn"]},
            "not an object"
        ]}}});
        let set = expand_permission_set(
            &include("include:app.example.authBasic?aud=did:web:api.example.com%23svc"),
            &doc,
        )
        .unwrap();
        assert_eq!(set.title.as_deref(), Some("Basic"));
        assert_eq!(
            strings(&set),
            [
                "repo:app.example.post",
                "repo:app.example.like?action=delete",
                "rpc:app.example.getFeed?aud=did:web:api.example.com%23svc",
                "rpc:app.example.feed.getSkeleton?aud=*",
            ]
        );
        // Without an audience on the include, inheriting entries are dropped.
        let set = expand_permission_set(&include("include:app.example.authBasic"), &doc).unwrap();
        assert_eq!(set.scopes.len(), 3);
    }

    #[test]
    fn refuses_documents_that_are_not_the_set() {
        let inc = include("include:app.example.authBasic");
        for doc in [
            json!({"id": "app.example.other", "defs": {"main": {"type": "permission-set", "permissions": []}}}),
            json!({"id": "app.example.authBasic", "defs": {"main": {"type": "record"}}}),
            json!({"id": "app.example.authBasic"}),
        ] {
            assert!(expand_permission_set(&inc, &doc).is_err(), "{doc}");
        }
    }
}
