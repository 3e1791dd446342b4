"""The aggregate queries behind the regulators' statistics, on financing's own tables.

Counts and sums are computed by the database (GROUP BY), portable across SQLite and PostgreSQL:
months by ``EXTRACT(year/month)``, money summed in whole fen (分) so SQLite's floating-point
SUM cannot lose a cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.compensation.models import Fund, LedgerEntry
from services.financing.db import ENTERPRISES
from services.financing.loans.models import Loan

#: group_by name → the loan column it groups on (month is derived from each section's date).
LOAN_DIMENSIONS: dict[str, Any] = {
    "province": Loan.province_code,
    "region": Loan.region_code,
    "bank": Loan.bank_code,
    "tier": Loan.tier_code,
}
DIMENSION_FIELDS = {"month": "month", "province": "province_code", "region": "region_code",
                    "bank": "bank_code", "tier": "tier_code"}
PRIVATE = "private"


@dataclass(frozen=True)
class Period:
    """Months ``start`` .. ``end`` inclusive, as the half-open day range [first, after)."""

    first: date
    after: date


def fen(column: Any) -> Any:
    """Money as whole fen for an exact SUM on every backend."""
    return sa.cast(sa.func.round(column * 100), sa.BigInteger)


def yuan(total_fen: Any) -> Decimal:
    return (Decimal(int(total_fen or 0)) / 100).quantize(Decimal("0.01"))


def _group(dims: Sequence[str], day: Any) -> list[Any]:
    """The GROUP BY expressions for ``dims`` (month from ``day``), labelled."""
    out: list[Any] = []
    for dim in dims:
        if dim == "month":
            out += [sa.extract("year", day).label("y"), sa.extract("month", day).label("m")]
        else:
            out.append(LOAN_DIMENSIONS[dim].label(DIMENSION_FIELDS[dim]))
    return out


def _key(row: Any, dims: Sequence[str]) -> dict[str, Any]:
    key: dict[str, Any] = {}
    for dim in dims:
        if dim == "month":
            key["month"] = f"{int(row.y):04d}-{int(row.m):02d}"
        else:
            key[DIMENSION_FIELDS[dim]] = getattr(row, DIMENSION_FIELDS[dim])
    return key


def _within(day: Any, period: Period) -> Any:
    return sa.and_(day >= period.first, day < period.after)


async def _grouped(session: AsyncSession, dims: Sequence[str], day: Any,
                   measures: Sequence[Any], where: Sequence[Any], *, join_enterprise=False
                   ) -> list[tuple[dict[str, Any], Any]]:
    groups = _group(dims, day)
    source: Any = Loan
    if join_enterprise:
        source = sa.outerjoin(Loan, ENTERPRISES, ENTERPRISES.c.uscc == Loan.borrower_uscc)
    query = sa.select(*groups, *measures).select_from(source).where(*where)
    if groups:
        query = query.group_by(*groups)
    rows = (await session.execute(query)).all()
    return [(_key(row, dims), row) for row in rows]


async def approved(session: AsyncSession, period: Period, dims: Sequence[str]):
    """Approved pledge loans by the month of the decision: count and approved amount."""
    return await _grouped(
        session, dims, Loan.decided_on,
        [sa.func.count().label("count"), sa.func.sum(fen(Loan.approved_amount_cny)).label("fen")],
        [Loan.decision == "approve", _within(Loan.decided_on, period)])


async def disbursed(session: AsyncSession, period: Period, dims: Sequence[str]):
    """Disbursed pledge loans by the month of disbursement: count and disbursed amount."""
    return await _grouped(
        session, dims, Loan.disbursed_on,
        [sa.func.count().label("count"),
         sa.func.sum(fen(Loan.disbursed_amount_cny)).label("fen")],
        [Loan.disbursed_on.is_not(None), _within(Loan.disbursed_on, period)])


async def private_share(session: AsyncSession, period: Period, dims: Sequence[str]):
    """Approved loans (by decision month), and those to private enterprises (the enterprise
    projection's ownership): counts and amounts."""
    is_private = ENTERPRISES.c.ownership == PRIVATE
    return await _grouped(
        session, dims, Loan.decided_on,
        [sa.func.count().label("count"), sa.func.sum(fen(Loan.approved_amount_cny)).label("fen"),
         sa.func.count(sa.case((is_private, 1))).label("private_count"),
         sa.func.sum(sa.case((is_private, fen(Loan.approved_amount_cny)), else_=0)
                     ).label("private_fen")],
        [Loan.decision == "approve", _within(Loan.decided_on, period)], join_enterprise=True)


def _green_decided(period: Period) -> list[Any]:
    return [Loan.green_channel.is_(True), Loan.decided_on.is_not(None),
            Loan.decision_deadline.is_not(None), _within(Loan.decided_on, period)]


async def green_channel(session: AsyncSession, period: Period, dims: Sequence[str]):
    """Green-channel decisions (approve or reject) by decision month; those within deadline."""
    on_time = Loan.decided_on <= Loan.decision_deadline
    return await _grouped(
        session, dims, Loan.decided_on,
        [sa.func.count().label("decisions"),
         sa.func.count(sa.case((on_time, 1))).label("within_deadline")],
        _green_decided(period))


async def green_channel_durations(session: AsyncSession, period: Period, dims: Sequence[str]
                                  ) -> list[tuple[dict[str, Any], datetime, datetime]]:
    """Each green-channel decision's application and decision instants (for the median)."""
    groups = _group(dims, Loan.decided_on)
    rows = (await session.execute(
        sa.select(*groups, Loan.created_at, Loan.decided_at)
        .where(*_green_decided(period), Loan.decided_at.is_not(None)))).all()
    return [(_key(row, dims), row.created_at, row.decided_at) for row in rows]


async def compensation_paid(session: AsyncSession, period: Period, by_month: bool):
    """Compensation paid by fund (and value-date month): claims paid and amount."""
    groups: list[Any] = [Fund.id.label("fund_id"), Fund.name.label("fund_name"),
                         Fund.jurisdiction.label("jurisdiction")]
    if by_month:
        groups = [sa.extract("year", LedgerEntry.booked_on).label("y"),
                  sa.extract("month", LedgerEntry.booked_on).label("m"), *groups]
    query = (sa.select(*groups, sa.func.count().label("count"),
                       sa.func.sum(-fen(LedgerEntry.amount_cny)).label("fen"))
             .select_from(sa.join(LedgerEntry, Fund, Fund.id == LedgerEntry.fund_id))
             .where(LedgerEntry.kind == "payment", _within(LedgerEntry.booked_on, period))
             .group_by(*groups))
    rows = (await session.execute(query)).all()
    out = []
    for row in rows:
        key = {"month": f"{int(row.y):04d}-{int(row.m):02d}"} if by_month else {}
        key |= {"fund_id": row.fund_id, "fund_name": row.fund_name,
                "jurisdiction": row.jurisdiction}
        out.append((key, row))
    return out
