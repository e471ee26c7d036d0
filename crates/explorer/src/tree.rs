//! The topic tree: one node per topic level, with counts that add up the
//! tree, the last messages of each topic and its retained state.
//!
//! The per-message path ([`TopicTree::insert`]) is one hash lookup of the
//! full topic and a walk up the parent links; a topic seen before allocates
//! nothing but the payload copy. Rows for the page ([`TopicTree::rows`]) are
//! built on request, in display order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use mqtt_codec::{Publish, QoS};

use crate::filter::{TextMatch, TopicFilter};
use crate::message::Message;
use crate::nav::Expansion;

/// Index of a node in the tree's arena.
type NodeId = u32;

/// The root: the level above the first, with no name and no row.
const ROOT: NodeId = 0;

/// How many characters of the last payload a [`Row`] previews.
const PREVIEW_CHARS: usize = 80;

/// How many distinct dropped topics are told apart (by a 64-bit hash
/// each, about 1 MiB at most); past that [`TopicTree::dropped_topics`]
/// is a lower bound.
const DROPPED_TOPICS_TRACKED: usize = 65_536;

/// What a [`TopicTree`] keeps at most.
///
/// The bound on payload bytes is `max_nodes * max_payload_bytes` for the
/// last message of each topic plus `max_history_bytes` for older ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Nodes (topic levels) stored; a topic that would need more is counted
    /// in [`TopicTree::dropped_topics`] and not stored.
    pub max_nodes: usize,
    /// Payload bytes kept of each message; the rest is cut.
    pub max_payload_bytes: usize,
    /// Messages kept per topic, the last one included (at least 1).
    pub history_per_topic: usize,
    /// Bytes kept of older messages (all but the last of each topic),
    /// over all topics; beyond it the oldest are evicted first.
    pub max_history_bytes: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        Self {
            max_nodes: 10_000,
            max_payload_bytes: 4096,
            history_per_topic: 10,
            max_history_bytes: 16 << 20,
        }
    }
}

/// One topic level: `b` in `a/b/c`. Its full topic is `a/b`, which may
/// have messages of its own besides those of the topics below it.
#[derive(Debug)]
pub struct Node {
    /// The full topic of this level, shared with the lookup table.
    path: Arc<str>,
    /// Where this level's name starts in `path`.
    name_start: usize,
    /// The level above; the root's is itself.
    parent: NodeId,
    /// The levels below, sorted by name.
    children: Vec<NodeId>,
    /// Messages of this exact topic.
    own_messages: u64,
    subtree_messages: u64,
    subtree_topics: u64,
    retained: bool,
    /// The last messages of this exact topic, oldest first.
    history: VecDeque<Message>,
}

impl Node {
    fn new(path: Arc<str>, name_start: usize, parent: NodeId) -> Self {
        Self {
            path,
            name_start,
            parent,
            children: Vec::new(),
            own_messages: 0,
            subtree_messages: 0,
            subtree_topics: 0,
            retained: false,
            history: VecDeque::new(),
        }
    }

    /// The full topic: `a/b` for the level `b` of `a/b/c`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This level's name: `b` for `a/b`; empty for the empty levels of
    /// `a//b` or `/x`.
    pub fn name(&self) -> &str {
        self.path.get(self.name_start..).unwrap_or_default()
    }

    /// Messages received on this exact topic.
    pub fn messages(&self) -> u64 {
        self.own_messages
    }

    /// Messages received on this topic and every topic below it.
    pub fn subtree_messages(&self) -> u64 {
        self.subtree_messages
    }

    /// Topics with messages, this one included, at or below this level.
    pub fn subtree_topics(&self) -> u64 {
        self.subtree_topics
    }

    /// How many levels are stored directly below this one.
    pub fn children(&self) -> usize {
        self.children.len()
    }

    /// Whether the topic has a retained message, as far as the messages
    /// seen tell: set by a retained message, cleared by a retained message
    /// with an empty payload. A broker forwards a clear to subscribers
    /// already there without the retain flag unless they subscribed with
    /// Retain As Published, so that clear goes unnoticed.
    pub fn retained(&self) -> bool {
        self.retained
    }

    /// The last message of this exact topic.
    pub fn last(&self) -> Option<&Message> {
        self.history.back()
    }

    /// The kept messages of this exact topic, oldest first, the last one
    /// included.
    pub fn history(&self) -> impl DoubleEndedIterator<Item = &Message> + ExactSizeIterator {
        self.history.iter()
    }
}

/// The topics seen, as a tree of levels, with bounded memory.
///
/// Getters take `&self`; [`insert`](Self::insert) and
/// [`clear`](Self::clear) change the tree and move its
/// [`generation`](Self::generation), so a page recomputes its
/// [`rows`](Self::rows) only when that moved (or its [`TreeView`] did).
#[derive(Debug)]
pub struct TopicTree {
    limits: TreeLimits,
    /// The arena; the root at [`ROOT`].
    nodes: Vec<Node>,
    /// Every stored node by its full topic.
    by_topic: HashMap<Arc<str>, NodeId>,
    generation: u64,
    next_seq: u64,
    /// Payload and property bytes of every kept message.
    kept_bytes: usize,
    /// The part of `kept_bytes` in messages that are not their topic's last.
    history_bytes: usize,
    /// How many messages are not their topic's last.
    history_count: usize,
    /// Messages that stopped being their topic's last, in that order, as
    /// (node, seq): what the history budget evicts first. Entries whose
    /// message the topic's own ring already evicted are skipped, and swept
    /// out when they outnumber the live ones.
    superseded: VecDeque<(NodeId, u64)>,
    /// Hashes of the dropped topics, to count each once.
    dropped_seen: HashSet<u64>,
    dropped_topics: u64,
    dropped_messages: u64,
}

impl TopicTree {
    /// An empty tree that keeps at most `limits`.
    pub fn new(limits: TreeLimits) -> Self {
        Self {
            limits,
            nodes: vec![Node::new(Arc::from(""), 0, ROOT)],
            by_topic: HashMap::new(),
            generation: 0,
            next_seq: 0,
            kept_bytes: 0,
            history_bytes: 0,
            history_count: 0,
            superseded: VecDeque::new(),
            dropped_seen: HashSet::new(),
            dropped_topics: 0,
            dropped_messages: 0,
        }
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> TreeLimits {
        self.limits
    }

    /// Changes on every call of a mutator: compare with the value a view
    /// was built at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Nodes (topic levels) stored, at most [`TreeLimits::max_nodes`].
    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Whether no topic is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Topics stored that have messages.
    pub fn topics(&self) -> u64 {
        self.root().subtree_topics
    }

    /// Messages received on stored topics.
    pub fn messages(&self) -> u64 {
        self.root().subtree_messages
    }

    /// Payload and property bytes kept, over all messages.
    pub fn kept_bytes(&self) -> usize {
        self.kept_bytes
    }

    /// Distinct topics not stored because the tree was full. Exact for the
    /// first 65 536 such topics; a lower bound past that.
    pub fn dropped_topics(&self) -> u64 {
        self.dropped_topics
    }

    /// Messages not stored because their topic was not.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// The node of the full topic `topic`, if stored.
    pub fn node(&self, topic: &str) -> Option<&Node> {
        let &id = self.by_topic.get(topic)?;
        self.nodes.get(id as usize)
    }

    /// The last message of `topic`, if it had one.
    pub fn message(&self, topic: &str) -> Option<&Message> {
        self.node(topic)?.last()
    }

    /// Records `publish`, received at `now_ms`: creates its topic's levels
    /// if new (and the tree has room), counts it at its topic and every
    /// level above, and keeps a copy in the topic's history.
    pub fn insert(&mut self, publish: &Publish, now_ms: u64) {
        self.generation += 1;
        let topic = publish.topic.as_str();
        let id = match self.by_topic.get(topic) {
            Some(&id) => id,
            None => match self.add_topic(topic) {
                Some(id) => id,
                None => return self.drop_message(topic),
            },
        };
        let message = Message::copy(
            publish,
            self.next_seq,
            now_ms,
            self.limits.max_payload_bytes,
        );
        self.next_seq += 1;
        let node = &mut self.nodes[id as usize];
        let first = node.own_messages == 0;
        node.own_messages += 1;
        // A retained message with an empty payload clears the topic's:
        // "If the Payload contains zero bytes it is processed normally by
        // the Server but any retained message with the same topic name MUST
        // be removed" (MQTT 5 §3.3.1.3, [MQTT-3.3.1-6]).
        if publish.retain {
            node.retained = !publish.payload.is_empty();
        }
        self.keep(id, message);
        let mut at = id;
        loop {
            let node = &mut self.nodes[at as usize];
            node.subtree_messages += 1;
            node.subtree_topics += u64::from(first);
            if at == ROOT {
                break;
            }
            at = node.parent;
        }
    }

    /// Records that `topic`'s retained message is gone without a message
    /// saying so: a client that cleared it learns it from its own publish,
    /// since brokers pass the clearing message on to subscribers without
    /// its retain flag (unless they asked for it as published). Counts
    /// nothing; false if `topic` is not stored.
    pub fn forget_retained(&mut self, topic: &str) -> bool {
        let Some(&id) = self.by_topic.get(topic) else {
            return false;
        };
        self.nodes[id as usize].retained = false;
        self.generation += 1;
        true
    }

    /// Forgets every topic and message, and the dropped counts.
    pub fn clear(&mut self) {
        let generation = self.generation + 1;
        *self = Self::new(self.limits);
        self.generation = generation;
    }

    /// The full topics with a retained message at or below `under` (every
    /// stored topic for `None`), in display order: what "clear retained
    /// messages here" publishes an empty retained message to.
    pub fn retained_topics(&self, under: Option<&str>) -> Vec<String> {
        let start = match under {
            None => ROOT,
            Some(topic) => match self.by_topic.get(topic) {
                Some(&id) => id,
                None => return Vec::new(),
            },
        };
        let mut found = Vec::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id as usize];
            if node.retained {
                found.push(node.path().to_owned());
            }
            stack.extend(node.children.iter().rev());
        }
        found
    }

    /// The rows to show for `view`, in display order (children sorted by
    /// name), at most `max_rows` of them; `more` counts the rest.
    ///
    /// Without a filter, the top levels show, and the children of every
    /// expanded level. With a text or topic filter (or both, which must
    /// both match), every level whose full topic matches shows with the
    /// levels above it, all expanded, whatever `view.expanded` says. The
    /// text matches anywhere in the full topic, ignoring case.
    pub fn rows(&self, view: &TreeView, max_rows: usize) -> Rows {
        let shown = view.is_filtered().then(|| self.matching(view));
        let visible = |id: &NodeId| shown.as_ref().is_none_or(|s| s[*id as usize]);
        let mut rows = Rows::default();
        let mut stack: Vec<(NodeId, usize)> = self
            .root()
            .children
            .iter()
            .rev()
            .filter(|&id| visible(id))
            .map(|&id| (id, 0))
            .collect();
        while let Some((id, depth)) = stack.pop() {
            let node = &self.nodes[id as usize];
            let (has_children, expanded) = match &shown {
                None => {
                    let has = !node.children.is_empty();
                    (has, has && view.expanded.contains(node.path()))
                }
                Some(shown) => {
                    let any = node.children.iter().any(|&c| shown[c as usize]);
                    (any, any)
                }
            };
            if rows.rows.len() < max_rows {
                rows.rows.push(row(node, depth, has_children, expanded));
            } else {
                rows.more += 1;
            }
            if expanded {
                let children = node.children.iter().rev().filter(|&id| visible(id));
                stack.extend(children.map(|&child| (child, depth + 1)));
            }
        }
        rows
    }

    /// Per node, whether a filtered view shows it: it matches, or a node
    /// below it does.
    fn matching(&self, view: &TreeView) -> Vec<bool> {
        let text = TextMatch::new(&view.filter_text);
        let mut shown = vec![false; self.nodes.len()];
        shown[ROOT as usize] = true;
        for (id, node) in self.nodes.iter().enumerate().skip(1) {
            let path = node.path();
            let hit = view.filter.as_ref().is_none_or(|f| f.matches(path))
                && text.matches(path.as_bytes());
            let mut at = id;
            while hit && !shown[at] {
                shown[at] = true;
                at = self.nodes[at].parent as usize;
            }
        }
        shown
    }

    /// The level above the top levels, whose counts are the tree's.
    fn root(&self) -> &Node {
        &self.nodes[ROOT as usize]
    }

    /// Stores the levels of `topic` not stored yet, if they fit.
    fn add_topic(&mut self, topic: &str) -> Option<NodeId> {
        let stored = self.len();
        if stored >= self.limits.max_nodes {
            return None;
        }
        // The deepest stored level above `topic`, and where its new levels
        // start.
        let (mut parent, mut start) = topic
            .rmatch_indices('/')
            .find_map(|(i, _)| self.by_topic.get(&topic[..i]).map(|&id| (id, i + 1)))
            .unwrap_or((ROOT, 0));
        let new_levels = 1 + topic[start..].bytes().filter(|&b| b == b'/').count();
        if stored + new_levels > self.limits.max_nodes
            || self.nodes.len() + new_levels > NodeId::MAX as usize
        {
            return None;
        }
        loop {
            let end = topic[start..].find('/').map_or(topic.len(), |i| start + i);
            let path: Arc<str> = Arc::from(&topic[..end]);
            let id = self.nodes.len() as NodeId;
            self.nodes.push(Node::new(path.clone(), start, parent));
            self.by_topic.insert(path, id);
            let nodes = &self.nodes;
            let name = &topic[start..end];
            let siblings = &nodes[parent as usize].children;
            let at = siblings
                .binary_search_by(|&c| nodes[c as usize].name().cmp(name))
                .unwrap_or_else(|at| at);
            self.nodes[parent as usize].children.insert(at, id);
            if end == topic.len() {
                return Some(id);
            }
            parent = id;
            start = end + 1;
        }
    }

    /// Counts a message whose topic is not stored.
    fn drop_message(&mut self, topic: &str) {
        self.dropped_messages += 1;
        if self.dropped_seen.len() < DROPPED_TOPICS_TRACKED {
            let hash = self.by_topic.hasher().hash_one(topic);
            if self.dropped_seen.insert(hash) {
                self.dropped_topics += 1;
            }
        }
    }

    /// Appends `message` to the history of `id`, evicting what the limits
    /// say.
    fn keep(&mut self, id: NodeId, message: Message) {
        let node = &mut self.nodes[id as usize];
        if let Some(previous) = node.history.back() {
            self.history_bytes += previous.kept_bytes();
            self.history_count += 1;
            self.superseded.push_back((id, previous.seq));
        }
        self.kept_bytes += message.kept_bytes();
        node.history.push_back(message);
        if node.history.len() > self.limits.history_per_topic.max(1) {
            if let Some(old) = node.history.pop_front() {
                self.forget(&old);
            }
        }
        while self.history_bytes > self.limits.max_history_bytes {
            let Some((id, seq)) = self.superseded.pop_front() else {
                break;
            };
            let history = &mut self.nodes[id as usize].history;
            if history.len() > 1 && history.front().is_some_and(|m| m.seq == seq) {
                if let Some(old) = history.pop_front() {
                    self.forget(&old);
                }
            }
        }
        if self.superseded.len() > 2 * self.history_count + 64 {
            let nodes = &self.nodes;
            self.superseded.retain(|&(id, seq)| {
                let front = nodes[id as usize].history.front();
                front.is_some_and(|m| m.seq <= seq)
            });
        }
    }

    /// Accounts for an evicted message that was not its topic's last.
    fn forget(&mut self, old: &Message) {
        let bytes = old.kept_bytes();
        self.kept_bytes -= bytes;
        self.history_bytes -= bytes;
        self.history_count -= 1;
    }
}

impl Default for TopicTree {
    fn default() -> Self {
        Self::new(TreeLimits::default())
    }
}

/// The row of `node`.
fn row(node: &Node, depth: usize, has_children: bool, expanded: bool) -> Row {
    let last = node.last();
    Row {
        path: node.path().to_owned(),
        name: node.name().to_owned(),
        depth,
        has_children,
        expanded,
        messages: node.own_messages,
        subtree_messages: node.subtree_messages,
        topics: node.subtree_topics,
        preview: last.map_or_else(String::new, |m| m.preview(PREVIEW_CHARS)),
        retained: node.retained,
        qos: last.map(|m| m.qos),
        time_ms: last.map(|m| m.time_ms),
    }
}

/// How the page looks at the tree: which levels are open, and what
/// narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeView {
    /// Full topics of the expanded levels.
    pub expanded: HashSet<String>,
    /// Text the full topic must contain, ignoring case; empty for none.
    pub filter_text: String,
    /// A topic filter the full topic must match.
    pub filter: Option<TopicFilter>,
}

impl TreeView {
    /// Applies an expansion change, as [`navigate`](crate::navigate)
    /// returns.
    pub fn apply(&mut self, change: &Expansion) {
        match change {
            Expansion::Expand(path) => {
                self.expanded.insert(path.clone());
            }
            Expansion::Collapse(path) => {
                self.expanded.remove(path);
            }
        }
    }

    /// Whether a text or topic filter is set.
    fn is_filtered(&self) -> bool {
        self.filter.is_some() || !self.filter_text.is_empty()
    }
}

/// The rows of a tree view: those shown, and how many more there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    /// At most the rows asked for, in display order.
    pub rows: Vec<Row>,
    /// Rows beyond those.
    pub more: usize,
}

/// One line of the tree: a level, its counts and a preview of its last
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Full topic: the row's key.
    pub path: String,
    /// The level's name (may be empty).
    pub name: String,
    /// 0 for a top level.
    pub depth: usize,
    /// Whether there are levels below it (with a filter: shown ones).
    pub has_children: bool,
    /// Whether the levels below it are shown.
    pub expanded: bool,
    /// Messages on this exact topic.
    pub messages: u64,
    /// Messages on this topic and below.
    pub subtree_messages: u64,
    /// Topics with messages, at or below this level.
    pub topics: u64,
    /// The last payload's first 80 characters, or `"N bytes binary"`; see
    /// [`Message::preview`].
    pub preview: String,
    /// Whether the topic has a retained message; see [`Node::retained`].
    pub retained: bool,
    /// The last message's QoS; `None` without messages.
    pub qos: Option<QoS>,
    /// When the last message arrived; `None` without messages.
    pub time_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(topic: &str, payload: &[u8]) -> Publish {
        Publish::new(topic, payload.to_vec())
    }

    fn retained(topic: &str, payload: &[u8]) -> Publish {
        let mut p = publish(topic, payload);
        p.retain = true;
        p
    }

    fn tree_of(topics: &[&str]) -> TopicTree {
        let mut tree = TopicTree::default();
        for (i, topic) in topics.iter().enumerate() {
            tree.insert(&publish(topic, b"x"), i as u64);
        }
        tree
    }

    /// The rows as "  name" lines, indented by depth, `+`/`-` for closed
    /// and open levels.
    fn outline(rows: &Rows) -> Vec<String> {
        rows.rows
            .iter()
            .map(|r| {
                let mark = match (r.has_children, r.expanded) {
                    (false, _) => " ",
                    (true, false) => "+",
                    (true, true) => "-",
                };
                format!("{}{mark}{}", "  ".repeat(r.depth), r.name)
            })
            .collect()
    }

    fn expanded(paths: &[&str]) -> TreeView {
        TreeView {
            expanded: paths.iter().map(|p| p.to_string()).collect(),
            ..TreeView::default()
        }
    }

    #[test]
    fn counts_add_up_the_levels() {
        let mut tree = TopicTree::default();
        tree.insert(&publish("a/b/c", b"1"), 1);
        tree.insert(&publish("a/b/c", b"2"), 2);
        tree.insert(&publish("a/b", b"3"), 3);
        tree.insert(&publish("a/d", b"4"), 4);
        let count = |topic: &str| {
            let n = tree.node(topic).unwrap();
            (n.messages(), n.subtree_messages(), n.subtree_topics())
        };
        assert_eq!(count("a/b/c"), (2, 2, 1));
        assert_eq!(count("a/b"), (1, 3, 2));
        assert_eq!(count("a/d"), (1, 1, 1));
        assert_eq!(count("a"), (0, 4, 3));
        assert_eq!((tree.len(), tree.topics(), tree.messages()), (4, 3, 4));
        assert_eq!(tree.node("a").unwrap().children(), 2);
        assert_eq!(tree.node("a/b").unwrap().name(), "b");
        assert_eq!(tree.message("a/b/c").unwrap().payload, &b"2"[..]);
        assert_eq!(tree.message("a/b/c").unwrap().time_ms, 2);
        assert!(tree.message("a").is_none());
        assert!(tree.node("a/b/c/d").is_none());
    }

    #[test]
    fn empty_levels_are_levels() {
        let tree = tree_of(&["a//b", "/x", "a/", "/"]);
        // "/x" and "/" share their first level, the empty one at "".
        let first = tree.node("").unwrap();
        assert_eq!((first.name(), first.subtree_messages()), ("", 2));
        assert_eq!(tree.node("/x").unwrap().name(), "x");
        assert_eq!(tree.node("/").unwrap().name(), "");
        let a_empty = tree.node("a/").unwrap();
        assert_eq!((a_empty.messages(), a_empty.subtree_messages()), (1, 2));
        assert_eq!(tree.node("a//b").unwrap().name(), "b");
        assert_eq!(tree.len(), 6);
        let view = expanded(&["", "a", "a/"]);
        assert_eq!(
            outline(&tree.rows(&view, 100)),
            ["-", "   ", "   x", "-a", "  -", "     b"]
        );
    }

    #[test]
    fn sys_topics_are_ordinary_nodes() {
        let tree = tree_of(&["$SYS/broker/uptime", "$SYS/broker/clients/total", "a"]);
        assert_eq!(tree.node("$SYS").unwrap().subtree_topics(), 2);
        assert_eq!(tree.node("$SYS/broker").unwrap().children(), 2);
        let rows = tree.rows(&TreeView::default(), 10);
        assert_eq!(outline(&rows), ["+$SYS", " a"]);
    }

    #[test]
    fn beyond_the_node_cap_topics_are_counted_not_stored() {
        let mut tree = TopicTree::new(TreeLimits {
            max_nodes: 3,
            ..TreeLimits::default()
        });
        tree.insert(&publish("a/b", b""), 0);
        // Needs two more levels, one fits: the whole topic is dropped.
        tree.insert(&publish("c/d", b""), 0);
        tree.insert(&publish("c/d", b""), 0);
        assert_eq!(tree.len(), 2);
        assert!(tree.node("c").is_none());
        // One level fits.
        tree.insert(&publish("a/e", b""), 0);
        tree.insert(&publish("a/f", b""), 0);
        tree.insert(&publish("a/b", b""), 0);
        assert_eq!(tree.len(), 3);
        assert_eq!((tree.dropped_topics(), tree.dropped_messages()), (2, 3));
        assert_eq!(tree.messages(), 3);
        let generation = tree.generation();
        tree.clear();
        assert!(tree.generation() > generation);
        assert_eq!(
            (tree.len(), tree.dropped_topics(), tree.messages()),
            (0, 0, 0)
        );
        tree.insert(&publish("c/d", b""), 0);
        assert_eq!(tree.len(), 2);
    }

    #[test]
    fn history_keeps_the_last_messages_of_a_topic() {
        let mut tree = TopicTree::new(TreeLimits {
            history_per_topic: 3,
            ..TreeLimits::default()
        });
        for i in 0..10u8 {
            tree.insert(&publish("t", &[i]), u64::from(i));
        }
        let node = tree.node("t").unwrap();
        let kept: Vec<u8> = node.history().map(|m| m.payload[0]).collect();
        assert_eq!(kept, [7, 8, 9]);
        assert_eq!(node.messages(), 10);
        assert_eq!(tree.kept_bytes(), 3);
        // At least the last is kept.
        let mut tree = TopicTree::new(TreeLimits {
            history_per_topic: 0,
            ..TreeLimits::default()
        });
        tree.insert(&publish("t", b"1"), 0);
        tree.insert(&publish("t", b"2"), 0);
        assert_eq!(tree.node("t").unwrap().history().len(), 1);
        assert_eq!(tree.kept_bytes(), 1);
    }

    #[test]
    fn the_history_budget_evicts_the_oldest_history_first_never_a_last() {
        let mut tree = TopicTree::new(TreeLimits {
            max_history_bytes: 25,
            max_payload_bytes: 10,
            ..TreeLimits::default()
        });
        for topic in ["a", "b", "a", "b", "a", "b"] {
            tree.insert(&publish(topic, &[0; 10]), 0);
        }
        // Four older messages of 10 bytes, a budget of 25: the two oldest go.
        assert_eq!(tree.node("a").unwrap().history().len(), 2);
        assert_eq!(tree.node("b").unwrap().history().len(), 2);
        assert_eq!(tree.kept_bytes(), 40);
        // A budget of 0 keeps only the lasts.
        let mut tree = TopicTree::new(TreeLimits {
            max_history_bytes: 0,
            ..TreeLimits::default()
        });
        for _ in 0..5 {
            tree.insert(&publish("a", b"abc"), 0);
            tree.insert(&publish("b", b"abc"), 0);
        }
        assert_eq!(tree.node("a").unwrap().history().len(), 1);
        assert_eq!(tree.kept_bytes(), 6);
    }

    #[test]
    fn payloads_are_cut_and_remember_their_length() {
        let mut tree = TopicTree::new(TreeLimits {
            max_payload_bytes: 4,
            ..TreeLimits::default()
        });
        tree.insert(&publish("t", b"0123456789"), 0);
        let message = tree.message("t").unwrap();
        assert_eq!(message.payload, &b"0123"[..]);
        assert_eq!(message.payload_len, 10);
        assert!(message.is_truncated());
        assert_eq!(tree.rows(&TreeView::default(), 1).rows[0].preview, "0123…");
    }

    #[test]
    fn the_retained_marker_follows_retained_messages() {
        let mut tree = TopicTree::default();
        tree.insert(&retained("a/b", b"on"), 0);
        tree.insert(&retained("a/c", b"on"), 0);
        tree.insert(&retained("x", b"1"), 0);
        assert!(tree.node("a/b").unwrap().retained());
        // A live message leaves it; an empty retained one clears it.
        tree.insert(&publish("a/b", b"off"), 0);
        assert!(tree.node("a/b").unwrap().retained());
        assert_eq!(tree.retained_topics(Some("a")), ["a/b", "a/c"]);
        assert_eq!(tree.retained_topics(None), ["a/b", "a/c", "x"]);
        tree.insert(&retained("a/b", b""), 0);
        assert!(!tree.node("a/b").unwrap().retained());
        assert_eq!(tree.retained_topics(Some("a")), ["a/c"]);
        assert_eq!(tree.retained_topics(Some("a/c")), ["a/c"]);
        assert!(tree.retained_topics(Some("nope")).is_empty());
        let row = &tree.rows(&expanded(&["a"]), 10).rows[2];
        assert_eq!((row.path.as_str(), row.retained), ("a/c", true));

        // Cleared by this client: the marker goes, the counts stay.
        let generation = tree.generation();
        assert!(tree.forget_retained("a/c"));
        assert!(!tree.node("a/c").unwrap().retained());
        assert_eq!(tree.node("a/c").unwrap().messages(), 1);
        assert!(tree.generation() > generation);
        assert!(!tree.forget_retained("nope"));
    }

    #[test]
    fn rows_show_the_children_of_expanded_levels_sorted() {
        let tree = tree_of(&["b/2", "a/z", "b/1/x", "a/y", "c"]);
        assert_eq!(
            outline(&tree.rows(&TreeView::default(), 10)),
            ["+a", "+b", " c"]
        );
        assert_eq!(
            outline(&tree.rows(&expanded(&["b", "b/1"]), 10)),
            ["+a", "-b", "  -1", "     x", "   2", " c"]
        );
        // Expanding a level under a closed one shows nothing of it.
        assert_eq!(
            outline(&tree.rows(&expanded(&["b/1"]), 10)),
            ["+a", "+b", " c"]
        );
        let rows = tree.rows(&expanded(&["a", "b", "b/1"]), 4);
        assert_eq!(outline(&rows), ["-a", "   y", "   z", "-b"]);
        assert_eq!(rows.more, 4);
        let row = &rows.rows[1];
        assert_eq!(row.path, "a/y");
        assert_eq!((row.messages, row.subtree_messages, row.topics), (1, 1, 1));
        assert_eq!((row.qos, row.time_ms), (Some(QoS::AtMostOnce), Some(3)));
        assert_eq!(row.preview, "x");
        let a = &rows.rows[0];
        assert_eq!((a.messages, a.subtree_messages, a.topics), (0, 2, 2));
        assert_eq!((a.qos, a.time_ms, a.preview.as_str()), (None, None, ""));
    }

    #[test]
    fn a_text_filter_shows_matches_with_their_ancestors() {
        let tree = tree_of(&["home/kitchen/plug", "home/hall/lamp", "office/PLUG2", "x"]);
        let view = TreeView {
            filter_text: "plug".into(),
            ..TreeView::default()
        };
        assert_eq!(
            outline(&tree.rows(&view, 10)),
            ["-home", "  -kitchen", "     plug", "-office", "   PLUG2"]
        );
        // Matching levels show their matching children: "kitchen" matches
        // and so does everything below it.
        let view = TreeView {
            filter_text: "KITCHEN".into(),
            ..TreeView::default()
        };
        assert_eq!(
            outline(&tree.rows(&view, 10)),
            ["-home", "  -kitchen", "     plug"]
        );
        let view = TreeView {
            filter_text: "nothing".into(),
            ..TreeView::default()
        };
        assert_eq!(tree.rows(&view, 10), Rows::default());
    }

    #[test]
    fn a_topic_filter_shows_matches_with_their_ancestors() {
        let tree = tree_of(&[
            "stat/plug1/POWER",
            "stat/plug1/RESULT",
            "stat/plug2/POWER",
            "tele/plug1/STATE",
            "$SYS/broker/uptime",
        ]);
        let filtered = |filter: &str| {
            let view = TreeView {
                filter: Some(TopicFilter::new(filter).unwrap()),
                ..TreeView::default()
            };
            outline(&tree.rows(&view, 10))
        };
        assert_eq!(
            filtered("stat/+/POWER"),
            ["-stat", "  -plug1", "     POWER", "  -plug2", "     POWER"]
        );
        // "#" matches its parent level too, and never $SYS.
        assert_eq!(filtered("tele/#"), ["-tele", "  -plug1", "     STATE"]);
        assert_eq!(filtered("+"), [" stat", " tele"]);
        assert_eq!(filtered("#").len(), 9);
        assert_eq!(filtered("$SYS/#"), ["-$SYS", "  -broker", "     uptime"]);
        // Both filters: both must match.
        let view = TreeView {
            filter: Some(TopicFilter::new("+/plug1/#").unwrap()),
            filter_text: "state".into(),
            ..TreeView::default()
        };
        assert_eq!(
            outline(&tree.rows(&view, 10)),
            ["-tele", "  -plug1", "     STATE"]
        );
    }

    #[test]
    fn a_million_messages_over_twenty_thousand_topics_stay_bounded() {
        let limits = TreeLimits {
            max_nodes: 1_000,
            max_payload_bytes: 64,
            history_per_topic: 10,
            max_history_bytes: 64 << 10,
        };
        let mut tree = TopicTree::new(limits);
        let publishes: Vec<Publish> = (0..20_000)
            .map(|i| publish(&format!("site/{}/dev{i}", i % 10), &[b'x'; 100]))
            .collect();
        for n in 0..1_000_000u64 {
            tree.insert(&publishes[(n % 20_000) as usize], n);
        }
        assert_eq!(tree.len(), 1_000);
        // "site", ten sites, and the devices that fit.
        assert_eq!(tree.topics(), 989);
        assert_eq!(tree.dropped_topics(), 20_000 - 989);
        assert_eq!(tree.messages() + tree.dropped_messages(), 1_000_000);
        let lasts = 989 * 64;
        assert!(tree.kept_bytes() <= lasts + limits.max_history_bytes);
        assert!(tree.kept_bytes() >= lasts);
        assert!(tree.superseded.len() <= 2 * tree.history_count + 64);
        assert!(tree.dropped_seen.len() <= DROPPED_TOPICS_TRACKED);
    }
}
