//! aedes: a real MQTT 3.1.1-only broker, as a second broker besides mosquitto.
//! It answers an MQTT 5 CONNECT with a 3.1.1 CONNACK "unacceptable protocol
//! version" and drops the connection, and sends each packet over WebSocket
//! in several frames (one per write of its encoder).

use e2e::{Aedes, Devsim, StaticServer};
use fantoccini::Locator;

use crate::harness::*;

#[tokio::test(flavor = "current_thread")]
async fn auto_falls_back_to_3_1_1_on_aedes() {
    with_browser("aedes_fallback_311", async |browser, _dir| {
        let aedes = Aedes::start()?;
        let server = StaticServer::start(&dist(), 0)?;
        // Version "auto": MQTT 5 first, then 3.1.1 after aedes refuses it.
        open_for(browser, &server, &aedes.ws_url()).await?;
        wait_for_connection(browser, "subscribed").await?;
        let notice = browser.text("connection-notice").await?;
        if !notice.contains("MQTT 3.1.1 only") {
            return Err(format!("notice {notice:?} does not say it fell back").into());
        }
        browser.save_artifacts().await;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_plug_on_aedes_toggles() {
    with_browser("aedes_toggle", async |browser, _dir| {
        let aedes = Aedes::start()?;
        let mut devsim = Devsim::start(aedes.tcp_port, &["plug1"])?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &aedes.ws_url()).await?;
        // SUBACK before anything else, or a publish could race the
        // subscription.
        wait_for_connection(browser, "subscribed").await?;

        // Discovered from its retained LWT; its state comes from the query
        // the app publishes on discovery.
        browser
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("[data-testid='tile-plug1']"))
            .await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        devsim.wait_for_line("recv plug1 cmnd/plug1/STATE ", WAIT)?;

        browser.click("toggle-plug1-1").await?;
        devsim.wait_for_line("recv plug1 cmnd/plug1/POWER ON", WAIT)?;
        wait_for_state(browser, "state-plug1-1", "ON").await?;
        let online = browser.text("online-plug1").await?;
        if online != "live" {
            return Err(format!("tile says {online:?}, expected live").into());
        }

        // And back off.
        browser.click("toggle-plug1-1").await?;
        devsim.wait_for_line("recv plug1 cmnd/plug1/POWER OFF", WAIT)?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        browser.save_artifacts().await;
        Ok(())
    })
    .await;
}
