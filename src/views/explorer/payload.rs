//! One message opened: its payload in the view the user picks (auto,
//! text, JSON, hex, base64), cut to a few kilobytes with "show all", and
//! its MQTT 5 properties.

use explorer::{describe, human_bytes, render, Message, PayloadView};
use leptos::prelude::*;

/// Payload bytes shown before "show all".
const SHOWN_BYTES: usize = 2048;

const VIEWS: [(PayloadView, &str, &str); 5] = [
    (PayloadView::Auto, "Auto", "auto"),
    (PayloadView::Text, "Text", "text"),
    (PayloadView::Json, "JSON", "json"),
    (PayloadView::Hex, "Hex", "hex"),
    (PayloadView::Base64, "Base64", "base64"),
];

/// A message's payload and properties.
#[component]
pub(super) fn MessageBody(message: Message) -> impl IntoView {
    let view_as = RwSignal::new(PayloadView::Auto);
    let show_all = RwSignal::new(false);
    let payload = message.payload.clone();
    let kept = payload.len();
    let rendered = Memo::new(move |_| {
        let limit = if show_all.get() {
            usize::MAX
        } else {
            SHOWN_BYTES
        };
        render(&payload, view_as.get(), limit)
    });
    let size = if message.is_truncated() {
        format!(
            "{} (the first {} kept)",
            human_bytes(message.payload_len as u64),
            human_bytes(kept as u64)
        )
    } else {
        human_bytes(message.payload_len as u64)
    };
    let properties = describe(&message.properties);
    let buttons = VIEWS
        .iter()
        .map(|&(view, label, id)| {
            view! {
                <button type="button" data-testid=format!("view-{id}")
                    aria-pressed=move || (view_as.get() == view).to_string()
                    on:click=move |_| view_as.set(view)>{label}</button>
            }
        })
        .collect_view();
    view! {
        <div class="message-body">
            <div class="views" role="group" aria-label="Show the payload as">
                {buttons}
                <span class="size" data-testid="payload-size">{size}</span>
            </div>
            {move || rendered.with(|r| r.error.clone()).map(|e| view! {
                <p class="warning" data-testid="payload-error">{e}</p>
            })}
            <pre class="payload" data-testid="payload">{move || rendered.with(|r| r.text.clone())}</pre>
            {move || (rendered.with(|r| r.truncated) && !show_all.get()).then(|| view! {
                <button type="button" class="link" data-testid="show-all"
                    on:click=move |_| show_all.set(true)>
                    {format!("Show all {}", human_bytes(kept as u64))}
                </button>
            })}
            {(!properties.is_empty()).then(|| view! {
                <dl class="properties" data-testid="properties">
                    {properties.into_iter().map(|(name, value)| view! {
                        <dt>{name}</dt><dd>{value}</dd>
                    }).collect_view()}
                </dl>
            })}
        </div>
    }
}
