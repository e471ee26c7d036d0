//! Packet identifiers and what waits on each: an O(1) table indexed by id.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use mqtt_codec::{Publish, SubscribeFilter};

/// What a packet identifier is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    /// A QoS 1/2 PUBLISH not sent yet: offline, or held back by the
    /// server's Receive Maximum.
    Queued(Publish),
    /// QoS 1 PUBLISH sent; waiting for PUBACK.
    PubAck(Publish),
    /// QoS 2 PUBLISH sent; waiting for PUBREC.
    PubRec(Publish),
    /// QoS 2 PUBREL sent; waiting for PUBCOMP.
    PubComp,
    /// SUBSCRIBE sent; waiting for SUBACK.
    Subscribe(Vec<SubscribeFilter>),
    /// UNSUBSCRIBE sent; waiting for UNSUBACK.
    Unsubscribe(Vec<String>),
}

impl Pending {
    /// Counts toward the server's Receive Maximum: a QoS 1/2 PUBLISH sent
    /// and not yet completed (§4.9).
    pub(crate) fn in_flight(&self) -> bool {
        matches!(self, Self::PubAck(_) | Self::PubRec(_) | Self::PubComp)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// Order of first use: resends keep it (§4.6).
    seq: u64,
    pending: Pending,
}

/// Identifiers 1..=65535 with what each waits for. Released identifiers are
/// reused first, so the table stays as small as the peak number in use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inflight {
    slots: Vec<Option<Entry>>,
    free: Vec<u16>,
    seq: u64,
    /// Entries that count toward Receive Maximum, kept in step on every
    /// change so the flow-control check is O(1).
    in_flight: usize,
    /// Queued publishes in the order they were asked for.
    queue: VecDeque<u16>,
}

impl Inflight {
    /// Allocates an identifier for `pending`; `None` when all 65 535 are in
    /// use.
    pub(crate) fn allocate(&mut self, pending: Pending) -> Option<u16> {
        self.allocate_with(|_| pending)
    }

    /// Allocates an identifier for what `make` builds with it.
    pub(crate) fn allocate_with(&mut self, make: impl FnOnce(u16) -> Pending) -> Option<u16> {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                // Slot 0 is never used: identifier 0 is not allowed.
                let next = self.slots.len().max(1);
                let id = u16::try_from(next).ok()?;
                self.slots.resize(next + 1, None);
                id
            }
        };
        let pending = make(id);
        if matches!(pending, Pending::Queued(_)) {
            self.queue.push_back(id);
        }
        self.in_flight += usize::from(pending.in_flight());
        self.seq += 1;
        self.slots[usize::from(id)] = Some(Entry {
            seq: self.seq,
            pending,
        });
        Some(id)
    }

    pub(crate) fn get(&self, id: u16) -> Option<&Pending> {
        self.slots
            .get(usize::from(id))?
            .as_ref()
            .map(|e| &e.pending)
    }

    /// Replaces what `id` waits for; returns the old state.
    pub(crate) fn set(&mut self, id: u16, pending: Pending) -> Option<Pending> {
        let entry = self.slots.get_mut(usize::from(id))?.as_mut()?;
        self.in_flight += usize::from(pending.in_flight());
        let old = core::mem::replace(&mut entry.pending, pending);
        self.in_flight -= usize::from(old.in_flight());
        Some(old)
    }

    /// Releases `id`; returns what it waited for.
    pub(crate) fn remove(&mut self, id: u16) -> Option<Pending> {
        let entry = self.slots.get_mut(usize::from(id))?.take()?;
        self.in_flight -= usize::from(entry.pending.in_flight());
        self.free.push(id);
        if matches!(entry.pending, Pending::Queued(_)) {
            self.queue.retain(|&q| q != id);
        }
        Some(entry.pending)
    }

    /// The oldest queued publish's identifier, taken off the queue.
    pub(crate) fn pop_queued(&mut self) -> Option<u16> {
        self.queue.pop_front()
    }

    /// Puts identifiers back on the queue, in first-use order.
    pub(crate) fn requeue(&mut self, mut ids: Vec<u16>) {
        ids.sort_by_key(|&id| self.seq_of(id));
        for id in ids.into_iter().rev() {
            self.queue.push_front(id);
        }
    }

    fn seq_of(&self, id: u16) -> u64 {
        self.slots
            .get(usize::from(id))
            .and_then(Option::as_ref)
            .map_or(u64::MAX, |e| e.seq)
    }

    /// Identifiers in use, in first-use order.
    pub(crate) fn ids_in_order(&self) -> Vec<u16> {
        let mut ids: Vec<(u64, u16)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, e)| e.as_ref().map(|e| (e.seq, id as u16)))
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// How many QoS 1/2 publishes are sent and not yet completed.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// How many publishes wait to be sent.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_unique_nonzero_and_reused() {
        let mut t = Inflight::default();
        let a = t.allocate(Pending::PubComp).unwrap();
        let b = t.allocate(Pending::PubComp).unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(t.remove(a), Some(Pending::PubComp));
        assert_eq!(t.remove(a), None, "a released id is not in use");
        let c = t.allocate(Pending::PubComp).unwrap();
        assert_eq!(c, 1);
        assert_eq!(t.ids_in_order(), [2, 1]);
        assert_eq!(t.in_flight(), 2);
        t.set(2, Pending::Subscribe(Vec::new()));
        assert_eq!(t.in_flight(), 1);
    }

    #[test]
    fn all_65535_then_none() {
        let mut t = Inflight::default();
        for expected in 1..=u16::MAX {
            assert_eq!(t.allocate(Pending::PubComp), Some(expected));
        }
        assert_eq!(t.allocate(Pending::PubComp), None);
        t.remove(300);
        assert_eq!(t.allocate(Pending::PubComp), Some(300));
    }
}
