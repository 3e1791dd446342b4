"""Patent valuation over REST, fed by the registry and by matching's licence events through the
real broker: value, range, methods, assumptions and inputs read back; what may not be valued is
refused naming field and rule; identical inputs give identical results; recorded licences become
market comparables (free ones never); banks record their own valuations beside ours."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.financing.db import KERNEL, Base
from services.financing.valuations.models import LicenseComparable
from services.financing.valuations.packs import load_packs
from services.financing.valuations.repository import latest_for
from shared.db import today_cn
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from shared.migrate import service_metadata, upgrade
from tests.factories import make_uscc
from tests.financing.helpers import new_patent, new_sme, wait_entry
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic, wait_async
from tests.registry.ip_factories import application_no

pytestmark = pytest.mark.asyncio

IP_OFFICE = auth("market_regulation")
BANK = auth("bank", "BANK001")
WAN = 10_000

RELIEF = {"variant": "relief_from_royalty", "sales_cny": ["10000000", "12000000", "14000000"],
          "royalty_rate": "0.03", "tax_rate": "0.25", "discount_rate": "0.12"}
COST = {"variant": "obsolescence", "replacement_cost_cny": "1800000",
        "obsolescence_rate": "0.35"}


def pack():
    return load_packs().in_force(today_cn())


def money(value: Fraction) -> str:
    """Round half up to the fen, independently of the code under test."""
    cents = value * 100
    whole = int(cents)
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return f"{whole // 100}.{whole % 100:02d}"


def discounted(flows, share: Fraction, rate: Fraction, shares=None) -> Fraction:
    shares = shares or [Fraction(1)] * len(flows)
    return sum((Fraction(f) * share * s / (1 + rate) ** t
                for t, (f, s) in enumerate(zip(flows, shares), 1)), Fraction(0))


def random_ipc() -> str:
    """An IPC code in a subclass no other test uses (comparables are chosen by subclass)."""
    rng = random.Random()
    subclass = (f"{rng.choice('ABCDEFGH')}{rng.randint(1, 99):02d}"
                f"{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}")
    return f"{subclass} {rng.randint(1, 999)}/{rng.randint(0, 99):02d}"


async def value(stack, body: dict, headers=IP_OFFICE, status: int = 201, **kw) -> dict:
    resp = await stack.financing.post("/v1/valuations", json=body, headers=headers, **kw)
    assert resp.status_code == status, resp.text
    return resp.json() | ({"_headers": dict(resp.headers)} if status == 201 else {})


def problem(resp_json: dict) -> tuple[str, str]:
    error = resp_json["errors"][0]
    return error["field"], error["rule"]


async def test_value_a_patent_read_it_back_and_the_whitelist_shows_it(stack, broker):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    body = {"application_no": number, "purpose": "pledge_financing", "income": RELIEF,
            "cost": COST,
            "indicators": {"technical": {"advancement": "80", "maturity": "70"},
                           "economic": {"market_prospect": "65"}}}
    created = await value(stack, body)
    vid = created["id"]
    assert created["_headers"]["location"] == f"/v1/valuations/{vid}"
    assert created["_headers"]["etag"] == '"1"'

    # the RULES §4.2 worked example in yuan, and the cost example, combined by the pack weights
    income = discounted([10_000_000, 12_000_000, 14_000_000], Fraction(3, 100) * Fraction(3, 4),
                        Fraction(12, 100))
    cost = Fraction(1_800_000) * Fraction(65, 100)
    w = pack().data.method_weights.by_purpose["pledge_financing"]
    wi, wc = Fraction(str(w["income"])), Fraction(str(w["cost"]))
    assert created["value_cny"] == money((wi * income + wc * cost) / (wi + wc))
    assert (created["low_cny"], created["high_cny"]) == (money(income), money(cost))
    assert created["method"] == "income_relief_from_royalty+cost_obsolescence"
    methods = {m["approach"]: m for m in created["methods"]}
    assert methods["income"]["value_cny"] == "640345.98"
    assert methods["cost"]["value_cny"] == "1170000.00"
    assert [line["present_value_cny"] for line in methods["income"]["lines"]] == [
        money(Fraction(sales) * Fraction(9, 400) / Fraction(112, 100) ** t)
        for t, sales in enumerate([10_000_000, 12_000_000, 14_000_000], 1)]
    assert abs(D(created["combination"]["weights"]["income"])
               - D(float(wi / (wi + wc)))) < D("0.000001")
    keys = {a["key"] for a in created["assumptions"]}
    assert {"rounding", "legal_term", "economic_life", "combination", "timing"} <= keys
    rounding = next(a["text"] for a in created["assumptions"] if a["key"] == "rounding")
    assert "0.01 yuan" in rounding and "once" in rounding
    assert created["inputs"]["income"]["sales_cny"] == RELIEF["sales_cny"]
    assert created["facts"]["application_no"] == number and created["owner_usccs"] == [uscc]
    assert created["pack"]["ref"] == "valuation@v1" and created["pack"]["verified"] is False
    assert any("GB/T 42748-2023" in s["document"] for s in created["pack"]["sources"])
    assert len(created["inputs_hash"]) == 64
    today = today_cn()
    anniversary = (date(today.year + 1, 2, 28) if (today.month, today.day) == (2, 29)
                   else today.replace(year=today.year + 1))
    months = pack().data.validity.months
    assert months == 12 and created["valid_until"] == (anniversary - timedelta(days=1)).isoformat()
    groups = {g["key"]: g for g in created["indicators"]["groups"]}
    legal = {i["key"]: i for i in groups["legal"]["indicators"]}
    assert legal["remaining_term"]["source"] == "patent_fact"
    assert 16 < D(legal["remaining_term"]["figures"]["remaining_years"]) < 18
    assert {i["key"]: i["source"] for i in groups["technical"]["indicators"]}["advancement"] \
        == "request"
    assert created["indicators"]["scenario"] == "pledge_financing"
    assert all(i["weight"] for g in groups.values() for i in g["indicators"])

    # read back: a bank, the owner enterprise; not another enterprise
    got = await stack.financing.get(f"/v1/valuations/{vid}", headers=BANK)
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    assert {k: v for k, v in got.json().items()} == {k: v for k, v in created.items()
                                                     if k != "_headers"}
    owner = await stack.financing.get(f"/v1/patents/{number}/valuations",
                                      headers=auth("enterprise", uscc))
    assert owner.status_code == 200 and [v["id"] for v in owner.json()["items"]] == [vid]
    other = await stack.financing.get(f"/v1/valuations/{vid}",
                                      headers=auth("enterprise", make_uscc()))
    assert other.status_code == 403

    # the event, keyed by the owner, and the whitelist entry showing the valuation
    records = await read_topic(broker.bootstrap, "financing.loan.v1", until=lambda rs: any(
        r.key == uscc.encode() and header(r, "ce_type") == "valuation.completed" for r in rs))
    event = json.loads(next(r.value for r in records if r.key == uscc.encode()
                            and header(r, "ce_type") == "valuation.completed"))
    assert (event["kind"], event["valuation_id"], event["value_cny"]) == (
        "valuation", vid, created["value_cny"])
    entry = await wait_entry(stack, uscc, lambda e: e["listed"] and any(
        (p.get("valuation") or {}).get("valuation_id") == vid for p in e["pledgeable_patents"]))
    shown = entry["pledgeable_patents"][0]["valuation"]
    assert shown["value_cny"] == created["value_cny"]


async def test_projection_beyond_the_legal_term_is_truncated_and_said_so(stack):
    uscc = await new_sme(stack)
    today = today_cn()
    filing = date(today.year - 8, 3, 10)  # a utility model: 10-year term, ~2 years left
    number = await new_patent(stack, uscc, number=application_no(filing.year, kind="2"),
                              filing_date=filing)
    sales = ["1000000"] * 6
    created = await value(stack, {
        "application_no": number, "purpose": "licensing",
        "income": {"variant": "profit_split", "profits_cny": sales, "profit_split": "0.25",
                   "discount_rate": "0.1"}})
    ends = date.fromisoformat(created["facts"]["term_ends_on"])
    assert ends == date(filing.year + 10, 3, 10)
    # shares of each year inside the term, counted independently
    shares, start = [], today
    for _ in sales:
        try:
            nxt = start.replace(year=start.year + 1)
        except ValueError:
            nxt = start.replace(year=start.year + 1, day=28)
        inside = max(0, min((ends - start).days, (nxt - start).days))
        shares.append(Fraction(inside, (nxt - start).days))
        start = nxt
    assert shares[-1] == 0 and sum(shares) < 3
    expected = discounted([1_000_000] * 6, Fraction(1, 4), Fraction(1, 10), shares)
    assert created["value_cny"] == money(expected)
    life = next(a["text"] for a in created["assumptions"] if a["key"] == "economic_life")
    assert "exceeds the patent's remaining legal term" in life and "dropped" in life
    assert created["methods"][0]["lines"][-1]["share_of_year"] == "0.000000"
    # a single method: the range is the pack's spread
    spread = Fraction(str(pack().data.spread.single_method))
    assert created["low_cny"] == money(expected * (1 - spread))
    assert created["high_cny"] == money(expected * (1 + spread))


async def test_designs_unknown_ungranted_and_lapsed_patents_are_refused(stack):
    uscc = await new_sme(stack)
    body = {"purpose": "pledge_financing", "income": RELIEF}

    unknown = await stack.financing.post(
        "/v1/valuations", json=body | {"application_no": application_no()}, headers=IP_OFFICE)
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("patent-not-known")
    assert problem(unknown.json()) == ("application_no", "patent.known")

    filing = date(today_cn().year - 2, 5, 6)
    design = await new_patent(stack, uscc, number=application_no(filing.year, kind="3"),
                              filing_date=filing, ipc_codes=[], locarno_class="14-02")
    resp = await value(stack, body | {"application_no": design}, status=422)
    assert problem(resp) == ("application_no", "patent.kind_not_covered")
    assert "GB/T 42748-2023" in resp["detail"]

    pending = await new_patent(stack, uscc, granted=False)
    resp = await value(stack, body | {"application_no": pending}, status=422)
    assert problem(resp) == ("application_no", "patent.not_granted")

    lapsed = await new_patent(stack, uscc, status="lapsed",
                              status_date=(today_cn() - timedelta(days=40)).isoformat())
    resp = await value(stack, body | {"application_no": lapsed}, status=422)
    assert problem(resp) == ("application_no", "patent.not_in_force")


async def test_nonsense_inputs_are_refused_naming_field_and_rule(stack):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    base = {"application_no": number, "purpose": "pledge_financing"}
    cases = [
        ({"income": RELIEF | {"sales_cny": ["100", "-1"]}}, "income.sales_cny.1",
         "amount.non_negative"),
        ({"income": RELIEF | {"sales_cny": []}}, "income.sales_cny", "projection.not_empty"),
        ({"income": RELIEF | {"royalty_rate": "1.5"}}, "income.royalty_rate", "rate.range"),
        ({"income": RELIEF | {"tax_rate": "-0.1"}}, "income.tax_rate", "rate.range"),
        ({"income": RELIEF | {"discount_rate": "-1"}}, "income.discount_rate",
         "discount_rate.above_minus_one"),
        ({"cost": COST | {"obsolescence_rate": "2"}}, "cost.obsolescence_rate", "rate.range"),
        ({"cost": COST | {"replacement_cost_cny": "-5"}}, "cost.replacement_cost_cny",
         "amount.non_negative"),
        ({}, "income", "inputs.at_least_one_method"),
        ({"income": RELIEF,
          "valuation_date": (today_cn() + timedelta(days=1)).isoformat()},
         "valuation_date", "valuation_date.not_in_future"),
        ({"income": RELIEF, "indicators": {"technical": {"advancement": "101"}}},
         "indicators.technical.advancement", "indicator.score_range"),
        ({"income": RELIEF, "market": {"use_recorded": False, "comparables": [
            {"reference": "x", "price_cny": "100", "factors": {"time": "0"}}]}},
         "market.comparables.0.factors.time", "factor.range"),
    ]
    for extra, field, rule in cases:
        resp = await stack.financing.post("/v1/valuations", json=base | extra, headers=IP_OFFICE)
        assert resp.status_code == 422, (extra, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert problem(resp.json()) == (field, rule), extra
    # more years than the remaining life is not an error
    long = await value(stack, base | {"income": RELIEF | {"sales_cny": ["1000000"] * 40}})
    assert long["methods"][0]["figures"]["years_projected"] == 40
    # only an IP office / appraiser or a bank values
    denied = await stack.financing.post("/v1/valuations", json=base | {"income": RELIEF},
                                        headers=auth("enterprise", uscc))
    assert denied.status_code == 403


async def test_identical_inputs_give_an_identical_result(stack):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    body = {"application_no": number, "purpose": "licensing",
            "valuation_date": (today_cn() - timedelta(days=3)).isoformat(),
            "income": RELIEF, "cost": COST,
            "market": {"use_recorded": False, "comparables": [
                {"reference": "备案 A", "price_cny": "900000", "factors": {"technology": "1.1"}}]},
            "indicators": {"economic": {"market_share": "55"}}}
    first = await value(stack, body)
    second = await value(stack, body | {"income": RELIEF | {"royalty_rate": "0.030"}})
    volatile = {"id", "created_at", "_headers"}
    assert first["id"] != second["id"]
    assert {k: v for k, v in first.items() if k not in volatile} == \
        {k: v for k, v in second.items() if k not in volatile}
    changed = await value(stack, body | {"income": RELIEF | {"discount_rate": "0.15"}})
    assert changed["inputs_hash"] != first["inputs_hash"]
    assert D(changed["methods"][0]["value_cny"]) < D(first["methods"][0]["value_cny"])

    # a retry with the same Idempotency-Key replays the first response, recorded once
    key = {"Idempotency-Key": str(uuid.uuid4())}
    once = await value(stack, body, headers=IP_OFFICE | key)
    again = await stack.financing.post("/v1/valuations", json=body, headers=IP_OFFICE | key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == once["id"]
    listed = await stack.financing.get(f"/v1/patents/{number}/valuations?limit=2", headers=BANK)
    page = listed.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await stack.financing.get(
        f"/v1/patents/{number}/valuations?cursor={page['next_cursor']}", headers=BANK)
    ids = [v["id"] for v in page["items"]] + [v["id"] for v in rest.json()["items"]]
    assert sorted(ids) == sorted({first["id"], second["id"], changed["id"], once["id"]})
    assert ids[0] == once["id"]  # newest first


def license_event(application: str, ipc: str, *, licensor: str, lump: str | None,
                  rate: str | None = None, kind: str = "invention",
                  license_type: str = "ordinary") -> CloudEvent:
    etype = event_type("license.granted")
    data = {"license_id": str(uuid.uuid4()), "application_no": application,
            "patent_kind": kind, "ipc_codes": [ipc], "license_type": license_type,
            "licensor": {"uscc": licensor, "name": "太原示例大学"},
            "licensee": {"uscc": None, "name": "大同示例科技有限公司", "region_code": "140200"},
            "starts_on": today_cn().isoformat(), "ends_on": None,
            "fee": {"lump_sum_cny": lump, "royalty_rate": rate,
                    "payment_method": "lump_sum" if lump else None},
            "open_license_id": None, "granted_at": datetime.now(UTC).isoformat()}
    return CloudEvent(type="license.granted", source=etype.source, subject=licensor, data=data,
                      dataschema=etype.dataschema, correlationid="corr-" + data["license_id"])


async def handled(app, event_id: str) -> bool:
    async with app.state.sessionmaker() as s:
        return bool(await s.scalar(sa.select(sa.func.count()).select_from(KERNEL.inbox)
                                   .where(KERNEL.inbox.c.event_id == event_id)))


async def comparable(app, license_id: str) -> LicenseComparable | None:
    async with app.state.sessionmaker() as s:
        return await s.get(LicenseComparable, license_id)


async def test_a_granted_licence_becomes_a_comparable_and_a_free_one_is_ignored(stack, broker):
    uscc = await new_sme(stack)
    ipc = random_ipc()
    number = await new_patent(stack, uscc, ipc_codes=[ipc])
    university = make_uscc()
    free = license_event(application_no(), ipc, licensor=university, lump="0.00")
    priced = license_event(application_no(), ipc, licensor=university, lump="800000.00")
    other_kind = license_event(application_no(kind="2"), ipc, licensor=university,
                               lump="200000.00", kind="utility_model")
    royalty_only = license_event(application_no(), ipc, licensor=university, lump=None,
                                 rate="0.05")
    elsewhere = license_event(application_no(), random_ipc(), licensor=university,
                              lump="100.00")
    # one key: one partition, handled in this order
    await produce(broker.bootstrap, "matching.license.v1", [
        (university.encode(), e.body(), e.headers())
        for e in (free, priced, other_kind, royalty_only, elsewhere)])
    app = stack.financing_app
    await wait_async(lambda: handled(app, elsewhere.id))
    assert await handled(app, free.id) and await comparable(app, free.data["license_id"]) is None
    assert (await comparable(app, priced.data["license_id"])).ipc_subclass == ipc[:4]
    # the same licence published again (a new event): recorded once, no failure
    again = CloudEvent(type=priced.type, source=priced.source, subject=priced.subject,
                       data=priced.data | {"fee": priced.data["fee"] | {"lump_sum_cny": "1.00"}},
                       dataschema=priced.dataschema, correlationid=priced.correlationid)
    assert again.id != priced.id
    await produce(broker.bootstrap, "matching.license.v1",
                  [(university.encode(), again.body(), again.headers())])
    await wait_async(lambda: handled(app, again.id))
    assert (await comparable(app, priced.data["license_id"])).lump_sum_cny == D("800000.00")

    body = {"application_no": number, "purpose": "pledge_financing",
            "market": {"factors": {"region": "0.9"}}}
    created = await value(stack, body)
    used = [c["license_id"] for c in created["comparables"]]
    assert used == [priced.data["license_id"], other_kind.data["license_id"]]  # same kind first
    assert free.data["license_id"] not in used
    assert created["comparables"][0]["source"] == "license.granted"
    assert created["comparables"][0]["adjusted_price_cny"] == "720000.00"
    assert created["comparables"][0]["factor_sources"]["region"] == "request"
    assert created["method"] == "market_comparables"
    assert created["value_cny"] == money((Fraction(800_000) + Fraction(200_000))
                                         * Fraction(9, 10) / 2)
    notes = " ".join(a["text"] for a in created["assumptions"])
    assert ipc[:4] in notes and "1 recorded licence(s)" in notes  # the royalty-only one

    # the next valuation of a patent in another subclass finds none
    lonely = await new_patent(stack, uscc, ipc_codes=[random_ipc()])
    resp = await value(stack, body | {"application_no": lonely}, status=422)
    assert problem(resp) == ("market.comparables", "market.no_comparables")


async def test_banks_record_their_own_valuation_beside_ours(stack, broker):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    created = await value(stack, {"application_no": number, "purpose": "pledge_financing",
                                  "cost": COST}, headers=BANK)
    assert created["requester_department"] == "bank"
    vid = created["id"]
    url = f"/v1/valuations/{vid}/bank-assessments"
    assessment = {"value_cny": "1050000.00", "method": "income",
                  "valued_on": today_cn().isoformat(), "notes": "本行内部评估（试点）"}

    other_bank = auth("bank", "BANK002")
    resp = await stack.financing.post(url, json=assessment, headers=other_bank)
    assert resp.status_code == 201, resp.text
    recorded = resp.json()
    assert recorded["bank_code"] == "BANK002" and recorded["value_cny"] == "1050000.00"
    assert resp.headers["location"] == f"{url}/{recorded['id']}"

    again = await stack.financing.post(url, json=assessment, headers=other_bank)
    assert again.status_code == 409
    assert again.json()["type"].endswith("bank-assessment-exists")
    for department in ("market_regulation", "enterprise"):
        denied = await stack.financing.post(url, json=assessment,
                                            headers=auth(department, uscc))
        assert denied.status_code == 403
    bad = await stack.financing.post(url, json=assessment | {"value_cny": "-1"},
                                     headers=auth("bank", "BANK003"))
    assert bad.status_code == 422 and problem(bad.json()) == ("value_cny", "amount.non_negative")

    read = await stack.financing.get(f"/v1/valuations/{vid}", headers=other_bank)
    assert read.headers["etag"] == '"2"'
    assert [(a["bank_code"], a["value_cny"]) for a in read.json()["bank_assessments"]] == [
        ("BANK002", "1050000.00")]
    assert read.json()["value_cny"] == created["value_cny"] == "1170000.00"
    # a bank's internal figure is not shown to another bank; regulators see it
    assert (await stack.financing.get(f"/v1/valuations/{vid}", headers=BANK)
            ).json()["bank_assessments"] == []
    assert (await stack.financing.get(f"{url}/{recorded['id']}", headers=BANK)).status_code == 404
    regulator = await stack.financing.get(f"/v1/valuations/{vid}", headers=auth("nfra"))
    assert [a["bank_code"] for a in regulator.json()["bank_assessments"]] == ["BANK002"]

    records = await read_topic(broker.bootstrap, "financing.loan.v1", until=lambda rs: any(
        header(r, "ce_type") == "valuation.completed"
        and json.loads(r.value).get("kind") == "bank_internal"
        and json.loads(r.value)["valuation_id"] == vid for r in rs))
    internal = [json.loads(r.value) for r in records
                if header(r, "ce_type") == "valuation.completed"
                and json.loads(r.value)["valuation_id"] == vid
                and json.loads(r.value)["kind"] == "bank_internal"]
    assert internal[0]["bank_code"] == "BANK002" and internal[0]["value_cny"] == "1050000.00"


async def test_latest_valuation_is_by_valuation_date_then_recorded_time(stack):
    """What the whitelist and the pledge cap read: back-dating does not replace a newer one, a
    bank's own valuation never counts."""
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    today = today_cn()
    current = await value(stack, {"application_no": number, "purpose": "pledge_financing",
                                  "cost": COST})
    await stack.financing.post(f"/v1/valuations/{current['id']}/bank-assessments",
                               json={"value_cny": "1.00", "method": "other",
                                     "valued_on": today.isoformat()}, headers=BANK)
    older = await value(stack, {"application_no": number, "purpose": "pledge_financing",
                                "valuation_date": (today - timedelta(days=30)).isoformat(),
                                "cost": COST | {"obsolescence_rate": "0.5"}})
    assert older["value_cny"] == "900000.00"

    async def latest() -> dict:
        async with stack.financing_app.state.sessionmaker() as s:
            return await latest_for(s, [number, application_no()])

    found = await latest()
    assert list(found) == [number]
    assert found[number] == {
        "valuation_id": current["id"], "value_cny": D("1170000.00"),
        "low_cny": D(current["low_cny"]), "high_cny": D(current["high_cny"]),
        "method": "cost_obsolescence", "valued_on": today,
        "valid_until": date.fromisoformat(current["valid_until"])}
    # a licensing valuation is not a pledge valuation
    await value(stack, {"application_no": number, "purpose": "licensing",
                        "cost": COST | {"obsolescence_rate": "0.4"}})
    assert (await latest())[number]["valuation_id"] == current["id"]
    # a bank's own valuation counts only for that bank's loans, never for others or the list
    banks = await value(stack, {"application_no": number, "purpose": "pledge_financing",
                                "cost": COST | {"obsolescence_rate": "0.1"}}, headers=BANK)
    assert (await latest())[number]["valuation_id"] == current["id"]
    async with stack.financing_app.state.sessionmaker() as s:
        assert (await latest_for(s, [number], lender="BANK001"))[number]["valuation_id"] \
            == banks["id"]
        assert (await latest_for(s, [number], lender="BANK002"))[number]["valuation_id"] \
            == current["id"]
    newest = await value(stack, {"application_no": number, "purpose": "pledge_financing",
                                 "cost": COST | {"obsolescence_rate": "0.4"}})
    assert (await latest())[number]["valuation_id"] == newest["id"]


async def test_migration_matches_the_models(db_url):
    url = db_url("financing")
    await asyncio.to_thread(upgrade, "financing", url)
    service_metadata("financing")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata))
    finally:
        await engine.dispose()
    mine = [d for d in diffs if "valuation" in repr(d)]
    assert mine == []


async def test_inputs_that_explode_the_value_are_422_not_500(stack):
    uscc = await new_sme(stack)
    number = await new_patent(stack, uscc)
    huge = {"variant": "relief_from_royalty", "sales_cny": ["1000000000000000"] * 20,
            "royalty_rate": "1", "tax_rate": "0", "discount_rate": "-0.9999"}
    resp = await stack.financing.post("/v1/valuations", headers=IP_OFFICE, json={
        "application_no": number, "purpose": "pledge_financing", "income": huge})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["rule"] in ("value.out_of_range", "value.max")
    big = huge | {"discount_rate": "-0.5"}
    resp = await stack.financing.post("/v1/valuations", headers=IP_OFFICE, json={
        "application_no": number, "purpose": "pledge_financing", "income": big})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0] == resp.json()["errors"][0] | {"field": "income",
                                                                    "rule": "value.max"}
