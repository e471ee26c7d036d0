//! A JSON (RFC 8259) validator and pretty printer in one pass.
//!
//! It keeps the text of the payload: numbers, strings and the order of
//! keys are shown exactly as written (`1.50` stays `1.50`, `\u00e9` stays
//! escaped, duplicate keys stay), only whitespace changes. It is a loop
//! over an explicit stack, not recursive descent, and refuses nesting
//! deeper than [`MAX_DEPTH`], so a hostile payload costs neither the call
//! stack nor indentation beyond that.

/// The deepest nesting of objects and arrays accepted.
pub(crate) const MAX_DEPTH: usize = 128;

/// Where and why a payload is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte offset in the payload.
    at: usize,
    what: &'static str,
}

impl JsonError {
    /// The error for the user, with line and column (1-based, the column
    /// in characters) of the offset in `src`.
    pub(crate) fn describe(&self, src: &[u8]) -> String {
        let before = &src[..self.at.min(src.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = 1 + String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count();
        format!(
            "not valid JSON: {} at line {line}, column {column}",
            self.what
        )
    }
}

/// A pretty-printed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pretty {
    /// Two spaces of indent per level.
    pub(crate) text: String,
    /// Whether `text` stops at the limit, before the end of the payload.
    pub(crate) cut: bool,
}

/// What the parser expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    Key,
    /// A value ended: a separator, a closing bracket or the end.
    After,
}

/// Validates all of `src` as one JSON text and pretty-prints it, the
/// output stopping at the first token at or beyond `limit` bytes of input.
pub(crate) fn pretty(src: &[u8], limit: usize) -> Result<Pretty, JsonError> {
    // "JSON text exchanged between systems that are not part of a closed
    // ecosystem MUST be encoded using UTF-8" (RFC 8259 §8.1).
    let src = std::str::from_utf8(src).map_err(|e| JsonError {
        at: e.valid_up_to(),
        what: "invalid UTF-8",
    })?;
    let b = src.as_bytes();
    let mut out = Out {
        src,
        text: String::with_capacity(src.len().min(limit).saturating_mul(2)),
        limit,
        cut: false,
    };
    // One entry per open container: true for an object.
    let mut stack: Vec<bool> = Vec::new();
    let mut expect = Expect::Value;
    let mut pos = 0;
    loop {
        pos = skip_ws(b, pos);
        match expect {
            Expect::Value => {
                let Some(&c) = b.get(pos) else {
                    return Err(end_of_input(b));
                };
                match c {
                    b'{' | b'[' => {
                        if stack.len() == MAX_DEPTH {
                            return Err(JsonError {
                                at: pos,
                                what: "nested deeper than 128 levels",
                            });
                        }
                        let object = c == b'{';
                        let close = if object { b'}' } else { b']' };
                        let inner = skip_ws(b, pos + 1);
                        out.token(pos, pos + 1);
                        if b.get(inner) == Some(&close) {
                            out.token(inner, inner + 1);
                            pos = inner + 1;
                            expect = Expect::After;
                        } else {
                            stack.push(object);
                            out.newline(pos, stack.len());
                            pos += 1;
                            expect = if object { Expect::Key } else { Expect::Value };
                        }
                    }
                    b'"' => {
                        let end = string_end(b, pos)?;
                        out.token(pos, end);
                        pos = end;
                        expect = Expect::After;
                    }
                    b'-' | b'0'..=b'9' => {
                        let end = number_end(b, pos)?;
                        out.token(pos, end);
                        pos = end;
                        expect = Expect::After;
                    }
                    _ => {
                        let literal = [&b"true"[..], b"false", b"null"]
                            .into_iter()
                            .find(|word| b[pos..].starts_with(word));
                        let Some(word) = literal else {
                            return Err(JsonError {
                                at: pos,
                                what: "expected a value",
                            });
                        };
                        out.token(pos, pos + word.len());
                        pos += word.len();
                        expect = Expect::After;
                    }
                }
            }
            Expect::Key => {
                match b.get(pos) {
                    Some(b'"') => {}
                    None => return Err(end_of_input(b)),
                    Some(_) => {
                        return Err(JsonError {
                            at: pos,
                            what: "expected a string key",
                        })
                    }
                }
                let end = string_end(b, pos)?;
                out.token(pos, end);
                pos = skip_ws(b, end);
                match b.get(pos) {
                    Some(b':') => {}
                    None => return Err(end_of_input(b)),
                    Some(_) => {
                        return Err(JsonError {
                            at: pos,
                            what: "expected ':'",
                        })
                    }
                }
                out.punct(pos, ": ");
                pos += 1;
                expect = Expect::Value;
            }
            Expect::After => {
                let Some(&object) = stack.last() else {
                    if pos < b.len() {
                        return Err(JsonError {
                            at: pos,
                            what: "unexpected characters after the value",
                        });
                    }
                    return Ok(Pretty {
                        text: out.text,
                        cut: out.cut,
                    });
                };
                let close = if object { b'}' } else { b']' };
                match b.get(pos) {
                    Some(b',') => {
                        out.punct(pos, ",");
                        out.newline(pos, stack.len());
                        pos += 1;
                        expect = if object { Expect::Key } else { Expect::Value };
                    }
                    Some(&c) if c == close => {
                        stack.pop();
                        out.newline(pos, stack.len());
                        out.token(pos, pos + 1);
                        pos += 1;
                    }
                    None => return Err(end_of_input(b)),
                    Some(_) => {
                        return Err(JsonError {
                            at: pos,
                            what: if object {
                                "expected ',' or '}'"
                            } else {
                                "expected ',' or ']'"
                            },
                        })
                    }
                }
            }
        }
    }
}

fn end_of_input(b: &[u8]) -> JsonError {
    JsonError {
        at: b.len(),
        what: "unexpected end of input",
    }
}

/// "Insignificant whitespace is allowed before or after any of the six
/// structural characters": space, tab, line feed, carriage return.
fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while matches!(b.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// The end of the string starting with the quote at `start`.
fn string_end(b: &[u8], start: usize) -> Result<usize, JsonError> {
    let mut pos = start + 1;
    loop {
        match b.get(pos) {
            None => return Err(end_of_input(b)),
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => match b.get(pos + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => pos += 2,
                Some(b'u') => {
                    let hex = b.get(pos + 2..pos + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(JsonError {
                            at: pos,
                            what: "expected four hex digits after \\u",
                        });
                    }
                    pos += 6;
                }
                None => return Err(end_of_input(b)),
                Some(_) => {
                    return Err(JsonError {
                        at: pos,
                        what: "invalid escape",
                    })
                }
            },
            // "All Unicode characters may be placed within the quotation
            // marks, except for the characters that MUST be escaped:
            // quotation mark, reverse solidus, and the control characters
            // (U+0000 through U+001F)."
            Some(&c) if c < 0x20 => {
                return Err(JsonError {
                    at: pos,
                    what: "control character in a string",
                })
            }
            Some(_) => pos += 1,
        }
    }
}

/// The end of the number starting at `start`:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(b: &[u8], start: usize) -> Result<usize, JsonError> {
    let invalid = |at| JsonError {
        at,
        what: "invalid number",
    };
    let mut pos = start;
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits(b, pos),
        _ => return Err(invalid(pos)),
    }
    if b.get(pos) == Some(&b'.') {
        let end = digits(b, pos + 1);
        if end == pos + 1 {
            return Err(invalid(end));
        }
        pos = end;
    }
    if matches!(b.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let end = digits(b, pos);
        if end == pos {
            return Err(invalid(end));
        }
        pos = end;
    }
    Ok(pos)
}

fn digits(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

/// The pretty output, cut at the limit: every piece of it belongs to a
/// piece of input, and once a piece starts at or beyond the limit nothing
/// more is written.
struct Out<'a> {
    src: &'a str,
    text: String,
    limit: usize,
    cut: bool,
}

impl Out<'_> {
    /// Whether output for the input at `at` is still written.
    fn open(&mut self, at: usize) -> bool {
        if at >= self.limit {
            self.cut = true;
        }
        !self.cut
    }

    /// Copies the input `start..end`; a token across the limit up to the
    /// last character boundary before it.
    fn token(&mut self, start: usize, end: usize) {
        if !self.open(start) {
            return;
        }
        let end = if end > self.limit {
            self.cut = true;
            let mut end = self.limit;
            while !self.src.is_char_boundary(end) {
                end -= 1;
            }
            end
        } else {
            end
        };
        self.text
            .push_str(self.src.get(start..end).unwrap_or_default());
    }

    fn punct(&mut self, at: usize, s: &str) {
        if self.open(at) {
            self.text.push_str(s);
        }
    }

    fn newline(&mut self, at: usize, depth: usize) {
        if self.open(at) {
            self.text.push('\n');
            for _ in 0..depth {
                self.text.push_str("  ");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty_all(src: &str) -> String {
        let out = pretty(src.as_bytes(), usize::MAX).unwrap();
        assert!(!out.cut);
        out.text
    }

    fn error(src: &str) -> String {
        pretty(src.as_bytes(), usize::MAX)
            .unwrap_err()
            .describe(src.as_bytes())
    }

    #[test]
    fn nested_structures_print_two_spaces_a_level() {
        let src = r#"{"b":[1,{"c":null}],"a":{},"d":[],"e":[true,false]}"#;
        let expected = r#"{
  "b": [
    1,
    {
      "c": null
    }
  ],
  "a": {},
  "d": [],
  "e": [
    true,
    false
  ]
}"#;
        assert_eq!(pretty_all(src), expected);
        // Already pretty: unchanged.
        assert_eq!(pretty_all(expected), expected);
    }

    #[test]
    fn numbers_strings_and_key_order_stay_as_written() {
        let src = r#" { "z" : 1.50 , "a" : -0.0e+00 , "z" : 1E400, "s" : "\u00e9\n\"é" } "#;
        assert_eq!(
            pretty_all(src),
            "{\n  \"z\": 1.50,\n  \"a\": -0.0e+00,\n  \"z\": 1E400,\n  \"s\": \"\\u00e9\\n\\\"é\"\n}"
        );
    }

    #[test]
    fn scalars_are_json_texts() {
        assert_eq!(pretty_all(" 42 "), "42");
        assert_eq!(pretty_all("\"on\""), "\"on\"");
        assert_eq!(pretty_all("null"), "null");
        assert_eq!(pretty_all("[ ]"), "[]");
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            error("{\n  \"a\": 1,\n  \"b\": 2\n      \"c\": 3}"),
            "not valid JSON: expected ',' or '}' at line 4, column 7"
        );
        assert_eq!(
            error("[1,2"),
            "not valid JSON: unexpected end of input at line 1, column 5"
        );
        assert_eq!(
            error("[1,]"),
            "not valid JSON: expected a value at line 1, column 4"
        );
        assert_eq!(
            error("{1:2}"),
            "not valid JSON: expected a string key at line 1, column 2"
        );
        assert_eq!(
            error("{\"a\" 2}"),
            "not valid JSON: expected ':' at line 1, column 6"
        );
        assert_eq!(
            error("[01]"),
            "not valid JSON: expected ',' or ']' at line 1, column 3"
        );
        assert_eq!(
            error("1."),
            "not valid JSON: invalid number at line 1, column 3"
        );
        assert_eq!(
            error("-"),
            "not valid JSON: invalid number at line 1, column 2"
        );
        assert_eq!(
            error("1e"),
            "not valid JSON: invalid number at line 1, column 3"
        );
        assert_eq!(
            error("\"a\\x\""),
            "not valid JSON: invalid escape at line 1, column 3"
        );
        assert_eq!(
            error("\"\\u12g4\""),
            "not valid JSON: expected four hex digits after \\u at line 1, column 2"
        );
        assert_eq!(
            error("\"a\tb\""),
            "not valid JSON: control character in a string at line 1, column 3"
        );
        assert_eq!(
            error("{} {}"),
            "not valid JSON: unexpected characters after the value at line 1, column 4"
        );
        assert_eq!(
            error("tru"),
            "not valid JSON: expected a value at line 1, column 1"
        );
        assert_eq!(
            error(""),
            "not valid JSON: unexpected end of input at line 1, column 1"
        );
        // Columns count characters, not bytes.
        assert_eq!(
            error("[\"é\" 1]"),
            "not valid JSON: expected ',' or ']' at line 1, column 6"
        );
        let bad = pretty(b"[\"\xff\"]", usize::MAX).unwrap_err();
        assert_eq!(
            bad.describe(b"[\"\xff\"]"),
            "not valid JSON: invalid UTF-8 at line 1, column 3"
        );
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(pretty(ok.as_bytes(), usize::MAX).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            error(&deep),
            format!(
                "not valid JSON: nested deeper than 128 levels at line 1, column {}",
                MAX_DEPTH + 1
            )
        );
        let hostile = "[".repeat(100_000);
        assert!(error(&hostile).contains("nested deeper than 128 levels"));
        let hostile = "{\"a\":".repeat(100_000);
        assert!(error(&hostile).contains("nested deeper than 128 levels"));
    }

    #[test]
    fn output_stops_at_the_limit_of_input() {
        let src = r#"{"a":"0123456789","b":2}"#;
        // Inside the string "0123456789" (input bytes 5..17).
        let out = pretty(src.as_bytes(), 10).unwrap();
        assert!(out.cut);
        assert_eq!(out.text, "{\n  \"a\": \"0123");
        // Exactly the input: not cut.
        let out = pretty(src.as_bytes(), src.len()).unwrap();
        assert!(!out.cut);
        // A cut inside a character backs off to its start.
        let out = pretty("[\"é\"]".as_bytes(), 3).unwrap();
        assert_eq!(out.text, "[\n  \"");
        // The whole payload is still checked.
        assert!(pretty(b"[1, 2, x]", 2).is_err());
    }
}
