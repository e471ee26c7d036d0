//! MQTT 5 properties (§2.2.2): one table says each property's identifier,
//! type and the packets it may appear in; decoding, encoding and checking
//! are generated from it, so they cannot disagree.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::packet::{Protocol, QoS};
use crate::reader::Reader;
use crate::{varint, writer};

/// The packet (or will) a property set belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Connect,
    Will,
    ConnAck,
    Publish,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP.
    PubAck,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

impl Context {
    /// How many contexts there are.
    const COUNT: usize = Context::Auth as usize + 1;

    /// One bit per context, so "may this property appear here" is one AND.
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// How a property's value is read and written.
trait Value: Sized {
    fn read(r: &mut Reader, id: u8) -> Result<Self, DecodeError>;
    fn len(&self) -> usize;
    /// Writes the property: its identifier `id`, then the value. Each
    /// writes the identifier and the value's first bytes as one copy of a
    /// constant size.
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

impl Value for u16 {
    fn read(r: &mut Reader, _: u8) -> Result<Self, DecodeError> {
        r.u16()
    }
    fn len(&self) -> usize {
        2
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let [high, low] = self.to_be_bytes();
        out.extend_from_slice(&[id, high, low]);
        Ok(())
    }
}

impl Value for u32 {
    fn read(r: &mut Reader, _: u8) -> Result<Self, DecodeError> {
        r.u32()
    }
    fn len(&self) -> usize {
        4
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let [a, b, c, d] = self.to_be_bytes();
        out.extend_from_slice(&[id, a, b, c, d]);
        Ok(())
    }
}

/// A byte that must be 0 or 1.
impl Value for bool {
    fn read(r: &mut Reader, id: u8) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }
    fn len(&self) -> usize {
        1
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[id, u8::from(*self)]);
        Ok(())
    }
}

impl Value for QoS {
    fn read(r: &mut Reader, id: u8) -> Result<Self, DecodeError> {
        QoS::from_bits(r.u8()?).map_err(|_| DecodeError::InvalidPropertyValue(id))
    }
    fn len(&self) -> usize {
        1
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[id, *self as u8]);
        Ok(())
    }
}

impl Value for String {
    fn read(r: &mut Reader, _: u8) -> Result<Self, DecodeError> {
        r.string()
    }
    fn len(&self) -> usize {
        writer::field_len(self.as_bytes())
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        writer::tagged_string(out, id, self)
    }
}

impl Value for Bytes {
    fn read(r: &mut Reader, _: u8) -> Result<Self, DecodeError> {
        r.binary()
    }
    fn len(&self) -> usize {
        writer::field_len(self)
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        writer::tagged_binary(out, id, self)
    }
}

/// A UTF-8 string pair (§1.5.7), the user property's type.
impl Value for (String, String) {
    fn read(r: &mut Reader, _: u8) -> Result<Self, DecodeError> {
        Ok((r.string()?, r.string()?))
    }
    fn len(&self) -> usize {
        writer::field_len(self.0.as_bytes()) + writer::field_len(self.1.as_bytes())
    }
    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        writer::tagged_string(out, id, &self.0)?;
        writer::string(out, &self.1)
    }
}

/// A subscription identifier: a variable byte integer from 1 to 268 435 455
/// ("It is a Protocol Error if the Subscription Identifier has a value of 0",
/// §3.3.2.3.8).
fn read_subscription_id(r: &mut Reader, id: u8) -> Result<u32, DecodeError> {
    match r.varint()? {
        0 => Err(DecodeError::InvalidPropertyValue(id)),
        // At most 268 435 455: fits.
        n => Ok(n as u32),
    }
}

macro_rules! properties {
    ($(
        $(#[$doc:meta])*
        $id:literal $field:ident: $kind:ident $ty:ty => [$($ctx:ident)|+];
    )*) => {
        /// The values of MQTT 5 properties, reached through [`Properties`].
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct PropertyValues {
            $(
                $(#[$doc])*
                pub $field: properties!(@ty $kind $ty),
            )*
        }

        /// No property set: what an absent property block reads as.
        static EMPTY: PropertyValues = PropertyValues {
            $($field: properties!(@empty_value $kind),)*
        };

        impl PropertyValues {
            fn read_property(
                &mut self,
                id: u8,
                r: &mut Reader,
                context: Context,
            ) -> Result<(), DecodeError> {
                match id {
                    $(
                        $id => {
                            if (0 $(| Context::$ctx.bit())+) & context.bit() == 0 {
                                return Err(DecodeError::PropertyNotAllowed(id));
                            }
                            properties!(@read $kind self.$field, r, id, context)
                        }
                    )*
                    _ => Err(DecodeError::UnknownProperty(id)),
                }
            }

            /// Whether no property is set.
            pub fn is_empty(&self) -> bool {
                true $(&& properties!(@empty $kind self.$field))*
            }

            /// One walk over the table: which properties are present (one
            /// bit each, by position in the table) and the size of their
            /// encoding, without the length field.
            fn measure(&self) -> (u32, usize) {
                let mut present = 0;
                let mut len = 0;
                $(
                    // Every property present takes at least its identifier.
                    let field_len = properties!(@len $kind self.$field);
                    if field_len != 0 {
                        present |= 1 << Position::$field as u32;
                        len += field_len;
                    }
                )*
                (present, len)
            }

            /// Writes the properties `present` names, in identifier order.
            fn write_present(&self, present: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                let mut left = present;
                while left != 0 {
                    let position = left.trailing_zeros() as usize;
                    left &= left - 1;
                    match IDS.get(position) {
                        $(Some(&$id) => properties!(@write $kind $id, self.$field, out),)*
                        _ => {}
                    }
                }
                Ok(())
            }
        }

        /// Each property's position in the table: its bit in the masks.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        enum Position {
            $($field,)*
        }

        /// The identifiers, by position in the table.
        const IDS: &[u8] = &[$($id),*];

        /// Per context, the properties that may appear in it, by position.
        const ALLOWED: [u32; Context::COUNT] = {
            let contexts: &[u16] = &[$(0 $(| Context::$ctx.bit())+),*];
            let mut allowed = [0; Context::COUNT];
            let mut context = 0;
            while context < Context::COUNT {
                let mut position = 0;
                while position < contexts.len() {
                    if contexts[position] & (1 << context) != 0 {
                        allowed[context] |= 1 << position;
                    }
                    position += 1;
                }
                context += 1;
            }
            allowed
        };
        const _: () = assert!(IDS.len() <= 32, "a mask holds 32 properties");
    };

    (@empty_value one) => { None };
    (@empty_value many) => { Vec::new() };
    (@empty_value subscription_ids) => { Vec::new() };

    (@ty one $ty:ty) => { Option<$ty> };
    (@ty many $ty:ty) => { Vec<$ty> };
    (@ty subscription_ids $ty:ty) => { Vec<u32> };

    (@read one $f:expr, $r:ident, $id:ident, $ctx:ident) => {{
        if $f.is_some() {
            return Err(DecodeError::DuplicateProperty($id));
        }
        $f = Some(Value::read($r, $id)?);
        Ok(())
    }};
    (@read many $f:expr, $r:ident, $id:ident, $ctx:ident) => {{
        $f.push(Value::read($r, $id)?);
        Ok(())
    }};
    (@read subscription_ids $f:expr, $r:ident, $id:ident, $ctx:ident) => {{
        // Several in PUBLISH (one per matching subscription), one in
        // SUBSCRIBE (§3.8.2.1.2).
        if $ctx == Context::Subscribe && !$f.is_empty() {
            return Err(DecodeError::DuplicateProperty($id));
        }
        $f.push(read_subscription_id($r, $id)?);
        Ok(())
    }};

    (@empty one $f:expr) => { $f.is_none() };
    (@empty many $f:expr) => { $f.is_empty() };
    (@empty subscription_ids $f:expr) => { $f.is_empty() };

    (@len one $f:expr) => { $f.as_ref().map_or(0, |v| 1 + Value::len(v)) };
    (@len many $f:expr) => { $f.iter().map(|v| 1 + Value::len(v)).sum::<usize>() };
    (@len subscription_ids $f:expr) => {
        $f.iter().map(|&v| 1 + varint::len(v as usize)).sum::<usize>()
    };

    (@write one $id:literal, $f:expr, $out:ident) => {
        if let Some(v) = &$f {
            Value::write(v, $id, $out)?;
        }
    };
    (@write many $id:literal, $f:expr, $out:ident) => {
        for v in &$f {
            Value::write(v, $id, $out)?;
        }
    };
    (@write subscription_ids $id:literal, $f:expr, $out:ident) => {
        for &v in &$f {
            if v == 0 {
                return Err(EncodeError::InvalidPropertyValue($id));
            }
            $out.push($id);
            varint::encode(v as usize, $out).map_err(|_| EncodeError::InvalidPropertyValue($id))?;
        }
    };
}

// The table of §2.2.2.2 (Table 2-4), in identifier order.
properties! {
    /// 0x01: the payload is UTF-8 text (true) or unspecified bytes.
    0x01 payload_format_indicator: one bool => [Publish | Will];
    /// 0x02: lifetime of the message in seconds.
    0x02 message_expiry_interval: one u32 => [Publish | Will];
    /// 0x03: MIME type of the payload.
    0x03 content_type: one String => [Publish | Will];
    /// 0x08: topic for a response message.
    0x08 response_topic: one String => [Publish | Will];
    /// 0x09: correlates a response with its request.
    0x09 correlation_data: one Bytes => [Publish | Will];
    /// 0x0B: identifiers of the subscriptions a message matched (PUBLISH),
    /// or the one identifier of a subscription (SUBSCRIBE).
    0x0B subscription_identifiers: subscription_ids u32 => [Publish | Subscribe];
    /// 0x11: seconds the session outlives the connection.
    0x11 session_expiry_interval: one u32 => [Connect | ConnAck | Disconnect];
    /// 0x12: the client id the server chose.
    0x12 assigned_client_identifier: one String => [ConnAck];
    /// 0x13: the keep-alive the server wants, overriding the client's.
    0x13 server_keep_alive: one u16 => [ConnAck];
    /// 0x15: name of the extended authentication method.
    0x15 authentication_method: one String => [Connect | ConnAck | Auth];
    /// 0x16: data of the extended authentication method.
    0x16 authentication_data: one Bytes => [Connect | ConnAck | Auth];
    /// 0x17: whether the server may send reason strings and user properties
    /// on failures.
    0x17 request_problem_information: one bool => [Connect];
    /// 0x18: seconds to wait before publishing the will.
    0x18 will_delay_interval: one u32 => [Will];
    /// 0x19: ask the server for response information.
    0x19 request_response_information: one bool => [Connect];
    /// 0x1A: basis for response topics.
    0x1A response_information: one String => [ConnAck];
    /// 0x1C: another server to use.
    0x1C server_reference: one String => [ConnAck | Disconnect];
    /// 0x1F: human-readable reason, for diagnostics.
    0x1F reason_string: one String => [ConnAck | PubAck | SubAck | UnsubAck | Disconnect | Auth];
    /// 0x21: how many QoS 1/2 publishes the sender accepts in flight.
    0x21 receive_maximum: one u16 => [Connect | ConnAck];
    /// 0x22: highest topic alias the sender accepts.
    0x22 topic_alias_maximum: one u16 => [Connect | ConnAck];
    /// 0x23: a number standing for the topic.
    0x23 topic_alias: one u16 => [Publish];
    /// 0x24: highest QoS the server supports (0 or 1; absent means 2).
    0x24 maximum_qos: one QoS => [ConnAck];
    /// 0x25: whether the server supports retained messages.
    0x25 retain_available: one bool => [ConnAck];
    /// 0x26: application-defined name/value pairs, in order, repeats allowed.
    0x26 user_properties: many (String, String) => [
        Connect | Will | ConnAck | Publish | PubAck | Subscribe | SubAck | Unsubscribe
        | UnsubAck | Disconnect | Auth
    ];
    /// 0x27: largest packet the sender accepts.
    0x27 maximum_packet_size: one u32 => [Connect | ConnAck];
    /// 0x28: whether the server supports wildcard subscriptions.
    0x28 wildcard_subscription_available: one bool => [ConnAck];
    /// 0x29: whether the server supports subscription identifiers.
    0x29 subscription_identifier_available: one bool => [ConnAck];
    /// 0x2A: whether the server supports shared subscriptions.
    0x2A shared_subscription_available: one bool => [ConnAck];
}

/// The properties of an MQTT 5 packet; all absent by default.
///
/// One type for every packet: decoding refuses a property the packet may
/// not carry (`PropertyNotAllowed`) and a second copy of one it may carry
/// once (`DuplicateProperty`); encoding refuses to write either. MQTT 3.1.1
/// packets have none.
///
/// Most packets carry no properties, so the values live behind a pointer
/// that is only allocated when one is set: an empty `Properties` is one word
/// and costs no allocation. Read and write the values as fields, through
/// `Deref`: `publish.properties.topic_alias = Some(1)`.
#[derive(Clone, Default)]
pub struct Properties(Option<alloc::boxed::Box<PropertyValues>>);

impl core::ops::Deref for Properties {
    type Target = PropertyValues;

    fn deref(&self) -> &PropertyValues {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl core::ops::DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut PropertyValues {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl core::fmt::Debug for Properties {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_empty() {
            f.write_str("Properties {}")
        } else {
            (**self).fmt(f)
        }
    }
}

impl From<PropertyValues> for Properties {
    fn from(values: PropertyValues) -> Self {
        Self(Some(alloc::boxed::Box::new(values)))
    }
}

impl Properties {
    /// Reads a property length and that many bytes of properties.
    pub(crate) fn decode(r: &mut Reader, context: Context) -> Result<Self, DecodeError> {
        let len = r.varint()?;
        if len == 0 {
            return Ok(Self::default());
        }
        let outer = r.limit(len)?;
        // Built in place on the heap: the values are a few hundred bytes.
        let mut values = alloc::boxed::Box::<PropertyValues>::default();
        while r.remaining() > 0 {
            // The identifier is a variable byte integer; every defined one
            // fits in one byte.
            let id = r.varint()?;
            let id = u8::try_from(id).map_err(|_| DecodeError::UnknownProperty(0xff))?;
            values.read_property(id, r, context)?;
        }
        r.widen(outer);
        values
            .check_values()
            .map_err(DecodeError::InvalidPropertyValue)?;
        Ok(Self(Some(values)))
    }
}

impl PropertyValues {
    /// Values the spec forbids although their type allows them.
    fn check_values(&self) -> Result<(), u8> {
        // "It is a Protocol Error to include the Receive Maximum value
        // more than once or for it to have the value 0" (§3.1.2.11.3).
        if self.receive_maximum == Some(0) {
            return Err(0x21);
        }
        // "It is a Protocol Error to include the Maximum Packet Size more
        // than once, or for the value to be set to zero" (§3.1.2.11.4).
        if self.maximum_packet_size == Some(0) {
            return Err(0x27);
        }
        // "A Topic Alias of 0 is not permitted" [MQTT-3.3.2-8].
        if self.topic_alias == Some(0) {
            return Err(0x23);
        }
        // "It is a Protocol Error to include Maximum QoS more than once, or
        // to have a value other than 0 or 1" (§3.2.2.3.4).
        if self.maximum_qos == Some(QoS::ExactlyOnce) {
            return Err(0x24);
        }
        Ok(())
    }
}

impl Properties {
    /// Whether no property is set. Free when none was ever set.
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(PropertyValues::is_empty)
    }

    /// Checks that each property may appear in `context` and has a value
    /// the spec allows, and measures them, in one walk over the table: what
    /// the packet's encoder needs to size the packet and then write them.
    /// Inlined, so the result stays in registers (returned through memory,
    /// its copies stalled on store forwarding).
    #[inline(always)]
    pub(crate) fn check(&self, context: Context) -> Result<Checked<'_>, EncodeError> {
        let Some(values) = self.0.as_deref() else {
            return Ok(Checked::NONE);
        };
        let (present, body_len) = values.measure();
        let refused = present & !ALLOWED[context as usize];
        if refused != 0 {
            // The first in the table, as a walk in table order would find.
            let id = IDS.get(refused.trailing_zeros() as usize).copied();
            return Err(EncodeError::PropertyNotAllowed(id.unwrap_or(0)));
        }
        values
            .check_values()
            .map_err(EncodeError::InvalidPropertyValue)?;
        Ok(Checked {
            values,
            present,
            body_len,
            written: true,
        })
    }
}

/// Properties checked for one packet and measured ([`Properties::check`]),
/// ready to be written.
pub(crate) struct Checked<'a> {
    values: &'a PropertyValues,
    /// One bit per property present, by position in the table.
    present: u32,
    /// The size of the properties, without their length field.
    body_len: usize,
    /// Whether there is a property length to write: false in MQTT 3.1.1.
    written: bool,
}

impl Checked<'_> {
    /// No properties, in MQTT 5: a property length of 0.
    const NONE: Checked<'static> = Checked {
        values: &EMPTY,
        present: 0,
        body_len: 0,
        written: true,
    };

    /// MQTT 3.1.1: no property length, nothing written.
    const ABSENT: Checked<'static> = Checked {
        written: false,
        ..Self::NONE
    };

    /// The size of the property length field plus the properties.
    pub(crate) fn encoded_len(&self) -> usize {
        if self.written {
            varint::len(self.body_len) + self.body_len
        } else {
            0
        }
    }

    /// Writes the property length and the properties, in identifier order.
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !self.written {
            return Ok(());
        }
        varint::encode(self.body_len, out)?;
        self.values.write_present(self.present, out)
    }
}

/// Properties in `protocol`: read in MQTT 5, none in MQTT 3.1.1.
pub(crate) fn decode_for(
    r: &mut Reader,
    context: Context,
    protocol: Protocol,
) -> Result<Properties, DecodeError> {
    match protocol {
        Protocol::V5 => Properties::decode(r, context),
        _ => Ok(Properties::default()),
    }
}

/// `properties` checked and measured for `context` in `protocol`: MQTT
/// 3.1.1 cannot carry any, and writes no property length.
#[inline(always)]
pub(crate) fn check_for(
    properties: &Properties,
    context: Context,
    protocol: Protocol,
) -> Result<Checked<'_>, EncodeError> {
    match protocol {
        Protocol::V5 => properties.check(context),
        _ if properties.is_empty() => Ok(Checked::ABSENT),
        _ => Err(EncodeError::NotInV311),
    }
}
