//! A binary WebSocket offering exactly one subprotocol, `mqtt`.
//!
//! What arrives is handed on in order, in pieces, and within a time budget:
//! when a flood has been handled for [`BUDGET_MS`], the rest waits for the
//! next task (a `MessageChannel` message, which has no timer clamp), so the
//! page can draw and answer clicks between pieces.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, MessageChannel, MessageEvent, WebSocket};

/// Received messages are handed on in pieces of at most this many bytes,
/// copied one at a time: a hostile 20 MB message is refused after its
/// first piece (the decoder checks the packet size in the header) instead
/// of being copied into wasm memory whole, which never shrinks again.
pub const CHUNK: u32 = 16 * 1024;

/// How long one task hands on received data before it lets the page draw.
pub const BUDGET_MS: f64 = 8.0;

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// The WebSocket handshake finished.
    Open,
    /// A piece of one binary message (any number of MQTT packets, or part
    /// of one).
    Data(Vec<u8>),
    /// The socket closed (or never opened).
    Closed {
        /// Close code; 1006 when the connection failed without a close frame.
        code: u16,
        /// Close reason sent by the server, often empty.
        reason: String,
    },
}

/// Receives a socket's events; for [`SocketEvent::Data`] it answers
/// whether more bytes are wanted.
pub type Handler = Rc<dyn Fn(SocketEvent) -> bool>;

/// An open or opening WebSocket. Dropping it detaches the handlers and
/// closes the socket, so no callback outlives its owner; do not drop it
/// from inside one of its own callbacks.
pub struct Socket {
    ws: WebSocket,
    feed: Rc<Feed>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// Received data and the close, in arrival order, not yet handed on.
enum Queued {
    /// A binary message and how much of it was handed on.
    Data(js_sys::Uint8Array, u32),
    Closed {
        code: u16,
        reason: String,
    },
}

/// Hands queued events to the handler within the time budget.
struct Feed {
    handler: Handler,
    queue: RefCell<VecDeque<Queued>>,
    /// A continuation is posted (or a hand-on is running).
    busy: Cell<bool>,
    /// Posting to `port` continues in the next task.
    channel: Option<MessageChannel>,
    _on_continue: RefCell<Option<OnMessage>>,
}

/// A `message` handler handed to JavaScript.
type OnMessage = Closure<dyn FnMut(MessageEvent)>;

impl Feed {
    fn new(handler: Handler) -> Rc<Self> {
        let feed = Rc::new(Self {
            handler,
            queue: RefCell::new(VecDeque::new()),
            busy: Cell::new(false),
            channel: MessageChannel::new().ok(),
            _on_continue: RefCell::new(None),
        });
        let weak: Weak<Self> = Rc::downgrade(&feed);
        let on_continue = Closure::<dyn FnMut(MessageEvent)>::new(move |_| {
            if let Some(feed) = weak.upgrade() {
                feed.busy.set(false);
                feed.run();
            }
        });
        if let Some(channel) = &feed.channel {
            channel
                .port1()
                .set_onmessage(Some(on_continue.as_ref().unchecked_ref()));
        }
        *feed._on_continue.borrow_mut() = Some(on_continue);
        feed
    }

    fn push(self: &Rc<Self>, item: Queued) {
        self.queue.borrow_mut().push_back(item);
        if !self.busy.get() {
            self.run();
        }
    }

    /// Hands on what is queued until the budget is spent, then posts a
    /// continuation.
    fn run(self: &Rc<Self>) {
        self.busy.set(true);
        let start = super::now_ms_f64();
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(item) = next else { break };
            match item {
                Queued::Data(whole, at) => {
                    let end = whole.length().min(at + CHUNK);
                    let piece = whole.subarray(at, end).to_vec();
                    let wanted = (self.handler)(SocketEvent::Data(piece));
                    if wanted && end < whole.length() {
                        self.queue.borrow_mut().push_front(Queued::Data(whole, end));
                    }
                }
                Queued::Closed { code, reason } => {
                    (self.handler)(SocketEvent::Closed { code, reason });
                }
            }
            let more = !self.queue.borrow().is_empty();
            if more && super::now_ms_f64() - start >= BUDGET_MS {
                if let Some(channel) = &self.channel {
                    if channel.port2().post_message(&JsValue::NULL).is_ok() {
                        // `busy` stays set: the continuation runs the rest.
                        return;
                    }
                }
            }
        }
        self.busy.set(false);
    }
}

impl Socket {
    /// Opens `url` with the `mqtt` subprotocol. Only one value is offered:
    /// some brokers echo every offered value and Chromium then fails the
    /// handshake. Errors are the browser's synchronous refusals (bad URL,
    /// insecure ws:// from an https page). Every event reaches `handler`:
    /// none is dropped, whatever the handler is doing.
    pub fn open(url: &str, handler: Handler) -> Result<Self, String> {
        let ws = WebSocket::new_with_str(url, "mqtt").map_err(|err| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| format!("{}: {}", e.name(), e.message()))
                .unwrap_or_else(|| "the browser refused to open this WebSocket URL".into())
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let h = handler.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
            h(SocketEvent::Open);
        });
        let feed = Feed::new(handler.clone());
        let f = feed.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            // Text frames are not MQTT; only binary frames carry packets.
            let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return;
            };
            f.push(Queued::Data(js_sys::Uint8Array::new(&buf), 0));
        });
        // After the data that came before it.
        let f = feed.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            f.push(Queued::Closed {
                code: e.code(),
                reason: e.reason(),
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            feed,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one binary message.
    pub fn send(&self, bytes: &[u8]) -> Result<(), String> {
        if self.ws.ready_state() != WebSocket::OPEN {
            return Err("the WebSocket is not open".into());
        }
        self.ws.send_with_u8_array(bytes).map_err(|err| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "the WebSocket refused to send".into())
        })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // Nothing more reaches the handler once the socket is dropped.
        self.feed.queue.borrow_mut().clear();
        if let Some(channel) = &self.feed.channel {
            channel.port1().set_onmessage(None);
        }
        let _ = self.ws.close();
    }
}
