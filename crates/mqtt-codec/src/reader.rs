//! A bounded cursor over one packet's body.
//!
//! The reader owns exactly the bytes of one packet (a cheap [`Bytes`] slice
//! of the receive buffer), so no field can read past the packet, and
//! [`Reader::finish`] turns leftover bytes into an error.

use alloc::string::String;

use bytes::{Buf, Bytes};

use crate::error::DecodeError;
use crate::scan;

pub(crate) struct Reader {
    /// The packet's body. Left untouched while fields are read, so reading
    /// is indexing and the compiler keeps the position in a register; only
    /// [`Reader::take`] and [`Reader::rest`] hand out parts of it.
    buf: Bytes,
    /// The next byte to read.
    pos: usize,
    /// Where this reader stops: the end of `buf`, or of the length-prefixed
    /// field [`Reader::limit`] narrowed it to.
    end: usize,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        let end = buf.len();
        Self { buf, pos: 0, end }
    }

    /// The bytes left to read.
    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        match *self.unread() {
            [byte, ..] => {
                self.pos += 1;
                Ok(byte)
            }
            [] => Err(DecodeError::UnexpectedEnd),
        }
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        match *self.unread() {
            [a, b, ..] => {
                self.pos += 2;
                Ok(u16::from_be_bytes([a, b]))
            }
            _ => Err(DecodeError::UnexpectedEnd),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        match *self.unread() {
            [a, b, c, d, ..] => {
                self.pos += 4;
                Ok(u32::from_be_bytes([a, b, c, d]))
            }
            _ => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// A variable byte integer (§1.5.5 of MQTT 5): at most four bytes, in
    /// its shortest form. Only MQTT 5 fields are read with it (property
    /// lengths and identifiers, subscription identifiers), so the shortest
    /// form is always required: "The encoded value MUST use the minimum
    /// number of bytes necessary to represent the value" [MQTT-1.5.5-1].
    pub(crate) fn varint(&mut self) -> Result<usize, DecodeError> {
        // One byte, the usual case (every property identifier, most
        // property lengths), is its own shortest form.
        if let Some(&byte) = self.unread().first() {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(usize::from(byte));
            }
        }
        match crate::varint::decode_minimal(self.unread())? {
            Some((value, len)) => {
                self.pos += len;
                Ok(value)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// Narrows the reader to the next `len` bytes (a length-prefixed
    /// field) and returns what [`Reader::widen`] needs to undo it. Until
    /// then the reader ends where the field does.
    pub(crate) fn limit(&mut self, len: usize) -> Result<usize, DecodeError> {
        if self.remaining() < len {
            return Err(DecodeError::UnexpectedEnd);
        }
        let outer = self.end;
        self.end = self.pos + len;
        Ok(outer)
    }

    /// Ends a field [`Reader::limit`] narrowed the reader to, which must
    /// have been read to its end, and reads on after it.
    pub(crate) fn widen(&mut self, outer: usize) {
        debug_assert_eq!(
            self.pos, self.end,
            "a limited field was not read to its end"
        );
        self.end = outer;
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
        if self.remaining() < len {
            return Err(DecodeError::UnexpectedEnd);
        }
        let start = self.pos;
        self.pos += len;
        Ok(self.buf.slice(start..self.pos))
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
        let Some(bytes) = self.unread().get(..len) else {
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
        if scan::has_nul(bytes) {
            return Err(DecodeError::InvalidUtf8);
        }
        let owned = String::from(s);
        self.pos += len;
        Ok(owned)
    }

    /// A PUBLISH topic name (§3.3.2.1): a UTF-8 string, checked as
    /// [`Reader::string`] checks one, and whether it is free of wildcards.
    /// One scan looks for all three ASCII bytes a topic name may not hold
    /// ('+', '#' and NUL); only when it finds one is NUL looked for alone.
    /// The wildcard verdict is left to the caller, which reports it after
    /// the rest of the variable header has been read.
    pub(crate) fn topic_name(&mut self) -> Result<(String, bool), DecodeError> {
        let len = usize::from(self.u16()?);
        let Some(bytes) = self.unread().get(..len) else {
            return Err(DecodeError::UnexpectedEnd);
        };
        // [MQTT-1.5.3-1], as in `string`.
        let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        let clean = !scan::has_wildcard_or_nul(bytes);
        // [MQTT-1.5.3-2], as in `string`.
        if !clean && scan::has_nul(bytes) {
            return Err(DecodeError::InvalidUtf8);
        }
        let owned = String::from(s);
        self.pos += len;
        Ok((owned, clean))
    }

    /// Everything that is left, as a slice of the packet: the packet's own
    /// reference to the buffer, handed on, when the reader is not narrowed.
    pub(crate) fn rest(&mut self) -> Bytes {
        if self.end == self.buf.len() {
            let mut rest = core::mem::take(&mut self.buf);
            rest.advance(self.pos);
            self.pos = 0;
            self.end = 0;
            rest
        } else {
            let rest = self.buf.slice(self.pos..self.end);
            self.pos = self.end;
            rest
        }
    }

    /// Ends the packet: leftover bytes are an error (lengths must be
    /// consistent to the byte).
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.end {
            Ok(())
        } else {
            Err(DecodeError::TrailingData)
        }
    }
}
