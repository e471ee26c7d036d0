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

use std::collections::BTreeSet;

use crate::adapter::{Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};

const SUBSCRIPTIONS: &[&str] = &[
    "tele/+/LWT",
    "tele/+/STATE",
    "tele/+/SENSOR",
    "stat/+/+",
    "cmnd/+/+",
];

/// The Tasmota adapter. It remembers which devices it has seen, to ask a
/// new one for its state once.
#[derive(Debug, Default)]
pub(crate) struct Tasmota {
    known: BTreeSet<String>,
}

impl Adapter for Tasmota {
    fn family(&self) -> Family {
        Family::Tasmota
    }

    fn subscriptions(&self) -> Vec<String> {
        SUBSCRIPTIONS.iter().map(|s| (*s).to_owned()).collect()
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, _now: u64) -> Output {
        if let Some(rest) = topic.strip_prefix("cmnd/") {
            return retained_command(topic, rest, payload, retained);
        }
        let Some(message) = parse(topic, payload) else {
            return Output::default();
        };
        let id = message.device.to_owned();
        let mut out = Output::default();
        if self.known.len() < MAX_TRACKED && self.known.insert(id.clone()) {
            // A new device: ask it for its state so the tile is not blank.
            out.publish.push(query(&id));
        }
        out.changes.push(Change::Seen { id: id.clone() });
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
        vec![query("tasmotas")]
    }

    fn action(&self, id: &str, index: u8, action: Action, _now: u64) -> Vec<TimedPublish> {
        let want = match action {
            Action::On => Power::On,
            Action::Off => Power::Off,
        };
        vec![TimedPublish::now(command(id, index, want))]
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
fn retained_command(topic: &str, rest: &str, payload: &[u8], retained: bool) -> Output {
    let mut out = Output::default();
    let Some((id, command)) = rest.split_once('/') else {
        return out;
    };
    if id.is_empty() || id == "tasmotas" || command.contains('/') {
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
