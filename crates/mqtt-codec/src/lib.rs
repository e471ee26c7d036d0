//! MQTT packet codec: bytes in, packets out, and back.
//!
//! The contract: no I/O, no clock, no allocation beyond the packet being
//! built. The one trade-off worth knowing up front is that decoding is
//! **incremental and bounded**: [`Decoder`] accepts bytes exactly as a
//! transport delivers them (a WebSocket message may hold several packets or
//! a fraction of one), reports "need more" as `Ok(None)` rather than as an
//! error, and refuses a packet whose declared size exceeds the configured
//! maximum *before* it buffers the body. Its buffer grows with the bytes that
//! arrive, never ahead of them to a size a peer declared. Payloads are
//! [`Bytes`] slices of the received buffer, not copies.
//!
//! All fifteen packet types of MQTT 3.1.1 and 5.0 share one code path:
//! every `encode`/`decode` takes a [`Protocol`], and MQTT 5's additions
//! (properties, reason codes, subscription options) are fields that stay
//! empty in 3.1.1. Every check the specification words as a MUST is made,
//! with the spec's sentence beside it.
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
mod properties;
mod reader;
mod reason;
mod scan;
mod size;
mod topic;
mod varint;
mod writer;

pub use bytes::Bytes;

pub use crate::decoder::{decode_slice, Decoder, FixedHeader};
pub use crate::error::{DecodeError, EncodeError};
pub use crate::packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, PacketType, Protocol, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck,
    Unsubscribe,
};
pub use crate::properties::{Properties, PropertyValues};
pub use crate::reason::ReasonCode;
pub use crate::size::ByteSize;
pub use crate::topic::{covers, is_valid_topic_filter, is_valid_topic_name, matches};
pub use crate::varint::MAX_REMAINING_LENGTH;
