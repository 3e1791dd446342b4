"""The cultivation pool (专利产业化样板企业培育库): nominate, co-sign, admit within the province's
quota, graduate (出库) on evidence, remove (退库) on a credit flag, an officer's decision or the
two-year sweep; every movement is an event with its basis.

No FastAPI, no Kafka, no commit in the request paths (the edge owns the transaction); the sweep
is a periodic job and the edge of its own transactions.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.creditflags import repository as flags_repo
from services.registry.db import KERNEL
from services.registry.enterprises import repository as enterprises
from services.registry.patents import repository as patents_repo
from services.registry.patents import service as patents
from services.registry.pool import events, repository, rules
from services.registry.pool.exceptions import (AlreadyInPool, NominationDecided,
                                               NominationNotFound, NominationOpen,
                                               PoolEntryNotFound, QuotaExceeded, RulesNotMet,
                                               WrongPoolStatus)
from services.registry.pool.models import PoolEntry, PoolMovement, PoolNomination
from services.registry.pool.rules import PoolPack, PoolPackData
from services.registry.pool.schemas import (CoSignatureCreate, CoSignDecision, GraduationCreate,
                                            NominationCreate, RemovalCreate)
from services.registry.qualifications import repository as qualifications_repo
from shared.app import PeriodicTask
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Forbidden, InvalidInput
from shared.identifiers import PROVINCES, uscc_or_422
from shared.outbox import emit
from shared.policy import PackSet

log = structlog.get_logger("registry.pool")

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
INVENTION_KINDS = ("invention", "pct_invention")
SWEEP_BATCH = 200


@cache
def pool_packs() -> PackSet[PoolPackData]:
    return PackSet.load(PACK_DIR, "pool-*.yaml", PoolPackData)


def pack_on(day: date, field: str) -> PoolPack:
    return pool_packs().for_date(day, field=field, subject="cultivation pool",
                                 subject_zh="样板企业培育库")


# --- small checks ------------------------------------------------------------------------------

def _day(value: date | None, field: str, today: date, *, not_before: date | None = None) -> date:
    day = value or today
    if day > today:
        raise InvalidInput(field, f"{field}.not_in_future",
                           f"{field} {day.isoformat()} is after today ({today.isoformat()})",
                           message_zh="日期不能晚于今天")
    if not_before is not None and day < not_before:
        raise InvalidInput(field, f"{field}.before_admission",
                           f"{field} {day.isoformat()} is before the admission "
                           f"({not_before.isoformat()})", message_zh="日期早于入库日期")
    return day


def _ensure_province(caller: Principal, province_code: str) -> None:
    """A provincial office (its token's org a GB/T 2260 code) acts in its own province only."""
    org = (caller.org or "").strip()
    if org.isdigit() and len(org) in (2, 6) and org[:2] != province_code:
        raise Forbidden(f"the caller's office ({org}) acts for province {org[:2]}, not "
                        f"{province_code}", detail_zh="省级知识产权管理部门仅可办理本省入库企业",
                        province_code=province_code)


def _rules_not_met(decision: rules.Decision, basis: dict[str, Any], what: str, what_zh: str,
                   field: str = "uscc") -> RulesNotMet:
    failed = decision.failed
    return RulesNotMet(
        f"{what}: {', '.join(r['rule'] for r in failed)} not met",
        detail_zh=f"{what_zh}：{'、'.join(r['rule'] for r in failed)} 未满足",
        errors=[{"field": field, "rule": r["rule"], "message": r["meaning"],
                 "figures": r["figures"]} for r in failed], basis=basis)


def _rate(held: int, industrialised: int) -> Decimal:
    return (Decimal(industrialised) * 100 / Decimal(held)) if held else Decimal(0)


# --- facts -------------------------------------------------------------------------------------

async def _entry_facts(session: AsyncSession, uscc: str, on: date):
    enterprise = await enterprises.get(session, uscc)
    if enterprise is None:
        raise InvalidInput("uscc", "enterprise.not_registered",
                           f"{uscc} is not a registered enterprise", message_zh="企业未登记")
    if not enterprise.province_code:
        raise InvalidInput("uscc", "pool.entry.province_unknown",
                           f"{uscc} has no registered region: its province's pool is unknown",
                           message_zh="企业未登记所在地区，无法确定所属省份")
    quals = [(q.kind, q.id, q.valid_to)
             for q in await qualifications_repo.list_for(session, uscc, "active")
             if q.valid_from <= on <= q.valid_to]
    inventions: list[str] = []
    after = None
    while True:
        page = await patents_repo.by_owner(session, uscc, after=after, limit=500)
        inventions += [p.application_no for p in page
                       if p.kind in INVENTION_KINDS and patents.derive(p, on).in_force]
        if len(page) < 500:
            break
        after = page[-1].application_no
    flags = [f.kind for f in await flags_repo.list_for(session, uscc, "active")]
    return enterprise, rules.EntryFacts(uscc, enterprise.province_code, enterprise.size_class,
                                        quals, inventions, flags)


async def _quota(session: AsyncSession, province: str, pack: PoolPack) -> rules.QuotaFigures:
    counts = (await repository.movement_counts(session, province))[province]
    return rules.quota_figures(province, admissions=counts["admitted"],
                               graduations=counts["graduated"], pack=pack)


async def _decide_entry(session: AsyncSession, uscc: str, on: date, override: str | None,
                        field: str) -> tuple[Any, PoolPack, dict[str, Any]]:
    """Lock the province, check the entry standard and the quota; the basis, or 422 / 409."""
    pack = pack_on(on, field)
    enterprise, facts = await _entry_facts(session, uscc, on)
    await repository.lock_province(session, enterprise.province_code)
    decision = rules.entry_decision(facts, pack)
    figures = await _quota(session, enterprise.province_code, pack)
    quota = rules.quota_line(figures, override, pack)
    basis = {"pack": pack.ref, "verified": pack.verified, "decided_on": on.isoformat(),
             "province_code": enterprise.province_code,
             "rules": decision.rules + [quota]}
    if not decision.passed:
        raise _rules_not_met(decision, basis, f"{uscc} does not meet the pool's entry standard",
                             "企业不符合培育库入库标准")
    if not quota["passed"]:
        q = figures.as_dict()
        raise QuotaExceeded(
            f"province {figures.province_code} has used {figures.used} of {figures.limit} places "
            f"(base {figures.base_cap} + {figures.replenishment} for {figures.graduations} "
            "graduations); an officer may admit beyond it with quota_override_reason",
            detail_zh=f"本省入库名额已用 {figures.used}/{figures.limit}，超额入库须填写理由",
            errors=[{"field": "quota_override_reason", "rule": "pool.quota",
                     "message": "the province's quota is used up", "figures": q}],
            quota=q, basis=basis)
    return enterprise, pack, basis


# --- nominate, co-sign, admit ------------------------------------------------------------------

async def nominate(session: AsyncSession, data: NominationCreate, by: Principal, *,
                   today: date | None = None) -> PoolNomination:
    """Record a nomination after the entry and quota checks; admitted at once when the pack
    names no co-signing department, else it waits for that department."""
    today = today or today_cn()
    uscc = uscc_or_422(data.uscc)
    on = _day(data.nominated_on, "nominated_on", today)
    current = await repository.entry(session, uscc)
    if current is not None and current.status in ("admitted", "graduated"):
        raise AlreadyInPool(f"{uscc} is already in the pool ({current.status} on "
                            f"{current.admitted_on.isoformat()})", detail_zh="该企业已在培育库中",
                            status_now=current.status)
    if (open_one := await repository.open_nomination(session, uscc)) is not None:
        raise NominationOpen(f"nomination {open_one.id} of {uscc} awaits co-signature",
                             detail_zh="该企业已有待会签的推荐", nomination_id=open_one.id)
    enterprise = await enterprises.get(session, uscc)
    if enterprise is not None and enterprise.province_code:
        _ensure_province(by, enterprise.province_code)
    enterprise, pack, basis = await _decide_entry(session, uscc, on, data.quota_override_reason,
                                                  "nominated_on")
    now = utcnow()
    co_signer = pack.data.entry.co_signing_department
    nomination = PoolNomination(
        id=str(uuid.uuid4()), uscc=uscc, province_code=enterprise.province_code,
        status="awaiting_co_signature" if co_signer else "admitted", nominated_on=on,
        nominated_by=by.subject, recommendation=data.recommendation,
        patents_held=data.industrialisation.patents_held,
        patents_industrialised=data.industrialisation.patents_industrialised,
        industrialisation_evidence=data.industrialisation.evidence,
        quota_override_reason=data.quota_override_reason, basis=basis,
        co_signing_department=co_signer, revision=1, created_at=now, updated_at=now)
    session.add(nomination)
    await session.flush()
    log.info("registry.pool.nominated", uscc=uscc, nomination_id=nomination.id,
             province=enterprise.province_code, awaiting=co_signer)
    if not co_signer:
        await _admit(session, nomination, basis, on, by)
    return nomination


async def nomination_or_404(session: AsyncSession, nomination_id: str, *,
                            for_update: bool = False) -> PoolNomination:
    found = await repository.nomination(session, nomination_id, for_update=for_update)
    if found is None:
        raise NominationNotFound(f"no pool nomination {nomination_id}", detail_zh="未找到该推荐")
    return found


async def co_sign(session: AsyncSession, nomination: PoolNomination, data: CoSignatureCreate,
                  by: Principal, *, today: date | None = None) -> PoolNomination:
    """The co-signing department signs (admission, after the entry and quota checks run again
    on today's facts) or declines with a reason."""
    today = today or today_cn()
    if nomination.co_signing_department and by.department != nomination.co_signing_department:
        raise Forbidden(f"only {nomination.co_signing_department} co-signs this nomination",
                        detail_zh="非会签部门",
                        required_departments=[nomination.co_signing_department])
    if nomination.status != "awaiting_co_signature":
        raise NominationDecided(f"nomination {nomination.id} is {nomination.status}",
                                detail_zh="该推荐已办结", status_now=nomination.status)
    on = _day(data.co_signed_on, "co_signed_on", today, not_before=None)
    if on < nomination.nominated_on:
        raise InvalidInput("co_signed_on", "co_signed_on.before_nomination",
                           f"co_signed_on {on.isoformat()} is before the nomination "
                           f"({nomination.nominated_on.isoformat()})",
                           message_zh="会签日期早于推荐日期")
    now = utcnow()
    nomination.co_signed_by, nomination.co_signed_on = by.subject, on
    nomination.decision_reason = data.reason
    nomination.revision += 1
    nomination.updated_at = now
    if data.decision == CoSignDecision.decline:
        if not data.reason:
            raise InvalidInput("reason", "co_signature.reason_required",
                               "a declined nomination states its reason",
                               message_zh="不予会签须说明理由")
        nomination.status = "declined"
        await session.flush()
        log.info("registry.pool.co_sign_declined", nomination_id=nomination.id)
        return nomination
    _, pack, basis = await _decide_entry(session, nomination.uscc, on,
                                         nomination.quota_override_reason, "co_signed_on")
    basis["rules"].append(rules.basis_line(
        "pool.entry.co_signature", True,
        {"department": nomination.co_signing_department, "signed_by": by.subject,
         "signed_on": on.isoformat(), "nominated_on": nomination.nominated_on.isoformat(),
         "nominated_by": nomination.nominated_by},
        rules.clause_of(pack.data.entry.clause, pack),
        "由省级知识产权管理部门会同相关主管部门筛选: the co-signing department signed"))
    nomination.status = "admitted"
    nomination.basis = basis
    await session.flush()
    await _admit(session, nomination, basis, on, by)
    return nomination


async def _admit(session: AsyncSession, nomination: PoolNomination, basis: dict[str, Any],
                 on: date, by: Principal) -> PoolEntry:
    pack = pack_on(on, "nominated_on")
    now = utcnow()
    entry = await repository.entry(session, nomination.uscc, for_update=True)
    if entry is None:
        entry = PoolEntry(uscc=nomination.uscc, revision=0, created_at=now)
        session.add(entry)
    entry.province_code = nomination.province_code
    entry.status = "admitted"
    entry.nomination_id = nomination.id
    entry.admitted_on = on
    entry.window_ends_on = rules.window_end(on, pack)
    entry.window_check, entry.window_basis = "pending", None
    entry.baseline_patents_held = nomination.patents_held
    entry.baseline_patents_industrialised = nomination.patents_industrialised
    entry.admission_basis = basis | {"nomination_id": nomination.id, "industrialisation": {
        "patents_held": nomination.patents_held,
        "patents_industrialised": nomination.patents_industrialised,
        "rate_pct": str(_rate(nomination.patents_held,
                              nomination.patents_industrialised).quantize(Decimal("0.01"))),
        "evidence": nomination.industrialisation_evidence}}
    entry.quota_override_reason = nomination.quota_override_reason
    entry.graduated_on = entry.graduation_basis = None
    entry.removed_on = entry.removal_reason = entry.removal_basis = None
    await _moved(session, entry, "admitted", on, None, entry.admission_basis, by.subject, now)
    await emit(session, KERNEL.outbox, "pool.admitted", key=entry.uscc, subject=entry.uscc,
               data=events.admitted(entry, await _name(session, entry.uscc)))
    log.info("registry.pool.admitted", uscc=entry.uscc, province=entry.province_code,
             admitted_on=on.isoformat(), revision=entry.revision)
    return entry


async def _moved(session: AsyncSession, entry: PoolEntry, kind: str, on: date,
                 reason: str | None, basis: dict[str, Any], by: str, now) -> None:
    entry.revision += 1
    entry.updated_at = now
    session.add(PoolMovement(uscc=entry.uscc, province_code=entry.province_code, kind=kind,
                             on=on, reason=reason, basis=basis, decided_by=by[:120],
                             revision=entry.revision, created_at=now))
    await session.flush()


async def _name(session: AsyncSession, uscc: str) -> str | None:
    enterprise = await enterprises.get(session, uscc)
    return enterprise.name if enterprise else None


# --- graduation --------------------------------------------------------------------------------

async def entry_or_404(session: AsyncSession, uscc: str, *, for_update: bool = False
                       ) -> PoolEntry:
    found = await repository.entry(session, uscc.upper(), for_update=for_update)
    if found is None:
        raise PoolEntryNotFound(f"{uscc} has never been in the cultivation pool",
                                detail_zh="该企业未入培育库")
    return found


def _require_status(entry: PoolEntry, allowed: tuple[str, ...], action: str) -> None:
    if entry.status not in allowed:
        raise WrongPoolStatus(f"{entry.uscc} is {entry.status}: it cannot be {action}",
                              detail_zh="培育库状态不允许该操作", status_now=entry.status,
                              allowed_statuses=list(allowed))


async def graduate(session: AsyncSession, entry: PoolEntry, data: GraduationCreate,
                   by: Principal, *, today: date | None = None) -> PoolEntry:
    """出库 on the exit standard, with the evidence linked in the basis; 422 with the whole
    basis when it is not met."""
    today = today or today_cn()
    _require_status(entry, ("admitted",), "graduated")
    _ensure_province(by, entry.province_code)
    on = _day(data.graduated_on, "graduated_on", today, not_before=entry.admitted_on)
    pack = pack_on(on, "graduated_on")
    products = {p.id: p for p in await repository.products_of(session, entry.uscc)}
    new = [(p.id, p.name, p.recognized_on) for p in products.values()
           if p.status == "recognized" and p.recognized_on
           and entry.admitted_on < p.recognized_on <= on]
    growth: list[rules.ProductGrowth] = []
    for i, g in enumerate(data.product_growth):
        product = products.get(g.product_id)
        field = f"product_growth.{i}.product_id"
        if product is None:
            raise InvalidInput(field, "product.not_found",
                               f"{g.product_id} is not a product of {entry.uscc}",
                               message_zh="该产品不属于本企业")
        if product.status != "recognized":
            raise InvalidInput(field, "product.not_recognized",
                               f"{g.product_id} is {product.status}, not a recognised "
                               "patent-intensive product", message_zh="该产品未获认定")
        if g.figures_year <= product.figures_year:
            raise InvalidInput(f"product_growth.{i}.figures_year", "figures_year.not_later",
                               f"the figures must be for a year after {product.figures_year}, "
                               "the year recorded with the product",
                               message_zh="销售数据年度须晚于产品认定时的年度")
        growth.append(rules.ProductGrowth(
            product.id, product.name, product.recognized_on, product.figures_year,
            product.annual_sales_10k_cny, product.annual_profit_10k_cny, g.figures_year,
            g.annual_sales_10k_cny, g.annual_profit_10k_cny, g.evidence))
    facts = rules.GraduationFacts(
        entry.admitted_on,
        _rate(entry.baseline_patents_held, entry.baseline_patents_industrialised),
        _rate(data.industrialisation.patents_held, data.industrialisation.patents_industrialised),
        data.industrialisation.evidence, new, growth)
    decision = rules.graduation_decision(facts, pack)
    basis = {"pack": pack.ref, "verified": pack.verified, "decided_on": on.isoformat(),
             "rules": decision.rules, "industrialisation": {
                 "at_admission": {"patents_held": entry.baseline_patents_held,
                                  "patents_industrialised": entry.baseline_patents_industrialised},
                 "now": data.industrialisation.model_dump()}}
    if not decision.passed:
        raise _rules_not_met(decision, basis, f"{entry.uscc} does not meet the exit standard",
                             "企业未达到出库标准", field="industrialisation"
                             if not decision.rules[0]["passed"] else "product_growth")
    now = utcnow()
    entry.status, entry.graduated_on, entry.graduation_basis = "graduated", on, basis
    await _moved(session, entry, "graduated", on, None, basis, by.subject, now)
    await emit(session, KERNEL.outbox, "pool.graduated", key=entry.uscc, subject=entry.uscc,
               data=events.graduated(entry, await _name(session, entry.uscc)))
    log.info("registry.pool.graduated", uscc=entry.uscc, graduated_on=on.isoformat())
    return entry


# --- removal -----------------------------------------------------------------------------------

async def _remove(session: AsyncSession, entry: PoolEntry, on: date, reason: str,
                  basis: dict[str, Any], by: str) -> PoolEntry:
    now = utcnow()
    entry.status, entry.removed_on = "removed", on
    entry.removal_reason, entry.removal_basis = reason, basis
    await _moved(session, entry, "removed", on, reason, basis, by, now)
    await emit(session, KERNEL.outbox, "pool.removed", key=entry.uscc, subject=entry.uscc,
               data=events.removed(entry, await _name(session, entry.uscc)))
    log.info("registry.pool.removed", uscc=entry.uscc, reason=reason, removed_on=on.isoformat())
    return entry


async def remove_by_officer(session: AsyncSession, entry: PoolEntry, data: RemovalCreate,
                            by: Principal, *, today: date | None = None) -> PoolEntry:
    """An officer's removal with a recorded reason (reason ``officer_decision``)."""
    today = today or today_cn()
    _require_status(entry, ("admitted", "graduated"), "removed")
    _ensure_province(by, entry.province_code)
    on = _day(data.removed_on, "removed_on", today, not_before=entry.admitted_on)
    pack = pack_on(on, "removed_on")
    basis = {"pack": pack.ref, "verified": pack.verified, "decided_on": on.isoformat(),
             "rules": [rules.basis_line("pool.removal.officer_decision", False,
                                   {"reason": data.reason, "officer": by.subject},
                                   rules.clause_of(pack.data.removal.clause, pack),
                                   "an officer removed the enterprise with the recorded reason")]}
    return await _remove(session, entry, on, "officer_decision", basis, by.subject)


async def remove_for_flag(session: AsyncSession, flag, *, today: date | None = None
                          ) -> PoolEntry | None:
    """A credit flag of a removal ground (退出机制) removes a pool enterprise at once, in the
    flag's own transaction; the reason is the flag's kind. None when nothing was removed."""
    today = today or today_cn()
    entry = await repository.entry(session, flag.uscc, for_update=True)
    if entry is None or entry.status not in ("admitted", "graduated"):
        return None
    pack = pack_on(today, "flagged_on")
    if flag.kind not in pack.data.removal.flag_kinds:
        return None
    on = max(today, entry.admitted_on)
    basis = {"pack": pack.ref, "verified": pack.verified, "decided_on": on.isoformat(),
             "status_before": entry.status,
             "rules": [rules.flag_removal_line(flag.kind, flag.id, flag.reference,
                                               flag.flagged_on, pack)]}
    return await _remove(session, entry, on, flag.kind, basis, f"creditflag:{flag.id}")


# --- the two-year sweep ------------------------------------------------------------------------

async def _check_window(session: AsyncSession, uscc: str, today: date) -> str | None:
    entry = await repository.entry(session, uscc, for_update=True)
    if (entry is None or entry.status != "admitted" or entry.window_check != "pending"
            or entry.window_ends_on >= today):
        return None  # another replica (or a graduation, a removal) got there first
    pack = pack_on(entry.admitted_on, "admitted_on")
    found = (await repository.progress(session, [uscc], entry.admitted_on)).get(uscc, [])
    decision = rules.no_progress_decision(entry.admitted_on, today, found, pack)
    if decision is None:
        return None
    basis = {"pack": pack.ref, "verified": pack.verified, "decided_on": today.isoformat(),
             "rules": decision.rules}
    if decision.passed:
        entry.window_check, entry.window_basis = "passed", basis
        entry.updated_at = utcnow()
        await session.flush()
        return "passed"
    entry.window_check, entry.window_basis = "passed", basis
    await _remove(session, entry, today, "no_progress_two_years", basis, "sweep:pool-two-year")
    return "removed"


async def sweep(factory: async_sessionmaker[AsyncSession], today: date | None = None
                ) -> dict[str, Any]:
    """Remove every admitted enterprise whose two-year window ended with no progress inside it;
    mark the others checked. One transaction per enterprise; idempotent across replicas."""
    today = today or today_cn()
    counts = {"as_of": today, "checked": 0, "removed": 0, "passed": 0}
    seen: set[str] = set()
    while True:
        async with factory() as session:
            due = [e.uscc for e in await repository.due_for_window_check(session, today,
                                                                         SWEEP_BATCH)
                   if e.uscc not in seen]
        if not due:
            break
        for uscc in due:
            seen.add(uscc)
            async with factory() as session, session.begin():
                outcome = await _check_window(session, uscc, today)
            if outcome:
                counts["checked"] += 1
                counts[outcome] += 1
    if counts["checked"]:
        log.info("registry.pool.sweep", **{k: str(v) for k, v in counts.items()})
    return counts


async def _periodic_sweep(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    result = await sweep(factory)
    return {k: v for k, v in result.items() if k != "as_of"}


#: Hourly: the rule is counted in days, and a replica restarted mid-day catches up at start.
PERIODIC_TASKS = [PeriodicTask("pool-two-year-sweep", 3600, _periodic_sweep)]


# --- reads -------------------------------------------------------------------------------------

def _days_left(entry: PoolEntry, today: date) -> int | None:
    if entry.status != "admitted" or entry.window_check != "pending":
        return None
    return (entry.window_ends_on - today).days


async def read_entry(session: AsyncSession, entry: PoolEntry, *, today: date | None = None
                     ) -> dict[str, Any]:
    today = today or today_cn()
    pack = pack_on(entry.admitted_on, "admitted_on")
    found = (await repository.progress(session, [entry.uscc], entry.admitted_on)).get(
        entry.uscc, [])
    found = sorted((p for p in found if p.on <= today), key=lambda p: (p.on, p.kind))
    history = await repository.movements_of(session, entry.uscc)
    return {
        "uscc": entry.uscc, "enterprise_name": await _name(session, entry.uscc),
        "province_code": entry.province_code, "status": entry.status,
        "follow_up_cultivation": entry.status == "graduated",
        "admitted_on": entry.admitted_on, "window_ends_on": entry.window_ends_on,
        "window_check": entry.window_check, "days_left_in_window": _days_left(entry, today),
        "at_risk": entry.status == "admitted" and entry.window_check == "pending"
        and rules.at_risk(entry.admitted_on, today, found, pack),
        "progress": [p.as_dict() for p in found],
        "admission_basis": entry.admission_basis, "graduated_on": entry.graduated_on,
        "graduation_basis": entry.graduation_basis, "removed_on": entry.removed_on,
        "removal_reason": entry.removal_reason,
        "removal_basis": entry.removal_basis, "window_basis": entry.window_basis,
        "history": [{"kind": m.kind, "on": m.on, "reason": m.reason, "basis": m.basis,
                     "decided_by": m.decided_by, "revision": m.revision} for m in history],
        "revision": entry.revision,
    }


async def list_entries(session: AsyncSession, *, province_code: str | None, status: str | None,
                       after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
    rows = await repository.entries(session, province_code=province_code, status=status,
                                    after=after, limit=limit + 1)
    names = await repository.names(session, [e.uscc for e in rows[:limit]])
    return [{"uscc": e.uscc, "enterprise_name": names.get(e.uscc),
             "province_code": e.province_code, "status": e.status, "admitted_on": e.admitted_on,
             "window_ends_on": e.window_ends_on, "graduated_on": e.graduated_on,
             "removed_on": e.removed_on, "removal_reason": e.removal_reason,
             "revision": e.revision} for e in rows[:limit]], len(rows) > limit


async def _rows(session: AsyncSession, province_code: str | None, today: date
                ) -> list[dict[str, Any]]:
    """One row per entry with its progress and risk, for the dashboard and the CSV."""
    entries = await repository.entries(session, province_code=province_code)
    if not entries:
        return []
    since = min(e.admitted_on for e in entries)
    found = await repository.progress(session, [e.uscc for e in entries], since)
    names = await repository.names(session, [e.uscc for e in entries])
    out = []
    for e in entries:
        pack = pack_on(e.admitted_on, "admitted_on")
        mine = [p for p in found.get(e.uscc, []) if e.admitted_on < p.on <= today]
        out.append({
            "province_code": e.province_code, "uscc": e.uscc, "enterprise_name": names.get(e.uscc),
            "status": e.status, "admitted_on": e.admitted_on.isoformat(),
            "window_ends_on": e.window_ends_on.isoformat(),
            "days_left_in_window": _days_left(e, today),
            "progress_count": len(mine),
            "first_progress_on": min(p.on for p in mine).isoformat() if mine else None,
            "at_risk": e.status == "admitted" and e.window_check == "pending"
            and rules.at_risk(e.admitted_on, today, mine, pack),
            "graduated_on": e.graduated_on.isoformat() if e.graduated_on else None,
            "removed_on": e.removed_on.isoformat() if e.removed_on else None,
            "removal_reason": e.removal_reason})
    return out


async def dashboard(session: AsyncSession, province_code: str | None, *,
                    today: date | None = None) -> dict[str, Any]:
    """Per province: counts by status, quota used, removals by reason, enterprises at risk of
    the two-year rule."""
    today = today or today_cn()
    pack = pack_on(today, "as_of")
    statuses = await repository.status_counts(session, province_code)
    moves = await repository.movement_counts(session, province_code)
    reasons = await repository.removals_by_reason(session, province_code)
    awaiting = await repository.awaiting_counts(session, province_code)
    rows = await _rows(session, province_code, today)
    provinces = sorted(set(statuses) | set(awaiting) | ({province_code} if province_code else set()))
    out = []
    for p in provinces:
        figures = rules.quota_figures(p, admissions=moves[p]["admitted"],
                                      graduations=moves[p]["graduated"], pack=pack)
        risky = [r for r in rows if r["province_code"] == p and r["at_risk"]]
        out.append({
            "province_code": p, "province_name": PROVINCES.get(p),
            "counts": statuses[p] | {"awaiting_co_signature": awaiting.get(p, 0),
                                     "follow_up_cultivation": statuses[p]["graduated"]},
            "movements": moves[p], "removals_by_reason": reasons.get(p, {}),
            "quota": figures.as_dict() | {"pack": pack.ref},
            "at_risk": sorted(({k: r[k] for k in ("uscc", "enterprise_name", "admitted_on",
                                                   "window_ends_on", "days_left_in_window")}
                               for r in risky), key=lambda r: r["days_left_in_window"]),
            "at_risk_days": pack.data.removal.at_risk_days})
    return {"as_of": today, "province_code": province_code, "provinces": out}


CSV_COLUMNS = ("province_code", "uscc", "enterprise_name", "status", "admitted_on",
               "window_ends_on", "days_left_in_window", "progress_count", "first_progress_on",
               "at_risk", "graduated_on", "removed_on", "removal_reason")


async def dashboard_csv(session: AsyncSession, province_code: str | None, *,
                        today: date | None = None) -> str:
    """Every entry of the province (or all) as CSV, UTF-8 with a BOM so spreadsheet tools on
    Chinese desktops read the names."""
    rows = await _rows(session, province_code, today or today_cn())
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in CSV_COLUMNS})
    return buffer.getvalue()


def nomination_model(nomination: PoolNomination, name: str | None) -> dict[str, Any]:
    return {
        "id": nomination.id, "uscc": nomination.uscc, "enterprise_name": name,
        "province_code": nomination.province_code, "status": nomination.status,
        "nominated_on": nomination.nominated_on, "nominated_by": nomination.nominated_by,
        "recommendation": nomination.recommendation,
        "industrialisation": {"patents_held": nomination.patents_held,
                              "patents_industrialised": nomination.patents_industrialised,
                              "evidence": nomination.industrialisation_evidence},
        "quota_override_reason": nomination.quota_override_reason, "basis": nomination.basis,
        "co_signing_department": nomination.co_signing_department,
        "co_signed_by": nomination.co_signed_by, "co_signed_on": nomination.co_signed_on,
        "decision_reason": nomination.decision_reason, "revision": nomination.revision,
        "created_at": nomination.created_at, "updated_at": nomination.updated_at,
    }


async def read_nomination(session: AsyncSession, nomination: PoolNomination) -> dict[str, Any]:
    return nomination_model(nomination, await _name(session, nomination.uscc))
