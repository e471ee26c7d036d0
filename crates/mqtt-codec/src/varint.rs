//! The variable byte integer of §1.5.5, used for the remaining length and,
//! in MQTT 5, for property lengths, property identifiers and subscription
//! identifiers.

use crate::error::{DecodeError, EncodeError};

/// The largest value four variable-byte-integer bytes can hold.
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Reads a variable byte integer from the start of `buf`.
///
/// Returns the value and the number of bytes it took, or `Ok(None)` when
/// `buf` ends before the integer does. "The maximum number of bytes in the
/// Remaining Length field is four" (§2.2.3): a fifth continuation is an error
/// however much input follows.
pub(crate) fn decode(buf: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0usize;
    for (i, &byte) in buf.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        Err(DecodeError::MalformedRemainingLength)
    } else {
        Ok(None)
    }
}

/// Reads a variable byte integer like [`decode`], refusing one that takes
/// more bytes than its value needs: "The encoded value MUST use the minimum
/// number of bytes necessary to represent the value" [MQTT-1.5.5-1] (MQTT 5;
/// MQTT 3.1.1 has no such rule, see `decoder::checked_header`).
pub(crate) fn decode_minimal(buf: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    match decode(buf)? {
        Some((value, used)) if used > len(value) => Err(DecodeError::NonMinimalVarint),
        complete_or_partial => Ok(complete_or_partial),
    }
}

/// How many bytes `value` takes when encoded.
pub(crate) fn len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// `value` as a variable byte integer in a fixed array, and its length.
pub(crate) fn to_array(mut value: usize) -> Result<([u8; 4], usize), EncodeError> {
    if value > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge);
    }
    let mut bytes = [0u8; 4];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (value % 128) as u8;
        value /= 128;
        if value == 0 {
            return Ok((bytes, i + 1));
        }
        *byte |= 0x80;
    }
    // Unreachable: MAX_REMAINING_LENGTH fits in four bytes.
    Err(EncodeError::PacketTooLarge)
}

/// Appends `value` as a variable byte integer.
pub(crate) fn encode(mut value: usize, out: &mut alloc::vec::Vec<u8>) -> Result<(), EncodeError> {
    if value > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge);
    }
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    // The boundary values of the table in §1.5.5.
    #[test]
    fn spec_table_round_trips() {
        for (value, bytes) in [
            (0usize, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
        ] {
            let mut out = Vec::new();
            encode(value, &mut out).unwrap();
            assert_eq!(out, bytes, "encode {value}");
            let (array, n) = to_array(value).unwrap();
            assert_eq!(&array[..n], bytes, "to_array {value}");
            assert_eq!(len(value), bytes.len());
            assert_eq!(decode(bytes), Ok(Some((value, bytes.len()))));
        }
    }

    #[test]
    fn partial_is_none_and_fifth_byte_is_error() {
        assert_eq!(decode(&[]), Ok(None));
        assert_eq!(decode(&[0x80, 0x80]), Ok(None));
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::MalformedRemainingLength)
        );
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(DecodeError::MalformedRemainingLength)
        );
    }

    #[test]
    fn longer_forms_than_needed() {
        for bytes in [
            &[0x80, 0x00][..],
            &[0xff, 0x00],
            &[0x80, 0x80, 0x00],
            &[0xff, 0xff, 0x80, 0x00],
        ] {
            assert!(matches!(decode(bytes), Ok(Some(_))), "{bytes:02x?}");
            assert_eq!(
                decode_minimal(bytes),
                Err(DecodeError::NonMinimalVarint),
                "{bytes:02x?}"
            );
        }
        // The shortest forms, and partial input, are as before.
        assert_eq!(decode_minimal(&[0x00]), Ok(Some((0, 1))));
        assert_eq!(decode_minimal(&[0x80, 0x01]), Ok(Some((128, 2))));
        assert_eq!(decode_minimal(&[0x80, 0x80]), Ok(None));
        assert_eq!(
            decode_minimal(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::MalformedRemainingLength)
        );
    }

    #[test]
    fn too_large_to_encode() {
        assert_eq!(
            encode(MAX_REMAINING_LENGTH + 1, &mut Vec::new()),
            Err(EncodeError::PacketTooLarge)
        );
    }
}
