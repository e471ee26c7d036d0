//! aedes (npm), a real MQTT 3.1.1-only broker with a WebSocket listener.
//!
//! The second real broker besides mosquitto: `tests/e2e/aedes/server.js`
//! run by node, with its `node_modules` installed by `cargo xtask test`
//! (`npm ci` from the committed lock file).
//!
//! What it does that mosquitto does not (aedes 1.2.0): an MQTT 5 CONNECT
//! gets a 3.1.1 CONNACK with return code 1 ("unacceptable protocol
//! version"), then the connection is dropped without a WebSocket close
//! frame (1006); and over WebSocket each write of its packet encoder is a
//! frame of its own, so a CONNACK arrives as four one-byte frames.

use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::{free_port, workspace_root, Guard};

/// How long node may take to load aedes and listen (~0.3 s here).
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// aedes with a TCP and a WebSocket listener on free 127.0.0.1 ports;
/// stopped (by PID, waited for) on drop.
#[derive(Debug)]
pub struct Aedes {
    /// MQTT over TCP.
    pub tcp_port: u16,
    /// MQTT over WebSocket (any path; subprotocol `mqtt` or `mqttv3.1`).
    pub ws_port: u16,
    guard: Guard,
}

impl Aedes {
    /// The folder with `package.json`, the lock file and `server.js`.
    pub fn dir() -> PathBuf {
        workspace_root().join("tests/e2e/aedes")
    }

    /// Starts `node server.js` and waits for its ready line.
    pub fn start() -> io::Result<Self> {
        let dir = Self::dir();
        if !dir.join("node_modules/aedes/package.json").is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "aedes is not installed in {}/node_modules: run `cargo xtask test`, \
                     which installs aedes (or `npm ci` in that folder)",
                    dir.display()
                ),
            ));
        }
        let (tcp_port, ws_port) = (free_port()?, free_port()?);
        let mut child = Command::new("node")
            .arg("server.js")
            .arg(tcp_port.to_string())
            .arg(ws_port.to_string())
            // Exits when our end of its stdin closes: it cannot outlive a
            // test process that was killed before its guards could drop.
            .arg("--exit-with-stdin")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| io::Error::new(err.kind(), format!("cannot start node: {err}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut guard = Guard::new("aedes", child);
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            // Reads to the end, so node never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let expected = format!("aedes ready tcp={tcp_port} ws={ws_port}");
        loop {
            match lines.recv_timeout(READY_TIMEOUT) {
                Ok(line) if line == expected => break,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("aedes did not print {expected:?} within {READY_TIMEOUT:?}"),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    thread::sleep(Duration::from_millis(50));
                    guard.check_alive()?;
                    return Err(io::Error::other(format!(
                        "aedes closed its stdout before printing {expected:?}"
                    )));
                }
            }
        }
        Ok(Self {
            tcp_port,
            ws_port,
            guard,
        })
    }

    /// The WebSocket URL the app connects to.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.ws_port)
    }

    /// The broker's TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.tcp_port))
    }

    /// The PID of the node process.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Stops it with SIGTERM and waits for it to exit.
    pub fn stop(mut self) -> io::Result<()> {
        self.guard.terminate()
    }
}
