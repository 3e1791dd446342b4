"""Risk-compensation rules as plain functions (RULES.md §4.4): the packs load and validate, the
split follows the shares to the fen, caps apply in order and the binding one is named,
eligibility (jurisdiction, registered pledge, whitelist, mixed collateral)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.financing.compensation import packs, rules
from services.financing.compensation.rules import ClaimFacts, Split, decide, split_loss
from shared.policy import PackSet, PolicyPackError

WAN = Decimal(10_000)  # 1 万元 in yuan
MADE = date(2026, 3, 2)


def d(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def zhongshan():
    return packs.pack_on("compensation-zhongshan", MADE)


@pytest.fixture(scope="module")
def guangzhou():
    return packs.pack_on("compensation-guangzhou", MADE)


def facts(**overrides) -> ClaimFacts:
    base = dict(loan_id="L1", principal_cny=500 * WAN, principal_loss_cny=200 * WAN,
                ip_secured_cny=500 * WAN, registered_pledges=1, other_collateral_cny=d(0),
                tier_code=None, region_code="442000", fund_jurisdiction="442000",
                disbursed_on=MADE, fund_balance_cny=10_000 * WAN, payment_year=2026)
    return ClaimFacts(**{**base, **overrides})


def parts(decision) -> dict[str, Decimal]:
    return {p.party: p.amount_cny for p in decision.parts}


def cap(decision, name: str) -> dict:
    return next(c for c in decision.caps if c["cap"] == name)


# --- the packs ----------------------------------------------------------------------------------

def test_every_pack_loads_with_shares_summing_to_one_and_is_unverified():
    loaded = packs.packs().packs
    assert {p.id for p in loaded} >= {"compensation-zhongshan", "compensation-guangzhou"}
    for pack in loaded:
        assert sum(s.share for s in pack.data.split.shares) == 1
        assert pack.verified is False and pack.sources  # RULES §4.4 is [S]: not confirmed


def test_the_zhongshan_and_guangzhou_figures(zhongshan, guangzhou):
    assert [(s.party, s.share) for s in zhongshan.data.split.shares] == [
        ("fund", d("0.54")), ("bank", d("0.26")), ("insurer", d("0.16")),
        ("appraiser", d("0.04"))]
    assert zhongshan.jurisdiction == "442000"
    assert [(s.party, s.share) for s in guangzhou.data.split.shares] == [
        ("fund", d("0.5")), ("bank", d("0.5"))]
    assert guangzhou.data.caps.covered_principal_per_loan_cny == 1000 * WAN
    assert guangzhou.data.caps.covered_principal_per_borrower_year_cny == 2000 * WAN
    assert guangzhou.effective_to == date(2028, 1, 18)
    assert packs.pack_on("compensation-guangzhou", date(2028, 1, 19)) is None


def _write_pack(tmp_path: Path, shares: list[dict]) -> None:
    source = packs.PACK_DIR / "compensation-zhongshan-2025.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw["data"]["split"]["shares"] = shares
    (tmp_path / "compensation-test.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True),
                                                     encoding="utf-8")


@pytest.mark.parametrize(("shares", "error"), [
    ([{"party": "fund", "share": "0.54"}, {"party": "bank", "share": "0.45"}],
     "compensation.shares_sum"),
    ([{"party": "fund", "share": "0.6"}, {"party": "bank", "share": "0.5"}],
     "compensation.shares_sum"),
    ([{"party": "fund", "share": "0.5"}, {"party": "fund", "share": "0.5"}],
     "compensation.shares_party_twice"),
    ([{"party": "bank", "share": "1"}], "compensation.shares_no_fund"),
    ([{"party": "fund", "share": "0.5"}, {"party": "broker", "share": "0.5"}], "party"),
])
def test_a_bad_split_stops_the_load_naming_file_and_rule(tmp_path, shares, error):
    _write_pack(tmp_path, shares)
    with pytest.raises(PolicyPackError) as exc:
        PackSet.load(tmp_path, "compensation-*.yaml", rules.CompensationPackData)
    assert "compensation-test.yaml" in str(exc.value) and error in str(exc.value)


# --- the split ----------------------------------------------------------------------------------

def test_rules_example_loss_200_wan_splits_108_52_32_8(zhongshan):
    """RULES.md §4.4: Zhongshan split, synthetic loss 200 万元 → 108 / 52 / 32 / 8 万元."""
    decision = decide(zhongshan, facts(principal_loss_cny=200 * WAN))
    assert decision.eligible
    assert parts(decision) == {"fund": 108 * WAN, "bank": 52 * WAN, "insurer": 32 * WAN,
                               "appraiser": 8 * WAN}
    assert decision.fund_share_cny == decision.payable_cny == 108 * WAN
    assert decision.binding_cap is None
    basis = decision.basis()
    assert basis["pack"] == "compensation-zhongshan@v1"
    assert [(s["party"], s["share"], s["amount_cny"]) for s in basis["shares"]] == [
        ("fund", "0.54", "1080000.00"), ("bank", "0.26", "520000.00"),
        ("insurer", "0.16", "320000.00"), ("appraiser", "0.04", "80000.00")]
    assert {c["cap"] for c in basis["caps"]} == {
        "covered_principal_per_loan", "covered_principal_per_borrower_year",
        "compensation_per_loan", "compensation_per_borrower_year", "fund_balance"}
    assert all(r["clause"] and r["clause"][0]["pack"] == "compensation-zhongshan@v1"
               for r in basis["rules"])


def test_rounding_residue_goes_to_the_bank_and_the_fund_never_pays_over_its_share(zhongshan):
    split = zhongshan.data.split
    amounts = {p.party: p.amount_cny for p in split_loss(d("0.07"), split)}
    # 0.07 × (0.54, 0.26, 0.16, 0.04) = 0.0378, 0.0182, 0.0112, 0.0028 → floors 0.03, 0.01,
    # 0.01, 0.00; the 0.02 left goes to the bank.
    assert amounts == {"fund": d("0.03"), "bank": d("0.03"), "insurer": d("0.01"),
                       "appraiser": d("0.00")}


@given(loss=st.decimals(min_value=0, max_value=10**10, places=2),
       weights=st.lists(st.integers(1, 100), min_size=1, max_size=5))
def test_parts_sum_to_the_loss_and_each_is_within_a_fen_of_its_share(loss, weights):
    parties = ["fund", "bank", "guarantor", "insurer", "appraiser"][:len(weights)]
    total = sum(weights)
    shares = [Decimal(w) / Decimal(total) for w in weights]
    shares[-1] = 1 - sum(shares[:-1], Decimal(0))  # exact sum to 1
    split = Split(shares=[{"party": p, "share": s} for p, s in zip(parties, shares)],
                  verified=False, sources=[{"document": "t", "clause": "t"}])
    result = split_loss(loss, split)
    assert sum(p.amount_cny for p in result) == loss
    fund = result[0]
    assert fund.amount_cny <= loss * fund.share < fund.amount_cny + d("0.01")
    for p in result:
        assert p.amount_cny >= 0


# --- caps ---------------------------------------------------------------------------------------

def test_the_fund_balance_caps_the_payment_and_is_named(zhongshan):
    decision = decide(zhongshan, facts(fund_balance_cny=50 * WAN))
    assert decision.claimable_cny == 108 * WAN and decision.payable_cny == 50 * WAN
    assert decision.binding_cap == "fund_balance"
    line = cap(decision, "fund_balance")
    assert line["bound"] and line["before_cny"] == "1080000.00"
    assert line["after_cny"] == "500000.00"
    empty = decide(zhongshan, facts(fund_balance_cny=d(0)))
    assert empty.payable_cny == 0 and empty.binding_cap == "fund_balance"


def test_guangzhou_covers_a_loan_up_to_1000_wan_pro_rata(guangzhou):
    decision = decide(guangzhou, facts(principal_cny=1500 * WAN, ip_secured_cny=1500 * WAN,
                                       principal_loss_cny=600 * WAN, region_code="440106",
                                       fund_jurisdiction="440100"))
    assert decision.covered_principal_cny == 1000 * WAN
    assert decision.covered_loss_cny == 400 * WAN  # 600 × 1000 / 1500
    assert parts(decision) == {"fund": 200 * WAN, "bank": 200 * WAN}
    assert decision.payable_cny == 200 * WAN
    assert decision.binding_cap == "covered_principal_per_loan"
    assert cap(decision, "covered_principal_per_loan")["limit_cny"] == "10000000.00"


def test_guangzhou_yearly_room_is_used_by_the_borrowers_earlier_loans_in_order(guangzhou):
    # Earlier this year: 1,200 万 (counts 1,000 after the per-loan limit) and 600 万 → 1,600 used;
    # room left 400 万 of the 2,000 万 year; this loan of 800 万 is covered for 400 万 (half).
    decision = decide(guangzhou, facts(
        principal_cny=800 * WAN, ip_secured_cny=800 * WAN, principal_loss_cny=300 * WAN,
        region_code="440106", fund_jurisdiction="440100",
        earlier_principals_cny=(1200 * WAN, 600 * WAN)))
    assert decision.covered_principal_cny == 400 * WAN
    assert decision.covered_loss_cny == 150 * WAN
    assert decision.payable_cny == 75 * WAN
    line = cap(decision, "covered_principal_per_borrower_year")
    assert line["bound"] and line["figures"]["earlier_covered_cny"] == "16000000.00"
    assert decision.binding_cap == "covered_principal_per_borrower_year"
    full = decide(guangzhou, facts(
        principal_cny=800 * WAN, ip_secured_cny=800 * WAN, principal_loss_cny=300 * WAN,
        region_code="440106", fund_jurisdiction="440100",
        earlier_principals_cny=(1200 * WAN, 1000 * WAN)))
    assert full.covered_principal_cny == 0 and full.payable_cny == 0


def test_compensation_caps_per_loan_and_per_borrower_year(zhongshan):
    capped = zhongshan.model_copy(deep=True)
    capped.data.caps.compensation_per_loan_cny = 100 * WAN
    capped.data.caps.compensation_per_borrower_year_cny = 150 * WAN
    decision = decide(capped, facts())
    assert decision.fund_share_cny == 108 * WAN and decision.payable_cny == 100 * WAN
    assert decision.binding_cap == "compensation_per_loan"
    decision = decide(capped, facts(borrower_year_paid_cny=120 * WAN))
    assert decision.payable_cny == 30 * WAN
    assert decision.binding_cap == "compensation_per_borrower_year"
    assert [c["cap"] for c in decision.caps if c["bound"]] == [
        "compensation_per_loan", "compensation_per_borrower_year"]


# --- eligibility --------------------------------------------------------------------------------

def test_mixed_collateral_counts_only_the_ip_secured_part(zhongshan):
    # 300 万 secured by the patents, 200 万 by a property mortgage: 60 % of the loss counts.
    decision = decide(zhongshan, facts(ip_secured_cny=300 * WAN,
                                       other_collateral_cny=200 * WAN))
    assert decision.eligible and decision.eligible_loss_cny == 120 * WAN
    assert decision.fund_share_cny == d("648000.00")  # 120 万 × 54 %
    line = next(r for r in decision.rules if r["rule"].startswith("collateral."))
    assert line["rule"] == "collateral.ip_secured_part"
    assert line["figures"]["ip_fraction"] == "0.6"
    not_covered = zhongshan.model_copy(deep=True)
    not_covered.data.eligibility.mixed_collateral = "not_covered"
    refused = decide(not_covered, facts(other_collateral_cny=200 * WAN))
    assert not refused.eligible and [r["rule"] for r in refused.failed] == [
        "collateral.not_covered"]
    assert decide(not_covered, facts()).eligible  # a pure IP pledge still counts


def test_whitelist_at_application_when_the_pack_requires_it(zhongshan):
    required = zhongshan.model_copy(deep=True)
    required.data.eligibility.whitelisted_at_application = True
    refused = decide(required, facts(tier_code=None))
    assert [r["rule"] for r in refused.failed] == ["borrower.whitelisted_at_application"]
    assert refused.payable_cny == 0 and refused.parts == []
    assert decide(required, facts(tier_code="pool")).eligible
    assert decide(zhongshan, facts(tier_code=None)).eligible  # not required by the pack


def test_the_loan_must_be_in_the_funds_jurisdiction_and_ip_pledged(zhongshan):
    assert rules.jurisdiction_prefix("440000") == "44"
    assert rules.jurisdiction_prefix("440100") == "4401"
    assert rules.jurisdiction_prefix("442000") == "4420"
    outside = decide(zhongshan, facts(region_code="440106"))
    assert [r["rule"] for r in outside.failed] == ["loan.within_fund_jurisdiction"]
    unknown = decide(zhongshan, facts(region_code=None))
    assert not unknown.eligible
    provincial = decide(zhongshan, facts(region_code="442000", fund_jurisdiction="440000"))
    assert provincial.eligible
    unpledged = decide(zhongshan, facts(registered_pledges=0))
    assert [r["rule"] for r in unpledged.failed] == ["loan.ip_pledge_registered"]
