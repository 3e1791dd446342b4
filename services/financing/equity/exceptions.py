"""Equity-track errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from shared.errors import Conflict, InvalidInput, NotFound

__all__ = ["AlreadyListed", "ChecklistNotFound", "EnterpriseNotFound", "InvalidInput"]


class EnterpriseNotFound(NotFound):
    """Financing has no projection of this USCC (not registered, or not yet arrived)."""

    slug = "enterprise-not-found"
    title = "Enterprise not found"


class AlreadyListed(Conflict):
    slug = "equity-already-listed"
    title = "The enterprise is already registered on this market, or the code is taken"


class ChecklistNotFound(NotFound):
    slug = "equity-checklist-not-found"
    title = "No compliance checklist recorded for this enterprise"
