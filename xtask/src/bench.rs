//! `cargo xtask bench [FILTER…]`: the codec benchmarks
//! (`crates/mqtt-codec/benches/codec.rs`), mqtt-codec against mqttbytes 0.6
//! and mqtt-protocol-core 0.7, ending with a markdown table of packets/s and
//! ratios (ours / the faster peer) for the README; the bench prints it.
//! `cargo xtask bench ingest [OPTIONS]`: the browser ingest benchmark
//! ([`ingest`]). `cargo xtask bench start`: the size of `dist/` and the time
//! to the first tile ([`start`]). `cargo xtask bench render` and `soak`:
//! frames under 10 000 readings/s next to a vanilla-JS page, and memory
//! over 10 000 000 messages ([`render`]).
//! `cargo xtask bench size`: the app's wasm by crate, compressed
//! ([`size`]). `cargo xtask bench v8`: the codec and the receive path in V8, ours in
//! wasm against mqtt-protocol-core in wasm, mqtt-packet and mqtt.js ([`v8`]).
//!
//! Runs `cargo bench -p mqtt-codec --bench codec` with the bench profile at
//! `opt-level = 3` for every crate. The bench profile inherits the release
//! profile, whose `opt-level = "z"` (for a small wasm app) would otherwise
//! build mqttbytes and `bytes` for size while our codec gets its
//! per-package `opt-level = 3`; the same goes for mqtt-protocol-core.
//! Arguments are passed to criterion, e.g. a filter such as `v5`. Prints
//! the machine's load before and after, since the figures mean little if
//! something else was running.

use std::process::ExitCode;

use e2e::workspace_root;

use crate::install::{self, command, first_line_of};
use crate::{step, Result};

mod ingest;
mod render;
mod size;
mod start;
mod v8;

/// Runs the command: `args` are what follows `bench`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    if args.first().is_some_and(|a| a == "ingest") {
        return ingest::run(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "start") {
        return start::run(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "size") {
        return size::run(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "v8") {
        return v8::run(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "render") {
        return render::run_render(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "soak") {
        return render::run_soak(&args[1..]);
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rustc = first_line_of(command("rustc").arg("-V")).unwrap_or_default();
    step(&format!(
        "codec benchmarks: {cores} cores, {rustc}, load average {} (a few minutes)",
        load_average()
    ));
    install::run(
        command("cargo")
            .args(["--config", "profile.bench.opt-level=3"])
            .args(["bench", "-p", "mqtt-codec", "--bench", "codec", "--"])
            .args(args)
            .current_dir(workspace_root()),
    )?;
    step(&format!(
        "load average after the run: {} (above ~1 on 2 cores, something else was running)",
        load_average()
    ));
    Ok(ExitCode::SUCCESS)
}

/// The 1, 5 and 15 minute load averages, from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
