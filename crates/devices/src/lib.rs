//! Device conventions → tiles; tile actions → publish requests.
//!
//! Pure Rust: topics and payloads go in, a model of devices comes out, and a
//! user's action on a tile becomes plain [`PublishRequest`]s that the app
//! hands to its MQTT client. No sockets, no clock (time is passed in as
//! milliseconds), no UI. The key trade-off: a toggle never shows the state
//! it *asked* for; it shows *pending* until the device itself reports the new
//! state, and an error if it does not within [`PENDING_TIMEOUT_MS`].
//!
//! Today one adapter exists: Tasmota (`tele/<t>/LWT`, `stat/<t>/POWER<n>`,
//! `stat/<t>/RESULT`, commands on `cmnd/<t>/POWER<n>`).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod dashboard;
mod tasmota;

pub use mqtt_codec::QoS;

pub use crate::dashboard::{
    ConnectionId, Dashboard, Device, DeviceKey, Family, Outlet, Pending, Power, PublishRequest,
    Update, PENDING_TIMEOUT_MS,
};
