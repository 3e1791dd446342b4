"""Patent rules: validate, register, update, record encumbrances, keep the derived state current.

No FastAPI, no Kafka, no commit: the edge (request, consumer, periodic task) owns the transaction.
The derived state (in force, annual fees, open-licence blockers, the high-value flag) comes from
the pure rules in ``rules.py`` and ``high_value.py``; the high-value flag is stored, computed on
every write and re-evaluated by the daily sweep, which emits only when the flag (or the status)
changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from services.registry.db import KERNEL
from services.registry.patents import repository
from services.registry.patents.events import patent_state
from services.registry.patents.exceptions import PatentAlreadyRegistered, PatentNotFound
from services.registry.patents.high_value import HighValue, assess_high_value, pack_for
from services.registry.patents.models import Patent, PatentEncumbrance, PatentOwner
from services.registry.patents.rules import (ENDED, TRANSITIONS, Award, BlockerLine, FamilyMember,
                                             FeeState, FeeStatus, LicenceType, Licence,
                                             PatentFacts, PatentStatus, Pledge, Term,
                                             due_transition, fee_state, grant_year, in_force,
                                             open_licence_checks, term_of, terms_for)
from services.registry.patents.schemas import (FamilyMemberIn, OwnerIn, PatentCreate,
                                               PatentUpdate)
from shared.app import PeriodicTask
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import InvalidInput, PreconditionFailed
from shared.identifiers import (InvalidIdentifier, PatentNumber, validate_application_no,
                                validate_ipc, validate_region_code, validate_uscc)
from shared.pagination import decode_cursor, encode_cursor
from shared.outbox import emit

log = structlog.get_logger("registry.patents")

PATENT_LAW_IN_FORCE = date(1985, 4, 1)
SEI_BASIS = ("Strategic-emerging-industry membership is a stored fact set by the IP office: "
             "CNIPA's IPC concordance (战略性新兴产业分类与国际专利分类参照关系表, 2021 trial) is "
             "not available to ipbridge, so it is not derived from the IPC codes.")


def _field_error(field: str, exc: InvalidIdentifier) -> InvalidInput:
    return InvalidInput(field, exc.rule, exc.message, message_zh=exc.message_zh or None)


def parse_number(raw: str, field: str = "application_no") -> PatentNumber:
    """Canonical application number, or 422 naming ``field`` and the rule broken."""
    try:
        return validate_application_no(raw, today=today_cn())
    except InvalidIdentifier as exc:
        raise _field_error(field, exc) from exc


# --- derived state ------------------------------------------------------------------------------

def facts_of(patent: Patent) -> PatentFacts:
    """The pure facts of a loaded patent (owners and encumbrances loaded)."""
    term = term_of(patent.kind, patent.filing_date, patent.term_extension_days or 0)
    pledges, licences = [], []
    for e in patent.encumbrances:
        if e.kind == "pledge":
            pledges.append(Pledge(e.reference, e.pledgee_name or "", e.starts_on, e.ends_on,
                                  e.amount_10k_cny, e.pledgee_consent_to_open_licence, e.loan_id))
        else:
            licences.append(Licence(e.reference, e.licence_type or "", e.licensee_name,
                                    e.starts_on, e.ends_on))
    return PatentFacts(
        application_no=patent.application_no, kind=patent.kind, filing_date=patent.filing_date,
        status=patent.status, grant_date=patent.grant_date, ended_on=patent.ended_on,
        annual_fees_paid_through=patent.annual_fees_paid_through,
        term_extension_days=patent.term_extension_days or 0, sei_tagged=patent.sei_tagged,
        sei_industry=patent.sei_industry,
        family=tuple(FamilyMember(m["office"], m["number"], bool(m.get("granted")),
                                  date.fromisoformat(m["granted_on"]) if m.get("granted_on")
                                  else None) for m in patent.family_members or []),
        awards=tuple(Award(a["type"], a["year"], a.get("level"), a.get("name"))
                     for a in patent.awards or []),
        pledges=tuple(pledges), licences=tuple(licences),
        suspension_reason=patent.suspension_reason, suspended_since=patent.suspended_since,
        term_years=term.years, term_ends_on=term.ends_on)


@dataclass(frozen=True)
class Derived:
    """What the rules say about a patent on one day."""

    on: date
    facts: PatentFacts
    term: Term
    fees: FeeState
    in_force: bool
    in_force_reason: str
    high_value: HighValue
    checks: list[BlockerLine]

    @property
    def blockers(self) -> list[BlockerLine]:
        return [line for line in self.checks if line.blocks]


def derive(patent: Patent, on: date) -> Derived:
    facts = facts_of(patent)
    term = term_of(patent.kind, patent.filing_date, patent.term_extension_days or 0)
    grace = terms_for(patent.filing_date).data.annual_fee_grace_months
    fees = fee_state(facts, on, grace, term.years)
    live, why = in_force(facts, on)
    return Derived(on, facts, term, fees, live, why, assess_high_value(facts, on, pack_for(on)),
                   open_licence_checks(facts, on, fees))


def _store_high_value(patent: Patent, hv: HighValue) -> None:
    patent.is_high_value = hv.is_high_value
    patent.high_value_categories = hv.categories
    patent.high_value_basis = hv.as_dict()
    patent.high_value_assessed_on = hv.on


# --- validation ---------------------------------------------------------------------------------

def _ipc_codes(kind: str, codes: Sequence[str], locarno: str | None) -> list[str]:
    if kind == "design":
        if codes:
            raise InvalidInput("ipc_codes", "ipc_codes.design",
                               "designs are classified by Locarno (locarno_class), not IPC",
                               message_zh="外观设计适用洛迦诺分类，不填IPC分类号")
        return []
    if locarno:
        raise InvalidInput("locarno_class", "locarno_class.not_design",
                           "only designs carry a Locarno class", message_zh="仅外观设计有洛迦诺分类")
    out: list[str] = []
    for i, raw in enumerate(codes):
        try:
            code = validate_ipc(raw)
        except InvalidIdentifier as exc:
            raise _field_error(f"ipc_codes.{i}", exc) from exc
        if code in out:
            raise InvalidInput(f"ipc_codes.{i}", "ipc_codes.duplicate", f"{code} is listed twice",
                               message_zh=f"IPC分类号 {code} 重复")
        out.append(code)
    return out


async def _owners(session: AsyncSession, owners: Sequence[OwnerIn],
                  warnings: list[str]) -> list[PatentOwner]:
    """Validate the owners (USCC, shares summing to 100, no duplicates) and resolve regions."""
    checked: list[tuple[OwnerIn, str | None, str | None]] = []
    seen: set[str] = set()
    for i, owner in enumerate(owners):
        uscc = None
        if owner.uscc:
            try:
                result = validate_uscc(owner.uscc)
            except InvalidIdentifier as exc:
                raise _field_error(f"owners.{i}.uscc", exc) from exc
            uscc = result.code
            if uscc in seen:
                raise InvalidInput(f"owners.{i}.uscc", "owners.duplicate",
                                   f"{uscc} is listed twice", message_zh="权利人重复")
            seen.add(uscc)
            if owner.country != "CN":
                raise InvalidInput(f"owners.{i}.country", "owners.uscc_domestic",
                                   "an owner with a USCC is a mainland organisation (country CN)",
                                   message_zh="具有统一社会信用代码的权利人应为境内主体")
        region = None
        if owner.region_code:
            try:
                region = validate_region_code(owner.region_code)
            except InvalidIdentifier as exc:
                raise _field_error(f"owners.{i}.region_code", exc) from exc
        checked.append((owner, uscc, region))
    if len(owners) == 1 and owners[0].share is None:
        shares = [Decimal(100)]
    else:
        for i, owner in enumerate(owners):
            if owner.share is None:
                raise InvalidInput(f"owners.{i}.share", "owners.share_required",
                                   "co-owned patents need each owner's share (percent)",
                                   message_zh="共有专利须填写各权利人份额")
        shares = [o.share for o in owners]
    total = sum(shares, Decimal(0))
    if total != 100:
        raise InvalidInput("owners", "owners.share_sum",
                           f"the owners' shares sum to {total}, not 100",
                           message_zh=f"权利人份额合计为 {total}，应为100")
    registered = await repository.enterprise_regions(session, [u for _, u, _ in checked if u])
    rows = []
    for position, ((owner, uscc, region), share) in enumerate(zip(checked, shares)):
        if uscc is not None:
            if uscc in registered:
                region = registered[uscc] or region or uscc[2:8]
            else:
                region = region or uscc[2:8]
                warnings.append(f"owners.{position}: {uscc} is not a registered enterprise; "
                                "its region is taken from the USCC")
        rows.append(PatentOwner(position=position, uscc=uscc, name=owner.name,
                                share=share.quantize(Decimal("0.01")),
                                country=owner.country, region_code=region))
    return rows


def _family(members: Sequence[FamilyMemberIn], on: date) -> list[dict[str, Any]]:
    out, seen = [], set()
    for i, m in enumerate(members):
        office = m.office.upper()
        if office == "CN":
            raise InvalidInput(f"family_members.{i}.office", "family.not_overseas",
                               "a CN member is not an overseas family member",
                               message_zh="同族专利应为海外专利")
        if office == "WO" and m.granted:
            raise InvalidInput(f"family_members.{i}.granted", "family.wo_not_granted",
                               "a PCT (WO) application is never a granted right",
                               message_zh="PCT国际申请不是授权专利")
        if m.granted_on is not None and not m.granted:
            raise InvalidInput(f"family_members.{i}.granted_on", "family.granted_on_without_grant",
                               "granted_on is given but granted is false",
                               message_zh="未授权的同族不应有授权日")
        if m.granted_on is not None and m.granted_on > on:
            raise InvalidInput(f"family_members.{i}.granted_on", "not_in_future",
                               "the grant date is in the future", message_zh="授权日不能晚于今天")
        key = (office, m.number.upper())
        if key in seen:
            raise InvalidInput(f"family_members.{i}", "family.duplicate",
                               f"{office} {m.number} is listed twice", message_zh="同族专利重复")
        seen.add(key)
        out.append({"office": office, "number": m.number, "granted": m.granted,
                    "granted_on": m.granted_on.isoformat() if m.granted_on else None})
    return out


def _awards(awards, on: date) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(awards):
        if a.year > on.year:
            raise InvalidInput(f"awards.{i}.year", "not_in_future",
                               f"award year {a.year} is in the future", message_zh="获奖年度不能晚于今年")
        if a.type == "other" and not a.name:
            raise InvalidInput(f"awards.{i}.name", "award.name_required",
                               "name the award when its type is other", message_zh="请填写奖项名称")
        out.append({"type": a.type.value, "year": a.year, "level": a.level, "name": a.name})
    return out


def _check_dates(patent: Patent, on: date) -> None:
    """Filing and grant dates in range (before any term or fee arithmetic runs on them)."""
    if patent.filing_date < PATENT_LAW_IN_FORCE:
        raise InvalidInput("filing_date", "filing_date.before_patent_law",
                           "Chinese patent filings began on 1985-04-01",
                           message_zh="申请日不能早于1985-04-01")
    if patent.filing_date > on:
        raise InvalidInput("filing_date", "not_in_future", "the filing date is in the future",
                           message_zh="申请日不能晚于今天")
    if patent.grant_date is not None:
        if patent.grant_date < patent.filing_date:
            raise InvalidInput("grant_date", "grant_date.before_filing",
                               "the grant date is before the filing date",
                               message_zh="授权日早于申请日")
        if patent.grant_date > on:
            raise InvalidInput("grant_date", "not_in_future", "the grant date is in the future",
                               message_zh="授权日不能晚于今天")


def _check(patent: Patent, on: date) -> None:
    """Every cross-field rule on the patent as it would be stored; 422 naming field and rule."""
    _check_dates(patent, on)
    if patent.status == PatentStatus.pending and patent.grant_date is not None:
        raise InvalidInput("grant_date", "grant_date.pending",
                           "a pending application has no grant date; set status granted",
                           message_zh="审中申请不应有授权日")
    if patent.status != PatentStatus.pending and patent.grant_date is None:
        raise InvalidInput("grant_date", "grant_date.required",
                           f"a {patent.status} patent needs its grant date",
                           message_zh="请填写授权公告日")
    if (patent.term_extension_days or 0) > 0 and patent.kind not in ("invention", "pct_invention"):
        raise InvalidInput("term_extension_days", "term_extension.invention_only",
                           "term compensation (Art 42) applies to invention patents only",
                           message_zh="期限补偿仅适用于发明专利")
    if patent.sei_industry and patent.sei_tagged is not True:
        raise InvalidInput("sei_industry", "sei_industry.untagged",
                           "an SEI industry needs strategic_emerging_industry = true",
                           message_zh="未标记战略性新兴产业时不应填写产业")
    if patent.suspended_since is not None and patent.suspended_since > on:
        raise InvalidInput("suspension.since", "not_in_future", "the date is in the future",
                           message_zh="中止日期不能晚于今天")
    facts = facts_of(patent)
    paid = patent.annual_fees_paid_through
    if paid is not None:
        if patent.grant_date is None:
            raise InvalidInput("annual_fees_paid_through", "annual_fees.not_granted",
                               "annual fees run from the grant year; the application is not "
                               "granted", message_zh="未授权专利无年费")
        first = grant_year(facts)
        if first is not None and paid < first:
            raise InvalidInput("annual_fees_paid_through", "annual_fees.grant_year",
                               f"the grant-year fee (patent year {first}) is paid at "
                               "registration, so fees are paid through at least that year",
                               message_zh=f"授权当年（第{first}年度）年费应在登记时缴纳")
        if facts.term_years is not None and paid > facts.term_years:
            raise InvalidInput("annual_fees_paid_through", "annual_fees.beyond_term",
                               f"the term is {facts.term_years} years",
                               message_zh=f"保护期为{facts.term_years}年")
    if patent.status in ENDED:
        if patent.ended_on is None:
            raise InvalidInput("status_date", "status_date.required",
                               f"give the day from which the patent is {patent.status}",
                               message_zh="请填写终止/无效日期")
        if patent.grant_date is not None and patent.ended_on < patent.grant_date:
            raise InvalidInput("status_date", "status_date.before_grant",
                               "the status date is before the grant date",
                               message_zh="终止日期早于授权日")
        if patent.ended_on > on and patent.status != PatentStatus.expired:
            raise InvalidInput("status_date", "not_in_future", "the status date is in the future",
                               message_zh="终止日期不能晚于今天")
    if patent.status == PatentStatus.expired and facts.term_ends_on and on < facts.term_ends_on:
        raise InvalidInput("status", "status.term_not_ended",
                           f"the term runs until {facts.term_ends_on.isoformat()}",
                           message_zh=f"保护期至 {facts.term_ends_on.isoformat()} 才届满")
    if patent.status == PatentStatus.granted:
        if facts.term_ends_on is not None and on >= facts.term_ends_on:
            raise InvalidInput("status", "status.term_ended",
                               f"the {facts.term_years}-year term ended on "
                               f"{facts.term_ends_on.isoformat()}; record status expired",
                               message_zh="保护期已届满，应登记为期限届满终止")
        grace = terms_for(patent.filing_date).data.annual_fee_grace_months
        fees = fee_state(facts, on, grace, facts.term_years)
        if fees.status == FeeStatus.unpaid_past_grace:
            raise InvalidInput("annual_fees_paid_through", "annual_fees.lapsed",
                               fees.detail + "; record the payment or status lapsed",
                               message_zh=f"第{fees.unpaid_year}年度年费逾期未缴（滞纳期至"
                                          f"{fees.grace_ends_on}），专利权应已终止")


def _default_status_date(patent: Patent, status: PatentStatus, on: date) -> date | None:
    """The day from which an ended patent is not in force, when the caller does not say."""
    facts = facts_of(patent)
    if status == PatentStatus.expired:
        return facts.term_ends_on
    if status == PatentStatus.lapsed:
        grace = terms_for(patent.filing_date).data.annual_fee_grace_months
        fees = fee_state(facts, on, grace, facts.term_years)
        return fees.due_on  # None when no unpaid year is known: the caller must say
    if status == PatentStatus.invalidated:
        return on
    return None


# --- events -------------------------------------------------------------------------------------

def event_key(patent: Patent) -> str:
    """Kafka key: the first owner with a USCC, else the application number."""
    return next((o.uscc for o in patent.owners if o.uscc), patent.application_no)


async def _emit(session: AsyncSession, name: str, patent: Patent, derived: Derived,
                extra: dict[str, Any]) -> None:
    await emit(session, KERNEL.outbox, name, key=event_key(patent), subject=patent.application_no,
               data=patent_state(patent, derived) | extra)


# --- writes -------------------------------------------------------------------------------------

async def register(session: AsyncSession, data: PatentCreate, by: Principal,
                   on: date | None = None, *, bulk_events: list | None = None) -> Patent:
    """Validate and register a patent; emits ``patent.registered`` in the same transaction.

    Bulk import passes ``bulk_events``: the caller has checked that the numbers are new, and
    flushes and emits the collected events once per batch."""
    on = on or today_cn()
    number = parse_number(data.application_no)
    warnings = list(number.warnings)
    ipc = _ipc_codes(number.kind, data.ipc_codes, data.locarno_class)
    owners = await _owners(session, data.owners, warnings)
    status = data.status or (PatentStatus.granted if data.grant_date else PatentStatus.pending)
    if data.status_date is not None and status not in ENDED:
        raise InvalidInput("status_date", "status_date.not_applicable",
                           "status_date applies to lapsed, invalidated and expired patents",
                           message_zh="仅终止或无效的专利需填写状态日期")
    if number.kind not in ("pct_invention", "pct_utility_model") and (
            data.filing_date.year != number.year):
        warnings.append(f"filing_date: filed in {data.filing_date.year}, numbered in "
                        f"{number.year} (a divisional application keeps its parent's filing date)")
    now = utcnow()
    patent = Patent(
        application_no=number.canonical, kind=number.kind, title=data.title,
        abstract=data.abstract, ipc_codes=ipc, locarno_class=data.locarno_class,
        filing_date=data.filing_date, grant_date=data.grant_date, status=status.value,
        ended_on=None, status_reason=data.status_reason,
        annual_fees_paid_through=data.annual_fees_paid_through,
        term_extension_days=data.term_extension_days or 0,
        family_members=_family(data.family_members or [], on),
        awards=_awards(data.awards or [], on),
        sei_tagged=data.strategic_emerging_industry, sei_industry=data.sei_industry,
        suspension_reason=data.suspension.reason.value if data.suspension else None,
        suspended_since=data.suspension.since if data.suspension else None,
        is_high_value=False, high_value_categories=[], high_value_basis={},
        warnings=warnings, revision=1, registered_by=by.subject, created_at=now,
        updated_at=now, owners=owners, encumbrances=[])
    _check_dates(patent, on)
    if status in ENDED:
        patent.ended_on = data.status_date or _default_status_date(patent, status, on)
    _check(patent, on)
    if bulk_events is None and await repository.exists(session, patent.application_no):
        raise PatentAlreadyRegistered(
            f"patent {patent.application_no} is already registered",
            detail_zh="该专利申请号已登记", application_no=patent.application_no)
    derived = derive(patent, on)
    _store_high_value(patent, derived.high_value)
    repository.add(session, patent)
    if bulk_events is not None:
        bulk_events.append(("patent.registered", event_key(patent), patent.application_no,
                            patent_state(patent, derived) | {"registered_at": now.isoformat()}))
        return patent
    await session.flush()
    await _emit(session, "patent.registered", patent, derived,
                {"registered_at": now.isoformat()})
    log.info("registry.patent.registered", application_no=patent.application_no,
             kind=patent.kind, status=patent.status, high_value=patent.is_high_value)
    return patent


async def get_or_404(session: AsyncSession, raw: str, field: str = "path.application_no") -> Patent:
    number = parse_number(raw, field)
    patent = await repository.get(session, number.canonical)
    if patent is None:
        raise PatentNotFound(f"no patent with application number {number.canonical}",
                             detail_zh="未找到该专利", application_no=number.canonical)
    return patent


async def _flush_guarded(session: AsyncSession, patent: Patent) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise PreconditionFailed(
            f"patent {patent.application_no} changed while this update was applied; re-read "
            "and retry", detail_zh="记录已被并发修改，请重新读取后再提交") from exc


async def update(session: AsyncSession, patent: Patent, data: PatentUpdate, by: Principal,
                 on: date | None = None) -> Patent:
    """Apply the fields sent; a status change emits ``patent.status_changed``, anything else
    ``patent.updated`` (both carry the full new state, high-value flag included)."""
    on = on or today_cn()
    sent = data.model_fields_set
    if not sent:
        return patent  # nothing to change: no new revision, no event
    previous = PatentStatus(patent.status)
    if "grant_date" in sent:
        patent.grant_date = data.grant_date
        _check_dates(patent, on)
    if "annual_fees_paid_through" in sent:
        patent.annual_fees_paid_through = data.annual_fees_paid_through
    if "family_members" in sent:
        patent.family_members = _family(data.family_members or [], on)
    if "awards" in sent:
        patent.awards = _awards(data.awards or [], on)
    if "strategic_emerging_industry" in sent:
        patent.sei_tagged = data.strategic_emerging_industry
        if data.strategic_emerging_industry is not True and "sei_industry" not in sent:
            patent.sei_industry = None
    if "sei_industry" in sent:
        patent.sei_industry = data.sei_industry
    if "suspension" in sent:
        patent.suspension_reason = data.suspension.reason.value if data.suspension else None
        patent.suspended_since = data.suspension.since if data.suspension else None
    if "term_extension_days" in sent:
        patent.term_extension_days = data.term_extension_days or 0
    status = PatentStatus(data.status) if data.status is not None else previous
    if status != previous:
        if status not in TRANSITIONS[previous]:
            allowed = ", ".join(sorted(TRANSITIONS[previous])) or "none (final)"
            raise InvalidInput("status", "status.transition",
                               f"a {previous} patent cannot become {status}; allowed: {allowed}",
                               message_zh=f"法律状态不能从 {previous} 变为 {status}")
        patent.status = status.value
        patent.status_reason = data.status_reason
        patent.ended_on = None
        if status in ENDED:
            patent.ended_on = data.status_date or _default_status_date(patent, status, on)
    elif "status_date" in sent or "status_reason" in sent:
        if status not in ENDED:
            raise InvalidInput("status_date", "status_date.not_applicable",
                               "status_date applies to lapsed, invalidated and expired patents",
                               message_zh="仅终止或无效的专利需填写状态日期")
        if "status_date" in sent:
            patent.ended_on = data.status_date
        if "status_reason" in sent:
            patent.status_reason = data.status_reason
    if data.status_date is not None and status not in ENDED:
        raise InvalidInput("status_date", "status_date.not_applicable",
                           "status_date applies to lapsed, invalidated and expired patents",
                           message_zh="仅终止或无效的专利需填写状态日期")
    _check(patent, on)
    derived = derive(patent, on)
    _store_high_value(patent, derived.high_value)
    patent.revision += 1
    patent.updated_at = utcnow()
    patent.updated_by = by.subject
    await _flush_guarded(session, patent)
    if status != previous:
        await _emit(session, "patent.status_changed", patent, derived, {
            "previous_status": previous.value, "changed_on": (patent.ended_on or on).isoformat(),
            "reason": patent.status_reason, "changed_at": patent.updated_at.isoformat()})
    else:
        await _emit(session, "patent.updated", patent, derived,
                    {"updated_at": patent.updated_at.isoformat()})
    log.info("registry.patent.updated", application_no=patent.application_no,
             revision=patent.revision, status=patent.status, fields=sorted(sent))
    return patent


@dataclass(frozen=True)
class EncumbranceChange:
    """A pledge or licence as the financing / matching events will report it.

    ``reference`` identifies it (pledge registration or loan id, licence id); a later change with
    the same reference updates it (e.g. ``ends_on`` when a pledge is released).
    """

    kind: Literal["pledge", "licence"]
    reference: str
    starts_on: date
    ends_on: date | None = None
    pledgee_name: str | None = None
    pledgee_code: str | None = None
    loan_id: str | None = None
    amount_10k_cny: Decimal | None = None
    pledgee_consent_to_open_licence: bool | None = None
    licence_type: str | None = None
    licensee_name: str | None = None
    licensee_uscc: str | None = None


def _check_encumbrance(change: EncumbranceChange) -> None:
    if change.kind not in ("pledge", "licence"):
        raise InvalidInput("kind", "encumbrance.kind", "pledge or licence")
    if not change.reference or len(change.reference) > 64:
        raise InvalidInput("reference", "encumbrance.reference", "1 to 64 characters")
    if change.ends_on is not None and change.ends_on < change.starts_on:
        raise InvalidInput("ends_on", "encumbrance.ends_before_start",
                           "the end date is before the start date", message_zh="结束日期早于开始日期")
    if change.kind == "pledge":
        if not change.pledgee_name:
            raise InvalidInput("pledgee_name", "pledge.pledgee_required",
                               "a pledge names its pledgee (质权人)", message_zh="请填写质权人")
        if change.amount_10k_cny is not None and change.amount_10k_cny < 0:
            raise InvalidInput("amount_10k_cny", "pledge.amount", "the amount is negative")
    else:
        if change.licence_type not in {t.value for t in LicenceType}:
            raise InvalidInput("licence_type", "licence.type",
                               "open, exclusive, sole or ordinary", message_zh="许可类型无效")
    if change.licensee_uscc:
        try:
            validate_uscc(change.licensee_uscc)
        except InvalidIdentifier as exc:
            raise _field_error("licensee_uscc", exc) from exc


async def set_encumbrance(session: AsyncSession, application_no: str, change: EncumbranceChange,
                          *, source: str, on: date | None = None) -> Patent:
    """Record or update a pledge / licence in the caller's unit of work; emits
    ``patent.updated`` with the new encumbrance summary, blockers and high-value flag.

    Raises :class:`PatentNotFound` for an unknown patent (the consumer decides whether to park
    the event) and :class:`InvalidInput` for a malformed change.
    """
    on = on or today_cn()
    _check_encumbrance(change)
    patent = await get_or_404(session, application_no, "application_no")
    now = utcnow()
    row = next((e for e in patent.encumbrances
                if e.kind == change.kind and e.reference == change.reference), None)
    if row is None:
        row = PatentEncumbrance(kind=change.kind, reference=change.reference, recorded_at=now,
                                starts_on=change.starts_on, source=source, updated_at=now)
        patent.encumbrances.append(row)
    for name in ("starts_on", "ends_on", "pledgee_name", "pledgee_code", "loan_id",
                 "amount_10k_cny", "pledgee_consent_to_open_licence", "licence_type",
                 "licensee_name"):
        setattr(row, name, getattr(change, name))
    row.licensee_uscc = (validate_uscc(change.licensee_uscc).code if change.licensee_uscc
                         else None)
    row.source, row.updated_at = source, now
    derived = derive(patent, on)
    _store_high_value(patent, derived.high_value)
    patent.revision += 1
    patent.updated_at = now
    patent.updated_by = source
    await _flush_guarded(session, patent)
    await _emit(session, "patent.updated", patent, derived, {"updated_at": now.isoformat()})
    log.info("registry.patent.encumbrance", application_no=patent.application_no,
             kind=change.kind, reference=change.reference, active=change.ends_on is None)
    return patent


# --- the daily sweep ----------------------------------------------------------------------------

async def refresh(session: AsyncSession, patent: Patent, on: date) -> str | None:
    """Bring the calendar-dependent state up to date on ``on``: expiry at term, lapse after the
    fee grace period, the high-value flag. Emits only when the status or the flag changes;
    returns what changed (None: nothing, "refreshed": categories only, stored silently)."""
    derived = derive(patent, on)
    transition = due_transition(derived.facts, on, derived.fees)
    if transition is not None:
        status, ended_on, reason = transition
        previous = patent.status
        patent.status, patent.ended_on, patent.status_reason = status.value, ended_on, reason
        derived = derive(patent, on)
        _store_high_value(patent, derived.high_value)
        patent.revision += 1
        patent.updated_at = utcnow()
        patent.updated_by = "registry:high-value-sweep"
        await session.flush()
        await _emit(session, "patent.status_changed", patent, derived, {
            "previous_status": previous, "changed_on": ended_on.isoformat(), "reason": reason,
            "changed_at": patent.updated_at.isoformat()})
        log.info("registry.patent.status_swept", application_no=patent.application_no,
                 status=status.value, on=on.isoformat())
        return f"status:{status.value}"
    hv = derived.high_value
    if hv.is_high_value != patent.is_high_value:
        _store_high_value(patent, hv)
        patent.revision += 1
        patent.updated_at = utcnow()
        patent.updated_by = "registry:high-value-sweep"
        await session.flush()
        await _emit(session, "patent.updated", patent, derived,
                    {"updated_at": patent.updated_at.isoformat()})
        log.info("registry.patent.high_value_changed", application_no=patent.application_no,
                 is_high_value=hv.is_high_value, categories=hv.categories, on=on.isoformat())
        return "flag"
    if hv.categories != list(patent.high_value_categories or []):
        # Same flag, other reasons: keep the stored basis current without a new revision.
        _store_high_value(patent, hv)
        await session.flush()
        return "refreshed"
    return None


def _needs_refresh(patent: Patent, on: date) -> bool:
    derived = derive(patent, on)
    return (due_transition(derived.facts, on, derived.fees) is not None
            or derived.high_value.is_high_value != patent.is_high_value
            or derived.high_value.categories != list(patent.high_value_categories or []))


async def sweep(factory: async_sessionmaker[AsyncSession], on: date | None = None,
                batch_size: int = 500) -> dict[str, int]:
    """Re-evaluate every granted or flagged patent on ``on`` (default: today in China).

    Reads in batches; each patent that changes is written in its own short transaction, guarded
    by its revision, so a concurrent update or another replica's sweep wins and this one skips
    (every replica runs the task; running it twice changes nothing)."""
    on = on or today_cn()
    counts = {"checked": 0, "status_changed": 0, "flag_changed": 0, "refreshed": 0, "skipped": 0}
    after = ""
    while True:
        async with factory() as session:
            batch = await repository.sweep_batch(session, after=after, limit=batch_size)
        if not batch:
            break
        after = batch[-1].application_no
        for stale in batch:
            counts["checked"] += 1
            if not _needs_refresh(stale, on):
                continue
            try:
                async with factory() as session, session.begin():
                    patent = await repository.get(session, stale.application_no)
                    if patent is None:
                        continue
                    outcome = await refresh(session, patent, on)
            except StaleDataError:
                counts["skipped"] += 1
                continue
            if outcome is None:
                continue
            key = ("status_changed" if outcome.startswith("status") else
                   "flag_changed" if outcome == "flag" else "refreshed")
            counts[key] += 1
        if len(batch) < batch_size:
            break
    return counts


async def run_high_value_sweep(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    return await sweep(factory)


#: Timers the registry runs (wired in services/registry/app.py): hourly, so a date change is
#: picked up within the hour; idempotent across replicas.
PERIODIC_TASKS = [PeriodicTask("high-value-sweep", 3600, run_high_value_sweep)]


# --- reads --------------------------------------------------------------------------------------

async def by_owner(session: AsyncSession, uscc: str, *, cursor: str | None, limit: int
                   ) -> tuple[list[Patent], dict[str, int], str | None]:
    rows = await repository.by_owner(session, uscc, after=decode_cursor(cursor), limit=limit + 1)
    counts = await repository.owner_counts(session, uscc)
    next_cursor = encode_cursor(rows[limit - 1].application_no) if len(rows) > limit else None
    return rows[:limit], counts, next_cursor


def read_model(patent: Patent, caller: Principal | None, on: date | None = None
               ) -> dict[str, Any]:
    """The API view: stored facts, the stored high-value decision, and today's derived state.

    Loan ids and pledge amounts are shown to departments with ``enterprises:read`` and to the
    owners; others see that a pledge exists and who holds it (as the public register does)."""
    on = on or today_cn()
    derived = derive(patent, on)
    owner_usccs = {o.uscc for o in patent.owners if o.uscc}
    privileged = caller is None or caller.has("enterprises:read") or (
        caller.org is not None and caller.org.upper() in owner_usccs)
    encumbrances = []
    for e in patent.encumbrances:
        active = e.starts_on <= on and (e.ends_on is None or on < e.ends_on)
        encumbrances.append({
            "kind": e.kind, "reference": e.reference if privileged else "(withheld)",
            "active": active, "starts_on": e.starts_on, "ends_on": e.ends_on,
            "pledgee_name": e.pledgee_name, "pledgee_code": e.pledgee_code,
            "loan_id": e.loan_id if privileged else None,
            "amount_10k_cny": e.amount_10k_cny if privileged else None,
            "pledgee_consent_to_open_licence": e.pledgee_consent_to_open_licence,
            "licence_type": e.licence_type, "licensee_name": e.licensee_name,
            "licensee_uscc": e.licensee_uscc})
    basis = patent.high_value_basis or {}
    return {
        "application_no": patent.application_no, "patent_no": f"ZL{patent.application_no}",
        "kind": patent.kind, "title": patent.title, "abstract": patent.abstract,
        "ipc_codes": patent.ipc_codes or [], "locarno_class": patent.locarno_class,
        "owners": [{"uscc": o.uscc, "name": o.name, "share": o.share, "country": o.country,
                    "region_code": o.region_code} for o in patent.owners],
        "filing_date": patent.filing_date, "grant_date": patent.grant_date,
        "status": patent.status, "status_date": patent.ended_on,
        "status_reason": patent.status_reason, "in_force": derived.in_force,
        "term": {"years": derived.term.years,
                 "ends_on": derived.term.ends_on, "basis": derived.term.source},
        "annual_fees": derived.fees.as_dict(),
        "family_members": patent.family_members or [], "awards": patent.awards or [],
        "strategic_emerging_industry": patent.sei_tagged, "sei_industry": patent.sei_industry,
        "sei_basis": SEI_BASIS,
        "suspension": ({"reason": patent.suspension_reason,
                        "since": patent.suspended_since} if patent.suspension_reason else None),
        "term_extension_days": patent.term_extension_days or 0,
        "high_value": {"is_high_value": patent.is_high_value,
                       "categories": list(patent.high_value_categories or []),
                       "assessed_on": patent.high_value_assessed_on,
                       "pack": basis.get("pack"), "reasons": basis.get("reasons", [])},
        "encumbrances": encumbrances,
        "open_license_blockers": [line.as_dict() for line in derived.blockers],
        "open_license_checks": [line.as_dict() for line in derived.checks],
        "warnings": list(patent.warnings or []), "revision": patent.revision,
        "created_at": patent.created_at, "updated_at": patent.updated_at,
    }
