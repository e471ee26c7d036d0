//! `devsim`: simulated devices on a real broker.
//!
//! ```text
//! devsim --broker 127.0.0.1:1883 --tasmota plug1 --tasmota strip:4
//! ```
//!
//! Each device gets its own MQTT connection (its own last will) on its own
//! thread, and reconnects with backoff if the broker goes away. Prints one line per event
//! on stdout: `ready <device>` once connected and subscribed, and
//! `recv <device> <topic> <payload>` for each message a device receives.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::thread;

use devsim::tasmota::TasmotaPlug;
use devsim::tcp::{self, Report};
use devsim::DeviceModel;

const USAGE: &str = "usage: devsim --broker HOST:PORT --tasmota TOPIC[:RELAYS]...";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok((broker, devices)) => {
            let threads: Vec<_> = devices
                .into_iter()
                .map(|device| thread::spawn(move || run_forever(broker, device)))
                .collect();
            for thread in threads {
                let _ = thread.join();
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("devsim: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Vec<TasmotaPlug>), String> {
    let mut broker = None;
    let mut devices = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => {
                let v = value()?;
                broker = Some(v.parse().map_err(|_| format!("bad broker address {v:?}"))?);
            }
            "--tasmota" => {
                let v = value()?;
                let (topic, relays) = match v.split_once(':') {
                    Some((t, n)) => (
                        t,
                        n.parse().map_err(|_| format!("bad relay count in {v:?}"))?,
                    ),
                    None => (v.as_str(), 1),
                };
                if topic.is_empty() || topic.contains(['/', '+', '#']) {
                    return Err(format!("bad Tasmota topic {topic:?}"));
                }
                devices.push(TasmotaPlug::new(topic, relays));
            }
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let broker = broker.ok_or("--broker is required")?;
    if devices.is_empty() {
        return Err("no devices given".into());
    }
    Ok((broker, devices))
}

fn run_forever(broker: SocketAddr, mut plug: TasmotaPlug) {
    let name = plug.topic().to_owned();
    tcp::run(
        broker,
        &mut plug as &mut dyn DeviceModel,
        &mut |report| match report {
            Report::Ready => println!("ready {name}"),
            Report::Received { topic, payload } => {
                println!("recv {name} {topic} {}", String::from_utf8_lossy(payload))
            }
            Report::Lost(why) => eprintln!("devsim: {name}: {why}; reconnecting"),
        },
    )
}
