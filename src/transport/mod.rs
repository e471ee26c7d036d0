//! The browser side of the wire: the WebSocket [`connections::Transport`]
//! and the wiring that drives the connection supervisor with it.
//!
//! The seam is narrow on purpose: [`websocket`] only moves bytes and
//! reports open/close; every decision (subscribe, retry or give up,
//! timeouts, what to tell the user) is the supervisor's, in the natively
//! tested `connections` crate. [`session`] only wires sockets, one timer and
//! the browser's online/offline events to it.

pub mod session;
pub mod websocket;

thread_local! {
    /// The page's `performance`, looked up once (it is read for every
    /// message).
    static PERFORMANCE: Option<web_sys::Performance> =
        web_sys::window().and_then(|w| w.performance());
}

/// Monotonic milliseconds since page load, the engine's clock.
pub fn now_ms() -> u64 {
    now_ms_f64() as u64
}

/// [`now_ms`] with its fraction.
pub(crate) fn now_ms_f64() -> f64 {
    PERFORMANCE.with(|p| p.as_ref().map_or(0.0, |p| p.now()))
}

/// What the doctor needs to know about this page: whether it was loaded
/// over https (browsers then refuse `ws://` except to loopback).
pub fn page_context() -> connections::PageContext {
    let secure = web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    connections::PageContext { secure }
}
