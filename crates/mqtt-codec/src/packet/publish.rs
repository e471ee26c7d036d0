//! PUBLISH (§3.3).

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Protocol, QoS};
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

    /// Whether the topic is acceptable: a valid topic name, or empty with a
    /// topic alias in MQTT 5 ("It is a Protocol Error if the Topic Name is
    /// zero length and there is no Topic Alias", §3.3.2.1).
    fn topic_ok(&self, protocol: Protocol) -> Result<(), DecodeError> {
        if self.topic.is_empty() && protocol == Protocol::V5 {
            return match self.properties.topic_alias {
                Some(_) => Ok(()),
                None => Err(DecodeError::EmptyTopicWithoutAlias),
            };
        }
        // "The Topic Name in the PUBLISH packet MUST NOT contain wildcard
        // characters" [MQTT-3.3.2-2].
        if is_valid_topic_name(&self.topic) {
            Ok(())
        } else {
            Err(DecodeError::InvalidTopicName)
        }
    }

    pub(super) fn decode(
        flags: u8,
        r: &mut Reader,
        protocol: Protocol,
    ) -> Result<Self, DecodeError> {
        let dup = flags & 0b1000 != 0;
        // "A PUBLISH Packet MUST NOT have both QoS bits set to 1"
        // [MQTT-3.3.1-4].
        let qos = QoS::from_bits((flags >> 1) & 0b11)?;
        // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::InvalidHeaderFlags(super::PacketType::Publish));
        }
        let topic = r.string()?;
        // "The Packet Identifier field is only present in PUBLISH packets
        // where the QoS level is 1 or 2" (§3.3.2.2).
        let packet_id = if qos == QoS::AtMostOnce {
            None
        } else {
            Some(r.packet_id()?)
        };
        let properties = properties::decode_for(r, Context::Publish, protocol)?;
        let publish = Self {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            properties,
            payload: r.rest(),
        };
        publish.topic_ok(protocol)?;
        Ok(publish)
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        self.topic_ok(protocol)
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
        let id_len = if self.packet_id.is_some() { 2 } else { 0 };
        let len = writer::field_len(self.topic.as_bytes())
            + id_len
            + properties::len_for(&self.properties, protocol)?
            + self.payload.len();
        writer::header(out, first, len)?;
        // `topic_ok` has checked it for NUL already.
        writer::binary(out, self.topic.as_bytes())?;
        if let Some(id) = self.packet_id {
            writer::u16(out, id);
        }
        properties::encode_for(&self.properties, Context::Publish, protocol, out)?;
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}
