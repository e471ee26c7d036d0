//! Under the hood: watch a topic filter on the focused connection (`#` for
//! everything), see every topic in a tree, the last message of one, and a
//! live log. The logic is in `crates/explorer`; these views only bind it.

mod log;
mod payload;
mod publish;
mod subscriptions;
mod tree;

use devices::ConnectionId;
use explorer::human_bytes;
use leptos::prelude::*;

use crate::store::use_app_state;
use log::MessageLogView;
use payload::MessageBody;
use publish::PublishForm;
use subscriptions::SubscriptionsPanel;
use tree::TopicTreeView;

/// The explorer of the focused connection.
#[component]
pub fn ExplorerView() -> impl IntoView {
    let state = use_app_state();
    let connection = Memo::new(move |_| {
        let id = state.focus.get()?;
        state.connection_for(&id)
    });
    // On a phone the panel is a drawer at the bottom of the screen, opened
    // by its title; wider, it is a section like the others.
    let open = RwSignal::new(false);
    view! {
        <section class="explorer" class:open=move || open.get() data-testid="explorer"
            aria-labelledby="explorer-title">
            <h2 id="explorer-title">
                <button type="button" class="drawer-handle" data-testid="explorer-drawer"
                    aria-controls="explorer-body" aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)>
                    "Topics and messages"
                    <span class="chevron" aria-hidden="true">{move || if open.get() { "▾" } else { "▴" }}</span>
                </button>
                <span class="wide-title">"Topics and messages"</span>
            </h2>
            <div id="explorer-body">
                {move || match connection.get() {
                    None => view! {
                        <p class="empty">"Connect to a broker to watch its topics."</p>
                    }.into_any(),
                    Some(connection) => view! { <Watching connection /> }.into_any(),
                }}
            </div>
        </section>
    }
}

/// The watch bar, and the panes while watching.
#[component]
fn Watching(connection: ConnectionId) -> impl IntoView {
    let state = use_app_state();
    let filter_text = RwSignal::new("#".to_owned());
    let error = RwSignal::new(None::<String>);
    // A memo: the panes below must not be rebuilt on every refresh (they
    // hold the user's filters, selection and opened levels).
    let watched = Memo::new(move |_| {
        state.explorer.tick.track();
        state.explorer.filter_of(connection)
    });
    let watched = move || watched.get();
    let watching = Memo::new(move |_| watched().is_some());
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match state.watch(connection, &filter_text.get_untracked()) {
            Ok(()) => error.set(None),
            Err(why) => error.set(Some(format!("Not watched: {why}."))),
        }
    };
    let stop = move |_| state.unwatch(connection);
    let selected = RwSignal::new(None::<String>);
    let summary = move || {
        state.explorer.tick.track();
        state.explorer.with(connection, |w| {
            format!(
                "{} topics · {} messages · {} kept",
                w.tree.topics(),
                w.tree.messages(),
                human_bytes((w.tree.kept_bytes() + w.log.kept_bytes()) as u64)
            )
        })
    };
    view! {
        <form class="watch" on:submit=start>
            <label>
                "Watch topics"
                <input type="text" data-testid="watch-filter" spellcheck="false"
                    prop:value=move || filter_text.get()
                    on:input=move |ev| filter_text.set(event_target_value(&ev)) />
            </label>
            <button type="submit" data-testid="watch">
                {move || if watched().is_some() { "Watch instead" } else { "Watch" }}
            </button>
            {move || watched().map(|f| view! {
                <button type="button" data-testid="unwatch" on:click=stop>"Stop watching"</button>
                <span class="info" data-testid="watch-summary" aria-live="polite">
                    {format!("Watching {f}: ")}{summary}
                </span>
            })}
        </form>
        {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="watch-error">{e}</p> })}
        <PublishForm connection />
        <SubscriptionsPanel connection />
        {move || watching.get().then(|| view! {
            <div class="explorer-panes">
                <TopicTreeView connection selected />
                <TopicDetail connection selected />
                <MessageLogView connection />
            </div>
        })}
    }
}

/// The topic opened in the tree: its last message and how many came, and
/// clearing the retained messages there and below (after a confirm that
/// says how many).
#[component]
fn TopicDetail(connection: ConnectionId, selected: RwSignal<Option<String>>) -> impl IntoView {
    let state = use_app_state();
    // Redrawn when the topic's last message changes, not on every tick.
    let last = Memo::new(move |_| {
        state.explorer.tick.track();
        let topic = selected.get()?;
        state
            .explorer
            .with(connection, |w| {
                let node = w.tree.node(&topic)?;
                Some((
                    topic.clone(),
                    node.messages(),
                    node.retained(),
                    node.last().cloned(),
                ))
            })
            .flatten()
    });
    let body = Memo::new(move |_| last.with(|l| l.as_ref().and_then(|(_, _, _, m)| m.clone())));
    let retained_below = Memo::new(move |_| {
        state.explorer.tick.track();
        let topic = selected.get()?;
        Some(state.retained_under(connection, Some(&topic)))
    });
    // The topics a confirm is asked for; cleared when the selection moves.
    let confirming = RwSignal::new(None::<Vec<String>>);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        selected.track();
        confirming.set(None);
        outcome.set(None);
    });
    let clear = move |topics: Vec<String>| {
        confirming.set(None);
        let n = topics.len();
        outcome.set(Some(
            state
                .clear_retained_topics(connection, &topics)
                .map(|sent| {
                    format!(
                        "Cleared {sent} retained message{}.",
                        if sent == 1 { "" } else { "s" }
                    )
                })
                .map_err(|e| format!("{e} ({n} to clear)")),
        ));
    };
    view! {
        <div class="detail-pane" data-testid="topic-detail">
            {move || match last.get() {
                None => view! { <p class="empty">"Pick a topic to see its last message."</p> }.into_any(),
                Some((topic, count, retained, _)) => view! {
                    <h3 data-testid="detail-topic">{topic}</h3>
                    <p class="info">
                        {if count == 1 { "1 message".to_owned() } else { format!("{count} messages") }}
                        {retained.then_some(" · retained")}
                    </p>
                }.into_any(),
            }}
            {move || {
                let topics = retained_below.get().unwrap_or_default();
                if topics.is_empty() || confirming.with(Option::is_some) {
                    return None;
                }
                let n = topics.len();
                let text = if n == 1 && topics[0] == selected.get().unwrap_or_default() {
                    "Clear its retained message…".to_owned()
                } else {
                    format!("Clear {n} retained message{} here and below…", if n == 1 { "" } else { "s" })
                };
                Some(view! {
                    <button type="button" class="danger" data-testid="clear-retained"
                        on:click=move |_| confirming.set(Some(topics.clone()))>{text}</button>
                })
            }}
            {move || confirming.get().map(|topics| {
                let n = topics.len();
                let shown: Vec<String> = topics.iter().take(5).cloned().collect();
                let more = n.saturating_sub(shown.len());
                view! {
                    <div class="confirm" role="alertdialog" aria-label="Clear retained messages" data-testid="clear-confirm">
                        <p>{format!(
                            "Publish an empty retained message to {n} topic{}? The broker then forgets {}.",
                            if n == 1 { "" } else { "s" },
                            if n == 1 { "its retained message" } else { "their retained messages" }
                        )}</p>
                        <ul>{shown.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ul>
                        {(more > 0).then(|| view! { <p class="info">{format!("and {more} more")}</p> })}
                        <button type="button" class="danger" data-testid="clear-yes"
                            on:click=move |_| clear(topics.clone())>{format!("Clear {n}")}</button>
                        <button type="button" data-testid="clear-no"
                            on:click=move |_| confirming.set(None)>"Cancel"</button>
                    </div>
                }
            })}
            {move || outcome.get().map(|r| match r {
                Ok(text) => view! { <p class="info" aria-live="polite" data-testid="clear-result">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert" data-testid="clear-result">{text}</p> }.into_any(),
            })}
            {move || body.get().map(|message| view! { <MessageBody message /> })}
        </div>
    }
}
