"""Patent-intensive product rules: filing by the enterprise, recognition by the IP office.

A product is linked to one or more of the filer's own patents, each granted and in force when the
product is filed and again when it is recognised. No FastAPI, no Kafka, no commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db import KERNEL
from services.registry.enterprises import repository as enterprises
from services.registry.patents import repository as patents_repo
from services.registry.patents import service as patents
from services.registry.patents.models import Patent
from services.registry.products import repository
from services.registry.products.events import product_state
from services.registry.products.exceptions import (ProductAlreadyDecided, ProductAlreadyFiled,
                                                   ProductNotFound)
from services.registry.products.models import Product, ProductPatent
from services.registry.products.schemas import Decision, ProductCreate, RecognitionCreate
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Forbidden, InvalidInput
from shared.identifiers import InvalidIdentifier, validate_uscc
from shared.outbox import emit

log = structlog.get_logger("registry.products")


@dataclass(frozen=True)
class LinkedPatent:
    application_no: str
    kind: str
    title: str
    status: str
    in_force: bool
    is_high_value: bool


def _check_patent(index: int, patent: Patent, uscc: str, on: date) -> None:
    """The patent must be the filer's and in force (granted, not ended, within its term)."""
    if uscc not in {o.uscc for o in patent.owners}:
        raise InvalidInput(f"patents.{index}", "patent.not_owned",
                           f"{patent.application_no} is not owned by {uscc}",
                           message_zh=f"专利 {patent.application_no} 不属于本企业")
    derived = patents.derive(patent, on)
    if not derived.in_force:
        raise InvalidInput(f"patents.{index}", "patent.not_in_force",
                           f"{patent.application_no} is not a granted patent in force "
                           f"({derived.in_force_reason})",
                           message_zh=f"专利 {patent.application_no} 未授权或已失效")


async def _load_patents(session: AsyncSession, raw: list[str]) -> list[Patent]:
    numbers: list[str] = []
    for i, value in enumerate(raw):
        canonical = patents.parse_number(value, f"patents.{i}").canonical
        if canonical in numbers:
            raise InvalidInput(f"patents.{i}", "patents.duplicate", f"{canonical} is listed twice",
                               message_zh="专利重复")
        numbers.append(canonical)
    found = {p.application_no: p for p in await patents_repo.get_many(session, numbers)}
    for i, number in enumerate(numbers):
        if number not in found:
            raise InvalidInput(f"patents.{i}", "patent.not_registered",
                               f"{number} is not registered in the registry",
                               message_zh=f"专利 {number} 未登记")
    return [found[n] for n in numbers]


def _filer(data: ProductCreate, by: Principal) -> str:
    if not by.org:
        raise Forbidden("the caller's token names no organisation", detail_zh="令牌未包含企业代码")
    own = by.org.strip().upper()
    if data.uscc:
        try:
            uscc = validate_uscc(data.uscc).code
        except InvalidIdentifier as exc:
            raise InvalidInput("uscc", exc.rule, exc.message,
                               message_zh=exc.message_zh or None) from exc
        if uscc != own:
            raise Forbidden("an enterprise files products for its own organisation only",
                            detail_zh="企业只能为本单位申报产品")
    return own


async def file(session: AsyncSession, data: ProductCreate, by: Principal,
               on: date | None = None) -> Product:
    """File a product for the caller's enterprise; emits ``product.filed``."""
    on = on or today_cn()
    uscc = _filer(data, by)
    enterprise = await enterprises.get(session, uscc)
    if enterprise is None:
        raise InvalidInput("uscc", "enterprise.not_registered",
                           f"{uscc} is not a registered enterprise", message_zh="企业未登记")
    if data.figures_year > on.year:
        raise InvalidInput("figures_year", "not_in_future",
                           f"figures cannot refer to a year after {on.year}",
                           message_zh="销售数据年度不能晚于今年")
    linked = await _load_patents(session, data.patents)
    for i, patent in enumerate(linked):
        _check_patent(i, patent, uscc, on)
    if await repository.open_filing(session, uscc, data.name) is not None:
        raise ProductAlreadyFiled(f"{uscc} already has a filed or recognised product named "
                                  f"{data.name!r}", detail_zh="该产品已申报或已认定")
    now = utcnow()
    product = Product(
        id=str(uuid.uuid4()), uscc=uscc, name=data.name, description=data.description,
        figures_year=data.figures_year, annual_sales_10k_cny=data.annual_sales_10k_cny,
        annual_profit_10k_cny=data.annual_profit_10k_cny, status="filed", revision=1,
        filed_by=by.subject, created_at=now, updated_at=now,
        patents=[ProductPatent(application_no=p.application_no, position=i)
                 for i, p in enumerate(linked)])
    repository.add(session, product)
    await session.flush()
    await emit(session, KERNEL.outbox, "product.filed", key=uscc, subject=product.id,
               data=product_state(product, enterprise.name, _linked(linked, on))
               | {"filed_at": now.isoformat()})
    log.info("registry.product.filed", product_id=product.id, uscc=uscc,
             patents=[p.application_no for p in linked])
    return product


async def decide(session: AsyncSession, product: Product, data: RecognitionCreate,
                 by: Principal, on: date | None = None) -> Product:
    """Recognise or reject a filed product; emits ``product.recognized`` / ``product.rejected``."""
    on = on or today_cn()
    if product.status != "filed":
        raise ProductAlreadyDecided(f"product {product.id} was already {product.status}",
                                    detail_zh="该产品已作出认定决定",
                                    product_status=product.status)
    if data.decision == Decision.rejected and not data.reason:
        raise InvalidInput("reason", "recognition.reason_required",
                           "a rejection states its reason", message_zh="不予认定须说明理由")
    recognized_on = data.recognized_on or on
    if data.decision == Decision.recognised:
        if recognized_on > on:
            raise InvalidInput("recognized_on", "not_in_future", "the date is in the future",
                               message_zh="认定日期不能晚于今天")
        if recognized_on < product.created_at.date():
            raise InvalidInput("recognized_on", "recognition.before_filing",
                               "the product was filed later", message_zh="认定日期早于申报日期")
    elif data.recognized_on is not None:
        raise InvalidInput("recognized_on", "recognition.rejected_has_no_date",
                           "a rejected product has no recognition date",
                           message_zh="不予认定无认定日期")
    linked = await _load_patents(session, [p.application_no for p in product.patents])
    if data.decision == Decision.recognised:
        for i, patent in enumerate(linked):
            _check_patent(i, patent, product.uscc, on)
    now = utcnow()
    product.status = "recognized" if data.decision == Decision.recognised else "rejected"
    product.decision_reason = data.reason
    product.decided_by = by.subject
    product.decided_at = now
    product.recognized_on = recognized_on if data.decision == Decision.recognised else None
    product.revision += 1
    product.updated_at = now
    await session.flush()
    enterprise = await enterprises.get(session, product.uscc)
    name = "product.recognized" if data.decision == Decision.recognised else "product.rejected"
    payload = product_state(product, enterprise.name if enterprise else None,
                            _linked(linked, on)) | {
        "decision": data.decision.value, "reason": data.reason,
        "decided_at": now.isoformat()}
    if data.decision == Decision.recognised:
        payload["recognized_on"] = recognized_on.isoformat()
    await emit(session, KERNEL.outbox, name, key=product.uscc, subject=product.id, data=payload)
    log.info(f"registry.{name}", product_id=product.id, uscc=product.uscc)
    return product


def _linked(linked: list[Patent], on: date) -> list[LinkedPatent]:
    out = []
    for p in linked:
        derived = patents.derive(p, on)
        out.append(LinkedPatent(p.application_no, p.kind, p.title, p.status, derived.in_force,
                                p.is_high_value))
    return out


async def get_or_404(session: AsyncSession, product_id: str) -> Product:
    product = await repository.get(session, product_id)
    if product is None:
        raise ProductNotFound(f"no product {product_id}", detail_zh="未找到该产品")
    return product


async def read_model(session: AsyncSession, product: Product, on: date | None = None
                     ) -> dict[str, Any]:
    on = on or today_cn()
    linked = await patents_repo.get_many(session, [p.application_no for p in product.patents])
    by_no = {p.application_no: p for p in linked}
    ordered = [by_no[p.application_no] for p in product.patents if p.application_no in by_no]
    enterprise = await enterprises.get(session, product.uscc)
    return {
        "id": product.id, "uscc": product.uscc,
        "enterprise_name": enterprise.name if enterprise else None, "name": product.name,
        "description": product.description,
        "patents": [vars(lp) for lp in _linked(ordered, on)],
        "figures_year": product.figures_year,
        "annual_sales_10k_cny": product.annual_sales_10k_cny,
        "annual_profit_10k_cny": product.annual_profit_10k_cny, "status": product.status,
        "decision_reason": product.decision_reason, "decided_at": product.decided_at,
        "recognized_on": product.recognized_on, "revision": product.revision,
        "created_at": product.created_at, "updated_at": product.updated_at,
    }
