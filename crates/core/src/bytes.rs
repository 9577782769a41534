//! Byte comparisons for the memo tables of every stage.

/// Values at most this long are compared in a few loads, without a call to the C library's
/// `memcmp`: most remembered values (addresses, user names, header values, routes, paths)
/// are this short, and for them the call costs more than the comparison.
pub const INLINE_COMPARE_BYTES_MAX: usize = 32;

/// Whether `a` and `b` hold the same bytes (`a == b`).
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn word<const N: usize>(v: &[u8], at: usize) -> [u8; N] {
        v[at..at + N].try_into().expect("N bytes")
    }
    // Loads from each end, overlapping in the middle, cover every byte.
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        17..=INLINE_COMPARE_BYTES_MAX => {
            word::<16>(a, 0) == word::<16>(b, 0) && word::<16>(a, n - 16) == word::<16>(b, n - 16)
        }
        _ => a == b,
    }
}

/// The value of one ASCII hex digit (`0-9`, `a-f`, `A-F`).
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_slice_equality() {
        // Every length up to past the inline limit, equal and differing at each position.
        for n in 0..INLINE_COMPARE_BYTES_MAX + 10 {
            let a: Vec<u8> = (0..n).map(|i| u8::try_from(i * 7 % 251).unwrap()).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{n} {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_bytes(&a, &longer) && !same_bytes(&longer, &a), "{n}");
        }
    }
}
