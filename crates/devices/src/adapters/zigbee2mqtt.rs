//! Zigbee2MQTT plugs, under the default base topic `zigbee2mqtt`.
//!
//! From Zigbee2MQTT's MQTT topics, exposes and availability documentation,
//! as collected in the conventions reference §C4:
//! - `zigbee2mqtt/bridge/devices` (retained): every device, with
//!   `definition.exposes`; a plug has `{"type":"switch","features":[{"type":
//!   "binary","name":"state","property":"state","value_on":"ON","value_off":
//!   "OFF","value_toggle":"TOGGLE","access":7}]}`; multi-endpoint devices
//!   name the property `state_<endpoint>` (e.g. `state_l1`);
//! - `zigbee2mqtt/<friendly_name>`: always JSON state, e.g.
//!   `{"state":"ON","power":12.5,"voltage":230,"current":0.05,"energy":1.2}`;
//! - `zigbee2mqtt/<friendly_name>/availability`: `{"state":"online"}` since
//!   v2.0, `online` / `offline` before;
//! - command: `zigbee2mqtt/<friendly_name>/set` with `{"state":"ON"}`;
//!   `…/get` with `{"state":""}` asks for the state.
//!
//! Friendly names with `/` in them (Zigbee2MQTT allows nesting) are not
//! handled yet.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::adapter::{off_then_on, Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};

/// Zigbee2MQTT's default base topic.
pub(crate) const DEFAULT_BASE: &str = "zigbee2mqtt";

/// One switch property of a device: its name and its on/off values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Switch {
    property: String,
    value_on: String,
    value_off: String,
}

impl Switch {
    fn plain() -> Self {
        Self {
            property: "state".into(),
            value_on: "ON".into(),
            value_off: "OFF".into(),
        }
    }
}

/// The Zigbee2MQTT adapter: it learns each device's switches from
/// `bridge/devices`.
#[derive(Debug)]
pub(crate) struct Zigbee2Mqtt {
    /// The base topic (`zigbee2mqtt` unless the bridge is configured
    /// otherwise).
    base: String,
    switches: BTreeMap<String, Vec<Switch>>,
}

impl Default for Zigbee2Mqtt {
    fn default() -> Self {
        Self::with_base(DEFAULT_BASE)
    }
}

impl Zigbee2Mqtt {
    /// An adapter for a bridge publishing under `base`.
    pub(crate) fn with_base(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            switches: BTreeMap::new(),
        }
    }

    fn switches_of(&self, name: &str) -> Vec<Switch> {
        self.switches
            .get(name)
            .cloned()
            .unwrap_or_else(|| vec![Switch::plain()])
    }

    fn bridge_devices(&mut self, json: &Value) -> Output {
        let mut out = Output::default();
        let Some(devices) = json.as_array() else {
            return out;
        };
        for device in devices {
            let Some(name) = device.get("friendly_name").and_then(Value::as_str) else {
                continue;
            };
            if !valid_name(name) {
                continue;
            }
            let exposes = device
                .pointer("/definition/exposes")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let switches: Vec<Switch> = exposes
                .iter()
                .filter(|e| e.get("type").and_then(Value::as_str) == Some("switch"))
                .flat_map(|e| {
                    e.get("features")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter_map(switch_feature)
                .collect();
            if switches.is_empty() {
                continue;
            }
            let new = !self.switches.contains_key(name);
            if new && self.switches.len() >= MAX_TRACKED {
                continue;
            }
            self.switches.insert(name.to_owned(), switches);
            out.changes.push(Change::Seen {
                id: name.to_owned(),
            });
            if new {
                out.publish.push(PublishRequest::new(
                    format!("{}/{name}/get", self.base),
                    r#"{"state":""}"#,
                ));
            }
        }
        out
    }

    fn state(&self, name: &str, json: &Value) -> Output {
        let mut out = Output::default();
        let Some(object) = json.as_object() else {
            return out;
        };
        for (i, switch) in self.switches_of(name).iter().enumerate() {
            let Some(value) = object.get(&switch.property).and_then(Value::as_str) else {
                continue;
            };
            let power = if value == switch.value_on {
                Power::On
            } else if value == switch.value_off {
                Power::Off
            } else {
                continue;
            };
            out.changes.push(Change::Outlet {
                id: name.to_owned(),
                index: i as u8 + 1,
                power,
            });
        }
        let number = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite())
        };
        let readings = Readings {
            power_w: number("power"),
            voltage_v: number("voltage"),
            current_a: number("current"),
            energy_total_kwh: number("energy"),
            ..Readings::default()
        };
        if readings != Readings::default() {
            out.changes.push(Change::Readings {
                id: name.to_owned(),
                readings,
            });
        }
        out
    }
}

impl Adapter for Zigbee2Mqtt {
    fn family(&self) -> Family {
        Family::Zigbee2Mqtt
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}/bridge/devices", self.base),
            format!("{}/+", self.base),
            format!("{}/+/availability", self.base),
        ]
    }

    fn handle(&mut self, topic: &str, payload: &[u8], _retained: bool, _now: u64) -> Output {
        let Some(rest) = topic
            .strip_prefix(self.base.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            return Output::default();
        };
        let text = String::from_utf8_lossy(payload);
        let json: Option<Value> = serde_json::from_str(text.trim()).ok();
        if rest == "bridge/devices" {
            return json.map(|j| self.bridge_devices(&j)).unwrap_or_default();
        }
        match rest.split_once('/') {
            Some((name, "availability")) if valid_name(name) => {
                let state = json
                    .as_ref()
                    .and_then(|j| j.get("state")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| text.trim().to_owned());
                let online = match state.as_str() {
                    "online" => true,
                    "offline" => false,
                    _ => return Output::default(),
                };
                let mut out = Output::default();
                out.changes.push(Change::Online {
                    id: name.to_owned(),
                    online,
                });
                out
            }
            None if valid_name(rest) => json.map(|j| self.state(rest, &j)).unwrap_or_default(),
            _ => Output::default(),
        }
    }

    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish> {
        let switches = self.switches_of(id);
        let Some(switch) = switches.get(usize::from(index.saturating_sub(1))) else {
            return Vec::new();
        };
        let value = match action {
            Action::On => &switch.value_on,
            Action::Off => &switch.value_off,
            Action::PowerCycle { off_ms } => return off_then_on(self, id, index, off_ms, now),
        };
        let payload = serde_json::json!({ switch.property.as_str(): value }).to_string();
        vec![TimedPublish::now(PublishRequest::new(
            format!("{}/{id}/set", self.base),
            payload,
        ))]
    }
}

/// A `binary` feature named `state` or `state_<endpoint>` that can be set.
fn switch_feature(feature: &Value) -> Option<Switch> {
    let property = feature.get("property")?.as_str()?;
    let settable = feature.get("access").and_then(Value::as_u64).unwrap_or(7) & 2 != 0;
    if feature.get("type")?.as_str()? != "binary"
        || !(property == "state" || property.starts_with("state_"))
        || !settable
    {
        return None;
    }
    let text = |key: &str, default: &str| {
        feature
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    Some(Switch {
        property: property.to_owned(),
        value_on: text("value_on", "ON"),
        value_off: text("value_off", "OFF"),
    })
}

/// A friendly name usable as one topic level, and not the bridge's.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "bridge" && name.len() <= 128 && !name.contains(['/', '+', '#'])
}
