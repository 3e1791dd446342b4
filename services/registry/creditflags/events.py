"""Payloads of the credit flag events (schemas: shared/events/schemas/creditflag.*.v1.json).

Both go to ``registry.enterprise.v1`` keyed by the flagged enterprise's USCC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.registry.creditflags.models import CreditFlag


def flag_state(flag: CreditFlag) -> dict[str, Any]:
    basis = json.loads(flag.basis)
    return {
        "uscc": flag.uscc,
        "flag_id": flag.id,
        "kind": flag.kind,
        "kind_name_zh": basis["kind"]["name_zh"],
        "source": flag.source,
        "reference": flag.reference,
        "flagged_on": flag.flagged_on.isoformat(),
        "status": flag.status,
        "revision": flag.revision,
        "consequences": basis["consequences"],
    }


def raised(flag: CreditFlag, at: datetime) -> dict[str, Any]:
    return flag_state(flag) | {"description": flag.description, "raised_at": at.isoformat()}


def cleared(flag: CreditFlag, at: datetime) -> dict[str, Any]:
    return flag_state(flag) | {"reason": flag.clearance_reason,
                               "cleared_on": flag.cleared_on.isoformat(),
                               "cleared_at": at.isoformat()}
