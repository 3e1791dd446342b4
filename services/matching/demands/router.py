"""HTTP for the technology demand library (技术需求库): parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.matching.db import KERNEL
from services.matching.demands import service
from services.matching.demands.schemas import (DemandClosure, DemandCreate, DemandPage,
                                               DemandRead, DemandUpdate)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller

router = APIRouter(tags=["demands"])

DEMAND_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                        r"[0-9a-f]{12}$", description="Demand id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description="The demand's ETag (or send revision)")]
WRITE_ERRORS = {403: {"description": "Not the demanding enterprise (or market_regulation)"},
                404: {"description": "Unknown demand"},
                409: {"description": "The demand is closed"},
                412: {"description": "The revision sent is not the current one"},
                422: {"description": "A field broke a rule (problem+json names field and rule)"},
                428: {"description": "Neither If-Match nor revision was sent"}}


def _etag(revision: int) -> str:
    return f'"{revision}"'


def _read(row) -> DemandRead:
    return DemandRead(**service.read_model(row))


@router.post("/demands", status_code=201, response_model=DemandRead, responses=WRITE_ERRORS,
             summary="Post a technology demand (an enterprise for itself, or market_regulation)")
async def post_demand(body: DemandCreate, session: DbSession, caller: Caller, request: Request,
                      idempotency_key: IdempotencyKey = None):
    """Title 4-200 chars, description up to 5,000; IPC hints are normalised (h01m → H01M);
    budget_min ≤ budget_max; the deadline not in the past; industry and region default to the
    enterprise's. The enterprise must be known to matching (422 otherwise). Emits
    ``demand.posted``."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    row = await service.post(session, body, caller)
    content = jsonable_encoder(_read(row))
    headers = {"Location": f"/v1/demands/{row.id}", "ETag": _etag(row.revision)}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


@router.get("/demands", response_model=DemandPage,
            summary="List demands, newest first (cursor pagination)")
async def list_demands(
    session: DbSession, caller: Caller,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    industry_code: Annotated[str | None, Query(max_length=10, description="prefix, e.g. C39")
                             ] = None,
    region_code: Annotated[str | None, Query(max_length=6, description="prefix, e.g. 14")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DemandPage:
    """The demand library is open to every authenticated caller (patentees look for demands)."""
    rows, next_cursor = await service.search(
        session, service.Filters(status, uscc, industry_code, region_code), cursor=cursor,
        limit=limit)
    return DemandPage(items=[_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/demands/{demand_id}", response_model=DemandRead, summary="One demand")
async def read_demand(demand_id: DEMAND_ID, session: DbSession, caller: Caller,
                      response: Response) -> DemandRead:
    """Its ETag is what PATCH expects in If-Match."""
    row = await service.get_or_404(session, demand_id)
    response.headers["ETag"] = _etag(row.revision)
    return _read(row)


@router.patch("/demands/{demand_id}", response_model=DemandRead, responses=WRITE_ERRORS,
              summary="Edit an open demand (the enterprise, or market_regulation)")
async def update_demand(demand_id: DEMAND_ID, body: DemandUpdate, session: DbSession,
                        caller: Caller, response: Response,
                        if_match: IfMatch = None) -> DemandRead:
    """Fields left out stay; the revision read must still be current (412 otherwise). Emits
    ``demand.updated`` when something changed."""
    row = await service.get_or_404(session, demand_id, for_update=True)
    row = await service.update(session, row, body, caller, if_match)
    response.headers["ETag"] = _etag(row.revision)
    return _read(row)


@router.post("/demands/{demand_id}/closure", response_model=DemandRead, responses=WRITE_ERRORS,
             summary="Close a demand: fulfilled, withdrawn or other")
async def close_demand(demand_id: DEMAND_ID, body: DemandClosure, session: DbSession,
                       caller: Caller, response: Response) -> DemandRead:
    """open → closed; emits ``demand.closed``. Demands past their deadline are closed as
    ``expired`` by a periodic task."""
    row = await service.get_or_404(session, demand_id, for_update=True)
    row = await service.close(session, row, body, caller)
    response.headers["ETag"] = _etag(row.revision)
    return _read(row)
