//! Drives one [`DeviceModel`] over a TCP connection to a broker.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mqtt_client::{Client, ConnectOptions, ConnectionError, Event, QoS, SubscribeFilter};

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
}

/// Why the session ended.
#[derive(Debug)]
pub enum RunError {
    /// The socket failed.
    Io(io::Error),
    /// The MQTT session ended.
    Mqtt(ConnectionError),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(err) => write!(f, "socket: {err}"),
            Self::Mqtt(err) => write!(f, "mqtt: {err}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<io::Error> for RunError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// Connects `model` to the broker at `addr` and runs it until the
/// connection ends. Time is read here, at the edge, and passed in.
pub fn run(
    addr: SocketAddr,
    model: &mut dyn DeviceModel,
    report: &mut dyn FnMut(Report<'_>),
) -> Result<(), RunError> {
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut options = ConnectOptions::new(model.client_id());
    options.will = model.will();
    let mut client = Client::new(options);
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    client
        .connect(now())
        .map_err(|_| RunError::Mqtt(ConnectionError::LocallyClosed))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(event) = client.poll_event() {
            match event {
                Event::Connected { .. } => {
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
                    return Err(RunError::Mqtt(err));
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
            Err(err) => return Err(err.into()),
        }
        client.handle_timeout(now());
    }
}
