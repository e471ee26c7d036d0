//! One MQTT session, driven by the sans-IO engine over a WebSocket, and
//! over a new WebSocket each time the engine reconnects.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::{set_timeout, set_timeout_with_handle, TimeoutHandle};
use mqtt_client::{Client, ConnectOptions, ConnectionError, Event, Publish, SubscribeFilter};

use super::doctor;
use super::now_ms;
use super::websocket::{Socket, SocketEvent};

/// How long the WebSocket handshake may take. A silent server otherwise
/// gives no event for minutes.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// Where the connection stands, as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected, not trying.
    Idle,
    /// Opening the WebSocket or waiting for CONNACK.
    Connecting,
    /// Session accepted; `subscribed` once the SUBACK came back.
    Connected {
        /// Whether the device topics' SUBACK arrived.
        subscribed: bool,
    },
    /// The connection was lost; the engine is reconnecting. Why it was lost.
    Reconnecting(String),
    /// The attempt failed and will not be retried; why.
    Failed(String),
}

/// What the session tells its owner.
#[derive(Debug)]
pub enum SessionEvent {
    /// The connection state changed.
    State(ConnState),
    /// A message arrived.
    Message(Publish),
}

type Sink = Rc<dyn Fn(SessionEvent)>;

/// A live session. Cloning shares it; dropping the last clone closes it.
#[derive(Clone)]
pub struct Session(Rc<RefCell<Inner>>);

struct Inner {
    client: Client,
    socket: Option<Socket>,
    url: String,
    filters: Vec<SubscribeFilter>,
    /// The current WebSocket finished its handshake.
    opened: bool,
    /// The broker accepted the current connection.
    connected: bool,
    /// A connection was accepted once: from then on losses are retried.
    ever_connected: bool,
    /// How the last socket closed, for the message that follows.
    last_close: Option<String>,
    handshake_deadline: Option<u64>,
    timer: Option<TimeoutHandle>,
    sink: Sink,
}

impl Session {
    /// Checks `url`, opens the WebSocket and, once it is open, connects;
    /// subscribes to `filters` when the broker accepts the session.
    pub fn connect(
        url: &str,
        options: ConnectOptions,
        filters: Vec<SubscribeFilter>,
        sink: impl Fn(SessionEvent) + 'static,
    ) -> Result<Self, String> {
        doctor::check_url(url)?;
        let url = url.trim().to_owned();
        let inner = Rc::new(RefCell::new(Inner {
            client: Client::new(options),
            socket: None,
            url,
            filters,
            opened: false,
            connected: false,
            ever_connected: false,
            last_close: None,
            handshake_deadline: None,
            timer: None,
            sink: Rc::new(sink),
        }));
        open_socket(&inner, &mut inner.borrow_mut())?;
        let sink = inner.borrow().sink.clone();
        sink(SessionEvent::State(ConnState::Connecting));
        pump(&inner);
        Ok(Self(inner))
    }

    /// Publishes a message now.
    pub fn publish(&self, publish: Publish) -> Result<(), String> {
        let result = self.0.borrow_mut().client.publish(now_ms(), publish);
        pump(&self.0);
        result.map(drop).map_err(|err| err.to_string())
    }

    /// Disconnects cleanly (the broker discards our will) and stops
    /// reconnecting.
    pub fn disconnect(&self) {
        {
            let mut i = self.0.borrow_mut();
            i.client.disconnect(now_ms());
            i.handshake_deadline = None;
        }
        pump(&self.0);
        drop_socket_later(&mut self.0.borrow_mut());
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.clear();
        }
    }
}

/// Opens a WebSocket to the session's URL, with the `mqtt` subprotocol.
fn open_socket(inner: &Rc<RefCell<Inner>>, i: &mut Inner) -> Result<(), String> {
    let weak = Rc::downgrade(inner);
    let socket = Socket::open(&i.url, move |event| {
        if let Some(inner) = weak.upgrade() {
            on_socket_event(&inner, event);
        }
    })
    .map_err(|err| format!("Cannot open {}: {err}", i.url))?;
    i.socket = Some(socket);
    i.opened = false;
    i.connected = false;
    i.handshake_deadline = Some(now_ms() + HANDSHAKE_TIMEOUT_MS);
    Ok(())
}

fn on_socket_event(inner: &Rc<RefCell<Inner>>, event: SocketEvent) {
    {
        let mut i = inner.borrow_mut();
        if i.socket.is_none() {
            // Already given up on (and being closed): late events say nothing new.
            return;
        }
        let now = now_ms();
        match event {
            SocketEvent::Open => {
                i.opened = true;
                i.handshake_deadline = None;
                i.client.connect(now);
            }
            SocketEvent::Data(bytes) => i.client.handle_bytes(now, &bytes),
            SocketEvent::Closed { code, reason } => {
                let message = doctor::explain_close(&i.url, i.opened, i.connected, code, &reason);
                lose_socket(&mut i, now, message);
            }
        }
    }
    pump(inner);
}

/// The socket closed or never opened: tell the engine, which reports the
/// loss and schedules a reconnect, unless nothing ever connected, in which
/// case the attempt simply fails.
fn lose_socket(i: &mut Inner, now: u64, message: String) {
    i.handshake_deadline = None;
    drop_socket_later(i);
    if !i.ever_connected {
        // A first attempt that fails is a wrong address, not a lost
        // connection: say why and stop, rather than retry forever.
        i.client.disconnect(now);
        while i.client.poll_event().is_some() {}
        let sink = i.sink.clone();
        // Deliver after the borrow ends: the owner may call back into us.
        set_timeout(
            move || sink(SessionEvent::State(ConnState::Failed(message))),
            Duration::ZERO,
        );
        return;
    }
    i.last_close = Some(message);
    i.client.handle_transport_closed(now);
}

/// Closes the socket, but not from inside one of its own callbacks.
fn drop_socket_later(i: &mut Inner) {
    if let Some(socket) = i.socket.take() {
        set_timeout(move || drop(socket), Duration::ZERO);
    }
}

/// Sends what the engine wants sent, hands its events to the owner and
/// re-arms the one timer. Runs after every input.
fn pump(inner: &Rc<RefCell<Inner>>) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    let sink = {
        let mut i = inner.borrow_mut();
        let now = now_ms();
        loop {
            if i.client.poll_transmit(&mut out) {
                if let Some(socket) = &i.socket {
                    let _ = socket.send(&out);
                }
                out.clear();
            }
            let Some(event) = i.client.poll_event() else {
                break;
            };
            match event {
                Event::Connected { .. } => {
                    i.connected = true;
                    i.ever_connected = true;
                    i.last_close = None;
                    // Later sessions: the engine renews subscriptions itself.
                    let filters = i.filters.clone();
                    let nothing_to_subscribe =
                        filters.is_empty() || !i.client.subscriptions().is_empty();
                    if !nothing_to_subscribe {
                        let _ = i.client.subscribe(now, filters);
                    }
                    events.push(SessionEvent::State(ConnState::Connected {
                        subscribed: nothing_to_subscribe,
                    }));
                }
                Event::Subscribed { .. } => {
                    events.push(SessionEvent::State(ConnState::Connected {
                        subscribed: true,
                    }));
                }
                Event::Message(publish) => events.push(SessionEvent::Message(publish)),
                Event::Disconnected(ConnectionError::LocallyClosed) => {
                    i.connected = false;
                    events.push(SessionEvent::State(ConnState::Idle));
                }
                Event::Disconnected(err) => {
                    i.connected = false;
                    drop_socket_later(&mut i);
                    let message = match (&err, i.last_close.take()) {
                        (ConnectionError::TransportClosed, Some(doctor)) => doctor,
                        _ => capitalise(&err.to_string()),
                    };
                    // The engine has scheduled a reconnect unless it gave up
                    // (a refused login is final).
                    let retrying = i.ever_connected && i.client.poll_timeout().is_some();
                    events.push(SessionEvent::State(if retrying {
                        ConnState::Reconnecting(message)
                    } else {
                        ConnState::Failed(message)
                    }));
                }
                Event::Reconnect => {
                    if let Err(message) = open_socket(inner, &mut i) {
                        events.push(SessionEvent::State(ConnState::Failed(message)));
                    }
                }
                _ => {}
            }
        }
        arm_timer(inner, &mut i, now);
        i.sink.clone()
    };
    for event in events {
        sink(event);
    }
}

fn arm_timer(inner: &Rc<RefCell<Inner>>, i: &mut Inner, now: u64) {
    if let Some(timer) = i.timer.take() {
        timer.clear();
    }
    let deadline = match (i.client.poll_timeout(), i.handshake_deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some(deadline) = deadline else { return };
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    let delay = Duration::from_millis(deadline.saturating_sub(now));
    i.timer = set_timeout_with_handle(
        move || {
            let Some(inner) = weak.upgrade() else { return };
            {
                let mut i = inner.borrow_mut();
                i.timer = None;
                let now = now_ms();
                if i.handshake_deadline.is_some_and(|d| now >= d) {
                    let message = format!(
                        "No answer from {} within {} s: the WebSocket handshake did not finish. \
                         Check the address and that the broker is reachable.",
                        i.url,
                        HANDSHAKE_TIMEOUT_MS / 1000
                    );
                    lose_socket(&mut i, now, message);
                } else {
                    i.client.handle_timeout(now);
                }
            }
            pump(&inner);
        },
        delay,
    )
    .ok();
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
