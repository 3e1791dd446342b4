"""Every query for enterprises."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.enterprises.models import Enterprise


async def get(session: AsyncSession, uscc: str) -> Enterprise | None:
    return await session.get(Enterprise, uscc)


def add(session: AsyncSession, enterprise: Enterprise) -> None:
    session.add(enterprise)


async def search(session: AsyncSession, *, after: str | None, limit: int,
                 conditions: Sequence[sa.ColumnElement[bool]]) -> list[Enterprise]:
    """Keyset page ordered by USCC (stable under concurrent inserts, no OFFSET scans)."""
    query = sa.select(Enterprise).where(*conditions).order_by(Enterprise.uscc).limit(limit)
    if after is not None:
        query = query.where(Enterprise.uscc > after)
    return list((await session.scalars(query)).all())
