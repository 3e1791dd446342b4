"""The service factory: one FastAPI app per service with the same lifespan, middleware, errors,
health endpoints, outbox relay and consumers. Engines and clients live in the lifespan."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session as SyncSession

from shared.config import ServiceSettings
from shared.consumer import EventConsumer, Handler
from shared.db import create_engine, create_sessionmaker
from shared.errors import Conflict, PreconditionFailed, install_error_handlers, problem_response, problem_type
from shared.health import router as health_router
from shared.kafka import make_consumer, make_producer
from shared.logging import configure_logging
from shared.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from shared.outbox import KernelTables, OutboxRelay

log = structlog.get_logger("ipbridge.app")


@dataclass(frozen=True)
class PeriodicTask:
    """A job the service runs on a timer (e.g. the qualification expiry sweep).

    ``run`` receives the service's sessionmaker; it owns its transaction (commit inside) and
    must be idempotent, since every replica runs it.
    """

    name: str
    interval_s: float
    run: Callable[[async_sessionmaker[AsyncSession]], Awaitable[Any]]


class ServiceRuntime:
    """What the lifespan owns: engine, sessions, relay, consumers, Kafka clients, timers."""

    def __init__(self, settings: ServiceSettings, tables: KernelTables,
                 handlers: dict[str, Handler],
                 periodic: Sequence[PeriodicTask] = ()) -> None:
        self.settings = settings
        self.engine = create_engine(settings.database_url)
        session_class = type(f"{settings.service_name.capitalize()}Session", (SyncSession,), {})
        self.sessionmaker = create_sessionmaker(self.engine, session_class)
        self.relay = OutboxRelay(
            service=settings.service_name, factory=self.sessionmaker, outbox=tables.outbox,
            producer_factory=lambda: make_producer(settings), database_url=settings.database_url,
            batch_size=settings.relay_batch_size, poll_interval_s=settings.relay_poll_interval_s,
            max_backoff_s=settings.relay_max_backoff_s,
            send_timeout_s=settings.kafka_request_timeout_ms / 1000 * 2)
        self.consumer = EventConsumer(
            service=settings.service_name, group_id=f"ipbridge-{settings.service_name}",
            handlers=handlers, factory=self.sessionmaker, inbox=tables.inbox,
            consumer_factory=lambda topics: make_consumer(settings, topics,
                                                          f"ipbridge-{settings.service_name}"),
            producer_getter=self.producer, max_attempts=settings.consumer_max_attempts,
            retry_base_s=settings.consumer_retry_base_s,
            retry_max_s=settings.consumer_retry_max_s) if handlers else None
        self._producer = None
        self._producer_lock = asyncio.Lock()
        self._metadata_client: AIOKafkaClient | None = None
        self._tasks: list[asyncio.Task] = []
        self._periodic = list(periodic)
        self._stopping = asyncio.Event()

    async def producer(self):
        """A started producer for DLQ writes (created on first use, retried by callers)."""
        async with self._producer_lock:
            if self._producer is None:
                producer = make_producer(self.settings)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def metadata_client(self) -> AIOKafkaClient:
        if self._metadata_client is None:
            client = AIOKafkaClient(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                    request_timeout_ms=3000)
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self._metadata_client = client
        return self._metadata_client

    async def refresh_backlog(self) -> None:
        await self.relay.refresh_backlog()

    async def start(self) -> None:
        if self.settings.relay_enabled:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.consumer is not None and self.settings.consumers_enabled:
            self._tasks.append(asyncio.create_task(self.consumer.run(), name="event-consumer"))
        for job in self._periodic:
            self._tasks.append(asyncio.create_task(self._every(job), name=job.name))
        await self.relay.refresh_backlog()

    async def _every(self, job: PeriodicTask) -> None:
        while not self._stopping.is_set():
            try:
                result = await job.run(self.sessionmaker)
                idle = not result or (isinstance(result, dict) and not any(result.values()))
                (log.debug if idle else log.info)("periodic.done", task=job.name, result=result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("periodic.failed", task=job.name, error=str(exc),
                          error_type=type(exc).__name__)
            try:
                await asyncio.wait_for(self._stopping.wait(), job.interval_s)
            except TimeoutError:
                pass

    async def stop(self, grace_s: float = 10.0) -> None:
        """Finish the handler in progress, commit offsets, leave the group, flush, close."""
        self._stopping.set()
        if self.consumer is not None:
            await self.consumer.stop()
            if not self.consumer.started.is_set():
                # Still joining the group (or waiting for the broker): nothing is in progress to
                # finish, so cancel the join instead of waiting out the grace period; the
                # consumer leaves the group on cancellation.
                for task in self._tasks:
                    if task.get_name() == "event-consumer":
                        task.cancel()
        await self.relay.stop()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception():
                    log.error("runtime.task_failed", task=task.get_name(),
                              error=repr(task.exception()))
        for closer in (self._producer.stop if self._producer else None,
                       self._metadata_client.close if self._metadata_client else None):
            if closer is not None:
                try:
                    await asyncio.wait_for(closer(), 5)
                except Exception:
                    pass
        await self.engine.dispose()


_UNAVAILABLE_MARKERS = ("database is locked", "unable to open database", "could not connect",
                        "connection refused", "connection was closed", "server closed the connection",
                        "terminating connection", "timeout", "the database system is")


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached right now (retry), as opposed to a schema or query bug."""
    if isinstance(exc, (ConnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc.orig, (OSError, ConnectionError)):
            return True
        text = str(exc.orig).lower()
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and any(
            m in text for m in _UNAVAILABLE_MARKERS)
    return False


def _db_unavailable_handler(app: FastAPI) -> None:
    async def handler(request: Request, exc: Exception):
        if not is_unavailable(exc):
            raise exc  # e.g. "no such column": a bug (missing migration), rendered as 500
        log.warning("db.unavailable", error=str(exc)[:300], error_type=type(exc).__name__)
        return problem_response({
            "type": problem_type("service-unavailable"), "title": "Temporarily unavailable",
            "status": 503, "detail": "the service's database is unreachable; retry later",
            "detail_zh": "数据库暂不可用，请稍后重试", "instance": request.url.path,
        }, {"Retry-After": "5"})

    for exc_class in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                      ConnectionError):
        app.add_exception_handler(exc_class, handler)


def create_service_app(
    *, settings: ServiceSettings, title: str, description: str, version: str,
    tables: KernelTables, routers: Sequence[APIRouter], handlers: dict[str, Handler] | None = None,
    periodic: Sequence[PeriodicTask] = (), openapi_tags: list[dict[str, Any]] | None = None,
    on_startup: Callable[[FastAPI], None] | None = None,
    on_ready: Sequence[Callable[[async_sessionmaker[AsyncSession]], Awaitable[Any]]] = (),
) -> FastAPI:
    """Assemble a service: routers under /v1, health at the root, relay and consumers in lifespan.

    ``on_startup`` runs when the app is built (no database yet); each ``on_ready`` job runs in
    the lifespan with the service's sessionmaker, before the relay and consumers start: one
    that raises stops the start (e.g. a policy pack changed without a new version)."""
    configure_logging(settings.service_name, json=settings.log_json, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime = ServiceRuntime(settings, tables, handlers or {}, periodic)
        app.state.runtime = runtime
        app.state.sessionmaker = runtime.sessionmaker
        try:
            for job in on_ready:
                await job(runtime.sessionmaker)
        except BaseException:
            await runtime.engine.dispose()
            raise
        await runtime.start()
        log.info("service.started", port=settings.port, env=settings.env,
                 database=settings.database_url.split("@")[-1])
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped")

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  openapi_tags=openapi_tags,
                  responses={401: {"description": "Missing or invalid bearer token (problem+json)"},
                             403: {"description": "Department or scope not allowed (problem+json)"}})
    app.state.settings = settings
    if on_startup is not None:
        on_startup(app)  # e.g. load and validate policy packs: a bad pack stops the start
    install_error_handlers(app)
    _db_unavailable_handler(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router, prefix="/v1")
    return app


def is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    """A duplicate key (concurrent create): SQLSTATE 23505 on PostgreSQL, UNIQUE on SQLite."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None),
                                                      "sqlstate", None)
    return code == "23505" or "UNIQUE constraint failed" in str(orig)


async def get_session(request: Request):
    """One session per request; commit on success, roll back on error (the edge's transaction).

    Declared with ``scope="function"`` so the commit happens *before* the response is sent: a
    client that got 201 can rely on the row and its outbox event being durable (the crash test
    kills the process right after the response).
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except orm_exc.StaleDataError as exc:
            await session.rollback()
            raise PreconditionFailed("the record changed while this request was writing it; "
                                     "re-read and retry",
                                     detail_zh="记录已被并发修改，请重新读取后重试") from exc
        except sa_exc.IntegrityError as exc:
            await session.rollback()
            if not is_unique_violation(exc):
                raise  # a foreign-key or NOT NULL violation is a bug: 500, logged
            raise Conflict("a concurrent write changed the same record; re-read and retry",
                           detail_zh="并发写入冲突，请重新读取后重试") from exc
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]

__all__ = ["DbSession", "PeriodicTask", "ServiceRuntime", "create_service_app", "get_session"]


def combine_handlers(*tables: dict[str, Handler]) -> dict[str, Handler]:
    """One handler per event type, running each module's reaction in order in the same
    transaction (projection first, then what depends on it)."""
    chains: dict[str, list[Handler]] = defaultdict(list)
    for table in tables:
        for name, handler in table.items():
            chains[name].append(handler)

    def chain(handlers: Sequence[Handler]) -> Handler:
        if len(handlers) == 1:
            return handlers[0]

        async def run(session, event) -> None:
            for handler in handlers:
                await handler(session, event)
        return run

    return {name: chain(handlers) for name, handlers in chains.items()}
