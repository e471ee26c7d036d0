//! Publishes saved as one-click buttons, kept with their profile (and in
//! its export): a name, a topic, a payload and how to send it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::layout::MAX_LABEL;

/// Saved publishes a profile keeps at most.
pub const MAX_SAVED_PUBLISHES: usize = 50;

/// Largest saved payload, in bytes of its text: 50 of them fit a profile
/// document.
pub const MAX_SAVED_PAYLOAD: usize = 4096;

/// How a saved payload's text becomes bytes (the publish form's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedFormat {
    /// The text's UTF-8 bytes.
    #[default]
    Text,
    /// JSON, sent as written.
    Json,
    /// Hex digits.
    Hex,
}

/// A publish the user saved as a button.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedPublish {
    /// The button's label; unique in a profile.
    pub name: String,
    /// The topic it publishes to.
    pub topic: String,
    /// The payload as typed.
    pub payload: String,
    /// How the payload's text becomes bytes.
    pub format: SavedFormat,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Published as the topic's retained message.
    pub retain: bool,
}

/// Why a saved publish cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SavedPublishError {
    /// No name, or longer than [`MAX_LABEL`] characters.
    Name,
    /// Not a topic one can publish to.
    Topic,
    /// More than [`MAX_SAVED_PAYLOAD`] bytes.
    Payload,
    /// QoS above 2.
    Qos,
    /// Already [`MAX_SAVED_PUBLISHES`] of them.
    Full,
}

impl fmt::Display for SavedPublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name => write!(f, "a button needs a name of 1 to {MAX_LABEL} characters"),
            Self::Topic => f.write_str("the topic is empty or has a wildcard (+ or #)"),
            Self::Payload => write!(
                f,
                "a saved payload is at most {} KB",
                MAX_SAVED_PAYLOAD / 1024
            ),
            Self::Qos => f.write_str("the QoS must be 0, 1 or 2"),
            Self::Full => write!(
                f,
                "a connection keeps at most {MAX_SAVED_PUBLISHES} buttons"
            ),
        }
    }
}

impl std::error::Error for SavedPublishError {}

impl SavedPublish {
    /// Checks it can be kept and published.
    pub fn check(&self) -> Result<(), SavedPublishError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_LABEL {
            return Err(SavedPublishError::Name);
        }
        if !mqtt_codec::is_valid_topic_name(&self.topic) {
            return Err(SavedPublishError::Topic);
        }
        if self.payload.len() > MAX_SAVED_PAYLOAD {
            return Err(SavedPublishError::Payload);
        }
        if self.qos > 2 {
            return Err(SavedPublishError::Qos);
        }
        Ok(())
    }
}

/// Adds `saved` to `list`, or replaces the one with its name.
pub fn save_publish(
    list: &mut Vec<SavedPublish>,
    saved: SavedPublish,
) -> Result<(), SavedPublishError> {
    saved.check()?;
    let name = saved.name.trim().to_owned();
    match list.iter().position(|s| s.name.trim() == name) {
        Some(at) => list[at] = SavedPublish { name, ..saved },
        None if list.len() >= MAX_SAVED_PUBLISHES => return Err(SavedPublishError::Full),
        None => list.push(SavedPublish { name, ..saved }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button(name: &str) -> SavedPublish {
        SavedPublish {
            name: name.into(),
            topic: "cmnd/kitchen/POWER".into(),
            payload: "TOGGLE".into(),
            ..SavedPublish::default()
        }
    }

    #[test]
    fn a_saved_publish_is_checked_before_it_is_kept() {
        let mut list = Vec::new();
        assert_eq!(
            save_publish(&mut list, button(" ")),
            Err(SavedPublishError::Name)
        );
        let long = "x".repeat(MAX_LABEL + 1);
        assert_eq!(
            save_publish(&mut list, button(&long)),
            Err(SavedPublishError::Name)
        );
        for topic in ["", "cmnd/+/POWER", "cmnd/#"] {
            let bad = SavedPublish {
                topic: topic.into(),
                ..button("a")
            };
            assert_eq!(save_publish(&mut list, bad), Err(SavedPublishError::Topic));
        }
        let big = SavedPublish {
            payload: "x".repeat(MAX_SAVED_PAYLOAD + 1),
            ..button("a")
        };
        assert_eq!(
            save_publish(&mut list, big),
            Err(SavedPublishError::Payload)
        );
        let qos = SavedPublish {
            qos: 3,
            ..button("a")
        };
        assert_eq!(save_publish(&mut list, qos), Err(SavedPublishError::Qos));
        assert!(list.is_empty());
    }

    #[test]
    fn saving_under_a_name_replaces_and_the_list_is_bounded() {
        let mut list = Vec::new();
        save_publish(&mut list, button("Kettle on")).unwrap();
        let other = SavedPublish {
            payload: "ON".into(),
            ..button(" Kettle on ")
        };
        save_publish(&mut list, other).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].payload, "ON");
        assert_eq!(list[0].name, "Kettle on");
        for i in 1..MAX_SAVED_PUBLISHES {
            save_publish(&mut list, button(&format!("b{i}"))).unwrap();
        }
        assert_eq!(
            save_publish(&mut list, button("one more")),
            Err(SavedPublishError::Full)
        );
        // Replacing still works when full.
        save_publish(&mut list, button("b1")).unwrap();
    }
}
