//! CONNACK (§3.2).

use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::reason::{self, allowed, ReasonCode};
use crate::writer;

/// The server's answer to CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the server resumed a stored session.
    pub session_present: bool,
    /// Accepted (0), or why not. An MQTT 3.1.1 return code is decoded into
    /// the MQTT 5 code that means the same (5 "not authorized" → 0x87).
    pub reason_code: ReasonCode,
    /// CONNACK properties (MQTT 5).
    pub properties: Properties,
}

impl ConnAck {
    /// A CONNACK with this reason code and no properties.
    pub fn new(session_present: bool, reason_code: ReasonCode) -> Self {
        Self {
            session_present,
            reason_code,
            properties: Properties::default(),
        }
    }

    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        // "Bits 7-1 are reserved and MUST be set to 0" [MQTT-3.2.2-1].
        if flags & !1 != 0 {
            return Err(DecodeError::InvalidConnAckFlags);
        }
        let code = r.u8()?;
        let reason_code = match protocol {
            // 3.1.1 Table 3.1: "6-255 Reserved for future use".
            Protocol::V311 => {
                ReasonCode::from_v311_connack(code).ok_or(DecodeError::InvalidReasonCode(code))?
            }
            _ => reason::check(code, allowed::CONNACK)?,
        };
        let session_present = flags & 1 != 0;
        // "If a Server sends a CONNACK packet containing a non-zero Reason
        // Code it MUST set Session Present to 0" [MQTT-3.2.2-6].
        if session_present && !reason_code.is_success() {
            return Err(DecodeError::SessionPresentOnRefusal);
        }
        let properties = properties::decode_for(r, Context::ConnAck, protocol)?;
        Ok(Self {
            session_present,
            reason_code,
            properties,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        let code = match protocol {
            Protocol::V311 => self
                .reason_code
                .to_v311_connack()
                .ok_or(EncodeError::NotInV311)?,
            _ => reason::check_out(self.reason_code, allowed::CONNACK)?,
        };
        if self.session_present && !self.reason_code.is_success() {
            return Err(EncodeError::SessionPresentOnRefusal);
        }
        let properties = properties::check_for(&self.properties, Context::ConnAck, protocol)?;
        writer::header(out, 0x20, 2 + properties.encoded_len())?;
        out.push(u8::from(self.session_present));
        out.push(code);
        properties.write(out)
    }
}
