//! The packets: one file per packet type, each with `decode` and `encode`,
//! unified by [`Packet`].

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::writer;

mod ack;
mod auth;
mod connack;
mod connect;
mod disconnect;
mod publish;
mod suback;
mod subscribe;
mod unsubscribe;

pub use ack::{PubAck, PubComp, PubRec, PubRel};
pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, LastWill};
pub use disconnect::Disconnect;
pub use publish::Publish;
pub use suback::{SubAck, UnsubAck};
pub use subscribe::{RetainHandling, Subscribe, SubscribeFilter};
pub use unsubscribe::Unsubscribe;

/// The protocol version a packet is read or written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// MQTT 3.1.1, protocol level 4.
    V311,
    /// MQTT 5.0, protocol level 5.
    V5,
}

impl Protocol {
    /// The protocol level byte sent in CONNECT.
    pub fn level(self) -> u8 {
        match self {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }
}

/// Quality of service of a PUBLISH or subscription (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// At most once.
    #[default]
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two QoS bits; 3 is invalid (§3.3.1.2: "A PUBLISH Packet
    /// MUST NOT have both QoS bits set to 1" [MQTT-3.3.1-4]).
    pub fn from_bits(bits: u8) -> Result<Self, DecodeError> {
        match bits {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            2 => Ok(Self::ExactlyOnce),
            _ => Err(DecodeError::InvalidQoS),
        }
    }
}

/// The 4-bit packet type of the fixed header (§2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the spec's
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    fn from_nibble(nibble: u8) -> Result<Self, DecodeError> {
        Ok(match nibble {
            1 => Self::Connect,
            2 => Self::ConnAck,
            3 => Self::Publish,
            4 => Self::PubAck,
            5 => Self::PubRec,
            6 => Self::PubRel,
            7 => Self::PubComp,
            8 => Self::Subscribe,
            9 => Self::SubAck,
            10 => Self::Unsubscribe,
            11 => Self::UnsubAck,
            12 => Self::PingReq,
            13 => Self::PingResp,
            14 => Self::Disconnect,
            15 => Self::Auth,
            other => return Err(DecodeError::InvalidPacketType(other)),
        })
    }

    /// The flags every packet but PUBLISH must carry (§2.2.2, Table 2.2).
    fn required_flags(self) -> Option<u8> {
        match self {
            Self::Publish => None,
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

/// An MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// Client request to connect (§3.1). Boxed: by far the largest packet
    /// and sent once per connection, so every other packet moves less.
    Connect(Box<Connect>),
    /// Connect acknowledgement (§3.2).
    ConnAck(ConnAck),
    /// Application message (§3.3).
    Publish(Publish),
    /// QoS 1 publish acknowledgement (§3.4).
    PubAck(PubAck),
    /// QoS 2 publish received, part 1 (§3.5).
    PubRec(PubRec),
    /// QoS 2 publish release, part 2 (§3.6).
    PubRel(PubRel),
    /// QoS 2 publish complete, part 3 (§3.7).
    PubComp(PubComp),
    /// Subscribe request (§3.8).
    Subscribe(Subscribe),
    /// Subscribe acknowledgement (§3.9).
    SubAck(SubAck),
    /// Unsubscribe request (§3.10).
    Unsubscribe(Unsubscribe),
    /// Unsubscribe acknowledgement (§3.11).
    UnsubAck(UnsubAck),
    /// Ping request (§3.12).
    PingReq,
    /// Ping response (§3.13).
    PingResp,
    /// Disconnect notification (§3.14).
    Disconnect(Disconnect),
    /// Authentication exchange, MQTT 5 only (§3.15).
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::PubAck(_) => PacketType::PubAck,
            Self::PubRec(_) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(_) => PacketType::PubComp,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::Unsubscribe(_) => PacketType::Unsubscribe,
            Self::UnsubAck(_) => PacketType::UnsubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect(_) => PacketType::Disconnect,
            Self::Auth(_) => PacketType::Auth,
        }
    }

    /// Decodes one packet from its first header byte and its body (exactly
    /// the remaining-length bytes).
    pub(crate) fn decode(first: u8, body: Bytes, protocol: Protocol) -> Result<Self, DecodeError> {
        let kind = PacketType::from_nibble(first >> 4)?;
        // "Reserved" in MQTT 3.1.1 (Table 2.1): AUTH exists only in MQTT 5.
        if kind == PacketType::Auth && protocol == Protocol::V311 {
            return Err(DecodeError::InvalidPacketType(15));
        }
        let flags = first & 0x0f;
        // "Where a flag bit is marked as 'Reserved' in Table 2.2 - Flag Bits,
        // it is reserved for future use and MUST be set to the value listed
        // in that table" [MQTT-2.2.2-1]; "If invalid flags are received, the
        // receiver MUST close the Network Connection" [MQTT-2.2.2-2].
        if let Some(required) = kind.required_flags() {
            if flags != required {
                return Err(DecodeError::InvalidHeaderFlags(kind));
            }
        }
        let r = Reader::new(body);
        match kind {
            // The payload is the rest of the packet, so nothing is left
            // over; returned as it is built, not held while `r` finishes.
            PacketType::Publish => Publish::decode(flags, r, protocol),
            _ => Self::decode_other(kind, flags, r, protocol),
        }
    }

    /// Every packet but PUBLISH, kept out of line so that the decoder's hot
    /// path, a stream of PUBLISH packets, stays small: with every decoder
    /// inlined into it, `Decoder::next_packet` compiled to 3 000 lines of
    /// wasm with a 272-byte stack frame, and decoded PUBLISH about 15 %
    /// slower in V8.
    #[inline(never)]
    fn decode_other(
        kind: PacketType,
        flags: u8,
        mut r: Reader,
        p: Protocol,
    ) -> Result<Self, DecodeError> {
        let packet = match kind {
            PacketType::Connect => Self::Connect(Box::new(Connect::decode(&mut r)?)),
            PacketType::ConnAck => Self::ConnAck(ConnAck::decode(&mut r, p)?),
            PacketType::Publish => return Publish::decode(flags, r, p),
            PacketType::PubAck => Self::PubAck(PubAck::decode(&mut r, p)?),
            PacketType::PubRec => Self::PubRec(PubRec::decode(&mut r, p)?),
            PacketType::PubRel => Self::PubRel(PubRel::decode(&mut r, p)?),
            PacketType::PubComp => Self::PubComp(PubComp::decode(&mut r, p)?),
            PacketType::Subscribe => Self::Subscribe(Subscribe::decode(&mut r, p)?),
            PacketType::SubAck => Self::SubAck(SubAck::decode(&mut r, p)?),
            PacketType::Unsubscribe => Self::Unsubscribe(Unsubscribe::decode(&mut r, p)?),
            PacketType::UnsubAck => Self::UnsubAck(UnsubAck::decode(&mut r, p)?),
            // §3.12, §3.13: no variable header and no payload.
            PacketType::PingReq => Self::PingReq,
            PacketType::PingResp => Self::PingResp,
            PacketType::Disconnect => Self::Disconnect(Disconnect::decode(&mut r, p)?),
            PacketType::Auth => Self::Auth(Auth::decode(&mut r)?),
        };
        r.finish()?;
        Ok(packet)
    }

    /// Appends the encoded packet to `out`. On error `out` is left as it was.
    ///
    /// CONNECT is written in its own `protocol` field's version; every other
    /// packet in `protocol`.
    pub fn encode(&self, protocol: Protocol, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let p = protocol;
        let result = match self {
            Self::Connect(x) => x.encode(out),
            Self::ConnAck(x) => x.encode(out, p),
            Self::Publish(x) => x.encode(out, p),
            Self::PubAck(x) => x.encode(out, p),
            Self::PubRec(x) => x.encode(out, p),
            Self::PubRel(x) => x.encode(out, p),
            Self::PubComp(x) => x.encode(out, p),
            Self::Subscribe(x) => x.encode(out, p),
            Self::SubAck(x) => x.encode(out, p),
            Self::Unsubscribe(x) => x.encode(out, p),
            Self::UnsubAck(x) => x.encode(out, p),
            Self::PingReq => writer::header(out, 0xc0, 0),
            Self::PingResp => writer::header(out, 0xd0, 0),
            Self::Disconnect(x) => x.encode(out, p),
            Self::Auth(x) => x.encode(out, p),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

macro_rules! from_impls {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Packet {
            fn from(p: $ty) -> Self {
                Self::$ty(p)
            }
        }
    )*};
}
impl From<Connect> for Packet {
    fn from(p: Connect) -> Self {
        Self::Connect(Box::new(p))
    }
}

from_impls!(
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth
);
