"""Payloads of the equity-track events (schemas: shared/events/schemas/equity.*.v1.json).

All three go to ``financing.loan.v1`` keyed by the enterprise's USCC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.financing.equity.models import EquityChecklist, EquityInvestment, EquityListing


def _money(value) -> str:
    return f"{value:.2f}"


def percent(value) -> str | None:
    """A percentage as a plain decimal string: 6.5000 → "6.5", 10 → "10" (never "1E+1")."""
    return None if value is None else format(value.normalize(), "f")


def listed(listing: EquityListing) -> dict[str, Any]:
    return {"uscc": listing.uscc, "listing_id": listing.id, "market_name": listing.market_name,
            "board": listing.board, "code": listing.code,
            "listed_on": listing.listed_on.isoformat(),
            "pool_status": listing.basis["rules"][0]["figures"]["pool_status"],
            "basis": listing.basis, "recorded_at": listing.created_at.isoformat()}


def investment_recorded(investment: EquityInvestment) -> dict[str, Any]:
    return {"uscc": investment.uscc, "investment_id": investment.id,
            "fund_name": investment.fund_name, "amount_cny": _money(investment.amount_cny),
            "instrument": investment.instrument,
            "invested_on": investment.invested_on.isoformat(),
            "shareholding_pct": percent(investment.shareholding_pct),
            "preferred": investment.preferred_terms, "warrant": investment.warrant_terms,
            "pool_member": investment.basis["pool_member"],
            "recorded_at": investment.created_at.isoformat()}


def checklist_updated(checklist: EquityChecklist, counts: dict[str, int],
                      at: datetime) -> dict[str, Any]:
    return {"uscc": checklist.uscc, "revision": checklist.revision, "ready": checklist.ready,
            "counts": counts, "pack": checklist.pack,
            "items": [{"code": i["code"], "status": i["status"], "decided_by": i["decided_by"],
                       "note": i["note"]} for i in checklist.items],
            "updated_at": at.isoformat()}
