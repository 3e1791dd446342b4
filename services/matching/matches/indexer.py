"""The in-memory search index of one matching process, kept current from the service's tables.

Every replica builds its own index from ``open_licenses`` at start (the index can always be
rebuilt from matching's own tables) and then polls the rows changed since its last look, every
second: a declaration published, withdrawn, suspended by a lapse or a pledge, or reinstated,
reaches the index within about a second of the commit that changed it, whichever replica (or
event handler) made that commit. The poll re-reads an overlap window and compares each row's
``(revision, changed_at)`` with what the index holds, so a transaction that committed late is
not missed and a row seen twice is applied once.

Indexes are held per database (the engine's URL): tests run several apps in one process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.matching.engine.index import Doc, SearchIndex, document_tokens
from services.matching.openlicenses.models import OpenLicense
from shared.db import today_cn, utcnow

log = structlog.get_logger("matching.index")

#: Rows changed this long before the previous poll started are read again (late commits).
OVERLAP = timedelta(seconds=60)
SEARCHABLE = "published"


@dataclass
class IndexHolder:
    index: SearchIndex | None = None
    versions: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)
    ends: dict[str, date] = field(default_factory=dict)
    since: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    built_at: datetime | None = None
    refreshed_at: datetime | None = None
    build_seconds: float | None = None
    builds: int = 0

    @property
    def ready(self) -> bool:
        return self.index is not None

    def stats(self) -> dict[str, Any]:
        engine = self.index.stats() if self.index is not None else {}
        return {"ready": self.ready, "documents": len(self.index) if self.index else 0,
                "built_at": self.built_at, "refreshed_at": self.refreshed_at,
                "build_seconds": self.build_seconds, "builds": self.builds, "engine": engine}


_HOLDERS: dict[str, IndexHolder] = {}


def _key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


def holder_for(engine: AsyncEngine) -> IndexHolder:
    return _HOLDERS.setdefault(_key(engine), IndexHolder())


def holder_of_factory(factory: async_sessionmaker[AsyncSession]) -> IndexHolder:
    return holder_for(factory.kw["bind"])


def doc_of(row: OpenLicense) -> Doc:
    """The engine's view of one declaration (text tokenised here: call off the event loop)."""
    return Doc(
        doc_id=row.id, application_no=row.application_no, title=row.title,
        tokens=document_tokens(title=row.title, abstract=row.abstract, claims=row.claims,
                               technical_field=row.technical_field,
                               application_scenarios=row.application_scenarios,
                               keywords=tuple(row.keywords or ())),
        ipc_codes=tuple(row.ipc_codes or ()), region_code=row.region_code,
        industry_codes=tuple(row.industry_codes or ()),
        lump_sum_cny=_money(row.lump_sum_cny if row.lump_sum_cny is not None
                            else row.entry_fee_cny),
        royalty_rate=_money(row.royalty_rate),
        payment_method=_ENGINE_METHODS.get(row.payment_method, row.payment_method),
        patentee_type=row.patentee_type, grant_date=row.grant_date)


#: The declaration's payment methods in the engine's words.
_ENGINE_METHODS = {"entry_fee_plus_royalty": "entry_fee_royalty"}


def _money(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _version(row: OpenLicense) -> tuple[int, datetime | None]:
    return (row.revision, row.changed_at)


def searchable(row: OpenLicense, on: date | None = None) -> bool:
    """Published, and its licence term has not ended (a licence can no longer be taken on
    terms that ran out, even before anyone marks the declaration)."""
    return row.status == SEARCHABLE and row.ends_on >= (on or today_cn())


async def _build(holder: IndexHolder, factory: async_sessionmaker[AsyncSession]) -> dict:
    started = utcnow()
    clock = time.perf_counter()
    async with factory() as session:
        rows = [r for r in (await session.scalars(
            sa.select(OpenLicense).where(OpenLicense.status == SEARCHABLE))).all()
            if searchable(r)]
        versions = {r.id: _version(r) for r in rows}
    docs = await asyncio.to_thread(lambda: [doc_of(r) for r in rows])
    holder.index = await asyncio.to_thread(SearchIndex, docs)
    holder.versions = versions
    holder.ends = {r.id: r.ends_on for r in rows}
    holder.since = started
    holder.build_seconds = round(time.perf_counter() - clock, 3)
    holder.built_at = holder.refreshed_at = utcnow()
    holder.builds += 1
    log.info("matching.index.built", documents=len(docs), seconds=holder.build_seconds)
    return {"built": len(docs)}


async def _catch_up(holder: IndexHolder, factory: async_sessionmaker[AsyncSession]) -> dict:
    started = utcnow()
    assert holder.index is not None and holder.since is not None
    async with factory() as session:
        rows = list((await session.scalars(
            sa.select(OpenLicense).where(OpenLicense.changed_at >= holder.since - OVERLAP)
            .order_by(OpenLicense.changed_at))).all())
    added = removed = 0
    fresh: list[OpenLicense] = []
    today = today_cn()
    for row in rows:
        held = holder.versions.get(row.id)
        if searchable(row, today):
            if held != _version(row):
                fresh.append(row)
        elif row.id in holder.versions:
            _drop(holder, row.id)
            removed += 1
    for doc_id in [d for d, ends in holder.ends.items() if ends < today]:
        _drop(holder, doc_id)   # its term ran out today: no row changed, the calendar did
        removed += 1
    if fresh:
        docs = await asyncio.to_thread(lambda: [doc_of(r) for r in fresh])
        for row, doc in zip(fresh, docs, strict=True):
            holder.index.upsert(doc)
            holder.versions[row.id] = _version(row)
            holder.ends[row.id] = row.ends_on
        added = len(docs)
    holder.since = started
    holder.refreshed_at = utcnow()
    if added or removed:
        log.info("matching.index.updated", upserted=added, removed=removed,
                 documents=len(holder.index))
    return {"upserted": added, "removed": removed}


def _drop(holder: IndexHolder, doc_id: str) -> None:
    assert holder.index is not None
    holder.index.remove(doc_id)
    holder.versions.pop(doc_id, None)
    holder.ends.pop(doc_id, None)


async def refresh(factory: async_sessionmaker[AsyncSession]) -> dict:
    """Build the index on first use, then apply what changed since the last poll."""
    holder = holder_of_factory(factory)
    async with holder.lock:
        if holder.index is None:
            return await _build(holder, factory)
        return await _catch_up(holder, factory)


async def rebuild(factory: async_sessionmaker[AsyncSession]) -> dict:
    """Throw the index away and build it again from the tables (ops)."""
    holder = holder_of_factory(factory)
    async with holder.lock:
        return await _build(holder, factory)


async def ready_index(factory: async_sessionmaker[AsyncSession]) -> SearchIndex:
    """The index, built now if this process has not built it yet (first request after start)."""
    holder = holder_of_factory(factory)
    if holder.index is None:
        await refresh(factory)
    assert holder.index is not None
    return holder.index
