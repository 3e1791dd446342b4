"""Credit flag errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from services.registry.enterprises.exceptions import EnterpriseNotFound  # one type for a bad USCC
from shared.errors import Conflict, InvalidInput, NotFound

__all__ = ["CreditFlagAlreadyRaised", "CreditFlagNotActive", "CreditFlagNotFound",
           "EnterpriseNotFound", "InvalidInput"]


class CreditFlagNotFound(NotFound):
    slug = "credit-flag-not-found"
    title = "Credit flag not found"


class CreditFlagAlreadyRaised(Conflict):
    slug = "credit-flag-already-raised"
    title = "The same finding is already flagged"


class CreditFlagNotActive(Conflict):
    slug = "credit-flag-not-active"
    title = "Credit flag already cleared"
