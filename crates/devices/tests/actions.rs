//! Timed actions, confirmations and liveness, on the dashboard's virtual
//! clock (milliseconds passed in).

use devices::{
    Action, ConnectionId, Dashboard, DeviceKey, Family, Liveness, Power, HISTORY_MS,
    PENDING_TIMEOUT_MS, SCAN_INTERVAL_MS, STALE_PERIODS,
};

fn shelly(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::ShellyGen1,
        id: id.into(),
    }
}

fn tasmota(id: &str) -> DeviceKey {
    DeviceKey {
        connection: ConnectionId(1),
        family: Family::Tasmota,
        id: id.into(),
    }
}

fn outlet(d: &Dashboard, key: &DeviceKey, index: u8) -> devices::Outlet {
    d.device(key).unwrap().outlet(index).unwrap().clone()
}

#[test]
fn a_power_cycle_waits_for_off_then_on_and_releases_its_second_step_on_time() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("shellies/plug/relay/0", b"on", false, 0);
    let now = d
        .request(
            &shelly("plug"),
            1,
            Action::PowerCycle { off_ms: 3_000 },
            1_000,
        )
        .unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].topic, "shellies/plug/relay/0/command");
    assert_eq!(now[0].payload, b"off");
    let pending = outlet(&d, &shelly("plug"), 1).pending.unwrap();
    assert_eq!(
        (pending.want, pending.then, pending.cycle),
        (Power::Off, Some(Power::On), true)
    );

    // The device confirms off: the cycle now waits for on.
    d.handle_message("shellies/plug/relay/0", b"off", false, 1_100);
    let pending = outlet(&d, &shelly("plug"), 1).pending.unwrap();
    assert_eq!(
        (pending.want, pending.then, pending.cycle),
        (Power::On, None, true)
    );

    // The on step goes out when its time comes, not before.
    assert_eq!(d.poll_timeout(), Some(4_000));
    assert!(d.handle_timeout(3_999).publish.is_empty());
    let later = d.handle_timeout(4_000).publish;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].payload, b"on");
    d.handle_message("shellies/plug/relay/0", b"on", false, 4_100);
    let done = outlet(&d, &shelly("plug"), 1);
    assert_eq!((done.pending, done.error), (None, None));
    assert_eq!(done.confirmed, Some(Power::On));
}

#[test]
fn a_tasmota_power_cycle_is_one_backlog_the_device_times_itself() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("stat/plug1/POWER", b"ON", false, 0);
    let now = d
        .request(
            &tasmota("plug1"),
            1,
            Action::PowerCycle { off_ms: 2_000 },
            0,
        )
        .unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].topic, "cmnd/plug1/Backlog");
    assert_eq!(now[0].payload, b"POWER OFF; Delay 20; POWER ON");
    assert!(!now[0].retain);
    // The whole cycle gets its off time on top of the usual timeout.
    assert_eq!(d.poll_timeout(), Some(2_000 + PENDING_TIMEOUT_MS));
}

#[test]
fn a_late_confirmation_clears_the_timeout_error() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("stat/plug1/POWER", b"OFF", false, 0);
    d.request(&tasmota("plug1"), 1, Power::On, 0).unwrap();
    d.handle_timeout(PENDING_TIMEOUT_MS);
    let failed = outlet(&d, &tasmota("plug1"), 1);
    assert!(failed.error.is_some());
    assert_eq!(
        failed.confirmed,
        Some(Power::Off),
        "back to the confirmed state"
    );
    // Another report of the old state does not clear it…
    d.handle_message("stat/plug1/POWER", b"OFF", false, PENDING_TIMEOUT_MS + 10);
    assert!(outlet(&d, &tasmota("plug1"), 1).error.is_some());
    // …the state asked for, late, does.
    d.handle_message("stat/plug1/POWER", b"ON", false, PENDING_TIMEOUT_MS + 900);
    let late = outlet(&d, &tasmota("plug1"), 1);
    assert_eq!((late.error, late.confirmed), (None, Some(Power::On)));
}

#[test]
fn a_staggered_group_switches_one_outlet_per_step() {
    let mut d = Dashboard::new(ConnectionId(1));
    for n in 1..=3 {
        d.handle_message(&format!("stat/strip/POWER{n}"), b"OFF", false, 0);
    }
    let outlets: Vec<_> = (1..=3).map(|n| (tasmota("strip"), n)).collect();
    let now = d.request_group(&outlets, Action::On, 1_000, 500);
    assert_eq!(now.len(), 1, "the first at once");
    assert_eq!(now[0].topic, "cmnd/strip/POWER");
    // Every outlet shows pending; the later ones from their turn.
    assert_eq!(
        outlet(&d, &tasmota("strip"), 3).pending.unwrap().since,
        2_500
    );
    assert_eq!(
        d.handle_timeout(1_500).publish[0].topic,
        "cmnd/strip/POWER2"
    );
    assert_eq!(
        d.handle_timeout(2_500).publish[0].topic,
        "cmnd/strip/POWER3"
    );
    assert!(d.handle_timeout(2_600).publish.is_empty());

    // All off: at once.
    let now = d.request_group(&outlets, Action::Off, 0, 3_000);
    let topics: Vec<_> = now.iter().map(|p| p.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["cmnd/strip/POWER", "cmnd/strip/POWER2", "cmnd/strip/POWER3"]
    );
}

#[test]
fn a_failed_send_drops_the_later_steps() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("shellies/plug/relay/0", b"on", false, 0);
    d.request(&shelly("plug"), 1, Action::PowerCycle { off_ms: 3_000 }, 0)
        .unwrap();
    d.fail_request(&shelly("plug"), 1, "not sent".into());
    assert!(d.handle_timeout(3_000).publish.is_empty());
}

#[test]
fn liveness_fuses_the_will_the_period_and_silence() {
    let mut d = Dashboard::new(ConnectionId(1));
    d.handle_message("tele/plug1/LWT", b"Online", false, 0);
    let key = tasmota("plug1");
    assert_eq!(d.device(&key).unwrap().liveness(10), Liveness::Live);
    assert_eq!(d.device(&key).unwrap().last_seen, Some(0));
    // No period known: silence alone does not make it stale.
    assert_eq!(d.device(&key).unwrap().liveness(10_000_000), Liveness::Live);
    // Two telemetry messages 10 s apart teach the period.
    d.handle_message("tele/plug1/STATE", br#"{"POWER":"ON"}"#, false, 1_000);
    d.handle_message("tele/plug1/STATE", br#"{"POWER":"ON"}"#, false, 11_000);
    let device = d.device(&key).unwrap();
    assert_eq!(device.period_ms, Some(10_000));
    let quiet = 11_000 + 10_000 * STALE_PERIODS;
    assert_eq!(device.liveness(quiet), Liveness::Live);
    assert_eq!(device.liveness(quiet + 1), Liveness::Stale);
    // A 1 s period that arrives a little early is still learned (then
    // counted as at least a second).
    d.handle_message("tele/plug1/STATE", br#"{"POWER":"ON"}"#, false, 11_990);
    assert_eq!(d.device(&key).unwrap().period_ms, Some(1_000));
    // The will wins.
    d.handle_message("tele/plug1/LWT", b"Offline", false, 12_000);
    assert_eq!(d.device(&key).unwrap().liveness(12_000), Liveness::Offline);
}

#[test]
fn a_device_known_only_from_discovery_waits_for_state() {
    let mut d = Dashboard::new(ConnectionId(1));
    // Tasmota native discovery, shortened from the docs' example.
    let config = br#"{"ip":"192.168.1.20","dn":"Kitchen","fn":["Kettle","Toaster",null],"hn":"tasmota-1A2B3C","mac":"A4CF121A2B3C","md":"Sonoff Dual R2","ofln":"Offline","onln":"Online","t":"tasmota_1A2B3C","ft":"%prefix%/%topic%/","tp":["cmnd","stat","tele"],"rl":[1,1,0],"ver":1}"#;
    let update = d.handle_message("tasmota/discovery/A4CF121A2B3C/config", config, true, 0);
    assert_eq!(
        update.publish[0].topic, "cmnd/tasmota_1A2B3C/STATE",
        "asked for its state"
    );
    let device = d.device(&tasmota("tasmota_1A2B3C")).unwrap();
    assert_eq!(device.name.as_deref(), Some("Kitchen"));
    let names: Vec<_> = device.outlets.iter().map(|o| o.name.as_deref()).collect();
    assert_eq!(names, [Some("Kettle"), Some("Toaster")]);
    assert!(device.awaiting_state());
    // Its sensors, by MAC.
    d.handle_message(
        "tasmota/discovery/A4CF121A2B3C/sensors",
        br#"{"sn":{"Time":"2021-01-01T00:00:00","ENERGY":{"Power":42,"Voltage":231,"Current":0.2,"Today":0.1,"Total":12.5}},"ver":1}"#,
        false,
        10,
    );
    let device = d.device(&tasmota("tasmota_1A2B3C")).unwrap();
    assert_eq!(device.readings.power_w, Some(42.0));
    assert!(!device.awaiting_state());
    // Its discovery cleared (an empty retained config): the tile goes.
    let update = d.handle_message("tasmota/discovery/A4CF121A2B3C/config", b"", true, 30);
    assert_eq!(update.removed, [tasmota("tasmota_1A2B3C")]);
    assert!(d.device(&tasmota("tasmota_1A2B3C")).is_none());
    // A device that nothing says is online, with no state: unknown.
    d.handle_message("cmnd/ghost/POWER", b"ON", true, 20);
    assert_eq!(
        d.device(&tasmota("ghost")).unwrap().liveness(20),
        Liveness::Unknown
    );
}

#[test]
fn power_history_keeps_the_last_minutes_bounded() {
    let mut d = Dashboard::new(ConnectionId(1));
    let mut t = 0;
    for w in 0..1_000u32 {
        d.handle_message(
            "shellies/p/relay/0/power",
            w.to_string().as_bytes(),
            false,
            t,
        );
        t += 1_000;
    }
    let history = &d.device(&shelly("p")).unwrap().power_history;
    assert!(history.len() <= devices::HISTORY_LEN);
    let (first, _) = history.front().unwrap();
    assert!(t - 1_000 - first <= HISTORY_MS);
    assert_eq!(history.back().unwrap().1, 999.0);
}

#[test]
fn a_scan_asks_every_ecosystem_at_most_every_few_seconds() {
    let mut d = Dashboard::new(ConnectionId(1));
    let asks = d.on_connected(0);
    let topics: Vec<_> = asks.iter().map(|a| a.topic.as_str()).collect();
    assert!(topics.contains(&"cmnd/tasmotas/STATE"), "{topics:?}");
    assert!(topics.contains(&"shellies/command"), "{topics:?}");
    assert!(asks.iter().all(|a| !a.retain));
    assert_eq!(d.scan(1_000), Err(SCAN_INTERVAL_MS));
    assert_eq!(d.scan(SCAN_INTERVAL_MS).unwrap().len(), asks.len());
    assert_eq!(d.last_scan().unwrap().0, SCAN_INTERVAL_MS);
}

#[test]
fn a_sparkline_spans_its_box() {
    let history: std::collections::VecDeque<(u64, f64)> =
        [(1_000, 0.0), (2_000, 50.0), (3_000, 100.0)].into();
    assert_eq!(
        devices::sparkline(&history, 100.0, 20.0).unwrap(),
        "0.0,20.0 50.0,10.0 100.0,0.0"
    );
    let flat: std::collections::VecDeque<(u64, f64)> = [(0, 5.0), (0, 5.0)].into();
    assert!(
        devices::sparkline(&flat, 100.0, 20.0).is_some(),
        "no division by zero"
    );
    assert!(devices::sparkline(&[(0, 1.0)].into(), 100.0, 20.0).is_none());
    let thirds: std::collections::VecDeque<(u64, f64)> = [(0, 0.0), (2, 1.0), (3, 3.0)].into();
    assert_eq!(
        devices::sparkline(&thirds, 10.0, 3.0).unwrap(),
        "0.0,3.0 6.7,2.0 10.0,0.0",
        "tenths, rounded"
    );
    let wide: std::collections::VecDeque<(u64, f64)> = [(0, 0.0), (1, 1.0)].into();
    assert_eq!(
        devices::sparkline(&wide, 12_345.0, 1_000.0).unwrap(),
        "0.0,1000.0 12345.0,0.0"
    );
}

#[test]
fn a_reading_is_a_pulse_and_a_state_change_is_the_rest() {
    use devices::Difference;
    let mut d = Dashboard::new(ConnectionId(1));
    let key = tasmota("plug");
    let look = |d: &Dashboard| d.device(&key).unwrap().clone();
    d.handle_message("stat/plug/POWER", b"OFF", false, 1_000);
    let off = look(&d);
    assert_eq!(
        off.difference(&off),
        Difference::default(),
        "nothing changed"
    );

    // The first reading ends "waiting for state" too.
    d.handle_message(
        "tele/plug/SENSOR",
        br#"{"ENERGY":{"Power":5.0}}"#,
        false,
        2_000,
    );
    let first = look(&d);
    assert_eq!(
        off.difference(&first),
        Difference {
            pulse: true,
            rest: true
        }
    );
    // Later readings, and being heard again, are pulses only, also once the
    // history is full and a sample replaces the oldest.
    let mut before = first;
    for i in 0..(devices::HISTORY_LEN as u64 + 5) {
        d.handle_message(
            "tele/plug/SENSOR",
            format!(r#"{{"ENERGY":{{"Power":{}}}}}"#, 6 + i % 2).as_bytes(),
            false,
            3_000 + i * 1_000,
        );
        let now = look(&d);
        assert_eq!(
            before.difference(&now),
            Difference {
                pulse: true,
                rest: false
            },
            "reading {i}"
        );
        before = now;
    }
    // A relay change is the rest.
    d.handle_message("stat/plug/POWER", b"ON", false, 200_000);
    assert!(before.difference(&look(&d)).rest);
}
