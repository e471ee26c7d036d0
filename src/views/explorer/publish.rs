//! The publish form: topic, payload as text, JSON or hex, QoS, retain and
//! MQTT 5 properties; refused with the reason when it cannot be sent;
//! recent publishes to reuse, and publishes saved as one-click buttons
//! with the connection's profile.

use devices::ConnectionId;
use explorer::{Draft, PayloadFormat};
use leptos::prelude::*;

use crate::store::{draft_of, qos_from, use_app_state};

fn format_key(format: PayloadFormat) -> &'static str {
    match format {
        PayloadFormat::Text => "text",
        PayloadFormat::Json => "json",
        PayloadFormat::Hex => "hex",
    }
}

fn format_of(key: &str) -> PayloadFormat {
    match key {
        "json" => PayloadFormat::Json,
        "hex" => PayloadFormat::Hex,
        _ => PayloadFormat::Text,
    }
}

/// A one-line label for a recent draft.
fn label(draft: &Draft) -> String {
    let payload: String = draft.payload.chars().take(40).collect();
    let more = if draft.payload.chars().count() > 40 {
        "…"
    } else {
        ""
    };
    format!("{} ← {payload}{more}", draft.topic)
}

/// The publish form of `connection`.
#[component]
pub(super) fn PublishForm(connection: ConnectionId) -> impl IntoView {
    let state = use_app_state();
    let draft = RwSignal::new(Draft::default());
    let result = RwSignal::new(None::<Result<String, String>>);
    let save_name = RwSignal::new(String::new());
    let properties_open = RwSignal::new(false);
    let publish = move |d: Draft, origin: &str| {
        result.set(Some(state.publish_draft(connection, &d, origin)));
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        publish(draft.get_untracked(), "publish form");
    };
    let save = move |_| {
        let name = save_name.get_untracked();
        result.set(Some(
            state
                .save_button(connection, &name, &draft.get_untracked())
                .map(|()| format!("Saved as the button “{}”.", name.trim())),
        ));
    };
    let text_field = move |get: fn(&Draft) -> &String, set: fn(&mut Draft, String)| {
        (
            move || draft.with(|d| get(d).clone()),
            move |ev: leptos::ev::Event| draft.update(|d| set(d, event_target_value(&ev))),
        )
    };
    let (topic, on_topic) = text_field(|d| &d.topic, |d, v| d.topic = v);
    let (payload, on_payload) = text_field(|d| &d.payload, |d, v| d.payload = v);
    let (content_type, on_content_type) =
        text_field(|d| &d.content_type, |d, v| d.content_type = v);
    let (expiry, on_expiry) = text_field(|d| &d.message_expiry, |d, v| d.message_expiry = v);
    let (response, on_response) = text_field(|d| &d.response_topic, |d, v| d.response_topic = v);
    let (correlation, on_correlation) =
        text_field(|d| &d.correlation_data, |d, v| d.correlation_data = v);
    let user_rows = move || draft.with(|d| d.user_properties.len());
    let saved = move || state.saved_publishes(connection);
    let recent = move || state.recent.with(|r| r.iter().cloned().collect::<Vec<_>>());
    let mqtt5 = move || state.speaks_mqtt5(connection);
    view! {
        <details class="publish" data-testid="publish-section">
            <summary data-testid="publish-open">"Publish a message"</summary>
            {move || {
                let buttons = saved();
                (!buttons.is_empty()).then(|| view! {
                    <div class="saved" role="group" aria-label="Saved publishes">
                        {buttons.into_iter().map(|button| {
                            let name = button.name.clone();
                            let remove_name = name.clone();
                            view! {
                                <span class="saved-button">
                                    <button type="button" data-testid=format!("saved-{name}")
                                        title=format!("Publish to {}", button.topic)
                                        on:click=move |_| publish(draft_of(&button), &format!("button {}", button.name))>{name.clone()}</button>
                                    <button type="button" class="remove" data-testid=format!("remove-saved-{name}")
                                        aria-label=format!("Remove the button {name}")
                                        on:click=move |_| state.remove_button(connection, &remove_name)>"×"</button>
                                </span>
                            }
                        }).collect_view()}
                    </div>
                })
            }}
            <form class="publish-form" on:submit=submit>
                <label class="wide">"Topic"
                    <input type="text" data-testid="publish-topic" spellcheck="false"
                        prop:value=topic on:input=on_topic />
                </label>
                <label>"Payload as"
                    <select data-testid="publish-format"
                        prop:value=move || format_key(draft.with(|d| d.format))
                        on:change=move |ev| draft.update(|d| d.format = format_of(&event_target_value(&ev)))>
                        <option value="text">"Text"</option>
                        <option value="json">"JSON"</option>
                        <option value="hex">"Hex"</option>
                    </select>
                </label>
                <label>"QoS"
                    <select data-testid="publish-qos"
                        prop:value=move || (draft.with(|d| d.qos) as u8).to_string()
                        on:change=move |ev| draft.update(|d| d.qos = qos_from(&event_target_value(&ev)))>
                        <option value="0">"0 · at most once"</option>
                        <option value="1">"1 · at least once"</option>
                        <option value="2">"2 · exactly once"</option>
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="publish-retain"
                        prop:checked=move || draft.with(|d| d.retain)
                        on:change=move |ev| draft.update(|d| d.retain = event_target_checked(&ev)) />
                    "Retain"
                </label>
                <label class="wide">"Payload"
                    <textarea data-testid="publish-payload" rows="4" spellcheck="false"
                        prop:value=payload on:input=on_payload></textarea>
                </label>
                <details class="wide v5" data-testid="publish-v5"
                    prop:open=move || properties_open.get()
                    on:toggle=move |ev| properties_open.set(event_target::<web_sys::HtmlDetailsElement>(&ev).open())>
                    <summary>"MQTT 5 properties"
                        {move || (mqtt5() == Some(false)).then_some(" (this connection speaks 3.1.1)")}
                    </summary>
                    <div class="grid">
                        <label>"Content type"
                            <input type="text" data-testid="publish-content-type" placeholder="application/json"
                                prop:value=content_type on:input=on_content_type />
                        </label>
                        <label>"Payload format"
                            <select data-testid="publish-payload-format"
                                prop:value=move || match draft.with(|d| d.payload_format) {
                                    Some(true) => "utf8",
                                    Some(false) => "bytes",
                                    None => "",
                                }
                                on:change=move |ev| draft.update(|d| d.payload_format = match event_target_value(&ev).as_str() {
                                    "utf8" => Some(true),
                                    "bytes" => Some(false),
                                    _ => None,
                                })>
                                <option value="">"not sent"</option>
                                <option value="utf8">"UTF-8 text"</option>
                                <option value="bytes">"bytes"</option>
                            </select>
                        </label>
                        <label>"Message expiry (s)"
                            <input type="text" inputmode="numeric" data-testid="publish-expiry"
                                prop:value=expiry on:input=on_expiry />
                        </label>
                        <label>"Response topic"
                            <input type="text" data-testid="publish-response-topic"
                                prop:value=response on:input=on_response />
                        </label>
                        <label>"Correlation data"
                            <input type="text" data-testid="publish-correlation"
                                prop:value=correlation on:input=on_correlation />
                        </label>
                        <label>"Topic alias"
                            <select data-testid="publish-topic-alias"
                                prop:value=move || if draft.with(|d| d.topic_alias_off) { "off" } else { "auto" }
                                on:change=move |ev| draft.update(|d| d.topic_alias_off = event_target_value(&ev) == "off")>
                                <option value="auto">"automatic (when the broker allows)"</option>
                                <option value="off">"off: the whole topic"</option>
                            </select>
                        </label>
                        <div class="wide user-properties">
                            {move || (0..user_rows()).map(|i| view! {
                                <span class="pair">
                                    <input type="text" placeholder="name" aria-label=format!("User property {} name", i + 1)
                                        data-testid=format!("publish-user-key-{i}")
                                        prop:value=move || draft.with(|d| d.user_properties.get(i).map(|p| p.0.clone()).unwrap_or_default())
                                        on:input=move |ev| draft.update(|d| if let Some(p) = d.user_properties.get_mut(i) { p.0 = event_target_value(&ev) }) />
                                    <input type="text" placeholder="value" aria-label=format!("User property {} value", i + 1)
                                        data-testid=format!("publish-user-value-{i}")
                                        prop:value=move || draft.with(|d| d.user_properties.get(i).map(|p| p.1.clone()).unwrap_or_default())
                                        on:input=move |ev| draft.update(|d| if let Some(p) = d.user_properties.get_mut(i) { p.1 = event_target_value(&ev) }) />
                                </span>
                            }).collect_view()}
                            <button type="button" data-testid="publish-add-user-property"
                                on:click=move |_| draft.update(|d| d.user_properties.push(Default::default()))>
                                "Add a user property"
                            </button>
                        </div>
                    </div>
                </details>
                <div class="wide actions">
                    <button type="submit" data-testid="publish">"Publish"</button>
                    <input type="text" class="save-name" data-testid="save-name" placeholder="button name"
                        aria-label="Name of the button to save this publish as"
                        prop:value=move || save_name.get() on:input=move |ev| save_name.set(event_target_value(&ev)) />
                    <button type="button" data-testid="save-button" on:click=save>"Save as a button"</button>
                </div>
                <p class="wide" aria-live="polite">
                    {move || result.get().map(|r| match r {
                        Ok(text) => view! { <span class="info" data-testid="publish-result">{text}</span> }.into_any(),
                        Err(text) => view! { <span class="error" data-testid="publish-error">{text}</span> }.into_any(),
                    })}
                </p>
            </form>
            {move || {
                let drafts = recent();
                (!drafts.is_empty()).then(|| view! {
                    <div class="recent">
                        <h3>"Recent"</h3>
                        <ol>
                            {drafts.into_iter().enumerate().map(|(i, d)| {
                                let text = label(&d);
                                view! {
                                    <li><button type="button" class="link" data-testid=format!("recent-{i}")
                                        title="Fill the form with this publish"
                                        on:click=move |_| {
                                            properties_open.set(d.has_properties());
                                            draft.set(d.clone());
                                        }>{text}</button></li>
                                }
                            }).collect_view()}
                        </ol>
                    </div>
                })
            }}
        </details>
    }
}
