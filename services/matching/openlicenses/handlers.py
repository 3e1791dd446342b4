"""Reactions to registry patent events: a declaration follows its patent (RULES.md §3.3).

Runs after ``facts`` upserted the PatentFact, in the same transaction: a published declaration
whose patent now meets a Rule 86 bar (or is no longer in force) is suspended
(``openlicense.suspended``), a suspended one whose patent is clear again is reinstated
(``openlicense.reinstated``), and the copied title, abstract and IPC codes are refreshed.
Comparing against the current state makes a redelivered event change nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.facts.handlers import PATENT_EVENTS
from services.matching.facts.models import PatentFact
from services.matching.openlicenses.service import follow_patent
from shared.events.envelope import CloudEvent


async def on_patent_event(session: AsyncSession, event: CloudEvent) -> None:
    fact = await session.get(PatentFact, event.data["application_no"])
    if fact is not None:
        await follow_patent(session, fact)


HANDLERS = {name: on_patent_event for name in PATENT_EVENTS}
