//! `cargo xtask test`: every suite, one summary line.

use std::io::{BufRead, BufReader};
use std::path::Path;
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
    /// Runs a `cargo test`-like command, echoing its output, and records
    /// what [`judge`] makes of it; says why when it adds failures of its own.
    fn tests(&mut self, name: &str, cmd: &mut Command) {
        step(name);
        let outcome = run_counting(cmd).unwrap_or_else(|e| {
            eprintln!("xtask: {e}");
            judge(&[] as &[&str], false)
        });
        if let Some(why) = outcome.verdict.explain() {
            eprintln!("xtask: suite \"{name}\" {why}");
        }
        self.record_with_ignored(name, outcome.passed, outcome.failed, outcome.ignored);
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
        self.record_with_ignored(name, passed, failed, 0);
    }

    /// Ignored tests stay out of the totals, but the suite's line shows them.
    fn record_with_ignored(&mut self, name: &str, passed: usize, failed: usize, ignored: usize) {
        self.passed += passed;
        self.failed += failed;
        let ignored = if ignored > 0 {
            format!(" ({ignored} ignored)")
        } else {
            String::new()
        };
        self.lines.push(format!(
            "  {:<60} {passed:>4} passed, {failed} failed{ignored}",
            name
        ));
    }
}

/// `cargo test --no-fail-fast ARGS` in `root`: every test binary of the
/// suite runs even after one fails, so none of their tests goes uncounted.
/// Every suite that `cargo xtask test` counts starts here.
fn cargo_test(root: &Path, args: &[&str]) -> Command {
    let mut c = command("cargo");
    c.current_dir(root)
        .args(["test", "--no-fail-fast"])
        .args(args);
    c
}

/// Runs `cmd`, echoing its stdout as it comes, and judges it.
fn run_counting(cmd: &mut Command) -> Result<Outcome> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        lines.push(line);
    }
    Ok(judge(&lines, child.wait()?.success()))
}

/// What one suite's `cargo test` output adds up to.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    passed: usize,
    /// The failed tests reported, plus the failures [`Verdict`] adds.
    failed: usize,
    /// Not counted as passed or failed; shown on the suite's line.
    ignored: usize,
    verdict: Verdict,
}

/// How a suite went, beyond its `test result:` lines.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Tests ran and none failed.
    Passed,
    /// Some tests failed; the command's own output says which.
    TestsFailed,
    /// This many test binaries printed `running N tests` but no
    /// `test result:` (a crash, an abort, a timeout): one failure each.
    Unfinished(usize),
    /// The command failed without a failed test (a build error): one
    /// failure.
    Broken,
    /// It succeeded but ran no test at all: one failure, since a filter or
    /// a build problem hides them.
    NoTests,
}

impl Verdict {
    /// The message that explains the failures this verdict adds.
    fn explain(&self) -> Option<String> {
        match self {
            Verdict::Passed | Verdict::TestsFailed => None,
            Verdict::Unfinished(n) => Some(format!(
                "had {n} test binar{} that started but printed no result — a crash or a timeout",
                if *n == 1 { "y" } else { "ies" }
            )),
            Verdict::Broken => {
                Some("failed without a failed test — a build error or a crash".into())
            }
            Verdict::NoTests => {
                Some("ran no tests — a filter or a build problem hides them".into())
            }
        }
    }
}

/// Adds up the `test result:` lines of a suite's output (libtest, rustdoc
/// and wasm-bindgen-test-runner print the same format) and judges the suite
/// as a whole: binaries with 0 tests (doc tests of a crate without any, a
/// lib without unit tests) are fine as long as the suite ran some test.
fn judge<S: AsRef<str>>(lines: &[S], succeeded: bool) -> Outcome {
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    let (mut started, mut finished) = (0usize, 0usize);
    for line in lines {
        let line = line.as_ref().trim();
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
            ignored += count(rest, " ignored");
            finished += 1;
        } else if is_running_line(line) {
            started += 1;
        }
    }
    let unfinished = started.saturating_sub(finished);
    let verdict = if !succeeded && unfinished > 0 {
        Verdict::Unfinished(unfinished)
    } else if !succeeded && failed == 0 {
        Verdict::Broken
    } else if failed > 0 {
        Verdict::TestsFailed
    } else if passed == 0 {
        Verdict::NoTests
    } else {
        Verdict::Passed
    };
    let added = match verdict {
        Verdict::Unfinished(n) => n,
        Verdict::Broken | Verdict::NoTests => 1,
        Verdict::Passed | Verdict::TestsFailed => 0,
    };
    Outcome {
        passed,
        failed: failed + added,
        ignored,
        verdict,
    }
}

/// `running 3 tests` or `running 1 test`: a test binary starts.
fn is_running_line(line: &str) -> bool {
    line.strip_prefix("running ")
        .and_then(|rest| {
            rest.strip_suffix(" tests")
                .or_else(|| rest.strip_suffix(" test"))
        })
        .is_some_and(|n| n.parse::<usize>().is_ok())
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
        "mqtt-codec, mqtt-client and devsim's device models build for wasm32",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "mqtt-codec",
            "-p",
            "mqtt-client",
            "-p",
            "devsim",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
        ]),
    );
    tally.tests(
        "native tests (codec, client, devices, devsim)",
        &mut cargo_test(
            &root,
            &["--workspace", "--exclude", "plugboard", "--exclude", "e2e"],
        ),
    );

    // Browser tests: the app's transport and components in headless
    // Chromium, against a real mosquitto started here.
    let tmp = target_dir().join("tmp");
    std::fs::create_dir_all(&tmp)?;
    match Mosquitto::start(&target_dir().join("wasm-test-broker")) {
        Ok(broker) => {
            tally.tests(
                "browser tests (wasm-bindgen-test in headless Chromium)",
                cargo_test(
                    &root,
                    &["-p", "plugboard", "--target", "wasm32-unknown-unknown"],
                )
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
        &mut cargo_test(&root, &["-p", "e2e", "--test", "broker"]),
    );

    // End to end: the trunk-built app, mosquitto and devsim.
    let built = install::build_devsim().and_then(|devsim| Ok((devsim, install::build_app(true)?)));
    match built {
        Ok((devsim, dist)) => tally.tests(
            "end-to-end tests (app in headless Chromium + mosquitto + devsim)",
            cargo_test(&root, &["-p", "e2e", "--lib", "--test", "browser"])
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
    use super::{cargo_test, count, judge, Outcome, Verdict};

    fn outcome(passed: usize, failed: usize, ignored: usize, verdict: Verdict) -> Outcome {
        Outcome {
            passed,
            failed,
            ignored,
            verdict,
        }
    }

    #[test]
    fn counts_cargo_and_wasm_bindgen_result_lines() {
        let ok = "ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s";
        assert_eq!((count(ok, " passed"), count(ok, " failed")), (12, 0));
        assert_eq!(count(ok, " ignored"), 1);
        let bad = "FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!((count(bad, " passed"), count(bad, " failed")), (3, 2));
    }

    #[test]
    fn every_cargo_test_runs_with_no_fail_fast() {
        let cmd = cargo_test(std::path::Path::new("/"), &["-p", "e2e"]);
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["test", "--no-fail-fast", "-p", "e2e"]);
    }

    #[test]
    fn a_failing_binary_and_a_passing_one_both_count() {
        // What `--no-fail-fast` buys: the binary after the failing one runs.
        let out = [
            "running 2 tests",
            "test decode::ok ... ok",
            "test decode::bad ... FAILED",
            "",
            "failures:",
            "    decode::bad",
            "",
            "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "",
            "running 5 tests",
            ".....",
            "test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s",
        ];
        assert_eq!(judge(&out, false), outcome(6, 1, 0, Verdict::TestsFailed));
    }

    #[test]
    fn a_build_error_is_one_failure() {
        // cargo's `error[E0425]: …` goes to stderr: stdout is empty.
        let out: [&str; 0] = [];
        let judged = judge(&out, false);
        assert_eq!(judged, outcome(0, 1, 0, Verdict::Broken));
        assert!(judged.verdict.explain().is_some());
    }

    #[test]
    fn a_build_error_after_passing_binaries_is_still_a_failure() {
        let out = [
            "running 3 tests",
            "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(judge(&out, false), outcome(3, 1, 0, Verdict::Broken));
    }

    #[test]
    fn a_suite_with_zero_tests_fails() {
        // A filter that matches nothing: every binary says 0 passed.
        let out = [
            "running 0 tests",
            "",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 12 filtered out; finished in 0.00s",
            "",
            "running 0 tests",
            "",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        let judged = judge(&out, true);
        assert_eq!(judged, outcome(0, 1, 0, Verdict::NoTests));
        assert_eq!(
            judged.verdict.explain().as_deref(),
            Some("ran no tests — a filter or a build problem hides them")
        );
        // No result line at all is no better.
        assert_eq!(
            judge(&["no tests to run!"], true),
            outcome(0, 1, 0, Verdict::NoTests)
        );
    }

    #[test]
    fn binaries_without_tests_are_fine_when_the_suite_has_some() {
        // A lib without unit tests and a crate without doc tests.
        let out = [
            "running 0 tests",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "running 4 tests",
            "test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.30s",
            "   Doc-tests mqtt_codec",
            "running 0 tests",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(judge(&out, true), outcome(4, 0, 0, Verdict::Passed));
    }

    #[test]
    fn ignored_tests_are_reported_but_not_counted() {
        let out = [
            "running 3 tests",
            "test slow ... ignored, needs a broker",
            "test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "running 11 tests",
            "test result: ok. 10 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(judge(&out, true), outcome(12, 0, 2, Verdict::Passed));
        // Only ignored tests: nothing ran.
        let out = [
            "running 1 test",
            "test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(judge(&out, true), outcome(0, 1, 1, Verdict::NoTests));
    }

    #[test]
    fn wasm_bindgen_test_runner_output_counts() {
        let out = [
            "no tests to run!",
            "Set timeout to 60 seconds...",
            "Running headless tests in Chrome on `http://127.0.0.1:40171/`",
            "Try find `webdriver.json` for configure browser's capabilities:",
            "Not found",
            "running 9 tests",
            "",
            "test web::subscribes ... ok",
            "test web::refused_port ... FAIL",
            "",
            "failures:",
            "",
            "---- web::refused_port output ----",
            "    JS exception that was thrown:",
            "        Error: expected a refusal",
            "",
            "failures:",
            "",
            "    web::refused_port",
            "",
            "test result: FAILED. 8 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 3.10s",
        ];
        assert_eq!(judge(&out, false), outcome(8, 1, 0, Verdict::TestsFailed));
        let ok = [
            "running 9 tests",
            "test result: ok. 9 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
        ];
        assert_eq!(judge(&ok, true), outcome(9, 0, 0, Verdict::Passed));
    }

    #[test]
    fn a_binary_that_never_reports_is_a_failure_next_to_failed_tests() {
        // One binary fails a test, another dies (a timeout, an abort) before
        // its result line: both count.
        let out = [
            "running 2 tests",
            "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "running 9 tests",
            "test web::subscribes ... ok",
            "Failed to detect test as having been run. It might have timed out.",
        ];
        let judged = judge(&out, false);
        assert_eq!(judged, outcome(1, 2, 0, Verdict::Unfinished(1)));
        assert!(judged
            .verdict
            .explain()
            .is_some_and(|m| m.contains("1 test binary")));
    }
}
