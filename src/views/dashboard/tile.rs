//! One device: name, online state, and a toggle per outlet.

use devices::{DeviceKey, Outlet, Power};
use leptos::prelude::*;

use crate::store::use_app_state;

/// A device tile. Reads only its own signal, so one message re-renders one
/// tile.
#[component]
pub fn Tile(
    /// The device shown.
    key: DeviceKey,
) -> impl IntoView {
    let state = use_app_state();
    let device = state.tile(&key)?;
    let id = key.id.clone();
    let online = {
        let device = device.clone();
        move || match device.with(|d| d.online) {
            Some(true) => "online",
            Some(false) => "offline",
            None => "unknown",
        }
    };
    let online_attr = online.clone();
    let readings = {
        let device = device.clone();
        move || device.with(|d| readings_text(&d.readings))
    };
    // Keyed by index only: a state change updates the row in place, so a
    // focused switch keeps keyboard focus.
    let outlets = {
        let device = device.clone();
        move || device.with(|d| d.outlets.iter().map(|o| o.index).collect::<Vec<u8>>())
    };
    let tile_id = id.clone();
    Some(view! {
        <article class="tile" data-testid=format!("tile-{id}") data-online=online_attr>
            <header>
                <h2>{id.clone()}</h2>
                <span class="family">{key.family.to_string()}</span>
                {
                    let connection = key.connection;
                    let tid = format!("broker-{id}");
                    move || state.broker_label(connection).map(|name| view! {
                        <span class="broker" data-testid=tid.clone()>{name}</span>
                    })
                }
                <span class="online" data-testid=format!("online-{id}")>{online}</span>
            </header>
            {
                let tid = format!("readings-{id}");
                move || readings().map(|text| view! {
                    <p class="readings" data-testid=tid.clone()>{text}</p>
                })
            }
            {
                let device = device.clone();
                let key = key.clone();
                let tid = format!("retained-{id}");
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
            <ul class="outlets">
                <For
                    each=outlets
                    key=|index: &u8| *index
                    children=move |index| {
                        view! {
                            <OutletRow key=key.clone() device=device.clone() tile_id=tile_id.clone() index />
                        }
                    }
                />
            </ul>
        </article>
    })
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

/// One outlet: its confirmed state, a pending marker, and the switch. Its
/// parts follow the device's signal, so the row is never rebuilt.
#[component]
fn OutletRow(
    key: DeviceKey,
    device: ArcRwSignal<devices::Device>,
    tile_id: String,
    index: u8,
) -> impl IntoView {
    let state = use_app_state();
    let outlet = move || {
        device.with(|d| {
            d.outlet(index)
                .cloned()
                .unwrap_or_else(|| Outlet::new(index))
        })
    };
    let confirmed = {
        let outlet = outlet.clone();
        move || match outlet().confirmed {
            Some(Power::On) => "on",
            Some(Power::Off) => "off",
            None => "unknown",
        }
    };
    let pending = {
        let outlet = outlet.clone();
        move || outlet().pending.is_some()
    };
    let label = {
        let outlet = outlet.clone();
        move || {
            let o = outlet();
            match (o.pending, o.confirmed) {
                (Some(p), _) => format!(
                    "switching {}…",
                    if p.want == Power::On { "on" } else { "off" }
                ),
                (None, Some(Power::On)) => "ON".into(),
                (None, Some(Power::Off)) => "OFF".into(),
                (None, None) => "unknown".into(),
            }
        }
    };
    let error = {
        let outlet = outlet.clone();
        move || outlet().error
    };
    let suffix = format!("{tile_id}-{index}");
    let name = format!("{}, outlet {index}", key.id);
    let (c1, c2, p1, p2) = (
        confirmed.clone(),
        confirmed.clone(),
        pending.clone(),
        pending.clone(),
    );
    let error_id = format!("error-{suffix}");
    view! {
        <li class="outlet" data-confirmed=c1 data-pending=move || p1().to_string()>
            <span class="name">{format!("Outlet {index}")}</span>
            <span class="state" data-testid=format!("state-{suffix}")>{label}</span>
            // Not `disabled` while pending: a disabled button loses focus.
            <button
                class="toggle"
                role="switch"
                aria-label=name
                aria-checked=move || (c2() == "on").to_string()
                aria-disabled=move || p2().to_string()
                data-testid=format!("toggle-{suffix}")
                on:click=move |_| {
                    if !pending() {
                        state.toggle(&key, index);
                    }
                }
            >
                <span class="knob"></span>
            </button>
            {move || error().map(|e| view! { <p class="error" data-testid=error_id.clone()>{e}</p> })}
        </li>
    }
}
