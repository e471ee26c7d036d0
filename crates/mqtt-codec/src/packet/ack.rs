//! PUBACK (§3.4), PUBREC (§3.5), PUBREL (§3.6) and PUBCOMP (§3.7): a packet
//! identifier and, in MQTT 5, a reason code and properties.

use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{Context, Properties};
use crate::reader::Reader;
use crate::reason::{self, allowed, ReasonCode};
use crate::writer;

macro_rules! ack_packet {
    ($(#[$doc:meta])* $name:ident, $first:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The identifier of the PUBLISH (or PUBREC/PUBREL) answered.
            pub packet_id: u16,
            /// Success (0), or why not (MQTT 5; always 0 in MQTT 3.1.1).
            pub reason_code: ReasonCode,
            /// Properties (MQTT 5): reason string, user properties.
            pub properties: Properties,
        }

        impl $name {
            /// A successful acknowledgement of `packet_id`.
            pub fn new(packet_id: u16) -> Self {
                Self {
                    packet_id,
                    reason_code: ReasonCode::SUCCESS,
                    properties: Properties::default(),
                }
            }

            pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
                let packet_id = r.packet_id()?;
                let mut ack = Self::new(packet_id);
                // "The Reason Code and Property Length can be omitted if the
                // Reason Code is 0x00 (Success) and there are no Properties",
                // and "If the Remaining Length is less than 4 there is no
                // Property Length and the value of 0 is used" (§3.4.2.1–2).
                if protocol == Protocol::V5 && r.remaining() > 0 {
                    ack.reason_code = reason::check(r.u8()?, $allowed)?;
                    if r.remaining() > 0 {
                        ack.properties = Properties::decode(r, Context::PubAck)?;
                    }
                }
                Ok(ack)
            }

            pub(super) fn encode(
                &self,
                out: &mut Vec<u8>,
                protocol: Protocol,
            ) -> Result<(), EncodeError> {
                if self.packet_id == 0 {
                    return Err(EncodeError::ZeroPacketId);
                }
                let short = self.reason_code == ReasonCode::SUCCESS && self.properties.is_empty();
                if protocol == Protocol::V311 || short {
                    if !short {
                        return Err(EncodeError::NotInV311);
                    }
                    writer::header(out, $first, 2)?;
                    writer::u16(out, self.packet_id);
                    return Ok(());
                }
                // With a reason code, always a property length too (0 if
                // none), as mqtt.js does: the 3-byte form is legal but rare.
                let code = reason::check_out(self.reason_code, $allowed)?;
                let properties = self.properties.check(Context::PubAck)?;
                writer::header(out, $first, 3 + properties.encoded_len())?;
                writer::u16(out, self.packet_id);
                out.push(code);
                properties.write(out)
            }
        }
    };
}

ack_packet!(
    /// Acknowledges a QoS 1 PUBLISH.
    PubAck,
    0x40,
    allowed::PUBACK
);
ack_packet!(
    /// Answers a QoS 2 PUBLISH: received (step 1 of 3).
    PubRec,
    0x50,
    allowed::PUBACK
);
ack_packet!(
    /// Answers PUBREC: release the message (step 2 of 3). Its fixed header
    /// flags are 0010 [MQTT-3.6.1-1].
    PubRel,
    0x62,
    allowed::PUBREL
);
ack_packet!(
    /// Answers PUBREL: complete (step 3 of 3).
    PubComp,
    0x70,
    allowed::PUBREL
);
