"""Reactions that queue push work for the index task (see ``models.PushRequest``).

- ``openlicense.published`` (matching's own event, read back from its topic like any consumer):
  push the newly published patent to the enterprises it fits best, when the pack says so.
- ``pool.admitted``: push the open-licence patents that fit a newly admitted cultivation-pool
  enterprise (五部门 2024: every department serves the pool).

One request per event: the inbox makes a redelivered event a no-op, and the unique
``(uscc, application_no)`` of pushes makes a repeated request harmless.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.matches import service
from shared.events.envelope import CloudEvent


async def on_published(session: AsyncSession, event: CloudEvent) -> None:
    if service.push_settings().on_publication:
        await service.request_push(session, open_license_id=event.data["open_license_id"],
                                   reason="profile", by=f"matching:{event.type}")


async def on_pool_admitted(session: AsyncSession, event: CloudEvent) -> None:
    if service.push_settings().on_pool_admission:
        await service.request_push(session, uscc=event.data["uscc"], reason="pool_admission",
                                   by=f"matching:{event.type}")


HANDLERS = {"openlicense.published": on_published, "pool.admitted": on_pool_admitted}
