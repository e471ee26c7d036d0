//! Keyboard navigation of the tree's rows, as a plain function: the page
//! binds keys to [`navigate`] and applies what it returns.

use crate::tree::Row;

/// A navigation key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The row above.
    Up,
    /// The row below.
    Down,
    /// Collapse an expanded row, else go to its parent.
    Left,
    /// Expand a collapsed row, else go to its first child.
    Right,
    /// The first row.
    Home,
    /// The last row.
    End,
}

/// A level to open or close, by full topic; see
/// [`TreeView::apply`](crate::TreeView::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// Show the levels below.
    Expand(String),
    /// Hide the levels below.
    Collapse(String),
}

/// What a key does: the row to focus, and a level to open or close.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Navigation {
    /// The full topic of the row to focus; `None` when there are no rows.
    pub focus: Option<String>,
    /// The expansion change, if any.
    pub change: Option<Expansion>,
}

/// What `key` does on `rows` (as [`TopicTree::rows`](crate::TopicTree::rows)
/// returned them) when the row of full topic `focus` has the focus.
///
/// Without a focus, every key but `End` and `Up` focuses the first row.
/// When the focused row is no longer shown (a level above it was closed),
/// the nearest shown level above it takes the focus first. With a filter,
/// rows are expanded by the filter: a `Collapse` then changes nothing the
/// page shows, so a page may go to the parent instead.
pub fn navigate(rows: &[Row], focus: Option<&str>, key: Key) -> Navigation {
    let Some(last) = rows.len().checked_sub(1) else {
        return Navigation::default();
    };
    let Some(at) = focus.and_then(|focus| position(rows, focus)) else {
        let at = if matches!(key, Key::End | Key::Up) {
            last
        } else {
            0
        };
        return go(rows, at);
    };
    if focus != Some(rows[at].path.as_str()) {
        // The focused row is gone: its shown ancestor first.
        return go(rows, at);
    }
    let row = &rows[at];
    match key {
        Key::Up => go(rows, at.saturating_sub(1)),
        Key::Down => go(rows, (at + 1).min(last)),
        Key::Home => go(rows, 0),
        Key::End => go(rows, last),
        Key::Left if row.has_children && row.expanded => {
            change(row, Expansion::Collapse(row.path.clone()))
        }
        Key::Left => {
            let parent = rows[..at].iter().rposition(|r| r.depth < row.depth);
            go(rows, parent.unwrap_or(at))
        }
        Key::Right if row.has_children && !row.expanded => {
            change(row, Expansion::Expand(row.path.clone()))
        }
        Key::Right => match rows.get(at + 1) {
            Some(next) if next.depth > row.depth => go(rows, at + 1),
            _ => go(rows, at),
        },
    }
}

/// The row of `focus`, or else of its nearest ancestor that is shown.
fn position(rows: &[Row], focus: &str) -> Option<usize> {
    let mut path = focus;
    loop {
        if let Some(at) = rows.iter().position(|r| r.path == path) {
            return Some(at);
        }
        path = &path[..path.rfind('/')?];
    }
}

fn go(rows: &[Row], at: usize) -> Navigation {
    Navigation {
        focus: rows.get(at).map(|r| r.path.clone()),
        change: None,
    }
}

fn change(row: &Row, change: Expansion) -> Navigation {
    Navigation {
        focus: Some(row.path.clone()),
        change: Some(change),
    }
}

#[cfg(test)]
mod tests {
    use mqtt_codec::Publish;

    use super::*;
    use crate::{TopicTree, TreeView};

    /// a, a/x, a/y, b, b/z with the given levels expanded.
    fn fixture() -> TopicTree {
        let mut tree = TopicTree::default();
        for topic in ["a/x", "a/y", "b/z"] {
            tree.insert(&Publish::new(topic, "1"), 0);
        }
        tree
    }

    fn rows(tree: &TopicTree, view: &TreeView) -> Vec<Row> {
        tree.rows(view, 100).rows
    }

    fn press(rows: &[Row], focus: Option<&str>, key: Key) -> (Option<String>, Option<Expansion>) {
        let nav = navigate(rows, focus, key);
        (nav.focus, nav.change)
    }

    fn to(path: &str) -> (Option<String>, Option<Expansion>) {
        (Some(path.to_owned()), None)
    }

    #[test]
    fn up_down_home_end_move_and_stop_at_the_ends() {
        let tree = fixture();
        let mut view = TreeView::default();
        view.apply(&Expansion::Expand("a".into()));
        let rows = rows(&tree, &view);
        assert_eq!(press(&rows, Some("a"), Key::Down), to("a/x"));
        assert_eq!(press(&rows, Some("a/y"), Key::Down), to("b"));
        assert_eq!(press(&rows, Some("b"), Key::Down), to("b"));
        assert_eq!(press(&rows, Some("a/x"), Key::Up), to("a"));
        assert_eq!(press(&rows, Some("a"), Key::Up), to("a"));
        assert_eq!(press(&rows, Some("a/x"), Key::Home), to("a"));
        assert_eq!(press(&rows, Some("a/x"), Key::End), to("b"));
        assert_eq!(press(&rows, None, Key::Down), to("a"));
        assert_eq!(press(&rows, None, Key::End), to("b"));
        assert_eq!(press(&[], None, Key::Down), (None, None));
    }

    #[test]
    fn left_collapses_then_goes_to_the_parent() {
        let tree = fixture();
        let mut view = TreeView::default();
        view.apply(&Expansion::Expand("a".into()));
        let rows = rows(&tree, &view);
        assert_eq!(press(&rows, Some("a/y"), Key::Left), to("a"));
        let collapse = press(&rows, Some("a"), Key::Left);
        assert_eq!(
            collapse,
            (Some("a".into()), Some(Expansion::Collapse("a".into())))
        );
        view.apply(&collapse.1.unwrap());
        assert!(view.expanded.is_empty());
        // A top level has no parent.
        assert_eq!(press(&rows, Some("b"), Key::Left), to("b"));
    }

    #[test]
    fn right_expands_then_goes_to_the_first_child() {
        let tree = fixture();
        let mut view = TreeView::default();
        let before = rows(&tree, &view);
        let expand = press(&before, Some("b"), Key::Right);
        assert_eq!(
            expand,
            (Some("b".into()), Some(Expansion::Expand("b".into())))
        );
        view.apply(&expand.1.unwrap());
        let after = rows(&tree, &view);
        assert_eq!(press(&after, Some("b"), Key::Right), to("b/z"));
        // A leaf stays.
        assert_eq!(press(&after, Some("b/z"), Key::Right), to("b/z"));
    }

    #[test]
    fn a_hidden_focus_moves_to_its_shown_ancestor() {
        let tree = fixture();
        let rows = rows(&tree, &TreeView::default());
        assert_eq!(press(&rows, Some("a/x"), Key::Down), to("a"));
        assert_eq!(press(&rows, Some("gone/away"), Key::Down), to("a"));
    }
}
