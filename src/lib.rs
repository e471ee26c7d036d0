//! Plugboard: an MQTT-over-WebSocket dashboard for smart outlets.
//!
//! The app is thin: protocol logic lives in `mqtt-codec` and `mqtt-client`,
//! device conventions in `devices`. Here are only the browser transport
//! ([`transport`]), the app state ([`store`]) and the views.

mod app;
mod offline;
pub mod store;
pub mod transport;
mod views;

pub use app::App;

/// Bytes of wasm memory the page holds. Wasm memory only ever grows, so
/// this is the high-water mark: the end-to-end tests read it (as
/// `window.wasmBindings.wasm_memory_bytes()`) to check that a hostile
/// broker cannot make the page allocate what it refuses.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
        .into()
}
