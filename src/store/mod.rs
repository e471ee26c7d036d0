//! App state: saved connection profiles, one connection per profile in
//! use, the device model of each, and one signal per tile so one message
//! re-renders one tile.

mod audit;
mod explorer;
mod persist;
mod publish;
mod subscriptions;

pub use explorer::{ExplorerState, Watch};
pub use publish::{draft_of, saved_of};
pub use subscriptions::{qos_from, Owner, SubscriptionRow};

use std::collections::{HashMap, HashSet, VecDeque};

use connections::{Event, Layout, LayoutError, Profile, Status, Store, SubscribeFilter};
use devices::{
    Action, ConnectionId, CustomTile, Dashboard, Device, DeviceKey, FramePacer, Power,
    PublishRequest, DEFAULT_CYCLE_OFF_MS,
};
use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use mqtt_client::{Publish, QoS};

use crate::transport::session::Connections;
use crate::transport::{now_ms, now_ms_f64, page_context};

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

/// One tile's signals. Nearly every message changes only when a device
/// was heard and what it metered (its pulse); the rest of a tile need not
/// hear of that, so the device signal notifies only when more changed.
#[derive(Clone)]
pub struct TileSignals {
    /// The device, always current; notifies when more than its pulse
    /// changed.
    pub device: ArcRwSignal<Device>,
    /// Notified when the device was heard or its metering changed.
    pub pulse: ArcTrigger,
    /// The time, updated each second.
    pub clock: ArcRwSignal<u64>,
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
    /// Per tile: the device, and the tile's own clock (one global clock
    /// signal with a thousand subscribers makes every re-render pay for
    /// unsubscribing from it).
    tiles: StoredValue<HashMap<DeviceKey, TileSignals>>,
    /// Adapters are single-threaded state: kept local.
    dashboards: StoredValue<HashMap<ConnectionId, Dashboard>, LocalStorage>,
    connections: StoredValue<Option<Connections>, LocalStorage>,
    /// The dashboards' one timer, and the deadline it is armed for.
    pending_timer: StoredValue<Option<(u64, Timeout)>, LocalStorage>,
    /// Tiles to render at the next animation frames, oldest first (and the
    /// same keys as a set, so a tile is queued once).
    dirty: StoredValue<(VecDeque<DeviceKey>, HashSet<DeviceKey>)>,
    /// How many of them the next frame refreshes.
    pacer: StoredValue<FramePacer>,
    /// The page's clock for "last seen" and staleness, ticking each second.
    pub clock: RwSignal<u64>,
    /// Per connection: when devices were last asked to announce
    /// themselves, and on which topics.
    pub scans: RwSignal<HashMap<ConnectionId, (u64, Vec<String>)>>,
    /// Device ids not shown on any connection (over the cap, or invalid).
    pub ignored_devices: RwSignal<usize>,
    /// The topic explorer and message log of each connection.
    pub explorer: ExplorerState,
    /// What the publish form sent last, newest first.
    pub recent: RwSignal<::explorer::Recent>,
    /// Every command the page published, and what came of it.
    pub audit: RwSignal<::explorer::AuditLog>,
    /// Logged device commands waiting for their outlet's confirmation.
    audit_waiting: StoredValue<Vec<(u64, DeviceKey, u8)>>,
}

impl AppState {
    fn new() -> Self {
        let (store, problem) = persist::load();
        let (audit_log, audit_problem) = audit::load();
        let state = Self {
            profiles: RwSignal::new(store.profiles().to_vec()),
            statuses: RwSignal::new(HashMap::new()),
            focus: RwSignal::new(None),
            conn: RwSignal::new(Status::Idle),
            editing: RwSignal::new(None),
            link_offer: RwSignal::new(None),
            notice: RwSignal::new(problem.or(audit_problem)),
            device_keys: RwSignal::new(Vec::new()),
            store: StoredValue::new(store),
            ids: StoredValue::new(Vec::new()),
            tiles: StoredValue::new(HashMap::new()),
            dashboards: StoredValue::new_local(HashMap::new()),
            connections: StoredValue::new_local(None),
            pending_timer: StoredValue::new_local(None),
            dirty: StoredValue::new((VecDeque::new(), HashSet::new())),
            pacer: StoredValue::new(FramePacer::new()),
            clock: RwSignal::new(now_ms()),
            scans: RwSignal::new(HashMap::new()),
            ignored_devices: RwSignal::new(0),
            explorer: ExplorerState::new(),
            recent: publish::new_recent(),
            audit: RwSignal::new(audit_log),
            audit_waiting: StoredValue::new(Vec::new()),
        };
        let connections = Connections::new(move |event| state.on_event(event));
        state.connections.set_value(Some(connections));
        state.watch_network();
        // One timer for every tile's "last seen"; lives as long as the page.
        Interval::new(1_000, move || {
            let now = now_ms();
            state.clock.set(now);
            state.tiles.with_value(|tiles| {
                for tile in tiles.values() {
                    tile.clock.set(now);
                }
            });
            state.settle_audit();
        })
        .forget();
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
        self.use_topics(connection, &profile.device_topics);
        self.apply_custom_tiles(connection, &profile);
        let mut filters = self
            .dashboards
            .with_value(|d| d.get(&connection).map(Dashboard::subscriptions))
            .unwrap_or_default();
        // The explorer keeps watching across reconnects.
        if let Some(watched) = self.explorer.filter_of(connection) {
            if !filters.contains(&watched) {
                filters.push(watched);
            }
        }
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

    /// The device signal behind one tile.
    pub fn tile(self, key: &DeviceKey) -> Option<ArcRwSignal<Device>> {
        self.tiles
            .with_value(|tiles| tiles.get(key).map(|t| t.device.clone()))
    }

    /// Every signal of one tile.
    pub fn tile_signals(self, key: &DeviceKey) -> Option<TileSignals> {
        self.tiles.with_value(|tiles| tiles.get(key).cloned())
    }

    /// Clears the retained command on `topic` of a device (the flag goes
    /// when the broker echoes the empty message).
    pub fn clear_retained(self, key: &DeviceKey, topic: &str) {
        let request = self
            .dashboards
            .with_value(|all| all.get(&key.connection)?.clear_retained(key, topic));
        if let Some(request) = request {
            let sent = self.send(key.connection, vec![request.clone()]);
            let outcome = match &sent {
                Ok(()) => ::explorer::Outcome::Sent,
                Err(why) => ::explorer::Outcome::Failed(why.clone()),
            };
            self.audit(
                key.connection,
                "clear a retained command",
                &request,
                outcome,
            );
            if let Err(message) = sent {
                self.notice
                    .set(Some(format!("Could not clear {topic}: {message}.")));
            }
        }
    }

    /// The user flipped an outlet: ask for the opposite of the confirmed
    /// state (or ON if unknown) and show it pending.
    pub fn toggle(self, key: &DeviceKey, index: u8) {
        let current = self.dashboards.with_value(|all| {
            all.get(&key.connection)?
                .device(key)?
                .outlet(index)
                .and_then(|o| o.confirmed)
        });
        let want = current.map_or(Power::On, Power::toggled);
        self.act(key, index, want.into());
    }

    /// Power-cycles an outlet: off, then on after the default delay (or
    /// the device's own).
    pub fn power_cycle(self, key: &DeviceKey, index: u8) {
        self.act(
            key,
            index,
            Action::PowerCycle {
                off_ms: DEFAULT_CYCLE_OFF_MS,
            },
        );
    }

    /// Runs `action` on one outlet, showing it pending (or why it could not
    /// start).
    pub fn act(self, key: &DeviceKey, index: u8, action: Action) {
        self.group(vec![(key.clone(), index)], action, 0);
    }

    /// Runs `action` on several outlets, `stagger_ms` apart.
    pub fn group(self, outlets: Vec<(DeviceKey, u8)>, action: Action, stagger_ms: u64) {
        let now = now_ms();
        let mut by_connection: Vec<(ConnectionId, Vec<(DeviceKey, u8)>)> = Vec::new();
        for (key, index) in outlets {
            match by_connection.iter_mut().find(|(c, _)| *c == key.connection) {
                Some((_, list)) => list.push((key, index)),
                None => by_connection.push((key.connection, vec![(key, index)])),
            }
        }
        for (connection, outlets) in by_connection {
            let requests = self
                .dashboards
                .try_update_value(|all| {
                    all.get_mut(&connection)
                        .map(|d| d.request_group(&outlets, action, stagger_ms, now))
                })
                .flatten()
                .unwrap_or_default();
            let sent = self.send(connection, requests.clone());
            if let [(key, index)] = &outlets[..] {
                self.audit_outlet(
                    key,
                    *index,
                    action,
                    &requests,
                    sent.as_ref().map(|_| ()).map_err(String::as_str),
                );
            } else {
                let origin = format!("{} ({} outlets)", audit::action_name(action), outlets.len());
                for request in &requests {
                    let outcome = match &sent {
                        Ok(()) => ::explorer::Outcome::Sent,
                        Err(why) => ::explorer::Outcome::Failed(why.clone()),
                    };
                    self.audit(connection, &origin, request, outcome);
                }
            }
            if let Err(message) = sent {
                // Not sent (e.g. while reconnecting): say so on the tile now
                // rather than wait for the confirmation timeout.
                let message = format!("not sent: {message}");
                self.dashboards.update_value(|all| {
                    if let Some(d) = all.get_mut(&connection) {
                        for (key, index) in &outlets {
                            d.fail_request(key, *index, message.clone());
                        }
                    }
                });
            }
            let mut seen: Vec<&DeviceKey> = Vec::new();
            for (key, _) in &outlets {
                if !seen.contains(&key) {
                    seen.push(key);
                    self.refresh(key);
                }
            }
        }
        self.arm_pending_timer();
    }

    /// Asks every ecosystem on `connection` to announce its devices again.
    /// `Err` says why not (too soon, not connected).
    pub fn scan(self, connection: ConnectionId) -> Result<usize, String> {
        let now = now_ms();
        let asks = self
            .dashboards
            .try_update_value(|all| all.get_mut(&connection).map(|d| d.scan(now)))
            .flatten()
            .ok_or("no such connection")?
            .map_err(|at| {
                format!(
                    "asked {} s ago; again in {} s",
                    devices::SCAN_INTERVAL_MS.saturating_sub(at.saturating_sub(now)) / 1_000,
                    at.saturating_sub(now).div_ceil(1_000)
                )
            })?;
        let count = asks.len();
        self.note_scan(connection);
        self.send(connection, asks)?;
        Ok(count)
    }

    fn note_scan(self, connection: ConnectionId) {
        let scan = self.dashboards.with_value(|all| {
            all.get(&connection)
                .and_then(|d| d.last_scan().map(|(at, t)| (at, t.to_vec())))
        });
        if let Some(scan) = scan {
            self.scans.update(|s| _ = s.insert(connection, scan));
        }
    }

    /// The connection a profile's devices come from, if it has been used.
    pub fn connection_for(self, profile_id: &str) -> Option<ConnectionId> {
        self.ids
            .with_value(|ids| ids.iter().find(|(p, _)| p == profile_id).map(|(_, c)| *c))
    }

    /// The profile id behind a connection.
    pub fn profile_id_of(self, connection: ConnectionId) -> Option<String> {
        self.profile_of(connection)
    }

    /// Reads the layout of a connection's profile in place (each tile asks
    /// after every save: no copy of the whole layout per tile).
    pub fn with_layout<R>(self, connection: ConnectionId, f: impl FnOnce(&Layout) -> R) -> R {
        let id = self.profile_of(connection);
        self.store.with_value(|s| {
            let layout = id.and_then(|id| s.get(&id)).map(|p| &p.layout);
            match layout {
                Some(layout) => f(layout),
                None => f(&Layout::default()),
            }
        })
    }

    /// The layout of a connection's profile.
    pub fn layout(self, connection: ConnectionId) -> Layout {
        self.profile_of(connection)
            .and_then(|id| self.saved(&id))
            .map(|p| p.layout)
            .unwrap_or_default()
    }

    /// Changes the layout of a connection's profile and saves it.
    pub fn arrange(
        self,
        connection: ConnectionId,
        change: impl FnOnce(&mut Layout) -> Result<(), LayoutError>,
    ) -> Result<(), String> {
        let id = self
            .profile_of(connection)
            .ok_or("this broker is not saved")?;
        let mut profile = self.saved(&id).ok_or("this broker is not saved")?;
        change(&mut profile.layout).map_err(|e| e.to_string())?;
        if self.save_profile(profile) {
            Ok(())
        } else {
            Err("could not be saved".into())
        }
    }

    /// Adds (or replaces) a custom tile on a saved profile, and shows it.
    pub fn save_custom_tile(
        self,
        profile_id: &str,
        tile: connections::CustomTile,
        replace: bool,
    ) -> Result<(), String> {
        let mut profile = self.saved(profile_id).ok_or("save the connection first")?;
        connections::add_custom_tile(&mut profile.custom_tiles, tile, replace)
            .map_err(|e| e.to_string())?;
        if !self.save_profile(profile.clone()) {
            return Err("could not be saved".into());
        }
        let connection = self.connection_of(profile_id);
        self.apply_custom_tiles(connection, &profile);
        Ok(())
    }

    /// Removes a custom tile from a saved profile.
    pub fn remove_custom_tile(self, profile_id: &str, name: &str) {
        let Some(mut profile) = self.saved(profile_id) else {
            return;
        };
        profile.custom_tiles.retain(|t| t.name != name);
        if self.save_profile(profile.clone()) {
            let connection = self.connection_of(profile_id);
            self.apply_custom_tiles(connection, &profile);
        }
    }

    /// Makes the connection's adapters use these topics: a change starts
    /// its dashboard afresh (its tiles go; devices announce themselves
    /// again at connect).
    fn use_topics(self, connection: ConnectionId, topics: &connections::DeviceTopics) {
        let topics = devices::Topics {
            tasmota_group: topics.tasmota_group.clone(),
            zigbee2mqtt: topics.zigbee2mqtt.clone(),
            homeassistant: topics.homeassistant.clone(),
            netio: topics.netio.clone(),
        };
        let same = self
            .dashboards
            .with_value(|all| all.get(&connection).is_some_and(|d| *d.topics() == topics));
        if same {
            return;
        }
        self.dashboards.update_value(|all| {
            all.insert(connection, Dashboard::with_topics(connection, &topics));
        });
        self.tiles
            .update_value(|t| t.retain(|key, _| key.connection != connection));
        self.device_keys
            .update(|keys| keys.retain(|key| key.connection != connection));
    }

    /// Hands a profile's custom tiles to its dashboard; subscribes to what
    /// they need.
    fn apply_custom_tiles(self, connection: ConnectionId, profile: &Profile) {
        let tiles = profile
            .custom_tiles
            .iter()
            .map(|t| CustomTile {
                name: t.name.clone(),
                state_topic: t.state_topic.clone(),
                command_topic: t.command_topic.clone(),
                payload_on: t.payload_on.clone(),
                payload_off: t.payload_off.clone(),
                json_path: t.json_path.clone(),
            })
            .collect();
        let update = self
            .dashboards
            .try_update_value(|all| all.get_mut(&connection).map(|d| d.set_custom_tiles(tiles)))
            .flatten();
        if let Some(update) = update {
            self.apply(connection, update);
        }
    }

    /// Shows what a dashboard update says: changed and removed tiles, the
    /// publishes it asks for, the topics to subscribe to.
    fn apply(self, connection: ConnectionId, update: devices::Update) {
        for key in &update.changed {
            self.refresh(key);
        }
        for key in &update.removed {
            self.tiles.update_value(|t| _ = t.remove(key));
            self.device_keys.update(|keys| keys.retain(|k| k != key));
        }
        if !update.subscribe.is_empty() {
            let filters = update
                .subscribe
                .into_iter()
                .map(|f| SubscribeFilter::new(f, QoS::AtMostOnce))
                .collect();
            self.with_connections(|c| {
                c.subscribe_more(connections::ConnectionId(connection.0), filters)
            });
        }
        // A state query for a new device: if it cannot go out now, the
        // device's own reports will fill the tile.
        let _ = self.send(connection, update.publish);
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
                    self.note_scan(connection);
                    let _ = self.send(connection, asks);
                }
            }
            Event::Message(connection, publish) => {
                let connection = ConnectionId(connection.0);
                self.explorer.feed(connection, &publish);
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
                self.apply(connection, update);
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

    /// Marks a device's tile for the next animation frame: however many
    /// messages arrive, a tile is rendered at most once a frame.
    fn refresh(self, key: &DeviceKey) {
        let first = self
            .dirty
            .try_update_value(|(queue, queued)| {
                let first = queue.is_empty();
                // Most messages are for a tile already waiting: no key copied.
                if !queued.contains(key) {
                    queued.insert(key.clone());
                    queue.push_back(key.clone());
                }
                first
            })
            .unwrap_or(false);
        if first {
            request_animation_frame(move || self.flush());
        }
    }

    /// Copies marked devices from the model into their tiles' signals, the
    /// longest-waiting first and as many a frame as the [`FramePacer`] says
    /// (the rest in the next frames), so a flood never freezes the page;
    /// new tiles join the dashboard in one update.
    fn flush(self) {
        let size = self
            .pacer
            .try_with_value(FramePacer::batch)
            .unwrap_or(FramePacer::MIN);
        let (batch, more) = self
            .dirty
            .try_update_value(|(queue, queued)| {
                let take = queue.len().min(size);
                let batch: Vec<DeviceKey> = queue.drain(..take).collect();
                for key in &batch {
                    queued.remove(key);
                }
                (batch, !queue.is_empty())
            })
            .unwrap_or_default();
        if more {
            request_animation_frame(move || self.flush());
        }
        let started = now_ms_f64();
        let tiles = batch.len();
        let mut new_keys = Vec::new();
        for key in batch {
            let device = self.dashboards.with_value(|all| {
                all.get(&key.connection)
                    .and_then(|d| d.device(&key).cloned())
            });
            let Some(device) = device else {
                continue;
            };
            match self.tile_signals(&key) {
                Some(tile) => {
                    let change = tile.device.with_untracked(|old| old.difference(&device));
                    if change.rest {
                        tile.device.set(device);
                    } else if change.pulse {
                        tile.device.update_untracked(|d| *d = device);
                    }
                    if change.pulse {
                        tile.pulse.notify();
                    }
                }
                None => {
                    let tile = TileSignals {
                        device: ArcRwSignal::new(device),
                        pulse: ArcTrigger::new(),
                        clock: ArcRwSignal::new(now_ms()),
                    };
                    self.tiles.update_value(|t| {
                        t.insert(key.clone(), tile);
                    });
                    new_keys.push(key);
                }
            }
        }
        if !new_keys.is_empty() {
            self.device_keys.update(|keys| {
                keys.extend(new_keys);
                keys.sort_unstable();
                keys.dedup();
            });
        }
        // The tiles' effects run as tasks queued by the signals just set;
        // this one, queued after them, sees what the batch cost.
        leptos::task::spawn_local(async move {
            let cost = now_ms_f64() - started;
            self.pacer.update_value(|p| p.record(tiles, cost));
        });
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
            timer.cancel();
        }
        let Some(deadline) = deadline else {
            return;
        };
        let delay = deadline.saturating_sub(now_ms()).min(u64::from(u32::MAX)) as u32;
        // gloo's Timeout owns its closure and frees it when dropped.
        let timer = Timeout::new(delay, move || {
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
                self.apply(connection, update);
            }
            self.arm_pending_timer();
        });
        self.pending_timer.set_value(Some((deadline, timer)));
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
