//! UNSUBSCRIBE (§3.10).

use alloc::string::String;
use alloc::vec::Vec;

use super::Protocol;
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::topic::is_valid_topic_filter;
use crate::writer;

/// A request to remove subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier (non-zero).
    pub packet_id: u16,
    /// Properties (MQTT 5): user properties.
    pub properties: Properties,
    /// The filters to remove, exactly as subscribed.
    pub filters: Vec<String>,
}

impl Unsubscribe {
    /// An UNSUBSCRIBE for `filters` without properties.
    pub fn new(packet_id: u16, filters: Vec<String>) -> Self {
        Self {
            packet_id,
            properties: Properties::default(),
            filters,
        }
    }

    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = properties::decode_for(r, Context::Unsubscribe, protocol)?;
        let mut filters = Vec::new();
        while r.remaining() > 0 {
            let filter = r.string()?;
            if !is_valid_topic_filter(&filter) {
                return Err(DecodeError::InvalidTopicFilter);
            }
            filters.push(filter);
        }
        // "The Payload of an UNSUBSCRIBE packet MUST contain at least one
        // Topic Filter" [MQTT-3.10.3-2].
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Self {
            packet_id,
            properties,
            filters,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>, protocol: Protocol) -> Result<(), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId);
        }
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        let properties = properties::check_for(&self.properties, Context::Unsubscribe, protocol)?;
        let mut len = 2 + properties.encoded_len();
        for f in &self.filters {
            if !is_valid_topic_filter(f) {
                return Err(EncodeError::InvalidTopicFilter);
            }
            len += writer::field_len(f.as_bytes());
        }
        // Fixed header flags "MUST be set to 0,0,1 and 0" [MQTT-3.10.1-1].
        writer::header(out, 0xa2, len)?;
        writer::u16(out, self.packet_id);
        properties.write(out)?;
        for f in &self.filters {
            writer::string(out, f)?;
        }
        Ok(())
    }
}
