//! The command audit log in the page: what the user's commands published,
//! kept in `localStorage` (bounded by `explorer::AuditLog`), and settled
//! when the device confirms or the confirmation times out.

use devices::{Action, ConnectionId, DeviceKey, Power, PublishRequest};
use explorer::{AuditEntry, AuditLog, Outcome};
use leptos::prelude::*;

use super::AppState;

/// Where the log lives.
const KEY: &str = "plugboard.audit";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored log, and what the user must be told if it could not be read.
pub(super) fn load() -> (AuditLog, Option<String>) {
    let Some(text) = storage().and_then(|s| s.get_item(KEY).ok().flatten()) else {
        return (AuditLog::default(), None);
    };
    match AuditLog::from_json(&text) {
        Ok(log) => (log, None),
        Err(why) => (
            AuditLog::default(),
            Some(format!("The command log starts empty: {why}.")),
        ),
    }
}

/// What a device action is called in the log.
pub(super) fn action_name(action: Action) -> &'static str {
    match action {
        Action::On => "switch on",
        Action::Off => "switch off",
        Action::PowerCycle { .. } => "power-cycle",
        _ => "device action",
    }
}

fn power_name(power: Power) -> &'static str {
    match power {
        Power::On => "ON",
        Power::Off => "OFF",
    }
}

impl AppState {
    /// Records a command published (or not) on `connection`; returns its
    /// number.
    pub(super) fn audit(
        self,
        connection: ConnectionId,
        origin: &str,
        request: &PublishRequest,
        outcome: Outcome,
    ) -> u64 {
        let broker = self
            .profile_of(connection)
            .and_then(|id| self.saved(&id))
            .map(|p| p.name)
            .unwrap_or_default();
        let entry = AuditEntry {
            at_ms: js_sys::Date::now() as u64,
            broker,
            origin: origin.to_owned(),
            topic: request.topic.clone(),
            qos: request.qos as u8,
            retain: request.retain,
            outcome,
            ..AuditEntry::default()
        };
        let seq = self
            .audit
            .try_update(|log| log.record(entry, &request.payload))
            .unwrap_or_default();
        self.save_audit();
        seq
    }

    /// Records the publishes of a device action on one outlet, to be
    /// settled when the device confirms (or not).
    pub(super) fn audit_outlet(
        self,
        key: &DeviceKey,
        index: u8,
        action: Action,
        requests: &[PublishRequest],
        sent: Result<(), &str>,
    ) {
        for request in requests {
            let outcome = match sent {
                Ok(()) => Outcome::Pending,
                Err(why) => Outcome::Failed(why.to_owned()),
            };
            let seq = self.audit(key.connection, action_name(action), request, outcome);
            if sent.is_ok() {
                self.audit_waiting
                    .update_value(|w| w.push((seq, key.clone(), index)));
            }
        }
    }

    /// Settles the commands whose outlet is no longer waiting: confirmed,
    /// or not (the tile's error says why). Called each second.
    pub(super) fn settle_audit(self) {
        if self.audit_waiting.with_value(Vec::is_empty) {
            return;
        }
        let waiting = self.audit_waiting.get_value();
        let mut still = Vec::new();
        let mut settled = Vec::new();
        self.dashboards.with_value(|all| {
            for (seq, key, index) in waiting {
                let outlet = all
                    .get(&key.connection)
                    .and_then(|d| d.device(&key))
                    .and_then(|d| d.outlet(index));
                match outlet {
                    Some(o) if o.pending.is_some() => still.push((seq, key, index)),
                    Some(o) => settled.push((
                        seq,
                        match (&o.error, o.confirmed) {
                            (Some(why), _) => Outcome::NotConfirmed(why.clone()),
                            (None, Some(state)) => Outcome::Confirmed(power_name(state).into()),
                            (None, None) => Outcome::NotConfirmed("no state reported".into()),
                        },
                    )),
                    None => settled.push((seq, Outcome::NotConfirmed("the device is gone".into()))),
                }
            }
        });
        self.audit_waiting.set_value(still);
        if !settled.is_empty() {
            self.audit.update(|log| {
                for (seq, outcome) in settled {
                    log.settle(seq, outcome);
                }
            });
            self.save_audit();
        }
    }

    /// Forgets the log.
    pub fn clear_audit(self) {
        self.audit.update(AuditLog::clear);
        self.audit_waiting.set_value(Vec::new());
        self.save_audit();
    }

    fn save_audit(self) {
        let text = self.audit.with_untracked(AuditLog::to_json);
        if let Some(storage) = storage() {
            // A full storage loses the log's newest state, not the page.
            let _ = storage.set_item(KEY, &text);
        }
    }
}
