//! Property tests for the recovery shares: every pair of a split rebuilds the seed, the text
//! and word encodings round-trip, and damaged or foreign input is refused without a panic.

use crypto::recovery::{combine, split, RecoverySeed, Share, ShareError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_pair_rebuilds_the_seed_and_encodings_round_trip(seed in any::<[u8; 32]>()) {
        let seed = RecoverySeed::from_bytes(seed);
        let shares = split(&seed);
        let texts: Vec<Share> = shares
            .iter()
            .map(|s| Share::from_text(&s.to_text().unwrap()).unwrap())
            .collect();
        prop_assert_eq!(&texts[..], &shares[..]);
        let words = Share::from_phrase(&shares[2].to_phrase().unwrap()).unwrap();
        prop_assert_eq!(words.index(), 3);
        let three = [texts[0].clone(), texts[1].clone(), words];
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let again = combine(&[three[i].clone(), three[j].clone()]).unwrap();
            prop_assert_eq!(again.as_bytes(), seed.as_bytes());
        }
        for one in &three {
            prop_assert_eq!(combine(std::slice::from_ref(one)).unwrap_err(), ShareError::NotEnoughShares(1));
        }
    }

    #[test]
    fn any_flipped_bit_is_refused(seed in any::<[u8; 32]>(), bit in 0usize..(55 * 8)) {
        let [share, _, _] = split(&RecoverySeed::from_bytes(seed));
        let mut bytes = share.to_bytes().unwrap().to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Share::from_bytes(&bytes).is_err());
    }

    #[test]
    fn shares_of_different_splits_never_combine(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let [one, _, _] = split(&RecoverySeed::from_bytes(a));
        let [_, two, three] = split(&RecoverySeed::from_bytes(b));
        prop_assert_eq!(combine(&[one.clone(), two]).unwrap_err(), ShareError::DifferentSplits);
        let words = Share::from_phrase(&three.to_phrase().unwrap()).unwrap();
        prop_assert_eq!(combine(&[one, words]).unwrap_err(), ShareError::DifferentSplits);
    }

    #[test]
    fn arbitrary_input_is_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), text in ".{0,200}") {
        let _ = Share::from_bytes(&bytes);
        let _ = Share::parse(&text);
        let _ = Share::from_text(&format!("wallet-share-v1:{text}"));
    }
}
