"""Licences (Patent Law Art 51) against a real registry on the real broker and both databases:
an enterprise takes a published open licence by notice and payment on the published terms,
``license.granted`` reaches the registry as an encumbrance, withdrawal leaves granted licences
in force; negotiated exclusive licences are refused while an open licence is live."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from services.matching.licenses.service import expected_payment
from shared.db import today_cn
from shared.events.catalogue import validate_payload
from tests.factories import make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic, wait_async
from tests.matching.helpers import new_enterprise, new_patent, wait_patent_fact
from tests.matching.test_open_licenses import declare, licence_events, published_licence

TOPIC = "matching.license.v1"


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

    def negotiated(kind: str, application_no: str) -> dict:
        return {"type": kind, "application_no": application_no,
                "licensee": {"uscc": make_uscc(), "name": "某被许可企业"},
                "payment_method": "lump_sum", "lump_sum_cny": "300000",
                "starts_on": today_cn().isoformat(), "contract_reference": f"HT-{kind}"}

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

    # without an open licence an exclusive licence is recorded; the registry marks it, and from
    # then on neither another licence nor an open-licence declaration is possible
    other = await new_patent(stack, owner)
    resp = await stack.matching.post("/v1/licenses", json=negotiated("exclusive", other),
                                     headers=auth("market_regulation"))
    assert resp.status_code == 201, resp.text
    again = await stack.matching.post("/v1/licenses", json=negotiated("ordinary", other),
                                      headers=mine)
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "exclusive_licence_in_force"
    await wait_patent_fact(stack.matching_app, other,
                           lambda f: "exclusive_or_sole_licence" in f.blockers)
    refused = await declare(stack, owner, other)
    assert refused.status_code == 422
    assert [e["rule"] for e in refused.json()["errors"]] == ["exclusive_or_sole_licence"]
