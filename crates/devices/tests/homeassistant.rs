//! The Home Assistant discovery adapter, with the payloads of Home
//! Assistant's MQTT documentation (the MQTT page's "MQTT Discovery"
//! examples, the MQTT Switch and MQTT Sensor pages) and of the conventions
//! reference §C3.
//!
//! Config topics reach the adapter through its subscriptions; the state,
//! availability and command topics a config names are asked for in its
//! update (`Update::subscribe`) and routed to the adapter from then on.

use devices::{Action, ConnectionId, Dashboard, DeviceKey, Family, Power, QoS};

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::HomeAssistant,
        id: id.into(),
    }
}

fn config(d: &mut Dashboard, topic: &str, json: &str) -> devices::Update {
    d.handle_message(topic, json.as_bytes(), true, 0)
}

/// "Using abbreviations and base topic" (MQTT Discovery).
const IRRIGATION: &str = r#"{"~": "homeassistant/switch/irrigation", "name": "garden", "cmd_t": "~/set", "stat_t": "~/state"}"#;

/// The conventions reference's switch and power sensor of one Tasmota
/// outlet (composed from the documented schema).
const OUTLET: &str = r#"{"name":"Outlet 1","unique_id":"tasmota_ABC123_relay1","device_class":"outlet",
 "command_topic":"cmnd/tasmota_ABC123/POWER1","state_topic":"stat/tasmota_ABC123/POWER1",
 "payload_on":"ON","payload_off":"OFF",
 "availability":[{"topic":"tele/tasmota_ABC123/LWT","payload_available":"Online","payload_not_available":"Offline"}],
 "qos":1,"retain":false,
 "device":{"identifiers":["ABC123"],"name":"Kitchen plug","manufacturer":"Tasmota"}}"#;
const POWER: &str = r#"{"name":"Outlet power","unique_id":"tasmota_ABC123_power","device_class":"power","unit_of_measurement":"W",
 "state_class":"measurement","state_topic":"tele/tasmota_ABC123/SENSOR",
 "value_template":"{{ value_json.ENERGY.Power }}","device":{"identifiers":["ABC123"]}}"#;

#[test]
fn subscribes_to_both_discovery_topic_forms() {
    let d = Dashboard::new(ConnectionId(1));
    let subscriptions = d.subscriptions();
    assert!(subscriptions.contains(&"homeassistant/+/+/config".to_owned()));
    assert!(subscriptions.contains(&"homeassistant/+/+/+/config".to_owned()));
}

#[test]
fn the_documented_switch_with_a_base_topic_becomes_a_tile() {
    let mut d = Dashboard::new(ConnectionId(1));
    let update = config(&mut d, "homeassistant/switch/irrigation/config", IRRIGATION);
    assert_eq!(update.changed, [key("irrigation")]);
    assert_eq!(
        update.subscribe,
        [
            "homeassistant/switch/irrigation/set",
            "homeassistant/switch/irrigation/state"
        ]
    );
    assert!(d
        .subscriptions()
        .contains(&"homeassistant/switch/irrigation/state".to_owned()));
    let device = d.device(&key("irrigation")).unwrap();
    assert_eq!(device.outlet(1).unwrap().name.as_deref(), Some("garden"));
    let steps = d.request(&key("irrigation"), 1, Power::On, 0).unwrap();
    assert_eq!(steps[0].topic, "homeassistant/switch/irrigation/set");
    assert_eq!(steps[0].payload, b"ON");
    assert!(!steps[0].retain);
    assert_eq!(steps[0].qos, QoS::AtMostOnce);
}

/// "Entities with command topics" (MQTT Discovery), with a node id level.
#[test]
fn the_long_form_and_a_node_id_level() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/garden/irrigation/config",
        r#"{"name": "garden", "command_topic": "homeassistant/switch/irrigation/set", "state_topic": "homeassistant/switch/irrigation/state"}"#,
    );
    // Without a device block the node id is the device.
    assert!(d.device(&key("garden")).is_some());
}

#[test]
fn the_documented_switch_reports_its_state() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(&mut d, "homeassistant/switch/irrigation/config", IRRIGATION);
    d.handle_message("homeassistant/switch/irrigation/state", b"ON", false, 0);
    let device = d.device(&key("irrigation")).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
}

#[test]
fn a_switch_and_a_sensor_of_one_device_share_a_tile() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/tasmota_ABC123_relay1/config",
        OUTLET,
    );
    config(
        &mut d,
        "homeassistant/sensor/tasmota_ABC123_power/config",
        POWER,
    );
    assert_eq!(d.devices().count(), 1);
    let device = d.device(&key("ABC123")).unwrap();
    assert_eq!(device.name.as_deref(), Some("Kitchen plug"));
    assert_eq!(device.outlet(1).unwrap().name.as_deref(), Some("Outlet 1"));
}

#[test]
fn state_readings_and_availability_of_the_outlet() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/tasmota_ABC123_relay1/config",
        OUTLET,
    );
    config(
        &mut d,
        "homeassistant/sensor/tasmota_ABC123_power/config",
        POWER,
    );
    d.handle_message("tele/tasmota_ABC123/LWT", b"Online", true, 0);
    d.handle_message("stat/tasmota_ABC123/POWER1", b"ON", false, 0);
    d.handle_message(
        "tele/tasmota_ABC123/SENSOR",
        br#"{"ENERGY":{"Power":12.5,"Voltage":230}}"#,
        false,
        0,
    );
    let device = d.device(&key("ABC123")).unwrap();
    assert_eq!(device.online, Some(true));
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    assert_eq!(device.readings.power_w, Some(12.5));
    d.handle_message("tele/tasmota_ABC123/LWT", b"Offline", true, 0);
    assert_eq!(d.device(&key("ABC123")).unwrap().online, Some(false));
}

#[test]
fn abbreviations_everywhere() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/plug/config",
        r#"{"uniq_id":"plug_1","name":"Heater","cmd_t":"plug/cmd","stat_t":"plug/stat",
            "pl_on":"turn_on","pl_off":"turn_off","stat_on":"is_on","stat_off":"is_off",
            "avty_t":"plug/avail","pl_avail":"up","pl_not_avail":"down",
            "dev":{"ids":["plug-serial-1"],"name":"Office plug","mf":"Acme","mdl":"P1"}}"#,
    );
    let device = d.device(&key("plug-serial-1")).unwrap();
    assert_eq!(device.name.as_deref(), Some("Office plug"));
    assert_eq!(device.outlet(1).unwrap().name.as_deref(), Some("Heater"));
    let steps = d.request(&key("plug-serial-1"), 1, Power::Off, 0).unwrap();
    assert_eq!(steps[0].topic, "plug/cmd");
    assert_eq!(steps[0].payload, b"turn_off");
}

#[test]
fn commands_use_custom_payloads_and_qos_and_cycle_off_then_on() {
    let mut d = Dashboard::new(ConnectionId(1));
    // The MQTT Switch page's ESPEasy example, with qos 1.
    config(
        &mut d,
        "homeassistant/switch/bathroom/config",
        r#"{"name": "bathroom", "state_topic": "home/bathroom/gpio/13", "command_topic": "home/bathroom/gpio/13", "payload_on": "1", "payload_off": "0", "qos": 1}"#,
    );
    let steps = d.request(&key("bathroom"), 1, Power::On, 0).unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].topic, "home/bathroom/gpio/13");
    assert_eq!(steps[0].payload, b"1");
    assert_eq!(steps[0].qos, QoS::AtLeastOnce);
    assert!(!steps[0].retain);
    let now = d
        .request(
            &key("bathroom"),
            1,
            Action::PowerCycle { off_ms: 3_000 },
            10,
        )
        .unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].payload, b"0");
    let later: Vec<_> = d
        .handle_timeout(3_010)
        .publish
        .into_iter()
        .filter(|p| p.topic != "homeassistant/status")
        .collect();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].payload, b"1");
}

#[test]
fn an_unnamed_switch_is_named_after_its_device_or_object_id() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/kettle/config",
        r#"{"cmd_t":"kettle/set"}"#,
    );
    let outlet = d.device(&key("kettle")).unwrap().outlet(1).unwrap().clone();
    assert_eq!(outlet.name.as_deref(), Some("kettle"));
    // No state topic: every toggle would time out, and the tile says why.
    assert_eq!(
        d.device(&key("kettle")).unwrap().note.as_deref(),
        Some("kettle reports no state: switching it cannot be confirmed")
    );
    config(
        &mut d,
        "homeassistant/switch/fan/config",
        r#"{"cmd_t":"fan/set","name":null,"dev":{"ids":"fan1","name":"Desk fan"}}"#,
    );
    let outlet = d.device(&key("fan1")).unwrap().outlet(1).unwrap().clone();
    assert_eq!(outlet.name.as_deref(), Some("Desk fan"));
}

#[test]
fn a_switch_without_a_command_topic_cannot_be_switched() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/ro/config",
        r#"{"name":"read only","state_topic":"ro/state"}"#,
    );
    assert!(d.device(&key("ro")).is_some());
    assert_eq!(d.request(&key("ro"), 1, Power::On, 0), None);
}

#[test]
fn outlets_are_numbered_in_order_and_keep_their_number() {
    let mut d = Dashboard::new(ConnectionId(1));
    let switch =
        |n: u8| format!(r#"{{"name":"L{n}","cmd_t":"strip/{n}/set","dev":{{"ids":["strip"]}}}}"#);
    for n in 1..=3 {
        config(
            &mut d,
            &format!("homeassistant/switch/strip_l{n}/config"),
            &switch(n),
        );
    }
    let names = |d: &Dashboard| -> Vec<(u8, String)> {
        d.device(&key("strip"))
            .unwrap()
            .outlets
            .iter()
            .map(|o| (o.index, o.name.clone().unwrap_or_default()))
            .collect()
    };
    assert_eq!(
        names(&d),
        [(1, "L1".into()), (2, "L2".into()), (3, "L3".into())]
    );
    // Re-announcing (after a birth message) changes nothing.
    config(&mut d, "homeassistant/switch/strip_l2/config", &switch(2));
    assert_eq!(names(&d)[1], (2, "L2".into()));
    // Removing one leaves the others where they are.
    config(&mut d, "homeassistant/switch/strip_l1/config", "");
    assert_eq!(names(&d), [(2, "L2".into()), (3, "L3".into())]);
    let steps = d.request(&key("strip"), 3, Power::On, 0).unwrap();
    assert_eq!(steps[0].topic, "strip/3/set");
}

#[test]
fn an_empty_config_removes_the_entity_then_the_device() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/tasmota_ABC123_relay1/config",
        OUTLET,
    );
    config(
        &mut d,
        "homeassistant/sensor/tasmota_ABC123_power/config",
        POWER,
    );
    // Not retained: removal all the same ("… -m ''" in the docs).
    let update = d.handle_message(
        "homeassistant/switch/tasmota_ABC123_relay1/config",
        b"",
        false,
        0,
    );
    assert_eq!(update.changed, [key("ABC123")]);
    assert!(d.device(&key("ABC123")).unwrap().outlets.is_empty());
    let update = config(
        &mut d,
        "homeassistant/sensor/tasmota_ABC123_power/config",
        "",
    );
    assert_eq!(update.removed, [key("ABC123")]);
    assert_eq!(d.devices().count(), 0);
    // Removing again, or what never was, is nothing.
    let update = config(
        &mut d,
        "homeassistant/sensor/tasmota_ABC123_power/config",
        "",
    );
    assert!(update.changed.is_empty() && update.removed.is_empty());
}

/// The MQTT Discovery page's sensors: temperature and humidity are no
/// readings a tile shows, and its motion binary sensor is ignored.
#[test]
fn other_sensors_are_ignored() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/sensor/sensorBedroomT/config",
        r#"{"device_class": "temperature", "name": "Temperature", "state_topic": "homeassistant/sensor/sensorBedroom/state", "unit_of_measurement": "°C", "value_template": "{{ value_json.temperature}}" }"#,
    );
    config(
        &mut d,
        "homeassistant/light/kitchen/config",
        r#"{"cmd_t":"k/set","schema":"template","command_on_template":"on","command_off_template":"off"}"#,
    );
    assert_eq!(d.devices().count(), 0);
}

/// The MQTT Discovery page's motion sensor: a flag on its tile, in the
/// words of its class.
#[test]
fn a_binary_sensor_is_a_flag_on_the_tile() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/binary_sensor/garden/config",
        r#"{"name": "garden", "device_class": "motion", "state_topic": "homeassistant/binary_sensor/garden/state"}"#,
    );
    d.handle_message("homeassistant/binary_sensor/garden/state", b"ON", false, 1);
    let device = d.device(&key("garden")).expect("a tile for the sensor");
    assert_eq!(device.flags.len(), 1);
    assert_eq!(device.flags[0].name, "garden");
    assert_eq!(device.flags[0].word(), "detected");
    d.handle_message("homeassistant/binary_sensor/garden/state", b"OFF", false, 2);
    let device = d.device(&key("garden")).unwrap();
    assert_eq!(device.flags[0].word(), "clear");
    // Neither payload: unchanged.
    d.handle_message(
        "homeassistant/binary_sensor/garden/state",
        b"maybe",
        false,
        3,
    );
    let device = d.device(&key("garden")).unwrap();
    assert_eq!(device.flags[0].word(), "clear");
    assert!(device.outlets.is_empty(), "no switch on a sensor");
}

#[test]
fn the_documented_sensor_template_extracts_its_value() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/sensor/meter/config",
        r#"{"device_class": "power", "name": "Power", "state_topic": "office/meter", "unit_of_measurement": "kW", "value_template": "{{ value_json['power'] }}"}"#,
    );
    d.handle_message(
        "office/meter",
        br#"{ "power": 1.5, "humidity": 43.70 }"#,
        false,
        0,
    );
    assert_eq!(
        d.device(&key("meter")).unwrap().readings.power_w,
        Some(1500.0)
    );
}

#[test]
fn availability_mode_all_needs_every_topic() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/s/config",
        r#"{"cmd_t":"s/set","avty_mode":"all","avty":[{"t":"s/lwt"},{"t":"bridge/state","val_tpl":"{{ value_json.state }}"}]}"#,
    );
    d.handle_message("s/lwt", b"online", true, 0);
    assert_eq!(d.device(&key("s")).unwrap().online, Some(false));
    d.handle_message("bridge/state", br#"{"state":"online"}"#, true, 0);
    assert_eq!(d.device(&key("s")).unwrap().online, Some(true));
}

#[test]
fn an_unsupported_template_is_a_note_on_the_tile() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/sensor/shelly_power/config",
        r#"{"dev_cla":"energy","unit_of_meas":"kWh","stat_t":"shelly/status/switch:0","val_tpl":"{{ value_json.aenergy.total / 1000 }}"}"#,
    );
    assert_eq!(
        d.device(&key("shelly_power")).unwrap().note.as_deref(),
        Some("template not supported: {{ value_json.aenergy.total / 1000 }}")
    );
}

#[test]
fn expire_after_makes_the_tile_stale_when_the_value_expires() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/sensor/p/config",
        r#"{"dev_cla":"power","stat_t":"p/w","exp_aft":60}"#,
    );
    let device = d.device(&key("p")).unwrap();
    assert_eq!(device.period_ms, Some(20_000));
}

#[test]
fn birth_message_on_connect() {
    let mut d = Dashboard::new(ConnectionId(1));
    let asks = d.on_connected(0);
    let birth = asks
        .iter()
        .find(|p| p.topic == "homeassistant/status")
        .unwrap();
    assert_eq!(birth.payload, b"online");
    assert!(!birth.retain);
}

/// States answered to the birth message before the page subscribed to the
/// state topics a config names are lost; so once those subscriptions are
/// asked for, the birth goes out once more (debounced, rate-limited).
#[test]
fn new_state_topics_bring_one_more_birth_message() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.on_connected(0);
    let update = d.handle_message(
        "homeassistant/switch/irrigation/config",
        IRRIGATION.as_bytes(),
        true,
        10,
    );
    assert!(!update.subscribe.is_empty());
    // A second config in the same burst does not ask again.
    d.handle_message(
        "homeassistant/switch/ABC123/relay1/config",
        OUTLET.as_bytes(),
        true,
        20,
    );
    let births = |u: &devices::Update| {
        u.publish
            .iter()
            .filter(|p| p.topic == "homeassistant/status" && p.payload == b"online")
            .count()
    };
    let mut sent = 0;
    let mut now = 20;
    while let Some(at) = d.poll_timeout() {
        assert!(at <= 10_000, "deadlines stop");
        now = at;
        sent += births(&d.handle_timeout(now));
    }
    assert_eq!(sent, 1, "one more birth");
    assert!(now >= 2_000, "not sooner than 2 s after the last ({now})");
}

#[test]
fn bad_and_oversized_configs_are_ignored() {
    let mut d = Dashboard::new(ConnectionId(1));
    let huge = format!(r#"{{"cmd_t":"s/set","name":"{}"}}"#, "x".repeat(16 * 1024));
    for (topic, payload) in [
        ("homeassistant/switch/s/config", "{not json"),
        ("homeassistant/switch/s/config", r#""a string""#),
        ("homeassistant/switch/s/config", r#"{"cmd_t":"s/#"}"#),
        ("homeassistant/switch/s/config", &huge),
        ("homeassistant/sensor/s/config", r#"{"dev_cla":"power"}"#),
        ("homeassistant/switch/s s/config", r#"{"cmd_t":"s/set"}"#),
        ("homeassistant/status", "online"),
    ] {
        let update = d.handle_message(topic, payload.as_bytes(), true, 0);
        assert!(update.changed.is_empty(), "{topic}");
    }
    assert_eq!(d.devices().count(), 0);
}

#[test]
fn a_long_identifier_falls_back_to_the_object_id() {
    let mut d = Dashboard::new(ConnectionId(1));
    let json = format!(
        r#"{{"cmd_t":"s/set","dev":{{"ids":["{}"]}}}}"#,
        "i".repeat(200)
    );
    config(&mut d, "homeassistant/switch/short/config", &json);
    assert!(d.device(&key("short")).is_some());
    assert_eq!(d.ignored(), 0);
}

/// Zigbee2MQTT's Home Assistant integration announces the plugs the
/// Zigbee2MQTT adapter already shows: they are not shown twice.
#[test]
fn zigbee2mqtt_devices_announced_to_home_assistant_are_left_to_their_adapter() {
    let mut d = Dashboard::new(ConnectionId(1));
    config(
        &mut d,
        "homeassistant/switch/0x00158d0001a2b3c4/switch/config",
        r#"{"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}],"command_topic":"zigbee2mqtt/kitchen_plug/set","device":{"identifiers":["zigbee2mqtt_0x00158d0001a2b3c4"],"name":"kitchen_plug"},"name":null,"object_id":"kitchen_plug","origin":{"name":"Zigbee2MQTT","sw":"1.40.0","url":"https://www.zigbee2mqtt.io"},"payload_off":"OFF","payload_on":"ON","state_topic":"zigbee2mqtt/kitchen_plug","unique_id":"0x00158d0001a2b3c4_switch_zigbee2mqtt","value_template":"{{ value_json.state }}"}"#,
    );
    assert!(d.device(&key("zigbee2mqtt_0x00158d0001a2b3c4")).is_none());
    assert!(
        !d.devices()
            .any(|dev| dev.key.family == Family::HomeAssistant),
        "no Home Assistant tile"
    );
}
