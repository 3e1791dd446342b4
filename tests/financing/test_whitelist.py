"""The pledge-financing whitelist, driven only by what departments do at the registry: the
entries, their tiers and bases, the events a bank receives, and the API a bank polls."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from shared.db import today_cn
from shared.events.catalogue import event_type
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.financing.helpers import new_patent, new_sme, wait_entry, whitelisted_sme
from tests.harness import auth
from tests.kafka_utils import header, produce, read_topic

pytestmark = pytest.mark.asyncio
TOPIC = "financing.whitelist.v1"


async def whitelist_events(broker, uscc: str, count: int) -> list[tuple[str, dict]]:
    """(type, payload) of the whitelist events about ``uscc``, once ``count`` have arrived."""
    def mine(records):
        return [r for r in records if r.key == uscc.encode()]
    records = await read_topic(broker.bootstrap, TOPIC, until=lambda rs: len(mine(rs)) >= count)
    return [(header(r, "ce_type"), json.loads(r.value)) for r in mine(records)]


def rule(entry: dict, name: str) -> dict:
    return next(r for r in entry["basis"]["rules"] if r["rule"] == name)


async def grant(stack, uscc: str, kind: str, department: str, **body) -> dict:
    body = {"kind": kind, "certificate_no": f"C-{kind}-{uscc[-6:]}",
            "valid_from": (today_cn() - timedelta(days=30)).isoformat(),
            "valid_to": (today_cn() + timedelta(days=700)).isoformat(),
            "issuing_body": "山西省主管部门"} | body
    resp = await stack.registry.post(f"/v1/enterprises/{uscc}/qualifications", json=body,
                                     headers=auth(department))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_an_sme_with_a_granted_invention_is_listed_with_its_basis(stack, broker):
    uscc, (number,) = await whitelisted_sme(stack)
    entry = await wait_entry(stack, uscc)
    assert entry["tier"]["code"] == "eligible" and entry["tier"]["rank"] == 5
    assert [p["application_no"] for p in entry["pledgeable_patents"]] == [number]
    assert entry["pledgeable_patents"][0]["valuation"] is None
    assert entry["basis"]["failed"] == []
    assert {r["rule"] for r in entry["basis"]["rules"]} == {
        "enterprise.known", "size.sme", "patents.pledgeable", "credit.no_active_flag"}
    assert rule(entry, "size.sme")["figures"]["size_class"] == "small"
    assert rule(entry, "patents.pledgeable")["figures"]["pledgeable"] == 1
    assert "工信部联企业〔2011〕300号" in rule(entry, "size.sme")["clause"]["document"]
    assert entry["basis"]["pack"] == "whitelist@v1" and entry["listed_since"] == today_cn().isoformat()

    (kind, payload), = await whitelist_events(broker, uscc, 1)
    assert kind == "whitelist.entry_added"
    assert payload["revision"] == 1 and payload["listed"] is True
    assert payload["pledgeable_patents"] == entry["pledgeable_patents"]


async def test_a_large_enterprise_is_evaluated_but_not_listed_and_nothing_is_published(stack):
    uscc = await new_sme(stack, employees=5000, revenue_10k_cny="900000")
    await new_patent(stack, uscc)
    entry = await wait_entry(stack, uscc, lambda e: True)
    assert entry["listed"] is False and entry["tier"] is None
    assert entry["basis"]["failed"] == ["size.sme"]
    assert rule(entry, "size.sme")["figures"]["size_class"] == "large"
    assert entry["revision"] == 0 and entry["pledgeable_patents"] == []
    page = (await stack.financing.get("/v1/whitelist", params={"listed": "false"},
                                      headers=auth("bank", "BANK001"))).json()
    assert uscc in {e["uscc"] for e in page["items"]}


async def test_an_enterprise_without_pledgeable_patents_is_not_listed(stack):
    uscc = await new_sme(stack)
    await new_patent(stack, uscc, granted=False)  # pending application
    design_filing = date(today_cn().year - 2, 1, 5)
    from tests.registry.ip_factories import application_no
    await new_patent(stack, uscc, number=application_no(design_filing.year, kind="3"),
                     filing_date=design_filing, ipc_codes=[])
    entry = await wait_entry(stack, uscc, lambda e: True)
    figures = rule(entry, "patents.pledgeable")["figures"]
    assert entry["listed"] is False and figures["pledgeable"] == 0 and figures["examined"] == 2
    failed = {x["application_no"][4]: x["failed"] for x in figures["excluded"]}
    assert failed["1"] == ["patent.granted_in_force"]
    assert "patent.kind_pledgeable" in failed["3"]


async def test_qualifications_and_the_pool_raise_the_tier_in_priority_order(stack, broker):
    uscc, _ = await whitelisted_sme(stack)
    await grant(stack, uscc, "high_tech", "science_tech")
    entry = await wait_entry(stack, uscc, lambda e: e["tier"]["code"] == "high_tech")
    await grant(stack, uscc, "zjtx_sme", "miit")
    entry = await wait_entry(stack, uscc, lambda e: e["tier"]["code"] == "little_giant_or_srdi")
    await grant(stack, uscc, "quality_private", "private_economy")
    entry = await wait_entry(stack, uscc, lambda e: e["tier"]["code"] == "quality_private")
    assert entry["tier"]["clause"]["clause"] == "第9条"
    assert entry["tier"]["evidence"]["kind"] == "quality_private"

    # The registry's pool (issue 7) publishes pool.admitted; financing reacts to the event.
    etype = event_type("pool.admitted")
    admitted = CloudEvent(type=etype.type, source=etype.source, subject=uscc,
                          dataschema=etype.dataschema,
                          data={"uscc": uscc, "province_code": "14",
                                "admitted_on": today_cn().isoformat(), "revision": 1})
    await produce(broker.bootstrap, "registry.enterprise.v1",
                  [(uscc.encode(), admitted.body(), admitted.headers())])
    entry = await wait_entry(stack, uscc, lambda e: e["tier"]["code"] == "cultivation_pool")
    assert entry["tier"]["rank"] == 1
    assert "面向银行业金融机构推送入库企业名单" in entry["tier"]["clause"]["text"]

    events = await whitelist_events(broker, uscc, 5)
    assert [t for t, _ in events] == ["whitelist.entry_added"] + ["whitelist.entry_updated"] * 4
    assert [p["revision"] for _, p in events] == [1, 2, 3, 4, 5]
    assert [p["tier"]["code"] for _, p in events] == [
        "eligible", "high_tech", "little_giant_or_srdi", "quality_private", "cultivation_pool"]


async def test_a_credit_flag_removes_the_entry_and_clearing_it_restores_it(stack, broker):
    uscc, _ = await whitelisted_sme(stack)
    flag = {"uscc": uscc, "kind": "data_fraud", "source": "信用中国（山西）",
            "reference": "晋信〔2026〕7号", "flagged_on": today_cn().isoformat()}
    resp = await stack.registry.post("/v1/credit-flags", json=flag, headers=auth("credit"))
    assert resp.status_code == 201, resp.text
    entry = await wait_entry(stack, uscc, lambda e: not e["listed"])
    assert entry["basis"]["failed"] == ["credit.no_active_flag"]
    flagged = rule(entry, "credit.no_active_flag")["figures"]["active_flags"]
    assert flagged == [{"flag_id": resp.json()["id"], "kind": "data_fraud",
                        "reference": "晋信〔2026〕7号"}]
    assert entry["pledgeable_patents"] == [] and entry["tier"] is None

    clear = await stack.registry.post(f"/v1/credit-flags/{resp.json()['id']}/clearance",
                                      json={"reason": "行政复议撤销"}, headers=auth("credit"))
    assert clear.status_code == 200, clear.text
    await wait_entry(stack, uscc, lambda e: e["listed"])
    events = await whitelist_events(broker, uscc, 3)
    assert [t for t, _ in events] == ["whitelist.entry_added", "whitelist.entry_removed",
                                      "whitelist.entry_added"]
    removed = events[1][1]
    assert removed["listed"] is False and removed["basis"]["failed"] == ["credit.no_active_flag"]
    assert removed["basis"]["cause"] == "creditflag.raised"


async def test_a_lapsed_patent_drops_out_and_the_entry_is_removed(stack, broker):
    uscc, (number,) = await whitelisted_sme(stack)
    resp = await stack.registry.patch(
        f"/v1/patents/{number}", json={"status": "invalidated", "status_date":
                                       today_cn().isoformat(), "status_reason": "无效宣告"},
        headers={**auth(), "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    entry = await wait_entry(stack, uscc, lambda e: not e["listed"])
    excluded = rule(entry, "patents.pledgeable")["figures"]["excluded"]
    assert excluded == [{"application_no": number, "failed": ["patent.granted_in_force"]}]


async def test_a_co_owned_patent_counts_only_with_every_co_owners_consent(stack):
    uscc = await new_sme(stack)
    partner = make_uscc()
    await new_patent(stack, uscc, owners=[
        {"uscc": uscc, "name": "甲公司", "share": "60"},
        {"uscc": partner, "name": "乙公司", "share": "30"},
        {"uscc": None, "name": "张三", "share": "10", "country": "CN"}])
    entry = await wait_entry(stack, uscc, lambda e: True)
    excluded = rule(entry, "patents.pledgeable")["figures"]["excluded"]
    assert entry["listed"] is False and excluded[0]["failed"] == ["patent.co_owners_consented"]


async def test_bank_polling_with_cursor_and_etag(stack):
    usccs = sorted([(await whitelisted_sme(stack))[0] for _ in range(3)])
    headers = auth("bank", "BANK001")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await stack.financing.get("/v1/whitelist", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        seen += [e["uscc"] for e in resp.json()["items"]]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and set(usccs) <= set(seen)

    first = await stack.financing.get("/v1/whitelist", params={"limit": 500}, headers=headers)
    etag = first.headers["etag"]
    again = await stack.financing.get("/v1/whitelist", params={"limit": 500},
                                      headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    await grant(stack, usccs[0], "high_tech", "science_tech")
    await wait_entry(stack, usccs[0], lambda e: e["tier"]["code"] == "high_tech")
    changed = await stack.financing.get("/v1/whitelist", params={"limit": 500},
                                        headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag

    only = await stack.financing.get("/v1/whitelist", params={"tier": "high_tech"},
                                     headers=headers)
    assert usccs[0] in {e["uscc"] for e in only.json()["items"]}
    assert {e["tier"]["code"] for e in only.json()["items"]} == {"high_tech"}


async def test_who_may_read_the_whitelist(stack):
    uscc, _ = await whitelisted_sme(stack)
    other = make_uscc()
    path = f"/v1/whitelist/{uscc}"
    assert (await stack.financing.get(path)).status_code == 401
    for department in ("bank", "pboc", "nfra", "market_regulation", "auditor"):
        assert (await stack.financing.get(path, headers=auth(department, "X"))).status_code == 200
    assert (await stack.financing.get(path, headers=auth("enterprise", uscc))).status_code == 200
    resp = await stack.financing.get(path, headers=auth("enterprise", other))
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await stack.financing.get("/v1/whitelist",
                                      headers=auth("enterprise", uscc))).status_code == 403
    bad = await stack.financing.get("/v1/whitelist/91140200MA0XXXXXX1", headers=auth("bank"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "path.uscc"


async def test_flow1_miit_grants_srdi_to_an_sme_without_figures_and_it_is_added(stack, broker):
    """ARCHITECTURE flow 1: MIIT grants 专精特新 → qualification.granted → financing
    re-evaluates → whitelist.entry_added (the qualification is the SME evidence)."""
    uscc = await new_sme(stack, employees=None, revenue_10k_cny=None, figures_year=None)
    await new_patent(stack, uscc)
    entry = await wait_entry(stack, uscc, lambda e: True)
    assert entry["listed"] is False and entry["basis"]["failed"] == ["size.sme"]
    await grant(stack, uscc, "zjtx_sme", "miit")
    entry = await wait_entry(stack, uscc)
    assert entry["tier"]["code"] == "little_giant_or_srdi"
    assert rule(entry, "size.sme")["figures"]["sme_evidence"]["kind"] == "zjtx_sme"
    (kind, payload), = await whitelist_events(broker, uscc, 1)
    assert kind == "whitelist.entry_added" and payload["basis"]["cause"] == "qualification.granted"


async def test_a_new_pack_version_re_decides_the_entries_it_changes(stack, tmp_path):
    """A pack change is a file: the sweep re-evaluates entries decided by the old version and
    publishes what changed; a second sweep finds nothing to do."""
    from services.financing.whitelist import packs
    from services.financing.whitelist.service import reevaluate_all

    uscc, _ = await whitelisted_sme(stack)
    text = (packs.PACK_DIR / "whitelist-2024.yaml").read_text(encoding="utf-8")
    v2 = text.replace("version: 1", "version: 2").replace("min_pledgeable_patents: 1",
                                                          "min_pledgeable_patents: 2")
    (tmp_path / "whitelist-2024.yaml").write_text(v2, encoding="utf-8")
    original = packs.PACK_DIR
    packs.PACK_DIR = tmp_path
    packs.packs.cache_clear()
    try:
        factory = stack.financing_app.state.sessionmaker
        counts = await reevaluate_all(factory, cause="pack:whitelist@v2", only_stale_pack=True)
        assert counts == {"evaluated": 1, "published": 1}
        entry = await wait_entry(stack, uscc, lambda e: True)
        assert entry["listed"] is False and entry["pack"] == "whitelist@v2"
        assert rule(entry, "patents.pledgeable")["figures"]["required"] == 2
        assert entry["basis"]["cause"] == "pack:whitelist@v2"
        assert await reevaluate_all(factory, cause="again", only_stale_pack=True) == {
            "evaluated": 0, "published": 0}
    finally:
        packs.PACK_DIR = original
        packs.packs.cache_clear()


async def test_the_ops_command_re_evaluates_everything_and_changes_nothing_unchanged(stack):
    import asyncio
    import os
    import sys

    from shared.config import REPO_ROOT

    uscc, _ = await whitelisted_sme(stack)
    before = await wait_entry(stack, uscc)
    env = {**os.environ,
           "FINANCING_DATABASE_URL": stack.financing_app.state.settings.database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.financing", "whitelist", "reevaluate", cwd=REPO_ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    counts = json.loads(out.decode().strip().splitlines()[-1])
    assert counts["evaluated"] >= 1 and counts["published"] == 0
    after = await wait_entry(stack, uscc)
    assert after["revision"] == before["revision"] == 1


async def test_a_changed_since_without_offset_is_422(stack):
    resp = await stack.financing.get("/v1/whitelist", params={
        "changed_since": "2026-01-01T00:00:00"}, headers=auth("bank", "BANK001"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0] == resp.json()["errors"][0] | {
        "field": "query.changed_since", "rule": "datetime.offset_required"}
