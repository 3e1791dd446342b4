"""Registry over HTTP against a migrated database (SQLite and PostgreSQL) and the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from shared.events.catalogue import validate_payload
from shared.migrate import upgrade
from tests.conftest import running_app
from tests.factories import enterprise_body, make_uscc
from tests.harness import TEST_KAFKA_ENV, auth
from tests.kafka_utils import header, read_topic

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def registry(db_url, broker):
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test", max_body_bytes=64_000,
                                kafka_fetch_max_wait_ms=int(TEST_KAFKA_ENV["KAFKA_FETCH_MAX_WAIT_MS"]))
    async with running_app(create_app(settings)) as client:
        yield client


async def test_register_publishes_cloudevent_keyed_by_uscc(registry, broker):
    body = enterprise_body(uscc=make_uscc().lower())  # lower case is normalised
    resp = await registry.post("/v1/enterprises", json=body, headers={
        **auth(), "X-Correlation-ID": "corr-test-1"})
    assert resp.status_code == 201, resp.text
    data = resp.json()
    uscc = body["uscc"].upper()
    assert data["uscc"] == uscc and data["province_code"] == "14" and data["province_name"] == "山西省"
    assert data["industry_section"] == "C"
    assert resp.headers["location"] == f"/v1/enterprises/{uscc}"

    records = await read_topic(broker.bootstrap, "registry.enterprise.v1",
                               until=lambda rs: any(r.key == uscc.encode() for r in rs))
    record = next(r for r in records if r.key == uscc.encode())
    assert header(record, "ce_type") == "enterprise.registered"
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_source") == "/ipbridge/registry"
    assert header(record, "ce_subject") == uscc
    assert header(record, "ce_dataschema") == "urn:ipbridge:schema:enterprise.registered:v1"
    assert header(record, "ce_correlationid") == "corr-test-1"
    assert header(record, "content-type") == "application/json"
    payload = json.loads(record.value)
    validate_payload("enterprise.registered", payload)
    assert payload["uscc"] == uscc and payload["revision"] == 1

    again = await registry.get(f"/v1/enterprises/{uscc}", headers=auth("miit"))
    assert again.status_code == 200 and again.json()["name"] == body["name"]


async def test_second_registration_is_a_conflict(registry):
    body = enterprise_body()
    assert (await registry.post("/v1/enterprises", json=body, headers=auth())).status_code == 201
    resp = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["type"] == "urn:ipbridge:problem:enterprise-already-registered"


def _flip_check_char(uscc: str) -> str:
    return uscc[:17] + ("0" if uscc[17] != "0" else "1")


@pytest.mark.parametrize("mutate, field, rule", [
    (lambda b: b.update(uscc=_flip_check_char(b["uscc"])), "uscc", "uscc.check_character"),
    (lambda b: b.update(uscc=b["uscc"][:17] + "I"), "uscc", "uscc.charset"),
    (lambda b: b.update(uscc=b["uscc"][:17]), "uscc", "uscc.length"),
    (lambda b: b.pop("name"), "name", "missing"),
    (lambda b: b.update(founded_on="yesterday"), "founded_on", "date_from_datetime_parsing"),
    (lambda b: b.update(founded_on="2999-01-01"), "founded_on", "not_in_future"),
    (lambda b: b.update(ownership="imperial"), "ownership", "enum"),
    (lambda b: b.update(region_code="990100"), "region_code", "region_code.province"),
    (lambda b: b.update(industry_code="G3911"), "industry_code", "industry_code.section_mismatch"),
    (lambda b: b.update(name=12345), "name", "string_type"),
    (lambda b: b.update(unexpected="x"), "unexpected", "extra_forbidden"),
])
async def test_bad_input_is_422_naming_field_and_rule(registry, mutate, field, rule):
    body = enterprise_body()
    mutate(body)
    resp = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["type"] == "urn:ipbridge:problem:validation-error"
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]}
                                              for e in problem["errors"]], problem


async def test_malformed_json_and_oversized_body(registry):
    resp = await registry.post("/v1/enterprises", content=b"{not json",
                               headers={**auth(), "content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["rule"] == "json_invalid"
    big = enterprise_body(name="x" * 100_000)
    resp = await registry.post("/v1/enterprises", json=big, headers=auth())
    assert resp.status_code == 413
    assert resp.json()["errors"][0]["field"] == "body"


async def test_auth_failures(registry):
    body = enterprise_body()
    resp = await registry.post("/v1/enterprises", json=body)
    assert resp.status_code == 401 and resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.json()["type"] == "urn:ipbridge:problem:unauthorized"
    resp = await registry.post("/v1/enterprises", json=body,
                               headers={"Authorization": "Bearer not-a-jwt"})
    assert resp.status_code == 401
    resp = await registry.post("/v1/enterprises", json=body, headers=auth("miit"))
    assert resp.status_code == 403 and resp.json()["type"] == "urn:ipbridge:problem:forbidden"
    # nothing was written by the refused calls
    resp = await registry.get(f"/v1/enterprises/{body['uscc']}", headers=auth())
    assert resp.status_code == 404


async def test_enterprise_reads_only_itself(registry):
    own, other = enterprise_body(), enterprise_body()
    for b in (own, other):
        assert (await registry.post("/v1/enterprises", json=b, headers=auth())).status_code == 201
    me = auth("enterprise", org=own["uscc"])
    assert (await registry.get(f"/v1/enterprises/{own['uscc']}", headers=me)).status_code == 200
    assert (await registry.get(f"/v1/enterprises/{other['uscc']}", headers=me)).status_code == 403


async def test_officer_override_accepts_legacy_check_failure_with_reason(registry):
    body = enterprise_body()
    body["uscc"] = _flip_check_char(body["uscc"])
    body["uscc_check_override_reason"] = "福建早期试点代码，经登记机关书面确认"
    resp = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    assert any(w.startswith("uscc.check_character overridden") for w in resp.json()["uscc_warnings"])


async def test_health_and_readiness(registry):
    assert (await registry.get("/healthz")).json()["status"] == "ok"
    ready = await registry.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = (await registry.get("/metrics")).text
    assert 'ipbridge_outbox_backlog{service="registry"}' in metrics
