//! The publish form against mosquitto, checked by a plain MQTT 5
//! subscriber over TCP: MQTT 5 properties arrive intact, a wildcard topic
//! is refused with the reason, recent publishes refill the form, saved
//! buttons publish in one click after a reload, and retained messages are
//! cleared for one topic and for a subtree.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use e2e::{Mosquitto, StaticServer};
use mqtt_client::{Client, ConnectOptions, Event, Protocol, Publish, QoS, SubscribeFilter};

use crate::devsim::{publish_all, publish_retained};
use crate::harness::*;

/// A plain MQTT 5 client over TCP, subscribed, handing on what arrives.
struct Subscriber {
    messages: mpsc::Receiver<Publish>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Subscriber {
    /// Connects, subscribes to `filter` and returns once the SUBACK came.
    fn start(port: u16, filter: &str) -> Result<Self> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(50)))?;
        let start = Instant::now();
        let now = move || start.elapsed().as_millis() as u64;
        let mut options = ConnectOptions::new("e2e-subscriber");
        options.protocol = Protocol::V5;
        let mut client = Client::new(options);
        client.connect(now());
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut subscribed = false;
        while !subscribed {
            if client.poll_transmit(&mut out) {
                stream.write_all(&out)?;
                out.clear();
            }
            match client.poll_event() {
                Some(Event::Connected { .. }) => {
                    client
                        .subscribe(now(), vec![SubscribeFilter::new(filter, QoS::ExactlyOnce)])?;
                    continue;
                }
                Some(Event::Subscribed { .. }) => subscribed = true,
                Some(_) => continue,
                None => {}
            }
            if start.elapsed() > WAIT {
                return Err("the subscriber got no SUBACK".into());
            }
            match stream.read(&mut buf) {
                Ok(0) => return Err("the broker closed the subscriber".into()),
                Ok(n) => client.handle_bytes(now(), &buf[..n]),
                Err(_) => {}
            }
        }
        let (tx, messages) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                while let Some(event) = client.poll_event() {
                    if let Event::Message(publish) = event {
                        let _ = tx.send(publish);
                    }
                }
                if client.poll_transmit(&mut out) {
                    if stream.write_all(&out).is_err() {
                        return;
                    }
                    out.clear();
                }
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => client.handle_bytes(now(), &buf[..n]),
                    Err(_) => client.handle_timeout(now()),
                }
            }
        });
        Ok(Self {
            messages,
            stop,
            thread: Some(thread),
        })
    }

    /// The next message, waiting at most [`WAIT`].
    fn next(&self) -> Result<Publish> {
        self.messages
            .recv_timeout(WAIT)
            .map_err(|_| "the subscriber received nothing".into())
    }

    /// Every message up to and including the first on `topic`.
    fn until(&self, topic: &str) -> Result<Vec<Publish>> {
        let mut got = Vec::new();
        loop {
            let publish = self.next()?;
            let last = publish.topic == topic;
            got.push(publish);
            if last {
                return Ok(got);
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn open_publish_form(browser: &Browser) -> Result {
    browser.click("publish-open").await?;
    wait_until(browser, "the publish form", || async {
        Ok(!texts(browser, "publish").await?.is_empty())
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn a_publish_with_mqtt5_properties_reaches_a_subscriber_intact() {
    with_browser("publish_v5", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let subscriber = Subscriber::start(broker.tcp_port, "pub/#")?;
        connect_with_form(browser, &server, &broker, "e2e-publish").await?;
        open_publish_form(browser).await?;

        // A wildcard topic is refused in the form, with the rule.
        browser.type_into("publish-topic", "pub/+/x").await?;
        browser.click("publish").await?;
        wait_until(browser, "the topic refused", || async {
            Ok(browser.text("publish-error").await?.contains("+ or #"))
        })
        .await?;

        browser.type_into("publish-topic", "pub/v5").await?;
        browser
            .client
            .find(fantoccini::Locator::Css("[data-testid='publish-format']"))
            .await?
            .select_by_value("json")
            .await?;
        browser
            .client
            .find(fantoccini::Locator::Css("[data-testid='publish-qos']"))
            .await?
            .select_by_value("1")
            .await?;
        browser.type_into("publish-payload", r#"{"a": 1}"#).await?;
        browser
            .client
            .find(fantoccini::Locator::Css(
                "[data-testid='publish-v5'] summary",
            ))
            .await?
            .click()
            .await?;
        browser
            .type_into("publish-content-type", "application/json")
            .await?;
        browser
            .client
            .find(fantoccini::Locator::Css(
                "[data-testid='publish-payload-format']",
            ))
            .await?
            .select_by_value("utf8")
            .await?;
        browser.type_into("publish-expiry", "60").await?;
        browser
            .client
            .find(fantoccini::Locator::Css(
                "[data-testid='publish-topic-alias']",
            ))
            .await?
            .select_by_value("off")
            .await?;
        browser
            .type_into("publish-response-topic", "pub/reply")
            .await?;
        browser.type_into("publish-correlation", "req-7").await?;
        browser.click("publish-add-user-property").await?;
        browser.click("publish-add-user-property").await?;
        browser.type_into("publish-user-key-0", "k").await?;
        browser.type_into("publish-user-value-0", "v").await?;
        browser.type_into("publish-user-key-1", "n").await?;
        browser.type_into("publish-user-value-1", "2").await?;
        browser.click("publish").await?;
        wait_until(browser, "the form to say it published", || async {
            Ok(browser.text("publish-result").await?.contains("to pub/v5"))
        })
        .await?;

        let got = subscriber.next()?;
        if got.topic != "pub/v5"
            || &got.payload[..] != br#"{"a": 1}"#
            || got.qos != QoS::AtLeastOnce
        {
            return Err(format!("the subscriber got {got:?}").into());
        }
        let p = &got.properties;
        let expiry_ok = p
            .message_expiry_interval
            .is_some_and(|s| (50..=60).contains(&s));
        if p.content_type.as_deref() != Some("application/json")
            || p.payload_format_indicator != Some(true)
            || !expiry_ok
            || p.response_topic.as_deref() != Some("pub/reply")
            || p.correlation_data.as_deref() != Some(&b"req-7"[..])
            || p.user_properties
                != [
                    ("k".to_owned(), "v".to_owned()),
                    ("n".to_owned(), "2".to_owned()),
                ]
        {
            return Err(format!("properties changed on the way: {p:?}").into());
        }

        // The recent publish fills the form again.
        browser.save_artifacts().await;
        browser.type_into("publish-topic", "elsewhere").await?;
        browser.click("recent-0").await?;
        wait_until(browser, "the form refilled", || async {
            let value = js(
                browser,
                "return document.querySelector('[data-testid=publish-topic]').value",
            )
            .await?;
            Ok(value == "pub/v5")
        })
        .await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_saved_button_publishes_in_one_click_after_a_reload() {
    with_browser("publish_saved", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let subscriber = Subscriber::start(broker.tcp_port, "cmnd/#")?;
        connect_with_form(browser, &server, &broker, "e2e-saved").await?;
        open_publish_form(browser).await?;
        browser
            .type_into("publish-topic", "cmnd/kettle/POWER")
            .await?;
        browser.type_into("publish-payload", "TOGGLE").await?;
        browser.type_into("save-name", "Kettle").await?;
        browser.click("save-button").await?;
        wait_until(browser, "the button", || async {
            Ok(!texts(browser, "saved-Kettle").await?.is_empty())
        })
        .await?;

        // Kept with the profile: there after a reload, and one click sends.
        reload_and_reconnect(browser, &broker).await?;
        open_publish_form(browser).await?;
        wait_until(browser, "the button after the reload", || async {
            Ok(!texts(browser, "saved-Kettle").await?.is_empty())
        })
        .await?;
        browser.click("saved-Kettle").await?;
        // (The page's own discovery asks come first, on cmnd/tasmotas/….)
        let got = subscriber.until("cmnd/kettle/POWER")?;
        let got = got.last().ok_or("nothing received")?;
        if &got.payload[..] != b"TOGGLE" || got.retain {
            return Err(format!("the button sent {got:?}").into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn retained_messages_are_cleared_for_a_topic_and_for_a_subtree() {
    with_browser("clear_retained", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let port = broker.tcp_port;
        for topic in [
            "home/a/1",
            "home/a/2",
            "home/a/b/3",
            "home/keep",
            "home/gone",
        ] {
            publish_retained(port, topic, "x")?;
        }
        connect_with_form(browser, &server, &broker, "e2e-clear").await?;
        browser.click("watch").await?;
        wait_until(browser, "home in the tree", || async {
            Ok(!texts(browser, "expand-home").await?.is_empty())
        })
        .await?;
        browser.click("expand-home").await?;

        // One topic.
        wait_until(browser, "home/gone", || async {
            Ok(!texts(browser, "topic-home/gone").await?.is_empty())
        })
        .await?;
        browser.click("topic-home/gone").await?;
        wait_until(browser, "its clear button", || async {
            Ok(browser.text("clear-retained").await? == "Clear its retained message…")
        })
        .await?;
        browser.click("clear-retained").await?;
        browser.click("clear-yes").await?;
        wait_until(browser, "one cleared", || async {
            Ok(browser.text("clear-result").await? == "Cleared 1 retained message.")
        })
        .await?;

        // A subtree, after a confirm that counts them.
        browser.click("topic-home/a").await?;
        wait_until(browser, "the subtree's clear button", || async {
            Ok(
                browser.text("clear-retained").await?
                    == "Clear 3 retained messages here and below…",
            )
        })
        .await?;
        browser.click("clear-retained").await?;
        wait_until(browser, "the confirm", || async {
            Ok(browser.text("clear-confirm").await?.contains("to 3 topics"))
        })
        .await?;
        browser.click("clear-yes").await?;
        wait_until(browser, "three cleared", || async {
            Ok(browser.text("clear-result").await? == "Cleared 3 retained messages.")
        })
        .await?;
        if !texts(browser, "retained-home/a/1").await?.is_empty() {
            return Err("the tree still marks home/a/1 retained".into());
        }

        // The broker agrees: a new subscriber gets only home/keep retained
        // before a marker published after its SUBACK.
        let subscriber = Subscriber::start(port, "home/#")?;
        publish_all(port, [("home/zz-marker".to_owned(), "end".to_owned())])?;
        let got = subscriber.until("home/zz-marker")?;
        let retained: Vec<&str> = got
            .iter()
            .filter(|p| p.retain)
            .map(|p| p.topic.as_str())
            .collect();
        if retained != ["home/keep"] {
            return Err(format!("retained after clearing: {retained:?}").into());
        }
        browser.save_artifacts().await;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_command_log_records_a_confirmed_toggle_and_a_publish_and_exports_them() {
    with_browser("command_log", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = e2e::Devsim::start(broker.tcp_port, &["plug1"])?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-audit").await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;
        browser.click("toggle-plug1-1").await?;
        wait_for_state(browser, "state-plug1-1", "ON").await?;
        open_publish_form(browser).await?;
        browser.type_into("publish-topic", "notes/hello").await?;
        browser.type_into("publish-payload", "hi").await?;
        browser.click("publish").await?;

        browser.click("command-log-open").await?;
        let rows = async || -> Result<Vec<(String, String, String, String)>> {
            let origins = texts(browser, "command-origin").await?;
            let topics = texts(browser, "command-topic").await?;
            let payloads = texts(browser, "command-payload").await?;
            let outcomes = texts(browser, "command-outcome").await?;
            Ok(origins
                .into_iter()
                .zip(topics)
                .zip(payloads)
                .zip(outcomes)
                .map(|(((a, b), c), d)| (a, b, c, d))
                .collect())
        };
        let expected = vec![
            (
                "publish form".to_owned(),
                "notes/hello".to_owned(),
                "hi".to_owned(),
                "sent".to_owned(),
            ),
            (
                "switch on".to_owned(),
                "cmnd/plug1/POWER".to_owned(),
                "ON".to_owned(),
                "confirmed ON".to_owned(),
            ),
        ];
        wait_until(
            browser,
            "the toggle confirmed in the command log",
            || async { Ok(rows().await? == expected) },
        )
        .await?;

        // Kept in the browser: there after a reload, and exported as CSV.
        browser.client.refresh().await?;
        open_page(browser, &server).await?;
        browser.click("command-log-open").await?;
        wait_until(browser, "the log after a reload", || async {
            Ok(rows().await? == expected)
        })
        .await?;
        browser.click("command-export").await?;
        let csv = js(
            browser,
            "return document.querySelector('[data-testid=command-csv]').value",
        )
        .await?;
        let csv = csv.as_str().unwrap_or_default();
        // (A textarea's value has its line breaks as LF; the file has CRLF.)
        let lines: Vec<&str> = csv.lines().collect();
        let broker_name = broker
            .ws_url()
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .to_owned();
        if lines[0] != "time,broker,origin,topic,payload,qos,retain,outcome"
            || !lines[1].ends_with(&format!(
                ",{broker_name},switch on,cmnd/plug1/POWER,ON,0,false,confirmed ON"
            ))
            || !lines[2].ends_with(",publish form,notes/hello,hi,0,false,sent")
        {
            return Err(format!("the CSV: {csv:?}").into());
        }
        Ok(())
    })
    .await;
}
