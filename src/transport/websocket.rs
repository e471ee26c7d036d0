//! A binary WebSocket offering exactly one subprotocol, `mqtt`.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// The WebSocket handshake finished.
    Open,
    /// One binary message (any number of MQTT packets, or part of one).
    Data(Vec<u8>),
    /// The socket closed (or never opened).
    Closed {
        /// Close code; 1006 when the connection failed without a close frame.
        code: u16,
        /// Close reason sent by the server, often empty.
        reason: String,
    },
}

/// An open or opening WebSocket. Dropping it detaches the handlers and
/// closes the socket, so no callback outlives its owner.
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
    /// insecure ws:// from an https page).
    pub fn open(url: &str, on_event: impl FnMut(SocketEvent) + 'static) -> Result<Self, String> {
        let ws = WebSocket::new_with_str(url, "mqtt").map_err(|err| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "the browser refused to open this WebSocket URL".into())
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        // All three handlers feed one callback; a shared cell lets them.
        let on_event = std::rc::Rc::new(std::cell::RefCell::new(on_event));
        let cb = on_event.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Ok(mut f) = cb.try_borrow_mut() {
                f(SocketEvent::Open)
            }
        });
        let cb = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            // Text frames are not MQTT; only binary frames carry packets.
            if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                if let Ok(mut f) = cb.try_borrow_mut() {
                    f(SocketEvent::Data(bytes))
                }
            }
        });
        let cb = on_event;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            if let Ok(mut f) = cb.try_borrow_mut() {
                f(SocketEvent::Closed {
                    code: e.code(),
                    reason: e.reason(),
                })
            }
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
        self.ws
            .send_with_u8_array(bytes)
            .map_err(|_| "the WebSocket is not open".to_owned())
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
