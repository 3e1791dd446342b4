"""Whitelist rules as a pure function of facts and the pack in force (no database, no broker)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.financing.loans.packs import pack_on as loan_pack_on
from services.financing.whitelist import packs
from services.financing.whitelist.rules import Facts, PatentView, patent_failures
from services.financing.whitelist.rules import evaluate as _evaluate
from shared.policy import PolicyPackError, load_pack

TODAY = date(2026, 11, 23)
USCC = "91140200MA0TEST001"
PACK = packs.pack_on(TODAY)
LOANS = loan_pack_on(TODAY)


def evaluate(f, pack, today):
    return _evaluate(f, pack, today, LOANS)


def patent(**overrides) -> PatentView:
    base = dict(application_no="202110000001.2", patent_no="ZL202110000001.2", kind="invention",
                title="一种材料", status="granted", in_force=True,
                term_ends_on=date(2041, 1, 1), suspended=False, registry_pledged=False,
                financing_pledged=False, high_value=False,
                owners=[{"uscc": USCC, "name": "甲", "share": "100"}])
    return PatentView(**{**base, **overrides})


def facts(**overrides) -> Facts:
    base = dict(uscc=USCC, enterprise={"uscc": USCC, "name": "甲", "size_class": "small"},
                patents=[patent()])
    return Facts(**{**base, **overrides})


def qualification(kind: str, **overrides) -> dict:
    return {"qualification_id": f"q-{kind}", "kind": kind, "status": "active",
            "valid_from": TODAY - timedelta(days=1), "valid_to": TODAY + timedelta(days=1),
            "certificate_no": "C1", **overrides}


def test_a_small_enterprise_with_a_clean_invention_is_listed_in_the_catch_all_tier():
    decision = evaluate(facts(), PACK, TODAY)
    assert decision.listed and decision.tier["code"] == "eligible"
    assert [p["application_no"] for p in decision.pledgeable] == ["202110000001.2"]
    assert all(r["passed"] for r in decision.basis["rules"])


@pytest.mark.parametrize("size_class", ["large", None])
def test_only_smes_are_listed(size_class):
    decision = evaluate(facts(enterprise={"uscc": USCC, "name": "甲", "size_class": size_class}),
                        PACK, TODAY)
    assert not decision.listed and decision.basis["failed"] == ["size.sme"]
    assert decision.pledgeable == [] and decision.tier is None


def test_an_unknown_enterprise_fails_known_and_size():
    decision = evaluate(facts(enterprise=None), PACK, TODAY)
    assert decision.basis["failed"] == ["enterprise.known", "size.sme"]


@pytest.mark.parametrize("overrides, rule", [
    ({"kind": "design"}, "patent.kind_pledgeable"),
    ({"status": "pending", "in_force": False}, "patent.granted_in_force"),
    ({"status": "lapsed", "in_force": False}, "patent.granted_in_force"),
    ({"term_ends_on": TODAY - timedelta(days=1)}, "patent.granted_in_force"),
    ({"suspended": True}, "patent.not_suspended"),
    ({"registry_pledged": True}, "patent.not_pledged"),
    ({"financing_pledged": True}, "patent.not_pledged"),
])
def test_each_patent_rule_excludes_the_patent(overrides, rule):
    assert patent_failures(USCC, patent(**overrides), LOANS, TODAY) == [rule]
    decision = evaluate(facts(patents=[patent(**overrides)]), PACK, TODAY)
    assert decision.basis["failed"] == ["patents.pledgeable"]
    excluded = decision.basis["rules"][2]["figures"]["excluded"]
    assert excluded == [{"application_no": "202110000001.2", "failed": [rule]}]


def test_co_owned_patents_need_every_other_owners_consent_given_to_this_enterprise():
    owners = [{"uscc": USCC, "name": "甲", "share": "50"},
              {"uscc": "91110108MA0OTHER02", "name": "乙", "share": "40"},
              {"uscc": None, "name": "张三", "share": "10"}]
    shared = patent(owners=owners)
    assert patent_failures(USCC, shared, LOANS, TODAY) == ["patent.co_owners_consented"]
    partial = replace(shared, consented=frozenset({"91110108MA0OTHER02"}))
    assert patent_failures(USCC, partial, LOANS, TODAY) == ["patent.co_owners_consented"]
    full = replace(shared, consented=frozenset({"91110108MA0OTHER02", "张三"}))
    assert patent_failures(USCC, full, LOANS, TODAY) == []
    decision = evaluate(facts(patents=[full]), PACK, TODAY)
    assert decision.listed and decision.pledgeable[0]["co_owned"] is True


def test_tiers_follow_the_pack_priority_and_only_valid_qualifications_count():
    q = [qualification("high_tech"), qualification("zjtx_sme"),
         qualification("quality_private", valid_to=TODAY - timedelta(days=1)),  # expired
         qualification("little_giant", status="revoked")]
    decision = evaluate(facts(qualifications=q), PACK, TODAY)
    assert decision.tier["code"] == "little_giant_or_srdi"
    assert decision.tier["evidence"]["kind"] == "zjtx_sme"
    pooled = evaluate(facts(qualifications=q, pool={"status": "admitted",
                                                    "admitted_on": TODAY}), PACK, TODAY)
    assert pooled.tier["code"] == "cultivation_pool" and pooled.tier["rank"] == 1
    graduated = evaluate(facts(pool={"status": "graduated", "admitted_on": TODAY}), PACK, TODAY)
    assert graduated.tier["code"] == "eligible"
    future = evaluate(facts(qualifications=[qualification(
        "high_tech", valid_from=TODAY + timedelta(days=1))]), PACK, TODAY)
    assert future.tier["code"] == "eligible"


def test_only_active_blocking_flags_remove():
    active = {"flag_id": "f1", "kind": "tax_evasion", "status": "active", "reference": "R1"}
    assert not evaluate(facts(credit_flags=[active]), PACK, TODAY).listed
    cleared = {**active, "status": "cleared"}
    assert evaluate(facts(credit_flags=[cleared]), PACK, TODAY).listed


@given(size=st.sampled_from(["large", "medium", "small", "micro", None]),
       flags=st.lists(st.sampled_from(["tax_evasion", "data_fraud", "serious_dishonesty"]),
                      max_size=2),
       patent_states=st.lists(st.fixed_dictionaries({
           "kind": st.sampled_from(["invention", "utility_model", "design"]),
           "in_force": st.booleans(), "suspended": st.booleans(),
           "registry_pledged": st.booleans()}), max_size=4),
       quals=st.lists(st.sampled_from(["high_tech", "zjtx_sme", "quality_private",
                                       "little_giant"]), max_size=3, unique=True))
def test_listed_exactly_when_every_rule_passes(size, flags, patent_states, quals):
    ps = [patent(application_no=f"20211000000{i}.X", status="granted" if s["in_force"]
                 else "lapsed", **s) for i, s in enumerate(patent_states)]
    f = facts(enterprise={"uscc": USCC, "name": "甲", "size_class": size}, patents=ps,
              credit_flags=[{"flag_id": k, "kind": k, "status": "active"} for k in flags],
              qualifications=[qualification(k) for k in quals])
    decision = evaluate(f, PACK, TODAY)
    assert decision.listed == all(r["passed"] for r in decision.basis["rules"])
    sme = size in ("medium", "small", "micro") or (
        size is None and bool({"zjtx_sme", "little_giant"} & set(quals)))
    assert decision.listed == (sme and not flags
                               and any(patent_failures(USCC, p, LOANS, TODAY) == [] for p in ps))
    if decision.listed:
        ranks = [t.rank for t in PACK.data.tiers
                 if set(t.qualifications) & set(quals) or t.catch_all]
        assert decision.tier["rank"] == min(ranks)
    else:
        assert decision.tier is None and decision.pledgeable == []


def _pack_text() -> str:
    return (packs.PACK_DIR / "whitelist-2024.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("rank: 5", "rank: 2"), "strictly increasing rank"),
    (lambda t: t.replace("      qualifications: [high_tech]\n", ""), "catch-all"),
    (lambda t: t.replace("  min_pledgeable_patents: 1", "  min_pledgeable_patents: 0"),
     "min_pledgeable_patents"),
    (lambda t: t.replace("verified: false\n", ""), "verified"),
])
def test_a_broken_pack_is_refused_naming_the_file_and_field(tmp_path: Path, mutate, message):
    path = tmp_path / "whitelist-2024.yaml"
    path.write_text(mutate(_pack_text()), encoding="utf-8")
    with pytest.raises(PolicyPackError, match=rf"whitelist-2024\.yaml: .*{message}"):
        load_pack(path, packs.WhitelistRules)


def test_without_figures_an_smes_only_qualification_proves_sme_status():
    unknown = {"uscc": USCC, "name": "甲", "size_class": None}
    assert evaluate(facts(enterprise=unknown), PACK, TODAY).basis["failed"] == ["size.sme"]
    decision = evaluate(facts(enterprise=unknown, qualifications=[qualification("zjtx_sme")]),
                        PACK, TODAY)
    assert decision.listed
    size = decision.basis["rules"][1]
    assert size["figures"]["sme_evidence"]["kind"] == "zjtx_sme"
    assert "工信部企业〔2022〕63号" in size["clause"]["document"]
    # high-tech status says nothing about size; an explicit "large" is not overridden
    assert not evaluate(facts(enterprise=unknown, qualifications=[qualification("high_tech")]),
                        PACK, TODAY).listed
    large = {**unknown, "size_class": "large"}
    assert not evaluate(facts(enterprise=large, qualifications=[qualification("zjtx_sme")]),
                        PACK, TODAY).listed
