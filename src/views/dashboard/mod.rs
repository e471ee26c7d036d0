//! The device tiles.

mod tile;

use connections::Status;
use leptos::prelude::*;

use crate::store::use_app_state;
use tile::Tile;

/// One tile per discovered device, in key order.
#[component]
pub fn DashboardView() -> impl IntoView {
    let state = use_app_state();
    let empty = move || {
        state.device_keys.with(Vec::is_empty).then(|| {
            let text = match state.conn.get() {
                Status::Connected { .. } => {
                    "Connected. Waiting for devices to announce themselves (Tasmota: tele/+/LWT, stat/+/…)."
                }
                _ => "Connect to a broker to see its devices.",
            };
            view! { <p class="empty" data-testid="no-devices">{text}</p> }
        })
    };
    view! {
        <section class="tiles" data-testid="dashboard">
            {empty}
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
                each=move || state.device_keys.get()
                key=|key| key.clone()
                children=move |key| view! { <Tile key /> }
            />
        </section>
    }
}
