"""Reactions to registry events: keep matching's patent and pool facts current, in the same
transaction as the inbox row. What depends on a fact (a declaration whose patent lapsed or was
pledged, a push on pool admission) runs after this in the same transaction (see ``app``).

Each fact carries the registry's revision; an older or equal revision changes nothing.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.facts.models import PatentFact, PatentOwnerFact, PoolFact
from shared.events.envelope import CloudEvent
from shared.projections import POOL_EVENTS, apply_pool_event, is_newer, iso_date, stamp

log = structlog.get_logger("matching.facts")

PATENT_EVENTS = ("patent.registered", "patent.updated", "patent.status_changed")


async def on_patent_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    number = data["application_no"]
    fact = await session.get(PatentFact, number)
    if not is_newer(fact, event, log):
        return
    if fact is None:
        fact = PatentFact(application_no=number)
        session.add(fact)
    fact.kind = data["kind"]
    fact.title = data["title"]
    fact.abstract = data.get("abstract")
    fact.ipc_codes = list(data.get("ipc_codes") or [])
    fact.owners = [{"uscc": o.get("uscc"), "name": o["name"], "share": o.get("share"),
                    "region_code": o.get("region_code")} for o in data["owners"]]
    fact.filing_date = date.fromisoformat(data["filing_date"])
    fact.grant_date = iso_date(data.get("grant_date"))
    fact.status = data["status"]
    fact.in_force = bool(data["in_force"])
    fact.term_ends_on = iso_date(data.get("term_ends_on"))
    fact.annual_fee_status = data.get("annual_fee_status")
    fact.suspended = bool(data.get("suspended", False))
    fact.high_value = bool((data.get("high_value") or {}).get("is_high_value", False))
    fact.encumbrances = dict(data.get("encumbrances") or {})
    fact.blockers = list(data.get("open_license_blockers") or [])
    fact.owner_rows = [PatentOwnerFact(position=i, uscc=(o.get("uscc") or None), name=o["name"])
                       for i, o in enumerate(data["owners"])]
    stamp(fact, event)
    await session.flush()


async def on_pool_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_pool_event(PoolFact, session, event, log)

HANDLERS = {**{name: on_patent_event for name in PATENT_EVENTS},
            **{name: on_pool_event for name in POOL_EVENTS}}
