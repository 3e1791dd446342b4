"""Equity-track rules (CSRC): registrations on a regional equity market, guidance-fund
investments and the pre-IPO IP compliance checklist; every change emits. No FastAPI, no Kafka,
no commit.

Only cultivation-pool enterprises (admitted or graduated, the pack's statuses) may register
through this track: the five-ministry plan's 五（四） supports 入库企业 entering the regional
equity market. Investments are recorded for any known enterprise; their basis says whether it is
a pool enterprise (the plan's 五（三） aims guidance funds at them).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.equity import events, repository
from services.financing.equity.exceptions import (AlreadyListed, ChecklistNotFound,
                                                  EnterpriseNotFound, InvalidInput)
from services.financing.equity.models import EquityChecklist, EquityInvestment, EquityListing
from services.financing.equity.packs import clause, pack_on, pack_ref
from services.financing.equity.rules import (Assessment, OverrideNeedsNote, PatentView,
                                             decide_item, summarise)
from services.financing.equity.schemas import (ChecklistUpdate, Instrument, InvestmentCreate,
                                               ListingCreate)
from services.financing.events import publish
from services.financing.loans import repository as loans
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import check_if_match

log = structlog.get_logger("financing.equity")


def _not_future(field: str, day: date, today: date) -> None:
    if day > today:
        raise InvalidInput(field, f"{field}.not_in_future",
                           f"{field} {day.isoformat()} is after today ({today.isoformat()})",
                           message_zh="日期不能晚于今天")


async def _enterprise_or_404(session: AsyncSession, uscc: str) -> dict[str, Any]:
    found = await repository.enterprise(session, uscc)
    if found is None:
        raise EnterpriseNotFound(f"financing knows no enterprise {uscc} (not registered at the "
                                 "registry, or its registration has not arrived yet)",
                                 detail_zh="未找到该企业", uscc=uscc)
    return found


async def _pool_figures(session: AsyncSession, uscc: str) -> dict[str, Any]:
    fact = await repository.pool(session, uscc)
    return {"pool_status": fact.status if fact else None,
            "admitted_on": fact.admitted_on.isoformat() if fact and fact.admitted_on else None,
            "changed_on": fact.changed_on.isoformat() if fact and fact.changed_on else None}


# --- listings -----------------------------------------------------------------------------------

async def record_listing(session: AsyncSession, uscc: str, data: ListingCreate,
                         caller: Principal, *, today: date | None = None) -> EquityListing:
    """Record a pool enterprise's 挂牌; 422 naming the rule for others. Emits ``equity.listed``."""
    today = today or today_cn()
    uscc = uscc.upper()
    _not_future("listed_on", data.listed_on, today)
    await _enterprise_or_404(session, uscc)
    pack = pack_on(data.listed_on, "listed_on")
    rule = pack.data.listing
    figures = await _pool_figures(session, uscc) | {"allowed_statuses": rule.pool_statuses}
    passed = figures["pool_status"] in rule.pool_statuses
    if not passed:
        raise InvalidInput(
            "uscc", "equity.pool_member_required",
            f"only cultivation-pool enterprises ({' or '.join(rule.pool_statuses)}) may register "
            f"on a regional equity market through this track; {uscc} is "
            f"{figures['pool_status'] or 'not in the pool'} ({rule.clause.clause}: "
            f"{rule.clause.text})",
            message_zh="仅样板企业培育库入库企业可通过本通道在区域性股权市场挂牌（五部门方案 五（四））",
            clause=clause(rule.clause), figures=figures)
    if (await repository.listing_on_market(session, uscc, data.market_name)) is not None:
        raise AlreadyListed(f"{uscc} is already registered on {data.market_name}",
                            detail_zh="该企业已在该区域性股权市场挂牌")
    taken = await repository.listing_by_code(session, data.market_name, data.code)
    if taken is not None:
        raise AlreadyListed(f"code {data.code} on {data.market_name} belongs to {taken.uscc}",
                            detail_zh="该挂牌代码已被占用")
    now = utcnow()
    listing = EquityListing(
        id=str(uuid.uuid4()), uscc=uscc, market_name=data.market_name, board=data.board,
        code=data.code, listed_on=data.listed_on, recorded_by=caller.subject, created_at=now,
        basis={"rules": [{"rule": "equity.pool_member", "passed": True, "figures": figures,
                          "clause": clause(rule.clause)}],
               "pack": pack_ref(pack), "verified": pack.verified})
    repository.add(session, listing)
    await session.flush()
    await publish(session, "equity.listed", key=uscc, data=events.listed(listing))
    log.info("financing.equity.listed", uscc=uscc, market=data.market_name, code=data.code)
    return listing


def listing_model(listing: EquityListing) -> dict[str, Any]:
    return {"id": listing.id, "uscc": listing.uscc, "market_name": listing.market_name,
            "board": listing.board, "code": listing.code, "listed_on": listing.listed_on,
            "basis": listing.basis, "recorded_by": listing.recorded_by,
            "recorded_at": listing.created_at}


# --- investments --------------------------------------------------------------------------------

def _check_terms(data: InvestmentCreate) -> None:
    """The terms block that goes with the instrument, and only that one."""
    wanted = {Instrument.preferred_shares: "preferred",
              Instrument.tech_achievement_warrant: "warrant"}.get(data.instrument)
    for name in ("preferred", "warrant"):
        given = getattr(data, name) is not None
        if name == wanted and not given:
            raise InvalidInput(name, f"{name}.required",
                               f"instrument {data.instrument.value} needs its {name} terms",
                               message_zh="该投资方式须提供相应条款")
        if name != wanted and given:
            raise InvalidInput(name, f"{name}.not_applicable",
                               f"{name} terms do not apply to {data.instrument.value}",
                               message_zh="该条款不适用于此投资方式")


def _warrant_terms(data: InvestmentCreate) -> dict[str, Any] | None:
    if data.warrant is None:
        return None
    terms = data.warrant.model_dump(mode="json")
    if data.warrant.exercise_price_cny is not None:
        terms["exercise_price_cny"] = f"{data.warrant.exercise_price_cny:.2f}"
    return terms


async def record_investment(session: AsyncSession, uscc: str, data: InvestmentCreate,
                            caller: Principal, *, today: date | None = None
                            ) -> EquityInvestment:
    """Record a guidance-fund investment; emits ``equity.investment_recorded``."""
    today = today or today_cn()
    uscc = uscc.upper()
    _not_future("invested_on", data.invested_on, today)
    _check_terms(data)
    if data.preferred is not None:
        _not_future("preferred.registered_on", data.preferred.registered_on, today)
    await _enterprise_or_404(session, uscc)
    pack = pack_on(data.invested_on, "invested_on")
    figures = await _pool_figures(session, uscc)
    pool_member = figures["pool_status"] in pack.data.listing.pool_statuses
    now = utcnow()
    investment = EquityInvestment(
        id=str(uuid.uuid4()), uscc=uscc, fund_name=data.fund_name, amount_cny=data.amount_cny,
        instrument=data.instrument.value, invested_on=data.invested_on,
        shareholding_pct=data.shareholding_pct,
        preferred_terms=data.preferred.model_dump(mode="json") if data.preferred else None,
        warrant_terms=_warrant_terms(data),
        recorded_by=caller.subject, created_at=now,
        basis={"rules": [{"rule": "equity.pool_member", "passed": pool_member,
                          "figures": figures | {"pool_statuses": pack.data.listing.pool_statuses},
                          "meaning": "informative: guidance funds are aimed at pool "
                                     "enterprises, others are recorded too",
                          "clause": clause(pack.data.investment.clause)}],
               "pool_member": pool_member, "pack": pack_ref(pack), "verified": pack.verified})
    repository.add(session, investment)
    await session.flush()
    await publish(session, "equity.investment_recorded", key=uscc,
                  data=events.investment_recorded(investment))
    log.info("financing.equity.investment_recorded", uscc=uscc, instrument=investment.instrument,
             amount_cny=str(investment.amount_cny))
    return investment


def investment_model(investment: EquityInvestment) -> dict[str, Any]:
    payload = events.investment_recorded(investment)
    return {"id": investment.id, "uscc": investment.uscc, "fund_name": investment.fund_name,
            "amount_cny": payload["amount_cny"], "instrument": investment.instrument,
            "invested_on": investment.invested_on,
            "shareholding_pct": payload["shareholding_pct"],
            "preferred": investment.preferred_terms, "warrant": investment.warrant_terms,
            "basis": investment.basis, "recorded_by": investment.recorded_by,
            "recorded_at": investment.created_at}


# --- the pre-IPO IP compliance checklist --------------------------------------------------------

async def patent_views(session: AsyncSession, uscc: str) -> list[PatentView]:
    """The enterprise's patents as the checklist sees them (registry facts + financing's own
    active pledges)."""
    facts = await repository.owned_patents(session, uscc)
    pledged_here = await loans.pledged_application_nos(session,
                                                       [p.application_no for p in facts])
    views = []
    for p in facts:
        encumbrances = p.encumbrances or {}
        views.append(PatentView(
            application_no=p.application_no, kind=p.kind, status=p.status,
            in_force=p.in_force, suspended=p.suspended, grant_date=p.grant_date,
            annual_fee_status=p.annual_fee_status, co_owned=len(p.owner_rows) > 1,
            pledged=bool(p.registry_pledged or encumbrances.get("pledged")
                         or p.application_no in pledged_here),
            pledgees=tuple(encumbrances.get("pledgees") or ()),
            licences={k: int(v) for k, v in (encumbrances.get("licences") or {}).items()}))
    return views


def _assessments(data: ChecklistUpdate, items_by_code: dict, caller: Principal, at: str,
                 previous: dict[str, dict[str, Any]]) -> dict[str, Assessment]:
    seen: dict[str, Assessment] = {}
    for i, item in enumerate(data.items):
        if item.code not in items_by_code:
            raise InvalidInput(f"items.{i}.code", "checklist.item_unknown",
                               f"{item.code!r} is not an item of the checklist",
                               message_zh="清单中没有该项目", allowed=sorted(items_by_code))
        if item.code in seen:
            raise InvalidInput(f"items.{i}.code", "checklist.item_repeated",
                               f"{item.code!r} is assessed twice", message_zh="同一项目重复评估")
        old = previous.get(item.code)
        unchanged = old is not None and (old["status"], old["note"]) == (item.status.value,
                                                                          item.note)
        seen[item.code] = Assessment(status=item.status, note=item.note,
                                     by=old["by"] if unchanged else caller.subject,
                                     at=old["at"] if unchanged else at)
    return seen


def etag(revision: int) -> str:
    return f'"{revision}"'


async def update_checklist(session: AsyncSession, uscc: str, data: ChecklistUpdate,
                           caller: Principal, *, if_match: str | None,
                           today: date | None = None) -> tuple[EquityChecklist, bool]:
    """Recompute the facts-based items and apply the officer's assessments. The first update
    creates the checklist; later ones need ``If-Match`` (428 / 412). Emits
    ``equity.checklist_updated`` when an item changed (or on creation); returns the checklist
    and whether it changed."""
    today = today or today_cn()
    uscc = uscc.upper()
    await _enterprise_or_404(session, uscc)
    existing = await repository.checklist(session, uscc, for_update=True)
    if existing is not None:
        check_if_match(if_match, etag(existing.revision))
    pack = pack_on(today, "date")
    rules = pack.data.checklist
    items_by_code = {item.code: item for item in rules.items}
    now = utcnow()
    assessments = _assessments(data, items_by_code, caller, now.isoformat(),
                               existing.assessments if existing else {})
    patents = await patent_views(session, uscc)
    items = []
    for item in rules.items:
        try:
            items.append(decide_item(item, patents, rules, assessments.get(item.code)))
        except OverrideNeedsNote as exc:
            index = next(i for i, a in enumerate(data.items) if a.code == item.code)
            raise InvalidInput(f"items.{index}.note", "checklist.note_required",
                               f"the facts find an issue with {item.code}: a note must say "
                               "why it is nevertheless ok or not applicable",
                               message_zh="事实核查发现问题，改判须说明理由") from exc
    summary = summarise(items)
    stored = {code: {"status": a.status.value, "note": a.note, "by": a.by, "at": a.at}
              for code, a in assessments.items()}
    if existing is not None and _visible(existing.items) == _visible(items) \
            and existing.assessments == stored:
        return existing, False
    checklist = existing or EquityChecklist(uscc=uscc, revision=0, created_at=now)
    checklist.items = items
    checklist.assessments = stored
    checklist.ready = summary["ready"]
    checklist.pack = pack_ref(pack)
    checklist.revision += 1
    checklist.updated_by = caller.subject
    checklist.updated_at = now
    if existing is None:
        repository.add(session, checklist)
    await session.flush()
    await publish(session, "equity.checklist_updated", key=uscc,
                  data=events.checklist_updated(checklist, summary["counts"], now))
    log.info("financing.equity.checklist_updated", uscc=uscc, revision=checklist.revision,
             ready=checklist.ready)
    return checklist, True


def _visible(items: list[dict[str, Any]]) -> list[tuple]:
    """What a change means for a reader: each item's status, deciding party, note, figures."""
    return [(i["code"], i["status"], i["decided_by"], i["note"],
             (i["computed"] or {}).get("figures")) for i in items]


async def checklist_or_404(session: AsyncSession, uscc: str, *, for_update: bool = False
                           ) -> EquityChecklist:
    found = await repository.checklist(session, uscc.upper(), for_update=for_update)
    if found is None:
        raise ChecklistNotFound(f"no compliance checklist recorded for {uscc.upper()}",
                                detail_zh="该企业尚无合规清单")
    return found


def checklist_model(checklist: EquityChecklist) -> dict[str, Any]:
    return {"uscc": checklist.uscc, "items": checklist.items,
            "counts": summarise(checklist.items)["counts"], "ready": checklist.ready,
            "pack": checklist.pack, "revision": checklist.revision,
            "updated_by": checklist.updated_by, "created_at": checklist.created_at,
            "updated_at": checklist.updated_at}


# --- the summary --------------------------------------------------------------------------------

async def summary(session: AsyncSession, uscc: str) -> dict[str, Any]:
    """Pool standing, listings, investments (with their total) and the checklist."""
    uscc = uscc.upper()
    found = await _enterprise_or_404(session, uscc)
    fact = await repository.pool(session, uscc)
    investments = await repository.investments(session, uscc)
    checklist = await repository.checklist(session, uscc)
    total = sum((i.amount_cny for i in investments), Decimal("0"))
    return {
        "uscc": uscc, "name": found["name"],
        "pool": None if fact is None else {"status": fact.status,
                                           "admitted_on": fact.admitted_on,
                                           "changed_on": fact.changed_on},
        "listings": [listing_model(x) for x in await repository.listings(session, uscc)],
        "investments": [investment_model(i) for i in investments],
        "investment_total_cny": f"{total:.2f}",
        "checklist": checklist_model(checklist) if checklist else None,
    }
