//! Browser tests (wasm-bindgen-test in headless Chromium): the doctor, the
//! WebSocket session against a real mosquitto, and the app mounted.
//!
//! `cargo xtask test` starts mosquitto and passes its WebSocket URL in
//! `PLUGBOARD_TEST_BROKER_WS` at build time.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use mqtt_client::{ConnectOptions, Publish, QoS, SubscribeFilter};
use plugboard::transport::doctor::{check_url, explain_close};
use plugboard::transport::session::{ConnState, Session, SessionEvent};
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

#[wasm_bindgen_test]
fn doctor_accepts_websocket_urls_and_explains_the_rest() {
    assert_eq!(check_url("ws://127.0.0.1:9001/"), Ok(()));
    assert_eq!(check_url(" wss://broker.example:8884/mqtt "), Ok(()));
    assert!(check_url("").unwrap_err().contains("Enter"));
    assert!(check_url("mqtt://127.0.0.1:1883")
        .unwrap_err()
        .contains("raw TCP"));
    assert!(check_url("https://host/mqtt")
        .unwrap_err()
        .contains("wss://"));
    assert!(check_url("127.0.0.1:9001").unwrap_err().contains("ws://"));
    assert!(check_url("ws:///path").unwrap_err().contains("no host"));
    let refused = explain_close("ws://127.0.0.1:1883/", false, false, 1006, "");
    assert!(
        refused.contains("Could not connect") && refused.contains("plain TCP"),
        "{refused}"
    );
    let dropped = explain_close("ws://h:9001/", true, false, 1006, "");
    assert!(dropped.contains("before accepting"), "{dropped}");
}

type Events = Rc<RefCell<Vec<SessionEvent>>>;

fn collect() -> (Events, impl Fn(SessionEvent) + 'static) {
    let events: Events = Rc::default();
    let sink = {
        let events = events.clone();
        move |event| events.borrow_mut().push(event)
    };
    (events, sink)
}

fn has_state(events: &Events, want: impl Fn(&ConnState) -> bool) -> bool {
    events
        .borrow()
        .iter()
        .any(|e| matches!(e, SessionEvent::State(s) if want(s)))
}

#[wasm_bindgen_test]
async fn session_subscribes_publishes_and_receives_through_mosquitto() {
    let url = BROKER.expect("PLUGBOARD_TEST_BROKER_WS: run through `cargo xtask test`");
    let (events, sink) = collect();
    let filters = vec![SubscribeFilter::new(
        "plugboard/web-test/#",
        QoS::AtMostOnce,
    )];
    let session = Session::connect(url, ConnectOptions::new("web-test-session"), filters, sink)
        .expect("opens");
    wait_for("SUBACK", 10_000, || {
        has_state(&events, |s| *s == ConnState::Connected { subscribed: true })
    })
    .await;
    // A payload larger than one typical chunk, to cross the socket whole.
    let payload = vec![b'x'; 20_000];
    session
        .publish(Publish::new("plugboard/web-test/a", payload.clone()))
        .unwrap();
    wait_for("our own message back", 10_000, || {
        events.borrow().iter().any(|e| {
            matches!(e, SessionEvent::Message(p) if p.topic == "plugboard/web-test/a" && p.payload[..] == payload[..])
        })
    })
    .await;
    session.disconnect();
    wait_for("idle after disconnect", 5_000, || {
        has_state(&events, |s| *s == ConnState::Idle)
    })
    .await;
}

#[wasm_bindgen_test]
async fn session_to_a_closed_port_fails_with_a_reason() {
    // Port 9 (discard) on loopback: nothing listens there.
    let (events, sink) = collect();
    let _session =
        Session::connect("ws://127.0.0.1:9/", ConnectOptions::new("t"), vec![], sink).unwrap();
    wait_for("the failure", 10_000, || {
        has_state(&events, |s| matches!(s, ConnState::Failed(_)))
    })
    .await;
    let message = events
        .borrow()
        .iter()
        .find_map(|e| match e {
            SessionEvent::State(ConnState::Failed(m)) => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        message.contains("Could not connect to ws://127.0.0.1:9/"),
        "{message}"
    );
}

#[wasm_bindgen_test]
fn session_refuses_a_bad_url_synchronously() {
    let (_events, sink) = collect();
    let err = Session::connect(
        "tcp://127.0.0.1:1883",
        ConnectOptions::new("t"),
        vec![],
        sink,
    )
    .err()
    .expect("refused");
    assert!(err.contains("raw TCP"), "{err}");
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
