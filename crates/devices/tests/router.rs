//! The seam: the router hands each message to the adapters whose filters
//! match it (the codec's matcher), and the dashboard applies what they say.

use devices::{
    Action, Adapter, Change, ConnectionId, Dashboard, DeviceKey, Family, Output, Power,
    PublishRequest, Router, TimedPublish,
};

/// An adapter that records what it was handed.
#[derive(Default)]
struct Probe {
    seen: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
}

impl Adapter for Probe {
    fn family(&self) -> Family {
        Family::Tasmota
    }

    fn subscriptions(&self) -> Vec<String> {
        vec![
            "probe/+/state".into(),
            "probe/all/#".into(),
            "probe/learn/#".into(),
        ]
    }

    fn handle(&mut self, topic: &str, payload: &[u8], _retained: bool, _now: u64) -> Output {
        self.seen.borrow_mut().push(topic.to_owned());
        if let Some(learned) = topic.strip_prefix("probe/learn/") {
            // A discovery-like message naming a topic to hear from now on.
            return Output {
                subscribe: vec![learned.to_owned(), learned.to_owned()],
                ..Output::default()
            };
        }
        let id = topic.split('/').nth(1).unwrap_or_default().to_owned();
        let power = if payload == b"1" {
            Power::On
        } else {
            Power::Off
        };
        Output {
            changes: vec![
                Change::Outlet {
                    id: id.clone(),
                    index: 1,
                    power,
                },
                Change::Online { id, online: true },
            ],
            ..Output::default()
        }
    }

    fn action(&self, id: &str, index: u8, action: Action, _now: u64) -> Vec<TimedPublish> {
        let payload = if action == Action::On { "1" } else { "0" };
        vec![
            TimedPublish::now(PublishRequest::new(
                format!("probe/{id}/set/{index}"),
                payload,
            )),
            TimedPublish {
                after_ms: 500,
                request: PublishRequest::new(format!("probe/{id}/get"), ""),
            },
        ]
    }
}

#[test]
fn messages_reach_the_adapter_whose_filter_matches() {
    let probe = Probe::default();
    let seen = probe.seen.clone();
    let mut d = Dashboard::with_router(ConnectionId(3), Router::new(vec![Box::new(probe)]));
    assert_eq!(
        d.subscriptions(),
        ["probe/+/state", "probe/all/#", "probe/learn/#"]
    );
    for topic in [
        "probe/a/state",
        "probe/a/other",
        "probe/all/x/y",
        "other/a/state",
    ] {
        d.handle_message(topic, b"1", false, 0);
    }
    assert_eq!(*seen.borrow(), ["probe/a/state", "probe/all/x/y"]);
    let key = DeviceKey {
        connection: ConnectionId(3),
        family: Family::Tasmota,
        id: "a".into(),
    };
    let device = d.device(&key).expect("a device from the adapter's changes");
    assert_eq!(device.online, Some(true));
    assert_eq!(device.outlet(1).unwrap().confirmed, Some(Power::On));
}

#[test]
fn one_message_may_change_several_devices_each_named_once() {
    let mut d = Dashboard::with_router(
        ConnectionId(1),
        Router::new(vec![Box::new(Probe::default())]),
    );
    let update = d.handle_message("probe/a/state", b"0", false, 0);
    assert_eq!(
        update.changed.len(),
        1,
        "two changes, one device: {update:?}"
    );
}

#[test]
fn an_action_is_a_timed_sequence_from_the_adapter() {
    let mut d = Dashboard::with_router(
        ConnectionId(1),
        Router::new(vec![Box::new(Probe::default())]),
    );
    d.handle_message("probe/b/state", b"0", false, 0);
    let key = DeviceKey {
        connection: ConnectionId(1),
        family: Family::Tasmota,
        id: "b".into(),
    };
    let now: Vec<_> = d.request(&key, 1, Power::On, 100).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].topic, "probe/b/set/1");
    assert!(d.device(&key).unwrap().outlet(1).unwrap().pending.is_some());
    // The later step is kept and released when its time comes.
    assert_eq!(d.poll_timeout(), Some(600));
    assert!(d.handle_timeout(599).publish.is_empty());
    let later: Vec<_> = d.handle_timeout(600).publish;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].topic, "probe/b/get");
    assert!(d.handle_timeout(700).publish.is_empty());
}

#[test]
fn a_topic_an_adapter_learns_is_routed_to_it_and_subscribed_once() {
    let probe = Probe::default();
    let seen = probe.seen.clone();
    let mut d = Dashboard::with_router(ConnectionId(1), Router::new(vec![Box::new(probe)]));
    // Not routed before it is learned.
    d.handle_message("elsewhere/kettle", b"1", false, 0);
    assert!(seen.borrow().is_empty());
    let update = d.handle_message("probe/learn/elsewhere/kettle", b"", false, 0);
    assert_eq!(
        update.subscribe,
        ["elsewhere/kettle"],
        "new filters, each once"
    );
    assert!(d.subscriptions().contains(&"elsewhere/kettle".to_owned()));
    d.handle_message("elsewhere/kettle", b"1", false, 0);
    assert_eq!(seen.borrow().last().unwrap(), "elsewhere/kettle");
    // Learned again: nothing new to subscribe to.
    let update = d.handle_message("probe/learn/elsewhere/kettle", b"", false, 0);
    assert!(update.subscribe.is_empty());
}
