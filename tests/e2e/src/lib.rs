//! The test bed: real servers on 127.0.0.1, started on free ports and
//! stopped (by PID, waited for) when their guard drops, also on panic.
//!
//! Used by the end-to-end tests in `tests/` and by `cargo xtask demo`, so
//! the demo runs exactly what the tests prove.

use std::fs;
use std::io::{self, BufRead, BufReader, Read as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod aedes;
pub mod browser;
mod hostile;
mod tls;

pub use aedes::Aedes;
pub use hostile::{HostileBroker, Mode as HostileMode};
pub use tls::{TestCa, TlsMosquitto};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/e2e sits two levels below the workspace root")
        .to_path_buf()
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(err) if start.elapsed() > timeout => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("nothing listening on 127.0.0.1:{port} after {timeout:?}: {err}"),
                ))
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A child process killed and reaped on drop.
#[derive(Debug)]
pub struct Guard {
    name: &'static str,
    child: Child,
}

impl Guard {
    /// Wraps a spawned child.
    pub fn new(name: &'static str, child: Child) -> Self {
        Self { name, child }
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the child to exit with SIGTERM and waits for it (killing it
    /// after 10 s).
    pub fn terminate(&mut self) -> io::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.child.wait()?;
        Ok(())
    }

    /// Fails if the child has already exited.
    pub fn check_alive(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(io::Error::other(format!("{} exited: {status}", self.name))),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Only our own child, by PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// mosquitto with a TCP and a WebSocket listener on free 127.0.0.1 ports.
#[derive(Debug)]
pub struct Mosquitto {
    /// MQTT over TCP.
    pub tcp_port: u16,
    /// MQTT over WebSocket.
    pub ws_port: u16,
    /// Where its config, log and database are.
    pub dir: PathBuf,
    config: BrokerConfig,
    guard: Option<Guard>,
}

/// What the broker should do beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct BrokerConfig {
    /// Keep sessions and queued messages on disk (saved every second and on
    /// SIGTERM), so they survive a restart.
    pub persistence: bool,
    /// Refuse anonymous clients; accept these user name / password pairs.
    pub users: Vec<(String, String)>,
    /// `retain_available false`: a broker without retained messages (it
    /// disconnects a 3.1.1 client that publishes one, and tells MQTT 5
    /// clients Retain Available 0).
    pub no_retain: bool,
    /// `max_queued_messages 0`: never drop a QoS 0 message for a client
    /// that reads slower than publishers send (mosquitto 2 drops them once
    /// 1 000 wait for it), so a benchmark's subscriber gets every one.
    pub unbounded_queue: bool,
}

impl Mosquitto {
    /// Starts mosquitto with its config and log under `dir`.
    pub fn start(dir: &Path) -> io::Result<Self> {
        Self::start_with(dir, BrokerConfig::default())
    }

    /// Starts mosquitto with `config`.
    pub fn start_with(dir: &Path, config: BrokerConfig) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut broker = Self {
            tcp_port: free_port()?,
            ws_port: free_port()?,
            dir: dir.to_path_buf(),
            config,
            guard: None,
        };
        broker.write_config()?;
        broker.spawn()?;
        Ok(broker)
    }

    fn write_config(&self) -> io::Result<()> {
        let (tcp_port, ws_port, dir) = (self.tcp_port, self.ws_port, &self.dir);
        // `socket_domain ipv4` keeps the WebSocket listener on 127.0.0.1;
        // a WebSocket-only config refuses to start, hence the TCP listener.
        let mut conf = String::from(
            "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n\
             log_type information\n",
        );
        if self.config.persistence {
            // As root, mosquitto drops to user `mosquitto` unless told to stay
            // root, and could not write its database here.
            conf.push_str(&format!(
                "user root\npersistence true\npersistence_location {}/\nautosave_interval 1\n",
                dir.display()
            ));
        } else {
            conf.push_str("persistence false\n");
        }
        if self.config.no_retain {
            conf.push_str("retain_available false\n");
        }
        if self.config.unbounded_queue {
            conf.push_str("max_queued_messages 0\n");
        }
        if self.config.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let passwords = dir.join("passwords");
            fs::write(&passwords, "")?;
            for (user, password) in &self.config.users {
                let status = Command::new("mosquitto_passwd")
                    .arg("-b")
                    .arg(&passwords)
                    .arg(user)
                    .arg(password)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()?;
                if !status.success() {
                    return Err(io::Error::other("mosquitto_passwd failed"));
                }
            }
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                passwords.display()
            ));
        }
        conf.push_str(&format!(
            "listener {tcp_port} 127.0.0.1\nlistener {ws_port} 127.0.0.1\n\
             protocol websockets\nsocket_domain ipv4\n"
        ));
        fs::write(dir.join("mosquitto.conf"), conf)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|err| io::Error::new(err.kind(), format!("cannot start mosquitto: {err}")))?;
        let mut guard = Guard::new("mosquitto", child);
        let ready = wait_for_port(self.tcp_port, Duration::from_secs(10))
            .and_then(|()| wait_for_port(self.ws_port, Duration::from_secs(10)));
        if let Err(err) = ready {
            guard.check_alive()?;
            return Err(err);
        }
        self.guard = Some(guard);
        Ok(())
    }

    /// Stops the broker with SIGTERM (it saves its database) and waits for
    /// it to exit.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut guard) = self.guard.take() {
            guard.terminate()?;
        }
        Ok(())
    }

    /// Starts the broker again on the same ports with the same database.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// The WebSocket URL the app connects to.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.ws_port)
    }

    /// The broker's TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.tcp_port))
    }

    /// The PID of the broker process, if running.
    pub fn pid(&self) -> u32 {
        self.guard.as_ref().map_or(0, Guard::pid)
    }
}

/// The devsim binary with its stdout read line by line.
#[derive(Debug)]
pub struct Devsim {
    lines: Receiver<String>,
    seen: Vec<String>,
    guard: Guard,
}

impl Devsim {
    /// Path of the devsim binary built by `cargo build -p devsim`.
    pub fn binary() -> PathBuf {
        std::env::var_os("DEVSIM_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("debug").join("devsim"))
    }

    /// Starts devsim against the broker's TCP port with these devices
    /// (Tasmota `%topic%[:RELAYS]`, `shelly=ID[:RELAYS]` for a Shelly Gen1,
    /// `z2m=NAME` for a Zigbee2MQTT plug) and waits until every one of them is connected and subscribed.
    pub fn start(tcp_port: u16, tasmota: &[&str]) -> io::Result<Self> {
        let mut args: Vec<String> = Vec::new();
        for device in tasmota {
            // `shelly=ID[:RELAYS]` is a Shelly Gen1; anything else a Tasmota
            // `%topic%[:RELAYS]`.
            let (flag, value) = if let Some(shelly) = device.strip_prefix("shelly=") {
                ("--shelly", shelly)
            } else if let Some(name) = device.strip_prefix("z2m=") {
                ("--z2m", name)
            } else {
                ("--tasmota", *device)
            };
            args.extend([flag.to_owned(), value.to_owned()]);
        }
        let names: Vec<&str> = tasmota
            .iter()
            .map(|device| {
                let device = device
                    .strip_prefix("shelly=")
                    .or_else(|| device.strip_prefix("z2m="))
                    .unwrap_or(device);
                device.split(':').next().unwrap_or(device)
            })
            .collect();
        Self::start_args(tcp_port, &args, &names)
    }

    /// Starts a fleet of `(flag, device)` pairs (`("--ha", "kettle")`,
    /// `("--netio", "netio-box:4")`) and waits until every device is
    /// connected and subscribed.
    pub fn start_fleet(tcp_port: u16, fleet: &[(&str, &str)]) -> io::Result<Self> {
        let args: Vec<String> = fleet
            .iter()
            .flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()])
            .collect();
        let names: Vec<&str> = fleet
            .iter()
            .map(|(_, value)| value.split(':').next().unwrap_or(value))
            .collect();
        Self::start_args(tcp_port, &args, &names)
    }

    /// Starts devsim with these arguments (besides `--broker`) and waits
    /// until each device of `ready` is connected and subscribed.
    pub fn start_args(tcp_port: u16, args: &[String], ready: &[&str]) -> io::Result<Self> {
        let binary = Self::binary();
        let mut command = Command::new(&binary);
        command.arg("--broker").arg(format!("127.0.0.1:{tcp_port}"));
        command.args(args);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!(
                        "cannot start {} (run `cargo build -p devsim`): {err}",
                        binary.display()
                    ),
                )
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut devsim = Self {
            lines,
            seen: Vec::new(),
            guard: Guard::new("devsim", child),
        };
        for name in ready {
            devsim.wait_for_line(&format!("ready {name}"), Duration::from_secs(10))?;
        }
        Ok(devsim)
    }

    /// Waits (bounded) for an output line equal to `expected`; lines seen
    /// earlier count too.
    pub fn wait_for_line(&mut self, expected: &str, timeout: Duration) -> io::Result<()> {
        self.wait_for_lines(expected, 1, timeout)
    }

    /// Waits (bounded) until `count` output lines equal `expected`.
    pub fn wait_for_lines(
        &mut self,
        expected: &str,
        count: usize,
        timeout: Duration,
    ) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.seen.iter().filter(|line| *line == expected).count() >= count {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "devsim did not print {expected:?} within {timeout:?}; it printed {:?}",
                            self.seen
                        ),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other(format!(
                        "devsim exited before printing {expected:?}; it printed {:?}",
                        self.seen
                    )))
                }
            }
        }
    }

    /// The PID of the devsim process.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Every line printed so far.
    pub fn lines(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}

/// A static file server for the trunk-built `dist/` on a free port.
pub struct StaticServer {
    /// The port it listens on.
    pub port: u16,
    server: Arc<tiny_http::Server>,
    thread: Option<thread::JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `root` on 127.0.0.1 (port 0: a free one). Paths without an
    /// extension fall back to `index.html`, as a single-page app expects.
    pub fn start(root: &Path, port: u16) -> io::Result<Self> {
        if !root.join("index.html").is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} has no index.html: build the app with trunk first",
                    root.display()
                ),
            ));
        }
        let server = tiny_http::Server::http((Ipv4Addr::LOCALHOST, port))
            .map_err(|err| io::Error::other(format!("cannot start the static server: {err}")))?;
        let port = server.server_addr().to_ip().map_or(port, |a| a.port());
        let server = Arc::new(server);
        let root = root.to_path_buf();
        let worker = server.clone();
        let thread = thread::spawn(move || {
            for request in worker.incoming_requests() {
                let response = serve(&root, request.url());
                let _ = request.respond(response);
            }
        });
        Ok(Self {
            port,
            server,
            thread: Some(thread),
        })
    }

    /// The app's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(root: &Path, url: &str) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let relative = path.trim_start_matches('/');
    let safe = !relative.split('/').any(|part| part == "..");
    let mut file = root.join(if relative.is_empty() {
        "index.html"
    } else {
        relative
    });
    if safe && !file.is_file() && Path::new(relative).extension().is_none() {
        file = root.join("index.html");
    }
    let body = if safe { fs::read(&file).ok() } else { None };
    match body {
        Some(body) => {
            let mime = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css",
                Some("png") => "image/png",
                Some("svg") => "image/svg+xml",
                Some("json") => "application/json",
                Some("webmanifest") => "application/manifest+json",
                _ => "application/octet-stream",
            };
            let header = tiny_http::Header::from_bytes("Content-Type", mime).expect("valid header");
            tiny_http::Response::from_data(body).with_header(header)
        }
        None => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
    }
}

/// Reads a whole HTTP/1.1 response from chromedriver-like servers that
/// answer with Content-Length; returns the body.
pub fn http_request(port: u16, method: &str, path: &str, body: Option<&str>) -> io::Result<String> {
    use std::io::Write as _;
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver keeps the connection open whatever we ask: read the
    // head, then exactly Content-Length bytes, not until the socket closes.
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the response head",
            ));
        }
        response.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(length) => {
            while response.len() < head_end + length {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                response.extend_from_slice(&buf[..n]);
            }
        }
        // No length: the body ends with the connection.
        None => {
            let _ = stream.read_to_end(&mut response);
        }
    }
    Ok(String::from_utf8_lossy(&response[head_end..]).into_owned())
}
