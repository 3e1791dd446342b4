"""Patent-intensive products (专利密集型产品) over HTTP (SQLite and PostgreSQL, real broker):
filing by the enterprise for its own in-force patents, recognition by the IP office, events."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.db import today_cn
from shared.events.catalogue import validate_payload
from tests.harness import auth
from tests.kafka_utils import header
from tests.registry.ip_factories import patent_body
from tests.factories import make_uscc
from tests.registry.ip_fixtures import (ip_events, new_enterprise, new_patent, problem_fields)

pytestmark = pytest.mark.asyncio


def product_body(patents: list[str], **overrides) -> dict:
    body = {"name": "高镍三元正极材料NCM811", "description": "动力电池正极材料",
            "patents": patents, "figures_year": today_cn().year - 1,
            "annual_sales_10k_cny": "12500.50", "annual_profit_10k_cny": "1830.00"}
    body.update(overrides)
    return body


async def owner_with_patent(registry, **patent) -> tuple[str, str]:
    uscc = await new_enterprise(registry)
    number = (await new_patent(registry, patent_body(uscc, **patent)))["application_no"]
    return uscc, number


async def test_enterprise_files_a_product_for_its_own_granted_patent(registry, broker):
    uscc, number = await owner_with_patent(registry)
    digits, check = number.split(".")
    resp = await registry.post("/v1/products", json=product_body([f"ZL{digits}{check}"]),
                               headers={**auth("enterprise", org=uscc),
                                        "Idempotency-Key": "file-1"})
    assert resp.status_code == 201, resp.text
    product = resp.json()
    assert product["uscc"] == uscc and product["status"] == "filed"
    assert [p["application_no"] for p in product["patents"]] == [number]
    assert product["patents"][0]["in_force"] is True
    assert product["annual_sales_10k_cny"] == "12500.50"
    assert resp.headers["location"] == f"/v1/products/{product['id']}"

    replay = await registry.post("/v1/products", json=product_body([f"ZL{digits}{check}"]),
                                 headers={**auth("enterprise", org=uscc),
                                          "Idempotency-Key": "file-1"})
    assert replay.status_code == 201 and replay.json()["id"] == product["id"]
    assert replay.headers["idempotent-replayed"] == "true"

    records = await ip_events(broker, product["id"], until=lambda rs: rs)
    assert len(records) == 1 and records[0].key == uscc.encode()
    assert header(records[0], "ce_type") == "product.filed"
    payload = json.loads(records[0].value)
    validate_payload("product.filed", payload)
    assert payload["patents"][0]["application_no"] == number
    assert payload["annual_profit_10k_cny"] == "1830.00"

    for who in (auth("enterprise", org=uscc), auth(), auth("auditor")):
        got = await registry.get(f"/v1/products/{product['id']}", headers=who)
        assert got.status_code == 200 and got.json()["id"] == product["id"]
    other = await registry.get(f"/v1/products/{product['id']}",
                               headers=auth("enterprise", org=await new_enterprise(registry)))
    assert other.status_code == 403


async def test_another_enterprises_patent_is_refused(registry):
    _, theirs = await owner_with_patent(registry)
    me, mine = await owner_with_patent(registry)
    resp = await registry.post("/v1/products", json=product_body([mine, theirs]),
                               headers=auth("enterprise", org=me))
    assert {"field": "patents.1", "rule": "patent.not_owned"} in problem_fields(resp)
    resp = await registry.post("/v1/products", json=product_body([mine], uscc=_other_uscc(me)),
                               headers=auth("enterprise", org=me))
    assert resp.status_code == 403  # filing in someone else's name


def _other_uscc(uscc: str) -> str:
    other = make_uscc()
    return other if other != uscc else make_uscc()


async def test_lapsed_or_pending_patents_are_refused(registry):
    uscc = await new_enterprise(registry)
    lapsed = (await new_patent(registry, patent_body(
        uscc, status="lapsed", status_date=(today_cn() - timedelta(days=40)).isoformat())))
    pending = await new_patent(registry, patent_body(uscc, granted=False))
    for index, number in ((0, lapsed["application_no"]), (0, pending["application_no"])):
        resp = await registry.post("/v1/products", json=product_body([number]),
                                   headers=auth("enterprise", org=uscc))
        assert {"field": f"patents.{index}", "rule": "patent.not_in_force"} in \
            problem_fields(resp)


@pytest.mark.parametrize("change, field, rule", [
    ({"patents": []}, "patents", "too_short"),
    ({"patents": ["202410123456.1"]}, "patents.0", "application_no.check_char"),
    ({"patents": ["202410123456.0"]}, "patents.0", "patent.not_registered"),
    ({"annual_sales_10k_cny": "-1"}, "annual_sales_10k_cny", "greater_than_equal"),
    ({"figures_year": 2999}, "figures_year", "less_than_equal"),
])
async def test_bad_filings_are_422(registry, change, field, rule):
    uscc, number = await owner_with_patent(registry)
    body = product_body([number]) | change
    resp = await registry.post("/v1/products", json=body, headers=auth("enterprise", org=uscc))
    assert {"field": field, "rule": rule} in problem_fields(resp)


async def test_duplicates_and_departments(registry):
    uscc, number = await owner_with_patent(registry)
    body = product_body([number, number])
    resp = await registry.post("/v1/products", json=body, headers=auth("enterprise", org=uscc))
    assert {"field": "patents.1", "rule": "patents.duplicate"} in problem_fields(resp)
    body = product_body([number])
    assert (await registry.post("/v1/products", json=body,
                                headers=auth("enterprise", org=uscc))).status_code == 201
    resp = await registry.post("/v1/products", json=body, headers=auth("enterprise", org=uscc))
    assert resp.status_code == 409
    assert resp.json()["type"] == "urn:ipbridge:problem:product-already-filed"
    for other in (auth(), auth("miit"), auth("enterprise")):  # not an enterprise / no org
        resp = await registry.post("/v1/products", json=product_body([number], name="另一产品"),
                                   headers=other)
        assert resp.status_code == 403, resp.text


async def test_recognition_emits_product_recognized(registry, broker):
    uscc, number = await owner_with_patent(registry)
    product = (await registry.post("/v1/products", json=product_body([number]),
                                   headers=auth("enterprise", org=uscc))).json()
    decision = {"decision": "recognised", "reason": "符合专利密集型产品认定条件"}
    for wrong in (auth("miit"), auth("enterprise", org=uscc), auth("auditor")):
        resp = await registry.post(f"/v1/products/{product['id']}/recognition", json=decision,
                                   headers=wrong)
        assert resp.status_code == 403, resp.text
    resp = await registry.post(f"/v1/products/{product['id']}/recognition", json=decision,
                               headers=auth())
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["status"] == "recognized" and data["recognized_on"] == today_cn().isoformat()
    assert resp.headers["etag"] == '"2"'
    again = await registry.post(f"/v1/products/{product['id']}/recognition",
                                json={"decision": "rejected", "reason": "重复"}, headers=auth())
    assert again.status_code == 409
    assert again.json()["type"] == "urn:ipbridge:problem:product-already-decided"

    records = await ip_events(broker, product["id"], until=lambda rs: len(rs) >= 2)
    recognised = [r for r in records if header(r, "ce_type") == "product.recognized"]
    assert len(recognised) == 1 and recognised[0].key == uscc.encode()
    payload = json.loads(recognised[0].value)
    validate_payload("product.recognized", payload)
    assert payload["decision"] == "recognised" and payload["status"] == "recognized"
    assert payload["recognized_on"] == today_cn().isoformat() and payload["revision"] == 2
    assert payload["annual_sales_10k_cny"] == "12500.50" and payload["figures_year"]
    missing = await registry.post("/v1/products/00000000-0000-0000-0000-000000000000/recognition",
                                  json=decision, headers=auth())
    assert missing.status_code == 404


async def test_rejection_needs_a_reason_and_emits_product_rejected(registry, broker):
    uscc, number = await owner_with_patent(registry)
    product = (await registry.post("/v1/products", json=product_body([number]),
                                   headers=auth("enterprise", org=uscc))).json()
    url = f"/v1/products/{product['id']}/recognition"
    resp = await registry.post(url, json={"decision": "rejected"}, headers=auth())
    assert {"field": "reason", "rule": "recognition.reason_required"} in problem_fields(resp)
    resp = await registry.post(url, json={"decision": "maybe"}, headers=auth())
    assert {"field": "decision", "rule": "enum"} in problem_fields(resp)
    resp = await registry.post(url, json={"decision": "rejected", "reason": "专利与产品关联性不足"},
                               headers=auth())
    assert resp.status_code == 200 and resp.json()["status"] == "rejected"
    records = await ip_events(broker, product["id"], until=lambda rs: len(rs) >= 2)
    payload = json.loads(next(r for r in records
                              if header(r, "ce_type") == "product.rejected").value)
    validate_payload("product.rejected", payload)
    assert payload["reason"] == "专利与产品关联性不足"
    # a rejected product may be filed again
    resp = await registry.post("/v1/products", json=product_body([number]),
                               headers=auth("enterprise", org=uscc))
    assert resp.status_code == 201, resp.text


async def test_recognition_rechecks_that_the_patents_are_still_in_force(registry):
    uscc, number = await owner_with_patent(registry)
    product = (await registry.post("/v1/products", json=product_body([number]),
                                   headers=auth("enterprise", org=uscc))).json()
    resp = await registry.patch(f"/v1/patents/{number}",
                                json={"status": "invalidated",
                                      "status_date": today_cn().isoformat()},
                                headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    resp = await registry.post(f"/v1/products/{product['id']}/recognition",
                               json={"decision": "recognised"}, headers=auth())
    assert {"field": "patents.0", "rule": "patent.not_in_force"} in problem_fields(resp)
    resp = await registry.post(f"/v1/products/{product['id']}/recognition",
                               json={"decision": "rejected", "reason": "专利已被宣告无效"},
                               headers=auth())
    assert resp.status_code == 200
