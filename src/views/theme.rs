//! Light and dark: following the system unless the user picks one, kept in
//! `localStorage`.

use leptos::prelude::*;

const KEY: &str = "plugboard.theme";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn key(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    fn next(self) -> Self {
        match self {
            Self::System => Self::Dark,
            Self::Dark => Self::Light,
            Self::Light => Self::System,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn stored() -> Theme {
    match storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .as_deref()
    {
        Some("light") => Theme::Light,
        Some("dark") => Theme::Dark,
        _ => Theme::System,
    }
}

/// Sets `data-theme` on the root element (none: the system's).
fn apply(theme: Theme) {
    if let Some(root) = document().document_element() {
        let _ = match theme {
            Theme::System => root.remove_attribute("data-theme"),
            other => root.set_attribute("data-theme", other.key()),
        };
    }
}

/// The header's theme switch: system → dark → light → system.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(stored());
    apply(theme.get_untracked());
    let switch = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        apply(next);
        if let Some(storage) = storage() {
            let _ = storage.set_item(KEY, next.key());
        }
    };
    view! {
        <button type="button" class="theme" data-testid="theme-toggle" on:click=switch
            title="Switch between the system's colours, dark and light"
            aria-label=move || format!("Colours: {} (switch)", theme.get().label().to_lowercase())>
            <span class="icon" aria-hidden="true">"◐"</span>
            <span class="text">{move || theme.get().label()}</span>
        </button>
    }
}
