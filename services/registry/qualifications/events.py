"""Payloads of the qualification events (schemas: shared/events/schemas/qualification.*.v1.json).

All four go to ``registry.enterprise.v1`` keyed by the holder's USCC, so a consumer sees an
enterprise's registration, grants, renewals, revocations and expiries in order.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.registry.qualifications.models import Qualification


def qualification_state(q: Qualification) -> dict[str, Any]:
    """The fields every qualification event carries: the qualification's current state."""
    basis = json.loads(q.basis)
    current = (basis.get("renewals") or [basis])[-1]
    return {
        "uscc": q.uscc,
        "qualification_id": q.id,
        "kind": q.kind,
        "kind_name_zh": current["kind"]["name_zh"],
        "level": q.level,
        "issuing_department": q.issuing_department,
        "issuing_body": q.issuing_body,
        "certificate_no": q.certificate_no,
        "valid_from": q.valid_from.isoformat(),
        "valid_to": q.valid_to.isoformat(),
        "status": q.status,
        "renewal_count": q.renewal_count,
        "revision": q.revision,
        "policy_pack": f"{current['pack']['id']}@v{current['pack']['version']}",
    }


def granted(q: Qualification, at: datetime) -> dict[str, Any]:
    return qualification_state(q) | {"granted_at": at.isoformat()}


def renewed(q: Qualification, previous: dict[str, str], at: datetime) -> dict[str, Any]:
    return qualification_state(q) | {"previous_valid_from": previous["valid_from"],
                                     "previous_valid_to": previous["valid_to"],
                                     "previous_certificate_no": previous["certificate_no"],
                                     "renewed_at": at.isoformat()}


def revoked(q: Qualification, at: datetime) -> dict[str, Any]:
    return qualification_state(q) | {"reason": q.revocation_reason,
                                     "revoked_on": q.revoked_on.isoformat(),
                                     "revoked_at": at.isoformat()}


def expired(q: Qualification, at: datetime) -> dict[str, Any]:
    return qualification_state(q) | {"expired_on": q.expired_on.isoformat(),
                                     "detected_at": at.isoformat()}
