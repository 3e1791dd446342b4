"""Every query for compensation funds, ledgers and claims (and the loan facts claims read).

Balances move only by conditional UPDATEs: a debit happens only while ``balance >= amount``
(rowcount / RETURNING tells whether it did), so concurrent payments can never overdraw a fund;
a claim moves to ``paid`` only from ``filed``, and the ledger's unique claim_id stops a second
payment even if everything else failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.compensation.models import Claim, Fund, LedgerEntry
from services.financing.loans.models import Loan
from shared.errors import InvalidInput


def add(session: AsyncSession, row: Any) -> None:
    session.add(row)


# --- funds --------------------------------------------------------------------------------------

async def get_fund(session: AsyncSession, fund_id: str, *, for_update: bool = False
                   ) -> Fund | None:
    query = sa.select(Fund).where(Fund.id == fund_id).execution_options(populate_existing=True)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_funds(session: AsyncSession, jurisdiction: str | None = None) -> list[Fund]:
    query = sa.select(Fund)
    if jurisdiction:
        query = query.where(Fund.jurisdiction == jurisdiction)
    return list(await session.scalars(query.order_by(Fund.jurisdiction, Fund.created_at, Fund.id)))


async def credit(session: AsyncSession, fund_id: str, amount: Decimal, now: datetime
                 ) -> Decimal | None:
    """Add ``amount``; the balance after, or None for an unknown fund."""
    result = await session.execute(
        sa.update(Fund).where(Fund.id == fund_id)
        .values(balance_cny=Fund.balance_cny + amount,
                deposited_cny=Fund.deposited_cny + amount, updated_at=now)
        .returning(Fund.balance_cny).execution_options(synchronize_session=False))
    return result.scalar_one_or_none()


async def debit(session: AsyncSession, fund_id: str, amount: Decimal, now: datetime
                ) -> Decimal | None:
    """Take ``amount`` only while the balance covers it; the balance after, or None when it did
    not (the row is untouched)."""
    result = await session.execute(
        sa.update(Fund).where(Fund.id == fund_id, Fund.balance_cny >= amount)
        .values(balance_cny=Fund.balance_cny - amount, paid_cny=Fund.paid_cny + amount,
                updated_at=now)
        .returning(Fund.balance_cny).execution_options(synchronize_session=False))
    return result.scalar_one_or_none()


async def ledger(session: AsyncSession, fund_id: str, *, after: int | None, limit: int
                 ) -> list[tuple[LedgerEntry, str | None]]:
    """Entries oldest first (with the claim's loan id), after entry id ``after``."""
    query = (sa.select(LedgerEntry, Claim.loan_id)
             .outerjoin(Claim, Claim.id == LedgerEntry.claim_id)
             .where(LedgerEntry.fund_id == fund_id))
    if after is not None:
        query = query.where(LedgerEntry.id > after)
    rows = await session.execute(query.order_by(LedgerEntry.id).limit(limit))
    return [(entry, loan_id) for entry, loan_id in rows.all()]


async def borrower_paid_in_year(session: AsyncSession, fund_id: str, borrower_uscc: str,
                                year: int) -> Decimal:
    """What ``fund_id`` paid ``borrower_uscc``'s lenders in ``year`` (by value date)."""
    total = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(-LedgerEntry.amount_cny), 0))
        .join(Claim, Claim.id == LedgerEntry.claim_id)
        .where(LedgerEntry.fund_id == fund_id, LedgerEntry.kind == "payment",
               Claim.borrower_uscc == borrower_uscc,
               LedgerEntry.booked_on >= date(year, 1, 1),
               LedgerEntry.booked_on <= date(year, 12, 31)))
    return Decimal(total or 0)


# --- claims -------------------------------------------------------------------------------------

async def get_claim(session: AsyncSession, claim_id: str, *, for_update: bool = False
                    ) -> Claim | None:
    query = (sa.select(Claim).where(Claim.id == claim_id)
             .execution_options(populate_existing=True))
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def live_claim_for(session: AsyncSession, loan_id: str) -> Claim | None:
    return await session.scalar(sa.select(Claim).where(Claim.loan_id == loan_id,
                                                       Claim.status.in_(("filed", "paid"))))


async def mark_paid(session: AsyncSession, claim_id: str, *, amount: Decimal, paid_on: date,
                    by: str, basis: dict[str, Any], note: str | None, now: datetime) -> bool:
    """filed → paid, only from filed (False: someone else paid it first)."""
    result = await session.execute(
        sa.update(Claim).where(Claim.id == claim_id, Claim.status == "filed")
        .values(status="paid", paid_cny=amount, paid_on=paid_on, paid_at=now, paid_by=by,
                payment_basis=basis, payment_note=note, revision=Claim.revision + 1,
                updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def search_claims(session: AsyncSession, *, conditions: Sequence[Any], after: str | None,
                        limit: int) -> list[Claim]:
    """Newest first by (filed_at, id); ``after`` is ``"<filed_at iso>|<id>"`` of the last row."""
    query = sa.select(Claim).where(*conditions)
    if after:
        stamp, _, claim_id = after.partition("|")
        try:
            at = datetime.fromisoformat(stamp)
        except ValueError:
            at = None
        if at is None or at.utcoffset() is None or not claim_id:
            raise InvalidInput("query.cursor", "cursor.invalid",
                               "not a cursor returned by this API (use next_cursor as given)",
                               message_zh="无效的分页游标")
        query = query.where(sa.or_(Claim.filed_at < at,
                                   sa.and_(Claim.filed_at == at, Claim.id < claim_id)))
    query = query.order_by(Claim.filed_at.desc(), Claim.id.desc()).limit(limit)
    return list(await session.scalars(query))


# --- loan facts ---------------------------------------------------------------------------------

async def earlier_principals(session: AsyncSession, loan: Loan) -> list[Decimal]:
    """Principal of the borrower's loans disbursed earlier in the same calendar year, in the
    order they were made (disbursement date, then creation): they use the yearly room first."""
    if loan.disbursed_on is None:
        return []
    year = loan.disbursed_on.year
    rows = await session.scalars(
        sa.select(Loan.disbursed_amount_cny)
        .where(Loan.borrower_uscc == loan.borrower_uscc, Loan.id != loan.id,
               Loan.disbursed_amount_cny.is_not(None),
               Loan.disbursed_on >= date(year, 1, 1), Loan.disbursed_on <= date(year, 12, 31),
               sa.or_(Loan.disbursed_on < loan.disbursed_on,
                      sa.and_(Loan.disbursed_on == loan.disbursed_on,
                              sa.or_(Loan.created_at < loan.created_at,
                                     sa.and_(Loan.created_at == loan.created_at,
                                             Loan.id < loan.id)))))
        .order_by(Loan.disbursed_on, Loan.created_at, Loan.id))
    return [Decimal(v) for v in rows]
