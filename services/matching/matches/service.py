"""Matching with the index: demand → patents, enterprise → patents, patent → enterprises
(reverse), and pushes (精准推送) with the score components that explain each one."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.db import ENTERPRISES, KERNEL
from services.matching.demands.models import Demand
from services.matching.engine import packs
from services.matching.engine.index import Match, Query, SearchIndex, query_tokens
from services.matching.engine.ipc import normalise_hint
from services.matching.facts.models import PatentFact, PatentOwnerFact, PoolFact
from services.matching.licenses.models import License
from services.matching.matches import indexer
from services.matching.matches.models import Push, PushRequest
from services.matching.openlicenses.models import OpenLicense
from shared.app import PeriodicTask
from shared.db import utcnow
from shared.outbox import emit
from shared.projections import dialect_insert

log = structlog.get_logger("matching.matches")

#: Bounds on the reverse search (an enterprise registry can be large): candidates come from
#: open demands, owners of patents in the same IPC subclass, pool members and the same industry.
MAX_DEMANDS = 2000
MAX_PROFILE_PATENTS = 1000
MAX_PROFILE_ENTERPRISES = 500
PATENTS_PER_PROFILE = 10


def push_settings():
    return packs.current().data.push


# --- queries ------------------------------------------------------------------------------------

def ipc_hints(codes: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    out = []
    for code in codes or ():
        normal = normalise_hint(code)
        if normal and normal not in out:
            out.append(normal)
    return tuple(out)


_QUERY_CACHE: OrderedDict[tuple[str, int], Query] = OrderedDict()
_QUERY_CACHE_SIZE = 20_000


def demand_query(demand: Demand) -> Query:
    """The demand as a query, tokenised once per revision (reverse matching reads thousands)."""
    key = (demand.id, demand.revision)
    cached = _QUERY_CACHE.get(key)
    if cached is not None:
        _QUERY_CACHE.move_to_end(key)
        return cached
    query = _demand_query(demand)
    _QUERY_CACHE[key] = query
    if len(_QUERY_CACHE) > _QUERY_CACHE_SIZE:
        _QUERY_CACHE.popitem(last=False)
    return query


def _demand_query(demand: Demand) -> Query:
    return Query(tokens=query_tokens(title=demand.title, description=demand.description,
                                     technical_field=demand.technical_field),
                 ipc_codes=ipc_hints(demand.ipc_hints), region_code=demand.region_code,
                 industry_code=demand.industry_code,
                 budget_min_cny=decimal_or_none(demand.budget_min_cny),
                 budget_max_cny=decimal_or_none(demand.budget_max_cny))


def decimal_or_none(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


@dataclass
class Profile:
    """What matching knows of an enterprise's technology: its own patents, its open demands."""

    uscc: str
    name: str | None
    region_code: str | None
    industry_code: str | None
    titles: list[str]
    ipc_codes: list[str]
    demands: list[Demand]

    def query(self) -> Query:
        text = "；".join(self.titles + [d.title for d in self.demands])
        description = "；".join(d.description for d in self.demands if d.description)
        hints = list(self.ipc_codes) + [h for d in self.demands for h in d.ipc_hints or []]
        return Query(tokens=query_tokens(title=text, description=description or None),
                     ipc_codes=ipc_hints(hints), region_code=self.region_code,
                     industry_code=self.industry_code)


async def _enterprises(session: AsyncSession, usccs: list[str]) -> dict[str, Any]:
    if not usccs:
        return {}
    rows = (await session.execute(sa.select(ENTERPRISES)
                                  .where(ENTERPRISES.c.uscc.in_(usccs)))).all()
    return {r.uscc: r for r in rows}


async def profiles(session: AsyncSession, usccs: list[str]) -> dict[str, Profile]:
    """Profiles of ``usccs``: enterprise facts, up to ten of their patents, open demands."""
    enterprises = await _enterprises(session, usccs)
    owned = (await session.execute(
        sa.select(PatentOwnerFact.uscc, PatentFact.title, PatentFact.ipc_codes)
        .join(PatentFact, PatentFact.application_no == PatentOwnerFact.application_no)
        .where(PatentOwnerFact.uscc.in_(usccs)).order_by(PatentFact.application_no))).all()
    demands = (await session.scalars(
        sa.select(Demand).where(Demand.uscc.in_(usccs), Demand.status == "open"))).all()
    out: dict[str, Profile] = {}
    for uscc in usccs:
        e = enterprises.get(uscc)
        out[uscc] = Profile(uscc=uscc, name=e.name if e else None,
                            region_code=e.region_code if e else None,
                            industry_code=e.industry_code if e else None,
                            titles=[], ipc_codes=[], demands=[])
    for uscc, title, ipc in owned:
        p = out[uscc]
        if len(p.titles) < PATENTS_PER_PROFILE:
            p.titles.append(title)
            p.ipc_codes.extend(c for c in ipc or [] if c not in p.ipc_codes)
    for d in demands:
        out[d.uscc].demands.append(d)
    return out


# --- results ------------------------------------------------------------------------------------

def _fee(row: OpenLicense) -> dict[str, Any]:
    money = lambda v: f"{Decimal(v):.2f}" if v is not None else None  # noqa: E731
    return {"payment_method": row.payment_method, "lump_sum_cny": money(row.lump_sum_cny),
            "entry_fee_cny": money(row.entry_fee_cny),
            "royalty_rate": (format(Decimal(row.royalty_rate).normalize(), "f")
                             if row.royalty_rate is not None else None),
            "royalty_base": row.royalty_base}


def result_of(rank: int, match: Match, row: OpenLicense) -> dict[str, Any]:
    return {"rank": rank, "open_license_id": row.id, "application_no": row.application_no,
            "title": row.title, "ipc_codes": list(row.ipc_codes or []),
            "patentee": {"uscc": row.patentee_uscc, "name": row.patentee_name,
                         "type": row.patentee_type},
            "region_code": row.region_code, "fee": _fee(row),
            "term": {"starts_on": row.starts_on, "ends_on": row.ends_on},
            "score": round(match.score, 6), "components": match.components}


async def results(session: AsyncSession, matches: list[Match]) -> list[dict[str, Any]]:
    """Join the index's matches with the declarations; one that left ``published`` since the
    index last looked is dropped (the index catches up within a second)."""
    if not matches:
        return []
    rows = {r.id: r for r in (await session.scalars(
        sa.select(OpenLicense).where(OpenLicense.id.in_([m.doc_id for m in matches])))).all()}
    out = []
    for m in matches:
        row = rows.get(m.doc_id)
        if row is not None and indexer.searchable(row):
            out.append(result_of(len(out) + 1, m, row))
    return out


# --- reverse: a patent to the enterprises it fits -----------------------------------------------

@dataclass
class Candidate:
    uscc: str
    name: str | None
    score: float
    components: dict[str, Any]
    reason: str            # demand | profile
    demand_id: str | None
    pool_member: bool
    already_pushed: bool = False


def _subclasses(codes: list[str]) -> list[str]:
    return sorted({c[:4] for c in codes if len(c) >= 4})


async def _profile_usccs(session: AsyncSession, row: OpenLicense, pool: set[str]) -> list[str]:
    """Pool enterprises (all of them: they are served first), then owners of patents in the
    licence's IPC subclasses, then enterprises of its industries, up to the bound."""
    found: list[str] = sorted(pool)
    for subclass in _subclasses(row.ipc_codes or []):
        like = f'%"{subclass} %'
        owners = (await session.scalars(
            sa.select(PatentOwnerFact.uscc).distinct()
            .join(PatentFact, PatentFact.application_no == PatentOwnerFact.application_no)
            .where(PatentOwnerFact.uscc.is_not(None),
                   sa.cast(PatentFact.ipc_codes, sa.String).like(like))
            .limit(MAX_PROFILE_PATENTS))).all()
        found.extend(o for o in owners if o not in found)
    industries = {c[:3] for c in row.industry_codes or [] if len(c) >= 3}
    if industries:
        same = (await session.scalars(
            sa.select(ENTERPRISES.c.uscc)
            .where(sa.or_(*[ENTERPRISES.c.industry_code.like(f"{i}%") for i in industries]))
            .order_by(ENTERPRISES.c.uscc).limit(MAX_PROFILE_ENTERPRISES))).all()
        found.extend(u for u in same if u not in found)
    return found[:MAX_PROFILE_ENTERPRISES + len(pool)]


async def pool_members(session: AsyncSession) -> set[str]:
    rows = (await session.scalars(sa.select(PoolFact.uscc)
                                  .where(PoolFact.status.in_(("admitted", "graduated"))))).all()
    return set(rows)


async def reverse_candidates(session: AsyncSession, index: SearchIndex, row: OpenLicense,
                             *, limit: int) -> list[Candidate]:
    """The enterprises to push ``row`` to: each scored by the same blend as forward matching
    (its best open demand, else its profile), pool enterprises first (五部门 2024), those that
    already hold a licence to the patent and the patentee itself left out."""
    settings = push_settings()
    pool = await pool_members(session)
    best: dict[str, Candidate] = {}

    def consider(c: Candidate) -> None:
        held = best.get(c.uscc)
        if held is None or c.score > held.score:
            best[c.uscc] = c

    demands = list((await session.scalars(
        sa.select(Demand).where(Demand.status == "open").order_by(Demand.changed_at.desc())
        .limit(MAX_DEMANDS))).all())
    found = await profiles(session, await _profile_usccs(session, row, pool))

    def score_all() -> None:
        # CPU only (tokenising, BM25): off the event loop, so heartbeats, the relay and health
        # probes keep running while thousands of demands and profiles are scored.
        for d in demands:
            m = index.explain(demand_query(d), row.id)
            if m is not None:
                consider(Candidate(d.uscc, d.enterprise_name, m.score, m.components, "demand",
                                   d.id, d.uscc in pool))
        for uscc, profile in found.items():
            if profile.name is None and not profile.titles:
                continue  # neither registered with matching nor owning a patent: nothing to use
            m = index.explain(profile.query(), row.id)
            if m is not None:
                consider(Candidate(uscc, profile.name, m.score, m.components, "profile", None,
                                   uscc in pool))

    await asyncio.to_thread(score_all)
    owners = set((await session.scalars(sa.select(PatentOwnerFact.uscc).where(
        PatentOwnerFact.application_no == row.application_no))).all())
    excluded = {row.patentee_uscc} | owners | set((await session.scalars(
        sa.select(License.licensee_uscc).where(License.application_no == row.application_no)
    )).all())
    pushed = set((await session.scalars(
        sa.select(Push.uscc).where(Push.application_no == row.application_no))).all())
    out = [c for c in best.values() if c.uscc not in excluded and c.score >= settings.min_score]
    for c in out:
        c.already_pushed = c.uscc in pushed
    out.sort(key=lambda c: ((not c.pool_member) if settings.pool_first else False,
                            -c.score, c.uscc))
    return out[:limit]


# --- pushes -------------------------------------------------------------------------------------

async def _record_push(session: AsyncSession, *, uscc: str, name: str | None, row: OpenLicense,
                       score: float, components: dict, reason: str, demand_id: str | None,
                       pool_member: bool, by: str) -> Push | None:
    """Insert one push and its event; None if this enterprise already had this patent.

    One statement that does nothing on the (uscc, application_no) conflict: another replica's
    push of the same pair a moment ago leaves this one out, without a savepoint (which pysqlite
    would commit on its own, apart from the event)."""
    values = dict(id=str(uuid.uuid4()), uscc=uscc, enterprise_name=name, open_license_id=row.id,
                  application_no=row.application_no, title=row.title, score=round(score, 6),
                  components=components, reason=reason, demand_id=demand_id,
                  pool_member=pool_member, pushed_by=by[:120], pushed_at=utcnow())
    result = await session.execute(
        dialect_insert(session)(Push).values(**values)
        .on_conflict_do_nothing(index_elements=[Push.uscc, Push.application_no]))
    if result.rowcount == 0:
        return None
    push = Push(**values)
    await emit(session, KERNEL.outbox, "match.pushed", key=uscc, subject=row.application_no,
               data={"push_id": push.id, "uscc": uscc, "enterprise_name": name,
                     "open_license_id": row.id, "application_no": row.application_no,
                     "title": row.title, "score": min(1.0, max(0.0, push.score)),
                     "components": components, "reason": reason, "demand_id": demand_id,
                     "pool_member": pool_member, "pushed_at": push.pushed_at.isoformat()})
    return push


async def push_patent(session: AsyncSession, index: SearchIndex, row: OpenLicense, *,
                      by: str, reason_override: str | None = None,
                      limit: int | None = None) -> dict[str, Any]:
    """Push ``row`` to its best enterprises (top N of the pack, pool first); returns what was
    pushed and what was skipped (already pushed)."""
    settings = push_settings()
    candidates = await reverse_candidates(session, index, row, limit=limit or settings.top_n)
    pushed, skipped = [], []
    for c in candidates:
        push = await _record_push(session, uscc=c.uscc, name=c.name, row=row, score=c.score,
                                  components=c.components, reason=reason_override or c.reason,
                                  demand_id=c.demand_id, pool_member=c.pool_member, by=by)
        (pushed if push is not None else skipped).append(c.uscc)
    log.info("matching.pushed", open_license_id=row.id, pushed=len(pushed), skipped=len(skipped))
    return {"open_license_id": row.id, "pushed": pushed, "already_pushed": skipped}


async def push_to_enterprise(session: AsyncSession, index: SearchIndex, uscc: str, *,
                             reason: str, by: str) -> dict[str, Any]:
    """Push the open licences that best fit ``uscc`` (its patents, demands, industry, region)."""
    settings = push_settings()
    profile = (await profiles(session, [uscc]))[uscc]
    pool = uscc in await pool_members(session)
    own = set((await session.scalars(sa.select(OpenLicense.id).where(
        OpenLicense.patentee_uscc == uscc))).all())
    matches = [m for m in index.search(profile.query(), k=settings.top_n + len(own),
                                       exclude=own) if m.score >= settings.min_score]
    rows = {r.id: r for r in (await session.scalars(sa.select(OpenLicense).where(
        OpenLicense.id.in_([m.doc_id for m in matches])))).all()}
    pushed, skipped = [], []
    for m in matches[:settings.top_n]:
        row = rows.get(m.doc_id)
        if row is None or not indexer.searchable(row):
            continue
        push = await _record_push(session, uscc=uscc, name=profile.name, row=row, score=m.score,
                                  components=m.components, reason=reason, demand_id=None,
                                  pool_member=pool, by=by)
        (pushed if push is not None else skipped).append(row.application_no)
    return {"uscc": uscc, "pushed": pushed, "already_pushed": skipped}


async def request_push(session: AsyncSession, *, reason: str, by: str,
                       open_license_id: str | None = None, uscc: str | None = None) -> None:
    session.add(PushRequest(open_license_id=open_license_id, uscc=uscc, reason=reason,
                            requested_by=by[:120], requested_at=utcnow(), attempts=0))
    await session.flush()


#: A request is retried (the index catching up, a failure) about once a second this many
#: times, then closed with its last error: it never blocks the queue behind it.
MAX_ATTEMPTS = 60


class _NotYet(Exception):
    """This replica's index does not hold the declaration as it is now: try again later."""


async def _do_request(session: AsyncSession, request: PushRequest, index: SearchIndex,
                      holder: indexer.IndexHolder) -> dict[str, Any]:
    if request.open_license_id is not None:
        row = await session.get(OpenLicense, request.open_license_id)
        if row is None or not indexer.searchable(row):
            return {"skipped": "not searchable"}
        if not holder.holds(row):
            raise _NotYet(f"index does not hold {row.id} at revision {row.revision} yet")
        return await push_patent(session, index, row, by=request.requested_by)
    return await push_to_enterprise(session, index, request.uscc or "", reason=request.reason,
                                    by=request.requested_by)


async def process_requests(factory: async_sessionmaker[AsyncSession], batch: int = 20) -> dict:
    """Do queued push work with the (refreshed) index, one request per transaction; a request
    the index cannot serve yet, or that fails, is retried without holding up the others."""
    index = await indexer.ready_index(factory)
    holder = indexer.holder_of_factory(factory)
    async with factory() as session:
        ids = (await session.scalars(sa.select(PushRequest.id)
                                     .where(PushRequest.done_at.is_(None))
                                     .order_by(PushRequest.attempts, PushRequest.id)
                                     .limit(batch))).all()
    done = waiting = 0
    for request_id in ids:
        error: str | None = None
        try:
            async with factory() as session, session.begin():
                request = await session.scalar(
                    sa.select(PushRequest).where(PushRequest.id == request_id,
                                                 PushRequest.done_at.is_(None))
                    .with_for_update(skip_locked=True))
                if request is None:
                    continue  # another replica took it
                result = await _do_request(session, request, index, holder)
                request.done_at, request.result = utcnow(), result
                request.attempts += 1
                done += 1
                continue
        except _NotYet as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded, retried, then closed
            error = f"{type(exc).__name__}: {exc}"
            log.warning("matching.push_request.failed", request_id=request_id, error=error)
        waiting += 1
        async with factory() as session, session.begin():
            request = await session.get(PushRequest, request_id)
            if request is None or request.done_at is not None:
                continue
            request.attempts += 1
            request.last_error = error[:2000] if error else None
            if request.attempts >= MAX_ATTEMPTS:
                request.done_at = utcnow()
                request.result = {"failed": request.last_error, "attempts": request.attempts}
                log.error("matching.push_request.given_up", request_id=request_id,
                          error=request.last_error)
    return {"push_requests": done, "push_requests_waiting": waiting}


async def index_task(factory: async_sessionmaker[AsyncSession]) -> dict:
    """Every second: bring the index up to date, then do queued push work."""
    counts = await indexer.refresh(factory)
    return counts | await process_requests(factory)


#: The index poll, twice a second: a published, withdrawn or suspended declaration is
#: searchable (or gone) within about half a second, on every replica.
PERIODIC_TASKS = [PeriodicTask("match-index", 0.5, index_task)]
