//! Byte-exact vectors, hand-annotated from the MQTT 3.1.1 specification,
//! and the decoder's behaviour on chunked, oversized and malformed input.

use mqtt_codec::{
    decode_slice, Bytes, ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, EncodeError,
    LastWill, Packet, Protocol, Publish, QoS, SubAck, SubAckReturnCode, Subscribe, SubscribeFilter,
};

const MAX: usize = 1 << 20;

/// `vector!(name, packet, bytes)`: the packet encodes to exactly these bytes,
/// and the bytes decode to exactly this packet.
macro_rules! vector {
    ($name:ident, $packet:expr, $bytes:expr) => {
        #[test]
        fn $name() {
            let packet: Packet = $packet.into();
            let bytes: &[u8] = &$bytes;
            let mut out = Vec::new();
            packet.encode(Protocol::V311, &mut out).expect("encodes");
            assert_eq!(out, bytes, "encoding");
            let (decoded, used) = decode_slice(bytes, Protocol::V311, MAX)
                .expect("decodes")
                .expect("complete");
            assert_eq!(used, bytes.len());
            assert_eq!(decoded, packet, "decoding");
        }
    };
}

/// `malformed!(name, bytes, error)`: decoding these bytes fails with `error`.
macro_rules! malformed {
    ($name:ident, $bytes:expr, $err:expr) => {
        #[test]
        fn $name() {
            let bytes: &[u8] = &$bytes;
            assert_eq!(decode_slice(bytes, Protocol::V311, MAX), Err($err));
        }
    };
}

vector!(
    connect_minimal,
    Connect {
        protocol: Protocol::V311,
        client_id: "ab".into(),
        clean_session: true,
        keep_alive: 60,
        will: None,
        username: None,
        password: None,
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
    connect_full,
    Connect {
        protocol: Protocol::V311,
        client_id: "c".into(),
        clean_session: false,
        keep_alive: 10,
        will: Some(LastWill {
            topic: "t/LWT".into(),
            payload: Bytes::from_static(b"Offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"pw")),
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
    connack_accepted,
    ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted
    },
    [0x20, 0x02, 0x01, 0x00]
);

vector!(
    connack_not_authorized,
    ConnAck {
        session_present: false,
        code: ConnectReturnCode::NotAuthorized
    },
    [0x20, 0x02, 0x00, 0x05]
);

vector!(
    publish_qos0,
    Publish::new("a/b", Bytes::from_static(b"ON")),
    [0x30, 7, 0x00, 0x03, b'a', b'/', b'b', b'O', b'N']
);

vector!(
    publish_qos1_retained_dup,
    Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        topic: "a".into(),
        packet_id: Some(10),
        payload: Bytes::new(),
    },
    [0x3b, 5, 0x00, 0x01, b'a', 0x00, 0x0a]
);

vector!(
    subscribe_two_filters,
    Subscribe {
        packet_id: 1,
        filters: vec![
            SubscribeFilter::new("stat/+/POWER", QoS::AtMostOnce),
            SubscribeFilter::new("#", QoS::ExactlyOnce),
        ],
    },
    [
        0x82, 21, // SUBSCRIBE with its required flags 0010
        0x00, 0x01, // packet id
        0x00, 0x0c, b's', b't', b'a', b't', b'/', b'+', b'/', b'P', b'O', b'W', b'E', b'R', 0x00,
        0x00, 0x01, b'#', 0x02,
    ]
);

vector!(
    suback_mixed,
    SubAck {
        packet_id: 1,
        return_codes: vec![
            SubAckReturnCode::Granted(QoS::AtMostOnce),
            SubAckReturnCode::Granted(QoS::ExactlyOnce),
            SubAckReturnCode::Failure,
        ],
    },
    [0x90, 5, 0x00, 0x01, 0x00, 0x02, 0x80]
);

vector!(pingreq, Packet::PingReq, [0xc0, 0x00]);
vector!(pingresp, Packet::PingResp, [0xd0, 0x00]);
vector!(disconnect, Packet::Disconnect, [0xe0, 0x00]);

malformed!(
    packet_type_zero,
    [0x00, 0x00],
    DecodeError::InvalidPacketType(0)
);
malformed!(
    subscribe_wrong_flags,
    [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x00],
    DecodeError::InvalidHeaderFlags(mqtt_codec::PacketType::Subscribe)
);
malformed!(
    pingreq_with_flags,
    [0xc1, 0x00],
    DecodeError::InvalidHeaderFlags(mqtt_codec::PacketType::PingReq)
);
malformed!(
    publish_qos3,
    [0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01],
    DecodeError::InvalidQoS
);
malformed!(
    publish_dup_on_qos0,
    [0x38, 0x03, 0x00, 0x01, b'a'],
    DecodeError::InvalidHeaderFlags(mqtt_codec::PacketType::Publish)
);
malformed!(
    publish_packet_id_zero,
    [0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
    DecodeError::ZeroPacketId
);
malformed!(
    publish_wildcard_topic,
    [0x30, 0x03, 0x00, 0x01, b'+'],
    DecodeError::InvalidTopicName
);
malformed!(
    publish_empty_topic,
    [0x30, 0x02, 0x00, 0x00],
    DecodeError::InvalidTopicName
);
malformed!(
    publish_nul_in_topic,
    [0x30, 0x03, 0x00, 0x01, 0x00],
    DecodeError::InvalidUtf8
);
malformed!(
    publish_surrogate_in_topic,
    [0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80],
    DecodeError::InvalidUtf8
);
malformed!(
    publish_topic_past_end,
    [0x30, 0x03, 0x00, 0x05, b'a'],
    DecodeError::UnexpectedEnd
);
malformed!(
    connack_trailing_byte,
    [0x20, 0x03, 0x00, 0x00, 0x00],
    DecodeError::TrailingData
);
malformed!(
    connack_reserved_flags,
    [0x20, 0x02, 0x02, 0x00],
    DecodeError::InvalidConnAckFlags
);
malformed!(
    connack_code_6,
    [0x20, 0x02, 0x00, 0x06],
    DecodeError::InvalidConnectReturnCode(6)
);
malformed!(
    pingresp_with_body,
    [0xd0, 0x01, 0x00],
    DecodeError::TrailingData
);
malformed!(
    suback_code_3,
    [0x90, 0x03, 0x00, 0x01, 0x03],
    DecodeError::InvalidSubAckReturnCode(3)
);
malformed!(
    subscribe_no_filters,
    [0x82, 0x02, 0x00, 0x01],
    DecodeError::NoTopicFilters
);
malformed!(
    subscribe_reserved_qos_bits,
    [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x04],
    DecodeError::InvalidSubscriptionOptions
);
malformed!(
    subscribe_bad_filter,
    [0x82, 0x07, 0x00, 0x01, 0x00, 0x02, b'a', b'#', 0x00],
    DecodeError::InvalidTopicFilter
);
malformed!(
    connect_bad_protocol_name,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidProtocolName
);
malformed!(
    connect_level_3,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x03, 0x02, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::UnsupportedProtocolLevel(3)
);
malformed!(
    connect_reserved_flag,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x03, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    connect_password_without_user,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x42, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    connect_will_qos_without_will,
    [0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x0a, 0x00, 0x3c, 0x00, 0x00],
    DecodeError::InvalidConnectFlags
);
malformed!(
    remaining_length_five_bytes,
    [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f],
    DecodeError::MalformedRemainingLength
);

fn stream() -> Vec<u8> {
    let mut bytes = Vec::new();
    for packet in packets() {
        packet.encode(Protocol::V311, &mut bytes).unwrap();
    }
    bytes
}

fn packets() -> Vec<Packet> {
    vec![
        ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }
        .into(),
        Publish::new("stat/plug/POWER", Bytes::from_static(b"ON")).into(),
        Packet::PingResp,
        Publish::new("tele/plug/SENSOR", vec![b'x'; 300]).into(),
        SubAck {
            packet_id: 7,
            return_codes: vec![SubAckReturnCode::Failure],
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
    let mut decoder = Decoder::new(Protocol::V311, MAX);
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
        let mut decoder = Decoder::new(Protocol::V311, MAX);
        let mut got = Vec::new();
        decoder.feed(&bytes[..split]);
        drain(&mut decoder, &mut got);
        decoder.feed(&bytes[split..]);
        drain(&mut decoder, &mut got);
        assert_eq!(got, packets(), "split at {split}");
    }
    let mut decoder = Decoder::new(Protocol::V311, MAX);
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
    let empty = Packet::from(Subscribe {
        packet_id: 1,
        filters: vec![],
    });
    assert_eq!(
        empty.encode(Protocol::V311, &mut out),
        Err(EncodeError::NoTopicFilters)
    );
    let long = Packet::from(Publish::new("x".repeat(70_000), Bytes::new()));
    assert!(long.encode(Protocol::V311, &mut out).is_err());
}

#[test]
fn mqtt5_is_refused_until_implemented() {
    let mut out = Vec::new();
    assert_eq!(
        Packet::PingReq.encode(Protocol::V5, &mut out),
        Err(EncodeError::Unsupported)
    );
    assert_eq!(
        decode_slice(&[0xd0, 0x00], Protocol::V5, MAX),
        Err(DecodeError::Unsupported)
    );
}

#[test]
fn errors_map_to_mqtt5_reason_codes() {
    assert_eq!(
        DecodeError::PacketTooLarge { size: 2, max: 1 }.reason_code(),
        0x95
    );
    assert_eq!(DecodeError::TrailingData.reason_code(), 0x81);
    assert_eq!(DecodeError::InvalidPacketType(0).reason_code(), 0x82);
}
