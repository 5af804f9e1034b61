//! Checks for the draft permission-scope vectors (`atproto-interop-tests`, branch
//! `bnewbold/permission`, folder `permission/`), one case at a time, so the L1 runner can count
//! them per file and this crate's tests can reuse them.
//!
//! The file name says what is expected:
//!
//! | file | each case must |
//! |---|---|
//! | `permission_scopes_valid.txt` | parse as a [`Scope`], and its normalised form parse back to an equal value |
//! | `permission_scopes_invalid.txt` | be refused by [`Scope::parse`] |
//! | `generic_scopes_valid.json` | parse as a [`GenericScope`] with the listed resource, positional part and parameters, and survive a display round trip |
//! | `generic_scopes_invalid.txt` | be refused by [`GenericScope::parse`] |
//!
//! In the `.txt` files, empty lines and lines starting with `#` are comments; every other line
//! is a case exactly as written (only a trailing `\r` is dropped).

use std::collections::BTreeMap;

use crate::grammar::GenericScope;
use crate::scope::Scope;

/// Draft vectors this crate judges wrong: `(file name, case, reason citing the spec)`.
/// [`check_scope_file`] reports them as `Ok` when the crate behaves as the spec says.
///
/// Empty: every case in the four draft files agrees with the permission spec as read here.
pub const DISPUTED: &[(&str, &str, &str)] = &[];

/// Checks every case of the vector file `file_name` (its base name decides what is expected)
/// whose contents are `text`. Returns each case with `Ok(())` or what went wrong. An unknown
/// file name, or a JSON file that does not parse, gives a single `Err` entry.
pub fn check_scope_file(file_name: &str, text: &str) -> Vec<(String, Result<(), String>)> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let check: fn(&str) -> Result<(), String> = match base {
        "permission_scopes_valid.txt" => check_permission_valid,
        "permission_scopes_invalid.txt" => check_permission_invalid,
        "generic_scopes_invalid.txt" => check_generic_invalid,
        "generic_scopes_valid.json" => return check_generic_json(base, text),
        _ => {
            return vec![(
                file_name.to_owned(),
                Err("not a permission vector file this crate knows".to_owned()),
            )]
        }
    };
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|case| (case.to_owned(), settle(base, case, check(case))))
        .collect()
}

/// Applies [`DISPUTED`]: a disputed case that failed the file's expectation is `Ok`.
fn settle(file: &str, case: &str, result: Result<(), String>) -> Result<(), String> {
    let disputed = DISPUTED.iter().any(|(f, c, _)| *f == file && *c == case);
    if disputed && result.is_err() {
        return Ok(());
    }
    result
}

fn check_permission_valid(case: &str) -> Result<(), String> {
    let scope = Scope::parse(case).map_err(|e| format!("refused: {e}"))?;
    let normalised = scope.to_string();
    match Scope::parse(&normalised) {
        Ok(again) if again == scope => Ok(()),
        Ok(again) => Err(format!(
            "normalised form {normalised:?} parses to a different scope {again:?}"
        )),
        Err(e) => Err(format!("normalised form {normalised:?} is refused: {e}")),
    }
}

fn check_permission_invalid(case: &str) -> Result<(), String> {
    match Scope::parse(case) {
        Ok(scope) => Err(format!("accepted, as {scope}")),
        Err(_) => Ok(()),
    }
}

fn check_generic_invalid(case: &str) -> Result<(), String> {
    match GenericScope::parse(case) {
        Ok(g) => Err(format!("accepted, as {g:?}")),
        Err(_) => Ok(()),
    }
}

fn check_generic_json(file: &str, text: &str) -> Vec<(String, Result<(), String>)> {
    let cases = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(cases)) => cases,
        Ok(_) => return vec![(file.to_owned(), Err("not a JSON array".to_owned()))],
        Err(e) => return vec![(file.to_owned(), Err(format!("bad JSON: {e}")))],
    };
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let name = case["scope"]
                .as_str()
                .map_or_else(|| format!("#{i} (no \"scope\" string)"), str::to_owned);
            let result = check_generic_case(case);
            let result = settle(file, &name, result);
            (name, result)
        })
        .collect()
}

fn check_generic_case(case: &serde_json::Value) -> Result<(), String> {
    let scope = case["scope"].as_str().ok_or("no \"scope\" string")?;
    let want = &case["generic"];
    let want_resource = want["resource"]
        .as_str()
        .ok_or("no \"generic.resource\" string")?;
    let want_positional = want["positional"].as_str().unwrap_or("");
    let mut want_params: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if let Some(params) = want["params"].as_object() {
        for (name, values) in params {
            let values = values
                .as_array()
                .ok_or_else(|| format!("params.{name} is not an array"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| format!("params.{name} holds a non-string"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            want_params.insert(name, values);
        }
    }

    let got = GenericScope::parse(scope).map_err(|e| format!("refused: {e}"))?;
    let mut got_params: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in &got.params {
        got_params.entry(name).or_default().push(value);
    }
    let got_positional = got.positional.as_deref().unwrap_or("");
    if got.resource != want_resource
        || got_positional != want_positional
        || got_params != want_params
    {
        return Err(format!(
            "parsed as resource {:?}, positional {got_positional:?}, params {got_params:?}; \
             expected {want_resource:?}, {want_positional:?}, {want_params:?}",
            got.resource
        ));
    }
    let shown = got.to_string();
    match GenericScope::parse(&shown) {
        Ok(again) if again == got => Ok(()),
        other => Err(format!("display {shown:?} does not round-trip: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_file_kinds_and_comments() {
        let out = check_scope_file(
            "some/dir/permission_scopes_valid.txt",
            "# comment\n\nrepo:*\r\nrepo:nope\n",
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], ("repo:*".to_owned(), Ok(())));
        assert!(out[1].1.is_err());

        let out = check_scope_file("permission_scopes_invalid.txt", "repo:*\nrepo\n");
        assert!(out[0].1.is_err());
        assert_eq!(out[1].1, Ok(()));

        let out = check_scope_file("generic_scopes_invalid.txt", "a b\nok\n");
        assert_eq!(out[0].1, Ok(()));
        assert!(out[1].1.is_err());

        assert!(check_scope_file("other.txt", "x")[0].1.is_err());
        assert!(check_scope_file("generic_scopes_valid.json", "{")[0]
            .1
            .is_err());
    }

    #[test]
    fn checks_generic_json_structure() {
        let json = r#"[
            {"scope": "r:p?k=a&k=b", "generic": {"resource": "r", "positional": "p", "params": {"k": ["a", "b"]}}},
            {"scope": "r", "generic": {"resource": "r", "positional": "", "params": {}}},
            {"scope": "r:x", "generic": {"resource": "r", "positional": "y", "params": {}}}
        ]"#;
        let out = check_scope_file("generic_scopes_valid.json", json);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].1, Ok(()));
        assert_eq!(out[1].1, Ok(()));
        assert!(out[2].1.is_err());
    }
}
