//! `cargo xtask fuzz [SECONDS]`: a bounded libFuzzer run of the codec's
//! `decode` target (`crates/mqtt-codec/fuzz`).
//!
//! Installs what is missing, and only that: the nightly toolchain (used for
//! this command alone; stable stays the default) and cargo-fuzz at a pinned
//! version. Then fuzzes for SECONDS (default 60) and fails if libFuzzer
//! found an input that breaks a check. That input is left in
//! `crates/mqtt-codec/fuzz/artifacts/decode/`, where the stable replay test
//! (`crates/mqtt-codec/tests/fuzz_corpus.rs`) picks it up as a regression
//! case. A corpus grown past what the repository keeps is minimised with
//! `cargo fuzz cmin`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

use e2e::workspace_root;

use crate::install::{self, command, first_line_of};
use crate::{step, Result};

const CARGO_FUZZ_VERSION: &str = "0.13.2";
const TARGET: &str = "decode";
const DEFAULT_SECONDS: u64 = 60;
/// The committed corpus stays within these; past them it is minimised.
const CORPUS_MAX_FILES: usize = 300;
const CORPUS_MAX_BYTES: u64 = 1 << 20;

/// Runs the command: `args` are what follows `fuzz`.
pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let seconds = match args {
        [] => DEFAULT_SECONDS,
        [arg] => arg
            .parse()
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| format!("SECONDS must be a positive whole number, not {arg:?}"))?,
        _ => return Err("usage: cargo xtask fuzz [SECONDS]".into()),
    };
    nightly()?;
    cargo_fuzz()?;

    let crate_dir = workspace_root().join("crates").join("mqtt-codec");
    let fuzz_dir = crate_dir.join("fuzz");
    let started = SystemTime::now();
    step(&format!(
        "fuzzing mqtt-codec's `{TARGET}` target for {seconds} s \
         (after a nightly build: 1–2 minutes cold)"
    ));
    let status = fuzz_command()
        .args(["run", TARGET, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .current_dir(&crate_dir)
        .status()
        .map_err(|e| format!("cannot run cargo +nightly fuzz: {e}"))?;
    if !status.success() {
        let found = written_since(&fuzz_dir.join("artifacts").join(TARGET), started);
        if found.is_empty() {
            return Err(format!("cargo +nightly fuzz run {TARGET} failed: {status}").into());
        }
        eprintln!("xtask: the fuzzer found input that fails the checks:");
        for path in &found {
            eprintln!("  {}", path.display());
        }
        eprintln!(
            "  Commit it: tests/fuzz_corpus.rs replays it as a regression case. Reproduce with\n  \
             cd crates/mqtt-codec && cargo +nightly fuzz run {TARGET} fuzz/artifacts/{TARGET}/<file>"
        );
        return Ok(ExitCode::FAILURE);
    }

    let corpus = fuzz_dir.join("corpus").join(TARGET);
    let (files, bytes) = size_of(&corpus);
    step(&format!("corpus: {files} files, {bytes} bytes"));
    if files > CORPUS_MAX_FILES || bytes > CORPUS_MAX_BYTES {
        step(&format!(
            "minimising the corpus with cargo fuzz cmin (the repository keeps \
             at most {CORPUS_MAX_FILES} files, {CORPUS_MAX_BYTES} bytes)"
        ));
        // The fewest inputs that still cover every edge: a set cover (not
        // libFuzzer's default small-files-first pass) over edges (not hit-count
        // buckets, which a fuzz run regains in seconds).
        install::run(
            fuzz_command()
                .args([
                    "cmin",
                    TARGET,
                    "--",
                    "-use_counters=0",
                    "-set_cover_merge=1",
                ])
                .current_dir(&crate_dir),
        )?;
        let (files, bytes) = size_of(&corpus);
        step(&format!("corpus after cmin: {files} files, {bytes} bytes"));
        if files > CORPUS_MAX_FILES || bytes > CORPUS_MAX_BYTES {
            println!("    (still over: no smaller set of inputs covers every edge)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo +nightly fuzz`, with the project's tool path.
fn fuzz_command() -> Command {
    let mut cargo = command("cargo");
    cargo.args(["+nightly", "fuzz"]);
    cargo
}

fn nightly() -> Result {
    if first_line_of(command("cargo").args(["+nightly", "--version"])).is_some() {
        return Ok(());
    }
    step("installing the nightly toolchain, minimal profile (for cargo fuzz only)");
    install::run(command("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]))
}

fn cargo_fuzz() -> Result {
    let wanted = format!("cargo-fuzz {CARGO_FUZZ_VERSION}");
    if first_line_of(command("cargo").args(["fuzz", "--version"])).as_deref() == Some(&wanted) {
        return Ok(());
    }
    step(&format!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install, under 2 minutes cold)"
    ));
    install::run(command("cargo").args([
        "install",
        "cargo-fuzz",
        "--force",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// Files of `dir` written at or after `since` (none if `dir` is missing).
fn written_since(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = regular_files(dir)
        .filter(|(_, meta)| meta.modified().is_ok_and(|m| m >= since))
        .map(|(path, _)| path)
        .collect();
    found.sort();
    found
}

/// Number of files in `dir` and their total size.
fn size_of(dir: &Path) -> (usize, u64) {
    regular_files(dir).fold((0, 0), |(files, bytes), (_, meta)| {
        (files + 1, bytes + meta.len())
    })
}

fn regular_files(dir: &Path) -> impl Iterator<Item = (PathBuf, fs::Metadata)> {
    fs::read_dir(dir).into_iter().flatten().filter_map(|entry| {
        let entry = entry.ok()?;
        let meta = entry.metadata().ok()?;
        meta.is_file().then(|| (entry.path(), meta))
    })
}
