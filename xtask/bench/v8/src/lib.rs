//! The wasm side of `cargo xtask bench v8`: our codec, our session engine
//! and mqtt-protocol-core 0.7, each behind a small `#[wasm_bindgen]` class
//! that node feeds one chunk at a time.
//!
//! The contract: every class takes a chunk as `&[u8]`, so wasm-bindgen's glue
//! copies the JS `Uint8Array` into wasm memory on each call, as the app's
//! WebSocket handler must; `feed` returns how many packets (or, for the
//! engine, messages) the chunk completed, and the running payload byte count
//! lets the harness check that every decoder saw the same packets. The
//! trade-off: one crate holds all three, so they are built with the same
//! profile and the same wasm-opt pass, which is what makes the figures
//! comparable, at the cost of one slightly larger module.
//!
//! Decode errors become JS exceptions (`JsError`) carrying a [`BenchError`];
//! the recorded streams never produce one.

use core::fmt;
use std::sync::Arc;

use mqtt_client::{Client, ConnectOptions, ConnectionError, Event};
use mqtt_codec::{DecodeError, Decoder, Packet, Protocol};
use mqtt_protocol_core::mqtt::common::Cursor;
use mqtt_protocol_core::mqtt::connection::{PacketBuildResult, PacketBuilder, PacketData};
use mqtt_protocol_core::mqtt::packet::{v3_1_1 as mpc_v3, v5_0 as mpc_v5};
use mqtt_protocol_core::mqtt::result_code::MqttError;
use wasm_bindgen::prelude::*;

/// Largest packet any decoder accepts: the engine's default, 1 MiB.
const MAX_PACKET_SIZE: usize = 1 << 20;

/// Why a chunk could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BenchError {
    /// Our decoder refused the stream.
    Ours(DecodeError),
    /// mqtt-protocol-core refused the stream.
    Peer(MqttError),
    /// A packet other than PUBLISH in a stream of PUBLISH packets (its
    /// type, 1 to 15).
    NotPublish(u8),
    /// The session engine dropped the connection.
    Disconnected(ConnectionError),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ours(err) => write!(f, "mqtt-codec: {err}"),
            Self::Peer(err) => write!(f, "mqtt-protocol-core: {err:?}"),
            Self::NotPublish(kind) => write!(f, "a packet of type {kind}, not PUBLISH"),
            Self::Disconnected(err) => write!(f, "mqtt-client disconnected: {err}"),
        }
    }
}

impl std::error::Error for BenchError {}

fn protocol(v5: bool) -> Protocol {
    if v5 {
        Protocol::V5
    } else {
        Protocol::V311
    }
}

/// Our codec: [`Decoder::feed`], then `next_packet` until it needs more.
#[wasm_bindgen]
pub struct OursDecoder {
    decoder: Decoder,
    payload_bytes: u64,
}

#[wasm_bindgen]
impl OursDecoder {
    /// A decoder for MQTT 5 if `v5`, else 3.1.1.
    #[wasm_bindgen(constructor)]
    pub fn new(v5: bool) -> Self {
        Self {
            decoder: Decoder::new(protocol(v5), MAX_PACKET_SIZE),
            payload_bytes: 0,
        }
    }

    /// Takes one chunk; returns the packets it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<u32, JsError> {
        Ok(self.take(chunk)?)
    }

    /// Payload bytes of every packet decoded so far.
    #[wasm_bindgen(getter)]
    pub fn payload_bytes(&self) -> f64 {
        self.payload_bytes as f64
    }
}

impl OursDecoder {
    fn take(&mut self, chunk: &[u8]) -> Result<u32, BenchError> {
        self.decoder.feed(chunk);
        let mut count = 0;
        while let Some(packet) = self.decoder.next_packet().map_err(BenchError::Ours)? {
            let Packet::Publish(publish) = packet else {
                return Err(BenchError::NotPublish(packet.packet_type() as u8));
            };
            self.payload_bytes += publish.payload.len() as u64;
            count += 1;
        }
        Ok(count)
    }
}

/// mqtt-protocol-core: the two layers its `Connection::recv` runs, as in the
/// codec's criterion benchmark (`crates/mqtt-codec/benches/codec.rs`): a
/// `PacketBuilder` frames packets from a `Cursor` over the chunk (keeping a
/// partial packet between chunks), then `Publish::parse` turns each body
/// into a `Publish`. Without the connection state machine, which our
/// [`OursDecoder`] does not run either.
#[wasm_bindgen]
pub struct PeerDecoder {
    builder: PacketBuilder,
    v5: bool,
    payload_bytes: u64,
}

#[wasm_bindgen]
impl PeerDecoder {
    /// A decoder for MQTT 5 if `v5`, else 3.1.1.
    #[wasm_bindgen(constructor)]
    pub fn new(v5: bool) -> Self {
        Self {
            builder: PacketBuilder::with_maximum_packet_size(MAX_PACKET_SIZE as u32),
            v5,
            payload_bytes: 0,
        }
    }

    /// Takes one chunk; returns the packets it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<u32, JsError> {
        Ok(self.take(chunk)?)
    }

    /// Payload bytes of every packet decoded so far.
    #[wasm_bindgen(getter)]
    pub fn payload_bytes(&self) -> f64 {
        self.payload_bytes as f64
    }
}

impl PeerDecoder {
    fn take(&mut self, chunk: &[u8]) -> Result<u32, BenchError> {
        let mut cursor = Cursor::new(chunk);
        let mut count = 0;
        loop {
            match self.builder.feed(&mut cursor) {
                PacketBuildResult::Complete(raw) => {
                    let (kind, flags) = (raw.packet_type(), raw.flags());
                    let PacketData::Publish(body) = raw.data else {
                        return Err(BenchError::NotPublish(kind));
                    };
                    self.payload_bytes += if self.v5 {
                        parse(flags, body, mpc_v5::Publish::parse)?.payload().len()
                    } else {
                        parse(flags, body, mpc_v3::Publish::parse)?.payload().len()
                    } as u64;
                    count += 1;
                }
                PacketBuildResult::Incomplete => return Ok(count),
                PacketBuildResult::Error(err) => return Err(BenchError::Peer(err)),
            }
        }
    }
}

/// One of mqtt-protocol-core's `Publish::parse`, errors mapped.
fn parse<P>(
    flags: u8,
    body: Arc<[u8]>,
    parse: impl Fn(u8, Arc<[u8]>) -> Result<(P, usize), MqttError>,
) -> Result<P, BenchError> {
    parse(flags, body)
        .map(|(packet, _)| packet)
        .map_err(BenchError::Peer)
}

/// Our session engine, the full receive path: [`Client::handle_bytes`],
/// then every [`Client::poll_event`] (counting [`Event::Message`]) and
/// [`Client::poll_transmit`] (the PUBACKs of QoS 1, dropped as a socket
/// would take them), in the order the engine documents.
#[wasm_bindgen]
pub struct OursEngine {
    client: Client,
    transmit: Vec<u8>,
    payload_bytes: u64,
}

#[wasm_bindgen]
impl OursEngine {
    /// A client for MQTT 5 if `v5`, else 3.1.1, that has sent CONNECT: feed
    /// it a CONNACK first. Keep-alive and reconnecting are off, as for the
    /// mqtt.js client it is measured against.
    #[wasm_bindgen(constructor)]
    pub fn new(v5: bool) -> Self {
        let mut options = ConnectOptions::new("bench-v8");
        options.protocol = protocol(v5);
        options.keep_alive_secs = 0;
        options.reconnect = None;
        let mut client = Client::new(options);
        client.connect(0);
        let mut transmit = Vec::new();
        client.poll_transmit(&mut transmit);
        transmit.clear();
        Self {
            client,
            transmit,
            payload_bytes: 0,
        }
    }

    /// Takes one chunk; returns the messages it delivered.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<u32, JsError> {
        Ok(self.take(chunk)?)
    }

    /// Payload bytes of every message delivered so far.
    #[wasm_bindgen(getter)]
    pub fn payload_bytes(&self) -> f64 {
        self.payload_bytes as f64
    }
}

impl OursEngine {
    fn take(&mut self, chunk: &[u8]) -> Result<u32, BenchError> {
        // No deadline is armed (keep-alive off), so the time does not matter.
        self.client.handle_bytes(0, chunk);
        while self.client.poll_transmit(&mut self.transmit) {
            self.transmit.clear();
        }
        let mut count = 0;
        while let Some(event) = self.client.poll_event() {
            match event {
                Event::Message(publish) => {
                    self.payload_bytes += publish.payload.len() as u64;
                    count += 1;
                }
                Event::Disconnected(err) => return Err(BenchError::Disconnected(err)),
                _ => {}
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    //! The wrappers agree on a small stream fed in every chunk size from one
    //! byte up, so a harness count mismatch points at the harness.

    use mqtt_codec::{ConnAck, Publish, QoS, ReasonCode};

    use super::*;

    fn stream(protocol: Protocol) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let mut payload_bytes = 0;
        for i in 0..20u16 {
            let mut publish = Publish::new(format!("tele/plug-{i}/SENSOR"), vec![b'x'; i.into()]);
            publish.qos = if i % 2 == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            publish.packet_id = (i % 2 == 1).then_some(i);
            if protocol == Protocol::V5 {
                publish.properties.content_type = Some("application/json".into());
            }
            payload_bytes += u64::from(i);
            Packet::from(publish)
                .encode(protocol, &mut out)
                .expect("test packets encode");
        }
        (out, payload_bytes)
    }

    #[test]
    fn all_three_count_the_same_packets_whatever_the_chunk_size() {
        for v5 in [false, true] {
            let (bytes, payload_bytes) = stream(protocol(v5));
            let mut connack = Vec::new();
            Packet::from(ConnAck::new(false, ReasonCode::SUCCESS))
                .encode(protocol(v5), &mut connack)
                .expect("CONNACK encodes");
            for size in 1..=bytes.len() {
                let (mut ours, mut peer, mut engine) = (
                    OursDecoder::new(v5),
                    PeerDecoder::new(v5),
                    OursEngine::new(v5),
                );
                assert_eq!(engine.take(&connack), Ok(0));
                let mut counts = [0; 3];
                for chunk in bytes.chunks(size) {
                    counts[0] += ours.take(chunk).expect("ours decodes");
                    counts[1] += peer.take(chunk).expect("peer decodes");
                    counts[2] += engine.take(chunk).expect("engine takes it");
                }
                assert_eq!(counts, [20; 3], "v5 {v5}, chunks of {size}");
                assert_eq!(ours.payload_bytes, payload_bytes);
                assert_eq!(peer.payload_bytes, payload_bytes);
                assert_eq!(engine.payload_bytes, payload_bytes);
            }
        }
    }
}
