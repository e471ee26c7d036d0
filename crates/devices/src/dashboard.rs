//! All devices of one connection: messages go to the adapters through the
//! router, and what they report becomes the devices the tiles show.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::adapter::{Change, Output};
use crate::adapters::{self, custom::Custom, custom::CustomTile, Topics};
use crate::model::{
    Action, ConnectionId, Device, DeviceKey, Family, Flag, Pending, Power, PublishRequest,
    DEFAULT_MAX_DEVICES, MAX_FLAGS, MAX_ID_LEN, MAX_TRACKED, PENDING_TIMEOUT_MS,
    QUERIES_PER_SECOND,
};

/// Longest device or outlet name kept, in bytes.
const MAX_NAME_LEN: usize = 64;

/// Scans (re-announce requests) at most once per this many milliseconds.
pub const SCAN_INTERVAL_MS: u64 = 5_000;

/// Steps of actions waiting for their time, at most (a broker cannot make
/// these grow, but a user clicking "all on" on thousands of outlets can).
const MAX_SCHEDULED: usize = 10_000;
use crate::router::Router;

/// What [`Dashboard::handle_message`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// The devices that changed, each once.
    pub changed: Vec<DeviceKey>,
    /// The devices that are gone (their discovery config was cleared).
    pub removed: Vec<DeviceKey>,
    /// Publishes to send in reaction (e.g. a state query for a new device).
    pub publish: Vec<PublishRequest>,
    /// Filters the connection must subscribe to from now on (a state
    /// topic a discovery config named).
    pub subscribe: Vec<String>,
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
    /// Later steps of actions: when, for which outlet, what.
    scheduled: Vec<(u64, (DeviceKey, u8), PublishRequest)>,
    /// The last scan: when, and the topics it asked on.
    last_scan: Option<(u64, Vec<String>)>,
    /// The installation's topics the adapters were made with.
    topics: Topics,
}

impl Dashboard {
    /// An empty dashboard for a connection, with every adapter.
    pub fn new(connection: ConnectionId) -> Self {
        Self::with_topics(connection, &Topics::default())
    }

    /// An empty dashboard whose adapters use these topics (see
    /// [`Topics::check`]; an unusable one falls back to its default).
    pub fn with_topics(connection: ConnectionId, topics: &Topics) -> Self {
        let topics = if topics.check().is_ok() {
            topics.clone()
        } else {
            Topics::default()
        };
        let mut dashboard = Self::with_router(connection, Router::new(adapters::all(&topics)));
        dashboard.topics = topics;
        dashboard
    }

    /// The topics its adapters use.
    pub fn topics(&self) -> &Topics {
        &self.topics
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
            scheduled: Vec::new(),
            last_scan: None,
            topics: Topics::default(),
        }
    }

    /// Shows at most `max` devices on this connection.
    pub fn set_max_devices(&mut self, max: usize) {
        self.max_devices = max;
    }

    /// Uses these custom tiles from now on: tiles no longer configured go,
    /// new ones appear at once, waiting for their state. The update names
    /// the tiles added and removed, and the filters to subscribe to that
    /// the connection did not need before.
    pub fn set_custom_tiles(&mut self, tiles: Vec<CustomTile>) -> Update {
        let gone: Vec<DeviceKey> = self
            .devices
            .keys()
            .filter(|k| k.family == Family::Custom && !tiles.iter().any(|t| t.name == k.id))
            .cloned()
            .collect();
        for key in &gone {
            self.remove(key);
        }
        // A configured tile shows at once, waiting for its state.
        let mut added = Vec::new();
        for tile in &tiles {
            let key = DeviceKey {
                connection: self.connection,
                family: Family::Custom,
                id: tile.name.clone(),
            };
            if !self.devices.contains_key(&key) && key.id.len() <= MAX_ID_LEN {
                let mut device = Device::new(key.clone());
                device.outlet_mut(1);
                self.devices.insert(key.clone(), device);
                added.push(key);
            }
        }
        let subscribe = self.router.replace(Box::new(Custom::new(tiles)));
        Update {
            changed: added,
            removed: gone,
            subscribe,
            publish: Vec::new(),
        }
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
        let asks = self.router.on_connected(now);
        self.last_scan = Some((now, asks.iter().map(|a| a.topic.clone()).collect()));
        asks
    }

    /// The user asks every ecosystem to announce its devices again: the
    /// same requests as after a connect, at most once per
    /// [`SCAN_INTERVAL_MS`]. `Err` says when the next scan is allowed.
    pub fn scan(&mut self, now: u64) -> Result<Vec<PublishRequest>, u64> {
        if let Some((at, _)) = self.last_scan {
            if now < at + SCAN_INTERVAL_MS {
                return Err(at + SCAN_INTERVAL_MS);
            }
        }
        Ok(self.on_connected(now))
    }

    /// When devices were last asked to announce themselves, and on which
    /// topics (for the "nothing appeared" advice).
    pub fn last_scan(&self) -> Option<(u64, &[String])> {
        self.last_scan.as_ref().map(|(at, t)| (*at, t.as_slice()))
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
            update.subscribe.extend(output.subscribe);
            let mut turned_away = false;
            // Adapters report a device's changes together: each run of
            // changes for one id finds its device once.
            let mut changes = output.changes.into_iter().peekable();
            while let Some(first) = changes.next() {
                let key = DeviceKey {
                    connection: self.connection,
                    family,
                    id: first.id().to_owned(),
                };
                let mut run = vec![first];
                while let Some(next) = changes.next_if(|c| c.id() == key.id) {
                    run.push(next);
                }
                match self.apply_run(&key, run, now) {
                    Applied::Changed => {
                        if !update.changed.contains(&key) {
                            update.changed.push(key);
                        }
                    }
                    Applied::Removed => {
                        update.changed.retain(|k| *k != key);
                        update.removed.push(key);
                    }
                    Applied::TurnedAway => turned_away = true,
                    Applied::Nothing => {}
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

    /// Applies the changes an adapter reported about one device.
    fn apply_run(&mut self, key: &DeviceKey, run: Vec<Change>, now: u64) -> Applied {
        if run.iter().any(|c| matches!(c, Change::Removed { .. })) {
            // Rare: gone (and maybe back) within one message; one by one.
            let mut result = Applied::Nothing;
            for change in run {
                result = match (change, result) {
                    (Change::Removed { .. }, _) if self.devices.contains_key(key) => {
                        self.remove(key);
                        Applied::Removed
                    }
                    (Change::Removed { .. }, result) => result,
                    (change, result) => match self.apply_run(key, vec![change], now) {
                        Applied::Nothing => result,
                        other => other,
                    },
                };
            }
            return result;
        }
        if !self.devices.contains_key(key) {
            let creates = run.iter().any(|c| {
                !matches!(
                    c,
                    Change::RetainedCommand { present: false, .. } | Change::OutletRemoved { .. }
                )
            });
            if !creates {
                // Nothing to unflag or remove on a device never seen.
                return Applied::Nothing;
            }
            if self.devices.len() >= self.max_devices || key.id.len() > MAX_ID_LEN {
                if self.ignored.len() < MAX_TRACKED {
                    self.ignored.insert(key.id.clone());
                }
                return Applied::TurnedAway;
            }
            self.devices.insert(key.clone(), Device::new(key.clone()));
        }
        let Some(device) = self.devices.get_mut(key) else {
            return Applied::Nothing;
        };
        device.last_seen = Some(now);
        for change in run {
            match change {
                Change::Seen { .. } | Change::Removed { .. } => {}
                Change::Online { online, .. } => device.online = Some(online),
                Change::Named { name, .. } => device.name = Some(bounded(name)),
                Change::OutletNamed { index, name, .. } => {
                    device.outlet_mut(index).name = Some(bounded(name));
                }
                Change::Period { ms, .. } => device.period_ms = Some(ms.max(1_000)),
                Change::Note { note, .. } => {
                    device.note = (!note.is_empty()).then(|| bounded_to(note, 300));
                }
                Change::Flag {
                    name, class, on, ..
                } => {
                    let known = device.flags.iter().position(|f| f.name == name);
                    match known {
                        Some(at) => device.flags[at] = Flag { name, class, on },
                        None if device.flags.len() < MAX_FLAGS => {
                            device.flags.push(Flag { name, class, on });
                        }
                        None => {}
                    }
                }
                Change::OutletRemoved { index, .. } => {
                    device.outlets.retain(|o| o.index != index);
                    self.pending.remove(&(key.clone(), index));
                }
                Change::Outlet { index, power, .. } => {
                    let outlet = device.outlet_mut(index);
                    let was_pending = outlet.pending.is_some();
                    outlet.report(power);
                    if was_pending && outlet.pending.is_none() {
                        self.pending.remove(&(key.clone(), index));
                    }
                }
                Change::Readings { readings, .. } => {
                    if let Some(watts) = readings.power_w {
                        device.record_power(now, watts);
                    }
                    device.readings.merge(&readings);
                }
                Change::RetainedCommand { topic, present, .. } => {
                    device.retained_commands.retain(|t| *t != topic);
                    if present && device.retained_commands.len() < 16 {
                        device.retained_commands.push(topic);
                    }
                }
            }
        }
        Applied::Changed
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

    /// The user asks for `action` on an outlet: returns what to publish
    /// now (later steps are kept and released by
    /// [`Dashboard::handle_timeout`]) and marks the outlet pending: a
    /// power-cycle waits for Off, then On. `None` if there is no such
    /// device.
    pub fn request(
        &mut self,
        key: &DeviceKey,
        index: u8,
        action: impl Into<Action>,
        now: u64,
    ) -> Option<Vec<PublishRequest>> {
        self.request_at(key, index, action.into(), now, now)
    }

    /// Like [`Dashboard::request`], starting at `start` (≥ `now`).
    fn request_at(
        &mut self,
        key: &DeviceKey,
        index: u8,
        action: Action,
        start: u64,
        now: u64,
    ) -> Option<Vec<PublishRequest>> {
        let adapter = self.router.adapter(key.family)?;
        let device = self.devices.get_mut(key)?;
        let steps = adapter.action(&key.id, index, action, start);
        if steps.is_empty() {
            return None;
        }
        let (pending, deadline) = match action {
            Action::On => (Pending::new(Power::On, start), start + PENDING_TIMEOUT_MS),
            Action::Off => (Pending::new(Power::Off, start), start + PENDING_TIMEOUT_MS),
            Action::PowerCycle { off_ms } => (
                Pending {
                    then: Some(Power::On),
                    cycle: true,
                    ..Pending::new(Power::Off, start)
                },
                start + off_ms + PENDING_TIMEOUT_MS,
            ),
        };
        let outlet = device.outlet_mut(index);
        outlet.pending = Some(pending);
        outlet.error = None;
        outlet.late = None;
        self.pending.insert((key.clone(), index), deadline);
        let mut now_steps = Vec::new();
        for step in steps {
            let at = start + step.after_ms;
            if at <= now {
                now_steps.push(step.request);
            } else if self.scheduled.len() < MAX_SCHEDULED {
                self.scheduled
                    .push((at, (key.clone(), index), step.request));
            }
        }
        Some(now_steps)
    }

    /// `action` on several outlets, one after the other `stagger_ms` apart
    /// (0: all at once) — "all off", or a staggered power-on that spares
    /// the fuse the inrush of every load at once. Returns what to publish
    /// now; outlets whose turn has not come show pending from their turn.
    pub fn request_group(
        &mut self,
        outlets: &[(DeviceKey, u8)],
        action: Action,
        stagger_ms: u64,
        now: u64,
    ) -> Vec<PublishRequest> {
        let mut now_steps = Vec::new();
        for (turn, (key, index)) in outlets.iter().enumerate() {
            let start = now + stagger_ms.saturating_mul(turn as u64);
            if let Some(steps) = self.request_at(key, *index, action, start, now) {
                now_steps.extend(steps);
            }
        }
        now_steps
    }

    /// Forgets a device and everything waiting for it.
    fn remove(&mut self, key: &DeviceKey) {
        self.devices.remove(key);
        self.pending.retain(|(k, _), _| k != key);
        self.scheduled.retain(|(_, (k, _), _)| k != key);
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
        self.scheduled
            .retain(|(_, (k, i), _)| !(k == key && *i == index));
    }

    /// Gives up on toggles pending longer than [`PENDING_TIMEOUT_MS`] and
    /// hands passed deadlines to the adapters; returns what changed.
    pub fn handle_timeout(&mut self, now: u64) -> Update {
        let outputs = self.router.handle_timeout(now);
        let mut update = self.apply(outputs, now);
        if self.scheduled.iter().any(|(at, _, _)| *at <= now) {
            let (due, later) = std::mem::take(&mut self.scheduled)
                .into_iter()
                .partition(|(at, _, _)| *at <= now);
            self.scheduled = later;
            let mut due: Vec<_> = due;
            due.sort_by_key(|(at, _, _)| *at);
            update.publish.extend(due.into_iter().map(|(_, _, r)| r));
        }
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
            outlet.late = outlet.pending.map(|p| p.then.unwrap_or(p.want));
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
            .chain(self.scheduled.iter().map(|(at, _, _)| *at))
            .chain((!self.queries.is_empty()).then_some(self.window.0 + 1_000))
            .min()
    }
}

/// What applying one device's changes did.
enum Applied {
    /// The device is new or changed.
    Changed,
    /// The device is gone.
    Removed,
    /// The device was not taken (over the cap, or its id too long).
    TurnedAway,
    /// Nothing (e.g. an unflag for a device never seen).
    Nothing,
}

/// A name cut to [`MAX_NAME_LEN`] bytes (at a character boundary).
fn bounded(name: String) -> String {
    bounded_to(name, MAX_NAME_LEN)
}

fn bounded_to(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push('…');
    }
    text
}
