//! The dashboard against mosquitto and devsim: connect, discover, toggle,
//! the errors a user meets first, a broker restart.

use std::time::{Duration, Instant};

use e2e::{free_port, Devsim, HostileBroker, HostileMode, Mosquitto, StaticServer};
use fantoccini::Locator;

use crate::harness::*;

#[tokio::test(flavor = "current_thread")]
async fn toggle_round_trip_through_mosquitto_and_devsim() {
    with_browser("toggle_round_trip", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["plug1"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-toggle").await?;

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
        // Its metering (tele/plug1/SENSOR ENERGY) follows: 60 W at 230 V.
        wait_until(browser, "the readings of the plug", || async {
            Ok(browser
                .text("readings-plug1")
                .await?
                .starts_with("60.0 W · 230 V"))
        })
        .await?;
        let online = browser.text("online-plug1").await?;
        if online != "live" {
            return Err(format!("tile says {online:?}, expected live").into());
        }

        // And back off.
        browser.click("toggle-plug1-1").await?;
        devsim.wait_for_line("recv plug1 cmnd/plug1/POWER OFF", WAIT)?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        wait_until(browser, "the readings to drop", || async {
            Ok(browser.text("readings-plug1").await?.starts_with("0.0 W"))
        })
        .await?;
        browser.save_artifacts().await;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn unconfirmed_toggle_stays_pending_then_fails_and_lwt_shows_offline() {
    with_browser("unconfirmed_toggle", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let devsim = Devsim::start(broker.tcp_port, &["plug2"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-pending").await?;
        wait_for_state(browser, "state-plug2-1", "OFF").await?;

        // The device vanishes without DISCONNECT: the broker publishes its
        // will, and the tile shows it offline.
        drop(devsim);
        wait_for_state(browser, "online-plug2", "offline").await?;

        // Nobody answers the command: pending, then an error on the tile.
        browser.click("toggle-plug2-1").await?;
        wait_for_state(browser, "state-plug2-1", "switching on…").await?;
        wait_until(browser, "the no-confirmation error", || async {
            Ok(browser
                .text("error-plug2-1")
                .await?
                .contains("no confirmation"))
        })
        .await?;
        wait_for_state(browser, "state-plug2-1", "OFF").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn connecting_where_no_broker_listens_shows_a_clear_error() {
    with_browser("no_broker", async |browser, _dir| {
        let server = StaticServer::start(&dist(), 0)?;
        let closed = free_port()?; // nothing listens here
        browser
            .client
            .goto(&format!("{}?broker=ws://127.0.0.1:{closed}/", server.url()))
            .await?;
        accept_link(browser).await?;
        wait_for_connection(browser, "error").await?;
        let message = browser.text("connection-error").await?;
        let expected = format!("Could not connect to ws://127.0.0.1:{closed}/");
        if !message.contains(&expected) {
            return Err(format!("error message {message:?} does not say {expected:?}").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_tcp_url_is_refused_before_connecting() {
    with_browser("tcp_url", async |browser, _dir| {
        let server = StaticServer::start(&dist(), 0)?;
        browser
            .client
            .goto(&format!("{}?broker=mqtt://127.0.0.1:1883", server.url()))
            .await?;
        accept_link(browser).await?;
        wait_until(browser, "an error about raw TCP", || async {
            Ok(browser
                .text("connection-error")
                .await?
                .contains("cannot open mqtt://"))
        })
        .await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn query_parameters_prefill_the_form_and_connect() {
    with_browser("query_autoconnect", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        // The demo's devices, so this test's screenshot shows the demo.
        let _devsim = Devsim::start(
            broker.tcp_port,
            &["kitchen", "desk", "strip:4", "shelly=shellyplug-s-7AECF4"],
        )?;
        let server = StaticServer::start(&dist(), 0)?;
        let url = format!(
            "{}?broker={}&client_id=e2e-query",
            server.url(),
            broker.ws_url()
        );
        browser.client.goto(&url).await?;
        accept_link(browser).await?;
        wait_for_connection(browser, "subscribed").await?;
        let field = browser
            .client
            .find(Locator::Css("[data-testid='client-id']"))
            .await?;
        if field.prop("value").await?.as_deref() != Some("e2e-query") {
            return Err("client id not taken from the query".into());
        }
        // A 4-relay strip shows four outlets, each with its own state.
        wait_for_state(browser, "state-strip-4", "OFF").await?;
        wait_for_state(browser, "state-desk-1", "OFF").await?;
        browser.click("toggle-strip-3").await?;
        wait_for_state(browser, "state-strip-3", "ON").await?;
        wait_for_state(browser, "state-strip-2", "OFF").await?;
        browser.click("toggle-kitchen-1").await?;
        wait_for_state(browser, "state-kitchen-1", "ON").await?;
        wait_for_state(browser, "state-shellyplug-s-7AECF4-1", "OFF").await?;
        // The README's screenshot: from the top of the page.
        browser
            .client
            .execute("window.scrollTo(0, 0)", vec![])
            .await?;
        browser.save_artifacts().await;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_page_reconnects_after_the_broker_restarts() {
    with_browser("broker_restart", async |browser, dir| {
        let mut broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["lamp"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-restart").await?;
        wait_for_state(browser, "state-lamp-1", "OFF").await?;

        broker.restart()?;
        // The page notices, says so, and reconnects on the engine's backoff;
        // devsim does the same on its own.
        wait_until(browser, "the page to reconnect and resubscribe", || async {
            Ok(browser
                .attr("connection-status", "data-state")
                .await?
                .as_deref()
                == Some("subscribed")
                && browser
                    .client
                    .find(Locator::Css("[data-testid='connection-error']"))
                    .await
                    .is_err())
        })
        .await?;
        // devsim's second "ready": it too is back and subscribed.
        devsim.wait_for_lines("ready lamp", 2, WAIT)?;

        browser.click("toggle-lamp-1").await?;
        devsim.wait_for_line("recv lamp cmnd/lamp/POWER ON", WAIT)?;
        wait_for_state(browser, "state-lamp-1", "ON").await?;
        Ok(())
    })
    .await;
}

// ---- brokers that misbehave ----

#[tokio::test(flavor = "current_thread")]
async fn auto_falls_back_to_3_1_1_when_a_broker_closes_after_a_v5_connect() {
    with_browser("fallback_311", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::NoV5)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "subscribed").await?;
        let notice = browser.text("connection-notice").await?;
        if !notice.contains("MQTT 3.1.1 only") {
            return Err(format!("notice {notice:?} does not say it fell back").into());
        }
        if broker.connections() != 2 {
            return Err(format!("{} connections, expected 2", broker.connections()).into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_20_mb_publish_is_refused_without_the_memory_and_disconnect_still_works() {
    with_browser("hostile_huge", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::Huge(20 << 20))?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "reconnecting").await?;
        let message = browser.text("connection-error").await?;
        // In sizes people read: "a packet of 20 MB exceeds the maximum of
        // 1 MB", not "20971520 bytes".
        if !message.contains("a packet of 20 MB exceeds the maximum of")
            || message.contains("bytes")
        {
            return Err(format!(
                "message {message:?} does not say the packet was too large, readably"
            )
            .into());
        }
        // Disconnect is there while reconnecting, and stops it.
        browser.click("disconnect").await?;
        wait_for_connection(browser, "idle").await?;
        let bytes = browser
            .client
            .execute("return window.wasmBindings.wasm_memory_bytes()", vec![])
            .await?
            .as_f64()
            .ok_or("wasm_memory_bytes() returned no number")?;
        // Before the fix: 43 MB for good. A page with a few tiles needs ~2 MB.
        if bytes > 8.0 * 1024.0 * 1024.0 {
            return Err(format!("wasm memory grew to {bytes} bytes").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_broker_that_keeps_breaking_the_protocol_is_given_up_on() {
    with_browser("hostile_garbage", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::Garbage)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "error").await?;
        let message = browser.text("connection-error").await?;
        if !message.contains("3 times in a row") {
            return Err(format!("message {message:?} does not say it gave up").into());
        }
        if broker.connections() != 3 {
            return Err(format!("{} connections, expected 3", broker.connections()).into());
        }
        Ok(())
    })
    .await;
}

/// The countdown's seconds, from "Reconnecting in 4 s (attempt 3).".
fn countdown_secs(text: &str) -> Option<u64> {
    text.strip_prefix("Reconnecting in ")?
        .split_once(" s")?
        .0
        .parse()
        .ok()
}

#[tokio::test(flavor = "current_thread")]
async fn reconnecting_says_when_and_retry_now_does_not_wait() {
    with_browser("retry_now", async |browser, dir| {
        let mut broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-retry").await?;
        broker.stop()?;
        // Attempts fail while it is down and the backoff grows: wait until
        // the next one is at least 4 s away.
        let secs = std::cell::Cell::new(0);
        wait_until(browser, "a countdown of 4 s or more", || async {
            let text = browser.text("reconnect-countdown").await?;
            if !text.contains("(attempt ") {
                return Err(format!("countdown {text:?} names no attempt").into());
            }
            secs.set(countdown_secs(&text).unwrap_or(0));
            Ok(secs.get() >= 4)
        })
        .await?;
        broker.restart()?;
        browser.click("retry-now").await?;
        // Well before the scheduled attempt, the page is back.
        let secs = secs.get();
        let bound = Duration::from_secs(secs - 1);
        let start = Instant::now();
        loop {
            let state = browser.attr("connection-status", "data-state").await?;
            if state.as_deref() == Some("subscribed") {
                return Ok(());
            }
            if start.elapsed() > bound {
                browser.save_artifacts().await;
                return Err(format!(
                    "not reconnected {bound:?} after Retry now (state {state:?}, next attempt was {secs} s away)"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn offline_pauses_reconnecting_and_online_resumes_at_once() {
    with_browser("offline", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-offline").await?;
        browser.set_offline(true).await?;
        let online = browser
            .client
            .execute("return navigator.onLine", vec![])
            .await?;
        if online != serde_json::Value::Bool(false) {
            return Err(format!("navigator.onLine is {online} while offline").into());
        }
        // Loopback sockets may survive the emulation: end this one from the
        // broker's side. Retries must wait for the network, although the
        // broker is back at once (and reachable on loopback).
        let mut broker = broker;
        broker.restart()?;
        wait_until(browser, "the page to wait for the network", || async {
            Ok(browser
                .text("reconnect-countdown")
                .await?
                .contains("Waiting for the network"))
        })
        .await?;
        if browser
            .attr("connection-status", "data-state")
            .await?
            .as_deref()
            != Some("reconnecting")
        {
            return Err("the page reconnected while offline".into());
        }
        browser.set_offline(false).await?;
        wait_for_connection(browser, "subscribed").await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_switch_is_named_and_works_twice_by_keyboard_alone() {
    with_browser("keyboard", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let mut devsim = Devsim::start(broker.tcp_port, &["lamp"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-keyboard").await?;
        wait_for_state(browser, "state-lamp-1", "OFF").await?;
        let switch = browser
            .client
            .find(Locator::Css("[data-testid='toggle-lamp-1']"))
            .await?;
        // What a screen reader announces: its name, role and state.
        let name = switch.attr("aria-label").await?;
        if name.as_deref() != Some("lamp, outlet 1") {
            return Err(format!("the switch is named {name:?}").into());
        }
        browser
            .client
            .execute(
                "document.querySelector(\"[data-testid='toggle-lamp-1']\").focus()",
                vec![],
            )
            .await?;
        let focused = || async {
            browser
                .client
                .execute(
                    "return document.activeElement.getAttribute('data-testid')",
                    vec![],
                )
                .await
        };
        for (want, command) in [("ON", "ON"), ("OFF", "OFF")] {
            // Space on the focused element, as a keyboard user presses it.
            browser
                .client
                .active_element()
                .await?
                .send_keys(" ")
                .await?;
            devsim.wait_for_line(&format!("recv lamp cmnd/lamp/POWER {command}"), WAIT)?;
            wait_for_state(browser, "state-lamp-1", want).await?;
            let checked = switch.attr("aria-checked").await?;
            if checked.as_deref() != Some(if want == "ON" { "true" } else { "false" }) {
                return Err(format!("aria-checked is {checked:?} after {want}").into());
            }
            let active = focused().await?;
            if active != serde_json::json!("toggle-lamp-1") {
                return Err(format!("focus moved to {active} after the switch changed").into());
            }
        }
        Ok(())
    })
    .await;
}
