"""Every query for webhook subscriptions and deliveries (the dispatcher's claim included)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.financing.webhooks.models import (ACTIVE, PENDING, WebhookDelivery,
                                                WebhookSubscription, WebhookSubscriptionType)
from shared.db import UTCDateTime

D = WebhookDelivery
S = WebhookSubscription


def add_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    session.add(subscription)
    session.add_all(WebhookSubscriptionType(subscription_id=subscription.id, event_type=t)
                    for t in subscription.event_types)


async def get_subscription(session: AsyncSession, subscription_id: str, *,
                           for_update: bool = False) -> WebhookSubscription | None:
    query = sa.select(S).where(S.id == subscription_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def active_by_url(session: AsyncSession, bank_code: str, url: str
                        ) -> WebhookSubscription | None:
    return await session.scalar(sa.select(S).where(S.bank_code == bank_code, S.url == url,
                                                   S.status == ACTIVE))


async def list_active(session: AsyncSession, bank_code: str) -> list[WebhookSubscription]:
    query = (sa.select(S).where(S.bank_code == bank_code, S.status == ACTIVE)
             .order_by(S.created_at, S.id))
    return list((await session.scalars(query)).all())


async def cancel_pending(session: AsyncSession, subscription_id: str, now: datetime) -> int:
    result = await session.execute(
        sa.update(D).where(D.subscription_id == subscription_id, D.status == PENDING)
        .values(status="cancelled", finished_at=now, lease_token=None, lease_until=None)
        .execution_options(synchronize_session=False))
    return result.rowcount


async def enqueue(session: AsyncSession, *, event_id: str, event_type: str, subject: str,
                  body: str, bank_code: str | None, now: datetime) -> int:
    """One pending delivery per active subscription of ``event_type`` (of ``bank_code`` when
    given), in a single INSERT … SELECT: no round trip when nobody subscribes."""
    T = WebhookSubscriptionType
    source = (sa.select(S.id, sa.literal(event_id, sa.String), sa.literal(event_type, sa.String),
                        sa.literal(subject, sa.String), sa.literal(body, sa.Text),
                        sa.literal(PENDING, sa.String), sa.literal(0, sa.Integer),
                        sa.literal(now, UTCDateTime()), sa.literal(now, UTCDateTime()))
              .join(T, T.subscription_id == S.id)
              .where(T.event_type == event_type, S.status == ACTIVE)
              .order_by(S.id))
    if bank_code is not None:
        source = source.where(S.bank_code == bank_code)
    statement = sa.insert(D).from_select(
        ["subscription_id", "event_id", "event_type", "subject", "body", "status", "attempts",
         "next_attempt_at", "created_at"], source)
    return (await session.execute(statement)).rowcount


async def deliveries(session: AsyncSession, subscription_id: str, *, status: str | None,
                     before_id: int | None, limit: int) -> list[WebhookDelivery]:
    query = sa.select(D).where(D.subscription_id == subscription_id)
    if status is not None:
        query = query.where(D.status == status)
    if before_id is not None:
        query = query.where(D.id < before_id)
    return list((await session.scalars(query.order_by(D.id.desc()).limit(limit))).all())


async def replayable(session: AsyncSession, subscription_id: str, *,
                     since: datetime | None = None, ids: Iterable[int] | None = None,
                     limit: int) -> list[WebhookDelivery]:
    """Finished deliveries to re-queue, oldest first (at most ``limit``)."""
    query = sa.select(D).where(D.subscription_id == subscription_id, D.status != PENDING)
    if since is not None:
        query = query.where(D.created_at >= since)
    if ids is not None:
        query = query.where(D.id.in_(list(ids)))
    return list((await session.scalars(query.order_by(D.id).limit(limit))).all())


async def existing_ids(session: AsyncSession, subscription_id: str, ids: Iterable[int]
                       ) -> set[int]:
    rows = await session.scalars(sa.select(D.id).where(D.subscription_id == subscription_id,
                                                       D.id.in_(list(ids))))
    return set(rows.all())


def add_deliveries(session: AsyncSession, rows: list[WebhookDelivery]) -> None:
    session.add_all(rows)


# --- the dispatcher's queries (each runs in a transaction the dispatcher owns) ----------------

@dataclass(frozen=True)
class Claimed:
    id: int
    token: str
    subscription_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    subject: str
    body: str
    attempts: int


async def claim(session: AsyncSession, *, token: str, now: datetime, lease: timedelta,
                limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries for this replica.

    A delivery is due when pending, its ``next_attempt_at`` has come, no other replica holds an
    unexpired lease on it, its subscription is active, and no older delivery of the same
    subscription and subject (USCC) is still pending: per subscription, the snapshots of one
    enterprise go out in the order they were queued. On PostgreSQL the candidate rows are
    locked with SKIP LOCKED, so concurrent replicas pick disjoint rows without waiting; on both
    backends the conditional UPDATE (pending and unleased) is what makes a row go to one
    replica only, and it counts the attempt before the POST, so a crash mid-send still counts.
    """
    row, earlier = aliased(D, name="candidate"), aliased(D, name="earlier")
    blocked = sa.exists().where(earlier.subscription_id == row.subscription_id,
                                earlier.subject == row.subject, earlier.id < row.id,
                                earlier.status == PENDING)
    candidates = (sa.select(row.id).join(S, S.id == row.subscription_id)
                  .where(row.status == PENDING, row.next_attempt_at <= now,
                         sa.or_(row.lease_until.is_(None), row.lease_until < now),
                         S.status == ACTIVE, ~blocked)
                  .order_by(row.id).limit(limit)
                  .with_for_update(of=row, skip_locked=True))
    unleased = sa.or_(D.lease_until.is_(None), D.lease_until < now)
    statement = (sa.update(D)
                 .where(D.id.in_(candidates.scalar_subquery()), D.status == PENDING, unleased)
                 .values(lease_token=token, lease_until=now + lease, attempts=D.attempts + 1,
                         last_attempt_at=now)
                 .returning(D.id, D.subscription_id, D.event_id, D.event_type, D.subject,
                            D.body, D.attempts)
                 .execution_options(synchronize_session=False))
    rows = (await session.execute(statement)).all()
    if not rows:
        return []
    targets = {r.id: r for r in (await session.execute(
        sa.select(S.id, S.url, S.secret).where(S.id.in_({r.subscription_id for r in rows}))
    )).all()}
    return sorted((Claimed(id=r.id, token=token, subscription_id=r.subscription_id,
                           url=targets[r.subscription_id].url,
                           secret=targets[r.subscription_id].secret, event_id=r.event_id,
                           event_type=r.event_type, subject=r.subject, body=r.body,
                           attempts=r.attempts) for r in rows), key=lambda c: c.id)


async def finish(session: AsyncSession, claimed: Claimed, *, status: str, now: datetime,
                 status_code: int | None, error: str | None,
                 next_attempt_at: datetime | None = None) -> bool:
    """Record one attempt's outcome, only while this replica still holds the lease (a
    cancelled delivery or an expired, re-claimed lease is left alone)."""
    values: dict = {"last_status_code": status_code, "last_error": error,
                    "lease_token": None, "lease_until": None}
    if status == PENDING:
        values["next_attempt_at"] = next_attempt_at
    else:
        values |= {"status": status, "finished_at": now}
    result = await session.execute(
        sa.update(D).where(D.id == claimed.id, D.lease_token == claimed.token,
                           D.status == PENDING)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery becomes due (None when the queue is empty)."""
    return await session.scalar(sa.select(sa.func.min(D.next_attempt_at))
                                .where(D.status == PENDING))
