//! `cargo xtask bench render` and `cargo xtask bench soak`: Plugboard
//! under a steady stream of readings, in one headless Chromium against one
//! real mosquitto per run, all on 127.0.0.1 (issue 13, items 4 and 6).
//!
//! **render**: `--devices` Tasmota plugs (1 000) each report their power
//! `--hz` times a second (10: 10 000 `tele/dev<i>/SENSOR` messages/s),
//! paced by a publisher thread over TCP. Pages, alternating:
//! (v) `xtask/bench/render/vanilla.html`, a hand-written vanilla-JS
//!     dashboard that parses the same MQTT itself and makes the same DOM
//!     updates per changed tile once per animation frame (readings text,
//!     sparkline points, relay state), with the same CSS containment;
//! (c) Plugboard with a tile per plug.
//! After `--warm` seconds of the stream, for `--seconds`: the frame
//! intervals (`requestAnimationFrame` deltas), the main thread's busy share
//! (DevTools `TaskDuration` ÷ wall time), the renderer processes' CPU share
//! (`/proc`), and how many readings texts the page wrote per second (a
//! MutationObserver, the same in both pages): at 60 frames/s a page can
//! show each plug's reading at most once a frame.
//!
//! **soak**: `--messages` (10 000 000) through Plugboard's live dashboard,
//! watching `#` with the explorer's tree and log open (issue 13, item 6),
//! at `--rate` messages/s (readings and relay changes over `--devices`
//! plugs); every `--sample` seconds the JS heap and DOM nodes (garbage
//! collected first) and wasm memory. Flat means: after the warm-up (the
//! first tenth of the samples) every sample within ± 5 % of their median.
//! At the end a sentinel plug's state change, sent after the last message,
//! must show: the page had caught up.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use e2e::browser::Browser;
use e2e::{target_dir, workspace_root, BrokerConfig, Mosquitto, StaticServer};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::Client;
use mqtt_codec::{Packet, Protocol, Publish};
use serde_json::{json, Value};

use super::ingest::{
    chromium_cpu, clock_ticks, connect_plugboard, connect_publisher, copy_dir, encode, fresh_tab,
    group, mb, median, metrics, ms, number, open_counting_page, pages, percentile, profile_summary,
    publish, ratio, settle, wait_for, wasm_memory, watch_everything, Machine, WAIT,
};
use super::load_average;
use crate::install;
use crate::{step, Result};

const RENDER_USAGE: &str = "usage: cargo xtask bench render [--devices D] [--hz H] [--seconds S]
                                [--warm S] [--runs R] [--pages vc] [--no-build] [--profile]
  --devices D    Tasmota plugs, one tile each (default 1000)
  --hz H         power reports per plug per second (default 10)
  --seconds S    the measured window (default 10)
  --warm S       the stream runs this long before the window (default 3)
  --runs R       runs per page, pages alternating; figures are medians (default 3)
  --pages vcd    v the vanilla-JS page, c Plugboard, d Plugboard watching # with the
                 explorer's tree and log open (default vcd)
  --no-build     use dist/ as it is instead of building it with trunk --release
  --profile      a DevTools CPU profile of Plugboard in the window, by function
                 (target/bench/render-profile.txt; build dist/ with names for it)";

const SOAK_USAGE: &str = "usage: cargo xtask bench soak [--messages N] [--rate R] [--devices D]
                              [--sample S] [--no-build]
  --messages N   messages in all (default 10000000)
  --rate R       messages per second (default 20000)
  --devices D    Tasmota plugs (default 1000)
  --sample S     seconds between two memory samples (default 10)
  --no-build     use dist/ as it is instead of building it with trunk --release";

const VANILLA_HTML: &str = include_str!("../../bench/render/vanilla.html");
const BLANK_HTML: &str = include_str!("../../bench/ingest/blank.html");
const INSTRUMENT_JS: &str = include_str!("../../bench/render/instrument.js");

/// The plug whose state change, sent after the soak, marks its end.
const SENTINEL: &str = "sentinel";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Vanilla,
    Plugboard,
    /// Plugboard watching `#`, the explorer's tree and log open.
    Explorer,
}

impl Page {
    const ALL: [Self; 3] = [Self::Vanilla, Self::Plugboard, Self::Explorer];

    fn key(self) -> char {
        match self {
            Self::Vanilla => 'v',
            Self::Plugboard => 'c',
            Self::Explorer => 'd',
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Vanilla => "(v) vanilla-JS page",
            Self::Plugboard => "(c) Plugboard",
            Self::Explorer => "(d) Plugboard watching # (tree + log open)",
        }
    }
}

struct RenderOptions {
    devices: usize,
    hz: u64,
    window: Duration,
    warm: Duration,
    runs: usize,
    pages: Vec<Page>,
    build: bool,
    profile: bool,
}

impl RenderOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut o = Self {
            devices: 1_000,
            hz: 10,
            window: Duration::from_secs(10),
            warm: Duration::from_secs(3),
            runs: 3,
            pages: Page::ALL.to_vec(),
            build: true,
            profile: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--devices" => o.devices = number(&mut args, arg, RENDER_USAGE)? as usize,
                "--hz" => o.hz = number(&mut args, arg, RENDER_USAGE)?,
                "--seconds" => {
                    o.window = Duration::from_secs(number(&mut args, arg, RENDER_USAGE)?)
                }
                "--warm" => o.warm = Duration::from_secs(number(&mut args, arg, RENDER_USAGE)?),
                "--runs" => o.runs = number(&mut args, arg, RENDER_USAGE)? as usize,
                "--no-build" => o.build = false,
                "--profile" => o.profile = true,
                "--pages" => {
                    o.pages = pages(args.next(), &Page::ALL, Page::key, RENDER_USAGE)?;
                }
                "-h" | "--help" => return Err(RENDER_USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n{RENDER_USAGE}").into()),
            }
        }
        Ok(o)
    }
}

/// The power a plug reports at a tick: changes every time, stays plausible.
fn watts(device: usize, tick: u64) -> f64 {
    20.0 + ((device as u64 * 37 + tick * 13) % 2_000) as f64 / 10.0
}

fn sensor(device: usize, tick: u64) -> (String, String) {
    (
        format!("tele/dev{device}/SENSOR"),
        format!(r#"{{"ENERGY":{{"Power":{:.1}}}}}"#, watts(device, tick)),
    )
}

/// A publisher thread writing `message(k)` for k = 0, 1, … at `rate` a
/// second (in 10 ms steps), until `total` were written or it is stopped.
struct Paced {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: JoinHandle<io::Result<(u64, Duration)>>,
}

impl Paced {
    fn start(
        port: u16,
        rate: u64,
        total: u64,
        message: impl Fn(u64) -> (String, String) + Send + 'static,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut stream = connect_publisher(port, "bench-paced", WAIT)?;
        let thread = {
            let (stop, sent) = (stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut k = 0u64;
                let mut out = Vec::new();
                while k < total && !stop.load(Ordering::Relaxed) {
                    let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
                    out.clear();
                    while k < due {
                        let (topic, payload) = message(k);
                        Packet::Publish(Publish::new(topic, payload))
                            .encode(Protocol::V311, &mut out)
                            .map_err(|e| io::Error::other(format!("{e:?}")))?;
                        k += 1;
                    }
                    stream.write_all(&out)?;
                    sent.store(k, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
                stream.flush()?;
                Ok((k, start.elapsed()))
            })
        };
        Ok(Self { stop, sent, thread })
    }

    /// Stops the thread; messages written and over how long.
    fn finish(self) -> Result<(u64, Duration)> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self
            .thread
            .join()
            .map_err(|_| "the publisher thread panicked")?
            .map_err(|e| format!("publishing: {e}"))?)
    }
}

/// Builds (or takes) `dist/` and serves a snapshot of it with the extra
/// pages; starts the browser. Returns (server, browser, machine).
async fn setup(build: bool, work: &Path) -> Result<(StaticServer, Browser, Machine)> {
    install::everything()?;
    let dist = if build {
        install::build_app(true)?
    } else {
        workspace_root().join("dist")
    };
    let _ = std::fs::remove_dir_all(work);
    let www = work.join("www");
    copy_dir(&dist, &www).map_err(|e| format!("copying {}: {e}", dist.display()))?;
    std::fs::write(www.join("vanilla.html"), VANILLA_HTML)?;
    std::fs::write(www.join("blank.html"), BLANK_HTML)?;
    let mut machine = Machine::probe();
    let server = StaticServer::start(&www, 0)?;
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
        .unwrap_or_else(|| "Chromium (version unknown)".into());
    browser
        .client
        .update_timeouts(TimeoutConfiguration::new(Some(WAIT), Some(WAIT), None))
        .await?;
    Ok((server, browser, machine))
}

/// Opens `page` in a new tab with nothing saved, connected to `broker`,
/// and shows a tile for each of `devices` plugs (plus `extra`).
async fn open(
    browser: &Browser,
    server: &StaticServer,
    broker: &Mosquitto,
    page: Page,
    devices: usize,
    extra: &[&'static str],
) -> Result {
    let client = &browser.client;
    fresh_tab(client, server).await?;
    match page {
        Page::Vanilla => {
            let url = format!(
                "{}vanilla.html?broker={}&client_id=bench-vanilla",
                server.url(),
                broker.ws_url()
            );
            open_counting_page(client, &url).await?;
        }
        Page::Plugboard => connect_plugboard(client, server, broker).await?,
        Page::Explorer => {
            connect_plugboard(client, server, broker).await?;
            watch_everything(client).await?;
        }
    }
    browser.cdp("Performance.enable", json!({})).await?;
    let warm_up = encode(
        (0..devices)
            .map(|i| format!("dev{i}"))
            .chain(extra.iter().map(|s| s.to_string()))
            .map(|id| (format!("stat/{id}/POWER"), "OFF")),
    )?;
    publish(broker.tcp_port, "bench-warm-up", &warm_up, WAIT, None)?;
    let tiles = devices + extra.len();
    wait_for(
        client,
        &format!("{tiles} tiles"),
        &format!("return document.querySelectorAll('article.tile').length >= {tiles}"),
    )
    .await?;
    settle(browser).await?;
    Ok(())
}

/// Runs `bench render`: `args` are what follows it.
pub(crate) fn run_render(args: &[String]) -> Result<ExitCode> {
    let options = match RenderOptions::parse(args) {
        Ok(o) => o,
        Err(err) if err.to_string() == RENDER_USAGE => {
            println!("{RENDER_USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err),
    };
    let out = target_dir().join("bench");
    let work = out.join("render");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (machine, runs) = runtime.block_on(async {
        let (server, browser, mut machine) = setup(options.build, &work).await?;
        step(&format!(
            "render benchmark: {} plugs × {} Hz = {} readings/s, {} s warm + {} s measured, \
             {} run(s) per page; {}, {} cores, load average {}",
            group(options.devices as f64),
            options.hz,
            group((options.devices as u64 * options.hz) as f64),
            options.warm.as_secs(),
            options.window.as_secs(),
            options.runs,
            machine.chromium,
            machine.cores,
            machine.load_before
        ));
        let mut runs = Vec::new();
        for run in 1..=options.runs {
            for &page in &options.pages {
                step(&format!("run {run}/{}: {}", options.runs, page.label()));
                let dir = work.join(format!("run{run}-{}", page.key()));
                match render_one(&browser, &server, page, &options, &dir).await {
                    Ok(r) => {
                        println!("    {}", r.summary());
                        runs.push(r);
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
        machine.load_after = load_average();
        Result::Ok((machine, runs))
    })?;
    let (markdown, json) = render_report(&options, &machine, &runs);
    write_report(&out, "render", &markdown, &json)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `<name>.md` and `<name>.json` into `out` and prints the table.
fn write_report(out: &Path, name: &str, markdown: &str, json: &Value) -> Result {
    std::fs::create_dir_all(out)?;
    let (md_path, json_path) = (
        out.join(format!("{name}.md")),
        out.join(format!("{name}.json")),
    );
    std::fs::write(&md_path, markdown)?;
    std::fs::write(&json_path, serde_json::to_string_pretty(json)? + "\n")?;
    println!("\n{markdown}");
    step(&format!(
        "wrote {} and {}",
        md_path.display(),
        json_path.display()
    ));
    Ok(())
}

/// One page's figures from one render run.
struct RenderRun {
    page: Page,
    frames: Vec<f64>,
    window_ms: f64,
    busy: Option<f64>,
    renderer_cpu: Option<f64>,
    updates_per_s: f64,
    published_per_s: f64,
}

impl RenderRun {
    fn summary(&self) -> String {
        format!(
            "frames p50/p95/max {}/{}/{}, main thread busy {}, renderer CPU {}, \
             readings written {}/s, published {}/s",
            ms(percentile(&self.frames, 0.5)),
            ms(percentile(&self.frames, 0.95)),
            ms(percentile(&self.frames, 1.0)),
            pct(self.busy),
            pct(self.renderer_cpu),
            group(self.updates_per_s),
            group(self.published_per_s),
        )
    }
}

fn pct(share: Option<f64>) -> String {
    share.map_or("—".into(), |s| format!("{:.0} %", s * 100.0))
}

async fn render_one(
    browser: &Browser,
    server: &StaticServer,
    page: Page,
    options: &RenderOptions,
    dir: &Path,
) -> Result<RenderRun> {
    let client = &browser.client;
    let broker = Mosquitto::start_with(
        &dir.join("mosquitto"),
        BrokerConfig {
            unbounded_queue: true,
            ..BrokerConfig::default()
        },
    )?;
    open(browser, server, &broker, page, options.devices, &[]).await?;
    let devices = options.devices;
    let rate = devices as u64 * options.hz;
    let publisher = Paced::start(broker.tcp_port, rate, u64::MAX, move |k| {
        sensor((k % devices as u64) as usize, k / devices as u64)
    })?;
    tokio::time::sleep(options.warm).await;

    let profiling = options.profile && page != Page::Vanilla;
    if profiling {
        browser.cdp("Profiler.enable", json!({})).await?;
        browser
            .cdp("Profiler.setSamplingInterval", json!({"interval": 200}))
            .await?;
        browser.cdp("Profiler.start", json!({})).await?;
    }
    let offset = client.execute(INSTRUMENT_JS, vec![]).await?.as_f64();
    let before = metrics(browser).await?;
    let cpu_before = chromium_cpu(browser.browser_pid());
    let started = Instant::now();
    tokio::time::sleep(options.window).await;
    let window_ms = started.elapsed().as_secs_f64() * 1e3;
    let after = metrics(browser).await?;
    let cpu_after = chromium_cpu(browser.browser_pid());
    let recorded = client
        .execute(
            "const r = window.benchRender; r.stop(); return [r.times, r.updates]",
            vec![],
        )
        .await?;
    if profiling {
        let answer = browser.cdp("Profiler.stop", json!({})).await?;
        let text = profile_summary(&answer["profile"]);
        let path = target_dir().join("bench").join("render-profile.txt");
        std::fs::write(&path, &text)?;
        step(&format!(
            "CPU profile of Plugboard in the window: {}",
            path.display()
        ));
        println!("{}", text.lines().take(30).collect::<Vec<_>>().join("\n"));
    }
    let (sent, elapsed) = publisher.finish()?;
    client.goto(&format!("{}blank.html", server.url())).await?;
    offset.ok_or("the recorder returned no clock offset")?;

    let times: Vec<f64> = recorded[0]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let frames = times.windows(2).map(|w| w[1] - w[0]).collect();
    let busy = match (before.get("TaskDuration"), after.get("TaskDuration")) {
        (Some(b), Some(a)) => Some((a - b) * 1e3 / window_ms),
        _ => None,
    };
    let renderer_cpu = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some(a.since(&b).0 as f64 / clock_ticks() * 1e3 / window_ms),
        _ => None,
    };
    Ok(RenderRun {
        page,
        frames,
        window_ms,
        busy,
        renderer_cpu,
        updates_per_s: recorded[1].as_f64().unwrap_or(0.0) * 1e3 / window_ms,
        published_per_s: sent as f64 / elapsed.as_secs_f64(),
    })
}

fn render_report(
    options: &RenderOptions,
    machine: &Machine,
    runs: &[RenderRun],
) -> (String, Value) {
    struct Row {
        page: Page,
        p50: Option<f64>,
        p95: Option<f64>,
        max: Option<f64>,
        busy: Option<f64>,
        cpu: Option<f64>,
        updates: Option<f64>,
        published: Option<f64>,
    }
    let rows: Vec<Row> = options
        .pages
        .iter()
        .map(|&page| {
            let mine: Vec<&RenderRun> = runs.iter().filter(|r| r.page == page).collect();
            let of = |f: &dyn Fn(&RenderRun) -> Option<f64>| median(mine.iter().map(|r| f(r)));
            Row {
                page,
                p50: of(&|r| percentile(&r.frames, 0.5)),
                p95: of(&|r| percentile(&r.frames, 0.95)),
                max: of(&|r| percentile(&r.frames, 1.0)),
                busy: of(&|r| r.busy),
                cpu: of(&|r| r.renderer_cpu),
                updates: of(&|r| Some(r.updates_per_s)),
                published: of(&|r| Some(r.published_per_s)),
            }
        })
        .collect();
    let base = rows.iter().find(|r| r.page == Page::Vanilla);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Render: {} plugs × {} Hz power readings ({} messages/s) through mosquitto, one \
         headless Chromium (median of {} run{} per page, {} s measured after {} s)\n",
        group(options.devices as f64),
        options.hz,
        group((options.devices as u64 * options.hz) as f64),
        options.runs,
        if options.runs == 1 { "" } else { "s" },
        options.window.as_secs(),
        options.warm.as_secs(),
    );
    let _ = writeln!(
        md,
        "`cargo xtask bench render --devices {} --hz {} --seconds {} --runs {}` on {} cores \
         ({}), {}, {}; load average {} before, {} after.\n",
        options.devices,
        options.hz,
        options.window.as_secs(),
        options.runs,
        machine.cores,
        machine.cpu,
        machine.chromium,
        machine.mosquitto,
        machine.load_before,
        machine.load_after
    );
    let _ = writeln!(
        md,
        "| page | frame interval p50 / p95 / max | p95 vs (v) | main thread busy | renderer \
         CPU | readings written/s | published/s |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            md,
            "| {} | {} / {} / {} | {} | {} | {} | {} | {} |",
            row.page.label(),
            ms(row.p50),
            ms(row.p95),
            ms(row.max),
            ratio(row.p95, base.and_then(|b| b.p95)),
            pct(row.busy),
            pct(row.cpu),
            row.updates.map_or("—".into(), group),
            row.published.map_or("—".into(), group),
        );
    }
    let _ = writeln!(
        md,
        "\nTarget: Plugboard's p95 frame interval ≤ 1.1× the vanilla page's. Readings written/s \
         counts the readings texts each page changed (a MutationObserver); at 60 frames/s a page \
         shows a plug's reading at most once a frame; Plugboard refreshes the changed tiles \
         longest-waiting first, as many a frame as fit a 6 ms budget (its frame pacer)."
    );
    let json = json!({
        "devices": options.devices,
        "hz": options.hz,
        "window_s": options.window.as_secs(),
        "warm_s": options.warm.as_secs(),
        "machine": {
            "cores": machine.cores, "cpu": machine.cpu, "chromium": machine.chromium,
            "mosquitto": machine.mosquitto,
            "load_before": machine.load_before, "load_after": machine.load_after,
        },
        "runs": runs.iter().map(|r| json!({
            "page": r.page.key().to_string(),
            "window_ms": r.window_ms,
            "frame_interval_ms": {
                "count": r.frames.len(),
                "p50": percentile(&r.frames, 0.5),
                "p95": percentile(&r.frames, 0.95),
                "max": percentile(&r.frames, 1.0),
            },
            "main_thread_busy": r.busy,
            "renderer_cpu": r.renderer_cpu,
            "readings_written_per_s": r.updates_per_s,
            "published_per_s": r.published_per_s,
        })).collect::<Vec<_>>(),
    });
    (md, json)
}

struct SoakOptions {
    messages: u64,
    rate: u64,
    devices: usize,
    sample: Duration,
    build: bool,
}

impl SoakOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut o = Self {
            messages: 10_000_000,
            rate: 20_000,
            devices: 1_000,
            sample: Duration::from_secs(10),
            build: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--messages" => o.messages = number(&mut args, arg, SOAK_USAGE)?,
                "--rate" => o.rate = number(&mut args, arg, SOAK_USAGE)?,
                "--devices" => o.devices = number(&mut args, arg, SOAK_USAGE)? as usize,
                "--sample" => o.sample = Duration::from_secs(number(&mut args, arg, SOAK_USAGE)?),
                "--no-build" => o.build = false,
                "-h" | "--help" => return Err(SOAK_USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n{SOAK_USAGE}").into()),
            }
        }
        Ok(o)
    }
}

/// One memory sample of the soak.
struct Sample {
    at_s: f64,
    sent: u64,
    heap: Option<f64>,
    nodes: Option<f64>,
    wasm: Option<f64>,
}

/// The soak's message `k`: mostly power readings, every tenth a relay
/// change, over the plugs round robin.
fn soak_message(k: u64, devices: usize) -> (String, String) {
    let device = (k % devices as u64) as usize;
    let round = k / devices as u64;
    if round % 10 == 9 {
        let state = if (round / 10).is_multiple_of(2) {
            "ON"
        } else {
            "OFF"
        };
        (format!("stat/dev{device}/POWER"), state.to_owned())
    } else {
        sensor(device, round)
    }
}

/// Runs `bench soak`: `args` are what follows it.
pub(crate) fn run_soak(args: &[String]) -> Result<ExitCode> {
    let options = match SoakOptions::parse(args) {
        Ok(o) => o,
        Err(err) if err.to_string() == SOAK_USAGE => {
            println!("{SOAK_USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err),
    };
    let out = target_dir().join("bench");
    let work = out.join("soak");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (machine, samples, caught_up, sent, elapsed) = runtime.block_on(async {
        let (server, browser, mut machine) = setup(options.build, &work).await?;
        step(&format!(
            "soak: {} messages at {}/s over {} plugs (≈ {} min), a sample every {} s; {}, {} \
             cores, load average {}",
            group(options.messages as f64),
            group(options.rate as f64),
            group(options.devices as f64),
            (options.messages / options.rate).div_ceil(60),
            options.sample.as_secs(),
            machine.chromium,
            machine.cores,
            machine.load_before
        ));
        let result = soak(&browser, &server, &options, &work).await;
        if result.is_err() {
            browser.save_artifacts().await;
        }
        machine.load_after = load_average();
        let (samples, caught_up, sent, elapsed) = result?;
        Result::Ok((machine, samples, caught_up, sent, elapsed))
    })?;
    let (markdown, json) = soak_report(&options, &machine, &samples, caught_up, sent, elapsed);
    write_report(&out, "soak", &markdown, &json)?;
    Ok(ExitCode::SUCCESS)
}

type SoakResult = (Vec<Sample>, Option<f64>, u64, Duration);

async fn soak(
    browser: &Browser,
    server: &StaticServer,
    options: &SoakOptions,
    work: &Path,
) -> Result<SoakResult> {
    let client = &browser.client;
    let broker = Mosquitto::start_with(
        &work.join("mosquitto"),
        BrokerConfig {
            unbounded_queue: true,
            ..BrokerConfig::default()
        },
    )?;
    open(
        browser,
        server,
        &broker,
        Page::Explorer,
        options.devices,
        &[SENTINEL],
    )
    .await?;
    let devices = options.devices;
    let publisher = Paced::start(broker.tcp_port, options.rate, options.messages, move |k| {
        soak_message(k, devices)
    })?;
    let start = Instant::now();
    let mut samples = Vec::new();
    let sample = |client: &Client, at: Instant, sent: u64| {
        let client = client.clone();
        async move {
            browser
                .cdp("HeapProfiler.collectGarbage", json!({}))
                .await?;
            let m = metrics(browser).await?;
            Result::Ok(Sample {
                at_s: at.elapsed().as_secs_f64(),
                sent,
                heap: m.get("JSHeapUsedSize"),
                nodes: m.get("Nodes"),
                wasm: wasm_memory(&client).await?,
            })
        }
    };
    samples.push(sample(client, start, 0).await?);
    let mut next = Instant::now() + options.sample;
    while !publisher.thread.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if Instant::now() >= next {
            next += options.sample;
            let s = sample(client, start, publisher.sent.load(Ordering::Relaxed)).await?;
            println!(
                "    {:>6.0} s  {:>11} sent  JS heap {}  wasm {}  DOM nodes {}",
                s.at_s,
                group(s.sent as f64),
                mb(s.heap),
                mb(s.wasm),
                s.nodes.map_or("—".into(), group)
            );
            samples.push(s);
        }
    }
    let (sent, elapsed) = publisher.finish()?;
    // The page has caught up when the sentinel's change, sent after the
    // last message, shows.
    let sentinel = encode([(format!("stat/{SENTINEL}/POWER"), "ON")].into_iter())?;
    let sent_at = Instant::now();
    publish(broker.tcp_port, "bench-sentinel", &sentinel, WAIT, None)?;
    let caught_up = wait_for(
        client,
        "the sentinel's ON after the soak",
        &format!(
            "const s = document.querySelector('[data-testid=\"state-{SENTINEL}-1\"]'); \
             return !!s && s.textContent.trim() === 'ON'"
        ),
    )
    .await
    .ok()
    .map(|()| sent_at.elapsed().as_secs_f64() * 1e3);
    samples.push(sample(client, start, sent).await?);
    client.goto(&format!("{}blank.html", server.url())).await?;
    Ok((samples, caught_up, sent, elapsed))
}

/// After the warm-up (the first tenth of the samples, at least one): the
/// median and the largest deviation from it, as a share.
fn flatness(samples: &[Sample], value: impl Fn(&Sample) -> Option<f64>) -> Option<(f64, f64)> {
    let skip = (samples.len() / 10).max(1);
    let values: Vec<f64> = samples.iter().skip(skip).filter_map(value).collect();
    let mid = median(values.iter().map(|v| Some(*v)))?;
    let worst = values
        .iter()
        .map(|v| (v - mid).abs() / mid)
        .fold(0.0, f64::max);
    Some((mid, worst))
}

/// After the warm-up: the median of the last third of the samples over
/// that of the first third (1.0: no growth; a leak shows above 1).
fn trend(samples: &[Sample], value: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
    let skip = (samples.len() / 10).max(1);
    let values: Vec<f64> = samples.iter().skip(skip).filter_map(value).collect();
    let third = values.len() / 3;
    if third == 0 {
        return None;
    }
    let first = median(values[..third].iter().map(|v| Some(*v)))?;
    let last = median(values[values.len() - third..].iter().map(|v| Some(*v)))?;
    (first > 0.0).then(|| last / first)
}

fn soak_report(
    options: &SoakOptions,
    machine: &Machine,
    samples: &[Sample],
    caught_up: Option<f64>,
    sent: u64,
    elapsed: Duration,
) -> (String, Value) {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Soak: {} messages through Plugboard's dashboard ({} plugs, readings and relay \
         changes) watching # with the explorer's tree and log open, at {}/s, one headless \
         Chromium\n",
        group(sent as f64),
        group(options.devices as f64),
        group(sent as f64 / elapsed.as_secs_f64()),
    );
    let _ = writeln!(
        md,
        "`cargo xtask bench soak --messages {} --rate {}` on {} cores ({}), {}, {}; load \
         average {} before, {} after. A sample every {} s, garbage collected first; the first \
         tenth of the samples is the warm-up.\n",
        options.messages,
        options.rate,
        machine.cores,
        machine.cpu,
        machine.chromium,
        machine.mosquitto,
        machine.load_before,
        machine.load_after,
        options.sample.as_secs(),
    );
    // The last sample is taken after the stream, with the page idle.
    let (during, after) = samples.split_at(samples.len().saturating_sub(1));
    let _ = writeln!(
        md,
        "| | first sample | median after warm-up | largest deviation from it | every sample \
         within ± 5 % | trend: last third ÷ first third | last during the stream | after it |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let mut verdicts = serde_json::Map::new();
    for (name, f) in [
        (
            "wasm memory",
            (|s: &Sample| s.wasm) as fn(&Sample) -> Option<f64>,
        ),
        ("JS heap", |s: &Sample| s.heap),
        ("DOM nodes", |s: &Sample| s.nodes),
    ] {
        let first = during.first().and_then(f);
        let last = during.last().and_then(f);
        let idle = after.first().and_then(f);
        let shown = |v: Option<f64>| {
            if name == "DOM nodes" {
                v.map_or("—".into(), group)
            } else {
                mb(v)
            }
        };
        let flat = flatness(during, f);
        let trend = trend(during, f);
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            shown(first),
            shown(flat.map(|f| f.0)),
            flat.map_or("—".into(), |f| format!("{:.1} %", f.1 * 100.0)),
            match flat {
                Some((_, worst)) if worst <= 0.05 => "yes",
                Some(_) => "**no**",
                None => "—",
            },
            trend.map_or("—".into(), |t| format!("{t:.3}×")),
            shown(last),
            shown(idle),
        );
        verdicts.insert(
            name.into(),
            json!({"first": first, "median": flat.map(|f| f.0), "worst": flat.map(|f| f.1),
                   "trend": trend, "last": last, "after": idle}),
        );
    }
    let _ = writeln!(
        md,
        "\nAfter the last message the sentinel's change showed in {}.",
        caught_up.map_or("— (it did not show within 60 s)".into(), |v| ms(Some(v)))
    );
    let json = json!({
        "messages": sent,
        "elapsed_s": elapsed.as_secs_f64(),
        "devices": options.devices,
        "caught_up_ms": caught_up,
        "flatness": verdicts,
        "samples": samples.iter().map(|s| json!({
            "at_s": s.at_s, "sent": s.sent, "js_heap": s.heap, "dom_nodes": s.nodes,
            "wasm_memory": s.wasm,
        })).collect::<Vec<_>>(),
    });
    (md, json)
}
