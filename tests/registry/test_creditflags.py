"""Registry credit flags: raised and cleared by the credit department, published as events,
visible on the enterprise (SQLite and PostgreSQL, real broker)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from services.registry.creditflags import service as creditflag_service
from services.registry.db import KERNEL
from shared.events.catalogue import validate_payload
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic

KINDS = {
    "serious_dishonesty": ("严重失信", "严重失信"),
    "tax_evasion": ("偷税漏税", "偷漏税"),
    "data_fraud": ("数据造假", "数据造假"),
    "abnormal_patent_application": ("非正常专利申请", "非正常申请专利"),
    "major_safety_accident": ("重大安全事故", "出现重大安全事故"),
}
CLAUSE = "四、样板培育（二）建立入库企业动态调整机制 3. 退出机制"


async def new_enterprise(client) -> str:
    body = enterprise_body()
    resp = await client.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    return body["uscc"]


def flag_body(uscc: str, **overrides) -> dict:
    return {"uscc": uscc, "kind": "tax_evasion", "source": "国家税务总局山西省税务局",
            "reference": "晋税稽罚〔2026〕15号", "flagged_on": "2026-10-09"} | overrides


async def raise_flag(client, body, department="credit"):
    return await client.post("/v1/credit-flags", json=body, headers=auth(department))


def problem_fields(resp) -> list[dict]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return [{"field": e["field"], "rule": e["rule"]} for e in resp.json().get("errors", [])]


async def outbox_events(app, event_type: str, key: str) -> list[dict]:
    outbox = KERNEL.outbox
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.event_type == event_type, outbox.c.message_key == key))).all()
    return [json.loads(r.payload) for r in rows]


async def record_of(broker, uscc: str, ce_type: str):
    records = await read_topic(broker.bootstrap, "registry.enterprise.v1", until=lambda rs: any(
        r.key == uscc.encode() and header(r, "ce_type") == ce_type for r in rs))
    matching = [r for r in records if r.key == uscc.encode() and header(r, "ce_type") == ce_type]
    assert len(matching) == 1, matching
    return matching[0]


async def test_raise_and_clear_are_events_and_show_on_the_enterprise(registry_app, broker):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    resp = await raise_flag(registry, flag_body(uscc.lower(), description="虚开发票"))
    assert resp.status_code == 201, resp.text
    flag = resp.json()
    assert resp.headers["location"] == f"/v1/credit-flags/{flag['id']}"
    assert (flag["uscc"], flag["kind"], flag["kind_name_zh"], flag["status"], flag["source"],
            flag["reference"], flag["flagged_on"], flag["description"]) == (
        uscc, "tax_evasion", "偷税漏税", "active", "国家税务总局山西省税务局",
        "晋税稽罚〔2026〕15号", "2026-10-09", "虚开发票")
    (consequence,) = flag["basis"]["consequences"]
    assert consequence["effect"] == "cultivation_pool_removal"
    assert consequence["clause"] == CLAUSE and consequence["ground"] == "偷漏税"
    assert consequence["file"] == "national-2024-patent-industrialisation-for-smes.txt"
    assert "偷漏税" in consequence["text"] and "退库" in consequence["text"]

    record = await record_of(broker, uscc, "creditflag.raised")
    assert header(record, "ce_subject") == uscc
    assert header(record, "ce_dataschema") == "urn:ipbridge:schema:creditflag.raised:v1"
    payload = json.loads(record.value)
    validate_payload("creditflag.raised", payload)
    assert (payload["flag_id"], payload["uscc"], payload["kind"], payload["source"],
            payload["reference"], payload["flagged_on"], payload["status"]) == (
        flag["id"], uscc, "tax_evasion", "国家税务总局山西省税务局", "晋税稽罚〔2026〕15号",
        "2026-10-09", "active")
    assert payload["consequences"][0]["clause"] == CLAUSE

    listed = await registry.get(f"/v1/enterprises/{uscc}/credit-flags", headers=auth("bank"))
    assert listed.status_code == 200 and listed.json()["items"] == [flag]
    async with app.state.sessionmaker() as session:  # what the enterprise record embeds
        assert [f["id"] for f in await creditflag_service.active_for(session, uscc)] == [flag["id"]]

    clearance = f"/v1/credit-flags/{flag['id']}/clearance"
    resp = await registry.post(clearance, json={"cleared_on": "2026-10-01", "reason": "信用修复"},
                               headers=auth("credit"))
    assert resp.status_code == 422 and problem_fields(resp) == [
        {"field": "cleared_on", "rule": "cleared_on.not_before_flagged_on"}]
    resp = await registry.post(clearance, json={}, headers=auth("credit"))
    assert resp.status_code == 422 and problem_fields(resp) == [{"field": "reason",
                                                                 "rule": "missing"}]
    reason = "已补缴税款及滞纳金，完成信用修复"
    resp = await registry.post(clearance, json={"reason": reason}, headers=auth("credit"))
    assert resp.status_code == 200, resp.text
    cleared = resp.json()
    assert (cleared["status"], cleared["clearance_reason"], cleared["revision"]) == (
        "cleared", reason, 2)
    assert cleared["cleared_on"] and cleared["cleared_by"] == "credit:dev"

    record = await record_of(broker, uscc, "creditflag.cleared")
    payload = json.loads(record.value)
    validate_payload("creditflag.cleared", payload)
    assert (payload["flag_id"], payload["status"], payload["reason"]) == (
        flag["id"], "cleared", reason)

    again = await registry.post(clearance, json={"reason": reason}, headers=auth("credit"))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:ipbridge:problem:credit-flag-not-active"
    assert len(await outbox_events(app, "creditflag.cleared", uscc)) == 1

    active = await registry.get(f"/v1/enterprises/{uscc}/credit-flags?status=active",
                                headers=auth())
    assert active.json()["items"] == []
    all_flags = await registry.get(f"/v1/enterprises/{uscc}/credit-flags", headers=auth())
    assert [f["status"] for f in all_flags.json()["items"]] == ["cleared"]
    async with app.state.sessionmaker() as session:
        assert await creditflag_service.active_for(session, uscc) == []


async def test_each_kind_cites_its_ground_for_pool_removal(registry_app):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    for kind, (name_zh, ground) in KINDS.items():
        resp = await raise_flag(registry, flag_body(uscc, kind=kind, reference=f"REF-{kind}"))
        assert resp.status_code == 201, resp.text
        flag = resp.json()
        assert flag["kind_name_zh"] == name_zh
        assert flag["basis"]["consequences"][0]["ground"] == ground
        assert ground in flag["basis"]["consequences"][0]["text"]
    events = await outbox_events(app, "creditflag.raised", uscc)
    assert sorted(e["kind"] for e in events) == sorted(KINDS)
    listed = await registry.get(f"/v1/enterprises/{uscc}/credit-flags?status=active",
                                headers=auth())
    assert len(listed.json()["items"]) == len(KINDS)


async def test_only_the_credit_department_raises_and_clears(registry):
    uscc = await new_enterprise(registry)
    for department in ("market_regulation", "miit", "bank", "enterprise"):
        resp = await raise_flag(registry, flag_body(uscc), department)
        assert resp.status_code == 403, (department, resp.text)
        assert resp.json()["type"] == "urn:ipbridge:problem:forbidden"
    assert (await registry.get(f"/v1/enterprises/{uscc}/credit-flags",
                               headers=auth())).json()["items"] == []
    flag = (await raise_flag(registry, flag_body(uscc))).json()
    resp = await registry.post(f"/v1/credit-flags/{flag['id']}/clearance",
                               json={"reason": "越权解除"}, headers=auth("market_regulation"))
    assert resp.status_code == 403
    assert resp.json()["required_departments"] == ["credit"]


async def test_an_enterprise_reads_its_own_flags_only(registry):
    own, other = await new_enterprise(registry), await new_enterprise(registry)
    mine = (await raise_flag(registry, flag_body(own))).json()
    theirs = (await raise_flag(registry, flag_body(other))).json()
    me = auth("enterprise", org=own)
    resp = await registry.get(f"/v1/enterprises/{own}/credit-flags", headers=me)
    assert resp.status_code == 200 and [f["id"] for f in resp.json()["items"]] == [mine["id"]]
    assert (await registry.get(f"/v1/credit-flags/{mine['id']}", headers=me)).status_code == 200
    resp = await registry.get(f"/v1/enterprises/{other}/credit-flags", headers=me)
    assert resp.status_code == 403 and resp.json()["type"] == "urn:ipbridge:problem:forbidden"
    assert (await registry.get(f"/v1/credit-flags/{theirs['id']}", headers=me)).status_code == 403


async def test_unknown_enterprise_or_flag_is_404(registry):
    stranger = make_uscc()
    resp = await raise_flag(registry, flag_body(stranger))
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:ipbridge:problem:enterprise-not-found"
    resp = await registry.get(f"/v1/enterprises/{stranger}/credit-flags", headers=auth())
    assert resp.status_code == 404
    resp = await registry.post("/v1/credit-flags/00000000-0000-4000-8000-000000000000/clearance",
                               json={"reason": "不存在"}, headers=auth("credit"))
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:ipbridge:problem:credit-flag-not-found"


def _flip_check_char(uscc: str) -> str:
    return uscc[:17] + ("0" if uscc[17] != "0" else "1")


@pytest.mark.parametrize("overrides, field, rule", [
    ({"flagged_on": "2999-01-01"}, "flagged_on", "flagged_on.not_in_future"),
    ({"flagged_on": "last week"}, "flagged_on", "date_from_datetime_parsing"),
    ({"kind": "late_payment"}, "kind", "enum"),
    ({"source": ""}, "source", "string_too_short"),
    ({"reference": None}, "reference", "string_type"),
    ({"penalty_cny": 100}, "penalty_cny", "extra_forbidden"),
    ("bad_check", "uscc", "uscc.check_character"),
])
async def test_broken_rules_are_422_naming_field_and_rule(registry, overrides, field, rule):
    uscc = await new_enterprise(registry)
    body = flag_body(uscc)
    if overrides == "bad_check":
        body["uscc"] = _flip_check_char(uscc)
    else:
        body |= overrides
    resp = await raise_flag(registry, body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["type"] == "urn:ipbridge:problem:validation-error"
    assert {"field": field, "rule": rule} in problem_fields(resp)


async def test_the_same_active_finding_is_raised_once(registry_app):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    first = await raise_flag(registry, flag_body(uscc))
    assert first.status_code == 201
    again = await raise_flag(registry, flag_body(uscc, source="信用中国"))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:ipbridge:problem:credit-flag-already-raised"
    assert again.json()["flag_id"] == first.json()["id"]
    # another decision of the same kind is another flag
    assert (await raise_flag(registry, flag_body(uscc, reference="晋税稽罚〔2026〕16号"))
            ).status_code == 201
    # once cleared, a new finding under the same reference may be raised again
    await registry.post(f"/v1/credit-flags/{first.json()['id']}/clearance",
                        json={"reason": "行政复议撤销原决定"}, headers=auth("credit"))
    assert (await raise_flag(registry, flag_body(uscc))).status_code == 201
    assert len(await outbox_events(app, "creditflag.raised", uscc)) == 3
