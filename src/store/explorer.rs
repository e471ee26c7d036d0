//! The explorer's state: per connection, a watch filter and what it let
//! through, kept in a topic tree and a message log (`crates/explorer`).
//! The page's views of them move at most once per animation frame, at most
//! ten times a second, and less when a refresh costs more (a
//! [`RefreshPacer`] keeps refreshing to a tenth of the page's time), so a
//! flood on `#` costs the page a few refreshes a second, not one per
//! message.

use std::collections::HashMap;

use devices::{ConnectionId, Dashboard};
use explorer::{LogLimits, MessageLog, RefreshPacer, TopicFilter, TopicTree, TreeLimits};
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use mqtt_client::{Publish, QoS, SubscribeFilter};

use super::AppState;
use crate::transport::now_ms;
use crate::transport::now_ms_f64;

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
    /// A refresh is scheduled; when the next may run.
    frame: StoredValue<(bool, RefreshPacer)>,
    /// The wait for the next refresh the pacer allows.
    timer: StoredValue<Option<Timeout>, LocalStorage>,
}

impl ExplorerState {
    pub(super) fn new() -> Self {
        Self {
            watches: StoredValue::new_local(HashMap::new()),
            tick: RwSignal::new(0),
            frame: StoredValue::new((false, RefreshPacer::new())),
            timer: StoredValue::new_local(None),
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

    /// Moves `tick` at the first animation frame the pacer allows.
    pub fn refresh(self) {
        let now = now_ms_f64();
        let wait = self
            .frame
            .try_update_value(|(scheduled, pacer)| {
                (!std::mem::replace(scheduled, true)).then(|| pacer.wait_ms(now))
            })
            .flatten();
        match wait {
            None => {}
            Some(wait) if wait <= 0.0 => request_animation_frame(move || self.on_frame()),
            Some(wait) => {
                let timer = Timeout::new(wait.ceil() as u32, move || {
                    request_animation_frame(move || self.on_frame())
                });
                self.timer.set_value(Some(timer));
            }
        }
    }

    fn on_frame(self) {
        let now = now_ms_f64();
        self.frame.update_value(|(scheduled, pacer)| {
            *scheduled = false;
            pacer.started(now);
        });
        self.tick.update(|t| *t += 1);
        // The views' effects run as tasks queued by the tick; this one,
        // queued after them, sees what the refresh cost.
        leptos::task::spawn_local(async move {
            let cost = now_ms_f64() - now;
            self.frame.update_value(|(_, pacer)| pacer.record(cost));
        });
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
