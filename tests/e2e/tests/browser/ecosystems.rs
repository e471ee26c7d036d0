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
