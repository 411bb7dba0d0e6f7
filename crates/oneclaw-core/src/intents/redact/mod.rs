//! Redaction: the credential is taken out of an answer before the agent sees it, in every form
//! a service is likely to echo it in, and the replacements are counted.
//!
//! A form is a byte string: the credential itself (and without the spaces at its ends, as a
//! header parser trims it), the Basic pair it was sent in, its hex, its base64 and base64url
//! (whole, and the part that does not depend on what comes before or after it when it was
//! encoded inside a longer text, at each of the three alignments), and its UTF-16 and UTF-32.
//! Each form is looked for in the answer and in each layer of its text escapes decoded in turn
//! (`layers`), in either letter case (`matcher`). Then base64 and
//! hex runs are decoded, two layers deep, and a run whose decoding holds the credential is
//! replaced whole (base64 of a JSON document of the request's headers). Compressed answers are
//! never passed through (the runner asks for none and refuses them). What cannot be found: a
//! credential transformed in a way not listed here (reversed, split, hashed, encrypted):
//! docs/INTENTS.md says so.

mod layers;
mod matcher;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// What replaces a credential in an answer.
pub const REDACTED: &[u8] = b"[REDACTED]";

/// Shortest credential the server will use: shorter ones cannot be told apart from other text
/// in an answer, so they could not be redacted reliably.
pub const MIN_CREDENTIAL_LEN: usize = 8;

/// How many layers of text escapes (each escape possibly escaped again) are decoded and
/// searched, besides the answer as it came.
const LAYERS: usize = 4;

/// How many layers of base64 or hex are decoded to look for the credential inside.
const NESTING: usize = 2;

/// Shortest base64 or hex run worth decoding: shorter ones cannot hold a credential's form.
const MIN_RUN: usize = 12;

/// Why a credential cannot be used by an execution, if it cannot: too short to be told apart
/// from other text, or holding characters (control, non-ASCII) whose many spellings (Latin-1
/// mojibake, Unicode case and normalisation) could not all be found.
pub fn unredactable(credential: &str) -> Option<String> {
    if credential.trim().len() < MIN_CREDENTIAL_LEN {
        return Some(format!("is shorter than {MIN_CREDENTIAL_LEN} characters (without spaces at its ends)"));
    }
    if !credential.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Some("holds characters other than printable ASCII".to_owned());
    }
    None
}

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
    /// The forms of `credential` (also without the spaces at its ends), and of each extra form
    /// it was sent in (a Basic pair).
    pub fn new(credential: &str, sent_as: &[&str]) -> Self {
        let mut forms: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let trimmed = credential.trim();
        let texts = std::iter::once(credential)
            .chain((trimmed != credential).then_some(trimmed))
            .chain(sent_as.iter().copied());
        for text in texts {
            for candidate in forms_of(text) {
                if candidate.len() >= MIN_CREDENTIAL_LEN && !forms.iter().any(|f| f.as_slice() == candidate.as_slice())
                {
                    forms.push(candidate);
                }
            }
        }
        let mut starts = [false; 256];
        starts[usize::from(b'+')] = true;
        for form in &forms {
            if let Some(first) = form.first() {
                starts[usize::from(first.to_ascii_lowercase())] = true;
                starts[usize::from(first.to_ascii_uppercase())] = true;
            }
        }
        Self { forms, starts }
    }

    /// `bytes` with every match of every form replaced, and every base64 or hex run whose
    /// decoding holds one; and how many replacements were made.
    pub fn redact(&self, bytes: &[u8]) -> (Vec<u8>, usize) {
        self.redact_nested(bytes, NESTING)
    }

    /// A text with every form replaced (lossy for text that was not UTF-8), and the count.
    pub fn redact_text(&self, text: &str) -> (String, usize) {
        let (bytes, count) = self.redact(text.as_bytes());
        (String::from_utf8_lossy(&bytes).into_owned(), count)
    }

    fn redact_nested(&self, bytes: &[u8], depth: usize) -> (Vec<u8>, usize) {
        let (flat, count) = self.redact_flat(bytes);
        if depth == 0 {
            return (flat, count);
        }
        let (runs, more) = self.redact_encoded_runs(&flat, depth - 1);
        (runs, count + more)
    }

    /// Every match of every form replaced, in the answer and in each of its decoded layers
    /// (a match in a layer replaces the span of the answer it came from). At each position the
    /// longest match wins, so a Basic pair is replaced whole.
    fn redact_flat(&self, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut spans = self.matches(bytes);
        let mut layer = layers::Layer::original(bytes);
        for _ in 0..LAYERS {
            let Some(next) = layer.decoded() else { break };
            for (start, end) in self.matches(&next.bytes) {
                spans.push((next.spans[start].0, next.spans[end - 1].1));
            }
            layer = next;
        }
        replace_spans(bytes, spans)
    }

    /// Where each match of any form starts and ends, left to right, none overlapping.
    fn matches(&self, bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut at = 0;
        let mut matcher = matcher::Matcher::default();
        while at < bytes.len() {
            if self.starts[usize::from(bytes[at])] {
                let end = self.forms.iter().filter_map(|form| matcher.match_end(form, bytes, at)).max();
                if let Some(end) = end {
                    found.push((at, end));
                    at = end;
                    continue;
                }
            }
            at += 1;
        }
        found
    }

    /// Each base64 or hex run (line breaks, raw or escaped, allowed inside) replaced whole
    /// when its decoding, redacted `depth` layers further, held the credential.
    fn redact_encoded_runs(&self, bytes: &[u8], depth: usize) -> (Vec<u8>, usize) {
        // Runs split at spaces and runs across them (base64 grouped in fours, `73 6b 5f`):
        // "Basic <base64>" must stay two runs, a grouped encoding must become one.
        let holds = |chars: &[u8]| decodings(chars).iter().any(|decoded| self.redact_nested(decoded, depth).1 > 0);
        let mut spans: Vec<(usize, usize)> = encoded_runs(bytes, false)
            .into_iter()
            .filter(|(_, _, chars)| holds(chars))
            .map(|(start, end, _)| (start, end))
            .collect();
        // A grouped run that holds a run already found adds nothing but its neighbours.
        for (start, end, chars) in encoded_runs(bytes, true) {
            let covers_found = spans.iter().any(|&(s, e)| start <= s && e <= end);
            if !covers_found && holds(&chars) {
                spans.push((start, end));
            }
        }
        replace_spans(bytes, spans)
    }
}

/// `bytes` with each span (merged where they overlap) replaced, and how many replacements.
fn replace_spans(bytes: &[u8], mut spans: Vec<(usize, usize)>) -> (Vec<u8>, usize) {
    spans.sort_unstable();
    let mut out = Vec::with_capacity(bytes.len());
    let mut count = 0;
    let mut copied = 0;
    for (start, end) in spans {
        if end <= copied {
            continue;
        }
        if start >= copied {
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(REDACTED);
            count += 1;
        }
        copied = end;
    }
    out.extend_from_slice(&bytes[copied..]);
    (out, count)
}

/// Runs of base64 (either alphabet) characters of at least `MIN_RUN`, line breaks (and spaces
/// when `across_spaces`) skipped:
/// where each starts and ends, and its characters. `=` ends a run (it only pads an end).
fn encoded_runs(bytes: &[u8], across_spaces: bool) -> Vec<(usize, usize, Zeroizing<Vec<u8>>)> {
    let is_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    let mut runs = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !is_char(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        let mut chars = Zeroizing::new(Vec::new());
        while at < bytes.len() {
            if is_char(bytes[at]) {
                chars.push(bytes[at]);
                at += 1;
                continue;
            }
            let breaks = line_breaks(&bytes[at..], across_spaces);
            if breaks > 0 && bytes.get(at + breaks).copied().is_some_and(is_char) {
                at += breaks;
            } else {
                break;
            }
        }
        while bytes.get(at) == Some(&b'=') {
            at += 1;
        }
        if chars.len() >= MIN_RUN {
            runs.push((start, at, chars));
        }
    }
    runs
}

/// How many bytes of line breaks (raw, or escaped as in a JSON string), and spaces if asked,
/// `bytes` begins with: what wrapped or grouped base64 and hex put between their characters.
fn line_breaks(bytes: &[u8], spaces: bool) -> usize {
    let mut at = 0;
    loop {
        match bytes.get(at..) {
            Some([b'\r' | b'\n', ..]) => at += 1,
            Some([b' ' | b'\t', ..]) if spaces => at += 1,
            Some([b'\\', b'r' | b'n', ..]) => at += 2,
            _ => return at,
        }
    }
}

/// What a run may decode to: base64 (either alphabet) and, when it is all hex digits, hex.
fn decodings(chars: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut decoded = Vec::new();
    let standard: Zeroizing<Vec<u8>> = Zeroizing::new(
        chars
            .iter()
            .map(|&b| match b {
                b'-' => b'+',
                b'_' => b'/',
                other => other,
            })
            .collect(),
    );
    let usable = standard.len() - usize::from(standard.len() % 4 == 1);
    if let Ok(bytes) = STANDARD_NO_PAD.decode(&standard[..usable]) {
        decoded.push(Zeroizing::new(bytes));
    }
    if chars.iter().all(u8::is_ascii_hexdigit) {
        let bytes: Vec<u8> = chars
            .chunks_exact(2)
            .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap_or_default(), 16).ok())
            .collect();
        decoded.push(Zeroizing::new(bytes));
    }
    decoded
}

/// The byte forms of one text: itself, hex, base64 (whole and at each alignment), UTF-16 and
/// UTF-32.
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
    forms.push(Zeroizing::new(text.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect()));
    forms.push(Zeroizing::new(text.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()));
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

#[cfg(test)]
mod tests;
