"""Every query for loans, pledges, bank quotas and co-owner consents.

Also the interface other financing modules rely on: :func:`pledged_application_nos` (whitelist,
valuations) and :func:`get_loan` (risk compensation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.financing.db import ENTERPRISES
from services.financing.facts.models import CoOwnerConsent, PatentFact, PoolFact
from services.financing.loans.machine import UNDECIDED
from services.financing.loans.models import ACTIVE_PLEDGE_STATUSES, BankQuota, Loan, Pledge


async def pledged_application_nos(session: AsyncSession, application_nos: Iterable[str]
                                  ) -> set[str]:
    """Those of ``application_nos`` under an active pledge recorded in financing (applied for,
    approved or registered and not yet released): they cannot be pledged again."""
    numbers = sorted(set(application_nos))
    if not numbers:
        return set()
    found: set[str] = set()
    for i in range(0, len(numbers), 500):  # stay far below any bind-parameter limit
        found.update(await session.scalars(
            sa.select(Pledge.application_no).where(
                Pledge.application_no.in_(numbers[i:i + 500]),
                Pledge.status.in_(ACTIVE_PLEDGE_STATUSES))))
    return found


async def get_loan(session: AsyncSession, loan_id: str, for_update: bool = False) -> Loan | None:
    """One loan with its pledges loaded; ``for_update`` locks the row (PostgreSQL)."""
    query = sa.select(Loan).where(Loan.id == loan_id).options(selectinload(Loan.pledges))
    if for_update:
        query = query.with_for_update(of=Loan)
    return await session.scalar(query)


def add(session: AsyncSession, row: Any) -> None:
    session.add(row)


# --- facts the rules read -----------------------------------------------------------------------

async def enterprise(session: AsyncSession, uscc: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(ENTERPRISES).where(ENTERPRISES.c.uscc == uscc))
           ).mappings().first()
    return dict(row) if row else None


async def patents(session: AsyncSession, application_nos: Sequence[str]
                  ) -> dict[str, PatentFact]:
    rows = await session.scalars(sa.select(PatentFact)
                                 .where(PatentFact.application_no.in_(list(application_nos))))
    return {p.application_no: p for p in rows}


async def patent(session: AsyncSession, application_no: str) -> PatentFact | None:
    return await session.scalar(sa.select(PatentFact)
                                .where(PatentFact.application_no == application_no))


async def pool_admitted(session: AsyncSession, uscc: str) -> bool:
    status = await session.scalar(sa.select(PoolFact.status).where(PoolFact.uscc == uscc))
    return status == "admitted"


# --- co-owner consents --------------------------------------------------------------------------

async def consents_for(session: AsyncSession, application_nos: Sequence[str]
                       ) -> list[CoOwnerConsent]:
    """Every consent row (withdrawn ones included) of these patents."""
    rows = await session.scalars(
        sa.select(CoOwnerConsent)
        .where(CoOwnerConsent.application_no.in_(list(application_nos)))
        .order_by(CoOwnerConsent.application_no, CoOwnerConsent.recorded_at,
                  CoOwnerConsent.owner_key))
    return list(rows)


async def consent(session: AsyncSession, application_no: str, owner_key: str
                  ) -> CoOwnerConsent | None:
    return await session.scalar(sa.select(CoOwnerConsent).where(
        CoOwnerConsent.application_no == application_no, CoOwnerConsent.owner_key == owner_key))


# --- loan lists ---------------------------------------------------------------------------------

async def search(session: AsyncSession, *, conditions: list[Any], after: str | None,
                 limit: int) -> list[Loan]:
    """Newest first by (applied_on, id); ``after`` is ``"<applied_on>|<id>"`` of the last row."""
    query = sa.select(Loan).where(*conditions).options(selectinload(Loan.pledges))
    if after:
        day, _, loan_id = after.partition("|")
        on = date.fromisoformat(day)
        query = query.where(sa.or_(Loan.applied_on < on,
                                   sa.and_(Loan.applied_on == on, Loan.id < loan_id)))
    query = query.order_by(Loan.applied_on.desc(), Loan.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def green_channel_overdue(session: AsyncSession, today: date) -> list[Loan]:
    """Undecided loans past their deadline, and decided ones that were decided late."""
    query = (sa.select(Loan).options(selectinload(Loan.pledges))
             .where(Loan.decision_deadline.is_not(None),
                    sa.or_(sa.and_(Loan.status.in_([s.value for s in UNDECIDED]),
                                   Loan.decision_deadline < today),
                           Loan.decision_late.is_(True)))
             .order_by(Loan.decision_deadline, Loan.id))
    return list(await session.scalars(query))


async def mark_green_channel_breached(session: AsyncSession, today: date, now: datetime
                                      ) -> list[str]:
    """Stamp ``green_channel_breached_on`` on undecided loans past their deadline, once.

    One conditional UPDATE: a loan already stamped, or decided meanwhile, is not touched, so
    concurrent runs on several replicas stamp each loan once. The revision is not bumped — the
    stamp is an observation, not a change of the loan a client holds an ETag for.
    """
    result = await session.execute(
        sa.update(Loan)
        .where(Loan.decision_deadline < today, Loan.green_channel_breached_on.is_(None),
               Loan.status.in_([s.value for s in UNDECIDED]))
        .values(green_channel_breached_on=today, updated_at=now)
        .returning(Loan.id)
        .execution_options(synchronize_session=False))
    return list(result.scalars())


# --- bank quotas --------------------------------------------------------------------------------

async def quota(session: AsyncSession, bank_code: str, year: int) -> BankQuota | None:
    return await session.scalar(sa.select(BankQuota).where(BankQuota.bank_code == bank_code,
                                                           BankQuota.year == year))


async def consume_quota(session: AsyncSession, bank_code: str, year: int, amount: Decimal,
                        now: datetime) -> bool:
    """Add ``amount`` to the year's usage only if it stays within the quota (one conditional
    UPDATE; the row count says whether it did). Concurrent approvals can never overspend:
    on PostgreSQL the second UPDATE waits for the first and re-checks the condition."""
    # ROUND(…, 2): exact on PostgreSQL's numeric; on SQLite (binary floats) it keeps a sum of
    # cents equal to the quota when it should be, so the boundary and the CHECK hold.
    used_after = sa.func.round(BankQuota.used_cny + amount, 2)
    result = await session.execute(
        sa.update(BankQuota)
        .where(BankQuota.bank_code == bank_code, BankQuota.year == year,
               used_after <= BankQuota.quota_cny)
        .values(used_cny=used_after, revision=BankQuota.revision + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def set_quota(session: AsyncSession, bank_code: str, year: int, amount: Decimal, *,
                    note: str | None, by: str, now: datetime,
                    expected_revision: int | None) -> bool:
    """Change an existing quota, only if it stays at or above what is already used (and, with
    ``expected_revision``, only if nobody changed it since it was read)."""
    conditions = [BankQuota.bank_code == bank_code, BankQuota.year == year,
                  BankQuota.used_cny <= amount]
    if expected_revision is not None:
        conditions.append(BankQuota.revision == expected_revision)
    result = await session.execute(
        sa.update(BankQuota).where(*conditions)
        .values(quota_cny=amount, note=note, set_by=by, revision=BankQuota.revision + 1,
                updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def loans_counted(session: AsyncSession, bank_code: str, year: int) -> list[Loan]:
    rows = await session.scalars(
        sa.select(Loan).where(Loan.bank_code == bank_code, Loan.quota_year == year,
                              Loan.quota_counted_cny.is_not(None))
        .order_by(Loan.decided_at, Loan.id))
    return list(rows)
