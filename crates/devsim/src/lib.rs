//! Simulated devices, written from each vendor's documentation.
//!
//! Each device is a sans-IO model ([`DeviceModel`]): a message and the time
//! go in, publishes come out, and the model says when it next wants to be
//! woken ([`DeviceModel::poll_timeout`]) for its periodic telemetry. It never
//! touches a socket or a clock, so the models build for
//! `wasm32-unknown-unknown` and can run inside the page behind an in-page
//! broker:
//!
//! ```text
//! cargo build -p devsim --lib --target wasm32-unknown-unknown
//! ```
//!
//! The [`tcp`] driver (native only) runs any number of models against a
//! broker on one thread, one MQTT connection per device.
//!
//! The models, one file per vendor:
//!
//! | model | module | periodic telemetry (default) |
//! |---|---|---|
//! | Tasmota plug | [`tasmota`] | `tele/<t>/STATE` + `SENSOR` every TelePeriod (300 s) |
//! | Shelly Gen1 | [`shelly`] | `relay/<n>`, `power`, `energy` every 30 s |
//! | Shelly Gen2+ | [`shelly_gen2`] | `status/switch:<n>` + NotifyStatus every 60 s |
//! | Zigbee2MQTT plug | [`zigbee2mqtt`] | state JSON every 60 s |
//! | Home Assistant discovery | [`homeassistant`] | state + power every 60 s |
//! | NETIO MQTT-flex | [`netio`] | as its config's `timer`/`change`/`delta` events say |
//!
//! Time is milliseconds on any monotonic clock the caller likes; every
//! model also runs on a virtual clock in its unit tests.
//!
//! devsim deliberately does not use `crates/devices`: it implements each
//! convention on its own, so an end-to-end toggle cross-checks the app's
//! adapter rather than letting it agree with itself.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod homeassistant;
pub mod netio;
pub mod shelly;
pub mod shelly_gen2;
pub mod tasmota;
#[cfg(not(target_arch = "wasm32"))]
pub mod tcp;
pub mod zigbee2mqtt;

use mqtt_client::{LastWill, Publish};

/// A simulated device.
///
/// The driver calls [`DeviceModel::on_connected`] once per session (after
/// subscribing), [`DeviceModel::handle_message`] for every message, and
/// [`DeviceModel::handle_timeout`] once the time [`DeviceModel::poll_timeout`]
/// returned has come. Publishes a model returns while the driver has no
/// connection are dropped, as a real device's would be.
pub trait DeviceModel {
    /// What devsim calls it in its output (`ready <name>`).
    fn name(&self) -> String;
    /// The MQTT client id the device connects with.
    fn client_id(&self) -> String;
    /// Its last will, registered at CONNECT.
    fn will(&self) -> Option<LastWill>;
    /// Topic filters it listens on.
    fn subscriptions(&self) -> Vec<String>;
    /// What it publishes once connected and subscribed (birth message,
    /// state); (re)starts its periodic telemetry from `now`.
    fn on_connected(&mut self, now: u64) -> Vec<Publish>;
    /// A message arrived on one of its subscriptions: what it answers.
    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish>;
    /// When [`DeviceModel::handle_timeout`] must next be called, if ever.
    fn poll_timeout(&self) -> Option<u64> {
        None
    }
    /// A deadline from [`DeviceModel::poll_timeout`] passed: what it
    /// publishes (periodic telemetry, a delayed switch). Calling it early or
    /// twice is harmless.
    fn handle_timeout(&mut self, _now: u64) -> Vec<Publish> {
        Vec::new()
    }
    /// Sets the period of its telemetry, in milliseconds (at least 1).
    /// Models whose periods come from elsewhere (a NETIO config) ignore it.
    fn set_tele_period(&mut self, _period_ms: u64) {}
    /// User name and password the device itself is configured with (a
    /// NETIO config's `broker` block), if any.
    fn credentials(&self) -> Option<(String, String)> {
        None
    }
}

/// A repeating deadline on the caller's clock: telemetry every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Every {
    period_ms: u64,
    next: Option<u64>,
}

impl Every {
    /// Every `period_ms` (at least 1), not started.
    pub(crate) fn new(period_ms: u64) -> Self {
        Self {
            period_ms: period_ms.max(1),
            next: None,
        }
    }

    /// The period in milliseconds.
    pub(crate) fn period_ms(&self) -> u64 {
        self.period_ms
    }

    /// Changes the period; a running schedule continues from its last tick.
    pub(crate) fn set_period(&mut self, period_ms: u64) {
        let period_ms = period_ms.max(1);
        if let Some(next) = self.next {
            self.next = Some((next - self.period_ms.min(next)).saturating_add(period_ms));
        }
        self.period_ms = period_ms;
    }

    /// (Re)starts: the first tick comes one period after `now`.
    pub(crate) fn start(&mut self, now: u64) {
        self.next = Some(now.saturating_add(self.period_ms));
    }

    /// The next tick, if started.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.next
    }

    /// Whether a tick is due at `now`; if so, schedules the next one. After
    /// a long pause (the process was stopped) it ticks once, not once per
    /// missed period.
    pub(crate) fn due(&mut self, now: u64) -> bool {
        match self.next {
            Some(next) if now >= next => {
                let mut following = next.saturating_add(self.period_ms);
                if following <= now {
                    following = now.saturating_add(self.period_ms);
                }
                self.next = Some(following);
                true
            }
            _ => false,
        }
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A retained message.
pub(crate) fn retained(topic: impl Into<String>, payload: impl Into<String>) -> Publish {
    let mut p = Publish::new(topic.into(), payload.into());
    p.retain = true;
    p
}

/// Whether `s` can be one topic level (non-empty, no `/`, `+`, `#`).
pub fn is_topic_level(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '+', '#', '\0'])
}

#[cfg(test)]
pub(crate) mod testing {
    use mqtt_client::Publish;

    /// Publishes as `(topic, payload)` strings, for assertions.
    pub(crate) fn pairs(publishes: &[Publish]) -> Vec<(String, String)> {
        publishes
            .iter()
            .map(|p| {
                (
                    p.topic.clone(),
                    String::from_utf8_lossy(&p.payload).into_owned(),
                )
            })
            .collect()
    }

    /// The payload of the only publish on `topic`, parsed as JSON.
    pub(crate) fn json_on(publishes: &[Publish], topic: &str) -> serde_json::Value {
        let found: Vec<&Publish> = publishes.iter().filter(|p| p.topic == topic).collect();
        assert_eq!(found.len(), 1, "one publish on {topic}: {publishes:?}");
        serde_json::from_slice(&found[0].payload).expect("JSON payload")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ticks_once_per_period_and_once_after_a_pause() {
        let mut every = Every::new(100);
        assert!(!every.due(1_000));
        every.start(1_000);
        assert_eq!(every.deadline(), Some(1_100));
        assert!(!every.due(1_099));
        assert!(every.due(1_100));
        assert_eq!(every.deadline(), Some(1_200));
        // Late by less than a period: keeps the phase.
        assert!(every.due(1_250));
        assert_eq!(every.deadline(), Some(1_300));
        // Stopped for ten periods: one tick, then a period from now.
        assert!(every.due(2_350));
        assert!(!every.due(2_350));
        assert_eq!(every.deadline(), Some(2_450));
        every.set_period(50);
        assert_eq!(every.deadline(), Some(2_400));
        assert_eq!(every.period_ms(), 50);
    }

    /// Every model takes any payload on any of its topics without
    /// panicking, and keeps answering afterwards.
    #[test]
    fn no_model_panics_on_bad_input() {
        let mut models: Vec<Box<dyn DeviceModel>> = vec![
            Box::new(tasmota::TasmotaPlug::new("t", 2)),
            Box::new(shelly::ShellyGen1::new("s", 2)),
            Box::new(shelly_gen2::ShellyGen2::new("g", 2)),
            Box::new(zigbee2mqtt::Zigbee2MqttPlug::new("z")),
            Box::new(homeassistant::HomeAssistantPlug::new("h")),
            Box::new(netio::Netio::with_default_config("n", 4)),
        ];
        let payloads: [&[u8]; 14] = [
            b"",
            b"\xff\xfe",
            b"{",
            b"null",
            b"[]",
            b"-1",
            b"18446744073709551616",
            br#"{"id":1,"src":"x","method":"Switch.Set","params":{"id":-1,"on":true}}"#,
            br#"{"id":1,"src":"x","method":"Switch.Set","params":{"id":1e99,"on":1}}"#,
            br#"{"id":1,"src":"","method":7}"#,
            br#"{"state":7}"#,
            br#"{"Outputs":[{"ID":-5,"Action":"x"}]}"#,
            b"TOGGLE",
            b"2",
        ];
        let topics = [
            "cmnd/t/POWER",
            "cmnd/t/POWER0",
            "cmnd/t/POWER99999999999999999999",
            "cmnd/t/TelePeriod",
            "cmnd/tasmotas/STATE",
            "shellies/s/relay/7/command",
            "shellies/s/relay/x/command",
            "shellies/command",
            "g/rpc",
            "g/command",
            "zigbee2mqtt/z/set",
            "zigbee2mqtt/z/get",
            "devsim/h/set",
            "homeassistant/status",
            "netio/n/output/1/action",
            "netio/n/output/4/action",
            "unrelated/topic",
        ];
        for model in &mut models {
            let mut now = 0;
            model.on_connected(now);
            for topic in topics {
                for payload in payloads {
                    now += 1_000;
                    model.handle_message(now, topic, payload);
                    if let Some(at) = model.poll_timeout() {
                        model.handle_timeout(at.max(now));
                    }
                }
            }
            model.handle_timeout(u64::MAX);
            model.on_connected(u64::MAX);
        }
    }

    #[test]
    fn topic_levels() {
        assert!(is_topic_level("plug-0001"));
        for bad in ["", "a/b", "a+", "#"] {
            assert!(!is_topic_level(bad), "{bad:?}");
        }
    }
}
