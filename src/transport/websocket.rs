//! A binary WebSocket offering exactly one subprotocol, `mqtt`.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// Received messages are handed on in pieces of at most this many bytes,
/// copied one at a time: a hostile 20 MB message is refused after its
/// first piece (the decoder checks the packet size in the header) instead
/// of being copied into wasm memory whole, which never shrinks again.
pub const CHUNK: u32 = 64 * 1024;

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
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
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
        let h = handler.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            // Text frames are not MQTT; only binary frames carry packets.
            let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return;
            };
            let whole = js_sys::Uint8Array::new(&buf);
            let len = whole.length();
            let mut at = 0;
            while at < len {
                let end = len.min(at + CHUNK);
                let piece = whole.subarray(at, end).to_vec();
                at = end;
                if !h(SocketEvent::Data(piece)) {
                    break;
                }
            }
        });
        let h = handler;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            h(SocketEvent::Closed {
                code: e.code(),
                reason: e.reason(),
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
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
        let _ = self.ws.close();
    }
}
