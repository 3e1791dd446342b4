"""The evaluation's aggregate queries: counted and summed by the database, on SQLite and
PostgreSQL alike (GROUP BY, window functions, months by ``EXTRACT``, money in whole fen so a
SUM cannot lose a cent on SQLite).

Where a row names an enterprise but no region, the region comes from the enterprise projection
(outer join), so a fact that arrived before its enterprise is still counted in its province
once the registry's event is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims.models import RewardClaim
from services.rewards.db import ENTERPRISES
from services.rewards.evaluation.models import (EvaluationLicence, EvaluationLoan,
                                                EvaluationPatentState, EvaluationPledge,
                                                EvaluationPoolMovement)

#: Invention patents (PCT national-phase inventions included): what the indicator counts.
INVENTION_KINDS = ("invention", "pct_invention")
#: Claim statuses that mean the fund paid the claim (whatever happened afterwards).
PAID_STATUSES = ("paid", "recovery", "recovered", "recovery_waived")


@dataclass(frozen=True)
class Scope:
    """Where the evaluation looks: a province (GB/T 2260 two digits), optionally narrowed to a
    region by its code prefix (``1402`` for Datong city, ``420281`` for Daye)."""

    province_code: str | None = None
    region_prefix: str | None = None


@dataclass(frozen=True)
class Period:
    first: date
    last: date


def fen(column: Any) -> Any:
    """Money as whole fen for an exact SUM on every backend."""
    return sa.cast(sa.func.round(column * 100), sa.BigInteger)


def yuan(total_fen: Any) -> Decimal:
    return (Decimal(int(total_fen or 0)) / 100).quantize(Decimal("0.01"))


def _month(day: Any) -> Any:
    return sa.extract("month", day).label("m")


def _within(day: Any, period: Period) -> Any:
    return sa.and_(day >= period.first, day <= period.last)


def _located(region: Any, uscc: Any, province: Any = None) -> tuple[Any, Any]:
    """(region, province) of a row: its own where it has them, else the enterprise projection's."""
    resolved = sa.func.coalesce(region, ENTERPRISES.c.region_code)
    parts = [province] if province is not None else []
    return resolved, sa.func.coalesce(*parts, sa.func.substr(resolved, 1, 2),
                                      ENTERPRISES.c.province_code)


def _scoped(scope: Scope, region: Any, province: Any) -> list[Any]:
    out = []
    if scope.province_code:
        out.append(province == scope.province_code)
    if scope.region_prefix:
        out.append(region.startswith(scope.region_prefix))
    return out


def _with_enterprise(table: Any, uscc: Any) -> Any:
    return sa.outerjoin(table, ENTERPRISES, ENTERPRISES.c.uscc == uscc)


# --- the cultivation pool -----------------------------------------------------------------------

async def pool_movements(session: AsyncSession, period: Period, scope: Scope
                         ) -> list[tuple[str, int, str | None, int]]:
    """(movement, month, removal reason, count) of pool movements dated in the period. The pool
    is provincial (its events carry the province); a region narrows through the enterprise
    projection."""
    m = EvaluationPoolMovement
    month = _month(m.moved_on)
    query = (sa.select(m.movement, month, m.reason, sa.func.count().label("n"))
             .select_from(_with_enterprise(m, m.uscc))
             .where(_within(m.moved_on, period),
                    *_scoped(scope, ENTERPRISES.c.region_code, m.province_code))
             .group_by(m.movement, month, m.reason))
    return [(r.movement, int(r.m), r.reason, int(r.n)) for r in await session.execute(query)]


async def pool_size(session: AsyncSession, at: date, scope: Scope) -> int:
    """Enterprises whose newest pool event (registry revision) dated on or before ``at`` is an
    admission."""
    m = EvaluationPoolMovement
    latest = (sa.select(m.uscc, m.movement, m.province_code,
                        sa.func.row_number().over(partition_by=m.uscc,
                                                  order_by=m.revision.desc()).label("rank"))
              .where(m.moved_on <= at).subquery())
    query = (sa.select(sa.func.count())
             .select_from(_with_enterprise(latest, latest.c.uscc))
             .where(latest.c.rank == 1, latest.c.movement == "admitted",
                    *_scoped(scope, ENTERPRISES.c.region_code, latest.c.province_code)))
    return int(await session.scalar(query) or 0)


# --- high-value invention patents ---------------------------------------------------------------

async def high_value_stock(session: AsyncSession, at: date, scope: Scope) -> tuple[int, int]:
    """(in scope, owner region unknown): invention patents whose newest state (registry
    revision) effective on or before ``at`` is in force and high-value; the second figure counts
    those no region could be found for (neither the event nor the enterprise projection gave
    one).

    Newest by revision, not by effective day: a lapse recorded late takes effect from the fee's
    due date, before an update recorded in between, and that update's full state (still in
    force) must not outlive it."""
    p = EvaluationPatentState
    latest = (sa.select(p.application_no, p.kind, p.in_force, p.high_value, p.owner_uscc,
                        p.owner_region_code,
                        sa.func.row_number().over(partition_by=p.application_no,
                                                  order_by=p.revision.desc()).label("rank"))
              .where(p.effective_on <= at).subquery())
    region, province = _located(latest.c.owner_region_code, latest.c.owner_uscc)
    in_scope = sa.and_(sa.true(), *_scoped(scope, region, province))
    query = (sa.select(sa.func.count(sa.case((in_scope, 1))).label("counted"),
                       sa.func.count(sa.case((region.is_(None), 1))).label("unknown"))
             .select_from(_with_enterprise(latest, latest.c.owner_uscc))
             .where(latest.c.rank == 1, latest.c.kind.in_(INVENTION_KINDS),
                    latest.c.in_force.is_(True), latest.c.high_value.is_(True)))
    row = (await session.execute(query)).one()
    return int(row.counted or 0), int(row.unknown or 0)


# --- pledge financing ---------------------------------------------------------------------------

async def loans_disbursed(session: AsyncSession, period: Period, scope: Scope
                          ) -> list[tuple[int, int, Decimal]]:
    """(month, loans, amount) of pledge loans disbursed in the period."""
    loan = EvaluationLoan
    region, province = _located(loan.region_code, loan.borrower_uscc, loan.province_code)
    month = _month(loan.disbursed_on)
    query = (sa.select(month, sa.func.count().label("n"),
                       sa.func.sum(fen(loan.disbursed_amount_cny)).label("fen"))
             .select_from(_with_enterprise(loan, loan.borrower_uscc))
             .where(loan.disbursed_on.is_not(None), _within(loan.disbursed_on, period),
                    *_scoped(scope, region, province))
             .group_by(month))
    return [(int(r.m), int(r.n), yuan(r.fen)) for r in await session.execute(query)]


async def pledges_registered(session: AsyncSession, period: Period, scope: Scope
                             ) -> tuple[int, Decimal]:
    """(pledges, secured amount) of patent pledges registered in the period."""
    pledge = EvaluationPledge
    region, province = _located(None, pledge.pledgor_uscc)
    query = (sa.select(sa.func.count().label("n"),
                       sa.func.sum(fen(pledge.secured_amount_cny)).label("fen"))
             .select_from(_with_enterprise(pledge, pledge.pledgor_uscc))
             .where(_within(pledge.registered_on, period), *_scoped(scope, region, province)))
    row = (await session.execute(query)).one()
    return int(row.n or 0), yuan(row.fen)


async def green_channel(session: AsyncSession, period: Period, scope: Scope, as_of: date
                        ) -> dict[str, int]:
    """Green-channel decisions dated in the period: within the deadline, late, without one;
    and applications whose deadline passed in the period with no decision by ``as_of``."""
    loan = EvaluationLoan
    region, province = _located(loan.region_code, loan.borrower_uscc, loan.province_code)
    decided_in = sa.and_(loan.decided_on.is_not(None), _within(loan.decided_on, period))
    has_deadline = loan.decision_deadline.is_not(None)
    undecided_by = sa.or_(loan.decided_on.is_(None), loan.decided_on > as_of)
    overdue = sa.and_(has_deadline, loan.decision_deadline >= period.first,
                      loan.decision_deadline < as_of, undecided_by)
    query = (sa.select(
        sa.func.count(sa.case((decided_in, 1))).label("decided"),
        sa.func.count(sa.case((sa.and_(decided_in, has_deadline,
                                       loan.decided_on <= loan.decision_deadline), 1))
                      ).label("within"),
        sa.func.count(sa.case((sa.and_(decided_in, has_deadline,
                                       loan.decided_on > loan.decision_deadline), 1))
                      ).label("late"),
        sa.func.count(sa.case((sa.and_(decided_in, sa.not_(has_deadline)), 1))
                      ).label("no_deadline"),
        sa.func.count(sa.case((sa.and_(decided_in, loan.decision == "approved"), 1))
                      ).label("approved"),
        sa.func.count(sa.case((overdue, 1))).label("overdue"))
        .select_from(_with_enterprise(loan, loan.borrower_uscc))
        .where(loan.green_channel.is_(True), *_scoped(scope, region, province)))
    row = (await session.execute(query)).one()
    return {k: int(getattr(row, k) or 0) for k in ("decided", "within", "late", "no_deadline",
                                                    "approved", "overdue")}


# --- open licences ------------------------------------------------------------------------------

async def open_licences(session: AsyncSession, period: Period, scope: Scope
                        ) -> list[tuple[int, int]]:
    """(month, licences) of open licences (开放许可) taking effect in the period, placed by the
    licensee's region."""
    lic = EvaluationLicence
    region, province = _located(lic.licensee_region_code, lic.licensee_uscc)
    month = _month(lic.starts_on)
    query = (sa.select(month, sa.func.count().label("n"))
             .select_from(_with_enterprise(lic, lic.licensee_uscc))
             .where(lic.license_type == "open", _within(lic.starts_on, period),
                    *_scoped(scope, region, province))
             .group_by(month))
    return [(int(r.m), int(r.n)) for r in await session.execute(query)]


# --- rewards paid (this service's own claims) ---------------------------------------------------

async def rewards_paid(session: AsyncSession, period: Period, scope: Scope) -> Sequence[Any]:
    """Claims paid in the period by pack and rule: count, paid, and what became of them since
    (in recovery, recovered with the amount, waived)."""
    c = RewardClaim
    region, province = _located(c.region_code, c.uscc, c.province_code)
    status = c.status
    query = (sa.select(
        c.pack_id, c.pack_ref, c.jurisdiction, c.rule_code,
        sa.func.count().label("claims"), sa.func.sum(fen(c.paid_cny)).label("paid_fen"),
        sa.func.count(sa.case((status == "recovery", 1))).label("in_recovery"),
        sa.func.count(sa.case((status == "recovered", 1))).label("recovered"),
        sa.func.sum(sa.case((status == "recovered", fen(sa.func.coalesce(c.recovered_cny, 0))),
                            else_=0)).label("recovered_fen"),
        sa.func.count(sa.case((status == "recovery_waived", 1))).label("waived"))
        .select_from(_with_enterprise(c, c.uscc))
        .where(status.in_(PAID_STATUSES), c.paid_cny.is_not(None), c.paid_on.is_not(None),
               _within(c.paid_on, period), *_scoped(scope, region, province))
        .group_by(c.pack_id, c.pack_ref, c.jurisdiction, c.rule_code)
        .order_by(c.pack_id, c.pack_ref, c.rule_code))
    return (await session.execute(query)).all()


async def rewards_by_month(session: AsyncSession, period: Period, scope: Scope
                           ) -> list[tuple[int, int, Decimal]]:
    c = RewardClaim
    region, province = _located(c.region_code, c.uscc, c.province_code)
    month = _month(c.paid_on)
    query = (sa.select(month, sa.func.count().label("n"), sa.func.sum(fen(c.paid_cny)).label("fen"))
             .select_from(_with_enterprise(c, c.uscc))
             .where(c.status.in_(PAID_STATUSES), c.paid_cny.is_not(None),
                    c.paid_on.is_not(None), _within(c.paid_on, period),
                    *_scoped(scope, region, province))
             .group_by(month))
    return [(int(r.m), int(r.n), yuan(r.fen)) for r in await session.execute(query)]
