//! `wss://`: mosquitto with a TLS WebSocket listener and a certificate from
//! a throw-away CA made by the test bed.

use e2e::{StaticServer, TlsMosquitto};

use crate::harness::*;

#[tokio::test(flavor = "current_thread")]
async fn wss_with_a_trusted_test_ca_connects() {
    // The browser must know the certificate before it starts, so the broker
    // comes first, in a folder of its own (the browser's is wiped at start).
    let dir = artifacts("wss_trusted_broker");
    let broker = TlsMosquitto::start(&dir).unwrap_or_else(|e| panic!("{e}"));
    let args = [broker.chromium_trust_arg()];
    with_browser_args("wss_trusted", &args, async |browser, _dir| {
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.wss_url()).await?;
        wait_for_connection(browser, "subscribed").await?;
        // mosquitto saw the client on its TLS WebSocket listener.
        let log = broker.log();
        if !log.contains("New client connected") {
            return Err(format!("mosquitto logged no client:\n{log}").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn wss_with_an_untrusted_certificate_says_how_to_accept_it() {
    with_browser("wss_untrusted", async |browser, dir| {
        let broker = TlsMosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let url = broker.wss_url();
        open_for(browser, &server, &url).await?;
        wait_for_connection(browser, "error").await?;
        let message = browser.text("connection-error").await?;
        let expected = format!("open https://127.0.0.1:{}/ in a new tab", broker.ws_port);
        if !message.contains(&expected) {
            return Err(format!("error message {message:?} does not say {expected:?}").into());
        }
        // The page only sees a WebSocket that never opened (code 1006); the
        // real cause is in the browser's log. Check the doctor's guess
        // against it: the certificate, for this URL.
        let log = browser.console_log().await;
        let entries: serde_json::Value = serde_json::from_str(&log)?;
        let cert_error = entries["value"].as_array().is_some_and(|entries| {
            entries.iter().any(|entry| {
                entry["message"].as_str().is_some_and(|m| {
                    m.contains(&format!("'{url}'")) && m.contains("net::ERR_CERT_AUTHORITY_INVALID")
                })
            })
        });
        if !cert_error {
            return Err(format!(
                "the console log has no ERR_CERT_AUTHORITY_INVALID for {url}:\n{log}"
            )
            .into());
        }
        Ok(())
    })
    .await;
}
