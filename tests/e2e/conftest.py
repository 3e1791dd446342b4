"""End-to-end stacks: a broker and the four services as real processes on SQLite or PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from shared.broker import free_port
from shared.migrate import SERVICES
from tests.harness import Broker, ServiceProcess, migrate, start_test_broker


@dataclass
class Stack:
    broker: Broker
    services: dict[str, ServiceProcess]

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def stop(self) -> None:
        for svc in self.services.values():
            svc.stop()
        self.broker.stop()


@pytest.fixture
def stack_factory(db_url, logs_dir):
    """Build a stack; ``extra_env`` per service (e.g. relay disabled for the crash test)."""
    stacks: list[Stack] = []

    def build(extra_env: dict[str, dict[str, str]] | None = None) -> Stack:
        broker = start_test_broker(logs_dir)
        urls = {name: db_url(name) for name in SERVICES}
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda n: migrate(n, urls[n]), SERVICES))
        services = {
            name: ServiceProcess(name=name, port=free_port(), database_url=urls[name],
                                 bootstrap=broker.bootstrap,
                                 log_path=logs_dir / f"{name}-{broker.port}.log",
                                 extra_env=(extra_env or {}).get(name, {}))
            for name in SERVICES}
        stack = Stack(broker, services)
        stacks.append(stack)
        for svc in services.values():
            svc.start()
        for svc in services.values():
            svc.wait_healthy()
        return stack

    yield build
    for stack in stacks:
        stack.stop()
