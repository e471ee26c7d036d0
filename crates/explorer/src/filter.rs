//! What a user types to narrow a list: a topic filter, checked once, and
//! a case-insensitive text.

use std::fmt;

/// A valid MQTT topic filter, such as `stat/+/POWER` or `tele/#`.
///
/// Made by [`TopicFilter::new`], which says in plain words which rule a
/// filter breaks, so a view never meets an invalid one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicFilter(Box<str>);

impl TopicFilter {
    /// Checks `filter` by the codec's rules (MQTT §4.7).
    pub fn new(filter: &str) -> Result<Self, FilterError> {
        if mqtt_codec::is_valid_topic_filter(filter) {
            Ok(Self(filter.into()))
        } else {
            Err(FilterError::of(filter))
        }
    }

    /// The filter as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `topic` matches, as a broker would match it (`#` and `+`
    /// at the first level do not match `$SYS/…`).
    pub fn matches(&self, topic: &str) -> bool {
        mqtt_codec::matches(&self.0, topic)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a topic filter is not valid; its `Display` is the rule, for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterError {
    /// The filter is empty.
    Empty,
    /// The filter is longer than 65 535 bytes.
    TooLong,
    /// The filter contains the null character.
    Nul,
    /// `#` is not alone in the last level.
    MultiLevel,
    /// `+` shares a level with other characters.
    SingleLevel,
}

impl FilterError {
    /// The rule `filter`, which the codec refused, breaks.
    fn of(filter: &str) -> Self {
        if filter.is_empty() {
            return Self::Empty;
        }
        if filter.len() > usize::from(u16::MAX) {
            return Self::TooLong;
        }
        if filter.contains('\0') {
            return Self::Nul;
        }
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            let last = levels.peek().is_none();
            if level.contains('#') && (level != "#" || !last) {
                return Self::MultiLevel;
            }
            if level.contains('+') && level != "+" {
                return Self::SingleLevel;
            }
        }
        // The codec has no other rule; name the likelier one.
        Self::MultiLevel
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "a topic filter must be at least one character long",
            Self::TooLong => "a topic filter must be at most 65 535 bytes long",
            Self::Nul => "a topic filter must not contain the null character",
            Self::MultiLevel => "'#' must be the last level, on its own, as in \"tele/#\"",
            Self::SingleLevel => "'+' must be a whole level, on its own, as in \"stat/+/POWER\"",
        })
    }
}

impl std::error::Error for FilterError {}

/// A case-insensitive substring search, prepared once per view.
#[derive(Debug)]
pub(crate) struct TextMatch {
    /// The needle, lowercased.
    needle: String,
}

impl TextMatch {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            needle: text.to_lowercase(),
        }
    }

    /// Whether there is no text to match: everything matches.
    pub(crate) fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Whether `haystack` (text, or bytes read as lossy UTF-8) contains the
    /// needle, ignoring case. An ASCII needle is matched without
    /// allocating.
    pub(crate) fn matches(&self, haystack: &[u8]) -> bool {
        let needle = self.needle.as_bytes();
        if needle.is_empty() {
            return true;
        }
        if self.needle.is_ascii() {
            return haystack
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
        }
        String::from_utf8_lossy(haystack)
            .to_lowercase()
            .contains(&self.needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_filters_match_as_a_broker_would() {
        let filter = TopicFilter::new("stat/+/POWER").unwrap();
        assert_eq!(filter.as_str(), "stat/+/POWER");
        assert!(filter.matches("stat/plug/POWER"));
        assert!(!filter.matches("stat/plug/POWER1"));
        let all = TopicFilter::new("#").unwrap();
        assert!(all.matches("a/b"));
        assert!(!all.matches("$SYS/broker/uptime"));
    }

    #[test]
    fn invalid_filters_say_which_rule() {
        for (filter, error) in [
            ("", FilterError::Empty),
            ("a\0b", FilterError::Nul),
            ("a/#/b", FilterError::MultiLevel),
            ("a#", FilterError::MultiLevel),
            ("a/b#", FilterError::MultiLevel),
            ("a/b+/c", FilterError::SingleLevel),
            ("+a", FilterError::SingleLevel),
        ] {
            assert_eq!(TopicFilter::new(filter), Err(error), "{filter:?}");
        }
        assert_eq!(
            TopicFilter::new(&"a".repeat(70_000)),
            Err(FilterError::TooLong)
        );
        assert_eq!(
            FilterError::SingleLevel.to_string(),
            "'+' must be a whole level, on its own, as in \"stat/+/POWER\""
        );
    }

    #[test]
    fn text_matches_ignore_case() {
        assert!(TextMatch::new("").matches(b"anything"));
        assert!(TextMatch::new("power").matches(b"stat/plug/POWER"));
        assert!(!TextMatch::new("power").matches(b"stat/plug/POWE"));
        assert!(TextMatch::new("ÄPFEL").matches("grüne äpfel".as_bytes()));
        assert!(!TextMatch::new("Äpfel").matches(b"\xff apfel"));
    }
}
