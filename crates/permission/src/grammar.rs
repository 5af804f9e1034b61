//! The general scope string syntax, before any resource gives it meaning (permission spec,
//! "Scope String Syntax"):
//!
//! ```text
//! scope      = resource [ ":" positional ] [ "?" [ param *( "&" param ) ] ]
//! param      = name [ "=" value ]
//! ```
//!
//! The whole string is printable ASCII without space, `"` or `\` (the spec's "subset of
//! printable non-whitespace ASCII", narrowed to RFC 6749's `NQCHAR` so every scope is also a
//! valid OAuth scope token). The positional part runs from the first `:` to the first `?` and
//! may hold more colons and `#`. Parameters split on `&`, a name from its value at the first `=`;
//! a value may contain `?` and `=`. The positional part, names and values are percent-decoded
//! (RFC 3986: `+` stays a plus sign, unlike HTML form encoding). Resource names are not
//! decoded, and this crate keeps them to ASCII letters, digits, `.`, `-` and `_`.

use std::fmt;

use crate::error::ScopeError;

/// A scope parsed by the general syntax only: resource name, positional part and query
/// parameters, all decoded. Knows nothing of what resources mean; [`crate::Scope`] does.
///
/// `positional` is `None` for `resource` and `Some("")` for `resource:`. Parameters keep their
/// order; a repeated name is an array value. Empty `&`-segments are skipped, and a name without
/// `=` has the empty value.
///
/// ```
/// use permission::GenericScope;
///
/// let g: GenericScope = "rpc?lxm=a.b.c&aud=did:web:x.com%23svc".parse()?;
/// assert_eq!(g.resource, "rpc");
/// assert_eq!(g.positional, None);
/// assert_eq!(g.values("aud").collect::<Vec<_>>(), ["did:web:x.com#svc"]);
/// # Ok::<(), permission::ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GenericScope {
    pub resource: String,
    pub positional: Option<String>,
    pub params: Vec<(String, String)>,
}

impl GenericScope {
    /// Parses `s` by the general syntax.
    pub fn parse(s: &str) -> Result<GenericScope, ScopeError> {
        check_alphabet(s)?;
        let (head, query) = match s.split_once('?') {
            Some((head, query)) => (head, Some(query)),
            None => (s, None),
        };
        let (resource, positional) = match head.split_once(':') {
            Some((resource, positional)) => (resource, Some(positional)),
            None => (head, None),
        };
        if resource.is_empty()
            || !resource
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(ScopeError::InvalidResource(resource.to_owned()));
        }
        let positional = positional.map(percent_decode).transpose()?;
        let mut params = Vec::new();
        for segment in query.into_iter().flat_map(|q| q.split('&')) {
            if segment.is_empty() {
                continue;
            }
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            let name = percent_decode(name)?;
            if name.is_empty() {
                return Err(ScopeError::EmptyParamName);
            }
            params.push((name, percent_decode(value)?));
        }
        Ok(GenericScope {
            resource: resource.to_owned(),
            positional,
            params,
        })
    }

    /// The values of every parameter called `name`, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl std::str::FromStr for GenericScope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GenericScope::parse(s)
    }
}

/// Writes the scope back, percent-encoding whatever would change its meaning (`%`, `?`, `#`, and
/// in parameters also `&`, `=` and `+`) or leave the alphabet. Parsing the output gives back an
/// equal value, provided the fields are what [`GenericScope::parse`] could have produced: a
/// valid resource name and non-empty parameter names (the resource name is written as is).
impl fmt::Display for GenericScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource)?;
        if let Some(positional) = &self.positional {
            f.write_str(":")?;
            write_encoded(f, positional, Part::Positional)?;
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            write_encoded(f, name, Part::Param)?;
            f.write_str("=")?;
            write_encoded(f, value, Part::Param)?;
        }
        Ok(())
    }
}

/// True for the characters a scope token may hold: RFC 6749 `NQCHAR`, i.e. `!`, `#`–`[`, `]`–`~`.
pub(crate) fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Refuses an empty string or any character outside the scope alphabet.
pub(crate) fn check_alphabet(s: &str) -> Result<(), ScopeError> {
    if s.is_empty() {
        return Err(ScopeError::Empty);
    }
    match s
        .chars()
        .find(|&c| !c.is_ascii() || !is_scope_char(c as u8))
    {
        Some(c) => Err(ScopeError::InvalidChar(c)),
        None => Ok(()),
    }
}

fn percent_decode(s: &str) -> Result<String, ScopeError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .ok_or(ScopeError::BadPercentEncoding(
                    "'%' must be followed by two hex digits",
                ))?;
            // Two hex digits always fit a byte.
            out.push(u8::from_str_radix(hex, 16).unwrap_or_default());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ScopeError::BadPercentEncoding("decoded bytes are not UTF-8"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Positional,
    Param,
}

/// Characters written as they are. Everything else is percent-encoded: `%` (the escape itself),
/// `?` (ends the positional part), `#` (the spec's examples always encode it, since scopes travel
/// inside URLs), `"`, `\`, space, controls, non-ASCII, and the few remaining ASCII symbols. In
/// parameters `&` and `=` are delimiters, and `+` is encoded because HTML-form decoders (which
/// some implementations use on the query part) would read it as a space.
fn is_literal(b: u8, part: Part) -> bool {
    match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
        b'-' | b'.' | b'_' | b'~' | b'*' | b'/' | b':' | b'@' | b'!' | b'$' | b'\'' => true,
        b'(' | b')' | b',' | b';' => true,
        b'&' | b'=' | b'+' => part == Part::Positional,
        _ => false,
    }
}

fn write_encoded(f: &mut fmt::Formatter<'_>, s: &str, part: Part) -> fmt::Result {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if is_literal(b[i], part) {
            // Literals are ASCII, so a run of them starts and ends on character boundaries.
            let start = i;
            while i < b.len() && is_literal(b[i], part) {
                i += 1;
            }
            f.write_str(&s[start..i])?;
        } else {
            write!(f, "%{:02X}", b[i])?;
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> GenericScope {
        GenericScope::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn splits_resource_positional_and_params() {
        let p = g("service:did:web:com.example#type?key=val&key=v2&flag");
        assert_eq!(p.resource, "service");
        assert_eq!(p.positional.as_deref(), Some("did:web:com.example#type"));
        assert_eq!(
            p.params,
            [
                ("key".into(), "val".into()),
                ("key".into(), "v2".into()),
                ("flag".into(), String::new())
            ]
        );
        assert_eq!(g("res").positional, None);
        assert_eq!(g("res:").positional.as_deref(), Some(""));
        assert_eq!(g("res?").positional, None);
        assert!(g("res:?&&").params.is_empty());
        assert_eq!(g("r?a=b=c?d").params, [("a".into(), "b=c?d".into())]);
    }

    #[test]
    fn decodes_percent_but_not_plus() {
        let p = g("r:a%3Fb?x=1%2B1+2&%61ud=%E2%98%BA");
        assert_eq!(p.positional.as_deref(), Some("a?b"));
        assert_eq!(
            p.params,
            [("x".into(), "1+1+2".into()), ("aud".into(), "☺".into())]
        );
    }

    #[test]
    fn refuses_bad_syntax() {
        for (s, e) in [
            ("", ScopeError::Empty),
            ("r:a b", ScopeError::InvalidChar(' ')),
            ("r?k=québec", ScopeError::InvalidChar('é')),
            ("r:\"x\"", ScopeError::InvalidChar('"')),
            ("r:a\\b", ScopeError::InvalidChar('\\')),
            ("r:\t", ScopeError::InvalidChar('\t')),
            (":x", ScopeError::InvalidResource(String::new())),
            ("?x", ScopeError::InvalidResource(String::new())),
            ("inc#lude", ScopeError::InvalidResource("inc#lude".into())),
            ("r?=x", ScopeError::EmptyParamName),
        ] {
            assert_eq!(GenericScope::parse(s), Err(e), "{s:?}");
        }
        for s in ["r:%", "r:%2", "r:%zz", "r?a=%C3", "r?a=%FF"] {
            assert!(
                matches!(
                    GenericScope::parse(s),
                    Err(ScopeError::BadPercentEncoding(_))
                ),
                "{s:?}"
            );
        }
    }

    #[test]
    fn display_encodes_only_what_it_must() {
        assert_eq!(
            g("rpc:a.b.c?aud=did:web:x.com#svc").to_string(),
            "rpc:a.b.c?aud=did:web:x.com%23svc"
        );
        assert_eq!(g("blob:image/svg+xml").to_string(), "blob:image/svg+xml");
        assert_eq!(
            g("blob?accept=image/svg%2Bxml").to_string(),
            "blob?accept=image/svg%2Bxml"
        );
        assert_eq!(g("r:&?flag").to_string(), "r:&?flag=");
        assert_eq!(
            g("r?x=a%26b%3Dc%25%20%E2%98%BA").to_string(),
            "r?x=a%26b%3Dc%25%20%E2%98%BA"
        );
    }
}
