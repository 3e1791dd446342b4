"""Reward claims at work: drafted from events or filed, checked, held within caps, decided,
paid, held and clawed back. No FastAPI, no commit: the request's or the event's transaction
holds the claim, its cap reservations, the ledger entry and the events together.

**Drafting.** A trigger event (``packs.TRIGGERS``) drafts one claim per rule it triggers
(``trigger_matches``) among the rules in force on the item's date that cover the claimant's
region. The claim is inserted with ``ON CONFLICT DO NOTHING`` on (pack, rule, item): a
redelivered event, an enterprise filing while the event is on its way, or two racing requests
make one claim, never two.

**Awaiting facts.** Events do not arrive in order across topics: a product may be recognised
before rewards has the enterprise's registration, so its region (hence which packs apply),
ownership and founding date are unknown. Then a claim is drafted ``awaiting_facts`` under every
rule in force that the event triggers, whatever its jurisdiction, and re-evaluated when the
enterprise event arrives; a rule whose jurisdiction does not cover the enterprise's region is
then rejected with the ``jurisdiction.covers`` line of the basis saying so. We chose this over
keeping the event aside until the enterprise arrives because the claimant sees its claim (and
why it waits) from the first moment, and a claim once visible ends in a decided status with a
reason rather than disappearing.

**Caps.** Each cap the rule has (per organisation over the pack's life, per organisation per
year, once per organisation) is a row in ``reward_tallies``, created empty when missing and
locked before it is read (in key order); the claim gets the smallest room any of them leaves
(``rules.room``), reserves it there and records it in ``claim.reserved``. Nothing left: the
claim is rejected with the ``cap.*`` line naming the figures. An assessed amount reserves the
item now and the money when the officer approves (the room is checked again then). An officer's
rejection releases the reservation. The tallies' CHECK constraints are the last line of defence.

**Approval.** A claim without doubt flags is approved without a meeting (decided_by
``system``) and paid in the same transaction when its fund covers it; others wait in the owning
department's review queue with a due date. Decisions record who, which department and why.

**Holds and clawback.** A credit flag of a kind the pack's governance lists in
``hold_on_flags`` holds the claimant's undecided and unpaid claims (``held``, the previous
status kept); clearing the last such flag releases them to where they were (approved ones are
paid then). A kind in ``clawback_on_flags`` reopens paid claims for ``recovery``; an officer
closes it as recovered (the money goes back into the fund's ledger) or waived, with a reason.
The handlers read the projected flag, not the event, so a stale or reordered event changes
nothing. Cap reservations stay with held and clawed-back claims: a reward taken back for fraud
does not give the organisation its room back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims import events, payments
from services.rewards.claims import repository as repo
from services.rewards.claims import rules
from services.rewards.claims.exceptions import (ClaimAlreadyFiled, ClaimNotFound,
                                                ClaimStatusConflict, InvalidInput,
                                                NotDecidingDepartment, NotOwnOrganisation,
                                                RetryConflict)
from services.rewards.claims.models import RewardClaim
from services.rewards.claims.rules import ZERO, CapRequest, Facts, money
from services.rewards.facts.models import RewardCreditFlag
from services.rewards.funds import repository as funds
from services.rewards.funds.models import RewardLedgerEntry
from services.rewards.policies import packs
from shared.auth import Principal
from shared.db import CHINA_TZ, today_cn, utcnow
from shared.errors import PreconditionFailed
from shared.events.envelope import CloudEvent
from shared.identifiers import InvalidIdentifier, validate_uscc
from shared.pagination import decode_cursor, encode_cursor, newest_first

log = structlog.get_logger("rewards.claims")

SYSTEM = "system"
#: Statuses a credit flag of a hold kind holds (approved = approved and not yet paid).
HOLDABLE = ("awaiting_facts", "pending_review", "approved")
#: Who reads every claim; others (enterprises, universities) only their organisation's.
READ_ALL_SCOPES = ("rewards:read", "rewards:decide")
#: Who may file on an organisation's behalf.
FILE_ON_BEHALF_SCOPE = "rewards:decide"


# --- facts --------------------------------------------------------------------------------------

@dataclass
class ClaimantFacts:
    """What rewards knows of a claimant now (read once per event or request)."""

    enterprise: dict[str, Any] | None
    qualifications: tuple[str, ...] = ()
    pool_member: bool = False
    flags: list[RewardCreditFlag] = field(default_factory=list)
    prior_decided: int = 0
    today: date = field(default_factory=today_cn)


#: Facts of a claimant read only when a rule's conditions name them.
OPTIONAL_FACTS = {"enterprise.qualifications": "qualifications",
                  "enterprise.pool_member": "pool_member"}


def _facts_named(candidates: list[tuple[packs.RewardPack, packs.RewardRule]]) -> set[str]:
    return {OPTIONAL_FACTS[c.fact] for _, rule in candidates
            for c in (*rule.trigger.when, *rule.eligibility) if c.fact in OPTIONAL_FACTS}


async def claimant_facts(session: AsyncSession, uscc: str, *,
                         enterprise: dict[str, Any] | None = None, known: bool = False,
                         needs: set[str] | None = None) -> ClaimantFacts:
    """What a decision about ``uscc`` reads (``enterprise`` when the caller read it already;
    ``needs``: the optional facts the rules at hand name, default all)."""
    today = today_cn()
    if not known:
        enterprise = await repo.enterprise(session, uscc)
    flags = await repo.active_flags(session, uscc)
    if enterprise is None:
        return ClaimantFacts(None, flags=flags, today=today)
    needs = set(OPTIONAL_FACTS.values()) if needs is None else needs
    founded = enterprise.get("founded_on")
    young = founded is not None and any(
        (today - founded).days < lp.pack.data.governance.new_organisation_days
        for lp in packs.packs())
    return ClaimantFacts(
        enterprise=enterprise,
        qualifications=(await repo.active_qualifications(session, uscc, today)
                        if "qualifications" in needs else ()),
        pool_member=("pool_member" in needs
                     and await repo.pool_status(session, uscc) == "admitted"),
        flags=flags,
        prior_decided=await repo.prior_decided(session, uscc) if young else 0,
        today=today)


def _facts(cf: ClaimantFacts, item: dict[str, Any], *, item_known: bool = True,
           item_party: str | None = None) -> Facts:
    return Facts(enterprise=cf.enterprise, item=item, item_known=item_known,
                 item_party=item_party, qualifications=cf.qualifications,
                 pool_member=cf.pool_member,
                 active_flags=tuple({"kind": f.kind, "flagged_on": f.flagged_on,
                                     "reference": f.reference, "flag_id": f.flag_id}
                                    for f in cf.flags),
                 prior_decided_claims=cf.prior_decided, today=cf.today)


def _holding(pack: packs.RewardPack, flags: list[RewardCreditFlag]) -> list[RewardCreditFlag]:
    kinds = set(pack.data.governance.hold_on_flags)
    return [f for f in flags if f.active and f.kind in kinds]


def _flag_text(flag: RewardCreditFlag) -> str:
    on = flag.flagged_on.isoformat() if flag.flagged_on else "?"
    return (f"credit flag {flag.kind} ({flag.flag_id}) raised on {on}"
            + (f", reference {flag.reference}" if flag.reference else ""))


# --- the rules a claim is checked against ------------------------------------------------------

def _rules_for(event_type: str, on: date, enterprise: dict[str, Any] | None
               ) -> list[tuple[packs.RewardPack, packs.RewardRule]]:
    """Rules in force on ``on`` triggered by ``event_type``: those covering the enterprise's
    region, or, while its region is unknown, those of every jurisdiction (decided later)."""
    if enterprise is not None:
        return packs.applicable(on, enterprise.get("region_code"), event_type)
    return [(lp.pack, rule) for lp in packs.packs() if lp.pack.in_force(on)
            for rule in lp.pack.data.rules
            if rule.trigger.event == event_type and rule.in_force(on)]


def _rule_of(claim: RewardClaim) -> tuple[packs.RewardPack, packs.RewardRule]:
    found = packs.find(claim.pack_ref, claim.rule_code)
    if found is None:
        raise ClaimStatusConflict(
            f"claim {claim.id} was made under {claim.pack_ref}, which this service no longer "
            "loads; restore that pack version to act on the claim",
            detail_zh="该申请适用的政策包版本未加载", claim_status=claim.status, pack=claim.pack_ref)
    return found


# --- creating and checking ----------------------------------------------------------------------

async def _insert(session: AsyncSession, pack: packs.RewardPack, rule: packs.RewardRule, *,
                  uscc: str, item_kind: str, item_ref: str, item_date: date,
                  item: dict[str, Any], origin: str, trigger_event_id: str | None,
                  evidence: list[dict[str, Any]], requested: Decimal | None,
                  filed_by: str | None, now: datetime) -> RewardClaim | None:
    return await repo.insert_claim(session, dict(
        id=str(uuid.uuid4()), uscc=uscc, pack_id=pack.id, pack_ref=pack.ref,
        jurisdiction=pack.jurisdiction, rule_code=rule.code, item_kind=item_kind,
        item_ref=item_ref, item_date=item_date, item=item, origin=origin,
        trigger_event_id=trigger_event_id, evidence=evidence, status="awaiting_facts",
        requested_cny=requested, reserved={}, doubt_flags=[], department=rule.department,
        fund_code=rule.fund, basis=[], filed_by=filed_by, revision=1, created_at=now,
        updated_at=now))


async def _reserve(session: AsyncSession, requests: list[CapRequest], amount: Decimal | None,
                   now: datetime) -> tuple[Decimal | None, list[dict[str, Any]], dict[str, str]]:
    """Lock every cap's tally (in key order), grant the smallest room they leave and reserve
    it; (granted, basis lines, reserved). Granted ZERO: nothing reserved."""
    if not requests:
        return amount, [], {}
    seen = []
    for request in requests:
        tally = await repo.lock_tally(session, request, now)
        committed, items = tally.committed_cny, tally.items
        seen.append((request, committed, items, rules.room(request, committed, items, amount)))
    rooms = [r for *_, r in seen if r is not None]
    granted: Decimal | None
    if any(r == ZERO for r in rooms):
        granted = ZERO
    else:
        granted = min(rooms) if rooms else amount
    lines = [rules.cap_line(request, committed_before=committed, items_before=items,
                            asked=amount, granted=room)
             for request, committed, items, room in seen]
    if granted == ZERO:
        return ZERO, lines, {}
    reserved: dict[str, str] = {}
    for request, *_ in seen:
        await repo.move_tally(session, request.key, cny=granted or ZERO, items=1, now=now)
        reserved[request.key] = events.money_str(granted or ZERO)
    return granted, lines, reserved


async def _release(session: AsyncSession, claim: RewardClaim, now: datetime) -> None:
    """Give back what the claim holds in its caps (an officer rejected it)."""
    for key in sorted(claim.reserved or {}):
        await repo.move_tally(session, key, cny=-Decimal(claim.reserved[key]), items=-1, now=now)
    claim.reserved = {}


def _failed_summary(basis: list[dict[str, Any]]) -> str:
    failed = [b for b in basis if not b["passed"] and not b["rule"].startswith("doubt.")]
    return "; ".join(f"{b['rule']}: {b['detail']}" for b in failed)[:2000]


async def _check(session: AsyncSession, claim: RewardClaim, pack: packs.RewardPack,
                 rule: packs.RewardRule, cf: ClaimantFacts, now: datetime, *,
                 item_known: bool = True, item_party: str | None = None) -> None:
    """Evaluate the claim against its rule with the facts known now, reserve its cap room and
    set its status, amount, doubt flags, due date and basis (no event here)."""
    evaluation = rules.evaluate(
        pack, rule, _facts(cf, claim.item or {}, item_known=item_known, item_party=item_party),
        uscc=claim.uscc, item_date=claim.item_date, origin=claim.origin,
        requested_cny=claim.requested_cny,
        evidence_codes=tuple(e["code"] for e in claim.evidence or []))
    status, amount, basis = evaluation.status, evaluation.amount_cny, list(evaluation.basis)
    reserved: dict[str, str] = {}
    if status in ("pending_review", "approved"):
        granted, lines, reserved = await _reserve(session, evaluation.cap_requests, amount, now)
        if granted == ZERO:
            status, amount = "rejected", ZERO
            basis = [b for b in basis if b["rule"] != "approval.no_meeting"]
        else:
            amount = granted
        basis += lines
    if cf.enterprise is not None:
        claim.enterprise_name = cf.enterprise.get("name")
        claim.province_code = cf.enterprise.get("province_code")
        claim.region_code = cf.enterprise.get("region_code")
    claim.status = status
    claim.amount_cny = amount
    claim.reserved = reserved
    claim.doubt_flags = list(evaluation.doubt_flags) if status == "pending_review" else []
    claim.review_due_on = evaluation.review_due_on if status == "pending_review" else None
    claim.basis = basis
    claim.updated_at = now
    if status in ("approved", "rejected"):
        claim.decided_by = SYSTEM
        claim.decided_department = None
        claim.decided_at = now
        claim.decision_reason = (
            "无疑点，不见面审批 / no doubt flag: approved without a meeting"
            if status == "approved" else _failed_summary(basis))


def _bump(claim: RewardClaim, now: datetime) -> None:
    claim.revision += 1
    claim.updated_at = now


async def _hold(session: AsyncSession, claim: RewardClaim, flags: list[RewardCreditFlag],
                now: datetime, pending: events.Pending | None = None) -> None:
    claim.status_before_hold = claim.status
    claim.status = "held"
    claim.hold_reason = "; ".join(_flag_text(f) for f in flags)[:2000]
    claim.basis = [*claim.basis, rules.line(
        "hold.credit_flag", False,
        {"flags": [{"kind": f.kind, "flag_id": f.flag_id, "flagged_on": f.flagged_on,
                    "reference": f.reference} for f in flags],
         "status_before_hold": claim.status_before_hold}, None,
        "held while an active credit flag stands: " + claim.hold_reason,
        "存在有效信用标记，暂停办理")]
    _bump(claim, now)
    await events.publish(session, "claim.held", claim, pending)
    log.info("rewards.claim.held", claim_id=claim.id, uscc=claim.uscc,
             was=claim.status_before_hold, flags=[f.kind for f in flags])


async def _after_check(session: AsyncSession, claim: RewardClaim, pack: packs.RewardPack,
                       cf: ClaimantFacts, now: datetime, pending: events.Pending) -> None:
    """The events of a claim just checked, and what follows in the same transaction: an
    automatic decision, a hold, a payment."""
    if claim.status == "approved":
        _bump(claim, now)
        pending.add("claim.approved", claim)
        await payments.pay(session, claim, by=SYSTEM, now=now, today=cf.today,
                           pending=pending)
    elif claim.status == "rejected":
        _bump(claim, now)
        pending.add("claim.rejected", claim)
    elif claim.status in HOLDABLE and (holding := _holding(pack, cf.flags)):
        await _hold(session, claim, holding, now, pending)


async def draft_from_event(session: AsyncSession, event: CloudEvent) -> list[RewardClaim]:
    """Draft, check and (where the rules allow) approve and pay the claims a trigger event
    makes: one per rule it triggers; a redelivery makes none."""
    data = event.data
    uscc, item_ref, item_date, item_kind = rules.extract(event.type, data)
    if not uscc or not item_ref:
        return []
    if item_date is None:
        item_date = datetime.fromisoformat(event.time).astimezone(CHINA_TZ).date()
    enterprise = await repo.enterprise(session, uscc)
    candidates = [(pack, rule) for pack, rule in _rules_for(event.type, item_date, enterprise)
                  if rules.trigger_matches(rule, data)]
    if not candidates:
        return []
    cf = await claimant_facts(session, uscc, enterprise=enterprise, known=True,
                              needs=_facts_named(candidates))
    now = utcnow()
    drafted: list[RewardClaim] = []
    pending = events.Pending()
    # one UPDATE of each claim at the end rather than one per step; its events in one insert
    with session.no_autoflush:
        for pack, rule in candidates:
            claim = await _insert(session, pack, rule, uscc=uscc, item_kind=item_kind,
                                  item_ref=item_ref, item_date=item_date, item=data,
                                  origin="event", trigger_event_id=event.id, evidence=[],
                                  requested=None, filed_by=None, now=now)
            if claim is None:
                log.info("rewards.claim.already_drafted", pack=pack.ref, rule=rule.code,
                         item=item_ref, event_id=event.id)
                continue
            await _check(session, claim, pack, rule, cf, now)
            pending.add("claim.created", claim)
            await _after_check(session, claim, pack, cf, now, pending)
            drafted.append(claim)
            log.info("rewards.claim.drafted", claim_id=claim.id, uscc=uscc, pack=pack.ref,
                     rule=rule.code, item=item_ref, status=claim.status,
                     amount=events.money_str(claim.amount_cny))
    await pending.write(session)
    return drafted


async def _item_view(session: AsyncSession, rule: packs.RewardRule, item_ref: str
                     ) -> tuple[str, dict[str, Any], bool, str | None, date | None]:
    """(kind, facts, known, party, date) of the item a filed claim names, as the registry
    announced it; a manual rule's item is the filing itself."""
    if rule.trigger.event == "manual":
        return "manual", {"item_ref": item_ref}, True, None, None
    kind = packs.TRIGGERS[rule.trigger.event]["kind"]
    fact = await repo.item(session, kind, item_ref)
    if fact is None:
        return kind, {}, False, None, None
    return kind, dict(fact.data), True, fact.uscc, fact.item_date


async def reevaluate_awaiting(session: AsyncSession, uscc: str) -> list[RewardClaim]:
    """The enterprise is known now: decide the claims that waited for it."""
    waiting = await repo.lock_claims(session, RewardClaim.uscc == uscc,
                                     RewardClaim.status == "awaiting_facts")
    if not waiting:
        return []
    cf = await claimant_facts(session, uscc)
    if cf.enterprise is None:
        return []
    return [claim for claim in waiting if await _recheck(session, claim, cf)]


async def _recheck(session: AsyncSession, claim: RewardClaim, cf: ClaimantFacts) -> bool:
    found = packs.find(claim.pack_ref, claim.rule_code)
    if found is None:
        log.warning("rewards.claim.pack_not_loaded", claim_id=claim.id, pack=claim.pack_ref)
        return False
    pack, rule = found
    now = utcnow()
    known, party = True, None
    if claim.origin == "filed":
        _, item, known, party, _ = await _item_view(session, rule, claim.item_ref)
        if known:
            claim.item = item
    await _check(session, claim, pack, rule, cf, now, item_known=known, item_party=party)
    pending = events.Pending()
    if claim.status == "pending_review":
        _bump(claim, now)
        await events.publish(session, "claim.review_requested", claim, pending)
    await _after_check(session, claim, pack, cf, now, pending)
    await pending.write(session)
    log.info("rewards.claim.reevaluated", claim_id=claim.id, status=claim.status)
    return True


# --- filing -------------------------------------------------------------------------------------

def _resolve_rule(pack_ref: str, rule_code: str, on: date
                  ) -> tuple[packs.RewardPack, packs.RewardRule]:
    versions = [lp.pack for lp in packs.packs() if lp.pack.ref == pack_ref
                or lp.pack.id == pack_ref]
    if not versions:
        raise InvalidInput("pack_id", "pack_id.unknown",
                           f"no rewards policy pack {pack_ref}; known: "
                           f"{', '.join(sorted({lp.pack.id for lp in packs.packs()}))}",
                           message_zh="未知的奖励政策包")
    in_force = [p for p in versions if p.in_force(on)]
    pack = max(in_force or versions, key=lambda p: p.version)
    rule = next((r for r in pack.data.rules if r.code == rule_code), None)
    if rule is None:
        raise InvalidInput("rule_code", "rule_code.unknown",
                           f"{pack.ref} has no rule {rule_code}; its rules: "
                           f"{', '.join(r.code for r in pack.data.rules)}",
                           message_zh="该政策包中没有此奖励事项")
    if rule.trigger.event != "manual" and not rule.trigger.also_filed:
        raise InvalidInput("rule_code", "rule_code.not_filed",
                           f"{rule.code} is drafted from {rule.trigger.event} events only",
                           message_zh="该事项由登记事件自动生成，无需申报")
    return pack, rule


def _requested(rule: packs.RewardRule, requested: Decimal | None) -> Decimal | None:
    if requested is None:
        return None
    requested = money(requested)
    ceilings = [money(c) for c in (rule.amount.cny if rule.amount.kind == "up_to" else None,
                                   rule.caps.per_item_cny) if c is not None]
    if ceilings and requested > min(ceilings):
        raise InvalidInput("requested_cny", "requested_cny.over_ceiling",
                           f"{requested} is above what {rule.code} pays per item "
                           f"({min(ceilings)})", message_zh="申请金额超过单项上限",
                           ceiling_cny=events.money_str(min(ceilings)))
    return requested


def ensure_can_file(caller: Principal, uscc: str) -> None:
    if caller.has(FILE_ON_BEHALF_SCOPE):
        return
    if caller.has("claims:write") and (caller.org or "").upper() == uscc:
        return
    raise NotOwnOrganisation(f"this caller may file claims only for its own organisation "
                             f"({caller.org or 'none'}), not {uscc}",
                             detail_zh="只能为本单位申报奖励", org=caller.org)


async def file_claim(session: AsyncSession, data: Any, caller: Principal) -> RewardClaim:
    """An enterprise (or an officer on its behalf) files a claim with evidence; it is checked
    like a drafted one. 409 names the existing claim when the item is claimed already."""
    try:
        uscc = validate_uscc(data.uscc).code
    except InvalidIdentifier as exc:
        raise InvalidInput("uscc", exc.rule, exc.message, message_zh=exc.message_zh) from exc
    ensure_can_file(caller, uscc)
    today = today_cn()
    if data.item_date is not None and data.item_date > today:
        raise InvalidInput("item_date", "not_in_future", f"{data.item_date} is after today",
                           message_zh="日期不能晚于今天")
    pack, rule = _resolve_rule(data.pack_id, data.rule_code, data.item_date or today)
    kind, item, known, party, announced_on = await _item_view(session, rule, data.item_ref)
    item_date = announced_on or data.item_date or today
    if item_date != (data.item_date or today):
        # the item's own date chooses the pack version it is checked under
        pack, rule = _resolve_rule(data.pack_id, data.rule_code, item_date)
    codes = {e.code for e in data.evidence}
    missing = [e.code for e in rule.evidence if e.code not in codes]
    if missing:
        raise InvalidInput("evidence", "evidence.missing",
                           f"{rule.code} needs evidence {', '.join(missing)} "
                           f"({'; '.join(e.name_en for e in rule.evidence if e.code in missing)})",
                           message_zh="缺少申请材料：" + "、".join(
                               e.name_zh for e in rule.evidence if e.code in missing),
                           missing=missing)
    requested = _requested(rule, data.requested_cny)
    now = utcnow()
    claim = await _insert(session, pack, rule, uscc=uscc, item_kind=kind,
                          item_ref=data.item_ref, item_date=item_date, item=item,
                          origin="filed", trigger_event_id=None,
                          evidence=[e.model_dump(mode="json", exclude_none=True)
                                    for e in data.evidence],
                          requested=requested, filed_by=caller.subject, now=now)
    if claim is None:
        existing = await repo.claim_for_item(session, pack.id, rule.code, data.item_ref)
        # name the existing claim only to whoever may read it (its claimant, or an officer)
        if existing is not None and not (existing.uscc == uscc or any(
                caller.has(scope) for scope in READ_ALL_SCOPES)):
            existing = None
        raise ClaimAlreadyFiled(
            f"{data.item_ref} is already claimed under {pack.id} {rule.code}"
            + (f": claim {existing.id} ({existing.status})" if existing else ""),
            detail_zh="该事项已按此规则申报过", claim_id=existing.id if existing else None,
            claim_status=existing.status if existing else None)
    cf = await claimant_facts(session, uscc)
    await _check(session, claim, pack, rule, cf, now, item_known=known, item_party=party)
    pending = events.Pending()
    pending.add("claim.created", claim)
    await _after_check(session, claim, pack, cf, now, pending)
    await pending.write(session)
    log.info("rewards.claim.filed", claim_id=claim.id, uscc=uscc, pack=pack.ref,
             rule=rule.code, item=data.item_ref, status=claim.status, by=caller.subject)
    return claim


# --- decisions ----------------------------------------------------------------------------------

def _check_if_match(if_match: str | None, claim: RewardClaim) -> None:
    if not if_match:
        return
    current = f'"{claim.revision}"'
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and current not in tags:
        raise PreconditionFailed(f"If-Match {if_match} is not the claim's current ETag "
                                 f"{current}; re-read it and decide again",
                                 detail_zh="申请已被修改，请重新读取后再决定",
                                 current_etag=current)


def _ensure_department(claim: RewardClaim, caller: Principal) -> None:
    if caller.department != claim.department:
        raise NotDecidingDepartment(
            f"claim {claim.id} is decided by {claim.department}; this caller is "
            f"{caller.department}", detail_zh="该申请由其主管部门审核",
            department=claim.department)


async def _locked_claim(session: AsyncSession, claim_id: str) -> RewardClaim:
    claim = await repo.lock_claim(session, claim_id)
    if claim is None:
        raise ClaimNotFound(f"no reward claim {claim_id}", detail_zh="未找到该奖励申请")
    return claim


def _decided_amount(rule: packs.RewardRule, claim: RewardClaim, asked: Decimal | None
                    ) -> Decimal:
    kind = rule.amount.kind
    if kind in ("assessed", "up_to"):
        if asked is None:
            what = "an assessed" if kind == "assessed" else "an up-to"
            raise InvalidInput("amount_cny", "amount_cny.required",
                               f"{rule.code} pays {what} amount: the approving officer sets it",
                               message_zh="请核定奖励金额")
        amount = money(asked)
        ceilings = [money(c) for c in (rule.amount.cny if kind == "up_to" else None,
                                       rule.caps.per_item_cny) if c is not None]
        if ceilings and amount > min(ceilings):
            raise InvalidInput("amount_cny", "amount_cny.over_ceiling",
                               f"{amount} is above what {rule.code} pays per item "
                               f"({min(ceilings)})", message_zh="核定金额超过单项上限",
                               ceiling_cny=events.money_str(min(ceilings)))
        return amount
    current = money(claim.amount_cny or 0)
    if asked is not None and money(asked) != current:
        raise InvalidInput("amount_cny", "amount_cny.fixed_by_rule",
                           f"{rule.code} pays {current} as the policy sets it "
                           f"({kind}); leave amount_cny out or send that figure",
                           message_zh="该事项金额由政策确定", amount_cny=events.money_str(current))
    return current


async def _rereserve(session: AsyncSession, claim: RewardClaim, pack: packs.RewardPack,
                     rule: packs.RewardRule, amount: Decimal, now: datetime
                     ) -> list[dict[str, Any]]:
    """Move the claim's reservation to the decided amount, within every cap's room (its own
    reservation aside); 422 naming amount_cny with the figures when a cap cannot take it."""
    requests = rules.cap_requests(pack, rule, claim.uscc, claim.item_date)
    held = {k: Decimal(v) for k, v in (claim.reserved or {}).items()}
    seen = []
    for request in requests:
        tally = await repo.lock_tally(session, request, now)
        mine = held.get(request.key)
        others = tally.committed_cny - (mine or ZERO)
        items = tally.items - (1 if mine is not None else 0)
        room = rules.room(request, others, items, amount)
        seen.append((request, others, items, room, mine))
    over = [s for s in seen if s[3] is not None and s[3] < amount]
    if over:
        request, others, items, room, _ = over[0]
        raise InvalidInput(
            "amount_cny", f"amount_cny.{request.code}",
            f"{amount} does not fit {request.label_en}: cap {request.cap_cny}, "
            f"{others} committed by other claims, room left {room}",
            message_zh=f"{request.label_zh}：上限{request.cap_cny}元，其他申请已占用{others}元，"
                       f"剩余{room}元", cap_cny=events.money_str(request.cap_cny),
            committed_cny=events.money_str(others), room_cny=events.money_str(room),
            max_items=request.max_items, items=items)
    reserved: dict[str, str] = {}
    lines = []
    for request, others, items, room, mine in seen:
        await repo.move_tally(session, request.key, cny=amount - (mine or ZERO),
                              items=0 if mine is not None else 1, now=now)
        reserved[request.key] = events.money_str(amount)
        lines.append(rules.cap_line(request, committed_before=others, items_before=items,
                                    asked=amount, granted=room))
    claim.reserved = reserved
    return lines


async def decide(session: AsyncSession, claim_id: str, data: Any, caller: Principal,
                 if_match: str | None) -> RewardClaim:
    """The owning department approves (with the amount where the rule leaves it to them) or
    rejects a claim in review; who, which department and why are recorded. An approved claim
    is paid at once when its fund covers it."""
    claim = await _locked_claim(session, claim_id)
    _ensure_department(claim, caller)
    _check_if_match(if_match, claim)
    if claim.status != "pending_review":
        raise ClaimStatusConflict(f"claim {claim.id} is {claim.status}; only a claim in "
                                  "review (pending_review) is decided",
                                  detail_zh="仅待审核的申请可以作出决定", claim_status=claim.status)
    pack, rule = _rule_of(claim)
    now = utcnow()
    figures: dict[str, Any] = {"decision": data.decision, "by": caller.subject,
                               "department": caller.department, "reason": data.reason}
    if data.decision == "approve":
        amount = _decided_amount(rule, claim, data.amount_cny)
        if amount <= 0:
            raise InvalidInput("amount_cny", "amount_cny.positive", "an approval pays more "
                               "than 0; reject the claim instead", message_zh="核定金额须大于0")
        lines = await _rereserve(session, claim, pack, rule, amount, now)
        claim.amount_cny = amount
        claim.status = "approved"
        figures["amount_cny"] = amount
    else:
        await _release(session, claim, now)
        lines = []
        claim.status = "rejected"
    claim.decided_by = caller.subject
    claim.decided_department = caller.department
    claim.decision_reason = data.reason
    claim.decided_at = now
    claim.review_due_on = None
    claim.basis = [*claim.basis, *lines, rules.line(
        f"decision.{data.decision}", data.decision == "approve", figures,
        None, f"{claim.status} by {caller.subject} ({caller.department}): {data.reason}",
        f"{'批准' if data.decision == 'approve' else '驳回'}：{data.reason}")]
    _bump(claim, now)
    await events.publish(session, f"claim.{claim.status}", claim)
    if claim.status == "approved":
        await payments.pay(session, claim, by=caller.subject, now=now)
    log.info("rewards.claim.decided", claim_id=claim.id, decision=data.decision,
             by=caller.subject, department=caller.department, status=claim.status)
    return claim


async def close_recovery(session: AsyncSession, claim_id: str, data: Any, caller: Principal,
                         if_match: str | None = None) -> RewardClaim:
    """Close a clawed-back claim: the money came back (credited to the fund's ledger) or the
    recovery is waived; who and why are recorded."""
    claim = await _locked_claim(session, claim_id)
    _ensure_department(claim, caller)
    _check_if_match(if_match, claim)
    if claim.status != "recovery":
        raise ClaimStatusConflict(f"claim {claim.id} is {claim.status}; only a claim under "
                                  "recovery is closed", detail_zh="仅追回中的申请可以办结",
                                  claim_status=claim.status)
    now, today = utcnow(), today_cn()
    figures: dict[str, Any] = {"outcome": data.outcome, "by": caller.subject,
                               "department": caller.department, "reason": data.reason,
                               "reference": data.reference}
    if data.outcome == "recovered":
        paid = money(claim.paid_cny or 0)
        if data.amount_cny is None:
            raise InvalidInput("amount_cny", "amount_cny.required",
                               "say how much came back", message_zh="请填写追回金额")
        amount = money(data.amount_cny)
        if amount > paid:
            raise InvalidInput("amount_cny", "amount_cny.over_paid",
                               f"{amount} is more than was paid ({paid})",
                               message_zh="追回金额不能超过已支付金额",
                               paid_cny=events.money_str(paid))
        balance = await funds.credit(session, claim.fund_code, amount, now,
                                     total="recovered_cny")
        if balance is None:
            raise ClaimStatusConflict(f"fund {claim.fund_code} is gone", claim_status=claim.status)
        entry = RewardLedgerEntry(
            fund_code=claim.fund_code, kind="recovery", amount_cny=amount,
            balance_after_cny=balance, claim_id=claim.id,
            reference=(data.reference or f"recovery of claim {claim.id}")[:200],
            note=data.reason, booked_on=today, by=caller.subject, at=now)
        session.add(entry)
        await session.flush()
        claim.recovered_cny = amount
        claim.status = "recovered"
        figures |= {"amount_cny": amount, "paid_cny": paid, "ledger_entry_id": entry.id,
                    "fund_balance_after_cny": balance}
        detail, detail_zh = f"{amount} of {paid} recovered", f"已追回{amount}元（已付{paid}元）"
    else:
        claim.status = "recovery_waived"
        detail, detail_zh = "recovery waived", "免于追回"
    claim.basis = [*claim.basis, rules.line(
        f"recovery.{data.outcome}", data.outcome == "recovered", figures, None,
        f"{detail} — {caller.subject} ({caller.department}): {data.reason}",
        f"{detail_zh}：{data.reason}")]
    _bump(claim, now)
    await events.publish(session, "claim.recovered", claim)
    log.info("rewards.claim.recovery_closed", claim_id=claim.id, outcome=data.outcome,
             by=caller.subject)
    return claim


# --- credit flags -------------------------------------------------------------------------------

async def apply_flag(session: AsyncSession, flag_id: str) -> None:
    """A flag was raised or cleared: hold or claw back, or release, as the projected flag
    says now (a stale event changed nothing there, so it changes nothing here)."""
    flag = await session.get(RewardCreditFlag, flag_id, populate_existing=True)
    if flag is None:
        return
    if flag.active:
        await _flag_raised(session, flag)
    else:
        await release_held(session, flag.uscc)


async def _flag_raised(session: AsyncSession, flag: RewardCreditFlag) -> None:
    touched = await repo.lock_claims(session, RewardClaim.uscc == flag.uscc,
                                     RewardClaim.status.in_((*HOLDABLE, "paid")))
    now = utcnow()
    for claim in touched:
        found = packs.find(claim.pack_ref, claim.rule_code)
        if found is None:
            continue
        governance = found[0].data.governance
        if claim.status == "paid":
            if flag.kind in governance.clawback_on_flags:
                claim.status = "recovery"
                claim.recovery_reason = _flag_text(flag)
                claim.basis = [*claim.basis, rules.line(
                    "clawback.credit_flag", False,
                    {"flag": {"kind": flag.kind, "flag_id": flag.flag_id,
                              "flagged_on": flag.flagged_on, "reference": flag.reference},
                     "paid_cny": claim.paid_cny},
                    {"pack": claim.pack_ref,
                     **governance.source.model_dump(exclude_none=True)},
                    f"paid reward reopened for recovery: {claim.recovery_reason}",
                    "已发放奖励因信用标记转入追回")]
                _bump(claim, now)
                await events.publish(session, "claim.clawed_back", claim)
                log.info("rewards.claim.clawed_back", claim_id=claim.id, flag=flag.kind)
        elif flag.kind in governance.hold_on_flags:
            await _hold(session, claim, [flag], now)


async def release_held(session: AsyncSession, uscc: str) -> list[RewardClaim]:
    """Release held claims no active holding flag stands against any more, to where they
    were; approved ones are paid, awaiting ones re-checked."""
    held = await repo.lock_claims(session, RewardClaim.uscc == uscc,
                                  RewardClaim.status == "held")
    if not held:
        return []
    flags = await repo.active_flags(session, uscc)
    now = utcnow()
    released = []
    for claim in held:
        found = packs.find(claim.pack_ref, claim.rule_code)
        if found is None or _holding(found[0], flags):
            continue
        claim.status = claim.status_before_hold or "pending_review"
        claim.status_before_hold = None
        claim.basis = [*claim.basis, rules.line(
            "hold.released", True, {"status": claim.status}, None,
            "no holding credit flag stands any more: the claim resumes",
            "信用标记已解除，恢复办理")]
        claim.hold_reason = None
        _bump(claim, now)
        await events.publish(session, "claim.released", claim)
        released.append(claim)
        log.info("rewards.claim.released", claim_id=claim.id, status=claim.status)
    for claim in released:
        if claim.status == "approved":
            await payments.pay(session, claim, by=SYSTEM, now=now)
        elif claim.status == "awaiting_facts":
            cf = await claimant_facts(session, uscc)
            if cf.enterprise is not None:
                await _recheck(session, claim, cf)
    return released


# --- reads --------------------------------------------------------------------------------------

async def claim_or_404(session: AsyncSession, claim_id: str) -> RewardClaim:
    claim = await repo.get(session, claim_id)
    if claim is None:
        raise ClaimNotFound(f"no reward claim {claim_id}", detail_zh="未找到该奖励申请")
    return claim


def ensure_can_read(claim: RewardClaim, caller: Principal) -> None:
    if any(caller.has(s) for s in READ_ALL_SCOPES):
        return
    if caller.has("claims:read:own") and (caller.org or "").upper() == claim.uscc:
        return
    raise NotOwnOrganisation("this caller may read only its own organisation's claims",
                             detail_zh="只能查看本单位的奖励申请", org=caller.org)


def visible_uscc(caller: Principal, uscc: str | None) -> str | None:
    """The USCC a list is limited to: the caller's own org unless it reads all claims."""
    if any(caller.has(s) for s in READ_ALL_SCOPES):
        return uscc
    own = (caller.org or "").upper()
    if not caller.has("claims:read:own") or not own:
        raise NotOwnOrganisation("claims are read by the deciding departments, auditors and "
                                 "the claimant itself", detail_zh="无权查看奖励申请")
    if uscc is not None and uscc.upper() != own:
        raise NotOwnOrganisation(f"this caller may read only {own}'s claims",
                                 detail_zh="只能查看本单位的奖励申请", org=own)
    return own


def retry_on_deadlock(exc: sa_exc.DBAPIError) -> RetryConflict | None:
    """PostgreSQL broke a lock cycle or a serialisation conflict: the request may be retried."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None),
                                                      "sqlstate", None)
    if code in ("40P01", "40001"):
        return RetryConflict("another transaction held what this one needed; nothing was "
                             "changed, send the request again",
                             detail_zh="并发写入冲突，请重试", headers={"Retry-After": "1"})
    return None


@dataclass
class ClaimFilters:
    uscc: str | None = None
    status: str | None = None
    department: str | None = None
    pack_id: str | None = None
    rule_code: str | None = None
    due_before: date | None = None
    sort: str = "newest"


_NO_DUE = date(9999, 12, 31)


async def search_claims(session: AsyncSession, caller: Principal, filters: ClaimFilters, *,
                        cursor: str | None, limit: int) -> tuple[list[RewardClaim], str | None]:
    """Newest first (cursor pages), or by review due date (``sort=due``: the review queue,
    soonest first); enterprises and universities see only their own organisation's."""
    conditions: list[Any] = []
    uscc = visible_uscc(caller, filters.uscc)
    if uscc:
        conditions.append(RewardClaim.uscc == uscc.upper())
    for column, value in ((RewardClaim.status, filters.status),
                          (RewardClaim.department, filters.department),
                          (RewardClaim.rule_code, filters.rule_code)):
        if value:
            conditions.append(column == value)
    if filters.pack_id:
        conditions.append(sa.or_(RewardClaim.pack_id == filters.pack_id,
                                 RewardClaim.pack_ref == filters.pack_id))
    if filters.due_before:
        conditions.append(RewardClaim.review_due_on < filters.due_before)
    query = repo.search_query(conditions)
    if filters.sort != "due":
        return await newest_first(session, query, RewardClaim.created_at, RewardClaim.id,
                                  cursor, limit)
    due = sa.func.coalesce(RewardClaim.review_due_on, _NO_DUE)
    after = decode_cursor(cursor)
    if after is not None:
        stamp, _, last_id = after.partition("|")
        try:
            last_due = date.fromisoformat(stamp)
        except ValueError as exc:
            raise InvalidInput("query.cursor", "cursor.invalid", "not a cursor of this list "
                               "(use next_cursor as given)", message_zh="无效的分页游标") from exc
        if not last_id:
            raise InvalidInput("query.cursor", "cursor.invalid", "not a cursor of this list",
                               message_zh="无效的分页游标")
        query = query.where(sa.or_(due > last_due, sa.and_(due == last_due,
                                                          RewardClaim.id > last_id)))
    rows = list(await session.scalars(query.order_by(due, RewardClaim.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(f"{(last.review_due_on or _NO_DUE).isoformat()}|{last.id}")


def claim_model(claim: RewardClaim) -> dict[str, Any]:
    """The claim as the API returns it: the event snapshot, plus evidence, payment state,
    holds, reservations and timestamps."""
    return {**events.snapshot(claim), "pack_id": claim.pack_id,
            "decided_department": claim.decided_department, "decided_at": claim.decided_at,
            "payment_blocked": claim.payment_blocked,
            "status_before_hold": claim.status_before_hold,
            "reserved": dict(claim.reserved or {}), "evidence": list(claim.evidence or []),
            "filed_by": claim.filed_by, "created_at": claim.created_at}
