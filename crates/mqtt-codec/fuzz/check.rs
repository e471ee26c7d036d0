//! The properties the `decode` fuzz target checks, in one place: the fuzz
//! target (`fuzz_targets/decode.rs`), the stable corpus replay
//! (`../tests/fuzz_corpus.rs`) and the seed writer (`examples/seed_corpus.rs`)
//! all include this file, so a corpus entry means the same thing under
//! libFuzzer and under `cargo test`.
//!
//! Input layout: the first byte is a control byte, the rest is the byte
//! stream. Bit 0 of the control byte picks the protocol (0: MQTT 3.1.1,
//! 1: MQTT 5.0); bits 1–7 pick where the stream is split in two for the
//! incremental decoder, from 0 (everything in the second chunk) to 127
//! (everything in the first).
//!
//! The checks, on any input:
//! - `decode_slice` never claims more bytes than it was given, nor zero;
//! - a [`Decoder`] fed the stream in two chunks yields the same packets as
//!   repeated `decode_slice` calls, then ends the same way: the same error,
//!   or the same number of bytes left waiting for more;
//! - every decoded packet encodes again in the same protocol, and that
//!   encoding decodes to an equal packet.
//!
//! Nothing here panics except through these assertions.

use mqtt_codec::{decode_slice, DecodeError, Decoder, EncodeError, Packet, Protocol};

/// The maximum packet size the checks decode with: small enough that
/// libFuzzer's inputs (4 KiB by default) also reach the size limit.
pub(crate) const MAX_PACKET_SIZE: usize = 1024;

/// The control byte for a stream in `protocol`, split at `eighths` eighths
/// of its length (0 to 8), for writing corpus entries.
#[allow(dead_code)] // only the seed writer uses it
pub(crate) fn control_byte(protocol: Protocol, eighths: u8) -> u8 {
    let split = (u16::from(eighths.min(8)) * 127 / 8) as u8;
    (split << 1) | u8::from(protocol != Protocol::V311)
}

/// Runs every check on one input.
pub(crate) fn check(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let protocol = if control & 1 == 0 {
        Protocol::V311
    } else {
        Protocol::V5
    };
    let split = stream.len() * usize::from(control >> 1) / 127;

    let one_shot = decode_one_shot(stream, protocol);
    let incremental = decode_incremental(stream, split, protocol);
    assert_eq!(
        incremental,
        one_shot,
        "Decoder fed {split} + {} bytes disagrees with decode_slice ({protocol:?})",
        stream.len() - split
    );
    for packet in &one_shot.packets {
        round_trip(packet, protocol);
    }
}

/// What decoding a stream gave: its packets, then how it stopped.
#[derive(Debug, PartialEq)]
struct Outcome {
    packets: Vec<Packet>,
    end: End,
}

#[derive(Debug, PartialEq)]
enum End {
    /// The stream ended inside a packet (or exactly after one), with this
    /// many bytes not yet decoded.
    NeedMore { left: usize },
    /// A packet was malformed or too large.
    Error(DecodeError),
}

/// Repeated `decode_slice` calls over the whole stream.
fn decode_one_shot(stream: &[u8], protocol: Protocol) -> Outcome {
    let mut packets = Vec::new();
    let mut offset = 0;
    let end = loop {
        let rest = &stream[offset..];
        match decode_slice(rest, protocol, MAX_PACKET_SIZE) {
            Ok(Some((packet, used))) => {
                assert!(
                    used > 0 && used <= rest.len(),
                    "decode_slice claims {used} bytes of {} for {packet:?}",
                    rest.len()
                );
                packets.push(packet);
                offset += used;
            }
            Ok(None) => break End::NeedMore { left: rest.len() },
            Err(err) => break End::Error(err),
        }
    };
    Outcome { packets, end }
}

/// A `Decoder` fed `stream[..split]`, drained, then `stream[split..]`,
/// drained again.
fn decode_incremental(stream: &[u8], split: usize, protocol: Protocol) -> Outcome {
    let mut decoder = Decoder::new(protocol, MAX_PACKET_SIZE);
    let mut packets = Vec::new();
    for chunk in [&stream[..split], &stream[split..]] {
        decoder.feed(chunk);
        loop {
            match decoder.next_packet() {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => break,
                Err(err) => {
                    return Outcome {
                        packets,
                        end: End::Error(err),
                    }
                }
            }
        }
    }
    Outcome {
        packets,
        end: End::NeedMore {
            left: decoder.buffered(),
        },
    }
}

/// A decoded packet must encode, and its encoding must decode to itself.
fn round_trip(packet: &Packet, protocol: Protocol) {
    let mut encoded = Vec::new();
    // The one packet a server decodes but a client must not write: a 3.1.1
    // CONNECT with an empty client id and no clean session [MQTT-3.1.3-7]
    // (the server answers CONNACK 2, so decoding it is right).
    if let Packet::Connect(c) = packet {
        if c.protocol == Protocol::V311 && c.client_id.is_empty() && !c.clean_start {
            assert_eq!(
                packet.encode(protocol, &mut encoded),
                Err(EncodeError::NotInV311)
            );
            return;
        }
    }
    if let Err(err) = packet.encode(protocol, &mut encoded) {
        panic!("decoded packet does not encode again ({protocol:?}): {err:?}\n{packet:?}");
    }
    match decode_slice(&encoded, protocol, encoded.len()) {
        Ok(Some((again, used))) => {
            assert_eq!(
                used,
                encoded.len(),
                "re-encoded packet decodes short ({protocol:?}): {encoded:02x?}"
            );
            assert_eq!(
                &again, packet,
                "packet changes on encode and decode ({protocol:?}): {encoded:02x?}"
            );
        }
        other => panic!(
            "re-encoded packet does not decode ({protocol:?}): {other:?}\n{packet:?}\n{encoded:02x?}"
        ),
    }
}
