"""Pledge-loan rules: apply, review, decide, register pledges, disburse, repay, overdue, default,
compensate, close, withdraw; every state change publishes its event. No FastAPI, no commit.

The state machine (machine.py) says what may happen next; the rules (rules.py) decide pledge
eligibility, the cap, the quota and the green-channel deadline with their basis; this module
loads the facts, applies both, stores the outcome and publishes it through
``services.financing.events.publish`` (outbox + the lending bank's webhooks) in the caller's
transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing import events as bus
from services.financing.loans import events, machine, repository, rules
from services.financing.loans.exceptions import (BorrowerNotKnown, InvalidInput, LoanNotFound,
                                                  NotLendingBank, NotLoanParty,
                                                  PatentAlreadyPledged, PatentsNotPledgeable,
                                                  PledgeCapExceeded, QuotaExceeded, QuotaNotSet,
                                                  TransitionNotAllowed)
from services.financing.loans.machine import Actor, LoanAction, LoanStatus
from services.financing.loans.models import Loan, Pledge
from services.financing.loans.packs import pack_on
from services.financing.loans.rules import Check, PatentView, money, money_str
from services.financing.loans.schemas import (LoanClose, LoanCreate, LoanDecision, LoanDefault,
                                              LoanDisbursement, LoanOverdue, LoanRepayment,
                                              LoanReview, LoanWithdrawal, PledgeRegistration)
from services.financing.valuations import repository as valuations
from services.financing.whitelist import repository as whitelist_entries
from services.financing.whitelist import service as whitelist
from shared.app import is_unique_violation
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.identifiers import InvalidIdentifier, validate_application_no

log = structlog.get_logger("financing.loans")


# --- helpers ------------------------------------------------------------------------------------

def application_no(raw: str, field: str) -> str:
    try:
        return validate_application_no(raw).canonical
    except InvalidIdentifier as exc:
        raise InvalidInput(field, exc.rule, exc.message,
                           message_zh=exc.message_zh or None) from exc


def _not_future(value: date, field: str, today: date) -> None:
    if value > today:
        raise InvalidInput(field, f"{field}.not_in_future",
                           f"{field} {value.isoformat()} is after today ({today.isoformat()})",
                           message_zh="日期不能晚于今天")


def _not_before(value: date, field: str, floor: date | None, floor_name: str) -> None:
    if floor is not None and value < floor:
        raise InvalidInput(field, f"{field}.not_before_{floor_name}",
                           f"{field} {value.isoformat()} is before {floor_name} "
                           f"({floor.isoformat()})", message_zh="日期早于前一环节的日期")


def ensure_lending_bank(loan: Loan, caller: Principal) -> None:
    """403 unless the caller is the bank the loan was applied to."""
    if caller.department != "bank" or (caller.org or "") != loan.bank_code:
        raise NotLendingBank(
            f"only the lending bank {loan.bank_code} may act on loan {loan.id}",
            detail_zh="只有贷款银行可以办理此操作", lending_bank=loan.bank_code)


def ensure_applicant(loan: Loan, caller: Principal) -> None:
    if caller.department != "enterprise" or (caller.org or "").upper() != loan.borrower_uscc:
        raise NotLoanParty(f"only the applicant {loan.borrower_uscc} may do this",
                           detail_zh="只有申请企业本身可以办理此操作")


def _move(loan: Loan, action: LoanAction, by: str, now: datetime, **details: Any) -> LoanStatus:
    """Apply one transition of the state machine to ``loan`` (409 when not allowed)."""
    current = LoanStatus(loan.status)
    try:
        target = machine.next_state(current, action)
    except machine.IllegalTransition as exc:
        raise TransitionNotAllowed.of(exc, loan.id) from None
    entry = {"action": action.value, "from": current.value, "to": target.value,
             "actor": machine.ACTORS[action].value, "by": by, "at": now.isoformat()}
    entry |= {k: v for k, v in details.items() if v is not None}
    loan.history = [*loan.history, entry]
    loan.status = target.value
    loan.revision += 1
    loan.updated_at = now
    return target


def _check_transition(loan: Loan, action: LoanAction) -> None:
    """Fail early (409) before validating a body for a transition that cannot happen."""
    try:
        machine.next_state(loan.status, action)
    except machine.IllegalTransition as exc:
        raise TransitionNotAllowed.of(exc, loan.id) from None


async def _publish(session: AsyncSession, name: str, loan: Loan, data: dict[str, Any]) -> None:
    await bus.publish(session, name, key=loan.borrower_uscc, data=data, bank_code=loan.bank_code)


async def _reevaluate(session: AsyncSession, uscc: str, cause: str) -> None:
    await whitelist.reevaluate(session, [uscc], cause=cause)


async def get_or_404(session: AsyncSession, loan_id: str, *, for_update: bool = False) -> Loan:
    loan = await repository.get_loan(session, loan_id, for_update=for_update)
    if loan is None:
        raise LoanNotFound(f"no loan {loan_id}", detail_zh="未找到该贷款")
    return loan


# --- apply --------------------------------------------------------------------------------------

def _patent_view(fact) -> PatentView:
    return PatentView(
        application_no=fact.application_no, kind=fact.kind, status=fact.status,
        in_force=bool(fact.in_force), suspended=bool(fact.suspended),
        registry_pledged=bool(fact.registry_pledged),
        owners=tuple((o.uscc, o.name) for o in fact.owner_rows),
        term_ends_on=fact.term_ends_on)


async def _consented(session: AsyncSession, numbers: list[str], for_uscc: str
                     ) -> dict[str, set[str]]:
    """application_no → owner keys that consented (not withdrawn) to a pledge by ``for_uscc``."""
    out: dict[str, set[str]] = {n: set() for n in numbers}
    for c in await repository.consents_for(session, numbers):
        if c.withdrawn_at is None and c.for_uscc == for_uscc:
            out[c.application_no].add(c.owner_key)
    return out


async def pledge_checks(session: AsyncSession, numbers: list[str], applicant: str,
                        pack: rules.LoanPack) -> tuple[dict[str, list[Check]], dict[str, Any]]:
    """Every pledge rule for every patent, from financing's projections; and the facts."""
    facts = await repository.patents(session, numbers)
    active = await repository.pledged_application_nos(session, numbers)
    consents = await _consented(session, numbers, applicant)
    return {n: rules.patent_checks(
        _patent_view(facts[n]) if n in facts else None, n, applicant, pack,
        actively_pledged=n in active, consented_owner_keys=consents[n], today=today_cn())
        for n in numbers}, facts


def _raise_failures(numbers: list[str], checks: dict[str, list[Check]]) -> None:
    failures = [(i, n, c) for i, n in enumerate(numbers) for c in checks[n]
                if not c.passed and not c.conflict]
    if failures:
        raise PatentsNotPledgeable(failures)
    conflicts = [(i, n, c) for i, n in enumerate(numbers) for c in checks[n]
                 if not c.passed and c.conflict]
    if conflicts:
        raise PatentAlreadyPledged(conflicts)


async def apply(session: AsyncSession, data: LoanCreate, caller: Principal, *,
                today: date | None = None) -> Loan:
    """An enterprise applies for a pledge loan; the patents are reserved (an active pledge) at
    once, so no second application can pledge them. Emits ``loan.applied``."""
    today = today or today_cn()
    borrower = (caller.org or "").upper()
    if caller.department != "enterprise" or not borrower:
        raise NotLoanParty("a loan is applied for by the enterprise itself (its token's org)",
                           detail_zh="贷款须由企业本身申请")
    numbers = [application_no(raw, f"patents[{i}]") for i, raw in enumerate(data.patents)]
    seen: set[str] = set()
    for i, n in enumerate(numbers):
        if n in seen:
            raise InvalidInput(f"patents[{i}]", "patents.unique",
                               f"patent {n} is listed twice", message_zh="专利重复")
        seen.add(n)
    enterprise = await repository.enterprise(session, borrower)
    if enterprise is None:
        raise BorrowerNotKnown(f"enterprise {borrower} is not registered (or not yet known to "
                               "financing)", detail_zh="申请企业未登记", uscc=borrower)
    pack = pack_on(today)
    checks, facts = await pledge_checks(session, numbers, borrower, pack)
    _raise_failures(numbers, checks)

    entry = await whitelist_entries.entry_for(session, borrower)
    listed = bool(entry and entry.get("listed"))
    deadline, gc_basis = rules.green_channel(pack, listed=listed, applied_on=today, entry=entry)
    pool_member = await repository.pool_admitted(session, borrower)
    now = utcnow()
    loan = Loan(
        id=_uuid(), borrower_uscc=borrower, borrower_name=enterprise["name"],
        bank_code=data.bank_code, status=LoanStatus.applied.value,
        requested_amount_cny=money(data.requested_amount_cny), term_months=data.term_months,
        purpose=data.purpose, applied_on=today, applied_by=caller.subject,
        region_code=enterprise.get("region_code"), province_code=enterprise.get("province_code"),
        tier_code=((entry or {}).get("tier") or {}).get("code"), pool_member=pool_member,
        pack=rules.pack_ref(pack),
        application_basis={"pack": rules.pack_ref(pack), "applied_on": today.isoformat(),
                           "patents": [{"application_no": n,
                                        "rules": [c.line() for c in checks[n]]}
                                       for n in numbers]},
        green_channel=listed, decision_deadline=deadline, green_channel_basis=gc_basis,
        history=[{"action": "apply", "from": None, "to": LoanStatus.applied.value,
                  "actor": Actor.applicant.value, "by": caller.subject, "at": now.isoformat()}],
        revision=1, created_at=now, updated_at=now)
    loan.pledges = []
    repository.add(session, loan)
    await session.flush()
    # Inserted in application-number order: two applications naming the same patents in
    # different orders then wait on each other in the same order (no deadlock); the unique
    # index on active pledges makes the later one fail, named.
    for n in sorted(numbers):
        pledge = Pledge(id=_uuid(), loan_id=loan.id, position=numbers.index(n),
                        application_no=n, kind=facts[n].kind, pledgor_uscc=borrower,
                        pledgee_bank_code=data.bank_code, status="applied", revision=1,
                        created_at=now, updated_at=now)
        loan.pledges.append(pledge)
        try:
            await session.flush()
        except sa_exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            raise PatentAlreadyPledged([(numbers.index(n), n, Check(
                "patent.not_pledged", False,
                f"patent {n} was pledged by a concurrent application first",
                "该专利已被另一笔申请质押", {"financing_pledge_active": True}, conflict=True))]
            ) from exc
    loan.pledges.sort(key=lambda p: p.position)
    await _publish(session, "loan.applied", loan, events.applied(loan, now))
    await _reevaluate(session, borrower, "loan.applied")
    log.info("financing.loan.applied", loan_id=loan.id, uscc=borrower, bank=loan.bank_code,
             patents=numbers, green_channel=listed)
    return loan


def _uuid() -> str:
    return str(uuid.uuid4())


# --- the bank's review and decision -------------------------------------------------------------

async def review(session: AsyncSession, loan: Loan, data: LoanReview, caller: Principal) -> Loan:
    """applied → under_review (the lending bank accepts the file). No event type exists for it."""
    ensure_lending_bank(loan, caller)
    _move(loan, LoanAction.review, caller.subject, utcnow(), note=data.note)
    await session.flush()
    log.info("financing.loan.under_review", loan_id=loan.id, bank=loan.bank_code)
    return loan


def _timing(loan: Loan, decided_on: date) -> dict[str, Any]:
    late = rules.decided_late(loan.decision_deadline, decided_on)
    return {"rule": "green_channel.decided_by_deadline", "passed": late is not True,
            "applies": loan.green_channel,
            "figures": {"decision_deadline": (loan.decision_deadline.isoformat()
                                              if loan.decision_deadline else None),
                        "decided_on": decided_on.isoformat(), "late": late}}


async def decide(session: AsyncSession, loan: Loan, data: LoanDecision, caller: Principal, *,
                 today: date | None = None) -> Loan:
    """The lending bank approves (within the pledge cap and, for a pool enterprise, its dedicated
    quota) or rejects. Emits ``loan.approved`` / ``loan.rejected``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    action = LoanAction.approve if data.decision == "approve" else LoanAction.reject
    _check_transition(loan, action)
    if action is LoanAction.reject:
        return await _reject(session, loan, data, caller, today)
    return await _approve(session, loan, data, caller, today)


async def _reject(session: AsyncSession, loan: Loan, data: LoanDecision, caller: Principal,
                  today: date) -> Loan:
    now = utcnow()
    loan.decision, loan.rejection_reason = "reject", data.reason
    loan.decided_on, loan.decided_at, loan.decided_by = today, now, caller.subject
    loan.decision_late = rules.decided_late(loan.decision_deadline, today)
    loan.decision_basis = {"decision": "reject", "reason": data.reason, "pack": loan.pack,
                           "rules": [_timing(loan, today)]}
    _move(loan, LoanAction.reject, caller.subject, now, reason=data.reason)
    released = _release(loan, "rejected", today, now)
    await session.flush()
    await _publish_releases(session, loan, released, now)
    await _publish(session, "loan.rejected", loan, events.rejected(loan, now))
    await _reevaluate(session, loan.borrower_uscc, "loan.rejected")
    log.info("financing.loan.rejected", loan_id=loan.id, bank=loan.bank_code)
    return loan


@dataclass
class _Quota:
    year: int
    counted: bool
    figures: dict[str, Any] | None


async def _count_quota(session: AsyncSession, loan: Loan, pack: rules.LoanPack,
                       amount: Decimal, today: date, now: datetime) -> _Quota:
    """For a pool enterprise, take ``amount`` from the bank's dedicated quota of the year, or
    refuse with the figures. The conditional UPDATE is the only write: never overspent."""
    year = today.year
    row = await repository.quota(session, loan.bank_code, year)
    if row is None:
        if pack.data.pool_quota.require_quota:
            raise QuotaNotSet(
                f"bank {loan.bank_code} has no dedicated pool credit quota for {year}; the "
                f"borrower {loan.borrower_uscc} is a cultivation-pool enterprise, so the approval "
                "must count against it (PUT /v1/banks/{bank_code}/quotas/{year})",
                detail_zh="该银行本年度未设置样板企业单列信贷额度", bank_code=loan.bank_code,
                year=year, **rules.quota_figures(None, None, amount))
        return _Quota(year, False, rules.quota_figures(None, None, amount))
    if not await repository.consume_quota(session, loan.bank_code, year, amount, now):
        await session.refresh(row)
        figures = rules.quota_figures(row.quota_cny, row.used_cny, amount)
        raise QuotaExceeded(
            f"approving {money_str(amount)} for pool enterprise {loan.borrower_uscc} would exceed "
            f"bank {loan.bank_code}'s {year} dedicated quota: quota {figures['quota_cny']}, used "
            f"{figures['used_cny']}, remaining {figures['remaining_cny']}",
            detail_zh="超出样板企业单列信贷额度", bank_code=loan.bank_code, year=year, **figures)
    await session.refresh(row)
    before = row.used_cny - amount
    return _Quota(year, True, rules.quota_figures(row.quota_cny, before, amount)
                  | {"used_after_cny": money_str(row.used_cny)})


async def _approve(session: AsyncSession, loan: Loan, data: LoanDecision, caller: Principal,
                   today: date) -> Loan:
    amount = money(data.approved_amount_cny)
    if amount > loan.requested_amount_cny:
        raise InvalidInput("approved_amount_cny", "approved_amount.within_requested",
                           f"approved {money_str(amount)} is more than the requested "
                           f"{money_str(loan.requested_amount_cny)}",
                           message_zh="批准金额超过申请金额")
    pack = pack_on(today)
    numbers = [p.application_no for p in loan.pledges]
    facts = await repository.patents(session, numbers)
    # The patents may have lapsed or been frozen since the application.
    recheck = ("patent.known", "patent.granted_in_force", "patent.not_suspended")
    still = [(i, n, c) for i, n in enumerate(numbers)
             for c in rules.patent_checks(
                 _patent_view(facts[n]) if n in facts else None, n, loan.borrower_uscc, pack,
                 actively_pledged=False,
                 consented_owner_keys=set(_owner_keys(facts[n])) if n in facts else set(),
                 today=today)
             if not c.passed and c.rule in recheck]
    if still:
        raise PatentsNotPledgeable(still)
    found = await valuations.latest_for(session, numbers, lender=loan.bank_code)
    cap = rules.pledge_cap(pack, loan.bank_code, [
        rules.PledgedValue(p.application_no, p.kind, found.get(p.application_no))
        for p in loan.pledges], today)
    cap_line = rules.cap_check(cap, amount)
    if not cap_line.passed:
        raise PledgeCapExceeded(cap_line.message, detail_zh=cap_line.message_zh,
                                errors=[{"field": "approved_amount_cny", "rule": cap_line.rule,
                                         "message": cap_line.message}],
                                rule=cap_line.rule, **cap_line.figures, cap=cap.basis)
    now = utcnow()
    pool_member = await repository.pool_admitted(session, loan.borrower_uscc)
    quota = (await _count_quota(session, loan, pack, amount, today, now) if pool_member
             else _Quota(today.year, False, None))
    quota_basis = rules.quota_basis(pack, year=quota.year, pool_member=pool_member,
                                    figures=quota.figures, counted=quota.counted)
    quota_basis["passed"] = True
    loan.decision = "approve"
    loan.decided_on, loan.decided_at, loan.decided_by = today, now, caller.subject
    loan.decision_late = rules.decided_late(loan.decision_deadline, today)
    loan.approved_amount_cny = amount
    loan.interest_rate = data.interest_rate
    loan.approved_term_months = data.term_months
    if quota.counted:
        loan.quota_year, loan.quota_counted_cny = quota.year, amount
    loan.decision_basis = {
        "decision": "approve", "pack": rules.pack_ref(pack),
        "rules": [cap_line.line(cap.basis["clause"]),
                  {"rule": "approved_amount.within_requested", "passed": True,
                   "figures": {"approved_amount_cny": money_str(amount),
                               "requested_amount_cny": money_str(loan.requested_amount_cny)}},
                  quota_basis, _timing(loan, today)],
        "cap": cap.basis,
        "valuations": [line["valuation"] for line in cap.lines],
        "quota": quota_basis,
        "pool_member_at_decision": pool_member,
    }
    by_number = {line["application_no"]: line for line in cap.lines}
    for p in loan.pledges:
        line = by_number[p.application_no]
        p.status = "approved"
        p.valuation_id = line["valuation"]["valuation_id"]
        p.valuation_value_cny = Decimal(line["value_cny"])
        p.pledge_rate = Decimal(line["pledge_rate"])
        p.secured_amount_cny = amount
        p.revision += 1
        p.updated_at = now
    _move(loan, LoanAction.approve, caller.subject, now,
          approved_amount_cny=money_str(amount))
    await session.flush()
    await _publish(session, "loan.approved", loan, events.approved(loan, now))
    log.info("financing.loan.approved", loan_id=loan.id, bank=loan.bank_code,
             amount=money_str(amount), cap=money_str(cap.cap_cny), quota_counted=quota.counted)
    return loan


def _owner_keys(fact) -> list[str]:
    return [o.uscc or o.name for o in fact.owner_rows]


# --- after approval -----------------------------------------------------------------------------

async def register_pledges(session: AsyncSession, loan: Loan, data: PledgeRegistration,
                           caller: Principal, *, today: date | None = None) -> Loan:
    """CNIPA registered every pledge of the loan: approved → pledge_registered. Emits one
    ``pledge.registered`` per patent."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    _check_transition(loan, LoanAction.register_pledges)
    given: dict[str, Any] = {}
    for i, item in enumerate(data.registrations):
        n = application_no(item.application_no, f"registrations[{i}].application_no")
        if n in given:
            raise InvalidInput(f"registrations[{i}].application_no", "registrations.unique",
                               f"patent {n} is listed twice", message_zh="专利重复")
        on = item.registered_on or today
        _not_future(on, f"registrations[{i}].registered_on", today)
        _not_before(on, f"registrations[{i}].registered_on", loan.decided_on, "decided_on")
        given[n] = (item.registration_no, on)
    pledged = {p.application_no for p in loan.pledges}
    missing, extra = sorted(pledged - set(given)), sorted(set(given) - pledged)
    if missing or extra:
        raise InvalidInput("registrations", "registrations.cover_every_pledge",
                           f"send one registration per pledged patent; missing: "
                           f"{', '.join(missing) or 'none'}; not pledged for this loan: "
                           f"{', '.join(extra) or 'none'}",
                           message_zh="须逐一登记本笔贷款的全部质押专利",
                           missing=missing, extra=extra)
    now = utcnow()
    for p in loan.pledges:
        p.registration_no, p.registered_on = given[p.application_no]
        p.pledgee_name = data.pledgee_name
        p.pledgee_consent_to_open_licence = data.pledgee_consent_to_open_licence
        p.status = "registered"
        p.revision += 1
        p.updated_at = now
    _move(loan, LoanAction.register_pledges, caller.subject, now,
          registrations={n: r for n, (r, _) in given.items()})
    await session.flush()
    for p in loan.pledges:
        await _publish(session, "pledge.registered", loan, events.pledge_registered(p, now))
    await _reevaluate(session, loan.borrower_uscc, "pledge.registered")
    log.info("financing.pledges.registered", loan_id=loan.id, count=len(loan.pledges))
    return loan


async def disburse(session: AsyncSession, loan: Loan, data: LoanDisbursement, caller: Principal,
                   *, today: date | None = None) -> Loan:
    """pledge_registered → disbursed; maturity = disbursed_on + the approved term. Emits
    ``loan.disbursed``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    _check_transition(loan, LoanAction.disburse)
    amount = money(data.amount_cny) if data.amount_cny is not None else loan.approved_amount_cny
    if amount > loan.approved_amount_cny:
        raise InvalidInput("amount_cny", "disbursement.within_approved",
                           f"disbursing {money_str(amount)} is more than the approved "
                           f"{money_str(loan.approved_amount_cny)}",
                           message_zh="放款金额超过批准金额")
    on = data.disbursed_on or today
    _not_future(on, "disbursed_on", today)
    _not_before(on, "disbursed_on", loan.decided_on, "decided_on")
    now = utcnow()
    loan.disbursed_amount_cny, loan.disbursed_on = amount, on
    loan.maturity_on = rules.add_months(on, loan.approved_term_months)
    loan.outstanding_principal_cny = amount
    _move(loan, LoanAction.disburse, caller.subject, now, amount_cny=money_str(amount))
    await session.flush()
    await _publish(session, "loan.disbursed", loan, events.disbursed(loan, now))
    log.info("financing.loan.disbursed", loan_id=loan.id, amount=money_str(amount))
    return loan


async def repay(session: AsyncSession, loan: Loan, data: LoanRepayment, caller: Principal, *,
                today: date | None = None) -> Loan:
    """Repaid in full (disbursed or overdue → repaid): the pledges are released. Emits
    ``pledge.released`` (reason repaid) per patent and ``loan.repaid``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    _check_transition(loan, LoanAction.repay)
    on = data.repaid_on or today
    _not_future(on, "repaid_on", today)
    _not_before(on, "repaid_on", loan.disbursed_on, "disbursed_on")
    now = utcnow()
    loan.repaid_on, loan.outstanding_principal_cny = on, Decimal("0.00")
    _move(loan, LoanAction.repay, caller.subject, now)
    released = _release(loan, "repaid", on, now)
    await session.flush()
    await _publish_releases(session, loan, released, now)
    await _publish(session, "loan.repaid", loan, events.repaid(loan, now))
    await _reevaluate(session, loan.borrower_uscc, "pledge.released")
    log.info("financing.loan.repaid", loan_id=loan.id, released=len(released))
    return loan


async def mark_overdue(session: AsyncSession, loan: Loan, data: LoanOverdue, caller: Principal,
                       *, today: date | None = None) -> Loan:
    """disbursed → overdue. Emits ``loan.overdue``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    _check_transition(loan, LoanAction.mark_overdue)
    _not_future(data.overdue_since, "overdue_since", today)
    _not_before(data.overdue_since, "overdue_since", loan.disbursed_on, "disbursed_on")
    outstanding = _outstanding(loan, data.outstanding_principal_cny)
    now = utcnow()
    loan.overdue_since, loan.outstanding_principal_cny = data.overdue_since, outstanding
    _move(loan, LoanAction.mark_overdue, caller.subject, now)
    await session.flush()
    await _publish(session, "loan.overdue", loan, events.overdue(loan, now))
    log.info("financing.loan.overdue", loan_id=loan.id)
    return loan


def _outstanding(loan: Loan, given: Decimal | None) -> Decimal:
    value = money(given) if given is not None else loan.outstanding_principal_cny
    if value > loan.disbursed_amount_cny:
        raise InvalidInput("outstanding_principal_cny", "outstanding.within_disbursed",
                           f"outstanding principal {money_str(value)} is more than the disbursed "
                           f"{money_str(loan.disbursed_amount_cny)}",
                           message_zh="未偿本金超过放款金额")
    return value


async def default(session: AsyncSession, loan: Loan, data: LoanDefault, caller: Principal, *,
                  today: date | None = None) -> Loan:
    """overdue → defaulted, with the outstanding principal and the principal loss the bank
    reports (the risk-compensation claim starts from them). Emits ``loan.defaulted``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    _check_transition(loan, LoanAction.default)
    on = data.defaulted_on or today
    _not_future(on, "defaulted_on", today)
    _not_before(on, "defaulted_on", loan.overdue_since, "overdue_since")
    outstanding = _outstanding(loan, data.outstanding_principal_cny)
    loss = money(data.principal_loss_cny)
    if loss > outstanding:
        raise InvalidInput("principal_loss_cny", "principal_loss.within_outstanding",
                           f"principal loss {money_str(loss)} is more than the outstanding "
                           f"principal {money_str(outstanding)}",
                           message_zh="本金损失超过未偿本金")
    now = utcnow()
    loan.defaulted_on, loan.outstanding_principal_cny = on, outstanding
    loan.principal_loss_cny = loss
    _move(loan, LoanAction.default, caller.subject, now, principal_loss_cny=money_str(loss))
    await session.flush()
    await _publish(session, "loan.defaulted", loan, events.defaulted(loan, now))
    log.info("financing.loan.defaulted", loan_id=loan.id, loss=money_str(loss))
    return loan


async def mark_compensated(session: AsyncSession, loan: Loan, *, claim_id: str,
                           amount_cny: Decimal) -> Loan:
    """defaulted → compensated, called by the risk-compensation module in its transaction when
    the fund pays ``amount_cny`` on claim ``claim_id``. Emits ``loan.compensated`` once the
    catalogue lists it (compensation.paid is the compensation module's own event)."""
    _check_transition(loan, LoanAction.compensate)
    if "pledges" in sa.inspect(loan).unloaded:  # a loan read without repository.get_loan
        await session.refresh(loan, ["pledges"])
    amount = money(amount_cny)
    if amount <= 0 or (loan.principal_loss_cny is not None and amount > loan.principal_loss_cny):
        raise InvalidInput("amount_cny", "compensation.within_principal_loss",
                           f"compensation {money_str(amount)} must be positive and at most the "
                           f"principal loss {money_str(loan.principal_loss_cny)}",
                           message_zh="补偿金额须为正且不超过本金损失")
    now = utcnow()
    loan.compensation_claim_id, loan.compensated_amount_cny = claim_id, amount
    _move(loan, LoanAction.compensate, f"compensation:{claim_id}", now,
          claim_id=claim_id, amount_cny=money_str(amount))
    await session.flush()
    await _publish(session, "loan.compensated", loan, events.compensated(loan, now))
    log.info("financing.loan.compensated", loan_id=loan.id, claim_id=claim_id,
             amount=money_str(amount))
    return loan


async def close(session: AsyncSession, loan: Loan, data: LoanClose, caller: Principal, *,
                today: date | None = None) -> Loan:
    """repaid / compensated / defaulted (written off) → closed by the lending bank; pledges still
    held are released. Emits ``loan.closed``."""
    today = today or today_cn()
    ensure_lending_bank(loan, caller)
    reason = loan.status
    now = utcnow()
    _move(loan, LoanAction.close, caller.subject, now, note=data.note)
    loan.closed_on, loan.close_reason = today, reason
    released = _release(loan, "closed", today, now)
    await session.flush()
    await _publish_releases(session, loan, released, now)
    await _publish(session, "loan.closed", loan, events.closed(loan, now))
    if released:
        await _reevaluate(session, loan.borrower_uscc, "pledge.released")
    log.info("financing.loan.closed", loan_id=loan.id, reason=reason)
    return loan


async def withdraw(session: AsyncSession, loan: Loan, data: LoanWithdrawal, caller: Principal,
                   *, today: date | None = None) -> Loan:
    """The applicant withdraws (applied, under review, or declining an approval before the
    pledge is registered) or closes a rejected one → closed. Emits ``loan.closed``."""
    today = today or today_cn()
    ensure_applicant(loan, caller)
    now = utcnow()
    _move(loan, LoanAction.withdraw, caller.subject, now, reason=data.reason)
    loan.closed_on, loan.close_reason = today, "withdrawn"
    released = _release(loan, "withdrawn", today, now)
    await session.flush()
    await _publish_releases(session, loan, released, now)
    await _publish(session, "loan.closed", loan, events.closed(loan, now))
    if released:
        await _reevaluate(session, loan.borrower_uscc, "loan.withdrawn")
    log.info("financing.loan.withdrawn", loan_id=loan.id)
    return loan


def _release(loan: Loan, reason: str, on: date, now: datetime) -> list[Pledge]:
    """Release every pledge still held; returns those that were registered at CNIPA (only they
    get ``pledge.released``: a reservation that was never registered was never announced)."""
    announced = []
    for p in loan.pledges:
        if p.status == "released":
            continue
        if p.status == "registered":
            announced.append(p)
        p.status, p.released_on, p.release_reason = "released", on, reason
        p.revision += 1
        p.updated_at = now
    return announced


async def _publish_releases(session: AsyncSession, loan: Loan, released: list[Pledge],
                            now: datetime) -> None:
    for p in released:
        await _publish(session, "pledge.released", loan, events.pledge_released(p, now))
