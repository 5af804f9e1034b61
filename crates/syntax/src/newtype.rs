//! The shared shape of the string-backed identifier types: a `String` that is known to be valid.

/// Defines `pub struct $name(String)` whose only constructors run `$validate` first, then
/// `$normalize` on the owned string (handles are lowercased; everything else is kept as is).
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $validate:path, $normalize:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates (and, for handles, normalises) `s`.
            pub fn new(s: &str) -> Result<Self, $crate::SyntaxError> {
                s.parse()
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::SyntaxError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $validate(s)?;
                let mut owned = s.to_owned();
                ($normalize)(&mut owned);
                Ok($name(owned))
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::SyntaxError;

            /// Reuses the allocation of `s`.
            fn try_from(mut s: String) -> Result<Self, Self::Error> {
                $validate(&s)?;
                ($normalize)(&mut s);
                Ok($name(s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::SyntaxError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Hash and Eq are those of the inner String, so maps keyed by this type can be
        // queried with a plain &str.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

pub(crate) use string_newtype;

/// The `$normalize` argument for types kept exactly as given.
pub(crate) fn keep(_: &mut String) {}
