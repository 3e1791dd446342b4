"""Enterprise rules: validate identifiers, classify size, register, update, search, emit.

No FastAPI, no Kafka, no commit: the edge owns the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db import KERNEL
from services.registry.enterprises import repository
from services.registry.enterprises.events import enterprise_state
from services.registry.enterprises.exceptions import EnterpriseAlreadyRegistered, EnterpriseNotFound
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate
from services.registry.enterprises.sizing import Figures, classify_size, size_packs
from services.registry.patents.models import Patent, PatentOwner
from services.registry.qualifications.models import Qualification
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import InvalidInput
from shared.pagination import decode_cursor, encode_cursor
from shared.identifiers import (INDUSTRY_SECTIONS, PROVINCES, InvalidIdentifier,
                                validate_industry_code, validate_region_code, validate_uscc)
from shared.outbox import emit

log = structlog.get_logger("registry.enterprises")


def _field_error(field: str, exc: InvalidIdentifier) -> InvalidInput:
    return InvalidInput(field, exc.rule, exc.message, message_zh=exc.message_zh or None)


def _region(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return validate_region_code(raw)
    except InvalidIdentifier as exc:
        raise _field_error("region_code", exc) from exc


def _industry(raw: str | None) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    try:
        return validate_industry_code(raw)
    except InvalidIdentifier as exc:
        raise _field_error("industry_code", exc) from exc


def _check_dates(enterprise_founded, figures_year) -> None:
    today = today_cn()
    if enterprise_founded and enterprise_founded > today:
        raise InvalidInput("founded_on", "not_in_future", "the founding date is in the future",
                           message_zh="成立日期不能晚于今天")
    if figures_year and figures_year > today.year:
        raise InvalidInput("figures_year", "not_in_future",
                           f"figures cannot refer to a year after {today.year}",
                           message_zh="经营数据年度不能晚于当前年度")
    if figures_year and enterprise_founded and figures_year < enterprise_founded.year:
        raise InvalidInput("figures_year", "after_founding",
                           f"figures year {figures_year} is before the founding year "
                           f"{enterprise_founded.year}", message_zh="经营数据年度早于成立年度")


def _reclassify(enterprise: Enterprise) -> None:
    """Recompute the size class and its basis from the current figures (RULES §6)."""
    has_figures = any(v is not None for v in (enterprise.employees, enterprise.revenue_10k_cny,
                                              enterprise.total_assets_10k_cny))
    if not has_figures:
        enterprise.size_class, enterprise.size_basis = None, None
        return
    pack = size_packs().in_force(today_cn())
    decision = classify_size(
        enterprise.industry_code, enterprise.industry_section,
        Figures(enterprise.employees, enterprise.revenue_10k_cny,
                enterprise.total_assets_10k_cny, enterprise.figures_year), pack)
    enterprise.size_class = decision.size_class.value if decision.size_class else None
    enterprise.size_basis = json.dumps(decision.basis, ensure_ascii=False)


def prepare(data: EnterpriseCreate, by: Principal, now=None) -> Enterprise:
    """Validate every field and build the (unsaved) enterprise with its size class.

    Pure: no database. Raises :class:`InvalidInput` naming the field and the rule. Shared by the
    API and the bulk import so both apply exactly the same rules."""
    try:
        checked = validate_uscc(data.uscc,
                                allow_check_mismatch=bool(data.uscc_check_override_reason))
    except InvalidIdentifier as exc:
        raise _field_error("uscc", exc) from exc
    region = _region(data.region_code)
    industry, section = _industry(data.industry_code)
    _check_dates(data.founded_on, data.figures_year)
    now = now or utcnow()
    enterprise = Enterprise(
        uscc=checked.code, name=data.name, region_code=region,
        province_code=region[:2] if region else None, industry_code=industry,
        industry_section=section, ownership=data.ownership.value if data.ownership else None,
        founded_on=data.founded_on, employees=data.employees,
        revenue_10k_cny=data.revenue_10k_cny, total_assets_10k_cny=data.total_assets_10k_cny,
        figures_year=data.figures_year,
        uscc_warnings=json.dumps(checked.warnings, ensure_ascii=False) if checked.warnings else None,
        uscc_override_reason=data.uscc_check_override_reason, revision=1,
        registered_by=by.subject, created_at=now, updated_at=now)
    _reclassify(enterprise)
    return enterprise


def registered_event(enterprise: Enterprise) -> tuple[str, str, str, dict[str, Any]]:
    return ("enterprise.registered", enterprise.uscc, enterprise.uscc,
            enterprise_state(enterprise) | {"registered_at": enterprise.created_at.isoformat()})


def updated_event(enterprise: Enterprise) -> tuple[str, str, str, dict[str, Any]]:
    return ("enterprise.updated", enterprise.uscc, enterprise.uscc,
            enterprise_state(enterprise) | {"updated_at": enterprise.updated_at.isoformat()})


async def register(session: AsyncSession, data: EnterpriseCreate, by: Principal) -> Enterprise:
    """Register an enterprise and add ``enterprise.registered`` to the outbox (same transaction)."""
    enterprise = prepare(data, by)
    if await repository.get(session, enterprise.uscc) is not None:
        raise EnterpriseAlreadyRegistered(f"enterprise {enterprise.uscc} is already registered",
                                          detail_zh="该统一社会信用代码已登记", uscc=enterprise.uscc)
    repository.add(session, enterprise)
    await session.flush()
    name, key, subject, payload = registered_event(enterprise)
    await emit(session, KERNEL.outbox, name, key=key, subject=subject, data=payload)
    log.info("registry.enterprise.registered", uscc=enterprise.uscc,
             size_class=enterprise.size_class)
    return enterprise


async def update(session: AsyncSession, enterprise: Enterprise, data: EnterpriseUpdate,
                 by: Principal) -> Enterprise:
    """Apply the fields sent, reclassify, bump the revision and emit ``enterprise.updated``."""
    changes = data.model_dump(exclude_unset=True)
    for required in ("name",):
        if required in changes and changes[required] is None:
            raise InvalidInput(required, "not_null", f"{required} cannot be cleared")
    if "region_code" in changes:
        enterprise.region_code = _region(changes.pop("region_code"))
        enterprise.province_code = enterprise.region_code[:2] if enterprise.region_code else None
    if "industry_code" in changes:
        enterprise.industry_code, enterprise.industry_section = _industry(
            changes.pop("industry_code"))
    if "ownership" in changes:
        value = changes.pop("ownership")
        enterprise.ownership = value.value if value else None
    for key, value in changes.items():
        setattr(enterprise, key, value)
    _check_dates(enterprise.founded_on, enterprise.figures_year)
    _reclassify(enterprise)
    enterprise.revision += 1
    enterprise.updated_at = utcnow()
    enterprise.updated_by = by.subject
    await session.flush()
    name, key, subject, payload = updated_event(enterprise)
    await emit(session, KERNEL.outbox, name, key=key, subject=subject, data=payload)
    log.info("registry.enterprise.updated", uscc=enterprise.uscc, revision=enterprise.revision,
             fields=sorted(data.model_dump(exclude_unset=True)))
    return enterprise


async def get_or_404(session: AsyncSession, uscc: str) -> Enterprise:
    enterprise = await repository.get(session, uscc.upper())
    if enterprise is None:
        raise EnterpriseNotFound(f"no enterprise with USCC {uscc.upper()}",
                                 detail_zh="未找到该企业")
    return enterprise


@dataclass(frozen=True)
class SearchFilters:
    province: str | None = None
    region: str | None = None
    industry_section: str | None = None
    size_class: str | None = None
    name: str | None = None
    qualification: str | None = None
    has_high_value: bool | None = None


def _conditions(f: SearchFilters) -> list[Any]:
    conditions = []
    if f.province:
        if f.province not in PROVINCES:
            raise InvalidInput("query.province", "province.unknown",
                               f"{f.province!r} is not a GB/T 2260 province prefix")
        conditions.append(Enterprise.province_code == f.province)
    if f.region:
        if not f.region.isdigit() or len(f.region) not in (2, 4, 6):
            raise InvalidInput("query.region", "region.format",
                               "2, 4 or 6 digits of a GB/T 2260 code (province, prefecture, "
                               "county)")
        # A range, not LIKE: both SQLite and PostgreSQL use the region_code index for it.
        conditions.append(Enterprise.region_code >= f.region)
        if set(f.region) != {"9"}:
            upper = str(int(f.region) + 1).zfill(len(f.region))
            conditions.append(Enterprise.region_code < upper)
    if f.industry_section:
        section = f.industry_section.upper()
        if section not in INDUSTRY_SECTIONS:
            raise InvalidInput("query.industry_section", "industry_section.unknown",
                               "a GB/T 4754-2017 section letter A-T")
        conditions.append(Enterprise.industry_section == section)
    if f.size_class:
        conditions.append(Enterprise.size_class == f.size_class)
    if f.name:
        conditions.append(Enterprise.name.contains(f.name, autoescape=True))
    if f.qualification:
        today = today_cn()
        conditions.append(sa.exists().where(
            Qualification.uscc == Enterprise.uscc, Qualification.kind == f.qualification,
            Qualification.status == "active", Qualification.valid_from <= today,
            Qualification.valid_to >= today))
    if f.has_high_value is not None:
        owns = sa.exists().where(PatentOwner.uscc == Enterprise.uscc,
                                 PatentOwner.application_no == Patent.application_no,
                                 Patent.is_high_value.is_(True))
        conditions.append(owns if f.has_high_value else ~owns)
    return conditions


async def search(session: AsyncSession, filters: SearchFilters, *, cursor: str | None,
                 limit: int, extra: list[Any] | None = None) -> tuple[list[Enterprise], str | None]:
    """One page of enterprises matching the filters, and the cursor of the next page."""
    rows = await repository.search(session, after=decode_cursor(cursor), limit=limit + 1,
                                   conditions=_conditions(filters) + (extra or []))
    next_cursor = encode_cursor(rows[limit - 1].uscc) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def standing(session: AsyncSession, uscc: str) -> dict[str, Any]:
    """What other domains say about the enterprise, embedded in its record: qualifications in
    force, active credit flags and the count of its high-value patents."""
    from services.registry.creditflags.service import active_for
    from services.registry.qualifications.service import summary_for

    flags = await active_for(session, uscc)
    high_value = await session.scalar(
        sa.select(sa.func.count(sa.distinct(Patent.application_no)))
        .join(PatentOwner, PatentOwner.application_no == Patent.application_no)
        .where(PatentOwner.uscc == uscc, Patent.is_high_value.is_(True)))
    return {"qualifications": await summary_for(session, uscc), "credit_flags": flags,
            "has_active_credit_flag": bool(flags), "high_value_patents": high_value or 0}


def read_model(enterprise: Enterprise) -> dict[str, Any]:
    """The API view of an enterprise (used by the router and the idempotency store)."""
    return {
        "uscc": enterprise.uscc, "name": enterprise.name, "region_code": enterprise.region_code,
        "province_code": enterprise.province_code,
        "province_name": PROVINCES.get(enterprise.province_code or ""),
        "industry_code": enterprise.industry_code, "industry_section": enterprise.industry_section,
        "ownership": enterprise.ownership, "founded_on": enterprise.founded_on,
        "employees": enterprise.employees, "revenue_10k_cny": enterprise.revenue_10k_cny,
        "total_assets_10k_cny": enterprise.total_assets_10k_cny,
        "figures_year": enterprise.figures_year, "size_class": enterprise.size_class,
        "size_basis": json.loads(enterprise.size_basis) if enterprise.size_basis else None,
        "uscc_warnings": json.loads(enterprise.uscc_warnings) if enterprise.uscc_warnings else [],
        "revision": enterprise.revision, "created_at": enterprise.created_at,
        "updated_at": enterprise.updated_at,
    }
