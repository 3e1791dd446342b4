"""The registry app in-process (its lifespan: relay, consumers) on a migrated database."""

from __future__ import annotations

import asyncio

import pytest

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from shared.migrate import upgrade
from tests.conftest import running_app
from tests.harness import TEST_FETCH_MAX_WAIT_MS


@pytest.fixture
async def registry_app(db_url, broker):
    """The registry app on a fresh database (SQLite and PostgreSQL via ``db_url``), its
    lifespan running; ``app.state.client`` is an httpx client onto it."""
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test", max_body_bytes=64_000,
                                kafka_fetch_max_wait_ms=TEST_FETCH_MAX_WAIT_MS,
                                kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
                                consumer_retry_base_s=0.01)
    app = create_app(settings)
    async with running_app(app) as client:
        app.state.client = client
        yield app


@pytest.fixture
def registry(registry_app):
    """An httpx client onto the registry."""
    return registry_app.state.client
