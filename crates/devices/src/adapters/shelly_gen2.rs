//! Shelly Gen2+ (Plus, Pro): topics under the device's `topic_prefix`
//! (by default its id, e.g. `shellyplus1pm-a8032ab12345`).
//!
//! From Shelly's Gen2 MQTT and Switch documentation as collected in the
//! conventions reference §C2:
//! - `<prefix>/status/switch:<n>` (with `status_ntf`): JSON with `output`
//!   (bool), `apower` (W), `voltage` (V), `current` (A), `aenergy.total`
//!   (Wh);
//! - `<prefix>/events/rpc` (with `rpc_ntf`): `{"src":…,"method":
//!   "NotifyStatus","params":{"ts":…,"switch:0":{"id":0,"output":true}}}`;
//! - `<prefix>/online`: `true` / `false`;
//! - command: JSON-RPC on `<prefix>/rpc`: `{"id":1,"src":"…","method":
//!   "Switch.Set","params":{"id":0,"on":true}}`, answered on `<src>/rpc`.
//!
//! Outlets are numbered from 1 on the tile: `switch:0` is outlet 1. A
//! prefix with `/` in it is not handled yet.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::adapter::{off_then_on, Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};

/// Where the devices' RPC replies go (`src`); nobody needs to read them:
/// the status notifications confirm.
const SOURCE: &str = "plugboard";

/// The Shelly Gen2+ adapter. It remembers the prefixes it has seen, to ask
/// a new device for its full status once.
#[derive(Debug, Default)]
pub(crate) struct ShellyGen2 {
    known: BTreeSet<String>,
}

impl ShellyGen2 {
    /// What one message says.
    fn read(&self, topic: &str, payload: &[u8], _retained: bool, _now: u64) -> Output {
        let mut out = Output::default();
        let levels: Vec<&str> = topic.split('/').collect();
        let Some(&prefix) = levels.first().filter(|p| valid_prefix(p)) else {
            return out;
        };
        let text = String::from_utf8_lossy(payload);
        match levels[1..] {
            ["online"] => {
                let online = match text.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return out,
                };
                out.changes.push(Change::Online {
                    id: prefix.to_owned(),
                    online,
                });
            }
            ["status", component] => {
                let (Some(n), Ok(json)) = (
                    switch_index(component),
                    serde_json::from_str::<Value>(text.trim()),
                ) else {
                    return out;
                };
                switch_status(prefix, n, &json, &mut out);
            }
            ["events", "rpc"] => {
                let Ok(json) = serde_json::from_str::<Value>(text.trim()) else {
                    return out;
                };
                if json.get("method").and_then(Value::as_str) != Some("NotifyStatus") {
                    return out;
                }
                let Some(params) = json.get("params").and_then(Value::as_object) else {
                    return out;
                };
                for (component, status) in params {
                    if let Some(n) = switch_index(component) {
                        switch_status(prefix, n, status, &mut out);
                    }
                }
            }
            _ => {}
        }
        out
    }
}

impl Adapter for ShellyGen2 {
    fn family(&self) -> Family {
        Family::ShellyGen2
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![
            "+/status/+".into(),
            "+/events/rpc".into(),
            "+/online".into(),
        ]
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, now: u64) -> Output {
        let mut out = self.read(topic, payload, retained, now);
        // A device seen for the first time (a retained `online`, one
        // status) is asked for all of its status: `status_update` on
        // `<prefix>/command` publishes every component's status.
        if let Some(id) = out.changes.first().map(|c| c.id().to_owned()) {
            if self.known.len() < MAX_TRACKED && self.known.insert(id.clone()) {
                out.publish.push(PublishRequest::new(
                    format!("{id}/command"),
                    "status_update",
                ));
            }
        }
        out
    }
    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish> {
        if let Action::PowerCycle { off_ms } = action {
            return off_then_on(self, id, index, off_ms, now);
        }
        let request = serde_json::json!({
            "id": now % 1_000_000_000,
            "src": SOURCE,
            "method": "Switch.Set",
            "params": { "id": index.saturating_sub(1), "on": action == Action::On },
        });
        vec![TimedPublish::now(PublishRequest::new(
            format!("{id}/rpc"),
            request.to_string(),
        ))]
    }
}

/// What a `switch:<n>` status says: the output, and metering if present.
fn switch_status(prefix: &str, n: u8, status: &Value, out: &mut Output) {
    let id = prefix.to_owned();
    if let Some(on) = status.get("output").and_then(Value::as_bool) {
        out.changes.push(Change::Outlet {
            id: id.clone(),
            index: n + 1,
            power: if on { Power::On } else { Power::Off },
        });
    }
    let number = |v: Option<&Value>| v.and_then(Value::as_f64).filter(|v| v.is_finite());
    let readings = Readings {
        power_w: number(status.get("apower")),
        voltage_v: number(status.get("voltage")),
        current_a: number(status.get("current")),
        energy_total_kwh: number(status.pointer("/aenergy/total")).map(|wh| wh / 1000.0),
        ..Readings::default()
    };
    if readings != Readings::default() {
        out.changes.push(Change::Readings { id, readings });
    }
}

/// `switch:<n>` → n (from 0).
fn switch_index(component: &str) -> Option<u8> {
    component
        .strip_prefix("switch:")?
        .parse::<u8>()
        .ok()
        .filter(|n| *n < 32)
}

/// A device prefix: one topic level, not a Gen1 or Tasmota root.
fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && !matches!(
            prefix,
            "shellies" | "tele" | "stat" | "cmnd" | "zigbee2mqtt" | "homeassistant"
        )
        && !prefix.contains(['+', '#'])
}
