"""HTTP for licences: take an open licence, record a negotiated one, read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.matching.db import KERNEL
from services.matching.licenses import service
from services.matching.licenses.schemas import (UUID_PATTERN, LicenseCreate, LicensePage,
                                                LicenseRead, OpenLicenseTake)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require

router = APIRouter(tags=["licenses"])

CanWrite = Annotated[Principal, Depends(require(scopes=("licenses:write",)))]
LICENSE_ID = Annotated[str, Path(pattern=UUID_PATTERN, description="Licence id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]


@router.post("/licenses", status_code=201, response_model=LicenseRead,
             summary="Take an open licence (type open) or record a negotiated licence",
             responses={403: {"description": "Not the licensee itself / not the patentee"},
                        409: {"description": "Open licence not published, a second open "
                                             "licence for the same licensee, an exclusive or "
                                             "sole licence while an open licence is live, or an "
                                             "exclusive / sole licence already in force (rule "
                                             "named)"},
                        422: {"description": "Payment not as published (expected amount "
                                             "given), or a field broke a rule"}})
async def create_license(body: Annotated[LicenseCreate, Body()], session: DbSession,
                         caller: CanWrite, request: Request,
                         idempotency_key: IdempotencyKey = None):
    """``type: open``: written notice and payment on the published terms give an ordinary,
    non-exclusive licence for the published term (Art 51) — lump sum: the amount equals it;
    entry fee + royalty: the entry fee; royalty: the first payment (≥ 0); free: 0. An enterprise
    takes one only for itself, once per declaration. ``type: exclusive | sole | ordinary``: a
    negotiated licence recorded by the patentee or market_regulation. Both emit
    ``license.granted`` (registry records the encumbrance)."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    if isinstance(body, OpenLicenseTake):
        row = await service.take_open(session, body, caller)
    else:
        row = await service.record_negotiated(session, body, caller)
    content = jsonable_encoder(LicenseRead(**service.read_model(row)))
    headers = {"Location": f"/v1/licenses/{row.id}"}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


@router.get("/licenses", response_model=LicensePage,
            summary="List licences, newest first (cursor pagination)")
async def list_licenses(
    session: DbSession, caller: Caller,
    application_no: Annotated[str | None, Query(max_length=40)] = None,
    licensee_uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    licensor_uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    open_license_id: Annotated[str | None, Query(pattern=UUID_PATTERN)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LicensePage:
    """market_regulation and the auditor see all; others the licences where their organisation
    is licensor or licensee."""
    rows, next_cursor = await service.search(
        session, caller, service.Filters(application_no, licensee_uscc, licensor_uscc,
                                         open_license_id), cursor=cursor, limit=limit)
    return LicensePage(items=[LicenseRead(**service.read_model(r)) for r in rows],
                       next_cursor=next_cursor)


@router.get("/licenses/{license_id}", response_model=LicenseRead, summary="One licence")
async def read_license(license_id: LICENSE_ID, session: DbSession, caller: Caller
                       ) -> LicenseRead:
    row = await service.get_or_404(session, license_id)
    service.ensure_can_read(row, caller)
    return LicenseRead(**service.read_model(row))
