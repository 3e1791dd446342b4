"""Matchmaking events (对接活动, roadshows): the organiser creates one featuring open licences
and demands, enterprises register (or are registered), and the organiser records what came of
each licensee-patent pair, up to the licence granted. No events leave the service.

The organiser is the creating department and org; a token without an org is the organiser only
with the same subject (otherwise every org-less token of a department would be). Participant
lists and outcomes (negotiation states, notes, licence ids) are commercial: the organiser, the
IP office and the auditor see them all, a party only its own."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db import ENTERPRISES
from services.matching.demands.models import Demand
from services.matching.facts.models import PatentFact
from services.matching.licenses.models import License
from services.matching.matchmaking.models import (MatchmakingEvent, MatchmakingOutcome,
                                                  MatchmakingParticipant, new_id)
from services.matching.matchmaking.schemas import (MatchmakingEventCreate, OutcomeCreate,
                                                   ParticipantCreate)
from services.matching.openlicenses.actors import actor, org_of
from services.matching.openlicenses.codes import canonical_application_no, canonical_uscc
from services.matching.openlicenses.models import OpenLicense
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.identifiers import InvalidIdentifier, validate_region_code
from shared.pagination import newest_first

log = structlog.get_logger("matching.matchmaking")

SELF_REGISTERING = ("enterprise", "university")
#: Besides the organiser, who sees every participant and outcome of any event.
SEE_ALL = ("market_regulation", "auditor")
OUTCOME_STATUSES = ("intention", "negotiating", "licensed", "no_deal")


class EventNotFound(NotFound):
    slug = "matchmaking-event-not-found"
    title = "Matchmaking event not found"


class AlreadyRegistered(Conflict):
    slug = "participant-already-registered"
    title = "Already registered for this event"


async def _known_ids(session: AsyncSession, column, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set((await session.scalars(sa.select(column).where(column.in_(ids)))).all())


async def create(session: AsyncSession, body: MatchmakingEventCreate, caller: Principal
                 ) -> MatchmakingEvent:
    """Featured open licences must be published and featured demands must exist (422 naming
    the index otherwise); the caller becomes the organiser."""
    region = None
    if body.region_code:
        try:
            region = validate_region_code(body.region_code)
        except InvalidIdentifier as exc:
            raise InvalidInput("region_code", exc.rule, exc.message,
                               message_zh=exc.message_zh) from exc
    licence_ids = list(dict.fromkeys(body.open_license_ids))
    published = set((await session.scalars(sa.select(OpenLicense.id).where(
        OpenLicense.id.in_(licence_ids), OpenLicense.status == "published"))).all()) \
        if licence_ids else set()
    for i, ol_id in enumerate(licence_ids):
        if ol_id not in published:
            raise InvalidInput(f"open_license_ids[{i}]", "open_license.not_published",
                               f"{ol_id} is not a published open licence",
                               message_zh="只能展示已公告的开放许可")
    demand_ids = list(dict.fromkeys(body.demand_ids))
    known = await _known_ids(session, Demand.id, demand_ids)
    for i, demand_id in enumerate(demand_ids):
        if demand_id not in known:
            raise InvalidInput(f"demand_ids[{i}]", "demand.unknown", f"no demand {demand_id}",
                               message_zh="技术需求不存在")
    now = utcnow()
    row = MatchmakingEvent(id=new_id(), title=body.title, kind=body.kind, held_on=body.date,
                           region_code=region, organiser=body.organiser,
                           organiser_department=caller.department,
                           organiser_org=org_of(caller),
                           open_license_ids=licence_ids, demand_ids=demand_ids,
                           created_by=actor(caller), created_at=now, changed_at=now)
    session.add(row)
    await session.flush()
    log.info("matching.matchmaking.created", event_id=row.id, kind=row.kind)
    return row


async def get_or_404(session: AsyncSession, event_id: str) -> MatchmakingEvent:
    row = await session.get(MatchmakingEvent, event_id)
    if row is None:
        raise EventNotFound(f"no matchmaking event {event_id}", detail_zh="对接活动不存在")
    return row


def is_organiser(event: MatchmakingEvent, caller: Principal) -> bool:
    """Same department and org with matchmaking:write; for an event created without an org,
    also the same subject (an org-less token is one official, not the whole department)."""
    if not (caller.has("matchmaking:write") and caller.department == event.organiser_department):
        return False
    org = caller.org.upper() if caller.org else None
    if event.organiser_org is None:
        return org is None and actor(caller) == event.created_by
    return org == event.organiser_org


async def register(session: AsyncSession, event: MatchmakingEvent, body: ParticipantCreate,
                   caller: Principal) -> MatchmakingParticipant:
    """An enterprise registers itself; the organiser registers anyone. Once per event (409)."""
    if is_organiser(event, caller):
        if not body.uscc:
            raise InvalidInput("uscc", "uscc.required", "name the enterprise to register",
                               message_zh="请填写参会单位统一社会信用代码")
        uscc = canonical_uscc(body.uscc, "uscc")
    elif caller.department in SELF_REGISTERING and caller.org:
        uscc = canonical_uscc(caller.org, "token.org")
        if body.uscc and body.uscc.upper() != uscc:
            raise Forbidden("an enterprise registers only itself; the organiser registers "
                            "others", detail_zh="企业只能为本单位报名")
    else:
        raise Forbidden("only the organiser or the enterprise itself may register",
                        detail_zh="只有活动组织方或企业本身可以报名")
    duplicate = await session.scalar(sa.select(MatchmakingParticipant.id).where(
        MatchmakingParticipant.event_id == event.id, MatchmakingParticipant.uscc == uscc))
    if duplicate is not None:
        raise AlreadyRegistered(f"{uscc} is already registered for this event",
                                detail_zh="该单位已报名本次活动", uscc=uscc)
    known = (await session.execute(sa.select(ENTERPRISES.c.name)
                                   .where(ENTERPRISES.c.uscc == uscc))).first()
    if known is None and not body.name:
        raise InvalidInput("name", "name.required",
                           f"{uscc} is not known to matching: give its name",
                           message_zh="该单位尚未登记，请填写名称")
    row = MatchmakingParticipant(event_id=event.id, uscc=uscc,
                                 name=known.name if known else body.name, role=body.role,
                                 registered_by=actor(caller), registered_at=utcnow())
    session.add(row)
    event.changed_at = utcnow()
    await session.flush()
    return row


async def record_outcome(session: AsyncSession, event: MatchmakingEvent, body: OutcomeCreate,
                         caller: Principal) -> MatchmakingOutcome:
    """The organiser records (or moves on) a pair's outcome; ``licensed`` needs the licence,
    which must exist and be of that patent to that licensee."""
    if not is_organiser(event, caller):
        raise Forbidden("only the event's organiser records outcomes",
                        detail_zh="只有活动组织方可以登记对接结果")
    licensee = canonical_uscc(body.licensee_uscc, "licensee_uscc")
    number = canonical_application_no(body.application_no)
    participant = await session.scalar(sa.select(MatchmakingParticipant.id).where(
        MatchmakingParticipant.event_id == event.id, MatchmakingParticipant.uscc == licensee))
    if participant is None:
        raise InvalidInput("licensee_uscc", "licensee.not_participant",
                           f"{licensee} is not registered for this event",
                           message_zh="该单位未报名本次活动")
    if body.status == "licensed":
        if not body.license_id:
            raise InvalidInput("license_id", "license_id.required",
                               "a licensed outcome names the licence granted",
                               message_zh="达成许可的结果须填写许可编号")
        licence = await session.get(License, body.license_id)
        if licence is None:
            raise InvalidInput("license_id", "license.unknown", f"no licence {body.license_id}",
                               message_zh="许可不存在")
        if licence.application_no != number or licence.licensee_uscc != licensee:
            raise InvalidInput("license_id", "license.mismatch",
                               f"licence {licence.id} is of {licence.application_no} to "
                               f"{licence.licensee_uscc}, not of {number} to {licensee}",
                               message_zh="许可与该专利或被许可人不符")
    elif body.license_id:
        raise InvalidInput("license_id", "license_id.unexpected",
                           f"only a licensed outcome names a licence (status {body.status})",
                           message_zh="只有达成许可的结果才填写许可编号")
    row = await session.scalar(sa.select(MatchmakingOutcome).where(
        MatchmakingOutcome.event_id == event.id, MatchmakingOutcome.licensee_uscc == licensee,
        MatchmakingOutcome.application_no == number).with_for_update())
    if row is None:
        row = MatchmakingOutcome(event_id=event.id, licensee_uscc=licensee,
                                 application_no=number)
        session.add(row)
    row.status, row.license_id, row.note = body.status, body.license_id, body.note
    row.recorded_by, row.recorded_at = actor(caller), utcnow()
    event.changed_at = utcnow()
    await session.flush()
    return row


# --- reading ------------------------------------------------------------------------------------

async def counts(session: AsyncSession, ids: list[str]
                 ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    if not ids:
        return {}, {}
    participants = dict((await session.execute(
        sa.select(MatchmakingParticipant.event_id, sa.func.count())
        .where(MatchmakingParticipant.event_id.in_(ids))
        .group_by(MatchmakingParticipant.event_id))).all())
    outcomes: dict[str, dict[str, int]] = {}
    for event_id, status, n in (await session.execute(
            sa.select(MatchmakingOutcome.event_id, MatchmakingOutcome.status, sa.func.count())
            .where(MatchmakingOutcome.event_id.in_(ids))
            .group_by(MatchmakingOutcome.event_id, MatchmakingOutcome.status))).all():
        outcomes.setdefault(event_id, {})[status] = int(n)
    return {k: int(v) for k, v in participants.items()}, outcomes


async def details(session: AsyncSession, event: MatchmakingEvent, caller: Principal
                  ) -> tuple[list[MatchmakingParticipant], list[MatchmakingOutcome]]:
    """The participants and outcomes ``caller`` may see: all for the organiser, the IP office
    and the auditor; for an enterprise or university its own registration and the outcomes it
    is party to (as licensee, or as an owner of the patent); nothing for anyone else."""
    participants = list((await session.scalars(
        sa.select(MatchmakingParticipant).where(MatchmakingParticipant.event_id == event.id)
        .order_by(MatchmakingParticipant.id))).all())
    outcomes = list((await session.scalars(
        sa.select(MatchmakingOutcome).where(MatchmakingOutcome.event_id == event.id)
        .order_by(MatchmakingOutcome.id))).all())
    if caller.department in SEE_ALL or is_organiser(event, caller):
        return participants, outcomes
    org = caller.org.upper() if caller.org else None
    if org is None:
        return [], []
    numbers = sorted({o.application_no for o in outcomes if o.licensee_uscc != org})
    owned: set[str] = set()
    if numbers:
        for fact in (await session.scalars(sa.select(PatentFact).where(
                PatentFact.application_no.in_(numbers)))).all():
            if org in {(o.get("uscc") or "").upper() for o in fact.owners or []}:
                owned.add(fact.application_no)
    return ([p for p in participants if p.uscc == org],
            [o for o in outcomes if o.licensee_uscc == org or o.application_no in owned])


async def search(session: AsyncSession, *, kind: str | None, region_code: str | None,
                 cursor: str | None, limit: int) -> tuple[list[MatchmakingEvent], str | None]:
    conditions: list[Any] = []
    if kind:
        conditions.append(MatchmakingEvent.kind == kind)
    if region_code:
        if not (region_code.isascii() and region_code.isdigit()):
            raise InvalidInput("query.region_code", "prefix.format", "digits only (a prefix)",
                               message_zh="只能包含数字")
        conditions.append(MatchmakingEvent.region_code.startswith(region_code))
    query = sa.select(MatchmakingEvent).where(*conditions)
    return await newest_first(session, query, MatchmakingEvent.created_at, MatchmakingEvent.id,
                              cursor, limit)


def read_model(row: MatchmakingEvent, participants: int, outcomes: dict[str, int],
               detail: tuple[list, list] | None = None) -> dict[str, Any]:
    out = {"id": row.id, "title": row.title, "kind": row.kind, "date": row.held_on,
           "region_code": row.region_code, "organiser": row.organiser,
           "organiser_department": row.organiser_department, "organiser_org": row.organiser_org,
           "open_license_ids": list(row.open_license_ids), "demand_ids": list(row.demand_ids),
           "participants_count": participants,
           "outcome_counts": {s: outcomes.get(s, 0) for s in OUTCOME_STATUSES},
           "created_by": row.created_by, "created_at": row.created_at,
           "changed_at": row.changed_at}
    if detail is not None:
        people, results = detail
        out["participants"] = [{"uscc": p.uscc, "name": p.name, "role": p.role,
                                "registered_by": p.registered_by,
                                "registered_at": p.registered_at} for p in people]
        out["outcomes"] = [{"licensee_uscc": o.licensee_uscc, "application_no": o.application_no,
                            "status": o.status, "license_id": o.license_id, "note": o.note,
                            "recorded_by": o.recorded_by, "recorded_at": o.recorded_at}
                           for o in results]
    return out
