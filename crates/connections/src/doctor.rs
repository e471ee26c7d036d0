//! Plain-language diagnoses of connection problems.
//!
//! A browser WebSocket that fails before it opens tells the page nothing
//! but "closed, code 1006": a refused port, a TLS mismatch, an untrusted
//! certificate, a wrong path and a plain-TCP port all look the same, and
//! the real cause is only in the browser's own log. So the doctor reasons
//! from what it does know: the URL (scheme, host, port), the page's own
//! origin, how far the connection got, and what the broker said.

use std::fmt;

use mqtt_client::{Protocol, ReasonCode};

use crate::supervisor::MAX_PROTOCOL_ERRORS;

/// What the doctor knows about the page the app runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageContext {
    /// The page was loaded over `https:`: browsers then refuse `ws://`
    /// except to loopback (mixed content).
    pub secure: bool,
}

/// Why a connection failed, as far as can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The URL cannot work; the text says why.
    BadUrl(String),
    /// The browser refused to open the socket on the spot.
    BrowserRefused(String),
    /// The WebSocket never opened: nothing accepted it there, or TLS failed.
    Unreachable,
    /// The WebSocket handshake did not finish in time.
    HandshakeTimeout {
        /// How long we waited, in milliseconds.
        waited_ms: u64,
    },
    /// The socket opened but no CONNACK came in time.
    NoConnack {
        /// How long we waited, in milliseconds.
        waited_ms: u64,
    },
    /// The socket opened and closed again before any CONNACK.
    ClosedBeforeConnack {
        /// The protocol of the CONNECT we sent.
        protocol: Protocol,
        /// The close code.
        code: u16,
        /// The close reason, often empty.
        reason: String,
    },
    /// The broker refused the CONNECT.
    Refused {
        /// The CONNACK reason (3.1.1 return codes mapped to MQTT 5 codes).
        reason: ReasonCode,
        /// The broker's explanation, if any.
        reason_string: Option<String>,
    },
    /// The broker ended the session with a DISCONNECT.
    ServerDisconnected {
        /// Why.
        reason: ReasonCode,
        /// The broker's explanation, if any.
        reason_string: Option<String>,
    },
    /// Accepted connections keep being dropped right after they start: most
    /// likely another client uses the same client id.
    TakenOver,
    /// An accepted connection was lost.
    Lost {
        /// The close code.
        code: u16,
        /// The close reason, often empty.
        reason: String,
    },
    /// The broker stopped answering keep-alive pings.
    KeepAliveTimeout,
    /// The broker sent something that breaks the protocol.
    ProtocolError {
        /// What.
        what: String,
        /// How many connections in a row ended this way.
        in_a_row: u32,
    },
    /// Bytes could not be sent.
    SendFailed(String),
}

/// A cause and what to tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// What went wrong.
    pub cause: Cause,
    /// One or two sentences for the user: what happened and what to try.
    pub message: String,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The parts of a broker URL the doctor looks at.
struct Url<'a> {
    scheme: String,
    host: &'a str,
    port: Option<u16>,
}

fn parse(url: &str) -> Option<Url<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:pass@host:port
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        (host, after.strip_prefix(':').and_then(|p| p.parse().ok()))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()),
            None => (host_port, None),
        }
    };
    Some(Url {
        scheme: scheme.to_ascii_lowercase(),
        host,
        port,
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.") || host == "::1"
}

/// Checks a broker URL before any connection attempt.
pub fn check_url(url: &str, page: PageContext) -> Result<(), Diagnosis> {
    check(url.trim(), page).map_err(|message| Diagnosis {
        cause: Cause::BadUrl(message.clone()),
        message,
    })
}

fn check(url: &str, page: PageContext) -> Result<(), String> {
    if url.is_empty() {
        return Err("Enter the broker's WebSocket URL, e.g. ws://127.0.0.1:9001/".into());
    }
    let Some(parsed) = parse(url) else {
        return Err(format!(
            "\"{url}\" is not a URL: it must start with ws:// or wss://, e.g. ws://{url}/"
        ));
    };
    match parsed.scheme.as_str() {
        "ws" | "wss" => {}
        scheme @ ("http" | "https") => {
            let ws = if scheme == "https" { "wss" } else { "ws" };
            return Err(format!(
                "Use {ws}:// instead of {scheme}://: MQTT in the browser runs over WebSocket"
            ));
        }
        scheme @ ("mqtt" | "mqtts" | "tcp" | "ssl" | "tls") => {
            return Err(format!(
                "Browsers cannot open {scheme}:// (raw TCP) connections. Use the broker's \
                 WebSocket listener, e.g. ws://host:9001/ (mosquitto: `listener 9001` + \
                 `protocol websockets`)"
            ));
        }
        other => {
            return Err(format!(
                "Unsupported scheme {other}://: use ws:// or wss://"
            ))
        }
    }
    if parsed.host.is_empty() {
        return Err(format!("\"{url}\" has no host: e.g. ws://127.0.0.1:9001/"));
    }
    if url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .is_some_and(|authority| authority.contains('@'))
    {
        // Browsers do not send them, and in the URL they would be stored,
        // exported and shared with it.
        return Err(
            "Put the user name and password in their own fields, not in the URL (user@host)".into(),
        );
    }
    if page.secure && parsed.scheme == "ws" && !is_loopback(parsed.host) {
        return Err(format!(
            "This page was loaded over https, and browsers refuse unencrypted ws:// connections \
             from it (mixed content). Use the broker's TLS WebSocket listener (wss://{}…), or \
             open this page over http",
            parsed.host
        ));
    }
    Ok(())
}

/// Explains `cause` for a connection to `url` with client id `client_id`.
pub(crate) fn diagnose(cause: Cause, url: &str, client_id: &str) -> Diagnosis {
    let message = explain(&cause, url, client_id);
    Diagnosis { cause, message }
}

fn explain(cause: &Cause, url: &str, client_id: &str) -> String {
    let parsed = parse(url);
    let port = parsed.as_ref().and_then(|u| u.port);
    let secure = parsed.as_ref().is_some_and(|u| u.scheme == "wss");
    let with_reason = |code: u16, reason: &str| {
        if reason.is_empty() {
            format!("WebSocket code {code}")
        } else {
            format!("WebSocket code {code}: {reason}")
        }
    };
    let because = |s: &Option<String>| s.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
    match cause {
        Cause::BadUrl(message) => message.clone(),
        Cause::BrowserRefused(message) => {
            format!("The browser refused to open {url}: {message}")
        }
        Cause::Unreachable => {
            let mut m = format!(
                "Could not connect to {url}: nothing accepted a WebSocket connection there. Check \
                 the host and port, that the broker has a WebSocket listener on it, the path (/, \
                 /mqtt, /ws…), and ws:// versus wss://."
            );
            if let Some(p @ (1883 | 8883)) = port {
                m.push_str(&format!(
                    " Port {p} is usually MQTT over plain TCP, which browsers cannot open: use \
                     the broker's WebSocket port (often 9001, 8083 or 8884)."
                ));
            }
            if secure {
                if let Some(u) = &parsed {
                    let host_port = match u.port {
                        Some(p) => format!("{}:{p}", u.host),
                        None => u.host.to_owned(),
                    };
                    m.push_str(&format!(
                        " With wss://, the browser must also trust the broker's certificate: if \
                         it is self-signed, open https://{host_port}/ in a new tab once and \
                         accept it, then connect again."
                    ));
                }
            }
            m
        }
        Cause::HandshakeTimeout { waited_ms } => format!(
            "No answer from {url} within {} s: the WebSocket handshake did not finish. Check the \
             address and that the broker is reachable.",
            waited_ms / 1000
        ),
        Cause::NoConnack { waited_ms } => format!(
            "The WebSocket to {url} opened, but no MQTT answer came within {} s. The server may \
             not speak MQTT on this path (check the path: /, /mqtt, /ws…), or may not accept the \
             `mqtt` WebSocket subprotocol: it may not be an MQTT broker.",
            waited_ms / 1000
        ),
        Cause::ClosedBeforeConnack {
            protocol: Protocol::V5,
            code,
            reason,
        } => format!(
            "The broker closed the connection right after our MQTT 5 CONNECT, without an answer \
             ({}). It may speak MQTT 3.1.1 only: choose MQTT 3.1.1 (or \"auto\") in the \
             connection settings.",
            with_reason(*code, reason)
        ),
        Cause::ClosedBeforeConnack { code, reason, .. } => format!(
            "The broker closed the connection before accepting the session ({}). It may not \
             speak MQTT on this path, or it refused this client without saying why (some brokers \
             close instead of answering a bad login).",
            with_reason(*code, reason)
        ),
        Cause::Refused {
            reason,
            reason_string,
        } => {
            let mut m = format!(
                "The broker refused the connection: {}{}.",
                reason.description(),
                because(reason_string)
            );
            m.push(' ');
            m.push_str(match *reason {
                ReasonCode::BAD_USER_NAME_OR_PASSWORD => "Check the user name and password.",
                // mosquitto answers every bad login with "not authorized".
                ReasonCode::NOT_AUTHORIZED => {
                    "Check the user name and password, and that this user may connect (brokers \
                     answer a wrong password with \"not authorized\" too)."
                }
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => {
                    "Try a shorter client id of letters and digits only, or leave it empty with \
                     MQTT 5 to get one from the broker."
                }
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => {
                    "Choose the other MQTT version (or \"auto\") in the connection settings."
                }
                ReasonCode::SERVER_UNAVAILABLE | ReasonCode::SERVER_BUSY => "Try again later.",
                ReasonCode::BANNED => "This client is banned by the broker's administrator.",
                ReasonCode::USE_ANOTHER_SERVER | ReasonCode::SERVER_MOVED => {
                    "The broker asks to use another server; its reason says which."
                }
                ReasonCode::QUOTA_EXCEEDED | ReasonCode::CONNECTION_RATE_EXCEEDED => {
                    "Wait a little before connecting again."
                }
                _ => "Not retried: connecting again the same way would be refused again.",
            });
            m
        }
        Cause::ServerDisconnected {
            reason: ReasonCode::SESSION_TAKEN_OVER,
            ..
        }
        | Cause::TakenOver => format!(
            "The broker keeps dropping this connection right after accepting it: another client \
             is most likely connected with the same client id \"{client_id}\", and each \
             connection pushes the other out. Give this page a unique client id."
        ),
        Cause::ServerDisconnected {
            reason,
            reason_string,
        } => format!(
            "The broker closed the session: {}{}.",
            reason.description(),
            because(reason_string)
        ),
        Cause::Lost { code, reason } => format!(
            "Connection to the broker lost ({}).",
            with_reason(*code, reason)
        ),
        Cause::KeepAliveTimeout => {
            "The broker stopped answering keep-alive pings: the connection is dead.".into()
        }
        Cause::ProtocolError { what, in_a_row } if *in_a_row >= MAX_PROTOCOL_ERRORS => format!(
            "The broker broke the MQTT protocol {in_a_row} times in a row ({what}). Not retried: \
             it does not look like a working MQTT broker, or this client and it disagree on the \
             MQTT version."
        ),
        Cause::ProtocolError { what, in_a_row } if *in_a_row > 1 => {
            format!("The broker broke the MQTT protocol again ({in_a_row} times in a row): {what}.")
        }
        Cause::ProtocolError { what, .. } => {
            format!("The broker broke the MQTT protocol: {what}.")
        }
        Cause::SendFailed(message) => format!("Could not send to the broker: {message}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: PageContext = PageContext { secure: false };

    fn bad(url: &str, page: PageContext) -> String {
        check_url(url, page).unwrap_err().message
    }

    #[test]
    fn websocket_urls_pass() {
        for url in [
            "ws://127.0.0.1:9001/",
            "wss://broker.example:8884/mqtt",
            " ws://h/ws ",
            "ws://[::1]:9001/",
        ] {
            assert_eq!(check_url(url, PAGE), Ok(()), "{url}");
        }
    }

    #[test]
    fn other_urls_are_explained() {
        assert!(bad("", PAGE).contains("Enter the broker"));
        assert!(bad("127.0.0.1:9001", PAGE).contains("must start with ws://"));
        assert!(bad("http://h:9001/", PAGE).contains("Use ws:// instead of http://"));
        assert!(bad("https://h/", PAGE).contains("Use wss:// instead of https://"));
        assert!(bad("mqtt://h:1883", PAGE).contains("cannot open mqtt://"));
        assert!(bad("MQTTS://h:8883", PAGE).contains("cannot open mqtts://"));
        assert!(bad("ftp://h/", PAGE).contains("Unsupported scheme"));
        assert!(bad("ws:///x", PAGE).contains("has no host"));
        assert!(bad("ws://ann:pw@h:1/", PAGE).contains("own fields"));
    }

    #[test]
    fn mixed_content_is_refused_except_to_loopback() {
        let https = PageContext { secure: true };
        assert!(bad("ws://broker.lan:9001/", https).contains("mixed content"));
        assert_eq!(check_url("wss://broker.lan:8884/", https), Ok(()));
        assert_eq!(check_url("ws://127.0.0.1:9001/", https), Ok(()));
        assert_eq!(check_url("ws://localhost:9001/", https), Ok(()));
    }

    #[test]
    fn an_unreachable_tcp_port_points_at_the_websocket_listener() {
        let m = explain(&Cause::Unreachable, "ws://h:1883/", "c");
        assert!(
            m.contains("Port 1883 is usually MQTT over plain TCP"),
            "{m}"
        );
        let m = explain(&Cause::Unreachable, "ws://h:9001/", "c");
        assert!(
            !m.contains("plain TCP") && m.contains("nothing accepted"),
            "{m}"
        );
    }

    #[test]
    fn an_unreachable_wss_url_suggests_accepting_the_certificate() {
        let m = explain(&Cause::Unreachable, "wss://127.0.0.1:8884/mqtt", "c");
        assert!(
            m.contains("open https://127.0.0.1:8884/ in a new tab"),
            "{m}"
        );
    }

    #[test]
    fn refusals_say_what_to_check() {
        let refused = |code, s: Option<&str>| {
            explain(
                &Cause::Refused {
                    reason: ReasonCode(code),
                    reason_string: s.map(Into::into),
                },
                "ws://h/",
                "c",
            )
        };
        assert!(refused(0x86, None).contains("Check the user name and password"));
        // mosquitto says 0x87 for any bad login.
        let m = refused(0x87, Some("bad login"));
        assert!(m.contains("not authorized (bad login)"), "{m}");
        assert!(m.contains("user name and password"), "{m}");
        assert!(refused(0x84, None).contains("other MQTT version"));
        assert!(refused(0x85, None).contains("client id"));
        assert!(refused(0x89, None).contains("later"));
        assert!(refused(0x80, None).contains("Not retried"));
    }

    #[test]
    fn a_takeover_names_the_client_id() {
        for cause in [
            Cause::TakenOver,
            Cause::ServerDisconnected {
                reason: ReasonCode::SESSION_TAKEN_OVER,
                reason_string: None,
            },
        ] {
            let m = explain(&cause, "ws://h/", "kitchen-panel");
            assert!(m.contains("same client id \"kitchen-panel\""), "{m}");
        }
    }

    #[test]
    fn a_close_after_a_v5_connect_suggests_3_1_1() {
        let m = explain(
            &Cause::ClosedBeforeConnack {
                protocol: Protocol::V5,
                code: 1011,
                reason: String::new(),
            },
            "ws://h/ws",
            "c",
        );
        assert!(
            m.contains("MQTT 3.1.1 only") && m.contains("code 1011"),
            "{m}"
        );
    }

    #[test]
    fn no_connack_mentions_path_and_subprotocol() {
        let m = explain(&Cause::NoConnack { waited_ms: 10_000 }, "ws://h/", "c");
        assert!(
            m.contains("within 10 s") && m.contains("subprotocol"),
            "{m}"
        );
    }
}
