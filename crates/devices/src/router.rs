//! Dispatches messages to the adapters whose filters match, with the
//! codec's topic matcher.

use std::collections::HashSet;

use mqtt_codec::matches;

use crate::adapter::{Adapter, Output};
use crate::model::{Family, PublishRequest};

/// The adapters of one connection.
pub struct Router {
    adapters: Vec<Box<dyn Adapter>>,
    /// Each adapter's filters, asked once (not on every message), plus
    /// those it asked for since.
    filters: Vec<Filters>,
}

/// One adapter's filters, kept for a quick answer to "does it hear this
/// topic?": exact topics in a set, and each wildcard filter with its first
/// level (unless that is a wildcard) so most are passed over without
/// matching.
#[derive(Debug, Default)]
struct Filters {
    /// Every filter, in the order given.
    all: Vec<String>,
    exact: HashSet<String>,
    wild: Vec<(Option<String>, String)>,
}

impl Filters {
    fn new(filters: Vec<String>) -> Self {
        let mut this = Self::default();
        for filter in filters {
            this.add(filter);
        }
        this
    }

    fn contains(&self, filter: &str) -> bool {
        self.exact.contains(filter) || self.wild.iter().any(|(_, f)| f == filter)
    }

    /// Adds a filter unless it is there; whether it was new.
    fn add(&mut self, filter: String) -> bool {
        if self.contains(&filter) {
            return false;
        }
        if filter.contains(['+', '#']) {
            let first = filter.split('/').next().unwrap_or_default();
            let first = (!matches!(first, "+" | "#")).then(|| first.to_owned());
            self.wild.push((first, filter.clone()));
        } else {
            self.exact.insert(filter.clone());
        }
        self.all.push(filter);
        true
    }

    /// Whether a message on `topic` (whose first level is `first`) is for
    /// this adapter.
    fn hears(&self, topic: &str, first: &str) -> bool {
        self.exact.contains(topic)
            || self
                .wild
                .iter()
                .any(|(level, f)| level.as_deref().is_none_or(|l| l == first) && matches(f, topic))
    }
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
        let filters = adapters
            .iter()
            .map(|a| Filters::new(a.subscriptions()))
            .collect();
        Self { adapters, filters }
    }

    /// Every filter any adapter needs, each once, in adapter order.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        self.filters
            .iter()
            .flat_map(|f| &f.all)
            .filter(|f| seen.insert(f.as_str()))
            .cloned()
            .collect()
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
        let first = topic.split('/').next().unwrap_or_default();
        for (adapter, filters) in self.adapters.iter_mut().zip(&mut self.filters) {
            if filters.hears(topic, first) {
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
                self.filters[at] = Filters::new(filters);
            }
            None => {
                self.adapters.push(adapter);
                self.filters.push(Filters::new(filters));
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
fn adopt(filters: &mut Filters, output: &mut Output) {
    output
        .subscribe
        .retain(|f| filters.all.len() < MAX_EXTRA_FILTERS && filters.add(f.clone()));
}
