// The mqtt-packet side of crates/mqtt-codec/tests/differential.rs.
//
// Reads one JSON request per line on stdin and answers on stdout, one JSON
// line per answer; bytes travel as hex. Requests:
//
//   {"op":"version"}
//       -> {"version":"9.0.2"}
//   {"op":"parse","v":4|5,"hex":"..."}
//       mqtt-packet parses the bytes and re-encodes every packet it got:
//       -> {"ok":true,"packets":[{"length":N,"packet":{...},"hex":"..."}],"left":N}
//       -> {"ok":false,"error":"..."}
//   {"op":"generate","v":4|5,"seed":N,"count":N}
//       `count` packets from the seeded generator below, each encoded by
//       mqtt-packet, one line each, then {"done":true}:
//       -> {"packet":{...},"hex":"...","sorted":true|false}
//
// Packets are written in the shape mqtt-packet's parser returns them (the
// fields of its Packet class included: `topic: null`, `payload: null`, and
// `qos`/`dup`/`retain` read from the fixed header flags), so one mapping on
// the Rust side serves both directions. Buffers are written as {"hex":"..."}
// so a Buffer and a string never compare equal.
'use strict'

const readline = require('readline')
const mqtt = require('mqtt-packet')
const { version } = require('mqtt-packet/package.json')

// Buffers are replaced before JSON.stringify sees them: it would first turn
// each into an array of numbers through Buffer#toJSON (slow for 2 MiB).
function plain (value) {
  if (Buffer.isBuffer(value)) return { hex: value.toString('hex') }
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const key of Object.keys(value)) out[key] = plain(value[key])
    return out
  }
  return value
}

function toJson (value) {
  return JSON.stringify(plain(value))
}

function send (value) {
  process.stdout.write(toJson(value) + '\n')
}

// ---- parse: mqtt-packet reads our bytes and writes them again ----

function parse (v, hex) {
  const parser = mqtt.parser({ protocolVersion: v })
  const packets = []
  let error = null
  parser.on('packet', (packet) => packets.push(packet))
  parser.on('error', (err) => { error = error || err })
  const left = parser.parse(Buffer.from(hex, 'hex'))
  if (error) return { ok: false, error: error.message }
  const out = []
  for (const packet of packets) {
    const length = packet.length
    delete packet.length
    // Serialised before generating, in case generate touches the object.
    const fields = plain(packet)
    let bytes
    try {
      bytes = mqtt.generate(packet, { protocolVersion: v })
    } catch (err) {
      return { ok: false, error: 'generate: ' + err.message, packet: fields }
    }
    out.push({ length, packet: fields, hex: bytes.toString('hex') })
  }
  return { ok: true, packets: out, left }
}

// ---- generate: a seeded generator of valid packets ----

// mulberry32: small, seeded, good enough to pick test cases.
function rng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const r = {
    below: (n) => Math.floor(next() * n),
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (percent) => next() * 100 < percent,
    pick: (list) => list[Math.floor(next() * list.length)]
  }
  return r
}

// Code points, not UTF-16 units, so no lone surrogate is ever made. U+FEFF
// must survive untouched [MQTT-1.5.4-3]; U+0001 is a SHOULD NOT, not a MUST.
const CHARS = [...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 _-.:$/', 'é', 'ß', '€', '中', '😀', '\ufeff', '\u0001']
const LEVEL_CHARS = CHARS.filter((c) => c !== '/')

function text (r, max) {
  let s = ''
  const n = r.below(max + 1)
  for (let i = 0; i < n; i++) s += r.pick(CHARS)
  return s
}

function level (r, chars, max) {
  let s = ''
  const n = r.below(max + 1)
  for (let i = 0; i < n; i++) s += r.pick(chars)
  return s
}

function topicName (r) {
  const levels = []
  const n = r.range(1, 4)
  for (let i = 0; i < n; i++) levels.push(level(r, LEVEL_CHARS, 6))
  const topic = levels.join('/')
  return topic === '' ? 'a' : topic
}

// "+" a whole level, "#" the last level only [MQTT-4.7.1-2, MQTT-4.7.1-3].
function topicFilter (r, v) {
  if (r.chance(5)) return '#'
  const levels = []
  const n = r.range(1, 4)
  for (let i = 0; i < n; i++) levels.push(r.chance(25) ? '+' : level(r, LEVEL_CHARS, 5))
  if (r.chance(25)) levels.push('#')
  let filter = levels.join('/')
  if (filter === '') filter = 'f'
  // A shared subscription, MQTT 5 §4.8.2: $share/{ShareName}/{filter}.
  if (v === 5 && r.chance(10)) filter = '$share/' + (level(r, ['g', 'r', 'p', '1'], 4) || 'g') + '/' + filter
  return filter
}

function bytes (r, max) {
  const n = r.below(max + 1)
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = r.below(256)
  return b
}

function int (r, bits, min = 0) {
  const max = bits === 32 ? 0xffffffff : bits === 16 ? 0xffff : bits === 28 ? 268435455 : 0xff
  switch (r.below(5)) {
    case 0: return min
    case 1: return max
    case 2: return min + r.below(128)
    default: return r.range(min, max)
  }
}

// A subscription identifier spanning every variable byte integer length.
function subscriptionId (r) {
  return r.pick([1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, r.range(1, 268435455)])
}

// User property names: a small pool so names repeat, with names that look
// like array indices (JavaScript orders those first in an object).
const USER_NAMES = ['a', 'b', 'key', 'é', '😀', '', '1', '42', '007', '4294967295']

function userProperties (r) {
  const props = Object.create(null)
  const n = r.range(1, 4)
  for (let i = 0; i < n; i++) {
    const name = r.pick(USER_NAMES)
    const value = text(r, 6)
    if (name in props) {
      props[name] = [].concat(props[name], value)
    } else {
      props[name] = value
    }
  }
  return props
}

// Every property mqtt-packet knows, in identifier order, with the packets it
// may appear in (MQTT 5 §2.2.2.2, Table 2-4) and a value generator.
const bool = (r) => r.chance(50)
const PROPERTIES = [
  ['payloadFormatIndicator', 0x01, ['publish', 'will'], bool],
  ['messageExpiryInterval', 0x02, ['publish', 'will'], (r) => int(r, 32)],
  ['contentType', 0x03, ['publish', 'will'], (r) => text(r, 8)],
  ['responseTopic', 0x08, ['publish', 'will'], topicName],
  ['correlationData', 0x09, ['publish', 'will'], (r) => bytes(r, 8)],
  ['subscriptionIdentifier', 0x0b, ['publish', 'subscribe'], null],
  ['sessionExpiryInterval', 0x11, ['connect', 'connack', 'disconnect'], (r) => int(r, 32)],
  ['assignedClientIdentifier', 0x12, ['connack'], (r) => text(r, 8)],
  ['serverKeepAlive', 0x13, ['connack'], (r) => int(r, 16)],
  ['authenticationMethod', 0x15, ['connect', 'connack', 'auth'], (r) => text(r, 8)],
  ['authenticationData', 0x16, ['connect', 'connack', 'auth'], (r) => bytes(r, 8)],
  ['requestProblemInformation', 0x17, ['connect'], bool],
  ['willDelayInterval', 0x18, ['will'], (r) => int(r, 32)],
  ['requestResponseInformation', 0x19, ['connect'], bool],
  ['responseInformation', 0x1a, ['connack'], (r) => text(r, 8)],
  ['serverReference', 0x1c, ['connack', 'disconnect'], (r) => text(r, 8)],
  ['reasonString', 0x1f, ['connack', 'ack', 'suback', 'unsuback', 'disconnect', 'auth'], (r) => text(r, 12)],
  // "It is a Protocol Error to include the Receive Maximum value more than
  // once or for it to have the value 0" (§3.1.2.11.3).
  ['receiveMaximum', 0x21, ['connect', 'connack'], (r) => int(r, 16, 1)],
  ['topicAliasMaximum', 0x22, ['connect', 'connack'], (r) => int(r, 16)],
  // "A Topic Alias of 0 is not permitted" [MQTT-3.3.2-8].
  ['topicAlias', 0x23, ['publish'], (r) => int(r, 16, 1)],
  // Maximum QoS is 0 or 1 (§3.2.2.3.4).
  ['maximumQoS', 0x24, ['connack'], (r) => r.below(2)],
  ['retainAvailable', 0x25, ['connack'], bool],
  ['userProperties', 0x26, ['connect', 'will', 'connack', 'publish', 'ack', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth'], userProperties],
  // "It is a Protocol Error ... for the value to be set to zero" (§3.1.2.11.4).
  ['maximumPacketSize', 0x27, ['connect', 'connack'], (r) => int(r, 32, 1)],
  ['wildcardSubscriptionAvailable', 0x28, ['connack'], bool],
  ['subscriptionIdentifiersAvailable', 0x29, ['connack'], bool],
  ['sharedSubscriptionAvailable', 0x2a, ['connack'], bool]
]

// A property set for `ctx`, or undefined when none was drawn. Keys are
// inserted in identifier order, the order our encoder writes (mqtt-packet
// writes them in key order); with `shuffle`, sometimes in another order.
// Returns [properties, sorted].
function properties (r, ctx, shuffle, extra = {}) {
  const props = {}
  for (const [name, , contexts, gen] of PROPERTIES) {
    if (!contexts.includes(ctx)) continue
    if (name in extra) {
      props[name] = extra[name]
    } else if (name === 'subscriptionIdentifier') {
      if (!r.chance(40)) continue
      // Several in PUBLISH (one per matching subscription, §3.3.2.3.8),
      // one in SUBSCRIBE (§3.8.2.1.2).
      if (ctx === 'publish' && r.chance(50)) {
        const ids = []
        const n = r.range(2, 4)
        for (let i = 0; i < n; i++) ids.push(subscriptionId(r))
        props[name] = ids
      } else {
        props[name] = subscriptionId(r)
      }
    } else if (name === 'authenticationData') {
      // "It is a Protocol Error to include Authentication Data if there is
      // no Authentication Method" (§3.1.2.11.10).
      if ('authenticationMethod' in props && r.chance(50)) props[name] = gen(r)
    } else if (r.chance(30)) {
      props[name] = gen(r)
    }
  }
  let keys = Object.keys(props)
  if (keys.length === 0) return [undefined, true]
  let sorted = true
  if (shuffle && keys.length > 1 && r.chance(25)) {
    const order = keys.slice()
    for (let i = order.length - 1; i > 0; i--) {
      const j = r.below(i + 1)
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    sorted = order.every((k, i) => k === keys[i])
    keys = order
  }
  const out = {}
  for (const k of keys) out[k] = props[k]
  return [out, sorted]
}

// The fields every parsed packet has (mqtt-packet's Packet class), with
// qos/dup/retain as its parser reads them from the fixed header flags.
function base (cmd, qos = 0) {
  return { cmd, retain: false, qos, dup: false, topic: null, payload: null }
}

const CONNACK_V5 = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f]
const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
const PUBREL_CODES = [0x00, 0x92]
const SUBACK_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]
const SUBACK_V4 = [0x00, 0x01, 0x02, 0x80]
const UNSUBACK_V5 = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]
const DISCONNECT_V5 = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2]
const AUTH_CODES = [0x00, 0x18, 0x19]

// Attaches properties (MQTT 5 only); returns whether they are in
// identifier order.
function withProperties (r, v, packet, ctx, extra) {
  if (v !== 5) return true
  const [props, sorted] = properties(r, ctx, true, extra)
  if (props) packet.properties = props
  return sorted
}

function connect (r, v) {
  const p = base('connect')
  let sorted = true
  p.protocolId = 'MQTT'
  p.protocolVersion = v
  const willFlag = r.chance(50)
  if (willFlag) {
    const will = { retain: r.chance(50), qos: r.below(3) }
    if (v === 5) {
      const [props, s] = properties(r, 'will', true)
      if (props) will.properties = props
      sorted = sorted && s
    }
    will.topic = topicName(r)
    will.payload = r.chance(3) ? bytes(r, 65535) : bytes(r, 16)
    p.will = will
  }
  p.clean = r.chance(50)
  p.keepalive = int(r, 16)
  sorted = withProperties(r, v, p, 'connect') && sorted
  p.clientId = text(r, 12)
  // mqtt-packet refuses to write an empty client id without clean start,
  // in 5.0 too (where §3.1.3.1 allows it): keep it out.
  if (p.clientId === '' && !p.clean) p.clientId = 'c'
  // mqtt-packet refuses to write a password without a user name, in 5.0
  // too, where §3.1.2.9 allows it ("This version of the protocol allows
  // the sending of a Password with no User Name, where MQTT v3.1.1 did
  // not"): a password is drawn only with a user name.
  if (r.chance(60)) {
    p.username = text(r, 8)
    if (r.chance(60)) p.password = bytes(r, 12)
  }
  return [p, sorted]
}

function connack (r, v) {
  const p = base('connack')
  const code = v === 5 ? r.pick(CONNACK_V5) : r.below(6)
  // "If a Server sends a CONNACK packet containing a non-zero Reason Code it
  // MUST set Session Present to 0" [MQTT-3.2.2-6].
  p.sessionPresent = code === 0 && r.chance(50)
  if (v === 5) p.reasonCode = code
  else p.returnCode = code
  return [p, withProperties(r, v, p, 'connack')]
}

function publish (r, v) {
  const qos = r.below(3)
  const p = base('publish', qos)
  p.retain = r.chance(50)
  // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
  p.dup = qos > 0 && r.chance(50)
  p.topic = topicName(r)
  if (qos > 0) p.messageId = r.range(1, 65535)
  let extra = {}
  // An empty topic name with a topic alias (MQTT 5 §3.3.2.3.4).
  if (v === 5 && r.chance(10)) {
    p.topic = ''
    extra = { topicAlias: r.range(1, 65535) }
  }
  const sorted = withProperties(r, v, p, 'publish', extra)
  p.payload = r.chance(2) ? bytes(r, 0) : r.chance(2) ? Buffer.alloc(65536, r.below(256)) : bytes(r, 64)
  return [p, sorted]
}

function ack (r, v, cmd) {
  const p = base(cmd, cmd === 'pubrel' ? 1 : 0)
  p.messageId = r.range(1, 65535)
  let sorted = true
  if (v === 5) {
    p.reasonCode = r.chance(40) ? 0 : r.pick(cmd === 'puback' || cmd === 'pubrec' ? PUBACK_CODES : PUBREL_CODES)
    sorted = withProperties(r, v, p, 'ack')
  }
  return [p, sorted]
}

function subscribe (r, v) {
  const p = base('subscribe', 1)
  p.messageId = r.range(1, 65535)
  const sorted = withProperties(r, v, p, 'subscribe')
  p.subscriptions = []
  const n = r.range(1, 5)
  for (let i = 0; i < n; i++) {
    const topic = topicFilter(r, v)
    const sub = { topic, qos: r.below(3) }
    if (v === 5) {
      // "It is a Protocol Error to set the No Local bit to 1 on a Shared
      // Subscription" [MQTT-3.8.3-4].
      sub.nl = !topic.startsWith('$share/') && r.chance(50)
      sub.rap = r.chance(50)
      sub.rh = r.below(3)
    }
    p.subscriptions.push(sub)
  }
  return [p, sorted]
}

function suback (r, v) {
  const p = base('suback')
  p.messageId = r.range(1, 65535)
  const sorted = withProperties(r, v, p, 'suback')
  p.granted = []
  const n = r.range(1, 5)
  for (let i = 0; i < n; i++) p.granted.push(r.pick(v === 5 ? SUBACK_V5 : SUBACK_V4))
  return [p, sorted]
}

function unsubscribe (r, v) {
  const p = base('unsubscribe', 1)
  p.messageId = r.range(1, 65535)
  const sorted = withProperties(r, v, p, 'unsubscribe')
  p.unsubscriptions = []
  const n = r.range(1, 5)
  for (let i = 0; i < n; i++) p.unsubscriptions.push(topicFilter(r, v))
  return [p, sorted]
}

function unsuback (r, v) {
  const p = base('unsuback')
  p.messageId = r.range(1, 65535)
  let sorted = true
  if (v === 5) {
    sorted = withProperties(r, v, p, 'unsuback')
    p.granted = []
    const n = r.range(1, 5)
    for (let i = 0; i < n; i++) p.granted.push(r.pick(UNSUBACK_V5))
  }
  return [p, sorted]
}

function disconnect (r, v) {
  const p = base('disconnect')
  if (v !== 5) return [p, true]
  p.reasonCode = r.pick(DISCONNECT_V5)
  return [p, withProperties(r, v, p, 'disconnect')]
}

function auth (r, v) {
  const p = base('auth')
  p.reasonCode = r.pick(AUTH_CODES)
  return [p, withProperties(r, v, p, 'auth')]
}

const KINDS = [
  connect, connack, publish, publish, publish,
  (r, v) => ack(r, v, 'puback'), (r, v) => ack(r, v, 'pubrec'),
  (r, v) => ack(r, v, 'pubrel'), (r, v) => ack(r, v, 'pubcomp'),
  subscribe, suback, unsubscribe, unsuback,
  () => [base('pingreq'), true], () => [base('pingresp'), true],
  disconnect, auth
]

function generate (v, seed, count) {
  const r = rng(seed)
  // AUTH exists only in MQTT 5 (§2.1.2).
  const kinds = v === 5 ? KINDS : KINDS.filter((k) => k !== auth)
  for (let i = 0; i < count; i++) {
    // The first round makes one packet of every kind, then at random.
    const kind = i < kinds.length ? kinds[i] : r.pick(kinds)
    const [packet, sorted] = kind(r, v)
    const fields = plain(packet)
    const hex = mqtt.generate(packet, { protocolVersion: v }).toString('hex')
    send({ packet: fields, hex, sorted })
  }
  send({ done: true })
}

// ---- the loop ----

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  let request
  try {
    request = JSON.parse(line)
  } catch (err) {
    send({ ok: false, error: 'bad request: ' + err.message })
    return
  }
  try {
    switch (request.op) {
      case 'version':
        send({ version })
        break
      case 'parse':
        send(parse(request.v, request.hex))
        break
      case 'generate':
        generate(request.v, request.seed, request.count)
        break
      default:
        send({ ok: false, error: 'unknown op ' + request.op })
    }
  } catch (err) {
    send({ ok: false, error: 'node: ' + (err && err.stack ? err.stack : err) })
  }
})
