"""Registry enterprises: size class with basis, updates with ETag, idempotent creates, search."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.factories import enterprise_body, make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic

pytestmark = pytest.mark.asyncio


async def create(client, **overrides) -> dict:
    resp = await client.post("/v1/enterprises", json=enterprise_body(**overrides), headers=auth())
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_size_class_is_computed_with_its_basis(registry):
    e = await create(registry, industry_code="C3911", employees=250, revenue_10k_cny="15000")
    assert e["size_class"] == "small"
    basis = e["size_basis"]
    assert basis["industry_group"]["key"] == "industry" and basis["outcome"] == "small"
    assert basis["figures"] == {"employees": 250, "revenue_10k_cny": "15000.00",
                                "total_assets_10k_cny": None, "figures_year": 2025}
    assert "300号" in basis["sources"][0]["document"]


async def test_update_needs_if_match_recomputes_size_and_emits(registry, broker):
    e = await create(registry)
    path = f"/v1/enterprises/{e['uscc']}"
    body = {"employees": 1200, "revenue_10k_cny": "30000"}
    resp = await registry.patch(path, json=body, headers=auth())
    assert resp.status_code == 428 and resp.json()["type"].endswith("precondition-required")
    resp = await registry.patch(path, json=body, headers={**auth(), "If-Match": '"7"'})
    assert resp.status_code == 412 and resp.json()["current_etag"] == '"1"'
    resp = await registry.patch(path, json=body, headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == '"2"'
    updated = resp.json()
    assert (updated["revision"], updated["size_class"], updated["employees"]) == (2, "medium", 1200)
    # the same ETag cannot be used twice: the second writer is told to re-read
    stale = await registry.patch(path, json={"name": "改名"}, headers={**auth(), "If-Match": '"1"'})
    assert stale.status_code == 412
    records = await read_topic(broker.bootstrap, "registry.enterprise.v1", until=lambda rs: any(
        r.key == e["uscc"].encode() and header(r, "ce_type") == "enterprise.updated" for r in rs))
    event = next(r for r in records if r.key == e["uscc"].encode()
                 and header(r, "ce_type") == "enterprise.updated")
    payload = json.loads(event.value)
    assert (payload["revision"], payload["size_class"], payload["employees"]) == (2, "medium", 1200)


async def test_update_validates_fields_and_department(registry):
    e = await create(registry)
    path = f"/v1/enterprises/{e['uscc']}"
    h = {**auth(), "If-Match": '"1"'}
    resp = await registry.patch(path, json={"industry_code": "Z99"}, headers=h)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "industry_code"
    resp = await registry.patch(path, json={"name": None}, headers=h)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "name"
    resp = await registry.patch(path, json={"uscc": make_uscc()}, headers=h)
    assert resp.status_code == 422 and resp.json()["errors"][0]["rule"] == "extra_forbidden"
    resp = await registry.patch(path, json={"name": "x"}, headers={**auth("miit"), "If-Match": '"1"'})
    assert resp.status_code == 403
    resp = await registry.patch(f"/v1/enterprises/{make_uscc()}", json={"name": "x"}, headers=h)
    assert resp.status_code == 404


async def test_idempotency_key_replays_the_first_response(registry, broker):
    body = enterprise_body()
    h = {**auth(), "Idempotency-Key": "import-2026-11-23-row-17"}
    first = await registry.post("/v1/enterprises", json=body, headers=h)
    second = await registry.post("/v1/enterprises", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    other = await registry.post("/v1/enterprises", json={**body, "name": "别的名字"}, headers=h)
    assert other.status_code == 422
    assert other.json()["errors"][0]["rule"] == "idempotency_key.reused"
    without_key = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert without_key.status_code == 409
    records = await read_topic(broker.bootstrap, "registry.enterprise.v1",
                               until=lambda rs: any(r.key == body["uscc"].encode() for r in rs))
    await asyncio.sleep(0.3)
    records = await read_topic(broker.bootstrap, "registry.enterprise.v1")
    assert sum(r.key == body["uscc"].encode() for r in records) == 1


async def test_search_filters_and_cursor_pagination(registry):
    made = []
    for region, industry, employees, name in [
            ("140202", "C3911", 120, "大同甲科技"), ("140211", "I6513", 50, "大同乙软件"),
            ("140100", "C3911", 500, "太原丙制造"), ("420281", "C3985", 15, "大冶丁材料"),
            ("420281", "F5211", 30, "大冶戊商贸")]:
        made.append(await create(registry, region_code=region, industry_code=industry,
                                 employees=employees, name=name))
    reader = auth("miit")

    async def uscc_set(**params):
        resp = await registry.get("/v1/enterprises", params=params, headers=reader)
        assert resp.status_code == 200, resp.text
        return {e["uscc"] for e in resp.json()["items"]}

    by_name = {e["name"]: e["uscc"] for e in made}
    mine = set(by_name.values())
    assert await uscc_set(region="1402") & mine == {by_name["大同甲科技"], by_name["大同乙软件"]}
    assert await uscc_set(province="42") & mine == {by_name["大冶丁材料"], by_name["大冶戊商贸"]}
    assert await uscc_set(industry_section="I") & mine == {by_name["大同乙软件"]}
    assert await uscc_set(size_class="micro", province="42") & mine == {by_name["大冶丁材料"]}
    assert await uscc_set(name="太原") & mine == {by_name["太原丙制造"]}

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await registry.get("/v1/enterprises", params=params, headers=reader)).json()
        seen += [e["uscc"] for e in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and mine <= set(seen) and seen == sorted(seen)
    assert pages >= 3

    bad = await registry.get("/v1/enterprises", params={"cursor": "not-a-cursor"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    bad = await registry.get("/v1/enterprises", params={"region": "14x"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "region.format"
    bad = await registry.get("/v1/enterprises", params={"limit": 1000}, headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


async def test_an_enterprise_lists_only_itself(registry):
    e = await create(registry)
    await create(registry)
    resp = await registry.get("/v1/enterprises", headers=auth("enterprise", org=e["uscc"]))
    assert [x["uscc"] for x in resp.json()["items"]] == [e["uscc"]]
    assert (await registry.get("/v1/enterprises", headers=auth("enterprise"))).status_code == 403
