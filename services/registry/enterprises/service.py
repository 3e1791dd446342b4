"""Enterprise rules: validate identifiers, register, emit. No FastAPI, no Kafka, no commit."""

from __future__ import annotations

import json

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db import KERNEL
from services.registry.enterprises import repository
from services.registry.enterprises.events import enterprise_state
from services.registry.enterprises.exceptions import EnterpriseAlreadyRegistered
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseCreate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import InvalidInput
from shared.identifiers import (InvalidIdentifier, validate_industry_code, validate_region_code,
                                validate_uscc)
from shared.outbox import emit

log = structlog.get_logger("registry.enterprises")


def _field_error(field: str, exc: InvalidIdentifier) -> InvalidInput:
    return InvalidInput(field, exc.rule, exc.message, message_zh=exc.message_zh or None)


async def register(session: AsyncSession, data: EnterpriseCreate, by: Principal) -> Enterprise:
    """Register an enterprise and add ``enterprise.registered`` to the outbox (same transaction)."""
    try:
        checked = validate_uscc(data.uscc,
                                allow_check_mismatch=bool(data.uscc_check_override_reason))
    except InvalidIdentifier as exc:
        raise _field_error("uscc", exc) from exc
    region = section = industry = None
    if data.region_code:
        try:
            region = validate_region_code(data.region_code)
        except InvalidIdentifier as exc:
            raise _field_error("region_code", exc) from exc
    if data.industry_code:
        try:
            industry, section = validate_industry_code(data.industry_code)
        except InvalidIdentifier as exc:
            raise _field_error("industry_code", exc) from exc
    if data.founded_on and data.founded_on > utcnow().date():
        raise InvalidInput("founded_on", "not_in_future", "the founding date is in the future",
                           message_zh="成立日期不能晚于今天")
    if await repository.get(session, checked.code) is not None:
        raise EnterpriseAlreadyRegistered(f"enterprise {checked.code} is already registered",
                                          detail_zh="该统一社会信用代码已登记", uscc=checked.code)
    now = utcnow()
    enterprise = Enterprise(
        uscc=checked.code, name=data.name, region_code=region,
        province_code=region[:2] if region else None, industry_code=industry,
        industry_section=section, ownership=data.ownership.value if data.ownership else None,
        founded_on=data.founded_on,
        uscc_warnings=json.dumps(checked.warnings, ensure_ascii=False) if checked.warnings else None,
        uscc_override_reason=data.uscc_check_override_reason, revision=1,
        registered_by=by.subject, created_at=now, updated_at=now)
    repository.add(session, enterprise)
    await session.flush()
    await emit(session, KERNEL.outbox, "enterprise.registered", key=enterprise.uscc,
               subject=enterprise.uscc,
               data=enterprise_state(enterprise) | {"registered_at": now.isoformat()})
    log.info("registry.enterprise.registered", uscc=enterprise.uscc)
    return enterprise
