//! The Shelly Gen1 adapter, from the documented topics and the real capture
//! quoted in the conventions reference §C2.

use devices::{ConnectionId, Dashboard, DeviceKey, Family, Power};

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::ShellyGen1,
        id: id.into(),
    }
}

const PLUG: &str = "shellyplug-s-7AECF4";

#[test]
fn the_real_capture_makes_a_metered_outlet() {
    let mut d = Dashboard::new(ConnectionId(1));
    // shellies/shellyplug-s-7AECF4/relay/0 on, …/power 37.71, …/energy 2803153
    d.handle_message(&format!("shellies/{PLUG}/relay/0"), b"on", false, 0);
    d.handle_message(
        &format!("shellies/{PLUG}/relay/0/power"),
        b"37.71",
        false,
        0,
    );
    d.handle_message(
        &format!("shellies/{PLUG}/relay/0/energy"),
        b"2803153",
        false,
        0,
    );
    // Not a relay reading: ignored.
    d.handle_message(&format!("shellies/{PLUG}/temperature"), b"39.18", false, 0);
    let device = d
        .device(&key(PLUG))
        .expect("discovered from its relay topic");
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    assert_eq!(device.readings.power_w, Some(37.71));
    // 2 803 153 W·min = 46.719 kWh.
    let kwh = device.readings.energy_total_kwh.unwrap();
    assert!((kwh - 2_803_153.0 / 60_000.0).abs() < 1e-9, "{kwh}");
    assert_eq!(d.devices().count(), 1);
}

#[test]
fn online_and_announce() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message(
        "shellies/announce",
        br#"{"id":"shellyplug-s-7AECF4","mac":"7AECF4","ip":"192.168.1.5","fw_ver":"v1.14.0","new_fw":false}"#,
        false,
        0,
    );
    assert_eq!(d.device(&key(PLUG)).unwrap().online, Some(true));
    d.handle_message(&format!("shellies/{PLUG}/online"), b"false", true, 0);
    assert_eq!(d.device(&key(PLUG)).unwrap().online, Some(false));
    for (topic, payload) in [
        ("shellies/announce", &b"{not json"[..]),
        ("shellies/announce", br#"{"id":"a/b"}"#),
        ("shellies/x/online", b"maybe"),
        ("shellies/x/relay/0", b"half"),
        ("shellies/x/relay/99/power", b"1"),
        ("shellies/x/relay/0/power", b"NaN"),
    ] {
        assert!(
            d.handle_message(topic, payload, false, 0)
                .changed
                .is_empty(),
            "{topic}"
        );
    }
}

#[test]
fn a_toggle_commands_the_relay_counted_from_zero() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("shellies/shelly25-1/relay/1", b"off", false, 0);
    let steps = d.request(&key("shelly25-1"), 2, Power::On, 0).unwrap();
    assert_eq!(steps[0].topic, "shellies/shelly25-1/relay/1/command");
    assert_eq!(steps[0].payload, b"on");
    assert!(!steps.is_empty());
    d.handle_message("shellies/shelly25-1/relay/1", b"on", false, 0);
    let outlet = d
        .device(&key("shelly25-1"))
        .unwrap()
        .outlet(2)
        .unwrap()
        .clone();
    assert_eq!((outlet.confirmed, outlet.pending), (Some(Power::On), None));
}

#[test]
fn two_relays_sum_their_power() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("shellies/s25/relay/0/power", b"10.5", false, 0);
    d.handle_message("shellies/s25/relay/1/power", b"20", false, 0);
    assert_eq!(d.device(&key("s25")).unwrap().readings.power_w, Some(30.5));
}

#[test]
fn after_connecting_devices_are_asked_to_announce_and_a_new_one_for_its_state() {
    let mut d = Dashboard::new(ConnectionId(1));
    let asks: Vec<_> = d
        .on_connected(0)
        .into_iter()
        .map(|p| (p.topic, String::from_utf8(p.payload).unwrap()))
        .collect();
    assert!(
        asks.contains(&("shellies/command".into(), "announce".into())),
        "{asks:?}"
    );
    assert!(
        asks.contains(&("cmnd/tasmotas/STATE".into(), String::new())),
        "{asks:?}"
    );
    let first = d.handle_message(
        "shellies/announce",
        br#"{"id":"shellyplug-s-7AECF4","new_fw":false}"#,
        false,
        0,
    );
    assert_eq!(
        first.publish[0].topic,
        "shellies/shellyplug-s-7AECF4/command"
    );
    assert_eq!(first.publish[0].payload, b"update");
    let again = d.handle_message(&format!("shellies/{PLUG}/relay/0"), b"off", false, 0);
    assert!(again.publish.is_empty(), "asked once");
}
