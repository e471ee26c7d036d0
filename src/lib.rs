//! Plugboard: an MQTT-over-WebSocket dashboard for smart outlets.
//!
//! The app is thin: protocol logic lives in `mqtt-codec` and `mqtt-client`,
//! device conventions in `devices`. Here are only the browser transport
//! ([`transport`]), the app state ([`store`]) and the views.

mod app;
pub mod store;
pub mod transport;
mod views;

pub use app::App;
