"""Financing's one way to publish: the outbox (Kafka) and the webhook queue, in the caller's
transaction. Every financing module emits through :func:`publish` (or :func:`publish_many` for
batches), so a bank without Kafka sees the same events, in the same unit of work, as a bank
reading the topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.db import KERNEL
from shared.events.envelope import CloudEvent
from shared.outbox import emit, emit_many


async def publish(session: AsyncSession, name: str, *, key: str, data: dict[str, Any],
                  subject: str | None = None, bank_code: str | None = None) -> CloudEvent:
    """Validate and write ``name`` to the outbox, and queue it for webhook subscribers.

    ``bank_code`` restricts webhook delivery to that bank's subscriptions (a loan's events go
    to the lending bank only); ``None`` means every subscriber of the type (the whitelist).
    """
    from services.financing.webhooks import service as webhooks  # webhooks imports models only

    event = await emit(session, KERNEL.outbox, name, key=key, subject=subject or key, data=data)
    await webhooks.enqueue(session, event, bank_code=bank_code)
    return event


async def publish_many(session: AsyncSession, items: list[tuple[str, str, dict[str, Any]]]
                       ) -> list[CloudEvent]:
    """``publish`` for a batch of (type, key, data) to every subscriber (subject = key): one
    multi-row outbox insert, then the webhook queue, in order."""
    from services.financing.webhooks import service as webhooks

    events = await emit_many(session, KERNEL.outbox,
                             [(name, key, key, data) for name, key, data in items])
    await webhooks.enqueue_many(session, events)
    return events
