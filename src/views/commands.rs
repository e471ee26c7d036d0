//! The command audit log: what the page published for the user, newest
//! first, with what came of it; exported as CSV, or cleared.

use explorer::AuditLog;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::store::use_app_state;

/// Rows shown; the export has all of them.
const SHOWN: usize = 100;

/// `HH:MM:SS` local time of ms since the epoch.
fn local_time(at_ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
    format!(
        "{:02}:{:02}:{:02}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

/// A `blob:` URL of `csv`, for the download link.
fn csv_url(csv: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(csv));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/csv;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// The commands the page sent.
#[component]
pub fn CommandLog() -> impl IntoView {
    let state = use_app_state();
    let export = RwSignal::new(None::<(String, Option<String>)>);
    // A blob URL lives until revoked: one at a time.
    let revoke = move || {
        if let Some((_, Some(url))) = export.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    };
    on_cleanup(revoke);
    let show_export = move |_| {
        revoke();
        let csv = state.audit.with_untracked(AuditLog::to_csv);
        let url = csv_url(&csv);
        export.set(Some((csv, url)));
    };
    let clear = move |_| {
        revoke();
        export.set(None);
        state.clear_audit();
    };
    let count = move || state.audit.with(AuditLog::len);
    view! {
        <details class="commands" data-testid="command-log">
            <summary data-testid="command-log-open">
                {move || format!("Commands sent from this page ({})", count())}
            </summary>
            <p class="info">
                "Kept in this browser only (the last " {AuditLog::MAX_ENTRIES} "). "
                "For a device, whether it confirmed the new state."
            </p>
            <div class="command-actions">
                <button type="button" data-testid="command-export" on:click=show_export>"Export as CSV"</button>
                <button type="button" data-testid="command-clear" on:click=clear>"Clear"</button>
            </div>
            {move || export.get().map(|(csv, url)| view! {
                <div class="export">
                    {url.map(|href| view! {
                        <a href=href download="plugboard-commands.csv" data-testid="command-download">
                            "Download plugboard-commands.csv"
                        </a>
                    })}
                    <textarea readonly rows="6" data-testid="command-csv"
                        aria-label="The command log as CSV">{csv}</textarea>
                </div>
            })}
            <table class="command-table">
                <thead>
                    <tr><th>"Time"</th><th>"Broker"</th><th>"What"</th><th>"Topic"</th><th>"Payload"</th><th>"Outcome"</th></tr>
                </thead>
                <tbody>
                    {move || state.audit.with(|log| log.newest_first().take(SHOWN).map(|e| {
                        let outcome = e.outcome.describe();
                        let kind = match &e.outcome {
                            explorer::Outcome::Confirmed(_) => "ok",
                            explorer::Outcome::Sent => "sent",
                            explorer::Outcome::Pending => "pending",
                            _ => "bad",
                        };
                        view! {
                            <tr data-testid="command-row">
                                <td>{local_time(e.at_ms)}</td>
                                <td>{e.broker.clone()}</td>
                                <td data-testid="command-origin">{e.origin.clone()}</td>
                                <td class="mono" data-testid="command-topic">{e.topic.clone()}</td>
                                <td class="mono" data-testid="command-payload">{e.payload.clone()}</td>
                                <td data-testid="command-outcome" data-kind=kind>{outcome}</td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
        </details>
    }
}
