"""Licences (Patent Law Art 51) against a real registry on the real broker and both databases:
an enterprise takes a published open licence by notice and payment on the published terms,
``license.granted`` reaches the registry as an encumbrance, withdrawal leaves granted licences
in force; negotiated exclusive licences are refused while an open licence is live."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.financing.valuations.handlers import on_license_granted
from services.matching.licenses.service import expected_payment
from shared.db import today_cn
from shared.events.catalogue import event_type, load_schema, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic, wait_async
from tests.matching.helpers import new_enterprise, new_patent, wait_patent_fact
from tests.matching.test_open_licenses import declare, licence_events, published_licence

TOPIC = "matching.license.v1"


@pytest.fixture
def postgres_only(request):
    if request.node.callspec.params.get("db_url") != "postgres":
        pytest.skip("parallel writers: PostgreSQL (SQLite ignores FOR UPDATE)")


def negotiated(kind: str, application_no: str, **overrides) -> dict:
    body = {"type": kind, "application_no": application_no,
            "licensee": {"uscc": make_uscc(), "name": "某被许可企业"},
            "payment_method": "lump_sum", "lump_sum_cny": "300000",
            "starts_on": today_cn().isoformat(), "contract_reference": f"HT-{kind}"}
    body.update(overrides)
    return body


async def granted_event(broker, license_id: str) -> tuple[dict, str]:
    def mine(records):
        return [r for r in records if header(r, "ce_type") == "license.granted"
                and json.loads(r.value)["license_id"] == license_id]
    [record] = mine(await read_topic(broker.bootstrap, TOPIC, until=mine))
    return json.loads(record.value), record.key.decode()


def take(ol_id: str, amount: str | None, **overrides) -> dict:
    today = today_cn().isoformat()
    body = {"type": "open", "open_license_id": ol_id,
            "notice": {"sent_on": today, "reference": "开放许可实施通知书-001"}}
    if amount is not None:
        body["payment"] = {"amount_cny": amount, "paid_on": today, "reference": "转账-88"}
    body.update(overrides)
    return body


async def registry_licence(stack, number: str, license_id: str) -> dict:
    async def seen():
        resp = await stack.registry.get(f"/v1/patents/{number}", headers=auth())
        return next((e for e in resp.json()["encumbrances"] if e["reference"] == license_id),
                    None)
    return await wait_async(seen, timeout=30)


def test_the_payment_expected_follows_the_published_method():
    def ol(method, lump=None, entry=None):
        return SimpleNamespace(payment_method=method, lump_sum_cny=lump, entry_fee_cny=entry)
    assert expected_payment(ol("lump_sum", lump=Decimal("50000")))[1] == Decimal("50000.00")
    assert expected_payment(ol("entry_fee_plus_royalty", entry=Decimal("8000")))[1] == \
        Decimal("8000.00")
    assert expected_payment(ol("free"))[1] == Decimal("0.00")
    assert expected_payment(ol("royalty"))[1] is None  # any first payment ≥ 0


async def test_an_enterprise_takes_an_open_licence_and_withdrawal_leaves_it_valid(
        stack, broker):
    owner, number, ol_id = await published_licence(
        stack, payment_method="lump_sum", royalty_rate=None, royalty_base=None,
        lump_sum_cny="50000")
    licensee = await new_enterprise(stack)
    theirs = auth("enterprise", licensee)

    wrong = await stack.matching.post("/v1/licenses", json=take(ol_id, "40000"), headers=theirs)
    assert wrong.status_code == 422
    error = wrong.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("payment.amount_cny", "payment.published_terms")
    assert wrong.json()["expected_amount_cny"] == "50000.00"
    assert (await stack.matching.post("/v1/licenses", json=take(ol_id, None),
                                      headers=theirs)).json()["errors"][0]["field"] == "payment"
    # a notice (or payment) dated before the announcement is not a notice under it
    long_ago = {"sent_on": "2001-01-01", "reference": "旧函"}
    early = await stack.matching.post("/v1/licenses", json=take(ol_id, "50000", notice=long_ago),
                                      headers=theirs)
    assert early.status_code == 422
    assert (early.json()["errors"][0]["field"], early.json()["errors"][0]["rule"]) == (
        "notice.sent_on", "date.before_publication")
    assert early.json()["published_on"] == today_cn().isoformat()
    # an enterprise takes licences only for itself
    other = await stack.matching.post("/v1/licenses", headers=auth("enterprise", make_uscc()),
                                      json=take(ol_id, "50000", licensee_uscc=licensee))
    assert other.status_code == 403

    resp = await stack.matching.post("/v1/licenses", json=take(ol_id, "50000.00"),
                                     headers=theirs)
    assert resp.status_code == 201, resp.text
    licence = resp.json()
    assert licence["license_type"] == "open" and licence["open_license_id"] == ol_id
    assert licence["licensor"]["uscc"] == owner and licence["licensee"]["uscc"] == licensee
    assert licence["fee"]["lump_sum_cny"] == "50000.00"
    assert licence["payment"]["amount_cny"] == "50000.00"
    # an open licence on the published terms is a verified price
    assert licence["verified"] is True and licence["recorded_by_department"] == "enterprise"
    assert licence["starts_on"] == today_cn().isoformat()
    assert licence["ends_on"] == (today_cn() + timedelta(days=365)).isoformat()
    assert {c["code"] for c in licence["basis"]["checks"]} >= {"open_license.published",
                                                              "payment.published_terms"}

    duplicate = await stack.matching.post("/v1/licenses", json=take(ol_id, "50000"),
                                          headers=theirs)
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["rule"] == "license.duplicate"

    # the event: schema-valid, keyed by the licensor; the registry records the encumbrance
    def granted(records):
        return [r for r in records if header(r, "ce_type") == "license.granted"
                and json.loads(r.value)["license_id"] == licence["id"]]
    [record] = granted(await read_topic(broker.bootstrap, TOPIC, until=granted))
    data = json.loads(record.value)
    validate_payload("license.granted", data)
    assert record.key.decode() == owner
    assert data["fee"]["lump_sum_cny"] == "50000.00" and data["license_type"] == "open"
    assert data["licensee"]["industry_code"] == "C3985"
    assert data["verified"] is True and data["recorded_by_department"] == "enterprise"
    encumbrance = await registry_licence(stack, number, licence["id"])
    assert encumbrance["licence_type"] == "open" and encumbrance["licensee_uscc"] == licensee

    # who sees it
    for headers, count in ((theirs, 1), (auth("enterprise", owner), 1),
                           (auth("enterprise", make_uscc()), 0), (auth("auditor"), 1)):
        listed = await stack.matching.get("/v1/licenses", params={"open_license_id": ol_id},
                                          headers=headers)
        assert len(listed.json()["items"]) == count
    assert (await stack.matching.get(f"/v1/licenses/{licence['id']}",
                                     headers=auth("enterprise", make_uscc()))).status_code == 403

    # only the patentee withdraws; the licence granted stays valid
    url = f"/v1/open-licenses/{ol_id}/withdrawal"
    assert (await stack.matching.post(url, json={"reason": "专利权转让"},
                                      headers=theirs)).status_code == 403
    resp = await stack.matching.post(url, json={"reason": "专利权拟转让"},
                                     headers=auth("enterprise", owner))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "withdrawn" and resp.json()["licenses_in_force"] == 1
    assert (await stack.matching.get(f"/v1/licenses/{licence['id']}",
                                     headers=theirs)).status_code == 200
    [(_, withdrawn, _)] = await licence_events(broker, ol_id, {"openlicense.withdrawn"})
    validate_payload("openlicense.withdrawn", withdrawn)
    assert withdrawn["licenses_in_force"] == 1 and withdrawn["reason"] == "专利权拟转让"
    late = await stack.matching.post("/v1/licenses", headers=auth("enterprise",
                                                                  await new_enterprise(stack)),
                                     json=take(ol_id, "50000"))
    assert late.status_code == 409 and late.json()["current_status"] == "withdrawn"
    # withdrawn is final; the patent may be declared afresh
    assert (await stack.matching.post(url, json={"reason": "再次撤回"},
                                      headers=auth("enterprise", owner))).status_code == 409
    assert (await declare(stack, owner, number)).status_code == 201


async def test_no_exclusive_licence_while_an_open_licence_is_live(stack):
    owner, number, ol_id = await published_licence(stack)
    mine = auth("enterprise", owner)

    for kind in ("exclusive", "sole"):
        resp = await stack.matching.post("/v1/licenses", json=negotiated(kind, number),
                                         headers=mine)
        assert resp.status_code == 409
        error = resp.json()["errors"][0]
        assert error["rule"] == "exclusive_while_open" and "第五十一条" in error["clause"]["clause"]
    # an ordinary licence beside the open licence is allowed (Art 51(3))
    resp = await stack.matching.post("/v1/licenses", json=negotiated("ordinary", number),
                                     headers=mine)
    assert resp.status_code == 201 and resp.json()["license_type"] == "ordinary"
    # someone else's patent: neither an enterprise nor a licence of it
    assert (await stack.matching.post("/v1/licenses", json=negotiated("ordinary", number),
                                      headers=auth("enterprise", make_uscc()))).status_code == 403
    bad_fee = negotiated("ordinary", number) | {"payment_method": "royalty"}
    resp = await stack.matching.post("/v1/licenses", json=bad_fee, headers=mine)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "royalty_rate"

    # without an open licence an exclusive licence is recorded; from that moment — before the
    # registry's patent.updated comes back — neither another licence nor an open-licence
    # declaration is possible (Rule 86(1))
    other = await new_patent(stack, owner)
    resp = await stack.matching.post("/v1/licenses", json=negotiated("exclusive", other),
                                     headers=auth("market_regulation"))
    assert resp.status_code == 201, resp.text
    refused = await declare(stack, owner, other)
    assert refused.status_code == 422
    assert [e["rule"] for e in refused.json()["errors"]] == ["exclusive_or_sole_licence"]
    line = next(c for c in refused.json()["basis"]["checks"]
                if c["code"] == "exclusive_or_sole_licence")
    assert line["figures"] == {"recorded_in_matching": 1}
    checks = (await stack.matching.get(f"/v1/open-licenses/patent-checks/{other}",
                                       headers=mine)).json()
    assert checks["declarable"] is False and checks["failed"] == ["exclusive_or_sole_licence"]
    again = await stack.matching.post("/v1/licenses", json=negotiated("ordinary", other),
                                      headers=mine)
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "exclusive_licence_in_force"
    # the registry's view agrees once its event is back
    await wait_patent_fact(stack.matching_app, other,
                           lambda f: "exclusive_or_sole_licence" in f.blockers)
    assert (await declare(stack, owner, other)).status_code == 422


async def test_a_patentees_own_record_is_unverified_and_the_offices_is_verified(stack, broker):
    owner = await new_enterprise(stack)
    number = await new_patent(stack, owner)
    own = await stack.matching.post("/v1/licenses", headers=auth("enterprise", owner),
                                    json=negotiated("ordinary", number,
                                                    lump_sum_cny="5000000"))
    assert own.status_code == 201, own.text
    assert own.json()["verified"] is False and own.json()["recorded_by_department"] == "enterprise"
    line = next(c for c in own.json()["basis"]["checks"] if c["code"] == "verified")
    assert line["figures"] == {"verified": False} and "never a price comparable" in line["detail"]
    office = await stack.matching.post("/v1/licenses", headers=auth("market_regulation"),
                                       json=negotiated("ordinary", number))
    assert office.status_code == 201 and office.json()["verified"] is True

    data, key = await granted_event(broker, own.json()["id"])
    validate_payload("license.granted", data)
    assert key == owner
    assert (data["verified"], data["recorded_by_department"]) == (False, "enterprise")
    data, _ = await granted_event(broker, office.json()["id"])
    assert (data["verified"], data["recorded_by_department"]) == (True, "market_regulation")


class _NoSession:
    """A session any use of which fails: the handler must decide without the database."""

    def __getattr__(self, name):
        raise AssertionError(f"the handler touched the database ({name})")


async def test_financing_never_takes_an_unverified_licence_as_a_comparable():
    etype = event_type("license.granted")
    data = {"license_id": str(uuid.uuid4()), "application_no": "202310123456.7",
            "patent_kind": "invention", "ipc_codes": ["H01M 10/0525"], "license_type": "ordinary",
            "licensor": {"uscc": make_uscc(), "name": "专利权人"},
            "licensee": {"uscc": None, "name": "随便写的被许可人"},
            "starts_on": today_cn().isoformat(), "ends_on": None,
            "fee": {"lump_sum_cny": "5000000.00", "royalty_rate": None,
                    "payment_method": "lump_sum"},
            "open_license_id": None, "granted_at": datetime.now(UTC).isoformat(),
            "verified": False, "recorded_by_department": "enterprise"}
    validate_payload("license.granted", data)
    event = CloudEvent(type="license.granted", source=etype.source, subject="x", data=data,
                       dataschema=etype.dataschema)
    await on_license_granted(_NoSession(), event)  # ignored: never reaches the database
    with pytest.raises(AssertionError, match="touched the database"):
        await on_license_granted(_NoSession(), CloudEvent(
            type="license.granted", source=etype.source, subject="x",
            data=data | {"verified": True}, dataschema=etype.dataschema))


def test_the_event_schema_documents_the_fee_parts_and_verification():
    schema = load_schema("license.granted", 1)
    fee = schema["properties"]["fee"]["properties"]
    for name in ("entry_fee_cny", "royalty_base"):
        assert fee[name]["description"]
    assert "lump_sum_cny" in fee["entry_fee_cny"]["description"]
    for name in ("verified", "recorded_by_department"):
        assert schema["properties"][name]["description"]
        assert name not in schema["required"]
    base = {"license_id": str(uuid.uuid4()), "application_no": "202310123456.7",
            "license_type": "open", "licensee": {"name": "某企业"},
            "starts_on": "2026-01-01", "granted_at": "2026-01-01T00:00:00+00:00",
            "fee": {"lump_sum_cny": "8000.00", "royalty_rate": "0.03",
                    "payment_method": "entry_fee_plus_royalty", "entry_fee_cny": "8000.00",
                    "royalty_base": "net_sales"}}
    validate_payload("license.granted", base)
    validate_payload("license.granted", base | {"verified": True})
    for bad in ({"fee": base["fee"] | {"royalty_base": "turnover"}},
                {"fee": base["fee"] | {"entry_fee_cny": "8000"}}, {"verified": "yes"}):
        with pytest.raises(Exception):
            validate_payload("license.granted", base | bad)


async def test_exclusive_licences_need_every_co_owner_and_end_before_the_patent(stack):
    owner, partner = await new_enterprise(stack), await new_enterprise(stack)
    number = await new_patent(stack, owner, owners=[
        {"uscc": owner, "name": "甲公司", "share": "60"},
        {"uscc": partner, "name": "乙公司", "share": "40"}])
    fact = await wait_patent_fact(stack.matching_app, number)
    mine = auth("enterprise", owner)
    # Art 14: a co-owner alone grants only ordinary licences
    alone = await stack.matching.post("/v1/licenses", json=negotiated("exclusive", number),
                                      headers=mine)
    assert alone.status_code == 422, alone.text
    error = alone.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("co_owner_consents", "co_owner_licence_consent")
    assert alone.json()["missing"] == [partner] and "第十四条" in alone.json()["clause"]["clause"]
    # the last day of a licence is before term_ends_on, the first day not in force
    at_term = await stack.matching.post("/v1/licenses", headers=mine, json=negotiated(
        "ordinary", number, ends_on=fact.term_ends_on.isoformat()))
    assert at_term.status_code == 422
    assert at_term.json()["errors"][0]["rule"] == "term_within_patent"
    consented = await stack.matching.post("/v1/licenses", headers=mine, json=negotiated(
        "sole", number, ends_on=(fact.term_ends_on - timedelta(days=1)).isoformat(),
        co_owner_consents=[{"uscc": partner, "name": "乙公司", "document_ref": "同意书-7"}]))
    assert consented.status_code == 201, consented.text
    line = next(c for c in consented.json()["basis"]["checks"]
                if c["code"] == "co_owner_licence_consent")
    assert "all 1 other co-owner" in line["detail"]


async def test_two_exclusive_licences_recorded_at_once_one_wins(postgres_only, stack):
    owner = await new_enterprise(stack)
    number = await new_patent(stack, owner)
    results = await asyncio.gather(*(
        stack.matching.post("/v1/licenses", json=negotiated(kind, number),
                            headers=auth("market_regulation")) for kind in ("exclusive", "sole")))
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]


async def test_a_take_racing_a_withdrawal_is_counted_or_refused(postgres_only, stack):
    owner, number, ol_id = await published_licence(stack)
    takers = [await new_enterprise(stack) for _ in range(4)]
    results = await asyncio.gather(
        *(stack.matching.post("/v1/licenses", json=take(ol_id, "0"),
                              headers=auth("enterprise", t)) for t in takers),
        stack.matching.post(f"/v1/open-licenses/{ol_id}/withdrawal", json={"reason": "撤回"},
                            headers=auth("enterprise", owner)))
    *takes, withdrawal = results
    assert withdrawal.status_code == 200, withdrawal.text
    assert {r.status_code for r in takes} <= {201, 409}, [r.text for r in takes]
    granted = sum(r.status_code == 201 for r in takes)
    # every licence granted was granted before the withdrawal, which counts it
    assert withdrawal.json()["licenses_in_force"] == granted
