//! Browser tests (wasm-bindgen-test in headless Chromium): the WebSocket
//! transport and the supervisor against a real mosquitto, and the app mounted.
//!
//! `cargo xtask test` starts mosquitto and passes its WebSocket URL in
//! `PLUGBOARD_TEST_BROKER_WS` at build time.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use connections::{
    ConnectOptions, ConnectionId, Event, PageContext, Protocol, Publish, QoS, Settings, Status,
    SubscribeFilter, VersionChoice,
};
use plugboard::transport::session::Connections;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const BROKER: Option<&str> = option_env!("PLUGBOARD_TEST_BROKER_WS");

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Polls `check` every 20 ms for at most `ms`.
async fn wait_for(what: &str, ms: i32, mut check: impl FnMut() -> bool) {
    let mut waited = 0;
    while !check() {
        assert!(waited < ms, "timed out after {ms} ms waiting for {what}");
        sleep(20).await;
        waited += 20;
    }
}

type Events = Rc<RefCell<Vec<Event>>>;

fn collect() -> (Events, Connections) {
    let events: Events = Rc::default();
    let sink = {
        let events = events.clone();
        move |event| events.borrow_mut().push(event)
    };
    (events, Connections::new(sink))
}

fn has_status(events: &Events, want: impl Fn(&Status) -> bool) -> bool {
    events
        .borrow()
        .iter()
        .any(|e| matches!(e, Event::Status(_, s) if want(s)))
}

const ID: ConnectionId = ConnectionId(7);

fn settings(url: &str, filters: Vec<SubscribeFilter>) -> Settings {
    let mut options = ConnectOptions::new(format!("web-test-{}", js_sys::Math::random()));
    options.reconnect = None;
    Settings {
        url: url.into(),
        options,
        version: VersionChoice::Auto,
        subscriptions: filters,
        page: PageContext::default(),
    }
}

#[wasm_bindgen_test]
async fn connections_subscribe_publish_and_receive_through_mosquitto() {
    let url = BROKER.expect("PLUGBOARD_TEST_BROKER_WS: run through `cargo xtask test`");
    let (events, connections) = collect();
    let filters = vec![SubscribeFilter::new(
        "plugboard/web-test/#",
        QoS::AtMostOnce,
    )];
    connections
        .connect(ID, settings(url, filters))
        .expect("opens");
    wait_for("SUBACK", 10_000, || has_status(&events, Status::is_ready)).await;
    // mosquitto speaks MQTT 5: "auto" kept it.
    assert!(has_status(&events, |s| matches!(
        s,
        Status::Connected {
            protocol: Protocol::V5,
            notice: None,
            ..
        }
    )));
    // Larger than one typical chunk, to cross the socket whole.
    let payload = vec![b'x'; 20_000];
    connections
        .publish(ID, Publish::new("plugboard/web-test/a", payload.clone()))
        .unwrap();
    wait_for("our own message back", 10_000, || {
        events.borrow().iter().any(|e| {
            matches!(e, Event::Message(_, p) if p.topic == "plugboard/web-test/a" && p.payload[..] == payload[..])
        })
    })
    .await;
    connections.disconnect(ID);
    wait_for("idle after disconnect", 5_000, || {
        has_status(&events, |s| *s == Status::Idle)
    })
    .await;
}

#[wasm_bindgen_test]
async fn connections_to_a_closed_port_fail_with_a_reason() {
    // Port 9 (discard) on loopback: nothing listens there.
    let (events, connections) = collect();
    connections
        .connect(ID, settings("ws://127.0.0.1:9/", vec![]))
        .unwrap();
    wait_for("the failure", 10_000, || {
        has_status(&events, |s| matches!(s, Status::Failed(_)))
    })
    .await;
    let message = events
        .borrow()
        .iter()
        .find_map(|e| match e {
            Event::Status(_, Status::Failed(d)) => Some(d.message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        message.contains("Could not connect to ws://127.0.0.1:9/"),
        "{message}"
    );
}

#[wasm_bindgen_test]
fn connections_refuse_a_bad_url_synchronously() {
    let (_events, connections) = collect();
    let err = connections
        .connect(ID, settings("tcp://127.0.0.1:1883", vec![]))
        .expect_err("refused");
    assert!(err.message.contains("raw TCP"), "{err}");
}

fn by_testid(id: &str) -> web_sys::Element {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .query_selector(&format!("[data-testid='{id}']"))
        .unwrap()
        .unwrap_or_else(|| panic!("no element with data-testid={id}"))
}

#[wasm_bindgen_test]
async fn app_mounts_idle_and_shows_form_errors() {
    let document = web_sys::window().unwrap().document().unwrap();
    let wrapper: web_sys::HtmlElement =
        document.create_element("section").unwrap().unchecked_into();
    document.body().unwrap().append_child(&wrapper).unwrap();
    let _dispose = leptos::mount::mount_to(wrapper, plugboard::App);
    leptos::task::tick().await;
    assert_eq!(
        by_testid("connection-status")
            .get_attribute("data-state")
            .as_deref(),
        Some("idle")
    );
    assert!(by_testid("no-devices")
        .text_content()
        .unwrap()
        .contains("Connect to a broker"));
    assert!(by_testid("client-id")
        .unchecked_into::<web_sys::HtmlInputElement>()
        .value()
        .starts_with("plugboard-"));

    let input: web_sys::HtmlInputElement = by_testid("broker-url").unchecked_into();
    input.set_value("mqtt://127.0.0.1:1883");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    by_testid("connect")
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    leptos::task::tick().await;
    assert_eq!(
        by_testid("connection-status")
            .get_attribute("data-state")
            .as_deref(),
        Some("error")
    );
    assert!(by_testid("connection-error")
        .text_content()
        .unwrap()
        .contains("raw TCP"));
}
