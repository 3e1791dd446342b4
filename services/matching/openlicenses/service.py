"""Open-licence declarations: declare (checked against matching's patent facts and the licences
matching itself recorded), publish (the IP office), withdraw (a current owner or the declarant;
the IP office terminates), and follow the patent as registry events arrive (suspend when a
Rule 86 bar appears, reinstate when it is lifted). Every change takes the patent's lock first
(:func:`lock_patent`). Services add and flush; the edge commits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db import ENTERPRISES, KERNEL
from services.matching.facts.models import PatentFact
from services.matching.licenses.models import License
from services.matching.licenses.repository import exclusive_in_force, lock_patent
from services.matching.openlicenses import packs
from services.matching.openlicenses import rules as R
from services.matching.openlicenses.actors import actor
from services.matching.openlicenses.codes import (canonical_application_no,
                                                  canonical_industry_codes, code_index,
                                                  industry_division, ipc_subclass)
from services.matching.openlicenses.exceptions import (ChecksFailed, DeclarationRefused,
                                                       LiveDeclarationExists,
                                                       OpenLicenseNotFound, TransitionNotAllowed)
from services.matching.openlicenses.models import OpenLicense, new_id
from services.matching.openlicenses.reads import licence_counts
from services.matching.openlicenses.schemas import OpenLicenseCreate, Publication, Withdrawal
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Forbidden, InvalidInput
from shared.identifiers import InvalidIdentifier, validate_uscc
from shared.outbox import emit

log = structlog.get_logger("matching.openlicenses")


# --- small helpers ------------------------------------------------------------------------------

def declarant_uscc(caller: Principal) -> str:
    """The caller's organisation as a USCC (the declarant is always the caller itself)."""
    if not caller.org:
        raise Forbidden("the token names no organisation; declare with your own USCC",
                        detail_zh="令牌中没有单位统一社会信用代码")
    try:
        return validate_uscc(caller.org).code
    except InvalidIdentifier as exc:
        raise Forbidden(f"the token's org is not a valid USCC ({exc.message})",
                        detail_zh="令牌中的单位代码不是有效的统一社会信用代码") from exc


def fee_terms(row: OpenLicense | OpenLicenseCreate) -> R.FeeTerms:
    return R.FeeTerms(row.payment_method, row.lump_sum_cny, row.entry_fee_cny, row.royalty_rate,
                      row.royalty_base)


def patentee_json(row: OpenLicense) -> dict[str, Any]:
    return {"uscc": row.patentee_uscc, "name": row.patentee_name, "type": row.patentee_type}


def event_key(row: OpenLicense) -> str:
    return row.patentee_uscc or row.application_no


def touch(row: OpenLicense) -> None:
    row.revision += 1
    row.changed_at = utcnow()


async def get_or_404(session: AsyncSession, open_license_id: str, *,
                     for_update: bool = False) -> OpenLicense:
    query = sa.select(OpenLicense).where(OpenLicense.id == open_license_id)
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise OpenLicenseNotFound(f"no open-licence declaration {open_license_id}",
                                  detail_zh="开放许可声明不存在")
    return row


async def _enterprise(session: AsyncSession, uscc: str):
    return (await session.execute(sa.select(ENTERPRISES)
                                  .where(ENTERPRISES.c.uscc == uscc))).first()


# --- fee guidance -------------------------------------------------------------------------------

def _in_division(division: str) -> Any:
    """A licence is in an industry division by its declaration's industry codes (what the
    licence is for) when it was taken under one that names them, else by the licensee's."""
    declared = sa.and_(License.open_license_id.is_not(None), OpenLicense.industry_index != "")
    return sa.or_(sa.and_(declared, OpenLicense.industry_index.like(f"%|_{division}%")),
                  sa.and_(sa.not_(declared), License.licensee_industry_division == division))


async def _comparables(session: AsyncSession, condition: Any, royalty_base: str, *,
                       subject: str | None, patentee: str | None) -> list[R.Comparable]:
    """Verified licences with a royalty on ``royalty_base``: an open declaration once (its takes
    all repeat the declared rate), never the subject patent nor its patentee's own licences."""
    query = (sa.select(License.id, License.open_license_id, License.licensor_uscc,
                       License.licensor_name, License.royalty_rate)
             .select_from(License)
             .outerjoin(OpenLicense, OpenLicense.id == License.open_license_id)
             .where(condition, License.verified.is_(True), License.royalty_rate > 0,
                    sa.func.coalesce(License.royalty_base, "net_sales") == royalty_base)
             .order_by(License.granted_at, License.id))
    if subject:
        query = query.where(License.application_no != subject)
    if patentee:
        query = query.where(sa.or_(License.licensor_uscc.is_(None),
                                   License.licensor_uscc != patentee))
    seen: set[str] = set()
    out: list[R.Comparable] = []
    for licence_id, declaration_id, uscc, name, rate in (await session.execute(query)).all():
        key = declaration_id or licence_id
        if key not in seen:
            seen.add(key)
            out.append(R.Comparable(Decimal(rate), uscc or name))
    return out


async def suggestion(session: AsyncSession, *, industry_codes: list[str],
                     ipc_codes: list[str], royalty_base: str, pack: packs.OpenLicensePack,
                     subject: str | None = None, patentee: str | None = None
                     ) -> dict[str, Any]:
    """The suggested royalty range from verified recorded licences (industry division first,
    then IPC subclass), else the pack's CNIPA table, else none with the reason. ``subject`` and
    ``patentee``: the declared patent and its patentee, whose own licences never count."""
    division = next((d for d in map(industry_division, industry_codes) if d), None)
    section = next((c for c in industry_codes if c.isalpha()), None)
    subclass = ipc_subclass(ipc_codes)
    exclude = {"subject": subject, "patentee": patentee}
    industry = ((division, await _comparables(session, _in_division(division), royalty_base,
                                              **exclude)) if division else None)
    ipc = ((subclass, await _comparables(session, License.ipc_subclass == subclass,
                                         royalty_base, **exclude)) if subclass else None)
    if industry is None and section:
        industry = (section, [])
    return R.suggested_range(industry=industry, ipc=ipc, royalty_base=royalty_base, pack=pack)


async def fee_guidance(session: AsyncSession, fee: R.FeeTerms, industry_codes: list[str],
                       ipc_codes: list[str], pack: packs.OpenLicensePack, on: date, *,
                       subject: str, patentee: str | None) -> dict[str, Any]:
    suggested = await suggestion(session, industry_codes=industry_codes, ipc_codes=ipc_codes,
                                 royalty_base=fee.royalty_base or "net_sales", pack=pack,
                                 subject=subject, patentee=patentee)
    return {"computed_on": on.isoformat(), "pack": pack.ref, "suggested_range": suggested,
            "flags": R.fee_flags(fee, suggested, pack)}


def soft_limits(pack: packs.OpenLicensePack) -> dict[str, Any]:
    limits = pack.data.soft_limits
    return {"lump_sum_max_cny": R.money_str(limits.lump_sum_max_cny),
            "royalty_max_rate": {k: R.rate_str(v) for k, v in limits.royalty_max_rate.items()},
            "clause": limits.clause.model_dump(exclude_none=True),
            "note": "flagged, never refused"}


# --- declaring ----------------------------------------------------------------------------------

def _declaration(body_or_row: Any, declarant: str, patentee_type: str | None) -> R.Declaration:
    consents = [dict(c) if isinstance(c, dict) else c.model_dump()
                for c in body_or_row.co_owner_consents]
    return R.Declaration(declarant_uscc=declarant, patentee_type=patentee_type,
                         starts_on=body_or_row.starts_on, ends_on=body_or_row.ends_on,
                         fee=fee_terms(body_or_row),
                         evaluation_report_ref=body_or_row.evaluation_report_ref,
                         co_owner_consents=consents)


async def snapshot_of(session: AsyncSession, fact: PatentFact, today: date) -> R.PatentSnapshot:
    """The patent as the rules read it: the registry's facts plus the exclusive or sole licences
    matching recorded itself and the registry has not reported back yet (Rule 86(1)); one that
    starts later counts too (an open licence declared now would overlap it)."""
    recorded = await exclusive_in_force(session, fact.application_no, today, include_future=True)
    return R.PatentSnapshot.of(fact, recorded)


async def lock(session: AsyncSession, row: OpenLicense) -> tuple[PatentFact | None, OpenLicense]:
    """Take the patent's lock, then re-read the declaration locked: the order every writer
    follows (patent first), so a publication and a take never wait on each other."""
    fact = await lock_patent(session, row.application_no)
    fresh = await session.scalar(
        sa.select(OpenLicense).where(OpenLicense.id == row.id).with_for_update()
        .execution_options(populate_existing=True))
    return fact, fresh or row


async def _live(session: AsyncSession, application_no: str) -> OpenLicense | None:
    return await session.scalar(sa.select(OpenLicense).where(
        OpenLicense.application_no == application_no,
        OpenLicense.status.in_(R.LIVE_STATUSES)))


def refusal(row: OpenLicense) -> DeclarationRefused:
    failed = [line for line in row.basis["checks"] if not line["passed"]]
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return DeclarationRefused(
        f"{first['code']}: {first['detail']}{more}",
        detail_zh="开放许可声明未通过审查，详见 errors（每项列明规则与条款）",
        errors=[{"field": line.get("field") or "application_no", "rule": line["code"],
                 "message": line["detail"], "clause": line["clause"]} for line in failed],
        open_license_id=row.id, declaration_status=row.status, basis=row.basis)


async def declare(session: AsyncSession, body: OpenLicenseCreate, caller: Principal
                  ) -> OpenLicense:
    """Check and store a declaration: ``declared`` when every check passes, else ``refused``
    with its basis (the router answers 422 for a refused one). An unknown patent is 422
    ``patent_unknown`` and stores nothing; a second live declaration of a patent is 409."""
    declarant = declarant_uscc(caller)
    number = canonical_application_no(body.application_no)
    industry_codes = canonical_industry_codes(body.industry_codes)
    today = today_cn()
    pack = packs.pack_on(today)
    fact = await lock_patent(session, number)
    if fact is None:
        line = R.unknown_patent(number, pack)
        raise InvalidInput("application_no", "patent_unknown", line.detail,
                           message_zh="匹配服务尚未收到该专利的登记信息", clause=line.clause)
    existing = await _live(session, number)
    if existing is not None:
        raise LiveDeclarationExists(
            f"patent {number} already has a {existing.status} open-licence declaration "
            f"{existing.id}; withdraw it first", detail_zh="该专利已有有效的开放许可声明",
            open_license_id=existing.id, current_status=existing.status)
    snapshot = await snapshot_of(session, fact, today)
    patentee_type, checks = R.declaration_checks(
        snapshot, _declaration(body, declarant, body.patentee_type), pack, today)
    refused = any(not line.passed for line in checks)
    enterprise = await _enterprise(session, declarant)
    owner = next((o for o in fact.owners if (o.get("uscc") or "").upper() == declarant), None)
    fee = fee_terms(body)
    now = utcnow()
    row = OpenLicense(
        id=new_id(), application_no=number, patent_kind=fact.kind,
        status="refused" if refused else "declared", patentee_uscc=declarant,
        patentee_name=(enterprise.name if enterprise else owner["name"] if owner else declarant),
        patentee_type=patentee_type or body.patentee_type or "other",
        region_code=(enterprise.region_code if enterprise and enterprise.region_code
                     else (owner or {}).get("region_code")),
        title=fact.title, abstract=fact.abstract, claims=body.claims,
        technical_field=body.technical_field, application_scenarios=body.application_scenarios,
        keywords=list(dict.fromkeys(k.strip() for k in body.keywords if k.strip())),
        ipc_codes=list(fact.ipc_codes or []), industry_codes=industry_codes,
        ipc_index=code_index(list(fact.ipc_codes or [])), industry_index=code_index(industry_codes),
        payment_method=body.payment_method, lump_sum_cny=body.lump_sum_cny,
        entry_fee_cny=body.entry_fee_cny, royalty_rate=body.royalty_rate,
        royalty_base=body.royalty_base, payment_terms=body.payment_terms,
        starts_on=body.starts_on, ends_on=body.ends_on, grant_date=fact.grant_date,
        evaluation_report_ref=body.evaluation_report_ref,
        co_owner_consents=[c.model_dump() for c in body.co_owner_consents],
        basis={"outcome": "refused" if refused else "accepted", "decided_on": today.isoformat(),
               "pack": pack.ref, "patent_revision": fact.revision,
               "failed": [line.code for line in checks if not line.passed],
               "checks": [line.as_dict() for line in checks]},
        fee_guidance=await fee_guidance(session, fee, industry_codes, list(fact.ipc_codes or []),
                                        pack, today, subject=number, patentee=declarant),
        suspension_reasons=[], declared_by=actor(caller), revision=1, created_at=now,
        changed_at=now)
    session.add(row)
    await session.flush()
    log.info("matching.openlicense.declared", open_license_id=row.id, application_no=number,
             status=row.status, failed=row.basis["failed"])
    return row


# --- publication and withdrawal -----------------------------------------------------------------

def published_payload(row: OpenLicense) -> dict[str, Any]:
    return {"open_license_id": row.id, "application_no": row.application_no,
            "patent_kind": row.patent_kind, "title": row.title, "ipc_codes": list(row.ipc_codes),
            "patentee": patentee_json(row),
            "fee": fee_terms(row).as_json() | {"payment_terms": row.payment_terms},
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(),
            "technical_field": row.technical_field, "industry_codes": list(row.industry_codes),
            "fee_flags": list(row.fee_guidance.get("flags") or []),
            "published_on": row.published_on.isoformat(), "revision": row.revision,
            "published_at": utcnow().isoformat()}


async def publish(session: AsyncSession, row: OpenLicense, body: Publication,
                  caller: Principal) -> OpenLicense:
    """declared → published after re-running the checks on the current facts (409 naming the
    failed rules otherwise); emits ``openlicense.published``."""
    fact, row = await lock(session, row)
    if row.status != "declared":
        raise TransitionNotAllowed.of(row, "publication")
    today = today_cn()
    pack = packs.pack_on(today)
    checks = R.publication_checks(await snapshot_of(session, fact, today),
                                  _declaration(row, row.patentee_uscc or "", row.patentee_type),
                                  pack, today)
    failed = [line for line in checks if not line.passed]
    if failed:
        raise ChecksFailed(
            f"{failed[0].code}: {failed[0].detail}"
            + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""),
            detail_zh="专利当前状态不满足开放许可条件，暂不能公告",
            errors=[{"field": line.field or "application_no", "rule": line.code,
                     "message": line.detail, "clause": line.clause} for line in failed],
            open_license_id=row.id, current_status=row.status)
    row.status, row.published_on, row.published_by = "published", today, actor(caller)
    row.fee_guidance = await fee_guidance(session, fee_terms(row), list(row.industry_codes),
                                          list(row.ipc_codes), pack, today,
                                          subject=row.application_no, patentee=row.patentee_uscc)
    row.basis = {**row.basis, "publication": {
        "checked_on": today.isoformat(), "pack": pack.ref, "patent_revision": fact.revision,
        "note": body.note, "checks": [line.as_dict() for line in checks]}}
    touch(row)
    await session.flush()
    await emit(session, KERNEL.outbox, "openlicense.published", key=event_key(row),
               subject=row.application_no, data=published_payload(row))
    log.info("matching.openlicense.published", open_license_id=row.id,
             application_no=row.application_no)
    return row


def withdrawal_role(row: OpenLicense, fact: PatentFact | None, caller: Principal) -> str:
    """Who may end a declaration, and as what: the IP office (openlicenses:publish) terminates
    or rejects one (a declaration a transfer orphaned, or one that keeps failing publication);
    the declarant, or any current owner of the patent (after a transfer the new owner), withdraws
    it (Art 50). Anyone else: 403."""
    if caller.has("openlicenses:publish"):
        return "ip_office"
    org = caller.org.upper() if caller.org else None
    if org and caller.has("openlicenses:declare"):
        if org == row.patentee_uscc:
            return "declarant"
        owners = {(o.get("uscc") or "").upper() for o in (fact.owners if fact else [])}
        if org in owners:
            return "current_owner"
    raise Forbidden("only the declarant, a current owner of the patent or the IP office may "
                    "withdraw an open licence",
                    detail_zh="只有声明人、现专利权人或知识产权管理部门可以撤回开放许可")


async def withdraw(session: AsyncSession, row: OpenLicense, body: Withdrawal,
                   caller: Principal) -> OpenLicense:
    """The declarant or a current owner withdraws (Art 50), or the IP office terminates;
    licences already granted stay valid. Emits ``openlicense.withdrawn`` when the declaration
    had been published."""
    fact, row = await lock(session, row)
    role = withdrawal_role(row, fact, caller)
    if row.status not in ("declared", "published", "suspended"):
        raise TransitionNotAllowed.of(row, "withdrawal")
    announced = row.status in ("published", "suspended")
    today = today_cn()
    row.status, row.withdrawn_on, row.withdrawn_by = "withdrawn", today, actor(caller)
    row.withdrawal_reason = body.reason
    row.basis = {**row.basis, "withdrawal": {
        "by": role, "department": caller.department, "org": caller.org,
        "on": today.isoformat(), "reason": body.reason, "was": "published" if announced
        else "declared", "patent_revision": fact.revision if fact else None}}
    touch(row)
    await session.flush()
    if announced:
        granted, running = (await licence_counts(session, [row.id], today)).get(row.id, (0, 0))
        await emit(session, KERNEL.outbox, "openlicense.withdrawn", key=event_key(row),
                   subject=row.application_no, data={
                       "open_license_id": row.id, "application_no": row.application_no,
                       "patentee": patentee_json(row), "withdrawn_on": today.isoformat(),
                       "reason": body.reason, "licenses_in_force": running,
                       "revision": row.revision, "withdrawn_at": utcnow().isoformat()})
    log.info("matching.openlicense.withdrawn", open_license_id=row.id, announced=announced,
             by=role)
    return row


# --- following the patent (called from the event handlers) -------------------------------------

async def follow_patent(session: AsyncSession, fact: PatentFact) -> int:
    """Bring the live declarations of ``fact``'s patent in line with it: refresh the copied
    text, suspend a published one the patent now bars, reinstate a suspended one that is clear.
    Returns how many changed (0 for a redelivered or irrelevant event)."""
    rows = (await session.scalars(sa.select(OpenLicense).where(
        OpenLicense.application_no == fact.application_no,
        OpenLicense.status.in_(R.LIVE_STATUSES)).with_for_update())).all()
    today = today_cn()
    snapshot = R.PatentSnapshot.of(fact)
    changed = 0
    for row in rows:
        reasons = R.blocking_reasons(snapshot, today)
        owners = {(o.get("uscc") or "").upper() for o in fact.owners}
        if row.patentee_uscc and row.patentee_uscc not in owners:
            reasons.append("patentee_no_longer_owner")
        event: tuple[str, dict[str, Any]] | None = None
        dirty = _refresh_text(row, fact)
        if row.status == "published" and reasons:
            row.status, row.suspension_reasons = "suspended", reasons
            event = ("openlicense.suspended", {"reasons": reasons, "suspended_at": None})
        elif row.status == "suspended" and not reasons:
            row.status, row.suspension_reasons = "published", []
            event = ("openlicense.reinstated", {"reinstated_at": None})
        elif row.status == "suspended" and reasons != list(row.suspension_reasons):
            row.suspension_reasons = reasons
            dirty = True
        if not (dirty or event):
            continue
        touch(row)
        changed += 1
        await session.flush()
        if event is not None:
            name, extra = event
            stamp = utcnow().isoformat()
            data = {"open_license_id": row.id, "application_no": row.application_no,
                    "patentee": patentee_json(row), "revision": row.revision,
                    **{k: (stamp if v is None else v) for k, v in extra.items()}}
            await emit(session, KERNEL.outbox, name, key=event_key(row),
                       subject=row.application_no, data=data)
            log.info(f"matching.{name}", open_license_id=row.id, reasons=reasons)
    return changed


def _refresh_text(row: OpenLicense, fact: PatentFact) -> bool:
    fresh = {"title": fact.title, "abstract": fact.abstract,
             "ipc_codes": list(fact.ipc_codes or []), "grant_date": fact.grant_date}
    dirty = False
    for name, value in fresh.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            dirty = True
    if dirty:
        row.ipc_index = code_index(row.ipc_codes)
    return dirty
