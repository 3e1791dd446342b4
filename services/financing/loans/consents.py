"""Co-owner consents to pledge a co-owned patent (共有专利质押须经全体共有人同意).

A co-owned patent may be pledged by one owner only when every other owner has consented in
writing. An owner with a USCC records its own consent (department enterprise, ``consents:write``,
org = its USCC); the IP office (market_regulation) records the paper consent of an individual
or foreign co-owner, named as in the register. The whitelist counts a co-owned patent as
pledgeable once the consents are complete, so each change re-evaluates the pledging owner.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.facts.models import CoOwnerConsent, PatentFact
from services.financing.loans import repository
from services.financing.loans.exceptions import (ConsentAlreadyRecorded, ConsentNotFound,
                                                  InvalidInput, NotPatentOwner, PatentNotFound)
from services.financing.loans.schemas import ConsentCreate, ConsentWithdrawal
from services.financing.loans.service import application_no
from services.financing.whitelist import service as whitelist
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Forbidden

log = structlog.get_logger("financing.consents")


async def _patent_or_404(session: AsyncSession, raw: str) -> PatentFact:
    number = application_no(raw, "application_no")
    patent = await repository.patent(session, number)
    if patent is None:
        raise PatentNotFound(f"patent {number} is not known to financing (not registered, or "
                             "not yet projected from the registry)", detail_zh="未找到该专利",
                             application_no=number)
    return patent


def _owner_key(patent: PatentFact, caller: Principal, owner_name: str | None) -> str:
    """Which co-owner the caller speaks for: itself (enterprise), or a named individual owner
    (market_regulation recording a paper consent)."""
    owners = patent.owner_rows
    if caller.department == "enterprise":
        org = (caller.org or "").upper()
        if owner_name is not None:
            raise InvalidInput("owner_name", "owner_name.market_regulation_only",
                               "an enterprise records its own consent; owner_name is for the "
                               "IP office recording an individual co-owner's paper consent",
                               message_zh="企业只能登记本企业的同意")
        if not any(o.uscc == org for o in owners):
            raise NotPatentOwner(f"{org or 'the caller'} is not an owner of patent "
                                 f"{patent.application_no}", detail_zh="非该专利的共有人")
        return org
    if caller.department == "market_regulation":
        if owner_name is None:
            raise InvalidInput("owner_name", "owner_name.required",
                               "name the co-owner (without a USCC) whose paper consent is "
                               "recorded", message_zh="请填写同意质押的个人共有人姓名")
        if not any(o.uscc is None and o.name == owner_name for o in owners):
            raise InvalidInput("owner_name", "owner_name.individual_co_owner",
                               f"{owner_name!r} is not a co-owner without a USCC of patent "
                               f"{patent.application_no}; owners with a USCC consent themselves",
                               message_zh="该姓名不是该专利无统一社会信用代码的共有人",
                               owners=[o.name for o in owners])
        return owner_name
    raise Forbidden("consents are recorded by the consenting co-owner (enterprise) or by the "
                    "IP office for an individual co-owner (market_regulation)",
                    detail_zh="无权登记共有人同意")


async def record(session: AsyncSession, raw_no: str, data: ConsentCreate, caller: Principal
                 ) -> CoOwnerConsent:
    """Record a co-owner's consent to a pledge by ``for_uscc``; re-evaluates its whitelist entry."""
    patent = await _patent_or_404(session, raw_no)
    owner_key = _owner_key(patent, caller, data.owner_name)
    for_uscc = data.for_uscc.upper()
    if not any(o.uscc == for_uscc for o in patent.owner_rows):
        raise InvalidInput("for_uscc", "for_uscc.co_owner",
                           f"{for_uscc} is not an owner of patent {patent.application_no}",
                           message_zh="被同意质押的一方不是该专利的共有人")
    if for_uscc == owner_key:
        raise InvalidInput("for_uscc", "for_uscc.other_owner",
                           "a co-owner consents to a pledge by another co-owner, not itself",
                           message_zh="不能对本方质押作出同意")
    now = utcnow()
    row = await repository.consent(session, patent.application_no, owner_key)
    if row is not None and row.withdrawn_at is None:
        raise ConsentAlreadyRecorded(
            f"{owner_key} already consented to a pledge of {patent.application_no} by "
            f"{row.for_uscc} ({row.document_ref}); withdraw it first to consent for another",
            detail_zh="该共有人的同意已登记", for_uscc=row.for_uscc, document_ref=row.document_ref)
    if row is None:
        row = CoOwnerConsent(application_no=patent.application_no, owner_key=owner_key)
        repository.add(session, row)
    row.for_uscc, row.document_ref = for_uscc, data.document_ref
    row.recorded_by, row.recorded_at, row.withdrawn_at = caller.subject, now, None
    await session.flush()
    await whitelist.reevaluate(session, [for_uscc], cause="co_owner_consent.recorded")
    log.info("financing.consent.recorded", application_no=patent.application_no,
             owner=owner_key, for_uscc=for_uscc)
    return row


async def withdraw(session: AsyncSession, raw_no: str, data: ConsentWithdrawal,
                   caller: Principal) -> CoOwnerConsent:
    """Withdraw a consent; loans already applied for keep the basis they were decided on."""
    patent = await _patent_or_404(session, raw_no)
    owner_key = _owner_key(patent, caller, data.owner_name)
    row = await repository.consent(session, patent.application_no, owner_key)
    if row is None or row.withdrawn_at is not None:
        raise ConsentNotFound(f"{owner_key} has no active consent on {patent.application_no}",
                              detail_zh="该共有人没有有效的同意记录")
    row.withdrawn_at = utcnow()
    await session.flush()
    await whitelist.reevaluate(session, [row.for_uscc], cause="co_owner_consent.withdrawn")
    log.info("financing.consent.withdrawn", application_no=patent.application_no,
             owner=owner_key, for_uscc=row.for_uscc)
    return row


async def list_for(session: AsyncSession, raw_no: str, caller: Principal
                   ) -> tuple[PatentFact, list[CoOwnerConsent]]:
    """Departments with ``enterprises:read``, or an owner of the patent."""
    patent = await _patent_or_404(session, raw_no)
    org = (caller.org or "").upper()
    if not caller.has("enterprises:read") and not any(o.uscc == org for o in patent.owner_rows):
        raise NotPatentOwner("only the patent's owners and departments with enterprises:read "
                             "see its consents", detail_zh="无权查看该专利的共有人同意")
    return patent, await repository.consents_for(session, [patent.application_no])


def read_model(row: CoOwnerConsent) -> dict[str, Any]:
    return {"application_no": row.application_no, "owner_key": row.owner_key,
            "for_uscc": row.for_uscc, "document_ref": row.document_ref,
            "recorded_by": row.recorded_by, "recorded_at": row.recorded_at,
            "withdrawn_at": row.withdrawn_at, "active": row.withdrawn_at is None}


def owners_model(patent: PatentFact) -> list[dict[str, Any]]:
    return [{"uscc": o.uscc, "name": o.name, "share": o.share,
             "owner_key": o.uscc or o.name} for o in patent.owner_rows]
