//! Charging a paid operation (read, write, share, audit query) past the month's allowance,
//! inside the operation's own transaction: prepaid credits if the org uses them and has
//! enough, else the payment the request offered (its nonce spent, then settled), else
//! `PaymentRequired`. The spend, the paid-request record and the `billing.payment` event commit
//! with the operation or not at all. See `ports/payment.rs` for how the surfaces take part.

use super::Deps;
use super::billing::{ALLOWANCE_USED_UP, Billing};
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::billing::{CreditEntry, OverageMethod, PaidOperation, PaidRequest};
use crate::ports::Paid;
use crate::principal::Caller;
use crate::{Error, Result};
use uuid::Uuid;

/// Charges `caller`'s request for `operation` inside `change`; the event to commit with it
/// (none when nothing was owed).
async fn charge_in(
    deps: &Deps,
    change: &mut Change,
    caller: &Caller,
    operation: PaidOperation,
) -> Result<Option<AuditEvent>> {
    let charge = &caller.charge;
    let billing = Billing::new(deps);
    if !billing.enabled() || !charge.over_allowance() {
        return Ok(None);
    }
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
    let (_, overage) = billing.plan(org).await?;
    if overage == OverageMethod::Credits {
        let spend = CreditEntry {
            id: Uuid::now_v7(),
            org_id: org,
            kind: "usage".to_owned(),
            amount_micros: -price,
            balance_after_micros: 0,
            description: operation.name().to_owned(),
            created_at: now,
        };
        if change.tx().move_credits(&spend).await?.is_some() {
            change.tx().insert_paid_request(&record("credits", None)).await?;
            charge.record(Paid::Credits(operation));
            return Ok(Some(event("credits")));
        }
    }
    let refused = |err: Error| {
        charge.record(Paid::Refused(operation));
        err
    };
    let Some(offer) = charge.offer() else {
        return Err(refused(Error::PaymentRequired(ALLOWANCE_USED_UP.to_owned())));
    };
    let nonce = offer.authorize(operation).await.map_err(refused)?;
    // Spent before it is settled, in this transaction: of two requests with one payment, one
    // spends it; the other waits for that commit and finds it spent.
    let first_use = change.tx().consume_payment_nonce(&nonce, now).await?;
    let settled = offer.settle(first_use).await.map_err(refused)?;
    change.tx().insert_paid_request(&record("x402", Some(&settled.reference))).await?;
    charge.record(Paid::Offered(operation));
    Ok(Some(event("x402").detail("payer", settled.payer).detail("transaction", settled.reference)))
}

/// Charges `caller` for `operation` and commits `change` with `events`: an operation that
/// cannot be paid is not kept (the change is dropped uncommitted, its spend with it).
pub(crate) async fn commit_paid(
    deps: &Deps,
    mut change: Change,
    caller: &Caller,
    operation: PaidOperation,
    events: impl IntoIterator<Item = AuditEvent>,
) -> Result<()> {
    let payment = charge_in(deps, &mut change, caller, operation).await?;
    change.commit(events.into_iter().chain(payment)).await
}

/// Charges an operation that changes nothing (a read, a query) in a transaction of its own,
/// once its answer is in hand.
pub(crate) async fn charge_alone(deps: &Deps, caller: &Caller, operation: PaidOperation) -> Result<()> {
    if !Billing::new(deps).enabled() || !caller.charge.over_allowance() {
        return Ok(());
    }
    commit_paid(deps, Change::begin(deps.store.as_ref()).await?, caller, operation, []).await
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
