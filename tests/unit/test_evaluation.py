"""The annual evaluation's arithmetic and input rules as plain functions: growth against the
10 % target (compound average, RULES.md §10), timeliness shares, scopes and years (422 naming
the parameter and the rule), the day a patent state took effect, the report's number format."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.rewards.evaluation import report, service
from services.rewards.evaluation.handlers import china_day, first_owner, patent_effective_on
from shared.errors import InvalidInput

TEN = Decimal("0.10")


# --- growth against the target ------------------------------------------------------------------

def test_growth_110_to_121_is_ten_percent_and_meets_the_target():
    rate = service.growth(110, 121)
    assert rate == Decimal("0.1000")
    assert service.pct(rate) == "10.0"
    assert service.assess(rate, TEN) == "met"


def test_growth_just_short_of_ten_percent_does_not_meet_it():
    rate = service.growth(110, 120)
    assert service.pct(rate) == "9.1"
    assert service.assess(rate, TEN) == "not_met"


def test_a_shrinking_stock_is_negative_growth():
    assert service.growth(10, 8) == Decimal("-0.2000")
    assert service.assess(service.growth(10, 8), TEN) == "not_met"


def test_growth_from_nothing_cannot_be_assessed():
    assert service.growth(0, 5) is None
    assert service.assess(None, TEN) == "not_assessable"
    assert service.pct(None) is None


def test_the_average_is_compound_not_a_floor_for_each_year():
    # 100 → 121 over two years is 10 % a year on average, whatever each year did
    assert service.compound_average(100, 121, 2) == Decimal("0.1000")
    assert service.assess(service.compound_average(100, 121, 2), TEN) == "met"
    # 20 % then 0 %: the arithmetic mean is 10 %, the compound average is not
    average = service.compound_average(100, 120, 2)
    assert average == Decimal("0.0954")
    assert service.assess(average, TEN) == "not_met"
    assert service.compound_average(0, 50, 3) is None
    assert service.compound_average(100, 0, 2) == Decimal("-1.0000")


def test_the_target_comes_from_the_evaluation_pack_with_its_clause():
    target = service.pack().data.high_value_growth
    assert target.annual_rate == TEN
    assert target.averaging == "compound"
    assert target.jurisdiction == "420281"
    assert "年均增长10%" in target.source.text
    clauses = {s.clause for s in service.pack().sources}
    assert clauses == {"六、（三）加强监测评价", "（十六）强化考核激励"}


def test_timeliness_share():
    assert service.ratio(3, 4) == Decimal("0.7500")
    assert service.pct(service.ratio(2, 3)) == "66.7"
    assert service.ratio(0, 0) is None


# --- scope and year ---------------------------------------------------------------------------

def _rule(call) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as info:
        call()
    error = info.value.errors[0]
    return error["field"], error["rule"]


@pytest.mark.parametrize("province, region, field, rule", [
    ("1", None, "query.province_code", "province_code.format"),
    ("1x", None, "query.province_code", "province_code.format"),
    ("１４", None, "query.province_code", "province_code.format"),  # full-width digits
    ("99", None, "query.province_code", "province_code.unknown"),
    ("14", "42028", "query.region_code", "region_code.format"),
    ("14", "420281", "query.region_code", "region_code.outside_province"),
    (None, "990100", "query.region_code", "region_code.province"),
])
def test_bad_scopes_are_422_naming_the_parameter(province, region, field, rule):
    assert _rule(lambda: service.where(province, region)) == (field, rule)


def test_scopes_narrow_by_region_prefix():
    datong = service.where("14", "140200")
    assert (datong.scope.province_code, datong.scope.region_prefix) == ("14", "1402")
    daye = service.where(None, "420281")
    assert (daye.scope.province_code, daye.scope.region_prefix) == ("42", "420281")
    province = service.where(None, "140000")
    assert (province.scope.province_code, province.scope.region_prefix) == ("14", None)
    assert service.where(None, "14").scope == service.where("14", None).scope
    assert service.where(None, "1402").scope.region_prefix == "1402"
    national = service.where(None, None)
    assert national.scope.province_code is None and national.describe()["label_zh"] == "全国"


@pytest.mark.parametrize("year", [1984, 2027, 9999])
def test_years_outside_the_range_are_422(year):
    field, rule = _rule(lambda: service.check_year(year, date(2026, 5, 1)))
    assert (field, rule) == ("path.year", "year.range")


def test_this_year_and_the_patent_laws_first_are_allowed():
    service.check_year(2026, date(2026, 5, 1))
    service.check_year(1985, date(2026, 5, 1))


# --- when a patent state took effect ------------------------------------------------------------

def test_an_instant_counts_on_its_day_in_china():
    assert china_day("2025-12-31T15:59:59Z") == date(2025, 12, 31)
    assert china_day("2025-12-31T16:00:00Z") == date(2026, 1, 1)
    assert china_day("2025-06-01T08:00:00+08:00") == date(2025, 6, 1)


def test_a_status_change_takes_effect_on_its_changed_on_not_when_recorded():
    data = {"changed_on": "2025-03-01", "changed_at": "2025-09-20T02:00:00Z"}
    assert patent_effective_on("patent.status_changed", data) == date(2025, 3, 1)
    assert patent_effective_on("patent.registered",
                               {"registered_at": "2024-12-31T20:00:00Z"}) == date(2025, 1, 1)
    assert patent_effective_on("patent.updated",
                               {"updated_at": "2025-02-02T01:00:00Z"}) == date(2025, 2, 2)


def test_the_first_owner_is_the_first_with_a_uscc():
    owners = [{"uscc": None, "name": "张三"}, {"uscc": "91140200MA0K0000X1", "name": "某公司"}]
    assert first_owner(owners)["name"] == "某公司"
    assert first_owner([{"uscc": None, "name": "张三"}]) is None


# --- the report's numbers -----------------------------------------------------------------------

def test_report_numbers_are_grouped_money_keeps_its_cents():
    assert report.grouped("8500000.75") == "8,500,000.75"
    assert report.grouped(1234) == "1,234"
    assert report.grouped(None) == "—"
    assert report.grouped("10.0") == "10.0"
