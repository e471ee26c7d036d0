//! All devices of one connection: messages go to the adapters through the
//! router, and what they report becomes the devices the tiles show.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::adapter::{Change, Output};
use crate::adapters;
use crate::model::{
    ConnectionId, Device, DeviceKey, Family, Pending, Power, PublishRequest, TimedPublish,
    DEFAULT_MAX_DEVICES, MAX_ID_LEN, MAX_TRACKED, PENDING_TIMEOUT_MS, QUERIES_PER_SECOND,
};
use crate::router::Router;

/// What [`Dashboard::handle_message`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// The devices that changed, each once.
    pub changed: Vec<DeviceKey>,
    /// Publishes to send in reaction (e.g. a state query for a new device).
    pub publish: Vec<PublishRequest>,
}

/// All devices seen on one connection, bounded: at most `max_devices`
/// devices (ids beyond it are counted, not shown), ids of at most
/// [`MAX_ID_LEN`] bytes, and at most [`QUERIES_PER_SECOND`] discovery
/// publishes a second (the rest queue, released by `handle_timeout`).
#[derive(Debug)]
pub struct Dashboard {
    connection: ConnectionId,
    router: Router,
    devices: BTreeMap<DeviceKey, Device>,
    /// The outlets with a toggle pending, and when each times out: so the
    /// deadline and the timeout need not walk every device (which the app
    /// asks for after every message).
    pending: BTreeMap<(DeviceKey, u8), u64>,
    max_devices: usize,
    /// Ids not shown (over the cap, or too long), remembered up to a bound.
    ignored: BTreeSet<String>,
    /// Discovery publishes waiting for their turn.
    queries: VecDeque<PublishRequest>,
    /// When the current one-second window of queries started, and how many
    /// went out in it.
    window: (u64, usize),
}

impl Dashboard {
    /// An empty dashboard for a connection, with every adapter.
    pub fn new(connection: ConnectionId) -> Self {
        Self::with_router(connection, Router::new(adapters::all()))
    }

    /// An empty dashboard with the adapters of `router`.
    pub fn with_router(connection: ConnectionId, router: Router) -> Self {
        Self {
            connection,
            router,
            devices: BTreeMap::new(),
            pending: BTreeMap::new(),
            max_devices: DEFAULT_MAX_DEVICES,
            ignored: BTreeSet::new(),
            queries: VecDeque::new(),
            window: (0, 0),
        }
    }

    /// Shows at most `max` devices on this connection.
    pub fn set_max_devices(&mut self, max: usize) {
        self.max_devices = max;
    }

    /// How many device ids were not shown (over the cap, or invalid); at
    /// most the number it remembers.
    pub fn ignored(&self) -> usize {
        self.ignored.len()
    }

    /// Topic filters to subscribe to so the adapters see their devices.
    pub fn subscriptions(&self) -> Vec<String> {
        self.router.subscriptions()
    }

    /// All devices, in key order.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// One device.
    pub fn device(&self, key: &DeviceKey) -> Option<&Device> {
        self.devices.get(key)
    }

    /// The connection is up and subscribed: what to publish so that every
    /// ecosystem's devices announce themselves (call after each connect).
    pub fn on_connected(&mut self, now: u64) -> Vec<PublishRequest> {
        self.router.on_connected(now)
    }

    /// Routes a received message to the adapters that understand it.
    pub fn handle_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: u64,
    ) -> Update {
        let outputs = self.router.handle(topic, payload, retained, now);
        self.apply(outputs, now)
    }

    fn apply(&mut self, outputs: Vec<(Family, Output)>, now: u64) -> Update {
        let mut update = Update::default();
        for (family, output) in outputs {
            let mut turned_away = false;
            for change in output.changes {
                let key = DeviceKey {
                    connection: self.connection,
                    family,
                    id: change.id().to_owned(),
                };
                let known = self.devices.contains_key(&key);
                if !known && matches!(change, Change::RetainedCommand { present: false, .. }) {
                    // Nothing to unflag on a device never seen.
                    continue;
                }
                if !known && (self.devices.len() >= self.max_devices || key.id.len() > MAX_ID_LEN) {
                    if self.ignored.len() < MAX_TRACKED {
                        self.ignored.insert(key.id);
                    }
                    turned_away = true;
                    continue;
                }
                let device = self
                    .devices
                    .entry(key.clone())
                    .or_insert_with(|| Device::new(key.clone()));
                match change {
                    Change::Seen { .. } => {}
                    Change::Online { online, .. } => device.online = Some(online),
                    Change::Outlet { index, power, .. } => {
                        let outlet = device.outlet_mut(index);
                        outlet.report(power);
                        if outlet.pending.is_none() {
                            self.pending.remove(&(key.clone(), index));
                        }
                    }
                    Change::Readings { readings, .. } => device.readings.merge(&readings),
                    Change::RetainedCommand { topic, present, .. } => {
                        device.retained_commands.retain(|t| *t != topic);
                        if present && device.retained_commands.len() < 16 {
                            device.retained_commands.push(topic);
                        }
                    }
                }
                if !update.changed.contains(&key) {
                    update.changed.push(key);
                }
            }
            // A query for a device that was turned away is not worth sending.
            if !turned_away {
                self.queries.extend(output.publish);
            }
            while self.queries.len() > MAX_TRACKED {
                self.queries.pop_front();
            }
        }
        update.publish = self.release_queries(now);
        update
    }

    /// Takes the queries this second still allows.
    fn release_queries(&mut self, now: u64) -> Vec<PublishRequest> {
        if now >= self.window.0 + 1_000 {
            self.window = (now, 0);
        }
        let room = QUERIES_PER_SECOND.saturating_sub(self.window.1);
        let take = room.min(self.queries.len());
        self.window.1 += take;
        self.queries.drain(..take).collect()
    }

    /// The user asks for `want` on an outlet: returns what to publish, and
    /// when, and marks the outlet pending. `None` if there is no such
    /// device.
    pub fn request(
        &mut self,
        key: &DeviceKey,
        index: u8,
        want: Power,
        now: u64,
    ) -> Option<Vec<TimedPublish>> {
        let adapter = self.router.adapter(key.family)?;
        let device = self.devices.get_mut(key)?;
        let steps = adapter.action(&key.id, index, want.into(), now);
        let outlet = device.outlet_mut(index);
        outlet.pending = Some(Pending { want, since: now });
        outlet.error = None;
        self.pending
            .insert((key.clone(), index), now + PENDING_TIMEOUT_MS);
        Some(steps)
    }

    /// What to publish to clear the retained command on `topic` of a device
    /// (the flag goes when the broker echoes the empty message back).
    /// `None` unless that device has one there.
    pub fn clear_retained(&self, key: &DeviceKey, topic: &str) -> Option<PublishRequest> {
        let device = self.devices.get(key)?;
        device
            .retained_commands
            .iter()
            .any(|t| t == topic)
            .then(|| PublishRequest::clear_retained(topic))
    }

    /// A request could not be sent: the outlet is no longer pending and
    /// shows `reason`.
    pub fn fail_request(&mut self, key: &DeviceKey, index: u8, reason: String) {
        if let Some(outlet) = self
            .devices
            .get_mut(key)
            .and_then(|d| d.outlets.iter_mut().find(|o| o.index == index))
        {
            outlet.pending = None;
            outlet.error = Some(reason);
        }
        self.pending.remove(&(key.clone(), index));
    }

    /// Gives up on toggles pending longer than [`PENDING_TIMEOUT_MS`] and
    /// hands passed deadlines to the adapters; returns what changed.
    pub fn handle_timeout(&mut self, now: u64) -> Update {
        let outputs = self.router.handle_timeout(now);
        let mut update = self.apply(outputs, now);
        let due: Vec<(DeviceKey, u8)> = self
            .pending
            .iter()
            .filter(|(_, deadline)| now >= **deadline)
            .map(|(at, _)| at.clone())
            .collect();
        for (key, index) in due {
            self.pending.remove(&(key.clone(), index));
            let Some(outlet) = self
                .devices
                .get_mut(&key)
                .and_then(|d| d.outlets.iter_mut().find(|o| o.index == index))
            else {
                continue;
            };
            outlet.pending = None;
            outlet.error = Some(format!(
                "no confirmation from the device within {} s",
                PENDING_TIMEOUT_MS / 1000
            ));
            if !update.changed.contains(&key) {
                update.changed.push(key);
            }
        }
        update
    }

    /// When [`Dashboard::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending
            .values()
            .copied()
            .chain(self.router.poll_timeout())
            .chain((!self.queries.is_empty()).then_some(self.window.0 + 1_000))
            .min()
    }
}
