//! The local command audit log: every command the page published (a
//! toggle, a power action, the publish form, a saved button, clearing
//! retained messages), when, to which broker, the topic and payload, and
//! what came of it — for device commands, whether the device confirmed.
//!
//! Bounded ([`AuditLog::MAX_ENTRIES`], payloads cut to
//! [`AuditLog::MAX_PAYLOAD_CHARS`]), kept by the page as JSON (tolerant on
//! reading: a damaged or foreign document gives an empty log and a
//! reason), exported as CSV that spreadsheets open safely.

use std::collections::VecDeque;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// What came of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Handed to the connection; nothing confirms this kind of command.
    Sent,
    /// Waiting for the device to confirm.
    Pending,
    /// The device reported the state asked for (its name, e.g. `ON`).
    Confirmed(String),
    /// The device did not confirm: why (a timeout, another state).
    NotConfirmed(String),
    /// Not sent: why.
    Failed(String),
}

impl Outcome {
    /// Plain words for a table or a CSV cell.
    pub fn describe(&self) -> String {
        match self {
            Self::Sent => "sent".into(),
            Self::Pending => "waiting for the device".into(),
            Self::Confirmed(state) => format!("confirmed {state}"),
            Self::NotConfirmed(why) => format!("not confirmed: {why}"),
            Self::Failed(why) => format!("not sent: {why}"),
        }
    }
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditEntry {
    /// Number in the log, increasing: the key to settle it by.
    pub seq: u64,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// The broker's name (its profile's).
    pub broker: String,
    /// What asked for it: "toggle", "power-cycle", "publish form", "button
    /// Kettle", "clear retained", ….
    pub origin: String,
    /// The topic published to.
    pub topic: String,
    /// The payload as text (lossy), cut to
    /// [`AuditLog::MAX_PAYLOAD_CHARS`] characters.
    pub payload: String,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Whether it was published retained.
    pub retain: bool,
    /// What came of it.
    pub outcome: Outcome,
}

impl Default for AuditEntry {
    fn default() -> Self {
        Self {
            seq: 0,
            at_ms: 0,
            broker: String::new(),
            origin: String::new(),
            topic: String::new(),
            payload: String::new(),
            qos: 0,
            retain: false,
            outcome: Outcome::Sent,
        }
    }
}

/// The commands, oldest first, at most [`AuditLog::MAX_ENTRIES`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLog {
    entries: VecDeque<AuditEntry>,
    next_seq: u64,
}

/// The JSON document the page keeps.
#[derive(Serialize, Deserialize)]
struct Document {
    schema: u32,
    log: AuditLog,
}

impl AuditLog {
    /// Entries kept; the oldest go first.
    pub const MAX_ENTRIES: usize = 500;
    /// Characters of a payload kept.
    pub const MAX_PAYLOAD_CHARS: usize = 200;
    /// Largest document [`AuditLog::from_json`] reads.
    pub const MAX_DOCUMENT: usize = 1 << 20;
    const SCHEMA: u32 = 1;

    /// Records a command; returns its `seq` for [`AuditLog::settle`].
    /// `payload` is cut; the oldest entry goes beyond the cap.
    pub fn record(&mut self, mut entry: AuditEntry, payload: &[u8]) -> u64 {
        let text = String::from_utf8_lossy(payload);
        let mut cut: String = text.chars().take(Self::MAX_PAYLOAD_CHARS).collect();
        if text.chars().nth(Self::MAX_PAYLOAD_CHARS).is_some() {
            cut.push('…');
        }
        entry.payload = cut;
        entry.seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push_back(entry);
        while self.entries.len() > Self::MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.next_seq - 1
    }

    /// Sets what came of command `seq`; false if it is no longer kept.
    pub fn settle(&mut self, seq: u64, outcome: Outcome) -> bool {
        match self.entries.iter_mut().rev().find(|e| e.seq == seq) {
            Some(entry) => {
                entry.outcome = outcome;
                true
            }
            None => false,
        }
    }

    /// The entries, newest first.
    pub fn newest_first(&self) -> impl ExactSizeIterator<Item = &AuditEntry> {
        self.entries.iter().rev()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry (numbering goes on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The log as CSV (RFC 4180, oldest first, a header row): time (UTC,
    /// ISO 8601), broker, origin, topic, payload, QoS, retain, outcome.
    /// A cell that a spreadsheet would run as a formula (starting with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("time,broker,origin,topic,payload,qos,retain,outcome\r\n");
        for e in &self.entries {
            let cells = [
                iso_time(e.at_ms),
                e.broker.clone(),
                e.origin.clone(),
                e.topic.clone(),
                e.payload.clone(),
                e.qos.to_string(),
                e.retain.to_string(),
                e.outcome.describe(),
            ];
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    csv.push(',');
                }
                push_cell(&mut csv, cell);
            }
            csv.push_str("\r\n");
        }
        csv
    }

    /// The document the page stores.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Document {
            schema: Self::SCHEMA,
            log: self.clone(),
        })
        .unwrap_or_default()
    }

    /// Reads a stored document. A damaged, foreign, oversized or newer one
    /// is refused with the reason (the caller starts an empty log); what is
    /// read is bounded as [`AuditLog::record`] bounds it.
    pub fn from_json(text: &str) -> Result<Self, String> {
        if text.len() > Self::MAX_DOCUMENT {
            return Err(format!(
                "the stored command log is larger than {} KB",
                Self::MAX_DOCUMENT >> 10
            ));
        }
        let document: Document = serde_json::from_str(text)
            .map_err(|e| format!("the stored command log cannot be read ({e})"))?;
        if document.schema > Self::SCHEMA {
            return Err("the stored command log is from a newer version".into());
        }
        let mut log = document.log;
        while log.entries.len() > Self::MAX_ENTRIES {
            log.entries.pop_front();
        }
        for entry in &mut log.entries {
            if entry.payload.chars().count() > Self::MAX_PAYLOAD_CHARS + 1 {
                entry.payload = entry
                    .payload
                    .chars()
                    .take(Self::MAX_PAYLOAD_CHARS)
                    .collect();
                entry.payload.push('…');
            }
        }
        let next = log.entries.back().map_or(0, |e| e.seq + 1);
        log.next_seq = log.next_seq.max(next);
        Ok(log)
    }
}

/// Appends `cell` quoted as RFC 4180 asks, guarded against formulas.
fn push_cell(csv: &mut String, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\n', '\r']);
    if quote {
        csv.push('"');
    }
    if formula {
        csv.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            csv.push('"');
        }
        csv.push(c);
    }
    if quote {
        csv.push('"');
    }
}

/// `2026-11-26T06:18:15.000Z` for ms since the epoch.
fn iso_time(ms: u64) -> String {
    let days = ms / 86_400_000;
    let rest = ms % 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's method).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = String::new();
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1_000 % 60,
        rest % 1_000
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toggle(topic: &str) -> AuditEntry {
        AuditEntry {
            at_ms: 1_795_674_304_123,
            broker: "home".into(),
            origin: "toggle".into(),
            topic: topic.into(),
            outcome: Outcome::Pending,
            ..AuditEntry::default()
        }
    }

    #[test]
    fn a_command_is_recorded_then_settled() {
        let mut log = AuditLog::default();
        let seq = log.record(toggle("cmnd/plug1/POWER"), b"ON");
        assert!(log.settle(seq, Outcome::Confirmed("ON".into())));
        let entry = log.newest_first().next().unwrap();
        assert_eq!(entry.payload, "ON");
        assert_eq!(entry.outcome.describe(), "confirmed ON");
        assert!(!log.settle(seq + 1, Outcome::Sent), "no such entry");
    }

    #[test]
    fn the_log_is_bounded_and_payloads_cut() {
        let mut log = AuditLog::default();
        for i in 0..AuditLog::MAX_ENTRIES + 10 {
            log.record(toggle(&format!("t/{i}")), &[b'x'; 1000]);
        }
        assert_eq!(log.len(), AuditLog::MAX_ENTRIES);
        let newest = log.newest_first().next().unwrap();
        assert_eq!(newest.topic, format!("t/{}", AuditLog::MAX_ENTRIES + 9));
        assert_eq!(
            newest.payload.chars().count(),
            AuditLog::MAX_PAYLOAD_CHARS + 1
        );
        assert!(newest.payload.ends_with('…'));
        // The oldest went, and cannot be settled.
        assert!(!log.settle(0, Outcome::Sent));
        // Binary payloads become text without failing.
        log.record(toggle("bin"), &[0xff, 0xfe, b'a']);
        assert_eq!(
            log.newest_first().next().unwrap().payload,
            "\u{fffd}\u{fffd}a"
        );
    }

    #[test]
    fn csv_quotes_what_it_must_and_defuses_formulas() {
        let mut log = AuditLog::default();
        let seq = log.record(
            AuditEntry {
                broker: "my, broker".into(),
                ..toggle("cmnd/\"q\"/POWER")
            },
            b"=HYPERLINK(\"x\")",
        );
        log.settle(seq, Outcome::NotConfirmed("no answer in 10 s".into()));
        log.record(toggle("a/b"), b"-1\nnext");
        let csv = log.to_csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "time,broker,origin,topic,payload,qos,retain,outcome"
        );
        assert_eq!(
            lines[1],
            "2026-11-26T06:25:04.123Z,\"my, broker\",toggle,\"cmnd/\"\"q\"\"/POWER\",\
             \"'=HYPERLINK(\"\"x\"\")\",0,false,not confirmed: no answer in 10 s"
        );
        assert_eq!(
            lines[2],
            "2026-11-26T06:25:04.123Z,home,toggle,a/b,\"'-1\nnext\",0,false,waiting for the device"
        );
    }

    #[test]
    fn iso_times_are_right_across_dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_795_674_304_123), "2026-11-26T06:25:04.123Z");
        assert_eq!(iso_time(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn json_round_trips_and_bad_documents_are_refused_with_a_reason() {
        let mut log = AuditLog::default();
        let seq = log.record(toggle("cmnd/plug1/POWER"), b"ON");
        log.settle(seq, Outcome::Failed("not connected".into()));
        let back = AuditLog::from_json(&log.to_json()).unwrap();
        assert_eq!(back, log);
        // Numbering goes on after a reload.
        let mut back = back;
        assert_eq!(back.record(toggle("x"), b""), seq + 1);

        assert!(AuditLog::from_json("{")
            .unwrap_err()
            .contains("cannot be read"));
        assert!(
            AuditLog::from_json(r#"{"schema":9,"log":{"entries":[],"next_seq":0}}"#)
                .unwrap_err()
                .contains("newer")
        );
        let huge = "x".repeat(AuditLog::MAX_DOCUMENT + 1);
        assert!(AuditLog::from_json(&huge).unwrap_err().contains("larger"));
    }

    #[test]
    fn a_stored_document_is_bounded_on_reading() {
        let mut entries = Vec::new();
        for i in 0..AuditLog::MAX_ENTRIES + 5 {
            entries.push(AuditEntry {
                seq: i as u64,
                payload: "y".repeat(AuditLog::MAX_PAYLOAD_CHARS * 3),
                ..toggle("t")
            });
        }
        let doc = serde_json::json!({ "schema": 1, "log": { "entries": entries, "next_seq": 0 } });
        let log = AuditLog::from_json(&doc.to_string()).unwrap();
        assert_eq!(log.len(), AuditLog::MAX_ENTRIES);
        assert!(log
            .newest_first()
            .all(|e| e.payload.chars().count() == AuditLog::MAX_PAYLOAD_CHARS + 1));
        let mut log = log;
        assert_eq!(
            log.record(toggle("next"), b""),
            AuditLog::MAX_ENTRIES as u64 + 5
        );
    }
}
