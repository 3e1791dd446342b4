"""HTTP for enterprises: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.registry.db import KERNEL
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import (EnterpriseCreate, EnterpriseDetail,
                                                   EnterprisePage, EnterpriseRead,
                                                   EnterpriseUpdate)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.errors import Forbidden, check_if_match
from shared.projections import USCC_PATH

router = APIRouter(tags=["enterprises"])

CanWrite = Annotated[Principal, Depends(require(scopes=("enterprises:write",),
                                                departments=("market_regulation",)))]


def etag(revision: int) -> str:
    return f'"{revision}"'


@router.post("/enterprises", status_code=201, response_model=EnterpriseRead,
             summary="Register an enterprise (market regulation bureau)",
             responses={409: {"description": "USCC already registered"},
                        422: {"description": "A field broke a rule (problem+json names it)"}})
async def register_enterprise(body: EnterpriseCreate, session: DbSession, caller: CanWrite,
                              request: Request,
                              idempotency_key: Annotated[str | None, Header(
                                  alias="Idempotency-Key",
                                  description="Retry-safe create: same key + same body → the "
                                              "same response, nothing written twice")] = None):
    """Validate the USCC (GB 32100 check character), classify the size and register.

    Emits ``enterprise.registered``."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    enterprise = await service.register(session, body, caller)
    content = jsonable_encoder(EnterpriseRead(**service.read_model(enterprise)))
    headers = {"Location": f"/v1/enterprises/{enterprise.uscc}",
               "ETag": etag(enterprise.revision)}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


@router.get("/enterprises", response_model=EnterprisePage,
            summary="List and search enterprises (cursor pagination)")
async def list_enterprises(
    session: DbSession, caller: Caller,
    province: Annotated[str | None, Query(description="GB/T 2260 province prefix, e.g. 14")] = None,
    region: Annotated[str | None, Query(description="2/4/6-digit GB/T 2260 prefix")] = None,
    industry_section: Annotated[str | None, Query(description="GB/T 4754-2017 section A-T")] = None,
    size_class: Annotated[Literal["large", "medium", "small", "micro"] | None, Query()] = None,
    name: Annotated[str | None, Query(max_length=100, description="substring of the name")] = None,
    qualification: Annotated[str | None, Query(
        max_length=40, description="a qualification kind in force today, e.g. zjtx_sme")] = None,
    has_high_value: Annotated[bool | None, Query(
        description="owns at least one high-value invention patent")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EnterprisePage:
    """Departments with ``enterprises:read`` search all enterprises; an enterprise sees itself."""
    extra = []
    if not caller.has("enterprises:read"):
        if not caller.has("enterprises:read:own") or not caller.org:
            raise Forbidden("listing enterprises needs enterprises:read",
                            detail_zh="无权查询企业列表")
        extra.append(Enterprise.uscc == caller.org.upper())
    rows, next_cursor = await service.search(
        session, service.SearchFilters(province, region, industry_section, size_class, name,
                                       qualification, has_high_value),
        cursor=cursor, limit=limit, extra=extra)
    return EnterprisePage(items=[EnterpriseRead(**service.read_model(e)) for e in rows],
                          next_cursor=next_cursor)


@router.get("/enterprises/{uscc}", response_model=EnterpriseDetail,
            summary="Read an enterprise's registered record")
async def read_enterprise(uscc: USCC_PATH, session: DbSession, caller: Caller,
                          response: Response) -> EnterpriseDetail:
    """The registry's record (the source of truth) with qualifications in force, active credit
    flags and high-value patent count; its ETag is for updates."""
    ensure_can_read_enterprise(caller, uscc.upper())
    enterprise = await service.get_or_404(session, uscc)
    response.headers["ETag"] = etag(enterprise.revision)
    return EnterpriseDetail(**service.read_model(enterprise),
                            **await service.standing(session, enterprise.uscc))


@router.patch("/enterprises/{uscc}", response_model=EnterpriseRead,
              summary="Update an enterprise (If-Match required)",
              responses={412: {"description": "Stale ETag"}, 428: {"description": "No If-Match"}})
async def update_enterprise(uscc: USCC_PATH, body: EnterpriseUpdate, session: DbSession,
                            caller: CanWrite, response: Response,
                            if_match: Annotated[str | None, Header(alias="If-Match")] = None
                            ) -> EnterpriseRead:
    """Change registered facts; the size class is recomputed. Emits ``enterprise.updated``."""
    enterprise = await service.get_or_404(session, uscc)
    check_if_match(if_match, etag(enterprise.revision))
    enterprise = await service.update(session, enterprise, body, caller)
    response.headers["ETag"] = etag(enterprise.revision)
    return EnterpriseRead(**service.read_model(enterprise))
