"""Reward-claim errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["ClaimAlreadyFiled", "ClaimNotFound", "ClaimStatusConflict", "InvalidInput",
           "NotDecidingDepartment", "NotOwnOrganisation", "RetryConflict"]


class ClaimNotFound(NotFound):
    slug = "reward-claim-not-found"
    title = "Reward claim not found"


class ClaimAlreadyFiled(Conflict):
    """409: the item was already claimed under that rule (by an event or a filing);
    ``claim_id`` names the existing claim."""

    slug = "reward-claim-already-filed"
    title = "The item was already claimed under this rule"


class ClaimStatusConflict(Conflict):
    """409: the claim's status does not allow this (``claim_status`` names it)."""

    slug = "reward-claim-status"
    title = "The claim's status does not allow this"


class NotDecidingDepartment(Forbidden):
    slug = "not-deciding-department"
    title = "Only the claim's department may decide it"


class NotOwnOrganisation(Forbidden):
    slug = "not-own-organisation"
    title = "An organisation files and reads only its own claims"


class RetryConflict(Conflict):
    """409: two transactions waited on each other (PostgreSQL broke the tie); nothing changed,
    the request can be sent again."""

    slug = "concurrent-write"
    title = "A concurrent write got in the way; retry"
