//! NETIO outlets (PowerBOX 4Kx, PowerPDU 4PS/4KS/8QS, PowerCable MQTT, …)
//! configured with MQTT-flex in the common scheme.
//!
//! MQTT-flex has no fixed topics: the user pastes a JSON configuration into
//! the device (the one [`crate::netio_flex::generate`] writes). The scheme
//! read here is the community convention from the conventions reference
//! §C5 (tuldener/ha-netio README [NE-HA]; NETIO's wiki [NE-WIKI] shows the
//! `netio/<id>/output/<n>/action` pattern), under a prefix, `netio` unless
//! configured otherwise:
//! - `<prefix>/<device>/output/<n>/state`: `0` / `1` (`${OUTPUTS/<n>/STATE}`);
//! - `…/load`: W; `…/current`: mA (shown as A); `…/voltage`: V;
//!   `…/energy`: Wh (shown as kWh); `…/power_factor`: read as a sign of
//!   life only (the tile has no place for it). Units from the netio.json
//!   structure [NE-JSON] and [NE-HA], as §C5 notes.
//! - `…/action`: the command, the `ACTION` values of every NETIO M2M
//!   protocol [NE-MAN]: `0` off, `1` on, `2` short off (off for the
//!   device's own "short ON/OFF delay", then on again), `3` short on,
//!   `4` toggle, `5` no change.
//!
//! `<device>` is the device's id (the generated configuration puts the
//! NETIO's `${DEVICE_NAME}` there); outlets are numbered from 1, as NETIO
//! numbers them (1..=32 accepted). NETIO reports metering per output; the
//! tile shows per-device readings, so loads, currents and energies are
//! summed over the outputs (the voltage is the one last reported: all
//! outputs share the supply).
//!
//! NETIO has no last will (§C5, "Availability: none built in"), and no
//! request makes it report: nothing is published on connect, and the
//! tile relies on the periodic (timer) publishes. Staleness is inferred
//! from them: the interval between consecutive live messages on the same
//! measurement topic of a device, the largest of its last few (a `delta`
//! event publishes early, never late), becomes the device's
//! [`Change::Period`] when it lies between 1 s and 1 h.
//!
//! A retained message on an `action` topic is flagged
//! ([`Change::RetainedCommand`]): the device would apply it again at every
//! reconnect ("ghost switching", DESIGN §4).

use std::collections::{BTreeMap, VecDeque};

use crate::adapter::{Adapter, Change, Output};
use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish, MAX_TRACKED};
use crate::netio_flex::{level_problem, prefix_problem, DEFAULT_PREFIX};

/// Highest output number accepted.
const MAX_OUTPUT: u8 = 32;

/// Intervals remembered per device to infer its period.
const INTERVALS: usize = 16;

/// Inferred periods outside this range are not reported, in milliseconds.
const PERIODS_MS: std::ops::RangeInclusive<u64> = 1_000..=3_600_000;

/// Longest payload read: a number or `0` / `1` is a few bytes.
const MAX_PAYLOAD: usize = 64;

/// The last level of a topic in the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    State,
    Action,
    Measure(Measure),
}

/// A periodic measurement topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Load,
    Current,
    Voltage,
    Energy,
    PowerFactor,
}

impl Measure {
    /// Its slot in [`Meter::last`].
    fn slot(self) -> usize {
        self as usize
    }
}

impl Leaf {
    fn parse(level: &str) -> Option<Self> {
        Some(match level {
            "state" => Self::State,
            "action" => Self::Action,
            "load" => Self::Measure(Measure::Load),
            "current" => Self::Measure(Measure::Current),
            "voltage" => Self::Measure(Measure::Voltage),
            "energy" => Self::Measure(Measure::Energy),
            "power_factor" => Self::Measure(Measure::PowerFactor),
            _ => return None,
        })
    }
}

/// One output's metering, in the device's units, and when each
/// measurement topic last had a live message.
#[derive(Debug, Default, Clone, Copy)]
struct Meter {
    load_w: Option<f64>,
    current_ma: Option<f64>,
    energy_wh: Option<f64>,
    last: [Option<u64>; 5],
}

/// What the adapter keeps about one device.
#[derive(Debug, Default)]
struct Unit {
    meters: BTreeMap<u8, Meter>,
    voltage_v: Option<f64>,
    /// Recent intervals between messages on one topic, newest last.
    intervals: VecDeque<u64>,
    /// The period last reported.
    period_ms: Option<u64>,
}

impl Unit {
    /// The device's readings: sums over its outputs.
    fn readings(&self) -> Readings {
        let sum = |value: fn(&Meter) -> Option<f64>| {
            self.meters
                .values()
                .filter_map(value)
                .fold(None, |sum: Option<f64>, v| Some(sum.unwrap_or(0.0) + v))
        };
        Readings {
            power_w: sum(|m| m.load_w),
            current_a: sum(|m| m.current_ma).map(|ma| ma / 1_000.0),
            energy_total_kwh: sum(|m| m.energy_wh).map(|wh| wh / 1_000.0),
            voltage_v: self.voltage_v,
            energy_today_kwh: None,
        }
    }

    /// Notes a live message on a measurement topic at `now`; the period,
    /// if that changed it.
    fn heard(&mut self, index: u8, measure: Measure, now: u64) -> Option<u64> {
        let meter = self.meters.get_mut(&index)?;
        let last = meter.last[measure.slot()].replace(now)?;
        let interval = now.checked_sub(last)?;
        if !PERIODS_MS.contains(&interval) {
            return None;
        }
        if self.intervals.len() >= INTERVALS {
            self.intervals.pop_front();
        }
        self.intervals.push_back(interval);
        let period = self.intervals.iter().copied().max()?;
        (self.period_ms != Some(period)).then(|| {
            self.period_ms = Some(period);
            period
        })
    }
}

/// The NETIO adapter. It keeps each output's metering (to sum it per
/// device) for at most [`MAX_TRACKED`] outputs in all.
#[derive(Debug)]
pub(crate) struct Netio {
    prefix: String,
    devices: BTreeMap<String, Unit>,
    /// Outputs tracked, over all devices.
    meters: usize,
}

impl Default for Netio {
    fn default() -> Self {
        Self::with_prefix(DEFAULT_PREFIX)
    }
}

impl Netio {
    /// An adapter for topics under `prefix` (one or more topic levels,
    /// without wildcards). A prefix that cannot be one (see
    /// [`crate::netio_flex::FlexOptions::prefix`]) gives the default,
    /// `netio`.
    pub(crate) fn with_prefix(prefix: &str) -> Self {
        let prefix = if prefix_problem(prefix).is_none() {
            prefix
        } else {
            DEFAULT_PREFIX
        };
        Self {
            prefix: prefix.to_owned(),
            devices: BTreeMap::new(),
            meters: 0,
        }
    }

    /// `(device, output, leaf)` of a topic in the scheme.
    fn parse<'t>(&self, topic: &'t str) -> Option<(&'t str, u8, Leaf)> {
        let rest = topic
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?;
        let mut levels = rest.split('/');
        let (device, output, n, leaf) = (
            levels.next()?,
            levels.next()?,
            levels.next()?,
            levels.next()?,
        );
        if levels.next().is_some() || output != "output" || level_problem(device).is_some() {
            return None;
        }
        Some((device, output_index(n)?, Leaf::parse(leaf)?))
    }

    /// The device's state, with a meter for `index`; `None` once the
    /// bounds are reached.
    fn track(&mut self, id: &str, index: u8) -> Option<&mut Unit> {
        let full = self.meters >= MAX_TRACKED;
        if !self.devices.contains_key(id) {
            if full || self.devices.len() >= MAX_TRACKED {
                return None;
            }
            self.devices.insert(id.to_owned(), Unit::default());
        }
        let unit = self.devices.get_mut(id)?;
        if let std::collections::btree_map::Entry::Vacant(slot) = unit.meters.entry(index) {
            if full {
                return None;
            }
            slot.insert(Meter::default());
            self.meters += 1;
        }
        Some(unit)
    }
}

impl Adapter for Netio {
    fn family(&self) -> Family {
        Family::Netio
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![format!("{}/+/output/+/+", self.prefix)]
    }

    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, now: u64) -> Output {
        let mut out = Output::default();
        let Some((id, index, leaf)) = self.parse(topic) else {
            return out;
        };
        if payload.len() > MAX_PAYLOAD {
            return out;
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return out;
        };
        let text = text.trim();
        let id = id.to_owned();
        let measure = match leaf {
            Leaf::Action => {
                // Our own commands come back here: only a retained one (or
                // the empty message clearing it) is news.
                let present = match (retained, payload.is_empty()) {
                    (true, false) => true,
                    (_, true) => false,
                    (false, false) => return out,
                };
                out.changes.push(Change::RetainedCommand {
                    id,
                    topic: topic.to_owned(),
                    present,
                });
                return out;
            }
            Leaf::State => {
                let power = match text {
                    "1" => Power::On,
                    "0" => Power::Off,
                    _ => return out,
                };
                out.changes.push(Change::Seen { id: id.clone() });
                out.changes.push(Change::Outlet { id, index, power });
                return out;
            }
            Leaf::Measure(measure) => measure,
        };
        let Some(value) = text.parse::<f64>().ok().filter(|v| v.is_finite()) else {
            return out;
        };
        let Some(unit) = self.track(&id, index) else {
            return out;
        };
        if let Some(meter) = unit.meters.get_mut(&index) {
            match measure {
                Measure::Load => meter.load_w = Some(value),
                Measure::Current => meter.current_ma = Some(value),
                Measure::Energy => meter.energy_wh = Some(value),
                Measure::Voltage => unit.voltage_v = Some(value),
                Measure::PowerFactor => {}
            }
        }
        // A retained measurement arrives when we subscribe, not when the
        // device sent it: it says nothing about the period.
        let period = if retained {
            None
        } else {
            unit.heard(index, measure, now)
        };
        let readings = (measure != Measure::PowerFactor).then(|| unit.readings());
        out.changes.push(Change::Seen { id: id.clone() });
        if let Some(readings) = readings {
            out.changes.push(Change::Readings {
                id: id.clone(),
                readings,
            });
        }
        if let Some(ms) = period {
            out.changes.push(Change::Period { id, ms });
        }
        out
    }

    /// Nothing: NETIO has no request that makes it report; it publishes on
    /// its own timer and change events (a retained `state` may arrive at
    /// once on an ordinary broker).
    fn on_connected(&mut self, _now: u64) -> Vec<PublishRequest> {
        Vec::new()
    }

    /// The `ACTION` value on `<prefix>/<device>/output/<n>/action`: `1` on,
    /// `0` off, and for a power-cycle `2`, "short off": the device switches
    /// itself back on after its own short ON/OFF delay (set per output on
    /// the NETIO), so the cycle completes even if the page closes, and
    /// `off_ms` is not used. The tile waits for the off and the on report
    /// as usual; a device delay longer than `off_ms` plus the pending
    /// timeout shows as unconfirmed.
    fn action(&self, id: &str, index: u8, action: Action, _now: u64) -> Vec<TimedPublish> {
        if level_problem(id).is_some() || !(1..=MAX_OUTPUT).contains(&index) {
            return Vec::new();
        }
        let payload = match action {
            Action::On => "1",
            Action::Off => "0",
            Action::PowerCycle { .. } => "2",
        };
        vec![TimedPublish::now(PublishRequest::new(
            format!("{}/{id}/output/{index}/action", self.prefix),
            payload,
        ))]
    }
}

/// An output number, 1..=[`MAX_OUTPUT`], in plain digits.
fn output_index(n: &str) -> Option<u8> {
    if n.is_empty() || n.len() > 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u8>()
        .ok()
        .filter(|n| (1..=MAX_OUTPUT).contains(n))
}
