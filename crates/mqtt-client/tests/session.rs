//! The engine against a scripted broker on a virtual clock: no sockets, no
//! sleeps; time jumps to the engine's own deadlines (quinn's `Pair` idea).

use mqtt_client::{
    Backoff, Client, ConnectOptions, ConnectionError, Event, Protocol, Publish, PublishError, QoS,
    ReasonCode, SessionState, SubscribeFilter, TopicAlias,
};
use mqtt_codec::{
    decode_slice, ConnAck, Disconnect, Packet, Properties, PubAck, PubComp, PubRec, PubRel, SubAck,
    UnsubAck,
};

/// The client and a broker that decodes what the client sends and answers
/// what the test scripts.
struct Pair {
    client: Client,
    protocol: Protocol,
    now: u64,
}

impl Pair {
    fn new(protocol: Protocol, configure: impl FnOnce(&mut ConnectOptions)) -> Self {
        let mut options = ConnectOptions::new("test");
        options.protocol = protocol;
        options.reconnect = None;
        configure(&mut options);
        Self {
            client: Client::new(options),
            protocol,
            now: 0,
        }
    }

    /// Connects and answers CONNACK with `connack`.
    fn connect_with(&mut self, connack: ConnAck) -> Vec<Event> {
        self.client.connect(self.now);
        let sent = self.sent();
        assert!(matches!(&sent[..], [Packet::Connect(_)]), "{sent:?}");
        self.send(connack);
        self.events()
    }

    fn connected(protocol: Protocol, configure: impl FnOnce(&mut ConnectOptions)) -> Self {
        let mut pair = Self::new(protocol, configure);
        let events = pair.connect_with(ConnAck::new(false, ReasonCode::SUCCESS));
        assert_eq!(
            events,
            [Event::Connected {
                session_present: false
            }]
        );
        pair
    }

    /// Everything the client wants to send, decoded.
    fn sent(&mut self) -> Vec<Packet> {
        let mut bytes = Vec::new();
        self.client.poll_transmit(&mut bytes);
        let mut packets = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (packet, used) = decode_slice(&bytes[at..], self.protocol, usize::MAX)
                .expect("client sends valid packets")
                .expect("client sends whole packets");
            packets.push(packet);
            at += used;
        }
        packets
    }

    fn send(&mut self, packet: impl Into<Packet>) {
        let mut bytes = Vec::new();
        packet.into().encode(self.protocol, &mut bytes).unwrap();
        self.client.handle_bytes(self.now, &bytes);
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }

    /// Jumps to the next deadline and handles it.
    fn advance(&mut self) -> u64 {
        let deadline = self.client.poll_timeout().expect("a deadline");
        assert!(deadline >= self.now, "deadlines never lie in the past");
        self.now = deadline;
        self.client.handle_timeout(self.now);
        self.now
    }

    fn publish(&mut self, topic: &str, qos: QoS) -> Result<Option<u16>, PublishError> {
        let mut p = Publish::new(topic, "x");
        p.qos = qos;
        self.client.publish(self.now, p)
    }
}

fn publish_of(packet: &Packet) -> &Publish {
    match packet {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

fn incoming(topic: &str, qos: QoS, id: Option<u16>) -> Publish {
    let mut p = Publish::new(topic, "m");
    p.qos = qos;
    p.packet_id = id;
    p
}

// ---- connection ----

#[test]
fn subscribe_then_receive() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let id = pair
        .client
        .subscribe(
            10,
            vec![SubscribeFilter::new("stat/+/POWER", QoS::AtMostOnce)],
        )
        .unwrap();
    assert!(matches!(&pair.sent()[..], [Packet::Subscribe(s)] if s.packet_id == id));
    pair.send(SubAck {
        packet_id: id,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::GRANTED_QOS_0],
    });
    pair.send(Publish::new("stat/a/POWER", "ON"));
    assert_eq!(
        pair.events(),
        [
            Event::Subscribed {
                packet_id: id,
                filters: vec!["stat/+/POWER".into()],
                results: vec![ReasonCode::GRANTED_QOS_0]
            },
            Event::Message(Publish::new("stat/a/POWER", "ON")),
        ]
    );
    assert_eq!(pair.client.subscriptions().len(), 1);
}

#[test]
fn two_packets_in_one_chunk_and_one_split_in_two() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let mut bytes = Vec::new();
    for (t, m) in [("a", "1"), ("b", "2"), ("c", "3")] {
        Packet::from(Publish::new(t, m))
            .encode(Protocol::V311, &mut bytes)
            .unwrap();
    }
    let split = bytes.len() - 3;
    pair.client.handle_bytes(20, &bytes[..split]);
    assert_eq!(pair.events().len(), 2);
    pair.client.handle_bytes(21, &bytes[split..]);
    assert_eq!(pair.events(), [Event::Message(Publish::new("c", "3"))]);
}

#[test]
fn refused_connack_is_surfaced_with_its_code_and_not_retried() {
    let mut pair = Pair::new(Protocol::V311, |o| o.reconnect = Some(Backoff::default()));
    // 3.1.1 return code 5 arrives as reason 0x87.
    let events = pair.connect_with(ConnAck::new(false, ReasonCode::NOT_AUTHORIZED));
    assert_eq!(
        events,
        [Event::Disconnected(ConnectionError::Refused {
            reason: ReasonCode::NOT_AUTHORIZED,
            reason_string: None
        })]
    );
    assert_eq!(pair.client.poll_timeout(), None, "a refusal is final");
}

#[test]
fn refused_v5_connack_carries_the_reason_string() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    connack.properties.reason_string = Some("wrong password".into());
    let events = pair.connect_with(connack);
    let Event::Disconnected(err) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        err.to_string(),
        "broker refused the connection: bad user name or password (wrong password)"
    );
}

#[test]
fn first_packet_must_be_connack() {
    let mut pair = Pair::new(Protocol::V311, |_| {});
    pair.client.connect(0);
    pair.sent();
    pair.send(Publish::new("a", "b"));
    assert!(matches!(
        &pair.events()[..],
        [Event::Disconnected(ConnectionError::ProtocolViolation(_))]
    ));
}

#[test]
fn no_connack_times_out() {
    let mut pair = Pair::new(Protocol::V311, |_| {});
    pair.now = 1_000;
    pair.client.connect(1_000);
    assert_eq!(pair.advance(), 11_000);
    assert_eq!(
        pair.events(),
        [Event::Disconnected(ConnectionError::ConnectTimeout)]
    );
}

#[test]
fn malformed_input_closes_without_panic_and_v5_says_why() {
    let mut pair = Pair::connected(Protocol::V5, |o| o.max_packet_size = 1024);
    pair.client
        .handle_bytes(10, &[0x30, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        &pair.events()[..],
        [Event::Disconnected(ConnectionError::Malformed(_))]
    ));
    let sent = pair.sent();
    assert!(
        matches!(&sent[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::PACKET_TOO_LARGE),
        "{sent:?}"
    );
    // Input after the close is ignored.
    pair.client.handle_bytes(11, &[0xd0, 0x00]);
    assert!(pair.events().is_empty());
}

#[test]
fn server_disconnect_is_surfaced_with_reason() {
    let mut pair = Pair::connected(Protocol::V5, |_| {});
    let mut d = Disconnect {
        reason_code: ReasonCode::SESSION_TAKEN_OVER,
        ..Disconnect::normal()
    };
    d.properties.reason_string = Some("another client".into());
    pair.send(d);
    assert_eq!(
        pair.events(),
        [Event::Disconnected(ConnectionError::ServerDisconnected {
            reason: ReasonCode::SESSION_TAKEN_OVER,
            reason_string: Some("another client".into()),
        })]
    );
}

#[test]
fn disconnect_sends_disconnect_and_stops_reconnecting() {
    let mut pair = Pair::connected(Protocol::V311, |o| o.reconnect = Some(Backoff::default()));
    pair.client.disconnect(50);
    assert_eq!(pair.sent(), [Packet::Disconnect(Disconnect::normal())]);
    assert_eq!(
        pair.events(),
        [Event::Disconnected(ConnectionError::LocallyClosed)]
    );
    assert_eq!(pair.client.poll_timeout(), None);
}

// ---- keep-alive ----

#[test]
fn keepalive_pings_when_idle_and_dies_without_pingresp() {
    let mut pair = Pair::connected(Protocol::V311, |o| o.keep_alive_secs = 30);
    assert_eq!(pair.client.poll_timeout(), Some(30_000));
    pair.client.handle_timeout(29_999);
    assert!(pair.sent().is_empty(), "no ping before it is due");
    assert_eq!(pair.advance(), 30_000);
    assert_eq!(pair.sent(), [Packet::PingReq]);
    pair.now = 30_100;
    pair.send(Packet::PingResp);
    assert_eq!(pair.client.poll_timeout(), Some(60_000));
    // Sending anything else postpones the ping.
    pair.now = 40_000;
    pair.client.publish(40_000, Publish::new("x", "y")).unwrap();
    pair.sent();
    assert_eq!(pair.advance(), 70_000);
    assert_eq!(pair.sent(), [Packet::PingReq]);
    // No PINGRESP: dead after the response timeout.
    assert_eq!(pair.advance(), 80_000);
    assert_eq!(
        pair.events(),
        [Event::Disconnected(ConnectionError::KeepAliveTimeout)]
    );
    assert_eq!(pair.client.state(), SessionState::Disconnected);
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn keepalive_zero_never_pings() {
    let pair = Pair::connected(Protocol::V311, |o| o.keep_alive_secs = 0);
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn server_keep_alive_overrides_ours() {
    let mut pair = Pair::new(Protocol::V5, |o| o.keep_alive_secs = 60);
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.server_keep_alive = Some(5);
    pair.connect_with(connack);
    assert_eq!(pair.client.poll_timeout(), Some(5_000));
}

// ---- QoS ----

#[test]
fn qos0_needs_a_connection_qos1_is_queued_until_connected() {
    let mut pair = Pair::new(Protocol::V311, |_| {});
    assert_eq!(
        pair.publish("a", QoS::AtMostOnce),
        Err(PublishError::NotConnected)
    );
    let id = pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap();
    assert_eq!(pair.client.queued(), 1);
    pair.connect_with(ConnAck::new(false, ReasonCode::SUCCESS));
    let sent = pair.sent();
    assert_eq!(publish_of(&sent[0]).packet_id, Some(id));
    assert_eq!(pair.client.queued(), 0);
    assert_eq!(pair.client.in_flight(), 1);
}

#[test]
fn qos1_outgoing_completes_on_puback() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let id = pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap();
    let sent = pair.sent();
    let p = publish_of(&sent[0]);
    assert_eq!(
        (p.qos, p.packet_id, p.dup),
        (QoS::AtLeastOnce, Some(id), false)
    );
    pair.send(PubAck::new(id));
    assert_eq!(pair.events(), [Event::Published { packet_id: id }]);
    assert_eq!(pair.client.in_flight(), 0);
}

#[test]
fn qos2_outgoing_runs_the_four_packet_flow() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let id = pair.publish("a", QoS::ExactlyOnce).unwrap().unwrap();
    assert_eq!(publish_of(&pair.sent()[0]).qos, QoS::ExactlyOnce);
    pair.send(PubRec::new(id));
    assert_eq!(pair.sent(), [Packet::PubRel(PubRel::new(id))]);
    assert!(pair.events().is_empty(), "not complete before PUBCOMP");
    // A duplicate PUBREC gets the PUBREL again.
    pair.send(PubRec::new(id));
    assert_eq!(pair.sent(), [Packet::PubRel(PubRel::new(id))]);
    pair.send(PubComp::new(id));
    assert_eq!(pair.events(), [Event::Published { packet_id: id }]);
    assert_eq!(pair.client.in_flight(), 0);
}

#[test]
fn qos1_incoming_is_acknowledged() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    pair.send(incoming("t", QoS::AtLeastOnce, Some(9)));
    assert_eq!(
        pair.events(),
        [Event::Message(incoming("t", QoS::AtLeastOnce, Some(9)))]
    );
    assert_eq!(pair.sent(), [Packet::PubAck(PubAck::new(9))]);
}

#[test]
fn duplicate_qos2_is_not_delivered_twice() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let first = incoming("t", QoS::ExactlyOnce, Some(5));
    pair.send(first.clone());
    assert_eq!(pair.events(), [Event::Message(first.clone())]);
    assert_eq!(pair.sent(), [Packet::PubRec(PubRec::new(5))]);
    // The broker did not see our PUBREC and resends with DUP.
    let mut again = first.clone();
    again.dup = true;
    pair.send(again);
    assert!(pair.events().is_empty(), "delivered once");
    assert_eq!(pair.sent(), [Packet::PubRec(PubRec::new(5))]);
    pair.send(PubRel::new(5));
    assert_eq!(pair.sent(), [Packet::PubComp(PubComp::new(5))]);
    // After PUBREL the identifier is free: the same id is a new message.
    pair.send(first.clone());
    assert_eq!(pair.events(), [Event::Message(first)]);
}

#[test]
fn out_of_order_acks_complete_the_right_publishes() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let ids: Vec<u16> = (0..3)
        .map(|_| pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap())
        .collect();
    assert_eq!(pair.sent().len(), 3);
    for &i in &[2, 0, 1] {
        pair.send(PubAck::new(ids[i]));
    }
    assert_eq!(
        pair.events(),
        [2, 0, 1].map(|i| Event::Published { packet_id: ids[i] })
    );
    // An ack for nothing changes nothing.
    pair.send(PubAck::new(999));
    assert!(pair.events().is_empty());
    assert_eq!(pair.client.state(), SessionState::Connected);
}

#[test]
fn packet_ids_never_collide_while_in_flight() {
    let mut pair = Pair::connected(Protocol::V311, |_| {});
    let mut live = std::collections::BTreeSet::new();
    for round in 0..2_000u32 {
        let id = pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap();
        assert!(id != 0 && live.insert(id), "id {id} reused while in flight");
        if round % 3 == 0 {
            let done = *live.iter().next().unwrap();
            pair.send(PubAck::new(done));
            live.remove(&done);
        }
    }
    pair.sent();
    pair.events();
}

#[test]
fn v5_puback_failure_is_an_error_event() {
    let mut pair = Pair::connected(Protocol::V5, |_| {});
    let id = pair
        .publish("forbidden", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    pair.sent();
    let mut ack = PubAck {
        reason_code: ReasonCode::NOT_AUTHORIZED,
        ..PubAck::new(id)
    };
    ack.properties.reason_string = Some("acl".into());
    pair.send(ack);
    assert_eq!(
        pair.events(),
        [Event::PublishFailed {
            packet_id: id,
            reason: ReasonCode::NOT_AUTHORIZED,
            reason_string: Some("acl".into())
        }]
    );
}

#[test]
fn v5_receive_maximum_limits_in_flight_and_keeps_order() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.receive_maximum = Some(2);
    pair.connect_with(connack);
    let ids: Vec<u16> = (0..4)
        .map(|_| pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap())
        .collect();
    let sent: Vec<u16> = pair
        .sent()
        .iter()
        .map(|p| publish_of(p).packet_id.unwrap())
        .collect();
    assert_eq!(sent, ids[..2]);
    assert_eq!(pair.client.queued(), 2);
    pair.send(PubAck::new(ids[1]));
    let sent: Vec<u16> = pair
        .sent()
        .iter()
        .map(|p| publish_of(p).packet_id.unwrap())
        .collect();
    assert_eq!(sent, [ids[2]], "one slot freed, the next in order goes");
}

#[test]
fn our_in_flight_cap_applies_in_v311_too() {
    // Regression: mosquitto 2.0.11 answers a 21st QoS 2 publish in flight
    // from a 3.1.1 client with a PUBACK (read as success) and drops it.
    let mut pair = Pair::connected(Protocol::V311, |o| o.max_in_flight = 2);
    let ids: Vec<u16> = (0..3)
        .map(|_| pair.publish("a", QoS::ExactlyOnce).unwrap().unwrap())
        .collect();
    assert_eq!(pair.sent().len(), 2);
    assert_eq!(pair.client.queued(), 1);
    pair.send(PubRec::new(ids[0]));
    assert_eq!(
        pair.sent(),
        [Packet::PubRel(PubRel::new(ids[0]))],
        "PUBREL does not free the slot"
    );
    pair.send(PubComp::new(ids[0]));
    assert_eq!(publish_of(&pair.sent()[0]).packet_id, Some(ids[2]));
}

#[test]
fn v5_maximum_qos_and_packet_size_are_respected() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.maximum_qos = Some(QoS::AtLeastOnce);
    connack.properties.maximum_packet_size = Some(64);
    pair.connect_with(connack);
    assert_eq!(
        pair.publish("a", QoS::ExactlyOnce),
        Err(PublishError::QoSNotSupported)
    );
    let big = Publish::new("a", vec![0u8; 100]);
    assert_eq!(
        pair.client.publish(0, big.clone()),
        Err(PublishError::TooLarge)
    );
    let mut big_qos1 = big;
    big_qos1.qos = QoS::AtLeastOnce;
    assert_eq!(
        pair.client.publish(0, big_qos1),
        Err(PublishError::TooLarge),
        "refused before queuing"
    );
    assert_eq!(pair.client.queued(), 0);
    assert!(pair.sent().is_empty());
    // A small one still goes out whole.
    pair.publish("a", QoS::AtMostOnce).unwrap();
    assert_eq!(publish_of(&pair.sent()[0]).topic, "a");
}

// ---- MQTT 5 topic aliases ----

#[test]
fn v5_outgoing_topic_alias_replaces_a_repeated_topic() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.topic_alias_maximum = Some(1);
    pair.connect_with(connack);
    for topic in ["long/topic/name", "long/topic/name", "other"] {
        pair.publish(topic, QoS::AtMostOnce).unwrap();
    }
    let sent = pair.sent();
    let seen: Vec<(&str, Option<u16>)> = sent
        .iter()
        .map(publish_of)
        .map(|p| (p.topic.as_str(), p.properties.topic_alias))
        .collect();
    assert_eq!(
        seen,
        [("long/topic/name", Some(1)), ("", Some(1)), ("other", None)]
    );
}

#[test]
fn v5_a_refused_publish_does_not_leave_an_alias_the_broker_never_saw() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.topic_alias_maximum = Some(4);
    connack.properties.maximum_packet_size = Some(64);
    pair.connect_with(connack);
    let big = Publish::new("room/lamp", vec![0u8; 100]);
    assert_eq!(pair.client.publish(0, big), Err(PublishError::TooLarge));
    pair.publish("room/lamp", QoS::AtMostOnce).unwrap();
    let sent = pair.sent();
    let p = publish_of(&sent[0]);
    assert_eq!(
        (p.topic.as_str(), p.properties.topic_alias),
        ("room/lamp", Some(1))
    );
}

#[test]
fn v5_incoming_topic_alias_is_resolved_and_an_unknown_one_refused() {
    let mut pair = Pair::connected(Protocol::V5, |_| {});
    let mut first = Publish::new("sensors/kitchen", "1");
    first.properties.topic_alias = Some(3);
    pair.send(first);
    let mut second = Publish::new("", "2");
    second.properties.topic_alias = Some(3);
    pair.send(second);
    let topics: Vec<String> = pair
        .events()
        .into_iter()
        .map(|e| match e {
            Event::Message(p) => p.topic,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(topics, ["sensors/kitchen", "sensors/kitchen"]);
    let mut unknown = Publish::new("", "3");
    unknown.properties.topic_alias = Some(4);
    pair.send(unknown);
    assert!(matches!(
        &pair.events()[..],
        [Event::Disconnected(ConnectionError::ProtocolViolation(_))]
    ));
    assert!(
        matches!(&pair.sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::TOPIC_ALIAS_INVALID)
    );
}

// ---- sessions and reconnect ----

#[test]
fn reconnect_with_session_resends_publish_with_dup_and_pubrel_in_order() {
    let mut pair = Pair::connected(Protocol::V311, |o| {
        o.clean_start = false;
        o.reconnect = Some(Backoff {
            initial_ms: 100,
            max_ms: 1_000,
            stable_ms: 10_000,
        });
    });
    let a = pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap();
    let b = pair.publish("b", QoS::ExactlyOnce).unwrap().unwrap();
    let c = pair.publish("c", QoS::ExactlyOnce).unwrap().unwrap();
    pair.sent();
    pair.send(PubRec::new(b));
    assert_eq!(pair.sent(), [Packet::PubRel(PubRel::new(b))]);

    pair.now = 500;
    pair.client.handle_transport_closed(500);
    assert_eq!(
        pair.events(),
        [Event::Disconnected(ConnectionError::TransportClosed)]
    );
    let at = pair.advance();
    assert!(
        (550..=600).contains(&at),
        "first retry after 50–100 ms, got {}",
        at - 500
    );
    assert_eq!(pair.events(), [Event::Reconnect]);

    let events = pair.connect_with(ConnAck::new(true, ReasonCode::SUCCESS));
    assert_eq!(
        events,
        [Event::Connected {
            session_present: true
        }]
    );
    let resent = pair.sent();
    assert_eq!(resent.len(), 3, "{resent:?}");
    assert!(matches!(&resent[0], Packet::Publish(p) if p.packet_id == Some(a) && p.dup));
    assert_eq!(resent[1], Packet::PubRel(PubRel::new(b)));
    assert!(matches!(&resent[2], Packet::Publish(p) if p.packet_id == Some(c) && p.dup));
}

#[test]
fn reconnect_without_session_renews_subscriptions_and_resends_as_new() {
    let mut pair = Pair::connected(Protocol::V311, |o| o.reconnect = Some(Backoff::default()));
    let sub = pair
        .client
        .subscribe(0, vec![SubscribeFilter::new("t/#", QoS::AtLeastOnce)])
        .unwrap();
    pair.sent();
    pair.send(SubAck {
        packet_id: sub,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
    });
    let a = pair.publish("a", QoS::AtLeastOnce).unwrap().unwrap();
    let b = pair.publish("b", QoS::ExactlyOnce).unwrap().unwrap();
    pair.sent();
    pair.send(PubRec::new(b));
    pair.sent();
    pair.events();

    pair.client.handle_transport_closed(pair.now);
    pair.advance();
    assert_eq!(pair.events()[1..], [Event::Reconnect]);
    let events = pair.connect_with(ConnAck::new(false, ReasonCode::SUCCESS));
    // The broker had message b (it sent PUBREC): complete, not resent.
    assert_eq!(
        events,
        [
            Event::Connected {
                session_present: false
            },
            Event::Published { packet_id: b }
        ]
    );
    let resent = pair.sent();
    assert!(
        matches!(&resent[0], Packet::Subscribe(s) if s.filters[0].filter == "t/#"),
        "{resent:?}"
    );
    assert!(
        matches!(&resent[1], Packet::Publish(p) if p.packet_id == Some(a) && !p.dup),
        "{resent:?}"
    );
    assert_eq!(resent.len(), 2);
}

/// Regression: the engine emitted `Connected` with an empty subscription
/// list while it renewed them, so the app and devsim subscribed a second
/// time on every reconnect (retained messages arrived twice).
#[test]
fn renewed_subscriptions_stay_visible_while_their_suback_is_pending() {
    let mut pair = Pair::connected(Protocol::V311, |o| o.reconnect = Some(Backoff::default()));
    let filters = vec![SubscribeFilter::new("t/#", QoS::AtMostOnce)];
    let sub = pair.client.subscribe(0, filters.clone()).unwrap();
    assert!(pair.client.subscribing());
    pair.sent();
    pair.send(SubAck {
        packet_id: sub,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::GRANTED_QOS_0],
    });
    assert!(!pair.client.subscribing());
    pair.events();

    pair.client.handle_transport_closed(pair.now);
    let at = pair
        .client
        .reconnect_at()
        .expect("a reconnect is scheduled");
    pair.client.reconnect_now(pair.now);
    assert!(pair.client.reconnect_at().unwrap() < at || at == pair.now);
    pair.client.handle_timeout(pair.now);
    assert_eq!(pair.events()[1..], [Event::Reconnect]);
    let events = pair.connect_with(ConnAck::new(false, ReasonCode::SUCCESS));
    assert_eq!(
        events,
        [Event::Connected {
            session_present: false
        }]
    );
    // What a caller sees at `Connected`: the filters, and a renewal under way.
    assert_eq!(pair.client.subscriptions(), &filters[..]);
    assert!(pair.client.subscribing());
    let sent = pair.sent();
    let [Packet::Subscribe(renewal)] = &sent[..] else {
        panic!("one SUBSCRIBE, the renewal: {sent:?}");
    };
    // The broker now refuses it: no subscription any more, and the event says which.
    pair.send(SubAck {
        packet_id: renewal.packet_id,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::UNSPECIFIED_ERROR],
    });
    assert_eq!(
        pair.events(),
        [Event::Subscribed {
            packet_id: renewal.packet_id,
            filters: vec!["t/#".into()],
            results: vec![ReasonCode::UNSPECIFIED_ERROR],
        }]
    );
    assert!(pair.client.subscriptions().is_empty());
    assert!(!pair.client.subscribing());
}

#[test]
fn backoff_grows_and_resets_after_a_stable_connection() {
    let backoff = Backoff {
        initial_ms: 100,
        max_ms: 800,
        stable_ms: 5_000,
    };
    let mut pair = Pair::new(Protocol::V311, |o| {
        o.reconnect = Some(backoff);
        o.jitter_seed = 7;
    });
    let mut delays = Vec::new();
    for _ in 0..5 {
        // The transport cannot be opened.
        let start = pair.now;
        pair.client.handle_transport_closed(start);
        pair.advance();
        assert_eq!(pair.events(), [Event::Reconnect]);
        delays.push(pair.now - start);
    }
    for (d, ceiling) in delays.iter().zip([100, 200, 400, 800, 800]) {
        assert!((ceiling / 2..=ceiling).contains(d), "{delays:?}");
    }
    // Connected for longer than stable_ms, then lost: back to the first delay.
    pair.connect_with(ConnAck::new(false, ReasonCode::SUCCESS));
    pair.now += 6_000;
    pair.client.handle_transport_closed(pair.now);
    let start = pair.now;
    pair.advance();
    assert!(pair.now - start <= 100, "reset: {}", pair.now - start);
}

#[test]
fn unsubscribe_removes_the_subscription() {
    let mut pair = Pair::connected(Protocol::V5, |_| {});
    let sub = pair
        .client
        .subscribe(0, vec![SubscribeFilter::new("a", QoS::AtMostOnce)])
        .unwrap();
    pair.send(SubAck {
        packet_id: sub,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::GRANTED_QOS_0],
    });
    let unsub = pair.client.unsubscribe(0, vec!["a".into()]).unwrap();
    pair.sent();
    pair.send(UnsubAck {
        packet_id: unsub,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::SUCCESS],
    });
    let events = pair.events();
    assert_eq!(
        events[1],
        Event::Unsubscribed {
            packet_id: unsub,
            results: vec![ReasonCode::SUCCESS]
        }
    );
    assert!(pair.client.subscriptions().is_empty());
}

/// The publish form's "topic alias: off": the whole topic every time, for
/// QoS 0 and for a QoS 1 publish, while other publishes keep using aliases.
#[test]
fn v5_a_publish_with_the_topic_alias_off_sends_the_whole_topic() {
    let mut pair = Pair::new(Protocol::V5, |_| {});
    let mut connack = ConnAck::new(false, ReasonCode::SUCCESS);
    connack.properties.topic_alias_maximum = Some(4);
    pair.connect_with(connack);
    pair.publish("long/topic/name", QoS::AtMostOnce).unwrap();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let mut p = Publish::new("long/topic/name", b"x".to_vec());
        p.qos = qos;
        pair.client.publish_with(0, p, TopicAlias::Off).unwrap();
    }
    pair.publish("long/topic/name", QoS::AtMostOnce).unwrap();
    let sent = pair.sent();
    let seen: Vec<(&str, Option<u16>)> = sent
        .iter()
        .map(publish_of)
        .map(|p| (p.topic.as_str(), p.properties.topic_alias))
        .collect();
    assert_eq!(
        seen,
        [
            ("long/topic/name", Some(1)),
            ("long/topic/name", None),
            ("long/topic/name", None),
            ("", Some(1)),
        ]
    );
}
