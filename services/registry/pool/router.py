"""HTTP for the cultivation pool (专利产业化样板企业培育库): parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import Response as RawResponse

from services.registry.db import KERNEL
from services.registry.pool import service
from services.registry.pool.schemas import (CoSignatureCreate, Dashboard, GraduationCreate,
                                            NominationCreate, NominationRead, PoolEntryRead,
                                            PoolList, RemovalCreate, SweepResult)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.errors import Forbidden
from shared.pagination import decode_cursor, encode_cursor
from shared.projections import USCC_PATH

router = APIRouter(tags=["pool"])

CanNominate = Annotated[Principal, Depends(require(scopes=("pool:write",),
                                                   departments=("market_regulation",)))]
CanCoSign = Annotated[Principal, Depends(require(scopes=("pool:cosign",)))]
CanReadAll = Annotated[Principal, Depends(require(scopes=("enterprises:read",)))]
NominationId = Annotated[str, Path(min_length=1, max_length=36,
                                   description="the nomination id (a UUID)")]
Province = Annotated[str | None, Query(pattern=r"^[0-9]{2}$",
                                       description="GB/T 2260 province prefix, e.g. 14 (山西)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Wrong department, scope, or another province's office"},
    404: {"description": "Unknown nomination or pool entry"},
    409: {"description": "Already in the pool, a nomination open, quota used up (figures in "
                         "the body), or the entry's status does not allow it"},
    422: {"description": "A field or a pool rule failed: problem+json names each rule, with "
                         "the decision's whole basis"},
}


def _etag(revision: int) -> str:
    return f'"{revision}"'


async def _nomination_response(session, request, caller, body, status, produce):
    async def effect():
        nomination = await produce()
        return (NominationRead(**await service.read_nomination(session, nomination)),
                idempotency.location(status, f"/v1/pool/nominations/{nomination.id}")
                | {"ETag": _etag(nomination.revision)})

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


async def _entry_response(session, request, caller, body, produce):
    async def effect():
        entry = await produce()
        return (PoolEntryRead(**await service.read_entry(session, entry)),
                idempotency.location(200, f"/v1/pool/{entry.uscc}")
                | {"ETag": _etag(entry.revision)})

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=200)


@router.post("/pool/nominations", status_code=201, response_model=NominationRead,
             responses=WRITE_ERRORS,
             summary="Nominate an enterprise to the cultivation pool (provincial IP office)")
async def nominate(body: NominationCreate, session: DbSession, caller: CanNominate,
                   request: Request, idempotency_key: IdempotencyKey = None):
    """Checks the entry standard (an SME with a high-tech or 专精特新 qualification in force,
    granted inventions, no barring credit flag) and the province's quota (300, or 500 where the
    pack says; plus two places per graduation). Over the cap only with
    ``quota_override_reason``. Admitted at once, or after the co-signing department (MIIT in the
    national pack) signs; admission emits ``pool.admitted`` with the basis."""
    return await _nomination_response(session, request, caller, body.model_dump(mode="json"),
                                      201, lambda: service.nominate(session, body, caller))


@router.post("/pool/nominations/{nomination_id}/co-signature", response_model=NominationRead,
             responses=WRITE_ERRORS, summary="Co-sign or decline a nomination (MIIT)")
async def co_sign(nomination_id: NominationId, body: CoSignatureCreate, session: DbSession,
                  caller: CanCoSign, request: Request, idempotency_key: IdempotencyKey = None):
    """会同相关主管部门: signing re-checks the entry standard and the quota on today's facts and
    admits; declining records the reason."""
    async def produce():
        nomination = await service.nomination_or_404(session, nomination_id, for_update=True)
        return await service.co_sign(session, nomination, body, caller)

    return await _nomination_response(session, request, caller, body.model_dump(mode="json"),
                                      200, produce)


@router.get("/pool/nominations/{nomination_id}", response_model=NominationRead,
            summary="A nomination with its basis")
async def read_nomination(nomination_id: NominationId, session: DbSession, caller: Caller,
                          response: Response) -> NominationRead:
    nomination = await service.nomination_or_404(session, nomination_id)
    ensure_can_read_enterprise(caller, nomination.uscc)
    response.headers["ETag"] = _etag(nomination.revision)
    return NominationRead(**await service.read_nomination(session, nomination))


@router.get("/pool", response_model=PoolList, summary="Pool entries, by USCC")
async def list_pool(session: DbSession, caller: CanReadAll, province_code: Province = None,
                    status: Annotated[str | None, Query(
                        pattern="^(admitted|graduated|removed)$",
                        description="admitted | graduated | removed")] = None,
                    cursor: Annotated[str | None, Query(max_length=400)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> PoolList:
    """Departments with ``enterprises:read``; keyset pagination with ``next_cursor``."""
    items, more = await service.list_entries(session, province_code=province_code,
                                             status=status, after=decode_cursor(cursor),
                                             limit=limit)
    return PoolList(items=items, next_cursor=encode_cursor(items[-1]["uscc"])
                    if more and items else None)


@router.get("/pool/dashboard", response_model=Dashboard,
            summary="The pool per province: counts, quota used, enterprises at risk")
async def dashboard(session: DbSession, caller: CanReadAll,
                    province_code: Province = None) -> Dashboard:
    """Counts by status (and awaiting co-signature), the quota (base, replenishment, used,
    remaining), removals by reason, and the admitted enterprises with no progress whose
    two-year window ends within the pack's warning days."""
    return Dashboard(**await service.dashboard(session, province_code))


@router.get("/pool/dashboard.csv", summary="Every pool entry as CSV (UTF-8 with BOM)",
            response_class=RawResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "one row per entry"}})
async def dashboard_csv(session: DbSession, caller: CanReadAll,
                        province_code: Province = None) -> RawResponse:
    text = await service.dashboard_csv(session, province_code)
    name = f"pool-{province_code or 'all'}.csv"
    return RawResponse(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                       headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/pool/sweeps", response_model=SweepResult,
             summary="Run the two-year no-progress sweep now (ops, IP office)")
async def run_sweep(request: Request, caller: Caller) -> SweepResult:
    """The hourly sweep, on demand: removes admitted enterprises whose two-year window ended
    with no progress inside it (reason ``no_progress_two_years``), marks the others checked."""
    if not (caller.has("ops") or (caller.department == "market_regulation"
                                  and caller.has("pool:write"))):
        raise Forbidden("the sweep is run by ops or the IP office",
                        detail_zh="仅运维或知识产权管理部门可执行")
    return SweepResult(**await service.sweep(request.app.state.sessionmaker))


@router.get("/pool/{uscc}", response_model=PoolEntryRead,
            summary="An enterprise's pool entry: progress, basis of every movement, history")
async def read_entry(uscc: USCC_PATH, session: DbSession, caller: Caller,
                     response: Response) -> PoolEntryRead:
    """Departments with ``enterprises:read``, or the enterprise itself."""
    ensure_can_read_enterprise(caller, uscc.upper())
    entry = await service.entry_or_404(session, uscc)
    response.headers["ETag"] = _etag(entry.revision)
    return PoolEntryRead(**await service.read_entry(session, entry))


@router.post("/pool/{uscc}/graduation", response_model=PoolEntryRead, responses=WRITE_ERRORS,
             summary="Graduate a pool enterprise (出库, IP office)")
async def graduate(uscc: USCC_PATH, body: GraduationCreate, session: DbSession,
                   caller: CanNominate, request: Request,
                   idempotency_key: IdempotencyKey = None):
    """The exit standard: the industrialisation rate clearly up, and a product newly recognised
    since admission or an earlier product's sales and profit both grown substantially (the
    pack's figures). Emits ``pool.graduated``; the enterprise continues as follow-up
    cultivation (接续培育) and opens two places for its province."""
    async def produce():
        entry = await service.entry_or_404(session, uscc, for_update=True)
        return await service.graduate(session, entry, body, caller)

    return await _entry_response(session, request, caller, body.model_dump(mode="json"),
                                 produce)


@router.post("/pool/{uscc}/removal", response_model=PoolEntryRead, responses=WRITE_ERRORS,
             summary="Remove a pool enterprise with a recorded reason (退库, IP office)")
async def remove(uscc: USCC_PATH, body: RemovalCreate, session: DbSession, caller: CanNominate,
                 request: Request, idempotency_key: IdempotencyKey = None):
    """For grounds outside the automatic ones (the credit flags and the two-year sweep remove
    by themselves). Emits ``pool.removed`` with reason ``officer_decision``."""
    async def produce():
        entry = await service.entry_or_404(session, uscc, for_update=True)
        return await service.remove_by_officer(session, entry, body, caller)

    return await _entry_response(session, request, caller, body.model_dump(mode="json"),
                                 produce)
