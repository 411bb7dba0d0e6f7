//! The redactor against the encodings a service may echo a credential in, each written out
//! here by hand (not by the redactor's own helpers), and against near misses it must leave.

use super::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

const SECRET: &str = "sk_test_51H/x+y z~Q";

fn redacted(answer: &str) -> (String, usize) {
    Redactor::new(SECRET, &[]).redact_text(answer)
}

fn assert_gone(answer: &str) {
    let (clean, count) = redacted(&format!("before {answer} after"));
    assert_eq!((clean.as_str(), count), ("before [REDACTED] after", 1), "{answer}");
}

fn percent_every_byte(text: &str, upper: bool) -> String {
    text.bytes().map(|b| if upper { format!("%{b:02X}") } else { format!("%{b:02x}") }).collect()
}

#[test]
fn raw_and_either_case() {
    assert_gone(SECRET);
    assert_gone(&SECRET.to_ascii_uppercase());
    assert_gone(&SECRET.to_ascii_lowercase());
}

#[test]
fn percent_encodings_in_any_style() {
    // NON_ALPHANUMERIC style, RFC 3986 style (unreserved left alone), every byte in either hex
    // case, form style (+ for space), and encoded twice.
    assert_gone("sk%5Ftest%5F51H%2Fx%2By%20z%7EQ");
    assert_gone("sk_test_51H%2fx%2by%20z~Q");
    assert_gone(&percent_every_byte(SECRET, true));
    assert_gone(&percent_every_byte(SECRET, false));
    assert_gone("sk_test_51H%2Fx%2By+z~Q");
    assert_gone("sk_test_51H%252Fx%252By%2520z~Q");
}

#[test]
fn json_javascript_and_c_escapes() {
    let every_char: String = SECRET.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    assert_gone(&every_char);
    assert_gone(&every_char.to_ascii_uppercase().replace("\\U", "\\u"));
    assert_gone("sk_test_51H\\/x+y z~Q");
    let hex_escaped: String = SECRET.bytes().map(|b| format!("\\x{b:02x}")).collect();
    assert_gone(&hex_escaped);
}

#[test]
fn html_character_references() {
    let decimal: String = SECRET.chars().map(|c| format!("&#{};", c as u32)).collect();
    let hex: String = SECRET.chars().map(|c| format!("&#x{:X};", c as u32)).collect();
    assert_gone(&decimal);
    assert_gone(&hex);
    let quoted = Redactor::new("a<b>&\"c'd\"e", &[]);
    let (clean, count) = quoted.redact_text("x a&lt;b&gt;&amp;&quot;c&#39;d&quot;e y");
    assert_eq!((clean.as_str(), count), ("x [REDACTED] y", 1));
}

#[test]
fn non_ascii_credentials_through_escapes_and_surrogate_pairs() {
    let redactor = Redactor::new("pässwörd-🔑-long", &[]);
    for answer in [
        "pässwörd-🔑-long".to_owned(),
        "p\\u00e4ssw\\u00f6rd-\\ud83d\\udd11-long".to_owned(),
        "p&#228;ssw&#xF6;rd-&#128273;-long".to_owned(),
        "p%C3%A4ssw%C3%B6rd-%F0%9F%94%91-long".to_owned(),
    ] {
        let (clean, count) = redactor.redact_text(&format!("<{answer}>"));
        assert_eq!((clean.as_str(), count), ("<[REDACTED]>", 1), "{answer}");
    }
}

#[test]
fn base64_whole_and_inside_a_longer_text_at_every_alignment() {
    assert_gone(&STANDARD.encode(SECRET));
    assert_gone(&URL_SAFE_NO_PAD.encode(SECRET));
    for prefix in ["", "B", "Be", "Bearer ", "user:", "{\"token\":\""] {
        for suffix in ["", "\"", "\"}", " and more text"] {
            let encoded = STANDARD.encode(format!("{prefix}{SECRET}{suffix}"));
            let url_encoded = URL_SAFE_NO_PAD.encode(format!("{prefix}{SECRET}{suffix}"));
            for text in [encoded, url_encoded] {
                let (clean, count) = redacted(&text);
                assert!(count >= 1, "{prefix:?}+{suffix:?}: {clean}");
                // What is left around the replacement is at most the groups shared with the
                // text around it: never the credential's middle.
                let left: usize = clean.split("[REDACTED]").map(str::len).sum();
                assert!(left <= 4 + 4 + (prefix.len() + suffix.len()) * 4 / 3 + 4, "{text} -> {clean}");
            }
        }
    }
}

#[test]
fn hex_and_utf16() {
    let lower: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    assert_gone(&lower);
    assert_gone(&lower.to_ascii_uppercase());
    let redactor = Redactor::new(SECRET, &[]);
    for utf16 in [
        SECRET.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(),
        SECRET.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>(),
    ] {
        let (clean, count) = redactor.redact(&utf16);
        assert_eq!((clean.as_slice(), count), (REDACTED, 1));
    }
}

#[test]
fn a_basic_pair_is_replaced_whole() {
    let redactor = Redactor::new("hunter2hunter2", &["alice:hunter2hunter2"]);
    let (clean, count) = redactor.redact_text(&format!("Basic {}", STANDARD.encode("alice:hunter2hunter2")));
    assert_eq!((clean.as_str(), count), ("Basic [REDACTED]", 1));
}

#[test]
fn near_misses_and_other_text_are_left_alone() {
    // One byte off, at the start (the base64 of a credential one byte off at the end shares
    // its whole groups, and is rightly taken out).
    let near = SECRET.replacen('s', "t", 1);
    for text in [
        "nothing here".to_owned(),
        near.clone(),
        percent_every_byte(&near, true),
        STANDARD.encode(&near),
        "%zz \\u12 &#xZZ; &unknown; \\".to_owned(),
    ] {
        assert_eq!(redacted(&text), (text.clone(), 0), "{text}");
    }
}

#[test]
fn every_occurrence_is_counted() {
    let (clean, count) = redacted(&format!("{SECRET},{},{SECRET}", STANDARD.encode(SECRET)));
    assert_eq!((clean.as_str(), count), ("[REDACTED],[REDACTED],[REDACTED]", 3));
}

#[test]
fn a_pathological_answer_ends() {
    // Escapes everywhere: each start is bounded by the visit budget.
    let answer = "%25".repeat(100_000);
    let (clean, count) = redacted(&answer);
    assert_eq!((clean.len(), count), (answer.len(), 0));
}

#[test]
fn more_escapes_octal_braced_unterminated_named_layered_percent() {
    let octal: String = SECRET.bytes().map(|b| format!("\\{b:o}")).collect();
    assert_gone(&octal);
    let braced: String = SECRET.chars().map(|c| format!("\\u{{{:x}}}", c as u32)).collect();
    assert_gone(&braced);
    let unterminated: String = SECRET.chars().map(|c| format!("&#{}", c as u32)).collect();
    assert_gone(&unterminated);
    assert_gone("sk&lowbar;test&UnderBar;51H&sol;x&plus;y z~Q");
    let thrice: String = SECRET.bytes().map(|b| format!("%2525{b:02x}")).collect();
    assert_gone(&thrice);
    let unicode_percent: String = SECRET.chars().map(|c| format!("%u{:04X}", c as u32)).collect();
    assert_gone(&unicode_percent);
    let utf32: Vec<u8> = SECRET.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
    let (clean, count) = Redactor::new(SECRET, &[]).redact(&utf32);
    assert_eq!((clean.as_slice(), count), (REDACTED, 1));
}

#[test]
fn quotes_doubled_as_csv_and_sql_write_them() {
    let redactor = Redactor::new("pa'ss\"word-123", &[]);
    for answer in ["'pa''ss\"word-123'", "\"pa'ss\"\"word-123\""] {
        let (clean, count) = redactor.redact_text(answer);
        assert_eq!(count, 1, "{answer} -> {clean}");
        assert!(!clean.contains("word-123"), "{clean}");
    }
}

#[test]
fn a_credential_trimmed_by_the_service_is_found() {
    let redactor = Redactor::new(" sk_live_LEAD0123456789xyz ", &[]);
    let (clean, count) = redactor.redact_text("invalid key=sk_live_LEAD0123456789xyz.");
    assert_eq!((clean.as_str(), count), ("invalid key=[REDACTED].", 1));
}

#[test]
fn base64_wrapped_in_lines_at_any_width_and_offset() {
    for prefix in ["", "x", "xy", "{\"headers\":{\"Authorization\":\"Bearer "] {
        let encoded = STANDARD.encode(format!("{prefix}{SECRET}\"}}}}"));
        for width in [16, 76] {
            for escaped in [false, true] {
                let lines: Vec<String> =
                    encoded.as_bytes().chunks(width).map(|line| String::from_utf8(line.to_vec()).unwrap()).collect();
                let wrapped = lines.join(if escaped { "\\n" } else { "\r\n" });
                let (clean, count) = redacted(&wrapped);
                assert!(count >= 1, "{prefix:?} width {width}: {clean}");
                // No stretch of the characters that encode the credential's own bytes is left.
                let joined = clean.replace("\r\n", "").replace("\\n", "");
                let from = (prefix.len() * 4).div_ceil(3) + 4;
                let to = ((prefix.len() + SECRET.len()) * 4 / 3).saturating_sub(4);
                for window in encoded.as_bytes()[from..to].windows(8) {
                    let window = std::str::from_utf8(window).unwrap();
                    assert!(!joined.contains(window), "{prefix:?} width {width}: {window} in {clean}");
                }
            }
        }
    }
}

#[test]
fn layered_encodings_are_decoded_and_replaced_whole() {
    let pair = format!("acct_user:{SECRET}");
    let redactor = Redactor::new(SECRET, &[&pair]);
    let basic_in_json = format!("{{\"authorization\":\"Basic {}\"}}", STANDARD.encode(&pair));
    let escaped_json: String =
        format!("{{\"k\":\"{}\"}}", SECRET.chars().map(|c| format!("\\u{:04x}", c as u32)).collect::<String>());
    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let utf16: Vec<u8> = SECRET.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (what, answer) in [
        ("base64 of JSON holding a Basic header", STANDARD.encode(&basic_in_json)),
        ("base64 of JSON with \\u escapes", STANDARD.encode(&escaped_json)),
        ("base64 of hex", STANDARD.encode(&hex)),
        ("hex of base64", STANDARD.encode(SECRET).bytes().map(|b| format!("{b:02x}")).collect()),
        ("base64 of UTF-16", STANDARD.encode(&utf16)),
        ("base64url of base64", URL_SAFE_NO_PAD.encode(STANDARD.encode(format!("x{SECRET}y")))),
    ] {
        let (clean, count) = redactor.redact_text(&format!("data: {answer} end"));
        assert!(count >= 1, "{what}: {clean}");
        assert!(clean.starts_with("data: ") && clean.ends_with(" end"), "{what}: {clean}");
        assert!(clean.len() < 40, "{what}: the run is replaced whole: {clean}");
    }
}

#[test]
fn credentials_that_cannot_be_redacted_reliably_are_named() {
    assert_eq!(unredactable("sk_live_0123456789"), None);
    assert!(unredactable("short").is_some());
    assert!(unredactable("   short   ").is_some(), "spaces do not make it longer");
    assert!(unredactable("pässwörd-long-enough").is_some(), "non-ASCII");
    assert!(unredactable("sk_live_0123456789\n").is_some(), "a control character");
}

#[test]
fn escapes_of_escapes_in_any_order() {
    let percent_of_percent: String =
        SECRET.bytes().map(|b| format!("%{b:02x}")).collect::<String>().bytes().map(|b| format!("%{b:02X}")).collect();
    let html_of_percent: String = SECRET.bytes().map(|b| format!("&#37;{b:02x}")).collect();
    let json_of_percent: String = SECRET.bytes().map(|b| format!("\\u0025{b:02x}")).collect();
    let percent_of_html: String = SECRET.chars().map(|c| format!("%26%23{}%3B", c as u32)).collect();
    let universal: String = SECRET.chars().map(|c| format!("\\U{:08x}", c as u32)).collect();
    let thrice: String = SECRET
        .bytes()
        .map(|b| format!("%{b:02x}"))
        .collect::<String>()
        .bytes()
        .map(|b| format!("%{b:02x}"))
        .collect::<String>()
        .bytes()
        .map(|b| format!("%{b:02x}"))
        .collect();
    for answer in [percent_of_percent, html_of_percent, json_of_percent, percent_of_html, universal, thrice] {
        assert_gone(&answer);
    }
}

#[test]
fn base64_and_hex_grouped_with_spaces() {
    let encoded = STANDARD.encode(format!("{{\"token\":\"{SECRET}\"}}"));
    let spaced: String =
        encoded.as_bytes().chunks(4).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect::<Vec<_>>().join(" ");
    let hex_spaced: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
    for answer in [spaced, hex_spaced] {
        let (clean, count) = redacted(&answer);
        assert!(count >= 1 && !clean.contains(&answer[12..24]), "{answer} -> {clean}");
    }
}
