//! `cargo xtask bench start [--runs R] [--no-build]`: what the browser
//! downloads, and how soon the first tile shows.
//!
//! - **Size**: each file of `dist/` compressed with `gzip -9`, and the total,
//!   next to mqtt.js's browser bundle (`mqtt.min.js`, no UI) compressed the
//!   same way.
//! - **Start**: navigation → first tile for Plugboard (a saved connection
//!   and `?broker=`, so it connects at once; the broker holds one retained
//!   `stat/dev0/POWER`, so the first tile comes from the first message), next
//!   to navigation → first message on the bare WebSocket page of the ingest
//!   benchmark, subscribing to the same topic on the same broker. Both times
//!   are the pages' own `performance.now()` (milliseconds since navigation
//!   started). Cold: the HTTP cache disabled (DevTools
//!   `Network.setCacheDisabled`); warm: the same page loaded once before.
//!   Median of the runs, pages alternating.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use e2e::browser::Browser;
use e2e::{target_dir, workspace_root, Mosquitto, StaticServer};
use fantoccini::Client;
use mqtt_codec::{Packet, Protocol, Publish};
use serde_json::{json, Value};

use super::ingest::{copy_dir, median, number, publish, wait_for};
use super::load_average;
use super::size::{gzip, kb};
use crate::install;
use crate::{step, Result};

const USAGE: &str = "usage: cargo xtask bench start [--runs R] [--no-build]
  --runs R       loads per page and cache state; figures are medians (default 5)
  --no-build     use dist/ as it is";

const BARE_HTML: &str = include_str!("../../bench/ingest/bare.html");
const BLANK_HTML: &str = include_str!("../../bench/ingest/blank.html");

/// Installed before any script of the page: records when the first tile
/// appears, in the page's own clock.
const FIRST_TILE: &str = "new MutationObserver((_, observer) => {
  if (document.querySelector('article.tile')) {
    window.benchFirstTile = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });";

/// Runs the command: `args` are what follows `bench start`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut runs = 5usize;
    let mut build = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = number(&mut args, arg, USAGE)? as usize,
            "--no-build" => build = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    install::everything()?;
    let bundle = install::mqtt_js()?;
    let dist = if build {
        install::build_app(true)?
    } else {
        workspace_root().join("dist")
    };
    let work = target_dir().join("bench").join("start");
    let _ = std::fs::remove_dir_all(&work);
    let www = work.join("www");
    copy_dir(&dist, &www).map_err(|e| format!("copying {}: {e}", dist.display()))?;
    std::fs::write(www.join("bare.html"), BARE_HTML)?;
    std::fs::write(www.join("blank.html"), BLANK_HTML)?;

    let mut sizes = Vec::new();
    let mut total = 0;
    for entry in std::fs::read_dir(&dist)? {
        let path = entry?.path();
        if path.is_file() {
            let gz = gzip_size(&path)?;
            total += gz;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            sizes.push((name, std::fs::metadata(&path)?.len(), gz));
        }
    }
    sizes.sort();
    let mqtt_js = gzip_size(&bundle)?;

    let load_before = load_average();
    step(&format!(
        "start benchmark: {runs} load(s) per page, cold and warm; load average {load_before}"
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let times = runtime.block_on(measure(&www, &work, runs))?;
    let load_after = load_average();

    let mut md = String::from("## Size and start\n\n");
    md.push_str(&format!(
        "`cargo xtask bench start --runs {runs}`; load average {load_before} before, \
         {load_after} after.\n\n| file of `dist/` | bytes | gzip -9 |\n|---|---|---|\n"
    ));
    for (name, raw, gz) in &sizes {
        md.push_str(&format!(
            "| `{name}` | {} | {} |\n",
            kb(*raw as usize),
            kb(*gz as usize)
        ));
    }
    md.push_str(&format!(
        "| **total** | | **{}** |\n| `mqtt.min.js` 5.16.0 (a client, no UI) | | {} |\n\n",
        kb(total as usize),
        kb(mqtt_js as usize)
    ));
    md.push_str("| | cold (no HTTP cache) | warm |\n|---|---|---|\n");
    let row = |label: &str, cold: Option<f64>, warm: Option<f64>| {
        format!("| {label} | {} | {} |\n", ms(cold), ms(warm))
    };
    md.push_str(&row(
        "bare WebSocket page: navigation → first message",
        times.bare_cold,
        times.bare_warm,
    ));
    md.push_str(&row(
        "Plugboard: navigation → first tile",
        times.app_cold,
        times.app_warm,
    ));
    md.push_str(&format!(
        "| ratio | {} | {} |\n",
        ratio(times.app_cold, times.bare_cold),
        ratio(times.app_warm, times.bare_warm)
    ));
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("start.md"), &md)?;
    let json = json!({
        "sizes": sizes.iter().map(|(n, raw, gz)| json!({"file": n, "bytes": raw, "gzip": gz})).collect::<Vec<_>>(),
        "total_gzip": total,
        "mqtt_min_js_gzip": mqtt_js,
        "median_ms": {
            "bare_cold": times.bare_cold, "bare_warm": times.bare_warm,
            "app_cold": times.app_cold, "app_warm": times.app_warm,
        },
        "runs": runs,
    });
    std::fs::write(
        out.join("start.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    println!("\n{md}");
    step(&format!(
        "wrote {} and {}",
        out.join("start.md").display(),
        out.join("start.json").display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Medians, in ms since navigation started.
struct Times {
    bare_cold: Option<f64>,
    bare_warm: Option<f64>,
    app_cold: Option<f64>,
    app_warm: Option<f64>,
}

async fn measure(www: &Path, work: &Path, runs: usize) -> Result<Times> {
    let server = StaticServer::start(www, 0)?;
    let broker = Mosquitto::start(&work.join("mosquitto"))?;
    // The first message both pages get: retained, so it arrives as soon as
    // they subscribe.
    let mut retained = Publish::new("stat/dev0/POWER", "ON");
    retained.retain = true;
    let mut packets = Vec::new();
    Packet::Publish(retained)
        .encode(Protocol::V311, &mut packets)
        .map_err(|e| format!("encoding: {e:?}"))?;
    publish(
        broker.tcp_port,
        "bench-start",
        &packets,
        Duration::from_secs(10),
        None,
    )?;
    let browser = Browser::start_with(&work.join("browser"), &[]).await?;
    browser.cdp("Network.enable", json!({})).await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": FIRST_TILE }),
        )
        .await?;
    let client = &browser.client;
    let (mut bare_cold, mut bare_warm, mut app_cold, mut app_warm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        for cold in [true, false] {
            browser
                .cdp("Network.setCacheDisabled", json!({ "cacheDisabled": cold }))
                .await?;
            let bare = format!(
                "{}bare.html?broker={}&client_id=start-{run}&topic=stat/%2B/POWER",
                server.url(),
                broker.ws_url()
            );
            let first = load(client, &bare, !cold, "window.bench && window.bench.first").await?;
            if cold { &mut bare_cold } else { &mut bare_warm }.push(Some(first));

            // Plugboard with a saved connection to the broker: `?broker=`
            // connects at once.
            client.goto(&format!("{}blank.html", server.url())).await?;
            let saved = json!({
                "schema": 1,
                "profiles": [{"id": "bench", "name": "bench", "url": broker.ws_url(),
                              "client_id": format!("start-app-{run}")}],
            });
            client
                .execute(
                    "localStorage.clear(); localStorage.setItem('plugboard.profiles', arguments[0]);",
                    vec![Value::String(saved.to_string())],
                )
                .await?;
            let app = format!("{}?broker={}", server.url(), broker.ws_url());
            let first = load(client, &app, !cold, "window.benchFirstTile").await?;
            if cold { &mut app_cold } else { &mut app_warm }.push(Some(first));
            step(&format!(
                "run {run} {}: bare {:.0} ms, Plugboard {:.0} ms",
                if cold { "cold" } else { "warm" },
                if cold { &bare_cold } else { &bare_warm }
                    .last()
                    .copied()
                    .flatten()
                    .unwrap_or(0.0),
                first
            ));
        }
    }
    Ok(Times {
        bare_cold: median(bare_cold),
        bare_warm: median(bare_warm),
        app_cold: median(app_cold),
        app_warm: median(app_warm),
    })
}

/// Loads `url` (after one load to warm the cache if `warm`; the DevTools
/// settings of the tab, the cache switch and the first-tile recorder, stay)
/// and waits for `mark` (a script expression) to be a number: the page's
/// milliseconds from navigation to what it marks.
async fn load(client: &Client, url: &str, warm: bool, mark: &str) -> Result<f64> {
    let ready = format!("return typeof ({mark}) === 'number'");
    if warm {
        client.goto(url).await?;
        wait_for(client, "the warm-up load", &ready).await?;
    }
    client.goto("about:blank").await?;
    client.goto(url).await?;
    wait_for(client, url, &ready).await?;
    let value = client.execute(&format!("return {mark}"), vec![]).await?;
    value
        .as_f64()
        .ok_or_else(|| format!("{mark} is {value}").into())
}

fn gzip_size(path: &Path) -> Result<u64> {
    Ok(gzip(&std::fs::read(path)?)? as u64)
}

fn ms(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format!("{v:.0} ms"))
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "—".into(),
    }
}
