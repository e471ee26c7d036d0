//! SUBACK (§3.9).

use alloc::vec::Vec;

use super::QoS;
use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::writer;

/// The server's answer to SUBSCRIBE: one return code per filter, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// The identifier of the SUBSCRIBE this answers.
    pub packet_id: u16,
    /// One code per requested filter.
    pub return_codes: Vec<SubAckReturnCode>,
}

/// The outcome for one filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubAckReturnCode {
    /// Subscribed; the broker will deliver at most this QoS.
    Granted(QoS),
    /// 0x80: the broker refused this filter.
    Failure,
}

impl SubAck {
    pub(super) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let mut return_codes = Vec::with_capacity(r.remaining());
        while r.remaining() > 0 {
            // "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are
            // reserved and MUST NOT be used" [MQTT-3.9.3-2].
            return_codes.push(match r.u8()? {
                0x80 => SubAckReturnCode::Failure,
                code @ 0..=2 => SubAckReturnCode::Granted(QoS::from_bits(code)?),
                code => return Err(DecodeError::InvalidSubAckReturnCode(code)),
            });
        }
        Ok(Self {
            packet_id,
            return_codes,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId);
        }
        writer::header(out, 0x90, 2 + self.return_codes.len())?;
        writer::u16(out, self.packet_id);
        out.extend(self.return_codes.iter().map(|code| match code {
            SubAckReturnCode::Granted(qos) => *qos as u8,
            SubAckReturnCode::Failure => 0x80,
        }));
        Ok(())
    }
}
