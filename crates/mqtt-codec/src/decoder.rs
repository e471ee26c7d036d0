//! Incremental decoding: bytes as the transport delivers them, packets out.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::packet::{Packet, Protocol};
use crate::varint;

/// The fixed header of a packet (§2.2): its first byte and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// Packet type (high nibble) and flags (low nibble).
    pub first_byte: u8,
    /// Number of bytes after the fixed header.
    pub remaining_length: usize,
    /// Size of the fixed header itself: 2 to 5 bytes.
    pub header_len: usize,
}

impl FixedHeader {
    /// Parses a fixed header from the start of `buf`, or `Ok(None)` if
    /// `buf` ends inside it.
    pub fn parse(buf: &[u8]) -> Result<Option<Self>, DecodeError> {
        let Some((&first_byte, rest)) = buf.split_first() else {
            return Ok(None);
        };
        Ok(varint::decode(rest)?.map(|(remaining_length, len)| Self {
            first_byte,
            remaining_length,
            header_len: 1 + len,
        }))
    }

    /// Size of the whole packet, header included.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_length
    }
}

/// Turns a byte stream into packets, however the stream is chunked.
///
/// Feed it whatever the transport delivered with [`Decoder::feed`], then
/// call [`Decoder::next_packet`] until it returns `Ok(None)`. A packet whose
/// fixed header declares more than the maximum packet size is refused as soon
/// as its header is complete, before its body is waited for, so a peer cannot
/// make the decoder hold more than the maximum plus one delivered chunk.
///
/// After an error the stream cannot be re-synchronised: every later call
/// returns the same error, and the connection should be closed.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    protocol: Protocol,
    max_packet_size: usize,
    failed: Option<DecodeError>,
}

impl Decoder {
    /// A decoder for `protocol` that refuses packets larger than
    /// `max_packet_size` bytes (fixed header included).
    pub fn new(protocol: Protocol, max_packet_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            protocol,
            max_packet_size,
            failed: None,
        }
    }

    /// The protocol version packets are decoded in.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Changes the protocol version, e.g. after a CONNACK settled it.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Number of bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets buffered bytes and any earlier error, for a new connection.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.failed = None;
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete packet, `Ok(None)` if more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match self.try_next() {
            Err(err) => {
                self.failed = Some(err);
                self.buf = BytesMut::new();
                Err(err)
            }
            ok => ok,
        }
    }

    fn try_next(&mut self) -> Result<Option<Packet>, DecodeError> {
        let Some(header) = FixedHeader::parse(&self.buf)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if size > self.max_packet_size {
            return Err(DecodeError::PacketTooLarge {
                size,
                max: self.max_packet_size,
            });
        }
        if self.buf.len() < size {
            // Only now, with the size known to be acceptable, make room for it.
            self.buf.reserve(size - self.buf.len());
            return Ok(None);
        }
        let frame = self.buf.split_to(size).freeze();
        let body = frame.slice(header.header_len..);
        Packet::decode(header.first_byte, body, self.protocol).map(Some)
    }
}

/// Decodes one packet from the start of `buf`: the packet and the number of
/// bytes it took, or `Ok(None)` if `buf` holds only part of a packet.
///
/// Copies the packet's bytes; [`Decoder`] avoids that copy for streams.
pub fn decode_slice(
    buf: &[u8],
    protocol: Protocol,
    max_packet_size: usize,
) -> Result<Option<(Packet, usize)>, DecodeError> {
    let Some(header) = FixedHeader::parse(buf)? else {
        return Ok(None);
    };
    let size = header.packet_len();
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    let Some(frame) = buf.get(header.header_len..size) else {
        return Ok(None);
    };
    Packet::decode(header.first_byte, Bytes::copy_from_slice(frame), protocol)
        .map(|packet| Some((packet, size)))
}
