//! Digit runs: payment card numbers and US social security numbers. A run is read whole
//! (digits in groups joined by single spaces or dashes) and judged whole, so that pieces of
//! longer numbers (UUIDs, phone numbers, timestamps) are never taken for a card or an SSN.

/// Digits a card number may have at most; longer runs are read to their end and refused.
const CARD_DIGITS_MAX: usize = 19;
/// Groups a run may have and still be judged; more means a list of numbers, not one.
const RUN_GROUPS_MAX: usize = 5;

/// What a digit run turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Run {
    /// A Luhn-valid number of a known card issuer and length, in a card's grouping.
    Card,
    /// `ddd-dd-dddd` outside the never-issued ranges.
    Ssn,
    /// Anything else.
    Other,
}

/// Whether a byte joins the previous token so that a number starting after it is not
/// standing alone: `ORD-4111…`, `+4915…` (a phone number), `12.4111…`, `id_4111…`.
pub(super) fn joins(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-')
}

/// Reads the run starting at `start` (a digit standing alone) and judges it; returns the
/// judgement and the index after the run.
pub(super) fn judge_run(body: &[u8], start: usize) -> (Run, usize) {
    let mut digits = [0u8; CARD_DIGITS_MAX];
    let mut count = 0usize;
    let mut groups = [0usize; RUN_GROUPS_MAX];
    let mut group_count = 0usize;
    let mut separator = None;
    let mut mixed = false;
    let mut i = start;
    loop {
        let group_start = i;
        while i < body.len() && body[i].is_ascii_digit() {
            if count < CARD_DIGITS_MAX {
                digits[count] = body[i] - b'0';
            }
            count += 1;
            i += 1;
        }
        if group_count < RUN_GROUPS_MAX {
            groups[group_count] = i - group_start;
        }
        group_count += 1;
        match (body.get(i), body.get(i + 1)) {
            (Some(&sep @ (b' ' | b'-')), Some(next)) if next.is_ascii_digit() => {
                mixed |= separator.is_some_and(|s| s != sep);
                separator = Some(sep);
                i += 1;
            }
            _ => break,
        }
    }
    let end = i;
    // A number running into a word, or the integer part of a decimal, stands for nothing.
    let glued = match body.get(end) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => true,
        Some(b'.') => body.get(end + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    if glued || mixed || group_count > RUN_GROUPS_MAX {
        return (Run::Other, end);
    }
    let groups = &groups[..group_count];
    if separator == Some(b'-') && groups == [3, 2, 4] {
        let d = &digits[..9];
        return (if ssn_valid(d) { Run::Ssn } else { Run::Other }, end);
    }
    let card_grouping =
        matches!(groups, [_] | [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 6, 5] | [4, 6, 4]);
    if card_grouping && (13..=CARD_DIGITS_MAX).contains(&count) {
        let d = &digits[..count];
        if issuer_accepts(d) && luhn_valid(d) {
            return (Run::Card, end);
        }
    }
    (Run::Other, end)
}

/// Numbers the Social Security Administration never issues: area 000, 666 and 900–999,
/// group 00, serial 0000, and the specimen numbers printed on sample cards and in
/// advertisements (078-05-1120, 219-09-9999, 123-45-6789), which show up in test data.
fn ssn_valid(d: &[u8]) -> bool {
    let num = |s: &[u8]| s.iter().fold(0u32, |n, &x| n * 10 + u32::from(x));
    let (area, group, serial) = (num(&d[..3]), num(&d[3..5]), num(&d[5..9]));
    let specimen =
        matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999) | (123, 45, 6789));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !specimen
}

/// Issuer prefixes (IIN ranges) and the lengths each issues. UATP (prefix 1) is left out on
/// purpose: 13–19 digit numbers starting with 1 are mostly epoch timestamps and snowflake ids.
fn issuer_accepts(d: &[u8]) -> bool {
    let prefix = |n: usize| d[..n].iter().fold(0u32, |v, &x| v * 10 + u32::from(x));
    let len = d.len();
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let p6 = prefix(6);
    match p1 {
        // Visa.
        4 => matches!(len, 13 | 16 | 19),
        // Mastercard (51–55, 2221–2720) and Mir (2200–2204).
        5 if (51..=55).contains(&p2) => len == 16,
        2 if (2221..=2720).contains(&p4) => len == 16,
        2 if (2200..=2204).contains(&p4) => (16..=19).contains(&len),
        // Maestro ranges that are not also Mastercard's.
        5 if matches!(p4, 5018 | 5020 | 5038 | 5893) => (13..=19).contains(&len),
        // American Express (34, 37), Diners (300–305, 3095, 36, 38, 39), JCB (3528–3589).
        3 if matches!(p2, 34 | 37) => len == 15,
        3 if (300..=305).contains(&p3) || p4 == 3095 || matches!(p2, 36 | 38 | 39) => {
            (14..=19).contains(&len)
        }
        3 if (3528..=3589).contains(&p4) => (16..=19).contains(&len),
        // Discover (6011, 644–649, 65, 622126–622925), UnionPay (62), Maestro (6304, 67xx).
        6 if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => (16..=19).contains(&len),
        6 if p2 == 62 || (622126..=622925).contains(&p6) => (16..=19).contains(&len),
        6 if matches!(p4, 6304 | 6759 | 6761 | 6762 | 6763) => (13..=19).contains(&len),
        _ => false,
    }
}

/// The Luhn check digit test.
fn luhn_valid(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(n, &x)| {
            let x = u32::from(x);
            if n % 2 == 1 {
                let doubled = x * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(text: &str) -> Run {
        let (run, end) = judge_run(text.as_bytes(), 0);
        assert!(end <= text.len());
        run
    }

    #[test]
    fn cards_and_their_groupings() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "3782 822463 10005",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "6200000000000005",
            "4222222222222",
        ] {
            assert_eq!(judge(card), Run::Card, "{card}");
        }
        for other in [
            "4111111111111112",
            "41111 11111 11111 1",
            "4111 1111-1111 1111",
            "1700000000000000",
            "9111111111111111",
            "4111111111111111.50",
            "4111111111111111a",
            "411111111111111",
        ] {
            assert_eq!(judge(other), Run::Other, "{other}");
        }
    }

    #[test]
    fn ssn_ranges() {
        assert_eq!(judge("536-22-1458"), Run::Ssn);
        for bad in ["000-12-3456", "666-12-3456", "912-12-3456", "536-00-1458", "536-22-0000"] {
            assert_eq!(judge(bad), Run::Other, "{bad}");
        }
        for specimen in ["078-05-1120", "219-09-9999", "123-45-6789"] {
            assert_eq!(judge(specimen), Run::Other, "{specimen}");
        }
        assert_eq!(judge("536 22 1458"), Run::Other);
        assert_eq!(judge("536-22-14580"), Run::Other);
    }
}
