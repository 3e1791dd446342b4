"""`python -m services.registry import patents FILE`: CSV and JSON Lines through the API's rules.

A 100,000-patent file is imported by the slow test; the small one checks every reporting rule.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date

import pytest

from shared.migrate import upgrade
from tests.factories import make_uscc
from tests.registry.ip_factories import application_no, patent_body
from tests.registry.test_bulk_import import run_cli

COLUMNS = ["application_no", "title", "ipc_codes", "owner_name", "owner_uscc", "owner_share",
           "filing_date", "grant_date", "annual_fees_paid_through"]


@pytest.fixture
def registry_url(db_url):
    url = db_url("registry")
    upgrade("registry", url)
    return url


def csv_row(body: dict) -> dict:
    owners = body["owners"]
    return {"application_no": body["application_no"], "title": body["title"],
            "ipc_codes": ";".join(body["ipc_codes"]),
            "owner_name": ";".join(o["name"] for o in owners),
            "owner_uscc": ";".join(o.get("uscc") or "-" for o in owners),
            "owner_share": ";".join(str(o.get("share", "")) for o in owners)
            if all("share" in o for o in owners) else "",
            "filing_date": body["filing_date"], "grant_date": body.get("grant_date", ""),
            "annual_fees_paid_through": body.get("annual_fees_paid_through", "")}


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def test_patent_csv_import_reports_and_reruns(registry_url, tmp_path):
    rng = random.Random(7)
    owner = make_uscc(rng)
    good = [patent_body(owner, number=application_no(2021, rng=rng)) for _ in range(30)]
    co_owned = patent_body(None, number=application_no(2022, rng=rng))
    co_owned["owners"] = [{"uscc": make_uscc(rng), "name": "甲大学", "share": "60"},
                          {"name": "张三", "share": "40"}]
    bad_number = patent_body(owner, number="202410123456.9")        # check char is 0
    bad_ipc = patent_body(owner, number=application_no(2021, rng=rng), ipc_codes=["Z99X 1/00"])
    bad_shares = patent_body(None, number=application_no(2021, rng=rng))
    bad_shares["owners"] = [{"name": "甲", "share": "60"}, {"name": "乙", "share": "30"}]
    rows = [csv_row(b) for b in [*good, co_owned, bad_number, bad_ipc, bad_shares]]
    rows.append({**csv_row(good[0]), "title": "同一申请号的另一行"})    # duplicate in file
    path = tmp_path / "patents.csv"
    write_csv(path, rows)

    code, report, stderr = run_cli(registry_url, "patents", str(path))
    assert code == 3, stderr
    assert (report["inserted"], report["rejected"], report["rows"]) == (31, 4, 35)
    with open(report["errors_file"], encoding="utf-8") as fh:
        errors = {int(e["line"]): e for e in csv.DictReader(fh)}
    assert errors[33]["field"] == "application_no" and "check" in errors[33]["rule"]
    assert errors[34]["field"].startswith("ipc_codes")
    assert errors[35]["field"].startswith("owners") and "share" in errors[35]["rule"]
    assert errors[36]["rule"] == "duplicate_in_file"

    code, again, _ = run_cli(registry_url, "patents", str(path))
    assert (again["inserted"], again["unchanged"]) == (0, 31)

    changed = [csv_row({**good[1], "title": "标题被改动"})]
    write_csv(path, changed)
    code, third, _ = run_cli(registry_url, "patents", str(path))
    assert (third["inserted"], third["rejected"]) == (0, 1)
    with open(third["errors_file"], encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["rule"] == "patent.exists_with_other_facts"


def test_patent_jsonl_rows_take_the_api_shape(registry_url, tmp_path):
    body = patent_body(make_uscc(), family_members=[{"office": "US", "number": "US11223344B2"}])
    path = tmp_path / "patents.jsonl"
    path.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
    code, report, stderr = run_cli(registry_url, "patents", str(path))
    assert code == 0 and report["inserted"] == 1, stderr


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~4 minutes of one core here; the 300 s default catches hangs elsewhere
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_hundred_thousand_patents(registry_url, tmp_path):
    rng = random.Random(100_000)
    owners = [make_uscc(rng) for _ in range(500)]
    numbers: set[str] = set()
    path = tmp_path / "patents-100k.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        while len(numbers) < 100_000:
            # inventions and utility models still in term (a 2016 utility model ended in 2026)
            year = rng.choice((2018, 2020, 2022))
            number = application_no(year, kind=rng.choice("12"), rng=rng)
            if number in numbers:
                continue
            numbers.add(number)
            w.writerow(csv_row(patent_body(rng.choice(owners), number=number,
                                           filing_date=date(year, 3, 10))))
    code, report, stderr = run_cli(registry_url, "patents", str(path), timeout=840)
    assert code == 0, stderr
    assert (report["rows"], report["inserted"], report["rejected"]) == (100_000, 100_000, 0)
