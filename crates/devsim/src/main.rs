//! `devsim`: simulated devices on a real broker.
//!
//! ```text
//! devsim --broker 127.0.0.1:1883 --tasmota plug1 --tasmota strip:4 --shelly shellyplug-s-1
//! ```
//!
//! Each device gets its own MQTT connection (its own last will) on its own
//! thread, and reconnects with backoff if the broker goes away. Prints one line per event
//! on stdout: `ready <device>` once connected and subscribed, and
//! `recv <device> <topic> <payload>` for each message a device receives.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::thread;

use devsim::shelly::ShellyGen1;
use devsim::tasmota::TasmotaPlug;
use devsim::tcp::{self, Report};
use devsim::zigbee2mqtt::Zigbee2MqttPlug;
use devsim::DeviceModel;

const USAGE: &str =
    "usage: devsim --broker HOST:PORT [--tasmota TOPIC[:RELAYS]]... [--shelly ID[:RELAYS]]... [--z2m NAME]...";

/// A device model that can run on its own thread.
type Model = Box<dyn DeviceModel + Send>;

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

/// `NAME` or `NAME:RELAYS`, with a name usable as a topic level.
fn name_and_relays(v: &str) -> Result<(&str, usize), String> {
    let (name, relays) = match v.split_once(':') {
        Some((t, n)) => (
            t,
            n.parse().map_err(|_| format!("bad relay count in {v:?}"))?,
        ),
        None => (v, 1),
    };
    if name.is_empty() || name.contains(['/', '+', '#']) {
        return Err(format!("bad device name {name:?}"));
    }
    Ok((name, relays))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Vec<Model>), String> {
    let mut broker = None;
    let mut devices: Vec<Model> = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => {
                let v = value()?;
                broker = Some(v.parse().map_err(|_| format!("bad broker address {v:?}"))?);
            }
            "--tasmota" => {
                let v = value()?;
                let (topic, relays) = name_and_relays(&v)?;
                devices.push(Box::new(TasmotaPlug::new(topic, relays)));
            }
            "--z2m" => {
                let v = value()?;
                let (name, _) = name_and_relays(&v)?;
                devices.push(Box::new(Zigbee2MqttPlug::new(name)));
            }
            "--shelly" => {
                let v = value()?;
                let (id, relays) = name_and_relays(&v)?;
                devices.push(Box::new(ShellyGen1::new(id, relays)));
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

fn run_forever(broker: SocketAddr, mut device: Model) {
    let name = device.name();
    tcp::run(broker, device.as_mut(), &mut |report| match report {
        Report::Ready => println!("ready {name}"),
        Report::Received { topic, payload } => {
            println!("recv {name} {topic} {}", String::from_utf8_lossy(payload))
        }
        Report::Lost(why) => eprintln!("devsim: {name}: {why}; reconnecting"),
    })
}
