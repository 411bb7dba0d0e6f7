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
use crate::ids::OrgId;
use std::sync::atomic::{AtomicU8, Ordering};
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
    /// The request's count, when it is to be counted once served (a read): the audit journal
    /// commits it with the request's record, or the surface counts it after the answer.
    count: Option<(OrgId, String)>,
    count_state: AtomicU8,
    /// Gives the request's place back, left here by a request that went away while the
    /// journal held its count: run if the journal then releases the count uncommitted. Held
    /// while `count_state` is read or moved back from taken, so the two cannot miss each other.
    give_back: Mutex<Option<GiveBack>>,
}

/// Returns a request's place in its org's month.
type GiveBack = Box<dyn FnOnce() + Send>;

/// `Metered::count_state`: not yet taken, taken by a journal record, committed with it.
const COUNT_PENDING: u8 = 0;
const COUNT_TAKEN: u8 = 1;
const COUNT_COMMITTED: u8 = 2;

/// A served request's count, handed to the audit journal so that it is committed in the same
/// transaction as the request's record (one durable commit for both).
pub struct CountTicket(Arc<Metered>);

impl CountTicket {
    /// The org and month (`YYYY-MM`) the request counts in.
    pub fn org_and_month(&self) -> Option<(OrgId, &str)> {
        self.0.count.as_ref().map(|(org, month)| (*org, month.as_str()))
    }

    /// Says that the transaction holding the count has committed.
    pub fn committed(&self) {
        self.0.count_state.store(COUNT_COMMITTED, Ordering::Release);
    }

    /// The journal left the request out (its caller had gone, so it was never served): nothing
    /// will count it, and its place goes back, now or when the request lets go of it.
    pub fn released(self) {
        let give_back = {
            let mut held = self.0.give_back.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let moved_back = self
                .0
                .count_state
                .compare_exchange(COUNT_TAKEN, COUNT_PENDING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if moved_back { held.take() } else { None }
        };
        if let Some(give_back) = give_back {
            give_back();
        }
    }
}

impl std::fmt::Debug for CountTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CountTicket")
    }
}

/// What a caller's request owes: nothing (not metered: billing is off, or the server acts on
/// its own), or a metered request.
#[derive(Clone, Default)]
pub struct Charge(Option<Arc<Metered>>);

impl Charge {
    /// A metered request: past the allowance or not, with the payment it offered.
    /// `count_when_served`: the org and month this request is still to be counted in, once
    /// served (`None` when the surface counted it already).
    pub fn metered(
        over_allowance: bool,
        offer: Option<Arc<dyn PendingPayment>>,
        method: impl Into<String>,
        endpoint: impl Into<String>,
        count_when_served: Option<(OrgId, String)>,
    ) -> Self {
        Self(Some(Arc::new(Metered {
            over_allowance,
            offer,
            method: method.into(),
            endpoint: endpoint.into(),
            outcome: Mutex::new(None),
            count: count_when_served,
            count_state: AtomicU8::new(COUNT_PENDING),
            give_back: Mutex::new(None),
        })))
    }

    /// The request's count, for the journal to commit with its record; only the first caller
    /// gets it, and only if the request is still to be counted.
    pub fn take_count(&self) -> Option<CountTicket> {
        let metered = self.0.as_ref().filter(|metered| metered.count.is_some())?;
        metered
            .count_state
            .compare_exchange(COUNT_PENDING, COUNT_TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| CountTicket(Arc::clone(metered)))
    }

    /// For a request that is not served or has gone: runs `give_back` (which returns its
    /// place) once nothing can count it any more: at once if its count was never handed to the
    /// journal, later if the journal holds it and then leaves it out (`CountTicket::released`),
    /// never if it is committed (the request was counted, its place used).
    pub fn when_uncounted(&self, give_back: impl FnOnce() + Send + 'static) {
        let Some(metered) = self.0.as_ref().filter(|metered| metered.count.is_some()) else { return };
        let mut held = metered.give_back.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match metered.count_state.load(Ordering::Acquire) {
            COUNT_PENDING => {
                drop(held);
                give_back();
            }
            COUNT_TAKEN => *held = Some(Box::new(give_back)),
            _ => {}
        }
    }

    /// Whether the request's count was committed with its audit record.
    pub fn count_committed(&self) -> bool {
        self.0.as_ref().is_some_and(|metered| metered.count_state.load(Ordering::Acquire) == COUNT_COMMITTED)
    }

    /// The month (`YYYY-MM`) the request is still to be counted in once served, while its
    /// count is not in the store yet.
    pub fn pending_count_month(&self) -> Option<&str> {
        let metered = self.0.as_ref()?;
        let (_, month) = metered.count.as_ref()?;
        (metered.count_state.load(Ordering::Acquire) != COUNT_COMMITTED).then_some(month.as_str())
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

#[cfg(test)]
mod tests {
    use super::Charge;
    use crate::ids::OrgId;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counted_read() -> Charge {
        Charge::metered(false, None, "GET", "/v1/x", Some((OrgId::generate(), "2026-12".to_owned())))
    }

    fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Box<dyn FnOnce() + Send>) {
        let given_back = Arc::new(AtomicUsize::new(0));
        let handle = Arc::clone(&given_back);
        (given_back, move || {
            let handle = Arc::clone(&handle);
            Box::new(move || {
                handle.fetch_add(1, Ordering::SeqCst);
            })
        })
    }

    /// A request gone with its count in the journal gets its place back exactly once, whether
    /// the journal leaves the count out before or after the request lets go; never once the
    /// count is committed, and at once if the count was never taken.
    #[test]
    fn a_place_goes_back_once_nothing_can_count_it_and_never_after_its_count_committed() {
        let (given_back, give_back) = counter();

        let charge = counted_read();
        let ticket = charge.take_count().unwrap();
        charge.when_uncounted(give_back());
        assert_eq!(given_back.load(Ordering::SeqCst), 0, "the journal may still commit it");
        ticket.released();
        assert_eq!(given_back.load(Ordering::SeqCst), 1, "released after the request let go");

        let charge = counted_read();
        charge.take_count().unwrap().released();
        charge.when_uncounted(give_back());
        assert_eq!(given_back.load(Ordering::SeqCst), 2, "released before the request let go");

        let charge = counted_read();
        let ticket = charge.take_count().unwrap();
        ticket.committed();
        charge.when_uncounted(give_back());
        ticket.released();
        assert_eq!(given_back.load(Ordering::SeqCst), 2, "a committed count keeps its place");

        counted_read().when_uncounted(give_back());
        assert_eq!(given_back.load(Ordering::SeqCst), 3, "a count never taken goes back at once");
    }
}
