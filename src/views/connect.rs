//! The connection form, and what the connection has to say.

use connections::{Profile, Status, Subscriptions, Version, VersionChoice, Will};
use gloo_timers::callback::Interval;
use leptos::prelude::*;

use crate::store::{name_from_url, new_profile_id, random_client_id, use_app_state};
use crate::transport::{now_ms, page_context};

/// The form for one connection profile (new, or the one being edited),
/// and what the focused connection has to say.
#[component]
pub fn ConnectPanel() -> impl IntoView {
    let state = use_app_state();
    // A new profile to edit re-creates the form with its values.
    move || {
        let initial = state.editing.get().unwrap_or_else(|| Profile {
            id: new_profile_id(),
            client_id: random_client_id(),
            ..Profile::default()
        });
        view! { <ProfileForm initial /> }
    }
}

fn parse_number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}

#[component]
fn ProfileForm(initial: Profile) -> impl IntoView {
    let state = use_app_state();
    let id = initial.id.clone();
    let name = RwSignal::new(initial.name.clone());
    let url = RwSignal::new(initial.url.clone());
    let client_id = RwSignal::new(initial.client_id.clone());
    let username = RwSignal::new(initial.username.clone());
    let password = RwSignal::new(initial.password.clone().unwrap_or_default());
    let remember = RwSignal::new(initial.remember_password);
    let version = RwSignal::new(match initial.version {
        Version::Auto => VersionChoice::Auto,
        Version::V5 => VersionChoice::V5,
        Version::V311 => VersionChoice::V311,
    });
    let keep_alive = RwSignal::new(initial.keep_alive_secs.to_string());
    let clean_start = RwSignal::new(initial.clean_start);
    let expiry = RwSignal::new(
        initial
            .session_expiry_secs
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    let will = initial.will.clone().unwrap_or_default();
    let will_topic = RwSignal::new(will.topic);
    let will_payload = RwSignal::new(will.payload);
    let will_qos = RwSignal::new(will.qos.to_string());
    let will_retain = RwSignal::new(will.retain);
    let extra = RwSignal::new(
        initial
            .subscriptions
            .iter()
            .map(|s| s.filter.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let topics = initial.device_topics.clone();
    let tasmota_group = RwSignal::new(topics.tasmota_group);
    let z2m_base = RwSignal::new(topics.zigbee2mqtt);
    let ha_prefix = RwSignal::new(topics.homeassistant);
    let netio_prefix = RwSignal::new(topics.netio);
    let form_error = RwSignal::new(None::<String>);
    let profile = move || {
        let url_text = url.get_untracked().trim().to_owned();
        let name_text = match name.get_untracked().trim() {
            "" => name_from_url(&url_text),
            n => n.to_owned(),
        };
        let will_topic = will_topic.get_untracked();
        // Arranged on the dashboard, not in this form: carried over.
        let kept = state.saved(&id).unwrap_or_default();
        Profile {
            id: id.clone(),
            layout: kept.layout,
            custom_tiles: kept.custom_tiles,
            saved_publishes: kept.saved_publishes,
            device_topics: connections::DeviceTopics {
                tasmota_group: tasmota_group.get_untracked().trim().to_owned(),
                zigbee2mqtt: z2m_base.get_untracked().trim().to_owned(),
                homeassistant: ha_prefix.get_untracked().trim().to_owned(),
                netio: netio_prefix.get_untracked().trim().to_owned(),
            },
            name: name_text,
            url: url_text,
            client_id: client_id.get_untracked().trim().to_owned(),
            username: username.get_untracked().trim().to_owned(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            remember_password: remember.get_untracked(),
            keep_alive_secs: parse_number(&keep_alive.get_untracked()).unwrap_or(30),
            clean_start: clean_start.get_untracked(),
            session_expiry_secs: parse_number(&expiry.get_untracked()),
            version: match version.get_untracked() {
                VersionChoice::Auto => Version::Auto,
                VersionChoice::V5 => Version::V5,
                VersionChoice::V311 => Version::V311,
            },
            will: (!will_topic.trim().is_empty()).then(|| Will {
                topic: will_topic.trim().to_owned(),
                payload: will_payload.get_untracked(),
                qos: parse_number(&will_qos.get_untracked()).unwrap_or(0),
                retain: will_retain.get_untracked(),
            }),
            // The filters as listed here; the options the subscriptions
            // manager gave them stay.
            subscriptions: extra
                .get_untracked()
                .split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|filter| {
                    kept.subscriptions
                        .iter()
                        .find(|s| s.filter == filter)
                        .cloned()
                        .unwrap_or_else(|| filter.into())
                })
                .collect(),
        }
    };
    let profile_for_save = profile.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        let p = profile();
        // A URL that cannot work is the connection's error, shown below
        // with the doctor's advice; the other fields are the form's.
        if connections::check_url(&p.url, page_context()).is_ok() {
            if let Err(err) = p.validate() {
                form_error.set(Some(err.to_string()));
                return;
            }
        }
        state.connect_profile(p);
    };
    let on_save = move |_| {
        form_error.set(None);
        let p = profile_for_save();
        match p.validate() {
            Ok(()) => {
                let _ = state.save_profile(p);
            }
            Err(err) => form_error.set(Some(err.to_string())),
        }
    };
    // This profile's connection, not another one's.
    let mine = StoredValue::new(initial.id.clone());
    let status = move || {
        mine.with_value(|id| state.statuses.with(|s| s.get(id).cloned()))
            .unwrap_or(Status::Idle)
    };
    let busy = move || {
        matches!(
            status(),
            Status::Connecting { .. } | Status::Connected { .. }
        )
    };
    // Disconnect stays available in every state but idle and failed.
    let can_disconnect = move || !matches!(status(), Status::Idle | Status::Failed(_));
    // A clock for the countdown to the next attempt.
    let clock = RwSignal::new(now_ms());
    let ticker = StoredValue::new_local(Some(Interval::new(1_000, move || {
        clock.set(now_ms());
    })));
    on_cleanup(move || {
        ticker.try_update_value(Option::take);
    });
    let disconnect = move |_| state.disconnect(&mine.get_value());
    let message = move || {
        let status = status();
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
                                on:click=move |_| state.retry_now(&mine.get_value())>"Retry now"</button>
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
    // Once this form's connection comes up, the form folds into one line
    // (the dashboard is the page); it opens again on "Connection settings",
    // and by itself when the connection ends.
    let folded = RwSignal::new(false);
    Effect::new(move |was_up: Option<bool>| {
        let status = status();
        let up = matches!(status, Status::Connected { .. });
        if up && was_up == Some(false) {
            folded.set(true);
        }
        if matches!(status, Status::Idle | Status::Failed(_)) {
            folded.set(false);
        }
        up
    });
    let bar = move || {
        folded.get().then(|| {
            let address = url.get_untracked().trim().to_owned();
            let title = match name.get_untracked().trim() {
                "" => name_from_url(&address),
                n => n.to_owned(),
            };
            view! {
                <div class="bar" data-testid="connection-bar">
                    <span class="dot" aria-hidden="true"></span>
                    <strong class="name">{title}</strong>
                    <span class="url">{address}</span>
                    <button type="button" class="settings" data-testid="edit-connection"
                        aria-expanded="false"
                        on:click=move |_| folded.set(false)>"Settings"</button>
                </div>
            }
        })
    };
    let version_value = move || match version.get() {
        VersionChoice::Auto => "auto",
        VersionChoice::V5 => "5",
        VersionChoice::V311 => "3.1.1",
    };
    view! {
        <form class="connect" class:folded=move || folded.get() on:submit=on_submit>
            {bar}
            <label>
                "Name"
                <input type="text" data-testid="profile-name" placeholder="host:port"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
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
            <details class="more">
                <summary data-testid="more-settings">"More settings"</summary>
                <div class="grid">
                    <label class="check">
                        <input type="checkbox" data-testid="remember-password"
                            prop:checked=move || remember.get()
                            on:change=move |ev| remember.set(event_target_checked(&ev)) />
                        "Remember the password in this browser"
                    </label>
                    <label>
                        "Keep-alive (s)"
                        <input type="number" min="0" max="65535" data-testid="keep-alive"
                            prop:value=move || keep_alive.get()
                            on:input=move |ev| keep_alive.set(event_target_value(&ev)) />
                    </label>
                    <label class="check">
                        <input type="checkbox" data-testid="clean-start"
                            prop:checked=move || clean_start.get()
                            on:change=move |ev| clean_start.set(event_target_checked(&ev)) />
                        "Clean start (no stored session)"
                    </label>
                    <label>
                        "Session expiry (s, MQTT 5)"
                        <input type="number" min="0" data-testid="session-expiry"
                            prop:value=move || expiry.get()
                            on:input=move |ev| expiry.set(event_target_value(&ev)) />
                    </label>
                    <label>
                        "Last will topic"
                        <input type="text" data-testid="will-topic" spellcheck="false"
                            prop:value=move || will_topic.get()
                            on:input=move |ev| will_topic.set(event_target_value(&ev)) />
                    </label>
                    <label>
                        "Last will payload"
                        <input type="text" data-testid="will-payload"
                            prop:value=move || will_payload.get()
                            on:input=move |ev| will_payload.set(event_target_value(&ev)) />
                    </label>
                    <label>
                        "Will QoS"
                        <select data-testid="will-qos" prop:value=move || will_qos.get()
                            on:change=move |ev| will_qos.set(event_target_value(&ev))>
                            <option value="0">"0"</option>
                            <option value="1">"1"</option>
                            <option value="2">"2"</option>
                        </select>
                    </label>
                    <label class="check">
                        <input type="checkbox" data-testid="will-retain"
                            prop:checked=move || will_retain.get()
                            on:change=move |ev| will_retain.set(event_target_checked(&ev)) />
                        "Will retained"
                    </label>
                    <label class="wide">
                        "Extra subscriptions (one filter per line)"
                        <textarea data-testid="extra-subscriptions" rows="2" spellcheck="false"
                            prop:value=move || extra.get()
                            on:input=move |ev| extra.set(event_target_value(&ev))></textarea>
                    </label>
                    <label>
                        "Tasmota group topic"
                        <input type="text" data-testid="topic-tasmota-group" bind:value=tasmota_group />
                    </label>
                    <label>
                        "Zigbee2MQTT base topic"
                        <input type="text" data-testid="topic-zigbee2mqtt" bind:value=z2m_base />
                    </label>
                    <label>
                        "Home Assistant discovery prefix"
                        <input type="text" data-testid="topic-homeassistant" bind:value=ha_prefix />
                    </label>
                    <label>
                        "NETIO MQTT-flex prefix"
                        <input type="text" data-testid="topic-netio" bind:value=netio_prefix />
                    </label>
                </div>
            </details>
            {move || form_error.get().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e}</p> })}
            <div class="actions">
                <button type="submit" data-testid="connect" disabled=busy>"Connect"</button>
                <button type="button" data-testid="save-profile" on:click=on_save>"Save"</button>
                <button type="button" data-testid="new-profile"
                    on:click=move |_| state.editing.set(Some(Profile {
                        id: new_profile_id(),
                        client_id: random_client_id(),
                        ..Profile::default()
                    }))>"New connection"</button>
                <button type="button" data-testid="disconnect"
                    disabled=move || !can_disconnect()
                    on:click=disconnect>"Disconnect"</button>
            </div>
            {message}
        </form>
    }
}
