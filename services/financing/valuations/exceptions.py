"""Valuation errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["BankAssessmentExists", "InvalidInput", "NotAValuationReader", "PatentNotKnown",
           "ValuationNotFound"]


class PatentNotKnown(NotFound):
    """Financing has no fact of this patent yet (it arrives with the registry's events)."""

    slug = "patent-not-known"
    title = "Patent not known to financing"


class ValuationNotFound(NotFound):
    slug = "valuation-not-found"
    title = "Valuation not found"


class BankAssessmentExists(Conflict):
    slug = "bank-assessment-exists"
    title = "This bank already recorded its valuation beside this one"


class NotAValuationReader(Forbidden):
    slug = "valuation-read-forbidden"
    title = "Not allowed to read this valuation"
