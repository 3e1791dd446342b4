"""High-value invention patents (RULES.md §5): the pure rule over facts, a date and the pack."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.registry.patents.high_value import (Category, HighValueData, assess_high_value,
                                                  growth, high_value_packs, target_for)
from services.registry.patents.rules import (Award, FamilyMember, PatentFacts, Pledge, add_years,
                                             term_of)
from shared.policy import PolicyPack

ON = date(2026, 6, 30)


@pytest.fixture(scope="module")
def pack() -> PolicyPack[HighValueData]:
    return high_value_packs().in_force(ON)


def with_data(pack: PolicyPack[HighValueData], **changes) -> PolicyPack[HighValueData]:
    """A copy of the pack with parts of ``data`` changed (e.g. a pledge threshold)."""
    data = pack.data.model_copy(update=changes)
    return pack.model_copy(update={"data": data})


def invention(filing: date = date(2020, 3, 10), **changes) -> PatentFacts:
    """A granted invention patent in force on ON, meeting no category."""
    term = term_of("invention", filing)
    base = PatentFacts(application_no="202010123456.0", kind="invention", filing_date=filing,
                       status="granted", grant_date=filing + timedelta(days=700),
                       annual_fees_paid_through=8, term_years=term.years,
                       term_ends_on=term.ends_on)
    return replace(base, **changes)


def reason(decision, category):
    return next(r for r in decision.reasons if r.category == category)


def test_the_pack_loads_with_the_five_categories_and_no_pledge_threshold(pack):
    assert set(pack.data.categories) == set(Category)
    assert pack.data.pledge.threshold_10k_cny is None
    assert pack.data.maintained.years == 10
    assert pack.data.maintained.counted_from == "filing_date"
    assert pack.verified is False  # [U] and [X] figures inside
    assert any(s.file == "daye-2023-high-value-invention-patents.txt" for s in pack.sources)


def test_nothing_met_is_not_high_value_and_every_category_is_reported(pack):
    decision = assess_high_value(invention(), ON, pack)
    assert decision.is_high_value is False and decision.categories == []
    assert [r.category for r in decision.reasons] == [
        "invention_patent", "in_force", *[c.value for c in Category]]
    assert reason(decision, "invention_patent").passed is True
    assert reason(decision, "in_force").passed is True
    for r in decision.reasons:
        assert r.detail and r.source["pack"] == "high-value-invention-patents@v1"


def test_pledge_threshold_absent_is_reported_not_assessed(pack):
    facts = invention(pledges=(Pledge("P-1", "某银行", date(2025, 1, 1),
                                      amount_10k_cny=Decimal("5000")),))
    decision = assess_high_value(facts, ON, pack)
    line = reason(decision, Category.high_pledge_amount)
    assert line.passed is None
    assert line.detail.startswith("not assessed") and "5000.00" in line.detail
    assert decision.is_high_value is False  # "not assessed" never makes a patent high-value


@pytest.mark.parametrize("category, changes", [
    (Category.strategic_emerging_industry, {"sei_tagged": True, "sei_industry": "新能源产业"}),
    (Category.overseas_family,
     {"family": (FamilyMember("US", "US11223344B2", True, date(2024, 5, 1)),)}),
    (Category.maintained_over_10_years, {"filing_date": date(2015, 3, 10),
                                         "grant_date": date(2017, 3, 1),
                                         "term_ends_on": date(2035, 3, 10)}),
    (Category.award, {"awards": (Award("china_patent_award", 2024, "银奖"),)}),
    (Category.award, {"awards": (Award("national_science_technology_award", 2023, "二等奖"),)}),
])
def test_each_category_alone_makes_a_high_value_patent(pack, category, changes):
    decision = assess_high_value(invention(**changes), ON, pack)
    assert decision.is_high_value is True
    assert decision.categories == [category.value]
    assert reason(decision, category).passed is True


def test_pledge_category_with_a_threshold_set(pack):
    priced = with_data(pack, pledge=pack.data.pledge.model_copy(
        update={"threshold_10k_cny": Decimal("1000")}))
    pledges = (Pledge("P-1", "某银行", date(2024, 1, 1), date(2025, 1, 1), Decimal("600")),
               Pledge("P-2", "某银行", date(2025, 6, 1), None, Decimal("400")))
    decision = assess_high_value(invention(pledges=pledges), ON, priced)
    assert decision.categories == [Category.high_pledge_amount]  # cumulative 1000 >= 1000
    assert assess_high_value(invention(pledges=pledges), date(2025, 5, 31),
                             priced).is_high_value is False  # only 600 by then
    largest = with_data(priced, pledge=priced.data.pledge.model_copy(
        update={"amount_basis": "largest_single"}))
    assert assess_high_value(invention(pledges=pledges), ON, largest).is_high_value is False


@pytest.mark.parametrize("changes", [
    {"family": (FamilyMember("US", "US1", granted=False),)},           # an application only
    {"family": (FamilyMember("WO", "WO2024/000001", granted=True),)},  # WO is never a grant
    {"family": (FamilyMember("JP", "JP7000001B2", True, date(2027, 1, 1)),)},  # after ON
    {"awards": (Award("other", 2024, "金奖", "湖北省专利奖"),)},
    {"awards": (Award("china_patent_award", 2027),)},                  # after ON
    {"sei_tagged": False},
])
def test_near_misses_do_not_count(pack, changes):
    assert assess_high_value(invention(**changes), ON, pack).is_high_value is False


def test_sei_not_classified_is_not_assessed(pack):
    line = reason(assess_high_value(invention(), ON, pack), Category.strategic_emerging_industry)
    assert line.passed is None and "not classified" in line.detail
    assert "concordance" in line.source["note"]


def test_several_categories_at_once_count_once(pack):
    facts = invention(filing_date=date(2014, 1, 2), grant_date=date(2016, 1, 2),
                      term_ends_on=date(2034, 1, 2), sei_tagged=True,
                      family=(FamilyMember("EP", "EP3000001B1", True),),
                      awards=(Award("china_patent_award", 2020, "金奖"),))
    decision = assess_high_value(facts, ON, pack)
    assert decision.is_high_value is True
    assert decision.categories == ["strategic_emerging_industry", "overseas_family",
                                   "maintained_over_10_years", "award"]


def test_worked_example_of_rules_5_counts_distinct_patents(pack):
    """900 SEI + 300 foreign family + 500 over ten years, 250 in two lists → 1,450 patents."""
    sei = {"sei_tagged": True}
    old = {"filing_date": date(2014, 1, 2), "grant_date": date(2016, 1, 2),
           "term_ends_on": date(2034, 1, 2)}
    family = {"family": (FamilyMember("US", "US1", True),)}
    patents = ([invention(**sei, **old)] * 250 + [invention(**sei)] * 650
               + [invention(**family)] * 300 + [invention(**old)] * 250 + [invention()] * 900)
    assert len(patents) == 2350
    count = sum(assess_high_value(p, ON, pack).is_high_value for p in patents)
    assert count == 1450
    assert count / (1_000_000 / 10_000) == 14.5


def test_the_ten_year_boundary_on_the_exact_day(pack):
    filing = date(2016, 3, 10)
    facts = invention(filing_date=filing, grant_date=date(2018, 1, 5),
                      term_ends_on=add_years(filing, 20), annual_fees_paid_through=11)
    tenth = date(2026, 3, 10)
    before = assess_high_value(facts, tenth - timedelta(days=1), pack)
    on_the_day = assess_high_value(facts, tenth, pack)
    assert before.is_high_value is False
    assert "not yet" in reason(before, Category.maintained_over_10_years).detail
    assert on_the_day.is_high_value is True
    assert on_the_day.categories == [Category.maintained_over_10_years]
    # The Civil Code reading ("more than" = from the next day) is one pack line away.
    strict = with_data(pack, maintained=pack.data.maintained.model_copy(
        update={"qualifies_from": "day_after_anniversary"}))
    assert assess_high_value(facts, tenth, strict).is_high_value is False
    assert assess_high_value(facts, tenth + timedelta(days=1), strict).is_high_value is True


def test_counting_from_the_grant_date_is_a_pack_choice(pack):
    facts = invention(filing_date=date(2014, 1, 2), grant_date=date(2017, 6, 1),
                      term_ends_on=date(2034, 1, 2))
    from_grant = with_data(pack, maintained=pack.data.maintained.model_copy(
        update={"counted_from": "grant_date"}))
    assert assess_high_value(facts, ON, pack).is_high_value is True
    assert assess_high_value(facts, ON, from_grant).is_high_value is False
    assert assess_high_value(facts, date(2027, 6, 1), from_grant).is_high_value is True


def test_the_29_february_anniversary_falls_on_28_february(pack):
    facts = invention(filing_date=date(2016, 2, 29), grant_date=date(2018, 1, 5),
                      term_ends_on=date(2036, 2, 29))
    assert assess_high_value(facts, date(2026, 2, 27), pack).is_high_value is False
    assert assess_high_value(facts, date(2026, 2, 28), pack).is_high_value is True


def test_a_lapsed_patent_is_not_high_value(pack):
    facts = invention(sei_tagged=True, status="lapsed", ended_on=date(2026, 3, 10))
    decision = assess_high_value(facts, ON, pack)
    assert decision.is_high_value is False and decision.categories == []
    assert reason(decision, "in_force").passed is False
    assert "lapsed" in reason(decision, "in_force").detail
    assert reason(decision, Category.strategic_emerging_industry).passed is True  # still shown
    # before the lapse it was one (counts for a past year stay true)
    assert assess_high_value(facts, date(2026, 3, 9), pack).is_high_value is True


def test_a_lapse_before_the_tenth_year_never_counts_as_maintained(pack):
    facts = invention(filing_date=date(2014, 1, 2), grant_date=date(2016, 1, 2),
                      term_ends_on=date(2034, 1, 2), status="lapsed",
                      ended_on=date(2020, 1, 2))
    line = reason(assess_high_value(facts, ON, pack), Category.maintained_over_10_years)
    assert line.passed is False and "ended" in line.detail


@pytest.mark.parametrize("changes, failed", [
    ({"status": "pending", "grant_date": None}, "in_force"),
    ({"status": "invalidated", "ended_on": date(2025, 1, 1)}, "in_force"),
    ({"term_ends_on": date(2026, 6, 30)}, "in_force"),  # the term ended that day
    ({"kind": "utility_model"}, "invention_patent"),
    ({"kind": "design"}, "invention_patent"),
])
def test_only_valid_invention_patents_count(pack, changes, failed):
    decision = assess_high_value(invention(sei_tagged=True, **changes), ON, pack)
    assert decision.is_high_value is False
    assert reason(decision, failed).passed is False


def test_pct_national_phase_inventions_count(pack):
    assert assess_high_value(invention(kind="pct_invention", sei_tagged=True), ON,
                             pack).is_high_value is True


# --- growth of the stock (RULES §10: Daye's 10 % is a compound average) --------------------------

def test_growth_meets_the_target_on_average_even_with_a_weak_year(pack):
    target = target_for("420281", pack)
    assert target is not None and target.annual_average_percent == 10
    report = growth([(2023, 100), (2024, 105), (2025, 121)], target)
    assert [s["growth_percent"] for s in report["year_on_year"]] == ["5.00", "15.24"]
    assert report["compound_annual_growth_percent"] == "10.00"
    assert report["meets_target"] is True  # 100 × 1.1² = 121 exactly
    assert growth([(2023, 100), (2024, 105), (2025, 120)], target)["meets_target"] is False


def test_growth_edge_cases(pack):
    target = target_for("420281", pack)
    assert growth([(2025, 7)], target)["meets_target"] is None
    zero = growth([(2024, 0), (2025, 3)], target)
    assert zero["compound_annual_growth_percent"] is None and zero["meets_target"] is None
    assert "undefined" in zero["detail"]
    assert target_for("140200", pack) is None and target_for(None, pack) is None
    assert growth([(2024, 10), (2025, 12)], None)["meets_target"] is None
