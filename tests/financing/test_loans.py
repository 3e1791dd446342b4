"""Pledge loans end to end: enterprises and patents registered at the registry, valuations and
loans at financing, on the real broker and both databases. The state machine from application to
closing, the pledge rules (a patent pledged once, co-owners' consent), the lending bank's
decision within the pledge cap and the pool quota, the events a bank and the registry receive,
and the green channel."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.financing.facts.models import PoolFact
from services.financing.loans.models import BankQuota, Loan
from services.financing.loans import repository, service
from services.financing.loans.reads import mark_green_channel_breaches
from shared.db import today_cn
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.financing.helpers import (BANK, new_patent, new_sme, wait_enterprise, wait_entry,
                                     whitelisted_sme)
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic
from tests.registry.ip_factories import application_no

pytestmark = pytest.mark.asyncio
TOPIC = "financing.loan.v1"
OTHER_BANK = "BANK002"


def bank(org: str = BANK) -> dict[str, str]:
    return auth("bank", org)


def firm(uscc: str) -> dict[str, str]:
    return auth("enterprise", uscc)


# --- building the scenario ----------------------------------------------------------------------


async def borrower(stack, **overrides) -> tuple[str, str]:
    """A registered SME with one granted invention, known to financing: (uscc, application_no)."""
    uscc = await new_sme(stack, **overrides)
    number = await new_patent(stack, uscc)
    await wait_enterprise(stack, uscc)
    return uscc, number


async def value(stack, number: str, amount: str = "8000000") -> dict:
    """A cost-approach valuation (no obsolescence): worth exactly ``amount`` yuan."""
    resp = await stack.financing.post("/v1/valuations", headers=auth("market_regulation"), json={
        "application_no": number, "purpose": "pledge_financing",
        "cost": {"variant": "obsolescence", "replacement_cost_cny": amount,
                 "obsolescence_rate": "0"}})
    assert resp.status_code == 201, resp.text
    assert Decimal(resp.json()["value_cny"]) == Decimal(amount)
    return resp.json()


async def apply(stack, uscc: str, patents: list[str], *, amount: str = "3200000.00",
                bank_code: str = BANK, headers: dict | None = None):
    return await stack.financing.post("/v1/loans", headers=headers or firm(uscc), json={
        "bank_code": bank_code, "requested_amount_cny": amount, "term_months": 12,
        "purpose": "研发中试线流动资金", "patents": patents})


async def applied(stack, uscc: str, patents: list[str], **kw) -> dict:
    resp = await apply(stack, uscc, patents, **kw)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def act(stack, loan_id: str, step: str, body: dict | None = None, *,
              headers: dict | None = None, expect: int = 200) -> dict:
    resp = await stack.financing.post(f"/v1/loans/{loan_id}/{step}", json=body or {},
                                      headers=headers or bank())
    assert resp.status_code == expect, resp.text
    return resp.json()


def approve(amount: str = "3200000.00") -> dict:
    return {"decision": "approve", "approved_amount_cny": amount, "interest_rate": "0.0385",
            "term_months": 12}


async def under_review(stack, uscc: str, number: str, **kw) -> dict:
    loan = await applied(stack, uscc, [number], **kw)
    return await act(stack, loan["id"], "review", headers=bank(loan["bank_code"]))


async def admit_to_pool(stack, broker, uscc: str) -> None:
    """The registry's pool publishes pool.admitted (issue 7); financing projects it."""
    etype = event_type("pool.admitted")
    event = CloudEvent(type=etype.type, source=etype.source, subject=uscc,
                       dataschema=etype.dataschema,
                       data={"uscc": uscc, "province_code": "14",
                             "admitted_on": today_cn().isoformat(), "revision": 1})
    await produce(broker.bootstrap, "registry.enterprise.v1",
                  [(uscc.encode(), event.body(), event.headers())])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with stack.financing_app.state.sessionmaker() as session:
            if await session.scalar(sa.select(PoolFact.status).where(PoolFact.uscc == uscc)):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"financing never projected pool.admitted for {uscc}")


async def loan_events(broker, uscc: str, count: int) -> list[tuple[str, dict]]:
    """The loan and pledge events about ``uscc`` (valuations share the topic), once ``count``
    have arrived."""
    def mine(records):
        return [r for r in records if r.key == uscc.encode()
                and header(r, "ce_type").split(".")[0] in ("loan", "pledge")]
    records = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: len(mine(rs)) >= count)
    return [(header(r, "ce_type"), json.loads(r.value)) for r in mine(records)]


# --- the whole life of a loan -------------------------------------------------------------------

async def test_a_loan_from_application_to_closing(stack, broker):
    uscc, number = await borrower(stack)
    valuation = await value(stack, number)
    key = {"Idempotency-Key": f"apply-{uuid.uuid4()}"}
    first = await apply(stack, uscc, [number], headers=firm(uscc) | key)
    assert first.status_code == 201, first.text
    retry = await apply(stack, uscc, [number], headers=firm(uscc) | key)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    loan = first.json()
    assert retry.json()["id"] == loan["id"]
    assert loan["status"] == "applied" and loan["borrower_uscc"] == uscc
    assert loan["bank_code"] == BANK and loan["requested_amount_cny"] == "3200000.00"
    assert [(p["application_no"], p["status"]) for p in loan["pledges"]] == [(number, "applied")]
    assert {r["rule"] for r in loan["application_basis"]["patents"][0]["rules"]} >= {
        "patent.owned_by_applicant", "patent.granted_in_force", "patent.kind_pledgeable",
        "patent.not_suspended", "patent.not_pledged"}
    assert [t["action"] for t in loan["allowed_transitions"]] == ["review", "withdraw"]
    lid = loan["id"]

    loan = await act(stack, lid, "review")
    assert loan["status"] == "under_review"
    key = {"Idempotency-Key": f"decide-{uuid.uuid4()}"}
    loan = await act(stack, lid, "decision", approve(), headers=bank() | key)
    again = await stack.financing.post(f"/v1/loans/{lid}/decision", json=approve(),
                                       headers=bank() | key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert loan["status"] == "approved" and loan["approved_amount_cny"] == "3200000.00"
    assert loan["interest_rate"] == "0.0385" and loan["approved_term_months"] == 12
    basis = loan["decision_basis"]
    assert basis["pack"] == "loans-pledge@v1"
    assert basis["cap"]["cap_cny"] == "3200000.00"
    assert basis["cap"]["patents"][0]["pledge_rate"] == "0.4"
    assert basis["valuations"][0]["valuation_id"] == valuation["id"]
    assert basis["valuations"][0]["value_cny"] == "8000000.00"
    assert basis["quota"]["applies"] is False and loan["quota_counted_cny"] is None
    cap_rule = next(r for r in basis["rules"] if r["rule"] == "amount.within_pledge_cap")
    assert cap_rule["passed"] and cap_rule["clause"][0]["pack"] == "loans-pledge@v1"
    assert loan["pledges"][0]["status"] == "approved"
    assert loan["pledges"][0]["valuation_value_cny"] == "8000000.00"

    loan = await act(stack, lid, "pledge-registration", {
        "pledgee_name": "示例银行股份有限公司大同分行",
        "registrations": [{"application_no": number, "registration_no": "Y2026990000123"}]})
    assert loan["status"] == "pledge_registered"
    assert loan["pledges"][0]["registration_no"] == "Y2026990000123"
    # The registry records the pledge from the event and reports the patent pledged.
    await _wait_registry_pledged(stack, number, True)

    loan = await act(stack, lid, "disbursement", {})
    assert loan["status"] == "disbursed" and loan["disbursed_amount_cny"] == "3200000.00"
    assert loan["outstanding_principal_cny"] == "3200000.00"
    assert loan["maturity_on"] is not None
    loan = await act(stack, lid, "repayment", {})
    assert loan["status"] == "repaid" and loan["outstanding_principal_cny"] == "0.00"
    assert [(p["status"], p["release_reason"]) for p in loan["pledges"]] == [
        ("released", "repaid")]
    await _wait_registry_pledged(stack, number, False)
    loan = await act(stack, lid, "close", {})
    assert loan["status"] == "closed" and loan["close_reason"] == "repaid"
    assert loan["allowed_transitions"] == []
    assert [h["to"] for h in loan["history"]] == [
        "applied", "under_review", "approved", "pledge_registered", "disbursed", "repaid",
        "closed"]

    events = await loan_events(broker, uscc, 7)
    assert [t for t, _ in events] == [
        "loan.applied", "loan.approved", "pledge.registered", "loan.disbursed",
        "pledge.released", "loan.repaid", "loan.closed"]
    by_type = dict(events)
    assert by_type["loan.approved"]["cap_cny"] == "3200000.00"
    assert by_type["pledge.registered"]["application_no"] == number
    assert by_type["pledge.registered"]["pledgee_bank_code"] == BANK
    assert by_type["pledge.registered"]["secured_amount_cny"] == "3200000.00"
    assert by_type["pledge.released"]["reason"] == "repaid"
    assert by_type["pledge.released"]["revision"] > by_type["pledge.registered"]["revision"]
    revisions = [p["revision"] for t, p in events if t.startswith("loan.")]
    assert revisions == sorted(revisions)


async def _wait_registry_pledged(stack, number: str, pledged: bool, timeout: float = 20):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = (await stack.registry.get(f"/v1/patents/{number}", headers=auth())).json()
        active = [e for e in body.get("encumbrances") or []
                  if e["kind"] == "pledge" and e["active"]]
        if bool(active) is pledged:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"registry never showed {number} pledged={pledged}: {body}")


async def test_default_compensation_and_closing(stack, broker):
    uscc, number = await borrower(stack)
    await value(stack, number)
    loan = await under_review(stack, uscc, number)
    lid = loan["id"]
    await act(stack, lid, "decision", approve("1000000.00"))
    await act(stack, lid, "pledge-registration", {
        "pledgee_name": "示例银行", "registrations": [
            {"application_no": number, "registration_no": "Y1"}]})
    await act(stack, lid, "disbursement", {})
    since = today_cn().isoformat()
    loan = await act(stack, lid, "overdue", {"overdue_since": since})
    assert loan["status"] == "overdue"
    refused = await act(stack, lid, "default", {"outstanding_principal_cny": "800000.00",
                                                "principal_loss_cny": "800000.01"}, expect=422)
    assert refused["errors"][0]["rule"] == "principal_loss.within_outstanding"
    loan = await act(stack, lid, "default", {"outstanding_principal_cny": "800000.00",
                                             "principal_loss_cny": "500000.00"})
    assert loan["status"] == "defaulted" and loan["principal_loss_cny"] == "500000.00"
    # The bank may write it off (close); compensation is the fund's step, taken only by the
    # compensation module through service.mark_compensated (no route marks it).
    assert [(t["action"], t["actor"]) for t in loan["allowed_transitions"]] == [
        ("compensate", "compensation"), ("close", "bank")]
    async with stack.financing_app.state.sessionmaker() as session, session.begin():
        row = await repository.get_loan(session, lid, for_update=True)
        await service.mark_compensated(session, row, claim_id="claim-1",
                                       amount_cny=Decimal("250000.00"))
    loan = await act(stack, lid, "close", {})
    assert loan["status"] == "closed" and loan["close_reason"] == "compensated"
    assert loan["compensated_amount_cny"] == "250000.00"
    assert [(p["status"], p["release_reason"]) for p in loan["pledges"]] == [
        ("released", "closed")]
    types = [t for t, _ in await loan_events(broker, uscc, 9)]
    assert types == ["loan.applied", "loan.approved", "pledge.registered", "loan.disbursed",
                     "loan.overdue", "loan.defaulted", "loan.compensated", "pledge.released",
                     "loan.closed"]


# --- the state machine at the API ---------------------------------------------------------------

async def test_an_illegal_transition_is_409_listing_the_allowed_ones(stack):
    uscc, number = await borrower(stack)
    loan = await applied(stack, uscc, [number])
    for step, body in (("disbursement", {}), ("decision", approve()),
                       ("repayment", {}), ("close", {})):
        problem = await act(stack, loan["id"], step, body, expect=409)
        assert problem["type"] == "urn:ipbridge:problem:loan-transition-not-allowed"
        assert problem["current_status"] == "applied"
        assert problem["allowed_transitions"] == [
            {"action": "review", "to": "under_review", "actor": "bank"},
            {"action": "withdraw", "to": "closed", "actor": "applicant"}]
    # The applicant withdraws; the reserved pledge is released and the patent is free again.
    closed = await act(stack, loan["id"], "withdrawal", {"reason": "改用其他融资方式"},
                       headers=firm(uscc))
    assert closed["status"] == "closed" and closed["close_reason"] == "withdrawn"
    assert closed["pledges"][0]["status"] == "released"
    problem = await act(stack, loan["id"], "review", expect=409)
    assert problem["current_status"] == "closed" and problem["allowed_transitions"] == []
    await applied(stack, uscc, [number])


async def test_if_match_on_transitions(stack):
    uscc, number = await borrower(stack)
    loan = await applied(stack, uscc, [number])
    read = await stack.financing.get(f"/v1/loans/{loan['id']}", headers=bank())
    assert read.headers["ETag"] == '"1"'
    again = await stack.financing.get(f"/v1/loans/{loan['id']}",
                                      headers=bank() | {"If-None-Match": '"1"'})
    assert again.status_code == 304
    await act(stack, loan["id"], "review", headers=bank() | {"If-Match": '"1"'})
    stale = await act(stack, loan["id"], "decision", {"decision": "reject", "reason": "资料不全"},
                      headers=bank() | {"If-Match": '"1"'}, expect=412)
    assert stale["current_etag"] == '"2"'
    rejected = await act(stack, loan["id"], "decision", {"decision": "reject",
                                                         "reason": "资料不全"},
                         headers=bank() | {"If-Match": '"2"'})
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "资料不全"
    assert rejected["pledges"][0]["release_reason"] == "rejected"


# --- who may do what ----------------------------------------------------------------------------

async def test_only_the_lending_bank_decides_and_parties_see_only_their_loans(stack):
    uscc, number = await borrower(stack)
    await value(stack, number)
    loan = await under_review(stack, uscc, number)
    lid = loan["id"]
    problem = await act(stack, lid, "decision", approve(), headers=bank(OTHER_BANK), expect=403)
    assert problem["type"] == "urn:ipbridge:problem:not-lending-bank"
    assert problem["lending_bank"] == BANK
    await act(stack, lid, "decision", approve(), headers=firm(uscc), expect=403)
    await act(stack, lid, "decision", approve(), headers=auth("nfra"), expect=403)
    await act(stack, lid, "review", headers=bank(OTHER_BANK), expect=403)

    other = make_uscc()
    assert (await stack.financing.get(f"/v1/loans/{lid}", headers=bank(OTHER_BANK))
            ).status_code == 403
    assert (await stack.financing.get(f"/v1/loans/{lid}", headers=firm(other))).status_code == 403
    for reader in (bank(), firm(uscc), auth("pboc"), auth("nfra"), auth("market_regulation"),
                   auth("auditor")):
        assert (await stack.financing.get(f"/v1/loans/{lid}", headers=reader)).status_code == 200
    assert (await stack.financing.get(f"/v1/loans/{lid}", headers=auth("miit"))).status_code == 403

    # An officer may not apply for the enterprise; an enterprise applies only for itself.
    assert (await apply(stack, uscc, [number], headers=auth("market_regulation"))
            ).status_code == 403
    assert (await apply(stack, uscc, [number], headers=firm(other))).status_code == 422

    mine = (await stack.financing.get("/v1/loans", headers=firm(uscc))).json()["items"]
    assert [x["id"] for x in mine] == [lid]
    assert lid not in {x["id"] for x in (await stack.financing.get(
        "/v1/loans", headers=bank(OTHER_BANK))).json()["items"]}
    assert lid in {x["id"] for x in (await stack.financing.get(
        "/v1/loans", params={"borrower": uscc}, headers=auth("pboc"))).json()["items"]}
    assert (await stack.financing.get("/v1/loans", headers=auth("miit"))).status_code == 403


async def test_list_filters_and_cursor(stack):
    uscc = await new_sme(stack)
    numbers = [await new_patent(stack, uscc) for _ in range(3)]
    await wait_enterprise(stack, uscc)
    ids = [(await applied(stack, uscc, [n]))["id"] for n in numbers]
    await act(stack, ids[0], "review")
    seen, cursor = [], None
    while True:
        params = {"borrower": uscc, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await stack.financing.get("/v1/loans", params=params, headers=bank())
        assert page.status_code == 200 and page.headers["ETag"]
        seen += [x["id"] for x in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 3
    review = await stack.financing.get("/v1/loans", headers=bank(), params={
        "borrower": uscc, "status": "under_review"})
    assert [x["id"] for x in review.json()["items"]] == [ids[0]]
    today = today_cn()
    empty = await stack.financing.get("/v1/loans", headers=bank(), params={
        "borrower": uscc, "from": (today + timedelta(days=1)).isoformat()})
    assert empty.json()["items"] == []
    dated = await stack.financing.get("/v1/loans", headers=bank(), params={
        "borrower": uscc, "from": today.isoformat(), "to": today.isoformat()})
    assert len(dated.json()["items"]) == 3
    bad = await stack.financing.get("/v1/loans", headers=bank(), params={"cursor": "nope"})
    assert bad.status_code == 422


# --- the pledge rules ---------------------------------------------------------------------------

async def test_approval_above_the_pledge_cap_is_refused_with_the_figures(stack):
    uscc = await new_sme(stack)
    valued, unvalued = await new_patent(stack, uscc), await new_patent(stack, uscc)
    await wait_enterprise(stack, uscc)
    await value(stack, valued)
    loan = await under_review(stack, uscc, valued, amount="5000000.00")
    problem = await act(stack, loan["id"], "decision", approve("3200000.01"), expect=422)
    assert problem["type"] == "urn:ipbridge:problem:pledge-cap-exceeded"
    assert problem["rule"] == "amount.within_pledge_cap"
    assert problem["cap_cny"] == "3200000.00"
    assert problem["approved_amount_cny"] == "3200000.01"
    assert problem["cap"]["patents"][0]["value_cny"] == "8000000.00"
    assert problem["cap"]["patents"][0]["pledge_rate"] == "0.4"
    over_requested = await act(stack, loan["id"], "decision", approve("5000000.01"), expect=422)
    assert over_requested["errors"][0]["rule"] == "approved_amount.within_requested"
    unchanged = (await stack.financing.get(f"/v1/loans/{loan['id']}", headers=bank())).json()
    assert unchanged["status"] == "under_review" and unchanged["decision_basis"] is None

    # A patent without a valuation: the cap cannot be computed, the approval is refused.
    other = await under_review(stack, uscc, unvalued)
    problem = await act(stack, other["id"], "decision", approve("1.00"), expect=422)
    assert problem["rule"] == "valuation.present"
    assert problem["missing_valuations"] == [unvalued]
    assert unvalued in problem["detail"]


async def test_a_patent_cannot_be_pledged_twice(stack):
    uscc, number = await borrower(stack)
    first = await applied(stack, uscc, [number])
    problem = (await apply(stack, uscc, [number], bank_code=OTHER_BANK)).json()
    assert problem["status"] == 409
    assert problem["type"] == "urn:ipbridge:problem:patent-already-pledged"
    assert problem["errors"][0]["application_no"] == number
    assert problem["errors"][0]["rule"] == "patent.not_pledged"
    assert problem["errors"][0]["field"] == "patents[0]"
    await act(stack, first["id"], "withdrawal", {}, headers=firm(uscc))
    await applied(stack, uscc, [number], bank_code=OTHER_BANK)


async def test_two_concurrent_applications_for_one_patent_one_wins(stack):
    uscc = await new_sme(stack)
    shared_no, a, b = (await new_patent(stack, uscc), await new_patent(stack, uscc),
                       await new_patent(stack, uscc))
    await wait_enterprise(stack, uscc)
    # Listed in opposite orders: the loser must get a 409, not a deadlock.
    results = await asyncio.gather(apply(stack, uscc, [a, shared_no]),
                                   apply(stack, uscc, [shared_no, b], bank_code=OTHER_BANK))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert shared_no in json.dumps(loser)
    async with stack.financing_app.state.sessionmaker() as session:
        active = (await session.execute(sa.text(
            "SELECT COUNT(*) FROM pledges WHERE application_no = :n AND status <> 'released'"),
            {"n": shared_no})).scalar()
    assert active == 1


async def test_each_pledge_rule_names_the_patent(stack):
    uscc, number = await borrower(stack)
    someone_else = await new_sme(stack)
    theirs = await new_patent(stack, someone_else)
    design = await new_patent(stack, uscc, number=_design_number(), ipc_codes=[],
                              locarno_class="13-02")
    pending = await new_patent(stack, uscc, granted=False)
    problem = (await apply(stack, uscc, [number, theirs, design, pending])).json()
    assert problem["status"] == 422
    assert problem["type"] == "urn:ipbridge:problem:patent-not-pledgeable"
    failures = {(e["application_no"], e["rule"]) for e in problem["errors"]}
    assert failures == {(theirs, "patent.owned_by_applicant"),
                        (design, "patent.kind_pledgeable"),
                        (pending, "patent.granted_in_force")}
    assert {e["field"] for e in problem["errors"]} == {"patents[1]", "patents[2]", "patents[3]"}
    unknown = (await apply(stack, uscc, ["202410123456.0"])).json()
    assert unknown["errors"][0]["rule"] == "patent.known"
    twice = (await apply(stack, uscc, [number, number])).json()
    assert twice["errors"][0]["rule"] == "patents.unique"
    bad = (await apply(stack, uscc, ["2024101234567"])).json()
    assert bad["status"] == 422 and bad["errors"][0]["field"] == "patents[0]"


def _design_number() -> str:
    return application_no(today_cn().year - 3, kind="3")


async def test_a_co_owned_patent_needs_every_co_owners_consent(stack):
    uscc = await new_sme(stack)
    partner = make_uscc()
    number = await new_patent(stack, uscc, owners=[
        {"uscc": uscc, "name": "甲公司", "share": "60"},
        {"uscc": partner, "name": "乙公司", "share": "30"},
        {"uscc": None, "name": "张三", "share": "10", "country": "CN"}])
    await wait_enterprise(stack, uscc)
    problem = (await apply(stack, uscc, [number])).json()
    assert problem["status"] == 422
    [error] = problem["errors"]
    assert error["rule"] == "patent.co_owners_consented"
    assert error["figures"]["missing_consents"] == [partner, "张三"]

    url = f"/v1/patents/{number}/co-owner-consents"
    body = {"for_uscc": uscc, "document_ref": "同意函〔2026〕3号"}
    # Only the consenting co-owner itself (or the IP office for an individual) records it.
    assert (await stack.financing.post(url, json=body, headers=firm(make_uscc()))
            ).status_code == 403
    assert (await stack.financing.post(url, json=body, headers=bank())).status_code == 403
    own = await stack.financing.post(url, json={"for_uscc": partner, "document_ref": "x"},
                                     headers=firm(partner))
    assert own.status_code == 422 and own.json()["errors"][0]["rule"] == "for_uscc.other_owner"
    resp = await stack.financing.post(url, json=body, headers=firm(partner))
    assert resp.status_code == 201, resp.text
    assert resp.json()["owner_key"] == partner and resp.json()["active"]
    assert (await stack.financing.post(url, json=body, headers=firm(partner))
            ).status_code == 409
    still = (await apply(stack, uscc, [number])).json()
    assert still["errors"][0]["figures"]["missing_consents"] == ["张三"]
    no_name = await stack.financing.post(url, json=body, headers=auth("market_regulation"))
    assert no_name.status_code == 422
    resp = await stack.financing.post(url, json=body | {"owner_name": "张三"},
                                      headers=auth("market_regulation"))
    assert resp.status_code == 201, resp.text

    listing = await stack.financing.get(url, headers=firm(uscc))
    assert listing.status_code == 200
    assert {c["owner_key"] for c in listing.json()["items"]} == {partner, "张三"}
    assert [o["owner_key"] for o in listing.json()["owners"]] == [uscc, partner, "张三"]
    assert (await stack.financing.get(url, headers=firm(make_uscc()))).status_code == 403

    loan = await applied(stack, uscc, [number])
    rules = {r["rule"]: r for r in loan["application_basis"]["patents"][0]["rules"]}
    assert rules["patent.co_owners_consented"]["passed"]

    # A withdrawn consent stops a new application (the loan above keeps its basis).
    await act(stack, loan["id"], "withdrawal", {}, headers=firm(uscc))
    out = await stack.financing.post(f"{url}/withdrawal", json={}, headers=firm(partner))
    assert out.status_code == 200 and out.json()["active"] is False
    again = (await apply(stack, uscc, [number])).json()
    assert again["errors"][0]["figures"]["missing_consents"] == [partner]


# --- the dedicated pool quota -------------------------------------------------------------------

async def test_pool_quota_set_counted_and_refused_over_it(stack, broker):
    year = today_cn().year
    bank_code = f"BQ{uuid.uuid4().hex[:8]}"
    uscc, number = await borrower(stack)
    await value(stack, number)
    await admit_to_pool(stack, broker, uscc)
    loan = await under_review(stack, uscc, number, bank_code=bank_code)
    headers = bank(bank_code)

    problem = await act(stack, loan["id"], "decision", approve("1000000.00"), headers=headers,
                        expect=409)
    assert problem["type"] == "urn:ipbridge:problem:pool-quota-not-set"

    url = f"/v1/banks/{bank_code}/quotas/{year}"
    assert (await stack.financing.put(url, json={"quota_cny": "1500000"}, headers=bank())
            ).status_code == 403
    assert (await stack.financing.put(url, json={"quota_cny": "1500000"}, headers=firm(uscc))
            ).status_code == 403
    created = await stack.financing.put(url, json={"quota_cny": "1500000"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["remaining_cny"] == "1500000.00"

    problem = await act(stack, loan["id"], "decision", approve("2000000.00"), headers=headers,
                        expect=409)
    assert problem["type"] == "urn:ipbridge:problem:pool-quota-exceeded"
    assert (problem["quota_cny"], problem["used_cny"], problem["requested_cny"]) == (
        "1500000.00", "0.00", "2000000.00")
    approved = await act(stack, loan["id"], "decision", approve("1000000.00"), headers=headers)
    assert approved["quota_year"] == year and approved["quota_counted_cny"] == "1000000.00"
    quota_basis = approved["decision_basis"]["quota"]
    assert quota_basis["applies"] and quota_basis["counted"]
    assert quota_basis["figures"]["quota_cny"] == "1500000.00"
    assert quota_basis["figures"]["used_after_cny"] == "1000000.00"

    shown = await stack.financing.get(url, headers=auth("nfra"))
    assert shown.status_code == 200
    q = shown.json()
    assert (q["quota_cny"], q["used_cny"], q["remaining_cny"]) == (
        "1500000.00", "1000000.00", "500000.00")
    assert [a["loan_id"] for a in q["approvals"]] == [loan["id"]]
    assert (await stack.financing.get(url, headers=bank(OTHER_BANK))).status_code == 403
    # NFRA may set it too, but not below what is used; If-Match guards concurrent edits.
    low = await stack.financing.put(url, json={"quota_cny": "999999.99"}, headers=auth("nfra"))
    assert low.status_code == 409 and low.json()["used_cny"] == "1000000.00"
    stale = await stack.financing.put(url, json={"quota_cny": "3000000"},
                                      headers=auth("nfra") | {"If-Match": '"1"'})
    assert stale.status_code == 412
    raised = await stack.financing.put(url, json={"quota_cny": "3000000"},
                                       headers=auth("nfra") | {"If-Match": shown.headers["ETag"]})
    assert raised.status_code == 200 and raised.json()["remaining_cny"] == "2000000.00"


async def test_concurrent_pool_approvals_never_exceed_the_quota(stack, broker):
    year = today_cn().year
    bank_code = f"BC{uuid.uuid4().hex[:8]}"
    headers = bank(bank_code)
    resp = await stack.financing.put(f"/v1/banks/{bank_code}/quotas/{year}",
                                     json={"quota_cny": "2500000"}, headers=headers)
    assert resp.status_code == 201
    loans = []
    for _ in range(5):
        uscc, number = await borrower(stack)
        await value(stack, number)
        await admit_to_pool(stack, broker, uscc)
        loans.append(await under_review(stack, uscc, number, bank_code=bank_code,
                                        amount="1000000.00"))
    results = await asyncio.gather(*(
        stack.financing.post(f"/v1/loans/{loan['id']}/decision", json=approve("1000000.00"),
                             headers=headers) for loan in loans))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 409, 409, 409], [r.text for r in results]
    assert all(r.json()["type"] == "urn:ipbridge:problem:pool-quota-exceeded"
               for r in results if r.status_code == 409)
    async with stack.financing_app.state.sessionmaker() as session:
        row = await session.get(BankQuota, (bank_code, year))
        counted = await session.scalar(sa.select(sa.func.count()).select_from(Loan).where(
            Loan.bank_code == bank_code, Loan.quota_counted_cny.is_not(None)))
    assert row.used_cny == Decimal("2000000.00") and counted == 2


# --- the green channel --------------------------------------------------------------------------

async def test_green_channel_deadline_and_the_regulators_overdue_list(stack):
    uscc, (number,) = await whitelisted_sme(stack)
    await value(stack, number)
    loan = await applied(stack, uscc, [number])
    today = today_cn()
    assert loan["green_channel"] is True
    days = loan["green_channel_basis"]["figures"]["decision_days"]
    assert loan["decision_deadline"] == (today + timedelta(days=days)).isoformat()
    assert loan["green_channel_basis"]["verified"] is False
    assert loan["green_channel_basis"]["figures"]["listed"] is True

    # Not whitelisted (a large enterprise): no green channel.
    large, large_no = await borrower(stack, employees=5000, revenue_10k_cny="900000")
    await wait_entry(stack, large, lambda e: True)
    plain = await applied(stack, large, [large_no])
    assert plain["green_channel"] is False and plain["decision_deadline"] is None

    # The application was made `days + 1` days ago (backdated in the database).
    async with stack.financing_app.state.sessionmaker() as session, session.begin():
        await session.execute(sa.update(Loan).where(Loan.id == loan["id"]).values(
            applied_on=today - timedelta(days=days + 1),
            decision_deadline=today - timedelta(days=1)))
    url = "/v1/loans/green-channel/overdue"
    assert (await stack.financing.get(url, headers=bank())).status_code == 403
    listing = (await stack.financing.get(url, headers=auth("pboc"))).json()
    [item] = [i for i in listing["items"] if i["loan_id"] == loan["id"]]
    assert item["still_undecided"] and item["days_late"] == 1
    assert item["green_channel_breached_on"] is None
    assert await mark_green_channel_breaches(stack.financing_app.state.sessionmaker) >= 1
    assert await mark_green_channel_breaches(stack.financing_app.state.sessionmaker) == 0

    await act(stack, loan["id"], "review")
    decided = await act(stack, loan["id"], "decision", approve("1000000.00"))
    assert decided["decision_late"] is True
    timing = next(r for r in decided["decision_basis"]["rules"]
                  if r["rule"] == "green_channel.decided_by_deadline")
    assert timing["passed"] is False and timing["figures"]["late"] is True
    listing = (await stack.financing.get(url, headers=auth("nfra"))).json()
    [item] = [i for i in listing["items"] if i["loan_id"] == loan["id"]]
    assert item["still_undecided"] is False and item["days_late"] == 1
    assert item["green_channel_breached_on"] == today.isoformat()
    assert plain["id"] not in {i["loan_id"] for i in listing["items"]}
