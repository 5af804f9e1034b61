//! The Lexicon document model: one Rust type per schema type of the Lexicon language
//! (atproto.com/specs/lexicon), read from JSON with serde.
//!
//! Parsing checks shapes and JSON types (an `integer`'s `minimum` must be an integer, a
//! record's `record` must be an `object` schema, and so on). The rules that span fields or
//! documents (`required` names a defined property, only `main` may be primary, ...) live in
//! [`crate::check`] and run in [`LexiconDoc::from_json`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::SchemaError;

/// One Lexicon file: an NSID and its named definitions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LexiconDoc {
    /// Lexicon language version; always 1.
    pub lexicon: u64,
    /// The NSID this document defines.
    pub id: String,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    /// Definitions by short name; `main` is the one the bare NSID refers to.
    pub defs: BTreeMap<String, Def>,
}

impl LexiconDoc {
    /// Parses and checks a Lexicon document (shape, then every schema rule in [`crate::check`]).
    /// `serde_json::Value` keeps object keys sorted, so properties come out in name order;
    /// parse the text (`str::parse`) to keep the document's own order.
    pub fn from_json(json: &serde_json::Value) -> Result<LexiconDoc, SchemaError> {
        let doc =
            LexiconDoc::deserialize(json).map_err(|e| SchemaError::Malformed(e.to_string()))?;
        doc.check()?;
        Ok(doc)
    }

    /// Runs the schema rules on an already-parsed document.
    pub fn check(&self) -> Result<(), SchemaError> {
        crate::check::check_doc(self)
    }

    /// The `main` definition, if the document has one.
    pub fn main(&self) -> Option<&Def> {
        self.defs.get("main")
    }
}

/// Parses and checks a Lexicon document from JSON text.
impl std::str::FromStr for LexiconDoc {
    type Err = SchemaError;

    fn from_str(text: &str) -> Result<LexiconDoc, SchemaError> {
        // Straight from text rather than through `serde_json::Value`, whose maps forget the
        // order properties are listed in.
        let doc: LexiconDoc =
            serde_json::from_str(text).map_err(|e| SchemaError::Malformed(e.to_string()))?;
        doc.check()?;
        Ok(doc)
    }
}

/// Any schema definition, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Def {
    Null(NullDef),
    Boolean(BooleanDef),
    Integer(IntegerDef),
    String(StringDef),
    Bytes(BytesDef),
    CidLink(CidLinkDef),
    Blob(BlobDef),
    Array(ArrayDef),
    Object(ObjectDef),
    Params(ParamsDef),
    Token(TokenDef),
    Ref(RefDef),
    Union(UnionDef),
    Unknown(UnknownDef),
    Record(RecordDef),
    Query(QueryDef),
    Procedure(ProcedureDef),
    Subscription(SubscriptionDef),
    PermissionSet(PermissionSetDef),
    Permission(PermissionDef),
}

impl Def {
    /// The `type` string of this definition, as written in Lexicon JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Def::Null(_) => "null",
            Def::Boolean(_) => "boolean",
            Def::Integer(_) => "integer",
            Def::String(_) => "string",
            Def::Bytes(_) => "bytes",
            Def::CidLink(_) => "cid-link",
            Def::Blob(_) => "blob",
            Def::Array(_) => "array",
            Def::Object(_) => "object",
            Def::Params(_) => "params",
            Def::Token(_) => "token",
            Def::Ref(_) => "ref",
            Def::Union(_) => "union",
            Def::Unknown(_) => "unknown",
            Def::Record(_) => "record",
            Def::Query(_) => "query",
            Def::Procedure(_) => "procedure",
            Def::Subscription(_) => "subscription",
            Def::PermissionSet(_) => "permission-set",
            Def::Permission(_) => "permission",
        }
    }

    /// Primary types may only be a document's `main` definition, and at most one per file.
    pub fn is_primary(&self) -> bool {
        matches!(
            self,
            Def::Record(_)
                | Def::Query(_)
                | Def::Procedure(_)
                | Def::Subscription(_)
                | Def::PermissionSet(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct NullDef {
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct BooleanDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default: Option<bool>,
    #[serde(default, rename = "const")]
    pub const_value: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct IntegerDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub minimum: Option<i64>,
    #[serde(default)]
    pub maximum: Option<i64>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<i64>>,
    #[serde(default)]
    pub default: Option<i64>,
    #[serde(default, rename = "const")]
    pub const_value: Option<i64>,
}

/// The `format` values a `string` schema may name (atproto.com/specs/lexicon#string-formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    AtIdentifier,
    AtUri,
    Cid,
    Datetime,
    Did,
    Handle,
    Nsid,
    Tid,
    RecordKey,
    Uri,
    Language,
}

impl StringFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            StringFormat::AtIdentifier => "at-identifier",
            StringFormat::AtUri => "at-uri",
            StringFormat::Cid => "cid",
            StringFormat::Datetime => "datetime",
            StringFormat::Did => "did",
            StringFormat::Handle => "handle",
            StringFormat::Nsid => "nsid",
            StringFormat::Tid => "tid",
            StringFormat::RecordKey => "record-key",
            StringFormat::Uri => "uri",
            StringFormat::Language => "language",
        }
    }
}

impl fmt::Display for StringFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StringDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub format: Option<StringFormat>,
    /// Maximum length in UTF-8 bytes.
    #[serde(default)]
    pub max_length: Option<u64>,
    /// Minimum length in UTF-8 bytes.
    #[serde(default)]
    pub min_length: Option<u64>,
    /// Maximum length in extended grapheme clusters.
    #[serde(default)]
    pub max_graphemes: Option<u64>,
    /// Minimum length in extended grapheme clusters.
    #[serde(default)]
    pub min_graphemes: Option<u64>,
    /// Suggested values; not a closed set.
    #[serde(default)]
    pub known_values: Option<Vec<String>>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default, rename = "const")]
    pub const_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BytesDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_length: Option<u64>,
    #[serde(default)]
    pub min_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CidLinkDef {
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Accepted MIME types: `type/subtype`, `type/*`, or `*/*`.
    #[serde(default)]
    pub accept: Option<Vec<String>>,
    /// Maximum blob size in bytes.
    #[serde(default)]
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrayDef {
    #[serde(default)]
    pub description: Option<String>,
    pub items: Box<Def>,
    #[serde(default)]
    pub min_length: Option<u64>,
    #[serde(default)]
    pub max_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ObjectDef {
    #[serde(default)]
    pub description: Option<String>,
    /// The spec calls `properties` required, but an object without it is read as having
    /// none (as the Go reference does, and as the interop vectors write): it accepts any object.
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub nullable: Vec<String>,
}

/// HTTP query parameters of a query, procedure or subscription.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ParamsDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub required: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TokenDef {
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefDef {
    #[serde(default)]
    pub description: Option<String>,
    /// `nsid`, `nsid#name`, or `#name` (local). A [`crate::Catalog`] stores it made absolute.
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UnionDef {
    #[serde(default)]
    pub description: Option<String>,
    pub refs: Vec<String>,
    /// A closed union rejects `$type`s outside `refs`; an open one (the default) accepts them.
    #[serde(default)]
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct UnknownDef {
    #[serde(default)]
    pub description: Option<String>,
}

/// Record key type of a record schema (atproto.com/specs/record-key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKeyType {
    Tid,
    Nsid,
    Any,
    /// `literal:<value>`: the only key allowed is `<value>`.
    Literal(String),
}

impl RecordKeyType {
    /// Parses a `key` field value (`tid`, `nsid`, `any`, `literal:<rkey>`).
    pub fn parse(key: &str) -> Result<RecordKeyType, String> {
        match key {
            "tid" => Ok(RecordKeyType::Tid),
            "nsid" => Ok(RecordKeyType::Nsid),
            "any" => Ok(RecordKeyType::Any),
            _ => match key.strip_prefix("literal:") {
                Some(value) if syntax::validate_record_key(value).is_ok() => {
                    Ok(RecordKeyType::Literal(value.to_owned()))
                }
                Some(value) => Err(format!(
                    "literal record key {value:?} is not a valid record key"
                )),
                None => Err(format!("unknown record key type {key:?}")),
            },
        }
    }

    /// Whether `rkey` is a valid record key of this type.
    pub fn check(&self, rkey: &str) -> Result<(), String> {
        syntax::validate_record_key(rkey).map_err(|_| format!("invalid record key: {rkey}"))?;
        let ok = match self {
            RecordKeyType::Any => true,
            RecordKeyType::Tid => syntax::validate_tid(rkey).is_ok(),
            RecordKeyType::Nsid => syntax::validate_nsid(rkey).is_ok(),
            RecordKeyType::Literal(value) => value == rkey,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "record key {rkey} does not match the schema key type {self}"
            ))
        }
    }
}

impl fmt::Display for RecordKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKeyType::Tid => f.write_str("tid"),
            RecordKeyType::Nsid => f.write_str("nsid"),
            RecordKeyType::Any => f.write_str("any"),
            RecordKeyType::Literal(v) => write!(f, "literal:{v}"),
        }
    }
}

impl<'de> Deserialize<'de> for RecordKeyType {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let key = String::deserialize(de)?;
        RecordKeyType::parse(&key).map_err(D::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordDef {
    #[serde(default)]
    pub description: Option<String>,
    pub key: RecordKeyType,
    /// The record's own schema; always an `object`.
    #[serde(deserialize_with = "object_schema")]
    pub record: ObjectDef,
}

/// Request or response body of an XRPC endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BodyDef {
    #[serde(default)]
    pub description: Option<String>,
    /// MIME type of the body, e.g. `application/json` or `*/*`.
    pub encoding: String,
    /// `object`, `ref` or `union`; checked by [`crate::check`].
    #[serde(default)]
    pub schema: Option<Box<Def>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueryDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "params_schema")]
    pub parameters: Option<ParamsDef>,
    #[serde(default)]
    pub output: Option<BodyDef>,
    #[serde(default)]
    pub errors: Vec<ErrorDef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProcedureDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "params_schema")]
    pub parameters: Option<ParamsDef>,
    #[serde(default)]
    pub input: Option<BodyDef>,
    #[serde(default)]
    pub output: Option<BodyDef>,
    #[serde(default)]
    pub errors: Vec<ErrorDef>,
}

/// Message schema of a subscription; must be a `union` (checked by [`crate::check`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageDef {
    #[serde(default)]
    pub description: Option<String>,
    pub schema: Box<Def>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubscriptionDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "params_schema")]
    pub parameters: Option<ParamsDef>,
    #[serde(default)]
    pub message: Option<MessageDef>,
    #[serde(default)]
    pub errors: Vec<ErrorDef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PermissionSetDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Localised titles by language tag.
    #[serde(default, rename = "title:lang")]
    pub title_lang: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default, rename = "detail:lang")]
    pub detail_lang: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "permission_list")]
    pub permissions: Vec<PermissionDef>,
}

/// One permission of a permission set. Fields beyond `resource` depend on the resource
/// (`repo`: `collection`, `action`; `rpc`: `lxm`, `aud`, `inheritAud`), and resources this
/// crate does not know are kept as they are, so their fields stay raw JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PermissionDef {
    pub resource: String,
    #[serde(flatten)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl PermissionDef {
    /// A string-array field (`collection`, `action`, `lxm`), if present and of that shape.
    pub fn strings(&self, name: &str) -> Option<Vec<&str>> {
        self.fields
            .get(name)?
            .as_array()?
            .iter()
            .map(|v| v.as_str())
            .collect()
    }
}

/// The `properties` of an object or params schema, in the order the document lists them
/// (validation reports the first failing property in that order, as the reference does).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties(Vec<(String, Def)>);

impl Properties {
    pub fn get(&self, name: &str) -> Option<&Def> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, d)| d)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Name and schema of each property, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Def)> {
        self.into_iter()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Def> {
        self.0.iter_mut().map(|(_, d)| d)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a Def);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Def)>,
        fn(&'a (String, Def)) -> (&'a String, &'a Def),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, d)| (k, d))
    }
}

impl FromIterator<(String, Def)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, Def)>>(iter: I) -> Properties {
        Properties(iter.into_iter().collect())
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Properties;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of property names to schemas")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
                let mut out: Vec<(String, Def)> = Vec::new();
                while let Some((name, def)) = map.next_entry::<String, Def>()? {
                    if out.iter().any(|(k, _)| *k == name) {
                        return Err(A::Error::custom(format!("property {name:?} defined twice")));
                    }
                    out.push((name, def));
                }
                Ok(Properties(out))
            }
        }
        de.deserialize_map(Ordered)
    }
}

fn object_schema<'de, D: Deserializer<'de>>(de: D) -> Result<ObjectDef, D::Error> {
    match Def::deserialize(de)? {
        Def::Object(o) => Ok(o),
        other => Err(D::Error::custom(format!(
            "record schema must be of type object, not {}",
            other.type_name()
        ))),
    }
}

fn params_schema<'de, D: Deserializer<'de>>(de: D) -> Result<Option<ParamsDef>, D::Error> {
    match Def::deserialize(de)? {
        Def::Params(p) => Ok(Some(p)),
        other => Err(D::Error::custom(format!(
            "parameters must be of type params, not {}",
            other.type_name()
        ))),
    }
}

fn permission_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<PermissionDef>, D::Error> {
    Vec::<Def>::deserialize(de)?
        .into_iter()
        .map(|def| match def {
            Def::Permission(p) => Ok(p),
            other => Err(D::Error::custom(format!(
                "permissions must be of type permission, not {}",
                other.type_name()
            ))),
        })
        .collect()
}
