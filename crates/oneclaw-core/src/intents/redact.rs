//! Redaction: the credential is taken out of an answer before the agent sees it, in every form
//! a service is likely to echo it in, and the replacements are counted.
//!
//! A form is a byte string: the credential itself, the Basic pair it was sent in, its hex, its
//! base64 and base64url (whole, and the part that does not depend on what comes before or after
//! it when it was encoded inside a longer text, at each of the three alignments), and its UTF-16.
//! Each form is matched through the text encodings answers use, mixed freely, byte by byte:
//! either letter case; percent-encoding (either hex case, once or twice); `+` for a space; JSON,
//! JavaScript and C escapes (`\u0041`, surrogate pairs, `\x41`, `\/`, `\n`, …); HTML character
//! references (`&#65;`, `&#x41;`, `&amp;`, …). Compressed answers are never passed through (the
//! runner asks for none and refuses them). What cannot be found: a credential transformed in a
//! way not listed here (reversed, split, hashed, encrypted): docs/INTENTS.md says so.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// What replaces a credential in an answer.
pub const REDACTED: &[u8] = b"[REDACTED]";

/// Shortest credential the server will use: shorter ones cannot be told apart from other text
/// in an answer, so they could not be redacted reliably.
pub const MIN_CREDENTIAL_LEN: usize = 8;

/// How many (form position, text position) pairs one attempt may visit before giving up on a
/// start: a bound on pathological answers, far above what a real match needs.
const VISIT_BUDGET: usize = 4096;

/// The forms of one credential to take out of answers. Holds them zeroized on drop.
pub struct Redactor {
    forms: Vec<Zeroizing<Vec<u8>>>,
    /// Bytes a match can begin with: a form's first byte in either case, or an escape's start.
    starts: [bool; 256],
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} forms)", self.forms.len())
    }
}

impl Redactor {
    /// The forms of `credential`, and of each extra form it was sent in (a Basic pair).
    pub fn new(credential: &str, sent_as: &[&str]) -> Self {
        let mut forms: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for text in std::iter::once(credential).chain(sent_as.iter().copied()) {
            for candidate in forms_of(text) {
                if candidate.len() >= MIN_CREDENTIAL_LEN && !forms.iter().any(|f| f.as_slice() == candidate.as_slice())
                {
                    forms.push(candidate);
                }
            }
        }
        let mut starts = [false; 256];
        for byte in [b'%', b'+', b'\\', b'&'] {
            starts[usize::from(byte)] = true;
        }
        for form in &forms {
            if let Some(first) = form.first() {
                starts[usize::from(first.to_ascii_lowercase())] = true;
                starts[usize::from(first.to_ascii_uppercase())] = true;
            }
        }
        Self { forms, starts }
    }

    /// `bytes` with every match of every form replaced, and how many replacements were made.
    /// At each position the longest match wins, so a Basic pair is replaced whole.
    pub fn redact(&self, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(bytes.len());
        let mut count = 0;
        let mut copied = 0;
        let mut at = 0;
        let mut scratch = Scratch::default();
        while at < bytes.len() {
            if self.starts[usize::from(bytes[at])] {
                let end = self.forms.iter().filter_map(|form| scratch.match_end(form, bytes, at)).max();
                if let Some(end) = end {
                    out.extend_from_slice(&bytes[copied..at]);
                    out.extend_from_slice(REDACTED);
                    count += 1;
                    copied = end;
                    at = end;
                    continue;
                }
            }
            at += 1;
        }
        out.extend_from_slice(&bytes[copied..]);
        (out, count)
    }

    /// A text with every form replaced (lossy for text that was not UTF-8), and the count.
    pub fn redact_text(&self, text: &str) -> (String, usize) {
        let (bytes, count) = self.redact(text.as_bytes());
        (String::from_utf8_lossy(&bytes).into_owned(), count)
    }
}

/// The byte forms of one text: itself, hex, base64 (whole and at each alignment) and UTF-16.
fn forms_of(text: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let bytes = text.as_bytes();
    let mut forms = vec![
        Zeroizing::new(bytes.to_vec()),
        Zeroizing::new(bytes.iter().flat_map(|b| format!("{b:02x}").into_bytes()).collect()),
        Zeroizing::new(STANDARD.encode(bytes).into_bytes()),
        Zeroizing::new(URL_SAFE.encode(bytes).into_bytes()),
    ];
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        forms.push(Zeroizing::new(engine.encode(bytes).into_bytes()));
        for offset in 0..3 {
            forms.push(base64_core(engine, bytes, offset));
        }
    }
    forms.push(Zeroizing::new(text.encode_utf16().flat_map(u16::to_le_bytes).collect()));
    forms.push(Zeroizing::new(text.encode_utf16().flat_map(u16::to_be_bytes).collect()));
    forms
}

/// The base64 characters that encode only `bytes` when they sit `offset` bytes past a 3-byte
/// boundary inside a longer text ("Bearer " + credential, a JSON document, …): the whole
/// groups after the first one they share with what comes before, up to the last whole group.
fn base64_core(engine: &base64::engine::GeneralPurpose, bytes: &[u8], offset: usize) -> Zeroizing<Vec<u8>> {
    let mut padded = Zeroizing::new(vec![0u8; offset]);
    padded.extend_from_slice(bytes);
    let encoded = Zeroizing::new(engine.encode(padded.as_slice()).into_bytes());
    let first = if offset == 0 { 0 } else { 4 };
    let last = 4 * (padded.len() / 3);
    Zeroizing::new(encoded.get(first..last).unwrap_or_default().to_vec())
}

/// Reused buffers of one redaction pass.
#[derive(Default)]
struct Scratch {
    stack: Vec<(usize, usize)>,
    seen: Vec<(usize, usize)>,
    steps: Vec<(usize, usize)>,
}

impl Scratch {
    /// Where the longest match of `form` that starts at `start` ends, if one does: a search
    /// over (form position, text position) pairs, each step one form byte (or one character)
    /// read in one of its encodings.
    fn match_end(&mut self, form: &[u8], text: &[u8], start: usize) -> Option<usize> {
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

/// Every way the text at `p` can spell form byte `i` (or the character starting there): the
/// (form position, text position) each leads to.
fn steps(form: &[u8], i: usize, text: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let (Some(&want), Some(&got)) = (form.get(i), text.get(p)) else {
        return;
    };
    if got.eq_ignore_ascii_case(&want) || (want == b' ' && got == b'+') {
        out.push((i + 1, p + 1));
    }
    let rest = &text[p..];
    match got {
        b'%' => {
            if hex_byte(rest.get(1..3)) == Some(want) {
                out.push((i + 1, p + 3));
            }
            if rest.get(1..3).is_some_and(|h| h == b"25") && hex_byte(rest.get(3..5)) == Some(want) {
                out.push((i + 1, p + 5));
            }
        }
        b'\\' => backslash_steps(form, i, rest, p, out),
        b'&' => {
            if let Some((code, used)) = html_reference(rest) {
                char_step(form, i, code, p + used, out);
            }
        }
        _ => {}
    }
}

/// `\xHH`, `\uHHHH` (a surrogate pair too) and the one-letter escapes.
fn backslash_steps(form: &[u8], i: usize, rest: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let want = form[i];
    match rest.get(1).map(u8::to_ascii_lowercase) {
        Some(b'x') if hex_byte(rest.get(2..4)) == Some(want) => out.push((i + 1, p + 4)),
        Some(b'u') => {
            let Some(high) = hex_u16(rest.get(2..6)) else {
                return;
            };
            let low = (rest.get(6..8) == Some(b"\\u")).then(|| hex_u16(rest.get(8..12))).flatten();
            match (high, low) {
                (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                    let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    char_step(form, i, code, p + 12, out);
                }
                _ => char_step(form, i, u32::from(high), p + 6, out),
            }
        }
        Some(letter) => {
            let meant = match letter {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'0' => 0,
                b'/' | b'\\' | b'"' | b'\'' => letter,
                _ => return,
            };
            if meant == want {
                out.push((i + 1, p + 2));
            }
        }
        None => {}
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

/// `&#65;`, `&#x41;` and the named references for the characters HTML escapes.
fn html_reference(rest: &[u8]) -> Option<(u32, usize)> {
    let end = rest.iter().take(12).position(|&b| b == b';')?;
    let name = &rest[1..end];
    let code = if let Some(number) = name.strip_prefix(b"#") {
        let (digits, radix) = match number.first() {
            Some(b'x' | b'X') => (&number[1..], 16),
            _ => (number, 10),
        };
        let valid = !digits.is_empty() && digits.len() <= 7 && digits.iter().all(|b| char::from(*b).is_digit(radix));
        if !valid {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?
    } else {
        match name.to_ascii_lowercase().as_slice() {
            b"amp" => u32::from(b'&'),
            b"lt" => u32::from(b'<'),
            b"gt" => u32::from(b'>'),
            b"quot" => u32::from(b'"'),
            b"apos" => u32::from(b'\''),
            b"sol" => u32::from(b'/'),
            b"equals" => u32::from(b'='),
            b"plus" => u32::from(b'+'),
            b"nbsp" => 0xa0,
            _ => return None,
        }
    };
    Some((code, end + 1))
}

fn hex_byte(digits: Option<&[u8]>) -> Option<u8> {
    let digits = digits?;
    digits.iter().all(u8::is_ascii_hexdigit).then_some(())?;
    u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn hex_u16(digits: Option<&[u8]>) -> Option<u16> {
    let digits = digits?;
    digits.iter().all(u8::is_ascii_hexdigit).then_some(())?;
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
