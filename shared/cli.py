"""Operations CLI: ``python -m shared.cli --help``.

dev (what ``make run`` runs), serve, migrate, topics, asyncapi, outbox, dlq.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from shared.config import REPO_ROOT, VAR_DIR
from shared.migrate import SERVICES

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

PORTS = {"registry": 8001, "financing": 8002, "matching": 8003, "rewards": 8004}


def _settings(service: str):
    module = importlib.import_module(f"services.{service}.config")
    return getattr(module, f"{service.capitalize()}Settings")()


def _services(target: str) -> tuple[str, ...]:
    if target == "all":
        return SERVICES
    if target not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)} or all")
    return (target,)


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="registry|financing|matching|rewards|all")]
            = "all", revision: str = "heads") -> None:
    """Apply each service's Alembic migrations to its own database."""
    from shared.migrate import upgrade

    for name in _services(service):
        url = _settings(name).database_url
        upgrade(name, url, revision)
        typer.echo(f"migrated {name} -> {revision} ({url.split('@')[-1]})")


@app.command()
def topics(bootstrap: Annotated[str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = None,
           partitions: Annotated[int, typer.Option(envvar="KAFKA_TOPIC_PARTITIONS")] = 3,
           replication: Annotated[int, typer.Option(envvar="KAFKA_REPLICATION_FACTOR")] = 1) -> None:
    """Create every catalogue topic and its DLQ (idempotent)."""
    from shared.kafka import ensure_topics

    created = asyncio.run(ensure_topics(bootstrap or "127.0.0.1:9092", partitions, replication))
    typer.echo(f"topics ready ({len(created)} created)")


@app.command()
def serve(service: str) -> None:
    """Run one service with uvicorn (migrations must already be applied)."""
    import uvicorn

    settings = _settings(_services(service)[0])
    uvicorn.run(f"services.{service}.app:create_app", factory=True, host=settings.host,
                port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=15)


@app.command()
def asyncapi(check: bool = typer.Option(False, help="exit 1 if docs/asyncapi.yaml is stale")) -> None:
    """Regenerate docs/asyncapi.yaml from the event catalogue."""
    from shared.events.asyncapi import ASYNCAPI_PATH, render, write

    if check:
        current = ASYNCAPI_PATH.read_text(encoding="utf-8") if ASYNCAPI_PATH.exists() else ""
        if current != render():
            typer.echo("docs/asyncapi.yaml is stale: run `make asyncapi`", err=True)
            raise typer.Exit(1)
        typer.echo("docs/asyncapi.yaml is current")
        return
    write()
    typer.echo(f"wrote {ASYNCAPI_PATH.relative_to(REPO_ROOT)}")


@app.command()
def outbox(service: Annotated[str, typer.Argument(help="registry|financing|matching|rewards|all")]
           = "all") -> None:
    """Show each service's outbox backlog (rows committed but not yet published)."""
    import sqlalchemy as sa

    from shared.db import create_engine

    async def backlog(name: str) -> tuple[int, object]:
        engine = create_engine(_settings(name).database_url)
        try:
            async with engine.connect() as conn:
                row = (await conn.execute(sa.text(
                    "SELECT count(*), min(created_at) FROM outbox WHERE published_at IS NULL"))).one()
                return row[0], row[1]
        finally:
            await engine.dispose()

    for name in _services(service):
        count, oldest = asyncio.run(backlog(name))
        typer.echo(f"{name:10} backlog={count} oldest={oldest or '-'}")


dlq_app = typer.Typer(help="List and replay dead letters (<topic>.dlq).", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")]


@dlq_app.command("list")
def dlq_list(topic: str, bootstrap: Bootstrap = "127.0.0.1:9092") -> None:
    """Show every dead letter of TOPIC: position, event, consumer group and error."""
    from shared.dlq import list_dead_letters

    letters = asyncio.run(list_dead_letters(bootstrap, topic))
    for d in letters:
        h = d.headers
        typer.echo(f"{d.partition}:{d.offset}  {d.event_type:28} id={d.event_id} key={d.key} "
                   f"group={h.get('dlq_consumer_group')} attempts={h.get('dlq_attempts')} "
                   f"from={h.get('dlq_original_topic')}:{h.get('dlq_original_partition')}:"
                   f"{h.get('dlq_original_offset')}\n    {h.get('dlq_error_type')}: "
                   f"{h.get('dlq_error')}")
    typer.echo(f"{len(letters)} dead letter(s) on {topic.removesuffix('.dlq')}.dlq")


@dlq_app.command("replay")
def dlq_replay(topic: str, position: Annotated[list[str] | None, typer.Option(
        "--position", help="PARTITION:OFFSET to replay (repeatable); default: all")] = None,
        bootstrap: Bootstrap = "127.0.0.1:9092") -> None:
    """Republish dead letters onto the original topic (inboxes make it safe to repeat)."""
    from shared.dlq import replay

    wanted = None
    if position:
        try:
            wanted = {(int(p), int(o)) for p, o in (x.split(":") for x in position)}
        except ValueError as exc:
            raise typer.BadParameter("positions are PARTITION:OFFSET, e.g. 0:12") from exc
    count = asyncio.run(replay(bootstrap, topic, wanted))
    typer.echo(f"replayed {count} message(s) onto {topic.removesuffix('.dlq')}")


@app.command()
def dev() -> None:
    """Local stack: broker (unless KAFKA_BOOTSTRAP_SERVERS is set), topics, migrations, and the
    four services on :8001-8004. Ctrl-C stops everything."""
    from shared.broker import start_broker

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    broker = None
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        bootstrap = "127.0.0.1:9092"
        broker = start_broker(9092, log_path=VAR_DIR / "broker.log")
        typer.echo(f"broker   Tansu (memory storage) on {bootstrap}  log: var/broker.log")
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    children: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def shutdown(*_):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        typer.echo("\nstopping services …")
        for _, proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, proc in children:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if broker is not None:
            broker.terminate()
            try:
                broker.wait(5)
            except subprocess.TimeoutExpired:
                broker.kill()
        typer.echo("stopped")

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        subprocess.run([sys.executable, "-m", "shared.cli", "topics"], env=env, check=True,
                       cwd=REPO_ROOT)
        subprocess.run([sys.executable, "-m", "shared.cli", "migrate", "all"], env=env,
                       check=True, cwd=REPO_ROOT)
        for name in SERVICES:
            log = open(VAR_DIR / f"{name}.log", "ab")
            proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", name], env=env,
                                    cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            children.append((name, proc))
        _wait_healthy(children)
        typer.echo("")
        for name in SERVICES:
            typer.echo(f"{name:10} http://127.0.0.1:{PORTS[name]}/docs   log: var/{name}.log")
        typer.echo("token      make token DEPARTMENT=market_regulation")
        typer.echo("Ctrl-C stops everything.")
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    typer.echo(f"{name} exited with code {proc.returncode}; see var/{name}.log",
                               err=True)
                    raise typer.Exit(1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()


def _wait_healthy(children, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    pending = {name for name, _ in children}
    while pending and time.monotonic() < deadline:
        for name, proc in children:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start (code {proc.returncode}); "
                                   f"see var/{name}.log")
        for name in list(pending):
            try:
                if httpx.get(f"http://127.0.0.1:{PORTS[name]}/healthz", timeout=1).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"not healthy after {timeout_s}s: {', '.join(sorted(pending))}")


if __name__ == "__main__":
    app()
