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
        // The page is back once its saved connections are listed.
        wait_until(browser, "the saved connection after the reload", || async {
            Ok(browser
                .text(&format!("profile-status-{}", profile_name(&broker)))
                .await
                .is_ok())
        })
        .await?;
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
        let mut devsim = Devsim::start(broker.tcp_port, &["plug1", "strip:2"])?;
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
        // Moved within its group: the strip first.
        browser.click("arrange-strip").await?;
        browser.type_into("group-strip", "Kitchen").await?;
        browser.click("save-arrange-strip").await?;
        let order = || async {
            let order = browser
                .client
                .execute(
                    "return [...document.querySelectorAll('article.tile')].map(t => t.dataset.testid)",
                    vec![],
                )
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(order.to_string())
        };
        wait_until(browser, "plug1 then the strip in Kitchen", || async {
            Ok(order().await? == r#"["tile-plug1","tile-strip"]"#)
        })
        .await?;
        browser.click("arrange-strip").await?;
        browser.click("up-strip").await?;
        wait_until(browser, "the strip moved up", || async {
            Ok(order().await? == r#"["tile-strip","tile-plug1"]"#)
        })
        .await?;

        // A protected outlet asks first: "no" sends nothing, "yes" switches.
        browser.click("arrange-plug1").await?;
        browser.click("protect-plug1-1").await?;
        browser.click("toggle-plug1-1").await?;
        browser.client.dismiss_alert().await?;
        browser.click("toggle-plug1-1").await?;
        browser.client.accept_alert().await?;
        devsim.wait_for_line("recv plug1 cmnd/plug1/POWER ON", WAIT)?;
        wait_for_state(browser, "state-plug1-1", "ON").await?;
        let commands = devsim
            .lines()
            .iter()
            .filter(|l| l.starts_with("recv plug1 cmnd/plug1/POWER "))
            .count();
        if commands != 1 {
            return Err(format!("{commands} commands reached the plug, expected 1").into());
        }

        browser.click("arrange-strip").await?;
        browser.click("hide-strip").await?;
        wait_until(browser, "the strip hidden", || async {
            Ok(browser.text("hidden-devices").await?.contains("1 hidden")
                && browser.text("tile-strip").await.is_err())
        })
        .await?;

        browser.client.refresh().await?;
        // The page is back once its saved connections are listed.
        wait_until(browser, "the saved connection after the reload", || async {
            Ok(browser
                .text(&format!("profile-status-{}", profile_name(&broker)))
                .await
                .is_ok())
        })
        .await?;
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
        // In MQTT 5 the broker says Retain Available 0 (and refuses a
        // retained will): devsim honours it without being told.
        let args = ["--protocol", "5", "--tasmota", "five"].map(String::from);
        let _v5 = Devsim::start_args(broker.tcp_port, &args, &["five"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-noretain").await?;
        wait_for_state(browser, "state-early-1", "OFF").await?;
        wait_for_state(browser, "state-five-1", "OFF").await?;
        browser.click("toggle-early-1").await?;
        wait_for_state(browser, "state-early-1", "ON").await
    })
    .await;
}

/// The MQTT-flex JSON the page generates drives devsim's NETIO: its
/// outlets appear, a toggle is confirmed, and a power-cycle (action 2, the
/// device's own short off) runs to completion on the tile.
#[tokio::test(flavor = "current_thread")]
async fn the_generated_mqtt_flex_config_drives_a_netio_and_its_power_cycle() {
    with_browser("netio_flex", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        // This installation publishes under `pdu/`, not the default
        // `netio/`: set in the connection and in the generator alike.
        open_page(browser, &server).await?;
        browser.type_into("broker-url", &broker.ws_url()).await?;
        browser.type_into("client-id", "e2e-netio").await?;
        browser.click("more-settings").await?;
        browser.type_into("topic-netio", "pdu").await?;
        browser.click("connect").await?;
        wait_for_connection(browser, "subscribed").await?;
        browser.click("netio-flex").await?;
        browser.type_into("flex-prefix", "pdu").await?;
        browser.type_into("flex-device", "box").await?;
        browser.type_into("flex-host", "127.0.0.1").await?;
        browser
            .type_into("flex-port", &broker.tcp_port.to_string())
            .await?;
        browser.click("flex-generate").await?;
        wait_until(browser, "the generated config", || async {
            Ok(browser
                .text("flex-json")
                .await?
                .contains("OUTPUTS/4/ACTION"))
        })
        .await?;
        browser.click("flex-copy").await?;
        wait_until(browser, "the copy result", || async {
            Ok(!browser.text("flex-copied").await?.is_empty())
        })
        .await?;
        let json = browser.text("flex-json").await?;
        let config = dir.join("box.json");
        std::fs::write(&config, &json)?;
        let args = vec![
            "--netio-config".to_owned(),
            format!("{}:box", config.display()),
            "--netio-delay".to_owned(),
            "1500".to_owned(),
        ];
        let mut devsim = Devsim::start_args(broker.tcp_port, &args, &["box"])?;
        wait_for_state(browser, "state-box-4", "OFF").await?;
        browser.click("toggle-box-2").await?;
        devsim.wait_for_line("recv box pdu/box/output/2/action 1", WAIT)?;
        wait_for_state(browser, "state-box-2", "ON").await?;
        wait_until(browser, "the NETIO's readings", || async {
            Ok(browser.text("readings-box").await?.contains(" W"))
        })
        .await?;

        browser.click("cycle-box-2").await?;
        devsim.wait_for_line("recv box pdu/box/output/2/action 2", WAIT)?;
        wait_for_state(browser, "state-box-2", "power-cycling: on…").await?;
        wait_for_state(browser, "state-box-2", "ON").await?;
        let error = browser.text("error-box-2").await;
        if let Ok(error) = error {
            return Err(format!("the cycle ended with an error: {error}").into());
        }
        // A pasted config with a typo is refused with where it is.
        browser
            .type_into("flex-paste", r#"{"config":{"broker":{}}}"#)
            .await?;
        browser.click("flex-check").await?;
        wait_until(browser, "the checker's verdict", || async {
            Ok(browser.text("flex-verdict").await?.starts_with("Not valid"))
        })
        .await
    })
    .await;
}

/// A Tasmota outlet power-cycles with one Backlog the plug times itself;
/// the tile shows the cycle in progress and ends confirmed on.
#[tokio::test(flavor = "current_thread")]
async fn a_tasmota_outlet_power_cycles_to_completion() {
    with_browser("tasmota_cycle", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["cycler"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-cycle").await?;
        wait_for_state(browser, "state-cycler-1", "OFF").await?;
        // An outlet that is off cannot be cycled: the button says so.
        let disabled = browser.attr("cycle-cycler-1", "aria-disabled").await?;
        if disabled.as_deref() != Some("true") {
            return Err(format!("cycle on an off outlet: aria-disabled {disabled:?}").into());
        }
        browser.click("toggle-cycler-1").await?;
        wait_for_state(browser, "state-cycler-1", "ON").await?;
        browser.click("cycle-cycler-1").await?;
        devsim.wait_for_line(
            "recv cycler cmnd/cycler/Backlog POWER OFF; Delay 50; POWER ON",
            WAIT,
        )?;
        wait_for_state(browser, "state-cycler-1", "power-cycling: on…").await?;
        wait_for_state(browser, "state-cycler-1", "ON").await?;
        if let Ok(error) = browser.text("error-cycler-1").await {
            return Err(format!("the cycle ended with an error: {error}").into());
        }
        Ok(())
    })
    .await;
}

/// A strip's outlets switched on one after the other, then all off.
#[tokio::test(flavor = "current_thread")]
async fn all_on_staggered_then_all_off() {
    with_browser("staggered", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["rack:3"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-stagger").await?;
        wait_for_state(browser, "state-rack-3", "OFF").await?;
        browser.click("all-on-rack").await?;
        // The last one waits its turn while the first is already asked.
        wait_for_state(browser, "state-rack-3", "waits its turn (on)…").await?;
        for n in 1..=3 {
            wait_for_state(browser, &format!("state-rack-{n}"), "ON").await?;
        }
        let order: Vec<String> = devsim
            .lines()
            .iter()
            .filter(|l| l.starts_with("recv rack cmnd/rack/POWER") && l.ends_with(" ON"))
            .cloned()
            .collect();
        if order
            != [
                "recv rack cmnd/rack/POWER ON",
                "recv rack cmnd/rack/POWER2 ON",
                "recv rack cmnd/rack/POWER3 ON",
            ]
        {
            return Err(format!("switched in this order: {order:?}").into());
        }
        browser.click("all-off-rack").await?;
        for n in 1..=3 {
            wait_for_state(browser, &format!("state-rack-{n}"), "OFF").await?;
        }
        Ok(())
    })
    .await;
}

/// Home Assistant discovery: the switch and its power sensor become one
/// tile named by the device block; the state topic the config names is
/// subscribed on the fly; a toggle is confirmed.
#[tokio::test(flavor = "current_thread")]
async fn a_home_assistant_discovered_switch_toggles_and_meters() {
    with_browser("ha_discovery", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let args = ["--ha", "kettle"].map(String::from);
        let mut devsim = Devsim::start_args(broker.tcp_port, &args, &["kettle"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-ha").await?;
        devsim.wait_for_line("recv kettle homeassistant/status online", WAIT)?;
        wait_for_state(browser, "state-devsim-kettle-1", "OFF").await?;
        wait_for_state(browser, "title-devsim-kettle", "kettle").await?;
        browser.click("toggle-devsim-kettle-1").await?;
        devsim.wait_for_line("recv kettle devsim/kettle/set ON", WAIT)?;
        wait_for_state(browser, "state-devsim-kettle-1", "ON").await?;
        wait_until(browser, "the power sensor's reading", || async {
            Ok(browser.text("readings-devsim-kettle").await?.contains(" W"))
        })
        .await?;
        // A binary sensor of the same device joins its tile as a flag.
        crate::devsim::publish_retained(
            broker.tcp_port,
            "homeassistant/binary_sensor/kettle/lid/config",
            r#"{"name":"Lid","dev_cla":"door","stat_t":"devsim/kettle/lid","dev":{"ids":["devsim-kettle"]}}"#,
        )?;
        // Published until the page has subscribed to the state topic.
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            crate::devsim::publish_all(
                broker.tcp_port,
                [("devsim/kettle/lid".to_owned(), "ON".to_owned())],
            )?;
            if browser.text("flags-devsim-kettle").await.unwrap_or_default() == "Lid: open" {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err("the lid's flag never showed".into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(())
    })
    .await;
}

/// Shelly Gen2+: found when the page asks, switched over JSON-RPC and
/// confirmed by its status notification.
#[tokio::test(flavor = "current_thread")]
async fn a_shelly_gen2_switch_is_found_and_toggles_over_rpc() {
    with_browser("shelly_gen2", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let id = "shellyplus1pm-a8032ab12345";
        let args = ["--no-retain", "--shelly-gen2", id].map(String::from);
        let mut devsim = Devsim::start_args(broker.tcp_port, &args, &[id])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-gen2").await?;
        wait_for_state(browser, &format!("state-{id}-1"), "OFF").await?;
        browser.click(&format!("toggle-{id}-1")).await?;
        wait_for_state(browser, &format!("state-{id}-1"), "ON").await?;
        let rpc = devsim
            .lines()
            .iter()
            .any(|l| l.starts_with(&format!("recv {id} {id}/rpc")) && l.contains("Switch.Set"));
        if !rpc {
            return Err(format!("no Switch.Set reached the device: {:?}", devsim.lines()).into());
        }
        Ok(())
    })
    .await;
}

/// A device that stops talking without its will firing (SIGSTOP: the TCP
/// connection stays) goes stale after a few of its periods, and live again
/// when it resumes — over the same connection (devsim survives EINTR).
#[tokio::test(flavor = "current_thread")]
async fn a_silent_device_goes_stale_and_comes_back() {
    with_browser("stale", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let args = ["--tele-period", "1", "--tasmota", "lively"].map(String::from);
        let mut devsim = Devsim::start_args(broker.tcp_port, &args, &["lively"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-stale").await?;
        wait_for_state(browser, "online-lively", "live").await?;
        // Setup, not an assertion: two telemetry periods (1 s) teach the
        // page the device's period.
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        // Its power over the last minutes, drawn from the periodic SENSOR.
        wait_until(browser, "the sparkline", || async {
            Ok(browser
                .attr("spark-lively", "aria-label")
                .await
                .ok()
                .flatten()
                .is_some_and(|l| l.contains("power")))
        })
        .await?;
        let signal = |name: &str| {
            std::process::Command::new("kill")
                .arg(format!("-{name}"))
                .arg(devsim.pid().to_string())
                .status()
        };
        signal("STOP")?;
        let stale = wait_for_state(browser, "online-lively", "stale").await;
        signal("CONT")?;
        stale?;
        wait_for_state(browser, "online-lively", "live").await?;
        let readies = devsim
            .lines()
            .iter()
            .filter(|l| *l == "ready lively")
            .count();
        if readies != 1 {
            return Err(format!("devsim reconnected after SIGCONT ({readies} × ready)").into());
        }
        Ok(())
    })
    .await;
}
