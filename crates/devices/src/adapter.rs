//! The seam every device ecosystem plugs into.

use crate::model::{Action, Family, Power, PublishRequest, Readings, TimedPublish};

/// What an adapter learned from a message, about one device (named by its
/// id within the adapter's family).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// The device exists: it gets a tile.
    Seen {
        /// Its id.
        id: String,
    },
    /// Its availability (last will, birth message, `online` topic).
    Online {
        /// Its id.
        id: String,
        /// Online or not.
        online: bool,
    },
    /// An outlet's state as the device reports it.
    Outlet {
        /// Its id.
        id: String,
        /// 1-based outlet number.
        index: u8,
        /// The reported state.
        power: Power,
    },
    /// Metering; values not given stay as they were.
    Readings {
        /// Its id.
        id: String,
        /// The new values.
        readings: Readings,
    },
    /// What the device calls itself.
    Named {
        /// Its id.
        id: String,
        /// The name to show.
        name: String,
    },
    /// What the device calls one of its outlets.
    OutletNamed {
        /// Its id.
        id: String,
        /// 1-based outlet number.
        index: u8,
        /// The name to show.
        name: String,
    },
    /// How often the device reports on its own: silence for a few periods
    /// makes it stale.
    Period {
        /// Its id.
        id: String,
        /// The period, in milliseconds.
        ms: u64,
    },
    /// Something the tile should say about the device (empty: nothing
    /// any more).
    Note {
        /// Its id.
        id: String,
        /// The sentence.
        note: String,
    },
    /// A binary sensor of the device (door, motion, …) reports.
    Flag {
        /// Its id.
        id: String,
        /// The sensor's name.
        name: String,
        /// Its class (`door`, `motion`, …), if it says.
        class: Option<String>,
        /// Its state.
        on: bool,
    },
    /// One outlet is gone (its discovery config was cleared).
    OutletRemoved {
        /// Its id.
        id: String,
        /// 1-based outlet number.
        index: u8,
    },
    /// The device is gone (its discovery config was cleared).
    Removed {
        /// Its id.
        id: String,
    },
    /// A retained message sits on one of its command topics (`present`),
    /// or was just cleared.
    RetainedCommand {
        /// Its id.
        id: String,
        /// The command topic.
        topic: String,
        /// Whether a retained message is there.
        present: bool,
    },
}

impl Change {
    /// The id of the device it is about.
    pub fn id(&self) -> &str {
        match self {
            Self::Seen { id }
            | Self::Online { id, .. }
            | Self::Outlet { id, .. }
            | Self::Readings { id, .. }
            | Self::Named { id, .. }
            | Self::OutletNamed { id, .. }
            | Self::Period { id, .. }
            | Self::Note { id, .. }
            | Self::Flag { id, .. }
            | Self::OutletRemoved { id, .. }
            | Self::Removed { id }
            | Self::RetainedCommand { id, .. } => id,
        }
    }
}

/// What an adapter makes of a message or a deadline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    /// Changes to devices.
    pub changes: Vec<Change>,
    /// Publishes to send in reaction (a state query for a new device, …).
    pub publish: Vec<PublishRequest>,
    /// Topic filters the adapter needs from now on, besides its
    /// [`Adapter::subscriptions`] (a state topic a discovery config named):
    /// the router routes them to it, and the connection subscribes to them.
    pub subscribe: Vec<String>,
}

/// One device ecosystem: its topics in, device changes out; a user's
/// action in, timed publishes out. Stateful (it may remember what it has
/// seen and when to ask again), sans-IO (time is passed in), and it never
/// sees another adapter or the router.
pub trait Adapter {
    /// The family of the devices it finds.
    fn family(&self) -> Family;

    /// Topic filters it needs to hear.
    fn subscriptions(&self) -> Vec<String>;

    /// A message on one of its filters.
    fn handle(&mut self, topic: &str, payload: &[u8], retained: bool, now: u64) -> Output;

    /// What to publish, and when, for `action` on outlet `index` of device
    /// `id`. An adapter whose devices cannot cycle themselves answers
    /// [`Action::PowerCycle`] with [`off_then_on`].
    fn action(&self, id: &str, index: u8, action: Action, now: u64) -> Vec<TimedPublish>;

    /// The connection is up and subscribed: what to publish so that devices
    /// announce themselves now, instead of relying on retained messages
    /// (which clustered brokers do not share across nodes).
    fn on_connected(&mut self, _now: u64) -> Vec<PublishRequest> {
        Vec::new()
    }

    /// When [`Adapter::handle_timeout`] must next be called, if ever.
    fn poll_timeout(&self) -> Option<u64> {
        None
    }

    /// A deadline from `poll_timeout` passed.
    fn handle_timeout(&mut self, _now: u64) -> Output {
        Output::default()
    }
}

/// A power-cycle as two commands: off now, on after `off_ms`.
pub fn off_then_on(
    adapter: &(impl Adapter + ?Sized),
    id: &str,
    index: u8,
    off_ms: u64,
    now: u64,
) -> Vec<TimedPublish> {
    let mut steps = adapter.action(id, index, Action::Off, now);
    steps.extend(
        adapter
            .action(id, index, Action::On, now)
            .into_iter()
            .map(|step| TimedPublish {
                after_ms: step.after_ms + off_ms,
                ..step
            }),
    );
    steps
}
