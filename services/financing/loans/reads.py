"""Reading loans: who sees which, the filtered list, the green-channel timeliness list for the
regulators and its periodic check, and the API view of a loan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.loans import machine, repository
from services.financing.loans.exceptions import InvalidInput, NotLoanParty
from services.financing.loans.machine import LoanStatus
from services.financing.loans.models import Loan, Pledge
from services.financing.loans.rules import money_str, rate_str
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.pagination import decode_cursor, encode_cursor

log = structlog.get_logger("financing.loans")

#: Departments that read every loan (regulators and the IP office; the auditor read-only).
REGULATORS = ("pboc", "nfra", "market_regulation", "auditor")


def ensure_can_read(loan: Loan, caller: Principal) -> None:
    """A bank reads its own loans, an enterprise its own, regulators all (403 otherwise)."""
    if caller.department in REGULATORS:
        return
    if caller.department == "bank" and (caller.org or "") == loan.bank_code:
        return
    if caller.department == "enterprise" and (caller.org or "").upper() == loan.borrower_uscc:
        return
    raise NotLoanParty(f"loan {loan.id} belongs to another bank or enterprise",
                       detail_zh="只能查看本单位的贷款")


@dataclass
class LoanFilters:
    status: str | None = None
    bank_code: str | None = None
    borrower_uscc: str | None = None
    applied_from: date | None = None
    applied_to: date | None = None


def visibility(caller: Principal) -> list[Any]:
    """The rows a caller may list: a bank its own, an enterprise its own, regulators all."""
    if caller.department in REGULATORS:
        return []
    if caller.department == "bank" and caller.org:
        return [Loan.bank_code == caller.org]
    if caller.department == "enterprise" and caller.org:
        return [Loan.borrower_uscc == caller.org.upper()]
    raise NotLoanParty("listing loans is for the lending banks, the borrowers and the "
                       "regulators (pboc, nfra, market_regulation, auditor)",
                       detail_zh="无权查询贷款")


async def search(session: AsyncSession, caller: Principal, filters: LoanFilters, *,
                 cursor: str | None, limit: int) -> tuple[list[Loan], str | None]:
    conditions = visibility(caller)
    if filters.status:
        conditions.append(Loan.status == filters.status)
    if filters.bank_code:
        conditions.append(Loan.bank_code == filters.bank_code)
    if filters.borrower_uscc:
        conditions.append(Loan.borrower_uscc == filters.borrower_uscc.upper())
    if filters.applied_from:
        conditions.append(Loan.applied_on >= filters.applied_from)
    if filters.applied_to:
        conditions.append(Loan.applied_on <= filters.applied_to)
    after = decode_cursor(cursor)
    if after is not None:
        day, sep, _ = after.partition("|")
        try:
            date.fromisoformat(day)
        except ValueError:
            sep = ""
        if not sep:
            raise InvalidInput("query.cursor", "cursor.invalid",
                               "not a cursor returned by this API (use next_cursor as given)",
                               message_zh="无效的分页游标")
    rows = await repository.search(session, conditions=conditions, after=after, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(f"{last.applied_on.isoformat()}|{last.id}")
    return rows[:limit], next_cursor


async def green_channel_overdue(session: AsyncSession, today: date | None = None
                                ) -> tuple[date, list[dict[str, Any]]]:
    today = today or today_cn()
    items = []
    for loan in await repository.green_channel_overdue(session, today):
        undecided = LoanStatus(loan.status) in machine.UNDECIDED
        until = today if undecided else loan.decided_on
        items.append({"loan_id": loan.id, "borrower_uscc": loan.borrower_uscc,
                      "borrower_name": loan.borrower_name, "bank_code": loan.bank_code,
                      "status": loan.status, "applied_on": loan.applied_on,
                      "decision_deadline": loan.decision_deadline, "decided_on": loan.decided_on,
                      "days_late": (until - loan.decision_deadline).days,
                      "still_undecided": undecided,
                      "green_channel_breached_on": loan.green_channel_breached_on})
    return today, items


async def mark_green_channel_breaches(sessionmaker, today: date | None = None) -> int:
    """Periodic: stamp undecided green-channel loans past their deadline (own transaction)."""
    today = today or today_cn()
    async with sessionmaker() as session, session.begin():
        ids = await repository.mark_green_channel_breached(session, today, utcnow())
    if ids:
        log.info("financing.loan.green_channel_breached", count=len(ids), ids=ids[:50],
                 today=today.isoformat())
    return len(ids)


def _money(value: Decimal | None) -> str | None:
    return money_str(value)


def pledge_model(p: Pledge) -> dict[str, Any]:
    return {"id": p.id, "application_no": p.application_no, "kind": p.kind,
            "pledgor_uscc": p.pledgor_uscc, "pledgee_bank_code": p.pledgee_bank_code,
            "pledgee_name": p.pledgee_name, "status": p.status,
            "registration_no": p.registration_no, "registered_on": p.registered_on,
            "secured_amount_cny": _money(p.secured_amount_cny), "valuation_id": p.valuation_id,
            "valuation_value_cny": _money(p.valuation_value_cny),
            "pledge_rate": rate_str(p.pledge_rate),
            "released_on": p.released_on, "release_reason": p.release_reason,
            "revision": p.revision}


def read_model(loan: Loan) -> dict[str, Any]:
    """The API view of a loan (router and idempotency store)."""
    return {
        "id": loan.id, "borrower_uscc": loan.borrower_uscc, "borrower_name": loan.borrower_name,
        "bank_code": loan.bank_code, "status": loan.status,
        "allowed_transitions": [t.as_dict() for t in machine.allowed(LoanStatus(loan.status))],
        "requested_amount_cny": _money(loan.requested_amount_cny),
        "term_months": loan.term_months, "purpose": loan.purpose, "applied_on": loan.applied_on,
        "region_code": loan.region_code, "province_code": loan.province_code,
        "tier_code": loan.tier_code, "pool_member": loan.pool_member, "pack": loan.pack,
        "application_basis": loan.application_basis, "green_channel": loan.green_channel,
        "decision_deadline": loan.decision_deadline,
        "green_channel_basis": loan.green_channel_basis,
        "green_channel_breached_on": loan.green_channel_breached_on,
        "decision_late": loan.decision_late, "decision": loan.decision,
        "decided_on": loan.decided_on, "decided_at": loan.decided_at,
        "decision_basis": loan.decision_basis, "rejection_reason": loan.rejection_reason,
        "approved_amount_cny": _money(loan.approved_amount_cny),
        "interest_rate": rate_str(loan.interest_rate),
        "approved_term_months": loan.approved_term_months, "quota_year": loan.quota_year,
        "quota_counted_cny": _money(loan.quota_counted_cny),
        "disbursed_amount_cny": _money(loan.disbursed_amount_cny),
        "disbursed_on": loan.disbursed_on, "maturity_on": loan.maturity_on,
        "outstanding_principal_cny": _money(loan.outstanding_principal_cny),
        "repaid_on": loan.repaid_on, "overdue_since": loan.overdue_since,
        "defaulted_on": loan.defaulted_on, "principal_loss_cny": _money(loan.principal_loss_cny),
        "compensation_claim_id": loan.compensation_claim_id,
        "compensated_amount_cny": _money(loan.compensated_amount_cny),
        "closed_on": loan.closed_on, "close_reason": loan.close_reason,
        "pledges": [pledge_model(p) for p in loan.pledges], "history": loan.history,
        "revision": loan.revision, "created_at": loan.created_at, "updated_at": loan.updated_at,
    }
