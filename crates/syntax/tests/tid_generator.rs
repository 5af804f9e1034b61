//! The TID generator under stress: a million TIDs with the clock sent backwards, and many
//! threads sharing one generator.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use syntax::{Tid, TidGenerator};

#[test]
fn a_million_tids_strictly_increase_across_a_backwards_clock() {
    const N: usize = 1_000_000;
    let now = Arc::new(AtomicU64::new(1_700_000_000_000_000));
    let clock = {
        let now = now.clone();
        // The clock also advances a little on every read, like a real one.
        move || now.fetch_add(1, Ordering::Relaxed) / 4
    };
    let g = TidGenerator::with_clock(clock, 42).unwrap();
    let mut prev: Option<Tid> = None;
    for i in 0..N {
        if i == N / 2 {
            // An NTP step back by an hour, mid-stream.
            let back = 4 * 3_600_000_000;
            now.fetch_sub(back, Ordering::Relaxed);
        }
        let t = g.next().unwrap();
        if let Some(p) = prev {
            assert!(t.as_str() > p.as_str(), "#{i}: {t} after {p}");
            assert!(t > p);
        }
        assert_eq!(t.clock_id(), 42);
        prev = Some(t);
    }
}

#[test]
fn a_stopped_clock_still_gives_distinct_increasing_tids() {
    let g = TidGenerator::with_clock(|| 1_000, 0).unwrap();
    let tids: Vec<Tid> = (0..10_000).map(|_| g.next().unwrap()).collect();
    assert!(tids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(tids.last().unwrap().timestamp_micros(), 1_000 + 9_999);
}

#[test]
fn threads_sharing_one_generator_never_repeat() {
    let g = Arc::new(TidGenerator::new());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let g = g.clone();
            std::thread::spawn(move || {
                let tids: Vec<Tid> = (0..50_000).map(|_| g.next().unwrap()).collect();
                // each thread sees its own TIDs in increasing order
                assert!(tids.windows(2).all(|w| w[0] < w[1]));
                tids
            })
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        for t in h.join().unwrap() {
            assert!(all.insert(t), "repeated {t}");
        }
    }
    assert_eq!(all.len(), 200_000);
}

#[test]
fn revs_stay_above_the_last_rev() {
    let g = TidGenerator::with_clock(|| 5_000_000, 3).unwrap();
    let mut last: Option<Tid> = None;
    for _ in 0..1000 {
        let rev = g.next_above(last.as_ref()).unwrap();
        assert!(last.is_none_or(|l| rev > l));
        last = Some(rev);
    }
    // a rev from another host far ahead of our clock
    let foreign = Tid::from_parts(9_000_000_000, 1023).unwrap();
    let rev = g.next_above(Some(&foreign)).unwrap();
    assert!(rev > foreign);
}
