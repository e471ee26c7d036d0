//! Incremental decoding: bytes as the transport delivers them, packets out.

use bytes::{Buf, Bytes, BytesMut};

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
    ///
    /// Only the form both protocol versions share is checked here: the
    /// remaining length ends within four bytes. [`Decoder`] and
    /// [`decode_slice`] also refuse a packet over the maximum size and, in
    /// MQTT 5, a remaining length in more bytes than it needs.
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

/// The longest fixed header: the first byte and a four-byte remaining length.
const MAX_HEADER_LEN: usize = 5;

/// Turns a byte stream into packets, however the stream is chunked.
///
/// Feed it whatever the transport delivered with [`Decoder::feed`], then
/// call [`Decoder::next_packet`] until it returns `Ok(None)`.
///
/// Memory is bounded by what actually arrives, never by what a peer
/// declares: the buffer grows with the bytes fed, not ahead of them to a
/// packet's declared size, and `feed` checks the fixed header of every packet
/// it is given. At the first one that declares more than the maximum packet
/// size (or whose remaining length is malformed), it keeps that header and
/// discards the rest of the input, then and from then on. So a peer cannot
/// make the decoder hold more than the maximum packet size plus the packets
/// of the chunk being fed. A transport that copies large messages in pieces
/// can ask [`Decoder::accepts_input`] before each one and stop copying as
/// soon as it turns false.
///
/// The error itself comes from `next_packet`, once the packets before the
/// refused one are taken. After an error the stream cannot be
/// re-synchronised: every later call returns the same error, and the
/// connection should be closed; [`Decoder::reset`] starts afresh.
///
/// Methods: getters ([`Decoder::protocol`], [`Decoder::buffered`],
/// [`Decoder::buffer_capacity`], [`Decoder::accepts_input`]), input
/// ([`Decoder::feed`]), output ([`Decoder::next_packet`]) and
/// [`Decoder::set_protocol`], [`Decoder::reset`].
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    protocol: Protocol,
    max_packet_size: usize,
    /// Offset in `buf` of the first packet whose fixed header `feed` has not
    /// checked yet; past `buf.len()` while the body of the last packet it
    /// checked is still to come.
    unchecked: usize,
    /// `feed` has buffered the header of a packet `next_packet` will refuse,
    /// and buffers nothing more.
    refusing: bool,
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
            unchecked: 0,
            refusing: false,
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

    /// Number of bytes buffered but not yet decoded. Input that
    /// [`Decoder::feed`] discarded is not counted.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes the receive buffer has room for without growing, at least
    /// [`Decoder::buffered`]: the memory it holds, for tests and metrics.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether [`Decoder::feed`] still takes input. False once the stream is
    /// known to be broken: the buffered bytes reach a packet `next_packet`
    /// will refuse (too large, malformed remaining length), or it already
    /// returned an error. From then on `feed` discards everything until
    /// [`Decoder::reset`], so a transport holding a large message need not
    /// copy the rest of it in; it should still call `next_packet`, which
    /// yields the packets before the refused one, then the error to close
    /// the connection with.
    pub fn accepts_input(&self) -> bool {
        self.failed.is_none() && !self.refusing
    }

    /// Forgets buffered bytes and any earlier error, for a new connection.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.unchecked = 0;
        self.refusing = false;
        self.failed = None;
    }

    /// Appends received bytes, up to and including the fixed header of the
    /// first packet that is too large or has a malformed remaining length;
    /// the rest, and all later input, is discarded (see
    /// [`Decoder::accepts_input`]).
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.accepts_input() {
            return;
        }
        let keep = self.check_headers(bytes);
        self.buf.extend_from_slice(&bytes[..keep]);
    }

    /// Checks the fixed header of every packet that starts in the stream
    /// once `bytes` follow the buffer, and returns how many of `bytes` to
    /// keep: all of them, or those up to the header of the first packet that
    /// `next_packet` will refuse whatever follows.
    fn check_headers(&mut self, bytes: &[u8]) -> usize {
        let buffered = self.buf.len();
        let end = buffered + bytes.len();
        while self.unchecked < end {
            let available = (end - self.unchecked).min(MAX_HEADER_LEN);
            let mut joined = [0u8; MAX_HEADER_LEN];
            let header = match self.unchecked.checked_sub(buffered) {
                // Usually the header lies in `bytes`: read it there.
                Some(at) => &bytes[at..at + available],
                // It began in the buffer (a few bytes of it arrived with the
                // last chunk) and ends in `bytes`: join the two.
                None => {
                    for (i, byte) in joined[..available].iter_mut().enumerate() {
                        let at = self.unchecked + i;
                        *byte = match at.checked_sub(buffered) {
                            Some(in_bytes) => bytes[in_bytes],
                            None => self.buf[at],
                        };
                    }
                    &joined[..available]
                }
            };
            let header_end = match FixedHeader::parse(header) {
                Ok(None) => break,
                Ok(Some(h)) if h.packet_len() <= self.max_packet_size => {
                    self.unchecked += h.packet_len();
                    continue;
                }
                // Too large: keep the header, which is all `next_packet`
                // needs to refuse it.
                Ok(Some(h)) => self.unchecked + h.header_len,
                // Malformed remaining length: keep the five bytes that show it.
                Err(_) => self.unchecked + available,
            };
            self.refusing = true;
            return header_end.saturating_sub(buffered).min(bytes.len());
        }
        bytes.len()
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
                self.unchecked = 0;
                Err(err)
            }
            ok => ok,
        }
    }

    fn try_next(&mut self) -> Result<Option<Packet>, DecodeError> {
        let Some(header) = checked_header(&self.buf, self.protocol, self.max_packet_size)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if self.buf.len() < size {
            // The buffer grows as the body arrives, never ahead of it: a
            // declared size is only a claim.
            return Ok(None);
        }
        // One reference to the shared buffer per packet: the body is split
        // off and its header skipped in place (slicing a frozen frame would
        // take a second reference and drop the first).
        let mut body = self.buf.split_to(size);
        body.advance(header.header_len);
        // `feed` checked this packet's header, so it lies before `unchecked`.
        self.unchecked = self.unchecked.saturating_sub(size);
        Packet::decode(header.first_byte, body.freeze(), self.protocol).map(Some)
    }
}

/// The fixed header at the start of `buf`, if it is complete, with the
/// checks that need nothing after it.
fn checked_header(
    buf: &[u8],
    protocol: Protocol,
    max_packet_size: usize,
) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(header) = FixedHeader::parse(buf)? else {
        return Ok(None);
    };
    // MQTT 5 §1.5.5: "The encoded value MUST use the minimum number of bytes
    // necessary to represent the value" [MQTT-1.5.5-1]. MQTT 3.1.1 §2.2.3
    // describes the same encoding with no such requirement (only "The
    // maximum number of bytes in the Remaining Length field is four"), so
    // there a longer form is read as before.
    if protocol == Protocol::V5 && header.header_len > 1 + varint::len(header.remaining_length) {
        return Err(DecodeError::NonMinimalVarint);
    }
    let size = header.packet_len();
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    Ok(Some(header))
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
    let Some(header) = checked_header(buf, protocol, max_packet_size)? else {
        return Ok(None);
    };
    let size = header.packet_len();
    let Some(frame) = buf.get(header.header_len..size) else {
        return Ok(None);
    };
    Packet::decode(header.first_byte, Bytes::copy_from_slice(frame), protocol)
        .map(|packet| Some((packet, size)))
}
