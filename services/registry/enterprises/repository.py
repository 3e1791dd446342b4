"""Every query for enterprises."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.enterprises.models import Enterprise


async def get(session: AsyncSession, uscc: str) -> Enterprise | None:
    return await session.get(Enterprise, uscc)


def add(session: AsyncSession, enterprise: Enterprise) -> None:
    session.add(enterprise)
