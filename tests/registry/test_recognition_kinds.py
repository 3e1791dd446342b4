"""Recognitions of the IP office that rewards rules are triggered by (issue 6): a high-value
patent cultivation centre, an industrial IP operation centre, an accepted high-value patent
cultivation project. The registry records them as qualifications granted by market_regulation
and announces them as ``qualification.granted`` (SQLite and PostgreSQL, real broker)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.registry.qualifications import service as qualification_service
from services.registry.qualifications.rules import QualificationKind
from shared.events.catalogue import validate_payload
from tests.factories import enterprise_body
from tests.harness import auth
from tests.kafka_utils import header, read_topic

TODAY = date(2026, 11, 23)

#: Kind → (default level, other allowed levels, name, default issuing body, cited policy file).
RECOGNITIONS = {
    "hvp_cultivation_center": ("provincial", [], "高价值专利培育中心", "省级知识产权管理部门",
                               "shanxi-2025-ip-for-private-economy.txt"),
    "ip_operation_center": ("national", ["provincial"], "产业知识产权运营中心", "国家知识产权局",
                            "shanxi-2025-ip-for-private-economy.txt"),
    "hvp_cultivation_project": ("municipal", ["provincial"], "高价值专利培育项目（通过验收）",
                                "市级知识产权管理部门", "daye-2023-high-value-invention-patents.txt"),
}


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(qualification_service, "today_cn", lambda: TODAY)
    return TODAY


def test_both_packs_define_the_recognitions_without_inventing_a_validity():
    packs = qualification_service.load_packs()
    assert [p.id for p in packs.packs] == ["qualifications-2022", "qualifications-2026"]
    for pack in packs.packs:
        for kind, (level, others, name_zh, body, file) in RECOGNITIONS.items():
            rule = pack.data.kinds[QualificationKind(kind)]
            assert (rule.issuing_department, rule.default_level.value, rule.name_zh) == (
                "market_regulation", level, name_zh), (pack.id, kind)
            assert sorted(lv.value for lv in rule.levels) == sorted([level, *others])
            assert rule.default_issuing_body[rule.default_level] == body
            # No source gives a validity period: nothing is made up, valid_to comes with a grant.
            assert rule.validity_years is None and rule.verified is False
            assert [(s.file, s.confidence) for s in rule.sources] == [(file, "C")]
            assert all(s.clause and s.text for s in rule.sources)


async def test_granted_by_the_ip_office_and_announced(registry_app, broker):
    registry = registry_app.state.client
    body = enterprise_body()
    assert (await registry.post("/v1/enterprises", json=body,
                                headers=auth())).status_code == 201, body
    uscc = body["uscc"]

    granted = {}
    for kind, (level, _, name_zh, issuing_body, _) in RECOGNITIONS.items():
        grant = {"kind": kind, "certificate_no": f"R-{kind}", "valid_from": "2026-06-01"}
        resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json=grant,
                                   headers=auth("market_regulation"))
        # No validity in the pack: the date on the approval notice is needed.
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
            ("valid_to", "valid_to.required_without_pack_default")]
        resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications",
                                   json=grant | {"valid_to": "2029-05-31"},
                                   headers=auth("market_regulation"))
        assert resp.status_code == 201, resp.text
        q = resp.json()
        assert (q["kind"], q["kind_name_zh"], q["level"], q["issuing_department"],
                q["issuing_body"], q["valid_to"], q["status"]) == (
            kind, name_zh, level, "market_regulation", issuing_body, "2029-05-31", "active")
        assert q["basis"]["validity"]["source"] == "request"
        assert q["basis"]["sources"][0]["clause"]
        granted[kind] = q

    # A provincial operation centre is allowed (the Shanxi reward is only for a national one);
    # a national cultivation centre is not a level the pack knows.
    resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
        "kind": "ip_operation_center", "certificate_no": "R-OPS-P", "level": "provincial",
        "valid_from": "2026-06-01", "valid_to": "2029-05-31"}, headers=auth("market_regulation"))
    assert resp.status_code == 201 and resp.json()["issuing_body"] == "省级知识产权管理部门"
    resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
        "kind": "hvp_cultivation_center", "certificate_no": "R-HVP-N", "level": "national",
        "valid_from": "2026-06-01", "valid_to": "2029-05-31"}, headers=auth("market_regulation"))
    assert resp.status_code == 422, resp.text
    assert [(e["field"], e["rule"]) for e in resp.json()["errors"]] == [
        ("level", "level.allowed_for_kind")]

    def enough(records):
        return len([r for r in records if r.key == uscc.encode()
                    and header(r, "ce_type") == "qualification.granted"]) >= 4

    records = await read_topic(broker.bootstrap, "registry.enterprise.v1", until=enough)
    payloads = [json.loads(r.value) for r in records
                if r.key == uscc.encode() and header(r, "ce_type") == "qualification.granted"]
    assert sorted((p["kind"], p["level"]) for p in payloads) == [
        ("hvp_cultivation_center", "provincial"), ("hvp_cultivation_project", "municipal"),
        ("ip_operation_center", "national"), ("ip_operation_center", "provincial")]
    for payload in payloads:
        validate_payload("qualification.granted", payload)
        assert payload["issuing_department"] == "market_regulation"
    center = next(p for p in payloads if p["kind"] == "hvp_cultivation_center")
    assert (center["qualification_id"], center["kind_name_zh"], center["valid_to"],
            center["policy_pack"]) == (granted["hvp_cultivation_center"]["id"], "高价值专利培育中心",
                                       "2029-05-31", "qualifications-2026@v1")


async def test_only_the_ip_office_grants_them(registry):
    body = enterprise_body()
    assert (await registry.post("/v1/enterprises", json=body,
                                headers=auth())).status_code == 201
    uscc = body["uscc"]
    for department in ("miit", "science_tech", "private_economy"):
        for kind in RECOGNITIONS:
            resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
                "kind": kind, "certificate_no": "X-1", "valid_from": "2026-06-01",
                "valid_to": "2029-05-31"}, headers=auth(department))
            assert resp.status_code == 403, (department, kind, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            problem = resp.json()
            assert problem["type"] == "urn:ipbridge:problem:not-issuing-department"
            assert problem["allowed_department"] == "market_regulation"
            assert "market_regulation" in problem["detail"], problem
    listed = await registry.get(f"/v1/enterprises/{uscc}/qualifications", headers=auth())
    assert listed.json()["items"] == []
