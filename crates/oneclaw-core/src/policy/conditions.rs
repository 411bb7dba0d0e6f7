//! Policy conditions, checked on every request: `ip_allowlist` (IPs and CIDRs, v4 and v6),
//! `time_window` (`after`, `before`, `timezone`, `days_of_week`) and `require_approval` (a
//! human approves each use, see `ApprovalRule`). Any other key is refused when the policy is
//! written, so a condition can never be silently ignored.

use crate::{Error, Result};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;
use time::OffsetDateTime;

const KNOWN: &str = "ip_allowlist, time_window, require_approval";

/// The longest window an approval may open, whatever a policy says: a day.
pub const MAX_APPROVAL_WINDOW_SECONDS: i64 = 86_400;

/// The parsed conditions of a policy; empty means "always".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub ip_allowlist: Option<Vec<IpNet>>,
    pub time_window: Option<TimeWindow>,
    /// Each use the policy allows must first be approved by a human.
    pub require_approval: Option<ApprovalRule>,
    /// The conditions as given (validated), echoed back on reads.
    json: Map<String, Value>,
}

/// A daily window in a time zone, optionally on some days only. `after` later than `before`
/// spans midnight (22:00 to 06:00). Days are those of the local date at the moment of the
/// request.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWindow {
    after: Option<u16>,
    before: Option<u16>,
    zone: jiff::tz::TimeZone,
    days: Option<Vec<jiff::civil::Weekday>>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_field("conditions", message)
}

impl Conditions {
    /// Validates conditions from a request; `None` or `{}` is "always".
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let map = match value {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(invalid("must be a JSON object")),
        };
        let mut conditions = Self { json: map.clone(), ..Self::default() };
        for (key, value) in map {
            match key.as_str() {
                "ip_allowlist" => conditions.ip_allowlist = Some(parse_allowlist(value)?),
                "time_window" => conditions.time_window = Some(TimeWindow::parse(value)?),
                "require_approval" => conditions.require_approval = ApprovalRule::parse(value)?,
                other => {
                    return Err(invalid(format!("unknown condition {other:?}; supported: {KNOWN}")));
                }
            }
        }
        Ok(conditions)
    }

    /// The conditions as JSON, for storage and responses.
    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }

    /// True when every condition holds for a request at `now` from `ip`. A request whose
    /// address is unknown fails an IP condition (fail closed).
    pub fn hold(&self, now: OffsetDateTime, ip: Option<IpAddr>) -> bool {
        let ip_ok = match &self.ip_allowlist {
            None => true,
            Some(nets) => ip.is_some_and(|ip| ip_in(nets, ip)),
        };
        ip_ok && self.time_window.as_ref().is_none_or(|window| window.contains(now))
    }
}

/// True when `ip` (IPv4-mapped IPv6 addresses counted as IPv4) is in one of `nets`.
pub fn ip_in(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    nets.iter().any(|net| net.contains(&ip))
}

/// Parses one IP or CIDR (`10.0.0.0/8`, `1.2.3.4`, `2001:db8::/32`, `::1`).
pub fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

fn parse_allowlist(value: &Value) -> Result<Vec<IpNet>> {
    let entries = value.as_array().ok_or_else(|| invalid("ip_allowlist must be a list of IPs or CIDRs"))?;
    if entries.is_empty() {
        return Err(invalid("ip_allowlist must not be empty (it would match nothing)"));
    }
    entries
        .iter()
        .map(|entry| {
            entry
                .as_str()
                .and_then(parse_net)
                .ok_or_else(|| invalid(format!("ip_allowlist entry {entry} is not an IP address or CIDR")))
        })
        .collect()
}

/// `require_approval`: `true` (every permission of the policy, one use per approval), or an
/// object narrowing it: `permissions` (which of the policy's permissions need approval),
/// `max_window_seconds` (an approver may open a window up to this long instead of one use;
/// 0, the default, is one use only) and `approvers` (user ids who may approve besides the
/// vault's owner and the org's admins).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApprovalRule {
    pub permissions: Option<Vec<super::Permission>>,
    pub max_window_seconds: i64,
    pub approvers: Vec<uuid::Uuid>,
}

impl ApprovalRule {
    fn parse(value: &Value) -> Result<Option<Self>> {
        let map = match value {
            Value::Bool(true) => return Ok(Some(Self::default())),
            Value::Bool(false) => return Ok(None),
            Value::Object(map) => map,
            _ => return Err(invalid("require_approval must be true, false or an object")),
        };
        let mut rule = Self::default();
        for (key, value) in map {
            match key.as_str() {
                "permissions" => {
                    let entries = value
                        .as_array()
                        .filter(|entries| !entries.is_empty())
                        .ok_or_else(|| invalid("require_approval.permissions must be a non-empty list"))?;
                    let names = entries.iter().map(|entry| entry.as_str().unwrap_or_default());
                    rule.permissions = Some(names.map(super::Permission::parse).collect::<Result<_>>()?);
                }
                "max_window_seconds" => {
                    rule.max_window_seconds = value
                        .as_i64()
                        .filter(|secs| (0..=MAX_APPROVAL_WINDOW_SECONDS).contains(secs))
                        .ok_or_else(|| {
                            invalid(format!(
                                "require_approval.max_window_seconds must be 0 to {MAX_APPROVAL_WINDOW_SECONDS}"
                            ))
                        })?;
                }
                "approvers" => {
                    let entries = value
                        .as_array()
                        .ok_or_else(|| invalid("require_approval.approvers must be a list of user ids"))?;
                    rule.approvers = entries
                        .iter()
                        .map(|entry| {
                            entry.as_str().and_then(|text| uuid::Uuid::parse_str(text).ok()).ok_or_else(|| {
                                invalid(format!("require_approval.approvers entry {entry} is not a user id"))
                            })
                        })
                        .collect::<Result<_>>()?;
                }
                other => {
                    return Err(invalid(format!(
                        "unknown require_approval key {other:?}; supported: permissions, max_window_seconds, approvers"
                    )));
                }
            }
        }
        Ok(Some(rule))
    }

    /// True when an operation allowed by `granted` (the policy's permissions) needs approval.
    pub fn applies_to(&self, operation: super::Operation, granted: &[super::Permission]) -> bool {
        match &self.permissions {
            None => true,
            Some(gated) => operation
                .allowed_by()
                .iter()
                .any(|permission| granted.contains(permission) && gated.contains(permission)),
        }
    }
}

impl TimeWindow {
    fn parse(value: &Value) -> Result<Self> {
        let map = value.as_object().ok_or_else(|| invalid("time_window must be an object"))?;
        let mut window = Self { after: None, before: None, zone: jiff::tz::TimeZone::UTC, days: None };
        for (key, value) in map {
            match key.as_str() {
                "after" => window.after = Some(parse_clock(value, "after")?),
                "before" => window.before = Some(parse_clock(value, "before")?),
                "timezone" => {
                    let name = value.as_str().ok_or_else(|| invalid("time_window.timezone must be a string"))?;
                    window.zone = jiff::tz::TimeZone::get(name)
                        .map_err(|_| invalid(format!("time_window.timezone {name:?} is not an IANA time zone")))?;
                }
                "days_of_week" => window.days = Some(parse_days(value)?),
                other => {
                    return Err(invalid(format!(
                        "unknown time_window key {other:?}; supported: after, before, timezone, days_of_week"
                    )));
                }
            }
        }
        if window.after.is_none() && window.before.is_none() && window.days.is_none() {
            return Err(invalid("time_window needs after, before or days_of_week"));
        }
        Ok(window)
    }

    fn contains(&self, now: OffsetDateTime) -> bool {
        let Ok(timestamp) = jiff::Timestamp::from_second(now.unix_timestamp()) else { return false };
        let local = self.zone.to_datetime(timestamp);
        if let Some(days) = &self.days
            && !days.contains(&local.weekday())
        {
            return false;
        }
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        match (self.after, self.before) {
            (None, None) => true,
            (Some(after), None) => minute >= after,
            (None, Some(before)) => minute < before,
            (Some(after), Some(before)) if after <= before => minute >= after && minute < before,
            (Some(after), Some(before)) => minute >= after || minute < before,
        }
    }
}

/// `HH:MM` (24-hour) as minutes after midnight.
fn parse_clock(value: &Value, key: &str) -> Result<u16> {
    let bad = || invalid(format!("time_window.{key} must be a time like \"08:30\""));
    let text = value.as_str().ok_or_else(bad)?;
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if hours > 23 || minutes > 59 || text.len() != 5 {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

fn parse_days(value: &Value) -> Result<Vec<jiff::civil::Weekday>> {
    use jiff::civil::Weekday;
    let entries = value.as_array().ok_or_else(|| invalid("time_window.days_of_week must be a list of day names"))?;
    if entries.is_empty() {
        return Err(invalid("time_window.days_of_week must not be empty"));
    }
    entries
        .iter()
        .map(|entry| {
            let name = entry.as_str().unwrap_or_default().to_ascii_lowercase();
            Ok(match name.get(..3).unwrap_or_default() {
                "mon" => Weekday::Monday,
                "tue" => Weekday::Tuesday,
                "wed" => Weekday::Wednesday,
                "thu" => Weekday::Thursday,
                "fri" => Weekday::Friday,
                "sat" => Weekday::Saturday,
                "sun" => Weekday::Sunday,
                _ => return Err(invalid(format!("time_window.days_of_week entry {entry} is not a day name"))),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn parse(value: Value) -> Result<Conditions> {
        Conditions::parse(Some(&value))
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        for bad in [
            json!({"environment_in": ["prod"]}),
            json!({"ip_allowlist": "10.0.0.0/8"}),
            json!({"ip_allowlist": ["10.0.0.0/33"]}),
            json!({"ip_allowlist": []}),
            json!({"time_window": {"after": "8:00"}}),
            json!({"time_window": {"after": "25:00"}}),
            json!({"time_window": {"timezone": "Mars/Olympus"}}),
            json!({"time_window": {"after": "08:00", "weekdays": ["mon"]}}),
            json!({"time_window": {"days_of_week": ["funday"]}}),
            json!({"time_window": {}}),
            json!([1]),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(parse(json!({})).unwrap(), Conditions::default().with_json(json!({})));
    }

    impl Conditions {
        fn with_json(mut self, value: Value) -> Self {
            self.json = value.as_object().cloned().unwrap_or_default();
            self
        }
    }

    #[test]
    fn ip_allowlists_match_v4_v6_and_mapped_addresses() {
        let conditions = parse(json!({"ip_allowlist": ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]})).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        for inside in ["10.1.2.3", "192.168.1.7", "2001:db8::1", "::ffff:10.9.9.9"] {
            assert!(conditions.hold(now, Some(inside.parse().unwrap())), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.8", "2001:db9::1", "::1"] {
            assert!(!conditions.hold(now, Some(outside.parse().unwrap())), "{outside}");
        }
        assert!(!conditions.hold(now, None), "an unknown address fails closed");
    }

    #[test]
    fn time_windows_follow_the_zone_the_days_and_midnight() {
        let office = parse(json!({"time_window": {"after": "09:00", "before": "17:00", "timezone": "Europe/Berlin", "days_of_week": ["mon", "Tuesday"]}})).unwrap();
        // Monday 2026-11-30: 08:30 UTC is 09:30 in Berlin (CET, UTC+1).
        assert!(office.hold(datetime!(2026-11-30 08:30 UTC), None));
        assert!(!office.hold(datetime!(2026-11-30 07:30 UTC), None), "08:30 local is before the window");
        assert!(!office.hold(datetime!(2026-11-30 16:00 UTC), None), "17:00 local is the end");
        assert!(!office.hold(datetime!(2026-12-02 10:00 UTC), None), "Wednesday is not listed");
        let night = parse(json!({"time_window": {"after": "22:00", "before": "06:00"}})).unwrap();
        assert!(night.hold(datetime!(2026-11-30 23:00 UTC), None));
        assert!(night.hold(datetime!(2026-11-30 05:59 UTC), None));
        assert!(!night.hold(datetime!(2026-11-30 12:00 UTC), None));
    }
}
