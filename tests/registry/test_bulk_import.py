"""`python -m services.registry import enterprises FILE`: good rows in, bad rows reported,
re-runs change nothing. Runs the real CLI as a process against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from services.registry.db import KERNEL
from services.registry.enterprises.models import Enterprise
from shared.config import REPO_ROOT
from shared.db import create_engine, create_sessionmaker
from shared.migrate import upgrade
from tests.factories import make_uscc

COLUMNS = ["uscc", "name", "region_code", "industry_code", "ownership", "founded_on",
           "employees", "revenue_10k_cny", "figures_year"]


def run_cli(url: str, *args: str, timeout: float = 300) -> tuple[int, dict, str]:
    result = subprocess.run([sys.executable, "-m", "services.registry", "import", *args,
                             "--no-progress"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "REGISTRY_DATABASE_URL": url}, timeout=timeout)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
    return result.returncode, json.loads(last), result.stderr


def db_state(url: str) -> tuple[dict[str, int], int]:
    async def read():
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                revisions = dict((await s.execute(
                    sa.select(Enterprise.uscc, Enterprise.revision))).all())
                events = await s.scalar(sa.select(sa.func.count()).select_from(KERNEL.outbox))
                return revisions, events
        finally:
            await engine.dispose()
    return asyncio.run(read())


@pytest.fixture
def registry_url(db_url):
    url = db_url("registry")
    upgrade("registry", url)
    return url


def test_csv_import_reports_bad_rows_keeps_good_ones_and_is_idempotent(registry_url, tmp_path):
    good = [make_uscc() for _ in range(40)]
    rows = [{"uscc": u, "name": f"企业{i}", "region_code": "140202", "industry_code": "C3911",
             "ownership": "private", "founded_on": "2015-03-01", "employees": str(50 + i),
             "revenue_10k_cny": "1200.5", "figures_year": "2025"} for i, u in enumerate(good)]
    bad_check = make_uscc()
    bad_check = bad_check[:17] + ("0" if bad_check[17] != "0" else "1")
    bad = [
        {"uscc": bad_check, "name": "校验位错误"},                          # line 42
        {"uscc": make_uscc(), "name": "地区错误", "region_code": "990000"},  # line 43
        {"uscc": make_uscc(), "name": ""},                                   # line 44
        {"uscc": make_uscc(), "name": "人数非数字", "employees": "很多"},     # line 45
        {"uscc": good[0], "name": "重复"},                                   # line 46
    ]
    path = tmp_path / "enterprises.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows + bad)

    code, report, stderr = run_cli(registry_url, "enterprises", str(path))
    assert code == 3, stderr  # partial success
    assert report | {"errors_file": None} == {"rows": 45, "inserted": 40, "updated": 0,
                                              "unchanged": 0, "rejected": 5, "errors_file": None}
    with open(report["errors_file"], encoding="utf-8") as fh:
        errors = list(csv.DictReader(fh))
    by_line = {int(e["line"]): e for e in errors}
    assert by_line[42]["field"] == "uscc" and by_line[42]["rule"] == "uscc.check_character"
    assert "GB 32100 gives" in by_line[42]["message"]
    assert by_line[43]["field"] == "region_code" and by_line[43]["rule"] == "region_code.province"
    assert by_line[44]["field"] == "name"
    assert by_line[45]["field"] == "employees" and by_line[45]["rule"] == "int_parsing"
    assert by_line[46]["rule"] == "duplicate_in_file" and "line 2" in by_line[46]["message"]

    revisions, events = db_state(registry_url)
    assert set(good) <= set(revisions) and len(revisions) == 40 and events == 40

    code, again, _ = run_cli(registry_url, "enterprises", str(path))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 40)
    assert db_state(registry_url) == (revisions, events)   # nothing changed, no event

    rows[3]["employees"] = "999"   # one enterprise's figures changed at the source
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    code, third, _ = run_cli(registry_url, "enterprises", str(path))
    assert code == 0 and (third["inserted"], third["updated"], third["unchanged"]) == (0, 1, 39)
    revisions2, events2 = db_state(registry_url)
    assert revisions2[good[3]] == 2 and events2 == 41


def test_jsonl_import_reports_unparseable_lines(registry_url, tmp_path):
    u = make_uscc()
    path = tmp_path / "enterprises.jsonl"
    path.write_text("\n".join([
        json.dumps({"uscc": u, "name": "JSON 企业", "employees": 12}, ensure_ascii=False),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"uscc": make_uscc(), "name": "未知字段", "colour": "red"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    code, report, _ = run_cli(registry_url, "enterprises", str(path), "--errors",
                              str(tmp_path / "errs.csv"))
    assert code == 3 and (report["inserted"], report["rejected"]) == (1, 3)
    with open(tmp_path / "errs.csv", encoding="utf-8") as fh:
        errors = {int(e["line"]): e for e in csv.DictReader(fh)}
    assert errors[2]["rule"] == "format" and "JSON" in errors[2]["message"]
    assert errors[3]["rule"] == "format"
    assert errors[4]["field"] == "colour" and errors[4]["rule"] == "extra_forbidden"
