//! The topic tree: every topic the watch let through, by level, with
//! counts, the last value and a retained marker; a filter by text or by
//! MQTT topic filter; opened and closed by mouse or keyboard (arrows, Home,
//! End, Enter), the focus kept by `aria-activedescendant` so it survives
//! rows being redrawn.

use devices::ConnectionId;
use explorer::{navigate, Expansion, Key, Rows, TopicFilter, TreeView};
use leptos::prelude::*;

use crate::store::use_app_state;

/// Rows drawn at most; the rest are counted.
const MAX_ROWS: usize = 400;

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
    view! {
        <div class="tree-pane">
            <input type="search" class="filter" data-testid="tree-filter"
                placeholder="Filter: text, or a topic filter like stat/+/POWER"
                aria-label="Filter topics by text or by topic filter"
                on:input=move |ev| set_filter(event_target_value(&ev)) />
            {move || filter_error.get().map(|e| view! { <p class="error" data-testid="tree-filter-error">{e}</p> })}
            <div class="tree" role="tree" tabindex="0" data-testid="topic-tree"
                aria-label="Topics" aria-activedescendant=active on:keydown=on_key>
                <For each=move || rows.get().rows
                    key=|row| (row.path.clone(), row.subtree_messages, row.expanded, row.has_children)
                    let(row)>
                    {
                        let path = row.path.clone();
                        let focused = {
                            let path = path.clone();
                            move || focus.with(|f| f.as_deref() == Some(path.as_str()))
                        };
                        let is_selected = {
                            let path = path.clone();
                            move || selected.with(|s| s.as_deref() == Some(path.as_str()))
                        };
                        let open = {
                            let path = path.clone();
                            move |_| {
                                focus.set(Some(path.clone()));
                                selected.set(Some(path.clone()));
                            }
                        };
                        let expander = row.has_children.then(|| {
                            let path = path.clone();
                            let expanded = row.expanded;
                            view! {
                                <button type="button" class="expander" tabindex="-1"
                                    data-testid=format!("expand-{path}")
                                    aria-label=if expanded { "Close" } else { "Open" }
                                    on:click=move |ev| {
                                        ev.stop_propagation();
                                        toggle(path.clone(), expanded);
                                    }>{if expanded { "▾" } else { "▸" }}</button>
                            }
                        });
                        let name = if row.name.is_empty() { "(empty)".to_owned() } else { row.name.clone() };
                        let count = if row.has_children {
                            format!("{} · {}", plural(row.topics, "topic"), plural(row.subtree_messages, "msg"))
                        } else {
                            plural(row.messages, "msg")
                        };
                        view! {
                            <div class="row" role="treeitem" id=row_id(&path)
                                data-testid=format!("topic-{path}")
                                attr:aria-level=(row.depth + 1).to_string()
                                aria-expanded=row.has_children.then(|| row.expanded.to_string())
                                aria-selected=move || is_selected().to_string()
                                class:focused=focused
                                on:click=open>
                                <span class="expander-slot">{expander}</span>
                                <span class="name">{name}</span>
                                {row.retained.then(|| view! {
                                    <span class="retained" title="has a retained message"
                                        data-testid=format!("retained-{path}")>"retained"</span>
                                })}
                                <span class="count">{count}</span>
                                <span class="preview" data-testid=format!("preview-{path}")>{row.preview.clone()}</span>
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
