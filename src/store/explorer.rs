//! The explorer's state: per connection, a watch filter and what it let
//! through, kept in a topic tree and a message log (`crates/explorer`).
//! The page's views of them move at most once per animation frame and at
//! most [`EXPLORER_REFRESH_MS`] apart, so a flood on `#` costs the page one
//! tree and one log refresh a tenth of a second, not one per message.

use std::collections::HashMap;

use devices::{ConnectionId, Dashboard};
use explorer::{LogLimits, MessageLog, TopicFilter, TopicTree, TreeLimits};
use leptos::prelude::*;
use mqtt_client::{Publish, QoS, SubscribeFilter};

use super::AppState;
use crate::transport::now_ms;
use crate::transport::now_ms_f64;

/// The least time between two refreshes of the explorer's views: faster
/// than anyone reads, slow enough to cost little in a flood.
pub const EXPLORER_REFRESH_MS: f64 = 100.0;

/// What one connection's explorer watches and what it kept.
pub struct Watch {
    /// The filter subscribed to for it.
    pub filter: TopicFilter,
    /// Whether the watch added the subscription (not when the dashboard
    /// needs the same filter): only then does stopping remove it.
    added: bool,
    /// Every topic seen, with counts and the last messages.
    pub tree: TopicTree,
    /// The last messages, newest last.
    pub log: MessageLog,
}

/// The explorer's part of the app state.
#[derive(Clone, Copy)]
pub struct ExplorerState {
    watches: StoredValue<HashMap<ConnectionId, Watch>, LocalStorage>,
    /// Moves when the views of any watch may have changed.
    pub tick: RwSignal<u64>,
    /// A refresh is scheduled; the time of the last one.
    frame: StoredValue<(bool, f64)>,
}

impl ExplorerState {
    pub(super) fn new() -> Self {
        Self {
            watches: StoredValue::new_local(HashMap::new()),
            tick: RwSignal::new(0),
            frame: StoredValue::new((false, 0.0)),
        }
    }

    /// Keeps `publish` if `connection` watches its topic. The cheap path of
    /// every message: one map lookup when nothing is watched.
    pub(super) fn feed(self, connection: ConnectionId, publish: &Publish) {
        let kept = self
            .watches
            .try_update_value(|watches| {
                let watch = watches.get_mut(&connection)?;
                if !watch.filter.matches(&publish.topic) {
                    return None;
                }
                let now = now_ms();
                watch.tree.insert(publish, now);
                watch.log.push(publish, now);
                Some(())
            })
            .flatten()
            .is_some();
        if kept {
            self.refresh();
        }
    }

    /// Moves `tick` at the next animation frame at least
    /// [`EXPLORER_REFRESH_MS`] after the last move.
    pub fn refresh(self) {
        let scheduled = self
            .frame
            .try_update_value(|(scheduled, _)| std::mem::replace(scheduled, true))
            .unwrap_or(true);
        if !scheduled {
            request_animation_frame(move || self.on_frame());
        }
    }

    fn on_frame(self) {
        let now = now_ms_f64();
        let due = self
            .frame
            .with_value(|(_, last)| now - last >= EXPLORER_REFRESH_MS);
        if !due {
            request_animation_frame(move || self.on_frame());
            return;
        }
        self.frame.set_value((false, now));
        self.tick.update(|t| *t += 1);
    }

    /// Reads the watch of `connection`, if it has one.
    pub fn with<R>(self, connection: ConnectionId, f: impl FnOnce(&Watch) -> R) -> Option<R> {
        self.watches
            .try_with_value(|watches| watches.get(&connection).map(f))
            .flatten()
    }

    /// Changes the watch of `connection` (its log's pause, a clear), and
    /// refreshes the views.
    pub fn update<R>(self, connection: ConnectionId, f: impl FnOnce(&mut Watch) -> R) -> Option<R> {
        let result = self
            .watches
            .try_update_value(|watches| watches.get_mut(&connection).map(f))
            .flatten();
        self.refresh();
        result
    }

    /// The filter `connection` watches, if any.
    pub fn filter_of(self, connection: ConnectionId) -> Option<String> {
        self.with(connection, |w| w.filter.as_str().to_owned())
    }
}

impl AppState {
    /// Starts watching `filter` on `connection` (replacing an earlier
    /// watch): subscribes to it and keeps what arrives. An invalid filter
    /// is refused with the reason.
    pub fn watch(self, connection: ConnectionId, filter: &str) -> Result<(), String> {
        let filter = TopicFilter::new(filter.trim()).map_err(|err| err.to_string())?;
        self.unwatch(connection);
        let needed_by_devices = self.dashboards.with_value(|d| {
            d.get(&connection)
                .map(Dashboard::subscriptions)
                .unwrap_or_default()
                .iter()
                .any(|f| f == filter.as_str())
        });
        let subscription = SubscribeFilter::new(filter.as_str(), QoS::AtMostOnce);
        self.explorer.watches.update_value(|watches| {
            watches.insert(
                connection,
                Watch {
                    filter,
                    added: !needed_by_devices,
                    tree: TopicTree::new(TreeLimits::default()),
                    log: MessageLog::new(LogLimits::default()),
                },
            );
        });
        if !needed_by_devices {
            self.with_connections(|c| {
                c.subscribe_more(connections::ConnectionId(connection.0), vec![subscription])
            });
        }
        self.explorer.refresh();
        Ok(())
    }

    /// Stops watching on `connection` and forgets what was kept.
    pub fn unwatch(self, connection: ConnectionId) {
        let Some(watch) = self
            .explorer
            .watches
            .try_update_value(|watches| watches.remove(&connection))
            .flatten()
        else {
            return;
        };
        if watch.added {
            let filter = watch.filter.as_str().to_owned();
            self.with_connections(|c| {
                c.unsubscribe(connections::ConnectionId(connection.0), &[filter])
            });
        }
        self.explorer.refresh();
    }
}
