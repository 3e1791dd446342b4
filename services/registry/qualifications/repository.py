"""Every query for qualifications (and the read-only enterprise lookup they need)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.enterprises.models import Enterprise
from services.registry.qualifications.models import Qualification
from services.registry.qualifications.rules import QualificationStatus

ACTIVE = QualificationStatus.active.value


async def enterprise_exists(session: AsyncSession, uscc: str) -> bool:
    """Read-only check on the enterprises table (same service, owned by the enterprises domain)."""
    found = await session.scalar(sa.select(Enterprise.uscc).where(Enterprise.uscc == uscc))
    return found is not None


async def get(session: AsyncSession, qualification_id: str, *, for_update: bool = False
              ) -> Qualification | None:
    """One qualification; ``for_update`` locks the row for a state change (PostgreSQL)."""
    query = sa.select(Qualification).where(Qualification.id == qualification_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


def add(session: AsyncSession, qualification: Qualification) -> None:
    session.add(qualification)


async def list_for(session: AsyncSession, uscc: str, status: str | None = None
                   ) -> list[Qualification]:
    query = sa.select(Qualification).where(Qualification.uscc == uscc)
    if status is not None:
        query = query.where(Qualification.status == status)
    query = query.order_by(Qualification.valid_from.desc(), Qualification.created_at.desc(),
                           Qualification.id)
    return list((await session.scalars(query)).all())


async def by_certificate(session: AsyncSession, kind: str, certificate_no: str
                         ) -> Qualification | None:
    return await session.scalar(sa.select(Qualification).where(
        Qualification.kind == kind, Qualification.certificate_no == certificate_no))


async def overlapping_active(session: AsyncSession, *, uscc: str, kind: str, level: str,
                             valid_from: date, valid_to: date, exclude_id: str | None = None
                             ) -> Qualification | None:
    """An active qualification of the same kind and level whose period overlaps this one."""
    query = sa.select(Qualification).where(
        Qualification.uscc == uscc, Qualification.kind == kind, Qualification.level == level,
        Qualification.status == ACTIVE, Qualification.valid_from <= valid_to,
        Qualification.valid_to >= valid_from)
    if exclude_id is not None:
        query = query.where(Qualification.id != exclude_id)
    return await session.scalar(query.limit(1))


async def mark_expired(session: AsyncSession, today: date, now: datetime) -> list[Qualification]:
    """Set status=expired on every active qualification whose validity ended before ``today``.

    One conditional UPDATE … RETURNING: only rows this statement changed come back, so a
    second sweep (or another replica's concurrent one, which waits on the row locks and then
    re-checks ``status = 'active'``) gets nothing for the same rows.
    """
    statement = (
        sa.update(Qualification)
        .where(Qualification.status == ACTIVE, Qualification.valid_to < today)
        .values(status=QualificationStatus.expired.value, expired_on=today, updated_at=now,
                revision=Qualification.revision + 1)
        .returning(Qualification)
        .execution_options(synchronize_session=False)
    )
    return list((await session.scalars(statement)).all())
