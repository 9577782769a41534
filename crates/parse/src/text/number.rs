//! Numbers as servers write them: counts, status codes and durations in decimal seconds or
//! milliseconds, converted exactly (no floating point) to the event's units.

/// A decimal count (bytes, milliseconds). At most 19 digits, so it always fits.
pub(crate) fn count(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// An HTTP status code: one to three digits.
pub(crate) fn status(raw: &[u8]) -> Option<u16> {
    if raw.is_empty() || raw.len() > 3 {
        return None;
    }
    count(raw).and_then(|v| u16::try_from(v).ok())
}

/// Decimal seconds (`0.123`, `12`, `1.5`) as nanoseconds; digits past the ninth decimal are
/// dropped. `None` for anything else, including negative values such as ALB's `-1`.
pub(crate) fn seconds_to_ns(raw: &[u8]) -> Option<u64> {
    match raw.iter().position(|&b| b == b'.') {
        Some(dot) => seconds_with_fraction_to_ns(raw, dot),
        None => count(raw)?.checked_mul(NS_PER_SECOND),
    }
}

/// Decimal seconds that must have a fraction (`0.000`): how nginx writes `$request_time`,
/// which tells it apart from integer fields appended after it.
pub(crate) fn fractional_seconds_to_ns(raw: &[u8]) -> Option<u64> {
    let dot = raw.iter().position(|&b| b == b'.')?;
    seconds_with_fraction_to_ns(raw, dot)
}

const NS_PER_SECOND: u64 = 1_000_000_000;

/// `int.frac` seconds with the dot at `dot`, the integer part not empty.
fn seconds_with_fraction_to_ns(raw: &[u8], dot: usize) -> Option<u64> {
    let (int, frac) = (&raw[..dot], &raw[dot + 1..]);
    let mut frac_ns = 0u64;
    // Nanoseconds of the next decimal: 100 ms, 10 ms, … 1 ns, then 0 past the ninth.
    let mut unit = NS_PER_SECOND;
    for &b in frac {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        unit /= 10;
        frac_ns += u64::from(digit) * unit;
    }
    count(int)?.checked_mul(NS_PER_SECOND)?.checked_add(frac_ns)
}

/// Integer milliseconds as nanoseconds.
pub(crate) fn millis_to_ns(raw: &[u8]) -> Option<u64> {
    count(raw)?.checked_mul(1_000_000)
}

/// Integer microseconds as nanoseconds.
pub(crate) fn micros_to_ns(raw: &[u8]) -> Option<u64> {
    count(raw)?.checked_mul(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decimal seconds by definition: each decimal weighed by its place, the tenth and later
    /// dropped.
    fn seconds_by_definition(raw: &str) -> Option<u64> {
        let (int, frac) = raw.split_once('.')?;
        if int.is_empty() || int.len() > 19 || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut nanos = frac.to_string();
        nanos.truncate(9);
        while nanos.len() < 9 {
            nanos.push('0');
        }
        let frac_ns: u64 = nanos.parse().ok()?;
        int.parse::<u64>().ok()?.checked_mul(NS_PER_SECOND)?.checked_add(frac_ns)
    }

    proptest::proptest! {
        #[test]
        fn fractions_read_as_the_definition(raw in "[0-9]{0,21}\\.[0-9x]{0,14}") {
            proptest::prop_assert_eq!(fractional_seconds_to_ns(raw.as_bytes()), seconds_by_definition(&raw));
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(count(b"2326"), Some(2326));
        assert_eq!(count(b"9999999999999999999"), Some(9_999_999_999_999_999_999));
        assert_eq!(count(b"99999999999999999999"), None);
        assert_eq!(count(b"-"), None);
        assert_eq!(count(b""), None);
        assert_eq!(status(b"404"), Some(404));
        assert_eq!(status(b"4040"), None);
        assert_eq!(seconds_to_ns(b"0.123"), Some(123_000_000));
        assert_eq!(seconds_to_ns(b"2"), Some(2_000_000_000));
        assert_eq!(seconds_to_ns(b"1.0000000019"), Some(1_000_000_001));
        assert_eq!(seconds_to_ns(b"-1"), None);
        assert_eq!(seconds_to_ns(b".5"), None);
        assert_eq!(seconds_to_ns(b"1.x"), None);
        assert_eq!(seconds_to_ns(b"99999999999"), None);
        assert_eq!(fractional_seconds_to_ns(b"12"), None);
        assert_eq!(fractional_seconds_to_ns(b"0.000"), Some(0));
        assert_eq!(seconds_to_ns(b"1.2.3"), None);
        assert_eq!(seconds_to_ns(b"1."), Some(1_000_000_000));
        assert_eq!(seconds_to_ns(b""), None);
        assert_eq!(fractional_seconds_to_ns(b"."), None);
        assert_eq!(millis_to_ns(b"226"), Some(226_000_000));
        assert_eq!(micros_to_ns(b"1500"), Some(1_500_000));
    }
}
