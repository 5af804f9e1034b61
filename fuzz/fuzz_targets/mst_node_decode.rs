//! Hostile bytes into the MST node decoder: no panic, and an accepted node re-encodes to the
//! same bytes (so its CID is the CID of the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use repo::mst::NodeData;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(node) = NodeData::decode(bytes) {
        assert_eq!(node.encode(), bytes);
    }
});
