//! What every browser test needs: the browser, waiting, the common steps.

use std::error::Error;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{free_port, http_request, target_dir, workspace_root, Guard, Mosquitto, StaticServer};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

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

/// chromedriver and the Chromium it starts. Dropping quits the browser via
/// chromedriver's /shutdown first (killing chromedriver alone would orphan
/// Chromium), then ends chromedriver.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver_port: u16,
    browser_pid: Option<u32>,
    dir: PathBuf,
    _driver: Guard,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, with more command-line
    /// arguments (e.g. a certificate to trust).
    pub(crate) async fn start_with(dir: &std::path::Path, extra_args: &[String]) -> Result<Self> {
        let port = free_port()?;
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start chromedriver (cargo xtask test installs it): {e}")
            })?;
        let driver = Guard::new("chromedriver", child);
        let start = Instant::now();
        while !http_request(port, "GET", "/status", None)
            .is_ok_and(|b| b.contains("\"ready\":true"))
        {
            if start.elapsed() > WAIT {
                return Err("chromedriver did not become ready".into());
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let profile = dir.join("profile");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,800",
            "--no-first-run",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .map(String::from)
        .into();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(extra_args.iter().cloned());
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?;
        let browser_pid = client
            .capabilities()
            .and_then(|c| c.get("goog:processID"))
            .and_then(|v| v.as_u64())
            .map(|pid| pid as u32);
        Ok(Self {
            client,
            driver_port: port,
            browser_pid,
            dir: dir.to_path_buf(),
            _driver: driver,
        })
    }

    /// Saves a screenshot and the console log (which chromedriver drains).
    pub(crate) async fn save_artifacts(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.dir.join("screenshot.png"), png);
        }
        let _ = std::fs::write(self.dir.join("console.log"), self.console_log().await);
    }

    pub(crate) async fn console_log(&self) -> String {
        let Ok(Some(session)) = self.client.session_id().await else {
            return String::new();
        };
        http_request(
            self.driver_port,
            "POST",
            &format!("/session/{session}/se/log"),
            Some(r#"{"type":"browser"}"#),
        )
        .unwrap_or_else(|e| format!("could not read the console log: {e}"))
    }

    /// Cuts the browser off the network (DevTools' "offline"), or brings
    /// it back: the page sees `navigator.onLine` change and its sockets fail.
    pub(crate) async fn set_offline(&self, offline: bool) -> Result {
        let session = self.client.session_id().await?.ok_or("no session")?;
        let body = format!(
            r#"{{"network_conditions":{{"offline":{offline},"latency":0,"download_throughput":-1,"upload_throughput":-1}}}}"#
        );
        let answer = http_request(
            self.driver_port,
            "POST",
            &format!("/session/{session}/chromium/network_conditions"),
            Some(&body),
        )?;
        if answer.contains("\"error\"") {
            return Err(format!("chromedriver refused network conditions: {answer}").into());
        }
        Ok(())
    }

    pub(crate) async fn text(&self, testid: &str) -> Result<String> {
        Ok(self
            .client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?
            .text()
            .await?)
    }

    pub(crate) async fn attr(&self, testid: &str, attr: &str) -> Result<Option<String>> {
        let element = self
            .client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?;
        Ok(element.attr(attr).await?)
    }

    pub(crate) async fn click(&self, testid: &str) -> Result {
        self.client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?
            .click()
            .await?;
        Ok(())
    }

    pub(crate) async fn type_into(&self, testid: &str, text: &str) -> Result {
        let input = self
            .client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http_request(self.driver_port, "GET", "/shutdown", None);
        if let Some(pid) = self.browser_pid {
            // Only if /shutdown left it running; quiet if it is gone.
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
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

/// Opens the app and waits until its form is there.
pub(crate) async fn open_page(browser: &Browser, server: &StaticServer) -> Result {
    browser.client.goto(&server.url()).await?;
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
