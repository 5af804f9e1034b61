//! Reading lexicon documents and turning XRPC method definitions into the
//! small model the emitter works from.
//!
//! Parsing is strict on purpose: a parameter constraint this generator does
//! not know (say `maxGraphemes` on a query parameter) is an error, so a new
//! upstream lexicon cannot silently lose validation.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

/// An error with the lexicon (and where in it) that caused it.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// Every lexicon document under a folder, by NSID.
pub struct Lexicons {
    docs: BTreeMap<String, Value>,
}

impl Lexicons {
    /// Loads every `*.json` under `dir` (recursively). Each document's `id`
    /// must match its path, as in the upstream layout.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let mut docs = BTreeMap::new();
        load_dir(dir, dir, &mut docs)?;
        if docs.is_empty() {
            return err(format!("no lexicons found under {}", dir.display()));
        }
        Ok(Self { docs })
    }

    /// The document with this NSID.
    pub fn doc(&self, nsid: &str) -> Option<&Value> {
        self.docs.get(nsid)
    }

    /// All NSIDs, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    /// Resolves a ref (`lex:nsid#def`, `nsid#def`, `nsid`, or `#def` relative
    /// to `base`) to its definition.
    pub fn resolve(&self, base: &str, reference: &str) -> Result<&Value, Error> {
        let reference = reference.strip_prefix("lex:").unwrap_or(reference);
        let (nsid, def) = match reference.split_once('#') {
            Some(("", def)) => (base, def),
            Some((nsid, def)) => (nsid, def),
            None => (reference, "main"),
        };
        self.docs
            .get(nsid)
            .and_then(|d| d.get("defs"))
            .and_then(|defs| defs.get(def))
            .ok_or_else(|| Error(format!("{base}: unresolved ref {reference}")))
    }
}

fn load_dir(root: &Path, dir: &Path, docs: &mut BTreeMap<String, Value>) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|e| Error(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            load_dir(root, &path, docs)?;
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        // lexicons.lock.json sits at the top level and is not a lexicon.
        if rel.components().count() == 1 {
            continue;
        }
        let text =
            fs::read_to_string(&path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| Error(format!("{}: {e}", path.display())))?;
        let Some(id) = doc.get("id").and_then(Value::as_str) else {
            return err(format!("{}: no id", path.display()));
        };
        let expected: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if id != expected.join(".") {
            return err(format!("{}: id {id} does not match path", path.display()));
        }
        docs.insert(id.to_owned(), doc);
    }
    Ok(())
}

/// Query, procedure or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Query,
    Procedure,
    Subscription,
}

impl Kind {
    pub fn variant(self) -> &'static str {
        match self {
            Kind::Query => "Query",
            Kind::Procedure => "Procedure",
            Kind::Subscription => "Subscription",
        }
    }

    pub fn lexicon_name(self) -> &'static str {
        match self {
            Kind::Query => "query",
            Kind::Procedure => "procedure",
            Kind::Subscription => "subscription",
        }
    }
}

/// What the description says about auth (see `xrpc::AuthHint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHint {
    Unmentioned,
    Required,
    RequiredRefresh,
    NotRequired,
    Mentioned,
}

impl AuthHint {
    /// Reads the hint from a method description.
    pub fn from_description(description: &str) -> Self {
        let lower = description.to_lowercase();
        if lower.contains("does not require auth") {
            AuthHint::NotRequired
        } else if lower.contains("requires auth using the 'refreshjwt'") {
            AuthHint::RequiredRefresh
        } else if lower.contains("requires auth") {
            AuthHint::Required
        } else if lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| matches!(w, "auth" | "authentication" | "authenticated"))
        {
            AuthHint::Mentioned
        } else {
            AuthHint::Unmentioned
        }
    }

    pub fn variant(self) -> &'static str {
        match self {
            AuthHint::Unmentioned => "Unmentioned",
            AuthHint::Required => "Required",
            AuthHint::RequiredRefresh => "RequiredRefresh",
            AuthHint::NotRequired => "NotRequired",
            AuthHint::Mentioned => "Mentioned",
        }
    }
}

/// A request or response body declaration.
#[derive(Debug, Clone)]
pub struct Body {
    pub encoding: String,
    /// The schema, if declared (`object` or `ref`).
    pub schema: Option<Value>,
}

impl Body {
    /// JSON bodies with a schema get typed Rust values; everything else is
    /// raw bytes.
    pub fn is_typed_json(&self) -> bool {
        self.encoding == "application/json" && self.schema.is_some()
    }
}

/// A string format the `syntax` crate checks.
pub const FORMATS: &[(&str, &str)] = &[
    ("at-identifier", "AtIdentifier"),
    ("at-uri", "AtUri"),
    ("cid", "Cid"),
    ("datetime", "Datetime"),
    ("did", "Did"),
    ("handle", "Handle"),
    ("language", "Language"),
    ("nsid", "Nsid"),
    ("record-key", "RecordKey"),
    ("tid", "Tid"),
    ("uri", "Uri"),
];

/// A scalar parameter type with its constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    String {
        /// Variant name of `xrpc::params::Format`.
        format: Option<&'static str>,
        min_length: Option<u64>,
        max_length: Option<u64>,
        allowed: Option<Vec<String>>,
        default: Option<String>,
    },
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
        allowed: Option<Vec<i64>>,
        default: Option<i64>,
    },
    Boolean {
        default: Option<bool>,
    },
}

/// A parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    Scalar(Scalar),
    Array {
        item: Scalar,
        min_length: Option<u64>,
        max_length: Option<u64>,
    },
}

/// One query parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    pub ty: ParamType,
}

/// A declared error.
#[derive(Debug, Clone)]
pub struct DeclaredError {
    pub name: String,
    pub description: Option<String>,
}

/// An XRPC method, as far as routing, params and bodies go.
#[derive(Debug, Clone)]
pub struct Method {
    pub nsid: String,
    /// The NSID without its last segment, e.g. `com.atproto.repo`.
    pub namespace: String,
    /// The last NSID segment, e.g. `createRecord`.
    pub name: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub auth: AuthHint,
    pub params: Vec<Param>,
    pub input: Option<Body>,
    pub output: Option<Body>,
    pub errors: Vec<DeclaredError>,
}

/// Reads the `main` def of `doc` as an XRPC method, or `None` if it is not one.
pub fn method(doc: &Value) -> Result<Option<Method>, Error> {
    let nsid = str_field(doc, "id")?;
    let Some(main) = doc.get("defs").and_then(|d| d.get("main")) else {
        return Ok(None);
    };
    let kind = match main.get("type").and_then(Value::as_str) {
        Some("query") => Kind::Query,
        Some("procedure") => Kind::Procedure,
        Some("subscription") => Kind::Subscription,
        _ => return Ok(None),
    };
    let (namespace, name) = nsid
        .rsplit_once('.')
        .ok_or_else(|| Error(format!("{nsid}: not an NSID")))?;
    let description = main
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let auth = AuthHint::from_description(description.as_deref().unwrap_or(""));
    let params = match main.get("parameters") {
        Some(p) => params(nsid, p)?,
        None => Vec::new(),
    };
    let input = main.get("input").map(|b| body(nsid, b)).transpose()?;
    // A subscription's `message` is a union of event types: not an HTTP body.
    let output = match kind {
        Kind::Subscription => None,
        _ => main.get("output").map(|b| body(nsid, b)).transpose()?,
    };
    let mut errors = Vec::new();
    for e in main
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_field(e, "name")?;
        if !is_type_ident(name) {
            return err(format!(
                "{nsid}: error name {name:?} is not a Rust type name"
            ));
        }
        errors.push(DeclaredError {
            name: name.to_owned(),
            description: e
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    Ok(Some(Method {
        nsid: nsid.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        kind,
        description,
        auth,
        params,
        input,
        output,
        errors,
    }))
}

fn is_type_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, Error> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error(format!("missing string field {key:?}")))
}

fn body(nsid: &str, v: &Value) -> Result<Body, Error> {
    let encoding = v
        .get("encoding")
        .and_then(Value::as_str)
        .ok_or_else(|| Error(format!("{nsid}: body without encoding")))?;
    Ok(Body {
        encoding: encoding.to_owned(),
        schema: v.get("schema").cloned(),
    })
}

fn params(nsid: &str, v: &Value) -> Result<Vec<Param>, Error> {
    if v.get("type").and_then(Value::as_str) != Some("params") {
        return err(format!("{nsid}: parameters must have type params"));
    }
    check_keys(
        nsid,
        "parameters",
        obj(nsid, v)?,
        &["type", "description", "required", "properties"],
    )?;
    let required: Vec<&str> = v
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let properties = v
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| Error(format!("{nsid}: parameters without properties")))?;
    for name in &required {
        if !properties.contains_key(*name) {
            return err(format!("{nsid}: required param {name} is not declared"));
        }
    }
    let mut out = Vec::new();
    // serde_json's map is sorted by key, so params come out in name order.
    for (name, prop) in properties {
        let at = format!("{nsid} param {name}");
        let ty = match prop.get("type").and_then(Value::as_str) {
            Some("array") => {
                check_keys(
                    &at,
                    "array",
                    obj(&at, prop)?,
                    &["type", "description", "items", "minLength", "maxLength"],
                )?;
                let items = prop
                    .get("items")
                    .ok_or_else(|| Error(format!("{at}: array without items")))?;
                ParamType::Array {
                    item: scalar(&at, items, false)?,
                    min_length: uint(&at, prop, "minLength")?,
                    max_length: uint(&at, prop, "maxLength")?,
                }
            }
            _ => ParamType::Scalar(scalar(&at, prop, true)?),
        };
        out.push(Param {
            name: name.clone(),
            description: prop
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            required: required.contains(&name.as_str()),
            ty,
        });
    }
    Ok(out)
}

fn scalar(at: &str, v: &Value, top_level: bool) -> Result<Scalar, Error> {
    let o = obj(at, v)?;
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
    // `description` and `default` only make sense on the parameter itself.
    let extra: &[&str] = if top_level {
        &["type", "description", "default"]
    } else {
        &["type", "description"]
    };
    match ty {
        "string" => {
            let allowed_keys = [
                extra,
                &["format", "minLength", "maxLength", "enum", "knownValues"],
            ]
            .concat();
            check_keys(at, ty, o, &allowed_keys)?;
            let format = match o.get("format").and_then(Value::as_str) {
                None => None,
                Some(f) => Some(
                    FORMATS
                        .iter()
                        .find(|(name, _)| *name == f)
                        .map(|(_, variant)| *variant)
                        .ok_or_else(|| Error(format!("{at}: unsupported string format {f}")))?,
                ),
            };
            let allowed = match o.get("enum") {
                None => None,
                Some(e) => Some(
                    e.as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| x.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| Error(format!("{at}: enum must be strings")))?,
                ),
            };
            let default = match o.get("default") {
                None => None,
                Some(d) => Some(
                    d.as_str()
                        .ok_or_else(|| Error(format!("{at}: default must be a string")))?
                        .to_owned(),
                ),
            };
            Ok(Scalar::String {
                format,
                min_length: uint(at, v, "minLength")?,
                max_length: uint(at, v, "maxLength")?,
                allowed,
                default,
            })
        }
        "integer" => {
            let allowed_keys = [extra, &["minimum", "maximum", "enum"]].concat();
            check_keys(at, ty, o, &allowed_keys)?;
            let allowed = match o.get("enum") {
                None => None,
                Some(e) => Some(
                    e.as_array()
                        .into_iter()
                        .flatten()
                        .map(Value::as_i64)
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| Error(format!("{at}: enum must be integers")))?,
                ),
            };
            Ok(Scalar::Integer {
                minimum: int(at, v, "minimum")?,
                maximum: int(at, v, "maximum")?,
                allowed,
                default: int(at, v, "default")?,
            })
        }
        "boolean" => {
            check_keys(at, ty, o, extra)?;
            let default = match o.get("default") {
                None => None,
                Some(d) => Some(
                    d.as_bool()
                        .ok_or_else(|| Error(format!("{at}: default must be a boolean")))?,
                ),
            };
            Ok(Scalar::Boolean { default })
        }
        other => err(format!("{at}: unsupported parameter type {other:?}")),
    }
}

fn obj<'a>(at: &str, v: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| Error(format!("{at}: expected an object")))
}

fn check_keys(at: &str, what: &str, o: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
    for key in o.keys() {
        if !allowed.contains(&key.as_str()) {
            return err(format!(
                "{at}: {what} constraint {key:?} is not supported by codegen"
            ));
        }
    }
    Ok(())
}

fn uint(at: &str, v: &Value, key: &str) -> Result<Option<u64>, Error> {
    match v.get(key) {
        None => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| Error(format!("{at}: {key} must be a non-negative integer"))),
    }
}

fn int(at: &str, v: &Value, key: &str) -> Result<Option<i64>, Error> {
    match v.get(key) {
        None => Ok(None),
        Some(x) => x
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error(format!("{at}: {key} must be an integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_hint_reads_descriptions() {
        let cases = [
            (
                "Does not require auth; implemented by PDS.",
                AuthHint::NotRequired,
            ),
            (
                "Public and does not require auth; implemented by PDS.",
                AuthHint::NotRequired,
            ),
            ("Requires auth, implemented by PDS.", AuthHint::Required),
            ("Requires Auth.", AuthHint::Required),
            ("Implemented by PDS, and requires auth.", AuthHint::Required),
            (
                "Refresh. Requires auth using the 'refreshJwt' (not the 'accessJwt').",
                AuthHint::RequiredRefresh,
            ),
            ("Create an authentication session.", AuthHint::Mentioned),
            ("Finds the oauth permission scope", AuthHint::Unmentioned),
            ("Get details about an account.", AuthHint::Unmentioned),
        ];
        for (text, want) in cases {
            assert_eq!(AuthHint::from_description(text), want, "{text}");
        }
    }

    #[test]
    fn unknown_param_constraint_is_an_error() {
        let doc = json!({
            "lexicon": 1,
            "id": "com.example.q",
            "defs": {"main": {"type": "query", "parameters": {"type": "params", "properties": {
                "q": {"type": "string", "maxGraphemes": 10}
            }}}}
        });
        let e = method(&doc).unwrap_err();
        assert!(e.0.contains("maxGraphemes"), "{e}");
    }

    #[test]
    fn params_are_sorted_with_defaults_and_required() {
        let doc = json!({
            "lexicon": 1,
            "id": "com.example.list",
            "defs": {"main": {"type": "query", "description": "Does not require auth.",
                "parameters": {"type": "params", "required": ["did"], "properties": {
                    "did": {"type": "string", "format": "did"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    "cids": {"type": "array", "items": {"type": "string", "format": "cid"}, "maxLength": 3}
                }},
                "errors": [{"name": "RepoNotFound"}]
            }}
        });
        let m = method(&doc).unwrap().unwrap();
        assert_eq!(m.kind, Kind::Query);
        assert_eq!(m.auth, AuthHint::NotRequired);
        assert_eq!(m.namespace, "com.example");
        let names: Vec<_> = m.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["cids", "did", "limit"]);
        assert!(m.params[1].required);
        assert_eq!(
            m.params[2].ty,
            ParamType::Scalar(Scalar::Integer {
                minimum: Some(1),
                maximum: Some(100),
                allowed: None,
                default: Some(50)
            })
        );
        assert_eq!(m.errors[0].name, "RepoNotFound");
    }
}
