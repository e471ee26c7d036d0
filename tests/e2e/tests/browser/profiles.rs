//! Saved connections: they survive a reload (passwords only when asked),
//! travel as exports and share links, and a link to an unknown broker asks
//! before it connects. Several brokers at once. A persistent session
//! resumed after a reload.

use e2e::{Devsim, HostileBroker, HostileMode, Mosquitto, StaticServer};
use fantoccini::Locator;

use crate::harness::*;

/// Fills the form (of a page already open) for a new connection `name`.
async fn fill_form(browser: &Browser, name: &str, url: &str, client_id: &str) -> Result {
    browser.click("new-profile").await?;
    browser.type_into("profile-name", name).await?;
    browser.type_into("broker-url", url).await?;
    browser.type_into("client-id", client_id).await?;
    Ok(())
}

async fn stored_profiles(browser: &Browser) -> Result<String> {
    Ok(browser
        .client
        .execute(
            "return localStorage.getItem('plugboard.profiles') || ''",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn wait_for_profile_state(browser: &Browser, name: &str, state: &str) -> Result {
    let testid = format!("profile-status-{name}");
    wait_until(browser, &format!("{testid} to be {state:?}"), || async {
        Ok(browser.attr(&testid, "data-state").await?.as_deref() == Some(state))
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn profiles_survive_a_reload_without_the_password_unless_asked() {
    with_browser("profiles_reload", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        fill_form(browser, "home", &broker.ws_url(), "e2e-home").await?;
        browser.type_into("username", "ann").await?;
        browser.type_into("password", "hunter2-secret").await?;
        browser.click("connect").await?;
        wait_for_connection(browser, "subscribed").await?;
        let stored = stored_profiles(browser).await?;
        if !stored.contains("\"home\"") || stored.contains("hunter2-secret") {
            return Err(format!("stored profiles: {stored}").into());
        }

        browser.client.refresh().await?;
        wait_for_profile_state(browser, "home", "idle").await?;
        browser.click("profile-connect-home").await?;
        wait_for_profile_state(browser, "home", "subscribed").await?;
        wait_for_connection(browser, "subscribed").await?;

        // Asked to remember it: then, and only then, it is stored.
        browser.click("profile-edit-home").await?;
        browser.type_into("password", "hunter2-secret").await?;
        browser.click("more-settings").await?;
        browser.click("remember-password").await?;
        browser.click("save-profile").await?;
        let stored = stored_profiles(browser).await?;
        if !stored.contains("hunter2-secret") {
            return Err("a remembered password was not stored".into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn export_and_import_carry_profiles_without_passwords() {
    with_browser("profiles_export", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        fill_form(browser, "lab", &broker.ws_url(), "e2e-lab").await?;
        browser.type_into("password", "pw-not-exported").await?;
        browser.click("more-settings").await?;
        browser.click("remember-password").await?;
        browser.click("save-profile").await?;
        browser.click("import-export").await?;
        browser.click("export-profiles").await?;
        let json = browser
            .client
            .find(Locator::Css("[data-testid='profiles-json']"))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        if !json.contains("\"lab\"") || json.contains("pw-not-exported") {
            return Err(format!("export: {json}").into());
        }
        // A browser with nothing saved imports it.
        browser
            .client
            .execute("localStorage.clear()", vec![])
            .await?;
        browser.client.refresh().await?;
        browser.click("import-export").await?;
        browser.type_into("profiles-json", &json).await?;
        browser.click("import-profiles").await?;
        let result = browser.text("import-result").await?;
        if !result.contains("Imported 1") {
            return Err(format!("import said {result:?}").into());
        }
        browser.click("profile-connect-lab").await?;
        wait_for_profile_state(browser, "lab", "subscribed").await?;
        // Garbage is refused with a reason, and nothing is lost.
        browser
            .type_into("profiles-json", "{\"schema\": 99}")
            .await?;
        browser.click("import-profiles").await?;
        let result = browser.text("import-result").await?;
        if !result.contains("newer Plugboard") {
            return Err(format!("import of a newer file said {result:?}").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_link_asks_before_connecting_to_an_unknown_broker() {
    with_browser("link_asks", async |browser, _dir| {
        let broker = HostileBroker::start(HostileMode::NoV5)?;
        let server = StaticServer::start(&dist(), 0)?;
        let link = format!("{}?broker={}", server.url(), broker.ws_url());
        browser.client.goto(&link).await?;
        browser
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("[data-testid='link-offer']"))
            .await?;
        browser.click("link-dismiss").await?;
        if broker.connections() != 0 {
            return Err("the page connected before the user said yes".into());
        }
        browser.client.goto(&link).await?;
        accept_link(browser).await?;
        wait_for_connection(browser, "subscribed").await?;
        // Now it is a saved connection: the same link connects at once.
        browser.client.goto(&link).await?;
        wait_for_connection(browser, "subscribed").await?;
        if browser
            .client
            .find(Locator::Css("[data-testid='link-offer']"))
            .await
            .is_ok()
        {
            return Err("asked again for a saved broker".into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_share_link_adds_the_profile_after_asking() {
    with_browser("share_link", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        fill_form(browser, "shed", &broker.ws_url(), "e2e-shed").await?;
        browser.click("save-profile").await?;
        browser.click("profile-share-shed").await?;
        let link = browser
            .client
            .find(Locator::Css("[data-testid='share-link']"))
            .await?
            .prop("value")
            .await?
            .ok_or("no share link")?;
        browser
            .client
            .execute("localStorage.clear()", vec![])
            .await?;
        browser.client.goto(&link).await?;
        browser.client.refresh().await?;
        browser.click("link-add").await?;
        browser.click("profile-connect-shed").await?;
        wait_for_profile_state(browser, "shed", "subscribed").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_brokers_at_once_a_plug_on_each_both_toggled() {
    with_browser("two_brokers", async |browser, dir| {
        let a = Mosquitto::start(&dir.join("mosquitto-a"))?;
        let b = Mosquitto::start(&dir.join("mosquitto-b"))?;
        let mut alpha = Devsim::start(a.tcp_port, &["alpha"])?;
        let mut beta = Devsim::start(b.tcp_port, &["beta"])?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        fill_form(browser, "A", &a.ws_url(), "e2e-two-a").await?;
        browser.click("connect").await?;
        wait_for_profile_state(browser, "A", "subscribed").await?;
        // Connected, the form is folded into one line: open it.
        browser.click("edit-connection").await?;
        fill_form(browser, "B", &b.ws_url(), "e2e-two-b").await?;
        browser.click("connect").await?;
        wait_for_profile_state(browser, "B", "subscribed").await?;
        wait_for_profile_state(browser, "A", "subscribed").await?;

        wait_for_state(browser, "state-alpha-1", "OFF").await?;
        wait_for_state(browser, "state-beta-1", "OFF").await?;
        // Each tile says which broker it is on.
        wait_until(browser, "broker names on the tiles", || async {
            Ok(browser.text("broker-alpha").await? == "A"
                && browser.text("broker-beta").await? == "B")
        })
        .await?;
        browser.click("toggle-alpha-1").await?;
        alpha.wait_for_line("recv alpha cmnd/alpha/POWER ON", WAIT)?;
        wait_for_state(browser, "state-alpha-1", "ON").await?;
        browser.click("toggle-beta-1").await?;
        beta.wait_for_line("recv beta cmnd/beta/POWER ON", WAIT)?;
        wait_for_state(browser, "state-beta-1", "ON").await?;

        // One disconnects; the other stays.
        browser.click("profile-disconnect-A").await?;
        wait_for_profile_state(browser, "A", "idle").await?;
        wait_for_profile_state(browser, "B", "subscribed").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_persistent_session_is_resumed_after_a_reload() {
    with_browser("session_resume", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        open_page(browser, &server).await?;
        fill_form(browser, "kept", &broker.ws_url(), "e2e-kept-session").await?;
        browser.click("more-settings").await?;
        browser.click("clean-start").await?; // off
        browser.type_into("session-expiry", "3600").await?;
        browser.click("connect").await?;
        wait_for_connection(browser, "subscribed").await?;
        let first = browser.text("session-kind").await?;
        if !first.contains("New session") {
            return Err(format!("first connection: {first:?}").into());
        }
        browser.client.refresh().await?;
        wait_for_profile_state(browser, "kept", "idle").await?;
        browser.click("profile-connect-kept").await?;
        wait_for_connection(browser, "subscribed").await?;
        let second = browser.text("session-kind").await?;
        if !second.contains("Session resumed") {
            return Err(format!("after the reload: {second:?}").into());
        }
        Ok(())
    })
    .await;
}
