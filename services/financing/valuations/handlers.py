"""Reactions of valuations to other services' events: matching's ``license.granted`` becomes a
market-approach comparable.

Idempotent twice over: the consumer's inbox drops a redelivered event, and a licence already
recorded (by ``license_id``) is never recorded again. Free licences (no lump sum, no royalty)
are not comparables (RULES.md §9: exclude ¥0 contracts from price benchmarks) and are not kept,
nor are licences matching marks ``verified: false`` (a patentee's own record of a negotiated
licence: an unchecked price it could invent to raise its own valuation). Events without the
field (sent before matching carried it) are read as before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.valuations import repository
from services.financing.valuations.models import LicenseComparable
from services.financing.valuations.service import ipc_subclass
from shared.db import CHINA_TZ, utcnow
from shared.events.envelope import CloudEvent

log = structlog.get_logger("financing.valuations")


def _decimal(raw: str | None) -> Decimal | None:
    return Decimal(raw) if raw not in (None, "") else None


def _clip(text: str | None, length: int) -> str | None:
    """Informational fields the schema leaves unbounded, kept to their column's length."""
    return text[:length] if text else None


async def on_license_granted(session: AsyncSession, event: CloudEvent) -> None:
    """Record a priced licence as a comparable (IPC subclass and kind from the event, else from
    financing's patent fact)."""
    data = event.data
    if data.get("verified") is False:
        log.info("financing.valuation.comparable_ignored", license_id=data["license_id"],
                 reason="unverified (recorded by a party, not the IP office)",
                 recorded_by_department=data.get("recorded_by_department"))
        return
    fee = data.get("fee") or {}
    lump, rate = _decimal(fee.get("lump_sum_cny")), _decimal(fee.get("royalty_rate"))
    if (lump or 0) <= 0 and (rate or 0) <= 0:
        log.info("financing.valuation.comparable_ignored", license_id=data["license_id"],
                 reason="free licence (no lump sum, no royalty)")
        return
    if await repository.comparable_exists(session, data["license_id"]):
        return
    codes, kind = data.get("ipc_codes"), data.get("patent_kind")
    if not codes or not kind:
        fact = await repository.patent_fact(session, data["application_no"])
        if fact is not None:
            codes, kind = codes or fact.ipc_codes, kind or fact.kind
    granted_at = datetime.fromisoformat(data["granted_at"])
    if granted_at.tzinfo is None:  # the schema asks for an offset; read a bare time as UTC
        granted_at = granted_at.replace(tzinfo=UTC)
    licensor = data.get("licensor") or {}
    licensee = data.get("licensee") or {}
    repository.add(session, LicenseComparable(
        license_id=data["license_id"], application_no=data["application_no"],
        patent_kind=kind, ipc_subclass=ipc_subclass(codes), ipc_codes=list(codes or []),
        license_type=data["license_type"], lump_sum_cny=lump if lump and lump > 0 else None,
        royalty_rate=rate if rate and rate > 0 else None,
        payment_method=_clip(fee.get("payment_method"), 60),
        licensor_uscc=_clip(licensor.get("uscc"), 18),
        licensee_region_code=_clip(licensee.get("region_code"), 6),
        licensee_industry_code=_clip(licensee.get("industry_code"), 10),
        starts_on=date.fromisoformat(data["starts_on"]),
        ends_on=date.fromisoformat(data["ends_on"]) if data.get("ends_on") else None,
        granted_on=granted_at.astimezone(CHINA_TZ).date(), granted_at=granted_at,
        event_id=event.id, recorded_at=utcnow()))
    await session.flush()
    log.info("financing.valuation.comparable_recorded", license_id=data["license_id"],
             ipc_subclass=ipc_subclass(codes), lump_sum_cny=str(lump) if lump else None)


HANDLERS = {"license.granted": on_license_granted}
