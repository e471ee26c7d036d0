//! The connection form.

use leptos::prelude::*;

use crate::store::{use_app_state, ConnectForm};
use crate::transport::session::ConnState;

/// Broker URL, client id, optional user name and password; connect and
/// disconnect; the reason of the last failure.
#[component]
pub fn ConnectPanel(
    /// The values the form starts with.
    initial: ConnectForm,
) -> impl IntoView {
    let state = use_app_state();
    let url = RwSignal::new(initial.url);
    let client_id = RwSignal::new(initial.client_id);
    let username = RwSignal::new(initial.username);
    let password = RwSignal::new(initial.password);
    let busy = move || {
        matches!(
            state.conn.get(),
            ConnState::Connecting | ConnState::Connected { .. }
        )
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        state.connect(&ConnectForm {
            url: url.get_untracked(),
            client_id: client_id.get_untracked(),
            username: username.get_untracked(),
            password: password.get_untracked(),
        });
    };
    let error = move || match state.conn.get() {
        ConnState::Failed(message) => Some(
            view! { <p class="error" role="alert" data-testid="connection-error">{message}</p> }
                .into_any(),
        ),
        ConnState::Reconnecting(message) => Some(
            view! {
                <p class="warning" role="status" data-testid="connection-error">
                    {message}" Reconnecting…"
                </p>
            }
            .into_any(),
        ),
        _ => None,
    };
    view! {
        <form class="connect" on:submit=on_submit>
            <label class="wide">
                "Broker WebSocket URL"
                <input type="text" data-testid="broker-url" placeholder="ws://127.0.0.1:9001/"
                    spellcheck="false" autocomplete="url"
                    prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev)) />
            </label>
            <label>
                "Client id"
                <input type="text" data-testid="client-id" spellcheck="false"
                    prop:value=move || client_id.get()
                    on:input=move |ev| client_id.set(event_target_value(&ev)) />
            </label>
            <label>
                "User name"
                <input type="text" data-testid="username" autocomplete="username"
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev)) />
            </label>
            <label>
                "Password"
                <input type="password" data-testid="password" autocomplete="current-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <div class="actions">
                <button type="submit" data-testid="connect" disabled=busy>"Connect"</button>
                <button type="button" data-testid="disconnect"
                    disabled=move || !busy()
                    on:click=move |_| state.disconnect()>"Disconnect"</button>
            </div>
            {error}
        </form>
    }
}
