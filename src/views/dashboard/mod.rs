//! The device tiles, arranged as the user said: per broker, grouped,
//! hidden ones folded away; a Scan button, and advice when nothing
//! answers.

mod custom;
mod tile;

use connections::Status;
use devices::{Action, ConnectionId, DeviceKey};
use leptos::prelude::*;

use crate::store::use_app_state;
use custom::CustomTileForm;
use tile::{layout_key, Tile};

/// How long after a scan an empty dashboard says what was tried.
const ADVICE_AFTER_MS: u64 = 8_000;

/// One section of tiles per connection and group.
#[component]
pub fn DashboardView() -> impl IntoView {
    let state = use_app_state();
    let focused = move || {
        let id = state.focus.get()?;
        Some((id.clone(), state.connection_for(&id)?))
    };
    let ready = move || matches!(state.conn.get(), Status::Connected { .. });
    let empty = move || {
        state.device_keys.with(Vec::is_empty).then(|| {
            let text = if ready() {
                "Connected. Asking devices to announce themselves…"
            } else {
                "Connect to a broker to see its devices."
            };
            view! { <p class="empty" data-testid="no-devices">{text}</p> }
        })
    };
    let scan_result = RwSignal::new(None::<String>);
    let scan = move |_| {
        let Some((_, connection)) = focused() else {
            return;
        };
        scan_result.set(Some(match state.scan(connection) {
            Ok(n) => format!("Asked {n} ways for devices to announce themselves."),
            Err(why) => format!("Not asked: {why}."),
        }));
    };
    // Nothing on the focused connection a while after asking: say what was
    // tried and why devices may stay silent.
    let advice = move || {
        let (_, connection) = focused()?;
        if !ready() {
            return None;
        }
        let any = state
            .device_keys
            .with(|keys| keys.iter().any(|k| k.connection == connection));
        let (at, topics) = state.scans.with(|s| s.get(&connection).cloned())?;
        let waited = state.clock.get().saturating_sub(at);
        (!any && waited >= ADVICE_AFTER_MS).then(|| view! { <NothingFound topics waited /> })
    };
    view! {
        <section class="tiles" data-testid="dashboard">
            <div class="dash-bar">
                {move || ready().then(|| view! {
                    <button type="button" data-testid="scan" on:click=scan
                        title="Ask every ecosystem to announce its devices now">"Scan for devices"</button>
                })}
                {move || scan_result.get().map(|t| view! { <span class="info" data-testid="scan-result">{t}</span> })}
            </div>
            {empty}
            {advice}
            {move || {
                let n = state.ignored_devices.get();
                (n > 0).then(|| view! {
                    <p class="warning" data-testid="devices-ignored">
                        {format!(
                            "{n} more device id(s) seen but not shown: at most {} devices per \
                             connection (or an id longer than {} characters).",
                            devices::DEFAULT_MAX_DEVICES,
                            devices::MAX_ID_LEN
                        )}
                    </p>
                })
            }}
            <For
                each=move || connections_in_use(state.device_keys.get())
                key=|c| c.0
                children=move |connection| view! { <Sections connection /> }
            />
            {move || focused().map(|(profile, _)| view! { <CustomTileForm profile /> })}
        </section>
    }
}

/// The connections that have devices, in order.
fn connections_in_use(keys: Vec<DeviceKey>) -> Vec<ConnectionId> {
    let mut all: Vec<ConnectionId> = keys.iter().map(|k| k.connection).collect();
    all.dedup();
    all
}

/// A connection's devices as its profile's layout arranges them: sections
/// (group, devices) and the hidden devices.
type Arranged = (Vec<(Option<String>, Vec<DeviceKey>)>, Vec<DeviceKey>);

fn arrange(state: crate::store::AppState, connection: ConnectionId) -> Arranged {
    let keys: Vec<DeviceKey> = state.device_keys.with(|keys| {
        keys.iter()
            .filter(|k| k.connection == connection)
            .cloned()
            .collect()
    });
    let names: Vec<String> = keys.iter().map(layout_key).collect();
    let layout = state.layout(connection);
    let (sections, hidden) = layout.arrange(names.iter().map(String::as_str));
    let find = |name: &String| {
        names
            .iter()
            .position(|n| n == name)
            .map(|at| keys[at].clone())
    };
    let sections = sections
        .into_iter()
        .map(|s| (s.group, s.keys.iter().filter_map(find).collect()))
        .collect();
    (sections, hidden.iter().filter_map(find).collect())
}

/// The devices shown in the same section as `lkey`, in display order
/// (moving a device swaps it with a neighbour there).
pub(crate) fn neighbours(
    state: crate::store::AppState,
    connection: ConnectionId,
    lkey: &str,
) -> Vec<String> {
    arrange(state, connection)
        .0
        .into_iter()
        .map(|(_, members)| members.iter().map(layout_key).collect::<Vec<_>>())
        .find(|names| names.iter().any(|n| n == lkey))
        .unwrap_or_default()
}

/// One connection's devices, per the layout of its profile.
#[component]
fn Sections(connection: ConnectionId) -> impl IntoView {
    let state = use_app_state();
    let arranged = Memo::new(move |_| {
        state.profiles.track();
        arrange(state, connection)
    });
    let groups = move || {
        arranged.with(|(sections, _)| sections.iter().map(|(g, _)| g.clone()).collect::<Vec<_>>())
    };
    view! {
        <For
            each=groups
            key=|group| group.clone()
            children=move |group| {
                let members = {
                    let group = group.clone();
                    move || {
                        arranged.with(|(sections, _)| {
                            sections
                                .iter()
                                .find(|(g, _)| *g == group)
                                .map(|(_, m)| m.clone())
                                .unwrap_or_default()
                        })
                    }
                };
                let heading = group.clone().map(|g| {
                    let outlets = {
                        let members = members.clone();
                        move || {
                            members()
                                .into_iter()
                                .flat_map(|k| {
                                    let indexes = state
                                        .tile(&k)
                                        .map(|t| t.with(|d| d.outlets.iter().map(|o| o.index).collect::<Vec<_>>()))
                                        .unwrap_or_default();
                                    indexes.into_iter().map(move |i| (k.clone(), i))
                                })
                                .collect::<Vec<_>>()
                        }
                    };
                    let on = outlets.clone();
                    view! {
                        <h2 class="group" data-testid=format!("group-heading-{g}")>
                            {g.clone()}
                            <button type="button" data-testid=format!("group-off-{g}")
                                on:click=move |_| state.group(outlets(), Action::Off, 0)>"All off"</button>
                            <button type="button" data-testid=format!("group-on-{g}")
                                on:click=move |_| state.group(on(), Action::On, 1_000)>"All on, staggered"</button>
                        </h2>
                    }
                });
                view! {
                    {heading}
                    <div class="grid">
                        <For each=members key=|k| k.clone() children=|key| view! { <Tile key /> } />
                    </div>
                }
            }
        />
        {move || {
            let hidden = arranged.with(|(_, hidden)| hidden.clone());
            (!hidden.is_empty()).then(|| view! {
                <details class="hidden-devices" data-testid="hidden-devices">
                    <summary>{format!("{} hidden device(s)", hidden.len())}</summary>
                    <ul>
                        {hidden.into_iter().map(|key| {
                            let lkey = layout_key(&key);
                            let id = key.id.clone();
                            view! {
                                <li>
                                    {key.id.clone()}
                                    <button type="button" data-testid=format!("unhide-{id}")
                                        on:click=move |_| {
                                            let _ = state.arrange(connection, |l| l.set_hidden(&lkey, false));
                                        }>"Show"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </details>
            })
        }}
    }
}

/// What was asked, and why devices may not answer.
#[component]
fn NothingFound(topics: Vec<String>, waited: u64) -> impl IntoView {
    view! {
        <div class="warning" role="status" data-testid="nothing-found">
            <p>{format!(
                "No device has answered in {} s. Plugboard asked on: {}.",
                waited / 1_000,
                topics.join(", ")
            )}</p>
            <p>
                "Devices that are off, on another broker, or use another topic prefix will not \
                 answer. On clustered brokers (RabbitMQ, ejabberd, …) retained messages are kept \
                 only on the node that stored them, so devices that announced themselves earlier \
                 appear when they next report (Tasmota: every TelePeriod). Press Scan to ask again."
            </p>
        </div>
    }
}
