//! MQTT packet codec: bytes in, packets out, and back.
//!
//! The contract: no I/O, no clock, no allocation beyond the packet being
//! built. The one trade-off worth knowing up front is that decoding is
//! **incremental and bounded**: [`Decoder`] accepts bytes exactly as a
//! transport delivers them (a WebSocket message may hold several packets or
//! a fraction of one), reports "need more" as `Ok(None)` rather than as an
//! error, and refuses a packet whose declared size exceeds the configured
//! maximum *before* it buffers the body. Payloads are [`Bytes`] slices of the
//! received buffer, not copies.
//!
//! Protocol versions share one code path: every `encode`/`decode` takes a
//! [`Protocol`]. This first cut implements MQTT 3.1.1 (level 4) for CONNECT,
//! CONNACK, PUBLISH, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP and DISCONNECT;
//! MQTT 5.0 and the remaining packet types are refused with a typed error
//! until they are built.
//!
//! ```
//! use mqtt_codec::{Decoder, Packet, Protocol};
//!
//! let mut decoder = Decoder::new(Protocol::V311, 1024);
//! decoder.feed(&[0xd0]); // PINGRESP, first byte only
//! assert_eq!(decoder.next_packet(), Ok(None)); // partial input is not an error
//! decoder.feed(&[0x00]);
//! assert_eq!(decoder.next_packet(), Ok(Some(Packet::PingResp)));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod decoder;
mod error;
mod packet;
mod reader;
mod topic;
mod varint;
mod writer;

pub use bytes::Bytes;

pub use crate::decoder::{decode_slice, Decoder, FixedHeader};
pub use crate::error::{DecodeError, EncodeError};
pub use crate::packet::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PacketType, Protocol, Publish, QoS,
    SubAck, SubAckReturnCode, Subscribe, SubscribeFilter,
};
pub use crate::topic::{is_valid_topic_filter, is_valid_topic_name, matches};
pub use crate::varint::MAX_REMAINING_LENGTH;
