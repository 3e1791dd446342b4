"""Registry patents and trademarks over HTTP (SQLite and PostgreSQL, real broker): validation,
conflicts, ETags, status events keyed by the owner, the high-value sweep, encumbrances,
statistics."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registry.db import Base
from services.registry.patents import service as patent_service
from services.registry.patents.rules import add_years
from shared.db import today_cn
from shared.events.catalogue import validate_payload
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header
from tests.registry.ip_factories import application_no, patent_body
from tests.registry.ip_fixtures import (ip_events, new_enterprise, new_patent,
                                        problem_fields)

pytestmark = pytest.mark.asyncio

MY_TABLES = {"patents", "patent_owners", "patent_encumbrances", "trademarks", "products",
             "product_patents"}


# --- schema -------------------------------------------------------------------------------------

async def test_migration_0004_matches_the_models(registry_app, db_url):
    """The hand-written migration creates exactly what the models declare (no drift)."""
    engine = registry_app.state.runtime.engine

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        changes = await connection.run_sync(diff)

    def table_of(change) -> str | None:
        item = change[0] if isinstance(change, list) else change
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if isinstance(part, str) and part in MY_TABLES:
                return part
            if name in MY_TABLES:
                return name
        return None

    mine = [c for c in changes if table_of(c) in MY_TABLES]
    assert mine == []


# --- register and read --------------------------------------------------------------------------

async def test_register_publishes_patent_registered_keyed_by_the_owner(registry, broker):
    uscc = await new_enterprise(registry)
    number = application_no()
    digits, check = number.split(".")
    body = patent_body(uscc, number=f"CN {digits}{check}")  # messy form in the body
    resp = await registry.post("/v1/patents", json=body,
                               headers={**auth(), "X-Correlation-ID": "corr-ip-1"})
    assert resp.status_code == 201, resp.text
    data = resp.json()
    assert data["application_no"] == number and data["patent_no"] == f"ZL{number}"
    assert data["kind"] == "invention" and data["status"] == "granted" and data["in_force"]
    assert data["ipc_codes"] == ["H01M 10/0525", "H01M 4/505"]
    assert data["owners"] == [{"uscc": uscc, "name": body["owners"][0]["name"], "share": "100.00",
                               "country": "CN", "region_code": "140200"}]
    assert data["term"]["years"] == 20
    assert data["high_value"]["is_high_value"] is False
    assert resp.headers["location"] == f"/v1/patents/{number}"
    assert resp.headers["etag"] == '"1"'

    records = await ip_events(broker, number, until=lambda rs: rs)
    record = records[0]
    assert record.key == uscc.encode()
    assert header(record, "ce_type") == "patent.registered"
    assert header(record, "ce_dataschema") == "urn:ipbridge:schema:patent.registered:v1"
    assert header(record, "ce_correlationid") == "corr-ip-1"
    payload = json.loads(record.value)
    validate_payload("patent.registered", payload)
    assert payload["application_no"] == number and payload["revision"] == 1
    assert payload["owners"][0]["uscc"] == uscc and payload["status"] == "granted"
    assert payload["high_value"] == {"is_high_value": False, "categories": [],
                                     "assessed_on": today_cn().isoformat(),
                                     "pack": "high-value-invention-patents@v1"}
    assert payload["encumbrances"]["pledged"] is False


async def test_read_accepts_messy_forms_in_the_path(registry):
    uscc = await new_enterprise(registry)
    number = (await new_patent(registry, patent_body(uscc)))["application_no"]
    digits, check = number.split(".")
    full_width = number.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
    for form in (number, f"ZL{number}", f"CN {digits}{check}", f"{digits}{check}", full_width):
        resp = await registry.get(f"/v1/patents/{quote(form)}", headers=auth("miit"))
        assert resp.status_code == 200, (form, resp.text)
        assert resp.json()["application_no"] == number
        assert resp.headers["content-location"] == f"/v1/patents/{number}"
        assert resp.headers["etag"] == '"1"'
    wrong = f"{digits}.{'1' if check != '1' else '2'}"
    resp = await registry.get(f"/v1/patents/{wrong}", headers=auth("miit"))
    assert {"field": "path.application_no", "rule": "application_no.check_char"} in \
        problem_fields(resp)
    other = application_no()
    resp = await registry.get(f"/v1/patents/{other}", headers=auth("miit"))
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:ipbridge:problem:patent-not-found"


def _wrong_check(body):
    digits, check = body["application_no"].split(".")
    body["application_no"] = f"{digits}.{'0' if check != '0' else '1'}"


@pytest.mark.parametrize("mutate, field, rule", [
    (_wrong_check, "application_no", "application_no.check_char"),
    (lambda b: b.update(application_no=b["application_no"].split(".")[0]),
     "application_no", "application_no.check_char_missing"),
    (lambda b: b.update(application_no="202440123456.3"), "application_no", "application_no.kind"),
    (lambda b: b.update(ipc_codes=["H01M 10/5"]), "ipc_codes.0", "ipc.format"),
    (lambda b: b.update(ipc_codes=["H01M 10/0525", "I01M 1/00"]), "ipc_codes.1", "ipc.section"),
    (lambda b: b["owners"].append({"name": "张三", "share": "30"}), "owners.0.share",
     "owners.share_required"),
    (lambda b: b.update(owners=[{"uscc": b["owners"][0]["uscc"], "name": "甲", "share": "60"},
                                {"name": "张三", "share": "30"}]), "owners", "owners.share_sum"),
    (lambda b: b["owners"][0].update(uscc=b["owners"][0]["uscc"][:17] + (
        "0" if b["owners"][0]["uscc"][17] != "0" else "1")), "owners.0.uscc",
     "uscc.check_character"),
    (lambda b: b.update(grant_date="2001-01-01"), "grant_date", "grant_date.before_filing"),
    (lambda b: b.update(status="pending"), "grant_date", "grant_date.pending"),
    (lambda b: b.update(filing_date="1984-12-31", application_no="202410123456.0"),
     "filing_date", "filing_date.before_patent_law"),
    (lambda b: b.update(filing_date="1984-12-31", status="expired"), "filing_date",
     "filing_date.before_patent_law"),
    (lambda b: b.update(filing_date="2999-01-01", status="lapsed"), "filing_date",
     "not_in_future"),
    (lambda b: b.update(status="lapsed"), "status_date", "status_date.required"),
    (lambda b: b.update(status_date="2020-01-01"), "status_date", "status_date.not_applicable"),
    (lambda b: b.update(status="expired"), "status", "status.term_not_ended"),
    (lambda b: b.update(annual_fees_paid_through=1), "annual_fees_paid_through",
     "annual_fees.grant_year"),
    (lambda b: b.update(family_members=[{"office": "CN", "number": "CN1"}]),
     "family_members.0.office", "family.not_overseas"),
    (lambda b: b.update(family_members=[{"office": "WO", "number": "WO1", "granted": True}]),
     "family_members.0.granted", "family.wo_not_granted"),
    (lambda b: b.update(sei_industry="新能源产业"), "sei_industry", "sei_industry.untagged"),
    (lambda b: b.update(term_extension_days=30, application_no=application_no(kind="2")),
     "term_extension_days", "term_extension.invention_only"),
    (lambda b: b.update(awards=[{"type": "china_patent_award", "year": 2999}]), "awards.0.year",
     "less_than_equal"),
    (lambda b: b.update(status="abandoned"), "status", "enum"),
    (lambda b: b.update(unexpected=1), "unexpected", "extra_forbidden"),
])
async def test_every_broken_rule_is_422_naming_field_and_rule(registry, mutate, field, rule):
    uscc = await new_enterprise(registry)
    body = patent_body(uscc)
    mutate(body)
    resp = await registry.post("/v1/patents", json=body, headers=auth())
    assert {"field": field, "rule": rule} in problem_fields(resp), resp.json()


async def test_wrong_check_char_says_which_was_expected(registry):
    uscc = await new_enterprise(registry)
    number = application_no()
    digits, check = number.split(".")
    wrong = "0" if check != "0" else "1"
    resp = await registry.post("/v1/patents", json=patent_body(uscc, number=f"{digits}.{wrong}"),
                               headers=auth())
    error = resp.json()["errors"][0]
    assert resp.status_code == 422 and error["field"] == "application_no"
    assert f"gives {check!r}" in error["message"] and number in error["message"]
    assert check in error["message_zh"]


async def test_duplicate_is_409_whatever_the_form(registry):
    uscc = await new_enterprise(registry)
    body = patent_body(uscc)
    await new_patent(registry, body)
    again = dict(body, application_no="ZL" + body["application_no"])
    resp = await registry.post("/v1/patents", json=again, headers=auth())
    assert resp.status_code == 409
    assert resp.json()["type"] == "urn:ipbridge:problem:patent-already-registered"


async def test_owners_may_be_universities_and_individuals(registry, broker):
    university = make_uscc(prefix="12")  # a public institution, not a registered enterprise
    body = patent_body(None, owners=[
        {"name": "张三", "share": "40", "region_code": "140200"},
        {"uscc": university, "name": "太原理工大学", "share": "60"}])
    data = await new_patent(registry, body)
    assert [o["uscc"] for o in data["owners"]] == [None, university]
    assert data["owners"][1]["region_code"] == university[2:8]
    assert any("not a registered enterprise" in w for w in data["warnings"])
    records = await ip_events(broker, data["application_no"], until=lambda rs: rs)
    assert records[0].key == university.encode()  # the first owner WITH a USCC
    only_individual = patent_body(None, owners=[{"name": "李四"}])
    data = await new_patent(registry, only_individual)
    records = await ip_events(broker, data["application_no"], until=lambda rs: rs)
    assert records[0].key == data["application_no"].encode()


async def test_writes_need_the_ip_office(registry):
    uscc = await new_enterprise(registry)
    body = patent_body(uscc)
    for headers in (auth("miit"), auth("enterprise", org=uscc), {}):
        resp = await registry.post("/v1/patents", json=body, headers=headers)
        assert resp.status_code in (401, 403), resp.text
    resp = await registry.get(f"/v1/patents/{body['application_no']}", headers=auth())
    assert resp.status_code == 404  # nothing was written


# --- updates: ETag / If-Match and status events -------------------------------------------------

async def test_patch_needs_a_current_etag(registry):
    uscc = await new_enterprise(registry)
    number = (await new_patent(registry, patent_body(uscc)))["application_no"]
    change = {"strategic_emerging_industry": True, "sei_industry": "新能源产业"}
    resp = await registry.patch(f"/v1/patents/{number}", json=change, headers=auth())
    assert resp.status_code == 428
    assert resp.json()["type"] == "urn:ipbridge:problem:precondition-required"
    resp = await registry.patch(f"/v1/patents/{number}", json=change,
                                headers={**auth(), "If-Match": '"7"'})
    assert resp.status_code == 412
    resp = await registry.patch(f"/v1/patents/{number}", json=change,
                                headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == '"2"'
    assert resp.json()["high_value"]["categories"] == ["strategic_emerging_industry"]
    resp = await registry.patch(f"/v1/patents/{number}", json={"awards": []},
                                headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 412  # the first write moved it on
    resp = await registry.patch(f"/v1/patents/{number}", json={},
                                headers={**auth(), "If-Match": '"2"'})
    assert resp.status_code == 200 and resp.headers["etag"] == '"2"'  # nothing to change
    resp = await registry.patch(f"/v1/patents/{number}", json=change,
                                headers={**auth("miit"), "If-Match": '"2"'})
    assert resp.status_code == 403


async def test_lapse_emits_status_changed_keyed_by_owner_and_drops_high_value(registry, broker):
    uscc = await new_enterprise(registry)
    body = patent_body(uscc, strategic_emerging_industry=True)
    data = await new_patent(registry, body)
    number = data["application_no"]
    assert data["high_value"]["is_high_value"] is True
    lapsed_on = (today_cn() - timedelta(days=10)).isoformat()
    resp = await registry.patch(f"/v1/patents/{number}",
                                json={"status": "lapsed", "status_date": lapsed_on,
                                      "status_reason": "未缴年费终止"},
                                headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["status"] == "lapsed" and data["in_force"] is False
    assert data["high_value"]["is_high_value"] is False
    assert any(b["rule"] == "not_in_force" for b in data["open_license_blockers"])

    records = await ip_events(broker, number,
                              until=lambda rs: any(header(r, "ce_type") == "patent.status_changed"
                                                   for r in rs))
    changed = [r for r in records if header(r, "ce_type") == "patent.status_changed"]
    assert len(changed) == 1 and changed[0].key == uscc.encode()
    payload = json.loads(changed[0].value)
    validate_payload("patent.status_changed", payload)
    assert payload["previous_status"] == "granted" and payload["status"] == "lapsed"
    assert payload["changed_on"] == lapsed_on and payload["status_date"] == lapsed_on
    assert payload["high_value"]["is_high_value"] is False and payload["revision"] == 2

    # lapsed → invalidated is not a lifecycle step
    resp = await registry.patch(f"/v1/patents/{number}", json={"status": "invalidated"},
                                headers={**auth(), "If-Match": '"2"'})
    assert {"field": "status", "rule": "status.transition"} in problem_fields(resp)


async def test_pending_application_is_granted_later(registry, broker):
    uscc = await new_enterprise(registry)
    data = await new_patent(registry, patent_body(uscc, granted=False))
    number = data["application_no"]
    assert data["status"] == "pending" and data["annual_fees"]["status"] == "not_applicable"
    grant = (today_cn() - timedelta(days=3)).isoformat()
    resp = await registry.patch(f"/v1/patents/{number}",
                                json={"status": "granted", "grant_date": grant},
                                headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "granted" and resp.json()["in_force"] is True
    records = await ip_events(broker, number, until=lambda rs: len(rs) >= 2)
    assert [header(r, "ce_type") for r in records] == ["patent.registered",
                                                       "patent.status_changed"]


# --- the daily sweep ----------------------------------------------------------------------------

def _safe_day(day: date) -> date:
    return day if not (day.month == 2 and day.day == 29) else day - timedelta(days=1)


async def test_sweep_flips_high_value_on_the_tenth_anniversary_and_emits_once(registry_app,
                                                                              broker):
    registry = registry_app.state.client
    uscc = await new_enterprise(registry)
    today = today_cn()
    tenth = _safe_day(today + timedelta(days=5))
    filing = add_years(tenth, -10)
    body = patent_body(uscc, number=application_no(filing.year), filing_date=filing,
                       grant_date=add_years(filing, 2).isoformat(), annual_fees_paid_through=11)
    number = (await new_patent(registry, body))["application_no"]
    factory = registry_app.state.sessionmaker

    day_before = await patent_service.sweep(factory, on=tenth - timedelta(days=1))
    assert day_before["flag_changed"] == 0 and day_before["checked"] >= 1
    on_the_day = await patent_service.sweep(factory, on=tenth)
    assert on_the_day["flag_changed"] == 1
    assert (await patent_service.sweep(factory, on=tenth))["flag_changed"] == 0  # idempotent
    assert (await patent_service.sweep(factory, on=tenth + timedelta(days=1)))["flag_changed"] == 0

    resp = await registry.get(f"/v1/patents/{number}", headers=auth())
    data = resp.json()
    assert data["high_value"]["is_high_value"] is True
    assert data["high_value"]["categories"] == ["maintained_over_10_years"]
    assert data["high_value"]["assessed_on"] == tenth.isoformat()
    assert resp.headers["etag"] == '"2"'

    records = await ip_events(broker, number, until=lambda rs: len(rs) >= 2)
    await asyncio.sleep(0.3)  # a duplicate, if any, would have been relayed by now
    records = await ip_events(broker, number)
    updates = [r for r in records if header(r, "ce_type") == "patent.updated"]
    assert len(updates) == 1 and updates[0].key == uscc.encode()
    payload = json.loads(updates[0].value)
    validate_payload("patent.updated", payload)
    assert payload["high_value"]["is_high_value"] is True
    assert payload["high_value"]["categories"] == ["maintained_over_10_years"]


async def test_sweep_lapses_a_patent_whose_fee_is_unpaid_after_the_grace(registry_app, broker):
    registry = registry_app.state.client
    uscc = await new_enterprise(registry)
    filing = date(today_cn().year - 4, 3, 10)
    body = patent_body(uscc, filing_date=filing, number=application_no(filing.year),
                       strategic_emerging_industry=True)
    data = await new_patent(registry, body)
    number, paid = data["application_no"], data["annual_fees"]["paid_through"]
    due = date(filing.year + paid, 3, 10)
    grace_end = date(due.year, 9, 10)
    factory = registry_app.state.sessionmaker
    assert (await patent_service.sweep(factory, on=grace_end))["status_changed"] == 0
    result = await patent_service.sweep(factory, on=grace_end + timedelta(days=1))
    assert result["status_changed"] == 1
    data = (await registry.get(f"/v1/patents/{number}", headers=auth())).json()
    assert data["status"] == "lapsed" and data["status_date"] == due.isoformat()
    assert data["high_value"]["is_high_value"] is False
    records = await ip_events(broker, number,
                              until=lambda rs: any(header(r, "ce_type") == "patent.status_changed"
                                                   for r in rs))
    payload = json.loads(next(r for r in records
                              if header(r, "ce_type") == "patent.status_changed").value)
    assert payload["changed_on"] == due.isoformat() and "grace" in payload["reason"]


# --- encumbrances -------------------------------------------------------------------------------

async def test_encumbrances_show_their_open_licence_blockers(registry_app, broker):
    registry = registry_app.state.client
    uscc = await new_enterprise(registry)
    filing = date(today_cn().year - 3, 3, 10)
    data = await new_patent(registry, patent_body(uscc, filing_date=filing))
    number = data["application_no"]
    assert data["open_license_blockers"] == []
    assert len(data["open_license_checks"]) == 5
    start = today_cn() - timedelta(days=30)
    factory = registry_app.state.sessionmaker

    pledge = patent_service.EncumbranceChange(
        kind="pledge", reference="PLG-1", starts_on=start, pledgee_name="中国银行大同分行",
        pledgee_code="BOC-1402", loan_id="LN-001", amount_10k_cny=Decimal("800"),
        pledgee_consent_to_open_licence=False)
    async with factory() as session, session.begin():
        await patent_service.set_encumbrance(session, number, pledge, source="test")
    data = (await registry.get(f"/v1/patents/{number}", headers=auth())).json()
    assert [b["rule"] for b in data["open_license_blockers"]] == ["pledged_without_consent"]
    assert data["encumbrances"][0]["loan_id"] == "LN-001"
    assert data["high_value"]["reasons"][5]["passed"] is None  # pledge amount: not assessed
    stranger = (await registry.get(f"/v1/patents/{number}",
                                   headers=auth("enterprise", org=make_uscc()))).json()
    assert stranger["encumbrances"][0]["loan_id"] is None
    assert stranger["encumbrances"][0]["pledgee_name"] == "中国银行大同分行"

    licence = patent_service.EncumbranceChange(
        kind="licence", reference="LIC-9", starts_on=start, licence_type="exclusive",
        licensee_name="乙公司")
    async with factory() as session, session.begin():
        await patent_service.set_encumbrance(session, number, licence, source="test")
        await patent_service.set_encumbrance(
            session, number, patent_service.EncumbranceChange(
                **{**pledge.__dict__, "pledgee_consent_to_open_licence": True}), source="test")
    data = (await registry.get(f"/v1/patents/{number}", headers=auth())).json()
    blockers = data["open_license_blockers"]
    assert [b["rule"] for b in blockers] == ["exclusive_or_sole_licence"]
    assert blockers[0]["source"].startswith("专利法实施细则 第八十六条")
    assert data["revision"] == 4

    records = await ip_events(broker, number, until=lambda rs: len(rs) >= 4)
    last = json.loads(records[-1].value)
    validate_payload("patent.updated", last)
    assert last["encumbrances"]["pledged"] is True
    assert last["encumbrances"]["pledgee_consent_to_open_licence"] is True
    assert last["encumbrances"]["licences"]["exclusive"] == 1
    assert last["open_license_blockers"] == ["exclusive_or_sole_licence"]
    assert "LN-001" not in records[-1].value.decode()  # no loan details on the topic


# --- lists and statistics -----------------------------------------------------------------------

async def test_enterprise_patents_and_counts(registry):
    uscc = await new_enterprise(registry)
    other = await new_enterprise(registry)
    await new_patent(registry, patent_body(uscc, strategic_emerging_industry=True))
    await new_patent(registry, patent_body(uscc, granted=False))
    await new_patent(registry, patent_body(None, owners=[
        {"uscc": other, "name": "乙", "share": "50"}, {"uscc": uscc, "name": "甲", "share": "50"}]))
    resp = await registry.get(f"/v1/enterprises/{uscc}/patents?limit=2",
                              headers=auth("enterprise", org=uscc))
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert page["counts"] == {"total": 3, "granted": 2, "high_value": 1}
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await registry.get(f"/v1/enterprises/{uscc}/patents",
                              params={"cursor": page["next_cursor"]}, headers=auth())
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    resp = await registry.get(f"/v1/enterprises/{uscc}/patents",
                              headers=auth("enterprise", org=other))
    assert resp.status_code == 403


async def test_high_value_counts_and_growth_for_daye(registry):
    this_year = today_cn().year
    daye = await new_enterprise(registry, region_code="420281")
    datong = await new_enterprise(registry, region_code="140200")

    async def sei_patent(owner, granted_year):
        filing = date(granted_year - 2, 3, 10)
        await new_patent(registry, patent_body(
            owner, filing_date=filing, number=application_no(filing.year),
            grant_date=date(granted_year, 5, 1).isoformat(), strategic_emerging_industry=True))

    for year in (this_year - 3, this_year - 2, this_year - 1):
        await sei_patent(daye, year)
    await sei_patent(datong, this_year - 2)
    await new_patent(registry, patent_body(daye))  # in force but not high-value
    params = {"region": "420281", "year": this_year - 1, "from_year": this_year - 3}
    resp = await registry.get("/v1/stats/high-value", params=params, headers=auth())
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    assert [s["count"] for s in stats["series"]] == [1, 2, 3]
    assert stats["count"] == 3 and stats["by_category"]["strategic_emerging_industry"] == 3
    growth = stats["growth"]
    assert growth["compound_annual_growth_percent"] == "73.21"  # √3 − 1
    assert growth["target"]["annual_average_percent"] == "10"
    assert growth["meets_target"] is True
    assert stats["basis"]["pack"] == "high-value-invention-patents@v1"

    city = (await registry.get("/v1/stats/high-value", params={"region": "420200"},
                               headers=auth("pboc"))).json()
    assert city["count"] == 3 and city["growth"]["target"] is None  # Daye's target is Daye's
    datong_stats = (await registry.get("/v1/stats/high-value", params={"region": "140200"},
                                       headers=auth())).json()
    assert datong_stats["count"] == 1
    own = await registry.get("/v1/stats/high-value", params={"uscc": daye},
                             headers=auth("enterprise", org=daye))
    assert own.status_code == 200 and own.json()["count"] == 3
    resp = await registry.get("/v1/stats/high-value", params={"region": "420281"},
                              headers=auth("enterprise", org=daye))
    assert resp.status_code == 403
    resp = await registry.get("/v1/stats/high-value", params={"region": "990000"},
                              headers=auth())
    assert {"field": "query.region", "rule": "region_code.province"} in problem_fields(resp)
    resp = await registry.get("/v1/stats/high-value", params={"year": this_year + 1},
                              headers=auth())
    assert {"field": "query.year", "rule": "not_in_future"} in problem_fields(resp)


# --- trademarks ---------------------------------------------------------------------------------

async def test_trademarks_and_geographical_indications(registry, broker):
    holder = await new_enterprise(registry)
    reg_no = str(30_000_000 + int.from_bytes(holder.encode()[-4:], "big") % 9_000_000)
    body = {"reg_no": f"第 {reg_no} 号", "name": "大同黄花", "nice_class": 31,
            "holder_uscc": holder, "holder_name": "大同市黄花产业协会",
            "mark_kind": "certification", "geographical_indication": True,
            "gi_product": "大同黄花", "registered_on": "2024-05-01"}
    resp = await registry.post("/v1/trademarks", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    assert resp.json()["reg_no"] == reg_no and resp.json()["geographical_indication"] is True
    resp = await registry.get(f"/v1/trademarks/{quote('第' + reg_no + '号')}", headers=auth("miit"))
    assert resp.status_code == 200 and resp.json()["holder_uscc"] == holder
    assert (await registry.post("/v1/trademarks", json=body, headers=auth())).status_code == 409
    records = await ip_events(broker, reg_no, until=lambda rs: rs)
    assert records[0].key == holder.encode()
    assert header(records[0], "ce_type") == "trademark.registered"
    validate_payload("trademark.registered", json.loads(records[0].value))

    for change, field, rule in (({"nice_class": 46}, "nice_class", "less_than_equal"),
                                ({"nice_class": 0}, "nice_class", "greater_than_equal"),
                                ({"mark_kind": "ordinary"}, "mark_kind", "trademark.gi_kind"),
                                ({"reg_no": "ABC"}, "reg_no", "reg_no.format")):
        resp = await registry.post("/v1/trademarks", json={**body, "reg_no": "123", **change},
                                   headers=auth())
        assert {"field": field, "rule": rule} in problem_fields(resp)
    resp = await registry.post("/v1/trademarks", json=body, headers=auth("miit"))
    assert resp.status_code == 403
    assert (await registry.get("/v1/trademarks/99999", headers=auth())).status_code == 404


# --- robustness ---------------------------------------------------------------------------------

_DATES = st.dates().map(date.isoformat)
_ANY = st.none() | st.integers(-10**6, 10**6) | st.text(max_size=20) | st.booleans() | _DATES
_FIELDS = {
    "application_no": st.text(max_size=20) | st.sampled_from(
        ["87101234", "90101234.1", "98101234.5", "ZL202410123456.0", "２０２４１０１２３４５６．０"]),
    "status": st.sampled_from(["pending", "granted", "lapsed", "invalidated", "expired"]),
    "filing_date": _DATES, "grant_date": _DATES | st.none(), "status_date": _DATES | st.none(),
    "annual_fees_paid_through": st.integers(1, 25) | st.none(),
    "term_extension_days": st.integers(0, 1800),
    "ipc_codes": st.lists(st.text(max_size=14) | st.just("H01M 10/0525"), max_size=3),
    "family_members": st.lists(st.fixed_dictionaries({
        "office": st.sampled_from(["US", "CN", "WO", "ep"]), "number": st.text(min_size=1,
                                                                               max_size=5),
        "granted": st.booleans(), "granted_on": _DATES | st.none()}), max_size=2),
    "awards": st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(["china_patent_award", "other"]),
        "year": st.integers(1985, 2100)}), max_size=2),
    "owners": st.lists(st.fixed_dictionaries({
        "name": st.text(min_size=1, max_size=5), "uscc": st.none() | st.text(max_size=18),
        "share": st.decimals(0, 120, places=2).map(str) | st.none()}), min_size=1, max_size=3),
    "suspension": st.none() | st.fixed_dictionaries({"reason": st.just("ownership_dispute"),
                                                     "since": _DATES}),
    "strategic_emerging_industry": _ANY, "sei_industry": _ANY, "locarno_class": _ANY,
    "title": _ANY,
}


async def test_no_input_is_a_500(registry):
    """Random changes to a valid body (fixed seed): every answer is 201, 409 or 422."""
    uscc = await new_enterprise(registry)
    examples: list[dict] = []

    @settings(max_examples=150, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sets(st.sampled_from(sorted(_FIELDS)), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: _FIELDS[k] for k in keys})))
    def collect(changes):
        examples.append(changes)

    collect()
    for changes in examples:
        resp = await registry.post("/v1/patents", json=patent_body(uscc) | changes,
                                   headers=auth())
        assert resp.status_code in (201, 409, 422), (changes, resp.text)
        if resp.status_code != 201:
            continue
        number = resp.json()["application_no"]
        for patch in ({"status": "expired"}, {"status": "lapsed"},
                      {"status": "granted", "grant_date": "2001-01-01"},
                      {"annual_fees_paid_through": 25}, {"grant_date": "9999-01-01"},
                      {"status": "invalidated", "status_date": "0001-01-01"}):
            resp = await registry.patch(f"/v1/patents/{number}", json=patch,
                                        headers={**auth(), "If-Match": "*"})
            assert resp.status_code in (200, 422), (patch, resp.text)
