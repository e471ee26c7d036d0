//! A bounded cursor over one packet's body.
//!
//! The reader owns exactly the bytes of one packet (a cheap [`Bytes`] slice
//! of the receive buffer), so no field can read past the packet, and
//! [`Reader::finish`] turns leftover bytes into an error.

use alloc::string::String;

use bytes::{Buf, Bytes};

use crate::error::DecodeError;

pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.buf.is_empty() {
            return Err(DecodeError::UnexpectedEnd);
        }
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.buf.len() < 2 {
            return Err(DecodeError::UnexpectedEnd);
        }
        Ok(self.buf.get_u16())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        if self.buf.len() < 4 {
            return Err(DecodeError::UnexpectedEnd);
        }
        Ok(self.buf.get_u32())
    }

    /// A variable byte integer (§1.5.5 of MQTT 5): at most four bytes, in
    /// its shortest form. Only MQTT 5 fields are read with it (property
    /// lengths and identifiers, subscription identifiers), so the shortest
    /// form is always required: "The encoded value MUST use the minimum
    /// number of bytes necessary to represent the value" [MQTT-1.5.5-1].
    pub(crate) fn varint(&mut self) -> Result<usize, DecodeError> {
        match crate::varint::decode_minimal(&self.buf)? {
            Some((value, len)) => {
                self.buf.advance(len);
                Ok(value)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// A reader over the next `len` bytes, which this one skips.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Self, DecodeError> {
        self.take(len).map(Self::new)
    }

    /// A non-zero packet identifier (§2.3.1: "MUST contain a non-zero 16-bit
    /// Packet Identifier" [MQTT-2.3.1-1]).
    pub(crate) fn packet_id(&mut self) -> Result<u16, DecodeError> {
        match self.u16()? {
            0 => Err(DecodeError::ZeroPacketId),
            id => Ok(id),
        }
    }

    /// `len` bytes, as a slice of the packet (no copy).
    pub(crate) fn take(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        if self.buf.len() < len {
            return Err(DecodeError::UnexpectedEnd);
        }
        Ok(self.buf.split_to(len))
    }

    /// Binary data: a two-byte length, then that many bytes (§1.5.6).
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 encoded string (§1.5.3), copied out of the buffer without
    /// touching its reference count.
    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        let len = usize::from(self.u16()?);
        let Some(bytes) = self.buf.get(..len) else {
            return Err(DecodeError::UnexpectedEnd);
        };
        // "The character data in a UTF-8 encoded string MUST be well-formed
        // UTF-8 as defined by the Unicode specification and restated in RFC
        // 3629. In particular this data MUST NOT include encodings of code
        // points between U+D800 and U+DFFF" [MQTT-1.5.3-1]; Rust's UTF-8
        // check rejects surrogates and overlong forms.
        let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        // "A UTF-8 encoded string MUST NOT include an encoding of the null
        // character U+0000" [MQTT-1.5.3-2].
        if bytes.contains(&0) {
            return Err(DecodeError::InvalidUtf8);
        }
        let owned = String::from(s);
        self.buf.advance(len);
        Ok(owned)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> Bytes {
        core::mem::take(&mut self.buf)
    }

    /// Ends the packet: leftover bytes are an error (lengths must be
    /// consistent to the byte).
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingData)
        }
    }
}
