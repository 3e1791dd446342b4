"""Statistics for regulators against loans made through the API (real registry, broker and both
databases): volume by month, region, bank and whitelist tier; the private-enterprise share;
green-channel timeliness; compensation paid; the CSV export Excel opens."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from services.financing.loans.models import Loan
from shared.db import today_cn
from tests.financing.helpers import BANK, new_patent, new_sme, wait_enterprise, whitelisted_sme
from tests.harness import auth

OTHER_BANK = "BANK002"
WAN = Decimal(10_000)
MANAGER = auth("market_regulation", "442000-finance")
REGULATOR = auth("pboc")


def money(value) -> str:
    return f"{Decimal(value):.2f}"


async def call(stack, method: str, path: str, body: dict | None = None, *,
               headers: dict, expect: int = 200) -> dict:
    resp = await stack.financing.request(method, path, json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def applied(stack, uscc: str, number: str, amount: Decimal, bank_code: str) -> dict:
    await call(stack, "POST", "/v1/valuations", {
        "application_no": number, "purpose": "pledge_financing",
        "cost": {"variant": "obsolescence", "replacement_cost_cny": money(amount * 3),
                 "obsolescence_rate": "0"}}, headers=auth("market_regulation"), expect=201)
    return await call(stack, "POST", "/v1/loans", {
        "bank_code": bank_code, "requested_amount_cny": money(amount), "term_months": 12,
        "purpose": "研发中试线流动资金", "patents": [number]},
        headers=auth("enterprise", uscc), expect=201)


async def decided(stack, loan: dict, *, approve: bool = True) -> dict:
    lender = auth("bank", loan["bank_code"])
    body = ({"decision": "approve", "approved_amount_cny": loan["requested_amount_cny"],
             "interest_rate": "0.0385", "term_months": 12} if approve
            else {"decision": "reject", "reason": "经营现金流不足"})
    return await call(stack, "POST", f"/v1/loans/{loan['id']}/decision", body, headers=lender)


async def disbursed(stack, loan: dict, number: str) -> dict:
    lender = auth("bank", loan["bank_code"])
    await call(stack, "POST", f"/v1/loans/{loan['id']}/pledge-registration", {
        "pledgee_name": "示例银行", "registrations": [
            {"application_no": number, "registration_no": f"Y{loan['id'][:8]}"}]},
        headers=lender)
    return await call(stack, "POST", f"/v1/loans/{loan['id']}/disbursement", {},
                      headers=lender)


async def deadline_passed(stack, loan_id: str) -> None:
    """Time passes: the green-channel deadline is behind us before the bank decides."""
    async with stack.financing_app.state.sessionmaker() as session, session.begin():
        await session.execute(sa.update(Loan).where(Loan.id == loan_id).values(
            decision_deadline=today_cn() - timedelta(days=1)))


async def scenario(stack) -> dict:
    """Loans of every kind the statistics distinguish, made through the API."""
    # A: private SME in Zhongshan (province 44), whitelisted; BANK001 approves 100 万 and
    #    disburses; a second application is rejected. Both decided in time.
    a, (a1, a2) = await whitelisted_sme(stack, patents=2, region_code="442000")
    loan_a = await applied(stack, a, a1, 100 * WAN, BANK)
    rejected = await applied(stack, a, a2, 40 * WAN, BANK)
    # B: state-owned SME in Datong (province 14), whitelisted; BANK002 approves 50 万 late.
    b, (b1,) = await whitelisted_sme(stack, patents=1, region_code="140200", ownership="state")
    loan_b = await applied(stack, b, b1, 50 * WAN, OTHER_BANK)
    # C: a large private enterprise (not an SME: off the whitelist, no green channel);
    #    BANK001 approves 200 万 and disburses.
    c = await new_sme(stack, region_code="442000", employees=5000,
                      revenue_10k_cny="900000")
    (c1,) = [await new_patent(stack, c)]
    await wait_enterprise(stack, c)
    loan_c = await applied(stack, c, c1, 200 * WAN, BANK)
    # D: still undecided: counts nowhere.
    d, (d1,) = await whitelisted_sme(stack, patents=1, region_code="442000")
    await applied(stack, d, d1, 30 * WAN, BANK)

    assert loan_a["green_channel"] and loan_b["green_channel"] and not loan_c["green_channel"]
    assert loan_c["tier_code"] is None and loan_a["tier_code"] == loan_b["tier_code"]
    for loan in (loan_a, loan_b, loan_c, rejected):
        await call(stack, "POST", f"/v1/loans/{loan['id']}/review", {},
                   headers=auth("bank", loan["bank_code"]))
    await deadline_passed(stack, loan_b["id"])
    loan_a = await decided(stack, loan_a)
    await decided(stack, rejected, approve=False)
    loan_b = await decided(stack, loan_b)
    loan_c = await decided(stack, loan_c)
    assert loan_b["decision_late"] is True and loan_a["decision_late"] is False
    loan_a = await disbursed(stack, loan_a, a1)
    loan_c = await disbursed(stack, loan_c, c1)
    return {"a": loan_a, "b": loan_b, "c": loan_c, "a_number": a1, "tier": loan_a["tier_code"]}


async def compensate(stack, loan: dict) -> dict:
    """The loan defaults (loss 100 万) and the Zhongshan fund pays 54 %."""
    lender = auth("bank", loan["bank_code"])
    await call(stack, "POST", f"/v1/loans/{loan['id']}/overdue",
               {"overdue_since": today_cn().isoformat()}, headers=lender)
    await call(stack, "POST", f"/v1/loans/{loan['id']}/default", {
        "outstanding_principal_cny": loan["disbursed_amount_cny"],
        "principal_loss_cny": money(100 * WAN)}, headers=lender)
    fund = await call(stack, "POST", "/v1/compensation/funds", {
        "name": "中山市风险补偿资金", "jurisdiction": "442000",
        "pack_id": "compensation-zhongshan"}, headers=MANAGER, expect=201)
    await call(stack, "POST", f"/v1/compensation/funds/{fund['id']}/deposits",
               {"amount_cny": "5000000.00", "reference": "注资"}, headers=MANAGER, expect=201)
    claim = await call(stack, "POST", "/v1/compensation/claims", {
        "loan_id": loan["id"], "principal_loss_cny": money(100 * WAN),
        "evidence": [{"kind": "court_judgment", "reference": "(2026)粤2071民初1号"}]},
        headers=lender, expect=201)
    await call(stack, "POST", f"/v1/compensation/claims/{claim['id']}/payment", {},
               headers=MANAGER)
    return fund


def by(rows: list[dict], *fields: str) -> dict[tuple, dict]:
    return {tuple(r[f] for f in fields): r for r in rows}


async def test_statistics_match_the_loans_made(stack):
    made = await scenario(stack)
    fund = await compensate(stack, made["a"])
    month = f"{today_cn():%Y-%m}"
    tier = made["tier"]

    stats = await call(stack, "GET", f"/v1/stats?from={month}&to={month}", headers=REGULATOR)
    assert (stats["from"], stats["to"], stats["group_by"]) == (month, month, ["month"])
    assert stats["volume"] == [{
        "month": month, "province_code": None, "region_code": None, "bank_code": None,
        "tier_code": None, "approved_count": 3, "approved_amount_cny": "3500000.00",
        "disbursed_count": 2, "disbursed_amount_cny": "3000000.00"}]
    (share,) = stats["private_share"]
    assert (share["loans"], share["amount_cny"]) == (3, "3500000.00")
    assert (share["private_loans"], share["private_amount_cny"]) == (2, "3000000.00")
    assert (share["count_share"], share["amount_share"]) == ("0.6667", "0.8571")
    (green,) = stats["green_channel"]
    # A approved and A's other application rejected in time; B approved late. C: no channel.
    assert (green["decisions"], green["within_deadline"], green["timeliness"]) == (
        3, 2, "0.6667")
    assert 0 <= Decimal(green["median_hours"]) < 1
    assert stats["compensation"] == [{
        "month": month, "fund_id": fund["id"], "fund_name": "中山市风险补偿资金",
        "jurisdiction": "442000", "claims_paid": 1, "paid_cny": "540000.00"}]
    assert set(stats["definitions"]) == {"volume", "private_share", "green_channel",
                                         "compensation"}

    detail = await call(stack, "GET", f"/v1/stats?from={month}&to={month}"
                                      "&group_by=province,bank,tier,region", headers=REGULATOR)
    assert detail["group_by"] == ["province", "region", "bank", "tier"]
    volume = by(detail["volume"], "province_code", "region_code", "bank_code", "tier_code")
    assert {k: (r["approved_count"], r["approved_amount_cny"], r["disbursed_count"],
                r["disbursed_amount_cny"]) for k, r in volume.items()} == {
        ("44", "442000", BANK, tier): (1, "1000000.00", 1, "1000000.00"),
        ("44", "442000", BANK, None): (1, "2000000.00", 1, "2000000.00"),
        ("14", "140200", OTHER_BANK, tier): (1, "500000.00", 0, "0.00")}
    assert all(r["month"] is None for r in detail["volume"])
    green = by(detail["green_channel"], "bank_code")
    assert (green[(BANK,)]["decisions"], green[(BANK,)]["within_deadline"]) == (2, 2)
    assert (green[(OTHER_BANK,)]["timeliness"]) == "0"
    shares = by(detail["private_share"], "province_code", "bank_code", "tier_code")
    assert shares[("14", OTHER_BANK, tier)]["private_loans"] == 0
    assert shares[("44", BANK, None)]["amount_share"] == "1"
    assert detail["compensation"][0]["month"] is None  # not grouped by month

    # An earlier period saw nothing.
    before = await call(stack, "GET", "/v1/stats?from=2020-01&to=2020-12", headers=REGULATOR)
    assert before["volume"] == before["private_share"] == before["compensation"] == []


async def test_csv_export_for_excel_and_who_may_read(stack):
    made = await scenario(stack)
    month = f"{today_cn():%Y-%m}"
    resp = await stack.financing.get(
        f"/v1/stats.csv?from={month}&to={month}&group_by=month,bank", headers=auth("nfra"))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    assert resp.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Chinese right
    table = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert table[0] == ["month", "bank_code", "approved_count", "approved_amount_cny",
                        "disbursed_count", "disbursed_amount_cny"]
    assert sorted(table[1:]) == sorted([
        [month, BANK, "2", "3000000.00", "2", "3000000.00"],
        [month, OTHER_BANK, "1", "500000.00", "0", "0.00"]])
    same = await stack.financing.get(
        f"/v1/stats?from={month}&to={month}&group_by=month,bank&format=csv&section=volume",
        headers=auth("csrc"))
    assert same.status_code == 200 and same.content == resp.content
    green = await stack.financing.get(
        f"/v1/stats.csv?from={month}&to={month}&section=green_channel", headers=auth("auditor"))
    rows = list(csv.DictReader(io.StringIO(green.content.decode("utf-8-sig"))))
    assert [(r["month"], r["decisions"], r["within_deadline"]) for r in rows] == [
        (month, "3", "2")]
    assert made["b"]["decision_late"] is True

    for caller in (auth("bank", BANK), auth("enterprise", made["a"]["borrower_uscc"])):
        assert (await stack.financing.get("/v1/stats", headers=caller)).status_code == 403
    for query, rule in (("from=2026-13", "month.format"), ("from=2026-05&to=2026-01",
                                                            "period.order"),
                        ("group_by=colour", "group_by.unknown"),
                        ("from=2000-01&to=2026-01", "period.too_long"),
                        ("format=csv&section=loans", "section.unknown")):
        resp = await stack.financing.get(f"/v1/stats?{query}", headers=REGULATOR)
        assert resp.status_code == 422 and resp.json()["errors"][0]["rule"] == rule, resp.text


async def test_a_month_beyond_the_calendar_is_422(financing_app):
    resp = await financing_app.state.client.get("/v1/stats", params={"to": "9999-12"},
                                                headers=auth("pboc"))
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "query.to"
