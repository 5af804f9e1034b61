//! Hostile bytes into the CAR reader: no panic, no allocation beyond the limits, and every block it
//! returns hashes to its CID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repo::car::{read_car, CarLimits};

fuzz_target!(|bytes: &[u8]| {
    let limits = CarLimits {
        max_block_bytes: 64 * 1024,
        max_blocks: 1024,
        ..CarLimits::default()
    };
    if let Ok(car) = read_car(bytes, limits) {
        for (cid, block) in &car.blocks {
            assert_eq!(data::Cid::for_raw(block).digest(), cid.digest());
        }
    }
});
