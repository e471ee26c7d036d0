//! A NETIO power distribution unit (PowerBOX 4Kx, PowerPDU 4KS, PowerCable
//! MQTT) driven by an **MQTT-flex** configuration, from NETIO's MQTT-flex
//! wiki and the "M2M API protocols" manual, as collected in the conventions
//! reference §C5.
//!
//! MQTT-flex has no fixed topics: the user pastes a JSON config into the
//! device, and the device subscribes exactly to its `subscribe` topics and
//! publishes exactly what its `publish` entries say:
//!
//! ```json
//! {"config":{
//!   "broker":{"url":"…","port":1883,"clientid":"netio_${DEVICE_NAME}","username":"","password":""},
//!   "subscribe":[{"topic":"netio/${DEVICE_NAME}/output/1/action","qos":0,
//!                 "target":"OUTPUTS/1/ACTION","action":"${payload}"}],
//!   "publish":[{"topic":"netio/${DEVICE_NAME}/output/1/state","qos":0,"retain":true,
//!               "payload":"${OUTPUTS/1/STATE}",
//!               "events":[{"type":"change","source":"OUTPUTS/1/STATE"},
//!                         {"type":"timer","period":60},
//!                         {"type":"delta","source":"OUTPUTS/1/LOAD","delta":5}]}]}}
//! ```
//!
//! What the model understands ([`NetioConfig::parse`]; anything else is a
//! [`NetioConfigError`] naming the place and the problem):
//!
//! - Topic and client-id variables: `${DEVICE_NAME}`, `${DEVICE_MAC}`
//!   (`24:A4:2C:xx:xx:xx`, derived from the name), `${DEVICE_SN}` (the MAC's
//!   hex digits). Subscribe topics may be filters (`+`, `#`).
//! - Payload variables: the device ones, `${UTC_TIME}`
//!   (`2025-11-24T16:00:00Z` on the model's clock), `${OUTPUTS/<n>/STATE}`
//!   (`1`/`0`), `LOAD` (W), `CURRENT` (mA), `VOLTAGE` (V), `ENERGY` and
//!   `ENERGY_NR` (Wh) — integers, as NETIO reports them —, `POWER_FACTOR`
//!   (`0.97`), `FREQUENCY` (`50.0` Hz), `NAME` (`Output <n>`), `DELAY` (ms),
//!   `ACTION` (`6`, what the JSON API reads back), `REVERSE_ENERGY`,
//!   `REVERSE_ENERGY_NR` (`0`), `ENERGY_START` (Unix time) and
//!   `ENERGY_START_FMT`; `${OUTPUTS/TOTAL/<q>}` for the measured ones (sums
//!   of LOAD, CURRENT, ENERGY); `${OUTPUTS_STATUS}` (the netio.json
//!   `Outputs` array), `${INPUTS_STATUS}` (`[]`: no inputs) and
//!   `${INOUT_STATUS}` (`{"Inputs":[],"Outputs":[…]}`). The aggregate forms
//!   are our guesses at NETIO's format.
//! - Targets: `OUTPUTS/<n>/ACTION` with `action` a template over
//!   `${payload}` (usually just `"${payload}"`), and `REST_JSON` (the
//!   payload is a netio.json body, `{"Outputs":[{"ID":1,"Action":4}]}`).
//!   Actions: `0` off, `1` on, `2` short off (off now, on again after the
//!   output's DELAY, 5000 ms unless set with [`Netio::with_delay_ms`]), `3`
//!   short on, `4` toggle, `5` no change; anything else is ignored.
//! - Events: `change` (`source` changed), `timer` (every `period` s,
//!   fractions allowed), `delta` (`source` moved by at least `delta` since
//!   the entry was last published). A `source` is any watchable variable
//!   without `${}` (`OUTPUTS/1/LOAD`, `OUTPUTS/TOTAL/ENERGY`,
//!   `OUTPUTS_STATUS`). An entry is published once when any of its events
//!   fires.
//!
//! Our choices where the documentation is silent: on connect the device
//! publishes every entry once (so a dashboard learns the state without
//! retained messages); the broker block's `url`/`port`/`ssl` are ignored
//! (devsim connects where it is told), its `clientid` is used, and its
//! `username`/`password` are offered to the driver (devsim's `--username`
//! wins). NETIO has no LWT: the device registers no will, and a dashboard
//! infers staleness from the timer events.
//!
//! [`default_config_json`] is the common scheme
//! `netio/<name>/output/<n>/{action,state,load,current,voltage,energy,power_factor}`,
//! as the dashboard's generator writes it with its defaults.

use std::fmt;

use mqtt_client::{LastWill, Publish, QoS};
use serde_json::{json, Map, Value};

use crate::{DeviceModel, Every};

/// Outputs of a PowerBOX 4Kx / PowerPDU 4KS.
pub const DEFAULT_OUTPUTS: usize = 4;
/// The "Short ON/OFF delay" of an output unless set otherwise, in ms.
pub const DEFAULT_DELAY_MS: u64 = 5_000;
/// Watts each output draws when on (output 1, 2, 3, 4, then again).
const LOADS_W: [u64; 4] = [40, 60, 100, 8];
const VOLTAGE_V: f64 = 230.0;
const FREQUENCY_HZ: f64 = 50.0;
const POWER_FACTOR_ON: f64 = 0.97;
/// Energy already counted per output, in Wh.
const START_ENERGY_WH: f64 = 1_234.0;
/// Unix time at which the model's clock reads 0 (for `${UTC_TIME}`).
const EPOCH_S: u64 = 1_764_000_000;
/// `${OUTPUTS/<n>/ENERGY_START}`: when the counters started.
const ENERGY_START_S: u64 = 1_700_000_000;
/// How often change and delta events on an energy counter are checked
/// between messages.
const CHECK_PERIOD_MS: u64 = 1_000;

/// Why a config cannot be used. `at` says where, e.g. `config.publish[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetioConfigError {
    /// The text is not JSON.
    Json(String),
    /// A required field is missing.
    MissingField {
        /// Where.
        at: String,
        /// Which field.
        field: &'static str,
    },
    /// A field has the wrong type or an impossible value.
    BadField {
        /// Where.
        at: String,
        /// Which field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A subscribe entry's `target` is not one the device has.
    UnknownTarget {
        /// Where.
        at: String,
        /// The target as written.
        target: String,
    },
    /// A `${…}` variable (or an event `source`) the device does not know,
    /// or one not allowed there.
    BadVariable {
        /// Where.
        at: String,
        /// The variable as written.
        variable: String,
        /// What is wrong.
        why: String,
    },
    /// An event whose `type` is not `change`, `timer` or `delta`.
    UnknownEventType {
        /// Where.
        at: String,
        /// The type as written.
        kind: String,
    },
}

impl fmt::Display for NetioConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(err) => write!(f, "not a JSON document: {err}"),
            Self::MissingField { at, field } => write!(f, "{at}: missing field \"{field}\""),
            Self::BadField { at, field, why } => write!(f, "{at}: field \"{field}\": {why}"),
            Self::UnknownTarget { at, target } => write!(
                f,
                "{at}: unknown target \"{target}\" (expected OUTPUTS/<n>/ACTION or REST_JSON)"
            ),
            Self::BadVariable { at, variable, why } => {
                write!(f, "{at}: bad variable \"{variable}\": {why}")
            }
            Self::UnknownEventType { at, kind } => write!(
                f,
                "{at}: unknown event type \"{kind}\" (expected change, timer or delta)"
            ),
        }
    }
}

impl std::error::Error for NetioConfigError {}

/// A measured or configured quantity of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    State,
    Action,
    Delay,
    Name,
    Voltage,
    Current,
    PowerFactor,
    Load,
    Frequency,
    Energy,
    ReverseEnergy,
    EnergyNr,
    ReverseEnergyNr,
    EnergyStart,
    EnergyStartFmt,
}

impl Quantity {
    const NAMES: [(&'static str, Self); 15] = [
        ("STATE", Self::State),
        ("ACTION", Self::Action),
        ("DELAY", Self::Delay),
        ("NAME", Self::Name),
        ("VOLTAGE", Self::Voltage),
        ("CURRENT", Self::Current),
        ("POWER_FACTOR", Self::PowerFactor),
        ("LOAD", Self::Load),
        ("FREQUENCY", Self::Frequency),
        ("ENERGY", Self::Energy),
        ("REVERSE_ENERGY", Self::ReverseEnergy),
        ("ENERGY_NR", Self::EnergyNr),
        ("REVERSE_ENERGY_NR", Self::ReverseEnergyNr),
        ("ENERGY_START", Self::EnergyStart),
        ("ENERGY_START_FMT", Self::EnergyStartFmt),
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, q)| *q)
    }

    /// Whether `OUTPUTS/TOTAL/<it>` exists (the measured quantities).
    fn has_total(self) -> bool {
        !matches!(self, Self::State | Self::Action | Self::Delay | Self::Name)
    }
}

/// An output, or all of them (`OUTPUTS/TOTAL/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Output(usize),
    Total,
}

/// A `${…}` variable, or an event's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    DeviceName,
    DeviceMac,
    DeviceSn,
    UtcTime,
    Payload,
    Output(Slot, Quantity),
    OutputsStatus,
    InputsStatus,
    InoutStatus,
}

impl Var {
    /// The highest output it names.
    fn max_output(self) -> usize {
        match self {
            Self::Output(Slot::Output(n), _) => n,
            _ => 0,
        }
    }

    /// Whether its value changes with time alone (energy counters).
    fn moves_by_itself(self) -> bool {
        matches!(
            self,
            Self::Output(_, Quantity::Energy | Quantity::EnergyNr)
                | Self::OutputsStatus
                | Self::InoutStatus
        )
    }
}

/// Which variables a string may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Topics and the client id: the device's own variables.
    Topic,
    /// A published payload: device and output variables.
    Payload,
    /// A subscribe entry's `action`: `${payload}`.
    Action,
}

/// A string with `${…}` variables.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq)]
struct Template(Vec<Piece>);

impl Template {
    fn parse(s: &str, context: Context, at: &str) -> Result<Self, NetioConfigError> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(NetioConfigError::BadVariable {
                    at: at.to_owned(),
                    variable: rest[start..].to_owned(),
                    why: "no closing \"}\"".into(),
                });
            };
            let name = &after[..end];
            let bad = |why: &str| NetioConfigError::BadVariable {
                at: at.to_owned(),
                variable: format!("${{{name}}}"),
                why: why.to_owned(),
            };
            let var = match name {
                "DEVICE_NAME" => Var::DeviceName,
                "DEVICE_MAC" => Var::DeviceMac,
                "DEVICE_SN" => Var::DeviceSn,
                "UTC_TIME" => Var::UtcTime,
                "payload" => Var::Payload,
                other => parse_watchable(other).map_err(|why| bad(&why))?,
            };
            let allowed = match (context, var) {
                (Context::Action, v) => v == Var::Payload,
                (_, Var::DeviceName | Var::DeviceMac | Var::DeviceSn) => true,
                (Context::Topic, _) => false,
                (Context::Payload, v) => v != Var::Payload,
            };
            if !allowed {
                return Err(bad(match context {
                    Context::Topic => {
                        "only ${DEVICE_NAME}, ${DEVICE_MAC} and ${DEVICE_SN} are allowed here"
                    }
                    Context::Payload => "${payload} is only allowed in a subscribe entry's action",
                    Context::Action => "only ${payload} is allowed in an action",
                }));
            }
            pieces.push(Piece::Var(var));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self(pieces))
    }

    /// The highest output it names.
    fn max_output(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Var(v) => v.max_output(),
                Piece::Text(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// A variable whose value can be watched: `OUTPUTS/<n>/<QUANTITY>`,
/// `OUTPUTS/TOTAL/<QUANTITY>`, `OUTPUTS_STATUS`, `INPUTS_STATUS`,
/// `INOUT_STATUS`.
fn parse_watchable(s: &str) -> Result<Var, String> {
    match s {
        "OUTPUTS_STATUS" => return Ok(Var::OutputsStatus),
        "INPUTS_STATUS" => return Ok(Var::InputsStatus),
        "INOUT_STATUS" => return Ok(Var::InoutStatus),
        _ => {}
    }
    let mut parts = s.split('/');
    let (Some("OUTPUTS"), Some(n), Some(q), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(
            "expected DEVICE_NAME, DEVICE_MAC, DEVICE_SN, UTC_TIME, payload, \
             OUTPUTS_STATUS, INPUTS_STATUS, INOUT_STATUS, OUTPUTS/<n>/<quantity> \
             or OUTPUTS/TOTAL/<quantity>"
                .into(),
        );
    };
    let slot = match n {
        "TOTAL" => Slot::Total,
        n => Slot::Output(
            n.parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("output number {n:?} is not 1 or more"))?,
        ),
    };
    let q = Quantity::parse(q).ok_or_else(|| {
        let names: Vec<&str> = Quantity::NAMES.iter().map(|(n, _)| *n).collect();
        format!("unknown quantity {q:?} (expected {})", names.join(", "))
    })?;
    if slot == Slot::Total && !q.has_total() {
        return Err("OUTPUTS/TOTAL has only the measured quantities".into());
    }
    Ok(Var::Output(slot, q))
}

/// What a subscribe entry acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Action(usize),
    RestJson,
}

#[derive(Debug, Clone, PartialEq)]
struct SubscribeRule {
    topic: Template,
    target: Target,
    action: Template,
}

#[derive(Debug, Clone, PartialEq)]
enum EventSpec {
    Change { source: Var },
    Timer { period_ms: u64 },
    Delta { source: Var, delta: f64 },
}

#[derive(Debug, Clone, PartialEq)]
struct PublishRule {
    topic: Template,
    qos: QoS,
    retain: bool,
    payload: Template,
    events: Vec<EventSpec>,
}

/// A parsed MQTT-flex configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NetioConfig {
    client_id: Option<Template>,
    username: Option<String>,
    password: Option<String>,
    subscribe: Vec<SubscribeRule>,
    publish: Vec<PublishRule>,
}

/// The built-in config for `outputs` outputs, in the common scheme, the
/// same as the dashboard's generator writes with its defaults (prefix
/// `netio`, timer 30 s, load delta 5 W): for each output `n`,
/// `netio/${DEVICE_NAME}/output/<n>/action` (subscribe, the ACTION values),
/// `…/state` (retained; on change and every 30 s), `…/load` (W; every 30 s
/// and on a change of at least 5 W), `…/current` (mA), `…/voltage` (V),
/// `…/energy` (Wh), `…/power_factor` (every 30 s).
pub fn default_config_json(outputs: usize) -> String {
    let topic = |n: usize, what: &str| format!("netio/${{DEVICE_NAME}}/output/{n}/{what}");
    let timer = json!({"type": "timer", "period": 30});
    let mut subscribe = Vec::new();
    let mut publish = Vec::new();
    for n in 1..=outputs.max(1) {
        subscribe.push(json!({
            "topic": topic(n, "action"), "qos": 0,
            "target": format!("OUTPUTS/{n}/ACTION"), "action": "${payload}",
        }));
        let entry = |what: &str, var: &str, retain: bool, events: Vec<Value>| {
            json!({
                "topic": topic(n, what), "qos": 0, "retain": retain,
                "payload": format!("${{OUTPUTS/{n}/{var}}}"), "events": events,
            })
        };
        let state_change = json!({"type": "change", "source": format!("OUTPUTS/{n}/STATE")});
        let load_delta =
            json!({"type": "delta", "source": format!("OUTPUTS/{n}/LOAD"), "delta": 5});
        publish.push(entry(
            "state",
            "STATE",
            true,
            vec![state_change, timer.clone()],
        ));
        publish.push(entry(
            "load",
            "LOAD",
            false,
            vec![timer.clone(), load_delta],
        ));
        for (what, var) in [
            ("current", "CURRENT"),
            ("voltage", "VOLTAGE"),
            ("energy", "ENERGY"),
            ("power_factor", "POWER_FACTOR"),
        ] {
            publish.push(entry(what, var, false, vec![timer.clone()]));
        }
    }
    json!({"config": {
        "broker": {
            "url": "127.0.0.1", "protocol": "mqtt", "port": 1883, "ssl": false,
            "type": "generic", "username": "", "password": "",
            "clientid": "netio_${DEVICE_NAME}", "keepalive": 30,
        },
        "subscribe": subscribe,
        "publish": publish,
    }})
    .to_string()
}

impl NetioConfig {
    /// The built-in config ([`default_config_json`]).
    pub fn default_for(outputs: usize) -> Self {
        match Self::parse(&default_config_json(outputs)) {
            Ok(config) => config,
            // The built-in config is tested to parse.
            Err(_) => Self {
                client_id: None,
                username: None,
                password: None,
                subscribe: Vec::new(),
                publish: Vec::new(),
            },
        }
    }

    /// Parses an MQTT-flex config (the JSON pasted into the device).
    pub fn parse(text: &str) -> Result<Self, NetioConfigError> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| NetioConfigError::Json(e.to_string()))?;
        let config = object(&root, "(top level)")?;
        let config = object(
            config.get("config").ok_or(NetioConfigError::MissingField {
                at: "(top level)".into(),
                field: "config",
            })?,
            "config",
        )?;
        let (client_id, username, password) = match config.get("broker") {
            None => (None, None, None),
            Some(broker) => {
                let broker = object(broker, "config.broker")?;
                let client_id = optional_str(broker, "config.broker", "clientid")?
                    .map(|s| Template::parse(s, Context::Topic, "config.broker.clientid"))
                    .transpose()?;
                let username = optional_str(broker, "config.broker", "username")?
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let password = optional_str(broker, "config.broker", "password")?
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                (client_id, username, password)
            }
        };
        let subscribe = optional_array(config, "config", "subscribe")?
            .iter()
            .enumerate()
            .map(|(i, e)| parse_subscribe(e, &format!("config.subscribe[{i}]")))
            .collect::<Result<_, _>>()?;
        let publish = optional_array(config, "config", "publish")?
            .iter()
            .enumerate()
            .map(|(i, e)| parse_publish(e, &format!("config.publish[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            client_id,
            username,
            password,
            subscribe,
            publish,
        })
    }

    /// The highest output number the config names (0 if none).
    pub fn max_output(&self) -> usize {
        let subs = self.subscribe.iter().map(|s| match s.target {
            Target::Action(n) => n,
            Target::RestJson => 0,
        });
        let pubs = self.publish.iter().map(PublishRule::max_output);
        subs.chain(pubs).max().unwrap_or(0)
    }
}

impl PublishRule {
    /// The highest output its payload and events name.
    fn max_output(&self) -> usize {
        let events = self.events.iter().map(|e| match e {
            EventSpec::Change { source } | EventSpec::Delta { source, .. } => source.max_output(),
            EventSpec::Timer { .. } => 0,
        });
        events.chain([self.payload.max_output()]).max().unwrap_or(0)
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, NetioConfigError> {
    v.as_object().ok_or_else(|| NetioConfigError::BadField {
        at: at.to_owned(),
        field: "(itself)",
        why: "not a JSON object".into(),
    })
}

fn required<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    field: &'static str,
) -> Result<&'a Value, NetioConfigError> {
    o.get(field).ok_or(NetioConfigError::MissingField {
        at: at.to_owned(),
        field,
    })
}

fn required_str<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    field: &'static str,
) -> Result<&'a str, NetioConfigError> {
    required(o, at, field)?
        .as_str()
        .ok_or_else(|| bad_field(at, field, "not a string"))
}

fn optional_str<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    field: &'static str,
) -> Result<Option<&'a str>, NetioConfigError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| bad_field(at, field, "not a string")),
    }
}

fn optional_array<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    field: &'static str,
) -> Result<&'a [Value], NetioConfigError> {
    match o.get(field) {
        None => Ok(&[]),
        Some(v) => v
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| bad_field(at, field, "not an array")),
    }
}

fn bad_field(at: &str, field: &'static str, why: &str) -> NetioConfigError {
    NetioConfigError::BadField {
        at: at.to_owned(),
        field,
        why: why.to_owned(),
    }
}

fn parse_qos(o: &Map<String, Value>, at: &str) -> Result<QoS, NetioConfigError> {
    match o.get("qos") {
        None => Ok(QoS::AtMostOnce),
        Some(v) => match v.as_u64() {
            Some(0) => Ok(QoS::AtMostOnce),
            Some(1) => Ok(QoS::AtLeastOnce),
            Some(2) => Ok(QoS::ExactlyOnce),
            _ => Err(bad_field(at, "qos", "not 0, 1 or 2")),
        },
    }
}

fn parse_subscribe(v: &Value, at: &str) -> Result<SubscribeRule, NetioConfigError> {
    let o = object(v, at)?;
    let topic_text = required_str(o, at, "topic")?;
    if topic_text.is_empty() {
        return Err(bad_field(at, "topic", "empty"));
    }
    let topic = Template::parse(topic_text, Context::Topic, &format!("{at}.topic"))?;
    parse_qos(o, at)?;
    let target_text = required_str(o, at, "target")?;
    let target = match target_text {
        "REST_JSON" => Target::RestJson,
        t => match t
            .strip_prefix("OUTPUTS/")
            .and_then(|r| r.strip_suffix("/ACTION"))
        {
            Some(n) => {
                Target::Action(n.parse().ok().filter(|&n: &usize| n >= 1).ok_or_else(|| {
                    NetioConfigError::UnknownTarget {
                        at: at.to_owned(),
                        target: t.to_owned(),
                    }
                })?)
            }
            None => {
                return Err(NetioConfigError::UnknownTarget {
                    at: at.to_owned(),
                    target: t.to_owned(),
                })
            }
        },
    };
    let action = match target {
        Target::Action(_) => Template::parse(
            required_str(o, at, "action")?,
            Context::Action,
            &format!("{at}.action"),
        )?,
        // The body is the payload itself.
        Target::RestJson => Template(vec![Piece::Var(Var::Payload)]),
    };
    Ok(SubscribeRule {
        topic,
        target,
        action,
    })
}

fn parse_publish(v: &Value, at: &str) -> Result<PublishRule, NetioConfigError> {
    let o = object(v, at)?;
    let topic_text = required_str(o, at, "topic")?;
    if topic_text.is_empty() || topic_text.contains(['+', '#']) {
        return Err(bad_field(at, "topic", "empty or with a wildcard"));
    }
    let topic = Template::parse(topic_text, Context::Topic, &format!("{at}.topic"))?;
    let qos = parse_qos(o, at)?;
    let retain = match o.get("retain") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad_field(at, "retain", "not true or false"))?,
    };
    let payload = Template::parse(
        required_str(o, at, "payload")?,
        Context::Payload,
        &format!("{at}.payload"),
    )?;
    let events = required(o, at, "events")?
        .as_array()
        .ok_or_else(|| bad_field(at, "events", "not an array"))?
        .iter()
        .enumerate()
        .map(|(i, e)| parse_event(e, &format!("{at}.events[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(PublishRule {
        topic,
        qos,
        retain,
        payload,
        events,
    })
}

fn parse_event(v: &Value, at: &str) -> Result<EventSpec, NetioConfigError> {
    let o = object(v, at)?;
    let source = |o: &Map<String, Value>| -> Result<Var, NetioConfigError> {
        let s = required_str(o, at, "source")?;
        parse_watchable(s).map_err(|why| NetioConfigError::BadVariable {
            at: format!("{at}.source"),
            variable: s.to_owned(),
            why,
        })
    };
    let number = |o: &Map<String, Value>, field: &'static str| -> Result<f64, NetioConfigError> {
        let v = required(o, at, field)?;
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| bad_field(at, field, "not a number above 0"))
    };
    match required_str(o, at, "type")? {
        "change" => Ok(EventSpec::Change { source: source(o)? }),
        "timer" => {
            let secs = number(o, "period")?;
            Ok(EventSpec::Timer {
                period_ms: ((secs * 1000.0).round() as u64).max(1),
            })
        }
        "delta" => Ok(EventSpec::Delta {
            source: source(o)?,
            delta: number(o, "delta")?,
        }),
        kind => Err(NetioConfigError::UnknownEventType {
            at: at.to_owned(),
            kind: kind.to_owned(),
        }),
    }
}

/// `secs` (Unix time) as `YYYY-MM-DDThh:mm:ss` and `zone`, in UTC.
fn utc(secs: u64, zone: &str) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rem / 3_600, rem % 3_600 / 60, rem % 60);
    // Days since 1970-01-01 to a civil date, counting in 400-year eras
    // that start on 0000-03-01.
    let z = days + 719_468;
    let (era, day_of_era) = (z / 146_097, z % 146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{zone}")
}

/// Whether `topic` matches the MQTT filter `filter`.
fn matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// One output's state.
#[derive(Debug, Clone)]
struct Output {
    on: bool,
    delay_ms: u64,
    /// A short on/off in progress: when, and to what, it switches back.
    pending: Option<(u64, bool)>,
    /// Energy counted, in W·ms.
    energy_wms: f64,
}

/// Per publish entry: its timers and what its change/delta events last saw.
#[derive(Debug, Clone)]
struct EntryState {
    timers: Vec<Option<Every>>,
    /// Change events: the value last seen; delta events: the value when
    /// the entry was last published.
    seen: Vec<Option<String>>,
}

/// A simulated NETIO device running an MQTT-flex config.
#[derive(Debug, Clone)]
pub struct Netio {
    name: String,
    mac: String,
    sn: String,
    config: NetioConfig,
    outputs: Vec<Output>,
    entries: Vec<EntryState>,
    /// Checks change and delta events between messages.
    check: Option<Every>,
    metered_at: Option<u64>,
    /// The latest time seen, for `${UTC_TIME}`.
    clock: u64,
}

impl Netio {
    /// A device called `name` (its `${DEVICE_NAME}`) with `outputs` outputs
    /// (at least 1), all off, running `config`. Fails if the config names
    /// an output the device does not have.
    pub fn new(
        name: impl Into<String>,
        config: NetioConfig,
        outputs: usize,
    ) -> Result<Self, NetioConfigError> {
        let outputs = outputs.max(1);
        for (i, s) in config.subscribe.iter().enumerate() {
            if let Target::Action(n) = s.target {
                if n > outputs {
                    return Err(NetioConfigError::UnknownTarget {
                        at: format!("config.subscribe[{i}]"),
                        target: format!("OUTPUTS/{n}/ACTION (the device has {outputs} outputs)"),
                    });
                }
            }
        }
        for (i, p) in config.publish.iter().enumerate() {
            let highest = p.max_output();
            if highest > outputs {
                return Err(NetioConfigError::BadVariable {
                    at: format!("config.publish[{i}]"),
                    variable: format!("OUTPUTS/{highest}"),
                    why: format!("the device has {outputs} outputs"),
                });
            }
        }
        let name = name.into();
        let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        let [_, a, b, c] = hash.to_be_bytes();
        let mac = format!("24:A4:2C:{a:02X}:{b:02X}:{c:02X}");
        let sn = mac.replace(':', "");
        let entries = config
            .publish
            .iter()
            .map(|p| EntryState {
                timers: p
                    .events
                    .iter()
                    .map(|e| match e {
                        EventSpec::Timer { period_ms } => Some(Every::new(*period_ms)),
                        _ => None,
                    })
                    .collect(),
                seen: vec![None; p.events.len()],
            })
            .collect();
        // Only the energy counters move by themselves; everything else
        // changes with an action, and is checked then.
        let watches = config.publish.iter().any(|p| {
            p.events.iter().any(|e| {
                matches!(e, EventSpec::Change { source } | EventSpec::Delta { source, .. }
                    if source.moves_by_itself())
            })
        });
        let output = Output {
            on: false,
            delay_ms: DEFAULT_DELAY_MS,
            pending: None,
            energy_wms: START_ENERGY_WH * 3_600_000.0,
        };
        Ok(Self {
            name,
            mac,
            sn,
            config,
            outputs: vec![output; outputs],
            entries,
            check: watches.then(|| Every::new(CHECK_PERIOD_MS)),
            metered_at: None,
            clock: 0,
        })
    }

    /// A device with the built-in config ([`default_config_json`]).
    pub fn with_default_config(name: impl Into<String>, outputs: usize) -> Self {
        let outputs = outputs.max(1);
        let name = name.into();
        match Self::new(name.clone(), NetioConfig::default_for(outputs), outputs) {
            Ok(dev) => dev,
            // The built-in config names only outputs the device has.
            Err(_) => Self {
                name,
                mac: String::new(),
                sn: String::new(),
                config: NetioConfig::default_for(0),
                outputs: Vec::new(),
                entries: Vec::new(),
                check: None,
                metered_at: None,
                clock: 0,
            },
        }
    }

    /// The same device with every output's short on/off delay set to
    /// `delay_ms` milliseconds.
    pub fn with_delay_ms(mut self, delay_ms: u64) -> Self {
        for o in &mut self.outputs {
            o.delay_ms = delay_ms;
        }
        self
    }

    /// Whether output `n` (1-based, as NETIO counts) is on.
    pub fn output(&self, n: usize) -> Option<bool> {
        self.outputs.get(n.checked_sub(1)?).map(|o| o.on)
    }

    /// Its `${DEVICE_MAC}`.
    pub fn mac(&self) -> &str {
        &self.mac
    }

    fn load_w(&self, i: usize) -> u64 {
        if self.outputs[i].on {
            LOADS_W[i % LOADS_W.len()]
        } else {
            0
        }
    }

    fn current_ma(&self, i: usize) -> u64 {
        let load = self.load_w(i) as f64;
        (load / (VOLTAGE_V * POWER_FACTOR_ON) * 1000.0).round() as u64
    }

    fn power_factor(&self, i: usize) -> f64 {
        if self.outputs[i].on {
            POWER_FACTOR_ON
        } else {
            0.0
        }
    }

    fn energy_wh(&self, i: usize) -> u64 {
        (self.outputs[i].energy_wms / 3_600_000.0).floor() as u64
    }

    /// The value of a variable; `payload` is what `${payload}` stands for.
    fn text(&self, var: Var, payload: &str) -> String {
        match var {
            Var::DeviceName => self.name.clone(),
            Var::DeviceMac => self.mac.clone(),
            Var::DeviceSn => self.sn.clone(),
            Var::UtcTime => utc(EPOCH_S + self.clock / 1000, "Z"),
            Var::Payload => payload.to_owned(),
            Var::Output(slot, q) => self.quantity(slot, q),
            Var::OutputsStatus => Value::Array(self.outputs_list()).to_string(),
            Var::InputsStatus => "[]".into(),
            Var::InoutStatus => json!({"Inputs": [], "Outputs": self.outputs_list()}).to_string(),
        }
    }

    /// `${OUTPUTS/<n>/<q>}` or `${OUTPUTS/TOTAL/<q>}`.
    fn quantity(&self, slot: Slot, q: Quantity) -> String {
        let outputs: Vec<usize> = match slot {
            Slot::Output(n) => n
                .checked_sub(1)
                .filter(|&i| i < self.outputs.len())
                .into_iter()
                .collect(),
            Slot::Total => (0..self.outputs.len()).collect(),
        };
        let Some(&first) = outputs.first() else {
            return String::new();
        };
        let sum = |f: &dyn Fn(usize) -> u64| outputs.iter().map(|&i| f(i)).sum::<u64>();
        match q {
            Quantity::State => u8::from(self.outputs[first].on).to_string(),
            // What the JSON API reads back for an output's action: "ignore".
            Quantity::Action => "6".into(),
            Quantity::Delay => self.outputs[first].delay_ms.to_string(),
            Quantity::Name => format!("Output {}", first + 1),
            Quantity::Voltage => format!("{VOLTAGE_V:.0}"),
            Quantity::Current => sum(&|i| self.current_ma(i)).to_string(),
            Quantity::PowerFactor => {
                let on = outputs.iter().any(|&i| self.outputs[i].on);
                format!("{:.2}", if on { POWER_FACTOR_ON } else { 0.0 })
            }
            Quantity::Load => sum(&|i| self.load_w(i)).to_string(),
            Quantity::Frequency => format!("{FREQUENCY_HZ:.1}"),
            Quantity::Energy | Quantity::EnergyNr => sum(&|i| self.energy_wh(i)).to_string(),
            Quantity::ReverseEnergy | Quantity::ReverseEnergyNr => "0".into(),
            Quantity::EnergyStart => ENERGY_START_S.to_string(),
            Quantity::EnergyStartFmt => utc(ENERGY_START_S, "+00:00"),
        }
    }

    /// The netio.json `Outputs` list.
    fn outputs_list(&self) -> Vec<Value> {
        (0..self.outputs.len())
            .map(|i| {
                json!({
                    "ID": i + 1,
                    "Name": format!("Output {}", i + 1),
                    "State": u8::from(self.outputs[i].on),
                    "Action": 6,
                    "Delay": self.outputs[i].delay_ms,
                    "Current": self.current_ma(i),
                    "PowerFactor": self.power_factor(i),
                    "Load": self.load_w(i),
                    "Energy": self.energy_wh(i),
                })
            })
            .collect()
    }

    fn render(&self, template: &Template, payload: &str) -> String {
        let mut out = String::new();
        for piece in &template.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(&self.text(*v, payload)),
            }
        }
        out
    }

    /// Counts the energy drawn up to `now`.
    fn meter(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        let since = self.metered_at.replace(now).unwrap_or(now);
        let ms = now.saturating_sub(since) as f64;
        for i in 0..self.outputs.len() {
            let load = self.load_w(i) as f64;
            self.outputs[i].energy_wms += load * ms;
        }
    }

    /// Carries out an ACTION value on output `n` (1-based).
    fn act(&mut self, now: u64, n: usize, action: i64) {
        let Some(o) = n.checked_sub(1).and_then(|i| self.outputs.get_mut(i)) else {
            return;
        };
        match action {
            0 => (o.on, o.pending) = (false, None),
            1 => (o.on, o.pending) = (true, None),
            2 => (o.on, o.pending) = (false, Some((now.saturating_add(o.delay_ms), true))),
            3 => (o.on, o.pending) = (true, Some((now.saturating_add(o.delay_ms), false))),
            4 => (o.on, o.pending) = (!o.on, None),
            _ => {}
        }
    }

    /// A `REST_JSON` body: `{"Outputs":[{"ID":1,"Action":1}, …]}`.
    fn rest_json(&mut self, now: u64, body: &str) {
        let Ok(body) = serde_json::from_str::<Value>(body) else {
            return;
        };
        let Some(outputs) = body.get("Outputs").and_then(Value::as_array) else {
            return;
        };
        for o in outputs {
            let id = o.get("ID").and_then(Value::as_u64);
            let action = o.get("Action").and_then(Value::as_i64);
            if let (Some(id), Some(action)) = (id, action) {
                if let Ok(id) = usize::try_from(id) {
                    self.act(now, id, action);
                }
            }
        }
    }

    /// Switches back the short on/offs that are due.
    fn finish_pending(&mut self, now: u64) -> bool {
        let mut changed = false;
        for o in &mut self.outputs {
            if let Some((at, to)) = o.pending {
                if now >= at {
                    o.on = to;
                    o.pending = None;
                    changed = true;
                }
            }
        }
        changed
    }

    fn publish_entry(&self, k: usize) -> Publish {
        let rule = &self.config.publish[k];
        let mut p = Publish::new(self.render(&rule.topic, ""), self.render(&rule.payload, ""));
        p.qos = rule.qos;
        p.retain = rule.retain;
        p
    }

    /// Fires the events that are due: publishes each entry at most once.
    fn events(&mut self, now: u64) -> Vec<Publish> {
        let mut out = Vec::new();
        for k in 0..self.config.publish.len() {
            let mut fire = false;
            for (e, event) in self.config.publish[k].events.iter().enumerate() {
                match event {
                    EventSpec::Change { source } => {
                        let v = self.text(*source, "");
                        let seen = &mut self.entries[k].seen[e];
                        if seen.as_deref() != Some(v.as_str()) {
                            fire |= seen.is_some();
                            *seen = Some(v);
                        }
                    }
                    EventSpec::Delta { source, delta } => {
                        let v = self.text(*source, "");
                        let seen = &mut self.entries[k].seen[e];
                        let number = |s: &str| s.trim().parse::<f64>().ok();
                        match (seen.as_deref().and_then(number), number(&v)) {
                            (Some(was), Some(is)) => fire |= (is - was).abs() + 1e-9 >= *delta,
                            _ => *seen = Some(v),
                        }
                    }
                    EventSpec::Timer { .. } => {
                        if let Some(timer) = self.entries[k].timers[e].as_mut() {
                            fire |= timer.due(now);
                        }
                    }
                }
            }
            if fire {
                self.mark_published(k);
                out.push(self.publish_entry(k));
            }
        }
        out
    }

    /// An entry went out: its delta events measure from here.
    fn mark_published(&mut self, k: usize) {
        for (e, event) in self.config.publish[k].events.iter().enumerate() {
            if let EventSpec::Delta { source, .. } | EventSpec::Change { source } = event {
                self.entries[k].seen[e] = Some(self.text(*source, ""));
            }
        }
    }
}

impl DeviceModel for Netio {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn client_id(&self) -> String {
        match &self.config.client_id {
            Some(t) => self.render(t, ""),
            None => format!("netio_{}", self.name),
        }
    }

    fn will(&self) -> Option<LastWill> {
        None
    }

    fn credentials(&self) -> Option<(String, String)> {
        let user = self.config.username.clone()?;
        Some((user, self.config.password.clone().unwrap_or_default()))
    }

    fn subscriptions(&self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for s in &self.config.subscribe {
            let t = self.render(&s.topic, "");
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
        topics
    }

    fn on_connected(&mut self, now: u64) -> Vec<Publish> {
        self.meter(now);
        self.finish_pending(now);
        for entry in &mut self.entries {
            for timer in entry.timers.iter_mut().flatten() {
                timer.start(now);
            }
        }
        if let Some(check) = self.check.as_mut() {
            check.start(now);
        }
        (0..self.config.publish.len())
            .map(|k| {
                self.mark_published(k);
                self.publish_entry(k)
            })
            .collect()
    }

    fn handle_message(&mut self, now: u64, topic: &str, payload: &[u8]) -> Vec<Publish> {
        self.meter(now);
        self.finish_pending(now);
        let payload = String::from_utf8_lossy(payload);
        for k in 0..self.config.subscribe.len() {
            let rule = &self.config.subscribe[k];
            if !matches(&self.render(&rule.topic, ""), topic) {
                continue;
            }
            let action = self.render(&rule.action, &payload);
            match rule.target {
                Target::Action(n) => {
                    if let Ok(a) = action.trim().parse::<i64>() {
                        self.act(now, n, a);
                    }
                }
                Target::RestJson => self.rest_json(now, &action),
            }
        }
        self.events(now)
    }

    fn poll_timeout(&self) -> Option<u64> {
        let timers = self
            .entries
            .iter()
            .flat_map(|e| e.timers.iter().flatten())
            .filter_map(Every::deadline)
            .min();
        let pending = self
            .outputs
            .iter()
            .filter_map(|o| o.pending)
            .map(|p| p.0)
            .min();
        let check = self.check.as_ref().and_then(Every::deadline);
        crate::earliest(crate::earliest(timers, pending), check)
    }

    fn handle_timeout(&mut self, now: u64) -> Vec<Publish> {
        self.meter(now);
        self.finish_pending(now);
        if let Some(check) = self.check.as_mut() {
            check.due(now);
        }
        self.events(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pairs;

    fn s(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    fn err(text: &str) -> String {
        NetioConfig::parse(text).unwrap_err().to_string()
    }

    /// A config with one subscribe entry and these publish entries.
    fn config(publish: &str) -> NetioConfig {
        NetioConfig::parse(&format!(
            r#"{{"config":{{"broker":{{"clientid":"netio_${{DEVICE_SN}}"}},
                "subscribe":[{{"topic":"netio/${{DEVICE_NAME}}/output/1/action","qos":0,
                               "target":"OUTPUTS/1/ACTION","action":"${{payload}}"}}],
                "publish":[{publish}]}}}}"#
        ))
        .unwrap()
    }

    const STATE_ON_CHANGE: &str = r#"{"topic":"netio/${DEVICE_NAME}/output/1/state","qos":0,"retain":true,
        "payload":"${OUTPUTS/1/STATE}","events":[{"type":"change","source":"OUTPUTS/1/STATE"}]}"#;

    #[test]
    fn the_built_in_config_parses_and_uses_the_common_scheme() {
        let mut dev = Netio::with_default_config("pdu", 4);
        assert_eq!(dev.client_id(), "netio_pdu");
        assert_eq!(dev.will(), None);
        assert_eq!(
            dev.subscriptions(),
            (1..=4)
                .map(|n| format!("netio/pdu/output/{n}/action"))
                .collect::<Vec<_>>()
        );
        let birth = dev.on_connected(0);
        assert_eq!(birth.len(), 4 * 6);
        assert_eq!(
            pairs(&birth[..6]),
            [
                s("netio/pdu/output/1/state", "0"),
                s("netio/pdu/output/1/load", "0"),
                s("netio/pdu/output/1/current", "0"),
                s("netio/pdu/output/1/voltage", "230"),
                s("netio/pdu/output/1/energy", "1234"),
                s("netio/pdu/output/1/power_factor", "0.00"),
            ]
        );
        assert!(birth[0].retain && !birth[1].retain);
        // Output 3 on: state changes, load moves by 100 W.
        let on = dev.handle_message(1, "netio/pdu/output/3/action", b"1");
        assert_eq!(
            pairs(&on),
            [
                s("netio/pdu/output/3/state", "1"),
                s("netio/pdu/output/3/load", "100"),
            ]
        );
        assert_eq!(dev.output(3), Some(true));
        // Everything every 30 s.
        assert_eq!(dev.poll_timeout(), Some(30_000));
        let tick = pairs(&dev.handle_timeout(30_000));
        assert_eq!(tick.len(), 4 * 6);
        assert!(tick.contains(&s("netio/pdu/output/3/current", "448")));
        assert!(tick.contains(&s("netio/pdu/output/3/power_factor", "0.97")));
        assert_eq!(NetioConfig::default_for(2).max_output(), 2);
    }

    #[test]
    fn actions() {
        let mut dev = Netio::new("n", config(STATE_ON_CHANGE), 1).unwrap();
        dev.on_connected(0);
        let topic = "netio/n/output/1/action";
        let state = |out: Vec<Publish>| pairs(&out).into_iter().map(|p| p.1).collect::<Vec<_>>();
        assert_eq!(state(dev.handle_message(0, topic, b"1")), ["1"]);
        assert_eq!(
            state(dev.handle_message(0, topic, b"1")),
            Vec::<String>::new()
        );
        assert_eq!(state(dev.handle_message(0, topic, b"4")), ["0"]);
        assert_eq!(state(dev.handle_message(0, topic, b" 4\n")), ["1"]);
        assert_eq!(state(dev.handle_message(0, topic, b"0")), ["0"]);
        // 5 no change; anything else is ignored, silently.
        for ignored in [
            &b"5"[..],
            b"6",
            b"-1",
            b"on",
            b"",
            b"\xff",
            b"99999999999999999999",
        ] {
            assert!(dev.handle_message(0, topic, ignored).is_empty());
            assert_eq!(dev.output(1), Some(false));
        }
        assert!(dev
            .handle_message(0, "netio/other/output/1/action", b"1")
            .is_empty());
    }

    #[test]
    fn short_off_and_short_on_switch_back_after_the_delay() {
        let mut dev = Netio::new("n", config(STATE_ON_CHANGE), 1)
            .unwrap()
            .with_delay_ms(2_000);
        dev.on_connected(0);
        let topic = "netio/n/output/1/action";
        dev.handle_message(0, topic, b"1");
        // 2: off now…
        let off = dev.handle_message(10_000, topic, b"2");
        assert_eq!(pairs(&off), [s("netio/n/output/1/state", "0")]);
        assert_eq!(dev.poll_timeout(), Some(12_000));
        assert!(dev.handle_timeout(11_999).is_empty());
        // …and on again DELAY later: the change event fires both times.
        let on = dev.handle_timeout(12_000);
        assert_eq!(pairs(&on), [s("netio/n/output/1/state", "1")]);
        assert_eq!(dev.output(1), Some(true));
        assert_eq!(dev.poll_timeout(), None);
        // 3: on now (already on: no change), off after the delay.
        assert!(dev.handle_message(20_000, topic, b"3").is_empty());
        let off = dev.handle_timeout(22_000);
        assert_eq!(pairs(&off), [s("netio/n/output/1/state", "0")]);
        // A new action cancels a pending switch-back.
        dev.handle_message(30_000, topic, b"2");
        dev.handle_message(30_500, topic, b"1");
        assert_eq!(dev.poll_timeout(), None);
        assert_eq!(dev.output(1), Some(true));
        // The default delay is 5 s.
        let mut dev = Netio::with_default_config("d", 1);
        dev.on_connected(0);
        dev.handle_message(0, "netio/d/output/1/action", b"2");
        assert_eq!(dev.poll_timeout(), Some(DEFAULT_DELAY_MS));
    }

    #[test]
    fn timer_and_delta_events() {
        let mut dev = Netio::new(
            "n",
            config(
                r#"{"topic":"t/${DEVICE_NAME}/load","payload":"${OUTPUTS/1/LOAD} W",
                    "events":[{"type":"timer","period":60},
                              {"type":"delta","source":"OUTPUTS/1/LOAD","delta":50}]},
                   {"topic":"t/energy","payload":"${OUTPUTS/1/ENERGY}",
                    "events":[{"type":"change","source":"OUTPUTS/1/ENERGY"}]}"#,
            ),
            1,
        )
        .unwrap();
        let birth = dev.on_connected(0);
        assert_eq!(pairs(&birth), [s("t/n/load", "0 W"), s("t/energy", "1234")]);
        // 40 W is less than the delta of 50: not published.
        assert!(dev
            .handle_message(0, "netio/n/output/1/action", b"1")
            .is_empty());
        // Changes are checked every second; after 90 s at 40 W the counter
        // reaches 1235 Wh.
        assert_eq!(dev.poll_timeout(), Some(1_000));
        let mut seen = Vec::new();
        let mut now = 0;
        while now < 120_000 {
            now = dev.poll_timeout().unwrap();
            for p in pairs(&dev.handle_timeout(now)) {
                seen.push((now, p));
            }
        }
        assert_eq!(
            seen,
            [
                (60_000, s("t/n/load", "40 W")),
                (90_000, s("t/energy", "1235")),
                (120_000, s("t/n/load", "40 W")),
            ]
        );
    }

    #[test]
    fn variables_are_substituted() {
        let cfg = NetioConfig::parse(
            r#"{"config":{"broker":{"clientid":"c-${DEVICE_NAME}-${DEVICE_SN}","username":"u","password":"p"},
               "subscribe":[{"topic":"x/${DEVICE_MAC}/+/do","target":"REST_JSON"}],
               "publish":[{"topic":"x/${DEVICE_NAME}/all","payload":"${DEVICE_NAME} ${OUTPUTS/2/NAME} ${OUTPUTS/2/DELAY} ${OUTPUTS/2/VOLTAGE} ${OUTPUTS/2/FREQUENCY} ${OUTPUTS/2/POWER_FACTOR}","events":[{"type":"timer","period":1}]},
                          {"topic":"x/status","payload":"${OUTPUTS_STATUS}","events":[{"type":"change","source":"OUTPUTS/1/STATE"}]}]}}"#,
        )
        .unwrap();
        let mut dev = Netio::new("box", cfg, 2).unwrap();
        let mac = dev.mac().to_owned();
        assert!(mac.starts_with("24:A4:2C:") && mac.len() == 17, "{mac}");
        let sn = mac.replace(':', "");
        assert_eq!(dev.client_id(), format!("c-box-{sn}"));
        assert_eq!(dev.credentials(), Some(("u".into(), "p".into())));
        assert_eq!(dev.subscriptions(), [format!("x/{mac}/+/do")]);
        let birth = dev.on_connected(0);
        assert_eq!(birth[0].payload, "box Output 2 5000 230 50.0 0.00");
        // REST_JSON switches output 1 through a filter subscription.
        let out = dev.handle_message(
            5,
            &format!("x/{mac}/any/do"),
            br#"{"Outputs":[{"ID":1,"Action":1},{"ID":9,"Action":1}]}"#,
        );
        let status: Value = serde_json::from_slice(&out[0].payload).unwrap();
        assert_eq!(status[0]["State"], 1);
        assert_eq!(status[0]["Load"], 40);
        assert_eq!(status[1]["State"], 0);
        assert!(dev
            .handle_message(5, &format!("x/{mac}/any/do"), b"garbage")
            .is_empty());
    }

    #[test]
    fn config_errors_are_typed_and_say_where() {
        assert!(err("{").starts_with("not a JSON document"));
        assert_eq!(err("{}"), r#"(top level): missing field "config""#);
        assert_eq!(
            err(r#"{"config":{"subscribe":[{"target":"OUTPUTS/1/ACTION"}]}}"#),
            r#"config.subscribe[0]: missing field "topic""#
        );
        assert_eq!(
            err(
                r#"{"config":{"subscribe":[{"topic":"a","target":"OUTPUTS/1/FOO","action":"1"}]}}"#
            ),
            r#"config.subscribe[0]: unknown target "OUTPUTS/1/FOO" (expected OUTPUTS/<n>/ACTION or REST_JSON)"#
        );
        assert_eq!(
            err(r#"{"config":{"subscribe":[{"topic":"a","target":"OUTPUTS/1/ACTION"}]}}"#),
            r#"config.subscribe[0]: missing field "action""#
        );
        assert_eq!(
            err(r#"{"config":{"publish":[{"topic":"a","payload":"${OUTPUTS/1/WATTS}","events":[]}]}}"#),
            "config.publish[0].payload: bad variable \"${OUTPUTS/1/WATTS}\": unknown quantity \"WATTS\" \
             (expected STATE, ACTION, DELAY, NAME, VOLTAGE, CURRENT, POWER_FACTOR, LOAD, FREQUENCY, \
             ENERGY, REVERSE_ENERGY, ENERGY_NR, REVERSE_ENERGY_NR, ENERGY_START, ENERGY_START_FMT)"
        );
        assert!(err(
            r#"{"config":{"publish":[{"topic":"a/${OUTPUTS/1/STATE}","payload":"","events":[]}]}}"#
        )
        .starts_with("config.publish[0].topic: bad variable \"${OUTPUTS/1/STATE}\": only"));
        assert!(err(
            r#"{"config":{"publish":[{"topic":"a","payload":"${payload}","events":[]}]}}"#
        )
        .contains("only allowed in a subscribe entry's action"));
        assert!(err(
            r#"{"config":{"publish":[{"topic":"a","payload":"${DEVICE_NAME","events":[]}]}}"#
        )
        .contains("no closing"));
        assert_eq!(
            err(
                r#"{"config":{"publish":[{"topic":"a","payload":"","events":[{"type":"sometimes"}]}]}}"#
            ),
            r#"config.publish[0].events[0]: unknown event type "sometimes" (expected change, timer or delta)"#
        );
        assert_eq!(
            err(
                r#"{"config":{"publish":[{"topic":"a","payload":"","events":[{"type":"timer"}]}]}}"#
            ),
            r#"config.publish[0].events[0]: missing field "period""#
        );
        assert!(err(r#"{"config":{"publish":[{"topic":"a","payload":"","events":[{"type":"timer","period":0}]}]}}"#)
            .contains("not a number above 0"));
        assert!(err(r#"{"config":{"publish":[{"topic":"a","payload":"","events":[{"type":"change","source":"LOAD"}]}]}}"#)
            .starts_with("config.publish[0].events[0].source: bad variable \"LOAD\""));
        assert_eq!(
            err(r#"{"config":{"publish":[{"topic":"a","payload":""}]}}"#),
            r#"config.publish[0]: missing field "events""#
        );
        assert!(
            err(r#"{"config":{"publish":[{"topic":"a/#","payload":"","events":[]}]}}"#)
                .contains("wildcard")
        );
        assert!(
            err(r#"{"config":{"publish":[{"topic":"a","qos":3,"payload":"","events":[]}]}}"#)
                .contains("\"qos\"")
        );
        assert!(err(r#"{"config":{"subscribe":{}}}"#).contains("not an array"));
        // Valid, but for a device with fewer outputs.
        let big = config(r#"{"topic":"a","payload":"${OUTPUTS/6/LOAD}","events":[]}"#);
        assert_eq!(big.max_output(), 6);
        let e = Netio::new("n", big, 4).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"config.publish[0]: bad variable "OUTPUTS/6": the device has 4 outputs"#
        );
        let e = Netio::new("n", NetioConfig::default_for(4), 2).unwrap_err();
        assert!(matches!(e, NetioConfigError::UnknownTarget { .. }), "{e}");
    }

    #[test]
    fn totals_times_and_statuses() {
        let cfg = NetioConfig::parse(
            r#"{"config":{"publish":[
                {"topic":"t/total","payload":"${OUTPUTS/TOTAL/LOAD} ${OUTPUTS/TOTAL/CURRENT} ${OUTPUTS/TOTAL/ENERGY} ${OUTPUTS/TOTAL/POWER_FACTOR} ${OUTPUTS/2/REVERSE_ENERGY}",
                 "events":[{"type":"delta","source":"OUTPUTS/TOTAL/LOAD","delta":50}]},
                {"topic":"t/time","payload":"${UTC_TIME} ${OUTPUTS/1/ENERGY_START} ${OUTPUTS/1/ENERGY_START_FMT} ${OUTPUTS/1/ACTION}",
                 "events":[{"type":"timer","period":3600}]},
                {"topic":"t/status","payload":"${INPUTS_STATUS} ${INOUT_STATUS}",
                 "events":[{"type":"change","source":"OUTPUTS_STATUS"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(cfg.max_output(), 2);
        let mut dev = Netio::new("n", cfg, 3).unwrap();
        let birth = pairs(&dev.on_connected(0));
        assert_eq!(birth[0], s("t/total", "0 0 3702 0.00 0"));
        assert_eq!(
            birth[1],
            s(
                "t/time",
                "2025-11-24T16:00:00Z 1700000000 2023-11-14T22:13:20+00:00 6"
            )
        );
        assert!(
            birth[2].1.starts_with(r#"[] {"Inputs":[],"Outputs":[{"#),
            "{birth:?}"
        );
        // No subscriptions: act directly. 40 W + 60 W is a delta of 100 W.
        dev.act(1, 1, 1);
        dev.act(1, 2, 1);
        let out = pairs(&dev.handle_timeout(1));
        assert_eq!(out[0], s("t/total", "100 448 3702 0.97 0"));
        assert_eq!(out[1].0, "t/status");
        let hour = pairs(&dev.handle_timeout(3_600_000));
        assert!(hour.iter().any(|p| p
            == &s(
                "t/time",
                "2025-11-24T17:00:00Z 1700000000 2023-11-14T22:13:20+00:00 6"
            )));
        assert!(NetioConfig::parse(
            r#"{"config":{"publish":[{"topic":"a","payload":"${OUTPUTS/TOTAL/STATE}","events":[]}]}}"#
        )
        .unwrap_err()
        .to_string()
        .contains("only the measured quantities"));
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0, "Z"), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400, "Z"), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_709_251_199, "Z"), "2024-02-29T23:59:59Z");
        assert_eq!(utc(4_102_444_800, "Z"), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn filters() {
        assert!(matches("a/+/c", "a/b/c"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("a/b", "a/b"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/+", "a/b/c"));
    }
}
