//! Installs what is missing, and only that; builds the app and devsim.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::workspace_root;

use crate::{step, Result};

pub(crate) const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132";
const APT_PACKAGES: &[(&str, &str)] = &[
    ("mosquitto", "mosquitto"),
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    // The wss:// tests make a throw-away CA with the openssl command.
    ("openssl", "openssl"),
    // The sub-path hosting test serves dist/ with Python's http.server.
    ("python3", "python3"),
];

/// Installs every missing tool.
pub(crate) fn everything() -> Result {
    wasm_target()?;
    apt_packages()?;
    wasm_bindgen()?;
    wasm_opt()?;
    trunk()?;
    mqtt_packet()?;
    aedes()?;
    Ok(())
}

/// What the wasm benchmarks in node need: the wasm32 target, node
/// (Debian's), wasm-bindgen-cli and wasm-opt; not trunk or Chromium.
pub(crate) fn wasm_and_node() -> Result {
    wasm_target()?;
    apt_packages()?;
    wasm_bindgen()?;
    wasm_opt()
}

/// PATH with the project's tools first: `.tools/node_modules/.bin` (wasm-opt
/// 132) and cargo's bin folder (trunk, wasm-bindgen), then `/usr/sbin`
/// (mosquitto) in case the caller's PATH lacks it.
pub(crate) fn tool_path() -> OsString {
    let mut dirs = vec![
        workspace_root().join(".tools/node_modules/.bin"),
        cargo_bin(),
    ];
    dirs.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    dirs.push(PathBuf::from("/usr/sbin"));
    env::join_paths(dirs).expect("paths without separators")
}

fn cargo_bin() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// A command that sees [`tool_path`].
pub(crate) fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.env("PATH", tool_path());
    command
}

/// Runs a command to completion; an error names it.
pub(crate) fn run(command: &mut Command) -> Result {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}").into())
    }
}

/// The first line a tool prints for `--version`, if it runs at all.
fn version_of(program: &str) -> Option<String> {
    first_line_of(command(program).arg("--version"))
}

/// The first line a command prints on stdout, if it runs and succeeds.
pub(crate) fn first_line_of(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    })
}

fn found(program: &str) -> bool {
    env::split_paths(&tool_path()).any(|dir| dir.join(program).is_file())
}

fn wasm_target() -> Result {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target (seconds)");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn apt_packages() -> Result {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(bin, _)| !found(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing {} with apt-get (about a minute)",
        missing.join(", ")
    ));
    run(Command::new("apt-get").args(["update", "-qq"]))
        .map_err(|e| format!("{e} (installing Debian packages needs root)"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The wasm-bindgen version Cargo.lock pins (the CLI must match it).
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

fn wasm_bindgen() -> Result {
    let version = locked_wasm_bindgen()?;
    if version_of("wasm-bindgen").is_some_and(|v| v == format!("wasm-bindgen {version}"))
        && found("wasm-bindgen-test-runner")
    {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {version} (cargo install, 3–4 minutes cold)"
    ));
    // No --locked: its lock file wants a crate version the index lacks.
    run(command("cargo").args([
        "install",
        "wasm-bindgen-cli",
        "--force",
        "--version",
        &version,
    ]))
}

fn trunk() -> Result {
    if version_of("trunk").is_some_and(|v| v == format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} (cargo install; a cold install takes 7–12 minutes on 2 cores)"
    ));
    run(command("cargo").args([
        "install",
        "--locked",
        "trunk",
        "--force",
        "--version",
        TRUNK_VERSION,
    ]))
}

fn wasm_opt() -> Result {
    if version_of("wasm-opt").is_some_and(|v| v.contains(&format!("version {BINARYEN_VERSION}")))
        && workspace_root()
            .join(".tools/node_modules/.bin/wasm-opt")
            .is_file()
    {
        return Ok(());
    }
    step(&format!(
        "installing wasm-opt from npm binaryen@{BINARYEN_VERSION} into .tools/ (seconds)"
    ));
    npm_install_into_tools(&format!("binaryen@{BINARYEN_VERSION}"))
}

/// `npm install <spec>` into the project's `.tools/`.
fn npm_install_into_tools(spec: &str) -> Result {
    let tools = workspace_root().join(".tools");
    std::fs::create_dir_all(&tools)?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&tools)
        .arg(spec))
}

/// mqtt-packet for the codec's differential test
/// (`crates/mqtt-codec/tests/differential.rs`), which installs nothing
/// itself: `npm install` in its folder, from the committed lock file, unless
/// the pinned version is already there.
fn mqtt_packet() -> Result {
    const VERSION: &str = "9.0.2";
    let dir = workspace_root().join("crates/mqtt-codec/tests/mqtt-packet");
    let manifest = dir.join("node_modules/mqtt-packet/package.json");
    let wanted = format!("\"version\": \"{VERSION}\"");
    if std::fs::read_to_string(manifest).is_ok_and(|text| {
        text.lines()
            .any(|l| l.trim().trim_end_matches(',') == wanted)
    }) {
        return Ok(());
    }
    step(&format!(
        "installing mqtt-packet {VERSION} for the codec's differential test (npm, seconds)"
    ));
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir))
}

/// The mqtt.js version `cargo xtask bench ingest` measures against.
pub(crate) const MQTT_JS_VERSION: &str = "5.16.0";

/// mqtt.js for the ingest benchmark's page (b): npm `mqtt` into `.tools/`,
/// unless that version is already there; returns its browser bundle,
/// `dist/mqtt.min.js`.
pub(crate) fn mqtt_js() -> Result<PathBuf> {
    let tools = workspace_root().join(".tools");
    let package = tools.join("node_modules/mqtt");
    let bundle = package.join("dist/mqtt.min.js");
    let wanted = format!("\"version\": \"{MQTT_JS_VERSION}\"");
    if bundle.is_file()
        && std::fs::read_to_string(package.join("package.json")).is_ok_and(|text| {
            text.lines()
                .any(|l| l.trim().trim_end_matches(',') == wanted)
        })
    {
        return Ok(bundle);
    }
    step(&format!(
        "installing mqtt.js {MQTT_JS_VERSION} from npm into .tools/ for the ingest benchmark (seconds)"
    ));
    npm_install_into_tools(&format!("mqtt@{MQTT_JS_VERSION}"))?;
    if !bundle.is_file() {
        return Err(format!("npm installed mqtt but not {}", bundle.display()).into());
    }
    Ok(bundle)
}

/// The versions `tests/e2e/aedes/package.json` pins (a test checks they agree).
const AEDES_PINS: &[(&str, &str)] = &[("aedes", "1.2.0"), ("ws", "8.23.0")];

/// aedes, the second real broker of the end-to-end tests
/// (`tests/e2e/src/aedes.rs`): `npm ci` in `tests/e2e/aedes/`, from the
/// committed lock file, unless the pinned versions are already there.
fn aedes() -> Result {
    let dir = workspace_root().join("tests/e2e/aedes");
    if AEDES_PINS.iter().all(|(name, version)| {
        let manifest = dir.join("node_modules").join(name).join("package.json");
        let wanted = format!("\"version\": \"{version}\"");
        std::fs::read_to_string(manifest).is_ok_and(|text| {
            text.lines()
                .any(|l| l.trim().trim_end_matches(',') == wanted)
        })
    }) {
        return Ok(());
    }
    step(&format!(
        "installing aedes {} with ws {} for the end-to-end tests (npm ci, seconds)",
        AEDES_PINS[0].1, AEDES_PINS[1].1
    ));
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir))
}

/// Builds devsim (debug); returns its path.
pub(crate) fn build_devsim() -> Result<PathBuf> {
    step("building devsim");
    run(command("cargo").args(["build", "--quiet", "-p", "devsim"]))?;
    Ok(e2e::target_dir().join("debug").join("devsim"))
}

/// Builds the app with trunk into `dist/`; returns its path.
pub(crate) fn build_app(release: bool) -> Result<PathBuf> {
    let root = workspace_root();
    step("fetching crates (trunk builds offline)");
    run(command("cargo")
        .args(["fetch", "--quiet"])
        .current_dir(&root))?;
    step(if release {
        "building the app with trunk --release (wasm-opt -Oz; a few minutes cold)"
    } else {
        "building the app with trunk"
    });
    let mut trunk = command("trunk");
    trunk
        .arg("build")
        .current_dir(&root)
        .env("TRUNK_SKIP_VERSION_CHECK", "true");
    if release {
        trunk.arg("--release");
    }
    run(&mut trunk)?;
    Ok(root.join("dist"))
}

#[cfg(test)]
mod tests {
    use super::{workspace_root, AEDES_PINS};

    #[test]
    fn aedes_pins_match_its_package_json_and_lock_file() {
        let dir = workspace_root().join("tests/e2e/aedes");
        let manifest = std::fs::read_to_string(dir.join("package.json")).unwrap();
        let lock = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
        for (name, version) in AEDES_PINS {
            let pin = format!("\"{name}\": \"{version}\"");
            assert!(manifest.contains(&pin), "package.json does not pin {pin}");
            let locked = format!("\"node_modules/{name}\": {{\n      \"version\": \"{version}\"");
            assert!(
                lock.contains(&locked),
                "package-lock.json does not lock {name} {version}"
            );
        }
    }
}
