//! The model behind the tiles.

use std::collections::BTreeMap;
use std::fmt;

use mqtt_codec::QoS;

use crate::tasmota;

/// How long a toggle may stay pending before the tile shows an error.
pub const PENDING_TIMEOUT_MS: u64 = 5_000;

/// Which broker connection something came from. One per configured broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnectionId(pub u32);

/// The device convention an adapter recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Family {
    /// Tasmota firmware (`cmnd/`, `stat/`, `tele/` topics).
    Tasmota,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tasmota => "Tasmota",
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

/// A device as its tile shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Identity.
    pub key: DeviceKey,
    /// Online as the device's last will / birth message says, if known.
    pub online: Option<bool>,
    /// Outputs, sorted by index.
    pub outlets: Vec<Outlet>,
}

impl Device {
    pub(crate) fn new(key: DeviceKey) -> Self {
        Self {
            key,
            online: None,
            outlets: Vec::new(),
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

/// A message to publish on the user's behalf. Never retained: a retained
/// command re-fires on every device reconnect ("ghost switching").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS to publish at.
    pub qos: QoS,
}

impl PublishRequest {
    pub(crate) fn new(topic: String, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            topic,
            payload: payload.into(),
            qos: QoS::AtMostOnce,
        }
    }
}

/// What [`Dashboard::handle_message`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// The device that changed, if any.
    pub changed: Option<DeviceKey>,
    /// Publishes to send in reaction (e.g. a state query for a new device).
    pub publish: Vec<PublishRequest>,
}

/// All devices seen on one connection.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    connection: ConnectionId,
    devices: BTreeMap<DeviceKey, Device>,
}

impl Dashboard {
    /// An empty dashboard for a connection.
    pub fn new(connection: ConnectionId) -> Self {
        Self {
            connection,
            devices: BTreeMap::new(),
        }
    }

    /// Topic filters to subscribe to so the adapters see their devices.
    pub fn subscriptions() -> &'static [&'static str] {
        tasmota::SUBSCRIPTIONS
    }

    /// All devices, in key order.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// One device.
    pub fn device(&self, key: &DeviceKey) -> Option<&Device> {
        self.devices.get(key)
    }

    /// Routes a received message to the adapter that understands it.
    pub fn handle_message(&mut self, topic: &str, payload: &[u8]) -> Update {
        let Some(message) = tasmota::parse(topic, payload) else {
            return Update::default();
        };
        let key = DeviceKey {
            connection: self.connection,
            family: Family::Tasmota,
            id: message.device.to_owned(),
        };
        let mut publish = Vec::new();
        let device = self.devices.entry(key.clone()).or_insert_with(|| {
            // A new device: ask it for its state so the tile is not blank.
            publish.push(tasmota::query(message.device));
            Device::new(key.clone())
        });
        message.apply(device);
        Update {
            changed: Some(key),
            publish,
        }
    }

    /// The user asks for `want` on an outlet: returns what to publish, and
    /// marks the outlet pending. `None` if there is no such device.
    pub fn request(
        &mut self,
        key: &DeviceKey,
        index: u8,
        want: Power,
        now: u64,
    ) -> Option<Vec<PublishRequest>> {
        let device = self.devices.get_mut(key)?;
        let outlet = device.outlet_mut(index);
        outlet.pending = Some(Pending { want, since: now });
        outlet.error = None;
        Some(vec![tasmota::command(&key.id, index, want)])
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
    }

    /// Gives up on toggles pending longer than [`PENDING_TIMEOUT_MS`];
    /// returns the devices that changed.
    pub fn handle_timeout(&mut self, now: u64) -> Vec<DeviceKey> {
        let mut changed = Vec::new();
        for device in self.devices.values_mut() {
            let mut touched = false;
            for outlet in &mut device.outlets {
                if outlet
                    .pending
                    .is_some_and(|p| now >= p.since + PENDING_TIMEOUT_MS)
                {
                    outlet.pending = None;
                    outlet.error = Some(format!(
                        "no confirmation from the device within {} s",
                        PENDING_TIMEOUT_MS / 1000
                    ));
                    touched = true;
                }
            }
            if touched {
                changed.push(device.key.clone());
            }
        }
        changed
    }

    /// When [`Dashboard::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.devices
            .values()
            .flat_map(|d| &d.outlets)
            .filter_map(|o| o.pending.map(|p| p.since + PENDING_TIMEOUT_MS))
            .min()
    }
}
