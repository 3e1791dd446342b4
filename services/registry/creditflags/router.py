"""HTTP for credit flags: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.registry.creditflags import service
from services.registry.creditflags.schemas import (CreditFlagClearance, CreditFlagCreate,
                                                   CreditFlagList, CreditFlagRead,
                                                   CreditFlagStatus)
from services.registry.db import KERNEL
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.projections import USCC_PATH

router = APIRouter(tags=["creditflags"])

CanFlag = Annotated[Principal, Depends(require(scopes=("creditflags:write",),
                                               departments=("credit",)))]
FLAG_ID = Annotated[str, Path(min_length=1, max_length=36, description="Credit flag id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown enterprise or flag"},
    409: {"description": "The same finding is already flagged, or the flag is already cleared"},
    422: {"description": "A field broke a rule (problem+json names the field and the rule)"},
}


async def _idempotent(session, request: Request, caller: Principal, body: Any, status: int,
                      produce) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key (keys are scoped to the concrete path)."""
    async def effect():
        flag = await produce()
        return (CreditFlagRead(**service.read_model(flag)),
                idempotency.location(status, f"/v1/credit-flags/{flag.id}")
                | {"ETag": f'"{flag.revision}"'})

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


@router.post("/credit-flags", status_code=201, response_model=CreditFlagRead,
             responses=WRITE_ERRORS, summary="Raise a credit / compliance flag (credit department)")
async def raise_credit_flag(body: CreditFlagCreate, session: DbSession, caller: CanFlag,
                            request: Request, idempotency_key: IdempotencyKey = None):
    """Serious dishonesty, tax evasion, data fraud, abnormal patent application or major safety
    accident, with source, reference and date. Emits ``creditflag.raised``; the basis cites the
    2024 five-ministry plan's pool-removal clause."""
    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             lambda: service.raise_flag(session, body, caller))


@router.post("/credit-flags/{flag_id}/clearance", response_model=CreditFlagRead,
             responses=WRITE_ERRORS, summary="Clear a credit flag with a reason")
async def clear_credit_flag(flag_id: FLAG_ID, body: CreditFlagClearance, session: DbSession,
                            caller: CanFlag, request: Request,
                            idempotency_key: IdempotencyKey = None):
    """409 when it is already cleared. Emits ``creditflag.cleared``."""
    async def produce():
        flag = await service.get_or_404(session, flag_id, for_update=True)
        return await service.clear_flag(session, flag, body, caller)

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 200,
                             produce)


@router.get("/credit-flags/{flag_id}", response_model=CreditFlagRead,
            summary="One credit flag with its basis")
async def read_credit_flag(flag_id: FLAG_ID, session: DbSession, caller: Caller,
                           response: Response) -> CreditFlagRead:
    """Departments with ``enterprises:read``, or the flagged enterprise itself."""
    flag = await service.get_or_404(session, flag_id)
    ensure_can_read_enterprise(caller, flag.uscc)
    response.headers["ETag"] = f'"{flag.revision}"'
    return CreditFlagRead(**service.read_model(flag))


@router.get("/enterprises/{uscc}/credit-flags", response_model=CreditFlagList,
            summary="An enterprise's credit flags, newest finding first")
async def list_credit_flags(
    uscc: USCC_PATH, session: DbSession, caller: Caller,
    status: Annotated[CreditFlagStatus | None, Query(description="active | cleared")] = None,
) -> CreditFlagList:
    """Departments with ``enterprises:read``, or the enterprise itself."""
    ensure_can_read_enterprise(caller, uscc.upper())
    rows = await service.list_for_enterprise(session, uscc, status)
    return CreditFlagList(items=[CreditFlagRead(**service.read_model(f)) for f in rows])
