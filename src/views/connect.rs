//! The connection form, and what the connection has to say.

use connections::{Status, Subscriptions, VersionChoice};
use gloo_timers::callback::Interval;
use leptos::prelude::*;

use crate::store::{use_app_state, ConnectForm};
use crate::transport::now_ms;

/// Broker URL, client id, optional user name and password, MQTT version;
/// connect and disconnect; the reason of the last failure, when the next
/// attempt comes, refused subscriptions.
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
    let version = RwSignal::new(initial.version);
    // A clock for the countdown to the next attempt.
    let clock = RwSignal::new(now_ms());
    let ticker = StoredValue::new_local(Some(Interval::new(1_000, move || {
        clock.set(now_ms());
    })));
    on_cleanup(move || {
        ticker.try_update_value(Option::take);
    });
    let busy = move || {
        state
            .conn
            .with(|s| matches!(s, Status::Connecting { .. } | Status::Connected { .. }))
    };
    // Disconnect stays available in every state but idle and failed.
    let can_disconnect = move || {
        state
            .conn
            .with(|s| !matches!(s, Status::Idle | Status::Failed(_)))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        state.connect(&ConnectForm {
            url: url.get_untracked(),
            client_id: client_id.get_untracked(),
            username: username.get_untracked(),
            password: password.get_untracked(),
            version: version.get_untracked(),
        });
    };
    let message = move || {
        let status = state.conn.get();
        match status {
            Status::Failed(d) => Some(
                view! { <p class="error" role="alert" data-testid="connection-error">{d.message}</p> }
                    .into_any(),
            ),
            Status::Reconnecting {
                problem,
                attempt,
                retry_at,
            } => {
                let when = move || match retry_at {
                    Some(at) => {
                        let secs = at.saturating_sub(clock.get()).div_ceil(1000);
                        format!("Reconnecting in {secs} s (attempt {attempt}).")
                    }
                    None => format!(
                        "Waiting for the network to come back (attempt {attempt} then)."
                    ),
                };
                Some(
                    view! {
                        <div class="warning" role="status">
                            <p data-testid="connection-error">{problem.message}</p>
                            <p data-testid="reconnect-countdown">{when}</p>
                            <button type="button" data-testid="retry-now"
                                on:click=move |_| state.retry_now()>"Retry now"</button>
                        </div>
                    }
                    .into_any(),
                )
            }
            Status::Connected {
                subscriptions,
                notice,
                session_present,
                ..
            } => {
                let refused = match subscriptions {
                    Subscriptions::Refused(list) => Some(
                        list.into_iter()
                            .map(|(filter, reason)| {
                                format!(
                                    "The broker refused the subscription to {filter} ({}): devices \
                                     that report there will not appear. Check the broker's access \
                                     rules (ACL) for this user.",
                                    reason.description()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    _ => None,
                };
                let session = if session_present {
                    "Session resumed: the broker kept it since the last connection."
                } else {
                    "New session."
                };
                Some(
                    view! {
                        <div class="info">
                            {notice.map(|n| view! { <p data-testid="connection-notice">{n}</p> })}
                            {refused.map(|r| view! {
                                <p class="warning" role="alert" data-testid="subscription-error">{r}</p>
                            })}
                            <p class="session" data-testid="session-kind">{session}</p>
                        </div>
                    }
                    .into_any(),
                )
            }
            _ => None,
        }
    };
    let version_value = move || match version.get() {
        VersionChoice::Auto => "auto",
        VersionChoice::V5 => "5",
        VersionChoice::V311 => "3.1.1",
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
            <label>
                "MQTT version"
                <select data-testid="mqtt-version" prop:value=version_value
                    on:change=move |ev| version.set(match event_target_value(&ev).as_str() {
                        "5" => VersionChoice::V5,
                        "3.1.1" => VersionChoice::V311,
                        _ => VersionChoice::Auto,
                    })>
                    <option value="auto">"Auto (5.0, else 3.1.1)"</option>
                    <option value="5">"5.0"</option>
                    <option value="3.1.1">"3.1.1"</option>
                </select>
            </label>
            <div class="actions">
                <button type="submit" data-testid="connect" disabled=busy>"Connect"</button>
                <button type="button" data-testid="disconnect"
                    disabled=move || !can_disconnect()
                    on:click=move |_| state.disconnect()>"Disconnect"</button>
            </div>
            {message}
        </form>
    }
}
