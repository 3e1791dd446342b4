"""Financing in-process on a migrated database, fed by a real registry through the real broker.

``stack`` runs both apps' lifespans (relays, consumers) on the same database backend (SQLite
and PostgreSQL via ``db_url``): a test registers facts at the registry over REST and observes
financing react to the events, as in production. ``financing_app`` alone is for routes that
need no registry facts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest

from services.financing.app import create_app as create_financing
from services.financing.config import FinancingSettings
from shared.migrate import upgrade
from tests.conftest import FAST_KAFKA, running_app, running_registry


def financing_settings(url: str, broker, **overrides) -> FinancingSettings:
    return FinancingSettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                             env="test", max_body_bytes=256_000, **{**FAST_KAFKA, **overrides})


@dataclass
class Stack:
    registry: httpx.AsyncClient
    financing: httpx.AsyncClient
    registry_app: object
    financing_app: object


@pytest.fixture
async def financing_app(db_url, broker):
    """Financing alone, lifespan running and its consumer in the group;
    ``app.state.client`` is an httpx client onto it."""
    url = db_url("financing")
    await asyncio.to_thread(upgrade, "financing", url)
    app = create_financing(financing_settings(url, broker))
    async with running_app(app) as client:
        await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 30)
        app.state.client = client
        yield app


@pytest.fixture
async def stack(db_url, broker, financing_app):
    """Registry and financing running together on one broker (one backend per run)."""
    async with running_registry(db_url, broker) as (app, client):
        yield Stack(registry=client, financing=financing_app.state.client, registry_app=app,
                    financing_app=financing_app)
