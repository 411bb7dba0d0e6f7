//! One layer of text escapes decoded at a time, each decoded byte remembering the span of the
//! original answer it came from: percent-encoding (`%HH`, `%uHHHH`), HTML character references
//! (numeric with or without `;`, named for ASCII punctuation), JSON, JavaScript and C escapes
//! (`\uHHHH` with surrogate pairs, `\u{…}`, `\UHHHHHHHH`, `\xHH`, octal, `\n`, …), in any mix.
//! A credential escaped several times over, in any order (`%25%37%33`, `&#37;73`, `\u002573`,
//! `%26%23115%3B`), shows in some layer, and its span in the original is what gets replaced.

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
            let (decoded, used) = escape_at(text, at).unwrap_or((Decoded::Byte(text[at]), 1));
            escapes += usize::from(used > 1);
            let span = (self.spans[at].0, self.spans[at + used - 1].1);
            let mut buf = [0u8; 4];
            let bytes: &[u8] = match decoded {
                Decoded::Byte(byte) => {
                    buf[0] = byte;
                    &buf[..1]
                }
                Decoded::Char(c) => c.encode_utf8(&mut buf).as_bytes(),
            };
            for &byte in bytes {
                next.bytes.push(byte);
                next.spans.push(span);
            }
            at += used;
        }
        (escapes > 0).then_some(next)
    }
}

/// What an escape stands for: a byte (`%C3`, octal `\303`: UTF-8 is spelled byte by byte) or a
/// character (`\u00e4`, `&#228;`, JavaScript's `\xe4`).
enum Decoded {
    Byte(u8),
    Char(char),
}

/// The escape at `at`, if a well-formed one starts there: what it stands for and its length.
fn escape_at(text: &[u8], at: usize) -> Option<(Decoded, usize)> {
    let rest = &text[at..];
    let (code, used, byte) = match rest.first()? {
        b'%' if rest.get(1).is_some_and(|b| b.eq_ignore_ascii_case(&b'u')) => (hex_value(rest.get(2..6))?, 6, false),
        b'%' => (hex_value(rest.get(1..3))?, 3, true),
        b'&' => html_reference(rest).map(|(code, used)| (code, used, false))?,
        b'\\' => backslash(rest)?,
        _ => return None,
    };
    let decoded = match u8::try_from(code) {
        Ok(value) if byte => Decoded::Byte(value),
        _ => Decoded::Char(char::from_u32(code)?),
    };
    Some((decoded, used))
}

/// `\\UHHHHHHHH`, `\\u{H…}`, `\\uHHHH` (a surrogate pair too), `\\xHH`, octal `\\NNN` (a byte)
/// and the one-letter escapes: code point, length, and whether it is a byte.
fn backslash(rest: &[u8]) -> Option<(u32, usize, bool)> {
    let char_of = |code: u32, used: usize| Some((code, used, false));
    match rest.get(1)? {
        b'U' => char_of(hex_value(rest.get(2..10))?, 10),
        b'u' if rest.get(2) == Some(&b'{') => {
            let close = rest.iter().take(10).position(|&b| b == b'}')?;
            char_of(hex_value(rest.get(3..close))?, close + 1)
        }
        b'u' => {
            let high = hex_value(rest.get(2..6))?;
            let low = (rest.get(6..8) == Some(b"\\u")).then(|| hex_value(rest.get(8..12))).flatten();
            match (high, low) {
                (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                    char_of(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
                }
                _ => char_of(high, 6),
            }
        }
        b'x' | b'X' => char_of(hex_value(rest.get(2..4))?, 4),
        b'0'..=b'7' => {
            let digits = rest[1..].iter().take(3).take_while(|d| (b'0'..=b'7').contains(d)).count();
            let code = u32::from_str_radix(std::str::from_utf8(&rest[1..1 + digits]).ok()?, 8).ok()?;
            (code <= 0xff).then_some((code, 1 + digits, true))
        }
        letter => {
            let meant = match letter {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'/' | b'\\' | b'"' | b'\'' => *letter,
                _ => return None,
            };
            char_of(u32::from(meant), 2)
        }
    }
}

/// The HTML character reference at the start of `rest` (`&#65;`, `&#x41;`, with or without the
/// `;` browsers forgive, and the named ones for ASCII punctuation): its code point and
/// length.
fn html_reference(rest: &[u8]) -> Option<(u32, usize)> {
    if rest.get(1) == Some(&b'#') {
        let hex = rest.get(2).is_some_and(|b| b.eq_ignore_ascii_case(&b'x'));
        let first = if hex { 3 } else { 2 };
        let radix = if hex { 16 } else { 10 };
        let digits =
            rest[first.min(rest.len())..].iter().take(8).take_while(|b| char::from(**b).is_digit(radix)).count();
        if digits > 0 {
            let text = std::str::from_utf8(&rest[first..first + digits]).unwrap_or_default();
            if let Ok(code) = u32::from_str_radix(text, radix) {
                let end = first + digits;
                let used = if rest.get(end) == Some(&b';') { end + 1 } else { end };
                return Some((code, used));
            }
        }
        return None;
    }
    let end = rest.iter().take(16).position(|&b| b == b';')?;
    named_reference(&String::from_utf8_lossy(&rest[1..end])).map(|code| (code, end + 1))
}

/// The named references for ASCII characters (HTML5 names them all; these are the ones an
/// encoder writes), matched as HTML matches them: by exact name.
fn named_reference(name: &str) -> Option<u32> {
    let c = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "sol" => '/',
        "bsol" => '\\',
        "equals" => '=',
        "plus" => '+',
        "lowbar" | "UnderBar" => '_',
        "period" => '.',
        "comma" => ',',
        "colon" => ':',
        "semi" => ';',
        "excl" => '!',
        "num" => '#',
        "dollar" => '$',
        "percnt" => '%',
        "lpar" => '(',
        "rpar" => ')',
        "ast" | "midast" => '*',
        "quest" => '?',
        "commat" => '@',
        "lsqb" | "lbrack" => '[',
        "rsqb" | "rbrack" => ']',
        "lcub" | "lbrace" => '{',
        "rcub" | "rbrace" => '}',
        "verbar" | "vert" | "VerticalLine" => '|',
        "Hat" => '^',
        "grave" | "DiacriticalGrave" => '`',
        _ => return None,
    };
    Some(u32::from(c))
}

/// The value of a run of hex digits (all of them hex, at most eight).
fn hex_value(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}
