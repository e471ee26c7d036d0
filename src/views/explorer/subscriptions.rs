//! The subscriptions manager: every filter of the connection, whose it is
//! (devices, the watch, yours) and how the broker answered, refusals with
//! the reason per filter; yours added with QoS and the MQTT 5 options, and
//! removed.

use devices::ConnectionId;
use leptos::prelude::*;
use mqtt_client::SubscribeFilter;
use mqtt_codec::RetainHandling;

use crate::store::{qos_from, use_app_state, Owner};

fn options_text(filter: &SubscribeFilter) -> String {
    let mut parts = vec![format!("QoS {}", filter.qos as u8)];
    if filter.no_local {
        parts.push("no local".into());
    }
    if filter.retain_as_published {
        parts.push("retain as published".into());
    }
    match filter.retain_handling {
        RetainHandling::SendAtSubscribe => {}
        RetainHandling::SendAtSubscribeIfNew => parts.push("retained if new".into()),
        _ => parts.push("no retained".into()),
    }
    parts.join(" · ")
}

/// The subscriptions of `connection`.
#[component]
pub(super) fn SubscriptionsPanel(connection: ConnectionId) -> impl IntoView {
    let state = use_app_state();
    let rows = Memo::new(move |_| {
        state.explorer.tick.track();
        state.subscription_rows(connection)
    });
    let filter = RwSignal::new(String::new());
    let qos = RwSignal::new("0".to_owned());
    let no_local = RwSignal::new(false);
    let as_published = RwSignal::new(false);
    let retained = RwSignal::new("0".to_owned());
    let result = RwSignal::new(None::<String>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut f = SubscribeFilter::new(filter.get_untracked(), qos_from(&qos.get_untracked()));
        f.no_local = no_local.get_untracked();
        f.retain_as_published = as_published.get_untracked();
        f.retain_handling = match retained.get_untracked().as_str() {
            "1" => RetainHandling::SendAtSubscribeIfNew,
            "2" => RetainHandling::DoNotSend,
            _ => RetainHandling::SendAtSubscribe,
        };
        match state.subscribe_user(connection, f) {
            Ok(()) => {
                result.set(None);
                filter.set(String::new());
            }
            Err(why) => result.set(Some(why)),
        }
    };
    let mqtt5 = move || state.speaks_mqtt5(connection) != Some(false);
    view! {
        <details class="subscriptions" data-testid="subscriptions-section">
            <summary data-testid="subscriptions-open">
                {move || format!("Subscriptions ({})", rows.with(Vec::len))}
            </summary>
            <table class="subscription-table">
                <thead><tr><th>"Filter"</th><th>"For"</th><th>"Options"</th><th>"Broker"</th><th></th></tr></thead>
                <tbody>
                    <For each=move || rows.get() key=|r| (r.filter.filter.clone(), r.state.clone()) let(row)>
                        {
                            let name = row.filter.filter.clone();
                            let owner = match row.owner {
                                Owner::Devices => "devices",
                                Owner::Watch => "the watch",
                                Owner::User => "you",
                            };
                            let remove = (row.owner == Owner::User).then(|| {
                                let name = name.clone();
                                view! {
                                    <button type="button" data-testid=format!("unsubscribe-{name}")
                                        aria-label=format!("Unsubscribe from {name}")
                                        on:click=move |_| state.unsubscribe_user(connection, &name)>"Remove"</button>
                                }
                            });
                            view! {
                                <tr data-testid=format!("subscription-{name}") data-refused=row.refused.to_string()>
                                    <td class="mono">{name.clone()}</td>
                                    <td>{owner}</td>
                                    <td>{options_text(&row.filter)}</td>
                                    <td data-testid=format!("subscription-state-{name}")>{row.state.clone()}</td>
                                    <td>{remove}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <form class="subscribe-form" on:submit=add>
                <label>"Filter"
                    <input type="text" data-testid="subscribe-filter" spellcheck="false" placeholder="sensors/+/temperature"
                        prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
                </label>
                <label>"QoS"
                    <select data-testid="subscribe-qos" prop:value=move || qos.get()
                        on:change=move |ev| qos.set(event_target_value(&ev))>
                        <option value="0">"0"</option><option value="1">"1"</option><option value="2">"2"</option>
                    </select>
                </label>
                <label class="check" class:off=move || !mqtt5()>
                    <input type="checkbox" data-testid="subscribe-no-local" prop:checked=move || no_local.get()
                        on:change=move |ev| no_local.set(event_target_checked(&ev)) />"No local"
                </label>
                <label class="check" class:off=move || !mqtt5()>
                    <input type="checkbox" data-testid="subscribe-as-published" prop:checked=move || as_published.get()
                        on:change=move |ev| as_published.set(event_target_checked(&ev)) />"Retain as published"
                </label>
                <label class:off=move || !mqtt5()>"Retained messages"
                    <select data-testid="subscribe-retain-handling" prop:value=move || retained.get()
                        on:change=move |ev| retained.set(event_target_value(&ev))>
                        <option value="0">"send at subscribe"</option>
                        <option value="1">"only if new"</option>
                        <option value="2">"do not send"</option>
                    </select>
                </label>
                <button type="submit" data-testid="subscribe">"Subscribe"</button>
            </form>
            <p class="info">"Your filters are kept with this connection, with their options."</p>
            {move || (!mqtt5()).then(|| view! {
                <p class="info">"This connection speaks MQTT 3.1.1: the options are MQTT 5's and are left out."</p>
            })}
            {move || result.get().map(|e| view! { <p class="error" role="alert" data-testid="subscribe-error">{e}</p> })}
        </details>
    }
}
