"""Every query for the equity track (and the read-only facts it needs)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.db import ENTERPRISES
from services.financing.equity.models import EquityChecklist, EquityInvestment, EquityListing
from services.financing.facts.models import PatentFact, PatentOwnerFact, PoolFact


async def enterprise(session: AsyncSession, uscc: str) -> dict[str, Any] | None:
    """Financing's projection of the enterprise (from registry events)."""
    row = (await session.execute(sa.select(ENTERPRISES.c.uscc, ENTERPRISES.c.name)
                                 .where(ENTERPRISES.c.uscc == uscc))).mappings().first()
    return dict(row) if row else None


async def pool(session: AsyncSession, uscc: str) -> PoolFact | None:
    return await session.get(PoolFact, uscc)


async def owned_patents(session: AsyncSession, uscc: str) -> list[PatentFact]:
    """Patents the enterprise owns or co-owns (owner rows load eagerly with them)."""
    numbers = sa.select(PatentOwnerFact.application_no).where(PatentOwnerFact.uscc == uscc)
    query = (sa.select(PatentFact).where(PatentFact.application_no.in_(numbers))
             .order_by(PatentFact.application_no))
    return list((await session.scalars(query)).all())


def add(session: AsyncSession, row: Any) -> None:
    session.add(row)


async def listing_on_market(session: AsyncSession, uscc: str, market_name: str
                            ) -> EquityListing | None:
    return await session.scalar(sa.select(EquityListing).where(
        EquityListing.uscc == uscc, EquityListing.market_name == market_name))


async def listing_by_code(session: AsyncSession, market_name: str, code: str
                          ) -> EquityListing | None:
    return await session.scalar(sa.select(EquityListing).where(
        EquityListing.market_name == market_name, EquityListing.code == code))


async def listings(session: AsyncSession, uscc: str) -> list[EquityListing]:
    query = (sa.select(EquityListing).where(EquityListing.uscc == uscc)
             .order_by(EquityListing.listed_on, EquityListing.created_at))
    return list((await session.scalars(query)).all())


async def investments(session: AsyncSession, uscc: str) -> list[EquityInvestment]:
    query = (sa.select(EquityInvestment).where(EquityInvestment.uscc == uscc)
             .order_by(EquityInvestment.invested_on, EquityInvestment.created_at))
    return list((await session.scalars(query)).all())


async def checklist(session: AsyncSession, uscc: str, *, for_update: bool = False
                    ) -> EquityChecklist | None:
    query = sa.select(EquityChecklist).where(EquityChecklist.uscc == uscc)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)
