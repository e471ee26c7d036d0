//! Saved connections: one row each with its own status and buttons; import
//! and export; what a link asks for.

use connections::{Profile, Status};
use leptos::prelude::*;

use crate::store::{use_app_state, LinkOffer};
use crate::views::status::state_name;

/// The saved connection profiles.
#[component]
pub fn ProfilesPanel() -> impl IntoView {
    let state = use_app_state();
    view! {
        <LinkOfferBanner />
        {move || state.notice.get().map(|n| view! {
            <p class="warning" role="alert" data-testid="storage-notice">{n}</p>
        })}
        <section class="profiles" data-testid="profiles">
            <h2>"Saved connections"</h2>
            {move || state.profiles.with(Vec::is_empty).then(|| view! {
                <p class="empty">"None yet: connect below and the connection is saved here."</p>
            })}
            <ul>
                <For
                    each=move || state.profiles.get()
                    key=|p: &Profile| (p.id.clone(), p.name.clone(), p.url.clone())
                    children=move |p| view! { <ProfileRow profile=p /> }
                />
            </ul>
            <ImportExport />
        </section>
    }
}

#[component]
fn ProfileRow(profile: Profile) -> impl IntoView {
    let state = use_app_state();
    let id = profile.id.clone();
    let name = profile.name.clone();
    let status = {
        let id = id.clone();
        move || {
            state
                .statuses
                .with(|s| s.get(&id).cloned().unwrap_or(Status::Idle))
        }
    };
    let kind = {
        let status = status.clone();
        move || state_name(&status())
    };
    let active = {
        let status = status.clone();
        move || !matches!(status(), Status::Idle | Status::Failed(_))
    };
    let problem = {
        let status = status.clone();
        move || match status() {
            Status::Failed(d) | Status::Reconnecting { problem: d, .. } => Some(d.message),
            _ => None,
        }
    };
    let share = RwSignal::new(None::<String>);
    let (i1, i2, i3, i4, i5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());

    let active_for_disconnect = active.clone();
    view! {
        <li class="profile" data-testid=format!("profile-{name}")>
            <span class="status" data-testid=format!("profile-status-{name}") data-state=kind>
                <span class="dot"></span>
            </span>
            <span class="name">{name.clone()}</span>
            <span class="url">{profile.url.clone()}</span>
            <span class="buttons">
                <button type="button" data-testid=format!("profile-connect-{name}")
                    disabled=active
                    on:click=move |_| state.connect_saved(&i1)>"Connect"</button>
                <button type="button" data-testid=format!("profile-disconnect-{name}")
                    disabled=move || !active_for_disconnect()
                    on:click=move |_| state.disconnect(&i2)>"Disconnect"</button>
                <button type="button" data-testid=format!("profile-edit-{name}")
                    on:click=move |_| {
                        state.focus.set(Some(i3.clone()));
                        state.conn.set(state.statuses.with_untracked(|s| s.get(&i3).cloned().unwrap_or(Status::Idle)));
                        // As saved now, not as this row was first drawn.
                        state.editing.set(state.saved(&i3));
                    }>"Edit"</button>
                <button type="button" data-testid=format!("profile-share-{name}")
                    on:click=move |_| share.set(state.share_link(&i4))>"Share link"</button>
                <button type="button" data-testid=format!("profile-delete-{name}")
                    on:click=move |_| state.delete_profile(&i5)>"Delete"</button>
            </span>
            {
                let tid = format!("profile-error-{name}");
                move || problem().map(|m| view! {
                    <p class="error" data-testid=tid.clone()>{m}</p>
                })
            }
            {move || share.get().map(|link| view! {
                <p class="share">
                    "Share link (no password): "
                    <input type="text" readonly data-testid="share-link" prop:value=link />
                </p>
            })}
        </li>
    }
}

/// Export to JSON (passwords left out) and import from it.
#[component]
fn ImportExport() -> impl IntoView {
    let state = use_app_state();
    let text = RwSignal::new(String::new());
    let result = RwSignal::new(None::<(bool, String)>);
    view! {
        <details class="import-export">
            <summary data-testid="import-export">"Import / export"</summary>
            <textarea data-testid="profiles-json" rows="6" spellcheck="false"
                placeholder="Paste an exported file here, or press Export"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button type="button" data-testid="export-profiles"
                    on:click=move |_| {
                        text.set(state.export());
                        result.set(Some((true, "Exported (passwords are never included).".into())));
                    }>"Export"</button>
                <button type="button" data-testid="import-profiles"
                    on:click=move |_| {
                        result.set(Some(match state.import(&text.get_untracked()) {
                            Ok(n) => (true, format!("Imported {n} connection(s).")),
                            Err(e) => (false, format!("Not imported: {e}")),
                        }));
                    }>"Import"</button>
            </div>
            {move || result.get().map(|(ok, m)| view! {
                <p class=if ok { "info" } else { "error" } data-testid="import-result">{m}</p>
            })}
        </details>
    }
}

/// What a link asked for, until the user answers.
#[component]
fn LinkOfferBanner() -> impl IntoView {
    let state = use_app_state();
    move || {
        state.link_offer.get().map(|offer| {
            let dismiss = move |_| state.link_offer.set(None);
            match offer {
                LinkOffer::Connect(profile) => {
                    let url = profile.url.clone();
                    view! {
                        <div class="offer warning" role="alertdialog" data-testid="link-offer">
                            <p>
                                "This link asks to connect to " <code>{url}</code>
                                ", which is not among your saved connections. Connect only if you trust it."
                            </p>
                            <button type="button" data-testid="link-connect"
                                on:click=move |_| {
                                    state.link_offer.set(None);
                                    state.connect_profile(profile.clone());
                                }>"Connect"</button>
                            <button type="button" data-testid="link-dismiss" on:click=dismiss>"Cancel"</button>
                        </div>
                    }
                    .into_any()
                }
                LinkOffer::Add(profile) => {
                    let label = format!("{} ({})", profile.name, profile.url);
                    view! {
                        <div class="offer info" role="alertdialog" data-testid="link-offer">
                            <p>"This link shares the connection " <strong>{label}</strong> ". Add it to your saved connections?"</p>
                            <button type="button" data-testid="link-add"
                                on:click=move |_| {
                                    state.link_offer.set(None);
                                    let _ = state.save_profile(profile.clone());
                                }>"Add"</button>
                            <button type="button" data-testid="link-dismiss" on:click=dismiss>"Dismiss"</button>
                        </div>
                    }
                    .into_any()
                }
            }
        })
    }
}
