//! A device announced through Home Assistant MQTT discovery: one switch
//! entity and one power sensor in one `device` block, from Home Assistant's
//! "MQTT" integration documentation (discovery topic, abbreviations, `~`,
//! birth message) and its "MQTT Switch" and "MQTT Sensor" pages, as
//! collected in the conventions reference §C3.
//!
//! For node `<node>` (base topic `~` = `devsim/<node>`):
//!
//! - `homeassistant/switch/<node>/relay/config` (retained):
//!   `{"~":"devsim/<node>","name":null,"uniq_id":"devsim-<node>-relay","dev_cla":"outlet","stat_t":"~/state","cmd_t":"~/set","avty_t":"~/status","pl_on":"ON","pl_off":"OFF","dev":{"ids":["devsim-<node>"],"name":"<node>","mf":"devsim","mdl":"MQTT discovery plug"}}`
//! - `homeassistant/sensor/<node>/power/config` (retained):
//!   `{"~":"devsim/<node>","name":"Power","uniq_id":"devsim-<node>-power","stat_t":"~/sensor","val_tpl":"{{ value_json.power }}","unit_of_meas":"W","dev_cla":"power","stat_cla":"measurement","avty_t":"~/status","dev":{…same…}}`
//! - `devsim/<node>/status`: `online` (retained); the will is `offline`
//!   (retained).
//! - `devsim/<node>/state`: `ON` / `OFF`; `devsim/<node>/sensor`:
//!   `{"power":42.0}` (W). Not retained.
//! - Commands on `devsim/<node>/set`: `ON` / `OFF` (other payloads are
//!   ignored, as Home Assistant would never send them).
//!
//! Like a Home Assistant integration it listens on `homeassistant/status`
//! and, on the birth message `online`, publishes its configs, availability
//! and state again: that is how it is found without retained messages. It
//! reports its state and power every 60 s.

use mqtt_client::{Bytes, LastWill, Publish};
use serde_json::json;

use crate::{DeviceModel, Every};

/// How often state and power are reported by default, in seconds.
pub const DEFAULT_REPORT_PERIOD_SECS: u64 = 60;

/// Watts drawn when on.
const LOAD_W: f64 = 42.0;

/// A simulated device using Home Assistant MQTT discovery.
#[derive(Debug, Clone)]
pub struct HomeAssistantPlug {
    node: String,
    on: bool,
    report: Every,
}

impl HomeAssistantPlug {
    /// A plug with this node id (one topic level), off.
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            on: false,
            report: Every::new(DEFAULT_REPORT_PERIOD_SECS * 1000),
        }
    }

    /// Whether it is on.
    pub fn is_on(&self) -> bool {
        self.on
    }

    fn base(&self) -> String {
        format!("devsim/{}", self.node)
    }

    fn topic(&self, rest: &str) -> String {
        format!("devsim/{}/{rest}", self.node)
    }

    fn device(&self) -> serde_json::Value {
        json!({
            "ids": [format!("devsim-{}", self.node)],
            "name": self.node,
            "mf": "devsim",
            "mdl": "MQTT discovery plug",
        })
    }

    fn configs(&self) -> Vec<Publish> {
        let switch = json!({
            "~": self.base(),
            "name": null,
            "uniq_id": format!("devsim-{}-relay", self.node),
            "dev_cla": "outlet",
            "stat_t": "~/state",
            "cmd_t": "~/set",
            "avty_t": "~/status",
            "pl_on": "ON",
            "pl_off": "OFF",
            "dev": self.device(),
        });
        let sensor = json!({
            "~": self.base(),
            "name": "Power",
            "uniq_id": format!("devsim-{}-power", self.node),
            "stat_t": "~/sensor",
            "val_tpl": "{{ value_json.power }}",
            "unit_of_meas": "W",
            "dev_cla": "power",
            "stat_cla": "measurement",
            "avty_t": "~/status",
            "dev": self.device(),
        });
        vec![
            crate::retained(
                format!("homeassistant/switch/{}/relay/config", self.node),
                switch.to_string(),
            ),
            crate::retained(
                format!("homeassistant/sensor/{}/power/config", self.node),
                sensor.to_string(),
            ),
        ]
    }

    fn state(&self) -> Vec<Publish> {
        let power = if self.on { LOAD_W } else { 0.0 };
        vec![
            Publish::new(self.topic("state"), if self.on { "ON" } else { "OFF" }),
            Publish::new(self.topic("sensor"), json!({ "power": power }).to_string()),
        ]
    }

    /// Configs, availability, state: everything Home Assistant needs.
    fn announce(&self) -> Vec<Publish> {
        let mut out = self.configs();
        out.push(crate::retained(self.topic("status"), "online"));
        out.extend(self.state());
        out
    }
}

impl DeviceModel for HomeAssistantPlug {
    fn name(&self) -> String {
        self.node.clone()
    }

    fn client_id(&self) -> String {
        format!("devsim-ha-{}", self.node)
    }

    fn will(&self) -> Option<LastWill> {
        Some(LastWill::new(
            self.topic("status"),
            Bytes::from_static(b"offline"),
            true,
        ))
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![self.topic("set"), "homeassistant/status".into()]
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        self.report.start(now);
        self.announce()
    }

    fn handle_message(&mut self, _now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        let payload = String::from_utf8_lossy(payload);
        if topic == "homeassistant/status" {
            return match payload.trim() {
                "online" => self.announce(),
                _ => Vec::new(),
            };
        }
        if topic != self.topic("set") {
            return Vec::new();
        }
        match payload.trim() {
            "ON" => self.on = true,
            "OFF" => self.on = false,
            _ => return Vec::new(),
        }
        self.state()
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.report.deadline()
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        if self.report.due(now) {
            self.state()
        } else {
            Vec::new()
        }
    }

    fn set_tele_period(&mut self, period_ms: u64) {
        self.report.set_period(period_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{json_on, pairs};

    fn s(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn birth_publishes_configs_availability_and_state() {
        let mut plug = HomeAssistantPlug::new("desk");
        let birth = plug.on_connected(0);
        let switch = json_on(&birth, "homeassistant/switch/desk/relay/config");
        assert_eq!(
            switch,
            json!({"~":"devsim/desk","name":null,"uniq_id":"devsim-desk-relay","dev_cla":"outlet",
                   "stat_t":"~/state","cmd_t":"~/set","avty_t":"~/status","pl_on":"ON","pl_off":"OFF",
                   "dev":{"ids":["devsim-desk"],"name":"desk","mf":"devsim","mdl":"MQTT discovery plug"}})
        );
        let sensor = json_on(&birth, "homeassistant/sensor/desk/power/config");
        assert_eq!(sensor["val_tpl"], "{{ value_json.power }}");
        assert_eq!(sensor["unit_of_meas"], "W");
        assert_eq!(sensor["dev_cla"], "power");
        assert_eq!(sensor["stat_t"], "~/sensor");
        assert_eq!(sensor["dev"]["ids"], switch["dev"]["ids"]);
        assert!(birth[0].retain && birth[1].retain && birth[2].retain);
        assert_eq!(
            pairs(&birth)[2..],
            [
                s("devsim/desk/status", "online"),
                s("devsim/desk/state", "OFF"),
                s("devsim/desk/sensor", r#"{"power":0.0}"#)
            ]
        );
        let will = plug.will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.payload[..], will.retain),
            ("devsim/desk/status", &b"offline"[..], true)
        );
    }

    #[test]
    fn set_switches_and_reports() {
        let mut plug = HomeAssistantPlug::new("desk");
        assert_eq!(
            pairs(&plug.handle_message(0, "devsim/desk/set", b"ON")),
            [
                s("devsim/desk/state", "ON"),
                s("devsim/desk/sensor", r#"{"power":42.0}"#)
            ]
        );
        assert!(plug.is_on());
        assert!(plug
            .handle_message(0, "devsim/desk/set", b"toggle")
            .is_empty());
        assert!(plug.is_on());
        assert_eq!(
            pairs(&plug.handle_message(0, "devsim/desk/set", b"OFF"))[0],
            s("devsim/desk/state", "OFF")
        );
    }

    #[test]
    fn the_birth_message_of_home_assistant_brings_everything_again() {
        let mut plug = HomeAssistantPlug::new("desk");
        plug.on_connected(0);
        assert_eq!(
            plug.handle_message(1, "homeassistant/status", b"online")
                .len(),
            5
        );
        assert!(plug
            .handle_message(1, "homeassistant/status", b"offline")
            .is_empty());
        assert_eq!(
            plug.subscriptions(),
            ["devsim/desk/set", "homeassistant/status"]
        );
    }

    #[test]
    fn reports_every_minute() {
        let mut plug = HomeAssistantPlug::new("desk");
        plug.on_connected(100);
        assert_eq!(plug.poll_timeout(), Some(60_100));
        assert_eq!(plug.handle_timeout(60_100).len(), 2);
        assert_eq!(plug.poll_timeout(), Some(120_100));
    }
}
