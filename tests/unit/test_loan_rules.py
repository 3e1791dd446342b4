"""Loan rules as plain functions: pledge eligibility, the pledge cap, the green channel, months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.financing.loans import rules
from services.financing.loans.packs import pack_on

USCC_A = "91140200MA0K2B3C4D"
USCC_B = "91140200MA0K2B3C5B"
ON = date(2026, 6, 1)


@pytest.fixture(scope="module")
def pack():
    return pack_on(ON)


def patent(**overrides) -> rules.PatentView:
    base = dict(application_no="202310123456.7", kind="invention", status="granted",
                in_force=True, suspended=False, registry_pledged=False,
                owners=((USCC_A, "甲公司"),))
    return rules.PatentView(**{**base, **overrides})


def failed(checks) -> set[str]:
    return {c.rule for c in checks if not c.passed}


def checks(pack, p, applicant=USCC_A, *, pledged=False, consents=()):
    return rules.patent_checks(p, p.application_no if p else "202310123456.7", applicant, pack,
                               actively_pledged=pledged, consented_owner_keys=set(consents))


def test_a_sole_owners_granted_invention_passes(pack):
    assert failed(checks(pack, patent())) == set()


@pytest.mark.parametrize(("overrides", "rule"), [
    ({"owners": ((USCC_B, "乙公司"),)}, "patent.owned_by_applicant"),
    ({"status": "pending", "in_force": False}, "patent.granted_in_force"),
    ({"status": "granted", "in_force": False}, "patent.granted_in_force"),
    ({"status": "lapsed", "in_force": False}, "patent.granted_in_force"),
    ({"kind": "design"}, "patent.kind_pledgeable"),
    ({"suspended": True}, "patent.not_suspended"),
    ({"registry_pledged": True}, "patent.not_pledged"),
])
def test_each_rule_fails_alone(pack, overrides, rule):
    assert failed(checks(pack, patent(**overrides))) == {rule}


def test_utility_models_and_pct_entries_are_pledgeable(pack):
    for kind in ("utility_model", "pct_invention", "pct_utility_model"):
        assert failed(checks(pack, patent(kind=kind))) == set()


def test_an_active_financing_pledge_is_a_conflict(pack):
    result = checks(pack, patent(), pledged=True)
    [bad] = [c for c in result if not c.passed]
    assert bad.rule == "patent.not_pledged" and bad.conflict
    assert bad.figures["financing_pledge_active"] is True


def test_unknown_patent(pack):
    assert failed(checks(pack, None)) == {"patent.known"}


def test_co_owned_patent_needs_every_other_owners_consent(pack):
    co = patent(owners=((USCC_A, "甲公司"), (USCC_B, "乙公司"), (None, "张三")))
    result = checks(pack, co)
    [bad] = [c for c in result if not c.passed]
    assert bad.rule == "patent.co_owners_consented"
    assert bad.figures["missing_consents"] == [USCC_B, "张三"]
    assert failed(checks(pack, co, consents=[USCC_B])) == {"patent.co_owners_consented"}
    assert failed(checks(pack, co, consents=[USCC_B, "张三"])) == set()
    # The applicant's own consent is not needed; another owner's consent alone is not enough.
    assert failed(checks(pack, co, consents=[USCC_A, "张三"])) == {"patent.co_owners_consented"}


# --- the cap ------------------------------------------------------------------------------------

def valuation(value: str, valid_until: date | None = None) -> dict:
    return {"valuation_id": "v1", "value_cny": Decimal(value), "method": "income",
            "valued_on": date(2026, 1, 5), "valid_until": valid_until}


def test_rules_worked_example_800_wan_at_40_percent_is_320_wan(pack):
    cap = rules.pledge_cap(pack, "ANYBANK", [
        rules.PledgedValue("202310123456.7", "invention", valuation("8000000.00"))], ON)
    assert cap.cap_cny == Decimal("3200000.00")
    assert cap.missing == []
    assert cap.basis["patents"][0]["pledge_rate"] == "0.4"
    assert cap.basis["patents"][0]["rate_source"] == "default.invention"
    assert rules.cap_check(cap, Decimal("3200000.00")).passed
    over = rules.cap_check(cap, Decimal("3200000.01"))
    assert not over.passed and over.rule == "amount.within_pledge_cap"
    assert over.figures == {"approved_amount_cny": "3200000.01", "cap_cny": "3200000.00",
                            "missing_valuations": []}


def test_cap_sums_patents_and_rounds_down_once(pack):
    cap = rules.pledge_cap(pack, "ANYBANK", [
        rules.PledgedValue("a", "invention", valuation("1000.01")),
        rules.PledgedValue("b", "pct_utility_model", valuation("1000.01"))], ON)
    # 0.4 × 1000.01 = 400.004 twice → 800.008 → 800.00 (down, never above the exact product)
    assert cap.cap_cny == Decimal("800.00")


def test_missing_or_expired_valuation_refuses_naming_the_patent(pack):
    cap = rules.pledge_cap(pack, "ANYBANK", [
        rules.PledgedValue("a", "invention", valuation("100.00")),
        rules.PledgedValue("b", "invention", None),
        rules.PledgedValue("c", "invention", valuation("100.00", valid_until=date(2026, 5, 31)))],
        ON)
    assert cap.missing == ["b", "c"]
    check = rules.cap_check(cap, Decimal("1.00"))
    assert not check.passed and check.rule == "valuation.present"
    assert "b, c" in check.message


def test_a_bank_rate_overrides_the_default(pack):
    data = pack.data.model_copy(deep=True)
    data.pledge_rates.banks["B1"] = {"invention": Decimal("0.25")}
    custom = pack.model_copy(update={"data": data})
    cap = rules.pledge_cap(custom, "B1", [rules.PledgedValue("a", "invention",
                                                            valuation("8000000"))], ON)
    assert cap.cap_cny == Decimal("2000000.00")
    assert cap.basis["patents"][0]["rate_source"] == "banks.B1.invention"
    other = rules.pledge_cap(custom, "B2", [rules.PledgedValue("a", "invention",
                                                              valuation("8000000"))], ON)
    assert other.cap_cny == Decimal("3200000.00")


@given(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2),
                min_size=1, max_size=6))
def test_cap_never_exceeds_the_exact_sum(values):
    pack = pack_on(ON)
    cap = rules.pledge_cap(pack, "X", [rules.PledgedValue(str(i), "invention", valuation(str(v)))
                                       for i, v in enumerate(values)], ON)
    exact = sum(v * Decimal("0.40") for v in values)
    assert cap.cap_cny <= exact < cap.cap_cny + Decimal("0.01")


# --- green channel, quota figures, months ---------------------------------------------------

def test_green_channel_deadline_for_a_listed_applicant(pack):
    days = pack.data.green_channel.decision_days
    deadline, basis = rules.green_channel(pack, listed=True, applied_on=date(2026, 12, 28),
                                          entry={"listed": True, "revision": 3,
                                                 "tier": {"code": "pool"}})
    assert deadline == date.fromordinal(date(2026, 12, 28).toordinal() + days)
    assert basis["passed"] and basis["verified"] is False
    assert basis["figures"]["decision_days"] == days and basis["figures"]["tier"] == "pool"
    none, basis = rules.green_channel(pack, listed=False, applied_on=ON, entry=None)
    assert none is None and basis["passed"] is False
    assert rules.decided_late(date(2026, 1, 10), date(2026, 1, 10)) is False
    assert rules.decided_late(date(2026, 1, 10), date(2026, 1, 11)) is True
    assert rules.decided_late(None, date(2026, 1, 11)) is None


def test_quota_figures():
    assert rules.quota_figures(Decimal("1000"), Decimal("400"), Decimal("700")) == {
        "quota_cny": "1000.00", "used_cny": "400.00", "remaining_cny": "600.00",
        "requested_cny": "700.00"}


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 3, 10), 12, date(2025, 3, 10)),
    (date(2024, 11, 30), 3, date(2025, 2, 28)),
    (date(2024, 2, 29), 36, date(2027, 2, 28)),
])
def test_add_months(start, months, end):
    assert rules.add_months(start, months) == end
