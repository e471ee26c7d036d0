//! Shelly Gen1 (Plug S, Shelly 1/1PM, 2.5): topics under `shellies/<id>/`.
//!
//! From Shelly's Gen1 MQTT documentation as collected in the conventions
//! reference §C2 (with the real capture quoted there):
//! - `relay/<n>`: `on` / `off` (`overpower` counts as off), n from 0;
//! - `relay/<n>/power`: instantaneous W (`37.71`);
//! - `relay/<n>/energy`: a counter in watt-minutes (`2803153`), shown as kWh;
//! - `online`: `true` / `false` (the will);
//! - `shellies/announce`: `{"id":"shellyplug-s-7AECF4","mac":…,"ip":…,…}`,
//!   the answer to `announce` on `shellies/command`;
//! - command: `relay/<n>/command` with `on` / `off`;
//! - `update` on `shellies/<id>/command` asks one device to report its
//!   state (as the Home Assistant community configurations do), sent the
//!   first time a device is seen; `announce` on `shellies/command` after
//!   each connect.
//!
//! Outlets are numbered from 1 on the tile: Shelly's relay 0 is outlet 1.

use std::collections::{BTreeMap, BTreeSet};

use crate::adapter::{off_then_on, Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};

const SUBSCRIPTIONS: &[&str] = &[
    "shellies/+/relay/+",
    "shellies/+/relay/+/power",
    "shellies/+/relay/+/energy",
    "shellies/+/online",
    "shellies/announce",
];

/// Per relay: its power (W) and energy counter (W·min), to report the
/// device's sums.
#[derive(Debug, Default, Clone, Copy)]
struct Meter {
    power_w: Option<f64>,
    energy_wmin: Option<f64>,
}

/// The Shelly Gen1 adapter.
#[derive(Debug, Default)]
pub(crate) struct ShellyGen1 {
    meters: BTreeMap<(String, u8), Meter>,
    /// Devices seen, to ask each new one for its state once.
    known: BTreeSet<String>,
}

impl ShellyGen1 {
    /// A new device: ask it to report its state.
    fn first_sight(&mut self, id: &str, out: &mut Output) {
        if self.known.len() < MAX_TRACKED && self.known.insert(id.to_owned()) {
            out.publish.push(PublishRequest::new(
                format!("shellies/{id}/command"),
                "update",
            ));
        }
    }

    fn readings(&self, id: &str) -> Readings {
        let meters = self
            .meters
            .iter()
            .filter(|((d, _), _)| d == id)
            .map(|(_, m)| m);
        let mut power = None;
        let mut energy = None;
        for m in meters {
            if let Some(p) = m.power_w {
                *power.get_or_insert(0.0) += p;
            }
            if let Some(e) = m.energy_wmin {
                *energy.get_or_insert(0.0) += e;
            }
        }
        Readings {
            power_w: power,
            energy_total_kwh: energy.map(|wmin| wmin / 60.0 / 1000.0),
            ..Readings::default()
        }
    }
}

impl Adapter for ShellyGen1 {
    fn family(&self) -> Family {
        Family::ShellyGen1
    }

    fn subscriptions(&self) -> Vec<String> {
        SUBSCRIPTIONS.iter().map(|s| (*s).to_owned()).collect()
    }

    fn handle(&mut self, topic: &str, payload: &[u8], _retained: bool, _now: u64) -> Output {
        let mut out = Output::default();
        let Ok(text) = std::str::from_utf8(payload) else {
            return out;
        };
        let text = text.trim();
        if topic == "shellies/announce" {
            let id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("id")?.as_str().map(str::to_owned))
                .filter(|id| valid_id(id));
            if let Some(id) = id {
                self.first_sight(&id, &mut out);
                out.changes.push(Change::Seen { id: id.clone() });
                out.changes.push(Change::Online { id, online: true });
            }
            return out;
        }
        let levels: Vec<&str> = topic.split('/').collect();
        let id = match levels.get(1) {
            Some(id) if valid_id(id) => (*id).to_owned(),
            _ => return out,
        };
        if !matches!(
            levels[2..],
            ["online"] | ["relay", _] | ["relay", _, "power" | "energy"]
        ) {
            return out;
        }
        self.first_sight(&id, &mut out);
        match levels[2..] {
            ["online"] => {
                let online = match text {
                    "true" => true,
                    "false" => false,
                    _ => return out,
                };
                out.changes.push(Change::Online { id, online });
            }
            ["relay", n] => {
                let Some(index) = outlet_index(n) else {
                    return out;
                };
                let power = match text {
                    "on" => Power::On,
                    "off" | "overpower" => Power::Off,
                    _ => return out,
                };
                out.changes.push(Change::Outlet { id, index, power });
            }
            ["relay", n, kind @ ("power" | "energy")] => {
                let (Some(index), Ok(value)) = (outlet_index(n), text.parse::<f64>()) else {
                    return out;
                };
                if !value.is_finite() {
                    return out;
                }
                if self.meters.len() >= MAX_TRACKED
                    && !self.meters.contains_key(&(id.clone(), index))
                {
                    return out;
                }
                let meter = self.meters.entry((id.clone(), index)).or_default();
                if kind == "power" {
                    meter.power_w = Some(value);
                } else {
                    meter.energy_wmin = Some(value);
                }
                let readings = self.readings(&id);
                out.changes.push(Change::Readings { id, readings });
            }
            _ => {}
        }
        out
    }

    fn on_connected(&mut self, _now: u64) -> Vec<PublishRequest> {
        vec![PublishRequest::new("shellies/command", "announce")]
    }

    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish> {
        let payload = match action {
            Action::On => "on",
            Action::Off => "off",
            Action::PowerCycle { off_ms } => return off_then_on(self, id, index, off_ms, now),
        };
        let relay = index.saturating_sub(1);
        vec![TimedPublish::now(PublishRequest::new(
            format!("shellies/{id}/relay/{relay}/command"),
            payload,
        ))]
    }
}

/// A device id usable as one topic level.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.contains(['/', '+', '#'])
}

/// Shelly's relay `n` (from 0) as the tile's outlet number (from 1).
fn outlet_index(n: &str) -> Option<u8> {
    n.parse::<u8>().ok().filter(|n| *n < 32).map(|n| n + 1)
}
