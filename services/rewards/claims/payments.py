"""Paying approved claims from their fund's ledger, in the transaction that approved them.

A claim is paid when its fund (the rule's ``fund`` code) exists and the conditional debit
succeeds: the ledger entry (kind payment, unique per claim), the claim's move to ``paid`` and
``claim.paid`` commit together. Otherwise the claim stays ``approved`` with
``payment_blocked`` = ``fund_missing`` | ``insufficient_balance``, and is paid later: by a
deposit into (or the creation of) its fund, or by the retry task, oldest approval first.
Every writer locks a claim first, then its cap tallies, then the fund (deposits and the
retry task skip claims another transaction holds). Where PostgreSQL still finds two transactions
waiting on each other — a consumer batch that paid one claim and reserves for the next while an
officer's approval of that organisation's claim waits for the fund — it aborts one: the consumer
retries the batch, an HTTP caller gets a 409 it may retry. The fund's row stays locked until a
batch commits, so an approval during a burst of events waits for the batch (seconds at most).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rewards.claims import events
from services.rewards.claims import repository as claims
from services.rewards.claims.models import RewardClaim
from services.rewards.funds import repository as funds
from services.rewards.funds.models import RewardFund, RewardLedgerEntry
from shared.app import PeriodicTask
from shared.db import today_cn, utcnow

log = structlog.get_logger("rewards.payments")

FUND_MISSING = "fund_missing"
INSUFFICIENT_BALANCE = "insufficient_balance"
#: How often blocked payments are retried, and how many per run (oldest approval first).
RETRY_INTERVAL_S = 3.0
RETRY_BATCH = 100


async def pay(session: AsyncSession, claim: RewardClaim, *, by: str, now: datetime,
              today: date | None = None, pending: events.Pending | None = None) -> bool:
    """Pay an approved, unpaid (and locked) claim from its fund; whether it was paid."""
    if claim.status != "approved" or claim.paid_cny is not None:
        return False
    amount = Decimal(claim.amount_cny or 0)
    if amount <= 0:
        return False
    balance = await funds.debit(session, claim.fund_code, amount, now)
    if balance is None:
        reason = (INSUFFICIENT_BALANCE if await funds.fund_exists(session, claim.fund_code)
                  else FUND_MISSING)
        if claim.payment_blocked != reason:
            claim.payment_blocked = reason
            claim.updated_at = now
        log.info("rewards.claim.payment_blocked", claim_id=claim.id, fund=claim.fund_code,
                 amount=events.money_str(amount), reason=reason)
        return False
    today = today or today_cn()
    entry_id = await session.scalar(sa.insert(RewardLedgerEntry).values(
        fund_code=claim.fund_code, kind="payment", amount_cny=-amount,
        balance_after_cny=balance, claim_id=claim.id,
        reference=f"{claim.pack_ref} {claim.rule_code} {claim.item_ref}"[:200],
        note=f"reward claim {claim.id} ({claim.uscc})", booked_on=today, by=by, at=now)
        .returning(RewardLedgerEntry.id))
    claim.status = "paid"
    claim.paid_cny = amount
    claim.paid_on = today
    claim.ledger_entry_id = entry_id
    claim.payment_blocked = None
    claim.revision += 1
    claim.updated_at = now
    await events.publish(session, "claim.paid", claim, pending)
    log.info("rewards.claim.paid", claim_id=claim.id, fund=claim.fund_code,
             amount=events.money_str(amount), balance=events.money_str(balance))
    return True


def _blocked(fund_code: str | None, *, payable_only: bool) -> list:
    conditions = [RewardClaim.status == "approved", RewardClaim.paid_cny.is_(None),
                  RewardClaim.payment_blocked.is_not(None)]
    if fund_code is not None:
        conditions.append(RewardClaim.fund_code == fund_code)
    if payable_only:
        balance = (sa.select(RewardFund.balance_cny)
                   .where(RewardFund.code == RewardClaim.fund_code).scalar_subquery())
        conditions.append(RewardClaim.amount_cny <= balance)
    return conditions


async def lock_blocked(session: AsyncSession, fund_code: str | None, *, limit: int,
                       payable_only: bool = False) -> list[RewardClaim]:
    """Approved claims waiting for money (of one fund), oldest approval first, locked; those
    another transaction holds are skipped (PostgreSQL ``SKIP LOCKED``)."""
    return await claims.lock_claims(
        session, *_blocked(fund_code, payable_only=payable_only), skip_locked=True,
        limit=limit, order_by=(RewardClaim.decided_at, RewardClaim.id))


async def pay_blocked(session: AsyncSession, *, fund_code: str | None = None,
                      limit: int = RETRY_BATCH, by: str = "system",
                      payable_only: bool = True) -> dict[str, int]:
    """Retry blocked payments, oldest approval first among those the fund's balance covers
    now (a large claim does not hold up smaller ones behind it); claims another transaction
    holds are skipped (PostgreSQL ``SKIP LOCKED``), so replicas never pay one claim twice.
    ``payable_only=False`` also refreshes why the others wait (a fund was just created)."""
    candidates = await lock_blocked(session, fund_code, limit=limit, payable_only=payable_only)
    now = utcnow()
    paid = 0
    for claim in candidates:
        if await pay(session, claim, by=by, now=now):
            paid += 1
    return {"paid": paid, "still_blocked": len(candidates) - paid}


async def retry_blocked_payments(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """The periodic task: a write transaction only when some fund can pay a waiting claim."""
    async with factory() as session:
        waiting = await session.scalar(sa.select(sa.func.count()).select_from(RewardClaim)
                                       .where(*_blocked(None, payable_only=True)))
    if not waiting:
        return {}
    async with factory() as session, session.begin():
        return await pay_blocked(session)


PERIODIC_TASKS = [PeriodicTask("rewards-payment-retry", RETRY_INTERVAL_S,
                               retry_blocked_payments)]
