//! What every browser test needs: the browser, waiting, the common steps.

use std::error::Error;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub(crate) use e2e::browser::Browser;
use e2e::{target_dir, workspace_root, Mosquitto, StaticServer};
use fantoccini::Locator;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) fn dist() -> PathBuf {
    std::env::var_os("PLUGBOARD_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"))
}

pub(crate) fn artifacts(test: &str) -> PathBuf {
    let dir = target_dir().join("e2e").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}

/// Polls `check` until it returns true, at most `WAIT`. On timeout saves
/// the artifacts at once, while the servers the page talks to still run.
pub(crate) async fn wait_until<F, Fut>(browser: &Browser, what: &str, mut check: F) -> Result
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last = String::new();
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() > WAIT {
            browser.save_artifacts().await;
            return Err(format!(
                "timed out after {WAIT:?} waiting for {what} (last error: {last})"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a test body with a fresh browser; on error saves artifacts, then
/// fails the test with the error.
pub(crate) async fn with_browser(
    test: &str,
    body: impl AsyncFnOnce(&Browser, &std::path::Path) -> Result,
) {
    with_browser_args(test, &[], body).await;
}

/// As [`with_browser`], with more command-line arguments for Chromium.
pub(crate) async fn with_browser_args(
    test: &str,
    args: &[String],
    body: impl AsyncFnOnce(&Browser, &std::path::Path) -> Result,
) {
    let dir = artifacts(test);
    let browser = Browser::start_with(&dir, args)
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"));
    let result = body(&browser, &dir).await;
    if let Err(err) = result {
        if !dir.join("screenshot.png").exists() {
            browser.save_artifacts().await;
        }
        drop(browser);
        panic!(
            "{test}: {err}\n(screenshot and console log in {})",
            dir.display()
        );
    }
}

/// Runs JavaScript in the page and returns its result (a promise is
/// awaited).
pub(crate) async fn js(browser: &Browser, script: &str) -> Result<serde_json::Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

/// The texts of every element with this `data-testid` (any characters),
/// in page order.
pub(crate) async fn texts(browser: &Browser, testid: &str) -> Result<Vec<String>> {
    let found = browser
        .client
        .execute(
            "return [...document.querySelectorAll(`[data-testid=\"${CSS.escape(arguments[0])}\"]`)]\
             .map(e => e.textContent)",
            vec![serde_json::Value::from(testid)],
        )
        .await?;
    Ok(found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Opens the app and waits until its form is there.
pub(crate) async fn open_page(browser: &Browser, server: &StaticServer) -> Result {
    browser.client.goto(&server.url()).await?;
    wait_for_form(browser).await
}

/// Waits until the app's form is there (the app started).
pub(crate) async fn wait_for_form(browser: &Browser) -> Result {
    browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid='broker-url']"))
        .await?;
    Ok(())
}

pub(crate) async fn connect_with_form(
    browser: &Browser,
    server: &StaticServer,
    broker: &Mosquitto,
    client_id: &str,
) -> Result {
    open_page(browser, server).await?;
    browser.type_into("broker-url", &broker.ws_url()).await?;
    browser.type_into("client-id", client_id).await?;
    browser.click("connect").await?;
    // SUBACK before anything else, or a publish could race the subscription.
    wait_for_connection(browser, "subscribed").await
}

/// Reloads the page and connects again through the saved connection the
/// form made for `broker` (named `host:port`).
pub(crate) async fn reload_and_reconnect(browser: &Browser, broker: &Mosquitto) -> Result {
    browser.client.refresh().await?;
    let name = broker
        .ws_url()
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let button = format!("profile-connect-{name}");
    wait_until(browser, "the saved connection", || async {
        Ok(!texts(browser, &button).await?.is_empty())
    })
    .await?;
    browser.click(&button).await?;
    wait_for_connection(browser, "subscribed").await
}

/// Waits for the header's connection state (`data-state`) to read `state`.
pub(crate) async fn wait_for_connection(browser: &Browser, state: &str) -> Result {
    wait_until(
        browser,
        &format!("the connection state {state:?}"),
        || async {
            Ok(browser
                .attr("connection-status", "data-state")
                .await?
                .as_deref()
                == Some(state))
        },
    )
    .await
}

pub(crate) async fn wait_for_state(browser: &Browser, testid: &str, expected: &str) -> Result {
    wait_until(
        browser,
        &format!("{testid} to read {expected:?}"),
        || async { Ok(browser.text(testid).await? == expected) },
    )
    .await
}

/// Opens the page pre-filled for `url`, which connects at once.
pub(crate) async fn open_for(browser: &Browser, server: &StaticServer, url: &str) -> Result {
    browser
        .client
        .goto(&format!("{}?broker={url}", server.url()))
        .await?;
    accept_link(browser).await
}

/// Says yes when the page asks whether to connect to a broker a link names
/// (it asks for brokers not among the saved connections).
pub(crate) async fn accept_link(browser: &Browser) -> Result {
    let button = browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid='link-connect']"))
        .await?;
    button.click().await?;
    Ok(())
}
