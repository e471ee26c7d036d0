//! What the tiles show: devices, their outlets and readings, and the
//! publishes a user's action turns into.

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
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tasmota => "Tasmota",
            Self::ShellyGen1 => "Shelly",
            Self::ShellyGen2 => "Shelly Gen2",
            Self::Zigbee2Mqtt => "Zigbee2MQTT",
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
}

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
}

/// One switchable output of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    /// 1-based relay number.
    pub index: u8,
    /// The state the device last reported, if it has.
    pub confirmed: Option<Power>,
    /// A toggle in flight.
    pub pending: Option<Pending>,
    /// Why the last toggle failed, until the next one.
    pub error: Option<String>,
}

impl Outlet {
    fn new(index: u8) -> Self {
        Self {
            index,
            confirmed: None,
            pending: None,
            error: None,
        }
    }

    /// A state report from the device.
    pub(crate) fn report(&mut self, power: Power) {
        self.confirmed = Some(power);
        // A report of another state may be an older one still in flight:
        // only the requested state settles a pending toggle.
        if self.pending.is_some_and(|p| p.want == power) {
            self.pending = None;
            self.error = None;
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

/// A device as its tile shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Identity.
    pub key: DeviceKey,
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
