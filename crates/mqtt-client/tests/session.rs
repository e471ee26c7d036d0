//! The engine against a scripted broker on a virtual clock: no sockets, no
//! sleeps; time jumps to the engine's own deadlines.

use mqtt_client::{
    Client, ConnectOptions, ConnectionError, Event, Publish, PublishError, QoS, ReasonCode,
    SessionState, SubscribeFilter,
};
use mqtt_codec::{decode_slice, ConnAck, Disconnect, Packet, Properties, Protocol, SubAck};

/// The broker side of the conversation: decodes what the client sent and
/// encodes scripted answers.
struct Broker {
    received: Vec<Packet>,
}

impl Broker {
    fn new() -> Self {
        Self {
            received: Vec::new(),
        }
    }

    /// Takes everything the client wants to send and decodes it.
    fn read(&mut self, client: &mut Client) -> Vec<Packet> {
        let mut bytes = Vec::new();
        client.poll_transmit(&mut bytes);
        let mut packets = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (packet, used) = decode_slice(&bytes[at..], Protocol::V311, usize::MAX)
                .expect("client sends valid packets")
                .expect("client sends whole packets");
            packets.push(packet);
            at += used;
        }
        self.received.extend(packets.iter().cloned());
        packets
    }

    fn send(&self, client: &mut Client, now: u64, packet: impl Into<Packet>) {
        let mut bytes = Vec::new();
        packet.into().encode(Protocol::V311, &mut bytes).unwrap();
        client.handle_bytes(now, &bytes);
    }
}

fn events(client: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn connected(keep_alive_secs: u16) -> (Client, Broker) {
    let mut options = ConnectOptions::new("test");
    options.keep_alive_secs = keep_alive_secs;
    let mut client = Client::new(options);
    let mut broker = Broker::new();
    client.connect(0).unwrap();
    let sent = broker.read(&mut client);
    assert!(matches!(&sent[..], [Packet::Connect(c)] if c.client_id == "test"));
    broker.send(&mut client, 5, ConnAck::new(false, ReasonCode::SUCCESS));
    assert_eq!(
        events(&mut client),
        [Event::Connected {
            session_present: false
        }]
    );
    (client, broker)
}

#[test]
fn subscribe_then_receive() {
    let (mut client, mut broker) = connected(30);
    let id = client
        .subscribe(
            10,
            vec![SubscribeFilter::new("stat/+/POWER", QoS::AtMostOnce)],
        )
        .unwrap();
    assert!(matches!(&broker.read(&mut client)[..], [Packet::Subscribe(s)] if s.packet_id == id));
    broker.send(
        &mut client,
        11,
        SubAck {
            packet_id: id,
            properties: Properties::default(),
            reason_codes: vec![ReasonCode::GRANTED_QOS_0],
        },
    );
    broker.send(&mut client, 12, Publish::new("stat/a/POWER", "ON"));
    assert_eq!(
        events(&mut client),
        [
            Event::Subscribed {
                packet_id: id,
                results: vec![ReasonCode::GRANTED_QOS_0]
            },
            Event::Message(Publish::new("stat/a/POWER", "ON")),
        ]
    );
}

#[test]
fn two_packets_in_one_chunk_and_one_split_in_two() {
    let (mut client, _broker) = connected(30);
    let mut bytes = Vec::new();
    Packet::from(Publish::new("a", "1"))
        .encode(Protocol::V311, &mut bytes)
        .unwrap();
    Packet::from(Publish::new("b", "2"))
        .encode(Protocol::V311, &mut bytes)
        .unwrap();
    Packet::from(Publish::new("c", "3"))
        .encode(Protocol::V311, &mut bytes)
        .unwrap();
    let split = bytes.len() - 3;
    client.handle_bytes(20, &bytes[..split]);
    assert_eq!(events(&mut client).len(), 2);
    client.handle_bytes(21, &bytes[split..]);
    assert_eq!(
        events(&mut client),
        [Event::Message(Publish::new("c", "3"))]
    );
}

#[test]
fn keepalive_pings_when_idle_and_dies_without_pingresp() {
    let (mut client, mut broker) = connected(30);
    // Connected at t=5: the first ping is due 30 s later.
    assert_eq!(client.poll_timeout(), Some(30_005));
    client.handle_timeout(30_004);
    assert!(
        broker.read(&mut client).is_empty(),
        "no ping before it is due"
    );
    client.handle_timeout(30_005);
    assert_eq!(broker.read(&mut client), [Packet::PingReq]);
    broker.send(&mut client, 30_100, Packet::PingResp);
    assert_eq!(client.poll_timeout(), Some(60_005));
    // Sending anything else postpones the ping.
    client.publish(40_000, Publish::new("x", "y")).unwrap();
    broker.read(&mut client);
    assert_eq!(client.poll_timeout(), Some(70_000));
    client.handle_timeout(70_000);
    assert_eq!(broker.read(&mut client), [Packet::PingReq]);
    // No PINGRESP: dead after the response timeout.
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, 80_000);
    client.handle_timeout(deadline);
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionError::KeepAliveTimeout)]
    );
    assert_eq!(client.state(), SessionState::Disconnected);
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn keepalive_zero_never_pings() {
    let (client, _broker) = connected(0);
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn no_connack_times_out() {
    let mut client = Client::new(ConnectOptions::new("t"));
    client.connect(1_000).unwrap();
    assert_eq!(client.poll_timeout(), Some(11_000));
    client.handle_timeout(11_000);
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionError::ConnectTimeout)]
    );
}

#[test]
fn refused_connack_is_surfaced_with_its_code() {
    let mut client = Client::new(ConnectOptions::new("t"));
    let broker = Broker::new();
    client.connect(0).unwrap();
    broker.send(
        &mut client,
        1,
        ConnAck::new(false, ReasonCode::NOT_AUTHORIZED),
    );
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionError::Refused(
            ReasonCode::NOT_AUTHORIZED
        ))]
    );
}

#[test]
fn first_packet_must_be_connack() {
    let mut client = Client::new(ConnectOptions::new("t"));
    let broker = Broker::new();
    client.connect(0).unwrap();
    broker.send(&mut client, 1, Publish::new("a", "b"));
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Disconnected(ConnectionError::ProtocolViolation(_))]
    ));
}

#[test]
fn malformed_input_closes_without_panic() {
    let (mut client, _broker) = connected(30);
    client.handle_bytes(10, &[0x30, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        &events(&mut client)[..],
        [Event::Disconnected(ConnectionError::Malformed(_))]
    ));
    // Input after the close is ignored.
    client.handle_bytes(11, &[0xd0, 0x00]);
    assert!(events(&mut client).is_empty());
}

#[test]
fn publish_when_not_connected_is_refused() {
    let mut client = Client::new(ConnectOptions::new("t"));
    assert_eq!(
        client.publish(0, Publish::new("a", "b")),
        Err(PublishError::NotConnected)
    );
}

#[test]
fn disconnect_sends_disconnect_and_reports_it() {
    let (mut client, mut broker) = connected(30);
    client.disconnect(50);
    assert_eq!(
        broker.read(&mut client),
        [Packet::Disconnect(Disconnect::normal())]
    );
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionError::LocallyClosed)]
    );
}

#[test]
fn reconnect_after_transport_loss() {
    let (mut client, mut broker) = connected(30);
    client.handle_bytes(6, &[0x30]); // half a packet, then the socket dies
    client.handle_transport_closed(7);
    assert_eq!(
        events(&mut client),
        [Event::Disconnected(ConnectionError::TransportClosed)]
    );
    client.connect(100).unwrap();
    assert!(matches!(
        &broker.read(&mut client)[..],
        [Packet::Connect(_)]
    ));
    broker.send(&mut client, 101, ConnAck::new(false, ReasonCode::SUCCESS));
    assert_eq!(
        events(&mut client),
        [Event::Connected {
            session_present: false
        }]
    );
}
