//! Writes the seed corpus of the `decode` fuzz target by encoding packets.
//!
//! ```text
//! cargo run --manifest-path crates/mqtt-codec/fuzz/Cargo.toml --example seed_corpus
//! ```
//!
//! Each seed is a control byte (see `../check.rs`) and a byte stream: every
//! packet type as a valid stream in MQTT 3.1.1 (split in the middle) and in
//! MQTT 5.0 with properties (split early), a whole session in both, and
//! streams that must be refused. A seed is written as `seed-<name>` unless a
//! corpus file already holds its bytes (`cargo fuzz cmin` renames files to
//! their hash). Every seed passes the fuzz checks before it is written.
//!
//! This lives in the fuzz crate rather than in `cargo test` so that
//! reshaping a packet type does not break the stable test suite: the
//! committed corpus is what the tests replay.

#[path = "../check.rs"]
mod check;

use std::fs;
use std::path::Path;

use mqtt_codec::{
    decode_slice, Auth, ConnAck, Connect, Disconnect, LastWill, Packet, Properties, PropertyValues,
    Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling, SubAck,
    Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};

use check::{check, control_byte, MAX_PACKET_SIZE};

const V311: Protocol = Protocol::V311;
const V5: Protocol = Protocol::V5;
const TOPIC: &str = "stat/kitchen/POWER";

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode");
    fs::create_dir_all(&dir).expect("create the corpus folder");
    let existing: Vec<Vec<u8>> = fs::read_dir(&dir)
        .expect("read the corpus folder")
        .map(|entry| fs::read(entry.expect("corpus entry").path()).expect("read a corpus file"))
        .collect();
    let seeds = seeds();
    let mut written = 0;
    for (name, data) in &seeds {
        check(data);
        if !existing.contains(data) {
            fs::write(dir.join(format!("seed-{name}")), data).expect("write a seed");
            written += 1;
        }
    }
    println!(
        "{written} of {} seeds written to {}",
        seeds.len(),
        dir.display()
    );
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (protocol, eighths, suffix) in [(V311, 4, "v311"), (V5, 3, "v5")] {
        for (name, packets) in valid_streams(protocol) {
            let stream = encode_all(&packets, protocol);
            assert_decodes_to(&stream, &packets, protocol, name);
            seeds.push((
                format!("{name}-{suffix}"),
                with_control(protocol, eighths, &stream),
            ));
        }
    }
    for (name, protocol, stream) in malformed_streams() {
        assert!(
            decode_slice(&stream, protocol, MAX_PACKET_SIZE).is_err(),
            "{name} should not decode"
        );
        seeds.push((name.to_owned(), with_control(protocol, 4, &stream)));
    }
    seeds
}

fn with_control(protocol: Protocol, eighths: u8, stream: &[u8]) -> Vec<u8> {
    let mut data = vec![control_byte(protocol, eighths)];
    data.extend_from_slice(stream);
    data
}

fn assert_decodes_to(stream: &[u8], packets: &[Packet], protocol: Protocol, name: &str) {
    let mut offset = 0;
    for packet in packets {
        let (decoded, used) = decode_slice(&stream[offset..], protocol, MAX_PACKET_SIZE)
            .unwrap_or_else(|err| panic!("{name} ({protocol:?}): {err}"))
            .unwrap_or_else(|| panic!("{name} ({protocol:?}): incomplete"));
        assert_eq!(&decoded, packet, "{name} ({protocol:?})");
        offset += used;
    }
    assert_eq!(offset, stream.len(), "{name} ({protocol:?})");
}

fn encode_all(packets: &[Packet], protocol: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    for packet in packets {
        if let Err(err) = packet.encode(protocol, &mut out) {
            panic!("seed does not encode ({protocol:?}): {err}\n{packet:?}");
        }
    }
    out
}

/// Valid streams in `protocol`, by name.
fn valid_streams(p: Protocol) -> Vec<(&'static str, Vec<Packet>)> {
    let mut streams = vec![
        (
            "connect-minimal",
            vec![Connect::new(p, "plugboard-1").into()],
        ),
        ("connect-full", vec![connect_full(p)]),
        ("connack-accepted", vec![connack_accepted(p)]),
        ("connack-refused", vec![connack_refused(p)]),
        ("publish-qos0", vec![Publish::new(TOPIC, "ON").into()]),
        ("publish-qos1", vec![publish_qos1(p)]),
        ("publish-qos2", vec![publish_qos2()]),
        ("puback", vec![puback(p)]),
        ("pubrec", vec![PubRec::new(9).into()]),
        ("pubrel", vec![pubrel(p)]),
        ("pubcomp", vec![PubComp::new(9).into()]),
        ("subscribe", vec![subscribe(p)]),
        ("suback", vec![suback(p)]),
        (
            "unsubscribe",
            vec![Unsubscribe::new(2, vec!["stat/#".into(), "tele/+/LWT".into()]).into()],
        ),
        ("unsuback", vec![unsuback(p)]),
        ("pingreq", vec![Packet::PingReq]),
        ("pingresp", vec![Packet::PingResp]),
        ("disconnect", vec![Disconnect::normal().into()]),
        (
            "session",
            vec![
                Connect::new(p, "plugboard-1").into(),
                connack_accepted(p),
                subscribe(p),
                suback(p),
                publish_qos1(p),
                puback(p),
                Packet::PingReq,
                Packet::PingResp,
                Disconnect::normal().into(),
            ],
        ),
    ];
    if p == V5 {
        streams.extend([
            (
                "disconnect-with-reason",
                vec![Disconnect {
                    reason_code: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
                    properties: props(|v| v.reason_string = Some("bye".into())),
                }
                .into()],
            ),
            (
                "auth",
                vec![Auth {
                    reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
                    properties: props(|v| {
                        v.authentication_method = Some("SCRAM-SHA-1".into());
                        v.authentication_data = Some(b"n,,n=user,r=abc"[..].into());
                    }),
                }
                .into()],
            ),
        ]);
    }
    streams
}

/// Properties with some values set.
fn props(set: impl FnOnce(&mut PropertyValues)) -> Properties {
    let mut values = PropertyValues::default();
    set(&mut values);
    values.into()
}

/// `props(set)` in MQTT 5, none in MQTT 3.1.1.
fn props_in(p: Protocol, set: impl FnOnce(&mut PropertyValues)) -> Properties {
    if p == V5 {
        props(set)
    } else {
        Properties::default()
    }
}

fn connect_full(p: Protocol) -> Packet {
    Connect {
        clean_start: false,
        keep_alive: 10,
        properties: props_in(p, |v| {
            v.session_expiry_interval = Some(3600);
            v.receive_maximum = Some(20);
            v.maximum_packet_size = Some(1 << 16);
            v.request_problem_information = Some(true);
            v.user_properties = vec![("app".into(), "plugboard".into())];
        }),
        will: Some(LastWill {
            qos: QoS::AtLeastOnce,
            properties: props_in(p, |v| {
                v.will_delay_interval = Some(5);
                v.content_type = Some("text/plain".into());
            }),
            ..LastWill::new("tele/kitchen/LWT", "Offline", true)
        }),
        username: Some("user".into()),
        password: Some(b"\x00\xffpw"[..].into()),
        ..Connect::new(p, "c")
    }
    .into()
}

fn connack_accepted(p: Protocol) -> Packet {
    ConnAck {
        properties: props_in(p, |v| {
            v.assigned_client_identifier = Some("auto-1".into());
            v.topic_alias_maximum = Some(10);
            v.maximum_qos = Some(QoS::AtLeastOnce);
            v.retain_available = Some(false);
            v.server_keep_alive = Some(30);
        }),
        ..ConnAck::new(false, ReasonCode::SUCCESS)
    }
    .into()
}

fn connack_refused(p: Protocol) -> Packet {
    ConnAck {
        properties: props_in(p, |v| v.reason_string = Some("acl".into())),
        ..ConnAck::new(false, ReasonCode::NOT_AUTHORIZED)
    }
    .into()
}

fn publish_qos1(p: Protocol) -> Packet {
    Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        packet_id: Some(7),
        properties: props_in(p, |v| {
            v.payload_format_indicator = Some(true);
            v.message_expiry_interval = Some(60);
            v.topic_alias = Some(3);
            v.response_topic = Some("cmnd/kitchen/reply".into());
            v.correlation_data = Some(b"\x01\x02"[..].into());
            v.subscription_identifiers = vec![1, 268_435_455];
        }),
        ..Publish::new(TOPIC, "ON")
    }
    .into()
}

fn publish_qos2() -> Packet {
    Publish {
        qos: QoS::ExactlyOnce,
        packet_id: Some(0xffff),
        ..Publish::new(TOPIC, &b"\x00\xff binary"[..])
    }
    .into()
}

fn puback(p: Protocol) -> Packet {
    if p == V311 {
        return PubAck::new(7).into();
    }
    PubAck {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        properties: props(|v| v.reason_string = Some("nobody".into())),
        ..PubAck::new(7)
    }
    .into()
}

fn pubrel(p: Protocol) -> Packet {
    if p == V311 {
        return PubRel::new(9).into();
    }
    PubRel {
        reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        ..PubRel::new(9)
    }
    .into()
}

fn subscribe(p: Protocol) -> Packet {
    let mut filters = vec![
        SubscribeFilter::new("tele/+/LWT", QoS::AtLeastOnce),
        SubscribeFilter::new("stat/#", QoS::AtMostOnce),
    ];
    if p == V5 {
        filters.push(SubscribeFilter {
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
            ..SubscribeFilter::new("cmnd/+/POWER", QoS::ExactlyOnce)
        });
        filters.push(SubscribeFilter {
            retain_handling: RetainHandling::SendAtSubscribeIfNew,
            ..SubscribeFilter::new("$share/dash/tele/+/STATE", QoS::AtLeastOnce)
        });
    }
    Subscribe {
        properties: props_in(p, |v| v.subscription_identifiers = vec![7]),
        ..Subscribe::new(1, filters)
    }
    .into()
}

fn suback(p: Protocol) -> Packet {
    let mut reason_codes = vec![
        ReasonCode::GRANTED_QOS_1,
        ReasonCode::GRANTED_QOS_0,
        ReasonCode::UNSPECIFIED_ERROR,
    ];
    if p == V5 {
        reason_codes.push(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
    }
    SubAck {
        packet_id: 1,
        properties: props_in(p, |v| {
            v.user_properties = vec![("granted".into(), "partly".into())];
        }),
        reason_codes,
    }
    .into()
}

fn unsuback(p: Protocol) -> Packet {
    UnsubAck {
        packet_id: 2,
        properties: Properties::default(),
        reason_codes: if p == V5 {
            vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
        } else {
            Vec::new()
        },
    }
    .into()
}

/// Streams the decoder must refuse, by name and protocol: mostly an encoded
/// packet with one byte made wrong.
fn malformed_streams() -> Vec<(&'static str, Protocol, Vec<u8>)> {
    let connect = encode_all(&[Connect::new(V311, "plugboard-1").into()], V311);
    let publish = encode_all(&[publish_qos2()], V311);
    let subscribe = encode_all(&[subscribe(V311)], V311);
    let suback = encode_all(&[suback(V311)], V311);
    let with = |bytes: &[u8], at: usize, value: u8| {
        let mut bytes = bytes.to_vec();
        bytes[at] = value;
        bytes
    };
    // PUBLISH: fixed header (2), topic length (2), topic, then the packet id
    // (QoS > 0) or, in MQTT 5 at QoS 0, the property length.
    let after_topic = 2 + 2 + TOPIC.len();
    let mut trailing = encode_all(&[Packet::PingReq], V311);
    trailing[1] = 1;
    trailing.push(0);
    // MQTT 5 PUBLISH, QoS 0, with one property: topic alias 1.
    let aliased = encode_all(
        &[Publish {
            properties: props(|v| v.topic_alias = Some(1)),
            ..Publish::new(TOPIC, "ON")
        }
        .into()],
        V5,
    );
    let (prop_len, prop_id) = (after_topic, after_topic + 1);
    let auth = encode_all(&[Auth::default().into()], V5);
    vec![
        // Remaining length 268 435 455: far above the maximum packet size.
        ("too-large", V311, vec![0x30, 0xff, 0xff, 0xff, 0x7f]),
        (
            "varint-5-bytes",
            V311,
            vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        ("type-0", V311, vec![0x00, 0x00]),
        ("type-15-v311", V311, vec![0xf0, 0x00]),
        ("pingreq-flags", V311, vec![0xc1, 0x00]),
        ("pingreq-trailing", V311, trailing),
        ("connect-protocol-name", V311, with(&connect, 7, b'X')),
        ("connect-level-3", V311, with(&connect, 8, 3)),
        ("connect-reserved-flag", V311, with(&connect, 9, 0x03)),
        ("publish-qos3", V311, with(&publish, 0, 0x36)),
        ("publish-wildcard-topic", V311, with(&publish, 8, b'+')),
        (
            "publish-packet-id-0",
            V311,
            with(&with(&publish, after_topic, 0), after_topic + 1, 0),
        ),
        ("subscribe-no-filters", V311, vec![0x82, 0x02, 0x00, 0x01]),
        (
            "subscribe-qos3",
            V311,
            with(&subscribe, subscribe.len() - 1, 3),
        ),
        ("suback-code-3", V311, with(&suback, 5, 3)),
        ("connack-code-6", V311, vec![0x20, 0x02, 0x00, 0x06]),
        ("v5-unknown-property", V5, with(&aliased, prop_id, 0x7f)),
        ("v5-property-not-allowed", V5, with(&aliased, prop_id, 0x13)),
        ("v5-topic-alias-0", V5, with(&aliased, prop_id + 2, 0)),
        (
            "v5-property-length-overrun",
            V5,
            with(&aliased, prop_len, 0x7f),
        ),
        ("v5-auth-reason", V5, with(&auth, auth.len() - 2, 0x01)),
    ]
}
