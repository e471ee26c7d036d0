//! Topic names, topic filters, and matching one against the other (§4.7).
//!
//! Shared by the client (to route messages to subscriptions) and the app
//! (to route messages to device adapters), so both agree on every edge case.

/// Whether `name` may be used as the topic of a PUBLISH.
///
/// "All Topic Names and Topic Filters MUST be at least one character long"
/// [MQTT-4.7.3-1]; "The wildcard characters can be used in Topic Filters, but
/// MUST NOT be used within a Topic Name" [MQTT-4.7.1-1]; "Topic Names and
/// Topic Filters MUST NOT include the null character" [MQTT-4.7.3-2].
pub fn is_valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= usize::from(u16::MAX)
        && !crate::scan::has_wildcard_or_nul(name.as_bytes())
}

/// Whether `filter` may be used in a SUBSCRIBE.
///
/// "The multi-level wildcard character MUST be specified either on its own or
/// following a topic level separator. In either case it MUST be the last
/// character specified in the Topic Filter" [MQTT-4.7.1-2]; "The single-level
/// wildcard can be used at any level in the Topic Filter, including first and
/// last levels. Where it is used it MUST occupy an entire level of the
/// filter" [MQTT-4.7.1-3].
pub fn is_valid_topic_filter(filter: &str) -> bool {
    if filter.is_empty()
        || crate::scan::has_nul(filter.as_bytes())
        || filter.len() > usize::from(u16::MAX)
    {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        match level {
            "#" if last => {}
            "+" => {}
            _ if level.contains(['+', '#']) => return false,
            _ => {}
        }
    }
    true
}

/// Whether the topic name `topic` matches the topic filter `filter`.
///
/// Both are assumed valid. "The Server MUST NOT match Topic Filters starting
/// with a wildcard character (# or +) with Topic Names beginning with a $
/// character" [MQTT-4.7.2-1].
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            // "#" also matches the parent level: "sport/#" matches "sport".
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether every topic the filter `inner` matches is also matched by the
/// filter `outer` (so a subscription to `outer` makes one to `inner`
/// redundant): `#` covers `stat/+/POWER`, `a/#` covers `a` and `a/+`,
/// `+/b` covers `x/b`.
///
/// Both are assumed valid. Filters that may match `$` topics are covered
/// only by filters that do (a leading wildcard does not, [MQTT-4.7.2-1]);
/// a shared subscription (`$share/…`) covers and is covered only by itself,
/// as the server delivers its messages to one member of a group.
pub fn covers(outer: &str, inner: &str) -> bool {
    if outer == inner {
        return true;
    }
    if outer.starts_with("$share/") || inner.starts_with("$share/") {
        return false;
    }
    if outer.starts_with(['+', '#']) && inner.starts_with('$') {
        return false;
    }
    let mut outer_levels = outer.split('/');
    let mut inner_levels = inner.split('/');
    loop {
        match (outer_levels.next(), inner_levels.next()) {
            // "#" also matches the parent level: "a/#" covers "a".
            (Some("#"), _) => return true,
            (Some("+"), Some(level)) if level != "#" => {}
            (Some(o), Some(i)) if o == i && o != "+" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_filter_covering_another() {
        let covering = [
            ("#", "stat/+/POWER"),
            ("#", "+"),
            ("#", "#"),
            ("a/#", "a"),
            ("a/#", "a/+"),
            ("a/#", "a/b/#"),
            ("+/b", "x/b"),
            ("+/b", "+/b"),
            ("+/+", "a/+"),
            ("$SYS/#", "$SYS/broker/load"),
            ("a//b", "a//b"),
        ];
        for (outer, inner) in covering {
            assert!(covers(outer, inner), "{outer} covers {inner}");
        }
        let not_covering = [
            ("a/+", "a/#"),
            ("a/+", "a"),
            ("+", "a/b"),
            ("a/b", "a/+"),
            ("#", "$SYS/#"),
            ("+/broker", "$SYS/broker"),
            ("#", "$share/g/a"),
            ("$share/g/#", "a"),
            ("a/+/c", "a/b/d"),
            ("a/b", "a/b/c"),
            ("a//b", "a/b"),
        ];
        for (outer, inner) in not_covering {
            assert!(!covers(outer, inner), "{outer} does not cover {inner}");
        }
    }

    /// What `covers` claims, `matches` agrees with on every topic tried.
    #[test]
    fn covering_agrees_with_matching() {
        let filters = [
            "#", "+", "a", "a/#", "a/+", "+/b", "a/b", "a/b/#", "+/+", "$SYS/#", "a//b", "/#",
        ];
        let topics = [
            "a", "a/b", "a/c", "x/b", "a/b/c", "$SYS/x", "a//b", "/", "/a", "b",
        ];
        for outer in filters {
            for inner in filters {
                if covers(outer, inner) {
                    for topic in topics {
                        assert!(
                            !matches(inner, topic) || matches(outer, topic),
                            "{outer} covers {inner} but misses {topic}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn topic_names() {
        assert!(is_valid_topic_name("stat/plug/POWER"));
        assert!(is_valid_topic_name("/"));
        assert!(is_valid_topic_name("$SYS/broker"));
        assert!(!is_valid_topic_name(""));
        assert!(!is_valid_topic_name("stat/+/POWER"));
        assert!(!is_valid_topic_name("stat/#"));
        assert!(!is_valid_topic_name("a\0b"));
    }

    #[test]
    fn topic_filters() {
        for ok in [
            "#",
            "+",
            "a/#",
            "+/+",
            "a/+/b",
            "/+",
            "a//b",
            "+/tennis/#",
            "sport/",
        ] {
            assert!(is_valid_topic_filter(ok), "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "a+", "a/b+/c", "#/", "##", "a\0"] {
            assert!(!is_valid_topic_filter(bad), "{bad}");
        }
    }

    // The examples of §4.7.1.2, §4.7.1.3 and §4.7.2.
    #[test]
    fn spec_matching_examples() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
                true,
            ),
            ("sport/#", "sport", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/broker", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/monitor/Clients", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("stat/+/POWER", "stat/plug1/POWER", true),
            ("stat/+/POWER", "stat/plug1/POWER1", false),
        ];
        for (filter, topic, expected) in cases {
            assert_eq!(matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }
}
