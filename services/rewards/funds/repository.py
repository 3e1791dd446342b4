"""Every query for reward funds and their ledgers.

Balances move only by conditional UPDATEs: a debit happens only while ``balance >= amount``
(RETURNING tells whether it did), so concurrent payments can never overdraw a fund; the
ledger's unique (claim_id, kind) stops a second payment or recovery of one claim even if
everything above failed, and the table CHECKs keep balances non-negative.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims.models import RewardClaim
from services.rewards.funds.models import RewardFund, RewardLedgerEntry


async def get_fund(session: AsyncSession, code: str) -> RewardFund | None:
    return await session.scalar(sa.select(RewardFund).where(RewardFund.code == code)
                                .execution_options(populate_existing=True))


async def list_funds(session: AsyncSession, jurisdiction: str | None = None
                     ) -> list[RewardFund]:
    query = sa.select(RewardFund)
    if jurisdiction:
        query = query.where(RewardFund.jurisdiction == jurisdiction)
    return list(await session.scalars(query.order_by(RewardFund.code)))


async def credit(session: AsyncSession, code: str, amount: Decimal, now: datetime, *,
                 total: str) -> Decimal | None:
    """Add ``amount`` to the balance and to the running ``total`` it belongs to
    (``deposited_cny`` for a deposit, ``recovered_cny`` for money recovered from a clawed-back
    claim); the balance after, or None for an unknown fund."""
    column = getattr(RewardFund, total)
    result = await session.execute(
        sa.update(RewardFund).where(RewardFund.code == code)
        .values({RewardFund.balance_cny: RewardFund.balance_cny + amount,
                 column: column + amount, RewardFund.updated_at: now})
        .returning(RewardFund.balance_cny).execution_options(synchronize_session=False))
    return result.scalar_one_or_none()


async def debit(session: AsyncSession, code: str, amount: Decimal, now: datetime
                ) -> Decimal | None:
    """Take ``amount`` only while the balance covers it; the balance after, or None when it
    did not (unknown fund or too little money: the row is untouched)."""
    result = await session.execute(
        sa.update(RewardFund).where(RewardFund.code == code, RewardFund.balance_cny >= amount)
        .values(balance_cny=RewardFund.balance_cny - amount,
                paid_cny=RewardFund.paid_cny + amount, updated_at=now)
        .returning(RewardFund.balance_cny).execution_options(synchronize_session=False))
    return result.scalar_one_or_none()


async def fund_exists(session: AsyncSession, code: str) -> bool:
    return await session.scalar(sa.select(sa.func.count()).select_from(RewardFund)
                                .where(RewardFund.code == code)) == 1


async def ledger(session: AsyncSession, code: str, *, after: int | None, limit: int
                 ) -> list[RewardLedgerEntry]:
    """Entries oldest first, after entry id ``after``."""
    query = sa.select(RewardLedgerEntry).where(RewardLedgerEntry.fund_code == code)
    if after is not None:
        query = query.where(RewardLedgerEntry.id > after)
    return list(await session.scalars(query.order_by(RewardLedgerEntry.id).limit(limit)))


async def blocked(session: AsyncSession, code: str) -> tuple[int, Decimal]:
    """Approved claims of the fund waiting for money: how many, how much."""
    count, total = (await session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(RewardClaim.amount_cny), 0))
        .where(RewardClaim.fund_code == code, RewardClaim.status == "approved",
               RewardClaim.payment_blocked.is_not(None)))).one()
    return int(count), Decimal(total)
