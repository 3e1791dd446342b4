"""Equity track (CSRC), end to end on both databases: facts come from the real registry over the
broker; pool membership from ``pool.admitted`` / ``pool.removed`` events (the registry's pool is
issue 7), a pledge and a licence from the registry's ``patent.updated`` (what it publishes after
financing's ``pledge.registered`` and matching's ``license.granted``)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.financing.equity.packs import load_packs
from services.financing.equity.rules import (Assessment, ItemStatus, OverrideNeedsNote,
                                             PatentView, add_months, decide_item, summarise)
from services.financing.facts.models import PatentFact, PoolFact
from shared.db import today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.financing.helpers import new_patent, new_sme
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic

CSRC = auth("csrc")
LISTING = {"market_name": "山西股权交易中心", "board": "专精特新专板", "listed_on": "2026-03-02"}


async def pool_event(stack, broker, uscc: str, kind: str = "pool.admitted", revision: int = 1,
                     status: str = "admitted") -> None:
    etype = event_type(kind)
    data = {"uscc": uscc, "province_code": "14", "admitted_on": "2025-06-01",
            "revision": revision}
    if kind != "pool.admitted":
        data[kind.replace("pool.", "") + "_on"] = today_cn().isoformat()
        data["reason"] = "test"
    event = CloudEvent(type=kind, source=etype.source, subject=uscc, data=data,
                       dataschema=etype.dataschema)
    await produce(broker.bootstrap, "registry.enterprise.v1",
                  [(uscc.encode(), event.body(), event.headers())])
    await wait_fact(stack, lambda s: s.get(PoolFact, uscc),
                    lambda f: f is not None and f.status == status)


async def wait_fact(stack, load, predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with stack.financing_app.state.sessionmaker() as session:
            found = await load(session)
        if predicate(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("financing never projected the fact")


async def loan_topic_events(broker, uscc: str, count: int) -> list[tuple[str, dict]]:
    """This enterprise's equity.* events on financing.loan.v1, once ``count`` are there."""
    def mine(records):
        return [r for r in records if r.key == uscc.encode()
                and (header(r, "ce_type") or "").startswith("equity.")]

    records = await read_topic(broker.bootstrap, "financing.loan.v1", timeout=20,
                               until=lambda rs: len(mine(rs)) >= count)
    return [(header(r, "ce_type"), json.loads(r.value)) for r in mine(records)]


async def patent_encumbered(broker, uscc: str, number: str) -> None:
    """The registry's next revision of the patent: pledged to a bank, one ordinary licence."""
    records = await read_topic(broker.bootstrap, "registry.ip.v1", timeout=20,
                               until=lambda rs: any(r.key == uscc.encode() and header(
                                   r, "ce_type") == "patent.registered" for r in rs))
    data = next(json.loads(r.value) for r in records if r.key == uscc.encode()
                and header(r, "ce_type") == "patent.registered")
    assert data["application_no"] == number
    data.update(revision=data["revision"] + 1, updated_at=datetime.now(UTC).isoformat(),
                encumbrances={"pledged": True, "active_pledges": 1, "pledgees": ["示例银行"],
                              "pledgee_consent_to_open_licence": None,
                              "licences": {"open": 0, "exclusive": 0, "sole": 0, "ordinary": 1}})
    etype = event_type("patent.updated")
    validate_payload("patent.updated", data)
    event = CloudEvent(type=etype.type, source=etype.source, subject=uscc, data=data,
                       dataschema=etype.dataschema)
    await produce(broker.bootstrap, "registry.ip.v1",
                  [(uscc.encode(), event.body(), event.headers())])


def listing(code: str, **changes) -> dict:
    return {**LISTING, "code": code, **changes}


async def test_only_pool_enterprises_register_on_a_regional_equity_market(stack, broker):
    uscc = await new_sme(stack)
    await new_patent(stack, uscc)
    client = stack.financing
    code = str(uuid.uuid4().int)[:6]

    refused = await client.post(f"/v1/enterprises/{uscc}/equity/listings", json=listing(code),
                                headers=CSRC)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["errors"][0] == {**problem["errors"][0], "field": "uscc",
                                    "rule": "equity.pool_member_required"}
    assert problem["clause"]["clause"] == "五、政策支持（四）提高资本市场服务赋能水平"
    assert "支持入库企业进入区域性股权市场规范培育" in problem["clause"]["text"]
    assert problem["clause"]["file"] == "national-2024-patent-industrialisation-for-smes.txt"
    assert problem["figures"]["pool_status"] is None

    await pool_event(stack, broker, uscc)
    # Only CSRC records; a date in the future is refused.
    assert (await client.post(f"/v1/enterprises/{uscc}/equity/listings", json=listing(code),
                              headers=auth("bank", "BANK001"))).status_code == 403
    future = (today_cn() + timedelta(days=1)).isoformat()
    resp = await client.post(f"/v1/enterprises/{uscc}/equity/listings",
                             json=listing(code, listed_on=future), headers=CSRC)
    assert resp.status_code == 422 and resp.json()["errors"][0]["rule"] == \
        "listed_on.not_in_future"

    key = {"Idempotency-Key": f"listing-{uscc}"}
    created = await client.post(f"/v1/enterprises/{uscc}/equity/listings", json=listing(code),
                                headers={**CSRC, **key})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["basis"]["rules"][0] == {**body["basis"]["rules"][0], "rule": "equity.pool_member",
                                         "passed": True}
    assert body["basis"]["rules"][0]["figures"]["pool_status"] == "admitted"
    assert body["basis"]["pack"] == "equity@v1"
    again = await client.post(f"/v1/enterprises/{uscc}/equity/listings", json=listing(code),
                              headers={**CSRC, **key})
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"

    dup = await client.post(f"/v1/enterprises/{uscc}/equity/listings",
                            json=listing(code + "9"), headers=CSRC)
    assert dup.status_code == 409  # already on this market

    # A graduated enterprise may list; the code of another listing on the market may not.
    other = await new_sme(stack)
    await pool_event(stack, broker, other, "pool.graduated", status="graduated")
    taken = await client.post(f"/v1/enterprises/{other}/equity/listings", json=listing(code),
                              headers=CSRC)
    assert taken.status_code == 409
    ok = await client.post(f"/v1/enterprises/{other}/equity/listings",
                           json=listing(code + "1"), headers=CSRC)
    assert ok.status_code == 201, ok.text
    # Removal from the pool (退库) closes the track.
    await pool_event(stack, broker, other, "pool.removed", revision=2, status="removed")
    resp = await client.post(f"/v1/enterprises/{other}/equity/listings",
                             json=listing(code + "2", market_name="深圳前海股权交易中心"),
                             headers=CSRC)
    assert resp.status_code == 422 and resp.json()["figures"]["pool_status"] == "removed"

    published = await loan_topic_events(broker, uscc, 1)
    assert published[0][0] == "equity.listed"
    assert published[0][1] == {**published[0][1], "uscc": uscc, "listing_id": body["id"],
                               "code": code, "pool_status": "admitted"}


async def test_guidance_fund_investments_and_the_summary(stack, broker):
    uscc = await new_sme(stack)
    await pool_event(stack, broker, uscc)
    client = stack.financing
    url = f"/v1/enterprises/{uscc}/equity/investments"
    base = {"fund_name": "山西省中小企业发展基金", "invested_on": "2026-02-10"}

    cases = [({"instrument": "preferred_shares", "amount_cny": "3000000"}, "preferred",
              "preferred.required"),
             ({"instrument": "common_equity", "amount_cny": "1",
               "warrant": {"achievement": "一种方法", "warrant_holder": "某大学",
                           "shares_pct": "5", "exercise_from": "2026-03-01",
                           "exercise_to": "2029-03-01"}}, "warrant", "warrant.not_applicable")]
    for change, field, rule in cases:
        resp = await client.post(url, json={**base, **change}, headers=CSRC)
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0] == {**resp.json()["errors"][0], "field": field,
                                            "rule": rule}
    for bad in ({"amount_cny": "0"}, {"amount_cny": "12.345"}, {"amount_cny": "abc"}):
        resp = await client.post(url, json={**base, "instrument": "common_equity", **bad},
                                 headers=CSRC)
        assert resp.status_code == 422, bad

    preferred = await client.post(url, json={
        **base, "instrument": "preferred_shares", "amount_cny": "3000000",
        "shareholding_pct": "10",
        "preferred": {"registered_market": "山西股权交易中心", "registration_no": "DJ-2026-017",
                      "registered_on": "2026-02-12", "dividend_rate": "0.045"}}, headers=CSRC)
    assert preferred.status_code == 201, preferred.text
    assert preferred.json()["amount_cny"] == "3000000.00"
    assert preferred.json()["basis"]["pool_member"] is True
    assert preferred.json()["shareholding_pct"] == "10"
    warrant = await client.post(url, json={
        **base, "instrument": "tech_achievement_warrant", "amount_cny": 2000000.5,
        "warrant": {"achievement": "锂电池正极材料制备技术", "application_nos": [],
                    "warrant_holder": "太原理工大学", "shares_pct": "3",
                    "exercise_price_cny": "1500000", "exercise_from": "2026-03-01",
                    "exercise_to": "2030-02-28", "conditions": "营业收入达到5000万元"}},
        headers=CSRC)
    assert warrant.status_code == 201, warrant.text
    assert warrant.json()["warrant"]["exercise_price_cny"] == "1500000.00"

    summary = (await client.get(f"/v1/enterprises/{uscc}/equity", headers=CSRC)).json()
    assert summary["pool"]["status"] == "admitted"
    assert [i["instrument"] for i in summary["investments"]] == ["preferred_shares",
                                                                "tech_achievement_warrant"]
    assert summary["investment_total_cny"] == "5000000.50"
    assert summary["checklist"] is None and summary["listings"] == []
    # The enterprise reads its own summary; another enterprise may not.
    assert (await client.get(f"/v1/enterprises/{uscc}/equity",
                             headers=auth("enterprise", uscc))).status_code == 200
    assert (await client.get(f"/v1/enterprises/{uscc}/equity",
                             headers=auth("enterprise", "91140200MA0K2B3C4D"))).status_code == 403
    unknown = await client.get("/v1/enterprises/91110108MA01ABCD1X/equity", headers=CSRC)
    assert unknown.status_code == 404

    published = await loan_topic_events(broker, uscc, 2)
    assert [t for t, _ in published] == ["equity.investment_recorded"] * 2
    assert published[1][1]["warrant"]["warrant_holder"] == "太原理工大学"
    assert published[0][1]["preferred"]["registration_no"] == "DJ-2026-017"


async def test_pre_ipo_checklist_from_facts_and_the_officer(stack, broker):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    client = stack.financing
    url = f"/v1/enterprises/{uscc}/equity/checklist"

    first = await client.put(url, json={"items": []}, headers=CSRC)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"1"'
    items = {i["code"]: i for i in first.json()["items"]}
    assert {c: (i["status"], i["decided_by"]) for c, i in items.items()} == {
        "core_patent_ownership_clear": ("ok", "facts"),
        "no_pending_invalidation": ("unassessed", None),
        "licences_recorded": ("n/a", "facts"),
        "no_undisclosed_pledge": ("ok", "facts"),
        "inventor_rewards_paid": ("unassessed", None),
        "annual_fees_paid": ("ok", "facts"),
        "employee_invention_agreements": ("unassessed", None),
        "trade_secret_measures": ("unassessed", None)}
    assert first.json()["ready"] is False and first.json()["counts"]["unassessed"] == 4
    granted = items["inventor_rewards_paid"]["computed"]["figures"]["granted"][0]
    fact = await wait_fact(stack, lambda s: s.get(PatentFact, number), lambda f: f is not None)
    assert granted == {"application_no": number, "kind": "invention",
                       "granted_on": fact.grant_date.isoformat(),
                       "reward_due_by": add_months(fact.grant_date, 3).isoformat(),
                       "statutory_minimum_cny": "4000.00"}
    assert "第九十三条" in items["inventor_rewards_paid"]["clauses"][0]["clause"]

    # The registry reports the patent pledged to a bank and licensed (its patent.updated, as it
    # publishes it after financing's pledge.registered and matching's license.granted).
    await patent_encumbered(broker, uscc, number)
    await wait_fact(stack, lambda s: s.get(PatentFact, number), lambda f: f.registry_pledged
                    and (f.encumbrances.get("licences") or {}).get("ordinary") == 1)

    assessments = [{"code": c, "status": "ok"} for c in (
        "no_pending_invalidation", "inventor_rewards_paid", "employee_invention_agreements",
        "trade_secret_measures")] + [{"code": "licences_recorded", "status": "ok",
                                      "note": "2026-01-20 备案"}]
    assert (await client.put(url, json={"items": assessments}, headers=CSRC)).status_code == 428
    stale = await client.put(url, json={"items": assessments},
                             headers={**CSRC, "If-Match": '"7"'})
    assert stale.status_code == 412
    second = await client.put(url, json={"items": assessments},
                              headers={**CSRC, "If-Match": '"1"'})
    assert second.status_code == 200, second.text
    items = {i["code"]: i for i in second.json()["items"]}
    assert items["no_undisclosed_pledge"]["status"] == "issue"
    assert items["no_undisclosed_pledge"]["computed"]["figures"]["pledged"][0][
        "application_no"] == number
    assert items["licences_recorded"]["computed"]["status"] is None  # facts cannot decide
    assert items["licences_recorded"]["computed"]["figures"]["licence_contracts"] == {
        number: {"exclusive": 0, "sole": 0, "ordinary": 1}}
    assert (items["licences_recorded"]["status"], items["licences_recorded"]["decided_by"]) == \
        ("ok", "officer")
    assert second.json()["ready"] is False and second.json()["revision"] == 2

    # Clearing the facts' issue needs a note.
    cleared = assessments + [{"code": "no_undisclosed_pledge", "status": "ok"}]
    resp = await client.put(url, json={"items": cleared}, headers={**CSRC, "If-Match": '"2"'})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["rule"] == "checklist.note_required"
    assert resp.json()["errors"][0]["field"] == "items.5.note"
    cleared[-1]["note"] = "质押已在招股说明书第4.2节披露"
    third = await client.put(url, json={"items": cleared}, headers={**CSRC, "If-Match": '"2"'})
    assert third.status_code == 200, third.text
    assert third.json()["ready"] is True and third.json()["revision"] == 3
    pledge = {i["code"]: i for i in third.json()["items"]}["no_undisclosed_pledge"]
    assert pledge["computed"]["status"] == "issue" and pledge["decided_by"] == "officer"
    assert pledge["assessment"]["by"] == "csrc:dev"

    # The same assessments again change nothing: no new revision, no event.
    same = await client.put(url, json={"items": cleared}, headers={**CSRC, "If-Match": '"3"'})
    assert same.status_code == 200 and same.json()["revision"] == 3
    unknown = await client.put(url, json={"items": [{"code": "nope", "status": "ok"}]},
                               headers={**CSRC, "If-Match": '"3"'})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["rule"] == "checklist.item_unknown"
    read = await client.get(url, headers=auth("enterprise", uscc))
    assert read.status_code == 200 and read.headers["ETag"] == '"3"'

    published = await loan_topic_events(broker, uscc, 3)
    await asyncio.sleep(0.3)
    published = await loan_topic_events(broker, uscc, 3)
    assert [(t, p["revision"], p["ready"]) for t, p in published] == [
        ("equity.checklist_updated", 1, False), ("equity.checklist_updated", 2, False),
        ("equity.checklist_updated", 3, True)]


# --- the checklist rules, without a database ----------------------------------------------------

def patent(**changes) -> PatentView:
    base = dict(application_no="202310012345.6", kind="invention", status="granted",
                in_force=True, suspended=False, grant_date=date(2025, 11, 30),
                annual_fee_status="paid", co_owned=False, pledged=False)
    return PatentView(**{**base, **changes})


def item(code: str):
    rules = load_packs().packs[0].data.checklist
    return next(i for i in rules.items if i.code == code), rules


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 10, 15), 3) == date(2026, 1, 15)


@pytest.mark.parametrize("code,patents,status", [
    ("core_patent_ownership_clear", [], "issue"),
    ("core_patent_ownership_clear", [patent(suspended=True)], "issue"),
    ("core_patent_ownership_clear", [patent(kind="design")], "issue"),
    ("core_patent_ownership_clear", [patent(co_owned=True)], "ok"),
    ("no_pending_invalidation", [patent(status="invalidated", in_force=False)], "issue"),
    ("no_pending_invalidation", [patent()], "unassessed"),
    ("annual_fees_paid", [patent(annual_fee_status="in_grace")], "issue"),
    ("annual_fees_paid", [], "n/a"),
    ("inventor_rewards_paid", [patent(grant_date=None)], "n/a"),
    ("no_undisclosed_pledge", [patent(pledged=True, pledgees=("BANK001",))], "issue"),
    ("licences_recorded", [patent(licences={"open": 2})], "n/a"),
    ("licences_recorded", [patent(licences={"exclusive": 1})], "unassessed"),
])
def test_facts_decide_what_they_can(code, patents, status):
    definition, rules = item(code)
    assert decide_item(definition, patents, rules, None)["status"] == status


def test_the_officer_decides_the_rest_and_must_explain_clearing_an_issue():
    definition, rules = item("no_undisclosed_pledge")
    pledged = [patent(pledged=True)]
    with pytest.raises(OverrideNeedsNote):
        decide_item(definition, pledged, rules, Assessment(ItemStatus.ok, None, "csrc", "t"))
    decided = decide_item(definition, pledged, rules,
                          Assessment(ItemStatus.ok, "disclosed", "csrc", "t"))
    assert (decided["status"], decided["decided_by"], decided["note"]) == ("ok", "officer",
                                                                           "disclosed")
    # Raising an issue the facts did not see needs no note.
    definition, rules = item("trade_secret_measures")
    decided = decide_item(definition, [], rules, Assessment(ItemStatus.issue, None, "csrc", "t"))
    assert decided["status"] == "issue" and decided["computed"] is None
    assert summarise([decided]) == {"counts": {"ok": 0, "issue": 1, "n/a": 0, "unassessed": 0},
                                    "ready": False}
