//! Paying for an operation past the month's allowance. Each surface meters its request (one
//! count) and hands the core a `Charge`: whether the org is past its allowance, and the payment
//! the request brought, if any (an x402 authorization over REST). The paid service charges
//! itself through it (`services/charging.rs`) after authorization and once the operation has
//! succeeded, inside the operation's own transaction, right before it commits: a paid write
//! that cannot be paid is rolled back, never kept unpaid, and credits spent or a nonce used
//! for an operation that is not kept are not spent either. The surface reads what happened (`Charge::outcome`) to answer in its own words:
//! REST with the x402 challenge or receipt, MCP and the dashboard with sentences.

use crate::Result;
use crate::billing::{PaidOperation, PaymentNonce};
use std::sync::{Arc, Mutex};

/// A payment a request offered (over REST, an x402 authorization), not yet taken.
#[async_trait::async_trait]
pub trait PendingPayment: Send + Sync {
    /// Checks, without the network, that the payment covers `operation`; answers the nonce
    /// that spends it (the core spends it inside the operation's transaction). A failure is
    /// `Error::PaymentRequired` saying why.
    async fn authorize(&self, operation: PaidOperation) -> Result<PaymentNonce>;

    /// Settles the payment `authorize` accepted; `first_use` is false when its nonce was spent
    /// already (by another request), which refuses it. Answers who paid and the settlement's
    /// reference (the chain transaction).
    async fn settle(&self, first_use: bool) -> Result<SettledPayment>;
}

/// A payment that was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPayment {
    pub payer: String,
    pub reference: String,
}

/// How an operation was paid for, or why it was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paid {
    /// With prepaid credits.
    Credits(PaidOperation),
    /// With the payment the request offered.
    Offered(PaidOperation),
    /// It could not be paid: the answer is 402 (or the surface's words for it).
    Refused(PaidOperation),
}

/// The metering of one request, as the core sees it.
pub struct Metered {
    over_allowance: bool,
    offer: Option<Arc<dyn PendingPayment>>,
    /// The request's HTTP method and path, as the paid-request history records them.
    method: String,
    endpoint: String,
    outcome: Mutex<Option<Paid>>,
}

/// What a caller's request owes: nothing (not metered: billing is off, or the server acts on
/// its own), or a metered request.
#[derive(Clone, Default)]
pub struct Charge(Option<Arc<Metered>>);

impl Charge {
    /// A metered request: past the allowance or not, with the payment it offered.
    pub fn metered(
        over_allowance: bool,
        offer: Option<Arc<dyn PendingPayment>>,
        method: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Self {
        Self(Some(Arc::new(Metered {
            over_allowance,
            offer,
            method: method.into(),
            endpoint: endpoint.into(),
            outcome: Mutex::new(None),
        })))
    }

    /// Whether paid operations must be paid for.
    pub fn over_allowance(&self) -> bool {
        self.0.as_ref().is_some_and(|metered| metered.over_allowance)
    }

    /// How the request's paid operation was paid, if it had one and got that far.
    pub fn outcome(&self) -> Option<Paid> {
        self.0.as_ref().and_then(|metered| metered.outcome.lock().ok().and_then(|outcome| *outcome))
    }

    pub(crate) fn record(&self, paid: Paid) {
        if let Some(metered) = &self.0
            && let Ok(mut outcome) = metered.outcome.lock()
        {
            *outcome = Some(paid);
        }
    }

    pub(crate) fn offer(&self) -> Option<&Arc<dyn PendingPayment>> {
        self.0.as_ref().and_then(|metered| metered.offer.as_ref())
    }

    /// The request's method and path, for the paid-request history.
    pub(crate) fn endpoint(&self) -> (&str, &str) {
        self.0.as_ref().map_or(("", ""), |metered| (metered.method.as_str(), metered.endpoint.as_str()))
    }
}

impl std::fmt::Debug for Charge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Charge(not metered)"),
            Some(metered) => f
                .debug_struct("Charge")
                .field("over_allowance", &metered.over_allowance)
                .field("offer", &metered.offer.is_some())
                .finish(),
        }
    }
}

/// Two charges are the same when they are the same request's.
impl PartialEq for Charge {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for Charge {}
