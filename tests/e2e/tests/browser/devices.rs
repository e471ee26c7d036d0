//! Tiles beyond a single toggle: custom tiles, the user's layout, power
//! actions, liveness, and discovery that needs nothing retained.

use e2e::{BrokerConfig, Devsim, Mosquitto, StaticServer};

use crate::harness::*;

/// The name the form gives a profile for this broker (`host:port`).
fn profile_name(broker: &Mosquitto) -> String {
    format!("127.0.0.1:{}", broker.ws_port)
}

/// A device no adapter knows, configured by hand: the tile shows at once
/// ("waiting"), its command reaches the device, and the device's report
/// confirms it. The tile is saved with the profile.
#[tokio::test(flavor = "current_thread")]
async fn a_custom_tile_drives_a_device_no_adapter_knows() {
    with_browser("custom_tile", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        // A Tasmota plug stands in for "some device": the custom tile
        // speaks to it by raw topics.
        let mut devsim = Devsim::start(broker.tcp_port, &["garage"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-custom").await?;
        browser.click("custom-tiles").await?;
        browser.type_into("custom-name", "Door").await?;
        browser
            .type_into("custom-state", "stat/garage/POWER")
            .await?;
        browser
            .type_into("custom-command", "cmnd/garage/POWER")
            .await?;
        browser.type_into("custom-on", "ON").await?;
        browser.type_into("custom-off", "OFF").await?;
        browser.click("custom-add").await?;
        wait_for_state(browser, "online-Door", "waiting").await?;
        browser.click("toggle-Door-1").await?;
        devsim.wait_for_line("recv garage cmnd/garage/POWER ON", WAIT)?;
        wait_for_state(browser, "state-Door-1", "ON").await?;

        // Kept with the profile: after a reload and a reconnect, it is back.
        browser.client.refresh().await?;
        browser
            .click(&format!("profile-connect-{}", profile_name(&broker)))
            .await?;
        wait_for_connection(browser, "subscribed").await?;
        wait_until(browser, "the custom tile after a reload", || async {
            Ok(browser.text("title-Door").await.is_ok())
        })
        .await?;
        // A bad topic is refused with the reason.
        browser.click("custom-tiles").await?;
        browser.type_into("custom-name", "Bad").await?;
        browser.type_into("custom-state", "stat/+/POWER").await?;
        browser.click("custom-add").await?;
        wait_until(browser, "the form's reason", || async {
            Ok(browser.text("custom-error").await?.contains("wildcards"))
        })
        .await
    })
    .await;
}

/// Renamed, grouped and hidden devices stay so across a reload, and the
/// export carries the layout.
#[tokio::test(flavor = "current_thread")]
async fn the_layout_is_kept_with_the_profile() {
    with_browser("layout", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = Devsim::start(broker.tcp_port, &["plug1", "strip:2"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-layout").await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        wait_for_state(browser, "state-strip-2", "OFF").await?;

        browser.click("arrange-plug1").await?;
        browser.type_into("rename-plug1", "Kettle").await?;
        browser.type_into("group-plug1", "Kitchen").await?;
        browser.click("save-arrange-plug1").await?;
        wait_for_state(browser, "title-plug1", "Kettle").await?;
        wait_until(browser, "the Kitchen group", || async {
            Ok(browser
                .text("group-heading-Kitchen")
                .await?
                .starts_with("Kitchen"))
        })
        .await?;
        // The switch is announced by the new name.
        let label = browser.attr("toggle-plug1-1", "aria-label").await?;
        if label.as_deref() != Some("Kettle, outlet 1") {
            return Err(format!("the switch is named {label:?}").into());
        }
        browser.click("arrange-strip").await?;
        browser.click("hide-strip").await?;
        wait_until(browser, "the strip hidden", || async {
            Ok(browser.text("hidden-devices").await?.contains("1 hidden")
                && browser.text("tile-strip").await.is_err())
        })
        .await?;

        browser.client.refresh().await?;
        browser
            .click(&format!("profile-connect-{}", profile_name(&broker)))
            .await?;
        wait_for_connection(browser, "subscribed").await?;
        wait_for_state(browser, "title-plug1", "Kettle").await?;
        wait_until(browser, "the strip still hidden", || async {
            Ok(browser.text("hidden-devices").await?.contains("1 hidden"))
        })
        .await?;
        let export: String = browser
            .client
            .execute("return localStorage.getItem('plugboard.profiles')", vec![])
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !export.contains("Kettle") || !export.contains("Kitchen") {
            return Err(format!("the layout is not stored: {export}").into());
        }
        // Shown again in one click.
        browser.click("hidden-devices").await?;
        browser.click("unhide-strip").await?;
        wait_for_state(browser, "state-strip-2", "OFF").await
    })
    .await;
}

/// Nothing on the broker: after a while the page says what it asked and
/// why devices may stay silent; a device that comes later is found by
/// Scan.
#[tokio::test(flavor = "current_thread")]
async fn an_empty_broker_gets_advice_and_scan_finds_a_later_device() {
    with_browser("scan_advice", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-scan").await?;
        wait_until(browser, "the nothing-found advice", || async {
            let text = browser.text("nothing-found").await.unwrap_or_default();
            Ok(text.contains("cmnd/tasmotas/STATE")
                && text.contains("shellies/command")
                && text.contains("homeassistant/status")
                && text.contains("clustered"))
        })
        .await?;
        let mut devsim = Devsim::start(broker.tcp_port, &["late"])?;
        browser.click("scan").await?;
        devsim.wait_for_line("recv late cmnd/tasmotas/STATE ", WAIT)?;
        wait_for_state(browser, "state-late-1", "OFF").await?;
        // Asked again at once: refused, with when.
        browser.click("scan").await?;
        wait_until(browser, "the scan limit", || async {
            Ok(browser.text("scan-result").await?.starts_with("Not asked"))
        })
        .await
    })
    .await;
}

/// A broker without retained messages at all (`retain_available false`),
/// and a device that was running before the page opened: the page's
/// discovery requests find it.
#[tokio::test(flavor = "current_thread")]
async fn a_device_started_before_the_page_is_found_with_nothing_retained() {
    with_browser("no_retain", async |browser, dir| {
        let broker = Mosquitto::start_with(
            &dir.join("mosquitto"),
            BrokerConfig {
                no_retain: true,
                ..BrokerConfig::default()
            },
        )?;
        let args = ["--no-retain", "--tasmota", "early"].map(String::from);
        let _devsim = Devsim::start_args(broker.tcp_port, &args, &["early"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-noretain").await?;
        wait_for_state(browser, "state-early-1", "OFF").await?;
        browser.click("toggle-early-1").await?;
        wait_for_state(browser, "state-early-1", "ON").await
    })
    .await;
}
