//! `cargo xtask bench ingest`: how fast a page takes in a flood of MQTT
//! messages, Plugboard side by side with a bare WebSocket page and an
//! mqtt.js page, in one headless Chromium against one real mosquitto per
//! run, all on 127.0.0.1 (issue 13, item 3).
//!
//! Pages, served from one static server (a snapshot of `dist/` plus the
//! pages in `xtask/bench/ingest/`):
//! (a) `bare.html`: a WebSocket (subprotocol `mqtt`) that sends CONNECT and
//!     SUBSCRIBE itself and counts PUBLISH packets by walking fixed headers;
//! (b) `mqttjs.html`: mqtt.js's browser bundle, counting `message` events;
//! (c) Plugboard, connected through `?broker=` and its "connect" button,
//!     showing one tile per device plus the sentinel's;
//! (d) the same, also watching `#` with the explorer's topic tree and
//!     message log open (issue 14: the explorer must keep up too).
//!
//! Each run: a fresh mosquitto (`max_queued_messages 0`, so no QoS 0
//! message is dropped for a slow page), the page connected, a warm-up (one
//! `OFF` per device and the sentinel, waited for), the page left to settle,
//! then the flood: `--messages` QoS 0 PUBLISHes `stat/dev<i>/POWER`,
//! devices round robin, `ON`/`OFF` alternating per device, pre-encoded with
//! mqtt-codec and written over TCP as fast as the broker reads them,
//! followed by the sentinel `stat/sentinel/POWER` `ON`. Pages alternate
//! (a, b, c, a, b, c, …); each figure is the median over the runs.
//!
//! What is measured, and how:
//! - msg/s: messages ÷ (page done − publisher's first write), both wall
//!   clocks in ms (Rust's and the page's `Date.now()`). Done is, for (a)
//!   and (b), the arrival of the sentinel (the page counts); for Plugboard,
//!   which cannot count and gets no hook for it, the moment the sentinel's
//!   tile reads `ON` (a MutationObserver on that one tile, and a check in
//!   every animation frame in case the tile is replaced). mosquitto keeps
//!   one publisher's order, so by then the page has had every flood
//!   message. (a)/(b) also give page-side first → last.
//! - CPU per 10 000 messages: the DevTools `Performance.getMetrics`
//!   `TaskDuration` delta (the page's main thread) around the flood; also
//!   utime+stime from `/proc` of Chromium's renderer processes and of all
//!   its processes (the network service carries the WebSocket too).
//! - frame intervals: `requestAnimationFrame` times recorded by a script
//!   injected before the flood (`xtask/bench/ingest/instrument.js`), from
//!   the last frame before the flood to the first after it.
//! - the wait of a trivial `execute("return 1")` issued every ~100 ms
//!   during the flood (WebDriver scripts run on the page's main thread).
//! - JS heap (`JSHeapUsedSize`) and DOM nodes, garbage collected first
//!   (`HeapProfiler.collectGarbage`), and for Plugboard wasm memory
//!   (`window.wasmBindings.wasm_memory_bytes()`), before and after.
//!
//! Each run opens a new tab (and closes the last), so it gets a renderer
//! process without the previous page's garbage.

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::browser::Browser;
use e2e::{target_dir, workspace_root, BrokerConfig, Mosquitto, StaticServer};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, Locator};
use mqtt_codec::{decode_slice, Connect, Disconnect, Packet, Protocol, Publish, ReasonCode};
use serde_json::{json, Value};

use super::load_average;
use crate::install::{self, command, first_line_of};
use crate::{step, Result};

const USAGE: &str = "usage: cargo xtask bench ingest [--messages N] [--devices D] [--runs R]
                                [--timeout SECONDS] [--pages abcd] [--no-build] [--profile]
  --messages N   flood size (default 100000)
  --devices D    distinct stat/dev<i>/POWER topics, round robin (default 1000)
  --runs R       runs per page, pages alternating; figures are medians (default 3)
  --timeout S    give up on a run's flood after S seconds and report it (default 120)
  --profile      a DevTools CPU profile of Plugboard during each flood, by function
                 (target/bench/profile-<run>.txt; build dist/ with names for it)
  --pages abcd   which pages: a bare WebSocket, b mqtt.js, c Plugboard, d Plugboard
                 watching # with the explorer and log open (default abcd)
  --no-build     use dist/ as it is instead of building it with trunk --release";

const BARE_HTML: &str = include_str!("../../bench/ingest/bare.html");
const MQTTJS_HTML: &str = include_str!("../../bench/ingest/mqttjs.html");
const BLANK_HTML: &str = include_str!("../../bench/ingest/blank.html");
const INSTRUMENT_JS: &str = include_str!("../../bench/ingest/instrument.js");

/// The device whose state change, sent after the flood, marks its end.
const SENTINEL: &str = "sentinel";
/// Bound on every wait outside the flood (connect, warm-up, settle).
pub(super) const WAIT: Duration = Duration::from_secs(60);
/// Pause between two latency probes during the flood (not a measurement).
const PROBE_EVERY: Duration = Duration::from_millis(100);

struct Options {
    messages: usize,
    devices: usize,
    runs: usize,
    timeout: Duration,
    pages: Vec<Page>,
    build: bool,
    /// Take a DevTools CPU profile of Plugboard during the flood.
    profile: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            messages: 100_000,
            devices: 1_000,
            runs: 3,
            timeout: Duration::from_secs(120),
            pages: Page::ALL.to_vec(),
            build: true,
            profile: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--messages" => options.messages = number(&mut args, arg, USAGE)? as usize,
                "--devices" => options.devices = number(&mut args, arg, USAGE)? as usize,
                "--runs" => options.runs = number(&mut args, arg, USAGE)? as usize,
                "--timeout" => {
                    options.timeout = Duration::from_secs(number(&mut args, arg, USAGE)?)
                }
                "--no-build" => options.build = false,
                "--profile" => options.profile = true,
                "--pages" => options.pages = pages(args.next(), &Page::ALL, Page::key, USAGE)?,
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
            }
        }
        Ok(options)
    }
}

/// A parsed `--name value` option that must be a positive number.
pub(super) fn number(
    args: &mut std::slice::Iter<'_, String>,
    arg: &str,
    usage: &str,
) -> Result<u64> {
    let v = args
        .next()
        .ok_or_else(|| format!("{arg} needs a value\n{usage}"))?;
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{arg}: not a number: {v}\n{usage}"))?;
    if n == 0 {
        return Err(format!("{arg} must be at least 1").into());
    }
    Ok(n)
}

/// The pages a `--pages` value names by their keys ("abc"), in its order,
/// each once.
pub(super) fn pages<P: Copy + PartialEq>(
    value: Option<&String>,
    all: &[P],
    key: fn(P) -> char,
    usage: &str,
) -> Result<Vec<P>> {
    let value = value.ok_or_else(|| format!("--pages needs a value\n{usage}"))?;
    let mut pages = Vec::new();
    for k in value.chars() {
        let page = all
            .iter()
            .copied()
            .find(|p| key(*p) == k)
            .ok_or_else(|| format!("--pages: no page {k:?}\n{usage}"))?;
        if !pages.contains(&page) {
            pages.push(page);
        }
    }
    if pages.is_empty() {
        return Err(format!("--pages: none given\n{usage}").into());
    }
    Ok(pages)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Bare,
    MqttJs,
    Plugboard,
    /// Plugboard watching `#`, the explorer and the log open.
    Explorer,
}

impl Page {
    const ALL: [Self; 4] = [Self::Bare, Self::MqttJs, Self::Plugboard, Self::Explorer];

    fn key(self) -> char {
        match self {
            Self::Bare => 'a',
            Self::MqttJs => 'b',
            Self::Plugboard => 'c',
            Self::Explorer => 'd',
        }
    }

    fn is_plugboard(self) -> bool {
        matches!(self, Self::Plugboard | Self::Explorer)
    }

    fn label(self, devices: usize) -> String {
        match self {
            Self::Bare => "(a) bare WebSocket page (count only)".into(),
            Self::MqttJs => format!("(b) mqtt.js {} page (count only)", install::MQTT_JS_VERSION),
            Self::Plugboard => format!("(c) Plugboard, {} tiles", group(devices as f64 + 1.0)),
            Self::Explorer => format!(
                "(d) Plugboard, {} tiles, watching # (tree + log open)",
                group(devices as f64 + 1.0)
            ),
        }
    }
}

/// Runs the command: `args` are what follows `bench ingest`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(err) if err.to_string() == USAGE => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err),
    };
    install::everything()?;
    let bundle = install::mqtt_js()?;
    let dist = if options.build && options.pages.iter().any(|p| p.is_plugboard()) {
        install::build_app(true)?
    } else {
        workspace_root().join("dist")
    };
    let out = target_dir().join("bench");
    let work = out.join("ingest");
    let _ = std::fs::remove_dir_all(&work);
    let www = work.join("www");
    // A snapshot: someone may rebuild dist/ while the benchmark runs.
    if options.pages.iter().any(|p| p.is_plugboard()) {
        copy_dir(&dist, &www).map_err(|e| format!("copying {}: {e}", dist.display()))?;
    }
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("bare.html"), BARE_HTML)?;
    std::fs::write(www.join("mqttjs.html"), MQTTJS_HTML)?;
    std::fs::write(www.join("blank.html"), BLANK_HTML)?;
    std::fs::copy(&bundle, www.join("mqtt.min.js"))?;

    let mut machine = Machine::probe();
    step(&format!(
        "ingest benchmark: {} messages over {} devices, {} run(s) per page ({}), {} cores, \
         load average {}",
        group(options.messages as f64),
        group(options.devices as f64),
        options.runs,
        options.pages.iter().map(|p| p.key()).collect::<String>(),
        machine.cores,
        machine.load_before
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let runs = runtime.block_on(measure(&options, &www, &work, &mut machine))?;
    machine.load_after = load_average();

    let (markdown, json) = report(&options, &machine, &runs);
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("ingest.md"), &markdown)?;
    std::fs::write(
        out.join("ingest.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    println!();
    println!("{markdown}");
    step(&format!(
        "wrote {} and {}; load average after the runs: {} (above ~1 on 2 cores, something \
         else was running)",
        out.join("ingest.md").display(),
        out.join("ingest.json").display(),
        machine.load_after
    ));
    Ok(ExitCode::SUCCESS)
}

/// What the figures were measured on.
pub(super) struct Machine {
    pub(super) cores: usize,
    pub(super) cpu: String,
    pub(super) chromium: String,
    pub(super) mosquitto: String,
    pub(super) load_before: String,
    pub(super) load_after: String,
}

impl Machine {
    pub(super) fn probe() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let mosquitto = command("mosquitto")
            .arg("-h")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "mosquitto (version unknown)".into());
        Self {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu,
            chromium: String::new(),
            mosquitto,
            load_before: load_average(),
            load_after: String::new(),
        }
    }
}

/// One page's figures from one run.
#[derive(Default)]
struct Run {
    page: Option<Page>,
    run: usize,
    timed_out: bool,
    /// Messages the page had counted when done or given up ((a), (b)).
    counted: Option<f64>,
    /// Publisher's first flood write → page done, ms.
    elapsed_ms: Option<f64>,
    msgs_per_s: Option<f64>,
    /// (a), (b): first → last arrival, counted in the page.
    page_msgs_per_s: Option<f64>,
    /// The publisher's flood: first write → broker closed after DISCONNECT.
    publish_ms: Option<f64>,
    /// Main-thread task time from before the flood to after it.
    task_ms_total: Option<f64>,
    task_ms_per_10k: Option<f64>,
    script_ms_per_10k: Option<f64>,
    layout_style_ms_per_10k: Option<f64>,
    renderer_cpu_ms_per_10k: Option<f64>,
    chromium_cpu_ms_per_10k: Option<f64>,
    frames: Vec<f64>,
    probes: Vec<f64>,
    heap_before: Option<f64>,
    heap_after: Option<f64>,
    heap_after_gc: Option<f64>,
    nodes_before: Option<f64>,
    nodes_after: Option<f64>,
    /// Plugboard's wasm memory when connected, before the warm-up.
    wasm_connected: Option<f64>,
    wasm_before: Option<f64>,
    wasm_after: Option<f64>,
    settle_ms: f64,
}

impl Run {
    fn frame(&self, p: f64) -> Option<f64> {
        percentile(&self.frames, p)
    }

    fn probe(&self, p: f64) -> Option<f64> {
        percentile(&self.probes, p)
    }

    fn to_json(&self) -> Value {
        json!({
            "page": self.page.map(|p| p.key().to_string()),
            "run": self.run,
            "timed_out": self.timed_out,
            "counted": self.counted,
            "elapsed_ms": self.elapsed_ms,
            "msgs_per_s": self.msgs_per_s,
            "page_msgs_per_s": self.page_msgs_per_s,
            "publish_ms": self.publish_ms,
            "task_ms_total": self.task_ms_total,
            "task_ms_per_10k": self.task_ms_per_10k,
            "script_ms_per_10k": self.script_ms_per_10k,
            "layout_style_ms_per_10k": self.layout_style_ms_per_10k,
            "renderer_cpu_ms_per_10k": self.renderer_cpu_ms_per_10k,
            "chromium_cpu_ms_per_10k": self.chromium_cpu_ms_per_10k,
            "frame_interval_ms": {
                "count": self.frames.len(),
                "p50": self.frame(0.5), "p95": self.frame(0.95), "max": self.frame(1.0),
            },
            "execute_wait_ms": {
                "count": self.probes.len(),
                "p50": self.probe(0.5), "p95": self.probe(0.95), "max": self.probe(1.0),
                "samples": self.probes,
            },
            "js_heap_bytes": {
                "before": self.heap_before,
                "after": self.heap_after,
                "after_gc": self.heap_after_gc,
            },
            "dom_nodes": { "before": self.nodes_before, "after_gc": self.nodes_after },
            "wasm_memory_bytes": {
                "connected": self.wasm_connected,
                "before": self.wasm_before,
                "after": self.wasm_after,
            },
            "settle_ms": self.settle_ms,
        })
    }
}

async fn measure(
    options: &Options,
    www: &Path,
    work: &Path,
    machine: &mut Machine,
) -> Result<Vec<Run>> {
    let server = StaticServer::start(www, 0)?;
    let args = [
        "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
    ]
    .map(String::from);
    let browser = Browser::start_with(&work.join("browser"), &args).await?;
    machine.chromium = browser
        .browser_version()
        .map(|v| format!("Chromium {v}"))
        .or_else(|| first_line_of(command("chromium").arg("--version")))
        .unwrap_or_else(|| "Chromium (version unknown)".into());
    step(&format!(
        "{}; {}; pages served on {}",
        machine.chromium,
        machine.mosquitto,
        server.url()
    ));
    // A frozen page answers a script only between its tasks: wait for it.
    browser
        .client
        .update_timeouts(TimeoutConfiguration::new(
            Some(options.timeout + WAIT),
            Some(WAIT),
            None,
        ))
        .await?;
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        for &page in &options.pages {
            step(&format!(
                "run {run}/{}: {}",
                options.runs,
                page.label(options.devices)
            ));
            let dir = work.join(format!("run{run}-{}", page.key()));
            match run_one(&browser, &server, page, options, &dir, run).await {
                Ok(result) => {
                    println!("    {}", summary(&result));
                    runs.push(result);
                }
                Err(err) => {
                    browser.save_artifacts().await;
                    return Err(format!(
                        "run {run}, page ({}): {err} (screenshot and console log in {})",
                        page.key(),
                        work.join("browser").display()
                    )
                    .into());
                }
            }
        }
    }
    Ok(runs)
}

async fn run_one(
    browser: &Browser,
    server: &StaticServer,
    page: Page,
    options: &Options,
    dir: &Path,
    run: usize,
) -> Result<Run> {
    let client = &browser.client;
    let mut result = Run {
        page: Some(page),
        run,
        ..Run::default()
    };
    let broker = Mosquitto::start_with(
        &dir.join("mosquitto"),
        BrokerConfig {
            unbounded_queue: true,
            ..BrokerConfig::default()
        },
    )?;
    fresh_tab(client, server).await?;
    let client_id = format!("bench-{}-{run}", page.key());
    match page {
        Page::Bare | Page::MqttJs => {
            let file = if page == Page::Bare {
                "bare.html"
            } else {
                "mqttjs.html"
            };
            open_counting_page(
                client,
                &format!(
                    "{}{file}?broker={}&client_id={client_id}&topic=stat/%2B/POWER",
                    server.url(),
                    broker.ws_url()
                ),
            )
            .await?;
        }
        Page::Plugboard => connect_plugboard(client, server, &broker).await?,
        Page::Explorer => {
            connect_plugboard(client, server, &broker).await?;
            watch_everything(client).await?;
        }
    }
    browser.cdp("Performance.enable", json!({})).await?;
    if page.is_plugboard() {
        result.wasm_connected = wasm_memory(client).await?;
    }

    // Warm-up: every device once, waited for.
    let warm_up = encode(
        (0..options.devices)
            .map(|i| (format!("stat/dev{i}/POWER"), "OFF"))
            .chain([(format!("stat/{SENTINEL}/POWER"), "OFF")]),
    )?;
    publish(broker.tcp_port, "bench-warm-up", &warm_up, WAIT, None)?;
    let seen = options.devices + 1;
    match page {
        Page::Bare | Page::MqttJs => {
            wait_for(
                client,
                &format!("the page to count {seen} warm-up messages"),
                &format!("return window.bench.count >= {seen} || window.bench.error"),
            )
            .await?;
        }
        Page::Plugboard | Page::Explorer => {
            wait_for(
                client,
                &format!("{seen} tiles, the sentinel's OFF"),
                &format!(
                    "const s = document.querySelector('[data-testid=\"state-{SENTINEL}-1\"]'); \
                     return document.querySelectorAll('article.tile').length >= {seen} \
                     && !!s && s.textContent.trim() === 'OFF'"
                ),
            )
            .await?;
        }
    }
    result.settle_ms = settle(browser).await?;

    // Before: the garbage of the warm-up collected, so no GC of it falls
    // into the flood and the heap is what the page holds.
    browser
        .cdp("HeapProfiler.collectGarbage", json!({}))
        .await?;
    let before = metrics(browser).await?;
    let profiling = options.profile && page.is_plugboard();
    if profiling {
        browser.cdp("Profiler.enable", json!({})).await?;
        browser
            .cdp("Profiler.setSamplingInterval", json!({"interval": 200}))
            .await?;
        browser.cdp("Profiler.start", json!({})).await?;
    }
    let cpu_before = chromium_cpu(browser.browser_pid());
    if page.is_plugboard() {
        result.wasm_before = wasm_memory(client).await?;
    }
    result.heap_before = before.get("JSHeapUsedSize");
    result.nodes_before = before.get("Nodes");
    let (sentinel, counted_target) = match page {
        Page::Plugboard | Page::Explorer => {
            (Value::String(format!("state-{SENTINEL}-1")), Value::Null)
        }
        _ => (Value::Null, json!(options.messages + 1)),
    };
    let offset = client
        .execute(INSTRUMENT_JS, vec![counted_target, sentinel, json!("ON")])
        .await?
        .as_f64()
        .ok_or("the frame recorder returned no clock offset")?;

    // The flood, from its own thread; probes meanwhile.
    let flood = encode(
        (0..options.messages)
            .map(|k| {
                let device = k % options.devices;
                // Round 0 turns every device ON (the warm-up left it OFF).
                let payload = ["ON", "OFF"][(k / options.devices) % 2];
                (format!("stat/dev{device}/POWER"), payload)
            })
            .chain([(format!("stat/{SENTINEL}/POWER"), "ON")]),
    )?;
    let (port, limit) = (broker.tcp_port, options.timeout);
    let (first_write, first_write_rx) = mpsc::channel();
    let publisher =
        std::thread::spawn(move || publish(port, "bench-flood", &flood, limit, Some(first_write)));
    let deadline = Instant::now() + options.timeout;
    let mut probes: Vec<(f64, f64)> = Vec::new();
    let status = "const b = window.bench; \
                  return [b.endWall, b.count, b.first, b.last, b.error || null]";
    let mut last_status;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let wall = wall_ms();
        let started = Instant::now();
        match tokio::time::timeout(left, client.execute("return 1", vec![])).await {
            Ok(answer) => {
                answer?;
                probes.push((wall, started.elapsed().as_secs_f64() * 1e3));
            }
            Err(_) => {
                result.timed_out = true;
                break;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.execute(status, vec![])).await {
            Ok(answer) => last_status = answer?,
            Err(_) => {
                result.timed_out = true;
                break;
            }
        }
        if let Some(error) = last_status[4].as_str() {
            return Err(format!("the page failed during the flood: {error}").into());
        }
        if last_status[0].is_number() && publisher.is_finished() {
            break;
        }
        if Instant::now() + PROBE_EVERY > deadline {
            result.timed_out = true;
            break;
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    let gave_up_wall = wall_ms();
    if result.timed_out {
        // No more messages for the page; it still has to finish what it got.
        drop(broker);
        step(&format!(
            "page ({}) not done after {:?}: figures below are up to then",
            page.key(),
            options.timeout
        ));
    }
    let sent = publisher
        .join()
        .map_err(|_| "the publisher thread panicked")?
        .map_err(|e| format!("publishing the flood: {e}"));
    let first_write_ms = first_write_rx
        .try_recv()
        .map_err(|_| format!("the publisher never started the flood: {sent:?}"))?;

    // After.
    let after = tokio::time::timeout(WAIT, metrics(browser))
        .await
        .map_err(|_| "the page did not answer Performance.getMetrics within 60 s")??;
    let cpu_after = chromium_cpu(browser.browser_pid());
    if profiling {
        let answer = browser.cdp("Profiler.stop", json!({})).await?;
        let raw = target_dir()
            .join("bench")
            .join(format!("profile-{run}.cpuprofile"));
        std::fs::write(&raw, answer["profile"].to_string())?;
        let text = profile_summary(&answer["profile"]);
        let path = target_dir()
            .join("bench")
            .join(format!("profile-{run}.txt"));
        std::fs::write(&path, &text)?;
        step(&format!(
            "CPU profile of Plugboard during the flood: {}",
            path.display()
        ));
        println!("{}", text.lines().take(30).collect::<Vec<_>>().join("\n"));
    }
    if page.is_plugboard() {
        result.wasm_after = wasm_memory(client).await?;
    }
    // What the page holds after the flood, its garbage collected.
    browser
        .cdp("HeapProfiler.collectGarbage", json!({}))
        .await?;
    let collected = metrics(browser).await?;
    result.heap_after_gc = collected.get("JSHeapUsedSize");
    result.nodes_after = collected.get("Nodes");
    let frames = client
        .execute(
            "window.benchFrames.on = false; return window.benchFrames.times",
            vec![],
        )
        .await?;
    let final_status = client.execute(status, vec![]).await?;
    client.goto(&format!("{}blank.html", server.url())).await?;
    match sent {
        Ok(done_ms) => result.publish_ms = Some(done_ms - first_write_ms),
        // The broker was stopped under the publisher.
        Err(_) if result.timed_out => {}
        Err(err) => return Err(err.into()),
    }

    // Figures, per message the page handled: all of them, or when it was
    // not done in time, those it counted (Plugboard cannot say).
    let n = options.messages as f64;
    let end_wall = final_status[0].as_f64();
    result.counted = final_status[1].as_f64();
    let handled = if result.timed_out {
        result.counted.filter(|&c| c > 0.0)
    } else {
        Some(n)
    };
    let per_10k = handled.map_or(f64::NAN, |h| 1e4 / h);
    result.heap_after = after.get("JSHeapUsedSize");
    let delta = |name: &str| {
        Some((after.get(name)? - before.get(name)?) * 1e3 * per_10k).filter(|v| v.is_finite())
    };
    result.task_ms_total = Some(
        (after.get("TaskDuration").unwrap_or(0.0) - before.get("TaskDuration").unwrap_or(0.0))
            * 1e3,
    );
    result.task_ms_per_10k = delta("TaskDuration");
    result.script_ms_per_10k = delta("ScriptDuration");
    result.layout_style_ms_per_10k = delta("LayoutDuration")
        .zip(delta("RecalcStyleDuration"))
        .map(|(a, b)| a + b);
    if let (Some(b), Some(a)) = (cpu_before, cpu_after) {
        let tick_ms = 1e3 / clock_ticks();
        let (renderer, all) = a.since(&b);
        result.renderer_cpu_ms_per_10k =
            Some(renderer as f64 * tick_ms * per_10k).filter(|v| v.is_finite());
        result.chromium_cpu_ms_per_10k =
            Some(all as f64 * tick_ms * per_10k).filter(|v| v.is_finite());
    }
    if let Some(end) = end_wall {
        let elapsed = end - first_write_ms;
        result.elapsed_ms = Some(elapsed);
        result.msgs_per_s = Some(n / elapsed * 1e3);
    }
    if let (Some(first), Some(last)) = (final_status[2].as_f64(), final_status[3].as_f64()) {
        if !page.is_plugboard() && last > first {
            result.page_msgs_per_s = Some(n / (last - first) * 1e3);
        }
    }
    // Frames from the last one before the flood to the first one after it,
    // so a page frozen for the whole flood still shows one long interval.
    let times: Vec<f64> = frames
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let start = first_write_ms - offset;
    let end = end_wall.unwrap_or(gave_up_wall) - offset;
    let from = times.iter().rposition(|&t| t <= start).unwrap_or(0);
    let to = times
        .iter()
        .position(|&t| t >= end)
        .unwrap_or(times.len().saturating_sub(1));
    result.frames = times
        .get(from..=to.max(from))
        .unwrap_or_default()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    // Only probes that began before the page was done.
    let done_wall = end_wall.unwrap_or(gave_up_wall);
    result.probes = probes
        .iter()
        .filter(|(wall, _)| *wall < done_wall)
        .map(|(_, ms)| *ms)
        .collect();
    Ok(result)
}

/// A new tab on a blank page with nothing saved: every page starts from
/// nothing, in a renderer process without the previous page's garbage (JS
/// heap, DOM nodes and GC work are per process), with no saved connections
/// and no layout.
pub(super) async fn fresh_tab(client: &Client, server: &StaticServer) -> Result {
    let new_tab = client.new_window(true).await?;
    client.close_window().await?;
    client.switch_to_window(new_tab.handle).await?;
    client.goto(&format!("{}blank.html", server.url())).await?;
    client
        .execute("localStorage.clear(); sessionStorage.clear();", vec![])
        .await?;
    Ok(())
}

/// Opens one of the bench's own pages (`url` names the broker) and waits
/// until it has subscribed (`window.bench.state`).
pub(super) async fn open_counting_page(client: &Client, url: &str) -> Result {
    client.goto(url).await?;
    wait_for(
        client,
        "the page to subscribe",
        "const b = window.bench; \
         return b ? (b.error || b.state === 'subscribed') : false",
    )
    .await
}

/// Opens Plugboard with `?broker=`, accepts the offer to connect, and waits
/// until it has subscribed.
pub(super) async fn connect_plugboard(
    client: &Client,
    server: &StaticServer,
    broker: &Mosquitto,
) -> Result {
    client
        .goto(&format!("{}?broker={}", server.url(), broker.ws_url()))
        .await?;
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid='link-connect']"))
        .await?
        .click()
        .await?;
    wait_for(
        client,
        "Plugboard to subscribe",
        "const s = document.querySelector('[data-testid=\"connection-status\"]'); \
         return !!s && s.dataset.state === 'subscribed'",
    )
    .await
}

/// Starts the explorer's watch on `#` (its default) and waits until it
/// watches.
pub(super) async fn watch_everything(client: &Client) -> Result {
    client
        .find(Locator::Css("[data-testid='watch']"))
        .await?
        .click()
        .await?;
    wait_for(
        client,
        "the explorer to watch #",
        "const s = document.querySelector('[data-testid=\"watch-summary\"]'); \
         return !!s && s.textContent.startsWith('Watching #')",
    )
    .await
}

/// Polls `script` every 100 ms until it returns true (at most [`WAIT`]);
/// a string it returns is the page's error.
pub(super) async fn wait_for(client: &Client, what: &str, script: &str) -> Result {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        match client.execute(script, vec![]).await {
            Ok(Value::Bool(true)) => return Ok(()),
            Ok(Value::String(error)) => return Err(format!("{what}: {error}").into()),
            Ok(_) => {}
            Err(err) => last = err.to_string(),
        }
        if start.elapsed() > WAIT {
            return Err(format!("timed out after {WAIT:?} waiting for {what} {last}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page's main thread is quiet (busy under 10 % over
/// 250 ms, at most [`WAIT`]), e.g. after Plugboard drew its tiles; returns
/// how long that took.
pub(super) async fn settle(browser: &Browser) -> Result<f64> {
    let start = Instant::now();
    let mut last = metrics(browser).await?.get("TaskDuration").unwrap_or(0.0);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = metrics(browser).await?.get("TaskDuration").unwrap_or(0.0);
        if now - last < 0.025 || start.elapsed() > WAIT {
            return Ok(start.elapsed().as_secs_f64() * 1e3);
        }
        last = now;
    }
}

/// `Performance.getMetrics` as name → value.
pub(super) struct Metrics(Vec<(String, f64)>);

impl Metrics {
    pub(super) fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

pub(super) async fn metrics(browser: &Browser) -> Result<Metrics> {
    let answer = browser.cdp("Performance.getMetrics", json!({})).await?;
    let list = answer["metrics"]
        .as_array()
        .ok_or_else(|| format!("Performance.getMetrics answered {answer}"))?;
    Ok(Metrics(
        list.iter()
            .filter_map(|m| Some((m["name"].as_str()?.to_owned(), m["value"].as_f64()?)))
            .collect(),
    ))
}

pub(super) async fn wasm_memory(client: &Client) -> Result<Option<f64>> {
    Ok(client
        .execute(
            "const w = window.wasmBindings; \
             return w && w.wasm_memory_bytes ? w.wasm_memory_bytes() : null",
            vec![],
        )
        .await?
        .as_f64())
}

/// QoS 0 PUBLISHes (MQTT 3.1.1), encoded back to back.
pub(super) fn encode(messages: impl Iterator<Item = (String, &'static str)>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (topic, payload) in messages {
        Packet::Publish(Publish::new(topic, payload))
            .encode(Protocol::V311, &mut out)
            .map_err(|e| format!("encoding a PUBLISH: {e:?}"))?;
    }
    Ok(out)
}

/// Connects over TCP, writes `packets` as fast as the broker reads them,
/// then DISCONNECT, and waits for the broker to close. Sends the wall clock
/// ms of its first write to `first_write`; returns when the broker closed
/// (it had read everything).
pub(super) fn publish(
    port: u16,
    client_id: &str,
    packets: &[u8],
    limit: Duration,
    first_write: Option<mpsc::Sender<f64>>,
) -> io::Result<f64> {
    let mut stream = connect_publisher(port, client_id, limit)?;
    if let Some(first_write) = first_write {
        let _ = first_write.send(wall_ms());
    }
    stream.write_all(packets)?;
    let mut disconnect = Vec::new();
    Packet::Disconnect(Disconnect::normal())
        .encode(Protocol::V311, &mut disconnect)
        .map_err(|e| io::Error::other(format!("{e:?}")))?;
    stream.write_all(&disconnect)?;
    stream.shutdown(Shutdown::Write)?;
    // The broker closes once it has read up to the DISCONNECT.
    let mut chunk = [0u8; 256];
    while stream.read(&mut chunk)? > 0 {}
    Ok(wall_ms())
}

/// A TCP connection to the broker as an MQTT 3.1.1 client, CONNACK
/// received; writes time out after `limit`.
pub(super) fn connect_publisher(
    port: u16,
    client_id: &str,
    limit: Duration,
) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(WAIT))?;
    stream.set_write_timeout(Some(limit))?;
    let encode = |packet: Packet| {
        let mut out = Vec::new();
        packet
            .encode(Protocol::V311, &mut out)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        io::Result::Ok(out)
    };
    let connect = Connect::new(Protocol::V311, client_id);
    stream.write_all(&encode(Packet::Connect(Box::new(connect)))?)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::other("the broker closed before CONNACK"));
        }
        buf.extend_from_slice(&chunk[..n]);
        match decode_slice(&buf, Protocol::V311, 1024) {
            Ok(Some((Packet::ConnAck(ack), _))) if ack.reason_code == ReasonCode::SUCCESS => break,
            Ok(None) => {}
            other => return Err(io::Error::other(format!("no CONNACK: {other:?}"))),
        }
    }
    Ok(stream)
}

pub(super) fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// CPU ticks (utime + stime) of each of Chromium's processes: pid, ticks,
/// whether it is a renderer.
pub(super) struct ProcCpu(Vec<(u32, u64, bool)>);

impl ProcCpu {
    /// Ticks since `before` of the renderers and of all processes; one
    /// started since counts whole, one gone since is left out.
    pub(super) fn since(&self, before: &Self) -> (u64, u64) {
        let (mut renderer, mut all) = (0, 0);
        for &(pid, ticks, is_renderer) in &self.0 {
            let earlier = before.0.iter().find(|p| p.0 == pid).map_or(0, |p| p.1);
            let spent = ticks.saturating_sub(earlier);
            all += spent;
            if is_renderer {
                renderer += spent;
            }
        }
        (renderer, all)
    }
}

/// utime + stime of the browser process and its descendants, each marked
/// if it is a renderer (`--type=renderer`).
pub(super) fn chromium_cpu(root: Option<u32>) -> Option<ProcCpu> {
    let root = root?;
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which may hold spaces: state is
        // field 3, ppid 4, utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        if let (Some(ppid), Some(utime), Some(stime)) = (num(1), num(11), num(12)) {
            procs.push((pid, ppid as u32, utime + stime));
        }
    }
    let mut family = vec![root];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    let flag = b"--type=renderer";
    Some(ProcCpu(
        procs
            .iter()
            .filter(|p| family.contains(&p.0))
            .map(|&(pid, _, ticks)| {
                // A zygote's child rewrites its command line: one string,
                // spaces between the arguments.
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                (pid, ticks, cmdline.windows(flag.len()).any(|w| w == flag))
            })
            .collect(),
    ))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
pub(super) fn clock_ticks() -> f64 {
    first_line_of(command("getconf").arg("CLK_TCK"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

pub(super) fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Nearest-rank percentile (`p` in 0..=1) of unsorted values.
pub(super) fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub(super) fn median(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let values: Vec<f64> = values.into_iter().flatten().collect();
    if values.is_empty() {
        return None;
    }
    let mut sorted = values;
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// A number with thin groups of three digits: 100 000.
pub(super) fn group(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if value < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

pub(super) fn ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{} ms", group(v)),
        Some(v) => format!("{v:.1} ms"),
        None => "—".into(),
    }
}

pub(super) fn mb(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format!("{:.1} MB", v / 1e6))
}

pub(super) fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "—".into(),
    }
}

fn summary(run: &Run) -> String {
    let rate = match (run.msgs_per_s, run.counted) {
        (Some(r), _) => format!("{} msg/s", group(r)),
        (None, Some(counted)) => format!("not done, {} counted", group(counted)),
        (None, None) => "not done".into(),
    };
    let mut line = format!(
        "{rate}, main thread {} per 10 000, frames p50/p95 {}/{}, execute waits p50/max {}/{}",
        ms(run.task_ms_per_10k),
        ms(run.frame(0.5)),
        ms(run.frame(0.95)),
        ms(run.probe(0.5)),
        ms(run.probe(1.0)),
    );
    if run.wasm_before.is_some() {
        let _ = write!(
            line,
            ", wasm {} → {}",
            mb(run.wasm_before),
            mb(run.wasm_after)
        );
    }
    if run.timed_out {
        let _ = write!(line, " (timed out)");
    }
    line
}

/// The medians of one page.
struct Medians {
    page: Page,
    runs: usize,
    timed_out: usize,
    msgs_per_s: Option<f64>,
    page_msgs_per_s: Option<f64>,
    task: Option<f64>,
    script: Option<f64>,
    layout_style: Option<f64>,
    renderer: Option<f64>,
    chromium: Option<f64>,
    frame_p50: Option<f64>,
    frame_p95: Option<f64>,
    frame_max: Option<f64>,
    probe_p50: Option<f64>,
    probe_max: Option<f64>,
    heap_before: Option<f64>,
    heap_after: Option<f64>,
    nodes_after: Option<f64>,
    wasm_connected: Option<f64>,
    wasm_before: Option<f64>,
    wasm_after: Option<f64>,
}

impl Medians {
    fn of(page: Page, runs: &[Run]) -> Self {
        let runs: Vec<&Run> = runs.iter().filter(|r| r.page == Some(page)).collect();
        let m = |f: &dyn Fn(&Run) -> Option<f64>| median(runs.iter().map(|r| f(r)));
        Self {
            page,
            runs: runs.len(),
            timed_out: runs.iter().filter(|r| r.timed_out).count(),
            msgs_per_s: m(&|r| r.msgs_per_s),
            page_msgs_per_s: m(&|r| r.page_msgs_per_s),
            task: m(&|r| r.task_ms_per_10k),
            script: m(&|r| r.script_ms_per_10k),
            layout_style: m(&|r| r.layout_style_ms_per_10k),
            renderer: m(&|r| r.renderer_cpu_ms_per_10k),
            chromium: m(&|r| r.chromium_cpu_ms_per_10k),
            frame_p50: m(&|r| r.frame(0.5)),
            frame_p95: m(&|r| r.frame(0.95)),
            frame_max: m(&|r| r.frame(1.0)),
            probe_p50: m(&|r| r.probe(0.5)),
            probe_max: m(&|r| r.probe(1.0)),
            heap_before: m(&|r| r.heap_before),
            heap_after: m(&|r| r.heap_after_gc),
            nodes_after: m(&|r| r.nodes_after),
            wasm_connected: m(&|r| r.wasm_connected),
            wasm_before: m(&|r| r.wasm_before),
            wasm_after: m(&|r| r.wasm_after),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "page": self.page.key().to_string(),
            "runs": self.runs,
            "timed_out": self.timed_out,
            "msgs_per_s": self.msgs_per_s,
            "page_msgs_per_s": self.page_msgs_per_s,
            "task_ms_per_10k": self.task,
            "script_ms_per_10k": self.script,
            "layout_style_ms_per_10k": self.layout_style,
            "renderer_cpu_ms_per_10k": self.renderer,
            "chromium_cpu_ms_per_10k": self.chromium,
            "frame_interval_ms": { "p50": self.frame_p50, "p95": self.frame_p95, "max": self.frame_max },
            "execute_wait_ms": { "p50": self.probe_p50, "max": self.probe_max },
            "js_heap_bytes": { "before": self.heap_before, "after_gc": self.heap_after },
            "dom_nodes_after_gc": self.nodes_after,
            "wasm_memory_bytes": {
                "connected": self.wasm_connected,
                "before": self.wasm_before,
                "after": self.wasm_after,
            },
        })
    }
}

fn report(options: &Options, machine: &Machine, runs: &[Run]) -> (String, Value) {
    let medians: Vec<Medians> = options
        .pages
        .iter()
        .map(|&page| Medians::of(page, runs))
        .collect();
    let base = medians.iter().find(|m| m.page == Page::Bare);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Ingest: {} messages over {} devices through mosquitto, one headless Chromium \
         (median of {} run{} per page)\n",
        group(options.messages as f64),
        group(options.devices as f64),
        options.runs,
        if options.runs == 1 { "" } else { "s" }
    );
    let mut cmd = format!(
        "cargo xtask bench ingest --messages {} --runs {}",
        options.messages, options.runs
    );
    if options.devices != 1000 {
        let _ = write!(cmd, " --devices {}", options.devices);
    }
    let _ = writeln!(
        md,
        "`{cmd}` on {} cores ({}), {}, {}, mqtt.js {}; load average {} before, {} after.\n",
        machine.cores,
        machine.cpu,
        machine.chromium,
        machine.mosquitto,
        install::MQTT_JS_VERSION,
        machine.load_before,
        machine.load_after
    );
    md.push_str(
        "| page | msg/s | × (a) | main-thread CPU per 10 000 msgs | × (a) | renderer CPU per \
         10 000 (/proc) | all Chromium CPU per 10 000 (/proc) | frame interval p50 / p95 / max \
         | `execute(\"return 1\")` waits p50 / max | JS heap before → after (GC'd) | wasm memory before \
         → after |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for m in &medians {
        let mut rate = m.msgs_per_s.map_or("—".into(), group);
        if m.timed_out > 0 {
            let _ = write!(
                rate,
                " ({} of {} runs not done in {} s)",
                m.timed_out,
                m.runs,
                options.timeout.as_secs()
            );
        }
        let _ = writeln!(
            md,
            "| {} | {rate} | {} | {} | {} | {} | {} | {} / {} / {} | {} / {} | {} → {} | {} |",
            m.page.label(options.devices),
            ratio(m.msgs_per_s, base.and_then(|b| b.msgs_per_s)),
            ms(m.task),
            ratio(m.task, base.and_then(|b| b.task)),
            ms(m.renderer),
            ms(m.chromium),
            ms(m.frame_p50),
            ms(m.frame_p95),
            ms(m.frame_max),
            ms(m.probe_p50),
            ms(m.probe_max),
            mb(m.heap_before),
            mb(m.heap_after),
            if m.wasm_before.is_some() {
                format!("{} → {}", mb(m.wasm_before), mb(m.wasm_after))
            } else {
                "—".into()
            },
        );
    }
    md.push('\n');
    for run in runs.iter().filter(|r| r.timed_out) {
        let _ = writeln!(
            md,
            "- run {} of {}: not done {} s after the flood began{}; its CPU per message is \
             over what it counted, or not given if it cannot count.",
            run.run,
            run.page.map_or(String::new(), |p| p.label(options.devices)),
            options.timeout.as_secs(),
            run.counted.map_or(String::new(), |c| format!(
                " ({} of {} messages counted)",
                group(c),
                group(options.messages as f64 + 1.0)
            )),
        );
    }
    for m in &medians {
        if let Some(rate) = m.page_msgs_per_s {
            let _ = writeln!(
                md,
                "- {}: counted in the page, first → last arrival {} msg/s.",
                m.page.label(options.devices),
                group(rate)
            );
        }
        let _ = writeln!(
            md,
            "- {}: of the main thread's {} per 10 000, script {}, layout + style {}; DOM nodes \
             after (GC'd) {}.",
            m.page.label(options.devices),
            ms(m.task),
            ms(m.script),
            ms(m.layout_style),
            m.nodes_after.map_or("—".into(), group)
        );
        if m.wasm_connected.is_some() {
            let _ = writeln!(
                md,
                "- {}: wasm memory when connected, before the warm-up: {}.",
                m.page.label(options.devices),
                mb(m.wasm_connected)
            );
        }
    }
    md.push_str(
        "\nmsg/s: messages ÷ (page done − the publisher's first write), wall clocks in ms. \
         Done: (a), (b) count the sentinel sent after the flood; Plugboard cannot count, so \
         done is when the sentinel's tile reads ON (a MutationObserver on that tile, and a \
         check every frame; mosquitto keeps one publisher's order). Main-thread CPU: DevTools `Performance.getMetrics` \
         TaskDuration delta around the flood; /proc: utime+stime of Chromium's renderer \
         processes, and of all its processes (the network service carries the WebSocket). \
         Frames: requestAnimationFrame intervals from the last frame before the flood to the \
         first after it. Waits: a WebDriver `execute(\"return 1\")` every ~100 ms during the \
         flood. Heap: `JSHeapUsedSize`, garbage collected first (DevTools \
         `HeapProfiler.collectGarbage`); wasm: `wasm_memory_bytes()`; before = after the \
         warm-up (one OFF per device), after = when done. Each run in a new tab (its own \
         renderer process). Every figure is the median over \
         the runs, each column separately; pages alternate. mosquitto runs with \
         `max_queued_messages 0` so a slow page loses nothing.\n",
    );
    let json = json!({
        "command": cmd,
        "machine": {
            "cores": machine.cores,
            "cpu": machine.cpu,
            "chromium": machine.chromium,
            "mosquitto": machine.mosquitto,
            "mqtt_js": install::MQTT_JS_VERSION,
            "load_average_before": machine.load_before,
            "load_average_after": machine.load_after,
        },
        "config": {
            "messages": options.messages,
            "devices": options.devices,
            "runs": options.runs,
            "timeout_s": options.timeout.as_secs(),
            "pages": options.pages.iter().map(|p| p.key().to_string()).collect::<Vec<_>>(),
            "topic": "stat/dev<i>/POWER",
            "sentinel": format!("stat/{SENTINEL}/POWER"),
        },
        "medians": medians.iter().map(Medians::to_json).collect::<Vec<_>>(),
        "runs": runs.iter().map(Run::to_json).collect::<Vec<_>>(),
    });
    (md, json)
}

/// A DevTools CPU profile as the functions that were running, by their
/// own samples (not counting what they called), most first.
pub(super) fn profile_summary(profile: &Value) -> String {
    let mut by_name: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut total = 0u64;
    for node in profile["nodes"].as_array().into_iter().flatten() {
        let hits = node["hitCount"].as_u64().unwrap_or(0);
        let frame = &node["callFrame"];
        let name = frame["functionName"].as_str().unwrap_or("");
        let url = frame["url"].as_str().unwrap_or("");
        let file = url.rsplit('/').next().unwrap_or(url);
        let label = match (name, file) {
            ("", "") => "(program)".to_owned(),
            ("", file) => format!("(anonymous) {file}"),
            (name, _) => name.to_owned(),
        };
        *by_name.entry(label).or_default() += hits;
        total += hits;
    }
    let mut rows: Vec<(String, u64)> = by_name.into_iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    let mut out = format!("{total} samples; self samples by function\n");
    for (name, hits) in rows.into_iter().take(60) {
        let share = hits as f64 * 100.0 / total.max(1) as f64;
        out.push_str(&format!("{share:5.1}%  {hits:7}  {name}\n"));
    }
    out
}
