"""Open-licence errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from __future__ import annotations

from services.matching.openlicenses.models import OpenLicense
from services.matching.openlicenses.rules import TRANSITIONS
from shared.errors import Conflict, NotFound, ProblemError


class OpenLicenseNotFound(NotFound):
    slug = "open-license-not-found"
    title = "Open-licence declaration not found"


class DeclarationRefused(ProblemError):
    """422: the declaration failed one or more checks; it is stored (status ``refused``) with
    its basis, and ``errors`` lists each failed rule with field and clause."""

    status = 422
    slug = "open-license-refused"
    title = "Open-licence declaration refused"


class LiveDeclarationExists(Conflict):
    slug = "open-license-exists"
    title = "The patent already has a live open-licence declaration"


class TransitionNotAllowed(Conflict):
    slug = "open-license-transition-not-allowed"
    title = "Not allowed in the declaration's current status"

    @classmethod
    def of(cls, row: OpenLicense, action: str) -> "TransitionNotAllowed":
        return cls(f"{action} is not allowed for a {row.status} declaration; allowed: "
                   f"{', '.join(TRANSITIONS[row.status]) or 'none'}",
                   detail_zh=f"开放许可声明当前状态（{row.status}）不允许此操作",
                   open_license_id=row.id, current_status=row.status, attempted_action=action,
                   allowed_transitions=TRANSITIONS[row.status])


class ChecksFailed(Conflict):
    """409 at publication: the patent's facts changed since the declaration and a check fails."""

    slug = "open-license-checks-failed"
    title = "The patent no longer meets the declaration conditions"
