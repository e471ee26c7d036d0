//! Custom tiles: any state/command topic pair the user configured.

use devices::{Action, ConnectionId, CustomTile, Dashboard, DeviceKey, Family, Power};

fn key(name: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Custom,
        id: name.into(),
    }
}

fn garage(json_path: Option<&str>) -> CustomTile {
    CustomTile {
        name: "Garage".into(),
        state_topic: "home/garage/relay".into(),
        command_topic: "home/garage/relay/set".into(),
        payload_on: "1".into(),
        payload_off: "0".into(),
        json_path: json_path.map(Into::into),
    }
}

#[test]
fn a_plain_state_and_command_pair() {
    let mut d = Dashboard::new(ConnectionId(1));
    let update = d.set_custom_tiles(vec![garage(None)]);
    assert_eq!(
        update.subscribe,
        ["home/garage/relay", "home/garage/relay/set"]
    );
    assert!(update.removed.is_empty());
    assert_eq!(update.changed, [key("Garage")]);
    assert!(d.subscriptions().contains(&"home/garage/relay".to_owned()));
    let waiting = d.device(&key("Garage")).expect("shown at once");
    assert!(waiting.awaiting_state());
    d.handle_message("home/garage/relay", b"1", false, 0);
    let device = d.device(&key("Garage")).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    let now = d.request(&key("Garage"), 1, Power::Off, 10).unwrap();
    assert_eq!(now[0].topic, "home/garage/relay/set");
    assert_eq!(now[0].payload, b"0");
    assert!(!now[0].retain);
    d.handle_message("home/garage/relay", b"0", false, 20);
    let outlet = d.device(&key("Garage")).unwrap().outlet(1).unwrap().clone();
    assert_eq!((outlet.confirmed, outlet.pending), (Some(Power::Off), None));
    // A power-cycle: off now, on later.
    let now = d
        .request(&key("Garage"), 1, Action::PowerCycle { off_ms: 1_000 }, 100)
        .unwrap();
    assert_eq!(now[0].payload, b"0");
    assert_eq!(d.handle_timeout(1_100).publish[0].payload, b"1");
}

#[test]
fn a_json_state_is_read_at_its_path_and_odd_values_are_explained() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.set_custom_tiles(vec![garage(Some("relays.0.on"))]);
    d.handle_message(
        "home/garage/relay",
        br#"{"relays":[{"on":true}]}"#,
        false,
        0,
    );
    let device = d.device(&key("Garage")).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    d.handle_message("home/garage/relay", br#"{"relays":[{"on":0}]}"#, false, 1);
    let device = d.device(&key("Garage")).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::Off));
    assert_eq!(device.note, None);
    d.handle_message("home/garage/relay", br#"{"relays":[]}"#, false, 2);
    let device = d.device(&key("Garage")).unwrap();
    assert_eq!(
        device.note.as_deref(),
        Some("the state has no \"relays.0.on\"")
    );
    assert_eq!(
        device.outlet(1).unwrap().confirmed,
        Some(Power::Off),
        "unchanged"
    );
    d.handle_message("home/garage/relay", b"<html>", false, 3);
    let note = d.device(&key("Garage")).unwrap().note.clone().unwrap();
    assert!(note.contains("not JSON"), "{note}");
}

#[test]
fn a_retained_command_is_flagged_and_a_removed_tile_goes() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.set_custom_tiles(vec![garage(None)]);
    d.handle_message("home/garage/relay", b"0", false, 0);
    d.handle_message("home/garage/relay/set", b"1", true, 1);
    let device = d.device(&key("Garage")).unwrap();
    assert_eq!(device.retained_commands, ["home/garage/relay/set"]);
    let update = d.set_custom_tiles(Vec::new());
    assert!(update.subscribe.is_empty());
    assert_eq!(update.removed, [key("Garage")]);
    assert!(d.device(&key("Garage")).is_none());
    d.handle_message("home/garage/relay", b"1", false, 2);
    assert!(d.device(&key("Garage")).is_none(), "no longer routed");
}
