"""The first joint flow, with real processes: registry → outbox → broker → three consumer groups.

Each test runs on SQLite and on PostgreSQL. Nothing here is in-process: the services are
uvicorn processes started by ``python -m shared.cli serve`` exactly as ``make run`` does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest

from shared.config import REPO_ROOT
from tests.factories import enterprise_body
from tests.harness import auth, scrape, wait_for
from tests.kafka_utils import header, read_topic

pytestmark = pytest.mark.slow
CONSUMERS = ("financing", "matching", "rewards")
TOPIC = "registry.enterprise.v1"


def register(stack, body=None) -> dict:
    body = body or enterprise_body()
    resp = httpx.post(f"{stack['registry'].url}/v1/enterprises", json=body, headers=auth(),
                      timeout=10)
    assert resp.status_code == 201, resp.text
    return body


def projected(stack, service: str, uscc: str) -> dict | None:
    resp = httpx.get(f"{stack[service].url}/v1/enterprises/{uscc}", headers=auth("auditor"),
                     timeout=5)
    return resp.json() if resp.status_code == 200 else None


def all_projected(stack, usccs) -> bool:
    return all(projected(stack, s, u) for s in CONSUMERS for u in usccs)


def deliveries(stack, uscc: str) -> list:
    records = asyncio.run(read_topic(stack.broker.bootstrap, TOPIC))
    return [r for r in records if r.key == uscc.encode()]


def test_registration_fans_out_to_three_consumer_groups(stack_factory):
    stack = stack_factory()
    body = register(stack)
    uscc = body["uscc"]
    views = {s: wait_for(lambda s=s: projected(stack, s, uscc), what=f"{s} projection")
             for s in CONSUMERS}
    for service, view in views.items():
        assert view["name"] == body["name"] and view["revision"] == 1, service
        assert view["region_code"] == "140200" and view["province_code"] == "14"
        assert view["size_class"] == "small"  # classified by the registry, carried by the event
    assert len({v["last_event_id"] for v in views.values()}) == 1  # one event, three groups
    # unknown enterprises are 404 problem+json in every projection
    missing = httpx.get(f"{stack['matching'].url}/v1/enterprises/{'9' * 18}",
                        headers=auth("auditor"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_crash_between_commit_and_publish_still_delivers_once(stack_factory):
    """kill -9 registry after its transaction committed and before the relay sent anything."""
    stack = stack_factory(extra_env={"registry": {"REGISTRY_RELAY_ENABLED": "false"}})
    body = register(stack)
    uscc = body["uscc"]
    stack["registry"].kill9()
    time.sleep(1.0)
    assert deliveries(stack, uscc) == []          # nothing was published before the crash
    assert not any(projected(stack, s, uscc) for s in CONSUMERS)
    backlog = subprocess.run(  # what the on-call engineer sees meanwhile
        [sys.executable, "-m", "shared.cli", "outbox", "registry"], capture_output=True,
        text=True, cwd=REPO_ROOT, check=True,
        env={**os.environ, "REGISTRY_DATABASE_URL": stack["registry"].database_url}).stdout
    assert "backlog=1 " in backlog, backlog

    stack["registry"].extra_env = {}
    stack["registry"].start().wait_healthy()       # relay on: the committed row goes out
    wait_for(lambda: all_projected(stack, [uscc]), what="projections after restart")
    sent = deliveries(stack, uscc)
    assert len(sent) == 1, "the event must be published exactly once"
    event_id = header(sent[0], "ce_id")
    for service in CONSUMERS:
        assert projected(stack, service, uscc)["last_event_id"] == event_id
    assert scrape(stack["registry"].url, "ipbridge_outbox_backlog", service="registry") == 0


def test_crash_after_publish_before_marking_sent_has_one_effect(stack_factory):
    """The relay dies after the broker acked but before marking the row sent: on restart the row
    is published again, and each consumer's inbox turns the duplicate into a no-op."""
    stack = stack_factory(extra_env={"registry": {"IPBRIDGE_FAULT_EXIT_AFTER_PUBLISH": "1"}})
    before = {s: scrape(stack[s].url, "ipbridge_events_consumed_total", service=s,
                        type="enterprise.registered", outcome="processed") for s in CONSUMERS}
    body = register(stack)
    uscc = body["uscc"]
    assert stack["registry"].proc.wait(15) == 137   # died between publish and mark
    stack["registry"].extra_env = {}
    stack["registry"].start().wait_healthy()
    wait_for(lambda: len(deliveries(stack, uscc)) == 2, what="the re-publication")
    sent = deliveries(stack, uscc)
    assert header(sent[0], "ce_id") == header(sent[1], "ce_id")
    for service in CONSUMERS:
        url = stack[service].url
        wait_for(lambda url=url, service=service: scrape(
            url, "ipbridge_events_consumed_total", service=service, type="enterprise.registered",
            outcome="duplicate") >= 1, what=f"{service} duplicate")
        processed = scrape(url, "ipbridge_events_consumed_total", service=service,
                           type="enterprise.registered", outcome="processed")
        assert processed - before[service] == 1, service
        assert projected(stack, service, uscc)["revision"] == 1


def test_broker_outage_writes_continue_and_backlog_drains(stack_factory):
    stack = stack_factory()
    first = register(stack)["uscc"]  # warm: groups joined, producer connected
    wait_for(lambda: all_projected(stack, [first]), what="warm-up projection")
    registry = stack["registry"].url
    stack.broker.pause()
    try:
        usccs = [register(stack)["uscc"] for _ in range(25)]   # every write succeeds
        wait_for(lambda: scrape(registry, "ipbridge_outbox_backlog", service="registry") == 25,
                 timeout=20, what="backlog of 25 in /metrics")
        ready = httpx.get(f"{registry}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"
    finally:
        stack.broker.resume()
    wait_for(lambda: scrape(registry, "ipbridge_outbox_backlog", service="registry") == 0,
             timeout=60, what="backlog drained")
    wait_for(lambda: all_projected(stack, usccs), timeout=60, what="all 25 projected")
    records = asyncio.run(read_topic(stack.broker.bootstrap, TOPIC))
    keys = [r.key.decode() for r in records]
    assert all(keys.count(u) >= 1 for u in usccs)   # none lost
    for service in CONSUMERS:
        for u in usccs:
            assert projected(stack, service, u)["revision"] == 1
