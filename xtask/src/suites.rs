//! `cargo xtask test`: every suite, one summary line.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};

use e2e::{target_dir, workspace_root, Mosquitto};

use crate::install::{self, command};
use crate::{step, Result};

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    lines: Vec<String>,
}

impl Tally {
    /// Runs a `cargo test`-like command, echoing its output and adding up
    /// its `test result:` lines. A command that fails without reporting a
    /// failed test (a build error) counts as one failure.
    fn tests(&mut self, name: &str, cmd: &mut Command) {
        step(name);
        let (passed, failed, ok) = match run_counting(cmd) {
            Ok(counts) => counts,
            Err(e) => {
                eprintln!("xtask: {e}");
                (0, 0, false)
            }
        };
        let failed = if !ok && failed == 0 { 1 } else { failed };
        self.record(name, passed, failed);
    }

    /// Runs a command that must succeed: one check, passed or failed.
    fn check(&mut self, name: &str, cmd: &mut Command) -> bool {
        step(name);
        let ok = install::run(cmd)
            .map_err(|e| eprintln!("xtask: {e}"))
            .is_ok();
        self.record(name, usize::from(ok), usize::from(!ok));
        ok
    }

    fn record(&mut self, name: &str, passed: usize, failed: usize) {
        self.passed += passed;
        self.failed += failed;
        self.lines.push(format!(
            "  {:<60} {passed:>4} passed, {failed} failed",
            name
        ));
    }
}

fn run_counting(cmd: &mut Command) -> Result<(usize, usize, bool)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.trim().strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
        }
    }
    Ok((passed, failed, child.wait()?.success()))
}

/// From `ok. 12 passed; 0 failed; …`, the number before `label`.
fn count(result: &str, label: &str) -> usize {
    result
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label.trim_start())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn test() -> Result<ExitCode> {
    let root = workspace_root();
    install::everything()?;
    let mut tally = Tally::default();
    let cargo = || {
        let mut c = command("cargo");
        c.current_dir(&root);
        c
    };

    tally.check(
        "rustfmt: cargo fmt --check",
        cargo().args(["fmt", "--all", "--check"]),
    );
    tally.check(
        "clippy -D warnings (native crates)",
        cargo().args([
            "clippy",
            "--quiet",
            "--workspace",
            "--exclude",
            "plugboard",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );
    tally.check(
        "clippy -D warnings (the app, wasm32)",
        cargo()
            .args([
                "clippy",
                "--quiet",
                "-p",
                "plugboard",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            // The browser tests read it at build time; any value will do here.
            .env("PLUGBOARD_TEST_BROKER_WS", "ws://127.0.0.1:1/"),
    );
    tally.check(
        "mqtt-codec builds without std (no_std + alloc)",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "mqtt-codec",
            "--no-default-features",
        ]),
    );
    tally.check(
        "mqtt-codec and mqtt-client build for wasm32",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "mqtt-codec",
            "-p",
            "mqtt-client",
            "--target",
            "wasm32-unknown-unknown",
        ]),
    );
    tally.tests(
        "native tests (codec, client, devices, devsim)",
        cargo().args([
            "test",
            "--workspace",
            "--exclude",
            "plugboard",
            "--exclude",
            "e2e",
        ]),
    );

    // Browser tests: the app's transport and components in headless
    // Chromium, against a real mosquitto started here.
    let tmp = target_dir().join("tmp");
    std::fs::create_dir_all(&tmp)?;
    match Mosquitto::start(&target_dir().join("wasm-test-broker")) {
        Ok(broker) => {
            tally.tests(
                "browser tests (wasm-bindgen-test in headless Chromium)",
                cargo()
                    .args([
                        "test",
                        "-p",
                        "plugboard",
                        "--target",
                        "wasm32-unknown-unknown",
                    ])
                    .env("PLUGBOARD_TEST_BROKER_WS", broker.ws_url())
                    .env("WASM_BINDGEN_TEST_TIMEOUT", "60")
                    .env("TMPDIR", &tmp),
            );
        }
        Err(e) => {
            eprintln!("xtask: cannot start mosquitto for the browser tests: {e}");
            tally.record(
                "browser tests (wasm-bindgen-test in headless Chromium)",
                0,
                1,
            );
        }
    }

    // The session engine over TCP against a real mosquitto.
    tally.tests(
        "session engine against mosquitto over TCP (QoS, sessions, restart, auth, will)",
        cargo().args(["test", "-p", "e2e", "--test", "broker"]),
    );

    // End to end: the trunk-built app, mosquitto and devsim.
    let built = install::build_devsim().and_then(|devsim| Ok((devsim, install::build_app(true)?)));
    match built {
        Ok((devsim, dist)) => tally.tests(
            "end-to-end tests (app in headless Chromium + mosquitto + devsim)",
            cargo()
                .args(["test", "-p", "e2e", "--lib", "--test", "browser"])
                .env("DEVSIM_BIN", devsim)
                .env("PLUGBOARD_DIST", dist)
                .env("TMPDIR", &tmp),
        ),
        Err(e) => {
            eprintln!("xtask: cannot build the app or devsim: {e}");
            tally.record("end-to-end tests (build failed)", 0, 1);
        }
    }

    // The demo as a user runs it: it starts, serves the app, and Ctrl-C
    // stops everything it started.
    step("demo: starts, serves the page, and Ctrl-C stops every process");
    match demo_smoke_test() {
        Ok(()) => tally.record("demo smoke test (start, serve, Ctrl-C stops all)", 1, 0),
        Err(e) => {
            eprintln!("xtask: demo smoke test: {e}");
            tally.record("demo smoke test (start, serve, Ctrl-C stops all)", 0, 1);
        }
    }

    println!();
    for line in &tally.lines {
        println!("{line}");
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs `cargo xtask demo` as a child, waits for its URL, fetches the page,
/// sends SIGINT (what Ctrl-C sends) to the demo alone, and checks that the
/// demo, its mosquitto and its devsim are all gone.
fn demo_smoke_test() -> Result {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let mut demo = Command::new(std::env::current_exe()?)
        .arg("demo")
        .env("PLUGBOARD_DEMO_PORT", "0")
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = demo.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
            println!("{line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let result = (|| -> Result {
        let deadline = Instant::now() + Duration::from_secs(600);
        let (mut url, mut pids) = (None, None);
        while url.is_none() || pids.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .map_err(|_| "the demo did not print its URL and PIDs")?;
            let line = line.trim();
            if line.starts_with("http://127.0.0.1:") {
                url = Some(line.to_owned());
            }
            if let Some(rest) = line.strip_prefix("(mosquitto pid ") {
                let (broker, rest) = rest.split_once(", devsim pid ").ok_or("odd PID line")?;
                let devsim = rest.split(';').next().ok_or("odd PID line")?;
                pids = Some((broker.parse::<u32>()?, devsim.parse::<u32>()?));
            }
        }
        let url = url.unwrap_or_default();
        let (broker, devsim) = pids.unwrap_or_default();
        let port: u16 = url["http://127.0.0.1:".len()..]
            .split('/')
            .next()
            .unwrap_or("")
            .parse()?;
        if !url.contains("?broker=ws://127.0.0.1:") {
            return Err(format!("the URL does not pre-fill the broker: {url}").into());
        }
        let page = e2e::http_request(port, "GET", "/", None)?;
        if !page.contains("<title>Plugboard</title>") {
            return Err("the demo's server does not serve the app".into());
        }
        Command::new("kill")
            .arg("-INT")
            .arg(demo.id().to_string())
            .status()?;
        let stop = Instant::now() + Duration::from_secs(20);
        while demo.try_wait()?.is_none() {
            if Instant::now() > stop {
                return Err("the demo did not exit within 20 s of SIGINT".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for (name, pid) in [("mosquitto", broker), ("devsim", devsim)] {
            let alive = Command::new("kill")
                .args(["-0", &pid.to_string()])
                .stderr(Stdio::null())
                .status()?
                .success();
            if alive {
                return Err(format!("{name} (pid {pid}) still runs after the demo stopped").into());
            }
        }
        Ok(())
    })();
    // Never leave the demo behind, whatever happened.
    let _ = demo.kill();
    let _ = demo.wait();
    result
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_cargo_and_wasm_bindgen_result_lines() {
        let ok = "ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s";
        assert_eq!((count(ok, " passed"), count(ok, " failed")), (12, 0));
        let bad = "FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!((count(bad, " passed"), count(bad, " failed")), (3, 2));
    }
}
