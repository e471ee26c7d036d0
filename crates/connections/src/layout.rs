//! How the user arranged a connection's devices — renamed, reordered,
//! hidden, grouped, outlets protected — and the tiles they added by hand.
//! Saved with the profile and in its export.
//!
//! Devices are named by a key string the app builds (`<family>/<id>`), so
//! this room needs nothing from the device model.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Devices a layout remembers at most.
pub const MAX_LAYOUT_DEVICES: usize = 2_000;

/// Custom tiles a profile keeps at most.
pub const MAX_CUSTOM_TILES: usize = 100;

/// Longest name or group, in characters.
pub const MAX_LABEL: usize = 64;

/// Longest topic or payload of a custom tile, in bytes.
pub(crate) const MAX_TOPIC: usize = 256;

/// One device as the user arranged it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceLayout {
    /// Which device (`<family>/<id>`).
    pub key: String,
    /// The user's name for it, over the device's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The group it is shown in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Not shown (listed under "hidden").
    pub hidden: bool,
    /// Outlets that ask before they switch.
    pub protected: Vec<u8>,
}

/// The arrangement of one connection's devices. The order of `devices` is
/// the display order; devices not in it follow, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Layout {
    /// The devices the user touched, in display order.
    pub devices: Vec<DeviceLayout>,
}

/// Devices under one heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The group's name; `None` for devices in no group (shown first).
    pub group: Option<String>,
    /// Its devices, in display order.
    pub keys: Vec<String>,
}

/// Why a layout change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// A name or group longer than [`MAX_LABEL`] characters.
    TooLong,
    /// The layout already remembers [`MAX_LAYOUT_DEVICES`] devices.
    Full,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "names are at most {MAX_LABEL} characters"),
            Self::Full => write!(f, "at most {MAX_LAYOUT_DEVICES} devices can be arranged"),
        }
    }
}

impl std::error::Error for LayoutError {}

/// A label as typed: trimmed; empty means none.
fn label(text: &str) -> Result<Option<String>, LayoutError> {
    let text = text.trim();
    if text.chars().count() > MAX_LABEL {
        return Err(LayoutError::TooLong);
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

impl Layout {
    /// What the user set for a device, if anything.
    pub fn get(&self, key: &str) -> Option<&DeviceLayout> {
        self.devices.iter().find(|d| d.key == key)
    }

    fn entry(&mut self, key: &str) -> Result<&mut DeviceLayout, LayoutError> {
        let at = match self.devices.iter().position(|d| d.key == key) {
            Some(at) => at,
            None if self.devices.len() >= MAX_LAYOUT_DEVICES => return Err(LayoutError::Full),
            None => {
                self.devices.push(DeviceLayout {
                    key: key.to_owned(),
                    ..DeviceLayout::default()
                });
                self.devices.len() - 1
            }
        };
        Ok(&mut self.devices[at])
    }

    /// Names a device (an empty name goes back to the device's own).
    pub fn rename(&mut self, key: &str, name: &str) -> Result<(), LayoutError> {
        let name = label(name)?;
        self.entry(key)?.name = name;
        Ok(())
    }

    /// Puts a device in a group (an empty name: in none).
    pub fn set_group(&mut self, key: &str, group: &str) -> Result<(), LayoutError> {
        let group = label(group)?;
        self.entry(key)?.group = group;
        Ok(())
    }

    /// Hides or shows a device.
    pub fn set_hidden(&mut self, key: &str, hidden: bool) -> Result<(), LayoutError> {
        self.entry(key)?.hidden = hidden;
        Ok(())
    }

    /// Whether an outlet asks before it switches.
    pub fn is_protected(&self, key: &str, outlet: u8) -> bool {
        self.get(key).is_some_and(|d| d.protected.contains(&outlet))
    }

    /// Protects an outlet, or not.
    pub fn set_protected(&mut self, key: &str, outlet: u8, on: bool) -> Result<(), LayoutError> {
        let entry = self.entry(key)?;
        entry.protected.retain(|o| *o != outlet);
        if on {
            entry.protected.push(outlet);
            entry.protected.sort_unstable();
        }
        Ok(())
    }

    /// Devices in display order, grouped (devices in no group first, then
    /// each group in the order of its first device), hidden ones left out;
    /// and the hidden ones.
    pub fn arrange<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> (Vec<Section>, Vec<String>) {
        let mut ordered: Vec<(usize, usize, &str)> = keys
            .into_iter()
            .enumerate()
            .map(|(given, key)| {
                let rank = self
                    .devices
                    .iter()
                    .position(|d| d.key == key)
                    .unwrap_or(usize::MAX);
                (rank, given, key)
            })
            .collect();
        ordered.sort_unstable();
        let mut sections = vec![Section {
            group: None,
            keys: Vec::new(),
        }];
        let mut hidden = Vec::new();
        for (_, _, key) in ordered {
            let layout = self.get(key);
            if layout.is_some_and(|d| d.hidden) {
                hidden.push(key.to_owned());
                continue;
            }
            let group = layout.and_then(|d| d.group.clone());
            match sections.iter_mut().find(|s| s.group == group) {
                Some(section) => section.keys.push(key.to_owned()),
                None => sections.push(Section {
                    group,
                    keys: vec![key.to_owned()],
                }),
            }
        }
        if sections[0].keys.is_empty() {
            sections.remove(0);
        }
        (sections, hidden)
    }

    /// Moves a device one place earlier (`earlier`) or later among the
    /// devices shown with it (`shown`, in display order). Every shown
    /// device is remembered, so the order holds as new devices appear.
    pub fn move_device(
        &mut self,
        shown: &[String],
        key: &str,
        earlier: bool,
    ) -> Result<(), LayoutError> {
        let Some(at) = shown.iter().position(|k| k == key) else {
            return Ok(());
        };
        let other = match (earlier, at) {
            (true, 0) => return Ok(()),
            (true, at) => at - 1,
            (false, at) if at + 1 >= shown.len() => return Ok(()),
            (false, at) => at + 1,
        };
        for k in shown {
            self.entry(k)?;
        }
        let a = self.devices.iter().position(|d| d.key == *key);
        let b = self.devices.iter().position(|d| d.key == shown[other]);
        if let (Some(a), Some(b)) = (a, b) {
            self.devices.swap(a, b);
        }
        Ok(())
    }
}

/// A tile for a device no adapter knows: a state topic, a command topic,
/// the payloads for on and off, and where in a JSON state the value is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomTile {
    /// What the tile is called.
    pub name: String,
    /// Where the device reports its state.
    pub state_topic: String,
    /// Where commands go (empty: a read-only tile).
    pub command_topic: String,
    /// The payload that means, and asks for, on.
    pub payload_on: String,
    /// The payload that means, and asks for, off.
    pub payload_off: String,
    /// A dotted path into a JSON state (`state`, `relay.0`), if the state
    /// is JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
}

/// Why a custom tile cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomTileError {
    /// No name, or a name too long.
    Name,
    /// The state topic is empty, too long, or has wildcards.
    StateTopic(String),
    /// The command topic is too long or has wildcards.
    CommandTopic(String),
    /// The on and off payloads are empty or equal.
    Payloads,
    /// Already [`MAX_CUSTOM_TILES`], or the name is taken.
    Taken,
}

impl fmt::Display for CustomTileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name => write!(f, "give the tile a name of 1 to {MAX_LABEL} characters"),
            Self::StateTopic(why) => write!(f, "state topic: {why}"),
            Self::CommandTopic(why) => write!(f, "command topic: {why}"),
            Self::Payloads => write!(f, "the on and off payloads must differ and not be empty"),
            Self::Taken => write!(
                f,
                "a tile with that name exists, or there are already {MAX_CUSTOM_TILES}"
            ),
        }
    }
}

impl std::error::Error for CustomTileError {}

/// Why `topic` cannot be published or subscribed to as one exact topic.
fn topic_problem(topic: &str) -> Option<String> {
    if topic.is_empty() {
        Some("it is empty".into())
    } else if topic.len() > MAX_TOPIC {
        Some(format!("it is longer than {MAX_TOPIC} bytes"))
    } else if topic.contains(['+', '#']) {
        Some("wildcards (+, #) are not allowed here".into())
    } else if topic.contains('\0') {
        Some("it contains a NUL character".into())
    } else {
        None
    }
}

impl CustomTile {
    /// Checks the tile before it is saved.
    pub fn check(&self) -> Result<(), CustomTileError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_LABEL || name.contains('/') {
            return Err(CustomTileError::Name);
        }
        if let Some(why) = topic_problem(&self.state_topic) {
            return Err(CustomTileError::StateTopic(why));
        }
        if !self.command_topic.is_empty() {
            if let Some(why) = topic_problem(&self.command_topic) {
                return Err(CustomTileError::CommandTopic(why));
            }
        }
        if self.payload_on.is_empty()
            || self.payload_off.is_empty()
            || self.payload_on == self.payload_off
            || self.payload_on.len() > MAX_TOPIC
            || self.payload_off.len() > MAX_TOPIC
        {
            return Err(CustomTileError::Payloads);
        }
        Ok(())
    }
}

/// Adds `tile` to `tiles` after checking it, replacing one of the same
/// name if `replace`.
pub fn add_custom_tile(
    tiles: &mut Vec<CustomTile>,
    mut tile: CustomTile,
    replace: bool,
) -> Result<(), CustomTileError> {
    tile.name = tile.name.trim().to_owned();
    tile.json_path = tile
        .json_path
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    tile.check()?;
    match tiles.iter().position(|t| t.name == tile.name) {
        Some(at) if replace => tiles[at] = tile,
        Some(_) => return Err(CustomTileError::Taken),
        None if tiles.len() >= MAX_CUSTOM_TILES => return Err(CustomTileError::Taken),
        None => tiles.push(tile),
    }
    Ok(())
}

/// Topics an installation changed from the device ecosystems' defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceTopics {
    /// Tasmota's group topic.
    pub tasmota_group: String,
    /// Zigbee2MQTT's base topic.
    pub zigbee2mqtt: String,
    /// Home Assistant's discovery prefix.
    pub homeassistant: String,
    /// The NETIO MQTT-flex prefix.
    pub netio: String,
}

impl Default for DeviceTopics {
    fn default() -> Self {
        Self {
            tasmota_group: "tasmotas".into(),
            zigbee2mqtt: "zigbee2mqtt".into(),
            homeassistant: "homeassistant".into(),
            netio: "netio".into(),
        }
    }
}

impl DeviceTopics {
    /// Whether every one is a usable topic prefix (no wildcards, no empty
    /// level); the device layer says more precisely what is wrong.
    pub fn usable(&self) -> bool {
        [
            &self.tasmota_group,
            &self.zigbee2mqtt,
            &self.homeassistant,
            &self.netio,
        ]
        .iter()
        .all(|t| {
            !t.is_empty()
                && t.len() <= 128
                && mqtt_codec::is_valid_topic_name(t)
                && !t.split('/').any(str::is_empty)
        })
    }
}
