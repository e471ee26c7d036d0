//! What the client asks for when it connects.

use alloc::string::String;

use mqtt_codec::{Bytes, LastWill, Protocol};

/// Connection parameters, with defaults a dashboard wants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Protocol version (only MQTT 3.1.1 for now).
    pub protocol: Protocol,
    /// Client identifier. Brokers drop an older connection with the same id.
    pub client_id: String,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (needs a user name in MQTT 3.1.1).
    pub password: Option<Bytes>,
    /// Keep-alive in seconds; 0 turns it off. Default 30.
    pub keep_alive_secs: u16,
    /// Clean session (3.1.1) / clean start (5.0): start without any stored
    /// session. Default true.
    pub clean_start: bool,
    /// Last will, published by the broker if we vanish.
    pub will: Option<LastWill>,
    /// How long to wait for CONNACK and for PINGRESP, in milliseconds.
    /// Default 10 000.
    pub response_timeout_ms: u64,
    /// Largest packet accepted from the broker, in bytes. Default 1 MiB.
    pub max_packet_size: usize,
}

impl ConnectOptions {
    /// Defaults with the given client id.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            protocol: Protocol::V311,
            client_id: client_id.into(),
            username: None,
            password: None,
            keep_alive_secs: 30,
            clean_start: true,
            will: None,
            response_timeout_ms: 10_000,
            max_packet_size: 1 << 20,
        }
    }
}
