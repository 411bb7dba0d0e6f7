//! Redaction: every form a credential can take in an answer (raw, base64 and base64url with or
//! without padding, percent- and form-encoded, JSON-escaped, hex, and the Basic-auth pair it was
//! sent in) is replaced before the answer reaches the agent, and the replacements are counted.
//! Compressed answers are never passed through (the runner asks for none and refuses them), as
//! a compressed credential could not be found.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

/// What replaces a credential in an answer.
pub const REDACTED: &[u8] = b"[REDACTED]";

/// Shortest credential the server will use: shorter ones cannot be told apart from other text
/// in an answer, so they could not be redacted reliably.
pub const MIN_CREDENTIAL_LEN: usize = 8;

/// The forms of one credential to take out of answers. Holds them zeroized on drop.
pub struct Redactor {
    forms: Vec<Zeroizing<Vec<u8>>>,
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
            let bytes = text.as_bytes();
            let candidates = [
                bytes.to_vec(),
                STANDARD.encode(bytes).into_bytes(),
                STANDARD_NO_PAD.encode(bytes).into_bytes(),
                URL_SAFE.encode(bytes).into_bytes(),
                URL_SAFE_NO_PAD.encode(bytes).into_bytes(),
                utf8_percent_encode(text, NON_ALPHANUMERIC).to_string().into_bytes(),
                form_encoded(text).into_bytes(),
                json_escaped(text).into_bytes(),
                json_escaped(text).replace('/', "\\/").into_bytes(),
                hex(bytes, false).into_bytes(),
                hex(bytes, true).into_bytes(),
            ];
            for candidate in candidates {
                if candidate.len() >= MIN_CREDENTIAL_LEN && !forms.iter().any(|f| f.as_slice() == candidate.as_slice())
                {
                    forms.push(Zeroizing::new(candidate));
                }
            }
        }
        // Longest first, so a form that contains another is replaced whole.
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        Self { forms }
    }

    /// `bytes` with every form replaced, and how many replacements were made.
    pub fn redact(&self, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut current = bytes.to_vec();
        let mut count = 0;
        for form in &self.forms {
            let finder = memchr::memmem::Finder::new(form.as_slice());
            if finder.find(&current).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(current.len());
            let mut last = 0;
            for at in finder.find_iter(&current) {
                if at < last {
                    continue;
                }
                out.extend_from_slice(&current[last..at]);
                out.extend_from_slice(REDACTED);
                last = at + form.len();
                count += 1;
            }
            out.extend_from_slice(&current[last..]);
            current = out;
        }
        (current, count)
    }

    /// A text with every form replaced (lossy for text that was not UTF-8), and the count.
    pub fn redact_text(&self, text: &str) -> (String, usize) {
        let (bytes, count) = self.redact(text.as_bytes());
        (String::from_utf8_lossy(&bytes).into_owned(), count)
    }
}

/// The text inside a JSON string (quotes, backslashes and control characters escaped).
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.trim_start_matches('"').trim_end_matches('"').to_owned()
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect()
}

/// `application/x-www-form-urlencoded`: spaces as `+`.
fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_replaced_and_counted() {
        let secret = "sk_test_51H/x+y z";
        let redactor = Redactor::new(secret, &[]);
        let answer = format!(
            "raw={secret} b64={} url={} pct={} form={}",
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
            utf8_percent_encode(secret, NON_ALPHANUMERIC),
            form_encoded(secret)
        );
        let (clean, count) = redactor.redact_text(&answer);
        assert_eq!(count, 5, "{clean}");
        assert!(!clean.contains("sk_test"), "{clean}");
        assert_eq!(clean.matches("[REDACTED]").count(), 5);
    }

    #[test]
    fn json_escaped_and_hex_forms_are_replaced() {
        let secret = "tok/with\"quote";
        let redactor = Redactor::new(secret, &[]);
        for form in [
            json_escaped(secret),
            json_escaped(secret).replace('/', "\\/"),
            hex(secret.as_bytes(), false),
            hex(secret.as_bytes(), true),
        ] {
            let (clean, count) = redactor.redact_text(&format!("x {form} y"));
            assert_eq!((clean.as_str(), count), ("x [REDACTED] y", 1), "{form}");
        }
    }

    #[test]
    fn a_basic_pair_is_replaced_whole() {
        let redactor = Redactor::new("hunter2hunter2", &["alice:hunter2hunter2"]);
        let (clean, count) = redactor.redact_text(&format!("Basic {}", STANDARD.encode("alice:hunter2hunter2")));
        assert_eq!((clean.as_str(), count), ("Basic [REDACTED]", 1));
    }

    #[test]
    fn text_without_the_credential_is_unchanged() {
        let redactor = Redactor::new("a-long-credential", &[]);
        assert_eq!(redactor.redact_text("nothing here"), ("nothing here".to_owned(), 0));
    }
}
