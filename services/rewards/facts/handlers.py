"""Reactions to other services' events: keep rewards's facts current (credit flags,
qualifications, pool membership, and every item a rule could reward).

Each fact keeps the producer's revision; an older or equal revision changes nothing, so a
redelivered or reordered event cannot roll a fact back. ``license.granted`` carries no revision
(a grant is written once); the inbox already makes its redelivery harmless. The claims module's
handlers run after these, in the same transaction, and read what was just written.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims.rules import extract
from services.rewards.facts.models import (RewardCreditFlag, RewardItem, RewardPoolMember,
                                           RewardQualification)
from services.rewards.policies.packs import TRIGGERS
from shared.db import utcnow
from shared.events.envelope import CloudEvent
from shared.projections import POOL_EVENTS, apply_fact, apply_pool_event, dialect_insert, iso_date

log = structlog.get_logger("rewards.facts")


async def on_creditflag_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await apply_fact(RewardCreditFlag, {"flag_id": data["flag_id"]}, session, event, log, {
        "uscc": data["uscc"], "kind": data["kind"], "active": data["status"] == "active",
        "flagged_on": iso_date(data.get("flagged_on")), "reference": data.get("reference")})


async def on_qualification_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await apply_fact(RewardQualification, {"qualification_id": data["qualification_id"]},
                     session, event, log, {
                         "uscc": data["uscc"], "kind": data["kind"], "level": data.get("level"),
                         "valid_from": iso_date(data.get("valid_from")),
                         "valid_to": iso_date(data.get("valid_to")),
                         "active": (data["status"] == "active" and event.type
                                    in ("qualification.granted", "qualification.renewed"))})


async def on_pool_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_pool_event(RewardPoolMember, session, event, log)


async def on_item_event(session: AsyncSession, event: CloudEvent) -> None:
    """Any event a rule may be triggered by, kept as the item it announces: a filed claim is
    checked against it (unknown item: a doubt; another party's: a doubt). One upsert; an older
    or equal revision changes nothing."""
    data: dict[str, Any] = event.data
    party, ref, when, kind = extract(event.type, data)
    if ref is None:
        return
    values = {"item_kind": kind, "item_ref": ref, "uscc": party, "event_type": event.type,
              "item_date": when, "data": data, "revision": data.get("revision"),
              "last_event_id": event.id, "projected_at": utcnow()}
    insert = dialect_insert(session)(RewardItem).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=["item_kind", "item_ref"],
        set_={k: insert.excluded[k] for k in values if k not in ("item_kind", "item_ref")},
        where=sa.or_(RewardItem.revision.is_(None), insert.excluded.revision.is_(None),
                     RewardItem.revision < insert.excluded.revision))
    if (await session.execute(statement)).rowcount == 0:
        log.info("fact.stale_revision_skipped", type=event.type, subject=event.subject,
                 received=values["revision"])


async def on_qualification_item(session: AsyncSession, event: CloudEvent) -> None:
    await on_qualification_event(session, event)
    await on_item_event(session, event)


async def on_pool_item(session: AsyncSession, event: CloudEvent) -> None:
    await on_pool_event(session, event)
    await on_item_event(session, event)


HANDLERS = {
    **{name: on_item_event for name in TRIGGERS},
    **{name: on_qualification_event for name in ("qualification.renewed",
                                                  "qualification.revoked",
                                                  "qualification.expired")},
    "qualification.granted": on_qualification_item,
    **{name: on_creditflag_event for name in ("creditflag.raised", "creditflag.cleared")},
    **{name: on_pool_event for name in POOL_EVENTS},
    "pool.graduated": on_pool_item,
}
