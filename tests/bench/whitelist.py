"""`make bench` (financing whitelist).

1. Re-evaluation after a policy-pack change over N enterprises (default 100,000), each with a
   granted invention patent: the first evaluation (every entry added), then a new pack version
   that changes the tier of a qualification (every qualified entry updated, the rest re-decided
   silently). Reported: seconds, enterprises/s and events/s, and the ratio to a baseline
   measured in the same run — the same reads of the facts and the same number of outbox rows
   written in bulk, with no rules (the floor of any implementation on this database).
2. Propagation latency p50/p99 from ``qualification.granted`` at the registry to the bank's
   example consumer (examples/bank_whitelist_consumer.py) printing the entry, with the broker,
   registry and financing as processes and a background load of registry writes.

Usage: python -m tests.bench.whitelist [--enterprises 100000] [--samples 60] [--skip-latency]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from services.financing.db import ENTERPRISES, KERNEL
from services.financing.facts.models import PatentFact, PatentOwnerFact, QualificationFact
from services.financing.whitelist import packs as whitelist_packs
from services.financing.whitelist import service as whitelist
from shared.config import REPO_ROOT
from shared.db import create_engine, create_sessionmaker, today_cn
from shared.migrate import upgrade
from shared.outbox import emit_many
from tests.factories import make_uscc
from tests.harness import auth

REGIONS = ["140202", "140211", "140100", "420281", "420200", "320500", "110108", "440300"]


async def seed(url: str, n: int, rng: random.Random) -> list[str]:
    engine = create_engine(url)
    now = datetime.now(UTC)
    today = today_cn()
    usccs: list[str] = []
    seen: set[str] = set()
    while len(usccs) < n:
        u = make_uscc(rng)
        if u not in seen:
            seen.add(u)
            usccs.append(u)
    async with engine.begin() as conn:
        for start in range(0, n, 5000):
            chunk = usccs[start:start + 5000]
            await conn.execute(sa.insert(ENTERPRISES), [{
                "uscc": u, "name": f"基准企业{start + i}有限公司",
                "region_code": (r := rng.choice(REGIONS)), "province_code": r[:2],
                "industry_code": "C3985", "ownership": "private", "founded_on": None,
                "size_class": "small", "revision": 1, "last_event_id": f"seed-{u}",
                "source_time": None, "projected_at": now} for i, u in enumerate(chunk)])
            await conn.execute(sa.insert(PatentFact.__table__), [{
                "application_no": f"2021{start + i:08d}.X", "patent_no": None,
                "kind": "invention", "title": "一种基准用正极材料", "ipc_codes": ["H01M 10/0525"],
                "owners": [{"uscc": u, "name": "基准", "share": "100"}],
                "filing_date": date(2021, 3, 1), "grant_date": date(2022, 9, 1),
                "status": "granted", "status_date": None, "in_force": True,
                "term_ends_on": date(2041, 3, 1), "annual_fee_status": "paid",
                "suspended": False, "high_value": False, "high_value_categories": [],
                "strategic_emerging_industry": None, "family_granted_abroad": 0, "awards": [],
                "encumbrances": {"pledged": False, "licences": {}}, "registry_pledged": False,
                "revision": 1, "last_event_id": f"seed-p-{u}", "projected_at": now}
                for i, u in enumerate(chunk)])
            await conn.execute(sa.insert(PatentOwnerFact.__table__), [{
                "application_no": f"2021{start + i:08d}.X", "position": 0, "uscc": u,
                "name": "基准", "share": "100"} for i, u in enumerate(chunk)])
            # a third of them are high-tech enterprises (the tier the new pack moves)
            await conn.execute(sa.insert(QualificationFact.__table__), [{
                "qualification_id": f"00000000-0000-4000-8000-{start + i:012d}",
                "uscc": u, "kind": "high_tech", "level": "national", "issuing_body": "科技厅",
                "certificate_no": f"GR{start + i}", "valid_from": today - timedelta(days=10),
                "valid_to": today + timedelta(days=900), "status": "active", "revision": 1,
                "last_event_id": f"seed-q-{u}", "projected_at": now}
                for i, u in enumerate(chunk) if (start + i) % 3 == 0])
    await engine.dispose()
    return usccs


def pack_v2(directory: Path) -> None:
    """The same pack with high-tech enterprises ranked above 专精特新 (a policy change)."""
    text = (whitelist_packs.PACK_DIR / "whitelist-2024.yaml").read_text(encoding="utf-8")
    v2 = text.replace("version: 1", "version: 2")
    v2 = v2.replace("    - code: little_giant_or_srdi\n      rank: 3",
                    "    - code: little_giant_or_srdi\n      rank: 4")
    v2 = v2.replace("    - code: high_tech\n      rank: 4", "    - code: high_tech\n      rank: 3")
    # tiers must be listed by rank: move the high_tech block before little_giant_or_srdi
    blocks = v2.split("    - code: ")
    head, tiers = blocks[0], ["    - code: " + b for b in blocks[1:]]
    order = {"cultivation_pool": 0, "quality_private": 1, "high_tech": 2,
             "little_giant_or_srdi": 3, "eligible": 4}
    tiers.sort(key=lambda b: order[b.split("\n", 1)[0].removeprefix("    - code: ")])
    (directory / "whitelist-2024.yaml").write_text(head + "".join(tiers), encoding="utf-8")


async def outbox_rows(url: str) -> int:
    engine = create_engine(url)
    async with engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(KERNEL.outbox))
    await engine.dispose()
    return int(count or 0)


async def baseline(url: str, events: int) -> float:
    """Read the same facts (gather, in the same chunks) and write ``events`` outbox rows in bulk
    with a constant payload: the floor under the rules, the basis and the per-event schema
    validation."""
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    started = time.perf_counter()
    written, after = 0, ""
    payload = {"uscc": None}
    while True:
        async with factory() as session:
            batch = list(await session.scalars(
                sa.select(ENTERPRISES.c.uscc).where(ENTERPRISES.c.uscc > after)
                .order_by(ENTERPRISES.c.uscc).limit(whitelist.CHUNK)))
            if not batch:
                break
            await whitelist.gather(session, batch)
            rows = [(("enterprise.updated", u, u, {**payload, "uscc": u, "name": "x",
                                                   "revision": 1,
                                                   "updated_at": "2026-01-01T00:00:00Z"}))
                    for u in batch[: max(0, events - written)]]
            written += len(await emit_many(session, KERNEL.outbox, rows))
            await session.rollback()  # measure the work, keep the database as it was
        after = batch[-1]
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def reevaluation(n: int) -> None:
    rng = random.Random(42)
    tmp = Path(tempfile.mkdtemp(prefix="bench-whitelist-"))
    try:
        url = f"sqlite+aiosqlite:///{tmp / 'financing.db'}"
        await asyncio.to_thread(upgrade, "financing", url)
        t = time.perf_counter()
        await seed(url, n, rng)
        print(f"seeded {n:,} enterprises with a granted invention each in "
              f"{time.perf_counter() - t:.1f} s")
        engine = create_engine(url)
        factory = create_sessionmaker(engine)

        t = time.perf_counter()
        first = await whitelist.reevaluate_all(factory, cause="bench:first")
        first_s = time.perf_counter() - t
        print(f"first evaluation: {first['evaluated']:,} enterprises, {first['published']:,} "
              f"events in {first_s:.1f} s = {first['evaluated'] / first_s:,.0f} enterprises/s, "
              f"{first['published'] / first_s:,.0f} events/s")

        packs_dir = tmp / "packs"
        packs_dir.mkdir()
        pack_v2(packs_dir)
        whitelist_packs.PACK_DIR = packs_dir
        whitelist_packs.packs.cache_clear()
        t = time.perf_counter()
        second = await whitelist.reevaluate_all(factory, cause="bench:pack-v2",
                                                only_stale_pack=True)
        second_s = time.perf_counter() - t
        await engine.dispose()
        print(f"after the pack change (whitelist@v2): {second['evaluated']:,} re-evaluated, "
              f"{second['published']:,} entries updated in {second_s:.1f} s = "
              f"{second['evaluated'] / second_s:,.0f} enterprises/s, "
              f"{second['published'] / second_s:,.0f} events/s")
        floor = await baseline(url, second["published"])
        print(f"baseline (same reads + {second['published']:,} bulk outbox rows, no rules): "
              f"{floor:.1f} s; ratio baseline/ours = {floor / second_s:.2f}")
        print(f"outbox rows now: {await outbox_rows(url):,}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def _background_writes(client: httpx.AsyncClient, stop: asyncio.Event,
                             rng: random.Random) -> int:
    """Registry writes while we measure: new enterprises with a patent, ~25 writes/s."""
    from tests.factories import enterprise_body
    from tests.registry.ip_factories import patent_body

    done = 0
    while not stop.is_set():
        body = enterprise_body(make_uscc(rng))
        resp = await client.post("/v1/enterprises", json=body, headers=auth())
        if resp.status_code == 201:
            await client.post("/v1/patents", json=patent_body(body["uscc"]), headers=auth())
            done += 2
        await asyncio.sleep(0.08)
    return done


async def _measure(registry_url: str, financing_url: str, arrivals: dict[str, float],
                   samples: int, rng: random.Random) -> tuple[list[float], int]:
    from tests.factories import enterprise_body
    from tests.registry.ip_factories import patent_body

    async with httpx.AsyncClient(base_url=registry_url, timeout=10) as registry, \
            httpx.AsyncClient(base_url=financing_url, timeout=10) as financing:
        # enterprises with a patent but no size figures: not listed until MIIT grants 专精特新
        usccs = []
        for _ in range(samples):
            body = enterprise_body(make_uscc(rng), employees=None, revenue_10k_cny=None,
                                   figures_year=None)
            assert (await registry.post("/v1/enterprises", json=body,
                                        headers=auth())).status_code == 201
            assert (await registry.post("/v1/patents", json=patent_body(body["uscc"]),
                                        headers=auth())).status_code == 201
            usccs.append(body["uscc"])
        for uscc in usccs:  # evaluated (not listed) before we start the clock
            for _ in range(400):
                resp = await financing.get(f"/v1/whitelist/{uscc}", headers=auth("bank", "B"))
                if resp.status_code == 200 and len(resp.json()["basis"]["rules"][2]["figures"]
                                                   ["excluded"]) == 0:
                    break
                await asyncio.sleep(0.05)
        stop = asyncio.Event()
        load = asyncio.create_task(_background_writes(registry, stop, rng))
        latencies = []
        today = today_cn()
        for uscc in usccs:
            started = time.monotonic()
            resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
                "kind": "zjtx_sme", "certificate_no": f"BENCH-{uscc}",
                "valid_from": (today - timedelta(days=1)).isoformat(),
                "valid_to": (today + timedelta(days=700)).isoformat(),
                "issuing_body": "山西省工业和信息化厅"}, headers=auth("miit"))
            assert resp.status_code == 201, resp.text
            deadline = started + 20
            while uscc not in arrivals and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            if uscc in arrivals:
                latencies.append((arrivals[uscc] - started) * 1000)
            await asyncio.sleep(0.05)
        stop.set()
        writes = await load
    return latencies, writes


def propagation(samples: int) -> None:
    from shared.broker import free_port
    from tests.bench.pipeline import raw_latency
    from tests.harness import ServiceProcess, start_test_broker

    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="bench-whitelist-latency-"))
    broker = start_test_broker(tmp)
    procs: list[ServiceProcess] = []
    consumer = None
    try:
        urls = {name: f"sqlite+aiosqlite:///{tmp / (name + '.db')}"
                for name in ("registry", "financing")}
        for name, url in urls.items():
            upgrade(name, url)
        quiet = {"IPBRIDGE_LOG_LEVEL": "WARNING"}
        procs = [ServiceProcess(name, free_port(), url, broker.bootstrap, tmp / f"{name}.log",
                                quiet) for name, url in urls.items()]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_healthy()
        consumer = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "examples" / "bank_whitelist_consumer.py"),
             "--bootstrap", broker.bootstrap, "--group", "bench-bank",
             "--out", str(tmp / "whitelist.json"), "--fetch-max-wait-ms", "10"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        arrivals: dict[str, float] = {}

        def read() -> None:
            for line in consumer.stdout:
                parts = line.split()
                if len(parts) > 1 and parts[0] == "added":
                    arrivals.setdefault(parts[1], time.monotonic())

        threading.Thread(target=read, daemon=True).start()
        latencies, writes = asyncio.run(_measure(procs[0].url, procs[1].url, arrivals,
                                                 samples, rng))
        raw = asyncio.run(raw_latency(broker.bootstrap, 200, 2000))
        print(f"qualification.granted (REST) -> example bank consumer prints the entry, "
              f"{len(latencies)}/{samples} samples, {writes} background registry writes:")
        print(f"  p50 {pct(latencies, 50):7.1f} ms   p99 {pct(latencies, 99):7.1f} ms   "
              f"max {max(latencies):7.1f} ms")
        print(f"  baseline raw aiokafka produce->consume p50 {pct(raw, 50):.1f} ms, "
              f"p99 {pct(raw, 99):.1f} ms; ratio p50 ours/raw = "
              f"{pct(latencies, 50) / pct(raw, 50):.1f}")
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(10)
        for proc in procs:
            proc.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    print("== whitelist re-evaluation after a policy-pack change ==")
    asyncio.run(reevaluation(args.enterprises))
    if not args.skip_latency:
        print("== propagation latency to a bank ==")
        propagation(args.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
