//! Conversions between domain values and their column forms: times as unix milliseconds, JSON as
//! text, principal kinds as `user`/`agent`.

use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
use oneclaw_core::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn to_ms(at: OffsetDateTime) -> i64 {
    // Rounded down (toward the past, also before 1970), as `to_ms_rounded_up` rounds up.
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// The first whole millisecond at or after `at`: stored times are whole milliseconds, so a
/// time stored at or after `at` is at or after this (`to_ms` would take in the millisecond
/// that began before `at`).
pub(crate) fn to_ms_rounded_up(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    let ms = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| Error::Internal(format!("stored time {ms} is out of range")))
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(from_ms).transpose()
}

pub(crate) fn to_json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

pub(crate) fn from_json_text(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|err| Error::Internal(format!("stored JSON is invalid: {err}")))
}

pub(crate) fn principal(kind: &str, id: Uuid) -> Result<PrincipalRef> {
    let kind = PrincipalKind::parse(kind).ok_or_else(|| Error::Internal(format!("stored principal kind {kind:?}")))?;
    Ok(PrincipalRef { kind, id })
}
