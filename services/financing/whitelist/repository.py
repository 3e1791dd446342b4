"""Whitelist queries other financing modules rely on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.facts.models import PoolFact
from services.financing.whitelist.models import WhitelistEntry


async def entry_for(session: AsyncSession, uscc: str) -> dict[str, Any] | None:
    """The enterprise's current whitelist standing, or None if never evaluated:
    ``{"listed": bool, "tier": {"code", "rank", "name_zh", "reason", ...} | None,
    "revision": int, "pool_member": bool}`` (``pool_member``: admitted to the cultivation
    pool right now)."""
    uscc = uscc.upper()
    entry = await session.get(WhitelistEntry, uscc)
    if entry is None:
        return None
    pool = await session.scalar(sa.select(PoolFact.status).where(PoolFact.uscc == uscc))
    return {"listed": entry.listed, "tier": entry.tier, "revision": entry.revision,
            "pool_member": pool == "admitted"}
