//! App state: the connection, the device model, and one signal per tile so
//! one message re-renders one tile.

use std::collections::HashMap;
use std::time::Duration;

use devices::{ConnectionId, Dashboard, Device, DeviceKey, Power, PublishRequest};
use leptos::prelude::*;
use mqtt_client::{Backoff, Bytes, ConnectOptions, Publish, QoS, SubscribeFilter};

use crate::transport::now_ms;
use crate::transport::session::{ConnState, Session, SessionEvent};

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
}

impl ConnectForm {
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
    pub conn: RwSignal<ConnState>,
    /// Devices in display order.
    pub device_keys: RwSignal<Vec<DeviceKey>>,
    tiles: StoredValue<HashMap<DeviceKey, ArcRwSignal<Device>>>,
    dashboard: StoredValue<Dashboard>,
    session: StoredValue<Option<Session>, LocalStorage>,
    /// Counts sessions, so a replaced session's late events are ignored.
    generation: StoredValue<u64>,
    pending_timer: StoredValue<Option<TimeoutHandle>>,
}

/// The one connection this version shows. The store is keyed by connection
/// so that several brokers can follow.
const CONNECTION: ConnectionId = ConnectionId(1);

impl AppState {
    fn new() -> Self {
        Self {
            conn: RwSignal::new(ConnState::Idle),
            device_keys: RwSignal::new(Vec::new()),
            tiles: StoredValue::new(HashMap::new()),
            dashboard: StoredValue::new(Dashboard::new(CONNECTION)),
            session: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            pending_timer: StoredValue::new(None),
        }
    }

    /// Connects with the form's settings, replacing any current session.
    pub fn connect(self, form: &ConnectForm) {
        self.disconnect();
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        let filters = Dashboard::subscriptions()
            .iter()
            .map(|f| SubscribeFilter::new(*f, QoS::AtMostOnce))
            .collect();
        let sink = move |event| {
            if self.generation.get_value() == generation {
                self.on_session_event(event);
            }
        };
        match Session::connect(&form.url, form.options(), filters, sink) {
            Ok(session) => self.session.set_value(Some(session)),
            Err(message) => self.conn.set(ConnState::Failed(message)),
        }
    }

    /// Disconnects cleanly, if connected.
    pub fn disconnect(self) {
        if let Some(session) = self.session.try_update_value(Option::take).flatten() {
            session.disconnect();
        }
        self.generation.update_value(|g| *g += 1);
        self.conn.set(ConnState::Idle);
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

    fn on_session_event(self, event: SessionEvent) {
        match event {
            SessionEvent::State(state) => self.conn.set(state),
            SessionEvent::Message(publish) => {
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
        }
    }

    /// Publishes the requests in order; stops at the first that fails.
    fn send(self, requests: Vec<PublishRequest>) -> Result<(), String> {
        let session = self
            .session
            .with_value(Clone::clone)
            .ok_or("not connected to a broker")?;
        for request in requests {
            let mut publish = Publish::new(request.topic, request.payload);
            publish.qos = request.qos;
            session.publish(publish)?;
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
