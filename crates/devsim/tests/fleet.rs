//! The fleet driver (`devsim::tcp`) against a small MQTT broker in this
//! process: many devices on one thread, telemetry on time, commands
//! answered, reconnects, refused logins, and retained messages the broker
//! does not want.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use devsim::homeassistant::HomeAssistantPlug;
use devsim::netio::{Netio, NetioConfig};
use devsim::tasmota::TasmotaPlug;
use devsim::tcp::{Fleet, Model, Options, Report};
use devsim::DeviceModel;
use mqtt_codec::{
    matches, ConnAck, Connect, Decoder, Packet, Properties, Protocol, Publish, ReasonCode, SubAck,
};

/// How the broker answers CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Accept,
    Refuse(ReasonCode),
    /// MQTT 5 CONNACK with Retain Available 0.
    NoRetain,
    /// Refuses a retained will with 0x9A, as mosquitto does with
    /// `retain_available false`; accepts the rest with Retain Available 0.
    RefuseRetainedWill,
}

/// A publish the broker received.
#[derive(Debug, Clone)]
struct Seen {
    client: String,
    topic: String,
    payload: String,
    retain: bool,
}

struct Conn {
    stream: TcpStream,
    protocol: Protocol,
    filters: Vec<String>,
}

#[derive(Default)]
struct State {
    connects: Vec<Connect>,
    publishes: Vec<Seen>,
    conns: Vec<Conn>,
}

struct Broker {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Broker {
    fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let state = Arc::clone(&shared);
                thread::spawn(move || serve(stream, behaviour, &state));
            }
        });
        Self { addr, state }
    }

    fn publishes(&self) -> Vec<Seen> {
        self.state.lock().unwrap().publishes.clone()
    }

    fn connects(&self) -> Vec<Connect> {
        self.state.lock().unwrap().connects.clone()
    }

    /// Sends a message to every connection subscribed to its topic.
    fn inject(&self, topic: &str, payload: &str) {
        let mut state = self.state.lock().unwrap();
        for conn in &mut state.conns {
            if conn.filters.iter().any(|f| matches(f, topic)) {
                let mut out = Vec::new();
                Packet::from(Publish::new(topic.to_owned(), payload.to_owned()))
                    .encode(conn.protocol, &mut out)
                    .unwrap();
                let _ = conn.stream.write_all(&out);
            }
        }
    }

    /// Closes every connection, as a broker restart would.
    fn drop_connections(&self) {
        let mut state = self.state.lock().unwrap();
        for conn in state.conns.drain(..) {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, state: &Mutex<State>) {
    let mut decoder = Decoder::new(Protocol::V311, 1 << 20);
    let mut protocol = Protocol::V311;
    let mut client = String::new();
    let mut buf = [0u8; 4096];
    let send = |stream: &mut TcpStream, packet: Packet, protocol| {
        let mut out = Vec::new();
        packet.encode(protocol, &mut out).unwrap();
        stream.write_all(&out).is_ok()
    };
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.feed(&buf[..n]);
        loop {
            let packet = match decoder.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) => return,
            };
            match packet {
                Packet::Connect(c) => {
                    protocol = c.protocol;
                    decoder.set_protocol(protocol);
                    client = c.client_id.clone();
                    let retained_will = c.will.as_ref().is_some_and(|w| w.retain);
                    state.lock().unwrap().connects.push(*c);
                    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
                    match behaviour {
                        Behaviour::Accept => {}
                        Behaviour::Refuse(code) => connack.reason_code = code,
                        Behaviour::RefuseRetainedWill if retained_will => {
                            connack.reason_code = ReasonCode::RETAIN_NOT_SUPPORTED
                        }
                        Behaviour::NoRetain | Behaviour::RefuseRetainedWill => {
                            let mut p = Properties::default();
                            p.retain_available = Some(false);
                            connack.properties = p;
                        }
                    }
                    let refused = !connack.reason_code.is_success();
                    send(&mut stream, Packet::ConnAck(connack), protocol);
                    if refused {
                        return;
                    }
                    let conn = Conn {
                        stream: stream.try_clone().unwrap(),
                        protocol,
                        filters: Vec::new(),
                    };
                    state.lock().unwrap().conns.push(conn);
                }
                Packet::Subscribe(s) => {
                    let filters: Vec<String> = s.filters.iter().map(|f| f.filter.clone()).collect();
                    {
                        let mut state = state.lock().unwrap();
                        let me = stream.local_addr().ok();
                        let peer = stream.peer_addr().ok();
                        if let Some(conn) = state.conns.iter_mut().find(|c| {
                            c.stream.local_addr().ok() == me && c.stream.peer_addr().ok() == peer
                        }) {
                            conn.filters.extend(filters.iter().cloned());
                        }
                    }
                    let suback = SubAck {
                        packet_id: s.packet_id,
                        properties: Properties::default(),
                        reason_codes: vec![ReasonCode::GRANTED_QOS_0; filters.len()],
                    };
                    send(&mut stream, Packet::SubAck(suback), protocol);
                }
                Packet::Publish(p) => {
                    state.lock().unwrap().publishes.push(Seen {
                        client: client.clone(),
                        topic: p.topic.clone(),
                        payload: String::from_utf8_lossy(&p.payload).into_owned(),
                        retain: p.retain,
                    });
                }
                Packet::PingReq => {
                    send(&mut stream, Packet::PingResp, protocol);
                }
                _ => {}
            }
        }
    }
}

/// A fleet running on its own thread; its reports as `(device, what)`.
struct Running {
    reports: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
}

impl Running {
    fn start(options: Options, models: Vec<Model>) -> Self {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, done) = mpsc::channel();
        let (r, s) = (Arc::clone(&reports), Arc::clone(&stop));
        thread::spawn(move || {
            let mut fleet = Fleet::new(options);
            for m in models {
                fleet.add(m);
            }
            fleet.run_until(
                &mut |name, report| {
                    let what = match report {
                        Report::Ready => "ready".to_owned(),
                        Report::Received { topic, payload } => {
                            format!("recv {topic} {}", String::from_utf8_lossy(payload))
                        }
                        Report::Lost(why) => format!("lost: {why}"),
                        Report::GaveUp(why) => format!("gave up: {why}"),
                        Report::Notice(what) => format!("notice: {what}"),
                    };
                    r.lock().unwrap().push((name.to_owned(), what));
                },
                &mut || s.load(Ordering::Relaxed),
            );
            let _ = tx.send(());
        });
        Self {
            reports,
            stop,
            done,
        }
    }

    fn count(&self, what: &str) -> usize {
        self.reports
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.1 == what)
            .count()
    }

    fn reports(&self) -> Vec<(String, String)> {
        self.reports.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.done.recv_timeout(Duration::from_secs(5));
    }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn plugs(n: usize, period_ms: u64) -> Vec<Model> {
    (1..=n)
        .map(|i| {
            Box::new(TasmotaPlug::new(format!("plug-{i:04}"), 1).with_tele_period(period_ms))
                as Model
        })
        .collect()
}

#[test]
fn a_fleet_of_plugs_sends_telemetry_answers_commands_and_reconnects() {
    const N: usize = 200;
    let broker = Broker::start(Behaviour::Accept);
    let fleet = Running::start(Options::new(broker.addr), plugs(N, 100));
    wait_until("every plug ready", || fleet.count("ready") == N);
    let since = Instant::now();
    let before = broker.publishes().len();
    thread::sleep(Duration::from_millis(1_000));
    let elapsed = since.elapsed().as_millis() as usize;
    // STATE + SENSOR every 100 ms from each plug, give or take a round.
    let got = broker.publishes().len() - before;
    let expected = N * 2 * elapsed / 100;
    assert!(
        got * 10 >= expected * 8 && got <= expected + N * 4,
        "{got} telemetry messages in {elapsed} ms, expected about {expected}"
    );
    let publishes = broker.publishes();
    let from_one = publishes
        .iter()
        .filter(|p| p.client == "devsim-tasmota-plug-0077" && p.topic == "tele/plug-0077/STATE")
        .count();
    assert!(from_one >= 8, "plug-0077 sent {from_one} STATE");

    broker.inject("cmnd/plug-0042/POWER", "ON");
    wait_until("the answer", || {
        broker
            .publishes()
            .iter()
            .any(|p| p.topic == "stat/plug-0042/POWER" && p.payload == "ON")
    });
    assert!(fleet
        .reports()
        .contains(&("plug-0042".into(), "recv cmnd/plug-0042/POWER ON".into())));
    // The group topic reaches every plug.
    broker.inject("cmnd/tasmotas/STATE", "");
    wait_until("every plug's RESULT", || {
        broker
            .publishes()
            .iter()
            .filter(|p| p.topic.ends_with("/RESULT") && p.payload.starts_with("{\"POWER\""))
            .count()
            >= N
    });

    broker.drop_connections();
    wait_until("every plug ready again", || fleet.count("ready") == 2 * N);
    assert_eq!(
        fleet
            .reports()
            .iter()
            .filter(|r| r.1.starts_with("lost:"))
            .count(),
        N
    );
    assert_eq!(broker.connects().len(), 2 * N);
}

#[test]
fn a_refused_login_gives_up_and_ends_the_run() {
    for (protocol, code, why) in [
        (Protocol::V311, ReasonCode::NOT_AUTHORIZED, "not authorized"),
        (
            Protocol::V5,
            ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            "bad user name or password",
        ),
    ] {
        let broker = Broker::start(Behaviour::Refuse(code));
        let mut options = Options::new(broker.addr);
        options.protocol = protocol;
        options.username = Some("alice".into());
        options.password = Some("wrong".into());
        let fleet = Running::start(options, plugs(3, 1_000));
        fleet
            .done
            .recv_timeout(Duration::from_secs(10))
            .expect("the run ends once every device gave up");
        let reports = fleet.reports();
        assert_eq!(reports.len(), 3, "{reports:?}");
        for (_, what) in &reports {
            assert_eq!(what, &format!("gave up: login refused ({why})"));
        }
        let connect = &broker.connects()[0];
        assert_eq!(connect.username.as_deref(), Some("alice"));
        assert_eq!(connect.password.as_deref(), Some(&b"wrong"[..]));
    }
}

#[test]
fn no_retain_publishes_nothing_retained() {
    let broker = Broker::start(Behaviour::Accept);
    let mut options = Options::new(broker.addr);
    options.no_retain = true;
    let models: Vec<Model> = vec![Box::new(HomeAssistantPlug::new("desk"))];
    let fleet = Running::start(options, models);
    wait_until("ready", || fleet.count("ready") == 1);
    wait_until("the configs", || broker.publishes().len() >= 5);
    assert!(broker.publishes().iter().all(|p| !p.retain));
    let will = broker.connects()[0].will.clone().unwrap();
    assert_eq!(will.topic, "devsim/desk/status");
    assert!(!will.retain);
    // Without retained configs, Home Assistant's birth message brings them.
    broker.inject("homeassistant/status", "online");
    wait_until("the configs again", || {
        broker
            .publishes()
            .iter()
            .filter(|p| p.topic == "homeassistant/switch/desk/relay/config")
            .count()
            == 2
    });
}

#[test]
fn mqtt5_without_retain_available_publishes_nothing_retained() {
    let broker = Broker::start(Behaviour::NoRetain);
    let mut options = Options::new(broker.addr);
    options.protocol = Protocol::V5;
    let models: Vec<Model> = vec![Box::new(HomeAssistantPlug::new("desk"))];
    let fleet = Running::start(options, models);
    wait_until("ready", || fleet.count("ready") == 1);
    wait_until("the configs", || broker.publishes().len() >= 5);
    let publishes = broker.publishes();
    assert!(publishes.iter().all(|p| !p.retain), "{publishes:?}");
    assert_eq!(publishes[0].topic, "homeassistant/switch/desk/relay/config");
    assert!(fleet.reports().iter().any(|r| r.1.starts_with("notice:")));
}

#[test]
fn a_refused_retained_will_is_dropped_and_the_device_connects() {
    let broker = Broker::start(Behaviour::RefuseRetainedWill);
    let mut options = Options::new(broker.addr);
    options.protocol = Protocol::V5;
    let models: Vec<Model> = vec![Box::new(TasmotaPlug::new("p", 1))];
    let fleet = Running::start(options, models);
    wait_until("ready", || fleet.count("ready") == 1);
    let connects = broker.connects();
    assert_eq!(connects.len(), 2);
    assert!(connects[0].will.as_ref().unwrap().retain);
    assert!(!connects[1].will.as_ref().unwrap().retain);
    wait_until("the birth", || broker.publishes().len() >= 3);
    assert!(broker.publishes().iter().all(|p| !p.retain));
    assert!(!fleet.reports().iter().any(|r| r.1.starts_with("gave up")));
}

#[test]
fn a_device_without_subscriptions_is_ready_and_publishes_on_its_timer() {
    let config = NetioConfig::parse(
        r#"{"config":{"broker":{"clientid":"netio-${DEVICE_NAME}","username":"box","password":"pw"},
            "publish":[{"topic":"n/${DEVICE_NAME}/load","payload":"${OUTPUTS/1/LOAD}",
                        "events":[{"type":"timer","period":0.1}]}]}}"#,
    )
    .unwrap();
    let netio = Netio::new("b", config, 1).unwrap();
    assert!(netio.subscriptions().is_empty());
    let broker = Broker::start(Behaviour::Accept);
    let fleet = Running::start(Options::new(broker.addr), vec![Box::new(netio)]);
    wait_until("ready", || fleet.count("ready") == 1);
    wait_until("five loads", || broker.publishes().len() >= 5);
    let connect = &broker.connects()[0];
    assert_eq!(connect.client_id, "netio-b");
    assert_eq!(connect.username.as_deref(), Some("box"));
    assert!(connect.will.is_none());
    assert!(broker.publishes().iter().all(|p| p.topic == "n/b/load"));
}
