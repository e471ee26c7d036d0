//! The connection state in the header.

use connections::{Status, Subscriptions};
use leptos::prelude::*;

use crate::store::use_app_state;

/// The `data-state` of the status chip: what tests and styles key on.
pub fn state_name(status: &Status) -> &'static str {
    match status {
        Status::Idle => "idle",
        Status::Connecting { .. } => "connecting",
        Status::Connected {
            subscriptions: Subscriptions::Pending,
            ..
        } => "connected",
        Status::Connected {
            subscriptions: Subscriptions::Refused(_),
            ..
        } => "refused",
        Status::Connected { .. } => "subscribed",
        Status::Reconnecting { .. } => "reconnecting",
        Status::Failed(_) => "error",
    }
}

/// Shows connecting / connected / error.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let state = use_app_state();
    let conn = state.conn;
    let kind = move || conn.with(state_name);
    let label = move || {
        conn.with(|s| match s {
            Status::Idle => "Not connected".to_owned(),
            Status::Connecting { attempt: 1, .. } => "Connecting…".to_owned(),
            Status::Connecting { attempt, .. } => format!("Connecting (attempt {attempt})…"),
            Status::Connected {
                subscriptions: Subscriptions::Pending,
                ..
            } => "Connected, subscribing…".to_owned(),
            Status::Connected {
                subscriptions: Subscriptions::Refused(_),
                ..
            } => "Connected, subscriptions refused".to_owned(),
            Status::Connected { protocol, .. } => format!(
                "Connected (MQTT {})",
                match protocol {
                    connections::Protocol::V5 => "5.0",
                    _ => "3.1.1",
                }
            ),
            Status::Reconnecting { .. } => "Reconnecting…".to_owned(),
            Status::Failed(_) => "Error".to_owned(),
        })
    };
    view! {
        // Read out when it changes: connecting, connected, lost.
        <div class="status" role="status" aria-live="polite" data-testid="connection-status" data-state=kind>
            <span class="dot" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}
