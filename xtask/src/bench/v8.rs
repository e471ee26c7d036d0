//! `cargo xtask bench v8 [--runs R] [--warmup W] [--packets N] [--no-ship]`:
//! the codec and the receive path in V8, ours in wasm against the JS
//! libraries a browser dashboard would otherwise use, in one node process
//! (issue 13, item 2).
//!
//! The same recorded byte streams go to:
//! - **decode**: our `mqtt-codec` and `mqtt-protocol-core` 0.7, both compiled
//!   to wasm (`xtask/bench/v8`, a `#[wasm_bindgen]` cdylib), and
//!   `mqtt-packet` 9.0.2's parser in JS;
//! - **full receive path**: our session engine (`mqtt-client`:
//!   `handle_bytes`, then draining `poll_transmit` and `poll_event`) in wasm,
//!   and an mqtt.js 5.16.0 `MqttClient` driven over an in-memory `Duplex`,
//!   counting its `message` events (see `xtask/bench/v8/harness.js`).
//!
//! Streams, [`DEFAULT_PACKETS`] PUBLISH packets each, recorded here with
//! mqtt-codec: (a) MQTT 3.1.1, QoS 0, 16 B payloads; (b) 3.1.1, QoS 1,
//! 256 B; (c) 5.0, QoS 1, 256 B with a content type, a user property and a
//! message expiry; (d) a 3.1.1 mix of what a plug dashboard receives, from
//! two-byte `ON`/`OFF` to 4 KB discovery documents. (a)–(c) are fed in
//! WebSocket-sized 16 KiB chunks, (d) in chunks of random length (1 B to
//! 16 KiB, seeded), one call per chunk; for wasm each call includes the
//! glue's copy of the chunk into wasm memory. Every run checks each
//! contender's packet count and payload byte total against the stream.
//!
//! The wasm module is built twice: at `opt-level = 3` for every crate plus
//! `wasm-opt -O3`, the fair fight; and as the app ships (the release
//! profile: `opt-level = "z"`, mqtt-codec at 3, then `wasm-opt -Oz` as
//! trunk runs it). Contenders alternate within each round; figures are
//! medians of the timed rounds, after untimed warm-up rounds in which V8
//! tiers the code up. Writes `target/bench/v8.md` and `v8.json` and prints
//! the table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use e2e::{target_dir, workspace_root};
use mqtt_codec::{ConnAck, Packet, Protocol, Publish, QoS, ReasonCode};
use serde_json::{json, Value};

use super::load_average;
use crate::install::{self, command, first_line_of};
use crate::{step, Result};

const USAGE: &str = "usage: cargo xtask bench v8 [--runs R] [--warmup W] [--packets N] [--no-ship]
  --runs R       timed rounds per stream, contenders alternating; figures are medians (default 7)
  --warmup W     untimed rounds per stream before them (default 2)
  --packets N    PUBLISH packets per stream (default 100000)
  --no-ship      skip the build as the app ships (opt-level z, wasm-opt -Oz)";

/// Packets per stream unless `--packets` says otherwise.
const DEFAULT_PACKETS: usize = 100_000;
/// A WebSocket message's worth: how (a)–(c) are chunked, and the largest
/// chunk of (d).
const CHUNK: usize = 16 * 1024;
/// Seed of stream (d)'s packet mix and chunk boundaries: the same bytes on
/// every run and machine.
const SEED: u64 = 0x5eed_0000_0000_00d8;
/// Cores' worth of CPU beyond which the run had company (the harness takes
/// about one).
const BUSY_LIMIT: f64 = 1.5;
/// The mqtt-packet the issue names; the report flags any other version
/// the harness loaded (it uses the copy mqtt.js loads).
const MQTT_PACKET_VERSION: &str = "9.0.2";

struct Options {
    runs: usize,
    warmup: usize,
    packets: usize,
    ship: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut options = Self {
            runs: 7,
            warmup: 2,
            packets: DEFAULT_PACKETS,
            ship: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |min: usize| -> Result<usize> {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n >= min)
                    .ok_or_else(|| {
                        format!("{arg} needs a number of at least {min}\n{USAGE}").into()
                    })
            };
            match arg.as_str() {
                "--runs" => options.runs = number(1)?,
                "--warmup" => options.warmup = number(0)?,
                "--packets" => options.packets = number(1)?,
                "--no-ship" => options.ship = false,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    return Ok(None);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
            }
        }
        Ok(Some(options))
    }
}

/// Runs the command: `args` are what follows `bench v8`.
pub(super) fn run(args: &[String]) -> Result<ExitCode> {
    let Some(options) = Options::parse(args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    install::wasm_and_node()?;
    let mqtt = install::mqtt_js()?
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or("mqtt.js's bundle is not in its package's dist/")?;

    let work = target_dir().join("bench").join("v8");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("streams"))?;

    step(&format!(
        "recording 4 streams of {} PUBLISH packets",
        options.packets
    ));
    let streams = streams(options.packets)?;
    let mut builds = vec![Build::O3];
    if options.ship {
        builds.push(Build::Ship);
    }
    let mut modules = Vec::new();
    for build in &builds {
        modules.push(build.make(&work)?);
    }

    let node = first_line_of(command("node").arg("--version")).unwrap_or_default();
    let load_before = load_average();
    let cpu_before = CpuTimes::now();
    step(&format!(
        "running the harness in node {node}: {} warm-up and {} timed round(s) per stream; \
         load average {load_before}",
        options.warmup, options.runs
    ));
    let results = work.join("results.json");
    let manifest = json!({
        "runs": options.runs,
        "warmup": options.warmup,
        "streams": streams.iter().map(|s| s.write(&work)).collect::<Result<Vec<_>>>()?,
        "modules": modules.iter().map(|m| json!({"id": m.build.id(), "path": m.glue})).collect::<Vec<_>>(),
        "mqtt": mqtt,
        "out": results,
    });
    let manifest_path = work.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)?;
    install::run(
        command("node")
            .arg("--expose-gc")
            .arg(workspace_root().join("xtask/bench/v8/harness.js"))
            .arg(&manifest_path),
    )?;
    let busy_cores = CpuTimes::now()
        .zip(cpu_before)
        .map(|(after, before)| after.busy_cores_since(&before));
    let load_after = load_average();
    let harness: Value = serde_json::from_str(&std::fs::read_to_string(&results)?)?;

    let machine = Machine {
        cpu: cpu_model(),
        load_before,
        load_after,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        busy_cores,
    };
    let md = report(&options, &machine, &streams, &modules, &harness);
    let out = target_dir().join("bench");
    std::fs::write(out.join("v8.md"), &md)?;
    let json = json!({
        "command": command_line(&options),
        "cpu": machine.cpu,
        "load_average": {"before": machine.load_before, "after": machine.load_after},
        "cores": machine.cores,
        "busy_cores_during_harness": machine.busy_cores,
        "streams": streams.iter().map(|s| json!({
            "id": s.id, "title": s.title, "packets": s.packets, "bytes": s.bytes.len(),
            "chunks": s.chunks.len(), "payload_bytes": s.payload_bytes,
        })).collect::<Vec<_>>(),
        "builds": modules.iter().map(|m| json!({
            "id": m.build.id(), "title": m.build.title(), "wasm_bytes": m.wasm_bytes,
        })).collect::<Vec<_>>(),
        "harness": harness,
    });
    std::fs::write(
        out.join("v8.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    println!("\n{md}");
    step(&format!(
        "wrote {} and {}",
        out.join("v8.md").display(),
        out.join("v8.json").display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// One recorded stream: its bytes, where they are cut, and what they hold.
struct Stream {
    id: &'static str,
    title: &'static str,
    protocol: Protocol,
    bytes: Vec<u8>,
    chunks: Vec<usize>,
    packets: usize,
    payload_bytes: u64,
}

impl Stream {
    fn new(id: &'static str, title: &'static str, protocol: Protocol) -> Self {
        Self {
            id,
            title,
            protocol,
            bytes: Vec::new(),
            chunks: Vec::new(),
            packets: 0,
            payload_bytes: 0,
        }
    }

    fn push(&mut self, publish: Publish) -> Result {
        self.payload_bytes += publish.payload.len() as u64;
        self.packets += 1;
        Packet::from(publish)
            .encode(self.protocol, &mut self.bytes)
            .map_err(|e| format!("stream {}: encoding: {e:?}", self.id).into())
    }

    /// Writes the bytes to `work/streams/<id>.bin`; returns the manifest
    /// entry the harness reads.
    fn write(&self, work: &Path) -> Result<Value> {
        let file = work.join("streams").join(format!("{}.bin", self.id));
        std::fs::write(&file, &self.bytes)?;
        let mut connack = Vec::new();
        Packet::from(ConnAck::new(false, ReasonCode::SUCCESS))
            .encode(self.protocol, &mut connack)
            .map_err(|e| format!("encoding CONNACK: {e:?}"))?;
        Ok(json!({
            "id": self.id,
            "file": file,
            "v5": self.protocol == Protocol::V5,
            "chunks": self.chunks,
            "packets": self.packets,
            "payload_bytes": self.payload_bytes,
            "connack": connack,
        }))
    }
}

/// Streams (a)–(d), `n` packets each.
fn streams(n: usize) -> Result<Vec<Stream>> {
    let mut out = Vec::new();
    for (id, title, protocol, qos, payload_len) in [
        (
            "a",
            "3.1.1, QoS 0, 16 B",
            Protocol::V311,
            QoS::AtMostOnce,
            16,
        ),
        (
            "b",
            "3.1.1, QoS 1, 256 B",
            Protocol::V311,
            QoS::AtLeastOnce,
            256,
        ),
        (
            "c",
            "5.0 + props, QoS 1, 256 B",
            Protocol::V5,
            QoS::AtLeastOnce,
            256,
        ),
    ] {
        let mut stream = Stream::new(id, title, protocol);
        let payload = json_payload(payload_len);
        for i in 0..n {
            // The topics of the codec's criterion benchmark.
            let mut publish =
                Publish::new(format!("tele/plug-{:02}/SENSOR", i % 64), payload.clone());
            publish.qos = qos;
            publish.packet_id = (qos != QoS::AtMostOnce).then(|| packet_id(i));
            if protocol == Protocol::V5 {
                let properties = &mut publish.properties;
                properties.content_type = Some("application/json".into());
                properties.user_properties = vec![("source".into(), "devsim".into())];
                properties.message_expiry_interval = Some(3600);
            }
            stream.push(publish)?;
        }
        stream.chunks = (0..stream.bytes.len())
            .step_by(CHUNK)
            .map(|at| CHUNK.min(stream.bytes.len() - at))
            .collect();
        out.push(stream);
    }
    out.push(mix(n)?);
    Ok(out)
}

/// Stream (d): MQTT 3.1.1 traffic as a dashboard of Tasmota, Shelly and
/// Zigbee2MQTT plugs receives it, 200 devices picked at random:
///
/// | share | topic | payload | QoS, retain |
/// |---|---|---|---|
/// | 50 % | `stat/<dev>/POWER` | `ON` / `OFF` | 0 |
/// | 25 % | `tele/<dev>/SENSOR` | 200–320 B JSON | 0 |
/// | 10 % | `zigbee2mqtt/<dev>` | 80–200 B | 0, retained |
/// | 10 % | `tele/<dev>/STATE` | 400–600 B | 1 |
/// | 4 % | `shellies/<dev>/status` | 1–2 KB | 1 |
/// | 1 % | `homeassistant/switch/<dev>/config` | 4 KB | 1, retained |
///
/// Cut into chunks of 1 B to 16 KiB, uniformly at random.
fn mix(n: usize) -> Result<Stream> {
    let mut rng = SplitMix64(SEED);
    let mut stream = Stream::new("d", "3.1.1 mix, 2 B–4 KB, random chunks", Protocol::V311);
    let mut qos1 = 0;
    for _ in 0..n {
        let dev = format!("plug-{:03}", rng.below(200));
        let between = |rng: &mut SplitMix64, lo: usize, hi: usize| lo + rng.below(hi - lo + 1);
        let (topic, payload, qos, retain) = match rng.below(100) {
            0..50 => {
                let on = if rng.below(2) == 0 { "ON" } else { "OFF" };
                (
                    format!("stat/{dev}/POWER"),
                    on.into(),
                    QoS::AtMostOnce,
                    false,
                )
            }
            50..75 => {
                let len = between(&mut rng, 200, 320);
                (
                    format!("tele/{dev}/SENSOR"),
                    json_payload(len),
                    QoS::AtMostOnce,
                    false,
                )
            }
            75..85 => {
                let len = between(&mut rng, 80, 200);
                (
                    format!("zigbee2mqtt/{dev}"),
                    json_payload(len),
                    QoS::AtMostOnce,
                    true,
                )
            }
            85..95 => {
                let len = between(&mut rng, 400, 600);
                (
                    format!("tele/{dev}/STATE"),
                    json_payload(len),
                    QoS::AtLeastOnce,
                    false,
                )
            }
            95..99 => {
                let len = between(&mut rng, 1000, 2000);
                (
                    format!("shellies/{dev}/status"),
                    json_payload(len),
                    QoS::AtLeastOnce,
                    false,
                )
            }
            _ => (
                format!("homeassistant/switch/{dev}/config"),
                json_payload(4096),
                QoS::AtLeastOnce,
                true,
            ),
        };
        let mut publish = Publish::new(topic, payload);
        publish.qos = qos;
        publish.retain = retain;
        if qos != QoS::AtMostOnce {
            publish.packet_id = Some(packet_id(qos1));
            qos1 += 1;
        }
        stream.push(publish)?;
    }
    let mut at = 0;
    while at < stream.bytes.len() {
        let len = (1 + rng.below(CHUNK)).min(stream.bytes.len() - at);
        stream.chunks.push(len);
        at += len;
    }
    Ok(stream)
}

/// The `i`-th packet identifier: 1 to 65 535, then round again (each QoS 1
/// PUBLISH is acknowledged at once, so reuse is legal).
fn packet_id(i: usize) -> u16 {
    (i % usize::from(u16::MAX)) as u16 + 1
}

/// A JSON-looking payload of exactly `len` bytes, like a plug's telemetry
/// (the codec benchmark's).
fn json_payload(len: usize) -> mqtt_codec::Bytes {
    let sample = br#"{"Time":"2026-11-25T01:36:45","ENERGY":{"Total":12.345,"Power":57,"Voltage":230,"Current":0.248},"#;
    let mut payload: Vec<u8> = sample.iter().copied().cycle().take(len).collect();
    if let Some(last) = payload.last_mut() {
        *last = b'}';
    }
    payload.into()
}

/// A small seeded generator (SplitMix64): stream (d) needs the same bytes
/// every time, not good randomness.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How the wasm module is built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Build {
    /// `opt-level = 3` for every crate, `wasm-opt -O3`.
    O3,
    /// The release profile as the app ships: `opt-level = "z"` with
    /// mqtt-codec at 3, `wasm-opt -Oz` (index.html's `data-wasm-opt="z"`).
    Ship,
}

/// A built module: where its wasm-bindgen glue is.
struct Module {
    build: Build,
    glue: PathBuf,
    wasm_bytes: u64,
}

impl Build {
    fn id(self) -> &'static str {
        match self {
            Build::O3 => "o3",
            Build::Ship => "ship",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Build::O3 => "opt-level 3, wasm-opt -O3",
            Build::Ship => "as the app ships: opt-level \"z\" (mqtt-codec 3), wasm-opt -Oz",
        }
    }

    /// Cargo's profile: the release profile itself as the app ships, and
    /// for opt-level 3 a custom one inheriting it (LTO, one codegen unit,
    /// `panic = "abort"`), so the two builds keep their own artifacts and
    /// neither rebuilds the other's.
    fn profile(self) -> &'static str {
        match self {
            Build::O3 => "bench-v8-o3",
            Build::Ship => "release",
        }
    }

    /// Builds the module, runs wasm-bindgen and wasm-opt into
    /// `work/<id>/`.
    fn make(self, work: &Path) -> Result<Module> {
        step(&format!(
            "building xtask/bench/v8 for wasm32, {} (a minute cold)",
            self.title()
        ));
        let mut cargo = command("cargo");
        cargo
            .args(["build", "--quiet", "-p", "bench-v8"])
            .args(["--target", "wasm32-unknown-unknown"])
            .args(["--profile", self.profile()])
            .current_dir(workspace_root());
        if self == Build::O3 {
            cargo.args([
                "--config",
                "profile.bench-v8-o3.inherits=\"release\"",
                "--config",
                "profile.bench-v8-o3.opt-level=3",
            ]);
        }
        install::run(&mut cargo)?;
        let wasm = target_dir()
            .join("wasm32-unknown-unknown")
            .join(self.profile())
            .join("bench_v8.wasm");
        let dir = work.join(self.id());
        install::run(
            command("wasm-bindgen")
                .args(["--target", "nodejs", "--out-dir"])
                .arg(&dir)
                .arg(&wasm),
        )?;
        let bg = dir.join("bench_v8_bg.wasm");
        let optimised = dir.join("bench_v8_bg.opt.wasm");
        // The npm binaryen 132 that install put there, never a wasm-opt
        // found elsewhere on PATH (Debian's breaks the output).
        install::run(
            command(
                &workspace_root()
                    .join(".tools/node_modules/.bin/wasm-opt")
                    .to_string_lossy(),
            )
            .arg(match self {
                Build::O3 => "-O3",
                Build::Ship => "-Oz",
            })
            .arg(&bg)
            .arg("-o")
            .arg(&optimised),
        )?;
        std::fs::rename(&optimised, &bg)?;
        Ok(Module {
            build: self,
            glue: dir.join("bench_v8.js"),
            wasm_bytes: std::fs::metadata(&bg)?.len(),
        })
    }
}

/// What the report says about the machine.
struct Machine {
    cpu: String,
    load_before: String,
    load_after: String,
    cores: usize,
    /// How many cores' worth of CPU the whole machine used while the
    /// harness ran; the harness itself takes about one.
    busy_cores: Option<f64>,
}

/// The machine's CPU time so far, from the first line of `/proc/stat`, in
/// clock ticks.
struct CpuTimes {
    total: u64,
    idle: u64,
}

impl CpuTimes {
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        Some(Self {
            total: fields.iter().sum(),
            idle: fields.get(3)? + fields.get(4).copied().unwrap_or(0),
        })
    }

    /// Cores' worth of CPU the machine used since `before`.
    fn busy_cores_since(&self, before: &Self) -> f64 {
        let total = self.total.saturating_sub(before.total) as f64;
        let idle = self.idle.saturating_sub(before.idle) as f64;
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        if total > 0.0 {
            (1.0 - idle / total) * cores
        } else {
            0.0
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn command_line(options: &Options) -> String {
    let mut line = format!(
        "cargo xtask bench v8 --runs {} --warmup {}",
        options.runs, options.warmup
    );
    if options.packets != DEFAULT_PACKETS {
        line.push_str(&format!(" --packets {}", options.packets));
    }
    if !options.ship {
        line.push_str(" --no-ship");
    }
    line
}

/// The markdown report: streams, decode and receive-path tables, targets.
fn report(
    options: &Options,
    machine: &Machine,
    streams: &[Stream],
    modules: &[Module],
    harness: &Value,
) -> String {
    let rate = |stream: &str, contender: &str| -> Option<f64> {
        harness["streams"]
            .as_array()?
            .iter()
            .find(|s| s["id"] == stream)?["results"][contender]["packets_per_s"]
            .as_f64()
    };
    let text = |key: &str| harness[key].as_str().unwrap_or("?").to_owned();
    let mqtt_packet = text("mqtt_packet");
    let mqtt_js = text("mqtt");
    let mut md = String::from("## Codec in V8\n\n");
    md.push_str(&format!(
        "`{}`: node {} (V8 {}), {}; load average {} before, {} after; the machine's CPU \
         busy during the harness: {} of {} cores (the harness alone takes about one). \
         Million packets/s, \
         median of {} timed rounds after {} warm-up round(s), contenders alternating \
         within each round, one node process{}. Each wasm call takes one chunk, copied \
         into wasm memory by wasm-bindgen's glue; every run's packet count and payload \
         bytes were checked against the stream.\n\n",
        command_line(options),
        text("node"),
        text("v8"),
        machine.cpu,
        machine.load_before,
        machine.load_after,
        machine
            .busy_cores
            .map_or("unknown".into(), |c| format!("{c:.2}")),
        machine.cores,
        options.runs,
        options.warmup,
        if harness["gc_between_runs"] == true {
            ", garbage collected before each run"
        } else {
            ""
        },
    ));
    // The harness is one JS thread plus V8's helpers; well beyond that,
    // something else competed for the cores.
    if machine.busy_cores.is_some_and(|c| c > BUSY_LIMIT) {
        md.push_str(&format!(
            "**Note:** more than {BUSY_LIMIT} cores were busy during the harness: something \
             else was running, so these figures are unreliable.\n\n"
        ));
    }
    if mqtt_packet != MQTT_PACKET_VERSION {
        md.push_str(&format!(
            "**Note:** the harness loaded mqtt-packet {mqtt_packet}, not {MQTT_PACKET_VERSION}.\n\n"
        ));
    }
    md.push_str("| stream | packets | bytes | chunks |\n|---|---:|---:|---:|\n");
    for s in streams {
        let chunking = if s.id == "d" {
            "random 1 B–16 KiB"
        } else {
            "16 KiB"
        };
        md.push_str(&format!(
            "| {} {} | {} | {} | {} × {chunking} |\n",
            s.id,
            s.title,
            s.packets,
            s.bytes.len(),
            s.chunks.len()
        ));
    }
    md.push('\n');

    for module in modules {
        let id = module.build.id();
        md.push_str(&format!(
            "### Decode, {} ({} KB of wasm)\n\n",
            module.build.title(),
            module.wasm_bytes / 1000
        ));
        if module.build == Build::Ship {
            md.push_str(
                "mqtt-protocol-core is at opt-level \"z\" here, as every crate but \
                 mqtt-codec is in the app: the opt-level 3 table is the like-for-like \
                 comparison of the two codecs.\n\n",
            );
        }
        md.push_str(&format!(
            "| stream | mqtt-codec (wasm) | mqtt-protocol-core 0.7 (wasm) | mqtt-packet {mqtt_packet} (JS) \
             | ours / mqtt-protocol-core | ours / mqtt-packet |\n|---|---:|---:|---:|---:|---:|\n"
        ));
        for s in streams {
            let ours = rate(s.id, &format!("mqtt-codec@{id}"));
            let peer = rate(s.id, &format!("mqtt-protocol-core@{id}"));
            let js = rate(s.id, "mqtt-packet");
            md.push_str(&format!(
                "| {} {} | {} | {} | {} | {} | {} |\n",
                s.id,
                s.title,
                mega(ours),
                mega(peer),
                mega(js),
                ratio(ours, peer),
                ratio(ours, js)
            ));
        }
        md.push('\n');
    }

    md.push_str(&format!(
        "### Full receive path\n\nmqtt-client: `handle_bytes` per chunk, then every \
         `poll_transmit` (PUBACKs, dropped) and `poll_event` (counting `Message`). \
         mqtt.js {mqtt_js}: an `MqttClient` over an in-memory `Duplex` (the recording \
         pushed into it at once after CONNACK; its writes, PUBACKs, dropped), counting \
         `message` events.\n\n| stream |"
    ));
    for module in modules {
        md.push_str(&format!(" mqtt-client (wasm, {}) |", module.build.id()));
    }
    md.push_str(&format!(" mqtt.js {mqtt_js} |"));
    for module in modules {
        md.push_str(&format!(" {} / mqtt.js |", module.build.id()));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(2 * modules.len() + 1));
    md.push('\n');
    for s in streams {
        let js = rate(s.id, "mqtt.js");
        let ours: Vec<_> = modules
            .iter()
            .map(|m| rate(s.id, &format!("mqtt-client@{}", m.build.id())))
            .collect();
        md.push_str(&format!("| {} {} |", s.id, s.title));
        for o in &ours {
            md.push_str(&format!(" {} |", mega(*o)));
        }
        md.push_str(&format!(" {} |", mega(js)));
        for o in &ours {
            md.push_str(&format!(" {} |", ratio(*o, js)));
        }
        md.push('\n');
    }
    md.push('\n');

    md.push_str("### Targets (opt-level 3 build)\n\n");
    let target = |what: &str, wanted: f64, pairs: Vec<(&str, Option<f64>)>| {
        let met = pairs.iter().all(|(_, r)| r.is_some_and(|r| r >= wanted));
        let detail: Vec<String> = pairs
            .iter()
            .map(|(id, r)| format!("{id} {}", r.map_or("—".into(), |r| format!("{r:.2}×"))))
            .collect();
        format!(
            "- {what} ≥ {wanted}×: **{}** ({})\n",
            if met { "met" } else { "not met" },
            detail.join(", ")
        )
    };
    let ours_over = |ours: &str, theirs: &str, ids: &[&'static str]| {
        ids.iter()
            .map(|id| {
                let r = match (rate(id, ours), rate(id, theirs)) {
                    (Some(o), Some(t)) if t > 0.0 => Some(o / t),
                    _ => None,
                };
                (*id, r)
            })
            .collect::<Vec<_>>()
    };
    md.push_str(&target(
        "mqtt-codec / mqtt-protocol-core in wasm on a, b, c",
        1.5,
        ours_over("mqtt-codec@o3", "mqtt-protocol-core@o3", &["a", "b", "c"]),
    ));
    md.push_str(&target(
        "full receive path, mqtt-client / mqtt.js, on every stream",
        10.0,
        ours_over("mqtt-client@o3", "mqtt.js", &["a", "b", "c", "d"]),
    ));
    md
}

/// Packets/s in millions: two decimals, or three significant digits.
fn mega(per_second: Option<f64>) -> String {
    match per_second.map(|p| p / 1e6) {
        None => "—".into(),
        Some(m) if m >= 10.0 => format!("{m:.1}"),
        Some(m) if m >= 0.1 => format!("{m:.2}"),
        Some(m) => format!("{m:.3}"),
    }
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "—".into(),
    }
}
