"""Matching in-process on a migrated database, fed by a real registry through the real broker.

``stack`` runs both apps' lifespans (relays, consumers) on the same database backend (SQLite
and PostgreSQL via ``db_url``): a test registers enterprises and patents at the registry over
REST and observes matching react to the events, as in production. ``matching_app`` alone is for
routes that need no registry facts (facts can also be produced straight onto the topics).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest

from services.matching.app import create_app as create_matching
from services.matching.config import MatchingSettings
from shared.migrate import upgrade
from tests.conftest import FAST_KAFKA, running_app, running_registry


def matching_settings(url: str, broker, **overrides) -> MatchingSettings:
    return MatchingSettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                            env="test", max_body_bytes=256_000, **{**FAST_KAFKA, **overrides})


@dataclass
class Stack:
    registry: httpx.AsyncClient
    matching: httpx.AsyncClient
    registry_app: object
    matching_app: object


@pytest.fixture
async def matching_app(db_url, broker):
    """Matching alone, lifespan running and its consumer in the group;
    ``app.state.client`` is an httpx client onto it."""
    url = db_url("matching")
    await asyncio.to_thread(upgrade, "matching", url)
    app = create_matching(matching_settings(url, broker))
    async with running_app(app) as client:
        await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 30)
        app.state.client = client
        yield app


@pytest.fixture
async def stack(db_url, broker, matching_app):
    """Registry and matching running together on one broker (one backend per run)."""
    async with running_registry(db_url, broker) as (app, client):
        yield Stack(registry=client, matching=matching_app.state.client, registry_app=app,
                    matching_app=matching_app)
