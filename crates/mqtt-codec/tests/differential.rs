//! Differential test against an independent implementation: the npm package
//! `mqtt-packet` 9.0.2, the parser of mqtt.js, MQTTX and aedes, run under
//! node by `tests/mqtt-packet/differential.js` (one node process for the
//! whole run, JSON lines over stdin/stdout, bytes as hex).
//!
//! - **Ours → mqtt-packet**: packets from a seeded generator here are encoded
//!   by us, parsed by mqtt-packet and re-encoded by it. Its parsed object
//!   must equal [`to_js`] of our packet, and its bytes must equal ours.
//! - **mqtt-packet → ours**: packets from a seeded generator in the node
//!   script are encoded by mqtt-packet and decoded by us. [`to_js`] of our
//!   packet must equal the generator's object, and our re-encoding must
//!   equal mqtt-packet's bytes.
//!
//! Both directions cover MQTT 3.1.1 and 5.0 and all 15 packet types (AUTH in
//! 5.0 only). The seed is fixed; `MQTT_DIFFERENTIAL_SEED=<n>` picks another.
//!
//! Node and `tests/mqtt-packet/node_modules` must be there: `cargo xtask
//! test` installs them. This test installs nothing and fails without them.
//!
//! # How the two representations map ([`to_js`])
//!
//! mqtt-packet represents a packet as a plain object; these are the
//! differences of representation, none of them a disagreement:
//! - Every parsed object carries the fields of mqtt-packet's `Packet` class:
//!   `topic: null` and `payload: null` outside PUBLISH, and `qos`, `dup`,
//!   `retain` read from the fixed header flags of *any* packet, so PUBREL,
//!   SUBSCRIBE and UNSUBSCRIBE (flags 0010, §2.1.3) parse as `qos: 1`.
//! - Names: `packet_id` is `messageId`, `clean_start` `clean`, `keep_alive`
//!   `keepalive`, `Connect::protocol` is `protocolId: "MQTT"` plus
//!   `protocolVersion` 4 or 5, SUBSCRIBE filters are `subscriptions` of
//!   `{topic, qos, nl, rap, rh}` (`nl`, `rap`, `rh` only in 5.0), SUBACK and
//!   UNSUBACK reason codes are `granted`, properties are camelCase
//!   (`subscription_identifier_available` is `subscriptionIdentifiersAvailable`).
//! - CONNACK: in 3.1.1 mqtt-packet keeps the raw `returnCode` 0–5 where we
//!   keep the MQTT 5 reason code that means the same (1→0x84, 2→0x85,
//!   3→0x88, 4→0x86, 5→0x87); in 5.0 both have `reasonCode`.
//! - PUBACK/PUBREC/PUBREL/PUBCOMP and DISCONNECT in 5.0 always have a
//!   `reasonCode` (0 when the packet omits it); in 3.1.1 there is none.
//!   UNSUBACK has `granted` only in 5.0.
//! - An empty property block (zero length, or none in 3.1.1) is no
//!   `properties` key at all, for the will too (`will.properties`); ours is
//!   an empty `Properties`. No will is no `will` key; absent user name and
//!   password are absent keys.
//! - Binary data (payloads, password, correlation and authentication data)
//!   are Buffers, strings are strings; the JSON bridge writes a Buffer as
//!   `{"hex": …}` so the two never compare equal. One-byte boolean
//!   properties are JS booleans (mqtt-packet reads `byte !== 0`); Maximum QoS
//!   is a number.
//! - Subscription identifiers: one is a number, several are an array.
//! - User properties are an object keyed by name, a repeated name holding an
//!   array of its values in order. The order *across* names is lost: on
//!   re-encoding mqtt-packet writes each name's values together, names in
//!   first-appearance order, except names that are array indices ("0",
//!   "42", up to "4294967294"), which a JavaScript object lists first in
//!   ascending numeric order. So the bytes we expect back are our encoding
//!   of the packet with its user properties in that order
//!   ([`in_mqtt_packet_order`]). (For a server that forwards with
//!   mqtt-packet, aedes, this breaks "The Server MUST maintain the order of
//!   User Properties when forwarding the Application Message"
//!   [MQTT-3.3.2-18] for interleaved names.)
//! - Property order on the wire: we write properties in identifier order;
//!   mqtt-packet in its object's key order, which after parsing is the wire
//!   order. The node generator inserts keys in identifier order, and in a
//!   quarter of its property sets in a shuffled order: those packets are
//!   compared on every field and on length, not byte for byte (§2.2.2.2
//!   fixes no order, so both are right).
//!
//! # Real disagreements, kept out of the generators
//!
//! Each is written where the generator avoids it ([`user_properties`],
//! [`connect`], and `connect` in the node script):
//! - mqtt-packet's parser loses a user property when a name repeats and its
//!   first value is the empty string (it tests the stored value for
//!   truthiness, so the next value overwrites it). MQTT 5.0 §3.3.2.3.7: "The
//!   same name is allowed to appear more than once"; mqtt-packet is wrong.
//! - mqtt-packet refuses to write an MQTT 5.0 CONNECT with a password and no
//!   user name; §3.1.2.9 allows it ("This version of the protocol allows the
//!   sending of a Password with no User Name, where MQTT v3.1.1 did not").
//! - mqtt-packet refuses to write a CONNECT with an empty client id and
//!   clean start 0. Right in 3.1.1 ("If the Client supplies a zero-byte
//!   ClientId, the Client MUST also set CleanSession to 1" [MQTT-3.1.3-7]),
//!   where our encoder writes it; in 5.0 §3.1.3.1 no longer asks for it.
//! - Two legal short forms that neither encoder writes, left out of
//!   [`both_read_the_short_forms_alike`]: mqtt-packet rejects the AUTH of
//!   remaining length 0 (§3.15.2.1 allows it), and it reads past a
//!   DISCONNECT of remaining length 0 or 1 into the next packet of the same
//!   buffer (§3.14.2.1, §3.14.2.2.1 allow both forms).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use mqtt_codec::{
    decode_slice, Auth, Bytes, ConnAck, Connect, Disconnect, FixedHeader, LastWill, Packet,
    Properties, Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode,
    RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};
use serde_json::{json, Map, Value};

/// Packets per protocol version and direction.
const PER_VERSION: usize = 2_500;
/// The default seed of both generators.
const SEED: u64 = 0x6d71_7474_2d70_6b74;
/// Large enough for the 2 MiB packets of `remaining_length_boundaries`.
const MAX: usize = 1 << 22;
/// The version of mqtt-packet the node side must run.
const MQTT_PACKET_VERSION: &str = "9.0.2";
/// Disagreements printed in full before the test fails.
const SHOWN: usize = 8;

const V3: Protocol = Protocol::V311;
const V5: Protocol = Protocol::V5;

// ---- the two directions ----

#[test]
fn mqtt_packet_parses_and_rewrites_our_packets() {
    let mut node = node();
    let seed = seed();
    let mut failures = Failures::default();
    let mut tally = Tally::default();
    for (protocol, salt) in [(V3, 3), (V5, 5)] {
        let mut rng = Rng::new(seed ^ salt);
        for i in 0..PER_VERSION {
            let packet = packet(&mut rng, protocol, i);
            tally.add(protocol, &to_js(&packet, protocol));
            if let Err(why) = ours_to_mqtt_packet(&mut node, &packet, protocol) {
                failures.add(format!("{protocol:?} #{i}: {why}\n  packet: {packet:?}"));
            }
        }
    }
    tally.check("packets of ours");
    failures.check("packets of ours", tally.total, seed);
}

#[test]
fn we_decode_and_rewrite_mqtt_packet_packets() {
    let mut node = node();
    let seed = seed();
    let mut failures = Failures::default();
    let mut tally = Tally::default();
    let mut shuffled = 0;
    for (protocol, salt) in [(V3, 3), (V5, 5)] {
        let level = protocol.level();
        // The JavaScript generator takes a 32-bit seed.
        let js_seed = (seed ^ salt) as u32;
        node.send(&json!({"op": "generate", "v": level, "seed": js_seed, "count": PER_VERSION}));
        for i in 0.. {
            let line = node.receive();
            if line.get("done").is_some() {
                assert_eq!(i, PER_VERSION, "mqtt-packet generated too few packets");
                break;
            }
            tally.add(protocol, &line["packet"]);
            shuffled += usize::from(line["sorted"] == json!(false));
            if let Err(why) = mqtt_packet_to_ours(&line, protocol) {
                failures.add(format!(
                    "{protocol:?} #{i}: {why}\n  mqtt-packet: {}",
                    line["packet"]
                ));
            }
        }
    }
    tally.check("packets of mqtt-packet");
    println!("  of which {shuffled} with properties in another order than ours");
    failures.check("packets of mqtt-packet", tally.total, seed);
}

/// Legal forms neither encoder writes: MQTT 5 lets the acknowledgements
/// and DISCONNECT leave out the reason code and the property length. Both
/// decoders must read the same fields from them, and both write the same
/// (longer) form back; one at a time and all in one buffer, as one
/// WebSocket message may carry several packets.
#[test]
fn both_read_the_short_forms_alike() {
    let cases: &[&[u8]] = &[
        // "If the Remaining Length is less than 4 there is no Property
        // Length and the value of 0 is used" (§3.4.2.2.1, §3.5.2.2.1,
        // §3.6.2.2.1, §3.7.2.2.1).
        &[0x40, 0x03, 0x00, 0x01, 0x10],
        &[0x50, 0x03, 0x12, 0x34, 0x80],
        &[0x62, 0x03, 0x00, 0x01, 0x92],
        &[0x70, 0x03, 0xff, 0xff, 0x92],
        // "The Reason Code and Property Length can be omitted if the Reason
        // Code is 0x00 (Success) and there are no Properties" (§3.4.2.1).
        &[0x40, 0x02, 0x00, 0x07],
        &[0x62, 0x02, 0x00, 0x07],
        // Reason 0 with an empty property block: both write the short form.
        &[0x50, 0x04, 0x00, 0x01, 0x00, 0x00],
        // DISCONNECT: "If the Remaining Length is less than 2, a value of 0
        // is used" (§3.14.2.2.1).
        &[0xe0, 0x01, 0x04],
        // No reason code: "the value 0x00 (Normal disconnection) is used"
        // (§3.14.2.1).
        &[0xe0, 0x00],
    ];
    // Left out because mqtt-packet 9.0.2 is wrong:
    // - AUTH `f0 00`: "The Reason Code and Property Length can be omitted if
    //   the Reason Code is 0x00 (Success) and there are no Properties. In
    //   this case the AUTH has a Remaining Length of 0" (§3.15.2.1);
    //   mqtt-packet rejects it ("Invalid auth reason code").
    // - A DISCONNECT of remaining length 0 or 1 *followed by another
    //   packet* in the same buffer (`e0 00 c0 00`, `e0 01 04 c0 00`):
    //   mqtt-packet looks at the buffer's length, not the packet's, and
    //   reads the next packet's bytes as the reason code or the property
    //   length ("Invalid disconnect reason code", "Cannot parse property
    //   code type"). So the buffer holds one of them, last.
    let mut node = node();
    let mut failures = Failures::default();
    for bytes in cases {
        if let Err(why) = agree_on(&mut node, V5, bytes) {
            failures.add(format!("{}: {why}", hex(bytes)));
        }
    }
    let mut stream: Vec<u8> = cases
        .iter()
        .filter(|bytes| bytes[0] != 0xe0)
        .flat_map(|bytes| bytes.iter().copied())
        .collect();
    stream.extend_from_slice(&[0xe0, 0x01, 0x04]);
    if let Err(why) = agree_on(&mut node, V5, &stream) {
        failures.add(format!("all in one buffer: {why}"));
    }
    failures.check("short forms", cases.len() + 1, SEED);
}

/// PUBLISH packets whose remaining length sits on either side of each
/// boundary of the variable byte integer (§1.5.5): 1, 2, 3 and 4 bytes.
/// The 2 MiB ones only in MQTT 5 (the fixed header does not depend on the
/// version, and each costs a second in a debug build).
#[test]
fn remaining_length_boundaries() {
    let mut node = node();
    let mut failures = Failures::default();
    let mut total = 0;
    for protocol in [V3, V5] {
        // Topic "t" (3 bytes) and, in MQTT 5, an empty property block.
        let overhead = if protocol == V5 { 4 } else { 3 };
        let lengths: &[usize] = match protocol {
            V5 => &[127, 128, 16_383, 16_384, 2_097_151, 2_097_152],
            _ => &[127, 128, 16_383, 16_384],
        };
        for &remaining in lengths {
            let payload = Bytes::from(vec![0xa5; remaining - overhead]);
            let packet = Packet::from(Publish::new("t", payload));
            total += 1;
            if let Err(why) = ours_to_mqtt_packet(&mut node, &packet, protocol) {
                failures.add(format!(
                    "{protocol:?}, remaining length {remaining}: {why:.300}"
                ));
            }
        }
    }
    failures.check("boundary packets", total, SEED);
}

/// Both decoders read every packet in `bytes`: the same fields, the same
/// lengths, and each writes back what the other writes.
fn agree_on(node: &mut Node, protocol: Protocol, bytes: &[u8]) -> Result<(), String> {
    let mut ours = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match decode_slice(&bytes[at..], protocol, MAX) {
            Ok(Some((packet, used))) => {
                let header = FixedHeader::parse(&bytes[at..]).ok().flatten();
                ours.push((packet, header.map(|h| h.remaining_length)));
                at += used;
            }
            other => return Err(format!("we do not decode it: {other:?}")),
        }
    }
    let answer = node.request(&json!({"op": "parse", "v": protocol.level(), "hex": hex(bytes)}));
    if answer["ok"] != json!(true) || answer["left"] != json!(0) {
        return Err(format!("mqtt-packet does not read it: {answer}"));
    }
    let theirs = answer["packets"].as_array().cloned().unwrap_or_default();
    if theirs.len() != ours.len() {
        return Err(format!(
            "we read {} packets, mqtt-packet {}",
            ours.len(),
            theirs.len()
        ));
    }
    for ((packet, remaining), theirs) in ours.iter().zip(&theirs) {
        let expected = to_js(packet, protocol);
        if theirs["packet"] != expected || theirs["length"] != json!(remaining) {
            return Err(format!(
                "fields differ\n  ours mapped:  {expected} (length {remaining:?})\n  mqtt-packet:  {} (length {})",
                theirs["packet"], theirs["length"]
            ));
        }
        let mut rewritten = Vec::new();
        in_mqtt_packet_order(packet)
            .encode(protocol, &mut rewritten)
            .map_err(|e| format!("we cannot re-encode {packet:?}: {e:?}"))?;
        if theirs["hex"] != json!(hex(&rewritten)) {
            return Err(format!(
                "the writers differ\n  ours:        {}\n  mqtt-packet: {}",
                hex(&rewritten),
                theirs["hex"]
            ));
        }
    }
    Ok(())
}

/// Ours → mqtt-packet: it reads exactly our fields and writes our bytes.
fn ours_to_mqtt_packet(node: &mut Node, packet: &Packet, protocol: Protocol) -> Result<(), String> {
    let mut ours = Vec::new();
    packet
        .encode(protocol, &mut ours)
        .map_err(|e| format!("the generator made a packet we cannot encode: {e:?}"))?;
    // The generator's packets are valid: our decoder agrees with our encoder.
    match decode_slice(&ours, protocol, MAX) {
        Ok(Some((back, used))) if back == *packet && used == ours.len() => {}
        other => return Err(format!("we do not read back our own bytes: {other:?}")),
    }
    let answer = node.request(&json!({"op": "parse", "v": protocol.level(), "hex": hex(&ours)}));
    if answer["ok"] != json!(true) {
        return Err(format!(
            "mqtt-packet rejects our bytes {}: {}",
            hex(&ours),
            answer
        ));
    }
    let parsed = answer["packets"].as_array().cloned().unwrap_or_default();
    if parsed.len() != 1 || answer["left"] != json!(0) {
        return Err(format!(
            "mqtt-packet did not read one whole packet: {answer}"
        ));
    }
    let theirs = &parsed[0];
    let header = FixedHeader::parse(&ours)
        .ok()
        .flatten()
        .ok_or("our bytes have no fixed header")?;
    if theirs["length"] != json!(header.remaining_length) {
        return Err(format!(
            "remaining length: ours {}, mqtt-packet {}",
            header.remaining_length, theirs["length"]
        ));
    }
    let expected = to_js(packet, protocol);
    if theirs["packet"] != expected {
        return Err(format!(
            "fields differ\n  ours mapped:  {expected}\n  mqtt-packet:  {}\n  bytes: {}",
            theirs["packet"],
            hex(&ours)
        ));
    }
    // mqtt-packet writes user properties grouped by name (see the module
    // doc); everything else must come back byte for byte.
    let mut regrouped = Vec::new();
    in_mqtt_packet_order(packet)
        .encode(protocol, &mut regrouped)
        .map_err(|e| format!("cannot encode the regrouped packet: {e:?}"))?;
    let rewritten = theirs["hex"].as_str().unwrap_or_default();
    if rewritten != hex(&regrouped) {
        return Err(format!(
            "mqtt-packet writes other bytes\n  ours:        {}\n  mqtt-packet: {rewritten}",
            hex(&regrouped)
        ));
    }
    Ok(())
}

/// mqtt-packet → ours: we read exactly its fields and write its bytes.
fn mqtt_packet_to_ours(line: &Value, protocol: Protocol) -> Result<(), String> {
    let theirs = unhex(line["hex"].as_str().ok_or("no hex")?);
    let (packet, used) = match decode_slice(&theirs, protocol, MAX) {
        Ok(Some(decoded)) => decoded,
        other => {
            return Err(format!(
                "we do not decode mqtt-packet's bytes {}: {other:?}",
                hex(&theirs)
            ))
        }
    };
    if used != theirs.len() {
        return Err(format!("we read {used} of {} bytes", theirs.len()));
    }
    let ours_mapped = to_js(&packet, protocol);
    if ours_mapped != line["packet"] {
        return Err(format!(
            "fields differ\n  ours mapped:  {ours_mapped}\n  bytes: {}",
            hex(&theirs)
        ));
    }
    let mut ours = Vec::new();
    packet
        .encode(protocol, &mut ours)
        .map_err(|e| format!("we cannot re-encode what we decoded: {e:?}"))?;
    if line["sorted"] == json!(true) {
        if ours != theirs {
            return Err(format!(
                "we write other bytes\n  ours:        {}\n  mqtt-packet: {}",
                hex(&ours),
                hex(&theirs)
            ));
        }
    } else if ours.len() != theirs.len() {
        // Properties in another order than ours: same size, same fields.
        return Err(format!(
            "we write {} bytes for mqtt-packet's {}",
            ours.len(),
            theirs.len()
        ));
    }
    Ok(())
}

// ---- the mapping ----

/// Our packet as mqtt-packet's parser represents it (see the module doc).
fn to_js(packet: &Packet, protocol: Protocol) -> Value {
    let v5 = protocol == V5;
    let mut o = Map::new();
    let (cmd, header_qos) = match packet {
        Packet::Connect(_) => ("connect", 0),
        Packet::ConnAck(_) => ("connack", 0),
        Packet::Publish(p) => ("publish", p.qos as u8),
        Packet::PubAck(_) => ("puback", 0),
        Packet::PubRec(_) => ("pubrec", 0),
        Packet::PubRel(_) => ("pubrel", 1),
        Packet::PubComp(_) => ("pubcomp", 0),
        Packet::Subscribe(_) => ("subscribe", 1),
        Packet::SubAck(_) => ("suback", 0),
        Packet::Unsubscribe(_) => ("unsubscribe", 1),
        Packet::UnsubAck(_) => ("unsuback", 0),
        Packet::PingReq => ("pingreq", 0),
        Packet::PingResp => ("pingresp", 0),
        Packet::Disconnect(_) => ("disconnect", 0),
        Packet::Auth(_) => ("auth", 0),
        other => panic!("a packet type this test does not know: {other:?}"),
    };
    o.insert("cmd".into(), json!(cmd));
    o.insert("retain".into(), json!(false));
    o.insert("qos".into(), json!(header_qos));
    o.insert("dup".into(), json!(false));
    o.insert("topic".into(), Value::Null);
    o.insert("payload".into(), Value::Null);
    let properties = |o: &mut Map<String, Value>, p: &Properties| {
        if let Some(p) = properties_to_js(p).filter(|_| v5) {
            o.insert("properties".into(), p);
        }
    };
    match packet {
        Packet::Connect(c) => {
            o.insert("protocolId".into(), json!("MQTT"));
            o.insert("protocolVersion".into(), json!(c.protocol.level()));
            o.insert("clean".into(), json!(c.clean_start));
            o.insert("keepalive".into(), json!(c.keep_alive));
            o.insert("clientId".into(), json!(c.client_id));
            if c.protocol == V5 {
                if let Some(p) = properties_to_js(&c.properties) {
                    o.insert("properties".into(), p);
                }
            }
            if let Some(w) = &c.will {
                let mut will = Map::new();
                will.insert("retain".into(), json!(w.retain));
                will.insert("qos".into(), json!(w.qos as u8));
                will.insert("topic".into(), json!(w.topic));
                will.insert("payload".into(), buffer(&w.payload));
                if c.protocol == V5 {
                    if let Some(p) = properties_to_js(&w.properties) {
                        will.insert("properties".into(), p);
                    }
                }
                o.insert("will".into(), Value::Object(will));
            }
            if let Some(u) = &c.username {
                o.insert("username".into(), json!(u));
            }
            if let Some(p) = &c.password {
                o.insert("password".into(), buffer(p));
            }
        }
        Packet::ConnAck(c) => {
            o.insert("sessionPresent".into(), json!(c.session_present));
            if v5 {
                o.insert("reasonCode".into(), json!(c.reason_code.0));
            } else {
                o.insert("returnCode".into(), json!(v311_return_code(c.reason_code)));
            }
            properties(&mut o, &c.properties);
        }
        Packet::Publish(p) => {
            o.insert("retain".into(), json!(p.retain));
            o.insert("dup".into(), json!(p.dup));
            o.insert("topic".into(), json!(p.topic));
            o.insert("payload".into(), buffer(&p.payload));
            if let Some(id) = p.packet_id {
                o.insert("messageId".into(), json!(id));
            }
            properties(&mut o, &p.properties);
        }
        Packet::PubAck(PubAck {
            packet_id,
            reason_code,
            properties: p,
        })
        | Packet::PubRec(PubRec {
            packet_id,
            reason_code,
            properties: p,
        })
        | Packet::PubRel(PubRel {
            packet_id,
            reason_code,
            properties: p,
        })
        | Packet::PubComp(PubComp {
            packet_id,
            reason_code,
            properties: p,
        }) => {
            o.insert("messageId".into(), json!(packet_id));
            if v5 {
                o.insert("reasonCode".into(), json!(reason_code.0));
            }
            properties(&mut o, p);
        }
        Packet::Subscribe(s) => {
            o.insert("messageId".into(), json!(s.packet_id));
            let subscriptions: Vec<Value> = s
                .filters
                .iter()
                .map(|f| {
                    let mut sub = json!({"topic": f.filter, "qos": f.qos as u8});
                    if v5 {
                        sub["nl"] = json!(f.no_local);
                        sub["rap"] = json!(f.retain_as_published);
                        sub["rh"] = json!(f.retain_handling as u8);
                    }
                    sub
                })
                .collect();
            o.insert("subscriptions".into(), Value::Array(subscriptions));
            properties(&mut o, &s.properties);
        }
        Packet::SubAck(s) => {
            o.insert("messageId".into(), json!(s.packet_id));
            o.insert("granted".into(), codes(&s.reason_codes));
            properties(&mut o, &s.properties);
        }
        Packet::Unsubscribe(u) => {
            o.insert("messageId".into(), json!(u.packet_id));
            o.insert("unsubscriptions".into(), json!(u.filters));
            properties(&mut o, &u.properties);
        }
        Packet::UnsubAck(u) => {
            o.insert("messageId".into(), json!(u.packet_id));
            if v5 {
                o.insert("granted".into(), codes(&u.reason_codes));
            }
            properties(&mut o, &u.properties);
        }
        Packet::Disconnect(d) => {
            if v5 {
                o.insert("reasonCode".into(), json!(d.reason_code.0));
            }
            properties(&mut o, &d.properties);
        }
        Packet::Auth(a) => {
            o.insert("reasonCode".into(), json!(a.reason_code.0));
            properties(&mut o, &a.properties);
        }
        _ => {}
    }
    Value::Object(o)
}

/// A property set as mqtt-packet's parser returns it; `None` when empty
/// (mqtt-packet then has no `properties` key).
fn properties_to_js(p: &Properties) -> Option<Value> {
    if p.is_empty() {
        return None;
    }
    let mut o = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            o.insert(name.into(), value);
        }
    };
    put(
        "payloadFormatIndicator",
        p.payload_format_indicator.map(Value::from),
    );
    put(
        "messageExpiryInterval",
        p.message_expiry_interval.map(Value::from),
    );
    put("contentType", p.content_type.as_deref().map(Value::from));
    put(
        "responseTopic",
        p.response_topic.as_deref().map(Value::from),
    );
    put("correlationData", p.correlation_data.as_ref().map(buffer));
    put(
        "subscriptionIdentifier",
        match p.subscription_identifiers.as_slice() {
            [] => None,
            [one] => Some(json!(one)),
            many => Some(json!(many)),
        },
    );
    put(
        "sessionExpiryInterval",
        p.session_expiry_interval.map(Value::from),
    );
    put(
        "assignedClientIdentifier",
        p.assigned_client_identifier.as_deref().map(Value::from),
    );
    put("serverKeepAlive", p.server_keep_alive.map(Value::from));
    put(
        "authenticationMethod",
        p.authentication_method.as_deref().map(Value::from),
    );
    put(
        "authenticationData",
        p.authentication_data.as_ref().map(buffer),
    );
    put(
        "requestProblemInformation",
        p.request_problem_information.map(Value::from),
    );
    put("willDelayInterval", p.will_delay_interval.map(Value::from));
    put(
        "requestResponseInformation",
        p.request_response_information.map(Value::from),
    );
    put(
        "responseInformation",
        p.response_information.as_deref().map(Value::from),
    );
    put(
        "serverReference",
        p.server_reference.as_deref().map(Value::from),
    );
    put("reasonString", p.reason_string.as_deref().map(Value::from));
    put("receiveMaximum", p.receive_maximum.map(Value::from));
    put("topicAliasMaximum", p.topic_alias_maximum.map(Value::from));
    put("topicAlias", p.topic_alias.map(Value::from));
    put("maximumQoS", p.maximum_qos.map(|q| json!(q as u8)));
    put("retainAvailable", p.retain_available.map(Value::from));
    if !p.user_properties.is_empty() {
        // One key per name; a repeated name holds its values in order.
        let mut users = Map::new();
        for (name, value) in &p.user_properties {
            match users.get_mut(name) {
                None => {
                    users.insert(name.clone(), json!(value));
                }
                Some(Value::Array(values)) => values.push(json!(value)),
                Some(first) => *first = json!([first.clone(), value]),
            }
        }
        put("userProperties", Some(Value::Object(users)));
    }
    put("maximumPacketSize", p.maximum_packet_size.map(Value::from));
    put(
        "wildcardSubscriptionAvailable",
        p.wildcard_subscription_available.map(Value::from),
    );
    put(
        "subscriptionIdentifiersAvailable",
        p.subscription_identifier_available.map(Value::from),
    );
    put(
        "sharedSubscriptionAvailable",
        p.shared_subscription_available.map(Value::from),
    );
    Some(Value::Object(o))
}

/// The MQTT 3.1.1 CONNACK return code (§3.2.2.3, Table 3.1) for the MQTT 5
/// reason code our decoder gives it.
fn v311_return_code(code: ReasonCode) -> u8 {
    match code.0 {
        0x00 => 0,
        0x84 => 1,
        0x85 => 2,
        0x88 => 3,
        0x86 => 4,
        0x87 => 5,
        other => panic!("no MQTT 3.1.1 return code for 0x{other:02x}"),
    }
}

fn codes(codes: &[ReasonCode]) -> Value {
    codes.iter().map(|c| c.0).collect::<Vec<_>>().into()
}

fn buffer(bytes: &Bytes) -> Value {
    json!({ "hex": hex(bytes) })
}

/// The packet with its user properties in the order mqtt-packet writes them
/// back: grouped by name in first-appearance order, array-index names first
/// in ascending order (JavaScript's own-property order).
fn in_mqtt_packet_order(packet: &Packet) -> Packet {
    let mut packet = packet.clone();
    let sets: Vec<&mut Properties> = match &mut packet {
        Packet::Connect(c) => {
            let mut sets = vec![&mut c.properties];
            if let Some(w) = &mut c.will {
                sets.push(&mut w.properties);
            }
            sets
        }
        Packet::ConnAck(x) => vec![&mut x.properties],
        Packet::Publish(x) => vec![&mut x.properties],
        Packet::PubAck(x) => vec![&mut x.properties],
        Packet::PubRec(x) => vec![&mut x.properties],
        Packet::PubRel(x) => vec![&mut x.properties],
        Packet::PubComp(x) => vec![&mut x.properties],
        Packet::Subscribe(x) => vec![&mut x.properties],
        Packet::SubAck(x) => vec![&mut x.properties],
        Packet::Unsubscribe(x) => vec![&mut x.properties],
        Packet::UnsubAck(x) => vec![&mut x.properties],
        Packet::Disconnect(x) => vec![&mut x.properties],
        Packet::Auth(x) => vec![&mut x.properties],
        _ => vec![],
    };
    for p in sets {
        if p.user_properties.is_empty() {
            continue;
        }
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (name, value) in &p.user_properties {
            match groups.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => groups.push((name, vec![value])),
            }
        }
        // A stable sort: array indices first by value, the rest as they came.
        groups.sort_by_key(|(name, _)| array_index(name).map_or((1, 0), |i| (0, i)));
        let reordered: Vec<(String, String)> = groups
            .iter()
            .flat_map(|(name, values)| values.iter().map(|v| (name.to_string(), v.to_string())))
            .collect();
        p.user_properties = reordered;
    }
    packet
}

/// A JavaScript array index: the canonical decimal form of 0 ..= 2³² − 2.
fn array_index(name: &str) -> Option<u32> {
    let n: u32 = name.parse().ok()?;
    (n != u32::MAX && n.to_string() == name).then_some(n)
}

// ---- the generator of our packets ----

/// The `i`-th packet: the first round makes one of every kind, then any.
fn packet(rng: &mut Rng, protocol: Protocol, i: usize) -> Packet {
    let v5 = protocol == V5;
    // AUTH, the last kind, exists only in MQTT 5 (§2.1.2).
    let kinds = if v5 { 17 } else { 16 };
    let kind = if i < kinds {
        i
    } else {
        rng.below(kinds as u64) as usize
    };
    match kind {
        0 => connect(rng, protocol).into(),
        1 => {
            let code = if v5 {
                ReasonCode(rng.pick(CONNACK_V5))
            } else {
                // Our decoder gives 3.1.1 return codes 1–5 as these.
                ReasonCode(rng.pick(&[0x00, 0x84, 0x85, 0x88, 0x86, 0x87]))
            };
            // "If a Server sends a CONNACK packet containing a non-zero
            // Reason Code it MUST set Session Present to 0" [MQTT-3.2.2-6].
            let mut c = ConnAck::new(code.0 == 0 && rng.chance(50), code);
            c.properties = properties(rng, protocol, Ctx::ConnAck);
            c.into()
        }
        2..=4 => publish(rng, protocol).into(),
        5 => ack(rng, protocol, PUBACK_CODES, PubAck::new).into(),
        6 => ack(rng, protocol, PUBACK_CODES, PubRec::new).into(),
        7 => ack(rng, protocol, PUBREL_CODES, PubRel::new).into(),
        8 => ack(rng, protocol, PUBREL_CODES, PubComp::new).into(),
        9 => {
            let filters = (0..rng.range(1, 5))
                .map(|_| {
                    let mut f = SubscribeFilter::new(topic_filter(rng, protocol), qos(rng));
                    if v5 {
                        // "It is a Protocol Error to set the No Local bit to
                        // 1 on a Shared Subscription" [MQTT-3.8.3-4].
                        f.no_local = !f.filter.starts_with("$share/") && rng.chance(50);
                        f.retain_as_published = rng.chance(50);
                        f.retain_handling = rng.pick(&[
                            RetainHandling::SendAtSubscribe,
                            RetainHandling::SendAtSubscribeIfNew,
                            RetainHandling::DoNotSend,
                        ]);
                    }
                    f
                })
                .collect();
            let mut s = Subscribe::new(packet_id(rng), filters);
            s.properties = properties(rng, protocol, Ctx::Subscribe);
            s.into()
        }
        10 => {
            let allowed = if v5 { SUBACK_V5 } else { SUBACK_V311 };
            SubAck {
                packet_id: packet_id(rng),
                properties: properties(rng, protocol, Ctx::SubAck),
                reason_codes: (0..rng.range(1, 5))
                    .map(|_| ReasonCode(rng.pick(allowed)))
                    .collect(),
            }
            .into()
        }
        11 => {
            let filters = (0..rng.range(1, 5))
                .map(|_| topic_filter(rng, protocol))
                .collect();
            let mut u = Unsubscribe::new(packet_id(rng), filters);
            u.properties = properties(rng, protocol, Ctx::Unsubscribe);
            u.into()
        }
        12 => UnsubAck {
            packet_id: packet_id(rng),
            properties: properties(rng, protocol, Ctx::UnsubAck),
            reason_codes: if v5 {
                (0..rng.range(1, 5))
                    .map(|_| ReasonCode(rng.pick(UNSUBACK_V5)))
                    .collect()
            } else {
                Vec::new()
            },
        }
        .into(),
        13 => Packet::PingReq,
        14 => Packet::PingResp,
        15 => Disconnect {
            reason_code: ReasonCode(if v5 { rng.pick(DISCONNECT_V5) } else { 0 }),
            properties: properties(rng, protocol, Ctx::Disconnect),
        }
        .into(),
        _ => Auth {
            reason_code: ReasonCode(rng.pick(AUTH_CODES)),
            properties: properties(rng, protocol, Ctx::Auth),
        }
        .into(),
    }
}

const CONNACK_V5: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES: &[u8] = &[0x00, 0x92];
const SUBACK_V5: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const SUBACK_V311: &[u8] = &[0x00, 0x01, 0x02, 0x80];
const UNSUBACK_V5: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT_V5: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH_CODES: &[u8] = &[0x00, 0x18, 0x19];

fn connect(rng: &mut Rng, protocol: Protocol) -> Connect {
    let mut c = Connect::new(protocol, text(rng, 12));
    c.clean_start = rng.chance(50);
    c.keep_alive = int16(rng, 0);
    c.properties = properties(rng, protocol, Ctx::Connect);
    // mqtt-packet refuses to write an empty client id without clean start
    // (see the module doc): keep it out.
    if c.client_id.is_empty() && !c.clean_start {
        c.client_id = "c".into();
    }
    if rng.chance(50) {
        let payload = if rng.chance(3) {
            bytes(rng, 65_535)
        } else {
            bytes(rng, 16)
        };
        c.will = Some(LastWill {
            qos: qos(rng),
            properties: properties(rng, protocol, Ctx::Will),
            ..LastWill::new(topic_name(rng), payload, rng.chance(50))
        });
    }
    // A password only with a user name: 3.1.1 requires it [MQTT-3.1.2-22],
    // and mqtt-packet refuses to write one alone in 5.0 too, where §3.1.2.9
    // allows it (see the module doc).
    if rng.chance(60) {
        c.username = Some(text(rng, 8));
        if rng.chance(60) {
            c.password = Some(bytes(rng, 12));
        }
    }
    c
}

fn publish(rng: &mut Rng, protocol: Protocol) -> Publish {
    let q = qos(rng);
    let payload = if rng.chance(2) {
        Bytes::new()
    } else if rng.chance(2) {
        Bytes::from(vec![rng.below(256) as u8; 65_536])
    } else {
        bytes(rng, 64)
    };
    let mut p = Publish::new(topic_name(rng), payload);
    p.qos = q;
    p.retain = rng.chance(50);
    if q != QoS::AtMostOnce {
        p.packet_id = Some(packet_id(rng));
        // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
        p.dup = rng.chance(50);
    }
    p.properties = properties(rng, protocol, Ctx::Publish);
    // An empty topic name with a topic alias (MQTT 5 §3.3.2.3.4).
    if protocol == V5 && rng.chance(10) {
        p.topic.clear();
        p.properties.topic_alias = Some(rng.range(1, 65_535) as u16);
    }
    p
}

fn ack<A>(rng: &mut Rng, protocol: Protocol, codes: &[u8], new: fn(u16) -> A) -> A
where
    A: AckFields,
{
    let mut a = new(packet_id(rng));
    if protocol == V5 {
        let code = if rng.chance(40) { 0 } else { rng.pick(codes) };
        let properties = properties(rng, protocol, Ctx::Ack);
        a.set(ReasonCode(code), properties);
    }
    a
}

/// The reason code and properties of the four acknowledgements.
trait AckFields {
    fn set(&mut self, code: ReasonCode, properties: Properties);
}

macro_rules! ack_fields {
    ($($ty:ty),*) => {$(
        impl AckFields for $ty {
            fn set(&mut self, code: ReasonCode, properties: Properties) {
                self.reason_code = code;
                self.properties = properties;
            }
        }
    )*};
}
ack_fields!(PubAck, PubRec, PubRel, PubComp);

/// Where a property set goes: which properties may be drawn (MQTT 5
/// §2.2.2.2, Table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Connect,
    Will,
    ConnAck,
    Publish,
    Ack,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

/// A property set for `ctx` in MQTT 5 (none in 3.1.1): each property it may
/// carry with a 30 % chance.
fn properties(rng: &mut Rng, protocol: Protocol, ctx: Ctx) -> Properties {
    use Ctx::*;
    let mut p = Properties::default();
    if protocol != V5 {
        return p;
    }
    let may = |list: &[Ctx]| list.contains(&ctx);
    let draw = |rng: &mut Rng, list: &[Ctx]| may(list) && rng.chance(30);
    if draw(rng, &[Publish, Will]) {
        p.payload_format_indicator = Some(rng.chance(50));
    }
    if draw(rng, &[Publish, Will]) {
        p.message_expiry_interval = Some(int32(rng, 0));
    }
    if draw(rng, &[Publish, Will]) {
        p.content_type = Some(text(rng, 8));
    }
    if draw(rng, &[Publish, Will]) {
        p.response_topic = Some(topic_name(rng));
    }
    if draw(rng, &[Publish, Will]) {
        p.correlation_data = Some(bytes(rng, 8));
    }
    if may(&[Publish, Subscribe]) && rng.chance(40) {
        // Several in PUBLISH (one per matching subscription, §3.3.2.3.8),
        // one in SUBSCRIBE (§3.8.2.1.2).
        let n = if ctx == Publish && rng.chance(50) {
            rng.range(2, 4)
        } else {
            1
        };
        p.subscription_identifiers = (0..n).map(|_| subscription_id(rng)).collect();
    }
    if draw(rng, &[Connect, ConnAck, Disconnect]) {
        p.session_expiry_interval = Some(int32(rng, 0));
    }
    if draw(rng, &[ConnAck]) {
        p.assigned_client_identifier = Some(text(rng, 8));
    }
    if draw(rng, &[ConnAck]) {
        p.server_keep_alive = Some(int16(rng, 0));
    }
    if draw(rng, &[Connect, ConnAck, Auth]) {
        p.authentication_method = Some(text(rng, 8));
        // "It is a Protocol Error to include Authentication Data if there
        // is no Authentication Method" (§3.1.2.11.10).
        if rng.chance(50) {
            p.authentication_data = Some(bytes(rng, 8));
        }
    }
    if draw(rng, &[Connect]) {
        p.request_problem_information = Some(rng.chance(50));
    }
    if draw(rng, &[Will]) {
        p.will_delay_interval = Some(int32(rng, 0));
    }
    if draw(rng, &[Connect]) {
        p.request_response_information = Some(rng.chance(50));
    }
    if draw(rng, &[ConnAck]) {
        p.response_information = Some(text(rng, 8));
    }
    if draw(rng, &[ConnAck, Disconnect]) {
        p.server_reference = Some(text(rng, 8));
    }
    if draw(rng, &[ConnAck, Ack, SubAck, UnsubAck, Disconnect, Auth]) {
        p.reason_string = Some(text(rng, 12));
    }
    if draw(rng, &[Connect, ConnAck]) {
        // Not 0 (§3.1.2.11.3).
        p.receive_maximum = Some(int16(rng, 1));
    }
    if draw(rng, &[Connect, ConnAck]) {
        p.topic_alias_maximum = Some(int16(rng, 0));
    }
    if draw(rng, &[Publish]) {
        // Not 0 [MQTT-3.3.2-8].
        p.topic_alias = Some(int16(rng, 1));
    }
    if draw(rng, &[ConnAck]) {
        // 0 or 1 (§3.2.2.3.4).
        p.maximum_qos = Some(rng.pick(&[QoS::AtMostOnce, QoS::AtLeastOnce]));
    }
    if draw(rng, &[ConnAck]) {
        p.retain_available = Some(rng.chance(50));
    }
    if may(&[
        Connect,
        Will,
        ConnAck,
        Publish,
        Ack,
        Subscribe,
        SubAck,
        Unsubscribe,
        UnsubAck,
        Disconnect,
        Auth,
    ]) && rng.chance(30)
    {
        p.user_properties = user_properties(rng);
    }
    if draw(rng, &[Connect, ConnAck]) {
        // Not 0 (§3.1.2.11.4).
        p.maximum_packet_size = Some(int32(rng, 1));
    }
    if draw(rng, &[ConnAck]) {
        p.wildcard_subscription_available = Some(rng.chance(50));
    }
    if draw(rng, &[ConnAck]) {
        p.subscription_identifier_available = Some(rng.chance(50));
    }
    if draw(rng, &[ConnAck]) {
        p.shared_subscription_available = Some(rng.chance(50));
    }
    p
}

/// A small pool of names so that names repeat and interleave, with names
/// that are JavaScript array indices ("1", "42") and that are not ("007",
/// "4294967295").
const USER_NAMES: &[&str] = &[
    "a",
    "b",
    "key",
    "é",
    "😀",
    "",
    "1",
    "42",
    "007",
    "4294967295",
];

fn user_properties(rng: &mut Rng) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = (0..rng.range(1, 5))
        .map(|_| (rng.pick(USER_NAMES).to_owned(), text(rng, 6)))
        .collect();
    // mqtt-packet's parser drops a value when a name repeats and its first
    // value is "" (MQTT 5.0 §3.3.2.3.7: "The same name is allowed to appear
    // more than once"; see the module doc). Such a first value is made
    // non-empty until mqtt-packet is fixed.
    for i in 0..pairs.len() {
        let name = &pairs[i].0;
        let first = pairs[..i].iter().all(|(n, _)| n != name);
        let repeats = pairs[i + 1..].iter().any(|(n, _)| n == name);
        if first && repeats && pairs[i].1.is_empty() {
            pairs[i].1 = "v".into();
        }
    }
    pairs
}

/// Code points, never lone surrogates. U+FEFF must survive untouched
/// [MQTT-1.5.4-3]; U+0001 is a SHOULD NOT (§1.5.4), not a MUST.
const CHARS: &[char] = &[
    'a', 'b', 'c', 'x', 'y', 'z', 'A', 'Z', '0', '1', '9', ' ', '_', '-', '.', ':', '$', '/', 'é',
    'ß', '€', '中', '😀', '\u{feff}', '\u{1}',
];

fn text(rng: &mut Rng, max: u64) -> String {
    (0..rng.below(max + 1)).map(|_| rng.pick(CHARS)).collect()
}

fn level(rng: &mut Rng, max: u64) -> String {
    (0..rng.below(max + 1))
        .map(|_| rng.pick(CHARS))
        .filter(|&c| c != '/')
        .collect()
}

/// A topic name: no wildcards [MQTT-4.7.1-1], at least one character
/// [MQTT-4.7.3-1]; empty levels are fine.
fn topic_name(rng: &mut Rng) -> String {
    let topic = (0..rng.range(1, 4))
        .map(|_| level(rng, 6))
        .collect::<Vec<_>>()
        .join("/");
    if topic.is_empty() {
        "t".into()
    } else {
        topic
    }
}

/// "+" a whole level [MQTT-4.7.1-3], "#" the last level [MQTT-4.7.1-2];
/// in MQTT 5 sometimes a shared subscription (§4.8.2).
fn topic_filter(rng: &mut Rng, protocol: Protocol) -> String {
    if rng.chance(5) {
        return "#".into();
    }
    let mut levels: Vec<String> = (0..rng.range(1, 4))
        .map(|_| {
            if rng.chance(25) {
                "+".into()
            } else {
                level(rng, 5)
            }
        })
        .collect();
    if rng.chance(25) {
        levels.push("#".into());
    }
    let mut filter = levels.join("/");
    if filter.is_empty() {
        filter = "f".into();
    }
    if protocol == V5 && rng.chance(10) {
        filter = format!("$share/g{}/{filter}", rng.below(100));
    }
    filter
}

fn bytes(rng: &mut Rng, max: u64) -> Bytes {
    (0..rng.below(max + 1))
        .map(|_| rng.below(256) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn qos(rng: &mut Rng) -> QoS {
    rng.pick(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn packet_id(rng: &mut Rng) -> u16 {
    rng.range(1, 65_535) as u16
}

/// Boundaries more often than chance would pick them.
fn int16(rng: &mut Rng, min: u16) -> u16 {
    match rng.below(5) {
        0 => min,
        1 => u16::MAX,
        2 => min + rng.below(128) as u16,
        _ => rng.range(u64::from(min), 65_535) as u16,
    }
}

fn int32(rng: &mut Rng, min: u32) -> u32 {
    match rng.below(5) {
        0 => min,
        1 => u32::MAX,
        2 => min + rng.below(128) as u32,
        _ => rng.range(u64::from(min), u64::from(u32::MAX)) as u32,
    }
}

/// A subscription identifier of every variable byte integer length.
fn subscription_id(rng: &mut Rng) -> u32 {
    let random = rng.range(1, 268_435_455) as u32;
    rng.pick(&[
        1,
        127,
        128,
        16_383,
        16_384,
        2_097_151,
        2_097_152,
        268_435_455,
        random,
    ])
}

/// SplitMix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0 ..= n − 1.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// lo ..= hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---- the node process ----

/// The one node process of this test run, shared by both tests.
fn node() -> std::sync::MutexGuard<'static, Node> {
    static NODE: OnceLock<Mutex<Node>> = OnceLock::new();
    NODE.get_or_init(|| Mutex::new(Node::start()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Lives for the whole run (a static is never dropped): the process ends by
/// itself when our end of its stdin closes as the test binary exits.
struct Node {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    _process: Child,
}

impl Node {
    /// Starts `node differential.js`, after checking that `cargo xtask
    /// test` installed mqtt-packet.
    fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mqtt-packet");
        let manifest = dir.join("node_modules/mqtt-packet/package.json");
        let installed = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_owned));
        if installed.as_deref() != Some(MQTT_PACKET_VERSION) {
            panic!(
                "mqtt-packet {MQTT_PACKET_VERSION} is not installed in {} (found {installed:?}). \
                 Run `cargo xtask test`, which installs it (npm install in that folder), \
                 or run `npm install` there yourself.",
                dir.display()
            );
        }
        let mut child = Command::new("node")
            .arg("differential.js")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start node ({e}); `cargo xtask test` needs node 20 and npm")
            });
        let mut node = Self {
            stdin: child.stdin.take().expect("piped stdin"),
            stdout: BufReader::new(child.stdout.take().expect("piped stdout")),
            _process: child,
        };
        let version = node.request(&json!({"op": "version"}));
        assert_eq!(version["version"], json!(MQTT_PACKET_VERSION));
        node
    }

    fn send(&mut self, request: &Value) {
        let mut line = request.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .expect("node takes a request");
    }

    fn receive(&mut self) -> Value {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("node answers");
        assert!(n > 0, "node exited (its error is above)");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("node wrote {line:?}: {e}"))
    }

    fn request(&mut self, request: &Value) -> Value {
        self.send(request);
        self.receive()
    }
}

// ---- helpers ----

fn seed() -> u64 {
    match std::env::var("MQTT_DIFFERENTIAL_SEED") {
        Ok(s) => s.parse().expect("MQTT_DIFFERENTIAL_SEED is a number"),
        Err(_) => SEED,
    }
}

/// How many packets of each type a direction compared, per version.
#[derive(Default)]
struct Tally {
    total: usize,
    by_type: std::collections::BTreeMap<(u8, String), usize>,
}

impl Tally {
    fn add(&mut self, protocol: Protocol, packet: &Value) {
        self.total += 1;
        let cmd = packet["cmd"].as_str().unwrap_or("?").to_owned();
        *self.by_type.entry((protocol.level(), cmd)).or_default() += 1;
    }

    /// Prints the tally; every packet type must have been compared in both
    /// versions (AUTH in 5.0 only).
    fn check(&self, what: &str) {
        for level in [4, 5] {
            let counts: Vec<String> = self
                .by_type
                .iter()
                .filter(|((l, _), _)| *l == level)
                .map(|((_, cmd), n)| format!("{cmd} {n}"))
                .collect();
            println!("{what}, protocol level {level}: {}", counts.join(", "));
            let types = if level == 5 { 15 } else { 14 };
            assert_eq!(counts.len(), types, "{what}: a packet type is missing");
        }
    }
}

/// Disagreements, counted, the first few kept in full.
#[derive(Default)]
struct Failures {
    count: usize,
    shown: Vec<String>,
}

impl Failures {
    fn add(&mut self, failure: String) {
        self.count += 1;
        if self.shown.len() < SHOWN {
            self.shown.push(failure);
        }
    }

    fn check(self, what: &str, total: usize, seed: u64) {
        println!("{total} {what} compared with mqtt-packet {MQTT_PACKET_VERSION}, seed {seed}");
        assert!(
            self.count == 0,
            "{} of {total} {what} disagree with mqtt-packet (seed {seed}); the first {}:\n\n{}",
            self.count,
            self.shown.len(),
            self.shown.join("\n\n")
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn unhex(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not hex: {text:?}"),
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect()
}
