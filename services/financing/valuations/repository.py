"""Every query for valuations, bank assessments and licence comparables (and the read-only patent
fact lookup they need). ``latest_for`` is the interface the whitelist and loans rely on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.facts.models import PatentFact
from services.financing.valuations.models import BankAssessment, LicenseComparable, Valuation

CHUNK = 500  # bound on the IN list of one query


async def patent_fact(session: AsyncSession, application_no: str) -> PatentFact | None:
    """Financing's projection of the registry's patent (owned by the facts module)."""
    return await session.scalar(sa.select(PatentFact)
                                .where(PatentFact.application_no == application_no))


def add(session: AsyncSession, row: Valuation | BankAssessment | LicenseComparable) -> None:
    session.add(row)


async def get(session: AsyncSession, valuation_id: str) -> Valuation | None:
    return await session.scalar(sa.select(Valuation).where(Valuation.id == valuation_id))


async def assessments_for(session: AsyncSession, valuation_ids: Sequence[str]
                          ) -> dict[str, list[BankAssessment]]:
    out: dict[str, list[BankAssessment]] = {v: [] for v in valuation_ids}
    for i in range(0, len(valuation_ids), CHUNK):
        rows = await session.scalars(
            sa.select(BankAssessment)
            .where(BankAssessment.valuation_id.in_(valuation_ids[i:i + CHUNK]))
            .order_by(BankAssessment.created_at, BankAssessment.id))
        for row in rows:
            out[row.valuation_id].append(row)
    return out


async def assessment_of(session: AsyncSession, valuation_id: str, bank_code: str
                        ) -> BankAssessment | None:
    return await session.scalar(sa.select(BankAssessment).where(
        BankAssessment.valuation_id == valuation_id, BankAssessment.bank_code == bank_code))


async def bump_revision(session: AsyncSession, valuation_id: str) -> None:
    """Atomic (revision = revision + 1): two banks recording at once both count."""
    await session.execute(sa.update(Valuation).where(Valuation.id == valuation_id)
                          .values(revision=Valuation.revision + 1)
                          .execution_options(synchronize_session=False))


async def list_for_patent(session: AsyncSession, application_no: str, *,
                          after: tuple[date, datetime, str] | None, limit: int
                          ) -> list[Valuation]:
    """Newest first: valuation date, then creation time, then id (the keyset)."""
    query = sa.select(Valuation).where(Valuation.application_no == application_no)
    if after is not None:
        day, created, ident = after
        query = query.where(sa.or_(
            Valuation.valuation_date < day,
            sa.and_(Valuation.valuation_date == day, Valuation.created_at < created),
            sa.and_(Valuation.valuation_date == day, Valuation.created_at == created,
                    Valuation.id < ident)))
    query = query.order_by(Valuation.valuation_date.desc(), Valuation.created_at.desc(),
                           Valuation.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def latest_for(session: AsyncSession, application_nos: Iterable[str], *,
                     lender: str | None = None) -> dict[str, dict[str, Any]]:
    """The latest completed valuation of each patent that has one, keyed by application number:
    ``{"valuation_id", "value_cny" (Decimal), "low_cny", "high_cny", "method", "valued_on"
    (date), "valid_until" (date | None)}``. Bank internal valuations are not included.

    Only valuations for pledge financing count, made by the IP office or an appraiser — or, for
    a loan's cap, by the lending bank itself (``lender``): one bank's figures never set another
    bank's cap or what every bank sees on the whitelist.

    "Latest" is by valuation date (评估基准日), then by when it was recorded, then by id, so a
    valuation back-dated after a newer one does not replace it."""
    numbers = sorted(set(application_nos))
    trusted = Valuation.requester_department != "bank"
    if lender:
        trusted = sa.or_(trusted, Valuation.requester_org == lender)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(numbers), CHUNK):
        rank = sa.func.row_number().over(
            partition_by=Valuation.application_no,
            order_by=(Valuation.valuation_date.desc(), Valuation.created_at.desc(),
                      Valuation.id.desc())).label("rank")
        ranked = (sa.select(Valuation.id, Valuation.application_no, Valuation.value_cny,
                            Valuation.low_cny, Valuation.high_cny, Valuation.method,
                            Valuation.valuation_date, Valuation.valid_until, rank)
                  .where(Valuation.application_no.in_(numbers[i:i + CHUNK]),
                         Valuation.purpose == "pledge_financing", trusted)
                  .subquery())
        rows = await session.execute(sa.select(ranked).where(ranked.c.rank == 1))
        for row in rows:
            out[row.application_no] = {
                "valuation_id": row.id, "value_cny": Decimal(row.value_cny),
                "low_cny": Decimal(row.low_cny), "high_cny": Decimal(row.high_cny),
                "method": row.method, "valued_on": row.valuation_date,
                "valid_until": row.valid_until}
    return out


async def comparable_exists(session: AsyncSession, license_id: str) -> bool:
    found = await session.scalar(sa.select(LicenseComparable.license_id)
                                 .where(LicenseComparable.license_id == license_id))
    return found is not None


def _window(ipc_subclass: str, since: date, until: date):
    return (LicenseComparable.ipc_subclass == ipc_subclass,
            LicenseComparable.granted_on > since, LicenseComparable.granted_on <= until)


def _priced():
    """A lump-sum licence without a running royalty: its price is the whole consideration."""
    return sa.and_(LicenseComparable.lump_sum_cny > 0,
                   sa.or_(LicenseComparable.royalty_rate.is_(None),
                          LicenseComparable.royalty_rate == 0))


async def comparables_for(session: AsyncSession, *, ipc_subclass: str, kinds: Sequence[str],
                          since: date, until: date, limit: int) -> list[LicenseComparable]:
    """Priced comparables in the subclass and window: same kind first, newest first."""
    same_kind = sa.case((LicenseComparable.patent_kind.in_(kinds), 0), else_=1)
    query = (sa.select(LicenseComparable)
             .where(*_window(ipc_subclass, since, until), _priced())
             .order_by(same_kind, LicenseComparable.granted_on.desc(),
                       LicenseComparable.license_id)
             .limit(limit))
    return list((await session.scalars(query)).all())


async def unpriced_count(session: AsyncSession, *, ipc_subclass: str, since: date,
                         until: date) -> int:
    """Licences in the subclass and window that carry a running royalty (not priced)."""
    return await session.scalar(
        sa.select(sa.func.count()).select_from(LicenseComparable)
        .where(*_window(ipc_subclass, since, until), sa.not_(_priced()))) or 0
