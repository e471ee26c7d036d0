//! The logic of a topic explorer and a message log: received messages in,
//! bounded copies kept, rows and rendered payloads out.
//!
//! Pure Rust: no UI, no sockets, no clock (time is passed in as
//! milliseconds). The app feeds every PUBLISH it receives, possibly tens of
//! thousands a second from a `#` subscription, into a [`TopicTree`] and a
//! [`MessageLog`]; once per animation frame, when their
//! [`generation`](TopicTree::generation) moved, it asks them for the rows
//! to show ([`TopicTree::rows`], [`MessageLog::view`]), and [`render`]s the
//! payload a user opens.
//!
//! The key trade-off is **bounded memory**: the explorer may be wrong by
//! omission, never by growing. Everything it keeps is an owned copy cut to a
//! configured size (a received payload is a slice of the whole WebSocket
//! buffer, and keeping the slice would keep the buffer), and every
//! collection has a cap: topics beyond [`TreeLimits::max_nodes`] are counted
//! and not stored, old history and old log entries are evicted, payloads
//! are cut and remember their length. The per-message path pays for that
//! with one payload copy, and otherwise costs one hash lookup and a walk up
//! the topic's levels; rendering-side work is done when the page asks.
//!
//! Shape: the [`TopicTree`] (with its [`TreeView`] rows and keyboard
//! [`navigate`]), the [`MessageLog`] ring with pause and [`LogFilter`],
//! the [`Message`] both keep, payload views ([`render`], [`human_bytes`]),
//! [`describe`] for MQTT 5 properties, and the publish form's [`Draft`]
//! (checked into a PUBLISH by [`Draft::build`]) with its [`Recent`] list.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod filter;
mod json;
mod log;
mod message;
mod nav;
mod pacer;
mod payload;
mod props;
mod publish;
mod tree;

pub use crate::audit::{AuditEntry, AuditLog, Outcome};
pub use crate::filter::{FilterError, TopicFilter};
pub use crate::log::{Entry, LogFilter, LogLimits, LogView, MessageLog};
pub use crate::message::Message;
pub use crate::nav::{navigate, Expansion, Key, Navigation};
pub use crate::pacer::RefreshPacer;
pub use crate::payload::{human_bytes, render, PayloadView, Rendered};
pub use crate::props::describe;
pub use crate::publish::{
    check_topic, Draft, DraftError, PayloadFormat, Recent, TopicError, MAX_PAYLOAD,
};
pub use crate::tree::{Node, Row, Rows, TopicTree, TreeLimits, TreeView};
