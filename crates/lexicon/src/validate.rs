//! Validation of atproto data against Lexicon schemas, following the reference implementation
//! (`@atproto/lexicon`): the same checks in the same order, and the same error wording.
//!
//! Errors carry a path from a root name (`Record`, `Input`, `Output`, `Message`, or a
//! parameter name) through property names and array indices: `Record/embed/images/0/alt`.

use std::fmt;

use data::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::catalog::Catalog;
use crate::error::ValidationError;
use crate::mime;
use crate::schema::{
    ArrayDef, BlobDef, BooleanDef, BytesDef, Def, IntegerDef, ObjectDef, StringDef, StringFormat,
    UnionDef,
};

/// Deeper data is refused rather than risk the stack (the data model caps nesting lower).
const MAX_DEPTH: usize = 256;

/// Where a value sits, rendered only when an error needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => write!(f, "{parent}/{key}"),
            Path::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

fn invalid(path: &Path<'_>, reason: impl Into<String>) -> ValidationError {
    ValidationError::Invalid {
        path: path.to_string(),
        reason: reason.into(),
    }
}

type Result<T = ()> = std::result::Result<T, ValidationError>;

/// Validates a record against the record schema of collection `nsid`.
///
/// The value must be an object whose `$type` is `nsid`; then its fields are checked against
/// the schema. Fields the schema does not mention are allowed (atproto.com/specs/lexicon,
/// "Authority and Control").
///
/// ```
/// # let catalog = lexicon::Catalog::from_json_values([&serde_json::json!({
/// #     "lexicon": 1, "id": "com.example.note",
/// #     "defs": {"main": {"type": "record", "key": "tid", "record": {
/// #         "type": "object", "required": ["text"],
/// #         "properties": {"text": {"type": "string", "maxLength": 10}}}}}
/// # })]).unwrap();
/// use data::Value;
/// let note = Value::Map([
///     ("$type".to_owned(), Value::from("com.example.note")),
///     ("text".to_owned(), Value::Int(7)),
/// ].into());
/// let err = lexicon::validate_record(&catalog, "com.example.note", &note).unwrap_err();
/// assert_eq!(err.to_string(), "Record/text must be a string");
/// ```
pub fn validate_record(catalog: &Catalog, nsid: &str, value: &Value) -> Result {
    let def = Validator { catalog }.resolve(nsid)?;
    let Def::Record(record) = def else {
        return Err(ValidationError::WrongDefType {
            reference: nsid.to_owned(),
            expected: "record",
        });
    };
    let root = Path::Root("Record");
    let Value::Map(map) = value else {
        return Err(invalid(&root, "must be an object"));
    };
    let Some(Value::String(found)) = map.get("$type") else {
        return Err(invalid(&Path::Key(&root, "$type"), "must be a string"));
    };
    if found.strip_prefix("lex:").unwrap_or(found) != nsid {
        return Err(ValidationError::TypeMismatch {
            expected: nsid.to_owned(),
            found: found.clone(),
        });
    }
    Validator { catalog }.object(&record.record, map, &root, 0)
}

/// Validates XRPC query parameters of a query, procedure or subscription.
///
/// `params` holds values already decoded from the query string into their schema types
/// (integers as [`Value::Int`], booleans as [`Value::Bool`], repeated parameters as
/// [`Value::Array`]). Errors are reported under the parameter's own name (`limit must be an
/// integer`) and missing required ones as `Params must have the property "actor"`.
pub fn validate_params(catalog: &Catalog, nsid: &str, params: &Map) -> Result {
    let v = Validator { catalog };
    let parameters = match v.resolve(nsid)? {
        Def::Query(q) => &q.parameters,
        Def::Procedure(p) => &p.parameters,
        Def::Subscription(s) => &s.parameters,
        _ => {
            return Err(ValidationError::WrongDefType {
                reference: nsid.to_owned(),
                expected: "query or procedure or subscription",
            })
        }
    };
    let Some(parameters) = parameters else {
        return Ok(());
    };
    for (key, def) in parameters.properties.iter() {
        match params.get(key) {
            Some(value) => v.validate(def, value, &Path::Root(key), 0)?,
            None if parameters.required.contains(key) && !v.has_default(def)? => {
                return Err(invalid(
                    &Path::Root("Params"),
                    format!("must have the property \"{key}\""),
                ))
            }
            None => {}
        }
    }
    Ok(())
}

/// Validates the JSON input body of procedure `nsid` (errors under `Input`). A procedure
/// without an input schema accepts any body.
pub fn validate_input(catalog: &Catalog, nsid: &str, value: &Value) -> Result {
    let v = Validator { catalog };
    match v.resolve(nsid)? {
        Def::Procedure(p) => v.body(
            p.input.as_ref().and_then(|b| b.schema.as_deref()),
            value,
            "Input",
        ),
        _ => Err(ValidationError::WrongDefType {
            reference: nsid.to_owned(),
            expected: "procedure",
        }),
    }
}

/// Validates the JSON output body of query or procedure `nsid` (errors under `Output`).
pub fn validate_output(catalog: &Catalog, nsid: &str, value: &Value) -> Result {
    let v = Validator { catalog };
    let body = match v.resolve(nsid)? {
        Def::Query(q) => q.output.as_ref(),
        Def::Procedure(p) => p.output.as_ref(),
        _ => {
            return Err(ValidationError::WrongDefType {
                reference: nsid.to_owned(),
                expected: "query or procedure",
            })
        }
    };
    v.body(body.and_then(|b| b.schema.as_deref()), value, "Output")
}

/// Validates one message of subscription `nsid` (errors under `Message`). The message must
/// carry its `$type` (e.g. `com.atproto.sync.subscribeRepos#commit`), as the frame header
/// names it.
pub fn validate_message(catalog: &Catalog, nsid: &str, value: &Value) -> Result {
    let v = Validator { catalog };
    match v.resolve(nsid)? {
        Def::Subscription(s) => v.body(s.message.as_ref().map(|m| &*m.schema), value, "Message"),
        _ => Err(ValidationError::WrongDefType {
            reference: nsid.to_owned(),
            expected: "subscription",
        }),
    }
}

/// Validates `value` against any definition the catalog holds (`nsid` or `nsid#name`),
/// with errors under `root`. For an object definition this is the reference's
/// `Lexicons.validate`.
pub fn validate_def(catalog: &Catalog, reference: &str, value: &Value, root: &str) -> Result {
    let v = Validator { catalog };
    let def = v.resolve(reference)?;
    v.validate(def, value, &Path::Root(root), 0)
}

struct Validator<'c> {
    catalog: &'c Catalog,
}

impl<'c> Validator<'c> {
    fn resolve(&self, reference: &str) -> Result<&'c Def> {
        self.catalog.def(reference).ok_or_else(|| {
            ValidationError::LexiconNotFound(
                reference
                    .strip_prefix("lex:")
                    .unwrap_or(reference)
                    .to_owned(),
            )
        })
    }

    fn validate(&self, def: &Def, value: &Value, path: &Path<'_>, depth: usize) -> Result {
        if depth > MAX_DEPTH {
            return Err(invalid(path, "is nested too deeply"));
        }
        match def {
            Def::Null(_) => match value {
                Value::Null => Ok(()),
                _ => Err(invalid(path, "must be null")),
            },
            Def::Boolean(b) => boolean(b, value, path),
            Def::Integer(i) => integer(i, value, path),
            Def::String(s) => string(s, value, path),
            Def::Bytes(b) => bytes(b, value, path),
            Def::CidLink(_) => match value {
                Value::Link(_) => Ok(()),
                _ => Err(invalid(path, "must be a CID")),
            },
            Def::Blob(b) => blob(b, value, path),
            Def::Unknown(_) => unknown(value, path),
            Def::Array(a) => self.array(a, value, path, depth),
            Def::Object(o) => match value {
                Value::Map(map) => self.object(o, map, path, depth),
                _ => Err(invalid(path, "must be an object")),
            },
            Def::Ref(r) => {
                let target = self.resolve(&r.reference)?;
                self.validate(target, value, path, depth + 1)
            }
            Def::Union(u) => self.union(u, value, path, depth),
            // A ref or union variant naming a record type: the data is that record's object.
            Def::Record(r) => match value {
                Value::Map(map) => self.object(&r.record, map, path, depth),
                _ => Err(invalid(path, "must be an object")),
            },
            other => Err(ValidationError::UnexpectedDefType(other.type_name())),
        }
    }

    /// Whether a missing value would be filled by a default (the reference then treats a
    /// required property as present).
    fn has_default(&self, def: &Def) -> Result<bool> {
        Ok(match def {
            Def::Boolean(b) => b.default.is_some(),
            Def::Integer(i) => i.default.is_some(),
            Def::String(s) => s.default.is_some(),
            Def::Ref(r) => self.has_default(self.resolve(&r.reference)?)?,
            _ => false,
        })
    }

    fn object(&self, def: &ObjectDef, map: &Map, path: &Path<'_>, depth: usize) -> Result {
        for (key, prop) in def.properties.iter() {
            match map.get(key) {
                Some(Value::Null) if def.nullable.contains(key) => {}
                Some(value) => self.validate(prop, value, &Path::Key(path, key), depth + 1)?,
                None if def.required.contains(key) && !self.has_default(prop)? => {
                    return Err(invalid(path, format!("must have the property \"{key}\"")))
                }
                None => {}
            }
        }
        Ok(())
    }

    fn array(&self, def: &ArrayDef, value: &Value, path: &Path<'_>, depth: usize) -> Result {
        let Value::Array(items) = value else {
            return Err(invalid(path, "must be an array"));
        };
        let len = items.len() as u64;
        if let Some(max) = def.max_length.filter(|max| len > *max) {
            return Err(invalid(
                path,
                format!("must not have more than {max} elements"),
            ));
        }
        if let Some(min) = def.min_length.filter(|min| len < *min) {
            return Err(invalid(
                path,
                format!("must not have fewer than {min} elements"),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            self.validate(&def.items, item, &Path::Index(path, i), depth + 1)?;
        }
        Ok(())
    }

    fn union(&self, def: &UnionDef, value: &Value, path: &Path<'_>, depth: usize) -> Result {
        let Some(Value::String(found)) = value.as_map().and_then(|m| m.get("$type")) else {
            return Err(invalid(
                path,
                "must be an object which includes the \"$type\" property",
            ));
        };
        let found = found.strip_prefix("lex:").unwrap_or(found);
        if found.starts_with('#') || found.matches('#').count() > 1 {
            return Err(invalid(
                path,
                format!("$type {found:?} is not a valid type reference"),
            ));
        }
        // `$type` names a main definition by bare NSID, but refs may spell it either way.
        let listed = def.refs.iter().any(|r| {
            r == found
                || r.strip_suffix("#main") == Some(found)
                || found.strip_suffix("#main") == Some(r.as_str())
        });
        if !listed {
            if def.closed {
                let refs: Vec<String> = def.refs.iter().map(|r| format!("lex:{r}")).collect();
                return Err(invalid(
                    path,
                    format!("$type must be one of {}", refs.join(", ")),
                ));
            }
            // Open unions take variants this catalog does not list (spec: "permissive").
            return Ok(());
        }
        let map = value.as_map().expect("checked above");
        match self.resolve(found)? {
            Def::Object(o) => self.object(o, map, path, depth),
            Def::Record(r) => self.object(&r.record, map, path, depth),
            other => Err(ValidationError::UnexpectedDefType(other.type_name())),
        }
    }

    /// An XRPC body: the schema must describe an object (`mustBeObj` in the reference).
    fn body(&self, schema: Option<&Def>, value: &Value, root: &str) -> Result {
        let Some(schema) = schema else {
            return Ok(());
        };
        let path = Path::Root(root);
        let concrete = match schema {
            Def::Ref(r) => self.resolve(&r.reference)?,
            other => other,
        };
        match (concrete, value) {
            (Def::Union(u), _) => self.union(u, value, &path, 0),
            (Def::Object(o), Value::Map(map)) => self.object(o, map, &path, 0),
            (Def::Record(r), Value::Map(map)) => self.object(&r.record, map, &path, 0),
            (_, Value::Map(_)) => Ok(()),
            _ => Err(invalid(&path, "must be an object")),
        }
    }
}

fn boolean(def: &BooleanDef, value: &Value, path: &Path<'_>) -> Result {
    let Value::Bool(b) = value else {
        return Err(invalid(path, "must be a boolean"));
    };
    match def.const_value {
        Some(c) if c != *b => Err(invalid(path, format!("must be {c}"))),
        _ => Ok(()),
    }
}

fn integer(def: &IntegerDef, value: &Value, path: &Path<'_>) -> Result {
    let Value::Int(i) = value else {
        return Err(invalid(path, "must be an integer"));
    };
    let i = *i;
    if let Some(c) = def.const_value.filter(|c| *c != i) {
        return Err(invalid(path, format!("must be {c}")));
    }
    if let Some(values) = def.enum_values.as_ref().filter(|e| !e.contains(&i)) {
        let list: Vec<String> = values.iter().map(i64::to_string).collect();
        return Err(invalid(
            path,
            format!("must be one of ({})", list.join("|")),
        ));
    }
    if let Some(max) = def.maximum.filter(|max| i > *max) {
        return Err(invalid(path, format!("can not be greater than {max}")));
    }
    if let Some(min) = def.minimum.filter(|min| i < *min) {
        return Err(invalid(path, format!("can not be less than {min}")));
    }
    Ok(())
}

fn string(def: &StringDef, value: &Value, path: &Path<'_>) -> Result {
    let Value::String(s) = value else {
        return Err(invalid(path, "must be a string"));
    };
    if let Some(c) = def.const_value.as_ref().filter(|c| *c != s) {
        return Err(invalid(path, format!("must be {c}")));
    }
    if let Some(values) = def.enum_values.as_ref().filter(|e| !e.contains(s)) {
        return Err(invalid(
            path,
            format!("must be one of ({})", values.join("|")),
        ));
    }
    // Lengths are UTF-8 bytes (spec: "counted as UTF-8 bytes").
    let bytes = s.len() as u64;
    if let Some(max) = def.max_length.filter(|max| bytes > *max) {
        return Err(invalid(
            path,
            format!("must not be longer than {max} characters"),
        ));
    }
    if let Some(min) = def.min_length.filter(|min| bytes < *min) {
        return Err(invalid(
            path,
            format!("must not be shorter than {min} characters"),
        ));
    }
    // A grapheme is at least one byte, so the byte length bounds the count: count only when
    // that bound does not settle the question.
    if def.max_graphemes.is_some() || def.min_graphemes.is_some() {
        let mut count = None;
        let mut graphemes = || *count.get_or_insert_with(|| s.graphemes(true).count() as u64);
        if let Some(max) = def
            .max_graphemes
            .filter(|max| bytes > *max && graphemes() > *max)
        {
            return Err(invalid(
                path,
                format!("must not be longer than {max} graphemes"),
            ));
        }
        if let Some(min) = def
            .min_graphemes
            .filter(|min| bytes < *min || graphemes() < *min)
        {
            return Err(invalid(
                path,
                format!("must not be shorter than {min} graphemes"),
            ));
        }
    }
    match def.format {
        Some(format) => check_format(format, s, path),
        None => Ok(()),
    }
}

/// Checks a string `format`, with the reference's message for each.
fn check_format(format: StringFormat, s: &str, path: &Path<'_>) -> Result {
    let (ok, reason) = match format {
        StringFormat::Datetime => (
            syntax::validate_datetime(s).is_ok(),
            "must be an valid atproto datetime (both RFC-3339 and ISO-8601)",
        ),
        StringFormat::Uri => (syntax::validate_uri(s).is_ok(), "must be a uri"),
        StringFormat::AtUri => (syntax::validate_at_uri(s).is_ok(), "must be a valid at-uri"),
        StringFormat::Did => (syntax::validate_did(s).is_ok(), "must be a valid did"),
        StringFormat::Handle => (syntax::validate_handle(s).is_ok(), "must be a valid handle"),
        StringFormat::AtIdentifier => (
            syntax::validate_at_identifier(s).is_ok(),
            "must be a valid did or a handle",
        ),
        StringFormat::Nsid => (syntax::validate_nsid(s).is_ok(), "must be a valid nsid"),
        StringFormat::Cid => (
            syntax::validate_cid_string(s).is_ok(),
            "must be a cid string",
        ),
        StringFormat::Language => (
            syntax::validate_language(s).is_ok(),
            "must be a well-formed BCP 47 language tag",
        ),
        StringFormat::Tid => (
            syntax::validate_tid(s).is_ok(),
            "must be a valid TID (timestamp identifier)",
        ),
        StringFormat::RecordKey => (
            syntax::validate_record_key(s).is_ok(),
            "must be a valid Record Key",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(path, reason))
    }
}

fn bytes(def: &BytesDef, value: &Value, path: &Path<'_>) -> Result {
    let Value::Bytes(b) = value else {
        return Err(invalid(path, "must be a byte array"));
    };
    let len = b.len() as u64;
    if let Some(max) = def.max_length.filter(|max| len > *max) {
        return Err(invalid(
            path,
            format!("must not be larger than {max} bytes"),
        ));
    }
    if let Some(min) = def.min_length.filter(|min| len < *min) {
        return Err(invalid(
            path,
            format!("must not be smaller than {min} bytes"),
        ));
    }
    Ok(())
}

/// A blob ref: `{$type: "blob", ref: <cid-link>, mimeType, size}`. The legacy `{cid,
/// mimeType}` form is refused: the reference PDS refuses it on every write. Codec rules on
/// `ref` belong to the data model (`data::model::validate`), not to Lexicon.
fn blob(def: &BlobDef, value: &Value, path: &Path<'_>) -> Result {
    let blob = value.as_map().and_then(|m| {
        match (
            m.get("$type")?,
            m.get("ref")?,
            m.get("mimeType")?,
            m.get("size")?,
        ) {
            (Value::String(t), Value::Link(_), Value::String(mime), Value::Int(size))
                if t == "blob" && *size >= 0 =>
            {
                Some((mime.as_str(), *size as u64))
            }
            _ => None,
        }
    });
    let Some((mime_type, size)) = blob else {
        return Err(invalid(path, "should be a blob ref"));
    };
    if let Some(accept) = def
        .accept
        .as_ref()
        .filter(|a| !mime::accepted(a, mime_type))
    {
        return Err(invalid(
            path,
            format!(
                "has mimeType {mime_type} but must match {}",
                accept.join(", ")
            ),
        ));
    }
    if let Some(max) = def.max_size.filter(|max| size > *max) {
        return Err(invalid(
            path,
            format!("is {size} bytes but must not be larger than {max} bytes"),
        ));
    }
    Ok(())
}

/// `unknown`: any object, but not a blob (spec: "must not have the structure of a compound
/// data type"); bytes and links are not objects in the data model.
fn unknown(value: &Value, path: &Path<'_>) -> Result {
    match value {
        Value::Map(m) if !matches!(m.get("$type"), Some(Value::String(t)) if t == "blob") => Ok(()),
        _ => Err(invalid(path, "must be an object")),
    }
}
