//! App state: the connection, the device model, and one signal per tile so
//! one message re-renders one tile.

use std::collections::HashMap;
use std::time::Duration;

use connections::{Event, Settings, Status, VersionChoice};
use devices::{ConnectionId, Dashboard, Device, DeviceKey, Power, PublishRequest};
use leptos::prelude::*;
use mqtt_client::{Backoff, Bytes, ConnectOptions, Publish, QoS, SubscribeFilter};

use crate::transport::session::Connections;
use crate::transport::{now_ms, page_context};

/// What the connect form holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectForm {
    /// WebSocket URL of the broker.
    pub url: String,
    /// MQTT client id.
    pub client_id: String,
    /// Optional user name.
    pub username: String,
    /// Optional password.
    pub password: String,
    /// MQTT version: 3.1.1, 5.0, or 5.0 falling back to 3.1.1.
    pub version: VersionChoice,
}

impl ConnectForm {
    /// What the supervisor needs to connect as this form says.
    pub fn settings(&self) -> Settings {
        Settings {
            url: self.url.trim().to_owned(),
            options: self.options(),
            version: self.version,
            subscriptions: Dashboard::subscriptions()
                .iter()
                .map(|f| SubscribeFilter::new(*f, QoS::AtMostOnce))
                .collect(),
            page: page_context(),
        }
    }

    /// The engine's options for this form.
    pub fn options(&self) -> ConnectOptions {
        let mut options = ConnectOptions::new(self.client_id.trim());
        // A lost connection is retried from 0.5 s up to every 10 s.
        options.reconnect = Some(Backoff {
            initial_ms: 500,
            max_ms: 10_000,
            stable_ms: 10_000,
        });
        options.jitter_seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let username = self.username.trim();
        if !username.is_empty() {
            options.username = Some(username.to_owned());
            if !self.password.is_empty() {
                options.password = Some(Bytes::from(self.password.clone().into_bytes()));
            }
        }
        options
    }
}

/// A client id unlikely to collide: brokers drop the older of two
/// connections with the same id.
pub fn random_client_id() -> String {
    format!(
        "plugboard-{:06x}",
        (js_sys::Math::random() * f64::from(0x00ff_ffff)) as u32
    )
}

/// App-wide state, cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The connection state shown in the header.
    pub conn: RwSignal<Status>,
    /// Devices in display order.
    pub device_keys: RwSignal<Vec<DeviceKey>>,
    tiles: StoredValue<HashMap<DeviceKey, ArcRwSignal<Device>>>,
    dashboard: StoredValue<Dashboard>,
    connections: StoredValue<Option<Connections>, LocalStorage>,
    pending_timer: StoredValue<Option<TimeoutHandle>>,
}

/// The one connection this version shows. The store and the supervisor
/// are keyed by connection so that several brokers can follow.
const CONNECTION: ConnectionId = ConnectionId(1);
const SUPERVISED: connections::ConnectionId = connections::ConnectionId(CONNECTION.0);

impl AppState {
    fn new() -> Self {
        let state = Self {
            conn: RwSignal::new(Status::Idle),
            device_keys: RwSignal::new(Vec::new()),
            tiles: StoredValue::new(HashMap::new()),
            dashboard: StoredValue::new(Dashboard::new(CONNECTION)),
            connections: StoredValue::new_local(None),
            pending_timer: StoredValue::new(None),
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

    /// Connects with the form's settings, replacing any current connection.
    pub fn connect(self, form: &ConnectForm) {
        if let Some(Err(diagnosis)) =
            self.with_connections(|c| c.connect(SUPERVISED, form.settings()))
        {
            self.conn.set(Status::Failed(diagnosis));
        }
    }

    /// Disconnects cleanly, in whatever state the connection is.
    pub fn disconnect(self) {
        self.with_connections(|c| c.disconnect(SUPERVISED));
        self.conn.set(Status::Idle);
    }

    /// Tries again now instead of waiting for the next scheduled attempt.
    pub fn retry_now(self) {
        self.with_connections(|c| c.retry_now(SUPERVISED));
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

    /// The user flipped an outlet: ask for the opposite of the confirmed
    /// state (or ON if unknown) and show it pending.
    pub fn toggle(self, key: &DeviceKey, index: u8) {
        let now = now_ms();
        let requests = self.dashboard.try_update_value(|d| {
            let current = d.device(key)?.outlet(index).and_then(|o| o.confirmed);
            let want = current.map_or(Power::On, Power::toggled);
            d.request(key, index, want, now)
        });
        let Some(Some(requests)) = requests else {
            return;
        };
        if let Err(message) = self.send(requests) {
            // Not sent (e.g. while reconnecting): say so on the tile now
            // rather than wait for the confirmation timeout.
            let message = format!("not sent: {message}");
            self.dashboard
                .update_value(|d| d.fail_request(key, index, message));
        }
        self.refresh(key);
        self.arm_pending_timer();
    }

    fn on_event(self, event: Event) {
        match event {
            Event::Status(_, status) => self.conn.set(status),
            Event::Message(_, publish) => {
                let update = self
                    .dashboard
                    .try_update_value(|d| d.handle_message(&publish.topic, &publish.payload))
                    .unwrap_or_default();
                if let Some(key) = &update.changed {
                    self.refresh(key);
                }
                // A state query for a new device: if it cannot go out now,
                // the device's own reports will fill the tile.
                let _ = self.send(update.publish);
            }
            _ => {}
        }
    }

    /// Publishes the requests in order; stops at the first that fails.
    fn send(self, requests: Vec<PublishRequest>) -> Result<(), String> {
        let connections = self
            .connections
            .with_value(Clone::clone)
            .ok_or("not connected to a broker")?;
        for request in requests {
            let mut publish = Publish::new(request.topic, request.payload);
            publish.qos = request.qos;
            connections
                .publish(SUPERVISED, publish)
                .map_err(|err| err.to_string())?;
        }
        Ok(())
    }

    /// Copies one device from the model into its tile's signal.
    fn refresh(self, key: &DeviceKey) {
        let Some(device) = self.dashboard.with_value(|d| d.device(key).cloned()) else {
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
        if let Some(timer) = self.pending_timer.try_update_value(Option::take).flatten() {
            timer.clear();
        }
        let Some(deadline) = self.dashboard.with_value(Dashboard::poll_timeout) else {
            return;
        };
        let delay = Duration::from_millis(deadline.saturating_sub(now_ms()));
        let timer = set_timeout_with_handle(
            move || {
                let changed = self
                    .dashboard
                    .try_update_value(|d| d.handle_timeout(now_ms()))
                    .unwrap_or_default();
                for key in &changed {
                    self.refresh(key);
                }
                self.arm_pending_timer();
            },
            delay,
        );
        self.pending_timer.set_value(timer.ok());
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
