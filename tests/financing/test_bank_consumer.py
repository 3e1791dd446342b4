"""The bank-side contract of ``financing.whitelist.v1``, proven without our consumer code:

1. ``examples/bank_whitelist_consumer.py`` (plain aiokafka, no ipbridge imports) runs as a
   subprocess against the real broker and ends with the list the events imply; restarted, it
   resumes from its committed offsets and saved list.
2. ``confluent-kafka`` (librdkafka, independent of aiokafka) reads the same records: headers and
   bodies parse to the same entries.
3. With the real whitelist: an SME registered at the registry with a patent reaches the example
   consumer's file.

Tests 1 and 2 write CloudEvents to the topic directly (each payload validated against the
catalogue schema, so they are contract examples); the broker is shared with other tests, so
every check looks only at this test's USCCs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.config import REPO_ROOT
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.financing.helpers import whitelisted_sme
from tests.harness import auth
from tests.kafka_utils import produce, read_topic
from tests.registry.ip_factories import application_no

TOPIC = "financing.whitelist.v1"
EXAMPLE = REPO_ROOT / "examples" / "bank_whitelist_consumer.py"
TIERS = {"cultivation_pool": (1, "培育库企业"), "high_tech": (4, "高新技术企业"),
         "eligible": (5, "其他符合条件企业")}


def entry(uscc: str, change: str, revision: int, *, tier: str = "eligible",
          patents: int = 1) -> CloudEvent:
    """A whitelist snapshot event as financing publishes it (validated against the schema)."""
    listed = change != "removed"
    rank, name_zh = TIERS[tier]
    data = {
        "uscc": uscc, "name": f"示例企业{uscc[-4:]}", "region_code": "140200",
        "province_code": "14", "industry_code": "C3985", "size_class": "small",
        "listed": listed, "change": change,
        "tier": {"code": tier, "rank": rank, "name_zh": name_zh, "reason": "test",
                 "clause": None} if listed else None,
        "pledgeable_patents": [{"application_no": application_no(), "kind": "invention",
                                "title": "一种测试方法", "valuation": None}
                               for _ in range(patents if listed else 0)],
        "basis": {"rules": [{"rule": "no_active_credit_flag", "passed": listed,
                             "figures": {}}],
                  "failed": [] if listed else ["no_active_credit_flag"],
                  "pack": "whitelist-2024@v1"},
        "pack": "whitelist-2024@v1", "revision": revision,
        "evaluated_at": datetime.now(UTC).isoformat(),
    }
    name = f"whitelist.entry_{change}"
    validate_payload(name, data)
    etype = event_type(name)
    return CloudEvent(type=name, source=etype.source, subject=uscc, data=data,
                      dataschema=etype.dataschema)


def message(event: CloudEvent) -> tuple[bytes, bytes, list]:
    return event.subject.encode(), event.body(), event.headers()


async def run_example(bootstrap: str, group: str, out: Path, *extra: str,
                      timeout: float = 90) -> tuple[list[str], str]:
    """Run the example as a bank would; returns (stdout lines, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--bootstrap", bootstrap, "--group", group,
        "--out", str(out), "--session-timeout-ms", "2000", "--heartbeat-interval-ms", "500",
        "--fetch-max-wait-ms", "10", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd="/")
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, stderr.decode()[-3000:]
    return stdout.decode().splitlines(), stderr.decode()


def saved_entries(out: Path, usccs) -> dict[str, dict]:
    document = json.loads(out.read_text(encoding="utf-8"))
    return {e["uscc"]: e for e in document["entries"] if e["uscc"] in usccs}


def lines_for(lines: list[str], usccs) -> dict[str, list[str]]:
    """The printed changes per USCC, in order (order holds per key, not across partitions)."""
    return {u: got for u in usccs if (got := [line for line in lines if u in line])}


@pytest.fixture
def scenario():
    """Events for four enterprises, with the list they imply."""
    a, b, c, d = (make_uscc() for _ in range(4))
    events = [
        entry(a, "added", 1), entry(a, "updated", 2, tier="high_tech", patents=2),
        entry(b, "added", 1), entry(b, "removed", 2),
        entry(c, "added", 2), entry(c, "added", 1),      # an older snapshot after a newer one
        entry(d, "updated", 3),
    ]
    duplicate = events[-1]                              # the same event delivered twice
    expected = {a: events[1].data, c: events[4].data, d: events[6].data}
    return {"usccs": (a, b, c, d), "events": events + [duplicate], "expected": expected}


async def test_example_consumer_builds_the_list_and_resumes(broker, tmp_path, scenario):
    a, b, c, d = scenario["usccs"]
    await produce(broker.bootstrap, TOPIC, [message(e) for e in scenario["events"]] + [
        (a.encode(), b"{not json", entry(a, "updated", 9).headers()),       # malformed body
        (a.encode(), b"{}", [("ce_specversion", b"1.0"), ("ce_id", b"x"),
                             ("ce_source", b"/other"), ("ce_type", b"something.else")]),
    ])
    out = tmp_path / "bank" / "whitelist.json"
    group = f"bank-{uuid.uuid4().hex[:8]}"

    lines, stderr = await run_example(broker.bootstrap, group, out, "--once")
    assert saved_entries(out, scenario["usccs"]) == scenario["expected"]
    assert lines_for(lines, scenario["usccs"]) == {
        a: [f"added {a} rev=1 tier=eligible patents=1 name=示例企业{a[-4:]}",
            f"updated {a} rev=2 tier=high_tech patents=2 name=示例企业{a[-4:]}"],
        b: [f"added {b} rev=1 tier=eligible patents=1 name=示例企业{b[-4:]}",
            f"removed {b} rev=2 failed=no_active_credit_flag"],
        c: [f"added {c} rev=2 tier=eligible patents=1 name=示例企业{c[-4:]}"],
        d: [f"added {d} rev=3 tier=eligible patents=1 name=示例企业{d[-4:]}"]}
    assert "body is not JSON" in stderr and "not a whitelist event type" in stderr
    assert f"{c} revision 1 is not newer than 2" in stderr
    revisions = json.loads(out.read_text())["revisions"]
    assert {u: revisions[u] for u in scenario["usccs"]} == {a: 2, b: 2, c: 2, d: 3}

    # Restarted with the same group: offsets were committed after applying, nothing re-prints.
    lines, _ = await run_example(broker.bootstrap, group, out, "--until-idle", "2")
    assert lines_for(lines, scenario["usccs"]) == {}
    assert saved_entries(out, scenario["usccs"]) == scenario["expected"]

    # A later removal arrives: it applies on top of the saved list.
    await produce(broker.bootstrap, TOPIC, [message(entry(a, "removed", 3))])
    lines, _ = await run_example(broker.bootstrap, group, out, "--once")
    assert lines_for(lines, scenario["usccs"]) == {
        a: [f"removed {a} rev=3 failed=no_active_credit_flag"]}
    assert set(saved_entries(out, scenario["usccs"])) == {c, d}


def read_with_librdkafka(bootstrap: str, want_ids: set[str], timeout: float = 30) -> list:
    """All records of the topic carrying ``want_ids``, read by confluent-kafka (librdkafka),
    without a consumer group: (partition, offset, key, headers, value)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "contract-check",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10,
                         "auto.offset.reset": "earliest"})
    try:
        partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
        found: list = []
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while seen < want_ids and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            headers = {k: v.decode() for k, v in msg.headers() or []}
            if headers.get("ce_id") in want_ids:
                seen.add(headers["ce_id"])
                found.append((msg.partition(), msg.offset(), msg.key(), headers, msg.value()))
        assert seen == want_ids, f"librdkafka saw {len(seen)} of {len(want_ids)}"
        return found
    finally:
        consumer.close()


async def test_an_independent_client_reads_the_same_entries(broker, tmp_path, scenario):
    await produce(broker.bootstrap, TOPIC, [message(e) for e in scenario["events"]])
    by_id = {e.id: e for e in scenario["events"]}
    records = await asyncio.to_thread(read_with_librdkafka, broker.bootstrap, set(by_id))

    latest: dict[str, dict] = {}
    revisions: dict[str, int] = {}
    for _, _, key, headers, value in sorted(records, key=lambda r: (r[0], r[1])):
        sent = by_id[headers["ce_id"]]
        assert key.decode() == headers["ce_subject"] == sent.subject
        assert headers["ce_specversion"] == "1.0"
        assert headers["ce_type"] == sent.type and headers["ce_source"] == "/ipbridge/financing"
        assert headers["ce_dataschema"] == f"urn:ipbridge:schema:{sent.type}:v1"
        assert headers["content-type"] == "application/json"
        assert datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00"))
        data = json.loads(value)
        validate_payload(headers["ce_type"], data)
        assert data == sent.data
        if data["revision"] <= revisions.get(data["uscc"], 0):
            continue
        revisions[data["uscc"]] = data["revision"]
        if data["listed"]:
            latest[data["uscc"]] = data
        else:
            latest.pop(data["uscc"], None)
    assert latest == scenario["expected"]

    # The example consumer (aiokafka) ends with the same entries.
    out = tmp_path / "whitelist.json"
    await run_example(broker.bootstrap, f"bank-{uuid.uuid4().hex[:8]}", out, "--once")
    assert saved_entries(out, scenario["usccs"]) == latest


async def test_a_registered_sme_reaches_the_bank_consumer(stack, broker, tmp_path):
    """Registry → events → financing's whitelist → topic → the bank's example consumer."""
    uscc, numbers = await whitelisted_sme(stack)
    api = (await stack.financing.get(f"/v1/whitelist/{uscc}",
                                      headers=auth("bank", "BANK001"))).json()
    await read_topic(broker.bootstrap, TOPIC, timeout=30, until=lambda records: any(
        r.key == uscc.encode() for r in records))

    out = tmp_path / "whitelist.json"
    lines, _ = await run_example(broker.bootstrap, f"bank-{uuid.uuid4().hex[:8]}", out, "--once")
    got = saved_entries(out, {uscc})[uscc]
    assert got["listed"] is True and got["revision"] == api["revision"]
    assert got["tier"]["code"] == api["tier"]["code"]
    assert [p["application_no"] for p in got["pledgeable_patents"]] == numbers
    assert any(line.startswith(f"added {uscc} ") for line in lines)
