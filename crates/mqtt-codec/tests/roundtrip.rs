//! Encode → decode round trip over generated packets of every type, in both
//! protocol versions: whatever the encoder writes, the decoder reads back
//! as the same packet, in one piece or in arbitrary chunks.

use mqtt_codec::{
    decode_slice, Auth, Bytes, ConnAck, Connect, Decoder, Disconnect, LastWill, Packet, Properties,
    PropertyValues, Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode,
    RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Where a property set goes; decides which properties may be generated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ctx {
    Connect,
    Will,
    ConnAck,
    Publish,
    Ack,
    Subscribe,
    SubAck,
    Unsubscribe,
    Disconnect,
    Auth,
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _äß€😀-]{0,8}"
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_äß€$-]{1,6}(/[a-zA-Z0-9_ä-]{0,6}){0,3}"
}

fn topic_filter() -> impl Strategy<Value = String> {
    (
        vec(prop_oneof![Just("+".to_owned()), "[a-z0-9_-]{0,5}"], 1..4),
        any::<bool>(),
    )
        .prop_map(|(mut levels, hash)| {
            if hash {
                levels.push("#".to_owned());
            }
            let filter = levels.join("/");
            // A filter is at least one character long [MQTT-4.7.3-1].
            if filter.is_empty() {
                "a".to_owned()
            } else {
                filter
            }
        })
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn code(allowed: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    proptest::sample::select(allowed).prop_map(ReasonCode)
}

/// `v` if a property is allowed in `ctx`, else nothing.
fn pick<T>(ctx: Ctx, allowed: &[Ctx], v: Option<T>) -> Option<T> {
    if allowed.contains(&ctx) {
        v
    } else {
        None
    }
}

/// Every property, each present or not, then cut down to what `ctx` allows.
#[allow(clippy::field_reassign_with_default)] // one line per property reads best
fn properties(ctx: Ctx) -> BoxedStrategy<Properties> {
    use Ctx::*;
    let strings = (
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
    );
    let numbers = (
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        option::of(any::<u16>()),
        option::of(any::<u32>()),
        option::of(1..=u16::MAX),
        option::of(any::<u16>()),
        option::of(1..=u16::MAX),
        option::of(1..=u32::MAX),
    );
    let flags = (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    );
    let rest = (
        option::of(bytes(20)),
        option::of(bytes(20)),
        vec(1..=268_435_455u32, 0..3),
        vec((text(), text()), 0..3),
        any::<bool>(),
    );
    (strings, numbers, flags, rest)
        .prop_map(move |(s, n, f, r)| {
            let mut p = PropertyValues::default();
            p.content_type = pick(ctx, &[Publish, Will], s.0);
            p.response_topic = pick(ctx, &[Publish, Will], s.1);
            p.assigned_client_identifier = pick(ctx, &[ConnAck], s.2);
            p.authentication_method = pick(ctx, &[Connect, ConnAck, Auth], s.3);
            p.response_information = pick(ctx, &[ConnAck], s.4);
            p.server_reference = pick(ctx, &[ConnAck, Disconnect], s.5);
            p.reason_string = pick(ctx, &[ConnAck, Ack, SubAck, Disconnect, Auth], s.6);
            p.message_expiry_interval = pick(ctx, &[Publish, Will], n.0);
            p.session_expiry_interval = pick(ctx, &[Connect, ConnAck, Disconnect], n.1);
            p.server_keep_alive = pick(ctx, &[ConnAck], n.2);
            p.will_delay_interval = pick(ctx, &[Will], n.3);
            p.receive_maximum = pick(ctx, &[Connect, ConnAck], n.4);
            p.topic_alias_maximum = pick(ctx, &[Connect, ConnAck], n.5);
            p.topic_alias = pick(ctx, &[Publish], n.6);
            p.maximum_packet_size = pick(ctx, &[Connect, ConnAck], n.7);
            p.payload_format_indicator = pick(ctx, &[Publish, Will], f.0);
            p.request_problem_information = pick(ctx, &[Connect], f.1);
            p.request_response_information = pick(ctx, &[Connect], f.2);
            p.maximum_qos = pick(ctx, &[ConnAck], f.3);
            p.retain_available = pick(ctx, &[ConnAck], f.4);
            p.wildcard_subscription_available = pick(ctx, &[ConnAck], f.5);
            p.subscription_identifier_available = pick(ctx, &[ConnAck], f.6);
            p.shared_subscription_available = pick(ctx, &[ConnAck], f.7);
            p.correlation_data = pick(ctx, &[Publish, Will], r.0);
            p.authentication_data = pick(ctx, &[Connect, ConnAck, Auth], r.1);
            p.subscription_identifiers = match ctx {
                Publish => r.2,
                Subscribe => r.2.into_iter().take(1).collect(),
                _ => Vec::new(),
            };
            // User properties are allowed everywhere; leave some sets empty.
            if r.4 {
                p.user_properties = r.3;
            }
            Properties::from(p)
        })
        .boxed()
}

/// Properties for `ctx` in MQTT 5; none in MQTT 3.1.1.
fn props(v5: bool, ctx: Ctx) -> BoxedStrategy<Properties> {
    if v5 {
        properties(ctx)
    } else {
        Just(Properties::default()).boxed()
    }
}

fn connect(v5: bool) -> impl Strategy<Value = Packet> {
    let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
    let will = (
        topic_name(),
        bytes(40),
        qos(),
        any::<bool>(),
        props(v5, Ctx::Will),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| LastWill {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    (
        text(),
        any::<bool>(),
        any::<u16>(),
        props(v5, Ctx::Connect),
        option::of(will),
        option::of(text()),
        option::of(bytes(12)),
    )
        .prop_map(
            move |(client_id, clean_start, keep_alive, properties, will, username, password)| {
                // MQTT 3.1.1 allows a password only with a user name, and an
                // empty client id only with a clean session.
                let password = if v5 || username.is_some() {
                    password
                } else {
                    None
                };
                let clean_start = clean_start || (!v5 && client_id.is_empty());
                Packet::from(Connect {
                    protocol,
                    client_id,
                    clean_start,
                    keep_alive,
                    properties,
                    will,
                    username,
                    password,
                })
            },
        )
}

const CONNACK_V5: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const CONNACK_V311: &[u8] = &[0x00, 0x84, 0x85, 0x88, 0x86, 0x87];
const PUBACK: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL: &[u8] = &[0x00, 0x92];
const SUBACK_V5: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const SUBACK_V311: &[u8] = &[0x00, 0x01, 0x02, 0x80];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

fn packet(v5: bool) -> BoxedStrategy<Packet> {
    let success = || Just(ReasonCode::SUCCESS).boxed();
    let ack_code = move |allowed: &'static [u8]| if v5 { code(allowed).boxed() } else { success() };
    let connack = (
        any::<bool>(),
        if v5 {
            code(CONNACK_V5).boxed()
        } else {
            code(CONNACK_V311).boxed()
        },
        props(v5, Ctx::ConnAck),
    )
        .prop_map(|(session, reason_code, properties)| {
            // A refusal never claims a session [MQTT-3.2.2-6].
            let session_present = session && reason_code.is_success();
            Packet::from(ConnAck {
                session_present,
                reason_code,
                properties,
            })
        });
    let publish = (
        topic_name(),
        qos(),
        any::<bool>(),
        any::<bool>(),
        1..=u16::MAX,
        props(v5, Ctx::Publish),
        bytes(300),
        any::<bool>(),
    )
        .prop_map(
            move |(topic, qos, retain, dup, id, properties, payload, empty_topic)| {
                let qos0 = qos == QoS::AtMostOnce;
                // MQTT 5: an empty topic name is allowed with a topic alias.
                let topic = if v5 && empty_topic && properties.topic_alias.is_some() {
                    String::new()
                } else {
                    topic
                };
                Packet::from(Publish {
                    dup: dup && !qos0,
                    qos,
                    retain,
                    topic,
                    packet_id: (!qos0).then_some(id),
                    properties,
                    payload,
                })
            },
        );
    let ack = (
        0..4u8,
        1..=u16::MAX,
        ack_code(PUBACK),
        ack_code(PUBREL),
        props(v5, Ctx::Ack),
    )
        .prop_map(
            |(kind, packet_id, puback_code, pubrel_code, properties)| match kind {
                0 => Packet::from(PubAck {
                    packet_id,
                    reason_code: puback_code,
                    properties,
                }),
                1 => Packet::from(PubRec {
                    packet_id,
                    reason_code: puback_code,
                    properties,
                }),
                2 => Packet::from(PubRel {
                    packet_id,
                    reason_code: pubrel_code,
                    properties,
                }),
                _ => Packet::from(PubComp {
                    packet_id,
                    reason_code: pubrel_code,
                    properties,
                }),
            },
        );
    let filter = (topic_filter(), qos(), any::<bool>(), any::<bool>(), 0..3u8).prop_map(
        move |(filter, qos, no_local, rap, rh)| {
            let mut f = SubscribeFilter::new(filter, qos);
            if v5 {
                f.no_local = no_local;
                f.retain_as_published = rap;
                f.retain_handling = match rh {
                    0 => RetainHandling::SendAtSubscribe,
                    1 => RetainHandling::SendAtSubscribeIfNew,
                    _ => RetainHandling::DoNotSend,
                };
            }
            f
        },
    );
    let subscribe = (1..=u16::MAX, props(v5, Ctx::Subscribe), vec(filter, 1..4)).prop_map(
        |(packet_id, properties, filters)| {
            Packet::from(Subscribe {
                packet_id,
                properties,
                filters,
            })
        },
    );
    let suback = (
        1..=u16::MAX,
        props(v5, Ctx::SubAck),
        vec(
            if v5 {
                code(SUBACK_V5).boxed()
            } else {
                code(SUBACK_V311).boxed()
            },
            0..4,
        ),
    )
        .prop_map(|(packet_id, properties, reason_codes)| {
            Packet::from(SubAck {
                packet_id,
                properties,
                reason_codes,
            })
        });
    let unsubscribe = (
        1..=u16::MAX,
        props(v5, Ctx::Unsubscribe),
        vec(topic_filter(), 1..4),
    )
        .prop_map(|(packet_id, properties, filters)| {
            Packet::from(Unsubscribe {
                packet_id,
                properties,
                filters,
            })
        });
    let unsuback = (
        1..=u16::MAX,
        props(v5, Ctx::SubAck),
        vec(code(UNSUBACK), 0..4),
    )
        .prop_map(move |(packet_id, properties, codes)| {
            let reason_codes = if v5 { codes } else { Vec::new() };
            Packet::from(UnsubAck {
                packet_id,
                properties,
                reason_codes,
            })
        });
    let disconnect =
        (ack_code(DISCONNECT), props(v5, Ctx::Disconnect)).prop_map(|(reason_code, properties)| {
            Packet::from(Disconnect {
                reason_code,
                properties,
            })
        });
    let mut all = vec![
        connect(v5).boxed(),
        connack.boxed(),
        publish.boxed(),
        ack.boxed(),
        subscribe.boxed(),
        suback.boxed(),
        unsubscribe.boxed(),
        unsuback.boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect.boxed(),
    ];
    if v5 {
        let auth = (code(AUTH), properties(Ctx::Auth)).prop_map(|(reason_code, properties)| {
            Packet::from(Auth {
                reason_code,
                properties,
            })
        });
        all.push(auth.boxed());
    }
    proptest::strategy::Union::new(all).boxed()
}

fn protocol_and_packets() -> impl Strategy<Value = (Protocol, Vec<Packet>)> {
    any::<bool>().prop_flat_map(|v5| {
        let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
        (Just(protocol), vec(packet(v5), 1..6))
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_packet_round_trips(packet in prop_oneof![packet(false), packet(true)]) {
        // Which version generated it: anything with v5-only content must be
        // encoded as v5; try 3.1.1 first and fall back.
        let (protocol, bytes) = {
            let mut out = Vec::new();
            match packet.encode(Protocol::V311, &mut out) {
                Ok(()) => (Protocol::V311, out),
                Err(_) => {
                    out.clear();
                    packet.encode(Protocol::V5, &mut out).expect("a generated packet encodes");
                    (Protocol::V5, out)
                }
            }
        };
        let decoded = decode_slice(&bytes, protocol, usize::MAX);
        prop_assert_eq!(decoded, Ok(Some((packet, bytes.len()))));
    }

    #[test]
    fn streams_round_trip_in_any_chunking(
        (protocol, packets) in protocol_and_packets(),
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut bytes = Vec::new();
        for p in &packets {
            p.encode(protocol, &mut bytes).expect("a generated packet encodes");
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut decoder = Decoder::new(protocol, usize::MAX);
        let mut got = Vec::new();
        let mut from = 0;
        for to in points.into_iter().chain([bytes.len()]) {
            decoder.feed(&bytes[from..to]);
            from = to;
            while let Some(p) = decoder.next_packet().expect("valid stream") {
                got.push(p);
            }
        }
        prop_assert_eq!(got, packets);
        prop_assert_eq!(decoder.buffered(), 0);
    }
}
