//! One device: its name, whether it is live, its readings with a sparkline,
//! a toggle and a power-cycle per outlet, group actions, and the user's
//! arrangement (name, group, order, hidden, protected outlets).

use devices::{Action, Device, DeviceKey, Liveness, Outlet, Power};
use leptos::prelude::*;

use crate::store::{use_app_state, AppState, TileSignals};
use crate::views::ago;

/// Outlets of a staggered power-on start this far apart.
const STAGGER_MS: u64 = 1_000;

/// The key a layout knows a device by.
pub(crate) fn layout_key(key: &DeviceKey) -> String {
    format!("{}/{}", key.family, key.id)
}

/// A device tile. Reads only its own signal (and the page clock for "last
/// seen"), so one message re-renders one tile.
#[component]
pub fn Tile(
    /// The device shown.
    key: DeviceKey,
) -> impl IntoView {
    let state = use_app_state();
    let TileSignals {
        device,
        pulse,
        clock,
    } = state.tile_signals(&key)?;
    let id = key.id.clone();
    let lkey = layout_key(&key);
    // Derived values are memos: a message re-runs these small
    // computations, but the DOM is touched only where a value changed.
    let custom_name = Memo::new(move |_| {
        // Tracks the profiles: a rename re-renders the header only.
        state.profiles.track();
        state.with_layout(key.connection, |l| {
            l.get(&lkey).and_then(|d| d.name.clone())
        })
    });
    let title = {
        let device = device.clone();
        let id = id.clone();
        Memo::new(move |_| {
            custom_name
                .get()
                .or_else(|| device.with(|d| d.name.clone()))
                .unwrap_or_else(|| id.clone())
        })
    };
    let chip = {
        let device = device.clone();
        let clock = clock.clone();
        let pulse = pulse.clone();
        Memo::new(move |_| {
            let now = clock.get();
            pulse.track();
            device.with(|d| match d.liveness(now) {
                Liveness::Live => "live",
                Liveness::Stale => "stale",
                Liveness::Offline => "offline",
                Liveness::Unknown if d.awaiting_state() => "waiting",
                Liveness::Unknown => "unknown",
            })
        })
    };
    let seen = {
        let device = device.clone();
        let clock = clock.clone();
        let pulse = pulse.clone();
        Memo::new(move |_| {
            let now = clock.get();
            pulse.track();
            device
                .with_untracked(|d| d.last_seen)
                .map(|at| format!("seen {}", ago(now.saturating_sub(at))))
        })
    };
    let readings = {
        let device = device.clone();
        let pulse = pulse.clone();
        Memo::new(move |_| {
            pulse.track();
            device.with_untracked(|d| readings_text(&d.readings))
        })
    };
    // The sparkline is drawn again only when a sample was added.
    let samples = {
        let device = device.clone();
        Memo::new(move |_| {
            pulse.track();
            device.with_untracked(|d| (d.power_history.len(), d.power_history.back().map(|s| s.0)))
        })
    };
    let spark = {
        let device = device.clone();
        Memo::new(move |_| {
            // `get`, not `track`: a memo nobody reads is never computed, so
            // it would never learn that the device changed.
            let _ = samples.get();
            device.with_untracked(|d| devices::sparkline(&d.power_history, 120.0, 24.0))
        })
    };
    // Keyed by index only: a state change updates the row in place, so a
    // focused switch keeps keyboard focus.
    let outlets = {
        let device = device.clone();
        Memo::new(move |_| device.with(|d| d.outlets.iter().map(|o| o.index).collect::<Vec<u8>>()))
    };
    let multi = Memo::new(move |_| outlets.with(|o| o.len() > 1));
    let waiting = {
        let device = device.clone();
        Memo::new(move |_| device.with(Device::awaiting_state))
    };
    let note = {
        let device = device.clone();
        Memo::new(move |_| device.with(|d| d.note.clone()))
    };
    let flags = {
        let device = device.clone();
        Memo::new(move |_| device.with(|d| d.flags.clone()))
    };
    let tile_id = id.clone();
    let subtitle = {
        let id = id.clone();
        move || (title.get() != id).then(|| id.clone())
    };
    let title = move || title.get();
    Some(view! {
        <article class="tile" data-testid=format!("tile-{id}") data-online=chip>
            <header>
                <h2 data-testid=format!("title-{id}")>{title}</h2>
                <span class="family">{key.family.to_string()}</span>
                {
                    let connection = key.connection;
                    let tid = format!("broker-{id}");
                    move || state.broker_label(connection).map(|name| view! {
                        <span class="broker" data-testid=tid.clone()>{name}</span>
                    })
                }
                <span class="online" data-testid=format!("online-{id}")>{chip}</span>
            </header>
            <p class="sub">
                {move || subtitle().map(|s| view! { <code class="id">{s}</code> " · " })}
                <span data-testid=format!("seen-{id}")>{seen}</span>
            </p>
            {
                let tid = format!("waiting-{id}");
                move || waiting.get().then(|| view! {
                    <p class="info" data-testid=tid.clone()>
                        "Waiting for state: the device is known but has not reported yet."
                    </p>
                })
            }
            {
                let tid = format!("note-{id}");
                move || note.get().map(|note| view! {
                    <p class="warning" data-testid=tid.clone()>{note}</p>
                })
            }
            {
                let tid = format!("readings-{id}");
                move || readings.get().map(|text| view! {
                    <p class="readings" data-testid=tid.clone()>{text}</p>
                })
            }
            {
                let tid = format!("flags-{id}");
                move || {
                    let flags = flags.get();
                    (!flags.is_empty()).then(|| view! {
                        <p class="flags" data-testid=tid.clone()>
                            {flags.into_iter().map(|f| view! {
                                <span class="flag" data-on=f.on.to_string()>
                                    {format!("{}: {}", f.name, f.word())}
                                </span>
                            }).collect_view()}
                        </p>
                    })
                }
            }
            {
                let tid = format!("spark-{id}");
                move || spark.get().map(|points| view! {
                    <svg class="spark" viewBox="0 0 120 24" width="120" height="24"
                        role="img" aria-label="power over the last minutes" data-testid=tid.clone()>
                        <polyline points=points fill="none" stroke="currentColor" stroke-width="1.5" />
                    </svg>
                })
            }
            <RetainedFlags key=key.clone() device=device.clone() />
            <ul class="outlets">
                <For
                    each=move || outlets.get()
                    key=|index: &u8| *index
                    children={
                        let key = key.clone();
                        let device = device.clone();
                        move |index| {
                            view! {
                                <OutletRow key=key.clone() device=device.clone()
                                    tile_id=tile_id.clone() index title=title />
                            }
                        }
                    }
                />
            </ul>
            {
                let key = key.clone();
                let device = device.clone();
                let id = id.clone();
                move || multi.get().then(|| {
                    let all = {
                        let key = key.clone();
                        let device = device.clone();
                        move || device.with(|d| {
                            d.outlets.iter().map(|o| (key.clone(), o.index)).collect::<Vec<_>>()
                        })
                    };
                    let all2 = all.clone();
                    view! {
                        <div class="group-actions">
                            <button type="button" data-testid=format!("all-off-{id}")
                                on:click=move |_| state.group(all(), Action::Off, 0)>"All off"</button>
                            <button type="button" data-testid=format!("all-on-{id}")
                                title="One outlet per second, to spare the fuse the inrush of every load at once"
                                on:click=move |_| state.group(all2(), Action::On, STAGGER_MS)>
                                "All on, staggered"</button>
                        </div>
                    }
                })
            }
            <Arrange key=key.clone() device=device.clone() />
        </article>
    })
}

/// Retained messages on command topics, each with a one-click clear.
#[component]
fn RetainedFlags(key: DeviceKey, device: ArcRwSignal<Device>) -> impl IntoView {
    let state = use_app_state();
    let tid = format!("retained-{}", key.id);
    move || {
        let topics = device.with(|d| d.retained_commands.clone());
        (!topics.is_empty()).then(|| {
            let key = key.clone();
            view! {
                <div class="warning ghost" role="alert" data-testid=tid.clone()>
                    {topics.into_iter().map(|topic| {
                        let key = key.clone();
                        let t = topic.clone();
                        view! {
                            <p>
                                "A retained command sits on " <code>{topic.clone()}</code>
                                ": the device repeats it at every reconnect (\"ghost switching\"). "
                                <button type="button" data-testid=format!("clear-{topic}")
                                    on:click=move |_| state.clear_retained(&key, &t)>"Clear it"</button>
                            </p>
                        }
                    }).collect_view()}
                </div>
            }
        })
    }
}

/// "60.0 W · 230 V · 0.261 A · today 0.123 kWh · total 12.345 kWh", with
/// only what the device reports; `None` if it reports nothing.
fn readings_text(r: &devices::Readings) -> Option<String> {
    let parts: Vec<String> = [
        r.power_w.map(|v| format!("{v:.1} W")),
        r.voltage_v.map(|v| format!("{v:.0} V")),
        r.current_a.map(|v| format!("{v:.3} A")),
        r.energy_today_kwh.map(|v| format!("today {v:.3} kWh")),
        r.energy_total_kwh.map(|v| format!("total {v:.3} kWh")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// Asks before switching a protected outlet.
fn confirmed_by_user(state: AppState, key: &DeviceKey, index: u8, what: &str) -> bool {
    if !state.with_layout(key.connection, |l| l.is_protected(&layout_key(key), index)) {
        return true;
    }
    window()
        .confirm_with_message(&format!(
            "Outlet {index} of {} is protected. {what} it anyway?",
            key.id
        ))
        .unwrap_or(false)
}

/// One outlet: its confirmed state, what is in progress, the switch and
/// a power-cycle. Its parts follow the device's signal, so the row is
/// never rebuilt.
#[component]
fn OutletRow(
    key: DeviceKey,
    device: ArcRwSignal<Device>,
    tile_id: String,
    index: u8,
    title: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let state = use_app_state();
    // The row follows its own outlet only: another outlet's or a
    // reading's change does not touch it.
    let outlet = Memo::new(move |_| {
        device.with(|d| {
            d.outlet(index)
                .cloned()
                .unwrap_or_else(|| Outlet::new(index))
        })
    });
    let outlet = move || outlet.get();
    let confirmed = {
        move || match outlet().confirmed {
            Some(Power::On) => "on",
            Some(Power::Off) => "off",
            None => "unknown",
        }
    };
    let pending = { move || outlet().pending.is_some() };
    let label = {
        move || {
            let o = outlet();
            let word = |p: Power| if p == Power::On { "on" } else { "off" };
            // Only a waiting outlet follows the clock (to see its turn come).
            let waiting = o.pending.is_some_and(|p| {
                state.clock.track();
                p.since > crate::transport::now_ms()
            });
            match (o.pending, o.confirmed) {
                (Some(p), _) if waiting => format!("waits its turn ({})…", word(p.want)),
                (Some(p), _) if p.cycle => format!("power-cycling: {}…", word(p.want)),
                (Some(p), _) => format!("switching {}…", word(p.want)),
                (None, Some(Power::On)) => "ON".into(),
                (None, Some(Power::Off)) => "OFF".into(),
                (None, None) => "unknown".into(),
            }
        }
    };
    let error = { move || outlet().error };
    let outlet_name = { move || outlet().name.filter(|n| !n.is_empty()) };
    let suffix = format!("{tile_id}-{index}");
    let aria = {
        move || match outlet_name() {
            Some(name) => format!("{}, {name}", title()),
            None => format!("{}, outlet {index}", title()),
        }
    };
    let (c1, c2, c3, c4, c5, p1, p2) = (
        confirmed, confirmed, confirmed, confirmed, confirmed, pending, pending,
    );
    let error_id = format!("error-{suffix}");
    let key2 = key.clone();
    view! {
        <li class="outlet" data-confirmed=c1 data-pending=move || p1().to_string()>
            <span class="name">{move || outlet_name().unwrap_or_else(|| format!("Outlet {index}"))}</span>
            <span class="state" data-testid=format!("state-{suffix}") aria-live="polite">{label}</span>
            // Not `disabled` while pending: a disabled button loses focus.
            <button
                class="toggle"
                role="switch"
                aria-label=aria
                aria-checked=move || (c2() == "on").to_string()
                aria-disabled=move || p2().to_string()
                data-testid=format!("toggle-{suffix}")
                on:click=move |_| {
                    if !pending() && confirmed_by_user(state, &key, index, "Switch") {
                        state.toggle(&key, index);
                    }
                }
            >
                <span class="knob"></span>
            </button>
            // Only an outlet that is on can be cycled (off, then on again).
            <button type="button" class="cycle" data-testid=format!("cycle-{suffix}")
                title=move || if c3() == "on" {
                    "Power-cycle: off, then on again"
                } else {
                    "Power-cycle needs the outlet on"
                }
                aria-disabled=move || (c4() != "on").to_string()
                on:click=move |_| {
                    if c5() == "on" && confirmed_by_user(state, &key2, index, "Power-cycle") {
                        state.power_cycle(&key2, index);
                    }
                }>"Cycle"</button>
            {move || error().map(|e| view! { <p class="error" data-testid=error_id.clone()>{e}</p> })}
        </li>
    }
}

/// The user's arrangement of one device, folded away until asked for.
#[component]
fn Arrange(key: DeviceKey, device: ArcRwSignal<Device>) -> impl IntoView {
    // Built when first opened: a thousand tiles do not carry a thousand
    // hidden forms (DOM nodes, memory).
    let open = RwSignal::new(false);
    let id = key.id.clone();
    view! {
        <details class="arrange" data-testid=format!("arrange-{id}")>
            <summary on:click=move |_| open.update(|o| *o = !*o)>"Arrange"</summary>
            {move || open.get().then(|| view! { <ArrangeForm key=key.clone() device=device.clone() /> })}
        </details>
    }
}

/// The controls of [`Arrange`].
#[component]
fn ArrangeForm(key: DeviceKey, device: ArcRwSignal<Device>) -> impl IntoView {
    let state = use_app_state();
    let lkey = layout_key(&key);
    let id = key.id.clone();
    let connection = key.connection;
    let current = state
        .with_layout(connection, |l| l.get(&lkey).cloned())
        .unwrap_or_default();
    let name = RwSignal::new(current.name.clone().unwrap_or_default());
    let group = RwSignal::new(current.group.clone().unwrap_or_default());
    let problem = RwSignal::new(None::<String>);
    let done = move |result: Result<(), String>| problem.set(result.err());
    let save = {
        let lkey = lkey.clone();
        move |_| {
            let (n, g) = (name.get_untracked(), group.get_untracked());
            done(state.arrange(connection, |l| {
                l.rename(&lkey, &n)?;
                l.set_group(&lkey, &g)
            }));
        }
    };
    let hide = {
        let lkey = lkey.clone();
        move |_| done(state.arrange(connection, |l| l.set_hidden(&lkey, true)))
    };
    let mover = |earlier: bool| {
        let lkey = lkey.clone();
        move |_| {
            let shown = super::neighbours(state, connection, &lkey);
            done(state.arrange(connection, |l| l.move_device(&shown, &lkey, earlier)));
        }
    };
    let outlets = move || device.with(|d| d.outlets.iter().map(|o| o.index).collect::<Vec<_>>());
    view! {
        <div class="arrange-form">
            <label>"Name "
                <input type="text" maxlength="64" data-testid=format!("rename-{id}")
                    placeholder="the device's own" bind:value=name />
            </label>
            <label>"Group "
                <input type="text" maxlength="64" data-testid=format!("group-{id}")
                    placeholder="none" bind:value=group />
            </label>
            <div class="buttons">
                <button type="button" data-testid=format!("save-arrange-{id}") on:click=save>"Save"</button>
                <button type="button" data-testid=format!("up-{id}") on:click=mover(true)>"Move up"</button>
                <button type="button" data-testid=format!("down-{id}") on:click=mover(false)>"Move down"</button>
                <button type="button" data-testid=format!("hide-{id}") on:click=hide>"Hide"</button>
            </div>
            <fieldset>
                <legend>"Ask before switching"</legend>
                {
                    let lkey = lkey.clone();
                    let id = id.clone();
                    move || outlets().into_iter().map(|index| {
                        let lkey = lkey.clone();
                        let on = state.with_layout(connection, |l| l.is_protected(&lkey, index));
                        view! {
                            <label class="check">
                                <input type="checkbox" checked=on
                                    data-testid=format!("protect-{id}-{index}")
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        done(state.arrange(connection, |l| l.set_protected(&lkey, index, on)));
                                    } />
                                {format!("outlet {index}")}
                            </label>
                        }
                    }).collect_view()
                }
            </fieldset>
            {move || problem.get().map(|p| view! { <p class="error">{p}</p> })}
        </div>
    }
}
