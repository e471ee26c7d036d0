//! The message log: newest first, paused and resumed without losing
//! anything, narrowed by topic filter or text; a message opens above the
//! list to its payload and properties.

use devices::ConnectionId;
use std::sync::Arc;

use explorer::{human_bytes, Entry, LogFilter, LogView, TopicFilter};
use leptos::prelude::*;
use mqtt_client::QoS;
use wasm_bindgen::JsCast;

use super::payload::MessageBody;
use crate::store::use_app_state;
use crate::transport::now_ms_f64;

/// Entries drawn at most; the rest are counted.
const MAX_ROWS: usize = 100;

/// Local wall-clock time, in ms since midnight, of a page-clock time (ms
/// since the page loaded): the offset between the two clocks and the time
/// zone read once, so a row costs no call into JavaScript.
#[derive(Clone, Copy)]
struct WallClock {
    /// Add to a page-clock time to get local ms since the epoch.
    offset_ms: f64,
}

impl WallClock {
    fn now() -> Self {
        let epoch = js_sys::Date::now();
        let zone_minutes = js_sys::Date::new_0().get_timezone_offset();
        Self {
            offset_ms: epoch - now_ms_f64() - zone_minutes * 60_000.0,
        }
    }

    /// `HH:MM:SS.mmm`.
    fn format(self, page_ms: u64) -> String {
        let local = (page_ms as f64 + self.offset_ms).max(0.0) as u64 % 86_400_000;
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            local / 3_600_000,
            local / 60_000 % 60,
            local / 1_000 % 60,
            local % 1_000
        )
    }
}

/// `QoS 1 · retained · dup`.
fn flags(message: &explorer::Message) -> String {
    let mut flags = vec![qos_label(message.qos)];
    if message.retain {
        flags.push("retained");
    }
    if message.dup {
        flags.push("dup");
    }
    flags.join(" · ")
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
    let opened = RwSignal::new(None::<Arc<Entry>>);
    let clock = StoredValue::new(WallClock::now());
    let log = Memo::new(move |_| {
        state.explorer.tick.track();
        clock.set_value(WallClock::now());
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
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let seq = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-seq]").ok().flatten())
            .and_then(|e| e.get_attribute("data-seq"))
            .and_then(|s| s.parse::<u64>().ok());
        let entry = seq.and_then(|seq| {
            log.with_untracked(|v| v.entries.iter().find(|e| e.message.seq == seq).cloned())
        });
        if entry.is_some() {
            opened.set(entry);
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
            {move || opened.get().map(|entry| {
                let message = entry.message.clone();
                view! {
                    <div class="opened" data-testid="log-opened">
                        <div class="opened-head">
                            <span class="topic" data-testid="opened-topic">{entry.topic.to_string()}</span>
                            <button type="button" class="link" data-testid="log-close"
                                on:click=move |_| opened.set(None)>"Close"</button>
                        </div>
                        <MessageBody message />
                    </div>
                }
            })}
            // A fixed set of rows, reused: a refresh in a flood changes
            // their texts instead of replacing them (rows made and dropped
            // ~300 times a second grew wasm memory steadily in the soak),
            // and one click handler on the list serves them all.
            <ol class="log" data-testid="log-entries" on:click=on_click>
                <For each=move || 0..log.with(|v| v.entries.len()) key=|slot| *slot let(slot)>
                    {
                        // What slot `slot` shows now: rows are reused, only
                        // their texts change.
                        let field = move |f: fn(&Entry, WallClock) -> String| {
                            move || {
                                log.with(|v| {
                                    v.entries.get(slot).map(|e| f(e, clock.get_value())).unwrap_or_default()
                                })
                            }
                        };
                        view! {
                            <li class="entry" data-testid="log-entry">
                                <button type="button" class="entry-head"
                                    data-seq=field(|e, _| e.message.seq.to_string())>
                                    <span class="time">{field(|e, clock| clock.format(e.message.time_ms))}</span>
                                    <span class="topic" data-testid="log-topic">{field(|e, _| e.topic.to_string())}</span>
                                    <span class="flags">{field(|e, _| flags(&e.message))}</span>
                                    <span class="size">{field(|e, _| human_bytes(e.message.payload_len as u64))}</span>
                                    <span class="preview" data-testid="log-preview">{field(|e, _| e.message.preview(120))}</span>
                                </button>
                            </li>
                        }
                    }
                </For>
            </ol>
        </div>
    }
}
