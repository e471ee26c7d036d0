//! A Tasmota plug with the default FullTopic `%prefix%/%topic%/`.
//!
//! From Tasmota's MQTT documentation: commands arrive on
//! `cmnd/<topic>/POWER<n>` with `ON`, `OFF`, `TOGGLE` (any case; also `1`,
//! `0`, `2`), and an empty payload asks for the state. The device answers on
//! `stat/<topic>/RESULT` with `{"POWER":"ON"}` and on `stat/<topic>/POWER`
//! with `ON`. `cmnd/<topic>/STATE` answers on `stat/<topic>/RESULT` with every
//! relay's state, the same JSON it publishes periodically on
//! `tele/<topic>/STATE`. Its will is `tele/<topic>/LWT` `Offline`, retained;
//! after connecting it publishes `Online` there, retained.
//!
//! Metering as on Tasmota's power-metering plugs: `tele/<topic>/SENSOR` with
//! an `ENERGY` object (`Total`, `Yesterday`, `Today` in kWh, `Power` in W,
//! `Voltage` in V, `Current` in A, `Factor`); each relay draws 60 W when on.
//!
//! Telemetry: `tele/<topic>/STATE` and `tele/<topic>/SENSOR` on connect and
//! then every `TelePeriod` (default 300 s as in the firmware; settable with
//! [`TasmotaPlug::with_tele_period`] or devsim's `--tele-period`). The
//! `TelePeriod` command works as documented: an empty payload asks
//! (`{"TelePeriod":300}` on `stat/<topic>/RESULT`), `0` turns telemetry off,
//! `1` restores 300 s, other values are clamped to 10–3600 s. As a devsim
//! shortcut the plug also publishes `SENSOR` after every switch, so a
//! dashboard sees the load follow the relay without waiting a period.
//!
//! `Backlog` runs its `;`-separated commands in order, `Delay N` holding the
//! rest for N tenths of a second: `Backlog Power OFF; Delay 50; Power ON`
//! is a five-second power-cycle the plug times itself.
//!
//! The group topic `tasmotas` (`cmnd/tasmotas/<command>`) reaches every
//! plug, so `cmnd/tasmotas/STATE` is how a dashboard finds all of them
//! without retained messages.

use std::collections::VecDeque;

use mqtt_client::{Bytes, LastWill, Publish};

use crate::{DeviceModel, Every};

/// Tasmota's default `TelePeriod`, in seconds.
pub const DEFAULT_TELE_PERIOD_SECS: u64 = 300;

/// A simulated Tasmota plug with one or more relays.
#[derive(Debug, Clone)]
pub struct TasmotaPlug {
    topic: String,
    relays: Vec<bool>,
    tele: Every,
    /// `TelePeriod 0` turned telemetry off.
    tele_off: bool,
    /// `Backlog` commands waiting for their `Delay`: (when, command,
    /// payload), in order.
    backlog: VecDeque<(u64, String, String)>,
}

/// Commands one `Backlog` may hold (Tasmota's own limit is 30).
const MAX_BACKLOG: usize = 30;

impl TasmotaPlug {
    /// A plug whose `%topic%` is `topic`, with `relays` relays, all off.
    pub fn new(topic: impl Into<String>, relays: usize) -> Self {
        Self {
            topic: topic.into(),
            relays: vec![false; relays.max(1)],
            tele: Every::new(DEFAULT_TELE_PERIOD_SECS * 1000),
            tele_off: false,
            backlog: VecDeque::new(),
        }
    }

    /// The same plug with telemetry every `period_ms` milliseconds.
    pub fn with_tele_period(mut self, period_ms: u64) -> Self {
        self.tele.set_period(period_ms);
        self
    }

    /// The `%topic%`.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether relay `index` (1-based) is on.
    pub fn relay(&self, index: usize) -> Option<bool> {
        self.relays.get(index.checked_sub(1)?).copied()
    }

    /// `POWER` for relay 1 of a single-relay plug, `POWER<n>` otherwise.
    fn power_key(&self, index: usize) -> String {
        if self.relays.len() == 1 {
            "POWER".to_owned()
        } else {
            format!("POWER{index}")
        }
    }

    /// `{"POWER":"ON"}`, or `{"POWER1":"ON","POWER2":"OFF",…}` with several relays.
    fn state_json(&self) -> String {
        let fields: Vec<String> = (1..=self.relays.len())
            .map(|i| {
                let value = if self.relays[i - 1] { "ON" } else { "OFF" };
                format!("\"{}\":\"{value}\"", self.power_key(i))
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    /// `tele/<topic>/SENSOR` with the plug's metering.
    fn sensor_message(&self) -> Publish {
        let on = self.relays.iter().filter(|r| **r).count() as f64;
        let power = 60.0 * on;
        let voltage = 230.0;
        let json = format!(
            "{{\"Time\":\"2026-11-25T12:00:00\",\"ENERGY\":{{\"TotalStartTime\":\"2026-01-01T00:00:00\",\
             \"Total\":12.345,\"Yesterday\":0.456,\"Today\":0.123,\"Power\":{power:.0},\
             \"ApparentPower\":{power:.0},\"ReactivePower\":0,\"Factor\":1.00,\"Voltage\":{voltage:.0},\
             \"Current\":{:.3}}}}}",
            power / voltage
        );
        Publish::new(format!("tele/{}/SENSOR", self.topic), json)
    }

    /// `tele/<topic>/STATE` and `tele/<topic>/SENSOR`.
    fn telemetry(&self) -> Vec<Publish> {
        vec![
            Publish::new(format!("tele/{}/STATE", self.topic), self.state_json()),
            self.sensor_message(),
        ]
    }

    /// The `TelePeriod` command: `{"TelePeriod":<secs>}`.
    fn tele_period_command(&mut self, now: u64, payload: &str) -> Publish {
        let secs = match payload.trim() {
            "" => None,
            v => v.parse::<u64>().ok(),
        };
        match secs {
            Some(0) => self.tele_off = true,
            Some(secs) => {
                let secs = if secs == 1 {
                    DEFAULT_TELE_PERIOD_SECS
                } else {
                    secs.clamp(10, 3600)
                };
                self.tele_off = false;
                self.tele.set_period(secs * 1000);
                self.tele.start(now);
            }
            None => {}
        }
        let shown = if self.tele_off {
            0
        } else {
            self.tele.period_ms().div_ceil(1000)
        };
        Publish::new(
            format!("stat/{}/RESULT", self.topic),
            format!("{{\"TelePeriod\":{shown}}}"),
        )
    }

    fn state_messages(&self, index: usize) -> Vec<Publish> {
        let key = self.power_key(index);
        let value = if self.relays[index - 1] { "ON" } else { "OFF" };
        vec![
            Publish::new(
                format!("stat/{}/RESULT", self.topic),
                format!("{{\"{key}\":\"{value}\"}}"),
            ),
            Publish::new(format!("stat/{}/{key}", self.topic), value),
            self.sensor_message(),
        ]
    }
}

impl DeviceModel for TasmotaPlug {
    fn name(&self) -> String {
        self.topic.clone()
    }

    fn client_id(&self) -> String {
        format!("devsim-tasmota-{}", self.topic)
    }

    fn will(&self) -> Option<LastWill> {
        Some(LastWill::new(
            format!("tele/{}/LWT", self.topic),
            Bytes::from_static(b"Offline"),
            true,
        ))
    }

    fn subscriptions(&self) -> Vec<String> {
        // Its own topic, and the default group topic `tasmotas`.
        vec![format!("cmnd/{}/+", self.topic), "cmnd/tasmotas/+".into()]
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        let mut online = Publish::new(format!("tele/{}/LWT", self.topic), "Online");
        online.retain = true;
        self.tele.start(now);
        let mut out = vec![online];
        out.extend(self.telemetry());
        out
    }

    fn poll_timeout(&self) -> Option<u64> {
        let tele = if self.tele_off {
            None
        } else {
            self.tele.deadline()
        };
        let backlog = self.backlog.front().map(|(at, _, _)| *at);
        tele.into_iter().chain(backlog).min()
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        let mut out = Vec::new();
        while self.backlog.front().is_some_and(|(at, _, _)| *at <= now) {
            if let Some((_, command, payload)) = self.backlog.pop_front() {
                out.extend(self.command(now, &command, &payload));
            }
        }
        if !self.tele_off && self.tele.due(now) {
            out.extend(self.telemetry());
        }
        out
    }

    fn set_tele_period(&mut self, period_ms: u64) {
        self.tele.set_period(period_ms);
    }

    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        let Some(command) = topic.strip_prefix("cmnd/").and_then(|rest| {
            rest.strip_prefix(self.topic.as_str())
                .or_else(|| rest.strip_prefix("tasmotas"))
                .and_then(|rest| rest.strip_prefix('/'))
        }) else {
            return Vec::new();
        };
        let command = command.to_owned();
        let payload = String::from_utf8_lossy(payload).into_owned();
        if command.eq_ignore_ascii_case("Backlog") {
            return self.backlog(now, &payload);
        }
        self.command(now, &command, &payload)
    }
}

impl TasmotaPlug {
    /// `Backlog cmd1 v1; Delay 20; cmd2 v2`: commands run in order; `Delay
    /// N` holds the ones after it for N tenths of a second.
    fn backlog(&mut self, now: u64, list: &str) -> Vec<Publish> {
        let mut at = self.backlog.back().map_or(now, |(t, _, _)| (*t).max(now));
        let mut out = Vec::new();
        for step in list.split(';').take(MAX_BACKLOG) {
            let step = step.trim();
            let (command, value) = step.split_once(' ').unwrap_or((step, ""));
            if command.is_empty() {
                continue;
            }
            if command.eq_ignore_ascii_case("Delay") {
                let tenths: u64 = value.trim().parse().unwrap_or(0);
                at += tenths.clamp(1, 36_000) * 100;
            } else if at <= now && self.backlog.is_empty() {
                out.extend(self.command(now, command, value.trim()));
            } else {
                self.backlog
                    .push_back((at, command.to_owned(), value.trim().to_owned()));
            }
        }
        out
    }

    /// One command, as from `cmnd/<topic>/<command>`.
    fn command(&mut self, now: u64, command: &str, payload: &str) -> Vec<Publish> {
        if command.eq_ignore_ascii_case("TelePeriod") {
            return vec![self.tele_period_command(now, payload)];
        }
        if command.eq_ignore_ascii_case("STATE") {
            return vec![Publish::new(
                format!("stat/{}/RESULT", self.topic),
                self.state_json(),
            )];
        }
        let Some(index) = command
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("POWER"))
            .and_then(|_| match &command[5..] {
                "" => Some(1),
                n => n.parse::<usize>().ok(),
            })
            .filter(|&i| (1..=self.relays.len()).contains(&i))
        else {
            // Tasmota answers unknown commands with {"Command":"Unknown"}.
            return vec![Publish::new(
                format!("stat/{}/RESULT", self.topic),
                "{\"Command\":\"Unknown\"}",
            )];
        };
        let relay = &mut self.relays[index - 1];
        match payload.trim().to_ascii_uppercase().as_str() {
            "" => {}
            "ON" | "1" => *relay = true,
            "OFF" | "0" => *relay = false,
            "TOGGLE" | "2" => *relay = !*relay,
            _ => {
                return vec![Publish::new(
                    format!("stat/{}/RESULT", self.topic),
                    "{\"Command\":\"Error\"}",
                )]
            }
        }
        self.state_messages(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(plug: &mut TasmotaPlug, topic: &str, payload: &str) -> Vec<(String, String)> {
        plug.handle_message(0, topic, payload.as_bytes())
            .into_iter()
            .map(|p| (p.topic, String::from_utf8(p.payload.to_vec()).unwrap()))
            .collect()
    }

    fn s(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn on_off_toggle_and_query() {
        let mut plug = TasmotaPlug::new("p", 1);
        let on = answers(&mut plug, "cmnd/p/POWER", "ON");
        assert_eq!(
            on[..2],
            [
                s("stat/p/RESULT", r#"{"POWER":"ON"}"#),
                s("stat/p/POWER", "ON")
            ]
        );
        // Metering follows the relay: 60 W at 230 V.
        assert_eq!(on[2].0, "tele/p/SENSOR");
        assert!(on[2].1.contains(r#""Power":60,"#) && on[2].1.contains(r#""Voltage":230,"#));
        assert_eq!(
            answers(&mut plug, "cmnd/p/power", "toggle")[1],
            s("stat/p/POWER", "OFF")
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/POWER1", "1")[1],
            s("stat/p/POWER", "ON")
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/POWER", "")[1],
            s("stat/p/POWER", "ON")
        );
        assert_eq!(plug.relay(1), Some(true));
    }

    #[test]
    fn a_backlog_power_cycle_runs_on_the_virtual_clock() {
        let mut plug = TasmotaPlug::new("p", 1);
        answers(&mut plug, "cmnd/p/POWER", "ON");
        let off = answers(&mut plug, "cmnd/p/Backlog", "POWER OFF; Delay 20; POWER ON");
        assert_eq!(off[1], s("stat/p/POWER", "OFF"));
        assert_eq!(plug.relay(1), Some(false));
        assert_eq!(plug.poll_timeout(), Some(2_000));
        assert!(plug.handle_timeout(1_999).is_empty());
        let on: Vec<_> = plug
            .handle_timeout(2_000)
            .into_iter()
            .map(|p| (p.topic, String::from_utf8(p.payload.to_vec()).unwrap()))
            .collect();
        assert_eq!(on[1], s("stat/p/POWER", "ON"));
        assert_eq!(plug.relay(1), Some(true));
        // Garbage in a backlog is answered like any unknown command.
        let odd = answers(&mut plug, "cmnd/p/Backlog", ";;Delay x; Frobnicate 3");
        assert!(odd.is_empty(), "after a Delay, it waits: {odd:?}");
    }

    #[test]
    fn the_group_topic_reaches_every_plug() {
        let mut plug = TasmotaPlug::new("p", 1);
        assert_eq!(
            answers(&mut plug, "cmnd/tasmotas/STATE", ""),
            [s("stat/p/RESULT", r#"{"POWER":"OFF"}"#)]
        );
        assert!(plug.subscriptions().contains(&"cmnd/tasmotas/+".to_owned()));
    }

    #[test]
    fn multi_relay_uses_numbered_keys() {
        let mut plug = TasmotaPlug::new("strip", 4);
        assert_eq!(
            answers(&mut plug, "cmnd/strip/POWER3", "ON")[..2],
            [
                s("stat/strip/RESULT", r#"{"POWER3":"ON"}"#),
                s("stat/strip/POWER3", "ON")
            ]
        );
        assert_eq!(plug.relay(3), Some(true));
        assert_eq!(plug.relay(2), Some(false));
    }

    #[test]
    fn state_reports_every_relay() {
        let mut plug = TasmotaPlug::new("strip", 3);
        answers(&mut plug, "cmnd/strip/POWER2", "ON");
        assert_eq!(
            answers(&mut plug, "cmnd/strip/STATE", ""),
            [s(
                "stat/strip/RESULT",
                r#"{"POWER1":"OFF","POWER2":"ON","POWER3":"OFF"}"#
            )]
        );
        let mut single = TasmotaPlug::new("p", 1);
        assert_eq!(
            answers(&mut single, "cmnd/p/state", "")[0].1,
            r#"{"POWER":"OFF"}"#
        );
        let birth = single.on_connected(0);
        assert_eq!(birth[1].topic, "tele/p/STATE");
        assert_eq!(&birth[1].payload[..], br#"{"POWER":"OFF"}"#);
    }

    #[test]
    fn unknown_commands_and_bad_payloads() {
        let mut plug = TasmotaPlug::new("p", 1);
        assert_eq!(
            answers(&mut plug, "cmnd/p/POWER2", "ON")[0].1,
            r#"{"Command":"Unknown"}"#
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/Dimmer", "5")[0].1,
            r#"{"Command":"Unknown"}"#
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/POWER", "blink")[0].1,
            r#"{"Command":"Error"}"#
        );
        assert!(answers(&mut plug, "cmnd/other/POWER", "ON").is_empty());
        assert_eq!(plug.relay(1), Some(false));
    }

    #[test]
    fn telemetry_every_tele_period_on_the_virtual_clock() {
        let mut plug = TasmotaPlug::new("p", 1);
        assert_eq!(plug.poll_timeout(), None);
        plug.on_connected(1_000);
        assert_eq!(plug.poll_timeout(), Some(301_000));
        assert!(plug.handle_timeout(300_999).is_empty());
        answers(&mut plug, "cmnd/p/POWER", "ON");
        let tele = plug.handle_timeout(301_000);
        assert_eq!(tele.len(), 2);
        assert_eq!(
            (tele[0].topic.as_str(), &tele[0].payload[..]),
            ("tele/p/STATE", &br#"{"POWER":"ON"}"#[..])
        );
        assert_eq!(tele[1].topic, "tele/p/SENSOR");
        assert!(!tele[0].retain && !tele[1].retain);
        assert!(std::str::from_utf8(&tele[1].payload)
            .unwrap()
            .contains(r#""Power":60,"#));
        assert_eq!(plug.poll_timeout(), Some(601_000));

        let mut fast = TasmotaPlug::new("f", 1).with_tele_period(100);
        fast.on_connected(0);
        assert_eq!(fast.poll_timeout(), Some(100));
        fast.set_tele_period(250);
        assert_eq!(fast.poll_timeout(), Some(250));
    }

    #[test]
    fn the_tele_period_command() {
        let mut plug = TasmotaPlug::new("p", 1);
        plug.on_connected(0);
        assert_eq!(
            answers(&mut plug, "cmnd/p/TelePeriod", ""),
            [s("stat/p/RESULT", r#"{"TelePeriod":300}"#)]
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/teleperiod", "60")[0].1,
            r#"{"TelePeriod":60}"#
        );
        assert_eq!(plug.poll_timeout(), Some(60_000));
        assert_eq!(
            answers(&mut plug, "cmnd/p/TelePeriod", "5")[0].1,
            r#"{"TelePeriod":10}"#
        );
        assert_eq!(
            answers(&mut plug, "cmnd/p/TelePeriod", "0")[0].1,
            r#"{"TelePeriod":0}"#
        );
        assert_eq!(plug.poll_timeout(), None);
        assert!(plug.handle_timeout(u64::MAX).is_empty());
        assert_eq!(
            answers(&mut plug, "cmnd/p/TelePeriod", "1")[0].1,
            r#"{"TelePeriod":300}"#
        );
    }

    #[test]
    fn will_and_birth() {
        let mut plug = TasmotaPlug::new("p", 1);
        let will = plug.will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.payload[..], will.retain),
            ("tele/p/LWT", &b"Offline"[..], true)
        );
        let birth = plug.on_connected(0);
        assert_eq!(
            (
                birth[0].topic.as_str(),
                &birth[0].payload[..],
                birth[0].retain
            ),
            ("tele/p/LWT", &b"Online"[..], true)
        );
    }
}
