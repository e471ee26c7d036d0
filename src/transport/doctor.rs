//! Plain-language diagnosis of connection problems.
//!
//! A WebSocket that fails before it opens tells page JavaScript nothing but
//! "closed, code 1006": a refused port, a TLS mismatch, a wrong path and a
//! plain-TCP port all look the same. So the doctor reasons from what it does
//! know: the URL, and how far the connection got.

/// Checks a broker URL before any connection attempt.
pub fn check_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Enter the broker's WebSocket URL, e.g. ws://127.0.0.1:9001/".into());
    }
    let lower = url.to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err(format!(
            "\"{url}\" is not a URL: it must start with ws:// or wss://, e.g. ws://{url}/"
        ));
    };
    match scheme {
        "ws" | "wss" => {}
        "http" | "https" => {
            let ws = if scheme == "https" { "wss" } else { "ws" };
            return Err(format!(
                "Use {ws}:// instead of {scheme}://: MQTT in the browser runs over WebSocket"
            ));
        }
        "mqtt" | "mqtts" | "tcp" | "ssl" | "tls" => {
            return Err(format!(
                "Browsers cannot open {scheme}:// (raw TCP) connections. Use the broker's \
                 WebSocket listener, e.g. ws://host:9001/ (mosquitto: `listener 9001` + \
                 `protocol websockets`)"
            ));
        }
        other => {
            return Err(format!(
                "Unsupported scheme {other}://: use ws:// or wss://"
            ));
        }
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("\"{url}\" has no host: e.g. ws://127.0.0.1:9001/"));
    }
    Ok(())
}

/// The port a `ws://` / `wss://` URL names, if it names one.
fn port(url: &str) -> Option<u16> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

/// Explains a socket that closed. `opened`: whether the WebSocket handshake
/// had finished; `connected`: whether the broker had accepted the session.
pub fn explain_close(url: &str, opened: bool, connected: bool, code: u16, reason: &str) -> String {
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    if connected {
        return format!("Connection to the broker lost (WebSocket code {code}{reason})");
    }
    if opened {
        return format!(
            "The broker closed the connection before accepting the session (code {code}{reason}). \
             It may not speak MQTT on this path, or refused this client."
        );
    }
    let mut message = format!(
        "Could not connect to {url}: nothing accepted a WebSocket connection there. Check the \
         host and port, that the broker has a WebSocket listener on it, the path (/, /mqtt, \
         /ws…), and ws:// versus wss://."
    );
    if let Some(p @ (1883 | 8883)) = port(url) {
        message.push_str(&format!(
            " Port {p} is usually MQTT over plain TCP, which browsers cannot open: use the \
             broker's WebSocket port (often 9001, 8083 or 8884)."
        ));
    }
    message
}
