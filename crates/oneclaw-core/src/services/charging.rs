//! Charging a paid operation (read, write, share, audit query) past the month's allowance, in
//! two steps around the operation's transaction. Before it (`pay_before`, after authorization
//! and validation): decide how it is paid — prepaid credits if the org uses them and has
//! enough, else the payment the request offered, else `PaymentRequired` — and take any payment
//! that needs the network (x402: its nonce spent in a transaction of its own, then settled by
//! the facilitator), so no write transaction ever waits on a facilitator. Inside it
//! (`commit_paid`): spend the credits, record the paid request and its `billing.payment`
//! event, all committed with the operation or not at all. A payment that cannot be taken
//! means the operation is not done. See `ports/payment.rs` for how the surfaces take part.

use super::Deps;
use super::billing::{ALLOWANCE_USED_UP, Billing};
use super::change::{Change, record_alone};
use crate::audit::{AuditEvent, Outcome, action};
use crate::billing::{CreditEntry, OverageMethod, PaidOperation, PaidRequest};
use crate::ports::{Paid, SettledPayment};
use crate::principal::Caller;
use crate::{Error, Result};
use uuid::Uuid;

/// How an operation is paid, decided before its transaction.
#[derive(Debug)]
pub(crate) enum Payment {
    /// Nothing is owed: within the allowance, or not metered.
    Free,
    /// With credits, spent inside the transaction.
    Credits,
    /// With the request's x402 payment, already settled.
    Settled(SettledPayment),
}

/// Decides how `caller`'s request pays for `operation`, and takes a network payment now.
pub(crate) async fn pay_before(deps: &Deps, caller: &Caller, operation: PaidOperation) -> Result<Payment> {
    let charge = &caller.charge;
    let billing = Billing::new(deps);
    if !billing.enabled() || !charge.over_allowance() {
        return Ok(Payment::Free);
    }
    let org = caller.org_id();
    let (_, overage) = billing.plan(org).await?;
    if overage == OverageMethod::Credits && deps.store.credit_balance(org).await? >= operation.price_micros() {
        return Ok(Payment::Credits);
    }
    let refused = |err: Error| {
        charge.record(Paid::Refused(operation));
        err
    };
    let Some(offer) = charge.offer() else {
        return Err(refused(Error::PaymentRequired(ALLOWANCE_USED_UP.to_owned())));
    };
    let nonce = offer.authorize(operation).await.map_err(refused)?;
    // Spent before the facilitator is asked: of two requests with one payment, one spends it
    // and the other is refused without a second settlement.
    let mut spend = Change::begin(deps.store.as_ref()).await?;
    let first_use = spend.tx().consume_payment_nonce(&nonce, deps.clock.now()).await?;
    if first_use {
        spend.commit([]).await?;
    } else {
        // Ends the transaction now: nothing waits on it while the refusal is made.
        drop(spend);
    }
    match offer.settle(first_use).await {
        Ok(settled) => Ok(Payment::Settled(settled)),
        Err(err) => {
            // The authorization may have been settled after all (a facilitator that timed
            // out): the record lets an operator reconcile it.
            let event = AuditEvent::by(caller, action::BILLING_PAYMENT, "billing", deps.clock.now())
                .detail("operation", operation.name())
                .detail("paid_with", "x402")
                .detail("payer", nonce.payer.clone())
                .detail("reason", err.to_string())
                .outcome(Outcome::Failure);
            record_alone(deps.journal.as_ref(), event).await;
            Err(refused(err))
        }
    }
}

/// Records `payment` in `change` and commits it with `events`. Credits that ran out since
/// `pay_before` refuse the operation (the change is dropped).
pub(crate) async fn commit_paid(
    deps: &Deps,
    mut change: Change,
    caller: &Caller,
    operation: PaidOperation,
    payment: Payment,
    events: impl IntoIterator<Item = AuditEvent>,
) -> Result<()> {
    let charge = &caller.charge;
    let now = deps.clock.now();
    let (org, who) = (caller.org_id(), caller.principal.who);
    let (method, endpoint) = charge.endpoint();
    let price = operation.price_micros();
    let record = |paid_with: &str, reference: Option<&str>| PaidRequest {
        id: Uuid::now_v7(),
        org_id: org,
        principal: who,
        method: method.to_owned(),
        endpoint: endpoint.to_owned(),
        status_code: 0,
        price_micros: price,
        paid_with: paid_with.to_owned(),
        reference: reference.map(str::to_owned),
        created_at: now,
    };
    let event = |paid_with: &str| {
        AuditEvent::by_principal(who, org, &caller.meta, action::BILLING_PAYMENT, "billing", now)
            .detail("operation", operation.name())
            .detail("paid_with", paid_with)
            .detail("price_micros", price)
    };
    let paid = match &payment {
        Payment::Free => None,
        Payment::Credits => {
            let spend = CreditEntry {
                id: Uuid::now_v7(),
                org_id: org,
                kind: "usage".to_owned(),
                amount_micros: -price,
                balance_after_micros: 0,
                description: operation.name().to_owned(),
                created_at: now,
            };
            if change.tx().move_credits(&spend).await?.is_none() {
                charge.record(Paid::Refused(operation));
                return Err(Error::PaymentRequired(ALLOWANCE_USED_UP.to_owned()));
            }
            change.tx().insert_paid_request(&record("credits", None)).await?;
            charge.record(Paid::Credits(operation));
            Some(event("credits"))
        }
        Payment::Settled(settled) => {
            change.tx().insert_paid_request(&record("x402", Some(&settled.reference))).await?;
            charge.record(Paid::Offered(operation));
            Some(event("x402").detail("payer", settled.payer.clone()).detail("transaction", settled.reference.clone()))
        }
    };
    // A paid read is counted with its payment: an answer that is paid for is never refused
    // afterwards for want of a count.
    let count = change.count_request(caller).await?;
    let committed = change.commit(events.into_iter().chain(paid)).await;
    if let (Ok(()), Some(count)) = (&committed, count) {
        count.committed();
    }
    if let (Err(err), Payment::Settled(settled)) = (&committed, &payment) {
        // Paid on chain, not done: nothing here can record it (the store just failed).
        tracing::error!(error = %err, transaction = %settled.reference, payer = %settled.payer,
            "an x402 payment was settled but its operation could not be committed; refund it");
    }
    committed
}

/// Charges an operation that changes nothing (a read, a query) in a transaction of its own,
/// once its answer is in hand.
pub(crate) async fn charge_alone(deps: &Deps, caller: &Caller, operation: PaidOperation) -> Result<()> {
    let payment = pay_before(deps, caller, operation).await?;
    if matches!(payment, Payment::Free) {
        return Ok(());
    }
    commit_paid(deps, Change::begin(deps.store.as_ref()).await?, caller, operation, payment, []).await
}

/// Charges a read that changes nothing (a secret or env var read, a resolve) and records it,
/// once its answer is in hand. Past the allowance, the payment and the read's record commit in
/// one transaction: a paid read is never recorded unpaid, nor paid and unrecorded. Within it,
/// the record goes through the group-committing journal with the request's count.
pub(crate) async fn charge_and_record(
    deps: &Deps,
    caller: &Caller,
    operation: PaidOperation,
    event: AuditEvent,
) -> Result<()> {
    let payment = pay_before(deps, caller, operation).await?;
    if matches!(payment, Payment::Free) {
        return super::change::record_served(deps.journal.as_ref(), caller, event).await;
    }
    commit_paid(deps, Change::begin(deps.store.as_ref()).await?, caller, operation, payment, [event]).await
}

/// Gives back credits `charge_alone` took when the answer then could not be given (its record
/// could not be kept). A payment settled on chain cannot be given back; it stays recorded for an
/// operator to refund.
pub(crate) async fn uncharge(deps: &Deps, caller: &Caller) {
    if let Some(Paid::Credits(operation)) = caller.charge.outcome()
        && let Err(err) =
            Billing::new(deps).refund_credits(caller.org_id(), caller.principal.who, &caller.meta, operation, 503).await
    {
        tracing::warn!(error = %err, "could not refund the credits of an operation that was not served");
    }
}
