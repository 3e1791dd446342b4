"""Reactions to the events the annual evaluation counts: keep its history tables.

Every handler is idempotent on its own, beside the inbox: a pool movement or patent state is
keyed by the registry's revision, a loan's milestones by the loan and the milestone, pledges by
the financing revision, licences by their id. A replay (new event id, same revision) or a
redelivery therefore changes nothing. Regions the event does not carry are looked up in the
enterprise projection when it already has the enterprise, else left to the evaluation's query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.db import ENTERPRISES
from services.rewards.evaluation.models import (EvaluationLicence, EvaluationLoan,
                                                EvaluationPatentState, EvaluationPledge,
                                                EvaluationPoolMovement)
from shared.db import CHINA_TZ, utcnow
from shared.events.envelope import CloudEvent
from shared.projections import dialect_insert, is_newer, iso_date, stamp

log = structlog.get_logger("rewards.evaluation")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]

POOL_MOVEMENTS = {"pool.admitted": ("admitted", "admitted_on"),
                  "pool.graduated": ("graduated", "graduated_on"),
                  "pool.removed": ("removed", "removed_on")}
PATENT_EVENTS = ("patent.registered", "patent.updated", "patent.status_changed")
LOAN_EVENTS = ("loan.applied", "loan.approved", "loan.rejected", "loan.disbursed")


def china_day(instant: str) -> date:
    """The day in China of an ISO 8601 instant (``2024-12-31T20:00:00Z`` is 1 January)."""
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return moment.astimezone(CHINA_TZ).date() if moment.tzinfo else moment.date()


def patent_effective_on(event_type: str, data: dict[str, Any]) -> date:
    """The day a patent event's state took effect: a status change from its effective date
    (a lapse counts from the fee's due date); a registration or an update from the day the
    registry recorded it (China time)."""
    if event_type == "patent.status_changed":
        return date.fromisoformat(data["changed_on"])
    stamp_field = "registered_at" if event_type == "patent.registered" else "updated_at"
    return china_day(data[stamp_field])


def first_owner(owners: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first owner with a USCC (individuals and foreign owners have none)."""
    return next((o for o in owners if o.get("uscc")), None)


async def _insert_once(session: AsyncSession, model: type, values: dict[str, Any]) -> bool:
    """Insert unless the primary key is there (a replay): one statement, no read first."""
    statement = dialect_insert(session)(model).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return result.rowcount > 0


async def _region_of(session: AsyncSession, uscc: str | None) -> str | None:
    if not uscc:
        return None
    return await session.scalar(sa.select(ENTERPRISES.c.region_code)
                                .where(ENTERPRISES.c.uscc == uscc))


async def on_pool_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    movement, day_field = POOL_MOVEMENTS[event.type]
    added = await _insert_once(session, EvaluationPoolMovement, {
        "uscc": data["uscc"], "revision": data["revision"], "movement": movement,
        "moved_on": date.fromisoformat(data[day_field]), "province_code": data["province_code"],
        "reason": data.get("reason") if movement == "removed" else None,
        "event_id": event.id, "projected_at": utcnow()})
    if not added:
        log.info("evaluation.pool.replay_skipped", uscc=data["uscc"], revision=data["revision"])


async def on_patent_event(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    owner = first_owner(data["owners"])
    uscc = owner["uscc"] if owner else None
    region = (owner or {}).get("region_code") or await _region_of(session, uscc)
    added = await _insert_once(session, EvaluationPatentState, {
        "application_no": data["application_no"], "revision": data["revision"],
        "event_type": event.type, "effective_on": patent_effective_on(event.type, data),
        "kind": data["kind"], "status": data["status"], "in_force": bool(data["in_force"]),
        "high_value": bool((data.get("high_value") or {}).get("is_high_value", False)),
        "owner_uscc": uscc, "owner_region_code": region,
        "event_id": event.id, "projected_at": utcnow()})
    if not added:
        log.info("evaluation.patent.replay_skipped", application_no=data["application_no"],
                 revision=data["revision"])


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


async def on_loan_event(session: AsyncSession, event: CloudEvent) -> None:
    """Milestones land whatever the order; the loan's shared facts follow its newest revision."""
    data = event.data
    loan = await session.get(EvaluationLoan, data["loan_id"])
    if loan is None:
        loan = EvaluationLoan(loan_id=data["loan_id"], revision=0)
        session.add(loan)
    if data["revision"] > loan.revision:
        loan.borrower_uscc = data["borrower_uscc"]
        loan.province_code = data.get("province_code")
        loan.region_code = data.get("region_code")
        loan.applied_on = date.fromisoformat(data["applied_on"])
        loan.green_channel = bool(data["green_channel"])
        loan.decision_deadline = iso_date(data.get("decision_deadline"))
        stamp(loan, event)
    if event.type in ("loan.approved", "loan.rejected"):
        loan.decision = "approved" if event.type == "loan.approved" else "rejected"
        loan.decided_on = date.fromisoformat(data["decided_on"])
        loan.decision_late = data.get("decision_late")
    elif event.type == "loan.disbursed":
        loan.disbursed_on = date.fromisoformat(data["disbursed_on"])
        loan.disbursed_amount_cny = _money(data["disbursed_amount_cny"])
    await session.flush()


async def on_pledge_registered(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    pledge = await session.get(EvaluationPledge, data["pledge_id"])
    if not is_newer(pledge, event, log):
        return
    if pledge is None:
        pledge = EvaluationPledge(pledge_id=data["pledge_id"])
        session.add(pledge)
    pledge.loan_id = data["loan_id"]
    pledge.application_no = data["application_no"]
    pledge.pledgor_uscc = data["pledgor_uscc"]
    pledge.registered_on = date.fromisoformat(data["registered_on"])
    pledge.secured_amount_cny = Decimal(data["secured_amount_cny"])
    stamp(pledge, event)
    await session.flush()


async def on_license_granted(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    licensee = data.get("licensee") or {}
    licensor = data.get("licensor") or {}
    region = licensee.get("region_code") or await _region_of(session, licensee.get("uscc"))
    await _insert_once(session, EvaluationLicence, {
        "license_id": data["license_id"], "license_type": data["license_type"],
        "application_no": data["application_no"], "licensor_uscc": licensor.get("uscc"),
        "licensee_uscc": licensee.get("uscc"), "licensee_region_code": region,
        "starts_on": date.fromisoformat(data["starts_on"]),
        "granted_on": china_day(data["granted_at"]),
        "event_id": event.id, "projected_at": utcnow()})


HANDLERS: dict[str, Handler] = {
    **{name: on_pool_event for name in POOL_MOVEMENTS},
    **{name: on_patent_event for name in PATENT_EVENTS},
    **{name: on_loan_event for name in LOAN_EVENTS},
    "pledge.registered": on_pledge_registered,
    "license.granted": on_license_granted,
}

#: Every event type the evaluation counts (the response's ``sources``).
SOURCE_EVENTS = tuple(HANDLERS)
