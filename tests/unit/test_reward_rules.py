"""Reward decisions as plain functions of data (services/rewards/claims/rules.py): which events
trigger which rules, eligibility with its basis, every amount kind, every doubt flag, the caps
(the 11th product of an organisation under a 200,000 cap of 20,000 each gets nothing; the last
room is granted when smaller than the amount) and the basis lines that say so."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.rewards.claims import rules
from services.rewards.claims.rules import (DOUBT_FLAGS, ZERO, CapRequest, Facts, cap_line,
                                           cap_requests, evaluate, extract, room,
                                           trigger_matches)
from services.rewards.policies import packs

TODAY = date(2026, 6, 1)
SHANXI = "rewards-shanxi-2025@v1"
USCC = "91140200MA0K2B3C4D"
OTHER = "91140100MA0K2B3C4X"


def rule_of(ref: str, code: str):
    found = packs.find(ref, code)
    assert found is not None, (ref, code)
    return found


def enterprise(**overrides) -> dict:
    return {"uscc": USCC, "name": "大同示例科技有限公司", "region_code": "140200",
            "province_code": "14", "ownership": "private", "founded_on": date(2016, 5, 20),
            **overrides}


def facts(**overrides) -> Facts:
    base = dict(enterprise=enterprise(), item={"product_id": "p-1"}, today=TODAY)
    return Facts(**{**base, **overrides})


def check(ref: str, code: str, facts_: Facts, *, origin: str = "event", on: date = TODAY,
          **kw) -> rules.Evaluation:
    pack, rule = rule_of(ref, code)
    return evaluate(pack, rule, facts_, uscc=USCC, item_date=on, origin=origin, **kw)


def line(evaluation: rules.Evaluation, code: str) -> dict:
    found = [b for b in evaluation.basis if b["rule"] == code]
    assert len(found) == 1, (code, [b["rule"] for b in evaluation.basis])
    return found[0]


# --- triggers and items -------------------------------------------------------------------------

def test_extract_finds_the_claimant_item_date_and_kind_of_every_trigger():
    assert extract("product.recognized", {"uscc": USCC, "product_id": "p",
                                          "recognized_on": "2026-03-02"}) == (
        USCC, "p", date(2026, 3, 2), "product")
    # a trademark without registered_on falls back to the registration instant's date
    assert extract("trademark.registered", {"holder_uscc": USCC, "reg_no": 123456,
                                            "registered_at": "2026-03-02T08:00:00+00:00"}) == (
        USCC, "123456", date(2026, 3, 2), "trademark")
    assert extract("license.granted", {"licensee": {"uscc": OTHER}, "license_id": "l",
                                       "starts_on": "2026-01-01"}) == (
        OTHER, "l", date(2026, 1, 1), "license")
    assert extract("patent.status_changed", {"owners": [{"uscc": OTHER}, {"uscc": USCC}],
                                             "application_no": "202310123456.7",
                                             "grant_date": None,
                                             "changed_on": "2026-02-03"}) == (
        OTHER, "202310123456.7", date(2026, 2, 3), "patent")
    assert extract("pool.graduated", {"uscc": USCC, "graduated_on": "2026-05-01"}) == (
        USCC, USCC, date(2026, 5, 1), "pool_graduation")
    # an individual owner: no claimant
    assert extract("patent.status_changed", {"owners": [{"uscc": None}],
                                             "application_no": "x"})[0] is None


def test_trigger_conditions_on_the_event_itself():
    _, gi = rule_of(SHANXI, "gi_trademark")
    assert trigger_matches(gi, {"geographical_indication": True})
    assert not trigger_matches(gi, {"geographical_indication": False})
    _, centre = rule_of(SHANXI, "ip_operation_center")
    assert trigger_matches(centre, {"kind": "ip_operation_center", "level": "national"})
    assert not trigger_matches(centre, {"kind": "ip_operation_center", "level": "provincial"})
    assert not trigger_matches(centre, {"kind": "zjtx_sme", "level": "national"})
    _, licence = rule_of(SHANXI, "open_license_conversion")
    assert trigger_matches(licence, {"license_type": "open"})
    assert not trigger_matches(licence, {"license_type": "exclusive"})
    # Daye: a granted high-value invention, as patent.status_changed carries it
    _, grant = rule_of("rewards-daye-2023@v1", "high_value_invention_grant")
    event = {"status": "granted", "kind": "invention",
             "high_value": {"is_high_value": True, "categories": ["overseas_family"]}}
    assert trigger_matches(grant, event)
    assert not trigger_matches(grant, {**event, "high_value": {"is_high_value": False,
                                                               "categories": []}})
    assert not trigger_matches(grant, {**event, "kind": "utility_model"})
    assert not trigger_matches(grant, {**event, "status": "lapsed"})


# --- eligibility, jurisdiction, validity --------------------------------------------------------

def test_an_eligible_product_is_approved_without_a_meeting_with_its_basis():
    result = check(SHANXI, "patent_intensive_product", facts())
    assert (result.status, result.amount_cny, result.doubt_flags, result.review_due_on) == (
        "approved", Decimal("20000.00"), [], None)
    assert [b["rule"] for b in result.basis] == [
        "jurisdiction.covers", "policy.in_force", "enterprise.private", "amount.fixed",
        "cap.per_item", "approval.no_meeting"]
    assert all(b["passed"] for b in result.basis)
    private = line(result, "enterprise.private")
    assert private["figures"] == {"fact": "enterprise.ownership", "op": "eq",
                                  "expected": "private", "actual": "private"}
    assert private["clause"]["pack"] == SHANXI and private["clause"]["clause"].startswith("11.")
    assert [r.key for r in result.cap_requests] == [
        f"rewards-shanxi-2025|patent_intensive_product|{USCC}|all"]


@pytest.mark.parametrize("change, failed", [
    ({"enterprise": enterprise(ownership="state")}, "enterprise.private"),
    ({"enterprise": enterprise(region_code="420281")}, "jurisdiction.covers"),
    ({"enterprise": enterprise(region_code=None)}, "jurisdiction.covers"),
])
def test_an_ineligible_claim_is_rejected_naming_the_check(change, failed):
    result = check(SHANXI, "patent_intensive_product", facts(**change))
    assert (result.status, result.amount_cny, result.cap_requests) == ("rejected", ZERO, [])
    assert [b["rule"] for b in result.basis if not b["passed"]] == [failed]


def test_an_item_before_the_policy_took_effect_is_rejected():
    result = check(SHANXI, "patent_intensive_product", facts(), on=date(2025, 12, 7))
    assert result.status == "rejected"
    assert line(result, "policy.in_force")["figures"]["effective_from"] == "2025-12-08"


def test_an_unknown_claimant_waits_for_its_enterprise():
    result = check(SHANXI, "patent_intensive_product", facts(enterprise=None))
    assert (result.status, result.amount_cny, result.cap_requests) == (
        "awaiting_facts", None, [])
    assert line(result, "enterprise.known")["passed"] is False


def test_a_manual_rule_checks_qualifications_and_filed_evidence():
    ref = "rewards-datong-2023@v1"
    without = check(ref, "srdi_ip_support", facts(), origin="filed",
                    evidence_codes=("ip_measure_report",))
    assert without.status == "rejected"
    assert line(without, "enterprise.srdi")["figures"]["actual"] == []
    qualified = facts(qualifications=("little_giant",))
    ok = check(ref, "srdi_ip_support", qualified, origin="filed",
               evidence_codes=("ip_measure_report",))
    assert (ok.status, ok.amount_cny, ok.doubt_flags) == ("pending_review", None,
                                                          ["amount.assessed"])
    assert ok.review_due_on == TODAY + timedelta(days=20)
    missing = check(ref, "srdi_ip_support", qualified, origin="filed")
    assert missing.status == "rejected"
    assert line(missing, "evidence.complete")["figures"]["missing"] == ["ip_measure_report"]


# --- amounts ------------------------------------------------------------------------------------

def test_up_to_amounts_propose_the_ceiling_or_what_was_asked():
    item = {"kind": "hvp_cultivation_center"}
    drafted = check(SHANXI, "hvp_cultivation_center", facts(item=item))
    assert drafted.amount_cny == Decimal("300000.00")
    assert line(drafted, "amount.up_to")["figures"]["ceiling_cny"] == "300000.00"
    asked = check(SHANXI, "hvp_cultivation_center", facts(item=item), origin="filed",
                  requested_cny=Decimal("120000"), evidence_codes=("approval_notice",))
    assert asked.amount_cny == Decimal("120000.00")
    assert set(asked.doubt_flags) == {"amount.requested", "rule.review_required"}
    assert asked.cap_requests[0].max_items == 1  # once per organisation


def test_assessed_amounts_are_left_to_the_department():
    result = check(SHANXI, "open_license_conversion",
                   facts(item={"license_type": "open", "license_id": "l"}))
    assert (result.status, result.amount_cny, result.doubt_flags) == (
        "pending_review", None, ["amount.assessed"])
    assert result.cap_requests == []


def test_rate_amounts_apply_the_rate_within_min_and_max():
    pack, base = rule_of(SHANXI, "open_license_conversion")
    rule = base.model_copy(update={"amount": packs.Amount(
        kind="rate", base="item.fee.lump_sum_cny", rate=Decimal("0.1"),
        min_cny=Decimal("5000.00"), max_cny=Decimal("50000.00"))})

    def amount(lump):
        item = {"license_type": "open", "fee": {"lump_sum_cny": lump}}
        return evaluate(pack, rule, facts(item=item), uscc=USCC, item_date=TODAY,
                        origin="event")
    assert amount("200000.00").amount_cny == Decimal("20000.00")
    assert amount("10000.00").amount_cny == Decimal("5000.00")  # the minimum
    assert amount("900000.00").amount_cny == Decimal("50000.00")  # the maximum
    assert line(amount("200000.00"), "amount.rate")["figures"]["rate"] == "0.1"
    missing = amount(None)
    assert missing.status == "rejected" and line(missing, "amount.rate")["passed"] is False


# --- doubt flags --------------------------------------------------------------------------------

def test_every_doubt_flag_sends_the_claim_to_a_person():
    raised = set()

    def flags(code="patent_intensive_product", ref=SHANXI, **kw):
        result = check(ref, code, kw.pop("facts_", facts()), **kw)
        assert result.status == "pending_review", result.basis
        assert result.review_due_on == TODAY + timedelta(days=20)
        raised.update(result.doubt_flags)
        return result.doubt_flags

    flag = {"kind": "tax_evasion", "flagged_on": date(2026, 5, 1), "reference": "税-1"}
    assert flags(facts_=facts(active_flags=(flag,))) == ["credit.active_flag"]
    assert flags(facts_=facts(item={}, item_known=False), origin="filed",
                 evidence_codes=("recognition_notice",)) == ["evidence.unverified"]
    assert flags(facts_=facts(item_party=OTHER), origin="filed",
                 evidence_codes=("recognition_notice",)) == ["evidence.mismatch"]
    young = enterprise(founded_on=TODAY - timedelta(days=100))
    assert flags(facts_=facts(enterprise=young)) == ["claimant.new_organisation"]
    assert flags("ip_operation_center", facts_=facts(
        item={"kind": "ip_operation_center", "level": "national"})) == ["amount.unusual"]
    assert flags("open_license_conversion", facts_=facts(
        item={"license_type": "open"})) == ["amount.assessed"]
    assert set(flags("hvp_cultivation_center", facts_=facts(
        item={"kind": "hvp_cultivation_center"}))) == {"amount.requested",
                                                      "rule.review_required"}
    pack, rule = rule_of(SHANXI, "patent_intensive_product")
    unverified = evaluate(pack, rule.model_copy(update={"verified": False}), facts(),
                          uscc=USCC, item_date=TODAY, origin="event")
    assert unverified.doubt_flags == ["policy.unverified"]
    raised.update(unverified.doubt_flags)
    assert raised == set(DOUBT_FLAGS)


def test_a_new_organisation_with_an_earlier_approved_claim_is_no_doubt():
    young = enterprise(founded_on=TODAY - timedelta(days=100))
    assert check(SHANXI, "patent_intensive_product",
                 facts(enterprise=young, prior_decided_claims=1)).status == "approved"
    assert check(SHANXI, "patent_intensive_product",
                 facts(enterprise=enterprise(founded_on=TODAY - timedelta(days=365)))
                 ).status == "approved"


def test_the_doubt_lines_carry_their_figures():
    flag = {"kind": "data_fraud", "flagged_on": date(2026, 5, 1), "reference": "晋-7"}
    result = check(SHANXI, "patent_intensive_product", facts(active_flags=(flag,)))
    doubt = line(result, "doubt.credit")
    assert doubt["figures"]["flags"] == [{"kind": "data_fraud", "flagged_on": "2026-05-01",
                                          "reference": "晋-7"}]
    mismatch = check(SHANXI, "patent_intensive_product", facts(item_party=OTHER),
                     origin="filed", evidence_codes=("recognition_notice",))
    assert line(mismatch, "doubt.item_party")["figures"] == {"claimant": USCC,
                                                             "item_party": OTHER}
    unusual = check(SHANXI, "ip_operation_center",
                    facts(item={"kind": "ip_operation_center", "level": "national"}))
    assert line(unusual, "doubt.amount")["figures"] == {"amount_cny": "1000000.00",
                                                        "usual_up_to_cny": "500000.00"}


# --- caps ---------------------------------------------------------------------------------------

def per_org() -> CapRequest:
    pack, rule = rule_of(SHANXI, "patent_intensive_product")
    (request,) = cap_requests(pack, rule, USCC, TODAY)
    return request


def test_the_eleventh_product_gets_nothing_and_the_basis_says_why():
    request = per_org()
    assert (request.code, request.cap_cny, request.max_items) == (
        "cap.per_org", Decimal("200000.00"), None)
    committed = ZERO
    granted = []
    for items in range(11):
        got = room(request, committed, items, Decimal("20000.00"))
        granted.append(got)
        committed += got
    assert granted == [Decimal("20000.00")] * 10 + [ZERO]
    eleventh = cap_line(request, committed_before=committed, items_before=10,
                        asked=Decimal("20000.00"), granted=ZERO)
    assert eleventh["passed"] is False
    assert eleventh["figures"] == {"cap_cny": "200000.00", "max_items": None,
                                   "committed_before_cny": "200000.00", "items_before": 10,
                                   "asked_cny": "20000.00", "granted_cny": "0.00"}
    assert "200000.00" in eleventh["detail"] and eleventh["clause"]["clause"].startswith("11.")


def test_the_last_room_under_a_cap_is_granted_and_said_so():
    request = per_org()
    assert room(request, Decimal("190000.00"), 9, Decimal("20000.00")) == Decimal("10000.00")
    partial = cap_line(request, committed_before=Decimal("190000.00"), items_before=9,
                       asked=Decimal("20000.00"), granted=Decimal("10000.00"))
    assert partial["passed"] is True and "10000.00" in partial["detail"]
    within = cap_line(request, committed_before=ZERO, items_before=0,
                      asked=Decimal("20000.00"), granted=Decimal("20000.00"))
    assert within["passed"] is True and "within the cap" in within["detail"]
    # no amount yet (assessed): only whether the cap is exhausted matters
    assert room(request, Decimal("100000.00"), 5, None) is None
    assert room(request, Decimal("200000.00"), 10, None) == ZERO


def test_once_per_organisation_and_per_year_caps():
    pack, rule = rule_of(SHANXI, "hvp_cultivation_center")
    (once,) = cap_requests(pack, rule, USCC, TODAY)
    assert (once.max_items, once.cap_cny) == (1, None)
    assert room(once, ZERO, 0, Decimal("300000.00")) == Decimal("300000.00")
    assert room(once, Decimal("300000.00"), 1, Decimal("1.00")) == ZERO
    used = cap_line(once, committed_before=Decimal("300000.00"), items_before=1,
                    asked=Decimal("1.00"), granted=ZERO)
    assert used["passed"] is False and "1 time" in used["detail"]
    yearly = rule.model_copy(update={"caps": packs.Caps(per_org_per_year_cny=Decimal("50000"),
                                                        per_org_cny=Decimal("80000"))})
    requests = cap_requests(pack, yearly, USCC, date(2026, 3, 1))
    assert [(r.code, r.key.rsplit("|", 1)[1]) for r in requests] == [
        ("cap.per_org_per_year", "2026"), ("cap.per_org", "all")]
    assert [r.key for r in requests] == sorted(r.key for r in requests)  # lock order
