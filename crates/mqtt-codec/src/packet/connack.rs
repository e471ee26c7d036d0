//! CONNACK (§3.2).

use alloc::vec::Vec;

use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::writer;

/// The server's answer to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the server resumed a stored session (§3.2.2.2).
    pub session_present: bool,
    /// Whether the connection was accepted, and if not, why.
    pub code: ConnectReturnCode,
}

/// The CONNACK return code of MQTT 3.1.1 (§3.2.2.3, Table 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: the server does not support the requested protocol level.
    UnacceptableProtocolVersion = 1,
    /// 2: the client identifier is not allowed by the server.
    IdentifierRejected = 2,
    /// 3: the MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 4: the user name or password is malformed.
    BadUsernameOrPassword = 4,
    /// 5: the client is not authorized to connect.
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    fn from_byte(byte: u8) -> Result<Self, DecodeError> {
        Ok(match byte {
            0 => Self::Accepted,
            1 => Self::UnacceptableProtocolVersion,
            2 => Self::IdentifierRejected,
            3 => Self::ServerUnavailable,
            4 => Self::BadUsernameOrPassword,
            5 => Self::NotAuthorized,
            // "6-255 Reserved for future use".
            other => return Err(DecodeError::InvalidConnectReturnCode(other)),
        })
    }

    /// A sentence a user can act on.
    pub fn description(self) -> &'static str {
        match self {
            Self::Accepted => "connection accepted",
            Self::UnacceptableProtocolVersion => {
                "the broker does not support this MQTT protocol version"
            }
            Self::IdentifierRejected => "the broker rejected the client id",
            Self::ServerUnavailable => "the MQTT service is unavailable",
            Self::BadUsernameOrPassword => "bad user name or password",
            Self::NotAuthorized => "not authorized: check the user name and password",
        }
    }
}

impl ConnAck {
    pub(super) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        // "Bits 7-1 are reserved and MUST be set to 0" (§3.2.2.1).
        if flags & !1 != 0 {
            return Err(DecodeError::InvalidConnAckFlags);
        }
        let code = ConnectReturnCode::from_byte(r.u8()?)?;
        Ok(Self {
            session_present: flags & 1 != 0,
            code,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        writer::header(out, 0x20, 2)?;
        out.push(u8::from(self.session_present));
        out.push(self.code as u8);
        Ok(())
    }
}
