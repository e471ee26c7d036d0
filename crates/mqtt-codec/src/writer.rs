//! Helpers to append fields to an output buffer.

use alloc::vec::Vec;

use crate::error::EncodeError;
use crate::varint;

/// Writes the fixed header: the first byte and the remaining length.
pub(crate) fn header(out: &mut Vec<u8>, first: u8, remaining: usize) -> Result<(), EncodeError> {
    out.reserve(1 + varint::len(remaining) + remaining);
    out.push(first);
    varint::encode(remaining, out)
}

/// Writes the fixed header and the two-byte length of the field that opens
/// the variable header (PUBLISH's topic), as one copy of three to seven
/// bytes, after reserving room for the whole packet.
pub(crate) fn header_and_length(
    out: &mut Vec<u8>,
    first: u8,
    remaining: usize,
    field_len: u16,
) -> Result<(), EncodeError> {
    let (length, n) = varint::to_array(remaining)?;
    out.reserve(1 + n + remaining);
    // Built in a register, little-endian, and stored once: the bytes of a
    // stack array written one by one and then copied out as a word stall
    // the copy (store forwarding fails).
    let head = u64::from(first)
        | u64::from(u32::from_le_bytes(length)) << 8
        | u64::from(u16::from_le_bytes(field_len.to_be_bytes())) << (8 * (n + 1));
    let head = head.to_le_bytes();
    // A copy of a constant size is a few stores; one of a variable size
    // would be a call to `memcpy`.
    match n {
        1 => out.extend_from_slice(&head[..4]),
        2 => out.extend_from_slice(&head[..5]),
        3 => out.extend_from_slice(&head[..6]),
        _ => out.extend_from_slice(&head[..7]),
    }
    Ok(())
}

pub(crate) fn u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Binary data with its two-byte length (§1.5.6).
pub(crate) fn binary(out: &mut Vec<u8>, data: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError::FieldTooLong)?;
    u16(out, len);
    out.extend_from_slice(data);
    Ok(())
}

/// A UTF-8 string with its two-byte length (§1.5.3); U+0000 is refused.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    if crate::scan::has_nul(s.as_bytes()) {
        return Err(EncodeError::InvalidUtf8);
    }
    binary(out, s.as_bytes())
}

/// A property of binary data (§2.2.2.2): its identifier, then the field.
pub(crate) fn tagged_binary(out: &mut Vec<u8>, id: u8, data: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError::FieldTooLong)?;
    let [high, low] = len.to_be_bytes();
    out.extend_from_slice(&[id, high, low]);
    out.extend_from_slice(data);
    Ok(())
}

/// A string property (§2.2.2.2): its identifier, then the string; U+0000 is
/// refused.
pub(crate) fn tagged_string(out: &mut Vec<u8>, id: u8, s: &str) -> Result<(), EncodeError> {
    if crate::scan::has_nul(s.as_bytes()) {
        return Err(EncodeError::InvalidUtf8);
    }
    tagged_binary(out, id, s.as_bytes())
}

/// The encoded size of a string or binary field.
pub(crate) fn field_len(data: &[u8]) -> usize {
    2 + data.len()
}
