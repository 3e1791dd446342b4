"""The idempotent consumer against the real broker and a migrated database (SQLite, PostgreSQL):
duplicates change nothing, stale revisions are skipped, poison messages go to the DLQ with their
error, failing handlers are retried with a bound, and the consumer keeps going."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.financing.app import create_app
from services.financing.config import FinancingSettings
from services.financing.db import ENTERPRISES, KERNEL
from shared.consumer import EventConsumer
from shared.db import create_engine, create_sessionmaker
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from shared.kafka import make_consumer, make_producer
from shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, HANDLER_RETRIES
from shared.migrate import upgrade
from tests.conftest import running_app
from tests.factories import make_uscc
from tests.harness import TEST_FETCH_MAX_WAIT_MS, auth
from tests.kafka_utils import header, produce, read_topic, wait_async

pytestmark = pytest.mark.asyncio
TOPIC = "registry.enterprise.v1"


def enterprise_event(uscc: str, *, revision: int = 1, name: str = "测试企业",
                     kind: str = "enterprise.registered", **data) -> CloudEvent:
    etype = event_type(kind)
    stamp = datetime.now(UTC).isoformat()
    payload = {"uscc": uscc, "name": name, "revision": revision,
               ("registered_at" if kind == "enterprise.registered" else "updated_at"): stamp}
    payload.update(data)
    return CloudEvent(type=kind, source=etype.source, subject=uscc, data=payload,
                      dataschema=etype.dataschema, correlationid="corr-" + uscc)


def as_message(event: CloudEvent) -> tuple[bytes, bytes, list]:
    return event.subject.encode(), event.body(), event.headers()


def counter(metric, *labels) -> float:
    return metric.labels(*labels)._value.get()


def make_settings(cls, url, broker, **kw):
    return cls(database_url=url, kafka_bootstrap_servers=broker.bootstrap, env="test",
               kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
               kafka_fetch_max_wait_ms=TEST_FETCH_MAX_WAIT_MS, consumer_max_attempts=3, consumer_retry_base_s=0.01,
               **kw)


@pytest.fixture
async def financing(db_url, broker):
    url = db_url("financing")
    await asyncio.to_thread(upgrade, "financing", url)
    app = create_app(make_settings(FinancingSettings, url, broker))
    async with running_app(app) as client:
        await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 20)
        yield client, app


async def projection(app, uscc: str):
    async with app.state.sessionmaker() as s:
        return (await s.execute(sa.select(ENTERPRISES).where(ENTERPRISES.c.uscc == uscc))).first()


async def inbox_count(app, event_id: str) -> int:
    async with app.state.sessionmaker() as s:
        return await s.scalar(sa.select(sa.func.count()).select_from(KERNEL.inbox)
                              .where(KERNEL.inbox.c.event_id == event_id))


async def test_same_event_twice_changes_projection_once(financing, broker):
    client, app = financing
    uscc = make_uscc()
    event = enterprise_event(uscc)
    dup_before = counter(EVENTS_CONSUMED, "financing", TOPIC, event.type, "duplicate")
    await produce(broker.bootstrap, TOPIC, [as_message(event), as_message(event)])
    await wait_async(lambda: _dup_seen(dup_before, event.type))
    row = await projection(app, uscc)
    assert row is not None and row.revision == 1 and row.last_event_id == event.id
    assert await inbox_count(app, event.id) == 1
    resp = await client.get(f"/v1/enterprises/{uscc}", headers=auth("bank", "B001"))
    assert resp.status_code == 200 and resp.json()["revision"] == 1


async def _dup_seen(before: float, kind: str) -> bool:
    return counter(EVENTS_CONSUMED, "financing", TOPIC, kind, "duplicate") >= before + 1


async def test_newer_revision_applies_and_stale_one_is_skipped(financing, broker):
    _, app = financing
    uscc = make_uscc()
    first = enterprise_event(uscc, revision=1, name="旧名称")
    update = enterprise_event(uscc, revision=2, name="新名称", kind="enterprise.updated")
    stale = enterprise_event(uscc, revision=1, name="旧名称")  # redelivered from elsewhere
    await produce(broker.bootstrap, TOPIC, [as_message(first), as_message(update),
                                            as_message(stale)])

    async def stale_handled():
        return await inbox_count(app, stale.id) == 1
    await wait_async(stale_handled)
    row = await projection(app, uscc)
    assert (row.revision, row.name, row.last_event_id) == (2, "新名称", update.id)


async def test_poison_messages_go_to_dlq_and_next_good_message_is_processed(financing, broker):
    _, app = financing
    good_uscc, bad_uscc = make_uscc(), make_uscc()
    not_json = (bad_uscc.encode(), b"{oops", enterprise_event(bad_uscc).headers())
    no_headers = (bad_uscc.encode(), b'{"uscc": "x"}', [])
    bad_schema = enterprise_event(bad_uscc)
    bad_schema.data["uscc"] = "NOT-A-USCC"
    good = enterprise_event(good_uscc)
    dlq_before = counter(EVENTS_DEAD_LETTERED, "financing", TOPIC)
    await produce(broker.bootstrap, TOPIC, [not_json, no_headers, as_message(bad_schema),
                                            as_message(good)])

    async def good_projected():
        return await projection(app, good_uscc)
    await wait_async(good_projected)

    async def three_dead_lettered():  # the bad ones may sit on another partition than the good
        return counter(EVENTS_DEAD_LETTERED, "financing", TOPIC) == dlq_before + 3
    await wait_async(three_dead_lettered)

    dead = await read_topic(broker.bootstrap, TOPIC + ".dlq", until=lambda rs: len(
        [r for r in rs if r.key == bad_uscc.encode()]) >= 3)
    mine = [r for r in dead if r.key == bad_uscc.encode()]
    errors = {header(r, "dlq_error_type"): header(r, "dlq_error") for r in mine}
    assert set(errors) == {"EnvelopeError", "SchemaViolation"}
    assert any("not valid JSON" in e for e in [header(r, "dlq_error") for r in mine])
    assert "uscc" in errors["SchemaViolation"]
    for r in mine:
        assert header(r, "dlq_original_topic") == TOPIC
        assert header(r, "dlq_consumer_group") == "ipbridge-financing"
        assert header(r, "dlq_original_offset").isdigit()
    assert await projection(app, bad_uscc) is None


async def test_handler_failures_are_retried_then_dead_lettered(db_url, broker):
    """Kernel-level: a flaky handler succeeds on its third attempt; a broken one is dead-lettered
    after the bounded attempts, and the consumer carries on with later messages."""
    url = db_url("financing")
    await asyncio.to_thread(upgrade, "financing", url)
    settings = make_settings(FinancingSettings, url, broker)
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    flaky, broken, after = make_uscc(), make_uscc(), make_uscc()
    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handler(session, event):
        uscc = event.data["uscc"]
        attempts[uscc] = attempts.get(uscc, 0) + 1
        if uscc == broken or (uscc == flaky and attempts[uscc] < 3):
            raise RuntimeError(f"simulated failure #{attempts[uscc]} for {uscc}")
        handled.append(uscc)

    group = f"test-retries-{uuid.uuid4().hex[:8]}"
    producer_holder = {}

    async def producer_getter():
        if "p" not in producer_holder:
            producer_holder["p"] = make_producer(settings)
            await producer_holder["p"].start()
        return producer_holder["p"]

    consumer = EventConsumer(service="financing", group_id=group,
                             handlers={"enterprise.registered": handler}, factory=factory,
                             inbox=KERNEL.inbox,
                             consumer_factory=lambda topics: make_consumer(settings, topics, group),
                             producer_getter=producer_getter, max_attempts=3, retry_base_s=0.01)
    retries_before = counter(HANDLER_RETRIES, "financing", TOPIC)
    events = [enterprise_event(u) for u in (flaky, broken, after)]
    await produce(broker.bootstrap, TOPIC, [as_message(e) for e in events])
    task = asyncio.create_task(consumer.run())
    try:
        # the three keys may sit on different partitions: wait for all of them
        await wait_async(lambda: _async_true(after in handled and flaky in handled
                                             and attempts.get(broken, 0) >= 3), timeout=30)
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, 10)
        if "p" in producer_holder:
            await producer_holder["p"].stop()
    # A partition's batch is tried once in one transaction; after a failure each message gets
    # max_attempts=3 attempts in its own transaction. The broken one used all of them.
    assert attempts[broken] in (3, 4) and attempts[flaky] >= 3
    assert counter(HANDLER_RETRIES, "financing", TOPIC) - retries_before >= 2 + 1
    async with factory() as s:
        ids = set(await s.scalars(sa.select(KERNEL.inbox.c.event_id)))
    assert events[0].id in ids and events[2].id in ids and events[1].id not in ids
    dead = await read_topic(broker.bootstrap, TOPIC + ".dlq",
                            until=lambda rs: any(r.key == broken.encode() for r in rs))
    record = next(r for r in dead if r.key == broken.encode())
    assert header(record, "dlq_attempts") == "3"
    assert header(record, "dlq_consumer_group") == group
    assert "simulated failure" in header(record, "dlq_error") and broken in header(record, "dlq_error")
    assert json.loads(record.value)["uscc"] == broken
    await engine.dispose()


async def _async_true(value):
    return value


