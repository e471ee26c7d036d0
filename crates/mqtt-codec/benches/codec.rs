//! PUBLISH decode and encode throughput, side by side with two peers:
//! `mqttbytes` 0.6 (the codec rumqttc was built on) and `mqtt-protocol-core`
//! 0.7 (the sans-IO core under the `mqtt-client-wasm` crate). Run it with
//! `cargo xtask bench`.
//!
//! Every case is a buffer of [`N`] PUBLISH packets of one shape: MQTT 3.1.1,
//! or MQTT 5 with three properties (a content type, a message expiry and one
//! user property); QoS 0 or QoS 1; a 16 B, 256 B or 4 KB payload. All three
//! codecs do the same work on the same bytes (ours):
//!
//! - decode: hand the buffer to the codec, then drain all `N` owned packets
//!   (topic, payload, MQTT 5 properties) and drop them.
//!   - ours: [`Decoder::feed`] copies the buffer into the decoder's receive
//!     buffer; `next_packet` returns each [`Packet`] with a topic `String`,
//!     the payload a `Bytes` slice of that buffer, and the properties.
//!   - mqttbytes: `BytesMut::from` copies the buffer; `v4::read` /
//!     `v5::read` split each packet off and return it with a topic `String`,
//!     the payload a `Bytes` slice, and the properties.
//!   - mqtt-protocol-core: the two layers its `Connection::recv` runs, without
//!     the connection state machine (no CONNECT handshake, packet-id
//!     bookkeeping, keep-alive or event `Vec` per packet): a
//!     `connection::PacketBuilder` frames packets straight from a `Cursor`
//!     over the buffer, copying each packet body into its own `Vec` and then
//!     an `Arc<[u8]>` (so no whole-buffer copy up front), and
//!     `v3_1_1::Publish::parse` / `v5_0::Publish::parse` turn the body into a
//!     `Publish` with an owned topic (`MqttString`), the payload an
//!     `ArcPayload` slice of the body, and the properties (`Vec<Property>`).
//!     This is its lowest public decode API for a byte stream: `parse`
//!     alone needs the fixed header already split off.
//! - encode: all `N` packets, built beforehand, into one reused buffer.
//!   - ours: `Packet::encode` appends to a `Vec<u8>`.
//!   - mqttbytes: `Publish::write` appends to a `BytesMut`.
//!   - mqtt-protocol-core: it has no "append to a buffer" API; `to_buffers`
//!     (its vectored-I/O path) lists the packet's parts as `IoSlice`s (a
//!     small `Vec` per packet, no copy of the payload), appended to a
//!     `Vec<u8>` as `Vec`'s `write_vectored` would. The alternative,
//!     `to_continuous_buffer` (what mqtt-client-wasm sends), allocates and
//!     fills a new `Vec` per packet, which would then be copied again;
//!     measured that way it was slower in 9 of the 12 cases (up to 2.3×)
//!     and at most 1.15× faster in the others (16 B payloads).
//!
//! Before timing anything, [`verify`] checks that the three codecs agree: in
//! MQTT 3.1.1 all encodings are byte-identical; in MQTT 5 ours and
//! mqtt-protocol-core's are byte-identical (its packets list their
//! properties in identifier order, the order we write), and mqttbytes' is the
//! same length and differs only in property order (it writes the user
//! property before the content type; §2.2.2.2 allows any order). Each peer
//! decodes our buffer back to exactly the packets it was built from, and we
//! decode mqttbytes' buffer back to ours.
//!
//! Criterion prints packets/s per benchmark (`Throughput::Elements`); at the
//! end a markdown table gives, per case, the three codecs' packets/s and the
//! ratio ours / the faster peer, from the median of the same criterion
//! samples.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput};
use mqtt_codec::{Decoder, Packet, Protocol, Publish, QoS};
use mqtt_protocol_core::mqtt::common::Cursor;
use mqtt_protocol_core::mqtt::connection::{PacketBuildResult, PacketBuilder, PacketData};
use mqtt_protocol_core::mqtt::packet::{
    v3_1_1 as mpc_v3, v5_0 as mpc_v5, ContentType, MessageExpiryInterval, Property, Qos,
    UserProperty,
};
use mqtt_protocol_core::mqtt::result_code::MqttError;

/// Packets per buffer: one benchmark iteration decodes or encodes them all.
const N: usize = 1000;
/// Largest packet either decoder accepts.
const MAX_PACKET_SIZE: usize = 1 << 20;
/// Criterion samples per benchmark; the summary table uses the same ones.
const SAMPLES: usize = 20;
const TOPIC_COUNT: usize = 64;

fn main() {
    let cases = cases();
    for case in &cases {
        verify(case);
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(SAMPLES)
        .configure_from_args();
    let timings = Timings::default();
    for case in &cases {
        bench(&mut criterion, case, &timings);
    }
    criterion.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not and
    // runs every benchmark once, which says nothing about speed.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test") {
        print_table(&cases, &timings);
    }
}

/// One shape of PUBLISH, with its packets built for all three codecs.
struct Case {
    protocol: Protocol,
    qos: QoS,
    payload_len: usize,
    ours: Vec<Packet>,
    mqttbytes: Mqttbytes,
    mpc: Mpc,
    /// Our encoding of `ours`: the input of all three decode benchmarks.
    encoded: Vec<u8>,
}

/// The same packets as mqttbytes values.
enum Mqttbytes {
    V4(Vec<mqttbytes::v4::Publish>),
    V5(Vec<mqttbytes::v5::Publish>),
}

/// The same packets as mqtt-protocol-core values.
enum Mpc {
    V311(Vec<mpc_v3::Publish>),
    V5(Vec<mpc_v5::Publish>),
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for protocol in [Protocol::V311, Protocol::V5] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            for payload_len in [16, 256, 4096] {
                cases.push(Case::new(protocol, qos, payload_len));
            }
        }
    }
    cases
}

impl Case {
    fn new(protocol: Protocol, qos: QoS, payload_len: usize) -> Self {
        let payload = json_payload(payload_len);
        // mqtt-protocol-core's packets share one payload, as the `Bytes`
        // clones do for the other two.
        let mpc_payload: Arc<[u8]> = Arc::from(&payload[..]);
        let mut ours = Vec::with_capacity(N);
        let mut theirs4 = Vec::new();
        let mut theirs5 = Vec::new();
        let mut mpc3 = Vec::new();
        let mut mpc5 = Vec::new();
        for i in 0..N {
            let topic = format!("tele/plug-{:02}/SENSOR", i % TOPIC_COUNT);
            // QoS 1 needs a non-zero packet identifier; N < 65 536.
            let packet_id = (qos != QoS::AtMostOnce).then_some(i as u16 + 1);

            let mut publish = Publish::new(topic.clone(), payload.clone());
            publish.qos = qos;
            publish.packet_id = packet_id;
            if protocol == Protocol::V5 {
                let properties = &mut publish.properties;
                properties.message_expiry_interval = Some(3600);
                properties.content_type = Some("application/json".into());
                properties.user_properties = vec![("source".into(), "devsim".into())];
            }
            ours.push(Packet::from(publish));

            let mpc_qos = match qos {
                QoS::AtMostOnce => Qos::AtMostOnce,
                _ => Qos::AtLeastOnce,
            };
            match protocol {
                Protocol::V311 => {
                    let mut builder = mpc_v3::Publish::builder()
                        .topic_name(topic.as_str())
                        .expect("mqtt-protocol-core topic")
                        .qos(mpc_qos)
                        .payload(mpc_payload.clone());
                    if let Some(id) = packet_id {
                        builder = builder.packet_id(id);
                    }
                    mpc3.push(builder.build().expect("mqtt-protocol-core builds"));
                }
                _ => {
                    // Identifier order (2, 3, 38), as we write them.
                    let props = vec![
                        Property::MessageExpiryInterval(
                            MessageExpiryInterval::new(3600).expect("expiry"),
                        ),
                        Property::ContentType(
                            ContentType::new("application/json").expect("content type"),
                        ),
                        Property::UserProperty(
                            UserProperty::new("source", "devsim").expect("user property"),
                        ),
                    ];
                    let mut builder = mpc_v5::Publish::builder()
                        .topic_name(topic.as_str())
                        .expect("mqtt-protocol-core topic")
                        .qos(mpc_qos)
                        .props(props)
                        .payload(mpc_payload.clone());
                    if let Some(id) = packet_id {
                        builder = builder.packet_id(id);
                    }
                    mpc5.push(builder.build().expect("mqtt-protocol-core builds"));
                }
            }

            let their_qos = match qos {
                QoS::AtMostOnce => mqttbytes::QoS::AtMostOnce,
                _ => mqttbytes::QoS::AtLeastOnce,
            };
            let pkid = packet_id.unwrap_or(0);
            match protocol {
                Protocol::V311 => {
                    let mut p =
                        mqttbytes::v4::Publish::from_bytes(topic, their_qos, payload.clone());
                    p.pkid = pkid;
                    theirs4.push(p);
                }
                _ => {
                    let mut p =
                        mqttbytes::v5::Publish::from_bytes(topic, their_qos, payload.clone());
                    p.pkid = pkid;
                    p.properties = Some(mqttbytes::v5::PublishProperties {
                        payload_format_indicator: None,
                        message_expiry_interval: Some(3600),
                        topic_alias: None,
                        response_topic: None,
                        correlation_data: None,
                        user_properties: vec![("source".into(), "devsim".into())],
                        subscription_identifiers: Vec::new(),
                        content_type: Some("application/json".into()),
                    });
                    theirs5.push(p);
                }
            }
        }
        let (mqttbytes, mpc) = match protocol {
            Protocol::V311 => (Mqttbytes::V4(theirs4), Mpc::V311(mpc3)),
            _ => (Mqttbytes::V5(theirs5), Mpc::V5(mpc5)),
        };
        let mut case = Self {
            protocol,
            qos,
            payload_len,
            ours,
            mqttbytes,
            mpc,
            encoded: Vec::new(),
        };
        let mut encoded = Vec::new();
        case.encode_ours(&mut encoded);
        case.encoded = encoded;
        case
    }

    /// A file-system and criterion friendly name: `v5_qos1_256B`.
    fn id(&self) -> String {
        format!(
            "{}_qos{}_{}B",
            self.version_name().replace('.', ""),
            self.qos as u8,
            self.payload_len
        )
    }

    /// The name in the summary table: `5 + props, QoS 1, 256 B`.
    fn title(&self) -> String {
        let version = match self.protocol {
            Protocol::V311 => "3.1.1",
            _ => "5 + props",
        };
        let size = match self.payload_len {
            n if n >= 1024 => format!("{} KB", n / 1024),
            n => format!("{n} B"),
        };
        format!("{version}, QoS {}, {size}", self.qos as u8)
    }

    fn version_name(&self) -> &'static str {
        match self.protocol {
            Protocol::V311 => "v3.1.1",
            _ => "v5",
        }
    }

    fn encode_ours(&self, out: &mut Vec<u8>) {
        out.clear();
        for packet in &self.ours {
            packet.encode(self.protocol, out).expect("ours encodes");
        }
    }

    fn encode_mqttbytes(&self, out: &mut BytesMut) {
        out.clear();
        match &self.mqttbytes {
            Mqttbytes::V4(packets) => {
                for p in packets {
                    p.write(out).expect("mqttbytes encodes");
                }
            }
            Mqttbytes::V5(packets) => {
                for p in packets {
                    p.write(out).expect("mqttbytes encodes");
                }
            }
        }
    }

    /// mqtt-protocol-core: each packet's `to_buffers` slices appended to
    /// `out` (one `reserve`, then a copy per slice).
    fn encode_mpc(&self, out: &mut Vec<u8>) {
        out.clear();
        match &self.mpc {
            Mpc::V311(packets) => {
                for p in packets {
                    append_slices(out, p.size(), &p.to_buffers());
                }
            }
            Mpc::V5(packets) => {
                for p in packets {
                    append_slices(out, p.size(), &p.to_buffers());
                }
            }
        }
    }

    /// Feeds `buf` to a new [`Decoder`] and drains it; returns the count.
    fn decode_ours(&self, buf: &[u8]) -> usize {
        let mut decoder = Decoder::new(self.protocol, MAX_PACKET_SIZE);
        decoder.feed(buf);
        let mut count = 0;
        while let Some(packet) = decoder.next_packet().expect("ours decodes") {
            black_box(&packet);
            count += 1;
        }
        count
    }

    /// Copies `buf` into a `BytesMut` and reads it to the end; returns the
    /// count.
    fn decode_mqttbytes(&self, buf: &[u8]) -> usize {
        let mut stream = BytesMut::from(buf);
        let mut count = 0;
        match self.mqttbytes {
            Mqttbytes::V4(_) => {
                while !stream.is_empty() {
                    let packet = mqttbytes::v4::read(&mut stream, MAX_PACKET_SIZE)
                        .expect("mqttbytes decodes");
                    black_box(&packet);
                    count += 1;
                }
            }
            Mqttbytes::V5(_) => {
                while !stream.is_empty() {
                    let packet = mqttbytes::v5::read(&mut stream, MAX_PACKET_SIZE)
                        .expect("mqttbytes decodes");
                    black_box(&packet);
                    count += 1;
                }
            }
        }
        count
    }

    /// mqtt-protocol-core: frames and parses `buf` to the end (see
    /// [`drain_mpc`]); returns the count.
    fn decode_mpc(&self, buf: &[u8]) -> usize {
        match self.mpc {
            Mpc::V311(_) => drain_mpc(buf, mpc_v3::Publish::parse, |p| {
                black_box(&p);
            }),
            Mpc::V5(_) => drain_mpc(buf, mpc_v5::Publish::parse, |p| {
                black_box(&p);
            }),
        }
    }
}

/// Frames `buf` with a new mqtt-protocol-core `PacketBuilder` and parses every
/// packet with `parse` (`v3_1_1::Publish::parse` or `v5_0::Publish::parse`),
/// as its `Connection::recv` does; returns the count. `visit` sees each
/// packet (the benchmark only `black_box`es it).
fn drain_mpc<P>(
    buf: &[u8],
    parse: impl Fn(u8, Arc<[u8]>) -> Result<(P, usize), MqttError>,
    mut visit: impl FnMut(P),
) -> usize {
    let mut builder = PacketBuilder::with_maximum_packet_size(MAX_PACKET_SIZE as u32);
    let mut cursor = Cursor::new(buf);
    let mut count = 0;
    loop {
        match builder.feed(&mut cursor) {
            PacketBuildResult::Complete(raw) => {
                let flags = raw.flags();
                let PacketData::Publish(body) = raw.data else {
                    panic!("mqtt-protocol-core framed a packet that is not a PUBLISH");
                };
                let (packet, _) = parse(flags, body).expect("mqtt-protocol-core decodes");
                visit(packet);
                count += 1;
            }
            PacketBuildResult::Incomplete => return count,
            PacketBuildResult::Error(e) => panic!("mqtt-protocol-core framing: {e:?}"),
        }
    }
}

/// Appends `slices`, `size` bytes in all, to `out`: what `Vec`'s
/// `Write::write_vectored` does, which a vectored socket write would do
/// instead.
fn append_slices(out: &mut Vec<u8>, size: usize, slices: &[IoSlice<'_>]) {
    out.reserve(size);
    for slice in slices {
        out.extend_from_slice(slice);
    }
}

/// A JSON-looking payload of exactly `len` bytes, like a plug's telemetry.
fn json_payload(len: usize) -> Bytes {
    let sample = br#"{"Time":"2026-11-25T01:36:45","ENERGY":{"Total":12.345,"Power":57,"Voltage":230,"Current":0.248},"#;
    let mut payload: Vec<u8> = sample.iter().copied().cycle().take(len).collect();
    if let Some(last) = payload.last_mut() {
        *last = b'}';
    }
    Bytes::from(payload)
}

/// Checks that the three codecs encode the same packets and decode the same
/// number of them, before any of it is timed.
fn verify(case: &Case) {
    let name = case.id();
    let ours = &case.encoded;

    let mut theirs = BytesMut::new();
    case.encode_mqttbytes(&mut theirs);
    assert_eq!(ours.len(), theirs.len(), "{name}: mqttbytes size differs");
    match case.protocol {
        Protocol::V311 => assert!(ours[..] == theirs[..], "{name}: mqttbytes differs"),
        _ => assert!(
            ours[..] != theirs[..],
            "{name}: expected mqttbytes' property order to differ"
        ),
    }
    let mut mpc = Vec::new();
    case.encode_mpc(&mut mpc);
    assert!(
        *ours == mpc,
        "{name}: mqtt-protocol-core encodes differently"
    );

    // We decode mqttbytes' buffer back to our packets.
    let mut decoder = Decoder::new(case.protocol, MAX_PACKET_SIZE);
    decoder.feed(&theirs);
    let mut decoded = Vec::new();
    while let Some(packet) = decoder.next_packet().expect("ours decodes theirs") {
        decoded.push(packet);
    }
    assert!(
        decoded == case.ours,
        "{name}: ours decodes theirs differently"
    );

    // Each peer decodes our buffer back to its packets.
    let mut stream = BytesMut::from(&ours[..]);
    match &case.mqttbytes {
        Mqttbytes::V4(packets) => {
            for expected in packets {
                match mqttbytes::v4::read(&mut stream, MAX_PACKET_SIZE) {
                    Ok(mqttbytes::v4::Packet::Publish(p)) => assert!(&p == expected, "{name}"),
                    other => panic!("{name}: mqttbytes read {other:?}"),
                }
            }
        }
        Mqttbytes::V5(packets) => {
            for expected in packets {
                match mqttbytes::v5::read(&mut stream, MAX_PACKET_SIZE) {
                    Ok(mqttbytes::v5::Packet::Publish(p)) => assert!(&p == expected, "{name}"),
                    other => panic!("{name}: mqttbytes read {other:?}"),
                }
            }
        }
    }
    assert!(stream.is_empty(), "{name}: mqttbytes left bytes over");

    match &case.mpc {
        Mpc::V311(packets) => {
            let mut decoded = Vec::new();
            drain_mpc(ours, mpc_v3::Publish::parse, |p| decoded.push(p));
            assert!(
                decoded == *packets,
                "{name}: mqtt-protocol-core decodes ours differently"
            );
        }
        Mpc::V5(packets) => {
            let mut decoded = Vec::new();
            drain_mpc(ours, mpc_v5::Publish::parse, |p| decoded.push(p));
            assert!(
                decoded == *packets,
                "{name}: mqtt-protocol-core decodes ours differently"
            );
        }
    }

    assert_eq!(case.decode_ours(ours), N, "{name}: ours decoded");
    assert_eq!(case.decode_mqttbytes(ours), N, "{name}: mqttbytes decoded");
    assert_eq!(
        case.decode_mpc(ours),
        N,
        "{name}: mqtt-protocol-core decoded"
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Decode,
    Encode,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Codec {
    Ours,
    Mqttbytes,
    MqttProtocolCore,
}

impl Codec {
    /// The benchmark's name in criterion's output and the table.
    fn name(self) -> &'static str {
        match self {
            Codec::Ours => "mqtt-codec",
            Codec::Mqttbytes => "mqttbytes",
            Codec::MqttProtocolCore => "mqtt-protocol-core",
        }
    }
}

/// The peers, in table order.
const PEERS: [Codec; 2] = [Codec::Mqttbytes, Codec::MqttProtocolCore];

/// Seconds per iteration of every routine call criterion made, per
/// benchmark, in call order: warm-up first, then the samples.
#[derive(Default)]
struct Timings(RefCell<HashMap<(Op, String, Codec), Vec<f64>>>);

impl Timings {
    /// Times `iters` runs of `routine`, records and returns the total.
    fn time(&self, key: (Op, String, Codec), iters: u64, mut routine: impl FnMut()) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            routine();
        }
        let elapsed = start.elapsed();
        self.0
            .borrow_mut()
            .entry(key)
            .or_default()
            .push(elapsed.as_secs_f64() / iters as f64);
        elapsed
    }

    /// Packets per second: `N` over the median time of the last
    /// [`SAMPLES`] calls (criterion's measurement samples).
    fn packets_per_second(&self, key: &(Op, String, Codec)) -> Option<f64> {
        let timings = self.0.borrow();
        let all = timings.get(key)?;
        let mut samples = all[all.len().saturating_sub(SAMPLES)..].to_vec();
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        Some(N as f64 / median)
    }
}

fn bench(criterion: &mut Criterion, case: &Case, timings: &Timings) {
    let id = case.id();
    let key = |op, codec| (op, id.clone(), codec);

    let mut group = criterion.benchmark_group(format!("decode/{id}"));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function(Codec::Ours.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Decode, Codec::Ours), iters, || {
                assert_eq!(case.decode_ours(black_box(&case.encoded)), N);
            })
        })
    });
    group.bench_function(Codec::Mqttbytes.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Decode, Codec::Mqttbytes), iters, || {
                assert_eq!(case.decode_mqttbytes(black_box(&case.encoded)), N);
            })
        })
    });
    group.bench_function(Codec::MqttProtocolCore.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Decode, Codec::MqttProtocolCore), iters, || {
                assert_eq!(case.decode_mpc(black_box(&case.encoded)), N);
            })
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group(format!("encode/{id}"));
    group.throughput(Throughput::Elements(N as u64));
    let mut ours = Vec::with_capacity(case.encoded.len());
    group.bench_function(Codec::Ours.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Encode, Codec::Ours), iters, || {
                case.encode_ours(&mut ours);
                black_box(&ours);
            })
        })
    });
    let mut theirs = BytesMut::with_capacity(case.encoded.len());
    group.bench_function(Codec::Mqttbytes.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Encode, Codec::Mqttbytes), iters, || {
                case.encode_mqttbytes(&mut theirs);
                black_box(&theirs);
            })
        })
    });
    let mut mpc = Vec::with_capacity(case.encoded.len());
    group.bench_function(Codec::MqttProtocolCore.name(), |b| {
        b.iter_custom(|iters| {
            timings.time(key(Op::Encode, Codec::MqttProtocolCore), iters, || {
                case.encode_mpc(&mut mpc);
                black_box(&mpc);
            })
        })
    });
    group.finish();
}

/// The summary: per case and operation, the three codecs' packets/s (the
/// faster peer in bold) and ours / the faster peer.
fn print_table(cases: &[Case], timings: &Timings) {
    println!();
    println!(
        "PUBLISH throughput, {N} packets per buffer, million packets/s \
         (median of {SAMPLES} criterion samples); ratio = mqtt-codec / the faster \
         of mqttbytes and mqtt-protocol-core (in bold), above 1 means ours is faster"
    );
    println!();
    let mut header = String::from("| case |");
    let mut rule = String::from("|---|");
    for op in ["decode", "encode"] {
        for codec in [Codec::Ours].into_iter().chain(PEERS) {
            header.push_str(&format!(" {op} {} |", codec.name()));
            rule.push_str("---:|");
        }
        header.push_str(&format!(" {op} ratio |"));
        rule.push_str("---:|");
    }
    println!("{header}");
    println!("{rule}");
    for case in cases {
        let id = case.id();
        let mut row = format!("| {} |", case.title());
        for op in [Op::Decode, Op::Encode] {
            let rate = |codec| timings.packets_per_second(&(op, id.clone(), codec));
            let ours = rate(Codec::Ours);
            let peers = PEERS.map(rate);
            // The faster peer measured (a filter on the command line may
            // leave some benchmarks out).
            let best = peers.iter().flatten().copied().reduce(f64::max);
            row.push_str(&format!(" {} |", ours.map_or("–".into(), mega)));
            for peer in peers {
                let cell = match peer {
                    Some(p) if Some(p) == best && peers.iter().flatten().count() > 1 => {
                        format!("**{}**", mega(p))
                    }
                    Some(p) => mega(p),
                    None => "–".into(),
                };
                row.push_str(&format!(" {cell} |"));
            }
            match (ours, best) {
                (Some(ours), Some(best)) => row.push_str(&format!(" {:.2}× |", ours / best)),
                _ => row.push_str(" – |"),
            }
        }
        println!("{row}");
    }
}

/// Packets/s in millions, three significant digits.
fn mega(per_second: f64) -> String {
    let m = per_second / 1e6;
    if m >= 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    }
}
