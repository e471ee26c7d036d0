//! A misbehaving MQTT-over-WebSocket broker, for the failures a real broker
//! will not stage on demand. It speaks just enough MQTT to get a client to
//! the point where it misbehaves.
// tungstenite's own error type is large; this is test-bed code.
#![allow(clippy::result_large_err)]

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{accept_hdr, Message, WebSocket};

/// How the broker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Speaks MQTT 3.1.1 only and, like RabbitMQ's Web MQTT, answers an
    /// MQTT 5 CONNECT by closing the WebSocket (code 1011) without CONNACK.
    NoV5,
    /// After the SUBACK, sends one PUBLISH of this many bytes in a single
    /// WebSocket message.
    Huge(usize),
    /// After the CONNACK, sends a malformed packet (a PUBLISH with QoS 3).
    Garbage,
    /// Accepts the WebSocket and never says a word.
    Silent,
    /// Refuses the second filter of every SUBSCRIBE (0x80, or 0x87 in MQTT 5).
    RefuseSecondFilter,
    /// Refuses every filter that starts with `secret/` (0x80, or 0x87 in
    /// MQTT 5), and grants the rest.
    RefuseSecret,
    /// After the SUBACK, ends the session with a DISCONNECT: MQTT 5 reason
    /// 0x98 "administrative action" and reason string "maintenance window".
    Disconnect,
}

/// The running broker; dropping it stops accepting connections.
pub struct HostileBroker {
    /// Its WebSocket port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl HostileBroker {
    /// Starts it on a free port.
    pub fn start(mode: Mode) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (stop.clone(), connections.clone());
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let flag = flag.clone();
                        thread::spawn(move || {
                            let _ = serve(stream, mode, &flag);
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => return,
                }
            }
        });
        Ok(Self {
            port,
            stop,
            connections,
            thread: Some(thread),
        })
    }

    /// Its URL, with the path `/mqtt`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/mqtt", self.port)
    }

    /// WebSocket connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for HostileBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    mode: Mode,
    stop: &AtomicBool,
) -> Result<(), Box<dyn std::error::Error>> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    // Chromium fails the handshake unless the offered subprotocol is echoed.
    let mut ws = accept_hdr(stream, |_: &Request, mut response: Response| {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("valid"));
        Ok(response)
    })?;
    let mut v5 = false;
    while !stop.load(Ordering::Relaxed) {
        let bytes = match ws.read() {
            Ok(Message::Binary(b)) => b.to_vec(),
            Ok(Message::Close(_)) => return Ok(()),
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        };
        let mut at = 0;
        while let Some((kind, body, used)) = packet(&bytes[at..]) {
            at += used;
            if mode == Mode::Silent {
                continue;
            }
            match kind >> 4 {
                1 => {
                    // CONNECT: protocol name (2 + 4 bytes), then the level.
                    v5 = body.get(6) == Some(&5);
                    if v5 && mode == Mode::NoV5 {
                        ws.close(Some(CloseFrame {
                            code: CloseCode::Error,
                            reason: "".into(),
                        }))?;
                        let _ = ws.flush();
                        return Ok(());
                    }
                    let connack: &[u8] = if v5 {
                        &[0x20, 3, 0, 0, 0]
                    } else {
                        &[0x20, 2, 0, 0]
                    };
                    send(&mut ws, connack.to_vec())?;
                    if mode == Mode::Garbage {
                        send(&mut ws, vec![0x36, 0x03, 0x00, 0x01, b'a'])?;
                    }
                }
                8 => {
                    let mut ack = suback(body, v5);
                    if mode == Mode::RefuseSecret {
                        let codes = if v5 { 5 } else { 4 };
                        for (i, filter) in filters(body, v5).iter().enumerate() {
                            if filter.starts_with(b"secret/") {
                                if let Some(code) = ack.get_mut(codes + i) {
                                    *code = if v5 { 0x87 } else { 0x80 };
                                }
                            }
                        }
                    }
                    if mode == Mode::RefuseSecondFilter {
                        let codes = if v5 { 5 } else { 4 };
                        if let Some(code) = ack.get_mut(codes + 1) {
                            *code = if v5 { 0x87 } else { 0x80 };
                        }
                    }
                    send(&mut ws, ack)?;
                    if let Mode::Huge(size) = mode {
                        send(&mut ws, huge_publish(size))?;
                    }
                    if mode == Mode::Disconnect && v5 {
                        // DISCONNECT 0x98 with Reason String (0x1F).
                        let reason = b"maintenance window";
                        let mut d = vec![0xE0, 0, 0x98, 0, 0x1F, 0, reason.len() as u8];
                        d.extend_from_slice(reason);
                        d[3] = (reason.len() + 3) as u8;
                        d[1] = (d.len() - 2) as u8;
                        send(&mut ws, d)?;
                        return Ok(());
                    }
                }
                12 => send(&mut ws, vec![0xD0, 0])?,
                14 => return Ok(()),
                _ => {}
            }
        }
    }
    Ok(())
}

fn send(ws: &mut WebSocket<TcpStream>, bytes: Vec<u8>) -> tungstenite::Result<()> {
    ws.send(Message::Binary(bytes.into()))
}

/// The first whole packet in `bytes`: its first byte, its body and the
/// bytes it used.
fn packet(bytes: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&kind, rest) = bytes.split_first()?;
    let (mut len, mut shift, mut i) = (0usize, 0, 0);
    loop {
        let b = *rest.get(i)?;
        len |= usize::from(b & 0x7F) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let body = rest.get(i..i + len)?;
    Some((kind, body, 1 + i + len))
}

/// Grants every filter of a SUBSCRIBE at QoS 0.
/// The filters of a SUBSCRIBE's body.
fn filters(body: &[u8], v5: bool) -> Vec<Vec<u8>> {
    let mut at = 2;
    if v5 {
        at += 1 + usize::from(body.get(2).copied().unwrap_or(0));
    }
    let mut found = Vec::new();
    while at + 2 <= body.len() {
        let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
        found.push(body.get(at + 2..at + 2 + len).unwrap_or_default().to_vec());
        at += 2 + len + 1;
    }
    found
}

fn suback(body: &[u8], v5: bool) -> Vec<u8> {
    let mut at = 2;
    if v5 {
        // Property length: these tests send none, so one byte.
        at += 1 + usize::from(body.get(2).copied().unwrap_or(0));
    }
    let mut filters = 0;
    while at + 2 <= body.len() {
        let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
        at += 2 + len + 1;
        filters += 1;
    }
    let mut out = vec![0x90, 0, body[0], body[1]];
    if v5 {
        out.push(0);
    }
    out.extend(std::iter::repeat_n(0, filters));
    out[1] = (out.len() - 2) as u8;
    out
}

/// One QoS 0 PUBLISH on `huge/x` of `size` bytes in all.
fn huge_publish(size: usize) -> Vec<u8> {
    let remaining = size.saturating_sub(5);
    let mut out = Vec::with_capacity(size);
    out.push(0x30);
    let mut n = remaining;
    loop {
        let mut b = (n & 0x7F) as u8;
        n >>= 7;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&[0, 6]);
    out.extend_from_slice(b"huge/x");
    out.resize(out.len() + remaining.saturating_sub(8), b'z');
    out
}
