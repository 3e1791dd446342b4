"""Reward funds against the running service (SQLite and PostgreSQL): created and topped up by
their manager department (Idempotency-Key honoured), a ledger whose entries sum to the balance,
approved claims that wait for money and are paid by a deposit or the retry task, and — on
PostgreSQL, with real parallel transactions — a fund that never overspends while approvals and
deposits race, and a claim paid once however often it is approved at the same time."""

from __future__ import annotations

import asyncio
import uuid

from tests.harness import auth
from tests.rewards.conftest import PRODUCT_RULE, SHANXI, flag_event, product_event

EVIDENCE = [{"code": "recognition_notice", "document_no": "晋知认〔2026〕5号"}]


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


async def file_pending(rewards, uscc: str) -> dict:
    """A filed claim for an item the registry has not announced: to review, 20,000 reserved."""
    claim = await rewards.call("POST", "/v1/claims", {
        "uscc": uscc, "pack_id": SHANXI, "rule_code": PRODUCT_RULE,
        "item_ref": str(uuid.uuid4()), "evidence": EVIDENCE},
        headers=auth("enterprise", uscc), expect=201)
    assert (claim["status"], claim["amount_cny"]) == ("pending_review", "20000.00")
    return claim


async def test_a_fund_is_created_topped_up_once_per_key_and_its_ledger_sums_to_the_balance(
        rewards):
    fund = await rewards.open_fund()
    assert (fund["code"], fund["balance_cny"], fund["manager_department"],
            fund["blocked_claims"]) == ("shanxi-ip-fund", "0.00", "market_regulation", 0)
    problem(await rewards.client.post("/v1/funds", json={
        "code": "shanxi-ip-fund", "name": "重复", "source_kind": "ip_fund",
        "jurisdiction": "14"}, headers=auth()), 409)
    for bad, field in (({"code": "Shanxi Fund"}, "code"), ({"jurisdiction": "Shanxi"},
                                                           "jurisdiction"),
                       ({"source_kind": "lottery"}, "source_kind")):
        body = problem(await rewards.client.post("/v1/funds", json={
            "code": "x-fund", "name": "某资金", "source_kind": "ip_fund", "jurisdiction": "14",
            **bad}, headers=auth()), 422)
        assert body["errors"][0]["field"] == field
    problem(await rewards.client.post("/v1/funds", json={
        "code": "x-fund", "name": "某资金", "source_kind": "ip_fund", "jurisdiction": "14"},
        headers=auth("enterprise", "91140200MA0K2B3C4D")), 403)

    key = {**auth(), "Idempotency-Key": "deposit-2026-01"}
    body = {"amount_cny": "300000.00", "reference": "晋财建〔2026〕1号", "note": "年度预算"}
    first = await rewards.client.post("/v1/funds/shanxi-ip-fund/deposits", json=body,
                                      headers=key)
    again = await rewards.client.post("/v1/funds/shanxi-ip-fund/deposits", json=body,
                                      headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    problem(await rewards.client.post("/v1/funds/shanxi-ip-fund/deposits",
                                      json={**body, "amount_cny": "1.00"}, headers=key), 422)
    # only the manager department moves the money
    body403 = problem(await rewards.client.post("/v1/funds/shanxi-ip-fund/deposits", json={
        "amount_cny": "1.00", "reference": "x"}, headers=auth("miit")), 403)
    assert body403["manager_department"] == "market_regulation"
    problem(await rewards.client.post("/v1/funds/nowhere-fund/deposits", json={
        "amount_cny": "1.00", "reference": "x"}, headers=auth()), 404)
    problem(await rewards.client.post("/v1/funds/shanxi-ip-fund/deposits", json={
        "amount_cny": "-5", "reference": "x"}, headers=auth()), 422)
    await rewards.deposit("50000.50")
    await rewards.deposit("49999.50")

    entries = await rewards.ledger()
    assert [(e["kind"], e["amount_cny"], e["balance_after_cny"]) for e in entries] == [
        ("deposit", "300000.00", "300000.00"), ("deposit", "50000.50", "350000.50"),
        ("deposit", "49999.50", "400000.00")]
    page = await rewards.call("GET", "/v1/funds/shanxi-ip-fund/ledger?limit=2")
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await rewards.call("GET", f"/v1/funds/shanxi-ip-fund/ledger?cursor="
                                     f"{page['next_cursor']}")
    assert [e["id"] for e in page["items"] + rest["items"]] == [e["id"] for e in entries]
    problem(await rewards.client.get("/v1/funds/shanxi-ip-fund/ledger?cursor=eyJhZnRlciI6ICJ4In0=",
                                     headers=auth()), 422)
    listed = await rewards.call("GET", "/v1/funds", headers=auth("auditor"))
    assert [(f["code"], f["balance_cny"]) for f in listed["items"]] == [
        ("shanxi-ip-fund", "400000.00")]
    problem(await rewards.client.get("/v1/funds", headers=auth("bank", "BANK001")), 403)
    problem(await rewards.client.get("/v1/funds/nowhere-fund", headers=auth()), 404)
    await rewards.assert_ledger_invariant()


async def test_approved_claims_wait_for_money_and_are_paid_when_it_comes(rewards):
    uscc = await rewards.enterprise()
    products = [product_event(uscc) for _ in range(3)]
    await rewards.publish(*products)
    waiting = [await rewards.wait_claim(p.subject, "approved") for p in products]
    assert {c["payment_blocked"] for c in waiting} == {"fund_missing"}
    fund = await rewards.open_fund()
    assert (fund["blocked_claims"], fund["blocked_cny"]) == (3, "60000.00")
    assert {(await rewards.claim(c["claim_id"]))["payment_blocked"] for c in waiting} == {
        "insufficient_balance"}
    # a deposit pays what it covers, oldest approval first
    deposit = await rewards.deposit("45000.00")
    assert deposit["claims_paid"] == 2 and deposit["fund"]["balance_cny"] == "5000.00"
    now = [await rewards.claim(c["claim_id"]) for c in waiting]
    assert [c["status"] for c in now] == ["paid", "paid", "approved"]
    assert [e["claim_id"] for e in await rewards.events("claim.paid", uscc, count=2)] == [
        c["claim_id"] for c in waiting[:2]]
    # money coming back from a clawed-back claim is paid out by the retry task
    await rewards.publish(flag_event(uscc, "data_fraud", str(uuid.uuid4())))
    clawed = await rewards.wait_claim(products[0].subject, "recovery")
    held = await rewards.wait_claim(products[2].subject, "held")
    assert held["status_before_hold"] == "approved"
    await rewards.call("POST", f"/v1/claims/{clawed['claim_id']}/recovery", {
        "outcome": "recovered", "amount_cny": "20000.00", "reason": "追回"})
    other = await rewards.enterprise()
    late = product_event(other)
    await rewards.publish(late)
    # 25,000 in the fund: the new claim is paid at once
    assert (await rewards.wait_claim(late.subject, "paid"))["paid_cny"] == "20000.00"
    # the held one waits for its flag, not for money
    assert (await rewards.claim(held["claim_id"]))["status"] == "held"
    await rewards.assert_ledger_invariant()


async def test_the_retry_task_pays_claims_a_deposit_could_not_reach(rewards):
    """Money that arrives without paying the waiting claims itself (a recovery) is paid out by
    the periodic retry, within seconds."""
    await rewards.open_fund("20000.00")
    a, b = await rewards.enterprise(), await rewards.enterprise()
    first = product_event(a)
    await rewards.publish(first)
    paid = await rewards.wait_claim(first.subject, "paid")
    second = product_event(b)
    await rewards.publish(second)
    blocked = await rewards.wait_claim(second.subject, "approved")
    assert blocked["payment_blocked"] == "insufficient_balance"
    await rewards.publish(flag_event(a, "data_fraud", str(uuid.uuid4())))
    clawed = await rewards.wait_claim(first.subject, "recovery")
    await rewards.call("POST", f"/v1/claims/{clawed['claim_id']}/recovery", {
        "outcome": "recovered", "amount_cny": paid["paid_cny"], "reason": "追回"})
    done = await rewards.wait_claim(second.subject, "paid", timeout=15)
    assert done["ledger_entry_id"] and done["payment_blocked"] is None
    assert (await rewards.fund())["balance_cny"] == "0.00"
    await rewards.assert_ledger_invariant()


# --- concurrency --------------------------------------------------------------------------------

async def test_racing_approvals_and_deposits_never_overspend_the_fund(rewards):
    """40 approvals and 5 deposits at once against a fund that covers 10 claims in the end:
    exactly 10 are paid, the balance never goes below zero, and the ledger adds up. On
    PostgreSQL these are real parallel transactions; SQLite serialises them."""
    orgs = [await rewards.enterprise() for _ in range(4)]
    claims = [await file_pending(rewards, org) for org in orgs for _ in range(10)]
    await rewards.open_fund("100000.00")
    officer = auth()
    decisions = [rewards.client.post(f"/v1/claims/{c['claim_id']}/decision", json={
        "decision": "approve", "reason": "材料核实无误"}, headers=officer) for c in claims]
    deposits = [rewards.client.post("/v1/funds/shanxi-ip-fund/deposits", json={
        "amount_cny": "20000.00", "reference": f"追加预算-{i}"}, headers=officer)
        for i in range(5)]
    responses = await asyncio.gather(*decisions, *deposits)
    assert [r.status_code for r in responses] == [200] * 40 + [201] * 5, [
        r.text for r in responses if r.status_code >= 300]

    async def settled():
        now = await rewards.claims()
        paid = [c for c in now if c["status"] == "paid"]
        return now if len(paid) == 10 else None
    final = await rewards.until(settled, timeout=20, what="ten paid claims")
    assert sorted(c["status"] for c in final) == ["approved"] * 30 + ["paid"] * 10
    assert {c["payment_blocked"] for c in final if c["status"] == "approved"} == {
        "insufficient_balance"}
    fund = await rewards.fund()
    assert (fund["balance_cny"], fund["paid_cny"], fund["deposited_cny"]) == (
        "0.00", "200000.00", "200000.00")
    assert fund["blocked_claims"] == 30
    await rewards.assert_ledger_invariant()


async def test_one_claim_approved_many_times_at_once_is_paid_once(postgres_only, rewards):
    uscc = await rewards.enterprise()
    claim = await file_pending(rewards, uscc)
    await rewards.open_fund("100000.00")
    responses = await asyncio.gather(*(rewards.client.post(
        f"/v1/claims/{claim['claim_id']}/decision",
        json={"decision": "approve", "reason": f"第{i}位审核人"}, headers=auth())
        for i in range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    assert all(r.json()["claim_status"] == "paid" for r in responses if r.status_code == 409)
    assert (await rewards.fund())["balance_cny"] == "80000.00"
    entries = [e for e in await rewards.ledger() if e["kind"] == "payment"]
    assert [e["claim_id"] for e in entries] == [claim["claim_id"]]
    await rewards.assert_ledger_invariant()
