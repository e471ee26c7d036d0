//! The connection supervisor: one engine per connection, and every policy
//! decision around it.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use mqtt_client::{
    Client, ConnectOptions, ConnectionError, Event as EngineEvent, Protocol, Publish, PublishError,
    ReasonCode, SubscribeFilter, TopicAlias,
};
use mqtt_codec::covers;

use crate::doctor::{self, Cause, Diagnosis, PageContext};
use crate::transport::{Link, Transport};

/// How long the WebSocket handshake may take. A silent server otherwise
/// gives no event for minutes (Chromium waits 240 s).
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// Consecutive connections ended by a protocol error before the supervisor
/// gives up on a broker.
pub const MAX_PROTOCOL_ERRORS: u32 = 3;

/// An accepted connection lost within this time counts as "dropped right
/// after it started"; [`TAKEOVER_LOSSES`] in a row suggest a client-id
/// takeover.
const TAKEOVER_WINDOW_MS: u64 = 5_000;

/// Accepted connections dropped at once, in a row, that make a takeover
/// the diagnosis.
const TAKEOVER_LOSSES: u32 = 3;

/// A connection up this long has proven the broker works: earlier protocol
/// errors are forgiven.
const STABLE_MS: u64 = 10_000;

/// Names one connection of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u32);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection {}", self.0)
    }
}

/// Which MQTT version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionChoice {
    /// MQTT 3.1.1 only.
    V311,
    /// MQTT 5.0 only.
    V5,
    /// MQTT 5.0, falling back to 3.1.1 when the broker turns it down
    /// (closes right after the CONNECT, or answers "unsupported protocol
    /// version").
    #[default]
    Auto,
}

/// What a connection is asked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The broker's WebSocket URL.
    pub url: String,
    /// Engine options: client id, credentials, keep-alive, session, will…
    /// (the protocol is set from `version`).
    pub options: ConnectOptions,
    /// Which MQTT version to speak.
    pub version: VersionChoice,
    /// Filters to subscribe to once connected. Subscribed once per session;
    /// the engine renews them on reconnects.
    pub subscriptions: Vec<SubscribeFilter>,
    /// The page the app runs in.
    pub page: PageContext,
}

/// How far a connection attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the socket (WebSocket handshake).
    Opening,
    /// The socket is open; CONNECT sent, waiting for CONNACK.
    Handshake,
}

/// Where the subscriptions stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriptions {
    /// None were asked for.
    NotAsked,
    /// A SUBSCRIBE waits for its SUBACK: messages may not arrive yet.
    Pending,
    /// The broker granted every filter.
    Granted,
    /// The broker refused some filters: each with its reason.
    Refused(Vec<(String, ReasonCode)>),
}

/// What to show for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not connected, not trying.
    Idle,
    /// An attempt is under way.
    Connecting {
        /// Counts attempts since the last accepted connection, from 1.
        attempt: u32,
        /// How far it got.
        stage: Stage,
    },
    /// The broker accepted the session.
    Connected {
        /// The MQTT version in use.
        protocol: Protocol,
        /// Whether the broker resumed a stored session.
        session_present: bool,
        /// Where the subscriptions stand.
        subscriptions: Subscriptions,
        /// Something worth saying, e.g. a fallback to MQTT 3.1.1.
        notice: Option<String>,
    },
    /// The connection was lost; another attempt follows.
    Reconnecting {
        /// Why the last attempt or connection ended.
        problem: Diagnosis,
        /// The number of the next attempt.
        attempt: u32,
        /// When it starts; `None` while the network is offline.
        retry_at: Option<u64>,
    },
    /// Given up; nothing more happens until the user connects again.
    Failed(Diagnosis),
}

impl Status {
    /// Connected, and no SUBACK outstanding: what is published now is
    /// answered on subscriptions that are in place.
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Connected { subscriptions, .. }
            if *subscriptions != Subscriptions::Pending)
    }
}

/// What the supervisor tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A connection's status changed to this.
    Status(ConnectionId, Status),
    /// A message arrived.
    Message(ConnectionId, Publish),
    /// A QoS 1/2 publish completed.
    Published {
        /// Which connection.
        connection: ConnectionId,
        /// The identifier `publish` returned.
        packet_id: u16,
    },
    /// The broker refused a QoS 1/2 publish.
    PublishFailed {
        /// Which connection.
        connection: ConnectionId,
        /// The identifier `publish` returned.
        packet_id: u16,
        /// Why.
        reason: ReasonCode,
        /// The broker's explanation, if any.
        reason_string: Option<String>,
    },
}

/// Why a publish was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No such connection.
    UnknownConnection,
    /// Not connected, or the subscriptions are not confirmed yet (a reply
    /// could be missed); the text says which.
    NotReady(&'static str),
    /// The engine refused it.
    Refused(PublishError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownConnection => f.write_str("no such connection"),
            Self::NotReady(why) => f.write_str(why),
            Self::Refused(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Owns one MQTT engine per connection and decides everything around them:
/// opening sockets through its [`Transport`], subscribing once per session
/// (the engine renews), handshake and CONNACK timeouts, retry or give up,
/// the MQTT 5 → 3.1.1 fallback, and the [`Status`] to show.
///
/// Sans-IO like the engine. Methods: getters ([`Supervisor::status`],
/// [`Supervisor::is_ready`], [`Supervisor::wants_bytes`],
/// [`Supervisor::transport`]); handlers for what the transport reports
/// ([`Supervisor::handle_opened`], [`Supervisor::handle_bytes`],
/// [`Supervisor::handle_closed`]) and for time
/// ([`Supervisor::handle_timeout`]); the user's requests
/// ([`Supervisor::connect`], [`Supervisor::disconnect`],
/// [`Supervisor::retry_now`], [`Supervisor::publish`],
/// [`Supervisor::set_online`]); and polls ([`Supervisor::poll_event`],
/// [`Supervisor::poll_timeout`]). After any call, drain `poll_event` and
/// arm one timer for `poll_timeout`.
///
/// Policy:
/// - A first attempt that fails is reported and not retried: it is most
///   often a wrong address. Once a connection was accepted, losses are
///   retried on the engine's backoff, and the status says when.
/// - A refused CONNECT is final; so is a broker that breaks the protocol
///   [`MAX_PROTOCOL_ERRORS`] connections in a row, and a client id that
///   another client keeps taking over.
/// - Publishing waits until the broker confirmed the subscriptions.
/// - While the network is offline, retries pause; back online, they
///   resume at once.
#[derive(Debug)]
pub struct Supervisor<T> {
    transport: T,
    connections: BTreeMap<ConnectionId, Connection>,
    events: VecDeque<Event>,
    serial: u32,
    online: bool,
}

#[derive(Debug)]
struct Connection {
    settings: Settings,
    client: Client,
    protocol: Protocol,
    /// This engine was asked to subscribe (it renews from then on).
    subscribe_sent: bool,
    /// Filters added by [`Supervisor::subscribe_more`] while they could not
    /// be sent: sent at the next connect.
    deferred: Vec<SubscribeFilter>,
    /// Filters to unsubscribe from at the next connect (the engine renews
    /// what it was granted).
    deferred_unsubscribe: Vec<String>,
    /// This session's subscriptions were confirmed once: a later SUBSCRIBE
    /// (more filters) does not make the connection "not ready" again.
    confirmed_once: bool,
    link: Option<Link>,
    /// The current link finished its handshake.
    opened: bool,
    handshake_deadline: Option<u64>,
    /// A SUBSCRIBE must be answered by then, or the connection is given
    /// up (publishing waits for it, so it must not wait forever).
    suback_deadline: Option<u64>,
    ever_connected: bool,
    attempts: u32,
    protocol_errors: u32,
    quick_losses: u32,
    connected_at: Option<u64>,
    /// Why the transport closed, for the engine's `TransportClosed`.
    lost_cause: Option<Cause>,
    notice: Option<String>,
    session_present: bool,
    refused: Vec<(String, ReasonCode)>,
    waiting_for_network: bool,
    status: Status,
}

/// What a connection's methods need from the supervisor besides itself.
struct Cx<'a, T> {
    id: ConnectionId,
    transport: &'a mut T,
    events: &'a mut VecDeque<Event>,
    serial: &'a mut u32,
    online: bool,
}

impl<T: Transport> Supervisor<T> {
    /// A supervisor with no connections, using `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            connections: BTreeMap::new(),
            events: VecDeque::new(),
            serial: 0,
            online: true,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, to change it (tests script it).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// A connection's status.
    pub fn status(&self, id: ConnectionId) -> Option<&Status> {
        self.connections.get(&id).map(|c| &c.status)
    }

    /// Every filter `id` wants, with whether the broker is asked for it
    /// (`false`: another filter covers it) and the broker's refusal, if it
    /// refused it.
    pub fn subscriptions(
        &self,
        id: ConnectionId,
    ) -> Vec<(SubscribeFilter, bool, Option<ReasonCode>)> {
        let Some(conn) = self.connections.get(&id) else {
            return Vec::new();
        };
        let sent = conn.sent_subscriptions();
        conn.settings
            .subscriptions
            .iter()
            .map(|f| {
                let asked = sent.iter().any(|s| s.filter == f.filter);
                let refused = conn
                    .refused
                    .iter()
                    .find(|(r, _)| *r == f.filter)
                    .map(|(_, code)| *code);
                (f.clone(), asked, refused)
            })
            .collect()
    }

    /// Whether `id` may publish now (see [`Status::is_ready`]).
    pub fn is_ready(&self, id: ConnectionId) -> bool {
        self.status(id).is_some_and(Status::is_ready)
    }

    /// Whether bytes for `link` are still wanted. A transport that copies a
    /// large message in pieces stops when this turns false (the decoder
    /// refused what it saw, or the link was given up on).
    pub fn wants_bytes(&self, link: Link) -> bool {
        self.connections
            .get(&link.connection)
            .is_some_and(|c| c.link == Some(link) && c.opened)
    }

    /// Connects `id` with `settings`, replacing what `id` was. A URL that
    /// cannot work fails at once, with the reason (also as the status).
    pub fn connect(
        &mut self,
        id: ConnectionId,
        settings: Settings,
        now: u64,
    ) -> Result<(), Diagnosis> {
        self.disconnect(id, now);
        let checked = doctor::check_url(&settings.url, settings.page);
        let protocol = match settings.version {
            VersionChoice::V311 => Protocol::V311,
            VersionChoice::V5 | VersionChoice::Auto => Protocol::V5,
        };
        self.connections
            .insert(id, Connection::new(settings, protocol));
        let (mut cx, conn) = self.cx(id).expect("just inserted");
        if let Err(diagnosis) = checked {
            conn.set_status(&mut cx, Status::Failed(diagnosis.clone()));
            return Err(diagnosis);
        }
        conn.open_link(&mut cx, now);
        Ok(())
    }

    /// Disconnects `id` cleanly (a DISCONNECT, so the broker discards our
    /// will) and stops retrying. Works in every state.
    pub fn disconnect(&mut self, id: ConnectionId, now: u64) {
        if let Some((mut cx, conn)) = self.cx(id) {
            conn.client.disconnect(now);
            conn.pump(&mut cx, now);
            conn.drop_link(&mut cx);
            conn.waiting_for_network = false;
            conn.set_status(&mut cx, Status::Idle);
        }
    }

    /// Disconnects `id` and forgets it.
    pub fn remove(&mut self, id: ConnectionId, now: u64) {
        self.disconnect(id, now);
        self.connections.remove(&id);
    }

    /// Retries a reconnecting connection now instead of waiting.
    pub fn retry_now(&mut self, id: ConnectionId, now: u64) {
        if let Some((mut cx, conn)) = self.cx(id) {
            // The user asked: try even if the browser believes it is offline
            // (`navigator.onLine` is sometimes wrong).
            cx.online = true;
            if !matches!(conn.status, Status::Reconnecting { .. }) {
                return;
            }
            if conn.waiting_for_network {
                conn.waiting_for_network = false;
                conn.open_link(&mut cx, now);
            } else {
                conn.client.reconnect_now(now);
                conn.client.handle_timeout(now);
                conn.pump(&mut cx, now);
            }
        }
    }

    /// The browser went offline or came back. Offline, retries wait; back
    /// online, waiting connections retry at once.
    pub fn set_online(&mut self, online: bool, now: u64) {
        if self.online == online {
            return;
        }
        self.online = online;
        let ids: Vec<_> = self.connections.keys().copied().collect();
        for id in ids {
            let Some((mut cx, conn)) = self.cx(id) else {
                continue;
            };
            let Status::Reconnecting {
                problem, attempt, ..
            } = conn.status.clone()
            else {
                continue;
            };
            if online {
                conn.waiting_for_network = false;
                conn.client.reconnect_now(now);
                conn.client.handle_timeout(now);
                conn.pump(&mut cx, now);
                if matches!(conn.status, Status::Reconnecting { .. }) {
                    // The engine had no retry scheduled: start one.
                    conn.open_link(&mut cx, now);
                }
            } else {
                let status = Status::Reconnecting {
                    problem,
                    attempt,
                    retry_at: None,
                };
                conn.set_status(&mut cx, status);
            }
        }
    }

    /// Adds filters to a connection (a device convention learned a state
    /// topic; the user added a tile): subscribed at once if connected, else
    /// at the next connect, and renewed by the engine from then on. Filters
    /// it already has are skipped. Once the session's first subscriptions
    /// are confirmed, more of them do not hold back publishing.
    ///
    /// A filter that another one covers (`stat/+/POWER` while `#` is
    /// there) is kept but not sent: brokers deliver a message once per
    /// matching subscription (mosquitto does for MQTT 5), so it would come
    /// twice. Adding a covering filter unsubscribes the ones it covers,
    /// after subscribing it.
    pub fn subscribe_more(&mut self, id: ConnectionId, now: u64, filters: Vec<SubscribeFilter>) {
        let Some((mut cx, conn)) = self.cx(id) else {
            return;
        };
        let mut new: Vec<SubscribeFilter> = Vec::new();
        for filter in filters {
            let known = conn
                .settings
                .subscriptions
                .iter()
                .chain(&new)
                .any(|f| f.filter == filter.filter);
            if !known {
                new.push(filter);
            }
        }
        if new.is_empty() {
            return;
        }
        let before = conn.sent_subscriptions();
        conn.settings.subscriptions.extend(new);
        conn.change_subscriptions(&mut cx, now, before);
    }

    /// Removes filters from a connection: unsubscribed at once if
    /// connected, else at the next connect. Filters they covered are
    /// subscribed again first, so nothing they match is missed.
    pub fn unsubscribe(&mut self, id: ConnectionId, now: u64, filters: &[String]) {
        let Some((mut cx, conn)) = self.cx(id) else {
            return;
        };
        let before = conn.sent_subscriptions();
        conn.settings
            .subscriptions
            .retain(|f| !filters.contains(&f.filter));
        conn.deferred.retain(|f| !filters.contains(&f.filter));
        conn.refused.retain(|(f, _)| !filters.contains(f));
        conn.change_subscriptions(&mut cx, now, before);
    }

    /// Publishes on `id`, once it is ready (connected, subscriptions
    /// confirmed).
    pub fn publish(
        &mut self,
        id: ConnectionId,
        now: u64,
        publish: Publish,
    ) -> Result<Option<u16>, SendError> {
        self.publish_with(id, now, publish, TopicAlias::Auto)
    }

    /// As [`Supervisor::publish`], choosing whether it may use a topic
    /// alias (MQTT 5).
    pub fn publish_with(
        &mut self,
        id: ConnectionId,
        now: u64,
        publish: Publish,
        alias: TopicAlias,
    ) -> Result<Option<u16>, SendError> {
        let (mut cx, conn) = self.cx(id).ok_or(SendError::UnknownConnection)?;
        match &conn.status {
            s if s.is_ready() => {}
            Status::Connected { .. } => {
                return Err(SendError::NotReady(
                    "waiting for the broker to confirm the subscriptions",
                ))
            }
            Status::Connecting { .. } => return Err(SendError::NotReady("still connecting")),
            Status::Reconnecting { .. } => {
                return Err(SendError::NotReady("reconnecting to the broker"))
            }
            Status::Idle | Status::Failed(_) => {
                return Err(SendError::NotReady("not connected to the broker"))
            }
        }
        let result = conn
            .client
            .publish_with(now, publish, alias)
            .map_err(SendError::Refused);
        conn.pump(&mut cx, now);
        result
    }

    /// The socket of `link` finished its handshake.
    pub fn handle_opened(&mut self, link: Link, now: u64) {
        let Some((mut cx, conn)) = self.cx(link.connection) else {
            return;
        };
        if conn.link != Some(link) || conn.opened {
            return;
        }
        conn.opened = true;
        conn.handshake_deadline = None;
        conn.client.connect(now);
        let attempt = conn.attempts;
        conn.set_status(
            &mut cx,
            Status::Connecting {
                attempt,
                stage: Stage::Handshake,
            },
        );
        conn.pump(&mut cx, now);
    }

    /// Bytes arrived on `link`.
    pub fn handle_bytes(&mut self, link: Link, now: u64, bytes: &[u8]) {
        if !self.wants_bytes(link) {
            return;
        }
        let Some((mut cx, conn)) = self.cx(link.connection) else {
            return;
        };
        conn.client.handle_bytes(now, bytes);
        conn.pump(&mut cx, now);
    }

    /// The socket of `link` closed, or failed to open.
    pub fn handle_closed(&mut self, link: Link, now: u64, code: u16, reason: &str) {
        let Some((mut cx, conn)) = self.cx(link.connection) else {
            return;
        };
        if conn.link != Some(link) {
            return;
        }
        let cause = if !conn.opened {
            Cause::Unreachable
        } else if conn.connected_at.is_none() {
            Cause::ClosedBeforeConnack {
                protocol: conn.protocol,
                code,
                reason: reason.to_owned(),
            }
        } else {
            Cause::Lost {
                code,
                reason: reason.to_owned(),
            }
        };
        conn.link_failed(&mut cx, now, cause);
    }

    /// Acts on deadlines that passed.
    pub fn handle_timeout(&mut self, now: u64) {
        let ids: Vec<_> = self.connections.keys().copied().collect();
        for id in ids {
            let Some((mut cx, conn)) = self.cx(id) else {
                continue;
            };
            if conn.handshake_deadline.is_some_and(|d| now >= d) {
                conn.link_failed(
                    &mut cx,
                    now,
                    Cause::HandshakeTimeout {
                        waited_ms: HANDSHAKE_TIMEOUT_MS,
                    },
                );
            }
            if conn.suback_deadline.is_some_and(|d| now >= d) {
                let waited = conn.settings.options.response_timeout_ms / 1000;
                conn.link_failed(
                    &mut cx,
                    now,
                    Cause::ProtocolError {
                        what: format!("no answer to SUBSCRIBE within {waited} s"),
                        in_a_row: 0,
                    },
                );
            }
            conn.client.handle_timeout(now);
            conn.pump(&mut cx, now);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Supervisor::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.connections
            .values()
            .flat_map(|c| {
                [
                    c.client.poll_timeout(),
                    c.handshake_deadline,
                    c.suback_deadline,
                ]
            })
            .flatten()
            .min()
    }

    fn cx(&mut self, id: ConnectionId) -> Option<(Cx<'_, T>, &mut Connection)> {
        let conn = self.connections.get_mut(&id)?;
        Some((
            Cx {
                id,
                transport: &mut self.transport,
                events: &mut self.events,
                serial: &mut self.serial,
                online: self.online,
            },
            conn,
        ))
    }
}

impl Connection {
    fn new(settings: Settings, protocol: Protocol) -> Self {
        let client = engine(&settings.options, protocol);
        Self {
            settings,
            client,
            protocol,
            subscribe_sent: false,
            deferred: Vec::new(),
            deferred_unsubscribe: Vec::new(),
            confirmed_once: false,
            link: None,
            opened: false,
            handshake_deadline: None,
            suback_deadline: None,
            ever_connected: false,
            attempts: 0,
            protocol_errors: 0,
            quick_losses: 0,
            connected_at: None,
            lost_cause: None,
            notice: None,
            session_present: false,
            refused: Vec::new(),
            waiting_for_network: false,
            status: Status::Idle,
        }
    }

    fn set_status<T>(&mut self, cx: &mut Cx<'_, T>, status: Status) {
        if self.status != status {
            self.status = status.clone();
            cx.events.push_back(Event::Status(cx.id, status));
        }
    }

    fn diagnose(&self, cause: Cause) -> Diagnosis {
        doctor::diagnose(cause, &self.settings.url, &self.settings.options.client_id)
    }

    /// Opens a new link for the next attempt.
    fn open_link<T: Transport>(&mut self, cx: &mut Cx<'_, T>, now: u64) {
        self.drop_link(cx);
        *cx.serial += 1;
        let link = Link {
            connection: cx.id,
            serial: *cx.serial,
        };
        self.attempts += 1;
        self.opened = false;
        self.connected_at = None;
        match cx.transport.open(link, self.settings.url.trim()) {
            Ok(()) => {
                self.link = Some(link);
                self.handshake_deadline = Some(now + HANDSHAKE_TIMEOUT_MS);
                let attempt = self.attempts;
                self.set_status(
                    cx,
                    Status::Connecting {
                        attempt,
                        stage: Stage::Opening,
                    },
                );
            }
            Err(message) => {
                self.client.handle_transport_closed(now);
                self.after_failure(cx, now, Cause::BrowserRefused(message));
            }
        }
    }

    fn drop_link<T: Transport>(&mut self, cx: &mut Cx<'_, T>) {
        self.handshake_deadline = None;
        self.suback_deadline = None;
        if let Some(link) = self.link.take() {
            cx.transport.close(link);
        }
    }

    /// The link failed (closed, timed out, could not send): tell the
    /// engine, then decide.
    fn link_failed<T: Transport>(&mut self, cx: &mut Cx<'_, T>, now: u64, cause: Cause) {
        self.drop_link(cx);
        if self.opened {
            // The engine saw CONNECT: it reports the loss as an event,
            // handled in `pump` with this cause.
            self.lost_cause = Some(cause);
            self.client.handle_transport_closed(now);
            self.pump(cx, now);
        } else {
            self.client.handle_transport_closed(now);
            self.after_failure(cx, now, cause);
        }
    }

    /// Sends what the engine wants sent and acts on its events.
    fn pump<T: Transport>(&mut self, cx: &mut Cx<'_, T>, now: u64) {
        let mut out = Vec::new();
        loop {
            if self.client.poll_transmit(&mut out) {
                if let (Some(link), true) = (self.link, self.opened) {
                    if let Err(message) = cx.transport.send(link, &out) {
                        out.clear();
                        self.link_failed(cx, now, Cause::SendFailed(message));
                        continue;
                    }
                }
                out.clear();
            }
            let Some(event) = self.client.poll_event() else {
                break;
            };
            match event {
                EngineEvent::Connected { session_present } => {
                    self.on_connected(cx, now, session_present)
                }
                EngineEvent::Message(publish) => {
                    cx.events.push_back(Event::Message(cx.id, publish));
                }
                EngineEvent::Published { packet_id } => cx.events.push_back(Event::Published {
                    connection: cx.id,
                    packet_id,
                }),
                EngineEvent::PublishFailed {
                    packet_id,
                    reason,
                    reason_string,
                } => cx.events.push_back(Event::PublishFailed {
                    connection: cx.id,
                    packet_id,
                    reason,
                    reason_string,
                }),
                EngineEvent::Subscribed {
                    filters, results, ..
                } => self.on_subscribed(cx, now, filters, results),
                EngineEvent::Disconnected(error) => {
                    // Last words (a DISCONNECT with a reason) go out first.
                    if self.client.poll_transmit(&mut out) {
                        if let (Some(link), true) = (self.link, self.opened) {
                            let _ = cx.transport.send(link, &out);
                        }
                        out.clear();
                    }
                    self.drop_link(cx);
                    let timeout = self.settings.options.response_timeout_ms;
                    let cause = match error {
                        ConnectionError::LocallyClosed => continue,
                        ConnectionError::TransportClosed => {
                            self.lost_cause.take().unwrap_or(Cause::Lost {
                                code: 1006,
                                reason: String::new(),
                            })
                        }
                        ConnectionError::ConnectTimeout => Cause::NoConnack { waited_ms: timeout },
                        ConnectionError::KeepAliveTimeout => Cause::KeepAliveTimeout,
                        ConnectionError::Malformed(err) => Cause::ProtocolError {
                            what: err.to_string(),
                            in_a_row: 0,
                        },
                        ConnectionError::ProtocolViolation(what) => Cause::ProtocolError {
                            what: what.to_owned(),
                            in_a_row: 0,
                        },
                        ConnectionError::Refused {
                            reason,
                            reason_string,
                        } => Cause::Refused {
                            reason,
                            reason_string,
                        },
                        ConnectionError::ServerDisconnected {
                            reason,
                            reason_string,
                        } => Cause::ServerDisconnected {
                            reason,
                            reason_string,
                        },
                        other => Cause::ProtocolError {
                            what: other.to_string(),
                            in_a_row: 0,
                        },
                    };
                    self.after_failure(cx, now, cause);
                }
                EngineEvent::Reconnect => {
                    if cx.online {
                        self.open_link(cx, now);
                    } else {
                        self.waiting_for_network = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn on_connected<T>(&mut self, cx: &mut Cx<'_, T>, now: u64, session_present: bool) {
        self.ever_connected = true;
        self.attempts = 0;
        self.connected_at = Some(now);
        self.session_present = session_present;
        self.confirmed_once = false;
        if self.subscribe_sent && !self.deferred.is_empty() {
            let more = std::mem::take(&mut self.deferred);
            // On failure they wait for the next connect again.
            if self.client.subscribe(now, more.clone()).is_err() {
                self.deferred = more;
            }
        }
        if self.subscribe_sent && !self.deferred_unsubscribe.is_empty() {
            let fewer = std::mem::take(&mut self.deferred_unsubscribe);
            if self.client.unsubscribe(now, fewer.clone()).is_err() {
                self.deferred_unsubscribe = fewer;
            }
        }
        // Once per engine: from then on the engine renews them itself (or
        // the broker kept them), and a pending SUBSCRIBE is resent by it.
        let filters = self.sent_subscriptions();
        if !self.subscribe_sent && !filters.is_empty() {
            self.subscribe_sent = true;
            if let Err(err) = self.client.subscribe(now, filters.clone()) {
                let reason = match err {
                    PublishError::Invalid(_) => ReasonCode::TOPIC_FILTER_INVALID,
                    _ => ReasonCode::UNSPECIFIED_ERROR,
                };
                self.refused = filters.into_iter().map(|f| (f.filter, reason)).collect();
            }
        }
        self.show_connected(cx, now);
    }

    /// The filters the broker is asked for: every subscription no other
    /// one covers (with at least its QoS). MQTT 3.1.1 has no subscription
    /// options: there they are left out rather than refused.
    fn sent_subscriptions(&self) -> Vec<SubscribeFilter> {
        let all = &self.settings.subscriptions;
        all.iter()
            .enumerate()
            .filter(|(i, inner)| {
                !all.iter().enumerate().any(|(j, outer)| {
                    j != *i && outer.qos >= inner.qos && covers(&outer.filter, &inner.filter)
                })
            })
            .map(|(_, f)| match self.protocol {
                Protocol::V5 => f.clone(),
                _ => SubscribeFilter::new(f.filter.clone(), f.qos),
            })
            .collect()
    }

    /// Sends what changed since the broker was asked for `before`: new
    /// filters first, then the ones no longer wanted (so a message matching
    /// both is never missed; it may come twice in between). Not connected:
    /// both wait for the next connect.
    fn change_subscriptions<T: Transport>(
        &mut self,
        cx: &mut Cx<'_, T>,
        now: u64,
        before: Vec<SubscribeFilter>,
    ) {
        if !self.subscribe_sent {
            // The first SUBSCRIBE, at connect, takes them all.
            return;
        }
        let after = self.sent_subscriptions();
        let added: Vec<SubscribeFilter> = after
            .iter()
            .filter(|f| !before.iter().any(|b| b.filter == f.filter))
            .cloned()
            .collect();
        let removed: Vec<String> = before
            .into_iter()
            .filter(|b| !after.iter().any(|f| f.filter == b.filter))
            .map(|b| b.filter)
            .collect();
        let connected = matches!(self.status, Status::Connected { .. });
        if !added.is_empty() {
            if !connected || self.client.subscribe(now, added.clone()).is_err() {
                self.deferred.extend(added);
            } else {
                self.show_connected(cx, now);
            }
        }
        if !removed.is_empty() {
            self.deferred.retain(|f| !removed.contains(&f.filter));
            if !connected || self.client.unsubscribe(now, removed.clone()).is_err() {
                self.deferred_unsubscribe.extend(removed);
            }
        }
        self.pump(cx, now);
    }

    fn on_subscribed<T>(
        &mut self,
        cx: &mut Cx<'_, T>,
        now: u64,
        filters: Vec<String>,
        results: Vec<ReasonCode>,
    ) {
        for (filter, code) in filters.into_iter().zip(results) {
            self.refused.retain(|(f, _)| *f != filter);
            if !code.is_success() {
                self.refused.push((filter, code));
            }
        }
        self.show_connected(cx, now);
    }

    fn show_connected<T>(&mut self, cx: &mut Cx<'_, T>, now: u64) {
        if !self.client.subscribing() {
            self.suback_deadline = None;
        } else if self.suback_deadline.is_none() {
            self.suback_deadline = Some(now + self.settings.options.response_timeout_ms);
        }
        let subscriptions = if self.client.subscribing() && !self.confirmed_once {
            Subscriptions::Pending
        } else if !self.refused.is_empty() {
            Subscriptions::Refused(self.refused.clone())
        } else if self.settings.subscriptions.is_empty() {
            Subscriptions::NotAsked
        } else {
            Subscriptions::Granted
        };
        if !matches!(subscriptions, Subscriptions::Pending) {
            self.confirmed_once = true;
        }
        let status = Status::Connected {
            protocol: self.protocol,
            session_present: self.session_present,
            subscriptions,
            notice: self.notice.clone(),
        };
        self.set_status(cx, status);
    }

    /// An attempt or a connection ended: fall back, retry or give up.
    fn after_failure<T: Transport>(&mut self, cx: &mut Cx<'_, T>, now: u64, cause: Cause) {
        let up_for = self.connected_at.take().map(|at| now.saturating_sub(at));
        if up_for.is_some_and(|d| d >= STABLE_MS) {
            // A connection that stayed up proved the broker works.
            self.protocol_errors = 0;
        }
        let cause = match cause {
            Cause::ProtocolError { what, .. } => {
                self.protocol_errors += 1;
                Cause::ProtocolError {
                    what,
                    in_a_row: self.protocol_errors,
                }
            }
            other => other,
        };
        let dropped_at_once =
            matches!(cause, Cause::Lost { .. }) && up_for.is_some_and(|d| d < TAKEOVER_WINDOW_MS);
        if dropped_at_once {
            self.quick_losses += 1;
        } else if up_for.is_some() {
            self.quick_losses = 0;
        }
        let cause = if dropped_at_once && self.quick_losses >= TAKEOVER_LOSSES {
            Cause::TakenOver
        } else {
            cause
        };

        // A 3.1.1-only broker answers an MQTT 5 CONNECT with a 3.1.1
        // CONNACK "unacceptable protocol level" (which an MQTT 5 decoder
        // cannot read), or closes without a word.
        let turned_down_v5 = match &cause {
            Cause::ClosedBeforeConnack { .. } => true,
            Cause::Refused { reason, .. } => *reason == ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            Cause::ProtocolError { .. } => up_for.is_none(),
            _ => false,
        };
        if self.settings.version == VersionChoice::Auto
            && self.protocol == Protocol::V5
            && !self.ever_connected
            && turned_down_v5
        {
            self.protocol = Protocol::V311;
            self.client = engine(&self.settings.options, Protocol::V311);
            // The MQTT 5 attempt's error says nothing about 3.1.1.
            self.protocol_errors = 0;
            self.subscribe_sent = false;
            self.deferred.clear();
            self.deferred_unsubscribe.clear();
            self.notice = Some(
                "This broker speaks MQTT 3.1.1 only (it turned down MQTT 5); using 3.1.1.".into(),
            );
            self.open_link(cx, now);
            return;
        }

        // A broker that worked and now says "busy" or "unavailable" (it is
        // restarting, or shedding load) is retried on the backoff.
        if let Cause::Refused { reason, .. } = &cause {
            let temporary = matches!(
                *reason,
                ReasonCode::SERVER_UNAVAILABLE
                    | ReasonCode::SERVER_BUSY
                    | ReasonCode::SERVER_SHUTTING_DOWN
                    | ReasonCode::QUOTA_EXCEEDED
                    | ReasonCode::CONNECTION_RATE_EXCEEDED
            );
            if temporary && self.ever_connected {
                self.client.resume_reconnecting(now);
            }
        }
        let final_cause = match &cause {
            Cause::Refused { .. } => self.client.reconnect_at().is_none(),
            Cause::TakenOver | Cause::BadUrl(_) => true,
            Cause::ServerDisconnected { reason, .. } => *reason == ReasonCode::SESSION_TAKEN_OVER,
            Cause::ProtocolError { in_a_row, .. } => *in_a_row >= MAX_PROTOCOL_ERRORS,
            _ => false,
        };
        let diagnosis = self.diagnose(cause);
        let retry_at = self.client.reconnect_at();
        if final_cause || !self.ever_connected || retry_at.is_none() {
            // Stop the engine too: "Failed" must mean nothing goes on.
            self.client.disconnect(now);
            while self.client.poll_event().is_some() {}
            self.drop_link(cx);
            self.set_status(cx, Status::Failed(diagnosis));
            return;
        }
        let status = Status::Reconnecting {
            problem: diagnosis,
            attempt: self.attempts + 1,
            retry_at: retry_at.filter(|_| cx.online),
        };
        self.set_status(cx, status);
    }
}

fn engine(options: &ConnectOptions, protocol: Protocol) -> Client {
    let mut options = options.clone();
    options.protocol = protocol;
    Client::new(options)
}
