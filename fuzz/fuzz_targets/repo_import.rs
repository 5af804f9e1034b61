//! Hostile bytes into full-repo CAR import (CAR parsing, commit decoding, the MST walk and its
//! depth/order checks): no panic, and the blocks it keeps are exactly the ones it reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repo::car::CarLimits;
use repo::import::{import_car, ImportOptions};

fuzz_target!(|bytes: &[u8]| {
    let options = ImportOptions {
        limits: CarLimits {
            max_block_bytes: 64 * 1024,
            max_blocks: 1024,
            ..CarLimits::default()
        },
        ..ImportOptions::default()
    };
    if let Ok(repo) = import_car(bytes, &options) {
        assert_eq!(repo.blocks.first().map(|b| b.0), Some(repo.commit_cid));
    }
});
