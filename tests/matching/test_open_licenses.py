"""Open-licence declarations (专利开放许可, RULES.md §3) against a real registry on the real
broker and both databases: declaring one's own patent with every check as a basis line,
refusals that name each failed rule and are kept, publication with its event, a pledge that
suspends a published licence and its release that reinstates it, and the fee guidance that
flags (never refuses) terms far from recorded licences."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.matching.db import Base
from services.matching.facts.models import PatentFact
from services.matching.openlicenses.service import follow_patent
from shared.db import today_cn
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
    resp = await declare(stack, owner, number, patentee_type="university",
                         payment_method="lump_sum", royalty_rate=None, royalty_base=None,
                         ends_on=(fact.term_ends_on + timedelta(days=1)).isoformat())
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

async def test_fee_guidance_comes_from_recorded_licences_and_flags_far_out_terms(stack):
    owner = await new_enterprise(stack)
    licensed = await new_patent(stack, owner)
    # five priced ordinary licences to manufacturers of division 39 (C3985)
    for rate in ("0.03", "0.04", "0.05", "0.05", "0.06"):
        resp = await stack.matching.post("/v1/licenses", headers=auth("enterprise", owner), json={
            "type": "ordinary", "application_no": licensed,
            "licensee": {"name": f"被许可企业{rate}", "industry_code": "C3985"},
            "payment_method": "royalty", "royalty_rate": rate, "royalty_base": "net_sales",
            "starts_on": today_cn().isoformat(), "contract_reference": f"HT-{rate}"})
        assert resp.status_code == 201, resp.text

    guidance = (await stack.matching.get("/v1/open-licenses/fee-guidance",
                                         params={"industry_code": "C3985"},
                                         headers=auth("university", make_uscc(prefix="12")))).json()
    suggestion = guidance["suggestion"]
    assert suggestion["available"] and suggestion["source"] == "recorded_licences"
    assert (suggestion["low"], suggestion["high"], suggestion["comparables"]) == (
        "0.04", "0.05", 5)
    assert guidance["soft_limits"]["royalty_max_rate"] == {"net_sales": "0.2", "profit": "0.4"}
    # profit-based royalties have no comparables yet
    other = (await stack.matching.get("/v1/open-licenses/fee-guidance",
                                      params={"industry_code": "C3985", "royalty_base": "profit"},
                                      headers=auth())).json()
    assert other["suggestion"]["available"] is False

    # far above the range and above the 20 % soft limit: declared all the same, flagged
    number = await new_patent(stack, owner)
    resp = await declare(stack, owner, number, industry_codes=["C3985"], royalty_rate="0.25")
    assert resp.status_code == 201, resp.text
    flags = {f["code"]: f for f in resp.json()["fee_guidance"]["flags"]}
    assert set(flags) == {"royalty_above_soft_limit", "royalty_above_suggested_range"}
    assert flags["royalty_above_suggested_range"]["figures"]["suggested_high"] == "0.05"
    assert flags["royalty_above_soft_limit"]["clause"]["confidence"] == "S"
    assert resp.json()["fee_guidance"]["suggested_range"]["scope"] == "industry_division"
