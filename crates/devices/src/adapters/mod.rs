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
    /// Why one of them cannot be used, naming it (the same rules as the
    /// MQTT-flex generator's prefix and device name).
    pub fn check(&self) -> Result<(), String> {
        use crate::netio_flex::{level_problem, prefix_problem};
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
            let problem = if one_level {
                level_problem(value).map(|p| format!("must be one level: it {p}"))
            } else {
                prefix_problem(value).map(|p| format!("it {p}"))
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
