//! The publish form: what the user typed in, a checked PUBLISH or the
//! first thing to fix out, and the list of recent publishes.
//!
//! Everything is kept as typed (the payload, the expiry as text, blank
//! user property rows), so a [`Draft`] is the form's whole state and can
//! be put back into it; [`Draft::build`] turns it into a [`Publish`] that
//! encodes, or says in one sentence what to change.

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;
use mqtt_codec::{Properties, Publish, QoS};

use crate::json;
use crate::payload::human_bytes;

/// The largest payload the form sends, in bytes (256 KiB).
///
/// The form's own cap, far below MQTT's (a packet may hold 268 435 455
/// bytes): a payload typed or pasted into a form is small, and each one
/// sent is kept in [`Recent`] and comes back in the message log.
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// The longest string or binary field MQTT can carry (§1.5.6).
const MAX_FIELD: usize = u16::MAX as usize;

/// How the typed payload becomes bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadFormat {
    /// The UTF-8 bytes of the text, as typed.
    #[default]
    Text,
    /// The text, as typed, once it is checked to be one JSON value
    /// (whitespace around it allowed); not reformatted.
    Json,
    /// Pairs of hex digits, either case; ASCII whitespace anywhere and one
    /// leading `0x` are ignored: `"0x01 ff"`, `"01FF"`.
    Hex,
}

/// What the user typed into the publish form.
///
/// MQTT 5 properties are sent only when set: a text left empty, or a
/// `None`, is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draft {
    /// The topic, used exactly as typed: spaces are part of a topic.
    pub topic: String,
    /// The payload as typed, read as [`format`](Self::format) says.
    pub payload: String,
    /// How [`payload`](Self::payload) becomes bytes.
    pub format: PayloadFormat,
    /// Delivery guarantee.
    pub qos: QoS,
    /// Whether the broker keeps the message as the topic's retained one.
    pub retain: bool,
    /// MQTT 5 content type (a MIME type, such as `application/json`).
    pub content_type: String,
    /// MQTT 5 payload format indicator: `Some(true)` says the payload is
    /// UTF-8 text (indicator 1), `Some(false)` unspecified bytes (0).
    pub payload_format: Option<bool>,
    /// MQTT 5 message expiry in seconds, as typed; spaces around it are
    /// ignored.
    pub message_expiry: String,
    /// MQTT 5 response topic, exactly as typed.
    pub response_topic: String,
    /// MQTT 5 correlation data, sent as the UTF-8 bytes of this text.
    pub correlation_data: String,
    /// MQTT 5 user properties as (name, value) rows, sent in order; rows
    /// with both empty are the form's blank rows and are not sent.
    pub user_properties: Vec<(String, String)>,
    /// MQTT 5: never stand for the topic by a topic alias (the connection
    /// uses aliases when the broker allows them, unless this is set). Not
    /// part of the PUBLISH [`build`](Self::build) makes: the caller passes
    /// it to the client.
    pub topic_alias_off: bool,
}

impl Draft {
    /// What the form publishes, checked. `mqtt5`: whether the connection
    /// speaks MQTT 5.
    ///
    /// The error is the first problem in the order of the form's fields:
    /// the topic, the payload (then its size), the properties (first
    /// whether the connection has them at all). The PUBLISH has no packet
    /// identifier: the client assigns one when it sends a QoS 1 or 2
    /// message.
    pub fn build(&self, mqtt5: bool) -> Result<Publish, DraftError> {
        check_topic(&self.topic).map_err(DraftError::Topic)?;
        let payload = self.payload_bytes()?;
        if payload.len() > MAX_PAYLOAD {
            return Err(DraftError::TooLarge(payload.len()));
        }
        if !mqtt5 {
            if let Some(name) = self.first_property() {
                return Err(DraftError::NeedsMqtt5(name));
            }
        }
        let properties = self.properties()?;
        if self.payload_format == Some(true) && std::str::from_utf8(&payload).is_err() {
            return Err(DraftError::NotUtf8);
        }
        Ok(Publish {
            dup: false,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic.clone(),
            packet_id: None,
            properties,
            payload: Bytes::from(payload),
        })
    }

    /// Whether any MQTT 5 property is set (the form opens its properties
    /// section when so).
    pub fn has_properties(&self) -> bool {
        self.first_property().is_some()
    }

    /// The payload's bytes, as [`format`](Self::format) says.
    fn payload_bytes(&self) -> Result<Vec<u8>, DraftError> {
        match self.format {
            PayloadFormat::Text => Ok(self.payload.as_bytes().to_vec()),
            PayloadFormat::Json => {
                let src = self.payload.as_bytes();
                // A limit of 0 checks all of it and prints nothing.
                json::pretty(src, 0).map_err(|e| {
                    let message = e.describe(src);
                    DraftError::Json(match message.strip_prefix("not valid JSON: ") {
                        Some(detail) => detail.to_owned(),
                        None => message,
                    })
                })?;
                Ok(src.to_vec())
            }
            PayloadFormat::Hex => parse_hex(&self.payload).map_err(DraftError::Hex),
        }
    }

    /// The name of the first property set, in the order of the form.
    fn first_property(&self) -> Option<&'static str> {
        [
            ("content type", !self.content_type.is_empty()),
            ("payload format", self.payload_format.is_some()),
            ("message expiry", !self.message_expiry.trim().is_empty()),
            ("response topic", !self.response_topic.is_empty()),
            ("correlation data", !self.correlation_data.is_empty()),
            (
                "user properties",
                self.user_property_rows().next().is_some(),
            ),
        ]
        .into_iter()
        .find_map(|(name, set)| set.then_some(name))
    }

    /// The properties set, checked. Only what is set is written: an empty
    /// [`Properties`] costs no allocation.
    fn properties(&self) -> Result<Properties, DraftError> {
        let mut properties = Properties::default();
        if !self.content_type.is_empty() {
            properties.content_type = Some(text_field("content type", &self.content_type)?);
        }
        if let Some(utf8) = self.payload_format {
            properties.payload_format_indicator = Some(utf8);
        }
        let expiry = self.message_expiry.trim();
        if !expiry.is_empty() {
            let seconds = expiry
                .parse::<u32>()
                .map_err(|_| DraftError::Expiry(expiry.to_owned()))?;
            properties.message_expiry_interval = Some(seconds);
        }
        if !self.response_topic.is_empty() {
            check_topic(&self.response_topic).map_err(DraftError::ResponseTopic)?;
            properties.response_topic = Some(self.response_topic.clone());
        }
        if !self.correlation_data.is_empty() {
            if self.correlation_data.len() > MAX_FIELD {
                return Err(DraftError::PropertyTooLong("correlation data"));
            }
            properties.correlation_data = Some(Bytes::from(self.correlation_data.clone()));
        }
        let mut rows = self.user_property_rows().peekable();
        if rows.peek().is_some() {
            properties.user_properties = rows
                .map(|(name, value)| {
                    Ok((
                        text_field("user property name", name)?,
                        text_field("user property value", value)?,
                    ))
                })
                .collect::<Result<_, DraftError>>()?;
        }
        Ok(properties)
    }

    /// The user property rows that are not blank.
    fn user_property_rows(&self) -> impl Iterator<Item = &(String, String)> {
        self.user_properties
            .iter()
            .filter(|(name, value)| !name.is_empty() || !value.is_empty())
    }
}

/// A copy of the text property `name`, if MQTT can carry it: "A UTF-8
/// Encoded String MUST NOT include an encoding of the null character
/// U+0000" [MQTT-1.5.4-2], and a string field holds at most 65 535 bytes.
fn text_field(name: &'static str, text: &str) -> Result<String, DraftError> {
    if text.contains('\0') {
        return Err(DraftError::PropertyNul(name));
    }
    if text.len() > MAX_FIELD {
        return Err(DraftError::PropertyTooLong(name));
    }
    Ok(text.to_owned())
}

/// The bytes that pairs of hex digits in `typed` stand for, or what is
/// wrong, for the user (positions count characters from 1, as typed).
fn parse_hex(typed: &str) -> Result<Vec<u8>, String> {
    let body = typed.trim_start_matches(|c: char| c.is_ascii_whitespace());
    // All ASCII, so its length in bytes is its length in characters.
    let mut skip = typed.len() - body.len();
    if body.starts_with("0x") || body.starts_with("0X") {
        skip += 2;
    }
    let mut bytes = Vec::with_capacity(typed.len() / 2);
    let mut high = None;
    for (index, c) in typed.chars().enumerate().skip(skip) {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(digit) = c.to_digit(16) else {
            return Err(format!(
                "{c:?} at character {} is not a hex digit",
                index + 1
            ));
        };
        // A hex digit is below 16.
        let digit = digit as u8;
        match high.take() {
            None => high = Some(digit),
            Some(high) => bytes.push(high << 4 | digit),
        }
    }
    if high.is_some() {
        return Err(format!(
            "an odd number of hex digits ({})",
            bytes.len() * 2 + 1
        ));
    }
    Ok(bytes)
}

/// Checks `topic` as a PUBLISH topic name by the codec's rules
/// ([`mqtt_codec::is_valid_topic_name`], MQTT §4.7), saying which rule it
/// breaks. The topic is taken exactly as typed.
pub fn check_topic(topic: &str) -> Result<(), TopicError> {
    if mqtt_codec::is_valid_topic_name(topic) {
        return Ok(());
    }
    Err(if topic.is_empty() {
        TopicError::Empty
    } else if topic.len() > MAX_FIELD {
        TopicError::TooLong
    } else if topic.contains('\0') {
        TopicError::Nul
    } else {
        // The codec has no other rule.
        TopicError::Wildcard
    })
}

/// Why a topic cannot be published to; its `Display` is the rule, for the
/// user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicError {
    /// The topic is empty.
    Empty,
    /// The topic contains `+` or `#`.
    Wildcard,
    /// The topic contains the null character.
    Nul,
    /// The topic is longer than 65 535 bytes.
    TooLong,
}

impl TopicError {
    /// The rule, after "a topic" or "the response topic".
    fn rule(self) -> &'static str {
        match self {
            Self::Empty => "must not be empty",
            Self::Wildcard => "must not contain + or # (they are wildcards, for subscribing)",
            Self::Nul => "must not contain the null character",
            Self::TooLong => "must be at most 65 535 bytes long",
        }
    }
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a topic {}", self.rule())
    }
}

impl std::error::Error for TopicError {}

/// Why a [`Draft`] cannot be published; its `Display` is one sentence for
/// the form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DraftError {
    /// The topic is not a valid topic name.
    Topic(TopicError),
    /// The response topic is not a valid topic name.
    ResponseTopic(TopicError),
    /// The payload is not JSON: the checker's message, with line and
    /// column (`"expected ',' or '}' at line 3, column 7"`).
    Json(String),
    /// The payload is not hex: `"'g' at character 5 is not a hex digit"`,
    /// `"an odd number of hex digits (7)"`.
    Hex(String),
    /// The message expiry (this text, trimmed) is not a whole number of
    /// seconds from 0 to 4 294 967 295.
    Expiry(String),
    /// The payload format says UTF-8 text but the payload bytes are not
    /// UTF-8.
    NotUtf8,
    /// A property is set but the connection speaks MQTT 3.1.1, which has
    /// none; names the first one set (`"content type"`).
    NeedsMqtt5(&'static str),
    /// The payload has this many bytes, more than [`MAX_PAYLOAD`].
    TooLarge(usize),
    /// A text property contains the null character, which MQTT strings
    /// may not; names it (`"user property name"`).
    PropertyNul(&'static str),
    /// A property is longer than the 65 535 bytes an MQTT field holds;
    /// names it (`"correlation data"`).
    PropertyTooLong(&'static str),
}

impl fmt::Display for DraftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Topic(e) => write!(f, "The topic {}.", e.rule()),
            Self::ResponseTopic(e) => write!(f, "The response topic {}.", e.rule()),
            Self::Json(message) => write!(f, "The payload is not valid JSON: {message}."),
            Self::Hex(message) => write!(f, "The payload is not valid hex: {message}."),
            Self::Expiry(typed) => write!(
                f,
                "The message expiry must be a whole number of seconds from 0 to \
                 4 294 967 295, not {typed:?}."
            ),
            Self::NotUtf8 => f.write_str(
                "The payload format says UTF-8 text, but the payload is not valid UTF-8.",
            ),
            Self::NeedsMqtt5(name) => write!(
                f,
                "MQTT 5 properties need an MQTT 5 connection; this one speaks 3.1.1 \
                 (remove the {name})."
            ),
            Self::TooLarge(len) => write!(
                f,
                "The payload is {len} bytes, more than the {MAX_PAYLOAD} bytes ({}) \
                 this form sends.",
                human_bytes(MAX_PAYLOAD as u64)
            ),
            Self::PropertyNul(name) => {
                write!(f, "The {name} must not contain the null character.")
            }
            Self::PropertyTooLong(name) => {
                write!(f, "The {name} must be at most 65 535 bytes long.")
            }
        }
    }
}

impl std::error::Error for DraftError {}

/// The last publishes, newest first, without repeats: publishing a draft
/// equal to one kept moves it to the front. Holds at most [`Recent::MAX`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    drafts: VecDeque<Draft>,
}

impl Recent {
    /// How many drafts are kept; pushing one more forgets the oldest.
    pub const MAX: usize = 10;

    /// Keeps `draft`, just published, as the newest.
    pub fn push(&mut self, draft: Draft) {
        if let Some(at) = self.drafts.iter().position(|kept| *kept == draft) {
            self.drafts.remove(at);
        }
        self.drafts.push_front(draft);
        self.drafts.truncate(Self::MAX);
    }

    /// The drafts, newest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Draft> + DoubleEndedIterator {
        self.drafts.iter()
    }

    /// How many drafts are kept.
    pub fn len(&self) -> usize {
        self.drafts.len()
    }

    /// Whether nothing was published yet.
    pub fn is_empty(&self) -> bool {
        self.drafts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use mqtt_codec::{decode_slice, Packet, Protocol};

    use super::*;

    fn draft(topic: &str, payload: &str, format: PayloadFormat) -> Draft {
        Draft {
            topic: topic.to_owned(),
            payload: payload.to_owned(),
            format,
            ..Draft::default()
        }
    }

    fn payload(payload: &str, format: PayloadFormat) -> Result<Bytes, DraftError> {
        draft("t", payload, format).build(false).map(|p| p.payload)
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    /// A draft with every property set.
    fn all_properties() -> Draft {
        Draft {
            content_type: "application/json".to_owned(),
            payload_format: Some(true),
            message_expiry: " 3600 ".to_owned(),
            response_topic: "reply/to".to_owned(),
            correlation_data: "req-1".to_owned(),
            user_properties: vec![pair("a", "1"), pair("", ""), pair("", "2"), pair("b", "")],
            ..draft("cmnd/plug/POWER", "{\"on\": true}", PayloadFormat::Json)
        }
    }

    #[test]
    fn each_topic_rule_is_named() {
        assert_eq!(check_topic("stat/plug/POWER"), Ok(()));
        assert_eq!(check_topic(" a / b "), Ok(()));
        for (topic, error) in [
            ("", TopicError::Empty),
            ("a/+/b", TopicError::Wildcard),
            ("a/#", TopicError::Wildcard),
            ("a\0b", TopicError::Nul),
        ] {
            assert_eq!(check_topic(topic), Err(error), "{topic:?}");
        }
        assert_eq!(check_topic(&"a".repeat(65_535)), Ok(()));
        assert_eq!(check_topic(&"a".repeat(65_536)), Err(TopicError::TooLong));
        assert_eq!(
            TopicError::Wildcard.to_string(),
            "a topic must not contain + or # (they are wildcards, for subscribing)"
        );
    }

    #[test]
    fn the_topic_is_checked_first_and_used_as_typed() {
        let error = draft("a/+", "{", PayloadFormat::Json).build(true);
        assert_eq!(error, Err(DraftError::Topic(TopicError::Wildcard)));
        assert_eq!(
            error.unwrap_err().to_string(),
            "The topic must not contain + or # (they are wildcards, for subscribing)."
        );
        let publish = draft(" a ", "x", PayloadFormat::Text).build(false).unwrap();
        assert_eq!(publish.topic, " a ");
        assert_eq!(
            draft("", "x", PayloadFormat::Text).build(false),
            Err(DraftError::Topic(TopicError::Empty))
        );
        assert_eq!(
            draft(" ", "x", PayloadFormat::Text)
                .build(false)
                .unwrap()
                .topic,
            " "
        );
    }

    #[test]
    fn the_publish_copies_qos_and_retain_without_a_packet_id() {
        let publish = Draft {
            qos: QoS::ExactlyOnce,
            retain: true,
            ..draft("t", "on", PayloadFormat::Text)
        }
        .build(false)
        .unwrap();
        assert_eq!(publish.qos, QoS::ExactlyOnce);
        assert!(publish.retain);
        assert!(!publish.dup);
        assert_eq!(publish.packet_id, None);
        assert_eq!(publish.payload, "on");
        assert!(publish.properties.is_empty());
    }

    #[test]
    fn text_is_sent_as_its_utf8_bytes() {
        assert_eq!(
            payload(" grüß \n", PayloadFormat::Text),
            Ok(Bytes::from(" grüß \n"))
        );
        // An empty payload clears a retained message.
        assert_eq!(payload("", PayloadFormat::Text), Ok(Bytes::new()));
    }

    #[test]
    fn json_is_checked_and_sent_as_typed() {
        let typed = "\n  { \"on\" : true,\n  \"level\": 1.50 }  \n";
        assert_eq!(payload(typed, PayloadFormat::Json), Ok(Bytes::from(typed)));
        assert_eq!(payload("42", PayloadFormat::Json), Ok(Bytes::from("42")));
        let error = payload(
            "{\n  \"a\": 1,\n  \"b\": 2\n      \"c\": 3}",
            PayloadFormat::Json,
        )
        .unwrap_err();
        assert_eq!(
            error,
            DraftError::Json("expected ',' or '}' at line 4, column 7".to_owned())
        );
        assert_eq!(
            error.to_string(),
            "The payload is not valid JSON: expected ',' or '}' at line 4, column 7."
        );
        assert_eq!(
            payload("", PayloadFormat::Json),
            Err(DraftError::Json(
                "unexpected end of input at line 1, column 1".to_owned()
            ))
        );
        assert_eq!(
            payload("{} x", PayloadFormat::Json),
            Err(DraftError::Json(
                "unexpected characters after the value at line 1, column 4".to_owned()
            ))
        );
    }

    #[test]
    fn hex_ignores_whitespace_case_and_a_leading_0x() {
        let bytes = Bytes::from_static(&[0x01, 0xab, 0xff, 0x00]);
        for typed in [
            "01abff00",
            "01 AB ff 00",
            " 0x01ab\nFf\t00 ",
            "0X 0 1abff00",
            "0x01abff00",
        ] {
            assert_eq!(
                payload(typed, PayloadFormat::Hex),
                Ok(bytes.clone()),
                "{typed:?}"
            );
        }
        assert_eq!(payload("", PayloadFormat::Hex), Ok(Bytes::new()));
        assert_eq!(payload(" 0x ", PayloadFormat::Hex), Ok(Bytes::new()));
    }

    #[test]
    fn hex_errors_say_what_and_where() {
        let hex = |typed| payload(typed, PayloadFormat::Hex).unwrap_err().to_string();
        assert_eq!(
            hex("01 fg"),
            "The payload is not valid hex: 'g' at character 5 is not a hex digit."
        );
        assert_eq!(
            payload("0x12 0x34", PayloadFormat::Hex),
            Err(DraftError::Hex(
                "'x' at character 7 is not a hex digit".to_owned()
            ))
        );
        // Characters, not bytes.
        assert_eq!(
            payload("é1", PayloadFormat::Hex),
            Err(DraftError::Hex(
                "'é' at character 1 is not a hex digit".to_owned()
            ))
        );
        assert_eq!(
            payload("ü 1z", PayloadFormat::Hex),
            Err(DraftError::Hex(
                "'ü' at character 1 is not a hex digit".to_owned()
            ))
        );
        assert_eq!(
            hex("01 02 03 0"),
            "The payload is not valid hex: an odd number of hex digits (7)."
        );
    }

    #[test]
    fn the_size_is_checked_on_the_bytes_sent() {
        let text = "a".repeat(MAX_PAYLOAD);
        assert_eq!(
            payload(&text, PayloadFormat::Text).unwrap().len(),
            MAX_PAYLOAD
        );
        let error = payload(&format!("{text}b"), PayloadFormat::Text).unwrap_err();
        assert_eq!(error, DraftError::TooLarge(MAX_PAYLOAD + 1));
        assert_eq!(
            error.to_string(),
            "The payload is 262145 bytes, more than the 262144 bytes (256 KB) this form sends."
        );
        // Hex: two digits a byte.
        let hex = "ab".repeat(MAX_PAYLOAD);
        assert_eq!(
            payload(&hex, PayloadFormat::Hex).unwrap().len(),
            MAX_PAYLOAD
        );
        assert_eq!(
            payload(&format!("{hex}ab"), PayloadFormat::Hex),
            Err(DraftError::TooLarge(MAX_PAYLOAD + 1))
        );
    }

    #[test]
    fn each_property_is_sent_when_set() {
        let publish = all_properties().build(true).unwrap();
        let properties = &publish.properties;
        assert_eq!(properties.content_type.as_deref(), Some("application/json"));
        assert_eq!(properties.payload_format_indicator, Some(true));
        assert_eq!(properties.message_expiry_interval, Some(3600));
        assert_eq!(properties.response_topic.as_deref(), Some("reply/to"));
        assert_eq!(
            properties.correlation_data,
            Some(Bytes::from_static(b"req-1"))
        );
        assert_eq!(
            properties.user_properties,
            [pair("a", "1"), pair("", "2"), pair("b", "")]
        );
        assert!(properties.topic_alias.is_none());
        assert!(properties.subscription_identifiers.is_empty());
    }

    #[test]
    fn properties_not_set_are_not_sent() {
        let plain = draft("t", "x", PayloadFormat::Text);
        assert!(!plain.has_properties());
        assert!(plain.build(true).unwrap().properties.is_empty());
        let blank = Draft {
            message_expiry: "  ".to_owned(),
            user_properties: vec![pair("", ""), pair("", "")],
            ..plain.clone()
        };
        assert!(!blank.has_properties());
        assert!(blank.build(true).unwrap().properties.is_empty());
        assert!(blank.build(false).is_ok());
        let bytes = Draft {
            payload_format: Some(false),
            ..plain
        };
        assert!(bytes.has_properties());
        let properties = bytes.build(true).unwrap().properties;
        assert_eq!(properties.payload_format_indicator, Some(false));
        assert_eq!(
            *properties,
            mqtt_codec::PropertyValues {
                payload_format_indicator: Some(false),
                ..Default::default()
            }
        );
    }

    #[test]
    fn each_property_needs_mqtt5_and_is_named() {
        let plain = || draft("t", "x", PayloadFormat::Text);
        for (name, draft) in [
            (
                "content type",
                Draft {
                    content_type: "text/plain".to_owned(),
                    ..plain()
                },
            ),
            (
                "payload format",
                Draft {
                    payload_format: Some(false),
                    ..plain()
                },
            ),
            (
                "message expiry",
                Draft {
                    message_expiry: "60".to_owned(),
                    ..plain()
                },
            ),
            (
                "response topic",
                Draft {
                    response_topic: "r".to_owned(),
                    ..plain()
                },
            ),
            (
                "correlation data",
                Draft {
                    correlation_data: "c".to_owned(),
                    ..plain()
                },
            ),
            (
                "user properties",
                Draft {
                    user_properties: vec![pair("", ""), pair("k", "")],
                    ..plain()
                },
            ),
        ] {
            assert!(draft.has_properties(), "{name}");
            assert_eq!(draft.build(false), Err(DraftError::NeedsMqtt5(name)));
            assert!(draft.build(true).is_ok(), "{name}");
        }
        // The first one set, in the form's order.
        assert_eq!(
            all_properties().build(false),
            Err(DraftError::NeedsMqtt5("content type"))
        );
        assert_eq!(
            DraftError::NeedsMqtt5("content type").to_string(),
            "MQTT 5 properties need an MQTT 5 connection; this one speaks 3.1.1 \
             (remove the content type)."
        );
    }

    #[test]
    fn the_message_expiry_is_a_whole_number_of_seconds() {
        let expiry = |typed: &str| {
            Draft {
                message_expiry: typed.to_owned(),
                ..draft("t", "x", PayloadFormat::Text)
            }
            .build(true)
            .map(|p| p.properties.message_expiry_interval)
        };
        assert_eq!(expiry("0"), Ok(Some(0)));
        assert_eq!(expiry(" 4294967295\n"), Ok(Some(u32::MAX)));
        for typed in ["4294967296", "-1", "1.5", "1 000", "ten"] {
            assert_eq!(
                expiry(typed),
                Err(DraftError::Expiry(typed.to_owned())),
                "{typed:?}"
            );
        }
        assert_eq!(
            expiry(" 1h ").unwrap_err().to_string(),
            "The message expiry must be a whole number of seconds from 0 to 4 294 967 295, \
             not \"1h\"."
        );
    }

    #[test]
    fn the_response_topic_is_a_topic_name() {
        let response = |topic: &str| {
            Draft {
                response_topic: topic.to_owned(),
                ..draft("t", "x", PayloadFormat::Text)
            }
            .build(true)
        };
        assert_eq!(
            response("reply/#"),
            Err(DraftError::ResponseTopic(TopicError::Wildcard))
        );
        assert_eq!(
            response("a\0").unwrap_err().to_string(),
            "The response topic must not contain the null character."
        );
        assert_eq!(
            response(" r ")
                .unwrap()
                .properties
                .response_topic
                .as_deref(),
            Some(" r ")
        );
    }

    #[test]
    fn fields_mqtt_cannot_carry_are_refused() {
        let base = draft("t", "x", PayloadFormat::Text);
        let nul = Draft {
            content_type: "text\0".to_owned(),
            ..base.clone()
        };
        assert_eq!(
            nul.build(true),
            Err(DraftError::PropertyNul("content type"))
        );
        let nul = Draft {
            user_properties: vec![pair("k", "v"), pair("k", "\0")],
            ..base.clone()
        };
        assert_eq!(
            nul.build(true).unwrap_err().to_string(),
            "The user property value must not contain the null character."
        );
        let long = Draft {
            correlation_data: "c".repeat(65_536),
            ..base.clone()
        };
        assert_eq!(
            long.build(true),
            Err(DraftError::PropertyTooLong("correlation data"))
        );
        let long = Draft {
            user_properties: vec![pair(&"k".repeat(65_536), "v")],
            ..base
        };
        assert_eq!(
            long.build(true),
            Err(DraftError::PropertyTooLong("user property name"))
        );
    }

    #[test]
    fn utf8_text_format_needs_utf8_bytes() {
        let hex = |digits: &str| Draft {
            payload_format: Some(true),
            ..draft("t", digits, PayloadFormat::Hex)
        };
        assert_eq!(hex("ff fe").build(true), Err(DraftError::NotUtf8));
        assert_eq!(
            DraftError::NotUtf8.to_string(),
            "The payload format says UTF-8 text, but the payload is not valid UTF-8."
        );
        assert_eq!(hex("c3 a9").build(true).unwrap().payload, "é");
        let bytes = Draft {
            payload_format: Some(false),
            ..hex("ff fe")
        };
        assert!(bytes.build(true).is_ok());
    }

    #[test]
    fn a_built_publish_encodes_and_decodes_unchanged() {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut publish = Draft {
                qos,
                retain: true,
                ..all_properties()
            }
            .build(true)
            .unwrap();
            if qos != QoS::AtMostOnce {
                // What the client does when it sends it.
                publish.packet_id = Some(7);
            }
            let mut buf = Vec::new();
            Packet::from(publish.clone())
                .encode(Protocol::V5, &mut buf)
                .unwrap();
            let (decoded, len) = decode_slice(&buf, Protocol::V5, usize::MAX)
                .unwrap()
                .unwrap();
            assert_eq!(len, buf.len());
            assert_eq!(decoded, Packet::Publish(publish));
        }
        // Without properties, on 3.1.1.
        let publish = draft("t", "0x00ff", PayloadFormat::Hex)
            .build(false)
            .unwrap();
        let mut buf = Vec::new();
        Packet::from(publish.clone())
            .encode(Protocol::V311, &mut buf)
            .unwrap();
        let decoded = decode_slice(&buf, Protocol::V311, usize::MAX).unwrap();
        assert_eq!(decoded, Some((Packet::Publish(publish), buf.len())));
    }

    #[test]
    fn recent_moves_repeats_to_the_front_and_keeps_ten() {
        let mut recent = Recent::default();
        assert!(recent.is_empty());
        let n = |i: usize| draft(&format!("t/{i}"), "x", PayloadFormat::Text);
        recent.push(n(1));
        recent.push(n(2));
        recent.push(n(1));
        assert_eq!(recent.len(), 2);
        assert_eq!(recent.iter().collect::<Vec<_>>(), [&n(1), &n(2)]);
        // A different payload is a different draft.
        recent.push(Draft {
            payload: "y".to_owned(),
            ..n(2)
        });
        assert_eq!(recent.len(), 3);
        for i in 3..=12 {
            recent.push(n(i));
        }
        assert_eq!(recent.len(), Recent::MAX);
        let topics: Vec<&str> = recent.iter().map(|d| d.topic.as_str()).collect();
        assert_eq!(
            topics,
            ["t/12", "t/11", "t/10", "t/9", "t/8", "t/7", "t/6", "t/5", "t/4", "t/3"]
        );
        assert_eq!(recent.iter().next_back(), Some(&n(3)));
        // A kept one comes back to the front; nothing is forgotten.
        recent.push(n(3));
        assert_eq!(recent.len(), Recent::MAX);
        assert_eq!(recent.iter().next(), Some(&n(3)));
        assert_eq!(recent.iter().next_back(), Some(&n(4)));
    }

    proptest::proptest! {
        #[test]
        fn hex_of_any_bytes_reads_back(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            upper in proptest::prelude::any::<bool>(),
            spaced in proptest::prelude::any::<bool>(),
        ) {
            let mut typed = String::from("0x");
            for b in &bytes {
                typed.push_str(&if upper { format!("{b:02X}") } else { format!("{b:02x}") });
                if spaced {
                    typed.push(' ');
                }
            }
            proptest::prop_assert_eq!(parse_hex(&typed), Ok(bytes));
        }

        #[test]
        fn what_builds_encodes(
            payload in "[0-9a-fA-Fx {}\\[\\]\":,é\n]{0,40}",
            topic in "[a/+# \\x00]{0,6}",
            expiry in "[0-9 .-]{0,12}",
            content_type in "[a/\\x00]{0,3}",
            payload_format in proptest::option::of(proptest::prelude::any::<bool>()),
        ) {
            for format in [PayloadFormat::Text, PayloadFormat::Json, PayloadFormat::Hex] {
                let draft = Draft {
                    content_type: content_type.clone(),
                    message_expiry: expiry.clone(),
                    payload_format,
                    ..draft(&topic, &payload, format)
                };
                if let Ok(publish) = draft.build(true) {
                    let mut buf = Vec::new();
                    proptest::prop_assert!(Packet::from(publish).encode(Protocol::V5, &mut buf).is_ok());
                }
                proptest::prop_assert!(!draft.has_properties() || draft.build(false).is_err());
            }
        }
    }
}
