"""The annual performance evaluation (绩效评价), on SQLite and PostgreSQL.

- The computation on hand-built rows: growth 110 → 121 is 10.0 % and meets the target, a
  removal outside the year is not counted, green-channel timeliness, paid claims by policy.
- A year of events applied through the handlers (replays included): every figure of the JSON
  equals what the facts say, for a province, a city and the nation; the HTML and the PDF
  rendered from it show the same figures.
- The routes: scope, 422 problem+json naming the parameter, content types and file names.
- The real rewards service as a process, fed the year's events through the real broker: JSON,
  HTML and PDF fetched over HTTP are checked against the events published.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import httpx
import pypdf
import pytest
import sqlalchemy as sa

from services.rewards.claims.models import RewardClaim
from services.rewards.config import RewardsSettings
from services.rewards.db import KERNEL
from services.rewards.enterprises.handlers import HANDLERS as ENTERPRISE_HANDLERS
from services.rewards.evaluation import report
from services.rewards.evaluation.handlers import HANDLERS
from services.rewards.evaluation.models import (EvaluationLoan, EvaluationPatentState,
                                                EvaluationPoolMovement)
from services.rewards.evaluation.router import router
from services.rewards.evaluation.service import build_evaluation
from shared.app import create_service_app
from shared.broker import free_port
from shared.db import create_engine, create_sessionmaker, utcnow
from shared.events.catalogue import event_type
from shared.migrate import upgrade
from tests.conftest import running_app
from tests.harness import ServiceProcess, auth, migrate, start_test_broker
from tests.kafka_utils import produce
from tests.rewards.evaluation_helpers import YEAR, claim_rows, expected, figures_of, scenario



@pytest.fixture
async def eval_db(db_url):
    """A migrated rewards database of this run's backend; yields its sessionmaker."""
    url = db_url("rewards")
    await asyncio.to_thread(upgrade, "rewards", url)
    engine = create_engine(url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _add(factory, rows: list[Any]) -> None:
    async with factory() as session, session.begin():
        session.add_all(rows)


def _patent(i: int, effective: date, *, revision: int = 1, kind: str = "invention",
            in_force: bool = True, high_value: bool = True, region: str | None = "140200",
            status: str = "granted") -> EvaluationPatentState:
    return EvaluationPatentState(
        application_no=f"20191{i:07d}.1", revision=revision, event_type="patent.registered",
        effective_on=effective, kind=kind, status=status, in_force=in_force,
        high_value=high_value, owner_uscc=None, owner_region_code=region,
        event_id=str(uuid.uuid4()), projected_at=utcnow())


async def _evaluate(factory, province: str | None = "14", region: str | None = None,
                    year: int = 2025) -> dict[str, Any]:
    async with factory() as session:
        return await build_evaluation(session, year, province, region,
                                      today=date(year + 1, 3, 1))


# --- the computation on hand-built rows ---------------------------------------------------------

async def test_high_value_growth_110_to_121_meets_the_ten_percent_target(eval_db):
    rows = [_patent(i, date(2024, 1 + i % 12, 1)) for i in range(110)]
    rows += [_patent(110 + i, date(2025, 1 + i, 10)) for i in range(11)]
    rows += [
        _patent(500, date(2024, 3, 1), kind="utility_model"),     # not an invention
        _patent(501, date(2024, 3, 1), high_value=False),         # not high-value
        _patent(502, date(2026, 1, 1)),                           # after the year
        _patent(503, date(2024, 3, 1), region="420281"),          # another province
        _patent(504, date(2024, 3, 1), kind="pct_invention"),     # a PCT invention counts ...
        _patent(504, date(2025, 5, 1), revision=2, in_force=False, status="lapsed"),  # ... lapsed
    ]
    await _add(eval_db, rows)
    hv = (await _evaluate(eval_db))["high_value_patents"]
    assert (hv["in_force_at_previous_year_end"], hv["in_force_at_year_end"]) == (111, 121)
    assert (hv["growth_pct"], hv["assessment"], hv["met"]) == ("9.0", "not_met", False)

    # without the PCT invention that lapsed in the year: 110 → 121, exactly the target
    async with eval_db() as session, session.begin():
        await session.execute(sa.delete(EvaluationPatentState)
                              .where(EvaluationPatentState.application_no == "201910000504.1"))
    hv = (await _evaluate(eval_db))["high_value_patents"]
    assert (hv["in_force_at_previous_year_end"], hv["in_force_at_year_end"]) == (110, 121)
    assert (hv["growth"], hv["growth_pct"], hv["assessment"], hv["met"]) == (
        "0.1000", "10.0", "met", True)
    assert hv["target"]["annual_growth_pct"] == "10.0"
    assert hv["target"]["clause"]["clause"] == "一、（三）工作目标"
    assert hv["target"]["applies_to_scope"] is False  # Daye's target, a benchmark for Shanxi
    daye = (await _evaluate(eval_db, None, "420281"))["high_value_patents"]
    assert daye["target"]["applies_to_scope"] is True
    assert (daye["in_force_at_previous_year_end"], daye["in_force_at_year_end"]) == (1, 1)
    assert (daye["growth_pct"], daye["assessment"]) == ("0.0", "not_met")
    assert (await _evaluate(eval_db, "11"))["high_value_patents"]["assessment"] == (
        "not_assessable")  # nothing to grow from


async def test_a_lapse_recorded_late_counts_from_its_due_date(eval_db):
    """Revision 3 (a lapse from the fee's due date, 10 December) was recorded after revision 2
    (an update on 20 December, still in force): at the year end the patent is not in force."""
    await _add(eval_db, [
        _patent(7, date(2024, 3, 1)),
        _patent(7, date(2025, 12, 20), revision=2),
        _patent(7, date(2025, 12, 10), revision=3, in_force=False, status="lapsed"),
    ])
    hv = (await _evaluate(eval_db))["high_value_patents"]
    assert (hv["in_force_at_previous_year_end"], hv["in_force_at_year_end"]) == (1, 0)
    assert (hv["growth_pct"], hv["assessment"]) == ("-100.0", "not_met")


async def test_pool_movements_outside_the_year_are_not_counted(eval_db):
    def move(uscc: str, revision: int, movement: str, on: date, reason: str | None = None,
             province: str = "14") -> EvaluationPoolMovement:
        return EvaluationPoolMovement(uscc=uscc, revision=revision, movement=movement,
                                      moved_on=on, province_code=province, reason=reason,
                                      event_id=str(uuid.uuid4()), projected_at=utcnow())

    await _add(eval_db, [
        move("A" * 18, 1, "admitted", date(2023, 5, 1)),
        move("A" * 18, 2, "removed", date(2024, 12, 31), "no_progress_two_years"),  # before
        move("B" * 18, 1, "admitted", date(2024, 2, 1)),
        move("B" * 18, 2, "removed", date(2025, 6, 1), "data_fraud"),               # counted
        move("C" * 18, 1, "admitted", date(2025, 1, 1)),                             # counted
        move("C" * 18, 2, "removed", date(2026, 1, 1), "tax_evasion"),              # after
        move("D" * 18, 1, "admitted", date(2025, 12, 31)),                           # counted
        move("E" * 18, 1, "admitted", date(2025, 3, 1), province="42"),              # elsewhere
        move("F" * 18, 1, "admitted", date(2024, 4, 1)),
        move("F" * 18, 2, "graduated", date(2025, 4, 1)),                            # counted
    ])
    pool = (await _evaluate(eval_db))["pool"]
    assert (pool["admissions"], pool["graduations"], pool["removals"]) == (2, 1, 1)
    assert pool["removals_by_reason"] == [{"reason": "data_fraud", "count": 1}]
    assert (pool["size_at_previous_year_end"], pool["size_at_year_end"]) == (2, 2)  # B, F → C, D
    by_month = {m["month"]: m for m in pool["by_month"]}
    assert by_month["2025-06"]["removals"] == 1 and by_month["2025-12"]["admissions"] == 1
    assert sum(m["admissions"] for m in pool["by_month"]) == 2


async def test_green_channel_timeliness_counts_decisions_against_their_deadline(eval_db):
    def loan(deadline: date | None, decided: date | None, *, green: bool = True,
             decision: str = "approved", region: str = "140200") -> EvaluationLoan:
        return EvaluationLoan(
            loan_id=str(uuid.uuid4()), borrower_uscc="9" * 18, province_code=region[:2],
            region_code=region, applied_on=date(2025, 1, 1), green_channel=green,
            decision_deadline=deadline, decision=decision if decided else None,
            decided_on=decided, revision=2, last_event_id="e", projected_at=utcnow())

    await _add(eval_db, [
        loan(date(2025, 3, 10), date(2025, 3, 10)),                        # on the deadline
        loan(date(2025, 4, 10), date(2025, 4, 2), decision="rejected"),    # early, a rejection
        loan(date(2025, 5, 10), date(2025, 5, 11)),                        # a day late
        loan(None, date(2025, 6, 1)),                                      # no deadline
        loan(date(2025, 3, 10), date(2025, 3, 1), green=False),            # not green channel
        loan(date(2024, 12, 20), date(2024, 12, 19)),                      # decided last year
        loan(date(2025, 11, 1), None),                                     # never decided
        loan(date(2025, 12, 20), date(2026, 1, 5)),                        # decided next year
        loan(date(2026, 1, 10), None),                                     # deadline next year
        loan(date(2025, 2, 1), date(2025, 1, 30), region="420281"),        # another province
    ])
    gc = (await _evaluate(eval_db))["green_channel"]
    assert (gc["decided"], gc["approved"], gc["rejected"]) == (4, 3, 1)
    assert (gc["within_deadline"], gc["late"], gc["without_deadline"]) == (2, 1, 1)
    assert (gc["timeliness"], gc["timeliness_pct"]) == ("0.6667", "66.7")
    assert gc["undecided_past_deadline"] == 2  # 1 Nov never; 20 Dec decided only next year


async def test_rewards_paid_by_policy_with_recoveries(eval_db):
    s = scenario()
    async with eval_db() as session, session.begin():
        await session.execute(sa.insert(RewardClaim), claim_rows(s))
    ev = await _evaluate(eval_db, year=YEAR)
    want = expected(s)["rewards"]
    assert figures_of(ev)["rewards"] == want
    shanxi = next(r for r in ev["rewards"]["by_policy"]
                  if r["rule_code"] == "patent_intensive_product")
    assert shanxi["rule_name_zh"] and shanxi["pack_title"]  # named from the pack
    assert {p["pack_id"]: p["paid_cny"] for p in ev["rewards"]["by_pack"]} == {
        "rewards-datong-2023": "15000.50", "rewards-national-2024": "50000.00",
        "rewards-shanxi-2025": "370000.00"}


# --- a year of events through the handlers ------------------------------------------------------

async def _apply(factory, events) -> None:
    handlers = {**HANDLERS, **ENTERPRISE_HANDLERS}
    async with factory() as session, session.begin():
        for event in events:
            await handlers[event.type](session, event)


async def test_a_year_of_events_gives_the_figures_the_facts_say(eval_db):
    s = scenario()
    await _apply(eval_db, s.events)
    await _apply(eval_db, s.events[::7])  # replayed again, whole: nothing changes
    async with eval_db() as session, session.begin():
        await session.execute(sa.insert(RewardClaim), claim_rows(s))
    for province, region, prefix in (("14", None, None), ("14", "140200", "1402"),
                                     (None, None, None), (None, "420281", "420281")):
        ev = await _evaluate(eval_db, province, region, year=YEAR)
        assert figures_of(ev) == expected(s, province or (region or "")[:2] or None, prefix), (
            province, region)
    ev = await _evaluate(eval_db, "14", year=YEAR)
    assert ev["high_value_patents"]["growth_pct"] == "10.0"
    assert ev["high_value_patents"]["assessment"] == "met"
    assert set(ev["sources"]["events"]) >= {"pool.admitted", "pool.graduated", "pool.removed",
                                            "patent.registered", "patent.status_changed",
                                            "loan.disbursed", "loan.approved", "loan.rejected",
                                            "license.granted"}
    clauses = [c["clause"] for c in ev["policy_basis"]]
    assert "六、（三）加强监测评价" in clauses and "（十六）强化考核激励" in clauses
    for section in ("pool", "high_value_patents", "pledge_financing", "open_licences",
                    "rewards", "green_channel"):
        assert ev[section]["method"] and ev[section]["sources"], section
    nationwide = await _evaluate(eval_db, None, year=YEAR)
    assert nationwide["high_value_patents"]["owner_region_unknown"] == 1  # the ghost's patent

    # the report rendered from it shows the same figures
    check_html(report.render_html(ev), s, "14", None)
    check_pdf(report.render_pdf(ev), ev, s, "14", None)


# --- reading the figures back out of the report -------------------------------------------------

class _Figures(HTMLParser):
    """``data-figure`` cells' text, and each chart's SVG text labels."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.charts: dict[str, list[str]] = {}
        self._figure: str | None = None
        self._chart: str | None = None
        self._svg_text = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            self._figure = attrs["data-figure"]
            self.figures[self._figure] = ""
        if "data-chart" in attrs:
            self._chart = attrs["data-chart"]
            self.charts[self._chart] = []
        if tag == "text" and self._chart:
            self._svg_text = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._figure = None
        elif tag == "figure":
            self._chart = None
        elif tag == "text":
            self._svg_text = False

    def handle_data(self, data):
        if self._figure:
            self.figures[self._figure] += data
        if self._svg_text and self._chart:
            self.charts[self._chart].append(data.strip())


def _int(n: int) -> str:
    return f"{n:,}"


def _yuan(text: str) -> str:
    return f"{Decimal(text):,.2f}"


def _shown(s, province, prefix) -> dict[str, str]:
    """What the report must show for each figure, formatted independently of the report."""
    want = expected(s, province, prefix)
    pool, hv, fin, rew, gc = (want["pool"], want["high_value_patents"],
                              want["pledge_financing"], want["rewards"], want["green_channel"])
    return {
        "pool.admissions": _int(pool["admissions"]), "pool.graduations": _int(pool["graduations"]),
        "pool.removals": _int(pool["removals"]),
        "pool.size_at_year_end": _int(pool["size_at_year_end"]),
        "pool.size_at_previous_year_end": _int(pool["size_at_previous_year_end"]),
        "high_value_patents.in_force_at_year_end": _int(hv["in_force_at_year_end"]),
        "high_value_patents.in_force_at_previous_year_end":
            _int(hv["in_force_at_previous_year_end"]),
        "high_value_patents.growth_pct": f"{hv['growth_pct']} %",
        "pledge_financing.loans_disbursed": _int(fin["loans_disbursed"]),
        "pledge_financing.amount_disbursed_cny": _yuan(fin["amount_disbursed_cny"]),
        "pledge_financing.pledges_registered": _int(fin["pledges_registered"]),
        "pledge_financing.secured_amount_cny": _yuan(fin["secured_amount_cny"]),
        "open_licences.granted": _int(want["open_licences"]["granted"]),
        "rewards.claims_paid": _int(rew["claims_paid"]), "rewards.paid_cny": _yuan(rew["paid_cny"]),
        "rewards.in_recovery": _int(rew["in_recovery"]),
        "rewards.recovered_cny": _yuan(rew["recovered_cny"]),
        "rewards.net_cny": _yuan(rew["net_cny"]),
        "green_channel.decided": _int(gc["decided"]),
        "green_channel.within_deadline": _int(gc["within_deadline"]),
        "green_channel.late": _int(gc["late"]),
        "green_channel.timeliness_pct": f"{gc['timeliness_pct']} %",
        "green_channel.undecided_past_deadline": _int(gc["undecided_past_deadline"]),
    }


def check_html(html: str, s, province, prefix) -> None:
    parsed = _Figures()
    parsed.feed(html)
    shown = {k: v.strip() for k, v in parsed.figures.items()}
    for key, value in _shown(s, province, prefix).items():
        assert shown.get(key) == value, (key, shown.get(key), value)
    assessment = shown["high_value_patents.assessment"]
    assert assessment.startswith({"met": "达标", "not_met": "未达标"}[
        expected(s, province, prefix)["high_value_patents"]["assessment"]])
    assert set(parsed.charts) == {"pool", "high_value", "loans", "licences", "rewards"}
    want = expected(s, province, prefix)["high_value_patents"]
    stock_labels = parsed.charts["high_value"]  # the bars' value labels
    assert str(want["in_force_at_year_end"]) in stock_labels
    assert str(want["in_force_at_previous_year_end"]) in stock_labels
    assert "<svg" in html and "六、（三）加强监测评价" in html


def check_pdf(pdf: bytes, evaluation: dict[str, Any], s, province, prefix) -> None:
    """Each figure's label is followed by its value, then its method, in the PDF's text."""
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    labels = {f.key: f for section in report.sections(evaluation) for f in section.figures}
    for key, value in _shown(s, province, prefix).items():
        figure = labels[key]
        needle = re.sub(r"\s+", "", f"{figure.label_zh}{figure.label_en}{value}"
                                    f"{figure.method[:12]}")
        assert needle in text, (key, value)
    assert "加强监测评价" in text and "强化考核激励" in text


# --- the routes (in process) --------------------------------------------------------------------

@pytest.fixture
async def eval_app(db_url):
    """The evaluation's router on a service app of its own (lifespan running, no broker), over
    a migrated database holding the scenario's year."""
    url = db_url("rewards")
    await asyncio.to_thread(upgrade, "rewards", url)
    settings = RewardsSettings(database_url=url, env="test", relay_enabled=False,
                               consumers_enabled=False, kafka_bootstrap_servers="127.0.0.1:9")
    app = create_service_app(settings=settings, title="rewards (evaluation)", description="",
                             version="test", tables=KERNEL, routers=[router])
    s = scenario()
    async with running_app(app) as client:
        await _apply(app.state.sessionmaker, s.events)
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(sa.insert(RewardClaim), claim_rows(s))
        yield client, s


def _problem(resp: httpx.Response) -> tuple[str, str]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    error = resp.json()["errors"][0]
    return error["field"], error["rule"]


async def test_routes_answer_json_html_and_pdf_with_their_file_names(eval_app):
    client, s = eval_app
    resp = await client.get(f"/v1/evaluations/{YEAR}", params={"province_code": "14"},
                            headers=auth("private_economy"))
    assert resp.status_code == 200, resp.text
    assert figures_of(resp.json()) == expected(s)

    html = await client.get(f"/v1/evaluations/{YEAR}/report.html",
                            params={"province_code": "14"}, headers=auth("auditor"))
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-disposition"] == (
        f'inline; filename="evaluation-{YEAR}-14.html"')
    check_html(html.text, s, "14", None)

    pdf = await client.get(f"/v1/evaluations/{YEAR}/report.pdf",
                           params={"province_code": "14", "region_code": "140200"},
                           headers=auth("miit"))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="evaluation-{YEAR}-140200.pdf"')
    datong = (await client.get(f"/v1/evaluations/{YEAR}", params={"region_code": "140200"},
                               headers=auth())).json()
    assert datong["scope"]["region_prefix"] == "1402"
    check_pdf(pdf.content, datong, s, "14", "1402")


async def test_bad_years_and_codes_are_422_problems_naming_the_parameter(eval_app):
    client, _ = eval_app
    cases = {
        "/v1/evaluations/abc": ("path.year", "int_parsing"),
        "/v1/evaluations/1900": ("path.year", "year.range"),
        f"/v1/evaluations/{YEAR + 5}": ("path.year", "year.range"),
        f"/v1/evaluations/{YEAR}?province_code=1x": ("query.province_code",
                                                     "province_code.format"),
        f"/v1/evaluations/{YEAR}?province_code=99": ("query.province_code",
                                                     "province_code.unknown"),
        f"/v1/evaluations/{YEAR}?province_code=14&region_code=420281": (
            "query.region_code", "region_code.outside_province"),
        f"/v1/evaluations/{YEAR}/report.pdf?region_code=14020": ("query.region_code",
                                                                 "region_code.format"),
    }
    for path, (field, rule) in cases.items():
        got = _problem(await client.get(path, headers=auth()))
        assert got[0] == field and got[1].startswith(rule), (path, got)


async def test_only_evaluation_readers_may_see_it(eval_app):
    client, _ = eval_app
    assert (await client.get(f"/v1/evaluations/{YEAR}")).status_code == 401
    for department in ("enterprise", "bank"):
        resp = await client.get(f"/v1/evaluations/{YEAR}/report.html",
                                headers=auth(department, "91140200MA0K00001X"))
        assert resp.status_code == 403, department
        assert resp.headers["content-type"].startswith("application/problem+json")


# --- the real service, fed through the real broker ----------------------------------------------

@pytest.fixture
def rewards_process(db_url, logs_dir):
    """A broker of its own (no other test's events) and the rewards service as a process on a
    migrated database of this run's backend; yields (broker, service)."""
    broker = start_test_broker(logs_dir)
    url = db_url("rewards")
    migrate("rewards", url)
    svc = ServiceProcess(name="rewards", port=free_port(), database_url=url,
                         bootstrap=broker.bootstrap,
                         log_path=logs_dir / f"rewards-evaluation-{broker.port}.log")
    svc.start()  # python -m shared.cli serve rewards
    try:
        svc.wait_healthy(60)
        yield broker, svc
    finally:
        svc.stop()
        broker.stop()


def _consumed(url: str, types: set[str]) -> tuple[int, int]:
    """(events of ``types`` the service's consumer is done with, dead-lettered ones of any)."""
    from prometheus_client.parser import text_string_to_metric_families

    done = dead = 0
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=5).text):
        for sample in family.samples:
            if (sample.name != "ipbridge_events_consumed_total"
                    or sample.labels.get("service") != "rewards"):
                continue
            if sample.labels.get("outcome") == "dead_lettered":
                dead += int(sample.value)
            if sample.labels.get("type") in types:
                done += int(sample.value)
    return done, dead


async def test_the_service_evaluates_the_events_published_to_the_broker(rewards_process):
    broker, svc = rewards_process
    s = scenario()
    events = [*s.events, s.events[5]]  # one message twice: the inbox drops the second
    by_topic: dict[str, list] = {}
    for event in events:  # each topic in the order built (per-entity order kept)
        by_topic.setdefault(event_type(event.type).topic, []).append(
            (event.subject.encode(), event.body(), event.headers()))
    await asyncio.gather(*(produce(broker.bootstrap, topic, batch)
                           for topic, batch in by_topic.items()))

    deadline = asyncio.get_running_loop().time() + 45
    while True:
        total, dead = await asyncio.to_thread(_consumed, svc.url, {e.type for e in events})
        assert dead == 0, svc.log_path.read_text()[-3000:]
        if total >= len(events):
            break
        assert asyncio.get_running_loop().time() < deadline, (total, len(events))
        await asyncio.sleep(0.2)

    engine = create_engine(svc.database_url)  # the claims module's rows, as it leaves them
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(sa.insert(RewardClaim), claim_rows(s))
    finally:
        await engine.dispose()

    async with httpx.AsyncClient(base_url=svc.url, headers=auth(), timeout=30) as client:
        for params, province, prefix in (({"province_code": "14"}, "14", None),
                                         ({"region_code": "140200"}, "14", "1402"),
                                         ({}, None, None)):
            resp = await client.get(f"/v1/evaluations/{YEAR}", params=params)
            assert resp.status_code == 200, resp.text
            assert figures_of(resp.json()) == expected(s, province, prefix), params
        evaluation = (await client.get(f"/v1/evaluations/{YEAR}",
                                       params={"province_code": "14"})).json()
        assert evaluation["high_value_patents"]["assessment"] == "met"
        html = await client.get(f"/v1/evaluations/{YEAR}/report.html",
                                params={"province_code": "14"})
        assert html.headers["content-type"] == "text/html; charset=utf-8"
        check_html(html.text, s, "14", None)
        pdf = await client.get(f"/v1/evaluations/{YEAR}/report.pdf",
                               params={"province_code": "14"})
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["content-disposition"] == (
            f'attachment; filename="evaluation-{YEAR}-14.pdf"')
        check_pdf(pdf.content, evaluation, s, "14", None)
