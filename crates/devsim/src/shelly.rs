//! A Shelly Gen1 plug or relay (Plug S, Shelly 1PM, 2.5), from Shelly's
//! Gen1 MQTT documentation as collected in the conventions reference §C2.
//!
//! Topics under `shellies/<id>/`: `relay/<n>` (`on` / `off`, n from 0),
//! `relay/<n>/power` (W), `relay/<n>/energy` (a counter in watt-minutes),
//! `online` (`true` / `false`; the will is `false`, retained). Commands on
//! `relay/<n>/command`: `on`, `off`, `toggle`. `announce` on
//! `shellies/command` is answered on `shellies/announce` with
//! `{"id":…,"mac":…,"ip":…,"fw_ver":…,"new_fw":false}`; `update` on
//! `shellies/<id>/command` makes it report its relays. The real capture in
//! the reference: `shellies/shellyplug-s-7AECF4/relay/0 on`,
//! `…/relay/0/power 37.71`, `…/relay/0/energy 2803153`.
//!
//! Like the firmware (its MQTT "update period", 30 s by default) it
//! publishes every relay's `relay/<n>`, `power` and `energy` periodically;
//! the energy counter grows while a relay is on.

use mqtt_client::{Bytes, LastWill, Publish};

use crate::{DeviceModel, Every};

/// How often a Gen1 device reports its relays by default, in seconds.
pub const DEFAULT_UPDATE_PERIOD_SECS: u64 = 30;

/// Watts a relay draws when on (the reference capture's 37.71 W).
const LOAD_W: f64 = 37.71;

/// A simulated Shelly Gen1 device with one or more relays.
#[derive(Debug, Clone)]
pub struct ShellyGen1 {
    id: String,
    relays: Vec<bool>,
    /// Energy counters per relay, in watt-minutes.
    energy_wmin: Vec<u64>,
    /// Energy drawn and not yet counted, in W·ms.
    energy_rest: Vec<f64>,
    /// When energy was last counted.
    metered_at: Option<u64>,
    update: Every,
}

impl ShellyGen1 {
    /// A device `id` (e.g. `shellyplug-s-7AECF4`) with `relays` relays, off.
    pub fn new(id: impl Into<String>, relays: usize) -> Self {
        let relays = relays.max(1);
        Self {
            id: id.into(),
            relays: vec![false; relays],
            energy_wmin: vec![2_803_153; relays],
            energy_rest: vec![0.0; relays],
            metered_at: None,
            update: Every::new(DEFAULT_UPDATE_PERIOD_SECS * 1000),
        }
    }

    /// Counts the energy drawn up to `now` (watt-minutes).
    fn meter(&mut self, now: u64) {
        let since = self.metered_at.replace(now).unwrap_or(now);
        let ms = now.saturating_sub(since) as f64;
        for n in 0..self.relays.len() {
            if self.relays[n] {
                self.energy_rest[n] += LOAD_W * ms;
            }
            // 1 W·min = 60 000 W·ms.
            let whole = (self.energy_rest[n] / 60_000.0).floor();
            self.energy_wmin[n] += whole as u64;
            self.energy_rest[n] -= whole * 60_000.0;
        }
    }

    fn all_relays(&self) -> Vec<Publish> {
        (0..self.relays.len())
            .flat_map(|n| self.relay_messages(n))
            .collect()
    }

    /// Whether relay `n` (0-based, as Shelly counts) is on.
    pub fn relay(&self, n: usize) -> Option<bool> {
        self.relays.get(n).copied()
    }

    fn topic(&self, rest: &str) -> String {
        format!("shellies/{}/{rest}", self.id)
    }

    fn relay_messages(&self, n: usize) -> Vec<Publish> {
        let on = self.relays[n];
        vec![
            Publish::new(
                self.topic(&format!("relay/{n}")),
                if on { "on" } else { "off" },
            ),
            Publish::new(
                self.topic(&format!("relay/{n}/power")),
                format!("{:.2}", if on { LOAD_W } else { 0.0 }),
            ),
            Publish::new(
                self.topic(&format!("relay/{n}/energy")),
                self.energy_wmin[n].to_string(),
            ),
        ]
    }

    fn announce(&self) -> Publish {
        Publish::new(
            "shellies/announce",
            format!(
                "{{\"id\":\"{}\",\"mac\":\"7AECF4000000\",\"ip\":\"127.0.0.1\",\"fw_ver\":\"20230913-114008/v1.14.0-gcb84623\",\"new_fw\":false}}",
                self.id
            ),
        )
    }
}

impl DeviceModel for ShellyGen1 {
    fn name(&self) -> String {
        self.id.clone()
    }

    fn client_id(&self) -> String {
        format!("devsim-shelly-{}", self.id)
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
            self.topic("relay/+/command"),
            self.topic("command"),
            "shellies/command".into(),
        ]
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        self.meter(now);
        self.update.start(now);
        let mut online = Publish::new(self.topic("online"), "true");
        online.retain = true;
        let mut out = vec![online, self.announce()];
        out.extend(self.all_relays());
        out
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.update.deadline()
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        if !self.update.due(now) {
            return Vec::new();
        }
        self.meter(now);
        self.all_relays()
    }

    fn set_tele_period(&mut self, period_ms: u64) {
        self.update.set_period(period_ms);
    }

    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        self.meter(now);
        let payload = String::from_utf8_lossy(payload);
        if topic == "shellies/command" {
            return match payload.trim() {
                "announce" => vec![self.announce()],
                _ => Vec::new(),
            };
        }
        if topic == self.topic("command") {
            return match payload.trim() {
                "update" => self.all_relays(),
                _ => Vec::new(),
            };
        }
        let Some(n) = topic
            .strip_prefix(&self.topic("relay/"))
            .and_then(|rest| rest.strip_suffix("/command"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n < self.relays.len())
        else {
            return Vec::new();
        };
        match payload.trim().to_ascii_lowercase().as_str() {
            "on" => self.relays[n] = true,
            "off" => self.relays[n] = false,
            "toggle" => self.relays[n] = !self.relays[n],
            _ => return Vec::new(),
        }
        if self.relays[n] {
            // Some energy on every switch-on, so the counter visibly moves.
            self.energy_wmin[n] += 38;
        }
        self.relay_messages(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(dev: &mut ShellyGen1, topic: &str, payload: &str) -> Vec<(String, String)> {
        dev.handle_message(0, topic, payload.as_bytes())
            .into_iter()
            .map(|p| (p.topic, String::from_utf8(p.payload.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn commands_switch_and_report_like_the_capture() {
        let mut plug = ShellyGen1::new("shellyplug-s-7AECF4", 1);
        let on = answers(
            &mut plug,
            "shellies/shellyplug-s-7AECF4/relay/0/command",
            "on",
        );
        assert_eq!(
            on[0],
            ("shellies/shellyplug-s-7AECF4/relay/0".into(), "on".into())
        );
        assert_eq!(on[1].1, "37.71");
        assert_eq!(on[2].0, "shellies/shellyplug-s-7AECF4/relay/0/energy");
        let off = answers(
            &mut plug,
            "shellies/shellyplug-s-7AECF4/relay/0/command",
            "toggle",
        );
        assert_eq!(off[0].1, "off");
        assert_eq!(plug.relay(0), Some(false));
        assert!(answers(
            &mut plug,
            "shellies/shellyplug-s-7AECF4/relay/1/command",
            "on"
        )
        .is_empty());
    }

    #[test]
    fn update_reports_every_relay() {
        let mut plug = ShellyGen1::new("s2", 2);
        let update = answers(&mut plug, "shellies/s2/command", "update");
        assert_eq!(update.len(), 6);
        assert_eq!(update[3], ("shellies/s2/relay/1".into(), "off".into()));
    }

    #[test]
    fn announces_when_asked_and_has_an_online_will() {
        let mut plug = ShellyGen1::new("s1", 2);
        let a = answers(&mut plug, "shellies/command", "announce");
        assert_eq!(a[0].0, "shellies/announce");
        assert!(a[0].1.contains("\"id\":\"s1\""));
        let will = plug.will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.payload[..], will.retain),
            ("shellies/s1/online", &b"false"[..], true)
        );
        let birth = plug.on_connected(0);
        assert_eq!(birth.len(), 2 + 3 * 2);
    }

    #[test]
    fn reports_every_30_s_and_counts_energy() {
        let mut plug = ShellyGen1::new("s", 1);
        plug.on_connected(0);
        assert_eq!(plug.poll_timeout(), Some(30_000));
        answers(&mut plug, "shellies/s/relay/0/command", "on");
        let report = plug.handle_timeout(30_000);
        let report = crate::testing::pairs(&report);
        assert_eq!(report[0], ("shellies/s/relay/0".into(), "on".into()));
        assert_eq!(report[1].1, "37.71");
        // 38 W·min for switching on, and 37.71 W for 30 s = 18.855 W·min.
        assert_eq!(report[2].1, (2_803_153 + 38 + 18).to_string());
        assert_eq!(plug.poll_timeout(), Some(60_000));
        plug.set_tele_period(5_000);
        assert_eq!(plug.poll_timeout(), Some(35_000));
    }
}
