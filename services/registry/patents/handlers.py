"""Reactions to financing and matching events: pledges (质押) and licences (许可) recorded as
encumbrances on the registry's patents (ARCHITECTURE flow 7, registry side).

``pledge.registered`` / ``pledge.released`` (financing.loan.v1) and ``license.granted``
(matching.license.v1) are applied through :func:`service.set_encumbrance`, which emits
``patent.updated`` with the new encumbrance summary. Reference: the pledge id / licence id.

Topics are not ordered against each other, so an event may name a patent the registry has not
registered yet. It is **parked** (kept in ``encumbrance_events`` with state ``pending``) instead
of failing into the DLQ, and applied when the patent arrives: on the registry's own
``patent.registered`` event (API and bulk import both emit it) and, as a safety net for a
registration that committed while the event was being parked on another replica, by a periodic
sweep.

``encumbrance_events`` keeps one row per pledge / licence with the newest revision received, so
an older revision (a redelivery from elsewhere, or a registration arriving after its release)
changes nothing: a release that overtook its registration ends released.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.patents import service
from services.registry.patents.exceptions import PatentNotFound
from services.registry.patents.models import EncumbranceEvent, Patent
from services.registry.patents.service import EncumbranceChange
from shared.app import PeriodicTask
from shared.consumer import PermanentError
from shared.db import utcnow
from shared.errors import InvalidInput
from shared.events.envelope import CloudEvent
from shared.identifiers import InvalidIdentifier, validate_uscc

log = structlog.get_logger("registry.encumbrances")

PENDING, APPLIED = "pending", "applied"
#: 1 万元 = 10,000 yuan: the events carry yuan, the register keeps 万元.
YUAN_PER_10K = Decimal(10_000)
#: The register's 万元 column has six decimals: any amount in fen (0.01 yuan) is held exactly.
REGISTER_STEP = Decimal("0.000001")


# --- pure conversions ---------------------------------------------------------------------------

def yuan_to_10k(amount_cny: str | None) -> Decimal | None:
    """Yuan (decimal string) → 万元 for the register, exactly (a shift of four places); only an
    amount finer than a fen would be rounded (half-up), with a warning."""
    if amount_cny is None:
        return None
    exact = Decimal(amount_cny) / YUAN_PER_10K
    stored = exact.quantize(REGISTER_STEP, rounding=ROUND_HALF_UP)
    if stored != exact:
        log.warning("registry.encumbrance.amount_rounded", amount_cny=amount_cny,
                    amount_10k_cny=str(stored))
    return stored


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _licensee_uscc(raw: str | None, license_id: str) -> str | None:
    """Matching does not validate licensee codes; a bad one is dropped, the licence kept."""
    if not raw:
        return None
    try:
        return validate_uscc(raw).code
    except InvalidIdentifier:
        log.warning("registry.encumbrance.licensee_uscc_dropped", license_id=license_id,
                    licensee_uscc=raw)
        return None


def pledge_change(data: dict[str, Any], *, released: bool) -> EncumbranceChange:
    """The pledge a financing pledge event describes (a release carries the whole pledge too)."""
    return EncumbranceChange(
        kind="pledge", reference=data["pledge_id"],
        starts_on=date.fromisoformat(data["registered_on"]),
        ends_on=date.fromisoformat(data["released_on"]) if released else None,
        pledgee_name=data["pledgee_name"], pledgee_code=data["pledgee_bank_code"],
        loan_id=data["loan_id"], amount_10k_cny=yuan_to_10k(data.get("secured_amount_cny")),
        pledgee_consent_to_open_licence=data.get("pledgee_consent_to_open_licence"))


def licence_change(data: dict[str, Any]) -> EncumbranceChange:
    licensee = data.get("licensee") or {}
    return EncumbranceChange(
        kind="licence", reference=data["license_id"],
        starts_on=date.fromisoformat(data["starts_on"]), ends_on=_date(data.get("ends_on")),
        licence_type=data["license_type"], licensee_name=licensee.get("name"),
        licensee_uscc=_licensee_uscc(licensee.get("uscc"), data["license_id"]))


def _to_json(change: EncumbranceChange) -> dict[str, Any]:
    out = asdict(change)
    for name in ("starts_on", "ends_on"):
        out[name] = out[name].isoformat() if out[name] else None
    out["amount_10k_cny"] = (str(out["amount_10k_cny"]) if out["amount_10k_cny"] is not None
                             else None)
    return out


def _from_json(raw: dict[str, Any]) -> EncumbranceChange:
    values = dict(raw)
    values["starts_on"] = date.fromisoformat(values["starts_on"])
    values["ends_on"] = _date(values.get("ends_on"))
    if values.get("amount_10k_cny") is not None:
        values["amount_10k_cny"] = Decimal(values["amount_10k_cny"])
    return EncumbranceChange(**values)


# --- queries ------------------------------------------------------------------------------------

async def _held(session: AsyncSession, kind: str, reference: str) -> EncumbranceEvent | None:
    query = (sa.select(EncumbranceEvent)
             .where(EncumbranceEvent.kind == kind, EncumbranceEvent.reference == reference)
             .with_for_update().execution_options(populate_existing=True))
    return await session.scalar(query)


async def _pending_for(session: AsyncSession, application_no: str) -> list[EncumbranceEvent]:
    """Parked events of one patent, locked (a second replica waits, then finds them applied)."""
    query = (sa.select(EncumbranceEvent)
             .where(EncumbranceEvent.state == PENDING,
                    EncumbranceEvent.application_no == application_no)
             .order_by(EncumbranceEvent.id).with_for_update()
             .execution_options(populate_existing=True))
    return list((await session.scalars(query)).all())


async def _parked_numbers_now_registered(session: AsyncSession, limit: int) -> list[str]:
    query = (sa.select(EncumbranceEvent.application_no).distinct()
             .join(Patent, Patent.application_no == EncumbranceEvent.application_no)
             .where(EncumbranceEvent.state == PENDING)
             .order_by(EncumbranceEvent.application_no).limit(limit))
    return list((await session.scalars(query)).all())


# --- applying -----------------------------------------------------------------------------------

async def _apply(session: AsyncSession, row: EncumbranceEvent) -> bool:
    """Record ``row`` on its patent; False (and it stays parked) while the patent is unknown."""
    try:
        await service.set_encumbrance(session, row.application_no, _from_json(row.change),
                                      source=row.source)
    except PatentNotFound:
        row.state = PENDING
        await session.flush()
        log.info("registry.encumbrance.parked", application_no=row.application_no,
                 kind=row.kind, reference=row.reference, revision=row.revision)
        return False
    except InvalidInput as exc:
        # A malformed encumbrance (the register's own checks refuse it): retrying cannot help.
        raise PermanentError(f"{row.event_type} {row.reference}: {exc}") from exc
    row.state, row.applied_at = APPLIED, utcnow()
    await session.flush()
    return True


def _checked(event: CloudEvent, change: EncumbranceChange) -> str:
    """The canonical application number, after the checks that do not need the patent (so a
    parked event can always be applied later); a failure cannot be retried away: DLQ."""
    try:
        number = service.parse_number(event.data["application_no"]).canonical
    except InvalidInput as exc:
        raise PermanentError(f"{event.type}: {exc}") from exc
    if change.ends_on is not None and change.ends_on < change.starts_on:
        raise PermanentError(f"{event.type} {change.reference}: ends on "
                             f"{change.ends_on.isoformat()}, before it starts "
                             f"({change.starts_on.isoformat()})")
    return number


async def receive(session: AsyncSession, event: CloudEvent, change: EncumbranceChange,
                  revision: int, amount_cny: str | None = None) -> str:
    """Keep the newest revision of one pledge / licence and apply it (or park it).

    Returns ``applied``, ``parked`` or ``stale`` (an equal or older revision: nothing changes).
    """
    number = _checked(event, change)
    row = await _held(session, change.kind, change.reference)
    if row is not None and row.revision >= revision:
        log.info("registry.encumbrance.stale_revision_skipped", kind=change.kind,
                 reference=change.reference, held=row.revision, received=revision,
                 event_type=event.type)
        return "stale"
    now = utcnow()
    if row is None:
        row = EncumbranceEvent(kind=change.kind, reference=change.reference, received_at=now)
        session.add(row)
    row.application_no, row.revision, row.state = number, revision, PENDING
    row.change = _to_json(change)
    row.amount_cny = Decimal(amount_cny) if amount_cny is not None else None
    row.event_id, row.event_type = event.id, event.type
    row.source = f"{event.type} {event.id}"[:200]
    row.received_at, row.applied_at = now, None
    await session.flush()
    return "applied" if await _apply(session, row) else "parked"


async def apply_parked(session: AsyncSession, application_no: str) -> int:
    """Apply what was parked for ``application_no`` (now registered); returns how many."""
    applied = 0
    for row in await _pending_for(session, application_no):
        if await _apply(session, row):
            applied += 1
            log.info("registry.encumbrance.unparked", application_no=application_no,
                     kind=row.kind, reference=row.reference, revision=row.revision)
    return applied


# --- handlers -----------------------------------------------------------------------------------

async def on_pledge_registered(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await receive(session, event, pledge_change(data, released=False), data["revision"],
                  data.get("secured_amount_cny"))


async def on_pledge_released(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    await receive(session, event, pledge_change(data, released=True), data["revision"],
                  data.get("secured_amount_cny"))


async def on_license_granted(session: AsyncSession, event: CloudEvent) -> None:
    # A licence is granted once (no revision in the event): a second grant event with the same
    # licence id is a redelivery and changes nothing.
    await receive(session, event, licence_change(event.data), 1)


async def on_patent_registered(session: AsyncSession, event: CloudEvent) -> None:
    """The registry's own event: a patent arrived, so what was parked for it can be applied."""
    await apply_parked(session, event.data["application_no"])


HANDLERS = {
    "pledge.registered": on_pledge_registered,
    "pledge.released": on_pledge_released,
    "license.granted": on_license_granted,
    "patent.registered": on_patent_registered,
}


# --- the safety-net sweep -----------------------------------------------------------------------

async def retry_parked(factory: async_sessionmaker[AsyncSession], batch_size: int = 200
                       ) -> dict[str, int]:
    """Apply parked events whose patent is now registered, one patent per transaction.

    Covers a registration that committed while another replica was parking its event (neither
    saw the other). Idempotent across replicas: rows are locked and re-checked."""
    counts = {"patents": 0, "applied": 0, "failed": 0}
    async with factory() as session:
        numbers = await _parked_numbers_now_registered(session, batch_size)
    for number in numbers:
        try:
            async with factory() as session, session.begin():
                applied = await apply_parked(session, number)
        except Exception as exc:  # e.g. a concurrent patent update: the next run retries
            log.warning("registry.encumbrance.unpark_failed", application_no=number,
                        error=str(exc), error_type=type(exc).__name__)
            counts["failed"] += 1
            continue
        counts["patents"] += 1
        counts["applied"] += applied
    return counts


#: Every five minutes: parking is rare and the patent.registered reaction covers the usual case.
PERIODIC_TASKS = [PeriodicTask("parked-encumbrances", 300, retry_parked)]
