//! Query-string parameters: decoding and lexicon validation.
//!
//! The generated `Params::from_query` functions are thin: they call
//! [`Query::parse`] once, then one typed accessor per lexicon property with the
//! property's rules, then [`required`] / `unwrap_or(default)`. All the checks
//! live here, so every endpoint reports problems the same way: an
//! [`XrpcError`] named `InvalidRequest` whose message names the parameter.
//!
//! Decoding rules (these follow what the reference server does where it is
//! lenient, and are strict where leniency would hide client bugs):
//! - `+` decodes to a space and `%XX` to a byte; the result must be UTF-8.
//! - An empty value (`cursor=` or a bare `cursor`) counts as absent, as in the
//!   reference server.
//! - Array parameters are repeated keys (`cids=a&cids=b`). A non-array
//!   parameter given twice is rejected.
//! - Booleans are exactly `true` or `false`. Integers are base-10 `i64`.
//! - Parameters the lexicon does not declare are ignored.
//!
//! ```
//! use xrpc::params::{required, Format, IntegerRule, Query, StringRule};
//!
//! let q = Query::parse("actor=alice.example.com&limit=10").unwrap();
//! let actor = required(
//!     "actor",
//!     q.string("actor", &StringRule { format: Some(Format::AtIdentifier), ..StringRule::ANY })
//!         .unwrap(),
//! )
//! .unwrap();
//! let limit = q.integer("limit", &IntegerRule { minimum: Some(1), maximum: Some(100), ..IntegerRule::ANY })
//!     .unwrap()
//!     .unwrap_or(50);
//! assert_eq!((actor.as_str(), limit), ("alice.example.com", 10));
//! ```

use crate::XrpcError;

/// A string format from the lexicon spec, checked with the `syntax` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `at-identifier`: a handle or a DID.
    AtIdentifier,
    /// `at-uri`.
    AtUri,
    /// `cid`, in its string form.
    Cid,
    /// `datetime`.
    Datetime,
    /// `did`.
    Did,
    /// `handle`.
    Handle,
    /// `language` (BCP-47 tag).
    Language,
    /// `nsid`.
    Nsid,
    /// `record-key`.
    RecordKey,
    /// `tid`.
    Tid,
    /// `uri` (any URI with a scheme).
    Uri,
}

impl Format {
    /// The format's name as written in lexicons.
    pub const fn name(self) -> &'static str {
        match self {
            Format::AtIdentifier => "at-identifier",
            Format::AtUri => "at-uri",
            Format::Cid => "cid",
            Format::Datetime => "datetime",
            Format::Did => "did",
            Format::Handle => "handle",
            Format::Language => "language",
            Format::Nsid => "nsid",
            Format::RecordKey => "record-key",
            Format::Tid => "tid",
            Format::Uri => "uri",
        }
    }

    /// Checks `value` against the format.
    pub fn validate(self, value: &str) -> Result<(), syntax::SyntaxError> {
        match self {
            Format::AtIdentifier => syntax::validate_at_identifier(value),
            Format::AtUri => syntax::validate_at_uri(value),
            Format::Cid => syntax::validate_cid_string(value),
            Format::Datetime => syntax::validate_datetime(value),
            Format::Did => syntax::validate_did(value),
            Format::Handle => syntax::validate_handle(value),
            Format::Language => syntax::validate_language(value),
            Format::Nsid => syntax::validate_nsid(value),
            Format::RecordKey => syntax::validate_record_key(value),
            Format::Tid => syntax::validate_tid(value),
            Format::Uri => syntax::validate_uri(value),
        }
    }
}

/// Constraints on a string parameter (or on each item of a string array).
/// `knownValues` is advisory in lexicons and is not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringRule {
    /// Required syntax, if any.
    pub format: Option<Format>,
    /// Minimum length in UTF-8 bytes.
    pub min_length: Option<usize>,
    /// Maximum length in UTF-8 bytes.
    pub max_length: Option<usize>,
    /// Closed set of allowed values (lexicon `enum`).
    pub allowed: Option<&'static [&'static str]>,
}

impl StringRule {
    /// No constraint.
    pub const ANY: Self = Self {
        format: None,
        min_length: None,
        max_length: None,
        allowed: None,
    };

    fn check(&self, name: &str, value: &str) -> Result<(), XrpcError> {
        if let Some(min) = self.min_length {
            if value.len() < min {
                return Err(invalid(
                    name,
                    format_args!("must be at least {min} bytes long"),
                ));
            }
        }
        if let Some(max) = self.max_length {
            if value.len() > max {
                return Err(invalid(
                    name,
                    format_args!("must be at most {max} bytes long"),
                ));
            }
        }
        if let Some(allowed) = self.allowed {
            if !allowed.contains(&value) {
                return Err(invalid(
                    name,
                    format_args!("must be one of {}", allowed.join(", ")),
                ));
            }
        }
        if let Some(format) = self.format {
            format.validate(value).map_err(|e| {
                invalid(name, format_args!("must be a valid {}: {e}", format.name()))
            })?;
        }
        Ok(())
    }
}

/// Constraints on an integer parameter (or on each item of an integer array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerRule {
    /// Inclusive lower bound.
    pub minimum: Option<i64>,
    /// Inclusive upper bound.
    pub maximum: Option<i64>,
    /// Closed set of allowed values (lexicon `enum`).
    pub allowed: Option<&'static [i64]>,
}

impl IntegerRule {
    /// No constraint.
    pub const ANY: Self = Self {
        minimum: None,
        maximum: None,
        allowed: None,
    };

    fn check(&self, name: &str, value: i64) -> Result<(), XrpcError> {
        if let Some(min) = self.minimum {
            if value < min {
                return Err(invalid(
                    name,
                    format_args!("must be at least {min} (got {value})"),
                ));
            }
        }
        if let Some(max) = self.maximum {
            if value > max {
                return Err(invalid(
                    name,
                    format_args!("must be at most {max} (got {value})"),
                ));
            }
        }
        if let Some(allowed) = self.allowed {
            if !allowed.contains(&value) {
                let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
                return Err(invalid(
                    name,
                    format_args!("must be one of {}", list.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// Constraints on an array parameter's item count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayRule {
    /// Minimum number of items.
    pub min_length: Option<usize>,
    /// Maximum number of items.
    pub max_length: Option<usize>,
}

impl ArrayRule {
    /// No constraint.
    pub const ANY: Self = Self {
        min_length: None,
        max_length: None,
    };

    fn check(&self, name: &str, len: usize) -> Result<(), XrpcError> {
        if let Some(min) = self.min_length {
            if len < min {
                return Err(invalid(
                    name,
                    format_args!("must have at least {min} values (got {len})"),
                ));
            }
        }
        if let Some(max) = self.max_length {
            if len > max {
                return Err(invalid(
                    name,
                    format_args!("must have at most {max} values (got {len})"),
                ));
            }
        }
        Ok(())
    }
}

/// A decoded query string: its `(key, value)` pairs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a raw query string (the part after `?`, without the `?`).
    pub fn parse(raw: &str) -> Result<Self, XrpcError> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode(key)?, percent_decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// The decoded pairs, in query order, including empty values.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every non-empty value given for `name`, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, XrpcError> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(invalid(
                name,
                format_args!("must not be given more than once"),
            ));
        }
        Ok(first)
    }

    /// A string parameter, checked against `rule`.
    pub fn string(&self, name: &str, rule: &StringRule) -> Result<Option<String>, XrpcError> {
        self.single(name)?
            .map(|v| string_value(name, v, rule))
            .transpose()
    }

    /// An integer parameter, checked against `rule`.
    pub fn integer(&self, name: &str, rule: &IntegerRule) -> Result<Option<i64>, XrpcError> {
        self.single(name)?
            .map(|v| integer_value(name, v, rule))
            .transpose()
    }

    /// A boolean parameter (`true` or `false`).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, XrpcError> {
        self.single(name)?
            .map(|v| boolean_value(name, v))
            .transpose()
    }

    /// A string array parameter (repeated key), each item checked against
    /// `item`, the count against `array`.
    pub fn strings(
        &self,
        name: &str,
        item: &StringRule,
        array: &ArrayRule,
    ) -> Result<Vec<String>, XrpcError> {
        let out = self
            .values(name)
            .map(|v| string_value(name, v, item))
            .collect::<Result<Vec<_>, _>>()?;
        array.check(name, out.len())?;
        Ok(out)
    }

    /// An integer array parameter (repeated key).
    pub fn integers(
        &self,
        name: &str,
        item: &IntegerRule,
        array: &ArrayRule,
    ) -> Result<Vec<i64>, XrpcError> {
        let out = self
            .values(name)
            .map(|v| integer_value(name, v, item))
            .collect::<Result<Vec<_>, _>>()?;
        array.check(name, out.len())?;
        Ok(out)
    }

    /// A boolean array parameter (repeated key).
    pub fn booleans(&self, name: &str, array: &ArrayRule) -> Result<Vec<bool>, XrpcError> {
        let out = self
            .values(name)
            .map(|v| boolean_value(name, v))
            .collect::<Result<Vec<_>, _>>()?;
        array.check(name, out.len())?;
        Ok(out)
    }
}

/// Turns an absent required parameter into `InvalidRequest`.
pub fn required<T>(name: &str, value: Option<T>) -> Result<T, XrpcError> {
    value.ok_or_else(|| invalid(name, format_args!("is required")))
}

/// Turns an empty required array parameter into `InvalidRequest`.
pub fn required_array<T>(name: &str, values: Vec<T>) -> Result<Vec<T>, XrpcError> {
    if values.is_empty() {
        Err(invalid(name, format_args!("is required")))
    } else {
        Ok(values)
    }
}

fn string_value(name: &str, value: &str, rule: &StringRule) -> Result<String, XrpcError> {
    rule.check(name, value)?;
    Ok(value.to_owned())
}

fn integer_value(name: &str, value: &str, rule: &IntegerRule) -> Result<i64, XrpcError> {
    let n = value
        .parse::<i64>()
        .map_err(|_| invalid(name, format_args!("must be an integer (got {value:?})")))?;
    rule.check(name, n)?;
    Ok(n)
}

fn boolean_value(name: &str, value: &str) -> Result<bool, XrpcError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(
            name,
            format_args!("must be true or false (got {value:?})"),
        )),
    }
}

fn invalid(name: &str, why: std::fmt::Arguments<'_>) -> XrpcError {
    XrpcError::invalid_request(format!("param \"{name}\" {why}"))
}

/// `application/x-www-form-urlencoded` decoding of one key or value.
fn percent_decode(input: &str) -> Result<String, XrpcError> {
    if !input.contains(['%', '+']) {
        return Ok(input.to_owned());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_digit(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_digit(*b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 3;
                    }
                    _ => {
                        return Err(XrpcError::invalid_request(
                            "malformed percent-encoding in query string",
                        ))
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| XrpcError::invalid_request("query string is not valid UTF-8"))
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let q = Query::parse("q=a+b%20c%2Bd&uri=at%3A%2F%2Fdid%3Aplc%3Aabc").unwrap();
        assert_eq!(q.values("q").collect::<Vec<_>>(), ["a b c+d"]);
        assert_eq!(q.values("uri").collect::<Vec<_>>(), ["at://did:plc:abc"]);
    }

    #[test]
    fn rejects_malformed_escapes_and_bad_utf8() {
        assert_eq!(Query::parse("a=%zz").unwrap_err().error, "InvalidRequest");
        assert_eq!(Query::parse("a=%4").unwrap_err().error, "InvalidRequest");
        assert_eq!(Query::parse("a=%ff").unwrap_err().error, "InvalidRequest");
    }

    #[test]
    fn empty_value_counts_as_absent() {
        let q = Query::parse("cursor=&flag").unwrap();
        assert_eq!(q.string("cursor", &StringRule::ANY).unwrap(), None);
        assert_eq!(q.boolean("flag").unwrap(), None);
    }

    #[test]
    fn scalar_given_twice_is_rejected() {
        let q = Query::parse("limit=1&limit=2").unwrap();
        let err = q.integer("limit", &IntegerRule::ANY).unwrap_err();
        assert!(err.message.unwrap().contains("\"limit\""));
    }

    #[test]
    fn booleans_are_strict() {
        let q = Query::parse("a=true&b=false&c=1").unwrap();
        assert_eq!(q.boolean("a").unwrap(), Some(true));
        assert_eq!(q.boolean("b").unwrap(), Some(false));
        assert!(q.boolean("c").is_err());
    }

    #[test]
    fn string_lengths_enum_and_array_counts() {
        let q = Query::parse("s=abcd&e=x&a=1&a=2&a=3").unwrap();
        let max3 = StringRule {
            max_length: Some(3),
            ..StringRule::ANY
        };
        assert!(q.string("s", &max3).is_err());
        let min5 = StringRule {
            min_length: Some(5),
            ..StringRule::ANY
        };
        assert!(q.string("s", &min5).is_err());
        let one_of = StringRule {
            allowed: Some(&["y", "z"]),
            ..StringRule::ANY
        };
        assert!(q.string("e", &one_of).is_err());
        let two = ArrayRule {
            max_length: Some(2),
            ..ArrayRule::ANY
        };
        assert!(q.integers("a", &IntegerRule::ANY, &two).is_err());
        assert_eq!(
            q.integers("a", &IntegerRule::ANY, &ArrayRule::ANY).unwrap(),
            [1, 2, 3]
        );
        assert_eq!(
            q.booleans("missing", &ArrayRule::ANY).unwrap(),
            Vec::<bool>::new()
        );
    }

    #[test]
    fn required_names_the_param() {
        let err = required::<String>("did", None).unwrap_err();
        assert_eq!(err.error, "InvalidRequest");
        assert_eq!(err.message.as_deref(), Some("param \"did\" is required"));
        assert!(required_array::<String>("cids", vec![]).is_err());
    }
}
