"""Helpers shared by the IP-domain registry tests (patents, products); the app fixtures are in
conftest.py."""

from __future__ import annotations

from tests.factories import enterprise_body
from tests.harness import auth
from tests.kafka_utils import header, read_topic

IP_TOPIC = "registry.ip.v1"

async def new_enterprise(registry, **overrides) -> str:
    body = enterprise_body(**overrides)
    resp = await registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    return body["uscc"]

async def new_patent(registry, body: dict) -> dict:
    resp = await registry.post("/v1/patents", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    return resp.json()

async def ip_events(broker, subject: str, until=None, **kw) -> list:
    """Records on registry.ip.v1 about one subject (the topic is shared across tests)."""
    def mine(records):
        return [r for r in records if header(r, "ce_subject") == subject]
    records = await read_topic(broker.bootstrap, IP_TOPIC,
                               until=(lambda rs: until(mine(rs))) if until else None, **kw)
    return mine(records)

def problem_fields(resp) -> list[dict]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return [{"field": e["field"], "rule": e["rule"]} for e in resp.json()["errors"]]
