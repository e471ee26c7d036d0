//! What the tiles show: devices, their outlets and readings, and the
//! publishes a user's action turns into.

use std::collections::VecDeque;
use std::fmt;

use mqtt_codec::QoS;

/// How long a toggle may stay pending before the tile shows an error.
pub const PENDING_TIMEOUT_MS: u64 = 5_000;

/// Devices one connection shows at most, unless configured otherwise: a
/// broker (or anyone publishing to it) controls how many ids appear.
pub const DEFAULT_MAX_DEVICES: usize = 2_000;

/// Longest device id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Ids an adapter remembers at most (to ask each new device once).
pub(crate) const MAX_TRACKED: usize = 10_000;

/// Discovery publishes (state queries) sent per second at most; the rest
/// wait their turn.
pub const QUERIES_PER_SECOND: usize = 20;

/// Which broker connection something came from. One per configured broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnectionId(pub u32);

/// The device convention an adapter recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Family {
    /// Tasmota firmware (`cmnd/`, `stat/`, `tele/` topics).
    Tasmota,
    /// Shelly Gen1 (`shellies/<id>/…` topics).
    ShellyGen1,
    /// Shelly Gen2+ (`<prefix>/status/switch:<n>`, RPC on `<prefix>/rpc`).
    ShellyGen2,
    /// Zigbee2MQTT (`zigbee2mqtt/<friendly_name>` JSON).
    Zigbee2Mqtt,
    /// Anything announced by Home Assistant MQTT discovery
    /// (`homeassistant/<component>/…/config`).
    HomeAssistant,
    /// NETIO outlets with MQTT-flex (`netio/<device>/output/<n>/…`).
    Netio,
    /// A tile the user configured: a state and a command topic.
    Custom,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tasmota => "Tasmota",
            Self::ShellyGen1 => "Shelly",
            Self::ShellyGen2 => "Shelly Gen2",
            Self::Zigbee2Mqtt => "Zigbee2MQTT",
            Self::HomeAssistant => "Home Assistant",
            Self::Netio => "NETIO",
            Self::Custom => "Custom",
        })
    }
}

/// Identifies a device across brokers and conventions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceKey {
    /// The connection the device was seen on.
    pub connection: ConnectionId,
    /// The convention it speaks.
    pub family: Family,
    /// Its id within that convention (the Tasmota `%topic%`).
    pub id: String,
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.connection.0, self.family, self.id)
    }
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Power {
    /// Relay closed.
    On,
    /// Relay open.
    Off,
}

impl Power {
    /// The other state.
    pub fn toggled(self) -> Self {
        match self {
            Self::On => Self::Off,
            Self::Off => Self::On,
        }
    }
}

/// What a user asks of an outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Switch it on.
    On,
    /// Switch it off.
    Off,
    /// Off, then on again after `off_ms` (or the device's own delay, where
    /// the device does the cycle itself).
    PowerCycle {
        /// How long to stay off, in milliseconds.
        off_ms: u64,
    },
}

/// How long a power-cycle keeps an outlet off unless configured otherwise.
pub const DEFAULT_CYCLE_OFF_MS: u64 = 5_000;

impl From<Power> for Action {
    fn from(power: Power) -> Self {
        match power {
            Power::On => Self::On,
            Power::Off => Self::Off,
        }
    }
}

/// A request the user made that the device has not confirmed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pending {
    /// The state asked for.
    pub want: Power,
    /// When it was asked for (caller's milliseconds).
    pub since: u64,
    /// The state to wait for once `want` is confirmed: a power-cycle waits
    /// for Off, then On.
    pub then: Option<Power>,
    /// Part of a power-cycle (shown as such on the tile).
    pub cycle: bool,
}

impl Pending {
    /// Waiting for `want`, asked at `since`.
    pub fn new(want: Power, since: u64) -> Self {
        Self {
            want,
            since,
            then: None,
            cycle: false,
        }
    }
}

/// One switchable output of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    /// 1-based relay number.
    pub index: u8,
    /// What the device calls it, if it says.
    pub name: Option<String>,
    /// The state the device last reported, if it has.
    pub confirmed: Option<Power>,
    /// A toggle in flight.
    pub pending: Option<Pending>,
    /// Why the last toggle failed, until the next one.
    pub error: Option<String>,
    /// The state a timed-out request asked for: if the device confirms it
    /// after all, the error goes.
    pub(crate) late: Option<Power>,
}

impl Outlet {
    /// An outlet nothing is known about yet.
    pub fn new(index: u8) -> Self {
        Self {
            index,
            name: None,
            confirmed: None,
            pending: None,
            error: None,
            late: None,
        }
    }

    /// A state report from the device.
    pub(crate) fn report(&mut self, power: Power) {
        self.confirmed = Some(power);
        // A report of another state may be an older one still in flight:
        // only the requested state settles a pending toggle. A late
        // confirmation (after the timeout) clears the error it left.
        match self.pending {
            Some(p) if p.want == power => {
                self.pending = p.then.map(|next| Pending {
                    want: next,
                    then: None,
                    ..p
                });
                self.error = None;
            }
            None if self.late == Some(power) => {
                self.late = None;
                self.error = None;
            }
            _ => {}
        }
    }
}

/// Metering, in normalised units; `None` where the device does not say.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Readings {
    /// Active power, W.
    pub power_w: Option<f64>,
    /// Voltage, V.
    pub voltage_v: Option<f64>,
    /// Current, A.
    pub current_a: Option<f64>,
    /// Energy since midnight, kWh.
    pub energy_today_kwh: Option<f64>,
    /// Energy in total, kWh.
    pub energy_total_kwh: Option<f64>,
}

impl Readings {
    /// Takes every value `newer` has, keeps the others.
    pub(crate) fn merge(&mut self, newer: &Readings) {
        let pairs = [
            (&mut self.power_w, newer.power_w),
            (&mut self.voltage_v, newer.voltage_v),
            (&mut self.current_a, newer.current_a),
            (&mut self.energy_today_kwh, newer.energy_today_kwh),
            (&mut self.energy_total_kwh, newer.energy_total_kwh),
        ];
        for (mine, theirs) in pairs {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }
}

/// Power samples a device keeps for its sparkline, at most.
pub const HISTORY_LEN: usize = 120;

/// How far back the sparkline reaches, in milliseconds.
pub const HISTORY_MS: u64 = 10 * 60 * 1_000;

/// How many reporting periods may pass without a message before a device
/// is shown stale.
pub const STALE_PERIODS: u64 = 3;

/// Whether a device is there, fused from its will / availability messages
/// and how long it has been quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness {
    /// Reporting as expected.
    Live,
    /// Nothing heard for longer than [`STALE_PERIODS`] of its periods.
    Stale,
    /// Its will or availability topic says it is gone.
    Offline,
    /// Known only from a discovery message so far.
    Unknown,
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Live => "live",
            Self::Stale => "stale",
            Self::Offline => "offline",
            Self::Unknown => "unknown",
        })
    }
}

/// A binary sensor's latest state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Its name.
    pub name: String,
    /// Its class (`door`, `motion`, …), if it says.
    pub class: Option<String>,
    /// On (open, detected, …) or off.
    pub on: bool,
}

impl Flag {
    /// The state in the words its class uses: "open" / "closed" for a
    /// door, "detected" / "clear" for motion, else "on" / "off".
    pub fn word(&self) -> &'static str {
        let (on, off) = match self.class.as_deref() {
            Some("door" | "garage_door" | "opening" | "window" | "lock") => ("open", "closed"),
            Some("motion" | "occupancy" | "presence" | "moving" | "sound" | "vibration") => {
                ("detected", "clear")
            }
            Some("problem" | "safety" | "smoke" | "gas" | "moisture" | "tamper") => ("alert", "ok"),
            Some("connectivity") => ("connected", "disconnected"),
            Some("battery") => ("low", "normal"),
            _ => ("on", "off"),
        };
        if self.on {
            on
        } else {
            off
        }
    }
}

/// Binary sensors a device keeps at most.
pub(crate) const MAX_FLAGS: usize = 16;

/// A device as its tile shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Identity.
    pub key: DeviceKey,
    /// What the device calls itself (Tasmota `FriendlyName`, HA `name`,
    /// Zigbee2MQTT friendly name), if it says.
    pub name: Option<String>,
    /// When anything was last heard from it (caller's milliseconds).
    pub last_seen: Option<u64>,
    /// How often it reports on its own, if known (telemetry period).
    pub period_ms: Option<u64>,
    /// Something the tile should say about it (e.g. an unsupported
    /// template).
    pub note: Option<String>,
    /// Recent active power, oldest first: (when, W).
    pub power_history: VecDeque<(u64, f64)>,
    /// Binary sensors (door, motion, …), by name.
    pub flags: Vec<Flag>,
    /// Online as the device's last will / birth message says, if known.
    pub online: Option<bool>,
    /// Outputs, sorted by index.
    pub outlets: Vec<Outlet>,
    /// The device's latest metering.
    pub readings: Readings,
    /// Command topics with a retained message on them: the device repeats
    /// it at every reconnect ("ghost switching").
    pub retained_commands: Vec<String>,
}

impl Device {
    pub(crate) fn new(key: DeviceKey) -> Self {
        Self {
            key,
            name: None,
            last_seen: None,
            period_ms: None,
            note: None,
            power_history: VecDeque::new(),
            flags: Vec::new(),
            online: None,
            outlets: Vec::new(),
            readings: Readings::default(),
            retained_commands: Vec::new(),
        }
    }

    /// The outlet with this index, created if new.
    pub(crate) fn outlet_mut(&mut self, index: u8) -> &mut Outlet {
        let at = match self.outlets.binary_search_by_key(&index, |o| o.index) {
            Ok(at) => at,
            Err(at) => {
                self.outlets.insert(at, Outlet::new(index));
                at
            }
        };
        &mut self.outlets[at]
    }

    /// The outlet with this index.
    pub fn outlet(&self, index: u8) -> Option<&Outlet> {
        self.outlets.iter().find(|o| o.index == index)
    }

    /// Live, stale or offline at `now`: an explicit offline wins; then
    /// silence for [`STALE_PERIODS`] of its period; then any sign of life.
    pub fn liveness(&self, now: u64) -> Liveness {
        if self.online == Some(false) {
            return Liveness::Offline;
        }
        if let (Some(seen), Some(period)) = (self.last_seen, self.period_ms) {
            if now.saturating_sub(seen) > period.saturating_mul(STALE_PERIODS) {
                return Liveness::Stale;
            }
        }
        if self.online == Some(true) || !self.awaiting_state() {
            Liveness::Live
        } else {
            Liveness::Unknown
        }
    }

    /// What changed from `self` to `newer`, as a tile sees it: what
    /// nearly every message changes (when it was heard, its metering), and
    /// the rest. A tile re-runs only what depends on the part that changed.
    pub fn difference(&self, newer: &Device) -> Difference {
        // Every field named, so a new one cannot be forgotten here.
        let Device {
            key,
            name,
            last_seen,
            period_ms,
            note,
            power_history,
            flags,
            online,
            outlets,
            readings,
            retained_commands,
        } = self;
        let pulse = *last_seen != newer.last_seen
            || *readings != newer.readings
            || power_history.len() != newer.power_history.len()
            || power_history.back() != newer.power_history.back();
        let reports = |r: &Readings| *r != Readings::default();
        let rest = *key != newer.key
            || *name != newer.name
            || *period_ms != newer.period_ms
            || *note != newer.note
            || *flags != newer.flags
            || *online != newer.online
            || *outlets != newer.outlets
            || *retained_commands != newer.retained_commands
            // "Waiting for state" ends with the first reading.
            || reports(readings) != reports(&newer.readings);
        Difference { pulse, rest }
    }

    /// Known (from discovery, a will, a name) but nothing reported yet: the
    /// tile says "waiting for state" rather than show an empty card.
    pub fn awaiting_state(&self) -> bool {
        self.outlets.iter().all(|o| o.confirmed.is_none())
            && self.readings == Readings::default()
            && self.flags.is_empty()
    }

    /// Records a power reading for the sparkline, dropping what is older
    /// than [`HISTORY_MS`] or beyond [`HISTORY_LEN`] samples.
    pub(crate) fn record_power(&mut self, now: u64, watts: f64) {
        if !watts.is_finite() {
            return;
        }
        self.power_history.push_back((now, watts));
        while self.power_history.len() > HISTORY_LEN
            || self
                .power_history
                .front()
                .is_some_and(|(t, _)| now.saturating_sub(*t) > HISTORY_MS)
        {
            self.power_history.pop_front();
        }
    }
}

/// What changed in a device between two looks ([`Device::difference`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Difference {
    /// When it was last heard, its readings or its power history.
    pub pulse: bool,
    /// Anything else: name, outlets, flags, what its liveness depends on
    /// besides the time it was heard, whether it reports readings at all.
    pub rest: bool,
}

/// A message to publish on the user's behalf. Commands are never
/// retained: a retained command re-fires on every device reconnect ("ghost
/// switching"). The one retained publish is the empty one that clears such
/// a command ([`PublishRequest::clear_retained`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS to publish at.
    pub qos: QoS,
    /// Retained: only ever with an empty payload, to clear a retained message.
    pub retain: bool,
}

impl PublishRequest {
    /// A QoS 0 request.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
        }
    }

    /// The empty retained message that removes what is retained on `topic`.
    pub fn clear_retained(topic: impl Into<String>) -> Self {
        Self {
            retain: true,
            ..Self::new(topic, Vec::new())
        }
    }
}

/// One step of an action: publish `request` `after_ms` after the action
/// started. An action is a sequence of these (a power-cycle is "off now,
/// on in 5 s").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedPublish {
    /// Delay from the start of the action, in milliseconds.
    pub after_ms: u64,
    /// What to publish then.
    pub request: PublishRequest,
}

impl TimedPublish {
    /// A step to take at once.
    pub fn now(request: PublishRequest) -> Self {
        Self {
            after_ms: 0,
            request,
        }
    }
}

/// The points of an SVG polyline drawing `history` (when, value) in a
/// `width` × `height` box: time left to right over the samples' span,
/// values bottom (the lowest, or 0) to top (the highest). `None` for fewer
/// than two samples.
pub fn sparkline(history: &VecDeque<(u64, f64)>, width: f64, height: f64) -> Option<String> {
    if history.len() < 2 {
        return None;
    }
    let (t0, t1) = (history.front()?.0, history.back()?.0);
    let span = (t1.saturating_sub(t0)).max(1) as f64;
    let low = history
        .iter()
        .map(|s| s.1)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let high = history
        .iter()
        .map(|s| s.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let range = if high > low { high - low } else { 1.0 };
    // Tenths written by hand: `format!("{x:.1}")` goes through the float
    // formatter, the costliest part of refreshing a tile.
    let mut points = String::with_capacity(history.len() * 12);
    for (i, (t, v)) in history.iter().enumerate() {
        if i > 0 {
            points.push(' ');
        }
        let x = (t - t0) as f64 / span * width;
        let y = height - (v - low) / range * height;
        push_tenths(&mut points, x);
        points.push(',');
        push_tenths(&mut points, y);
    }
    Some(points)
}

/// Appends `value` with one decimal ("12.3", "-0.5"), rounded half away
/// from zero; what is not finite is written as 0.0. Digits by hand: even
/// integer `write!` costs a formatter call per number.
fn push_tenths(out: &mut String, value: f64) {
    let tenths = if value.is_finite() {
        (value * 10.0).round() as i64
    } else {
        0
    };
    if tenths < 0 {
        out.push('-');
    }
    let tenths = tenths.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut whole = tenths / 10;
    loop {
        at -= 1;
        digits[at] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
    out.push('.');
    out.push(char::from(b'0' + (tenths % 10) as u8));
}
