//! What the client asks for when it connects, and how it reconnects.

use alloc::string::String;
use alloc::vec::Vec;

use mqtt_codec::{Bytes, LastWill, Properties, Protocol};

/// Connection parameters, with defaults a dashboard wants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Protocol version. Default MQTT 3.1.1, which every broker speaks.
    pub protocol: Protocol,
    /// Client identifier. Empty asks an MQTT 5 server to assign one (the
    /// assigned id is then used on reconnects). Brokers drop an older
    /// connection with the same id.
    pub client_id: String,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (needs a user name in MQTT 3.1.1).
    pub password: Option<Bytes>,
    /// Keep-alive in seconds; 0 turns it off. Default 30. An MQTT 5 server
    /// may override it (Server Keep Alive), and the engine follows.
    pub keep_alive_secs: u16,
    /// Clean session (3.1.1) / clean start (5.0) on the first connection:
    /// start without any stored session. Default true. Reconnects ask to
    /// resume the session when this is false.
    pub clean_start: bool,
    /// MQTT 5: how long the broker keeps the session after a disconnect, in
    /// seconds (0: until the connection ends; `u32::MAX`: forever).
    pub session_expiry_secs: Option<u32>,
    /// Last will, published by the broker if we vanish. In MQTT 5 its
    /// properties carry e.g. the will delay.
    pub will: Option<LastWill>,
    /// MQTT 5: QoS 1/2 publishes we accept in flight at once (Receive
    /// Maximum). `None`: the protocol default, 65 535.
    pub receive_maximum: Option<u16>,
    /// QoS 1/2 publishes we keep in flight at most (sent, not yet
    /// acknowledged); the limit used is the smaller of this and the broker's
    /// Receive Maximum. Default 20: an MQTT 3.1.1 broker cannot announce a
    /// limit, and mosquitto's default (`max_inflight_messages 20`) refuses
    /// what exceeds it with a PUBACK a 3.1.1 client reads as success.
    pub max_in_flight: u16,
    /// MQTT 5: topic aliases we accept from the broker. Default 32.
    pub topic_alias_maximum: u16,
    /// MQTT 5: user properties sent in CONNECT.
    pub user_properties: Vec<(String, String)>,
    /// How long to wait for CONNACK and for PINGRESP, in milliseconds.
    /// Default 10 000.
    pub response_timeout_ms: u64,
    /// Largest packet accepted from the broker, in bytes; told to an MQTT 5
    /// broker as Maximum Packet Size. Default 1 MiB.
    pub max_packet_size: usize,
    /// Reconnect after a lost connection, or not. Default on.
    pub reconnect: Option<Backoff>,
    /// Seed for the reconnect jitter: pass randomness in production, a
    /// constant in tests. The engine has no random source of its own.
    pub jitter_seed: u64,
}

/// Exponential backoff with jitter for reconnects.
///
/// The n-th consecutive failed attempt waits a random time between half and
/// all of `min(max_ms, initial_ms · 2ⁿ)`; after a connection that stayed up
/// for `stable_ms` the count starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry. Default 500 ms.
    pub initial_ms: u64,
    /// Largest delay. Default 30 s.
    pub max_ms: u64,
    /// A connection up this long resets the delay. Default 10 s.
    pub stable_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_ms: 500,
            max_ms: 30_000,
            stable_ms: 10_000,
        }
    }
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
            session_expiry_secs: None,
            will: None,
            receive_maximum: None,
            max_in_flight: 20,
            topic_alias_maximum: 32,
            user_properties: Vec::new(),
            response_timeout_ms: 10_000,
            max_packet_size: 1 << 20,
            reconnect: Some(Backoff::default()),
            jitter_seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The CONNECT properties these options ask for (MQTT 5).
    pub(crate) fn connect_properties(&self) -> Properties {
        let mut p = Properties::default();
        if self.protocol != Protocol::V5 {
            return p;
        }
        if let Some(secs) = self.session_expiry_secs {
            p.session_expiry_interval = Some(secs);
        }
        if let Some(max) = self.receive_maximum {
            p.receive_maximum = Some(max.max(1));
        }
        if self.topic_alias_maximum > 0 {
            p.topic_alias_maximum = Some(self.topic_alias_maximum);
        }
        if let Ok(max) = u32::try_from(self.max_packet_size) {
            p.maximum_packet_size = Some(max.max(1));
        }
        if !self.user_properties.is_empty() {
            p.user_properties = self.user_properties.clone();
        }
        p
    }
}
