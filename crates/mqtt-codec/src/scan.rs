//! Byte scans for the checks every string and topic goes through: U+0000
//! in any UTF-8 string, and '+', '#' or U+0000 in a topic name. All three
//! are ASCII, so in UTF-8 they appear only as themselves (never inside a
//! multi-byte character) and a byte scan finds exactly them.
//!
//! The scans look at eight bytes at a time, with the classic "has a zero
//! byte" test, since the strings are short (topics, property values) and a
//! call to `memchr` or a byte loop costs more than the scan itself.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Non-zero exactly when some byte of `v` is zero.
const fn zero_byte(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Non-zero exactly when some byte of `v` is '+' (0x2B) or '#' (0x23):
/// they differ only in bit 3, so setting that bit maps both, and only
/// them, to 0x2B.
const fn wildcard_byte(v: u64) -> u64 {
    zero_byte((v | (ONES * 0x08)) ^ (ONES * 0x2b))
}

/// ORs `hit` over words that together hold every byte of `bytes` (some
/// bytes twice, which a presence test does not mind): whole words, then
/// one last word overlapping the one before; shorter input is packed into
/// one word from overlapping pieces, never padded with a byte of its own.
#[inline(always)]
fn any(bytes: &[u8], hit: impl Fn(u64) -> u64) -> bool {
    let n = bytes.len();
    let found = if n >= 8 {
        let mut found = 0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            found |= hit(le_word(word));
        }
        if !words.remainder().is_empty() {
            found |= hit(le_word(&bytes[n - 8..]));
        }
        found
    } else if n >= 4 {
        // Two four-byte halves, overlapping when `n` < 8.
        let low = u64::from(le_u32(&bytes[..4]));
        let high = u64::from(le_u32(&bytes[n - 4..]));
        hit(low | high << 32)
    } else if n > 0 {
        // First, middle and last byte are all of them; repeat the first.
        let (a, b, c) = (bytes[0], bytes[n / 2], bytes[n - 1]);
        hit(u64::from_le_bytes([a, b, c, a, a, a, a, a]))
    } else {
        0
    };
    found != 0
}

fn le_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    u32::from_le_bytes(word)
}

/// Whether `bytes` holds a zero byte (U+0000 in a UTF-8 string).
pub(crate) fn has_nul(bytes: &[u8]) -> bool {
    any(bytes, zero_byte)
}

/// Whether `bytes` holds '+', '#' or a zero byte.
pub(crate) fn has_wildcard_or_nul(bytes: &[u8]) -> bool {
    any(bytes, |v| zero_byte(v) | wildcard_byte(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_find_every_position() {
        for len in 0..40 {
            let clean = "a".repeat(len);
            assert!(!has_nul(clean.as_bytes()), "{len}");
            assert!(!has_wildcard_or_nul(clean.as_bytes()), "{len}");
            for at in 0..len {
                for c in ['+', '#', '\0'] {
                    let mut s = clean.clone().into_bytes();
                    s[at] = c as u8;
                    assert!(has_wildcard_or_nul(&s), "{c:?} at {at} of {len}");
                    assert_eq!(has_nul(&s), c == '\0', "{c:?} at {at} of {len}");
                }
            }
        }
        // Multi-byte characters never look like the three ASCII bytes, and
        // bytes next to the ones looked for do not either.
        for s in [
            "äöü€😀/ñ/日本語のトピック",
            "*,\"$/\u{1}\u{7f}\u{80}",
            "\u{1}",
            "\u{1}\u{1}",
            "\u{1}\u{1}\u{1}\u{1}\u{1}",
        ] {
            assert!(!has_wildcard_or_nul(s.as_bytes()), "{s:?}");
            assert!(!has_nul(s.as_bytes()), "{s:?}");
        }
        // Every byte value, at every position of short and long input.
        for len in 1..20 {
            for byte in 0..=255u8 {
                for at in 0..len {
                    let mut s = alloc::vec![b'a'; len];
                    s[at] = byte;
                    assert_eq!(has_nul(&s), byte == 0, "{byte} at {at} of {len}");
                    assert_eq!(
                        has_wildcard_or_nul(&s),
                        matches!(byte, 0 | b'+' | b'#'),
                        "{byte} at {at} of {len}"
                    );
                }
            }
        }
    }
}
