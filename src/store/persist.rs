//! Profiles in `localStorage`, never lost: a document that cannot be read
//! (damaged, or from a newer version) is copied aside (once) before
//! anything is written over it, and the user is told where it is.

use connections::Store;

/// Where the profiles live.
const KEY: &str = "plugboard.profiles";

fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| {
            "This browser does not let the page store anything (private mode?): saved \
             connections will be gone after a reload."
                .to_owned()
        })
}

/// The saved profiles, and what the user must be told about them.
pub(crate) fn load() -> (Store, Option<String>) {
    let storage = match storage() {
        Ok(s) => s,
        Err(message) => return (Store::new(), Some(message)),
    };
    let Some(text) = storage.get_item(KEY).ok().flatten() else {
        return (Store::new(), None);
    };
    match Store::from_json(&text) {
        Ok(store) => (store, None),
        Err(err) => {
            // Once: a reload must not copy the same text again and again.
            let backup = format!("{KEY}.unreadable");
            let kept = match storage.get_item(&backup).ok().flatten() {
                Some(existing) if existing == text => true,
                Some(_) => {
                    let backup = format!("{KEY}.unreadable-{}", js_sys::Date::now() as u64);
                    storage.set_item(&backup, &text).is_ok()
                }
                None => storage.set_item(&backup, &text).is_ok(),
            };
            let message = if kept {
                format!(
                    "Saved connections could not be read ({err}). The original is kept in \
                     localStorage under \"{backup}\"; new connections are saved as usual."
                )
            } else {
                format!("Saved connections could not be read ({err}).")
            };
            (Store::new(), Some(message))
        }
    }
}

/// Saves the profiles (passwords only where the user asked).
pub(crate) fn save(store: &Store) -> Result<(), String> {
    storage()?
        .set_item(KEY, &store.to_json())
        .map_err(|_| "Could not save the connections: the browser's storage is full.".to_owned())
}
