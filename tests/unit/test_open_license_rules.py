"""Open-licence rules as plain functions (RULES.md §3, §9): each declaration check with its
basis line and clause, the suspension reasons, the fee terms per payment method, and the fee
guidance (suggested range from comparables, soft-limit and range flags, no invented rates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.matching.demands.service import normalise_ipc_hint
from services.matching.openlicenses import packs
from services.matching.openlicenses import rules as R
from shared.identifiers import InvalidIdentifier
from tests.factories import make_uscc

TODAY = date(2026, 6, 1)
PACK = packs.pack_on(TODAY)
OWNER = make_uscc()
UNIVERSITY = make_uscc(prefix="12")


def patent(**overrides) -> R.PatentSnapshot:
    values = dict(application_no="202310123456.7", kind="invention", status="granted",
                  in_force=True, term_ends_on=date(2043, 3, 10), annual_fee_status="paid",
                  suspended=False,
                  encumbrances={"pledged": False, "licences": {"open": 0, "exclusive": 0,
                                                               "sole": 0, "ordinary": 0}},
                  blockers=[], owners=[{"uscc": OWNER, "name": "甲公司"}],
                  grant_date=date(2024, 9, 1))
    values.update(overrides)
    return R.PatentSnapshot(**values)


def declaration(**overrides) -> R.Declaration:
    values = dict(declarant_uscc=OWNER, patentee_type=None, starts_on=TODAY,
                  ends_on=date(2030, 12, 31),
                  fee=R.FeeTerms("royalty", royalty_rate=Decimal("0.05"),
                                 royalty_base="net_sales"))
    values.update(overrides)
    return R.Declaration(**values)


def failed(lines) -> dict[str, R.Check]:
    return {line.code: line for line in lines if not line.passed}


def test_a_clean_declaration_passes_every_check_each_with_its_clause():
    patentee_type, lines = R.declaration_checks(patent(), declaration(), PACK, TODAY)
    assert patentee_type == "enterprise"  # 91… allows only enterprise: derived
    assert not failed(lines)
    codes = [line.code for line in lines]
    for code in ("owned_by_declarant", "co_owner_consent", "patentee_type", "granted",
                 "in_force", "exclusive_or_sole_licence", "suspended", "annual_fee_paid",
                 "pledged_without_consent", "evaluation_report", "term_within_patent",
                 "term_order", "fee_terms"):
        assert code in codes
    for line in lines:
        assert line.clause["document"] and line.clause["clause"]
    assert next(l for l in lines if l.code == "exclusive_or_sole_licence"
                ).clause["clause"] == "第八十六条第（一）项"


@pytest.mark.parametrize("facts, code", [
    (dict(status="lapsed", in_force=False, blockers=["not_in_force"]), "in_force"),
    (dict(status="invalidated", in_force=False), "granted"),
    (dict(status="pending", in_force=False), "granted"),
    (dict(blockers=["exclusive_or_sole_licence"],
          encumbrances={"pledged": False, "licences": {"exclusive": 1}}),
     "exclusive_or_sole_licence"),
    (dict(suspended=True, blockers=["suspended"]), "suspended"),
    (dict(annual_fee_status="in_grace", blockers=["annual_fee_unpaid"]), "annual_fee_paid"),
    (dict(encumbrances={"pledged": True, "pledgee_consent_to_open_licence": False,
                        "pledgees": ["工商银行"], "licences": {}},
          blockers=["pledged_without_consent"]), "pledged_without_consent"),
    (dict(term_ends_on=date(2026, 6, 1)), "in_force"),  # the term ran out today
])
def test_each_rule_86_bar_refuses_with_its_own_line(facts, code):
    _, lines = R.declaration_checks(patent(**facts), declaration(ends_on=date(2026, 6, 1)),
                                    PACK, TODAY)
    bad = failed(lines)
    assert code in bad, bad
    assert bad[code].field == "application_no"


def test_an_exclusive_licence_recorded_in_matching_bars_before_the_registry_reports_it():
    # Rule 86(1): matching recorded an exclusive licence a moment ago; the registry's summary
    # (encumbrances, blockers) has not come back yet
    _, lines = R.declaration_checks(patent(recorded_here={"exclusive": 1}), declaration(),
                                    PACK, TODAY)
    line = failed(lines)["exclusive_or_sole_licence"]
    assert line.field == "application_no" and line.figures == {"recorded_in_matching": 1}
    assert "1 recorded in matching" in line.detail
    lines = R.publication_checks(patent(recorded_here={"sole": 1}), declaration(), PACK, TODAY)
    assert "exclusive_or_sole_licence" in failed(lines)
    lines = R.patent_checks(patent(recorded_here={}), PACK.data, TODAY)
    assert all(line.passed for line in lines)


def test_a_pledge_with_the_pledgees_consent_does_not_bar():
    facts = patent(encumbrances={"pledged": True, "pledgee_consent_to_open_licence": True,
                                 "licences": {}})
    _, lines = R.declaration_checks(facts, declaration(), PACK, TODAY)
    line = next(l for l in lines if l.code == "pledged_without_consent")
    assert line.passed and "consent recorded" in line.detail


def test_only_an_owner_may_declare_and_every_co_owner_must_consent():
    stranger = make_uscc()
    _, lines = R.declaration_checks(patent(), declaration(declarant_uscc=stranger), PACK, TODAY)
    assert "owned_by_declarant" in failed(lines)

    co_owner = make_uscc()
    shared = patent(owners=[{"uscc": OWNER, "name": "甲公司"},
                            {"uscc": co_owner, "name": "乙公司"},
                            {"uscc": None, "name": "张三"}])
    _, lines = R.declaration_checks(shared, declaration(), PACK, TODAY)
    line = failed(lines)["co_owner_consent"]
    assert line.field == "co_owner_consents"
    assert line.figures["missing"] == [co_owner, "张三"]

    consents = [{"uscc": co_owner, "name": "乙公司", "document_ref": "同意书-1"},
                {"name": "张三", "document_ref": "同意书-2"}]
    _, lines = R.declaration_checks(shared, declaration(co_owner_consents=consents), PACK,
                                    TODAY)
    assert not failed(lines)
    # a consent without a document reference is not a written consent
    consents[1]["document_ref"] = " "
    _, lines = R.declaration_checks(shared, declaration(co_owner_consents=consents), PACK,
                                    TODAY)
    assert failed(lines)["co_owner_consent"].figures["missing"] == ["张三"]


def test_the_patentee_type_must_fit_the_uscc_category():
    owned = patent(owners=[{"uscc": UNIVERSITY, "name": "某大学"}])
    kind, lines = R.declaration_checks(owned, declaration(declarant_uscc=UNIVERSITY,
                                                          patentee_type="university"),
                                       PACK, TODAY)
    assert kind == "university" and not failed(lines)
    # a 事业单位 must say whether it is a university or an institute
    _, lines = R.declaration_checks(owned, declaration(declarant_uscc=UNIVERSITY), PACK, TODAY)
    assert failed(lines)["patentee_type"].field == "patentee_type"
    # an enterprise (91…) cannot claim to be a university
    _, lines = R.declaration_checks(patent(), declaration(patentee_type="university"), PACK,
                                    TODAY)
    assert "cannot declare as university" in failed(lines)["patentee_type"].detail


def test_utility_models_and_designs_need_an_evaluation_report():
    for kind in ("utility_model", "design"):
        _, lines = R.declaration_checks(patent(kind=kind), declaration(), PACK, TODAY)
        assert failed(lines)["evaluation_report"].field == "evaluation_report_ref"
        _, lines = R.declaration_checks(patent(kind=kind),
                                        declaration(evaluation_report_ref="PJ2026-001"),
                                        PACK, TODAY)
        assert not failed(lines)


def test_the_term_ends_by_the_patents_and_runs_forward():
    _, lines = R.declaration_checks(patent(term_ends_on=date(2030, 1, 1)),
                                    declaration(ends_on=date(2030, 1, 2)), PACK, TODAY)
    line = failed(lines)["term_within_patent"]
    assert line.field == "ends_on" and line.figures["term_ends_on"] == "2030-01-01"
    # term_ends_on is the first day NOT in force: a licence may not run on that day either
    _, lines = R.declaration_checks(patent(term_ends_on=date(2030, 1, 1)),
                                    declaration(ends_on=date(2030, 1, 1)), PACK, TODAY)
    assert failed(lines)["term_within_patent"].field == "ends_on"
    _, lines = R.declaration_checks(patent(term_ends_on=date(2030, 1, 1)),
                                    declaration(ends_on=date(2029, 12, 31)), PACK, TODAY)
    assert not failed(lines)
    _, lines = R.declaration_checks(patent(), declaration(starts_on=date(2027, 1, 1),
                                                          ends_on=date(2026, 12, 1)),
                                    PACK, TODAY)
    assert failed(lines)["term_order"].field == "starts_on"
    _, lines = R.declaration_checks(patent(), declaration(starts_on=date(2025, 1, 1),
                                                          ends_on=date(2026, 5, 31)),
                                    PACK, TODAY)
    assert "ends before today" in failed(lines)["term_order"].detail


def test_a_term_starting_before_the_grant_or_years_ahead_is_refused():
    _, lines = R.declaration_checks(patent(), declaration(starts_on=date(1, 1, 1)), PACK, TODAY)
    line = failed(lines)["term_order"]
    assert line.field == "starts_on" and "before the grant (2024-09-01)" in line.detail
    assert line.figures["grant_date"] == "2024-09-01"
    far = date(2029, 1, 1)
    _, lines = R.declaration_checks(patent(), declaration(starts_on=far, ends_on=date(2030, 1, 1)),
                                    PACK, TODAY)
    line = failed(lines)["term_order"]
    assert line.field == "starts_on" and "366 days ahead" in line.detail
    # within the window (a month ahead; the grant date itself) it passes
    for start in (date(2026, 7, 1), date(2024, 9, 1)):
        _, lines = R.declaration_checks(patent(), declaration(starts_on=start), PACK, TODAY)
        assert not failed(lines), failed(lines)


@pytest.mark.parametrize("fee, fields", [
    (R.FeeTerms("lump_sum"), ["lump_sum_cny"]),
    (R.FeeTerms("lump_sum", lump_sum_cny=Decimal("0")), ["lump_sum_cny"]),
    (R.FeeTerms("lump_sum", lump_sum_cny=Decimal("1"), royalty_rate=Decimal("0.1")),
     ["royalty_rate"]),
    (R.FeeTerms("royalty", royalty_rate=Decimal("0")), ["royalty_rate", "royalty_base"]),
    (R.FeeTerms("royalty", royalty_rate=Decimal("0.05"), royalty_base="profit"), []),
    (R.FeeTerms("entry_fee_plus_royalty", royalty_rate=Decimal("0.05"),
                royalty_base="net_sales"), ["entry_fee_cny"]),
    (R.FeeTerms("entry_fee_plus_royalty", entry_fee_cny=Decimal("100000"),
                royalty_rate=Decimal("0.03"), royalty_base="net_sales"), []),
    (R.FeeTerms("free", lump_sum_cny=Decimal("10")), ["lump_sum_cny"]),
    (R.FeeTerms("free"), []),
])
def test_fee_terms_must_fit_the_payment_method(fee, fields):
    assert [f for f, _ in R.fee_problems(fee)] == fields


def test_suspension_reasons_are_the_blockers_and_an_ended_term():
    assert R.blocking_reasons(patent(), TODAY) == []
    assert R.blocking_reasons(patent(blockers=["pledged_without_consent"]), TODAY) == [
        "pledged_without_consent"]
    assert R.blocking_reasons(patent(in_force=False, blockers=[]), TODAY) == ["not_in_force"]
    assert R.blocking_reasons(patent(term_ends_on=TODAY), TODAY) == ["not_in_force"]


RATES = [R.Comparable(Decimal(x), f"licensor-{i}")
         for i, x in enumerate(("0.03", "0.04", "0.05", "0.05", "0.06"))]


def test_the_suggested_range_is_the_interquartile_range_of_priced_comparables():
    got = R.suggested_range(industry=("39", RATES), ipc=("H01M", []), royalty_base="net_sales",
                            pack=PACK)
    assert got["available"] and got["source"] == "recorded_licences"
    assert (got["scope"], got["key"], got["comparables"]) == ("industry_division", "39", 5)
    assert (got["low"], got["median"], got["high"]) == ("0.04", "0.05", "0.05")


def test_too_few_industry_comparables_fall_back_to_the_ipc_subclass_then_to_nothing():
    got = R.suggested_range(industry=("39", RATES[:4]), ipc=("H01M", RATES),
                            royalty_base="net_sales", pack=PACK)
    assert (got["scope"], got["key"]) == ("ipc_subclass", "H01M")
    # free (zero-rate) licences are not comparables (RULES §9)
    got = R.suggested_range(industry=("39", RATES[:4] + [R.Comparable(Decimal(0), "x")] * 5),
                            ipc=None,
                            royalty_base="net_sales", pack=PACK)
    assert not got["available"]
    assert "4 priced licence(s)" in got["reason"]
    # the CNIPA industry table ships empty: no rate is invented
    assert PACK.data.industry_rates.rates == {}
    assert "empty" in got["reason"]


def test_comparables_from_fewer_than_five_licensors_give_no_range():
    # five licences, but two licensors: a quartile would disclose (or let one steer) its terms
    few = [R.Comparable(c.rate, "licensor-0" if i % 2 else "licensor-1")
           for i, c in enumerate(RATES)]
    got = R.suggested_range(industry=("39", few), ipc=("H01M", few), royalty_base="net_sales",
                            pack=PACK)
    assert not got["available"]
    assert "5 priced licence(s) from 2 licensor(s)" in got["reason"]
    assert "at least 5 different licensors" in got["reason"]
    assert PACK.data.fee_range.min_licensors == 5
    got = R.suggested_range(industry=("39", RATES), ipc=None, royalty_base="net_sales",
                            pack=PACK)
    assert got["available"] and got["licensors"] == 5


def test_co_owner_consents_are_written_and_name_each_other_owner():
    owners = [{"uscc": OWNER, "name": "甲公司"}, {"uscc": UNIVERSITY, "name": "某大学"},
              {"uscc": None, "name": "张三"}]
    assert R.missing_consents(owners, OWNER, []) == [UNIVERSITY, "张三"]
    assert R.missing_consents(owners, OWNER.lower(), [
        {"uscc": UNIVERSITY, "name": "某大学", "document_ref": "同意书-1"},
        {"name": "张三", "document_ref": " "}]) == ["张三"]
    assert R.missing_consents(owners[:1], OWNER, []) == []


def test_fee_flags_soft_limits_and_distance_from_the_range():
    suggestion = R.suggested_range(industry=("39", RATES), ipc=None, royalty_base="net_sales",
                                   pack=PACK)
    inside = R.FeeTerms("royalty", royalty_rate=Decimal("0.06"), royalty_base="net_sales")
    assert R.fee_flags(inside, suggestion, PACK) == []
    far_above = R.FeeTerms("royalty", royalty_rate=Decimal("0.25"), royalty_base="net_sales")
    flags = {f["code"]: f for f in R.fee_flags(far_above, suggestion, PACK)}
    assert set(flags) == {"royalty_above_soft_limit", "royalty_above_suggested_range"}
    assert flags["royalty_above_soft_limit"]["figures"]["soft_limit"] == "0.2"
    assert flags["royalty_above_suggested_range"]["figures"]["suggested_high"] == "0.05"
    below = R.FeeTerms("royalty", royalty_rate=Decimal("0.015"), royalty_base="net_sales")
    assert [f["code"] for f in R.fee_flags(below, suggestion, PACK)] == [
        "royalty_below_suggested_range"]
    # 40 % of profit is within the profit soft limit; a fixed fee above 20 million is flagged
    profit = R.FeeTerms("entry_fee_plus_royalty", entry_fee_cny=Decimal("25000000"),
                        royalty_rate=Decimal("0.4"), royalty_base="profit")
    assert [f["code"] for f in R.fee_flags(profit, {"available": False}, PACK)] == [
        "fixed_fee_above_soft_limit"]


@pytest.mark.parametrize("raw, expected", [
    ("h01m", "H01M"), ("H", "H"), ("g06", "G06"), ("H01M10", "H01M 10"),
    ("H01M 10/0525", "H01M 10/0525"), ("h01m10/0525(2010.01)", "H01M 10/0525"),
    ("Ｈ０１Ｍ", "H01M"),
])
def test_ipc_hints_are_normalised_at_any_level(raw, expected):
    assert normalise_ipc_hint(raw) == expected


@pytest.mark.parametrize("raw", ["", "锂电池", "Z01M", "H1M", "H00", "H01M0", "H01M 10/5"])
def test_garbage_ipc_hints_are_refused(raw):
    with pytest.raises(InvalidIdentifier):
        normalise_ipc_hint(raw)
