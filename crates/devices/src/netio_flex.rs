//! NETIO MQTT-flex configuration: generated for the dashboard's topic
//! scheme, and validated before it is offered or pasted into a device.
//!
//! MQTT-flex has no fixed topics: the user pastes a JSON configuration into
//! the NETIO web UI (M2M API Protocols → MQTT-flex). NETIO's wiki warns
//! that the device's own validation "is not 100%" and that "some specific
//! typos can cause a freeze of a device" [NE-WIKI], hence [`validate`].
//! Sources, as collected in the conventions reference §C5 (and DESIGN §4):
//! - structure `{"config":{"broker":{…},"subscribe":[…],"publish":[…]}}`,
//!   the broker's `url`, `protocol`, `port`, `ssl`, `type`, `username`,
//!   `password`, `clientid`, `keepalive`; `clientid` up to 128 characters
//!   (FW 3.2.4), `username` 128, `password` 256 [NE-WIKI];
//! - a subscription's `target` `OUTPUTS/<n>/ACTION` with `"action":
//!   "${payload}"`, or `REST_JSON` (PyNetioConf example); `ACTION` values
//!   `0` off, `1` on, `2` short off, `3` short on, `4` toggle, `5` no
//!   change [NE-MAN];
//! - a publication's `events`: `change` (`source`), `timer` (`period`,
//!   seconds), `delta` (`source`, `delta`) [NE-WIKI], [NE-HA];
//! - the variables `${DEVICE_NAME}`, `${DEVICE_MAC}`, `${DEVICE_SN}`,
//!   `${payload}`, `${OUTPUTS/<n>/<STATE|ACTION|DELAY|NAME|VOLTAGE|CURRENT|
//!   POWER_FACTOR|LOAD|FREQUENCY|ENERGY|REVERSE_ENERGY|ENERGY_NR|
//!   REVERSE_ENERGY_NR|ENERGY_START|ENERGY_START_FMT>}`,
//!   `${OUTPUTS/TOTAL/…}` (the measured ones), `${UTC_TIME}` (FW 4.0),
//!   `${OUTPUTS_STATUS}`, `${INPUTS_STATUS}`, `${INOUT_STATUS}`;
//! - units: LOAD W, CURRENT mA, VOLTAGE V, ENERGY Wh [NE-JSON], [NE-HA].
//!
//! [`generate`] writes the common scheme the dashboard's NETIO adapter
//! reads, for each output `n`:
//! - subscribe `<prefix>/${DEVICE_NAME}/output/<n>/action` → `OUTPUTS/<n>/ACTION`;
//! - publish `<prefix>/${DEVICE_NAME}/output/<n>/state` (on change and on
//!   the timer, **retained**), and `…/load` (timer, and a `delta` event
//!   when [`FlexOptions::load_delta_w`] is not 0), `…/current`,
//!   `…/voltage`, `…/energy`, `…/power_factor` (timer), not retained.
//!
//! Choices:
//! - Topics use the variable `${DEVICE_NAME}`, not the name typed in the
//!   form: the device substitutes its own configured name, so one
//!   configuration serves every NETIO of the same model, and the tile is
//!   named as the device is. [`FlexOptions::device_name`] is that name, as
//!   the user reads it on the device: it is checked to be one usable topic
//!   level and [`FlexSummary::published_for`] expands the topics with it.
//! - `state` is retained so that a dashboard opened later sees the outlets
//!   at once on an ordinary broker; it is a report, not a command, so it
//!   cannot cause "ghost switching". Clustered brokers do not share
//!   retained messages (DESIGN §4), so `state` is also published on the
//!   timer. Measurements are not retained: an old load shown as the
//!   current one would mislead, and the timer brings a fresh one.
//! - The password is never written: with a username, the generated
//!   configuration has [`PASSWORD_PLACEHOLDER`], which the user replaces on
//!   the device ([`validate`] warns while it is there).
//! - `broker_port` is the broker's MQTT (TCP) port the NETIO connects to,
//!   not the WebSocket port the dashboard uses.
//! - The dashboard reads the prefix `netio`; another prefix generates a
//!   valid configuration the dashboard does not read yet.

use std::fmt;

use serde_json::{Map, Value};

use crate::model::MAX_ID_LEN;

/// The topic prefix of the common scheme.
pub const DEFAULT_PREFIX: &str = "netio";

/// Longest configuration [`validate`] reads, in bytes.
pub const MAX_CONFIG_LEN: usize = 64 * 1024;

/// Most outputs a NETIO has (PowerPDU 8QS).
pub const MAX_OUTPUTS: u8 = 8;

/// Longest topic accepted, in bytes (before variables are substituted).
pub const MAX_TOPIC_LEN: usize = 256;

/// Longest timer period [`generate`] writes, in seconds: the dashboard
/// infers staleness from periods up to an hour.
pub const MAX_PERIOD_S: u32 = 3_600;

/// The client id unless one is given.
pub const DEFAULT_CLIENT_ID: &str = "netio_${DEVICE_NAME}";

/// What stands for the password in a generated configuration.
pub const PASSWORD_PLACEHOLDER: &str = "ENTER-PASSWORD-HERE";

const MAX_CLIENT_ID_CHARS: usize = 128;
const MAX_USERNAME_CHARS: usize = 128;
const MAX_PASSWORD_CHARS: usize = 256;
const MAX_PREFIX_LEN: usize = 64;
const MAX_HOST_LEN: usize = 253;
const KEEPALIVE_S: i64 = 30;

/// The measurement topics of each output, with the variable each carries.
const MEASURES: [(&str, &str); 5] = [
    ("load", "LOAD"),
    ("current", "CURRENT"),
    ("voltage", "VOLTAGE"),
    ("energy", "ENERGY"),
    ("power_factor", "POWER_FACTOR"),
];

/// `${OUTPUTS/<n>/…}` fields.
const OUTPUT_FIELDS: &[&str] = &[
    "STATE",
    "ACTION",
    "DELAY",
    "NAME",
    "VOLTAGE",
    "CURRENT",
    "POWER_FACTOR",
    "LOAD",
    "FREQUENCY",
    "ENERGY",
    "REVERSE_ENERGY",
    "ENERGY_NR",
    "REVERSE_ENERGY_NR",
    "ENERGY_START",
    "ENERGY_START_FMT",
];

/// `${OUTPUTS/TOTAL/…}` fields: the measured ones (from `VOLTAGE` on).
const TOTAL_FIELDS: &[&str] = OUTPUT_FIELDS.split_at(4).1;

/// Aggregate payload variables (also watchable by events).
const STATUSES: &[&str] = &["OUTPUTS_STATUS", "INPUTS_STATUS", "INOUT_STATUS"];

/// Other variables.
const GLOBALS: &[&str] = &["DEVICE_NAME", "DEVICE_MAC", "DEVICE_SN", "UTC_TIME"];

/// What the user fills in to generate a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexOptions {
    /// The name configured on the NETIO (what `${DEVICE_NAME}` becomes):
    /// one topic level, at most 128 bytes, without `/`, `+`, `#`.
    pub device_name: String,
    /// Outputs to configure, 1 to [`MAX_OUTPUTS`].
    pub outputs: u8,
    /// Topic prefix (one or more levels, no wildcards, no empty level, not
    /// starting with `$`); [`DEFAULT_PREFIX`] is what the dashboard reads.
    pub prefix: String,
    /// Timer period of every publication, 1 to [`MAX_PERIOD_S`] seconds.
    pub period_s: u32,
    /// A load change that publishes at once, in W; 0: the timer only.
    pub load_delta_w: u32,
    /// The broker's host name or address, as the NETIO reaches it.
    pub broker_host: String,
    /// The broker's MQTT port (TCP, not WebSocket).
    pub broker_port: u16,
    /// Connect with TLS.
    pub tls: bool,
    /// Broker username; empty: none (and no password).
    pub username: String,
    /// MQTT client id; empty: [`DEFAULT_CLIENT_ID`].
    pub client_id: String,
}

impl Default for FlexOptions {
    fn default() -> Self {
        Self {
            device_name: String::new(),
            outputs: 4,
            prefix: DEFAULT_PREFIX.to_owned(),
            period_s: 30,
            load_delta_w: 5,
            broker_host: String::new(),
            broker_port: 1883,
            tls: false,
            username: String::new(),
            client_id: String::new(),
        }
    }
}

/// What a valid configuration does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlexSummary {
    /// Outputs a subscription commands (`OUTPUTS/<n>/ACTION`), sorted,
    /// each once.
    pub commanded: Vec<u8>,
    /// A subscription targets `REST_JSON` (may command any output).
    pub rest_json: bool,
    /// Subscribed topics, as written.
    pub subscribed: Vec<String>,
    /// Published topics, as written.
    pub published: Vec<String>,
    /// Things that are allowed but probably not meant: unknown keys, the
    /// password placeholder, a topic published twice.
    pub warnings: Vec<String>,
}

impl FlexSummary {
    /// The published topics as a device named `device_name` publishes
    /// them (`${DEVICE_NAME}` substituted).
    pub fn published_for(&self, device_name: &str) -> Vec<String> {
        self.published
            .iter()
            .map(|t| t.replace("${DEVICE_NAME}", device_name))
            .collect()
    }
}

/// Why a configuration (or the options for one) is not acceptable. Paths
/// are relative to `config`, e.g. `publish[3].events[0].period`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlexError {
    /// An option of [`FlexOptions`] is unusable.
    Option {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Longer than [`MAX_CONFIG_LEN`].
    TooLarge {
        /// Its length, in bytes.
        len: usize,
    },
    /// Not JSON.
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required key is missing.
    Missing {
        /// Where.
        path: String,
    },
    /// A value of the wrong JSON type.
    WrongType {
        /// Where.
        path: String,
        /// What it must be ("a string", …).
        expected: &'static str,
    },
    /// An empty string where something is needed.
    Empty {
        /// Where.
        path: String,
    },
    /// A string too long.
    TooLong {
        /// Where.
        path: String,
        /// The limit.
        max: usize,
        /// Of what ("bytes", "characters").
        unit: &'static str,
    },
    /// A number outside its range.
    Range {
        /// Where.
        path: String,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A control character (such as NUL) in a topic.
    ControlChar {
        /// Where.
        path: String,
    },
    /// `+` or `#` in a publish topic.
    Wildcard {
        /// Where.
        path: String,
    },
    /// A subscribe filter with `+` or `#` not filling a level, or `#` not
    /// last.
    Filter {
        /// Where.
        path: String,
    },
    /// A subscription target other than `OUTPUTS/<n>/ACTION` or
    /// `REST_JSON`.
    Target {
        /// Where.
        path: String,
        /// The target.
        target: String,
    },
    /// A literal action that is not 0 to 5.
    ActionValue {
        /// Where.
        path: String,
        /// The value.
        value: String,
    },
    /// `${…}` naming no known variable.
    UnknownVariable {
        /// Where.
        path: String,
        /// The name inside the braces.
        name: String,
    },
    /// A variable or target naming an output outside 1 to [`MAX_OUTPUTS`].
    Output {
        /// Where.
        path: String,
        /// The variable or target.
        name: String,
    },
    /// `${` without its `}`.
    Unbalanced {
        /// Where.
        path: String,
    },
    /// `${payload}` outside a subscription's action.
    PayloadVariable {
        /// Where.
        path: String,
    },
    /// A publication without events: never published.
    NoEvents {
        /// Where.
        path: String,
    },
    /// An event type other than change, timer, delta.
    EventType {
        /// Where.
        path: String,
        /// The type.
        kind: String,
    },
    /// A timer period below 1 s.
    Period {
        /// Where.
        path: String,
    },
    /// A delta that is not a number above 0.
    Delta {
        /// Where.
        path: String,
    },
    /// An event source that is not a variable to watch.
    Source {
        /// Where.
        path: String,
        /// The source.
        source: String,
    },
}

impl FlexError {
    /// Where the problem is (a path relative to `config`, or the option's
    /// field), if it is somewhere in particular.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Option { field, .. } => Some(field),
            Self::TooLarge { .. } | Self::Json { .. } => None,
            Self::Missing { path }
            | Self::WrongType { path, .. }
            | Self::Empty { path }
            | Self::TooLong { path, .. }
            | Self::Range { path, .. }
            | Self::ControlChar { path }
            | Self::Wildcard { path }
            | Self::Filter { path }
            | Self::Target { path, .. }
            | Self::ActionValue { path, .. }
            | Self::UnknownVariable { path, .. }
            | Self::Output { path, .. }
            | Self::Unbalanced { path }
            | Self::PayloadVariable { path }
            | Self::NoEvents { path }
            | Self::EventType { path, .. }
            | Self::Period { path }
            | Self::Delta { path }
            | Self::Source { path, .. } => Some(path),
        }
    }
}

impl fmt::Display for FlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.path() {
            write!(f, "{path}: ")?;
        }
        match self {
            Self::Option { reason, .. } => f.write_str(reason),
            Self::TooLarge { len } => write!(
                f,
                "the configuration is {len} bytes; at most {MAX_CONFIG_LEN} are accepted"
            ),
            Self::Json { message, .. } => write!(f, "not valid JSON: {message}"),
            Self::Missing { .. } => f.write_str("missing"),
            Self::WrongType { expected, .. } => write!(f, "must be {expected}"),
            Self::Empty { .. } => f.write_str("must not be empty"),
            Self::TooLong { max, unit, .. } => write!(f, "longer than {max} {unit}"),
            Self::Range { min, max, .. } => write!(f, "must be a whole number from {min} to {max}"),
            Self::ControlChar { .. } => f.write_str("contains a control character"),
            Self::Wildcard { .. } => {
                f.write_str("a publish topic must not contain the wildcards + or #")
            }
            Self::Filter { .. } => {
                f.write_str("+ and # must each fill a whole topic level, and # must be the last")
            }
            Self::Target { target, .. } => write!(
                f,
                "unknown target \"{target}\" (OUTPUTS/<n>/ACTION with n from 1 to \
                 {MAX_OUTPUTS}, or REST_JSON)"
            ),
            Self::ActionValue { value, .. } => write!(
                f,
                "\"{value}\" is not an action (0 off, 1 on, 2 short off, 3 short on, \
                 4 toggle, 5 no change, or a variable such as ${{payload}})"
            ),
            Self::UnknownVariable { name, .. } => write!(f, "unknown variable ${{{name}}}"),
            Self::Output { name, .. } => {
                write!(f, "{name} names an output outside 1 to {MAX_OUTPUTS}")
            }
            Self::Unbalanced { .. } => f.write_str("\"${\" without its closing \"}\""),
            Self::PayloadVariable { .. } => {
                f.write_str("${payload} exists only in a subscription's action")
            }
            Self::NoEvents { .. } => {
                f.write_str("needs at least one event, or it is never published")
            }
            Self::EventType { kind, .. } => {
                write!(f, "unknown event type \"{kind}\" (change, timer or delta)")
            }
            Self::Period { .. } => f.write_str("must be at least 1 second"),
            Self::Delta { .. } => f.write_str("must be a number greater than 0"),
            Self::Source { source, .. } => write!(
                f,
                "\"{source}\" is not a variable to watch (such as OUTPUTS/1/LOAD)"
            ),
        }
    }
}

impl std::error::Error for FlexError {}

/// The MQTT-flex configuration for `options`, pretty-printed, checked by
/// [`validate`] before it is returned.
pub fn generate(options: &FlexOptions) -> Result<String, FlexError> {
    options.check()?;
    let mut json = String::new();
    render(&options.config(), 0, &mut json);
    json.push('\n');
    validate(&json)?;
    Ok(json)
}

/// Checks a configuration (pasted, or generated) thoroughly, and says what
/// it does. The first problem found is the error.
pub fn validate(json: &str) -> Result<FlexSummary, FlexError> {
    if json.len() > MAX_CONFIG_LEN {
        return Err(FlexError::TooLarge { len: json.len() });
    }
    let root: Value = serde_json::from_str(json).map_err(|e| FlexError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut summary = FlexSummary::default();
    let Some(root) = root.as_object() else {
        return Err(FlexError::WrongType {
            path: "(top level)".into(),
            expected: "an object with \"config\"",
        });
    };
    warn_unknown(root, &["config"], "(top level)", &mut summary.warnings);
    let config = object(required(root, "config", "")?, "config")?;
    warn_unknown(
        config,
        &["broker", "subscribe", "publish"],
        "",
        &mut summary.warnings,
    );
    let broker = object(required(config, "broker", "")?, "broker")?;
    check_broker(broker, &mut summary)?;
    let subscribe = array(required(config, "subscribe", "")?, "subscribe")?;
    for (i, entry) in subscribe.iter().enumerate() {
        check_subscription(entry, &format!("subscribe[{i}]"), &mut summary)?;
    }
    let publish = array(required(config, "publish", "")?, "publish")?;
    for (i, entry) in publish.iter().enumerate() {
        check_publication(entry, &format!("publish[{i}]"), &mut summary)?;
    }
    summary.commanded.sort_unstable();
    summary.commanded.dedup();
    Ok(summary)
}

impl FlexOptions {
    fn check(&self) -> Result<(), FlexError> {
        let bad = |field, reason: &str| {
            Err(FlexError::Option {
                field,
                reason: reason.to_owned(),
            })
        };
        if let Some(reason) = level_problem(&self.device_name) {
            return bad("device_name", reason);
        }
        if !(1..=MAX_OUTPUTS).contains(&self.outputs) {
            return bad("outputs", "must be from 1 to 8");
        }
        if let Some(reason) = prefix_problem(&self.prefix) {
            return bad("prefix", reason);
        }
        if !(1..=MAX_PERIOD_S).contains(&self.period_s) {
            return bad("period_s", "must be from 1 to 3600 seconds");
        }
        let host = &self.broker_host;
        if host.is_empty() {
            return bad("broker_host", "is empty");
        }
        if host.len() > MAX_HOST_LEN {
            return bad("broker_host", "is longer than 253 bytes");
        }
        if host.contains("://") || host.contains('/') {
            return bad(
                "broker_host",
                "must be a host name or address only (no mqtt://, no path)",
            );
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("broker_host", "contains a space or a control character");
        }
        if self.broker_port == 0 {
            return bad("broker_port", "must be from 1 to 65535");
        }
        if self.username.chars().count() > MAX_USERNAME_CHARS {
            return bad("username", "is longer than 128 characters");
        }
        if self.username.chars().any(char::is_control) {
            return bad("username", "contains a control character");
        }
        if self.client_id.chars().count() > MAX_CLIENT_ID_CHARS {
            return bad("client_id", "is longer than 128 characters");
        }
        if self.client_id.chars().any(char::is_control) {
            return bad("client_id", "contains a control character");
        }
        Ok(())
    }

    /// The configuration as a JSON tree, in the order a person reads it.
    fn config(&self) -> J {
        let topic =
            |n: u8, leaf: &str| format!("{}/${{DEVICE_NAME}}/output/{n}/{leaf}", self.prefix);
        let text = |s: &str| J::Str(s.to_owned());
        let client_id = if self.client_id.is_empty() {
            DEFAULT_CLIENT_ID
        } else {
            &self.client_id
        };
        let password = if self.username.is_empty() {
            ""
        } else {
            PASSWORD_PLACEHOLDER
        };
        let broker = J::Obj(vec![
            ("url", text(&self.broker_host)),
            ("protocol", text("mqtt")),
            ("port", J::Int(self.broker_port.into())),
            ("ssl", J::Bool(self.tls)),
            ("type", text("generic")),
            ("username", text(&self.username)),
            ("password", text(password)),
            ("clientid", text(client_id)),
            ("keepalive", J::Int(KEEPALIVE_S)),
        ]);
        let outputs = 1..=self.outputs;
        let subscribe = outputs
            .clone()
            .map(|n| {
                J::Obj(vec![
                    ("topic", J::Str(topic(n, "action"))),
                    ("qos", J::Int(0)),
                    ("target", J::Str(format!("OUTPUTS/{n}/ACTION"))),
                    ("action", text("${payload}")),
                ])
            })
            .collect();
        let timer = || {
            J::Obj(vec![
                ("type", text("timer")),
                ("period", J::Int(self.period_s.into())),
            ])
        };
        let publication = |topic: String, variable: String, retain: bool, events: Vec<J>| {
            J::Obj(vec![
                ("topic", J::Str(topic)),
                ("qos", J::Int(0)),
                ("retain", J::Bool(retain)),
                ("payload", J::Str(format!("${{{variable}}}"))),
                ("events", J::Arr(events)),
            ])
        };
        let mut publish = Vec::new();
        for n in outputs {
            let state = format!("OUTPUTS/{n}/STATE");
            let change = J::Obj(vec![
                ("type", text("change")),
                ("source", J::Str(state.clone())),
            ]);
            publish.push(publication(
                topic(n, "state"),
                state,
                true,
                vec![change, timer()],
            ));
            for (leaf, name) in MEASURES {
                let variable = format!("OUTPUTS/{n}/{name}");
                let mut events = vec![timer()];
                if leaf == "load" && self.load_delta_w > 0 {
                    events.push(J::Obj(vec![
                        ("type", text("delta")),
                        ("source", J::Str(variable.clone())),
                        ("delta", J::Int(self.load_delta_w.into())),
                    ]));
                }
                publish.push(publication(topic(n, leaf), variable, false, events));
            }
        }
        J::Obj(vec![(
            "config",
            J::Obj(vec![
                ("broker", broker),
                ("subscribe", J::Arr(subscribe)),
                ("publish", J::Arr(publish)),
            ]),
        )])
    }
}

/// Why `name` cannot be a device's topic level, if it cannot.
pub(crate) fn level_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_ID_LEN {
        Some("is longer than 128 bytes")
    } else if name.contains('/') {
        Some("contains /, which would split the topic level")
    } else if name.contains(['+', '#']) {
        Some("contains the MQTT wildcard + or #")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

/// Why `prefix` cannot be the scheme's prefix, if it cannot.
pub(crate) fn prefix_problem(prefix: &str) -> Option<&'static str> {
    if prefix.is_empty() {
        Some("is empty")
    } else if prefix.len() > MAX_PREFIX_LEN {
        Some("is longer than 64 bytes")
    } else if prefix.starts_with('$') {
        Some("starts with $, which brokers reserve ($SYS)")
    } else if prefix.contains(['+', '#']) {
        Some("contains the MQTT wildcard + or #")
    } else if prefix.split('/').any(str::is_empty) {
        Some("has an empty topic level (a leading, trailing or double /)")
    } else if prefix.contains("${") {
        Some("contains ${, which the device reads as a variable")
    } else if prefix.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

// --- validation ---

fn path_of(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

fn required<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<&'v Value, FlexError> {
    map.get(key).ok_or_else(|| FlexError::Missing {
        path: path_of(base, key),
    })
}

fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, FlexError> {
    value.as_object().ok_or_else(|| FlexError::WrongType {
        path: path.to_owned(),
        expected: "an object",
    })
}

fn array<'v>(value: &'v Value, path: &str) -> Result<&'v [Value], FlexError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| FlexError::WrongType {
            path: path.to_owned(),
            expected: "an array",
        })
}

fn string<'v>(value: &'v Value, path: &str) -> Result<&'v str, FlexError> {
    value.as_str().ok_or_else(|| FlexError::WrongType {
        path: path.to_owned(),
        expected: "a string",
    })
}

/// An optional string field.
fn optional_string<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<&'v str>, FlexError> {
    map.get(key)
        .map(|v| string(v, &path_of(base, key)))
        .transpose()
}

/// An optional whole number in `min..=max`.
fn optional_int(
    map: &Map<String, Value>,
    key: &str,
    base: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, FlexError> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let path = path_of(base, key);
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ if value.is_number() => Err(FlexError::Range { path, min, max }),
        _ => Err(FlexError::WrongType {
            path,
            expected: "a number",
        }),
    }
}

fn optional_bool(map: &Map<String, Value>, key: &str, base: &str) -> Result<(), FlexError> {
    match map.get(key) {
        Some(v) if !v.is_boolean() => Err(FlexError::WrongType {
            path: path_of(base, key),
            expected: "true or false",
        }),
        _ => Ok(()),
    }
}

fn max_chars(text: &str, max: usize, path: String) -> Result<(), FlexError> {
    if text.chars().count() > max {
        return Err(FlexError::TooLong {
            path,
            max,
            unit: "characters",
        });
    }
    Ok(())
}

fn warn_unknown(map: &Map<String, Value>, known: &[&str], base: &str, warnings: &mut Vec<String>) {
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        if warnings.len() < 100 {
            warnings.push(format!(
                "{}: unknown key (the device may ignore it, or not)",
                path_of(base, key)
            ));
        }
    }
}

fn check_broker(broker: &Map<String, Value>, summary: &mut FlexSummary) -> Result<(), FlexError> {
    const BASE: &str = "broker";
    warn_unknown(
        broker,
        &[
            "url",
            "protocol",
            "port",
            "ssl",
            "type",
            "username",
            "password",
            "clientid",
            "keepalive",
        ],
        BASE,
        &mut summary.warnings,
    );
    let url = string(required(broker, "url", BASE)?, "broker.url")?;
    if url.trim().is_empty() {
        return Err(FlexError::Empty {
            path: "broker.url".into(),
        });
    }
    if url.len() > MAX_TOPIC_LEN {
        return Err(FlexError::TooLong {
            path: "broker.url".into(),
            max: MAX_TOPIC_LEN,
            unit: "bytes",
        });
    }
    required(broker, "port", BASE)?;
    optional_int(broker, "port", BASE, 1, 65_535)?;
    optional_string(broker, "protocol", BASE)?;
    optional_string(broker, "type", BASE)?;
    optional_bool(broker, "ssl", BASE)?;
    optional_int(broker, "keepalive", BASE, 0, 65_535)?;
    if let Some(username) = optional_string(broker, "username", BASE)? {
        max_chars(username, MAX_USERNAME_CHARS, "broker.username".into())?;
        check_template("broker.username", username, false)?;
    }
    if let Some(password) = optional_string(broker, "password", BASE)? {
        max_chars(password, MAX_PASSWORD_CHARS, "broker.password".into())?;
        if password == PASSWORD_PLACEHOLDER {
            summary.warnings.push(
                "broker.password: still the placeholder; enter the password on the device".into(),
            );
        }
    }
    if let Some(client_id) = optional_string(broker, "clientid", BASE)? {
        max_chars(client_id, MAX_CLIENT_ID_CHARS, "broker.clientid".into())?;
        check_template("broker.clientid", client_id, false)?;
        if client_id.is_empty() {
            summary
                .warnings
                .push("broker.clientid: empty; the broker must assign one".into());
        }
    }
    Ok(())
}

fn check_subscription(
    entry: &Value,
    base: &str,
    summary: &mut FlexSummary,
) -> Result<(), FlexError> {
    let entry = object(entry, base)?;
    warn_unknown(
        entry,
        &["topic", "qos", "target", "action"],
        base,
        &mut summary.warnings,
    );
    let path = path_of(base, "topic");
    let topic = string(required(entry, "topic", base)?, &path)?;
    check_topic(&path, topic, true)?;
    optional_int(entry, "qos", base, 0, 2)?;
    let path = path_of(base, "target");
    let target = string(required(entry, "target", base)?, &path)?;
    let output = if target == "REST_JSON" {
        summary.rest_json = true;
        None
    } else {
        let n = target
            .strip_prefix("OUTPUTS/")
            .and_then(|rest| rest.strip_suffix("/ACTION"))
            .ok_or_else(|| FlexError::Target {
                path: path.clone(),
                target: target.to_owned(),
            })?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FlexError::Target {
                path,
                target: target.to_owned(),
            });
        }
        let n = output_number(n).ok_or_else(|| FlexError::Output {
            path: path.clone(),
            name: target.to_owned(),
        })?;
        Some(n)
    };
    let path = path_of(base, "action");
    let action = string(required(entry, "action", base)?, &path)?;
    if action.contains('$') {
        check_template(&path, action, true)?;
    } else if output.is_some() && !matches!(action.trim(), "0" | "1" | "2" | "3" | "4" | "5") {
        return Err(FlexError::ActionValue {
            path,
            value: action.to_owned(),
        });
    }
    summary.commanded.extend(output);
    summary.subscribed.push(topic.to_owned());
    Ok(())
}

fn check_publication(
    entry: &Value,
    base: &str,
    summary: &mut FlexSummary,
) -> Result<(), FlexError> {
    let entry = object(entry, base)?;
    warn_unknown(
        entry,
        &["topic", "qos", "retain", "payload", "events"],
        base,
        &mut summary.warnings,
    );
    let path = path_of(base, "topic");
    let topic = string(required(entry, "topic", base)?, &path)?;
    check_topic(&path, topic, false)?;
    optional_int(entry, "qos", base, 0, 2)?;
    optional_bool(entry, "retain", base)?;
    let path = path_of(base, "payload");
    let payload = string(required(entry, "payload", base)?, &path)?;
    check_template(&path, payload, false)?;
    let path = path_of(base, "events");
    let events = array(required(entry, "events", base)?, &path)?;
    if events.is_empty() {
        return Err(FlexError::NoEvents { path });
    }
    for (j, event) in events.iter().enumerate() {
        check_event(event, &format!("{path}[{j}]"), &mut summary.warnings)?;
    }
    if summary.published.iter().any(|t| t == topic) {
        summary
            .warnings
            .push(format!("{base}.topic: \"{topic}\" is published twice"));
    }
    summary.published.push(topic.to_owned());
    Ok(())
}

fn check_event(event: &Value, base: &str, warnings: &mut Vec<String>) -> Result<(), FlexError> {
    let event = object(event, base)?;
    let path = path_of(base, "type");
    let kind = string(required(event, "type", base)?, &path)?;
    let known: &[&str] = match kind {
        "change" => &["type", "source"],
        "timer" => &["type", "period"],
        "delta" => &["type", "source", "delta"],
        _ => {
            return Err(FlexError::EventType {
                path,
                kind: kind.to_owned(),
            })
        }
    };
    warn_unknown(event, known, base, warnings);
    if known.contains(&"source") {
        let path = path_of(base, "source");
        let source = string(required(event, "source", base)?, &path)?;
        check_source(&path, source)?;
    }
    if kind == "timer" {
        let path = path_of(base, "period");
        let period = required(event, "period", base)?;
        match period.as_i64() {
            Some(s) if s >= 1 => {}
            Some(_) => return Err(FlexError::Period { path }),
            None if period.as_f64().is_some_and(|s| s < 1.0) => {
                return Err(FlexError::Period { path })
            }
            None => {
                return Err(FlexError::WrongType {
                    path,
                    expected: "a whole number of seconds",
                })
            }
        }
    }
    if kind == "delta" {
        let path = path_of(base, "delta");
        let delta = required(event, "delta", base)?;
        if !delta.as_f64().is_some_and(|d| d > 0.0) {
            return Err(FlexError::Delta { path });
        }
    }
    Ok(())
}

/// A topic (or, with `filter`, a subscription's topic filter).
fn check_topic(at: &str, topic: &str, filter: bool) -> Result<(), FlexError> {
    let path = || at.to_owned();
    if topic.is_empty() {
        return Err(FlexError::Empty { path: path() });
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(FlexError::TooLong {
            path: path(),
            max: MAX_TOPIC_LEN,
            unit: "bytes",
        });
    }
    if topic.chars().any(char::is_control) {
        return Err(FlexError::ControlChar { path: path() });
    }
    if filter {
        let levels: Vec<&str> = topic.split('/').collect();
        let last = levels.len() - 1;
        let bad = levels.iter().enumerate().any(|(i, level)| {
            (level.contains(['+', '#']) && level.len() != 1) || (*level == "#" && i != last)
        });
        if bad {
            return Err(FlexError::Filter { path: path() });
        }
    } else if topic.contains(['+', '#']) {
        return Err(FlexError::Wildcard { path: path() });
    }
    check_template(at, topic, false)
}

/// Every `${…}` in `text` names a known variable (`${payload}` only where
/// `payload` says).
fn check_template(path: &str, text: &str, payload: bool) -> Result<(), FlexError> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let unbalanced = || FlexError::Unbalanced {
            path: path.to_owned(),
        };
        let end = after.find('}').ok_or_else(unbalanced)?;
        let name = &after[..end];
        if name.contains("${") {
            return Err(unbalanced());
        }
        if name == "payload" {
            if !payload {
                return Err(FlexError::PayloadVariable {
                    path: path.to_owned(),
                });
            }
        } else {
            check_variable(path, name, false)?;
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// An event's `source`: an output variable or an aggregate status.
fn check_source(path: &str, source: &str) -> Result<(), FlexError> {
    check_variable(path, source, true)
}

/// `name` (without `${}`) is a known variable; with `watch`, one an event
/// can watch (not `DEVICE_NAME` and the like).
fn check_variable(path: &str, name: &str, watch: bool) -> Result<(), FlexError> {
    let unknown = || {
        if watch {
            FlexError::Source {
                path: path.to_owned(),
                source: name.to_owned(),
            }
        } else {
            FlexError::UnknownVariable {
                path: path.to_owned(),
                name: name.to_owned(),
            }
        }
    };
    if STATUSES.contains(&name) {
        return Ok(());
    }
    if GLOBALS.contains(&name) {
        return if watch { Err(unknown()) } else { Ok(()) };
    }
    let Some((n, field)) = name
        .strip_prefix("OUTPUTS/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Err(unknown());
    };
    if n == "TOTAL" {
        return if TOTAL_FIELDS.contains(&field) {
            Ok(())
        } else {
            Err(unknown())
        };
    }
    let numeric = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    if !numeric || !OUTPUT_FIELDS.contains(&field) {
        return Err(unknown());
    }
    if output_number(n).is_none() {
        return Err(FlexError::Output {
            path: path.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// An output number, 1 to [`MAX_OUTPUTS`], in plain digits.
fn output_number(n: &str) -> Option<u8> {
    if n.is_empty() || n.len() > 3 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u8>()
        .ok()
        .filter(|n| (1..=MAX_OUTPUTS).contains(n))
}

// --- rendering, keys in the order given ---

/// A JSON value whose objects keep their order.
enum J {
    Str(String),
    Int(i64),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

/// Pretty-prints `value` (two spaces per level) at `depth`.
fn render(value: &J, depth: usize, out: &mut String) {
    let indent = |out: &mut String, depth: usize| {
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match value {
        J::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
        J::Int(n) => out.push_str(&n.to_string()),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Arr(items) if items.is_empty() => out.push_str("[]"),
        J::Arr(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1);
                render(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push(']');
        }
        J::Obj(fields) if fields.is_empty() => out.push_str("{}"),
        J::Obj(fields) => {
            out.push_str("{\n");
            for (i, (key, item)) in fields.iter().enumerate() {
                indent(out, depth + 1);
                out.push_str(&Value::String((*key).to_owned()).to_string());
                out.push_str(": ");
                render(item, depth + 1, out);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push('}');
        }
    }
}
