//! Anything announced by Home Assistant MQTT discovery: a JSON config on
//! `homeassistant/<component>/[<node_id>/]<object_id>/config`.
//!
//! From Home Assistant's MQTT documentation (home-assistant/home-assistant.io
//! `source/_integrations/`: `mqtt.markdown` @00db44a "MQTT Discovery" with
//! its abbreviation lists and examples, `switch.mqtt.markdown` @04c35f1,
//! `sensor.mqtt.markdown` @035b814), the conventions reference §C3 (which
//! also has device-based discovery) and DESIGN §4; light's
//! `state_value_template` and `schema` as Home Assistant's light page names
//! them (and Zigbee2MQTT's discovery payloads use them):
//! - the config is a JSON object; keys may be abbreviated (`stat_t` for
//!   `state_topic`, `dev` for `device` with `ids`, `cns`, `mf`, `mdl`, …),
//!   and "in the value of configuration variables ending with `_topic`, `~`
//!   will be replaced with the base topic, if the `~` occurs at the
//!   beginning or end of the value";
//! - "a configuration update with an empty payload will cause a previously
//!   discovered device to be deleted";
//! - `switch`: `command_topic`, `state_topic`, `payload_on` / `payload_off`
//!   ("ON" / "OFF"), `state_on` / `state_off` (default: the payloads),
//!   `value_template`, `qos`; e.g. `{"~": "homeassistant/switch/irrigation",
//!   "name": "garden", "cmd_t": "~/set", "stat_t": "~/state"}`;
//! - `light` (on/off only): the same payloads and `state_value_template`;
//!   with `"schema": "json"` the state is `{"state": "ON", …}` and so is the
//!   command;
//! - `sensor`: `state_topic`, `device_class`, `unit_of_measurement`,
//!   `value_template` (e.g. `{{ value_json.temperature }}`), `expire_after`
//!   (seconds);
//! - availability: `availability_topic` with `payload_available` /
//!   `payload_not_available` ("online" / "offline"), or an `availability`
//!   list of `{topic, payload_available, payload_not_available,
//!   value_template}`, combined by `availability_mode` `all` / `any` /
//!   `latest` (the default);
//! - device-based discovery: `homeassistant/device/<object_id>/config` with
//!   a `cmps` (`components`) map of components, each naming its platform in
//!   `p`; the options outside `cmps` are shared by all of them;
//! - Home Assistant's birth message, `online` on `homeassistant/status`,
//!   makes integrations publish their configs again.
//!
//! What a tile shows: switches and lights are its outlets, numbered from 1
//! in the order they appear within the device (an outlet keeps its number
//! while it exists; a new one takes the lowest free number). Sensors of
//! device class power, energy, voltage or current (or, without a class, with
//! such a unit) are its readings, in W, kWh, V and A; several sensors of
//! one quantity on one device (a power strip's channels) are summed, except
//! voltage, which takes the latest. Binary sensors and other components are
//! ignored: a tile has no place for them. Templates are understood in the
//! forms `{{ value }}`, `{{ value_json.x.y }}`, `{{ value_json['x'] }}` and
//! `{{ value_json.x[0] }}`; any other template is shown as a note, and the
//! raw payload is used instead.
//!
//! State and availability topics are arbitrary, so the fixed
//! [`Adapter::subscriptions`] are only the config topics: a config's output
//! asks for its state, availability and command topics in
//! [`Output::subscribe`], and [`HomeAssistant::wanted_topics`] lists those
//! the current configs still name.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use mqtt_codec::{is_valid_topic_name, QoS};
use serde_json::{Map, Value};

use crate::adapter::{off_then_on, Adapter, Change, Output};
use crate::model::{
    Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_ID_LEN, STALE_PERIODS,
};
use crate::router::MAX_EXTRA_FILTERS;

/// Home Assistant's default discovery prefix. Home Assistant announces
/// itself on `<prefix>/status`; `online` there asks every integration for
/// its configs.
pub(crate) const DEFAULT_PREFIX: &str = "homeassistant";

/// Longest config read, in bytes; longer ones are ignored.
const MAX_CONFIG_LEN: usize = 16 * 1024;

/// Longest state or availability message read, in bytes.
const MAX_STATE_LEN: usize = 64 * 1024;

/// Entities remembered at most (a broker controls how many configs come).
const MAX_ENTITIES: usize = 4_000;

/// Distinct learned topics at most: as many as the router routes to one
/// adapter besides its two fixed filters.
const MAX_TOPICS: usize = MAX_EXTRA_FILTERS - 2;

/// Longest state, availability or command topic accepted, in bytes.
const MAX_TOPIC_LEN: usize = 256;

/// Longest `payload_on`, `state_off`, … accepted, in bytes.
const MAX_PAYLOAD_LEN: usize = 256;

/// Longest name kept, in bytes (the dashboard shortens it further).
const MAX_NAME_LEN: usize = 128;

/// Longest template quoted in a note, in bytes.
const MAX_QUOTE_LEN: usize = 80;

/// Availability topics per entity at most.
const MAX_AVAILABILITY: usize = 4;

/// Outlets per device at most.
const MAX_OUTLETS: u8 = 64;

/// Components of one device-based config at most.
const MAX_COMPONENTS: usize = 64;

/// Steps of one `value_json` path at most.
const MAX_STEPS: usize = 8;

/// The Home Assistant discovery adapter: it learns entities from configs,
/// and the topics to hear from them.
#[derive(Debug)]
pub(crate) struct HomeAssistant {
    /// The discovery prefix (`homeassistant` by default); the birth
    /// message goes to `<prefix>/status`.
    prefix: String,
    /// By config topic (device-based components: `<topic>#<component id>`).
    entities: BTreeMap<String, Entity>,
    /// Device id → the keys of its entities.
    devices: BTreeMap<String, BTreeSet<String>>,
    /// Learned topic → the entities that use it, and how.
    topics: BTreeMap<String, Vec<(String, Use)>>,
    /// Changes whenever the set of learned topics does.
    topics_version: u64,
    /// A config named topics the connection was not subscribed to: the
    /// states published before the subscription were missed, so the birth
    /// message is sent again then (integrations answer it with their
    /// configs and states). Debounced: one for a burst of configs.
    rebirth_at: Option<u64>,
    /// When the birth message was last sent.
    last_birth: Option<u64>,
}

impl Default for HomeAssistant {
    fn default() -> Self {
        Self::with_prefix(DEFAULT_PREFIX)
    }
}

impl HomeAssistant {
    /// An adapter for discovery under `prefix`.
    pub(crate) fn with_prefix(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            entities: BTreeMap::new(),
            devices: BTreeMap::new(),
            topics: BTreeMap::new(),
            topics_version: 0,
            rebirth_at: None,
            last_birth: None,
        }
    }
}

/// How long after a config with new topics the birth is sent again (a
/// burst of retained configs asks once).
const REBIRTH_AFTER_MS: u64 = 500;

/// The birth message is sent at most this often.
const BIRTH_INTERVAL_MS: u64 = 2_000;

/// What an entity does with a learned topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Use {
    State,
    Availability,
    Command,
}

/// One discovered entity that a tile can show.
#[derive(Debug, Clone, PartialEq)]
struct Entity {
    device: String,
    device_name: Option<String>,
    role: Role,
    state_topic: Option<String>,
    template: Template,
    availability: Vec<Availability>,
    mode: Mode,
    /// The last word of any availability topic (for `latest`).
    latest: Option<bool>,
    /// `expire_after`, in milliseconds.
    expire_ms: Option<u64>,
    /// What the tile should say about it.
    notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// A switch or light.
    Outlet(Switch),
    /// A metering sensor: its value times `scale` is in the tile's unit.
    Meter {
        quantity: Quantity,
        scale: f64,
        last: Option<f64>,
    },
    /// A binary sensor: shown as a named flag on the tile.
    Flag {
        name: String,
        class: Option<String>,
        on: String,
        off: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Switch {
    index: u8,
    name: Option<String>,
    command: Option<Command>,
    state_on: String,
    state_off: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Command {
    topic: String,
    on: String,
    off: String,
    qos: QoS,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Power,
    Energy,
    Voltage,
    Current,
}

#[derive(Debug, Clone, PartialEq)]
struct Availability {
    topic: String,
    available: String,
    not_available: String,
    template: Template,
    heard: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
    Latest,
}

/// A `value_template`, as far as it is understood.
#[derive(Debug, Clone, PartialEq)]
enum Template {
    /// The payload as it is (no template, or `{{ value }}`).
    Raw,
    /// `{{ value_json… }}`: a path into the payload's JSON.
    Path(Vec<Step>),
    /// Anything else: the raw payload is used, and the tile says so.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

impl HomeAssistant {
    /// The state, availability and command topics the current configs
    /// name, each once, sorted: exact topics, at most `MAX_EXTRA_FILTERS -
    /// 2` of at most 256 bytes. A config's output asks for its topics in
    /// [`Output::subscribe`], which the router adopts for good; this is the
    /// list to compare with, when [`HomeAssistant::topics_version`] changed,
    /// to unsubscribe from (and stop routing) those no config names any more.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn wanted_topics(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// Whether `topic` (a topic name) is one of
    /// [`HomeAssistant::wanted_topics`]: a map lookup, for a router that
    /// would rather not match thousands of exact filters per message.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn hears(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// Changes whenever [`HomeAssistant::wanted_topics`] does.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn topics_version(&self) -> u64 {
        self.topics_version
    }

    /// A message on a config topic.
    fn config(&mut self, topic: &str, at: &ConfigTopic<'_>, payload: &[u8]) -> Output {
        if payload.len() > MAX_CONFIG_LEN {
            return Output::default();
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return Output::default();
        };
        if text.trim().is_empty() {
            return self.remove_config(topic);
        }
        let Ok(Value::Object(config)) = serde_json::from_str::<Value>(text) else {
            return Output::default();
        };
        if at.component == "device" {
            return self.device_config(topic, at, &config);
        }
        // A config this adapter cannot use (any more) shows nothing.
        match Entity::from_config(at.component, &config, at, at.object) {
            Some(entity) => self.upsert(topic.to_owned(), entity),
            None => self.remove(topic),
        }
    }

    /// A device-based config: each component of `cmps` is an entity, keyed
    /// `<topic>#<component id>`; components no longer listed are removed.
    fn device_config(
        &mut self,
        topic: &str,
        at: &ConfigTopic<'_>,
        config: &Map<String, Value>,
    ) -> Output {
        let Some(components) = field(config, "components", "cmps").and_then(Value::as_object)
        else {
            return Output::default();
        };
        let shared: Map<String, Value> = config
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "components" | "cmps"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = Output::default();
        let mut listed = BTreeSet::new();
        for (id, component) in components.iter().take(MAX_COMPONENTS) {
            let Some(component) = component.as_object().filter(|_| valid_level(id)) else {
                continue;
            };
            let key = format!("{topic}#{id}");
            let mut merged = shared.clone();
            merged.extend(component.iter().map(|(k, v)| (k.clone(), v.clone())));
            let entity = text(component, "platform", "p")
                .and_then(|platform| Entity::from_config(platform, &merged, at, id));
            let changes = match entity {
                Some(entity) => {
                    listed.insert(key.clone());
                    self.upsert(key, entity)
                }
                None => self.remove(&key),
            };
            merge(&mut out, changes);
        }
        let prefix = format!("{topic}#");
        let gone: Vec<String> = self
            .entities
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            let changes = self.remove(&key);
            merge(&mut out, changes);
        }
        out
    }

    /// An empty config: the entity (or every component) under `topic` goes.
    fn remove_config(&mut self, topic: &str) -> Output {
        let prefix = format!("{topic}#");
        let keys: Vec<String> = self
            .entities
            .range(topic.to_owned()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(topic))
            .filter(|k| *k == topic || k.starts_with(&prefix))
            .cloned()
            .collect();
        let mut out = Output::default();
        for key in keys {
            let changes = self.remove(&key);
            merge(&mut out, changes);
        }
        out
    }

    /// Adds or replaces the entity under `key`; ignored over the bounds.
    fn upsert(&mut self, key: String, mut entity: Entity) -> Output {
        let mut out = Output::default();
        let old = self.entities.get(&key);
        if old.is_none() && self.entities.len() >= MAX_ENTITIES {
            return out;
        }
        let fresh = entity
            .uses()
            .iter()
            .map(|(t, _)| *t)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|t| !self.topics.contains_key(*t))
            .count();
        if self.topics.len() + fresh > MAX_TOPICS {
            return out;
        }
        // An outlet that stays an outlet of the same device keeps its number.
        let kept = match (old, &entity.role) {
            (Some(old), Role::Outlet(_)) if old.device == entity.device => match &old.role {
                Role::Outlet(s) => Some(s.index),
                Role::Meter { .. } | Role::Flag { .. } => None,
            },
            _ => None,
        };
        if let Role::Outlet(switch) = &mut entity.role {
            switch.index = match kept {
                Some(index) => index,
                None => match self.free_index(&entity.device) {
                    Some(index) => index,
                    None => return out,
                },
            };
        }
        if let Some(old) = self.detach(&key) {
            if let (Role::Outlet(s), None) = (&old.role, kept) {
                out.changes.push(Change::OutletRemoved {
                    id: old.device.clone(),
                    index: s.index,
                });
            }
            if old.device != entity.device && !self.devices.contains_key(&old.device) {
                out.changes.push(Change::Removed { id: old.device });
            }
        }
        self.attach(&key, &entity);
        // The router keeps (and the connection subscribes to) the new ones.
        out.subscribe = entity.uses().iter().map(|(t, _)| (*t).to_owned()).collect();
        out.subscribe.dedup();
        let id = entity.device.clone();
        out.changes.push(Change::Seen { id: id.clone() });
        if let Some(name) = &entity.device_name {
            out.changes.push(Change::Named {
                id: id.clone(),
                name: name.clone(),
            });
        }
        if let Role::Outlet(switch) = &entity.role {
            if let Some(name) = &switch.name {
                out.changes.push(Change::OutletNamed {
                    id: id.clone(),
                    index: switch.index,
                    name: name.clone(),
                });
            }
        }
        if !entity.notes.is_empty() {
            out.changes.push(Change::Note {
                id: id.clone(),
                note: entity.notes.join("; "),
            });
        }
        self.entities.insert(key, entity);
        // The tile goes stale when the first of its values expires.
        let expire = self.entities_of(&id).filter_map(|e| e.expire_ms).min();
        if let Some(ms) = expire {
            out.changes.push(Change::Period {
                id,
                ms: ms.div_ceil(STALE_PERIODS).max(1),
            });
        }
        out
    }

    /// Removes the entity under `key`: its outlet goes, and the device
    /// with its last entity.
    fn remove(&mut self, key: &str) -> Output {
        let mut out = Output::default();
        let Some(old) = self.detach(key) else {
            return out;
        };
        if let Role::Outlet(s) = &old.role {
            out.changes.push(Change::OutletRemoved {
                id: old.device.clone(),
                index: s.index,
            });
        }
        if !self.devices.contains_key(&old.device) {
            out.changes.push(Change::Removed { id: old.device });
        }
        out
    }

    /// Links an entity's topics and device (it is inserted by the caller).
    fn attach(&mut self, key: &str, entity: &Entity) {
        for (topic, used) in entity.uses() {
            let users = self.topics.entry(topic.to_owned()).or_insert_with(|| {
                self.topics_version = self.topics_version.wrapping_add(1);
                Vec::new()
            });
            if !users.iter().any(|(k, u)| k == key && *u == used) {
                users.push((key.to_owned(), used));
            }
        }
        self.devices
            .entry(entity.device.clone())
            .or_default()
            .insert(key.to_owned());
    }

    /// Takes the entity under `key` out, with its topics; its device goes
    /// when it has no entity left.
    fn detach(&mut self, key: &str) -> Option<Entity> {
        let entity = self.entities.remove(key)?;
        for (topic, _) in entity.uses() {
            if let Some(users) = self.topics.get_mut(topic) {
                users.retain(|(k, _)| k != key);
                if users.is_empty() {
                    self.topics.remove(topic);
                    self.topics_version = self.topics_version.wrapping_add(1);
                }
            }
        }
        if let Some(keys) = self.devices.get_mut(&entity.device) {
            keys.remove(key);
            if keys.is_empty() {
                self.devices.remove(&entity.device);
            }
        }
        Some(entity)
    }

    /// The lowest outlet number no entity of `device` has.
    fn free_index(&self, device: &str) -> Option<u8> {
        let used: BTreeSet<u8> = self.switches_of(device).map(|s| s.index).collect();
        (1..=MAX_OUTLETS).find(|i| !used.contains(i))
    }

    fn entities_of<'a>(&'a self, device: &str) -> impl Iterator<Item = &'a Entity> + 'a {
        self.devices
            .get(device)
            .into_iter()
            .flatten()
            .filter_map(|key| self.entities.get(key))
    }

    fn switches_of<'a>(&'a self, device: &str) -> impl Iterator<Item = &'a Switch> + 'a {
        self.entities_of(device).filter_map(|e| match &e.role {
            Role::Outlet(s) => Some(s),
            Role::Meter { .. } | Role::Flag { .. } => None,
        })
    }

    /// A message on a learned topic: states, readings, availability, and
    /// retained commands.
    fn learned(&mut self, topic: &str, payload: &[u8], retained: bool) -> Output {
        let mut out = Output::default();
        let Some(users) = self.topics.get(topic) else {
            return out;
        };
        if payload.len() > MAX_STATE_LEN {
            return out;
        }
        let text = String::from_utf8_lossy(payload);
        let mut json = None;
        // Per device: which quantities came (voltage with its value).
        let mut metered: BTreeMap<String, Readings> = BTreeMap::new();
        let mut availability = BTreeSet::new();
        let mut flagged = BTreeSet::new();
        for (key, used) in users {
            let Some(entity) = self.entities.get_mut(key) else {
                continue;
            };
            match used {
                Use::State => {
                    let Some(value) = entity.template.apply(&text, &mut json) else {
                        continue;
                    };
                    match &mut entity.role {
                        Role::Outlet(switch) => {
                            if let Some(power) = switch.power(&value) {
                                out.changes.push(Change::Outlet {
                                    id: entity.device.clone(),
                                    index: switch.index,
                                    power,
                                });
                            }
                        }
                        Role::Meter {
                            quantity,
                            scale,
                            last,
                        } => {
                            let Some(number) = number(&value).map(|n| n * *scale) else {
                                continue;
                            };
                            *last = Some(number);
                            let readings = metered.entry(entity.device.clone()).or_default();
                            let slot = match quantity {
                                Quantity::Power => &mut readings.power_w,
                                Quantity::Energy => &mut readings.energy_total_kwh,
                                Quantity::Voltage => &mut readings.voltage_v,
                                Quantity::Current => &mut readings.current_a,
                            };
                            *slot = Some(number);
                        }
                        Role::Flag {
                            name,
                            class,
                            on,
                            off,
                        } => {
                            let state = if value == *on {
                                true
                            } else if value == *off {
                                false
                            } else {
                                continue;
                            };
                            out.changes.push(Change::Flag {
                                id: entity.device.clone(),
                                name: name.clone(),
                                class: class.clone(),
                                on: state,
                            });
                        }
                    }
                }
                Use::Availability => {
                    let mut heard = None;
                    for a in entity.availability.iter_mut().filter(|a| a.topic == topic) {
                        let Some(value) = a.template.apply(&text, &mut json) else {
                            continue;
                        };
                        if let Some(word) = a.word(&value) {
                            a.heard = Some(word);
                            heard = Some(word);
                        }
                    }
                    if heard.is_some() {
                        entity.latest = heard;
                        availability.insert(entity.device.clone());
                    }
                }
                Use::Command => {
                    let present = match (retained, payload.is_empty()) {
                        (true, false) => true,
                        (_, true) => false,
                        (false, false) => continue,
                    };
                    if flagged.insert(entity.device.clone()) {
                        out.changes.push(Change::RetainedCommand {
                            id: entity.device.clone(),
                            topic: topic.to_owned(),
                            present,
                        });
                    }
                }
            }
        }
        for (id, mut readings) in metered {
            // Channels add up; the voltage is the one just heard.
            for (quantity, slot) in [
                (Quantity::Power, &mut readings.power_w),
                (Quantity::Energy, &mut readings.energy_total_kwh),
                (Quantity::Current, &mut readings.current_a),
            ] {
                if slot.is_some() {
                    *slot = self.sum(&id, quantity);
                }
            }
            out.changes.push(Change::Readings { id, readings });
        }
        for id in availability {
            if let Some(online) = self.online(&id) {
                out.changes.push(Change::Online { id, online });
            }
        }
        out
    }

    /// The sum of the latest values of a device's sensors of `quantity`.
    fn sum(&self, device: &str, quantity: Quantity) -> Option<f64> {
        self.entities_of(device)
            .filter_map(|e| match e.role {
                Role::Meter {
                    quantity: q, last, ..
                } if q == quantity => last,
                _ => None,
            })
            .reduce(|a, b| a + b)
            .filter(|v| v.is_finite())
    }

    /// A device is online if any of its entities is available, offline if
    /// all that said are not.
    fn online(&self, device: &str) -> Option<bool> {
        let words: Vec<bool> = self
            .entities_of(device)
            .filter_map(Entity::available)
            .collect();
        if words.is_empty() {
            None
        } else {
            Some(words.contains(&true))
        }
    }
}

impl Adapter for HomeAssistant {
    fn family(&self) -> Family {
        Family::HomeAssistant
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}/+/+/config", self.prefix),
            format!("{}/+/+/+/config", self.prefix),
        ]
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, now: u64) -> Output {
        let out = match ConfigTopic::parse(&self.prefix, topic) {
            Some(at) => self.config(topic, &at, payload),
            None => self.learned(topic, payload, retained),
        };
        if !out.subscribe.is_empty() && self.rebirth_at.is_none() {
            self.rebirth_at = Some(now + REBIRTH_AFTER_MS);
        }
        out
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.rebirth_at
    }

    fn handle_timeout(&mut self, now: u64) -> Output {
        let mut out = Output::default();
        let Some(at) = self.rebirth_at else {
            return out;
        };
        let allowed = self
            .last_birth
            .map_or(at, |t| at.max(t + BIRTH_INTERVAL_MS));
        if now < allowed {
            self.rebirth_at = Some(allowed);
            return out;
        }
        self.rebirth_at = None;
        self.last_birth = Some(now);
        out.publish.push(PublishRequest::new(
            format!("{}/status", self.prefix),
            "online",
        ));
        out
    }

    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish> {
        let command = self
            .switches_of(id)
            .find(|s| s.index == index)
            .and_then(|s| s.command.as_ref());
        let Some(command) = command else {
            return Vec::new();
        };
        let payload = match action {
            Action::On => &command.on,
            Action::Off => &command.off,
            Action::PowerCycle { off_ms } => return off_then_on(self, id, index, off_ms, now),
        };
        vec![TimedPublish::now(PublishRequest {
            qos: command.qos,
            ..PublishRequest::new(command.topic.clone(), payload.as_bytes())
        })]
    }

    fn on_connected(&mut self, now: u64) -> Vec<PublishRequest> {
        self.last_birth = Some(now);
        vec![PublishRequest::new(
            format!("{}/status", self.prefix),
            "online",
        )]
    }
}

/// The levels of a config topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConfigTopic<'a> {
    component: &'a str,
    node: Option<&'a str>,
    object: &'a str,
}

impl<'a> ConfigTopic<'a> {
    /// `homeassistant/<component>/[<node_id>/]<object_id>/config`, the ids
    /// "only of characters from the character class `[a-zA-Z0-9_-]`".
    fn parse(prefix: &str, topic: &'a str) -> Option<Self> {
        let rest = topic
            .strip_prefix(prefix)?
            .strip_prefix('/')?
            .strip_suffix("/config")?;
        let mut levels = rest.split('/');
        let component = levels.next()?;
        let first = levels.next()?;
        let second = levels.next();
        if levels.next().is_some() {
            return None;
        }
        let (node, object) = match second {
            Some(object) => (Some(first), object),
            None => (None, first),
        };
        let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (!component.is_empty()
            && component.len() <= 32
            && word(component)
            && valid_level(object)
            && node.is_none_or(valid_level))
        .then_some(Self {
            component,
            node,
            object,
        })
    }
}

/// A node, object or component id: `[a-zA-Z0-9_-]+`, short enough for a
/// device id.
fn valid_level(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Entity {
    /// The entity a config describes, if a tile can show it; `None` for
    /// other components, and configs missing what they need.
    /// `object` is its own id (the object id, or the component's id in a
    /// device config): the outlet's name if neither it nor its device has
    /// one, so that the tile shows the outlet before its first state.
    fn from_config(
        component: &str,
        config: &Map<String, Value>,
        at: &ConfigTopic<'_>,
        object: &str,
    ) -> Option<Self> {
        // Zigbee2MQTT announces its devices to Home Assistant too; the
        // Zigbee2MQTT adapter shows them already (once, not twice).
        let origin = field(config, "origin", "o").and_then(Value::as_object);
        if origin
            .and_then(|o| field(o, "name", "name"))
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("zigbee2mqtt"))
        {
            return None;
        }
        let base = text(config, "~", "~");
        let mut notes = Vec::new();
        let state_topic = topic_field(config, base, "state_topic", "stat_t").ok()?;
        let (role, template) = match component {
            "switch" | "light" => {
                let (switch, template) = switch(component, config, base, &mut notes)?;
                if state_topic.is_none() {
                    notes.push(format!(
                        "{} reports no state: switching it cannot be confirmed",
                        switch.name.as_deref().unwrap_or(object)
                    ));
                }
                (Role::Outlet(switch), template)
            }
            "sensor" => {
                state_topic.as_ref()?;
                let (quantity, scale) = meter(config)?;
                let template = Template::parse(text(config, "value_template", "val_tpl"));
                let role = Role::Meter {
                    quantity,
                    scale,
                    last: None,
                };
                (role, template)
            }
            "binary_sensor" => {
                state_topic.as_ref()?;
                let template = Template::parse(text(config, "value_template", "val_tpl"));
                let on = text(config, "payload_on", "pl_on")
                    .unwrap_or("ON")
                    .to_owned();
                let off = text(config, "payload_off", "pl_off")
                    .unwrap_or("OFF")
                    .to_owned();
                let class = text(config, "device_class", "dev_cla").map(|c| clip(c, 32));
                let name = field(config, "name", "name")
                    .and_then(scalar)
                    .or_else(|| class.clone())
                    .unwrap_or_else(|| object.to_owned());
                let role = Role::Flag {
                    name: clip(&name, MAX_NAME_LEN),
                    class,
                    on: clip(&on, MAX_PAYLOAD_LEN),
                    off: clip(&off, MAX_PAYLOAD_LEN),
                };
                (role, template)
            }
            _ => return None,
        };
        let availability = availability(config, base);
        let mode = match text(config, "availability_mode", "avty_mode") {
            Some("all") => Mode::All,
            Some("any") => Mode::Any,
            _ => Mode::Latest,
        };
        let unsupported = std::iter::once(&template)
            .chain(availability.iter().map(|a| &a.template))
            .filter_map(|t| match t {
                Template::Unsupported(quote) => Some(quote.clone()),
                _ => None,
            })
            .collect::<BTreeSet<_>>();
        // Said first: it explains values that look wrong.
        for (i, quote) in unsupported.into_iter().enumerate() {
            notes.insert(i, format!("template not supported: {quote}"));
        }
        let expire_ms = match &role {
            Role::Meter { .. } => field(config, "expire_after", "exp_aft")
                .and_then(Value::as_u64)
                .filter(|s| *s > 0)
                .map(|s| s.saturating_mul(1_000)),
            Role::Outlet(_) | Role::Flag { .. } => None,
        };
        let device = field(config, "device", "dev").and_then(Value::as_object);
        let device_name = device
            .and_then(|d| field(d, "name", "name"))
            .and_then(scalar)
            .map(|n| clip(&n, MAX_NAME_LEN));
        let mut role = role;
        if let Role::Outlet(switch) = &mut role {
            if switch.name.is_none() {
                switch.name = Some(device_name.clone().unwrap_or_else(|| object.to_owned()));
            }
        }
        Some(Self {
            device: device_id(device, at)?,
            device_name,
            role,
            state_topic,
            template,
            availability,
            mode,
            latest: None,
            expire_ms,
            notes,
        })
    }

    /// Its topics and what it does with each.
    fn uses(&self) -> Vec<(&str, Use)> {
        let mut uses: Vec<(&str, Use)> = Vec::new();
        uses.extend(self.state_topic.as_deref().map(|t| (t, Use::State)));
        uses.extend(
            self.availability
                .iter()
                .map(|a| (a.topic.as_str(), Use::Availability)),
        );
        if let Role::Outlet(Switch {
            command: Some(command),
            ..
        }) = &self.role
        {
            uses.push((command.topic.as_str(), Use::Command));
        }
        uses.sort_unstable();
        uses.dedup();
        uses
    }

    /// Available as its `availability_mode` combines what its topics said;
    /// `None` until one of them said something.
    fn available(&self) -> Option<bool> {
        let heard = || self.availability.iter().filter_map(|a| a.heard);
        heard().next()?;
        match self.mode {
            Mode::Latest => self.latest,
            Mode::All => Some(self.availability.iter().all(|a| a.heard == Some(true))),
            Mode::Any => Some(heard().any(|word| word)),
        }
    }
}

/// A switch or on/off light, with the template of its state; `None` if its
/// payloads cannot be used.
fn switch(
    component: &str,
    config: &Map<String, Value>,
    base: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<(Switch, Template)> {
    let payload = |long: &str, short: &str, default: &str| -> Option<String> {
        match field(config, long, short) {
            None => Some(default.to_owned()),
            Some(value) => scalar(value).filter(|p| p.len() <= MAX_PAYLOAD_LEN),
        }
    };
    let name = text(config, "name", "name").map(|n| clip(n, MAX_NAME_LEN));
    let command_topic = topic_field(config, base, "command_topic", "cmd_t").ok()?;
    let json = component == "light" && text(config, "schema", "schema") == Some("json");
    let (on, off, state_on, state_off, template) = if json {
        // JSON-schema light: `{"state": "ON", "brightness": 255}` both ways.
        let on = r#"{"state":"ON"}"#.to_owned();
        let off = r#"{"state":"OFF"}"#.to_owned();
        let template = Template::Path(vec![Step::Key("state".into())]);
        (on, off, "ON".to_owned(), "OFF".to_owned(), template)
    } else {
        if component == "light"
            && text(config, "schema", "schema").is_some_and(|s| !matches!(s, "default" | "basic"))
        {
            return None;
        }
        let on = payload("payload_on", "pl_on", "ON")?;
        let off = payload("payload_off", "pl_off", "OFF")?;
        let state_on = payload("state_on", "stat_on", &on)?;
        let state_off = payload("state_off", "stat_off", &off)?;
        let template = if component == "light" {
            Template::parse(text(config, "state_value_template", "stat_val_tpl"))
        } else {
            Template::parse(text(config, "value_template", "val_tpl"))
        };
        (on, off, state_on, state_off, template)
    };
    let mut command = command_topic.map(|topic| Command {
        topic,
        on,
        off,
        qos: match field(config, "qos", "qos").and_then(Value::as_u64) {
            Some(1 | 2) => QoS::AtLeastOnce,
            _ => QoS::AtMostOnce,
        },
    });
    if let Some(template) = text(config, "command_template", "cmd_tpl") {
        if command.is_some() && Template::parse(Some(template)) != Template::Raw {
            notes.push(format!(
                "command template not supported: {}",
                clip(template, MAX_QUOTE_LEN)
            ));
            command = None;
        }
    }
    let switch = Switch {
        index: 0,
        name,
        command,
        state_on,
        state_off,
    };
    Some((switch, template))
}

/// What a sensor measures, and the factor to the tile's unit (W, kWh, V,
/// A): from its device class and unit; from its unit alone if it has no
/// class.
fn meter(config: &Map<String, Value>) -> Option<(Quantity, f64)> {
    let class = text(config, "device_class", "dev_cla");
    let unit = text(config, "unit_of_measurement", "unit_of_meas").map(|u| {
        Some(match u.trim() {
            "W" => (Quantity::Power, 1.0),
            "kW" => (Quantity::Power, 1_000.0),
            "Wh" => (Quantity::Energy, 0.001),
            "kWh" => (Quantity::Energy, 1.0),
            "MWh" => (Quantity::Energy, 1_000.0),
            "V" => (Quantity::Voltage, 1.0),
            "mV" => (Quantity::Voltage, 0.001),
            "A" => (Quantity::Current, 1.0),
            "mA" => (Quantity::Current, 0.001),
            _ => return None,
        })
    });
    let Some(class) = class else {
        return unit.flatten();
    };
    let quantity = match class {
        "power" => Quantity::Power,
        "energy" => Quantity::Energy,
        "voltage" => Quantity::Voltage,
        "current" => Quantity::Current,
        _ => return None,
    };
    match unit {
        // No unit: the tile's own.
        None => Some((quantity, 1.0)),
        Some(Some((q, scale))) if q == quantity => Some((quantity, scale)),
        Some(_) => None,
    }
}

/// The availability topics of a config: `availability_topic`, then the
/// `availability` list.
fn availability(config: &Map<String, Value>, base: Option<&str>) -> Vec<Availability> {
    let entry = |entry: &Map<String, Value>, long: &str, short: &str, template: (&str, &str)| {
        let topic = topic_field(entry, base, long, short).ok()??;
        let payload = |long: &str, short: &str, default: &str| match field(entry, long, short) {
            None => Some(default.to_owned()),
            Some(v) => scalar(v).filter(|p| p.len() <= MAX_PAYLOAD_LEN),
        };
        Some(Availability {
            topic,
            available: payload("payload_available", "pl_avail", "online")?,
            not_available: payload("payload_not_available", "pl_not_avail", "offline")?,
            template: Template::parse(text(entry, template.0, template.1)),
            heard: None,
        })
    };
    let mut list = Vec::new();
    list.extend(entry(
        config,
        "availability_topic",
        "avty_t",
        ("availability_template", "avty_tpl"),
    ));
    if let Some(Value::Array(entries)) = field(config, "availability", "avty") {
        list.extend(
            entries
                .iter()
                .filter_map(Value::as_object)
                .take(MAX_AVAILABILITY)
                .filter_map(|e| entry(e, "topic", "t", ("value_template", "val_tpl"))),
        );
    }
    list.truncate(MAX_AVAILABILITY);
    list
}

/// The device an entity belongs to: the first of the `device` block's
/// `identifiers`, else its first connection's value, else the node id,
/// else the object id.
fn device_id(device: Option<&Map<String, Value>>, at: &ConfigTopic<'_>) -> Option<String> {
    let valid = |id: &String| {
        !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.trim() == id
            && !id.chars().any(char::is_control)
    };
    if let Some(device) = device {
        let first = match field(device, "identifiers", "ids") {
            Some(Value::Array(ids)) => ids.first(),
            other => other,
        };
        if let Some(id) = first.and_then(scalar).filter(valid) {
            return Some(id);
        }
        let connection = field(device, "connections", "cns")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .and_then(Value::as_array)
            .and_then(|pair| pair.get(1))
            .and_then(scalar);
        if let Some(id) = connection.filter(valid) {
            return Some(id);
        }
    }
    Some(at.node.unwrap_or(at.object).to_owned())
}

impl Switch {
    /// The state a (templated) state value says, if either.
    fn power(&self, value: &str) -> Option<Power> {
        let is = |want: &str| value == want || value.trim() == want.trim();
        if is(&self.state_on) {
            Some(Power::On)
        } else if is(&self.state_off) {
            Some(Power::Off)
        } else {
            None
        }
    }
}

impl Availability {
    fn word(&self, value: &str) -> Option<bool> {
        let is = |want: &str| value == want || value.trim() == want.trim();
        if is(&self.available) {
            Some(true)
        } else if is(&self.not_available) {
            Some(false)
        } else {
            None
        }
    }
}

impl Template {
    fn parse(template: Option<&str>) -> Self {
        match template {
            None => Self::Raw,
            Some(text) => {
                path(text).unwrap_or_else(|| Self::Unsupported(clip(text.trim(), MAX_QUOTE_LEN)))
            }
        }
    }

    /// What the template makes of a payload, rendered as Jinja would;
    /// `None` if the path is not in it. `json` caches the parsed payload.
    fn apply<'t>(
        &self,
        payload: &'t str,
        json: &mut Option<Option<Value>>,
    ) -> Option<Cow<'t, str>> {
        let steps = match self {
            Self::Raw | Self::Unsupported(_) => return Some(Cow::Borrowed(payload)),
            Self::Path(steps) => steps,
        };
        let parsed = json
            .get_or_insert_with(|| serde_json::from_str(payload.trim()).ok())
            .as_ref()?;
        let mut value = parsed;
        for step in steps {
            value = match (step, value) {
                (Step::Key(key), Value::Object(object)) => object.get(key)?,
                (Step::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        render(value).map(Cow::Owned)
    }
}

/// `{{ value }}` or `{{ value_json<path> }}`, the path of `.name`, `.0`,
/// `['name']`, `["name"]` and `[0]` steps, whitespace-tolerant.
fn path(template: &str) -> Option<Template> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    // `{{-` and `-}}` only control whitespace around the output.
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner).trim();
    if inner == "value" {
        return Some(Template::Raw);
    }
    let mut rest = inner.strip_prefix("value_json")?;
    let mut steps = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(Template::Path(steps));
        }
        if steps.len() >= MAX_STEPS {
            return None;
        }
        if let Some(after) = rest.strip_prefix('.') {
            let after = after.trim_start();
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..end];
            let step = if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                Step::Index(name.parse().ok()?)
            } else if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                Step::Key(name.to_owned())
            } else {
                return None;
            };
            steps.push(step);
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let after = after.trim_start();
            let (step, after) = match after.chars().next() {
                Some(quote @ ('\'' | '"')) => {
                    let body = &after[1..];
                    let close = body.find(quote)?;
                    let key = &body[..close];
                    if key.contains('\\') {
                        return None;
                    }
                    (Step::Key(key.to_owned()), &body[close + 1..])
                }
                _ => {
                    let end = after
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(after.len());
                    (Step::Index(after[..end].parse().ok()?), &after[end..])
                }
            };
            steps.push(step);
            rest = after.trim_start().strip_prefix(']')?;
        } else {
            return None;
        }
    }
}

/// A config field by its full or its abbreviated name; `null` is absent.
fn field<'a>(config: &'a Map<String, Value>, long: &str, short: &str) -> Option<&'a Value> {
    config
        .get(long)
        .or_else(|| config.get(short))
        .filter(|v| !v.is_null())
}

fn text<'a>(config: &'a Map<String, Value>, long: &str, short: &str) -> Option<&'a str> {
    field(config, long, short)?.as_str()
}

/// A `…_topic` field with `~` expanded: `Ok(None)` if absent, `Err` if it
/// is not a topic this adapter can use (a wildcard, too long, …).
fn topic_field(
    config: &Map<String, Value>,
    base: Option<&str>,
    long: &str,
    short: &str,
) -> Result<Option<String>, ()> {
    let Some(value) = field(config, long, short) else {
        return Ok(None);
    };
    let mut topic = value.as_str().ok_or(())?.to_owned();
    if let Some(base) = base {
        if let Some(rest) = topic.strip_prefix('~') {
            topic = format!("{base}{rest}");
        }
        if let Some(rest) = topic.strip_suffix('~') {
            topic = format!("{rest}{base}");
        }
    }
    if topic.len() > MAX_TOPIC_LEN || !is_valid_topic_name(&topic) {
        return Err(());
    }
    Ok(Some(topic))
}

/// A JSON value as Jinja prints it (`True`, `12.5`, `None`); `None` for
/// arrays and objects.
fn render(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Null => Some("None".into()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A string, number or boolean as text; `None` for anything else.
fn scalar(value: &Value) -> Option<String> {
    render(value).filter(|_| !value.is_null())
}

fn number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn merge(out: &mut Output, more: Output) {
    out.changes.extend(more.changes);
    out.publish.extend(more.publish);
    for topic in more.subscribe {
        if !out.subscribe.contains(&topic) {
            out.subscribe.push(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The adapter on its own: learned topics, templates, availability,
    //! bounds.

    use super::*;

    fn config(ha: &mut HomeAssistant, topic: &str, json: &str) -> Output {
        ha.handle(topic, json.as_bytes(), true, 0)
    }

    fn state(ha: &mut HomeAssistant, topic: &str, payload: &str) -> Vec<Change> {
        ha.handle(topic, payload.as_bytes(), false, 0).changes
    }

    fn outlet(id: &str, index: u8, power: Power) -> Change {
        Change::Outlet {
            id: id.into(),
            index,
            power,
        }
    }

    fn readings(changes: &[Change]) -> Vec<Readings> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Readings { readings, .. } => Some(*readings),
                _ => None,
            })
            .collect()
    }

    /// The MQTT Discovery page's "Using abbreviations and base topic".
    #[test]
    fn the_documented_abbreviated_switch_hears_its_state_topic() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/irrigation/config",
            r#"{"~": "homeassistant/switch/irrigation", "name": "garden", "cmd_t": "~/set", "stat_t": "~/state"}"#,
        );
        assert_eq!(
            ha.wanted_topics(),
            [
                "homeassistant/switch/irrigation/set",
                "homeassistant/switch/irrigation/state"
            ]
        );
        assert!(ha.hears("homeassistant/switch/irrigation/state"));
        assert_eq!(
            state(&mut ha, "homeassistant/switch/irrigation/state", "ON"),
            [outlet("irrigation", 1, Power::On)]
        );
        assert_eq!(
            state(&mut ha, "homeassistant/switch/irrigation/state", "OFF"),
            [outlet("irrigation", 1, Power::Off)]
        );
        assert!(state(&mut ha, "homeassistant/switch/irrigation/state", "None").is_empty());
        assert!(state(&mut ha, "unrelated/topic", "ON").is_empty());
    }

    #[test]
    fn the_base_topic_is_replaced_at_either_end_only() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/tilde/config",
            r#"{"~":"base/x","cmd_t":"set/~","stat_t":"a/~/b","avty_t":"~"}"#,
        );
        // In the middle, `~` is just a character.
        assert_eq!(ha.wanted_topics(), ["a/~/b", "base/x", "set/base/x"]);
        // Without a base, it is one at either end too.
        config(
            &mut ha,
            "homeassistant/switch/tilde/config",
            r#"{"cmd_t":"~/set"}"#,
        );
        assert_eq!(ha.wanted_topics(), ["~/set"]);
    }

    #[test]
    fn state_on_and_off_differ_from_the_payloads() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/gpio13/config",
            r#"{"name":"bathroom","state_topic":"home/bathroom/gpio/13","command_topic":"home/bathroom/gpio/13/set","payload_on":"1","payload_off":"0","state_on":"high","state_off":"low"}"#,
        );
        assert_eq!(
            state(&mut ha, "home/bathroom/gpio/13", "high"),
            [outlet("gpio13", 1, Power::On)]
        );
        assert!(state(&mut ha, "home/bathroom/gpio/13", "1").is_empty());
        // Without state_on/off, the payloads are the states.
        config(
            &mut ha,
            "homeassistant/switch/gpio13/config",
            r#"{"stat_t":"home/bathroom/gpio/13","pl_on":1,"pl_off":0}"#,
        );
        assert_eq!(
            state(&mut ha, "home/bathroom/gpio/13", "0"),
            [outlet("gpio13", 1, Power::Off)]
        );
    }

    /// The conventions reference's Tasmota-style power sensor, and its
    /// siblings on the same state topic.
    #[test]
    fn sensors_on_one_topic_become_one_reading() {
        let mut ha = HomeAssistant::default();
        for (object, class, unit, key) in [
            ("power", "power", "W", "Power"),
            ("voltage", "voltage", "V", "Voltage"),
            ("current", "current", "mA", "Current"),
            ("energy", "energy", "Wh", "Total"),
        ] {
            let json = format!(
                r#"{{"name":"Outlet {object}","unique_id":"tasmota_ABC123_{object}","device_class":"{class}","unit_of_measurement":"{unit}","state_class":"measurement","state_topic":"tele/tasmota_ABC123/SENSOR","value_template":"{{{{ value_json.ENERGY.{key} }}}}","device":{{"identifiers":["ABC123"]}}}}"#
            );
            config(
                &mut ha,
                &format!("homeassistant/sensor/tasmota_ABC123_{object}/config"),
                &json,
            );
        }
        assert_eq!(ha.wanted_topics(), ["tele/tasmota_ABC123/SENSOR"]);
        let changes = state(
            &mut ha,
            "tele/tasmota_ABC123/SENSOR",
            r#"{"Time":"2024-01-01T00:00:00","ENERGY":{"Total":1234.5,"Power":12.5,"Voltage":230,"Current":54}}"#,
        );
        assert_eq!(
            readings(&changes),
            [Readings {
                power_w: Some(12.5),
                voltage_v: Some(230.0),
                current_a: Some(0.054),
                energy_total_kwh: Some(1.2345),
                ..Readings::default()
            }]
        );
        assert!(changes.iter().all(|c| c.id() == "ABC123"));
    }

    #[test]
    fn units_are_converted_and_unknown_ones_ignored() {
        for (class, unit, payload, want) in [
            (Some("power"), Some("kW"), "1.5", Some(1500.0)),
            (Some("power"), None, "7", Some(7.0)),
            (None, Some("W"), "7", Some(7.0)),
            (Some("energy"), Some("kWh"), "2", Some(2.0)),
            (Some("current"), Some("A"), "0.5", Some(0.5)),
            (Some("power"), Some("VA"), "7", None),
            (Some("power"), Some("V"), "7", None),
            (Some("temperature"), Some("°C"), "21", None),
            (None, None, "21", None),
        ] {
            let mut ha = HomeAssistant::default();
            let mut json = serde_json::json!({"state_topic": "m/state"});
            if let Some(class) = class {
                json["dev_cla"] = class.into();
            }
            if let Some(unit) = unit {
                json["unit_of_meas"] = unit.into();
            }
            config(&mut ha, "homeassistant/sensor/m/config", &json.to_string());
            let got = readings(&state(&mut ha, "m/state", payload));
            let value = got.first().and_then(|r| {
                r.power_w
                    .or(r.energy_total_kwh)
                    .or(r.current_a)
                    .or(r.voltage_v)
            });
            assert_eq!(value, want, "{class:?} {unit:?}");
        }
    }

    #[test]
    fn power_sensors_of_one_device_add_up() {
        let mut ha = HomeAssistant::default();
        for n in [1, 2] {
            config(
                &mut ha,
                &format!("homeassistant/sensor/strip/power{n}/config"),
                &format!(r#"{{"dev_cla":"power","unit_of_meas":"W","stat_t":"strip/power{n}"}}"#),
            );
        }
        state(&mut ha, "strip/power1", "10");
        let changes = state(&mut ha, "strip/power2", "5.5");
        assert_eq!(readings(&changes)[0].power_w, Some(15.5));
        assert_eq!(changes[0].id(), "strip");
    }

    #[test]
    fn template_forms() {
        let path = |t: &str| Template::parse(Some(t));
        let key = |k: &str| Step::Key(k.into());
        assert_eq!(path("{{ value_json.x }}"), Template::Path(vec![key("x")]));
        assert_eq!(
            path("{{value_json.x.y}}"),
            Template::Path(vec![key("x"), key("y")])
        );
        assert_eq!(
            path("  {{  value_json [ 'x' ] [\"y z\"]  }} "),
            Template::Path(vec![key("x"), key("y z")])
        );
        assert_eq!(
            path("{{ value_json.x[1] }}"),
            Template::Path(vec![key("x"), Step::Index(1)])
        );
        assert_eq!(path("{{- value -}}"), Template::Raw);
        for unsupported in [
            "{{ value_json.x | float }}",
            "{{ value_json.aenergy.total / 1000 }}",
            "{% if value_json.on %}ON{% else %}OFF{% endif %}",
            "{{ value_json['x }}",
            "{{ value_json. }}",
            "{{ value_jsonx }}",
            "{{ value_json.a.b.c.d.e.f.g.h.i }}",
        ] {
            assert!(
                matches!(path(unsupported), Template::Unsupported(_)),
                "{unsupported}"
            );
        }
    }

    #[test]
    fn templates_pick_from_the_json_and_render_like_jinja() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/plug/config",
            r#"{"stat_t":"plug/state","val_tpl":"{{ value_json['POWER'] }}","stat_on":"True","stat_off":"False","cmd_t":"plug/set"}"#,
        );
        assert_eq!(
            state(&mut ha, "plug/state", r#"{"POWER":true}"#),
            [outlet("plug", 1, Power::On)]
        );
        assert!(state(&mut ha, "plug/state", r#"{"OTHER":true}"#).is_empty());
        assert!(state(&mut ha, "plug/state", "not json").is_empty());
    }

    #[test]
    fn an_unsupported_template_is_noted_and_the_raw_value_used() {
        let mut ha = HomeAssistant::default();
        let out = config(
            &mut ha,
            "homeassistant/sensor/p/config",
            r#"{"dev_cla":"power","stat_t":"p/w","val_tpl":"{{ value | float * 2 }}"}"#,
        );
        assert!(out.changes.contains(&Change::Note {
            id: "p".into(),
            note: "template not supported: {{ value | float * 2 }}".into()
        }));
        assert_eq!(
            readings(&state(&mut ha, "p/w", "21"))[0].power_w,
            Some(21.0)
        );
    }

    #[test]
    fn availability_latest_by_default() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","avty":[{"t":"s/lwt","pl_avail":"Online","pl_not_avail":"Offline"},{"topic":"bridge/state","value_template":"{{ value_json.state }}"}]}"#,
        );
        let online = |changes: Vec<Change>| {
            changes.into_iter().find_map(|c| match c {
                Change::Online { online, .. } => Some(online),
                _ => None,
            })
        };
        assert_eq!(online(state(&mut ha, "s/lwt", "Online")), Some(true));
        assert_eq!(
            online(state(&mut ha, "bridge/state", r#"{"state":"offline"}"#)),
            Some(false)
        );
        assert_eq!(online(state(&mut ha, "s/lwt", "Online")), Some(true));
        assert_eq!(online(state(&mut ha, "s/lwt", "maybe")), None);
    }

    #[test]
    fn availability_all_and_any() {
        let online = |mode: &str, messages: &[(&str, &str)]| {
            let mut ha = HomeAssistant::default();
            let json = format!(
                r#"{{"cmd_t":"s/set","avty_mode":"{mode}","avty":[{{"t":"a"}},{{"t":"b"}}]}}"#
            );
            config(&mut ha, "homeassistant/switch/s/config", &json);
            let mut last = None;
            for (topic, payload) in messages {
                for change in state(&mut ha, topic, payload) {
                    if let Change::Online { online, .. } = change {
                        last = Some(online);
                    }
                }
            }
            last
        };
        assert_eq!(online("all", &[("a", "online")]), Some(false));
        assert_eq!(
            online("all", &[("a", "online"), ("b", "online")]),
            Some(true)
        );
        assert_eq!(
            online("all", &[("a", "online"), ("b", "online"), ("a", "offline")]),
            Some(false)
        );
        assert_eq!(
            online("any", &[("a", "online"), ("b", "offline")]),
            Some(true)
        );
        assert_eq!(online("any", &[("a", "offline")]), Some(false));
        assert_eq!(
            online("latest", &[("a", "online"), ("b", "offline")]),
            Some(false)
        );
    }

    #[test]
    fn a_retained_command_is_flagged_and_cleared() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","stat_t":"s/state"}"#,
        );
        let flag = |present| {
            vec![Change::RetainedCommand {
                id: "s".into(),
                topic: "s/set".into(),
                present,
            }]
        };
        assert_eq!(ha.handle("s/set", b"ON", true, 0).changes, flag(true));
        assert_eq!(ha.handle("s/set", b"", true, 0).changes, flag(false));
        // Our own (or anyone's) live command is no ghost.
        assert!(ha.handle("s/set", b"ON", false, 0).changes.is_empty());
    }

    #[test]
    fn removal_forgets_the_topics() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","stat_t":"s/state"}"#,
        );
        let version = ha.topics_version();
        let out = ha.handle("homeassistant/switch/s/config", b"", true, 0);
        assert_eq!(
            out.changes,
            [
                Change::OutletRemoved {
                    id: "s".into(),
                    index: 1
                },
                Change::Removed { id: "s".into() }
            ]
        );
        assert!(ha.wanted_topics().is_empty());
        assert_ne!(ha.topics_version(), version);
        assert!(state(&mut ha, "s/state", "ON").is_empty());
    }

    #[test]
    fn a_json_light_is_switched_with_json() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/light/kitchen/config",
            r#"{"~":"homeassistant/light/kitchen","name":"Kitchen","unique_id":"kitchen_light","cmd_t":"~/set","stat_t":"~/state","schema":"json","brightness":true}"#,
        );
        assert_eq!(
            state(
                &mut ha,
                "homeassistant/light/kitchen/state",
                r#"{"state": "ON", "brightness": 255}"#
            ),
            [outlet("kitchen", 1, Power::On)]
        );
        let steps = ha.action("kitchen", 1, Action::Off, 0);
        assert_eq!(steps[0].request.topic, "homeassistant/light/kitchen/set");
        assert_eq!(steps[0].request.payload, br#"{"state":"OFF"}"#);
        // The template schema is not on/off only.
        let out = config(
            &mut ha,
            "homeassistant/light/kitchen/config",
            r#"{"cmd_t":"k/set","schema":"template","command_on_template":"on"}"#,
        );
        assert!(out.changes.contains(&Change::Removed {
            id: "kitchen".into()
        }));
    }

    #[test]
    fn device_based_discovery_shares_options_among_components() {
        let mut ha = HomeAssistant::default();
        let out = config(
            &mut ha,
            "homeassistant/device/strip/config",
            r#"{"dev":{"ids":"strip01","name":"Strip"},"o":{"name":"fw"},"stat_t":"strip/state",
                "cmps":{"l1":{"p":"switch","cmd_t":"strip/l1/set","val_tpl":"{{ value_json.l1 }}"},
                        "l2":{"p":"switch","cmd_t":"strip/l2/set","val_tpl":"{{ value_json.l2 }}"},
                        "w":{"p":"sensor","dev_cla":"power","val_tpl":"{{ value_json.power }}"},
                        "t":{"p":"sensor","dev_cla":"temperature"}}}"#,
        );
        assert!(out.changes.contains(&Change::Named {
            id: "strip01".into(),
            name: "Strip".into()
        }));
        assert_eq!(
            out.subscribe,
            ["strip/l1/set", "strip/state", "strip/l2/set"],
            "each once"
        );
        let changes = state(
            &mut ha,
            "strip/state",
            r#"{"l1":"ON","l2":"OFF","power":3}"#,
        );
        assert!(changes.contains(&outlet("strip01", 1, Power::On)));
        assert!(changes.contains(&outlet("strip01", 2, Power::Off)));
        assert_eq!(readings(&changes)[0].power_w, Some(3.0));
        // A component left out of an update goes.
        let out = config(
            &mut ha,
            "homeassistant/device/strip/config",
            r#"{"dev":{"ids":"strip01"},"stat_t":"strip/state","cmps":{"l2":{"p":"switch","cmd_t":"strip/l2/set","val_tpl":"{{ value_json.l2 }}"}}}"#,
        );
        assert!(out.changes.contains(&Change::OutletRemoved {
            id: "strip01".into(),
            index: 1
        }));
        assert_eq!(
            ha.switches_of("strip01")
                .map(|s| s.index)
                .collect::<Vec<_>>(),
            [2]
        );
        let out = ha.handle("homeassistant/device/strip/config", b"", true, 0);
        assert_eq!(
            out.changes.last(),
            Some(&Change::Removed {
                id: "strip01".into()
            })
        );
        assert!(ha.entities.is_empty() && ha.topics.is_empty() && ha.devices.is_empty());
    }

    #[test]
    fn an_entity_moving_to_another_device_leaves_the_old_one() {
        let mut ha = HomeAssistant::default();
        config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","dev":{"ids":["old"]}}"#,
        );
        let out = config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","dev":{"ids":["new"]}}"#,
        );
        assert_eq!(
            out.changes[..3],
            [
                Change::OutletRemoved {
                    id: "old".into(),
                    index: 1
                },
                Change::Removed { id: "old".into() },
                Change::Seen { id: "new".into() },
            ]
        );
    }

    #[test]
    fn entities_and_topics_are_bounded() {
        let mut ha = HomeAssistant::default();
        for n in 0..MAX_ENTITIES + 10 {
            config(
                &mut ha,
                &format!("homeassistant/switch/s{n}/config"),
                r#"{"cmd_t":"all/set","stat_t":"all/state"}"#,
            );
        }
        assert_eq!(ha.entities.len(), MAX_ENTITIES);
        // Updating a known entity is still possible at the cap.
        let out = config(
            &mut ha,
            "homeassistant/switch/s0/config",
            r#"{"cmd_t":"all/set","stat_t":"all/state","name":"first"}"#,
        );
        assert!(!out.changes.is_empty());
        // Learned topics are bounded on their own.
        let mut ha = HomeAssistant::default();
        for n in 0..MAX_TOPICS {
            let out = config(
                &mut ha,
                &format!("homeassistant/switch/s{n}/config"),
                &format!(r#"{{"cmd_t":"s/{n}/set","stat_t":"s/{n}/state"}}"#),
            );
            if out.changes.is_empty() {
                break;
            }
            assert_eq!(
                out.subscribe,
                [format!("s/{n}/set"), format!("s/{n}/state")]
            );
        }
        assert_eq!(ha.topics.len(), MAX_TOPICS);
        assert_eq!(ha.wanted_topics().len(), MAX_TOPICS);
        // Outlets per device are bounded too.
        let mut ha = HomeAssistant::default();
        for n in 0..u16::from(MAX_OUTLETS) + 5 {
            config(
                &mut ha,
                &format!("homeassistant/switch/many/s{n}/config"),
                r#"{"cmd_t":"many/set"}"#,
            );
        }
        assert_eq!(ha.switches_of("many").count(), usize::from(MAX_OUTLETS));
    }

    #[test]
    fn hostile_configs_are_ignored() {
        let mut ha = HomeAssistant::default();
        let long_topic = format!(r#"{{"cmd_t":"{}"}}"#, "x".repeat(MAX_TOPIC_LEN + 1));
        let huge = format!(
            r#"{{"cmd_t":"s/set","name":"{}"}}"#,
            "x".repeat(MAX_CONFIG_LEN)
        );
        for (topic, payload) in [
            ("homeassistant/switch/s/config", "not json"),
            ("homeassistant/switch/s/config", "[1,2]"),
            ("homeassistant/switch/s/config", r#"{"cmd_t":"s/+/set"}"#),
            ("homeassistant/switch/s/config", r#"{"cmd_t":"s/#"}"#),
            ("homeassistant/switch/s/config", r#"{"cmd_t":42}"#),
            ("homeassistant/switch/s/config", &long_topic),
            ("homeassistant/switch/s/config", &huge),
            ("homeassistant/sensor/s/config", r#"{"dev_cla":"power"}"#),
            ("homeassistant/switch/s.x/config", r#"{"cmd_t":"s/set"}"#),
            ("homeassistant/switch/a/b/c/config", r#"{"cmd_t":"s/set"}"#),
            ("homeassistant/switch//config", r#"{"cmd_t":"s/set"}"#),
            (
                "homeassistant/binary_sensor/b/config",
                r#"{"name":"no state topic"}"#,
            ),
        ] {
            assert_eq!(
                ha.handle(topic, payload.as_bytes(), true, 0),
                Output::default(),
                "{topic} {payload:.40}"
            );
        }
        assert!(ha.entities.is_empty() && ha.topics.is_empty());
        // A too long or odd identifier falls back to the object id.
        let id = format!(
            r#"{{"cmd_t":"s/set","dev":{{"ids":["{}"]}}}}"#,
            "i".repeat(MAX_ID_LEN + 1)
        );
        let out = config(&mut ha, "homeassistant/switch/s/config", &id);
        assert_eq!(out.changes[0], Change::Seen { id: "s".into() });
        let out = config(
            &mut ha,
            "homeassistant/switch/s/config",
            r#"{"cmd_t":"s/set","dev":{"ids":[null],"cns":[["mac","02:5b:26:a8:dc:12"]]}}"#,
        );
        assert_eq!(
            out.changes[2],
            Change::Seen {
                id: "02:5b:26:a8:dc:12".into()
            }
        );
    }

    /// Configs, templates and states with bytes flipped, cut or repeated:
    /// whatever a broker sends, the adapter neither panics nor grows
    /// beyond its bounds.
    #[test]
    fn mangled_input_never_panics() {
        let seeds = [
            r#"{"~":"b/x","name":"n","cmd_t":"~/set","stat_t":"~/state","pl_on":"1","stat_off":"0","val_tpl":"{{ value_json['a'].b[0] }}","avty":[{"t":"~/lwt","val_tpl":"{{value_json.s}}"}],"avty_mode":"all","dev":{"ids":["d1"],"name":"D"}}"#,
            r#"{"dev_cla":"power","unit_of_meas":"kW","stat_t":"b/x/state","val_tpl":"{{ value_json.p }}","exp_aft":5,"dev":{"cns":[["mac","aa"]]}}"#,
            r#"{"dev":{"ids":"d1"},"stat_t":"b/x/state","cmps":{"a":{"p":"switch","cmd_t":"b/x/a"},"b":{"p":"light","schema":"json","cmd_t":"b/x/b"}}}"#,
        ];
        let topics = [
            "homeassistant/switch/x/config",
            "homeassistant/sensor/n/x/config",
            "homeassistant/device/x/config",
        ];
        let mut ha = HomeAssistant::default();
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..3_000 {
            let seed = seeds[round % seeds.len()].as_bytes();
            let mut bytes = seed.to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % bytes.len().max(1);
                match next() % 4 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes.truncate(at),
                    2 => bytes.insert(at, b"{}[]\"~'.\\\xff"[(next() % 10) as usize]),
                    _ => {
                        let tail = bytes[at..].to_vec();
                        bytes.extend_from_slice(&tail);
                    }
                }
            }
            let topic = topics[(next() as usize) % topics.len()];
            ha.handle(topic, &bytes, next() % 2 == 0, 0);
            for learned in ha.wanted_topics() {
                ha.handle(&learned, &bytes, next() % 2 == 0, 0);
                ha.handle(
                    &learned,
                    br#"{"a":{"b":[1]},"s":"online","p":"2","state":"ON"}"#,
                    false,
                    0,
                );
            }
            let _ = ha.action("d1", 1, Action::PowerCycle { off_ms: 1 }, 0);
            let _ = Template::parse(std::str::from_utf8(&bytes).ok());
        }
        assert!(ha.entities.len() <= MAX_ENTITIES && ha.topics.len() <= MAX_TOPICS);
        for key in ha.entities.keys().cloned().collect::<Vec<_>>() {
            ha.remove(&key);
        }
        assert!(ha.topics.is_empty() && ha.devices.is_empty());
    }

    #[test]
    fn expire_after_sets_a_period_that_stales_the_tile_when_it_expires() {
        let mut ha = HomeAssistant::default();
        let out = config(
            &mut ha,
            "homeassistant/sensor/p/config",
            r#"{"dev_cla":"power","stat_t":"p/w","exp_aft":90}"#,
        );
        assert!(out.changes.contains(&Change::Period {
            id: "p".into(),
            ms: 90_000 / STALE_PERIODS
        }));
    }
}
