//! chromedriver and the headless Chromium it starts, driven by fantoccini:
//! used by the end-to-end browser tests and by `cargo xtask bench ingest`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::{free_port, http_request, Guard};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// How long chromedriver may take to become ready.
const READY: Duration = Duration::from_secs(15);

/// chromedriver and the Chromium it starts. Dropping quits the browser via
/// chromedriver's /shutdown first (killing chromedriver alone would orphan
/// Chromium), then ends chromedriver.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver_port: u16,
    browser_pid: Option<u32>,
    dir: PathBuf,
    _driver: Guard,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, with more command-line
    /// arguments (e.g. a certificate to trust). Its profile, temporary files
    /// and artifacts go under `dir`.
    pub async fn start_with(dir: &Path, extra_args: &[String]) -> Result<Self> {
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
            if start.elapsed() > READY {
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

    /// The PID of the browser process chromedriver started, if it said.
    pub fn browser_pid(&self) -> Option<u32> {
        self.browser_pid
    }

    /// The browser's version as chromedriver reports it.
    pub fn browser_version(&self) -> Option<String> {
        self.client
            .capabilities()
            .and_then(|c| c.get("browserVersion"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    /// Sends a Chrome DevTools Protocol command to the current page
    /// (chromedriver's `goog/cdp/execute`) and returns its result. Waits as
    /// long as the page takes: commands a busy renderer handles on its main
    /// thread (`Performance.getMetrics`) answer only between its tasks.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> Result<serde_json::Value> {
        let body = serde_json::json!({ "cmd": cmd, "params": params }).to_string();
        Ok(self.client.issue_cmd(Cdp(body)).await?)
    }

    /// Saves a screenshot and the console log (which chromedriver drains).
    pub async fn save_artifacts(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.dir.join("screenshot.png"), png);
        }
        let _ = std::fs::write(self.dir.join("console.log"), self.console_log().await);
    }

    /// The browser's console log since the last call (chromedriver drains it).
    pub async fn console_log(&self) -> String {
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
    pub async fn set_offline(&self, offline: bool) -> Result {
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

    /// The text of the element with this `data-testid`.
    pub async fn text(&self, testid: &str) -> Result<String> {
        Ok(self
            .client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?
            .text()
            .await?)
    }

    /// An attribute of the element with this `data-testid`.
    pub async fn attr(&self, testid: &str, attr: &str) -> Result<Option<String>> {
        let element = self
            .client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?;
        Ok(element.attr(attr).await?)
    }

    /// Clicks the element with this `data-testid`.
    pub async fn click(&self, testid: &str) -> Result {
        self.client
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Replaces the text of the input with this `data-testid`.
    pub async fn type_into(&self, testid: &str, text: &str) -> Result {
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

/// chromedriver's `POST /session/{id}/goog/cdp/execute` with a JSON body.
#[derive(Debug)]
struct Cdp(String);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.clone()))
    }
}
