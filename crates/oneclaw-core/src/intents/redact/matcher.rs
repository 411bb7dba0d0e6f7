//! Finding one form of a credential in text through the encodings answers use, mixed freely,
//! byte by byte (escapes of escapes are `layers`'s): a search over (form position, text position) pairs where each step reads one
//! form byte (or one character) in one of its spellings.

/// How many (form position, text position) pairs one attempt may visit before giving up on a
/// start: a bound on pathological answers, far above what a real match needs.
const VISIT_BUDGET: usize = 4096;

/// Longest run of `%25` (an encoded `%`) read in front of a percent-encoded byte.
const MAX_PERCENT_LAYERS: usize = 4;

/// Bytes a match of any form may begin with besides the form's first byte.
pub(super) const ESCAPE_STARTS: &[u8] = b"%+\\&\"'";

/// Reused buffers of one redaction pass.
#[derive(Default)]
pub(super) struct Matcher {
    stack: Vec<(usize, usize)>,
    seen: Vec<(usize, usize)>,
    steps: Vec<(usize, usize)>,
}

impl Matcher {
    /// Where the longest match of `form` that starts at `start` ends, if one does.
    pub(super) fn match_end(&mut self, form: &[u8], text: &[u8], start: usize) -> Option<usize> {
        self.steps.clear();
        steps(form, 0, text, start, &mut self.steps);
        if self.steps.is_empty() {
            return None;
        }
        self.stack.clear();
        self.seen.clear();
        self.stack.push((0, start));
        let mut best = None;
        while let Some((i, p)) = self.stack.pop() {
            if i == form.len() {
                best = best.max(Some(p));
                continue;
            }
            if self.seen.len() >= VISIT_BUDGET {
                break;
            }
            self.steps.clear();
            steps(form, i, text, p, &mut self.steps);
            for &next in &self.steps {
                if !self.seen.contains(&next) {
                    self.seen.push(next);
                    self.stack.push(next);
                }
            }
        }
        best
    }
}

/// Every way the text at `p` can spell form byte `i` (or the character starting there), or
/// be skipped inside a match (a line break, raw or escaped, as in wrapped base64): the
/// (form position, text position) each leads to.
fn steps(form: &[u8], i: usize, text: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let (Some(&want), Some(&got)) = (form.get(i), text.get(p)) else {
        return;
    };
    let rest = &text[p..];
    if i > 0 {
        if matches!(got, b'\r' | b'\n') {
            out.push((i, p + 1));
        }
        if rest.starts_with(b"\\n") || rest.starts_with(b"\\r") {
            out.push((i, p + 2));
        }
    }
    if got.eq_ignore_ascii_case(&want) || (want == b' ' && got == b'+') {
        out.push((i + 1, p + 1));
    }
    // A quote doubled, as CSV and SQL write one inside a quoted field.
    if matches!(want, b'"' | b'\'') && rest.get(1) == Some(&want) && got == want {
        out.push((i + 1, p + 2));
    }
    match got {
        b'%' => percent_steps(form, i, rest, p, out),
        b'\\' => backslash_steps(form, i, rest, p, out),
        b'&' => {
            for (code, used) in html_references(rest) {
                char_step(form, i, code, p + used, out);
            }
        }
        _ => {}
    }
}

/// `%HH`, the same encoded again (`%25HH`, `%2525HH`, …), and `%uHHHH`.
fn percent_steps(form: &[u8], i: usize, rest: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let mut at = 1;
    for _ in 0..=MAX_PERCENT_LAYERS {
        if hex_value(rest.get(at..at + 2)).is_some_and(|code| same_byte(code, form[i])) {
            out.push((i + 1, p + at + 2));
        }
        if rest.get(at..at + 2) != Some(b"25") {
            break;
        }
        at += 2;
    }
    if rest.get(1).is_some_and(|b| b.eq_ignore_ascii_case(&b'u'))
        && let Some(code) = hex_value(rest.get(2..6))
    {
        char_step(form, i, code, p + 6, out);
    }
}

/// `\xHH`, `\uHHHH` (a surrogate pair too), `\u{H…}`, octal `\NNN` and the one-letter escapes.
fn backslash_steps(form: &[u8], i: usize, rest: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let want = form[i];
    let Some(letter) = rest.get(1).map(u8::to_ascii_lowercase) else {
        return;
    };
    // C's universal character name: `\U` and eight hex digits.
    if rest.get(1) == Some(&b'U')
        && let Some(code) = hex_value(rest.get(2..10))
    {
        char_step(form, i, code, p + 10, out);
    }
    match letter {
        b'x' => {
            if let Some(code) = hex_value(rest.get(2..4)) {
                char_step(form, i, code, p + 4, out);
            }
        }
        b'u' if rest.get(2) == Some(&b'{') => {
            if let Some(close) = rest.iter().take(10).position(|&b| b == b'}')
                && let Some(code) = hex_value(rest.get(3..close))
            {
                char_step(form, i, code, p + close + 1, out);
            }
        }
        b'u' => {
            let Some(high) = hex_value(rest.get(2..6)) else {
                return;
            };
            let low = (rest.get(6..8) == Some(b"\\u")).then(|| hex_value(rest.get(8..12))).flatten();
            match (high, low) {
                (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                    char_step(form, i, 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), p + 12, out);
                }
                _ => char_step(form, i, high, p + 6, out),
            }
        }
        b'0'..=b'7' => {
            // One to three octal digits: each length is a reading.
            let mut code = 0u32;
            for (n, digit) in rest[1..].iter().take(3).enumerate() {
                if !(b'0'..=b'7').contains(digit) {
                    break;
                }
                code = code * 8 + u32::from(digit - b'0');
                if same_byte(code, want) {
                    out.push((i + 1, p + n + 2));
                }
            }
        }
        _ => {
            let meant = match letter {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'/' | b'\\' | b'"' | b'\'' => letter,
                _ => return,
            };
            if meant == want {
                out.push((i + 1, p + 2));
            }
        }
    }
}

/// A character given by its code point: it stands for the form's next character (one byte
/// for ASCII, the whole UTF-8 sequence otherwise), in either case.
fn char_step(form: &[u8], i: usize, code: u32, next: usize, out: &mut Vec<(usize, usize)>) {
    if let Some(c) = char::from_u32(code) {
        let mut buf = [0u8; 4];
        let encoded = c.encode_utf8(&mut buf).as_bytes();
        if form.get(i..i + encoded.len()).is_some_and(|here| here.eq_ignore_ascii_case(encoded)) {
            out.push((i + encoded.len(), next));
        }
    }
}

/// HTML character references at the start of `rest` (`&#65;`, `&#x41;`, with or without the
/// `;` browsers forgive, and the named ones for ASCII punctuation): each reading's code point
/// and length.
pub(super) fn html_references(rest: &[u8]) -> Vec<(u32, usize)> {
    let mut found = Vec::new();
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
                found.push((code, used));
            }
        }
        return found;
    }
    let Some(end) = rest.iter().take(16).position(|&b| b == b';') else {
        return found;
    };
    let name = String::from_utf8_lossy(&rest[1..end]);
    if let Some(code) = named_reference(&name) {
        found.push((code, end + 1));
    }
    found
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

/// Whether a decoded byte value is `want`, in either case.
fn same_byte(code: u32, want: u8) -> bool {
    u8::try_from(code).is_ok_and(|byte| byte.eq_ignore_ascii_case(&want))
}

/// The value of a run of hex digits (all of them hex, at most eight).
pub(super) fn hex_value(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}
