"""The rewards joint actions with real processes (ARCHITECTURE flows 5, 6 and the rewards side of
4): the broker and the four services started like ``make run``, driven only through public REST
APIs (registry, matching, rewards) and topics. Each test runs on SQLite and on PostgreSQL.

- flow 5: the IP office recognises a patent-intensive product of a private Shanxi enterprise →
  rewards drafts the claim, approves it without a meeting (no doubt flag) and pays it from the
  provincial IP fund; the 11th product of one organisation gets nothing (cap.per_org); the
  same item is never rewarded twice, even when the trigger is delivered twice;
- flow 6: an SME takes an open licence → a conversion-funding claim the IP office assesses;
- flow 4: a data-fraud flag reopens the paid claim for recovery and holds the pending one.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from shared.db import today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.e2e.flows import (
    FUND,
    GAS,
    assert_ledger_invariant,
    claim_of,
    claims,
    declare_until_known,
    fund,
    get,
    known_to,
    line,
    open_fund,
    post,
    recognise,
    rewards_events,
)
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth, scrape, wait_for
from tests.kafka_utils import header, produce, read_topic
from tests.registry.ip_factories import patent_body

pytestmark = pytest.mark.slow

PACK = "rewards-shanxi-2025"
PRODUCT_RULE = "patent_intensive_product"
OLD = "2016-05-20"  # founded long before: not a "new organisation" (365 days, the pack)


# --- REST helpers ---------------------------------------------------------------------------


def register(registry: str, **overrides) -> str:
    body = enterprise_body(**{"founded_on": OLD, **overrides})
    post(registry, "/v1/enterprises", body, auth())
    return body["uscc"]


def consumed(rewards: str, ce_type: str) -> float:
    return scrape(rewards, "ipbridge_events_consumed_total", service="rewards", type=ce_type)


# --- flow 5 ---------------------------------------------------------------------------------

def test_flow_5_a_recognised_product_is_paid_without_a_meeting_once_and_within_the_cap(
        stack_factory):
    stack = stack_factory()
    registry, rewards = stack["registry"].url, stack["rewards"].url
    open_fund(rewards, "500000.00")
    uscc = register(registry, name="大同市示例新材料科技有限公司")
    number = post(registry, "/v1/patents", patent_body(uscc), auth())["application_no"]
    known_to(rewards, uscc)

    # Flow 5: recognised → drafted, no doubt flag → approved by the system → paid from the fund
    first = recognise(registry, uscc, number, "高镍三元正极材料NCM811")
    claim = claim_of(rewards, first, "paid")
    assert (claim["uscc"], claim["pack"], claim["rule_code"], claim["item_kind"],
            claim["origin"], claim["department"], claim["fund_code"]) == (
        uscc, f"{PACK}@v1", PRODUCT_RULE, "product", "event", "market_regulation", FUND)
    assert (claim["amount_cny"], claim["paid_cny"], claim["doubt_flags"], claim["decided_by"]) \
        == ("20000.00", "20000.00", [], "system")
    assert claim["paid_on"] == today_cn().isoformat() and claim["ledger_entry_id"] is not None
    assert claim["region_code"] == "140200" and claim["trigger_event_id"]
    assert claim["clause"]["clause"].startswith("11.")  # 山西 item 11 探索转化运用新模式
    assert "专利密集型产品" in claim["clause"].get("text", claim["clause"]["clause"]) or \
        "专利密集型产品" in json.dumps(claim["basis"], ensure_ascii=False)
    assert line(claim, "enterprise.private")["passed"] is True
    assert line(claim, "jurisdiction.covers")["figures"]["region_code"] == "140200"
    assert line(claim, "amount.fixed")["clause"]["clause"].startswith("11.")
    assert line(claim, "approval.no_meeting")["passed"] is True
    assert all(b["passed"] for b in claim["basis"]), claim["basis"]
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("480000.00")
    one = get(rewards, f"/v1/claims/{claim['claim_id']}")
    assert one.status_code == 200 and one.headers["etag"] == f'"{one.json()["revision"]}"'
    paid_events = rewards_events(stack.broker.bootstrap, uscc, "claim.paid")
    assert [(e["claim_id"], e["status"], e["paid_cny"]) for e in paid_events] == [
        (claim["claim_id"], "paid", "20000.00")]
    validate_payload("claim.paid", paid_events[0])
    # the enterprise sees its own claim; another enterprise does not
    mine = get(rewards, "/v1/claims", auth("enterprise", uscc)).json()["items"]
    assert [c["claim_id"] for c in mine] == [claim["claim_id"]]
    assert get(rewards, "/v1/claims", auth("enterprise", make_uscc())).json()["items"] == []

    # The same item is never rewarded twice: the very same CloudEvent again, then a newer
    # revision of the product's recognition under a new event id.
    records = asyncio.run(read_topic(stack.broker.bootstrap, "registry.ip.v1", until=lambda rs: any(
        header(r, "ce_subject") == first and header(r, "ce_type") == "product.recognized"
        for r in rs)))
    original = next(r for r in records if header(r, "ce_subject") == first
                    and header(r, "ce_type") == "product.recognized")
    payload = json.loads(original.value)
    etype = event_type("product.recognized")
    newer = CloudEvent(type=etype.type, source=etype.source, subject=first,
                       dataschema=etype.dataschema,
                       data={**payload, "revision": payload["revision"] + 1})
    before = consumed(rewards, "product.recognized")
    asyncio.run(produce(stack.broker.bootstrap, "registry.ip.v1", [
        (original.key, original.value, list(original.headers)),
        (uscc.encode(), newer.body(), newer.headers())]))
    wait_for(lambda: consumed(rewards, "product.recognized") >= before + 2,
             what="rewards consuming both redeliveries")
    again = [c for c in claims(rewards) if c["item_ref"] == first]
    assert [(c["claim_id"], c["status"], c["revision"]) for c in again] == [
        (claim["claim_id"], "paid", claim["revision"])]
    # filing for the same item by hand is a 409 naming the existing claim
    resp = httpx.post(f"{rewards}/v1/claims", json={
        "uscc": uscc, "pack_id": PACK, "rule_code": PRODUCT_RULE, "item_ref": first,
        "evidence": [{"code": "recognition_notice", "document_no": "晋知认〔2026〕1号"}]},
        headers=auth("enterprise", uscc), timeout=10)
    assert resp.status_code == 409, resp.text
    assert claim["claim_id"] in resp.text
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("480000.00")

    # The cap: 20,000 each, 200,000 per organisation → products 2..10 paid, the 11th nothing.
    others = [recognise(registry, uscc, number, f"高镍三元正极材料NCM811-{i}")
              for i in range(2, 12)]
    wait_for(lambda: len([c for c in claims(rewards, uscc=uscc)
                          if c["status"] in ("paid", "rejected")]) == 11,
             timeout=60, what="eleven decided claims")
    decided = {c["item_ref"]: c for c in claims(rewards, uscc=uscc)}
    assert len(decided) == 11
    paid = [c for c in decided.values() if c["status"] == "paid"]
    rejected = [c for c in decided.values() if c["status"] == "rejected"]
    assert len(paid) == 10 and sum(Decimal(c["paid_cny"]) for c in paid) == Decimal("200000.00")
    assert [c["item_ref"] for c in rejected] == [others[-1]]  # one key, one partition: in order
    eleventh = rejected[0]
    assert eleventh["amount_cny"] in ("0.00", None) and eleventh["paid_cny"] is None
    cap = line(eleventh, "cap.per_org")
    assert cap["passed"] is False
    assert Decimal(str(cap["figures"]["cap_cny"])) == Decimal("200000.00")
    assert Decimal(str(cap["figures"]["committed_before_cny"])) == Decimal("200000.00")
    assert cap["clause"]["clause"].startswith("11.")
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("300000.00")
    rejected_events = rewards_events(stack.broker.bootstrap, uscc, "claim.rejected")
    assert [e["claim_id"] for e in rejected_events] == [eleventh["claim_id"]]
    sums = assert_ledger_invariant(rewards)
    assert abs(sums["payment"]) == Decimal("200000.00")

    # A newly founded organisation's first claim is a doubt: a person decides, with a due date.
    founded = today_cn() - timedelta(days=100)
    young = register(registry, name="太原示例新创科技有限公司", region_code="140100",
                     founded_on=founded.isoformat(), figures_year=founded.year)
    young_patent = post(registry, "/v1/patents", patent_body(young), auth())["application_no"]
    known_to(rewards, young)
    pending = claim_of(rewards, recognise(registry, young, young_patent, "矿用瓦斯传感器"),
                       "pending_review")
    assert pending["doubt_flags"] == ["claimant.new_organisation"]
    assert pending["amount_cny"] == "20000.00" and pending["review_due_on"]
    assert line(pending, "doubt.new_organisation")["figures"]["days"] == 100
    queue = claims(rewards, status="pending_review", department="market_regulation")
    assert [c["claim_id"] for c in queue] == [pending["claim_id"]]


# --- flow 6 ---------------------------------------------------------------------------------


def test_flow_6_an_open_licence_taken_gets_conversion_funding_assessed_by_the_ip_office(
        stack_factory):
    stack = stack_factory()
    registry, matching, rewards = (stack["registry"].url, stack["matching"].url,
                                   stack["rewards"].url)
    open_fund(rewards, "300000.00")
    school = enterprise_body(uscc=make_uscc(prefix="12"), name="太原示例理工大学",
                             industry_code="P8341", ownership="state")
    post(registry, "/v1/enterprises", school, auth())
    number = post(registry, "/v1/patents", patent_body(school["uscc"], **GAS),
                  auth())["application_no"]
    sme = register(registry, industry_code="B0610", name="大同示例煤业有限公司")
    known_to(matching, sme)
    known_to(rewards, sme)
    today = today_cn()
    resp = declare_until_known(matching, school["uscc"], {
        "application_no": number, "payment_method": "lump_sum", "lump_sum_cny": "200000",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=730)).isoformat(),
        "patentee_type": "university"}, "university")
    assert resp.status_code == 201, resp.text
    ol = resp.json()["id"]
    post(matching, f"/v1/open-licenses/{ol}/publication", {}, auth(), 200)
    licence = post(matching, "/v1/licenses", {
        "type": "open", "open_license_id": ol,
        "notice": {"sent_on": today.isoformat(), "reference": "许可通知〔2026〕1号"},
        "payment": {"amount_cny": "200000.00", "paid_on": today.isoformat(),
                    "reference": "转账 001"}}, auth("enterprise", sme))

    # Flow 6: the licence drafts a conversion-funding claim for the licensee; the policy names
    # no amount, so the IP office assesses it.
    claim = claim_of(rewards, licence["id"], "pending_review")
    assert (claim["uscc"], claim["rule_code"], claim["item_kind"], claim["department"],
            claim["fund_code"], claim["amount_cny"]) == (
        sme, "open_license_conversion", "license", "market_regulation", FUND, None)
    assert "amount.assessed" in claim["doubt_flags"] and claim["review_due_on"]
    assert line(claim, "item.license_type")["passed"] is True
    assert [c["claim_id"] for c in claims(rewards, status="pending_review",
                                          department="market_regulation")] == [claim["claim_id"]]
    created = rewards_events(stack.broker.bootstrap, sme, "claim.created")
    assert [e["claim_id"] for e in created] == [claim["claim_id"]]
    # the licensor (a state university, not a private organisation) gets no claim
    assert claims(rewards, uscc=school["uscc"]) == []

    path = f"/v1/claims/{claim['claim_id']}/decision"
    approve = {"decision": "approve", "reason": "实施开放许可，转化成效明显", "amount_cny": "50000.00"}
    for wrong in (auth("miit"), auth("enterprise", sme)):  # another department; the claimant
        resp = httpx.post(f"{rewards}{path}", json=approve, headers=wrong, timeout=10)
        assert resp.status_code == 403, resp.text
    resp = httpx.post(f"{rewards}{path}", json={"decision": "approve", "reason": "核定"},
                      headers=auth(), timeout=10)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "amount_cny" in [e["field"] for e in resp.json()["errors"]]
    decided = post(rewards, path, approve, auth(), 200)
    assert decided["status"] in ("approved", "paid")
    paid = claim_of(rewards, licence["id"], "paid")
    assert (paid["amount_cny"], paid["paid_cny"], paid["decision_reason"]) == (
        "50000.00", "50000.00", approve["reason"])
    assert paid["decided_by"] and paid["decided_by"] != "system"
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("250000.00")
    assert [e["claim_id"] for e in rewards_events(stack.broker.bootstrap, sme, "claim.paid")] \
        == [claim["claim_id"]]
    # decided once: a second decision is refused
    resp = httpx.post(f"{rewards}{path}", json=approve, headers=auth(), timeout=10)
    assert resp.status_code == 409, resp.text
    assert_ledger_invariant(rewards)


# --- flow 4 (rewards side) ------------------------------------------------------------------

def test_flow_4_data_fraud_reopens_paid_claims_for_recovery_and_holds_pending_ones(
        stack_factory):
    stack = stack_factory()
    registry, rewards = stack["registry"].url, stack["rewards"].url
    open_fund(rewards, "500000.00")
    uscc = register(registry)
    number = post(registry, "/v1/patents", patent_body(uscc), auth())["application_no"]
    known_to(rewards, uscc)
    product = recognise(registry, uscc, number, "高镍三元正极材料NCM811")
    paid = claim_of(rewards, product, "paid")
    # Shanxi item 3: an approved high-value patent cultivation centre, up to 300,000 decided per
    # case → pending review
    today = today_cn()
    centre = post(registry, f"/v1/enterprises/{uscc}/qualifications", {
        "kind": "hvp_cultivation_center", "certificate_no": "晋知培〔2026〕3号",
        "valid_from": today.isoformat(),
        "valid_to": (today + timedelta(days=3 * 365)).isoformat()}, auth())
    pending = claim_of(rewards, centre["id"], "pending_review")
    assert pending["rule_code"] == "hvp_cultivation_center"
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("480000.00")

    flag = post(registry, "/v1/credit-flags", {
        "uscc": uscc, "kind": "data_fraud", "source": "信用中国（山西）",
        "reference": "晋市监信〔2026〕7号", "flagged_on": today.isoformat(),
        "description": "专利密集型产品认定材料数据造假"}, auth("credit"))

    # Flow 4: the paid claim goes to recovery (claim.clawed_back), the pending one is held.
    clawed = claim_of(rewards, product, "recovery")
    assert clawed["recovery_reason"] and "data_fraud" in json.dumps(clawed, ensure_ascii=False)
    held = claim_of(rewards, centre["id"], "held")
    assert held["hold_reason"]
    events = rewards_events(stack.broker.bootstrap, uscc, "claim.clawed_back")
    assert [(e["claim_id"], e["status"]) for e in events] == [(paid["claim_id"], "recovery")]
    validate_payload("claim.clawed_back", events[0])
    assert [e["claim_id"] for e in rewards_events(stack.broker.bootstrap, uscc, "claim.held")] \
        == [pending["claim_id"]]
    # nothing moved in the fund yet: the money is still with the enterprise
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("480000.00")
    # a held claim is not decided while the flag stands
    resp = httpx.post(f"{rewards}/v1/claims/{held['claim_id']}/decision", json={
        "decision": "approve", "reason": "核定", "amount_cny": "300000.00"}, headers=auth(),
        timeout=10)
    assert resp.status_code == 409, resp.text
    # a new product recognised while flagged is not approved without a meeting
    later = claim_of(rewards, recognise(registry, uscc, number, "高镍三元正极材料NCM811-B"),
                     ("pending_review", "held"))
    assert later["status"] == "held" or "credit.active_flag" in later["doubt_flags"]

    # The IP office closes the recovery: the money comes back to the fund's ledger.
    closed = post(rewards, f"/v1/claims/{paid['claim_id']}/recovery", {
        "outcome": "recovered", "amount_cny": "20000.00", "reference": "缴款书 2026-007",
        "reason": "依法追回数据造假所获奖励"}, auth(), 200)
    assert closed["status"] == "recovered" and closed["recovered_cny"] == "20000.00"
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal("500000.00")
    assert [e["claim_id"] for e in rewards_events(stack.broker.bootstrap, uscc,
                                                  "claim.recovered")] == [paid["claim_id"]]
    sums = assert_ledger_invariant(rewards)
    assert (sums["recovery"], abs(sums["payment"])) == (Decimal("20000.00"), Decimal("20000.00"))
    assert flag["kind"] == "data_fraud"
