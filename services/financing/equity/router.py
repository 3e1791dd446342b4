"""HTTP for the equity track (CSRC): parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse

from services.financing.db import KERNEL
from services.financing.equity import service
from services.financing.equity.schemas import (ChecklistRead, ChecklistUpdate, EquitySummary,
                                               InvestmentCreate, InvestmentRead, ListingCreate,
                                               ListingRead)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.projections import USCC_PATH

router = APIRouter(tags=["equity"])

CanWrite = Annotated[Principal, Depends(require(scopes=("equity:write",),
                                                departments=("csrc",)))]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description="ETag of the checklist last read (updates)")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Financing knows no such enterprise"},
    409: {"description": "Already registered on this market, or the listing code is taken"},
    422: {"description": "A field broke a rule (problem+json names the field and the rule), "
                         "e.g. equity.pool_member_required"},
}


def _etag(revision: int) -> str:
    return service.etag(revision)


async def _idempotent(session, request: Request, caller: Principal, body: Any, produce,
                      shape, location) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key (keys are scoped to the concrete path)."""
    async def effect():
        row = await produce()
        return shape(row), {"Location": location(row)}

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect)


@router.post("/enterprises/{uscc}/equity/listings", status_code=201, response_model=ListingRead,
             responses=WRITE_ERRORS,
             summary="Record a pool enterprise's registration (挂牌) on a regional equity market")
async def record_listing(uscc: USCC_PATH, body: ListingCreate, session: DbSession,
                         caller: CanWrite, request: Request,
                         idempotency_key: IdempotencyKey = None):
    """CSRC only. Only cultivation-pool enterprises (admitted or graduated) may register
    through this track (five-ministry plan 2024, 五（四）: 支持入库企业进入区域性股权市场规范培育);
    others get 422 ``equity.pool_member_required`` with the clause. Emits ``equity.listed``."""
    return await _idempotent(
        session, request, caller, body.model_dump(mode="json"),
        lambda: service.record_listing(session, uscc, body, caller),
        lambda row: ListingRead(**service.listing_model(row)),
        lambda row: f"/v1/enterprises/{row.uscc}/equity")


@router.post("/enterprises/{uscc}/equity/investments", status_code=201,
             response_model=InvestmentRead, responses=WRITE_ERRORS,
             summary="Record a guidance-fund investment (equity, preferred shares, 科技成果+认股权)")
async def record_investment(uscc: USCC_PATH, body: InvestmentCreate, session: DbSession,
                            caller: CanWrite, request: Request,
                            idempotency_key: IdempotencyKey = None):
    """CSRC only. Preferred shares carry their registration on the regional equity market;
    科技成果+认股权 carries the warrant terms. The basis says whether the enterprise is in the
    pool. Emits ``equity.investment_recorded``."""
    return await _idempotent(
        session, request, caller, body.model_dump(mode="json"),
        lambda: service.record_investment(session, uscc, body, caller),
        lambda row: InvestmentRead(**service.investment_model(row)),
        lambda row: f"/v1/enterprises/{row.uscc}/equity")


@router.put("/enterprises/{uscc}/equity/checklist", response_model=ChecklistRead,
            responses={**WRITE_ERRORS, 412: {"description": "Stale If-Match"},
                       428: {"description": "Updating an existing checklist without If-Match"}},
            summary="Assess the pre-IPO IP compliance checklist (items from the facts recomputed)")
async def update_checklist(uscc: USCC_PATH, body: ChecklistUpdate, session: DbSession,
                           caller: CanWrite, response: Response,
                           if_match: IfMatch = None) -> ChecklistRead:
    """CSRC only. The body's assessments replace the previous ones; items the facts decide
    (ownership suspensions, invalidated or pledged patents, overdue annual fees …) are
    recomputed with their figures. Clearing a facts-based issue needs a note. The first PUT
    creates the checklist; later ones need ``If-Match``. Emits ``equity.checklist_updated``
    when something changed."""
    checklist, _ = await service.update_checklist(session, uscc, body, caller,
                                                  if_match=if_match)
    response.headers["ETag"] = _etag(checklist.revision)
    return ChecklistRead(**service.checklist_model(checklist))


@router.get("/enterprises/{uscc}/equity/checklist", response_model=ChecklistRead,
            responses={404: {"description": "No checklist recorded"}},
            summary="An enterprise's pre-IPO IP compliance checklist")
async def read_checklist(uscc: USCC_PATH, session: DbSession, caller: Caller,
                         response: Response) -> ChecklistRead:
    """Departments with ``enterprises:read``, or the enterprise itself; the ETag is for PUT."""
    ensure_can_read_enterprise(caller, uscc.upper())
    checklist = await service.checklist_or_404(session, uscc)
    response.headers["ETag"] = _etag(checklist.revision)
    return ChecklistRead(**service.checklist_model(checklist))


@router.get("/enterprises/{uscc}/equity", response_model=EquitySummary,
            responses={404: {"description": "Financing knows no such enterprise"}},
            summary="Equity-track summary: pool standing, listings, investments, checklist")
async def equity_summary(uscc: USCC_PATH, session: DbSession, caller: Caller) -> EquitySummary:
    """Departments with ``enterprises:read``, or the enterprise itself."""
    ensure_can_read_enterprise(caller, uscc.upper())
    return EquitySummary(**await service.summary(session, uscc))
