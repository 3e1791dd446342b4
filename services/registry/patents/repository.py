"""Every query for patents and trademarks."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from services.registry.enterprises.models import Enterprise
from services.registry.patents.models import Patent, PatentEncumbrance, PatentOwner, Trademark

_FULL = (selectinload(Patent.owners), selectinload(Patent.encumbrances))
# One statement for one patent: a second SELECT for its collections could see a write that
# committed in between (READ COMMITTED on PostgreSQL, statement-level reads on pysqlite), so a
# reply showed a new pledge beside the old revision. A join is one snapshot.
_ONE = (joinedload(Patent.owners), joinedload(Patent.encumbrances))


async def get(session: AsyncSession, application_no: str, *, for_update: bool = False
              ) -> Patent | None:
    """A patent with its owners and encumbrances loaded (``populate_existing`` on re-reads)."""
    query = sa.select(Patent).where(Patent.application_no == application_no).options(*_ONE)
    if for_update:
        query = query.execution_options(populate_existing=True)
    return (await session.scalars(query)).unique().first()


async def get_many(session: AsyncSession, application_nos: Sequence[str]) -> list[Patent]:
    query = (sa.select(Patent).where(Patent.application_no.in_(list(application_nos)))
             .options(*_FULL))
    return list((await session.scalars(query)).all())


async def exists(session: AsyncSession, application_no: str) -> bool:
    query = sa.select(Patent.application_no).where(Patent.application_no == application_no)
    return (await session.scalar(query)) is not None


def add(session: AsyncSession, obj: Patent | PatentEncumbrance | Trademark) -> None:
    session.add(obj)


#: session.info key: (usccs looked up, {registered uscc: region}) prefetched for a bulk batch.
PREFETCHED_REGIONS = "registry.prefetched_enterprise_regions"


async def prefetch_enterprise_regions(session: AsyncSession, usccs: set[str]) -> None:
    """One query for a whole import batch instead of one per row."""
    session.info[PREFETCHED_REGIONS] = (set(usccs), await enterprise_regions(session, list(usccs)))


async def enterprise_regions(session: AsyncSession, usccs: Sequence[str]) -> dict[str, str | None]:
    """Registered enterprises among ``usccs`` → their GB/T 2260 region (absent: not registered)."""
    if not usccs:
        return {}
    prefetched = session.info.get(PREFETCHED_REGIONS)
    if prefetched is not None and set(usccs) <= prefetched[0]:
        return {u: prefetched[1][u] for u in usccs if u in prefetched[1]}
    rows = await session.execute(sa.select(Enterprise.uscc, Enterprise.region_code)
                                 .where(Enterprise.uscc.in_(list(usccs))))
    return {uscc: region for uscc, region in rows.all()}


async def by_owner(session: AsyncSession, uscc: str, *, after: str | None, limit: int
                   ) -> list[Patent]:
    """Keyset page of the patents an owner holds (alone or jointly), by application number."""
    owned = sa.select(PatentOwner.application_no).where(PatentOwner.uscc == uscc)
    query = (sa.select(Patent).where(Patent.application_no.in_(owned)).options(*_FULL)
             .order_by(Patent.application_no).limit(limit))
    if after is not None:
        query = query.where(Patent.application_no > after)
    return list((await session.scalars(query)).all())


async def owner_counts(session: AsyncSession, uscc: str) -> dict[str, int]:
    owned = sa.select(PatentOwner.application_no).where(PatentOwner.uscc == uscc)
    row = (await session.execute(
        sa.select(sa.func.count(),
                  sa.func.count().filter(Patent.status == "granted"),
                  sa.func.count().filter(Patent.is_high_value.is_(True)))
        .where(Patent.application_no.in_(owned)))).one()
    return {"total": row[0], "granted": row[1], "high_value": row[2]}


async def sweep_batch(session: AsyncSession, *, after: str, limit: int) -> list[Patent]:
    """Patents whose derived state can change with the calendar: granted ones (term, fees,
    ten-year mark) and those currently flagged high-value (to unflag); keyset order."""
    query = (sa.select(Patent)
             .where(Patent.application_no > after,
                    sa.or_(Patent.status == "granted", Patent.is_high_value.is_(True)))
             .options(*_FULL).order_by(Patent.application_no).limit(limit))
    return list((await session.scalars(query)).all())


def _region_condition(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    # A range, not LIKE, so the region index serves both SQLite and PostgreSQL.
    if set(prefix) == {"9"}:
        return column >= prefix
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return sa.and_(column >= prefix, column < upper)


async def for_stats(session: AsyncSession, *, kinds: Sequence[str], region_prefix: str | None,
                    uscc: str | None) -> list[Patent]:
    """Invention patents counted for a region (first owner domestic, in that region) or for an
    owner (any position); loaded with owners and encumbrances for the pure rule."""
    query = sa.select(Patent).where(Patent.kind.in_(list(kinds)),
                                    Patent.grant_date.is_not(None)).options(*_FULL)
    if uscc is None:
        first = sa.select(PatentOwner.application_no).where(PatentOwner.position == 0,
                                                            PatentOwner.country == "CN")
        if region_prefix is not None:
            first = first.where(_region_condition(PatentOwner.region_code, region_prefix))
        query = query.where(Patent.application_no.in_(first))
    else:
        query = query.where(Patent.application_no.in_(
            sa.select(PatentOwner.application_no).where(PatentOwner.uscc == uscc)))
    return list((await session.scalars(query)).all())


async def get_trademark(session: AsyncSession, reg_no: str) -> Trademark | None:
    return await session.get(Trademark, reg_no)
