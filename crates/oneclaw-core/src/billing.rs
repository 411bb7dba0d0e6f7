//! Billing vocabulary: tiers and their limits, the price of each paid operation, and the
//! records the store keeps (credit ledger entries, paid requests). The rules that use them live
//! in `services::billing`.

use crate::ids::OrgId;
use crate::principal::PrincipalRef;
use time::OffsetDateTime;
use uuid::Uuid;

/// An org's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Free,
    Pro,
    Business,
    Enterprise,
}

/// What a tier allows; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    pub requests_per_month: Option<i64>,
    pub vaults: Option<i64>,
    pub secrets: Option<i64>,
    pub agents: Option<i64>,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Business => "business",
            Self::Enterprise => "enterprise",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "free" => Some(Self::Free),
            "pro" => Some(Self::Pro),
            "business" => Some(Self::Business),
            "enterprise" => Some(Self::Enterprise),
            _ => None,
        }
    }

    /// The limits of 1claw's tiers; the free allowance of requests can be overridden.
    pub fn limits(self, free_requests: i64) -> TierLimits {
        match self {
            Self::Free => TierLimits {
                requests_per_month: Some(free_requests),
                vaults: Some(3),
                secrets: Some(50),
                agents: Some(2),
            },
            Self::Pro => {
                TierLimits { requests_per_month: Some(25_000), vaults: Some(25), secrets: Some(500), agents: Some(10) }
            }
            Self::Business => TierLimits {
                requests_per_month: Some(100_000),
                vaults: Some(100),
                secrets: Some(5_000),
                agents: Some(50),
            },
            Self::Enterprise => TierLimits { requests_per_month: None, vaults: None, secrets: None, agents: None },
        }
    }
}

/// How requests past the monthly allowance are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverageMethod {
    /// Prepaid credits first; x402 when they run out.
    Credits,
    /// x402 micropayments only.
    X402,
}

impl OverageMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credits => "credits",
            Self::X402 => "x402",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "credits" => Some(Self::Credits),
            "x402" => Some(Self::X402),
            _ => None,
        }
    }
}

/// A paid operation and its price in micro-dollars (= USDC atomic units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidOperation {
    ReadSecret,
    WriteSecret,
    CreateShare,
    AccessShare,
    AuditQuery,
}

impl PaidOperation {
    pub fn price_micros(self) -> i64 {
        match self {
            Self::ReadSecret | Self::AccessShare => 1_000,
            Self::WriteSecret => 5_000,
            Self::CreateShare => 2_000,
            Self::AuditQuery => 500,
        }
    }

    /// The name 1claw's 402 bodies use.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadSecret => "read_secret",
            Self::WriteSecret => "write_secret",
            Self::CreateShare => "create_share",
            Self::AccessShare => "access_share",
            Self::AuditQuery => "audit_query",
        }
    }
}

/// A resource a tier limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Vaults,
    Secrets,
    Agents,
}

/// What an org holds now, against its tier's resource limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceCounts {
    pub vaults: i64,
    pub secrets: i64,
    pub agents: i64,
}

/// One movement of prepaid credits.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditEntry {
    pub id: Uuid,
    pub org_id: OrgId,
    /// `topup` (granted) or `usage` (spent).
    pub kind: String,
    pub amount_micros: i64,
    pub balance_after_micros: i64,
    pub description: String,
    pub created_at: OffsetDateTime,
}

/// A request paid for past the allowance.
#[derive(Debug, Clone, PartialEq)]
pub struct PaidRequest {
    pub id: Uuid,
    pub org_id: OrgId,
    pub principal: PrincipalRef,
    pub method: String,
    pub endpoint: String,
    pub status_code: i64,
    pub price_micros: i64,
    /// `credits` or `x402`.
    pub paid_with: String,
    /// The settlement transaction, for x402.
    pub reference: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The calendar month (UTC) a moment falls in, as `YYYY-MM`: the metering period.
pub fn month_of(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// The calendar month (UTC) a moment falls in, as its first moment and the next month's.
pub fn month_bounds(at: OffsetDateTime) -> crate::Result<(OffsetDateTime, OffsetDateTime)> {
    let at = at.to_offset(time::UtcOffset::UTC);
    let first = |year: i32, month: time::Month| {
        time::Date::from_calendar_date(year, month, 1)
            .map(|day| day.midnight().assume_utc())
            .map_err(|_| crate::Error::Internal("a month out of range".to_owned()))
    };
    let next_year = if at.month() == time::Month::December { at.year() + 1 } else { at.year() };
    Ok((first(at.year(), at.month())?, first(next_year, at.month().next())?))
}

/// An x402 authorization, as spent: once per (chain, asset, payer, nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNonce {
    pub org_id: OrgId,
    pub chain_id: i64,
    pub asset: String,
    pub payer: String,
    pub nonce: String,
    /// Unix seconds after which the authorization cannot settle anyway.
    pub valid_before: i64,
}

#[cfg(test)]
mod month_tests {
    use super::{month_bounds, month_of};
    use time::macros::datetime;

    #[test]
    fn a_month_runs_from_its_first_moment_to_the_next_months() {
        let (since, until) = month_bounds(datetime!(2026-12-07 05:00 UTC)).unwrap();
        assert_eq!((since, until), (datetime!(2026-12-01 0:00 UTC), datetime!(2027-01-01 0:00 UTC)));
        let (since, until) = month_bounds(datetime!(2026-02-28 23:59:59 UTC)).unwrap();
        assert_eq!((since, until), (datetime!(2026-02-01 0:00 UTC), datetime!(2026-03-01 0:00 UTC)));
        assert_eq!(month_of(since), "2026-02");
        assert_eq!(month_of(until - time::Duration::nanoseconds(1)), "2026-02");
    }
}
