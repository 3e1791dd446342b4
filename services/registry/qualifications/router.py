"""HTTP for qualifications: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.registry.db import KERNEL
from services.registry.qualifications import service
from services.registry.qualifications.rules import QualificationStatus
from services.registry.qualifications.schemas import (QualificationCreate, QualificationList,
                                                      QualificationRead, QualificationRenewal,
                                                      QualificationRevocation)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.projections import USCC_PATH

router = APIRouter(tags=["qualifications"])

#: The scope here; the department that issues the kind is checked by the service (403 naming it).
CanWrite = Annotated[Principal, Depends(require(scopes=("qualifications:write",)))]
QUALIFICATION_ID = Annotated[str, Path(min_length=1, max_length=36,
                                       description="Qualification id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the department that issues this kind (names the allowed one)"},
    404: {"description": "Unknown enterprise or qualification"},
    409: {"description": "Duplicate certificate number, overlapping active qualification, or "
                         "already revoked / expired"},
    422: {"description": "A field broke a rule (problem+json names the field and the rule)"},
}


def _read(q) -> dict[str, Any]:
    return jsonable_encoder(QualificationRead(**service.read_model(q)))


async def _idempotent(session, request: Request, caller: Principal, body: Any, status: int,
                      produce) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key (keys are scoped to the concrete path)."""
    async def effect():
        q = await produce()
        url = f"/v1/enterprises/{q.uscc}/qualifications/{q.id}"
        return _read(q), idempotency.location(status, url) | {"ETag": f'"{q.revision}"'}

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


@router.post("/enterprises/{uscc}/qualifications", status_code=201,
             response_model=QualificationRead, responses=WRITE_ERRORS,
             summary="Grant a qualification (the issuing department only)")
async def grant_qualification(uscc: USCC_PATH, body: QualificationCreate, session: DbSession,
                              caller: CanWrite, request: Request,
                              idempotency_key: IdempotencyKey = None):
    """Grant 专精特新 / 小巨人 / 高新技术 / 单项冠军 / 优质民营 / 知识产权优势·示范 / 创新型.

    Level, issuing body and valid_to default from the policy pack in force on valid_from; the
    decision's basis (pack, clause, validity rule) is stored and returned. Emits
    ``qualification.granted``."""
    return await _idempotent(
        session, request, caller, body.model_dump(mode="json"), 201,
        lambda: service.grant(session, uscc, body, caller))


@router.post("/enterprises/{uscc}/qualifications/{qualification_id}/renewal",
             response_model=QualificationRead, responses=WRITE_ERRORS,
             summary="Record a passed review (复核) and extend validity")
async def renew_qualification(uscc: USCC_PATH, qualification_id: QUALIFICATION_ID,
                              body: QualificationRenewal, session: DbSession, caller: CanWrite,
                              request: Request, idempotency_key: IdempotencyKey = None):
    """The new period follows the current one (default) for the pack's validity years; an
    expired qualification may be renewed, a revoked one not. Emits ``qualification.renewed``."""
    async def produce():
        q = await service.get_or_404(session, uscc, qualification_id, for_update=True)
        return await service.renew(session, q, body, caller)

    return await _idempotent(
        session, request, caller, body.model_dump(mode="json"), 200, produce)


@router.post("/enterprises/{uscc}/qualifications/{qualification_id}/revocation",
             response_model=QualificationRead, responses=WRITE_ERRORS,
             summary="Revoke a qualification with a reason (the issuing department only)")
async def revoke_qualification(uscc: USCC_PATH, qualification_id: QUALIFICATION_ID,
                               body: QualificationRevocation, session: DbSession,
                               caller: CanWrite, request: Request,
                               idempotency_key: IdempotencyKey = None):
    """409 when it is already revoked or expired. Emits ``qualification.revoked``."""
    async def produce():
        q = await service.get_or_404(session, uscc, qualification_id, for_update=True)
        return await service.revoke(session, q, body, caller)

    return await _idempotent(
        session, request, caller, body.model_dump(mode="json"), 200, produce)


@router.get("/enterprises/{uscc}/qualifications", response_model=QualificationList,
            summary="An enterprise's qualifications, newest period first")
async def list_qualifications(
    uscc: USCC_PATH, session: DbSession, caller: Caller,
    status: Annotated[QualificationStatus | None, Query(description="active | revoked | expired")]
    = None,
) -> QualificationList:
    """Departments with ``enterprises:read``, or the enterprise itself."""
    ensure_can_read_enterprise(caller, uscc.upper())
    rows = await service.list_for_enterprise(session, uscc, status)
    return QualificationList(items=[QualificationRead(**service.read_model(q)) for q in rows])


@router.get("/enterprises/{uscc}/qualifications/{qualification_id}",
            response_model=QualificationRead, summary="One qualification with its basis")
async def read_qualification(uscc: USCC_PATH, qualification_id: QUALIFICATION_ID,
                             session: DbSession, caller: Caller,
                             response: Response) -> QualificationRead:
    """Departments with ``enterprises:read``, or the enterprise itself."""
    ensure_can_read_enterprise(caller, uscc.upper())
    q = await service.get_or_404(session, uscc, qualification_id)
    response.headers["ETag"] = f'"{q.revision}"'
    return QualificationRead(**service.read_model(q))
