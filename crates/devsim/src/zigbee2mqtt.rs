//! A Zigbee2MQTT plug as its bridge presents it, from Zigbee2MQTT's MQTT
//! topics, exposes and availability documentation (conventions reference
//! §C4): state JSON on `zigbee2mqtt/<name>`, commands on `…/set`
//! (`{"state":"ON"|"OFF"|"TOGGLE"}`) and `…/get`, availability
//! `{"state":"online"}` on `…/availability` (retained), and the device in
//! the retained `zigbee2mqtt/bridge/devices` list with a `switch` expose.
//!
//! A real bridge is one client for all its devices; this model is one
//! client per plug and lists only itself in `bridge/devices`, which is
//! enough for one plug per broker.
//!
//! Discovery without retained messages: Zigbee2MQTT documents no request
//! that makes the bridge re-publish `bridge/devices`, so the model publishes
//! it on connect only, and answers `zigbee2mqtt/<name>/get` (e.g.
//! `{"state":""}`) with its state, as the documentation describes. A metering
//! plug reports by itself; the model publishes its state every 60 s.

use mqtt_client::{Bytes, LastWill, Publish};

use crate::{DeviceModel, Every};

/// How often the plug reports its state by default, in seconds.
pub const DEFAULT_REPORT_PERIOD_SECS: u64 = 60;

/// A simulated Zigbee2MQTT plug with metering.
#[derive(Debug, Clone)]
pub struct Zigbee2MqttPlug {
    name: String,
    on: bool,
    report: Every,
}

impl Zigbee2MqttPlug {
    /// A plug with this friendly name, off.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            on: false,
            report: Every::new(DEFAULT_REPORT_PERIOD_SECS * 1000),
        }
    }

    fn topic(&self, rest: &str) -> String {
        if rest.is_empty() {
            format!("zigbee2mqtt/{}", self.name)
        } else {
            format!("zigbee2mqtt/{}/{rest}", self.name)
        }
    }

    fn state(&self) -> Publish {
        let (state, power, current) = if self.on {
            ("ON", 12.5, 0.054)
        } else {
            ("OFF", 0.0, 0.0)
        };
        Publish::new(
            self.topic(""),
            format!(
                "{{\"state\":\"{state}\",\"power\":{power},\"voltage\":230,\"current\":{current},\"energy\":1.2,\"linkquality\":120}}"
            ),
        )
    }
}

impl DeviceModel for Zigbee2MqttPlug {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn client_id(&self) -> String {
        format!("devsim-z2m-{}", self.name)
    }

    fn will(&self) -> Option<LastWill> {
        Some(LastWill::new(
            self.topic("availability"),
            Bytes::from_static(br#"{"state":"offline"}"#),
            true,
        ))
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![self.topic("set"), self.topic("get")]
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.report.deadline()
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        if self.report.due(now) {
            vec![self.state()]
        } else {
            Vec::new()
        }
    }

    fn set_tele_period(&mut self, period_ms: u64) {
        self.report.set_period(period_ms);
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        self.report.start(now);
        let mut online = Publish::new(self.topic("availability"), r#"{"state":"online"}"#);
        online.retain = true;
        let mut devices = Publish::new(
            "zigbee2mqtt/bridge/devices",
            format!(
                r#"[{{"friendly_name":"{}","definition":{{"model":"ZNCZ02LM","exposes":[{{"type":"switch","features":[{{"type":"binary","name":"state","property":"state","value_on":"ON","value_off":"OFF","value_toggle":"TOGGLE","access":7}}]}},{{"type":"numeric","name":"power","property":"power","unit":"W","access":5}}]}}}}]"#,
                self.name
            ),
        );
        devices.retain = true;
        vec![online, devices, self.state()]
    }

    fn handle_message(&mut self, _now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        if topic == self.topic("get") {
            return vec![self.state()];
        }
        if topic != self.topic("set") {
            return Vec::new();
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
        match json.as_ref().and_then(|j| j.get("state")?.as_str()) {
            Some(s) if s.eq_ignore_ascii_case("ON") => self.on = true,
            Some(s) if s.eq_ignore_ascii_case("OFF") => self.on = false,
            Some(s) if s.eq_ignore_ascii_case("TOGGLE") => self.on = !self.on,
            _ => return Vec::new(),
        }
        vec![self.state()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_switches_and_reports_json_state() {
        let mut plug = Zigbee2MqttPlug::new("kitchen_plug");
        let out = plug.handle_message(0, "zigbee2mqtt/kitchen_plug/set", br#"{"state":"ON"}"#);
        assert_eq!(out[0].topic, "zigbee2mqtt/kitchen_plug");
        assert!(std::str::from_utf8(&out[0].payload)
            .unwrap()
            .starts_with(r#"{"state":"ON","power":12.5"#));
        let out = plug.handle_message(0, "zigbee2mqtt/kitchen_plug/set", br#"{"state":"TOGGLE"}"#);
        assert!(std::str::from_utf8(&out[0].payload)
            .unwrap()
            .contains(r#""state":"OFF""#));
        assert!(plug
            .handle_message(0, "zigbee2mqtt/kitchen_plug/set", b"ON")
            .is_empty());
    }

    #[test]
    fn birth_lists_the_plug_and_says_online() {
        let mut plug = Zigbee2MqttPlug::new("p");
        let birth = plug.on_connected(0);
        assert_eq!(birth[0].topic, "zigbee2mqtt/p/availability");
        assert!(birth[0].retain && birth[1].retain);
        let devices: serde_json::Value = serde_json::from_slice(&birth[1].payload).unwrap();
        assert_eq!(devices[0]["friendly_name"], "p");
    }

    #[test]
    fn get_answers_and_state_is_reported_every_minute() {
        let mut plug = Zigbee2MqttPlug::new("p");
        plug.on_connected(5);
        let got = plug.handle_message(6, "zigbee2mqtt/p/get", br#"{"state":""}"#);
        assert_eq!(got[0].topic, "zigbee2mqtt/p");
        assert_eq!(plug.poll_timeout(), Some(60_005));
        let report = plug.handle_timeout(60_005);
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].topic, "zigbee2mqtt/p");
        assert!(plug.handle_timeout(60_006).is_empty());
    }
}
