"""The cultivation pool's joint actions with real processes (ARCHITECTURE flows 3 and 4, and the
pool side of flows 5 and 6): the broker and the four services started like ``make run``, a
bank running the example consumer, everything driven through public REST APIs and topics, the
final state asserted in every service involved. Each test runs on SQLite and on PostgreSQL.

- flow 3: the provincial IP office nominates, MIIT co-signs → ``pool.admitted`` → financing
  lists the enterprise in the top tier and the bank's consumer receives the change; matching
  pushes the open licences that fit it and ranks it first for them;
- flows 6 and 5 in the pool: the SME takes an open licence and has a product recognised → the
  registry counts both as industrialisation progress; rewards pays the product;
- graduation (出库) on that evidence → the whitelist tier follows, rewards drafts the follow-up
  support claim for the IP office to assess;
- flow 4: a data-fraud flag → the registry removes the enterprise from the pool → the whitelist
  entry is removed (the bank receives it) → the paid claim is reopened for recovery and the
  pending one held.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.db import today_cn
from tests.e2e.flows import (GAS, BankConsumer, claim_of, claims, declaration,
                             declare_until_known, entry, get, known_to, open_fund, post,
                             recognise)
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth, wait_for
from tests.registry.ip_factories import patent_body

pytestmark = pytest.mark.slow
FILED = date(2020, 4, 1)


def pool_sme(registry: str, name: str = "大同示例煤业有限公司") -> tuple[str, str]:
    """A small private coal-mining SME of Shanxi with a 专精特新 title for the last 60 days and a
    granted invention in force: it meets the pool's entry standard."""
    body = enterprise_body(industry_code="B0610", name=name)
    post(registry, "/v1/enterprises", body, auth())
    uscc = body["uscc"]
    today = today_cn()
    post(registry, f"/v1/enterprises/{uscc}/qualifications", {
        "kind": "zjtx_sme", "certificate_no": f"晋专精特新-{uscc[-6:]}",
        "valid_from": (today - timedelta(days=60)).isoformat(),
        "issuing_body": "山西省工业和信息化厅"}, auth("miit"))
    number = post(registry, "/v1/patents", patent_body(uscc, filing_date=FILED, **GAS),
                  auth())["application_no"]
    return uscc, number


def admit(registry: str, uscc: str, on: date) -> dict:
    """The Shanxi IP office nominates (its token's org is the province), MIIT co-signs."""
    nominated = post(registry, "/v1/pool/nominations", {
        "uscc": uscc, "nominated_on": on.isoformat(), "recommendation": "瓦斯监测专利产业化基础好",
        "industrialisation": {"patents_held": 4, "patents_industrialised": 1,
                              "evidence": "2025年度知识产权工作报告"}},
        auth("market_regulation", "14"))
    assert nominated["status"] == "awaiting_co_signature"
    signed = post(registry, f"/v1/pool/nominations/{nominated['id']}/co-signature",
                  {"decision": "co_sign", "co_signed_on": on.isoformat()}, auth("miit"), 200)
    assert signed["status"] == "admitted"
    return signed


def pool_entry(registry: str, uscc: str) -> dict:
    resp = get(registry, f"/v1/pool/{uscc}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def tier(financing: str, uscc: str, code: str) -> dict:
    return wait_for(lambda: (e := entry(financing, uscc)) and e["listed"]
                    and e["tier"]["code"] == code and e, what=f"whitelist tier {code}")


def test_flow_3_admission_reaches_banks_and_matching_then_progress_and_graduation(
        stack_factory, tmp_path):
    stack = stack_factory()
    registry, financing, matching, rewards = (stack[s].url for s in (
        "registry", "financing", "matching", "rewards"))
    open_fund(rewards, "500000.00")
    # A university's open licence on a gas-monitoring patent, published before the admission.
    school = enterprise_body(uscc=make_uscc(prefix="12"), name="太原示例理工大学",
                             industry_code="P8341")
    post(registry, "/v1/enterprises", school, auth())
    offered = post(registry, "/v1/patents", patent_body(
        school["uscc"], title=GAS["title"] + "（改进型）", abstract=GAS["abstract"],
        ipc_codes=GAS["ipc_codes"]), auth())["application_no"]
    resp = declare_until_known(matching, school["uscc"],
                               declaration(offered, patentee_type="university"), "university")
    assert resp.status_code == 201, resp.text
    ol = resp.json()["id"]
    post(matching, f"/v1/open-licenses/{ol}/publication", {}, auth(), 200)

    bank = BankConsumer(stack.broker.bootstrap, tmp_path / "whitelist.json")
    try:
        uscc, own = pool_sme(registry)
        tier(financing, uscc, "little_giant_or_srdi")
        wait_for(lambda: bank.seen("added", uscc), timeout=30, what="the bank's first entry")
        known_to(matching, uscc)

        # Flow 3: admitted (30 days ago, so what happens today falls inside the window).
        admitted_on = today_cn() - timedelta(days=30)
        signed = admit(registry, uscc, admitted_on)
        assert {r["rule"] for r in signed["basis"]["rules"]} >= {
            "pool.entry.qualification", "pool.quota", "pool.entry.co_signature"}
        listed = tier(financing, uscc, "cultivation_pool")
        assert listed["tier"]["evidence"]["pool_status"] == "admitted"
        assert listed["tier"]["evidence"]["admitted_on"] == admitted_on.isoformat()
        wait_for(lambda: bank.seen("updated", uscc), timeout=30,
                 what="the bank receiving the pool tier")
        pushes = wait_for(lambda: [p for p in get(matching, "/v1/pushes",
                                                  auth("enterprise", uscc)).json()["items"]
                                   if p["reason"] == "pool_admission"],
                          what="matching's push on admission")
        assert [p["application_no"] for p in pushes] == [offered]
        assert pushes[0]["pool_member"] is True
        candidates = get(matching, f"/v1/open-licenses/{ol}/candidates").json()["candidates"]
        assert candidates[0]["uscc"] == uscc and candidates[0]["pool_member"] is True

        # Flow 6 in the pool: the SME takes the open licence → progress in the registry.
        today = today_cn().isoformat()
        post(matching, "/v1/licenses", {
            "type": "open", "open_license_id": ol,
            "notice": {"sent_on": today, "reference": "许可通知〔2026〕11号"},
            "payment": {"amount_cny": "200000.00", "paid_on": today, "reference": "转账 011"}},
            auth("enterprise", uscc))
        progress = wait_for(lambda: [p for p in pool_entry(registry, uscc)["progress"]
                                     if p["kind"] == "licence_taken"],
                            what="the registry counting the licence as progress")
        assert offered in progress[0]["reference"]

        # Flow 5 in the pool: a product recognised → paid without a meeting, and progress.
        product = recognise(registry, uscc, own, "矿用瓦斯在线监测仪")
        paid = claim_of(rewards, product, "paid")
        assert paid["rule_code"] == "patent_intensive_product"
        kinds = {p["kind"] for p in pool_entry(registry, uscc)["progress"]}
        assert kinds >= {"licence_taken", "product_filed", "product_recognized"}

        # Graduation on that evidence: the rate up 50 points and a product new since admission.
        graduated = post(registry, f"/v1/pool/{uscc}/graduation", {
            "industrialisation": {"patents_held": 4, "patents_industrialised": 3,
                                  "evidence": "专利实施情况专项审计报告"}},
            auth("market_regulation", "14"), 200)
        assert graduated["status"] == "graduated" and graduated["follow_up_cultivation"]
        new = next(r for r in graduated["graduation_basis"]["rules"]
                   if r["rule"] == "pool.graduation.new_products")
        assert [p["product_id"] for p in new["figures"]["recognised_since_admission"]] == [
            product]
        # Financing: the pool tier is for admitted enterprises; the 专精特新 tier applies again.
        tier(financing, uscc, "little_giant_or_srdi")
        # Rewards: the follow-up support claim, for the IP office to assess (no figure named).
        support = claim_of(rewards, uscc, ("pending_review",))
        assert support["rule_code"] == "pool_graduation_support"
        assert [c["rule_code"] for c in claims(rewards, uscc=uscc)
                if c["item_ref"] == uscc] == ["pool_graduation_support"]
        dashboard = get(registry, "/v1/pool/dashboard", province_code="14").json()
        [shanxi] = dashboard["provinces"]
        assert shanxi["counts"]["graduated"] == 1
        assert (shanxi["quota"]["used"], shanxi["quota"]["replenishment"]) == (1, 2)
    finally:
        bank.stop()


def test_flow_4_a_fraud_flag_removes_from_pool_whitelist_and_rewards(stack_factory, tmp_path):
    stack = stack_factory()
    registry, financing, rewards = (stack[s].url for s in ("registry", "financing", "rewards"))
    open_fund(rewards, "500000.00")
    bank = BankConsumer(stack.broker.bootstrap, tmp_path / "whitelist.json")
    try:
        uscc, number = pool_sme(registry, name="山西示例新能源科技有限公司")
        admit(registry, uscc, today_cn() - timedelta(days=10))
        tier(financing, uscc, "cultivation_pool")
        product = recognise(registry, uscc, number, "高镍三元正极材料NCM811")
        paid = claim_of(rewards, product, "paid")
        today = today_cn()
        centre = post(registry, f"/v1/enterprises/{uscc}/qualifications", {
            "kind": "hvp_cultivation_center", "certificate_no": "晋知培〔2026〕9号",
            "valid_from": today.isoformat(),
            "valid_to": (today + timedelta(days=3 * 365)).isoformat()}, auth())
        pending = claim_of(rewards, centre["id"], "pending_review")
        wait_for(lambda: bank.seen("added", uscc), timeout=30, what="the bank's entry")

        flag = post(registry, "/v1/credit-flags", {
            "uscc": uscc, "kind": "data_fraud", "source": "信用中国（山西）",
            "reference": "晋市监信〔2026〕17号", "flagged_on": today.isoformat(),
            "description": "专利密集型产品认定材料数据造假"}, auth("credit"))

        # Registry: removed at once, in the flag's own transaction, with its basis.
        removed = pool_entry(registry, uscc)
        assert (removed["status"], removed["removal_reason"]) == ("removed", "data_fraud")
        assert removed["removal_basis"]["rules"][0]["figures"]["flag_id"] == flag["id"]
        # Financing: off the whitelist, the failed rule named; the bank receives the removal.
        gone = wait_for(lambda: (e := entry(financing, uscc)) and not e["listed"] and e,
                        what="the whitelist removal")
        assert "credit.no_active_flag" in gone["basis"]["failed"]
        wait_for(lambda: bank.seen("removed", uscc), timeout=30,
                 what="the bank receiving the removal")
        # Rewards: the paid claim reopened for recovery, the pending one held.
        clawed = claim_of(rewards, product, "recovery")
        assert clawed["claim_id"] == paid["claim_id"] and clawed["recovery_reason"]
        held = claim_of(rewards, centre["id"], "held")
        assert held["claim_id"] == pending["claim_id"] and "data_fraud" in held["hold_reason"]
        [shanxi] = get(registry, "/v1/pool/dashboard", province_code="14").json()["provinces"]
        assert shanxi["removals_by_reason"] == {"data_fraud": 1}
    finally:
        bank.stop()
