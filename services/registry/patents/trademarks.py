"""Trademark rules (商标, incl. geographical-indication marks 地理标志商标): validate, register, emit.

Part of the IP domain beside patents; no FastAPI, no Kafka, no commit.
"""

from __future__ import annotations

import unicodedata

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db import KERNEL
from services.registry.patents import repository
from services.registry.patents.events import trademark_state
from services.registry.patents.exceptions import TrademarkAlreadyRegistered, TrademarkNotFound
from services.registry.patents.models import Trademark
from services.registry.patents.schemas import TrademarkCreate, TrademarkKind
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import InvalidInput
from shared.identifiers import InvalidIdentifier, validate_uscc
from shared.outbox import emit

log = structlog.get_logger("registry.trademarks")


def parse_reg_no(raw: str, field: str = "reg_no") -> str:
    """A registration number (注册号) as digits: full-width, spaces, 第…号 are dropped."""
    text = "".join(unicodedata.normalize("NFKC", raw or "").split())
    text = text.removeprefix("第").removesuffix("号")
    if not (text.isascii() and text.isdigit()) or not 1 <= len(text) <= 10:
        raise InvalidInput(field, "reg_no.format",
                           "a trademark registration number is 1 to 10 digits",
                           message_zh="商标注册号应为1-10位数字")
    return text.lstrip("0") or "0"


async def register(session: AsyncSession, data: TrademarkCreate, by: Principal) -> Trademark:
    """Register a trademark; emits ``trademark.registered`` in the same transaction."""
    reg_no = parse_reg_no(data.reg_no)
    holder = None
    if data.holder_uscc:
        try:
            holder = validate_uscc(data.holder_uscc).code
        except InvalidIdentifier as exc:
            raise InvalidInput("holder_uscc", exc.rule, exc.message,
                               message_zh=exc.message_zh or None) from exc
    if data.geographical_indication and data.mark_kind == TrademarkKind.ordinary:
        raise InvalidInput("mark_kind", "trademark.gi_kind",
                           "a geographical indication is registered as a collective or "
                           "certification mark", message_zh="地理标志应注册为集体商标或证明商标")
    if data.gi_product and not data.geographical_indication:
        raise InvalidInput("gi_product", "trademark.gi_product_without_gi",
                           "gi_product applies to geographical-indication marks",
                           message_zh="非地理标志商标不填地理标志产品")
    today = today_cn()
    if data.registered_on and data.registered_on > today:
        raise InvalidInput("registered_on", "not_in_future", "the registration date is in the "
                           "future", message_zh="注册日不能晚于今天")
    if data.expires_on and data.registered_on and data.expires_on <= data.registered_on:
        raise InvalidInput("expires_on", "trademark.expires_before_registration",
                           "the expiry is not after the registration date",
                           message_zh="有效期截止日应晚于注册日")
    if await repository.get_trademark(session, reg_no) is not None:
        raise TrademarkAlreadyRegistered(f"trademark {reg_no} is already registered",
                                         detail_zh="该商标注册号已登记", reg_no=reg_no)
    now = utcnow()
    mark = Trademark(
        reg_no=reg_no, name=data.name, nice_class=data.nice_class, holder_uscc=holder,
        holder_name=data.holder_name, mark_kind=data.mark_kind.value if data.mark_kind else None,
        geographical_indication=data.geographical_indication, gi_product=data.gi_product,
        registered_on=data.registered_on, expires_on=data.expires_on, revision=1,
        registered_by=by.subject, created_at=now, updated_at=now)
    repository.add(session, mark)
    await session.flush()
    await emit(session, KERNEL.outbox, "trademark.registered", key=holder or reg_no,
               subject=reg_no, data=trademark_state(mark) | {"registered_at": now.isoformat()})
    log.info("registry.trademark.registered", reg_no=reg_no,
             geographical_indication=mark.geographical_indication)
    return mark


async def get_or_404(session: AsyncSession, raw: str) -> Trademark:
    reg_no = parse_reg_no(raw, "path.reg_no")
    mark = await repository.get_trademark(session, reg_no)
    if mark is None:
        raise TrademarkNotFound(f"no trademark with registration number {reg_no}",
                                detail_zh="未找到该商标", reg_no=reg_no)
    return mark


def read_model(mark: Trademark) -> dict:
    return {"reg_no": mark.reg_no, "name": mark.name, "nice_class": mark.nice_class,
            "holder_uscc": mark.holder_uscc, "holder_name": mark.holder_name,
            "mark_kind": mark.mark_kind, "geographical_indication": mark.geographical_indication,
            "gi_product": mark.gi_product, "registered_on": mark.registered_on,
            "expires_on": mark.expires_on, "revision": mark.revision,
            "created_at": mark.created_at, "updated_at": mark.updated_at}
