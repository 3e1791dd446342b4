"""Credit flag rules: raise, clear, list; every change emits. No FastAPI, no Kafka, no commit.

A flag records a finding of the credit department; what follows from it is decided by whoever
owns that consequence (the cultivation pool here, the whitelist in financing, claims in
rewards). The flag's basis names those consequences and the clause they come from, so the
consumers — and an officer asking "why?" — can cite it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.creditflags import events, repository
from services.registry.creditflags.exceptions import (CreditFlagAlreadyRaised,
                                                      CreditFlagNotActive, CreditFlagNotFound,
                                                      EnterpriseNotFound, InvalidInput)
from services.registry.creditflags.models import CreditFlag
from services.registry.creditflags.schemas import (CreditFlagClearance, CreditFlagCreate,
                                                   CreditFlagKind, CreditFlagStatus)
from services.registry.db import KERNEL
from services.registry.pool import service as pool
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.identifiers import uscc_or_422
from shared.outbox import emit

log = structlog.get_logger("registry.creditflags")

#: The five-ministry 2024 plan's exit rule for the 专利产业化样板企业培育库 (RULES.md §10, seed 004).
POOL_REMOVAL_CLAUSE: dict[str, str] = {
    "document": "专利产业化促进中小企业成长计划实施方案（国家知识产权局、工业和信息化部、中国人民银行、"
                "国家金融监督管理总局、中国证券监督管理委员会，2024-02-27）",
    "clause": "四、样板培育（二）建立入库企业动态调整机制 3. 退出机制",
    "file": "national-2024-patent-industrialisation-for-smes.txt",
    "confidence": "C",
    "text": "入库企业2年内未取得专利产业化实质性进展，或者出现重大安全事故，以及严重失信、偷漏税、"
            "数据造假、非正常申请专利等违法违规行为的，予以退库处理。",
}

#: kind → (中文名, English name, the words of the clause that make it a removal ground)
KIND_NAMES: dict[CreditFlagKind, tuple[str, str, str]] = {
    CreditFlagKind.serious_dishonesty: ("严重失信", "Serious dishonesty", "严重失信"),
    CreditFlagKind.tax_evasion: ("偷税漏税", "Tax evasion", "偷漏税"),
    CreditFlagKind.data_fraud: ("数据造假", "Data fraud", "数据造假"),
    CreditFlagKind.abnormal_patent_application: ("非正常专利申请", "Abnormal patent application",
                                                 "非正常申请专利"),
    CreditFlagKind.major_safety_accident: ("重大安全事故", "Major safety accident",
                                           "出现重大安全事故"),
}


def flag_basis(kind: CreditFlagKind) -> dict[str, Any]:
    """What the flag means under policy: its consequences, each with the clause it comes from."""
    name_zh, name_en, ground = KIND_NAMES[kind]
    return {
        "kind": {"value": kind.value, "name_zh": name_zh, "name_en": name_en},
        "consequences": [{
            "effect": "cultivation_pool_removal",
            "meaning": "退库: the enterprise is removed from the 专利产业化样板企业培育库",
            "ground": ground, **POOL_REMOVAL_CLAUSE,
        }],
    }


async def _enterprise_or_404(session: AsyncSession, uscc: str) -> None:
    if not await repository.enterprise_exists(session, uscc):
        raise EnterpriseNotFound(f"no enterprise with USCC {uscc}", detail_zh="未找到该企业",
                                 uscc=uscc)


async def raise_flag(session: AsyncSession, data: CreditFlagCreate, caller: Principal, *,
                     today: date | None = None) -> CreditFlag:
    """Raise a flag on a registered enterprise; emits ``creditflag.raised``."""
    today = today or today_cn()
    uscc = uscc_or_422(data.uscc)
    if data.flagged_on > today:
        raise InvalidInput("flagged_on", "flagged_on.not_in_future",
                           f"flagged_on {data.flagged_on.isoformat()} is after today "
                           f"({today.isoformat()})", message_zh="认定日期不能晚于今天")
    await _enterprise_or_404(session, uscc)
    existing = await repository.active_finding(session, uscc, data.kind.value, data.reference)
    if existing is not None:
        raise CreditFlagAlreadyRaised(
            f"an active {data.kind.value} flag with reference {data.reference!r} already exists "
            f"for {uscc}", detail_zh="该企业已有相同认定文号的有效标记", flag_id=existing.id)
    now = utcnow()
    flag = CreditFlag(
        id=str(uuid.uuid4()), uscc=uscc, kind=data.kind.value, source=data.source,
        reference=data.reference, flagged_on=data.flagged_on, description=data.description,
        status=CreditFlagStatus.active.value,
        basis=json.dumps(flag_basis(data.kind), ensure_ascii=False), raised_by=caller.subject,
        revision=1, created_at=now, updated_at=now)
    repository.add(session, flag)
    await session.flush()
    await emit(session, KERNEL.outbox, "creditflag.raised", key=uscc, subject=uscc,
               data=events.raised(flag, now))
    log.info("registry.creditflag.raised", uscc=uscc, kind=data.kind.value, flag_id=flag.id)
    # 退出机制: the pool removal follows in the same transaction (the pool is the registry's).
    await pool.remove_for_flag(session, flag, today=today)
    return flag


async def get_or_404(session: AsyncSession, flag_id: str, *, for_update: bool = False
                     ) -> CreditFlag:
    flag = await repository.get(session, flag_id, for_update=for_update)
    if flag is None:
        raise CreditFlagNotFound(f"no credit flag {flag_id}", detail_zh="未找到该信用标记")
    return flag


async def clear_flag(session: AsyncSession, flag: CreditFlag, data: CreditFlagClearance,
                     caller: Principal, *, today: date | None = None) -> CreditFlag:
    """Clear an active flag with a reason; emits ``creditflag.cleared``."""
    today = today or today_cn()
    if flag.status != CreditFlagStatus.active.value:
        raise CreditFlagNotActive(f"credit flag {flag.id} is already {flag.status}",
                                  detail_zh="该信用标记已解除", status_now=flag.status)
    cleared_on = data.cleared_on or today
    if cleared_on > today:
        raise InvalidInput("cleared_on", "cleared_on.not_in_future",
                           f"cleared_on {cleared_on.isoformat()} is after today "
                           f"({today.isoformat()})", message_zh="解除日期不能晚于今天")
    if cleared_on < flag.flagged_on:
        raise InvalidInput("cleared_on", "cleared_on.not_before_flagged_on",
                           f"cleared_on {cleared_on.isoformat()} is before the finding "
                           f"({flag.flagged_on.isoformat()})", message_zh="解除日期早于认定日期")
    now = utcnow()
    flag.status = CreditFlagStatus.cleared.value
    flag.cleared_on = cleared_on
    flag.clearance_reason = data.reason
    flag.cleared_by = caller.subject
    flag.cleared_at = now
    flag.revision += 1
    flag.updated_at = now
    await session.flush()
    await emit(session, KERNEL.outbox, "creditflag.cleared", key=flag.uscc, subject=flag.uscc,
               data=events.cleared(flag, now))
    log.info("registry.creditflag.cleared", uscc=flag.uscc, flag_id=flag.id)
    return flag


async def list_for_enterprise(session: AsyncSession, uscc: str,
                              status: CreditFlagStatus | None = None) -> list[CreditFlag]:
    uscc = uscc.upper()
    await _enterprise_or_404(session, uscc)
    return await repository.list_for(session, uscc, status.value if status else None)


async def active_for(session: AsyncSession, uscc: str) -> list[dict[str, Any]]:
    """The active flags, compact, for embedding in the enterprise record."""
    rows = await repository.list_for(session, uscc.upper(), CreditFlagStatus.active.value)
    return [{"id": f.id, "kind": f.kind, "kind_name_zh": KIND_NAMES[CreditFlagKind(f.kind)][0],
             "source": f.source, "reference": f.reference, "flagged_on": f.flagged_on}
            for f in rows]


def read_model(flag: CreditFlag) -> dict[str, Any]:
    """The API view of a flag (router and idempotency store)."""
    basis = json.loads(flag.basis)
    return {
        "id": flag.id, "uscc": flag.uscc, "kind": flag.kind,
        "kind_name_zh": basis["kind"]["name_zh"], "source": flag.source,
        "reference": flag.reference, "flagged_on": flag.flagged_on,
        "description": flag.description, "status": flag.status, "basis": basis,
        "raised_by": flag.raised_by, "raised_at": flag.created_at,
        "cleared_on": flag.cleared_on, "clearance_reason": flag.clearance_reason,
        "cleared_by": flag.cleared_by, "cleared_at": flag.cleared_at, "revision": flag.revision,
    }
