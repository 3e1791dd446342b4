"""Queries the licence and open-licence rules share: the per-patent lock that serialises every
change touching a patent's licensing state, and the exclusive or sole licences matching itself
recorded (the registry's summary of them arrives only later, by event)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.facts.models import PatentFact
from services.matching.licenses.models import License


async def lock_patent(session: AsyncSession, application_no: str) -> PatentFact | None:
    """The patent's fact row, locked for the rest of the transaction (``SELECT … FOR UPDATE``).

    A per-patent mutex: declaring, publishing, withdrawing, taking an open licence and recording
    a negotiated one each take it first, so two of them on one patent cannot both pass checks
    the other would have failed (two exclusive licences; a take racing a withdrawal). SQLite
    ignores ``FOR UPDATE``; its writers are serialised by the database lock anyway."""
    return await session.scalar(
        sa.select(PatentFact).where(PatentFact.application_no == application_no)
        .with_for_update().execution_options(populate_existing=True))


async def exclusive_in_force(session: AsyncSession, application_no: str, today: date, *,
                             include_future: bool = False) -> dict[str, int]:
    """Exclusive / sole licences matching recorded on the patent that have not ended:
    ``{"exclusive": n, "sole": m}`` (types with none left out). ``include_future`` also counts
    those that start later (an open licence declared now would overlap them)."""
    conditions = [License.application_no == application_no,
                  License.license_type.in_(("exclusive", "sole")),
                  sa.or_(License.ends_on.is_(None), License.ends_on >= today)]
    if not include_future:
        conditions.append(License.starts_on <= today)
    rows = (await session.execute(
        sa.select(License.license_type, sa.func.count()).where(*conditions)
        .group_by(License.license_type))).all()
    return {t: int(n) for t, n in rows}
