"""The registry app in-process (its lifespan: relay, consumers) on a migrated database."""

from __future__ import annotations

import asyncio

import pytest

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from shared.migrate import upgrade
from tests.conftest import running_app


@pytest.fixture
async def registry(db_url, broker):
    """An httpx client on a fresh registry (SQLite and PostgreSQL via ``db_url``)."""
    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                env="test", kafka_fetch_max_wait_ms=10)
    async with running_app(create_app(settings)) as client:
        yield client
