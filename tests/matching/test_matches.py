"""Matching with the index, through the public API on the real broker and both databases: a
demand finds the patent that solves it and every result says why; the index follows
publication, withdrawal and a pledge within seconds; pushes go to the enterprises a patent fits,
cultivation-pool enterprises first, never twice; pool admission pushes patents to the
enterprise; the index rebuilds from matching's own tables."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.matching.db import Base
from shared.db import today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic, wait_async
from tests.matching.helpers import new_enterprise, new_patent

TOPIC = "matching.license.v1"
IP_OFFICE = auth("market_regulation")

GAS = dict(title="一种煤矿井下瓦斯浓度在线监测与超限报警系统",
           abstract="本发明公开了一种煤矿井下瓦斯浓度在线监测系统，包括分布式甲烷传感器、"
                    "井下环网通信单元和地面监控主机，瓦斯浓度超限时自动断电并声光报警。",
           ipc_codes=["E21F 17/18", "G08B 21/16"])
BATTERY = dict(title="一种高镍三元锂离子电池正极材料及其制备方法",
               abstract="本发明公开了一种高镍三元正极材料，通过铝镁共掺杂和表面包覆提高"
                        "循环稳定性和热稳定性，适用于动力电池。",
               ipc_codes=["H01M 4/525", "H01M 10/0525"])
VINEGAR = dict(title="一种山西老陈醋固态发酵工艺",
               abstract="本发明公开了一种老陈醋固态发酵方法，以高粱为主料，控制醋醅温度"
                        "和翻醅频次，缩短陈酿周期并提高总酸含量。",
               ipc_codes=["C12J 1/04"])


def declaration(number: str, **overrides) -> dict:
    today = today_cn()
    body = {"application_no": number, "payment_method": "lump_sum", "lump_sum_cny": "300000",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=730)).isoformat()}
    body.update(overrides)
    return body


async def university(stack) -> str:
    return await new_enterprise(stack, uscc=make_uscc(prefix="12"), name="太原示例理工大学",
                                industry_code="P8341", region_code="140100")


async def published(stack, owner: str, patent: dict, department: str = "university",
                    **declared) -> tuple[str, str]:
    """(application number, open licence id) of a declaration the IP office published."""
    number = await new_patent(stack, owner, **patent)
    if department == "university":
        declared.setdefault("patentee_type", "university")
    resp = await stack.matching.post("/v1/open-licenses", json=declaration(number, **declared),
                                     headers=auth(department, owner))
    assert resp.status_code == 201, resp.text
    ol_id = resp.json()["id"]
    resp = await stack.matching.post(f"/v1/open-licenses/{ol_id}/publication", json={},
                                     headers=IP_OFFICE)
    assert resp.status_code == 200, resp.text
    return number, ol_id


async def post_demand(stack, uscc: str, **body) -> str:
    base = {"title": "矿井瓦斯超限自动报警改造",
            "description": "我们是一家煤矿，井下还在用人工巡检测瓦斯，想上一套能实时监测甲烷浓度、"
                           "超标就自动报警断电的系统。", "budget_max_cny": "500000"}
    resp = await stack.matching.post("/v1/demands", json=base | body,
                                     headers=auth("enterprise", uscc))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def matches(stack, demand_id: str, headers=None) -> list[dict]:
    resp = await stack.matching.get(f"/v1/demands/{demand_id}/matches",
                                    headers=headers or IP_OFFICE)
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


async def until_matches(stack, demand_id: str, check, timeout: float = 20) -> list[dict]:
    async def seen():
        found = await matches(stack, demand_id)
        return (found,) if check(found) else None  # an empty list is an answer too
    return (await wait_async(seen, timeout=timeout))[0]


async def indexed(stack, documents: int) -> None:
    """Wait until the index holds ``documents`` declarations (it polls the table)."""
    async def seen():
        state = (await stack.matching.get("/v1/index", headers=IP_OFFICE)).json()
        return state["documents"] == documents
    await wait_async(seen, timeout=20)


def ids(results: list[dict]) -> list[str]:
    return [r["open_license_id"] for r in results]


# --- schema -------------------------------------------------------------------------------------

async def test_migration_0005_matches_the_models(matching_app):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with matching_app.state.runtime.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if any(t in repr(c) for t in
                                      ("pushes", "push_requests", "index_tokens", "patent_facts",
                                       "pool_facts", "patent_owner_facts"))] == []


# --- demand → patents ---------------------------------------------------------------------------

async def test_a_demand_finds_the_patent_that_solves_it_and_every_score_is_explained(stack):
    school = await university(stack)
    firm = await new_enterprise(stack, region_code="140200", industry_code="C3841")
    gas_no, gas = await published(stack, school, GAS, industry_codes=["B0610"])
    _, battery = await published(stack, firm, BATTERY, department="enterprise")
    _, vinegar = await published(stack, firm, VINEGAR, department="enterprise")
    mine = await new_enterprise(stack, region_code="140200", industry_code="B0610",
                                name="大同示例煤业有限公司")
    demand = await post_demand(stack, mine, ipc_hints=["E21F"], industry_code="B0610")

    await indexed(stack, 3)
    found = await until_matches(stack, demand, lambda rs: gas in ids(rs))
    assert vinegar not in ids(found)                # nothing in common: not a candidate at all
    top = found[0]
    assert top["open_license_id"] == gas and top["application_no"] == gas_no
    assert top["patentee"] == {"uscc": school, "name": "太原示例理工大学", "type": "university"}
    parts = top["components"]
    assert set(parts) == {"text", "ipc", "budget", "region", "industry", "stock"}
    assert top["score"] == pytest.approx(sum(p["contribution"] for p in parts.values()), abs=1e-6)
    for p in parts.values():
        assert p["contribution"] == pytest.approx(p["score"] * p["weight"], abs=1e-6)
        assert p["detail"]
    assert parts["ipc"]["score"] > 0 and "E21F" in parts["ipc"]["detail"]
    assert parts["budget"]["score"] == 1.0          # 30 万 lump sum within a 50 万 budget
    assert parts["stock"]["score"] == 1.0           # a university's stock patent
    assert parts["industry"]["score"] == 1.0        # B06 coal mining, both sides
    for other in found[1:]:                          # the battery patent, if at all: far below
        assert other["open_license_id"] == battery and other["score"] < top["score"] - 0.2

    # free search finds it in the enterprise's own words, and by IPC alone
    resp = await stack.matching.get("/v1/search", params={"q": "井下甲烷超标报警"},
                                    headers=auth("enterprise", mine))
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"][0]["open_license_id"] == gas
    resp = await stack.matching.get("/v1/search", params={"q": "发酵", "ipc": "C12J"},
                                    headers=auth("enterprise", mine))
    assert resp.json()["results"][0]["open_license_id"] == vinegar
    same_twice = await stack.matching.get("/v1/search", params=[("q", "醋"), ("ipc", "C12J"),
                                                                ("ipc", "c12j")],
                                          headers=auth("enterprise", mine))
    assert same_twice.status_code == 200, same_twice.text
    bad = await stack.matching.get("/v1/search", params={"q": "醋", "ipc": "vinegar!"},
                                   headers=auth("enterprise", mine))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.ipc"


async def test_the_index_follows_withdrawal_and_a_pledge_within_seconds(stack, broker):
    school = await university(stack)
    gas_no, gas = await published(stack, school, GAS)
    mine = await new_enterprise(stack)
    demand = await post_demand(stack, mine)
    await until_matches(stack, demand, lambda rs: gas in ids(rs))

    # a pledge registered without the pledgee's consent: registry → patent.updated → suspended
    etype = event_type("pledge.registered")
    data = {"pledge_id": str(uuid.uuid4()), "loan_id": str(uuid.uuid4()),
            "application_no": gas_no, "pledgor_uscc": school, "pledgee_bank_code": "B001",
            "pledgee_name": "中国工商银行太原分行", "registration_no": "Y2026990000999",
            "registered_on": today_cn().isoformat(), "secured_amount_cny": "1000000.00",
            "pledgee_consent_to_open_licence": False, "revision": 1,
            "registered_at": "2026-11-23T08:00:00+00:00"}
    validate_payload("pledge.registered", data)
    event = CloudEvent(type=etype.type, source=etype.source, subject=school, data=data,
                       dataschema=etype.dataschema)
    await produce(broker.bootstrap, "financing.loan.v1",
                  [(school.encode(), event.body(), event.headers())])
    await until_matches(stack, demand, lambda rs: gas not in ids(rs), timeout=30)
    state = (await stack.matching.get(f"/v1/open-licenses/{gas}", headers=IP_OFFICE)).json()
    assert state["status"] == "suspended"

    # a second declaration of the same kind, withdrawn: gone from the results
    _, battery = await published(stack, school, BATTERY)
    demand2 = await post_demand(stack, mine, title="动力电池正极材料升级",
                                description="想找高镍三元正极材料的技术，提高电池循环寿命。")
    await until_matches(stack, demand2, lambda rs: battery in ids(rs))
    resp = await stack.matching.post(f"/v1/open-licenses/{battery}/withdrawal",
                                     json={"reason": "专利权人调整许可策略"},
                                     headers=auth("university", school))
    assert resp.status_code == 200, resp.text
    await until_matches(stack, demand2, lambda rs: battery not in ids(rs))


# --- patent → enterprises, pushes ---------------------------------------------------------------

async def admit(broker, uscc: str) -> None:
    etype = event_type("pool.admitted")
    event = CloudEvent(type=etype.type, source=etype.source, subject=uscc,
                       dataschema=etype.dataschema,
                       data={"uscc": uscc, "province_code": "14",
                             "admitted_on": today_cn().isoformat(), "revision": 1})
    await produce(broker.bootstrap, "registry.enterprise.v1",
                  [(uscc.encode(), event.body(), event.headers())])


async def pushes(stack, uscc: str) -> list[dict]:
    resp = await stack.matching.get("/v1/pushes", params={"uscc": uscc}, headers=IP_OFFICE)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_publication_pushes_to_the_enterprises_it_fits_pool_first_never_twice(
        stack, broker):
    school = await university(stack)
    pooled = await new_enterprise(stack, industry_code="B0610", name="晋北示例煤矿有限公司")
    await new_patent(stack, pooled, title="一种煤矿井下通风系统风量调节装置",
                     abstract="用于矿井通风，降低瓦斯积聚风险。", ipc_codes=["E21F 1/00"])
    await admit(broker, pooled)
    seeker = await new_enterprise(stack, industry_code="B0610", name="大同示例煤业有限公司")
    await post_demand(stack, seeker)
    baker = await new_enterprise(stack, industry_code="C1431", name="示例食品有限公司")
    await post_demand(stack, baker, title="面包烘焙自动化", description="想改进面包烘焙线的温控。",
                      budget_max_cny="100000")

    gas_no, gas = await published(stack, school, GAS, industry_codes=["B0610"])

    async def pushed_to_both():
        a, b = await pushes(stack, pooled), await pushes(stack, seeker)
        return (a, b) if a and b else None
    pooled_pushes, seeker_pushes = await wait_async(pushed_to_both, timeout=30)
    assert [p["application_no"] for p in seeker_pushes] == [gas_no]
    assert seeker_pushes[0]["reason"] == "demand" and seeker_pushes[0]["demand_id"]
    # the pool enterprise got it once: by its admission's push or by the publication's,
    # whichever the index task did first
    assert [p["application_no"] for p in pooled_pushes] == [gas_no]
    assert pooled_pushes[0]["pool_member"] is True
    assert pooled_pushes[0]["reason"] in ("profile", "pool_admission")
    assert await pushes(stack, baker) == []          # a bakery is not pushed a gas monitor

    # reverse matching lists the pool enterprise first, whatever the scores
    resp = await stack.matching.get(f"/v1/open-licenses/{gas}/candidates", headers=IP_OFFICE)
    assert resp.status_code == 200, resp.text
    listed = resp.json()["candidates"]
    assert listed[0]["uscc"] == pooled and listed[0]["pool_member"] is True
    assert {c["uscc"] for c in listed} >= {pooled, seeker}
    assert all(c["already_pushed"] for c in listed if c["uscc"] in (pooled, seeker))
    assert school not in {c["uscc"] for c in listed}

    # an officer pushing again sends nothing twice
    resp = await stack.matching.post("/v1/pushes", json={"open_license_id": gas},
                                     headers=IP_OFFICE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["pushed"] == [] and set(resp.json()["already_pushed"]) >= {pooled, seeker}
    assert len(await pushes(stack, seeker)) == 1

    # each push is an event, keyed by the enterprise pushed to, schema-valid
    def mine(records):
        return [r for r in records if header(r, "ce_type") == "match.pushed"
                and json.loads(r.value)["open_license_id"] == gas]
    records = mine(await read_topic(broker.bootstrap, TOPIC, until=lambda rs: len(mine(rs)) >= 2))
    assert sorted(r.key.decode() for r in records) == sorted([pooled, seeker])
    for r in records:
        payload = json.loads(r.value)
        validate_payload("match.pushed", payload)
        assert set(payload["components"]) == {"text", "ipc", "budget", "region", "industry",
                                              "stock"}

    # an enterprise reads its own pushes only; a stranger cannot see reverse matching
    resp = await stack.matching.get("/v1/pushes", headers=auth("enterprise", seeker))
    assert [p["application_no"] for p in resp.json()["items"]] == [gas_no]
    resp = await stack.matching.get("/v1/pushes", params={"uscc": pooled},
                                    headers=auth("enterprise", seeker))
    assert resp.status_code == 403
    resp = await stack.matching.get(f"/v1/open-licenses/{gas}/candidates",
                                    headers=auth("enterprise", seeker))
    assert resp.status_code == 403

    # the office pages through every push; a cursor not from the API is a 422, not a 500
    page = (await stack.matching.get("/v1/pushes", params={"limit": 1},
                                     headers=IP_OFFICE)).json()
    rest = (await stack.matching.get("/v1/pushes", params={"limit": 10,
                                                           "cursor": page["next_cursor"]},
                                     headers=IP_OFFICE)).json()
    assert {p["uscc"] for p in page["items"] + rest["items"]} == {pooled, seeker}
    assert rest["next_cursor"] is None
    from shared.pagination import encode_cursor
    forged = encode_cursor("2020-01-01T00:00:00|x")  # no UTC offset
    resp = await stack.matching.get("/v1/pushes", params={"cursor": forged}, headers=IP_OFFICE)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "query.cursor"


async def pushes_done(stack, count: int) -> None:
    async def done():
        state = (await stack.matching.get("/v1/index", headers=IP_OFFICE)).json()
        return state["pending_push_requests"] == 0 and state["done_push_requests"] >= count
    await wait_async(done, timeout=20)


async def test_pool_admission_pushes_fitting_patents_to_the_enterprise(stack, broker):
    school = await university(stack)
    gas_no, _ = await published(stack, school, GAS)
    await published(stack, school, VINEGAR)
    await pushes_done(stack, 2)         # the publications' own pushes are done (to nobody)
    mine = await new_enterprise(stack, industry_code="B0610")
    await new_patent(stack, mine, title="一种煤矿井下甲烷传感器标定装置",
                     abstract="用于井下甲烷传感器的现场标定。", ipc_codes=["G01N 33/00"])
    await admit(broker, mine)

    async def received():
        return await pushes(stack, mine) or None
    got = await wait_async(received, timeout=30)
    assert [p["application_no"] for p in got] == [gas_no]
    assert got[0]["reason"] == "pool_admission" and got[0]["pool_member"] is True


# --- the index itself ---------------------------------------------------------------------------

async def test_the_index_rebuilds_from_matchings_own_tables(stack):
    school = await university(stack)
    _, gas = await published(stack, school, GAS)
    mine = await new_enterprise(stack)
    demand = await post_demand(stack, mine)
    before = await until_matches(stack, demand, lambda rs: gas in ids(rs))

    ops = auth("ops")
    resp = await stack.matching.post("/v1/index/rebuild", headers=ops)
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    assert stats["ready"] and stats["documents"] == 1 and stats["builds"] >= 2
    # the tokens written when the declaration entered the index are read back, not recomputed
    assert stats["last_build"] == {"documents": 1, "tokenised": 0, "from_cache": 1}
    assert await matches(stack, demand) == before
    assert (await stack.matching.post("/v1/index/rebuild", headers=IP_OFFICE)).status_code == 403
