//! Event times as servers write them: the common log format's `10/Oct/2000:13:55:36 -0700`,
//! epoch seconds with a fraction (`1468858825.123`) and RFC 3339, all to UTC milliseconds.

use apiwatch_core::time::{civil_to_ms, days_from_civil, parse_rfc3339_ms, MINUTE_MS, SECOND_MS};
use std::cell::Cell;

/// Bytes in a common-log-format time (`10/Oct/2000:13:55:36 -0700`), without brackets.
pub(crate) const CLF_TIME_BYTES: usize = 26;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

const fn month_key(m: &[u8; 3]) -> u32 {
    u32::from_le_bytes([m[0], m[1], m[2], 0])
}

/// The abbreviations as integers: finding a month is then 12 integer compares instead of 12
/// slice compares, and this runs once per access-log line.
const MONTH_KEYS: [u32; 12] = {
    let mut keys = [0; 12];
    let mut i = 0;
    while i < 12 {
        keys[i] = month_key(MONTHS[i]);
        i += 1;
    }
    keys
};

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        // February: the days until March, which settles leap years by the calendar itself.
        2 => {
            (days_from_civil(i64::from(year), 3, 1) - days_from_civil(i64::from(year), 2, 1)) as u32
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of two ASCII digits.
fn two_digits(tens: u8, ones: u8) -> Option<u32> {
    let (t, o) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (t < 10 && o < 10).then_some(u32::from(t) * 10 + u32::from(o))
}

/// The date and zone of a common-log-format time (`10/Oct/2000` and `-0700`, without the
/// space between them, which is checked on its own) as one integer: a day is then told from
/// the last one with a single compare.
type DayKey = u128;

fn day_key(b: &[u8; CLF_TIME_BYTES]) -> DayKey {
    let mut key = [0; 16];
    key[..11].copy_from_slice(&b[..11]);
    key[11..].copy_from_slice(&b[21..]);
    u128::from_le_bytes(key)
}

thread_local! {
    /// The last day (date and zone) read on this thread and the UTC time of its local
    /// midnight. Lines of a file share their day, and decoding workers each read runs of
    /// lines: the date is then validated and converted once per day instead of once per line.
    static LAST_DAY: Cell<Option<(DayKey, i64)>> = const { Cell::new(None) };
}

/// A common-log-format time (exactly [`CLF_TIME_BYTES`] bytes) as UTC milliseconds.
pub(crate) fn clf_time_ms(b: &[u8]) -> Option<i64> {
    // A fixed-size array: every index below is checked at compile time, none at run time.
    let b: &[u8; CLF_TIME_BYTES] = b.try_into().ok()?;
    if b[11] != b':' || b[14] != b':' || b[17] != b':' || b[20] != b' ' {
        return None;
    }
    let hour = two_digits(b[12], b[13])?;
    let min = two_digits(b[15], b[16])?;
    let sec = two_digits(b[18], b[19])?;
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let key = day_key(b);
    let midnight_ms = match LAST_DAY.get() {
        Some((last, ms)) if last == key => ms,
        _ => {
            let mut date = [0; 11];
            date.copy_from_slice(&b[..11]);
            let mut zone = [0; 6];
            zone.copy_from_slice(&b[20..]);
            let ms = local_midnight_utc_ms(&date, &zone)?;
            LAST_DAY.set(Some((key, ms)));
            ms
        }
    };
    // A leap second is read as the last second of its minute, as core's RFC 3339 reader does.
    let seconds = i64::from(hour * 3600 + min * 60 + sec.min(59));
    Some(midnight_ms + seconds * SECOND_MS)
}

/// UTC milliseconds of local midnight of `dd/Mon/yyyy` in the zone ` +hhmm`, or `None` when
/// either is not valid.
fn local_midnight_utc_ms(date: &[u8; 11], zone: &[u8; 6]) -> Option<i64> {
    if date[2] != b'/' || date[6] != b'/' || zone[0] != b' ' {
        return None;
    }
    let day = two_digits(date[0], date[1])?;
    let key = month_key(&[date[3], date[4], date[5]]);
    let month = MONTH_KEYS.iter().position(|&k| k == key)? as u32 + 1;
    let year = two_digits(date[7], date[8])? * 100 + two_digits(date[9], date[10])?;
    let sign: i64 = match zone[1] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off_h = two_digits(zone[2], zone[3])?;
    let off_m = two_digits(zone[4], zone[5])?;
    if day == 0 || day > days_in_month(year, month) || off_h > 23 || off_m > 59 {
        return None;
    }
    let local = civil_to_ms(i64::from(year), month, day, 0, 0, 0, 0);
    Some(local - sign * i64::from(off_h * 60 + off_m) * MINUTE_MS)
}

/// Epoch seconds with an optional fraction (nginx `$msec`, Apache `%{sec}t`) as milliseconds.
pub(crate) fn epoch_seconds_ms(b: &[u8]) -> Option<i64> {
    let ns = crate::access::text::number::seconds_to_ns(b)?;
    i64::try_from(ns / 1_000_000).ok()
}

/// Epoch milliseconds (Apache `%{msec}t`).
pub(crate) fn epoch_millis_ms(b: &[u8]) -> Option<i64> {
    i64::try_from(crate::access::text::number::count(b)?).ok()
}

/// Epoch microseconds (Apache `%{usec}t`) as milliseconds.
pub(crate) fn epoch_micros_ms(b: &[u8]) -> Option<i64> {
    i64::try_from(crate::access::text::number::count(b)? / 1_000).ok()
}

/// An RFC 3339 time (`2016-04-15T20:17:00.310Z`, nginx `$time_iso8601`) as milliseconds.
pub(crate) fn rfc3339_ms(b: &[u8]) -> Option<i64> {
    // Longer than any RFC 3339 time: refuse before the core parser copies it into its error.
    if b.len() > 40 {
        return None;
    }
    parse_rfc3339_ms(std::str::from_utf8(b).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::time::format_rfc3339_ms;

    fn clf(s: &str) -> Option<String> {
        clf_time_ms(s.as_bytes()).map(format_rfc3339_ms)
    }

    #[test]
    fn common_log_times_convert_to_utc() {
        assert_eq!(clf("10/Oct/2000:13:55:36 -0700").as_deref(), Some("2000-10-10T20:55:36.000Z"));
        assert_eq!(clf("26/Dec/2016:16:16:29 +0200").as_deref(), Some("2016-12-26T14:16:29.000Z"));
        assert_eq!(clf("01/Jan/2017:00:30:00 +0100").as_deref(), Some("2016-12-31T23:30:00.000Z"));
        assert_eq!(clf("29/Feb/2024:12:00:00 +0000").as_deref(), Some("2024-02-29T12:00:00.000Z"));
        assert_eq!(clf("29/Feb/2023:12:00:00 +0000"), None);
        assert_eq!(clf("31/Apr/2023:12:00:00 +0000"), None);
        assert_eq!(clf("10/oct/2000:13:55:36 -0700"), None);
        assert_eq!(clf("10/Oct/2000:24:00:00 -0700"), None);
        assert_eq!(clf("10/Oct/2000:13:55:36 0700"), None);
        assert_eq!(clf("10/Oct/2000:13:55:36 -0700 "), None);
        assert_eq!(clf("1/Oct/2000:13:55:36 -0700"), None);
    }

    /// The definition the cached reader must agree with.
    fn clf_by_definition(b: &[u8]) -> Option<i64> {
        let b: &[u8; CLF_TIME_BYTES] = b.try_into().ok()?;
        if b[2] != b'/'
            || b[6] != b'/'
            || b[11] != b':'
            || b[14] != b':'
            || b[17] != b':'
            || b[20] != b' '
        {
            return None;
        }
        let day = two_digits(b[0], b[1])?;
        let key = month_key(&[b[3], b[4], b[5]]);
        let month = MONTH_KEYS.iter().position(|&k| k == key)? as u32 + 1;
        let year = two_digits(b[7], b[8])? * 100 + two_digits(b[9], b[10])?;
        let (hour, min, sec) =
            (two_digits(b[12], b[13])?, two_digits(b[15], b[16])?, two_digits(b[18], b[19])?);
        let sign: i64 = match b[21] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (off_h, off_m) = (two_digits(b[22], b[23])?, two_digits(b[24], b[25])?);
        if day == 0 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 60 {
            return None;
        }
        if off_h > 23 || off_m > 59 {
            return None;
        }
        let local = civil_to_ms(i64::from(year), month, day, hour, min, sec.min(59), 0);
        Some(local - sign * i64::from(off_h * 60 + off_m) * MINUTE_MS)
    }

    proptest::proptest! {
        /// Runs of times that share or change their day, damaged anywhere, read as the
        /// definition reads them whatever the cache holds.
        #[test]
        fn cached_days_read_as_the_definition(
            times in proptest::collection::vec(
                (0usize..3, 0u32..25, 0u32..61, 0u32..62, 0usize..27, proptest::sample::select(b"0917/:+- xO".to_vec())),
                1..40,
            )
        ) {
            let days = ["29/Feb/2024", "31/Dec/1999", "01/Jan/2000"];
            let zones = [" +0000", " -0700", " +0530"];
            for (d, h, m, s, at, byte) in times {
                let mut t = format!("{}:{h:02}:{m:02}:{s:02}{}", days[d], zones[(h as usize) % 3]).into_bytes();
                if at < t.len() && h % 2 == 0 {
                    t[at] = byte;
                }
                proptest::prop_assert_eq!(clf_time_ms(&t), clf_by_definition(&t));
            }
        }
    }

    #[test]
    fn epoch_and_rfc3339() {
        assert_eq!(epoch_seconds_ms(b"1468858825.123"), Some(1_468_858_825_123));
        assert_eq!(epoch_millis_ms(b"1468858825123"), Some(1_468_858_825_123));
        assert_eq!(epoch_micros_ms(b"1468858825123456"), Some(1_468_858_825_123));
        assert_eq!(rfc3339_ms(b"2016-04-15T20:17:00.310Z"), Some(1_460_751_420_310));
        assert_eq!(rfc3339_ms(b"2018-07-02T22:23:00.186641Z"), Some(1_530_570_180_186));
        assert_eq!(rfc3339_ms(b"yesterday"), None);
    }
}
