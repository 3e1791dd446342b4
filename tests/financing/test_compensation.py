"""Risk compensation end to end (RULES.md §4.4, ARCHITECTURE flow 8): loans made and defaulted
through the API on enterprises and patents registered at the registry, a fund created and
topped up by the fund manager, the lending bank's claim computed by the fund's pack with its
basis, paid once from the ledger (never below zero, also under parallel requests on
PostgreSQL), the loan marked compensated and ``compensation.paid`` published."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.financing.db import Base
from shared.db import today_cn
from tests.financing.helpers import BANK, new_patent, new_sme, wait_enterprise
from tests.harness import auth
from tests.kafka_utils import header, read_topic

TOPIC = "financing.loan.v1"
OTHER_BANK = "BANK002"
ZHONGSHAN = "442000"
WAN = Decimal(10_000)


def bank(org: str = BANK) -> dict[str, str]:
    return auth("bank", org)


MANAGER = auth("market_regulation", "442000-finance")


def money(value) -> str:
    return f"{Decimal(value):.2f}"


# --- building the scenario through the public APIs ----------------------------------------------


async def borrower(stack, region: str = ZHONGSHAN, patents: int = 1) -> tuple[str, list[str]]:
    uscc = await new_sme(stack, region_code=region)
    numbers = [await new_patent(stack, uscc) for _ in range(patents)]
    await wait_enterprise(stack, uscc)
    return uscc, numbers


async def call(stack, method: str, path: str, body: dict | None = None, *,
               headers: dict, expect: int = 200) -> dict:
    resp = await stack.financing.request(method, path, json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def defaulted_loan(stack, uscc: str, number: str, *, amount: Decimal,
                         loss: Decimal | None = None, bank_code: str = BANK) -> dict:
    """apply → review → approve → pledge registered → disbursed → overdue → defaulted."""
    loss = amount if loss is None else loss
    await call(stack, "POST", "/v1/valuations", {
        "application_no": number, "purpose": "pledge_financing",
        "cost": {"variant": "obsolescence", "replacement_cost_cny": money(amount * 3),
                 "obsolescence_rate": "0"}}, headers=auth("market_regulation"), expect=201)
    loan = await call(stack, "POST", "/v1/loans", {
        "bank_code": bank_code, "requested_amount_cny": money(amount), "term_months": 12,
        "purpose": "研发中试线流动资金", "patents": [number]},
        headers=auth("enterprise", uscc), expect=201)
    lid, lender = loan["id"], bank(bank_code)
    await call(stack, "POST", f"/v1/loans/{lid}/review", {}, headers=lender)
    await call(stack, "POST", f"/v1/loans/{lid}/decision", {
        "decision": "approve", "approved_amount_cny": money(amount), "interest_rate": "0.0385",
        "term_months": 12}, headers=lender)
    await call(stack, "POST", f"/v1/loans/{lid}/pledge-registration", {
        "pledgee_name": "示例银行股份有限公司中山分行",
        "registrations": [{"application_no": number, "registration_no": f"Y{lid[:8]}"}]},
        headers=lender)
    await call(stack, "POST", f"/v1/loans/{lid}/disbursement", {}, headers=lender)
    await call(stack, "POST", f"/v1/loans/{lid}/overdue",
               {"overdue_since": today_cn().isoformat()}, headers=lender)
    return await call(stack, "POST", f"/v1/loans/{lid}/default", {
        "outstanding_principal_cny": money(amount), "principal_loss_cny": money(loss)},
        headers=lender)


async def new_fund(stack, *, jurisdiction: str = ZHONGSHAN,
                   pack_id: str = "compensation-zhongshan", deposit: Decimal | None = None
                   ) -> dict:
    fund = await call(stack, "POST", "/v1/compensation/funds", {
        "name": f"风险补偿资金 {jurisdiction}", "jurisdiction": jurisdiction, "pack_id": pack_id},
        headers=MANAGER, expect=201)
    if deposit is not None:
        await call(stack, "POST", f"/v1/compensation/funds/{fund['id']}/deposits", {
            "amount_cny": money(deposit), "reference": "财预〔2026〕1号"},
            headers=MANAGER, expect=201)
    return fund


def evidence() -> list[dict]:
    return [{"kind": "court_judgment", "reference": "(2026)粤2071民初123号"},
            {"kind": "collection_record", "reference": "CR-2026-0042"}]


async def file_claim(stack, loan: dict, *, expect: int = 201, bank_code: str = BANK,
                     **body) -> dict:
    payload = {"loan_id": loan["id"], "principal_loss_cny": loan["principal_loss_cny"],
               "evidence": evidence(), **body}
    return await call(stack, "POST", "/v1/compensation/claims", payload,
                      headers=bank(bank_code), expect=expect)


async def fund_detail(stack, fund_id: str) -> dict:
    return await call(stack, "GET", f"/v1/compensation/funds/{fund_id}", headers=MANAGER)


def ledger_consistent(fund: dict) -> None:
    """Every entry's balance follows from the previous one; the entries sum to the balance."""
    running = Decimal(0)
    for entry in fund["ledger"]:
        running += Decimal(entry["amount_cny"])
        assert Decimal(entry["balance_after_cny"]) == running >= 0
    assert running == Decimal(fund["balance_cny"])


# --- schema -------------------------------------------------------------------------------------

async def test_migration_0006_matches_the_models(financing_app):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with financing_app.state.runtime.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if "compensation_" in repr(c)] == []


# --- funds --------------------------------------------------------------------------------------

async def test_fund_is_created_topped_up_and_shows_its_ledger(stack):
    refused = await stack.financing.post("/v1/compensation/funds", headers=bank(), json={
        "name": "某资金", "jurisdiction": ZHONGSHAN, "pack_id": "compensation-zhongshan"})
    assert refused.status_code == 403
    unknown = await call(stack, "POST", "/v1/compensation/funds", {
        "name": "某资金", "jurisdiction": ZHONGSHAN, "pack_id": "compensation-mars"},
        headers=MANAGER, expect=422)
    assert unknown["errors"][0]["rule"] == "pack_id.unknown"
    bad_region = await call(stack, "POST", "/v1/compensation/funds", {
        "name": "某资金", "jurisdiction": "999999", "pack_id": "compensation-zhongshan"},
        headers=MANAGER, expect=422)
    assert bad_region["errors"][0]["field"] == "jurisdiction"

    fund = await new_fund(stack)
    assert fund["balance_cny"] == "0.00" and fund["pack_id"] == "compensation-zhongshan"
    assert fund["pack_versions"][0].startswith("compensation-zhongshan@v1")
    key = {"Idempotency-Key": f"dep-{uuid.uuid4()}"}
    body = {"amount_cny": "3000000.00", "reference": "中财预〔2026〕12号", "note": "首期注资"}
    path = f"/v1/compensation/funds/{fund['id']}/deposits"
    first = await call(stack, "POST", path, body, headers=MANAGER | key, expect=201)
    again = await stack.financing.post(path, json=body, headers=MANAGER | key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert first["entry"]["balance_after_cny"] == "3000000.00"
    await call(stack, "POST", path, {"amount_cny": "500000.50", "reference": "中财预〔2026〕30号"},
               headers=MANAGER, expect=201)
    await call(stack, "POST", path, {"amount_cny": "-1.00", "reference": "x"},
               headers=MANAGER, expect=422)

    detail = await fund_detail(stack, fund["id"])
    assert detail["balance_cny"] == "3500000.50" and detail["deposited_cny"] == "3500000.50"
    assert [(e["kind"], e["amount_cny"], e["balance_after_cny"]) for e in detail["ledger"]] == [
        ("deposit", "3000000.00", "3000000.00"), ("deposit", "500000.50", "3500000.50")]
    entry = detail["ledger"][0]
    assert entry["by_department"] == "market_regulation" and entry["by"] and entry["at"]
    assert entry["reference"] == "中财预〔2026〕12号" and entry["claim_id"] is None
    ledger_consistent(detail)
    # Banks and regulators read funds; the enterprise does not.
    assert (await stack.financing.get(f"/v1/compensation/funds/{fund['id']}",
                                      headers=auth("pboc"))).status_code == 200
    assert (await stack.financing.get(f"/v1/compensation/funds/{fund['id']}",
                                      headers=auth("enterprise", "x"))).status_code == 403


# --- claims -------------------------------------------------------------------------------------

async def test_claim_is_computed_by_the_pack_paid_once_and_published(stack, broker):
    uscc, (number,) = await borrower(stack)
    loan = await defaulted_loan(stack, uscc, number, amount=250 * WAN, loss=200 * WAN)
    fund = await new_fund(stack, deposit=500 * WAN)

    other = await stack.financing.post("/v1/compensation/claims", headers=bank(OTHER_BANK),
                                       json={"loan_id": loan["id"], "evidence": evidence(),
                                             "principal_loss_cny": "2000000.00"})
    assert other.status_code == 403
    too_much = await file_claim(stack, loan, principal_loss_cny="2000000.01", expect=422)
    assert too_much["errors"][0]["rule"] == "principal_loss.within_reported"

    claim = await file_claim(stack, loan)
    assert claim["status"] == "filed" and claim["fund_id"] == fund["id"]
    assert claim["pack"] == "compensation-zhongshan@v1" and claim["borrower_uscc"] == uscc
    # RULES §4.4: loss 200 万元 → fund 108, bank 52, insurer 32, appraiser 8 (万元).
    assert [(s["party"], s["share"], s["amount_cny"]) for s in claim["basis"]["shares"]] == [
        ("fund", "0.54", "1080000.00"), ("bank", "0.26", "520000.00"),
        ("insurer", "0.16", "320000.00"), ("appraiser", "0.04", "80000.00")]
    assert claim["fund_share_cny"] == claim["claimable_cny"] == "1080000.00"
    assert claim["payable_cny"] == "1080000.00" and claim["binding_cap"] is None
    assert {r["rule"]: r["passed"] for r in claim["basis"]["rules"]} == {
        "loan.within_fund_jurisdiction": True, "loan.ip_pledge_registered": True,
        "borrower.whitelisted_at_application": True, "collateral.pure_ip": True}
    assert next(c for c in claim["basis"]["caps"] if c["cap"] == "fund_balance")[
        "limit_cny"] == "5000000.00"
    again = await file_claim(stack, loan, expect=409)
    assert again["claim_id"] == claim["id"]

    pay = f"/v1/compensation/claims/{claim['id']}/payment"
    assert (await stack.financing.post(pay, json={}, headers=bank())).status_code == 403
    paid = await call(stack, "POST", pay, {"note": "2026年第1批"}, headers=MANAGER)
    assert paid["status"] == "paid" and paid["paid_cny"] == "1080000.00"
    assert paid["paid_by"] and paid["paid_on"] == today_cn().isoformat()
    assert paid["payment_basis"]["fund_balance_after_cny"] == "3920000.00"
    repeat = await call(stack, "POST", pay, {}, headers=MANAGER, expect=409)
    assert repeat["type"].endswith("compensation-claim-already-paid")

    detail = await fund_detail(stack, fund["id"])
    assert detail["balance_cny"] == "3920000.00" and detail["paid_cny"] == "1080000.00"
    payment = detail["ledger"][-1]
    assert (payment["kind"], payment["amount_cny"], payment["claim_id"], payment["loan_id"]) == (
        "payment", "-1080000.00", claim["id"], loan["id"])
    ledger_consistent(detail)

    lent = await call(stack, "GET", f"/v1/loans/{loan['id']}", headers=bank())
    assert lent["status"] == "compensated" and lent["compensated_amount_cny"] == "1080000.00"

    def mine(records):
        return [r for r in records if header(r, "ce_type") == "compensation.paid"
                and json.loads(r.value)["claim_id"] == claim["id"]]
    records = mine(await read_topic(broker.bootstrap, TOPIC, until=mine))
    assert len(records) == 1 and records[0].key == uscc.encode()
    event = json.loads(records[0].value)
    assert event["amount_cny"] == "1080000.00" and event["bank_code"] == BANK
    assert event["loan_id"] == loan["id"] and event["fund_balance_after_cny"] == "3920000.00"
    assert [s["amount_cny"] for s in event["shares"]] == [
        "1080000.00", "520000.00", "320000.00", "80000.00"]


async def test_who_sees_which_claims(stack):
    uscc, numbers = await borrower(stack, patents=2)
    mine = await defaulted_loan(stack, uscc, numbers[0], amount=100 * WAN)
    theirs = await defaulted_loan(stack, uscc, numbers[1], amount=100 * WAN,
                                  bank_code=OTHER_BANK)
    fund = await new_fund(stack, deposit=10 * WAN)
    claim = await file_claim(stack, mine)
    other = await file_claim(stack, theirs, bank_code=OTHER_BANK)

    def ids(page):
        return {c["id"] for c in page["items"]}
    query = f"/v1/compensation/claims?fund_id={fund['id']}"
    assert ids(await call(stack, "GET", query, headers=bank())) == {claim["id"]}
    assert ids(await call(stack, "GET", query, headers=bank(OTHER_BANK))) == {other["id"]}
    for regulator in ("pboc", "nfra", "auditor", "market_regulation"):
        assert ids(await call(stack, "GET", query, headers=auth(regulator))) == {
            claim["id"], other["id"]}
    page = await call(stack, "GET", f"{query}&limit=1", headers=auth("pboc"))
    rest = await call(stack, "GET", f"{query}&limit=1&cursor={page['next_cursor']}",
                      headers=auth("pboc"))
    assert ids(page) | ids(rest) == {claim["id"], other["id"]} and rest["next_cursor"] is None
    assert (await stack.financing.get(f"/v1/compensation/claims/{claim['id']}",
                                      headers=bank(OTHER_BANK))).status_code == 403
    assert (await stack.financing.get("/v1/compensation/claims",
                                      headers=auth("enterprise", uscc))).status_code == 403


async def test_the_balance_caps_a_payment_and_an_empty_fund_refuses(stack):
    uscc, numbers = await borrower(stack, patents=2)
    first = await defaulted_loan(stack, uscc, numbers[0], amount=100 * WAN)
    second = await defaulted_loan(stack, uscc, numbers[1], amount=100 * WAN)
    fund = await new_fund(stack, deposit=30 * WAN)
    claim = await file_claim(stack, first)
    assert claim["claimable_cny"] == "540000.00" and claim["payable_cny"] == "300000.00"
    assert claim["binding_cap"] == "fund_balance"
    late = await file_claim(stack, second)

    paid = await call(stack, "POST", f"/v1/compensation/claims/{claim['id']}/payment", {},
                      headers=MANAGER)
    assert paid["paid_cny"] == "300000.00"
    assert paid["payment_basis"]["binding_cap"] == "fund_balance"
    refused = await call(stack, "POST", f"/v1/compensation/claims/{late['id']}/payment", {},
                         headers=MANAGER, expect=409)
    assert refused["type"].endswith("compensation-fund-exhausted")
    assert refused["fund_balance_cny"] == "0.00" and refused["claimable_cny"] == "540000.00"
    still = await call(stack, "GET", f"/v1/compensation/claims/{late['id']}", headers=bank())
    assert still["status"] == "filed"
    lent = await call(stack, "GET", f"/v1/loans/{second['id']}", headers=bank())
    assert lent["status"] == "defaulted"

    await call(stack, "POST", f"/v1/compensation/funds/{fund['id']}/deposits",
               {"amount_cny": "1000000.00", "reference": "追加"}, headers=MANAGER, expect=201)
    paid = await call(stack, "POST", f"/v1/compensation/claims/{late['id']}/payment", {},
                      headers=MANAGER)
    assert paid["paid_cny"] == "540000.00" and paid["payment_basis"]["binding_cap"] is None
    detail = await fund_detail(stack, fund["id"])
    assert detail["balance_cny"] == "460000.00"
    ledger_consistent(detail)


async def test_refusals_name_the_rule(stack):
    uscc, (number,) = await borrower(stack)
    fund = await new_fund(stack, deposit=10 * WAN)
    loan = await defaulted_loan(stack, uscc, number, amount=100 * WAN)
    # A fund of another city: the loan is outside its jurisdiction (422 with the basis).
    elsewhere = await new_fund(stack, jurisdiction="440100", pack_id="compensation-guangzhou")
    refused = await file_claim(stack, loan, fund_id=elsewhere["id"], expect=422)
    assert refused["type"].endswith("compensation-claim-not-eligible")
    assert refused["failed_rules"] == ["loan.within_fund_jurisdiction"]
    assert refused["basis"]["pack"] == "compensation-guangzhou@v1"
    # No fund covers a Datong borrower.
    datong, (other_number,) = await borrower(stack, region="140200")
    far = await defaulted_loan(stack, datong, other_number, amount=100 * WAN)
    none = await file_claim(stack, far, expect=422)
    assert none["errors"][0]["rule"] == "fund_id.none_covers"
    # Not in default yet.
    live_uscc, (live_number,) = await borrower(stack)
    await call(stack, "POST", "/v1/valuations", {
        "application_no": live_number, "purpose": "pledge_financing",
        "cost": {"variant": "obsolescence", "replacement_cost_cny": "9000000.00",
                 "obsolescence_rate": "0"}}, headers=auth("market_regulation"), expect=201)
    applied = await call(stack, "POST", "/v1/loans", {
        "bank_code": BANK, "requested_amount_cny": "1000000.00", "term_months": 12,
        "purpose": "流动资金", "patents": [live_number]},
        headers=auth("enterprise", live_uscc), expect=201)
    conflict = await file_claim(stack, applied | {"principal_loss_cny": "1.00"}, expect=409)
    assert conflict["type"].endswith("loan-not-defaulted") and conflict["status_now"] == "applied"
    # A mixed pledge counts only its IP-secured part: 100 万 pledged, 300 万 other collateral.
    mixed = await file_claim(stack, loan, other_collateral_cny="3000000.00")
    assert mixed["basis"]["loss"]["eligible_loss_cny"] == "250000.00"
    assert mixed["fund_share_cny"] == "135000.00"
    assert mixed["fund_id"] == fund["id"]


async def test_guangzhou_counts_a_borrowers_loans_toward_the_yearly_limit_in_order(stack):
    uscc, numbers = await borrower(stack, region="440106", patents=3)
    await new_fund(stack, jurisdiction="440100", pack_id="compensation-guangzhou",
                   deposit=5000 * WAN)
    loans = [await defaulted_loan(stack, uscc, n, amount=a * WAN, loss=a * WAN // 2)
             for n, a in zip(numbers, (1200, 800, 600))]
    # Earlier loans used 1,000 (the first, after the per-loan limit) + 800 of the 2,000 万 year:
    # 200 万 of the third loan's 600 万 is covered, so a third of its 300 万 loss; fund 50 %.
    claim = await file_claim(stack, loans[2])
    assert claim["basis"]["loss"]["covered_principal_cny"] == "2000000.00"
    assert claim["basis"]["loss"]["covered_loss_cny"] == "1000000.00"
    assert claim["fund_share_cny"] == "500000.00"
    assert claim["binding_cap"] == "covered_principal_per_borrower_year"
    year = next(c for c in claim["basis"]["caps"]
                if c["cap"] == "covered_principal_per_borrower_year")
    assert year["figures"]["earlier_covered_cny"] == "18000000.00"
    first = await file_claim(stack, loans[0])
    assert first["basis"]["loss"]["covered_principal_cny"] == "10000000.00"
    assert first["binding_cap"] == "covered_principal_per_loan"
    assert first["fund_share_cny"] == "2500000.00"  # 600 万 loss × 1000/1200 × 50 %


# --- concurrency (PostgreSQL: real parallel transactions) ---------------------------------------

@pytest.fixture
def postgres_only(request):
    if request.node.callspec.params.get("db_url") != "postgres":
        pytest.skip("parallel writers: PostgreSQL (SQLite serialises writers, 503 when busy)")


async def test_parallel_payments_never_overdraw_the_fund(postgres_only, stack):
    uscc, numbers = await borrower(stack, patents=20)
    loans = [await defaulted_loan(stack, uscc, n, amount=10 * WAN) for n in numbers]
    share = Decimal("54000.00")  # 10 万 × 54 %
    fund = await new_fund(stack, deposit=share * 5)
    claims = [await file_claim(stack, loan) for loan in loans]
    assert {c["claimable_cny"] for c in claims} == {"54000.00"}

    responses = await asyncio.gather(*(
        stack.financing.post(f"/v1/compensation/claims/{c['id']}/payment", json={},
                             headers=MANAGER) for c in claims))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 5 + [409] * 15, [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["paid_cny"] for r in responses if r.status_code == 200} == {"54000.00"}
    assert all(r.json()["type"].endswith("compensation-fund-exhausted")
               for r in responses if r.status_code == 409)
    detail = await fund_detail(stack, fund["id"])
    assert detail["balance_cny"] == "0.00" and detail["paid_cny"] == "270000.00"
    assert len([e for e in detail["ledger"] if e["kind"] == "payment"]) == 5
    ledger_consistent(detail)


async def test_the_same_claim_paid_in_parallel_is_paid_once(postgres_only, stack):
    uscc, (number,) = await borrower(stack)
    loan = await defaulted_loan(stack, uscc, number, amount=10 * WAN)
    fund = await new_fund(stack, deposit=100 * WAN)
    claim = await file_claim(stack, loan)
    responses = await asyncio.gather(*(
        stack.financing.post(f"/v1/compensation/claims/{claim['id']}/payment", json={},
                             headers=MANAGER) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    detail = await fund_detail(stack, fund["id"])
    assert detail["balance_cny"] == "946000.00"
    assert [e["claim_id"] for e in detail["ledger"] if e["kind"] == "payment"] == [claim["id"]]
    ledger_consistent(detail)


async def test_only_the_managing_office_moves_a_funds_money_and_banks_see_no_ledger(stack):
    fund = await new_fund(stack, deposit=Decimal("1000000"))
    other_city = auth("market_regulation", "440100-finance")
    resp = await stack.financing.post(f"/v1/compensation/funds/{fund['id']}/deposits", json={
        "amount_cny": "1.00", "reference": "x"}, headers=other_city)
    assert resp.status_code == 403 and resp.json()["manager_org"] == "442000-finance"
    seen = await call(stack, "GET", f"/v1/compensation/funds/{fund['id']}", headers=bank())
    assert seen["balance_cny"] == "1000000.00" and seen["ledger"] == []
    managed = await call(stack, "GET", f"/v1/compensation/funds/{fund['id']}", headers=MANAGER)
    assert [e["kind"] for e in managed["ledger"]] == ["deposit"]


async def test_a_forged_claims_cursor_is_422(stack):
    import base64
    import json as _json
    forged = base64.urlsafe_b64encode(_json.dumps({"after": "2026-01-01T00:00:00|x"}).encode())
    resp = await stack.financing.get("/v1/compensation/claims",
                                     params={"cursor": forged.decode()}, headers=MANAGER)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "query.cursor"
