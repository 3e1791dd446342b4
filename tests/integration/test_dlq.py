"""Ops: list dead letters and replay them with the CLI once the cause is fixed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from services.financing.config import FinancingSettings
from services.financing.db import KERNEL
from shared.config import REPO_ROOT
from shared.consumer import EventConsumer
from shared.db import create_engine, create_sessionmaker
from shared.kafka import make_consumer, make_producer
from shared.migrate import upgrade
from tests.factories import make_uscc
from tests.integration.test_consumer import as_message, enterprise_event, make_settings
from tests.kafka_utils import header, produce, read_topic, wait_async

pytestmark = pytest.mark.asyncio
TOPIC = "registry.enterprise.v1"


def cli(*args: str, bootstrap: str) -> str:
    result = subprocess.run([sys.executable, "-m", "shared.cli", "dlq", *args, "--bootstrap",
                             bootstrap], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_dead_letter_is_listed_and_replayed_once_fixed(db_url, broker):
    url = db_url("financing")
    await asyncio.to_thread(upgrade, "financing", url)
    settings = make_settings(FinancingSettings, url, broker)
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    uscc = make_uscc()
    state = {"broken": True, "applied": 0}

    async def handler(session, event):
        if event.data["uscc"] == uscc and state["broken"]:
            raise RuntimeError("downstream table missing (simulated bad deploy)")
        if event.data["uscc"] == uscc:
            state["applied"] += 1

    group = f"test-dlq-{uuid.uuid4().hex[:8]}"
    producers = []

    async def producer_getter():
        if not producers:
            producers.append(make_producer(settings))
            await producers[0].start()
        return producers[0]

    consumer = EventConsumer(service="financing", group_id=group,
                             handlers={"enterprise.registered": handler}, factory=factory,
                             inbox=KERNEL.inbox,
                             consumer_factory=lambda t: make_consumer(settings, t, group),
                             producer_getter=producer_getter, max_attempts=2, retry_base_s=0.01)
    task = asyncio.create_task(consumer.run())
    event = enterprise_event(uscc)
    try:
        await produce(broker.bootstrap, TOPIC, [as_message(event)])
        dead = await read_topic(broker.bootstrap, TOPIC + ".dlq", until=lambda rs: any(
            header(r, "ce_id") == event.id and header(r, "dlq_consumer_group") == group
            for r in rs))
        letter = next(r for r in dead if header(r, "ce_id") == event.id)

        listing = await asyncio.to_thread(cli, "list", TOPIC, bootstrap=broker.bootstrap)
        assert f"{letter.partition}:{letter.offset}" in listing and event.id in listing
        assert "downstream table missing" in listing and group in listing

        state["broken"] = False  # the fix is deployed
        position = f"{letter.partition}:{letter.offset}"
        for _ in range(2):  # replaying twice is harmless: the inbox dedupes
            out = await asyncio.to_thread(cli, "replay", TOPIC, "--position", position,
                                          bootstrap=broker.bootstrap)
            assert "replayed 1 message" in out

        async def handled():
            async with factory() as s:
                return await s.scalar(sa.select(KERNEL.inbox.c.event_id)
                                      .where(KERNEL.inbox.c.event_id == event.id))
        await wait_async(handled)
        replays = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: sum(
            header(r, "ce_id") == event.id for r in rs) >= 3)
        replayed = [r for r in replays if header(r, "ce_id") == event.id][1:]
        assert all(header(r, "dlq_replayed_from") == f"{TOPIC}.dlq:{position}" for r in replayed)
        assert all(header(r, "dlq_error") is None for r in replayed)
        await asyncio.sleep(0.5)
        assert state["applied"] == 1
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, 10)
        for p in producers:
            await p.stop()
        await engine.dispose()
