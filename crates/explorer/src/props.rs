//! MQTT 5 PUBLISH properties in plain words, for a message's detail pane.

use mqtt_codec::Properties;

/// The PUBLISH properties present in `properties`, as (name, value) lines
/// in a fixed order: content type, payload format, message expiry,
/// response topic, correlation data, subscription identifiers, topic
/// alias, then each user property as `("User property", "key = value")` in
/// the order received. Empty for MQTT 3.1.1.
///
/// Correlation data shows as text when it is printable UTF-8, else as hex.
pub fn describe(properties: &Properties) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if properties.is_empty() {
        return lines;
    }
    if let Some(content_type) = &properties.content_type {
        lines.push(("Content type", content_type.clone()));
    }
    if let Some(utf8) = properties.payload_format_indicator {
        let format = if utf8 { "UTF-8 text" } else { "bytes" };
        lines.push(("Payload format", format.to_owned()));
    }
    if let Some(seconds) = properties.message_expiry_interval {
        lines.push(("Message expiry", format!("{seconds} s")));
    }
    if let Some(topic) = &properties.response_topic {
        lines.push(("Response topic", topic.clone()));
    }
    if let Some(data) = &properties.correlation_data {
        lines.push(("Correlation data", printable(data)));
    }
    if !properties.subscription_identifiers.is_empty() {
        let ids: Vec<String> = properties
            .subscription_identifiers
            .iter()
            .map(u32::to_string)
            .collect();
        lines.push(("Subscription identifiers", ids.join(", ")));
    }
    if let Some(alias) = properties.topic_alias {
        lines.push(("Topic alias", alias.to_string()));
    }
    for (key, value) in &properties.user_properties {
        lines.push(("User property", format!("{key} = {value}")));
    }
    lines
}

/// `data` as text if it is UTF-8 without control characters, else as
/// lowercase hex.
fn printable(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        _ => data.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn one(set: impl FnOnce(&mut Properties)) -> Vec<(&'static str, String)> {
        let mut properties = Properties::default();
        set(&mut properties);
        describe(&properties)
    }

    fn line(name: &'static str, value: &str) -> Vec<(&'static str, String)> {
        vec![(name, value.to_owned())]
    }

    #[test]
    fn none_for_no_properties() {
        assert!(describe(&Properties::default()).is_empty());
    }

    #[test]
    fn each_property() {
        assert_eq!(
            one(|p| p.content_type = Some("application/json".into())),
            line("Content type", "application/json")
        );
        assert_eq!(
            one(|p| p.payload_format_indicator = Some(true)),
            line("Payload format", "UTF-8 text")
        );
        assert_eq!(
            one(|p| p.payload_format_indicator = Some(false)),
            line("Payload format", "bytes")
        );
        assert_eq!(
            one(|p| p.message_expiry_interval = Some(60)),
            line("Message expiry", "60 s")
        );
        assert_eq!(
            one(|p| p.response_topic = Some("reply/me".into())),
            line("Response topic", "reply/me")
        );
        assert_eq!(
            one(|p| p.correlation_data = Some(Bytes::from_static(b"req-42"))),
            line("Correlation data", "req-42")
        );
        assert_eq!(
            one(|p| p.correlation_data = Some(Bytes::from_static(b"\x00\xffA"))),
            line("Correlation data", "00ff41")
        );
        assert_eq!(
            one(|p| p.subscription_identifiers = vec![1, 268_435_455]),
            line("Subscription identifiers", "1, 268435455")
        );
        assert_eq!(one(|p| p.topic_alias = Some(7)), line("Topic alias", "7"));
        assert_eq!(
            one(|p| p.user_properties = vec![("k".into(), "v".into()), ("k".into(), "w".into())]),
            [
                ("User property", "k = v".to_owned()),
                ("User property", "k = w".to_owned())
            ]
        );
    }

    #[test]
    fn in_a_fixed_order_whatever_the_order_set() {
        let lines = one(|p| {
            p.user_properties = vec![("a".into(), "b".into())];
            p.topic_alias = Some(1);
            p.message_expiry_interval = Some(5);
            p.content_type = Some("text/plain".into());
            p.payload_format_indicator = Some(true);
        });
        let names: Vec<&str> = lines.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "Content type",
                "Payload format",
                "Message expiry",
                "Topic alias",
                "User property"
            ]
        );
    }
}
