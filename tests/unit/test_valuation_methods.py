"""The valuation math (RULES.md §4.2) and the indicator rule, as pure functions: the worked
examples reproduced exactly, the economic life capped by the legal term, nonsense refused with
the field and rule named, and properties (deterministic, monotone in the discount rate, linear in
sales)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from decimal import localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.financing.valuations import indicators, methods
from services.financing.valuations.methods import InputRule, round_cny
from services.financing.valuations.packs import Purpose, load_packs

WAN = D(10_000)  # 万元 → yuan


def exact(compute):
    """An expected figure computed at the methods' precision."""
    with localcontext(prec=methods.PRECISION):
        return compute()


# --- the worked examples of RULES.md §4.2 ---------------------------------------------------------

def test_relief_from_royalty_worked_example_in_wan_yuan():
    """Sales 1,000 / 1,200 / 1,400 万元, royalty 3 %, tax 25 %, r 12 % → 64.03 万元."""
    result = methods.relief_from_royalty([D(1000), D(1200), D(1400)], D("0.03"), D("0.25"),
                                         D("0.12"))
    assert round_cny(result.value) == D("64.03")
    assert [line["present_value_cny"] for line in result.lines] == ["20.09", "21.52", "22.42"]


def test_relief_from_royalty_worked_example_in_yuan_rounds_once():
    result = methods.relief_from_royalty([1000 * WAN, 1200 * WAN, 1400 * WAN], D("0.03"),
                                         D("0.25"), D("0.12"))
    # 640,345.98214… yuan: one rounding at the end, to the fen
    assert round_cny(result.value) == D("640345.98")
    assert round_cny(result.value / WAN) == D("64.03")


def test_profit_split_worked_example():
    """Profits 300 / 350 / 400 万元, split 25 %, r 12 % → 207.9 万元."""
    result = methods.profit_split([D(300), D(350), D(400)], D("0.25"), D("0.12"))
    assert round_cny(result.value) == D("207.90")
    assert round_cny(methods.profit_split([300 * WAN, 350 * WAN, 400 * WAN], D("0.25"),
                                          D("0.12")).value) == D("2078967.75")


def test_cost_approach_worked_example():
    """180 万元 × (1 − 35 %) = 117 万元."""
    assert round_cny(methods.cost_obsolescence(D(180), D("0.35")).value) == D("117.00")
    assert round_cny(methods.cost_obsolescence(180 * WAN, D("0.35")).value) == D("1170000.00")


def test_rounding_each_year_first_would_differ():
    """The convention matters: summing per-year figures rounded to 0.01 gives 64.03 here too,
    but the full-precision total is what gets rounded (and is reported unrounded as well)."""
    result = methods.relief_from_royalty([D(1000), D(1200), D(1400)], D("0.03"), D("0.25"),
                                         D("0.12"))
    assert str(result.value).startswith("64.0345982142857142857")


# --- remaining legal term -------------------------------------------------------------------------

def test_years_between_counts_anniversaries_and_a_share_of_the_next_year():
    assert methods.years_between(date(2026, 3, 10), date(2036, 3, 10)) == 10
    half = methods.years_between(date(2026, 1, 1), date(2026, 7, 2))
    assert half == exact(lambda: D(182) / D(365))
    assert methods.years_between(date(2026, 5, 1), date(2026, 5, 1)) == 0
    assert methods.years_between(date(2026, 5, 2), date(2026, 5, 1)) == 0
    # 29 February: the anniversary in a common year is 28 February
    assert methods.years_between(date(2024, 2, 29), date(2025, 2, 28)) == 1


def test_projection_longer_than_the_legal_term_is_truncated_and_said_so():
    sales = [D(1000)] * 5
    full = methods.relief_from_royalty(sales, D("0.1"), D(0), D(0))
    capped = methods.relief_from_royalty(sales, D("0.1"), D(0), D(0), cap_years=D("2.5"))
    assert full.value == D(500)
    assert capped.value == D(250)  # years 1, 2 in full, half of year 3, years 4-5 dropped
    assert [line["share_of_year"] for line in capped.lines] == [
        "1.000000", "1.000000", "0.500000", "0.000000", "0.000000"]
    assert capped.figures["economic_life_years"] == "2.500000"
    assert "exceeds the patent's remaining legal term" in capped.notes[0]
    assert "years 4–5 dropped" in capped.notes[0]
    assert full.notes == []


def test_projection_within_the_term_is_not_touched():
    result = methods.profit_split([D(100)] * 3, D("0.25"), D("0.1"), cap_years=D("7.3"))
    assert result.notes == [] and result.value == methods.profit_split(
        [D(100)] * 3, D("0.25"), D("0.1")).value


def test_cost_remaining_life_capped_by_legal_term():
    plain = methods.cost_remaining_life(D(1000), D(8), D(20))
    assert plain.value == D(400)
    capped = methods.cost_remaining_life(D(1000), D(8), D(20), cap_years=D(5))
    assert capped.value == D(250)
    assert "exceeds the patent's remaining legal term" in capped.notes[0]


# --- market and combination -----------------------------------------------------------------------

def test_market_price_times_product_of_factors_mean_and_median():
    comps = [methods.Comparable({"ref": "a"}, D(100), {"technology": D("1.2"), "time": D("0.9")}),
             methods.Comparable({"ref": "b"}, D(200), {"region": D("1.1")})]
    mean = methods.market(comps)
    assert mean.value == (D(100) * D("1.08") + D(220)) / 2
    assert [line["adjusted_price_cny"] for line in mean.lines] == ["108.00", "220.00"]
    three = [*comps, methods.Comparable({"ref": "c"}, D(50), {})]
    assert methods.market(three, aggregate="median").value == D(108)


def test_combine_weights_renormalised_and_range_from_spread_of_methods():
    combined = methods.combine({"income": D(100), "cost": D(60)},
                               {"income": D("0.5"), "market": D("0.3"), "cost": D("0.2")},
                               D("0.15"))
    assert combined.weights == exact(lambda: {"income": D(5) / D(7), "cost": D(2) / D(7)})
    assert round_cny(combined.value) == D("88.57")
    assert (combined.low, combined.high) == (D(60), D(100))


def test_combine_single_method_uses_pack_spread():
    combined = methods.combine({"market": D(200)}, {"market": D("0.3")}, D("0.15"))
    assert (combined.value, combined.low, combined.high) == (D(200), D(170), D(230))


# --- nonsense is refused, naming field and rule ---------------------------------------------------

@pytest.mark.parametrize(("call", "field", "rule"), [
    (lambda: methods.relief_from_royalty([D(1), D(-1)], D("0.03"), D(0), D("0.1")),
     "sales_cny.1", "amount.non_negative"),
    (lambda: methods.relief_from_royalty([], D("0.03"), D(0), D("0.1")),
     "sales_cny", "projection.not_empty"),
    (lambda: methods.relief_from_royalty([D(1)], D("1.5"), D(0), D("0.1")),
     "royalty_rate", "rate.range"),
    (lambda: methods.relief_from_royalty([D(1)], D("0.03"), D("-0.1"), D("0.1")),
     "tax_rate", "rate.range"),
    (lambda: methods.profit_split([D(1)], D("0.25"), D(-1)),
     "discount_rate", "discount_rate.above_minus_one"),
    (lambda: methods.profit_split([D(1)], D("-0.25"), D("0.1")),
     "profit_split", "rate.range"),
    (lambda: methods.cost_obsolescence(D(-5), D("0.1")),
     "replacement_cost_cny", "amount.non_negative"),
    (lambda: methods.cost_remaining_life(D(5), D(12), D(10)),
     "remaining_life_years", "life.remaining_not_above_total"),
    (lambda: methods.cost_remaining_life(D(5), D(1), D(0)),
     "total_life_years", "years.positive"),
    (lambda: methods.market([]), "comparables", "market.no_comparables"),
    (lambda: methods.market([methods.Comparable({}, D(0), {})]),
     "comparables.0.price_cny", "amount.positive"),
    (lambda: methods.market([methods.Comparable({}, D(5), {"time": D(0)})]),
     "comparables.0.factors.time", "factor.range"),
])
def test_nonsense_inputs_name_field_and_rule(call, field, rule):
    with pytest.raises(InputRule) as err:
        call()
    assert (err.value.field, err.value.rule) == (field, rule)


def test_more_years_than_the_remaining_life_is_not_an_error():
    result = methods.relief_from_royalty([D(10)] * 40, D("0.05"), D(0), D("0.1"),
                                         cap_years=D("0.25"))
    assert result.value == exact(lambda: D(10) * D("0.05") * D("0.25") / D("1.1"))


# --- properties -----------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                      allow_infinity=False)
rates = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
discounts = st.decimals(min_value=D("-0.5"), max_value=D(2), places=4, allow_nan=False,
                        allow_infinity=False)
caps = st.none() | st.decimals(min_value=0, max_value=25, places=3, allow_nan=False,
                               allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=25), rates, rates, discounts, caps)
def test_same_input_same_output(sales, royalty, tax, r, cap):
    a = methods.relief_from_royalty(sales, royalty, tax, r, cap)
    b = methods.relief_from_royalty(list(sales), royalty, tax, r, cap)
    assert a == b


@settings(max_examples=200, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=25), rates, rates, discounts, discounts, caps)
def test_higher_discount_rate_never_raises_the_value(sales, royalty, tax, r1, r2, cap):
    low, high = sorted((r1, r2))
    at_low = methods.relief_from_royalty(sales, royalty, tax, low, cap).value
    at_high = methods.relief_from_royalty(sales, royalty, tax, high, cap).value
    assert at_high <= at_low
    split_low = methods.profit_split(sales, royalty, low, cap).value
    split_high = methods.profit_split(sales, royalty, high, cap).value
    assert split_high <= split_low


@settings(max_examples=200, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=25), rates, rates, discounts, caps,
       st.integers(min_value=0, max_value=1000))
def test_value_scales_linearly_in_sales(sales, royalty, tax, r, cap, k):
    base = methods.relief_from_royalty(sales, royalty, tax, r, cap).value
    scaled = methods.relief_from_royalty([s * k for s in sales], royalty, tax, r, cap).value
    # equal up to the last digits of 50-digit arithmetic (relative 1e-40)
    assert exact(lambda: abs(scaled - base * k) <= D("1e-40") * max(D(1), abs(scaled)))


# --- the pack and the indicator rule --------------------------------------------------------------

def _pack():
    return load_packs().in_force(date(2026, 1, 1))


def test_pack_is_unverified_and_cites_the_standard_with_names_unverified():
    pack = _pack()
    assert pack.verified is False
    documents = {(s.document, s.confidence) for s in pack.sources}
    assert any("GB/T 42748-2023" in d and c == "U" for d, c in documents)
    assert all(g.children_name_confidence == "U" for g in pack.data.indicators.tree)
    assert set(pack.data.indicators.scenarios) == set(Purpose)
    assert pack.data.scope.kinds and "design" not in pack.data.scope.kinds


def _legal(**overrides):
    facts = dict(remaining_years=D(15), statutory_years=D(20), annual_fee_status="paid",
                 family_granted_abroad=0, encumbrances={}, suspended=False,
                 high_value_categories=())
    facts.update(overrides)
    return indicators.legal_scores(_pack().data.indicators.legal_scoring,
                                   indicators.LegalFacts(**facts))


def test_legal_indicators_read_the_patent_fact():
    scoring = _pack().data.indicators.legal_scoring
    base = _legal()
    assert base["remaining_term"].score == scoring.remaining_term_bands[0].score  # 75 % left
    assert _legal(remaining_years=D(1))["remaining_term"].score \
        == scoring.remaining_term_bands[-1].score
    assert _legal(family_granted_abroad=2)["overseas_family"].score \
        == scoring.overseas_family["granted_abroad"]
    assert _legal(suspended=True)["stability"].score == scoring.stability["suspended"]
    pledged = _legal(encumbrances={"pledged": True, "licences": {"ordinary": 1}})
    assert pledged["licensing_status"].figures["state"] == "pledged"
    licensed = _legal(encumbrances={"pledged": False, "licences": {"ordinary": 1}})
    assert licensed["licensing_status"].score == scoring.licensing_status["ordinary_or_open"]
    assert _legal(high_value_categories=("sei", "abroad"))["high_value_category"].score \
        == scoring.high_value_category_bands[0].score
    assert _legal(annual_fee_status="in_grace")["legal_status"].score \
        == scoring.annual_fee_status["in_grace"]


def test_indicator_tree_scores_with_scenario_weights_and_sources():
    pack = _pack()
    tree = pack.data.indicators
    given = indicators.check_inputs(tree, {"technical": {"advancement": D(80)},
                                           "economic": {"market_prospect": D(60)}})
    scored = indicators.score(tree, Purpose.pledge_financing, _legal(), given, "valuation@v1")
    groups = {g["key"]: g for g in scored["groups"]}
    assert groups["technical"]["score"] == "80.00"   # the only technical leaf scored
    assert groups["economic"]["score"] == "60.00"
    leaf = next(i for i in groups["technical"]["indicators"] if i["key"] == "advancement")
    assert (leaf["source"], leaf["score"]) == ("request", "80.00")
    unscored = next(i for i in groups["technical"]["indicators"] if i["key"] == "maturity")
    assert unscored["source"] == "not_provided" and "technical.maturity" in scored["not_scored"]
    assert all(i["source"] == "patent_fact" for i in groups["legal"]["indicators"])
    first = tree.scenarios[Purpose.pledge_financing].first_level
    legal = D(groups["legal"]["score"])
    expected = (first["legal"] * legal + first["technical"] * 80 + first["economic"] * 60) \
        / sum(first.values())
    assert abs(D(scored["total_score"]) - expected) < D("0.01")
    other = indicators.score(tree, Purpose.licensing, _legal(), given, "valuation@v1")
    assert other["total_score"] != scored["total_score"]  # weights per scenario


@pytest.mark.parametrize(("given", "field", "rule"), [
    ({"legal": {"stability": D(50)}}, "legal", "indicator.computed_from_patent"),
    ({"technical": {"nonsense": D(50)}}, "technical.nonsense", "indicator.unknown"),
    ({"economic": {"market_share": D(101)}}, "economic.market_share", "indicator.score_range"),
    ({"technical": {"maturity": D(-1)}}, "technical.maturity", "indicator.score_range"),
])
def test_indicator_inputs_validated(given, field, rule):
    with pytest.raises(InputRule) as err:
        indicators.check_inputs(_pack().data.indicators, given)
    assert (err.value.field, err.value.rule) == (field, rule)
