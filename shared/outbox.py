"""Transactional outbox and inbox tables, ``emit`` for domain code, and the relay.

``emit`` validates the payload against the catalogue schema and inserts an outbox row in the
caller's session: the event commits or rolls back with the state change. The relay publishes
committed rows with acks=all, then marks them sent. A crash between publish and mark re-sends
the row on restart; consumers' inbox makes that duplicate harmless (at-least-once delivery,
exactly-once effect).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import UTCDateTime, is_sqlite, utcnow
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from shared.idempotency import idempotency_table
from shared.logging import current_correlation_id
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, PUBLISH_FAILURES

log = structlog.get_logger("ipbridge.outbox")

_PENDING_FLAG = "ipbridge_outbox_pending"


@dataclass(frozen=True)
class KernelTables:
    outbox: sa.Table
    inbox: sa.Table
    idempotency: sa.Table


def kernel_tables(metadata: sa.MetaData) -> KernelTables:
    """Declare the outbox, inbox and idempotency-key tables on a service's metadata."""
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("headers", sa.Text, nullable=False, comment="JSON list of [name, value] pairs"),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Index("ix_outbox_unpublished", "id", postgresql_where=sa.text("published_at IS NULL"),
                 sqlite_where=sa.text("published_at IS NULL")),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
    )
    return KernelTables(outbox=outbox, inbox=inbox, idempotency=idempotency_table(metadata))


def _outbox_row(name: str, key: str, subject: str, data: dict[str, Any]
                ) -> tuple[dict[str, Any], CloudEvent]:
    etype = event_type(name)
    validate_payload(name, data)
    cloud_event = CloudEvent(type=name, source=etype.source, subject=subject, data=data,
                             dataschema=etype.dataschema, correlationid=current_correlation_id())
    row = dict(event_id=cloud_event.id, topic=etype.topic, message_key=key, event_type=name,
               headers=json.dumps([[k, v.decode()] for k, v in cloud_event.headers()],
                                  ensure_ascii=False),
               payload=cloud_event.body().decode(), created_at=utcnow())
    return row, cloud_event


async def emit(session: AsyncSession, outbox: sa.Table, name: str, *, key: str, subject: str,
               data: dict[str, Any]) -> CloudEvent:
    """Validate and add an event to the outbox in the caller's transaction (no commit here)."""
    row, cloud_event = _outbox_row(name, key, subject, data)
    await session.execute(sa.insert(outbox).values(row))
    session.info[_PENDING_FLAG] = True
    return cloud_event


async def emit_many(session: AsyncSession, outbox: sa.Table,
                    events: list[tuple[str, str, str, dict[str, Any]]]) -> list[CloudEvent]:
    """``emit`` for bulk work: (type, key, subject, data) tuples in one multi-row insert, in
    order; returns the events as written."""
    if not events:
        return []
    built = [_outbox_row(name, key, subject, data) for name, key, subject, data in events]
    await session.execute(sa.insert(outbox), [row for row, _ in built])
    session.info[_PENDING_FLAG] = True
    return [cloud_event for _, cloud_event in built]


class OutboxRelay:
    """Publishes committed outbox rows in id order; survives broker outages (backlog drains)."""

    def __init__(self, *, service: str, factory: async_sessionmaker[AsyncSession],
                 outbox: sa.Table, producer_factory, database_url: str, batch_size: int = 200,
                 poll_interval_s: float = 0.5, max_backoff_s: float = 5.0,
                 send_timeout_s: float = 10.0) -> None:
        self.service = service
        self.factory = factory
        self.outbox = outbox
        self.producer_factory = producer_factory
        self.sqlite = is_sqlite(database_url)
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.send_timeout_s = send_timeout_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._producer = None
        sync_cls = factory.kw.get("sync_session_class")
        if sync_cls is not None:
            sa_event.listen(sync_cls, "after_commit", self._after_commit)

    def _after_commit(self, session) -> None:
        if session.info.pop(_PENDING_FLAG, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def _ensure_producer(self):
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def run(self) -> None:
        """Loop until stopped: publish, then sleep until woken by a commit or the poll interval."""
        backoff = 0.0
        while not self._stopping:
            try:
                sent = await self.publish_batch()
                backoff = 0.0
                if sent >= self.batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                PUBLISH_FAILURES.labels(self.service).inc()
                backoff = min(self.max_backoff_s, max(0.1, backoff * 2))
                log.warning("outbox.publish_failed", error=str(exc) or type(exc).__name__,
                            retry_in_s=backoff)
                await self._reset_producer()
                await self.refresh_backlog()
                await asyncio.sleep(backoff)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except Exception:  # the broker is gone; nothing to flush
                pass

    async def refresh_backlog(self) -> int:
        try:
            async with self.factory() as session:
                row = (await session.execute(
                    sa.select(sa.func.count(), sa.func.min(self.outbox.c.created_at))
                    .where(self.outbox.c.published_at.is_(None)))).one()
        except Exception:
            return -1
        count, oldest = row
        OUTBOX_BACKLOG.labels(self.service).set(count)
        OUTBOX_OLDEST_AGE.labels(self.service).set(
            (utcnow() - oldest).total_seconds() if oldest is not None else 0)
        return count

    async def publish_batch(self) -> int:
        """Publish up to ``batch_size`` rows; returns how many were sent."""
        o = self.outbox
        query = (sa.select(o.c.id, o.c.topic, o.c.message_key, o.c.event_type, o.c.headers,
                           o.c.payload)
                 .where(o.c.published_at.is_(None)).order_by(o.c.id).limit(self.batch_size))
        if self.sqlite:
            # SQLite has one writer; a read snapshot upgraded to a write would fail with BUSY
            # after a concurrent commit, so read and mark in two short transactions.
            async with self.factory() as session:
                rows = (await session.execute(query)).all()
            if not rows:
                await self.refresh_backlog()
                return 0
            await self._send(rows)
            async with self.factory() as session, session.begin():
                await self._mark_sent(session, rows)
        else:
            # PostgreSQL: lock the rows so several relay instances never publish the same batch.
            async with self.factory() as session, session.begin():
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                if not rows:
                    await self.refresh_backlog()
                    return 0
                await self._send(rows)
                await self._mark_sent(session, rows)
        await self.refresh_backlog()
        return len(rows)

    async def _send(self, rows) -> None:
        producer = await self._ensure_producer()
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in json.loads(row.headers)]
            futures.append(await producer.send(row.topic, value=row.payload.encode(),
                                               key=row.message_key.encode(), headers=headers))
        await asyncio.wait_for(asyncio.gather(*futures), self.send_timeout_s)
        if os.environ.get("IPBRIDGE_FAULT_EXIT_AFTER_PUBLISH") == "1":
            # Fault-injection hook for the crash test: die after the broker acked, before the
            # rows are marked sent. Never set outside tests.
            os._exit(137)
        for row in rows:
            EVENTS_PUBLISHED.labels(self.service, row.topic, row.event_type).inc()

    async def _mark_sent(self, session: AsyncSession, rows) -> None:
        await session.execute(sa.update(self.outbox)
                              .where(self.outbox.c.id.in_([r.id for r in rows]))
                              .values(published_at=utcnow(),
                                      attempts=self.outbox.c.attempts + 1))
        log.debug("outbox.published", count=len(rows), last_id=rows[-1].id)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await self._reset_producer()
