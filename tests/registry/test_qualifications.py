"""Registry qualifications: grants by the issuing department with pack defaults and basis,
renewal, revocation, the expiry sweep and its events (SQLite and PostgreSQL, real broker)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.registry.db import KERNEL, Base
from services.registry.qualifications import service as qualification_service
from services.registry.qualifications.rules import QualificationKind, add_years_minus_one_day
from shared.events.catalogue import validate_payload
from shared.migrate import upgrade
from shared.policy import PolicyPackError
from tests.factories import enterprise_body, make_uscc
from tests.harness import auth
from tests.kafka_utils import header, read_topic

#: The service's clock in these tests: after the 2026 pack took effect (2026-04-01).
TODAY = date(2026, 11, 23)

#: Kind → (department, default level, default years or None, name under the 2026 pack).
KINDS = {
    "innovative_sme": ("miit", "provincial", 3, "科技和创新型中小企业"),
    "zjtx_sme": ("miit", "provincial", 3, "专精特新中小企业"),
    "little_giant": ("miit", "national", 3, "专精特新“小巨人”企业"),
    "single_champion": ("miit", "national", 3, "制造业单项冠军企业"),
    "high_tech": ("science_tech", "national", 3, "高新技术企业"),
    "quality_private": ("private_economy", "provincial", None, "优质民营企业"),
    "ip_advantage": ("market_regulation", "national", 3, "知识产权优势企业"),
    "ip_demonstration": ("market_regulation", "national", 3, "知识产权示范企业"),
}


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Pin the service's "today" (China) so date rules do not drift with the calendar (every
    test here: the dates in the bodies are written against this day)."""
    monkeypatch.setattr(qualification_service, "today_cn", lambda: TODAY)
    return TODAY


async def new_enterprise(client) -> str:
    body = enterprise_body()
    resp = await client.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    return body["uscc"]


async def grant(client, uscc: str, department: str, **body):
    return await client.post(f"/v1/enterprises/{uscc}/qualifications", json=body,
                             headers=auth(department))


def problem_fields(resp) -> list[dict]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return [{"field": e["field"], "rule": e["rule"]} for e in resp.json().get("errors", [])]


async def outbox_events(app, event_type: str, key: str) -> list[dict]:
    outbox = KERNEL.outbox
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.event_type == event_type, outbox.c.message_key == key))).all()
    return [json.loads(r.payload) for r in rows]


async def records_of(broker, uscc: str, ce_type: str, count: int = 1) -> list:
    def enough(rs):
        return len([r for r in rs if r.key == uscc.encode()
                    and header(r, "ce_type") == ce_type]) >= count
    records = await read_topic(broker.bootstrap, "registry.enterprise.v1", until=enough)
    return [r for r in records if r.key == uscc.encode() and header(r, "ce_type") == ce_type]


# --- pure rules and packs (no database) ----------------------------------------------------------

@pytest.mark.parametrize("start, years, end", [
    (date(2025, 6, 1), 3, date(2028, 5, 31)),
    (date(2026, 1, 1), 3, date(2028, 12, 31)),
    (date(2024, 2, 29), 3, date(2027, 2, 28)),   # no 29 Feb in 2027: ends on 28 Feb
    (date(2024, 2, 29), 4, date(2028, 2, 28)),   # leap anniversary exists: ends the day before
    (date(2026, 3, 1), 1, date(2027, 2, 28)),
])
def test_validity_ends_the_day_before_the_anniversary(start, years, end):
    assert add_years_minus_one_day(start, years) == end


def test_packs_pick_the_regime_by_date_and_map_each_kind_to_its_department():
    packs = qualification_service.load_packs()
    assert packs.in_force(date(2026, 3, 31)).id == "qualifications-2022"
    assert packs.in_force(date(2026, 4, 1)).id == "qualifications-2026"
    with pytest.raises(LookupError):
        packs.in_force(date(2022, 5, 31))
    for pack in packs.packs:
        for kind, (department, level, years, _) in KINDS.items():
            rule = pack.data.kinds[QualificationKind(kind)]
            assert (rule.issuing_department, rule.default_level.value, rule.validity_years) == (
                department, level, years), (pack.id, kind)
            assert rule.sources and all(s.clause for s in rule.sources)
    # RULES.md §7.1: only the 2022 专精特新中小企业 validity is [S]; the 2026 figures are not
    # confirmed, so they are applied but flagged.
    assert packs.in_force(date(2025, 1, 1)).data.kinds[QualificationKind.zjtx_sme].verified
    assert not packs.in_force(date(2026, 5, 1)).data.kinds[QualificationKind.zjtx_sme].verified
    assert packs.in_force(date(2025, 1, 1)).data.kinds[
        QualificationKind.innovative_sme].name_zh == "创新型中小企业"


def _write_pack(directory, name, body):
    (directory / name).write_text(textwrap.dedent(body), encoding="utf-8")


def _good_pack_text(effective_from="2022-06-01", effective_to="2026-03-31", drop=None):
    """The real 2022 pack with other dates, or without one kind's block."""
    real = (qualification_service.PACK_DIR / "qualifications-2022.yaml").read_text(encoding="utf-8")
    text = real.replace("effective_from: 2022-06-01", f"effective_from: {effective_from}")
    text = text.replace("effective_to: 2026-03-31",
                        f"effective_to: {effective_to}" if effective_to else "")
    if drop is None:
        return text
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line == f"    {drop}:\n":
            skipping = True
        elif skipping and not line.startswith("      "):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def test_a_bad_pack_stops_loading_with_the_file_named(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    _write_pack(bad, "qualifications-2022.yaml", _good_pack_text(drop="high_tech"))
    with pytest.raises(PolicyPackError,
                       match=r"qualifications-2022\.yaml: .*kinds missing: high_tech"):
        qualification_service.load_packs(bad)

    wrong_department = tmp_path / "dept"
    wrong_department.mkdir()
    _write_pack(wrong_department, "qualifications-2030.yaml",
                _good_pack_text().replace("issuing_department: science_tech",
                                          "issuing_department: tax_bureau"))
    with pytest.raises(PolicyPackError, match=r"qualifications-2030\.yaml: .*tax_bureau"):
        qualification_service.load_packs(wrong_department)

    overlap = tmp_path / "overlap"
    overlap.mkdir()
    _write_pack(overlap, "qualifications-a.yaml", _good_pack_text())
    _write_pack(overlap, "qualifications-b.yaml",
                _good_pack_text(effective_from="2026-01-01", effective_to=None))
    with pytest.raises(PolicyPackError,
                       match=r"qualifications-b\.yaml: .*overlaps qualifications-a"):
        qualification_service.load_packs(overlap)

    broken = tmp_path / "broken"
    broken.mkdir()
    _write_pack(broken, "qualifications-x.yaml", "id: [unclosed\n")
    with pytest.raises(PolicyPackError, match=r"qualifications-x\.yaml: cannot read"):
        qualification_service.load_packs(broken)


# --- schema ------------------------------------------------------------------------------------

async def test_models_match_the_migration(db_url):
    """What `alembic check` would say about this domain's tables after `upgrade heads`."""
    from sqlalchemy.ext.asyncio import create_async_engine

    import services.registry.creditflags.models  # noqa: F401 - register the tables
    import services.registry.qualifications.models  # noqa: F401

    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata))
    finally:
        await engine.dispose()
    mine = [d for d in diffs if "qualifications" in repr(d) or "credit_flags" in repr(d)]
    assert mine == []


# --- grants ------------------------------------------------------------------------------------

async def test_each_kind_is_granted_by_its_department_with_pack_defaults(registry_app, broker):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    granted = {}
    for kind, (department, level, years, name_zh) in KINDS.items():
        body = {"kind": kind, "certificate_no": f"c-{kind}", "valid_from": "2026-05-01"}
        resp = await grant(registry, uscc, department, **body)
        if years is None:
            # No source gives a validity period for this kind: the certificate's date is needed.
            assert resp.status_code == 422, resp.text
            assert problem_fields(resp) == [{"field": "valid_to",
                                             "rule": "valid_to.required_without_pack_default"}]
            resp = await grant(registry, uscc, department, **body, valid_to="2027-12-31")
        assert resp.status_code == 201, resp.text
        q = resp.json()
        assert resp.headers["location"] == f"/v1/enterprises/{uscc}/qualifications/{q['id']}"
        expected_to = "2029-04-30" if years else "2027-12-31"
        assert (q["uscc"], q["kind"], q["kind_name_zh"], q["level"], q["issuing_department"],
                q["certificate_no"], q["valid_from"], q["valid_to"], q["status"],
                q["in_force"]) == (
            uscc, kind, name_zh, level, department, f"C-{kind.upper()}", "2026-05-01",
            expected_to, "active", True)
        assert q["issuing_body"]  # the pack's default for the level
        basis = q["basis"]
        assert basis["pack"]["id"] == "qualifications-2026" and basis["pack"]["version"] == 1
        assert basis["pack_chosen_by"] == "in force on valid_from 2026-05-01"
        assert basis["issuing_department"] == {"required": department, "caller": department,
                                               "passed": True}
        assert basis["level"]["source"] == "pack_default"
        assert basis["validity"]["source"] == ("pack_default" if years else "request")
        assert basis["validity"]["rule"] == (
            "valid_to = valid_from + 3 years − 1 day" if years else
            "no default validity in the pack: valid_to taken from the certificate")
        assert basis["sources"] and all(s["clause"] and s["pack"] == "qualifications-2026@v1"
                                        for s in basis["sources"])
        assert basis["verified"] is False  # every 2026 figure is unconfirmed (RULES.md §7.2)
        granted[kind] = q

    listed = await registry.get(f"/v1/enterprises/{uscc}/qualifications", headers=auth("auditor"))
    assert listed.status_code == 200
    assert {q["kind"]: q for q in listed.json()["items"]} == granted

    events = await outbox_events(app, "qualification.granted", uscc)
    assert sorted(e["kind"] for e in events) == sorted(KINDS)
    for event in events:
        validate_payload("qualification.granted", event)
    records = await records_of(broker, uscc, "qualification.granted", count=len(KINDS))
    assert len(records) == len(KINDS)
    high_tech = next(json.loads(r.value) for r in records
                     if json.loads(r.value)["kind"] == "high_tech")
    assert high_tech | {"granted_at": None} == {
        "uscc": uscc, "qualification_id": granted["high_tech"]["id"], "kind": "high_tech",
        "kind_name_zh": "高新技术企业", "level": "national", "issuing_department": "science_tech",
        "issuing_body": granted["high_tech"]["issuing_body"], "certificate_no": "C-HIGH_TECH",
        "valid_from": "2026-05-01", "valid_to": "2029-04-30", "status": "active",
        "renewal_count": 0, "revision": 1, "policy_pack": "qualifications-2026@v1",
        "granted_at": None}


async def test_the_pack_in_force_on_valid_from_decides(registry):
    uscc = await new_enterprise(registry)
    resp = await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="晋2025-001",
                       valid_from="2025-06-01", issuing_body="山西省工业和信息化厅")
    assert resp.status_code == 201, resp.text
    q = resp.json()
    assert (q["valid_to"], q["issuing_body"], q["in_force"]) == (
        "2028-05-31", "山西省工业和信息化厅", True)
    basis = q["basis"]
    assert basis["pack"]["id"] == "qualifications-2022"
    assert basis["verified"] is True and basis["validity"]["verified"] is True
    assert "工信部企业〔2022〕63号" in basis["sources"][0]["document"]
    assert basis["issuing_body"] == {"value": "山西省工业和信息化厅", "source": "request"}
    resp = await grant(registry, uscc, "miit", kind="innovative_sme", certificate_no="I-1",
                       valid_from="2026-03-31")
    assert resp.json()["kind_name_zh"] == "创新型中小企业"  # the 2022 name, a day before 2026-04-01
    # A valid_from in the future is fine; it is not yet in force.
    resp = await grant(registry, uscc, "market_regulation", kind="ip_advantage",
                       certificate_no="IPA-1", valid_from="2027-01-01", level="provincial")
    assert resp.status_code == 201, resp.text
    assert (resp.json()["in_force"], resp.json()["issuing_body"]) == (False, "省级知识产权管理部门")


async def test_an_unverified_validity_can_be_exceeded_with_a_warning(registry):
    """A certificate longer than an unconfirmed pack figure is recorded, and the basis says so;
    beyond a confirmed figure it is refused (next test)."""
    uscc = await new_enterprise(registry)
    resp = await grant(registry, uscc, "miit", kind="little_giant", certificate_no="LG-1",
                       valid_from="2026-05-01", valid_to="2030-04-30")
    assert resp.status_code == 201, resp.text
    validity = resp.json()["basis"]["validity"]
    assert validity["verified"] is False and "unverified" in validity["warnings"][0]
    assert {"rule": "valid_to.within_policy_validity", "passed": False,
            "limit": "2029-04-30"} in validity["checks"]


async def test_wrong_department_is_403_naming_the_allowed_one(registry):
    uscc = await new_enterprise(registry)
    for department, kind, allowed in [("miit", "high_tech", "science_tech"),
                                      ("science_tech", "zjtx_sme", "miit"),
                                      ("market_regulation", "little_giant", "miit"),
                                      ("private_economy", "ip_advantage", "market_regulation"),
                                      ("miit", "quality_private", "private_economy")]:
        resp = await grant(registry, uscc, department, kind=kind, certificate_no="X-1",
                           valid_to="2027-12-31")
        assert resp.status_code == 403, resp.text
        problem = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "urn:ipbridge:problem:not-issuing-department"
        assert problem["allowed_department"] == allowed
        assert problem["required_departments"] == [allowed]
    # No qualifications:write scope at all (credit, enterprise): the generic 403.
    for department in ("credit", "enterprise"):
        resp = await grant(registry, uscc, department, kind="zjtx_sme", certificate_no="X-2")
        assert resp.status_code == 403 and resp.json()["type"] == "urn:ipbridge:problem:forbidden"
    listed = await registry.get(f"/v1/enterprises/{uscc}/qualifications", headers=auth())
    assert listed.json()["items"] == []
    # Revocation and renewal are the issuing department's too.
    q = (await grant(registry, uscc, "science_tech", kind="high_tech", certificate_no="GR1")).json()
    base = f"/v1/enterprises/{uscc}/qualifications/{q['id']}"
    resp = await registry.post(f"{base}/revocation", json={"reason": "测试撤销"}, headers=auth("miit"))
    assert resp.status_code == 403 and resp.json()["allowed_department"] == "science_tech"
    resp = await registry.post(f"{base}/renewal", json={}, headers=auth("market_regulation"))
    assert resp.status_code == 403 and resp.json()["allowed_department"] == "science_tech"


async def test_unknown_enterprise_or_qualification_is_404(registry):
    stranger = make_uscc()
    resp = await grant(registry, stranger, "miit", kind="zjtx_sme", certificate_no="N-1")
    assert resp.status_code == 404, resp.text
    assert resp.json()["type"] == "urn:ipbridge:problem:enterprise-not-found"
    resp = await registry.get(f"/v1/enterprises/{stranger}/qualifications", headers=auth())
    assert resp.status_code == 404
    uscc = await new_enterprise(registry)
    q = (await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="N-2")).json()
    other = await new_enterprise(registry)
    # another enterprise's qualification id is not found under this USCC
    resp = await registry.post(f"/v1/enterprises/{other}/qualifications/{q['id']}/revocation",
                               json={"reason": "错误的企业"}, headers=auth("miit"))
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:ipbridge:problem:qualification-not-found"
    resp = await registry.get(f"/v1/enterprises/{uscc}/qualifications/{q['id']}", headers=auth())
    assert resp.status_code == 200 and resp.headers["etag"] == '"1"'


@pytest.mark.parametrize("department, body, field, rule", [
    ("miit", {"kind": "zjtx_sme", "valid_from": "2026-06-01", "valid_to": "2026-05-31"},
     "valid_to", "valid_to.not_before_valid_from"),
    ("miit", {"kind": "zjtx_sme", "valid_from": "2026-05-01", "valid_to": "2026-11-22"},
     "valid_to", "valid_to.not_in_past"),
    ("miit", {"kind": "zjtx_sme", "valid_from": "2022-05-31", "valid_to": "2027-01-01"},
     "valid_from", "valid_from.no_policy_pack"),
    # 2022 专精特新中小企业: 3 years is a confirmed [S] figure, so a longer certificate is refused
    ("miit", {"kind": "zjtx_sme", "valid_from": "2025-06-01", "valid_to": "2028-06-01"},
     "valid_to", "valid_to.exceeds_policy_validity"),
    ("miit", {"kind": "little_giant", "level": "provincial"}, "level", "level.allowed_for_kind"),
    ("private_economy", {"kind": "quality_private", "level": "municipal", "valid_to": "2027-12-31"},
     "issuing_body", "issuing_body.required"),
    ("miit", {"kind": "zjtx_sme", "certificate_no": "\u200b"}, "certificate_no",
     "certificate_no.printable"),
    ("miit", {"kind": "zjtx_sme", "certificate_no": "  "}, "certificate_no", "string_too_short"),
    ("miit", {"kind": "zjtx_sme", "certificate_no": "㍿" * 20}, "certificate_no",
     "certificate_no.length"),
    ("miit", {"kind": "golden_dragon"}, "kind", "enum"),
    ("miit", {"kind": "zjtx_sme", "valid_from": "2026-02-30"}, "valid_from",
     "date_from_datetime_parsing"),
    ("miit", {"kind": "zjtx_sme", "level": "county"}, "level", "enum"),
    ("miit", {"kind": "zjtx_sme", "score": 61}, "score", "extra_forbidden"),
])
async def test_broken_rules_are_422_naming_field_and_rule(registry, department, body, field, rule):
    uscc = await new_enterprise(registry)
    resp = await grant(registry, uscc, department, **({"certificate_no": "R-1"} | body))
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["type"] == "urn:ipbridge:problem:validation-error"
    assert {"field": field, "rule": rule} in problem_fields(resp), problem
    listed = await registry.get(f"/v1/enterprises/{uscc}/qualifications", headers=auth())
    assert listed.json()["items"] == []


async def test_duplicate_certificate_or_overlapping_grant_is_409(registry):
    a, b = await new_enterprise(registry), await new_enterprise(registry)
    first = await grant(registry, a, "science_tech", kind="high_tech",
                        certificate_no="GR202614000001")
    assert first.status_code == 201
    # the same number, written in full-width lower case, is the same certificate
    for number in ("GR202614000001", "ｇｒ２０２６１４０００００１"):
        resp = await grant(registry, b, "science_tech", kind="high_tech", certificate_no=number)
        assert resp.status_code == 409, resp.text
        assert resp.json()["type"] == "urn:ipbridge:problem:duplicate-certificate"
    # the same number for another kind is another certificate
    resp = await grant(registry, b, "market_regulation", kind="ip_advantage",
                       certificate_no="GR202614000001")
    assert resp.status_code == 201
    # a second active 高新 for the same enterprise over the same period: renew, don't re-grant
    resp = await grant(registry, a, "science_tech", kind="high_tech", certificate_no="GR2",
                       valid_from="2027-01-01")
    assert resp.status_code == 409
    assert resp.json()["type"] == "urn:ipbridge:problem:qualification-already-held"
    assert resp.json()["qualification_id"] == first.json()["id"]


async def test_idempotency_key_replays_the_grant(registry_app):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    path = f"/v1/enterprises/{uscc}/qualifications"
    body = {"kind": "zjtx_sme", "certificate_no": "IDEM-1"}
    headers = {**auth("miit"), "Idempotency-Key": "grant-idem-1"}
    first = await registry.post(path, json=body, headers=headers)
    again = await registry.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(await outbox_events(app, "qualification.granted", uscc)) == 1
    other = await registry.post(path, json=body | {"certificate_no": "IDEM-2"}, headers=headers)
    assert other.status_code == 422 and problem_fields(other) == [
        {"field": "header.Idempotency-Key", "rule": "idempotency_key.reused"}]


# --- renewal -----------------------------------------------------------------------------------

async def test_renewal_extends_validity_per_the_pack_of_the_new_period(registry_app, broker):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    q = (await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="ZJ-2025-7",
                     valid_from="2025-06-01")).json()
    assert (q["valid_to"], q["basis"]["pack"]["id"]) == ("2028-05-31", "qualifications-2022")
    base = f"/v1/enterprises/{uscc}/qualifications/{q['id']}"

    resp = await registry.post(f"{base}/renewal", json={"valid_to": "2028-05-31"},
                               headers=auth("miit"))
    assert resp.status_code == 422 and problem_fields(resp) == [
        {"field": "valid_to", "rule": "valid_to.not_before_valid_from"}]
    resp = await registry.post(f"{base}/renewal", json={"valid_from": "2025-06-01"},
                               headers=auth("miit"))
    assert resp.status_code == 422 and problem_fields(resp) == [
        {"field": "valid_from", "rule": "valid_from.after_current_start"}]

    resp = await registry.post(f"{base}/renewal", json={"certificate_no": "ZJ-2028-7"},
                               headers=auth("miit"))
    assert resp.status_code == 200, resp.text
    renewed = resp.json()
    # the review passed: the next period follows on, 3 years under the pack in force then
    # (the 2026 办法: titles granted under 2022 keep their period, the new rules apply after)
    assert (renewed["id"], renewed["valid_from"], renewed["valid_to"], renewed["renewal_count"],
            renewed["certificate_no"], renewed["status"], renewed["revision"]) == (
        q["id"], "2028-06-01", "2031-05-31", 1, "ZJ-2028-7", "active", 2)
    renewal = renewed["basis"]["renewals"][0]
    assert renewal["pack"]["id"] == "qualifications-2026"
    assert renewal["previous"] == {"valid_from": "2025-06-01", "valid_to": "2028-05-31",
                                   "certificate_no": "ZJ-2025-7", "status": "active"}
    assert renewal["validity"]["rule"] == "valid_to = valid_from + 3 years − 1 day"
    assert renewed["basis"]["pack"]["id"] == "qualifications-2022"  # the grant's basis is kept

    (event,) = await outbox_events(app, "qualification.renewed", uscc)
    validate_payload("qualification.renewed", event)
    assert (event["previous_valid_to"], event["valid_to"], event["policy_pack"]) == (
        "2028-05-31", "2031-05-31", "qualifications-2026@v1")
    (record,) = await records_of(broker, uscc, "qualification.renewed")
    assert json.loads(record.value)["qualification_id"] == q["id"]


async def test_high_tech_is_not_renewed_but_granted_anew(registry):
    uscc = await new_enterprise(registry)
    q = (await grant(registry, uscc, "science_tech", kind="high_tech",
                     certificate_no="GR-A")).json()
    resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications/{q['id']}/renewal",
                               json={}, headers=auth("science_tech"))
    assert resp.status_code == 422 and problem_fields(resp) == [
        {"field": "kind", "rule": "kind.not_renewable"}]


# --- revocation --------------------------------------------------------------------------------

async def test_revocation_with_reason_is_published_keyed_by_the_uscc(registry_app, broker):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    q = (await grant(registry, uscc, "miit", kind="little_giant", certificate_no="LG-9")).json()
    base = f"/v1/enterprises/{uscc}/qualifications/{q['id']}"

    resp = await registry.post(f"{base}/revocation", json={}, headers=auth("miit"))
    assert resp.status_code == 422 and problem_fields(resp) == [{"field": "reason",
                                                                 "rule": "missing"}]
    resp = await registry.post(f"{base}/revocation",
                               json={"reason": "复核", "revoked_on": "2026-12-01"},
                               headers=auth("miit"))
    assert resp.status_code == 422 and problem_fields(resp) == [
        {"field": "revoked_on", "rule": "revoked_on.not_in_future"}]

    reason = "抽查发现申报材料数据造假，依规撤销"
    resp = await registry.post(f"{base}/revocation", json={"reason": reason},
                               headers=auth("miit"))
    assert resp.status_code == 200, resp.text
    revoked = resp.json()
    assert (revoked["status"], revoked["in_force"], revoked["revocation_reason"],
            revoked["revoked_on"]) == ("revoked", False, reason, TODAY.isoformat())

    (record,) = await records_of(broker, uscc, "qualification.revoked")
    assert header(record, "ce_subject") == uscc
    assert header(record, "ce_source") == "/ipbridge/registry"
    assert header(record, "ce_dataschema") == "urn:ipbridge:schema:qualification.revoked:v1"
    payload = json.loads(record.value)
    validate_payload("qualification.revoked", payload)
    assert (payload["uscc"], payload["qualification_id"], payload["kind"], payload["status"],
            payload["reason"], payload["revoked_on"], payload["certificate_no"]) == (
        uscc, q["id"], "little_giant", "revoked", reason, TODAY.isoformat(), "LG-9")

    again = await registry.post(f"{base}/revocation", json={"reason": reason},
                                headers=auth("miit"))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:ipbridge:problem:qualification-not-active"
    renewal = await registry.post(f"{base}/renewal", json={}, headers=auth("miit"))
    assert renewal.status_code == 409
    assert len(await outbox_events(app, "qualification.revoked", uscc)) == 1


# --- expiry ------------------------------------------------------------------------------------

async def test_sweep_expires_once_across_runs_and_replicas(registry_app, broker, monkeypatch):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    short = (await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="S-1",
                         valid_from="2026-05-01", valid_to="2026-12-31")).json()
    long = (await grant(registry, uscc, "miit", kind="little_giant", certificate_no="L-1",
                        valid_from="2026-05-01")).json()
    sweep = qualification_service.sweep_expired
    sm = app.state.sessionmaker

    assert await sweep(sm, date(2026, 12, 31)) == 0  # valid_to is the last valid day
    # two replicas at once, then a later run: the qualification expires exactly once
    results = await asyncio.gather(sweep(sm, date(2027, 1, 1)), sweep(sm, date(2027, 1, 1)))
    assert sorted(results) == [0, 1]
    assert await sweep(sm, date(2027, 1, 2)) == 0

    items = {q["id"]: q for q in (await registry.get(
        f"/v1/enterprises/{uscc}/qualifications", headers=auth())).json()["items"]}
    assert (items[short["id"]]["status"], items[short["id"]]["expired_on"],
            items[short["id"]]["revision"]) == ("expired", "2027-01-01", 2)
    assert items[long["id"]]["status"] == "active"
    expired = await registry.get(f"/v1/enterprises/{uscc}/qualifications?status=expired",
                                 headers=auth())
    assert [q["id"] for q in expired.json()["items"]] == [short["id"]]
    async with sm() as session:  # what the enterprise record embeds: only those in force
        summary = await qualification_service.summary_for(session, uscc, date(2027, 1, 2))
    assert [(q["id"], q["kind"]) for q in summary] == [(long["id"], "little_giant")]

    (event,) = await outbox_events(app, "qualification.expired", uscc)
    validate_payload("qualification.expired", event)
    assert (event["qualification_id"], event["valid_to"], event["expired_on"],
            event["status"]) == (short["id"], "2026-12-31", "2027-01-01", "expired")
    records = await records_of(broker, uscc, "qualification.expired")
    # wait until the relay drained the outbox, then count on the topic: still one
    outbox = KERNEL.outbox

    async def drained():
        async with sm() as session:
            return not (await session.scalar(sa.select(sa.func.count()).select_from(outbox)
                                             .where(outbox.c.published_at.is_(None))))
    for _ in range(200):
        if await drained():
            break
        await asyncio.sleep(0.05)
    records = await records_of(broker, uscc, "qualification.expired")
    assert len(records) == 1

    base = f"/v1/enterprises/{uscc}/qualifications"
    resp = await registry.post(f"{base}/{short['id']}/revocation", json={"reason": "已过期"},
                               headers=auth("miit"))
    assert resp.status_code == 409 and resp.json()["status_now"] == "expired"
    # an expired 专精特新 that passes its review (复核) is active again
    resp = await registry.post(f"{base}/{short['id']}/renewal", json={}, headers=auth("miit"))
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["valid_from"], resp.json()["valid_to"],
            resp.json()["expired_on"]) == ("active", "2027-01-01", "2029-12-31", None)

    # past valid_to but not yet swept: still refused, as expired
    monkeypatch.setattr(qualification_service, "today_cn", lambda: date(2029, 5, 1))
    resp = await registry.post(f"{base}/{long['id']}/revocation", json={"reason": "测试"},
                               headers=auth("miit"))
    assert resp.status_code == 409 and resp.json()["status_now"] == "expired"


async def test_an_expired_title_is_not_renewed_over_a_newer_grant(registry_app):
    app, registry = registry_app, registry_app.state.client
    uscc = await new_enterprise(registry)
    old = (await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="OLD-1",
                       valid_from="2026-05-01", valid_to="2026-12-31")).json()
    assert await qualification_service.sweep_expired(app.state.sessionmaker, date(2027, 1, 1)) == 1
    new = await grant(registry, uscc, "miit", kind="zjtx_sme", certificate_no="NEW-1",
                      valid_from="2027-01-01")
    assert new.status_code == 201, new.text
    resp = await registry.post(f"/v1/enterprises/{uscc}/qualifications/{old['id']}/renewal",
                               json={}, headers=auth("miit"))
    assert resp.status_code == 409
    assert resp.json()["qualification_id"] == new.json()["id"]


def test_the_sweep_is_a_periodic_task():
    (task,) = qualification_service.PERIODIC_TASKS
    assert task.name == "qualification-expiry-sweep" and task.interval_s == 3600


# --- reading -----------------------------------------------------------------------------------

async def test_an_enterprise_reads_its_own_qualifications_only(registry):
    own, other = await new_enterprise(registry), await new_enterprise(registry)
    q = (await grant(registry, own, "miit", kind="zjtx_sme", certificate_no="OWN-1")).json()
    me = auth("enterprise", org=own)
    resp = await registry.get(f"/v1/enterprises/{own}/qualifications", headers=me)
    assert resp.status_code == 200 and [i["id"] for i in resp.json()["items"]] == [q["id"]]
    resp = await registry.get(f"/v1/enterprises/{own.lower()}/qualifications/{q['id']}",
                              headers=me)
    assert resp.status_code == 200
    resp = await registry.get(f"/v1/enterprises/{other}/qualifications", headers=me)
    assert resp.status_code == 403 and resp.json()["type"] == "urn:ipbridge:problem:forbidden"
    resp = await registry.get(f"/v1/enterprises/{own}/qualifications")
    assert resp.status_code == 401
