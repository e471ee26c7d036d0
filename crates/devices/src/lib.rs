//! Device conventions → tiles; tile actions → timed publish requests.
//!
//! Pure Rust: topics and payloads go in, a model of devices comes out, and a
//! user's action on a tile becomes a sequence of [`TimedPublish`]es that
//! the app hands to its MQTT client. No sockets, no clock (time is passed
//! in as milliseconds), no UI. The key trade-off: a toggle never shows the
//! state it *asked* for; it shows *pending* until the device itself reports
//! the new state, and an error if it does not within [`PENDING_TIMEOUT_MS`].
//!
//! Shape: the model ([`Device`], [`Outlet`], [`Readings`], …), the
//! [`Adapter`] seam one file per ecosystem implements (in `adapters/`, listed
//! once in `adapters::all`), a [`Router`] that dispatches by topic filter,
//! and the [`Dashboard`] of one connection that applies what adapters
//! report, and a [`FramePacer`] that paces how many changed tiles a page
//! refreshes per animation frame.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod adapter;
mod adapters;
mod dashboard;
mod model;
pub mod netio_flex;
mod pacing;
mod router;

pub use mqtt_codec::QoS;

pub use crate::adapter::{off_then_on, Adapter, Change, Output};
pub use crate::adapters::custom::CustomTile;
pub use crate::adapters::Topics;
pub use crate::dashboard::{Dashboard, Update, SCAN_INTERVAL_MS};
pub use crate::model::{
    sparkline, Action, ConnectionId, Device, DeviceKey, Difference, Family, Liveness, Outlet,
    Pending, Power, PublishRequest, Readings, TimedPublish, DEFAULT_CYCLE_OFF_MS,
    DEFAULT_MAX_DEVICES, HISTORY_LEN, HISTORY_MS, MAX_ID_LEN, PENDING_TIMEOUT_MS,
    QUERIES_PER_SECOND, STALE_PERIODS,
};
pub use crate::pacing::{FramePacer, RENDER_BUDGET_MS};
pub use crate::router::Router;
