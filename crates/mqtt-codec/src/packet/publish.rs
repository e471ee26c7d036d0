//! PUBLISH (§3.3).

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Packet, Protocol, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::topic::is_valid_topic_name;
use crate::writer;

/// An application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Redelivery of an earlier attempt (QoS > 0 only).
    pub dup: bool,
    /// Delivery guarantee.
    pub qos: QoS,
    /// Whether the server keeps this as the topic's retained message.
    pub retain: bool,
    /// Topic name (no wildcards). Empty only with a topic alias (MQTT 5).
    pub topic: String,
    /// Packet identifier: present exactly when `qos` > 0.
    pub packet_id: Option<u16>,
    /// PUBLISH properties (MQTT 5).
    pub properties: Properties,
    /// Application payload, a slice of the received buffer.
    pub payload: Bytes,
}

impl Publish {
    /// A QoS 0, non-retained message without properties.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: topic.into(),
            packet_id: None,
            properties: Properties::default(),
            payload: payload.into(),
        }
    }

    // Kept out of line: inlined into the decoder, the packet was built in
    // one stack slot and copied to the next (measured ~5 % slower).
    #[inline(never)]
    pub(super) fn decode(
        flags: u8,
        mut r: Reader,
        protocol: Protocol,
    ) -> Result<Packet, DecodeError> {
        let dup = flags & 0b1000 != 0;
        // "A PUBLISH Packet MUST NOT have both QoS bits set to 1"
        // [MQTT-3.3.1-4].
        let qos = QoS::from_bits((flags >> 1) & 0b11)?;
        // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::InvalidHeaderFlags(super::PacketType::Publish));
        }
        let (topic, wildcard_free) = r.topic_name()?;
        // "The Packet Identifier field is only present in PUBLISH packets
        // where the QoS level is 1 or 2" (§3.3.2.2).
        let packet_id = if qos == QoS::AtMostOnce {
            None
        } else {
            Some(r.packet_id()?)
        };
        let properties = properties::decode_for(&mut r, Context::Publish, protocol)?;
        // `topic_name` has scanned the topic already. Checked before the
        // packet is assembled, which then goes straight to the caller.
        topic_ok(&topic, &properties, protocol, |topic| {
            !topic.is_empty() && wildcard_free
        })?;
        Ok(Packet::Publish(Self {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            properties,
            payload: r.rest(),
        }))
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        topic_ok(&self.topic, &self.properties, protocol, is_valid_topic_name)
            .map_err(|_| EncodeError::InvalidTopicName)?;
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) => {}
            (QoS::AtMostOnce, Some(_)) | (_, None) => return Err(EncodeError::PacketIdMismatch),
            (_, Some(0)) => return Err(EncodeError::ZeroPacketId),
            (_, Some(_)) => {}
        }
        let mut first = 0x30 | ((self.qos as u8) << 1);
        if self.dup && self.qos != QoS::AtMostOnce {
            first |= 0b1000;
        }
        if self.retain {
            first |= 1;
        }
        let topic = self.topic.as_bytes();
        // `topic_ok` has checked it for NUL and its length already.
        let topic_len = u16::try_from(topic.len()).map_err(|_| EncodeError::FieldTooLong)?;
        let id_len = if self.packet_id.is_some() { 2 } else { 0 };
        let properties = properties::check_for(&self.properties, Context::Publish, protocol)?;
        let len = writer::field_len(topic) + id_len + properties.encoded_len() + self.payload.len();
        writer::header_and_length(out, first, len, topic_len)?;
        out.extend_from_slice(topic);
        if let Some(id) = self.packet_id {
            writer::u16(out, id);
        }
        properties.write(out)?;
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}

/// Whether a PUBLISH topic is acceptable: a valid topic name, or empty with
/// a topic alias in MQTT 5 ("It is a Protocol Error if the Topic Name is zero
/// length and there is no Topic Alias", §3.3.2.1). `valid_name` says whether
/// the topic is a valid topic name ([`is_valid_topic_name`], or what decoding
/// found).
fn topic_ok(
    topic: &str,
    properties: &Properties,
    protocol: Protocol,
    valid_name: impl FnOnce(&str) -> bool,
) -> Result<(), DecodeError> {
    if topic.is_empty() && protocol == Protocol::V5 {
        return match properties.topic_alias {
            Some(_) => Ok(()),
            None => Err(DecodeError::EmptyTopicWithoutAlias),
        };
    }
    // "The Topic Name in the PUBLISH packet MUST NOT contain wildcard
    // characters" [MQTT-3.3.2-2].
    if valid_name(topic) {
        Ok(())
    } else {
        Err(DecodeError::InvalidTopicName)
    }
}
