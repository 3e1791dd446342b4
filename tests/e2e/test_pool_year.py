"""A year of a synthetic province through the whole system (issue: the cultivation pool's annual
evaluation): 220 enterprises, admissions in 2024 and 2025, then 2026 replayed week by week on
the controllable clock with new admissions, products, graduations, credit flags and the
two-year sweep every week; the four services as processes on PostgreSQL and the real broker.

The expected figures come from the plan (``tests/scenario/province_year.py``), computed from the
rules independently of the services; the test waits until the registry, financing and rewards
all agree with them, then checks the annual evaluation's pool section figure by figure.
"""

from __future__ import annotations

import pytest

from shared.db import CLOCK_FILE_ENV
from shared.migrate import SERVICES
from tests.scenario.province_year import WEEKS, YEAR, Plan, replay, wait_consistent

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_year_of_a_province_ends_with_the_evaluation_the_rules_imply(stack_factory,
                                                                      tmp_path):
    plan = Plan.build()
    expected = plan.expected_pool()
    # The plan exercises every path the evaluation reports.
    assert expected["admissions"] > 0 and expected["graduations"] > 0
    assert {r["reason"] for r in expected["removals_by_reason"]} >= {"no_progress_two_years"}
    assert len(expected["removals_by_reason"]) >= 2

    clock = tmp_path / "clock"
    stack = stack_factory({name: {CLOCK_FILE_ENV: str(clock)} for name in SERVICES})
    urls = {name: stack[name].url for name in SERVICES}
    run = replay(plan, urls, clock)
    assert len(run.sweeps) == len(WEEKS)
    swept = sum(s["removed"] for s in run.sweeps)
    assert swept == next(r["count"] for r in expected["removals_by_reason"]
                         if r["reason"] == "no_progress_two_years")

    found, _ = wait_consistent(plan, urls, timeout=180)
    evaluation = found["evaluation"]
    assert evaluation["year"] == YEAR and evaluation["period"]["complete"] is True
    pool = evaluation["pool"]
    for figure, value in expected.items():
        assert pool[figure] == value, figure
    by_month = {m["month"]: m for m in pool["by_month"]}
    assert sum(m["removals"] for m in by_month.values()) == expected["removals"]
    # The registry's own view agrees with the plan's final standing of every enterprise.
    assert found["registry"] == plan.final_counts()
    assert found["financing_pool_tier"] == plan.final_counts()["admitted"]
