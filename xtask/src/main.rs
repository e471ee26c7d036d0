//! `cargo xtask demo | test`: the one place that knows how to install the
//! tools and start the servers.
//!
//! Both commands first install what is missing, and only that: the wasm32
//! target, mosquitto, Chromium and chromedriver (apt-get), wasm-bindgen-cli
//! at the lock's version and trunk (cargo install), and wasm-opt from npm
//! `binaryen@132` into `.tools/` (never Debian's binaryen, which breaks the
//! wasm).

mod bench;
mod fuzz;
mod install;
mod suites;

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use e2e::{workspace_root, Devsim, Mosquitto, StaticServer};

const USAGE: &str = "usage: cargo xtask <demo|test|fuzz|bench>
  demo   install what is missing, build the app, start mosquitto, devsim and a
         static server on 127.0.0.1, and print the dashboard's URL (Ctrl-C stops all)
  test   install what is missing, then run every suite: native tests, browser
         (wasm-bindgen-test) tests and the end-to-end tests
  fuzz   [SECONDS] install nightly and cargo-fuzz if missing, then fuzz the MQTT
         decoder for SECONDS (default 60); fails if the fuzzer finds a crash
  bench  [FILTER] codec throughput, mqtt-codec vs mqttbytes, as a markdown table
  bench ingest [--messages N] [--runs R] … (--help for all): a flood of MQTT
         messages through mosquitto into a bare WebSocket page, an mqtt.js page and
         Plugboard, in one headless Chromium: msg/s, CPU, frames, latency, memory";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => suites::test(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Prints a step, so long runs show where they are.
pub(crate) fn step(message: &str) {
    println!("==> {message}");
}

fn demo() -> Result<ExitCode> {
    let root = workspace_root();
    install::everything()?;
    install::build_devsim()?;
    let dist = install::build_app(true)?;
    let run_dir = root.join("target").join("demo");
    step("starting mosquitto (TCP + WebSocket on 127.0.0.1)");
    let broker = Mosquitto::start(&run_dir)?;
    step(
        "starting devsim: Tasmota plugs kitchen, desk and a 4-relay strip; a Shelly Plug S \
         (Gen1) and a Shelly Plus 1PM (Gen2); a Zigbee2MQTT plug; a Home Assistant-discovered \
         kettle; a 4-output NETIO",
    );
    let fleet = [
        ("--tasmota", "kitchen"),
        ("--tasmota", "desk"),
        ("--tasmota", "strip:4"),
        ("--shelly", "shellyplug-s-7AECF4"),
        ("--shelly-gen2", "shellyplus1pm-a8032ab12345"),
        ("--z2m", "hall_plug"),
        ("--ha", "kettle"),
        ("--netio", "netio-box:4"),
    ];
    let devsim = Devsim::start_fleet(broker.tcp_port, &fleet)?;
    let port = std::env::var("PLUGBOARD_DEMO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = StaticServer::start(&dist, port).or_else(|_| StaticServer::start(&dist, 0))?;
    let url = format!("{}?broker={}", server.url(), broker.ws_url());
    println!();
    println!("  Plugboard is running. Open:");
    println!();
    println!("    {url}");
    println!();
    println!(
        "  broker: mqtt://127.0.0.1:{} and {}",
        broker.tcp_port,
        broker.ws_url()
    );
    println!(
        "  (mosquitto pid {}, devsim pid {}; log in {})",
        broker.pid(),
        devsim.pid(),
        run_dir.display()
    );
    println!("  Press Ctrl-C to stop everything.");
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    // Show what the simulated devices receive, as it happens.
    let mut devsim = devsim;
    let mut shown = devsim.lines().len();
    while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_millis(300)) {
        let lines = devsim.lines();
        for line in &lines[shown..] {
            println!("  devsim: {line}");
        }
        shown = lines.len();
    }
    println!("\nstopping: static server, devsim, mosquitto");
    drop(server);
    drop(devsim);
    drop(broker);
    println!("stopped.");
    Ok(ExitCode::SUCCESS)
}
