"""HTTP for valuations: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.financing.db import KERNEL
from services.financing.valuations import service
from services.financing.valuations.schemas import (BankAssessmentCreate, BankAssessmentRead,
                                                   ValuationCreate, ValuationPage,
                                                   ValuationRead)
from shared import idempotency
from shared.app import DbSession
from shared.errors import NotFound
from shared.auth import Caller, Principal, require

router = APIRouter(tags=["valuations"])

CanValue = Annotated[Principal, Depends(require(scopes=("valuations:write",),
                                                departments=("market_regulation", "bank")))]
CanAssess = Annotated[Principal, Depends(require(scopes=("valuations:write",),
                                                 departments=("bank",)))]
VALUATION_ID = Annotated[str, Path(min_length=1, max_length=36, description="Valuation id (UUID)")]
ASSESSMENT_ID = Annotated[str, Path(min_length=1, max_length=36,
                                    description="Bank assessment id (UUID)")]
ApplicationNo = Annotated[str, Path(min_length=1, max_length=40,
                                    description="申请号 in any common form: 202410123456.0, "
                                                "ZL202410123456.0, CN 2024101234560")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a department that may do this (names the allowed ones)"},
    404: {"description": "Patent unknown to financing, or no such valuation"},
    409: {"description": "This bank already recorded its valuation beside this one"},
    422: {"description": "A field broke a rule (problem+json names the field and the rule): "
                         "design patent, not granted / in force, negative amounts, rates "
                         "outside [0, 1], discount rate ≤ −1, empty projection …"},
}


def etag(revision: int) -> str:
    return f'"{revision}"'


async def _idempotent(session, request: Request, caller: Principal, body: Any, produce
                      ) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key; answer 201 with Location and ETag."""
    async def effect():
        content, location, revision = await produce()
        return content, {"Location": location, "ETag": etag(revision)}

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect)


@router.post("/valuations", status_code=201, response_model=ValuationRead,
             responses=WRITE_ERRORS,
             summary="Value a patent (GB/T 42748-2023 approach): IP office / appraisers or a bank")
async def create_valuation(body: ValuationCreate, session: DbSession, caller: CanValue,
                           request: Request, idempotency_key: IdempotencyKey = None):
    """Income (relief from royalty or profit split), cost and market approaches — whichever
    inputs are sent — combined with the policy pack's weights for the purpose; legal indicators
    from the patent, technical and economic ones from the caller. The economic life is capped
    by the remaining legal term (truncated, and said so). Identical inputs give an identical
    result and ``inputs_hash``. Emits ``valuation.completed`` and re-evaluates the owners'
    whitelist entries."""
    async def produce():
        valuation = await service.create(session, body, caller)
        return (ValuationRead(**service.read_model(valuation, [])),
                f"/v1/valuations/{valuation.id}", valuation.revision)

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), produce)


@router.get("/valuations/{valuation_id}", response_model=ValuationRead,
            summary="One valuation: value, range, methods, assumptions, inputs, bank assessments")
async def read_valuation(valuation_id: VALUATION_ID, session: DbSession, caller: Caller,
                         response: Response) -> ValuationRead:
    """Departments with ``whitelist:read`` or ``valuations:write``, and the owner enterprise."""
    valuation = await service.get_or_404(session, valuation_id)
    service.ensure_can_read(caller, list(valuation.owner_usccs))
    response.headers["ETag"] = etag(valuation.revision)
    return ValuationRead(**await service.view(session, valuation, caller))


@router.get("/patents/{application_no}/valuations", response_model=ValuationPage,
            summary="A patent's valuations, newest first")
async def list_patent_valuations(
    application_no: ApplicationNo, session: DbSession, caller: Caller,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the "
                                                                      "previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ValuationPage:
    """Newest valuation date first, then the most recently recorded. Departments with
    ``whitelist:read`` or ``valuations:write``, and the patent's owner enterprises."""
    items, next_cursor = await service.list_for_patent(session, application_no, caller,
                                                       cursor=cursor, limit=limit)
    return ValuationPage(items=[ValuationRead(**i) for i in items], next_cursor=next_cursor)


@router.post("/valuations/{valuation_id}/bank-assessments", status_code=201,
             response_model=BankAssessmentRead, responses=WRITE_ERRORS,
             summary="Record a bank's own internal valuation beside this one (银行内部评估试点)")
async def record_bank_assessment(valuation_id: VALUATION_ID, body: BankAssessmentCreate,
                                 session: DbSession, caller: CanAssess, request: Request,
                                 idempotency_key: IdempotencyKey = None):
    """A bank (its token's org is its bank code) records value, method, date and notes; one
    per bank per valuation (a second is 409: request a new valuation). Listed in the
    valuation's read model; emits ``valuation.completed`` with ``kind: bank_internal``
    (webhooks: to that bank only)."""
    async def produce():
        valuation = await service.get_or_404(session, valuation_id)
        assessment = await service.record_bank_assessment(session, valuation, body, caller)
        return (BankAssessmentRead(**service.assessment_view(assessment)),
                f"/v1/valuations/{valuation.id}/bank-assessments/{assessment.id}", 1)

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), produce)


@router.get("/valuations/{valuation_id}/bank-assessments/{assessment_id}",
            response_model=BankAssessmentRead, summary="One bank assessment")
async def read_bank_assessment(valuation_id: VALUATION_ID, assessment_id: ASSESSMENT_ID,
                               session: DbSession, caller: Caller) -> BankAssessmentRead:
    """Readers of the valuation."""
    valuation = await service.get_or_404(session, valuation_id)
    service.ensure_can_read(caller, list(valuation.owner_usccs))
    assessment = await service.assessment_or_404(session, valuation, assessment_id)
    if not service.visible([assessment], caller):
        raise NotFound(f"no bank assessment {assessment_id} of valuation {valuation_id}",
                       detail_zh="未找到该银行评估")
    return BankAssessmentRead(**service.assessment_view(assessment))
