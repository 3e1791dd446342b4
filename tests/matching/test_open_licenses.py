"""Open-licence declarations (专利开放许可, RULES.md §3) against a real registry on the real
broker and both databases: declaring one's own patent with every check as a basis line,
refusals that name each failed rule and are kept, publication with its event, a pledge that
suspends a published licence and its release that reinstates it, and the fee guidance that
flags (never refuses) terms far from recorded licences."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.matching.db import Base
from services.matching.facts.models import PatentFact
from services.matching.licenses.models import License
from services.matching.openlicenses.service import follow_patent
from shared.db import today_cn, utcnow
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic, wait_async
from tests.matching.helpers import new_enterprise, new_patent, wait_patent_fact
from tests.registry.ip_factories import application_no

TOPIC = "matching.license.v1"
MY_TABLES = ("open_licenses", "demands", "licenses", "matchmaking_events",
             "matchmaking_participants", "matchmaking_outcomes")


def declaration(number: str, **overrides) -> dict:
    """A royalty declaration running one year from today."""
    today = today_cn()
    body = {"application_no": number, "payment_method": "royalty", "royalty_rate": "0.05",
            "royalty_base": "net_sales", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
            "technical_field": "锂离子电池正极材料", "application_scenarios": "动力电池、储能",
            "keywords": ["正极材料", "锂电池"], "industry_codes": ["C3841"]}
    body.update(overrides)
    return body


async def declare(stack, owner: str, number: str, department: str = "enterprise",
                  **overrides):
    return await stack.matching.post("/v1/open-licenses", json=declaration(number, **overrides),
                                     headers=auth(department, owner))


async def published_licence(stack, **overrides) -> tuple[str, str, str]:
    """(patentee USCC, application number, open licence id) of a published declaration."""
    owner = await new_enterprise(stack)
    number = await new_patent(stack, owner)
    resp = await declare(stack, owner, number, **overrides)
    assert resp.status_code == 201, resp.text
    ol_id = resp.json()["id"]
    resp = await stack.matching.post(f"/v1/open-licenses/{ol_id}/publication", json={},
                                     headers=auth("market_regulation"))
    assert resp.status_code == 200, resp.text
    return owner, number, ol_id


async def licence_events(broker, open_license_id: str, types: set[str], count: int = 1
                         ) -> list[tuple[str, dict, str]]:
    """(type, payload, key) of the matching.license.v1 events about one declaration."""
    def mine(records):
        return [r for r in records if header(r, "ce_type") in types
                and json.loads(r.value).get("open_license_id") == open_license_id]
    records = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: len(mine(rs)) >= count)
    return [(header(r, "ce_type"), json.loads(r.value), r.key.decode()) for r in mine(records)]


async def until_status(stack, ol_id: str, status: str) -> dict:
    async def seen():
        resp = await stack.matching.get(f"/v1/open-licenses/{ol_id}",
                                        headers=auth("market_regulation"))
        return resp.json() if resp.json().get("status") == status else None
    return await wait_async(seen, timeout=30)


def failed_rules(problem: dict) -> dict[str, dict]:
    return {e["rule"]: e for e in problem["errors"]}


# --- schema -------------------------------------------------------------------------------------

async def test_migration_0004_matches_the_models(matching_app):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with matching_app.state.runtime.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if any(t in repr(c) for t in MY_TABLES)] == []


@pytest.mark.parametrize("path", ["/v1/open-licenses", "/v1/demands", "/v1/licenses",
                                  "/v1/matchmaking-events"])
async def test_a_forged_cursor_is_a_422_naming_it_on_every_list(matching_app, path):
    # a timestamp without a UTC offset used to reach the timezone-aware column: a 500
    forged = base64.urlsafe_b64encode(
        json.dumps({"after": "2020-01-01T00:00:00|x"}).encode()).decode()
    resp = await matching_app.state.client.get(path, params={"cursor": forged}, headers=auth())
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    error = resp.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("query.cursor", "cursor.invalid")


# --- declaring and publishing -------------------------------------------------------------------

async def test_a_patentee_declares_the_ip_office_publishes_and_the_event_follows(stack, broker):
    owner = await new_enterprise(stack)
    number = await new_patent(stack, owner)

    resp = await declare(stack, owner, number, application_no=number.replace(".", ""),
                         industry_codes=["3841"])
    assert resp.status_code == 201, resp.text
    ol = resp.json()
    assert ol["status"] == "declared" and ol["application_no"] == number
    assert ol["patentee_uscc"] == owner and ol["patentee_type"] == "enterprise"
    assert ol["title"] == "一种锂离子电池正极材料及其制备方法"  # copied from the registry
    assert ol["ipc_codes"] == ["H01M 10/0525", "H01M 4/505"] and ol["industry_codes"] == ["C3841"]
    assert ol["region_code"] == "140200" and ol["royalty_rate"] == "0.05"
    assert ol["basis"]["outcome"] == "accepted" and ol["basis"]["failed"] == []
    assert {line["code"] for line in ol["basis"]["checks"]} >= {
        "owned_by_declarant", "in_force", "exclusive_or_sole_licence", "suspended",
        "annual_fee_paid", "pledged_without_consent", "term_within_patent", "fee_terms"}
    assert all(line["passed"] and line["clause"]["clause"] for line in ol["basis"]["checks"])
    # no recorded licences and an empty CNIPA table: no suggestion, and it says why
    suggestion = ol["fee_guidance"]["suggested_range"]
    assert suggestion["available"] is False and "empty" in suggestion["reason"]
    assert ol["allowed_transitions"] == ["publication", "withdrawal"]

    # one live declaration per patent
    again = await declare(stack, owner, number)
    assert again.status_code == 409 and again.json()["open_license_id"] == ol["id"]

    # a declared (unpublished) declaration is not public; the patentee and the office see it
    stranger = make_uscc()
    listed = await stack.matching.get("/v1/open-licenses", params={"application_no": number},
                                      headers=auth("enterprise", stranger))
    assert listed.json()["items"] == []
    assert (await stack.matching.get(f"/v1/open-licenses/{ol['id']}",
                                     headers=auth("enterprise", stranger))).status_code == 404
    listed = await stack.matching.get("/v1/open-licenses",
                                      params={"patentee_uscc": owner, "ipc": "h01m 10"},
                                      headers=auth("enterprise", owner))
    assert [i["id"] for i in listed.json()["items"]] == [ol["id"]]

    # only the IP office publishes
    resp = await stack.matching.post(f"/v1/open-licenses/{ol['id']}/publication", json={},
                                     headers=auth("enterprise", owner))
    assert resp.status_code == 403
    resp = await stack.matching.post(f"/v1/open-licenses/{ol['id']}/publication", json={},
                                     headers=auth("market_regulation"))
    assert resp.status_code == 200, resp.text
    published = resp.json()
    assert published["status"] == "published" and published["published_on"] == \
        today_cn().isoformat()
    assert published["revision"] == 2 and published["changed_at"] > ol["changed_at"]
    assert published["basis"]["publication"]["checks"]

    again = await stack.matching.post(f"/v1/open-licenses/{ol['id']}/publication", json={},
                                      headers=auth("market_regulation"))
    assert again.status_code == 409
    assert again.json()["current_status"] == "published"
    assert again.json()["allowed_transitions"] == ["withdrawal"]

    [(kind, data, key)] = await licence_events(broker, ol["id"], {"openlicense.published"})
    validate_payload(kind, data)
    assert key == owner
    assert data["fee"] == {"payment_method": "royalty", "lump_sum_cny": None,
                           "entry_fee_cny": None, "royalty_rate": "0.05",
                           "royalty_base": "net_sales", "payment_terms": None}
    assert data["patentee"] == {"uscc": owner, "name": "大同市示例新材料科技有限公司",
                                "type": "enterprise"}
    assert data["published_on"] == today_cn().isoformat() and data["revision"] == 2

    # now public, and filterable by IPC prefix and industry
    listed = await stack.matching.get("/v1/open-licenses",
                                      params={"status": "published", "industry_code": "C38",
                                              "ipc": "H01M10/05"},
                                      headers=auth("enterprise", stranger))
    assert ol["id"] in [i["id"] for i in listed.json()["items"]]


async def test_refusals_name_every_failed_rule_and_are_kept_with_their_basis(stack):
    owner, partner = await new_enterprise(stack), await new_enterprise(stack)

    # the registry has never heard of it: nothing is stored
    resp = await declare(stack, owner, application_no())
    assert resp.status_code == 422
    assert failed_rules(resp.json()).keys() == {"patent_unknown"}

    # a co-owned utility model, declared without consent, report, coherent fees, in time
    number = await new_patent(stack, owner, number=application_no(kind="2"), owners=[
        {"uscc": owner, "name": "甲公司", "share": "60"},
        {"uscc": partner, "name": "乙公司", "share": "40"}])
    fact = await wait_patent_fact(stack.matching_app, number)
    # ends_on on term_ends_on: the first day the patent is no longer in force
    resp = await declare(stack, owner, number, patentee_type="university",
                         payment_method="lump_sum", royalty_rate=None, royalty_base=None,
                         ends_on=fact.term_ends_on.isoformat())
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["type"] == "urn:ipbridge:problem:open-license-refused"
    rules = failed_rules(problem)
    assert rules.keys() == {"co_owner_consent", "patentee_type", "evaluation_report",
                            "term_within_patent", "fee_terms"}
    assert rules["co_owner_consent"]["field"] == "co_owner_consents"
    assert rules["evaluation_report"]["field"] == "evaluation_report_ref"
    assert "第五十条" in rules["evaluation_report"]["clause"]["clause"]
    assert rules["term_within_patent"]["field"] == "ends_on"
    assert rules["fee_terms"]["field"] == "lump_sum_cny"
    refused_id = problem["open_license_id"]

    # the refusal is on record, with the same basis, for the office to answer "why?"
    record = (await stack.matching.get(f"/v1/open-licenses/{refused_id}",
                                       headers=auth("market_regulation"))).json()
    assert record["status"] == "refused" and record["allowed_transitions"] == []
    assert set(record["basis"]["failed"]) == set(rules)
    assert record["basis"]["checks"] == problem["basis"]["checks"]

    # put right — consent of the co-owner, the report, a lump sum, the term — it is declared
    resp = await declare(stack, owner, number, payment_method="lump_sum", royalty_rate=None,
                         royalty_base=None, lump_sum_cny="80000",
                         evaluation_report_ref="CNIPA-PJ-2026-0042",
                         co_owner_consents=[{"uscc": partner, "name": "乙公司",
                                             "document_ref": "共有人同意书-2026-01"}])
    assert resp.status_code == 201, resp.text
    assert resp.json()["lump_sum_cny"] == "80000.00"

    # not the declarant's patent, and not granted: refused with those rules
    pending = await new_patent(stack, partner, granted=False)
    resp = await declare(stack, owner, pending)
    assert failed_rules(resp.json()).keys() >= {"owned_by_declarant", "granted", "in_force",
                                                 "annual_fee_paid"}
    assert resp.json()["errors"][0]["field"] == "application_no"

    # a bad field is a plain 422 naming it (nothing stored)
    resp = await declare(stack, owner, number, industry_codes=["Z99"])
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "industry_codes[0]"

    # a term starting in year 1 (before the grant) is not a term
    other = await new_patent(stack, owner)
    resp = await declare(stack, owner, other, starts_on="0001-01-01")
    assert resp.status_code == 422
    assert failed_rules(resp.json()).keys() == {"term_order"}
    assert failed_rules(resp.json())["term_order"]["field"] == "starts_on"
    assert "before the grant" in failed_rules(resp.json())["term_order"]["message"]


async def test_publication_rechecks_exclusive_licences_matching_recorded(stack):
    owner = await new_enterprise(stack)
    number = await new_patent(stack, owner)
    resp = await declare(stack, owner, number)
    assert resp.status_code == 201, resp.text
    # an exclusive licence on record in matching that the registry has not reported back
    # (recorded before this declaration's lock existed, or by a replica in the same instant)
    async with stack.matching_app.state.sessionmaker() as session, session.begin():
        session.add(License(
            id=str(uuid.uuid4()), application_no=number, patent_kind="invention", ipc_codes=[],
            license_type="exclusive", licensor_uscc=owner, licensor_name="甲公司",
            licensee_name="某被许可企业", payment_method="free", starts_on=today_cn(),
            granted_at=utcnow(), recorded_by="market_regulation:dev",
            recorded_by_department="market_regulation", verified=True, basis={}))
    resp = await stack.matching.post(f"/v1/open-licenses/{resp.json()['id']}/publication",
                                     json={}, headers=auth("market_regulation"))
    assert resp.status_code == 409, resp.text
    assert [e["rule"] for e in resp.json()["errors"]] == ["exclusive_or_sole_licence"]


# --- withdrawal and termination -----------------------------------------------------------------

async def test_a_current_owner_withdraws_and_the_ip_office_terminates(stack, broker):
    owner, partner = await new_enterprise(stack), await new_enterprise(stack)
    number = await new_patent(stack, owner, owners=[
        {"uscc": owner, "name": "甲公司", "share": "50"},
        {"uscc": partner, "name": "乙公司", "share": "50"}])
    consent = [{"uscc": partner, "name": "乙公司", "document_ref": "共有人同意书-9"}]
    resp = await declare(stack, owner, number, co_owner_consents=consent)
    assert resp.status_code == 201, resp.text
    first = resp.json()["id"]
    stranger = auth("enterprise", make_uscc())
    url = f"/v1/open-licenses/{first}/withdrawal"
    assert (await stack.matching.post(url, json={"reason": "不是我的"},
                                      headers=stranger)).status_code == 403
    # the co-owner, not the declarant, withdraws: any current owner may
    resp = await stack.matching.post(url, json={"reason": "共有人决定不再开放许可"},
                                     headers=auth("enterprise", partner))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "withdrawn"
    assert resp.json()["basis"]["withdrawal"]["by"] == "current_owner"
    # withdrawn before it was ever published: still not public
    assert (await stack.matching.get(f"/v1/open-licenses/{first}",
                                     headers=stranger)).status_code == 404
    listed = await stack.matching.get("/v1/open-licenses", params={"application_no": number},
                                      headers=stranger)
    assert listed.json()["items"] == []
    assert (await stack.matching.get(f"/v1/open-licenses/{first}",
                                     headers=auth("enterprise", owner))).status_code == 200

    # declared afresh and published, then terminated by the IP office with its reason
    resp = await declare(stack, owner, number, co_owner_consents=consent)
    assert resp.status_code == 201, resp.text
    second = resp.json()["id"]
    assert (await stack.matching.post(f"/v1/open-licenses/{second}/publication", json={},
                                      headers=auth("market_regulation"))).status_code == 200
    reason = "专利权已转让，原开放许可声明终止"
    resp = await stack.matching.post(f"/v1/open-licenses/{second}/withdrawal",
                                     json={"reason": reason}, headers=auth("market_regulation"))
    assert resp.status_code == 200, resp.text
    ended = resp.json()
    assert ended["status"] == "withdrawn" and ended["withdrawn_by"] == "market_regulation:dev"
    assert ended["basis"]["withdrawal"]["by"] == "ip_office"
    [(kind, data, key)] = await licence_events(broker, second, {"openlicense.withdrawn"})
    validate_payload(kind, data)
    assert data["reason"] == reason and key == owner
    # it had been announced: the withdrawal is public
    assert (await stack.matching.get(f"/v1/open-licenses/{second}",
                                     headers=stranger)).status_code == 200


# --- following the patent -----------------------------------------------------------------------

def pledge_event(kind: str, number: str, pledgor: str, pledge_id: str, revision: int
                 ) -> CloudEvent:
    """A pledge event as financing sends it (the pledgee has not consented to open licensing)."""
    data = {"pledge_id": pledge_id, "loan_id": str(uuid.uuid4()), "application_no": number,
            "pledgor_uscc": pledgor, "pledgee_bank_code": "B001",
            "pledgee_name": "中国工商银行大同分行", "registration_no": "Y2026990000123",
            "registered_on": (today_cn() - timedelta(days=1)).isoformat(),
            "secured_amount_cny": "3000000.00", "pledgee_consent_to_open_licence": False,
            "revision": revision}
    if kind == "pledge.registered":
        data["registered_at"] = datetime.now(UTC).isoformat()
    else:
        data.update(released_on=today_cn().isoformat(), reason="repaid",
                    released_at=datetime.now(UTC).isoformat())
    etype = event_type(kind)
    return CloudEvent(type=kind, source=etype.source, subject=pledgor, data=data,
                      dataschema=etype.dataschema, correlationid=str(uuid.uuid4()))


async def send(broker, event: CloudEvent) -> None:
    await produce(broker.bootstrap, "financing.loan.v1",
                  [(event.subject.encode(), event.body(), event.headers())])


async def test_a_pledge_suspends_a_published_licence_and_its_release_reinstates_it(
        stack, broker):
    owner, number, ol_id = await published_licence(stack)
    licensee = await new_enterprise(stack)
    pledge_id = str(uuid.uuid4())

    await send(broker, pledge_event("pledge.registered", number, owner, pledge_id, 1))
    suspended = await until_status(stack, ol_id, "suspended")
    assert suspended["suspension_reasons"] == ["pledged_without_consent"]
    assert suspended["allowed_transitions"] == ["withdrawal"]

    # nobody can take it while suspended, and a second declaration is still refused (409)
    take = await stack.matching.post("/v1/licenses", headers=auth("enterprise", licensee), json={
        "type": "open", "open_license_id": ol_id,
        "notice": {"sent_on": today_cn().isoformat(), "reference": "通知-1"},
        "payment": {"amount_cny": "0", "paid_on": today_cn().isoformat()}})
    assert take.status_code == 409
    assert take.json()["current_status"] == "suspended"
    assert (await declare(stack, owner, number)).status_code == 409

    # the same facts again change nothing (a redelivered patent event is harmless)
    async with stack.matching_app.state.sessionmaker() as session:
        fact = await session.get(PatentFact, number)
        assert await follow_patent(session, fact) == 0

    await send(broker, pledge_event("pledge.released", number, owner, pledge_id, 2))
    reinstated = await until_status(stack, ol_id, "published")
    assert reinstated["suspension_reasons"] == []
    assert reinstated["revision"] == suspended["revision"] + 1

    events = await licence_events(broker, ol_id, {"openlicense.suspended",
                                                  "openlicense.reinstated"}, count=2)
    assert [kind for kind, _, _ in events] == ["openlicense.suspended", "openlicense.reinstated"]
    for kind, data, key in events:
        validate_payload(kind, data)
        assert key == owner
    assert events[0][1]["reasons"] == ["pledged_without_consent"]


# --- fee guidance -------------------------------------------------------------------------------

async def record(stack, headers, number: str, rate: str, **overrides):
    """A negotiated ordinary royalty licence to a manufacturer of division 39 (C3985)."""
    resp = await stack.matching.post("/v1/licenses", headers=headers, json={
        "type": "ordinary", "application_no": number,
        "licensee": {"name": f"被许可企业{rate}", "industry_code": "C3985"},
        "payment_method": "royalty", "royalty_rate": rate, "royalty_base": "net_sales",
        "starts_on": today_cn().isoformat(), "contract_reference": f"HT-{rate}"} | overrides)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def take_free(stack, ol_id: str) -> None:
    licensee = await new_enterprise(stack)  # a C3985 manufacturer
    resp = await stack.matching.post("/v1/licenses", headers=auth("enterprise", licensee), json={
        "type": "open", "open_license_id": ol_id,
        "notice": {"sent_on": today_cn().isoformat(), "reference": "通知"},
        "payment": {"amount_cny": "0", "paid_on": today_cn().isoformat()}})
    assert resp.status_code == 201, resp.text


async def test_fee_guidance_reads_verified_licences_of_others_once_each(stack):
    office = auth("market_regulation")
    # four negotiated licences recorded by the IP office, each of a different licensor
    for rate in ("0.03", "0.04", "0.06", "0.05"):
        licensor = await new_enterprise(stack)
        await record(stack, office, await new_patent(stack, licensor), rate)
    # a fifth licensor's open licence for division 39, taken three times: one comparable
    _, _, ol_39 = await published_licence(stack, industry_codes=["C3985"])
    for _ in range(3):
        await take_free(stack, ol_39)
    # an open licence declared for division 38 is compared there, whoever takes it
    _, _, ol_38 = await published_licence(stack, industry_codes=["C3841"], royalty_rate="0.3")
    await take_free(stack, ol_38)
    # a patentee's own records (unverified): invented prices never count
    owner = await new_enterprise(stack)
    own_patent = await new_patent(stack, owner)
    for _ in range(5):
        assert (await record(stack, auth("enterprise", owner), own_patent, "0.2"))[
            "verified"] is False

    guidance = await stack.matching.get("/v1/open-licenses/fee-guidance",
                                        params={"industry_code": "C3985"},
                                        headers=auth("university", make_uscc(prefix="12")))
    assert guidance.status_code == 200, guidance.text
    suggestion = guidance.json()["suggestion"]
    assert suggestion["available"] and suggestion["source"] == "recorded_licences"
    assert (suggestion["low"], suggestion["median"], suggestion["high"]) == (
        "0.04", "0.05", "0.05")
    assert (suggestion["comparables"], suggestion["licensors"]) == (5, 5)
    assert guidance.json()["soft_limits"]["royalty_max_rate"] == {"net_sales": "0.2",
                                                                  "profit": "0.4"}
    # profit-based royalties have no comparables yet
    other = (await stack.matching.get("/v1/open-licenses/fee-guidance",
                                      params={"industry_code": "C3985", "royalty_base": "profit"},
                                      headers=auth())).json()
    assert other["suggestion"]["available"] is False
    # a bank has no business reading licensing terms
    assert (await stack.matching.get("/v1/open-licenses/fee-guidance",
                                     params={"industry_code": "C3985"},
                                     headers=auth("bank", "BANK001"))).status_code == 403

    # the declared patent's and its patentee's own licences never steer its guidance, even
    # verified: here they would pull the range up to 0.9
    number = await new_patent(stack, owner)
    await record(stack, office, number, "0.9")
    await record(stack, office, own_patent, "0.9")
    # far above the range and above the 20 % soft limit: declared all the same, flagged
    resp = await declare(stack, owner, number, industry_codes=["C3985"], royalty_rate="0.25")
    assert resp.status_code == 201, resp.text
    guidance = resp.json()["fee_guidance"]
    assert guidance["suggested_range"]["scope"] == "industry_division"
    assert (guidance["suggested_range"]["comparables"], guidance["suggested_range"]["high"]) == (
        5, "0.05")
    flags = {f["code"]: f for f in guidance["flags"]}
    assert set(flags) == {"royalty_above_soft_limit", "royalty_above_suggested_range"}
    assert flags["royalty_above_suggested_range"]["figures"]["suggested_high"] == "0.05"
    assert flags["royalty_above_soft_limit"]["clause"]["confidence"] == "S"
