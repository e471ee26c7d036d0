//! The session state machine.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use mqtt_codec::{
    is_valid_topic_name, ConnAck, Connect, DecodeError, Decoder, Disconnect, EncodeError, Packet,
    Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe,
    SubscribeFilter, UnsubAck, Unsubscribe,
};

use crate::backoff::Schedule;
use crate::inflight::{Inflight, Pending};
use crate::options::ConnectOptions;

/// An MQTT session that outlives any one transport connection.
///
/// Methods come in four kinds, as in quinn-proto:
///
/// - **getters** take `&self`: [`Client::state`], [`Client::options`],
///   [`Client::queued`], [`Client::in_flight`];
/// - **handlers** feed input: [`Client::handle_bytes`] (bytes received),
///   [`Client::handle_timeout`] (a deadline from `poll_timeout` passed),
///   [`Client::handle_transport_closed`] (the socket went away, or could not
///   be opened);
/// - **mutators** are the user's requests: [`Client::connect`] (call once a
///   transport is open), [`Client::publish`], [`Client::subscribe`],
///   [`Client::unsubscribe`], [`Client::disconnect`];
/// - **polls** drain output: [`Client::poll_transmit`],
///   [`Client::poll_event`], [`Client::poll_timeout`].
///
/// After every handler or mutator call, poll in this order: send everything
/// `poll_transmit` yields; handle every `poll_event`; then arm one timer for
/// `poll_timeout` (replacing the previous one). When [`Event::Disconnected`]
/// comes out, send what `poll_transmit` still yields and close the
/// transport; when [`Event::Reconnect`] comes out, open a new transport and
/// call `connect`.
///
/// Time is monotonic milliseconds passed in by the caller; the engine never
/// reads a clock, has no random source but the seed in its options, and
/// does no I/O. Calling `handle_timeout` early or twice is harmless.
///
/// # Guarantees
///
/// - QoS 1 and 2 publishes, both ways, follow the spec's flows; packet
///   identifiers never collide; acknowledgements are found in O(1).
/// - An incoming QoS 2 message is delivered once, even if the broker
///   resends it before PUBREL.
/// - Outgoing QoS 1/2 publishes are sent in the order asked, and at most as
///   many are in flight as the broker's Receive Maximum and our own
///   [`ConnectOptions::max_in_flight`] allow.
/// - Across a lost connection the engine keeps unacknowledged QoS 1/2
///   PUBLISH and PUBREL. If the broker resumes the session they are resent
///   in order (PUBLISH with DUP set); if not, unacknowledged publishes are
///   sent again as new ones and subscriptions are renewed.
/// - QoS 0 messages are never queued: publishing one while disconnected
///   fails with [`PublishError::NotConnected`]. QoS 1/2 publishes made while
///   disconnected are queued (see [`Client::queued`]) and sent on connect.
/// - Nothing is persisted: state lives as long as this value.
#[derive(Debug)]
pub struct Client {
    options: ConnectOptions,
    state: SessionState,
    decoder: Decoder,
    transmit: Vec<u8>,
    events: VecDeque<Event>,
    inflight: Inflight,
    /// QoS 2 messages received (PUBREC sent), waiting for PUBREL.
    incoming_qos2: BTreeSet<u16>,
    /// Subscriptions the broker granted, to renew on a new session.
    subscriptions: Vec<SubscribeFilter>,
    /// What the broker told us in CONNACK.
    server: ServerLimits,
    /// Client id the broker assigned (MQTT 5, empty client id).
    assigned_client_id: Option<String>,
    /// Outgoing topic aliases (MQTT 5), per connection.
    aliases_out: BTreeMap<String, u16>,
    /// Packet identifiers of QoS 1/2 publishes sent without a topic alias
    /// ([`TopicAlias::Off`]); set afresh when an identifier is taken.
    no_alias: BTreeSet<u16>,
    /// Incoming topic aliases (MQTT 5), per connection; index = alias.
    aliases_in: Vec<Option<String>>,
    connack_deadline: Option<u64>,
    /// When we last sent anything: keep-alive counts from here.
    last_sent: u64,
    /// When an unanswered PINGREQ went out.
    ping_sent: Option<u64>,
    connected_at: Option<u64>,
    backoff: Option<Schedule>,
    reconnect_at: Option<u64>,
    /// The user disconnected, or the broker refused us: do not reconnect.
    stopped: bool,
    /// SUBSCRIBE packets (ours or renewals) waiting for their SUBACK.
    subscribing: usize,
}

/// Whether a PUBLISH may stand for its topic by a topic alias (MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicAlias {
    /// When the broker allows aliases: the first PUBLISH to a topic sets
    /// one, later ones send the alias instead of the topic.
    #[default]
    Auto,
    /// Always the whole topic.
    Off,
}

/// Limits the broker announced in CONNACK (MQTT 5), or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServerLimits {
    receive_maximum: u16,
    maximum_packet_size: Option<u32>,
    topic_alias_maximum: u16,
    keep_alive_secs: Option<u16>,
    maximum_qos: QoS,
    retain_available: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            keep_alive_secs: None,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
        }
    }
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
    /// A message arrived on a subscription (delivered once, also at QoS 2).
    Message(Publish),
    /// A QoS 1/2 publish completed: PUBACK or PUBCOMP with success.
    Published {
        /// The identifier [`Client::publish`] returned.
        packet_id: u16,
    },
    /// The broker refused a QoS 1/2 publish (MQTT 5 reason code ≥ 0x80,
    /// e.g. 0x87 not authorized).
    PublishFailed {
        /// The identifier [`Client::publish`] returned.
        packet_id: u16,
        /// Why.
        reason: ReasonCode,
        /// The broker's explanation, if it gave one.
        reason_string: Option<String>,
    },
    /// The broker answered a SUBSCRIBE.
    Subscribed {
        /// The identifier [`Client::subscribe`] returned (or an internal
        /// one when the engine renews subscriptions).
        packet_id: u16,
        /// The filters asked for, in order.
        filters: Vec<String>,
        /// One result per filter, in the order asked: the granted QoS or a
        /// failure (≥ 0x80).
        results: Vec<ReasonCode>,
    },
    /// The broker answered an UNSUBSCRIBE.
    Unsubscribed {
        /// The identifier [`Client::unsubscribe`] returned.
        packet_id: u16,
        /// One result per filter (MQTT 5; empty in MQTT 3.1.1).
        results: Vec<ReasonCode>,
    },
    /// The connection is over; close the transport once transmits are sent.
    Disconnected(ConnectionError),
    /// Time to reconnect: open a new transport, then call
    /// [`Client::connect`]. If it cannot be opened, call
    /// [`Client::handle_transport_closed`] and the engine schedules the next
    /// attempt.
    Reconnect,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The broker refused the CONNECT. Not retried.
    Refused {
        /// The CONNACK reason (MQTT 3.1.1 return codes are mapped: 5 → 0x87).
        reason: ReasonCode,
        /// The broker's explanation (MQTT 5), if any.
        reason_string: Option<String>,
    },
    /// No CONNACK within the response timeout.
    ConnectTimeout,
    /// No PINGRESP within the response timeout: the connection is dead.
    KeepAliveTimeout,
    /// The broker sent bytes that are not valid MQTT.
    Malformed(DecodeError),
    /// The broker sent a packet that is valid but not allowed here.
    ProtocolViolation(&'static str),
    /// The broker closed the session with a DISCONNECT (MQTT 5).
    ServerDisconnected {
        /// Why.
        reason: ReasonCode,
        /// The broker's explanation, if any.
        reason_string: Option<String>,
    },
    /// The transport closed underneath us.
    TransportClosed,
    /// We asked to disconnect.
    LocallyClosed,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let because = |f: &mut fmt::Formatter<'_>, s: &Option<String>| match s {
            Some(s) => write!(f, " ({s})"),
            None => Ok(()),
        };
        match self {
            Self::Refused {
                reason,
                reason_string,
            } => {
                write!(f, "broker refused the connection: {}", reason.description())?;
                because(f, reason_string)
            }
            Self::ConnectTimeout => f.write_str("no answer to CONNECT from the broker in time"),
            Self::KeepAliveTimeout => f.write_str("broker stopped answering keep-alive pings"),
            Self::Malformed(err) => write!(f, "broker sent a malformed packet: {err}"),
            Self::ProtocolViolation(what) => write!(f, "broker broke the protocol: {what}"),
            Self::ServerDisconnected {
                reason,
                reason_string,
            } => {
                write!(f, "broker closed the connection: {}", reason.description())?;
                because(f, reason_string)
            }
            Self::TransportClosed => f.write_str("connection closed"),
            Self::LocallyClosed => f.write_str("disconnected"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConnectionError {}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// Not connected: QoS 0 messages, subscriptions and disconnects need a
    /// connection.
    NotConnected,
    /// All 65 535 packet identifiers are in use.
    NoPacketId,
    /// Above the QoS the broker supports (MQTT 5 Maximum QoS).
    QoSNotSupported,
    /// The broker does not support retained messages (MQTT 5).
    RetainNotSupported,
    /// Larger than the broker accepts (MQTT 5 Maximum Packet Size).
    TooLarge,
    /// The packet cannot be encoded (bad topic, too long, …).
    Invalid(EncodeError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected to a broker"),
            Self::NoPacketId => f.write_str("too many requests in flight"),
            Self::QoSNotSupported => f.write_str("the broker does not support this QoS"),
            Self::RetainNotSupported => {
                f.write_str("the broker does not support retained messages")
            }
            Self::TooLarge => f.write_str("message larger than the broker accepts"),
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
        let backoff = options
            .reconnect
            .map(|b| Schedule::new(b, options.jitter_seed));
        Self {
            options,
            state: SessionState::Disconnected,
            decoder,
            transmit: Vec::new(),
            events: VecDeque::new(),
            inflight: Inflight::default(),
            incoming_qos2: BTreeSet::new(),
            subscriptions: Vec::new(),
            server: ServerLimits::default(),
            assigned_client_id: None,
            aliases_out: BTreeMap::new(),
            no_alias: BTreeSet::new(),
            aliases_in: Vec::new(),
            connack_deadline: None,
            last_sent: 0,
            ping_sent: None,
            connected_at: None,
            backoff,
            reconnect_at: None,
            stopped: false,
            subscribing: 0,
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

    /// QoS 1/2 publishes waiting to be sent (offline, or flow control).
    pub fn queued(&self) -> usize {
        self.inflight.queued()
    }

    /// QoS 1/2 publishes sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.inflight.in_flight()
    }

    /// Subscriptions the broker has granted (while a new session renews
    /// them: those being renewed).
    pub fn subscriptions(&self) -> &[SubscribeFilter] {
        &self.subscriptions
    }

    /// Whether a SUBSCRIBE (asked for, or a renewal) waits for its SUBACK.
    /// Until it comes, messages on those filters may not arrive yet.
    pub fn subscribing(&self) -> bool {
        self.subscribing > 0
    }

    /// When the engine will ask to reconnect ([`Event::Reconnect`]), if it
    /// is waiting to.
    pub fn reconnect_at(&self) -> Option<u64> {
        self.reconnect_at
    }

    /// Starts a session on a freshly opened transport: queues CONNECT.
    pub fn connect(&mut self, now: u64) {
        self.decoder.reset();
        self.transmit.clear();
        self.ping_sent = None;
        self.reconnect_at = None;
        self.stopped = false;
        self.aliases_out.clear();
        self.aliases_in.clear();
        self.server = ServerLimits::default();
        let client_id = match (&self.assigned_client_id, self.options.client_id.is_empty()) {
            (Some(assigned), true) => assigned.clone(),
            _ => self.options.client_id.clone(),
        };
        let connect = Connect {
            protocol: self.options.protocol,
            client_id,
            clean_start: self.options.clean_start,
            keep_alive: self.options.keep_alive_secs,
            properties: self.options.connect_properties(),
            will: self.options.will.clone(),
            username: self.options.username.clone(),
            password: self.options.password.clone(),
        };
        self.state = SessionState::Connecting;
        self.connack_deadline = Some(now + self.options.response_timeout_ms);
        if let Err(err) = self.send(now, &connect.into()) {
            // Bad options (a will topic with a wildcard, …): nothing to retry.
            self.stopped = true;
            self.close(now, ConnectionError::ProtocolViolation(encode_problem(err)));
        }
    }

    /// Publishes a message. QoS 0 needs a connection; QoS 1/2 is queued
    /// when disconnected or when the broker's Receive Maximum is reached,
    /// and returns the packet identifier its [`Event::Published`] or
    /// [`Event::PublishFailed`] will carry.
    pub fn publish(&mut self, now: u64, publish: Publish) -> Result<Option<u16>, PublishError> {
        self.publish_with(now, publish, TopicAlias::Auto)
    }

    /// As [`Client::publish`], choosing whether the PUBLISH may use a
    /// topic alias (MQTT 5): [`TopicAlias::Off`] always sends the whole
    /// topic, on its first sending and on a resend.
    pub fn publish_with(
        &mut self,
        now: u64,
        mut publish: Publish,
        alias: TopicAlias,
    ) -> Result<Option<u16>, PublishError> {
        if !is_valid_topic_name(&publish.topic) {
            return Err(PublishError::Invalid(EncodeError::InvalidTopicName));
        }
        if self.state == SessionState::Connected {
            if publish.qos > self.server.maximum_qos {
                return Err(PublishError::QoSNotSupported);
            }
            if publish.retain && !self.server.retain_available {
                return Err(PublishError::RetainNotSupported);
            }
        }
        if publish.qos == QoS::AtMostOnce {
            if self.state != SessionState::Connected {
                return Err(PublishError::NotConnected);
            }
            publish.packet_id = None;
            publish.dup = false;
            // Encoded once, straight into the transmit buffer; `send_publish`
            // checks the size there.
            return self
                .send_publish(now, publish, alias == TopicAlias::Auto)
                .map(|()| None);
        }
        // Queued for later: find out now whether it can ever be sent.
        self.check_size(&publish)?;
        publish.dup = false;
        let id = self
            .inflight
            .allocate_with(|id| {
                publish.packet_id = Some(id);
                Pending::Queued(publish)
            })
            .ok_or(PublishError::NoPacketId)?;
        if alias == TopicAlias::Off {
            self.no_alias.insert(id);
        } else {
            self.no_alias.remove(&id);
        }
        self.send_queued(now);
        Ok(Some(id))
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
        // Validate by encoding before taking an identifier.
        Packet::from(Subscribe::new(1, filters.clone()))
            .encode(self.options.protocol, &mut Vec::new())
            .map_err(PublishError::Invalid)?;
        let id = self
            .inflight
            .allocate(Pending::Subscribe(filters.clone()))
            .ok_or(PublishError::NoPacketId)?;
        self.subscribing += 1;
        self.send(now, &Subscribe::new(id, filters).into())
            .map_err(PublishError::Invalid)?;
        Ok(id)
    }

    /// Removes subscriptions; returns the packet identifier the matching
    /// [`Event::Unsubscribed`] will carry.
    pub fn unsubscribe(&mut self, now: u64, filters: Vec<String>) -> Result<u16, PublishError> {
        if self.state != SessionState::Connected {
            return Err(PublishError::NotConnected);
        }
        Packet::from(Unsubscribe::new(1, filters.clone()))
            .encode(self.options.protocol, &mut Vec::new())
            .map_err(PublishError::Invalid)?;
        let id = self
            .inflight
            .allocate(Pending::Unsubscribe(filters.clone()))
            .ok_or(PublishError::NoPacketId)?;
        self.send(now, &Unsubscribe::new(id, filters).into())
            .map_err(PublishError::Invalid)?;
        Ok(id)
    }

    /// Ends the session cleanly: queues DISCONNECT (so the broker discards
    /// the will), emits [`Event::Disconnected`] and stops reconnecting.
    pub fn disconnect(&mut self, now: u64) {
        self.stopped = true;
        self.reconnect_at = None;
        if self.state == SessionState::Connected {
            // DISCONNECT with reason 0 encodes in both versions.
            let _ = self.send(now, &Disconnect::normal().into());
        }
        if self.state != SessionState::Disconnected {
            self.close(now, ConnectionError::LocallyClosed);
        }
    }

    /// Brings a scheduled reconnect forward to `now` (a "retry now"
    /// button): the next [`Client::handle_timeout`] emits
    /// [`Event::Reconnect`]. Does nothing unless a reconnect is scheduled.
    pub fn reconnect_now(&mut self, now: u64) {
        if self.reconnect_at.is_some() {
            self.reconnect_at = Some(now);
        }
    }

    /// Schedules the next reconnect on the backoff even though the engine
    /// stopped (after a refused CONNECT): for refusals the caller knows to
    /// be temporary, such as "server unavailable" during a broker restart.
    /// Does nothing while connected or when reconnecting is off.
    pub fn resume_reconnecting(&mut self, now: u64) {
        if self.state != SessionState::Disconnected || self.reconnect_at.is_some() {
            return;
        }
        self.stopped = false;
        self.schedule_reconnect(now);
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
                Err(err) => {
                    // MQTT 5: tell the broker why before closing.
                    self.send_disconnect_reason(now, ReasonCode(err.reason_code()));
                    return self.close(now, ConnectionError::Malformed(err));
                }
            }
            if self.state == SessionState::Disconnected {
                return;
            }
        }
    }

    /// Tells the engine the transport closed, or could not be opened.
    pub fn handle_transport_closed(&mut self, now: u64) {
        if self.state != SessionState::Disconnected {
            self.close(now, ConnectionError::TransportClosed);
        } else if self.reconnect_at.is_none() {
            // A reconnect attempt failed before it could send CONNECT.
            self.schedule_reconnect(now);
        }
    }

    /// Acts on deadlines that have passed: connect timeout, keep-alive,
    /// reconnect.
    pub fn handle_timeout(&mut self, now: u64) {
        if self.reconnect_at.is_some_and(|at| now >= at) {
            self.reconnect_at = None;
            self.events.push_back(Event::Reconnect);
        }
        if self
            .connack_deadline
            .is_some_and(|deadline| now >= deadline)
        {
            return self.close(now, ConnectionError::ConnectTimeout);
        }
        if let Some(sent) = self.ping_sent {
            if now >= sent + self.options.response_timeout_ms {
                self.close(now, ConnectionError::KeepAliveTimeout);
            }
        } else if self.ping_due().is_some_and(|due| now >= due) {
            // PINGREQ always encodes.
            let _ = self.send(now, &Packet::PingReq);
            self.ping_sent = Some(now);
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
        let session = match self.state {
            SessionState::Disconnected => None,
            SessionState::Connecting => self.connack_deadline,
            SessionState::Connected => match self.ping_sent {
                Some(sent) => Some(sent + self.options.response_timeout_ms),
                None => self.ping_due(),
            },
        };
        match (session, self.reconnect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When keep-alive requires a PINGREQ: "It is the responsibility of the
    /// Client to ensure that the interval between MQTT Control Packets being
    /// sent does not exceed the Keep Alive value" (§3.1.2.10), which an MQTT
    /// 5 server may replace with its Server Keep Alive [MQTT-3.1.2-21].
    fn ping_due(&self) -> Option<u64> {
        let secs = self
            .server
            .keep_alive_secs
            .unwrap_or(self.options.keep_alive_secs);
        let keep_alive_ms = u64::from(secs) * 1000;
        (self.state == SessionState::Connected && keep_alive_ms > 0)
            .then(|| self.last_sent + keep_alive_ms)
    }

    fn handle_packet(&mut self, now: u64, packet: Packet) {
        if self.state == SessionState::Connecting {
            return match packet {
                Packet::ConnAck(connack) => self.handle_connack(now, connack),
                // "The first packet sent from the Server to the Client MUST
                // be a CONNACK packet" [MQTT-3.2.0-1].
                _ => self.violation(now, "first packet was not CONNACK"),
            };
        }
        match packet {
            Packet::Publish(publish) => self.handle_publish(now, publish),
            Packet::PubAck(ack) => self.handle_puback(now, ack),
            Packet::PubRec(rec) => self.handle_pubrec(now, rec),
            Packet::PubRel(rel) => self.handle_pubrel(now, rel),
            Packet::PubComp(comp) => self.handle_pubcomp(now, comp),
            Packet::SubAck(ack) => self.handle_suback(now, ack),
            Packet::UnsubAck(ack) => self.handle_unsuback(ack),
            Packet::PingResp => self.ping_sent = None,
            Packet::Disconnect(d) => {
                self.close(
                    now,
                    ConnectionError::ServerDisconnected {
                        reason: d.reason_code,
                        reason_string: d.properties.reason_string.clone(),
                    },
                );
            }
            Packet::ConnAck(_) => self.violation(now, "a second CONNACK"),
            Packet::Auth(_) => self.violation(now, "AUTH without extended authentication"),
            _ => self.violation(now, "a packet a server must not send to a client"),
        }
    }

    fn handle_connack(&mut self, now: u64, connack: ConnAck) {
        self.connack_deadline = None;
        let p = &connack.properties;
        if !connack.reason_code.is_success() {
            // Refused: retrying with the same credentials would not help.
            self.stopped = true;
            return self.close(
                now,
                ConnectionError::Refused {
                    reason: connack.reason_code,
                    reason_string: p.reason_string.clone(),
                },
            );
        }
        self.server = ServerLimits {
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            maximum_packet_size: p.maximum_packet_size,
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            keep_alive_secs: p.server_keep_alive,
            maximum_qos: p.maximum_qos.unwrap_or(QoS::ExactlyOnce),
            retain_available: p.retain_available.unwrap_or(true),
        };
        if let Some(id) = &p.assigned_client_identifier {
            self.assigned_client_id = Some(id.clone());
        }
        self.state = SessionState::Connected;
        self.connected_at = Some(now);
        self.last_sent = now;
        // A session is only resumed if we asked for one.
        let resumed = connack.session_present && !self.options.clean_start;
        self.events.push_back(Event::Connected {
            session_present: resumed,
        });
        self.resume(now, resumed);
    }

    /// After CONNACK: resend what the session needs, in order.
    fn resume(&mut self, now: u64, session_present: bool) {
        // What waited before this connection; taken before the renewal
        // below adds an entry of its own.
        let waiting = self.inflight.ids_in_order();
        if !session_present {
            // The broker has no state for us: its QoS 2 identifiers are
            // gone, and our subscriptions must be renewed.
            self.incoming_qos2.clear();
            // The list stays as it is while the renewal is under way, so a
            // caller looking at `subscriptions()` on `Connected` sees them
            // and does not subscribe a second time.
            // Filters whose SUBSCRIBE is still unanswered are resent below
            // as they were: not renewed twice.
            let unanswered: Vec<&str> = waiting
                .iter()
                .filter_map(|&id| match self.inflight.get(id) {
                    Some(Pending::Subscribe(f)) => Some(f),
                    _ => None,
                })
                .flatten()
                .map(|f| f.filter.as_str())
                .collect();
            let filters: Vec<SubscribeFilter> = self
                .subscriptions
                .iter()
                .filter(|s| !unanswered.contains(&s.filter.as_str()))
                .cloned()
                .collect();
            if !filters.is_empty() {
                if let Some(id) = self.inflight.allocate(Pending::Subscribe(filters.clone())) {
                    self.subscribing += 1;
                    let _ = self.send(now, &Subscribe::new(id, filters).into());
                }
            }
        }
        let mut requeue = Vec::new();
        for id in waiting {
            match self.inflight.get(id).cloned() {
                // "When a Client reconnects with Clean Start set to 0 and a
                // session is present, both the Client and Server MUST resend
                // any unacknowledged PUBLISH packets (where QoS > 0) and
                // PUBREL packets using their original Packet Identifiers"
                // [MQTT-4.4.0-1], with DUP set [MQTT-3.3.1-1].
                Some(Pending::PubAck(mut p) | Pending::PubRec(mut p)) if session_present => {
                    p.dup = true;
                    let alias = !self.no_alias.contains(&id);
                    let _ = self.send_publish(now, p, alias);
                }
                Some(Pending::PubComp) if session_present => {
                    let _ = self.send(now, &PubRel::new(id).into());
                }
                // A new session: the broker never saw these, or forgot them.
                Some(Pending::PubAck(p) | Pending::PubRec(p)) => {
                    self.inflight.set(id, Pending::Queued(p));
                    requeue.push(id);
                }
                Some(Pending::PubComp) => {
                    // PUBREC came back: the broker had the message.
                    self.inflight.remove(id);
                    self.events.push_back(Event::Published { packet_id: id });
                }
                Some(Pending::Subscribe(filters)) => {
                    let _ = self.send(now, &Subscribe::new(id, filters).into());
                }
                Some(Pending::Unsubscribe(filters)) => {
                    let _ = self.send(now, &Unsubscribe::new(id, filters).into());
                }
                Some(Pending::Queued(_)) | None => {}
            }
        }
        self.inflight.requeue(requeue);
        self.send_queued(now);
    }

    fn handle_publish(&mut self, now: u64, mut publish: Publish) {
        if let Some(alias) = publish.properties.topic_alias {
            // "A Topic Alias value of 0 or greater than the Topic Alias
            // Maximum is a Protocol Error" (§3.3.2.3.4).
            let slot = usize::from(alias);
            if alias > self.options.topic_alias_maximum || self.options.protocol != Protocol::V5 {
                return self.violation_with(
                    now,
                    ReasonCode::TOPIC_ALIAS_INVALID,
                    "topic alias out of range",
                );
            }
            if self.aliases_in.len() <= slot {
                self.aliases_in.resize(slot + 1, None);
            }
            if publish.topic.is_empty() {
                match &self.aliases_in[slot] {
                    Some(topic) => publish.topic = topic.clone(),
                    None => {
                        return self.violation_with(
                            now,
                            ReasonCode::TOPIC_ALIAS_INVALID,
                            "unknown topic alias",
                        )
                    }
                }
            } else {
                self.aliases_in[slot] = Some(publish.topic.clone());
            }
        }
        match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, _) => self.events.push_back(Event::Message(publish)),
            (QoS::AtLeastOnce, Some(id)) => {
                self.events.push_back(Event::Message(publish));
                let _ = self.send(now, &PubAck::new(id).into());
            }
            (QoS::ExactlyOnce, Some(id)) => {
                // Method A of §4.3.3: deliver on PUBLISH, remember the id until
                // PUBREL so a resent PUBLISH is not delivered twice.
                if self.incoming_qos2.insert(id) {
                    let limit = self.options.receive_maximum.unwrap_or(u16::MAX);
                    if self.incoming_qos2.len() > usize::from(limit) {
                        return self.violation_with(
                            now,
                            ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                            "more QoS 2 messages in flight than our Receive Maximum",
                        );
                    }
                    self.events.push_back(Event::Message(publish));
                }
                let _ = self.send(now, &PubRec::new(id).into());
            }
            // The codec guarantees an identifier for QoS > 0.
            _ => {}
        }
    }

    fn handle_puback(&mut self, now: u64, ack: PubAck) {
        // An acknowledgement for something else (or a duplicate after a
        // reconnect) changes nothing.
        if !matches!(self.inflight.get(ack.packet_id), Some(Pending::PubAck(_))) {
            return;
        }
        self.inflight.remove(ack.packet_id);
        self.complete(
            ack.packet_id,
            ack.reason_code,
            ack.properties.reason_string.clone(),
        );
        self.send_queued(now);
    }

    fn handle_pubrec(&mut self, now: u64, rec: PubRec) {
        let id = rec.packet_id;
        match self.inflight.get(id) {
            Some(Pending::PubRec(_)) if !rec.reason_code.is_success() => {
                // "If the PUBREC Reason Code is 0x80 or greater ... the
                // Packet Identifier is released" (§4.3.3); no PUBREL follows.
                self.inflight.remove(id);
                self.complete(id, rec.reason_code, rec.properties.reason_string.clone());
                self.send_queued(now);
            }
            Some(Pending::PubRec(_) | Pending::PubComp) => {
                self.inflight.set(id, Pending::PubComp);
                let _ = self.send(now, &PubRel::new(id).into());
            }
            _ if self.options.protocol == Protocol::V5 => {
                let rel = PubRel {
                    reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
                    ..PubRel::new(id)
                };
                let _ = self.send(now, &rel.into());
            }
            _ => {}
        }
    }

    fn handle_pubrel(&mut self, now: u64, rel: PubRel) {
        let known = self.incoming_qos2.remove(&rel.packet_id);
        let mut comp = PubComp::new(rel.packet_id);
        if !known && self.options.protocol == Protocol::V5 {
            comp.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        let _ = self.send(now, &comp.into());
    }

    fn handle_pubcomp(&mut self, now: u64, comp: PubComp) {
        if !matches!(self.inflight.get(comp.packet_id), Some(Pending::PubComp)) {
            return;
        }
        self.inflight.remove(comp.packet_id);
        self.complete(
            comp.packet_id,
            comp.reason_code,
            comp.properties.reason_string.clone(),
        );
        self.send_queued(now);
    }

    fn complete(&mut self, packet_id: u16, reason: ReasonCode, reason_string: Option<String>) {
        self.events.push_back(if reason.is_success() {
            Event::Published { packet_id }
        } else {
            Event::PublishFailed {
                packet_id,
                reason,
                reason_string,
            }
        });
    }

    fn handle_suback(&mut self, now: u64, ack: SubAck) {
        let Some(Pending::Subscribe(filters)) = self.inflight.get(ack.packet_id).cloned() else {
            return;
        };
        // "The SUBACK packet sent by the Server to the Client MUST contain a
        // return code for each Topic Filter/Subscription pair"
        // [MQTT-3.8.4-5]; one missing would leave a filter neither granted
        // nor refused.
        if ack.reason_codes.len() != filters.len() {
            return self.violation(now, "a SUBACK with a result count unlike the SUBSCRIBE's");
        }
        self.inflight.remove(ack.packet_id);
        self.subscribing -= 1;
        let names = filters.iter().map(|f| f.filter.clone()).collect();
        for (filter, code) in filters.into_iter().zip(&ack.reason_codes) {
            // A renewal the broker now refuses is no subscription any more.
            self.subscriptions.retain(|s| s.filter != filter.filter);
            if code.is_success() {
                self.subscriptions.push(filter);
            }
        }
        self.events.push_back(Event::Subscribed {
            packet_id: ack.packet_id,
            filters: names,
            results: ack.reason_codes,
        });
    }

    fn handle_unsuback(&mut self, ack: UnsubAck) {
        let Some(Pending::Unsubscribe(filters)) = self.inflight.get(ack.packet_id).cloned() else {
            return;
        };
        self.inflight.remove(ack.packet_id);
        self.subscriptions.retain(|s| !filters.contains(&s.filter));
        self.events.push_back(Event::Unsubscribed {
            packet_id: ack.packet_id,
            results: ack.reason_codes,
        });
    }

    /// Sends queued publishes while the broker's Receive Maximum allows:
    /// "The Client MUST NOT send more than Receive Maximum QoS 1 and QoS 2
    /// PUBLISH packets for which it has not received PUBACK, PUBCOMP, or
    /// PUBREC with a Reason Code of 128 or greater" [MQTT-3.3.4-7].
    fn send_queued(&mut self, now: u64) {
        if self.state != SessionState::Connected {
            return;
        }
        let limit = self
            .server
            .receive_maximum
            .min(self.options.max_in_flight.max(1));
        let mut in_flight = self.inflight.in_flight();
        while in_flight < usize::from(limit) {
            let Some(id) = self.inflight.pop_queued() else {
                return;
            };
            let Some(Pending::Queued(publish)) = self.inflight.get(id).cloned() else {
                continue;
            };
            let next = match publish.qos {
                QoS::AtLeastOnce => Pending::PubAck(publish.clone()),
                _ => Pending::PubRec(publish.clone()),
            };
            self.inflight.set(id, next);
            let alias = !self.no_alias.contains(&id);
            if let Err(err) = self.send_publish(now, publish, alias) {
                // Cannot happen for a publish accepted by `publish`; report
                // it rather than retry forever.
                self.inflight.remove(id);
                let reason = ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR;
                self.events.push_back(Event::PublishFailed {
                    packet_id: id,
                    reason,
                    reason_string: Some(alloc::format!("{err}")),
                });
                continue;
            }
            in_flight += 1;
        }
    }

    /// Sends a PUBLISH, with a topic alias when `alias` allows one and the
    /// broker allows them, and refuses it if it is larger than the broker
    /// accepts.
    fn send_publish(&mut self, now: u64, mut p: Publish, alias: bool) -> Result<(), PublishError> {
        let max = self.server.topic_alias_maximum;
        let new_alias = if alias && max > 0 && self.options.protocol == Protocol::V5 {
            self.apply_topic_alias(&mut p, max)
        } else {
            None
        };
        let start = self.transmit.len();
        let sent = self.send(now, &p.into()).map_err(PublishError::Invalid);
        // "The Client MUST NOT send packets exceeding Maximum Packet Size to
        // the Server" [MQTT-3.1.2-24].
        let too_large = self
            .server
            .maximum_packet_size
            .is_some_and(|limit| self.transmit.len() - start > limit as usize);
        let result = match sent {
            Ok(()) if too_large => {
                self.transmit.truncate(start);
                Err(PublishError::TooLarge)
            }
            other => other,
        };
        if let (Err(_), Some(topic)) = (&result, new_alias) {
            // The broker never learned this alias.
            self.aliases_out.remove(&topic);
        }
        result
    }

    /// Gives `p` a topic alias; returns the topic if the alias is new.
    fn apply_topic_alias(&mut self, p: &mut Publish, max: u16) -> Option<String> {
        match self.aliases_out.get(&p.topic) {
            Some(&alias) => {
                // Known: the alias alone stands for the topic.
                p.topic = String::new();
                p.properties.topic_alias = Some(alias);
                None
            }
            None if self.aliases_out.len() < usize::from(max) => {
                // The newest alias is the highest, so forgetting it (should
                // the send fail) keeps the numbering dense.
                let alias = self.aliases_out.len() as u16 + 1;
                self.aliases_out.insert(p.topic.clone(), alias);
                p.properties.topic_alias = Some(alias);
                Some(p.topic.clone())
            }
            None => None,
        }
    }

    fn check_size(&self, publish: &Publish) -> Result<(), PublishError> {
        let mut probe = publish.clone();
        if probe.qos != QoS::AtMostOnce {
            probe.packet_id = Some(1);
        }
        let mut bytes = Vec::new();
        Packet::from(probe)
            .encode(self.options.protocol, &mut bytes)
            .map_err(PublishError::Invalid)?;
        // "The Client MUST NOT send packets exceeding Maximum Packet Size to
        // the Server" [MQTT-3.1.2-24].
        match self.server.maximum_packet_size {
            Some(max) if bytes.len() > max as usize => Err(PublishError::TooLarge),
            _ => Ok(()),
        }
    }

    fn send(&mut self, now: u64, packet: &Packet) -> Result<(), EncodeError> {
        packet.encode(self.options.protocol, &mut self.transmit)?;
        self.last_sent = now;
        Ok(())
    }

    fn send_disconnect_reason(&mut self, now: u64, reason: ReasonCode) {
        if self.options.protocol == Protocol::V5 && self.state == SessionState::Connected {
            let _ = self.send(
                now,
                &Disconnect {
                    reason_code: reason,
                    ..Disconnect::normal()
                }
                .into(),
            );
        }
    }

    fn violation(&mut self, now: u64, what: &'static str) {
        self.violation_with(now, ReasonCode::PROTOCOL_ERROR, what);
    }

    fn violation_with(&mut self, now: u64, reason: ReasonCode, what: &'static str) {
        self.send_disconnect_reason(now, reason);
        self.close(now, ConnectionError::ProtocolViolation(what));
    }

    fn close(&mut self, now: u64, error: ConnectionError) {
        if let Some(since) = self.connected_at.take() {
            if let Some(backoff) = &mut self.backoff {
                if now.saturating_sub(since) >= backoff.stable_ms() {
                    backoff.reset();
                }
            }
        }
        self.state = SessionState::Disconnected;
        self.connack_deadline = None;
        self.ping_sent = None;
        self.decoder.reset();
        if error == ConnectionError::LocallyClosed {
            self.stopped = true;
        }
        self.events.push_back(Event::Disconnected(error));
        self.schedule_reconnect(now);
    }

    fn schedule_reconnect(&mut self, now: u64) {
        if self.stopped {
            return;
        }
        if let Some(backoff) = &mut self.backoff {
            self.reconnect_at = Some(now + backoff.next_delay());
        }
    }
}

fn encode_problem(err: EncodeError) -> &'static str {
    match err {
        EncodeError::InvalidTopicName => "the will topic is not a valid topic name",
        EncodeError::NotInV311 => "these options need MQTT 5",
        EncodeError::FieldTooLong => "a connect field is longer than 65535 bytes",
        _ => "the CONNECT packet cannot be encoded",
    }
}
