//! Byte-exact vectors, hand-annotated from the MQTT 3.1.1 specification,
//! and the decoder's behaviour on chunked, oversized and malformed input.

use mqtt_codec::{
    decode_slice, Auth, Bytes, ConnAck, Connect, DecodeError, Decoder, Disconnect, EncodeError,
    LastWill, Packet, PacketType, Properties, Protocol, PubAck, PubComp, PubRec, PubRel, Publish,
    QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};

const MAX: usize = 1 << 20;
const V3: Protocol = Protocol::V311;
const V5: Protocol = Protocol::V5;

/// `vector!(name, protocol, packet, bytes)`: the packet encodes to exactly
/// these bytes, and the bytes decode to exactly this packet.
macro_rules! vector {
    ($name:ident, $protocol:expr, $packet:expr, $bytes:expr) => {
        #[test]
        fn $name() {
            let packet: Packet = $packet.into();
            let bytes: &[u8] = &$bytes;
            let mut out = Vec::new();
            packet.encode($protocol, &mut out).expect("encodes");
            assert_eq!(out, bytes, "encoding");
            let (decoded, used) = decode_slice(bytes, $protocol, MAX)
                .expect("decodes")
                .expect("complete");
            assert_eq!(used, bytes.len());
            assert_eq!(decoded, packet, "decoding");
        }
    };
}

/// `decodes!(name, protocol, bytes, packet)`: a legal form the encoder does
/// not produce (e.g. an omitted reason code) decodes to this packet.
macro_rules! decodes {
    ($name:ident, $protocol:expr, $bytes:expr, $packet:expr) => {
        #[test]
        fn $name() {
            let bytes: &[u8] = &$bytes;
            let packet: Packet = $packet.into();
            assert_eq!(
                decode_slice(bytes, $protocol, MAX),
                Ok(Some((packet, bytes.len())))
            );
        }
    };
}

/// `malformed!(name, protocol, bytes, error)`: decoding fails with `error`.
macro_rules! malformed {
    ($name:ident, $protocol:expr, $bytes:expr, $err:expr) => {
        #[test]
        fn $name() {
            let bytes: &[u8] = &$bytes;
            assert_eq!(decode_slice(bytes, $protocol, MAX), Err($err));
        }
    };
}

fn props(f: impl FnOnce(&mut Properties)) -> Properties {
    let mut p = Properties::default();
    f(&mut p);
    p
}

// ---- MQTT 3.1.1 ----

vector!(
    v3_connect_minimal,
    V3,
    Connect {
        keep_alive: 60,
        ..Connect::new(V3, "ab")
    },
    [
        0x10, 14, // CONNECT, remaining length
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x04, // protocol level 4
        0x02, // flags: clean session
        0x00, 0x3c, // keep alive 60 s
        0x00, 0x02, b'a', b'b', // client id
    ]
);

vector!(
    v3_connect_full,
    V3,
    Connect {
        clean_start: false,
        keep_alive: 10,
        will: Some(LastWill {
            qos: QoS::AtLeastOnce,
            ..LastWill::new("t/LWT", Bytes::from_static(b"Offline"), true)
        }),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"pw")),
        ..Connect::new(V3, "c")
    },
    [
        0x10,
        36, // CONNECT
        0x00,
        0x04,
        b'M',
        b'Q',
        b'T',
        b'T',
        0x04,        // "MQTT", level 4
        0b1110_1100, // user, password, will retain, will QoS 1, will flag
        0x00,
        0x0a, // keep alive
        0x00,
        0x01,
        b'c', // client id
        0x00,
        0x05,
        b't',
        b'/',
        b'L',
        b'W',
        b'T', // will topic
        0x00,
        0x07,
        b'O',
        b'f',
        b'f',
        b'l',
        b'i',
        b'n',
        b'e', // will payload
        0x00,
        0x01,
        b'u', // user name
        0x00,
        0x02,
        b'p',
        b'w', // password
    ]
);

vector!(
    v3_connack_accepted,
    V3,
    ConnAck::new(true, ReasonCode::SUCCESS),
    [0x20, 0x02, 0x01, 0x00]
);

// 3.1.1 return code 5 is MQTT 5's 0x87 "not authorized".
vector!(
    v3_connack_not_authorized,
    V3,
    ConnAck::new(false, ReasonCode::NOT_AUTHORIZED),
    [0x20, 0x02, 0x00, 0x05]
);
vector!(
    v3_connack_bad_password,
    V3,
    ConnAck::new(false, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
    [0x20, 0x02, 0x00, 0x04]
);

vector!(
    v3_publish_qos0,
    V3,
    Publish::new("a/b", Bytes::from_static(b"ON")),
    [0x30, 7, 0x00, 0x03, b'a', b'/', b'b', b'O', b'N']
);

vector!(
    v3_publish_qos1_retained_dup,
    V3,
    Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        packet_id: Some(10),
        ..Publish::new("a", Bytes::new())
    },
    [0x3b, 5, 0x00, 0x01, b'a', 0x00, 0x0a]
);

vector!(
    v3_publish_qos2,
    V3,
    Publish {
        qos: QoS::ExactlyOnce,
        packet_id: Some(0x1234),
        ..Publish::new("a", Bytes::from_static(b"x"))
    },
    [0x34, 6, 0x00, 0x01, b'a', 0x12, 0x34, b'x']
);

vector!(v3_puback, V3, PubAck::new(10), [0x40, 0x02, 0x00, 0x0a]);
vector!(v3_pubrec, V3, PubRec::new(10), [0x50, 0x02, 0x00, 0x0a]);
vector!(v3_pubrel, V3, PubRel::new(10), [0x62, 0x02, 0x00, 0x0a]);
vector!(v3_pubcomp, V3, PubComp::new(10), [0x70, 0x02, 0x00, 0x0a]);

vector!(
    v3_subscribe_two_filters,
    V3,
    Subscribe::new(
        1,
        vec![
            SubscribeFilter::new("stat/+/POWER", QoS::AtMostOnce),
            SubscribeFilter::new("#", QoS::ExactlyOnce),
        ],
    ),
    [
        0x82, 21, // SUBSCRIBE with its required flags 0010
        0x00, 0x01, // packet id
        0x00, 0x0c, b's', b't', b'a', b't', b'/', b'+', b'/', b'P', b'O', b'W', b'E', b'R', 0x00,
        0x00, 0x01, b'#', 0x02,
    ]
);

vector!(
    v3_suback_mixed,
    V3,
    SubAck {
        packet_id: 1,
        properties: Properties::default(),
        reason_codes: vec![
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GRANTED_QOS_2,
            ReasonCode::UNSPECIFIED_ERROR
        ],
    },
    [0x90, 5, 0x00, 0x01, 0x00, 0x02, 0x80]
);

vector!(
    v3_unsubscribe,
    V3,
    Unsubscribe::new(3, vec!["a/+".into(), "b".into()]),
    [0xa2, 10, 0x00, 0x03, 0x00, 0x03, b'a', b'/', b'+', 0x00, 0x01, b'b']
);

vector!(
    v3_unsuback,
    V3,
    UnsubAck {
        packet_id: 3,
        properties: Properties::default(),
        reason_codes: vec![]
    },
    [0xb0, 0x02, 0x00, 0x03]
);

vector!(v3_pingreq, V3, Packet::PingReq, [0xc0, 0x00]);
vector!(v3_pingresp, V3, Packet::PingResp, [0xd0, 0x00]);
vector!(v3_disconnect, V3, Disconnect::normal(), [0xe0, 0x00]);

// ---- MQTT 5.0 ----

vector!(
    v5_connect_with_properties_and_will,
    V5,
    Connect {
        keep_alive: 30,
        properties: props(|p| {
            p.session_expiry_interval = Some(3600);
            p.receive_maximum = Some(20);
            p.user_properties = vec![("k".into(), "v".into())];
        }),
        will: Some(LastWill {
            properties: props(|p| p.will_delay_interval = Some(5)),
            ..LastWill::new("w", Bytes::from_static(b"bye"), false)
        }),
        password: Some(Bytes::from_static(b"p")),
        ..Connect::new(V5, "c")
    },
    [
        0x10,
        46, // CONNECT
        0x00,
        0x04,
        b'M',
        b'Q',
        b'T',
        b'T',
        0x05,        // "MQTT", level 5
        0b0100_0110, // password (allowed alone in MQTT 5), will QoS 0, will, clean start
        0x00,
        0x1e, // keep alive 30 s
        15,   // property length
        0x11,
        0x00,
        0x00,
        0x0e,
        0x10, // session expiry 3600
        0x21,
        0x00,
        0x14, // receive maximum 20
        0x26,
        0x00,
        0x01,
        b'k',
        0x00,
        0x01,
        b'v', // user property k=v
        0x00,
        0x01,
        b'c', // client id
        5,    // will property length
        0x18,
        0x00,
        0x00,
        0x00,
        0x05, // will delay 5 s
        0x00,
        0x01,
        b'w', // will topic
        0x00,
        0x03,
        b'b',
        b'y',
        b'e', // will payload
        0x00,
        0x01,
        b'p', // password
    ]
);

vector!(
    v5_connack_with_properties,
    V5,
    ConnAck {
        properties: props(|p| {
            p.assigned_client_identifier = Some("id".into());
            p.topic_alias_maximum = Some(10);
            p.maximum_qos = Some(QoS::AtLeastOnce);
        }),
        ..ConnAck::new(false, ReasonCode::SUCCESS)
    },
    [
        0x20, 13, // CONNACK
        0x00, 0x00, // no session, success
        10,   // property length
        0x12, 0x00, 0x02, b'i', b'd', // assigned client identifier
        0x22, 0x00, 0x0a, // topic alias maximum 10
        0x24, 0x01, // maximum QoS 1
    ]
);

vector!(
    v5_connack_refused_with_reason_string,
    V5,
    ConnAck {
        properties: props(|p| p.reason_string = Some("no".into())),
        ..ConnAck::new(false, ReasonCode::NOT_AUTHORIZED)
    },
    [0x20, 8, 0x00, 0x87, 5, 0x1f, 0x00, 0x02, b'n', b'o']
);

vector!(
    v5_publish_qos1_with_properties,
    V5,
    Publish {
        qos: QoS::AtLeastOnce,
        packet_id: Some(7),
        properties: props(|p| {
            p.payload_format_indicator = Some(true);
            p.content_type = Some("t".into());
            p.subscription_identifiers = vec![1, 300];
            p.topic_alias = Some(2);
        }),
        ..Publish::new("a/b", Bytes::from_static(b"hi"))
    },
    [
        0x32, 24, // PUBLISH QoS 1
        0x00, 0x03, b'a', b'/', b'b', // topic
        0x00, 0x07, // packet id
        14,   // property length
        0x01, 0x01, // payload format indicator: UTF-8
        0x03, 0x00, 0x01, b't', // content type
        0x0b, 0x01, // subscription identifier 1
        0x0b, 0xac, 0x02, // subscription identifier 300 (variable byte integer)
        0x23, 0x00, 0x02, // topic alias 2
        b'h', b'i', // payload
    ]
);

vector!(
    v5_publish_empty_topic_with_alias,
    V5,
    Publish {
        properties: props(|p| p.topic_alias = Some(2)),
        ..Publish::new("", Bytes::from_static(b"x"))
    },
    [0x30, 7, 0x00, 0x00, 3, 0x23, 0x00, 0x02, b'x']
);

vector!(
    v5_puback_short,
    V5,
    PubAck::new(7),
    [0x40, 0x02, 0x00, 0x07]
);
vector!(
    v5_puback_no_subscribers,
    V5,
    PubAck {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..PubAck::new(7)
    },
    [0x40, 0x04, 0x00, 0x07, 0x10, 0x00]
);
vector!(
    v5_puback_not_authorized_with_reason,
    V5,
    PubAck {
        reason_code: ReasonCode::NOT_AUTHORIZED,
        properties: props(|p| p.reason_string = Some("acl".into())),
        ..PubAck::new(7)
    },
    [0x40, 10, 0x00, 0x07, 0x87, 6, 0x1f, 0x00, 0x03, b'a', b'c', b'l']
);
vector!(v5_pubrec, V5, PubRec::new(8), [0x50, 0x02, 0x00, 0x08]);
vector!(
    v5_pubrel_not_found,
    V5,
    PubRel {
        reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        ..PubRel::new(8)
    },
    [0x62, 0x04, 0x00, 0x08, 0x92, 0x00]
);
vector!(v5_pubcomp, V5, PubComp::new(8), [0x70, 0x02, 0x00, 0x08]);

vector!(
    v5_subscribe_with_options_and_identifier,
    V5,
    Subscribe {
        properties: props(|p| p.subscription_identifiers = vec![7]),
        ..Subscribe::new(
            2,
            vec![SubscribeFilter {
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
                ..SubscribeFilter::new("a/#", QoS::AtLeastOnce)
            }],
        )
    },
    [
        0x82,
        11, // SUBSCRIBE
        0x00,
        0x02, // packet id
        2,
        0x0b,
        0x07, // properties: subscription identifier 7
        0x00,
        0x03,
        b'a',
        b'/',
        b'#',        // filter
        0b0010_1101, // retain handling 2, retain as published, no local, QoS 1
    ]
);

vector!(
    v5_suback,
    V5,
    SubAck {
        packet_id: 2,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::NOT_AUTHORIZED],
    },
    [0x90, 5, 0x00, 0x02, 0x00, 0x01, 0x87]
);

vector!(
    v5_unsubscribe,
    V5,
    Unsubscribe::new(3, vec!["a".into()]),
    [0xa2, 6, 0x00, 0x03, 0x00, 0x00, 0x01, b'a']
);

vector!(
    v5_unsuback,
    V5,
    UnsubAck {
        packet_id: 3,
        properties: Properties::default(),
        reason_codes: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
    },
    [0xb0, 5, 0x00, 0x03, 0x00, 0x00, 0x11]
);

vector!(v5_pingreq, V5, Packet::PingReq, [0xc0, 0x00]);
vector!(v5_pingresp, V5, Packet::PingResp, [0xd0, 0x00]);
vector!(
    v5_disconnect_normal,
    V5,
    Disconnect::normal(),
    [0xe0, 0x02, 0x00, 0x00]
);
vector!(
    v5_disconnect_with_will_and_expiry,
    V5,
    Disconnect {
        reason_code: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
        properties: props(|p| p.session_expiry_interval = Some(0)),
    },
    [0xe0, 7, 0x04, 5, 0x11, 0x00, 0x00, 0x00, 0x00]
);

vector!(
    v5_auth_continue,
    V5,
    Auth {
        reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: props(|p| {
            p.authentication_method = Some("X".into());
            p.authentication_data = Some(Bytes::from_static(&[1, 2]));
        }),
    },
    [0xf0, 11, 0x18, 9, 0x15, 0x00, 0x01, b'X', 0x16, 0x00, 0x02, 0x01, 0x02]
);

// Legal short forms the encoder does not write.
decodes!(
    v5_puback_three_byte_form,
    V5,
    [0x40, 0x03, 0x00, 0x07, 0x10],
    PubAck {
        reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..PubAck::new(7)
    }
);
decodes!(v5_disconnect_empty, V5, [0xe0, 0x00], Disconnect::normal());
decodes!(
    v5_disconnect_reason_only,
    V5,
    [0xe0, 0x01, 0x8b],
    Disconnect {
        reason_code: ReasonCode::SERVER_SHUTTING_DOWN,
        properties: Properties::default()
    }
);
decodes!(v5_auth_empty, V5, [0xf0, 0x00], Auth::default());

// ---- Malformed, in both versions ----

malformed!(
    packet_type_zero,
    V3,
    [0x00, 0x00],
    DecodeError::InvalidPacketType(0)
);
malformed!(
    auth_in_v311,
    V3,
    [0xf0, 0x00],
    DecodeError::InvalidPacketType(15)
);
malformed!(
    subscribe_wrong_flags,
    V3,
    [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x00],
    DecodeError::InvalidHeaderFlags(PacketType::Subscribe)
);
malformed!(
    pubrel_wrong_flags,
    V5,
    [0x60, 0x02, 0x00, 0x01],
    DecodeError::InvalidHeaderFlags(PacketType::PubRel)
);
malformed!(
    pingreq_with_flags,
    V3,
    [0xc1, 0x00],
    DecodeError::InvalidHeaderFlags(PacketType::PingReq)
);
malformed!(
    publish_qos3,
    V3,
    [0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01],
    DecodeError::InvalidQoS
);
malformed!(
    publish_dup_on_qos0,
    V3,
    [0x38, 0x03, 0x00, 0x01, b'a'],
    DecodeError::InvalidHeaderFlags(PacketType::Publish)
);
malformed!(
    publish_packet_id_zero,
    V3,
    [0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
    DecodeError::ZeroPacketId
);
malformed!(
    puback_packet_id_zero,
    V5,
    [0x40, 0x02, 0x00, 0x00],
    DecodeError::ZeroPacketId
);
malformed!(
    publish_wildcard_topic,
    V3,
    [0x30, 0x03, 0x00, 0x01, b'+'],
    DecodeError::InvalidTopicName
);
malformed!(
    publish_empty_topic_v3,
    V3,
    [0x30, 0x02, 0x00, 0x00],
    DecodeError::InvalidTopicName
);
malformed!(
    publish_empty_topic_without_alias,
    V5,
    [0x30, 0x03, 0x00, 0x00, 0x00],
    DecodeError::EmptyTopicWithoutAlias
);
malformed!(
    publish_nul_in_topic,
    V3,
    [0x30, 0x03, 0x00, 0x01, 0x00],
    DecodeError::InvalidUtf8
);
malformed!(
    publish_surrogate_in_topic,
    V3,
    [0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80],
    DecodeError::InvalidUtf8
);
malformed!(
    publish_topic_past_end,
    V3,
    [0x30, 0x03, 0x00, 0x05, b'a'],
    DecodeError::UnexpectedEnd
);
malformed!(
    connack_trailing_byte,
    V3,
    [0x20, 0x03, 0x00, 0x00, 0x00],
    DecodeError::TrailingData
);
malformed!(
    connack_reserved_flags,
    V3,
    [0x20, 0x02, 0x02, 0x00],
    DecodeError::InvalidConnAckFlags
);
malformed!(
    connack_code_6_v3,
    V3,
    [0x20, 0x02, 0x00, 0x06],
    DecodeError::InvalidReasonCode(6)
);
malformed!(
    connack_session_with_refusal,
    V5,
    [0x20, 0x03, 0x01, 0x87, 0x00],
    DecodeError::SessionPresentOnRefusal
);
malformed!(
    pingresp_with_body,
    V3,
    [0xd0, 0x01, 0x00],
    DecodeError::TrailingData
);
malformed!(
    unsuback_v3_with_payload,
    V3,
    [0xb0, 0x03, 0x00, 0x01, 0x00],
    DecodeError::TrailingData
);
malformed!(
    suback_code_3,
    V3,
    [0x90, 0x03, 0x00, 0x01, 0x03],
    DecodeError::InvalidReasonCode(3)
);
malformed!(
    suback_v5_code_not_for_v3,
    V3,
    [0x90, 0x03, 0x00, 0x01, 0x87],
    DecodeError::InvalidReasonCode(0x87)
);
malformed!(
    puback_bad_reason,
    V5,
    [0x40, 0x03, 0x00, 0x01, 0x05],
    DecodeError::InvalidReasonCode(5)
);
malformed!(
    subscribe_no_filters,
    V3,
    [0x82, 0x02, 0x00, 0x01],
    DecodeError::NoTopicFilters
);
malformed!(
    unsubscribe_no_filters,
    V5,
    [0xa2, 0x03, 0x00, 0x01, 0x00],
    DecodeError::NoTopicFilters
);
malformed!(
    subscribe_reserved_qos_bits_v3,
    V3,
    [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x04],
    DecodeError::InvalidSubscriptionOptions
);
malformed!(
    subscribe_retain_handling_3,
    V5,
    [0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'#', 0x30],
    DecodeError::InvalidSubscriptionOptions
);
malformed!(
    subscribe_no_local_on_shared,
    V5,
    [
        0x82, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x09, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g',
        b'/', 0x04
    ],
    DecodeError::InvalidTopicFilter
);
malformed!(
    subscribe_bad_filter,
    V3,
    [0x82, 0x07, 0x00, 0x01, 0x00, 0x02, b'a', b'#', 0x00],
    DecodeError::InvalidTopicFilter
);
malformed!(
    connect_bad_protocol_name,
    V3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidProtocolName
);
malformed!(
    connect_level_3,
    V3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x03, 0x02, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::UnsupportedProtocolLevel(3)
);
malformed!(
    connect_reserved_flag,
    V3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x03, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    connect_password_without_user_v3,
    V3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x42, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    connect_will_qos_without_will,
    V3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x0a, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    remaining_length_five_bytes,
    V3,
    [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f],
    DecodeError::MalformedRemainingLength
);

// MQTT 5 properties.
malformed!(
    property_not_allowed_in_packet,
    V5,
    [0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], // topic alias in CONNACK
    DecodeError::PropertyNotAllowed(0x23)
);
malformed!(
    property_twice,
    V5,
    [0x20, 0x09, 0x00, 0x00, 0x06, 0x22, 0x00, 0x01, 0x22, 0x00, 0x02],
    DecodeError::DuplicateProperty(0x22)
);
malformed!(
    unknown_property,
    V5,
    [0x20, 0x05, 0x00, 0x00, 0x02, 0x7f, 0x00],
    DecodeError::UnknownProperty(0x7f)
);
malformed!(
    receive_maximum_zero,
    V5,
    [0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00],
    DecodeError::InvalidPropertyValue(0x21)
);
malformed!(
    topic_alias_zero,
    V5,
    [0x30, 0x07, 0x00, 0x01, b'a', 0x03, 0x23, 0x00, 0x00],
    DecodeError::InvalidPropertyValue(0x23)
);
malformed!(
    subscription_identifier_zero,
    V5,
    [0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x0b, 0x00],
    DecodeError::InvalidPropertyValue(0x0b)
);
malformed!(
    two_subscription_identifiers_in_subscribe,
    V5,
    [0x82, 0x0a, 0x00, 0x01, 0x04, 0x0b, 0x01, 0x0b, 0x02, 0x00, 0x01, b'#', 0x00],
    DecodeError::DuplicateProperty(0x0b)
);
malformed!(
    maximum_qos_two,
    V5,
    [0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02],
    DecodeError::InvalidPropertyValue(0x24)
);
malformed!(
    payload_format_indicator_two,
    V5,
    [0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x01, 0x02],
    DecodeError::InvalidPropertyValue(0x01)
);
malformed!(
    property_length_past_end,
    V5,
    [0x20, 0x04, 0x00, 0x00, 0x05, 0x24],
    DecodeError::UnexpectedEnd
);
malformed!(
    user_property_with_nul,
    V5,
    [0x20, 0x0a, 0x00, 0x00, 0x07, 0x26, 0x00, 0x01, 0x00, 0x00, 0x01, b'v'],
    DecodeError::InvalidUtf8
);

// Variable byte integers longer than they need to be. MQTT 5 §1.5.5: "The
// encoded value MUST use the minimum number of bytes necessary to represent
// the value" [MQTT-1.5.5-1]. MQTT 3.1.1 §2.2.3 has no such rule, so there
// the same remaining length is read as before.
malformed!(
    v5_remaining_length_not_minimal,
    V5,
    [0xd0, 0x80, 0x00], // PINGRESP, remaining length 0 in two bytes
    DecodeError::NonMinimalVarint
);
malformed!(
    v5_remaining_length_not_minimal_three_bytes,
    V5,
    [0x40, 0x82, 0x80, 0x00, 0x00, 0x07], // PUBACK, remaining length 2 in three bytes
    DecodeError::NonMinimalVarint
);
decodes!(
    v3_remaining_length_not_minimal_is_accepted,
    V3,
    [0xd0, 0x80, 0x00],
    Packet::PingResp
);
decodes!(
    v3_remaining_length_not_minimal_three_bytes_is_accepted,
    V3,
    [0x40, 0x82, 0x80, 0x00, 0x00, 0x07],
    PubAck::new(7)
);
malformed!(
    v5_property_length_zero_not_minimal,
    V5,
    [0x40, 0x05, 0x00, 0x07, 0x10, 0x80, 0x00], // PUBACK, property length 0 in two bytes
    DecodeError::NonMinimalVarint
);
malformed!(
    v5_property_length_not_minimal,
    V5,
    // CONNACK, property length 3 in two bytes, receive maximum 10
    [0x20, 0x07, 0x00, 0x00, 0x83, 0x00, 0x21, 0x00, 0x0a],
    DecodeError::NonMinimalVarint
);
malformed!(
    v5_property_identifier_not_minimal,
    V5,
    // CONNACK, maximum QoS (0x24) as a two-byte identifier, value 1
    [0x20, 0x06, 0x00, 0x00, 0x03, 0xa4, 0x00, 0x01],
    DecodeError::NonMinimalVarint
);
malformed!(
    v5_subscription_identifier_not_minimal,
    V5,
    // PUBLISH to "a", subscription identifier 1 in two bytes
    [0x30, 0x07, 0x00, 0x01, b'a', 0x03, 0x0b, 0x81, 0x00],
    DecodeError::NonMinimalVarint
);
malformed!(
    v5_subscription_identifier_not_minimal_in_subscribe,
    V5,
    // SUBSCRIBE to "#", subscription identifier 300 in three bytes
    [0x82, 0x0b, 0x00, 0x02, 0x04, 0x0b, 0xac, 0x82, 0x00, 0x00, 0x01, b'#', 0x00],
    DecodeError::NonMinimalVarint
);

#[test]
fn decoder_refuses_a_non_minimal_remaining_length_in_v5_only() {
    let mut v5 = Decoder::new(V5, MAX);
    v5.feed(&[0xd0, 0x80, 0x00]);
    assert_eq!(v5.next_packet(), Err(DecodeError::NonMinimalVarint));
    let mut v3 = Decoder::new(V3, MAX);
    v3.feed(&[0xd0, 0x80, 0x00]);
    assert_eq!(v3.next_packet(), Ok(Some(Packet::PingResp)));
}

/// An MQTT 5 stream with properties, so chunking crosses property fields.
fn stream() -> Vec<u8> {
    let mut bytes = Vec::new();
    for packet in packets() {
        packet.encode(V5, &mut bytes).unwrap();
    }
    bytes
}

fn packets() -> Vec<Packet> {
    vec![
        ConnAck::new(false, ReasonCode::SUCCESS).into(),
        Publish::new("stat/plug/POWER", Bytes::from_static(b"ON")).into(),
        Packet::PingResp,
        Publish::new("tele/plug/SENSOR", vec![b'x'; 300]).into(),
        Publish {
            qos: QoS::ExactlyOnce,
            packet_id: Some(9),
            properties: props(|p| {
                p.user_properties = vec![("a".into(), "1".into()), ("a".into(), "2".into())];
                p.message_expiry_interval = Some(60);
            }),
            ..Publish::new("t", Bytes::from_static(b"q2"))
        }
        .into(),
        PubRel::new(9).into(),
        SubAck {
            packet_id: 7,
            properties: Properties::default(),
            reason_codes: vec![ReasonCode::UNSPECIFIED_ERROR],
        }
        .into(),
        Disconnect {
            reason_code: ReasonCode::SERVER_SHUTTING_DOWN,
            properties: props(|p| p.reason_string = Some("bye".into())),
        }
        .into(),
    ]
}

fn drain(decoder: &mut Decoder, out: &mut Vec<Packet>) {
    while let Some(packet) = decoder.next_packet().expect("valid stream") {
        out.push(packet);
    }
}

#[test]
fn several_packets_in_one_chunk() {
    let mut decoder = Decoder::new(V5, MAX);
    decoder.feed(&stream());
    let mut got = Vec::new();
    drain(&mut decoder, &mut got);
    assert_eq!(got, packets());
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn every_split_point_and_byte_by_byte() {
    let bytes = stream();
    for split in 0..=bytes.len() {
        let mut decoder = Decoder::new(V5, MAX);
        let mut got = Vec::new();
        decoder.feed(&bytes[..split]);
        drain(&mut decoder, &mut got);
        decoder.feed(&bytes[split..]);
        drain(&mut decoder, &mut got);
        assert_eq!(got, packets(), "split at {split}");
    }
    let mut decoder = Decoder::new(V5, MAX);
    let mut got = Vec::new();
    for byte in &bytes {
        decoder.feed(std::slice::from_ref(byte));
        drain(&mut decoder, &mut got);
    }
    assert_eq!(got, packets());
}

#[test]
fn oversized_packet_is_refused_from_its_header_alone() {
    // The 5-byte header that makes mqtt-client-wasm grow to 270 MB: PUBLISH
    // declaring 268 435 455 bytes. Refused before any body arrives.
    let mut decoder = Decoder::new(Protocol::V311, 1024);
    decoder.feed(&[0x30, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(
        decoder.next_packet(),
        Err(DecodeError::PacketTooLarge {
            size: 268_435_460,
            max: 1024
        })
    );
    assert!(decoder.buffered() < 1024);
    // The stream is dead: later input cannot revive it.
    decoder.feed(&[0xd0, 0x00]);
    assert!(decoder.next_packet().is_err());
    decoder.reset();
    decoder.feed(&[0xd0, 0x00]);
    assert_eq!(decoder.next_packet(), Ok(Some(Packet::PingResp)));
}

// ---- Memory: what a peer can make the decoder hold ----

/// What "small" means for the receive buffer below: far less than the
/// packets the tests announce, more than a few headers.
const SMALL: usize = 4096;
/// The chunk size a transport feeds a large WebSocket message in.
const CHUNK: usize = 64 * 1024;

fn encoded(packet: impl Into<Packet>, protocol: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    packet.into().encode(protocol, &mut out).unwrap();
    out
}

/// A 20 MiB PUBLISH, 20 times the maximum packet size of the tests.
fn huge_publish() -> Vec<u8> {
    encoded(Publish::new("t", vec![0u8; 20 << 20]), V3)
}

#[test]
fn oversized_packet_in_one_message_is_not_copied() {
    let message = huge_publish();
    let mut decoder = Decoder::new(V3, MAX);
    decoder.feed(&message);
    assert!(
        decoder.buffer_capacity() < SMALL,
        "buffered {} bytes, capacity {}",
        decoder.buffered(),
        decoder.buffer_capacity()
    );
    assert!(!decoder.accepts_input());
    assert_eq!(
        decoder.next_packet(),
        Err(DecodeError::PacketTooLarge {
            size: message.len(),
            max: MAX
        })
    );
}

#[test]
fn oversized_packet_behind_valid_ones_is_not_copied() {
    let mut message = encoded(Packet::PingResp, V3);
    message.extend(encoded(PubAck::new(7), V3));
    message.extend(huge_publish());
    let mut decoder = Decoder::new(V3, MAX);
    decoder.feed(&message);
    assert!(decoder.buffer_capacity() < SMALL);
    assert!(!decoder.accepts_input());
    assert_eq!(decoder.next_packet(), Ok(Some(Packet::PingResp)));
    assert_eq!(decoder.next_packet(), Ok(Some(PubAck::new(7).into())));
    assert!(matches!(
        decoder.next_packet(),
        Err(DecodeError::PacketTooLarge { .. })
    ));
}

#[test]
fn oversized_packet_fed_in_chunks_stops_input_after_the_first() {
    let message = huge_publish();
    let mut decoder = Decoder::new(V3, MAX);
    // A transport copying a large message in chunks, asking before each one.
    let mut copied = 0;
    for chunk in message.chunks(CHUNK) {
        if !decoder.accepts_input() {
            break;
        }
        decoder.feed(chunk);
        copied += 1;
    }
    assert_eq!(copied, 1, "chunks copied in before the decoder refused");
    assert!(decoder.buffer_capacity() < SMALL);
    // A transport that feeds everything anyway does not grow the buffer
    // either, before or after the error is reported.
    for chunk in message.chunks(CHUNK) {
        decoder.feed(chunk);
        assert!(decoder.buffer_capacity() < SMALL);
    }
    assert!(matches!(
        decoder.next_packet(),
        Err(DecodeError::PacketTooLarge { .. })
    ));
    for chunk in message.chunks(CHUNK) {
        decoder.feed(chunk);
        assert!(decoder.buffer_capacity() < SMALL);
    }
    assert!(!decoder.accepts_input());
}

#[test]
fn malformed_remaining_length_stops_input() {
    let mut message = vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x7f];
    message.resize(1 << 20, 0);
    let mut decoder = Decoder::new(V3, MAX);
    decoder.feed(&message);
    assert!(decoder.buffer_capacity() < SMALL);
    assert!(!decoder.accepts_input());
    assert_eq!(
        decoder.next_packet(),
        Err(DecodeError::MalformedRemainingLength)
    );
}

#[test]
fn declared_size_is_not_reserved_before_it_arrives() {
    // The largest packet MQTT allows, and a maximum that allows it: the
    // header alone must not commit 256 MiB.
    let mut decoder = Decoder::new(V3, mqtt_codec::MAX_REMAINING_LENGTH + 5);
    decoder.feed(&[0x30, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(decoder.next_packet(), Ok(None));
    assert!(
        decoder.buffer_capacity() < SMALL,
        "capacity {} after a 5-byte header",
        decoder.buffer_capacity()
    );
    assert!(decoder.accepts_input());
    // The buffer grows with the body as it arrives, not ahead of it.
    let chunk = vec![0u8; CHUNK];
    for _ in 0..16 {
        decoder.feed(&chunk);
        assert_eq!(decoder.next_packet(), Ok(None));
        assert!(decoder.buffer_capacity() <= 2 * decoder.buffered() + SMALL);
    }
}

#[test]
fn large_packets_split_across_many_chunks_still_decode() {
    let big = Packet::from(Publish::new("big", vec![7u8; 100_000]));
    let packets = vec![big.clone(), Packet::PingResp, big.clone(), big];
    let mut bytes = Vec::new();
    for packet in &packets {
        bytes.extend(encoded(packet.clone(), V5));
    }
    for size in [1, 2, 3, 5, 7, 1000, 4096, CHUNK, bytes.len()] {
        let mut decoder = Decoder::new(V5, MAX);
        let mut got = Vec::new();
        for chunk in bytes.chunks(size) {
            assert!(decoder.accepts_input());
            decoder.feed(chunk);
            drain(&mut decoder, &mut got);
        }
        assert_eq!(got, packets, "chunks of {size}");
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn reset_clears_a_refused_packet() {
    let mut decoder = Decoder::new(V3, 1024);
    decoder.feed(&[0x30, 0xff, 0xff, 0xff, 0x7f]);
    assert!(!decoder.accepts_input());
    decoder.reset();
    assert!(decoder.accepts_input());
    decoder.feed(&[0xd0, 0x00]);
    assert_eq!(decoder.next_packet(), Ok(Some(Packet::PingResp)));
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn max_packet_size_counts_the_whole_packet() {
    // PINGRESP is 2 bytes: allowed at max 2, refused at max 1.
    assert_eq!(
        decode_slice(&[0xd0, 0x00], Protocol::V311, 2),
        Ok(Some((Packet::PingResp, 2)))
    );
    assert_eq!(
        decode_slice(&[0xd0, 0x00], Protocol::V311, 1),
        Err(DecodeError::PacketTooLarge { size: 2, max: 1 })
    );
}

#[test]
fn payloads_are_slices_of_the_received_buffer() {
    // Two PUBLISH packets fed together: if payloads were copies, their
    // addresses would be unrelated; as slices of one buffer they lie exactly
    // as far apart as in the stream.
    let mut bytes = Vec::new();
    Packet::from(Publish::new("t", vec![1u8; 64]))
        .encode(Protocol::V311, &mut bytes)
        .unwrap();
    let first_len = bytes.len();
    Packet::from(Publish::new("t", vec![2u8; 64]))
        .encode(Protocol::V311, &mut bytes)
        .unwrap();
    let mut decoder = Decoder::new(Protocol::V311, MAX);
    decoder.feed(&bytes);
    let mut payloads = Vec::new();
    while let Some(packet) = decoder.next_packet().unwrap() {
        let Packet::Publish(publish) = packet else {
            panic!("expected PUBLISH")
        };
        payloads.push(publish.payload);
    }
    let distance = payloads[1].as_ptr() as usize - payloads[0].as_ptr() as usize;
    assert_eq!(distance, first_len);
}

#[test]
fn long_property_blocks_get_a_multi_byte_length() {
    for len in [100usize, 126, 127, 128, 200, 16_000, 16_384] {
        let mut p = Publish::new("t", Bytes::from_static(b"x"));
        p.properties.content_type = Some("c".repeat(len));
        let mut out = Vec::new();
        Packet::from(p.clone()).encode(V5, &mut out).unwrap();
        // Fixed header, topic (3 bytes), then the property length: the
        // content type property is 1 + 2 + len bytes.
        let header = if out.len() - 2 < 128 {
            2
        } else if out.len() - 3 < 16_384 {
            3
        } else {
            4
        };
        let body = 3 + len;
        let field = &out[header + 3..];
        let (value, used) = match body {
            0..=127 => (usize::from(field[0]), 1),
            128..=16_383 => (usize::from(field[0] & 0x7f) | usize::from(field[1]) << 7, 2),
            _ => (
                usize::from(field[0] & 0x7f)
                    | usize::from(field[1] & 0x7f) << 7
                    | usize::from(field[2]) << 14,
                3,
            ),
        };
        assert_eq!(value, body, "property length for {len}");
        assert_eq!(field[used], 0x03, "content type follows the length");
        assert_eq!(decode_slice(&out, V5, MAX), Ok(Some((p.into(), out.len()))));
    }
}

#[test]
fn encode_refuses_what_decode_would_refuse() {
    let mut out = Vec::new();
    let wildcard = Packet::from(Publish::new("a/+", Bytes::new()));
    assert_eq!(
        wildcard.encode(Protocol::V311, &mut out),
        Err(EncodeError::InvalidTopicName)
    );
    let mut qos1 = Publish::new("a", Bytes::new());
    qos1.qos = QoS::AtLeastOnce;
    assert_eq!(
        Packet::from(qos1.clone()).encode(Protocol::V311, &mut out),
        Err(EncodeError::PacketIdMismatch)
    );
    qos1.packet_id = Some(0);
    assert_eq!(
        Packet::from(qos1).encode(Protocol::V311, &mut out),
        Err(EncodeError::ZeroPacketId)
    );
    // [MQTT-3.1.3-7]: an empty client id needs a clean session in 3.1.1.
    let anonymous_session = Packet::from(Connect {
        clean_start: false,
        ..Connect::new(V3, "")
    });
    assert_eq!(
        anonymous_session.encode(V3, &mut out),
        Err(EncodeError::NotInV311)
    );
    let mut v5_anonymous = Connect::new(V5, "");
    v5_anonymous.clean_start = false;
    assert!(Packet::from(v5_anonymous).encode(V5, &mut out).is_ok());
    let empty = Packet::from(Subscribe::new(1, vec![]));
    assert_eq!(
        empty.encode(Protocol::V311, &mut out),
        Err(EncodeError::NoTopicFilters)
    );
    let long = Packet::from(Publish::new("x".repeat(70_000), Bytes::new()));
    assert!(long.encode(Protocol::V311, &mut out).is_err());
}

#[test]
fn errors_map_to_mqtt5_reason_codes() {
    assert_eq!(
        DecodeError::PacketTooLarge { size: 2, max: 1 }.reason_code(),
        0x95
    );
    assert_eq!(DecodeError::TrailingData.reason_code(), 0x81);
    assert_eq!(DecodeError::NonMinimalVarint.reason_code(), 0x81);
    assert_eq!(DecodeError::InvalidPacketType(0).reason_code(), 0x82);
}
