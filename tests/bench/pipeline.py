"""`make bench`: the event pipeline measured against a raw aiokafka pair on the same broker.

1. Throughput: N events committed to registry's outbox, then drained through relay → broker →
   financing's idempotent consumer → projection rows; compared with a raw aiokafka producer and
   consumer group moving N messages of the same size on the same broker, in the same run.
2. Latency: registrations over HTTP against the four real service processes; for each
   enterprise, registry's commit time (``created_at``) to each projection's ``projected_at``.
   Raw baseline: produce → consume latency of one aiokafka pair at the same fetch setting.

Usage: python -m tests.bench.pipeline [--events 5000] [--requests 200] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.financing.config import FinancingSettings
from services.financing.db import ENTERPRISES
from services.financing.db import KERNEL as FIN_KERNEL
from services.financing.enterprises.handlers import HANDLERS
from services.registry.config import RegistrySettings
from services.registry.db import KERNEL as REG_KERNEL
from shared.consumer import EventConsumer
from shared.db import create_engine, create_sessionmaker
from shared.kafka import make_consumer, make_producer
from shared.migrate import SERVICES, upgrade
from shared.outbox import OutboxRelay, emit
from tests.factories import enterprise_body, make_uscc
from tests.harness import (TEST_KAFKA_ENV, PostgresCluster, ServiceProcess, auth, migrate,
                           start_test_broker, wait_for)

KAFKA_KW = dict(kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
                kafka_fetch_max_wait_ms=int(TEST_KAFKA_ENV["KAFKA_FETCH_MAX_WAIT_MS"]))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def raw_throughput(bootstrap: str, n: int, size: int) -> float:
    topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    payload = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=KAFKA_KW["kafka_fetch_max_wait_ms"],
                                session_timeout_ms=2000, heartbeat_interval_ms=500)
    await producer.start()
    await producer.send_and_wait(topic, b"warm", key=b"warm")
    await consumer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, payload, key=str(i % 97).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    seen = 0
    while seen < n + 1:
        batch = await consumer.getmany(timeout_ms=200, max_records=500)
        seen += sum(len(v) for v in batch.values())
        if batch:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return n / elapsed


async def pipeline_throughput(bootstrap: str, n: int, reg_url: str, fin_url: str) -> tuple[float, int]:
    reg_settings = RegistrySettings(database_url=reg_url, kafka_bootstrap_servers=bootstrap,
                                    env="test", **KAFKA_KW)
    fin_settings = FinancingSettings(database_url=fin_url, kafka_bootstrap_servers=bootstrap,
                                     env="test", **KAFKA_KW)
    reg_engine, fin_engine = create_engine(reg_url), create_engine(fin_url)
    reg_factory, fin_factory = create_sessionmaker(reg_engine), create_sessionmaker(fin_engine)
    size = 0
    async with reg_factory() as s, s.begin():
        for _ in range(n):
            u = make_uscc()
            event = await emit(s, REG_KERNEL.outbox, "enterprise.registered", key=u, subject=u,
                               data={"uscc": u, "name": "基准测试企业有限公司", "region_code": "140200",
                                     "province_code": "14", "industry_code": "C3985",
                                     "ownership": "private", "founded_on": "2016-05-20",
                                     "revision": 1, "registered_at": datetime.now().astimezone().isoformat()})
            size = len(event.body())
    group = f"bench-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(service="registry", factory=reg_factory, outbox=REG_KERNEL.outbox,
                        producer_factory=lambda: make_producer(reg_settings), database_url=reg_url,
                        batch_size=500)
    holder = {}

    async def producer_getter():
        if "p" not in holder:
            holder["p"] = make_producer(fin_settings)
            await holder["p"].start()
        return holder["p"]

    consumer = EventConsumer(service="financing", group_id=group, handlers=HANDLERS,
                             factory=fin_factory, inbox=FIN_KERNEL.inbox,
                             consumer_factory=lambda t: make_consumer(fin_settings, t, group),
                             producer_getter=producer_getter)
    consumer_task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    await asyncio.sleep(1.5)  # let the group settle before timing
    started = time.perf_counter()
    relay_task = asyncio.create_task(relay.run())
    while True:
        async with fin_factory() as s:
            count = await s.scalar(sa.select(sa.func.count()).select_from(ENTERPRISES))
        if count >= n:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    await relay.stop()
    await consumer.stop()
    await asyncio.gather(relay_task, consumer_task, return_exceptions=True)
    if "p" in holder:
        await holder["p"].stop()
    await reg_engine.dispose()
    await fin_engine.dispose()
    return n / elapsed, size


async def raw_latency(bootstrap: str, n: int, size: int) -> list[float]:
    topic = f"bench-lat-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic,
                                auto_offset_reset="earliest",
                                fetch_max_wait_ms=KAFKA_KW["kafka_fetch_max_wait_ms"],
                                session_timeout_ms=2000, heartbeat_interval_ms=500)
    await producer.start()
    await producer.send_and_wait(topic, b"warm")
    await consumer.start()
    await consumer.getone()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await producer.send_and_wait(topic, b"x" * size)
        await consumer.getone()
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.005)
    await consumer.stop()
    await producer.stop()
    return out


def pipeline_latency(broker, urls: dict[str, str], logs: Path, n: int) -> dict[str, list[float]]:
    from shared.broker import free_port

    procs = {name: ServiceProcess(name, free_port(), urls[name], broker.bootstrap,
                                  logs / f"{name}.log", {"IPBRIDGE_LOG_LEVEL": "WARNING"})
             for name in SERVICES}
    for p in procs.values():
        p.start()
    try:
        for p in procs.values():
            p.wait_healthy()
        warm = enterprise_body()
        httpx.post(f"{procs['registry'].url}/v1/enterprises", json=warm, headers=auth())
        for name in ("financing", "matching", "rewards"):
            wait_for(lambda name=name: httpx.get(
                f"{procs[name].url}/v1/enterprises/{warm['uscc']}",
                headers=auth("auditor")).status_code == 200, timeout=30)
        created: dict[str, datetime] = {}
        headers = auth()
        with httpx.Client(timeout=10) as client:
            for _ in range(n):
                body = enterprise_body()
                resp = client.post(f"{procs['registry'].url}/v1/enterprises", json=body,
                                   headers=headers)
                resp.raise_for_status()
                created[body["uscc"]] = datetime.fromisoformat(resp.json()["created_at"])
                time.sleep(0.02)
            latencies: dict[str, list[float]] = {}
            reader = auth("auditor")
            for name in ("financing", "matching", "rewards"):
                values = []
                for uscc, t0 in created.items():
                    view = wait_for(lambda: (r := client.get(
                        f"{procs[name].url}/v1/enterprises/{uscc}", headers=reader)).status_code
                        == 200 and r.json(), timeout=30)
                    values.append((datetime.fromisoformat(view["projected_at"]) - t0)
                                  .total_seconds() * 1000)
                latencies[name] = values
        return latencies
    finally:
        for p in procs.values():
            p.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ipbridge-bench-"))
    # In-process components log as the services do (JSON lines, INFO), to a file, not the report.
    log_file = open(work / "bench.log", "w")
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                                    structlog.processors.JSONRenderer(ensure_ascii=False)],
                        logger_factory=structlog.PrintLoggerFactory(log_file),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    logging.getLogger().addHandler(logging.FileHandler(work / "bench.log"))
    logging.getLogger().setLevel(logging.WARNING)
    broker = start_test_broker(work)
    cluster = PostgresCluster(work / "pg") if args.db == "postgres" else None

    def url(name: str) -> str:
        if cluster:
            return cluster.create_database(name)
        return f"sqlite+aiosqlite:///{work / (name + '-' + uuid.uuid4().hex[:6] + '.db')}"

    try:
        reg_url, fin_url = url("registry"), url("financing")
        upgrade("registry", reg_url)
        upgrade("financing", fin_url)
        pipe_rate, size = asyncio.run(pipeline_throughput(broker.bootstrap, args.events,
                                                          reg_url, fin_url))
        raw_rate = asyncio.run(raw_throughput(broker.bootstrap, args.events, size))
        raw_lat = asyncio.run(raw_latency(broker.bootstrap, args.requests, size))
        urls = {name: url(name) for name in SERVICES}
        for name in SERVICES:
            migrate(name, urls[name])
        # A fresh broker, so the service groups do not start behind the throughput backlog.
        latency_broker = start_test_broker(work)
        try:
            lat = pipeline_latency(latency_broker, urls, work, args.requests)
        finally:
            latency_broker.stop()
    finally:
        broker.stop()
        if cluster:
            cluster.cleanup()

    print(f"\nipbridge pipeline benchmark ({args.db}, {args.events} events of {size} bytes, "
          f"fetch_max_wait_ms={KAFKA_KW['kafka_fetch_max_wait_ms']})")
    print(f"{'measure':58} {'value':>12} {'ratio':>8}")
    print(f"{'raw aiokafka producer -> consumer group (events/s)':58} {raw_rate:12.0f} {1.0:8.2f}")
    print(f"{'outbox -> relay -> broker -> consumer -> projection (ev/s)':58} {pipe_rate:12.0f} "
          f"{pipe_rate / raw_rate:8.3f}")
    print(f"{'raw aiokafka produce->consume latency p50 / p99 (ms)':58} "
          f"{pct(raw_lat, 50):6.1f} /{pct(raw_lat, 99):6.1f} {1.0:8.2f}")
    base50 = pct(raw_lat, 50)
    for name, values in lat.items():
        label = f"registry commit -> {name} projection p50 / p99 (ms)"
        print(f"{label:58} {pct(values, 50):6.1f} /{pct(values, 99):6.1f} "
              f"{pct(values, 50) / base50:8.2f}")
    allv = [v for vs in lat.values() for v in vs]
    print(f"{'all three projections: mean (ms)':58} {statistics.mean(allv):12.1f}")
    print(f"logs: {work / 'bench.log'}")


if __name__ == "__main__":
    main()
