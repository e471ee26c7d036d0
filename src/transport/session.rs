//! Wiring only: browser WebSockets, one timer and the browser's
//! online/offline events, connected to the [`Supervisor`] that decides
//! everything else.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use connections::{
    ConnectionId, Diagnosis, Event, Link, Publish, SendError, Settings, SubscribeFilter,
    Supervisor, Transport,
};
use gloo_timers::callback::Timeout;
use wasm_bindgen_futures::spawn_local;

use super::now_ms;
use super::websocket::{Handler, Socket, SocketEvent};

/// The page's connections. Cloning shares them; the last clone dropped
/// closes every socket.
#[derive(Clone)]
pub struct Connections(Rc<Shared>);

struct Shared {
    supervisor: RefCell<Supervisor<WebSockets>>,
    /// Socket events not yet handed to the supervisor: an event that comes
    /// while it is busy waits here instead of being dropped.
    inbox: RefCell<VecDeque<(Link, SocketEvent)>>,
    /// Supervisor events not yet handed to the owner, in order.
    outbox: RefCell<VecDeque<Event>>,
    /// The owner is being handed events further up the stack: a nested
    /// call only queues, so events arrive in the order they happened.
    dispatching: std::cell::Cell<bool>,
    /// The one timer, and the deadline it is armed for.
    timer: RefCell<Option<(u64, Timeout)>>,
    sink: Box<dyn Fn(Event)>,
}

/// The browser's WebSocket as the supervisor's [`Transport`].
struct WebSockets {
    sockets: HashMap<Link, Socket>,
    shared: Weak<Shared>,
}

impl Transport for WebSockets {
    fn open(&mut self, link: Link, url: &str) -> Result<(), String> {
        let shared = self.shared.clone();
        let handler: Handler = Rc::new(move |event| match shared.upgrade() {
            Some(shared) => deliver(&shared, link, event),
            None => false,
        });
        let socket = Socket::open(url, handler)?;
        self.sockets.insert(link, socket);
        Ok(())
    }

    fn send(&mut self, link: Link, bytes: &[u8]) -> Result<(), String> {
        match self.sockets.get(&link) {
            Some(socket) => socket.send(bytes),
            None => Err("the WebSocket is gone".into()),
        }
    }

    fn close(&mut self, link: Link) {
        if let Some(socket) = self.sockets.remove(&link) {
            // Not from inside one of the socket's own callbacks: after them.
            spawn_local(async move { drop(socket) });
        }
    }
}

impl Connections {
    /// No connections yet; `sink` receives the supervisor's events.
    pub fn new(sink: impl Fn(Event) + 'static) -> Self {
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| Shared {
            supervisor: RefCell::new(Supervisor::new(WebSockets {
                sockets: HashMap::new(),
                shared: weak.clone(),
            })),
            inbox: RefCell::new(VecDeque::new()),
            outbox: RefCell::new(VecDeque::new()),
            dispatching: std::cell::Cell::new(false),
            timer: RefCell::new(None),
            sink: Box::new(sink),
        });
        Self(shared)
    }

    /// Connects `id` (replacing what it was). A URL that cannot work is
    /// refused at once, with the reason.
    pub fn connect(&self, id: ConnectionId, settings: Settings) -> Result<(), Diagnosis> {
        run(&self.0, |s, now| s.connect(id, settings, now))
    }

    /// Disconnects `id` and forgets it.
    pub fn remove(&self, id: ConnectionId) {
        run(&self.0, |s, now| s.remove(id, now));
    }

    /// Disconnects `id`, in whatever state it is.
    pub fn disconnect(&self, id: ConnectionId) {
        run(&self.0, |s, now| s.disconnect(id, now));
    }

    /// Retries a reconnecting connection now.
    pub fn retry_now(&self, id: ConnectionId) {
        run(&self.0, |s, now| s.retry_now(id, now));
    }

    /// The browser went offline or came back.
    pub fn set_online(&self, online: bool) {
        run(&self.0, |s, now| s.set_online(online, now));
    }

    /// Adds filters to `id` (now if connected, else at the next connect).
    pub fn subscribe_more(&self, id: ConnectionId, filters: Vec<SubscribeFilter>) {
        run(&self.0, |s, now| s.subscribe_more(id, now, filters));
    }

    /// Every filter `id` wants: whether the broker is asked for it (not
    /// when another covers it), and its refusal if the broker refused it.
    pub fn subscriptions(
        &self,
        id: ConnectionId,
    ) -> Vec<(SubscribeFilter, bool, Option<connections::ReasonCode>)> {
        self.0
            .supervisor
            .try_borrow()
            .map(|s| s.subscriptions(id))
            .unwrap_or_default()
    }

    /// Removes filters from `id` (now if connected, else at the next
    /// connect).
    pub fn unsubscribe(&self, id: ConnectionId, filters: &[String]) {
        run(&self.0, |s, now| s.unsubscribe(id, now, filters));
    }

    /// Publishes on `id` once it is ready.
    pub fn publish(&self, id: ConnectionId, publish: Publish) -> Result<Option<u16>, SendError> {
        run(&self.0, |s, now| s.publish(id, now, publish))
    }

    /// As [`Connections::publish`], choosing whether it may use a topic
    /// alias.
    pub fn publish_with(
        &self,
        id: ConnectionId,
        publish: Publish,
        alias: connections::TopicAlias,
    ) -> Result<Option<u16>, SendError> {
        run(&self.0, |s, now| s.publish_with(id, now, publish, alias))
    }
}

/// Calls the supervisor, then hands on what it has to say.
fn run<R>(shared: &Rc<Shared>, f: impl FnOnce(&mut Supervisor<WebSockets>, u64) -> R) -> R {
    let result = f(&mut shared.supervisor.borrow_mut(), now_ms());
    drive(shared);
    result
}

/// A socket event: queued, then handled unless the supervisor is busy (its
/// current caller then handles it). Answers whether the link wants more
/// bytes.
fn deliver(shared: &Rc<Shared>, link: Link, event: SocketEvent) -> bool {
    shared.inbox.borrow_mut().push_back((link, event));
    drive(shared);
    shared
        .supervisor
        .try_borrow()
        .map_or(true, |s| s.wants_bytes(link))
}

/// Hands queued socket events to the supervisor, its events to the owner
/// (in order, from the outermost call only), and re-arms the one timer.
fn drive(shared: &Rc<Shared>) {
    loop {
        {
            let Ok(mut supervisor) = shared.supervisor.try_borrow_mut() else {
                // Busy further up the stack: that call handles the inbox.
                return;
            };
            loop {
                let next = shared.inbox.borrow_mut().pop_front();
                let Some((link, event)) = next else { break };
                let now = now_ms();
                match event {
                    SocketEvent::Open => supervisor.handle_opened(link, now),
                    SocketEvent::Data(bytes) => supervisor.handle_bytes(link, now, &bytes),
                    SocketEvent::Closed { code, reason } => {
                        supervisor.handle_closed(link, now, code, &reason)
                    }
                }
            }
            arm_timer(shared, supervisor.poll_timeout());
            let mut outbox = shared.outbox.borrow_mut();
            outbox.extend(std::iter::from_fn(|| supervisor.poll_event()));
        }
        if shared.dispatching.replace(true) {
            return;
        }
        // The owner may call back in (a state query answered by a publish):
        // what that produces queues behind what is being handed on.
        loop {
            let next = shared.outbox.borrow_mut().pop_front();
            let Some(event) = next else { break };
            (shared.sink)(event);
        }
        shared.dispatching.set(false);
        if shared.inbox.borrow().is_empty() {
            return;
        }
    }
}

fn arm_timer(shared: &Rc<Shared>, deadline: Option<u64>) {
    let armed = shared.timer.borrow().as_ref().map(|(at, _)| *at);
    if armed == deadline {
        return;
    }
    let old = shared.timer.borrow_mut().take();
    // Dropping cancels it; but not from inside its own callback.
    if let Some((_, old)) = old {
        spawn_local(async move { drop(old) });
    }
    let Some(deadline) = deadline else { return };
    let delay = deadline.saturating_sub(now_ms()).min(u64::from(u32::MAX)) as u32;
    let weak = Rc::downgrade(shared);
    let timer = Timeout::new(delay, move || {
        if let Some(shared) = weak.upgrade() {
            // This timer is spent: forget it, so the next deadline is armed
            // even if it is the same.
            if let Some((_, spent)) = shared.timer.borrow_mut().take() {
                spawn_local(async move { drop(spent) });
            }
            run(&shared, |s, now| s.handle_timeout(now));
        }
    });
    *shared.timer.borrow_mut() = Some((deadline, timer));
}
