//! SUBSCRIBE (§3.8).

use alloc::string::String;
use alloc::vec::Vec;

use super::{Protocol, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{self, Context, Properties};
use crate::reader::Reader;
use crate::topic::is_valid_topic_filter;
use crate::writer;

/// A request to subscribe to one or more topic filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier (non-zero).
    pub packet_id: u16,
    /// Properties (MQTT 5): one subscription identifier, user properties.
    pub properties: Properties,
    /// The filters, in order; the SUBACK answers each in the same order.
    pub filters: Vec<SubscribeFilter>,
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter, wildcards allowed.
    pub filter: String,
    /// The maximum QoS the client wants to receive on it.
    pub qos: QoS,
    /// MQTT 5: do not send our own publishes back to us.
    pub no_local: bool,
    /// MQTT 5: keep the RETAIN flag as published instead of clearing it.
    pub retain_as_published: bool,
    /// MQTT 5: whether retained messages are sent when subscribing.
    pub retain_handling: RetainHandling,
}

/// When the server sends retained messages for a new subscription (§3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: only if the subscription did not already exist.
    SendAtSubscribeIfNew = 1,
    /// 2: never.
    DoNotSend = 2,
}

impl SubscribeFilter {
    /// A filter with its maximum QoS and default options.
    pub fn new(filter: impl Into<String>, qos: QoS) -> Self {
        Self {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    fn options_byte(&self) -> u8 {
        (self.qos as u8)
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | ((self.retain_handling as u8) << 4)
    }
}

/// `$share/{ShareName}/{filter}` (MQTT 5 §4.8.2): the filter part, if shared.
fn shared_filter(filter: &str) -> Option<Result<&str, ()>> {
    let rest = filter.strip_prefix("$share/")?;
    // "The ShareName MUST NOT contain the characters "/", "+" or "#", but
    // MUST be followed by a "/" character. This "/" character MUST be
    // followed by a Topic Filter" [MQTT-4.8.2-1, MQTT-4.8.2-2].
    Some(match rest.split_once('/') {
        Some((name, inner))
            if !name.is_empty() && !name.contains(['+', '#']) && !inner.is_empty() =>
        {
            Ok(inner)
        }
        _ => Err(()),
    })
}

/// Checks a filter and its options for `protocol`.
fn check_filter(f: &SubscribeFilter, protocol: Protocol) -> Result<(), DecodeError> {
    if !is_valid_topic_filter(&f.filter) {
        return Err(DecodeError::InvalidTopicFilter);
    }
    if protocol == Protocol::V5 {
        match shared_filter(&f.filter) {
            Some(Err(())) => return Err(DecodeError::InvalidTopicFilter),
            // "It is a Protocol Error to set the No Local bit to 1 on a
            // Shared Subscription" [MQTT-3.8.3-4].
            Some(Ok(_)) if f.no_local => return Err(DecodeError::NoLocalOnSharedSubscription),
            _ => {}
        }
    }
    Ok(())
}

impl Subscribe {
    /// A SUBSCRIBE for `filters` without properties.
    pub fn new(packet_id: u16, filters: Vec<SubscribeFilter>) -> Self {
        Self {
            packet_id,
            properties: Properties::default(),
            filters,
        }
    }

    pub(super) fn decode(r: &mut Reader, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = properties::decode_for(r, Context::Subscribe, protocol)?;
        let mut filters = Vec::new();
        while r.remaining() > 0 {
            let filter = r.string()?;
            let options = r.u8()?;
            // 3.1.1: "The Server MUST treat a SUBSCRIBE packet as malformed
            // and close the Network Connection if any of Reserved bits in the
            // payload are non-zero" [MQTT-3-8.3-4]; MQTT 5 uses bits 2-5, and
            // "It is a Protocol Error to send a Retain Handling value of 3"
            // (§3.8.3.1).
            let reserved = match protocol {
                Protocol::V311 => !0b11,
                _ => 0b1100_0000,
            };
            if options & reserved != 0 || (options >> 4) & 0b11 == 3 {
                return Err(DecodeError::InvalidSubscriptionOptions);
            }
            let f = SubscribeFilter {
                filter,
                qos: QoS::from_bits(options & 0b11)?,
                no_local: options & 0b100 != 0,
                retain_as_published: options & 0b1000 != 0,
                retain_handling: match (options >> 4) & 0b11 {
                    0 => RetainHandling::SendAtSubscribe,
                    1 => RetainHandling::SendAtSubscribeIfNew,
                    _ => RetainHandling::DoNotSend,
                },
            };
            check_filter(&f, protocol)?;
            filters.push(f);
        }
        // "The payload of a SUBSCRIBE packet MUST contain at least one Topic
        // Filter" [MQTT-3.8.3-2].
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
        let properties = properties::check_for(&self.properties, Context::Subscribe, protocol)?;
        let mut len = 2 + properties.encoded_len();
        for f in &self.filters {
            check_filter(f, protocol).map_err(|err| match err {
                DecodeError::NoLocalOnSharedSubscription => EncodeError::InvalidSubscriptionOptions,
                _ => EncodeError::InvalidTopicFilter,
            })?;
            let defaults = !f.no_local
                && !f.retain_as_published
                && f.retain_handling == RetainHandling::SendAtSubscribe;
            if protocol == Protocol::V311 && !defaults {
                return Err(EncodeError::NotInV311);
            }
            len += writer::field_len(f.filter.as_bytes()) + 1;
        }
        // Bits 3,2,1 and 0 of the fixed header "MUST be set to 0,0,1 and 0
        // respectively" [MQTT-3.8.1-1].
        writer::header(out, 0x82, len)?;
        writer::u16(out, self.packet_id);
        properties.write(out)?;
        for f in &self.filters {
            writer::string(out, &f.filter)?;
            out.push(f.options_byte());
        }
        Ok(())
    }
}
