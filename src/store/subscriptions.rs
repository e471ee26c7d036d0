//! The subscriptions manager's side of the state: every filter of a
//! connection, whose it is and how the broker answered; the user's own
//! filters added and removed live (and kept with the profile).

use devices::{ConnectionId, Dashboard};
use explorer::TopicFilter;
use leptos::prelude::*;
use mqtt_client::{QoS, SubscribeFilter};

use super::AppState;

/// Who wants a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A device convention (Tasmota, Shelly, …).
    Devices,
    /// The explorer's watch.
    Watch,
    /// The user, here or in the connection's settings.
    User,
}

/// One filter of a connection, as the manager shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// The filter and its options.
    pub filter: SubscribeFilter,
    /// Who wants it.
    pub owner: Owner,
    /// What the broker did with it, in words.
    pub state: String,
    /// Whether the broker refused it.
    pub refused: bool,
}

impl AppState {
    /// Every filter of `connection`, devices' first. Reads the statuses, so
    /// a view of it follows SUBACKs.
    pub fn subscription_rows(self, connection: ConnectionId) -> Vec<SubscriptionRow> {
        let status = self
            .profile_of(connection)
            .and_then(|id| self.statuses.with(|s| s.get(&id).cloned()));
        let confirmed = status.as_ref().is_some_and(connections::Status::is_ready);
        let devices = self
            .dashboards
            .with_value(|d| d.get(&connection).map(Dashboard::subscriptions))
            .unwrap_or_default();
        let watched = self.explorer.filter_of(connection);
        let all = self
            .with_connections(|c| c.subscriptions(connections::ConnectionId(connection.0)))
            .unwrap_or_default();
        let mut rows: Vec<SubscriptionRow> = all
            .into_iter()
            .map(|(filter, asked, refused)| {
                let owner = if watched.as_deref() == Some(filter.filter.as_str()) {
                    Owner::Watch
                } else if devices.contains(&filter.filter) {
                    Owner::Devices
                } else {
                    Owner::User
                };
                let state = match (refused, asked, confirmed) {
                    (Some(code), _, _) => format!("refused: {}", code.description()),
                    (None, false, _) => "covered by another filter".into(),
                    (None, true, true) => "subscribed".into(),
                    (None, true, false) => "waiting for the broker".into(),
                };
                SubscriptionRow {
                    refused: refused.is_some(),
                    filter,
                    owner,
                    state,
                }
            })
            .collect();
        rows.sort_by_key(|r| match r.owner {
            Owner::Devices => 0,
            Owner::Watch => 1,
            Owner::User => 2,
        });
        rows
    }

    /// Subscribes `connection` to the user's `filter` now, and keeps it,
    /// with its options, with the profile.
    pub fn subscribe_user(
        self,
        connection: ConnectionId,
        filter: SubscribeFilter,
    ) -> Result<(), String> {
        let checked =
            TopicFilter::new(filter.filter.trim()).map_err(|e| format!("Not subscribed: {e}."))?;
        let filter = SubscribeFilter {
            filter: checked.as_str().to_owned(),
            ..filter
        };
        if self
            .with_connections(|c| c.subscriptions(connections::ConnectionId(connection.0)))
            .unwrap_or_default()
            .iter()
            .any(|(f, _, _)| f.filter == filter.filter)
        {
            return Err(format!("Already subscribed to {}.", filter.filter));
        }
        let kept = connections::Subscription::from(&filter);
        self.with_connections(|c| {
            c.subscribe_more(connections::ConnectionId(connection.0), vec![filter])
        })
        .ok_or("Not subscribed: not connected to the broker.")?;
        if let Some(mut profile) = self.profile_of(connection).and_then(|id| self.saved(&id)) {
            profile.subscriptions.retain(|s| s.filter != kept.filter);
            profile.subscriptions.push(kept);
            self.save_profile(profile);
        }
        // The new row shows at once (its SUBACK changes the status later).
        self.statuses.update(|_| {});
        Ok(())
    }

    /// Unsubscribes `connection` from the user's `filter` and forgets it.
    pub fn unsubscribe_user(self, connection: ConnectionId, filter: &str) {
        let filters = [filter.to_owned()];
        self.with_connections(|c| c.unsubscribe(connections::ConnectionId(connection.0), &filters));
        if let Some(mut profile) = self.profile_of(connection).and_then(|id| self.saved(&id)) {
            profile.subscriptions.retain(|s| s.filter != filter);
            self.save_profile(profile);
        }
        self.statuses.update(|_| {});
    }
}

/// A QoS from a form's value ("0", "1", "2"; anything else is 0).
pub fn qos_from(value: &str) -> QoS {
    super::publish::qos_of(value.trim().parse().unwrap_or(0))
}
