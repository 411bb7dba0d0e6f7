//! A payment a request brought with it (an x402 authorization), taken by the paid service
//! itself just before its change commits: a paid write that cannot be settled is rolled back,
//! never kept unpaid. The server admits the offer before the handler runs (checked offline,
//! its nonce spent once); the service only says "settle now".

use crate::Result;
use std::sync::Arc;

/// An admitted, not yet settled payment.
#[async_trait::async_trait]
pub trait PendingPayment: Send + Sync {
    /// Settles it (the facilitator moves the funds). Idempotent: a second call answers as the
    /// first did. A failure is `Error::PaymentRequired` saying why.
    async fn settle(&self) -> Result<()>;
}

/// What a caller offers to pay with: usually nothing (within the allowance, paid with credits,
/// or a surface without x402).
#[derive(Clone, Default)]
pub struct Charge(Option<Arc<dyn PendingPayment>>);

impl Charge {
    /// A charge that settles `payment`.
    pub fn of(payment: Arc<dyn PendingPayment>) -> Self {
        Self(Some(payment))
    }

    /// Settles the offered payment, if there is one. A paid write calls this inside its
    /// transaction, right before the commit; the error leaves the transaction uncommitted.
    pub async fn settle(&self) -> Result<()> {
        match &self.0 {
            Some(payment) => payment.settle().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Charge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Charge(pending payment)" } else { "Charge(none)" })
    }
}

/// Two charges are the same when they settle the same payment.
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
