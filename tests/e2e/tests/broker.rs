//! The session engine over TCP against a real mosquitto, started on free
//! 127.0.0.1 ports per test: QoS 1/2 both ways, persistent sessions, a
//! broker restarted mid-stream, a refused login, the last will.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::{target_dir, BrokerConfig, Mosquitto};
use mqtt_client::{
    Backoff, Client, ConnectOptions, ConnectionError, Event, LastWill, Protocol, Publish, QoS,
    ReasonCode, SubscribeFilter,
};

const WAIT: Duration = Duration::from_secs(30);

fn dir(test: &str) -> PathBuf {
    let dir = target_dir().join("broker-tests").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// One engine driven over a non-blocking TCP socket, reconnecting when the
/// engine asks. Everything it reports is kept in `events`.
struct Conn {
    client: Client,
    addr: SocketAddr,
    stream: Option<TcpStream>,
    events: Vec<Event>,
    start: Instant,
}

impl Conn {
    fn new(addr: SocketAddr, options: ConnectOptions) -> Self {
        let mut conn = Self {
            client: Client::new(options),
            addr,
            stream: None,
            events: Vec::new(),
            start: Instant::now(),
        };
        conn.open();
        conn
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn open(&mut self) {
        let now = self.now();
        match TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)) {
            Ok(stream) => {
                stream.set_nonblocking(true).expect("non-blocking");
                stream.set_nodelay(true).expect("nodelay");
                self.stream = Some(stream);
                self.client.connect(now);
            }
            Err(_) => self.client.handle_transport_closed(now),
        }
    }

    /// Drops the socket without DISCONNECT, as a crash would.
    fn crash(&mut self) {
        self.stream = None;
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        if !self.client.poll_transmit(&mut out) {
            return;
        }
        let Some(stream) = &mut self.stream else {
            return;
        };
        let _ = stream.set_nonblocking(false);
        let written = stream.write_all(&out);
        let _ = stream.set_nonblocking(true);
        if written.is_err() {
            self.stream = None;
            let now = self.now();
            self.client.handle_transport_closed(now);
        }
    }

    /// One round: send, receive, timers, events. True if anything happened.
    fn step(&mut self) -> bool {
        self.flush();
        let mut progress = false;
        let mut buf = [0u8; 64 * 1024];
        if let Some(stream) = &mut self.stream {
            match stream.read(&mut buf) {
                Ok(0) => {
                    self.stream = None;
                    let now = self.now();
                    self.client.handle_transport_closed(now);
                }
                Ok(n) => {
                    let now = self.now();
                    self.client.handle_bytes(now, &buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.stream = None;
                    let now = self.now();
                    self.client.handle_transport_closed(now);
                }
            }
        }
        let now = self.now();
        self.client.handle_timeout(now);
        while let Some(event) = self.client.poll_event() {
            progress = true;
            match &event {
                Event::Reconnect => self.open(),
                Event::Disconnected(_) => {
                    self.flush();
                    self.stream = None;
                }
                _ => {}
            }
            self.events.push(event);
        }
        self.flush();
        progress
    }

    fn messages(&self) -> impl Iterator<Item = &Publish> {
        self.events.iter().filter_map(|e| match e {
            Event::Message(p) => Some(p),
            _ => None,
        })
    }

    fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>, qos: QoS) -> Option<u16> {
        let mut p = Publish::new(topic, payload.into());
        p.qos = qos;
        let now = self.now();
        self.client.publish(now, p).expect("publish accepted")
    }

    fn subscribe(&mut self, filter: &str, qos: QoS) -> u16 {
        let now = self.now();
        self.client
            .subscribe(now, vec![SubscribeFilter::new(filter, qos)])
            .expect("connected")
    }
}

/// Drives all connections until `done` holds, at most `WAIT`.
fn drive(conns: &mut [&mut Conn], what: &str, mut done: impl FnMut(&[&mut Conn]) -> bool) {
    let start = Instant::now();
    while !done(conns) {
        assert!(
            start.elapsed() < WAIT,
            "timed out after {WAIT:?} waiting for {what}"
        );
        let mut progress = false;
        for conn in conns.iter_mut() {
            progress |= conn.step();
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn options(client_id: &str, protocol: Protocol) -> ConnectOptions {
    let mut o = ConnectOptions::new(client_id);
    o.protocol = protocol;
    o.reconnect = Some(Backoff {
        initial_ms: 100,
        max_ms: 500,
        stable_ms: 5_000,
    });
    o
}

fn connected(conn: &mut Conn) {
    drive(&mut [conn], "CONNACK", |c| {
        c[0].count(|e| matches!(e, Event::Connected { .. })) > 0
    });
}

fn subscribed(conn: &mut Conn, filter: &str, qos: QoS) {
    let id = conn.subscribe(filter, qos);
    drive(&mut [conn], "SUBACK", |c| {
        c[0].count(|e| matches!(e, Event::Subscribed { packet_id, .. } if *packet_id == id)) > 0
    });
}

fn qos_both_ways(protocol: Protocol, test: &str) {
    let broker = Mosquitto::start(&dir(test)).unwrap();
    let mut sub = Conn::new(broker.tcp_addr(), options(&format!("{test}-sub"), protocol));
    let mut publisher = Conn::new(broker.tcp_addr(), options(&format!("{test}-pub"), protocol));
    connected(&mut sub);
    connected(&mut publisher);
    subscribed(&mut sub, "it/qos/#", QoS::ExactlyOnce);
    let n = 40;
    for i in 0..n {
        let qos = [QoS::AtLeastOnce, QoS::ExactlyOnce][i % 2];
        publisher.publish("it/qos/x", i.to_string(), qos);
    }
    drive(
        &mut [&mut sub, &mut publisher],
        "all messages and acks",
        |c| {
            c[0].messages().count() >= n
                && c[1].count(|e| matches!(e, Event::Published { .. })) == n
        },
    );
    // Order is kept per QoS; brokers may interleave QoS 1 and 2 flows.
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let got: Vec<String> = sub
            .messages()
            .filter(|p| p.qos == qos)
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
            .collect();
        let expected: Vec<String> = (0..n)
            .filter(|i| [QoS::AtLeastOnce, QoS::ExactlyOnce][i % 2] == qos)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(got, expected, "each {qos:?} message once, in order");
    }
}

#[test]
fn qos1_and_qos2_both_ways_v311() {
    qos_both_ways(Protocol::V311, "qos-v311");
}

#[test]
fn qos1_and_qos2_both_ways_v5() {
    qos_both_ways(Protocol::V5, "qos-v5");
}

fn offline_messages(protocol: Protocol, test: &str) {
    let broker = Mosquitto::start(&dir(test)).unwrap();
    let mut persistent = options(&format!("{test}-sub"), protocol);
    persistent.clean_start = false;
    persistent.session_expiry_secs = (protocol == Protocol::V5).then_some(300);
    let mut sub = Conn::new(broker.tcp_addr(), persistent);
    connected(&mut sub);
    subscribed(&mut sub, "it/offline", QoS::AtLeastOnce);
    let now = sub.now();
    sub.client.disconnect(now);
    drive(&mut [&mut sub], "the disconnect", |c| {
        c[0].count(|e| matches!(e, Event::Disconnected(ConnectionError::LocallyClosed))) > 0
    });

    let mut publisher = Conn::new(broker.tcp_addr(), options(&format!("{test}-pub"), protocol));
    connected(&mut publisher);
    for i in 0..5 {
        publisher.publish("it/offline", format!("m{i}"), QoS::AtLeastOnce);
    }
    drive(&mut [&mut publisher], "PUBACKs", |c| {
        c[0].count(|e| matches!(e, Event::Published { .. })) == 5
    });

    sub.events.clear();
    sub.open();
    drive(&mut [&mut sub], "the queued messages", |c| {
        c[0].messages().count() >= 5
    });
    assert_eq!(
        sub.events[0],
        Event::Connected {
            session_present: true
        }
    );
    let got: Vec<_> = sub
        .messages()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect();
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
}

#[test]
fn persistent_session_receives_what_was_published_while_offline_v311() {
    offline_messages(Protocol::V311, "offline-v311");
}

#[test]
fn persistent_session_receives_what_was_published_while_offline_v5() {
    offline_messages(Protocol::V5, "offline-v5");
}

fn restart_mid_stream(protocol: Protocol, test: &str) {
    let config = BrokerConfig {
        persistence: true,
        ..BrokerConfig::default()
    };
    let mut broker = Mosquitto::start_with(&dir(test), config).unwrap();
    let persistent = |id: &str| {
        let mut o = options(id, protocol);
        o.clean_start = false;
        o.session_expiry_secs = (protocol == Protocol::V5).then_some(300);
        o
    };
    let mut sub = Conn::new(broker.tcp_addr(), persistent(&format!("{test}-sub")));
    let mut publisher = Conn::new(broker.tcp_addr(), persistent(&format!("{test}-pub")));
    connected(&mut sub);
    connected(&mut publisher);
    subscribed(&mut sub, "it/stream", QoS::ExactlyOnce);

    let n = 300;
    let qos_of = |i: usize| [QoS::AtLeastOnce, QoS::ExactlyOnce][i % 2];
    let mut sent = 0;
    let mut restarted = false;
    let start = Instant::now();
    loop {
        // Publish steadily, a few per round, whatever the connection state:
        // QoS 1/2 publishes made while disconnected are queued.
        for _ in 0..3 {
            if sent < n {
                publisher.publish("it/stream", sent.to_string(), qos_of(sent));
                sent += 1;
            }
        }
        if sent >= n / 3 && !restarted {
            broker.restart().unwrap();
            restarted = true;
        }
        sub.step();
        publisher.step();
        let acked = publisher.count(|e| matches!(e, Event::Published { .. }));
        let distinct: std::collections::BTreeSet<_> =
            sub.messages().map(|p| p.payload.clone()).collect();
        if sent == n && acked == n && distinct.len() == n {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out: sent {sent}, acked {acked}, received {} distinct (missing {:?}); subscriber: {:?}; publisher: {:?}",
            distinct.len(),
            (0..n).filter(|i| !distinct.contains(i.to_string().as_bytes())).collect::<Vec<_>>(),
            sub.events.iter().filter(|e| !matches!(e, Event::Message(_))).collect::<Vec<_>>(),
            publisher.events.iter().filter(|e| !matches!(e, Event::Published { .. })).collect::<Vec<_>>(),
        );
        std::thread::sleep(Duration::from_micros(300));
    }
    let reconnects =
        publisher.count(|e| *e == Event::Reconnect) + sub.count(|e| *e == Event::Reconnect);
    assert!(reconnects >= 2, "both clients reconnected");
    assert!(
        sub.events.iter().any(|e| *e
            == Event::Connected {
                session_present: true
            }),
        "the subscriber's session survived the restart"
    );
    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    for p in sub.messages() {
        let i: usize = String::from_utf8_lossy(&p.payload).parse().unwrap();
        *seen.entry(i).or_default() += 1;
    }
    for i in 0..n {
        let copies = seen.get(&i).copied().unwrap_or(0);
        assert!(copies >= 1, "message {i} lost");
        if qos_of(i) == QoS::ExactlyOnce {
            assert_eq!(copies, 1, "QoS 2 message {i} delivered {copies} times");
        }
    }
    let failed = publisher.count(|e| matches!(e, Event::PublishFailed { .. }));
    assert_eq!(failed, 0);
}

#[test]
fn broker_restart_mid_stream_loses_nothing_and_duplicates_no_qos2_v311() {
    restart_mid_stream(Protocol::V311, "restart-v311");
}

#[test]
fn broker_restart_mid_stream_loses_nothing_and_duplicates_no_qos2_v5() {
    restart_mid_stream(Protocol::V5, "restart-v5");
}

fn bad_password(protocol: Protocol, test: &str) -> ConnectionError {
    let config = BrokerConfig {
        users: vec![("plug".into(), "right".into())],
        ..BrokerConfig::default()
    };
    let broker = Mosquitto::start_with(&dir(test), config).unwrap();
    let mut good = options(&format!("{test}-good"), protocol);
    good.username = Some("plug".into());
    good.password = Some("right".into());
    let mut ok = Conn::new(broker.tcp_addr(), good);
    connected(&mut ok);
    assert_eq!(
        ok.events[0],
        Event::Connected {
            session_present: false
        }
    );

    let mut bad = options(&format!("{test}-bad"), protocol);
    bad.username = Some("plug".into());
    bad.password = Some("wrong".into());
    let mut refused = Conn::new(broker.tcp_addr(), bad);
    drive(&mut [&mut refused], "the refusal", |c| {
        !c[0].events.is_empty()
    });
    let Event::Disconnected(err) = refused.events[0].clone() else {
        panic!("{:?}", refused.events)
    };
    // Not retried: the engine stops after a refusal.
    assert_eq!(refused.client.poll_timeout(), None);
    err
}

#[test]
fn bad_password_is_refused_with_code_5_in_v311() {
    // MQTT 3.1.1 return code 5 "not authorized" arrives as reason 0x87.
    let err = bad_password(Protocol::V311, "auth-v311");
    assert!(
        matches!(err, ConnectionError::Refused { reason, .. } if reason == ReasonCode::NOT_AUTHORIZED),
        "{err:?}"
    );
}

#[test]
fn bad_password_is_refused_with_reason_135_in_v5() {
    let err = bad_password(Protocol::V5, "auth-v5");
    assert!(
        matches!(err, ConnectionError::Refused { reason, .. } if reason.0 == 135),
        "{err:?}"
    );
}

#[test]
fn last_will_on_abrupt_close_and_not_on_clean_disconnect() {
    let broker = Mosquitto::start(&dir("will")).unwrap();
    let mut watcher = Conn::new(broker.tcp_addr(), options("it-will-watcher", Protocol::V5));
    connected(&mut watcher);
    subscribed(&mut watcher, "it/will/#", QoS::AtLeastOnce);

    let with_will = |id: &str, topic: &str| {
        let mut o = options(id, Protocol::V311);
        o.reconnect = None;
        o.will = Some(LastWill::new(topic, "gone", false));
        o
    };
    let mut crasher = Conn::new(broker.tcp_addr(), with_will("it-will-a", "it/will/a"));
    let mut polite = Conn::new(broker.tcp_addr(), with_will("it-will-b", "it/will/b"));
    connected(&mut crasher);
    connected(&mut polite);

    crasher.crash();
    drive(&mut [&mut watcher], "the will of the crashed client", |c| {
        c[0].messages().any(|p| p.topic == "it/will/a")
    });

    let now = polite.now();
    polite.client.disconnect(now);
    polite.step();
    drop(polite);
    // Anything published after the clean disconnect arrives after its will
    // would have: a marker bounds the wait.
    watcher.publish("it/will/marker", "m", QoS::AtLeastOnce);
    drive(&mut [&mut watcher], "the marker", |c| {
        c[0].messages().any(|p| p.topic == "it/will/marker")
    });
    assert!(
        !watcher.messages().any(|p| p.topic == "it/will/b"),
        "no will after a clean DISCONNECT"
    );
}
