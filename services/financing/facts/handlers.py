"""Reactions to registry events: keep financing's facts current, then re-evaluate the whitelist
of every enterprise the event concerns, in the same transaction as the inbox row.

Each fact carries the registry's revision; an older or equal revision changes nothing (a
redelivered or reordered event cannot roll a fact back), but the whitelist is still
re-evaluated, which is idempotent.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.facts.models import (CreditFlagFact, PatentFact, PatentOwnerFact,
                                             PoolFact, QualificationFact)
from services.financing.whitelist import service as whitelist
from shared.events.envelope import CloudEvent
from shared.projections import (ENTERPRISE_EVENTS, POOL_EVENTS, apply_fact, apply_pool_event,
                                is_newer, iso_date, stamp)

log = structlog.get_logger("financing.facts")


async def on_patent_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    number = data["application_no"]
    fact = await session.get(PatentFact, number)
    before = {o.uscc for o in fact.owner_rows if o.uscc} if fact is not None else set()
    if is_newer(fact, event, log):
        if fact is None:
            fact = PatentFact(application_no=number)
            session.add(fact)
        encumbrances = data.get("encumbrances") or {}
        fact.patent_no = data.get("patent_no")
        fact.kind = data["kind"]
        fact.title = data["title"]
        fact.ipc_codes = list(data.get("ipc_codes") or [])
        fact.owners = [{"uscc": o.get("uscc"), "name": o["name"], "share": o.get("share")}
                       for o in data["owners"]]
        fact.filing_date = date.fromisoformat(data["filing_date"])
        fact.grant_date = iso_date(data.get("grant_date"))
        fact.status = data["status"]
        fact.status_date = iso_date(data.get("status_date"))
        fact.in_force = bool(data["in_force"])
        fact.term_ends_on = iso_date(data.get("term_ends_on"))
        fact.annual_fee_status = data.get("annual_fee_status")
        fact.suspended = bool(data.get("suspended", False))
        high_value = data.get("high_value") or {}
        fact.high_value = bool(high_value.get("is_high_value", False))
        fact.high_value_categories = list(high_value.get("categories") or [])
        fact.strategic_emerging_industry = data.get("strategic_emerging_industry")
        fact.family_granted_abroad = sum(1 for m in data.get("family_members") or []
                                         if m.get("granted"))
        fact.awards = list(data.get("awards") or [])
        fact.encumbrances = encumbrances
        fact.registry_pledged = bool(encumbrances.get("pledged", False))
        fact.owner_rows = [PatentOwnerFact(position=i, uscc=(o.get("uscc") or None),
                                           name=o["name"], share=o.get("share"))
                           for i, o in enumerate(data["owners"])]
        stamp(fact, event)
        await session.flush()
    after = {o["uscc"] for o in data["owners"] if o.get("uscc")}
    await whitelist.reevaluate(session, sorted(before | after), cause=event.type)


async def on_qualification_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await apply_fact(QualificationFact, {"qualification_id": data["qualification_id"]}, session,
                     event, log, {
                         "uscc": data["uscc"], "kind": data["kind"], "level": data.get("level"),
                         "issuing_body": data.get("issuing_body"),
                         "certificate_no": data.get("certificate_no"),
                         "valid_from": iso_date(data.get("valid_from")),
                         "valid_to": iso_date(data.get("valid_to")), "status": data["status"]})
    await whitelist.reevaluate(session, [data["uscc"]], cause=event.type)


async def on_creditflag_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await apply_fact(CreditFlagFact, {"flag_id": data["flag_id"]}, session, event, log, {
        "uscc": data["uscc"], "kind": data["kind"], "reference": data.get("reference"),
        "flagged_on": iso_date(data.get("flagged_on")), "status": data["status"]})
    await whitelist.reevaluate(session, [data["uscc"]], cause=event.type)


async def on_pool_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_pool_event(PoolFact, session, event, log)
    await whitelist.reevaluate(session, [event.data["uscc"]], cause=event.type)


async def on_enterprise_event(session: AsyncSession, event: CloudEvent) -> None:
    """The projection itself is kept by ``enterprises.handlers`` (it runs first); the size
    class, name and region the whitelist shows may have changed."""
    await whitelist.reevaluate(session, [event.data["uscc"]], cause=event.type)


HANDLERS = {
    **{name: on_enterprise_event for name in ENTERPRISE_EVENTS},
    **{name: on_patent_event for name in ("patent.registered", "patent.updated",
                                           "patent.status_changed")},
    **{name: on_qualification_event for name in ("qualification.granted",
                                                  "qualification.renewed",
                                                  "qualification.revoked",
                                                  "qualification.expired")},
    **{name: on_creditflag_event for name in ("creditflag.raised", "creditflag.cleared")},
    **{name: on_pool_event for name in POOL_EVENTS},
}
