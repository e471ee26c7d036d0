//! Payload views: text, pretty JSON, a hex dump or base64, of at most a
//! given number of payload bytes, for any bytes at all.

use crate::json;
use crate::message::push_visible;

/// How to show a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadView {
    /// Pretty JSON if the payload is a JSON object or array, else text if
    /// it is UTF-8, else a hex dump.
    #[default]
    Auto,
    /// UTF-8 text; invalid bytes as `�`, control characters other than
    /// line feed and tab as visible symbols (`␀`, `␍`, `␛`, …).
    Text,
    /// Pretty JSON, two spaces a level, numbers, strings and key order as
    /// written; text with the error when the payload is not JSON.
    Json,
    /// A classic hex dump: offset, 16 bytes in hex, the same as ASCII.
    Hex,
    /// Standard base64 (RFC 4648 §4) with padding, on one line.
    Base64,
}

/// A payload rendered for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// What to show.
    pub text: String,
    /// Whether `text` shows less than the whole payload.
    pub truncated: bool,
    /// Why the payload does not fit the view asked for, for the user:
    /// `"not valid JSON: expected ',' or '}' at line 3, column 7"`, `"not
    /// valid UTF-8 at byte 12: shown with �"`.
    pub error: Option<String>,
    /// The view `text` is in: what [`PayloadView::Auto`] chose, and
    /// [`PayloadView::Text`] when JSON was asked for and the payload is not
    /// JSON.
    pub view: PayloadView,
}

/// Renders at most `limit_bytes` bytes of `payload` (of the input: "show
/// all" is the same call with a larger limit) in `view`. A cut never
/// splits a UTF-8 character of text. Never panics.
///
/// JSON is checked over the whole payload, so that [`PayloadView::Auto`]
/// picks it only for a payload that is JSON, and an error past the limit
/// is still reported.
pub fn render(payload: &[u8], view: PayloadView, limit_bytes: usize) -> Rendered {
    match view {
        PayloadView::Auto => {
            let first = payload.iter().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'{' | b'[')) {
                if let Ok(pretty) = json::pretty(payload, limit_bytes) {
                    return json_rendered(pretty);
                }
            }
            match std::str::from_utf8(payload) {
                // An incomplete character at the end is a payload cut by
                // a cap more often than binary.
                Ok(_) => text(payload, limit_bytes),
                Err(e) if e.error_len().is_none() => text(payload, limit_bytes),
                Err(_) => hex(payload, limit_bytes),
            }
        }
        PayloadView::Text => text(payload, limit_bytes),
        PayloadView::Json => match json::pretty(payload, limit_bytes) {
            Ok(pretty) => json_rendered(pretty),
            Err(e) => Rendered {
                error: Some(e.describe(payload)),
                ..text(payload, limit_bytes)
            },
        },
        PayloadView::Hex => hex(payload, limit_bytes),
        PayloadView::Base64 => base64(payload, limit_bytes),
    }
}

fn json_rendered(pretty: json::Pretty) -> Rendered {
    Rendered {
        text: pretty.text,
        truncated: pretty.cut,
        error: None,
        view: PayloadView::Json,
    }
}

fn text(payload: &[u8], limit: usize) -> Rendered {
    let end = utf8_cut(payload, limit);
    let shown = &payload[..end];
    let mut text = String::with_capacity(shown.len());
    for c in String::from_utf8_lossy(shown).chars() {
        push_visible(&mut text, c, true);
    }
    let error = std::str::from_utf8(shown).err().map(|e| {
        format!(
            "not valid UTF-8 at byte {}: shown with \u{fffd}",
            e.valid_up_to()
        )
    });
    Rendered {
        text,
        truncated: end < payload.len(),
        error,
        view: PayloadView::Text,
    }
}

/// Where to cut `payload` to at most `limit` bytes without splitting a
/// UTF-8 character: before a character whose bytes run past the limit.
fn utf8_cut(payload: &[u8], limit: usize) -> usize {
    if limit >= payload.len() {
        return payload.len();
    }
    // A character is at most 4 bytes: its first byte is at most 3 back.
    for start in (limit.saturating_sub(3)..limit).rev() {
        let b = payload[start];
        let len = match b {
            0x80..=0xbf => continue,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        return if start + len > limit { start } else { limit };
    }
    limit
}

fn hex(payload: &[u8], limit: usize) -> Rendered {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let shown = &payload[..payload.len().min(limit)];
    // 79 characters a line (offset, 16 bytes, ASCII) and a line feed.
    let mut text = String::with_capacity(shown.len().div_ceil(16) * 79);
    for (line, bytes) in shown.chunks(16).enumerate() {
        if line > 0 {
            text.push('\n');
        }
        text.push_str(&format!("{:08x}  ", line * 16));
        for i in 0..16 {
            match bytes.get(i) {
                Some(&b) => {
                    text.push(char::from(HEX[usize::from(b >> 4)]));
                    text.push(char::from(HEX[usize::from(b & 0xf)]));
                    text.push(' ');
                }
                None => text.push_str("   "),
            }
            if i == 7 {
                text.push(' ');
            }
        }
        text.push_str(" |");
        for &b in bytes {
            text.push(if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            });
        }
        text.push('|');
    }
    Rendered {
        text,
        truncated: shown.len() < payload.len(),
        error: None,
        view: PayloadView::Hex,
    }
}

fn base64(payload: &[u8], limit: usize) -> Rendered {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // A cut payload is cut at a whole group of 3 bytes, so that more of it
    // only adds characters.
    let end = if limit >= payload.len() {
        payload.len()
    } else if limit >= 3 {
        limit - limit % 3
    } else {
        limit
    };
    let shown = &payload[..end];
    let mut text = String::with_capacity(shown.len().div_ceil(3) * 4);
    for group in shown.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                text.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
            } else {
                text.push('=');
            }
        }
    }
    Rendered {
        text,
        truncated: end < payload.len(),
        error: None,
        view: PayloadView::Base64,
    }
}

/// A byte count for people: `"0 B"`, `"512 B"`, `"1.5 KB"`, `"20 MB"`,
/// `"3.2 GB"`.
///
/// Binary units (1 KB = 1024 bytes) with the short names people expect,
/// as file managers and the browser's own tools show them; one decimal
/// below 10 of a unit, whole numbers from there: the codec's
/// [`ByteSize`](mqtt_codec::ByteSize), which its error messages use too.
pub fn human_bytes(n: u64) -> String {
    mqtt_codec::ByteSize(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(payload: &[u8], view: PayloadView, limit: usize) -> (String, bool) {
        let r = render(payload, view, limit);
        (r.text, r.truncated)
    }

    #[test]
    fn auto_picks_json_then_text_then_hex() {
        let r = render(br#" {"a":[1,2]}"#, PayloadView::Auto, 1000);
        assert_eq!(r.view, PayloadView::Json);
        assert_eq!(r.text, "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        assert_eq!(r.error, None);
        // A JSON scalar, or broken JSON, is text.
        assert_eq!(
            render(b"42", PayloadView::Auto, 1000).view,
            PayloadView::Text
        );
        let r = render(b"{\"a\":", PayloadView::Auto, 1000);
        assert_eq!((r.view, r.error), (PayloadView::Text, None));
        assert_eq!(r.text, "{\"a\":");
        assert_eq!(
            render(b"\x00\x01\xfe", PayloadView::Auto, 1000).view,
            PayloadView::Hex
        );
        // A payload cut inside its last character is still text.
        let cut = &"caf\u{e9}".as_bytes()[..4];
        assert_eq!(render(cut, PayloadView::Auto, 1000).view, PayloadView::Text);
        let empty = render(b"", PayloadView::Auto, 1000);
        assert_eq!(
            (empty.text.as_str(), empty.view, empty.truncated),
            ("", PayloadView::Text, false)
        );
    }

    #[test]
    fn json_asked_for_but_not_json_is_text_with_the_error() {
        let r = render(b"{\n\"a\": 1\n\"b\"}", PayloadView::Json, 1000);
        assert_eq!(r.view, PayloadView::Text);
        assert_eq!(r.text, "{\n\"a\": 1\n\"b\"}");
        assert_eq!(
            r.error.as_deref(),
            Some("not valid JSON: expected ',' or '}' at line 3, column 1")
        );
    }

    #[test]
    fn a_hostile_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let r = render(deep.as_bytes(), PayloadView::Json, usize::MAX);
        assert_eq!(
            r.error.as_deref(),
            Some("not valid JSON: nested deeper than 128 levels at line 1, column 129")
        );
        assert_eq!(r.view, PayloadView::Text);
        assert_eq!(
            render(deep.as_bytes(), PayloadView::Auto, 16).view,
            PayloadView::Text
        );
    }

    #[test]
    fn json_is_cut_at_the_limit_of_input() {
        let payload = br#"[1, 2, 3, 4]"#;
        let r = render(payload, PayloadView::Json, 5);
        assert_eq!((r.text.as_str(), r.truncated), ("[\n  1,\n  2", true));
        // "Show all": the same call with a larger limit.
        let r = render(payload, PayloadView::Json, usize::MAX);
        assert_eq!(
            (r.text.as_str(), r.truncated),
            ("[\n  1,\n  2,\n  3,\n  4\n]", false)
        );
    }

    #[test]
    fn text_shows_control_characters_and_invalid_bytes() {
        let r = render(b"a\tb\nc\r\n\x00\x1b\x7f", PayloadView::Text, 100);
        assert_eq!(r.text, "a\tb\nc\u{240d}\n\u{2400}\u{241b}\u{2421}");
        assert_eq!(r.error, None);
        let r = render(b"caf\xc3\xa9 \xff ok", PayloadView::Text, 100);
        assert_eq!(r.text, "café \u{fffd} ok");
        assert_eq!(
            r.error.as_deref(),
            Some("not valid UTF-8 at byte 6: shown with \u{fffd}")
        );
        assert_eq!(
            render("\u{85}".as_bytes(), PayloadView::Text, 10).text,
            "\\u{85}"
        );
    }

    #[test]
    fn text_cuts_at_character_boundaries() {
        let payload = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        for (limit, expected) in [
            (0, ""),
            (1, "a"),
            (2, "a"),
            (3, "aé"),
            (5, "aé"),
            (6, "aé€"),
            (9, "aé€"),
            (10, "aé€😀"),
        ] {
            let r = render(payload, PayloadView::Text, limit);
            assert_eq!(r.text, expected, "limit {limit}");
            assert_eq!(r.truncated, limit < 10, "limit {limit}");
            assert_eq!(r.error, None, "limit {limit}");
        }
        // Invalid bytes are cut where the limit says.
        assert_eq!(
            shown(b"\xff\xff\xff", PayloadView::Text, 2),
            ("\u{fffd}\u{fffd}".into(), true)
        );
        // A stray continuation byte before the limit.
        assert_eq!(utf8_cut(b"\x80\x80\x80\x80a", 4), 4);
    }

    #[test]
    fn hex_dumps_sixteen_bytes_a_line() {
        let payload: Vec<u8> = (0x3e..0x3e + 20).collect();
        let r = render(&payload, PayloadView::Hex, 100);
        assert_eq!(
            r.text,
            "00000000  3e 3f 40 41 42 43 44 45  46 47 48 49 4a 4b 4c 4d  |>?@ABCDEFGHIJKLM|\n\
             00000010  4e 4f 50 51                                       |NOPQ|"
        );
        assert!(!r.truncated);
        let r = render(b"hi\x00\n\xff", PayloadView::Hex, 100);
        assert_eq!(
            r.text,
            "00000000  68 69 00 0a ff                                    |hi...|"
        );
        let r = render(&payload, PayloadView::Hex, 3);
        assert!(r.truncated);
        assert!(r.text.ends_with("|>?@|"));
        assert_eq!(render(b"", PayloadView::Hex, 3).text, "");
    }

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(
                shown(input.as_bytes(), PayloadView::Base64, 100),
                (output.into(), false)
            );
        }
        assert_eq!(
            shown(&[0xfb, 0xff, 0xbf], PayloadView::Base64, 100).0,
            "+/+/"
        );
        // Cut at whole groups.
        assert_eq!(
            shown(b"foobar", PayloadView::Base64, 5),
            ("Zm9v".into(), true)
        );
        assert_eq!(
            shown(b"foobar", PayloadView::Base64, 1),
            ("Zg==".into(), true)
        );
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        for (n, expected) in [
            (0, "0 B"),
            (512, "512 B"),
            (1023, "1023 B"),
            (1024, "1 KB"),
            (1536, "1.5 KB"),
            (10 * 1024, "10 KB"),
            (1_048_000, "1023 KB"),
            (1_048_500, "1 MB"),
            (20_971_534, "20 MB"),
            (3_435_973_837, "3.2 GB"),
            (u64::MAX, "16 EB"),
        ] {
            assert_eq!(human_bytes(n), expected, "{n}");
        }
    }

    proptest::proptest! {
        #[test]
        fn render_never_panics(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            limit in 0usize..400,
        ) {
            for view in [
                PayloadView::Auto,
                PayloadView::Text,
                PayloadView::Json,
                PayloadView::Hex,
                PayloadView::Base64,
            ] {
                let r = render(&payload, view, limit);
                proptest::prop_assert!(!(r.truncated && limit >= payload.len()));
            }
        }

        #[test]
        fn render_never_panics_on_json_like_bytes(
            payload in proptest::collection::vec(
                proptest::sample::select(b"{}[],:\" \\u0123456789-+.eEtrufalsn\n\xc3\xa9".to_vec()),
                0..200,
            ),
            limit in 0usize..250,
        ) {
            for view in [PayloadView::Auto, PayloadView::Json] {
                render(&payload, view, limit);
            }
        }
    }
}
