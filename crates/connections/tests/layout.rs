//! Layouts, custom tiles and saved publishes: arranged as the user said,
//! kept with the profile, and through an export.

use connections::{
    add_custom_tile, CustomTile, CustomTileError, Layout, LayoutError, Profile, SavedFormat,
    SavedPublish, Store, MAX_LABEL,
};

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn devices_are_shown_in_the_users_order_grouped_and_without_the_hidden() {
    let mut layout = Layout::default();
    let all = ["Tasmota/a", "Tasmota/b", "Shelly/c", "NETIO/d"];
    let (sections, hidden) = layout.arrange(all);
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0].keys, keys(&all), "untouched: as given");
    assert!(hidden.is_empty());

    layout.set_group("Shelly/c", "Kitchen").unwrap();
    layout.set_group("Tasmota/a", " Kitchen ").unwrap();
    layout.set_hidden("NETIO/d", true).unwrap();
    let (sections, hidden) = layout.arrange(all);
    assert_eq!(sections[0].group, None);
    assert_eq!(sections[0].keys, keys(&["Tasmota/b"]));
    assert_eq!(sections[1].group.as_deref(), Some("Kitchen"));
    assert_eq!(sections[1].keys, keys(&["Shelly/c", "Tasmota/a"]));
    assert_eq!(hidden, keys(&["NETIO/d"]));

    // Moving within the group swaps the two, and the order holds.
    layout
        .move_device(&sections[1].keys, "Tasmota/a", true)
        .unwrap();
    let (sections, _) = layout.arrange(all);
    assert_eq!(sections[1].keys, keys(&["Tasmota/a", "Shelly/c"]));
    // At the edge: nothing moves.
    layout
        .move_device(&sections[1].keys, "Tasmota/a", true)
        .unwrap();
    assert_eq!(
        layout.arrange(all).0[1].keys,
        keys(&["Tasmota/a", "Shelly/c"])
    );

    // Out of the group again (an empty name), shown again.
    layout.set_group("Tasmota/a", "").unwrap();
    layout.set_hidden("NETIO/d", false).unwrap();
    let (sections, hidden) = layout.arrange(all);
    assert!(hidden.is_empty());
    assert!(sections[0].keys.contains(&"Tasmota/a".to_owned()));
    assert!(sections[0].keys.contains(&"NETIO/d".to_owned()));
}

#[test]
fn names_and_protection_are_bounded_and_reversible() {
    let mut layout = Layout::default();
    layout.rename("Tasmota/a", "Kettle").unwrap();
    assert_eq!(
        layout.get("Tasmota/a").unwrap().name.as_deref(),
        Some("Kettle")
    );
    assert_eq!(
        layout.rename("Tasmota/a", &"x".repeat(MAX_LABEL + 1)),
        Err(LayoutError::TooLong)
    );
    layout.rename("Tasmota/a", "  ").unwrap();
    assert_eq!(layout.get("Tasmota/a").unwrap().name, None);
    layout.set_protected("NETIO/d", 2, true).unwrap();
    assert!(layout.is_protected("NETIO/d", 2));
    assert!(!layout.is_protected("NETIO/d", 1));
    layout.set_protected("NETIO/d", 2, false).unwrap();
    assert!(!layout.is_protected("NETIO/d", 2));
}

#[test]
fn custom_tiles_are_checked_before_they_are_kept() {
    let good = CustomTile {
        name: "Garage".into(),
        state_topic: "home/garage/relay".into(),
        command_topic: "home/garage/relay/set".into(),
        payload_on: "1".into(),
        payload_off: "0".into(),
        json_path: Some(" ".into()),
    };
    let mut tiles = Vec::new();
    add_custom_tile(&mut tiles, good.clone(), false).unwrap();
    assert_eq!(tiles[0].json_path, None, "a blank path is none");
    assert_eq!(
        add_custom_tile(&mut tiles, good.clone(), false),
        Err(CustomTileError::Taken)
    );
    add_custom_tile(&mut tiles, good.clone(), true).unwrap();
    let wild = CustomTile {
        state_topic: "home/+/relay".into(),
        ..good.clone()
    };
    let err = add_custom_tile(&mut tiles, wild, true).unwrap_err();
    assert!(err.to_string().contains("wildcards"), "{err}");
    let same = CustomTile {
        payload_off: "1".into(),
        ..good.clone()
    };
    assert_eq!(
        add_custom_tile(&mut tiles, same, true),
        Err(CustomTileError::Payloads)
    );
    let unnamed = CustomTile {
        name: "".into(),
        ..good
    };
    assert_eq!(
        add_custom_tile(&mut tiles, unnamed, true),
        Err(CustomTileError::Name)
    );
}

#[test]
fn the_layout_and_custom_tiles_travel_with_the_profile_and_its_export() {
    let mut profile = Profile {
        id: "p1".into(),
        name: "Home".into(),
        url: "ws://127.0.0.1:9001/".into(),
        ..Profile::default()
    };
    profile.layout.rename("Tasmota/a", "Kettle").unwrap();
    profile.layout.set_protected("Tasmota/a", 1, true).unwrap();
    profile.custom_tiles.push(CustomTile {
        name: "Garage".into(),
        state_topic: "home/garage/relay".into(),
        command_topic: "home/garage/relay/set".into(),
        payload_on: "ON".into(),
        payload_off: "OFF".into(),
        json_path: Some("state".into()),
    });
    profile.saved_publishes.push(SavedPublish {
        name: "Kettle on".into(),
        topic: "cmnd/kettle/POWER".into(),
        payload: "ON".into(),
        format: SavedFormat::Text,
        qos: 1,
        retain: false,
    });
    let mut store = Store::default();
    store.upsert(profile.clone()).unwrap();
    let back = Store::from_json(&store.to_json()).unwrap();
    assert_eq!(back.get("p1").unwrap().layout, profile.layout);
    assert_eq!(back.get("p1").unwrap().custom_tiles, profile.custom_tiles);
    assert_eq!(
        back.get("p1").unwrap().saved_publishes,
        profile.saved_publishes
    );

    let mut other = Store::default();
    let mut n = 0;
    other
        .import(&store.export(), &mut || {
            n += 1;
            format!("new{n}")
        })
        .unwrap();
    let imported = &other.profiles()[0];
    assert_eq!(imported.layout, profile.layout);
    assert_eq!(imported.custom_tiles, profile.custom_tiles);
    assert_eq!(imported.saved_publishes, profile.saved_publishes);
}

#[test]
fn an_older_document_without_a_layout_still_reads() {
    let old = r#"{"schema":1,"profiles":[{"id":"p1","name":"Home","url":"ws://127.0.0.1:9001/"}]}"#;
    let store = Store::from_json(old).unwrap();
    assert_eq!(store.get("p1").unwrap().layout, Layout::default());
    assert!(store.get("p1").unwrap().custom_tiles.is_empty());
}

#[test]
fn an_import_with_a_bad_custom_tile_is_refused_with_the_reason() {
    let doc = r##"{"schema":1,"profiles":[{"id":"p1","name":"Home","url":"ws://127.0.0.1:9001/",
        "custom_tiles":[{"name":"Garage","state_topic":"home/#","payload_on":"1","payload_off":"0"}]}]}"##;
    let err = Store::default()
        .import(doc, &mut || "x".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("custom tile \"Garage\""), "{err}");
    assert!(err.contains("wildcards"), "{err}");
}

#[test]
fn device_topics_default_and_refuse_wildcards() {
    let mut profile = Profile {
        id: "p1".into(),
        name: "Home".into(),
        url: "ws://127.0.0.1:9001/".into(),
        ..Profile::default()
    };
    assert_eq!(profile.device_topics.netio, "netio");
    assert!(profile.validate().is_ok());
    profile.device_topics.zigbee2mqtt = "zb/#".into();
    let err = profile.validate().unwrap_err().to_string();
    assert!(err.contains("device topic"), "{err}");
    profile.device_topics.zigbee2mqtt = "zb//home".into();
    assert!(profile.validate().is_err(), "an empty level");
}
