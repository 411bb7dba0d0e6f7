//! One layer of text escapes decoded at a time, each decoded byte remembering the span of the
//! original answer it came from: percent-encoding, HTML character references, JSON,
//! JavaScript and C escapes, in any mix. A credential escaped several times over, in any order
//! (`%25%37%33`, `&#37;73`, `\u002573`, `%26%23115%3B`), shows in some layer, and its span in
//! the original is what gets replaced.

use super::matcher::{hex_value, html_references};

/// A decoded layer: its bytes, and for each the span (start, end) of the original it stands for.
pub(super) struct Layer {
    pub bytes: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
}

impl Layer {
    /// The original text, each byte standing for itself.
    pub fn original(text: &[u8]) -> Self {
        Self { bytes: text.to_vec(), spans: (0..text.len()).map(|at| (at, at + 1)).collect() }
    }

    /// The next layer down, or none when this one holds no escape.
    pub fn decoded(&self) -> Option<Self> {
        let text = &self.bytes;
        let mut next = Self { bytes: Vec::with_capacity(text.len()), spans: Vec::with_capacity(text.len()) };
        let mut at = 0;
        let mut escapes = 0;
        while at < text.len() {
            let (code, used) = escape_at(text, at).unwrap_or((u32::from(text[at]), 1));
            if used > 1 {
                escapes += 1;
            }
            let span = (self.spans[at].0, self.spans[at + used - 1].1);
            match char::from_u32(code) {
                Some(c) if used > 1 => {
                    let mut buf = [0u8; 4];
                    for &byte in c.encode_utf8(&mut buf).as_bytes() {
                        next.bytes.push(byte);
                        next.spans.push(span);
                    }
                }
                _ => {
                    next.bytes.push(text[at]);
                    next.spans.push(span);
                }
            }
            at += used;
        }
        (escapes > 0).then_some(next)
    }
}

/// The escape at `at`, if one starts there: its code point and length.
fn escape_at(text: &[u8], at: usize) -> Option<(u32, usize)> {
    let rest = &text[at..];
    match rest.first()? {
        b'%' => {
            if rest.get(1).is_some_and(|b| b.eq_ignore_ascii_case(&b'u')) {
                return hex_value(rest.get(2..6)).map(|code| (code, 6));
            }
            hex_value(rest.get(1..3)).map(|code| (code, 3))
        }
        b'&' => html_references(rest).into_iter().max_by_key(|(_, used)| *used),
        b'\\' => backslash(rest),
        _ => None,
    }
}

fn backslash(rest: &[u8]) -> Option<(u32, usize)> {
    match rest.get(1)? {
        b'U' => hex_value(rest.get(2..10)).map(|code| (code, 10)),
        b'u' if rest.get(2) == Some(&b'{') => {
            let close = rest.iter().take(10).position(|&b| b == b'}')?;
            hex_value(rest.get(3..close)).map(|code| (code, close + 1))
        }
        b'u' => {
            let high = hex_value(rest.get(2..6))?;
            let low = (rest.get(6..8) == Some(b"\\u")).then(|| hex_value(rest.get(8..12))).flatten();
            match (high, low) {
                (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                    Some((0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12))
                }
                _ => Some((high, 6)),
            }
        }
        b'x' | b'X' => hex_value(rest.get(2..4)).map(|code| (code, 4)),
        b'0'..=b'7' => {
            let digits = rest[1..].iter().take(3).take_while(|d| (b'0'..=b'7').contains(d)).count();
            let text = std::str::from_utf8(&rest[1..1 + digits]).ok()?;
            u32::from_str_radix(text, 8).ok().filter(|code| *code <= 0xff).map(|code| (code, 1 + digits))
        }
        b'n' => Some((0x0a, 2)),
        b'r' => Some((0x0d, 2)),
        b't' => Some((0x09, 2)),
        b'b' => Some((0x08, 2)),
        b'f' => Some((0x0c, 2)),
        b'/' => Some((u32::from(b'/'), 2)),
        b'\\' => Some((u32::from(b'\\'), 2)),
        b'"' => Some((u32::from(b'"'), 2)),
        b'\'' => Some((u32::from(b'\''), 2)),
        _ => None,
    }
}
