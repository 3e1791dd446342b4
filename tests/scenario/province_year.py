"""A year of a synthetic province's cultivation pool, replayed through the four services.

The plan is generated from a seed and holds what every enterprise does and when: admissions in
2024 and 2025 (backdated, as a province migrating its records would), then the replayed year
2026 week by week on the controllable clock (``IPBRIDGE_CLOCK_FILE``): new admissions, products
recognised, graduations, credit flags, and the two-year sweep at the end of every week. The
plan also computes, independently of the services, what the annual evaluation must say: every
movement the rules imply, dated as the rules date it (a removal by the sweep on the first sweep
day after the window ends, counted as the Civil Code counts).

Used by the scenario test (``tests/e2e/test_pool_year.py``) and ``python -m
tests.bench.pool_year``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.registry.pool.rules import add_years
from shared.db import set_clock
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth
from tests.registry.ip_factories import patent_body

YEAR = 2026
PROVINCE = "14"
SETUP_DAY = date(YEAR - 1, 12, 31)
WEEKS = [date(YEAR, 1, 5) + timedelta(weeks=i) for i in range(52)]  # Mondays of 2026
FINAL_DAY = date(YEAR + 1, 1, 4)
FIRST_FILED = date(2020, 4, 1)
FUND = "shanxi-ip-fund"
FLAG_KINDS = ("data_fraud", "tax_evasion", "abnormal_patent_application")


@dataclass
class Firm:
    uscc: str
    cohort: str                      # A: admitted 2024, B: 2025, C: during 2026
    admitted_on: date
    #: A: "inside" (an invention granted inside the window), "before" (granted before admission)
    #: or "none"
    progress: str = "none"
    product_week: int | None = None  # the week of 2026 a product is filed and recognised
    graduate_week: int | None = None
    flag_week: int | None = None
    flag_kind: str | None = None
    movements: list[tuple[str, date, str | None]] = field(default_factory=list)

    @property
    def window_ends_on(self) -> date:
        return add_years(self.admitted_on, 2)


@dataclass
class Plan:
    firms: list[Firm]
    seed: int

    @classmethod
    def build(cls, *, seed: int = 2026, a: int = 90, b: int = 70, c: int = 60) -> "Plan":
        rng = random.Random(seed)
        firms: list[Firm] = []
        for i in range(a):   # admitted from March to December 2024
            day = date(2024, 3, 4) + timedelta(days=int(i * 299 / max(a - 1, 1)))
            firms.append(Firm(make_uscc(rng), "A", day,
                              progress=rng.choices(("inside", "before", "none"),
                                                   (0.45, 0.15, 0.40))[0]))
        for i in range(b):   # admitted from January to November 2025
            day = date(2025, 1, 6) + timedelta(days=int(i * 320 / max(b - 1, 1)))
            firms.append(Firm(make_uscc(rng), "B", day))
        for i in range(c):   # admitted in the replayed year, one or two a week
            firms.append(Firm(make_uscc(rng), "C", WEEKS[int(i * 50 / max(c - 1, 1))]))
        bs = [f for f in firms if f.cohort == "B"]
        for firm in rng.sample(bs, k=len(bs) // 2):
            firm.product_week = rng.randrange(0, 40)
            if rng.random() < 0.7:
                firm.graduate_week = firm.product_week + rng.randrange(1, 10)
        flaggable = [f for f in firms if f.cohort in ("B", "C")]
        for firm in rng.sample(flaggable, k=max(len(flaggable) // 15, 1)):
            week = rng.randrange(0, 52)
            if firm.cohort == "C":
                week = max(week, WEEKS.index(firm.admitted_on) + 1) if week < 51 else 51
            firm.flag_week, firm.flag_kind = week, rng.choice(FLAG_KINDS)
        plan = cls(firms, seed)
        plan._simulate()
        return plan

    def _simulate(self) -> None:
        """What the rules make of the plan: every movement with its date and reason."""
        for firm in self.firms:
            firm.movements = [("admitted", firm.admitted_on, None)]
            status = "admitted"
            for week, day in enumerate(WEEKS):
                if status == "admitted" and firm.graduate_week == week:
                    firm.movements.append(("graduated", day, None))
                    status = "graduated"
                if status in ("admitted", "graduated") and firm.flag_week == week:
                    firm.movements.append(("removed", day, firm.flag_kind))
                    status = "removed"
                if (status == "admitted" and firm.cohort == "A" and firm.progress != "inside"
                        and firm.window_ends_on < day):
                    firm.movements.append(("removed", day, "no_progress_two_years"))
                    status = "removed"

    # --- what the evaluation must say ----------------------------------------------------------

    def status_on(self, firm: Firm, day: date) -> str | None:
        latest = [m for m in firm.movements if m[1] <= day]
        return latest[-1][0] if latest else None

    def expected_pool(self, year: int = YEAR) -> dict[str, Any]:
        moves = [(m, d, r) for f in self.firms for m, d, r in f.movements if d.year == year]
        reasons = Counter(r for m, _, r in moves if m == "removed")
        last, before = date(year, 12, 31), date(year - 1, 12, 31)
        return {
            "admissions": sum(1 for m, _, _ in moves if m == "admitted"),
            "graduations": sum(1 for m, _, _ in moves if m == "graduated"),
            "removals": sum(1 for m, _, _ in moves if m == "removed"),
            "removals_by_reason": [{"reason": r, "count": n} for r, n in sorted(reasons.items())],
            "size_at_year_end": sum(1 for f in self.firms if self.status_on(f, last) == "admitted"),
            "size_at_previous_year_end": sum(1 for f in self.firms
                                             if self.status_on(f, before) == "admitted"),
        }

    def final_counts(self) -> dict[str, int]:
        out = Counter(f.movements[-1][0] for f in self.firms)
        return {k: out.get(k, 0) for k in ("admitted", "graduated", "removed")}

    def final_counts_ever(self, kind: str) -> int:
        return sum(1 for f in self.firms for m, _, _ in f.movements if m == kind)

    @property
    def products(self) -> int:
        return sum(1 for f in self.firms if f.product_week is not None)


# --- driving the services ----------------------------------------------------------------------

class Api:
    """REST onto the running services, counting requests; a 503 (a database busy for a moment,
    which SQLite answers under parallel writers) is retried as its Retry-After says."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.requests = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(timeout=30)
        return self._local.client

    def call(self, method: str, service: str, path: str, *, headers: dict, json: Any = None,
             params: dict | None = None, expect: int | tuple[int, ...] = (200, 201)
             ) -> httpx.Response:
        wanted = (expect,) if isinstance(expect, int) else expect
        for attempt in range(20):
            resp = self._client().request(method, f"{self.urls[service]}{path}", json=json,
                                          params=params, headers=headers)
            with self._lock:
                self.requests += 1
            if resp.status_code == 503 and attempt < 19:
                time.sleep(min(float(resp.headers.get("Retry-After", "1")), 0.2))
                continue
            break
        assert resp.status_code in wanted, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp

    def post(self, service: str, path: str, body: dict, headers: dict, **kw) -> dict:
        return self.call("POST", service, path, headers=headers, json=body, **kw).json()

    def get(self, service: str, path: str, headers: dict | None = None, **params) -> Any:
        return self.call("GET", service, path, headers=headers or auth(), params=params).json()


IP_OFFICE = auth("market_regulation", PROVINCE)


def _register(api: Api, firm: Firm) -> None:
    body = enterprise_body(uscc=firm.uscc, name=f"山西示例{firm.cohort}{firm.uscc[-6:]}科技有限公司",
                           industry_code="C3985")
    api.post("registry", "/v1/enterprises", body, auth())
    api.post("registry", f"/v1/enterprises/{firm.uscc}/qualifications", {
        "kind": "zjtx_sme", "certificate_no": f"晋专精特新-{firm.uscc}",
        "valid_from": "2024-01-01", "issuing_body": "山西省工业和信息化厅"}, auth("miit"))
    api.post("registry", "/v1/patents", patent_body(firm.uscc, filing_date=FIRST_FILED), auth())
    if firm.progress != "none":
        granted = (firm.admitted_on + timedelta(days=150) if firm.progress == "inside"
                   else firm.admitted_on - timedelta(days=20))
        api.post("registry", "/v1/patents", patent_body(
            firm.uscc, filing_date=date(2022, 5, 5), grant_date=granted.isoformat()), auth())


def _admit(api: Api, firm: Firm) -> None:
    day = firm.admitted_on.isoformat()
    nominated = api.post("registry", "/v1/pool/nominations", {
        "uscc": firm.uscc, "nominated_on": day,
        "industrialisation": {"patents_held": 10, "patents_industrialised": 2}}, IP_OFFICE)
    api.post("registry", f"/v1/pool/nominations/{nominated['id']}/co-signature",
             {"decision": "co_sign", "co_signed_on": day}, auth("miit"))


def _product(api: Api, firm: Firm, day: date) -> None:
    patents = api.get("registry", f"/v1/enterprises/{firm.uscc}/patents")["items"]
    product = api.post("registry", "/v1/products", {
        "name": f"专利密集型产品{firm.uscc[-4:]}", "patents": [patents[0]["application_no"]],
        "figures_year": day.year - 1, "annual_sales_10k_cny": "3000",
        "annual_profit_10k_cny": "400"}, auth("enterprise", firm.uscc))
    api.post("registry", f"/v1/products/{product['id']}/recognition",
             {"decision": "recognised"}, IP_OFFICE)


def _graduate(api: Api, firm: Firm) -> None:
    api.post("registry", f"/v1/pool/{firm.uscc}/graduation", {
        "industrialisation": {"patents_held": 10, "patents_industrialised": 5,
                              "evidence": "专利实施情况审计报告"}}, IP_OFFICE)


def _flag(api: Api, firm: Firm, day: date) -> None:
    api.post("credit", "/v1/credit-flags", {
        "uscc": firm.uscc, "kind": firm.flag_kind, "source": "信用中国（山西）",
        "reference": f"晋信〔{day.year}〕{firm.uscc[-5:]}号", "flagged_on": day.isoformat()},
        auth("credit"))


@dataclass
class Replay:
    """The outcome of driving the plan: timings and counts."""

    requests: int
    setup_s: float
    year_s: float
    sweeps: list[dict[str, Any]]


def replay(plan: Plan, urls: dict[str, str], clock: Path, *, workers: int = 6,
           progress: Callable[[str], None] | None = None) -> Replay:
    """Drive the plan through the services' REST APIs, moving the clock week by week."""
    api = Api(urls | {"credit": urls["registry"]})
    say = progress or (lambda _: None)
    set_clock(clock, SETUP_DAY)
    time.sleep(0.05)
    started = time.monotonic()
    api.post("rewards", "/v1/funds", {"code": FUND, "name": "山西省知识产权专项资金",
                                      "source_kind": "ip_fund", "jurisdiction": PROVINCE,
                                      "manager_department": "market_regulation"}, auth())
    api.post("rewards", f"/v1/funds/{FUND}/deposits", {
        "amount_cny": "50000000.00", "reference": "晋财建〔2026〕1号"}, auth())
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda f: _register(api, f), plan.firms))
        list(pool.map(lambda f: _admit(api, f), [f for f in plan.firms if f.cohort in "AB"]))
    setup_s = time.monotonic() - started
    say(f"setup: {len(plan.firms)} enterprises, {api.requests} requests in {setup_s:.1f} s")

    started = time.monotonic()
    sweeps = []
    for week, day in enumerate(WEEKS):
        set_clock(clock, day)
        admitted = [f for f in plan.firms if f.cohort == "C" and f.admitted_on == day]
        products = [f for f in plan.firms if f.product_week == week]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda f: _admit(api, f), admitted))
            list(pool.map(lambda f: _product(api, f, day), products))
        for firm in plan.firms:
            if firm.graduate_week == week and plan.status_on(firm, day - timedelta(days=1)) \
                    == "admitted":
                _graduate(api, firm)
        for firm in plan.firms:
            if firm.flag_week == week:
                _flag(api, firm, day)
        sweeps.append(api.post("registry", "/v1/pool/sweeps", {}, auth("ops")))
    set_clock(clock, FINAL_DAY)
    year_s = time.monotonic() - started
    say(f"year: 52 weeks, {api.requests} requests in all, {year_s:.1f} s for the year")
    return Replay(api.requests, setup_s, year_s, sweeps)


def consistent(plan: Plan, urls: dict[str, str]) -> dict[str, Any] | None:
    """Every service agrees with the plan (None while one still lags): the registry's pool,
    financing's top whitelist tier, and the rewards evaluation of the year."""
    api = Api(urls)
    [shanxi] = api.get("registry", "/v1/pool/dashboard", province_code=PROVINCE)["provinces"]
    counts = {k: shanxi["counts"][k] for k in ("admitted", "graduated", "removed")}
    if counts != plan.final_counts():
        return None
    listed, cursor = 0, None
    while True:
        page = api.get("financing", "/v1/whitelist", auth("bank", "BANK001"),
                       tier="cultivation_pool", province=PROVINCE, limit=500,
                       **({"cursor": cursor} if cursor else {}))
        listed += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if listed != plan.final_counts()["admitted"]:
        return None
    for rule, wanted in (("patent_intensive_product", plan.products),
                         ("pool_graduation_support", plan.final_counts_ever("graduated"))):
        found = api.get("rewards", "/v1/claims", rule_code=rule, limit=200)["items"]
        if len(found) != wanted:
            return None
    evaluation = api.get("rewards", f"/v1/evaluations/{YEAR}", province_code=PROVINCE)
    pool = {k: evaluation["pool"][k] for k in plan.expected_pool()}
    if pool != plan.expected_pool():
        return None
    return {"registry": counts, "financing_pool_tier": listed, "evaluation": evaluation}


def wait_consistent(plan: Plan, urls: dict[str, str], timeout: float = 120
                    ) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    while True:
        found = consistent(plan, urls)
        if found is not None:
            return found, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"services not consistent with the plan after {timeout} s")
        time.sleep(0.25)
