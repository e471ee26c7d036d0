//! App state: saved connection profiles, one connection per profile in
//! use, the device model of each, and one signal per tile so one message
//! re-renders one tile.

mod persist;

use std::collections::HashMap;
use std::time::Duration;

use connections::{Event, Profile, Status, Store};
use devices::{ConnectionId, Dashboard, Device, DeviceKey, Power, PublishRequest};
use leptos::prelude::*;
use mqtt_client::Publish;

use crate::transport::session::Connections;
use crate::transport::{now_ms, page_context};

/// A client id unlikely to collide: brokers drop the older of two
/// connections with the same id.
pub fn random_client_id() -> String {
    format!(
        "plugboard-{:06x}",
        (js_sys::Math::random() * f64::from(0x00ff_ffff)) as u32
    )
}

/// A fresh profile id.
pub fn new_profile_id() -> String {
    format!("p{:012x}", (js_sys::Math::random() * 2f64.powi(48)) as u64)
}

/// A name for a profile from its URL: `host:port`.
pub fn name_from_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        "broker".into()
    } else {
        host.to_owned()
    }
}

/// Something a link asked for, waiting for the user's yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOffer {
    /// `?broker=`: connect to a broker that is not among the saved profiles.
    Connect(Profile),
    /// `#profile=`: add a shared profile.
    Add(Profile),
}

/// App-wide state, cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Saved connection profiles, in order.
    pub profiles: RwSignal<Vec<Profile>>,
    /// The status of each profile connected since the page loaded.
    pub statuses: RwSignal<HashMap<String, Status>>,
    /// The profile the header and the form are about.
    pub focus: RwSignal<Option<String>>,
    /// The focused profile's status, shown in the header.
    pub conn: RwSignal<Status>,
    /// The profile the form edits (`None`: a new one); changing it refills
    /// the form.
    pub editing: RwSignal<Option<Profile>>,
    /// A link's request, until the user answers it.
    pub link_offer: RwSignal<Option<LinkOffer>>,
    /// A problem with saved data or a link, for a banner.
    pub notice: RwSignal<Option<String>>,
    /// Devices in display order.
    pub device_keys: RwSignal<Vec<DeviceKey>>,
    store: StoredValue<Store>,
    /// Profile id ↔ connection id, in the order first connected.
    ids: StoredValue<Vec<(String, ConnectionId)>>,
    tiles: StoredValue<HashMap<DeviceKey, ArcRwSignal<Device>>>,
    /// Adapters are single-threaded state: kept local.
    dashboards: StoredValue<HashMap<ConnectionId, Dashboard>, LocalStorage>,
    connections: StoredValue<Option<Connections>, LocalStorage>,
    /// The dashboards' one timer, and the deadline it is armed for.
    pending_timer: StoredValue<Option<(u64, TimeoutHandle)>>,
    /// Device ids not shown on any connection (over the cap, or invalid).
    pub ignored_devices: RwSignal<usize>,
}

impl AppState {
    fn new() -> Self {
        let (store, problem) = persist::load();
        let state = Self {
            profiles: RwSignal::new(store.profiles().to_vec()),
            statuses: RwSignal::new(HashMap::new()),
            focus: RwSignal::new(None),
            conn: RwSignal::new(Status::Idle),
            editing: RwSignal::new(None),
            link_offer: RwSignal::new(None),
            notice: RwSignal::new(problem),
            device_keys: RwSignal::new(Vec::new()),
            store: StoredValue::new(store),
            ids: StoredValue::new(Vec::new()),
            tiles: StoredValue::new(HashMap::new()),
            dashboards: StoredValue::new_local(HashMap::new()),
            connections: StoredValue::new_local(None),
            pending_timer: StoredValue::new(None),
            ignored_devices: RwSignal::new(0),
        };
        let connections = Connections::new(move |event| state.on_event(event));
        state.connections.set_value(Some(connections));
        state.watch_network();
        state
    }

    fn with_connections<R>(self, f: impl FnOnce(&Connections) -> R) -> Option<R> {
        let connections = self.connections.with_value(Clone::clone)?;
        Some(f(&connections))
    }

    /// The connection id of a profile, made on first use.
    fn connection_of(self, profile_id: &str) -> ConnectionId {
        let known = self
            .ids
            .with_value(|ids| ids.iter().find(|(p, _)| p == profile_id).map(|(_, c)| *c));
        known.unwrap_or_else(|| {
            let next = ConnectionId(self.ids.with_value(Vec::len) as u32 + 1);
            self.ids
                .update_value(|ids| ids.push((profile_id.to_owned(), next)));
            self.dashboards
                .update_value(|d| _ = d.insert(next, Dashboard::new(next)));
            next
        })
    }

    fn profile_of(self, connection: ConnectionId) -> Option<String> {
        self.ids.with_value(|ids| {
            ids.iter()
                .find(|(_, c)| *c == connection)
                .map(|(p, _)| p.clone())
        })
    }

    /// The name to show on a tile from `connection` when more than one
    /// broker is in use, else `None`.
    pub fn broker_label(self, connection: ConnectionId) -> Option<String> {
        let in_use = self
            .statuses
            .with(|s| s.values().filter(|s| **s != Status::Idle).count());
        if in_use < 2 {
            return None;
        }
        let id = self.profile_of(connection)?;
        self.profiles
            .with(|ps| ps.iter().find(|p| p.id == id).map(|p| p.name.clone()))
    }

    /// Saves `profile` (adding or replacing it); false, with the reason in
    /// the notice, if it cannot be kept.
    pub fn save_profile(self, profile: Profile) -> bool {
        let result = self
            .store
            .try_update_value(|s| s.upsert(profile))
            .unwrap_or(Ok(()));
        if let Err(err) = result {
            self.notice
                .set(Some(format!("The connection was not saved: {err}.")));
            return false;
        }
        self.persist();
        true
    }

    /// A saved profile as it is now.
    pub fn saved(self, id: &str) -> Option<Profile> {
        self.store.with_value(|s| s.get(id).cloned())
    }

    /// Forgets a profile: disconnects it, and its devices leave the
    /// dashboard.
    pub fn delete_profile(self, id: &str) {
        self.disconnect(id);
        let connection = self.connection_of(id);
        self.with_connections(|c| c.remove(connections::ConnectionId(connection.0)));
        self.dashboards
            .update_value(|d| _ = d.insert(connection, Dashboard::new(connection)));
        self.tiles
            .update_value(|t| t.retain(|key, _| key.connection != connection));
        self.device_keys
            .update(|keys| keys.retain(|key| key.connection != connection));
        self.store.update_value(|s| s.remove(id));
        self.statuses.update(|s| _ = s.remove(id));
        if self.focus.get_untracked().as_deref() == Some(id) {
            self.focus.set(None);
            self.conn.set(Status::Idle);
        }
        self.persist();
    }

    fn persist(self) {
        let result = self.store.with_value(persist::save);
        self.profiles
            .set(self.store.with_value(|s| s.profiles().to_vec()));
        if let Err(message) = result {
            self.notice.set(Some(message));
        }
    }

    /// Saves `profile` and connects it (replacing its earlier connection).
    pub fn connect_profile(self, profile: Profile) {
        let id = profile.id.clone();
        let connection = self.connection_of(&id);
        let filters = self
            .dashboards
            .with_value(|d| d.get(&connection).map(Dashboard::subscriptions))
            .unwrap_or_default();
        let settings = profile.settings(
            &filters,
            page_context(),
            (js_sys::Math::random() * 2f64.powi(53)) as u64,
        );
        // A URL that cannot work is not worth keeping; the status says why.
        if connections::check_url(&profile.url, page_context()).is_ok() {
            // If it cannot be saved, the notice says so; it still connects.
            let _ = self.save_profile(profile);
        }
        self.focus.set(Some(id.clone()));
        let supervised = connections::ConnectionId(connection.0);
        let result = self.with_connections(|c| c.connect(supervised, settings));
        if let Some(Err(diagnosis)) = result {
            self.set_status(&id, Status::Failed(diagnosis));
        }
    }

    /// Connects a saved profile, and shows it in the form.
    pub fn connect_saved(self, id: &str) {
        if let Some(profile) = self.store.with_value(|s| s.get(id).cloned()) {
            self.editing.set(Some(profile.clone()));
            self.connect_profile(profile);
        }
    }

    /// Disconnects a profile cleanly, in whatever state it is.
    pub fn disconnect(self, id: &str) {
        let connection = self.connection_of(id);
        self.with_connections(|c| c.disconnect(connections::ConnectionId(connection.0)));
        self.set_status(id, Status::Idle);
    }

    /// Tries a reconnecting profile again now.
    pub fn retry_now(self, id: &str) {
        let connection = self.connection_of(id);
        self.with_connections(|c| c.retry_now(connections::ConnectionId(connection.0)));
    }

    /// The saved profiles as JSON, without passwords.
    pub fn export(self) -> String {
        self.store.with_value(Store::export)
    }

    /// Adds the profiles of an exported document; says how many.
    pub fn import(self, text: &str) -> Result<usize, String> {
        let result = self
            .store
            .try_update_value(|s| s.import(text, &mut new_profile_id))
            .unwrap_or(Ok(0))
            .map_err(|e| e.to_string())?;
        self.persist();
        Ok(result)
    }

    /// A link that adds this profile (without its password) on another
    /// browser.
    pub fn share_link(self, id: &str) -> Option<String> {
        let profile = self.store.with_value(|s| s.get(id).cloned())?;
        let location = window().location();
        let base = format!("{}{}", location.origin().ok()?, location.pathname().ok()?);
        Some(format!("{base}#{}", connections::share_fragment(&profile)))
    }

    /// The saved profile for a broker URL, if any.
    pub fn saved_for_url(self, url: &str) -> Option<Profile> {
        self.store.with_value(|s| s.find_url(url).cloned())
    }

    fn set_status(self, id: &str, status: Status) {
        if self.focus.get_untracked().as_deref() == Some(id) {
            self.conn.set(status.clone());
        }
        self.statuses
            .update(|s| _ = s.insert(id.to_owned(), status));
    }

    /// Pauses retries while the browser is offline, resumes them when it
    /// is back.
    fn watch_network(self) {
        let online = window().navigator().on_line();
        if !online {
            self.with_connections(|c| c.set_online(false));
        }
        let on = window_event_listener(leptos::ev::online, move |_| {
            self.with_connections(|c| c.set_online(true));
        });
        let off = window_event_listener(leptos::ev::offline, move |_| {
            self.with_connections(|c| c.set_online(false));
        });
        on_cleanup(move || {
            on.remove();
            off.remove();
        });
    }

    /// The signal behind one tile.
    pub fn tile(self, key: &DeviceKey) -> Option<ArcRwSignal<Device>> {
        self.tiles.with_value(|tiles| tiles.get(key).cloned())
    }

    /// Clears the retained command on `topic` of a device (the flag goes
    /// when the broker echoes the empty message).
    pub fn clear_retained(self, key: &DeviceKey, topic: &str) {
        let request = self
            .dashboards
            .with_value(|all| all.get(&key.connection)?.clear_retained(key, topic));
        if let Some(request) = request {
            if let Err(message) = self.send(key.connection, vec![request]) {
                self.notice
                    .set(Some(format!("Could not clear {topic}: {message}.")));
            }
        }
    }

    /// The user flipped an outlet: ask for the opposite of the confirmed
    /// state (or ON if unknown) and show it pending.
    pub fn toggle(self, key: &DeviceKey, index: u8) {
        let now = now_ms();
        let requests = self.dashboards.try_update_value(|all| {
            let d = all.get_mut(&key.connection)?;
            let current = d.device(key)?.outlet(index).and_then(|o| o.confirmed);
            let want = current.map_or(Power::On, Power::toggled);
            d.request(key, index, want, now)
        });
        let Some(Some(requests)) = requests else {
            return;
        };
        if let Err(message) = self.send(key.connection, requests) {
            // Not sent (e.g. while reconnecting): say so on the tile now
            // rather than wait for the confirmation timeout.
            let message = format!("not sent: {message}");
            self.dashboards.update_value(|all| {
                if let Some(d) = all.get_mut(&key.connection) {
                    d.fail_request(key, index, message);
                }
            });
        }
        self.refresh(key);
        self.arm_pending_timer();
    }

    fn on_event(self, event: Event) {
        match event {
            Event::Status(connection, status) => {
                let connection = ConnectionId(connection.0);
                let Some(id) = self.profile_of(connection) else {
                    return;
                };
                let was_ready = self
                    .statuses
                    .with_untracked(|s| s.get(&id).is_some_and(Status::is_ready));
                let ready = status.is_ready();
                self.set_status(&id, status);
                if ready && !was_ready {
                    // Devices announce themselves on request: discovery must
                    // not depend on retained messages.
                    let asks = self
                        .dashboards
                        .try_update_value(|all| {
                            all.get_mut(&connection).map(|d| d.on_connected(now_ms()))
                        })
                        .flatten()
                        .unwrap_or_default();
                    let _ = self.send(connection, asks);
                }
            }
            Event::Message(connection, publish) => {
                let connection = ConnectionId(connection.0);
                let update = self
                    .dashboards
                    .try_update_value(|all| {
                        all.get_mut(&connection).map(|d| {
                            d.handle_message(
                                &publish.topic,
                                &publish.payload,
                                publish.retain,
                                now_ms(),
                            )
                        })
                    })
                    .flatten()
                    .unwrap_or_default();
                for key in &update.changed {
                    self.refresh(key);
                }
                // A state query for a new device: if it cannot go out now,
                // the device's own reports will fill the tile.
                let _ = self.send(connection, update.publish);
                // Queued queries, a device cap reached.
                self.arm_pending_timer();
                let ignored = self
                    .dashboards
                    .with_value(|all| all.values().map(Dashboard::ignored).sum::<usize>());
                if ignored != self.ignored_devices.get_untracked() {
                    self.ignored_devices.set(ignored);
                }
            }
            _ => {}
        }
    }

    /// Publishes the requests in order; stops at the first that fails.
    fn send(self, connection: ConnectionId, requests: Vec<PublishRequest>) -> Result<(), String> {
        let connections = self
            .connections
            .with_value(Clone::clone)
            .ok_or("not connected to a broker")?;
        for request in requests {
            let mut publish = Publish::new(request.topic, request.payload);
            publish.qos = request.qos;
            // Only the empty message that clears a retained command.
            publish.retain = request.retain && publish.payload.is_empty();
            connections
                .publish(connections::ConnectionId(connection.0), publish)
                .map_err(|err| err.to_string())?;
        }
        Ok(())
    }

    /// Copies one device from the model into its tile's signal.
    fn refresh(self, key: &DeviceKey) {
        let device = self.dashboards.with_value(|all| {
            all.get(&key.connection)
                .and_then(|d| d.device(key).cloned())
        });
        let Some(device) = device else {
            return;
        };
        match self.tile(key) {
            Some(tile) => tile.set(device),
            None => {
                self.tiles.update_value(|t| {
                    t.insert(key.clone(), ArcRwSignal::new(device));
                });
                self.device_keys.update(|keys| {
                    let at = keys.binary_search(key).unwrap_or_else(|at| at);
                    keys.insert(at, key.clone());
                });
            }
        }
    }

    /// One timer for the earliest pending toggle's deadline.
    fn arm_pending_timer(self) {
        let deadline = self
            .dashboards
            .with_value(|all| all.values().filter_map(Dashboard::poll_timeout).min());
        let armed = self
            .pending_timer
            .with_value(|t| t.as_ref().map(|(at, _)| *at));
        if armed == deadline {
            // Already armed for it: not a new timer per message.
            return;
        }
        if let Some((_, timer)) = self.pending_timer.try_update_value(Option::take).flatten() {
            timer.clear();
        }
        let Some(deadline) = deadline else {
            return;
        };
        let delay = Duration::from_millis(deadline.saturating_sub(now_ms()));
        let timer = set_timeout_with_handle(
            move || {
                // Spent: the next deadline is armed afresh, even if equal.
                self.pending_timer.set_value(None);
                let now = now_ms();
                let updates = self
                    .dashboards
                    .try_update_value(|all| {
                        all.iter_mut()
                            .map(|(c, d)| (*c, d.handle_timeout(now)))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                for (connection, update) in updates {
                    for key in &update.changed {
                        self.refresh(key);
                    }
                    let _ = self.send(connection, update.publish);
                }
                self.arm_pending_timer();
            },
            delay,
        );
        self.pending_timer
            .set_value(timer.ok().map(|timer| (deadline, timer)));
    }
}

/// Creates the app state and provides it to the component tree.
pub fn provide_app_state() -> AppState {
    let state = AppState::new();
    provide_context(state);
    state
}

/// The app state provided by [`provide_app_state`].
pub fn use_app_state() -> AppState {
    expect_context::<AppState>()
}
