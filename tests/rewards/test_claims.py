"""Reward claims against the running service (SQLite and PostgreSQL), fed with real events
through the broker: drafted from a trigger, checked, approved without a meeting and paid in the
same transaction; capped (the 11th product of an organisation gets nothing, and the basis says
why); never twice for one item; waiting for the enterprise when it comes later; doubts to the
department's review queue with a due date; decisions with who and why, refused with
problem+json when not allowed; held and released on credit flags; clawed back and recovered."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import today_cn
from shared.events.catalogue import validate_payload
from shared.migrate import service_metadata
from tests.factories import make_uscc
from tests.harness import auth
from tests.rewards.conftest import (PRODUCT_RULE, SHANXI, SHANXI_FUND, enterprise_event,
                                    flag_event, product_event, qualification_event)

PROBLEM = "application/problem+json"


def line(claim: dict, rule: str) -> dict:
    found = [b for b in claim["basis"] if b["rule"] == rule]
    assert len(found) == 1, (rule, [b["rule"] for b in claim["basis"]])
    return found[0]


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    return resp.json()


# --- schema -------------------------------------------------------------------------------------

async def test_the_migrations_match_the_models(rewards):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, service_metadata("rewards"))

    async with rewards.app.state.runtime.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if "alembic_version" not in repr(c)] == []


# --- drafted, approved without a meeting, paid --------------------------------------------------

async def test_a_recognised_product_is_approved_without_a_meeting_and_paid(rewards):
    await rewards.open_fund("100000.00")
    uscc = await rewards.enterprise()
    event = product_event(uscc)
    await rewards.publish(event)

    claim = await rewards.wait_claim(event.subject, "paid")
    assert (claim["uscc"], claim["pack"], claim["rule_code"], claim["item_kind"], claim["origin"],
            claim["department"], claim["fund_code"], claim["trigger_event_id"]) == (
        uscc, f"{SHANXI}@v1", PRODUCT_RULE, "product", "event", "market_regulation",
        SHANXI_FUND, event.id)
    assert (claim["amount_cny"], claim["paid_cny"], claim["doubt_flags"], claim["decided_by"],
            claim["payment_blocked"]) == ("20000.00", "20000.00", [], "system", None)
    assert claim["paid_on"] == today_cn().isoformat() and claim["region_code"] == "140200"
    assert claim["clause"]["clause"].startswith("11.")
    assert line(claim, "enterprise.private")["passed"] is True
    assert line(claim, "jurisdiction.covers")["figures"] == {"jurisdiction": "14",
                                                            "region_code": "140200"}
    assert line(claim, "approval.no_meeting")["passed"] is True
    cap = line(claim, "cap.per_org")
    assert cap["passed"] is True and cap["figures"]["committed_before_cny"] == "0.00"
    assert all(b["passed"] for b in claim["basis"]), claim["basis"]

    fund = await rewards.fund()
    assert (fund["balance_cny"], fund["paid_cny"]) == ("80000.00", "20000.00")
    entries = await rewards.ledger()
    assert [(e["kind"], e["amount_cny"], e["claim_id"]) for e in entries] == [
        ("deposit", "100000.00", None), ("payment", "-20000.00", claim["claim_id"])]
    assert claim["ledger_entry_id"] == entries[1]["id"]

    resp = await rewards.client.get(f"/v1/claims/{claim['claim_id']}", headers=auth())
    assert resp.headers["etag"] == f'"{claim["revision"]}"'
    # one event per transition, each a full snapshot of a higher revision
    await rewards.events("claim.paid", uscc)
    published = await rewards.all_events(uscc)
    assert [(t, e["status"], e["revision"]) for t, e in published] == [
        ("claim.created", "approved", 1), ("claim.approved", "approved", 2),
        ("claim.paid", "paid", 3)]
    for ce_type, payload in published:
        validate_payload(ce_type, payload)
    assert published[-1][1]["ledger_entry_id"] == entries[1]["id"]
    await rewards.assert_ledger_invariant()


async def test_the_eleventh_product_gets_nothing_and_one_item_is_never_rewarded_twice(rewards):
    await rewards.open_fund("500000.00")
    uscc = await rewards.enterprise()
    products = [product_event(uscc) for _ in range(11)]
    await rewards.publish(*products)
    last = await rewards.wait_claim(products[-1].subject, "rejected")
    decided = {p.subject: await rewards.wait_claim(p.subject, ("paid", "rejected"))
               for p in products}
    assert [decided[p.subject]["status"] for p in products] == ["paid"] * 10 + ["rejected"]
    assert sum(Decimal(c["paid_cny"]) for c in decided.values() if c["paid_cny"]) == 200_000
    # the basis says which cap, with the figures and the clause
    cap = line(last, "cap.per_org")
    assert cap["passed"] is False
    assert (cap["figures"]["cap_cny"], cap["figures"]["committed_before_cny"],
            cap["figures"]["asked_cny"], cap["figures"]["granted_cny"]) == (
        "200000.00", "200000.00", "20000.00", "0.00")
    assert cap["clause"]["clause"].startswith("11.") and "200000.00" in cap["detail"]
    assert (last["amount_cny"], last["paid_cny"], last["decided_by"]) == ("0.00", None, "system")
    assert "cap.per_org" in last["decision_reason"]
    assert not any(b["rule"] == "approval.no_meeting" for b in last["basis"])
    rejected = await rewards.events("claim.rejected", uscc)
    assert [e["claim_id"] for e in rejected] == [last["claim_id"]]
    assert (await rewards.fund())["balance_cny"] == "300000.00"

    # The same item again: the very same CloudEvent (the inbox), then a newer revision under a
    # new event id (the unique claim per pack, rule and item), then filed by hand (409).
    first = decided[products[0].subject]
    again = product_event(uscc, products[0].subject, revision=3)
    await rewards.publish(products[0], again, product_event(uscc))  # + a marker event after
    await rewards.until(lambda: _count(rewards, uscc, 12), what="the marker claim")
    assert [(c["claim_id"], c["status"], c["revision"])
            for c in await rewards.claims_for(products[0].subject)] == [
        (first["claim_id"], "paid", first["revision"])]
    resp = await rewards.client.post("/v1/claims", json={
        "uscc": uscc, "pack_id": SHANXI, "rule_code": PRODUCT_RULE,
        "item_ref": products[0].subject,
        "evidence": [{"code": "recognition_notice", "document_no": "晋知认〔2026〕1号"}]},
        headers=auth("enterprise", uscc))
    body = problem(resp, 409)
    assert body["claim_id"] == first["claim_id"] and body["claim_status"] == "paid"
    # the item fact took the newer revision; nothing moved in the fund
    assert (await rewards.fund())["balance_cny"] == "300000.00"
    await rewards.assert_ledger_invariant()


async def test_only_the_events_a_rule_names_draft_claims(rewards):
    await rewards.open_fund("100000.00")
    uscc = await rewards.enterprise()
    from tests.rewards.conftest import cloud_event, now_iso

    def trademark(reg_no: str, gi: bool):
        return cloud_event("trademark.registered", reg_no, {
            "reg_no": reg_no, "name": "大同黄花", "nice_class": 31, "holder_name": "示例合作社",
            "holder_uscc": uscc, "geographical_indication": gi, "revision": 1,
            "registered_on": today_cn().isoformat(), "registered_at": now_iso()})
    plain, gi = trademark("70000001", False), trademark("70000002", True)
    zjtx = qualification_event(uscc, "zjtx_sme")
    await rewards.publish(plain, zjtx, gi)
    mark = await rewards.wait_claim("70000002", "paid")
    assert (mark["rule_code"], mark["item_kind"], mark["paid_cny"]) == (
        "gi_trademark", "trademark", "30000.00")
    assert line(mark, "item.geographical_indication")["passed"] is True
    assert await rewards.claims_for("70000001") == []
    assert await rewards.claims_for(zjtx.subject) == []
    assert len(await rewards.claims(uscc=uscc)) == 1
    # the items are kept all the same: a filing for the plain mark is checked against it
    resp = await rewards.client.post("/v1/claims", json={
        "uscc": uscc, "pack_id": SHANXI, "rule_code": "gi_trademark", "item_ref": "70000001",
        "evidence": [{"code": "registration_certificate", "document_no": "第70000001号"}]},
        headers=auth("enterprise", uscc))
    filed = resp.json()
    assert resp.status_code == 201 and filed["status"] == "rejected"
    assert line(filed, "item.geographical_indication")["figures"]["actual"] is False


async def test_the_room_left_under_a_cap_is_granted_and_said_so(rewards):
    """No rule of today's packs leaves part of an amount (20,000 each under 200,000): the
    reservation itself, on the real database, with a cap that does."""
    from services.rewards.claims import service
    from services.rewards.claims.rules import CapRequest
    from shared.db import utcnow

    request = CapRequest("test|demo|X|all", "cap.per_org", Decimal("30000.00"), None,
                         {"document": "示例", "clause": "一"}, "per organisation", "每个组织")
    granted = []
    for _ in range(3):
        async with rewards.app.state.sessionmaker() as session, session.begin():
            granted.append(await service._reserve(session, [request], Decimal("20000.00"),
                                                  utcnow()))
    assert [g for g, _, _ in granted] == [Decimal("20000.00"), Decimal("10000.00"),
                                         Decimal("0.00")]
    (partial,), (exhausted,) = granted[1][1], granted[2][1]
    assert partial["passed"] is True and "10000.00" in partial["detail"]
    assert exhausted["passed"] is False and exhausted["figures"]["committed_before_cny"] == \
        "30000.00"
    assert [r for _, _, r in granted] == [{"test|demo|X|all": "20000.00"},
                                         {"test|demo|X|all": "10000.00"}, {}]


async def _count(rewards, uscc: str, n: int) -> bool:
    return len(await rewards.claims(uscc=uscc)) == n


async def test_a_claim_waits_for_the_enterprise_and_is_decided_when_it_arrives(rewards):
    await rewards.open_fund("100000.00")
    shanxi, hubei = make_uscc(), make_uscc()
    early = product_event(shanxi)
    elsewhere = product_event(hubei)
    await rewards.publish(early, elsewhere)
    waiting = await rewards.wait_claim(early.subject, "awaiting_facts")
    assert waiting["amount_cny"] is None and waiting["reserved"] == {}
    assert line(waiting, "enterprise.known")["passed"] is False
    other = await rewards.wait_claim(elsewhere.subject, "awaiting_facts")
    created = await rewards.events("claim.created", shanxi)
    assert created[0]["status"] == "awaiting_facts"

    # the registry's enterprise events arrive (another topic: any order is possible)
    await rewards.enterprise(shanxi, region="140100", wait=False)
    await rewards.enterprise(hubei, region="420281", wait=False)
    paid = await rewards.wait_claim(early.subject, "paid")
    assert paid["claim_id"] == waiting["claim_id"] and paid["region_code"] == "140100"
    assert paid["enterprise_name"] and paid["decided_by"] == "system"
    rejected = await rewards.wait_claim(elsewhere.subject, "rejected")
    covers = line(rejected, "jurisdiction.covers")
    assert covers["passed"] is False and covers["figures"] == {"jurisdiction": "14",
                                                               "region_code": "420281"}
    assert "jurisdiction.covers" in rejected["decision_reason"]
    assert [t for t, _ in await rewards.all_events(shanxi)] == [
        "claim.created", "claim.approved", "claim.paid"]
    assert [t for t, _ in await rewards.all_events(hubei)] == ["claim.created", "claim.rejected"]
    # a later enterprise update leaves decided claims alone
    await rewards.publish(enterprise_event(shanxi, region="140100", revision=2,
                                           ownership="state"))
    await rewards.until(lambda: _revision(rewards, shanxi, 2), what="the update projected")
    assert (await rewards.claim(paid["claim_id"]))["status"] == "paid"


async def test_a_waiting_claim_that_needs_a_person_announces_it_joined_the_queue(rewards):
    """awaiting_facts → pending_review is a transition other departments can see: without
    claim.review_requested the queue entry would only show up in the next event."""
    young = make_uscc()
    early = product_event(young)
    await rewards.publish(early)
    waiting = await rewards.wait_claim(early.subject, "awaiting_facts")
    await rewards.enterprise(young, region="140100", founded_on=today_cn() - timedelta(days=30),
                             wait=False)
    queued = await rewards.wait_claim(early.subject, "pending_review")
    assert queued["doubt_flags"] == ["claimant.new_organisation"]
    assert queued["revision"] > waiting["revision"] and queued["review_due_on"]
    [announced] = await rewards.events("claim.review_requested", young)
    assert announced["status"] == "pending_review"
    assert announced["revision"] == queued["revision"]
    assert announced["doubt_flags"] == ["claimant.new_organisation"]


async def _revision(rewards, uscc: str, revision: int) -> bool:
    resp = await rewards.client.get(f"/v1/enterprises/{uscc}", headers=auth())
    return resp.status_code == 200 and resp.json()["revision"] == revision


async def test_doubts_go_to_the_departments_queue_with_a_due_date_and_an_officer_decides(
        rewards):
    await rewards.open_fund("100000.00")
    young = await rewards.enterprise(founded_on=today_cn() - timedelta(days=100))
    event = product_event(young)
    await rewards.publish(event)
    pending = await rewards.wait_claim(event.subject, "pending_review")
    assert pending["doubt_flags"] == ["claimant.new_organisation"]
    assert pending["amount_cny"] == "20000.00" and pending["decided_by"] is None
    assert pending["review_due_on"] == (today_cn() + timedelta(days=20)).isoformat()
    assert line(pending, "doubt.new_organisation")["figures"]["days"] == 100
    assert pending["reserved"] == {f"{SHANXI}|{PRODUCT_RULE}|{young}|all": "20000.00"}
    # a national pool graduation of an old enterprise: assessed → also to review, and the
    # Shanxi pack's claim under review sorts first by due date
    old = await rewards.enterprise(region="140200")
    graduation = {"uscc": old, "province_code": "14",
                  "graduated_on": today_cn().isoformat(), "revision": 3}
    from tests.rewards.conftest import cloud_event
    await rewards.publish(cloud_event("pool.graduated", old, graduation))
    assessed = await rewards.wait_claim(old, "pending_review")
    assert (assessed["pack"], assessed["rule_code"], assessed["amount_cny"],
            assessed["fund_code"]) == ("rewards-national-2024@v1", "pool_graduation_support",
                                       None, "central-ip-fund")
    assert "amount.assessed" in assessed["doubt_flags"]
    queue = await rewards.claims(status="pending_review", department="market_regulation",
                                 sort="due")
    assert {c["claim_id"] for c in queue} == {pending["claim_id"], assessed["claim_id"]}
    assert await rewards.claims(status="pending_review", department="miit") == []

    path = f"/v1/claims/{pending['claim_id']}/decision"
    officer = auth("market_regulation", "140000-ip-office")
    decided = await rewards.call("POST", path, {"decision": "approve",
                                                "reason": "核实认定文件无误"}, headers=officer)
    assert decided["status"] == "paid" and decided["paid_cny"] == "20000.00"
    assert (decided["decided_by"], decided["decided_department"], decided["decision_reason"]) \
        == ("market_regulation:140000-ip-office", "market_regulation", "核实认定文件无误")
    assert decided["review_due_on"] is None
    decision = line(decided, "decision.approve")
    assert decision["figures"]["by"] == "market_regulation:140000-ip-office"
    approved = await rewards.events("claim.approved", young)
    assert approved[0]["decided_by"] == "market_regulation:140000-ip-office"

    # the assessed claim: the officer sets the amount; the fund is missing → it waits
    path = f"/v1/claims/{assessed['claim_id']}/decision"
    decided = await rewards.call("POST", path, {"decision": "approve", "reason": "接续培育",
                                                "amount_cny": "150000"}, headers=officer)
    assert (decided["status"], decided["amount_cny"], decided["payment_blocked"]) == (
        "approved", "150000.00", "fund_missing")
    assert decided["reserved"] == {f"rewards-national-2024|pool_graduation_support|{old}|all":
                                   "150000.00"}
    # the central fund is created and topped up: the deposit pays it
    await rewards.open_fund(code="central-ip-fund")
    assert (await rewards.claim(assessed["claim_id"]))["payment_blocked"] == \
        "insufficient_balance"
    deposit = await rewards.deposit("100000.00", code="central-ip-fund")
    assert deposit["claims_paid"] == 0
    deposit = await rewards.deposit("100000.00", code="central-ip-fund")
    assert deposit["claims_paid"] == 1 and deposit["fund"]["balance_cny"] == "50000.00"
    paid = await rewards.claim(assessed["claim_id"])
    assert (paid["status"], paid["paid_cny"], paid["payment_blocked"]) == (
        "paid", "150000.00", None)
    await rewards.assert_ledger_invariant("central-ip-fund")
    await rewards.assert_ledger_invariant()


async def test_decisions_refused_with_problem_json_naming_the_field_and_rule(rewards):
    uscc = await rewards.enterprise()
    centre = qualification_event(uscc, "hvp_cultivation_center")
    await rewards.publish(centre)
    claim = await rewards.wait_claim(centre.subject, "pending_review")
    assert set(claim["doubt_flags"]) == {"amount.requested", "rule.review_required"}
    assert claim["amount_cny"] == "300000.00"  # up to 300,000: the ceiling proposed
    path = f"/v1/claims/{claim['claim_id']}/decision"
    ok = {"decision": "approve", "reason": "培育中心建设成效良好", "amount_cny": "250000.00"}

    # another department (403 names the deciding one); a claimant has no decide scope
    body = problem(await rewards.client.post(path, json=ok, headers=auth("miit")), 403)
    assert body["department"] == "market_regulation"
    problem(await rewards.client.post(path, json=ok, headers=auth("enterprise", uscc)), 403)
    # up-to amount missing, above the ceiling, a reason missing (422 naming the field)
    body = problem(await rewards.client.post(path, json={"decision": "approve",
                                                          "reason": "同意"},
                                             headers=auth()), 422)
    assert body["errors"][0]["field"] == "amount_cny"
    body = problem(await rewards.client.post(path, json={**ok, "amount_cny": "300000.01"},
                                             headers=auth()), 422)
    assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == (
        "amount_cny", "amount_cny.over_ceiling")
    body = problem(await rewards.client.post(path, json={"decision": "approve"},
                                             headers=auth()), 422)
    assert body["errors"][0]["field"] == "reason"
    # stale If-Match (412), unknown claim (404)
    body = problem(await rewards.client.post(path, json=ok, headers={
        **auth(), "If-Match": f'"{claim["revision"] - 1}"'}), 412)
    assert body["current_etag"] == f'"{claim["revision"]}"'
    problem(await rewards.client.post(f"/v1/claims/{uuid.uuid4()}/decision", json=ok,
                                      headers=auth()), 404)
    # the current ETag passes; deciding again is a 409 naming the status
    decided = await rewards.call("POST", path, ok, headers={
        **auth(), "If-Match": f'"{claim["revision"]}"'})
    assert (decided["status"], decided["amount_cny"], decided["payment_blocked"]) == (
        "approved", "250000.00", "fund_missing")
    body = problem(await rewards.client.post(path, json=ok, headers=auth()), 409)
    assert body["claim_status"] == "approved"

    # once per organisation: a second centre of the same enterprise gets nothing
    second = qualification_event(uscc, "hvp_cultivation_center")
    await rewards.publish(second)
    refused = await rewards.wait_claim(second.subject, "rejected")
    once = line(refused, "cap.per_org")
    assert once["passed"] is False and once["figures"]["items_before"] == 1
    assert once["figures"]["max_items"] == 1

    # an officer's rejection releases the claim's cap room: a third centre gets it
    other = await rewards.enterprise()
    for event in (qualification_event(other, "hvp_cultivation_center"),):
        await rewards.publish(event)
        pending = await rewards.wait_claim(event.subject, "pending_review")
    rejected = await rewards.call("POST", f"/v1/claims/{pending['claim_id']}/decision",
                                  {"decision": "reject", "reason": "材料不实"})
    assert (rejected["status"], rejected["reserved"], rejected["decided_by"]) == (
        "rejected", {}, "market_regulation:dev")
    third = qualification_event(other, "hvp_cultivation_center")
    await rewards.publish(third)
    assert (await rewards.wait_claim(third.subject))["status"] == "pending_review"


async def test_filed_claims_are_checked_against_what_the_registry_announced(rewards):
    owner, other = await rewards.enterprise(), await rewards.enterprise()
    announced = product_event(owner)
    await rewards.publish(announced)
    await rewards.wait_claim(announced.subject, ("paid", "approved"))
    evidence = [{"code": "recognition_notice", "document_no": "晋知认〔2026〕9号"}]
    base = {"uscc": other, "pack_id": SHANXI, "rule_code": PRODUCT_RULE,
            "evidence": evidence}
    mine = auth("enterprise", other)

    # an item the registry has not announced: a person checks the evidence
    unknown = str(uuid.uuid4())
    filed = await rewards.call("POST", "/v1/claims", {**base, "item_ref": unknown},
                               headers=mine, expect=201)
    assert (filed["status"], filed["origin"], filed["doubt_flags"], filed["filed_by"]) == (
        "pending_review", "filed", ["evidence.unverified"], f"enterprise:{other}")
    assert filed["evidence"] == evidence and filed["amount_cny"] == "20000.00"
    assert line(filed, "evidence.complete")["passed"] is True
    # the registry announced the product for another party (a Hubei enterprise: no Shanxi
    # claim was drafted for it): a person looks, nobody is refused automatically
    hubei = await rewards.enterprise(region="420281")
    theirs = product_event(hubei)
    await rewards.publish(theirs)
    await rewards.until(lambda: _item_known(rewards, theirs.subject), what="the item fact")
    assert await rewards.claims_for(theirs.subject) == []
    mismatch = await rewards.call("POST", "/v1/claims", {**base, "item_ref": theirs.subject},
                                  headers=mine, expect=201)
    assert (mismatch["status"], mismatch["doubt_flags"]) == ("pending_review",
                                                             ["evidence.mismatch"])
    assert line(mismatch, "doubt.item_party")["figures"] == {"claimant": other,
                                                             "item_party": hubei}
    # the owner's own announced product was drafted already: filing it is a 409 naming it
    resp = await rewards.client.post("/v1/claims", json={
        **base, "uscc": owner, "item_ref": announced.subject}, headers=auth("enterprise", owner))
    assert problem(resp, 409)["claim_id"] == (
        await rewards.claims_for(announced.subject))[0]["claim_id"]
    # a manual rule (Datong): filed with evidence, checked against the qualifications
    datong = {"uscc": other, "pack_id": "rewards-datong-2023", "rule_code": "srdi_ip_support",
              "item_ref": "2026-IP-MEASURES-1", "requested_cny": "80000",
              "evidence": [{"code": "ip_measure_report", "document_no": "大同-2026-01"}]}
    srdi = await rewards.call("POST", "/v1/claims", datong, headers=mine, expect=201)
    assert srdi["status"] == "rejected"  # no 专精特新 qualification
    assert line(srdi, "enterprise.srdi")["passed"] is False
    assert line(srdi, "jurisdiction.covers")["passed"] is True
    # with the qualification, a new item of the same rule goes to MIIT's queue
    await rewards.publish(qualification_event(other, "zjtx_sme"))
    await rewards.until(lambda: _qualified(rewards, other), what="the qualification")
    srdi2 = await rewards.call("POST", "/v1/claims", {**datong, "item_ref": "2026-IP-2"},
                               headers=mine, expect=201)
    assert (srdi2["status"], srdi2["department"], srdi2["requested_cny"],
            srdi2["item_kind"]) == ("pending_review", "miit", "80000.00", "manual")
    assert "amount.assessed" in srdi2["doubt_flags"]

    # refusals naming the field
    cases = [
        ({**base, "item_ref": "x", "evidence": []}, 422, "evidence"),
        ({**base, "item_ref": "x", "pack_id": "rewards-mars-2030"}, 422, "pack_id"),
        ({**base, "item_ref": "x", "rule_code": "moon_landing"}, 422, "rule_code"),
        ({**base, "item_ref": "x", "uscc": "91140200MA0XXXXXX1"}, 422, "uscc"),
        ({**base, "item_ref": "x", "requested_cny": "1.001"}, 422, "requested_cny"),
    ]
    for body, status, field in cases:
        got = problem(await rewards.client.post("/v1/claims", json=body, headers=mine), status)
        assert got["errors"][0]["field"] == field, got
    missing = problem(await rewards.client.post("/v1/claims", json={
        **base, "item_ref": "x", "evidence": [{"code": "other", "document_no": "1"}]},
        headers=mine), 422)
    assert missing["missing"] == ["recognition_notice"]
    # another organisation files for ``other``: 403; an officer may file on its behalf
    problem(await rewards.client.post("/v1/claims", json={**base, "item_ref": "y"},
                                      headers=auth("enterprise", owner)), 403)
    on_behalf = await rewards.call("POST", "/v1/claims", {**base, "item_ref": "y"},
                                   headers=auth(), expect=201)
    assert on_behalf["filed_by"] == "market_regulation:dev"
    # Idempotency-Key: the same filing retried is the same claim
    key = {**mine, "Idempotency-Key": "file-z-1"}
    one = await rewards.call("POST", "/v1/claims", {**base, "item_ref": "z"}, headers=key,
                             expect=201)
    resp = await rewards.client.post("/v1/claims", json={**base, "item_ref": "z"}, headers=key)
    assert resp.status_code == 201 and resp.headers["idempotent-replayed"] == "true"
    assert resp.json()["claim_id"] == one["claim_id"]


async def _item_known(rewards, item_ref: str) -> bool:
    from services.rewards.facts.models import RewardItem
    async with rewards.app.state.sessionmaker() as session:
        return await session.get(RewardItem, ("product", item_ref)) is not None


async def _qualified(rewards, uscc: str) -> bool:
    import sqlalchemy as sa

    from services.rewards.facts.models import RewardQualification
    async with rewards.app.state.sessionmaker() as session:
        return bool(await session.scalar(sa.select(sa.func.count()).select_from(
            RewardQualification).where(RewardQualification.uscc == uscc)))


# --- holds, releases, clawback and recovery (credit flags raised at the real registry) ----------

async def test_credit_flags_hold_pending_claims_reopen_paid_ones_and_recovery_closes_them(
        rewards, db_url):
    from tests.conftest import running_registry
    from tests.factories import enterprise_body

    async with running_registry(db_url, rewards.broker) as (_, registry):
        body = enterprise_body(founded_on="2016-05-20")
        resp = await registry.post("/v1/enterprises", json=body, headers=auth())
        assert resp.status_code == 201, resp.text
        uscc = body["uscc"]
        await rewards.until(lambda: rewards.known(uscc), what="the registry's enterprise")
        await rewards.open_fund("20000.00")
        first, second = product_event(uscc), product_event(uscc)
        await rewards.publish(first)
        paid = await rewards.wait_claim(first.subject, "paid")
        await rewards.publish(second)  # the fund is empty now: approved, waiting for money
        waiting = await rewards.wait_claim(second.subject, "approved")
        assert waiting["payment_blocked"] == "insufficient_balance"
        resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
            "kind": "hvp_cultivation_center", "certificate_no": "晋知培〔2026〕3号",
            "valid_from": today_cn().isoformat(),
            "valid_to": (today_cn() + timedelta(days=3 * 365)).isoformat()}, headers=auth())
        assert resp.status_code == 201, resp.text
        centre = await rewards.wait_claim(resp.json()["id"], "pending_review")

        resp = await registry.post("/v1/credit-flags", json={
            "uscc": uscc, "kind": "data_fraud", "source": "信用中国（山西）",
            "reference": "晋市监信〔2026〕7号", "flagged_on": today_cn().isoformat()},
            headers=auth("credit"))
        assert resp.status_code == 201, resp.text
        flag = resp.json()
        clawed = await rewards.wait_claim(first.subject, "recovery")
        assert flag["id"] in clawed["recovery_reason"] and "data_fraud" in \
            clawed["recovery_reason"]
        held = {c["claim_id"]: c for c in [await rewards.wait_claim(second.subject, "held"),
                                           await rewards.wait_claim(centre["item_ref"], "held")]}
        assert {c["status_before_hold"] for c in held.values()} == {"approved", "pending_review"}
        assert all("data_fraud" in c["hold_reason"] for c in held.values())
        # a held claim is neither decided nor paid while the flag stands
        resp = await rewards.client.post(f"/v1/claims/{centre['claim_id']}/decision", json={
            "decision": "approve", "reason": "核定", "amount_cny": "100000"}, headers=auth())
        assert problem(resp, 409)["claim_status"] == "held"
        assert (await rewards.deposit("20000.00"))["claims_paid"] == 0
        # a product recognised while flagged: a doubt, and held at once
        third = product_event(uscc)
        await rewards.publish(third)
        late = await rewards.wait_claim(third.subject, "held")
        assert late["status_before_hold"] == "pending_review"
        assert "credit.active_flag" in late["doubt_flags"]
        assert (await rewards.fund())["balance_cny"] == "20000.00"

        resp = await registry.post(f"/v1/credit-flags/{flag['id']}/clearance",
                                   json={"reason": "完成信用修复，已移出名单"},
                                   headers=auth("credit"))
        assert resp.status_code == 200, resp.text
        # released where they were: the approved one is paid now, the others back in review
        assert (await rewards.wait_claim(second.subject, "paid"))["paid_cny"] == "20000.00"
        back = await rewards.wait_claim(centre["item_ref"], "pending_review")
        assert back["hold_reason"] is None and back["status_before_hold"] is None
        await rewards.wait_claim(third.subject, "pending_review")
        released = await rewards.events("claim.released", uscc, count=3)
        assert {e["claim_id"] for e in released} == {waiting["claim_id"], centre["claim_id"],
                                                     late["claim_id"]}
        # clawed-back claims stay under recovery until an officer closes them
        assert (await rewards.claim(paid["claim_id"]))["status"] == "recovery"

    # recovery: not more than was paid; then the money comes back into the ledger
    path = f"/v1/claims/{paid['claim_id']}/recovery"
    body = problem(await rewards.client.post(path, json={
        "outcome": "recovered", "amount_cny": "20000.01", "reason": "追回"}, headers=auth()), 422)
    assert (body["errors"][0]["field"], body["paid_cny"]) == ("amount_cny", "20000.00")
    problem(await rewards.client.post(path, json={"outcome": "recovered", "reason": "追回"},
                                      headers=auth()), 422)
    problem(await rewards.client.post(path, json={"outcome": "waived", "reason": "免于追回"},
                                      headers=auth("miit")), 403)
    closed = await rewards.call("POST", path, {
        "outcome": "recovered", "amount_cny": "20000.00", "reference": "缴款书 2026-007",
        "reason": "依法追回数据造假所获奖励"})
    assert (closed["status"], closed["recovered_cny"]) == ("recovered", "20000.00")
    assert line(closed, "recovery.recovered")["figures"]["by"] == "market_regulation:dev"
    entries = await rewards.ledger()
    assert entries[-1]["kind"] == "recovery" and entries[-1]["amount_cny"] == "20000.00"
    assert entries[-1]["claim_id"] == paid["claim_id"]
    fund = await rewards.fund()
    assert (fund["balance_cny"], fund["recovered_cny"]) == ("20000.00", "20000.00")
    assert [e["status"] for e in await rewards.events("claim.recovered", uscc)] == ["recovered"]
    problem(await rewards.client.post(path, json={"outcome": "waived", "reason": "重复"},
                                      headers=auth()), 409)
    sums = await rewards.assert_ledger_invariant()
    assert sums == {"deposit": Decimal("40000.00"), "payment": Decimal("-40000.00"),
                    "recovery": Decimal("20000.00")}


async def test_a_flag_of_another_kind_holds_but_claws_nothing_back_and_waiving_needs_a_reason(
        rewards):
    await rewards.open_fund("100000.00")
    uscc = await rewards.enterprise()
    done = product_event(uscc)
    await rewards.publish(done)
    paid = await rewards.wait_claim(done.subject, "paid")
    tax = str(uuid.uuid4())
    await rewards.publish(flag_event(uscc, "tax_evasion", tax))
    await rewards.until(lambda: _flag(rewards, tax, active=True), what="the flag projected")
    pending = product_event(uscc)
    await rewards.publish(pending)
    held = await rewards.wait_claim(pending.subject, "held")
    assert "tax_evasion" in held["hold_reason"]
    assert (await rewards.claim(paid["claim_id"]))["status"] == "paid"  # not a clawback kind
    # a stale redelivery of the raise after the clearance changes nothing
    fraud = str(uuid.uuid4())
    await rewards.publish(flag_event(uscc, "tax_evasion", tax, cleared=True))
    await rewards.wait_claim(pending.subject, "pending_review")
    await rewards.publish(flag_event(uscc, "tax_evasion", tax),  # revision 1 < 2: stale
                          flag_event(uscc, "abnormal_patent_application", fraud))
    clawed = await rewards.wait_claim(done.subject, "recovery")
    assert fraud in clawed["recovery_reason"] and "tax_evasion" not in (
        (await rewards.wait_claim(pending.subject, "held"))["hold_reason"])
    path = f"/v1/claims/{clawed['claim_id']}/recovery"
    problem(await rewards.client.post(path, json={"outcome": "waived"}, headers=auth()), 422)
    waived = await rewards.call("POST", path, {"outcome": "waived",
                                               "reason": "企业已注销，无可追回财产"})
    assert (waived["status"], waived["recovered_cny"]) == ("recovery_waived", None)
    assert (await rewards.fund())["recovered_cny"] == "0.00"
    await rewards.assert_ledger_invariant()


async def _flag(rewards, flag_id: str, *, active: bool) -> bool:
    from services.rewards.facts.models import RewardCreditFlag
    async with rewards.app.state.sessionmaker() as session:
        flag = await session.get(RewardCreditFlag, flag_id)
        return flag is not None and flag.active is active


# --- reads --------------------------------------------------------------------------------------

async def test_an_organisation_reads_only_its_own_claims_newest_first_in_pages(rewards):
    a, b = await rewards.enterprise(), await rewards.enterprise()
    a_items = [product_event(a) for _ in range(5)]
    await rewards.publish(*a_items, product_event(b))
    await rewards.until(lambda: _count(rewards, a, 5), what="five claims of a")
    await rewards.until(lambda: _count(rewards, b, 1), what="b's claim")
    own = auth("enterprise", a)
    page = await rewards.call("GET", "/v1/claims?limit=2", headers=own)
    assert len(page["items"]) == 2 and page["next_cursor"]
    seen = await rewards.claims(headers=own)
    assert [c["item_ref"] for c in seen] == [e.subject for e in reversed(a_items)]
    assert {c["uscc"] for c in seen} == {a}
    problem(await rewards.client.get(f"/v1/claims?uscc={b}", headers=own), 403)
    problem(await rewards.client.get(f"/v1/claims/{seen[0]['claim_id']}",
                                     headers=auth("enterprise", b)), 403)
    problem(await rewards.client.get("/v1/claims", headers=auth("bank", "BANK001")), 403)
    auditor = await rewards.claims(headers=auth("auditor"))
    assert {c["uscc"] for c in auditor} >= {a}
    problem(await rewards.client.get("/v1/claims?cursor=bm90LWEtY3Vyc29y", headers=own), 422)
    problem(await rewards.client.get("/v1/claims?status=lost", headers=own), 422)
    problem(await rewards.client.get("/v1/claims?sort=due&cursor=eyJhZnRlciI6ICJ4In0=",
                                     headers=own), 422)


# --- concurrency (PostgreSQL: real parallel transactions) ---------------------------------------

async def test_two_claims_racing_for_the_last_cap_room_only_one_gets_it(postgres_only, rewards):
    uscc = await rewards.enterprise()
    await rewards.open_fund("1000000.00")
    products = [product_event(uscc) for _ in range(9)]
    await rewards.publish(*products)
    for p in products:
        await rewards.wait_claim(p.subject, "paid")
    evidence = [{"code": "recognition_notice", "document_no": "晋知认〔2026〕1号"}]
    # 180,000 of 200,000 committed: two filings race for the last 20,000
    for attempt in range(3):
        items = [str(uuid.uuid4()) for _ in range(2)]
        responses = await asyncio.gather(*(rewards.client.post("/v1/claims", json={
            "uscc": uscc, "pack_id": SHANXI, "rule_code": PRODUCT_RULE, "item_ref": item,
            "evidence": evidence}, headers=auth("enterprise", uscc)) for item in items))
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        statuses = sorted(r.json()["status"] for r in responses)
        if attempt == 0:
            assert statuses == ["pending_review", "rejected"]  # unannounced item: a doubt
        else:
            assert statuses == ["rejected", "rejected"]
    # once per organisation, by item count: ten centres filed at once, one gets the item
    centres = [str(uuid.uuid4()) for _ in range(10)]
    responses = await asyncio.gather(*(rewards.client.post("/v1/claims", json={
        "uscc": uscc, "pack_id": SHANXI, "rule_code": "hvp_cultivation_center",
        "item_ref": item, "requested_cny": "100000",
        "evidence": [{"code": "approval_notice", "document_no": item[:8]}]},
        headers=auth("enterprise", uscc)) for item in centres))
    assert sorted(r.json()["status"] for r in responses) == ["pending_review"] + ["rejected"] * 9
    import sqlalchemy as sa

    from services.rewards.claims.models import ClaimTally
    async with rewards.app.state.sessionmaker() as session:
        tallies = {t.key.split("|")[1]: (t.committed_cny, t.items) for t in await session.scalars(
            sa.select(ClaimTally).where(ClaimTally.key.contains(uscc)))}
    assert tallies == {PRODUCT_RULE: (Decimal("200000.00"), 10),
                       "hvp_cultivation_center": (Decimal("100000.00"), 1)}
