"""HTTP for matching: a demand's best patents, free search, a patent's best enterprises,
pushes, and the index's state (ops)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request

from services.matching.demands.models import Demand
from services.matching.engine.index import Query as EngineQuery
from services.matching.engine.index import query_tokens
from services.matching.engine.ipc import normalise_hint
from services.matching.matches import indexer, service
from services.matching.matches.models import Push, PushRequest
from services.matching.matches.schemas import (Candidates, DemandMatches, IndexStats, PushCreate,
                                               PushOutcome, PushPage, PushRead, SearchResults)
from services.matching.openlicenses.models import OpenLicense
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.pagination import newest_first

router = APIRouter(tags=["matches"])

CanPush = Annotated[Principal, Depends(require(scopes=("matching:push",)))]
CanOperate = Annotated[Principal, Depends(require(scopes=("ops",)))]
ID_PATH = Annotated[str, Path(min_length=36, max_length=36, description="uuid")]
K = Annotated[int, Query(ge=1, le=100, description="how many results")]


def _factory(request: Request):
    return request.app.state.sessionmaker


def _index_state(request: Request) -> dict:
    holder = indexer.holder_of_factory(_factory(request))
    return {"documents": len(holder.index) if holder.index is not None else 0,
            "refreshed_at": holder.refreshed_at}


@router.get("/demands/{demand_id}/matches", response_model=DemandMatches,
            summary="The open-licence patents that best fit a technology demand, explained")
async def demand_matches(demand_id: ID_PATH, session: DbSession, caller: Caller,
                         request: Request, k: K = 10) -> dict:
    demand = await session.get(Demand, demand_id)
    if demand is None:
        raise NotFound(f"no demand {demand_id}", detail_zh="未找到该技术需求")
    index = await indexer.ready_index(_factory(request))
    matches = index.search(service.demand_query(demand), k=k)
    return {"demand_id": demand.id, "title": demand.title,
            "results": await service.results(session, matches), "index": _index_state(request)}


@router.get("/search", response_model=SearchResults,
            summary="Search the published open licences in Chinese (or by IPC), explained")
async def search(
    session: DbSession, caller: Caller, request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="what you need, in "
                            "your own words, e.g. 煤矿井下瓦斯浓度监测")],
    ipc: Annotated[list[str] | None, Query(max_length=10, description="IPC hints, e.g. H01M "
                                           "or H01M 10/0525")] = None,
    industry_code: Annotated[str | None, Query(pattern=r"^[A-T]([0-9]{2,4})?$",
                                               description="GB/T 4754-2017")] = None,
    region_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    budget_max_cny: Annotated[str | None, Query(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")] = None,
    k: K = 10,
) -> dict:
    for raw in ipc or []:
        if raw.strip() and normalise_hint(raw) is None:
            raise InvalidInput("query.ipc", "ipc.invalid", f"{raw!r} is not an IPC symbol "
                               "(section, class, subclass, group: H, H01, H01M, H01M 10/0525)",
                               message_zh="IPC 分类号格式不正确")
    hints = service.ipc_hints(ipc)
    query = EngineQuery(tokens=query_tokens(title=q), ipc_codes=hints, region_code=region_code,
                        industry_code=industry_code,
                        budget_max_cny=service.decimal_or_none(budget_max_cny))
    index = await indexer.ready_index(_factory(request))
    matches = index.search(query, k=k)
    return {"query": q, "results": await service.results(session, matches),
            "index": _index_state(request)}


async def _open_license(session, open_license_id: str) -> OpenLicense:
    row = await session.get(OpenLicense, open_license_id)
    if row is None:
        raise NotFound(f"no open licence {open_license_id}", detail_zh="未找到该开放许可")
    return row


@router.get("/open-licenses/{open_license_id}/candidates", response_model=Candidates,
            summary="The enterprises a published open licence fits best (reverse matching), "
                    "cultivation-pool enterprises first")
async def candidates(open_license_id: ID_PATH, session: DbSession, caller: Caller,
                     request: Request, k: K = 20) -> dict:
    row = await _open_license(session, open_license_id)
    if not (caller.has("matching:push") or (caller.org and caller.org == row.patentee_uscc)):
        raise Forbidden("reverse matching is for the IP office (matching:push) and the patentee",
                        detail_zh="仅知识产权管理部门和专利权人可查看推送对象",
                        required_scopes=["matching:push"])
    if not indexer.searchable(row):
        raise InvalidInput("path.open_license_id", "open_license.not_published",
                           f"the open licence is not open to take (status {row.status}, term ends "
                           f"{row.ends_on.isoformat()}): it is not matched",
                           message_zh="该开放许可未处于公告状态")
    index = await indexer.ready_index(_factory(request))
    found = await service.reverse_candidates(session, index, row, limit=k)
    return {"open_license_id": row.id, "application_no": row.application_no,
            "candidates": [c.__dict__ for c in found]}


@router.post("/pushes", response_model=PushOutcome, status_code=200,
             summary="Push now: one patent to its best enterprises, or the best patents to "
                     "one enterprise; nobody gets the same patent twice")
async def push_now(body: PushCreate, session: DbSession, caller: CanPush,
                   request: Request) -> dict:
    index = await indexer.ready_index(_factory(request))
    by = f"{caller.department}:{caller.subject}"
    if body.open_license_id is not None:
        row = await _open_license(session, body.open_license_id)
        if not indexer.searchable(row):
            raise InvalidInput("body.open_license_id", "open_license.not_published",
                               f"the open licence is not open to take (status {row.status}, "
                               f"term ends {row.ends_on.isoformat()})",
                               message_zh="该开放许可未处于公告状态")
        out = await service.push_patent(session, index, row, by=by, reason_override="officer",
                                        limit=body.limit)
        return {"pushed": out["pushed"], "already_pushed": out["already_pushed"]}
    out = await service.push_to_enterprise(session, index, body.uscc or "", reason="officer",
                                           by=by)
    return {"pushed": out["pushed"], "already_pushed": out["already_pushed"]}


@router.get("/pushes", response_model=PushPage,
            summary="Pushes received by an enterprise (newest first), with why")
async def list_pushes(
    session: DbSession, caller: Caller,
    uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    open_license_id: Annotated[str | None, Query(min_length=36, max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    privileged = caller.has("matching:push") or caller.department == "auditor"
    if not privileged:
        if not caller.org:
            raise Forbidden("an enterprise token (with org) reads its own pushes",
                            detail_zh="无权查看推送记录")
        if uscc is not None and uscc.upper() != caller.org.upper():
            raise Forbidden("an enterprise reads only its own pushes",
                            detail_zh="只能查看本企业收到的推送")
        uscc = caller.org.upper()
    query = sa.select(Push)
    if uscc:
        query = query.where(Push.uscc == uscc.upper())
    if open_license_id:
        query = query.where(Push.open_license_id == open_license_id)
    rows, next_cursor = await newest_first(session, query, Push.pushed_at, Push.id, cursor,
                                           limit)
    return {"items": [PushRead.model_validate(r, from_attributes=True) for r in rows],
            "next_cursor": next_cursor}


async def _with_queue(session, stats: dict) -> dict:
    rows = (await session.execute(
        sa.select(PushRequest.done_at.is_(None), sa.func.count()).select_from(PushRequest)
        .group_by(PushRequest.done_at.is_(None)))).all()
    counts = {bool(pending): n for pending, n in rows}
    return stats | {"pending_push_requests": counts.get(True, 0),
                    "done_push_requests": counts.get(False, 0)}


@router.get("/index", response_model=IndexStats,
            summary="The search index of this process, and the push work queued")
async def index_stats(caller: Caller, request: Request, session: DbSession) -> dict:
    if not (caller.has("ops") or caller.has("matching:push")):
        raise Forbidden("index state is for ops and the IP office", detail_zh="无权查看索引状态",
                        required_scopes=["ops"])
    return await _with_queue(session, indexer.holder_of_factory(_factory(request)).stats())


@router.post("/index/rebuild", response_model=IndexStats,
             summary="Rebuild this process's search index from matching's own tables")
async def index_rebuild(caller: CanOperate, request: Request, session: DbSession) -> dict:
    await indexer.rebuild(_factory(request))
    return await _with_queue(session, indexer.holder_of_factory(_factory(request)).stats())
