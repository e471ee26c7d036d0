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

/// One of each adapter, for a new connection.
pub(crate) fn all() -> Vec<Box<dyn Adapter>> {
    vec![
        Box::new(tasmota::Tasmota::default()),
        Box::new(shelly::ShellyGen1::default()),
        Box::new(shelly_gen2::ShellyGen2),
        Box::new(zigbee2mqtt::Zigbee2Mqtt::default()),
        Box::<homeassistant::HomeAssistant>::default(),
        Box::<netio::Netio>::default(),
        Box::<custom::Custom>::default(),
    ]
}
