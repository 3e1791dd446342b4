"""HTTP for reward claims: filing with evidence, the review queue, decisions, recovery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from services.rewards.claims import service
from services.rewards.claims.models import RewardClaim
from services.rewards.claims.schemas import (ClaimCreate, ClaimPage, ClaimRead, ClaimStatus,
                                             DecisionCreate, RecoveryCreate)
from services.rewards.db import KERNEL
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require

router = APIRouter(tags=["claims"])

CanDecide = Annotated[Principal, Depends(require(scopes=("rewards:decide",)))]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CLAIM_ID = Annotated[str, Path(pattern=UUID_PATTERN, description="Claim id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", description="The claim's ETag as last read: 412 if it changed since")]

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the claimant's organisation / not the deciding department"},
    404: {"description": "Unknown claim"},
    409: {"description": "Item already claimed under the rule (claim_id names it), or the "
                         "claim's status does not allow this (claim_status names it)"},
    412: {"description": "If-Match is stale: the claim changed since it was read"},
    422: {"description": "A field broke a rule (unknown pack or rule, missing evidence, an "
                         "amount over a cap: problem+json names the field and the figures)"},
}


def _read(claim: RewardClaim) -> ClaimRead:
    return ClaimRead(**service.claim_model(claim))


async def _write(session, request: Request, caller: Principal, body: Any, status: int,
                 produce: Callable[[], Awaitable[RewardClaim]]) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key; a lock cycle PostgreSQL broke is a 409 the
    caller may retry (nothing was changed)."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller, body)
    if idem.replay is not None:
        return idem.replay
    try:
        claim = await produce()
    except sa_exc.DBAPIError as exc:
        retry = service.retry_on_deadlock(exc)
        if retry is None:
            raise
        raise retry from exc
    content = jsonable_encoder(_read(claim))
    headers = {"Location" if status == 201 else "Content-Location": f"/v1/claims/{claim.id}",
               "ETag": f'"{claim.revision}"'}
    await idem.record(session, status, content, headers)
    return JSONResponse(content, status_code=status, headers=headers)


@router.post("/claims", status_code=201, response_model=ClaimRead, responses=WRITE_ERRORS,
             summary="File a reward claim with evidence (the organisation, or an officer)")
async def file_claim(body: ClaimCreate, session: DbSession, caller: Caller, request: Request,
                     idempotency_key: IdempotencyKey = None):
    """Checked like a claim drafted from an event: eligibility, amount, caps, doubt flags (an
    item the registry has not announced, or announced for another party, goes to a person).
    An enterprise files only for itself; market regulation may file on its behalf."""
    return await _write(session, request, caller, body.model_dump(mode="json"), 201,
                        lambda: service.file_claim(session, body, caller))


@router.get("/claims", response_model=ClaimPage,
            summary="List claims, newest first (or the review queue by due date)")
async def list_claims(
    session: DbSession, caller: Caller,
    uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    status: Annotated[ClaimStatus | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    pack_id: Annotated[str | None, Query(max_length=70)] = None,
    rule_code: Annotated[str | None, Query(max_length=60)] = None,
    due_before: Annotated[date | None, Query(description="Review due before this date")] = None,
    sort: Annotated[str, Query(pattern=r"^(newest|due)$",
                               description="newest (default) or due: soonest review due "
                                           "date first")] = "newest",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimPage:
    """The review queue is ``?status=pending_review&department=…&sort=due``. Enterprises and
    universities see only their own organisation's claims."""
    rows, next_cursor = await service.search_claims(
        session, caller, service.ClaimFilters(uscc, status, department, pack_id, rule_code,
                                              due_before, sort),
        cursor=cursor, limit=limit)
    return ClaimPage(items=[_read(c) for c in rows], next_cursor=next_cursor)


@router.get("/claims/{claim_id}", response_model=ClaimRead,
            summary="One claim with its basis (ETag = revision)")
async def read_claim(claim_id: CLAIM_ID, session: DbSession, caller: Caller,
                     response: Response) -> ClaimRead:
    claim = await service.claim_or_404(session, claim_id)
    service.ensure_can_read(claim, caller)
    response.headers["ETag"] = f'"{claim.revision}"'
    return _read(claim)


@router.post("/claims/{claim_id}/decision", response_model=ClaimRead, responses=WRITE_ERRORS,
             summary="Approve or reject a claim in review (its department)")
async def decide(claim_id: CLAIM_ID, body: DecisionCreate, session: DbSession,
                 caller: CanDecide, request: Request, if_match: IfMatch = None,
                 idempotency_key: IdempotencyKey = None):
    """Records who, which department and why; approving an assessed or up-to rule's claim
    sets the amount (checked against the caps' room). An approved claim is paid at once when
    its fund covers it, else it waits (``payment_blocked``) and is paid by a deposit or the
    retry task. Rejecting releases the claim's cap reservation."""
    return await _write(session, request, caller, body.model_dump(mode="json"), 200,
                        lambda: service.decide(session, claim_id, body, caller, if_match))


@router.post("/claims/{claim_id}/recovery", response_model=ClaimRead, responses=WRITE_ERRORS,
             summary="Close a clawed-back claim: recovered (credited to the fund) or waived")
async def close_recovery(claim_id: CLAIM_ID, body: RecoveryCreate, session: DbSession,
                         caller: CanDecide, request: Request, if_match: IfMatch = None,
                         idempotency_key: IdempotencyKey = None):
    """``recovered``: at most what was paid, booked as a recovery in the fund's ledger;
    ``waived``: with the reason. Publishes ``claim.recovered``."""
    return await _write(session, request, caller, body.model_dump(mode="json"), 200,
                        lambda: service.close_recovery(session, claim_id, body, caller,
                                                       if_match))
