//! SUBACK (§3.9) and UNSUBACK (§3.11): one reason code per filter asked.

use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::reason::{self, allowed, ReasonCode};
use crate::writer;

/// The server's answer to SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// The identifier of the SUBSCRIBE answered.
    pub packet_id: u16,
    /// Properties (MQTT 5): reason string, user properties.
    pub properties: Properties,
    /// Per filter, in order: the granted QoS (0, 1, 2) or a failure (≥ 0x80).
    pub reason_codes: Vec<ReasonCode>,
}

impl SubAck {
    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = properties::decode_for(r, Context::SubAck, protocol)?;
        // 3.1.1: "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80
        // are reserved and MUST NOT be used" [MQTT-3.9.3-2].
        let codes = match protocol {
            Protocol::V311 => allowed::SUBACK_V311,
            _ => allowed::SUBACK,
        };
        let mut reason_codes = Vec::with_capacity(r.remaining());
        while r.remaining() > 0 {
            reason_codes.push(reason::check(r.u8()?, codes)?);
        }
        Ok(Self {
            packet_id,
            properties,
            reason_codes,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId);
        }
        let codes = match protocol {
            Protocol::V311 => allowed::SUBACK_V311,
            _ => allowed::SUBACK,
        };
        let properties = properties::check_for(&self.properties, Context::SubAck, protocol)?;
        let len = 2 + properties.encoded_len() + self.reason_codes.len();
        writer::header(out, 0x90, len)?;
        writer::u16(out, self.packet_id);
        properties.write(out)?;
        for &code in &self.reason_codes {
            out.push(reason::check_out(code, codes)?);
        }
        Ok(())
    }
}

/// The server's answer to UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// The identifier of the UNSUBSCRIBE answered.
    pub packet_id: u16,
    /// Properties (MQTT 5): reason string, user properties.
    pub properties: Properties,
    /// Per filter, in order (MQTT 5; MQTT 3.1.1 UNSUBACK carries none).
    pub reason_codes: Vec<ReasonCode>,
}

impl UnsubAck {
    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = properties::decode_for(r, Context::UnsubAck, protocol)?;
        let mut reason_codes = Vec::new();
        // 3.1.1: "The UNSUBACK Packet has no payload" (§3.11.3); leftover
        // bytes fail as trailing data.
        if protocol == Protocol::V5 {
            reason_codes.reserve(r.remaining());
            while r.remaining() > 0 {
                reason_codes.push(reason::check(r.u8()?, allowed::UNSUBACK)?);
            }
        }
        Ok(Self {
            packet_id,
            properties,
            reason_codes,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId);
        }
        if protocol == Protocol::V311 && !self.reason_codes.is_empty() {
            return Err(EncodeError::NotInV311);
        }
        let properties = properties::check_for(&self.properties, Context::UnsubAck, protocol)?;
        let len = 2 + properties.encoded_len() + self.reason_codes.len();
        writer::header(out, 0xb0, len)?;
        writer::u16(out, self.packet_id);
        properties.write(out)?;
        for &code in &self.reason_codes {
            out.push(reason::check_out(code, allowed::UNSUBACK)?);
        }
        Ok(())
    }
}
