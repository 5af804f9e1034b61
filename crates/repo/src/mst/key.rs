//! MST keys: their depth in the tree, the rules they follow, and prefix compression.

use sha2::{Digest, Sha256};

use super::MstError;

/// Longest key accepted, in bytes (the reference implementation's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// The depth ("height", "layer") of a key: the number of leading zero bits of SHA-256(key),
/// divided by two and rounded down, which gives the tree a fanout of 4 (repository spec,
/// §MST Structure).
pub fn key_height(key: &[u8]) -> u8 {
    let hash = Sha256::digest(key);
    let mut zeros = 0u32;
    for byte in hash {
        zeros += byte.leading_zeros();
        if byte != 0 {
            break;
        }
    }
    (zeros / 2) as u8
}

/// How many leading bytes `a` and `b` share.
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Checks a key the way the reference implementation does before it enters a tree: one `/`
/// between two non-empty parts of `A-Za-z0-9 . - _ : ~`, at most [`MAX_KEY_LEN`] bytes.
///
/// This is looser than a repo path (which needs a valid NSID and record key); the repo layer
/// checks those on writes. Trees read from elsewhere are held to this rule only, like the
/// reference does.
pub fn validate_key(key: &str) -> Result<(), MstError> {
    let bad = |why: &str| Err(MstError::InvalidKey(format!("{key:?}: {why}")));
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 1024 bytes");
    }
    let Some((collection, rkey)) = key.split_once('/') else {
        return bad("no '/'");
    };
    if collection.is_empty() || rkey.is_empty() {
        return bad("empty collection or record key");
    }
    if rkey.contains('/') {
        return bad("more than one '/'");
    }
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'~');
    if !collection.bytes().all(ok) || !rkey.bytes().all(ok) {
        return bad("character outside A-Za-z0-9 . - _ : ~");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_from_the_spec() {
        assert_eq!(key_height(b"2653ae71"), 0);
        assert_eq!(key_height(b"blue"), 1);
        assert_eq!(key_height(b"app.bsky.feed.post/454397e440ec"), 4);
        assert_eq!(key_height(b"app.bsky.feed.post/9adeb165882c"), 8);
    }

    #[test]
    fn key_rules() {
        assert!(validate_key("app.bsky.feed.post/3jqfcqzm3fo2j").is_ok());
        assert!(validate_key("A0/374913").is_ok());
        assert!(validate_key("a/b:c~d_e-f.g").is_ok());
        for bad in ["", "abc", "/abc", "abc/", "a/b/c", "a b/c", "a/ü", "a/b\0"] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        let long = format!("a/{}", "x".repeat(MAX_KEY_LEN - 1));
        assert!(validate_key(&long).is_err());
        assert!(validate_key(&long[..MAX_KEY_LEN]).is_ok());
    }
}
