//! Layout: a header with the connection state, then the views.

use connections::VersionChoice;
use leptos::prelude::*;

use crate::store::{provide_app_state, random_client_id, ConnectForm};
use crate::views::{ConnectPanel, DashboardView, StatusBadge};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let state = provide_app_state();
    let (initial, autoconnect) = form_from_query();
    if autoconnect {
        state.connect(&initial);
    }
    view! {
        <header class="top">
            <h1>"Plugboard"</h1>
            <StatusBadge />
        </header>
        <main>
            <ConnectPanel initial=initial />
            <DashboardView />
        </main>
    }
}

/// Pre-fills the form from `?broker=ws://…&client_id=…&username=…`; a
/// `broker` parameter also connects at once.
fn form_from_query() -> (ConnectForm, bool) {
    let params = window()
        .location()
        .search()
        .ok()
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok());
    let get = |name: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(name))
            .unwrap_or_default()
    };
    let url = get("broker");
    let client_id = Some(get("client_id"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(random_client_id);
    let autoconnect = !url.is_empty();
    let form = ConnectForm {
        url,
        client_id,
        username: get("username"),
        password: String::new(),
        version: match get("version").as_str() {
            "5" | "5.0" => VersionChoice::V5,
            "3.1.1" | "4" => VersionChoice::V311,
            _ => VersionChoice::Auto,
        },
    };
    (form, autoconnect)
}
