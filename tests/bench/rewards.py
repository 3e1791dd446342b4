"""`make bench` (rewards): claims processed per second from a burst of triggering events.

1. Throughput: N ``product.recognized`` events (default 10,000) published straight to the broker
   in one burst, for private Shanxi enterprises founded long ago (no doubt flag: the automatic
   path, 不见面审批), spread over E enterprises (default 1,000) so that the 200,000-per-
   organisation cap of 20,000 per product is not hit, except on purpose for ``--capped-orgs``
   enterprises that get an 11th product (rejected, ``cap.per_org``). A real rewards service
   process (``python -m shared.cli serve rewards``, SQLite by default, ``--postgres``) drafts,
   approves and pays each claim from ``shanxi-ip-fund`` (created and funded over its REST API
   first); the time runs from the first event published until every claim is decided in the
   database, and until the last ``claim.paid`` / ``claim.rejected`` is on ``rewards.v1``.
   Baseline, same run, same broker: a raw aiokafka consumer group reading the same N events.
2. The ledger invariant at the end: fund balance = deposits − payments + recoveries; no claim
   paid twice; the sum of paid claims = the ledger's payments; no organisation over its cap.
3. Report generation time for a year of events: ``build_evaluation`` and the HTML and PDF
   renderings of ``services.rewards.evaluation`` over the rewards database the burst filled.

Usage: python -m tests.bench.rewards [--events 10000] [--enterprises 1000] [--capped-orgs 100]
                                     [--postgres] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.broker import free_port
from shared.db import create_engine, create_sessionmaker, today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.harness import (TEST_KAFKA_ENV, PostgresCluster, ServiceProcess, auth, migrate,
                           start_test_broker, wait_for)

FUND = "shanxi-ip-fund"
PER_PRODUCT = Decimal("20000.00")
PER_ORG = Decimal("200000.00")
ITEMS_PER_ORG = int(PER_ORG / PER_PRODUCT)
REGIONS = ("140100", "140200", "140300", "140400", "140500", "140600", "140700", "140800",
           "140900", "141000", "141100")
FETCH_WAIT = int(TEST_KAFKA_ENV["KAFKA_FETCH_MAX_WAIT_MS"])


def cloud_event(name: str, subject: str, data: dict) -> CloudEvent:
    validate_payload(name, data)
    etype = event_type(name)
    return CloudEvent(type=etype.type, source=etype.source, subject=subject,
                      dataschema=etype.dataschema, data=data)


def enterprise_events(orgs: list[str]) -> list[tuple[str, CloudEvent]]:
    now = datetime.now(timezone.utc).isoformat()
    out = []
    for i, uscc in enumerate(orgs):
        region = REGIONS[i % len(REGIONS)]
        out.append((uscc, cloud_event("enterprise.registered", uscc, {
            "uscc": uscc, "name": f"山西基准测试{i:05d}科技有限公司", "region_code": region,
            "province_code": "14", "industry_code": "C3985", "ownership": "private",
            "founded_on": "2012-03-15", "revision": 1, "registered_at": now})))
    return out


def product_events(assignment: list[str]) -> list[tuple[str, CloudEvent]]:
    """One recognised product per entry (an org's products in order: the 11th comes last)."""
    today = today_cn().isoformat()
    now = datetime.now(timezone.utc).isoformat()
    out = []
    for i, uscc in enumerate(assignment):
        product_id = str(uuid.uuid4())
        out.append((uscc, cloud_event("product.recognized", product_id, {
            "product_id": product_id, "uscc": uscc, "enterprise_name": None,
            "name": f"专利密集型产品{i:05d}",
            "patents": [{"application_no": f"{10_000_000 + i:08d}", "kind": "invention",
                         "in_force": True, "is_high_value": False}],
            "figures_year": today_cn().year - 1, "annual_sales_10k_cny": "12500.50",
            "annual_profit_10k_cny": "1830.00", "status": "recognized", "revision": 2,
            "decision": "recognised", "reason": "符合专利密集型产品认定条件",
            "recognized_on": today, "decided_at": now})))
    return out


def assign(events: int, orgs: list[str], capped: int) -> list[str]:
    """Which enterprise each event is for: ``capped`` orgs get ITEMS_PER_ORG + 1 products, the
    rest are spread evenly (at most ITEMS_PER_ORG each, else the layout is refused)."""
    heavy = orgs[:capped]
    rest = orgs[capped:]
    counts = {o: ITEMS_PER_ORG + 1 for o in heavy}
    left = events - capped * (ITEMS_PER_ORG + 1)
    if left < 0 or (rest and -(-left // len(rest)) > ITEMS_PER_ORG) or (left and not rest):
        raise SystemExit(f"{events} events over {len(orgs)} enterprises with {capped} capped "
                         f"ones would put more than {ITEMS_PER_ORG} products on an uncapped one")
    for i in range(left):
        counts[rest[i % len(rest)]] = counts.get(rest[i % len(rest)], 0) + 1
    # interleave so the burst is not org by org, while each org's products stay in order
    queues = {o: [o] * n for o, n in counts.items()}
    out: list[str] = []
    while queues:
        for o in list(queues):
            out.append(queues[o].pop())
            if not queues[o]:
                del queues[o]
    return out


async def publish(bootstrap: str, topic: str, events: list[tuple[str, CloudEvent]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=e.body(), key=k.encode(), headers=e.headers())
                   for k, e in events]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql), params)).scalar()
    finally:
        await engine.dispose()


class TopicCounter:
    """Counts claim.paid / claim.rejected on rewards.v1 as they arrive (a plain consumer)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.counts: Counter[str] = Counter()
        self.last_at: float | None = None
        self.ready = asyncio.Event()

    async def run(self, until: int) -> None:
        group = f"bench-rewards-watch-{uuid.uuid4().hex[:6]}"
        consumer = AIOKafkaConsumer("rewards.v1", bootstrap_servers=self.bootstrap,
                                    group_id=group, auto_offset_reset="latest",
                                    enable_auto_commit=False, fetch_max_wait_ms=FETCH_WAIT,
                                    session_timeout_ms=6000, heartbeat_interval_ms=1000)
        await consumer.start()
        try:
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
            for tp in consumer.assignment():
                await consumer.seek_to_end(tp)
                await consumer.position(tp)
            self.ready.set()
            while self.counts["claim.paid"] + self.counts["claim.rejected"] < until:
                batch = await consumer.getmany(timeout_ms=200, max_records=2000)
                for records in batch.values():
                    for r in records:
                        kind = next((v.decode() for k, v in r.headers or () if k == "ce_type"),
                                    None)
                        if kind in ("claim.paid", "claim.rejected"):
                            self.counts[kind] += 1
                            self.last_at = time.perf_counter()
        finally:
            await consumer.stop()


async def burst(bootstrap: str, url: str, events: list[tuple[str, CloudEvent]],
                timeout: float) -> dict:
    n = len(events)
    watcher = TopicCounter(bootstrap)
    watch = asyncio.create_task(watcher.run(n))
    await asyncio.wait_for(watcher.ready.wait(), 60)
    started = time.perf_counter()
    publish_s = await publish(bootstrap, "registry.ip.v1", events)
    decided_at = None
    last_report = started
    engine = create_engine(url)
    try:
        while True:
            async with engine.connect() as conn:
                rows = dict((await conn.execute(sa.text(
                    "SELECT status, count(*) FROM reward_claims GROUP BY status"))).all())
            now = time.perf_counter()
            if rows.get("paid", 0) + rows.get("rejected", 0) >= n:
                decided_at = now
                break
            if now - started > timeout:
                raise SystemExit(f"timed out after {timeout:.0f}s: {rows}")
            if now - last_report > 15:
                print(f"  … {now - started:5.0f}s: {rows}", flush=True)
                last_report = now
            await asyncio.sleep(0.25)
    finally:
        await engine.dispose()
    try:
        await asyncio.wait_for(watch, 120)
    except asyncio.TimeoutError:
        watch.cancel()
    return {"publish_s": publish_s, "db_s": decided_at - started, "statuses": rows,
            "topic_s": (watcher.last_at - started) if watcher.last_at else None,
            "topic_counts": dict(watcher.counts)}


async def raw_consume(bootstrap: str, n: int) -> float:
    """A raw aiokafka consumer group reading the same N events from the same topic."""
    group = f"bench-rewards-raw-{uuid.uuid4().hex[:6]}"
    consumer = AIOKafkaConsumer("registry.ip.v1", bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=FETCH_WAIT, session_timeout_ms=2000,
                                heartbeat_interval_ms=500)
    await consumer.start()
    try:
        seen = 0
        started = None
        while seen < n:
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            if batch and started is None:
                started = time.perf_counter()
            for records in batch.values():
                seen += sum(1 for r in records
                            if any(k == "ce_type" and v == b"product.recognized"
                                   for k, v in r.headers or ()))
            if batch:
                await consumer.commit()
        return n / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def ledger_invariant(url: str) -> dict:
    """Everything the money must agree on, from the rewards database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            async def one(sql: str, **params):
                return (await conn.execute(sa.text(sql), params)).scalar()
            fund = (await conn.execute(sa.text(
                "SELECT balance_cny, deposited_cny, paid_cny, recovered_cny FROM reward_funds "
                "WHERE code = :c"), {"c": FUND})).one()
            sums = dict((await conn.execute(sa.text(
                "SELECT kind, coalesce(sum(amount_cny), 0) FROM reward_ledger "
                "WHERE fund_code = :c GROUP BY kind"), {"c": FUND})).all())
            payments_twice = await one(
                "SELECT count(*) FROM (SELECT claim_id FROM reward_ledger WHERE kind = 'payment' "
                "GROUP BY claim_id HAVING count(*) > 1) t")
            paid_claims = await one("SELECT coalesce(sum(paid_cny), 0) FROM reward_claims "
                                    "WHERE paid_cny IS NOT NULL")
            paid_count = await one("SELECT count(*) FROM reward_claims WHERE paid_cny IS NOT NULL")
            payment_count = await one("SELECT count(*) FROM reward_ledger WHERE kind = 'payment'")
            unmatched = await one(
                "SELECT count(*) FROM reward_claims c WHERE c.paid_cny IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM reward_ledger l WHERE l.claim_id = c.id AND l.kind = 'payment')")
            over_cap = await one(
                "SELECT count(*) FROM (SELECT uscc FROM reward_claims WHERE paid_cny IS NOT NULL "
                "GROUP BY uscc HAVING sum(paid_cny) > :cap) t", cap=int(PER_ORG))
    finally:
        await engine.dispose()
    dec = {k: Decimal(str(v)) for k, v in sums.items()}
    deposits, payments, recoveries = (dec.get("deposit", Decimal(0)),
                                      abs(dec.get("payment", Decimal(0))),
                                      dec.get("recovery", Decimal(0)))
    balance = Decimal(str(fund.balance_cny))
    checks = {
        "balance = deposits − payments + recoveries":
            balance == deposits - payments + recoveries,
        "fund totals agree with the ledger": (Decimal(str(fund.deposited_cny)), Decimal(str(
            fund.paid_cny)), Decimal(str(fund.recovered_cny))) == (deposits, payments, recoveries),
        "no claim paid twice": payments_twice == 0,
        "sum of paid claims = ledger payments": Decimal(str(paid_claims)) == payments,
        "every paid claim has its ledger payment": unmatched == 0 and paid_count == payment_count,
        "no organisation over its 200,000 cap": over_cap == 0,
        "balance never negative": balance >= 0,
    }
    return {"balance": balance, "deposits": deposits, "payments": payments,
            "recoveries": recoveries, "paid_claims": paid_count, "checks": checks}


def year_of_events(orgs: list[str], year: int, scale: float, seed: int = 7
                   ) -> list[CloudEvent]:
    """A year of the other services' events the evaluation counts, for ``orgs`` (Shanxi),
    each schema-checked: patents registered (some granted, high-value, lapsing), cultivation
    pool admissions / graduations / removals, pledge loans applied → approved or rejected →
    disbursed with their pledges, licences granted (open and ordinary). Volumes per 1,000
    enterprises at ``scale`` 1: 3,000 patents (+~1,000 grants), 300 / 60 / 20 pool
    movements, 800 loans (+600 decisions, 550 disbursements, 550 pledges), 400 licences."""
    import random
    from datetime import date, timedelta

    rng = random.Random(seed)
    first = date(year, 1, 1)
    days = max(1, (min(today_cn(), date(year, 12, 31)) - first).days)
    per = scale * len(orgs) / 1000

    def day() -> date:
        return first + timedelta(days=rng.randrange(days + 1))

    def at(d: date) -> str:
        return f"{d.isoformat()}T02:00:00Z"

    out: list[CloudEvent] = []
    region = {o: REGIONS[i % len(REGIONS)] for i, o in enumerate(orgs)}
    patents: list[tuple[str, str]] = []
    for i in range(int(3000 * per)):
        owner = rng.choice(orgs)
        number = f"{year}1{i:07d}.{rng.randrange(10)}"
        registered = day()
        granted = rng.random() < 0.4
        high = granted and rng.random() < 0.3
        base = {"application_no": number, "kind": "invention", "title": f"基准专利{i}",
                "owners": [{"uscc": owner, "name": "山西基准测试科技有限公司", "share": "100",
                            "region_code": region[owner]}],
                "filing_date": (registered - timedelta(days=700)).isoformat(),
                "grant_date": (registered - timedelta(days=30)).isoformat() if granted else None,
                "status": "granted" if granted else "pending", "in_force": granted,
                "high_value": {"is_high_value": high, "categories": ["strategic_emerging_industry"]
                               if high else []},
                "encumbrances": {"pledged": False, "licences": {}},
                "open_license_blockers": [], "revision": 1}
        out.append(cloud_event("patent.registered", number,
                               {**base, "registered_at": at(registered)}))
        patents.append((number, owner))
        if not granted and rng.random() < 0.67:
            changed = registered + timedelta(days=rng.randrange(1, 60))
            if changed.year == year and changed <= today_cn():
                out.append(cloud_event("patent.status_changed", number, {
                    **base, "status": "granted", "in_force": True,
                    "grant_date": changed.isoformat(), "revision": 2,
                    "previous_status": "pending", "changed_on": changed.isoformat(),
                    "changed_at": at(changed)}))
    for revision, (kind, count, field) in enumerate((("pool.admitted", 300, "admitted_on"),
                                                     ("pool.graduated", 60, "graduated_on"),
                                                     ("pool.removed", 20, "removed_on")), 1):
        for uscc in rng.sample(orgs, min(len(orgs), int(count * per))):
            data = {"uscc": uscc, "province_code": "14", field: day().isoformat(),
                    "revision": revision}
            if kind == "pool.removed":
                data["reason"] = "严重失信"
            out.append(cloud_event(kind, uscc, data))
    for _ in range(int(800 * per)):
        number, uscc = rng.choice(patents)
        loan_id = str(uuid.uuid4())
        applied = day()
        amount = Decimal(rng.randrange(50, 2000)) * 10_000
        loan = {"loan_id": loan_id, "borrower_uscc": uscc, "borrower_name": "山西基准测试科技有限公司",
                "bank_code": "BANK001", "requested_amount_cny": f"{amount:.2f}",
                "term_months": 12, "applied_on": applied.isoformat(), "pool_member": False,
                "green_channel": rng.random() < 0.2, "patents": [number],
                "pack": "loans-2024@v1", "purpose": "专利产业化", "province_code": "14",
                "region_code": region[uscc]}
        out.append(cloud_event("loan.applied", uscc, {**loan, "status": "applied", "revision": 1,
                                                      "applied_at": at(applied)}))
        roll = rng.random()
        decided = applied + timedelta(days=rng.randrange(1, 15))
        if roll < 0.125 and decided <= today_cn():
            out.append(cloud_event("loan.rejected", uscc, {
                **loan, "status": "rejected", "revision": 2, "reason": "评估价值不足",
                "decided_on": decided.isoformat(), "decided_at": at(decided)}))
        elif roll < 0.875 and decided <= today_cn():
            out.append(cloud_event("loan.approved", uscc, {
                **loan, "status": "approved", "revision": 2,
                "approved_amount_cny": f"{amount:.2f}", "interest_rate": "0.0385",
                "approved_term_months": 12, "decided_on": decided.isoformat(),
                "decided_at": at(decided)}))
            paid_out = decided + timedelta(days=3)
            if roll < 0.8 and paid_out <= today_cn():
                out.append(cloud_event("pledge.registered", uscc, {
                    "pledge_id": str(uuid.uuid4()), "loan_id": loan_id,
                    "application_no": number, "pledgor_uscc": uscc,
                    "pledgee_bank_code": "BANK001", "pledgee_name": "示例银行太原分行",
                    "registered_on": paid_out.isoformat(), "secured_amount_cny": f"{amount:.2f}",
                    "revision": 1, "registered_at": at(paid_out)}))
                out.append(cloud_event("loan.disbursed", uscc, {
                    **loan, "status": "disbursed", "revision": 3,
                    "disbursed_amount_cny": f"{amount:.2f}",
                    "disbursed_on": paid_out.isoformat(),
                    "maturity_on": (paid_out + timedelta(days=365)).isoformat(),
                    "outstanding_principal_cny": f"{amount:.2f}",
                    "disbursed_at": at(paid_out)}))
    for _ in range(int(400 * per)):
        number, owner = rng.choice(patents)
        licensee = rng.choice(orgs)
        starts = day()
        open_ = rng.random() < 0.6
        out.append(cloud_event("license.granted", owner, {
            "license_id": str(uuid.uuid4()), "application_no": number,
            "license_type": "open" if open_ else "ordinary",
            "licensor": {"uscc": owner, "name": "山西基准测试科技有限公司"},
            "licensee": {"uscc": licensee, "name": "山西基准测试科技有限公司",
                         "region_code": region[licensee]},
            "starts_on": starts.isoformat(),
            "fee": {"lump_sum_cny": "200000.00", "royalty_rate": None,
                    "payment_method": "lump_sum"},
            "granted_at": at(starts)}))
    return out


async def ingest_year(url: str, events: list[CloudEvent]) -> tuple[float, str | None]:
    """Apply the evaluation's own handlers to the year's events, 500 per transaction (the
    service's consumer does the same per batch); returns the time taken."""
    try:
        from services.rewards.evaluation.handlers import HANDLERS as EVALUATION
    except ImportError as exc:
        return 0.0, f"services.rewards.evaluation.handlers not available ({exc})"
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    started = time.perf_counter()
    try:
        for i in range(0, len(events), 500):
            async with factory() as session, session.begin():
                for event in events[i:i + 500]:
                    await EVALUATION[event.type](session, event)
    finally:
        await engine.dispose()
    return time.perf_counter() - started, None


async def report_timing(url: str, year: int, province: str = "14") -> dict:
    """build_evaluation + render_html + render_pdf over the rewards database (guarded: the
    evaluation module is written separately)."""
    try:
        from services.rewards.evaluation import report
        from services.rewards.evaluation import service as evaluation
        build = evaluation.build_evaluation
        render_html, render_pdf = report.render_html, report.render_pdf
    except (ImportError, AttributeError) as exc:
        return {"error": f"services.rewards.evaluation not available ({exc})"}
    engine = create_engine(url)
    factory = create_sessionmaker(engine)
    params = inspect.signature(build).parameters
    kwargs = {}
    for name, value in (("year", year), ("province_code", province)):
        if name in params:
            kwargs[name] = value
    try:
        async with factory() as session:
            t0 = time.perf_counter()
            built = build(session, **kwargs)
            if inspect.isawaitable(built):
                built = await built
            t1 = time.perf_counter()
        html = render_html(built)
        t2 = time.perf_counter()
        pdf = render_pdf(built)
        if inspect.isawaitable(pdf):
            pdf = await pdf
        t3 = time.perf_counter()
    except TypeError as exc:
        return {"error": f"unexpected signature: build_evaluation{inspect.signature(build)} "
                         f"({exc})"}
    finally:
        await engine.dispose()
    return {"build_s": t1 - t0, "html_s": t2 - t1, "pdf_s": t3 - t2,
            "html_bytes": len(html.encode() if isinstance(html, str) else html),
            "pdf_bytes": len(pdf), "kwargs": kwargs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--enterprises", type=int, default=1_000)
    parser.add_argument("--capped-orgs", type=int, default=100,
                        help="enterprises that get an 11th product (rejected by cap.per_org)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--year-scale", type=float, default=1.0,
                        help="volume of the year's other events (1: ~9,000 per 1,000 "
                             "enterprises)")
    args = parser.parse_args()
    db = "postgres" if args.postgres else "sqlite"
    work = Path(tempfile.mkdtemp(prefix="ipbridge-bench-rewards-"))
    log_file = open(work / "bench.log", "w")
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                                    structlog.processors.JSONRenderer(ensure_ascii=False)],
                        logger_factory=structlog.PrintLoggerFactory(log_file),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    logging.getLogger().addHandler(logging.FileHandler(work / "bench.log"))
    logging.getLogger().setLevel(logging.WARNING)

    orgs = [make_uscc() for _ in range(args.enterprises)]
    layout = assign(args.events, orgs, args.capped_orgs)
    expected_paid = args.events - args.capped_orgs
    deposit = PER_PRODUCT * expected_paid + Decimal("1000000.00")

    broker = start_test_broker(work)
    cluster = PostgresCluster(work / "pg") if args.postgres else None
    service = None
    try:
        url = (cluster.create_database("rewards") if cluster else
               f"sqlite+aiosqlite:///{work / 'rewards.db'}")
        migrate("rewards", url)
        service = ServiceProcess("rewards", free_port(), url, broker.bootstrap,
                                 work / "rewards.log", {"IPBRIDGE_LOG_LEVEL": "WARNING"})
        service.start()
        service.wait_healthy(60)
        # the enterprises, as the registry would announce them; then the fund, over REST
        asyncio.run(publish(broker.bootstrap, "registry.enterprise.v1", enterprise_events(orgs)))
        wait_for(lambda: asyncio.run(scalar(url, "SELECT count(*) FROM enterprise_projection"))
                 >= len(orgs), timeout=300, interval=0.5, what="rewards projecting enterprises")
        with httpx.Client(base_url=service.url, headers=auth(), timeout=30) as client:
            resp = client.post("/v1/funds", json={
                "code": FUND, "name": "山西省知识产权专项资金（基准）", "source_kind": "ip_fund",
                "jurisdiction": "14", "manager_department": "market_regulation"})
            assert resp.status_code == 201, resp.text
            resp = client.post(f"/v1/funds/{FUND}/deposits", json={
                "amount_cny": f"{deposit:.2f}", "reference": "基准测试预算"})
            assert resp.status_code == 201, resp.text
        events = product_events(layout)
        print(f"rewards: {len(orgs):,} enterprises projected; burst of {len(events):,} "
              f"product.recognized ({db}) …", flush=True)
        result = asyncio.run(burst(broker.bootstrap, url, events, args.timeout))
        raw_rate = asyncio.run(raw_consume(broker.bootstrap, len(events)))
        invariant = asyncio.run(ledger_invariant(url))
        service.stop()  # the report is built in-process, on the database the burst filled
        report: dict = {"error": "skipped"}
        if not args.skip_report:
            year = today_cn().year
            t0 = time.perf_counter()
            year_events = year_of_events(orgs, year, args.year_scale)
            generated_s = time.perf_counter() - t0
            ingest_s, error = asyncio.run(ingest_year(url, year_events))
            report = ({"error": error} if error else asyncio.run(report_timing(url, year)))
            report.update(year=year, year_events=len(year_events), ingest_s=ingest_s,
                          generated_s=generated_s,
                          by_type=Counter(e.type for e in year_events))
    finally:
        if service is not None:
            service.stop()
        broker.stop()
        if cluster:
            cluster.cleanup()

    n = len(events)
    db_rate = n / result["db_s"]
    statuses = result["statuses"]
    print(f"\nipbridge rewards benchmark ({db}, {n:,} product.recognized over {len(orgs):,} "
          f"enterprises, {args.capped_orgs} of them over the cap; "
          f"fetch_max_wait_ms={FETCH_WAIT})")
    print(f"{'measure':62} {'value':>14} {'ratio':>8}")
    print(f"{'raw aiokafka consumer group reading the N events (events/s)':62} "
          f"{raw_rate:14.0f} {1.0:8.2f}")
    print(f"{'burst -> rewards -> claims decided in the DB (claims/s)':62} {db_rate:14.1f} "
          f"{db_rate / raw_rate:8.4f}")
    if result["topic_s"]:
        topic_rate = n / result["topic_s"]
        print(f"{'burst -> last claim.paid/.rejected on rewards.v1 (claims/s)':62} "
              f"{topic_rate:14.1f} {topic_rate / raw_rate:8.4f}")
    print(f"{'  time to all decided in the DB (s)':62} {result['db_s']:14.1f}")
    if result["topic_s"]:
        print(f"{'  time to the last claim event on rewards.v1 (s)':62} {result['topic_s']:14.1f}")
    print(f"{'  publishing the burst took (s)':62} {result['publish_s']:14.2f}")
    print(f"{'  claims paid / rejected (expected)':62} "
          f"{statuses.get('paid', 0):>6} / {statuses.get('rejected', 0):<6}"
          f" ({expected_paid} / {args.capped_orgs})")
    print(f"{'  claim events on rewards.v1 (paid / rejected)':62} "
          f"{result['topic_counts'].get('claim.paid', 0):>6} / "
          f"{result['topic_counts'].get('claim.rejected', 0):<6}")
    other = {k: v for k, v in statuses.items() if k not in ("paid", "rejected")}
    if other:
        print(f"{'  other statuses (should be none)':62} {other}")
    print("\nledger invariant (shanxi-ip-fund)")
    print(f"  deposits {invariant['deposits']:,.2f} − payments {invariant['payments']:,.2f} "
          f"+ recoveries {invariant['recoveries']:,.2f} = balance {invariant['balance']:,.2f}")
    ok = statuses.get("paid", 0) == expected_paid and statuses.get("rejected", 0) == \
        args.capped_orgs
    for label, passed in invariant["checks"].items():
        print(f"  [{'ok' if passed else 'FAIL'}] {label}")
        ok = ok and passed
    print(f"  [{'ok' if statuses.get('paid', 0) == expected_paid else 'FAIL'}] "
          f"paid claims = {expected_paid} expected")
    print("\nreport generation (a year of events: this run's claims and payments, plus the "
          "other services' events of the year)")
    if "year_events" in report:
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(report["by_type"].items()))
        print(f"  {report['year_events']:,} events of {report['year']} ({kinds})")
        print(f"  applied through the evaluation's handlers in {report['ingest_s']:.1f} s "
              f"(generated in {report['generated_s']:.1f} s)")
    if "error" in report:
        print(f"  not measured: {report['error']}")
    else:
        print(f"  build_evaluation({', '.join(f'{k}={v!r}' for k, v in report['kwargs'].items())})"
              f" {report['build_s'] * 1000:10.1f} ms")
        print(f"  render_html {report['html_s'] * 1000:10.1f} ms ({report['html_bytes']:,} bytes)")
        print(f"  render_pdf  {report['pdf_s'] * 1000:10.1f} ms ({report['pdf_bytes']:,} bytes)")
    print(f"logs: {work}")
    if not ok:
        raise SystemExit("the ledger invariant or the expected outcome does not hold")


if __name__ == "__main__":
    main()
