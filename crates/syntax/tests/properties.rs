//! Properties of the TID encoding.

use proptest::prelude::*;
use syntax::{validate_tid, Tid, MAX_CLOCK_ID, MAX_TIMESTAMP_MICROS};

fn parts() -> impl Strategy<Value = (u64, u16)> {
    (0..=MAX_TIMESTAMP_MICROS, 0..=MAX_CLOCK_ID)
}

proptest! {
    #[test]
    fn from_parts_round_trips((ts, clock) in parts()) {
        let tid = Tid::from_parts(ts, clock).unwrap();
        prop_assert_eq!(tid.timestamp_micros(), ts);
        prop_assert_eq!(tid.clock_id(), clock);
        prop_assert_eq!(tid.as_str().len(), 13);
        prop_assert!(validate_tid(tid.as_str()).is_ok());
        let reparsed: Tid = tid.as_str().parse().unwrap();
        prop_assert_eq!(reparsed, tid);
        // top bit 0, so the first character is one of 2-7, a, b
        prop_assert!(b"234567ab".contains(&tid.as_str().as_bytes()[0]));
    }

    #[test]
    fn string_order_is_timestamp_then_clock_order(a in parts(), b in parts()) {
        let ta = Tid::from_parts(a.0, a.1).unwrap();
        let tb = Tid::from_parts(b.0, b.1).unwrap();
        prop_assert_eq!(ta.as_str().cmp(tb.as_str()), a.cmp(&b));
        prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
    }

    #[test]
    fn any_u64_round_trips_through_its_string(v in any::<u64>()) {
        let tid = Tid::from_u64(v);
        prop_assert!(validate_tid(tid.as_str()).is_ok());
        prop_assert_eq!(Tid::new(tid.as_str()).unwrap().as_u64(), v);
    }

    #[test]
    fn validators_never_panic(s in "\\PC{0,40}") {
        let _ = syntax::validate_did(&s);
        let _ = syntax::validate_handle(&s);
        let _ = syntax::validate_nsid(&s);
        let _ = syntax::validate_record_key(&s);
        let _ = syntax::validate_repo_path(&s);
        let _ = syntax::validate_tid(&s);
        let _ = syntax::validate_at_uri(&s);
        let _ = syntax::validate_at_identifier(&s);
        let _ = syntax::parse_datetime(&s);
        let _ = syntax::parse_language(&s);
        let _ = syntax::validate_cid_string(&s);
        let _ = syntax::validate_uri(&s);
    }

    #[test]
    fn datetime_shapes_never_panic(
        s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})"
    ) {
        prop_assert!(syntax::validate_datetime(&s).is_ok() || s.ends_with("-00:00"));
        let _ = syntax::parse_datetime(&s);
    }
}
