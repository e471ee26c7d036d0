//! The Zigbee2MQTT adapter, with the payloads of the conventions reference
//! §C4 (Zigbee2MQTT's MQTT topics, exposes and availability documentation).

use devices::{ConnectionId, Dashboard, DeviceKey, Family, Power};

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Zigbee2Mqtt,
        id: id.into(),
    }
}

const DEVICES: &[u8] = br#"[
  {"friendly_name":"Coordinator","type":"Coordinator"},
  {"friendly_name":"kitchen_plug","definition":{"model":"ZNCZ02LM","exposes":[
    {"type":"switch","features":[{"type":"binary","name":"state","property":"state","value_on":"ON","value_off":"OFF","value_toggle":"TOGGLE","access":7}]},
    {"type":"numeric","name":"power","property":"power","unit":"W","access":5}]}},
  {"friendly_name":"double","definition":{"exposes":[
    {"type":"switch","endpoint":"l1","features":[{"type":"binary","name":"state","property":"state_l1","value_on":"ON","value_off":"OFF","access":7}]},
    {"type":"switch","endpoint":"l2","features":[{"type":"binary","name":"state","property":"state_l2","value_on":"ON","value_off":"OFF","access":7}]}]}},
  {"friendly_name":"thermometer","definition":{"exposes":[{"type":"numeric","name":"temperature","property":"temperature","access":1}]}}
]"#;

#[test]
fn bridge_devices_finds_the_switches_and_asks_for_their_state() {
    let mut d = Dashboard::new(ConnectionId(1));
    let update = d.handle_message("zigbee2mqtt/bridge/devices", DEVICES, true, 0);
    assert_eq!(update.changed, [key("kitchen_plug"), key("double")]);
    let asks: Vec<_> = update
        .publish
        .iter()
        .map(|p| {
            (
                p.topic.as_str(),
                String::from_utf8_lossy(&p.payload).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        asks,
        [
            ("zigbee2mqtt/kitchen_plug/get", r#"{"state":""}"#.to_owned()),
            ("zigbee2mqtt/double/get", r#"{"state":""}"#.to_owned()),
        ]
    );
}

#[test]
fn state_json_sets_outlets_and_readings() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("zigbee2mqtt/bridge/devices", DEVICES, true, 0);
    d.handle_message(
        "zigbee2mqtt/kitchen_plug",
        br#"{"state":"ON","power":12.5,"voltage":230,"current":0.05,"energy":1.2,"linkquality":120}"#,
        false,
        0,
    );
    let plug = d.device(&key("kitchen_plug")).unwrap();
    assert_eq!(plug.outlet(1).unwrap().confirmed, Some(Power::On));
    assert_eq!(plug.readings.power_w, Some(12.5));
    assert_eq!(plug.readings.energy_total_kwh, Some(1.2));
    d.handle_message(
        "zigbee2mqtt/double",
        br#"{"state_l1":"OFF","state_l2":"ON"}"#,
        false,
        0,
    );
    let double = d.device(&key("double")).unwrap();
    let states: Vec<_> = double
        .outlets
        .iter()
        .map(|o| (o.index, o.confirmed))
        .collect();
    assert_eq!(states, [(1, Some(Power::Off)), (2, Some(Power::On))]);
}

#[test]
fn commands_go_to_set_with_the_property_of_the_outlet() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("zigbee2mqtt/bridge/devices", DEVICES, true, 0);
    d.handle_message(
        "zigbee2mqtt/double",
        br#"{"state_l1":"OFF","state_l2":"OFF"}"#,
        false,
        0,
    );
    let steps = d.request(&key("double"), 2, Power::On, 0).unwrap();
    assert_eq!(steps[0].topic, "zigbee2mqtt/double/set");
    assert_eq!(steps[0].payload, br#"{"state_l2":"ON"}"#);
}

#[test]
fn availability_in_both_forms() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message(
        "zigbee2mqtt/kitchen_plug/availability",
        br#"{"state":"online"}"#,
        true,
        0,
    );
    assert_eq!(d.device(&key("kitchen_plug")).unwrap().online, Some(true));
    // Before v2.0: a plain string.
    d.handle_message("zigbee2mqtt/kitchen_plug/availability", b"offline", true, 0);
    assert_eq!(d.device(&key("kitchen_plug")).unwrap().online, Some(false));
}

#[test]
fn the_bridge_and_garbage_are_not_devices() {
    let mut d = Dashboard::new(ConnectionId(1));
    for (topic, payload) in [
        ("zigbee2mqtt/bridge", &br#"{"state":"ON"}"#[..]),
        ("zigbee2mqtt/bridge/state", br#"{"state":"online"}"#),
        ("zigbee2mqtt/bridge/devices", b"not json"),
        ("zigbee2mqtt/thermometer", br#"{"temperature":20.5}"#),
        ("zigbee2mqtt/plug/availability", b"maybe"),
        ("zigbee2mqtt/plug", b"ON"),
    ] {
        assert!(
            d.handle_message(topic, payload, false, 0)
                .changed
                .is_empty(),
            "{topic}"
        );
    }
}
