"""Licences: an open licence taken by written notice and payment on the published terms
(Patent Law Art 51), and negotiated exclusive / sole / ordinary licences recorded. Each emits
``license.granted`` (registry records the encumbrance; financing keeps verified priced ones as
valuation comparables).

Verified: an open licence taken (its terms are the published ones) or a negotiated licence the
IP office (market_regulation) recorded. A patentee's own record of a negotiated licence is kept
and reaches the registry, but is unverified: nobody checked the price, so it never feeds a
valuation or the fee guidance. Every write takes the patent's lock first (:func:`lock_patent`).
Services add and flush; the edge commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db import ENTERPRISES, KERNEL
from services.matching.facts.models import PatentFact
from services.matching.licenses.models import License, new_id
from services.matching.licenses.repository import exclusive_in_force, lock_patent
from services.matching.licenses.schemas import NegotiatedLicenseCreate, OpenLicenseTake
from services.matching.openlicenses import packs
from services.matching.openlicenses import rules as R
from services.matching.openlicenses.actors import actor
from services.matching.openlicenses.codes import (canonical_application_no, canonical_uscc,
                                                  canonical_industry_codes, industry_division,
                                                  ipc_subclass)
from services.matching.openlicenses.models import OpenLicense
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.identifiers import InvalidIdentifier, validate_region_code
from shared.outbox import emit
from shared.pagination import newest_first

log = structlog.get_logger("matching.licenses")

ON_BEHALF = ("market_regulation",)
#: Departments whose record of a negotiated licence is verified (a price comparable).
VERIFYING = ("market_regulation",)
READ_ALL = ("market_regulation", "auditor")
PARTIES = ("enterprise", "university")


class LicenseNotFound(NotFound):
    slug = "license-not-found"
    title = "Licence not found"


class LicenseRefused(Conflict):
    """409: the licence conflicts with the patent's state (rule and clause in the body)."""

    slug = "license-refused"
    title = "The licence cannot be granted in the current state"


async def _enterprise(session: AsyncSession, uscc: str | None):
    if not uscc:
        return None
    return (await session.execute(sa.select(ENTERPRISES)
                                  .where(ENTERPRISES.c.uscc == uscc))).first()


def _line(code: str, detail: str, **figures: Any) -> dict[str, Any]:
    return {"code": code, "passed": True, "detail": detail} | ({"figures": figures}
                                                                 if figures else {})


# --- the event ----------------------------------------------------------------------------------

def granted_payload(row: License) -> dict[str, Any]:
    fixed = row.lump_sum_cny if row.lump_sum_cny is not None else row.entry_fee_cny
    return {"license_id": row.id, "application_no": row.application_no,
            "patent_kind": row.patent_kind, "ipc_codes": list(row.ipc_codes),
            "license_type": row.license_type,
            "licensor": {"uscc": row.licensor_uscc, "name": row.licensor_name},
            "licensee": {"uscc": row.licensee_uscc, "name": row.licensee_name,
                         "industry_code": row.licensee_industry_code,
                         "region_code": row.licensee_region_code},
            "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on.isoformat() if row.ends_on else None,
            "fee": {"lump_sum_cny": R.money_str(fixed),
                    "royalty_rate": R.rate_str(row.royalty_rate),
                    "payment_method": row.payment_method,
                    "entry_fee_cny": R.money_str(row.entry_fee_cny),
                    "royalty_base": row.royalty_base},
            "open_license_id": row.open_license_id, "granted_at": row.granted_at.isoformat(),
            "verified": row.verified, "recorded_by_department": row.recorded_by_department}


async def _grant(session: AsyncSession, row: License) -> License:
    session.add(row)
    await session.flush()
    await emit(session, KERNEL.outbox, "license.granted",
               key=row.licensor_uscc or row.application_no, subject=row.application_no,
               data=granted_payload(row))
    log.info("matching.license.granted", license_id=row.id, application_no=row.application_no,
             license_type=row.license_type)
    return row


# --- taking an open licence (Art 51) ------------------------------------------------------------

def expected_payment(ol: OpenLicense) -> tuple[str, Any]:
    """What the payment must be under the published terms: (rule, amount or None for ≥ 0)."""
    if ol.payment_method == "lump_sum":
        return "equals the lump sum", R.money(ol.lump_sum_cny)
    if ol.payment_method == "entry_fee_plus_royalty":
        return "equals the entry fee", R.money(ol.entry_fee_cny)
    if ol.payment_method == "free":
        return "is zero (free licence)", R.money(0)
    return "records the first royalty payment (any amount ≥ 0)", None


def _licensee_uscc(body: OpenLicenseTake, caller: Principal) -> str:
    if caller.department in ON_BEHALF:
        if not body.licensee_uscc:
            raise InvalidInput("licensee_uscc", "licensee_uscc.required",
                               "recording a licence for a licensee needs its uscc",
                               message_zh="代为登记须填写被许可人统一社会信用代码")
        return canonical_uscc(body.licensee_uscc, "licensee_uscc")
    if caller.department not in PARTIES or not caller.org:
        raise Forbidden("only the licensee itself (or market_regulation) may take an open licence",
                        detail_zh="只有被许可人本身（或市场监管部门）可以取得开放许可")
    org = caller.org.upper()
    if body.licensee_uscc and body.licensee_uscc.upper() != org:
        raise Forbidden("an enterprise may take an open licence only for itself",
                        detail_zh="企业只能为本单位取得开放许可")
    return org


async def take_open(session: AsyncSession, body: OpenLicenseTake, caller: Principal) -> License:
    """Grant an open licence on the published terms: the declaration published and running,
    notice given, the payment as the terms say, once per licensee (Art 51: no negotiation)."""
    licensee_uscc = _licensee_uscc(body, caller)
    number = await session.scalar(sa.select(OpenLicense.application_no)
                                  .where(OpenLicense.id == body.open_license_id))
    if number is None:
        raise InvalidInput("open_license_id", "open_license.unknown",
                           f"no open-licence declaration {body.open_license_id}",
                           message_zh="开放许可声明不存在")
    # patent first, then the declaration, both locked: a withdrawal committing meanwhile is
    # seen here (and a take is never granted after it)
    fact = await lock_patent(session, number)
    ol = await session.scalar(sa.select(OpenLicense).where(OpenLicense.id == body.open_license_id)
                              .with_for_update().execution_options(populate_existing=True))
    today = today_cn()
    clause = packs.pack_on(today).data.clause("exclusive_while_open")
    if ol.status != "published":
        raise LicenseRefused(
            f"the open licence is {ol.status}; only a published one can be taken",
            detail_zh="该开放许可当前不可取得（未公告、已中止或已撤回）",
            errors=[{"field": "open_license_id", "rule": "open_license.not_published",
                     "message": f"status {ol.status}"}],
            open_license_id=ol.id, current_status=ol.status,
            suspension_reasons=list(ol.suspension_reasons) or None)
    if today > ol.ends_on:
        raise LicenseRefused(f"the open licence's term ended on {ol.ends_on.isoformat()}",
                             detail_zh="开放许可期限已届满",
                             errors=[{"field": "open_license_id", "rule": "open_license.ended",
                                      "message": f"ended {ol.ends_on.isoformat()}"}])
    if licensee_uscc == ol.patentee_uscc:
        raise InvalidInput("licensee_uscc", "licensee.is_patentee",
                           "the patentee cannot take its own open licence",
                           message_zh="专利权人不能取得自己的开放许可")
    licensee = await _enterprise(session, licensee_uscc)
    if licensee is None:
        raise InvalidInput("licensee_uscc", "enterprise.unknown",
                           f"enterprise {licensee_uscc} is not known to matching (register it "
                           "at the registry first)", message_zh="匹配服务尚未收到该企业的登记信息")
    duplicate = await session.scalar(sa.select(License.id).where(
        License.open_license_id == ol.id, License.licensee_uscc == licensee_uscc))
    if duplicate is not None:
        raise LicenseRefused(f"{licensee_uscc} already holds licence {duplicate} under this open "
                             "licence", detail_zh="该企业已取得此开放许可",
                             errors=[{"field": "licensee_uscc", "rule": "license.duplicate",
                                      "message": f"licence {duplicate}"}], license_id=duplicate)
    for field, day in (("notice.sent_on", body.notice.sent_on),
                       ("payment.paid_on", body.payment.paid_on if body.payment else None)):
        if day is not None and day > today:
            raise InvalidInput(field, "date.future", f"{day.isoformat()} is after today "
                               f"({today.isoformat()})", message_zh="日期不能晚于今天")
        if day is not None and ol.published_on is not None and day < ol.published_on:
            raise InvalidInput(field, "date.before_publication",
                               f"{day.isoformat()} is before the open licence was published "
                               f"({ol.published_on.isoformat()}): notice and payment follow "
                               "the announcement (Art 51)", message_zh="通知或付款日期早于开放许可公告日",
                               published_on=ol.published_on.isoformat())
    rule, expected = expected_payment(ol)
    paid = body.payment.amount_cny if body.payment else None
    if paid is None and ol.payment_method != "free":
        raise InvalidInput("payment", "payment.required",
                           f"an open licence is obtained by paying as published: the payment "
                           f"{rule}", message_zh="须按公告的方式和标准支付许可使用费",
                           expected_amount_cny=R.money_str(expected))
    if expected is not None and paid is not None and R.money(paid) != expected:
        raise InvalidInput("payment.amount_cny", "payment.published_terms",
                           f"{ol.payment_method}: the payment {rule} "
                           f"({R.money_str(expected)} yuan), not {R.money_str(paid)}",
                           message_zh="支付金额与公告的许可使用费标准不符",
                           expected_amount_cny=R.money_str(expected),
                           payment_method=ol.payment_method)
    starts_on = max(ol.starts_on, body.notice.sent_on)
    row = License(
        id=new_id(), application_no=ol.application_no, patent_kind=ol.patent_kind,
        ipc_codes=list(ol.ipc_codes), ipc_subclass=ipc_subclass(ol.ipc_codes),
        open_license_id=ol.id, license_type="open", licensor_uscc=ol.patentee_uscc,
        licensor_name=ol.patentee_name, licensee_uscc=licensee_uscc,
        licensee_name=licensee.name, licensee_industry_code=licensee.industry_code,
        licensee_industry_division=industry_division(licensee.industry_code),
        licensee_region_code=licensee.region_code, payment_method=ol.payment_method,
        lump_sum_cny=ol.lump_sum_cny, entry_fee_cny=ol.entry_fee_cny,
        royalty_rate=ol.royalty_rate, royalty_base=ol.royalty_base, starts_on=starts_on,
        ends_on=ol.ends_on, notice_sent_on=body.notice.sent_on,
        notice_reference=body.notice.reference, payment_amount_cny=paid,
        payment_paid_on=body.payment.paid_on if body.payment else None,
        payment_reference=body.payment.reference if body.payment else None,
        granted_at=utcnow(), recorded_by=actor(caller), recorded_by_department=caller.department,
        verified=True,
        basis={"decided_on": today.isoformat(), "clause": clause | {
                   "note": "Art 51: written notice and payment as published; an ordinary, "
                           "non-exclusive licence on equal terms"},
               "checks": [
                   _line("open_license.published", f"open licence {ol.id} published on "
                         f"{ol.published_on.isoformat() if ol.published_on else '?'}, "
                         f"revision {ol.revision}"),
                   _line("notice.written", f"written notice {body.notice.reference} of "
                         f"{body.notice.sent_on.isoformat()}"),
                   _line("payment.published_terms", f"the payment {rule}",
                         paid=R.money_str(paid), expected=R.money_str(expected)),
                   _line("license.once_per_licensee", "first licence of this licensee under "
                         "this declaration"),
                   _line("term", f"{starts_on.isoformat()} to {ol.ends_on.isoformat()} (the "
                         "published term, from the notice)"),
                   _line("verified", "an open licence on the published terms: a verified "
                         "price", verified=True)],
               "patent_revision": fact.revision if fact else None})
    return await _grant(session, row)


# --- negotiated licences ------------------------------------------------------------------------

def _licensor(body: NegotiatedLicenseCreate, caller: Principal, fact: PatentFact) -> str:
    owners = [(o.get("uscc") or "").upper() for o in fact.owners]
    if caller.department in ON_BEHALF:
        if body.licensor_uscc:
            licensor = canonical_uscc(body.licensor_uscc, "licensor_uscc")
        elif len(owners) == 1 and owners[0]:
            licensor = owners[0]
        else:
            raise InvalidInput("licensor_uscc", "licensor_uscc.required",
                               "name the licensor (the patent has several owners or none with "
                               "a USCC)", message_zh="请填写许可人统一社会信用代码")
    elif caller.department in PARTIES and caller.org:
        licensor = caller.org.upper()
        if body.licensor_uscc and body.licensor_uscc.upper() != licensor:
            raise Forbidden("a patentee records licences only as the licensor itself",
                            detail_zh="专利权人只能以本单位名义登记许可")
        if licensor not in owners:
            raise Forbidden(f"{licensor} is not an owner of {fact.application_no}",
                            detail_zh="只有专利权人（或市场监管部门）可以登记许可")
    else:
        raise Forbidden("only the patentee or market_regulation may record a licence",
                        detail_zh="只有专利权人或市场监管部门可以登记许可")
    if licensor not in owners:
        raise InvalidInput("licensor_uscc", "licensor.not_owner",
                           f"{licensor} is not an owner of {fact.application_no}",
                           message_zh="许可人不是该专利的专利权人")
    return licensor


def _co_owner_consent(body: NegotiatedLicenseCreate, fact: PatentFact, licensor: str,
                      pack: packs.OpenLicensePack) -> dict[str, Any]:
    """Patent Law Art 14: a co-owner alone may grant only ordinary licences; an exclusive or
    sole one needs the written consent of every other co-owner (422 naming who is missing)."""
    clause = pack.data.clause("co_owner_licence_consent")
    others = [o for o in fact.owners if (o.get("uscc") or "").upper() != licensor]
    if body.type == "ordinary" or not others:
        return _line("co_owner_licence_consent",
                     "sole owner" if not others else "ordinary licence: a co-owner may grant "
                     "one alone (Art 14)") | {"clause": clause}
    missing = R.missing_consents(fact.owners, licensor,
                                 [c.model_dump() for c in body.co_owner_consents])
    if missing:
        raise InvalidInput("co_owner_consents", "co_owner_licence_consent",
                           f"an {body.type} licence of a co-owned patent needs the written "
                           f"consent of every other co-owner; missing: {', '.join(missing)}",
                           message_zh="共有专利给予独占或排他许可须经全体共有人书面同意",
                           missing=missing, clause=clause)
    return _line("co_owner_licence_consent", f"written consent of all {len(others)} other "
                 "co-owner(s) recorded") | {"clause": clause}


async def record_negotiated(session: AsyncSession, body: NegotiatedLicenseCreate,
                            caller: Principal) -> License:
    """Record an exclusive, sole or ordinary licence. Refused (409) for an exclusive or sole
    licence while an open licence of the patent is live (Art 51(3)), and for any licence while
    an exclusive or sole one is in force; an exclusive or sole licence of a co-owned patent
    needs every other co-owner's written consent (Art 14, 422). Verified only when
    market_regulation records it."""
    number = canonical_application_no(body.application_no)
    today = today_cn()
    pack = packs.pack_on(today)
    fact = await lock_patent(session, number)
    if fact is None:
        raise InvalidInput("application_no", "patent_unknown",
                           f"matching has not received patent {number} from the registry",
                           message_zh="匹配服务尚未收到该专利的登记信息")
    licensor = _licensor(body, caller, fact)
    if fact.status != "granted" or not fact.in_force:
        raise InvalidInput("application_no", "patent.not_in_force",
                           f"patent {number} is not granted and in force (status {fact.status})",
                           message_zh="专利未授权或已失效，不能许可")
    fee = R.FeeTerms(body.payment_method, body.lump_sum_cny, body.entry_fee_cny,
                     body.royalty_rate, body.royalty_base)
    problems = R.fee_problems(fee)
    if problems:
        raise InvalidInput(problems[0][0], "fee_terms", problems[0][1],
                           message_zh="许可使用费条款与支付方式不一致",
                           problems=[{"field": f, "message": m} for f, m in problems])
    if body.ends_on is not None and body.ends_on < body.starts_on:
        raise InvalidInput("ends_on", "term.order", "ends_on is before starts_on",
                           message_zh="许可终止日早于起始日")
    # term_ends_on is the first day the patent is no longer in force
    if body.ends_on is not None and fact.term_ends_on and body.ends_on >= fact.term_ends_on:
        raise InvalidInput("ends_on", "term_within_patent",
                           f"the licence must end before {fact.term_ends_on.isoformat()}, the "
                           "first day the patent is no longer in force",
                           message_zh="许可期限不得超过专利权期限",
                           term_ends_on=fact.term_ends_on.isoformat())
    consent_line = _co_owner_consent(body, fact, licensor, pack)
    if body.type in ("exclusive", "sole"):
        live = await session.scalar(sa.select(OpenLicense).where(
            OpenLicense.application_no == number, OpenLicense.status.in_(R.LIVE_STATUSES)))
        if live is not None:
            raise LicenseRefused(
                f"patent {number} has a {live.status} open licence ({live.id}); no {body.type} "
                "licence may be granted while it is in force (Patent Law Art 51(3))",
                detail_zh="开放许可实施期间，不得就该专利给予独占或者排他许可",
                errors=[{"field": "type", "rule": "exclusive_while_open",
                         "message": f"open licence {live.id} is {live.status}",
                         "clause": pack.data.clause("exclusive_while_open")}],
                open_license_id=live.id)
    recorded = (fact.encumbrances or {}).get("licences") or {}
    ours = await exclusive_in_force(session, number, today)
    held = {t: max(int(recorded.get(t) or 0), ours.get(t, 0)) for t in ("exclusive", "sole")}
    for kind, count in held.items():
        if count:
            raise LicenseRefused(
                f"patent {number} already has {count} {kind} licence(s) in force: the patentee "
                f"cannot grant another licence to anyone", detail_zh="该专利已有独占或排他许可",
                errors=[{"field": "application_no", "rule": f"{kind}_licence_in_force",
                         "message": f"{count} {kind} licence(s) in force"}])
    party = body.licensee
    licensee_uscc = canonical_uscc(party.uscc, "licensee.uscc") if party.uscc else None
    known = await _enterprise(session, licensee_uscc)
    if known is None and not party.name:
        raise InvalidInput("licensee.name", "licensee.name_required",
                           "name the licensee (its uscc is not known to matching)",
                           message_zh="请填写被许可人名称")
    industry = (canonical_industry_codes([party.industry_code], "licensee.industry_code")[0]
                if party.industry_code else (known.industry_code if known else None))
    region = known.region_code if known else None
    if party.region_code:
        try:
            region = validate_region_code(party.region_code)
        except InvalidIdentifier as exc:
            raise InvalidInput("licensee.region_code", exc.rule, exc.message) from exc
    owner = next((o for o in fact.owners if (o.get("uscc") or "").upper() == licensor), {})
    licensor_row = await _enterprise(session, licensor)
    verified = caller.department in VERIFYING
    row = License(
        id=new_id(), application_no=number, patent_kind=fact.kind,
        ipc_codes=list(fact.ipc_codes or []), ipc_subclass=ipc_subclass(fact.ipc_codes),
        open_license_id=None, license_type=body.type, licensor_uscc=licensor,
        licensor_name=licensor_row.name if licensor_row else owner.get("name", licensor),
        licensee_uscc=licensee_uscc, licensee_name=party.name or known.name,
        licensee_industry_code=industry, licensee_industry_division=industry_division(industry),
        licensee_region_code=region, payment_method=body.payment_method,
        lump_sum_cny=body.lump_sum_cny, entry_fee_cny=body.entry_fee_cny,
        royalty_rate=body.royalty_rate, royalty_base=body.royalty_base,
        starts_on=body.starts_on, ends_on=body.ends_on,
        contract_reference=body.contract_reference, granted_at=utcnow(),
        recorded_by=actor(caller), recorded_by_department=caller.department, verified=verified,
        basis={"decided_on": today.isoformat(), "patent_revision": fact.revision,
               "co_owner_consents": [c.model_dump() for c in body.co_owner_consents],
               "checks": [
            _line("licensor.owner", f"{licensor} owns {number}"),
            _line("patent.in_force", f"status {fact.status}, in force"),
            _line("exclusive_while_open", "no live open licence" if body.type != "ordinary"
                  else "ordinary licence: allowed beside an open licence (Art 51(3))"),
            _line("no_exclusive_or_sole_in_force", "no exclusive or sole licence in force"),
            _line("fee_terms", f"{body.payment_method}: terms complete"), consent_line,
            _line("verified", "recorded by market_regulation: a verified price" if verified
                  else f"recorded by the {caller.department} itself: unverified, never a "
                  "price comparable (valuations, fee guidance)", verified=verified)]})
    return await _grant(session, row)


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    application_no: str | None = None
    licensee_uscc: str | None = None
    licensor_uscc: str | None = None
    open_license_id: str | None = None


def _visibility(caller: Principal) -> list[Any]:
    if caller.department in READ_ALL:
        return []
    if not caller.org:
        return [sa.false()]
    org = caller.org.upper()
    return [sa.or_(License.licensor_uscc == org, License.licensee_uscc == org)]


def ensure_can_read(row: License, caller: Principal) -> None:
    if caller.department in READ_ALL or (caller.org and caller.org.upper() in (
            row.licensor_uscc, row.licensee_uscc)):
        return
    raise Forbidden("only the licensor, the licensee, market_regulation and the auditor may "
                    "read a licence", detail_zh="只有许可双方及监管部门可以查看许可")


async def get_or_404(session: AsyncSession, license_id: str) -> License:
    row = await session.get(License, license_id)
    if row is None:
        raise LicenseNotFound(f"no licence {license_id}", detail_zh="许可不存在")
    return row


async def search(session: AsyncSession, caller: Principal, filters: Filters, *,
                 cursor: str | None, limit: int) -> tuple[list[License], str | None]:
    """Newest first; an enterprise sees licences where it is licensor or licensee."""
    conditions = _visibility(caller)
    if filters.application_no:
        conditions.append(License.application_no == canonical_application_no(
            filters.application_no, "query.application_no"))
    if filters.licensee_uscc:
        conditions.append(License.licensee_uscc == filters.licensee_uscc.upper())
    if filters.licensor_uscc:
        conditions.append(License.licensor_uscc == filters.licensor_uscc.upper())
    if filters.open_license_id:
        conditions.append(License.open_license_id == filters.open_license_id)
    query = sa.select(License).where(*conditions)
    return await newest_first(session, query, License.granted_at, License.id, cursor, limit)


def read_model(row: License) -> dict[str, Any]:
    return {
        "id": row.id, "application_no": row.application_no, "patent_kind": row.patent_kind,
        "ipc_codes": list(row.ipc_codes), "license_type": row.license_type,
        "open_license_id": row.open_license_id,
        "licensor": {"uscc": row.licensor_uscc, "name": row.licensor_name},
        "licensee": {"uscc": row.licensee_uscc, "name": row.licensee_name,
                     "industry_code": row.licensee_industry_code,
                     "region_code": row.licensee_region_code},
        "fee": {"payment_method": row.payment_method,
                "lump_sum_cny": R.money_str(row.lump_sum_cny),
                "entry_fee_cny": R.money_str(row.entry_fee_cny),
                "royalty_rate": R.rate_str(row.royalty_rate), "royalty_base": row.royalty_base},
        "starts_on": row.starts_on, "ends_on": row.ends_on,
        "notice": ({"sent_on": row.notice_sent_on, "reference": row.notice_reference}
                   if row.notice_sent_on else None),
        "payment": ({"amount_cny": R.money_str(row.payment_amount_cny),
                     "paid_on": row.payment_paid_on, "reference": row.payment_reference}
                    if row.payment_amount_cny is not None else None),
        "contract_reference": row.contract_reference, "granted_at": row.granted_at,
        "recorded_by": row.recorded_by, "recorded_by_department": row.recorded_by_department,
        "verified": row.verified, "basis": row.basis}
