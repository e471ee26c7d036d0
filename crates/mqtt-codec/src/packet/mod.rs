//! The packets: one file per packet type, each with `decode` and `encode`,
//! unified by [`Packet`].

use alloc::vec::Vec;

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::writer;

mod connack;
mod connect;
mod publish;
mod suback;
mod subscribe;

pub use connack::{ConnAck, ConnectReturnCode};
pub use connect::{Connect, LastWill};
pub use publish::Publish;
pub use suback::{SubAck, SubAckReturnCode};
pub use subscribe::{Subscribe, SubscribeFilter};

/// The protocol version a packet is read or written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// MQTT 3.1.1, protocol level 4.
    V311,
    /// MQTT 5.0, protocol level 5 (not implemented yet: refused as
    /// [`DecodeError::Unsupported`] / [`EncodeError::Unsupported`]).
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
    /// Client request to connect (§3.1).
    Connect(Connect),
    /// Connect acknowledgement (§3.2).
    ConnAck(ConnAck),
    /// Application message (§3.3).
    Publish(Publish),
    /// Subscribe request (§3.8).
    Subscribe(Subscribe),
    /// Subscribe acknowledgement (§3.9).
    SubAck(SubAck),
    /// Ping request (§3.12).
    PingReq,
    /// Ping response (§3.13).
    PingResp,
    /// Client is disconnecting (§3.14).
    Disconnect,
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect => PacketType::Disconnect,
        }
    }

    /// Decodes one packet from its first header byte and its body (exactly
    /// the remaining-length bytes).
    pub(crate) fn decode(first: u8, body: Bytes, protocol: Protocol) -> Result<Self, DecodeError> {
        if protocol != Protocol::V311 {
            return Err(DecodeError::Unsupported);
        }
        let kind = PacketType::from_nibble(first >> 4)?;
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
        let mut r = Reader::new(body);
        let packet = match kind {
            PacketType::Connect => Self::Connect(Connect::decode(&mut r)?),
            PacketType::ConnAck => Self::ConnAck(ConnAck::decode(&mut r)?),
            PacketType::Publish => Self::Publish(Publish::decode(flags, &mut r)?),
            PacketType::Subscribe => Self::Subscribe(Subscribe::decode(&mut r)?),
            PacketType::SubAck => Self::SubAck(SubAck::decode(&mut r)?),
            // §3.12–3.14: these packets have no variable header and no payload.
            PacketType::PingReq => Self::PingReq,
            PacketType::PingResp => Self::PingResp,
            PacketType::Disconnect => Self::Disconnect,
            _ => return Err(DecodeError::Unsupported),
        };
        r.finish()?;
        Ok(packet)
    }

    /// Appends the encoded packet to `out`. On error `out` may hold a
    /// partial packet past its original length; truncate it if you reuse it.
    pub fn encode(&self, protocol: Protocol, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if protocol != Protocol::V311 {
            return Err(EncodeError::Unsupported);
        }
        match self {
            Self::Connect(p) => p.encode(out),
            Self::ConnAck(p) => p.encode(out),
            Self::Publish(p) => p.encode(out),
            Self::Subscribe(p) => p.encode(out),
            Self::SubAck(p) => p.encode(out),
            Self::PingReq => writer::header(out, 0xc0, 0),
            Self::PingResp => writer::header(out, 0xd0, 0),
            Self::Disconnect => writer::header(out, 0xe0, 0),
        }
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
from_impls!(Connect, ConnAck, Publish, Subscribe, SubAck);
