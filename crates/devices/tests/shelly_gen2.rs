//! The Shelly Gen2+ adapter, with the payloads of the conventions
//! reference §C2 (Shelly's Gen2 MQTT, Switch and Notifications pages).

use devices::{ConnectionId, Dashboard, DeviceKey, Family, Power};

const PLUS: &str = "shellyplus1pm-a8032ab12345";

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::ShellyGen2,
        id: id.into(),
    }
}

#[test]
fn switch_status_sets_the_outlet_and_readings() {
    let mut d = Dashboard::new(ConnectionId(1));
    let update = d.handle_message(
        &format!("{PLUS}/status/switch:0"),
        br#"{"id":0,"source":"init","output":true,"apower":8.9,"voltage":237.5,"current":0.068,"aenergy":{"total":6.532,"by_minute":[45.3,52.1,0],"minute_ts":1654511972},"temperature":{"tC":23.5}}"#,
        false,
        0,
    );
    assert_eq!(update.changed, [key(PLUS)]);
    // A new device is asked once for its whole status.
    assert_eq!(update.publish.len(), 1);
    assert_eq!(update.publish[0].topic, format!("{PLUS}/command"));
    assert_eq!(update.publish[0].payload, b"status_update");
    let again = d.handle_message(
        &format!("{PLUS}/status/switch:0"),
        br#"{"id":0,"output":true}"#,
        false,
        1,
    );
    assert!(again.publish.is_empty(), "once");
    let device = d.device(&key(PLUS)).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    assert_eq!(device.readings.power_w, Some(8.9));
    assert_eq!(device.readings.voltage_v, Some(237.5));
    // aenergy.total is in Wh.
    assert_eq!(device.readings.energy_total_kwh, Some(0.006532));
}

#[test]
fn notify_status_and_online() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message(
        "shellypro4pm-f008d1d8b8b8/events/rpc",
        br#"{"src":"shellypro4pm-f008d1d8b8b8","dst":"user_1","method":"NotifyStatus","params":{"ts":1631266595.43,"switch:2":{"id":2,"output":true,"source":"button"}}}"#,
        false,
        0,
    );
    let pro = key("shellypro4pm-f008d1d8b8b8");
    assert_eq!(
        d.device(&pro).unwrap().outlet(3).unwrap().confirmed,
        Some(Power::On)
    );
    d.handle_message("shellypro4pm-f008d1d8b8b8/online", b"false", true, 0);
    assert_eq!(d.device(&pro).unwrap().online, Some(false));
}

#[test]
fn a_toggle_is_a_switch_set_rpc() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message(
        &format!("{PLUS}/status/switch:0"),
        br#"{"id":0,"output":false}"#,
        false,
        0,
    );
    let steps = d.request(&key(PLUS), 1, Power::On, 42).unwrap();
    assert_eq!(steps[0].topic, format!("{PLUS}/rpc"));
    let rpc: serde_json::Value = serde_json::from_slice(&steps[0].payload).unwrap();
    assert_eq!(rpc["method"], "Switch.Set");
    assert_eq!(rpc["params"], serde_json::json!({"id": 0, "on": true}));
    assert_eq!(rpc["src"], "plugboard");
}

#[test]
fn other_roots_and_garbage_are_not_gen2_devices() {
    let mut d = Dashboard::new(ConnectionId(1));
    for (topic, payload) in [
        ("x/status/switch:0", &b"not json"[..]),
        ("x/status/input:0", br#"{"id":0,"state":true}"#),
        ("x/status/switch:99", br#"{"output":true}"#),
        ("x/online", b"maybe"),
        ("x/events/rpc", br#"{"method":"NotifyEvent","params":{}}"#),
        ("tele/status/switch:0", br#"{"output":true}"#),
    ] {
        assert!(
            d.handle_message(topic, payload, false, 0)
                .changed
                .is_empty(),
            "{topic}"
        );
    }
}
