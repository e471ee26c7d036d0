//! Device ecosystems besides Tasmota, end to end through mosquitto and
//! devsim's models of them.

use e2e::{Devsim, Mosquitto, StaticServer};

use crate::harness::*;

const PLUG: &str = "shellyplug-s-7AECF4";

#[tokio::test(flavor = "current_thread")]
async fn a_shelly_gen1_plug_is_asked_to_announce_and_toggles() {
    with_browser("shelly_gen1", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &[&format!("shelly={PLUG}")])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-shelly").await?;
        // Discovery does not wait for the device: the page asks.
        devsim.wait_for_line(&format!("recv {PLUG} shellies/command announce"), WAIT)?;
        wait_for_state(browser, &format!("state-{PLUG}-1"), "OFF").await?;
        browser.click(&format!("toggle-{PLUG}-1")).await?;
        devsim.wait_for_line(
            &format!("recv {PLUG} shellies/{PLUG}/relay/0/command on"),
            WAIT,
        )?;
        wait_for_state(browser, &format!("state-{PLUG}-1"), "ON").await?;
        // relay/0/power 37.71 W; relay/0/energy in W·min shown as kWh.
        wait_until(browser, "the Shelly's readings", || async {
            let text = browser.text(&format!("readings-{PLUG}")).await?;
            Ok(text.starts_with("37.7 W") && text.contains("total 46.720 kWh"))
        })
        .await
    })
    .await;
}

/// A broker controls how many ids appear: 10 000 fake ones show at most
/// the cap (2 000), and the page says how many it left out.
#[tokio::test(flavor = "current_thread")]
async fn the_device_cap_holds_under_a_flood_of_fake_ids() {
    with_browser("device_flood", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-flood").await?;
        crate::devsim::publish_all(
            broker.tcp_port,
            (0..10_000).map(|i| (format!("stat/fake{i}/POWER"), "ON".to_owned())),
        )?;
        wait_until(
            browser,
            "the page to say 8000 ids were left out",
            || async {
                Ok(browser
                    .text("devices-ignored")
                    .await?
                    .starts_with("8000 more"))
            },
        )
        .await?;
        // Tiles render a few dozen a frame: wait for all of them.
        let tiles = || async {
            Ok::<_, Box<dyn std::error::Error>>(
                browser
                    .client
                    .execute(
                        "return document.querySelectorAll('[data-testid^=\"tile-\"]').length",
                        vec![],
                    )
                    .await?,
            )
        };
        wait_until(browser, "2 000 tiles", || async {
            Ok(tiles().await? == serde_json::json!(2000))
        })
        .await?;
        // And no more: every later id was turned away.
        let count = tiles().await?;
        if count != serde_json::json!(2000) {
            return Err(format!("{count} tiles, expected 2000").into());
        }
        Ok(())
    })
    .await;
}

/// The top Tasmota complaint: a retained `cmnd/…/POWER` switches the plug
/// at every reconnect. The tile flags it and clears it in one click.
#[tokio::test(flavor = "current_thread")]
async fn a_retained_command_is_flagged_and_cleared_in_one_click() {
    with_browser("ghost_switch", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = Devsim::start(broker.tcp_port, &["plug1"])?;
        crate::devsim::publish_retained(broker.tcp_port, "cmnd/plug1/POWER", "ON")?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-ghost").await?;
        wait_until(browser, "the retained command flagged", || async {
            Ok(browser
                .text("retained-plug1")
                .await?
                .contains("cmnd/plug1/POWER"))
        })
        .await?;
        browser.click("clear-cmnd/plug1/POWER").await?;
        wait_until(
            browser,
            "the flag to go once the broker confirms",
            || async {
                Ok(browser
                    .client
                    .find(fantoccini::Locator::Css("[data-testid='retained-plug1']"))
                    .await
                    .is_err())
            },
        )
        .await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_zigbee2mqtt_plug_from_bridge_devices_toggles() {
    with_browser("zigbee2mqtt", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["z2m=kitchen_plug"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-z2m").await?;
        // Listed in the retained bridge/devices; its state comes from a get.
        devsim.wait_for_line(
            r#"recv kitchen_plug zigbee2mqtt/kitchen_plug/get {"state":""}"#,
            WAIT,
        )?;
        wait_for_state(browser, "state-kitchen_plug-1", "OFF").await?;
        if browser.text("online-kitchen_plug").await? != "live" {
            return Err("the plug's availability is not shown".into());
        }
        browser.click("toggle-kitchen_plug-1").await?;
        devsim.wait_for_line(
            r#"recv kitchen_plug zigbee2mqtt/kitchen_plug/set {"state":"ON"}"#,
            WAIT,
        )?;
        wait_for_state(browser, "state-kitchen_plug-1", "ON").await?;
        wait_until(browser, "the plug's readings", || async {
            Ok(browser
                .text("readings-kitchen_plug")
                .await?
                .starts_with("12.5 W · 230 V · 0.054 A"))
        })
        .await
    })
    .await;
}
