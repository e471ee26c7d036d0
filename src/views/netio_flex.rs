//! The NETIO MQTT-flex generator: a form that produces the JSON to paste
//! into the NETIO web UI (M2M API Protocols → MQTT-flex), checked before it
//! is offered, with a copy button; and a checker for a pasted config.

use devices::netio_flex::{self, FlexOptions};
use leptos::prelude::*;

/// The generator and the checker, folded away until asked for.
#[component]
pub fn NetioFlexGenerator() -> impl IntoView {
    let defaults = FlexOptions::default();
    let host = window().location().hostname().unwrap_or_default();
    let device_name = RwSignal::new("netio".to_owned());
    let outputs = RwSignal::new(defaults.outputs.to_string());
    let period = RwSignal::new(defaults.period_s.to_string());
    let broker_host = RwSignal::new(host);
    let broker_port = RwSignal::new(defaults.broker_port.to_string());
    let username = RwSignal::new(String::new());
    let prefix = RwSignal::new(defaults.prefix.clone());
    let generated = RwSignal::new(None::<Result<(String, Vec<String>), String>>);
    let copied = RwSignal::new(None::<&'static str>);
    let generate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        copied.set(None);
        let number = |text: String, field: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{field}: not a whole number"))
        };
        let result = (|| {
            let options = FlexOptions {
                device_name: device_name.get_untracked().trim().to_owned(),
                outputs: number(outputs.get_untracked(), "outputs")?
                    .try_into()
                    .map_err(|_| "outputs: at most 8".to_owned())?,
                period_s: number(period.get_untracked(), "period")?,
                broker_host: broker_host.get_untracked().trim().to_owned(),
                broker_port: number(broker_port.get_untracked(), "port")?
                    .try_into()
                    .map_err(|_| "port: at most 65535".to_owned())?,
                username: username.get_untracked().trim().to_owned(),
                prefix: prefix.get_untracked().trim().to_owned(),
                ..FlexOptions::default()
            };
            let json = netio_flex::generate(&options).map_err(|e| e.to_string())?;
            let summary = netio_flex::validate(&json).map_err(|e| e.to_string())?;
            Ok((json, summary.published_for(&options.device_name)))
        })();
        generated.set(Some(result));
    };
    let copy = move |_| {
        let Some(Ok((json, _))) = generated.get_untracked() else {
            return;
        };
        let clipboard = window().navigator().clipboard();
        let promise = clipboard.write_text(&json);
        wasm_bindgen_futures::spawn_local(async move {
            let done = wasm_bindgen_futures::JsFuture::from(promise).await;
            copied.set(Some(if done.is_ok() {
                "Copied."
            } else {
                "The browser did not allow copying: select the text and copy it."
            }));
        });
    };
    let pasted = RwSignal::new(String::new());
    let checked = RwSignal::new(None::<Result<String, String>>);
    let check = move |_| {
        let text = pasted.get_untracked();
        let verdict = match netio_flex::validate(&text) {
            Ok(summary) => Ok(format!(
                "Looks right: outputs {:?} can be switched; it publishes {} topic(s).{}",
                summary.commanded,
                summary.published.len(),
                if summary.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" Note: {}", summary.warnings.join("; "))
                }
            )),
            Err(err) => Err(format!("Not valid: {err}")),
        };
        checked.set(Some(verdict));
    };
    view! {
        <details class="netio-flex" data-testid="netio-flex">
            <summary>"NETIO: generate an MQTT-flex configuration"</summary>
            <p class="info">
                "For NETIO PowerBOX, PowerPDU and PowerCable with MQTT-flex. Paste the result in the \
                 NETIO web UI under M2M API Protocols → MQTT-flex. Its outlets then appear here as \
                 tiles (topics <prefix>/<device>/output/<n>/…; the prefix the dashboard reads is set in \
                 the connection's More settings)."
            </p>
            <form class="custom" on:submit=generate>
                <label>"Device name (as set on the NETIO)" <input type="text" data-testid="flex-device" bind:value=device_name /></label>
                <label>"Outputs" <input type="number" min="1" max="8" data-testid="flex-outputs" bind:value=outputs /></label>
                <label>"Publish every (s)" <input type="number" min="1" max="3600" data-testid="flex-period" bind:value=period /></label>
                <label>"Broker host (as the NETIO reaches it)" <input type="text" data-testid="flex-host" bind:value=broker_host /></label>
                <label>"Broker MQTT port" <input type="number" min="1" max="65535" data-testid="flex-port" bind:value=broker_port /></label>
                <label>"Username (optional)" <input type="text" data-testid="flex-username" bind:value=username /></label>
                <label>"Topic prefix (as in the connection's settings)" <input type="text" data-testid="flex-prefix" bind:value=prefix /></label>
                <button type="submit" data-testid="flex-generate">"Generate"</button>
            </form>
            {move || generated.get().map(|result| match result {
                Ok((json, topics)) => view! {
                    <div>
                        <p class="info">{format!(
                            "Checked. Device {} will publish {} topics, e.g. {}.",
                            device_name.get_untracked(),
                            topics.len(),
                            topics.first().cloned().unwrap_or_default()
                        )}</p>
                        <button type="button" data-testid="flex-copy" on:click=copy>"Copy"</button>
                        {move || copied.get().map(|c| view! { <span class="info" data-testid="flex-copied">{c}</span> })}
                        <pre class="flex-json" data-testid="flex-json">{json}</pre>
                    </div>
                }.into_any(),
                Err(why) => view! {
                    <p class="error" role="alert" data-testid="flex-error">{why}</p>
                }.into_any(),
            })}
            <label class="wide">"Check a configuration"
                <textarea rows="4" data-testid="flex-paste" bind:value=pasted></textarea>
            </label>
            <button type="button" data-testid="flex-check" on:click=check>"Check"</button>
            {move || checked.get().map(|verdict| match verdict {
                Ok(text) => view! { <p class="info" data-testid="flex-verdict">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert" data-testid="flex-verdict">{text}</p> }.into_any(),
            })}
        </details>
    }
}
