//! The browser side of the wire: a WebSocket carrying MQTT bytes, and the
//! session that drives the sans-IO engine with it.
//!
//! The seam is narrow on purpose: [`websocket`] only moves bytes and reports
//! open/close; [`session`] owns the engine, the clock and the timer. A later
//! in-page demo broker can stand in for the WebSocket behind the same seam.

pub mod doctor;
pub mod session;
pub mod websocket;

/// Monotonic milliseconds since page load, the engine's clock.
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0, |p| p.now() as u64)
}
