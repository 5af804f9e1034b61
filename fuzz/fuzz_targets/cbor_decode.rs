//! Hostile bytes into the DAG-CBOR decoder: it must never panic, and whatever it accepts must
//! re-encode to exactly the same bytes (the codec is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = data::cbor::decode(bytes) {
        assert_eq!(data::cbor::encode(&value), bytes);
    }
    if let Ok((value, used)) = data::cbor::decode_prefix(bytes) {
        assert_eq!(data::cbor::encode(&value), &bytes[..used]);
    }
});
