//! What can be wrong with a packet, read or written.

use core::fmt;

use crate::PacketType;

/// Why received bytes are not a valid MQTT packet.
///
/// Incomplete input is never an error: the decoder reports it as `Ok(None)`.
/// Every variant maps to the MQTT 5 reason code to send in a DISCONNECT for
/// it ([`DecodeError::reason_code`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining-length field ran past four bytes (§2.2.3).
    MalformedRemainingLength,
    /// MQTT 5: a variable byte integer (remaining length, property length,
    /// property identifier, subscription identifier) in more bytes than its
    /// value needs (§1.5.5).
    NonMinimalVarint,
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
    /// Packet type 0, or AUTH outside MQTT 5 (§2.1.2).
    InvalidPacketType(u8),
    /// Reserved flag bits of the fixed header are wrong (§2.1.3).
    InvalidHeaderFlags(PacketType),
    /// A QoS of 3 (§3.3.1.2).
    InvalidQoS,
    /// A packet identifier of 0 where a non-zero one is required (§2.2.1).
    ZeroPacketId,
    /// A string is not well-formed UTF-8, or holds U+0000 (§1.5.4).
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
    /// A reason or return code the packet may not carry.
    InvalidReasonCode(u8),
    /// A CONNACK refusing the connection but claiming a session (§3.2.2.1.1).
    SessionPresentOnRefusal,
    /// SUBSCRIBE with reserved option bits set, or retain handling 3 (§3.8.3.1).
    InvalidSubscriptionOptions,
    /// No Local on a shared subscription (§3.8.3.1).
    NoLocalOnSharedSubscription,
    /// SUBSCRIBE or UNSUBSCRIBE without any topic filter (§3.8.3, §3.10.3).
    NoTopicFilters,
    /// A property identifier MQTT 5 does not define (§2.2.2.2).
    UnknownProperty(u8),
    /// A property this packet may not carry (§2.2.2.2).
    PropertyNotAllowed(u8),
    /// A property that may appear once appears twice.
    DuplicateProperty(u8),
    /// A property value the spec forbids (e.g. Receive Maximum 0).
    InvalidPropertyValue(u8),
    /// PUBLISH with an empty topic and no topic alias (§3.3.2.1).
    EmptyTopicWithoutAlias,
    /// A protocol version this build does not decode.
    Unsupported,
}

impl DecodeError {
    /// The MQTT 5 reason code for this error (0x81 Malformed Packet, 0x82
    /// Protocol Error, 0x95 Packet too large, …), to send in a DISCONNECT.
    pub fn reason_code(&self) -> u8 {
        match self {
            Self::PacketTooLarge { .. } => 0x95,
            Self::UnsupportedProtocolLevel(_) => 0x84,
            Self::InvalidTopicName | Self::EmptyTopicWithoutAlias => 0x90,
            Self::InvalidTopicFilter => 0x8F,
            Self::InvalidPacketType(_)
            | Self::Unsupported
            | Self::DuplicateProperty(_)
            | Self::InvalidPropertyValue(_)
            | Self::InvalidReasonCode(_)
            | Self::SessionPresentOnRefusal
            | Self::NoLocalOnSharedSubscription
            | Self::NoTopicFilters => 0x82,
            _ => 0x81,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedRemainingLength => f.write_str("remaining length longer than 4 bytes"),
            Self::NonMinimalVarint => {
                f.write_str("variable byte integer longer than its value needs")
            }
            Self::PacketTooLarge { size, max } => {
                write!(
                    f,
                    "a packet of {} exceeds the maximum of {}",
                    crate::ByteSize(*size as u64),
                    crate::ByteSize(*max as u64)
                )
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
            Self::InvalidReasonCode(c) => write!(f, "reason code 0x{c:02X} not allowed here"),
            Self::SessionPresentOnRefusal => {
                f.write_str("CONNACK refuses the connection but sets session present")
            }
            Self::InvalidSubscriptionOptions => f.write_str("invalid subscription options"),
            Self::NoLocalOnSharedSubscription => {
                f.write_str("No Local is not allowed on a shared subscription")
            }
            Self::NoTopicFilters => f.write_str("no topic filters"),
            Self::UnknownProperty(id) => write!(f, "unknown property 0x{id:02X}"),
            Self::PropertyNotAllowed(id) => write!(f, "property 0x{id:02X} not allowed here"),
            Self::DuplicateProperty(id) => write!(f, "property 0x{id:02X} appears twice"),
            Self::InvalidPropertyValue(id) => write!(f, "invalid value for property 0x{id:02X}"),
            Self::EmptyTopicWithoutAlias => f.write_str("empty topic name without a topic alias"),
            Self::Unsupported => f.write_str("protocol version not supported"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Why a packet cannot be written.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A string or binary field is longer than 65 535 bytes (§1.5.4).
    FieldTooLong,
    /// The packet would exceed the 268 435 455-byte protocol maximum.
    PacketTooLarge,
    /// A topic name is empty or contains a wildcard (§4.7).
    InvalidTopicName,
    /// A topic filter is empty or has a misplaced wildcard (§4.7.1).
    InvalidTopicFilter,
    /// A string holds U+0000 (§1.5.4).
    InvalidUtf8,
    /// A packet identifier of 0 where a non-zero one is required (§2.2.1).
    ZeroPacketId,
    /// A QoS > 0 PUBLISH without a packet identifier, or QoS 0 with one.
    PacketIdMismatch,
    /// Something MQTT 3.1.1 cannot express: properties, AUTH, a password
    /// without a user name, a reason code without a 3.1.1 equivalent.
    NotInV311,
    /// A reason code the packet may not carry.
    InvalidReasonCode(u8),
    /// SUBSCRIBE or UNSUBSCRIBE without any topic filter.
    NoTopicFilters,
    /// Retain handling 3, or No Local on a shared subscription.
    InvalidSubscriptionOptions,
    /// A property this packet may not carry.
    PropertyNotAllowed(u8),
    /// A property value the spec forbids (e.g. Topic Alias 0).
    InvalidPropertyValue(u8),
    /// A CONNACK refusing the connection but claiming a session.
    SessionPresentOnRefusal,
    /// A protocol version this build does not encode.
    Unsupported,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldTooLong => {
                f.write_str("a string or binary field is longer than 65535 bytes")
            }
            Self::PacketTooLarge => f.write_str("packet exceeds the MQTT maximum size"),
            Self::InvalidTopicName => f.write_str("invalid topic name"),
            Self::InvalidTopicFilter => f.write_str("invalid topic filter"),
            Self::InvalidUtf8 => f.write_str("string contains U+0000"),
            Self::ZeroPacketId => f.write_str("packet identifier 0 is not allowed"),
            Self::PacketIdMismatch => f.write_str("packet identifier does not match the QoS"),
            Self::NotInV311 => f.write_str("MQTT 3.1.1 cannot express this"),
            Self::InvalidReasonCode(c) => write!(f, "reason code 0x{c:02X} not allowed here"),
            Self::NoTopicFilters => f.write_str("at least one topic filter is needed"),
            Self::InvalidSubscriptionOptions => f.write_str("invalid subscription options"),
            Self::PropertyNotAllowed(id) => write!(f, "property 0x{id:02X} not allowed here"),
            Self::InvalidPropertyValue(id) => write!(f, "invalid value for property 0x{id:02X}"),
            Self::SessionPresentOnRefusal => {
                f.write_str("a refused CONNACK cannot set session present")
            }
            Self::Unsupported => f.write_str("protocol version not supported"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
