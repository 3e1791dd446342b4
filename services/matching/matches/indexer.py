"""The in-memory search index of one matching process, kept current from the service's tables.

Every replica builds its own index from ``open_licenses`` at start (the index can always be
rebuilt from matching's own tables) and then polls the rows changed since its last look, twice a
second: a declaration published, withdrawn, suspended by a lapse or a pledge, or reinstated,
reaches the index within about half a second of the commit that changed it, whichever replica (or
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
from services.matching.engine.tokenize import TOKENIZER_VERSION
from services.matching.matches.models import IndexTokens
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
    last_build: dict[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.index is not None

    def holds(self, row: OpenLicense) -> bool:
        """Whether the index has ``row`` as it is now (same revision and change time)."""
        return self.versions.get(row.id) == _version(row)

    def stats(self) -> dict[str, Any]:
        engine = self.index.stats() if self.index is not None else {}
        return {"ready": self.ready, "documents": len(self.index) if self.index else 0,
                "built_at": self.built_at, "refreshed_at": self.refreshed_at,
                "build_seconds": self.build_seconds, "builds": self.builds,
                "last_build": self.last_build, "engine": engine}


_HOLDERS: dict[str, IndexHolder] = {}


def _key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


def holder_for(engine: AsyncEngine) -> IndexHolder:
    return _HOLDERS.setdefault(_key(engine), IndexHolder())


def holder_of_factory(factory: async_sessionmaker[AsyncSession]) -> IndexHolder:
    return holder_for(factory.kw["bind"])


def tokens_of(row: OpenLicense) -> tuple[str, ...]:
    """jieba over the declaration's text (about 0.6 ms each: call off the event loop)."""
    return document_tokens(title=row.title, abstract=row.abstract, claims=row.claims,
                           technical_field=row.technical_field,
                           application_scenarios=row.application_scenarios,
                           keywords=tuple(row.keywords or ()))


def doc_of(row: OpenLicense, tokens: tuple[str, ...] | None = None) -> Doc:
    """The engine's view of one declaration; ``tokens`` from the cache when they are current."""
    return Doc(
        doc_id=row.id, application_no=row.application_no, title=row.title,
        tokens=tokens if tokens is not None else tokens_of(row),
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
        cached = await _cached_tokens(session, rows)
    docs, fresh = await asyncio.to_thread(_docs, rows, cached)
    await _store_tokens(factory, fresh)
    holder.index = await asyncio.to_thread(SearchIndex, docs)
    holder.versions = versions
    holder.ends = {r.id: r.ends_on for r in rows}
    holder.since = started
    holder.build_seconds = round(time.perf_counter() - clock, 3)
    holder.built_at = holder.refreshed_at = utcnow()
    holder.builds += 1
    holder.last_build = {"documents": len(docs), "tokenised": len(fresh),
                         "from_cache": len(docs) - len(fresh)}
    log.info("matching.index.built", seconds=holder.build_seconds, **holder.last_build)
    return {"built": len(docs)}


async def _catch_up(holder: IndexHolder, factory: async_sessionmaker[AsyncSession]) -> dict:
    started = utcnow()
    assert holder.index is not None and holder.since is not None
    async with factory() as session:
        # The window is read every second on every replica: only the columns that decide,
        # then the full rows (with their long claims) of those that changed.
        marks = (await session.execute(
            sa.select(OpenLicense.id, OpenLicense.revision, OpenLicense.changed_at,
                      OpenLicense.status, OpenLicense.ends_on)
            .where(OpenLicense.changed_at >= holder.since - OVERLAP)
            .order_by(OpenLicense.changed_at))).all()
        today = today_cn()
        wanted, removed = [], 0
        for mark in marks:
            if mark.status == SEARCHABLE and mark.ends_on >= today:
                if holder.versions.get(mark.id) != (mark.revision, mark.changed_at):
                    wanted.append(mark.id)
            elif mark.id in holder.versions:
                _drop(holder, mark.id)
                removed += 1
        fresh: list[OpenLicense] = []
        if wanted:
            fresh = [r for r in (await session.scalars(
                sa.select(OpenLicense).where(OpenLicense.id.in_(wanted)))).all()
                if searchable(r, today)]
    added = 0
    for doc_id in [d for d, ends in holder.ends.items() if ends < today]:
        _drop(holder, doc_id)   # its term ran out today: no row changed, the calendar did
        removed += 1
    if fresh:
        docs, computed = await asyncio.to_thread(_docs, fresh, {})
        await _store_tokens(factory, computed)
        for row, doc in zip(fresh, docs, strict=True):
            try:
                holder.index.upsert(doc)
            except Exception as exc:  # one bad document must not hold up the others
                log.error("matching.index.upsert_failed", open_license_id=row.id,
                          error=str(exc), error_type=type(exc).__name__)
                continue
            holder.versions[row.id] = _version(row)
            holder.ends[row.id] = row.ends_on
            added += 1
    holder.since = started
    holder.refreshed_at = utcnow()
    if added or removed:
        log.info("matching.index.updated", upserted=added, removed=removed,
                 documents=len(holder.index))
    return {"upserted": added, "removed": removed}


async def _cached_tokens(session: AsyncSession, rows: list[OpenLicense]
                         ) -> dict[str, tuple[str, ...]]:
    """Tokens stored for these rows by this tokenizer version at their current revision."""
    revisions = {r.id: r.revision for r in rows}
    found: dict[str, tuple[str, ...]] = {}
    ids = list(revisions)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for cached in (await session.scalars(sa.select(IndexTokens).where(
                IndexTokens.open_license_id.in_(chunk),
                IndexTokens.tokenizer_version == TOKENIZER_VERSION))).all():
            if cached.revision == revisions[cached.open_license_id]:
                found[cached.open_license_id] = tuple(cached.tokens)
    return found


def _docs(rows: list[OpenLicense], cached: dict[str, tuple[str, ...]]
          ) -> tuple[list[Doc], list[tuple[OpenLicense, tuple[str, ...]]]]:
    """Docs for ``rows``, tokenising those without cached tokens; returns what was computed."""
    docs, computed = [], []
    for row in rows:
        tokens = cached.get(row.id)
        if tokens is None:
            tokens = tokens_of(row)
            computed.append((row, tokens))
        docs.append(doc_of(row, tokens))
    return docs, computed


async def _store_tokens(factory: async_sessionmaker[AsyncSession],
                        computed: list[tuple[OpenLicense, tuple[str, ...]]]) -> None:
    """Keep what was tokenised for the next start (best effort: a failure only costs time)."""
    if not computed:
        return
    try:
        async with factory() as session, session.begin():
            now = utcnow()
            for start in range(0, len(computed), 1000):
                chunk = computed[start:start + 1000]
                await session.execute(sa.delete(IndexTokens).where(
                    IndexTokens.open_license_id.in_([row.id for row, _ in chunk])))
                session.add_all(IndexTokens(open_license_id=row.id, revision=row.revision,
                                            tokenizer_version=TOKENIZER_VERSION,
                                            tokens=list(tokens), stored_at=now)
                                for row, tokens in chunk)
                await session.flush()
    except Exception as exc:  # e.g. two replicas storing the same rows at once
        log.warning("matching.index.tokens_not_stored", error=str(exc),
                    error_type=type(exc).__name__, count=len(computed))


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
