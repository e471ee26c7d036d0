//! DISCONNECT (§3.14).

use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{Context, Properties};
use crate::reader::Reader;
use crate::reason::{self, allowed, ReasonCode};
use crate::writer;

/// The end of a connection, from either side (the server only in MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// Why (MQTT 5); 0 is a normal disconnection, 4 asks for the will.
    pub reason_code: ReasonCode,
    /// Properties (MQTT 5): session expiry, reason string, server reference.
    pub properties: Properties,
}

impl Disconnect {
    /// A normal disconnection.
    pub fn normal() -> Self {
        Self::default()
    }

    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let mut disconnect = Self::normal();
        // "The Reason Code and Property Length can be omitted if the Reason
        // Code is 0x00 (Normal disconnecton) and there are no Properties"
        // (§3.14.2.1). 3.1.1 has no variable header: leftovers are trailing.
        if protocol == Protocol::V5 && r.remaining() > 0 {
            disconnect.reason_code = reason::check(r.u8()?, allowed::DISCONNECT)?;
            if r.remaining() > 0 {
                disconnect.properties = Properties::decode(r, Context::Disconnect)?;
            }
        }
        Ok(disconnect)
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        if protocol == Protocol::V311 {
            if self.reason_code != ReasonCode::NORMAL_DISCONNECTION || !self.properties.is_empty() {
                return Err(EncodeError::NotInV311);
            }
            return writer::header(out, 0xe0, 0);
        }
        // Always the full form, as mqtt.js writes it.
        let code = reason::check_out(self.reason_code, allowed::DISCONNECT)?;
        let properties = self.properties.check(Context::Disconnect)?;
        writer::header(out, 0xe0, 1 + properties.encoded_len())?;
        out.push(code);
        properties.write(out)
    }
}
