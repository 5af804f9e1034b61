//! Property tests: the codec is a bijection between values and canonical bytes.

use data::{cbor, json, Cid, Map, Value};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ".{0,40}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        (any::<bool>(), any::<[u8; 32]>()).prop_map(|(raw, d)| Value::Link(Cid::new(
            if raw {
                data::Codec::Raw
            } else {
                data::Codec::DagCbor
            },
            d
        ))),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m: Map| Value::Map(m)),
        ]
    })
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(v in value()) {
        let bytes = cbor::encode(&v);
        prop_assert_eq!(cbor::decode(&bytes).unwrap(), v);
    }

    #[test]
    fn whatever_decodes_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Hostile bytes never panic; and anything accepted re-encodes to exactly itself,
        // so no two byte strings decode to the same value.
        if let Ok(v) = cbor::decode(&bytes) {
            prop_assert_eq!(cbor::encode(&v), bytes);
        }
    }

    #[test]
    fn mutated_encodings_stay_canonical(v in value(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = cbor::encode(&v);
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            if let Ok(w) = cbor::decode(&bytes) {
                prop_assert_eq!(cbor::encode(&w), bytes);
            }
        }
    }

    #[test]
    fn json_round_trip(v in value()) {
        prop_assert_eq!(json::from_json(&json::to_json(&v)), Ok(v));
    }
}
