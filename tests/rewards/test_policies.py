"""Rewards policy packs over HTTP, and pack changes as events: each pack version is recorded and
announced (``policy.changed``) once, whatever the number of starts or replicas; a new version is
announced as replacing the old; a file changed under a released version stops the start."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from services.rewards.app import create_app
from services.rewards.db import KERNEL
from services.rewards.policies import packs
from services.rewards.policies.announce import record_packs
from services.rewards.policies.models import PolicyPackVersion
from shared.events.catalogue import validate_payload
from shared.policy import PolicyPackError
from tests.conftest import running_app
from tests.harness import auth
from tests.rewards.conftest import rewards_settings

PACK_IDS = ["rewards-national-2024", "rewards-shanxi-2025", "rewards-datong-2023",
            "rewards-daye-2023"]


async def test_the_policies_list_every_rule_with_its_figures_and_clauses(rewards):
    listed = await rewards.call("GET", "/v1/policies", headers=auth("enterprise", "x"))
    assert [p["id"] for p in listed["items"]] == PACK_IDS  # national first, then by code
    shanxi = next(p for p in listed["items"] if p["id"] == "rewards-shanxi-2025")
    assert (shanxi["ref"], shanxi["jurisdiction"], shanxi["effective_from"],
            shanxi["verified"]) == ("rewards-shanxi-2025@v1", "14", "2025-12-08", True)
    product = next(r for r in shanxi["rules"] if r["code"] == "patent_intensive_product")
    assert (product["amount"], product["caps"], product["fund"]) == (
        {"kind": "fixed", "cny": "20000.00"},
        {"per_item_cny": "20000.00", "per_org_cny": "200000.00", "once_per_org": False},
        "shanxi-ip-fund")
    assert product["source"]["clause"].startswith("11.") and "2万元" in product["source"]["text"]
    assert shanxi["governance"]["clawback_on_flags"] == ["data_fraud",
                                                         "abnormal_patent_application"]
    assert len(shanxi["sha256"]) == 64 and shanxi["file"] == "shanxi-2025.yaml"

    only = await rewards.call("GET", "/v1/policies?jurisdiction=1402")
    assert [p["id"] for p in only["items"]] == ["rewards-datong-2023"]
    before = await rewards.call("GET", "/v1/policies?on=2024-01-01")
    assert [p["id"] for p in before["items"]] == ["rewards-datong-2023", "rewards-daye-2023"]
    one = await rewards.call("GET", "/v1/policies/rewards-daye-2023")
    assert one["ref"] == "rewards-daye-2023@v1"
    assert (await rewards.call("GET", "/v1/policies/rewards-daye-2023@v1")) == one
    for path, status in (("/v1/policies/rewards-mars-2030", 404),
                         ("/v1/policies?jurisdiction=Shanxi", 422),
                         ("/v1/policies?on=yesterday", 422)):
        resp = await rewards.client.get(path, headers=auth())
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await rewards.client.get("/v1/policies")).status_code == 401


async def test_each_pack_version_is_announced_once_and_a_changed_file_stops_the_start(
        rewards, rewards_url):
    announced = await rewards.until(lambda: _changed(rewards, len(PACK_IDS)),
                                    what="four policy.changed events")
    assert sorted(e["pack_id"] for e in announced) == sorted(PACK_IDS)
    for event in announced:
        validate_payload("policy.changed", event)
        assert (event["change"], event["previous_version"], event["version"]) == (
            "added", None, 1)
    shanxi = next(e for e in announced if e["pack_id"] == "rewards-shanxi-2025")
    assert {r["code"]: r["trigger"] for r in shanxi["rules"]}["gi_trademark"] == \
        "trademark.registered"

    # a second start (another replica, a restart) records and announces nothing new
    again = create_app(rewards_settings(rewards_url, rewards.broker))
    async with running_app(again):
        pass
    async with rewards.app.state.sessionmaker() as session:
        outbox = await session.scalar(sa.select(sa.func.count()).select_from(KERNEL.outbox)
                                      .where(KERNEL.outbox.c.event_type == "policy.changed"))
        assert outbox == len(PACK_IDS)

        # a new version of a pack is announced as replacing the one before
        daye = next(lp for lp in packs.packs() if lp.pack.id == "rewards-daye-2023")
        v2 = packs.LoadedPack(daye.pack.model_copy(update={"version": 2}), "e" * 64,
                              "daye-2026.yaml")
        assert await record_packs(session, [daye, v2]) == ["rewards-daye-2023@v2"]
        await session.commit()
        payload = json.loads(await session.scalar(
            sa.select(KERNEL.outbox.c.payload).order_by(KERNEL.outbox.c.id.desc()).limit(1)))
        assert (payload["change"], payload["previous_version"], payload["version"]) == (
            "replaced", 1, 2)
        validate_payload("policy.changed", payload)
        # the same version from a different file: refused, telling to bump the version
        with pytest.raises(PolicyPackError, match="bump `version`"):
            await record_packs(session, [packs.LoadedPack(daye.pack, "f" * 64, daye.file)])
        await session.rollback()
        await session.execute(sa.update(PolicyPackVersion)
                              .where(PolicyPackVersion.pack_id == "rewards-daye-2023",
                                     PolicyPackVersion.version == 1)
                              .values(sha256="0" * 64))
        await session.commit()
    # as the service sees it at start: the edited file (its hash is not the recorded one)
    refused = create_app(rewards_settings(rewards_url, rewards.broker))
    with pytest.raises(PolicyPackError, match="daye-2023.yaml: rewards-daye-2023@v1"):
        async with running_app(refused):
            pass


async def _changed(rewards, count: int) -> list[dict] | None:
    from tests.kafka_utils import header, read_topic
    records = await read_topic(rewards.broker.bootstrap, "rewards.v1", timeout=5)
    found = [json.loads(r.value) for r in records if header(r, "ce_type") == "policy.changed"]
    await asyncio.sleep(0)
    return found if len(found) >= count else None
