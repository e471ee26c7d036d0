//! What can be wrong with a packet, read or written.

use core::fmt;

/// Why received bytes are not a valid MQTT packet.
///
/// Incomplete input is never an error: the decoder reports it as `Ok(None)`.
/// Every variant maps to the MQTT 5 reason code a server or client would
/// send in a DISCONNECT for it ([`DecodeError::reason_code`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining-length field ran past four bytes (§2.2.3).
    MalformedRemainingLength,
    /// The declared packet size exceeds the configured maximum.
    PacketTooLarge {
        /// Size of the whole packet as declared by its fixed header.
        size: usize,
        /// The configured maximum packet size.
        max: usize,
    },
    /// A field claims more bytes than the packet holds.
    UnexpectedEnd,
    /// Bytes are left over after the last field of the packet.
    TrailingData,
    /// Packet type 0 or 15 (§2.2.1): reserved, or AUTH outside MQTT 5.
    InvalidPacketType(u8),
    /// Reserved flag bits of the fixed header are wrong (§2.2.2).
    InvalidHeaderFlags(crate::PacketType),
    /// A QoS of 3 (§3.3.1.2).
    InvalidQoS,
    /// A packet identifier of 0 where a non-zero one is required (§2.3.1).
    ZeroPacketId,
    /// A string is not well-formed UTF-8, or holds U+0000 (§1.5.3).
    InvalidUtf8,
    /// A topic name is empty or contains a wildcard (§4.7).
    InvalidTopicName,
    /// A topic filter is empty or has a misplaced wildcard (§4.7.1).
    InvalidTopicFilter,
    /// CONNECT with a protocol name other than `MQTT` (§3.1.2.1).
    InvalidProtocolName,
    /// CONNECT with a protocol level this codec does not speak (§3.1.2.2).
    UnsupportedProtocolLevel(u8),
    /// CONNECT flags break a rule of §3.1.2.3–3.1.2.9.
    InvalidConnectFlags,
    /// CONNACK with reserved flag bits set (§3.2.2.1).
    InvalidConnAckFlags,
    /// CONNACK return code above 5 (§3.2.2.3).
    InvalidConnectReturnCode(u8),
    /// SUBSCRIBE with reserved bits set in a requested QoS byte (§3.8.3.1).
    InvalidSubscriptionOptions,
    /// SUBACK return code other than 0, 1, 2 or 0x80 (§3.9.3).
    InvalidSubAckReturnCode(u8),
    /// SUBSCRIBE without any topic filter (§3.8.3).
    NoTopicFilters,
    /// A packet type or protocol version this build does not decode yet.
    Unsupported,
}

impl DecodeError {
    /// The MQTT 5 reason code for this error (0x81 Malformed Packet, 0x82
    /// Protocol Error, 0x95 Packet too large, …), to send in a DISCONNECT.
    pub fn reason_code(&self) -> u8 {
        match self {
            Self::PacketTooLarge { .. } => 0x95,
            Self::UnsupportedProtocolLevel(_) => 0x84,
            Self::InvalidTopicName => 0x90,
            Self::InvalidTopicFilter => 0x8F,
            Self::InvalidPacketType(_) | Self::Unsupported => 0x82,
            _ => 0x81,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedRemainingLength => f.write_str("remaining length longer than 4 bytes"),
            Self::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            Self::UnexpectedEnd => f.write_str("a field runs past the end of the packet"),
            Self::TrailingData => f.write_str("unexpected bytes after the last field"),
            Self::InvalidPacketType(t) => write!(f, "invalid packet type {t}"),
            Self::InvalidHeaderFlags(kind) => write!(f, "invalid fixed-header flags on {kind:?}"),
            Self::InvalidQoS => f.write_str("QoS 3 is not a valid QoS"),
            Self::ZeroPacketId => f.write_str("packet identifier 0 is not allowed"),
            Self::InvalidUtf8 => f.write_str("string is not valid MQTT UTF-8"),
            Self::InvalidTopicName => f.write_str("invalid topic name"),
            Self::InvalidTopicFilter => f.write_str("invalid topic filter"),
            Self::InvalidProtocolName => f.write_str("protocol name is not \"MQTT\""),
            Self::UnsupportedProtocolLevel(l) => write!(f, "unsupported protocol level {l}"),
            Self::InvalidConnectFlags => f.write_str("invalid CONNECT flags"),
            Self::InvalidConnAckFlags => f.write_str("reserved CONNACK flags are set"),
            Self::InvalidConnectReturnCode(c) => write!(f, "invalid CONNACK return code {c}"),
            Self::InvalidSubscriptionOptions => {
                f.write_str("reserved subscription option bits set")
            }
            Self::InvalidSubAckReturnCode(c) => write!(f, "invalid SUBACK return code {c}"),
            Self::NoTopicFilters => f.write_str("SUBSCRIBE without topic filters"),
            Self::Unsupported => f.write_str("packet type or protocol version not supported yet"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Why a packet cannot be written.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A string or binary field is longer than 65 535 bytes (§1.5.3).
    FieldTooLong,
    /// The packet would exceed the 268 435 455-byte protocol maximum.
    PacketTooLarge,
    /// A topic name is empty or contains a wildcard (§4.7).
    InvalidTopicName,
    /// A topic filter is empty or has a misplaced wildcard (§4.7.1).
    InvalidTopicFilter,
    /// A string holds U+0000 (§1.5.3).
    InvalidUtf8,
    /// A packet identifier of 0 where a non-zero one is required (§2.3.1).
    ZeroPacketId,
    /// A QoS > 0 PUBLISH without a packet identifier, or QoS 0 with one.
    PacketIdMismatch,
    /// A password without a user name (MQTT 3.1.1 §3.1.2.9).
    PasswordWithoutUsername,
    /// SUBSCRIBE without any topic filter (§3.8.3).
    NoTopicFilters,
    /// A packet type or protocol version this build does not encode yet.
    Unsupported,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FieldTooLong => "a string or binary field is longer than 65535 bytes",
            Self::PacketTooLarge => "packet exceeds the MQTT maximum size",
            Self::InvalidTopicName => "invalid topic name",
            Self::InvalidTopicFilter => "invalid topic filter",
            Self::InvalidUtf8 => "string contains U+0000",
            Self::ZeroPacketId => "packet identifier 0 is not allowed",
            Self::PacketIdMismatch => "packet identifier does not match the QoS",
            Self::PasswordWithoutUsername => "MQTT 3.1.1 allows a password only with a user name",
            Self::NoTopicFilters => "SUBSCRIBE needs at least one topic filter",
            Self::Unsupported => "packet type or protocol version not supported yet",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
