//! IBANs: a country's exact length and a valid ISO 7064 mod-97 check, written in one piece or
//! in groups of four separated by single spaces.

/// IBAN lengths by country (SWIFT IBAN registry). A two-letter start not listed is no IBAN.
#[rustfmt::skip]
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22),
    (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DJ", 27), (b"DK", 18), (b"DO", 28), (b"EE", 20),
    (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22),
    (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HR", 21), (b"HU", 28),
    (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30), (b"KW", 30),
    (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21),
    (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22), (b"MK", 19), (b"MN", 20), (b"MR", 27),
    (b"MT", 31), (b"MU", 30), (b"NI", 28), (b"NL", 18), (b"NO", 15), (b"OM", 23), (b"PK", 24),
    (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"RU", 33),
    (b"SA", 24), (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27),
    (b"SO", 23), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26), (b"UA", 29),
    (b"VA", 22), (b"VG", 24), (b"XK", 20), (b"YE", 30),
];

/// Longest IBAN of any country.
const IBAN_CHARS_MAX: usize = 34;

/// If an IBAN starts at `start` (an upper-case letter standing alone), the index after it.
pub(super) fn match_at(body: &[u8], start: usize) -> Option<usize> {
    let head = body.get(start..start + 4)?;
    if !(head[2].is_ascii_digit() && head[3].is_ascii_digit()) {
        return None;
    }
    let &(_, length) = LENGTHS.iter().find(|(cc, _)| cc[..] == head[..2])?;
    let mut chars = [0u8; IBAN_CHARS_MAX];
    let mut taken = 0;
    let mut i = start;
    while taken < length {
        let b = *body.get(i)?;
        if b == b' ' && taken % 4 == 0 && taken > 0 && body[i - 1] != b' ' {
            // One space between groups of four, as IBANs are printed.
            i += 1;
            continue;
        }
        if !(b.is_ascii_digit() || b.is_ascii_uppercase()) {
            return None;
        }
        chars[taken] = b;
        taken += 1;
        i += 1;
    }
    if body.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        return None;
    }
    let chars = &chars[..length];
    mod97(chars.iter().skip(4).chain(&chars[..4])).then_some(i)
}

/// The ISO 7064 check over the rearranged characters: letters count as two digits (A = 10).
fn mod97<'a>(chars: impl Iterator<Item = &'a u8>) -> bool {
    let mut rem = 0u32;
    for &c in chars {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c - b'A' + 10)) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_ibans() {
        for iban in [
            "GB82WEST12345698765432",
            "GB82 WEST 1234 5698 7654 32",
            "DE89370400440532013000",
            "FR1420041010050500013M02606",
            "NO9386011117947",
        ] {
            assert_eq!(match_at(iban.as_bytes(), 0), Some(iban.len()), "{iban}");
        }
        for bad in [
            "GB83WEST12345698765432",
            "GB82WEST1234569876543",
            "GB82WEST123456987654321",
            "GB82  WEST 1234 5698 7654 32",
            "ZZ82WEST12345698765432",
            "gb82west12345698765432",
        ] {
            assert_eq!(match_at(bad.as_bytes(), 0), None, "{bad}");
        }
    }
}
