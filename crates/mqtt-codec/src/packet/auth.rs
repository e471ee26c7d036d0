//! AUTH (§3.15), MQTT 5 only: extended authentication exchanges.

use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{Context, Properties};
use crate::reader::Reader;
use crate::reason::{self, allowed, ReasonCode};
use crate::writer;

/// One step of an extended authentication exchange.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Success (0), continue authentication (0x18) or re-authenticate (0x19).
    pub reason_code: ReasonCode,
    /// Properties: authentication method and data, reason string, user
    /// properties.
    pub properties: Properties,
}

impl Auth {
    pub(super) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut auth = Self::default();
        // "The Reason Code and Property Length can be omitted if the Reason
        // Code is 0x00 (Success) and there are no Properties" (§3.15.2.1).
        if r.remaining() > 0 {
            auth.reason_code = reason::check(r.u8()?, allowed::AUTH)?;
            if r.remaining() > 0 {
                auth.properties = Properties::decode(r, Context::Auth)?;
            }
        }
        Ok(auth)
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        if protocol == Protocol::V311 {
            return Err(EncodeError::NotInV311);
        }
        let code = reason::check_out(self.reason_code, allowed::AUTH)?;
        let properties = self.properties.check(Context::Auth)?;
        writer::header(out, 0xf0, 1 + properties.encoded_len())?;
        out.push(code);
        properties.write(out)
    }
}
