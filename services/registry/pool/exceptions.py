"""Cultivation-pool errors, each with its HTTP status."""

from shared.errors import Conflict, NotFound, ProblemError


class NominationNotFound(NotFound):
    slug = "pool-nomination-not-found"
    title = "Pool nomination not found"


class PoolEntryNotFound(NotFound):
    slug = "pool-entry-not-found"
    title = "Not in the cultivation pool"


class AlreadyInPool(Conflict):
    slug = "pool-already-member"
    title = "Already in the cultivation pool"


class NominationOpen(Conflict):
    slug = "pool-nomination-open"
    title = "A nomination of this enterprise awaits co-signature"


class NominationDecided(Conflict):
    slug = "pool-nomination-decided"
    title = "Nomination already decided"


class WrongPoolStatus(Conflict):
    slug = "pool-wrong-status"
    title = "Not possible in the entry's current status"


class QuotaExceeded(Conflict):
    slug = "pool-quota-exceeded"
    title = "The province's pool quota is used up"


class RulesNotMet(ProblemError):
    """A decision's rules failed: the body carries the whole basis and one error per rule."""

    status = 422
    slug = "pool-rules-not-met"
    title = "The pool's rules are not met"
