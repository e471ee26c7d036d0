//! Hosting and security: `dist/` under a sub-path on another static
//! server, a reload with that server gone (the service worker), the
//! manifest, the Content-Security-Policy, and markup in what devices send
//! shown as text.

use std::path::Path;
use std::process::{Command, Stdio};

use e2e::{free_port, wait_for_port, Devsim, Guard, Mosquitto, StaticServer};
use fantoccini::Locator;
use serde_json::json;

use crate::harness::*;

/// Copies the files of `from` (flat: trunk's `dist/` has no folders) into
/// `to`.
fn copy_dist(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn served_under_a_sub_path_by_another_server_then_loads_with_it_gone() {
    with_browser("sub_path_offline", async |browser, dir| {
        // Python's http.server, from a parent folder: not the test bed's
        // own server, and the app lives at /tools/plugboard/.
        let site = dir.join("site");
        copy_dist(&dist(), &site.join("tools").join("plugboard"))?;
        let port = free_port()?;
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(&site)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start python3 -m http.server: {e}"))?;
        let mut server = Guard::new("python3 http.server", child);
        wait_for_port(port, WAIT)?;
        let url = format!("http://127.0.0.1:{port}/tools/plugboard/");

        browser.client.goto(&url).await?;
        wait_for_form(browser).await?;

        // Installable: Chromium reads the manifest without complaint.
        let manifest = browser.cdp("Page.getAppManifest", json!({})).await?;
        let errors = manifest["errors"].as_array().map_or(0, Vec::len);
        if errors > 0
            || !manifest["data"]
                .as_str()
                .unwrap_or("")
                .contains("Plugboard")
        {
            return Err(format!("the manifest is not right: {manifest}").into());
        }

        // The service worker takes the page and keeps what it needs.
        wait_until(
            browser,
            "the service worker to control the page",
            || async {
                Ok(js(browser, "return !!navigator.serviceWorker.controller")
                    .await?
                    .as_bool()
                    == Some(true))
            },
        )
        .await?;
        wait_until(browser, "the page and its wasm to be kept", || async {
            let kept = js(
                browser,
                "return caches.open('plugboard').then(c => c.keys()).then(k => k.map(r => r.url))",
            )
            .await?;
            let kept: Vec<&str> = kept
                .as_array()
                .map(|a| a.iter().filter_map(|u| u.as_str()).collect())
                .unwrap_or_default();
            Ok(kept.contains(&url.as_str())
                && kept.iter().any(|u| u.ends_with("_bg.wasm"))
                && kept.iter().any(|u| u.ends_with("boot.js")))
        })
        .await?;

        // The server goes; a reload still brings the app.
        server.terminate()?;
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Err("the static server still answers".into());
        }
        browser.client.refresh().await?;
        wait_for_form(browser).await?;
        // The app runs (its wasm answered), not just the HTML.
        let bytes = js(browser, "return window.wasmBindings.wasm_memory_bytes()").await?;
        if bytes.as_f64().unwrap_or(0.0) <= 0.0 {
            return Err(format!("the app did not start offline: {bytes}").into());
        }
        Ok(())
    })
    .await;
}

/// Records every CSP violation of the page from before its first script.
const RECORD_VIOLATIONS: &str = "window.__violations = []; \
    document.addEventListener('securitypolicyviolation', e => \
      window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));";

async fn violations(browser: &Browser) -> Result<Vec<String>> {
    let found = js(browser, "return window.__violations").await?;
    Ok(found
        .as_array()
        .ok_or_else(|| format!("no violation record in the page: {found}"))?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect())
}

#[tokio::test(flavor = "current_thread")]
async fn the_content_security_policy_is_active_and_the_app_breaks_none_of_it() {
    with_browser("csp", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = Devsim::start(broker.tcp_port, &["plug1"])?;
        let server = StaticServer::start(&dist(), 0)?;
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": RECORD_VIOLATIONS }),
            )
            .await?;
        // Everything the app does at its busiest: load its wasm, connect a
        // WebSocket, render tiles, toggle.
        connect_with_form(browser, &server, &broker, "e2e-csp").await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        browser.click("toggle-plug1-1").await?;
        wait_for_state(browser, "state-plug1-1", "ON").await?;
        // The explorer on `#`, a message opened in the log.
        browser.click("watch").await?;
        wait_until(browser, "a logged message", || async {
            Ok(!texts(browser, "log-topic").await?.is_empty())
        })
        .await?;
        browser
            .client
            .find(Locator::Css("[data-testid='log-entry'] button"))
            .await?
            .click()
            .await?;
        wait_until(browser, "the opened message", || async {
            Ok(!browser.text("payload").await?.is_empty())
        })
        .await?;
        let found = violations(browser).await?;
        if !found.is_empty() {
            return Err(format!("the app's own code broke the policy: {found:?}").into());
        }

        // The policy is there: an injected inline script does not run.
        js(
            browser,
            "const s = document.createElement('script'); \
             s.textContent = 'window.__ran = true'; document.body.append(s);",
        )
        .await?;
        let ran = js(browser, "return window.__ran === true").await?;
        if ran.as_bool() != Some(false) {
            return Err("an injected inline script ran: no policy in force".into());
        }
        wait_until(browser, "the blocked script to be reported", || async {
            Ok(violations(browser)
                .await?
                .iter()
                .any(|v| v.starts_with("script-src")))
        })
        .await
    })
    .await;
}

/// Markup where devices put names and ids (a Tasmota topic, a Home
/// Assistant entity name) and in topics and payloads the explorer shows.
const XSS_IMG: &str = "<img src=x onerror=window.__xss=1>";
const XSS_SCRIPT: &str = "\"><script>window.__xss=2</script>";

#[tokio::test(flavor = "current_thread")]
async fn markup_in_topics_names_and_configs_shows_as_text() {
    with_browser("xss", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let port = broker.tcp_port;
        crate::devsim::publish_retained(port, &format!("tele/{XSS_IMG}/LWT"), "Online")?;
        let config = json!({
            "name": XSS_SCRIPT,
            "unique_id": "xss-switch",
            "state_topic": "xss/state",
            "command_topic": "xss/set",
        });
        crate::devsim::publish_retained(
            port,
            "homeassistant/switch/xss/config",
            &config.to_string(),
        )?;
        crate::devsim::publish_retained(port, "xss/state", "ON")?;
        crate::devsim::publish_retained(port, &format!("xss/{XSS_SCRIPT}"), XSS_IMG)?;
        connect_with_form(browser, &server, &broker, "e2e-xss").await?;
        // The explorer shows every topic and payload: in the log, and in
        // the tree's previews.
        browser.click("watch").await?;
        wait_until(browser, "the explorer's panes", || async {
            Ok(!texts(browser, "tree-filter").await?.is_empty())
        })
        .await?;
        // Filtered, the tree shows the matching topics opened.
        browser.type_into("tree-filter", "xss").await?;

        wait_until(browser, "both names shown as text", || async {
            let text = js(browser, "return document.body.innerText").await?;
            let text = text.as_str().unwrap_or_default();
            Ok(text.contains(XSS_IMG) && text.contains(XSS_SCRIPT))
        })
        .await?;
        wait_until(
            browser,
            "the markup topic and payload in the log",
            || async {
                let topics = texts(browser, "log-topic").await?;
                let previews = texts(browser, "log-preview").await?;
                Ok(topics.contains(&format!("xss/{XSS_SCRIPT}"))
                    && topics.contains(&format!("tele/{XSS_IMG}/LWT"))
                    && previews.iter().any(|p| p == XSS_IMG))
            },
        )
        .await?;
        wait_until(browser, "the markup in the tree", || async {
            let previews = texts(browser, &format!("preview-xss/{XSS_SCRIPT}")).await;
            Ok(previews.is_ok_and(|p| p == [XSS_IMG]))
        })
        .await?;
        let injected = js(
            browser,
            "return [document.querySelectorAll('img[src=x], main script').length, \
                     typeof window.__xss]",
        )
        .await?;
        if injected != json!([0, "undefined"]) {
            return Err(format!("markup became elements or ran: {injected}").into());
        }
        Ok(())
    })
    .await;
}
