"""Database plumbing: one async engine and session factory per service (SQLite or PostgreSQL).

The edge (request dependency, consumer wrapper) owns the transaction: it opens a session,
commits or rolls back. Domain services only ``add`` and ``flush``.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> sa.MetaData:
    """A MetaData with the project-wide constraint naming convention (stable migrations)."""
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Abstract root; each service declares ``class Base(shared.db.Base)`` with its own metadata."""

    __abstract__ = True


CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: A file holding the date the services should take as "today" in China (``YYYY-MM-DD``), for
#: replaying a synthetic year with scheduled sweeps (tests, benchmarks, rehearsals). Unset in
#: production, where the settings refuse it. Read on every call (one ``stat`` while unchanged)
#: so every process sharing the file moves together when a test moves the date.
CLOCK_FILE_ENV = "IPBRIDGE_CLOCK_FILE"
_clock_cache: tuple[float, timedelta] | None = None


def _clock_offset() -> timedelta:
    """How far the controllable clock is from the real one (zero when no clock file is set)."""
    global _clock_cache
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return timedelta(0)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return timedelta(0)
    if _clock_cache is None or _clock_cache[0] != mtime:
        with open(path, encoding="utf-8") as fh:
            wanted = date.fromisoformat(fh.read().strip())
        _clock_cache = (mtime, timedelta(days=(wanted - datetime.now(CHINA_TZ).date()).days))
    return _clock_cache[1]


def set_clock(path: str | os.PathLike[str], day: date) -> None:
    """Move the controllable clock of every process reading ``path`` to ``day`` (atomically)."""
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(day.isoformat())
    os.replace(tmp, path)


def utcnow() -> datetime:
    return datetime.now(UTC) + _clock_offset()


def today_cn() -> date:
    """Today's date in China: policy periods and validity dates are counted in local days."""
    return (datetime.now(CHINA_TZ) + _clock_offset()).date()


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC values")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    """Create the service's engine. SQLite gets WAL and a busy timeout so relay and requests coexist."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised via every test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine, sync_session_class: type[Session] = Session
                        ) -> async_sessionmaker[AsyncSession]:
    """Sessions for one service; its own ``sync_session_class`` scopes commit listeners to it."""
    return async_sessionmaker(engine, expire_on_commit=False,
                              sync_session_class=sync_session_class)
