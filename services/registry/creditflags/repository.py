"""Every query for credit flags (and the read-only enterprise lookup they need)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.creditflags.models import CreditFlag
from services.registry.enterprises.models import Enterprise


async def enterprise_exists(session: AsyncSession, uscc: str) -> bool:
    """Read-only check on the enterprises table (same service, owned by the enterprises domain)."""
    found = await session.scalar(sa.select(Enterprise.uscc).where(Enterprise.uscc == uscc))
    return found is not None


async def get(session: AsyncSession, flag_id: str, *, for_update: bool = False
              ) -> CreditFlag | None:
    query = sa.select(CreditFlag).where(CreditFlag.id == flag_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


def add(session: AsyncSession, flag: CreditFlag) -> None:
    session.add(flag)


async def active_finding(session: AsyncSession, uscc: str, kind: str, reference: str
                         ) -> CreditFlag | None:
    return await session.scalar(sa.select(CreditFlag).where(
        CreditFlag.uscc == uscc, CreditFlag.kind == kind, CreditFlag.reference == reference,
        CreditFlag.status == "active"))


async def list_for(session: AsyncSession, uscc: str, status: str | None = None
                   ) -> list[CreditFlag]:
    query = sa.select(CreditFlag).where(CreditFlag.uscc == uscc)
    if status is not None:
        query = query.where(CreditFlag.status == status)
    query = query.order_by(CreditFlag.flagged_on.desc(), CreditFlag.created_at.desc(),
                           CreditFlag.id)
    return list((await session.scalars(query)).all())
