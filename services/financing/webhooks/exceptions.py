"""Webhook errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["InvalidInput", "NoBankCode", "SubscriptionExists", "SubscriptionNotFound"]


class NoBankCode(Forbidden):
    """A bank token without an ``org`` claim cannot own subscriptions (403)."""

    slug = "bank-code-required"
    title = "The token names no bank code"


class SubscriptionNotFound(NotFound):
    """Unknown id, deleted, or another bank's subscription (indistinguishable on purpose)."""

    slug = "webhook-not-found"
    title = "Webhook subscription not found"


class SubscriptionExists(Conflict):
    slug = "webhook-exists"
    title = "This bank already has an active subscription to this URL"
