//! A tile for a device no adapter knows: the user names its state and
//! command topics and payloads; saved with the profile.

use connections::CustomTile;
use leptos::prelude::*;

use crate::store::use_app_state;

/// The form that adds a custom tile to the focused profile, and the list
/// of its custom tiles with a remove button each.
#[component]
pub fn CustomTileForm(
    /// The profile the tiles belong to.
    profile: String,
) -> impl IntoView {
    let state = use_app_state();
    let name = RwSignal::new(String::new());
    let state_topic = RwSignal::new(String::new());
    let command_topic = RwSignal::new(String::new());
    let payload_on = RwSignal::new("ON".to_owned());
    let payload_off = RwSignal::new("OFF".to_owned());
    let json_path = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let add = {
        let profile = profile.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let tile = CustomTile {
                name: name.get_untracked(),
                state_topic: state_topic.get_untracked().trim().to_owned(),
                command_topic: command_topic.get_untracked().trim().to_owned(),
                payload_on: payload_on.get_untracked(),
                payload_off: payload_off.get_untracked(),
                json_path: Some(json_path.get_untracked()),
            };
            match state.save_custom_tile(&profile, tile, true) {
                Ok(()) => {
                    problem.set(None);
                    name.set(String::new());
                }
                Err(why) => problem.set(Some(format!("Not added: {why}."))),
            }
        }
    };
    let tiles = {
        let profile = profile.clone();
        move || {
            state
                .profiles
                .with(|ps| {
                    ps.iter()
                        .find(|p| p.id == profile)
                        .map(|p| p.custom_tiles.clone())
                })
                .unwrap_or_default()
        }
    };
    view! {
        <details class="custom-tiles" data-testid="custom-tiles">
            <summary>"Add a tile for another device"</summary>
            <form class="custom" on:submit=add>
                <label>"Name" <input type="text" required maxlength="64" data-testid="custom-name" bind:value=name /></label>
                <label>"State topic" <input type="text" required data-testid="custom-state" placeholder="home/garage/relay" bind:value=state_topic /></label>
                <label>"Command topic" <input type="text" data-testid="custom-command" placeholder="home/garage/relay/set (empty: read-only)" bind:value=command_topic /></label>
                <label>"On payload" <input type="text" required data-testid="custom-on" bind:value=payload_on /></label>
                <label>"Off payload" <input type="text" required data-testid="custom-off" bind:value=payload_off /></label>
                <label>"JSON path (optional)" <input type="text" data-testid="custom-path" placeholder="state or relays.0.on" bind:value=json_path /></label>
                <button type="submit" data-testid="custom-add">"Add tile"</button>
                {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="custom-error">{p}</p> })}
            </form>
            <ul>
                {move || tiles().into_iter().map(|t| {
                    let profile = profile.clone();
                    let name = t.name.clone();
                    view! {
                        <li>
                            <strong>{t.name.clone()}</strong> " " <code>{t.state_topic.clone()}</code>
                            <button type="button" data-testid=format!("custom-remove-{}", t.name)
                                on:click=move |_| state.remove_custom_tile(&profile, &name)>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </details>
    }
}
