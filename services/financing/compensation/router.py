"""HTTP for risk compensation: packs, funds and their ledgers, claims and payments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.financing.compensation import service
from services.financing.compensation.schemas import (ClaimCreate, ClaimPage, ClaimRead,
                                                     ClaimStatus, DepositCreate, DepositRead,
                                                     FundCreate, FundDetail, FundList, FundRead,
                                                     LedgerEntryRead, PackList, PackRead,
                                                     PaymentCreate)
from services.financing.db import KERNEL
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.errors import Forbidden

router = APIRouter(tags=["compensation"])

CanDecide = Annotated[Principal, Depends(require(scopes=("compensation:decide",),
                                                 departments=("market_regulation",)))]
CanClaim = Annotated[Principal, Depends(require(scopes=("compensation:claim",),
                                                departments=("bank",)))]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
FUND_ID = Annotated[str, Path(pattern=UUID_PATTERN, description="Fund id (UUID)")]
CLAIM_ID = Annotated[str, Path(pattern=UUID_PATTERN, description="Claim id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
#: Who reads funds and their ledgers: the fund manager, regulators, banks (they claim on them).
FUND_READ_SCOPES = ("compensation:decide", "stats:read", "compensation:claim")

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the lending bank / not the fund manager"},
    404: {"description": "Unknown fund, claim or loan"},
    409: {"description": "Loan not in default, claim already filed or paid, or nothing payable "
                         "(fund exhausted): problem+json gives the figures"},
    422: {"description": "A field broke a rule, or the pack's eligibility refuses the claim "
                         "(problem+json carries the basis)"},
}


def _can_read_funds(caller: Principal) -> None:
    if not any(caller.has(s) for s in FUND_READ_SCOPES):
        raise Forbidden("compensation funds are read by the fund manager, regulators and banks",
                        detail_zh="无权查看风险补偿资金")


async def _idempotent(session, request: Request, caller: Principal, body: Any, status: int,
                      produce: Callable[[], Awaitable[tuple[Any, str]]]) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key; it returns (response model, Location)."""
    async def effect():
        model, url = await produce()
        return model, idempotency.location(status, url)

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


# --- packs --------------------------------------------------------------------------------------

@router.get("/compensation/packs", response_model=PackList,
            summary="Compensation packs: shares, caps, eligibility, sources, verified flag")
async def list_packs(caller: Caller) -> PackList:
    """Every version of every compensation pack loaded (a fund names one by id)."""
    _can_read_funds(caller)
    return PackList(items=[PackRead(**service.pack_model(p)) for p in service.all_packs()])


# --- funds --------------------------------------------------------------------------------------

@router.post("/compensation/funds", status_code=201, response_model=FundRead,
             responses=WRITE_ERRORS, summary="Create a risk-compensation fund (fund manager)")
async def create_fund(body: FundCreate, session: DbSession, caller: CanDecide, request: Request,
                      idempotency_key: IdempotencyKey = None):
    """A fund of one jurisdiction (GB/T 2260) applying one compensation pack; its balance
    starts at 0 and grows by deposits."""
    async def produce():
        fund = await service.create_fund(session, body, caller)
        return FundRead(**service.fund_model(fund)), f"/v1/compensation/funds/{fund.id}"

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             produce)


@router.get("/compensation/funds", response_model=FundList, summary="List compensation funds")
async def list_funds(session: DbSession, caller: Caller,
                     jurisdiction: Annotated[str | None, Query(min_length=6, max_length=6)] = None
                     ) -> FundList:
    _can_read_funds(caller)
    rows = await service.list_funds(session, jurisdiction)
    return FundList(items=[FundRead(**service.fund_model(f)) for f in rows])


@router.get("/compensation/funds/{fund_id}", response_model=FundDetail,
            summary="A fund's balance and its ledger (oldest entry first)")
async def read_fund(fund_id: FUND_ID, session: DbSession, caller: Caller,
                    cursor: Annotated[str | None, Query(max_length=500)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> FundDetail:
    """Every entry: amount (+ deposit, − payment), balance after, claim, who, when. The ledger
    amounts sum to the balance. Banks get the balance without the ledger (other banks' loans)."""
    _can_read_funds(caller)
    fund, rows, next_cursor = await service.fund_ledger(session, fund_id, cursor=cursor,
                                                        limit=limit)
    if caller.department == "bank":
        # A bank sees the balance it may claim against, not other banks' loans and payouts
        # (its own claims are at GET /v1/compensation/claims).
        rows, next_cursor = [], None
    return FundDetail(**service.fund_model(fund),
                      ledger=[LedgerEntryRead(**service.entry_model(e, loan_id))
                              for e, loan_id in rows],
                      next_cursor=next_cursor)


@router.post("/compensation/funds/{fund_id}/deposits", status_code=201,
             response_model=DepositRead, responses=WRITE_ERRORS,
             summary="Top a fund up (fund manager)")
async def deposit(fund_id: FUND_ID, body: DepositCreate, session: DbSession, caller: CanDecide,
                  request: Request, idempotency_key: IdempotencyKey = None):
    """Adds to the balance and books a ledger entry with the balance after it."""
    async def produce():
        fund, entry = await service.deposit(session, fund_id, body, caller)
        return (DepositRead(fund=FundRead(**service.fund_model(fund)),
                            entry=LedgerEntryRead(**service.entry_model(entry))),
                f"/v1/compensation/funds/{fund_id}")

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             produce)


# --- claims -------------------------------------------------------------------------------------

@router.post("/compensation/claims", status_code=201, response_model=ClaimRead,
             responses=WRITE_ERRORS, summary="Claim compensation for a defaulted loan (bank)")
async def file_claim(body: ClaimCreate, session: DbSession, caller: CanClaim, request: Request,
                     idempotency_key: IdempotencyKey = None):
    """The lending bank claims on the fund covering the borrower. The claim is computed by the
    fund's pack: eligibility (jurisdiction, whitelist at application if required, IP-secured
    part of a mixed pledge), covered principal, every party's share, the caps per loan and per
    borrower-year and the fund's balance; the basis names the cap that bound. One live claim
    per loan."""
    async def produce():
        claim = await service.file_claim(session, body, caller)
        return ClaimRead(**service.claim_model(claim)), f"/v1/compensation/claims/{claim.id}"

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             produce)


@router.get("/compensation/claims", response_model=ClaimPage,
            summary="List claims, newest first (cursor pagination)")
async def list_claims(
    session: DbSession, caller: Caller,
    status: Annotated[ClaimStatus | None, Query()] = None,
    fund_id: Annotated[str | None, Query(pattern=UUID_PATTERN)] = None,
    loan_id: Annotated[str | None, Query(pattern=UUID_PATTERN)] = None,
    bank: Annotated[str | None, Query(max_length=40, description="bank code")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimPage:
    """A bank sees its own claims; the fund manager and regulators (pboc, nfra, csrc,
    auditor) see all."""
    rows, next_cursor = await service.search_claims(
        session, caller, service.ClaimFilters(status, fund_id, loan_id, bank),
        cursor=cursor, limit=limit)
    return ClaimPage(items=[ClaimRead(**service.claim_model(c)) for c in rows],
                     next_cursor=next_cursor)


@router.get("/compensation/claims/{claim_id}", response_model=ClaimRead,
            summary="One claim with its basis")
async def read_claim(claim_id: CLAIM_ID, session: DbSession, caller: Caller,
                     response: Response) -> ClaimRead:
    claim = await service.claim_or_404(session, claim_id)
    service.ensure_can_read(claim, caller)
    response.headers["ETag"] = f'"{claim.revision}"'
    return ClaimRead(**service.claim_model(claim))


@router.post("/compensation/claims/{claim_id}/payment", response_model=ClaimRead,
             responses=WRITE_ERRORS, summary="Pay a claim from its fund (fund manager)")
async def pay_claim(claim_id: CLAIM_ID, body: PaymentCreate, session: DbSession,
                    caller: CanDecide, request: Request, idempotency_key: IdempotencyKey = None):
    """Recomputed under the fund's lock and paid within its balance (a claim is paid once,
    however often the request is sent); the loan becomes compensated and
    ``compensation.paid`` is published. 409 ``compensation-fund-exhausted`` when nothing can be
    paid now: the claim stays filed."""
    async def produce():
        claim = await service.pay_claim(session, claim_id, body, caller)
        return (ClaimRead(**service.claim_model(claim)),
                f"/v1/compensation/claims/{claim.id}")

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 200,
                             produce)
