"""Payloads of ``pool.admitted`` / ``pool.graduated`` / ``pool.removed`` (registry.enterprise.v1,
key: the USCC). Each carries the entry's revision and the decision's basis."""

from __future__ import annotations

from typing import Any

from services.registry.pool.models import PoolEntry


def _common(entry: PoolEntry, name: str | None) -> dict[str, Any]:
    return {"uscc": entry.uscc, "province_code": entry.province_code,
            "enterprise_name": name, "admitted_on": entry.admitted_on.isoformat(),
            "revision": entry.revision}


def admitted(entry: PoolEntry, name: str | None) -> dict[str, Any]:
    return _common(entry, name) | {"nomination_id": entry.nomination_id,
                                   "window_ends_on": entry.window_ends_on.isoformat(),
                                   "basis": entry.admission_basis}


def graduated(entry: PoolEntry, name: str | None) -> dict[str, Any]:
    return _common(entry, name) | {"graduated_on": entry.graduated_on.isoformat(),
                                   "follow_up_cultivation": True,
                                   "basis": entry.graduation_basis}


def removed(entry: PoolEntry, name: str | None) -> dict[str, Any]:
    return _common(entry, name) | {"removed_on": entry.removed_on.isoformat(),
                                   "reason": entry.removal_reason, "basis": entry.removal_basis}
