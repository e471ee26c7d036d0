//! The device ecosystems. Adding one: a new file here implementing
//! [`crate::Adapter`], and one line in [`all`].

pub(crate) mod custom;
mod homeassistant;
mod netio;
mod shelly;
mod shelly_gen2;
mod tasmota;
mod zigbee2mqtt;

use crate::adapter::Adapter;

/// The topics an installation may have changed from the ecosystems'
/// defaults. Each is one or more topic levels without wildcards
/// ([`Topics::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Tasmota's group topic (`GroupTopic`), `tasmotas` by default.
    pub tasmota_group: String,
    /// Zigbee2MQTT's base topic, `zigbee2mqtt` by default.
    pub zigbee2mqtt: String,
    /// Home Assistant's discovery prefix, `homeassistant` by default.
    pub homeassistant: String,
    /// The prefix of the NETIO MQTT-flex scheme, `netio` by default.
    pub netio: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            tasmota_group: tasmota::DEFAULT_GROUP.into(),
            zigbee2mqtt: zigbee2mqtt::DEFAULT_BASE.into(),
            homeassistant: homeassistant::DEFAULT_PREFIX.into(),
            netio: crate::netio_flex::DEFAULT_PREFIX.into(),
        }
    }
}

impl Topics {
    /// Why one of them cannot be used, naming it.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("Tasmota group topic", &self.tasmota_group, true),
            ("Zigbee2MQTT base topic", &self.zigbee2mqtt, false),
            (
                "Home Assistant discovery prefix",
                &self.homeassistant,
                false,
            ),
            ("NETIO prefix", &self.netio, false),
        ];
        for (what, value, one_level) in fields {
            let problem = if value.is_empty() {
                Some("it is empty")
            } else if value.len() > 128 {
                Some("it is longer than 128 bytes")
            } else if value.contains(['+', '#', '\0']) {
                Some("it has a wildcard or a NUL")
            } else if value.starts_with('/') || value.ends_with('/') || value.contains("//") {
                Some("it has an empty level")
            } else if one_level && value.contains('/') {
                Some("it must be one level, without '/'")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(format!("{what} \"{value}\": {problem}"));
            }
        }
        Ok(())
    }
}

/// One of each adapter, for a new connection, with the installation's
/// topics.
pub(crate) fn all(topics: &Topics) -> Vec<Box<dyn Adapter>> {
    vec![
        Box::new(tasmota::Tasmota::with_group(&topics.tasmota_group)),
        Box::new(shelly::ShellyGen1::default()),
        Box::<shelly_gen2::ShellyGen2>::default(),
        Box::new(zigbee2mqtt::Zigbee2Mqtt::with_base(&topics.zigbee2mqtt)),
        Box::new(homeassistant::HomeAssistant::with_prefix(
            &topics.homeassistant,
        )),
        Box::new(netio::Netio::with_prefix(&topics.netio)),
        Box::<custom::Custom>::default(),
    ]
}
