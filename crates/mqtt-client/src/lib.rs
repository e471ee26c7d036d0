//! A sans-IO MQTT session engine.
//!
//! The contract, after quinn-proto: **no sockets, no clock, no timers, no
//! async runtime.** Bytes received and the current time (monotonic
//! milliseconds, from any origin the caller likes) go in; bytes to send,
//! events and the next deadline come out. The same engine therefore runs
//! over the browser's WebSocket, over TCP in devsim and the tests, and on a
//! virtual clock in unit tests. The trade-off: the caller owns the loop and
//! must poll after every input (see [`Client`] for the order and for what
//! the engine guarantees).
//!
//! MQTT 3.1.1 and 5.0; QoS 0, 1 and 2 both ways; keep-alive; sessions that
//! survive reconnects; reconnect with exponential backoff and seeded
//! jitter; MQTT 5 flow control, topic aliases, reason codes and server
//! disconnects.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

extern crate alloc;

mod backoff;
mod client;
mod inflight;
mod options;

pub use mqtt_codec::{
    Bytes, LastWill, Properties, Protocol, Publish, QoS, ReasonCode, SubscribeFilter,
};

pub use crate::client::{Client, ConnectionError, Event, PublishError, SessionState, TopicAlias};
pub use crate::options::{Backoff, ConnectOptions};
