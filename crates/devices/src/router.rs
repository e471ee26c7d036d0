//! Dispatches messages to the adapters whose filters match, with the
//! codec's topic matcher.

use mqtt_codec::matches;

use crate::adapter::{Adapter, Output};
use crate::model::{Family, PublishRequest};

/// The adapters of one connection.
pub struct Router {
    adapters: Vec<Box<dyn Adapter>>,
    /// Each adapter's filters, asked once (not on every message), plus
    /// those it asked for since.
    filters: Vec<Vec<String>>,
}

/// Filters an adapter may add at run time, at most.
pub(crate) const MAX_EXTRA_FILTERS: usize = 4_000;

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
    /// Filters an adapter asks for in its output are routed to it from
    /// then on; the output keeps only those that are new to the router.
    pub fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: u64,
    ) -> Vec<(Family, Output)> {
        let mut outputs = Vec::new();
        for (adapter, filters) in self.adapters.iter_mut().zip(&mut self.filters) {
            if filters.iter().any(|f| matches(f, topic)) {
                let mut output = adapter.handle(topic, payload, retained, now);
                adopt(filters, &mut output);
                outputs.push((adapter.family(), output));
            }
        }
        outputs
    }

    /// Puts `adapter` in place of the one of its family (or adds it);
    /// returns the filters it needs that no adapter needed before.
    pub fn replace(&mut self, adapter: Box<dyn Adapter>) -> Vec<String> {
        let before = self.subscriptions();
        let filters = adapter.subscriptions();
        match self
            .adapters
            .iter()
            .position(|a| a.family() == adapter.family())
        {
            Some(at) => {
                self.adapters[at] = adapter;
                self.filters[at] = filters;
            }
            None => {
                self.adapters.push(adapter);
                self.filters.push(filters);
            }
        }
        self.subscriptions()
            .into_iter()
            .filter(|f| !before.contains(f))
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
        let mut outputs = Vec::new();
        for (adapter, filters) in self.adapters.iter_mut().zip(&mut self.filters) {
            if adapter.poll_timeout().is_some_and(|t| now >= t) {
                let mut output = adapter.handle_timeout(now);
                adopt(filters, &mut output);
                outputs.push((adapter.family(), output));
            }
        }
        outputs
    }
}

/// Takes the filters an output asks for into the adapter's list (bounded,
/// each once); the output keeps only the new ones.
fn adopt(filters: &mut Vec<String>, output: &mut Output) {
    output.subscribe.retain(|f| {
        let new = !filters.contains(f) && filters.len() < MAX_EXTRA_FILTERS;
        if new {
            filters.push(f.clone());
        }
        new
    });
}
