//! A message as the explorer keeps it: an owned copy, cut to a cap.

use bytes::Bytes;
use mqtt_codec::{Properties, Publish, QoS};

/// A received message as the [`TopicTree`](crate::TopicTree) or the
/// [`MessageLog`](crate::MessageLog) keeps it.
///
/// Nothing in it refers to the received buffer: the payload and the
/// properties' binary data are copies, so keeping a message keeps only its
/// own bytes. The payload is cut to the keeper's cap; `payload_len` is its
/// length as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Arrival number in the structure that kept it: 0, 1, 2, … one per
    /// message it was given. A stable key for a list.
    pub seq: u64,
    /// When it arrived, in the caller's milliseconds.
    pub time_ms: u64,
    /// Delivery guarantee it arrived with.
    pub qos: QoS,
    /// Whether it arrived as a retained message.
    pub retain: bool,
    /// Whether it was marked as a redelivery.
    pub dup: bool,
    /// The first bytes of the payload, at most the keeper's cap.
    pub payload: Bytes,
    /// The payload's length as received.
    pub payload_len: usize,
    /// The PUBLISH properties (MQTT 5; empty for 3.1.1); see
    /// [`describe`](crate::describe).
    pub properties: Properties,
}

impl Message {
    /// Copies what is kept of `publish`: at most `max_payload` bytes of the
    /// payload, and the properties with their binary data detached.
    pub(crate) fn copy(publish: &Publish, seq: u64, time_ms: u64, max_payload: usize) -> Self {
        let kept = &publish.payload[..publish.payload.len().min(max_payload)];
        Self {
            seq,
            time_ms,
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
            payload: Bytes::copy_from_slice(kept),
            payload_len: publish.payload.len(),
            properties: detach(&publish.properties),
        }
    }

    /// Whether the payload was cut: less is kept than arrived.
    pub fn is_truncated(&self) -> bool {
        self.payload.len() < self.payload_len
    }

    /// One line for a list: the first `max_chars` characters of the payload
    /// as text, line breaks and tabs as spaces, other control characters as
    /// visible symbols (`␀`, `␛`, …), and `…` when there is more; or
    /// `"N bytes binary"` when the payload is not UTF-8. Empty for an empty
    /// payload. Reads at most `4 * max_chars` bytes.
    pub fn preview(&self, max_chars: usize) -> String {
        if self.payload.is_empty() {
            return if self.payload_len == 0 {
                String::new()
            } else {
                format!("{} bytes", self.payload_len)
            };
        }
        let window = &self.payload[..self.payload.len().min(max_chars.saturating_mul(4))];
        let text = match std::str::from_utf8(window) {
            Ok(text) => text,
            // Cut inside a character, by the window or by the cap: the
            // characters before it are text.
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return format!("{} bytes binary", self.payload_len),
        };
        let mut out = String::with_capacity(text.len().min(max_chars * 3));
        let mut chars = text.chars();
        for c in chars.by_ref().take(max_chars) {
            push_visible(&mut out, c, false);
        }
        if chars.next().is_some() || window.len() < self.payload_len {
            out.push('…');
        }
        out
    }

    /// Bytes this message keeps beyond its fixed size: the payload and
    /// what the properties hold.
    pub(crate) fn kept_bytes(&self) -> usize {
        self.payload.len() + properties_bytes(&self.properties)
    }
}

/// A copy of `properties` that refers to no received buffer. Free when
/// there are none, as in MQTT 3.1.1.
fn detach(properties: &Properties) -> Properties {
    if properties.is_empty() {
        return Properties::default();
    }
    let mut copy = properties.clone();
    if let Some(data) = &properties.correlation_data {
        copy.correlation_data = Some(Bytes::copy_from_slice(data));
    }
    if let Some(data) = &properties.authentication_data {
        copy.authentication_data = Some(Bytes::copy_from_slice(data));
    }
    copy
}

/// The variable-size bytes the PUBLISH properties hold.
fn properties_bytes(properties: &Properties) -> usize {
    if properties.is_empty() {
        return 0;
    }
    let strings = [&properties.content_type, &properties.response_topic];
    strings
        .iter()
        .map(|s| s.as_ref().map_or(0, String::len))
        .sum::<usize>()
        + properties.correlation_data.as_ref().map_or(0, Bytes::len)
        + properties.subscription_identifiers.len() * 4
        + properties
            .user_properties
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

/// Appends `c`, a control character as something visible: C0 controls
/// and DEL as their Control Pictures symbol (U+2400 block), C1 controls as
/// `\u{85}`. Line breaks and tabs are kept when `keep_lines`, else spaces.
pub(crate) fn push_visible(out: &mut String, c: char, keep_lines: bool) {
    match c {
        '\n' | '\t' if keep_lines => out.push(c),
        '\n' | '\r' | '\t' if !keep_lines => out.push(' '),
        '\0'..='\x1f' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
        '\x7f' => out.push('\u{2421}'),
        '\u{80}'..='\u{9f}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(payload: &'static [u8], cap: usize) -> Message {
        Message::copy(&Publish::new("t", payload), 0, 0, cap)
    }

    #[test]
    fn the_copy_owns_its_bytes_and_remembers_the_length() {
        let buffer = Bytes::from(vec![7u8; 10_000]);
        let mut publish = Publish::new("t", buffer.slice(100..9_100));
        publish.properties.correlation_data = Some(buffer.slice(0..16));
        let message = Message::copy(&publish, 3, 42, 100);
        assert_eq!((message.payload.len(), message.payload_len), (100, 9_000));
        assert!(message.is_truncated());
        // Neither the payload nor the correlation data points into the
        // received buffer, so dropping it frees it.
        let range = buffer.as_ptr_range();
        assert!(!range.contains(&message.payload.as_ptr()));
        let data = message.properties.correlation_data.as_ref().unwrap();
        assert!(!range.contains(&data.as_ptr()));
        assert_eq!(message.kept_bytes(), 116);
    }

    #[test]
    fn previews() {
        assert_eq!(kept(b"", 10).preview(80), "");
        assert_eq!(kept(b"ON", 10).preview(80), "ON");
        assert_eq!(
            kept(b"a\nb\tc\x1bd\x7f", 10).preview(80),
            "a b c\u{241b}d\u{2421}"
        );
        assert_eq!(kept(b"0123456789", 100).preview(4), "0123…");
        // Cut by the cap: more arrived than is shown.
        assert_eq!(kept(b"0123456789", 4).preview(80), "0123…");
        assert_eq!(kept(b"\xff\x00\x01", 10).preview(80), "3 bytes binary");
        // Cut by the cap inside "é": the text before it.
        assert_eq!(kept("caf\u{e9}".as_bytes(), 4).preview(80), "caf…");
        assert_eq!(kept(b"abc", 0).preview(80), "3 bytes");
    }
}
