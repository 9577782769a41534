//! Event time: conversions between civil dates, RFC 3339 text and milliseconds since the epoch,
//! and human durations (`90s`, `5m`, `1h`, `7d`). No clock is read here.

use thiserror::Error;

/// Milliseconds in common units, so that arithmetic reads with its unit.
pub const SECOND_MS: i64 = 1_000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Milliseconds since the epoch of a UTC civil time.
pub fn civil_to_ms(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32, ms: u32) -> i64 {
    days_from_civil(year, month, day) * DAY_MS
        + i64::from(hour) * HOUR_MS
        + i64::from(min) * MINUTE_MS
        + i64::from(sec) * SECOND_MS
        + i64::from(ms)
}

/// Formats as RFC 3339 in UTC with milliseconds: `2026-11-23T20:31:00.000Z`.
pub fn format_rfc3339_ms(ts_ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    write_rfc3339_ms(ts_ms, &mut out);
    // Digits and ASCII punctuation only.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `ts_ms` as `format_rfc3339_ms` spells it, without the formatting machinery: every
/// stored event carries one.
pub fn write_rfc3339_ms(ts_ms: i64, out: &mut Vec<u8>) {
    let days = ts_ms.div_euclid(DAY_MS);
    let rem = ts_ms.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    let h = rem / HOUR_MS;
    let mi = (rem % HOUR_MS) / MINUTE_MS;
    let s = (rem % MINUTE_MS) / SECOND_MS;
    let ms = rem % SECOND_MS;
    if !(0..=9999).contains(&y) {
        // Years of other widths keep `format!`'s spelling (sign, more digits).
        out.extend_from_slice(
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z").as_bytes(),
        );
        return;
    }
    let digits = |out: &mut Vec<u8>, v: i64, width: u32| {
        for place in (0..width).rev() {
            out.push(b'0' + (v / 10i64.pow(place) % 10) as u8);
        }
    };
    digits(out, y, 4);
    out.push(b'-');
    digits(out, i64::from(mo), 2);
    out.push(b'-');
    digits(out, i64::from(d), 2);
    out.push(b'T');
    digits(out, h, 2);
    out.push(b':');
    digits(out, mi, 2);
    out.push(b':');
    digits(out, s, 2);
    out.push(b'.');
    digits(out, ms, 3);
    out.push(b'Z');
}

/// The hour of day (0–23, UTC) of an event time.
pub fn hour_of_day(ts_ms: i64) -> u32 {
    (ts_ms.rem_euclid(DAY_MS) / HOUR_MS) as u32
}

/// Why a time or duration could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("expected an RFC 3339 time like 2026-11-23T20:31:00Z, got {0:?}")]
    Rfc3339(String),
    #[error("expected a duration like 500ms, 30s, 5m, 1h or 7d, got {0:?}")]
    Duration(String),
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses RFC 3339 / ISO 8601 date-times: `2026-11-23T20:31:00Z`, with optional fraction
/// (any number of digits, kept to milliseconds), `Z`, `+hh:mm`, `+hhmm` or no offset (UTC),
/// and `T` or a space between date and time.
pub fn parse_rfc3339_ms(s: &str) -> Result<i64, TimeError> {
    let err = || TimeError::Rfc3339(s.chars().take(64).collect());
    let b = s.trim().as_bytes();
    let year = digits(b, 0, 4).ok_or_else(err)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(err());
    }
    let month = digits(b, 5, 2).filter(|m| (1..=12).contains(m)).ok_or_else(err)?;
    let day = digits(b, 8, 2).filter(|d| (1..=31).contains(d)).ok_or_else(err)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return Err(err());
    }
    let hour = digits(b, 11, 2).filter(|h| *h < 24).ok_or_else(err)?;
    let min = digits(b, 14, 2).filter(|m| *m < 60).ok_or_else(err)?;
    let (sec, mut i) = if b.get(16) == Some(&b':') {
        (digits(b, 17, 2).filter(|s| *s <= 60).ok_or_else(err)?, 19)
    } else {
        (0, 16)
    };
    let mut ms = 0u32;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                ms = ms * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(err());
        }
        for _ in (i - start)..3 {
            ms *= 10;
        }
    }
    let offset_min: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2).ok_or_else(err)?;
            let om = match b.get(i + 3) {
                Some(b':') => digits(b, i + 4, 2).filter(|_| b.len() == i + 6),
                Some(_) => digits(b, i + 3, 2).filter(|_| b.len() == i + 5),
                None => Some(0),
            }
            .ok_or_else(err)?;
            let m = i64::from(oh * 60 + om);
            if sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return Err(err()),
    };
    Ok(civil_to_ms(i64::from(year), month, day, hour, min, sec.min(59), ms)
        - offset_min * MINUTE_MS)
}

/// Parses a duration: an integer followed by `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration_ms(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| TimeError::Duration(s.to_string()))?;
    let mult = match unit {
        "ms" => 1,
        "s" => SECOND_MS,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        _ => return Err(TimeError::Duration(s.to_string())),
    };
    n.checked_mul(mult).ok_or_else(|| TimeError::Duration(s.to_string()))
}

/// Formats a duration in the largest unit that divides it (`90s`, `5m`, `1h`, `7d`).
pub fn format_duration_ms(ms: i64) -> String {
    for (unit, m) in [("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS), ("s", SECOND_MS)] {
        if ms != 0 && ms % m == 0 {
            return format!("{}{unit}", ms / m);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3339_examples() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_ms("2026-11-23T20:31:00.5Z").map(format_rfc3339_ms),
            Ok("2026-11-23T20:31:00.500Z".to_string())
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-23T22:31:00+02:00"),
            parse_rfc3339_ms("2026-11-23T20:31:00Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-23 20:31:00.123456"),
            parse_rfc3339_ms("2026-11-23T20:31:00.123Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-23T15:31:00-0500"),
            parse_rfc3339_ms("2026-11-23T20:31:00Z")
        );
        assert!(parse_rfc3339_ms("2026-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("yesterday").is_err());
        assert!(parse_rfc3339_ms("2026-11-23T20:31:00Zjunk").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("5m"), Ok(5 * MINUTE_MS));
        assert_eq!(parse_duration_ms("7d"), Ok(7 * DAY_MS));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert!(parse_duration_ms("5 minutes").is_err());
        assert!(parse_duration_ms("m").is_err());
        assert_eq!(format_duration_ms(90 * SECOND_MS), "90s");
        assert_eq!(format_duration_ms(DAY_MS), "1d");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ts in -62_135_596_800_000i64..253_402_300_799_999i64) {
            prop_assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ts)), Ok(ts));
        }

        #[test]
        fn written_as_format_spells_it(ts in any::<i64>().prop_map(|t| t / 1_000)) {
            let days = ts.div_euclid(DAY_MS);
            let rem = ts.rem_euclid(DAY_MS);
            let (y, mo, d) = civil_from_days(days);
            let (h, mi) = (rem / HOUR_MS, (rem % HOUR_MS) / MINUTE_MS);
            let (s, ms) = ((rem % MINUTE_MS) / SECOND_MS, rem % SECOND_MS);
            let spelled = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
            prop_assert_eq!(format_rfc3339_ms(ts), spelled);
        }
    }
}
