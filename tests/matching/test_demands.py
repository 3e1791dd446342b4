"""The technology demand library (技术需求库) on the real broker and both databases: an
enterprise posts, edits (optimistic concurrency) and closes its demands, each change an event;
bad input is a 422 naming the field; past deadlines are closed by the periodic task."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from services.matching.demands.models import Demand
from services.matching.demands.service import PERIODIC_TASKS, close_expired
from shared.auth import DEFAULT_SCOPES, mint_token
from shared.db import today_cn
from shared.events.catalogue import validate_payload
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic
from tests.matching.helpers import new_enterprise

TOPIC = "matching.license.v1"


def demand_body(**overrides) -> dict:
    body = {"title": "动力电池正极材料降本技术", "description": "寻求高镍正极材料的低成本制备工艺，"
            "用于储能电池量产。", "technical_field": "锂离子电池", "ipc_hints": ["h01m", "H01M10/0525"],
            "budget_min_cny": "200000", "budget_max_cny": "800000.5",
            "deadline": (today_cn() + timedelta(days=90)).isoformat()}
    body.update(overrides)
    return body


async def demand_events(broker, demand_id: str, count: int) -> list[tuple[str, dict, str]]:
    def mine(records):
        return [r for r in records if (header(r, "ce_type") or "").startswith("demand.")
                and json.loads(r.value)["demand_id"] == demand_id]
    records = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: len(mine(rs)) >= count)
    return [(header(r, "ce_type"), json.loads(r.value), r.key.decode()) for r in mine(records)]


async def test_an_enterprise_posts_edits_and_closes_a_demand(stack, broker):
    uscc = await new_enterprise(stack)
    mine = auth("enterprise", uscc)
    resp = await stack.matching.post("/v1/demands", json=demand_body(), headers=mine)
    assert resp.status_code == 201, resp.text
    demand = resp.json()
    assert resp.headers["ETag"] == '"1"'
    assert demand["uscc"] == uscc and demand["enterprise_name"] == "大同市示例新材料科技有限公司"
    assert demand["ipc_hints"] == ["H01M", "H01M 10/0525"]
    # industry and region default to the enterprise's (registry: C3985, 140200)
    assert (demand["industry_code"], demand["region_code"]) == ("C3985", "140200")
    assert (demand["budget_min_cny"], demand["budget_max_cny"]) == ("200000.00", "800000.50")
    assert demand["status"] == "open" and demand["revision"] == 1

    listed = await stack.matching.get("/v1/demands", headers=auth("university", make_uscc()),
                                      params={"status": "open", "industry_code": "C39",
                                              "region_code": "14", "uscc": uscc})
    assert [d["id"] for d in listed.json()["items"]] == [demand["id"]]
    assert (await stack.matching.get("/v1/demands", params={"region_code": "42", "uscc": uscc},
                                     headers=mine)).json()["items"] == []

    url = f"/v1/demands/{demand['id']}"
    # edit with the ETag: revision 2, an event with the full new state
    resp = await stack.matching.patch(url, json={"budget_max_cny": "900000", "deadline": None},
                                      headers=mine | {"If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    assert resp.json()["budget_max_cny"] == "900000.00" and resp.json()["deadline"] is None
    assert resp.json()["revision"] == 2 and resp.headers["ETag"] == '"2"'
    # a stale revision (If-Match or body) is 412; none at all is 428
    stale = await stack.matching.patch(url, json={"title": "新的需求名称"},
                                       headers=mine | {"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["current_revision"] == 2
    stale = await stack.matching.patch(url, json={"title": "新的需求名称", "revision": 1},
                                       headers=mine)
    assert stale.status_code == 412
    assert (await stack.matching.patch(url, json={"title": "新的需求名称"},
                                       headers=mine)).status_code == 428
    # another enterprise can neither edit nor close it
    other = auth("enterprise", make_uscc())
    assert (await stack.matching.patch(url, json={"revision": 2, "title": "被别人改了"},
                                       headers=other)).status_code == 403
    assert (await stack.matching.post(f"{url}/closure", json={"reason": "withdrawn"},
                                      headers=other)).status_code == 403
    # an edit that would break a rule changes nothing
    bad = await stack.matching.patch(url, json={"revision": 2, "budget_min_cny": "950000"},
                                     headers=mine)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "budget_max_cny"

    resp = await stack.matching.post(f"{url}/closure", json={"reason": "fulfilled",
                                                             "note": "已与某大学签约"},
                                     headers=mine)
    assert resp.status_code == 200
    closed = resp.json()
    assert closed["status"] == "closed" and closed["close_reason"] == "fulfilled"
    assert closed["revision"] == 3 and closed["closed_at"]
    assert (await stack.matching.patch(url, json={"revision": 3, "title": "关闭后再修改"},
                                       headers=mine)).status_code == 409
    assert (await stack.matching.post(f"{url}/closure", json={"reason": "other"},
                                      headers=mine)).status_code == 409

    events = await demand_events(broker, demand["id"], 3)
    assert [kind for kind, _, _ in events] == ["demand.posted", "demand.updated", "demand.closed"]
    for kind, data, key in events:
        validate_payload(kind, data)
        assert key == uscc
    assert events[1][1]["budget_max_cny"] == "900000.00" and events[1][1]["revision"] == 2
    assert events[2][1]["close_reason"] == "fulfilled"


async def test_bad_demands_are_422s_naming_the_field(stack):
    uscc = await new_enterprise(stack)
    mine = auth("enterprise", uscc)

    async def refused(body: dict, headers=mine) -> tuple[str, str]:
        resp = await stack.matching.post("/v1/demands", json=body, headers=headers)
        assert resp.status_code == 422, resp.text
        error = resp.json()["errors"][0]
        return error["field"], error["rule"]

    assert (await refused(demand_body(title="电池")))[0] == "title"
    assert (await refused(demand_body(description="长" * 5001)))[0] == "description"
    assert await refused(demand_body(budget_min_cny="900000", budget_max_cny="100")) == (
        "budget_max_cny", "budget.order")
    yesterday = (today_cn() - timedelta(days=1)).isoformat()
    assert await refused(demand_body(deadline=yesterday)) == ("deadline", "deadline.past")
    assert await refused(demand_body(ipc_hints=["H01M", "锂电池"])) == ("ipc_hints[1]",
                                                                       "ipc.format")
    assert await refused(demand_body(region_code="99000")) == ("region_code",
                                                             "region_code.format")
    assert await refused(demand_body(industry_code="F39")) == (
        "industry_code", "industry_code.section_mismatch")
    # an enterprise matching has never heard of, and an office posting for nobody
    assert await refused(demand_body(), auth("enterprise", make_uscc())) == (
        "uscc", "enterprise.unknown")
    assert await refused(demand_body(), auth("market_regulation")) == ("uscc", "uscc.required")
    # an enterprise posts only for itself; the office may post on its behalf
    resp = await stack.matching.post("/v1/demands", json=demand_body(uscc=make_uscc()),
                                     headers=mine)
    assert resp.status_code == 403
    resp = await stack.matching.post("/v1/demands", json=demand_body(uscc=uscc),
                                     headers=auth("market_regulation"))
    assert resp.status_code == 201 and resp.json()["uscc"] == uscc
    assert (await stack.matching.post("/v1/demands", json=demand_body(),
                                      headers=auth("bank", "BANK001"))).status_code == 403
    # whitespace and invisible characters do not count towards the title's 4 characters
    assert await refused(demand_body(title="\u200b" * 4)) == ("title", "too_short")
    assert await refused(demand_body(title="  \ufeff电池\u200b ")) == ("title",
                                                                       "too_short")
    assert await refused(demand_body(description="\u200b\u200c ")) == (
        "description", "too_short")


def bearer(department: str, *, scopes=None, subject: str | None = None,
           org: str | None = None) -> dict[str, str]:
    token = mint_token(department=department, org=org, scopes=scopes, subject=subject)
    return {"Authorization": f"Bearer {token}"}


async def test_an_office_manages_demands_only_with_the_demands_write_scope(stack):
    uscc = await new_enterprise(stack)
    assert "demands:write" in DEFAULT_SCOPES["market_regulation"]
    reader = bearer("market_regulation", scopes=[s for s in DEFAULT_SCOPES["market_regulation"]
                                                 if s != "demands:write"])
    assert (await stack.matching.post("/v1/demands", json=demand_body(uscc=uscc),
                                      headers=reader)).status_code == 403
    resp = await stack.matching.post("/v1/demands", json=demand_body(),
                                     headers=auth("enterprise", uscc))
    url = f"/v1/demands/{resp.json()['id']}"
    assert (await stack.matching.patch(url, json={"revision": 1, "title": "代为修改的需求"},
                                       headers=reader)).status_code == 403
    assert (await stack.matching.post(f"{url}/closure", json={"reason": "other"},
                                      headers=reader)).status_code == 403
    # with the scope (the default) the office edits on the enterprise's behalf; a token
    # subject longer than the column is stored cut, never a 500
    long_subject = "market_regulation:" + "某" * 300
    resp = await stack.matching.patch(url, json={"revision": 1, "title": "代为修改的需求"},
                                      headers=bearer("market_regulation", subject=long_subject))
    assert resp.status_code == 200, resp.text
    resp = await stack.matching.post("/v1/demands", json=demand_body(uscc=uscc),
                                     headers=bearer("market_regulation", subject=long_subject))
    assert resp.status_code == 201, resp.text
    assert resp.json()["posted_by"] == long_subject[:120]


async def test_demands_past_their_deadline_are_closed_as_expired(stack, broker):
    uscc = await new_enterprise(stack)
    resp = await stack.matching.post("/v1/demands", json=demand_body(
        deadline=today_cn().isoformat()), headers=auth("enterprise", uscc))
    demand_id = resp.json()["id"]
    factory = stack.matching_app.state.sessionmaker
    assert await close_expired(factory) == {"expired": 0}  # due today: still open

    async with factory() as session, session.begin():  # the calendar moves on a day
        await session.execute(sa.update(Demand).where(Demand.id == demand_id)
                              .values(deadline=today_cn() - timedelta(days=1)))
    assert await close_expired(factory) == {"expired": 1}
    assert await close_expired(factory) == {"expired": 0}
    demand = (await stack.matching.get(f"/v1/demands/{demand_id}", headers=auth())).json()
    assert demand["status"] == "closed" and demand["close_reason"] == "expired"
    kinds = [(k, d["close_reason"] if k == "demand.closed" else None)
             for k, d, _ in await demand_events(broker, demand_id, 2)]
    assert kinds == [("demand.posted", None), ("demand.closed", "expired")]
    assert [task.name for task in PERIODIC_TASKS] == ["demand-deadlines"]
