//! The seam to the network: open, send bytes, close.

use std::collections::VecDeque;
use std::fmt;

use crate::supervisor::ConnectionId;

/// One attempt to reach a broker: a connection and the serial number of the
/// socket opened for it. Events for an older link (a socket already given
/// up on) are ignored, so a transport need not worry about late callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Link {
    /// The connection this socket serves.
    pub connection: ConnectionId,
    /// Counts the sockets opened by one supervisor.
    pub serial: u32,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.connection, self.serial)
    }
}

/// Moves bytes to and from brokers. The supervisor calls it; what happens on
/// the wire comes back through [`crate::Supervisor::handle_opened`],
/// [`crate::Supervisor::handle_bytes`] and [`crate::Supervisor::handle_closed`],
/// never from inside these calls.
///
/// Implementations: the browser's WebSocket (in the app), the
/// [`MemoryTransport`] that tests script, an in-page broker.
pub trait Transport {
    /// Starts opening a connection to `url` for `link`. An error is a
    /// refusal on the spot (the browser throws on a bad URL, or on `ws://`
    /// from an `https` page); a failure later is a closed event.
    fn open(&mut self, link: Link, url: &str) -> Result<(), String>;

    /// Sends bytes on an open link. An error means they did not go out.
    fn send(&mut self, link: Link, bytes: &[u8]) -> Result<(), String>;

    /// Closes a link. No event for it is expected afterwards (and any that
    /// comes is ignored).
    fn close(&mut self, link: Link);
}

/// What a [`MemoryTransport`] was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `open(link, url)`.
    Open(Link, String),
    /// `send(link, bytes)`.
    Send(Link, Vec<u8>),
    /// `close(link)`.
    Close(Link),
}

/// A transport in memory: it records every call, and refuses to open or to
/// send when told to. Tests play the broker by reading the calls and
/// feeding answers to the supervisor.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    calls: VecDeque<Call>,
    /// The next `open` fails with this message.
    pub refuse_open: Option<String>,
    /// Every `send` fails with this message while set.
    pub refuse_send: Option<String>,
}

impl MemoryTransport {
    /// A transport that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the calls made since the last time.
    pub fn take_calls(&mut self) -> Vec<Call> {
        self.calls.drain(..).collect()
    }
}

impl Transport for MemoryTransport {
    fn open(&mut self, link: Link, url: &str) -> Result<(), String> {
        if let Some(message) = self.refuse_open.take() {
            return Err(message);
        }
        self.calls.push_back(Call::Open(link, url.to_owned()));
        Ok(())
    }

    fn send(&mut self, link: Link, bytes: &[u8]) -> Result<(), String> {
        if let Some(message) = &self.refuse_send {
            return Err(message.clone());
        }
        self.calls.push_back(Call::Send(link, bytes.to_vec()));
        Ok(())
    }

    fn close(&mut self, link: Link) {
        self.calls.push_back(Call::Close(link));
    }
}
