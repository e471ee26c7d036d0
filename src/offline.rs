//! After one visit the app loads without its server: the service worker
//! `sw.js`, served beside the page, keeps the page and its assets (see its
//! own comments for what it keeps and when).

use leptos::logging::warn;
use wasm_bindgen::JsValue;

/// Registers `sw.js` for the page's folder, in the background. Where the
/// browser offers no service workers (a page served over plain http from
/// another machine is not a secure context) the app works as before, only
/// not offline.
pub(crate) fn keep_offline_copy() {
    let window = leptos::prelude::window();
    let navigator = window.navigator();
    let available =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    if !available || !window.is_secure_context() {
        return;
    }
    let registering = navigator.service_worker().register("./sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(err) = wasm_bindgen_futures::JsFuture::from(registering).await {
            warn!(
                "Plugboard will not load offline: its service worker was refused ({})",
                err.as_string()
                    .or_else(|| js_sys::Error::from(err).message().as_string())
                    .unwrap_or_default()
            );
        }
    });
}
