//! The NETIO MQTT-flex generator and validator: what it writes is valid,
//! is exactly what the dashboard's NETIO adapter reads, and each problem a
//! pasted configuration can have is named with its JSON path.

use devices::netio_flex::{
    generate, validate, FlexError, FlexOptions, MAX_CONFIG_LEN, PASSWORD_PLACEHOLDER,
};
use devices::{ConnectionId, Dashboard, DeviceKey, Family, Power};
use serde_json::{json, Value};

fn options(outputs: u8) -> FlexOptions {
    FlexOptions {
        device_name: "box".into(),
        outputs,
        broker_host: "broker.lan".into(),
        ..FlexOptions::default()
    }
}

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Netio,
        id: id.into(),
    }
}

/// The topics a NETIO named "box" with 4 outputs publishes.
fn expected_box_topics() -> Vec<String> {
    let mut topics = Vec::new();
    for n in 1..=4 {
        for leaf in [
            "state",
            "load",
            "current",
            "voltage",
            "energy",
            "power_factor",
        ] {
            topics.push(format!("netio/box/output/{n}/{leaf}"));
        }
    }
    topics
}

#[test]
fn generated_config_validates_and_says_what_it_does() {
    let json = generate(&options(4)).unwrap();
    let summary = validate(&json).unwrap();
    assert_eq!(summary.commanded, [1, 2, 3, 4]);
    assert!(!summary.rest_json);
    assert_eq!(
        summary.subscribed,
        (1..=4)
            .map(|n| format!("netio/${{DEVICE_NAME}}/output/{n}/action"))
            .collect::<Vec<_>>()
    );
    assert_eq!(summary.published.len(), 24);
    assert!(summary
        .published
        .iter()
        .all(|t| t.starts_with("netio/${DEVICE_NAME}/output/")));
    assert_eq!(summary.published_for("box"), expected_box_topics());
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    // Pretty-printed, keys in reading order.
    assert!(
        json.starts_with("{\n  \"config\": {\n    \"broker\": {\n"),
        "{json}"
    );
    assert!(json.find("\"broker\"") < json.find("\"subscribe\""));
    assert!(json.find("\"subscribe\"") < json.find("\"publish\""));
}

#[test]
fn generated_entries_have_the_documented_shape() {
    let json: Value = serde_json::from_str(&generate(&options(2)).unwrap()).unwrap();
    let config = &json["config"];
    assert_eq!(
        config["broker"],
        json!({"url":"broker.lan","protocol":"mqtt","port":1883,"ssl":false,"type":"generic",
               "username":"","password":"","clientid":"netio_${DEVICE_NAME}","keepalive":30})
    );
    assert_eq!(
        config["subscribe"][1],
        json!({"topic":"netio/${DEVICE_NAME}/output/2/action","qos":0,
               "target":"OUTPUTS/2/ACTION","action":"${payload}"})
    );
    // State: retained, on change and on the timer.
    assert_eq!(
        config["publish"][0],
        json!({"topic":"netio/${DEVICE_NAME}/output/1/state","qos":0,"retain":true,
               "payload":"${OUTPUTS/1/STATE}",
               "events":[{"type":"change","source":"OUTPUTS/1/STATE"},
                         {"type":"timer","period":30}]})
    );
    // Load: not retained, the timer and a delta.
    assert_eq!(
        config["publish"][1],
        json!({"topic":"netio/${DEVICE_NAME}/output/1/load","qos":0,"retain":false,
               "payload":"${OUTPUTS/1/LOAD}",
               "events":[{"type":"timer","period":30},
                         {"type":"delta","source":"OUTPUTS/1/LOAD","delta":5}]})
    );
    assert_eq!(
        config["publish"][8],
        json!({"topic":"netio/${DEVICE_NAME}/output/2/current","qos":0,"retain":false,
               "payload":"${OUTPUTS/2/CURRENT}","events":[{"type":"timer","period":30}]})
    );
    for entry in config["publish"].as_array().unwrap() {
        let retained = entry["retain"] == json!(true);
        let state = entry["topic"].as_str().unwrap().ends_with("/state");
        assert_eq!(retained, state, "{entry}");
    }
}

/// Every topic the generated configuration publishes lands on the tile,
/// and every command the tile sends is one the configuration subscribes.
#[test]
fn the_generated_topics_are_exactly_what_the_dashboard_reads() {
    let summary = validate(&generate(&options(4)).unwrap()).unwrap();
    let mut d = Dashboard::new(ConnectionId(1));
    for topic in summary.published_for("box") {
        let payload: &[u8] = if topic.ends_with("/state") {
            b"1"
        } else {
            b"5"
        };
        let update = d.handle_message(&topic, payload, false, 0);
        assert_eq!(update.changed, [key("box")], "{topic}");
    }
    let device = d.device(&key("box")).unwrap();
    assert_eq!(device.outlets.len(), 4);
    assert!(device
        .outlets
        .iter()
        .all(|o| o.confirmed == Some(Power::On)));
    let readings = device.readings;
    assert_eq!(readings.power_w, Some(20.0));
    assert_eq!(readings.current_a, Some(0.02));
    assert_eq!(readings.voltage_v, Some(5.0));
    assert_eq!(readings.energy_total_kwh, Some(0.02));
    let commands: Vec<String> = summary
        .subscribed
        .iter()
        .map(|t| t.replace("${DEVICE_NAME}", "box"))
        .collect();
    for n in 1..=4 {
        let sent = d.request(&key("box"), n, Power::Off, 0).unwrap();
        assert!(commands.contains(&sent[0].topic), "{}", sent[0].topic);
    }
}

#[test]
fn a_username_gets_a_password_placeholder_never_a_password() {
    let json = generate(&FlexOptions {
        username: "netio".into(),
        client_id: "pdu-${DEVICE_MAC}".into(),
        tls: true,
        broker_port: 8883,
        load_delta_w: 0,
        period_s: 60,
        ..options(1)
    })
    .unwrap();
    let value: Value = serde_json::from_str(&json).unwrap();
    let broker = &value["config"]["broker"];
    assert_eq!(broker["username"], "netio");
    assert_eq!(broker["password"], PASSWORD_PLACEHOLDER);
    assert_eq!(broker["clientid"], "pdu-${DEVICE_MAC}");
    assert_eq!(broker["ssl"], true);
    assert_eq!(broker["port"], 8883);
    // No delta event when load_delta_w is 0.
    assert_eq!(
        value["config"]["publish"][1]["events"],
        json!([{"type":"timer","period":60}])
    );
    let summary = validate(&json).unwrap();
    assert_eq!(
        summary.warnings,
        ["broker.password: still the placeholder; enter the password on the device"]
    );
}

#[test]
fn another_prefix_is_used_throughout() {
    let summary = validate(
        &generate(&FlexOptions {
            prefix: "site/pdu".into(),
            ..options(1)
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary.subscribed,
        ["site/pdu/${DEVICE_NAME}/output/1/action"]
    );
    assert!(summary
        .published
        .iter()
        .all(|t| t.starts_with("site/pdu/${DEVICE_NAME}/output/1/")));
}

#[test]
fn unusable_options_are_refused_with_the_field() {
    let cases: Vec<(FlexOptions, &str)> = vec![
        (
            FlexOptions {
                device_name: String::new(),
                ..options(4)
            },
            "device_name: is empty",
        ),
        (
            FlexOptions {
                device_name: "rack/1".into(),
                ..options(4)
            },
            "device_name: contains /, which would split the topic level",
        ),
        (
            FlexOptions {
                device_name: "x".repeat(129),
                ..options(4)
            },
            "device_name: is longer than 128 bytes",
        ),
        (options(0), "outputs: must be from 1 to 8"),
        (options(9), "outputs: must be from 1 to 8"),
        (
            FlexOptions {
                prefix: "netio/+".into(),
                ..options(4)
            },
            "prefix: contains the MQTT wildcard + or #",
        ),
        (
            FlexOptions {
                prefix: "$SYS".into(),
                ..options(4)
            },
            "prefix: starts with $, which brokers reserve ($SYS)",
        ),
        (
            FlexOptions {
                prefix: "netio/".into(),
                ..options(4)
            },
            "prefix: has an empty topic level (a leading, trailing or double /)",
        ),
        (
            FlexOptions {
                period_s: 0,
                ..options(4)
            },
            "period_s: must be from 1 to 3600 seconds",
        ),
        (
            FlexOptions {
                broker_host: String::new(),
                ..options(4)
            },
            "broker_host: is empty",
        ),
        (
            FlexOptions {
                broker_host: "mqtt://broker.lan".into(),
                ..options(4)
            },
            "broker_host: must be a host name or address only (no mqtt://, no path)",
        ),
        (
            FlexOptions {
                broker_port: 0,
                ..options(4)
            },
            "broker_port: must be from 1 to 65535",
        ),
        (
            FlexOptions {
                username: "u".repeat(129),
                ..options(4)
            },
            "username: is longer than 128 characters",
        ),
        (
            FlexOptions {
                client_id: "c".repeat(129),
                ..options(4)
            },
            "client_id: is longer than 128 characters",
        ),
    ];
    for (options, message) in cases {
        let error = generate(&options).unwrap_err();
        assert_eq!(error.to_string(), message);
        assert!(matches!(error, FlexError::Option { .. }));
    }
}

/// A variable the validator does not know in a client id is caught by
/// the validation `generate` runs on its own output.
#[test]
fn generate_validates_its_output() {
    let error = generate(&FlexOptions {
        client_id: "netio_${DEVICE_NAM}".into(),
        ..options(1)
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "broker.clientid: unknown variable ${DEVICE_NAM}"
    );
}

/// A change to a configuration.
type Edit = Box<dyn FnOnce(&mut Value)>;

/// The generated configuration for 2 outputs, edited, then validated.
fn broken(edit: impl FnOnce(&mut Value)) -> FlexError {
    let mut value: Value = serde_json::from_str(&generate(&options(2)).unwrap()).unwrap();
    edit(&mut value);
    validate(&value.to_string()).unwrap_err()
}

fn set(value: &mut Value, pointer: &str, new: Value) {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = new;
}

fn remove(value: &mut Value, pointer: &str, key: &str) {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key))
        .unwrap_or_else(|| panic!("{pointer}/{key}"));
}

#[test]
fn each_problem_is_named_with_its_path() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| *v = json!([])),
            "(top level): must be an object with \"config\"",
        ),
        (Box::new(|v| *v = json!({})), "config: missing"),
        (
            Box::new(|v| set(v, "/config", json!("x"))),
            "config: must be an object",
        ),
        (
            Box::new(|v| remove(v, "/config", "broker")),
            "broker: missing",
        ),
        (
            Box::new(|v| remove(v, "/config", "publish")),
            "publish: missing",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe", json!({}))),
            "subscribe: must be an array",
        ),
        (
            Box::new(|v| remove(v, "/config/broker", "url")),
            "broker.url: missing",
        ),
        (
            Box::new(|v| set(v, "/config/broker/url", json!(" "))),
            "broker.url: must not be empty",
        ),
        (
            Box::new(|v| set(v, "/config/broker/port", json!("1883"))),
            "broker.port: must be a number",
        ),
        (
            Box::new(|v| set(v, "/config/broker/port", json!(70_000))),
            "broker.port: must be a whole number from 1 to 65535",
        ),
        (
            Box::new(|v| set(v, "/config/broker/ssl", json!("no"))),
            "broker.ssl: must be true or false",
        ),
        (
            Box::new(|v| set(v, "/config/broker/keepalive", json!(-1))),
            "broker.keepalive: must be a whole number from 0 to 65535",
        ),
        (
            Box::new(|v| set(v, "/config/broker/clientid", json!("c".repeat(129)))),
            "broker.clientid: longer than 128 characters",
        ),
        (
            Box::new(|v| set(v, "/config/broker/username", json!("ü".repeat(129)))),
            "broker.username: longer than 128 characters",
        ),
        (
            Box::new(|v| set(v, "/config/broker/password", json!("p".repeat(257)))),
            "broker.password: longer than 256 characters",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0", json!("topic"))),
            "subscribe[0]: must be an object",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/topic", json!(""))),
            "subscribe[0].topic: must not be empty",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/topic", json!("t".repeat(257)))),
            "subscribe[0].topic: longer than 256 bytes",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/topic", json!("netio/a#/x"))),
            "subscribe[0].topic: + and # must each fill a whole topic level, and # must be the last",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/topic", json!("netio/#/x"))),
            "subscribe[0].topic: + and # must each fill a whole topic level, and # must be the last",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/qos", json!(3))),
            "subscribe[0].qos: must be a whole number from 0 to 2",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/1/target", json!("OUTPUTS/9/ACTION"))),
            "subscribe[1].target: OUTPUTS/9/ACTION names an output outside 1 to 8",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/1/target", json!("OUTPUTS/1/STATE"))),
            "subscribe[1].target: unknown target \"OUTPUTS/1/STATE\" (OUTPUTS/<n>/ACTION \
             with n from 1 to 8, or REST_JSON)",
        ),
        (
            Box::new(|v| remove(v, "/config/subscribe/1", "target")),
            "subscribe[1].target: missing",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/action", json!("7"))),
            "subscribe[0].action: \"7\" is not an action (0 off, 1 on, 2 short off, \
             3 short on, 4 toggle, 5 no change, or a variable such as ${payload})",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/action", json!("${payload"))),
            "subscribe[0].action: \"${\" without its closing \"}\"",
        ),
        (
            Box::new(|v| set(v, "/config/subscribe/0/action", json!("${pay${load}"))),
            "subscribe[0].action: \"${\" without its closing \"}\"",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/topic", json!("netio/+/x"))),
            "publish[3].topic: a publish topic must not contain the wildcards + or #",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/topic", json!("netio/\u{0}/x"))),
            "publish[3].topic: contains a control character",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/topic", json!("netio/${DEVICE}/x"))),
            "publish[3].topic: unknown variable ${DEVICE}",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/payload", json!("${OUTPUTS/1/WATTS}"))),
            "publish[0].payload: unknown variable ${OUTPUTS/1/WATTS}",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/payload", json!("${OUTPUTS/9/LOAD}"))),
            "publish[0].payload: OUTPUTS/9/LOAD names an output outside 1 to 8",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/payload", json!("${payload}"))),
            "publish[0].payload: ${payload} exists only in a subscription's action",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/payload", json!(1))),
            "publish[0].payload: must be a string",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/retain", json!("yes"))),
            "publish[0].retain: must be true or false",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/events", json!([]))),
            "publish[0].events: needs at least one event, or it is never published",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/events/0/period", json!(0))),
            "publish[3].events[0].period: must be at least 1 second",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/events/0/period", json!(-5))),
            "publish[3].events[0].period: must be at least 1 second",
        ),
        (
            Box::new(|v| set(v, "/config/publish/3/events/0/period", json!(1.5))),
            "publish[3].events[0].period: must be a whole number of seconds",
        ),
        (
            Box::new(|v| remove(v, "/config/publish/3/events/0", "period")),
            "publish[3].events[0].period: missing",
        ),
        (
            Box::new(|v| set(v, "/config/publish/1/events/1/delta", json!(0))),
            "publish[1].events[1].delta: must be a number greater than 0",
        ),
        (
            Box::new(|v| set(v, "/config/publish/1/events/1/delta", json!("5"))),
            "publish[1].events[1].delta: must be a number greater than 0",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/events/0/type", json!("sometimes"))),
            "publish[0].events[0].type: unknown event type \"sometimes\" (change, timer or delta)",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/events/0/source", json!("DEVICE_NAME"))),
            "publish[0].events[0].source: \"DEVICE_NAME\" is not a variable to watch \
             (such as OUTPUTS/1/LOAD)",
        ),
        (
            Box::new(|v| set(v, "/config/publish/0/events/0/source", json!("${OUTPUTS/1/STATE}"))),
            "publish[0].events[0].source: \"${OUTPUTS/1/STATE}\" is not a variable to watch \
             (such as OUTPUTS/1/LOAD)",
        ),
        (
            Box::new(|v| remove(v, "/config/publish/0/events/0", "source")),
            "publish[0].events[0].source: missing",
        ),
    ];
    for (edit, message) in cases {
        let error = broken(edit);
        assert_eq!(error.to_string(), message);
        let path = error.path().unwrap();
        assert!(message.starts_with(path), "{path} / {message}");
    }
}

#[test]
fn not_json_and_too_large_are_refused_first() {
    let error = validate("{\"config\":\n  {").unwrap_err();
    assert!(
        matches!(error, FlexError::Json { line: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("not valid JSON: "), "{error}");
    assert_eq!(error.path(), None);
    let error = validate(&" ".repeat(MAX_CONFIG_LEN + 1)).unwrap_err();
    assert_eq!(
        error,
        FlexError::TooLarge {
            len: MAX_CONFIG_LEN + 1
        }
    );
    assert_eq!(
        error.to_string(),
        "the configuration is 65537 bytes; at most 65536 are accepted"
    );
}

/// A hand-written configuration with what the wiki and the PyNetioConf
/// example use besides the common scheme.
#[test]
fn other_valid_forms_are_accepted_and_unknown_keys_warned() {
    let config = json!({"config":{
        "broker":{"url":"10.0.0.2","port":1883,"clientid":"netio-${DEVICE_SN}","cert":"x"},
        "subscribe":[
            {"topic":"netio/${DEVICE_MAC}/output/1/action","qos":1,
             "target":"OUTPUTS/1/ACTION","action":"${payload}"},
            {"topic":"pdu/+/all","target":"OUTPUTS/3/ACTION","action":"4"},
            {"topic":"aws/${DEVICE_SN}/set","target":"REST_JSON","action":"${payload}"},
            {"topic":"x/#","target":"OUTPUTS/3/ACTION","action":"0"}
        ],
        "publish":[
            {"topic":"pdu/${DEVICE_NAME}/total","payload":"{\"load\":${OUTPUTS/TOTAL/LOAD},\"at\":\"${UTC_TIME}\"}",
             "events":[{"type":"delta","source":"OUTPUTS/TOTAL/LOAD","delta":0.5}]},
            {"topic":"pdu/${DEVICE_NAME}/status","payload":"${OUTPUTS_STATUS}","retain":false,
             "events":[{"type":"change","source":"OUTPUTS_STATUS","when":"always"},
                       {"type":"timer","period":3600}]},
            {"topic":"pdu/${DEVICE_NAME}/status","payload":"${OUTPUTS/8/ENERGY_NR}",
             "events":[{"type":"timer","period":1}]}
        ]},
        "version":2});
    let summary = validate(&config.to_string()).unwrap();
    assert_eq!(summary.commanded, [1, 3]);
    assert!(summary.rest_json);
    assert_eq!(summary.subscribed.len(), 4);
    assert_eq!(
        summary.published_for("p1"),
        ["pdu/p1/total", "pdu/p1/status", "pdu/p1/status"]
    );
    assert_eq!(
        summary.warnings,
        [
            "(top level).version: unknown key (the device may ignore it, or not)",
            "broker.cert: unknown key (the device may ignore it, or not)",
            "publish[1].events[0].when: unknown key (the device may ignore it, or not)",
            "publish[2].topic: \"pdu/${DEVICE_NAME}/status\" is published twice",
        ]
    );
}

/// Whatever is pasted, the validator answers (it runs on user input).
#[test]
fn truncated_or_mangled_input_never_panics() {
    let json = generate(&options(1)).unwrap();
    for (at, _) in json.char_indices() {
        let _ = validate(&json[..at]);
        for c in ['{', '}', '[', ']', '"', '$', '/', '+', '#', '0', ','] {
            let mut mangled = json.clone();
            mangled.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
            let _ = validate(&mangled);
        }
    }
}
