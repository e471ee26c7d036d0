//! Connections to MQTT brokers, supervised.
//!
//! The session engine (`mqtt-client`) knows MQTT; this crate knows what a
//! dashboard must decide around it: when to open a connection and through
//! what, when to subscribe and when the engine renews, when a failure is
//! worth retrying and when to give up and say why, how long a handshake or
//! a CONNACK may take, whether to fall back from MQTT 5 to 3.1.1, and what
//! the user is shown at every step.
//!
//! Like the engine it is sans-IO: the network is a [`Transport`] (the
//! browser's WebSocket, the [`MemoryTransport`] the tests script, an in-page
//! broker), time is milliseconds passed in, and the caller arms one timer
//! for [`Supervisor::poll_timeout`]. The trade-off is the engine's: the
//! caller drives the loop, and in exchange every policy here is tested
//! natively on a virtual clock.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod doctor;
mod layout;
mod profile;
mod saved;
mod subscription;
mod supervisor;
mod transport;

pub use mqtt_client::{
    ConnectOptions, Protocol, Publish, QoS, ReasonCode, SubscribeFilter, TopicAlias,
};

pub use crate::doctor::{check_url, Cause, Diagnosis, PageContext};
pub use crate::layout::{
    add_custom_tile, CustomTile, CustomTileError, DeviceLayout, DeviceTopics, Layout, LayoutError,
    Section, MAX_CUSTOM_TILES, MAX_LABEL, MAX_LAYOUT_DEVICES,
};
pub use crate::profile::{
    from_share_fragment, share_fragment, Profile, ProfileError, Store, Version, Will, MAX_DOCUMENT,
    MAX_PROFILES, SCHEMA,
};
pub use crate::saved::{
    save_publish, SavedFormat, SavedPublish, SavedPublishError, MAX_SAVED_PAYLOAD,
    MAX_SAVED_PUBLISHES,
};
pub use crate::subscription::Subscription;
pub use crate::supervisor::{
    ConnectionId, Event, SendError, Settings, Stage, Status, Subscriptions, Supervisor,
    VersionChoice, HANDSHAKE_TIMEOUT_MS, MAX_PROTOCOL_ERRORS,
};
pub use crate::transport::{Call, Link, MemoryTransport, Transport};
