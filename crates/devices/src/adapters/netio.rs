//! Placeholder: being written.

use crate::adapter::{Adapter, Output};
use crate::model::{Action, Family, TimedPublish};

/// The adapter.
#[derive(Debug, Default)]
pub(crate) struct Netio;

impl Adapter for Netio {
    fn family(&self) -> Family {
        Family::Netio
    }

    fn subscriptions(&self) -> Vec<String> {
        Vec::new()
    }

    fn handle(&mut self, _topic: &str, _payload: &[u8], _retained: bool, _now: u64) -> Output {
        Output::default()
    }

    fn action(&self, _id: &str, _index: u8, _action: Action, _now: u64) -> Vec<TimedPublish> {
        Vec::new()
    }
}
