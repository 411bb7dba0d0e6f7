//! Server-side generation of secret values for rotation.

use crate::{Error, Result};
use oneclaw_types::SecretString;

/// Default length of a generated value, in characters.
pub const DEFAULT_LENGTH: usize = 32;
/// Shortest and longest generated value.
pub const LENGTH_RANGE: std::ops::RangeInclusive<usize> = 8..=4096;

pub use oneclaw_types::charset::Charset;

/// The charset named `name` (`hex`, `base64`, `alphanumeric` or `ascii`).
pub fn parse_charset(name: &str) -> Result<Charset> {
    Charset::parse(name)
        .ok_or_else(|| Error::invalid_field("charset", "must be one of hex, base64, alphanumeric, ascii"))
}

fn alphabet(charset: Charset) -> &'static [u8] {
    match charset {
        Charset::Hex => b"0123456789abcdef",
        Charset::Base64 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        Charset::Alphanumeric => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        // Printable ASCII without the space, which shells and config files mangle.
        Charset::Ascii => {
            b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
        }
    }
}

/// A uniformly random string of `length` characters from the charset.
pub fn random_value(length: usize, charset: Charset) -> Result<SecretString> {
    if !LENGTH_RANGE.contains(&length) {
        return Err(Error::invalid_field(
            "length",
            format!("must be between {} and {}", LENGTH_RANGE.start(), LENGTH_RANGE.end()),
        ));
    }
    let alphabet = alphabet(charset);
    let value: String = (0..length).map(|_| char::from(alphabet[rand::random_range(0..alphabet.len())])).collect();
    Ok(SecretString::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_length_and_alphabet_asked_for() {
        for charset in Charset::ALL {
            let value = random_value(64, charset).unwrap();
            assert_eq!(value.expose().chars().count(), 64);
            assert!(value.expose().bytes().all(|b| alphabet(charset).contains(&b)));
        }
        assert!(random_value(64, Charset::Hex).unwrap() != random_value(64, Charset::Hex).unwrap());
    }

    #[test]
    fn lengths_out_of_range_are_refused() {
        assert!(random_value(7, Charset::Hex).is_err());
        assert!(random_value(4097, Charset::Hex).is_err());
        assert!(parse_charset("emoji").is_err());
    }
}
