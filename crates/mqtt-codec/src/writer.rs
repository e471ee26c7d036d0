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
    if s.as_bytes().contains(&0) {
        return Err(EncodeError::InvalidUtf8);
    }
    binary(out, s.as_bytes())
}

/// The encoded size of a string or binary field.
pub(crate) fn field_len(data: &[u8]) -> usize {
    2 + data.len()
}

pub(crate) fn u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}
