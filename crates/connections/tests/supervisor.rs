//! The supervisor against a scripted broker on a virtual clock: the
//! transport is in memory, the test plays the broker, and time jumps to the
//! supervisor's own deadlines.

use connections::{
    Call, Cause, ConnectOptions, ConnectionId, Event, Link, MemoryTransport, PageContext, Protocol,
    Publish, QoS, ReasonCode, SendError, Settings, Stage, Status, SubscribeFilter, Subscriptions,
    Supervisor, VersionChoice, HANDSHAKE_TIMEOUT_MS, MAX_PROTOCOL_ERRORS,
};
use mqtt_client::Backoff;
use mqtt_codec::{decode_slice, ConnAck, Disconnect, Packet, Properties, SubAck};

const A: ConnectionId = ConnectionId(1);
const B: ConnectionId = ConnectionId(2);

struct Bed {
    sup: Supervisor<MemoryTransport>,
    now: u64,
    /// The protocol the scripted broker decodes and answers in.
    protocol: Protocol,
}

fn settings(version: VersionChoice) -> Settings {
    let mut options = ConnectOptions::new("panel");
    options.reconnect = Some(Backoff {
        initial_ms: 500,
        max_ms: 4_000,
        stable_ms: 10_000,
    });
    options.jitter_seed = 1;
    Settings {
        url: "ws://127.0.0.1:9001/".into(),
        options,
        version,
        subscriptions: vec![
            SubscribeFilter::new("tele/+/LWT", QoS::AtMostOnce),
            SubscribeFilter::new("stat/+/+", QoS::AtMostOnce),
        ],
        page: PageContext::default(),
    }
}

impl Bed {
    fn new() -> Self {
        Self {
            sup: Supervisor::new(MemoryTransport::new()),
            now: 0,
            protocol: Protocol::V311,
        }
    }

    fn connect(&mut self, id: ConnectionId, settings: Settings) {
        self.sup
            .connect(id, settings, self.now)
            .expect("a good URL");
    }

    fn calls(&mut self) -> Vec<Call> {
        self.sup.transport_mut().take_calls()
    }

    /// The link the last `open` call was for.
    fn opened_link(&mut self) -> Link {
        let calls = self.calls();
        match calls.iter().rev().find(|c| matches!(c, Call::Open(..))) {
            Some(Call::Open(link, _)) => *link,
            _ => panic!("expected an open call: {calls:?}"),
        }
    }

    /// Packets sent on any link, decoded in the broker's protocol.
    fn sent(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        for call in self.calls() {
            if let Call::Send(_, bytes) = call {
                let mut at = 0;
                while at < bytes.len() {
                    let (packet, used) = decode_slice(&bytes[at..], self.protocol, usize::MAX)
                        .expect("valid packets")
                        .expect("whole packets");
                    packets.push(packet);
                    at += used;
                }
            }
        }
        packets
    }

    fn answer(&mut self, link: Link, packet: impl Into<Packet>) {
        let mut bytes = Vec::new();
        packet.into().encode(self.protocol, &mut bytes).unwrap();
        self.sup.handle_bytes(link, self.now, &bytes);
    }

    /// Opens the socket, checks the CONNECT, answers CONNACK.
    fn accept(&mut self, link: Link, session_present: bool) {
        self.sup.handle_opened(link, self.now);
        let sent = self.sent();
        assert!(matches!(&sent[..], [Packet::Connect(_)]), "{sent:?}");
        self.answer(link, ConnAck::new(session_present, ReasonCode::SUCCESS));
    }

    /// Connects `id`, accepts it and grants its subscriptions.
    fn ready(&mut self, id: ConnectionId) -> Link {
        self.connect(id, settings(VersionChoice::V311));
        let link = self.opened_link();
        self.accept(link, false);
        self.grant(
            link,
            &[ReasonCode::GRANTED_QOS_0, ReasonCode::GRANTED_QOS_0],
        );
        assert!(self.sup.is_ready(id), "{:?}", self.sup.status(id));
        link
    }

    /// Expects one SUBSCRIBE and answers it.
    fn grant(&mut self, link: Link, codes: &[ReasonCode]) {
        let sent = self.sent();
        let [Packet::Subscribe(sub)] = &sent[..] else {
            panic!("expected one SUBSCRIBE: {sent:?}");
        };
        self.answer(
            link,
            SubAck {
                packet_id: sub.packet_id,
                properties: Properties::default(),
                reason_codes: codes.to_vec(),
            },
        );
    }

    fn status(&self, id: ConnectionId) -> Status {
        self.sup.status(id).cloned().expect("known connection")
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.sup.poll_event()).collect()
    }

    /// Jumps to the next deadline and handles it.
    fn advance(&mut self) -> u64 {
        let deadline = self.sup.poll_timeout().expect("a deadline");
        assert!(deadline >= self.now);
        self.now = deadline;
        self.sup.handle_timeout(self.now);
        self.now
    }

    fn cause(&self, id: ConnectionId) -> Cause {
        match self.status(id) {
            Status::Failed(d) | Status::Reconnecting { problem: d, .. } => d.cause,
            other => panic!("no problem to show: {other:?}"),
        }
    }
}

fn failed(status: &Status) -> bool {
    matches!(status, Status::Failed(_))
}

// ---- subscribing ----

/// Regression: the app and devsim subscribed again on every reconnect
/// (the engine renews), so retained messages arrived twice.
#[test]
fn reconnect_renews_subscriptions_with_one_subscribe() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    assert!(matches!(
        bed.status(A),
        Status::Reconnecting {
            attempt: 1,
            retry_at: Some(_),
            ..
        }
    ));
    bed.advance();
    let link = bed.opened_link();
    bed.accept(link, false);
    let sent = bed.sent();
    assert_eq!(
        sent.iter()
            .filter(|p| matches!(p, Packet::Subscribe(_)))
            .count(),
        1,
        "{sent:?}"
    );
    // A resumed session needs no SUBSCRIBE at all.
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.advance();
    let link = bed.opened_link();
    // (the renewal's SUBACK never came: the engine resends it once)
    bed.accept(link, true);
    let sent = bed.sent();
    assert!(
        sent.iter()
            .filter(|p| matches!(p, Packet::Subscribe(_)))
            .count()
            <= 1,
        "{sent:?}"
    );
}

/// Regression: a refused SUBACK showed a green "Connected" and devices
/// never appeared, with no word why.
#[test]
fn a_refused_subscription_is_shown_per_filter() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.accept(link, false);
    bed.grant(
        link,
        &[ReasonCode::GRANTED_QOS_0, ReasonCode::UNSPECIFIED_ERROR],
    );
    let Status::Connected { subscriptions, .. } = bed.status(A) else {
        panic!("{:?}", bed.status(A));
    };
    assert_eq!(
        subscriptions,
        Subscriptions::Refused(vec![("stat/+/+".into(), ReasonCode::UNSPECIFIED_ERROR)])
    );
}

/// Regression: a toggle was allowed before the SUBACK, so its
/// confirmation could be missed.
#[test]
fn publishing_waits_for_the_suback() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let cmd = || Publish::new("cmnd/plug/POWER1", "ON");
    assert_eq!(
        bed.sup.publish(A, bed.now, cmd()),
        Err(SendError::NotReady("still connecting"))
    );
    let link = bed.opened_link();
    bed.accept(link, false);
    assert!(matches!(
        bed.status(A),
        Status::Connected {
            subscriptions: Subscriptions::Pending,
            ..
        }
    ));
    assert!(matches!(
        bed.sup.publish(A, bed.now, cmd()),
        Err(SendError::NotReady(_))
    ));
    bed.grant(link, &[ReasonCode::GRANTED_QOS_0; 2]);
    assert_eq!(bed.sup.publish(A, bed.now, cmd()), Ok(None));
    assert!(matches!(&bed.sent()[..], [Packet::Publish(p)] if p.topic == "cmnd/plug/POWER1"));
}

#[test]
fn messages_reach_the_owner_with_their_connection() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.events();
    bed.answer(link, Publish::new("stat/plug/POWER1", "ON"));
    assert_eq!(
        bed.events(),
        [Event::Message(A, Publish::new("stat/plug/POWER1", "ON"))]
    );
}

// ---- retry or give up ----

#[test]
fn a_first_attempt_that_never_opens_fails_and_stops() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.sup.handle_closed(link, bed.now, 1006, "");
    assert_eq!(bed.cause(A), Cause::Unreachable);
    assert!(failed(&bed.status(A)));
    assert_eq!(bed.sup.poll_timeout(), None, "nothing goes on after Failed");
}

/// Regression: a first attempt that ended in a CONNACK timeout showed
/// "Failed" while the engine went on reconnecting in the background.
#[test]
fn a_connack_timeout_on_the_first_attempt_fails_and_nothing_retries() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.sent();
    bed.advance();
    assert_eq!(bed.cause(A), Cause::NoConnack { waited_ms: 10_000 });
    assert!(failed(&bed.status(A)));
    assert!(bed.calls().contains(&Call::Close(link)));
    assert_eq!(bed.sup.poll_timeout(), None);
}

/// Regression, as above, for a malformed first packet.
#[test]
fn a_malformed_first_answer_fails_and_nothing_retries() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.sup.handle_bytes(link, bed.now, &[0xF0, 0x00]);
    assert!(matches!(bed.cause(A), Cause::ProtocolError { .. }));
    assert!(failed(&bed.status(A)));
    assert!(!bed.sup.wants_bytes(link));
    assert_eq!(bed.sup.poll_timeout(), None);
}

#[test]
fn a_handshake_that_never_finishes_times_out() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    assert_eq!(bed.advance(), HANDSHAKE_TIMEOUT_MS);
    assert_eq!(
        bed.cause(A),
        Cause::HandshakeTimeout {
            waited_ms: HANDSHAKE_TIMEOUT_MS
        }
    );
    assert!(bed.calls().contains(&Call::Close(link)));
    // A late "opened" for the abandoned socket changes nothing.
    bed.sup.handle_opened(link, bed.now);
    assert!(failed(&bed.status(A)));
    assert!(bed.calls().is_empty());
}

#[test]
fn a_refused_login_is_final_and_says_what_to_check() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.sent();
    bed.answer(link, ConnAck::new(false, ReasonCode::NOT_AUTHORIZED));
    let Status::Failed(d) = bed.status(A) else {
        panic!()
    };
    assert!(
        d.message.contains("user name and password"),
        "{}",
        d.message
    );
    assert_eq!(bed.sup.poll_timeout(), None);
}

#[test]
fn a_lost_connection_is_retried_on_the_backoff_and_says_when() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now = 20_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    let Status::Reconnecting {
        problem,
        attempt: 1,
        retry_at: Some(at),
    } = bed.status(A)
    else {
        panic!("{:?}", bed.status(A));
    };
    assert_eq!(
        problem.cause,
        Cause::Lost {
            code: 1006,
            reason: String::new()
        }
    );
    assert!((20_250..=20_500).contains(&at), "{at}");
    // The retry fails before the socket opens: attempt 2 follows, later.
    assert_eq!(bed.advance(), at);
    let link = bed.opened_link();
    assert_eq!(
        bed.status(A),
        Status::Connecting {
            attempt: 1,
            stage: Stage::Opening
        }
    );
    bed.sup.handle_closed(link, bed.now, 1006, "");
    let Status::Reconnecting {
        attempt: 2,
        retry_at: Some(next),
        problem,
    } = bed.status(A)
    else {
        panic!("{:?}", bed.status(A));
    };
    assert_eq!(problem.cause, Cause::Unreachable);
    assert!(next > at + 400, "backoff grows: {at} then {next}");
}

/// Regression: "Disconnect" was disabled while reconnecting.
#[test]
fn disconnect_works_in_every_state() {
    let mut bed = Bed::new();
    // While reconnecting.
    let link = bed.ready(A);
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.sup.disconnect(A, bed.now);
    assert_eq!(bed.status(A), Status::Idle);
    assert_eq!(bed.sup.poll_timeout(), None);
    // While opening.
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.sup.disconnect(A, bed.now);
    assert_eq!(bed.status(A), Status::Idle);
    assert!(bed.calls().contains(&Call::Close(link)));
    assert_eq!(bed.sup.poll_timeout(), None);
    // While connected: a DISCONNECT goes out first.
    let link = bed.ready(A);
    bed.sup.disconnect(A, bed.now);
    let calls = bed.calls();
    assert!(
        matches!(&calls[..], [Call::Send(l, bytes), Call::Close(c)]
        if *l == link && *c == link && bytes[..] == [0xE0, 0x00]),
        "{calls:?}"
    );
    assert_eq!(bed.status(A), Status::Idle);
}

/// Regression: a broker that breaks the protocol was retried forever.
#[test]
fn a_broker_that_keeps_breaking_the_protocol_is_given_up_on() {
    let mut bed = Bed::new();
    let mut link = bed.ready(A);
    for round in 1..=MAX_PROTOCOL_ERRORS {
        bed.now += 1_000;
        // A PUBLISH with QoS 3 is malformed.
        bed.sup
            .handle_bytes(link, bed.now, &[0x36, 0x03, 0x00, 0x01, b'a']);
        let Cause::ProtocolError { in_a_row, .. } = bed.cause(A) else {
            panic!()
        };
        assert_eq!(in_a_row, round);
        if round == MAX_PROTOCOL_ERRORS {
            break;
        }
        assert!(matches!(bed.status(A), Status::Reconnecting { .. }));
        bed.advance();
        link = bed.opened_link();
        bed.accept(link, false);
        bed.sent();
    }
    let Status::Failed(d) = bed.status(A) else {
        panic!("{:?}", bed.status(A))
    };
    assert!(d.message.contains("3 times in a row"), "{}", d.message);
    assert_eq!(bed.sup.poll_timeout(), None);
}

/// Regression: a WebSocket send error was ignored and the bytes dropped.
#[test]
fn a_send_that_fails_is_a_lost_connection_not_silence() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.sup.transport_mut().refuse_send = Some("the WebSocket is not open".into());
    bed.sup
        .publish(A, bed.now, Publish::new("cmnd/x/POWER", "ON"))
        .unwrap();
    assert_eq!(
        bed.cause(A),
        Cause::SendFailed("the WebSocket is not open".into())
    );
    assert!(matches!(bed.status(A), Status::Reconnecting { .. }));
    assert!(bed.calls().contains(&Call::Close(link)));
}

#[test]
fn a_client_id_taken_over_again_and_again_is_named() {
    let mut bed = Bed::new();
    let mut link = bed.ready(A);
    bed.now += 60_000;
    // A stable session lost once: an ordinary loss, retried.
    bed.sup.handle_closed(link, bed.now, 1006, "");
    assert!(matches!(bed.cause(A), Cause::Lost { .. }));
    for round in 1..=3 {
        bed.advance();
        link = bed.opened_link();
        bed.accept(link, false);
        bed.sent();
        bed.now += 300;
        bed.sup.handle_closed(link, bed.now, 1006, "");
        if round < 3 {
            // Two quick losses could be a flapping network: still retried.
            assert!(
                matches!(bed.status(A), Status::Reconnecting { .. }),
                "round {round}"
            );
        }
    }
    let Status::Failed(d) = bed.status(A) else {
        panic!("{:?}", bed.status(A))
    };
    assert_eq!(d.cause, Cause::TakenOver);
    assert!(
        d.message.contains("same client id \"panel\""),
        "{}",
        d.message
    );
}

#[test]
fn a_v5_server_disconnect_is_explained_with_its_reason_string() {
    let mut bed = Bed::new();
    bed.protocol = Protocol::V5;
    bed.connect(A, settings(VersionChoice::V5));
    let link = bed.opened_link();
    bed.accept(link, false);
    bed.grant(link, &[ReasonCode::GRANTED_QOS_0; 2]);
    bed.now += 60_000;
    let mut d = Disconnect::normal();
    d.reason_code = ReasonCode::ADMINISTRATIVE_ACTION;
    d.properties.reason_string = Some("maintenance".into());
    bed.answer(link, d);
    let Status::Reconnecting { problem, .. } = bed.status(A) else {
        panic!()
    };
    assert!(
        problem
            .message
            .contains("administrative action (maintenance)"),
        "{}",
        problem.message
    );
}

// ---- MQTT 5 with fallback ----

fn connect_level(packets: &[Packet]) -> Protocol {
    match packets {
        [Packet::Connect(c)] => c.protocol,
        other => panic!("expected one CONNECT: {other:?}"),
    }
}

#[test]
fn auto_falls_back_to_3_1_1_when_the_broker_closes_after_a_v5_connect() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::Auto));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.protocol = Protocol::V5;
    assert_eq!(connect_level(&bed.sent()), Protocol::V5);
    // RabbitMQ's Web MQTT: close code 1011, no CONNACK.
    bed.sup.handle_closed(link, bed.now, 1011, "");
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.protocol = Protocol::V311;
    assert_eq!(connect_level(&bed.sent()), Protocol::V311);
    bed.answer(link, ConnAck::new(false, ReasonCode::SUCCESS));
    let Status::Connected {
        protocol, notice, ..
    } = bed.status(A)
    else {
        panic!()
    };
    assert_eq!(protocol, Protocol::V311);
    assert!(notice.unwrap().contains("MQTT 3.1.1 only"));
}

#[test]
fn auto_falls_back_when_a_3_1_1_broker_answers_unacceptable_protocol_level() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::Auto));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.calls();
    // What a 3.1.1-only broker (aedes) answers: a 3.1.1 CONNACK, return
    // code 1 "unacceptable protocol level", then it closes.
    bed.sup
        .handle_bytes(link, bed.now, &[0x20, 0x02, 0x00, 0x01]);
    bed.sup.handle_closed(link, bed.now, 1006, "");
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    assert_eq!(connect_level(&bed.sent()), Protocol::V311);
    bed.answer(link, ConnAck::new(false, ReasonCode::SUCCESS));
    assert!(matches!(
        bed.status(A),
        Status::Connected {
            protocol: Protocol::V311,
            ..
        }
    ));
}

#[test]
fn v5_only_says_to_try_3_1_1_instead_of_falling_back() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V5));
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.sup.handle_closed(link, bed.now, 1011, "");
    let Status::Failed(d) = bed.status(A) else {
        panic!()
    };
    assert!(d.message.contains("MQTT 3.1.1 only"), "{}", d.message);
}

// ---- visible reconnect ----

#[test]
fn retry_now_does_not_wait_for_the_backoff() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.calls();
    bed.sup.retry_now(A, bed.now);
    assert!(matches!(&bed.calls()[..], [Call::Open(..)]));
    assert!(matches!(
        bed.status(A),
        Status::Connecting { attempt: 1, .. }
    ));
}

#[test]
fn offline_pauses_retries_and_online_resumes_them_at_once() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.calls();
    bed.sup.set_online(false, bed.now);
    assert!(matches!(
        bed.status(A),
        Status::Reconnecting { retry_at: None, .. }
    ));
    bed.advance();
    assert!(bed.calls().is_empty(), "no attempt while offline");
    bed.now += 30_000;
    bed.sup.set_online(true, bed.now);
    assert!(matches!(&bed.calls()[..], [Call::Open(..)]));
}

#[test]
fn the_status_says_whether_the_session_was_resumed() {
    let mut bed = Bed::new();
    let mut s = settings(VersionChoice::V311);
    s.options.clean_start = false;
    bed.sup.connect(A, s, 0).unwrap();
    let link = bed.opened_link();
    bed.accept(link, true);
    assert!(matches!(
        bed.status(A),
        Status::Connected {
            session_present: true,
            ..
        }
    ));
}

// ---- several connections ----

#[test]
fn two_connections_live_side_by_side() {
    let mut bed = Bed::new();
    let a = bed.ready(A);
    bed.connect(B, settings(VersionChoice::V311));
    let b = bed.opened_link();
    assert_ne!(a, b);
    bed.sup.handle_closed(b, bed.now, 1006, "");
    assert!(failed(&bed.status(B)));
    assert!(bed.sup.is_ready(A));
    bed.events();
    bed.answer(a, Publish::new("stat/x/POWER", "OFF"));
    assert_eq!(
        bed.events(),
        [Event::Message(A, Publish::new("stat/x/POWER", "OFF"))]
    );
}

#[test]
fn a_bad_url_fails_before_any_socket() {
    let mut bed = Bed::new();
    let mut s = settings(VersionChoice::V311);
    s.url = "mqtt://127.0.0.1:1883".into();
    let err = bed.sup.connect(A, s, 0).unwrap_err();
    assert!(err.message.contains("cannot open mqtt://"));
    assert!(failed(&bed.status(A)));
    assert!(bed.calls().is_empty());
}

#[test]
fn a_socket_the_browser_refuses_on_the_spot_is_explained() {
    let mut bed = Bed::new();
    bed.sup.transport_mut().refuse_open = Some("SecurityError: insecure".into());
    let _ = bed.sup.connect(A, settings(VersionChoice::V311), 0);
    assert_eq!(
        bed.cause(A),
        Cause::BrowserRefused("SecurityError: insecure".into())
    );
    assert!(failed(&bed.status(A)));
}

/// Review finding: a broker restarting answers "server unavailable" for a
/// moment; that must not stop reconnecting for good.
#[test]
fn a_temporary_refusal_after_a_working_connection_is_retried() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.advance();
    let link = bed.opened_link();
    bed.sup.handle_opened(link, bed.now);
    bed.sent();
    bed.answer(link, ConnAck::new(false, ReasonCode::SERVER_UNAVAILABLE));
    assert!(
        matches!(
            bed.status(A),
            Status::Reconnecting {
                retry_at: Some(_),
                ..
            }
        ),
        "{:?}",
        bed.status(A)
    );
    bed.advance();
    let link = bed.opened_link();
    bed.accept(link, false);
    assert!(matches!(bed.status(A), Status::Connected { .. }));
}

#[test]
fn a_suback_with_too_few_results_is_a_protocol_error_not_a_grant() {
    let mut bed = Bed::new();
    bed.connect(A, settings(VersionChoice::V311));
    let link = bed.opened_link();
    bed.accept(link, false);
    bed.grant(link, &[ReasonCode::GRANTED_QOS_0]);
    assert!(
        matches!(bed.cause(A), Cause::ProtocolError { .. }),
        "{:?}",
        bed.status(A)
    );
}

#[test]
fn protocol_errors_are_forgiven_after_a_stable_connection() {
    let mut bed = Bed::new();
    let mut link = bed.ready(A);
    for _ in 0..5 {
        // Up for a minute each time, then one bad packet.
        bed.now += 60_000;
        bed.sup
            .handle_bytes(link, bed.now, &[0x36, 0x03, 0x00, 0x01, b'a']);
        let Cause::ProtocolError { in_a_row, .. } = bed.cause(A) else {
            panic!()
        };
        assert_eq!(in_a_row, 1);
        bed.advance();
        link = bed.opened_link();
        bed.accept(link, false);
        bed.sent();
    }
}

#[test]
fn retry_now_works_while_the_browser_says_offline() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.sup.set_online(false, bed.now);
    bed.calls();
    bed.sup.retry_now(A, bed.now);
    assert!(
        matches!(&bed.calls()[..], [Call::Open(..)]),
        "one click opens"
    );
}

/// Review finding: a SUBSCRIBE the broker never answers left publishing
/// refused forever.
#[test]
fn a_subscribe_never_answered_gives_the_connection_up_and_retries() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.advance();
    let link = bed.opened_link();
    bed.accept(link, false);
    // The renewal goes out and nothing answers it.
    assert!(matches!(&bed.sent()[..], [Packet::Subscribe(_)]));
    let at = bed.now;
    assert_eq!(bed.advance(), at + 10_000);
    let Cause::ProtocolError { what, .. } = bed.cause(A) else {
        panic!("{:?}", bed.status(A))
    };
    assert!(what.contains("SUBSCRIBE"), "{what}");
    assert!(matches!(bed.status(A), Status::Reconnecting { .. }));
}

/// Device conventions learn state topics as they go (Home Assistant
/// discovery, custom tiles): more filters join a live connection without
/// holding back publishing, and one already there is not asked twice.
#[test]
fn more_filters_join_a_ready_connection_and_survive_a_reconnect() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.sup.subscribe_more(
        A,
        bed.now,
        vec![
            SubscribeFilter::new("stat/+/+", QoS::AtMostOnce),
            SubscribeFilter::new("devsim/kettle/state", QoS::AtMostOnce),
        ],
    );
    let sent = bed.sent();
    let [Packet::Subscribe(sub)] = &sent[..] else {
        panic!("expected one SUBSCRIBE: {sent:?}");
    };
    let filters: Vec<_> = sub.filters.iter().map(|f| f.filter.as_str()).collect();
    assert_eq!(filters, ["devsim/kettle/state"], "only the new one");
    assert!(bed.sup.is_ready(A), "publishing is not held back");
    bed.answer(
        link,
        SubAck {
            packet_id: sub.packet_id,
            properties: Properties::default(),
            reason_codes: vec![ReasonCode::GRANTED_QOS_0],
        },
    );
    // Nothing new: nothing sent.
    bed.sup.subscribe_more(
        A,
        bed.now,
        vec![SubscribeFilter::new("devsim/kettle/state", QoS::AtMostOnce)],
    );
    assert!(bed.sent().is_empty());

    // Lost: a filter added while reconnecting goes out at the next connect.
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.sup.subscribe_more(
        A,
        bed.now,
        vec![SubscribeFilter::new("devsim/lamp/state", QoS::AtMostOnce)],
    );
    bed.advance();
    let link = bed.opened_link();
    bed.accept(link, false);
    let sent = bed.sent();
    let mut asked: Vec<String> = sent
        .iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => Some(s.filters.iter().map(|f| f.filter.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "devsim/kettle/state",
            "devsim/lamp/state",
            "stat/+/+",
            "tele/+/LWT"
        ],
        "{sent:?}"
    );
}

#[test]
fn more_filters_join_a_ready_v5_connection() {
    let mut bed = Bed::new();
    bed.protocol = Protocol::V5;
    bed.connect(A, settings(VersionChoice::V5));
    let link = bed.opened_link();
    bed.accept(link, false);
    bed.grant(
        link,
        &[ReasonCode::GRANTED_QOS_0, ReasonCode::GRANTED_QOS_0],
    );
    assert!(bed.sup.is_ready(A));
    bed.sup.subscribe_more(
        A,
        bed.now,
        vec![
            SubscribeFilter::new("tasmota/garage/POWER", QoS::AtMostOnce),
            SubscribeFilter::new("cmnd/garage/POWER", QoS::AtMostOnce),
        ],
    );
    bed.grant(
        link,
        &[ReasonCode::GRANTED_QOS_0, ReasonCode::GRANTED_QOS_0],
    );
    bed.now += 1_000;
    bed.sup.handle_timeout(bed.now);
    assert!(bed.sup.is_ready(A), "{:?}", bed.status(A));
    let events = bed.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Status(_, Status::Reconnecting { .. }))),
        "{events:?}"
    );
}

/// The filters of each SUBSCRIBE and UNSUBSCRIBE sent, in order.
fn subscription_changes(sent: &[Packet]) -> Vec<String> {
    sent.iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => Some(format!(
                "+{}",
                s.filters
                    .iter()
                    .map(|f| f.filter.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            Packet::Unsubscribe(u) => Some(format!("-{}", u.filters.join(" "))),
            _ => None,
        })
        .collect()
}

/// Watching `#` (the explorer) on a connection whose devices have their
/// own filters: brokers deliver a message once per matching subscription
/// (mosquitto does for MQTT 5), so the covered filters are dropped while
/// `#` is there and come back, before it goes, when it is removed.
#[test]
fn a_covering_filter_replaces_the_ones_it_covers_and_gives_them_back() {
    let mut bed = Bed::new();
    bed.protocol = Protocol::V5;
    bed.connect(A, settings(VersionChoice::V5));
    let link = bed.opened_link();
    bed.accept(link, false);
    bed.grant(
        link,
        &[ReasonCode::GRANTED_QOS_0, ReasonCode::GRANTED_QOS_0],
    );
    bed.sup
        .subscribe_more(A, bed.now, vec![SubscribeFilter::new("#", QoS::AtMostOnce)]);
    let sent = bed.sent();
    assert_eq!(
        subscription_changes(&sent),
        ["+#", "-tele/+/LWT stat/+/+"],
        "subscribe first, then unsubscribe what it covers"
    );
    assert!(bed.sup.is_ready(A), "publishing is not held back");

    // A device filter learned meanwhile is covered: nothing sent.
    bed.sup.subscribe_more(
        A,
        bed.now,
        vec![SubscribeFilter::new("devsim/kettle/state", QoS::AtMostOnce)],
    );
    assert!(subscription_changes(&bed.sent()).is_empty());

    bed.sup.unsubscribe(A, bed.now, &["#".to_owned()]);
    assert_eq!(
        subscription_changes(&bed.sent()),
        ["+tele/+/LWT stat/+/+ devsim/kettle/state", "-#"],
        "the covered filters come back before # goes"
    );
}

#[test]
fn a_filter_changed_while_reconnecting_is_changed_at_the_next_connect() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    bed.now += 60_000;
    bed.sup.handle_closed(link, bed.now, 1006, "");
    bed.sup
        .subscribe_more(A, bed.now, vec![SubscribeFilter::new("#", QoS::AtMostOnce)]);
    bed.advance();
    let link = bed.opened_link();
    bed.accept(link, false);
    // The engine renews what it was granted, then `#` is added and the two
    // it covers go.
    assert_eq!(
        subscription_changes(&bed.sent()),
        ["+tele/+/LWT stat/+/+", "+#", "-tele/+/LWT stat/+/+"]
    );
}

/// The first SUBSCRIBE of a session leaves out what another filter covers.
#[test]
fn the_first_subscribe_leaves_out_covered_filters() {
    let mut bed = Bed::new();
    let mut settings = settings(VersionChoice::V311);
    settings
        .subscriptions
        .push(SubscribeFilter::new("#", QoS::AtMostOnce));
    // Covered only with at least its QoS.
    settings
        .subscriptions
        .push(SubscribeFilter::new("alarm/+", QoS::AtLeastOnce));
    bed.connect(A, settings);
    let link = bed.opened_link();
    bed.accept(link, false);
    assert_eq!(subscription_changes(&bed.sent()), ["+# alarm/+"]);
}

/// Subscription options are MQTT 5's: on a 3.1.1 connection the filter is
/// subscribed without them (the codec refuses to write them there).
#[test]
fn options_are_left_out_on_3_1_1_and_the_list_says_what_is_asked() {
    let mut bed = Bed::new();
    let link = bed.ready(A);
    let mut filter = SubscribeFilter::new("alarm/#", QoS::AtLeastOnce);
    filter.no_local = true;
    filter.retain_as_published = true;
    bed.sup.subscribe_more(A, bed.now, vec![filter]);
    let sent = bed.sent();
    let [Packet::Subscribe(sub)] = &sent[..] else {
        panic!("expected one SUBSCRIBE: {sent:?}");
    };
    assert_eq!(sub.filters[0].filter, "alarm/#");
    assert_eq!(sub.filters[0].qos, QoS::AtLeastOnce);
    assert!(!sub.filters[0].no_local && !sub.filters[0].retain_as_published);
    bed.answer(
        link,
        SubAck {
            packet_id: sub.packet_id,
            properties: Properties::default(),
            reason_codes: vec![ReasonCode::UNSPECIFIED_ERROR],
        },
    );
    bed.sup
        .subscribe_more(A, bed.now, vec![SubscribeFilter::new("#", QoS::AtMostOnce)]);
    let list = bed.sup.subscriptions(A);
    let find = |name: &str| {
        list.iter()
            .find(|(f, _, _)| f.filter == name)
            .cloned()
            .unwrap()
    };
    let (_, asked, refused) = find("alarm/#");
    assert!(asked, "QoS 1 is not covered by # at QoS 0");
    assert_eq!(refused, Some(ReasonCode::UNSPECIFIED_ERROR));
    let (_, asked, refused) = find("tele/+/LWT");
    assert!(!asked, "covered by #");
    assert_eq!(refused, None);
    assert!(bed.sup.subscriptions(B).is_empty());
}
