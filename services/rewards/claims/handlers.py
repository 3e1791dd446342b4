"""Reactions that make and move claims. They run after the enterprise projection and the facts
handlers, in the same transaction as the inbox row, and read what those just wrote."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims import service
from services.rewards.policies.packs import TRIGGERS
from shared.events.envelope import CloudEvent
from shared.projections import ENTERPRISE_EVENTS


async def on_trigger_event(session: AsyncSession, event: CloudEvent) -> None:
    """Product recognised, GI mark registered, centre approved, open licence taken, pool
    graduation, high-value patent granted …: draft the claims the packs' rules make."""
    await service.draft_from_event(session, event)


async def on_enterprise_event(session: AsyncSession, event: CloudEvent) -> None:
    """The claimant is known now (or changed): decide the claims that waited for it."""
    await service.reevaluate_awaiting(session, event.data["uscc"])


async def on_creditflag_event(session: AsyncSession, event: CloudEvent) -> None:
    """Hold pending claims / reopen paid ones for recovery, or release held ones."""
    await service.apply_flag(session, event.data["flag_id"])


HANDLERS = {
    **{name: on_trigger_event for name in TRIGGERS},
    **{name: on_enterprise_event for name in ENTERPRISE_EVENTS},
    **{name: on_creditflag_event for name in ("creditflag.raised", "creditflag.cleared")},
}
