"""Reactions to registry enterprise events: keep financing's own enterprise projection."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.db import ENTERPRISES
from shared.events.envelope import CloudEvent
from shared.projections import ENTERPRISE_EVENTS, apply_enterprise_event

log = structlog.get_logger("financing.enterprises")


async def on_enterprise_event(session: AsyncSession, event: CloudEvent) -> None:
    if not await apply_enterprise_event(ENTERPRISES, session, event):
        log.info("financing.enterprise.stale_revision_skipped", uscc=event.data["uscc"],
                 revision=event.data["revision"])


HANDLERS = {name: on_enterprise_event for name in ENTERPRISE_EVENTS}
