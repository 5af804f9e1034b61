//! Hostile bytes into the commit decoder: no panic, and an accepted commit re-encodes to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repo::SignedCommit;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(commit) = SignedCommit::from_bytes(bytes) {
        assert_eq!(commit.to_bytes(), bytes);
    }
});
