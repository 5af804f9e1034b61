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
    // Eight bytes at a time: the first differing byte of two little-endian words is the
    // lowest set byte of their XOR.
    let n = a.len().min(b.len());
    let (mut a8, mut b8) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let mut shared = 0;
    for (x, y) in (&mut a8).zip(&mut b8) {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("8 bytes"));
        let diff = x ^ y;
        if diff != 0 {
            return shared + (diff.trailing_zeros() / 8) as usize;
        }
        shared += 8;
    }
    shared
        + a8.remainder()
            .iter()
            .zip(b8.remainder())
            .take_while(|(x, y)| x == y)
            .count()
}

/// Checks a key the way the reference implementation does before it enters a tree: one `/`
/// between two non-empty parts of `A-Za-z0-9 . - _ : ~`, at most [`MAX_KEY_LEN`] bytes.
///
/// This is looser than a repo path (which needs a valid NSID and record key); the repo layer
/// checks those on writes. Trees read from elsewhere are held to this rule only, like the
/// reference does.
pub fn validate_key(key: &str) -> Result<(), MstError> {
    if is_valid_key(key.as_bytes()) {
        return Ok(());
    }
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

/// The bytes [`validate_key`] allows on either side of the `/`.
const KEY_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'~');
        c += 1;
    }
    table
};

/// [`validate_key`]'s rules in one pass over the bytes, for the common case of a good key:
/// at most [`MAX_KEY_LEN`] bytes, exactly one `/`, neither first nor last, every other byte
/// allowed. True exactly when `validate_key` finds nothing wrong; it then finds the reason.
fn is_valid_key(key: &[u8]) -> bool {
    if key.len() > MAX_KEY_LEN {
        return false;
    }
    let mut slash = None;
    for (i, &b) in key.iter().enumerate() {
        if b == b'/' {
            if slash.is_some() {
                return false;
            }
            slash = Some(i);
        } else if !KEY_BYTE[b as usize] {
            return false;
        }
    }
    matches!(slash, Some(i) if i > 0 && i + 1 < key.len())
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
    fn common_prefixes() {
        let slow = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let keys: [&[u8]; 9] = [
            b"",
            b"a",
            b"app.bsky.feed.post/3jqfcqzm3fo2j",
            b"app.bsky.feed.post/3jqfcqzm3fp2j",
            b"app.bsky.feed.post/3jqfcqzm3fo2",
            b"app.bsky.feed.like/3jqfcqzm3fo2j",
            b"app.bsky.feed.pos",
            b"app.bsky",
            b"app.bsky.feed.post/3jqfcqzm3fo2jx",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(common_prefix_len(a, b), slow(a, b), "{a:?} {b:?}");
            }
        }
        for i in 0..40 {
            let a = vec![7u8; 40];
            let mut b = a.clone();
            b[i] = 8;
            assert_eq!(common_prefix_len(&a, &b), i);
            assert_eq!(common_prefix_len(&a[..i], &b), i);
        }
    }

    #[test]
    fn key_rules() {
        assert!(validate_key("app.bsky.feed.post/3jqfcqzm3fo2j").is_ok());
        assert!(validate_key("A0/374913").is_ok());
        assert!(validate_key("a/b:c~d_e-f.g").is_ok());
        for bad in ["", "abc", "/abc", "abc/", "a/b/c", "a b/c", "a/ü", "a/b\0"] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        // The one-pass check agrees with the rules as written, on every byte in every place.
        let slow = |key: &str| -> bool {
            let ok =
                |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'~');
            key.len() <= MAX_KEY_LEN
                && matches!(key.split_once('/'), Some((c, r)) if !c.is_empty() && !r.is_empty()
                    && !r.contains('/') && c.bytes().all(ok) && r.bytes().all(ok))
        };
        for c in 0..=127u8 {
            let ch = c as char;
            for key in [
                format!("{ch}"),
                format!("a{ch}"),
                format!("{ch}/b"),
                format!("a/{ch}"),
                format!("ab{ch}/cd"),
                format!("ab/c{ch}d"),
                format!("{ch}{ch}/{ch}"),
                format!("a/b{ch}/"),
            ] {
                assert_eq!(is_valid_key(key.as_bytes()), slow(&key), "{key:?}");
                assert_eq!(validate_key(&key).is_ok(), slow(&key), "{key:?}");
            }
        }
        for key in ["a/ü", "ü/a", "a/b\u{2028}"] {
            assert!(!is_valid_key(key.as_bytes()));
        }
        let long = format!("a/{}", "x".repeat(MAX_KEY_LEN - 1));
        assert!(validate_key(&long).is_err());
        assert!(validate_key(&long[..MAX_KEY_LEN]).is_ok());
    }
}
