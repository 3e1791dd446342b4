"""Rewards policy packs as data (services/rewards/policies/packs.py): the four packs load and
validate; which rules apply where and when; a bad pack is refused at load, naming the file and
the field, so the service never starts on it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from services.rewards.policies import packs
from services.rewards.policies.packs import RewardPackData, RewardRule
from shared.policy import PolicyPackError

PACK_FILES = sorted(packs.PACK_DIR.glob("*.yaml"))


def rule_dict(**overrides) -> dict:
    base = {"code": "demo", "name_zh": "示例", "name_en": "demo",
            "trigger": {"event": "product.recognized"},
            "amount": {"kind": "fixed", "cny": "1000.00"}, "fund": "demo-fund",
            "department": "market_regulation", "verified": True,
            "source": {"document": "示例文件", "clause": "一"}}
    return {**base, **overrides}


def error_of(**overrides) -> str:
    with pytest.raises(ValidationError) as caught:
        RewardRule.model_validate(rule_dict(**overrides))
    return str(caught.value)


def test_the_four_packs_load_with_their_rules():
    loaded = packs.load()
    assert sorted(lp.pack.ref for lp in loaded) == [
        "rewards-datong-2023@v1", "rewards-daye-2023@v1", "rewards-national-2024@v1",
        "rewards-shanxi-2025@v1"]
    shanxi = next(lp.pack for lp in loaded if lp.pack.id == "rewards-shanxi-2025")
    assert {r.code: (r.amount.kind, r.amount.cny) for r in shanxi.data.rules} == {
        "hvp_cultivation_center": ("up_to", 300000), "ip_operation_center": ("fixed", 1000000),
        "patent_intensive_product": ("fixed", 20000), "gi_trademark": ("fixed", 30000),
        "open_license_conversion": ("assessed", None)}
    assert all(len(lp.sha256) == 64 for lp in loaded)
    # every rule names a fund, a deciding department and its clause
    for lp in loaded:
        for rule in lp.pack.data.rules:
            assert rule.fund and rule.department and rule.source.clause


@pytest.mark.parametrize("region, expected", [
    ("140200", ["rewards-national-2024", "rewards-shanxi-2025", "rewards-datong-2023"]),
    ("140100", ["rewards-national-2024", "rewards-shanxi-2025"]),
    ("420281", ["rewards-national-2024", "rewards-daye-2023"]),
    ("440300", ["rewards-national-2024"]),
    (None, ["rewards-national-2024"]),
])
def test_the_rules_that_apply_national_first_then_narrower(region, expected):
    found = packs.applicable(date(2026, 6, 1), region)
    assert list(dict.fromkeys(p.id for p, _ in found)) == expected


def test_rules_by_trigger_and_date():
    on = date(2026, 6, 1)
    assert [r.code for _, r in packs.applicable(on, "140200", "product.recognized")] == [
        "patent_intensive_product"]
    assert [r.code for _, r in packs.applicable(on, "420281", "qualification.granted")] == [
        "hvp_cultivation_project"]
    # before the Shanxi plan was issued only Datong and the national plan applied
    assert {p.id for p, _ in packs.applicable(date(2025, 12, 7), "140200")} == {
        "rewards-national-2024", "rewards-datong-2023"}
    assert packs.covers("14", "140200") and not packs.covers("1402", "140100")
    assert packs.covers("national", None) and not packs.covers("14", None)


def test_find_and_describe():
    pack, rule = packs.find("rewards-shanxi-2025@v1", "gi_trademark")
    assert rule.amount.cny == 30000 and packs.find("rewards-shanxi-2025@v9", "gi_trademark") \
        is None
    described = packs.describe(pack)
    assert (described["ref"], described["jurisdiction"], described["effective_to"]) == (
        "rewards-shanxi-2025@v1", "14", None)
    assert described["sources"][0]["pack"] == "rewards-shanxi-2025@v1"
    assert {r["code"] for r in described["rules"]} >= {"gi_trademark"}


@pytest.mark.parametrize("overrides, words", [
    ({"amount": {"kind": "fixed"}}, "amount kind fixed needs cny"),
    ({"amount": {"kind": "rate", "rate": "0.1"}}, "needs base"),
    ({"amount": {"kind": "rate", "rate": "0.1", "base": "enterprise.revenue"}},
     "amount.base must be an item.* path"),
    ({"amount": {"kind": "fixed", "cny": "5000.00"}, "caps": {"per_item_cny": "1000.00"}},
     "above caps.per_item_cny"),
    ({"trigger": {"event": "manual"}}, "a manual rule must list the evidence"),
    ({"trigger": {"event": "product.launched"}}, "trigger.event"),
    ({"department": "tax_bureau"}, "unknown department"),
    ({"eligibility": [{"code": "x", "fact": "weather.sunny", "op": "eq", "value": True,
                       "label_zh": "晴", "label_en": "sunny"}]}, "must start with one of"),
    ({"eligibility": [{"code": "x", "fact": "enterprise.region_code", "op": "in",
                       "value": "14", "label_zh": "省", "label_en": "province"}]},
     "op in needs a list value"),
    ({"trigger": {"event": "product.recognized", "when": [
        {"code": "x", "fact": "enterprise.ownership", "op": "eq", "value": "private",
         "label_zh": "民营", "label_en": "private"}]}}, "trigger.when may test item.* facts"),
    ({"valid_from": "2026-01-01", "valid_to": "2025-01-01"}, "valid_to is before valid_from"),
    ({"fund": "Shanxi Fund"}, "fund"),
    ({"amount": {"kind": "fixed", "cny": "1000.001"}}, "decimal"),
    ({"surprise": 1}, "surprise"),
])
def test_a_bad_rule_is_refused_naming_what_is_wrong(overrides, words):
    assert words in error_of(**overrides)


def test_duplicate_rule_codes_are_refused():
    governance = yaml.safe_load(PACK_FILES[0].read_text())["data"]["governance"]
    with pytest.raises(ValidationError, match="duplicate rule codes: demo"):
        RewardPackData.model_validate({"governance": governance,
                                       "rules": [rule_dict(), rule_dict()]})


def _write_packs(directory: Path, edit=None) -> None:
    for f in PACK_FILES:
        raw = yaml.safe_load(f.read_text())
        if edit is not None:
            raw = edit(f.name, raw)
        (directory / f.name).write_text(yaml.safe_dump(raw, allow_unicode=True))


def test_a_bad_pack_file_stops_the_load_naming_the_file_and_field(tmp_path):
    def break_shanxi(name, raw):
        if name == "shanxi-2025.yaml":
            raw["data"]["rules"][2]["amount"] = {"kind": "fixed"}
        return raw
    _write_packs(tmp_path, break_shanxi)
    try:
        with pytest.raises(PolicyPackError, match=r"shanxi-2025\.yaml: data\.rules\.2\.amount"):
            packs.load(tmp_path)
    finally:
        packs.load()  # the cache holds the real packs again


def test_two_versions_in_force_at_once_or_twice_the_same_version_are_refused(tmp_path):
    _write_packs(tmp_path)
    raw = yaml.safe_load((tmp_path / "daye-2023.yaml").read_text())
    (tmp_path / "daye-2026.yaml").write_text(yaml.safe_dump({**raw, "version": 2,
                                                             "effective_from": "2026-01-01"},
                                                            allow_unicode=True))
    try:
        with pytest.raises(PolicyPackError, match="both in force on 2026-01-01"):
            packs.load(tmp_path)
        (tmp_path / "daye-2026.yaml").write_text(yaml.safe_dump(
            {**raw, "effective_from": "2030-01-01"}, allow_unicode=True))
        (tmp_path / "daye-2023.yaml").write_text(yaml.safe_dump(
            {**raw, "effective_to": "2029-12-31"}, allow_unicode=True))
        with pytest.raises(PolicyPackError, match="same id and version"):
            packs.load(tmp_path)
        # a new version that follows the old one is fine, and applies from its date
        (tmp_path / "daye-2026.yaml").write_text(yaml.safe_dump(
            {**raw, "version": 2, "effective_from": "2030-01-01"}, allow_unicode=True))
        packs.load(tmp_path)
        assert {p.ref for p, _ in packs.applicable(date(2030, 6, 1), "420281")} == {
            "rewards-national-2024@v1", "rewards-daye-2023@v2"}
    finally:
        packs.load()


def test_an_empty_pack_directory_is_refused(tmp_path):
    try:
        with pytest.raises(PolicyPackError, match="no rewards policy pack"):
            packs.load(tmp_path)
    finally:
        packs.load()
