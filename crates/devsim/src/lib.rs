//! Simulated devices, written from each vendor's documentation.
//!
//! Each device is a sans-IO model ([`DeviceModel`]): a message and the time
//! go in, publishes come out; it never touches a socket or a clock, so the
//! same models can later run inside the page behind an in-page broker. The
//! thin [`tcp`] driver wires one model to a broker through `mqtt-client`.
//!
//! devsim deliberately does not use `crates/devices`: it implements each
//! convention on its own, so an end-to-end toggle cross-checks the app's
//! adapter rather than letting it agree with itself.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod shelly;
pub mod tasmota;
pub mod tcp;
pub mod zigbee2mqtt;

use mqtt_client::{LastWill, Publish};

/// A simulated device.
pub trait DeviceModel {
    /// What devsim calls it in its output (`ready <name>`).
    fn name(&self) -> String;
    /// The MQTT client id the device connects with.
    fn client_id(&self) -> String;
    /// Its last will, registered at CONNECT.
    fn will(&self) -> Option<LastWill>;
    /// Topic filters it listens on.
    fn subscriptions(&self) -> Vec<String>;
    /// What it publishes once connected and subscribed (birth message, state).
    fn on_connected(&mut self, now: u64) -> Vec<Publish>;
    /// A message arrived on one of its subscriptions: what it answers.
    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish>;
}
