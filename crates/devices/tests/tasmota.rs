//! The Tasmota adapter, message by message.

use devices::{
    ConnectionId, Dashboard, DeviceKey, Family, Power, PublishRequest, QoS, Readings, MAX_ID_LEN,
    PENDING_TIMEOUT_MS, QUERIES_PER_SECOND,
};

fn key(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Tasmota,
        id: id.into(),
    }
}

fn dashboard() -> Dashboard {
    Dashboard::new(ConnectionId(1))
}

#[test]
fn lwt_discovers_a_device_and_queries_its_state() {
    let mut d = dashboard();
    let update = d.handle_message("tele/plug1/LWT", b"Online", false, 0);
    assert_eq!(update.changed, [key("plug1")]);
    assert_eq!(
        update.publish,
        [PublishRequest::new("cmnd/plug1/STATE", vec![])]
    );
    assert_eq!(d.device(&key("plug1")).unwrap().online, Some(true));
    // Seen before: no second query.
    assert!(d
        .handle_message("tele/plug1/LWT", b"Offline", false, 0)
        .publish
        .is_empty());
    assert_eq!(d.device(&key("plug1")).unwrap().online, Some(false));
}

#[test]
fn power_and_result_set_confirmed_state() {
    let mut d = dashboard();
    d.handle_message("stat/plug1/POWER", b"ON", false, 0);
    d.handle_message(
        "stat/plug1/RESULT",
        br#"{"POWER2":"OFF","Other":1}"#,
        false,
        0,
    );
    d.handle_message("stat/plug1/POWER3", b"on", false, 0);
    d.handle_message(
        "tele/plug1/STATE",
        br#"{"Time":"2026-11-25T01:00:00","POWER4":"ON","Wifi":{"RSSI":80}}"#,
        false,
        0,
    );
    let device = d.device(&key("plug1")).unwrap();
    let states: Vec<_> = device
        .outlets
        .iter()
        .map(|o| (o.index, o.confirmed))
        .collect();
    assert_eq!(
        states,
        [
            (1, Some(Power::On)),
            (2, Some(Power::Off)),
            (3, Some(Power::On)),
            (4, Some(Power::On))
        ]
    );
}

#[test]
fn unrelated_or_malformed_messages_are_ignored() {
    let mut d = dashboard();
    for (topic, payload) in [
        ("stat/plug1/POWER", &b"maybe"[..]),
        ("stat/plug1/POWER99", b"ON"),
        ("stat/plug1/RESULT", b"{not json"),
        ("stat/plug1/RESULT", br#"{"Dimmer":50}"#),
        ("stat/plug1/STATUS", b"{}"),
        ("tele/plug1/LWT", b"Maybe"),
        ("stat/plug1/POWER/extra", b"ON"),
        ("stat//POWER", b"ON"),
        ("other/plug1/POWER", b"ON"),
        ("stat/plug1/POWER", &[0xff, 0xfe]),
    ] {
        assert!(
            d.handle_message(topic, payload, false, 0)
                .changed
                .is_empty(),
            "{topic}"
        );
    }
    assert_eq!(d.devices().count(), 0);
}

#[test]
fn toggle_is_pending_until_the_device_confirms() {
    let mut d = dashboard();
    d.handle_message("stat/plug1/POWER", b"OFF", false, 0);
    let publish = d.request(&key("plug1"), 1, Power::On, 1_000).unwrap();
    assert_eq!(publish[0].topic, "cmnd/plug1/POWER");
    assert_eq!(publish[0].payload, b"ON");
    let outlet = d.device(&key("plug1")).unwrap().outlet(1).unwrap().clone();
    assert_eq!(outlet.confirmed, Some(Power::Off));
    assert!(outlet.pending.is_some());
    // A late report of the old state does not settle it.
    d.handle_message("stat/plug1/POWER", b"OFF", false, 0);
    assert!(d
        .device(&key("plug1"))
        .unwrap()
        .outlet(1)
        .unwrap()
        .pending
        .is_some());
    d.handle_message("stat/plug1/RESULT", br#"{"POWER":"ON"}"#, false, 0);
    let outlet = d.device(&key("plug1")).unwrap().outlet(1).unwrap();
    assert_eq!((outlet.confirmed, outlet.pending), (Some(Power::On), None));
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn relay_two_uses_its_own_command_topic() {
    let mut d = dashboard();
    d.handle_message("stat/strip/POWER2", b"ON", false, 0);
    let publish = d.request(&key("strip"), 2, Power::Off, 0).unwrap();
    assert_eq!(publish[0].topic, "cmnd/strip/POWER2");
    assert_eq!(publish[0].payload, b"OFF");
}

#[test]
fn unconfirmed_toggle_times_out_with_an_error() {
    let mut d = dashboard();
    d.handle_message("tele/plug1/LWT", b"Online", false, 0);
    d.request(&key("plug1"), 1, Power::On, 1_000).unwrap();
    assert_eq!(d.poll_timeout(), Some(1_000 + PENDING_TIMEOUT_MS));
    assert!(d
        .handle_timeout(1_000 + PENDING_TIMEOUT_MS - 1)
        .changed
        .is_empty());
    assert_eq!(
        d.handle_timeout(1_000 + PENDING_TIMEOUT_MS).changed,
        [key("plug1")]
    );
    let outlet = d.device(&key("plug1")).unwrap().outlet(1).unwrap();
    assert!(outlet.pending.is_none());
    assert!(outlet.error.as_deref().unwrap().contains("no confirmation"));
}

#[test]
fn request_for_unknown_device_is_none() {
    assert!(dashboard()
        .request(&key("ghost"), 1, Power::On, 0)
        .is_none());
}

#[test]
fn a_request_that_could_not_be_sent_shows_why() {
    let mut d = dashboard();
    d.handle_message("stat/plug1/POWER", b"OFF", false, 0);
    d.request(&key("plug1"), 1, Power::On, 0).unwrap();
    d.fail_request(
        &key("plug1"),
        1,
        "not sent: not connected to a broker".into(),
    );
    let outlet = d.device(&key("plug1")).unwrap().outlet(1).unwrap();
    assert_eq!(outlet.pending, None);
    assert_eq!(outlet.confirmed, Some(Power::Off));
    assert_eq!(
        outlet.error.as_deref(),
        Some("not sent: not connected to a broker")
    );
    assert_eq!(d.poll_timeout(), None, "nothing left to time out");
}

/// The `ENERGY` object of a metering plug's `tele/<t>/SENSOR`, with the
/// fields Tasmota documents (§C1 of the conventions reference: Total,
/// Yesterday, Today in kWh; Power W; ApparentPower VA; ReactivePower var;
/// Factor; Voltage V; Current A).
#[test]
fn sensor_energy_becomes_readings() {
    let mut d = dashboard();
    let update = d.handle_message(
        "tele/plug1/SENSOR",
        br#"{"Time":"2026-11-25T12:00:00","ENERGY":{"TotalStartTime":"2026-01-01T00:00:00","Total":12.345,"Yesterday":0.456,"Today":0.123,"Power":60,"ApparentPower":61,"ReactivePower":5,"Factor":0.98,"Voltage":231,"Current":0.262}}"#,
        false,
        0,
    );
    assert_eq!(update.changed, [key("plug1")]);
    let r = d.device(&key("plug1")).unwrap().readings;
    assert_eq!(
        r,
        Readings {
            power_w: Some(60.0),
            voltage_v: Some(231.0),
            current_a: Some(0.262),
            energy_today_kwh: Some(0.123),
            energy_total_kwh: Some(12.345),
        }
    );
    // A later report with fewer fields keeps the others.
    d.handle_message("tele/plug1/SENSOR", br#"{"ENERGY":{"Power":0}}"#, false, 0);
    let r = d.device(&key("plug1")).unwrap().readings;
    assert_eq!((r.power_w, r.voltage_v), (Some(0.0), Some(231.0)));
}

#[test]
fn a_multi_channel_meter_is_summed_and_other_sensors_are_ignored() {
    let mut d = dashboard();
    d.handle_message(
        "tele/dual/SENSOR",
        br#"{"ENERGY":{"Power":[10,20],"Voltage":[230,229],"Current":[0.05,0.1],"Total":[1.5,2.5]}}"#,
        false,
        0,
    );
    let r = d.device(&key("dual")).unwrap().readings;
    assert_eq!(r.power_w, Some(30.0));
    assert_eq!(r.voltage_v, Some(230.0));
    assert_eq!(r.energy_total_kwh, Some(4.0));
    // A temperature sensor (the documented DS18B20 example) is no device news.
    assert!(d
        .handle_message(
            "tele/thermo/SENSOR",
            br#"{"Time":"2026-11-25T12:00:00","DS18B20":{"Temperature":20.6}}"#,
            false,
            0
        )
        .changed
        .is_empty());
}

/// A broker controls how many ids appear: a flood of 10 000 fake ids shows
/// at most the cap, counts the rest, and its state queries go out at most
/// `QUERIES_PER_SECOND` a second.
#[test]
fn a_flood_of_fake_ids_is_bounded() {
    let mut d = dashboard();
    d.set_max_devices(500);
    let mut sent = 0;
    for i in 0..10_000 {
        let update = d.handle_message(&format!("stat/fake{i}/POWER"), b"ON", false, 0);
        sent += update.publish.len();
    }
    assert_eq!(d.devices().count(), 500);
    assert_eq!(d.ignored(), 9_500);
    assert_eq!(sent, QUERIES_PER_SECOND, "the first second's share only");
    // The rest follow, a second's share at a time.
    let next = d.poll_timeout().expect("queued queries");
    assert_eq!(next, 1_000);
    let update = d.handle_timeout(next);
    assert_eq!(update.publish.len(), QUERIES_PER_SECOND);
    // Ids longer than MAX_ID_LEN are not shown either.
    let mut d = dashboard();
    let long = "x".repeat(MAX_ID_LEN + 1);
    assert!(d
        .handle_message(&format!("stat/{long}/POWER"), b"ON", false, 0)
        .changed
        .is_empty());
    assert_eq!(d.ignored(), 1);
}

/// "A retained `cmnd/…/POWER` overrides PowerOnState at every reconnect"
/// (Tasmota docs, §C1): flagged on the tile, cleared by an empty retained
/// message, unflagged when the broker echoes it.
#[test]
fn a_retained_command_is_flagged_and_cleared() {
    let mut d = dashboard();
    d.handle_message("cmnd/plug1/POWER", b"ON", false, 0);
    assert!(
        d.devices().next().is_none(),
        "a live command is nobody's news"
    );
    let update = d.handle_message("cmnd/plug1/POWER", b"ON", true, 0);
    assert_eq!(update.changed, [key("plug1")]);
    let device = d.device(&key("plug1")).unwrap();
    assert_eq!(device.retained_commands, ["cmnd/plug1/POWER"]);
    let clear = d.clear_retained(&key("plug1"), "cmnd/plug1/POWER").unwrap();
    assert_eq!(
        clear,
        PublishRequest {
            topic: "cmnd/plug1/POWER".into(),
            payload: vec![],
            qos: QoS::AtMostOnce,
            retain: true
        }
    );
    assert!(d
        .clear_retained(&key("plug1"), "cmnd/plug1/OTHER")
        .is_none());
    // The empty message comes back: the flag goes.
    d.handle_message("cmnd/plug1/POWER", b"", false, 0);
    assert!(d
        .device(&key("plug1"))
        .unwrap()
        .retained_commands
        .is_empty());
    // An empty command for a device never seen creates nothing.
    d.handle_message("cmnd/ghost/POWER", b"", false, 0);
    assert!(d.device(&key("ghost")).is_none());
    // The group topic is not a device.
    d.handle_message("cmnd/tasmotas/POWER", b"ON", true, 0);
    assert!(d.device(&key("tasmotas")).is_none());
}
