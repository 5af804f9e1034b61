//! Signing and verification rules that the interop vectors do not reach: low-S on every
//! signature we make, refusal of the high-S twin of a valid signature, key import/export, and
//! round trips over arbitrary messages.

use crypto::{verify_did_key_signature, Algorithm, CryptoError, Keypair, PublicKey};
use proptest::prelude::*;

/// Curve orders n, big-endian, written out independently of the curve libraries so the low-S
/// check does not trust the code under test.
const P256_ORDER: [u8; 32] =
    hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const K256_ORDER: [u8; 32] =
    hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
/// floor(n / 2): a signature is low-S when s <= this.
const P256_HALF_ORDER: [u8; 32] =
    hex32("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8");
const K256_HALF_ORDER: [u8; 32] =
    hex32("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");

const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex"),
        }
    }
    let s = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

fn order(alg: Algorithm) -> [u8; 32] {
    match alg {
        Algorithm::P256 => P256_ORDER,
        Algorithm::K256 => K256_ORDER,
    }
}

fn half_order(alg: Algorithm) -> [u8; 32] {
    match alg {
        Algorithm::P256 => P256_HALF_ORDER,
        Algorithm::K256 => K256_HALF_ORDER,
    }
}

/// a - b for 256-bit big-endian numbers with a >= b.
fn sub(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    out
}

/// The same signature with s replaced by n - s: also a valid ECDSA signature, but high-S.
fn high_s_twin(alg: Algorithm, sig: &[u8; 64]) -> [u8; 64] {
    let mut twin = *sig;
    twin[32..].copy_from_slice(&sub(&order(alg), &sig[32..]));
    twin
}

fn is_low_s(alg: Algorithm, sig: &[u8; 64]) -> bool {
    // Lexicographic order on equal-length big-endian bytes is numeric order.
    sig[32..] <= half_order(alg)[..]
}

#[test]
fn sign_then_verify_on_both_curves() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        assert_eq!(key.algorithm(), alg);
        let public = key.public_key();
        assert_eq!(public.algorithm(), alg);
        let sig = key.sign(b"hello atproto");
        assert_eq!(public.verify(b"hello atproto", &sig), Ok(()));
        assert_eq!(
            verify_did_key_signature(&key.did_key(), b"hello atproto", &sig),
            Ok(())
        );
        assert_eq!(
            public.verify(b"hello atproto!", &sig),
            Err(CryptoError::InvalidSignature)
        );
        let other = Keypair::generate(alg).public_key();
        assert_eq!(
            other.verify(b"hello atproto", &sig),
            Err(CryptoError::InvalidSignature)
        );
    }
}

#[test]
fn signing_is_deterministic() {
    // RFC 6979 nonces: the same key and message give the same signature, so no weak RNG can
    // leak the key through nonce reuse.
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        assert_eq!(key.sign(b"m"), key.sign(b"m"));
        assert_ne!(key.sign(b"m"), key.sign(b"n"));
    }
}

#[test]
fn every_signature_is_low_s() {
    for alg in Algorithm::ALL {
        let mut would_have_been_high = 0;
        for k in 0u32..8 {
            let key = Keypair::generate(alg);
            for i in 0u32..64 {
                let msg = [k.to_be_bytes().as_slice(), &i.to_be_bytes()].concat();
                let sig = key.sign(&msg);
                assert!(
                    is_low_s(alg, &sig),
                    "{alg:?} produced high-S for message {msg:?}"
                );
                // Half of raw ECDSA signatures are high-S; the twin shows how many this was.
                if !is_low_s(alg, &high_s_twin(alg, &sig)) {
                    would_have_been_high += 1;
                }
            }
        }
        assert_eq!(
            would_have_been_high,
            8 * 64,
            "twin of a low-S signature must be high-S"
        );
    }
}

#[test]
fn high_s_twin_of_a_valid_signature_is_rejected() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        let sig = key.sign(b"commit");
        let twin = high_s_twin(alg, &sig);
        assert_ne!(sig, twin);
        assert_eq!(
            key.public_key().verify(b"commit", &twin),
            Err(CryptoError::HighSSignature)
        );
    }
}

#[test]
fn malformed_signatures_are_rejected_by_reason() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        let public = key.public_key();
        let sig = key.sign(b"x");
        assert!(matches!(
            public.verify(b"x", &sig[..63]),
            Err(CryptoError::InvalidLength { actual: 63, .. })
        ));
        assert!(matches!(
            public.verify(b"x", &[]),
            Err(CryptoError::InvalidLength { .. })
        ));
        assert!(matches!(
            public.verify(b"x", &[sig.as_slice(), &[0]].concat()),
            Err(CryptoError::InvalidLength { actual: 65, .. })
        ));
        // r = 0 or s = 0, and s = n, are not signatures at all.
        let mut zero_r = sig;
        zero_r[..32].fill(0);
        assert_eq!(
            public.verify(b"x", &zero_r),
            Err(CryptoError::MalformedSignature)
        );
        let mut s_is_n = sig;
        s_is_n[32..].copy_from_slice(&order(alg));
        assert_eq!(
            public.verify(b"x", &s_is_n),
            Err(CryptoError::MalformedSignature)
        );
        // A DER wrapping of the same r and s: 30 len 02 len r 02 len s (with sign padding).
        let der = der_encode(&sig);
        assert_eq!(public.verify(b"x", &der), Err(CryptoError::DerSignature));
    }
}

fn der_encode(sig: &[u8; 64]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        let mut body = if trimmed[0] & 0x80 != 0 {
            vec![0]
        } else {
            vec![]
        };
        body.extend(trimmed);
        [vec![0x02, body.len() as u8], body].concat()
    }
    let body = [integer(&sig[..32]), integer(&sig[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

#[test]
fn hex_and_bytes_round_trip() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        let again = Keypair::from_hex(alg, &hex).unwrap();
        assert_eq!(*again.to_bytes(), *key.to_bytes());
        assert_eq!(again.did_key(), key.did_key());
        let upper = Keypair::from_hex(alg, &format!(" {}\n", hex.to_uppercase())).unwrap();
        assert_eq!(upper.public_key(), key.public_key());
        let from_bytes = Keypair::from_bytes(alg, &*key.to_bytes()).unwrap();
        assert_eq!(from_bytes.public_key(), key.public_key());
    }
}

#[test]
fn bad_private_keys_are_rejected() {
    for alg in Algorithm::ALL {
        assert!(matches!(
            Keypair::from_bytes(alg, &[1; 31]),
            Err(CryptoError::InvalidLength { actual: 31, .. })
        ));
        assert_eq!(
            Keypair::from_bytes(alg, &[0; 32]).unwrap_err(),
            CryptoError::InvalidPrivateKey(alg)
        );
        assert_eq!(
            Keypair::from_bytes(alg, &order(alg)).unwrap_err(),
            CryptoError::InvalidPrivateKey(alg)
        );
        assert_eq!(
            Keypair::from_bytes(alg, &[0xff; 32]).unwrap_err(),
            CryptoError::InvalidPrivateKey(alg)
        );
        assert!(matches!(
            Keypair::from_hex(alg, "zz"),
            Err(CryptoError::InvalidHex(_))
        ));
        assert!(matches!(
            Keypair::from_hex(alg, "abc"),
            Err(CryptoError::InvalidHex(_))
        ));
        assert!(matches!(
            Keypair::from_hex(alg, "abcd"),
            Err(CryptoError::InvalidLength { .. })
        ));
    }
}

#[test]
fn debug_does_not_print_the_secret() {
    for alg in Algorithm::ALL {
        let key = Keypair::generate(alg);
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.contains(key.to_hex().as_str()), "{shown}");
        assert!(
            !shown.to_lowercase().contains(&key.to_hex()[..16]),
            "{shown}"
        );
        assert!(shown.contains(&key.did_key()));
    }
}

#[test]
fn did_key_prefixes_follow_the_spec() {
    // The multicodec prefixes put these characters after did:key:.
    assert!(Keypair::generate(Algorithm::P256)
        .did_key()
        .starts_with("did:key:zDn"));
    assert!(Keypair::generate(Algorithm::K256)
        .did_key()
        .starts_with("did:key:zQ3s"));
}

#[test]
fn public_key_encodings_round_trip() {
    for alg in Algorithm::ALL {
        let public = Keypair::generate(alg).public_key();
        let compressed = public.to_compressed();
        let uncompressed = public.to_uncompressed();
        assert_eq!(
            PublicKey::from_compressed(alg, &compressed).unwrap(),
            public
        );
        assert_eq!(
            PublicKey::from_compressed(alg, &uncompressed).unwrap(),
            public
        );
        assert_eq!(
            PublicKey::from_multikey(&public.multikey()).unwrap(),
            public
        );
        assert_eq!(PublicKey::from_did_key(&public.did_key()).unwrap(), public);
        assert_eq!(public.did_key(), format!("did:key:{}", public.multikey()));
        assert_eq!(public.to_string(), public.did_key());
        let legacy = format!("z{}", bs58_encode(&uncompressed));
        assert_eq!(
            PublicKey::from_legacy_multibase(alg, &legacy).unwrap(),
            public
        );
        let legacy_compressed = format!("z{}", bs58_encode(&compressed));
        assert_eq!(
            PublicKey::from_legacy_multibase(alg, &legacy_compressed).unwrap(),
            public
        );
    }
}

/// Minimal base58btc encoder for the test, so the legacy form is built without the crate.
fn bs58_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(
            digits
                .iter()
                .rev()
                .map(|&d| char::from(ALPHABET[usize::from(d)])),
        )
        .collect()
}

#[test]
fn bad_public_keys_are_rejected() {
    let p256 = Keypair::generate(Algorithm::P256).public_key();
    let k256 = Keypair::generate(Algorithm::K256).public_key();
    assert!(matches!(
        PublicKey::from_did_key("did:web:example.com"),
        Err(CryptoError::MalformedDidKey(_))
    ));
    assert!(matches!(
        PublicKey::from_did_key(&p256.did_key().replace("did:key:", "DID:KEY:")),
        Err(CryptoError::MalformedDidKey(_))
    ));
    assert!(matches!(
        PublicKey::from_did_key("did:key:"),
        Err(CryptoError::UnsupportedMultibase(None))
    ));
    assert!(matches!(
        PublicKey::from_multikey(&format!("f{}", &p256.multikey()[1..])),
        Err(CryptoError::UnsupportedMultibase(Some('f')))
    ));
    // A well-formed multikey for another key type (multicodec 0xed, Ed25519) is refused by type.
    let mut other_type = vec![0xed, 0x01];
    other_type.extend_from_slice(&[7; 32]);
    assert_eq!(
        PublicKey::from_did_key(&format!("did:key:z{}", bs58_encode(&other_type))),
        Err(CryptoError::UnsupportedKeyType(0xed))
    );
    // A multikey carrying an uncompressed point.
    let mut uncompressed = vec![0xe7, 0x01];
    uncompressed.extend_from_slice(&k256.to_uncompressed());
    assert!(matches!(
        PublicKey::from_multikey(&format!("z{}", bs58_encode(&uncompressed))),
        Err(CryptoError::InvalidLength { actual: 65, .. })
    ));
    // A P-256 point labelled as K-256 is (overwhelmingly likely) not on secp256k1, and a point
    // with a bad SEC1 tag is refused either way.
    let mut bad_tag = p256.to_compressed();
    bad_tag[0] = 0x05;
    for alg in Algorithm::ALL {
        assert_eq!(
            PublicKey::from_compressed(alg, &bad_tag),
            Err(CryptoError::InvalidPublicKey(alg))
        );
        assert!(matches!(
            PublicKey::from_compressed(alg, &[0x02; 32]),
            Err(CryptoError::InvalidLength { actual: 32, .. })
        ));
        let mut off_curve = p256.to_uncompressed();
        off_curve[64] ^= 1;
        assert_eq!(
            PublicKey::from_compressed(alg, &off_curve),
            Err(CryptoError::InvalidPublicKey(alg))
        );
    }
    // Multikey with the K-256 prefix but the other curve's point bytes: never the same key.
    assert_ne!(
        PublicKey::from_compressed(Algorithm::K256, &p256.to_compressed()).ok(),
        Some(p256.clone())
    );
}

#[test]
fn algorithm_names() {
    for alg in Algorithm::ALL {
        assert_eq!(Algorithm::from_jwt_alg(alg.jwt_alg()), Ok(alg));
        assert_eq!(Algorithm::from_multicodec(alg.multicodec()), Ok(alg));
        assert_eq!(
            Algorithm::from_legacy_verification_suite(alg.legacy_verification_suite()),
            Ok(alg)
        );
    }
    assert_eq!(
        Algorithm::from_jwt_alg("EdDSA"),
        Err(CryptoError::UnsupportedAlgorithm("EdDSA".into()))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_messages_round_trip(msg in proptest::collection::vec(any::<u8>(), 0..512), k256 in any::<bool>()) {
        let alg = if k256 { Algorithm::K256 } else { Algorithm::P256 };
        let key = Keypair::generate(alg);
        let sig = key.sign(&msg);
        prop_assert!(is_low_s(alg, &sig));
        prop_assert_eq!(key.public_key().verify(&msg, &sig), Ok(()));
        prop_assert_eq!(verify_did_key_signature(&key.did_key(), &msg, &sig), Ok(()));
        prop_assert_eq!(key.public_key().verify(&msg, &high_s_twin(alg, &sig)), Err(CryptoError::HighSSignature));
        let mut tampered = msg.clone();
        tampered.push(0);
        prop_assert_eq!(key.public_key().verify(&tampered, &sig), Err(CryptoError::InvalidSignature));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..80), text in "\\PC{0,60}") {
        for alg in Algorithm::ALL {
            let _ = PublicKey::from_compressed(alg, &bytes);
            let _ = Keypair::from_bytes(alg, &bytes);
            let _ = Keypair::from_hex(alg, &text);
            let _ = PublicKey::from_legacy_multibase(alg, &text);
        }
        let _ = PublicKey::from_multikey(&text);
        let _ = PublicKey::from_did_key(&text);
        let public = Keypair::generate(Algorithm::K256).public_key();
        prop_assert!(public.verify(b"m", &bytes).is_err());
    }
}
