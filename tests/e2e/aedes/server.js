// aedes, a real MQTT 3.1.1-only broker, with a TCP and a WebSocket listener
// on 127.0.0.1, for the end-to-end tests (tests/e2e/src/aedes.rs).
//
//   node server.js TCP_PORT WS_PORT [--exit-with-stdin]
//
// Port 0 picks a free port. Prints `aedes ready tcp=N ws=M` once both
// listen; exits on SIGTERM or SIGINT, and with --exit-with-stdin also when
// its stdin closes (so it cannot outlive a test process that was killed).

import { createServer as createTcpServer } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'

const HOST = '127.0.0.1'

function port (arg, name) {
  const n = Number(arg)
  if (arg === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`usage: node server.js TCP_PORT WS_PORT [--exit-with-stdin] (bad ${name}: ${arg})`)
    process.exit(2)
  }
  return n
}

const tcpPort = port(process.argv[2] ?? process.env.AEDES_TCP_PORT, 'TCP_PORT')
const wsPort = port(process.argv[3] ?? process.env.AEDES_WS_PORT, 'WS_PORT')

const broker = await Aedes.createBroker()

const tcp = createTcpServer(broker.handle)

const http = createHttpServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' })
  res.end('MQTT over WebSocket only\n')
})
const wss = new WebSocketServer({
  server: http,
  // Browsers offer `mqtt` and fail the handshake unless it is selected.
  handleProtocols: (protocols) =>
    ['mqtt', 'mqttv3.1'].find((p) => protocols.has(p)) ?? false
})
wss.on('connection', (websocket, req) => {
  broker.handle(createWebSocketStream(websocket), req)
})

function listen (server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, HOST, () => resolve(server.address().port))
  })
}

let tcpBound, wsBound
try {
  tcpBound = await listen(tcp, tcpPort)
  wsBound = await listen(http, wsPort)
} catch (err) {
  console.error(`aedes: cannot listen: ${err.message}`)
  process.exit(1)
}
console.log(`aedes ready tcp=${tcpBound} ws=${wsBound}`)

let stopping = false
function stop () {
  if (stopping) return
  stopping = true
  // Never hang: exit after a second whatever happens.
  setTimeout(() => process.exit(0), 1000).unref()
  for (const client of wss.clients) client.terminate()
  wss.close()
  tcp.close()
  http.close()
  broker.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
if (process.argv.includes('--exit-with-stdin')) {
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.resume()
}
