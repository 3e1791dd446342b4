"""Idempotent event consumer: inbox, bounded retries with backoff, DLQ, offsets after commit.

For each message: parse the CloudEvent and validate it against the catalogue schema; then, in one
database transaction, check the inbox, run the handler and record the event id. A partition's
batch shares one transaction; if it fails, each message gets its own, with retries. Offsets are
committed only after that transaction, and only for partitions still assigned. A message that
keeps failing (or can never succeed: bad envelope, schema violation) goes to ``<topic>.dlq``
with the error in headers, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import utcnow
from shared.events.catalogue import CATALOGUE, SchemaViolation, dlq_topic, validate_payload, version_of
from shared.events.envelope import CloudEvent, EnvelopeError
from shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, HANDLER_RETRIES

log = structlog.get_logger("ipbridge.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class PermanentError(Exception):
    """A handler error that retrying cannot fix: the message goes straight to the DLQ."""


class EventConsumer:
    """One consumer-group member of a service, dispatching events by type to handlers."""

    def __init__(self, *, service: str, group_id: str, handlers: dict[str, Handler],
                 factory: async_sessionmaker[AsyncSession], inbox: sa.Table,
                 consumer_factory: Callable[[list[str]], AIOKafkaConsumer],
                 producer_getter: Callable[[], Awaitable], max_attempts: int = 5,
                 retry_base_s: float = 0.05, retry_max_s: float = 2.0,
                 batch_size: int = 500) -> None:
        unknown = set(handlers) - set(CATALOGUE)
        if unknown:
            raise ValueError(f"handlers for event types not in the catalogue: {sorted(unknown)}")
        self.service = service
        self.group_id = group_id
        self.handlers = handlers
        self.topics = sorted({CATALOGUE[t].topic for t in handlers})
        self.factory = factory
        self.inbox = inbox
        self.consumer_factory = consumer_factory
        self.producer_getter = producer_getter
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.batch_size = batch_size
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = False
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Start (retrying while the broker is unreachable) and consume until stopped."""
        delay = 0.2
        while not self._stopping:
            consumer = self.consumer_factory(self.topics)
            try:
                await consumer.start()
            except asyncio.CancelledError:
                # Stopped while joining the group: leave it now, or the member keeps its
                # partitions until the session times out and their events wait that long.
                await asyncio.shield(consumer.stop())
                raise
            except Exception as exc:
                await consumer.stop()
                log.warning("consumer.start_failed", group=self.group_id, error=str(exc),
                            retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
                continue
            self._consumer = consumer
            self.started.set()
            log.info("consumer.started", group=self.group_id, topics=self.topics)
            try:
                await self._loop(consumer)
                return
            finally:
                self._consumer = None
                await consumer.stop()  # leaves the group so partitions move at once

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            batch = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
            for tp, messages in batch.items():
                if self._stopping or tp not in consumer.assignment():
                    break
                await self._process_batch(messages)
                if tp in consumer.assignment():
                    try:
                        await consumer.commit({tp: messages[-1].offset + 1})
                    except (CommitFailedError, KafkaError) as exc:
                        # Rebalanced mid-batch: the new owner re-reads; the inbox dedupes.
                        log.warning("consumer.commit_failed", topic=tp.topic,
                                    partition=tp.partition, error=str(exc))
            await self._update_lag(consumer)

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = await consumer.position(tp)
            except Exception:  # partition revoked meanwhile
                continue
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                max(0, high - position))

    async def _parse(self, msg: ConsumerRecord) -> CloudEvent | None:
        """The validated event, or None when it was ignored or dead-lettered."""
        try:
            event = CloudEvent.from_kafka(msg.headers, msg.value)
            if event.type not in self.handlers:
                EVENTS_CONSUMED.labels(self.service, msg.topic, event.type, "ignored").inc()
                return None
            validate_payload(event.type, event.data, version_of(event.dataschema, event.type))
        except (EnvelopeError, SchemaViolation) as exc:
            await self._dead_letter(msg, exc, attempts=1)
            return None
        return event

    async def _process_batch(self, messages: list[ConsumerRecord]) -> None:
        """Handle one partition's batch in a single transaction (one commit, one inbox query).

        If anything in it fails, fall back to one transaction per message with retries, so a
        poison message is isolated and dead-lettered while the others commit.
        """
        parsed = [(msg, event) for msg in messages if (event := await self._parse(msg))]
        if not parsed:
            return
        if len(parsed) > 1:
            try:
                outcomes = await self._handle_batch(parsed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer.batch_failed", size=len(parsed), error=str(exc),
                            error_type=type(exc).__name__)
            else:
                for (msg, event), outcome in zip(parsed, outcomes, strict=True):
                    EVENTS_CONSUMED.labels(self.service, msg.topic, event.type, outcome).inc()
                    log.info("event.handled", outcome=outcome, attempt=1, event_id=event.id,
                             event_type=event.type, correlation_id=event.correlationid,
                             topic=msg.topic, partition=msg.partition, offset=msg.offset)
                return
        for msg, event in parsed:
            await self._process_one(msg, event)

    async def _handle_batch(self, parsed: list[tuple[ConsumerRecord, CloudEvent]]) -> list[str]:
        outcomes: list[str] = []
        async with self.factory() as session, session.begin():
            seen = set(await session.scalars(sa.select(self.inbox.c.event_id).where(
                self.inbox.c.event_id.in_([event.id for _, event in parsed]))))
            rows = []
            for msg, event in parsed:
                if event.id in seen:
                    outcomes.append("duplicate")
                    continue
                seen.add(event.id)
                with structlog.contextvars.bound_contextvars(
                        event_id=event.id, event_type=event.type,
                        correlation_id=event.correlationid):
                    await self.handlers[event.type](session, event)
                rows.append(self._inbox_row(msg, event))
                outcomes.append("processed")
            if rows:
                await session.execute(sa.insert(self.inbox), rows)
        return outcomes

    def _inbox_row(self, msg: ConsumerRecord, event: CloudEvent) -> dict:
        return {"event_id": event.id, "event_type": event.type, "topic": msg.topic,
                "partition": msg.partition, "offset": msg.offset,
                "correlation_id": event.correlationid, "handled_at": utcnow()}

    async def _process_one(self, msg: ConsumerRecord, event: CloudEvent) -> None:
        """One message in its own transaction, retried with backoff, then dead-lettered."""
        handler = self.handlers[event.type]
        with structlog.contextvars.bound_contextvars(
                event_id=event.id, event_type=event.type, correlation_id=event.correlationid,
                topic=msg.topic, partition=msg.partition, offset=msg.offset):
            last_error: Exception | None = None
            for attempt in range(1, self.max_attempts + 1):
                try:
                    outcome = await self._handle_once(msg, event, handler)
                    EVENTS_CONSUMED.labels(self.service, msg.topic, event.type, outcome).inc()
                    log.info("event.handled", outcome=outcome, attempt=attempt)
                    return
                except PermanentError as exc:
                    last_error = exc
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    last_error = exc
                    if attempt < self.max_attempts:
                        HANDLER_RETRIES.labels(self.service, msg.topic).inc()
                        delay = min(self.retry_max_s, self.retry_base_s * 2 ** (attempt - 1))
                        log.warning("event.retry", attempt=attempt, error=str(exc),
                                    retry_in_s=delay)
                        await asyncio.sleep(delay * (0.5 + random.random() / 2))
            await self._dead_letter(msg, last_error, attempts=attempt, event=event)

    async def _handle_once(self, msg: ConsumerRecord, event: CloudEvent, handler: Handler) -> str:
        async with self.factory() as session:
            try:
                async with session.begin():
                    seen = await session.scalar(sa.select(self.inbox.c.event_id)
                                                .where(self.inbox.c.event_id == event.id))
                    if seen is not None:
                        return "duplicate"
                    await handler(session, event)
                    await session.execute(sa.insert(self.inbox).values(
                        self._inbox_row(msg, event)))
            except IntegrityError:
                # Another member handled the same event concurrently: its commit won.
                async with self.factory() as check:
                    if await check.scalar(sa.select(self.inbox.c.event_id)
                                          .where(self.inbox.c.event_id == event.id)):
                        return "duplicate"
                raise
        return "processed"

    async def _dead_letter(self, msg: ConsumerRecord, error: BaseException | None, *,
                           attempts: int, event: CloudEvent | None = None) -> None:
        headers = list(msg.headers or ()) + [
            ("dlq_error", str(error).encode()[:4000]),
            ("dlq_error_type", type(error).__name__.encode()),
            ("dlq_original_topic", msg.topic.encode()),
            ("dlq_original_partition", str(msg.partition).encode()),
            ("dlq_original_offset", str(msg.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        delay = 0.2
        while True:
            try:
                producer = await self.producer_getter()
                await (await producer.send(dlq_topic(msg.topic), value=msg.value, key=msg.key,
                                           headers=headers))
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker unreachable: the offset stays uncommitted
                log.warning("consumer.dlq_send_failed", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        EVENTS_DEAD_LETTERED.labels(self.service, msg.topic).inc()
        EVENTS_CONSUMED.labels(self.service, msg.topic,
                               event.type if event else "unparseable", "dead_lettered").inc()
        log.error("event.dead_lettered", topic=msg.topic, partition=msg.partition,
                  offset=msg.offset, error=str(error), error_type=type(error).__name__,
                  attempts=attempts)

    async def stop(self) -> None:
        self._stopping = True
