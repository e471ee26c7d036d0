//! Drives one [`DeviceModel`] over TCP to a broker, for as long as it runs.
//!
//! One engine for the device's whole life: when the broker goes away the
//! engine's reconnect schedule (exponential backoff with jitter) decides
//! when to try again, and the session, its subscriptions and anything
//! unacknowledged carry over.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mqtt_client::{Backoff, Client, ConnectOptions, Event, QoS, SubscribeFilter};

use crate::DeviceModel;

/// What the driver reports as it goes, for logs and tests.
#[derive(Debug)]
pub enum Report<'a> {
    /// Connected and subscribed: the device is live.
    Ready,
    /// A message arrived for the device.
    Received {
        /// Its topic.
        topic: &'a str,
        /// Its payload.
        payload: &'a [u8],
    },
    /// The connection ended; the engine will reconnect.
    Lost(String),
}

/// Runs `model` against the broker at `addr` forever, reconnecting as the
/// engine schedules. Time is read here, at the edge, and passed in.
pub fn run(addr: SocketAddr, model: &mut dyn DeviceModel, report: &mut dyn FnMut(Report<'_>)) -> ! {
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut options = ConnectOptions::new(model.client_id());
    options.will = model.will();
    options.reconnect = Some(Backoff {
        initial_ms: 200,
        max_ms: 2_000,
        stable_ms: 5_000,
    });
    options.jitter_seed = u64::from(std::process::id()) ^ start.elapsed().as_nanos() as u64;
    let mut client = Client::new(options);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(stream) => {
                client.connect(now());
                if let Err(err) = drive(&mut client, stream, model, report, &now) {
                    report(Report::Lost(format!("socket: {err}")));
                    client.handle_transport_closed(now());
                }
            }
            Err(err) => {
                report(Report::Lost(format!("cannot connect: {err}")));
                client.handle_transport_closed(now());
            }
        }
        wait_for_reconnect(&mut client, &now);
    }
}

/// Sleeps until the engine asks for a new connection.
fn wait_for_reconnect(client: &mut Client, now: &dyn Fn() -> u64) {
    loop {
        while let Some(event) = client.poll_event() {
            if event == Event::Reconnect {
                return;
            }
        }
        let wait = client
            .poll_timeout()
            .map_or(1_000, |at| at.saturating_sub(now()));
        std::thread::sleep(Duration::from_millis(wait.clamp(1, 1_000)));
        client.handle_timeout(now());
    }
}

/// Runs one connection until the session ends.
fn drive(
    client: &mut Client,
    mut stream: TcpStream,
    model: &mut dyn DeviceModel,
    report: &mut dyn FnMut(Report<'_>),
    now: &dyn Fn() -> u64,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(event) = client.poll_event() {
            match event {
                // Once per engine: on later sessions the engine renews the
                // subscriptions itself (or resends an unanswered SUBSCRIBE).
                Event::Connected { .. }
                    if client.subscriptions().is_empty() && !client.subscribing() =>
                {
                    let filters = model
                        .subscriptions()
                        .into_iter()
                        .map(|f| SubscribeFilter::new(f, QoS::AtMostOnce))
                        .collect();
                    // Just connected: cannot fail for want of a connection.
                    let _ = client.subscribe(now(), filters);
                }
                Event::Subscribed { .. } => {
                    for publish in model.on_connected(now()) {
                        let _ = client.publish(now(), publish);
                    }
                    report(Report::Ready);
                }
                Event::Message(publish) => {
                    report(Report::Received {
                        topic: &publish.topic,
                        payload: &publish.payload,
                    });
                    for answer in model.handle_message(now(), &publish.topic, &publish.payload) {
                        let _ = client.publish(now(), answer);
                    }
                }
                Event::Disconnected(err) => {
                    if client.poll_transmit(&mut out) {
                        let _ = stream.write_all(&out);
                    }
                    report(Report::Lost(err.to_string()));
                    return Ok(());
                }
                _ => {}
            }
        }
        if client.poll_transmit(&mut out) {
            stream.write_all(&out)?;
            out.clear();
        }
        let wait = client
            .poll_timeout()
            .map_or(1_000, |deadline| deadline.saturating_sub(now()))
            .clamp(1, 1_000);
        stream.set_read_timeout(Some(Duration::from_millis(wait)))?;
        match stream.read(&mut buf) {
            Ok(0) => client.handle_transport_closed(now()),
            Ok(n) => client.handle_bytes(now(), &buf[..n]),
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(err) => return Err(err),
        }
        client.handle_timeout(now());
    }
}
