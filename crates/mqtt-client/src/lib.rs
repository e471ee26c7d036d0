//! A sans-IO MQTT session engine.
//!
//! The contract, after quinn-proto: **no sockets, no clock, no timers, no
//! async runtime.** Bytes received and the current time (monotonic
//! milliseconds, from any origin the caller likes) go in; bytes to send,
//! events and the next deadline come out. The same engine therefore runs
//! over the browser's WebSocket, over TCP in devsim and the tests, and on a
//! virtual clock in unit tests. The trade-off: the caller owns the loop and
//! must poll after every input (see [`Client`] for the order).
//!
//! This first cut speaks MQTT 3.1.1 with QoS 0 in both directions:
//! CONNECT/CONNACK with a connect timeout, SUBSCRIBE/SUBACK, PUBLISH,
//! keep-alive with PINGREQ/PINGRESP and a dead-connection timeout, and
//! DISCONNECT. QoS 1/2, MQTT 5 and reconnect follow.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

extern crate alloc;

mod client;
mod options;

pub use mqtt_codec::{
    Bytes, LastWill, Properties, Protocol, Publish, QoS, ReasonCode, SubscribeFilter,
};

pub use crate::client::{Client, ConnectionError, Event, PublishError, SessionState};
pub use crate::options::ConnectOptions;
