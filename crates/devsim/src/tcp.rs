//! Runs any number of [`DeviceModel`]s against one broker over TCP, on the
//! calling thread: one MQTT connection (one `mqtt_client::Client`, its own
//! last will) per device, but no thread per device.
//!
//! The loop ([`Fleet::run`]) reads every open socket without blocking
//! (std's `set_nonblocking`), feeds the bytes to the device's engine,
//! handles its events and the model's answers, writes what the engine wants
//! sent (keeping what the socket would not take for the next round), acts
//! on the deadlines of engines and models that have passed, then sleeps:
//! not at all if anything moved, else until the earliest deadline but at
//! most [`Fleet::IDLE_MS`] while a socket is open. Opening a TCP connection
//! is the one call std offers only blocking, so a few connector threads do
//! that and hand the sockets over.
//!
//! Each engine reconnects on its own schedule (exponential backoff with
//! jitter) and carries its session across connections. A system call
//! interrupted by a signal (`EINTR`, e.g. after SIGSTOP/SIGCONT) is
//! retried, never taken for a lost connection. A refused login (bad user
//! name or password, not authorized) stops that device for good; other
//! refusals that can pass (server unavailable, busy, quota, rate) are
//! retried.
//!
//! Retained messages: with `no_retain` no device publishes anything
//! retained, nor registers a retained will. Over MQTT 5 the broker says
//! whether it keeps retained messages (CONNACK Retain Available): if not,
//! the engine refuses retained publishes and the device sends them
//! unretained from then on; a broker that refuses the retained will itself
//! (CONNACK 0x9A "retain not supported", as mosquitto does) gets a new
//! connection without it. Over MQTT 3.1.1 a broker cannot say so, and
//! `no_retain` is the user's switch.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mqtt_client::{
    Backoff, Bytes, Client, ConnectOptions, ConnectionError, Event, Protocol, Publish,
    PublishError, QoS, ReasonCode, SessionState, SubscribeFilter,
};

use crate::DeviceModel;

/// A device model the driver can own.
pub type Model = Box<dyn DeviceModel + Send>;

/// How every device connects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The broker's TCP address.
    pub broker: SocketAddr,
    /// MQTT 3.1.1 (default) or 5.
    pub protocol: Protocol,
    /// User name for every device (else a device's own, if it has one).
    pub username: Option<String>,
    /// Password, with `username`.
    pub password: Option<String>,
    /// Publish nothing retained, and register no retained will.
    pub no_retain: bool,
    /// Keep-alive in seconds. Default 30.
    pub keep_alive_secs: u16,
}

impl Options {
    /// MQTT 3.1.1 to `broker`, no credentials, retained messages allowed.
    pub fn new(broker: SocketAddr) -> Self {
        Self {
            broker,
            protocol: Protocol::V311,
            username: None,
            password: None,
            no_retain: false,
            keep_alive_secs: 30,
        }
    }
}

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
    /// The connection ended, or could not be opened; the engine will
    /// reconnect.
    Lost(String),
    /// The device stopped for good: why (e.g. `login refused (not
    /// authorized)`).
    GaveUp(String),
    /// Something worth knowing that changes nothing for the device's life
    /// (e.g. the broker keeps no retained messages).
    Notice(String),
}

/// Bytes waiting for a socket beyond which a device skips its telemetry
/// (the broker is not reading fast enough).
const BACKLOG_LIMIT: usize = 1 << 20;
/// Reads per socket per round, so one busy device cannot starve the rest.
const READS_PER_ROUND: usize = 4;
/// How long a connector thread waits for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connector threads at most.
const CONNECTORS: usize = 4;

/// Where a device's transport stands.
#[derive(Debug)]
enum Link {
    /// Never connected yet.
    New,
    /// No socket: waiting for the engine to ask for a reconnect.
    Idle,
    /// A connector thread is opening one.
    Opening,
    /// Open, non-blocking.
    Open(TcpStream),
}

struct Device {
    model: Model,
    name: String,
    client: Client,
    link: Link,
    /// Whether it may still publish retained messages.
    retain: bool,
    /// Bytes the socket has not taken yet.
    backlog: Vec<u8>,
    /// Subscribed and announced: its model's deadlines count.
    live: bool,
    /// Why the socket failed, to report instead of "connection closed".
    io_error: Option<String>,
    gave_up: bool,
}

/// Opens TCP connections on a few threads, so the loop never blocks.
struct Connector {
    jobs: Option<Sender<usize>>,
    results: Receiver<(usize, io::Result<TcpStream>)>,
}

impl Connector {
    fn new(addr: SocketAddr, threads: usize) -> Self {
        let (jobs, job_rx) = mpsc::channel::<usize>();
        let (result_tx, results) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..threads.clamp(1, CONNECTORS) {
            let job_rx = Arc::clone(&job_rx);
            let result_tx = result_tx.clone();
            thread::spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(index) = job else { return };
                let stream = loop {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                if result_tx.send((index, stream)).is_err() {
                    return;
                }
            });
        }
        Self {
            jobs: Some(jobs),
            results,
        }
    }

    fn open(&self, index: usize) {
        if let Some(jobs) = &self.jobs {
            // The threads live as long as the receiver; cannot fail before.
            let _ = jobs.send(index);
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        // Closing the job queue ends the threads.
        self.jobs.take();
    }
}

/// Many devices on one broker, driven from one thread.
pub struct Fleet {
    options: Options,
    devices: Vec<Device>,
    connector: Option<Connector>,
    start: Instant,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("options", &self.options)
            .field("devices", &self.devices.len())
            .finish()
    }
}

impl Fleet {
    /// Longest sleep between two rounds while a socket is open, in ms: how
    /// late a message may be noticed.
    pub const IDLE_MS: u64 = 2;

    /// No devices yet.
    pub fn new(options: Options) -> Self {
        Self {
            options,
            devices: Vec::new(),
            connector: None,
            start: Instant::now(),
            buf: vec![0; 64 * 1024],
        }
    }

    /// Adds a device; it connects when the fleet runs.
    pub fn add(&mut self, model: Model) {
        let index = self.devices.len();
        let retain = !self.options.no_retain;
        let client = Client::new(self.connect_options(model.as_ref(), index, retain));
        self.devices.push(Device {
            name: model.name(),
            model,
            client,
            link: Link::New,
            retain,
            backlog: Vec::new(),
            live: false,
            io_error: None,
            gave_up: false,
        });
    }

    /// How many devices it has.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Runs until every device has given up (a refused login); reports
    /// each event with the device's name.
    pub fn run(&mut self, report: &mut dyn FnMut(&str, Report<'_>)) {
        self.run_until(report, &mut || false);
    }

    /// As [`Fleet::run`], but also returns once `stop` says so (asked
    /// after every round).
    pub fn run_until(
        &mut self,
        report: &mut dyn FnMut(&str, Report<'_>),
        stop: &mut dyn FnMut() -> bool,
    ) {
        while !self.devices.iter().all(|d| d.gave_up) && !stop() {
            let sleep = self.round(report);
            if sleep > 0 {
                // std retries the sleep after a signal by itself.
                thread::sleep(Duration::from_millis(sleep));
            }
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn connect_options(
        &self,
        model: &dyn DeviceModel,
        index: usize,
        retain: bool,
    ) -> ConnectOptions {
        let mut options = ConnectOptions::new(model.client_id());
        options.protocol = self.options.protocol;
        options.keep_alive_secs = self.options.keep_alive_secs;
        let (username, password) = match (&self.options.username, model.credentials()) {
            (Some(user), _) => (Some(user.clone()), self.options.password.clone()),
            (None, Some((user, password))) => (Some(user), Some(password)),
            (None, None) => (None, None),
        };
        options.username = username;
        options.password = password.map(Bytes::from);
        options.will = model.will().map(|mut will| {
            will.retain &= retain;
            will
        });
        options.reconnect = Some(Backoff {
            initial_ms: 200,
            max_ms: 2_000,
            stable_ms: 5_000,
        });
        options.jitter_seed = u64::from(std::process::id())
            ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ self.start.elapsed().as_nanos() as u64;
        options
    }

    /// One round over every device; how long to sleep before the next.
    fn round(&mut self, report: &mut dyn FnMut(&str, Report<'_>)) -> u64 {
        let (broker, count) = (self.options.broker, self.devices.len());
        let connector = self
            .connector
            .get_or_insert_with(|| Connector::new(broker, count));
        // Devices that have never connected start now.
        for (index, d) in self.devices.iter_mut().enumerate() {
            if matches!(d.link, Link::New) {
                d.link = Link::Opening;
                connector.open(index);
            }
        }
        let mut busy = false;
        let opened: Vec<_> = connector.results.try_iter().collect();
        let now = self.now();
        for (index, result) in opened {
            busy = true;
            self.opened(index, result, now, report);
        }
        let mut next: Option<u64> = None;
        let mut waiting = false;
        for index in 0..self.devices.len() {
            let now = self.now();
            busy |= self.service(index, now, report);
            let d = &self.devices[index];
            if d.gave_up {
                continue;
            }
            waiting |= matches!(d.link, Link::Opening | Link::Open(_));
            next = crate::earliest(next, d.client.poll_timeout());
            if d.live {
                next = crate::earliest(next, d.model.poll_timeout());
            }
        }
        if busy {
            return 0;
        }
        let cap = if waiting { Self::IDLE_MS } else { 1_000 };
        next.map_or(cap, |at| at.saturating_sub(self.now()).min(cap))
    }

    /// A connector thread is done with device `index`.
    fn opened(
        &mut self,
        index: usize,
        result: io::Result<TcpStream>,
        now: u64,
        report: &mut dyn FnMut(&str, Report<'_>),
    ) {
        let d = &mut self.devices[index];
        let stream = result.and_then(|s| {
            s.set_nonblocking(true)?;
            s.set_nodelay(true)?;
            Ok(s)
        });
        match stream {
            Ok(stream) => {
                d.backlog.clear();
                d.io_error = None;
                d.link = Link::Open(stream);
                d.client.connect(now);
            }
            Err(err) => {
                d.link = Link::Idle;
                report(&d.name, Report::Lost(format!("cannot connect: {err}")));
                d.client.handle_transport_closed(now);
            }
        }
    }

    /// Reads, handles deadlines and events, writes: one device, one round.
    /// Whether anything happened.
    fn service(
        &mut self,
        index: usize,
        now: u64,
        report: &mut dyn FnMut(&str, Report<'_>),
    ) -> bool {
        let mut busy = false;
        let d = &mut self.devices[index];
        if d.gave_up {
            return false;
        }
        if let Link::Open(stream) = &mut d.link {
            let mut reads = 0;
            while reads < READS_PER_ROUND {
                match stream.read(&mut self.buf) {
                    Ok(0) => {
                        if d.client.state() == SessionState::Connecting {
                            d.io_error = Some(closed_before_connack(d));
                        }
                        d.client.handle_transport_closed(now);
                        busy = true;
                        break;
                    }
                    Ok(n) => {
                        d.client.handle_bytes(now, &self.buf[..n]);
                        busy = true;
                        reads += 1;
                        if n < self.buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        d.io_error = Some(format!("socket: {e}"));
                        d.client.handle_transport_closed(now);
                        busy = true;
                        break;
                    }
                }
            }
        }
        if d.client.poll_timeout().is_some_and(|at| now >= at) {
            d.client.handle_timeout(now);
        }
        if d.live
            && d.backlog.len() < BACKLOG_LIMIT
            && d.model.poll_timeout().is_some_and(|at| now >= at)
        {
            for publish in d.model.handle_timeout(now) {
                publish_as(d, now, publish, report);
            }
        }
        while let Some(event) = self.devices[index].client.poll_event() {
            busy = true;
            self.event(index, now, event, report);
        }
        let d = &mut self.devices[index];
        d.client.poll_transmit(&mut d.backlog);
        busy |= flush(d, now);
        busy
    }

    fn event(
        &mut self,
        index: usize,
        now: u64,
        event: Event,
        report: &mut dyn FnMut(&str, Report<'_>),
    ) {
        let d = &mut self.devices[index];
        match event {
            Event::Connected { .. } => {
                let filters = d.model.subscriptions();
                if filters.is_empty() {
                    // Nothing to subscribe to (a NETIO config without
                    // subscribe entries): live at once.
                    go_live(d, now, report);
                } else if d.client.subscriptions().is_empty() && !d.client.subscribing() {
                    // Once per engine: on later sessions the engine renews
                    // the subscriptions itself.
                    let filters = filters
                        .into_iter()
                        .map(|f| SubscribeFilter::new(f, QoS::AtMostOnce))
                        .collect();
                    if let Err(err) = d.client.subscribe(now, filters) {
                        give_up(d, now, format!("cannot subscribe: {err}"), report);
                    }
                }
            }
            Event::Subscribed {
                filters, results, ..
            } => {
                for (filter, result) in filters.iter().zip(&results) {
                    if !result.is_success() {
                        report(
                            &d.name,
                            Report::Notice(format!(
                                "broker refused the subscription to {filter}: {result}"
                            )),
                        );
                    }
                }
                go_live(d, now, report);
            }
            Event::Message(publish) => {
                report(
                    &d.name,
                    Report::Received {
                        topic: &publish.topic,
                        payload: &publish.payload,
                    },
                );
                for answer in d
                    .model
                    .handle_message(now, &publish.topic, &publish.payload)
                {
                    publish_as(d, now, answer, report);
                }
            }
            Event::Disconnected(err) => {
                d.live = false;
                let io_error = d.io_error.take();
                // Last words (a DISCONNECT with a reason), if the socket
                // still takes them.
                d.client.poll_transmit(&mut d.backlog);
                flush(d, now);
                d.io_error = None;
                d.backlog.clear();
                d.link = Link::Idle;
                self.disconnected(index, now, err, io_error, report);
            }
            Event::Reconnect if !d.gave_up => {
                d.link = Link::Opening;
                if let Some(c) = &self.connector {
                    c.open(index);
                }
            }
            _ => {}
        }
    }

    fn disconnected(
        &mut self,
        index: usize,
        now: u64,
        err: ConnectionError,
        io_error: Option<String>,
        report: &mut dyn FnMut(&str, Report<'_>),
    ) {
        let d = &mut self.devices[index];
        if let ConnectionError::Refused { reason, .. } = &err {
            match *reason {
                ReasonCode::BAD_USER_NAME_OR_PASSWORD | ReasonCode::NOT_AUTHORIZED => {
                    let why = format!("login refused ({})", reason.description());
                    return give_up(d, now, why, report);
                }
                ReasonCode::RETAIN_NOT_SUPPORTED if d.retain => {
                    report(
                        &d.name,
                        Report::Notice(
                            "broker refused the retained will (retain not supported); \
                             publishing nothing retained from now on"
                                .into(),
                        ),
                    );
                    d.retain = false;
                    let options =
                        self.connect_options(self.devices[index].model.as_ref(), index, false);
                    let d = &mut self.devices[index];
                    d.client = Client::new(options);
                    d.link = Link::Opening;
                    if let Some(c) = &self.connector {
                        c.open(index);
                    }
                    return;
                }
                ReasonCode::SERVER_UNAVAILABLE
                | ReasonCode::SERVER_BUSY
                | ReasonCode::QUOTA_EXCEEDED
                | ReasonCode::CONNECTION_RATE_EXCEEDED
                | ReasonCode::UNSPECIFIED_ERROR
                | ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR => {
                    d.client.resume_reconnecting(now);
                }
                _ => {}
            }
        }
        if d.client.reconnect_at().is_none() {
            return give_up(d, now, err.to_string(), report);
        }
        report(
            &d.name,
            Report::Lost(io_error.unwrap_or_else(|| err.to_string())),
        );
    }
}

/// Why a broker may close a connection without answering CONNECT.
fn closed_before_connack(d: &Device) -> String {
    let retained_will = d.client.options().will.as_ref().is_some_and(|w| w.retain);
    if retained_will && d.client.options().protocol == Protocol::V311 {
        "broker closed the connection without answering CONNECT (a broker that keeps no \
         retained messages does that to a retained will: try --no-retain)"
            .into()
    } else {
        "broker closed the connection without answering CONNECT".into()
    }
}

/// Subscribed (or nothing to subscribe to): announce, and count deadlines.
fn go_live(d: &mut Device, now: u64, report: &mut dyn FnMut(&str, Report<'_>)) {
    for publish in d.model.on_connected(now) {
        publish_as(d, now, publish, report);
    }
    d.live = true;
    report(&d.name, Report::Ready);
}

fn give_up(d: &mut Device, now: u64, why: String, report: &mut dyn FnMut(&str, Report<'_>)) {
    d.gave_up = true;
    d.live = false;
    if d.client.state() != SessionState::Disconnected {
        d.client.disconnect(now);
        d.client.poll_transmit(&mut d.backlog);
        flush(d, now);
    }
    while d.client.poll_event().is_some() {}
    d.link = Link::Idle;
    d.backlog.clear();
    report(&d.name, Report::GaveUp(why));
}

/// Publishes for the device, unretained if it may not retain. QoS 0
/// messages while disconnected are dropped, as a device's would be.
fn publish_as(
    d: &mut Device,
    now: u64,
    mut publish: Publish,
    report: &mut dyn FnMut(&str, Report<'_>),
) {
    if !d.retain {
        publish.retain = false;
    }
    if !publish.retain {
        let _ = d.client.publish(now, publish);
        return;
    }
    if let Err(PublishError::RetainNotSupported) = d.client.publish(now, publish.clone()) {
        // MQTT 5 CONNACK: Retain Available 0.
        d.retain = false;
        report(
            &d.name,
            Report::Notice("broker keeps no retained messages; publishing nothing retained".into()),
        );
        publish.retain = false;
        let _ = d.client.publish(now, publish);
    }
}

/// Writes as much of the backlog as the socket takes; whether it wrote.
fn flush(d: &mut Device, now: u64) -> bool {
    let Link::Open(stream) = &mut d.link else {
        return false;
    };
    let mut written = 0;
    let mut failed = None;
    while written < d.backlog.len() {
        match stream.write(&d.backlog[written..]) {
            Ok(0) => {
                failed = Some("socket: connection closed while writing".to_owned());
                break;
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                failed = Some(format!("socket: {e}"));
                break;
            }
        }
    }
    d.backlog.drain(..written);
    if let Some(why) = failed {
        // Reported when the engine's Disconnected comes out, next round.
        d.io_error = Some(why);
        d.backlog.clear();
        d.link = Link::Idle;
        d.client.handle_transport_closed(now);
    }
    written > 0
}
