//! Tiles the user configured for devices no adapter knows: a state topic,
//! a command topic, the on and off payloads, and optionally where in a
//! JSON state the value sits (a dotted path: `state`, `relays.0.on`).
//!
//! A state matches on/off as text (`ON`, `1`), or as JSON: `true`/`false`,
//! a string, or a number written like the payload. Anything else leaves the
//! outlet as it was and says so on the tile.

use serde_json::Value;

use crate::adapter::{off_then_on, Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, TimedPublish};

/// One configured tile (its name is the device id).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomTile {
    /// What the tile is called; its id.
    pub name: String,
    /// Where the device reports its state.
    pub state_topic: String,
    /// Where commands go; empty for a read-only tile.
    pub command_topic: String,
    /// The payload that means, and asks for, on.
    pub payload_on: String,
    /// The payload that means, and asks for, off.
    pub payload_off: String,
    /// A dotted path into a JSON state, if the state is JSON.
    pub json_path: Option<String>,
}

/// The custom tiles of one connection.
#[derive(Debug, Default)]
pub(crate) struct Custom {
    tiles: Vec<CustomTile>,
}

impl Custom {
    pub(crate) fn new(tiles: Vec<CustomTile>) -> Self {
        Self { tiles }
    }
}

impl Adapter for Custom {
    fn family(&self) -> Family {
        Family::Custom
    }

    fn subscriptions(&self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for tile in &self.tiles {
            for topic in [&tile.state_topic, &tile.command_topic] {
                if !topic.is_empty() && !topics.contains(topic) {
                    topics.push(topic.clone());
                }
            }
        }
        topics
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, _now: u64) -> Output {
        let mut out = Output::default();
        for tile in &self.tiles {
            let id = tile.name.clone();
            if tile.command_topic == topic && tile.command_topic != tile.state_topic {
                // Only news when retained (or the echo of its clearing).
                match (retained, payload.is_empty()) {
                    (true, false) => out.changes.push(Change::RetainedCommand {
                        id,
                        topic: topic.to_owned(),
                        present: true,
                    }),
                    (_, true) => out.changes.push(Change::RetainedCommand {
                        id,
                        topic: topic.to_owned(),
                        present: false,
                    }),
                    (false, false) => {}
                }
                continue;
            }
            if tile.state_topic != topic {
                continue;
            }
            out.changes.push(Change::Seen { id: id.clone() });
            match state_of(tile, payload) {
                Ok(power) => {
                    out.changes.push(Change::Outlet {
                        id: id.clone(),
                        index: 1,
                        power,
                    });
                    // A state it understood clears what it said before.
                    out.changes.push(Change::Note {
                        id,
                        note: String::new(),
                    });
                }
                Err(note) => out.changes.push(Change::Note { id, note }),
            }
        }
        out
    }

    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish> {
        let Some(tile) = self.tiles.iter().find(|t| t.name == id) else {
            return Vec::new();
        };
        if tile.command_topic.is_empty() || index != 1 {
            return Vec::new();
        }
        let payload = match action {
            Action::On => &tile.payload_on,
            Action::Off => &tile.payload_off,
            Action::PowerCycle { off_ms } => return off_then_on(self, id, index, off_ms, now),
        };
        vec![TimedPublish::now(PublishRequest::new(
            tile.command_topic.clone(),
            payload.as_bytes().to_vec(),
        ))]
    }
}

/// The state a payload reports, or what to tell the user.
fn state_of(tile: &CustomTile, payload: &[u8]) -> Result<Power, String> {
    let text = String::from_utf8_lossy(payload);
    let text = text.trim();
    let value = match &tile.json_path {
        None => Value::String(text.to_owned()),
        Some(path) => {
            let json: Value = serde_json::from_str(text)
                .map_err(|_| format!("the state is not JSON, so \"{path}\" cannot be read"))?;
            let mut at = &json;
            for step in path.split('.') {
                at = match at {
                    Value::Object(map) => map.get(step),
                    Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ => None,
                }
                .ok_or_else(|| format!("the state has no \"{path}\""))?;
            }
            at.clone()
        }
    };
    let matches = |want: &str| match &value {
        Value::String(s) => s == want,
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == want,
        _ => false,
    };
    if matches(&tile.payload_on) || value == Value::Bool(true) {
        Ok(Power::On)
    } else if matches(&tile.payload_off) || value == Value::Bool(false) {
        Ok(Power::Off)
    } else {
        let shown: String = value.to_string().chars().take(40).collect();
        Err(format!(
            "state {shown} is neither \"{}\" nor \"{}\"",
            tile.payload_on, tile.payload_off
        ))
    }
}
