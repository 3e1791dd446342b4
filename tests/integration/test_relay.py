"""The outbox relay against a migrated registry database and the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from services.registry.db import KERNEL
from services.registry.config import RegistrySettings
from shared.db import create_engine, create_sessionmaker
from shared.kafka import make_producer
from shared.migrate import upgrade
from shared.outbox import OutboxRelay, emit
from tests.factories import make_uscc
from tests.kafka_utils import header, read_topic

pytestmark = pytest.mark.asyncio
TOPIC = "registry.enterprise.v1"


def payload(uscc: str) -> dict:
    return {"uscc": uscc, "name": "中间件测试企业", "revision": 1,
            "registered_at": "2026-01-01T00:00:00+00:00"}


@pytest.fixture
async def registry_db(db_url, broker):
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    engine = create_engine(url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test")
    yield url, engine, settings
    await engine.dispose()


def new_relay(url, engine, settings, factory=None):
    return OutboxRelay(service="registry", factory=factory or create_sessionmaker(engine),
                       outbox=KERNEL.outbox, producer_factory=lambda: make_producer(settings),
                       database_url=url, batch_size=25)


async def test_rolled_back_events_are_never_published(registry_db, broker):
    url, engine, settings = registry_db
    factory = create_sessionmaker(engine)
    kept, dropped = make_uscc(), make_uscc()
    async with factory() as s:
        await emit(s, KERNEL.outbox, "enterprise.registered", key=dropped, subject=dropped,
                   data=payload(dropped))
        await s.rollback()
    async with factory() as s, s.begin():
        await emit(s, KERNEL.outbox, "enterprise.registered", key=kept, subject=kept,
                   data=payload(kept))
    relay = new_relay(url, engine, settings, factory)
    try:
        assert await relay.publish_batch() == 1
        assert await relay.publish_batch() == 0
    finally:
        await relay.stop()
    records = await read_topic(broker.bootstrap, TOPIC,
                               until=lambda rs: any(r.key == kept.encode() for r in rs))
    assert not any(r.key == dropped.encode() for r in records)
    async with factory() as s:
        rows = (await s.execute(sa.select(KERNEL.outbox))).all()
    assert len(rows) == 1 and rows[0].published_at is not None


async def test_emit_refuses_a_payload_that_breaks_its_schema(registry_db):
    _, engine, _ = registry_db
    from shared.events.catalogue import SchemaViolation

    async with create_sessionmaker(engine)() as s:
        with pytest.raises(SchemaViolation, match="uscc"):
            await emit(s, KERNEL.outbox, "enterprise.registered", key="k", subject="k",
                       data=payload("lowercase-not-uscc"))


async def test_concurrent_relays_publish_each_row_once(registry_db, broker, request):
    """Two relay instances on one PostgreSQL database (scale-out): SKIP LOCKED splits the rows."""
    url, engine, settings = registry_db
    if url.startswith("sqlite"):
        pytest.skip("SQLite deployments run a single relay; the scale-out guarantee is PostgreSQL's")
    factory = create_sessionmaker(engine)
    usccs = [make_uscc() for _ in range(120)]
    async with factory() as s, s.begin():
        for u in usccs:
            await emit(s, KERNEL.outbox, "enterprise.registered", key=u, subject=u, data=payload(u))
    relays = [new_relay(url, engine, settings), new_relay(url, engine, settings)]

    async def drain(relay):
        sent = 0
        while (n := await relay.publish_batch()) > 0:
            sent += n
        return sent

    try:
        counts = await asyncio.gather(*(drain(r) for r in relays))
    finally:
        for r in relays:
            await r.stop()
    assert sum(counts) == 120
    wanted = {u.encode() for u in usccs}
    records = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: wanted <= {
        r.key for r in rs})
    ids = [header(r, "ce_id") for r in records if r.key in wanted]
    assert len(ids) == len(set(ids)) == 120
    # per-key order: each key's message carries that key's payload
    for r in records:
        if r.key in wanted:
            assert json.loads(r.value)["uscc"].encode() == r.key
