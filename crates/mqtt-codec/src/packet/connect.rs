//! CONNECT (§3.1).

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Protocol, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::topic::is_valid_topic_name;
use crate::writer;

/// Client request to connect to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The protocol version asked for; the packet is written in it.
    pub protocol: Protocol,
    /// Client identifier; empty asks the server to assign one.
    pub client_id: String,
    /// Clean session (3.1.1) / clean start (5.0): discard stored state.
    pub clean_start: bool,
    /// Keep-alive interval in seconds; 0 turns keep-alive off.
    pub keep_alive: u16,
    /// CONNECT properties (MQTT 5).
    pub properties: Properties,
    /// The message the server publishes when the client goes away uncleanly.
    pub will: Option<LastWill>,
    /// User name.
    pub username: Option<String>,
    /// Password: binary data, not necessarily UTF-8.
    pub password: Option<Bytes>,
}

impl Connect {
    /// A clean-start CONNECT with a 60 s keep-alive and nothing else.
    pub fn new(protocol: Protocol, client_id: impl Into<String>) -> Self {
        Self {
            protocol,
            client_id: client_id.into(),
            clean_start: true,
            keep_alive: 60,
            properties: Properties::default(),
            will: None,
            username: None,
            password: None,
        }
    }
}

/// A last will: published by the server on the client's behalf when the
/// network connection closes without a normal DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Topic name of the will message.
    pub topic: String,
    /// Payload of the will message.
    pub payload: Bytes,
    /// QoS of the will message.
    pub qos: QoS,
    /// Whether the will message is retained.
    pub retain: bool,
    /// Will properties (MQTT 5): delay, expiry, content type, …
    pub properties: Properties,
}

impl LastWill {
    /// A QoS 0 will.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>, retain: bool) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain,
            properties: Properties::default(),
        }
    }
}

const PROTOCOL_NAME: &str = "MQTT";

const USERNAME: u8 = 0x80;
const PASSWORD: u8 = 0x40;
const WILL_RETAIN: u8 = 0x20;
const WILL_QOS_SHIFT: u8 = 3;
const WILL: u8 = 0x04;
const CLEAN_START: u8 = 0x02;
const RESERVED: u8 = 0x01;

impl Connect {
    pub(super) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        // "If the protocol name is incorrect the Server MAY disconnect the
        // Client" [MQTT-3.1.2-1].
        if r.string()? != PROTOCOL_NAME {
            return Err(DecodeError::InvalidProtocolName);
        }
        let protocol = match r.u8()? {
            4 => Protocol::V311,
            5 => Protocol::V5,
            level => return Err(DecodeError::UnsupportedProtocolLevel(level)),
        };
        let flags = r.u8()?;
        // "The Server MUST validate that the reserved flag in the CONNECT
        // packet is set to 0" [MQTT-3.1.2-3].
        if flags & RESERVED != 0 {
            return Err(DecodeError::InvalidConnectFlags);
        }
        let will_qos_bits = (flags >> WILL_QOS_SHIFT) & 0b11;
        if flags & WILL == 0 {
            // "If the Will Flag is set to 0, then the Will QoS MUST be set to
            // 0" [MQTT-3.1.2-11] and "the Will Retain MUST be set to 0"
            // [MQTT-3.1.2-13].
            if will_qos_bits != 0 || flags & WILL_RETAIN != 0 {
                return Err(DecodeError::InvalidConnectFlags);
            }
        }
        // 3.1.1 only: "If the User Name Flag is set to 0, the Password Flag
        // MUST be set to 0" [MQTT-3.1.2-22]. MQTT 5 allows a password alone.
        if protocol == Protocol::V311 && flags & USERNAME == 0 && flags & PASSWORD != 0 {
            return Err(DecodeError::InvalidConnectFlags);
        }
        let keep_alive = r.u16()?;
        let properties = properties::decode_for(r, Context::Connect, protocol)?;
        let client_id = r.string()?;
        let will = if flags & WILL != 0 {
            // "If the Will Flag is set to 1, the value of Will QoS can be 0
            // (0x00), 1 (0x01), or 2 (0x02)" [MQTT-3.1.2-12].
            let qos =
                QoS::from_bits(will_qos_bits).map_err(|_| DecodeError::InvalidConnectFlags)?;
            let properties = properties::decode_for(r, Context::Will, protocol)?;
            let topic = r.string()?;
            if !is_valid_topic_name(&topic) {
                return Err(DecodeError::InvalidTopicName);
            }
            let payload = r.binary()?;
            Some(LastWill {
                topic,
                payload,
                qos,
                retain: flags & WILL_RETAIN != 0,
                properties,
            })
        } else {
            None
        };
        let username = if flags & USERNAME != 0 {
            Some(r.string()?)
        } else {
            None
        };
        let password = if flags & PASSWORD != 0 {
            Some(r.binary()?)
        } else {
            None
        };
        Ok(Self {
            protocol,
            client_id,
            clean_start: flags & CLEAN_START != 0,
            keep_alive,
            properties,
            will,
            username,
            password,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let protocol = self.protocol;
        if protocol == Protocol::V311 && self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::NotInV311);
        }
        // "If the Client supplies a zero-byte ClientId, the Client MUST also
        // set CleanSession to 1" [MQTT-3.1.3-7] (3.1.1; MQTT 5 lets the
        // server assign an id to a persistent session).
        if protocol == Protocol::V311 && self.client_id.is_empty() && !self.clean_start {
            return Err(EncodeError::NotInV311);
        }
        let mut flags = 0u8;
        let properties = properties::check_for(&self.properties, Context::Connect, protocol)?;
        let will_properties = match &self.will {
            Some(will) => Some(properties::check_for(
                &will.properties,
                Context::Will,
                protocol,
            )?),
            None => None,
        };
        let mut len = writer::field_len(PROTOCOL_NAME.as_bytes()) + 1 + 1 + 2;
        len += properties.encoded_len();
        len += writer::field_len(self.client_id.as_bytes());
        if self.clean_start {
            flags |= CLEAN_START;
        }
        if let Some(will) = &self.will {
            if !is_valid_topic_name(&will.topic) {
                return Err(EncodeError::InvalidTopicName);
            }
            flags |= WILL | ((will.qos as u8) << WILL_QOS_SHIFT);
            if will.retain {
                flags |= WILL_RETAIN;
            }
            len += will_properties.as_ref().map_or(0, |p| p.encoded_len());
            len += writer::field_len(will.topic.as_bytes()) + writer::field_len(&will.payload);
        }
        if let Some(username) = &self.username {
            flags |= USERNAME;
            len += writer::field_len(username.as_bytes());
        }
        if let Some(password) = &self.password {
            flags |= PASSWORD;
            len += writer::field_len(password);
        }
        writer::header(out, 0x10, len)?;
        writer::string(out, PROTOCOL_NAME)?;
        out.push(protocol.level());
        out.push(flags);
        writer::u16(out, self.keep_alive);
        properties.write(out)?;
        writer::string(out, &self.client_id)?;
        if let Some(will) = &self.will {
            if let Some(will_properties) = &will_properties {
                will_properties.write(out)?;
            }
            writer::string(out, &will.topic)?;
            writer::binary(out, &will.payload)?;
        }
        if let Some(username) = &self.username {
            writer::string(out, username)?;
        }
        if let Some(password) = &self.password {
            writer::binary(out, password)?;
        }
        Ok(())
    }
}
