//! Timestamp identifiers (spec: tid) and a generator whose output never goes backwards.
//!
//! A TID is a 64-bit integer written as 13 base32-sortable characters: top bit 0, then 53 bits
//! of microseconds since the UNIX epoch, then a 10-bit clock id. Because the alphabet is in
//! ASCII order and the width is fixed, string order, byte order and integer order agree.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{fail, Kind, SyntaxError};

/// The base32-sortable alphabet, in ASCII order so that string order is numeric order.
const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// A TID is always this many characters: 13 × 5 bits covers 64 bits.
pub const TID_LEN: usize = 13;

const CLOCK_BITS: u32 = 10;
const TIMESTAMP_BITS: u32 = 53;

/// The largest timestamp a TID can carry (2^53 − 1 µs, some time in the year 2255).
pub const MAX_TIMESTAMP_MICROS: u64 = (1 << TIMESTAMP_BITS) - 1;
/// The largest clock id (2^10 − 1).
pub const MAX_CLOCK_ID: u16 = (1 << CLOCK_BITS) - 1;

fn decode_char(c: u8) -> Option<u64> {
    match c {
        b'2'..=b'7' => Some(u64::from(c - b'2')),
        b'a'..=b'z' => Some(u64::from(c - b'a') + 6),
        _ => None,
    }
}

/// Checks TID syntax: exactly 13 characters from `234567abcdefghijklmnopqrstuvwxyz`, the first
/// one of `234567abcdefghij`. Case-sensitive; the old dashed form is refused.
pub fn validate_tid(s: &str) -> Result<(), SyntaxError> {
    decode(s).map(|_| ())
}

fn decode(s: &str) -> Result<u64, SyntaxError> {
    let b = s.as_bytes();
    if b.len() != TID_LEN {
        return fail(Kind::Tid, "must be exactly 13 characters");
    }
    let mut value: u64 = 0;
    for (i, &c) in b.iter().enumerate() {
        let Some(d) = decode_char(c) else {
            return fail(
                Kind::Tid,
                "may only contain the base32-sortable characters 234567a-z (lowercase)",
            );
        };
        // 13 characters carry 65 bits; the first may only use the low 4 of its 5 so that the
        // whole value fits in 64 bits, hence the spec's first-character set 2-7a-j.
        if i == 0 && d > 15 {
            return fail(Kind::Tid, "first character must be one of 234567abcdefghij");
        }
        value = (value << 5) | d;
    }
    Ok(value)
}

fn encode(value: u64) -> [u8; TID_LEN] {
    let mut out = [0u8; TID_LEN];
    for (i, slot) in out.iter_mut().rev().enumerate() {
        *slot = ALPHABET[((value >> (5 * i)) & 31) as usize];
    }
    out
}

/// A syntactically valid TID. Ordering is string order, which is also (timestamp, clock id)
/// order.
///
/// The spec's syntax admits a first character from `c` to `j`, which sets the integer's top bit
/// although the layout says it is always 0; such TIDs parse (they are valid syntax), report a
/// [`timestamp_micros`](Tid::timestamp_micros) above [`MAX_TIMESTAMP_MICROS`], and are never
/// produced by [`Tid::from_parts`] or [`TidGenerator`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tid {
    // `value` first so the derived Ord is numeric order (equal to string order anyway).
    value: u64,
    text: [u8; TID_LEN],
}

impl Tid {
    /// Builds a TID from a microsecond timestamp (at most 53 bits) and a clock id (at most
    /// 10 bits).
    pub fn from_parts(timestamp_micros: u64, clock_id: u16) -> Result<Tid, SyntaxError> {
        if timestamp_micros > MAX_TIMESTAMP_MICROS {
            return fail(
                Kind::Tid,
                "timestamp does not fit in 53 bits of microseconds",
            );
        }
        if clock_id > MAX_CLOCK_ID {
            return fail(Kind::Tid, "clock id does not fit in 10 bits");
        }
        Ok(Tid::from_u64(
            (timestamp_micros << CLOCK_BITS) | u64::from(clock_id),
        ))
    }

    /// The TID of a 64-bit integer. Every `u64` has a 13-character encoding, so this cannot
    /// fail; use [`Tid::from_parts`] to be sure the top bit is 0.
    pub fn from_u64(value: u64) -> Tid {
        Tid {
            value,
            text: encode(value),
        }
    }

    /// Validates `s`.
    pub fn new(s: &str) -> Result<Tid, SyntaxError> {
        s.parse()
    }

    /// The integer this TID encodes.
    pub fn as_u64(&self) -> u64 {
        self.value
    }

    /// Microseconds since the UNIX epoch (the integer without its 10 clock-id bits).
    pub fn timestamp_micros(&self) -> u64 {
        self.value >> CLOCK_BITS
    }

    /// The 10-bit clock id.
    pub fn clock_id(&self) -> u16 {
        (self.value & u64::from(MAX_CLOCK_ID)) as u16
    }

    /// The 13-character string.
    pub fn as_str(&self) -> &str {
        // Every byte comes from ALPHABET (ASCII), whether encoded here or validated by decode().
        std::str::from_utf8(&self.text).expect("TID text is ASCII by construction")
    }
}

impl FromStr for Tid {
    type Err = SyntaxError;

    fn from_str(s: &str) -> Result<Tid, SyntaxError> {
        let value = decode(s)?;
        Ok(Tid {
            value,
            text: encode(value),
        })
    }
}

impl TryFrom<&str> for Tid {
    type Error = SyntaxError;

    fn try_from(s: &str) -> Result<Tid, SyntaxError> {
        s.parse()
    }
}

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tid({})", self.as_str())
    }
}

impl AsRef<str> for Tid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Tid {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Tid {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Issues TIDs that strictly increase and never repeat, whatever the clock does.
///
/// Each TID gets the generator's fixed clock id and the timestamp
/// `max(clock now, last timestamp issued + 1)`. So TIDs issued in the same microsecond, or
/// while the wall clock steps backwards, run slightly ahead of the clock until it catches up
/// (the spec asks for exactly this: monotonic output "even if multiple TIDs are generated in
/// the same microsecond, or during clock smear"). Keeping the clock id fixed, rather than
/// bumping it, keeps two generators with different ids from ever colliding.
///
/// It is `Sync`: share one per process (e.g. in an `Arc`) and call it from any thread; the
/// state is a single atomic, so there is no lock.
pub struct TidGenerator {
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
    clock_id: u16,
    /// The smallest timestamp the next TID may use; `MAX_TIMESTAMP_MICROS + 1` once exhausted.
    floor: AtomicU64,
}

impl TidGenerator {
    /// A generator on the system clock with a random clock id.
    pub fn new() -> TidGenerator {
        TidGenerator {
            clock: Box::new(system_clock_micros),
            clock_id: random_clock_id(),
            floor: AtomicU64::new(0),
        }
    }

    /// A generator on the system clock with a chosen clock id (e.g. one per worker, so the
    /// workers' TIDs can never collide).
    pub fn with_clock_id(clock_id: u16) -> Result<TidGenerator, SyntaxError> {
        TidGenerator::with_clock(system_clock_micros, clock_id)
    }

    /// A generator on an injected clock returning microseconds since the UNIX epoch; for tests
    /// that need to stop the clock or send it backwards.
    pub fn with_clock(
        clock: impl Fn() -> u64 + Send + Sync + 'static,
        clock_id: u16,
    ) -> Result<TidGenerator, SyntaxError> {
        if clock_id > MAX_CLOCK_ID {
            return fail(Kind::Tid, "clock id does not fit in 10 bits");
        }
        Ok(TidGenerator {
            clock: Box::new(clock),
            clock_id,
            floor: AtomicU64::new(0),
        })
    }

    /// This generator's clock id.
    pub fn clock_id(&self) -> u16 {
        self.clock_id
    }

    /// The next TID: greater than every TID this generator issued before.
    ///
    /// Fails only when no greater TID exists (the timestamp would pass 53 bits), which takes a
    /// clock past the year 2255 or a [`next_above`](Self::next_above) with such a TID.
    pub fn next(&self) -> Result<Tid, SyntaxError> {
        self.issue(0)
    }

    /// The next TID, also strictly greater than `last`: for a repo's `rev`, which must stay
    /// above the last rev even if that came from a clock running ahead (an import, another
    /// host) or the local clock has stepped back.
    pub fn next_above(&self, last: Option<&Tid>) -> Result<Tid, SyntaxError> {
        // A later timestamp beats `last` whatever the two clock ids are. No overflow: a
        // timestamp is below 2^54.
        let min = last.map_or(0, |t| t.timestamp_micros() + 1);
        self.issue(min)
    }

    fn issue(&self, min_timestamp: u64) -> Result<Tid, SyntaxError> {
        let now = (self.clock)();
        let mut timestamp = 0;
        // One read-modify-write on one atomic: all callers see a single total order of updates,
        // so Relaxed is enough for the values to strictly increase in that order.
        self.floor
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |floor| {
                timestamp = now.max(floor).max(min_timestamp);
                (timestamp <= MAX_TIMESTAMP_MICROS).then_some(timestamp + 1)
            })
            .or_else(|_| {
                fail(
                    Kind::Tid,
                    "TID space exhausted: no greater TID fits in 53 bits of microseconds",
                )
            })?;
        Tid::from_parts(timestamp, self.clock_id)
    }
}

impl Default for TidGenerator {
    fn default() -> Self {
        TidGenerator::new()
    }
}

impl fmt::Debug for TidGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TidGenerator")
            .field("clock_id", &self.clock_id)
            .field("floor", &self.floor.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Microseconds since the UNIX epoch from the system clock (0 if it reads before 1970).
pub fn system_clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn random_clock_id() -> u16 {
    let random = getrandom::u32().unwrap_or_else(|_| {
        // No OS randomness (rare; some sandboxes). The clock id only spreads collisions between
        // generators, so the time's sub-microsecond digits mixed with the pid will do.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        nanos ^ std::process::id().rotate_left(16)
    });
    (random & u32::from(MAX_CLOCK_ID)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn known_values() {
        assert_eq!(Tid::from_u64(0).as_str(), "2222222222222");
        assert_eq!(Tid::new("2222222222222").unwrap().as_u64(), 0);
        let t = Tid::new("3jzfcijpj2z2a").unwrap();
        assert_eq!(
            Tid::from_parts(t.timestamp_micros(), t.clock_id()).unwrap(),
            t
        );
        assert_eq!(Tid::from_u64(u64::MAX).as_str(), "jzzzzzzzzzzzz");
        // the largest TID with the top bit 0 starts with 'b'
        let max = Tid::from_parts(MAX_TIMESTAMP_MICROS, MAX_CLOCK_ID).unwrap();
        assert_eq!(max.as_str(), "bzzzzzzzzzzzz");
        assert_eq!(max.as_u64(), i64::MAX as u64);
    }

    #[test]
    fn syntax_rules() {
        for (bad, rule) in [
            ("222", "must be exactly 13 characters"),
            ("3jzfcijpj2z2aa", "must be exactly 13 characters"),
            (
                "3JZFCIJPJ2Z2A",
                "may only contain the base32-sortable characters 234567a-z (lowercase)",
            ),
            (
                "3jzfcijpj2z21",
                "may only contain the base32-sortable characters 234567a-z (lowercase)",
            ),
            (
                "kjzfcijpj2z2a",
                "first character must be one of 234567abcdefghij",
            ),
        ] {
            assert_eq!(validate_tid(bad).unwrap_err().rule(), rule, "{bad}");
        }
        // letter-first TIDs are valid syntax; c..j set the top bit
        for (s, top_bit) in [
            ("a222222222222", false),
            ("azzzzzzzzzzzz", false),
            ("b222222222222", false),
            ("c222222222222", true),
            ("j222222222222", true),
        ] {
            let t = Tid::new(s).unwrap();
            assert_eq!(t.as_u64() >> 63 == 1, top_bit, "{s}");
            assert_eq!(t.timestamp_micros() > MAX_TIMESTAMP_MICROS, top_bit, "{s}");
        }
    }

    #[test]
    fn from_parts_ranges() {
        assert!(Tid::from_parts(MAX_TIMESTAMP_MICROS + 1, 0).is_err());
        assert!(Tid::from_parts(0, MAX_CLOCK_ID + 1).is_err());
        assert!(TidGenerator::with_clock(|| 0, 1024).is_err());
    }

    #[test]
    fn same_microsecond_and_backwards_clock() {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = {
            let now = now.clone();
            move || now.load(Ordering::SeqCst)
        };
        let g = TidGenerator::with_clock(clock, 7).unwrap();
        let a = g.next().unwrap();
        let b = g.next().unwrap();
        assert_eq!(a.timestamp_micros(), 1_000_000);
        assert_eq!(b.timestamp_micros(), 1_000_001);
        now.store(5, Ordering::SeqCst);
        let c = g.next().unwrap();
        assert!(c > b && c.as_str() > b.as_str());
        assert_eq!(c.clock_id(), 7);
        now.store(2_000_000, Ordering::SeqCst);
        assert_eq!(g.next().unwrap().timestamp_micros(), 2_000_000);
    }

    #[test]
    fn next_above_a_rev_from_the_future() {
        let g = TidGenerator::with_clock(|| 1_000, 1).unwrap();
        let future = Tid::from_parts(9_000_000, 1000).unwrap();
        let rev = g.next_above(Some(&future)).unwrap();
        assert!(rev > future);
        assert_eq!(rev.timestamp_micros(), 9_000_001);
        // and the generator stays above it afterwards
        assert!(g.next().unwrap() > rev);
        assert!(g.next_above(None).unwrap() > rev);
    }

    #[test]
    fn exhaustion_is_an_error_not_a_repeat() {
        let g = TidGenerator::with_clock(|| MAX_TIMESTAMP_MICROS, 0).unwrap();
        let last = g.next().unwrap();
        assert_eq!(last.timestamp_micros(), MAX_TIMESTAMP_MICROS);
        assert!(g.next().is_err());
        let g = TidGenerator::with_clock(|| 0, 0).unwrap();
        assert!(g
            .next_above(Some(&Tid::new("j222222222222").unwrap()))
            .is_err());
        // a failed next_above leaves the generator usable
        assert!(g.next().is_ok());
    }

    #[test]
    fn system_generator_works() {
        let g = TidGenerator::new();
        assert!(g.clock_id() <= MAX_CLOCK_ID);
        let a = g.next().unwrap();
        let b = g.next().unwrap();
        assert!(a < b);
        // a 2020s timestamp starts with '3'
        assert!(a.as_str().starts_with('3'), "{a}");
    }
}
