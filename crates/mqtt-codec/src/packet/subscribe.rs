//! SUBSCRIBE (§3.8).

use alloc::string::String;
use alloc::vec::Vec;

use super::QoS;
use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::topic::is_valid_topic_filter;
use crate::writer;

/// A request to subscribe to one or more topic filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier (non-zero).
    pub packet_id: u16,
    /// The filters, in order; the SUBACK answers each in the same order.
    pub filters: Vec<SubscribeFilter>,
}

/// One topic filter of a SUBSCRIBE with its requested QoS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter, wildcards allowed.
    pub filter: String,
    /// The maximum QoS the client wants to receive on it.
    pub qos: QoS,
}

impl SubscribeFilter {
    /// A filter with its maximum QoS.
    pub fn new(filter: impl Into<String>, qos: QoS) -> Self {
        Self {
            filter: filter.into(),
            qos,
        }
    }
}

impl Subscribe {
    pub(super) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let mut filters = Vec::new();
        while r.remaining() > 0 {
            let filter = r.string()?;
            if !is_valid_topic_filter(&filter) {
                return Err(DecodeError::InvalidTopicFilter);
            }
            let options = r.u8()?;
            // "The Server MUST treat a SUBSCRIBE packet as malformed and close
            // the Network Connection if any of Reserved bits in the payload
            // are non-zero, or QoS is not 0,1 or 2" [MQTT-3-8.3-4].
            if options & !0b11 != 0 {
                return Err(DecodeError::InvalidSubscriptionOptions);
            }
            let qos = QoS::from_bits(options)?;
            filters.push(SubscribeFilter { filter, qos });
        }
        // "The payload of a SUBSCRIBE packet MUST contain at least one Topic
        // Filter / QoS pair. A SUBSCRIBE packet with no payload is a protocol
        // violation" [MQTT-3.8.3-3].
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Self { packet_id, filters })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId);
        }
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        let mut len = 2;
        for f in &self.filters {
            if !is_valid_topic_filter(&f.filter) {
                return Err(EncodeError::InvalidTopicFilter);
            }
            len += writer::field_len(f.filter.as_bytes()) + 1;
        }
        // Bits 3,2,1 and 0 of the fixed header "MUST be set to 0,0,1 and 0
        // respectively" [MQTT-3.8.1-1].
        writer::header(out, 0x82, len)?;
        writer::u16(out, self.packet_id);
        for f in &self.filters {
            writer::string(out, &f.filter)?;
            out.push(f.qos as u8);
        }
        Ok(())
    }
}
