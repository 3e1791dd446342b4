"""Banks' dedicated annual credit quotas for cultivation-pool enterprises (单列信贷额度).

Set by the bank itself or by NFRA; approvals for pool enterprises draw on the quota of the
decision year (service._count_quota, one conditional UPDATE). Lowering a quota below what is
already used is refused with the figures.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.loans import repository
from services.financing.loans.exceptions import InvalidInput, NotLendingBank, QuotaBelowUsage
from services.financing.loans.models import BankQuota
from services.financing.loans.rules import money, money_str
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import NotFound, PreconditionFailed

log = structlog.get_logger("financing.quotas")

READERS = ("nfra", "pboc", "market_regulation", "auditor")


class QuotaNotFound(NotFound):
    slug = "quota-not-found"
    title = "No quota set for this bank and year"


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise InvalidInput("year", "year.range", "a calendar year between 2000 and 2100",
                           message_zh="年度应在2000至2100之间")
    return year


def ensure_can_set(bank_code: str, caller: Principal) -> None:
    if caller.department == "nfra" and caller.has("quotas:write"):
        return
    if caller.department == "bank" and caller.has("loans:write") and caller.org == bank_code:
        return
    raise NotLendingBank(f"the quota of bank {bank_code} is set by the bank itself or by NFRA",
                         detail_zh="单列信贷额度由银行本身或金融监管总局设置")


def ensure_can_read(bank_code: str, caller: Principal) -> None:
    if caller.department in READERS or (caller.department == "bank"
                                        and caller.org == bank_code):
        return
    raise NotLendingBank(f"the quota of bank {bank_code} is visible to the bank and regulators",
                         detail_zh="无权查看该银行的单列信贷额度")


async def get_or_404(session: AsyncSession, bank_code: str, year: int) -> BankQuota:
    row = await repository.quota(session, bank_code, _year(year))
    if row is None:
        raise QuotaNotFound(f"bank {bank_code} has no dedicated pool quota for {year}",
                            detail_zh="该银行本年度未设置单列信贷额度")
    return row


async def put(session: AsyncSession, bank_code: str, year: int, amount: Decimal,
              note: str | None, caller: Principal, *, expected_revision: int | None
              ) -> tuple[BankQuota, bool]:
    """Create or change the quota; returns (row, created)."""
    ensure_can_set(bank_code, caller)
    year, amount, now = _year(year), money(amount), utcnow()
    row = await repository.quota(session, bank_code, year)
    if row is None:
        if expected_revision is not None:
            raise PreconditionFailed("If-Match given but no quota exists yet for this year",
                                     detail_zh="该年度额度尚未设置", current_etag=None)
        row = BankQuota(bank_code=bank_code, year=year, quota_cny=amount,
                        used_cny=Decimal("0.00"), note=note, set_by=caller.subject, revision=1,
                        created_at=now, updated_at=now)
        repository.add(session, row)
        await session.flush()
        log.info("financing.quota.set", bank=bank_code, year=year, quota=money_str(amount))
        return row, True
    changed = await repository.set_quota(session, bank_code, year, amount, note=note,
                                         by=caller.subject, now=now,
                                         expected_revision=expected_revision)
    await session.refresh(row)
    if not changed:
        if expected_revision is not None and row.revision != expected_revision:
            raise PreconditionFailed(f"the quota changed since it was read (revision "
                                     f"{row.revision}); re-read and retry",
                                     detail_zh="额度已被修改，请重新读取后再提交",
                                     current_etag=f'"{row.revision}"')
        raise QuotaBelowUsage(
            f"a quota of {money_str(amount)} is below the {money_str(row.used_cny)} already "
            f"approved against bank {bank_code}'s {year} quota",
            detail_zh="额度不能低于已使用金额", quota_cny=money_str(amount),
            used_cny=money_str(row.used_cny))
    log.info("financing.quota.set", bank=bank_code, year=year, quota=money_str(amount))
    return row, False


async def read_model(session: AsyncSession, row: BankQuota) -> dict[str, Any]:
    loans = await repository.loans_counted(session, row.bank_code, row.year)
    return {"bank_code": row.bank_code, "year": row.year, "quota_cny": money_str(row.quota_cny),
            "used_cny": money_str(row.used_cny),
            "remaining_cny": money_str(row.quota_cny - row.used_cny), "note": row.note,
            "set_by": row.set_by, "revision": row.revision, "updated_at": row.updated_at,
            "approvals": [{"loan_id": loan.id, "borrower_uscc": loan.borrower_uscc,
                           "amount_cny": money_str(loan.quota_counted_cny),
                           "decided_on": loan.decided_on} for loan in loans]}
