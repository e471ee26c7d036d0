//! PUBLISH decode and encode throughput, side by side with `mqttbytes` (the
//! codec rumqttc was built on). Run it with `cargo xtask bench`.
//!
//! Every case is a buffer of [`N`] PUBLISH packets of one shape: MQTT 3.1.1,
//! or MQTT 5 with three properties (a content type, a message expiry and one
//! user property); QoS 0 or QoS 1; a 16 B, 256 B or 4 KB payload. Both
//! codecs do the same work:
//!
//! - decode: copy the buffer into the codec's receive buffer (our
//!   [`Decoder::feed`], their `BytesMut::from`), then drain all `N` owned
//!   packets (topic `String`, payload a `Bytes` slice of the buffer, MQTT 5
//!   properties) and drop them. Both read the same bytes, ours.
//! - encode: all `N` packets, built beforehand, into one reused buffer.
//!
//! Before timing anything, [`verify`] checks that the two codecs agree: in
//! MQTT 3.1.1 their encodings are byte-identical; in MQTT 5 they are the
//! same length and differ only in property order (we write properties in
//! identifier order, mqttbytes writes the user property before the content
//! type; §2.2.2.2 allows any order), and each codec decodes the other's
//! buffer back to exactly the packets it was built from.
//!
//! Criterion prints packets/s per benchmark (`Throughput::Elements`); at the
//! end a markdown table gives, per case, both codecs' packets/s and the ratio
//! ours / theirs, from the median of the same criterion samples.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput};
use mqtt_codec::{Decoder, Packet, Protocol, Publish, QoS};

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

/// One shape of PUBLISH, with its packets built for both codecs.
struct Case {
    protocol: Protocol,
    qos: QoS,
    payload_len: usize,
    ours: Vec<Packet>,
    theirs: Theirs,
    /// Our encoding of `ours`: the input of both decode benchmarks.
    encoded: Vec<u8>,
}

/// The same packets as mqttbytes values.
enum Theirs {
    V4(Vec<mqttbytes::v4::Publish>),
    V5(Vec<mqttbytes::v5::Publish>),
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
        let mut ours = Vec::with_capacity(N);
        let mut theirs4 = Vec::new();
        let mut theirs5 = Vec::new();
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
        let theirs = match protocol {
            Protocol::V311 => Theirs::V4(theirs4),
            _ => Theirs::V5(theirs5),
        };
        let mut case = Self {
            protocol,
            qos,
            payload_len,
            ours,
            theirs,
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

    fn encode_theirs(&self, out: &mut BytesMut) {
        out.clear();
        match &self.theirs {
            Theirs::V4(packets) => {
                for p in packets {
                    p.write(out).expect("mqttbytes encodes");
                }
            }
            Theirs::V5(packets) => {
                for p in packets {
                    p.write(out).expect("mqttbytes encodes");
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
    fn decode_theirs(&self, buf: &[u8]) -> usize {
        let mut stream = BytesMut::from(buf);
        let mut count = 0;
        match self.theirs {
            Theirs::V4(_) => {
                while !stream.is_empty() {
                    let packet = mqttbytes::v4::read(&mut stream, MAX_PACKET_SIZE)
                        .expect("mqttbytes decodes");
                    black_box(&packet);
                    count += 1;
                }
            }
            Theirs::V5(_) => {
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

/// Checks that both codecs encode the same packets and decode the same
/// number of them, before any of it is timed.
fn verify(case: &Case) {
    let name = case.id();
    let mut theirs = BytesMut::new();
    case.encode_theirs(&mut theirs);
    let ours = &case.encoded;
    assert_eq!(ours.len(), theirs.len(), "{name}: encoded sizes differ");
    match case.protocol {
        Protocol::V311 => assert!(ours[..] == theirs[..], "{name}: encodings differ"),
        _ => assert!(
            ours[..] != theirs[..],
            "{name}: expected property order to differ"
        ),
    }

    // Each decodes the other's buffer back to the packets it was built from.
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

    let mut stream = BytesMut::from(&ours[..]);
    match &case.theirs {
        Theirs::V4(packets) => {
            for expected in packets {
                match mqttbytes::v4::read(&mut stream, MAX_PACKET_SIZE) {
                    Ok(mqttbytes::v4::Packet::Publish(p)) => assert!(&p == expected, "{name}"),
                    other => panic!("{name}: mqttbytes read {other:?}"),
                }
            }
        }
        Theirs::V5(packets) => {
            for expected in packets {
                match mqttbytes::v5::read(&mut stream, MAX_PACKET_SIZE) {
                    Ok(mqttbytes::v5::Packet::Publish(p)) => assert!(&p == expected, "{name}"),
                    other => panic!("{name}: mqttbytes read {other:?}"),
                }
            }
        }
    }
    assert!(stream.is_empty(), "{name}: mqttbytes left bytes over");

    assert_eq!(case.decode_ours(ours), N, "{name}: ours decoded");
    assert_eq!(case.decode_theirs(ours), N, "{name}: mqttbytes decoded");
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Decode,
    Encode,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Codec {
    Ours,
    Theirs,
}

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

    let mut group = criterion.benchmark_group(format!("decode/{id}"));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("mqtt-codec", |b| {
        b.iter_custom(|iters| {
            timings.time((Op::Decode, id.clone(), Codec::Ours), iters, || {
                assert_eq!(case.decode_ours(black_box(&case.encoded)), N);
            })
        })
    });
    group.bench_function("mqttbytes", |b| {
        b.iter_custom(|iters| {
            timings.time((Op::Decode, id.clone(), Codec::Theirs), iters, || {
                assert_eq!(case.decode_theirs(black_box(&case.encoded)), N);
            })
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group(format!("encode/{id}"));
    group.throughput(Throughput::Elements(N as u64));
    let mut ours = Vec::with_capacity(case.encoded.len());
    group.bench_function("mqtt-codec", |b| {
        b.iter_custom(|iters| {
            timings.time((Op::Encode, id.clone(), Codec::Ours), iters, || {
                case.encode_ours(&mut ours);
                black_box(&ours);
            })
        })
    });
    let mut theirs = BytesMut::with_capacity(case.encoded.len());
    group.bench_function("mqttbytes", |b| {
        b.iter_custom(|iters| {
            timings.time((Op::Encode, id.clone(), Codec::Theirs), iters, || {
                case.encode_theirs(&mut theirs);
                black_box(&theirs);
            })
        })
    });
    group.finish();
}

fn print_table(cases: &[Case], timings: &Timings) {
    println!();
    println!(
        "PUBLISH throughput, {N} packets per buffer, million packets/s \
         (median of {SAMPLES} criterion samples); ratio = mqtt-codec / mqttbytes"
    );
    println!();
    println!(
        "| case | decode mqtt-codec | decode mqttbytes | decode ratio \
         | encode mqtt-codec | encode mqttbytes | encode ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let id = case.id();
        let mut row = format!("| {} |", case.title());
        for op in [Op::Decode, Op::Encode] {
            let ours = timings.packets_per_second(&(op, id.clone(), Codec::Ours));
            let theirs = timings.packets_per_second(&(op, id.clone(), Codec::Theirs));
            match (ours, theirs) {
                (Some(ours), Some(theirs)) => row.push_str(&format!(
                    " {} | {} | {:.2}× |",
                    mega(ours),
                    mega(theirs),
                    ours / theirs
                )),
                // Filtered out on the command line.
                _ => row.push_str(" – | – | – |"),
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
