//! Datetimes (spec: lexicon, "datetime"): the intersection of RFC 3339, ISO 8601 and WHATWG
//! HTML, with a required timezone.
//!
//! Two levels, as the official vectors have them: [`validate_datetime`] checks the shape only,
//! so `1985-13-12T23:20:50Z` passes; [`parse_datetime`] also requires a real instant (month
//! 13, day 00, second 60 fail) that normalises to UTC within the years 0000–9999.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{fail, Kind, SyntaxError};

/// Neither the spec nor the vectors set a limit; the reference implementation caps datetimes
/// at 64 characters, which still leaves room for 30+ fractional digits.
pub const MAX_DATETIME_LEN: usize = 64;

/// The fields as written, before any range check.
struct Fields<'a> {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    fraction: &'a [u8],
    /// `None` for `Z`; otherwise (sign, hours, minutes).
    offset: Option<(i64, u32, u32)>,
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
    let field = b.get(from..from + n)?;
    field.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Checks datetime syntax: `YYYY-MM-DDTHH:MM:SS`, optional `.` and one or more fraction
/// digits, then `Z` or `±HH:MM` (not `-00:00`), every field zero-padded to its exact width, at
/// most 64 characters. Field values are not range-checked here; see [`parse_datetime`].
pub fn validate_datetime(s: &str) -> Result<(), SyntaxError> {
    scan(s).map(|_| ())
}

fn scan(s: &str) -> Result<Fields<'_>, SyntaxError> {
    let b = s.as_bytes();
    if b.len() > MAX_DATETIME_LEN {
        return fail(Kind::Datetime, "longer than 64 characters");
    }
    let date = (|| {
        let year = digits(b, 0, 4)?;
        (b.get(4) == Some(&b'-')).then_some(())?;
        let month = digits(b, 5, 2)?;
        (b.get(7) == Some(&b'-')).then_some(())?;
        Some((year, month, digits(b, 8, 2)?))
    })();
    let Some((year, month, day)) = date else {
        return fail(
            Kind::Datetime,
            "date must be YYYY-MM-DD, zero-padded, with a 4-digit year",
        );
    };
    match b.get(10) {
        Some(b'T') => {}
        None => return fail(Kind::Datetime, "time is required after the date"),
        Some(_) => {
            return fail(
                Kind::Datetime,
                "date and time must be separated by an uppercase 'T'",
            )
        }
    }
    let time = (|| {
        let hour = digits(b, 11, 2)?;
        (b.get(13) == Some(&b':')).then_some(())?;
        let minute = digits(b, 14, 2)?;
        (b.get(16) == Some(&b':')).then_some(())?;
        Some((hour, minute, digits(b, 17, 2)?))
    })();
    let Some((hour, minute, second)) = time else {
        return fail(
            Kind::Datetime,
            "time must be HH:MM:SS, zero-padded, with whole seconds",
        );
    };
    let mut at = 19;
    let mut fraction: &[u8] = &[];
    if b.get(at) == Some(&b'.') {
        let n = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n == 0 {
            return fail(
                Kind::Datetime,
                "fractional seconds must be one or more digits after '.'",
            );
        }
        fraction = &b[at + 1..at + 1 + n];
        at += 1 + n;
    }
    let offset = match b.get(at) {
        None => return fail(Kind::Datetime, "timezone is required ('Z' or ±HH:MM)"),
        Some(b'Z') => {
            at += 1;
            None
        }
        Some(b'z') => return fail(Kind::Datetime, "timezone 'Z' must be uppercase"),
        Some(&sign @ (b'+' | b'-')) => {
            let hm = (|| {
                let h = digits(b, at + 1, 2)?;
                (b.get(at + 3) == Some(&b':')).then_some(())?;
                Some((h, digits(b, at + 4, 2)?))
            })();
            let Some((h, m)) = hm else {
                return fail(Kind::Datetime, "timezone offset must be ±HH:MM");
            };
            if sign == b'-' && h == 0 && m == 0 {
                // RFC 3339's "unknown local offset"; ISO 8601 forbids it and so does the spec.
                return fail(Kind::Datetime, "timezone offset -00:00 is not allowed");
            }
            at += 6;
            Some((if sign == b'-' { -1 } else { 1 }, h, m))
        }
        Some(_) => {
            return fail(
                Kind::Datetime,
                "seconds must be followed by a fraction or a timezone ('Z' or ±HH:MM)",
            )
        }
    };
    if at != b.len() {
        return fail(Kind::Datetime, "nothing may follow the timezone");
    }
    Ok(Fields {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
        fraction,
        offset,
    })
}

/// A datetime that names a real instant: its UTC instant plus the offset it was written with.
///
/// Orders by instant first. The written form is not kept; per the spec, records should carry
/// the original string to round-trip exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datetime {
    unix_seconds: i64,
    nanos: u32,
    offset_minutes: i16,
}

/// 0000-01-01T00:00:00Z: the spec disallows datetimes before year zero.
const MIN_UNIX_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z: the last second a four-digit year can write.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Parses a datetime: the syntax of [`validate_datetime`], plus month 01–12, a day that exists
/// in that month (leap years included), hour 00–23, minute 00–59, second 00–59 (no leap
/// seconds), offset hours 00–23 and minutes 00–59, and an instant that normalises to UTC within
/// 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999…Z. Fraction digits past nanoseconds are
/// dropped.
pub fn parse_datetime(s: &str) -> Result<Datetime, SyntaxError> {
    let f = scan(s)?;
    if !(1..=12).contains(&f.month) {
        return fail(Kind::Datetime, "month must be 01-12");
    }
    if f.day == 0 || f.day > days_in_month(f.year, f.month) {
        return fail(Kind::Datetime, "day does not exist in that month");
    }
    if f.hour > 23 {
        return fail(Kind::Datetime, "hour must be 00-23");
    }
    if f.minute > 59 {
        return fail(Kind::Datetime, "minute must be 00-59");
    }
    if f.second > 59 {
        return fail(
            Kind::Datetime,
            "second must be 00-59 (leap seconds are not supported)",
        );
    }
    let offset_minutes = match f.offset {
        None => 0,
        Some((_, h, _)) if h > 23 => {
            return fail(Kind::Datetime, "timezone offset hours must be 00-23")
        }
        Some((_, _, m)) if m > 59 => {
            return fail(Kind::Datetime, "timezone offset minutes must be 00-59")
        }
        Some((sign, h, m)) => sign * i64::from(h * 60 + m),
    };
    let local = days_from_civil(f.year, f.month, f.day) * 86_400
        + i64::from(f.hour * 3600 + f.minute * 60 + f.second);
    let unix_seconds = local - offset_minutes * 60;
    if unix_seconds < MIN_UNIX_SECONDS {
        return fail(Kind::Datetime, "normalises to a time before year 0000");
    }
    if unix_seconds > MAX_UNIX_SECONDS {
        return fail(Kind::Datetime, "normalises to a time after year 9999");
    }
    // The first nine fraction digits, right-padded with zeros.
    let nanos = (0..9).fold(0u32, |acc, i| {
        acc * 10 + f.fraction.get(i).map_or(0, |c| u32::from(c - b'0'))
    });
    Ok(Datetime {
        unix_seconds,
        nanos,
        // |offset| < 24 h = 1440 min fits in i16.
        offset_minutes: offset_minutes as i16,
    })
}

impl Datetime {
    /// The instant `micros` microseconds after the UNIX epoch, written in UTC; `Err` outside
    /// the years 0000–9999.
    pub fn from_unix_micros(micros: i64) -> Result<Datetime, SyntaxError> {
        let unix_seconds = micros.div_euclid(1_000_000);
        if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&unix_seconds) {
            return fail(Kind::Datetime, "outside the years 0000-9999");
        }
        Ok(Datetime {
            unix_seconds,
            nanos: (micros.rem_euclid(1_000_000) * 1000) as u32,
            offset_minutes: 0,
        })
    }

    /// The current time from the system clock, in UTC.
    pub fn now() -> Datetime {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Datetime {
            // A system clock past the year 9999 is not a case worth an error path.
            unix_seconds: i64::try_from(since.as_secs())
                .unwrap_or(MAX_UNIX_SECONDS)
                .min(MAX_UNIX_SECONDS),
            nanos: since.subsec_nanos(),
            offset_minutes: 0,
        }
    }

    /// Whole seconds since the UNIX epoch (negative before 1970).
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// Nanoseconds past [`unix_seconds`](Self::unix_seconds).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Microseconds since the UNIX epoch (rounded down); the unit TIDs use.
    pub fn unix_micros(&self) -> i64 {
        self.unix_seconds * 1_000_000 + i64::from(self.nanos / 1000)
    }

    /// The offset from UTC the datetime was written with, in minutes (0 for `Z`).
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// The instant in the spec's preferred form: UTC, `Z`, millisecond precision, e.g.
    /// `1985-04-12T23:20:50.123Z`.
    pub fn to_rfc3339_millis(&self) -> String {
        let days = self.unix_seconds.div_euclid(86_400);
        let secs = self.unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            self.nanos / 1_000_000
        )
    }
}

impl std::str::FromStr for Datetime {
    type Err = SyntaxError;

    fn from_str(s: &str) -> Result<Datetime, SyntaxError> {
        parse_datetime(s)
    }
}

fn is_leap_year(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Proleptic Gregorian calendar <-> days since 1970-01-01. Years are counted from March, so the
// leap day falls at the end of a year and each 400-year era has exactly 146,097 days.
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01 (the start of era 0) to 1970-01-01.
const EPOCH_OFFSET_DAYS: i64 = 719_468;

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_OFFSET_DAYS
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + EPOCH_OFFSET_DAYS;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(0, 1, 1) * 86_400, MIN_UNIX_SECONDS);
        assert_eq!(
            days_from_civil(9999, 12, 31) * 86_400 + 86_399,
            MAX_UNIX_SECONDS
        );
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_instants_and_offsets() {
        let t = parse_datetime("1985-04-12T23:20:50.123Z").unwrap();
        assert_eq!(t.unix_seconds(), 482_196_050);
        assert_eq!(t.subsec_nanos(), 123_000_000);
        assert_eq!(t.unix_micros(), 482_196_050_123_000);
        let shifted = parse_datetime("1985-04-13T01:20:50.123+02:00").unwrap();
        assert_eq!(shifted.unix_seconds(), t.unix_seconds());
        assert_eq!(shifted.offset_minutes(), 120);
        let west = parse_datetime("1985-04-12T16:20:50.123-07:00").unwrap();
        assert_eq!(west.unix_seconds(), t.unix_seconds());
        assert_eq!(west.offset_minutes(), -420);
        let fine = parse_datetime("1985-04-12T23:20:50.1234567891234Z").unwrap();
        assert_eq!(fine.subsec_nanos(), 123_456_789);
        assert_eq!(t.to_rfc3339_millis(), "1985-04-12T23:20:50.123Z");
        assert_eq!(west.to_rfc3339_millis(), "1985-04-12T23:20:50.123Z");
    }

    #[test]
    fn value_rules() {
        for (bad, rule) in [
            ("1985-02-29T00:00:00Z", "day does not exist in that month"),
            ("1900-02-29T00:00:00Z", "day does not exist in that month"),
            ("1985-04-31T00:00:00Z", "day does not exist in that month"),
            (
                "1985-04-12T23:59:60Z",
                "second must be 00-59 (leap seconds are not supported)",
            ),
            ("1985-04-12T24:00:00Z", "hour must be 00-23"),
            (
                "1985-04-12T23:00:00+24:00",
                "timezone offset hours must be 00-23",
            ),
            (
                "1985-04-12T23:00:00+01:60",
                "timezone offset minutes must be 00-59",
            ),
            (
                "0000-01-01T00:00:00+00:01",
                "normalises to a time before year 0000",
            ),
            (
                "9999-12-31T23:59:59.999-23:59",
                "normalises to a time after year 9999",
            ),
        ] {
            assert_eq!(validate_datetime(bad), Ok(()), "{bad}");
            assert_eq!(parse_datetime(bad).unwrap_err().rule(), rule, "{bad}");
        }
        for ok in [
            "2000-02-29T00:00:00Z",
            "0000-01-01T00:00:00.000Z",
            "0000-01-01T00:00:00-23:59",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            assert!(parse_datetime(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn syntax_rules() {
        for (bad, rule) in [
            ("1985-04-12", "time is required after the date"),
            (
                "1985-04-12t23:20:50Z",
                "date and time must be separated by an uppercase 'T'",
            ),
            (
                "1985-04-12T23:20Z",
                "time must be HH:MM:SS, zero-padded, with whole seconds",
            ),
            (
                "1985-04-12T23:20:50",
                "timezone is required ('Z' or ±HH:MM)",
            ),
            (
                "1985-04-12T23:20:50.Z",
                "fractional seconds must be one or more digits after '.'",
            ),
            ("1985-04-12T23:20:50z", "timezone 'Z' must be uppercase"),
            ("1985-04-12T23:20:50+0000", "timezone offset must be ±HH:MM"),
            (
                "1985-04-12T23:20:50-00:00",
                "timezone offset -00:00 is not allowed",
            ),
            ("1985-04-12T23:20:50ZZ", "nothing may follow the timezone"),
            (
                "+001985-04-12T23:20:50Z",
                "date must be YYYY-MM-DD, zero-padded, with a 4-digit year",
            ),
        ] {
            assert_eq!(validate_datetime(bad).unwrap_err().rule(), rule, "{bad}");
        }
        let long = format!("1985-04-12T23:20:50.{}Z", "1".repeat(44));
        assert_eq!(long.len(), 65);
        assert_eq!(
            validate_datetime(&long).unwrap_err().rule(),
            "longer than 64 characters"
        );
        let at_limit = format!("1985-04-12T23:20:50.{}Z", "1".repeat(43));
        assert_eq!(validate_datetime(&at_limit), Ok(()));
    }

    #[test]
    fn micros_round_trip() {
        for micros in [0, 1, -1, 482_196_050_123_456, -62_167_219_200_000_000] {
            let t = Datetime::from_unix_micros(micros).unwrap();
            assert_eq!(t.unix_micros(), micros);
            let millis = parse_datetime(&t.to_rfc3339_millis()).unwrap();
            assert_eq!(millis.unix_micros(), micros - micros.rem_euclid(1000));
        }
        assert!(Datetime::from_unix_micros(i64::MIN).is_err());
        assert!(Datetime::now().unix_seconds() > 1_700_000_000);
    }
}
