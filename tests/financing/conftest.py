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
from services.registry.app import create_app as create_registry
from services.registry.config import RegistrySettings
from shared.migrate import upgrade
from tests.conftest import running_app

FAST_KAFKA = dict(kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
                  kafka_fetch_max_wait_ms=10, consumer_retry_base_s=0.01)


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
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test", max_body_bytes=256_000, **FAST_KAFKA)
    app = create_registry(settings)
    async with running_app(app) as client:
        if app.state.runtime.consumer is not None:  # registry reacts to pledges and licences
            await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 30)
        yield Stack(registry=client, financing=financing_app.state.client, registry_app=app,
                    financing_app=financing_app)
