"""Registry enterprise errors, each with its HTTP status."""

from shared.errors import Conflict, NotFound


class EnterpriseAlreadyRegistered(Conflict):
    slug = "enterprise-already-registered"
    title = "Enterprise already registered"


class EnterpriseNotFound(NotFound):
    slug = "enterprise-not-found"
    title = "Enterprise not found"
