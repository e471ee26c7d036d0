//! The message log: newest first, paused and resumed without losing
//! anything, narrowed by topic filter or text; a message opens to its
//! payload and properties.

use devices::ConnectionId;
use explorer::{human_bytes, LogFilter, LogView, TopicFilter};
use leptos::prelude::*;
use mqtt_client::QoS;

use super::payload::MessageBody;
use crate::store::use_app_state;
use crate::transport::now_ms_f64;

/// Entries drawn at most; the rest are counted.
const MAX_ROWS: usize = 200;

/// `HH:MM:SS.mmm`, local time, of a page-clock time.
fn wall_clock(page_ms: u64) -> String {
    let at = js_sys::Date::now() - (now_ms_f64() - page_ms as f64);
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

fn qos_label(qos: QoS) -> &'static str {
    match qos {
        QoS::AtMostOnce => "QoS 0",
        QoS::AtLeastOnce => "QoS 1",
        QoS::ExactlyOnce => "QoS 2",
    }
}

/// The log of `connection`'s watch.
#[component]
pub(super) fn MessageLogView(connection: ConnectionId) -> impl IntoView {
    let state = use_app_state();
    let filter = RwSignal::new(LogFilter::default());
    let filter_error = RwSignal::new(None::<String>);
    let opened = RwSignal::new(None::<u64>);
    let log = Memo::new(move |_| {
        state.explorer.tick.track();
        filter.with(|f| {
            state
                .explorer
                .with(connection, |w| w.log.view(f, MAX_ROWS))
                .unwrap_or_default()
        })
    });
    let paused = move || {
        state.explorer.tick.track();
        state
            .explorer
            .with(connection, |w| w.log.is_paused())
            .unwrap_or(false)
    };
    let pause = move |_| {
        state.explorer.update(connection, |w| {
            if w.log.is_paused() {
                w.log.resume();
            } else {
                w.log.pause();
            }
        });
    };
    let clear = move |_| {
        opened.set(None);
        state.explorer.update(connection, |w| w.log.clear());
    };
    let set_filter = move |text: String| {
        let text = text.trim().to_owned();
        if text.contains(['+', '#']) || (text.contains('/') && !text.contains(' ')) {
            match TopicFilter::new(&text) {
                Ok(topic) => {
                    filter_error.set(None);
                    filter.set(LogFilter {
                        topic: Some(topic),
                        text: String::new(),
                    });
                }
                Err(err) => filter_error.set(Some(format!("Not a topic filter: {err}."))),
            }
        } else {
            filter_error.set(None);
            filter.set(LogFilter { topic: None, text });
        }
    };
    let summary = move || {
        log.with(
            |LogView {
                 entries,
                 matched,
                 more: _,
                 new_while_paused,
             }| {
                let mut text = if entries.len() < *matched {
                    format!("Newest {} of {matched} messages", entries.len())
                } else {
                    format!("{matched} messages")
                };
                if *new_while_paused > 0 {
                    text.push_str(&format!(" · paused: {new_while_paused} new since"));
                }
                text
            },
        )
    };
    view! {
        <div class="log-pane" data-testid="message-log">
            <div class="log-bar">
                <button type="button" data-testid="log-pause" on:click=pause
                    aria-pressed=move || paused().to_string()>
                    {move || if paused() { "Resume" } else { "Pause" }}
                </button>
                <button type="button" data-testid="log-clear" on:click=clear>"Clear"</button>
                <input type="search" class="filter" data-testid="log-filter"
                    placeholder="Filter: a topic filter like tele/# or text"
                    aria-label="Filter messages by topic filter or text"
                    on:input=move |ev| set_filter(event_target_value(&ev)) />
                <span class="info" data-testid="log-summary" aria-live="polite">{summary}</span>
            </div>
            {move || filter_error.get().map(|e| view! { <p class="error" data-testid="log-filter-error">{e}</p> })}
            <ol class="log" data-testid="log-entries">
                <For each=move || log.get().entries key=|entry| entry.message.seq let(entry)>
                    {
                        let seq = entry.message.seq;
                        let is_open = move || opened.get() == Some(seq);
                        let flags = {
                            let m = &entry.message;
                            let mut flags = vec![qos_label(m.qos)];
                            if m.retain { flags.push("retained"); }
                            if m.dup { flags.push("dup"); }
                            flags.join(" · ")
                        };
                        let message = entry.message.clone();
                        view! {
                            <li class="entry" data-testid="log-entry" data-open=move || is_open().to_string()>
                                <button type="button" class="entry-head" aria-expanded=move || is_open().to_string()
                                    on:click=move |_| opened.update(|o| *o = if *o == Some(seq) { None } else { Some(seq) })>
                                    <span class="time">{wall_clock(entry.message.time_ms)}</span>
                                    <span class="topic" data-testid="log-topic">{entry.topic.to_string()}</span>
                                    <span class="flags">{flags}</span>
                                    <span class="size">{human_bytes(entry.message.payload_len as u64)}</span>
                                    <span class="preview" data-testid="log-preview">{entry.message.preview(120)}</span>
                                </button>
                                {move || is_open().then(|| view! { <MessageBody message=message.clone() /> })}
                            </li>
                        }
                    }
                </For>
            </ol>
        </div>
    }
}
