//! The session state machine.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;

use mqtt_codec::{
    ConnAck, Connect, DecodeError, Decoder, Disconnect, EncodeError, Packet, Properties, Publish,
    QoS, ReasonCode, SubAck, Subscribe, SubscribeFilter,
};

use crate::options::ConnectOptions;

/// An MQTT session over one transport connection at a time.
///
/// Methods come in four kinds, as in quinn-proto:
///
/// - **getters** take `&self`: [`Client::state`], [`Client::options`];
/// - **handlers** feed input: [`Client::handle_bytes`] (bytes received),
///   [`Client::handle_timeout`] (a deadline from `poll_timeout` passed),
///   [`Client::handle_transport_closed`] (the socket went away);
/// - **mutators** are the user's requests: [`Client::connect`] (call once
///   the transport is open), [`Client::publish`], [`Client::subscribe`],
///   [`Client::disconnect`];
/// - **polls** drain output: [`Client::poll_transmit`],
///   [`Client::poll_event`], [`Client::poll_timeout`].
///
/// After every handler or mutator call, poll in this order: send everything
/// `poll_transmit` yields; handle every `poll_event`; then arm one timer for
/// `poll_timeout` (replacing the previous one). When an
/// [`Event::Disconnected`] comes out, send what `poll_transmit` still yields
/// and close the transport.
///
/// Time is monotonic milliseconds passed in by the caller; the engine never
/// reads a clock. Calling `handle_timeout` early or twice is harmless.
#[derive(Debug)]
pub struct Client {
    options: ConnectOptions,
    state: SessionState,
    decoder: Decoder,
    transmit: Vec<u8>,
    events: VecDeque<Event>,
    last_packet_id: u16,
    /// When CONNACK must have arrived by.
    connack_deadline: Option<u64>,
    /// When we last sent anything: keep-alive counts from here (§3.1.2.10).
    last_sent: u64,
    /// When an unanswered PINGREQ went out.
    ping_sent: Option<u64>,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No transport, or the last connection ended.
    Disconnected,
    /// CONNECT sent, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted.
    Connected,
}

/// Something the caller should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The broker accepted the connection.
    Connected {
        /// Whether the broker resumed a stored session.
        session_present: bool,
    },
    /// A message arrived on a subscription.
    Message(Publish),
    /// The broker answered a SUBSCRIBE.
    Subscribed {
        /// The identifier [`Client::subscribe`] returned.
        packet_id: u16,
        /// One result per filter, in the order asked.
        results: Vec<ReasonCode>,
    },
    /// The connection is over; close the transport once transmits are sent.
    Disconnected(ConnectionError),
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The broker refused the CONNECT.
    Refused(ReasonCode),
    /// No CONNACK within the response timeout.
    ConnectTimeout,
    /// No PINGRESP within the response timeout: the connection is dead.
    KeepAliveTimeout,
    /// The broker sent bytes that are not valid MQTT.
    Malformed(DecodeError),
    /// The broker sent a packet that is valid but not allowed here.
    ProtocolViolation(&'static str),
    /// The transport closed underneath us.
    TransportClosed,
    /// We asked to disconnect.
    LocallyClosed,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(code) => {
                write!(f, "broker refused the connection: {}", code.description())
            }
            Self::ConnectTimeout => f.write_str("no answer to CONNECT from the broker in time"),
            Self::KeepAliveTimeout => f.write_str("broker stopped answering keep-alive pings"),
            Self::Malformed(err) => write!(f, "broker sent a malformed packet: {err}"),
            Self::ProtocolViolation(what) => write!(f, "broker broke the protocol: {what}"),
            Self::TransportClosed => f.write_str("connection closed"),
            Self::LocallyClosed => f.write_str("disconnected"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConnectionError {}

/// Why a publish or subscribe request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// Not connected: QoS 0 messages are not queued while offline.
    NotConnected,
    /// Only QoS 0 is implemented so far.
    QoSUnsupported,
    /// The packet cannot be encoded (bad topic, too large, …).
    Invalid(EncodeError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected to a broker"),
            Self::QoSUnsupported => f.write_str("only QoS 0 is supported so far"),
            Self::Invalid(err) => write!(f, "invalid request: {err}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PublishError {}

impl Client {
    /// A disconnected client with these options.
    pub fn new(options: ConnectOptions) -> Self {
        let decoder = Decoder::new(options.protocol, options.max_packet_size);
        Self {
            options,
            state: SessionState::Disconnected,
            decoder,
            transmit: Vec::new(),
            events: VecDeque::new(),
            last_packet_id: 0,
            connack_deadline: None,
            last_sent: 0,
            ping_sent: None,
        }
    }

    /// Where the session stands.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The options the client connects with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Starts a session on a freshly opened transport: queues CONNECT.
    pub fn connect(&mut self, now: u64) -> Result<(), PublishError> {
        self.decoder.reset();
        self.transmit.clear();
        self.ping_sent = None;
        let connect = Connect {
            protocol: self.options.protocol,
            client_id: self.options.client_id.clone(),
            clean_start: self.options.clean_start,
            properties: Properties::default(),
            keep_alive: self.options.keep_alive_secs,
            will: self.options.will.clone(),
            username: self.options.username.clone(),
            password: self.options.password.clone(),
        };
        self.send(now, &connect.into())
            .map_err(PublishError::Invalid)?;
        self.state = SessionState::Connecting;
        self.connack_deadline = Some(now + self.options.response_timeout_ms);
        Ok(())
    }

    /// Publishes a QoS 0 message.
    pub fn publish(&mut self, now: u64, publish: Publish) -> Result<(), PublishError> {
        if self.state != SessionState::Connected {
            return Err(PublishError::NotConnected);
        }
        if publish.qos != QoS::AtMostOnce {
            return Err(PublishError::QoSUnsupported);
        }
        self.send(now, &publish.into())
            .map_err(PublishError::Invalid)
    }

    /// Subscribes to `filters`; returns the packet identifier the matching
    /// [`Event::Subscribed`] will carry.
    pub fn subscribe(
        &mut self,
        now: u64,
        filters: Vec<SubscribeFilter>,
    ) -> Result<u16, PublishError> {
        if self.state != SessionState::Connected {
            return Err(PublishError::NotConnected);
        }
        let packet_id = self.next_packet_id();
        self.send(now, &Subscribe::new(packet_id, filters).into())
            .map_err(PublishError::Invalid)?;
        Ok(packet_id)
    }

    /// Ends the session cleanly: queues DISCONNECT (so the broker discards
    /// the will) and emits [`Event::Disconnected`].
    pub fn disconnect(&mut self, now: u64) {
        if self.state == SessionState::Connected {
            // DISCONNECT always encodes.
            let _ = self.send(now, &Disconnect::normal().into());
        }
        self.close(ConnectionError::LocallyClosed);
    }

    /// Feeds bytes received from the transport.
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        if self.state == SessionState::Disconnected {
            return;
        }
        self.decoder.feed(bytes);
        loop {
            match self.decoder.next_packet() {
                Ok(Some(packet)) => self.handle_packet(now, packet),
                Ok(None) => return,
                Err(err) => return self.close(ConnectionError::Malformed(err)),
            }
            if self.state == SessionState::Disconnected {
                return;
            }
        }
    }

    /// Tells the engine the transport closed (or failed to open).
    pub fn handle_transport_closed(&mut self, _now: u64) {
        if self.state != SessionState::Disconnected {
            self.close(ConnectionError::TransportClosed);
        }
    }

    /// Acts on deadlines that have passed: connect timeout, keep-alive.
    pub fn handle_timeout(&mut self, now: u64) {
        if self
            .connack_deadline
            .is_some_and(|deadline| now >= deadline)
        {
            return self.close(ConnectionError::ConnectTimeout);
        }
        if let Some(sent) = self.ping_sent {
            if now >= sent + self.options.response_timeout_ms {
                self.close(ConnectionError::KeepAliveTimeout);
            }
        } else if let Some(due) = self.ping_due() {
            if now >= due {
                // PINGREQ always encodes.
                let _ = self.send(now, &Packet::PingReq);
                self.ping_sent = Some(now);
            }
        }
    }

    /// Moves all bytes waiting to be sent into `out`; false if none.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        out.append(&mut self.transmit);
        true
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.state == SessionState::Disconnected {
            return None;
        }
        if let Some(deadline) = self.connack_deadline {
            return Some(deadline);
        }
        match self.ping_sent {
            Some(sent) => Some(sent + self.options.response_timeout_ms),
            None => self.ping_due(),
        }
    }

    /// When keep-alive requires a PINGREQ: "It is the responsibility of the
    /// Client to ensure that the interval between Control Packets being sent
    /// does not exceed the Keep Alive value" (§3.1.2.10).
    fn ping_due(&self) -> Option<u64> {
        let keep_alive_ms = u64::from(self.options.keep_alive_secs) * 1000;
        (self.state == SessionState::Connected && keep_alive_ms > 0)
            .then(|| self.last_sent + keep_alive_ms)
    }

    fn handle_packet(&mut self, now: u64, packet: Packet) {
        match (self.state, packet) {
            (
                SessionState::Connecting,
                Packet::ConnAck(ConnAck {
                    session_present,
                    reason_code,
                    ..
                }),
            ) => {
                self.connack_deadline = None;
                if !reason_code.is_success() {
                    return self.close(ConnectionError::Refused(reason_code));
                }
                self.state = SessionState::Connected;
                self.last_sent = now;
                self.events.push_back(Event::Connected { session_present });
            }
            (SessionState::Connecting, _) => {
                // "The first packet sent from the Server to the Client MUST be
                // a CONNACK Packet" [MQTT-3.2.0-1].
                self.close(ConnectionError::ProtocolViolation(
                    "first packet was not CONNACK",
                ))
            }
            (_, Packet::Publish(publish)) if publish.qos == QoS::AtMostOnce => {
                self.events.push_back(Event::Message(publish));
            }
            (_, Packet::Publish(_)) => {
                // Every subscription is QoS 0, and "the Server MUST deliver the
                // message to the Client respecting the maximum QoS of all the
                // matching subscriptions" [MQTT-3.3.5-1].
                self.close(ConnectionError::ProtocolViolation(
                    "QoS above the subscription's",
                ))
            }
            (
                _,
                Packet::SubAck(SubAck {
                    packet_id,
                    reason_codes,
                    ..
                }),
            ) => {
                self.events.push_back(Event::Subscribed {
                    packet_id,
                    results: reason_codes,
                });
            }
            (_, Packet::PingResp) => self.ping_sent = None,
            (_, _) => self.close(ConnectionError::ProtocolViolation(
                "a packet a server must not send to a client",
            )),
        }
    }

    fn send(&mut self, now: u64, packet: &Packet) -> Result<(), EncodeError> {
        let len = self.transmit.len();
        if let Err(err) = packet.encode(self.options.protocol, &mut self.transmit) {
            self.transmit.truncate(len);
            return Err(err);
        }
        self.last_sent = now;
        Ok(())
    }

    fn close(&mut self, error: ConnectionError) {
        self.state = SessionState::Disconnected;
        self.connack_deadline = None;
        self.ping_sent = None;
        self.decoder.reset();
        self.events.push_back(Event::Disconnected(error));
    }

    fn next_packet_id(&mut self) -> u16 {
        // Identifiers are 1..=65535 (§2.3.1); with QoS 0 only SUBSCRIBE
        // uses them, so wrapping cannot collide with anything in flight.
        self.last_packet_id = self.last_packet_id.checked_add(1).unwrap_or(1);
        self.last_packet_id
    }
}
