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

use mqtt_client::{Bytes, LastWill, Publish};

use crate::DeviceModel;

/// Watts a relay draws when on (the reference capture's 37.71 W).
const LOAD_W: f64 = 37.71;

/// A simulated Shelly Gen1 device with one or more relays.
#[derive(Debug, Clone)]
pub struct ShellyGen1 {
    id: String,
    relays: Vec<bool>,
    /// Energy counters per relay, in watt-minutes.
    energy_wmin: Vec<u64>,
}

impl ShellyGen1 {
    /// A device `id` (e.g. `shellyplug-s-7AECF4`) with `relays` relays, off.
    pub fn new(id: impl Into<String>, relays: usize) -> Self {
        let relays = relays.max(1);
        Self {
            id: id.into(),
            relays: vec![false; relays],
            energy_wmin: vec![2_803_153; relays],
        }
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

    fn on_connected(&mut self, _now: u64) -> Vec<Publish> {
        let mut online = Publish::new(self.topic("online"), "true");
        online.retain = true;
        let mut out = vec![online, self.announce()];
        for n in 0..self.relays.len() {
            out.extend(self.relay_messages(n));
        }
        out
    }

    fn handle_message(&mut self, _now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        let payload = String::from_utf8_lossy(payload);
        if topic == "shellies/command" {
            return match payload.trim() {
                "announce" => vec![self.announce()],
                _ => Vec::new(),
            };
        }
        if topic == self.topic("command") {
            return match payload.trim() {
                "update" => (0..self.relays.len())
                    .flat_map(|n| self.relay_messages(n))
                    .collect(),
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
}
