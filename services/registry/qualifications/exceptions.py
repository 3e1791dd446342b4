"""Qualification errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from services.registry.enterprises.exceptions import EnterpriseNotFound  # one type for a bad USCC
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["CertificateAlreadyRecorded", "EnterpriseNotFound", "InvalidInput",
           "NotIssuingDepartment", "QualificationAlreadyHeld", "QualificationNotActive",
           "QualificationNotFound"]


class NotIssuingDepartment(Forbidden):
    """Only the department that issues a kind may grant, renew or revoke it (403)."""

    slug = "not-issuing-department"
    title = "Not the issuing department for this qualification"


class QualificationNotFound(NotFound):
    slug = "qualification-not-found"
    title = "Qualification not found"


class CertificateAlreadyRecorded(Conflict):
    slug = "duplicate-certificate"
    title = "Certificate number already recorded for this kind"


class QualificationAlreadyHeld(Conflict):
    slug = "qualification-already-held"
    title = "An active qualification of this kind and level overlaps the period"


class QualificationNotActive(Conflict):
    """Revoking (or renewing) a qualification that is already revoked or expired (409)."""

    slug = "qualification-not-active"
    title = "Qualification is not active"
