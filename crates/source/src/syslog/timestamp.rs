//! Timestamps: RFC 3339 as RFC 5424 (and rsyslog in BSD messages) writes them, and the BSD
//! `Mmm dd hh:mm:ss`, whose year and zone the receiver supplies.

use apiwatch_core::time::{civil_to_ms, days_from_civil, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

use super::cursor::Cursor;
use super::{ReceiveContext, SyslogError};

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Most fraction digits read: RFC 5424 allows 6, some senders write nanoseconds.
const FRACTION_DIGITS_MAX: usize = 9;

fn days_in_month(year: i64, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    (days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1)) as u32
}

/// `hh:mm:ss`, checked.
fn time_of_day(cursor: &mut Cursor<'_>) -> Result<(u32, u32, u32), SyslogError> {
    let at = cursor.at;
    let hour = cursor.digits(2, "a two-digit hour")?;
    if hour > 23 {
        return Err(cursor.error_at(at, "an hour of at most 23"));
    }
    cursor.expect(b':', "':' after the hour")?;
    let at = cursor.at;
    let minute = cursor.digits(2, "two-digit minutes")?;
    if minute > 59 {
        return Err(cursor.error_at(at, "minutes of at most 59"));
    }
    cursor.expect(b':', "':' after the minutes")?;
    let at = cursor.at;
    let second = cursor.digits(2, "two-digit seconds")?;
    if second > 59 {
        return Err(cursor.error_at(at, "seconds of at most 59"));
    }
    Ok((hour, minute, second))
}

/// `.fff…` if present: milliseconds (digits past the third are read and dropped).
fn fraction_ms(cursor: &mut Cursor<'_>) -> Result<u32, SyslogError> {
    if !cursor.eat(b'.') {
        return Ok(0);
    }
    let mut ms = 0;
    let mut count = 0;
    while let Some(b @ b'0'..=b'9') = cursor.peek() {
        if count == FRACTION_DIGITS_MAX {
            return Err(cursor.error("at most 9 fraction digits"));
        }
        if count < 3 {
            ms = ms * 10 + u32::from(b - b'0');
        }
        count += 1;
        cursor.at += 1;
    }
    if count == 0 {
        return Err(cursor.error("fraction digits after '.'"));
    }
    Ok(ms * 10u32.pow(3usize.saturating_sub(count) as u32))
}

/// An RFC 3339 timestamp: `2003-10-11T22:14:15.003Z`, `2003-08-24T05:14:15.000003-07:00`.
pub(super) fn rfc3339_ms(cursor: &mut Cursor<'_>) -> Result<i64, SyslogError> {
    let year = cursor.digits(4, "a four-digit year")?;
    cursor.expect(b'-', "'-' after the year")?;
    let at = cursor.at;
    let month = cursor.digits(2, "a two-digit month")?;
    if !(1..=12).contains(&month) {
        return Err(cursor.error_at(at, "a month from 01 to 12"));
    }
    cursor.expect(b'-', "'-' after the month")?;
    let at = cursor.at;
    let day = cursor.digits(2, "a two-digit day")?;
    if day == 0 || day > days_in_month(i64::from(year), month) {
        return Err(cursor.error_at(at, "a day of the month"));
    }
    cursor.expect(b'T', "'T' between date and time")?;
    let (hour, minute, second) = time_of_day(cursor)?;
    let ms = fraction_ms(cursor)?;
    let offset_ms = match cursor.peek() {
        Some(b'Z') => {
            cursor.at += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            cursor.at += 1;
            let at = cursor.at;
            let hours = cursor.digits(2, "a two-digit offset hour")?;
            if hours > 23 {
                return Err(cursor.error_at(at, "an offset hour of at most 23"));
            }
            cursor.expect(b':', "':' in the offset")?;
            let at = cursor.at;
            let minutes = cursor.digits(2, "two-digit offset minutes")?;
            if minutes > 59 {
                return Err(cursor.error_at(at, "offset minutes of at most 59"));
            }
            let offset = i64::from(hours) * HOUR_MS + i64::from(minutes) * MINUTE_MS;
            if sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err(cursor.error("'Z' or an offset like +01:00")),
    };
    Ok(civil_to_ms(i64::from(year), month, day, hour, minute, second, ms) - offset_ms)
}

/// Whether a BSD timestamp (`Mmm `) starts here.
pub(super) fn starts_bsd(cursor: &Cursor<'_>) -> bool {
    let rest = cursor.rest();
    rest.len() >= 4 && rest[3] == b' ' && MONTHS.iter().any(|m| rest[..3] == m[..])
}

/// `Mmm dd hh:mm:ss` (day padded with a space or not, optional fraction), in the year that
/// puts it nearest to the receive time without being more than a day after it.
pub(super) fn bsd_ms(
    cursor: &mut Cursor<'_>,
    context: &ReceiveContext,
) -> Result<i64, SyslogError> {
    debug_assert!(starts_bsd(cursor));
    let month = MONTHS.iter().position(|m| cursor.rest()[..3] == m[..]).unwrap() as u32 + 1;
    cursor.at += 4;
    cursor.eat(b' ');
    let at = cursor.at;
    let first = cursor.digits(1, "a day of the month")?;
    let day = match cursor.peek() {
        Some(b @ b'0'..=b'9') => {
            cursor.at += 1;
            first * 10 + u32::from(b - b'0')
        }
        _ => first,
    };
    if !(1..=31).contains(&day) {
        return Err(cursor.error_at(at, "a day of the month"));
    }
    cursor.expect(b' ', "a space after the day")?;
    let (hour, minute, second) = time_of_day(cursor)?;
    let ms = fraction_ms(cursor)?;
    nearest_year_ms(month, day, (hour, minute, second, ms), context)
        .ok_or(cursor.error_at(at, "a day that exists in a year near the receive time"))
}

/// The time of a year-less local date nearest to `context.now_ms` and not more than a day
/// after it (clocks differ, but a log is not written in the future). February 29 looks as far
/// back as the last leap year.
fn nearest_year_ms(
    month: u32,
    day: u32,
    (hour, minute, second, ms): (u32, u32, u32, u32),
    context: &ReceiveContext,
) -> Option<i64> {
    let offset_ms = i64::from(context.local_offset_s) * SECOND_MS;
    let now_local_days = (context.now_ms + offset_ms).div_euclid(DAY_MS);
    let (now_year, _, _) = apiwatch_core::time::civil_from_days(now_local_days);
    (now_year - 4..=now_year + 1)
        .filter(|&year| day <= days_in_month(year, month))
        .map(|year| civil_to_ms(year, month, day, hour, minute, second, ms) - offset_ms)
        .filter(|&t| t <= context.now_ms + DAY_MS)
        .min_by_key(|&t| (t - context.now_ms).abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::time::format_rfc3339_ms;

    fn bsd(text: &str, now: &str) -> String {
        let now_ms = apiwatch_core::time::parse_rfc3339_ms(now).unwrap();
        let mut cursor = Cursor::new(text.as_bytes());
        format_rfc3339_ms(bsd_ms(&mut cursor, &ReceiveContext::utc(now_ms)).unwrap())
    }

    #[test]
    fn the_year_is_the_one_nearest_to_now_and_not_in_the_future() {
        assert_eq!(bsd("Nov 24 10:00:00", "2026-11-24T10:00:05Z"), "2026-11-24T10:00:00.000Z");
        // Sent just before the new year, received just after.
        assert_eq!(bsd("Dec 31 23:59:59", "2027-01-01T00:00:01Z"), "2026-12-31T23:59:59.000Z");
        // The sender's clock a little ahead, across the new year.
        assert_eq!(bsd("Jan  1 00:00:10", "2026-12-31T23:59:59Z"), "2027-01-01T00:00:10.000Z");
        // Two days ahead is not plausible: last year.
        assert_eq!(bsd("Nov 26 10:00:00", "2026-11-24T10:00:00Z"), "2025-11-26T10:00:00.000Z");
        assert_eq!(bsd("Feb 29 12:00:00", "2026-03-01T00:00:00Z"), "2024-02-29T12:00:00.000Z");
        assert_eq!(bsd("Nov 4 10:00:00.250", "2026-11-24T10:00:00Z"), "2026-11-04T10:00:00.250Z");
    }

    #[test]
    fn local_time_is_moved_to_utc() {
        let now_ms = apiwatch_core::time::parse_rfc3339_ms("2026-11-24T09:00:00Z").unwrap();
        let context = ReceiveContext { now_ms, local_offset_s: 3600 };
        let mut cursor = Cursor::new(b"Nov 24 10:00:00");
        let ms = bsd_ms(&mut cursor, &context).unwrap();
        assert_eq!(format_rfc3339_ms(ms), "2026-11-24T09:00:00.000Z");
    }

    #[test]
    fn rfc3339_fractions_and_offsets() {
        let read =
            |text: &str| rfc3339_ms(&mut Cursor::new(text.as_bytes())).map(format_rfc3339_ms);
        assert_eq!(read("2003-10-11T22:14:15.003Z").unwrap(), "2003-10-11T22:14:15.003Z");
        assert_eq!(read("2003-08-24T05:14:15.000003-07:00").unwrap(), "2003-08-24T12:14:15.000Z");
        assert_eq!(read("2024-11-24T10:00:00.5+01:00").unwrap(), "2024-11-24T09:00:00.500Z");
        assert_eq!(read("2024-11-24T10:00:00.123456789Z").unwrap(), "2024-11-24T10:00:00.123Z");
        assert_eq!(
            read("2024-02-30T10:00:00Z").unwrap_err(),
            SyslogError { column: 9, expected: "a day of the month" }
        );
        assert_eq!(read("2024-11-24T24:00:00Z").unwrap_err().column, 12);
        assert_eq!(
            read("2024-11-24T10:00:00").unwrap_err(),
            SyslogError { column: 20, expected: "'Z' or an offset like +01:00" }
        );
    }
}
