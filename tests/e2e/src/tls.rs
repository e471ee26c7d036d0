//! A throw-away certificate authority and a mosquitto TLS WebSocket
//! listener, for the `wss://` tests.
//!
//! The certificates are made with the `openssl` command-line tool (no crate
//! dependency): a CA, and a server certificate it signs for
//! `IP:127.0.0.1, DNS:localhost`. Headless Chromium is told to trust the
//! server certificate with `--ignore-certificate-errors-spki-list=` and the
//! base64 SHA-256 of its public key (SPKI); the CA's hash would not do.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, wait_for_port, Guard};

/// The `openssl` config: the CA's and the server certificate's extensions.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = Plugboard-throw-away-test-CA

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A CA and a server certificate it signed, as PEM files in one folder.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate (what a trust store would import).
    pub ca_cert: PathBuf,
    /// The server certificate, for `IP:127.0.0.1, DNS:localhost`.
    pub server_cert: PathBuf,
    /// The server's private key (unencrypted).
    pub server_key: PathBuf,
    /// Base64 SHA-256 of the server certificate's public key (SPKI), for
    /// Chromium's `--ignore-certificate-errors-spki-list=`.
    pub spki_hash: String,
}

impl TestCa {
    /// Makes a fresh CA and server certificate under `dir` (valid from now
    /// for 30 days; EC P-256 keys, which are instant to make).
    pub fn create(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("openssl.cnf"), OPENSSL_CNF)?;
        // openssl runs in `dir`, so the file names below are relative; each
        // command line is split on whitespace.
        let run = |line: &str, stdin: Option<&[u8]>| {
            openssl(dir, &line.split_whitespace().collect::<Vec<_>>(), stdin)
        };
        for key in ["ca.key", "server.key"] {
            run(
                &format!("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {key}"),
                None,
            )?;
        }
        run(
            "req -x509 -new -config openssl.cnf -extensions ca_ext -key ca.key \
             -subj /CN=Plugboard-throw-away-test-CA -days 30 -out ca.pem",
            None,
        )?;
        run(
            "req -new -config openssl.cnf -key server.key -subj /CN=127.0.0.1 -out server.csr",
            None,
        )?;
        // A random serial: a browser that met an earlier run's certificate
        // with the same issuer and serial would refuse this one.
        let serial = format!("0x{:016x}{:08x}", random_u64(), std::process::id());
        run(
            &format!(
                "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial {serial} \
                 -extfile openssl.cnf -extensions server_ext -days 30 -out server.pem"
            ),
            None,
        )?;

        // x509 -pubkey | pkey -pubin -outform der | dgst -sha256 -binary | base64
        let pubkey = run("x509 -in server.pem -pubkey -noout", None)?;
        let spki = run("pkey -pubin -outform der", Some(&pubkey))?;
        let digest = run("dgst -sha256 -binary", Some(&spki))?;
        if digest.len() != 32 {
            return Err(io::Error::other(format!(
                "openssl dgst -sha256 -binary gave {} bytes, expected 32",
                digest.len()
            )));
        }
        Ok(Self {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            spki_hash: base64(&digest),
        })
    }

    /// The Chromium argument that makes it trust the server certificate.
    pub fn chromium_trust_arg(&self) -> String {
        format!("--ignore-certificate-errors-spki-list={}", self.spki_hash)
    }
}

/// mosquitto with a TCP listener and a TLS WebSocket (`wss://`) listener on
/// free 127.0.0.1 ports, its certificate from a fresh [`TestCa`]. Stopped
/// (by PID, waited for) on drop.
#[derive(Debug)]
pub struct TlsMosquitto {
    /// MQTT over TLS WebSocket.
    pub ws_port: u16,
    /// MQTT over plain TCP (mosquitto will not start with only a WebSocket
    /// listener).
    pub tcp_port: u16,
    /// Base64 SHA-256 of the server certificate's SPKI (see
    /// [`TestCa::spki_hash`]).
    pub spki_hash: String,
    /// The certificates.
    pub ca: TestCa,
    /// Where its config, certificates and log (`mosquitto.log`) are.
    pub dir: PathBuf,
    guard: Guard,
}

impl TlsMosquitto {
    /// Makes the certificates and starts mosquitto, all under `dir`.
    pub fn start(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let ca = TestCa::create(&dir.join("certs"))?;
        let tcp_port = free_port()?;
        let ws_port = free_port()?;
        if tcp_port == ws_port {
            return Err(io::Error::other("free_port gave the same port twice"));
        }
        // `user root`: started as root, mosquitto would otherwise drop to
        // user `mosquitto` and could not read the 0600 key. (As any other
        // user it keeps running as that user.)
        let conf = format!(
            "user root\n\
             log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n\
             log_type information\n\
             persistence false\n\
             allow_anonymous true\n\
             listener {tcp_port} 127.0.0.1\n\
             listener {ws_port} 127.0.0.1\n\
             protocol websockets\n\
             socket_domain ipv4\n\
             certfile {}\n\
             keyfile {}\n",
            ca.server_cert.display(),
            ca.server_key.display(),
        );
        let config = dir.join("mosquitto.conf");
        fs::write(&config, conf)?;
        let log_path = dir.join("mosquitto.log");
        let log = fs::File::create(&log_path)?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!("cannot start mosquitto (install the mosquitto package): {err}"),
                )
            })?;
        let mut guard = Guard::new("mosquitto", child);
        let ready = wait_for_port(tcp_port, Duration::from_secs(10))
            .and_then(|()| wait_for_port(ws_port, Duration::from_secs(10)));
        if let Err(err) = ready.and_then(|()| guard.check_alive()) {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(io::Error::new(
                err.kind(),
                format!("mosquitto with TLS did not start: {err}\nits log:\n{log}"),
            ));
        }
        Ok(Self {
            ws_port,
            tcp_port,
            spki_hash: ca.spki_hash.clone(),
            ca,
            dir: dir.to_path_buf(),
            guard,
        })
    }

    /// The `wss://` URL the app connects to.
    pub fn wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}/mqtt", self.ws_port)
    }

    /// The Chromium argument that makes it trust this broker's certificate.
    pub fn chromium_trust_arg(&self) -> String {
        self.ca.chromium_trust_arg()
    }

    /// What mosquitto has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    /// The PID of the broker process.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }
}

/// Runs `openssl ARGS` in `dir`, feeding it `stdin`; returns its stdout, or
/// an error with its stderr.
fn openssl(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> io::Result<Vec<u8>> {
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    err.kind(),
                    "openssl not found: install the openssl package (the wss:// tests make \
                     their certificates with the openssl command-line tool)",
                )
            } else {
                io::Error::new(err.kind(), format!("cannot run openssl: {err}"))
            }
        })?;
    if let Some(input) = stdin {
        // Small inputs; written before reading, which the pipe buffer holds.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input)?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "openssl {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A little randomness for certificate serials, without a crate.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }
}
