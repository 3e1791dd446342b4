"""`make bench` (registry): bulk import rows/s (enterprises, patents), and read/search requests/s over 100,000
enterprises as a ratio to a bare FastAPI endpoint returning a constant, measured in one run.

Usage: python -m tests.bench.registry [--enterprises 100000] [--seconds 8] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from services.registry.bulk import run_import
from services.registry.enterprises.bulk import EnterpriseImporter
from shared.auth import Principal
from shared.broker import free_port
from shared.config import REPO_ROOT
from shared.db import create_engine, create_sessionmaker
from shared.migrate import upgrade
from tests.factories import make_uscc
from tests.harness import ServiceProcess, auth, start_test_broker, wait_for

REGIONS = ["140202", "140211", "140100", "420281", "420200", "320500", "110108", "440300"]
INDUSTRIES = ["C3911", "C3985", "I6513", "F5211", "E4710", "M7320", "L7212", "G5411"]


def write_csv(path: Path, n: int, rng: random.Random) -> list[str]:
    usccs = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["uscc", "name", "region_code", "industry_code", "ownership", "employees",
                    "revenue_10k_cny", "figures_year"])
        seen = set()
        while len(usccs) < n:
            u = make_uscc(rng)
            if u in seen:
                continue
            seen.add(u)
            usccs.append(u)
            w.writerow([u, f"基准企业{len(usccs)}有限公司", rng.choice(REGIONS),
                        rng.choice(INDUSTRIES), "private", rng.randint(3, 1500),
                        rng.randint(50, 60000), 2025])
    return usccs


def write_patents_csv(path: Path, n: int, owners: list[str], rng: random.Random) -> None:
    from tests.registry.ip_factories import application_no, patent_body
    from tests.registry.test_patent_import import COLUMNS, csv_row

    numbers: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        while len(numbers) < n:
            year = rng.choice((2016, 2018, 2020, 2022))
            number = application_no(year, rng=rng)
            if number not in numbers:
                numbers.add(number)
                w.writerow(csv_row(patent_body(rng.choice(owners), number=number,
                                               filing_date=date(year, 3, 10))))


async def load(url_for, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests/s over ``seconds`` with ``concurrency`` connections (all must answer 200)."""
    done = 0
    failures = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        async def worker(i: int):
            nonlocal done, failures
            rng = random.Random(i)
            while time.perf_counter() < deadline:
                r = await client.get(url_for(rng))
                if r.status_code == 200:
                    done += 1
                else:
                    failures += 1
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{failures} non-200 answers during the load")
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--patents", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rng = random.Random(20261123)
    work = Path(tempfile.mkdtemp(prefix="ipbridge-bench-registry-"))
    url = f"sqlite+aiosqlite:///{work / 'registry.db'}"
    upgrade("registry", url)
    csv_path = work / "enterprises.csv"
    usccs = write_csv(csv_path, args.enterprises, rng)

    async def do_import():
        engine = create_engine(url)
        by = Principal("bench", "market_regulation", None, frozenset())
        t0 = time.perf_counter()
        report = await run_import(csv_path, EnterpriseImporter(by), create_sessionmaker(engine))
        elapsed = time.perf_counter() - t0
        await engine.dispose()
        return report, elapsed
    report, import_s = asyncio.run(do_import())
    assert report.inserted == args.enterprises, report.as_dict()
    patents_path = work / "patents.csv"
    write_patents_csv(patents_path, args.patents, usccs, rng)

    async def do_patent_import():
        from services.registry.patents.bulk import PatentImporter

        engine = create_engine(url)
        by = Principal("bench", "market_regulation", None, frozenset())
        t0 = time.perf_counter()
        result = await run_import(patents_path, PatentImporter(by), create_sessionmaker(engine))
        elapsed = time.perf_counter() - t0
        await engine.dispose()
        return result, elapsed
    patent_report, patent_s = asyncio.run(do_patent_import())
    assert patent_report.inserted == args.patents, patent_report.as_dict()

    broker = start_test_broker(work)
    registry = ServiceProcess("registry", free_port(), url, broker.bootstrap, work / "registry.log",
                              {"IPBRIDGE_LOG_LEVEL": "WARNING", "REGISTRY_RELAY_ENABLED": "false"})
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.bench.bare_app:app",
                             "--port", str(bare_port), "--log-level", "warning"], cwd=REPO_ROOT)
    try:
        registry.start().wait_healthy()
        wait_for(lambda: _ok(f"http://127.0.0.1:{bare_port}/constant"), timeout=30)
        base = registry.url
        h = auth("miit")
        results = {}
        results["bare"] = asyncio.run(load(lambda r: f"http://127.0.0.1:{bare_port}/constant",
                                           {}, args.seconds, args.concurrency))
        results["get"] = asyncio.run(load(
            lambda r: f"{base}/v1/enterprises/{r.choice(usccs)}", h, args.seconds,
            args.concurrency))
        results["list"] = asyncio.run(load(
            lambda r: f"{base}/v1/enterprises?region={r.choice(REGIONS)[:4]}"
                      f"&industry_section={r.choice(INDUSTRIES)[0]}&limit=20", h, args.seconds,
            args.concurrency))
    finally:
        registry.stop()
        bare.terminate()
        bare.wait(10)
        broker.stop()
    print(f"\nregistry benchmark ({args.enterprises} enterprises, SQLite, {args.concurrency} "
          f"connections, {args.seconds:.0f} s per measure, one uvicorn worker each)")
    print(f"{'measure':52} {'value':>10} {'ratio':>8}")
    print(f"{'bare FastAPI constant endpoint (req/s)':52} {results['bare']:10.0f} {1.0:8.2f}")
    print(f"{'GET /v1/enterprises/{uscc} (req/s)':52} {results['get']:10.0f} "
          f"{results['get'] / results['bare']:8.3f}")
    print(f"{'GET /v1/enterprises?region&industry_section (req/s)':52} {results['list']:10.0f} "
          f"{results['list'] / results['bare']:8.3f}")
    print(f"{'bulk import enterprises (rows/s)':52} {args.enterprises / import_s:10.0f}")
    print(f"{'bulk import patents (rows/s)':52} {args.patents / patent_s:10.0f}")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
