//! The NETIO adapter: the common MQTT-flex scheme of the conventions
//! reference §C5 (`netio/<device>/output/<n>/…`, LOAD W, CURRENT mA,
//! ENERGY Wh, ACTION 0 off / 1 on / 2 short off), through the dashboard.

use devices::{
    Action, ConnectionId, Dashboard, DeviceKey, Family, Liveness, Power, PublishRequest, QoS,
    PENDING_TIMEOUT_MS,
};

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Netio,
        id: id.into(),
    }
}

fn dashboard() -> Dashboard {
    Dashboard::new(ConnectionId(1))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn subscribes_to_the_scheme_and_publishes_nothing_on_connect() {
    let mut d = dashboard();
    assert!(d.subscriptions().contains(&"netio/+/output/+/+".to_owned()));
    let asks = d.on_connected(0);
    assert!(
        asks.iter().all(|a| !a.topic.starts_with("netio/")),
        "{asks:?}"
    );
}

#[test]
fn state_messages_make_a_device_with_outlets() {
    let mut d = dashboard();
    let update = d.handle_message("netio/box/output/1/state", b"1", true, 0);
    assert_eq!(update.changed, [key("box")]);
    d.handle_message("netio/box/output/3/state", b"0", false, 0);
    let device = d.device(&key("box")).unwrap();
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
    assert_eq!(device.outlet(3).unwrap().confirmed, Some(Power::Off));
    assert!(device.outlet(2).is_none());
    assert_eq!(device.liveness(0), Liveness::Live);
    assert_eq!(d.devices().count(), 1);
}

#[test]
fn metering_is_normalised_and_summed_over_outputs() {
    let mut d = dashboard();
    for (topic, payload) in [
        ("netio/box/output/1/load", &b"100"[..]),
        ("netio/box/output/2/load", b"23.5"),
        ("netio/box/output/1/current", b"450"),
        ("netio/box/output/2/current", b"110"),
        ("netio/box/output/1/voltage", b"229.8"),
        ("netio/box/output/2/voltage", b"230.1"),
        ("netio/box/output/1/energy", b"1500"),
        ("netio/box/output/2/energy", b"250"),
        ("netio/box/output/1/power_factor", b"0.97"),
    ] {
        assert_eq!(
            d.handle_message(topic, payload, false, 0).changed,
            [key("box")],
            "{topic}"
        );
    }
    let readings = d.device(&key("box")).unwrap().readings;
    assert!(close(readings.power_w, 123.5), "{readings:?}");
    // mA → A.
    assert!(close(readings.current_a, 0.56), "{readings:?}");
    // The voltage last reported.
    assert!(close(readings.voltage_v, 230.1), "{readings:?}");
    // Wh → kWh.
    assert!(close(readings.energy_total_kwh, 1.75), "{readings:?}");
    assert_eq!(readings.energy_today_kwh, None);
    // A new value replaces that output's, the sum follows.
    d.handle_message("netio/box/output/2/load", b"0", false, 0);
    let readings = d.device(&key("box")).unwrap().readings;
    assert!(close(readings.power_w, 100.0), "{readings:?}");
}

#[test]
fn garbage_and_other_topics_are_ignored() {
    let mut d = dashboard();
    for (topic, payload) in [
        ("netio/box/output/1/state", &b"on"[..]),
        ("netio/box/output/1/state", b"2"),
        ("netio/box/output/1/load", b"NaN"),
        ("netio/box/output/1/load", b"inf"),
        ("netio/box/output/1/load", b"lots"),
        ("netio/box/output/1/load", &[0xff, 0xfe]),
        ("netio/box/output/1/frequency", b"50"),
        ("netio/box/output/0/state", b"1"),
        ("netio/box/output/33/state", b"1"),
        ("netio/box/output/+1/state", b"1"),
        ("netio/box/output/x/state", b"1"),
        ("netio/box/input/1/state", b"1"),
        ("netio/box/output/1/state/extra", b"1"),
        ("netio/box/output/1", b"1"),
        ("netio//output/1/state", b"1"),
        ("other/box/output/1/state", b"1"),
    ] {
        assert!(
            d.handle_message(topic, payload, false, 0)
                .changed
                .is_empty(),
            "{topic} {payload:?}"
        );
    }
    // A huge payload is not read.
    let huge = vec![b'1'; 10_000];
    assert!(d
        .handle_message("netio/box/output/1/load", &huge, false, 0)
        .changed
        .is_empty());
    assert_eq!(d.devices().count(), 0);
    // Output 32 is the last accepted.
    d.handle_message("netio/box/output/32/state", b"1", false, 0);
    assert!(d.device(&key("box")).unwrap().outlet(32).is_some());
}

#[test]
fn on_and_off_publish_the_action_values() {
    let mut d = dashboard();
    d.handle_message("netio/box/output/2/state", b"0", false, 0);
    let steps = d.request(&key("box"), 2, Power::On, 0).unwrap();
    assert_eq!(
        steps,
        [PublishRequest {
            topic: "netio/box/output/2/action".into(),
            payload: b"1".to_vec(),
            qos: QoS::AtMostOnce,
            retain: false,
        }]
    );
    let outlet = d.device(&key("box")).unwrap().outlet(2).unwrap().clone();
    assert_eq!(outlet.pending.map(|p| p.want), Some(Power::On));
    // Our own command comes back (not retained): nobody's news.
    assert!(d
        .handle_message("netio/box/output/2/action", b"1", false, 0)
        .changed
        .is_empty());
    d.handle_message("netio/box/output/2/state", b"1", false, 100);
    let outlet = d.device(&key("box")).unwrap().outlet(2).unwrap().clone();
    assert_eq!((outlet.confirmed, outlet.pending), (Some(Power::On), None));
    let steps = d.request(&key("box"), 2, Power::Off, 200).unwrap();
    assert_eq!(steps[0].payload, b"0");
}

/// Action 2, "short off": the device switches back on after its own
/// delay, so one publish, whatever `off_ms` says.
#[test]
fn a_power_cycle_is_one_short_off() {
    let mut d = dashboard();
    d.handle_message("netio/box/output/4/state", b"1", false, 0);
    let steps = d
        .request(&key("box"), 4, Action::PowerCycle { off_ms: 12_345 }, 0)
        .unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].topic, "netio/box/output/4/action");
    assert_eq!(steps[0].payload, b"2");
    assert!(!steps[0].retain);
    // Nothing else scheduled: only the pending timeout is due.
    assert_eq!(d.poll_timeout(), Some(12_345 + PENDING_TIMEOUT_MS));
    assert!(d.handle_timeout(12_345).publish.is_empty());
    // The device reports off, then on again by itself.
    d.handle_message("netio/box/output/4/state", b"0", false, 1_000);
    let outlet = d.device(&key("box")).unwrap().outlet(4).unwrap().clone();
    assert_eq!(outlet.pending.map(|p| p.want), Some(Power::On));
    d.handle_message("netio/box/output/4/state", b"1", false, 6_000);
    let outlet = d.device(&key("box")).unwrap().outlet(4).unwrap().clone();
    assert_eq!((outlet.confirmed, outlet.pending), (Some(Power::On), None));
}

#[test]
fn no_action_for_an_output_out_of_range() {
    let mut d = dashboard();
    d.handle_message("netio/box/output/1/state", b"1", false, 0);
    assert!(d.request(&key("box"), 0, Power::On, 0).is_none());
    assert!(d.request(&key("box"), 33, Power::On, 0).is_none());
}

/// A retained `action` would be applied again at every reconnect of the
/// device ("ghost switching"): flagged, cleared, unflagged on the echo.
#[test]
fn a_retained_action_is_flagged_and_cleared() {
    let mut d = dashboard();
    let update = d.handle_message("netio/box/output/1/action", b"1", true, 0);
    assert_eq!(update.changed, [key("box")]);
    let device = d.device(&key("box")).unwrap();
    assert_eq!(device.retained_commands, ["netio/box/output/1/action"]);
    let clear = d
        .clear_retained(&key("box"), "netio/box/output/1/action")
        .unwrap();
    assert_eq!(
        clear,
        PublishRequest::clear_retained("netio/box/output/1/action")
    );
    d.handle_message("netio/box/output/1/action", b"", false, 10);
    assert!(d.device(&key("box")).unwrap().retained_commands.is_empty());
    // An empty action for a device never seen creates nothing.
    d.handle_message("netio/ghost/output/1/action", b"", true, 0);
    assert!(d.device(&key("ghost")).is_none());
}

/// No last will: the period is inferred from the intervals on one
/// measurement topic, and silence for a few periods makes the tile stale.
#[test]
fn the_period_is_inferred_from_the_periodic_publishes() {
    let mut d = dashboard();
    d.handle_message("netio/box/output/1/state", b"1", false, 0);
    d.handle_message("netio/box/output/1/load", b"10", false, 0);
    d.handle_message("netio/box/output/1/current", b"50", false, 0);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    // Messages on different topics in between say nothing.
    d.handle_message("netio/box/output/1/current", b"50", false, 10);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    d.handle_message("netio/box/output/1/load", b"10", false, 30_000);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, Some(30_000));
    // An early publish (a delta event) does not shorten it.
    d.handle_message("netio/box/output/1/load", b"80", false, 32_000);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, Some(30_000));
    let device = d.device(&key("box")).unwrap();
    assert_eq!(device.liveness(32_000 + 60_000), Liveness::Live);
    assert_eq!(device.liveness(32_000 + 90_001), Liveness::Stale);
}

#[test]
fn periods_outside_a_second_to_an_hour_and_retained_messages_are_not_used() {
    let mut d = dashboard();
    d.handle_message("netio/box/output/1/energy", b"1", false, 0);
    // Under a second.
    d.handle_message("netio/box/output/1/energy", b"1", false, 999);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    // Over an hour.
    d.handle_message("netio/box/output/1/energy", b"1", false, 999 + 3_600_001);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    // A retained one arrives when we subscribe, not when it was sent.
    d.handle_message("netio/box/output/2/voltage", b"230", true, 10_000_000);
    d.handle_message("netio/box/output/2/voltage", b"230", false, 10_005_000);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    // State changes are not periodic.
    d.handle_message("netio/box/output/2/state", b"1", false, 10_006_000);
    d.handle_message("netio/box/output/2/state", b"0", false, 10_016_000);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, None);
    d.handle_message("netio/box/output/2/voltage", b"230", false, 10_065_000);
    assert_eq!(d.device(&key("box")).unwrap().period_ms, Some(60_000));
}

#[test]
fn long_ids_and_a_flood_of_devices_are_bounded() {
    let mut d = dashboard();
    let long = "x".repeat(200);
    assert!(d
        .handle_message(&format!("netio/{long}/output/1/load"), b"1", false, 0)
        .changed
        .is_empty());
    d.set_max_devices(10);
    for i in 0..50 {
        d.handle_message(&format!("netio/dev{i}/output/1/load"), b"1", false, 0);
    }
    assert_eq!(d.devices().count(), 10);
    // A device keeps working while others are turned away.
    d.handle_message("netio/dev0/output/2/load", b"2", false, 0);
    let readings = d.device(&key("dev0")).unwrap().readings;
    assert!(close(readings.power_w, 3.0), "{readings:?}");
}
