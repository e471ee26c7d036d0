//! devsim against mosquitto, without a browser: it subscribes once per
//! session, also after the broker restarts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use e2e::{Devsim, Mosquitto};
use mqtt_client::{Client, ConnectOptions, Event, Publish};

use crate::harness::{Result, WAIT};

/// Connects a plain MQTT client over TCP and publishes `topic` `payload`
/// (QoS 0), then disconnects.
fn publish_once(port: u16, topic: &str, payload: &str) -> Result {
    publish_all(port, [(topic.to_owned(), payload.to_owned())])
}

/// Connects a plain MQTT client over TCP, publishes every message (QoS 0)
/// in order, then disconnects.
pub(crate) fn publish_all(
    port: u16,
    messages: impl IntoIterator<Item = (String, String)>,
) -> Result {
    publish_with(port, messages, false, None)
}

/// As [`publish_all`], retained.
pub(crate) fn publish_retained(port: u16, topic: &str, payload: &str) -> Result {
    publish_with(port, [(topic.to_owned(), payload.to_owned())], true, None)
}

/// Publishes every message (QoS 0, `retain` as given), logged in as
/// `login` (user, password) if given.
fn publish_with(
    port: u16,
    messages: impl IntoIterator<Item = (String, String)>,
    retain: bool,
    login: Option<(&str, &'static str)>,
) -> Result {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut options = ConnectOptions::new("e2e-publisher");
    if let Some((user, password)) = login {
        options.username = Some(user.into());
        options.password = Some(mqtt_client::Bytes::from_static(password.as_bytes()));
    }
    let mut client = Client::new(options);
    client.connect(now());
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if client.poll_transmit(&mut out) {
            stream.write_all(&out)?;
            out.clear();
        }
        if let Some(event) = client.poll_event() {
            if matches!(event, Event::Connected { .. }) {
                break;
            }
            continue;
        }
        if start.elapsed() > WAIT {
            return Err("no CONNACK".into());
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err("closed before CONNACK".into()),
            Ok(n) => client.handle_bytes(now(), &buf[..n]),
            Err(_) => {}
        }
    }
    for (topic, payload) in messages {
        let mut publish = Publish::new(topic, payload);
        publish.retain = retain;
        client.publish(now(), publish)?;
        if client.poll_transmit(&mut out) {
            stream.write_all(&out)?;
            out.clear();
        }
    }
    client.disconnect(now());
    if client.poll_transmit(&mut out) {
        stream.write_all(&out)?;
    }
    Ok(())
}

/// Regression: devsim subscribed again on every reconnect (the engine
/// renews), so it announced itself ("ready", its birth messages) twice.
#[test]
fn devsim_subscribes_once_per_session_after_a_broker_restart() -> Result {
    let dir = e2e::target_dir().join("e2e").join("devsim_once");
    let _ = std::fs::remove_dir_all(&dir);
    let mut broker = Mosquitto::start(&dir.join("mosquitto"))?;
    let mut devsim = Devsim::start(broker.tcp_port, &["once"])?;
    devsim.wait_for_line("ready once", WAIT)?;
    broker.restart()?;
    devsim.wait_for_lines("ready once", 2, WAIT)?;
    // A command that reaches devsim after the renewal: by then a second
    // SUBACK would have been handled too.
    let deadline = Instant::now() + WAIT;
    loop {
        publish_once(broker.tcp_port, "cmnd/once/POWER", "ON")?;
        if devsim
            .wait_for_line("recv once cmnd/once/POWER ON", Duration::from_secs(1))
            .is_ok()
        {
            break;
        }
        if Instant::now() > deadline {
            return Err("devsim never received the command".into());
        }
    }
    let ready = devsim.lines().iter().filter(|l| *l == "ready once").count();
    if ready != 2 {
        return Err(format!("devsim was ready {ready} times for 2 sessions").into());
    }
    Ok(())
}

/// A broker that refuses anonymous clients (ejabberd does): devsim logs in
/// with `--username`/`--password`, in MQTT 5 too; with a wrong password it
/// gives up (exits) instead of reconnecting for ever.
#[test]
fn devsim_logs_in_and_gives_up_on_a_refused_login() -> Result {
    let dir = e2e::target_dir().join("e2e").join("devsim_login");
    let _ = std::fs::remove_dir_all(&dir);
    let broker = Mosquitto::start_with(
        &dir.join("mosquitto"),
        e2e::BrokerConfig {
            users: vec![("plug".into(), "s3cret".into())],
            ..e2e::BrokerConfig::default()
        },
    )?;
    let args = |password: &str, protocol: &str| -> Vec<String> {
        [
            "--username",
            "plug",
            "--password",
            password,
            "--protocol",
            protocol,
            "--tasmota",
            "locked",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut good = Devsim::start_args(broker.tcp_port, &args("s3cret", "5"), &["locked"])?;
    publish_with(
        broker.tcp_port,
        [("cmnd/locked/POWER".to_owned(), "ON".to_owned())],
        false,
        Some(("plug", "s3cret")),
    )?;
    good.wait_for_line("recv locked cmnd/locked/POWER ON", WAIT)?;
    drop(good);
    let refused = Devsim::start_args(broker.tcp_port, &args("wrong", "3.1.1"), &["locked"]);
    match refused {
        Err(err) if err.to_string().contains("exited") => Ok(()),
        Err(err) => Err(format!("expected devsim to exit, got: {err}").into()),
        Ok(_) => Err("devsim was ready with a wrong password".into()),
    }
}
