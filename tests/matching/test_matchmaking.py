"""Matchmaking events (对接活动, roadshows) on both databases: an organiser features published
open licences and demands, enterprises register (once), and the organiser records each pair's
outcome up to the licence granted; counts show on the event."""

from __future__ import annotations

import uuid

from shared.auth import mint_token
from shared.db import today_cn
from tests.factories import make_uscc
from tests.harness import auth
from tests.matching.helpers import new_enterprise
from tests.matching.test_licenses import take
from tests.matching.test_open_licenses import published_licence


async def test_an_organiser_runs_a_roadshow_from_registration_to_licence(stack):
    owner, number, ol_id = await published_licence(stack)
    first, second = await new_enterprise(stack), await new_enterprise(stack)
    demand = await stack.matching.post("/v1/demands", headers=auth("enterprise", first), json={
        "title": "储能电池正极材料", "description": "寻求正极材料技术"})
    organiser = auth("miit")
    event = {"title": "大同市高校专利开放许可路演", "kind": "roadshow",
             "date": today_cn().isoformat(), "region_code": "140200", "organiser": "大同市工信局",
             "open_license_ids": [ol_id], "demand_ids": [demand.json()["id"]]}

    unknown = await stack.matching.post("/v1/matchmaking-events", headers=organiser,
                                        json=event | {"demand_ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "demand_ids[0]"
    assert (await stack.matching.post("/v1/matchmaking-events", json=event,
                                      headers=auth("enterprise", first))).status_code == 403
    resp = await stack.matching.post("/v1/matchmaking-events", json=event, headers=organiser)
    assert resp.status_code == 201, resp.text
    event_id = resp.json()["id"]
    assert resp.json()["organiser_department"] == "miit" and resp.json()["participants_count"] == 0
    url = f"/v1/matchmaking-events/{event_id}"

    # an enterprise registers itself (once); the organiser registers others
    resp = await stack.matching.post(f"{url}/participants", json={},
                                     headers=auth("enterprise", first))
    assert resp.status_code == 201 and resp.json()["name"] == "大同市示例新材料科技有限公司"
    assert (await stack.matching.post(f"{url}/participants", json={},
                                      headers=auth("enterprise", first))).status_code == 409
    assert (await stack.matching.post(f"{url}/participants", json={"uscc": second},
                                      headers=auth("enterprise", first))).status_code == 403
    resp = await stack.matching.post(f"{url}/participants", json={"uscc": second},
                                     headers=organiser)
    assert resp.status_code == 201 and resp.json()["uscc"] == second
    newcomer = make_uscc()
    missing = await stack.matching.post(f"{url}/participants", json={"uscc": newcomer},
                                        headers=organiser)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "name"

    # outcomes: only the organiser, only for participants, a licence for "licensed"
    outcome = {"licensee_uscc": first, "application_no": number, "status": "intention"}
    assert (await stack.matching.post(f"{url}/outcomes", json=outcome,
                                      headers=auth("science_tech"))).status_code == 403
    # the event was created without an org: another official of the same department is not
    # its organiser
    colleague = {"Authorization": "Bearer " + mint_token(department="miit",
                                                         subject="miit:another-official")}
    assert (await stack.matching.post(f"{url}/outcomes", json=outcome,
                                      headers=colleague)).status_code == 403
    assert (await stack.matching.post(f"{url}/participants", json={"uscc": newcomer,
                                                                    "name": "某企业"},
                                      headers=colleague)).status_code == 403
    stranger = await stack.matching.post(f"{url}/outcomes", headers=organiser,
                                         json=outcome | {"licensee_uscc": newcomer})
    assert stranger.json()["errors"][0]["rule"] == "licensee.not_participant"
    assert (await stack.matching.post(f"{url}/outcomes", json=outcome,
                                      headers=organiser)).status_code == 201
    resp = await stack.matching.post(f"{url}/outcomes", headers=organiser,
                                     json=outcome | {"status": "licensed"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "license_id"
    licence = await stack.matching.post("/v1/licenses", json=take(ol_id, "0"),
                                        headers=auth("enterprise", first))
    assert licence.status_code == 201, licence.text
    wrong = await stack.matching.post(f"{url}/outcomes", headers=organiser, json={
        "licensee_uscc": second, "application_no": number, "status": "licensed",
        "license_id": licence.json()["id"]})
    assert wrong.json()["errors"][0]["rule"] == "license.mismatch"
    resp = await stack.matching.post(f"{url}/outcomes", headers=organiser, json=outcome | {
        "status": "licensed", "license_id": licence.json()["id"]})
    assert resp.status_code == 201 and resp.json()["status"] == "licensed"
    await stack.matching.post(f"{url}/outcomes", headers=organiser, json={
        "licensee_uscc": second, "application_no": number, "status": "no_deal"})

    # the full lists are for the organiser, the IP office and the auditor
    for headers in (organiser, auth("market_regulation"), auth("auditor")):
        one = (await stack.matching.get(url, headers=headers)).json()
        assert one["participants_count"] == 2 and len(one["participants"]) == 2
        assert {o["licensee_uscc"] for o in one["outcomes"]} == {first, second}
    # the first pair moved from intention to licensed: one outcome per pair
    assert one["outcome_counts"] == {"intention": 0, "negotiating": 0, "licensed": 1,
                                     "no_deal": 1}
    # a party sees its own registration and outcomes; the patentee the outcomes of its patent
    theirs = (await stack.matching.get(url, headers=auth("enterprise", second))).json()
    assert theirs["participants_count"] == 2 and theirs["outcome_counts"]["no_deal"] == 1
    assert [p["uscc"] for p in theirs["participants"]] == [second]
    assert [(o["licensee_uscc"], o["status"]) for o in theirs["outcomes"]] == [
        (second, "no_deal")]
    patentee = (await stack.matching.get(url, headers=auth("enterprise", owner))).json()
    assert patentee["participants"] == [] and len(patentee["outcomes"]) == 2
    for headers in (auth("enterprise", make_uscc()), colleague):
        nobody = (await stack.matching.get(url, headers=headers)).json()
        assert nobody["participants"] == [] and nobody["outcomes"] == []
    listed = (await stack.matching.get("/v1/matchmaking-events",
                                       params={"kind": "roadshow", "region_code": "14"},
                                       headers=auth())).json()
    mine = next(e for e in listed["items"] if e["id"] == event_id)
    assert mine["open_license_ids"] == [ol_id] and mine["outcome_counts"]["licensed"] == 1
    assert "participants" not in mine or mine["participants"] is None
