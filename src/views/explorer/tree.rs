//! The topic tree: every topic the watch let through, by level, with
//! counts, the last value and a retained marker; a filter by text or by
//! MQTT topic filter; opened and closed by mouse or keyboard (arrows, Home,
//! End, Enter), the focus kept by `aria-activedescendant` so it survives
//! rows being redrawn.

use devices::ConnectionId;
use explorer::{navigate, Expansion, Key, Row, Rows, TopicFilter, TreeView};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use mqtt_client::QoS;

use crate::store::use_app_state;
use crate::views::ago;

/// Rows drawn at most; the rest are counted.
const MAX_ROWS: usize = 400;

/// The counts of a row: `3 topics · 12 msgs`, or `1 msg`.
fn count(row: &Row) -> String {
    let mut text = if row.has_children {
        format!(
            "{} · {}",
            plural(row.topics, "topic"),
            plural(row.subtree_messages, "msg")
        )
    } else {
        plural(row.messages, "msg")
    };
    match row.qos {
        Some(QoS::AtLeastOnce) => text.push_str(" · QoS 1"),
        Some(QoS::ExactlyOnce) => text.push_str(" · QoS 2"),
        _ => {}
    }
    text
}

/// `1 msg`, `2 msgs`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// An element id for a row: topics may hold any character.
fn row_id(path: &str) -> String {
    let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("topic-row-{hash:016x}")
}

/// The tree of `connection`'s watch; `selected` is the topic opened in the
/// detail pane.
#[component]
pub(super) fn TopicTreeView(
    connection: ConnectionId,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let state = use_app_state();
    let tree_view = RwSignal::new(TreeView::default());
    let focus = RwSignal::new(None::<String>);
    let filter_error = RwSignal::new(None::<String>);
    let rows = Memo::new(move |_| {
        state.explorer.tick.track();
        tree_view.with(|view| {
            state
                .explorer
                .with(connection, |w| w.tree.rows(view, MAX_ROWS))
                .unwrap_or_default()
        })
    });
    let dropped = move || {
        state.explorer.tick.track();
        state
            .explorer
            .with(connection, |w| w.tree.dropped_topics())
            .filter(|n| *n > 0)
    };
    let set_filter = move |text: String| {
        let text = text.trim().to_owned();
        // Wildcards make it a topic filter; anything else is text.
        if text.contains(['+', '#']) {
            match TopicFilter::new(&text) {
                Ok(filter) => {
                    filter_error.set(None);
                    tree_view.update(|v| {
                        v.filter = Some(filter);
                        v.filter_text.clear();
                    });
                }
                Err(err) => filter_error.set(Some(format!("Not a topic filter: {err}."))),
            }
        } else {
            filter_error.set(None);
            tree_view.update(|v| {
                v.filter = None;
                v.filter_text = text;
            });
        }
    };
    let toggle = move |path: String, expanded: bool| {
        tree_view.update(|v| {
            v.apply(&if expanded {
                Expansion::Collapse(path)
            } else {
                Expansion::Expand(path)
            })
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = match ev.key().as_str() {
            "ArrowUp" => Key::Up,
            "ArrowDown" => Key::Down,
            "ArrowLeft" => Key::Left,
            "ArrowRight" => Key::Right,
            "Home" => Key::Home,
            "End" => Key::End,
            "Enter" | " " => {
                ev.prevent_default();
                if let Some(path) = focus.get_untracked() {
                    selected.set(Some(path));
                }
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        let step =
            rows.with_untracked(|r| navigate(&r.rows, focus.get_untracked().as_deref(), key));
        if let Some(change) = step.change {
            tree_view.update(|v| v.apply(&change));
        }
        focus.set(step.focus);
    };
    let active = move || focus.get().map(|p| row_id(&p));
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let closest = |selector: &str| target.closest(selector).ok().flatten();
        if let Some(path) = closest("[data-expand]").and_then(|e| e.get_attribute("data-expand")) {
            let expanded =
                rows.with_untracked(|r| r.rows.iter().any(|row| row.path == path && row.expanded));
            toggle(path, expanded);
        } else if let Some(path) = closest("[data-path]").and_then(|e| e.get_attribute("data-path"))
        {
            focus.set(Some(path.clone()));
            selected.set(Some(path));
        }
    };
    view! {
        <div class="tree-pane">
            <input type="search" class="filter" data-testid="tree-filter"
                placeholder="Filter: text, or a topic filter like stat/+/POWER"
                aria-label="Filter topics by text or by topic filter"
                on:input=move |ev| set_filter(event_target_value(&ev)) />
            {move || filter_error.get().map(|e| view! { <p class="error" data-testid="tree-filter-error">{e}</p> })}
            <div class="tree" role="tree" tabindex="0" data-testid="topic-tree"
                aria-label="Topics" aria-activedescendant=active on:keydown=on_key
                on:click=on_click>
                // A fixed set of rows, reused (a flood changes every count
                // at each refresh), with one click handler here for all.
                <For each=move || 0..rows.with(|r| r.rows.len()) key=|slot| *slot let(slot)>
                    {
                        // What slot `slot` shows now: rows are reused and
                        // only change their texts and attributes.
                        let text = move |f: fn(&Row) -> String| {
                            move || rows.with(|r| r.rows.get(slot).map(f).unwrap_or_default())
                        };
                        let flag = move |f: fn(&Row) -> bool| {
                            move || rows.with(|r| r.rows.get(slot).is_some_and(f))
                        };
                        let path = text(|r| r.path.clone());
                        view! {
                            <div class="row" role="treeitem" id=move || row_id(&path())
                                data-testid=text(|r| format!("topic-{}", r.path))
                                attr:aria-level=text(|r| (r.depth + 1).to_string())
                                aria-expanded=move || rows.with(|r| {
                                    r.rows.get(slot).filter(|x| x.has_children).map(|x| x.expanded.to_string())
                                })
                                aria-selected=move || {
                                    let p = path();
                                    selected.with(|s| s.as_deref() == Some(p.as_str())).to_string()
                                }
                                class:focused=move || {
                                    let p = path();
                                    focus.with(|f| f.as_deref() == Some(p.as_str()))
                                }
                                data-path=path>
                                <span class="expander-slot">
                                    <button type="button" class="expander" tabindex="-1"
                                        hidden=move || !flag(|r| r.has_children)()
                                        data-testid=text(|r| if r.has_children { format!("expand-{}", r.path) } else { String::new() })
                                        data-expand=path
                                        aria-label=move || if flag(|r| r.expanded)() { "Close" } else { "Open" }>
                                        {move || if flag(|r| r.expanded)() { "▾" } else { "▸" }}
                                    </button>
                                </span>
                                <span class="name">{text(|r| if r.name.is_empty() { "(empty)".to_owned() } else { r.name.clone() })}</span>
                                <span class="retained" title="has a retained message"
                                    hidden=move || !flag(|r| r.retained)()
                                    data-testid=text(|r| if r.retained { format!("retained-{}", r.path) } else { String::new() })>
                                    "retained"
                                </span>
                                <span class="count">{text(count)}</span>
                                <span class="age" data-testid=text(|r| format!("age-{}", r.path))>
                                    {move || {
                                        let at = rows.with(|r| r.rows.get(slot).and_then(|x| x.time_ms));
                                        at.map(|t| ago(state.clock.get().saturating_sub(t))).unwrap_or_default()
                                    }}
                                </span>
                                <span class="preview" data-testid=text(|r| format!("preview-{}", r.path))>{text(|r| r.preview.clone())}</span>
                            </div>
                        }
                    }
                </For>
                {move || rows.with(|Rows { rows, more }| {
                    if rows.is_empty() {
                        Some(view! { <p class="empty">"No topics yet."</p> }.into_any())
                    } else if *more > 0 {
                        Some(view! { <p class="more">{format!("{more} more rows: filter to see them.")}</p> }.into_any())
                    } else {
                        None
                    }
                })}
            </div>
            {move || dropped().map(|n| view! {
                <p class="warning" data-testid="topics-dropped">
                    {format!("{n} more topics seen and counted, not kept: the tree keeps 10 000 levels.")}
                </p>
            })}
        </div>
    }
}
