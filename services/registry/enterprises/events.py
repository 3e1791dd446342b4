"""Payloads of the events this domain emits (schemas in shared/events/schemas)."""

from __future__ import annotations

from typing import Any

from services.registry.enterprises.models import Enterprise


def enterprise_state(enterprise: Enterprise) -> dict[str, Any]:
    """The full state carried by enterprise.registered / enterprise.updated."""
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "region_code": enterprise.region_code,
        "province_code": enterprise.province_code,
        "industry_code": enterprise.industry_code,
        "ownership": enterprise.ownership,
        "founded_on": enterprise.founded_on.isoformat() if enterprise.founded_on else None,
        "revision": enterprise.revision,
    }
