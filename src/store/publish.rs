//! Publishing by hand: the publish form's drafts, the recent ones, the
//! buttons saved with a profile, and clearing retained messages.

use connections::{save_publish, SavedFormat, SavedPublish, Status};
use devices::{ConnectionId, PublishRequest};
use explorer::{human_bytes, Draft, Outcome, PayloadFormat, Recent};
use leptos::prelude::*;
use mqtt_client::{Protocol, Publish, QoS};

use super::AppState;

/// The draft a saved button publishes.
pub fn draft_of(saved: &SavedPublish) -> Draft {
    Draft {
        topic: saved.topic.clone(),
        payload: saved.payload.clone(),
        format: match saved.format {
            SavedFormat::Text => PayloadFormat::Text,
            SavedFormat::Json => PayloadFormat::Json,
            SavedFormat::Hex => PayloadFormat::Hex,
        },
        qos: qos_of(saved.qos),
        retain: saved.retain,
        ..Draft::default()
    }
}

/// A draft saved as a button named `name` (its MQTT 5 properties are not
/// kept).
pub fn saved_of(name: &str, draft: &Draft) -> SavedPublish {
    SavedPublish {
        name: name.trim().to_owned(),
        topic: draft.topic.clone(),
        payload: draft.payload.clone(),
        format: match draft.format {
            PayloadFormat::Text => SavedFormat::Text,
            PayloadFormat::Json => SavedFormat::Json,
            PayloadFormat::Hex => SavedFormat::Hex,
        },
        qos: draft.qos as u8,
        retain: draft.retain,
    }
}

/// A QoS from its level (above 2 is 0).
pub(super) fn qos_of(level: u8) -> QoS {
    match level {
        1 => QoS::AtLeastOnce,
        2 => QoS::ExactlyOnce,
        _ => QoS::AtMostOnce,
    }
}

impl AppState {
    /// Whether `connection` speaks MQTT 5 now (`None`: not connected).
    pub fn speaks_mqtt5(self, connection: ConnectionId) -> Option<bool> {
        let id = self.profile_of(connection)?;
        self.statuses.with(|s| match s.get(&id)? {
            Status::Connected { protocol, .. } => Some(*protocol == Protocol::V5),
            _ => None,
        })
    }

    /// Publishes what the form (or a saved button: `origin`) says on
    /// `connection`; says what was sent, or why not.
    pub fn publish_draft(
        self,
        connection: ConnectionId,
        draft: &Draft,
        origin: &str,
    ) -> Result<String, String> {
        let mqtt5 = self
            .speaks_mqtt5(connection)
            .ok_or("Not published: not connected to the broker.")?;
        let publish = draft.build(mqtt5).map_err(|err| err.to_string())?;
        let summary = format!(
            "Published {} to {}{}.",
            human_bytes(publish.payload.len() as u64),
            publish.topic,
            if publish.retain { ", retained" } else { "" }
        );
        let alias = if draft.topic_alias_off {
            connections::TopicAlias::Off
        } else {
            connections::TopicAlias::Auto
        };
        self.publish_logged(connection, publish, origin, alias)?;
        self.recent.update(|recent| recent.push(draft.clone()));
        Ok(summary)
    }

    /// Publishes and records it in the audit log.
    fn publish_logged(
        self,
        connection: ConnectionId,
        publish: Publish,
        origin: &str,
        alias: connections::TopicAlias,
    ) -> Result<(), String> {
        let request = PublishRequest {
            topic: publish.topic.clone(),
            payload: publish.payload.to_vec(),
            qos: publish.qos,
            retain: publish.retain,
        };
        let result = self
            .with_connections(|c| {
                c.publish_with(connections::ConnectionId(connection.0), publish, alias)
            })
            .ok_or_else(|| "not connected to the broker".to_owned())
            .and_then(|r| r.map(|_| ()).map_err(|err| err.to_string()));
        let outcome = match &result {
            Ok(()) => Outcome::Sent,
            Err(why) => Outcome::Failed(why.clone()),
        };
        self.audit(connection, origin, &request, outcome);
        result.map_err(|why| format!("Not published: {why}."))
    }

    /// The buttons saved with `connection`'s profile.
    pub fn saved_publishes(self, connection: ConnectionId) -> Vec<SavedPublish> {
        let Some(id) = self.profile_of(connection) else {
            return Vec::new();
        };
        self.profiles.with(|ps| {
            ps.iter()
                .find(|p| p.id == id)
                .map(|p| p.saved_publishes.clone())
                .unwrap_or_default()
        })
    }

    /// Saves `draft` as a button named `name` with `connection`'s profile
    /// (replacing one of that name).
    pub fn save_button(
        self,
        connection: ConnectionId,
        name: &str,
        draft: &Draft,
    ) -> Result<(), String> {
        if draft.has_properties() {
            // Not kept: say so rather than drop them silently.
            draft.build(true).map_err(|e| e.to_string())?;
        } else {
            draft.build(false).map_err(|e| e.to_string())?;
        }
        let id = self
            .profile_of(connection)
            .ok_or("Not saved: this connection has no saved profile.")?;
        let mut profile = self
            .saved(&id)
            .ok_or("Not saved: this connection has no saved profile.")?;
        save_publish(&mut profile.saved_publishes, saved_of(name, draft))
            .map_err(|err| format!("Not saved: {err}."))?;
        if self.save_profile(profile) {
            Ok(())
        } else {
            Err("Not saved: the browser refused to store it.".into())
        }
    }

    /// Removes the button `name` from `connection`'s profile.
    pub fn remove_button(self, connection: ConnectionId, name: &str) {
        let Some(mut profile) = self.profile_of(connection).and_then(|id| self.saved(&id)) else {
            return;
        };
        profile.saved_publishes.retain(|s| s.name != name);
        self.save_profile(profile);
    }

    /// The topics with a retained message at or below `under` (all for
    /// `None`) in `connection`'s explorer.
    pub fn retained_under(self, connection: ConnectionId, under: Option<&str>) -> Vec<String> {
        self.explorer
            .with(connection, |w| w.tree.retained_topics(under))
            .unwrap_or_default()
    }

    /// Clears the retained messages of `topics` (an empty retained message
    /// to each); returns how many were sent.
    pub fn clear_retained_topics(
        self,
        connection: ConnectionId,
        topics: &[String],
    ) -> Result<usize, String> {
        let mut sent = 0;
        for topic in topics {
            let mut publish = Publish::new(topic.clone(), Vec::new());
            publish.retain = true;
            self.publish_logged(
                connection,
                publish,
                "clear retained",
                connections::TopicAlias::Auto,
            )?;
            // The broker passes the clearing on without its retain flag to
            // subscribers that did not ask for it as published: mark it here.
            self.explorer
                .update(connection, |w| w.tree.forget_retained(topic));
            sent += 1;
        }
        Ok(sent)
    }
}

/// The recent drafts, for the form.
pub(super) fn new_recent() -> RwSignal<Recent> {
    RwSignal::new(Recent::default())
}
