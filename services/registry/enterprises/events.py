"""Payloads of the events this domain emits (schemas in shared/events/schemas)."""

from __future__ import annotations

from typing import Any

from services.registry.enterprises.models import Enterprise


def _decimal(value) -> str | None:
    return None if value is None else str(value)


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
        "employees": enterprise.employees,
        "revenue_10k_cny": _decimal(enterprise.revenue_10k_cny),
        "total_assets_10k_cny": _decimal(enterprise.total_assets_10k_cny),
        "figures_year": enterprise.figures_year,
        "size_class": enterprise.size_class,
        "revision": enterprise.revision,
    }
