//! The doctor's diagnoses, each staged on loopback: a refused login, a
//! server that never answers, a refused subscription, a server DISCONNECT
//! with its reason, and two clients fighting over one client id.

use e2e::{BrokerConfig, Devsim, HostileBroker, HostileMode, Mosquitto, StaticServer};

use crate::harness::*;

async fn error_says(browser: &Browser, words: &[&str]) -> Result {
    let message = browser.text("connection-error").await?;
    match words.iter().find(|w| !message.contains(*w)) {
        Some(missing) => Err(format!("message {message:?} does not say {missing:?}").into()),
        None => Ok(()),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_login_says_to_check_the_credentials() {
    with_browser("doctor_login", async |browser, dir| {
        let config = BrokerConfig {
            users: vec![("ann".into(), "right".into())],
            ..BrokerConfig::default()
        };
        let broker = Mosquitto::start_with(&dir.join("mosquitto"), config)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        browser.type_into("broker-url", &broker.ws_url()).await?;
        browser.type_into("username", "ann").await?;
        browser.type_into("password", "wrong").await?;
        browser.click("connect").await?;
        wait_for_connection(browser, "error").await?;
        // mosquitto answers a bad password with "not authorized" (0x87).
        error_says(browser, &["not authorized", "user name and password"]).await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_never_answers_is_not_waited_for_forever() {
    with_browser("doctor_silent", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::Silent)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "error").await?;
        error_says(browser, &["no MQTT answer came within 10 s", "subprotocol"]).await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_subscription_is_named_not_shown_green() {
    with_browser("doctor_suback", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::RefuseSecondFilter)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "refused").await?;
        let message = browser.text("subscription-error").await?;
        if !message.contains("tele/+/STATE") || !message.contains("not authorized") {
            return Err(format!("subscription error {message:?}").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_disconnect_shows_its_reason_string() {
    with_browser("doctor_disconnect", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::Disconnect)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "reconnecting").await?;
        error_says(browser, &["administrative action", "maintenance window"]).await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_clients_with_one_client_id_are_named_as_the_cause() {
    with_browser("doctor_takeover", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        // devsim reconnects on its own whenever it is pushed out.
        let _twin = Devsim::start(broker.tcp_port, &["twin"])?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        browser.type_into("broker-url", &broker.ws_url()).await?;
        browser
            .type_into("client-id", "devsim-tasmota-twin")
            .await?;
        browser.click("connect").await?;
        wait_for_connection(browser, "error").await?;
        error_says(browser, &["same client id \"devsim-tasmota-twin\""]).await
    })
    .await;
}
