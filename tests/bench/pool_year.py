"""`make bench`: a synthetic province's year (``tests/scenario/province_year.py``) replayed at full
speed through the broker and the four services as processes, on SQLite and on PostgreSQL.

Prints, per database: the REST requests the replay made and their rate, the events every
service published and consumed, events/s through the whole system (published events over the
time from the first request until every service agrees with the plan), and the time from the
last request until the registry, financing and rewards are all consistent with it. Baseline in
the same run, on the same broker: a raw aiokafka producer and consumer group moving as many
messages of the same mean size.

Usage: python -m tests.bench.pool_year [--db sqlite|postgres|both] [--workers 6]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from shared.broker import free_port
from shared.db import CLOCK_FILE_ENV
from shared.migrate import SERVICES
from tests.bench.pipeline import raw_throughput
from tests.harness import (PostgresCluster, ServiceProcess, migrate, scrape, start_test_broker)
from tests.scenario.province_year import Plan, replay, wait_consistent


async def mean_payload(urls: list[str]) -> int:
    """Mean size of the events the services published (their outboxes), for the baseline."""
    total = count = 0
    for url in urls:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text(
                "SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox"))).one()
        await engine.dispose()
        count, total = count + row[0], total + row[1]
    return max(int(total / max(count, 1)), 1)


def run(db: str, work: Path, workers: int) -> dict:
    broker = start_test_broker(work)
    cluster = PostgresCluster(work / f"pg-{uuid.uuid4().hex[:6]}") if db == "postgres" else None
    clock = work / f"clock-{db}"
    services: list[ServiceProcess] = []
    try:
        urls, dbs = {}, {}
        for name in SERVICES:
            url = (cluster.create_database(name) if cluster
                   else f"sqlite+aiosqlite:///{work / f'{name}-{uuid.uuid4().hex[:6]}.db'}")
            migrate(name, url)
            dbs[name] = url
            svc = ServiceProcess(name=name, port=free_port(), database_url=url,
                                 bootstrap=broker.bootstrap, log_path=work / f"{name}-{db}.log",
                                 extra_env={CLOCK_FILE_ENV: str(clock)})
            services.append(svc.start())
            urls[name] = svc.url
        for svc in services:
            svc.wait_healthy(60)
        plan = Plan.build()
        started = time.monotonic()
        outcome = replay(plan, urls, clock, workers=workers)
        _, settle_s = wait_consistent(plan, urls, timeout=600)
        total_s = time.monotonic() - started
        published = {s.name: scrape(s.url, "ipbridge_events_published_total") for s in services}
        consumed = {s.name: scrape(s.url, "ipbridge_events_consumed_total") for s in services}
        events = sum(published.values())
        size = asyncio.run(mean_payload(list(dbs.values())))
        raw = asyncio.run(raw_throughput(broker.bootstrap, int(events), size))
        return {"db": db, "enterprises": len(plan.firms), "requests": outcome.requests,
                "replay_s": outcome.setup_s + outcome.year_s, "settle_s": settle_s,
                "total_s": total_s, "published": published, "consumed": consumed,
                "events": events, "raw": raw, "size": size}
    finally:
        for svc in services:
            svc.stop()
        broker.stop()
        if cluster:
            cluster.cleanup()


def report(r: dict) -> None:
    rate = r["events"] / r["total_s"]
    print(f"\nipbridge cultivation-pool year ({r['db']}): {r['enterprises']} enterprises, "
          f"{r['requests']} REST requests, 52 weekly sweeps on the controllable clock, "
          f"events of {r['size']} bytes on average")
    print(f"{'measure':62} {'value':>12} {'ratio':>8}")
    print(f"{'raw aiokafka producer -> consumer group, same count and size (ev/s)':62} "
          f"{r['raw']:12.0f} {1.0:8.2f}")
    print(f"{'whole system: events published / time to consistent (ev/s)':62} {rate:12.0f} "
          f"{rate / r['raw']:8.4f}")
    print(f"{'REST requests/s during the replay':62} {r['requests'] / r['replay_s']:12.1f}")
    print(f"{'replay (setup + 52 weeks) (s)':62} {r['replay_s']:12.1f}")
    print(f"{'last request -> every service consistent with the plan (s)':62} "
          f"{r['settle_s']:12.2f}")
    for name in SERVICES:
        print(f"{'  ' + name + ': events published / consumed':62} "
              f"{r['published'][name]:6.0f} / {r['consumed'][name]:5.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", type=int, default=6,
                        help="parallel REST clients for the independent writes of a step")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ipbridge-pool-bench-"))
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        report(run(db, work, args.workers))
    print(f"logs: {work}")


if __name__ == "__main__":
    main()
