"""The cultivation pool's rules as plain functions: the two-year window counted as the Civil Code
counts periods, the quota with replenishment, entry and graduation decisions with their basis."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.registry.pool import rules
from services.registry.pool.service import pool_packs

PACK = pool_packs().in_force(date(2025, 1, 1))


@pytest.mark.parametrize(("admitted", "ends"), [
    (date(2024, 3, 1), date(2026, 3, 1)),
    (date(2024, 2, 29), date(2026, 2, 28)),   # no 29 February two years on
    (date(2024, 12, 31), date(2026, 12, 31)),
    (date(2025, 2, 28), date(2027, 2, 28)),
])
def test_the_window_ends_on_the_same_calendar_day_two_years_on(admitted, ends):
    assert rules.window_end(admitted, PACK) == ends


def test_progress_counts_only_inside_the_window_start_day_excluded_last_day_included():
    admitted = date(2024, 2, 29)
    items = [rules.Progress("patent_granted", day, str(i)) for i, day in enumerate((
        date(2024, 2, 29), date(2024, 3, 1), date(2026, 2, 28), date(2026, 3, 1)))]
    inside = rules.in_window(items, admitted, rules.window_end(admitted, PACK))
    assert [p.on for p in inside] == [date(2024, 3, 1), date(2026, 2, 28)]


def test_no_decision_while_the_window_is_open_and_removal_after_it_without_progress():
    admitted = date(2024, 3, 1)
    assert rules.no_progress_decision(admitted, date(2026, 3, 1), [], PACK) is None
    removal = rules.no_progress_decision(admitted, date(2026, 3, 2), [
        rules.Progress("licence_taken", date(2026, 3, 2), "late")], PACK)
    assert removal is not None and removal.passed is False
    [line] = removal.rules
    assert line["figures"]["progress_in_window"] == dict.fromkeys(
        PACK.data.removal.progress_kinds, 0)
    assert line["figures"]["outside_window"][0]["reference"] == "late"
    kept = rules.no_progress_decision(admitted, date(2026, 3, 2), [
        rules.Progress("pledge_registered", date(2026, 3, 1), "on the last day")], PACK)
    assert kept.passed is True


def test_at_risk_when_the_window_ends_within_the_warning_days_and_nothing_happened():
    admitted = date(2024, 3, 1)   # ends 2026-03-01; the pack warns 90 days ahead
    assert rules.at_risk(admitted, date(2025, 12, 1), [], PACK) is True
    assert rules.at_risk(admitted, date(2025, 12, 1), [
        rules.Progress("product_filed", date(2025, 6, 1), "p")], PACK) is False
    assert rules.at_risk(admitted, date(2025, 11, 30), [], PACK) is False  # 91 days left
    assert rules.at_risk(admitted, date(2026, 3, 2), [], PACK) is False    # ended: the sweep


def test_quota_base_enlarged_and_replenished_by_graduations_not_removals():
    shanxi = rules.quota_figures("14", admissions=299, graduations=0, pack=PACK)
    assert (shanxi.base_cap, shanxi.limit, shanxi.remaining) == (300, 300, 1)
    assert rules.quota_line(shanxi, None, PACK)["passed"] is True
    full = rules.quota_figures("14", admissions=300, graduations=0, pack=PACK)
    assert rules.quota_line(full, None, PACK)["passed"] is False
    over = rules.quota_line(full, "经省政府同意", PACK)
    assert over["passed"] and over["figures"]["overridden"] is True
    replenished = rules.quota_figures("14", admissions=300, graduations=3, pack=PACK)
    assert (replenished.limit, replenished.remaining) == (306, 6)
    guangdong = rules.quota_figures("44", admissions=0, graduations=0, pack=PACK)
    assert (guangdong.base_cap, guangdong.enlarged_reason) == (500, "计划单列市 深圳")


def test_entry_reports_every_rule():
    facts = rules.EntryFacts("X", "14", "small", [("high_tech", "q1", date(2027, 1, 1)),
                                                  ("quality_private", "q2", date(2027, 1, 1))],
                             ["202010000001.1"], ["major_safety_accident"])
    decision = rules.entry_decision(facts, PACK)
    assert [r["rule"] for r in decision.failed] == ["pool.entry.no_barring_credit_flag"]
    held = next(r for r in decision.rules if r["rule"] == "pool.entry.qualification")
    assert [h["kind"] for h in held["figures"]["held"]] == ["high_tech"]
    assert rules.entry_decision(rules.EntryFacts("X", "14", None, [], []), PACK).failed[0][
        "rule"] == "pool.entry.sme"


def growth(sales: str, profit: str, year: int = 2026) -> rules.ProductGrowth:
    return rules.ProductGrowth("p1", "产品", date(2023, 5, 1), 2024, Decimal("100"),
                               Decimal("10"), year, Decimal(sales), Decimal(profit), None)


@pytest.mark.parametrize(("rate_now", "new", "grown", "passed"), [
    ("40", [("p2", "新产品", date(2025, 1, 2))], [], True),
    ("39.99", [("p2", "新产品", date(2025, 1, 2))], [], False),     # rate up 9.99 points
    ("40", [], [growth("130", "13")], True),                          # both up 30 %
    ("40", [], [growth("130", "12.99")], False),                      # profit short
    ("40", [], [growth("200", "20", year=2024)], False),              # not a later year
    ("40", [], [], False),
])
def test_graduation_needs_the_rate_and_a_new_or_grown_product(rate_now, new, grown, passed):
    facts = rules.GraduationFacts(date(2025, 1, 1), Decimal("30"), Decimal(rate_now), None,
                                  new, grown)
    decision = rules.graduation_decision(facts, PACK)
    assert decision.passed is passed
    assert [r["rule"] for r in decision.rules] == [
        "pool.graduation.rate_increase", "pool.graduation.products",
        "pool.graduation.new_products", "pool.graduation.product_growth"]
