//! A Shelly Gen2+ device (Plus/Pro, e.g. Plus 1PM, Pro 4PM) with N switches,
//! from Shelly's Gen2 API documentation (shelly-api-docs.shelly.cloud/gen2:
//! "MQTT" component, "RPC Protocol", "RPC Channels", "Notifications",
//! "Switch") as collected in the conventions reference §C2.
//!
//! Topics under the MQTT `topic_prefix` (the device id by default, e.g.
//! `shellyplus1pm-a8032ab12345`):
//!
//! - `<prefix>/online`: `true` on connect (retained); the will is `false`
//!   (retained).
//! - `<prefix>/status/switch:<n>` (status notifications, `status_ntf`): the
//!   switch's whole status,
//!   `{"id":0,"source":"MQTT","output":true,"apower":60.2,"voltage":230.1,"current":0.262,"aenergy":{"total":1234.567}}`
//!   (W, V, A, Wh); published on connect, on every change and every 60 s.
//! - `<prefix>/events/rpc` (RPC notifications, `rpc_ntf`):
//!   `{"src":"<prefix>","dst":"<prefix>/events","method":"NotifyStatus","params":{"ts":…,"switch:0":{"id":0,"output":true,"source":"MQTT"}}}`
//!   on every change, and with `aenergy` every 60 s (the firmware reports
//!   energy each minute).
//! - `<prefix>/rpc`: JSON-RPC requests
//!   `{"id":1,"src":"dashboard","method":"Switch.Set","params":{"id":0,"on":true}}`;
//!   the answer goes to `<src>/rpc`:
//!   `{"id":1,"src":"<prefix>","dst":"dashboard","result":{"was_on":false}}`.
//!   Methods: `Switch.Set` (`id`, `on`), `Switch.Toggle` (`id`) — both
//!   answer `{"was_on":…}` —, `Switch.GetStatus` (`id`), `Shelly.GetStatus`
//!   (`{"switch:0":{…},…,"mqtt":{"connected":true},"sys":{…}}`) and
//!   `Shelly.GetDeviceInfo`. Errors are JSON-RPC error objects with Shelly's
//!   codes: `{"code":-103,"message":"…"}` (invalid argument), `-105` (no
//!   such switch), `404` (no such method). A request that is not JSON or
//!   has no `src` gets no answer: there is nowhere to send one.
//! - `<prefix>/command` `status_update`: publishes every status again.
//!
//! Our choice for discovery without retained messages: Gen2 firmware does
//! not listen on Gen1's `shellies/command` (Shelly's own script example
//! `mqtt-announce.js` adds that for backward compatibility), but the
//! simulated device behaves as if that script ran: `announce` on
//! `shellies/command` makes it publish `<prefix>/online` `true` and every
//! `<prefix>/status/switch:<n>`. It does not answer on `shellies/announce`,
//! which is Gen1's announce format. `Shelly.GetStatus` on `<prefix>/rpc`
//! works too, for a device the dashboard already knows.

use mqtt_client::{Bytes, LastWill, Publish};
use serde_json::{json, Map, Value};

use crate::{DeviceModel, Every};

/// How often status and energy are reported by default, in seconds.
pub const DEFAULT_REPORT_PERIOD_SECS: u64 = 60;

/// Watts a switch draws when on.
const LOAD_W: f64 = 60.2;
/// Mains voltage.
const VOLTAGE: f64 = 230.1;
/// Unix time at which the model's clock reads 0 (for `ts`).
const EPOCH_S: f64 = 1_764_000_000.0;

/// JSON-RPC error codes as Shelly documents them.
const INVALID_ARGUMENT: i64 = -103;
const NOT_FOUND: i64 = -105;
const NO_HANDLER: i64 = 404;

/// One switch's state.
#[derive(Debug, Clone)]
struct Switch {
    output: bool,
    source: &'static str,
    /// Energy since the counter started, in W·ms.
    energy_wms: f64,
}

/// A simulated Shelly Gen2+ device.
#[derive(Debug, Clone)]
pub struct ShellyGen2 {
    prefix: String,
    switches: Vec<Switch>,
    metered_at: Option<u64>,
    report: Every,
}

impl ShellyGen2 {
    /// A device whose topic prefix (and id) is `prefix`, with `switches`
    /// switches (at least 1), all off.
    pub fn new(prefix: impl Into<String>, switches: usize) -> Self {
        let switch = Switch {
            output: false,
            source: "init",
            // 1234.567 Wh already counted.
            energy_wms: 1_234.567 * 3_600_000.0,
        };
        Self {
            prefix: prefix.into(),
            switches: vec![switch; switches.max(1)],
            metered_at: None,
            report: Every::new(DEFAULT_REPORT_PERIOD_SECS * 1000),
        }
    }

    /// Whether switch `n` (0-based, as Shelly counts) is on.
    pub fn output(&self, n: usize) -> Option<bool> {
        self.switches.get(n).map(|s| s.output)
    }

    fn topic(&self, rest: &str) -> String {
        format!("{}/{rest}", self.prefix)
    }

    /// Counts the energy drawn up to `now`.
    fn meter(&mut self, now: u64) {
        let since = self.metered_at.replace(now).unwrap_or(now);
        let ms = now.saturating_sub(since) as f64;
        for s in self.switches.iter_mut().filter(|s| s.output) {
            s.energy_wms += LOAD_W * ms;
        }
    }

    fn ts(now: u64) -> f64 {
        ((EPOCH_S + now as f64 / 1000.0) * 100.0).round() / 100.0
    }

    fn total_wh(&self, n: usize) -> f64 {
        (self.switches[n].energy_wms / 3_600.0).round() / 1000.0
    }

    /// `Switch.GetStatus`: the whole status of switch `n`.
    fn status(&self, n: usize) -> Value {
        let s = &self.switches[n];
        let apower = if s.output { LOAD_W } else { 0.0 };
        let current = (apower / VOLTAGE * 1000.0).round() / 1000.0;
        json!({
            "id": n,
            "source": s.source,
            "output": s.output,
            "apower": apower,
            "voltage": VOLTAGE,
            "current": current,
            "aenergy": {"total": self.total_wh(n)},
        })
    }

    fn status_message(&self, n: usize) -> Publish {
        Publish::new(
            self.topic(&format!("status/switch:{n}")),
            self.status(n).to_string(),
        )
    }

    fn online(&self) -> Publish {
        crate::retained(self.topic("online"), "true")
    }

    /// `NotifyStatus` on `<prefix>/events/rpc` with these component changes.
    fn notify(&self, now: u64, changes: Map<String, Value>) -> Publish {
        let mut params = Map::new();
        params.insert("ts".into(), json!(Self::ts(now)));
        params.extend(changes);
        Publish::new(
            self.topic("events/rpc"),
            json!({
                "src": self.prefix,
                "dst": self.topic("events"),
                "method": "NotifyStatus",
                "params": params,
            })
            .to_string(),
        )
    }

    fn all_statuses(&self) -> Vec<Publish> {
        (0..self.switches.len())
            .map(|n| self.status_message(n))
            .collect()
    }

    /// Switches `n` to `on`; what it publishes besides the RPC answer.
    fn switch(&mut self, now: u64, n: usize, on: bool) -> Vec<Publish> {
        let was_on = self.switches[n].output;
        self.switches[n].output = on;
        self.switches[n].source = "MQTT";
        if was_on == on {
            return Vec::new();
        }
        let mut change = Map::new();
        change.insert(
            format!("switch:{n}"),
            json!({"id": n, "output": on, "source": "MQTT"}),
        );
        vec![self.status_message(n), self.notify(now, change)]
    }

    /// Handles one JSON-RPC request; the answer and what else it publishes.
    fn rpc(&mut self, now: u64, payload: &[u8]) -> Vec<Publish> {
        let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(payload) else {
            return Vec::new();
        };
        let Some(src) = request
            .get("src")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && !s.contains(['+', '#', '\0']))
        else {
            return Vec::new();
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let empty = Map::new();
        let params = request
            .get("params")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        let mut side_effects = Vec::new();
        let outcome = self.call(now, method, params, &mut side_effects);
        let mut frame = Map::new();
        frame.insert("id".into(), id);
        frame.insert("src".into(), json!(self.prefix));
        frame.insert("dst".into(), json!(src));
        match outcome {
            Ok(result) => frame.insert("result".into(), result),
            Err((code, message)) => {
                frame.insert("error".into(), json!({"code": code, "message": message}))
            }
        };
        let mut out = vec![Publish::new(
            format!("{src}/rpc"),
            Value::Object(frame).to_string(),
        )];
        out.extend(side_effects);
        out
    }

    fn call(
        &mut self,
        now: u64,
        method: &str,
        params: &Map<String, Value>,
        side_effects: &mut Vec<Publish>,
    ) -> Result<Value, (i64, String)> {
        match method.to_ascii_lowercase().as_str() {
            "switch.set" => {
                let n = self.switch_id(params)?;
                let on = params.get("on").ok_or_else(|| missing("on"))?;
                let on = on.as_bool().ok_or_else(|| {
                    (
                        INVALID_ARGUMENT,
                        format!("Argument 'on', value {on} is not a boolean!"),
                    )
                })?;
                let was_on = self.switches[n].output;
                side_effects.extend(self.switch(now, n, on));
                Ok(json!({ "was_on": was_on }))
            }
            "switch.toggle" => {
                let n = self.switch_id(params)?;
                let was_on = self.switches[n].output;
                side_effects.extend(self.switch(now, n, !was_on));
                Ok(json!({ "was_on": was_on }))
            }
            "switch.getstatus" => {
                let n = self.switch_id(params)?;
                Ok(self.status(n))
            }
            "shelly.getstatus" => {
                let mut all = Map::new();
                for n in 0..self.switches.len() {
                    all.insert(format!("switch:{n}"), self.status(n));
                }
                all.insert("mqtt".into(), json!({"connected": true}));
                all.insert(
                    "sys".into(),
                    json!({"uptime": now / 1000, "unixtime": Self::ts(now) as u64}),
                );
                Ok(Value::Object(all))
            }
            "shelly.getdeviceinfo" => Ok(json!({
                "name": null,
                "id": self.prefix,
                "mac": "A8032AB12345",
                "model": "SNSW-001P16EU",
                "gen": 2,
                "fw_id": "20241011-114455/1.4.4-g6d2a586",
                "ver": "1.4.4",
                "app": "Plus1PM",
                "auth_en": false,
            })),
            "" => Err((
                INVALID_ARGUMENT,
                "Missing required argument 'method'!".into(),
            )),
            _ => Err((NO_HANDLER, format!("No handler for {method}"))),
        }
    }

    /// The switch a request's `params.id` names.
    fn switch_id(&self, params: &Map<String, Value>) -> Result<usize, (i64, String)> {
        let id = params.get("id").ok_or_else(|| missing("id"))?;
        id.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n < self.switches.len())
            .ok_or_else(|| (NOT_FOUND, format!("Argument 'id', value {id} not found!")))
    }
}

fn missing(argument: &str) -> (i64, String) {
    (
        INVALID_ARGUMENT,
        format!("Missing required argument '{argument}'!"),
    )
}

impl DeviceModel for ShellyGen2 {
    fn name(&self) -> String {
        self.prefix.clone()
    }

    fn client_id(&self) -> String {
        format!("devsim-shelly-gen2-{}", self.prefix)
    }

    fn will(&self) -> Option<LastWill> {
        Some(LastWill::new(
            self.topic("online"),
            Bytes::from_static(b"false"),
            true,
        ))
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![
            self.topic("rpc"),
            self.topic("command"),
            "shellies/command".into(),
        ]
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        self.meter(now);
        self.report.start(now);
        let mut out = vec![self.online()];
        out.extend(self.all_statuses());
        out
    }

    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        self.meter(now);
        if topic == self.topic("rpc") {
            return self.rpc(now, payload);
        }
        let payload = String::from_utf8_lossy(payload);
        match (topic, payload.trim()) {
            ("shellies/command", "announce") => {
                let mut out = vec![self.online()];
                out.extend(self.all_statuses());
                out
            }
            (t, "status_update") if t == self.topic("command") => self.all_statuses(),
            _ => Vec::new(),
        }
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.report.deadline()
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        if !self.report.due(now) {
            return Vec::new();
        }
        self.meter(now);
        let mut out = self.all_statuses();
        let mut energy = Map::new();
        for n in 0..self.switches.len() {
            energy.insert(
                format!("switch:{n}"),
                json!({"id": n, "aenergy": {"total": self.total_wh(n)}}),
            );
        }
        out.push(self.notify(now, energy));
        out
    }

    fn set_tele_period(&mut self, period_ms: u64) {
        self.report.set_period(period_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{json_on, pairs};

    const P: &str = "shellyplus1pm-a8032ab12345";

    fn rpc(dev: &mut ShellyGen2, now: u64, request: &str) -> Vec<Publish> {
        dev.handle_message(now, &format!("{P}/rpc"), request.as_bytes())
    }

    #[test]
    fn switch_set_answers_on_src_rpc_and_notifies() {
        let mut dev = ShellyGen2::new(P, 1);
        dev.on_connected(0);
        let out = rpc(
            &mut dev,
            10,
            r#"{"id":7,"src":"plugboard-1","method":"Switch.Set","params":{"id":0,"on":true}}"#,
        );
        assert_eq!(
            json_on(&out, "plugboard-1/rpc"),
            json!({"id":7,"src":P,"dst":"plugboard-1","result":{"was_on":false}})
        );
        let status = json_on(&out, &format!("{P}/status/switch:0"));
        assert_eq!(
            status,
            json!({"id":0,"source":"MQTT","output":true,"apower":60.2,"voltage":230.1,
                   "current":0.262,"aenergy":{"total":1234.567}})
        );
        let event = json_on(&out, &format!("{P}/events/rpc"));
        assert_eq!(event["method"], "NotifyStatus");
        assert_eq!(event["src"], P);
        assert_eq!(
            event["params"]["switch:0"],
            json!({"id":0,"output":true,"source":"MQTT"})
        );
        assert!(event["params"]["ts"].as_f64().unwrap() > 1.7e9);
        assert_eq!(dev.output(0), Some(true));
        // Setting what is already set answers, and changes nothing.
        let again = rpc(
            &mut dev,
            20,
            r#"{"id":"x","src":"d","method":"Switch.Set","params":{"id":0,"on":true}}"#,
        );
        assert_eq!(pairs(&again).len(), 1);
        assert_eq!(
            json_on(&again, "d/rpc"),
            json!({"id":"x","src":P,"dst":"d","result":{"was_on":true}})
        );
    }

    #[test]
    fn toggle_and_get_status() {
        let mut dev = ShellyGen2::new(P, 2);
        dev.on_connected(0);
        let out = rpc(
            &mut dev,
            0,
            r#"{"id":1,"src":"d","method":"Switch.Toggle","params":{"id":1}}"#,
        );
        assert_eq!(json_on(&out, "d/rpc")["result"], json!({"was_on": false}));
        assert_eq!(dev.output(1), Some(true));
        // One hour at 60.2 W adds 60.2 Wh.
        let out = rpc(
            &mut dev,
            3_600_000,
            r#"{"id":2,"src":"d","method":"Switch.GetStatus","params":{"id":1}}"#,
        );
        let result = &json_on(&out, "d/rpc")["result"];
        assert_eq!(result["output"], true);
        assert_eq!(result["aenergy"]["total"], 1294.767);
        let out = rpc(
            &mut dev,
            0,
            r#"{"id":3,"src":"d","method":"Shelly.GetStatus"}"#,
        );
        let result = &json_on(&out, "d/rpc")["result"];
        assert_eq!(result["switch:0"]["output"], false);
        assert_eq!(result["switch:1"]["output"], true);
        assert_eq!(result["mqtt"]["connected"], true);
    }

    #[test]
    fn bad_requests_get_json_rpc_errors() {
        let mut dev = ShellyGen2::new(P, 1);
        let error = |dev: &mut ShellyGen2, request: &str| {
            let out = rpc(dev, 0, request);
            assert_eq!(out.len(), 1, "{out:?}");
            json_on(&out, "d/rpc")["error"].clone()
        };
        assert_eq!(
            error(
                &mut dev,
                r#"{"id":1,"src":"d","method":"Switch.Set","params":{"id":0}}"#
            )["code"],
            -103
        );
        assert_eq!(
            error(
                &mut dev,
                r#"{"id":1,"src":"d","method":"Switch.Set","params":{"id":0,"on":"yes"}}"#
            )["code"],
            -103
        );
        assert_eq!(
            error(
                &mut dev,
                r#"{"id":1,"src":"d","method":"Switch.Toggle","params":{"id":3}}"#
            ),
            json!({"code":-105,"message":"Argument 'id', value 3 not found!"})
        );
        assert_eq!(
            error(&mut dev, r#"{"id":1,"src":"d","method":"Switch.Toggle"}"#)["code"],
            -103
        );
        assert_eq!(
            error(&mut dev, r#"{"id":1,"src":"d","method":"Cover.Open"}"#),
            json!({"code":404,"message":"No handler for Cover.Open"})
        );
        // Nowhere to answer.
        assert!(rpc(&mut dev, 0, "not json").is_empty());
        assert!(rpc(&mut dev, 0, r#"{"id":1,"method":"Switch.Toggle"}"#).is_empty());
        assert!(rpc(
            &mut dev,
            0,
            r#"{"id":1,"src":"a/+","method":"Switch.Toggle"}"#
        )
        .is_empty());
        assert_eq!(dev.output(0), Some(false));
    }

    #[test]
    fn online_will_announce_and_status_update() {
        let mut dev = ShellyGen2::new(P, 2);
        let will = dev.will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.payload[..], will.retain),
            (&*format!("{P}/online"), &b"false"[..], true)
        );
        let birth = dev.on_connected(0);
        assert_eq!(birth[0].topic, format!("{P}/online"));
        assert!(birth[0].retain);
        assert_eq!(&birth[0].payload[..], b"true");
        assert_eq!(birth.len(), 3);
        assert!(dev.subscriptions().contains(&"shellies/command".to_owned()));
        let announce = dev.handle_message(1, "shellies/command", b"announce");
        assert_eq!(
            announce
                .iter()
                .map(|p| p.topic.as_str())
                .collect::<Vec<_>>(),
            [
                format!("{P}/online"),
                format!("{P}/status/switch:0"),
                format!("{P}/status/switch:1")
            ]
        );
        assert_eq!(
            dev.handle_message(1, &format!("{P}/command"), b"status_update")
                .len(),
            2
        );
        assert!(dev
            .handle_message(1, "shellies/command", b"update")
            .is_empty());
    }

    #[test]
    fn reports_status_and_energy_every_minute() {
        let mut dev = ShellyGen2::new(P, 1);
        dev.on_connected(0);
        assert_eq!(dev.poll_timeout(), Some(60_000));
        assert!(dev.handle_timeout(59_999).is_empty());
        let out = dev.handle_timeout(60_000);
        assert_eq!(out.len(), 2);
        let event = json_on(&out, &format!("{P}/events/rpc"));
        assert_eq!(
            event["params"]["switch:0"],
            json!({"id":0,"aenergy":{"total":1234.567}})
        );
        assert_eq!(dev.poll_timeout(), Some(120_000));
    }
}
