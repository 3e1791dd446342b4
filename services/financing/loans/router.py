"""HTTP for pledge loans, co-owner consents and bank quotas: parse, call the service, shape."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.financing.db import KERNEL
from services.financing.loans import consents, quotas, reads, service
from services.financing.loans.machine import LoanStatus
from services.financing.loans.models import Loan
from services.financing.loans.schemas import (ConsentCreate, ConsentList, ConsentRead,
                                              ConsentWithdrawal, GreenChannelOverdue, LoanClose,
                                              LoanCreate, LoanDecision, LoanDefault,
                                              LoanDisbursement, LoanOverdue, LoanPage, LoanRead,
                                              LoanRepayment, LoanReview, LoanWithdrawal,
                                              PledgeRegistration, QuotaRead, QuotaSet)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.errors import Forbidden, check_if_match

router = APIRouter(tags=["loans"])

CanApply = Annotated[Principal, Depends(require(scopes=("loans:apply",),
                                                departments=("enterprise",)))]
CanLend = Annotated[Principal, Depends(require(scopes=("loans:write",), departments=("bank",)))]
CanConsent = Annotated[Principal, Depends(require(departments=("enterprise",
                                                               "market_regulation")))]
LOAN_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                      r"[0-9a-f]{12}$", description="Loan id (UUID)")]
APPLICATION_NO = Annotated[str, Path(min_length=1, max_length=40,
                                     description="申请号, any common form (202410123456.0)")]
BANK_CODE = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", description="Optional: the loan's ETag; 412 if it changed since")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]

TRANSITION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the lending bank (or not the applicant)"},
    404: {"description": "Unknown loan"},
    409: {"description": "Not allowed in the current state: problem+json lists current_status "
                         "and allowed_transitions"},
    412: {"description": "If-Match does not match the loan's ETag"},
    422: {"description": "A field broke a rule (problem+json names the field and the rule)"},
}


def etag(revision: int) -> str:
    return f'"{revision}"'


def _loan_json(loan: Loan) -> dict[str, Any]:
    return jsonable_encoder(LoanRead(**reads.read_model(loan)))


async def _idempotent(session, request: Request, caller: Principal, body: Any, status: int,
                      produce: Callable[[], Awaitable[Loan]]) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key (keys are scoped to the concrete path)."""
    async def effect():
        loan = await produce()
        return (_loan_json(loan), idempotency.location(status, f"/v1/loans/{loan.id}")
                | {"ETag": etag(loan.revision)})

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


async def _transition(session, request: Request, caller: Principal, loan_id: str, body: Any,
                      if_match: str | None, act) -> JSONResponse:
    """Load (locked), honour If-Match when sent, apply ``act``; idempotent per key."""
    async def produce() -> Loan:
        loan = await service.get_or_404(session, loan_id, for_update=True)
        if if_match:
            reads.ensure_can_read(loan, caller)
            check_if_match(if_match, etag(loan.revision))
        return await act(loan)

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 200,
                             produce)


def _not_modified(if_none_match: str | None, tag: str) -> bool:
    return bool(if_none_match) and tag in {t.strip().removeprefix("W/")
                                           for t in if_none_match.split(",")}


# --- loans --------------------------------------------------------------------------------------

@router.post("/loans", status_code=201, response_model=LoanRead,
             summary="Apply for a patent-pledge loan (the enterprise itself)",
             responses={403: {"description": "Not an enterprise applying for itself"},
                        409: {"description": "A patent is already pledged (names it)"},
                        422: {"description": "A patent fails a pledge rule (names patent and "
                                             "rule), or a field broke a rule"}})
async def apply_for_loan(body: LoanCreate, session: DbSession, caller: CanApply,
                         request: Request, idempotency_key: IdempotencyKey = None):
    """Every patent must be owned by the applicant, granted and in force, of a pledgeable kind,
    not suspended, not pledged (at CNIPA or under another application), and — if co-owned —
    consented to by every other co-owner. The patents are reserved at once. A whitelisted
    applicant gets a green-channel decision deadline. Emits ``loan.applied``."""
    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             lambda: service.apply(session, body, caller))


@router.get("/loans", response_model=LoanPage,
            summary="List loans, newest application first (cursor pagination)")
async def list_loans(
    session: DbSession, caller: Caller, response: Response,
    status: Annotated[LoanStatus | None, Query()] = None,
    bank: Annotated[str | None, Query(max_length=40, description="bank code")] = None,
    borrower: Annotated[str | None, Query(min_length=18, max_length=18,
                                          description="borrower USCC")] = None,
    applied_from: Annotated[date | None, Query(alias="from",
                                               description="applied on or after")] = None,
    applied_to: Annotated[date | None, Query(alias="to",
                                             description="applied on or before")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    if_none_match: IfNoneMatch = None,
):
    """A bank sees only its own loans, an enterprise only its own; pboc, nfra,
    market_regulation and auditor see all. The ETag changes whenever a loan on the page does."""
    rows, next_cursor = await reads.search(
        session, caller, reads.LoanFilters(status.value if status else None, bank, borrower,
                                             applied_from, applied_to),
        cursor=cursor, limit=limit)
    digest = hashlib.sha256("|".join(f"{r.id}:{r.revision}" for r in rows).encode()
                            + (next_cursor or "").encode()).hexdigest()[:32]
    tag = f'W/"{digest}"'
    if _not_modified(if_none_match, tag.removeprefix("W/")):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return LoanPage(items=[LoanRead(**reads.read_model(r)) for r in rows],
                    next_cursor=next_cursor)


@router.get("/loans/green-channel/overdue", response_model=GreenChannelOverdue,
            summary="Green-channel loans decided late or still undecided past their deadline")
async def green_channel_overdue(
    session: DbSession,
    caller: Annotated[Principal, Depends(require(departments=("pboc", "nfra",
                                                              "market_regulation")))],
) -> GreenChannelOverdue:
    """绿色通道 timeliness for the regulators (pboc, nfra, market_regulation with stats:read or
    whitelist:read): undecided loans past their deadline, and decisions made after it."""
    if not (caller.has("stats:read") or caller.has("whitelist:read")):
        raise Forbidden("needs stats:read or whitelist:read", detail_zh="令牌缺少所需权限范围",
                        required_scopes=["stats:read", "whitelist:read"])
    as_of, items = await reads.green_channel_overdue(session)
    return GreenChannelOverdue(as_of=as_of, items=items)


@router.get("/loans/{loan_id}", response_model=LoanRead,
            summary="One loan with its pledges, decision basis and history")
async def read_loan(loan_id: LOAN_ID, session: DbSession, caller: Caller, response: Response,
                    if_none_match: IfNoneMatch = None):
    """The lending bank, the borrower, and the regulators (pboc, nfra, market_regulation,
    auditor). Its ETag may be sent as If-Match with a transition."""
    loan = await service.get_or_404(session, loan_id)
    reads.ensure_can_read(loan, caller)
    if _not_modified(if_none_match, etag(loan.revision)):
        return Response(status_code=304, headers={"ETag": etag(loan.revision)})
    response.headers["ETag"] = etag(loan.revision)
    return LoanRead(**reads.read_model(loan))


@router.post("/loans/{loan_id}/review", response_model=LoanRead, responses=TRANSITION_ERRORS,
             summary="Take the application under review (lending bank)")
async def review_loan(loan_id: LOAN_ID, body: LoanReview, session: DbSession, caller: CanLend,
                      request: Request, if_match: IfMatch = None,
                      idempotency_key: IdempotencyKey = None):
    """applied → under_review."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.review(session, loan, body, caller))


@router.post("/loans/{loan_id}/decision", response_model=LoanRead, responses=TRANSITION_ERRORS
             | {409: {"description": "Wrong state, or over the bank's pool quota (figures)"},
                422: {"description": "Above the pledge cap or no valuation (figures)"}},
             summary="Approve or reject (the lending bank only)")
async def decide_loan(loan_id: LOAN_ID, body: LoanDecision, session: DbSession, caller: CanLend,
                      request: Request, if_match: IfMatch = None,
                      idempotency_key: IdempotencyKey = None):
    """under_review → approved | rejected. An approval is at most Σ(pledge rate × latest
    valuation) over the pledged patents and, for a cultivation-pool enterprise, within the bank's
    dedicated annual quota; the basis stores the cap computation, the valuations, the pack and
    the quota figures. Emits ``loan.approved`` / ``loan.rejected``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.decide(session, loan, body, caller))


@router.post("/loans/{loan_id}/pledge-registration", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Record the CNIPA pledge registrations")
async def register_pledges(loan_id: LOAN_ID, body: PledgeRegistration, session: DbSession,
                           caller: CanLend, request: Request, if_match: IfMatch = None,
                           idempotency_key: IdempotencyKey = None):
    """approved → pledge_registered, one registration number per pledged patent. Emits
    ``pledge.registered`` per patent."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.register_pledges(session, loan, body, caller))


@router.post("/loans/{loan_id}/disbursement", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Record the disbursement")
async def disburse_loan(loan_id: LOAN_ID, body: LoanDisbursement, session: DbSession,
                        caller: CanLend, request: Request, if_match: IfMatch = None,
                        idempotency_key: IdempotencyKey = None):
    """pledge_registered → disbursed. Emits ``loan.disbursed``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.disburse(session, loan, body, caller))


@router.post("/loans/{loan_id}/repayment", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Record full repayment (releases the pledges)")
async def repay_loan(loan_id: LOAN_ID, body: LoanRepayment, session: DbSession,
                     caller: CanLend, request: Request, if_match: IfMatch = None,
                     idempotency_key: IdempotencyKey = None):
    """disbursed | overdue → repaid. Emits ``pledge.released`` (reason repaid) per patent and
    ``loan.repaid``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.repay(session, loan, body, caller))


@router.post("/loans/{loan_id}/overdue", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Report the loan overdue")
async def loan_overdue(loan_id: LOAN_ID, body: LoanOverdue, session: DbSession,
                       caller: CanLend, request: Request, if_match: IfMatch = None,
                       idempotency_key: IdempotencyKey = None):
    """disbursed → overdue. Emits ``loan.overdue``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.mark_overdue(session, loan, body, caller))


@router.post("/loans/{loan_id}/default", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Declare default with the principal loss")
async def default_loan(loan_id: LOAN_ID, body: LoanDefault, session: DbSession,
                       caller: CanLend, request: Request, if_match: IfMatch = None,
                       idempotency_key: IdempotencyKey = None):
    """overdue → defaulted; the bank reports outstanding principal and principal loss (the
    risk-compensation claim starts from them). Emits ``loan.defaulted``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.default(session, loan, body, caller))


@router.post("/loans/{loan_id}/close", response_model=LoanRead, responses=TRANSITION_ERRORS,
             summary="Close a repaid or compensated loan")
async def close_loan(loan_id: LOAN_ID, body: LoanClose, session: DbSession, caller: CanLend,
                     request: Request, if_match: IfMatch = None,
                     idempotency_key: IdempotencyKey = None):
    """repaid | compensated → closed. Emits ``loan.closed``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.close(session, loan, body, caller))


@router.post("/loans/{loan_id}/withdrawal", response_model=LoanRead,
             responses=TRANSITION_ERRORS, summary="Withdraw an application (the applicant)")
async def withdraw_loan(loan_id: LOAN_ID, body: LoanWithdrawal, session: DbSession,
                        caller: CanApply, request: Request, if_match: IfMatch = None,
                        idempotency_key: IdempotencyKey = None):
    """applied | rejected → closed; reserved pledges are released. Emits ``loan.closed``."""
    return await _transition(session, request, caller, loan_id, body, if_match,
                             lambda loan: service.withdraw(session, loan, body, caller))


# --- co-owner consents --------------------------------------------------------------------------

@router.post("/patents/{application_no}/co-owner-consents", status_code=201,
             response_model=ConsentRead,
             summary="Record a co-owner's consent to pledge a co-owned patent",
             responses={403: {"description": "Not a co-owner of the patent"},
                        404: {"description": "Patent not known to financing"},
                        409: {"description": "This co-owner's consent is already recorded"}})
async def record_consent(application_no: APPLICATION_NO, body: ConsentCreate,
                         session: DbSession, caller: CanConsent) -> JSONResponse:
    """The consenting co-owner itself (enterprise with consents:write, org = its USCC), or the
    IP office (market_regulation) recording an individual co-owner's paper consent by name."""
    if caller.department == "enterprise" and not caller.has("consents:write"):
        raise Forbidden("missing scope(s): consents:write", detail_zh="令牌缺少所需权限范围",
                        required_scopes=["consents:write"])
    row = await consents.record(session, application_no, body, caller)
    content = jsonable_encoder(ConsentRead(**consents.read_model(row)))
    return JSONResponse(content, status_code=201, headers={
        "Location": f"/v1/patents/{row.application_no}/co-owner-consents"})


@router.post("/patents/{application_no}/co-owner-consents/withdrawal",
             response_model=ConsentRead, summary="Withdraw a co-owner's consent")
async def withdraw_consent(application_no: APPLICATION_NO, body: ConsentWithdrawal,
                           session: DbSession, caller: CanConsent) -> ConsentRead:
    """Same callers as for recording. Loans already applied for are not affected."""
    if caller.department == "enterprise" and not caller.has("consents:write"):
        raise Forbidden("missing scope(s): consents:write", detail_zh="令牌缺少所需权限范围",
                        required_scopes=["consents:write"])
    row = await consents.withdraw(session, application_no, body, caller)
    return ConsentRead(**consents.read_model(row))


@router.get("/patents/{application_no}/co-owner-consents", response_model=ConsentList,
            summary="The patent's owners and the pledge consents recorded")
async def list_consents(application_no: APPLICATION_NO, session: DbSession,
                        caller: Caller) -> ConsentList:
    """Departments with enterprises:read, or an owner of the patent."""
    patent, rows = await consents.list_for(session, application_no, caller)
    return ConsentList(application_no=patent.application_no,
                       owners=consents.owners_model(patent),
                       items=[ConsentRead(**consents.read_model(r)) for r in rows])


# --- bank quotas --------------------------------------------------------------------------------

@router.put("/banks/{bank_code}/quotas/{year}", response_model=QuotaRead,
            summary="Set a bank's dedicated annual credit quota for pool enterprises",
            responses={201: {"description": "Quota created"},
                       403: {"description": "Neither the bank itself nor NFRA"},
                       409: {"description": "Below what is already used (figures)"},
                       412: {"description": "If-Match does not match"}})
async def put_quota(bank_code: BANK_CODE, year: Annotated[int, Path(ge=2000, le=2100)],
                    body: QuotaSet, session: DbSession, caller: Caller,
                    if_match: IfMatch = None) -> JSONResponse:
    """单列信贷额度: by the bank itself (loans:write) or NFRA. Approvals for cultivation-pool
    enterprises in that year draw on it; it cannot go below what is used."""
    expected = None
    if if_match:
        try:
            expected = int(if_match.strip().removeprefix("W/").strip('"'))
        except ValueError:
            expected = -1  # never matches: 412
    row, created = await quotas.put(session, bank_code, year, body.quota_cny, body.note, caller,
                                    expected_revision=expected)
    content = jsonable_encoder(QuotaRead(**await quotas.read_model(session, row)))
    return JSONResponse(content, status_code=201 if created else 200,
                        headers={"ETag": etag(row.revision)})


@router.get("/banks/{bank_code}/quotas/{year}", response_model=QuotaRead,
            summary="A bank's pool quota: quota, used, remaining and the approvals counted")
async def read_quota(bank_code: BANK_CODE, year: Annotated[int, Path(ge=2000, le=2100)],
                     session: DbSession, caller: Caller, response: Response) -> QuotaRead:
    """The bank itself, and nfra, pboc, market_regulation, auditor."""
    quotas.ensure_can_read(bank_code, caller)
    row = await quotas.get_or_404(session, bank_code, year)
    response.headers["ETag"] = etag(row.revision)
    return QuotaRead(**await quotas.read_model(session, row))
