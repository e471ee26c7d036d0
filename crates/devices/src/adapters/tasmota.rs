//! Tasmota: `%prefix%/%topic%/` topics with the default FullTopic.
//!
//! - `tele/<t>/LWT`: `Online` / `Offline` (retained; the will).
//! - `stat/<t>/POWER` or `stat/<t>/POWER<n>`: `ON` / `OFF`.
//! - `stat/<t>/RESULT`: JSON such as `{"POWER":"ON"}` or `{"POWER2":"OFF"}`.
//! - `tele/<t>/STATE`: periodic JSON with every relay (`"POWER1":"ON", …`).
//! - `tele/<t>/SENSOR`: periodic JSON; on power-metering plugs an `ENERGY`
//!   object with `Power` (W), `Voltage` (V), `Current` (A), `Today` and
//!   `Total` (kWh). Sources: Tasmota's MQTT documentation (telemetry every
//!   `TelePeriod`), its HA-discovery log (pastebin XiaKgnUt) and issue
//!   arendst/Tasmota#1250's `STATUS8` payload, as collected in
//!   `reference/peers-and-device-conventions.md` §C1. Multi-channel meters
//!   send arrays (`"Power":[10,20]`): the tile shows their sum (the voltage:
//!   the first).
//! - Command: `cmnd/<t>/POWER<n>` with `ON`, `OFF` or `TOGGLE`. `cmnd/<t>/STATE`
//!   with an empty payload asks for the state of every relay (answered on
//!   `stat/<t>/RESULT`); an empty `POWER` would report relay 1 only.
//! - `cmnd/<t>/<command>` is watched too: a *retained* command there is
//!   repeated by the device at every reconnect and overrides PowerOnState,
//!   "the main cause for ghost switching" (Tasmota docs, §C1); it is
//!   flagged, and cleared by an empty retained message.
//! - Every device also listens on the group topic, default `tasmotas`:
//!   `cmnd/tasmotas/STATE` asks them all at once (sent after each connect).

use std::collections::{BTreeMap, BTreeSet};

use crate::adapter::{Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};

const SUBSCRIPTIONS: &[&str] = &[
    "tele/+/LWT",
    "tele/+/STATE",
    "tele/+/SENSOR",
    "stat/+/+",
    "cmnd/+/+",
    "tasmota/discovery/+/config",
    "tasmota/discovery/+/sensors",
];

/// The Tasmota adapter. It remembers which devices it has seen, to ask a
/// new one for its state once.
#[derive(Debug)]
pub(crate) struct Tasmota {
    /// The group topic every device listens on (`tasmotas` by default).
    group: String,
    known: BTreeSet<String>,
    /// When each device last sent `tele/<t>/STATE`: the gap between two
    /// is its `TelePeriod`.
    tele_at: BTreeMap<String, u64>,
    /// Native discovery: MAC → topic, to place `…/sensors` messages.
    macs: BTreeMap<String, String>,
}

/// Tasmota's default group topic.
pub(crate) const DEFAULT_GROUP: &str = "tasmotas";

impl Default for Tasmota {
    fn default() -> Self {
        Self::with_group(DEFAULT_GROUP)
    }
}

impl Tasmota {
    /// An adapter whose devices share the group topic `group`.
    pub(crate) fn with_group(group: &str) -> Self {
        Self {
            group: group.to_owned(),
            known: BTreeSet::new(),
            tele_at: BTreeMap::new(),
            macs: BTreeMap::new(),
        }
    }
}

impl Adapter for Tasmota {
    fn family(&self) -> Family {
        Family::Tasmota
    }

    fn subscriptions(&self) -> Vec<String> {
        SUBSCRIPTIONS.iter().map(|s| (*s).to_owned()).collect()
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, now: u64) -> Output {
        if let Some(rest) = topic.strip_prefix("cmnd/") {
            return retained_command(topic, rest, payload, retained, &self.group);
        }
        if let Some(rest) = topic.strip_prefix("tasmota/discovery/") {
            return self.discovery(rest, payload);
        }
        let Some(message) = parse(topic, payload) else {
            return Output::default();
        };
        let id = message.device.to_owned();
        let mut out = Output::default();
        self.ask_if_new(&id, &mut out);
        out.changes.push(Change::Seen { id: id.clone() });
        if topic.starts_with("tele/") && topic.ends_with("/STATE") {
            self.learn_period(&id, now, &mut out);
        }
        match message.kind {
            Kind::Online(online) => out.changes.push(Change::Online { id, online }),
            Kind::Power(states) => {
                for (index, power) in states {
                    out.changes.push(Change::Outlet {
                        id: id.clone(),
                        index,
                        power,
                    });
                }
                // A device that reports state is evidently online.
                out.changes.push(Change::Online { id, online: true });
            }
            Kind::Energy(readings) => out.changes.push(Change::Readings { id, readings }),
        }
        out
    }

    fn on_connected(&mut self, _now: u64) -> Vec<PublishRequest> {
        vec![query(&self.group)]
    }

    fn action(&self, id: &str, index: u8, action: Action, _now: u64) -> Vec<TimedPublish> {
        let want = match action {
            Action::On => Power::On,
            Action::Off => Power::Off,
            Action::PowerCycle { off_ms } => {
                // The device times the cycle itself (`Delay` is in tenths
                // of a second), so it completes even if the page closes.
                let tenths = off_ms.div_ceil(100).clamp(1, 36_000);
                let relay = power_topic(id, index);
                let relay = relay.rsplit('/').next().unwrap_or("POWER");
                return vec![TimedPublish::now(PublishRequest::new(
                    format!("cmnd/{id}/Backlog"),
                    format!("{relay} OFF; Delay {tenths}; {relay} ON"),
                ))];
            }
        };
        vec![TimedPublish::now(command(id, index, want))]
    }
}

impl Tasmota {
    /// A device seen for the first time is asked for its state, so its
    /// tile is not blank.
    fn ask_if_new(&mut self, id: &str, out: &mut Output) {
        if self.known.len() < MAX_TRACKED && !self.known.contains(id) {
            self.known.insert(id.to_owned());
            out.publish.push(query(id));
        }
    }

    /// `TelePeriod` is the gap between two `tele/<t>/STATE` (10 s to 1 h on
    /// Tasmota; a gap above an hour is a restart). Gaps from half a second
    /// count: arrival times jitter, so a 1 s period (a simulated plug's)
    /// often arrives as 990 ms; the dashboard shows nothing stale sooner
    /// than three seconds anyway.
    fn learn_period(&mut self, id: &str, now: u64, out: &mut Output) {
        let last = if self.tele_at.len() < MAX_TRACKED || self.tele_at.contains_key(id) {
            self.tele_at.insert(id.to_owned(), now)
        } else {
            None
        };
        if let Some(gap) = last.map(|t| now.saturating_sub(t)) {
            if (500..=3_600_000).contains(&gap) {
                out.changes.push(Change::Period {
                    id: id.to_owned(),
                    ms: gap,
                });
            }
        }
    }

    /// Native discovery (`SetOption19 0`): `tasmota/discovery/<MAC>/config`
    /// names the device (`dn`), its topic (`t`), its relays (`rl`, 1 = a
    /// relay) and their friendly names (`fn`); `…/sensors` carries a
    /// `SENSOR`-like `sn` object.
    fn discovery(&mut self, rest: &str, payload: &[u8]) -> Output {
        let mut out = Output::default();
        let Some((mac, leaf)) = rest.split_once('/') else {
            return out;
        };
        if leaf == "config" && payload.is_empty() {
            // The device's discovery was cleared (`SetOption19` switched,
            // or the device removed): its tile goes.
            if let Some(id) = self.macs.remove(mac) {
                self.known.remove(&id);
                self.tele_at.remove(&id);
                out.changes.push(Change::Removed { id });
            }
            return out;
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return out;
        };
        match leaf {
            "config" => {
                let Some(id) = json
                    .get("t")
                    .and_then(serde_json::Value::as_str)
                    .filter(|t| !t.is_empty() && !t.contains(['/', '+', '#']))
                else {
                    return out;
                };
                let id = id.to_owned();
                if self.macs.len() < MAX_TRACKED || self.macs.contains_key(mac) {
                    self.macs.insert(mac.to_owned(), id.clone());
                }
                self.ask_if_new(&id, &mut out);
                out.changes.push(Change::Seen { id: id.clone() });
                if let Some(name) = json.get("dn").and_then(serde_json::Value::as_str) {
                    out.changes.push(Change::Named {
                        id: id.clone(),
                        name: name.to_owned(),
                    });
                }
                let relays = json.get("rl").and_then(serde_json::Value::as_array);
                let names = json.get("fn").and_then(serde_json::Value::as_array);
                for (at, kind) in relays.into_iter().flatten().enumerate().take(32) {
                    if kind.as_u64() != Some(1) {
                        continue;
                    }
                    let name = names
                        .and_then(|n| n.get(at))
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default();
                    out.changes.push(Change::OutletNamed {
                        id: id.clone(),
                        index: at as u8 + 1,
                        name: name.to_owned(),
                    });
                }
                // A config comes from a running device.
                out.changes.push(Change::Online { id, online: true });
            }
            "sensors" => {
                let Some(id) = self.macs.get(mac).cloned() else {
                    return out;
                };
                if let Some(readings) = json
                    .get("sn")
                    .and_then(|sn| sn.get("ENERGY"))
                    .and_then(energy)
                {
                    out.changes.push(Change::Readings { id, readings });
                }
            }
            _ => {}
        }
        out
    }
}

/// A Tasmota message this adapter understands.
struct Message<'a> {
    device: &'a str,
    kind: Kind,
}

enum Kind {
    Online(bool),
    /// (relay index, state) pairs.
    Power(Vec<(u8, Power)>),
    /// A `SENSOR` report's `ENERGY`.
    Energy(Readings),
}

fn parse<'a>(topic: &'a str, payload: &[u8]) -> Option<Message<'a>> {
    let mut levels = topic.split('/');
    let (prefix, device, leaf) = (levels.next()?, levels.next()?, levels.next()?);
    if levels.next().is_some() || device.is_empty() {
        return None;
    }
    let payload = std::str::from_utf8(payload).ok()?.trim();
    let kind = match (prefix, leaf) {
        ("tele", "LWT") => match payload {
            "Online" => Kind::Online(true),
            "Offline" => Kind::Online(false),
            _ => return None,
        },
        ("stat", "RESULT") | ("tele", "STATE") => {
            let json: serde_json::Value = serde_json::from_str(payload).ok()?;
            let states: Vec<_> = json
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((power_index(k)?, power_state(v.as_str()?)?)))
                .collect();
            if states.is_empty() {
                return None;
            }
            Kind::Power(states)
        }
        ("tele", "SENSOR") => {
            let json: serde_json::Value = serde_json::from_str(payload).ok()?;
            Kind::Energy(energy(json.get("ENERGY")?)?)
        }
        ("stat", leaf) => Kind::Power(vec![(power_index(leaf)?, power_state(payload)?)]),
        _ => return None,
    };
    Some(Message { device, kind })
}

/// A message on `cmnd/<t>/<command>`: flags a retained one; an empty one
/// (the clearing, echoed back) unflags it. Live commands are nobody's news.
fn retained_command(
    topic: &str,
    rest: &str,
    payload: &[u8],
    retained: bool,
    group: &str,
) -> Output {
    let mut out = Output::default();
    let Some((id, command)) = rest.split_once('/') else {
        return out;
    };
    if id.is_empty() || id == group || command.contains('/') {
        return out;
    }
    let present = match (retained, payload.is_empty()) {
        (true, false) => true,
        (_, true) => false,
        (false, false) => return out,
    };
    out.changes.push(Change::RetainedCommand {
        id: id.to_owned(),
        topic: topic.to_owned(),
        present,
    });
    out
}

/// The readings of an `ENERGY` object; `None` if it has none.
fn energy(energy: &serde_json::Value) -> Option<Readings> {
    let energy = energy.as_object()?;
    // A number, or the channels of a multi-channel meter.
    let value = |key: &str, sum: bool| -> Option<f64> {
        match energy.get(key)? {
            serde_json::Value::Array(channels) => {
                let mut numbers = channels.iter().filter_map(serde_json::Value::as_f64);
                if sum {
                    Some(numbers.sum())
                } else {
                    numbers.next()
                }
            }
            other => other.as_f64(),
        }
        .filter(|v| v.is_finite())
    };
    let readings = Readings {
        power_w: value("Power", true),
        voltage_v: value("Voltage", false),
        current_a: value("Current", true),
        energy_today_kwh: value("Today", true),
        energy_total_kwh: value("Total", true),
    };
    (readings != Readings::default()).then_some(readings)
}

/// `POWER` is relay 1; `POWER<n>` is relay n (1..=32 on Tasmota).
fn power_index(key: &str) -> Option<u8> {
    match key.strip_prefix("POWER")? {
        "" => Some(1),
        n => n.parse().ok().filter(|n| (1..=32).contains(n)),
    }
}

fn power_state(value: &str) -> Option<Power> {
    if value.eq_ignore_ascii_case("ON") {
        Some(Power::On)
    } else if value.eq_ignore_ascii_case("OFF") {
        Some(Power::Off)
    } else {
        None
    }
}

fn power_topic(device: &str, index: u8) -> String {
    if index == 1 {
        format!("cmnd/{device}/POWER")
    } else {
        format!("cmnd/{device}/POWER{index}")
    }
}

fn command(device: &str, index: u8, want: Power) -> PublishRequest {
    let payload = match want {
        Power::On => "ON",
        Power::Off => "OFF",
    };
    PublishRequest::new(power_topic(device, index), payload)
}

/// An empty `STATE` command: the device answers with every relay's state.
fn query(device: &str) -> PublishRequest {
    PublishRequest::new(format!("cmnd/{device}/STATE"), Vec::new())
}
