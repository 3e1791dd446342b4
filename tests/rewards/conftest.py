"""Rewards in-process on a migrated database (SQLite and PostgreSQL via ``db_url``), its whole
lifespan running (outbox relay, consumer in its group, the payment-retry task), fed with real
CloudEvents through a real broker — the shapes the registry and matching publish, validated
against the catalogue before they are produced — exactly as the service meets them in
production: out of order, redelivered, interleaved with REST calls.

Each test gets its own broker, so no event of an earlier test reaches its database.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.rewards.app import create_app
from services.rewards.config import RewardsSettings
from shared.db import today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from shared.migrate import upgrade
from tests.conftest import FAST_KAFKA, running_app
from tests.factories import make_uscc
from tests.harness import auth, start_test_broker
from tests.kafka_utils import header, produce, read_topic
from tests.registry.ip_factories import application_no

SHANXI_FUND = "shanxi-ip-fund"
SHANXI = "rewards-shanxi-2025"
PRODUCT_RULE = "patent_intensive_product"
OLD = date(2016, 5, 20)  # founded long ago: not a "new organisation"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def cloud_event(name: str, subject: str, data: dict[str, Any]) -> CloudEvent:
    validate_payload(name, data)  # the producer's contract: never a shape the registry can't send
    etype = event_type(name)
    return CloudEvent(type=name, source=etype.source, subject=subject, data=data,
                      dataschema=etype.dataschema)


def enterprise_event(uscc: str, *, region: str = "140200", ownership: str = "private",
                     founded_on: date = OLD, revision: int = 1, name: str = "大同示例科技有限公司"
                     ) -> CloudEvent:
    return cloud_event("enterprise.registered" if revision == 1 else "enterprise.updated", uscc, {
        "uscc": uscc, "name": name, "region_code": region, "province_code": region[:2],
        "industry_code": "C3985", "ownership": ownership, "founded_on": founded_on.isoformat(),
        "size_class": "small", "revision": revision,
        ("registered_at" if revision == 1 else "updated_at"): now_iso()})


def product_event(uscc: str, product_id: str | None = None, *, on: date | None = None,
                  revision: int = 2) -> CloudEvent:
    product_id = product_id or str(uuid.uuid4())
    return cloud_event("product.recognized", product_id, {
        "product_id": product_id, "uscc": uscc, "name": "高镍三元正极材料",
        "patents": [{"application_no": application_no(), "kind": "invention"}],
        "figures_year": today_cn().year - 1, "annual_sales_10k_cny": "12500.50",
        "annual_profit_10k_cny": "1830.00", "status": "recognized", "revision": revision,
        "decision": "recognised", "recognized_on": (on or today_cn()).isoformat(),
        "decided_at": now_iso()})


def qualification_event(uscc: str, kind: str, *, level: str = "provincial",
                        qualification_id: str | None = None) -> CloudEvent:
    qid = qualification_id or str(uuid.uuid4())
    today = today_cn()
    return cloud_event("qualification.granted", qid, {
        "uscc": uscc, "qualification_id": qid, "kind": kind, "level": level,
        "issuing_department": "market_regulation", "issuing_body": "山西省知识产权局",
        "certificate_no": f"晋-{qid[:8]}", "valid_from": today.isoformat(),
        "valid_to": (today + timedelta(days=3 * 365)).isoformat(), "status": "active",
        "revision": 1, "granted_at": now_iso()})


def flag_event(uscc: str, kind: str, flag_id: str, *, cleared: bool = False) -> CloudEvent:
    data = {"uscc": uscc, "flag_id": flag_id, "kind": kind, "source": "信用中国（山西）",
            "reference": f"晋信〔2026〕{flag_id[:4]}号", "flagged_on": today_cn().isoformat(),
            "status": "cleared" if cleared else "active", "revision": 2 if cleared else 1}
    if cleared:
        data |= {"reason": "信用修复完成", "cleared_on": today_cn().isoformat(),
                 "cleared_at": now_iso()}
    else:
        data |= {"consequences": [{"effect": "rewards_held", "document": "实施方案",
                                   "clause": "四"}], "raised_at": now_iso()}
    return cloud_event("creditflag.cleared" if cleared else "creditflag.raised", flag_id, data)


def money(value) -> str:
    return f"{Decimal(value):.2f}"


@dataclass
class Rewards:
    """The running service and what a test does with it."""

    app: Any
    client: httpx.AsyncClient
    broker: Any
    url: str

    async def publish(self, *events: CloudEvent, key: str | None = None) -> None:
        """Produce events to their catalogue topics, keyed by the enterprise (or ``key``)."""
        for event in events:
            data = event.data
            k = key or data.get("uscc") or data.get("holder_uscc") or event.subject
            await produce(self.broker.bootstrap, event_type(event.type).topic,
                          [(k.encode(), event.body(), event.headers())])

    async def enterprise(self, uscc: str | None = None, *, wait: bool = True, **kw) -> str:
        uscc = uscc or make_uscc()
        await self.publish(enterprise_event(uscc, **kw))
        if wait:
            await self.until(lambda: self.known(uscc), what=f"{uscc} projected")
        return uscc

    async def known(self, uscc: str) -> bool:
        resp = await self.client.get(f"/v1/enterprises/{uscc}", headers=auth())
        return resp.status_code == 200

    async def call(self, method: str, path: str, body: dict | None = None, *,
                   headers: dict | None = None, expect: int = 200) -> dict:
        resp = await self.client.request(method, path, json=body,
                                         headers=headers if headers is not None else auth())
        assert resp.status_code == expect, resp.text
        return resp.json()

    async def claims(self, headers: dict | None = None, **query) -> list[dict]:
        """Every claim matching the filters, all pages."""
        out, cursor = [], None
        while True:
            params = {**query, "limit": 100, **({"cursor": cursor} if cursor else {})}
            resp = await self.client.get("/v1/claims", params=params,
                                         headers=headers or auth())
            assert resp.status_code == 200, resp.text
            page = resp.json()
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    async def claim(self, claim_id: str) -> dict:
        return await self.call("GET", f"/v1/claims/{claim_id}")

    async def claims_for(self, item_ref: str) -> list[dict]:
        return [c for c in await self.claims() if c["item_ref"] == item_ref]

    async def wait_claim(self, item_ref: str, status: str | tuple[str, ...] | None = None, *,
                         rule_code: str | None = None, timeout: float = 20) -> dict:
        wanted = (status,) if isinstance(status, str) else status

        async def found():
            items = [c for c in await self.claims_for(item_ref)
                     if rule_code is None or c["rule_code"] == rule_code]
            if len(items) == 1 and (wanted is None or items[0]["status"] in wanted):
                return items[0]
            return None
        return await self.until(found, timeout=timeout,
                                what=f"claim for {item_ref} to be {wanted}")

    async def until(self, predicate, *, timeout: float = 20, what: str = "condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = await predicate()
            if last:
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    async def open_fund(self, deposit: str | None = None, *, code: str = SHANXI_FUND,
                        department: str = "market_regulation") -> dict:
        fund = await self.call("POST", "/v1/funds", {
            "code": code, "name": "山西省知识产权专项资金", "source_kind": "ip_fund",
            "jurisdiction": "14", "manager_department": department},
            headers=auth(department), expect=201)
        if deposit is not None:
            fund = (await self.deposit(deposit, code=code, department=department))["fund"]
        return fund

    async def deposit(self, amount: str, *, code: str = SHANXI_FUND,
                      department: str = "market_regulation") -> dict:
        return await self.call("POST", f"/v1/funds/{code}/deposits",
                               {"amount_cny": amount, "reference": "晋财建〔2026〕1号"},
                               headers=auth(department), expect=201)

    async def fund(self, code: str = SHANXI_FUND) -> dict:
        return await self.call("GET", f"/v1/funds/{code}")

    async def ledger(self, code: str = SHANXI_FUND) -> list[dict]:
        out, cursor = [], None
        while True:
            page = await self.call("GET", f"/v1/funds/{code}/ledger",
                                   None) if cursor is None else await self.call(
                "GET", f"/v1/funds/{code}/ledger?cursor={cursor}")
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    async def events(self, ce_type: str, key: str, count: int = 1) -> list[dict]:
        """Payloads of ``ce_type`` keyed by ``key`` on rewards.v1 (waits for ``count``)."""
        def mine(records):
            return [r for r in records
                    if r.key == key.encode() and header(r, "ce_type") == ce_type]
        records = await read_topic(self.broker.bootstrap, "rewards.v1",
                                   until=lambda rs: len(mine(rs)) >= count, timeout=20)
        return [json.loads(r.value) for r in mine(records)]

    async def all_events(self, key: str) -> list[tuple[str, dict]]:
        """Every rewards.v1 record keyed by ``key``, in order: (type, payload)."""
        records = await read_topic(self.broker.bootstrap, "rewards.v1")
        return [(header(r, "ce_type"), json.loads(r.value)) for r in records
                if r.key == key.encode()]

    async def assert_ledger_invariant(self, code: str = SHANXI_FUND) -> dict[str, Decimal]:
        """balance ≥ 0; balance = deposits − payments + recoveries, every entry's balance
        after is the running sum; the claims paid are exactly the ledger's payments."""
        entries = await self.ledger(code)
        fund = await self.fund(code)
        running = Decimal(0)
        for entry in entries:
            running += Decimal(entry["amount_cny"])
            assert Decimal(entry["balance_after_cny"]) >= 0
        sums = {k: sum((Decimal(e["amount_cny"]) for e in entries if e["kind"] == k),
                       Decimal(0)) for k in ("deposit", "payment", "recovery")}
        balance = Decimal(fund["balance_cny"])
        assert balance >= 0
        assert balance == running == sums["deposit"] + sums["payment"] + sums["recovery"]
        assert (Decimal(fund["deposited_cny"]), -Decimal(fund["paid_cny"]),
                Decimal(fund["recovered_cny"])) == (sums["deposit"], sums["payment"],
                                                    sums["recovery"])
        paid_ids = [e["claim_id"] for e in entries if e["kind"] == "payment"]
        assert len(paid_ids) == len(set(paid_ids)), "a claim was paid twice"
        paid = [c for c in await self.claims() if c["paid_cny"] is not None
                and c["fund_code"] == code]
        assert sorted(c["claim_id"] for c in paid) == sorted(paid_ids)
        assert sum((Decimal(c["paid_cny"]) for c in paid), Decimal(0)) == -sums["payment"]
        return sums


def rewards_settings(url: str, broker, **overrides) -> RewardsSettings:
    return RewardsSettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                           env="test", max_body_bytes=256_000, **{**FAST_KAFKA, **overrides})


@pytest.fixture
def rewards_broker(logs_dir):
    """A broker of this test's own (about a second to start): no earlier test's events."""
    broker = start_test_broker(logs_dir)
    yield broker
    broker.stop()


@pytest.fixture
async def rewards_url(db_url):
    url = db_url("rewards")
    await asyncio.to_thread(upgrade, "rewards", url)
    return url


@pytest.fixture
async def rewards(rewards_url, rewards_broker):
    app = create_app(rewards_settings(rewards_url, rewards_broker))
    async with running_app(app) as client:
        await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 30)
        yield Rewards(app, client, rewards_broker, rewards_url)


@pytest.fixture
def postgres_only(request):
    if request.node.callspec.params.get("db_url") != "postgres":
        pytest.skip("parallel writers: PostgreSQL (SQLite serialises writers)")
