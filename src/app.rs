//! Layout: a header with the connection state, then the views; and what
//! the page's address asks for.

use connections::{from_share_fragment, Profile, Version};
use leptos::prelude::*;

use crate::store::{
    name_from_url, new_profile_id, provide_app_state, random_client_id, AppState, LinkOffer,
};
use crate::views::{
    CommandLog, ConnectPanel, DashboardView, ExplorerView, NetioFlexGenerator, ProfilesPanel,
    StatusBadge, ThemeToggle,
};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let state = provide_app_state();
    follow_the_address(state);
    crate::offline::keep_offline_copy();
    view! {
        <header class="top">
            <h1>"Plugboard"</h1>
            <div class="header-end">
                <ThemeToggle />
                <StatusBadge />
            </div>
        </header>
        // Connected, the tiles come first and the saved connections after.
        <main class:connected=move || matches!(state.conn.get(), connections::Status::Connected { .. })>
            <ProfilesPanel />
            <ConnectPanel />
            <DashboardView />
            <ExplorerView />
            <CommandLog />
            <NetioFlexGenerator />
        </main>
    }
}

/// `?broker=ws://…&client_id=…&username=…&version=…` pre-fills the form,
/// and connects at once only if that broker is among the saved profiles;
/// otherwise the page asks first (a link must not silently connect the page
/// to a stranger's broker). `#profile=…` offers to add a shared profile.
fn follow_the_address(state: AppState) {
    let location = window().location();
    if let Ok(hash) = location.hash() {
        if hash.starts_with("#profile=") {
            // Read once: a reload must not offer it again.
            if let (Ok(path), Ok(search), Ok(history)) =
                (location.pathname(), location.search(), window().history())
            {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("{path}{search}")),
                );
            }
            match from_share_fragment(&hash) {
                Ok(mut profile) => {
                    profile.id = new_profile_id();
                    state.link_offer.set(Some(LinkOffer::Add(profile)));
                }
                Err(err) => state
                    .notice
                    .set(Some(format!("The link's connection was not added: {err}."))),
            }
        }
    }
    let params = location
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
    if url.is_empty() {
        return;
    }
    if let Some(saved) = state.saved_for_url(&url) {
        state.editing.set(Some(saved.clone()));
        state.connect_profile(saved);
        return;
    }
    let profile = Profile {
        id: new_profile_id(),
        name: name_from_url(&url),
        client_id: Some(get("client_id"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(random_client_id),
        username: get("username"),
        version: match get("version").as_str() {
            "5" | "5.0" => Version::V5,
            "3.1.1" | "4" => Version::V311,
            _ => Version::Auto,
        },
        url,
        ..Profile::default()
    };
    state.editing.set(Some(profile.clone()));
    state.link_offer.set(Some(LinkOffer::Connect(profile)));
}
