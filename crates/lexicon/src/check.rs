//! Schema rules of the Lexicon language that a JSON shape cannot express
//! (atproto.com/specs/lexicon): which types may appear where, only `main` may be primary,
//! `required` names defined properties, `default` and `const` exclude each other and fit the
//! other constraints, min ≤ max, valid references, MIME patterns and permissions.

use crate::error::SchemaError;
use crate::schema::{
    ArrayDef, BlobDef, BodyDef, Def, ErrorDef, IntegerDef, LexiconDoc, ObjectDef, ParamsDef,
    PermissionDef, PermissionSetDef, StringDef,
};

/// Where a schema definition sits, which decides the types allowed there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A named definition under `defs`.
    TopLevel,
    /// An object property or array item.
    Field,
    /// A `params` property.
    Param,
    /// An item of an array that is a `params` property.
    ParamItem,
    /// The `schema` of an XRPC input or output body.
    Body,
    /// The `schema` of a subscription message.
    Message,
}

fn invalid(path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn check_doc(doc: &LexiconDoc) -> Result<(), SchemaError> {
    if doc.lexicon != 1 {
        return Err(invalid(
            "lexicon",
            format!("unsupported lexicon version {} (must be 1)", doc.lexicon),
        ));
    }
    if syntax::validate_nsid(&doc.id).is_err() {
        return Err(invalid("id", format!("{:?} is not a valid NSID", doc.id)));
    }
    if doc.defs.is_empty() {
        return Err(invalid(
            "defs",
            "a lexicon must have at least one definition",
        ));
    }
    for (name, def) in &doc.defs {
        let path = format!("defs/{name}");
        if !is_def_name(name) {
            return Err(invalid(&path, format!("invalid definition name {name:?}")));
        }
        // "A file can have at most one definition with one of the primary types. Primary
        // types should always have the name main." Names are unique, so main-only suffices.
        if def.is_primary() && name != "main" {
            return Err(invalid(
                &path,
                format!("a {} definition must be named main", def.type_name()),
            ));
        }
        check_def(def, &path, Place::TopLevel)?;
    }
    Ok(())
}

/// Definition names: non-empty ASCII letters, digits, `_` or `-` (no `#`, `.` or `/`).
pub(crate) fn is_def_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn allowed(def: &Def, place: Place) -> bool {
    match place {
        // "sub-types, unknown, ref, and union can not be used as named definitions"
        Place::TopLevel => !matches!(
            def,
            Def::Params(_) | Def::Permission(_) | Def::Ref(_) | Def::Union(_) | Def::Unknown(_)
        ),
        Place::Field => matches!(
            def,
            Def::Null(_)
                | Def::Boolean(_)
                | Def::Integer(_)
                | Def::String(_)
                | Def::Bytes(_)
                | Def::CidLink(_)
                | Def::Blob(_)
                | Def::Array(_)
                | Def::Object(_)
                | Def::Ref(_)
                | Def::Union(_)
                | Def::Unknown(_)
        ),
        Place::Param => matches!(
            def,
            Def::Boolean(_) | Def::Integer(_) | Def::String(_) | Def::Unknown(_) | Def::Array(_)
        ),
        Place::ParamItem => matches!(
            def,
            Def::Boolean(_) | Def::Integer(_) | Def::String(_) | Def::Unknown(_)
        ),
        Place::Body => matches!(def, Def::Object(_) | Def::Ref(_) | Def::Union(_)),
        Place::Message => matches!(def, Def::Union(_)),
    }
}

fn place_name(place: Place) -> &'static str {
    match place {
        Place::TopLevel => "a named definition",
        Place::Field => "a field",
        Place::Param => "a params property",
        Place::ParamItem => "a params array item",
        Place::Body => "a body schema (object, ref or union only)",
        Place::Message => "a subscription message schema (union only)",
    }
}

fn check_def(def: &Def, path: &str, place: Place) -> Result<(), SchemaError> {
    if !allowed(def, place) {
        return Err(invalid(
            path,
            format!(
                "type {} is not allowed as {}",
                def.type_name(),
                place_name(place)
            ),
        ));
    }
    match def {
        Def::Null(_) | Def::CidLink(_) | Def::Token(_) | Def::Unknown(_) => Ok(()),
        Def::Boolean(b) => {
            if b.default.is_some() && b.const_value.is_some() {
                return Err(invalid(path, "default and const are mutually exclusive"));
            }
            Ok(())
        }
        Def::Integer(i) => check_integer(i, path),
        Def::String(s) => check_string(s, path),
        Def::Bytes(b) => min_max(b.min_length, b.max_length, path, "length"),
        Def::Blob(b) => check_blob(b, path),
        Def::Array(a) => check_array(a, path, place),
        Def::Object(o) => check_object(o, path),
        Def::Params(p) => check_params(p, path),
        Def::Ref(r) => {
            check_reference(&r.reference).map_err(|e| invalid(&format!("{path}/ref"), e))
        }
        Def::Union(u) => {
            if u.closed && u.refs.is_empty() {
                return Err(invalid(path, "a closed union must list at least one ref"));
            }
            for (i, r) in u.refs.iter().enumerate() {
                check_reference(r).map_err(|e| invalid(&format!("{path}/refs/{i}"), e))?;
            }
            Ok(())
        }
        Def::Record(r) => check_object(&r.record, &format!("{path}/record")),
        Def::Query(q) => {
            check_opt_params(q.parameters.as_ref(), path)?;
            check_body(q.output.as_ref(), &format!("{path}/output"))?;
            check_errors(&q.errors, path)
        }
        Def::Procedure(p) => {
            check_opt_params(p.parameters.as_ref(), path)?;
            check_body(p.input.as_ref(), &format!("{path}/input"))?;
            check_body(p.output.as_ref(), &format!("{path}/output"))?;
            check_errors(&p.errors, path)
        }
        Def::Subscription(s) => {
            check_opt_params(s.parameters.as_ref(), path)?;
            if let Some(m) = &s.message {
                check_def(&m.schema, &format!("{path}/message/schema"), Place::Message)?;
            }
            check_errors(&s.errors, path)
        }
        Def::PermissionSet(p) => check_permission_set(p, path),
        Def::Permission(p) => check_permission(p, path),
    }
}

fn min_max(min: Option<u64>, max: Option<u64>, path: &str, what: &str) -> Result<(), SchemaError> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => Err(invalid(
            path,
            format!("minimum {what} {min} is greater than maximum {what} {max}"),
        )),
        _ => Ok(()),
    }
}

fn check_integer(i: &IntegerDef, path: &str) -> Result<(), SchemaError> {
    if i.default.is_some() && i.const_value.is_some() {
        return Err(invalid(path, "default and const are mutually exclusive"));
    }
    if let (Some(min), Some(max)) = (i.minimum, i.maximum) {
        if min > max {
            return Err(invalid(
                path,
                format!("minimum {min} is greater than maximum {max}"),
            ));
        }
    }
    for (what, v) in [("default", i.default), ("const", i.const_value)] {
        let Some(v) = v else { continue };
        if i.minimum.is_some_and(|min| v < min) || i.maximum.is_some_and(|max| v > max) {
            return Err(invalid(
                path,
                format!("{what} {v} is outside minimum/maximum"),
            ));
        }
        if i.enum_values.as_ref().is_some_and(|e| !e.contains(&v)) {
            return Err(invalid(path, format!("{what} {v} is not in enum")));
        }
    }
    Ok(())
}

fn check_string(s: &StringDef, path: &str) -> Result<(), SchemaError> {
    if s.default.is_some() && s.const_value.is_some() {
        return Err(invalid(path, "default and const are mutually exclusive"));
    }
    min_max(s.min_length, s.max_length, path, "length")?;
    min_max(s.min_graphemes, s.max_graphemes, path, "graphemes")?;
    for (what, v) in [("default", &s.default), ("const", &s.const_value)] {
        let Some(v) = v else { continue };
        if s.enum_values.as_ref().is_some_and(|e| !e.contains(v)) {
            return Err(invalid(path, format!("{what} {v:?} is not in enum")));
        }
    }
    Ok(())
}

fn check_blob(b: &BlobDef, path: &str) -> Result<(), SchemaError> {
    for (i, pattern) in b.accept.iter().flatten().enumerate() {
        if !crate::mime::is_valid_pattern(pattern) {
            return Err(invalid(
                &format!("{path}/accept/{i}"),
                format!("invalid MIME type pattern {pattern:?}"),
            ));
        }
    }
    Ok(())
}

fn check_array(a: &ArrayDef, path: &str, place: Place) -> Result<(), SchemaError> {
    min_max(a.min_length, a.max_length, path, "length")?;
    let items_place = if place == Place::Param {
        Place::ParamItem
    } else {
        Place::Field
    };
    check_def(&a.items, &format!("{path}/items"), items_place)
}

fn check_properties<'a>(
    properties: impl Iterator<Item = (&'a String, &'a Def)>,
    path: &str,
    place: Place,
) -> Result<(), SchemaError> {
    for (name, def) in properties {
        if name.is_empty() {
            return Err(invalid(path, "property names must not be empty"));
        }
        check_def(def, &format!("{path}/properties/{name}"), place)?;
    }
    Ok(())
}

fn check_listed(
    names: &[String],
    defined: impl Fn(&str) -> bool,
    path: &str,
    list: &str,
) -> Result<(), SchemaError> {
    match names.iter().find(|n| !defined(n)) {
        Some(n) => Err(invalid(
            &format!("{path}/{list}"),
            format!("{list} field {n:?} is not defined in properties"),
        )),
        None => Ok(()),
    }
}

fn check_object(o: &ObjectDef, path: &str) -> Result<(), SchemaError> {
    let defined = |n: &str| o.properties.contains_key(n);
    check_listed(&o.required, defined, path, "required")?;
    check_listed(&o.nullable, defined, path, "nullable")?;
    check_properties(o.properties.iter(), path, Place::Field)
}

fn check_params(p: &ParamsDef, path: &str) -> Result<(), SchemaError> {
    check_listed(
        &p.required,
        |n| p.properties.contains_key(n),
        path,
        "required",
    )?;
    check_properties(p.properties.iter(), path, Place::Param)
}

fn check_opt_params(p: Option<&ParamsDef>, path: &str) -> Result<(), SchemaError> {
    match p {
        Some(p) => check_params(p, &format!("{path}/parameters")),
        None => Ok(()),
    }
}

fn check_body(body: Option<&BodyDef>, path: &str) -> Result<(), SchemaError> {
    let Some(body) = body else { return Ok(()) };
    if body.encoding.trim().is_empty() {
        return Err(invalid(
            &format!("{path}/encoding"),
            "encoding must be a MIME type",
        ));
    }
    match &body.schema {
        Some(schema) => check_def(schema, &format!("{path}/schema"), Place::Body),
        None => Ok(()),
    }
}

fn check_errors(errors: &[ErrorDef], path: &str) -> Result<(), SchemaError> {
    for (i, e) in errors.iter().enumerate() {
        if e.name.is_empty() || e.name.chars().any(char::is_whitespace) {
            return Err(invalid(
                &format!("{path}/errors/{i}/name"),
                format!(
                    "error name {:?} must be non-empty without whitespace",
                    e.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_permission_set(p: &PermissionSetDef, path: &str) -> Result<(), SchemaError> {
    for (field, map) in [
        ("title:lang", &p.title_lang),
        ("detail:lang", &p.detail_lang),
    ] {
        for lang in map.iter().flat_map(|m| m.keys()) {
            if syntax::validate_language(lang).is_err() {
                return Err(invalid(
                    &format!("{path}/{field}"),
                    format!("{lang:?} is not a valid language tag"),
                ));
            }
        }
    }
    for (i, perm) in p.permissions.iter().enumerate() {
        check_permission(perm, &format!("{path}/permissions/{i}"))?;
    }
    Ok(())
}

/// A non-empty array of strings, or an error naming the field.
fn string_list<'a>(
    perm: &'a PermissionDef,
    field: &str,
    path: &str,
) -> Result<Vec<&'a str>, SchemaError> {
    match perm.strings(field) {
        Some(list) if !list.is_empty() => Ok(list),
        _ => Err(invalid(
            &format!("{path}/{field}"),
            format!("{field} must be a non-empty array of strings"),
        )),
    }
}

/// Permission rules of the Lexicon spec (`permission` type). Only `repo` and `rpc` are
/// defined for lexicons; other resources "should be ignored", so they pass unchecked.
fn check_permission(p: &PermissionDef, path: &str) -> Result<(), SchemaError> {
    match p.resource.as_str() {
        "" => Err(invalid(path, "resource must not be empty")),
        "repo" => {
            let collections = string_list(p, "collection", path)?;
            for (i, c) in collections.iter().enumerate() {
                if syntax::validate_nsid(c).is_err() {
                    return Err(invalid(
                        &format!("{path}/collection/{i}"),
                        format!("{c:?} is not an NSID (wildcards are not allowed here)"),
                    ));
                }
                if collections[..i].contains(c) {
                    return Err(invalid(path, format!("collection {c:?} is listed twice")));
                }
            }
            if p.fields.contains_key("action") {
                let actions = string_list(p, "action", path)?;
                for (i, a) in actions.iter().enumerate() {
                    if !matches!(*a, "create" | "update" | "delete") {
                        return Err(invalid(
                            &format!("{path}/action/{i}"),
                            format!("action {a:?} must be create, update or delete"),
                        ));
                    }
                    if actions[..i].contains(a) {
                        return Err(invalid(path, format!("action {a:?} is listed twice")));
                    }
                }
            }
            Ok(())
        }
        "rpc" => {
            let lxms = string_list(p, "lxm", path)?;
            for (i, l) in lxms.iter().enumerate() {
                if *l != "*" && syntax::validate_nsid(l).is_err() {
                    return Err(invalid(
                        &format!("{path}/lxm/{i}"),
                        format!("{l:?} is not an NSID"),
                    ));
                }
            }
            let inherit = match p.fields.get("inheritAud") {
                None => false,
                Some(serde_json::Value::Bool(b)) => *b,
                Some(_) => return Err(invalid(&format!("{path}/inheritAud"), "must be a boolean")),
            };
            match p.fields.get("aud") {
                None if inherit => Ok(()),
                None => Err(invalid(path, "aud is required unless inheritAud is true")),
                Some(serde_json::Value::String(aud)) if aud == "*" => {
                    if lxms.contains(&"*") {
                        Err(invalid(path, "aud and lxm can not both be wildcards"))
                    } else {
                        Ok(())
                    }
                }
                // "In the context of permission sets, can not have fixed DID service references."
                Some(_) => Err(invalid(
                    &format!("{path}/aud"),
                    "aud must be the wildcard \"*\" in a permission set",
                )),
            }
        }
        _ => Ok(()),
    }
}

/// Checks a `ref`/`union` target: `#name`, `nsid`, or `nsid#name`, optionally `lex:`-prefixed.
pub(crate) fn check_reference(reference: &str) -> Result<(), String> {
    let bare = reference.strip_prefix("lex:").unwrap_or(reference);
    let (nsid, name) = match bare.split_once('#') {
        Some((nsid, name)) => (nsid, Some(name)),
        None => (bare, None),
    };
    if let Some(name) = name {
        if !is_def_name(name) {
            return Err(format!(
                "invalid reference {reference:?}: bad definition name"
            ));
        }
    }
    if nsid.is_empty() {
        return match name {
            Some(_) if !reference.starts_with("lex:") => Ok(()),
            _ => Err(format!("invalid reference {reference:?}")),
        };
    }
    if syntax::validate_nsid(nsid).is_err() {
        return Err(format!(
            "invalid reference {reference:?}: {nsid:?} is not an NSID"
        ));
    }
    Ok(())
}
