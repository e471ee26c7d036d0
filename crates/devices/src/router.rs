//! Dispatches messages to the adapters whose filters match, with the
//! codec's topic matcher.

use mqtt_codec::matches;

use crate::adapter::{Adapter, Output};
use crate::model::{Family, PublishRequest};

/// The adapters of one connection.
pub struct Router {
    adapters: Vec<Box<dyn Adapter>>,
    /// Each adapter's filters, asked once (not on every message).
    filters: Vec<Vec<String>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.adapters.iter().map(|a| a.family()))
            .finish()
    }
}

impl Router {
    /// A router over `adapters`.
    pub fn new(adapters: Vec<Box<dyn Adapter>>) -> Self {
        let filters = adapters.iter().map(|a| a.subscriptions()).collect();
        Self { adapters, filters }
    }

    /// Every filter any adapter needs, each once, in adapter order.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for filter in self.filters.iter().flatten() {
            if !all.contains(filter) {
                all.push(filter.clone());
            }
        }
        all
    }

    /// Hands a message to every adapter one of whose filters matches it.
    pub fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: u64,
    ) -> Vec<(Family, Output)> {
        self.adapters
            .iter_mut()
            .zip(&self.filters)
            .filter(|(_, filters)| filters.iter().any(|f| matches(f, topic)))
            .map(|(a, _)| (a.family(), a.handle(topic, payload, retained, now)))
            .collect()
    }

    /// The adapter of a family.
    pub fn adapter(&self, family: Family) -> Option<&dyn Adapter> {
        self.adapters
            .iter()
            .find(|a| a.family() == family)
            .map(|a| a.as_ref())
    }

    /// What every adapter publishes to have its devices announce
    /// themselves.
    pub fn on_connected(&mut self, now: u64) -> Vec<PublishRequest> {
        self.adapters
            .iter_mut()
            .flat_map(|a| a.on_connected(now))
            .collect()
    }

    /// The earliest adapter deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.adapters.iter().filter_map(|a| a.poll_timeout()).min()
    }

    /// Hands a passed deadline to every adapter that has one.
    pub fn handle_timeout(&mut self, now: u64) -> Vec<(Family, Output)> {
        self.adapters
            .iter_mut()
            .filter(|a| a.poll_timeout().is_some_and(|t| now >= t))
            .map(|a| (a.family(), a.handle_timeout(now)))
            .collect()
    }
}
