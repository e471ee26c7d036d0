//! Installations that changed the ecosystems' default topics.

use devices::{ConnectionId, Dashboard, DeviceKey, Family, Power, Topics};

fn key(family: Family, id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family,
        id: id.into(),
    }
}

fn custom() -> Topics {
    Topics {
        tasmota_group: "allplugs".into(),
        zigbee2mqtt: "zb/home".into(),
        homeassistant: "hass".into(),
        netio: "pdu".into(),
    }
}

#[test]
fn every_adapter_uses_the_installations_topics() {
    let mut d = Dashboard::with_topics(ConnectionId(1), &custom());
    let filters = d.subscriptions();
    for f in [
        "zb/home/bridge/devices",
        "hass/+/+/config",
        "pdu/+/output/+/+",
    ] {
        assert!(filters.contains(&f.to_owned()), "{f} in {filters:?}");
    }
    assert!(!filters.iter().any(|f| f.starts_with("zigbee2mqtt/")));
    let asks: Vec<_> = d.on_connected(0).into_iter().map(|p| p.topic).collect();
    assert!(asks.contains(&"cmnd/allplugs/STATE".to_owned()), "{asks:?}");
    assert!(asks.contains(&"hass/status".to_owned()), "{asks:?}");

    d.handle_message("pdu/box/output/1/state", b"1", false, 0);
    let netio = d
        .device(&key(Family::Netio, "box"))
        .expect("a NETIO under pdu/");
    assert_eq!(netio.outlet(1).unwrap().confirmed, Some(Power::On));
    let cmd = d
        .request(&key(Family::Netio, "box"), 1, Power::Off, 1)
        .unwrap();
    assert_eq!(cmd[0].topic, "pdu/box/output/1/action");

    d.handle_message(
        "hass/switch/lamp/config",
        br#"{"name":"Lamp","stat_t":"lamp/state","cmd_t":"lamp/set"}"#,
        true,
        2,
    );
    assert!(d.device(&key(Family::HomeAssistant, "lamp")).is_some());
    d.handle_message(
        "homeassistant/switch/other/config",
        br#"{"name":"Other","stat_t":"o/state","cmd_t":"o/set"}"#,
        true,
        3,
    );
    assert!(d.device(&key(Family::HomeAssistant, "other")).is_none());

    d.handle_message(
        "zb/home/bridge/devices",
        br#"[{"friendly_name":"plug","definition":{"exposes":[{"type":"switch","features":[{"type":"binary","name":"state","property":"state","value_on":"ON","value_off":"OFF","access":7}]}]}}]"#,
        true,
        4,
    );
    d.handle_message("zb/home/plug", br#"{"state":"ON"}"#, false, 5);
    let plug = d
        .device(&key(Family::Zigbee2Mqtt, "plug"))
        .expect("a Z2M plug");
    assert_eq!(plug.outlet(1).unwrap().confirmed, Some(Power::On));
    let cmd = d
        .request(&key(Family::Zigbee2Mqtt, "plug"), 1, Power::Off, 6)
        .unwrap();
    assert_eq!(cmd[0].topic, "zb/home/plug/set");

    // The group topic is not a device.
    d.handle_message("cmnd/allplugs/POWER", b"ON", true, 7);
    assert!(d.device(&key(Family::Tasmota, "allplugs")).is_none());
}

#[test]
fn unusable_topics_are_named_and_fall_back_to_the_defaults() {
    let bad = Topics {
        netio: "pdu/+".into(),
        ..Topics::default()
    };
    let why = bad.check().unwrap_err();
    assert!(
        why.contains("NETIO prefix") && why.contains("wildcard"),
        "{why}"
    );
    let group = Topics {
        tasmota_group: "a/b".into(),
        ..Topics::default()
    };
    assert!(group.check().unwrap_err().contains("one level"));
    let d = Dashboard::with_topics(ConnectionId(1), &bad);
    assert!(d.subscriptions().contains(&"netio/+/output/+/+".to_owned()));
}
