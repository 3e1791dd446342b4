"""The cultivation pool (专利产业化样板企业培育库) through the registry's API: nomination, MIIT's
co-signature, quotas with override and rolling replenishment, graduation on evidence, removal on
a credit flag and by the two-year sweep, the dashboard and its CSV (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from services.registry.db import KERNEL
from services.registry.pool import service as pool_service
from shared.db import today_cn
from shared.events.catalogue import validate_payload
from tests.factories import enterprise_body
from tests.harness import auth
from tests.registry.ip_factories import patent_body

TODAY = today_cn()
FILED = date(2020, 4, 1)


async def outbox(app, event_type: str, key: str) -> list[dict]:
    table = KERNEL.outbox
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(table.c.payload).where(
            table.c.event_type == event_type, table.c.message_key == key)
            .order_by(table.c.id))).all()
    return [json.loads(r.payload) for r in rows]


async def eligible(registry, *, region: str = "140200", qualification: str | None = "zjtx_sme",
                   inventions: int = 1, **enterprise) -> str:
    """A small Shanxi manufacturer with a 专精特新 title since 2024 and granted inventions."""
    body = enterprise_body(region_code=region, **enterprise)
    resp = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    uscc = body["uscc"]
    if qualification:
        department = "science_tech" if qualification == "high_tech" else "miit"
        resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications", json={
            "kind": qualification, "certificate_no": f"Q-{uscc}", "valid_from": "2024-01-01"},
            headers=auth(department))
        assert resp.status_code == 201, resp.text
    for _ in range(inventions):
        resp = await registry.post("/v1/patents", json=patent_body(uscc, filing_date=FILED),
                                   headers=auth())
        assert resp.status_code == 201, resp.text
    return uscc


def nomination(uscc: str, **extra) -> dict:
    return {"uscc": uscc, "recommendation": "瓦斯监测专利产业化基础好",
            "industrialisation": {"patents_held": 10, "patents_industrialised": 3,
                                  "evidence": "2025年度知识产权工作报告"}} | extra


async def admit(registry, uscc: str, *, on: date | None = None, **extra) -> dict:
    body = nomination(uscc, **extra)
    if on is not None:
        body["nominated_on"] = on.isoformat()
    resp = await registry.post("/v1/pool/nominations", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "awaiting_co_signature"
    signed = await registry.post(f"/v1/pool/nominations/{resp.json()['id']}/co-signature",
                                 json={"decision": "co_sign"} | (
                                     {"co_signed_on": on.isoformat()} if on else {}),
                                 headers=auth("miit"))
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "admitted"
    return signed.json()


def subset(found: dict, wanted: dict) -> bool:
    """Every key of ``wanted`` is in ``found`` with that value."""
    return found.items() >= wanted.items()


def rules_of(basis: dict) -> dict[str, dict]:
    return {r["rule"]: r for r in basis["rules"]}


async def test_nomination_co_signed_by_miit_admits_with_its_basis(registry_app, registry):
    uscc = await eligible(registry)
    resp = await registry.post("/v1/pool/nominations", json=nomination(uscc), headers=auth())
    assert resp.status_code == 201, resp.text
    nominated = resp.json()
    assert nominated["status"] == "awaiting_co_signature"
    assert nominated["co_signing_department"] == "miit"
    # Not in the pool until MIIT signs: nothing published, nothing listed.
    assert await outbox(registry_app, "pool.admitted", uscc) == []
    assert (await registry.get(f"/v1/pool/{uscc}", headers=auth())).status_code == 404
    # The IP office cannot sign for MIIT; a bank cannot either.
    for department in ("market_regulation", "bank"):
        denied = await registry.post(f"/v1/pool/nominations/{nominated['id']}/co-signature",
                                     json={"decision": "co_sign"}, headers=auth(department))
        assert denied.status_code == 403, denied.text
    # A second nomination while the first waits is a conflict.
    again = await registry.post("/v1/pool/nominations", json=nomination(uscc), headers=auth())
    assert again.status_code == 409 and again.json()["nomination_id"] == nominated["id"]

    signed = await registry.post(f"/v1/pool/nominations/{nominated['id']}/co-signature",
                                 json={"decision": "co_sign"}, headers=auth("miit"))
    assert signed.status_code == 200, signed.text
    basis = rules_of(signed.json()["basis"])
    assert all(line["passed"] for line in basis.values())
    assert set(basis) == {"pool.entry.sme", "pool.entry.qualification",
                          "pool.entry.granted_inventions", "pool.entry.no_barring_credit_flag",
                          "pool.quota", "pool.entry.co_signature"}
    assert basis["pool.entry.qualification"]["figures"]["held"][0]["kind"] == "zjtx_sme"
    assert subset(basis["pool.quota"]["figures"], {"base_cap": 300, "used": 0, "limit": 300})
    assert "四、样板培育（一）" in basis["pool.quota"]["clause"]["clause"]

    [event] = await outbox(registry_app, "pool.admitted", uscc)
    validate_payload("pool.admitted", event)
    assert (event["province_code"], event["admitted_on"], event["revision"]) == (
        "14", TODAY.isoformat(), 1)
    assert event["window_ends_on"] == pool_service.rules.add_years(TODAY, 2).isoformat()
    entry = (await registry.get(f"/v1/pool/{uscc}", headers=auth("enterprise", uscc))).json()
    assert (entry["status"], entry["window_check"], entry["at_risk"]) == (
        "admitted", "pending", False)
    assert entry["admission_basis"]["industrialisation"]["rate_pct"] == "30.00"
    assert [h["kind"] for h in entry["history"]] == ["admitted"]
    other = await registry.get(f"/v1/pool/{uscc}",
                               headers=auth("enterprise", await eligible(registry)))
    assert other.status_code == 403
    # In the pool already: a new nomination is a conflict naming the status.
    dup = await registry.post("/v1/pool/nominations", json=nomination(uscc), headers=auth())
    assert dup.status_code == 409 and dup.json()["status_now"] == "admitted"


async def test_an_enterprise_outside_the_entry_standard_is_refused_rule_by_rule(registry):
    # A large enterprise, no qualification, no granted invention, an active tax-evasion flag.
    uscc = await eligible(registry, qualification=None, inventions=0, employees=2500,
                          revenue_10k_cny="90000")
    flag = await registry.post("/v1/credit-flags", json={
        "uscc": uscc, "kind": "tax_evasion", "source": "国家税务总局山西省税务局",
        "reference": "晋税稽罚〔2026〕15号", "flagged_on": TODAY.isoformat()},
        headers=auth("credit"))
    assert flag.status_code == 201, flag.text
    resp = await registry.post("/v1/pool/nominations", json=nomination(uscc), headers=auth())
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert {e["rule"] for e in problem["errors"]} == {
        "pool.entry.sme", "pool.entry.qualification", "pool.entry.granted_inventions",
        "pool.entry.no_barring_credit_flag"}
    lines = rules_of(problem["basis"])
    assert lines["pool.entry.sme"]["figures"]["size_class"] == "large"
    assert lines["pool.entry.no_barring_credit_flag"]["figures"] == {
        "active_barring_flags": ["tax_evasion"]}
    assert lines["pool.quota"]["passed"] is True  # every rule is reported, not just the first
    # Bad input names its field.
    bad = await registry.post("/v1/pool/nominations", json=nomination(uscc) | {
        "industrialisation": {"patents_held": 2, "patents_industrialised": 5}}, headers=auth())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("industrialisation")
    future = await registry.post("/v1/pool/nominations", json=nomination(uscc) | {
        "nominated_on": (TODAY + timedelta(days=1)).isoformat()}, headers=auth())
    assert [e["rule"] for e in future.json()["errors"]] == ["nominated_on.not_in_future"]
    wrong = await registry.post("/v1/pool/nominations",
                                json=nomination(uscc[:-1] + ("0" if uscc[-1] != "0" else "1")),
                                headers=auth())
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "uscc"
    # Another province's office cannot nominate a Shanxi enterprise.
    elsewhere = await registry.post("/v1/pool/nominations", json=nomination(
        await eligible(registry)), headers=auth("market_regulation", "420000"))
    assert elsewhere.status_code == 403, elsewhere.text


@pytest.fixture
def small_quota(monkeypatch):
    """The national pack with a base cap of 2 (the real 300 would take 300 admissions)."""
    pack = pool_service.pool_packs().packs[0]
    quota = pack.data.quota.model_copy(update={"base": 2})
    small = pack.model_copy(update={"data": pack.data.model_copy(update={"quota": quota})})
    monkeypatch.setattr(pool_service, "pack_on", lambda day, field: small)
    return small


async def test_the_quota_refuses_with_figures_unless_overridden_and_graduations_replenish(
        registry_app, registry, small_quota):
    first, second, third = [await eligible(registry) for _ in range(3)]
    await admit(registry, first, on=TODAY - timedelta(days=100))
    await admit(registry, second)
    # The nomination of a third is refused with the figures …
    resp = await registry.post("/v1/pool/nominations", json=nomination(third), headers=auth())
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["type"] == "urn:ipbridge:problem:pool-quota-exceeded"
    assert subset(problem["quota"], {"base_cap": 2, "used": 2, "limit": 2, "remaining": 0})
    assert problem["errors"][0] == {"field": "quota_override_reason", "rule": "pool.quota",
                                    "message": "the province's quota is used up",
                                    "figures": problem["quota"]}
    # … unless an officer overrides with a recorded reason (the text says 一般, generally).
    over = await admit(registry, third, quota_override_reason="省政府专题会议纪要〔2026〕9号同意增补")
    quota = rules_of(over["basis"])["pool.quota"]
    assert quota["passed"] and quota["figures"]["overridden"] is True
    assert quota["figures"]["override_reason"] == "省政府专题会议纪要〔2026〕9号同意增补"

    # A graduation opens two places (滚动培育); a removal opens none.
    product = await registry.post("/v1/products", json={
        "name": "矿用瓦斯监测仪", "figures_year": TODAY.year - 1, "annual_sales_10k_cny": "800",
        "annual_profit_10k_cny": "120", "patents": [await first_patent(registry, first)]},
        headers=auth("enterprise", first))
    assert product.status_code == 201, product.text
    recognised = await registry.post(f"/v1/products/{product.json()['id']}/recognition",
                                     json={"decision": "recognised"}, headers=auth())
    assert recognised.status_code == 200, recognised.text
    graduated = await registry.post(f"/v1/pool/{first}/graduation", json={
        "industrialisation": {"patents_held": 10, "patents_industrialised": 6}}, headers=auth())
    assert graduated.status_code == 200, graduated.text
    dashboard = (await registry.get("/v1/pool/dashboard?province_code=14",
                                    headers=auth("auditor"))).json()
    [province] = dashboard["provinces"]
    assert subset(province["quota"], {"base_cap": 2, "graduations": 1, "replenishment": 2,
                                      "limit": 4, "used": 3, "remaining": 1})
    assert subset(province["counts"], {"admitted": 2, "graduated": 1, "removed": 0,
                                       "follow_up_cultivation": 1})
    removed = await registry.post(f"/v1/pool/{second}/removal",
                                  json={"reason": "企业申请退出培育"}, headers=auth())
    assert removed.status_code == 200 and removed.json()["removal_reason"] == "officer_decision"
    province = (await registry.get("/v1/pool/dashboard?province_code=14",
                                   headers=auth())).json()["provinces"][0]
    assert (province["quota"]["used"], province["quota"]["remaining"]) == (3, 1)
    assert province["removals_by_reason"] == {"officer_decision": 1}
    fourth = await eligible(registry)
    await admit(registry, fourth)
    fifth = await eligible(registry)
    resp = await registry.post("/v1/pool/nominations", json=nomination(fifth), headers=auth())
    assert resp.status_code == 409 and resp.json()["quota"]["limit"] == 4


async def first_patent(registry, uscc: str) -> str:
    page = await registry.get(f"/v1/enterprises/{uscc}/patents", headers=auth())
    assert page.status_code == 200, page.text
    return page.json()["items"][0]["application_no"]


async def test_graduation_needs_the_rate_up_and_a_new_or_grown_product(registry_app, registry):
    uscc = await eligible(registry)
    number = await first_patent(registry, uscc)
    earlier = await registry.post("/v1/products", json={
        "name": "矿用瓦斯监测仪", "figures_year": TODAY.year - 3, "annual_sales_10k_cny": "500",
        "annual_profit_10k_cny": "50", "patents": [number]}, headers=auth("enterprise", uscc))
    assert earlier.status_code == 201, earlier.text
    resp = await registry.post(f"/v1/products/{earlier.json()['id']}/recognition",
                               json={"decision": "recognised", "recognized_on": TODAY.isoformat()},
                               headers=auth())
    assert resp.status_code == 200, resp.text
    await admit(registry, uscc)
    graduation = f"/v1/pool/{uscc}/graduation"
    # The product was recognised on the admission day: not new since admission. Its figures
    # grew 20 % — below the pack's 30 % — and the rate rose only 5 points.
    resp = await registry.post(graduation, json={
        "industrialisation": {"patents_held": 10, "patents_industrialised": 3, "evidence": "x"},
        "product_growth": [{"product_id": earlier.json()["id"], "figures_year": TODAY.year - 1,
                            "annual_sales_10k_cny": "600", "annual_profit_10k_cny": "60"}]},
        headers=auth())
    assert resp.status_code == 422, resp.text
    failed = {e["rule"] for e in resp.json()["errors"]}
    assert failed == {"pool.graduation.rate_increase", "pool.graduation.products",
                      "pool.graduation.new_products", "pool.graduation.product_growth"}
    growth = rules_of(resp.json()["basis"])["pool.graduation.product_growth"]["figures"]
    assert subset(growth["products"][0], {"sales_growth": "20.00%", "profit_growth": "20.00%",
                                          "passed": False})
    # Sales and profit both up by half and the rate up 30 points: graduated.
    resp = await registry.post(graduation, json={
        "industrialisation": {"patents_held": 10, "patents_industrialised": 6,
                              "evidence": "2026年度专利实施情况审计报告"},
        "product_growth": [{"product_id": earlier.json()["id"], "figures_year": TODAY.year - 1,
                            "annual_sales_10k_cny": "750", "annual_profit_10k_cny": "75",
                            "evidence": "2025年度审计报告"}]}, headers=auth())
    assert resp.status_code == 200, resp.text
    entry = resp.json()
    assert (entry["status"], entry["follow_up_cultivation"]) == ("graduated", True)
    lines = rules_of(entry["graduation_basis"])
    assert lines["pool.graduation.rate_increase"]["figures"]["increase_points"] == "30.00"
    assert lines["pool.graduation.new_products"]["passed"] is False
    assert lines["pool.graduation.product_growth"]["passed"] is True
    assert lines["pool.graduation.product_growth"]["figures"]["products"][0]["evidence"] == \
        "2025年度审计报告"
    [event] = await outbox(registry_app, "pool.graduated", uscc)
    validate_payload("pool.graduated", event)
    assert (event["revision"], event["follow_up_cultivation"]) == (2, True)
    again = await registry.post(graduation, json={
        "industrialisation": {"patents_held": 10, "patents_industrialised": 8}}, headers=auth())
    assert again.status_code == 409 and again.json()["status_now"] == "graduated"


async def test_a_credit_flag_removes_a_pool_enterprise_in_the_same_transaction(registry_app,
                                                                               registry):
    uscc = await eligible(registry)
    await admit(registry, uscc)
    flag = await registry.post("/v1/credit-flags", json={
        "uscc": uscc, "kind": "data_fraud", "source": "信用中国（山西）",
        "reference": "晋市监信〔2026〕7号", "flagged_on": TODAY.isoformat()},
        headers=auth("credit"))
    assert flag.status_code == 201, flag.text
    entry = (await registry.get(f"/v1/pool/{uscc}", headers=auth())).json()
    assert (entry["status"], entry["removal_reason"], entry["removed_on"]) == (
        "removed", "data_fraud", TODAY.isoformat())
    line = entry["removal_basis"]["rules"][0]
    assert line["rule"] == "pool.removal.credit_flag"
    assert line["figures"]["flag_id"] == flag.json()["id"]
    assert "数据造假" in line["meaning"] and "3. 退出机制" in line["clause"]["clause"]
    [event] = await outbox(registry_app, "pool.removed", uscc)
    validate_payload("pool.removed", event)
    assert (event["reason"], event["revision"]) == ("data_fraud", 2)
    # While the flag stands, the enterprise cannot come back.
    resp = await registry.post("/v1/pool/nominations", json=nomination(uscc), headers=auth())
    assert resp.status_code == 422
    assert [e["rule"] for e in resp.json()["errors"]] == ["pool.entry.no_barring_credit_flag"]


async def test_the_two_year_sweep_removes_only_those_without_progress_inside_the_window(
        registry_app, registry):
    admitted_on = date(2024, 3, 1)            # window: 2024-03-02 .. 2026-03-01
    idle, busy, late = [await eligible(registry) for _ in range(3)]
    for uscc in (idle, busy, late):
        await admit(registry, uscc, on=admitted_on)
    # busy: an invention granted inside the window; late: one granted after it ended.
    for uscc, granted in ((busy, date(2025, 7, 1)), (late, date(2026, 3, 2))):
        resp = await registry.post("/v1/patents", json=patent_body(
            uscc, filing_date=date(2023, 5, 5), grant_date=granted.isoformat()), headers=auth())
        assert resp.status_code == 201, resp.text
    resp = await registry.post("/v1/pool/sweeps", headers=auth("ops"))
    assert resp.status_code == 200, resp.text
    assert subset(resp.json(), {"checked": 3, "removed": 2, "passed": 1})
    assert (await registry.post("/v1/pool/sweeps", headers=auth("ops"))).json()["checked"] == 0
    assert (await registry.post("/v1/pool/sweeps", headers=auth("bank"))).status_code == 403

    gone = (await registry.get(f"/v1/pool/{late}", headers=auth())).json()
    assert (gone["status"], gone["removal_reason"]) == ("removed", "no_progress_two_years")
    line = gone["removal_basis"]["rules"][0]
    assert line["figures"]["window_ends_on"] == "2026-03-01"
    assert line["figures"]["progress_in_window"]["patent_granted"] == 0
    assert [p["on"] for p in line["figures"]["outside_window"]] == ["2026-03-02"]
    kept = (await registry.get(f"/v1/pool/{busy}", headers=auth())).json()
    assert (kept["status"], kept["window_check"]) == ("admitted", "passed")
    [check] = kept["window_basis"]["rules"]
    assert check["passed"] and check["figures"]["progress_in_window"]["patent_granted"] == 1
    assert subset(kept["progress"][0], {"kind": "patent_granted", "on": "2025-07-01"})
    events = await outbox(registry_app, "pool.removed", idle)
    assert [e["reason"] for e in events] == ["no_progress_two_years"]


async def test_the_dashboard_lists_enterprises_at_risk_and_exports_csv(registry):
    soon = await eligible(registry, name="山西示例风险企业有限公司")
    safe = await eligible(registry)
    # Admitted long enough ago that the window closes in 30 days, with no progress.
    on = pool_service.rules.add_years(TODAY + timedelta(days=30), -2)
    await admit(registry, soon, on=on)
    await admit(registry, safe)
    [province] = (await registry.get("/v1/pool/dashboard", params={"province_code": "14"},
                                     headers=auth())).json()["provinces"]
    assert [r["uscc"] for r in province["at_risk"]] == [soon]
    assert province["at_risk"][0]["days_left_in_window"] == 30
    resp = await registry.get("/v1/pool/dashboard.csv", params={"province_code": "14"},
                              headers=auth("auditor"))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    by_uscc = {r["uscc"]: r for r in rows}
    assert by_uscc[soon]["at_risk"] == "True" and by_uscc[soon]["enterprise_name"] == \
        "山西示例风险企业有限公司"
    assert by_uscc[safe]["at_risk"] == "False" and by_uscc[safe]["status"] == "admitted"
    listed = (await registry.get("/v1/pool", params={"province_code": "14", "limit": 1},
                                 headers=auth())).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    rest = (await registry.get("/v1/pool", params={"cursor": listed["next_cursor"]},
                               headers=auth())).json()
    assert {listed["items"][0]["uscc"], *[i["uscc"] for i in rest["items"]]} >= {soon, safe}
    assert (await registry.get("/v1/pool/dashboard", headers=auth("enterprise", soon))
            ).status_code == 403
