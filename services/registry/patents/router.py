"""HTTP for patents, trademarks and high-value statistics: parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.registry.db import KERNEL
from services.registry.patents import service, stats, trademarks
from services.registry.patents.schemas import (PatentCreate, PatentPage, PatentRead,
                                               PatentUpdate, TrademarkCreate, TrademarkRead)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.db import today_cn
from shared.errors import Forbidden, check_if_match
from shared.projections import USCC_PATH

router = APIRouter(tags=["patents"])

CanWriteIP = Annotated[Principal, Depends(require(scopes=("ip:write",),
                                                  departments=("market_regulation",)))]
ApplicationNo = Annotated[str, Path(min_length=1, max_length=40,
                                    description="申请号 in any common form: 202410123456.0, "
                                                "ZL202410123456.0, CN 2024101234560, full-width")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe create: same key + same body → the same response, written once")]

_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Already registered (problem+json)"},
    422: {"description": "A field broke a rule; problem+json names the field and the rule"}}


def etag(revision: int) -> str:
    return f'"{revision}"'


async def _create(session, request: Request, caller: Principal, body, build) -> Any:
    """Idempotent create: replay a stored response, else build, respond 201 and store it."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    content, revision, path = await build()
    content = jsonable_encoder(content)
    headers = {"Location": path, "ETag": etag(revision)}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


@router.post("/patents", status_code=201, response_model=PatentRead, responses=_WRITE_ERRORS,
             summary="Register a patent or application (IP office)")
async def register_patent(body: PatentCreate, session: DbSession, caller: CanWriteIP,
                          request: Request, idempotency_key: IdempotencyKey = None):
    """Validate number (check char), IPC codes, owners and dates; assess high value.

    Emits ``patent.registered`` keyed by the first owner's USCC."""
    async def build():
        patent = await service.register(session, body, caller)
        return (PatentRead(**service.read_model(patent, caller)), patent.revision,
                f"/v1/patents/{patent.application_no}")
    return await _create(session, request, caller, body, build)


@router.get("/patents/{application_no}", response_model=PatentRead,
            summary="Read a patent: facts, status, high-value decision, open-licence blockers")
async def read_patent(application_no: ApplicationNo, session: DbSession, caller: Caller,
                      response: Response) -> PatentRead:
    """Messy forms in the path are canonicalised; ``Content-Location`` names the canonical one."""
    patent = await service.get_or_404(session, application_no)
    response.headers["ETag"] = etag(patent.revision)
    response.headers["Content-Location"] = f"/v1/patents/{patent.application_no}"
    return PatentRead(**service.read_model(patent, caller))


@router.patch("/patents/{application_no}", response_model=PatentRead,
              summary="Update status, fees, family, awards, SEI tag or suspension (If-Match)",
              responses={412: {"description": "Stale ETag"}, 428: {"description": "No If-Match"},
                         422: _WRITE_ERRORS[422]})
async def update_patent(application_no: ApplicationNo, body: PatentUpdate, session: DbSession,
                        caller: CanWriteIP, response: Response,
                        if_match: Annotated[str | None, Header(alias="If-Match")] = None
                        ) -> PatentRead:
    """A status change emits ``patent.status_changed``; other changes ``patent.updated``."""
    patent = await service.get_or_404(session, application_no)
    check_if_match(if_match, etag(patent.revision))
    patent = await service.update(session, patent, body, caller)
    response.headers["ETag"] = etag(patent.revision)
    return PatentRead(**service.read_model(patent, caller))


@router.get("/enterprises/{uscc}/patents", response_model=PatentPage,
            summary="Patents an enterprise owns (alone or jointly), with counts")
async def enterprise_patents(uscc: USCC_PATH, session: DbSession, caller: Caller,
                             cursor: Annotated[str | None, Query(max_length=500)] = None,
                             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> PatentPage:
    """Departments read any enterprise's patents; an enterprise reads its own."""
    uscc = uscc.upper()
    ensure_can_read_enterprise(caller, uscc)
    rows, counts, next_cursor = await service.by_owner(session, uscc, cursor=cursor, limit=limit)
    return PatentPage(items=[PatentRead(**service.read_model(p, caller)) for p in rows],
                      counts=counts, next_cursor=next_cursor)


@router.get("/stats/high-value", summary="High-value invention patents: count and growth",
            tags=["stats"])
async def high_value_stats(
    session: DbSession, caller: Caller,
    region: Annotated[str | None, Query(description="GB/T 2260 code (140200 = the whole city) "
                                                    "or a 2/4-digit prefix")] = None,
    uscc: Annotated[str | None, Query(description="count one enterprise's patents")] = None,
    year: Annotated[int | None, Query(ge=1985, le=2100, description="default: this year")] = None,
    from_year: Annotated[int | None, Query(ge=1985, le=2100,
                                           description="first year of the growth period "
                                                       "(default: the year before)")] = None,
) -> dict[str, Any]:
    """Count at the end of each year (today for this year), year-on-year growth and whether the
    period's compound average meets the pack's target for the region (Daye: 10 %)."""
    if uscc:
        ensure_can_read_enterprise(caller, uscc.strip().upper())
    elif not (caller.has("stats:read") or caller.has("enterprises:read")):
        raise Forbidden("regional statistics need stats:read or enterprises:read",
                        detail_zh="无权查看统计数据")
    today = today_cn()
    result = await stats.high_value_stats(session, region=region, uscc=uscc,
                                          year=year or today.year, from_year=from_year,
                                          today=today)
    return jsonable_encoder(result)


@router.post("/trademarks", status_code=201, response_model=TrademarkRead,
             responses=_WRITE_ERRORS, tags=["trademarks"],
             summary="Register a trademark or geographical-indication mark (IP office)")
async def register_trademark(body: TrademarkCreate, session: DbSession, caller: CanWriteIP,
                             request: Request, idempotency_key: IdempotencyKey = None):
    """Emits ``trademark.registered`` keyed by the holder's USCC."""
    async def build():
        mark = await trademarks.register(session, body, caller)
        return (TrademarkRead(**trademarks.read_model(mark)), mark.revision,
                f"/v1/trademarks/{mark.reg_no}")
    return await _create(session, request, caller, body, build)


@router.get("/trademarks/{reg_no}", response_model=TrademarkRead, tags=["trademarks"],
            summary="Read a trademark")
async def read_trademark(reg_no: Annotated[str, Path(max_length=30)], session: DbSession,
                         caller: Caller, response: Response) -> TrademarkRead:
    mark = await trademarks.get_or_404(session, reg_no)
    response.headers["ETag"] = etag(mark.revision)
    return TrademarkRead(**trademarks.read_model(mark))
