"""Reward funds at work: creating them, deposits (which pay the claims waiting for money at
once, oldest approval first), balances and ledgers. No FastAPI, no commit.

Only the fund's manager department moves its money. A deposit locks the claims it will pay
before it touches the fund row (the order every writer follows: claims, caps, fund), so
deposits, approvals and the retry task never wait on each other in a circle.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims import payments
from services.rewards.claims.events import money_str
from services.rewards.claims.rules import money
from services.rewards.funds import repository
from services.rewards.funds.models import RewardFund, RewardLedgerEntry
from shared.app import is_unique_violation
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.pagination import decode_cursor, encode_cursor

log = structlog.get_logger("rewards.funds")

ZERO = Decimal("0.00")
#: Waiting claims a deposit pays in its own transaction; the retry task pays the rest.
DEPOSIT_PAYS_UP_TO = 200


class FundNotFound(NotFound):
    slug = "reward-fund-not-found"
    title = "Reward fund not found"


class FundExists(Conflict):
    slug = "reward-fund-exists"
    title = "A fund with this code exists"


class NotFundManager(Forbidden):
    slug = "not-fund-manager"
    title = "Only the fund's manager department moves its money"


async def fund_or_404(session: AsyncSession, code: str) -> RewardFund:
    fund = await repository.get_fund(session, code)
    if fund is None:
        raise FundNotFound(f"no reward fund {code}", detail_zh="未找到该奖励资金", code=code)
    return fund


async def create_fund(session: AsyncSession, data: Any, caller: Principal) -> RewardFund:
    """A fund with balance 0; claims approved while it was missing get ``insufficient_balance``
    until a deposit pays them."""
    if await repository.get_fund(session, data.code) is not None:
        raise FundExists(f"fund {data.code} exists", detail_zh="该资金代码已存在", code=data.code)
    now = utcnow()
    fund = RewardFund(code=data.code, name=data.name, source_kind=data.source_kind,
                      jurisdiction=data.jurisdiction,
                      manager_department=data.manager_department or caller.department,
                      balance_cny=ZERO, deposited_cny=ZERO, paid_cny=ZERO, recovered_cny=ZERO,
                      note=data.note, created_by=caller.subject, created_at=now, updated_at=now)
    session.add(fund)
    try:
        await session.flush()
    except sa_exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise FundExists(f"fund {data.code} was created by a concurrent request",
                         detail_zh="该资金代码已存在", code=data.code) from exc
    await payments.pay_blocked(session, fund_code=fund.code, payable_only=False,
                               limit=DEPOSIT_PAYS_UP_TO)
    log.info("rewards.fund.created", code=fund.code, manager=fund.manager_department)
    return fund


def ensure_manager(fund: RewardFund, caller: Principal) -> None:
    if caller.department != fund.manager_department:
        raise NotFundManager(f"fund {fund.code} is managed by {fund.manager_department}; this "
                             f"caller is {caller.department}", detail_zh="只有资金管理部门可以操作",
                             manager_department=fund.manager_department)


async def deposit(session: AsyncSession, code: str, data: Any, caller: Principal
                  ) -> tuple[RewardFund, RewardLedgerEntry, int]:
    """Top the fund up and pay the claims waiting for it; the entry carries the balance."""
    today = today_cn()
    on = data.deposited_on or today
    if on > today:
        raise InvalidInput("deposited_on", "not_in_future", f"{on} is after today ({today})",
                           message_zh="日期不能晚于今天")
    ensure_manager(await fund_or_404(session, code), caller)
    candidates = await payments.lock_blocked(session, code, limit=DEPOSIT_PAYS_UP_TO)
    now = utcnow()
    amount = money(data.amount_cny)
    balance = await repository.credit(session, code, amount, now, total="deposited_cny")
    if balance is None:
        raise FundNotFound(f"no reward fund {code}", detail_zh="未找到该奖励资金", code=code)
    entry = RewardLedgerEntry(fund_code=code, kind="deposit", amount_cny=amount,
                              balance_after_cny=balance, claim_id=None,
                              reference=data.reference, note=data.note, booked_on=on,
                              by=caller.subject, at=now)
    session.add(entry)
    await session.flush()
    paid = 0
    for claim in candidates:
        if await payments.pay(session, claim, by="system", now=now, today=today):
            paid += 1
    fund = await fund_or_404(session, code)
    log.info("rewards.fund.deposit", code=code, amount=money_str(amount),
             balance=money_str(fund.balance_cny), claims_paid=paid)
    return fund, entry, paid


async def list_funds(session: AsyncSession, jurisdiction: str | None) -> list[RewardFund]:
    return await repository.list_funds(session, jurisdiction)


async def ledger(session: AsyncSession, code: str, *, cursor: str | None, limit: int
                 ) -> tuple[list[RewardLedgerEntry], str | None]:
    await fund_or_404(session, code)
    after = decode_cursor(cursor)
    try:
        after_id = int(after) if after is not None else None
    except ValueError as exc:
        raise InvalidInput("query.cursor", "cursor.invalid", "not a ledger cursor",
                           message_zh="无效的分页游标") from exc
    rows = await repository.ledger(session, code, after=after_id, limit=limit + 1)
    next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def fund_model(session: AsyncSession, fund: RewardFund) -> dict[str, Any]:
    count, total = await repository.blocked(session, fund.code)
    return {
        "code": fund.code, "name": fund.name, "source_kind": fund.source_kind,
        "jurisdiction": fund.jurisdiction, "manager_department": fund.manager_department,
        "balance_cny": money_str(fund.balance_cny),
        "deposited_cny": money_str(fund.deposited_cny), "paid_cny": money_str(fund.paid_cny),
        "recovered_cny": money_str(fund.recovered_cny), "blocked_claims": count,
        "blocked_cny": money_str(total), "note": fund.note, "created_by": fund.created_by,
        "created_at": fund.created_at, "updated_at": fund.updated_at,
    }


def entry_model(entry: RewardLedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "fund_code": entry.fund_code, "kind": entry.kind,
        "amount_cny": money_str(entry.amount_cny),
        "balance_after_cny": money_str(entry.balance_after_cny), "claim_id": entry.claim_id,
        "reference": entry.reference, "note": entry.note, "booked_on": entry.booked_on,
        "by": entry.by, "at": entry.at,
    }

