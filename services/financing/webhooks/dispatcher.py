"""The webhook dispatcher: claim due deliveries, POST them signed, record the outcome.

It runs as a periodic task in every replica. One round claims (leases) a batch in a short
transaction, POSTs outside any transaction (concurrently: a batch holds at most one delivery per
subscription and enterprise, see ``repository.claim``), then records the outcomes in a second
short transaction. 2xx is delivered; anything else (status, timeout, refused connection) is
retried with exponential backoff and jitter until ``max_attempts``, then ``failed``. A commit
that queued deliveries wakes the dispatcher of that process at once; other replicas' work is
picked up within ``poll_interval_s``.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
import weakref
from collections import Counter
from datetime import timedelta

import httpx
import structlog
from prometheus_client import Counter as MetricCounter
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.financing.webhooks import repository, service, signing
from services.financing.webhooks.config import WebhookSettings
from services.financing.webhooks.models import PENDING
from shared.db import utcnow

log = structlog.get_logger("financing.webhooks.dispatcher")

ATTEMPTS = MetricCounter("ipbridge_webhook_attempts_total",
                         "Webhook POST attempts by outcome (delivered, retry, failed)",
                         ["outcome"])
USER_AGENT = "ipbridge-webhooks/1"
ERROR_MAX = 500


def backoff_s(attempt: int, base_s: float, cap_s: float, rand: float | None = None) -> float:
    """Delay after failed attempt number ``attempt`` (1-based): exponential with equal jitter,
    ``d/2 + U(0, d/2)`` where ``d = min(cap, base × 2^(attempt-1))``. Never below half of
    ``d``, so retries always spread out; never above the cap."""
    full = min(cap_s, base_s * 2 ** (attempt - 1))
    return full / 2 + (random.random() if rand is None else rand) * full / 2


class Dispatcher:
    """One per service instance (sessionmaker): the wake-up event and the send loop."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        self._wake = asyncio.Event()
        self._keys: str | None = None  # FINANCING_WEBHOOK_SECRET_KEY, read on each run
        sync_class = factory.kw.get("sync_session_class")
        if sync_class is not None:
            sa_event.listen(sync_class, "after_commit", self._after_commit)

    def _after_commit(self, session) -> None:
        if service.take_wake_flag(session.info):
            self._wake.set()

    async def run(self) -> dict[str, int]:
        """Send until nothing is due, waiting for a wake-up or the next retry, for at most
        ``poll_interval_s``; then return (the periodic runner calls again)."""
        settings = WebhookSettings()
        self._keys = settings.secret_key.get_secret_value() if settings.secret_key else None
        totals: Counter[str] = Counter()
        deadline = time.monotonic() + settings.poll_interval_s
        while True:
            self._wake.clear()
            sent = await self.dispatch_once(settings, totals)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if sent:
                continue  # the next delivery of the same enterprise may be due now
            wait = remaining
            async with self.factory() as session:
                due = await repository.next_due(session)
            if due is not None:
                wait = min(wait, max(0.0, (due - utcnow()).total_seconds()) + 0.01)
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                if time.monotonic() >= deadline:
                    break
        return dict(totals)

    async def dispatch_once(self, settings: WebhookSettings,
                            totals: Counter[str] | None = None) -> int:
        """One round: claim, POST, record. Returns how many deliveries were attempted."""
        token = uuid.uuid4().hex
        async with self.factory() as session, session.begin():
            claimed = await repository.claim(session, token=token, now=utcnow(),
                                             lease=timedelta(seconds=settings.lease_s),
                                             limit=settings.batch_size)
        if not claimed:
            return 0
        async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False,
                                     trust_env=False, proxy=settings.proxy) as client:
            outcomes = await asyncio.gather(*(self._post(client, c) for c in claimed))
        async with self.factory() as session, session.begin():
            for claim, (status_code, error) in zip(claimed, outcomes, strict=True):
                outcome = await self._record(session, claim, status_code, error, settings)
                if totals is not None:
                    totals[outcome] += 1
        return len(claimed)

    async def _post(self, client: httpx.AsyncClient, claim: repository.Claimed
                    ) -> tuple[int | None, str | None]:
        body = claim.body.encode()
        headers = {"Content-Type": service.CLOUDEVENTS_JSON, "User-Agent": USER_AGENT,
                   **signing.headers(signing.unseal(claim.secret, self._keys),
                                     claim.event_id, body)}
        try:
            response = await client.post(claim.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        excerpt = response.text[:200].strip()
        return response.status_code, (f"HTTP {response.status_code}"
                                      + (f": {excerpt}" if excerpt else ""))[:ERROR_MAX]

    async def _record(self, session: AsyncSession, claim: repository.Claimed,
                      status_code: int | None, error: str | None,
                      settings: WebhookSettings) -> str:
        now = utcnow()
        if error is None:
            outcome, status, next_at = "delivered", "delivered", None
        elif claim.attempts >= settings.max_attempts:
            outcome, status, next_at = "failed", "failed", None
        else:
            outcome, status = "retry", PENDING
            next_at = now + timedelta(seconds=backoff_s(claim.attempts, settings.backoff_base_s,
                                                        settings.backoff_max_s))
        recorded = await repository.finish(session, claim, status=status, now=now,
                                           status_code=status_code, error=error,
                                           next_attempt_at=next_at)
        ATTEMPTS.labels(outcome).inc()
        fields = dict(delivery_id=claim.id, subscription_id=claim.subscription_id,
                      event_type=claim.event_type, subject=claim.subject,
                      attempt=claim.attempts, status_code=status_code, recorded=recorded)
        if outcome == "delivered":
            log.info("financing.webhook.delivered", **fields)
        elif outcome == "retry":
            log.warning("financing.webhook.retry", error=error,
                        next_attempt_at=next_at.isoformat(), **fields)
        else:
            log.error("financing.webhook.failed", error=error, **fields)
        return outcome


_DISPATCHERS: "weakref.WeakKeyDictionary[async_sessionmaker, Dispatcher]" = (
    weakref.WeakKeyDictionary())


def dispatcher_for(factory: async_sessionmaker[AsyncSession]) -> Dispatcher:
    """The dispatcher of one service instance (tests run several apps in one process)."""
    dispatcher = _DISPATCHERS.get(factory)
    if dispatcher is None:
        dispatcher = _DISPATCHERS[factory] = Dispatcher(factory)
    return dispatcher
