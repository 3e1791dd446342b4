"""The matching joint actions with real processes (ARCHITECTURE flows 6 and 7, and the matching
side of flow 3): the broker and the four services started like ``make run``, driven only
through public REST APIs and topics. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.db import today_cn
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from tests.e2e.flows import (
    BANK,
    GAS,
    declaration,
    declare_until_known,
    get,
    known_to,
    post,
)
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth, wait_for
from tests.kafka_utils import produce
from tests.registry.ip_factories import patent_body

pytestmark = pytest.mark.slow


def test_flow_6_an_sme_takes_an_open_licence_and_the_registry_records_it(stack_factory):
    stack = stack_factory()
    registry, matching = stack["registry"].url, stack["matching"].url
    school = enterprise_body(uscc=make_uscc(prefix="12"), name="太原示例理工大学",
                             industry_code="P8341")
    post(registry, "/v1/enterprises", school, auth())
    number = post(registry, "/v1/patents", patent_body(school["uscc"], **GAS),
                  auth())["application_no"]
    sme = enterprise_body(industry_code="B0610", name="大同示例煤业有限公司")
    post(registry, "/v1/enterprises", sme, auth())
    known_to(matching, sme["uscc"])
    demand = post(matching, "/v1/demands", {
        "title": "矿井瓦斯超限自动报警改造", "budget_max_cny": "500000",
        "description": "井下还在人工测瓦斯，想上一套实时监测甲烷浓度、超标自动报警断电的系统。"},
        auth("enterprise", sme["uscc"]))

    resp = declare_until_known(matching, school["uscc"],
                               declaration(number, patentee_type="university"), "university")
    assert resp.status_code == 201, resp.text
    ol = resp.json()["id"]
    post(matching, f"/v1/open-licenses/{ol}/publication", {}, auth(), 200)

    # matching finds it for the demand, explained, and pushes it to the SME
    def found():
        results = get(matching, f"/v1/demands/{demand['id']}/matches", auth()).json()["results"]
        return results if results and results[0]["open_license_id"] == ol else None
    top = wait_for(found, what="the demand matching the published licence")[0]
    assert top["components"]["stock"]["score"] == 1.0
    pushed = wait_for(lambda: get(matching, "/v1/pushes", auth("enterprise", sme["uscc"]))
                      .json()["items"], what="the push to the SME")
    assert [p["application_no"] for p in pushed] == [number]

    # Flow 6: the SME takes the licence (written notice + payment on the published terms)
    today = today_cn().isoformat()
    licence = post(matching, "/v1/licenses", {
        "type": "open", "open_license_id": ol,
        "notice": {"sent_on": today, "reference": "许可通知〔2026〕1号"},
        "payment": {"amount_cny": "200000.00", "paid_on": today, "reference": "转账 001"}},
        auth("enterprise", sme["uscc"]))
    assert licence["license_type"] == "open"

    def recorded():
        patent = get(registry, f"/v1/patents/{number}", auth()).json()
        return next((e for e in patent["encumbrances"] if e["kind"] == "licence"), None)
    encumbrance = wait_for(recorded, what="the registry recording the licence")
    assert encumbrance["licence_type"] == "open" and encumbrance["active"] is True
    assert encumbrance["licensee_uscc"] == sme["uscc"]
    # taking it twice is refused; the licence stays one
    again = httpx.post(f"{matching}/v1/licenses", json={
        "type": "open", "open_license_id": ol,
        "notice": {"sent_on": today, "reference": "许可通知〔2026〕2号"},
        "payment": {"amount_cny": "200000.00", "paid_on": today}},
        headers=auth("enterprise", sme["uscc"]), timeout=10)
    assert again.status_code == 409, again.text


def test_flow_7_a_pledge_blocks_open_licence_declarations_and_flow_3_pool_pushes(
        stack_factory):
    stack = stack_factory()
    registry, financing, matching = (stack["registry"].url, stack["financing"].url,
                                     stack["matching"].url)
    body = enterprise_body(industry_code="B0610")
    post(registry, "/v1/enterprises", body, auth())
    uscc = body["uscc"]
    number = post(registry, "/v1/patents", patent_body(uscc, **GAS), auth())["application_no"]
    wait_for(lambda: (get(financing, f"/v1/whitelist/{uscc}", auth("bank", BANK)).json()
                      or {}).get("listed"), what="whitelisted")
    post(financing, "/v1/valuations", {
        "application_no": number, "purpose": "pledge_financing",
        "cost": {"variant": "obsolescence", "replacement_cost_cny": "8000000.00",
                 "obsolescence_rate": "0"}}, auth("market_regulation"))
    lender, firm = auth("bank", BANK), auth("enterprise", uscc)
    loan = post(financing, "/v1/loans", {
        "bank_code": BANK, "requested_amount_cny": "2000000.00", "term_months": 12,
        "purpose": "瓦斯监测系统产业化", "patents": [number]}, firm)
    post(financing, f"/v1/loans/{loan['id']}/review", {}, lender, 200)
    post(financing, f"/v1/loans/{loan['id']}/decision", {
        "decision": "approve", "approved_amount_cny": "2000000.00", "interest_rate": "0.0385",
        "term_months": 12}, lender, 200)
    post(financing, f"/v1/loans/{loan['id']}/pledge-registration", {
        "pledgee_name": "示例银行大同分行",
        "registrations": [{"application_no": number, "registration_no": "Y2026000002"}]},
        lender, 200)

    # Flow 7: registry marks the patent pledged → matching refuses an open-licence declaration
    checks = wait_for(lambda: (c := get(matching, f"/v1/open-licenses/patent-checks/{number}",
                                        firm)).status_code == 200
                      and "pledged_without_consent" in c.json()["failed"] and c.json(),
                      what="matching seeing the pledge")
    assert checks["declarable"] is False
    resp = httpx.post(f"{matching}/v1/open-licenses", json=declaration(number), headers=firm,
                      timeout=10)
    assert resp.status_code == 422, resp.text
    rules = {e["rule"] for e in resp.json()["errors"]}
    assert rules == {"pledged_without_consent"}
    line = next(c for c in resp.json()["basis"]["checks"]
                if c["code"] == "pledged_without_consent")
    assert line["passed"] is False and "第八十六条" in line["clause"]["clause"]

    # Flow 3 (matching's side): the pool enterprise is served first. Admitted now, it gets the
    # open licences that fit it: a university publishes one on its own technology.
    etype = event_type("pool.admitted")
    event = CloudEvent(type=etype.type, source=etype.source, subject=uscc,
                       dataschema=etype.dataschema,
                       data={"uscc": uscc, "province_code": "14",
                             "admitted_on": today_cn().isoformat(), "revision": 1})
    asyncio.run(produce(stack.broker.bootstrap, "registry.enterprise.v1",
                        [(uscc.encode(), event.body(), event.headers())]))
    school = enterprise_body(uscc=make_uscc(prefix="12"), name="太原示例理工大学")
    post(registry, "/v1/enterprises", school, auth())
    other = post(registry, "/v1/patents", patent_body(school["uscc"], title=GAS["title"] + "（改进型）",
                                                      abstract=GAS["abstract"],
                                                      ipc_codes=["E21F 17/18"]),
                 auth())["application_no"]
    resp = declare_until_known(matching, school["uscc"],
                               declaration(other, patentee_type="university"), "university")
    assert resp.status_code == 201, resp.text
    ol = resp.json()["id"]
    post(matching, f"/v1/open-licenses/{ol}/publication", {}, auth(), 200)
    pushed = wait_for(lambda: get(matching, "/v1/pushes", firm).json()["items"],
                      what="the pool enterprise's push")
    assert [p["application_no"] for p in pushed] == [other]
    assert pushed[0]["pool_member"] is True
    candidates = get(matching, f"/v1/open-licenses/{ol}/candidates", auth()).json()
    assert candidates["candidates"][0]["uscc"] == uscc
