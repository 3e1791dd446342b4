"""Risk-compensation rules at work: funds and their ledgers, claims, payments. No FastAPI, no
commit: the request's transaction holds the ledger entry, the claim, the loan's transition and
the ``compensation.paid`` event together.

Filing computes the claim with the fund's pack (rules.decide) and stores the basis; paying
recomputes it under a lock on the fund (the balance and the borrower's yearly figures may have
moved), debits the fund with a conditional UPDATE, marks the claim paid only from ``filed``,
books the ledger entry (unique per claim), marks the loan compensated
(``loans.service.mark_compensated``) and publishes ``compensation.paid`` to the borrower's key,
webhooks to the lending bank.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing import events as bus
from services.financing.compensation import events, packs, repository, rules
from services.financing.compensation.exceptions import (ClaimAlreadyFiled, ClaimAlreadyPaid,
                                                        ClaimNotEligible, ClaimNotFound,
                                                        FundExhausted, FundNotFound,
                                                        InvalidInput, LoanNotDefaulted,
                                                        LoanNotFound, NotLendingBank,
                                                        NothingPayable)
from services.financing.compensation.models import Claim, Fund, LedgerEntry
from services.financing.compensation.rules import ClaimDecision, ClaimFacts, money, money_str
from services.financing.compensation.schemas import (ClaimCreate, DepositCreate, FundCreate,
                                                     PaymentCreate)
from services.financing.loans import repository as loans
from services.financing.loans import service as loan_service
from services.financing.loans.models import Loan
from shared.app import is_unique_violation
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Forbidden
from shared.identifiers import InvalidIdentifier, validate_region_code
from shared.pagination import decode_cursor, encode_cursor

log = structlog.get_logger("financing.compensation")

#: Scopes that read every claim (regulators, the fund manager, the auditor).
READ_ALL_SCOPES = ("stats:read", "compensation:decide")


def _uuid() -> str:
    return str(uuid.uuid4())


def _not_future(value: date, field: str, today: date) -> None:
    if value > today:
        raise InvalidInput(field, "not_in_future", f"{value.isoformat()} is after today "
                           f"({today.isoformat()})", message_zh="日期不能晚于今天")


# --- funds --------------------------------------------------------------------------------------

async def create_fund(session: AsyncSession, data: FundCreate, caller: Principal) -> Fund:
    """A fund of one jurisdiction applying one compensation pack; balance 0 until deposits."""
    try:
        jurisdiction = validate_region_code(data.jurisdiction)
    except InvalidIdentifier as exc:
        raise InvalidInput("jurisdiction", exc.rule, exc.message,
                           message_zh=exc.message_zh or None) from exc
    if data.pack_id not in packs.pack_ids():
        raise InvalidInput("pack_id", "pack_id.unknown",
                           f"no compensation pack {data.pack_id!r}; known: "
                           f"{', '.join(packs.pack_ids())}", message_zh="未知的风险补偿政策包")
    now = utcnow()
    fund = Fund(id=_uuid(), name=data.name, jurisdiction=jurisdiction, pack_id=data.pack_id,
                balance_cny=Decimal("0.00"), deposited_cny=Decimal("0.00"),
                paid_cny=Decimal("0.00"), note=data.note, manager_org=caller.org,
                created_by=caller.subject, created_at=now, updated_at=now)
    repository.add(session, fund)
    await session.flush()
    log.info("financing.compensation.fund_created", fund_id=fund.id, jurisdiction=jurisdiction,
             pack=data.pack_id)
    return fund


async def fund_or_404(session: AsyncSession, fund_id: str, *, for_update: bool = False) -> Fund:
    fund = await repository.get_fund(session, fund_id, for_update=for_update)
    if fund is None:
        raise FundNotFound(f"no compensation fund {fund_id}", detail_zh="未找到该风险补偿资金")
    return fund


def ensure_manager(fund: Fund, caller: Principal) -> None:
    """Only the office that manages a fund (the org of the token that created it) moves money
    in or out of it; another city's IP office cannot."""
    if fund.manager_org is not None and (caller.org or "") != fund.manager_org:
        raise Forbidden(f"fund {fund.id} is managed by {fund.manager_org}; this caller's org "
                        f"is {caller.org or '(none)'}", detail_zh="只有该资金的管理单位可以操作",
                        manager_org=fund.manager_org)


async def deposit(session: AsyncSession, fund_id: str, data: DepositCreate, caller: Principal,
                  *, today: date | None = None) -> tuple[Fund, LedgerEntry]:
    """Top the fund up; the ledger entry carries the balance after it."""
    today = today or today_cn()
    on = data.deposited_on or today
    _not_future(on, "deposited_on", today)
    ensure_manager(await fund_or_404(session, fund_id), caller)
    now = utcnow()
    amount = money(data.amount_cny)
    balance = await repository.credit(session, fund_id, amount, now)
    if balance is None:
        raise FundNotFound(f"no compensation fund {fund_id}", detail_zh="未找到该风险补偿资金")
    entry = LedgerEntry(fund_id=fund_id, kind="deposit", amount_cny=amount,
                        balance_after_cny=balance, claim_id=None, reference=data.reference,
                        note=data.note, booked_on=on, by=caller.subject,
                        by_department=caller.department, at=now)
    repository.add(session, entry)
    await session.flush()
    fund = await fund_or_404(session, fund_id)
    log.info("financing.compensation.deposit", fund_id=fund_id, amount=money_str(amount),
             balance=money_str(balance))
    return fund, entry


async def list_funds(session: AsyncSession, jurisdiction: str | None) -> list[Fund]:
    return await repository.list_funds(session, jurisdiction)


async def fund_ledger(session: AsyncSession, fund_id: str, *, cursor: str | None, limit: int
                      ) -> tuple[Fund, list[tuple[LedgerEntry, str | None]], str | None]:
    fund = await fund_or_404(session, fund_id)
    after = decode_cursor(cursor)
    try:
        after_id = int(after) if after is not None else None
    except ValueError as exc:
        raise InvalidInput("query.cursor", "cursor.invalid", "not a ledger cursor",
                           message_zh="无效的分页游标") from exc
    rows = await repository.ledger(session, fund_id, after=after_id, limit=limit + 1)
    next_cursor = encode_cursor(str(rows[limit - 1][0].id)) if len(rows) > limit else None
    return fund, rows[:limit], next_cursor


# --- claims -------------------------------------------------------------------------------------

async def _loan(session: AsyncSession, loan_id: str, *, for_update: bool = False) -> Loan:
    loan = await loans.get_loan(session, loan_id, for_update=for_update)
    if loan is None:
        raise LoanNotFound(f"no loan {loan_id}", detail_zh="未找到该贷款", loan_id=loan_id)
    return loan


def _ensure_defaulted(loan: Loan) -> None:
    if loan.status != "defaulted":
        raise LoanNotDefaulted(
            f"loan {loan.id} is {loan.status}; compensation is claimed on a defaulted loan",
            detail_zh="仅违约贷款可申请风险补偿", loan_id=loan.id, status_now=loan.status)


async def _fund_for(session: AsyncSession, loan: Loan, fund_id: str | None) -> Fund:
    """The fund named, else the one whose jurisdiction covers the borrower most closely."""
    if fund_id is not None:
        fund = await repository.get_fund(session, fund_id)
        if fund is None:
            raise InvalidInput("fund_id", "fund_id.unknown", f"no compensation fund {fund_id}",
                               message_zh="未找到该风险补偿资金")
        return fund
    region = loan.region_code or ""
    covering = [f for f in await repository.list_funds(session)
                if region.startswith(rules.jurisdiction_prefix(f.jurisdiction))]
    if not covering:
        raise InvalidInput("fund_id", "fund_id.none_covers",
                           f"no compensation fund covers the borrower's region "
                           f"{loan.region_code or '(unknown)'}",
                           message_zh="借款企业所在地区没有风险补偿资金")
    best = max(len(rules.jurisdiction_prefix(f.jurisdiction)) for f in covering)
    closest = [f for f in covering if len(rules.jurisdiction_prefix(f.jurisdiction)) == best]
    if len(closest) > 1:
        raise InvalidInput("fund_id", "fund_id.ambiguous",
                           f"{len(closest)} funds cover region {loan.region_code}; name one",
                           message_zh="多个风险补偿资金覆盖该地区，请指定 fund_id",
                           fund_ids=[f.id for f in closest])
    return closest[0]


def _pack(fund: Fund, loan: Loan) -> rules.CompensationPack:
    """The version of the fund's pack in force when the loan was made (disbursed)."""
    made = loan.disbursed_on or loan.applied_on
    pack = packs.pack_on(fund.pack_id, made)
    if pack is None:
        periods = [f"{p.id}@v{p.version}: {p.effective_from}–{p.effective_to or 'open'}"
                   for p in packs.versions(fund.pack_id)]
        raise ClaimNotEligible(
            f"no version of {fund.pack_id} was in force when the loan was made "
            f"({made.isoformat()})", detail_zh="贷款发放时该风险补偿政策未生效",
            basis={"rules": [{"rule": "pack.in_force_when_made", "passed": False,
                              "figures": {"disbursed_on": made.isoformat(),
                                          "pack_versions": periods},
                              "clause": []}]})
    return pack


def _ip_secured(loan: Loan) -> tuple[Decimal, int]:
    """The registered pledges' secured amounts (a pledge with none secures the whole loan)."""
    principal = loan.disbursed_amount_cny or loan.approved_amount_cny or Decimal(0)
    registered = [p for p in loan.pledges if p.registration_no]
    if any(p.secured_amount_cny is None for p in registered):
        return principal, len(registered)
    return sum((p.secured_amount_cny for p in registered), Decimal(0)), len(registered)


async def _facts(session: AsyncSession, loan: Loan, fund: Fund, *, loss: Decimal,
                 other: Decimal, year: int) -> ClaimFacts:
    ip_secured, registered = _ip_secured(loan)
    return ClaimFacts(
        loan_id=loan.id,
        principal_cny=loan.disbursed_amount_cny or loan.approved_amount_cny or Decimal(0),
        principal_loss_cny=loss, ip_secured_cny=ip_secured, registered_pledges=registered,
        other_collateral_cny=other, tier_code=loan.tier_code, region_code=loan.region_code,
        fund_jurisdiction=fund.jurisdiction, disbursed_on=loan.disbursed_on or loan.applied_on,
        earlier_principals_cny=tuple(await repository.earlier_principals(session, loan)),
        borrower_year_paid_cny=await repository.borrower_paid_in_year(
            session, fund.id, loan.borrower_uscc, year),
        fund_balance_cny=fund.balance_cny, payment_year=year)


def _not_eligible(decision: ClaimDecision) -> ClaimNotEligible:
    failed = [r["rule"] for r in decision.failed]
    return ClaimNotEligible(f"the loan is not eligible under {decision.pack}: "
                            f"{', '.join(failed)}", detail_zh="该贷款不符合风险补偿条件",
                            failed_rules=failed, basis=decision.basis())


async def file_claim(session: AsyncSession, data: ClaimCreate, caller: Principal, *,
                     today: date | None = None) -> Claim:
    """The lending bank claims on a defaulted loan; the claim is computed and its basis stored
    (422 with the basis when the pack's eligibility refuses it)."""
    today = today or today_cn()
    loan = await _loan(session, data.loan_id)
    if caller.department != "bank" or (caller.org or "") != loan.bank_code:
        raise NotLendingBank(f"only the lending bank {loan.bank_code} may claim on loan "
                             f"{loan.id}", detail_zh="只有贷款银行可以申请风险补偿",
                             lending_bank=loan.bank_code)
    _ensure_defaulted(loan)
    loss = money(data.principal_loss_cny)
    if loan.principal_loss_cny is not None and loss > loan.principal_loss_cny:
        raise InvalidInput("principal_loss_cny", "principal_loss.within_reported",
                           f"the claimed loss {money_str(loss)} is more than the loss reported "
                           f"at default ({money_str(loan.principal_loss_cny)})",
                           message_zh="申请补偿的本金损失超过违约时报告的本金损失")
    existing = await repository.live_claim_for(session, loan.id)
    if existing is not None:
        raise ClaimAlreadyFiled(f"loan {loan.id} already has claim {existing.id} "
                                f"({existing.status})", detail_zh="该贷款已申请风险补偿",
                                claim_id=existing.id)
    fund = await _fund_for(session, loan, data.fund_id)
    pack = _pack(fund, loan)
    facts = await _facts(session, loan, fund, loss=loss, other=money(data.other_collateral_cny),
                         year=today.year)
    decision = rules.decide(pack, facts)
    if not decision.eligible:
        raise _not_eligible(decision)
    now = utcnow()
    claim = Claim(
        id=_uuid(), loan_id=loan.id, fund_id=fund.id, bank_code=loan.bank_code,
        borrower_uscc=loan.borrower_uscc, status="filed", principal_loss_cny=loss,
        other_collateral_cny=money(data.other_collateral_cny),
        evidence=[e.model_dump(mode="json") for e in data.evidence], pack=decision.pack,
        fund_share_cny=decision.fund_share_cny, claimable_cny=decision.claimable_cny,
        payable_cny=decision.payable_cny, binding_cap=decision.binding_cap,
        basis=decision.basis() | {"computed_on": today.isoformat(), "fund_id": fund.id},
        filed_by=caller.subject, filed_at=now, revision=1, updated_at=now)
    repository.add(session, claim)
    try:
        await session.flush()
    except sa_exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise ClaimAlreadyFiled(f"loan {loan.id} got a claim from a concurrent request",
                                detail_zh="该贷款已申请风险补偿") from exc
    log.info("financing.compensation.claim_filed", claim_id=claim.id, loan_id=loan.id,
             fund_id=fund.id, claimable=money_str(decision.claimable_cny),
             binding=decision.binding_cap)
    return claim


async def claim_or_404(session: AsyncSession, claim_id: str, *, for_update: bool = False
                       ) -> Claim:
    claim = await repository.get_claim(session, claim_id, for_update=for_update)
    if claim is None:
        raise ClaimNotFound(f"no compensation claim {claim_id}", detail_zh="未找到该补偿申请")
    return claim


def ensure_can_read(claim: Claim, caller: Principal) -> None:
    if any(caller.has(s) for s in READ_ALL_SCOPES):
        return
    if caller.department == "bank" and caller.org == claim.bank_code:
        return
    raise Forbidden("a bank reads only its own claims", detail_zh="银行只能查看本行的补偿申请")


def _already_paid(claim_id: str) -> ClaimAlreadyPaid:
    return ClaimAlreadyPaid(f"claim {claim_id} is already paid; a claim is paid once",
                            detail_zh="该补偿申请已支付", claim_id=claim_id)


async def pay_claim(session: AsyncSession, claim_id: str, data: PaymentCreate,
                    caller: Principal, *, today: date | None = None) -> Claim:
    """The fund manager pays a filed claim (once): recomputed under the fund's lock, debited
    within the balance, booked, the loan marked compensated, ``compensation.paid`` published.
    409 when the balance (or another cap) leaves nothing to pay: the claim stays filed."""
    today = today or today_cn()
    paid_on = data.paid_on or today
    _not_future(paid_on, "paid_on", today)
    claim = await claim_or_404(session, claim_id, for_update=True)
    if claim.status != "filed":
        raise _already_paid(claim.id)
    # Lock order everywhere: claim, then fund, then loan.
    fund = await fund_or_404(session, claim.fund_id, for_update=True)
    ensure_manager(fund, caller)
    loan = await _loan(session, claim.loan_id, for_update=True)
    _ensure_defaulted(loan)
    pack = _pack(fund, loan)
    facts = await _facts(session, loan, fund, loss=claim.principal_loss_cny,
                         other=claim.other_collateral_cny, year=paid_on.year)
    decision = rules.decide(pack, facts)
    if not decision.eligible:
        raise _not_eligible(decision)
    amount = decision.payable_cny
    if amount <= 0:
        figures = {"claim_id": claim.id, "claimable_cny": money_str(decision.claimable_cny),
                   "fund_balance_cny": money_str(fund.balance_cny),
                   "binding_cap": decision.binding_cap}
        if decision.binding_cap == "fund_balance":
            raise FundExhausted(f"fund {fund.id} has no balance left to pay claim {claim.id}",
                                detail_zh="风险补偿资金余额不足，暂无法支付", **figures)
        raise NothingPayable(f"{decision.binding_cap} leaves nothing to pay on claim {claim.id}",
                             detail_zh="补偿上限已用尽，无可支付金额", **figures)
    now = utcnow()
    balance = await repository.debit(session, fund.id, amount, now)
    if balance is None:  # the lock makes this unreachable; the guard makes it harmless
        raise FundExhausted(f"fund {fund.id} cannot cover {money_str(amount)} now; retry",
                            detail_zh="风险补偿资金余额不足，暂无法支付", claim_id=claim.id)
    basis = decision.basis() | {"computed_on": paid_on.isoformat(), "fund_id": fund.id,
                                "fund_balance_after_cny": money_str(balance)}
    if not await repository.mark_paid(session, claim.id, amount=amount, paid_on=paid_on,
                                      by=caller.subject, basis=basis, note=data.note, now=now):
        raise _already_paid(claim.id)
    entry = LedgerEntry(fund_id=fund.id, kind="payment", amount_cny=-amount,
                        balance_after_cny=balance, claim_id=claim.id,
                        reference=f"loan {loan.id}", note=data.note, booked_on=paid_on,
                        by=caller.subject, by_department=caller.department, at=now)
    repository.add(session, entry)
    try:
        await session.flush()
    except sa_exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise _already_paid(claim.id) from exc
    await loan_service.mark_compensated(session, loan, claim_id=claim.id, amount_cny=amount)
    await session.refresh(claim)
    await session.refresh(fund)
    await bus.publish(session, "compensation.paid", key=claim.borrower_uscc,
                      data=events.paid(claim, fund, entry, now), bank_code=claim.bank_code)
    log.info("financing.compensation.claim_paid", claim_id=claim.id, loan_id=loan.id,
             fund_id=fund.id, amount=money_str(amount), balance=money_str(balance),
             binding=decision.binding_cap)
    return claim


@dataclass
class ClaimFilters:
    status: str | None = None
    fund_id: str | None = None
    loan_id: str | None = None
    bank_code: str | None = None


async def search_claims(session: AsyncSession, caller: Principal, filters: ClaimFilters, *,
                        cursor: str | None, limit: int) -> tuple[list[Claim], str | None]:
    """A bank sees its own claims; regulators and the fund manager see all."""
    conditions: list[Any] = []
    if not any(caller.has(s) for s in READ_ALL_SCOPES):
        if caller.department != "bank" or not caller.org:
            raise Forbidden("claims are read by the lending bank, the fund manager and "
                            "regulators", detail_zh="无权查看补偿申请")
        conditions.append(Claim.bank_code == caller.org)
    if filters.status:
        conditions.append(Claim.status == filters.status)
    if filters.fund_id:
        conditions.append(Claim.fund_id == filters.fund_id)
    if filters.loan_id:
        conditions.append(Claim.loan_id == filters.loan_id)
    if filters.bank_code:
        conditions.append(Claim.bank_code == filters.bank_code)
    rows = await repository.search_claims(session, conditions=conditions,
                                          after=decode_cursor(cursor), limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(f"{last.filed_at.isoformat()}|{last.id}")
    return rows[:limit], next_cursor


# --- read models --------------------------------------------------------------------------------

def fund_model(fund: Fund) -> dict[str, Any]:
    return {
        "id": fund.id, "name": fund.name, "jurisdiction": fund.jurisdiction,
        "pack_id": fund.pack_id,
        "pack_versions": [f"{p.id}@v{p.version} ({p.effective_from.isoformat()} – "
                          f"{p.effective_to.isoformat() if p.effective_to else 'open'})"
                          for p in packs.versions(fund.pack_id)],
        "balance_cny": money_str(fund.balance_cny),
        "deposited_cny": money_str(fund.deposited_cny), "paid_cny": money_str(fund.paid_cny),
        "note": fund.note, "created_by": fund.created_by, "created_at": fund.created_at,
        "updated_at": fund.updated_at,
    }


def entry_model(entry: LedgerEntry, loan_id: str | None = None) -> dict[str, Any]:
    return {
        "id": entry.id, "kind": entry.kind, "amount_cny": money_str(entry.amount_cny),
        "balance_after_cny": money_str(entry.balance_after_cny), "claim_id": entry.claim_id,
        "loan_id": loan_id, "reference": entry.reference, "note": entry.note,
        "booked_on": entry.booked_on, "by": entry.by, "by_department": entry.by_department,
        "at": entry.at,
    }


def claim_model(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id, "loan_id": claim.loan_id, "fund_id": claim.fund_id,
        "bank_code": claim.bank_code, "borrower_uscc": claim.borrower_uscc,
        "status": claim.status, "principal_loss_cny": money_str(claim.principal_loss_cny),
        "other_collateral_cny": money_str(claim.other_collateral_cny),
        "evidence": claim.evidence, "pack": claim.pack,
        "fund_share_cny": money_str(claim.fund_share_cny),
        "claimable_cny": money_str(claim.claimable_cny),
        "payable_cny": money_str(claim.payable_cny), "binding_cap": claim.binding_cap,
        "basis": claim.basis, "filed_by": claim.filed_by, "filed_at": claim.filed_at,
        "paid_cny": money_str(claim.paid_cny), "paid_on": claim.paid_on,
        "paid_at": claim.paid_at, "paid_by": claim.paid_by,
        "payment_basis": claim.payment_basis, "payment_note": claim.payment_note,
        "revision": claim.revision,
    }


def pack_model(pack: rules.CompensationPack) -> dict[str, Any]:
    data = pack.data
    return {
        "id": pack.id, "version": pack.version, "jurisdiction": pack.jurisdiction,
        "title": pack.title, "effective_from": pack.effective_from,
        "effective_to": pack.effective_to, "verified": pack.verified,
        "shares": [{"party": s.party, "share": rules.fraction_str(s.share)}
                   for s in data.split.shares],
        "caps": {k: money_str(v) for k, v in data.caps.model_dump(
            include={"covered_principal_per_loan_cny", "covered_principal_per_borrower_year_cny",
                     "compensation_per_loan_cny", "compensation_per_borrower_year_cny"}).items()},
        "eligibility": {"mixed_collateral": data.eligibility.mixed_collateral,
                        "whitelisted_at_application":
                            data.eligibility.whitelisted_at_application},
        "sources": [s.model_dump(exclude_none=True) for s in pack.sources],
    }


def all_packs() -> list[rules.CompensationPack]:
    return list(packs.packs().packs)
