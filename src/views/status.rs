//! The connection state in the header.

use leptos::prelude::*;

use crate::store::use_app_state;
use crate::transport::session::ConnState;

/// Shows connecting / connected / error (with the reason).
#[component]
pub fn StatusBadge() -> impl IntoView {
    let state = use_app_state();
    let conn = state.conn;
    let kind = move || match conn.get() {
        ConnState::Idle => "idle",
        ConnState::Connecting => "connecting",
        ConnState::Connected { subscribed: false } => "connected",
        ConnState::Connected { subscribed: true } => "subscribed",
        ConnState::Reconnecting(_) => "reconnecting",
        ConnState::Failed(_) => "error",
    };
    let label = move || match conn.get() {
        ConnState::Idle => "Not connected",
        ConnState::Connecting => "Connecting…",
        ConnState::Connected { subscribed: false } => "Connected, subscribing…",
        ConnState::Connected { subscribed: true } => "Connected",
        ConnState::Reconnecting(_) => "Reconnecting…",
        ConnState::Failed(_) => "Error",
    };
    view! {
        <div class="status" data-testid="connection-status" data-state=kind>
            <span class="dot"></span>
            <span>{label}</span>
        </div>
    }
}
