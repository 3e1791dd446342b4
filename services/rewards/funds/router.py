"""HTTP for reward funds: creating them, deposits, balances and ledgers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from services.rewards.db import KERNEL
from services.rewards.funds import service
from services.rewards.funds.schemas import (DepositCreate, DepositRead, FundCreate, FundList,
                                            FundRead, LedgerEntryRead, LedgerPage)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.errors import Forbidden

router = APIRouter(tags=["funds"])

CanManage = Annotated[Principal, Depends(require(scopes=("funds:manage",)))]
FUND_CODE = Annotated[str, Path(min_length=2, max_length=60, pattern=r"^[a-z0-9-]+$",
                                description="Fund code, e.g. shanxi-ip-fund")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
#: Who reads funds and their ledgers: fund managers, deciding departments, auditors.
READ_SCOPES = ("funds:manage", "rewards:read", "rewards:decide")

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the fund's manager department"},
    404: {"description": "Unknown fund"},
    409: {"description": "A fund with this code exists"},
    422: {"description": "A field broke a rule (problem+json names it)"},
}


def _can_read(caller: Principal) -> None:
    if not any(caller.has(s) for s in READ_SCOPES):
        raise Forbidden("reward funds are read by fund managers, the deciding departments and "
                        "auditors", detail_zh="无权查看奖励资金")


async def _idempotent(session, request: Request, caller: Principal, body: Any, status: int,
                      produce: Callable[[], Awaitable[tuple[Any, str]]]) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key; it returns (response model, Location)."""
    async def effect():
        model, url = await produce()
        return model, idempotency.location(status, url)

    return await idempotency.respond_once(session, KERNEL.idempotency, request, caller, body,
                                          effect, status=status)


@router.post("/funds", status_code=201, response_model=FundRead, responses=WRITE_ERRORS,
             summary="Create a reward fund (fund manager)")
async def create_fund(body: FundCreate, session: DbSession, caller: CanManage,
                      request: Request, idempotency_key: IdempotencyKey = None):
    """Balance 0 until deposits; pays the claims of every rule naming its code."""
    async def produce():
        fund = await service.create_fund(session, body, caller)
        return FundRead(**await service.fund_model(session, fund)), f"/v1/funds/{fund.code}"

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             produce)


@router.get("/funds", response_model=FundList, summary="List reward funds with balances")
async def list_funds(session: DbSession, caller: Caller,
                     jurisdiction: Annotated[str | None, Query(max_length=10)] = None
                     ) -> FundList:
    _can_read(caller)
    rows = await service.list_funds(session, jurisdiction)
    return FundList(items=[FundRead(**await service.fund_model(session, f)) for f in rows])


@router.get("/funds/{code}", response_model=FundRead,
            summary="A fund's balance, totals and the claims waiting for money")
async def read_fund(code: FUND_CODE, session: DbSession, caller: Caller) -> FundRead:
    _can_read(caller)
    fund = await service.fund_or_404(session, code)
    return FundRead(**await service.fund_model(session, fund))


@router.get("/funds/{code}/ledger", response_model=LedgerPage,
            summary="A fund's ledger, oldest entry first (cursor pagination)")
async def read_ledger(code: FUND_CODE, session: DbSession, caller: Caller,
                      cursor: Annotated[str | None, Query(max_length=500)] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> LedgerPage:
    """Every movement: deposit (+), payment of a claim (−), recovery of a clawed-back claim
    (+), each with the balance after it, who booked it and when."""
    _can_read(caller)
    rows, next_cursor = await service.ledger(session, code, cursor=cursor, limit=limit)
    return LedgerPage(items=[LedgerEntryRead(**service.entry_model(e)) for e in rows],
                      next_cursor=next_cursor)


@router.post("/funds/{code}/deposits", status_code=201, response_model=DepositRead,
             responses=WRITE_ERRORS, summary="Top a fund up (its manager department)")
async def deposit(code: FUND_CODE, body: DepositCreate, session: DbSession,
                  caller: CanManage, request: Request, idempotency_key: IdempotencyKey = None):
    """Adds to the balance, books the entry with the balance after it, and pays the approved
    claims that were waiting for this fund, oldest approval first."""
    async def produce():
        fund, entry, paid = await service.deposit(session, code, body, caller)
        return (DepositRead(fund=FundRead(**await service.fund_model(session, fund)),
                            entry=LedgerEntryRead(**service.entry_model(entry)),
                            claims_paid=paid), f"/v1/funds/{code}/ledger")

    return await _idempotent(session, request, caller, body.model_dump(mode="json"), 201,
                             produce)
