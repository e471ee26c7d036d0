//! PUBLISH (§3.3).

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::QoS;
use crate::error::{DecodeError, EncodeError};
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
    /// Topic name (no wildcards).
    pub topic: String,
    /// Packet identifier: present exactly when `qos` > 0.
    pub packet_id: Option<u16>,
    /// Application payload, a slice of the received buffer.
    pub payload: Bytes,
}

impl Publish {
    /// A QoS 0, non-retained message.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: topic.into(),
            packet_id: None,
            payload: payload.into(),
        }
    }

    pub(super) fn decode(flags: u8, r: &mut Reader) -> Result<Self, DecodeError> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_bits((flags >> 1) & 0b11)?;
        // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::InvalidHeaderFlags(super::PacketType::Publish));
        }
        let topic = r.string()?;
        // "The Topic Name in the PUBLISH Packet MUST NOT contain wildcard
        // characters" [MQTT-3.3.2-2].
        if !is_valid_topic_name(&topic) {
            return Err(DecodeError::InvalidTopicName);
        }
        // "The Packet Identifier field is only present in PUBLISH Packets
        // where the QoS level is 1 or 2" (§3.3.2.2).
        let packet_id = if qos == QoS::AtMostOnce {
            None
        } else {
            Some(r.packet_id()?)
        };
        Ok(Self {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            payload: r.rest(),
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !is_valid_topic_name(&self.topic) {
            return Err(EncodeError::InvalidTopicName);
        }
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
        let len = writer::field_len(self.topic.as_bytes()) + id_len + self.payload.len();
        writer::header(out, first, len)?;
        writer::string(out, &self.topic)?;
        if let Some(id) = self.packet_id {
            writer::u16(out, id);
        }
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}
