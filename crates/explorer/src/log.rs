//! The message log: the last messages received, newest first, in a ring
//! bounded by count and by bytes, with pause and filters.

use std::collections::VecDeque;
use std::sync::Arc;

use mqtt_codec::Publish;

use crate::filter::{TextMatch, TopicFilter};
use crate::message::Message;

/// How much of a payload a text filter searches, per entry.
const TEXT_SEARCH_BYTES: usize = 4096;

/// What a [`MessageLog`] keeps at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Entries kept; the oldest go first.
    pub max_entries: usize,
    /// Payload bytes kept of each entry; the rest is cut.
    pub max_payload_bytes: usize,
    /// Bytes kept over all entries (topic, payload and properties); the
    /// oldest go first.
    pub max_total_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_entries: 1000,
            max_payload_bytes: 64 << 10,
            max_total_bytes: 16 << 20,
        }
    }
}

/// One logged message: its topic and what is kept of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The topic it was published to.
    pub topic: Box<str>,
    /// The message; its `seq` numbers the log's entries.
    pub message: Message,
}

impl Entry {
    /// What the entry counts against [`LogLimits::max_total_bytes`].
    fn kept_bytes(&self) -> usize {
        self.topic.len() + self.message.kept_bytes()
    }
}

/// What narrows the log's view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// A topic filter the entry's topic must match.
    pub topic: Option<TopicFilter>,
    /// Text the topic or the payload's first 4 KiB must contain, ignoring
    /// case; empty for none.
    pub text: String,
}

impl LogFilter {
    fn matches(&self, entry: &Entry, text: &TextMatch) -> bool {
        if self
            .topic
            .as_ref()
            .is_some_and(|f| !f.matches(&entry.topic))
        {
            return false;
        }
        if text.is_empty() || text.matches(entry.topic.as_bytes()) {
            return true;
        }
        let payload = &entry.message.payload;
        text.matches(&payload[..payload.len().min(TEXT_SEARCH_BYTES)])
    }
}

/// What the page shows of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogView {
    /// Matching entries, newest first, at most the rows asked for.
    pub entries: Vec<Arc<Entry>>,
    /// Matching entries in the view, shown or not.
    pub matched: usize,
    /// Matching entries beyond those shown.
    pub more: usize,
    /// Messages received since the log was paused (0 when it is not),
    /// whether they are still kept or not.
    pub new_while_paused: u64,
}

/// The last messages received, with bounded memory.
///
/// Getters take `&self`; mutators ([`push`](Self::push),
/// [`pause`](Self::pause), [`resume`](Self::resume),
/// [`set_limits`](Self::set_limits), [`clear`](Self::clear)) move its
/// [`generation`](Self::generation), so a page recomputes its
/// [`view`](Self::view) only when that moved (or its filter did).
///
/// Pausing freezes the view, not the log: messages keep being logged (and
/// the oldest evicted, frozen ones included), the view shows the entries up
/// to the pause and counts those since, and resuming shows them all.
#[derive(Debug)]
pub struct MessageLog {
    limits: LogLimits,
    /// Oldest first.
    entries: VecDeque<Arc<Entry>>,
    /// Sum of the entries' kept bytes.
    bytes: usize,
    next_seq: u64,
    /// The first `seq` not shown while paused.
    paused_at: Option<u64>,
    generation: u64,
}

impl MessageLog {
    /// An empty log that keeps at most `limits`.
    pub fn new(limits: LogLimits) -> Self {
        Self {
            limits,
            entries: VecDeque::new(),
            bytes: 0,
            next_seq: 0,
            paused_at: None,
            generation: 0,
        }
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> LogLimits {
        self.limits
    }

    /// Changes on every call of a mutator.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes kept (topics, payloads, properties), at most
    /// [`LogLimits::max_total_bytes`].
    pub fn kept_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the view is frozen.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Logs `publish`, received at `now_ms`, evicting the oldest entries
    /// beyond the limits.
    pub fn push(&mut self, publish: &Publish, now_ms: u64) {
        let entry = Entry {
            topic: publish.topic.as_str().into(),
            message: Message::copy(
                publish,
                self.next_seq,
                now_ms,
                self.limits.max_payload_bytes,
            ),
        };
        self.next_seq += 1;
        self.bytes += entry.kept_bytes();
        self.entries.push_back(Arc::new(entry));
        self.trim();
        self.generation += 1;
    }

    /// Freezes the view at the entries logged so far. Pausing again keeps
    /// the first pause point.
    pub fn pause(&mut self) {
        self.paused_at.get_or_insert(self.next_seq);
        self.generation += 1;
    }

    /// Shows every entry again.
    pub fn resume(&mut self) {
        self.paused_at = None;
        self.generation += 1;
    }

    /// Keeps to `limits` from now on, evicting the oldest entries beyond
    /// them at once. Payloads already kept are not cut again.
    pub fn set_limits(&mut self, limits: LogLimits) {
        self.limits = limits;
        self.trim();
        self.generation += 1;
    }

    /// Forgets every entry. A paused log stays paused, with nothing to show
    /// from before.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        if self.paused_at.is_some() {
            self.paused_at = Some(self.next_seq);
        }
        self.generation += 1;
    }

    /// The entries that match `filter`, newest first, at most `max_rows`;
    /// while paused, only those logged before the pause.
    pub fn view(&self, filter: &LogFilter, max_rows: usize) -> LogView {
        let text = TextMatch::new(&filter.text);
        let shown_before = self.paused_at.unwrap_or(u64::MAX);
        let mut view = LogView {
            new_while_paused: self.paused_at.map_or(0, |at| self.next_seq - at),
            ..LogView::default()
        };
        let visible = self
            .entries
            .iter()
            .rev()
            .skip_while(|e| e.message.seq >= shown_before);
        for entry in visible.filter(|e| filter.matches(e, &text)) {
            view.matched += 1;
            if view.entries.len() < max_rows {
                view.entries.push(Arc::clone(entry));
            }
        }
        view.more = view.matched - view.entries.len();
        view
    }

    /// Evicts the oldest entries beyond the limits.
    fn trim(&mut self) {
        while self.entries.len() > self.limits.max_entries
            || self.bytes > self.limits.max_total_bytes
        {
            let Some(oldest) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= oldest.kept_bytes();
        }
    }
}

impl Default for MessageLog {
    fn default() -> Self {
        Self::new(LogLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FilterError;

    fn log_of(limits: LogLimits, messages: &[(&str, &str)]) -> MessageLog {
        let mut log = MessageLog::new(limits);
        for (i, (topic, payload)) in messages.iter().enumerate() {
            log.push(&Publish::new(*topic, payload.to_string()), i as u64);
        }
        log
    }

    /// The payloads shown, newest first.
    fn shown(view: &LogView) -> Vec<&str> {
        view.entries
            .iter()
            .map(|e| std::str::from_utf8(&e.message.payload).unwrap())
            .collect()
    }

    fn all(log: &MessageLog) -> LogView {
        log.view(&LogFilter::default(), 100)
    }

    fn numbered(n: usize) -> Vec<(&'static str, String)> {
        (0..n).map(|i| ("t", i.to_string())).collect()
    }

    fn push_numbered(log: &mut MessageLog, from: usize, to: usize) {
        for i in from..to {
            log.push(&Publish::new("t", i.to_string()), i as u64);
        }
    }

    #[test]
    fn entries_show_newest_first_with_their_details() {
        let mut publish = Publish::new("a/b", "on");
        publish.retain = true;
        publish.dup = true;
        publish.qos = mqtt_codec::QoS::AtLeastOnce;
        publish.packet_id = Some(7);
        let mut log = MessageLog::default();
        log.push(&Publish::new("x", "first"), 5);
        log.push(&publish, 9);
        let view = all(&log);
        assert_eq!(shown(&view), ["on", "first"]);
        let entry = &view.entries[0];
        assert_eq!(&*entry.topic, "a/b");
        let m = &entry.message;
        assert_eq!((m.seq, m.time_ms, m.retain, m.dup), (1, 9, true, true));
        assert_eq!(m.qos, mqtt_codec::QoS::AtLeastOnce);
        assert_eq!((view.matched, view.more), (2, 0));
    }

    #[test]
    fn the_ring_evicts_the_oldest_by_count() {
        let limits = LogLimits {
            max_entries: 3,
            ..LogLimits::default()
        };
        let mut log = MessageLog::new(limits);
        push_numbered(&mut log, 0, 5);
        assert_eq!(shown(&all(&log)), ["4", "3", "2"]);
        assert_eq!(log.len(), 3);
        // Numbering goes on.
        assert_eq!(all(&log).entries[0].message.seq, 4);
    }

    #[test]
    fn the_ring_evicts_the_oldest_by_bytes() {
        // Each entry: 1 byte of topic, 10 of payload.
        let limits = LogLimits {
            max_total_bytes: 25,
            ..LogLimits::default()
        };
        let log = log_of(
            limits,
            &[
                ("a", "0123456789"),
                ("b", "0123456789"),
                ("c", "0123456789"),
            ],
        );
        assert_eq!(log.len(), 2);
        assert_eq!(log.kept_bytes(), 22);
        // A cut payload counts what is kept.
        let limits = LogLimits {
            max_payload_bytes: 4,
            ..LogLimits::default()
        };
        let log = log_of(limits, &[("a", "0123456789")]);
        let entry = &all(&log).entries[0];
        assert_eq!(
            (&entry.message.payload[..], entry.message.payload_len),
            (&b"0123"[..], 10)
        );
        assert_eq!(log.kept_bytes(), 5);
    }

    #[test]
    fn set_limits_trims_at_once() {
        let mut log = MessageLog::default();
        push_numbered(&mut log, 0, 10);
        let generation = log.generation();
        log.set_limits(LogLimits {
            max_entries: 2,
            ..LogLimits::default()
        });
        assert_eq!(shown(&all(&log)), ["9", "8"]);
        assert!(log.generation() > generation);
        log.clear();
        assert!(log.is_empty());
        assert_eq!(log.kept_bytes(), 0);
    }

    #[test]
    fn pause_freezes_the_view_and_counts_what_arrives() {
        let mut log = MessageLog::default();
        push_numbered(&mut log, 0, 3);
        log.pause();
        push_numbered(&mut log, 3, 5);
        let view = all(&log);
        assert_eq!(shown(&view), ["2", "1", "0"]);
        assert_eq!(view.new_while_paused, 2);
        // Nothing is lost: resuming shows them.
        assert_eq!(log.len(), 5);
        log.pause();
        assert_eq!(all(&log).new_while_paused, 2);
        log.resume();
        let view = all(&log);
        assert_eq!(shown(&view), ["4", "3", "2", "1", "0"]);
        assert_eq!(view.new_while_paused, 0);
    }

    #[test]
    fn while_paused_the_ring_still_evicts() {
        let mut log = MessageLog::new(LogLimits {
            max_entries: 3,
            ..LogLimits::default()
        });
        push_numbered(&mut log, 0, 3);
        log.pause();
        push_numbered(&mut log, 3, 5);
        // Two frozen entries were evicted by the new ones.
        let view = all(&log);
        assert_eq!(shown(&view), ["2"]);
        assert_eq!(view.new_while_paused, 2);
        push_numbered(&mut log, 5, 10);
        let view = all(&log);
        assert!(view.entries.is_empty());
        assert_eq!(view.new_while_paused, 7);
        log.clear();
        assert_eq!(all(&log).new_while_paused, 0);
        assert!(log.is_paused());
    }

    #[test]
    fn filters_by_topic_and_text() {
        let log = log_of(
            LogLimits::default(),
            &[
                ("stat/plug1/POWER", "ON"),
                ("tele/plug1/STATE", "{\"Power\":\"off\"}"),
                ("stat/plug2/POWER", "OFF"),
                ("$SYS/broker/uptime", "12 s"),
            ],
        );
        let filtered = |topic: Option<&str>, text: &str| {
            let filter = LogFilter {
                topic: topic.map(|t| TopicFilter::new(t).unwrap()),
                text: text.into(),
            };
            let view = log.view(&filter, 100);
            shown(&view)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(filtered(Some("stat/+/POWER"), ""), ["OFF", "ON"]);
        assert_eq!(filtered(Some("#"), "").len(), 3);
        assert_eq!(filtered(Some("$SYS/#"), ""), ["12 s"]);
        // Text matches the topic or the payload, ignoring case.
        assert_eq!(filtered(None, "plug1"), ["{\"Power\":\"off\"}", "ON"]);
        assert_eq!(filtered(None, "off"), ["OFF", "{\"Power\":\"off\"}"]);
        assert_eq!(filtered(Some("stat/#"), "off"), ["OFF"]);
        assert!(filtered(None, "nothing").is_empty());
    }

    #[test]
    fn an_invalid_filter_is_refused_with_its_rule() {
        let error = TopicFilter::new("stat/#/POWER").unwrap_err();
        assert_eq!(error, FilterError::MultiLevel);
        assert!(error.to_string().contains("'#' must be the last level"));
    }

    #[test]
    fn max_rows_counts_the_rest() {
        let messages = numbered(10);
        let messages: Vec<(&str, &str)> = messages.iter().map(|(t, p)| (*t, p.as_str())).collect();
        let log = log_of(LogLimits::default(), &messages);
        let view = log.view(&LogFilter::default(), 3);
        assert_eq!(shown(&view), ["9", "8", "7"]);
        assert_eq!((view.matched, view.more), (10, 7));
    }

    #[test]
    fn the_log_keeps_no_received_buffer() {
        let buffer = bytes::Bytes::from(vec![1u8; 1000]);
        let mut log = MessageLog::default();
        log.push(&Publish::new("t", buffer.slice(10..20)), 0);
        let view = all(&log);
        let payload = &view.entries[0].message.payload;
        assert!(!buffer.as_ptr_range().contains(&payload.as_ptr()));
    }
}
