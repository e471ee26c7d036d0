//! `devsim`: simulated devices on a real broker.
//!
//! ```text
//! devsim --broker 127.0.0.1:1883 --tasmota plug1 --tasmota strip:4 --shelly shellyplug-s-1
//! devsim --broker 127.0.0.1:1883 --protocol 5 --shelly-gen2 shellyplus1pm-a8032ab12345 \
//!        --ha desk --netio pdu:4 --z2m hall_plug --no-retain
//! devsim --broker 127.0.0.1:1883 --devices 1000 --rate 10
//! ```
//!
//! Each device has its own MQTT connection (its own last will); all of them
//! run on one thread (see `devsim::tcp`) and reconnect with backoff if the
//! broker goes away. Prints one line per event on stdout: `ready <device>`
//! once connected and subscribed, and `recv <device> <topic> <payload>` for
//! each message a device receives. Problems go to stderr as
//! `devsim: <device>: <why>; reconnecting` (or `; giving up`).

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;

use devsim::homeassistant::HomeAssistantPlug;
use devsim::netio::{Netio, NetioConfig, DEFAULT_DELAY_MS, DEFAULT_OUTPUTS};
use devsim::shelly::ShellyGen1;
use devsim::shelly_gen2::ShellyGen2;
use devsim::tasmota::TasmotaPlug;
use devsim::tcp::{Fleet, Model, Options, Report};
use devsim::zigbee2mqtt::Zigbee2MqttPlug;
use devsim::{is_topic_level, DeviceModel};
use mqtt_client::Protocol;

const USAGE: &str = "\
usage: devsim --broker HOST:PORT [options] DEVICE...

devices (each flag may be repeated; at least one device):
  --tasmota TOPIC[:RELAYS]      Tasmota plug (cmnd/stat/tele/<TOPIC>/…), RELAYS default 1
  --shelly ID[:RELAYS]          Shelly Gen1 (shellies/<ID>/relay/<n>…)
  --shelly-gen2 ID[:SWITCHES]   Shelly Gen2+ (<ID>/rpc, <ID>/status/switch:<n>…)
  --z2m NAME                    Zigbee2MQTT plug (zigbee2mqtt/<NAME>…)
  --ha NODE                     Home Assistant discovery switch + power sensor (devsim/<NODE>/…)
  --netio NAME[:OUTPUTS]        NETIO with the built-in MQTT-flex config
                                (netio/<NAME>/output/<n>/…), OUTPUTS default 4
  --netio-config FILE[:NAME]    NETIO running the MQTT-flex JSON config in FILE;
                                NAME (its ${DEVICE_NAME}) defaults to the file's stem
  --devices N                   a fleet of N Tasmota plugs plug-0001, plug-0002, …

options:
  --protocol 3.1.1|5            MQTT version for every device (default 3.1.1)
  --username USER               user name for every device
  --password PASS               password (needs --username)
  --tele-period SECS            telemetry period of every device (default: each
                                model's own, e.g. Tasmota 300, Shelly Gen1 30);
                                NETIO follows its config's timer events
  --rate R                      fleet only: each plug publishes R telemetry messages
                                per second (a STATE + SENSOR pair
                                every 2/R s), e.g. 10 or 0.1
  --netio-delay MS              NETIO short on/off delay (default 5000)
  --no-retain                   publish nothing retained (no retained will either)
  -h, --help                    this text

output: `ready <device>` once connected and subscribed, `recv <device> <topic> <payload>`
for every message received; problems on stderr. Exit code 2 on bad arguments, 1 when
every device gave up (e.g. login refused).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (options, models) = match parse(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("devsim: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    warn_about_file_limit(models.len());
    let mut fleet = Fleet::new(options);
    for model in models {
        fleet.add(model);
    }
    fleet.run(&mut |name, report| {
        // A closed stdout or stderr must not stop the devices.
        match report {
            Report::Ready => {
                let _ = writeln!(io::stdout().lock(), "ready {name}");
            }
            Report::Received { topic, payload } => {
                let _ = writeln!(
                    io::stdout().lock(),
                    "recv {name} {topic} {}",
                    String::from_utf8_lossy(payload)
                );
            }
            Report::Lost(why) => {
                let _ = writeln!(io::stderr(), "devsim: {name}: {why}; reconnecting");
            }
            Report::GaveUp(why) => {
                let _ = writeln!(io::stderr(), "devsim: {name}: {why}; giving up");
            }
            Report::Notice(what) => {
                let _ = writeln!(io::stderr(), "devsim: {name}: {what}");
            }
        }
    });
    let _ = writeln!(io::stderr(), "devsim: every device gave up");
    ExitCode::from(1)
}

/// What the command line asks for, before the models are built.
#[derive(Default)]
struct Args {
    broker: Option<SocketAddr>,
    protocol: Option<Protocol>,
    username: Option<String>,
    password: Option<String>,
    tele_period_ms: Option<u64>,
    rate_period_ms: Option<u64>,
    no_retain: bool,
    fleet: usize,
    netio_delay_ms: Option<u64>,
    devices: Vec<Spec>,
}

/// A device as asked for; NETIO devices are built once `--netio-delay` is
/// known, wherever it stands.
enum Spec {
    Model(Model),
    Netio(String, usize),
    NetioFile(String),
}

fn parse(args: Vec<String>) -> Result<(Options, Vec<Model>), String> {
    let mut a = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => a.broker = Some(broker(&value()?)?),
            "--protocol" => {
                a.protocol = Some(match value()?.as_str() {
                    "3.1.1" | "311" => Protocol::V311,
                    "5" | "5.0" => Protocol::V5,
                    v => return Err(format!("bad --protocol {v:?} (3.1.1 or 5)")),
                })
            }
            "--username" => a.username = Some(value()?),
            "--password" => a.password = Some(value()?),
            "--no-retain" => a.no_retain = true,
            "--tele-period" => {
                let v = value()?;
                a.tele_period_ms = Some(
                    seconds(&v).ok_or_else(|| format!("bad --tele-period {v:?} (seconds > 0)"))?,
                );
            }
            "--rate" => {
                let v = value()?;
                let rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1000.0)
                    .ok_or_else(|| {
                        format!("bad --rate {v:?} (per second, above 0, at most 1000)")
                    })?;
                // A telemetry round is two messages (STATE and SENSOR).
                a.rate_period_ms = Some(((2000.0 / rate).round() as u64).max(1));
            }
            "--devices" => {
                let v = value()?;
                a.fleet = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| format!("bad --devices {v:?} (1 to 100000)"))?;
            }
            "--netio-delay" => {
                let v = value()?;
                a.netio_delay_ms = Some(
                    v.parse()
                        .map_err(|_| format!("bad --netio-delay {v:?} (milliseconds)"))?,
                );
            }
            "--tasmota" => {
                let (topic, relays) = name_and_count(&value()?, 1)?;
                a.devices
                    .push(Spec::Model(Box::new(TasmotaPlug::new(topic, relays))));
            }
            "--shelly" => {
                let (id, relays) = name_and_count(&value()?, 1)?;
                a.devices
                    .push(Spec::Model(Box::new(ShellyGen1::new(id, relays))));
            }
            "--shelly-gen2" => {
                let (id, switches) = name_and_count(&value()?, 1)?;
                a.devices
                    .push(Spec::Model(Box::new(ShellyGen2::new(id, switches))));
            }
            "--z2m" => {
                let (name, _) = name_and_count(&value()?, 1)?;
                a.devices
                    .push(Spec::Model(Box::new(Zigbee2MqttPlug::new(name))));
            }
            "--ha" => {
                let v = value()?;
                if !is_topic_level(&v) {
                    return Err(format!("bad --ha node {v:?}"));
                }
                a.devices
                    .push(Spec::Model(Box::new(HomeAssistantPlug::new(v))));
            }
            "--netio" => {
                let (name, outputs) = name_and_count(&value()?, DEFAULT_OUTPUTS)?;
                a.devices.push(Spec::Netio(name, outputs));
            }
            "--netio-config" => a.devices.push(Spec::NetioFile(value()?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let broker = a.broker.ok_or("--broker is required")?;
    if a.password.is_some() && a.username.is_none() {
        return Err("--password needs --username".into());
    }
    if a.rate_period_ms.is_some() && a.fleet == 0 {
        return Err("--rate needs --devices".into());
    }
    let delay = a.netio_delay_ms.unwrap_or(DEFAULT_DELAY_MS);
    let mut models = Vec::new();
    for spec in a.devices {
        models.push(match spec {
            Spec::Model(m) => m,
            Spec::Netio(name, outputs) => {
                Box::new(Netio::with_default_config(name, outputs).with_delay_ms(delay))
            }
            Spec::NetioFile(v) => Box::new(netio_from_file(&v)?.with_delay_ms(delay)),
        });
    }
    if let Some(period) = a.tele_period_ms {
        for m in &mut models {
            m.set_tele_period(period);
        }
    }
    let width = a.fleet.to_string().len().max(4);
    for i in 1..=a.fleet {
        let mut plug = TasmotaPlug::new(format!("plug-{i:0width$}"), 1);
        if let Some(period) = a.rate_period_ms.or(a.tele_period_ms) {
            plug.set_tele_period(period);
        }
        models.push(Box::new(plug));
    }
    if models.is_empty() {
        return Err("no devices given".into());
    }
    let mut ids: Vec<String> = models.iter().map(|m| m.client_id()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "two devices would connect with client id {:?} and push each other off",
            pair[0]
        ));
    }
    let mut options = Options::new(broker);
    options.protocol = a.protocol.unwrap_or(Protocol::V311);
    options.username = a.username;
    options.password = a.password;
    options.no_retain = a.no_retain;
    Ok((options, models))
}

/// `HOST:PORT`, resolved (e.g. `127.0.0.1:1883`, `localhost:1883`).
fn broker(v: &str) -> Result<SocketAddr, String> {
    v.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("bad broker address {v:?} (HOST:PORT)"))
}

/// Seconds (fractions allowed) as milliseconds, at least 1.
fn seconds(v: &str) -> Option<u64> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1e9)
        .map(|s| ((s * 1000.0).round() as u64).max(1))
}

/// `NAME` or `NAME:COUNT`, with a name usable as a topic level and a count
/// of relays, switches or outputs from 1 to 64.
fn name_and_count(v: &str, default: usize) -> Result<(String, usize), String> {
    let (name, count) = match v.split_once(':') {
        Some((name, n)) => (
            name,
            n.parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| format!("bad count in {v:?} (1 to 64)"))?,
        ),
        None => (v, default),
    };
    if !is_topic_level(name) {
        return Err(format!("bad device name {name:?}"));
    }
    Ok((name.to_owned(), count))
}

/// `--netio-config FILE[:NAME]`.
fn netio_from_file(v: &str) -> Result<Netio, String> {
    let (file, name) = match v.rsplit_once(':') {
        Some((file, name)) if !Path::new(v).is_file() => (file, Some(name)),
        _ => (v, None),
    };
    let name = match name {
        Some(name) => name.to_owned(),
        None => Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if !is_topic_level(&name) {
        return Err(format!(
            "bad NETIO device name {name:?}: give one as --netio-config {file}:NAME"
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let config = NetioConfig::parse(&text).map_err(|e| format!("{file}: {e}"))?;
    let outputs = config.max_output().max(1);
    Netio::new(name, config, outputs).map_err(|e| format!("{file}: {e}"))
}

/// Warns if the open-file limit (Linux, `/proc/self/limits`) is too low for
/// one socket per device.
fn warn_about_file_limit(devices: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(soft) = soft {
        if devices + 32 > soft {
            eprintln!(
                "devsim: {devices} devices need {devices} sockets but the open-file limit is {soft}; \
                 raise it with `ulimit -n {}`",
                devices + 64
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn names(line: &str) -> Vec<String> {
        let (_, models) = parse(args(line)).unwrap();
        models.iter().map(|m| m.name()).collect()
    }

    fn error(line: &str) -> String {
        parse(args(line)).err().expect("an error")
    }

    #[test]
    fn every_kind_of_device_in_order() {
        assert_eq!(
            names(
                "--broker 127.0.0.1:1883 --tasmota kitchen --tasmota strip:4 --shelly s1:2 \
                 --shelly-gen2 g2:3 --z2m hall --ha desk --netio pdu --netio pdu2:8 --devices 2"
            ),
            [
                "kitchen",
                "strip",
                "s1",
                "g2",
                "hall",
                "desk",
                "pdu",
                "pdu2",
                "plug-0001",
                "plug-0002"
            ]
        );
        let (options, _) = parse(args(
            "--broker localhost:1883 --protocol 5 --username u --password p --no-retain --tasmota a",
        ))
        .unwrap();
        assert_eq!(options.protocol, Protocol::V5);
        assert_eq!(options.broker.port(), 1883);
        assert!(options.broker.ip().is_loopback());
        assert_eq!(
            (options.username.as_deref(), options.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert!(options.no_retain);
    }

    #[test]
    fn periods_and_rates() {
        let (_, mut models) = parse(args(
            "--broker 127.0.0.1:1 --tele-period 0.5 --tasmota a --devices 1 --rate 10",
        ))
        .unwrap();
        for m in &mut models {
            m.on_connected(0);
        }
        assert_eq!(models[0].poll_timeout(), Some(500));
        // 10 messages a second: a STATE + SENSOR pair every 200 ms.
        assert_eq!(models[1].poll_timeout(), Some(200));
        let (_, mut models) = parse(args("--broker 127.0.0.1:1 --devices 1 --rate 0.1")).unwrap();
        models[0].on_connected(0);
        assert_eq!(models[0].poll_timeout(), Some(20_000));
        let (_, models) = parse(args("--broker 127.0.0.1:1 --devices 10000")).unwrap();
        assert_eq!(models[9_999].name(), "plug-10000");
        assert_eq!(models[0].name(), "plug-00001");
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        assert_eq!(error("--tasmota a"), "--broker is required");
        assert_eq!(error("--broker 127.0.0.1:1"), "no devices given");
        assert_eq!(error("--broker"), "--broker needs a value");
        assert!(error("--broker nowhere --tasmota a").starts_with("bad broker address"));
        assert!(error("--broker 127.0.0.1:1 --tasmota a/b").starts_with("bad device name"));
        assert!(error("--broker 127.0.0.1:1 --tasmota a:0").starts_with("bad count"));
        assert!(error("--broker 127.0.0.1:1 --shelly a:x").starts_with("bad count"));
        assert!(
            error("--broker 127.0.0.1:1 --protocol 4 --tasmota a").starts_with("bad --protocol")
        );
        assert_eq!(
            error("--broker 127.0.0.1:1 --password p --tasmota a"),
            "--password needs --username"
        );
        assert_eq!(
            error("--broker 127.0.0.1:1 --rate 5 --tasmota a"),
            "--rate needs --devices"
        );
        assert!(error("--broker 127.0.0.1:1 --devices 0").starts_with("bad --devices"));
        assert!(error("--broker 127.0.0.1:1 --devices 1 --rate 0").starts_with("bad --rate"));
        assert!(error("--broker 127.0.0.1:1 --tele-period -1 --tasmota a")
            .starts_with("bad --tele-period"));
        assert!(error("--broker 127.0.0.1:1 --tasmota a --tasmota a").contains("client id"));
        assert!(
            error("--broker 127.0.0.1:1 --tasmota plug-0001 --devices 1").contains("client id")
        );
        assert_eq!(
            error("--broker 127.0.0.1:1 --frobnicate"),
            "unknown argument \"--frobnicate\""
        );
    }

    #[test]
    fn netio_config_files() {
        let dir = std::env::temp_dir().join(format!("devsim-main-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("powerbox.json");
        std::fs::write(&good, devsim::netio::default_config_json(4)).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(
            &bad,
            r#"{"config":{"subscribe":[{"topic":"a","target":"X"}]}}"#,
        )
        .unwrap();
        let good = good.display().to_string();
        let bad = bad.display().to_string();
        assert_eq!(
            names(&format!("--broker 127.0.0.1:1 --netio-config {good}")),
            ["powerbox"]
        );
        let (_, models) = parse(args(&format!(
            "--broker 127.0.0.1:1 --netio-config {good}:box7 --netio-delay 100"
        )))
        .unwrap();
        assert_eq!(models[0].name(), "box7");
        assert_eq!(models[0].client_id(), "netio_box7");
        assert_eq!(models[0].subscriptions()[3], "netio/box7/output/4/action");
        let e = error(&format!("--broker 127.0.0.1:1 --netio-config {bad}"));
        assert!(e.contains("unknown target \"X\""), "{e}");
        let e = error("--broker 127.0.0.1:1 --netio-config /nonexistent/x.json");
        assert!(e.starts_with("cannot read /nonexistent/x.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
