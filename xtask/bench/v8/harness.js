// `cargo xtask bench v8`: the node side. Run by xtask as
//   node --expose-gc harness.js MANIFEST.json
// where the manifest (written by xtask/src/bench/v8.rs) names the recorded
// streams, their chunk lengths, the wasm-bindgen modules (one per build
// profile), and where mqtt.js is installed (mqtt-packet is the copy it
// loads). Writes the timings to the manifest's `out` file as JSON; progress
// goes to stderr.
//
// Contenders, all fed the same Buffer views of the same bytes, one call per
// chunk:
// - codec: our mqtt-codec and mqtt-protocol-core, in wasm (each chunk copied
//   into wasm memory by wasm-bindgen's glue), and mqtt-packet's parser in JS;
// - receive path: our session engine (mqtt-client) in wasm, and an mqtt.js
//   MqttClient driven over an in-memory Duplex: the stream it reads from is
//   the recording, what it writes (CONNECT, PUBACKs) is dropped. Its
//   'message' events are counted; a run ends when the last one fires.
//
// Contenders alternate within each round (ours, theirs, ours, …); the first
// `warmup` rounds of each stream are not timed (V8 tiers wasm and JS up
// while they run). Every run checks the packet count and the payload bytes
// against what the stream holds, so a decoder that skipped or misread
// packets fails the benchmark instead of looking fast.

'use strict';

const fs = require('fs');
const path = require('path');
const { Duplex } = require('stream');

const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { MqttClient } = require(manifest.mqtt);
// The mqtt-packet mqtt.js itself loads, wherever npm put it.
const mqttPacketDir = path.dirname(
  require.resolve('mqtt-packet/package.json', { paths: [manifest.mqtt] }),
);
const mqttPacket = require(mqttPacketDir);
const versionOf = (dir) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;

const collect = typeof global.gc === 'function' ? global.gc : () => {};
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** A stream of the manifest, read once, cut into its chunks (views, no copies). */
function load(stream) {
  const bytes = fs.readFileSync(stream.file);
  const chunks = [];
  let at = 0;
  for (const len of stream.chunks) {
    chunks.push(bytes.subarray(at, at + len));
    at += len;
  }
  if (at !== bytes.length) {
    throw new Error(`${stream.id}: chunks cover ${at} of ${bytes.length} bytes`);
  }
  return { ...stream, chunks, connack: Buffer.from(stream.connack) };
}

/** Times a synchronous decoder: `make()` builds it, `feed(d, chunk)` returns packets. */
function timeWasm(stream, make, feed, payloadBytes, free) {
  const decoder = make();
  collect();
  const start = process.hrtime.bigint();
  let count = 0;
  for (const chunk of stream.chunks) count += feed(decoder, chunk);
  const elapsed = seconds(start);
  const bytes = payloadBytes(decoder);
  free(decoder);
  return { elapsed, count, bytes };
}

function oursCodec(mod) {
  return (stream) =>
    timeWasm(
      stream,
      () => new mod.OursDecoder(stream.v5),
      (d, chunk) => d.feed(chunk),
      (d) => d.payload_bytes,
      (d) => d.free(),
    );
}

function peerCodec(mod) {
  return (stream) =>
    timeWasm(
      stream,
      () => new mod.PeerDecoder(stream.v5),
      (d, chunk) => d.feed(chunk),
      (d) => d.payload_bytes,
      (d) => d.free(),
    );
}

function oursEngine(mod) {
  return (stream) =>
    timeWasm(
      stream,
      () => {
        const engine = new mod.OursEngine(stream.v5);
        // CONNACK first, untimed: the engine drops anything before it.
        engine.feed(stream.connack);
        return engine;
      },
      (e, chunk) => e.feed(chunk),
      (e) => e.payload_bytes,
      (e) => e.free(),
    );
}

/** mqtt-packet's parser, as mqtt.js builds it, counting 'packet' events. */
function mqttPacketCodec(stream) {
  const parser = mqttPacket.parser({ protocolVersion: stream.v5 ? 5 : 4 });
  let count = 0;
  let bytes = 0;
  let failure = null;
  parser.on('packet', (packet) => {
    count += 1;
    bytes += packet.payload.length;
  });
  parser.on('error', (err) => {
    failure = failure || err;
  });
  collect();
  const start = process.hrtime.bigint();
  for (const chunk of stream.chunks) parser.parse(chunk);
  const elapsed = seconds(start);
  if (failure) throw new Error(`mqtt-packet: ${failure.message}`);
  return { elapsed, count, bytes };
}

/**
 * mqtt.js's whole client receive path: an MqttClient on a Duplex whose
 * readable side is the recording. CONNACK is pushed first and the clock
 * starts on 'connect'; all chunks are then pushed at once (as a socket that
 * has them all buffered would deliver them) and the run ends at the last
 * 'message'.
 */
function mqttJsClient(stream) {
  return new Promise((resolve, reject) => {
    const duplex = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    const client = new MqttClient(() => duplex, {
      protocolVersion: stream.v5 ? 5 : 4,
      clientId: 'bench-v8',
      keepalive: 0,
      reconnectPeriod: 0,
      clean: true,
    });
    let count = 0;
    let bytes = 0;
    let start = null;
    const watchdog = setTimeout(() => {
      finish(new Error(`mqtt.js: ${count} of ${stream.packets} messages after 300 s`));
    }, 300_000);
    const finish = (err, result) => {
      clearTimeout(watchdog);
      client.removeAllListeners('message');
      client.on('error', () => {});
      client.end(true, () => (err ? reject(err) : resolve(result)));
    };
    client.on('error', (err) => finish(new Error(`mqtt.js: ${err.message}`)));
    client.on('message', (_topic, payload) => {
      count += 1;
      bytes += payload.length;
      if (count === stream.packets) finish(null, { elapsed: seconds(start), count, bytes });
    });
    client.once('connect', () => {
      collect();
      start = process.hrtime.bigint();
      for (const chunk of stream.chunks) duplex.push(chunk);
    });
    duplex.push(stream.connack);
  });
}

/**
 * One round's contenders, in order: the first module's codecs, then
 * mqtt-packet, the other modules' codecs; the first module's engine, then
 * mqtt.js, the other modules' engines. So each JS contender runs between
 * two wasm ones.
 */
function contenders() {
  const modules = manifest.modules.map(({ id, path: glue }) => ({ id, mod: require(glue) }));
  const codecs = ({ id, mod }) => [
    { id: `mqtt-codec@${id}`, run: oursCodec(mod) },
    { id: `mqtt-protocol-core@${id}`, run: peerCodec(mod) },
  ];
  const engine = ({ id, mod }) => ({ id: `mqtt-client@${id}`, run: oursEngine(mod) });
  const [first, ...rest] = modules;
  return [
    ...codecs(first),
    { id: 'mqtt-packet', run: mqttPacketCodec },
    ...rest.flatMap(codecs),
    engine(first),
    { id: 'mqtt.js', run: mqttJsClient },
    ...rest.map(engine),
  ];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const list = contenders();
  const results = {
    node: process.version,
    v8: process.versions.v8,
    mqtt_packet: versionOf(mqttPacketDir),
    mqtt: versionOf(manifest.mqtt),
    gc_between_runs: typeof global.gc === 'function',
    runs: manifest.runs,
    warmup: manifest.warmup,
    streams: [],
  };
  for (const recorded of manifest.streams) {
    const stream = load(recorded);
    const times = Object.fromEntries(list.map((c) => [c.id, []]));
    for (let round = 0; round < manifest.warmup + manifest.runs; round += 1) {
      const timed = round >= manifest.warmup;
      const line = [];
      for (const contender of list) {
        const { elapsed, count, bytes } = await contender.run(stream);
        if (count !== stream.packets || bytes !== stream.payload_bytes) {
          throw new Error(
            `stream ${stream.id}: ${contender.id} decoded ${count} packets with ` +
              `${bytes} payload bytes; the stream holds ${stream.packets} with ` +
              `${stream.payload_bytes}`,
          );
        }
        if (timed) times[contender.id].push(elapsed);
        line.push(`${contender.id} ${(count / elapsed / 1e6).toFixed(2)}`);
      }
      process.stderr.write(
        `stream ${stream.id} ${timed ? `run ${round - manifest.warmup + 1}` : 'warm-up'}` +
          ` (M packets/s): ${line.join(', ')}\n`,
      );
    }
    const perContender = {};
    for (const [id, samples] of Object.entries(times)) {
      const mid = median(samples);
      perContender[id] = { seconds: samples, median_s: mid, packets_per_s: stream.packets / mid };
    }
    results.streams.push({
      id: stream.id,
      packets: stream.packets,
      bytes: stream.chunks.reduce((n, c) => n + c.length, 0),
      chunks: stream.chunks.length,
      results: perContender,
    });
  }
  fs.writeFileSync(manifest.out, JSON.stringify(results, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`harness: ${err.stack || err}\n`);
  process.exit(1);
});
